//! `settle documents`: a document (a voucher) that registers the payment of others (invoices)
//! gets one item per settled document in the list its profile names (`settle` in the
//! connector profile, docs/connectors.md), filled from the settled document and from the
//! document's own first line.
//!
//! The settled documents are those the rules found in the target (`find` gives the records
//! as the target listed them) or documents ledgerlink wrote itself (a reference: the record
//! the target answered when it was created). Applied at delivery, once the references are
//! delivered, so a payment registered for an invoice booked in the same run knows its number.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use rust_decimal::Decimal;

use super::document::{to_json, REF};
use crate::{
    connector::{
        profile::{Fields, Settle},
        Entity, FieldType,
    },
    eval::Value,
};

/// The marker a document's settled documents are kept under until delivery.
pub const SETTLE: &str = "$settle";

/// A settled document written by ledgerlink: its id in the target and the record the
/// target answered with.
pub struct Written<'a> {
    /// The id.
    pub id: &'a str,
    /// The target's record.
    pub record: Option<&'a Json>,
}

/// Replaces the `$settle` marker of `payload` by the items of the profile's settle list.
/// `written` holds the documents the references point to. An entity that cannot settle,
/// or a settled document that is neither a record nor a delivered reference, is an error
/// the document fails with: a payment must never be dropped silently.
pub fn apply(
    entity: &Entity,
    entity_name: &str,
    payload: &mut Map<String, Json>,
    written: &HashMap<String, Written<'_>>,
) -> Result<(), String> {
    let Some(settled) = payload.remove(SETTLE) else {
        return Ok(());
    };
    let Some(settle) = &entity.settle else {
        return Err(format!(
            "{entity_name} cannot settle other documents: its connector profile has no `settle`"
        ));
    };
    let settled = match settled {
        Json::Array(items) => items,
        Json::Null => Vec::new(),
        one => vec![one],
    };
    let line = crate::check::lines_field(entity)
        .and_then(|(field, _)| payload.get(field))
        .and_then(|lines| lines.get(0))
        .cloned()
        .unwrap_or(Json::Null);
    let item_fields = entity.fields.get(&settle.list).map(|list| &list.fields);
    let mut items = Vec::with_capacity(settled.len());
    for document in &settled {
        let (id, record) = settled_document(document, written)?;
        let mut item = item(settle, &id, record, &line);
        if let Some(fields) = item_fields {
            numbers_as_numbers(&mut item, fields);
        }
        items.push(Json::Object(item));
    }
    match payload.get_mut(&settle.list) {
        Some(Json::Array(list)) => list.extend(items),
        _ => {
            payload.insert(settle.list.clone(), Json::Array(items));
        }
    }
    Ok(())
}

/// The id and record of one settled document.
fn settled_document<'a>(
    document: &'a Json,
    written: &'a HashMap<String, Written<'a>>,
) -> Result<(Json, Option<&'a Json>), String> {
    let reference = document
        .as_object()
        .filter(|map| map.len() == 1)
        .and_then(|map| map.get(REF))
        .and_then(Json::as_str);
    match (reference, document) {
        (Some(key), _) => {
            let found = written
                .get(key)
                .ok_or_else(|| format!("the settled document {key} is not delivered"))?;
            let id = found
                .id
                .parse::<i64>()
                .map(Json::from)
                .unwrap_or_else(|_| Json::String(found.id.to_string()));
            Ok((id, found.record))
        }
        (None, Json::Object(_)) => Ok((Json::Null, Some(document))),
        (None, Json::Number(_) | Json::String(_)) => Ok((document.clone(), None)),
        (None, other) => Err(format!("cannot settle {other}: not a document")),
    }
}

fn item(settle: &Settle, id: &Json, record: Option<&Json>, line: &Json) -> Map<String, Json> {
    let mut item = Map::new();
    for (field, sources) in &settle.item {
        let value = sources
            .all()
            .iter()
            .find_map(|source| value_of(source, id, record, line));
        if let Some(value) = value {
            item.insert(field.clone(), value);
        }
    }
    item
}

