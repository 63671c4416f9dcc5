//! `upper(text)`: text in upper case, by Unicode's rules (`ß` → `SS`).

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `upper` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "upper",
    params: &[Param {
        name: "text",
        kind: Kind::Text,
        optional: false,
    }],
    returns: Returns::Kind(Kind::Text),
    inverse: None,
    summary: "The text in upper case, by Unicode's rules.",
    examples: &[
        Example {
            call: r#"upper("Blåbær AS")"#,
            result: r#""BLÅBÆR AS""#,
        },
        Example {
            call: r#"upper("dk")"#,
            result: r#""DK""#,
        },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let text = arguments::text(FUNCTION.name, args, 0)?;
    Ok(Value::Text(text.to_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fails, gives};
    use crate::eval::EvalErrorKind;

    #[test]
    fn uppers_unicode() {
        gives(r#"upper("Straße")"#, r#""STRASSE""#);
        gives("upper(null)", "null");
        fails("upper([])", EvalErrorKind::TypeMismatch);
    }
}
