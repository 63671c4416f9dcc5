//! Builders for `flow` blocks and document bodies.

use pest::iterators::Pair;

use super::{children, span, Builder};
use crate::syntax::{
    ast::{Destination, FlowBlock, KeyEq, Schedule, Spanned, Statement, Write, WriteKind},
    parser::Rule,
};

impl Builder<'_> {
    /// `flow_block = { "flow" ~ ident ~ "{" ~ stmt* ~ "}" }`
    pub(super) fn flow_block(&mut self, pair: Pair<'_, Rule>) -> Spanned<FlowBlock> {
        let at = span(&pair);
        let mut inner = children(pair);
        let name = self.next_ident(&mut inner, at);
        let statements = inner.filter_map(|p| self.stmt(p)).collect();
        Spanned::new(FlowBlock { name, statements }, at)
    }

    /// `body = { "{" ~ stmt* ~ "}" }`
    fn body(&mut self, pair: Pair<'_, Rule>) -> Vec<Spanned<Statement>> {
        children(pair).filter_map(|p| self.stmt(p)).collect()
    }

    /// The trailing `body` child, if present.
    fn body_of(&mut self, pair: Option<Pair<'_, Rule>>) -> Vec<Spanned<Statement>> {
        pair.filter(|p| p.as_rule() == Rule::body)
            .map(|p| self.body(p))
            .unwrap_or_default()
    }

    /// One statement of a flow or a document body.
    fn stmt(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<Statement>> {
        let at = span(&pair);
        let original = pair.clone();
        let rule = pair.as_rule();
        let mut inner = children(pair);
        let statement = match rule {
            Rule::on_stmt => {
                let source = self.next_entity_ref(&mut inner, at);
                let trigger = inner.next().map(|p| self.trigger(p));
                Statement::On { source, trigger }
            }
            Rule::since_stmt => {
                Statement::Since(self.next_expr(&mut inner, at, "a date after `since`"))
            }
            Rule::schedule_stmt => {
                let clause = self.next(&mut inner, at, "`every` or `cron`")?;
                let clause_at = span(&clause);
                let is_every = clause.as_rule() == Rule::schedule_every;
                let mut clause_inner = children(clause);
                let value = self.next_expr(&mut clause_inner, clause_at, "a schedule");
                Statement::Schedule(if is_every {
                    Schedule::Every(value)
                } else {
                    Schedule::Cron(value)
                })
            }
            Rule::amend_stmt => Statement::Amend(self.next_ident(&mut inner, at)),
            Rule::let_stmt => {
                let name = self.next_ident(&mut inner, at);
                let value_pair = self.next(&mut inner, at, "a value")?;
                let value = if value_pair.as_rule() == Rule::expr {
                    let value_at = span(&value_pair);
                    Spanned::new(Statement::Value(self.expr(value_pair)), value_at)
                } else {
                    self.stmt(value_pair)?
                };
                Statement::Let {
                    name,
                    value: Box::new(value),
                }
            }
            Rule::upsert_stmt
            | Rule::ensure_stmt
            | Rule::create_stmt
            | Rule::credit_stmt
            | Rule::post_stmt => {
                let kind = match rule {
                    Rule::upsert_stmt => WriteKind::Upsert,
                    Rule::ensure_stmt => WriteKind::Ensure,
                    Rule::create_stmt => WriteKind::Create,
                    Rule::credit_stmt => WriteKind::Credit,
                    _ => WriteKind::Post,
                };
                let keyword_end = at.start + kind.keyword().len();
                let kind = Spanned::new(kind, crate::source::Span::new(at.start, keyword_end));
                let target = self.next_entity_ref(&mut inner, at);
                let mut write = Write {
                    kind,
                    target,
                    keys: Vec::new(),
                    credit_for: None,
                    destination: None,
                    body: Vec::new(),
                };
                for part in inner {
                    match part.as_rule() {
                        Rule::by_clause => write.keys = self.by_clause(part),
                        Rule::body => write.body = self.body(part),
                        Rule::destination => write.destination = Some(self.destination(part)),
                        _ => write.credit_for = Some(self.expr(part)),
                    }
                }
                Statement::Write(write)
            }
            Rule::split_stmt => {
                let amount = self.next_expr(&mut inner, at, "the amount to split");
                let plan = self.next_expr(&mut inner, at, "a payment plan");
                let part = self.next_ident(&mut inner, at);
                let body = self.body_of(inner.next());
                Statement::Split {
                    amount,
                    plan,
                    part,
                    body,
                }
            }
            Rule::when_stmt => {
                let condition = self.next_expr(&mut inner, at, "a condition");
                let then = self.body_of(inner.next());
                let otherwise = inner.find(|p| p.as_rule() != Rule::kw_else).map(|p| {
                    if p.as_rule() == Rule::when_stmt {
                        self.stmt(p).into_iter().collect()
                    } else {
                        self.body(p)
                    }
                });
                Statement::When {
                    condition,
                    then,
                    otherwise,
                }
            }
            Rule::require_stmt => {
                let condition = self.next_expr(&mut inner, at, "a condition");
                let message_pair = inner.find(|p| p.as_rule() == Rule::string);
                let message = match message_pair {
                    Some(p) => self.string(p),
                    None => self.next_expr(&mut inner, at, "a message"),
                };
                Statement::Require { condition, message }
            }
            Rule::settle_stmt => {
                Statement::Settle(self.next_expr(&mut inner, at, "what to settle"))
            }
            Rule::attach_stmt => {
                Statement::Attach(self.next_expr(&mut inner, at, "what to attach"))
            }
            Rule::line_stmt => Statement::Line(self.body_of(inner.next())),
            Rule::lines_for => {
                let item = self.next_ident(&mut inner, at);
                let mut rest = inner.filter(|p| p.as_rule() != Rule::kw_in);
                let list = self.next_expr(&mut rest, at, "a list");
                let body = self.body_of(rest.next());
                Statement::LinesFor { item, list, body }
            }
            Rule::lines_group => {
                let list = self.next_expr(&mut inner, at, "a list of lines");
                let key = self.next_ident(&mut inner, at);
                let group = self.next_ident(&mut inner, at);
                let body = self.body_of(inner.next());
                Statement::LinesGroup {
                    list,
                    key,
                    group,
                    body,
                }
            }
            Rule::assignment => {
                let field = self.next_ident(&mut inner, at);
                let value = self.next_expr(&mut inner, at, "a value");
                Statement::Assign { field, value }
            }
            _ => {
                self.bug(&original, "a statement");
                return None;
            }
        };
        Some(Spanned::new(statement, at))
    }

    /// `by_clause = { "by" ~ key_eq ~ (kw_and ~ key_eq)* }`
    fn by_clause(&mut self, pair: Pair<'_, Rule>) -> Vec<KeyEq> {
        let mut keys = Vec::new();
        for key in children(pair).filter(|p| p.as_rule() == Rule::key_eq) {
            let at = span(&key);
            let mut inner = children(key);
            let field = self.next_ident(&mut inner, at);
            let value = self.next_expr(&mut inner, at, "a key value");
            keys.push(KeyEq { field, value });
        }
        keys
    }

    /// `destination = { dest_if | dest_word | expr }`
    fn destination(&mut self, pair: Pair<'_, Rule>) -> Spanned<Destination> {
        let at = span(&pair);
        let Some(inner) = self.next(&mut children(pair), at, "a destination") else {
            return Spanned::new(Destination::Word(Spanned::new("ledger".into(), at)), at);
        };
        let inner_at = span(&inner);
        match inner.as_rule() {
            Rule::dest_word => Spanned::new(
                Destination::Word(Spanned::new(inner.as_str().to_string(), inner_at)),
                at,
            ),
            Rule::dest_if => {
                let mut parts = children(inner).filter(|p| p.as_rule() != Rule::kw_else);
                let condition = self.next_expr(&mut parts, at, "a condition");
                let mut branch = |b: &mut Self| match parts.next() {
                    Some(p) => b.destination(p),
                    None => {
                        b.missing(at, "a destination");
                        Spanned::new(Destination::Word(Spanned::new("ledger".into(), at)), at)
                    }
                };
                let then = branch(self);
                let otherwise = branch(self);
                Spanned::new(
                    Destination::If {
                        condition,
                        then: Box::new(then),
                        otherwise: Box::new(otherwise),
                    },
                    at,
                )
            }
            _ => Spanned::new(Destination::Expr(self.expr(inner)), at),
        }
    }
}
