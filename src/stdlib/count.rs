//! `count(list)`: how many items of a list are not null.

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `count` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "count",
    params: &[Param {
        name: "list",
        kind: Kind::List,
        optional: false,
    }],
    returns: Returns::Kind(Kind::Number),
    inverse: None,
    summary:
        "The number of items in the list that are not null (as `sum`, `min` and `max` skip nulls).",
    examples: &[
        Example {
            call: r#"count(["a", "b", "c"])"#,
            result: "3",
        },
        Example {
            call: "count([1, null, 3])",
            result: "2",
        },
        Example {
            call: "count([])",
            result: "0",
        },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let items = arguments::list(FUNCTION.name, args, 0)?;
    let count = items.iter().filter(|item| !item.is_null()).count();
    Ok(Value::Number(count.into()))
}

#[cfg(test)]
mod tests {
    use super::super::testing::gives;

    #[test]
    fn counts_non_null_items() {
        gives("count([[], {}])", "2");
        gives("count(null)", "null");
    }
}
