//! `ledgerlink fmt`: prints a rule file in the one canonical layout.
//!
//! The layout: two-space indentation; one statement, entry or clause per line; a blank line
//! between top-level blocks; blank lines between statements kept (at most one); bodies over
//! several lines, `{}` when empty; single spaces around operators and arrows (no column
//! alignment); parentheses only where written; names in backticks only when they must be;
//! strings re-escaped; numbers as written; no line is ever broken for width.
//!
//! Every comment is kept, once, next to what it was next to: an own-line comment before
//! the statement, entry or block it preceded; a comment ending a statement's line after it,
//! two spaces before the `#`; a comment after a `{` after that `{`; a comment before a `}`
//! inside the block; a comment between the parts of one statement on its own line before
//! that statement.
//!
//! Formatting never changes meaning: the syntax tree of the output equals the input's,
//! spans aside, and formatting twice gives the same text as formatting once.

mod blocks;
mod comments;
mod expr;
mod printer;

use std::sync::Arc;

pub use comments::{comments, Comment};

use crate::{diagnostic::Diagnostic, source::SourceFile, syntax};

/// Formats a rule file. A file with a syntax error is not formatted: the error is the
/// parser's diagnostics.
pub fn format_source(file: &Arc<SourceFile>) -> Result<String, Vec<Diagnostic>> {
    let (ast, diagnostics) = syntax::parse(file);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(diagnostics);
    }
    let mut printer = printer::Printer::new(&file.text, comments::scan(&file.text));
    printer.file(&ast);
    Ok(printer.finish())
}
