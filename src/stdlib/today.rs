//! `today()`: the evaluation date.
//!
//! This pure entry reads the machine's local clock (`chrono::Local`). The runtime is to
//! inject a fixed evaluation date for a run, so every record of one run sees the same day
//! and tests are repeatable; constant folding should leave `today()` alone.

use super::{Example, Function, Returns};
use crate::eval::{EvalError, Value};

/// The `today` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "today",
    params: &[],
    returns: Returns::Kind(super::Kind::Date),
    inverse: None,
    summary: "The date the rules are evaluated on (the run's date, in local time).",
    // The result changes every day, so `tests/stdlib.rs` evaluates this example but does not compare it.
    examples: &[Example {
        call: "today()",
        result: "2026-01-31",
    }],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    if !args.is_empty() {
        return Err(EvalError::new(
            crate::eval::EvalErrorKind::ArgumentCount,
            "`today()` takes no arguments",
        ));
    }
    Ok(Value::Date(chrono::Local::now().date_naive()))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{eval, fails};
    use crate::eval::{EvalErrorKind, Value};

    #[test]
    fn is_a_date() {
        assert!(matches!(eval("today()"), Ok(Value::Date(_))));
        fails("today(1)", EvalErrorKind::ArgumentCount);
    }
}
