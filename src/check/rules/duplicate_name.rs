#![doc = include_str!("../../../docs/lints/LL108.md")]

use std::collections::HashMap;

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, walk},
    diagnostic::{codes, Code, Diagnostic},
    source::{SourceFile, Span},
    syntax::ast::Statement,
};

/// Two blocks, or two `let`s in one flow, with the same name.
pub struct DuplicateName;

impl Rule for DuplicateName {
    fn code(&self) -> &'static Code {
        &codes::DUPLICATE_NAME
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        let mut blocks: HashMap<String, (std::sync::Arc<SourceFile>, Span)> = HashMap::new();
        for rule_file in &cx.project.rules {
            for item in &rule_file.ast.items {
                let name = item.name();
                if let Some((first_file, first)) = blocks.get(&name.node) {
                    let mut d = Diagnostic::new(
                        &codes::DUPLICATE_NAME,
                        format!("`{}` is defined twice", name.node),
                    )
                    .primary(name.span, "second definition")
                    .help("give every sync, flow, view and table its own name");
                    if first_file.name == rule_file.source.name {
                        d = d.secondary(*first, "first definition");
                    } else {
                        d = d.note(format!("first defined in {}", first_file.name));
                    }
                    out.push(d.in_file(&rule_file.source));
                } else {
                    blocks.insert(name.node.clone(), (rule_file.source.clone(), name.span));
                }
            }
        }
        for (file, flow) in walk::flows(cx.project) {
            let mut lets: HashMap<&str, Span> = HashMap::new();
            walk::statements(&flow.node.statements, &mut |s| {
                let Statement::Let { name, .. } = &s.node else {
                    return;
                };
                if let Some(first) = lets.get(name.node.as_str()) {
                    out.push(
                        Diagnostic::new(
                            &codes::DUPLICATE_NAME,
                            format!("`{}` is bound twice in this flow", name.node),
                        )
                        .primary(name.span, "second `let`")
                        .secondary(*first, "first `let`")
                        .help("use a different name for the second value")
                        .in_file(file),
                    );
                } else {
                    lets.insert(&name.node, name.span);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn two_flows_with_one_name() {
        assert!(
            lint_codes("flow f { on winner.Quote } flow f { on winner.Quote }").contains(&"LL108")
        );
    }
}
