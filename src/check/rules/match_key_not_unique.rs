#![doc = include_str!("../../../docs/lints/LL305.md")]

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, walk},
    diagnostic::{codes, Code, Diagnostic},
    syntax::ast::{BinaryOp, Expr, ExprKind, SyncStatement},
};

/// An exact `match` on fields that are not unique: it can pair the wrong records.
pub struct MatchKeyNotUnique;

impl Rule for MatchKeyNotUnique {
    fn code(&self) -> &'static Code {
        &codes::MATCH_KEY_NOT_UNIQUE
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        for (file, sync) in walk::syncs(cx.project) {
            let sides = [&sync.node.left.node, &sync.node.right.node];
            for statement in &sync.node.statements {
                let SyncStatement::Match {
                    condition,
                    suggest: false,
                } = &statement.node
                else {
                    continue;
                };
                let ExprKind::Binary { op, left, right } = &condition.node else {
                    continue;
                };
                if op.node != BinaryOp::Eq {
                    continue;
                }
                let mut keys = Vec::new();
                for side in [left, right] {
                    if let Some((alias, field)) = key_field(side) {
                        if let Some(entity_ref) = sides.iter().find(|s| s.system.node == alias) {
                            if let Some(f) = cx
                                .entity(&alias, &entity_ref.entity.node)
                                .and_then(|e| e.fields.get(&field))
                            {
                                keys.push((side, alias, field, f.unique));
                            }
                        }
                    }
                }
                if !keys.is_empty() && keys.iter().all(|k| !k.3) {
                    let (side, alias, field, _) = &keys[0];
                    out.push(
                        Diagnostic::new(&codes::MATCH_KEY_NOT_UNIQUE, format!("`{alias}.{field}` is not unique, so this match can pair the wrong records"))
                            .primary(side.span, "not a unique key")
                            .help("match on a unique key (a number, VAT or organisation id), or add `suggest` so matches are only proposed")
                            .in_file(file),
                    );
                }
            }
        }
    }
}

/// The `alias.Field` inside a key expression such as `lower(crm.Email)`.
fn key_field(expr: &Expr) -> Option<(String, String)> {
    match &expr.node {
        ExprKind::Path(segments) if segments.len() == 2 => {
            Some((segments[0].node.clone(), segments[1].node.clone()))
        }
        ExprKind::Call { args, .. } if args.len() == 1 => key_field(&args[0]),
        ExprKind::Group(inner) => key_field(inner),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn names_are_not_unique_keys() {
        let bad =
            "sync s: crm.Organisation <-> erp.Debtor { match erp.Name == crm.OrganisationName }";
        assert!(lint_codes(bad).contains(&"LL305"));
        let fuzzy = "sync s: crm.Organisation <-> erp.Debtor { match similar(erp.Name, crm.OrganisationName) >= 0.85 suggest }";
        assert!(!lint_codes(fuzzy).contains(&"LL305"));
    }
}
