#![doc = include_str!("../../../docs/lints/LL403.md")]

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, walk},
    diagnostic::{codes, Code, Diagnostic},
    eval::{evaluate_constant, Value},
    syntax::ast::Statement,
};

/// A `when` whose condition is fixed, so one branch never runs.
pub struct UnreachableBranch;

impl Rule for UnreachableBranch {
    fn code(&self) -> &'static Code {
        &codes::UNREACHABLE_BRANCH
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        for (file, flow) in walk::flows(cx.project) {
            walk::statements(&flow.node.statements, &mut |s| {
                let Statement::When {
                    condition,
                    then,
                    otherwise,
                } = &s.node
                else {
                    return;
                };
                // `today()` folds to the date lint runs on; a finding must not depend on it.
                if walk::calls(condition, "today") {
                    return;
                }
                let Ok(Value::Bool(value)) = evaluate_constant(condition) else {
                    return;
                };
                let dead = if value {
                    otherwise.as_ref().and_then(|o| o.first()).map(|f| f.span)
                } else {
                    then.first().map(|f| f.span).or(Some(condition.span))
                };
                let Some(dead) = dead else { return };
                out.push(
                    Diagnostic::new(
                        &codes::UNREACHABLE_BRANCH,
                        format!("this condition is always {value}"),
                    )
                    .primary(condition.span, format!("always {value}"))
                    .secondary(dead, "so this never runs")
                    .help("compare with a field or a setting, or remove the branch that cannot run")
                    .in_file(file),
                );
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn constant_conditions() {
        assert!(lint_codes(
            r#"flow f { on winner.Quote since settings.from_date when 1 > 2 { } }"#
        )
        .contains(&"LL403"));
        assert!(!lint_codes(r#"flow f { on winner.Quote since settings.from_date when settings.line_mode == "summary" { } }"#).contains(&"LL403"));
        // Folding today() would make the finding depend on the day lint runs.
        let dated =
            r#"flow f { on winner.Quote since settings.from_date when today() > 2020-01-01 { } }"#;
        assert!(!lint_codes(dated).contains(&"LL403"));
    }
}
