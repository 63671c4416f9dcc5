//! `phone(text, default_prefix?)`: a phone number in international form, `+4512345678`.
//!
//! The result follows E.164 as far as text alone allows: spaces, dashes, dots, slashes and
//! parentheses are dropped, a `00` prefix becomes `+`, and a number without a prefix gets
//! the default country prefix. A national trunk `0` (`08-123 456` in Sweden, `020 …` in the
//! UK) is dropped when the prefix is added, except for Italy (`+39`), whose numbers keep it.
//! The number is not checked against any country's numbering plan.

use super::{arguments, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `phone` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "phone",
    params: &[
        Param { name: "number", kind: Kind::Text, optional: false },
        Param { name: "default_prefix", kind: Kind::Text, optional: true },
    ],
    returns: Returns::Kind(Kind::Text),
    inverse: None,
    summary: "The number as `+` country prefix and digits; a number without a prefix gets `default_prefix` (e.g. \"+45\").",
    examples: &[
        Example { call: r#"phone("(+47) 22 33 44 55")"#, result: r#""+4722334455""# },
        Example { call: r#"phone("0045 12-34-56-78")"#, result: r#""+4512345678""# },
        Example { call: r#"phone("12 34 56 78", "+45")"#, result: r#""+4512345678""# },
        Example { call: r#"phone("08-123 456 78", "+46")"#, result: r#""+46812345678""# },
        Example { call: r#"phone("+44 (0)20 7946 0958")"#, result: r#""+442079460958""# },
        Example { call: r#"phone("22 33 44 55")"#, result: r#""22334455""# },
    ],
    call,
};

/// E.164 allows at most 15 digits after the `+`.
const MAX_DIGITS: usize = 15;

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let raw = arguments::text(FUNCTION.name, args, 0)?;
    let default_prefix = match arguments::optional(args, 1) {
        Some(value) => Some(country_prefix(arguments::as_text(FUNCTION.name, value)?)?),
        None => None,
    };
    let trimmed = raw.trim();
    let international = trimmed.starts_with('+') || trimmed.starts_with("00");
    // `+44 (0)20 …` writes the trunk zero that is dialled only inside the country.
    let without_trunk = if international {
        trimmed.replace("(0)", "")
    } else {
        trimmed.to_string()
    };
    let cleaned: String = without_trunk
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '.' | '/' | '(' | ')')))
        .collect();
    if cleaned.is_empty() {
        return Ok(Value::Text(String::new()));
    }
    let (has_prefix, number) = match cleaned
        .strip_prefix('+')
        .or_else(|| cleaned.strip_prefix("00"))
    {
        Some(rest) => (true, rest),
        None => (false, cleaned.as_str()),
    };
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
        return Err(not_a_phone_number(raw));
    }
    let international = match (has_prefix, default_prefix) {
        (true, _) => number.to_string(),
        (false, Some(prefix)) => {
            let national = if prefix == "39" {
                number
            } else {
                number.strip_prefix('0').unwrap_or(number)
            };
            format!("{prefix}{national}")
        }
        // No prefix and none to add: the national number is all we can say.
        (false, None) => return Ok(Value::Text(number.to_string())),
    };
    if international.len() > MAX_DIGITS {
        return Err(not_a_phone_number(raw));
    }
    Ok(Value::Text(format!("+{international}")))
}

/// `+45`, `0045` or `45` → `45`: one to three digits.
fn country_prefix(text: &str) -> Result<String, EvalError> {
    let trimmed = text.trim();
    let digits = trimmed
        .strip_prefix('+')
        .or_else(|| trimmed.strip_prefix("00"))
        .unwrap_or(trimmed);
    if (1..=3).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
    {
        Ok(digits.to_string())
    } else {
        Err(EvalError::bad_argument(format!(
            "`{text}` is not a country prefix such as \"+45\""
        )))
    }
}

fn not_a_phone_number(raw: &str) -> EvalError {
    EvalError::bad_argument(format!("`{raw}` is not a phone number"))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fails, gives};
    use crate::eval::EvalErrorKind;

    #[test]
    fn normalises_prefixes() {
        gives(r#"phone("+45 12 34 56 78", "+46")"#, r#""+4512345678""#);
        gives(r#"phone("0039 06 1234 5678")"#, r#""+390612345678""#);
        gives(r#"phone("06 1234 5678", "+39")"#, r#""+390612345678""#);
        gives(r#"phone("020 7946 0958", "0044")"#, r#""+442079460958""#);
        gives(r#"phone("12.34.56.78", "45")"#, r#""+4512345678""#);
        gives(r#"phone("12345678", null)"#, r#""12345678""#);
        gives(r#"phone("  ")"#, r#""""#);
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        fails(r#"phone("call me")"#, EvalErrorKind::BadArgument);
        fails(r#"phone("+")"#, EvalErrorKind::BadArgument);
        fails(r#"phone("12 34 ext 5")"#, EvalErrorKind::BadArgument);
        fails(
            r#"phone("+45 12345678 / 87654321")"#,
            EvalErrorKind::BadArgument,
        );
        fails(r#"phone("12345678", "DK")"#, EvalErrorKind::BadArgument);
        fails(r#"phone("12345678", "+4545")"#, EvalErrorKind::BadArgument);
    }
}
