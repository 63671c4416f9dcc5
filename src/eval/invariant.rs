//! Search filters with their record-independent parts evaluated once per search.
//!
//! `find acc.Customer where email == lower(trim(shop.Order.email))` runs its filter once per
//! candidate record, but only `email` reads the candidate: the right-hand side, a setting's
//! comparison in an `if`, a table lookup of the order's field are the same for every
//! candidate. [`fold_invariants`] evaluates such parts once, before the scan, and puts their
//! values into the filter as literals, so the scan compares fields with values.
//!
//! The folded filter means exactly what the original does: only pure expressions are
//! folded (bindings, settings, the flow's record, tables, operators and the standard
//! library, all fixed while a search runs), a part whose evaluation fails is left in place
//! so the error surfaces where and when it did before (an `and` may never reach it), and a
//! value no literal can hold (a list, a record, a duration) is left to be evaluated as before.

use std::borrow::Cow;

use chrono::Datelike;

use super::{record::evaluate, Env, Value};
use crate::{plan::PlanExpr, syntax::ast::Literal};

/// `filter` with every maximal part that does not read the candidate record replaced by its
/// value, and every `if` whose condition is such a part replaced by the branch it takes.
/// Borrows `filter` when nothing could be folded.
pub fn fold_invariants<'f>(filter: &'f PlanExpr, env: &Env) -> Cow<'f, PlanExpr> {
    let folded = fold(filter, env);
    if folded.invariant {
        if let Some(literal) = literal_of(&folded.expr, env) {
            return Cow::Owned(literal);
        }
    }
    folded.expr
}

/// A part of a filter after folding, and whether it is the same for every candidate.
struct Folded<'f> {
    expr: Cow<'f, PlanExpr>,
    invariant: bool,
}

impl<'f> Folded<'f> {
    fn kept(expr: &'f PlanExpr, invariant: bool) -> Self {
        Folded {
            expr: Cow::Borrowed(expr),
            invariant,
        }
    }
}

fn fold<'f>(expr: &'f PlanExpr, env: &Env) -> Folded<'f> {
    match expr {
        PlanExpr::Literal { .. }
        | PlanExpr::Var { .. }
        | PlanExpr::Setting { .. }
        | PlanExpr::Record { .. }
        | PlanExpr::Side { .. } => Folded::kept(expr, true),
        // The candidate itself, and what reads records other than by plain paths: a nested
        // search has a candidate of its own, `becomes`/`changed` read the snapshot.
        PlanExpr::Field { .. }
        | PlanExpr::Find { .. }
        | PlanExpr::Exists { .. }
        | PlanExpr::Becomes { .. }
        | PlanExpr::Changed { .. } => Folded::kept(expr, false),
        PlanExpr::If {
            condition,
            then,
            otherwise,
        } => {
            let condition_folded = fold(condition, env);
            if condition_folded.invariant {
                // Only `true` and `null` decide (as `if` reads them); anything else is the
                // type error evaluation reports, left for the scan to report.
                match evaluate(condition, env) {
                    Ok(Value::Bool(true)) => return fold(then, env),
                    Ok(Value::Bool(false) | Value::Null) => return fold(otherwise, env),
                    _ => {}
                }
            }
            rebuild(
                expr,
                vec![condition_folded, fold(then, env), fold(otherwise, env)],
                env,
            )
        }
        PlanExpr::Text { parts }
        | PlanExpr::List { items: parts }
        | PlanExpr::Call { args: parts, .. } => {
            rebuild(expr, parts.iter().map(|p| fold(p, env)).collect(), env)
        }
        PlanExpr::RecordLiteral { fields } => rebuild(
            expr,
            fields.iter().map(|(_, value)| fold(value, env)).collect(),
            env,
        ),
        PlanExpr::Lookup { key, .. } => rebuild(expr, vec![fold(key, env)], env),
        PlanExpr::Index { base, index } => {
            rebuild(expr, vec![fold(base, env), fold(index, env)], env)
        }
        PlanExpr::Member { base, .. } => rebuild(expr, vec![fold(base, env)], env),
        PlanExpr::Method { receiver, args, .. } => rebuild(
            expr,
            std::iter::once(receiver.as_ref())
                .chain(args)
                .map(|p| fold(p, env))
                .collect(),
            env,
        ),
        PlanExpr::Unary { operand, .. } => rebuild(expr, vec![fold(operand, env)], env),
        PlanExpr::Binary { left, right, .. } => {
            rebuild(expr, vec![fold(left, env), fold(right, env)], env)
        }
    }
}

