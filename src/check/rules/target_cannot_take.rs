#![doc = include_str!("../../../docs/lints/LL406.md")]

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, walk},
    connector::Entity,
    diagnostic::{codes, Code, Diagnostic},
    source::Span,
    syntax::ast::{Destination, Spanned, Statement},
};

/// `attach`, `settle` or `post … to` in a document whose target's profile says no way to send
/// it, so the document would fail at delivery.
pub struct TargetCannotTake;

impl Rule for TargetCannotTake {
    fn code(&self) -> &'static Code {
        &codes::TARGET_CANNOT_TAKE
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        for (file, flow) in walk::flows(cx.project) {
            walk::writes(&flow.node.statements, &mut |write| {
                let target = &write.target.node;
                let Some(entity) = cx.entity(&target.system.node, &target.entity.node) else {
                    return;
                };
                let name = format!("{}.{}", target.system.node, target.entity.node);
                let mut found = Vec::new();
                if let Some(destination) = &write.destination {
                    unreachable_destinations(entity, destination, &mut found);
                }
                own_statements(&write.body, &mut |statement| match &statement.node {
                    Statement::Attach(_) if entity.attachment.is_none() => found.push((
                        statement.span,
                        "`attach`".to_string(),
                        "its connector profile has no `attachment`".to_string(),
                    )),
                    Statement::Settle(_) if entity.settle.is_none() => found.push((
                        statement.span,
                        "`settle`".to_string(),
                        "its connector profile has no `settle`".to_string(),
                    )),
                    _ => {}
                });
                for (span, what, why) in found {
                    out.push(
                        Diagnostic::new(
                            &codes::TARGET_CANNOT_TAKE,
                            format!("{name} cannot take {what}: {why}"),
                        )
                        .primary(span, "would fail at delivery")
                        .secondary(write.target.span, "the document's target")
                        .help("remove it, write to an entity that can take it, or describe in the connector profile how the system takes it (docs/connectors.md)")
                        .in_file(file),
                    );
                }
            });
        }
    }
}

/// The statements of a document body, not those of documents written inside it.
fn own_statements<'a>(
    body: &'a [Spanned<Statement>],
    visit: &mut impl FnMut(&'a Spanned<Statement>),
) {
    for statement in body {
        visit(statement);
        if matches!(statement.node, Statement::Write(_) | Statement::Let { .. }) {
            continue;
        }
        for inner in walk::bodies(&statement.node) {
            own_statements(inner, visit);
        }
    }
}

/// Destinations the entity lists but cannot be sent to: without a `destination` field in
/// its profile, only its first destination is a plain save.
fn unreachable_destinations(
    entity: &Entity,
    destination: &Spanned<Destination>,
    found: &mut Vec<(Span, String, String)>,
) {
    match &destination.node {
        Destination::Word(word) => {
            let reachable = match &entity.destination {
                Some(spec) => spec.values.contains_key(&word.node),
                None => entity.destinations.first() == Some(&word.node),
            };
            // A destination the entity does not list at all is the resolver's finding.
            if !reachable && entity.destinations.contains(&word.node) {
                found.push((
                    word.span,
                    format!("`to {}`", word.node),
                    "its connector profile says how to send only to its first destination"
                        .to_string(),
                ));
            }
        }
        Destination::If {
            then, otherwise, ..
        } => {
            unreachable_destinations(entity, then, found);
            unreachable_destinations(entity, otherwise, found);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::{lint_codes_with_yaml, PROJECT};

    fn codes(rules: &str) -> Vec<&'static str> {
        let yaml = PROJECT.replacen(
            "systems:\n",
            "systems:\n  eco: { connector: economic, options: { journal: 7 }, auth: { app_secret_token: env:A, agreement_grant_token: env:B } }\n",
            1,
        );
        lint_codes_with_yaml(&yaml, rules)
    }

    #[test]
    fn settle_attach_and_destinations_need_the_profile_to_say_how() {
        let post = |dest: &str, extra: &str| {
            format!(
                "flow f {{ on winner.Quote post eco.JournalVoucher to {dest} {{ accountingYear = {{ year: \"2026\" }} {extra} }} }}"
            )
        };
        assert!(!codes(&post("inbox", "settle 1")).contains(&"LL406"));
        assert!(codes(&post("inbox", "attach \"JVBERg==\"")).contains(&"LL406"));
        let settle_party = "flow f { on winner.Quote create acc.Party { name = \"A\" settle 1 } }";
        assert!(codes(settle_party).contains(&"LL406"));
    }
}
