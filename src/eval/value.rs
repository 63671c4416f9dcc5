//! [`Value`]: what an expression evaluates to, with exact decimals and calendar dates.
//!
//! Values print the way rule authors write literals ([`fmt::Display`]), so an example's
//! result in the docs and an evaluated value compare as text too. They serialise to JSON
//! with every decimal as a JSON *string* (`"1250.50"`), because a JSON number is read as a
//! float by most consumers and money must never pass through a float; [`Value::from_json`]
//! reads JSON numbers back exactly from their text.

use std::{cmp::Ordering, fmt, str::FromStr, time::Duration};

use chrono::NaiveDate;
use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::EvalError;

/// A runtime value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`: a missing or empty field.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Text (Unicode).
    Text(String),
    /// An exact decimal; money amounts are numbers too.
    Number(Decimal),
    /// A percentage, stored as written: `20%` is `Percent(20)`.
    Percent(Decimal),
    /// A calendar date without a time zone.
    Date(NaiveDate),
    /// A length of time such as `24h` (whole milliseconds when it comes from a literal).
    Duration(Duration),
    /// `[a, b]`
    List(Vec<Value>),
    /// `{ share: 20%, label: "Forskudd" }`, fields in the order written.
    Record(IndexMap<String, Value>),
}

impl Value {
    /// The type's name as rule authors see it in messages: `text`, `number`, `date`, ….
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Text(_) => "text",
            Value::Number(_) => "number",
            Value::Percent(_) => "percent",
            Value::Date(_) => "date",
            Value::Duration(_) => "duration",
            Value::List(_) => "list",
            Value::Record(_) => "record",
        }
    }

    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as it reads inside an interpolated string or a `join`: text without quotes,
    /// `null` as nothing, everything else as [`fmt::Display`] writes it.
    pub fn to_plain_text(&self) -> String {
        match self {
            Value::Text(text) => text.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    /// Reads a JSON document exactly: JSON numbers become [`Value::Number`] from their
    /// text (never through `f64` arithmetic), strings stay text (a string that looks like a
    /// date or a number is not guessed at), objects keep their field order.
    ///
    /// serde_json (built without `arbitrary_precision`) keeps integers exactly and other
    /// numbers as the shortest text that reads back as the same `f64`, so a decimal of up
    /// to 15 significant digits such as `1250.50` comes back as written (`1250.5`); longer
    /// ones should be sent as JSON strings. A number beyond the decimal range is
    /// [`EvalErrorKind::Overflow`](super::EvalErrorKind::Overflow).
    pub fn from_json(json: &serde_json::Value) -> Result<Value, EvalError> {
        Ok(match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(number) => Value::Number(decimal_from_json(number)?),
            serde_json::Value::String(text) => Value::Text(text.clone()),
            serde_json::Value::Array(items) => Value::List(
                items
                    .iter()
                    .map(Value::from_json)
                    .collect::<Result<_, _>>()?,
            ),
            serde_json::Value::Object(fields) => Value::Record(
                fields
                    .iter()
                    .map(|(name, value)| Ok((name.clone(), Value::from_json(value)?)))
                    .collect::<Result<_, EvalError>>()?,
            ),
        })
    }

    /// Whether [`Value::from_json`] reads `json` without an error, without building the
    /// value: the same error where it would fail (a number beyond the decimal range).
    pub fn check_json(json: &serde_json::Value) -> Result<(), EvalError> {
        match json {
            serde_json::Value::Number(number) => decimal_from_json(number).map(drop),
            serde_json::Value::Array(items) => items.iter().try_for_each(Value::check_json),
            serde_json::Value::Object(fields) => fields.values().try_for_each(Value::check_json),
            _ => Ok(()),
        }
    }

    /// A `YYYY-MM-DD` date, checked against the calendar; anything else is a
    /// [`EvalErrorKind::BadArgument`](super::EvalErrorKind::BadArgument).
    pub fn parse_date(text: &str) -> Result<NaiveDate, EvalError> {
        let bad =
            || EvalError::bad_argument(format!("`{text}` is not a date written as YYYY-MM-DD"));
        let bytes = text.as_bytes();
        // Checked by hand because chrono's `%m`/`%d` also accept one digit (`2026-1-5`).
        let shape_ok = bytes.len() == 10
            && bytes.iter().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    *b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if !shape_ok {
            return Err(bad());
        }
        let number =
            |range: std::ops::Range<usize>| text.get(range).and_then(|s| s.parse::<u32>().ok());
        match (number(0..4), number(5..7), number(8..10)) {
            (Some(year), Some(month), Some(day)) => {
                let year = i32::try_from(year).map_err(|_| bad())?;
                NaiveDate::from_ymd_opt(year, month, day).ok_or_else(bad)
            }
            _ => Err(bad()),
        }
    }

    /// A duration literal as the grammar writes it: digits and one of `ms s m h d`.
    pub fn parse_duration(text: &str) -> Result<Duration, EvalError> {
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let milliseconds_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => {
                return Err(EvalError::bad_argument(format!(
                    "`{text}` is not a duration such as `24h`"
                )))
            }
        };
        if digits.is_empty() {
            return Err(EvalError::bad_argument(format!(
                "`{text}` is not a duration such as `24h`"
            )));
        }
        let too_long = || EvalError::overflow(format!("the duration `{text}` is too long"));
        // `digits` is all ASCII digits here, so a parse failure can only be overflow.
        let count: u64 = digits.parse().map_err(|_| too_long())?;
        count
            .checked_mul(milliseconds_per_unit)
            .map(Duration::from_millis)
            .ok_or_else(too_long)
    }

    /// Orders two values of one type: numbers numerically, percents among themselves, text
    /// by Unicode code point, dates and durations chronologically. Other pairs are a
    /// [`EvalErrorKind::TypeMismatch`](super::EvalErrorKind::TypeMismatch).
    pub fn compare(&self, other: &Value) -> Result<Ordering, EvalError> {
        match (self, other) {
            (Value::Number(a), Value::Number(b)) | (Value::Percent(a), Value::Percent(b)) => {
                Ok(a.cmp(b))
            }
            (Value::Text(a), Value::Text(b)) => Ok(a.cmp(b)),
            (Value::Date(a), Value::Date(b)) => Ok(a.cmp(b)),
            (Value::Duration(a), Value::Duration(b)) => Ok(a.cmp(b)),
            (a, b) => Err(EvalError::type_mismatch(format!(
                "cannot compare {} with {}",
                a.type_name(),
                b.type_name()
            ))),
        }
    }

    /// `==` of the rule language: `null` equals only `null`; numbers compare by value
    /// (`1.0 == 1`); lists and records compare item by item. Two non-null values of
    /// different types are a [`EvalErrorKind::TypeMismatch`](super::EvalErrorKind::TypeMismatch),
    /// since such a comparison is always a mistake in a rule.
    pub fn equals(&self, other: &Value) -> Result<bool, EvalError> {
        match (self, other) {
            (Value::Null, b) => Ok(b.is_null()),
            (_, Value::Null) => Ok(false),
            (Value::List(a), Value::List(b)) => {
                if a.len() != b.len() {
                    return Ok(false);
                }
                for (x, y) in a.iter().zip(b) {
                    if !x.equals(y)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            (Value::Record(a), Value::Record(b)) => {
                if a.len() != b.len() {
                    return Ok(false);
                }
                for (name, x) in a {
                    match b.get(name) {
                        Some(y) if x.equals(y)? => {}
                        _ => return Ok(false),
                    }
                }
                Ok(true)
            }
            (a, b) if std::mem::discriminant(a) == std::mem::discriminant(b) => Ok(a == b),
            (a, b) => Err(EvalError::type_mismatch(format!(
                "cannot compare {} with {}",
                a.type_name(),
                b.type_name()
            ))),
        }
    }
}

/// A JSON number from its text: plain decimal first, then scientific notation (`1e-7`),
/// which is how serde_json prints very small and very large floats.
fn decimal_from_json(number: &serde_json::Number) -> Result<Decimal, EvalError> {
    // Integers (most ids and quantities) without the text round trip; the same decimal.
    if let Some(int) = number.as_i64() {
        return Ok(Decimal::from(int));
    }
    if let Some(int) = number.as_u64() {
        return Ok(Decimal::from(int));
    }
    let text = number.to_string();
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| {
            EvalError::overflow(format!(
                "the number {text} cannot be held as an exact decimal"
            ))
        })
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Text(text) => write_text_literal(f, text),
            Value::Number(number) => write!(f, "{number}"),
            Value::Percent(number) => write!(f, "{number}%"),
            Value::Date(date) => write!(f, "{}", date.format("%Y-%m-%d")),
            Value::Duration(duration) => write_duration(f, *duration),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Record(fields) => {
                if fields.is_empty() {
                    return f.write_str("{}");
                }
                f.write_str("{ ")?;
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if is_plain_name(name) {
                        write!(f, "{name}: {value}")?;
                    } else {
                        write!(f, "`{name}`: {value}")?;
                    }
                }
                f.write_str(" }")
            }
        }
    }
}

