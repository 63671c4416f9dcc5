//! Builds the AST from pest's pairs: one function per grammar rule, named after it, split
//! into one file per top-level construct.
//!
//! A pair whose shape the grammar guarantees but which is still wrong is a bug in
//! ledgerlink; it becomes an `LL900` diagnostic naming the rule, never a panic.

mod expr;
mod flow;
mod sync;
mod table;
mod view;

pub(crate) use expr::is_valid_date;

use std::sync::Arc;

use pest::iterators::Pair;

use super::{
    ast::{Ast, EntityRef, Ident, Item, Spanned},
    parser::Rule,
};
use crate::{
    diagnostic::{codes, Diagnostic},
    source::{SourceFile, Span},
};

/// Accumulates diagnostics while building.
pub(crate) struct Builder<'f> {
    file: &'f Arc<SourceFile>,
    diagnostics: Vec<Diagnostic>,
}

impl<'f> Builder<'f> {
    pub(crate) fn new(file: &'f Arc<SourceFile>) -> Self {
        Builder {
            file,
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    /// `file = { SOI ~ item* ~ EOI }`
    pub(crate) fn file(&mut self, pair: Pair<'_, Rule>) -> Ast {
        let mut items = Vec::new();
        for item in children(pair) {
            let built = match item.as_rule() {
                Rule::sync_block => Some(Item::Sync(self.sync_block(item))),
                Rule::flow_block => Some(Item::Flow(self.flow_block(item))),
                Rule::view_block => Some(Item::View(self.view_block(item))),
                Rule::table_block => Some(Item::Table(self.table_block(item))),
                Rule::EOI => None,
                _ => {
                    self.bug(&item, "a block");
                    None
                }
            };
            items.extend(built);
        }
        Ast { items }
    }

    /// `expression_only = { SOI ~ expr ~ EOI }`
    pub(crate) fn expression_only(
        &mut self,
        pair: Pair<'_, Rule>,
    ) -> Option<crate::syntax::ast::Expr> {
        let at = span(&pair);
        let inner = children(pair).find(|p| p.as_rule() == Rule::expr);
        match inner {
            Some(p) => Some(self.expr(p)),
            None => {
                self.missing(at, "an expression");
                None
            }
        }
    }

    /// Records an internal error for a pair of unexpected shape.
    fn bug(&mut self, pair: &Pair<'_, Rule>, expected: &str) {
        self.diagnostics.push(
            Diagnostic::new(
                &codes::INTERNAL_ERROR,
                format!(
                    "internal error: expected {expected}, found grammar rule `{:?}`",
                    pair.as_rule()
                ),
            )
            .in_file(self.file)
            .primary(span(pair), "while reading this")
            .help("this is a bug in ledgerlink; please report it with the file"),
        );
    }

    /// Records an internal error for a missing child.
    fn missing(&mut self, at: Span, expected: &str) {
        self.diagnostics.push(
            Diagnostic::new(
                &codes::INTERNAL_ERROR,
                format!("internal error: missing {expected}"),
            )
            .in_file(self.file)
            .primary(at, "while reading this")
            .help("this is a bug in ledgerlink; please report it with the file"),
        );
    }

    /// Takes the next child, reporting an internal error when it is absent.
    fn next<'i>(
        &mut self,
        pairs: &mut impl Iterator<Item = Pair<'i, Rule>>,
        at: Span,
        expected: &str,
    ) -> Option<Pair<'i, Rule>> {
        let next = pairs.next();
        if next.is_none() {
            self.missing(at, expected);
        }
        next
    }

    /// `ident`: strips the backticks of a quoted name.
    fn ident(&mut self, pair: Pair<'_, Rule>) -> Ident {
        let text = pair.as_str();
        let name = text
            .strip_prefix('`')
            .and_then(|t| t.strip_suffix('`'))
            .unwrap_or(text);
        Spanned::new(name.to_string(), span(&pair))
    }

