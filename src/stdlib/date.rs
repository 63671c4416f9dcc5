//! `date(text)`: the calendar date written as `YYYY-MM-DD` in a text, such as a date read
//! from a JSON field or a CSV column.

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `date` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "date",
    params: &[Param {
        name: "text",
        kind: Kind::Text,
        optional: false,
    }],
    returns: Returns::Kind(Kind::Date),
    inverse: None,
    summary: "The date written as YYYY-MM-DD (exactly that shape, checked against the calendar).",
    examples: &[
        Example {
            call: r#"date("2026-01-31")"#,
            result: "2026-01-31",
        },
        Example {
            call: r#"date(" 2024-02-29 ")"#,
            result: "2024-02-29",
        },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let text = arguments::text(FUNCTION.name, args, 0)?;
    Value::parse_date(text.trim()).map(Value::Date)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fails, gives};
    use crate::eval::EvalErrorKind;

    #[test]
    fn reads_only_calendar_dates() {
        gives(r#"date("2026-12-31") == 2026-12-31"#, "true");
        fails(r#"date("2026-02-29")"#, EvalErrorKind::BadArgument);
        fails(r#"date("31.01.2026")"#, EvalErrorKind::BadArgument);
        fails(
            r#"date("2026-01-31T10:00:00Z")"#,
            EvalErrorKind::BadArgument,
        );
    }
}
