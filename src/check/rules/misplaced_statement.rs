#![doc = include_str!("../../../docs/lints/LL002.md")]

use crate::{
    diagnostic::{codes, Diagnostic},
    source::Span,
    syntax::ast::{Spanned, Statement, WriteKind},
};

/// Checks that a statement stands where it means something: flow-level statements in a
/// flow, field assignments and lines inside a document.
pub fn check(statement: &Spanned<Statement>, in_flow: bool, in_line: bool) -> Option<Diagnostic> {
    use Statement::*;
    let at = statement.span;
    let flow_only = matches!(
        statement.node,
        On { .. } | Since(_) | Schedule(_) | Amend(_) | Split { .. } | Require { .. }
    ) || matches!(&statement.node, Write(w) if w.kind.node != WriteKind::Ensure);
    let document_only = matches!(
        statement.node,
        Assign { .. } | Line(_) | LinesFor { .. } | LinesGroup { .. } | Attach(_) | Settle(_)
    );
    if in_flow && document_only {
        return Some(
            Diagnostic::new(
                &codes::MISPLACED_STATEMENT,
                "this belongs inside a document",
            )
            .primary(at, "outside any `create`, `upsert`, `post` …")
            .help(
                "put it inside the braces of the document it fills, e.g. `create acc.Order { … }`",
            ),
        );
    }
    if !in_flow && flow_only && !matches!(statement.node, Split { .. }) {
        return Some(
            Diagnostic::new(
                &codes::MISPLACED_STATEMENT,
                "this belongs directly in the flow",
            )
            .primary(at, "inside a document body")
            .help("move it out of the document's braces"),
        );
    }
    if in_line
        && matches!(
            statement.node,
            Line(_) | LinesFor { .. } | LinesGroup { .. } | Attach(_) | Settle(_)
        )
    {
        return Some(
            Diagnostic::new(&codes::MISPLACED_STATEMENT, "lines cannot be nested")
                .primary(at, "inside a line")
                .help("a line holds field assignments only"),
        );
    }
    None
}

/// A second `on` in one flow.
pub fn second_on(at: Span, first: Span) -> Diagnostic {
    Diagnostic::new(&codes::MISPLACED_STATEMENT, "a flow listens to one source")
        .primary(at, "second `on`")
        .secondary(first, "first `on`")
        .help("write a second flow for the other source")
}

/// `becomes`/`changed` outside a trigger.
pub fn predicate_outside_trigger(at: Span, word: &str) -> Diagnostic {
    Diagnostic::new(&codes::MISPLACED_STATEMENT, format!("`{word}` only works in a trigger"))
        .primary(at, "not in `on … when` or `create … when`")
        .help("compare with `==` here; `becomes` and `changed` compare with the previous snapshot of a record")
}

/// `line`/`lines` in a document whose entity has no lines.
pub fn no_lines(at: Span, entity: &str) -> Diagnostic {
    Diagnostic::new(
        &codes::MISPLACED_STATEMENT,
        format!("{entity} has no lines"),
    )
    .primary(at, "lines of a document without lines")
    .help("set the entity's fields directly, or write to an entity with a list of lines")
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn assignment_outside_a_document() {
        assert!(lint_codes("flow f { on winner.Quote Name = 1 }").contains(&"LL002"));
        assert!(lint_codes(r#"flow f { on winner.Quote on winner.Quote }"#).contains(&"LL002"));
    }

    #[test]
    fn becomes_outside_a_trigger() {
        let codes = lint_codes(
            r#"flow f { on winner.Quote require winner.Quote.Status becomes "Accepted" else "x" }"#,
        );
        assert!(codes.contains(&"LL002"), "{codes:?}");
    }
}
