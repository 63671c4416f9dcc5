//! Builders for expressions and literals.

use std::str::FromStr;

use pest::iterators::Pair;
use rust_decimal::Decimal;

use super::{children, span, Builder};
use crate::{
    diagnostic::{codes, Diagnostic},
    source::Span,
    syntax::{
        ast::{BinaryOp, Expr, ExprKind, InterpolationPart, Literal, Spanned, UnaryOp},
        parser::Rule,
    },
};

impl Builder<'_> {
    /// `expr = { if_expr | or_expr }` and every level below it.
    pub(super) fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let at = span(&pair);
        match pair.as_rule() {
            Rule::expr => self.next_expr(&mut children(pair), at, "an expression"),
            Rule::not_expr => {
                let mut inner = children(pair);
                match inner.next() {
                    Some(first) if first.as_rule() == Rule::kw_not => {
                        let operand = self.next_expr(&mut inner, at, "an operand of `not`");
                        Spanned::new(
                            ExprKind::Unary {
                                op: UnaryOp::Not,
                                operand: Box::new(operand),
                            },
                            at,
                        )
                    }
                    Some(first) => self.expr(first),
                    None => self.placeholder(at, "an expression"),
                }
            }
            Rule::if_expr => {
                let mut inner = children(pair).filter(|p| p.as_rule() != Rule::kw_else);
                let mut part = |b: &mut Self, what| match inner.next() {
                    Some(p) => b.expr(p),
                    None => b.placeholder(at, what),
                };
                let condition = part(self, "the condition of `if`");
                let then = part(self, "the `then` value");
                let otherwise = part(self, "the `else` value");
                Spanned::new(
                    ExprKind::If {
                        condition: Box::new(condition),
                        then: Box::new(then),
                        otherwise: Box::new(otherwise),
                    },
                    at,
                )
            }
            Rule::or_expr
            | Rule::and_expr
            | Rule::coalesce
            | Rule::additive
            | Rule::multiplicative => self.left_assoc(pair),
            Rule::comparison => self.comparison(pair),
            Rule::unary => self.unary(pair),
            Rule::postfix => self.postfix(pair),
            Rule::group_expr => {
                let inner = children(pair).next();
                let expr = match inner {
                    Some(p) => self.expr(p),
                    None => self.placeholder(at, "an expression in parentheses"),
                };
                Spanned::new(ExprKind::Group(Box::new(expr)), at)
            }
            Rule::list => {
                let items = children(pair).map(|p| self.expr(p)).collect();
                Spanned::new(ExprKind::List(items), at)
            }
            Rule::record_lit => {
                let mut fields = Vec::new();
                for field in children(pair) {
                    let field_at = span(&field);
                    let mut inner = children(field);
                    let name = self.next_ident(&mut inner, field_at);
                    let value = match inner.next() {
                        Some(p) => self.expr(p),
                        None => self.placeholder(field_at, "a field value"),
                    };
                    fields.push((name, value));
                }
                Spanned::new(ExprKind::Record(fields), at)
            }
            Rule::exists_expr | Rule::find_expr => {
                let is_exists = pair.as_rule() == Rule::exists_expr;
                let mut inner = children(pair);
                let entity = self.next_entity_ref(&mut inner, at);
                let filter = inner.next().map(|w| Box::new(self.where_clause(w)));
                let kind = if is_exists {
                    ExprKind::Exists { entity, filter }
                } else {
                    ExprKind::Find { entity, filter }
                };
                Spanned::new(kind, at)
            }
            Rule::ident => {
                let ident = self.ident(pair);
                Spanned::new(ExprKind::Path(vec![ident]), at)
            }
            Rule::string => self.string(pair),
            Rule::number
            | Rule::percent
            | Rule::date
            | Rule::duration
            | Rule::boolean
            | Rule::null => {
                let literal = self.literal(&pair);
                Spanned::new(ExprKind::Literal(literal), at)
            }
            _ => {
                self.bug(&pair, "an expression");
                Spanned::new(ExprKind::Literal(Literal::Null), at)
            }
        }
    }

    /// `where_clause = { "where" ~ expr }`
    pub(super) fn where_clause(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let at = span(&pair);
        match children(pair).next() {
            Some(p) => self.expr(p),
            None => self.placeholder(at, "a condition after `where`"),
        }
    }

    /// The next child as an expression.
    pub(super) fn next_expr<'i>(
        &mut self,
        pairs: &mut impl Iterator<Item = Pair<'i, Rule>>,
        at: Span,
        what: &str,
    ) -> Expr {
        match pairs.next() {
            Some(p) => self.expr(p),
            None => self.placeholder(at, what),
        }
    }

    fn placeholder(&mut self, at: Span, what: &str) -> Expr {
        self.missing(at, what);
        Spanned::new(ExprKind::Literal(Literal::Null), at)
    }

    /// Operand (op operand)* folded to the left.
    fn left_assoc(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let at = span(&pair);
        let mut inner = children(pair);
        let mut left = match inner.next() {
            Some(p) => self.expr(p),
            None => return self.placeholder(at, "an operand"),
        };
        while let Some(op_pair) = inner.next() {
            let op = match op_pair.as_str() {
                "or" => BinaryOp::Or,
                "and" => BinaryOp::And,
                "??" => BinaryOp::Coalesce,
                "+" => BinaryOp::Add,
                "-" => BinaryOp::Sub,
                "*" => BinaryOp::Mul,
                "/" => BinaryOp::Div,
                _ => {
                    self.bug(&op_pair, "an operator");
                    BinaryOp::Add
                }
            };
            let op = Spanned::new(op, span(&op_pair));
            let right = match inner.next() {
                Some(p) => self.expr(p),
                None => return self.placeholder(at, "an operand"),
            };
            let whole = left.span.to(right.span);
            left = Spanned::new(
                ExprKind::Binary {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                whole,
            );
        }
        left
    }

    /// `comparison = { coalesce ~ ((cmp_op ~ coalesce) | (becomes ~ coalesce) | changed)? }`
    fn comparison(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let at = span(&pair);
        let mut inner = children(pair);
        let left = match inner.next() {
            Some(p) => self.expr(p),
            None => return self.placeholder(at, "an operand"),
        };
        let Some(op_pair) = inner.next() else {
            return left;
        };
        let op_span = span(&op_pair);
        match op_pair.as_rule() {
            Rule::changed => Spanned::new(ExprKind::Changed(Box::new(left)), at),
            Rule::becomes => {
                let value = self.next_expr(&mut inner, at, "the value after `becomes`");
                Spanned::new(
                    ExprKind::Becomes {
                        field: Box::new(left),
                        value: Box::new(value),
                    },
                    at,
                )
            }
            _ => {
                let text: String = op_pair
                    .as_str()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                let op = match text.as_str() {
                    "==" => BinaryOp::Eq,
                    "!=" => BinaryOp::Ne,
                    "<" => BinaryOp::Lt,
                    "<=" => BinaryOp::Le,
                    ">" => BinaryOp::Gt,
                    ">=" => BinaryOp::Ge,
                    "in" => BinaryOp::In,
                    "not in" => BinaryOp::NotIn,
                    _ => {
                        self.bug(&op_pair, "a comparison operator");
                        BinaryOp::Eq
                    }
                };
                let right = self.next_expr(&mut inner, at, "the right side of a comparison");
                Spanned::new(
                    ExprKind::Binary {
                        op: Spanned::new(op, op_span),
                        left: Box::new(left),
                        right: Box::new(right),
                    },
                    at,
                )
            }
        }
    }

    /// `unary = { neg* ~ postfix }`
    fn unary(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let at = span(&pair);
        let mut negations = Vec::new();
        let mut operand = None;
        for p in children(pair) {
            if p.as_rule() == Rule::neg {
                negations.push(span(&p));
            } else {
                operand = Some(self.expr(p));
            }
        }
        let mut expr = match operand {
            Some(e) => e,
            None => return self.placeholder(at, "an operand"),
        };
        for neg in negations.into_iter().rev() {
            let whole = neg.to(expr.span);
            expr = Spanned::new(
                ExprKind::Unary {
                    op: UnaryOp::Neg,
                    operand: Box::new(expr),
                },
                whole,
            );
        }
        expr
    }

    /// `postfix = { primary ~ (member | index | call)* }`: dotted names stay one path;
    /// `a.b(x)` is a call of `b` with receiver `a`.
    fn postfix(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let at = span(&pair);
        let mut inner = children(pair);
        let mut expr = match inner.next() {
            Some(p) => self.expr(p),
            None => return self.placeholder(at, "an expression"),
        };
        for suffix in inner {
            let suffix_span = span(&suffix);
            let whole = expr.span.to(suffix_span);
            match suffix.as_rule() {
                Rule::member => {
                    let Some(name) = children(suffix).next() else {
                        self.missing(suffix_span, "a field name");
                        continue;
                    };
                    let field = self.ident(name);
                    expr = match expr.node {
                        ExprKind::Path(mut segments) => {
                            segments.push(field);
                            Spanned::new(ExprKind::Path(segments), whole)
                        }
                        other => Spanned::new(
                            ExprKind::Member {
                                base: Box::new(Spanned::new(other, expr.span)),
                                field,
                            },
                            whole,
                        ),
                    };
                }
                Rule::index => {
                    let index = self.next_expr(&mut children(suffix), suffix_span, "an index");
                    expr = Spanned::new(
                        ExprKind::Index {
                            base: Box::new(expr),
                            index: Box::new(index),
                        },
                        whole,
                    );
                }
                Rule::call => {
                    let args = children(suffix).map(|p| self.expr(p)).collect();
                    expr = self.call(expr, args, whole);
                }
                _ => self.bug(&suffix, "`.field`, `[index]` or `(arguments)`"),
            }
        }
        expr
    }

    fn call(&mut self, callee: Expr, args: Vec<Expr>, whole: Span) -> Expr {
        match callee.node {
            ExprKind::Path(mut segments) if !segments.is_empty() => {
                let function = segments
                    .pop()
                    .unwrap_or_else(|| Spanned::new(String::new(), whole));
                let receiver = if segments.is_empty() {
                    None
                } else {
                    let start = segments[0].span;
                    let end = segments[segments.len() - 1].span;
                    Some(Box::new(Spanned::new(
                        ExprKind::Path(segments),
                        start.to(end),
                    )))
                };
                Spanned::new(
                    ExprKind::Call {
                        receiver,
                        function,
                        args,
                    },
                    whole,
                )
            }
            ExprKind::Member { base, field } => Spanned::new(
                ExprKind::Call {
                    receiver: Some(base),
                    function: field,
                    args,
                },
                whole,
            ),
            other => {
                self.diagnostics.push(
                    Diagnostic::new(&codes::SYNTAX_ERROR, "only functions can be called")
                        .in_file(self.file)
                        .primary(callee.span, "this is not a function name")
                        .help("call a function by name, e.g. `lower(crm.Email)`"),
                );
                Spanned::new(other, callee.span)
            }
        }
    }

    /// `string = ${ "\"" ~ (interpolation | string_text | escape)* ~ "\"" }`
    pub(super) fn string(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let at = span(&pair);
        let mut parts: Vec<InterpolationPart> = Vec::new();
        for part in children(pair) {
            match part.as_rule() {
                Rule::string_text | Rule::escape => {
                    let text = if part.as_rule() == Rule::escape {
                        unescape(part.as_str())
                    } else {
                        part.as_str().to_string()
                    };
                    match parts.last_mut() {
                        Some(InterpolationPart::Text(t)) => t.push_str(&text),
                        _ => parts.push(InterpolationPart::Text(text)),
                    }
                }
                Rule::interpolation => {
                    let part_at = span(&part);
                    let expr =
                        self.next_expr(&mut children(part), part_at, "an expression in `{…}`");
                    parts.push(InterpolationPart::Expr(expr));
                }
                _ => self.bug(&part, "text or `{expr}`"),
            }
        }
        if parts
            .iter()
            .all(|p| matches!(p, InterpolationPart::Text(_)))
        {
            let text = parts
                .into_iter()
                .map(|p| match p {
                    InterpolationPart::Text(t) => t,
                    InterpolationPart::Expr(_) => String::new(),
                })
                .collect();
            Spanned::new(ExprKind::Literal(Literal::Text(text)), at)
        } else {
            Spanned::new(ExprKind::Interpolated(parts), at)
        }
    }

    /// A literal token; bad numbers and dates are syntax errors with a span.
    pub(super) fn literal(&mut self, pair: &Pair<'_, Rule>) -> Literal {
        let text = pair.as_str();
        let at = span(pair);
        match pair.as_rule() {
            Rule::number => self
                .decimal(text, at)
                .map_or(Literal::Null, Literal::Number),
            Rule::percent => self
                .decimal(text.trim_end_matches('%'), at)
                .map_or(Literal::Null, Literal::Percent),
            Rule::duration => Literal::Duration(text.to_string()),
            Rule::date => {
                if !is_valid_date(text) {
                    self.diagnostics.push(
                        Diagnostic::new(
                            &codes::SYNTAX_ERROR,
                            format!("`{text}` is not a calendar date"),
                        )
                        .in_file(self.file)
                        .primary(at, "no such date")
                        .help("write dates as YYYY-MM-DD, e.g. 2026-01-31"),
                    );
                }
                Literal::Date(text.to_string())
            }
            Rule::boolean => Literal::Bool(text == "true"),
            Rule::null => Literal::Null,
            Rule::string => Literal::Text(text.trim_matches('"').to_string()),
            _ => {
                self.bug(pair, "a literal");
                Literal::Null
            }
        }
    }

    fn decimal(&mut self, text: &str, at: Span) -> Option<Decimal> {
        match Decimal::from_str(text) {
            Ok(d) => Some(d),
            Err(_) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        &codes::SYNTAX_ERROR,
                        format!("the number `{text}` is too large or too precise"),
                    )
                    .in_file(self.file)
                    .primary(at, "cannot be held exactly")
                    .help("numbers hold at most 28 significant digits"),
                );
                None
            }
        }
    }
}

fn unescape(escape: &str) -> String {
    match escape {
        "\\n" => "\n".to_string(),
        "\\t" => "\t".to_string(),
        other => other.strip_prefix('\\').unwrap_or(other).to_string(),
    }
}

/// Checks `YYYY-MM-DD` against the calendar, leap years included.
pub(crate) fn is_valid_date(text: &str) -> bool {
    let mut parts = text.split('-').map(|p| p.parse::<u32>());
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}
