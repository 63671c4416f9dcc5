//! Printing expressions with the fewest parentheses that keep their meaning.

use crate::syntax::ast::{EntityRef, Expr, ExprKind, InterpolationPart, Literal, UnaryOp};

const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "if", "then", "else", "true", "false", "null",
];

/// A name, in backticks when it is not a plain identifier or is reserved.
pub fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain && !RESERVED.contains(&name) {
        name.to_string()
    } else {
        format!("`{name}`")
    }
}

/// `system.Entity`
pub fn entity(e: &EntityRef) -> String {
    format!("{}.{}", ident(&e.system.node), ident(&e.entity.node))
}

/// Text in double quotes with the language's escapes.
pub fn quote(text: &str) -> String {
    format!("\"{}\"", escape(text))
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
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
    out
}

/// A literal as written.
pub fn literal(l: &Literal) -> String {
    match l {
        Literal::Text(t) => quote(t),
        Literal::Number(n) => n.to_string(),
        Literal::Percent(p) => format!("{p}%"),
        Literal::Duration(d) | Literal::Date(d) => d.clone(),
        Literal::Bool(b) => b.to_string(),
        Literal::Null => "null".to_string(),
    }
}

/// An expression at the top level.
pub fn expr(e: &Expr) -> String {
    print(e, 0)
}

/// Binding strength of an expression: an operand looser than its context gets parentheses.
fn strength(e: &Expr) -> u8 {
    match &e.node {
        ExprKind::If { .. } => 5,
        ExprKind::Binary { op, .. } => op.node.precedence() * 10,
        ExprKind::Becomes { .. } | ExprKind::Changed(_) => 30,
        ExprKind::Unary {
            op: UnaryOp::Not, ..
        } => 25,
        ExprKind::Unary {
            op: UnaryOp::Neg, ..
        } => 70,
        ExprKind::Exists { .. } | ExprKind::Find { .. } => 8,
        _ => 80,
    }
}

fn print(e: &Expr, context: u8) -> String {
    let text = match &e.node {
        ExprKind::Literal(l) => literal(l),
        ExprKind::Interpolated(parts) => {
            let mut s = String::from("\"");
            for part in parts {
                match part {
                    InterpolationPart::Text(t) => s.push_str(&escape(t)),
                    InterpolationPart::Expr(e) => {
                        s.push('{');
                        s.push_str(&expr(e));
                        s.push('}');
                    }
                }
            }
            s.push('"');
            s
        }
        ExprKind::Path(segments) => segments
            .iter()
            .map(|s| ident(&s.node))
            .collect::<Vec<_>>()
            .join("."),
        ExprKind::Member { base, field } => format!("{}.{}", print(base, 80), ident(&field.node)),
        ExprKind::Index { base, index } => format!("{}[{}]", print(base, 80), expr(index)),
        ExprKind::Call {
            receiver,
            function,
            args,
        } => {
            let args: Vec<String> = args.iter().map(expr).collect();
            let receiver = receiver
                .as_ref()
                .map(|r| format!("{}.", print(r, 80)))
                .unwrap_or_default();
            format!("{receiver}{}({})", ident(&function.node), args.join(", "))
        }
        ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
        } => format!("-{}", print(operand, 70)),
        ExprKind::Unary {
            op: UnaryOp::Not,
            operand,
        } => format!("not {}", print(operand, 25)),
        ExprKind::Binary { op, left, right } => {
            let p = op.node.precedence() * 10;
            let comparison = p == 30;
            // Left-associative: the right operand needs parentheses at equal strength;
            // comparisons do not chain, so both sides do.
            let left_context = if comparison { p + 1 } else { p };
            let separator = op.node.symbol();
            format!(
                "{} {separator} {}",
                print(left, left_context),
                print(right, p + 1)
            )
        }
        ExprKind::Becomes { field, value } => {
            format!("{} becomes {}", print(field, 31), print(value, 31))
        }
        ExprKind::Changed(field) => format!("{} changed", print(field, 31)),
        ExprKind::If {
            condition,
            then,
            otherwise,
        } => {
            format!(
                "if {} then {} else {}",
                expr(condition),
                expr(then),
                expr(otherwise)
            )
        }
        ExprKind::List(items) => format!(
            "[{}]",
            items.iter().map(expr).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Record(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(n, v)| format!("{}: {}", ident(&n.node), expr(v)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        ExprKind::Exists { entity: en, filter } | ExprKind::Find { entity: en, filter } => {
            let word = if matches!(e.node, ExprKind::Exists { .. }) {
                "exists"
            } else {
                "find"
            };
            let filter = filter
                .as_ref()
                .map(|f| format!(" where {}", expr(f)))
                .unwrap_or_default();
            format!("{word} {}{filter}", entity(&en.node))
        }
        ExprKind::Group(inner) => return format!("({})", expr(inner)),
    };
    if strength(e) < context {
        format!("({text})")
    } else {
        text
    }
}