/// `"…"` with the grammar's escapes, so the printed text parses back to the same value.
fn write_text_literal(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in text.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '{' => f.write_str("\\{")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// The largest unit that divides the duration exactly: `1d`, `90m`, `1500ms`.
fn write_duration(f: &mut fmt::Formatter<'_>, duration: Duration) -> fmt::Result {
    // Literals only hold whole milliseconds; anything finer is shown truncated.
    let milliseconds = duration.as_millis();
    for (unit, size) in [
        ("d", 86_400_000u128),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ] {
        if milliseconds != 0 && milliseconds % size == 0 {
            return write!(f, "{}{unit}", milliseconds / size);
        }
    }
    write!(f, "{milliseconds}ms")
}

/// A record field name that needs no backticks.
fn is_plain_name(name: &str) -> bool {
    const RESERVED: &[&str] = &[
        "and", "or", "not", "in", "if", "then", "else", "true", "false", "null",
    ];
    let mut chars = name.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && !RESERVED.contains(&name)
}

/// JSON with every decimal as a string (`"1250.50"`, percents as `"20%"`), dates as
/// `"YYYY-MM-DD"` and durations as written (`"24h"`), so no consumer reads money as a float.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Text(text) => serializer.serialize_str(text),
            Value::Number(number) => serializer.serialize_str(&number.to_string()),
            Value::Percent(_) | Value::Date(_) | Value::Duration(_) => {
                serializer.serialize_str(&self.to_string())
            }
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Record(fields) => {
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (name, value) in fields {
                    map.serialize_entry(name, value)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::EvalErrorKind;

    fn number(text: &str) -> Value {
        Value::Number(Decimal::from_str(text).unwrap())
    }

    #[test]
    fn display_writes_literals() {
        assert_eq!(number("1250.50").to_string(), "1250.50");
        assert_eq!(number("-3").to_string(), "-3");
        assert_eq!(Value::Percent(Decimal::from(20)).to_string(), "20%");
        assert_eq!(
            Value::Text("say \"hi\" {x}\n".into()).to_string(),
            r#""say \"hi\" \{x}\n""#
        );
        let date = NaiveDate::from_ymd_opt(2026, 1, 31).unwrap();
        assert_eq!(Value::Date(date).to_string(), "2026-01-31");
        assert_eq!(
            Value::List(vec![number("1"), Value::Null]).to_string(),
            "[1, null]"
        );
        let record: IndexMap<String, Value> = [
            ("share".to_string(), Value::Percent(Decimal::from(20))),
            ("Field name".to_string(), Value::Bool(true)),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            Value::Record(record).to_string(),
            "{ share: 20%, `Field name`: true }"
        );
        assert_eq!(
            Value::Duration(Duration::from_secs(86_400)).to_string(),
            "1d"
        );
        assert_eq!(
            Value::Duration(Duration::from_millis(1_500)).to_string(),
            "1500ms"
        );
        assert_eq!(Value::Duration(Duration::ZERO).to_string(), "0ms");
    }

    #[test]
    fn serialises_decimals_as_strings() {
        let record: IndexMap<String, Value> = [
            ("amount".to_string(), number("1250.50")),
            ("vat".to_string(), Value::Percent(Decimal::from(25))),
            (
                "due".to_string(),
                Value::Date(NaiveDate::from_ymd_opt(2026, 2, 1).unwrap()),
            ),
            ("note".to_string(), Value::Null),
        ]
        .into_iter()
        .collect();
        let json = serde_json::to_string(&Value::Record(record)).unwrap();
        assert_eq!(
            json,
            r#"{"amount":"1250.50","vat":"25%","due":"2026-02-01","note":null}"#
        );
    }

    #[test]
    fn reads_json_numbers_exactly() {
        let json: serde_json::Value = serde_json::from_str(
            r#"{"a": 0.1, "b": 12345678901234567, "c": 1e-7, "d": [true, "x", null]}"#,
        )
        .unwrap();
        let Value::Record(fields) = Value::from_json(&json).unwrap() else {
            panic!("not a record")
        };
        assert_eq!(fields["a"], number("0.1"));
        assert_eq!(fields["b"], number("12345678901234567"));
        assert_eq!(fields["c"], number("0.0000001"));
        assert_eq!(
            fields["d"],
            Value::List(vec![
                Value::Bool(true),
                Value::Text("x".into()),
                Value::Null
            ])
        );
        let huge: serde_json::Value = serde_json::from_str("1e300").unwrap();
        assert_eq!(
            Value::from_json(&huge).unwrap_err().kind,
            EvalErrorKind::Overflow
        );
    }

    #[test]
    fn dates_are_strict() {
        assert!(Value::parse_date("2024-02-29").is_ok());
        for bad in [
            "2026-02-29",
            "2026-1-05",
            "26-01-05",
            "2026/01/05",
            "",
            "2026-01-0５",
        ] {
            assert_eq!(
                Value::parse_date(bad).unwrap_err().kind,
                EvalErrorKind::BadArgument,
                "{bad}"
            );
        }
    }

    #[test]
    fn durations_parse_and_overflow() {
        assert_eq!(
            Value::parse_duration("24h").unwrap(),
            Duration::from_secs(86_400)
        );
        assert_eq!(
            Value::parse_duration("15ms").unwrap(),
            Duration::from_millis(15)
        );
        assert_eq!(
            Value::parse_duration("99999999999999999999d")
                .unwrap_err()
                .kind,
            EvalErrorKind::Overflow
        );
        assert_eq!(
            Value::parse_duration("h").unwrap_err().kind,
            EvalErrorKind::BadArgument
        );
        assert_eq!(
            Value::parse_duration("999999999999999999d")
                .unwrap_err()
                .kind,
            EvalErrorKind::Overflow
        );
        assert_eq!(
            Value::parse_duration("5w").unwrap_err().kind,
            EvalErrorKind::BadArgument
        );
    }

    #[test]
    fn equality_is_numeric_and_typed() {
        assert!(number("1.0").equals(&number("1")).unwrap());
        assert!(!Value::Null.equals(&number("1")).unwrap());
        assert!(Value::Null.equals(&Value::Null).unwrap());
        assert_eq!(
            number("1")
                .equals(&Value::Text("1".into()))
                .unwrap_err()
                .kind,
            EvalErrorKind::TypeMismatch
        );
    }
}
