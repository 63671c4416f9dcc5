//! Constant evaluation: the value of an expression that reads no record, setting or lookup.
//!
//! The checker folds constants with it (`when 1 > 2` is unreachable) and the stdlib tests
//! run every documented example through it. Anything that needs run-time data (a field
//! path, a table lookup, `exists`, a method such as `part.share(…)`, `becomes`) is
//! [`EvalErrorKind::NotConstant`], unless a
//! short-circuit (`true or crm.X`, `if true then 1 else crm.X`) means it is never read.
//!
//! `today()` is evaluated here with the machine's clock, so a checker that folds constants
//! should leave calls of `today` alone; the runtime injects its own evaluation date.

use indexmap::IndexMap;

use super::{operator, EvalError, EvalErrorKind, Value};
use crate::{
    stdlib,
    syntax::ast::{BinaryOp, Expr, ExprKind, InterpolationPart, Literal},
};

/// Evaluates `expr` without any record. See the module docs for what counts as constant.
pub fn evaluate_constant(expr: &Expr) -> Result<Value, EvalError> {
    match &expr.node {
        ExprKind::Literal(literal) => literal_value(literal),
        ExprKind::Interpolated(parts) => {
            let mut text = String::new();
            for part in parts {
                match part {
                    InterpolationPart::Text(t) => text.push_str(t),
                    InterpolationPart::Expr(e) => {
                        text.push_str(&evaluate_constant(e)?.to_plain_text())
                    }
                }
            }
            Ok(Value::Text(text))
        }
        ExprKind::Group(inner) => evaluate_constant(inner),
        ExprKind::List(items) => Ok(Value::List(
            items
                .iter()
                .map(evaluate_constant)
                .collect::<Result<_, _>>()?,
        )),
        ExprKind::Record(fields) => {
            let mut record = IndexMap::with_capacity(fields.len());
            for (name, value) in fields {
                record.insert(name.node.clone(), evaluate_constant(value)?);
            }
            Ok(Value::Record(record))
        }
        ExprKind::If {
            condition,
            then,
            otherwise,
        } => match evaluate_constant(condition)? {
            Value::Bool(true) => evaluate_constant(then),
            Value::Bool(false) => evaluate_constant(otherwise),
            other => Err(EvalError::type_mismatch(format!(
                "the condition of `if` must be a bool, found {}",
                other.type_name()
            ))),
        },
        ExprKind::Unary { op, operand } => operator::unary(*op, evaluate_constant(operand)?),
        ExprKind::Binary { op, left, right } => binary(op.node, left, right),
        ExprKind::Call {
            receiver: Some(_),
            function,
            ..
        } => Err(EvalError::not_constant(format!(
            "the method `{}` is evaluated at run time",
            function.node
        ))),
        ExprKind::Call {
            receiver: None,
            function,
            args,
        } => {
            let Some(found) = stdlib::lookup(&function.node) else {
                return Err(unknown_function(&function.node));
            };
            let args = args
                .iter()
                .map(evaluate_constant)
                .collect::<Result<Vec<_>, _>>()?;
            found.invoke(&args)
        }
        ExprKind::Member { base, field } => match evaluate_constant(base)? {
            Value::Record(fields) => Ok(fields.get(&field.node).cloned().unwrap_or(Value::Null)),
            other => Err(EvalError::type_mismatch(format!(
                "`.{}` needs a record, found {}",
                field.node,
                other.type_name()
            ))),
        },
        ExprKind::Path(segments) => {
            let path: Vec<&str> = segments.iter().map(|s| s.node.as_str()).collect();
            Err(EvalError::not_constant(format!(
                "`{}` is read at run time",
                path.join(".")
            )))
        }
        ExprKind::Index { .. } => Err(EvalError::not_constant(
            "a lookup `[…]` is evaluated at run time",
        )),
        ExprKind::Becomes { .. } | ExprKind::Changed(_) => Err(EvalError::not_constant(
            "`becomes` and `changed` look at a change at run time",
        )),
        ExprKind::Exists { .. } | ExprKind::Find { .. } => Err(EvalError::not_constant(
            "`exists` and `find` search a system at run time",
        )),
    }
}

/// `and`, `or` and `??` look at the right side only when they must.
fn binary(op: BinaryOp, left: &Expr, right: &Expr) -> Result<Value, EvalError> {
    match op {
        BinaryOp::And | BinaryOp::Or => {
            let decided_by = op == BinaryOp::Or;
            match evaluate_constant(left)? {
                Value::Bool(b) if b == decided_by => Ok(Value::Bool(b)),
                Value::Bool(_) => match evaluate_constant(right)? {
                    Value::Bool(b) => Ok(Value::Bool(b)),
                    other => Err(EvalError::type_mismatch(format!(
                        "`{}` needs bools, found {}",
                        op.symbol(),
                        other.type_name()
                    ))),
                },
                other => Err(EvalError::type_mismatch(format!(
                    "`{}` needs bools, found {}",
                    op.symbol(),
                    other.type_name()
                ))),
            }
        }
        BinaryOp::Coalesce => match evaluate_constant(left)? {
            Value::Null => evaluate_constant(right),
            value => Ok(value),
        },
        _ => operator::binary(op, evaluate_constant(left)?, evaluate_constant(right)?),
    }
}

