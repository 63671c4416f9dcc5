//! `sum(list)`: the exact total of a list of numbers (or of percents), skipping nulls.

use rust_decimal::Decimal;

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `sum` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "sum",
    params: &[Param {
        name: "list",
        kind: Kind::List,
        optional: false,
    }],
    returns: Returns::Money,
    inverse: None,
    summary:
        "The exact total of the numbers in the list; nulls are skipped and an empty list sums to 0.",
    examples: &[
        Example {
            call: "sum([1250.50, 99.95, null])",
            result: "1350.45",
        },
        Example {
            call: "sum([0.1, 0.2])",
            result: "0.3",
        },
        Example {
            call: "sum([])",
            result: "0",
        },
        Example {
            call: "sum([20%, 80%])",
            result: "100%",
        },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let items = arguments::list(FUNCTION.name, args, 0)?;
    let mut total = Decimal::ZERO;
    // `None` until the first item says whether this is a sum of numbers or of percents.
    let mut percents: Option<bool> = None;
    for item in items {
        let (amount, is_percent) = match item {
            Value::Null => continue,
            Value::Number(n) => (*n, false),
            Value::Percent(n) => (*n, true),
            other => {
                return Err(EvalError::type_mismatch(format!(
                    "`sum` adds numbers, found {}",
                    other.type_name()
                )))
            }
        };
        if *percents.get_or_insert(is_percent) != is_percent {
            return Err(EvalError::type_mismatch(
                "`sum` cannot add numbers and percents together",
            ));
        }
        total = total
            .checked_add(amount)
            .ok_or_else(|| EvalError::overflow("the sum is too large for an exact decimal"))?;
    }
    Ok(if percents == Some(true) {
        Value::Percent(total)
    } else {
        Value::Number(total)
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fails, gives};
    use crate::eval::EvalErrorKind;

    #[test]
    fn adds_exactly() {
        gives("sum([1, 2, 3])", "6");
        gives("sum([null, null])", "0");
        gives("sum([-1.10, 1.1])", "0");
    }

    #[test]
    fn refuses_mixed_and_overflowing_lists() {
        fails("sum([1, 20%])", EvalErrorKind::TypeMismatch);
        fails(r#"sum([1, "2"])"#, EvalErrorKind::TypeMismatch);
        fails(
            "sum([79228162514264337593543950335, 1])",
            EvalErrorKind::Overflow,
        );
    }
}
