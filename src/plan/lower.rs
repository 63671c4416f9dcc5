//! Lowering: syntax tree + project → [`Plan`].

use serde_yaml_ng::Value as Yaml;

use super::{
    Create, EntityRef, Flow, Hold, Mapping, Match, Plan, PlanExpr, Step, Sync, System, Table,
    Trigger, View, PLAN_VERSION,
};
use crate::{
    check::rules::table_file,
    project::Project,
    syntax::ast::{
        self, ConflictPolicy, Destination, Expr, ExprKind, InterpolationPart, Item, Literal,
        Schedule, Statement, SyncStatement, TableKey, TableSource,
    },
};

/// Compiles a checked project into its plan. Call only when `check` found no errors: names
/// that do not resolve are lowered as fields of the entity in scope.
pub fn compile(project: &Project) -> Plan {
    let config = project.config.clone();
    let mut plan = Plan {
        format: "ledgerlink-plan",
        version: PLAN_VERSION,
        project: config.as_ref().and_then(|c| c.name.clone()),
        state: config
            .as_ref()
            .and_then(|c| c.state.clone())
            .unwrap_or_else(|| "sqlite://state.db".into()),
        systems: Vec::new(),
        settings: Default::default(),
        tables: Vec::new(),
        syncs: Vec::new(),
        flows: Vec::new(),
        views: Vec::new(),
    };
    if let Some(config) = &config {
        for (alias, system) in &config.systems {
            plan.systems.push(System {
                alias: alias.clone(),
                connector: system.connector.clone(),
                options: system
                    .options
                    .iter()
                    .map(|(k, v)| (k.clone(), json(v)))
                    .collect(),
                credentials: system
                    .auth
                    .iter()
                    .map(|(k, v)| {
                        // Only references reach the plan; a literal (refused by lint) is redacted.
                        let text = v
                            .as_str()
                            .filter(|s| s.starts_with("env:") || s.starts_with("file:"))
                            .unwrap_or("<redacted>");
                        (k.clone(), text.to_string())
                    })
                    .collect(),
            });
        }
        plan.settings = config
            .settings
            .iter()
            .map(|(k, v)| (k.clone(), json(v)))
            .collect();
    }
    let mut scope = Scope::new(project);
    for rule_file in &project.rules {
        for item in &rule_file.ast.items {
            match item {
                Item::Table(t) => plan.tables.push(table(project, &t.node)),
                Item::Sync(s) => plan.syncs.push(scope.sync(&s.node)),
                Item::Flow(f) => plan.flows.push(scope.flow(&f.node)),
                Item::View(v) => plan.views.push(scope.view(&v.node)),
            }
        }
    }
    plan
}

/// YAML → JSON, keeping numbers exact as strings when they are not integers.
fn json(value: &Yaml) -> serde_json::Value {
    match value {
        Yaml::Null => serde_json::Value::Null,
        Yaml::Bool(b) => (*b).into(),
        Yaml::Number(n) if n.is_i64() => n.as_i64().map_or(serde_json::Value::Null, Into::into),
        Yaml::Number(n) => serde_json::Value::String(n.to_string()),
        Yaml::String(s) => s.clone().into(),
        Yaml::Sequence(items) => items.iter().map(json).collect(),
        Yaml::Mapping(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| {
                    (
                        k.as_str().map_or_else(|| format!("{k:?}"), str::to_string),
                        json(v),
                    )
                })
                .collect(),
        ),
        Yaml::Tagged(t) => json(&t.value),
    }
}

fn entity(r: &ast::Spanned<ast::EntityRef>) -> EntityRef {
    EntityRef {
        system: r.node.system.node.clone(),
        entity: r.node.entity.node.clone(),
    }
}

