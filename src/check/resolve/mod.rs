//! Name resolution and type inference over one rule file.
//!
//! Walks every block with a scope of names (`let`, split parts, loop items, groups) and a
//! *subject* (the entity whose fields bare names refer to), infers a [`Type`] for every
//! expression, and reports unknown names (`LL1xx`), type mismatches (`LL2xx`) and statements
//! in the wrong place (`LL002`). The facts later rules need (which fields a trigger observes)
//! are collected in [`Facts`].

mod expr;

use std::sync::Arc;

use super::{
    context::Context,
    rules::{misplaced_statement, type_mismatch, unknown_field, unknown_name},
    types::Type,
};
use crate::{
    connector::Entity,
    diagnostic::Diagnostic,
    source::{SourceFile, Span},
    syntax::ast::{
        ConflictPolicy, Destination, Direction, EntityRef, Ident, Item, Schedule, Spanned,
        Statement, SyncStatement, TableSource, Trigger, WriteKind,
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
            None if found.open => Type::Unknown,
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
}