/// `expr` with its direct sub-expressions (in the order [`fold`] lists them) replaced by
/// their folded forms; invariant as a whole when every one of them is. An invariant part of
/// a varying node becomes a literal where it can.
fn rebuild<'f>(expr: &'f PlanExpr, children: Vec<Folded<'f>>, env: &Env) -> Folded<'f> {
    if children.iter().all(|c| c.invariant) {
        return Folded::kept(expr, true);
    }
    let changed = children.iter().any(|c| {
        matches!(c.expr, Cow::Owned(_))
            || (c.invariant && !matches!(c.expr.as_ref(), PlanExpr::Literal { .. }))
    });
    if !changed {
        return Folded::kept(expr, false);
    }
    let mut parts = children.into_iter().map(|child| {
        if child.invariant {
            if let Some(literal) = literal_of(&child.expr, env) {
                return literal;
            }
        }
        child.expr.into_owned()
    });
    let mut next = || parts.next().expect("one folded part per sub-expression");
    let boxed = |e: PlanExpr| Box::new(e);
    let rebuilt = match expr {
        PlanExpr::If { .. } => PlanExpr::If {
            condition: boxed(next()),
            then: boxed(next()),
            otherwise: boxed(next()),
        },
        PlanExpr::Text { parts } => PlanExpr::Text {
            parts: parts.iter().map(|_| next()).collect(),
        },
        PlanExpr::List { items } => PlanExpr::List {
            items: items.iter().map(|_| next()).collect(),
        },
        PlanExpr::Call { function, args } => PlanExpr::Call {
            function: function.clone(),
            args: args.iter().map(|_| next()).collect(),
        },
        PlanExpr::RecordLiteral { fields } => PlanExpr::RecordLiteral {
            fields: fields
                .iter()
                .map(|(name, _)| (name.clone(), next()))
                .collect(),
        },
        PlanExpr::Lookup { table, .. } => PlanExpr::Lookup {
            table: table.clone(),
            key: boxed(next()),
        },
        PlanExpr::Index { .. } => PlanExpr::Index {
            base: boxed(next()),
            index: boxed(next()),
        },
        PlanExpr::Member { field, .. } => PlanExpr::Member {
            base: boxed(next()),
            field: field.clone(),
        },
        PlanExpr::Method { method, args, .. } => PlanExpr::Method {
            receiver: boxed(next()),
            method: method.clone(),
            args: args.iter().map(|_| next()).collect(),
        },
        PlanExpr::Unary { op, .. } => PlanExpr::Unary {
            op: *op,
            operand: boxed(next()),
        },
        PlanExpr::Binary { op, .. } => PlanExpr::Binary {
            op: *op,
            left: boxed(next()),
            right: boxed(next()),
        },
        // Leaves have no parts; `fold` never rebuilds them.
        other => other.clone(),
    };
    Folded {
        expr: Cow::Owned(rebuilt),
        invariant: false,
    }
}