fn table(project: &Project, t: &ast::TableBlock) -> Table {
    let name = t.name.node.clone();
    match &t.source {
        TableSource::Inline { entries } => {
            let mut rows = Vec::new();
            let mut default = None;
            let mut scope = Scope::new(project);
            for entry in entries {
                let value = scope.expr(&entry.node.value);
                for key in &entry.node.keys {
                    match &key.node {
                        TableKey::Wildcard => default = Some(value.clone()),
                        TableKey::Literal(l) => rows.push((l.clone(), value.clone())),
                    }
                }
            }
            Table {
                name,
                source: None,
                rows,
                default,
            }
        }
        TableSource::Csv { path, key, value } => {
            let rows = project
                .read_relative(&path.node)
                .ok()
                .filter(|text| {
                    table_file::check_csv(
                        text,
                        key.as_ref().map(|k| k.node.as_str()),
                        value.as_ref().map(|v| v.node.as_str()),
                    )
                    .is_none()
                })
                .map(|text| {
                    csv_rows(
                        &text,
                        key.as_ref().map(|k| k.node.as_str()),
                        value.as_ref().map(|v| v.node.as_str()),
                    )
                })
                .unwrap_or_default();
            Table {
                name,
                source: Some(path.node.clone()),
                rows,
                default: None,
            }
        }
    }
}

fn csv_rows(text: &str, key: Option<&str>, value: Option<&str>) -> Vec<(Literal, PlanExpr)> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let Ok(headers) = reader.headers().cloned() else {
        return Vec::new();
    };
    let position = |c: Option<&str>, default| {
        c.and_then(|c| headers.iter().position(|h| h == c))
            .unwrap_or(default)
    };
    let (k, v) = (position(key, 0), position(value, 1));
    reader
        .records()
        .filter_map(Result::ok)
        .map(|r| {
            let text = |i: usize| r.get(i).unwrap_or_default().to_string();
            (
                Literal::Text(text(k)),
                PlanExpr::Literal {
                    value: Literal::Text(text(v)),
                },
            )
        })
        .collect()
}

/// Names in scope while lowering, mirroring the checker's resolution.
struct Scope<'p> {
    project: &'p Project,
    vars: Vec<String>,
    sides: Vec<String>,
    record: Option<(String, String)>,
}

impl<'p> Scope<'p> {
    fn new(project: &'p Project) -> Self {
        Scope {
            project,
            vars: Vec::new(),
            sides: Vec::new(),
            record: None,
        }
    }

    fn is_table(&self, name: &str) -> bool {
        self.project
            .rules
            .iter()
            .flat_map(|r| &r.ast.items)
            .any(|i| matches!(i, Item::Table(t) if t.node.name.node == name))
    }

    fn sync(&mut self, s: &ast::SyncBlock) -> Sync {
        self.vars.clear();
        self.record = None;
        self.sides = vec![
            s.left.node.system.node.clone(),
            s.right.node.system.node.clone(),
        ];
        let mut sync = Sync {
            name: s.name.node.clone(),
            left: entity(&s.left),
            right: entity(&s.right),
            links: Vec::new(),
            matches: Vec::new(),
            creates: Vec::new(),
            holds: Vec::new(),
            require: Vec::new(),
            conflict: "newest".into(),
            on_delete: "unlink".into(),
            fields: Vec::new(),
        };
        for statement in &s.statements {
            match &statement.node {
                SyncStatement::Link {
                    left,
                    direction,
                    right,
                } => sync.links.push(Mapping {
                    left: self.expr(left),
                    direction: direction.node,
                    right: self.expr(right),
                }),
                SyncStatement::Mapping {
                    left,
                    direction,
                    right,
                } => sync.fields.push(Mapping {
                    left: self.expr(left),
                    direction: direction.node,
                    right: self.expr(right),
                }),
                SyncStatement::Match { condition, suggest } => sync.matches.push(Match {
                    condition: self.expr(condition),
                    suggest: *suggest,
                }),
                SyncStatement::Create { target, trigger } => sync.creates.push(Create {
                    target: target.node.clone(),
                    trigger: self.trigger(&trigger.node),
                }),
                SyncStatement::Hold { field, value } => sync.holds.push(Hold {
                    field: self.expr(field),
                    value: self.expr(value),
                }),
                SyncStatement::Require { fields } => {
                    sync.require.extend(fields.iter().map(|f| self.expr(f)))
                }
                SyncStatement::Conflict(ConflictPolicy::Newest) => sync.conflict = "newest".into(),
                SyncStatement::Conflict(ConflictPolicy::Prefer { system }) => {
                    sync.conflict = format!("prefer:{}", system.node)
                }
                SyncStatement::OnDelete(policy) => sync.on_delete = policy.node.clone(),
            }
        }
        self.sides.clear();
        sync
    }

