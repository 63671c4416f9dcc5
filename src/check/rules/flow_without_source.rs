#![doc = include_str!("../../../docs/lints/LL405.md")]

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, walk},
    diagnostic::{codes, Code, Diagnostic},
    syntax::ast::Statement,
};

/// A flow with no `on`: nothing would ever start it.
pub struct FlowWithoutSource;

impl Rule for FlowWithoutSource {
    fn code(&self) -> &'static Code {
        &codes::FLOW_WITHOUT_SOURCE
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        for (file, flow) in walk::flows(cx.project) {
            if !flow
                .node
                .statements
                .iter()
                .any(|s| matches!(s.node, Statement::On { .. }))
            {
                out.push(
                    Diagnostic::new(
                        &codes::FLOW_WITHOUT_SOURCE,
                        format!("flow `{}` has no `on`", flow.node.name.node),
                    )
                    .primary(flow.node.name.span, "never starts")
                    .help(format!(
                        "say which records start it, e.g. `on {}`",
                        example_source(cx)
                    ))
                    .in_file(file),
                );
            }
        }
    }
}

/// `system.Entity` of the project's first system, for the help line.
fn example_source(cx: &Context<'_>) -> String {
    cx.systems
        .values()
        .find_map(|s| {
            Some(format!(
                "{}.{}",
                s.alias,
                s.profile.as_ref()?.entities.keys().next()?
            ))
        })
        .unwrap_or_else(|| "system.Entity".to_string())
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn flows_need_a_source() {
        assert!(lint_codes("flow f { since settings.from_date }").contains(&"LL405"));
        assert!(!lint_codes("flow f { on winner.Quote }").contains(&"LL405"));
    }
}
