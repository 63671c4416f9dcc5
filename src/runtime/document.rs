//! Documents: what evaluating a flow for one source record asks to write, before it becomes
//! an intent in the delivery ledger.
//!
//! A document's key is derived from the project, flow, source record and the document's
//! place in the plan (step path, split part, loop item), so re-evaluating the same record
//! always yields the same keys: that is what makes a re-run write nothing twice.

use rust_decimal::{prelude::ToPrimitive, Decimal};
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use crate::{
    connector::Entity,
    eval::{EvalError, Value},
    plan::EntityRef,
    syntax::ast::WriteKind,
};

/// A placeholder in a payload for the id another document gets in the target: written as
/// `{"$ref": "<intent key>"}` and replaced by the delivery loop once that intent is done.
pub const REF: &str = "$ref";

/// One write a flow asks for.
#[derive(Debug, Clone)]
pub struct Document {
    /// Deterministic key (hex SHA-256).
    pub key: String,
    /// upsert, ensure, create, credit or post.
    pub kind: WriteKind,
    /// Target system and entity.
    pub target: EntityRef,
    /// The body to send.
    pub payload: Map<String, Json>,
    /// How to find the record again: `{"field": …, "value": …}` (the `by` key, or the
    /// external reference the rule sets).
    pub lookup: Option<Json>,
    /// Keys of documents whose target ids this payload refers to.
    pub depends_on: Vec<String>,
    /// `ledger` / `inbox` for posts.
    pub destination: Option<String>,
}

impl Document {
    /// The deterministic key of a document at `path` for a source record.
    pub fn key(project: &str, flow: &str, source: &str, path: &str) -> String {
        hex_sha256(&[project, flow, source, path])
    }

    /// The operation name stored in the ledger.
    pub fn operation(&self) -> &'static str {
        self.kind.keyword()
    }
}

/// Hex SHA-256 of `parts`, each followed by a NUL so `("ab", "c")` and `("a", "bc")` differ.
pub fn hex_sha256(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    // By hand rather than `format!` per byte: a key is made for every document.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(64);
    for byte in hasher.finalize() {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

/// A value as it goes into a payload for a field of type `field_type`: exact decimals become
/// JSON numbers only when their shortest JSON form is the same decimal (so no digit is lost
/// on the wire), otherwise they stay text; dates are `YYYY-MM-DD`.
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Text(t) => Json::String(t.clone()),
        Value::Number(n) | Value::Percent(n) => exact_decimal(*n),
        Value::Date(_) | Value::Duration(_) => Json::String(value.to_plain_text()),
        Value::List(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Record(fields) => {
            // A document bound by `let` carries its key: it is sent as a reference.
            if let Some(Value::Text(key)) = fields.get(REF) {
                let mut map = Map::new();
                map.insert(REF.into(), Json::String(key.clone()));
                return Json::Object(map);
            }
            Json::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), to_json(v)))
                    .collect(),
            )
        }
    }
}

/// [`to_json`] of the value [`Value::from_json`] reads from `json`, without building that
/// value: what a document field set to JSON bound as it lies (a found record, a loop item)
/// gets. Numbers go through the same exact decimals; an object with a `$ref` text is the
/// reference alone; the error is the one reading the value would give.
pub fn json_payload(json: &Json) -> Result<Json, EvalError> {
    // A copy put right in place: copying keeps each object's index, where building the
    // objects anew would hash every key again.
    let mut copy = json.clone();
    payload_in_place(&mut copy)?;
    Ok(copy)
}

/// [`json_payload`] of a copy, in place.
fn payload_in_place(json: &mut Json) -> Result<(), EvalError> {
    match json {
        Json::Null | Json::Bool(_) | Json::String(_) => {}
        Json::Number(number) => {
            // Integers that a float holds exactly stay as they are (as `exact_decimal`).
            let exact = number.as_i64().is_some_and(|i| i.unsigned_abs() <= 1 << 53)
                || number.as_u64().is_some_and(|u| u <= 1 << 53);
            if !exact {
                *json = to_json(&Value::from_json(json)?);
            }
        }
        Json::Array(items) => items.iter_mut().try_for_each(payload_in_place)?,
        Json::Object(fields) => {
            if let Some(Json::String(key)) = fields.get(REF) {
                let key = key.clone();
                fields.values().try_for_each(Value::check_json)?;
                let mut map = Map::new();
                map.insert(REF.into(), Json::String(key));
                *json = Json::Object(map);
                return Ok(());
            }
            fields.values_mut().try_for_each(payload_in_place)?;
        }
    }
    Ok(())
}

