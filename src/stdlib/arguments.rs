//! Reading a function's arguments, so each implementation stays short and never panics when
//! it is called directly with the wrong arguments (the `call` field is public).

use chrono::NaiveDate;
use rust_decimal::{prelude::ToPrimitive, Decimal};

use crate::eval::{EvalError, EvalErrorKind, Value};

/// The argument at `index`, or an `ArgumentCount` error naming the function.
pub(super) fn argument<'a>(
    function: &str,
    args: &'a [Value],
    index: usize,
) -> Result<&'a Value, EvalError> {
    args.get(index).ok_or_else(|| {
        EvalError::new(
            EvalErrorKind::ArgumentCount,
            format!("`{function}` needs an argument number {}", index + 1),
        )
    })
}

/// The optional argument at `index`; `null` counts as not given.
pub(super) fn optional(args: &[Value], index: usize) -> Option<&Value> {
    args.get(index).filter(|value| !value.is_null())
}

fn mismatch(function: &str, expected: &str, found: &Value) -> EvalError {
    EvalError::type_mismatch(format!(
        "`{function}` takes {expected}, found {}",
        found.type_name()
    ))
}

/// The text argument at `index`.
pub(super) fn text<'a>(
    function: &str,
    args: &'a [Value],
    index: usize,
) -> Result<&'a str, EvalError> {
    as_text(function, argument(function, args, index)?)
}

/// `value` as text.
pub(super) fn as_text<'a>(function: &str, value: &'a Value) -> Result<&'a str, EvalError> {
    match value {
        Value::Text(text) => Ok(text),
        other => Err(mismatch(function, "text", other)),
    }
}

/// The list argument at `index`.
pub(super) fn list<'a>(
    function: &str,
    args: &'a [Value],
    index: usize,
) -> Result<&'a [Value], EvalError> {
    match argument(function, args, index)? {
        Value::List(items) => Ok(items),
        other => Err(mismatch(function, "a list", other)),
    }
}

/// The date argument at `index`.
pub(super) fn date(function: &str, args: &[Value], index: usize) -> Result<NaiveDate, EvalError> {
    match argument(function, args, index)? {
        Value::Date(date) => Ok(*date),
        other => Err(mismatch(function, "a date", other)),
    }
}

/// `value` as a whole number in `0..=max`, for counts such as decimal places.
pub(super) fn as_small_whole_number(
    function: &str,
    value: &Value,
    max: u32,
) -> Result<u32, EvalError> {
    let number: Decimal = match value {
        Value::Number(number) => *number,
        other => return Err(mismatch(function, "a number", other)),
    };
    match number.to_u32() {
        Some(whole) if number.fract().is_zero() && whole <= max => Ok(whole),
        _ => Err(EvalError::bad_argument(format!(
            "`{function}` takes a whole number from 0 to {max}, found {number}"
        ))),
    }
}