    fn trigger(&mut self, trigger: &ast::Trigger) -> Trigger {
        match trigger {
            ast::Trigger::Event { event, condition } => Trigger {
                event: serde_json::to_value(event.node)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                condition: condition.as_ref().map(|c| self.expr(c)),
            },
            ast::Trigger::Condition(c) => Trigger {
                event: "condition".into(),
                condition: Some(self.expr(c)),
            },
        }
    }

    fn flow(&mut self, f: &ast::FlowBlock) -> Flow {
        self.vars.clear();
        self.sides.clear();
        let mut flow = Flow {
            name: f.name.node.clone(),
            source: None,
            trigger: None,
            since: None,
            schedule: None,
            amend: "ignore".into(),
            steps: Vec::new(),
        };
        for statement in &f.statements {
            if let Statement::On { source, trigger } = &statement.node {
                if flow.source.is_none() {
                    flow.source = Some(entity(source));
                    self.record = Some((
                        source.node.system.node.clone(),
                        source.node.entity.node.clone(),
                    ));
                    flow.trigger = trigger.as_ref().map(|t| self.trigger(&t.node));
                }
            }
        }
        for statement in &f.statements {
            match &statement.node {
                Statement::On { .. } => {}
                Statement::Since(e) => flow.since = Some(self.expr(e)),
                Statement::Schedule(Schedule::Every(e)) => {
                    flow.schedule = Some(self.tagged("every", e))
                }
                Statement::Schedule(Schedule::Cron(e)) => {
                    flow.schedule = Some(self.tagged("cron", e))
                }
                Statement::Amend(policy) => flow.amend = policy.node.clone(),
                _ => {
                    let step = self.step(&statement.node);
                    flow.steps.extend(step);
                }
            }
        }
        self.record = None;
        flow
    }

    fn tagged(&mut self, tag: &str, e: &Expr) -> PlanExpr {
        PlanExpr::Call {
            function: tag.into(),
            args: vec![self.expr(e)],
        }
    }

    fn steps(&mut self, statements: &[ast::Spanned<Statement>]) -> Vec<Step> {
        let depth = self.vars.len();
        let steps = statements
            .iter()
            .filter_map(|s| self.step(&s.node))
            .collect();
        self.vars.truncate(depth);
        steps
    }

