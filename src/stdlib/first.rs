//! `first(list)`: the first item of a list, or null for an empty list.

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `first` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "first",
    params: &[Param {
        name: "list",
        kind: Kind::List,
        optional: false,
    }],
    returns: Returns::ItemOfArgument(0),
    inverse: None,
    summary: "The first item of the list (which may itself be null); an empty list gives null.",
    examples: &[
        Example {
            call: r#"first(["a", "b"])"#,
            result: r#""a""#,
        },
        Example {
            call: "first([])",
            result: "null",
        },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let items = arguments::list(FUNCTION.name, args, 0)?;
    Ok(items.first().cloned().unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::super::testing::gives;

    #[test]
    fn takes_the_first_item() {
        gives("first([null, 1])", "null");
        gives("first([{ share: 20% }]).share", "20%");
    }
}
