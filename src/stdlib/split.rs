//! `split(text, separator)`: the pieces of a text between separators, as a list of text.

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `split` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "split",
    params: &[
        Param {
            name: "text",
            kind: Kind::Text,
            optional: false,
        },
        Param {
            name: "separator",
            kind: Kind::Text,
            optional: false,
        },
    ],
    returns: Returns::ListOf(Kind::Text),
    inverse: Some("join"),
    summary: "The pieces of the text between separators; an empty text gives an empty list.",
    examples: &[
        Example {
            call: r#"split("a;b;c", ";")"#,
            result: r#"["a", "b", "c"]"#,
        },
        Example {
            call: r#"split("a;;b", ";")"#,
            result: r#"["a", "", "b"]"#,
        },
        Example {
            call: r#"split("", ";")"#,
            result: "[]",
        },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let text = arguments::text(FUNCTION.name, args, 0)?;
    let separator = arguments::text(FUNCTION.name, args, 1)?;
    if separator.is_empty() {
        return Err(EvalError::bad_argument(
            "`split` needs a non-empty separator",
        ));
    }
    // An empty field is no pieces, not one empty piece, so `count(split(x, ","))` is 0 for "".
    if text.is_empty() {
        return Ok(Value::List(Vec::new()));
    }
    Ok(Value::List(
        text.split(separator)
            .map(|piece| Value::Text(piece.to_string()))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fails, gives};
    use crate::eval::EvalErrorKind;

    #[test]
    fn splits_on_every_separator() {
        gives(r#"split("a, b", ", ")"#, r#"["a", "b"]"#);
        gives(r#"split("abc", ",")"#, r#"["abc"]"#);
        gives(r#"split(",", ",")"#, r#"["", ""]"#);
        fails(r#"split("abc", "")"#, EvalErrorKind::BadArgument);
    }

    #[test]
    fn join_undoes_split() {
        gives(r#"join(split("a;;b", ";"), ";")"#, r#""a;;b""#);
    }
}
