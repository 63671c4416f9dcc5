#![doc = include_str!("../../../docs/lints/LL306.md")]

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, walk},
    diagnostic::{codes, Code, Diagnostic},
    source::Span,
    syntax::ast::{Direction, SyncStatement},
};

/// A rule that writes a field the target system sets itself.
pub struct ReadOnlyFieldWritten;

impl Rule for ReadOnlyFieldWritten {
    fn code(&self) -> &'static Code {
        &codes::READ_ONLY_FIELD_WRITTEN
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        for (file, flow) in walk::flows(cx.project) {
            walk::writes(&flow.node.statements, &mut |write| {
                let target = &write.target.node;
                let Some(entity) = cx.entity(&target.system.node, &target.entity.node) else {
                    return;
                };
                for field in walk::assigned(&write.body) {
                    if entity.fields.get(&field.node).is_some_and(|f| f.read_only) {
                        out.push(
                            diagnostic(
                                field.span,
                                &format!("{}.{}", target.system.node, target.entity.node),
                                &field.node,
                            )
                            .in_file(file),
                        );
                    }
                }
            });
        }
        for (file, sync) in walk::syncs(cx.project) {
            let sides = [&sync.node.left.node, &sync.node.right.node];
            for statement in &sync.node.statements {
                let both = matches!(&statement.node, SyncStatement::Mapping { direction, .. } | SyncStatement::Link { direction, .. } if direction.node == Direction::Both);
                for target in walk::written_sides(&statement.node) {
                    let Some((alias, field)) = walk::side_field(target) else {
                        continue;
                    };
                    let Some(side) = sides.iter().find(|s| s.system.node == alias) else {
                        continue;
                    };
                    if cx
                        .entity(alias, &side.entity.node)
                        .and_then(|e| e.fields.get(field))
                        .is_some_and(|f| f.read_only)
                    {
                        let owner = format!("{alias}.{}", side.entity.node);
                        let mut d = diagnostic(target.span, &owner, field);
                        if both {
                            d = d.help(format!(
                                "make it one-way so `{field}` is only read: use `->` or `<-`"
                            ));
                        }
                        out.push(d.in_file(file));
                    }
                }
            }
        }
    }
}

fn diagnostic(at: Span, owner: &str, field: &str) -> Diagnostic {
    Diagnostic::new(
        &codes::READ_ONLY_FIELD_WRITTEN,
        format!("`{field}` of {owner} is set by the system and cannot be written"),
    )
    .primary(at, "read-only field")
    .help("remove this rule, or read the field instead of writing it")
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn ids_are_read_only() {
        let bad =
            r#"flow f { on winner.Quote create acc.Sale { id = 1 reference = "x" party = 1 } }"#;
        assert!(lint_codes(bad).contains(&"LL306"), "{:?}", lint_codes(bad));
    }
}
