#![doc = include_str!("../../../docs/lints/LL202.md")]

use rust_decimal::Decimal;
use serde_yaml_ng::Value as Yaml;

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, walk},
    diagnostic::{codes, Code, Diagnostic},
    source::Span,
    syntax::ast::{Expr, ExprKind, Literal, Statement},
};

/// Split plans whose shares do not add up to 100 %.
pub struct SplitSharesNot100;

impl Rule for SplitSharesNot100 {
    fn code(&self) -> &'static Code {
        &codes::SPLIT_SHARES_NOT_100
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        for (file, flow) in walk::flows(cx.project) {
            walk::statements(&flow.node.statements, &mut |s| {
                let Statement::Split { plan, .. } = &s.node else {
                    return;
                };
                if let Some(total) = plan_total(cx, plan) {
                    if total != Decimal::ONE_HUNDRED {
                        out.push(diagnostic(plan.span, total).in_file(file));
                    }
                }
            });
        }
    }
}

/// The sum of a plan's shares in percent, when it is known before running.
pub fn plan_total(cx: &Context<'_>, plan: &Expr) -> Option<Decimal> {
    match &plan.node {
        ExprKind::List(items) => items.iter().map(literal_share).sum(),
        ExprKind::Path(segments) if segments.len() == 2 && segments[0].node == "settings" => {
            let Yaml::Sequence(items) = cx.setting_value(&segments[1].node)? else {
                return None;
            };
            items.iter().map(yaml_share).sum()
        }
        _ => None,
    }
}

fn literal_share(item: &Expr) -> Option<Decimal> {
    match &item.node {
        ExprKind::Literal(Literal::Percent(p)) => Some(*p),
        ExprKind::Record(fields) => fields
            .iter()
            .find(|(n, _)| n.node == "share")
            .and_then(|(_, v)| literal_share(v)),
        _ => None,
    }
}

/// `20%` or `{ share: 20% }` in a YAML setting.
pub fn yaml_share(item: &Yaml) -> Option<Decimal> {
    match item {
        Yaml::String(s) => s.trim().strip_suffix('%')?.trim().parse().ok(),
        Yaml::Mapping(map) => yaml_share(map.get("share")?),
        _ => None,
    }
}

fn diagnostic(at: Span, total: Decimal) -> Diagnostic {
    Diagnostic::new(
        &codes::SPLIT_SHARES_NOT_100,
        format!(
            "the payment plan's shares add up to {}%, not 100%",
            total.normalize()
        ),
    )
    .primary(at, format!("shares total {}%", total.normalize()))
    .help("adjust the shares so they add up to exactly 100%, e.g. 20% + 80%")
    .note("a split must hand out the whole amount, to the øre")
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn literal_plans_must_total_100() {
        let bad = "flow f { on winner.Quote split winner.Quote.Total by [20%, 70%] as part { } }";
        assert!(lint_codes(bad).contains(&"LL202"));
        let good = "flow f { on winner.Quote split winner.Quote.Total by [20%, 80%] as part { } }";
        assert!(!lint_codes(good).contains(&"LL202"));
        let setting = "flow f { on winner.Quote split winner.Quote.Total by settings.payment_plan as part { } }";
        assert!(!lint_codes(setting).contains(&"LL202"));
    }
}
