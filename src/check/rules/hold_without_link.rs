#![doc = include_str!("../../../docs/lints/LL303.md")]

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, walk},
    diagnostic::{codes, Code, Diagnostic},
    syntax::ast::SyncStatement,
};

/// `hold … while linked` in a sync whose records can never become linked.
pub struct HoldWithoutLink;

impl Rule for HoldWithoutLink {
    fn code(&self) -> &'static Code {
        &codes::HOLD_WITHOUT_LINK
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        for (file, sync) in walk::syncs(cx.project) {
            let links = sync.node.statements.iter().any(|s| {
                matches!(
                    s.node,
                    SyncStatement::Link { .. }
                        | SyncStatement::Match { suggest: false, .. }
                        | SyncStatement::Create { .. }
                )
            });
            if links {
                continue;
            }
            for statement in &sync.node.statements {
                if matches!(statement.node, SyncStatement::Hold { .. }) {
                    out.push(
                        Diagnostic::new(&codes::HOLD_WITHOUT_LINK, "`hold … while linked` in a sync that never links records")
                            .primary(statement.span, "never applies")
                            .secondary(sync.node.name.span, "this sync has no `link`, `match` or `create`")
                            .help("say how records are paired: `link` (writes the partner's id back), an exact `match`, or `create … when …`")
                            .in_file(file),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn hold_needs_a_way_to_link() {
        let bad = r#"sync s: crm.Organisation <-> erp.Debtor { hold crm.OrganisationType = "Customer" while linked }"#;
        assert!(lint_codes(bad).contains(&"LL303"));
        let good = r#"sync s: crm.Organisation <-> erp.Debtor { link crm.OrganisationName <- erp.Account hold crm.OrganisationType = "Customer" while linked }"#;
        assert!(!lint_codes(good).contains(&"LL303"));
    }
}
