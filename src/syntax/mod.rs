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

#[cfg(test)]
mod tests {
    use super::{ast::*, parse};
    use crate::source::SourceFile;

    fn flow_statements(text: &str) -> Vec<Statement> {
        let (ast, diagnostics) = parse(&SourceFile::new("t.rules", text));
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        match ast.items.into_iter().next() {
            Some(Item::Flow(flow)) => flow.node.statements.into_iter().map(|s| s.node).collect(),
            other => panic!("not a flow: {other:?}"),
        }
    }

    #[test]
    fn a_by_clause_takes_several_keys() {
        let statements =
            flow_statements("flow f { on a.B upsert c.D by x == 1 and y == a.B.z { } }");
        let Statement::Write(write) = &statements[1] else {
            panic!("{statements:?}")
        };
        let keys: Vec<&str> = write.keys.iter().map(|k| k.field.node.as_str()).collect();
        assert_eq!(keys, ["x", "y"]);
    }

    #[test]
    fn a_when_block_right_after_on_is_a_conditional() {
        let statements = flow_statements("flow f { on a.B\n when a.B.x == 1 { } }");
        assert!(matches!(statements[0], Statement::On { trigger: None, .. }));
        assert!(matches!(statements[1], Statement::When { .. }));
    }

    #[test]
    fn records_are_values_outside_lists() {
        let statements =
            flow_statements("flow f { on a.B create c.D { refs = { other: \"x\", n: 1 } } }");
        let Statement::Write(write) = &statements[1] else {
            panic!()
        };
        let Statement::Assign { value, .. } = &write.body[0].node else {
            panic!()
        };
        assert!(matches!(&value.node, ExprKind::Record(fields) if fields.len() == 2));
    }
}
