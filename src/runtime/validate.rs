//! Checking a document against its target entity before it is recorded for delivery.
//!
//! The checker proves that rules set every required field and write values of the right type
//! where it can see them; it cannot see the data. A source record without a name, with an
//! amount of `12,5x` or a currency of `XYZ` would make a document the target refuses — or,
//! worse, accepts and books wrongly. Such a record is reported in the export log with the
//! field and the value, and nothing is recorded or sent for it.

use rust_decimal::Decimal;
use serde_json::{Map, Value as Json};

use crate::connector::{
    profile::{FieldType, Fields},
    Entity, Field,
};

/// Checks `payload` for `entity`; with `creates`, the document must carry the entity's
/// required fields itself (a write that may create the record from it). Returns the first
/// problem found, naming the field.
pub fn check_document(
    entity: &Entity,
    payload: &Map<String, Json>,
    creates: bool,
) -> Result<(), String> {
    let mut scope = vec![Level {
        fields: &entity.fields,
        values: payload,
        name: "",
        item: None,
    }];
    check_level(&mut scope, creates)
}

/// One nesting level: its declared fields and its values, innermost last in a scope, and
/// where it is for messages: the field it is in and, for a line, its number (from 1).
#[derive(Clone, Copy)]
struct Level<'a> {
    fields: &'a Fields,
    values: &'a Map<String, Json>,
    name: &'a str,
    item: Option<usize>,
}

/// Checks the innermost level of `scope`; nested records and lines are pushed onto it while
/// they are checked. Field names for messages are only formatted once a problem is found:
/// every document of a run passes through here.
///
/// Each value the document carries is checked against its declaration: a document carries
/// far fewer fields than its entity declares, and the declarations are the cheaper map to
/// look into. Required fields are counted on the way; only when some are missing are they
/// looked for, in the profile's order, to name the first.
fn check_level<'a>(scope: &mut Vec<Level<'a>>, creates: bool) -> Result<(), String> {
    let Some(&level) = scope.last() else {
        return Ok(());
    };
    let needed = |field: &Field| creates && field.required && !field.read_only;
    let mut required_present = 0;
    for (name, value) in level.values {
        if is_empty(value) {
            continue;
        }
        let Some(field) = level.fields.get(name.as_str()) else {
            continue;
        };
        if needed(field) {
            required_present += 1;
        }
        check_value(scope, field, value, || at(scope, name))?;
        match (field.r#type, value) {
            (FieldType::Record, Json::Object(values)) if !field.fields.is_empty() => {
                scope.push(Level {
                    fields: &field.fields,
                    values,
                    name,
                    item: None,
                });
                let checked = check_level(scope, creates);
                scope.pop();
                checked?;
            }
            (FieldType::List, Json::Array(items)) if !field.fields.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    let Json::Object(values) = item else { continue };
                    scope.push(Level {
                        fields: &field.fields,
                        values,
                        name,
                        item: Some(i + 1),
                    });
                    let checked = check_level(scope, creates);
                    scope.pop();
                    checked?;
                }
            }
            _ => {}
        }
    }
    if creates && level.fields.values().filter(|f| needed(f)).count() > required_present {
        for (name, field) in level.fields {
            if needed(field) && level.values.get(name).is_none_or(is_empty) {
                return Err(format!("{} is required but has no value", at(scope, name)));
            }
        }
    }
    Ok(())
}