/// A settled record may hold amounts as texts (`"449.00"`); the item sends them as the
/// numbers its declared fields are, like every other amount ledgerlink writes.
fn numbers_as_numbers(item: &mut Map<String, Json>, fields: &Fields) {
    for (name, value) in item.iter_mut() {
        let numeric = fields.get(name).is_some_and(|f| {
            matches!(
                f.r#type,
                FieldType::Money | FieldType::Decimal | FieldType::Integer
            )
        });
        if let (true, Json::String(text)) = (numeric, &*value) {
            if let Ok(number) = text.trim().parse::<Decimal>() {
                *value = to_json(&Value::Number(number));
            }
        }
    }
}

fn value_of(source: &str, id: &Json, record: Option<&Json>, line: &Json) -> Option<Json> {
    let (from, path) = match source.split_once('.') {
        Some(("settled", path)) => (record?, path),
        Some(("line", path)) => (line, path),
        _ if source == "id" => return Some(id.clone()).filter(|id| !id.is_null()),
        _ => return None,
    };
    let value = path
        .split('.')
        .try_fold(from, |value, field| value.get(field))?;
    (!value.is_null()).then(|| value.clone())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entity() -> Entity {
        serde_yaml_ng::from_str(
            "id: voucherNumber
settle:
  entity: BookedInvoice
  list: customerPayments
  item:
    customerInvoice: [id, settled.bookedInvoiceNumber]
    customer: settled.customer
    amount: [settled.remainder, line.amount]
    date: line.date
fields:
  voucherNumber: {type: integer}
  financeVouchers: {type: list, fields: {date: {type: date}, amount: {type: money}}}
  customerPayments: {type: list, fields: {amount: {type: money}, customerInvoice: {type: integer}}}
",
        )
        .expect("entity")
    }

    #[test]
    fn found_and_written_documents_become_items() {
        let mut payload = json!({
            "financeVouchers": [{ "date": "2026-03-09", "amount": "100.00" }],
            "$settle": [
                { "bookedInvoiceNumber": 20405, "customer": { "customerNumber": 7 }, "remainder": "60.00" },
                { "$ref": "k1" }
            ]
        })
        .as_object()
        .cloned()
        .expect("object");
        let booked = json!({ "bookedInvoiceNumber": 20500 });
        let written = HashMap::from([(
            "k1".to_string(),
            Written {
                id: "20500",
                record: Some(&booked),
            },
        )]);
        apply(&entity(), "acc.JournalVoucher", &mut payload, &written).expect("settled");
        assert_eq!(payload.get(SETTLE), None);
        assert_eq!(
            payload["customerPayments"],
            json!([
                { "customerInvoice": 20405, "customer": { "customerNumber": 7 }, "amount": 60.0, "date": "2026-03-09" },
                { "customerInvoice": 20500, "amount": 100.0, "date": "2026-03-09" }
            ])
        );
    }

    #[test]
    fn an_entity_without_settle_refuses_instead_of_dropping_the_payment() {
        let mut entity = entity();
        entity.settle = None;
        let mut payload = json!({ "$settle": [{ "bookedInvoiceNumber": 1 }] })
            .as_object()
            .cloned()
            .expect("object");
        let error = apply(&entity, "acc.X", &mut payload, &HashMap::new()).unwrap_err();
        assert!(error.contains("cannot settle"), "{error}");
    }

    #[test]
    fn no_marker_changes_nothing() {
        let mut payload = json!({ "a": 1 }).as_object().cloned().expect("object");
        apply(&entity(), "acc.X", &mut payload, &HashMap::new()).expect("nothing to do");
        assert_eq!(
            payload,
            json!({ "a": 1 }).as_object().cloned().expect("object")
        );
    }
}
