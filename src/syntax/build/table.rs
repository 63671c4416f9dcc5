//! Builders for `table` blocks.

use pest::iterators::Pair;

use super::{children, span, Builder};
use crate::syntax::{
    ast::{ExprKind, Literal, Spanned, TableBlock, TableEntry, TableKey, TableSource},
    parser::Rule,
};

impl Builder<'_> {
    /// `table_block = { "table" ~ ident ~ (table_csv | table_inline) }`
    pub(super) fn table_block(&mut self, pair: Pair<'_, Rule>) -> Spanned<TableBlock> {
        let at = span(&pair);
        let mut inner = children(pair);
        let name = self.next_ident(&mut inner, at);
        let source = match inner.next() {
            Some(p) if p.as_rule() == Rule::table_csv => {
                let csv_at = span(&p);
                let mut parts = children(p);
                let path = match self.next(&mut parts, csv_at, "a file name") {
                    Some(s) => {
                        let s_at = span(&s);
                        match self.string(s).node {
                            ExprKind::Literal(Literal::Text(t)) => Spanned::new(t, s_at),
                            _ => Spanned::new(String::new(), s_at),
                        }
                    }
                    None => Spanned::new(String::new(), csv_at),
                };
                let key = parts.next().map(|p| self.ident(p));
                let value = parts.next().map(|p| self.ident(p));
                TableSource::Csv { path, key, value }
            }
            Some(p) => {
                let entries = children(p).map(|e| self.table_entry(e)).collect();
                TableSource::Inline { entries }
            }
            None => {
                self.missing(at, "the table's rows");
                TableSource::Inline {
                    entries: Vec::new(),
                }
            }
        };
        Spanned::new(TableBlock { name, source }, at)
    }

    /// `table_entry = { table_key ~ ("|" ~ table_key)* ~ "=>" ~ expr }`
    fn table_entry(&mut self, pair: Pair<'_, Rule>) -> Spanned<TableEntry> {
        let at = span(&pair);
        let mut keys = Vec::new();
        let mut value = None;
        for part in children(pair) {
            if part.as_rule() == Rule::table_key {
                let key_at = span(&part);
                let key = match children(part).next() {
                    Some(k) if k.as_rule() == Rule::wildcard => TableKey::Wildcard,
                    Some(k) if k.as_rule() == Rule::string => match self.string(k).node {
                        ExprKind::Literal(l) => TableKey::Literal(l),
                        _ => TableKey::Literal(Literal::Null),
                    },
                    Some(k) => TableKey::Literal(self.literal(&k)),
                    None => TableKey::Wildcard,
                };
                keys.push(Spanned::new(key, key_at));
            } else {
                value = Some(self.expr(part));
            }
        }
        let value = value.unwrap_or_else(|| {
            self.missing(at, "a value");
            Spanned::new(ExprKind::Literal(Literal::Null), at)
        });
        Spanned::new(TableEntry { keys, value }, at)
    }
}
