//! `credit X for record`: a credit note made from the document it credits. The profile's
//! `credit` says which fields the credit copies from that document (those the rules do not
//! set) and which it negates (e-conomic: a draft invoice with the invoice's lines at negative
//! quantities). The credited document is read as ledgerlink last saw it: the record the
//! target answered when ledgerlink created it, on top of the records of the documents it was
//! made from (a booked invoice is its draft, booked), so nothing is fetched again.

use rust_decimal::Decimal;
use serde_json::{Map, Value as Json};

use crate::{
    connector::{
        profile::{Credit, Fields},
        Entity,
    },
    eval::Value,
    runtime::document::to_json,
};

/// Fills `payload` (the rules' fields of the credit) from `credited` by `spec`: copied fields
/// the rules left out, only as far as `entity` declares them writable, and negated paths.
pub fn fill(
    entity: &Entity,
    spec: &Credit,
    payload: &mut Map<String, Json>,
    credited: &Map<String, Json>,
) {
    for field in &spec.copy {
        if payload.contains_key(field) {
            continue;
        }
        let (Some(value), Some(declared)) = (credited.get(field), entity.fields.get(field)) else {
            continue;
        };
        if declared.read_only {
            continue;
        }
        let mut value = writable(value, &declared.fields);
        for path in &spec.negate {
            if let Some(rest) = path.strip_prefix(field.as_str()) {
                negate(&mut value, rest.trim_start_matches('.'));
            }
        }
        payload.insert(field.clone(), value);
    }
}

/// `value` without the fields `fields` does not declare writable, down through records and
/// lists (a copied line carries no line number or computed total). Values of fields without
/// declared parts pass whole.
fn writable(value: &Json, fields: &Fields) -> Json {
    if fields.is_empty() {
        return value.clone();
    }
    match value {
        Json::Object(map) => Json::Object(
            map.iter()
                .filter_map(|(name, v)| {
                    let field = fields.get(name).filter(|f| !f.read_only)?;
                    Some((name.clone(), writable(v, &field.fields)))
                })
                .collect(),
        ),
        Json::Array(items) => {
            Json::Array(items.iter().map(|item| writable(item, fields)).collect())
        }
        other => other.clone(),
    }
}

/// Negates the number at `path` (through lists: every item).
fn negate(value: &mut Json, path: &str) {
    if path.is_empty() {
        let number = match &*value {
            Json::Number(n) => n.to_string().parse::<Decimal>().ok(),
            Json::String(text) => text.trim().parse::<Decimal>().ok(),
            _ => None,
        };
        if let Some(number) = number {
            *value = to_json(&Value::Number(-number));
        }
        return;
    }
    let (head, rest) = path.split_once('.').unwrap_or((path, ""));
    match value {
        Json::Array(items) => items.iter_mut().for_each(|item| negate(item, path)),
        Json::Object(map) => {
            if let Some(inner) = map.get_mut(head) {
                negate(inner, rest);
            }
        }
        _ => {}
    }
}

/// The credited document as ledgerlink last saw it: `records` (oldest first; the documents
/// it was made from, then its own) merged field by field, later ones winning.
pub fn merged<'a>(records: impl IntoIterator<Item = &'a Json>) -> Map<String, Json> {
    let mut merged = Map::new();
    for record in records {
        if let Json::Object(map) = record {
            for (k, v) in map {
                merged.insert(k.clone(), v.clone());
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entity() -> Entity {
        serde_yaml_ng::from_str(
            "id: draftInvoiceNumber
credit: { copy: [currency, customer, lines, date], negate: [lines.quantity] }
fields:
  draftInvoiceNumber: {type: integer, read_only: true}
  date: {type: date}
  currency: {type: text}
  customer: {type: reference, entity: Customer}
  references: {type: record, fields: {other: {type: text}}}
  lines:
    type: list
    fields:
      lineNumber: {type: integer, read_only: true}
      product: {type: reference, entity: Product}
      quantity: {type: decimal}
      unitNetPrice: {type: money}
      totalNetAmount: {type: money, read_only: true}
",
        )
        .expect("entity")
    }

    #[test]
    fn a_credit_copies_the_invoice_with_negated_quantities() {
        let entity = entity();
        let spec = entity.credit.clone().expect("credit");
        let draft = json!({ "draftInvoiceNumber": 7, "date": "2026-03-09", "currency": "DKK", "customer": 10233,
            "lines": [{ "lineNumber": 1, "product": "HH-1", "quantity": 2, "unitNetPrice": 359.2, "totalNetAmount": 718.4 },
                      { "lineNumber": 2, "product": "FRAGT", "quantity": "1", "unitNetPrice": 39.0 }] });
        let booked =
            json!({ "bookedInvoiceNumber": 20430, "draftInvoice": { "draftInvoiceNumber": 7 } });
        let credited = merged([&draft, &booked]);
        let mut payload = json!({ "references": { "other": "#1041" }, "date": "2026-03-20" })
            .as_object()
            .cloned()
            .expect("object");
        fill(&entity, &spec, &mut payload, &credited);
        assert_eq!(
            Json::Object(payload),
            json!({ "references": { "other": "#1041" }, "date": "2026-03-20", "currency": "DKK", "customer": 10233,
                "lines": [{ "product": "HH-1", "quantity": -2, "unitNetPrice": 359.2 },
                          { "product": "FRAGT", "quantity": -1, "unitNetPrice": 39.0 }] })
        );
    }
}
