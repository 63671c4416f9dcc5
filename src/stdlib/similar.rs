//! `similar(a, b)`: how alike two texts are, from 0 (nothing in common) to 1 (the same),
//! for fuzzy matching such as `match similar(crm.Name, erp.Name) >= 0.85 suggest`.
//!
//! Both texts are normalised first (trimmed, lower-cased, runs of whitespace collapsed to
//! one space), then compared with the Jaro-Winkler similarity (`strsim::jaro_winkler`),
//! which suits names because it rewards a common beginning. The score is rounded half away
//! from zero to 4 decimals and returned as an exact decimal, so thresholds in rules compare
//! exactly and a score never changes between runs or machines.

use rust_decimal::Decimal;

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `similar` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "similar",
    params: &[
        Param { name: "a", kind: Kind::Text, optional: false },
        Param { name: "b", kind: Kind::Text, optional: false },
    ],
    returns: Returns::Kind(Kind::Number),
    inverse: None,
    summary: "The Jaro-Winkler similarity of the two texts after trimming, lower-casing and collapsing whitespace, from 0 to 1, rounded to 4 decimals.",
    examples: &[
        Example { call: r#"similar("Nordvik AS", "  NORDVIK   as ")"#, result: "1" },
        Example { call: r#"similar("Nordvik AS", "Nordvik A/S")"#, result: "0.9818" },
        Example { call: r#"similar("Nordvik AS", "Bergen Bygg")"#, result: "0.4606" },
        Example { call: r#"similar("abc", "xyz")"#, result: "0" },
    ],
    call,
};

/// Decimals kept of the score.
const PLACES: u32 = 4;

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let a = normalise(arguments::text(FUNCTION.name, args, 0)?);
    let b = normalise(arguments::text(FUNCTION.name, args, 1)?);
    let score = strsim::jaro_winkler(&a, &b).clamp(0.0, 1.0);
    // A float only here, for the score of a fuzzy match; it becomes an exact decimal of
    // 4 places at once (f64::round is half away from zero), never money.
    let ten_thousandths = (score * 10_000.0).round() as i64;
    Ok(Value::Number(
        Decimal::new(ten_thousandths, PLACES).normalize(),
    ))
}

/// Trimmed, lower-cased, with each run of whitespace made one space.
fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::super::testing::{eval, gives};
    use crate::eval::Value;

    #[test]
    fn identical_after_normalising_is_one() {
        gives(r#"similar("", "")"#, "1");
        gives(r#"similar(" Åse ", "åse")"#, "1");
        gives(r#"similar("a", "")"#, "0");
    }

    #[test]
    fn scores_have_four_decimals_and_are_symmetric() {
        let Ok(Value::Number(score)) = eval(r#"similar("Bergen Bygg AS", "Bergen Byg A/S")"#)
        else {
            panic!()
        };
        assert!(score.scale() <= 4);
        assert!(score > rust_decimal::Decimal::ZERO && score < rust_decimal::Decimal::ONE);
        gives(
            r#"similar("Martha", "Marhta") == similar("Marhta", "Martha")"#,
            "true",
        );
    }
}
