//! Prints expressions, names and literals on one line.
//!
//! Parentheses: a `Group` the user wrote is always printed; otherwise an operand is put in
//! parentheses only when its binding strength (from [`BinaryOp::precedence`]) is too weak
//! for its place, which never happens for a tree the parser built.

use rust_decimal::Decimal;

use crate::syntax::ast::{
    BinaryOp, EntityRef, Expr, ExprKind, Ident, InterpolationPart, Literal, Spanned, UnaryOp,
};

/// Words that can never be plain names.
const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "if", "then", "else", "true", "false", "null",
];

/// Words recognised by position; a name spelled like one keeps the backticks it was
/// written with, so the formatted file never reads differently.
const POSITIONAL: &[&str] = &[
    "amend",
    "any",
    "as",
    "asc",
    "attach",
    "becomes",
    "before",
    "by",
    "changed",
    "columns",
    "conflict",
    "create",
    "created",
    "credit",
    "cron",
    "csv",
    "delete",
    "deleted",
    "desc",
    "ensure",
    "every",
    "exists",
    "find",
    "flow",
    "for",
    "from",
    "group",
    "hold",
    "inbox",
    "key",
    "ledger",
    "let",
    "line",
    "lines",
    "link",
    "linked",
    "match",
    "newest",
    "on",
    "order",
    "post",
    "prefer",
    "requested",
    "require",
    "schedule",
    "settle",
    "since",
    "split",
    "suggest",
    "sync",
    "table",
    "to",
    "upsert",
    "value",
    "view",
    "when",
    "where",
    "while",
];

// Binding strengths: binary operators sit at twice their `precedence()`, `not` between
// `and` and the comparisons, `-x` between `*` and postfix forms.
const IF: u8 = 0;
const NOT: u8 = 5;
const COMPARISON: u8 = 2 * 3;
const COALESCE: u8 = 2 * 4;
const NEG: u8 = 13;
const POSTFIX: u8 = 14;

/// True for `[A-Za-z_][A-Za-z0-9_]*`.
fn is_plain(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Prints expressions of one source text.
pub(crate) struct ExprPrinter<'a> {
    /// The source, to see whether a name was written in backticks.
    pub src: &'a str,
}

impl ExprPrinter<'_> {
    /// A name, in backticks when it is not a plain identifier or is a reserved word.
    pub fn ident(&self, ident: &Ident) -> String {
        let name = ident.node.as_str();
        let was_quoted = self.src.as_bytes().get(ident.span.start) == Some(&b'`');
        if !is_plain(name) || RESERVED.contains(&name) || (was_quoted && POSITIONAL.contains(&name))
        {
            format!("`{name}`")
        } else {
            name.to_string()
        }
    }

    /// `system.Entity`
    pub fn entity(&self, entity: &Spanned<EntityRef>) -> String {
        format!(
            "{}.{}",
            self.ident(&entity.node.system),
            self.ident(&entity.node.entity)
        )
    }

    /// An expression where any expression may stand.
    pub fn expr(&self, expr: &Expr) -> String {
        self.at(expr, IF)
    }

    /// An expression where only a postfix form (`a.b`, `f(x)`, `x[i]`, …) may stand.
    pub fn postfix(&self, expr: &Expr) -> String {
        self.operand(expr, POSTFIX)
    }

    /// An expression in a place that needs strength `min`, as the last part of its parent.
    fn at(&self, expr: &Expr, min: u8) -> String {
        if strength(expr) < min {
            format!("({})", self.at(expr, IF))
        } else {
            self.bare(expr)
        }
    }

    /// An expression followed by more of its parent (`a` in `a + b`, the base of `a.b`):
    /// one that would swallow what follows (`if …`, `find … where …`) is parenthesised.
    fn operand(&self, expr: &Expr, min: u8) -> String {
        if ends_open(expr) {
            format!("({})", self.at(expr, IF))
        } else {
            self.at(expr, min)
        }
    }

    fn bare(&self, expr: &Expr) -> String {
        match &expr.node {
            ExprKind::Literal(literal) => literal_text(literal),
            ExprKind::Interpolated(parts) => {
                let mut out = String::from("\"");
                for part in parts {
                    match part {
                        InterpolationPart::Text(text) => escape_into(&mut out, text),
                        InterpolationPart::Expr(e) => {
                            out.push('{');
                            out.push_str(&self.expr(e));
                            out.push('}');
                        }
                    }
                }
                out.push('"');
                out
            }
            ExprKind::Path(segments) => segments
                .iter()
                .map(|s| self.ident(s))
                .collect::<Vec<_>>()
                .join("."),
            ExprKind::Member { base, field } => {
                format!("{}.{}", self.operand(base, POSTFIX), self.ident(field))
            }
            ExprKind::Index { base, index } => {
                format!("{}[{}]", self.operand(base, POSTFIX), self.expr(index))
            }
            ExprKind::Call {
                receiver,
                function,
                args,
            } => {
                let receiver = receiver
                    .as_ref()
                    .map(|r| format!("{}.", self.operand(r, POSTFIX)))
                    .unwrap_or_default();
                format!("{receiver}{}({})", self.ident(function), self.list(args))
            }
            ExprKind::Unary {
                op: UnaryOp::Not,
                operand,
            } => format!("not {}", self.at(operand, NOT)),
            ExprKind::Unary {
                op: UnaryOp::Neg,
                operand,
            } => format!("-{}", self.at(operand, NEG)),
            ExprKind::Binary { op, left, right } => {
                let level = binary_strength(op.node);
                let (left_min, right_min) = if level == COMPARISON {
                    // Comparisons do not chain: both sides are at least `??` expressions.
                    (COALESCE, COALESCE)
                } else {
                    (level, level + 1)
                };
                format!(
                    "{} {} {}",
                    self.operand(left, left_min),
                    op.node.symbol(),
                    self.at(right, right_min)
                )
            }
            ExprKind::Becomes { field, value } => format!(
                "{} becomes {}",
                self.operand(field, COALESCE),
                self.at(value, COALESCE)
            ),
            ExprKind::Changed(field) => format!("{} changed", self.operand(field, COALESCE)),
            ExprKind::If {
                condition,
                then,
                otherwise,
            } => format!(
                "if {} then {} else {}",
                self.expr(condition),
                self.expr(then),
                self.expr(otherwise)
            ),
            ExprKind::List(items) => format!("[{}]", self.list(items)),
            ExprKind::Record(fields) => {
                if fields.is_empty() {
                    return "{}".to_string();
                }
                let fields: Vec<String> = fields
                    .iter()
                    .map(|(name, value)| format!("{}: {}", self.ident(name), self.expr(value)))
                    .collect();
                format!("{{ {} }}", fields.join(", "))
            }
            ExprKind::Exists { entity, filter } => self.search("exists", entity, filter.as_deref()),
            ExprKind::Find { entity, filter } => self.search("find", entity, filter.as_deref()),
            ExprKind::Group(inner) => format!("({})", self.expr(inner)),
        }
    }

    /// `a, b, c`
    fn list(&self, items: &[Expr]) -> String {
        items
            .iter()
            .map(|e| self.expr(e))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `exists sys.Entity where …` / `find …`
    fn search(&self, keyword: &str, entity: &Spanned<EntityRef>, filter: Option<&Expr>) -> String {
        match filter {
            Some(filter) => format!(
                "{keyword} {} where {}",
                self.entity(entity),
                self.expr(filter)
            ),
            None => format!("{keyword} {}", self.entity(entity)),
        }
    }
}