    fn with_var<T>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        self.vars.push(name.to_string());
        let out = f(self);
        self.vars.pop();
        out
    }

    fn step(&mut self, statement: &Statement) -> Option<Step> {
        Some(match statement {
            Statement::On { .. }
            | Statement::Since(_)
            | Statement::Schedule(_)
            | Statement::Amend(_) => return None,
            Statement::Let { name, value } => {
                let step = match &value.node {
                    Statement::Value(e) => Step::Let {
                        name: name.node.clone(),
                        value: Some(self.expr(e)),
                        write: None,
                    },
                    other => Step::Let {
                        name: name.node.clone(),
                        value: None,
                        write: self.step(other).map(Box::new),
                    },
                };
                self.vars.push(name.node.clone());
                step
            }
            Statement::Value(e) => Step::Let {
                name: String::new(),
                value: Some(self.expr(e)),
                write: None,
            },
            Statement::Write(w) => Step::Write {
                kind: w.kind.node,
                target: entity(&w.target),
                keys: w
                    .keys
                    .iter()
                    .map(|k| (k.field.node.clone(), self.expr(&k.value)))
                    .collect(),
                credit_for: w.credit_for.as_ref().map(|e| self.expr(e)),
                destination: w.destination.as_ref().map(|d| self.destination(&d.node)),
                body: self.steps(&w.body),
            },
            Statement::Split {
                amount,
                plan,
                part,
                body,
            } => {
                let amount = self.expr(amount);
                let plan = self.expr(plan);
                let body = self.with_var(&part.node, |s| s.steps(body));
                Step::Split {
                    amount,
                    plan,
                    part: part.node.clone(),
                    body,
                }
            }
            Statement::When {
                condition,
                then,
                otherwise,
            } => Step::When {
                condition: self.expr(condition),
                then: self.steps(then),
                otherwise: otherwise
                    .as_ref()
                    .map(|o| self.steps(o))
                    .unwrap_or_default(),
            },
            Statement::Require { condition, message } => Step::Require {
                condition: self.expr(condition),
                message: self.expr(message),
            },
            Statement::Settle(e) => Step::Settle {
                value: self.expr(e),
            },
            Statement::Attach(e) => Step::Attach {
                value: self.expr(e),
            },
            Statement::Line(body) => Step::Line {
                body: self.steps(body),
            },
            Statement::LinesFor { item, list, body } => {
                let list = self.expr(list);
                let body = self.with_var(&item.node, |s| s.steps(body));
                Step::LinesFor {
                    item: item.node.clone(),
                    list,
                    body,
                }
            }
            Statement::LinesGroup {
                list,
                key,
                group,
                body,
            } => {
                let list = self.expr(list);
                let body = self.with_var(&group.node, |s| s.steps(body));
                Step::LinesGroup {
                    list,
                    key: key.node.clone(),
                    group: group.node.clone(),
                    body,
                }
            }
            Statement::Assign { field, value } => Step::Set {
                field: field.node.clone(),
                value: self.expr(value),
            },
        })
    }

    fn destination(&mut self, d: &Destination) -> PlanExpr {
        match d {
            Destination::Word(w) => PlanExpr::Literal {
                value: Literal::Text(w.node.clone()),
            },
            Destination::If {
                condition,
                then,
                otherwise,
            } => PlanExpr::If {
                condition: Box::new(self.expr(condition)),
                then: Box::new(self.destination(&then.node)),
                otherwise: Box::new(self.destination(&otherwise.node)),
            },
            Destination::Expr(e) => self.expr(e),
        }
    }

    fn view(&mut self, v: &ast::ViewBlock) -> View {
        self.vars.clear();
        self.sides.clear();
        self.record = Some((
            v.subject.node.system.node.clone(),
            v.subject.node.entity.node.clone(),
        ));
        let view = View {
            name: v.name.node.clone(),
            subject: entity(&v.subject),
            from: v.from.as_ref().map(entity),
            filter: v.filter.as_ref().map(|f| self.expr(f)),
            columns: v
                .columns
                .iter()
                .map(|c| (c.name.node.clone(), c.value.as_ref().map(|e| self.expr(e))))
                .collect(),
            order: v
                .order
                .iter()
                .map(|o| (o.column.node.clone(), o.descending))
                .collect(),
        };
        self.record = None;
        view
    }

    fn boxed(&mut self, e: &Expr) -> Box<PlanExpr> {
        Box::new(self.expr(e))
    }

    fn expr(&mut self, e: &Expr) -> PlanExpr {
        match &e.node {
            ExprKind::Literal(l) => PlanExpr::Literal { value: l.clone() },
            ExprKind::Interpolated(parts) => PlanExpr::Text {
                parts: parts
                    .iter()
                    .map(|p| match p {
                        InterpolationPart::Text(t) => PlanExpr::Literal {
                            value: Literal::Text(t.clone()),
                        },
                        InterpolationPart::Expr(e) => self.expr(e),
                    })
                    .collect(),
            },
            ExprKind::Path(segments) => self.path(segments),
            ExprKind::Member { base, field } => PlanExpr::Member {
                base: self.boxed(base),
                field: field.node.clone(),
            },
            ExprKind::Index { base, index } => match &base.node {
                ExprKind::Path(s)
                    if s.len() == 1
                        && self.is_table(&s[0].node)
                        && !self.vars.contains(&s[0].node) =>
                {
                    PlanExpr::Lookup {
                        table: s[0].node.clone(),
                        key: self.boxed(index),
                    }
                }
                _ => PlanExpr::Index {
                    base: self.boxed(base),
                    index: self.boxed(index),
                },
            },
            ExprKind::Call {
                receiver: Some(r),
                function,
                args,
            } => PlanExpr::Method {
                receiver: self.boxed(r),
                method: function.node.clone(),
                args: args.iter().map(|a| self.expr(a)).collect(),
            },
            ExprKind::Call {
                receiver: None,
                function,
                args,
            } => PlanExpr::Call {
                function: function.node.clone(),
                args: args.iter().map(|a| self.expr(a)).collect(),
            },
            ExprKind::Unary { op, operand } => PlanExpr::Unary {
                op: *op,
                operand: self.boxed(operand),
            },
            ExprKind::Binary { op, left, right } => PlanExpr::Binary {
                op: op.node,
                left: self.boxed(left),
                right: self.boxed(right),
            },
            ExprKind::Becomes { field, value } => PlanExpr::Becomes {
                field: self.boxed(field),
                value: self.boxed(value),
            },
            ExprKind::Changed(field) => PlanExpr::Changed {
                field: self.boxed(field),
            },
            ExprKind::If {
                condition,
                then,
                otherwise,
            } => PlanExpr::If {
                condition: self.boxed(condition),
                then: self.boxed(then),
                otherwise: self.boxed(otherwise),
            },
            ExprKind::List(items) => PlanExpr::List {
                items: items.iter().map(|i| self.expr(i)).collect(),
            },
            ExprKind::Record(fields) => PlanExpr::RecordLiteral {
                fields: fields
                    .iter()
                    .map(|(n, v)| (n.node.clone(), self.expr(v)))
                    .collect(),
            },
            ExprKind::Exists { entity: en, filter } => PlanExpr::Exists {
                entity: entity(en),
                filter: filter.as_ref().map(|f| self.boxed(f)),
            },
            ExprKind::Find { entity: en, filter } => PlanExpr::Find {
                entity: entity(en),
                filter: filter.as_ref().map(|f| self.boxed(f)),
            },
            ExprKind::Group(inner) => self.expr(inner),
        }
    }

    fn path(&self, segments: &[ast::Ident]) -> PlanExpr {
        let names: Vec<String> = segments.iter().map(|s| s.node.clone()).collect();
        let Some(first) = names.first() else {
            return PlanExpr::Field { path: names };
        };
        if self.vars.contains(first) {
            return PlanExpr::Var {
                name: first.clone(),
                path: names[1..].to_vec(),
            };
        }
        if first == "settings" && names.len() >= 2 {
            return PlanExpr::Setting {
                key: names[1].clone(),
                path: names[2..].to_vec(),
            };
        }
        if self.sides.contains(first) {
            return PlanExpr::Side {
                system: first.clone(),
                path: names[1..].to_vec(),
            };
        }
        if let Some((system, entity)) = &self.record {
            if first == system && names.get(1) == Some(entity) {
                return PlanExpr::Record {
                    path: names[2..].to_vec(),
                };
            }
        }
        PlanExpr::Field { path: names }
    }
}