    /// The next child as an identifier, or an empty placeholder after an internal error.
    fn next_ident<'i>(
        &mut self,
        pairs: &mut impl Iterator<Item = Pair<'i, Rule>>,
        at: Span,
    ) -> Ident {
        match self.next(pairs, at, "a name") {
            Some(pair) => self.ident(pair),
            None => Spanned::new(String::new(), at),
        }
    }

    /// `entity_ref = ${ ident ~ "." ~ ident }`
    fn entity_ref(&mut self, pair: Pair<'_, Rule>) -> Spanned<EntityRef> {
        let at = span(&pair);
        let mut inner = children(pair);
        let system = self.next_ident(&mut inner, at);
        let entity = self.next_ident(&mut inner, at);
        Spanned::new(EntityRef { system, entity }, at)
    }

    fn next_entity_ref<'i>(
        &mut self,
        pairs: &mut impl Iterator<Item = Pair<'i, Rule>>,
        at: Span,
    ) -> Spanned<EntityRef> {
        match self.next(pairs, at, "an entity") {
            Some(pair) => self.entity_ref(pair),
            None => Spanned::new(
                EntityRef {
                    system: Spanned::new(String::new(), at),
                    entity: Spanned::new(String::new(), at),
                },
                at,
            ),
        }
    }
}

/// The children of a pair without keyword and punctuation tokens, which carry no information.
fn children(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_keyword(p.as_rule()))
}

fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::t_open
            | Rule::t_close
            | Rule::t_colon
            | Rule::t_both
            | Rule::t_assign
            | Rule::k_amend
            | Rule::k_as
            | Rule::k_attach
            | Rule::k_before
            | Rule::k_by
            | Rule::k_columns
            | Rule::k_conflict
            | Rule::k_create
            | Rule::k_credit
            | Rule::k_cron
            | Rule::k_csv
            | Rule::k_delete
            | Rule::k_ensure
            | Rule::k_every
            | Rule::k_exists
            | Rule::k_find
            | Rule::k_flow
            | Rule::k_for
            | Rule::k_from
            | Rule::k_group
            | Rule::k_hold
            | Rule::k_if
            | Rule::k_key
            | Rule::k_let
            | Rule::k_line
            | Rule::k_lines
            | Rule::k_link
            | Rule::k_linked
            | Rule::k_match
            | Rule::k_on
            | Rule::k_order
            | Rule::k_post
            | Rule::k_prefer
            | Rule::k_require
            | Rule::k_schedule
            | Rule::k_settle
            | Rule::k_since
            | Rule::k_split
            | Rule::k_sync
            | Rule::k_table
            | Rule::k_then
            | Rule::k_to
            | Rule::k_upsert
            | Rule::k_value
            | Rule::k_view
            | Rule::k_when
            | Rule::k_where
            | Rule::k_while
    )
}

/// The byte span of a pair, ending at its last token: pest leaves the whitespace and
/// comments after a rule that ends in `?` or `*` inside the rule's span.
fn span(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.start() + code_len(s.as_str()))
}

/// Length of `text` without trailing whitespace and trailing `#` comments.
fn code_len(text: &str) -> usize {
    let mut end = text.trim_end().len();
    loop {
        let line_start = text[..end].rfind('\n').map_or(0, |n| n + 1);
        match comment_start(&text[line_start..end]) {
            Some(at) => end = text[..line_start + at].trim_end().len(),
            None => return end,
        }
    }
}

/// Where a `#` comment starts in one line, skipping `#` inside double-quoted text.
fn comment_start(line: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::code_len;

    #[test]
    fn spans_end_at_the_last_token() {
        assert_eq!(code_len("since x  # why\n  \n"), "since x".len());
        assert_eq!(code_len("a = \"#1\"\n"), "a = \"#1\"".len());
        assert_eq!(code_len("b # one\n# two\n"), 1);
    }
}
