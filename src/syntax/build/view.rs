//! Builders for `view` blocks.

use pest::iterators::Pair;

use super::{children, span, Builder};
use crate::syntax::{
    ast::{OrderKey, Spanned, ViewBlock, ViewColumn},
    parser::Rule,
};

impl Builder<'_> {
    /// `view_block = { "view" ~ ident ~ "for" ~ entity_ref ~ "{" ~ view_stmt* ~ "}" }`
    pub(super) fn view_block(&mut self, pair: Pair<'_, Rule>) -> Spanned<ViewBlock> {
        let at = span(&pair);
        let mut inner = children(pair);
        let name = self.next_ident(&mut inner, at);
        let subject = self.next_entity_ref(&mut inner, at);
        let mut view = ViewBlock {
            name,
            subject,
            from: None,
            filter: None,
            columns: Vec::new(),
            order: Vec::new(),
            clause_spans: Vec::new(),
        };
        for clause in inner {
            let clause_at = span(&clause);
            match clause.as_rule() {
                Rule::view_from => {
                    view.clause_spans.push(("from".into(), clause_at));
                    let mut parts = children(clause);
                    view.from = Some(self.next_entity_ref(&mut parts, clause_at));
                    view.filter = parts.next().map(|w| self.where_clause(w));
                }
                Rule::view_columns => {
                    view.clause_spans.push(("columns".into(), clause_at));
                    for column in children(clause) {
                        let column_at = span(&column);
                        let mut parts = children(column);
                        let name = self.next_ident(&mut parts, column_at);
                        let value = parts.next().map(|p| self.expr(p));
                        view.columns.push(ViewColumn { name, value });
                    }
                }
                Rule::view_order => {
                    view.clause_spans.push(("order by".into(), clause_at));
                    for key in children(clause) {
                        let key_at = span(&key);
                        let mut parts = children(key);
                        let column = self.next_ident(&mut parts, key_at);
                        let descending = parts.next().is_some_and(|d| d.as_str() == "desc");
                        view.order.push(OrderKey { column, descending });
                    }
                }
                _ => self.bug(&clause, "`from`, `columns` or `order by`"),
            }
        }
        Spanned::new(view, at)
    }
}
