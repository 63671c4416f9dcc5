//! Expression typing for the resolver: paths, calls, operators, comparisons and the trigger
//! predicates. Each method infers a [`Type`] and reports what is wrong inside the expression.

use std::sync::Arc;

use crate::source::SourceFile;

use super::{Observed, Resolver};
use crate::{
    check::{
        context::literal_type,
        rules::{misplaced_statement, type_mismatch, unknown_enum_value, unknown_name},
        types::{assignable, comparable, Type},
    },
    diagnostic::Diagnostic,
    source::Span,
    syntax::ast::{BinaryOp, Expr, ExprKind, Ident, InterpolationPart, Literal, Spanned, UnaryOp},
};

impl Resolver<'_, '_> {
    pub(super) fn check_assignable(
        &mut self,
        field: &Type,
        value: &Type,
        value_span: Span,
        field_span: Span,
    ) {
        if let Err(mismatch) = assignable(field, value) {
            let text = self.file.slice(value_span).to_string();
            let diagnostic =
                type_mismatch::assignment(value_span, field_span, field, value, mismatch, &text);
            self.report(diagnostic);
        }
    }

    /// Types an expression that must be true or false.
    pub(super) fn condition(&mut self, expr: &Expr, why: &str) {
        let t = self.expr(expr);
        self.expect(&t, &Type::Bool, expr.span, why);
    }

    pub(super) fn expect(&mut self, actual: &Type, expected: &Type, at: Span, why: &str) {
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
    pub(super) fn observed(&mut self, field: &Expr) -> Type {
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
    pub(super) fn field_owner(&self, segments: &[Ident]) -> Option<(String, String, String)> {
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

    pub(super) fn lookup_scope(&self, name: &str) -> Option<Type> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
    }

    pub(super) fn path(&mut self, segments: &[Ident]) -> Type {
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
    pub(super) fn path_root(&mut self, segments: &[Ident]) -> (Type, usize) {
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
                    let diagnostic = crate::check::rules::unknown_setting::diagnostic(key, &keys);
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
                    let diagnostic = crate::check::rules::unknown_field::diagnostic(
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

    pub(super) fn unknown(&self, name: &Ident) -> Diagnostic {
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

    pub(super) fn index(&mut self, base: &Expr, index: &Expr) -> Type {
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

    pub(super) fn call(
        &mut self,
        receiver: Option<&Expr>,
        function: &Ident,
        args: &[Expr],
        at: Span,
    ) -> Type {
        let arg_types: Vec<Type> = args.iter().map(|a| self.expr(a)).collect();
        if let Some(receiver) = receiver {
            let receiver_type = self.expr(receiver);
            return match (&receiver_type, function.node.as_str()) {
                (Type::Part, "share") => {
                    if args.len() != 1 {
                        let diagnostic = crate::check::rules::wrong_argument_count::diagnostic(
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
                        crate::check::rules::unknown_function::method(function, &receiver_type);
                    self.report(diagnostic);
                    Type::Unknown
                }
            };
        }
        crate::check::functions::call_type(self, function, &arg_types, args, at)
    }

    pub(in crate::check) fn push_diagnostic(&mut self, diagnostic: Diagnostic) {
        self.report(diagnostic);
    }

    pub(super) fn binary(&mut self, op: &Spanned<BinaryOp>, left: &Expr, right: &Expr) -> Type {
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
    pub(super) fn compare(&mut self, a: &Type, b: &Type, left: &Expr, right: &Expr, at: Span) {
        if !comparable(a, b) {
            let diagnostic = type_mismatch::comparison(at, a, b);
            self.report(diagnostic);
            return;
        }
        self.enum_literal(a, left.span, right);
        self.enum_literal(b, right.span, left);
    }

    /// A text literal `literal` compared with or written into the choice field `field`.
    pub(super) fn enum_literal(&mut self, enum_type: &Type, field: Span, literal: &Expr) {
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
