//! `max(list)`: the largest item of a list of numbers, texts or dates, skipping nulls.

use std::cmp::Ordering;

use super::{arguments, min::extreme, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `max` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "max",
    params: &[Param { name: "list", kind: Kind::List, optional: false }],
    returns: Returns::ItemOfArgument(0),
    inverse: None,
    summary: "The largest item (numbers by value, text by code point, dates by time); nulls are skipped, an empty list gives null.",
    examples: &[
        Example { call: "max([3, 1.5, null, 2])", result: "3" },
        Example { call: r#"max(["Alfa", "Beta"])"#, result: r#""Beta""# },
        Example { call: "max([])", result: "null" },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    extreme(arguments::list(FUNCTION.name, args, 0)?, Ordering::Greater)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fails, gives};
    use crate::eval::EvalErrorKind;

    #[test]
    fn finds_the_largest() {
        gives("max([2026-01-01, 2026-12-31, 2026-06-30])", "2026-12-31");
        gives("max([10%, 25%])", "25%");
        fails("max([1, 10%])", EvalErrorKind::TypeMismatch);
    }
}
