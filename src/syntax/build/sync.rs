//! Builders for `sync` blocks.

use pest::iterators::Pair;

use super::{children, span, Builder};
use crate::source::Span;
use crate::syntax::{
    ast::{ConflictPolicy, Direction, Event, Spanned, SyncBlock, SyncStatement, Trigger},
    parser::Rule,
};

impl Builder<'_> {
    /// `sync_block = { "sync" ~ ident ~ ":" ~ entity_ref ~ "<->" ~ entity_ref ~ "{" ~ sync_stmt* ~ "}" }`
    pub(super) fn sync_block(&mut self, pair: Pair<'_, Rule>) -> Spanned<SyncBlock> {
        let at = span(&pair);
        let mut inner = children(pair);
        let name = self.next_ident(&mut inner, at);
        let left = self.next_entity_ref(&mut inner, at);
        let right = self.next_entity_ref(&mut inner, at);
        let statements = inner.filter_map(|p| self.sync_stmt(p)).collect();
        Spanned::new(
            SyncBlock {
                name,
                left,
                right,
                statements,
            },
            at,
        )
    }

    fn sync_stmt(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<SyncStatement>> {
        let at = span(&pair);
        let rule = pair.as_rule();
        let original = pair.clone();
        let mut inner = children(pair);
        let statement = match rule {
            Rule::link_stmt | Rule::mapping => {
                let left = self.next_expr(&mut inner, at, "the left side");
                let direction = self.arrow(inner.next(), at);
                let right = self.next_expr(&mut inner, at, "the right side");
                if rule == Rule::link_stmt {
                    SyncStatement::Link {
                        left,
                        direction,
                        right,
                    }
                } else {
                    SyncStatement::Mapping {
                        left,
                        direction,
                        right,
                    }
                }
            }
            Rule::match_stmt => {
                let condition = self.next_expr(&mut inner, at, "a match condition");
                SyncStatement::Match {
                    condition,
                    suggest: inner.next().is_some(),
                }
            }
            Rule::create_when => {
                let target = self.next_ident(&mut inner, at);
                let trigger = match self.next(&mut inner, at, "a trigger") {
                    Some(p) => self.trigger(p),
                    None => return None,
                };
                SyncStatement::Create { target, trigger }
            }
            Rule::hold_stmt => {
                let field = self.next_expr(&mut inner, at, "the held field");
                let value = self.next_expr(&mut inner, at, "the held value");
                SyncStatement::Hold { field, value }
            }
            Rule::require_fields => SyncStatement::Require {
                fields: inner.map(|p| self.expr(p)).collect(),
            },
            Rule::conflict_stmt => {
                let policy = self.next(&mut inner, at, "a conflict policy")?;
                match policy.as_rule() {
                    Rule::conflict_prefer => {
                        let system = self.next_ident(&mut children(policy), at);
                        SyncStatement::Conflict(ConflictPolicy::Prefer { system })
                    }
                    _ => SyncStatement::Conflict(ConflictPolicy::Newest),
                }
            }
            Rule::delete_policy => SyncStatement::OnDelete(self.next_ident(&mut inner, at)),
            _ => {
                self.bug(&original, "a sync statement");
                return None;
            }
        };
        Some(Spanned::new(statement, at))
    }

    fn arrow(&mut self, pair: Option<Pair<'_, Rule>>, at: Span) -> Spanned<Direction> {
        let Some(pair) = pair else {
            self.missing(at, "an arrow");
            return Spanned::new(Direction::Both, at);
        };
        let direction = match pair.as_str() {
            "->" => Direction::LeftToRight,
            "<-" => Direction::RightToLeft,
            _ => Direction::Both,
        };
        Spanned::new(direction, span(&pair))
    }

    /// `trigger = { (event ~ (kw_and ~ expr)?) | expr }`
    pub(super) fn trigger(&mut self, pair: Pair<'_, Rule>) -> Spanned<Trigger> {
        let at = span(&pair);
        let mut inner = children(pair).filter(|p| p.as_rule() != Rule::kw_and);
        let Some(first) = inner.next() else {
            self.missing(at, "a trigger");
            return Spanned::new(
                Trigger::Event {
                    event: Spanned::new(Event::Any, at),
                    condition: None,
                },
                at,
            );
        };
        if first.as_rule() == Rule::event {
            let event = match first.as_str() {
                "created" => Event::Created,
                "requested" => Event::Requested,
                "deleted" => Event::Deleted,
                _ => Event::Any,
            };
            let event = Spanned::new(event, span(&first));
            let condition = inner.next().map(|p| self.expr(p));
            Spanned::new(Trigger::Event { event, condition }, at)
        } else {
            Spanned::new(Trigger::Condition(self.expr(first)), at)
        }
    }
}
