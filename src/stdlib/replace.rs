//! `replace(text, from, to)`: every occurrence of `from` in `text` replaced by `to`.

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `replace` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "replace",
    params: &[
        Param {
            name: "text",
            kind: Kind::Text,
            optional: false,
        },
        Param {
            name: "from",
            kind: Kind::Text,
            optional: false,
        },
        Param {
            name: "to",
            kind: Kind::Text,
            optional: false,
        },
    ],
    returns: Returns::Kind(Kind::Text),
    inverse: None,
    summary: "The text with every occurrence of `from` replaced by `to` (case-sensitive).",
    examples: &[
        Example {
            call: r#"replace("Nordvik A/S", "A/S", "AS")"#,
            result: r#""Nordvik AS""#,
        },
        Example {
            call: r#"replace("1.250,50", ".", "")"#,
            result: r#""1250,50""#,
        },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let text = arguments::text(FUNCTION.name, args, 0)?;
    let from = arguments::text(FUNCTION.name, args, 1)?;
    let to = arguments::text(FUNCTION.name, args, 2)?;
    // Rust would insert `to` between every character for an empty pattern; no rule means that.
    if from.is_empty() {
        return Err(EvalError::bad_argument(
            "`replace` needs a non-empty text to replace",
        ));
    }
    Ok(Value::Text(text.replace(from, to)))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fails, gives};
    use crate::eval::EvalErrorKind;

    #[test]
    fn replaces_every_occurrence() {
        gives(r#"replace("a-b-c", "-", " ")"#, r#""a b c""#);
        gives(r#"replace("abc", "x", "y")"#, r#""abc""#);
        fails(r#"replace("abc", "", "y")"#, EvalErrorKind::BadArgument);
    }
}
