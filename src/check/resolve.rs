//! Name resolution and type inference over one rule file.
//!
//! Walks every block with a scope of names (`let`, split parts, loop items, groups) and a
//! *subject* (the entity whose fields bare names refer to), infers a [`Type`] for every
//! expression, and reports unknown names (`LL1xx`), type mismatches (`LL2xx`) and statements
//! in the wrong place (`LL002`). The facts later rules need (which fields a trigger observes)
//! are collected in [`Facts`].

use std::sync::Arc;

use super::{
    context::{literal_type, Context},
    rules::{misplaced_statement, type_mismatch, unknown_enum_value, unknown_field, unknown_name},
    types::{assignable, comparable, Type},
};
use crate::{
    connector::Entity,
    diagnostic::Diagnostic,
    source::{SourceFile, Span},
    syntax::ast::{
        BinaryOp, ConflictPolicy, Destination, Direction, EntityRef, Expr, ExprKind, Ident,
        InterpolationPart, Item, Literal, Schedule, Spanned, Statement, SyncStatement, TableSource,
        Trigger, UnaryOp, WriteKind,
    },
};

/// A field a trigger watches (`crm.Type becomes …`), for the unobservable-trigger lint.
#[derive(Debug, Clone)]
pub struct Observed {
    /// System alias.
    pub system: String,
    /// Entity name.
    pub entity: String,
    /// Field name.
    pub field: String,
    /// Where it is written.
    pub span: Span,
    /// The file.
    pub file: Arc<SourceFile>,
}

/// Facts gathered while resolving, consumed by later rules.
#[derive(Debug, Default)]
pub struct Facts {
    /// Fields observed by `becomes` / `changed` triggers.
    pub observed: Vec<Observed>,
}

/// Where a statement stands.
#[derive(Debug, Clone, PartialEq)]
enum Place {
    /// Directly in a flow.
    Flow,
    /// In the body of a document write.
    Document { system: String, entity: String },
    /// In a `line`/`lines` body: the line record's fields.
    Line(Type),
}

/// The entity a part of the rules is about.
type Subject = Option<(String, String)>;

/// Resolves names and types of one rule file.
pub struct Resolver<'c, 'p> {
    cx: &'c Context<'p>,
    file: Arc<SourceFile>,
    diagnostics: &'c mut Vec<Diagnostic>,
    facts: &'c mut Facts,
    scopes: Vec<Vec<(String, Type)>>,
    /// Aliases a sync block binds to entities: `crm.Name` is the `Name` field.
    sync_sides: Vec<(String, String)>,
    /// The record a flow or view is about: `winner.Quote.Number`.
    record: Subject,
    /// Bare names refer to this entity's fields.
    subject: Subject,
    /// Inside a trigger, where `becomes` and `changed` are allowed.
    in_trigger: bool,
    /// Aliases whose entity could not be resolved in this block: not reported again.
    failed: Vec<String>,
    /// The entity bare names refer to could not be resolved: they are not reported either.
    subject_unresolved: bool,
}

