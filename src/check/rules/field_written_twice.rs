#![doc = include_str!("../../../docs/lints/LL302.md")]

use std::collections::HashMap;

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, walk},
    diagnostic::{codes, Code, Diagnostic},
    source::{SourceFile, Span},
    syntax::ast::{Spanned, Statement},
};

/// Two rules writing the same field: which one wins would depend on order.
pub struct FieldWrittenTwice;

impl Rule for FieldWrittenTwice {
    fn code(&self) -> &'static Code {
        &codes::FIELD_WRITTEN_TWICE
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        for (file, sync) in walk::syncs(cx.project) {
            let mut written: HashMap<String, Span> = HashMap::new();
            for statement in &sync.node.statements {
                for target in walk::written_sides(&statement.node) {
                    let key = normalise(file.slice(target.span));
                    record(&mut written, key, target.span, file, out);
                }
            }
        }
        for (file, flow) in walk::flows(cx.project) {
            let mut lists: Vec<&[Spanned<Statement>]> = Vec::new();
            walk::statements(&flow.node.statements, &mut |s| {
                lists.extend(walk::bodies(&s.node))
            });
            for body in lists {
                let mut written: HashMap<String, Span> = HashMap::new();
                for field in direct_assignments(body) {
                    record(&mut written, field.node.clone(), field.span, file, out);
                }
            }
        }
    }
}

/// Assignments of one body: its own, and those in `when` branches (each branch may set a
/// field the other also sets, but not one the body itself already sets).
fn direct_assignments(body: &[Spanned<Statement>]) -> Vec<&Spanned<String>> {
    let mut own: Vec<&Spanned<String>> = body
        .iter()
        .filter_map(|s| match &s.node {
            Statement::Assign { field, .. } => Some(field),
            _ => None,
        })
        .collect();
    for s in body {
        if let Statement::When {
            then, otherwise, ..
        } = &s.node
        {
            let mut branch_fields: Vec<&Spanned<String>> = walk::assigned(then);
            if let Some(o) = otherwise {
                for f in walk::assigned(o) {
                    if !branch_fields.iter().any(|b| b.node == f.node) {
                        branch_fields.push(f);
                    }
                }
            }
            own.extend(branch_fields);
        }
    }
    own
}

fn normalise(text: &str) -> String {
    text.split_whitespace().collect()
}

fn record(
    written: &mut HashMap<String, Span>,
    key: String,
    at: Span,
    file: &std::sync::Arc<SourceFile>,
    out: &mut Vec<Diagnostic>,
) {
    match written.get(&key) {
        Some(first) => out.push(
            Diagnostic::new(
                &codes::FIELD_WRITTEN_TWICE,
                format!("`{key}` is written twice"),
            )
            .primary(at, "written again here")
            .secondary(*first, "first written here")
            .help("keep one rule per field; combine the values with `??` or `if … then … else …`")
            .in_file(file),
        ),
        None => {
            written.insert(key, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn two_rules_into_one_field() {
        let bad = "sync s: crm.Organisation <-> erp.Debtor { crm.OrganisationName -> erp.Name  crm.OrganisationCity -> erp.Name }";
        assert!(lint_codes(bad).contains(&"LL302"));
        let good = "sync s: crm.Organisation <-> erp.Debtor { crm.OrganisationName -> erp.Name  crm.OrganisationCity -> erp.City }";
        assert!(!lint_codes(good).contains(&"LL302"));
    }
}
