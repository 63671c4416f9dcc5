#![doc = include_str!("../../../docs/lints/LL306.md")]

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, walk},
    diagnostic::{codes, Code, Diagnostic},
    source::Span,
    syntax::ast::{Direction, ExprKind, SyncStatement},
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
                let (SyncStatement::Mapping {
                    left,
                    direction,
                    right,
                }
                | SyncStatement::Link {
                    left,
                    direction,
                    right,
                }) = &statement.node
                else {
                    continue;
                };
                let targets = match direction.node {
                    Direction::LeftToRight => vec![right],
                    Direction::RightToLeft => vec![left],
                    Direction::Both => vec![left, right],
                };
                for target in targets {
                    let ExprKind::Path(segments) = &target.node else {
                        continue;
                    };
                    let [alias, field] = segments.as_slice() else {
                        continue;
                    };
                    let Some(side) = sides.iter().find(|s| s.system.node == alias.node) else {
                        continue;
                    };
                    if cx
                        .entity(&alias.node, &side.entity.node)
                        .and_then(|e| e.fields.get(&field.node))
                        .is_some_and(|f| f.read_only)
                    {
                        let owner = format!("{}.{}", alias.node, side.entity.node);
                        let mut d = diagnostic(target.span, &owner, &field.node);
                        if direction.node == Direction::Both {
                            d = d.help(format!(
                                "make it one-way so `{}` is only read: use `->` or `<-`",
                                field.node
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
