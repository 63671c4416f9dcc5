//! `trim(text)`: text without leading and trailing whitespace (spaces, tabs, newlines and
//! the other Unicode white space, such as the no-break space spreadsheets leave behind).

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `trim` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "trim",
    params: &[Param {
        name: "text",
        kind: Kind::Text,
        optional: false,
    }],
    returns: Returns::Kind(Kind::Text),
    inverse: None,
    summary: "The text without whitespace at either end; whitespace inside is kept.",
    examples: &[Example {
        call: r#"trim("  Storgata 1\t")"#,
        result: r#""Storgata 1""#,
    }],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let text = arguments::text(FUNCTION.name, args, 0)?;
    Ok(Value::Text(text.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::testing::gives;

    #[test]
    fn trims_unicode_whitespace_only_at_the_ends() {
        gives("trim(\"\u{a0}Oslo  sentrum \\n\")", r#""Oslo  sentrum""#);
        gives(r#"trim("   ")"#, r#""""#);
    }
}
