//! `min(list)`: the smallest item of a list of numbers, texts or dates, skipping nulls.

use std::cmp::Ordering;

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `min` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "min",
    params: &[Param { name: "list", kind: Kind::List, optional: false }],
    returns: Returns::ItemOfArgument(0),
    inverse: None,
    summary: "The smallest item (numbers by value, text by code point, dates by time); nulls are skipped, an empty list gives null.",
    examples: &[
        Example { call: "min([3, 1.5, null, 2])", result: "1.5" },
        Example { call: "min([2026-03-01, 2026-01-31])", result: "2026-01-31" },
        Example { call: "min([])", result: "null" },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    extreme(arguments::list(FUNCTION.name, args, 0)?, Ordering::Less)
}

/// The item that compares `wanted` against all others (the first of equal ones); shared
/// with `max`. Items of different types are a type mismatch.
pub(super) fn extreme(items: &[Value], wanted: Ordering) -> Result<Value, EvalError> {
    let mut best: Option<&Value> = None;
    for item in items.iter().filter(|item| !item.is_null()) {
        best = match best {
            Some(current) if item.compare(current)? != wanted => Some(current),
            _ => Some(item),
        };
    }
    Ok(best.cloned().unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fails, gives};
    use crate::eval::EvalErrorKind;

    #[test]
    fn finds_the_smallest() {
        gives(r#"min(["b", "a", "c"])"#, r#""a""#);
        gives("min([-1, -2.5])", "-2.5");
        gives("min([null])", "null");
        fails(r#"min([1, "a"])"#, EvalErrorKind::TypeMismatch);
        fails("min([[1], [2]])", EvalErrorKind::TypeMismatch);
    }
}
