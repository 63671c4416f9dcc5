//! The rule language's operators on [`Value`]s, shared by constant folding and the runtime.
//!
//! Arithmetic is exact decimal arithmetic with checked operations: a result too large for a
//! decimal is [`EvalErrorKind::Overflow`](super::EvalErrorKind::Overflow), never a wrapped or
//! float value. `/` is the one operator that can produce more digits than a decimal holds
//! (`1 / 3`); rust_decimal then keeps 28 significant digits, so a rule that divides money
//! should `round` the result to say how.
//!
//! `and`, `or` and `??` short-circuit, so they live in the evaluators, not here.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use super::{EvalError, Value};
use crate::syntax::ast::{BinaryOp, UnaryOp};

/// Applies `-` or `not`.
pub fn unary(op: UnaryOp, operand: Value) -> Result<Value, EvalError> {
    match (op, operand) {
        (UnaryOp::Neg, Value::Number(n)) => Ok(Value::Number(-n)),
        (UnaryOp::Neg, Value::Percent(n)) => Ok(Value::Percent(-n)),
        (UnaryOp::Not, Value::Bool(b)) => Ok(Value::Bool(!b)),
        (UnaryOp::Neg, other) => Err(EvalError::type_mismatch(format!(
            "cannot negate {}",
            other.type_name()
        ))),
        (UnaryOp::Not, other) => Err(EvalError::type_mismatch(format!(
            "`not` needs a bool, found {}",
            other.type_name()
        ))),
    }
}

/// Applies an operator that evaluates both operands: arithmetic, comparisons and `in`.
/// `and`, `or` and `??` are accepted too, on already evaluated operands.
pub fn binary(op: BinaryOp, left: Value, right: Value) -> Result<Value, EvalError> {
    match op {
        BinaryOp::Add => add(left, right),
        BinaryOp::Sub => subtract(left, right),
        BinaryOp::Mul => multiply(left, right),
        BinaryOp::Div => divide(left, right),
        BinaryOp::Eq => Ok(Value::Bool(left.equals(&right)?)),
        BinaryOp::Ne => Ok(Value::Bool(!left.equals(&right)?)),
        BinaryOp::Lt => Ok(Value::Bool(left.compare(&right)?.is_lt())),
        BinaryOp::Le => Ok(Value::Bool(left.compare(&right)?.is_le())),
        BinaryOp::Gt => Ok(Value::Bool(left.compare(&right)?.is_gt())),
        BinaryOp::Ge => Ok(Value::Bool(left.compare(&right)?.is_ge())),
        BinaryOp::In => contains(&right, &left).map(Value::Bool),
        BinaryOp::NotIn => contains(&right, &left).map(|found| Value::Bool(!found)),
        BinaryOp::Coalesce => Ok(if left.is_null() { right } else { left }),
        BinaryOp::And | BinaryOp::Or => match (left, right) {
            (Value::Bool(a), Value::Bool(b)) => Ok(Value::Bool(if op == BinaryOp::And {
                a && b
            } else {
                a || b
            })),
            (a, b) => Err(mismatch(op, &a, &b)),
        },
    }
}

/// `needle in list`: true when some item equals the needle. An item of another type is
/// simply not equal, so a mixed list is fine.
fn contains(list: &Value, needle: &Value) -> Result<bool, EvalError> {
    match list {
        Value::List(items) => Ok(items
            .iter()
            .any(|item| needle.equals(item).unwrap_or(false))),
        other => Err(EvalError::type_mismatch(format!(
            "`in` needs a list on the right, found {}",
            other.type_name()
        ))),
    }
}

fn add(left: Value, right: Value) -> Result<Value, EvalError> {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => checked(a.checked_add(b), "+").map(Value::Number),
        (Value::Percent(a), Value::Percent(b)) => {
            checked(a.checked_add(b), "+").map(Value::Percent)
        }
        (Value::Text(a), Value::Text(b)) => Ok(Value::Text(a + &b)),
        (Value::Date(date), Value::Duration(duration))
        | (Value::Duration(duration), Value::Date(date)) => shift_date(date, duration, true),
        (a, b) => Err(mismatch(BinaryOp::Add, &a, &b)),
    }
}

fn subtract(left: Value, right: Value) -> Result<Value, EvalError> {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => checked(a.checked_sub(b), "-").map(Value::Number),
        (Value::Percent(a), Value::Percent(b)) => {
            checked(a.checked_sub(b), "-").map(Value::Percent)
        }
        (Value::Date(date), Value::Duration(duration)) => shift_date(date, duration, false),
        (a, b) => Err(mismatch(BinaryOp::Sub, &a, &b)),
    }
}

