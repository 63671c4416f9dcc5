//! `lower(text)`: text in lower case, by Unicode's rules (`Å` → `å`).

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `lower` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "lower",
    params: &[Param {
        name: "text",
        kind: Kind::Text,
        optional: false,
    }],
    returns: Returns::Kind(Kind::Text),
    inverse: None,
    summary: "The text in lower case, by Unicode's rules.",
    examples: &[
        Example {
            call: r#"lower("ÅSE Nordmann")"#,
            result: r#""åse nordmann""#,
        },
        Example {
            call: r#"lower("Post@Firma.NO")"#,
            result: r#""post@firma.no""#,
        },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let text = arguments::text(FUNCTION.name, args, 0)?;
    Ok(Value::Text(text.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fails, gives};
    use crate::eval::EvalErrorKind;

    #[test]
    fn lowers_unicode() {
        gives(r#"lower("ÆØÅ ÄÖ")"#, r#""æøå äö""#);
        gives(r#"lower("")"#, r#""""#);
        gives("lower(null)", "null");
        fails("lower(1)", EvalErrorKind::TypeMismatch);
    }
}