fn literal_value(literal: &Literal) -> Result<Value, EvalError> {
    Ok(match literal {
        Literal::Text(text) => Value::Text(text.clone()),
        Literal::Number(number) => Value::Number(*number),
        Literal::Percent(number) => Value::Percent(*number),
        Literal::Duration(text) => Value::Duration(Value::parse_duration(text)?),
        Literal::Date(text) => Value::Date(Value::parse_date(text)?),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
    })
}

fn unknown_function(name: &str) -> EvalError {
    let closest = stdlib::names()
        .map(|known| (strsim::jaro_winkler(name, known), known))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let message = match closest {
        Some((_, known)) => format!("there is no function `{name}`; did you mean `{known}`?"),
        None => format!("there is no function `{name}`"),
    };
    EvalError::new(EvalErrorKind::UnknownFunction, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{source::SourceFile, syntax::parse_expression};

    fn eval(text: &str) -> Result<Value, EvalError> {
        let expr = parse_expression(&SourceFile::new("test", text)).expect("parses");
        evaluate_constant(&expr)
    }

    fn gives(text: &str, expected: &str) {
        match eval(text) {
            Ok(value) => assert_eq!(value.to_string(), expected, "{text}"),
            Err(err) => panic!("{text}: {err}"),
        }
    }

    fn fails(text: &str, kind: EvalErrorKind) {
        match eval(text) {
            Ok(value) => panic!("{text} gave {value}"),
            Err(err) => assert_eq!(err.kind, kind, "{text}: {err}"),
        }
    }

    #[test]
    fn arithmetic_is_exact() {
        gives("0.1 + 0.2", "0.3");
        gives("1250.50 - 0.50", "1250.00");
        gives("-(2 * 3.5)", "-7.0");
        gives("100 * 25%", "25");
        gives("10 / 4 == 2.5", "true");
        gives("1 / 3 * 3 == 1", "false");
        gives("20% + 5%", "25%");
        gives("\"Nord\" + \"vik\"", "\"Nordvik\"");
        gives("2026-01-31 + 1d", "2026-02-01");
    }

    #[test]
    fn comparisons() {
        gives("1 > 2", "false");
        gives("1.0 == 1", "true");
        gives("\"a\" < \"b\"", "true");
        gives("2026-01-01 <= 2026-01-31", "true");
        gives("\"DK\" in [\"DK\", \"NO\"]", "true");
        gives("\"SE\" not in [\"DK\", \"NO\"]", "true");
        gives("null == null", "true");
        gives("not (1 != 1)", "true");
    }

    #[test]
    fn short_circuits_skip_run_time_data() {
        gives("true or crm.Active", "true");
        gives("false and crm.Active", "false");
        gives("if 1 < 2 then \"yes\" else crm.Name", "\"yes\"");
        gives("\"x\" ?? crm.Name", "\"x\"");
        gives("null ?? \"DKK\"", "\"DKK\"");
        fails("true and crm.Active", EvalErrorKind::NotConstant);
    }

    #[test]
    fn strings_lists_records() {
        gives(r#""Tilbud {1 + 1}: {lower("X")}""#, r#""Tilbud 2: x""#);
        gives("[1, \"a\", null]", "[1, \"a\", null]");
        gives(
            "[{ share: 20%, label: \"Forskudd\" }]",
            "[{ share: 20%, label: \"Forskudd\" }]",
        );
        gives("first([{ share: 20% }]).share", "20%");
        gives("upper(\"x\")", "\"X\"");
    }

    #[test]
    fn errors_have_kinds() {
        fails("1 / 0", EvalErrorKind::DivisionByZero);
        fails("1 + \"a\"", EvalErrorKind::TypeMismatch);
        fails("1 == \"1\"", EvalErrorKind::TypeMismatch);
        fails("not 1", EvalErrorKind::TypeMismatch);
        fails("if 1 then 2 else 3", EvalErrorKind::TypeMismatch);
        fails("crm.Name", EvalErrorKind::NotConstant);
        fails("lower(crm.Name)", EvalErrorKind::NotConstant);
        fails("rates[\"DK\"]", EvalErrorKind::NotConstant);
        fails("part.share(10)", EvalErrorKind::NotConstant);
        fails("lowr(\"x\")", EvalErrorKind::UnknownFunction);
        fails("lower()", EvalErrorKind::ArgumentCount);
        fails("lower(\"a\", \"b\")", EvalErrorKind::ArgumentCount);
        fails("79228162514264337593543950335 + 1", EvalErrorKind::Overflow);
    }

    #[test]
    fn unknown_function_suggests_a_name() {
        let err = eval("lowr(\"x\")").unwrap_err();
        assert_eq!(
            err.message,
            "there is no function `lowr`; did you mean `lower`?"
        );
    }
}