fn multiply(left: Value, right: Value) -> Result<Value, EvalError> {
    match (left, right) {
        (Value::Number(a), Value::Number(b)) => checked(a.checked_mul(b), "*").map(Value::Number),
        // `amount * 25%`: multiply first, then divide by 100, so no digits are lost early.
        (Value::Number(amount), Value::Percent(percent))
        | (Value::Percent(percent), Value::Number(amount)) => checked(
            amount
                .checked_mul(percent)
                .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED)),
            "*",
        )
        .map(Value::Number),
        (a, b) => Err(mismatch(BinaryOp::Mul, &a, &b)),
    }
}

fn divide(left: Value, right: Value) -> Result<Value, EvalError> {
    match (left, right) {
        (Value::Number(_) | Value::Percent(_), Value::Number(b)) if b.is_zero() => {
            Err(EvalError::division_by_zero())
        }
        (Value::Number(a), Value::Number(b)) => checked(a.checked_div(b), "/").map(Value::Number),
        (Value::Percent(a), Value::Number(b)) => checked(a.checked_div(b), "/").map(Value::Percent),
        (a, b) => Err(mismatch(BinaryOp::Div, &a, &b)),
    }
}

/// `date ± duration`; dates move by whole days only, so `2026-01-31 + 12h` is refused
/// rather than silently truncated.
fn shift_date(
    date: NaiveDate,
    duration: std::time::Duration,
    forward: bool,
) -> Result<Value, EvalError> {
    const DAY_MS: u128 = 86_400_000;
    let milliseconds = duration.as_millis();
    if milliseconds % DAY_MS != 0 || duration.subsec_nanos() % 1_000_000 != 0 {
        return Err(EvalError::bad_argument(
            "a date moves by whole days, e.g. `+ 30d`",
        ));
    }
    let days = u64::try_from(milliseconds / DAY_MS).map(Days::new);
    let shifted = days.ok().and_then(|days| {
        if forward {
            date.checked_add_days(days)
        } else {
            date.checked_sub_days(days)
        }
    });
    shifted
        .map(Value::Date)
        .ok_or_else(|| EvalError::overflow("the date is out of range"))
}

fn checked(result: Option<Decimal>, symbol: &str) -> Result<Decimal, EvalError> {
    result.ok_or_else(|| {
        EvalError::overflow(format!(
            "the result of `{symbol}` is too large for an exact decimal"
        ))
    })
}

fn mismatch(op: BinaryOp, left: &Value, right: &Value) -> EvalError {
    EvalError::type_mismatch(format!(
        "`{}` cannot combine {} and {}",
        op.symbol(),
        left.type_name(),
        right.type_name()
    ))
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::eval::EvalErrorKind;

    fn number(text: &str) -> Value {
        Value::Number(Decimal::from_str(text).unwrap())
    }

    #[test]
    fn percent_of_an_amount_is_exact() {
        let vat = binary(
            BinaryOp::Mul,
            number("1250.50"),
            Value::Percent(Decimal::from(25)),
        )
        .unwrap();
        assert_eq!(vat, number("312.625"));
    }

    #[test]
    fn overflow_and_division_by_zero_are_errors() {
        let err = binary(BinaryOp::Mul, Value::Number(Decimal::MAX), number("2")).unwrap_err();
        assert_eq!(err.kind, EvalErrorKind::Overflow);
        let err = binary(BinaryOp::Div, number("1"), number("0.00")).unwrap_err();
        assert_eq!(err.kind, EvalErrorKind::DivisionByZero);
    }

    #[test]
    fn dates_move_by_whole_days() {
        let date = Value::Date(NaiveDate::from_ymd_opt(2026, 1, 31).unwrap());
        let month = Value::Duration(std::time::Duration::from_secs(86_400 * 30));
        let moved = binary(BinaryOp::Sub, date.clone(), month).unwrap();
        assert_eq!(moved.to_string(), "2026-01-01");
        let half_day = Value::Duration(std::time::Duration::from_secs(43_200));
        assert_eq!(
            binary(BinaryOp::Add, date, half_day).unwrap_err().kind,
            EvalErrorKind::BadArgument
        );
    }

    #[test]
    fn in_tolerates_mixed_lists() {
        let list = Value::List(vec![number("1"), Value::Text("a".into())]);
        assert_eq!(
            binary(BinaryOp::In, Value::Text("a".into()), list.clone()).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            binary(BinaryOp::NotIn, number("2"), list).unwrap(),
            Value::Bool(true)
        );
    }
}
