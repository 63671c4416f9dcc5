//! Syntax: rule-file text → [`Ast`] with byte spans, plus syntax diagnostics. No semantics.
//!
//! The grammar lives alone in `grammar/ledgerlink.pest`; `build/` turns pest's pairs into
//! the AST with one builder function per grammar rule; `errors` renames grammar rules into
//! words a consultant reads. Nothing outside this module sees pest types.

pub mod ast;
mod build;
mod errors;
mod parser;

pub(crate) use build::is_valid_date;

use std::sync::Arc;

pub use ast::Ast;

use crate::{diagnostic::Diagnostic, source::SourceFile};

/// Parses one rule file. A file with a syntax error yields an empty AST and one diagnostic
/// pointing at where parsing stopped; the builder reports grammar-shape bugs as `LL900`.
pub fn parse(file: &Arc<SourceFile>) -> (Ast, Vec<Diagnostic>) {
    use pest::Parser as _;
    match parser::RuleParser::parse(parser::Rule::file, &file.text) {
        Ok(mut pairs) => {
            let mut builder = build::Builder::new(file);
            let ast = match pairs.next() {
                Some(pair) => builder.file(pair),
                None => Ast::default(),
            };
            (ast, builder.into_diagnostics())
        }
        Err(err) => (Ast::default(), vec![errors::syntax_error(file, &err)]),
    }
}

/// Parses a lone expression, e.g. a standard-library example such as `lower("ÅSE")`.
pub fn parse_expression(file: &Arc<SourceFile>) -> Result<ast::Expr, Vec<Diagnostic>> {
    use pest::Parser as _;
    match parser::RuleParser::parse(parser::Rule::expression_only, &file.text) {
        Ok(mut pairs) => {
            let mut builder = build::Builder::new(file);
            let expr = pairs.next().and_then(|pair| builder.expression_only(pair));
            let diagnostics = builder.into_diagnostics();
            match expr {
                Some(expr) if diagnostics.is_empty() => Ok(expr),
                _ => Err(diagnostics),
            }
        }
        Err(err) => Err(vec![errors::syntax_error(file, &err)]),
    }
}