/// The literal of `expr`'s value, when it evaluates and a literal can hold the value.
fn literal_of(expr: &PlanExpr, env: &Env) -> Option<PlanExpr> {
    if let PlanExpr::Literal { .. } = expr {
        return None;
    }
    let value = match evaluate(expr, env).ok()? {
        Value::Null => Literal::Null,
        Value::Bool(b) => Literal::Bool(b),
        Value::Text(text) => Literal::Text(text),
        Value::Number(number) => Literal::Number(number),
        Value::Percent(number) => Literal::Percent(number),
        // Four-digit years only: that is what a date literal reads back.
        Value::Date(date) if (0..=9999).contains(&date.year()) => {
            Literal::Date(date.format("%Y-%m-%d").to_string())
        }
        Value::Date(_) | Value::Duration(_) | Value::List(_) | Value::Record(_) => return None,
    };
    Some(PlanExpr::Literal { value })
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use indexmap::IndexMap;
    use serde_json::json;

    use super::*;
    use crate::{
        eval::record::NoCollections,
        plan::EntityRef,
        syntax::ast::{BinaryOp, Literal},
    };

    fn field(name: &str) -> Box<PlanExpr> {
        Box::new(PlanExpr::Field {
            path: vec![name.into()],
        })
    }

    fn text(value: &str) -> Box<PlanExpr> {
        Box::new(PlanExpr::Literal {
            value: Literal::Text(value.into()),
        })
    }

    fn binary(op: BinaryOp, left: Box<PlanExpr>, right: Box<PlanExpr>) -> Box<PlanExpr> {
        Box::new(PlanExpr::Binary { op, left, right })
    }

    fn call(function: &str, args: Vec<PlanExpr>) -> Box<PlanExpr> {
        Box::new(PlanExpr::Call {
            function: function.into(),
            args,
        })
    }

    fn order_email() -> Box<PlanExpr> {
        Box::new(PlanExpr::Record {
            path: vec!["email".into()],
        })
    }

    /// Folds `filter` against an order whose e-mail is ` Ann@Example.DK ` and settings that
    /// identify customers by e-mail.
    fn folded(filter: &PlanExpr) -> PlanExpr {
        let settings: IndexMap<String, serde_json::Value> =
            [("customer_identity".to_string(), json!("email"))]
                .into_iter()
                .collect();
        let order = json!({ "email": " Ann@Example.DK ", "phone": "12 34 56 78" });
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).expect("date");
        let mut env = Env::new(&settings, &[], &NoCollections, today);
        env.record = Some(&order);
        fold_invariants(filter, &env).into_owned()
    }

    #[test]
    fn the_customer_search_compares_a_field_with_a_value() {
        // if settings.customer_identity == "phone" then mobilePhone == phone(order.phone, "+45")
        // else email == lower(trim(order.email))
        let filter = PlanExpr::If {
            condition: binary(
                BinaryOp::Eq,
                Box::new(PlanExpr::Setting {
                    key: "customer_identity".into(),
                    path: Vec::new(),
                }),
                text("phone"),
            ),
            then: binary(
                BinaryOp::Eq,
                field("mobilePhone"),
                call(
                    "phone",
                    vec![
                        PlanExpr::Record {
                            path: vec!["phone".into()],
                        },
                        *text("+45"),
                    ],
                ),
            ),
            otherwise: binary(
                BinaryOp::Eq,
                field("email"),
                call("lower", vec![*call("trim", vec![*order_email()])]),
            ),
        };
        assert_eq!(
            folded(&filter),
            *binary(BinaryOp::Eq, field("email"), text("ann@example.dk"))
        );
    }

    #[test]
    fn a_part_that_fails_stays_for_the_scan_to_report() {
        // email == order.email / 0: dividing text fails; the scan must still meet the error.
        let failing = binary(BinaryOp::Div, order_email(), text("0"));
        let filter = binary(BinaryOp::Eq, field("email"), failing);
        assert_eq!(folded(&filter), *filter);
    }

    #[test]
    fn a_condition_that_is_not_a_bool_keeps_its_if() {
        // `if order.email then a else b`: a type error for every candidate, as before.
        let filter = PlanExpr::If {
            condition: order_email(),
            then: field("a"),
            otherwise: field("b"),
        };
        let PlanExpr::If {
            condition,
            then,
            otherwise,
        } = folded(&filter)
        else {
            panic!("the `if` is kept");
        };
        assert_eq!(*condition, *text(" Ann@Example.DK "));
        assert_eq!((then, otherwise), (field("a"), field("b")));
    }

    #[test]
    fn nested_searches_keep_their_own_candidate() {
        let nested = PlanExpr::Exists {
            entity: EntityRef {
                system: "acc".into(),
                entity: "Contact".into(),
            },
            filter: Some(binary(BinaryOp::Eq, field("email"), order_email())),
        };
        let filter = binary(BinaryOp::And, Box::new(nested), field("active"));
        assert_eq!(folded(&filter), *filter);
    }

    #[test]
    fn a_filter_that_reads_no_candidate_is_one_value() {
        let filter = binary(BinaryOp::Eq, order_email(), text(" Ann@Example.DK "));
        assert_eq!(
            folded(&filter),
            PlanExpr::Literal {
                value: Literal::Bool(true)
            }
        );
    }
}