/// A field as messages name it: `` `lines[1].quantity` ``.
fn at(scope: &[Level<'_>], name: &str) -> String {
    let mut text = String::from("`");
    for level in scope.iter().skip(1) {
        text.push_str(level.name);
        if let Some(item) = level.item {
            text.push_str(&format!("[{item}]"));
        }
        text.push('.');
    }
    text.push_str(name);
    text.push('`');
    text
}

/// `null` and text of only spaces are no value; `0` and `false` are values.
fn is_empty(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// The scalar checks: numbers are exact decimals, dates are dates, money is in a currency.
fn check_value(
    scope: &[Level<'_>],
    field: &Field,
    value: &Json,
    at: impl Fn() -> String,
) -> Result<(), String> {
    // A reference to another document of the run gets its id at delivery.
    if value.get(super::document::REF).is_some() {
        return Ok(());
    }
    let whole = || decimal(value).is_some_and(|d| d.fract().is_zero());
    let date = || {
        let text = value.as_str().unwrap_or_default();
        crate::eval::Value::parse_date(text.get(..10).unwrap_or(text)).is_ok()
    };
    match field.r#type {
        FieldType::Money | FieldType::Decimal if decimal(value).is_none() => {
            Err(format!("{} is {}, not a number", at(), shown(value)))
        }
        FieldType::Money => match currency_of(scope, field) {
            Some(code) => check_currency(code),
            None => Ok(()),
        },
        FieldType::Integer if !whole() => {
            Err(format!("{} is {}, not a whole number", at(), shown(value)))
        }
        FieldType::Date if !date() => Err(format!(
            "{} is {}, not a date (YYYY-MM-DD)",
            at(),
            shown(value)
        )),
        _ => Ok(()),
    }
}

/// A JSON number or a decimal string as an exact decimal (`"12.50"`, `-3`, `1e3` are;
/// `"12,50"` and `"12.5x"` are not).
fn decimal(value: &Json) -> Option<Decimal> {
    match value {
        Json::Number(n) => {
            if let Some(int) = n.as_i64() {
                return Some(Decimal::from(int));
            }
            let text = n.to_string();
            text.parse::<Decimal>()
                .ok()
                .or_else(|| Decimal::from_scientific(&text).ok())
        }
        Json::String(s) => s.trim().parse::<Decimal>().ok(),
        _ => None,
    }
}

/// The currency a money field is in: the value of the field its profile names (looked up
/// from the innermost level outwards, so a line's price follows its document's currency), or
/// the fixed code the profile gives. `None` when the document does not say.
fn currency_of<'a>(scope: &[Level<'a>], field: &'a Field) -> Option<&'a str> {
    let named = field.currency.as_deref()?;
    for level in scope.iter().rev() {
        if level.fields.contains_key(named) {
            return level.values.get(named).and_then(Json::as_str);
        }
    }
    // Not a field of the entity: the profile fixes the currency itself (`currency: EUR`).
    let fixed = named.len() == 3 && named.bytes().all(|b| b.is_ascii_uppercase());
    fixed.then_some(named)
}

/// An ISO 4217 currency with a minor unit (`XXX`, "no currency", has none).
fn check_currency(code: &str) -> Result<(), String> {
    match iso_currency::Currency::from_code(code.trim()) {
        Some(currency) if currency.exponent().is_some() => Ok(()),
        Some(_) => Err(format!(
            "the currency `{code}` has no minor unit; amounts cannot be booked in it"
        )),
        None => Err(format!(
            "the currency `{code}` is not an ISO 4217 currency code"
        )),
    }
}

/// A value as the export log shows it: text quoted, long values cut.
fn shown(value: &Json) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity() -> Entity {
        serde_yaml_ng::from_str(
            r#"
path: /vouchers
id: number
operations: [create]
fields:
  number: {type: integer, read_only: true, required: true}
  text: {type: text, required: true}
  date: {type: date}
  currency: {type: text, required: true}
  amount: {type: money, required: true, currency: currency}
  fee: {type: money, currency: EUR}
  lines:
    type: list
    fields:
      price: {type: money, currency: currency}
      quantity: {type: integer}
"#,
        )
        .expect("test entity")
    }

    fn check(payload: Json, creates: bool) -> Result<(), String> {
        let Json::Object(map) = payload else {
            unreachable!()
        };
        check_document(&entity(), &map, creates)
    }

    #[test]
    fn a_complete_document_passes() {
        let doc = json!({"text": "x", "currency": "DKK", "amount": "12.50", "date": "2026-03-01",
            "fee": 1, "lines": [{"price": 2.5, "quantity": 3}]});
        assert_eq!(check(doc, true), Ok(()));
    }

    #[test]
    fn required_fields_need_values_on_create_only() {
        let doc = json!({"text": "  ", "currency": "DKK", "amount": 1});
        assert_eq!(
            check(doc.clone(), true),
            Err("`text` is required but has no value".into())
        );
        assert_eq!(check(doc, false), Ok(()));
    }

    #[test]
    fn amounts_must_be_exact_numbers() {
        let doc = json!({"text": "x", "currency": "DKK", "amount": "12,5x"});
        assert_eq!(
            check(doc, true),
            Err(r#"`amount` is "12,5x", not a number"#.into())
        );
        let doc =
            json!({"text": "x", "currency": "DKK", "amount": 1, "lines": [{"quantity": 1.5}]});
        assert_eq!(
            check(doc, true),
            Err("`lines[1].quantity` is 1.5, not a whole number".into())
        );
    }

    #[test]
    fn currencies_are_iso_4217_codes_with_a_minor_unit() {
        let doc = json!({"text": "x", "currency": "XYZ", "amount": 1});
        assert_eq!(
            check(doc, true),
            Err("the currency `XYZ` is not an ISO 4217 currency code".into())
        );
        let doc = json!({"text": "x", "currency": "XXX", "amount": 1});
        assert!(check(doc, true).unwrap_err().contains("no minor unit"));
        // A line's price is in its document's currency.
        let doc = json!({"text": "x", "currency": "NOK", "amount": 1, "lines": [{"price": 1}]});
        assert_eq!(check(doc, true), Ok(()));
    }

    #[test]
    fn dates_are_checked() {
        let doc = json!({"text": "x", "currency": "DKK", "amount": 1, "date": "2026-13-01"});
        assert_eq!(
            check(doc, true),
            Err(r#"`date` is "2026-13-01", not a date (YYYY-MM-DD)"#.into())
        );
    }
}
