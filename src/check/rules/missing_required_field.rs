#![doc = include_str!("../../../docs/lints/LL401.md")]

use super::Rule;
use crate::{
    check::{context::Context, lines_field, resolve::Facts, walk},
    connector::profile::Fields,
    diagnostic::{codes, Code, Diagnostic},
    source::Span,
    syntax::ast::{SyncStatement, WriteKind},
};

/// A document or record created without every field the target requires.
pub struct MissingRequiredField;

impl Rule for MissingRequiredField {
    fn code(&self) -> &'static Code {
        &codes::MISSING_REQUIRED_FIELD
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        for (file, flow) in walk::flows(cx.project) {
            walk::writes(&flow.node.statements, &mut |write| {
                if write.kind.node == WriteKind::Credit {
                    return;
                }
                let target = &write.target.node;
                let Some(entity) = cx.entity(&target.system.node, &target.entity.node) else {
                    return;
                };
                let mut set: Vec<&str> = walk::assigned(&write.body)
                    .iter()
                    .map(|f| f.node.as_str())
                    .collect();
                set.extend(write.keys.iter().map(|k| k.field.node.as_str()));
                let lines = walk::line_bodies(&write.body);
                if let Some((name, _)) = lines_field(entity) {
                    if !lines.is_empty() {
                        set.push(name);
                    }
                }
                let owner = format!("{}.{}", target.system.node, target.entity.node);
                if let Some(d) = missing(
                    required_of(&entity.fields),
                    &set,
                    write.kind.span,
                    &owner,
                    &|f| format!("{f} = …"),
                ) {
                    out.push(d.in_file(file));
                }
                if let Some((_, list)) = lines_field(entity) {
                    for (statement, body) in lines {
                        let line_set: Vec<&str> = walk::assigned(body)
                            .iter()
                            .map(|f| f.node.as_str())
                            .collect();
                        let required = required_of(&list.fields);
                        let keyword_end = file.slice(statement.span).find(['{', ' ']).unwrap_or(0);
                        let at =
                            Span::new(statement.span.start, statement.span.start + keyword_end);
                        if let Some(d) = missing(
                            required,
                            &line_set,
                            at,
                            &format!("a line of {owner}"),
                            &|f| format!("{f} = …"),
                        ) {
                            out.push(d.in_file(file));
                        }
                    }
                }
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
                let other = sides
                    .iter()
                    .find(|s| s.system.node != target.node)
                    .map_or("other", |s| s.system.node.as_str());
                let Some(entity) = cx.entity(&side.system.node, &side.entity.node) else {
                    continue;
                };
                let set = walk::fields_written_into(&sync.node.statements, &target.node);
                let owner = format!("{}.{}", side.system.node, side.entity.node);
                if let Some(d) = missing(
                    required_of(&entity.fields),
                    &set,
                    statement.span,
                    &owner,
                    &|f| format!("{other}.… -> {}.{f}", side.system.node),
                ) {
                    out.push(d.in_file(file));
                }
            }
        }
    }
}

/// Each field with whether a create must set it (required and not set by the system).
fn required_of(fields: &Fields) -> impl Iterator<Item = (&str, bool)> {
    fields
        .iter()
        .map(|(n, f)| (n.as_str(), f.required && !f.read_only))
}

/// How the help line shows a rule that sets field `f`.
type Example<'e> = &'e dyn Fn(&str) -> String;

fn missing<'a>(
    fields: impl Iterator<Item = (&'a str, bool)>,
    set: &[&str],
    at: Span,
    owner: &str,
    example: Example<'_>,
) -> Option<Diagnostic> {
    let absent: Vec<&str> = fields
        .filter(|(n, required)| *required && !set.contains(n))
        .map(|(n, _)| n)
        .collect();
    if absent.is_empty() {
        return None;
    }
    let list = absent
        .iter()
        .map(|f| format!("`{f}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let example = absent
        .iter()
        .map(|f| format!("`{}`", example(f)))
        .collect::<Vec<_>>()
        .join(", ");
    Some(
        Diagnostic::new(
            &codes::MISSING_REQUIRED_FIELD,
            format!("{owner} requires {list}, which this rule does not set"),
        )
        .primary(at, "created without required fields")
        .help(format!("add {example}")),
    )
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn create_without_required_fields() {
        let bad = r#"flow f { on winner.Quote create acc.Sale { reference = "x" } }"#;
        assert!(lint_codes(bad).contains(&"LL401"), "{:?}", lint_codes(bad));
    }
}
