//! `digits(text)`: only the digits 0–9 of a text, for organisation numbers, account numbers
//! and phone numbers typed with spaces, dashes or a country prefix.

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `digits` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "digits",
    params: &[Param {
        name: "text",
        kind: Kind::Text,
        optional: false,
    }],
    returns: Returns::Kind(Kind::Text),
    inverse: None,
    summary: "Only the ASCII digits 0-9 of the text, in order; everything else is dropped.",
    examples: &[
        Example {
            call: r#"digits("DK-12 34 56 78")"#,
            result: r#""12345678""#,
        },
        Example {
            call: r#"digits("NO 987 654 321 MVA")"#,
            result: r#""987654321""#,
        },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let text = arguments::text(FUNCTION.name, args, 0)?;
    Ok(Value::Text(
        text.chars().filter(char::is_ascii_digit).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::gives;

    #[test]
    fn keeps_ascii_digits_only() {
        gives(r#"digits("٣ ²  1-2")"#, r#""12""#);
        gives(r#"digits("no digits")"#, r#""""#);
    }
}