/// Exact powers of ten as floats (every one up to 10^22 is a float exactly).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// [`exact_number`] of the decimal's text, with shortcuts that give the same JSON without
/// the text round trips:
/// - whole numbers that a float holds exactly (at most 2^53) are that JSON integer;
/// - a non-zero fraction of at most 15 significant digits and at least 0.001 is the float
///   nearest to it: such a decimal always reads back from that float's shortest form
///   (15 digits is what a float keeps), which serde_json writes without an exponent at that
///   size; mantissa and power of ten are both exact floats, so their quotient is the
///   correctly rounded float that parsing the text gives.
fn exact_decimal(n: Decimal) -> Json {
    if n.scale() == 0 {
        if let Some(int) = n.to_i64().filter(|i| i.unsigned_abs() <= 1 << 53) {
            return Json::from(int);
        }
    }
    let scale = n.scale() as usize;
    let mantissa = n.mantissa().unsigned_abs();
    if (1..POW10.len()).contains(&scale)
        && mantissa != 0
        && mantissa < 1_000_000_000_000_000
        && mantissa * 1_000 >= 10u128.pow(n.scale())
    {
        // Exact: both below 2^53.
        #[allow(clippy::cast_precision_loss)]
        let magnitude = mantissa as f64 / POW10[scale];
        let float = if n.is_sign_negative() {
            -magnitude
        } else {
            magnitude
        };
        if let Some(number) = serde_json::Number::from_f64(float) {
            return Json::Number(number);
        }
    }
    exact_number(&n.to_string())
}

/// `"12.50"` → the JSON number `12.5` when that is the same decimal; text otherwise.
fn exact_number(text: &str) -> Json {
    let Ok(float) = text.parse::<f64>() else {
        return Json::String(text.to_string());
    };
    let Some(number) = serde_json::Number::from_f64(float) else {
        return Json::String(text.to_string());
    };
    let same = |a: &str, b: &str| match (
        a.parse::<rust_decimal::Decimal>(),
        b.parse::<rust_decimal::Decimal>(),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    };
    if same(&number.to_string(), text) {
        // Whole numbers print without a fraction so integer fields get integers.
        if let Ok(int) = text.parse::<i64>() {
            return Json::from(int);
        }
        Json::Number(number)
    } else {
        Json::String(text.to_string())
    }
}

/// The keys of the documents a payload refers to.
pub fn references(json: &Json, out: &mut Vec<String>) {
    match json {
        Json::Object(map) => object_references(map, out),
        Json::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// [`references`] of an object, such as a payload (without wrapping it in a [`Json`]).
pub fn object_references(map: &Map<String, Json>, out: &mut Vec<String>) {
    if let Some(Json::String(key)) = map.get(REF) {
        if map.len() == 1 {
            out.push(key.clone());
            return;
        }
    }
    map.values().for_each(|v| references(v, out));
}

/// Replaces every `{"$ref": key}` with the target id `resolve(key)` returns (as a JSON number
/// when the id is numeric); `None` when a reference is not resolved yet.
pub fn resolve_references(json: &Json, resolve: &dyn Fn(&str) -> Option<String>) -> Option<Json> {
    Some(match json {
        Json::Object(map) => {
            if let (Some(Json::String(key)), 1) = (map.get(REF), map.len()) {
                let id = resolve(key)?;
                return Some(
                    id.parse::<i64>()
                        .map(Json::from)
                        .unwrap_or(Json::String(id)),
                );
            }
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), resolve_references(v, resolve)?);
            }
            Json::Object(out)
        }
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|v| resolve_references(v, resolve))
                .collect::<Option<_>>()?,
        ),
        other => other.clone(),
    })
}

