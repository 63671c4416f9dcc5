#![doc = include_str!("../../../docs/lints/LL301.md")]

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, walk},
    diagnostic::{codes, Code, Diagnostic},
    syntax::ast::{Direction, Expr, ExprKind, SyncStatement},
};

/// `lower(crm.Email) <-> erp.Email`: a two-way rule cannot run backwards through a function
/// without an inverse.
pub struct TwoWayOverExpression;

impl Rule for TwoWayOverExpression {
    fn code(&self) -> &'static Code {
        &codes::TWO_WAY_OVER_EXPRESSION
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        for (file, sync) in walk::syncs(cx.project) {
            for statement in &sync.node.statements {
                let SyncStatement::Mapping {
                    left,
                    direction,
                    right,
                } = &statement.node
                else {
                    continue;
                };
                if direction.node != Direction::Both {
                    continue;
                }
                for (side, other) in [(left, right), (right, left)] {
                    if let Some(function) = non_invertible(side) {
                        let field = innermost_path(side).map_or(side.span, |p| p.span);
                        out.push(
                            diagnostic(
                                side,
                                other,
                                &function,
                                [
                                    file.slice(side.span),
                                    file.slice(other.span),
                                    file.slice(field),
                                ],
                            )
                            .in_file(file),
                        );
                    }
                }
            }
        }
    }
}

/// The name of the first function without an inverse in a two-way side, or a description
/// of the expression when it is not a call at all.
fn non_invertible(side: &Expr) -> Option<String> {
    match &side.node {
        ExprKind::Path(_) | ExprKind::Index { .. } => None,
        ExprKind::Group(inner) => non_invertible(inner),
        ExprKind::Call {
            receiver: None,
            function,
            args,
        } => {
            let inverse = crate::stdlib::lookup(&function.node).and_then(|f| f.inverse);
            match (inverse, args.as_slice()) {
                (Some(_), [only]) => non_invertible(only),
                _ => Some(format!("`{}`", function.node)),
            }
        }
        _ => Some("this expression".to_string()),
    }
}

fn diagnostic(
    side: &Expr,
    other: &Expr,
    function: &str,
    [side_text, other_text, field]: [&str; 3],
) -> Diagnostic {
    Diagnostic::new(
        &codes::TWO_WAY_OVER_EXPRESSION,
        format!("a two-way rule cannot run backwards through {function}"),
    )
    .primary(side.span, format!("{function} has no inverse"))
    .secondary(other.span, "changes here could not be written back")
    .help(format!(
        "write two one-way rules: `{side_text} -> {other_text}` and `{field} <- {other_text}`"
    ))
}

/// The field path inside `f(g(path))`, used to suggest the reverse one-way rule.
fn innermost_path(expr: &Expr) -> Option<&Expr> {
    match &expr.node {
        ExprKind::Path(_) => Some(expr),
        ExprKind::Group(inner) => innermost_path(inner),
        ExprKind::Call { args, .. } => args.first().and_then(innermost_path),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn lower_is_not_invertible_but_country_code_is() {
        let bad =
            "sync s: crm.Organisation <-> erp.Debtor { lower(crm.OrganisationName) <-> erp.Name }";
        assert!(lint_codes(bad).contains(&"LL301"));
        let good = "sync s: crm.Organisation <-> erp.Debtor { crm.OrganisationName <-> erp.Name }";
        assert!(!lint_codes(good).contains(&"LL301"));
    }
}
