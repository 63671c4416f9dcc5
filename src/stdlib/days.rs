//! `days(from, to)`: the number of days from one date to another (`to − from`), negative
//! when `to` is earlier.

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `days` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "days",
    params: &[
        Param {
            name: "from",
            kind: Kind::Date,
            optional: false,
        },
        Param {
            name: "to",
            kind: Kind::Date,
            optional: false,
        },
    ],
    returns: Returns::Kind(Kind::Number),
    inverse: None,
    summary: "The number of days from `from` to `to` (to − from); negative when `to` is earlier.",
    examples: &[
        Example {
            call: "days(2026-01-01, 2026-03-01)",
            result: "59",
        },
        Example {
            call: r#"days(date("2026-02-01"), 2026-01-01)"#,
            result: "-31",
        },
        Example {
            call: "days(2024-02-28, 2024-03-01)",
            result: "2",
        },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let from = arguments::date(FUNCTION.name, args, 0)?;
    let to = arguments::date(FUNCTION.name, args, 1)?;
    Ok(Value::Number((to - from).num_days().into()))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fails, gives};
    use crate::eval::EvalErrorKind;

    #[test]
    fn counts_calendar_days() {
        gives("days(2026-01-31, 2026-01-31)", "0");
        gives("days(2025-01-01, 2026-01-01)", "365");
        fails(
            r#"days("2026-01-01", 2026-01-02)"#,
            EvalErrorKind::TypeMismatch,
        );
    }
}
