#![doc = include_str!("../../../docs/lints/LL402.md")]

use super::Rule;
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
            let record = flow_record(cx, &flow.node);
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
                if set.iter().any(|f| key_of(entity, f).finds_again())
                    || entity.idempotency.is_some()
                {
                    return;
                }
                let owner = format!("{}.{}", target.system.node, target.entity.node);
                let help = match external_refs(entity).first() {
                    Some(field) => {
                        let source = record.as_deref().unwrap_or("…");
                        format!(
                            "set an external reference the runtime can search for: `{field} = \"{}:{{{source}}}\"`",
                            flow.node.name.node
                        )
                    }
                    None => format!("{owner} has no external-reference field: use `upsert {owner} by <unique field> == …`"),
                };
                out.push(
                    diagnostic(write.kind.span, write.kind.node.keyword(), &owner)
                        .help(help)
                        .in_file(file),
                );
            });
        }
        for (file, sync) in walk::syncs(cx.project) {
            for statement in &sync.node.statements {
                let SyncStatement::Create { target, .. } = &statement.node else {
                    continue;
                };
                let sides = [&sync.node.left.node, &sync.node.right.node];
                let Some(side) = sides.iter().find(|s| s.system.node == target.node) else {
                    continue;
                };
                let Some(other) = sides.iter().find(|s| s.system.node != target.node) else {
                    continue;
                };
                let Some(entity) = cx.entity(&side.system.node, &side.entity.node) else {
                    continue;
                };
                let written = walk::fields_written_into(&sync.node.statements, &target.node);
                // After a crash the runtime searches the target by an exact match key: one hit
                // is the record it created, several become a suggestion, never a second create.
                let match_keys = match_fields(&sync.node.statements, &target.node);
                let found_again = entity.idempotency.is_some()
                    || written.iter().any(|f| key_of(entity, f).finds_again())
                    || match_keys.iter().any(|f| key_of(entity, f).searchable);
                if found_again {
                    continue;
                }
                let owner = format!("{}.{}", side.system.node, side.entity.node);
                let other_id = cx
                    .entity(&other.system.node, &other.entity.node)
                    .map_or("Id", |e| e.id.as_str());
                let help = match external_refs(entity).first() {
                    Some(field) => format!(
                        "write the other side's id into an external-reference field: `{}.{other_id} -> {}.{field}`, or add an exact `match` on a searchable field",
                        other.system.node, side.system.node
                    ),
                    None => format!("add an exact `match` on a searchable field of {owner}, so a retry finds the record it created"),
                };
                out.push(
                    diagnostic(statement.span, "create", &owner)
                        .help(help)
                        .in_file(file),
                );
            }
        }
    }
}

/// What a field offers for finding a record again.
struct Key {
    external_ref: bool,
    unique: bool,
    searchable: bool,
}

impl Key {
    /// An external reference, or a unique field the API can search by.
    fn finds_again(&self) -> bool {
        self.external_ref || (self.unique && self.searchable)
    }
}

/// The key properties of a field; `custom` stands for the entity's custom fields.
fn key_of(entity: &Entity, field: &str) -> Key {
    if field == "custom" {
        if let Some(custom) = &entity.custom_fields {
            return Key {
                external_ref: custom.external_ref,
                unique: custom.external_ref,
                searchable: custom.searchable,
            };
        }
    }
    entity.fields.get(field).map_or(
        Key {
            external_ref: false,
            unique: false,
            searchable: false,
        },
        |f| Key {
            external_ref: f.external_ref,
            unique: f.unique,
            searchable: f.searchable,
        },
    )
}

fn external_refs(entity: &Entity) -> Vec<&str> {
    entity
        .fields
        .iter()
        .filter(|(_, f)| f.external_ref && !f.read_only)
        .map(|(n, _)| n.as_str())
        .collect()
}

/// `winner.Quote.Number`: the record of a flow and its id field, for the suggested reference.
fn flow_record(cx: &Context<'_>, flow: &crate::syntax::ast::FlowBlock) -> Option<String> {
    flow.statements.iter().find_map(|s| match &s.node {
        crate::syntax::ast::Statement::On { source, .. } => {
            let (system, entity) = (&source.node.system.node, &source.node.entity.node);
            let id = cx.entity(system, entity).map_or("Id", |e| e.id.as_str());
            Some(format!("{system}.{entity}.{id}"))
        }
        _ => None,
    })
}

/// Fields of side `alias` used in exact `match` rules (`custom` for a custom field).
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
        ExprKind::Index { base, .. } => collect_paths(base, alias, out),
        ExprKind::Binary { left, right, .. } => {
            collect_paths(left, alias, out);
            collect_paths(right, alias, out);
        }
        ExprKind::Call { args, .. } => args.iter().for_each(|a| collect_paths(a, alias, out)),
        ExprKind::Group(inner) => collect_paths(inner, alias, out),
        _ => {}
    }
}

fn diagnostic(at: Span, keyword: &str, owner: &str) -> Diagnostic {
    Diagnostic::new(&codes::CREATE_NOT_FINDABLE, format!("`{keyword}` of {owner} cannot be found again after a crash"))
        .primary(at, "a retry could create a duplicate")
        .note("ledgerlink looks a record up by its external reference before sending it again, so nothing is sent twice")
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
        // A custom-field slot the profile marks as an external reference finds it again.
        let custom = r#"sync organisations: crm.Organisation <-> erp.Debtor {
          link crm.custom[1041] <- erp.Account
          crm.OrganisationName <-> erp.Name
          create crm when created }"#;
        assert!(
            !lint_codes(custom).contains(&"LL402"),
            "{:?}",
            lint_codes(custom)
        );
    }
}