/// How tightly an expression binds; a place needing more gets parentheses.
fn strength(expr: &Expr) -> u8 {
    match &expr.node {
        ExprKind::If { .. } => IF,
        ExprKind::Binary { op, .. } => binary_strength(op.node),
        ExprKind::Unary {
            op: UnaryOp::Not, ..
        } => NOT,
        ExprKind::Unary {
            op: UnaryOp::Neg, ..
        } => NEG,
        ExprKind::Becomes { .. } | ExprKind::Changed(_) => COMPARISON,
        _ => POSTFIX,
    }
}

fn binary_strength(op: BinaryOp) -> u8 {
    2 * op.precedence()
}

/// True when the printed expression ends in a part that would take in a following operator.
fn ends_open(expr: &Expr) -> bool {
    match &expr.node {
        ExprKind::If { .. } => true,
        ExprKind::Exists { filter, .. } | ExprKind::Find { filter, .. } => filter.is_some(),
        ExprKind::Binary { right, .. } => ends_open(right),
        ExprKind::Unary { operand, .. } => ends_open(operand),
        ExprKind::Becomes { value, .. } => ends_open(value),
        _ => false,
    }
}

/// A literal as canonical source text.
pub(crate) fn literal_text(literal: &Literal) -> String {
    match literal {
        Literal::Text(text) => string_text(text),
        Literal::Number(n) => decimal_text(n),
        Literal::Percent(n) => format!("{}%", decimal_text(n)),
        Literal::Duration(d) => d.clone(),
        Literal::Date(d) => d.clone(),
        Literal::Bool(b) => b.to_string(),
        Literal::Null => "null".to_string(),
    }
}

/// A decimal with the scale it was written with (`1.50` stays `1.50`).
fn decimal_text(n: &Decimal) -> String {
    n.to_string()
}

/// `"text"` with `"`, `\`, `{`, `}`, newlines and tabs escaped.
pub(crate) fn string_text(text: &str) -> String {
    let mut out = String::from("\"");
    escape_into(&mut out, text);
    out.push('"');
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '{' => out.push_str("\\{"),
            '}' => out.push_str("\\}"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_re_escaped() {
        assert_eq!(string_text("a\"b\\c{d}\n\tå"), r#""a\"b\\c\{d\}\n\tå""#);
    }

    #[test]
    fn names_get_backticks_only_when_needed() {
        assert!(is_plain("_a1") && is_plain("Name"));
        assert!(!is_plain("1a") && !is_plain("Field name") && !is_plain("Ørn") && !is_plain(""));
    }

    #[test]
    fn decimals_keep_their_scale() {
        let n: Decimal = "1.50".parse().unwrap_or_default();
        assert_eq!(literal_text(&Literal::Percent(n)), "1.50%");
    }
}