/// The external reference a create sets (the first field the profile marks `external_ref`
/// that the payload has), as a lookup.
pub fn external_lookup(entity: &Entity, payload: &Map<String, Json>) -> Option<Json> {
    entity
        .fields
        .iter()
        .filter(|(_, f)| f.external_ref)
        .find_map(|(name, _)| {
            let value = payload.get(name)?;
            (!value.is_null()).then(|| serde_json::json!({ "field": name, "value": value }))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_deterministic_and_distinct() {
        let a = Document::key("p", "f", "winner.Quote:1", "0/1");
        assert_eq!(a, Document::key("p", "f", "winner.Quote:1", "0/1"));
        assert_ne!(a, Document::key("p", "f", "winner.Quote:1", "0/2"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn numbers_are_exact_on_the_wire() {
        assert_eq!(exact_number("12.50").to_string(), "12.5");
        assert_eq!(exact_number("7"), Json::from(7));
        // More digits than a float holds: kept as text rather than rounded.
        assert_eq!(
            exact_number("12345678901234567.89"),
            Json::String("12345678901234567.89".into())
        );
    }

    #[test]
    fn whole_numbers_take_the_shortcut_to_the_same_json() {
        for text in [
            "0",
            "-0",
            "7",
            "-7",
            "9007199254740992",
            "9007199254740993",
            "1e3",
        ] {
            let Ok(n) = text.parse::<Decimal>() else {
                continue;
            };
            assert_eq!(exact_decimal(n), exact_number(&n.to_string()), "{text}");
        }
        assert_eq!(exact_decimal(Decimal::new(500, 2)).to_string(), "5.0");
    }

    #[test]
    fn fractions_take_the_shortcut_to_the_same_json() {
        // Decimals around the shortcut's edges (digits, size, scale, sign) and a spread of
        // ordinary amounts: each the same JSON as through the text.
        let mut mantissas: Vec<i64> = vec![
            1,
            5,
            9,
            10,
            99,
            100,
            101,
            999,
            1_000,
            12_345,
            99_999_999,
            999_999_999_999_999,
            1_000_000_000_000_000,
            123_456_789_012_345,
            4_503_599_627_370_497,
            9_007_199_254_740_993,
        ];
        let mut x: i64 = 88_172_645_463_325_252;
        for _ in 0..3_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            mantissas.push((x % 10_000_000_000_000_000).abs() >> (x & 31));
        }
        for mantissa in mantissas {
            for scale in 0..=28 {
                for sign in [1, -1] {
                    let n = Decimal::new(sign * mantissa, scale);
                    let (fast, slow) = (exact_decimal(n), exact_number(&n.to_string()));
                    assert_eq!(fast, slow, "{n}");
                    assert_eq!(fast.to_string(), slow.to_string(), "{n}");
                }
            }
        }
    }

    #[test]
    fn json_payload_is_the_json_of_the_value_read() {
        let json: Json = serde_json::from_str(
            r#"{"a": 1, "b": -2, "c": 12.5, "d": 9007199254740993, "e": 1e20, "f": 0.1,
                "g": [1.0, "x", null, true, {"$ref": "k", "n": 3}], "h": {"i": 0.000001},
                "j": -0.0, "k": 18446744073709551615}"#,
        )
        .unwrap();
        let expected = to_json(&Value::from_json(&json).unwrap());
        let got = json_payload(&json).unwrap();
        assert_eq!(got, expected);
        assert_eq!(got.to_string(), expected.to_string());
        let huge: Json = serde_json::from_str(r#"{"x": [1e300]}"#).unwrap();
        assert_eq!(
            json_payload(&huge).unwrap_err().kind,
            Value::from_json(&huge).unwrap_err().kind
        );
    }

    #[test]
    fn references_resolve_once_known() {
        let payload = serde_json::json!({ "party": { "$ref": "k1" }, "lines": [{ "product": { "$ref": "k2" } }] });
        let mut refs = Vec::new();
        references(&payload, &mut refs);
        assert_eq!(refs, ["k1", "k2"]);
        assert!(resolve_references(&payload, &|k| (k == "k1").then(|| "7".to_string())).is_none());
        let resolved = resolve_references(&payload, &|k| {
            Some(if k == "k1" { "7".into() } else { "P-1".into() })
        })
        .unwrap();
        assert_eq!(
            resolved,
            serde_json::json!({ "party": 7, "lines": [{ "product": "P-1" }] })
        );
    }
}
