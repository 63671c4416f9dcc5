//! `join(list, separator)`: the items of a list as one text, with the separator between them.

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `join` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "join",
    params: &[
        Param {
            name: "list",
            kind: Kind::List,
            optional: false,
        },
        Param {
            name: "separator",
            kind: Kind::Text,
            optional: false,
        },
    ],
    returns: Returns::Kind(Kind::Text),
    inverse: Some("split"),
    summary: "The items as one text with the separator between them; nulls are skipped.",
    examples: &[
        Example {
            call: r#"join(["Storgata 1", "0155 Oslo"], ", ")"#,
            result: r#""Storgata 1, 0155 Oslo""#,
        },
        Example {
            call: r#"join(["A", null, "B"], "-")"#,
            result: r#""A-B""#,
        },
        Example {
            call: r#"join([2026, 1.5, 20%], "/")"#,
            result: r#""2026/1.5/20%""#,
        },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let items = arguments::list(FUNCTION.name, args, 0)?;
    let separator = arguments::text(FUNCTION.name, args, 1)?;
    let mut pieces = Vec::with_capacity(items.len());
    for item in items {
        match item {
            // Skipped so an empty address line does not leave a doubled separator.
            Value::Null => {}
            Value::List(_) | Value::Record(_) => {
                return Err(EvalError::type_mismatch(format!(
                    "`join` joins text, numbers, dates and bools, found a {}",
                    item.type_name()
                )))
            }
            other => pieces.push(other.to_plain_text()),
        }
    }
    Ok(Value::Text(pieces.join(separator)))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fails, gives};
    use crate::eval::EvalErrorKind;

    #[test]
    fn joins_plain_text_forms() {
        gives(r#"join([], ",")"#, r#""""#);
        gives(r#"join([2026-01-31, true], " ")"#, r#""2026-01-31 true""#);
        fails(r#"join([[1]], ",")"#, EvalErrorKind::TypeMismatch);
    }
}
