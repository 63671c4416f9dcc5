//! `round(number, places?)`: a number rounded to `places` decimals (default 2), rounding a
//! midpoint **half away from zero** (commercial rounding, as on Nordic invoices: 2.345 →
//! 2.35, −2.345 → −2.35), and written with exactly `places` decimals (`round(7)` is `7.00`).

use rust_decimal::{Decimal, RoundingStrategy};

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `round` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "round",
    params: &[
        Param {
            name: "number",
            kind: Kind::Number,
            optional: false,
        },
        Param {
            name: "places",
            kind: Kind::Number,
            optional: true,
        },
    ],
    returns: Returns::SameAsArgument(0),
    inverse: None,
    summary: "The number rounded to `places` decimals (default 2), half away from zero.",
    examples: &[
        Example {
            call: "round(2.345)",
            result: "2.35",
        },
        Example {
            call: "round(-2.345)",
            result: "-2.35",
        },
        Example {
            call: "round(2.5, 0)",
            result: "3",
        },
        Example {
            call: "round(1.004999, 2)",
            result: "1.00",
        },
        Example {
            call: "round(7)",
            result: "7.00",
        },
        Example {
            call: "round(12.345%, 1)",
            result: "12.3%",
        },
    ],
    call,
};

/// Decimal places when `places` is left out: the minor unit of NOK, DKK, SEK and EUR.
const DEFAULT_PLACES: u32 = 2;
/// The most decimals an exact decimal holds.
const MAX_PLACES: u32 = 28;

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let places = match arguments::optional(args, 1) {
        Some(value) => arguments::as_small_whole_number(FUNCTION.name, value, MAX_PLACES)?,
        None => DEFAULT_PLACES,
    };
    match arguments::argument(FUNCTION.name, args, 0)? {
        Value::Number(number) => Ok(Value::Number(round(*number, places))),
        Value::Percent(number) => Ok(Value::Percent(round(*number, places))),
        other => Err(EvalError::type_mismatch(format!(
            "`round` takes a number, found {}",
            other.type_name()
        ))),
    }
}

/// Rounds half away from zero to `places` decimals, then pads with zeros to exactly
/// `places` decimals so amounts print as money does (`7.00`).
pub(super) fn round(number: Decimal, places: u32) -> Decimal {
    let mut rounded = number.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    if rounded.scale() < places {
        // Only adds zeros; rust_decimal stops at the largest scale the mantissa allows.
        rounded.rescale(places);
    }
    rounded
}

#[cfg(test)]
mod tests {
    use super::super::testing::{eval, fails, gives};
    use crate::eval::EvalErrorKind;

    #[test]
    fn rounds_half_away_from_zero() {
        gives("round(0.125)", "0.13");
        gives("round(-0.125)", "-0.13");
        gives("round(0.5, 0)", "1");
        gives("round(-0.5, 0)", "-1");
        gives("round(1.5, 0)", "2");
        gives("round(2.5, 0)", "3");
        gives("round(1.23456, 28)", "1.23456");
    }

    #[test]
    fn pads_to_the_places_asked_for() {
        assert_eq!(eval("round(7)").unwrap().to_string(), "7.00");
        assert_eq!(eval("round(2.5, 3)").unwrap().to_string(), "2.500");
        assert_eq!(
            eval("round(79228162514264337593543950335, 2)")
                .unwrap()
                .to_string(),
            "79228162514264337593543950335"
        );
    }

    #[test]
    fn places_must_be_a_small_whole_number() {
        fails("round(1, 1.5)", EvalErrorKind::BadArgument);
        fails("round(1, -1)", EvalErrorKind::BadArgument);
        fails("round(1, 29)", EvalErrorKind::BadArgument);
        fails("round(1, 2%)", EvalErrorKind::TypeMismatch);
        gives("round(1.234, null)", "1.23");
    }
}
