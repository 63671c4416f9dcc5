#![doc = include_str!("../../../docs/lints/LL402.md")]

use super::{missing_required_field::fields_written_into, Rule};
use crate::{
    check::{context::Context, resolve::Facts, walk},
    connector::Entity,
    diagnostic::{codes, Code, Diagnostic},
    source::Span,
    syntax::ast::{SyncStatement, WriteKind},
};

/// A create that could not be found again after a crash between "sent" and "recorded",
/// so a retry would create a duplicate.
pub struct CreateNotFindable;

impl Rule for CreateNotFindable {
    fn code(&self) -> &'static Code {
        &codes::CREATE_NOT_FINDABLE
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        for (file, flow) in walk::flows(cx.project) {
            walk::writes(&flow.node.statements, &mut |write| {
                if matches!(write.kind.node, WriteKind::Upsert | WriteKind::Ensure) {
                    return;
                }
                let target = &write.target.node;
                let Some(entity) = cx.entity(&target.system.node, &target.entity.node) else {
                    return;
                };
                let set: Vec<&str> = walk::assigned(&write.body)
                    .iter()
                    .map(|f| f.node.as_str())
                    .collect();
                if findable(entity, &set) {
                    return;
                }
                let owner = format!("{}.{}", target.system.node, target.entity.node);
                out.push(
                    diagnostic(write.kind.span, write.kind.node.keyword(), &owner, entity)
                        .in_file(file),
                );
            });
        }
        for (file, sync) in walk::syncs(cx.project) {
            for statement in &sync.node.statements {
                let SyncStatement::Create { target, .. } = &statement.node else {
                    continue;
                };
                let Some(side) = [&sync.node.left.node, &sync.node.right.node]
                    .into_iter()
                    .find(|s| s.system.node == target.node)
                else {
                    continue;
                };
                let Some(entity) = cx.entity(&side.system.node, &side.entity.node) else {
                    continue;
                };
                let written = fields_written_into(&sync.node.statements, &target.node);
                let set: Vec<&str> = written.iter().map(String::as_str).collect();
                // An exact match key on the created side finds the record again too.
                let match_keys = match_fields(&sync.node.statements, &target.node);
                // After a crash the runtime searches the target by the match key: one hit is the
                // record it created, several become a suggestion, never a second create.
                let searchable_key = match_keys.iter().any(|f| {
                    entity
                        .fields
                        .get(f)
                        .is_some_and(|x| x.searchable || x.unique)
                });
                if findable(entity, &set) || searchable_key {
                    continue;
                }
                let owner = format!("{}.{}", side.system.node, side.entity.node);
                out.push(diagnostic(statement.span, "create", &owner, entity).in_file(file));
            }
        }
    }
}

/// Has the rule a way to find the record again?
fn findable(entity: &Entity, set: &[&str]) -> bool {
    entity.idempotency.is_some()
        || set.iter().any(|f| {
            entity
                .fields
                .get(*f)
                .is_some_and(|x| x.external_ref || (x.unique && x.searchable))
        })
}

/// Fields of side `alias` used in exact `match` rules.
fn match_fields(
    statements: &[crate::syntax::ast::Spanned<SyncStatement>],
    alias: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    for s in statements {
        let SyncStatement::Match {
            condition,
            suggest: false,
        } = &s.node
        else {
            continue;
        };
        collect_paths(condition, alias, &mut out);
    }
    out
}

fn collect_paths(expr: &crate::syntax::ast::Expr, alias: &str, out: &mut Vec<String>) {
    use crate::syntax::ast::ExprKind;
    match &expr.node {
        ExprKind::Path(segments) if segments.len() == 2 && segments[0].node == alias => {
            out.push(segments[1].node.clone())
        }
        ExprKind::Binary { left, right, .. } => {
            collect_paths(left, alias, out);
            collect_paths(right, alias, out);
        }
        ExprKind::Call { args, .. } => args.iter().for_each(|a| collect_paths(a, alias, out)),
        ExprKind::Group(inner) => collect_paths(inner, alias, out),
        _ => {}
    }
}

fn diagnostic(at: Span, keyword: &str, owner: &str, entity: &Entity) -> Diagnostic {
    let refs: Vec<&str> = entity
        .fields
        .iter()
        .filter(|(_, f)| f.external_ref)
        .map(|(n, _)| n.as_str())
        .collect();
    let help = match refs.first() {
        Some(field) => format!(
            "set an external reference the runtime can search for, e.g. `{field} = \"myflow:{{source.Id}}\"`{}",
            if refs.len() > 1 { format!(" (also possible: {})", refs[1..].iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", ")) } else { String::new() }
        ),
        None => format!("{owner} has no external-reference field in its profile: use `upsert … by <unique field> == …` instead"),
    };
    Diagnostic::new(&codes::CREATE_NOT_FINDABLE, format!("`{keyword}` of {owner} cannot be found again after a crash"))
        .primary(at, "a retry could create a duplicate")
        .help(help)
        .note("ledgerlink looks a document up by its external reference before re-sending it, so nothing is sent twice")
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn a_create_needs_a_reference() {
        let bad = r#"flow f { on winner.Quote create acc.Sale { party = 1 } }"#;
        assert!(lint_codes(bad).contains(&"LL402"), "{:?}", lint_codes(bad));
        let good = r#"flow f { on winner.Quote create acc.Sale { party = 1 reference = "winner:{winner.Quote.Number}" } }"#;
        assert!(
            !lint_codes(good).contains(&"LL402"),
            "{:?}",
            lint_codes(good)
        );
    }
}