impl<'c, 'p> Resolver<'c, 'p> {
    /// A resolver for `file`.
    pub fn new(
        cx: &'c Context<'p>,
        file: Arc<SourceFile>,
        diagnostics: &'c mut Vec<Diagnostic>,
        facts: &'c mut Facts,
    ) -> Self {
        Resolver {
            cx,
            file,
            diagnostics,
            facts,
            scopes: Vec::new(),
            sync_sides: Vec::new(),
            record: None,
            subject: None,
            in_trigger: false,
            failed: Vec::new(),
            subject_unresolved: false,
        }
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic.in_file(&self.file));
    }

    /// Resolves one block.
    pub fn item(&mut self, item: &Item) {
        self.scopes = vec![Vec::new()];
        self.sync_sides.clear();
        self.record = None;
        self.subject = None;
        self.failed.clear();
        self.subject_unresolved = false;
        match item {
            Item::Sync(sync) => {
                let sync = &sync.node;
                for side in [&sync.left, &sync.right] {
                    if self.entity_ref(side).is_some() {
                        self.sync_sides
                            .push((side.node.system.node.clone(), side.node.entity.node.clone()));
                    }
                }
                for statement in &sync.statements {
                    self.sync_statement(statement);
                }
            }
            Item::Flow(flow) => {
                let ons: Vec<_> = flow
                    .node
                    .statements
                    .iter()
                    .filter_map(|s| match &s.node {
                        Statement::On { source, .. } => Some(source),
                        _ => None,
                    })
                    .collect();
                if let Some(source) = ons.first() {
                    if self.entity_ref(source).is_some() {
                        self.record = Some((
                            source.node.system.node.clone(),
                            source.node.entity.node.clone(),
                        ));
                    }
                }
                for extra in ons.iter().skip(1) {
                    self.report(misplaced_statement::second_on(extra.span, ons[0].span));
                }
                for statement in &flow.node.statements {
                    self.statement(statement, &Place::Flow);
                }
            }
            Item::View(view) => {
                let view = &view.node;
                if self.entity_ref(&view.subject).is_some() {
                    self.record = Some((
                        view.subject.node.system.node.clone(),
                        view.subject.node.entity.node.clone(),
                    ));
                }
                let from = view.from.as_ref().and_then(|f| {
                    self.entity_ref(f)?;
                    Some((f.node.system.node.clone(), f.node.entity.node.clone()))
                });
                self.subject = from.clone();
                self.subject_unresolved = view.from.is_some() && from.is_none();
                if let Some(filter) = &view.filter {
                    self.expr(filter);
                }
                for column in &view.columns {
                    match &column.value {
                        Some(value) => {
                            self.expr(value);
                        }
                        None => {
                            if let Some((system, entity)) = &from {
                                self.field_of_entity(system, entity, &column.name);
                            }
                        }
                    }
                }
                let column_names: Vec<String> =
                    view.columns.iter().map(|c| c.name.node.clone()).collect();
                for key in &view.order {
                    if !column_names.contains(&key.column.node) {
                        if let Some((system, entity)) = &from {
                            self.field_of_entity(system, entity, &key.column);
                        }
                    }
                }
            }
            Item::Table(table) => {
                if let TableSource::Inline { entries } = &table.node.source {
                    for entry in entries {
                        self.expr(&entry.node.value);
                    }
                }
            }
        }
    }

    // ───────────────────────────── entities ─────────────────────────────

    /// Checks `system.Entity` exists; returns the entity.
    fn entity_ref(&mut self, entity_ref: &Spanned<EntityRef>) -> Option<&'c Entity> {
        let found = self.lookup_entity(entity_ref);
        if found.is_none() {
            // Later uses of this alias in the block would only repeat the same problem.
            self.failed.push(entity_ref.node.system.node.clone());
        }
        found
    }

    fn lookup_entity(&mut self, entity_ref: &Spanned<EntityRef>) -> Option<&'c Entity> {
        let system = &entity_ref.node.system;
        let entity = &entity_ref.node.entity;
        let Some(found) = self.cx.systems.get(&system.node) else {
            let aliases: Vec<&str> = self.cx.systems.keys().map(String::as_str).collect();
            let diagnostic = super::rules::unknown_system::diagnostic(system, &aliases);
            self.report(diagnostic);
            return None;
        };
        let profile = found.profile.as_ref()?;
        match profile.entities.get(&entity.node) {
            Some(e) => Some(e),
            None => {
                let names: Vec<&str> = profile.entities.keys().map(String::as_str).collect();
                let diagnostic = super::rules::unknown_entity::diagnostic(
                    entity,
                    &found.alias,
                    &found.connector,
                    &names,
                );
                self.report(diagnostic);
                None
            }
        }
    }

    /// The type of field `name` of `system.entity`, reporting an unknown field.
    fn field_of_entity(&mut self, system: &str, entity: &str, name: &Ident) -> Type {
        let Some(found) = self.cx.entity(system, entity) else {
            return Type::Unknown;
        };
        if name.node == "custom" {
            if let Some(custom) = &found.custom_fields {
                return Type::Custom(Box::new(Type::of_scalar(custom.r#type)));
            }
        }
        match found.fields.get(&name.node) {
            Some(field) => Type::of_field(field),
            None => {
                let names: Vec<&str> = found.fields.keys().map(String::as_str).collect();
                let diagnostic =
                    unknown_field::diagnostic(name, &format!("{system}.{entity}"), &names);
                self.report(diagnostic);
                Type::Unknown
            }
        }
    }

    /// The field `name` of a value of type `base`; `owner` names the value in messages.
    fn member(&mut self, base: &Type, name: &Ident, owner: &str) -> Type {
        match base {
            Type::Unknown => Type::Unknown,
            Type::Entity { system, entity } => {
                let (system, entity) = (system.clone(), entity.clone());
                self.field_of_entity(&system, &entity, name)
            }
            Type::Record(fields) => match fields.get(&name.node) {
                Some(t) => t.clone(),
                None => {
                    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
                    let diagnostic = unknown_field::diagnostic(name, &format!("`{owner}`"), &names);
                    self.report(diagnostic);
                    Type::Unknown
                }
            },
            Type::List(item) => match self.member(item, name, owner) {
                Type::List(inner) => Type::List(inner),
                Type::Unknown => Type::Unknown,
                t => Type::List(Box::new(t)),
            },
            Type::Part => match name.node.as_str() {
                "amount" => Type::Money,
                "label" => Type::Text,
                "index" => Type::Integer,
                "share" => Type::Percent,
                _ => {
                    let diagnostic = unknown_field::diagnostic(
                        name,
                        "a payment-plan part",
                        &["amount", "label", "index", "share"],
                    );
                    self.report(diagnostic);
                    Type::Unknown
                }
            },
            Type::Group { key, item } => match name.node.as_str() {
                "key" => (**key).clone(),
                "first" => (**item).clone(),
                "count" => Type::Integer,
                "lines" => Type::List(item.clone()),
                _ => match self.member(item, name, owner) {
                    Type::Unknown => Type::Unknown,
                    t => Type::List(Box::new(t)),
                },
            },
            other => {
                let diagnostic = type_mismatch::no_fields(name, other);
                self.report(diagnostic);
                Type::Unknown
            }
        }
    }

    // ───────────────────────────── sync ─────────────────────────────

    fn sync_statement(&mut self, statement: &Spanned<SyncStatement>) {
        match &statement.node {
            SyncStatement::Link {
                left,
                right,
                direction,
            }
            | SyncStatement::Mapping {
                left,
                right,
                direction,
            } => {
                let left_type = self.expr(left);
                let right_type = self.expr(right);
                // A two-way rule is checked once, left into right; its reverse has the same pair.
                match direction.node {
                    Direction::Both | Direction::LeftToRight => {
                        self.check_assignable(&right_type, &left_type, left.span, right.span);
                        self.enum_literal(&right_type, right.span, left);
                    }
                    Direction::RightToLeft => {
                        self.check_assignable(&left_type, &right_type, right.span, left.span);
                        self.enum_literal(&left_type, left.span, right);
                    }
                }
            }
            SyncStatement::Match { condition, .. } => {
                self.expr(condition);
            }
            SyncStatement::Create { target, trigger } => {
                self.sync_alias(target);
                self.trigger(trigger, None);
            }
            SyncStatement::Hold { field, value } => {
                let field_type = self.expr(field);
                let value_type = self.expr(value);
                self.check_assignable(&field_type, &value_type, value.span, field.span);
                self.enum_literal(&field_type, field.span, value);
            }
            SyncStatement::Require { fields } => {
                for field in fields {
                    self.expr(field);
                }
            }
            SyncStatement::Conflict(ConflictPolicy::Prefer { system }) => self.sync_alias(system),
            SyncStatement::Conflict(ConflictPolicy::Newest) => {}
            SyncStatement::OnDelete(policy) => {
                self.one_of(policy, "delete policy", &["ignore", "unlink", "delete"])
            }
        }
    }

    fn sync_alias(&mut self, alias: &Ident) {
        if !self.sync_sides.is_empty() && !self.sync_sides.iter().any(|(a, _)| *a == alias.node) {
            let sides: Vec<&str> = self.sync_sides.iter().map(|(a, _)| a.as_str()).collect();
            let diagnostic = unknown_name::not_a_side(alias, &sides);
            self.report(diagnostic);
        }
    }

    fn one_of(&mut self, word: &Ident, what: &str, allowed: &[&str]) {
        if !allowed.contains(&word.node.as_str()) {
            let diagnostic = unknown_name::bad_word(word, what, allowed);
            self.report(diagnostic);
        }
    }

    fn trigger(&mut self, trigger: &Spanned<Trigger>, subject: Subject) {
        let saved = std::mem::replace(&mut self.subject, subject);
        self.in_trigger = true;
        match &trigger.node {
            Trigger::Event { condition, .. } => {
                if let Some(condition) = condition {
                    self.expr(condition);
                }
            }
            Trigger::Condition(condition) => {
                self.expr(condition);
            }
        }
        self.in_trigger = false;
        self.subject = saved;
    }

    // ───────────────────────────── flow ─────────────────────────────

    fn statements(&mut self, statements: &[Spanned<Statement>], place: &Place) {
        self.scopes.push(Vec::new());
        for statement in statements {
            self.statement(statement, place);
        }
        self.scopes.pop();
    }

    fn bind(&mut self, name: &Ident, ty: Type) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.push((name.node.clone(), ty));
        }
    }

    fn statement(&mut self, statement: &Spanned<Statement>, place: &Place) {
        if let Some(diagnostic) = misplaced_statement::check(
            statement,
            matches!(place, Place::Flow),
            matches!(place, Place::Line(_)),
        ) {
            self.report(diagnostic);
        }
        match &statement.node {
            Statement::On { trigger, .. } => {
                if let Some(trigger) = trigger {
                    let record = self.record.clone();
                    let unresolved = record.is_none();
                    let saved = std::mem::replace(&mut self.subject_unresolved, unresolved);
                    self.trigger(trigger, record);
                    self.subject_unresolved = saved;
                }
            }
            Statement::Since(expr) => {
                let t = self.expr(expr);
                self.expect(&t, &Type::Date, expr.span, "`since` needs a date");
            }
            Statement::Schedule(Schedule::Every(expr)) => {
                let t = self.expr(expr);
                self.expect(
                    &t,
                    &Type::Duration,
                    expr.span,
                    "`every` needs a duration such as `24h`",
                );
            }
            Statement::Schedule(Schedule::Cron(expr)) => {
                self.expr(expr);
            }
            Statement::Amend(policy) => self.one_of(
                policy,
                "amend policy",
                &["ignore", "update", "credit_and_reissue"],
            ),
            Statement::Let { name, value } => {
                let ty = match &value.node {
                    Statement::Value(expr) => self.expr(expr),
                    Statement::Write(write) => {
                        self.statement(value, place);
                        Type::Entity {
                            system: write.target.node.system.node.clone(),
                            entity: write.target.node.entity.node.clone(),
                        }
                    }
                    _ => {
                        self.statement(value, place);
                        Type::Unknown
                    }
                };
                self.bind(name, ty);
            }
            Statement::Value(expr) => {
                self.expr(expr);
            }
            Statement::Write(write) => {
                let entity = self.entity_ref(&write.target);
                let system = write.target.node.system.node.clone();
                let entity_name = write.target.node.entity.node.clone();
                if let Some(credit_for) = &write.credit_for {
                    self.expr(credit_for);
                }
                if let Some(destination) = &write.destination {
                    self.destination(destination, entity);
                }
                let saved = self.subject.replace((system.clone(), entity_name.clone()));
                let mut key_values = Vec::new();
                for key in &write.keys {
                    let field_type = self.field_of_entity(&system, &entity_name, &key.field);
                    key_values.push((field_type, &key.value));
                }
                self.subject = saved;
                for (field_type, value) in key_values {
                    let value_type = self.expr(value);
                    self.check_assignable(&field_type, &value_type, value.span, value.span);
                }
                if write.kind.node == WriteKind::Credit && write.body.is_empty() {
                    return;
                }
                let document = Place::Document {
                    system,
                    entity: entity_name,
                };
                self.statements(&write.body, &document);
            }
            Statement::Split {
                amount,
                plan,
                part,
                body,
            } => {
                let amount_type = self.expr(amount);
                self.expect(
                    &amount_type,
                    &Type::Money,
                    amount.span,
                    "`split` divides an amount",
                );
                let plan_type = self.expr(plan);
                if !matches!(plan_type, Type::List(_) | Type::Unknown) {
                    let diagnostic = type_mismatch::not_a_plan(plan.span, &plan_type);
                    self.report(diagnostic);
                }
                self.scopes.push(vec![(part.node.clone(), Type::Part)]);
                self.statements(body, place);
                self.scopes.pop();
            }
            Statement::When {
                condition,
                then,
                otherwise,
            } => {
                self.condition(condition, "a `when` condition is true or false");
                self.statements(then, place);
                if let Some(otherwise) = otherwise {
                    self.statements(otherwise, place);
                }
            }
            Statement::Require { condition, message } => {
                self.condition(condition, "`require` needs a condition");
                self.expr(message);
            }
            Statement::Settle(expr) | Statement::Attach(expr) => {
                self.expr(expr);
            }
            Statement::Line(body) => {
                let line = self.line_type(place, statement.span);
                self.statements(body, &Place::Line(line));
            }
            Statement::LinesFor { item, list, body } => {
                let list_type = self.expr(list);
                let item_type = self.item_type(&list_type, list.span);
                let line = self.line_type(place, statement.span);
                self.scopes.push(vec![(item.node.clone(), item_type)]);
                self.statements(body, &Place::Line(line));
                self.scopes.pop();
            }
            Statement::LinesGroup {
                list,
                key,
                group,
                body,
            } => {
                let list_type = self.expr(list);
                let item_type = self.item_type(&list_type, list.span);
                let owner = format!("a line of `{}`", self.file.slice(list.span));
                let key_type = self.member(&item_type, key, &owner);
                let line = self.line_type(place, statement.span);
                self.scopes.push(vec![(
                    group.node.clone(),
                    Type::Group {
                        key: Box::new(key_type),
                        item: Box::new(item_type),
                    },
                )]);
                self.statements(body, &Place::Line(line));
                self.scopes.pop();
            }
            Statement::Assign { field, value } => {
                let field_type = match place {
                    Place::Document { system, entity } => {
                        self.field_of_entity(&system.clone(), &entity.clone(), field)
                    }
                    Place::Line(line) => self.member(&line.clone(), field, "a line"),
                    Place::Flow => Type::Unknown,
                };
                let value_type = self.expr(value);
                self.check_assignable(&field_type, &value_type, value.span, field.span);
                self.enum_literal(&field_type, field.span, value);
            }
        }
    }

    fn destination(&mut self, destination: &Spanned<Destination>, entity: Option<&Entity>) {
        match &destination.node {
            Destination::Word(word) => {
                if let Some(entity) = entity {
                    if !entity.destinations.is_empty() && !entity.destinations.contains(&word.node)
                    {
                        let allowed: Vec<&str> =
                            entity.destinations.iter().map(String::as_str).collect();
                        self.one_of(word, "destination of this entity", &allowed);
                    }
                }
            }
            Destination::If {
                condition,
                then,
                otherwise,
            } => {
                self.condition(condition, "the condition is true or false");
                self.destination(then, entity);
                self.destination(otherwise, entity);
            }
            Destination::Expr(expr) => {
                let t = self.expr(expr);
                self.expect(
                    &t,
                    &Type::Text,
                    expr.span,
                    "a destination is `ledger` or `inbox`",
                );
            }
        }
    }

    /// The record type of the lines of the document being written.
    fn line_type(&mut self, place: &Place, at: Span) -> Type {
        match place {
            Place::Document { system, entity } => {
                let Some(found) = self.cx.entity(system, entity) else {
                    return Type::Unknown;
                };
                match super::lines_field(found) {
                    Some((_, field)) => match Type::of_field(field) {
                        Type::List(item) => *item,
                        _ => Type::Unknown,
                    },
                    None => {
                        let diagnostic =
                            misplaced_statement::no_lines(at, &format!("{system}.{entity}"));
                        self.report(diagnostic);
                        Type::Unknown
                    }
                }
            }
            Place::Line(line) => line.clone(),
            Place::Flow => Type::Unknown,
        }
    }

    fn item_type(&mut self, list: &Type, at: Span) -> Type {
        match list {
            Type::List(item) => (**item).clone(),
            Type::Unknown => Type::Unknown,
            other => {
                let diagnostic = type_mismatch::not_a_list(at, other);
                self.report(diagnostic);
                Type::Unknown
            }
        }
    }

    // ───────────────────────────── expressions ─────────────────────────────

    fn check_assignable(&mut self, field: &Type, value: &Type, value_span: Span, field_span: Span) {
        if let Err(mismatch) = assignable(field, value) {
            let text = self.file.slice(value_span).to_string();
            let diagnostic =
                type_mismatch::assignment(value_span, field_span, field, value, mismatch, &text);
            self.report(diagnostic);
        }
    }

    /// Types an expression that must be true or false.
    fn condition(&mut self, expr: &Expr, why: &str) {
        let t = self.expr(expr);
        self.expect(&t, &Type::Bool, expr.span, why);
    }

    fn expect(&mut self, actual: &Type, expected: &Type, at: Span, why: &str) {
        let ok = match expected {
            Type::Bool => matches!(actual, Type::Bool | Type::Unknown),
            Type::Money => actual.is_numeric(),
            _ => assignable(expected, actual).is_ok(),
        };
        if !ok {
            let diagnostic = type_mismatch::expected(at, expected, actual, why);
            self.report(diagnostic);
        }
    }

    /// Infers the type of an expression, reporting what is wrong inside it.
    pub fn expr(&mut self, expr: &Expr) -> Type {
        match &expr.node {
            ExprKind::Literal(literal) => literal_type(literal),
            ExprKind::Interpolated(parts) => {
                for part in parts {
                    if let InterpolationPart::Expr(e) = part {
                        self.expr(e);
                    }
                }
                Type::Text
            }
            ExprKind::Path(segments) => self.path(segments),
            ExprKind::Member { base, field } => {
                let base_type = self.expr(base);
                let owner = self.file.slice(base.span).to_string();
                self.member(&base_type, field, &owner)
            }
            ExprKind::Index { base, index } => self.index(base, index),
            ExprKind::Call {
                receiver,
                function,
                args,
            } => self.call(receiver.as_deref(), function, args, expr.span),
            ExprKind::Unary { op, operand } => {
                let t = self.expr(operand);
                match op {
                    UnaryOp::Neg => {
                        self.expect(
                            &t,
                            &Type::Decimal,
                            operand.span,
                            "only numbers can be negated",
                        );
                        t
                    }
                    UnaryOp::Not => {
                        self.expect(&t, &Type::Bool, operand.span, "`not` needs true or false");
                        Type::Bool
                    }
                }
            }
            ExprKind::Binary { op, left, right } => self.binary(op, left, right),
            ExprKind::Becomes { field, value } => {
                if !self.in_trigger {
                    let diagnostic =
                        misplaced_statement::predicate_outside_trigger(expr.span, "becomes");
                    self.report(diagnostic);
                }
                let field_type = self.observed(field);
                let value_type = self.expr(value);
                self.compare(&field_type, &value_type, field, value, expr.span);
                Type::Bool
            }
            ExprKind::Changed(field) => {
                if !self.in_trigger {
                    let diagnostic =
                        misplaced_statement::predicate_outside_trigger(expr.span, "changed");
                    self.report(diagnostic);
                }
                self.observed(field);
                Type::Bool
            }
            ExprKind::If {
                condition,
                then,
                otherwise,
            } => {
                self.condition(condition, "an `if` condition is true or false");
                let a = self.expr(then);
                let b = self.expr(otherwise);
                if a.is_unknown() || matches!(a, Type::Null) {
                    b
                } else {
                    a
                }
            }
            ExprKind::List(items) => {
                let mut item_type = Type::Unknown;
                for item in items {
                    let t = self.expr(item);
                    if item_type.is_unknown() {
                        item_type = t;
                    }
                }
                Type::List(Box::new(item_type))
            }
            ExprKind::Record(fields) => Type::Record(Arc::new(
                fields
                    .iter()
                    .map(|(name, value)| (name.node.clone(), self.expr(value)))
                    .collect(),
            )),
            ExprKind::Exists { entity, filter } | ExprKind::Find { entity, filter } => {
                let found = self.entity_ref(entity).is_some();
                let pair = (
                    entity.node.system.node.clone(),
                    entity.node.entity.node.clone(),
                );
                if let Some(filter) = filter {
                    let saved = std::mem::replace(&mut self.subject, found.then(|| pair.clone()));
                    let saved_flag = std::mem::replace(&mut self.subject_unresolved, !found);
                    let t = self.expr(filter);
                    self.subject_unresolved = saved_flag;
                    self.expect(
                        &t,
                        &Type::Bool,
                        filter.span,
                        "a `where` condition is true or false",
                    );
                    self.subject = saved;
                }
                if matches!(expr.node, ExprKind::Exists { .. }) {
                    Type::Bool
                } else if found {
                    Type::List(Box::new(Type::Entity {
                        system: pair.0,
                        entity: pair.1,
                    }))
                } else {
                    Type::Unknown
                }
            }
            ExprKind::Group(inner) => self.expr(inner),
        }
    }

    /// A field watched by a trigger: record it for the observability lint.
    fn observed(&mut self, field: &Expr) -> Type {
        let t = self.expr(field);
        if let ExprKind::Path(segments) = &field.node {
            if let Some((system, entity, name)) = self.field_owner(segments) {
                self.facts.observed.push(Observed {
                    system,
                    entity,
                    field: name,
                    span: field.span,
                    file: self.file.clone(),
                });
            }
        }
        t
    }

    /// For a path naming a top-level field of an entity, the entity and field.
    fn field_owner(&self, segments: &[Ident]) -> Option<(String, String, String)> {
        let first = &segments.first()?.node;
        if let Some((alias, entity)) = self.sync_sides.iter().find(|(a, _)| a == first) {
            return Some((alias.clone(), entity.clone(), segments.get(1)?.node.clone()));
        }
        if let Some((alias, entity)) = &self.record {
            if first == alias && segments.get(1).is_some_and(|s| &s.node == entity) {
                return Some((alias.clone(), entity.clone(), segments.get(2)?.node.clone()));
            }
        }
        let (alias, entity) = self.subject.as_ref()?;
        self.cx.entity(alias, entity)?.fields.get(first)?;
        Some((alias.clone(), entity.clone(), first.clone()))
    }

    fn lookup_scope(&self, name: &str) -> Option<Type> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
    }

    fn path(&mut self, segments: &[Ident]) -> Type {
        if segments.is_empty() {
            return Type::Unknown;
        }
        let (mut ty, rest) = self.path_root(segments);
        if ty.is_unknown() && rest == 0 {
            return Type::Unknown;
        }
        let start = segments.len() - rest;
        for (i, segment) in segments.iter().enumerate().skip(start) {
            let owner = segments[..i]
                .iter()
                .map(|s| s.node.as_str())
                .collect::<Vec<_>>()
                .join(".");
            ty = self.member(&ty, segment, &owner);
        }
        ty
    }

    /// The type of the first segments of a path, and how many segments remain as fields.
    fn path_root(&mut self, segments: &[Ident]) -> (Type, usize) {
        let first = &segments[0];
        let name = first.node.as_str();
        let unusable = self
            .cx
            .systems
            .get(name)
            .is_some_and(|s| s.profile.is_none());
        if self.failed.iter().any(|f| f == name) || unusable {
            return (Type::Unknown, 0);
        }
        if let Some(ty) = self.lookup_scope(name) {
            return (ty, segments.len() - 1);
        }
        if name == "settings" {
            let Some(key) = segments.get(1) else {
                let diagnostic = unknown_name::setting_without_key(first.span);
                self.report(diagnostic);
                return (Type::Unknown, 0);
            };
            self.cx.mark_used(format!("settings.{}", key.node));
            return match self.cx.settings.get(&key.node) {
                Some(t) => (t.clone(), segments.len() - 2),
                None => {
                    let keys: Vec<&str> = self.cx.settings.keys().map(String::as_str).collect();
                    let diagnostic = super::rules::unknown_setting::diagnostic(key, &keys);
                    self.report(diagnostic);
                    (Type::Unknown, 0)
                }
            };
        }
        if let Some(table) = self.cx.tables.get(name) {
            self.cx.mark_used(format!("table:{name}"));
            return (
                Type::Table(Box::new(table.value_type.clone())),
                segments.len() - 1,
            );
        }
        if let Some((alias, entity)) = self.sync_sides.iter().find(|(a, _)| a == name) {
            return (
                Type::Entity {
                    system: alias.clone(),
                    entity: entity.clone(),
                },
                segments.len() - 1,
            );
        }
        if self.cx.systems.contains_key(name) {
            let Some(entity) = segments.get(1) else {
                let diagnostic = unknown_name::system_without_entity(first);
                self.report(diagnostic);
                return (Type::Unknown, 0);
            };
            if let Some((alias, record_entity)) = &self.record {
                if alias == name && *record_entity == entity.node {
                    return (
                        Type::Entity {
                            system: alias.clone(),
                            entity: entity.node.clone(),
                        },
                        segments.len() - 2,
                    );
                }
            }
            let diagnostic = unknown_name::not_the_record(
                first.span.to(entity.span),
                self.record.as_ref(),
                !self.sync_sides.is_empty(),
            );
            self.report(diagnostic);
            return (Type::Unknown, 0);
        }
        if let Some((alias, entity)) = self.subject.clone() {
            if let Some(found) = self.cx.entity(&alias, &entity) {
                if found.fields.contains_key(name) {
                    let ty = self.field_of_entity(&alias, &entity, first);
                    return (ty, segments.len() - 1);
                }
            }
        }
        if let Some((alias, entity)) = self.subject.clone() {
            if let Some(found) = self.cx.entity(&alias, &entity) {
                let fields: Vec<&str> = found.fields.keys().map(String::as_str).collect();
                if crate::check::suggest::did_you_mean(name, fields.iter().copied()).is_some() {
                    let diagnostic = super::rules::unknown_field::diagnostic(
                        first,
                        &format!("{alias}.{entity}"),
                        &fields,
                    );
                    self.report(diagnostic);
                    return (Type::Unknown, 0);
                }
            }
        }
        if self.subject_unresolved {
            return (Type::Unknown, 0);
        }
        let diagnostic = self.unknown(first);
        self.report(diagnostic);
        (Type::Unknown, 0)
    }

    fn unknown(&self, name: &Ident) -> Diagnostic {
        if let Some((system, entity)) = &self.record {
            let in_record = self
                .cx
                .entity(system, entity)
                .is_some_and(|e| e.fields.contains_key(&name.node));
            if in_record {
                return unknown_name::record_field_without_path(name, system, entity);
            }
        }
        let mut candidates: Vec<String> = self
            .scopes
            .iter()
            .flatten()
            .map(|(n, _)| n.clone())
            .collect();
        candidates.extend(self.cx.tables.keys().cloned());
        candidates.extend(self.sync_sides.iter().map(|(a, _)| a.clone()));
        candidates.push("settings".into());
        if let Some((alias, entity)) = &self.subject {
            if let Some(found) = self.cx.entity(alias, entity) {
                candidates.extend(found.fields.keys().cloned());
            }
        }
        let refs: Vec<&str> = candidates.iter().map(String::as_str).collect();
        let subject = self.subject.as_ref().map(|(a, e)| format!("{a}.{e}"));
        unknown_name::diagnostic(name, &refs, subject.as_deref(), self.record.as_ref())
    }

    fn index(&mut self, base: &Expr, index: &Expr) -> Type {
        let base_type = self.expr(base);
        let index_type = self.expr(index);
        match base_type {
            Type::Table(value) => *value,
            Type::Custom(value) => *value,
            Type::List(item) => {
                self.expect(
                    &index_type,
                    &Type::Integer,
                    index.span,
                    "a list is indexed by position",
                );
                *item
            }
            Type::Unknown => Type::Unknown,
            other => {
                let diagnostic = type_mismatch::not_indexable(base.span, &other);
                self.report(diagnostic);
                Type::Unknown
            }
        }
    }

    fn call(&mut self, receiver: Option<&Expr>, function: &Ident, args: &[Expr], at: Span) -> Type {
        let arg_types: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
        if let Some(receiver) = receiver {
            let receiver_type = self.expr(receiver);
            return match (&receiver_type, function.node.as_str()) {
                (Type::Part, "share") => {
                    if args.len() != 1 {
                        let diagnostic = super::rules::wrong_argument_count::diagnostic(
                            function,
                            at,
                            1,
                            1,
                            args.len(),
                        );
                        self.report(diagnostic);
                    }
                    Type::Money
                }
                (Type::Unknown, _) => Type::Unknown,
                _ => {
                    let diagnostic =
                        super::rules::unknown_function::method(function, &receiver_type);
                    self.report(diagnostic);
                    Type::Unknown
                }
            };
        }
        super::functions::call_type(self, function, &arg_types, args, at)
    }

    pub(super) fn push_diagnostic(&mut self, diagnostic: Diagnostic) {
        self.report(diagnostic);
    }

    fn binary(&mut self, op: &Spanned<BinaryOp>, left: &Expr, right: &Expr) -> Type {
        let a = self.expr(left);
        let b = self.expr(right);
        match op.node {
            BinaryOp::And | BinaryOp::Or => {
                self.expect(&a, &Type::Bool, left.span, "`and`/`or` join conditions");
                self.expect(&b, &Type::Bool, right.span, "`and`/`or` join conditions");
                Type::Bool
            }
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => {
                self.compare(&a, &b, left, right, op.span);
                Type::Bool
            }
            BinaryOp::In | BinaryOp::NotIn => {
                match &b {
                    Type::List(item) => {
                        if !comparable(&a, item) {
                            let diagnostic = type_mismatch::comparison(op.span, &a, item);
                            self.report(diagnostic);
                        }
                    }
                    Type::Unknown | Type::Table(_) => {}
                    other => {
                        let diagnostic = type_mismatch::not_a_list(right.span, other);
                        self.report(diagnostic);
                    }
                }
                Type::Bool
            }
            BinaryOp::Coalesce => {
                if a.is_unknown() || matches!(a, Type::Null) {
                    b
                } else {
                    a
                }
            }
            BinaryOp::Add if matches!((&a, &b), (Type::Text, Type::Text)) => Type::Text,
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
                if matches!(
                    (op.node, &a, &b),
                    (BinaryOp::Add | BinaryOp::Sub, Type::Date, Type::Duration)
                ) {
                    return Type::Date;
                }
                // A percentage scales (`amount * 25%`) or adds to another percentage; added to a
                // plain number it is ambiguous (25 or 0.25?), so the rule must say which.
                let mixes_percent = matches!(op.node, BinaryOp::Add | BinaryOp::Sub)
                    && matches!(
                        (&a, &b),
                        (Type::Percent, Type::Integer | Type::Decimal | Type::Money)
                            | (Type::Integer | Type::Decimal | Type::Money, Type::Percent)
                    );
                if mixes_percent {
                    let diagnostic = type_mismatch::percent_arithmetic(op.span, op.node.symbol());
                    self.report(diagnostic);
                    return Type::Unknown;
                }
                for (t, e) in [(&a, left), (&b, right)] {
                    if !t.is_numeric() {
                        let diagnostic = type_mismatch::arithmetic(e.span, op.node.symbol(), t);
                        self.report(diagnostic);
                        return Type::Unknown;
                    }
                }
                arithmetic_result(op.node, &a, &b)
            }
        }
    }

    /// Checks that `left` and `right` can be compared, and that a text literal compared with
    /// a choice field is one of its values.
    fn compare(&mut self, a: &Type, b: &Type, left: &Expr, right: &Expr, at: Span) {
        if !comparable(a, b) {
            let diagnostic = type_mismatch::comparison(at, a, b);
            self.report(diagnostic);
            return;
        }
        self.enum_literal(a, left.span, right);
        self.enum_literal(b, right.span, left);
    }

    /// A text literal `literal` compared with or written into the choice field `field`.
    fn enum_literal(&mut self, enum_type: &Type, field: Span, literal: &Expr) {
        let (Type::Enum(values), ExprKind::Literal(Literal::Text(text))) =
            (enum_type, &literal.node)
        else {
            return;
        };
        if !values.is_empty() && !values.iter().any(|v| v == text) {
            let field_text = self.file.slice(field).to_string();
            let diagnostic =
                unknown_enum_value::diagnostic(literal.span, text, &field_text, values);
            self.report(diagnostic);
        }
    }

    /// The current file (for rules that report through the resolver).
    pub fn file(&self) -> &Arc<SourceFile> {
        &self.file
    }
}

/// The type of `a op b` for numbers: money stays money, whole numbers stay whole except by `/`.
fn arithmetic_result(op: BinaryOp, a: &Type, b: &Type) -> Type {
    use Type::*;
    match (a, b) {
        (Unknown, _) | (_, Unknown) => Unknown,
        (Money, _) | (_, Money) => Money,
        (Integer, Integer) if op != BinaryOp::Div => Integer,
        (Percent, Percent) if matches!(op, BinaryOp::Add | BinaryOp::Sub) => Percent,
        _ => Decimal,
    }
}
