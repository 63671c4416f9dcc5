//! Comparing what a document would write with what a target already holds, and finding the
//! target's record again by a document's `lookup`. Shared by delivery (which updates only when
//! a field differs) and by the read-only previews (`run --dry-run`, `diff`), so they can never
//! disagree about what counts as a change.

use serde::Serialize;
use serde_json::Value as Json;

use super::document::REF;
use crate::{
    connector::client::{Client, ConnectorError},
    eval::Value,
};

/// Equal as values: `12.5` and `12.50` are the same amount, `7` and `"7"` the same text.
pub fn same(a: &Json, b: &Json) -> bool {
    match (Value::from_json(a), Value::from_json(b)) {
        (Ok(x), Ok(y)) => x.equals(&y).unwrap_or(false) || x.to_plain_text() == y.to_plain_text(),
        _ => a == b,
    }
}

/// Does the target's value of a field already hold what the body sends for it? Records
/// hold the sent fields (the target adds ids and computed fields of its own); lists hold
/// as many items, each holding the sent item at the same place.
pub fn holds(current: Option<&Json>, sent: &Json) -> bool {
    match (current, sent) {
        (Some(Json::Array(have)), Json::Array(want)) => {
            have.len() == want.len() && have.iter().zip(want).all(|(h, w)| holds(Some(h), w))
        }
        (Some(have @ Json::Object(_)), Json::Object(_)) if sent.get(REF).is_none() => {
            contains(have, sent)
        }
        (Some(have), _) => same(have, sent),
        (None, _) => false,
    }
}

/// What an update of `record` sends: the fields of `body` the record does not hold. A list
/// item without an `id` takes the `id` of the record's item at the same place, so a changed
/// address is written over the one the record has rather than added beside it; items past
/// the record's are new.
pub fn update_patch(record: &Json, body: &Json) -> Json {
    let Some(fields) = body.as_object() else {
        return body.clone();
    };
    let mut patch = serde_json::Map::new();
    for (field, sent) in fields {
        let current = record.get(field);
        if holds(current, sent) {
            continue;
        }
        let value = match (current, sent) {
            (Some(Json::Array(have)), Json::Array(want)) => Json::Array(
                want.iter()
                    .enumerate()
                    .map(|(i, item)| with_id_of(have.get(i), item))
                    .collect(),
            ),
            _ => sent.clone(),
        };
        patch.insert(field.clone(), value);
    }
    Json::Object(patch)
}

/// `item`, with the `id` of `existing` when it has none of its own.
fn with_id_of(existing: Option<&Json>, item: &Json) -> Json {
    let (Some(id), Json::Object(fields)) = (existing.and_then(|e| e.get("id")), item) else {
        return item.clone();
    };
    if fields.contains_key("id") || id.is_null() {
        return item.clone();
    }
    let mut fields = fields.clone();
    fields.insert("id".into(), id.clone());
    Json::Object(fields)
}

/// Does the target's record already hold every field of the body? Then an upsert has
/// nothing to change and sends nothing.
pub fn contains(record: &Json, body: &Json) -> bool {
    let Some(fields) = body.as_object() else {
        return true;
    };
    fields.iter().all(|(k, v)| holds(record.get(k), v))
}

/// One field whose value differs, at a path like `lines[0].quantity`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    /// Where: field names joined by `.`, list items as `[i]`.
    pub path: String,
    /// The value now; absent when the field is not there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Json>,
    /// The value afterwards; absent when the field goes away.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Json>,
}

/// The fields of `body` that `record` does not hold (exactly those that make [`contains`]
/// false), each narrowed down to the nested fields that differ where it is a record or list.
pub fn update_changes(record: &Json, body: &Json) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let Some(fields) = body.as_object() else {
        return out;
    };
    for (field, sent) in fields {
        let current = record.get(field);
        if holds(current, sent) {
            continue;
        }
        let before = out.len();
        changes(field, current, Some(sent), &mut out);
        if out.len() == before {
            // Equal part by part, yet not held as a whole: show the whole field.
            out.push(FieldChange {
                path: field.clone(),
                before: current.cloned(),
                after: Some(sent.clone()),
            });
        }
    }
    out
}

/// Every difference between two values, path by path: records by field (fields of `after`
/// first, then those only `before` has), lists by position, scalars with [`same`].
pub fn changes(
    path: &str,
    before: Option<&Json>,
    after: Option<&Json>,
    out: &mut Vec<FieldChange>,
) {
    changes_by(path, before, after, &same, out);
}

/// [`changes`] with the scalar comparison given: [`same`] for what a target holds, exact
/// equality for golden files (where `12.5` and `12.50` are different text).
pub fn changes_by(
    path: &str,
    before: Option<&Json>,
    after: Option<&Json>,
    equal: &dyn Fn(&Json, &Json) -> bool,
    out: &mut Vec<FieldChange>,
) {
    match (before, after) {
        (None, None) => {}
        (Some(Json::Object(a)), Some(Json::Object(b))) => {
            for (key, value) in b {
                changes_by(&member(path, key), a.get(key), Some(value), equal, out);
            }
            for (key, value) in a.iter().filter(|(k, _)| !b.contains_key(*k)) {
                changes_by(&member(path, key), Some(value), None, equal, out);
            }
        }
        (Some(Json::Array(a)), Some(Json::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                changes_by(&format!("{path}[{i}]"), a.get(i), b.get(i), equal, out);
            }
        }
        (Some(a), Some(b)) if equal(a, b) => {}
        _ => out.push(FieldChange {
            path: path.to_string(),
            before: before.cloned(),
            after: after.cloned(),
        }),
    }
}

/// `path.key`, or `path["odd key"]` for keys that are not plain names.
fn member(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Json::String(key.to_string())),
    }
}

/// The keys of a lookup: `{"field", "value"}` or `{"all": [{field, value}, …]}`.
pub fn lookup_keys(lookup: &Json) -> Vec<(&str, &Json)> {
    match lookup.get("all").and_then(Json::as_array) {
        Some(all) => all
            .iter()
            .filter_map(|k| Some((k.get("field")?.as_str()?, k.get("value")?)))
            .collect(),
        None => lookup
            .get("field")
            .and_then(Json::as_str)
            .zip(lookup.get("value"))
            .into_iter()
            .collect(),
    }
}

/// Looks a record up by a document's lookup, with one search call (read-only).
pub async fn find(
    client: &Client,
    entity: &str,
    lookup: &Json,
) -> Result<Option<Json>, ConnectorError> {
    let keys = lookup_keys(lookup);
    let Some((field, value)) = keys.first() else {
        return Ok(None);
    };
    let candidates = client.search(entity, field, value).await?;
    Ok(candidates.into_iter().find(|record| {
        keys.iter()
            .all(|(f, v)| record.get(*f).is_some_and(|r| same(r, v)))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_compare_as_values() {
        assert!(same(&json!(12.5), &json!(12.50)));
        assert!(same(&json!(7), &json!("7")));
        assert!(!same(&json!("a"), &json!("b")));
        assert!(contains(&json!({"a": 1, "b": 2}), &json!({"a": "1"})));
        assert!(!contains(&json!({"a": 1}), &json!({"a": 1, "c": 3})));
    }

    #[test]
    fn update_changes_are_exactly_what_contains_refuses() {
        let record = json!({"name": "Ann", "city": "Oslo", "refs": {"other": "A", "x": 1}});
        let body = json!({"name": "Ann", "city": "Bergen", "refs": {"other": "B", "x": 1}});
        assert!(!contains(&record, &body));
        let changes = update_changes(&record, &body);
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["city", "refs.other"]);
        assert_eq!(changes[0].before, Some(json!("Oslo")));
        assert_eq!(changes[0].after, Some(json!("Bergen")));
        assert!(update_changes(&record, &json!({"name": "Ann"})).is_empty());
    }

    #[test]
    fn lists_compare_by_position() {
        let mut out = Vec::new();
        changes(
            "lines",
            Some(&json!([{"q": 1}, {"q": 2}])),
            Some(&json!([{"q": 1}, {"q": 3}, {"q": 4}])),
            &mut out,
        );
        let paths: Vec<&str> = out.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["lines[1].q", "lines[2]"]);
        assert_eq!(out[1].before, None);
    }

    #[test]
    fn lookups_with_one_or_several_keys() {
        assert_eq!(
            lookup_keys(&json!({"field": "sku", "value": "A"})),
            [("sku", &json!("A"))]
        );
        let all = json!({"all": [{"field": "a", "value": 1}, {"field": "b", "value": 2}]});
        assert_eq!(lookup_keys(&all).len(), 2);
    }

    #[test]
    fn an_update_sends_what_changed_and_writes_list_items_over_the_records() {
        let record = json!({
            "id": 2, "code": "K-10442", "name": "Nordby",
            "addresses": [{"id": 7, "street": "Storgata 12", "city": "Lillehammer"}],
        });
        let body = json!({
            "code": "K-10442", "name": "Nordby",
            "addresses": [
                {"street": "Kirkegata 3", "city": "Lillehammer"},
                {"street": "Lagerveien 1", "city": "Hamar"},
            ],
        });
        assert_eq!(
            update_patch(&record, &body),
            json!({"addresses": [
                {"id": 7, "street": "Kirkegata 3", "city": "Lillehammer"},
                {"street": "Lagerveien 1", "city": "Hamar"},
            ]})
        );
    }

    #[test]
    fn a_record_with_ids_and_computed_fields_of_its_own_holds_what_was_sent() {
        let record = json!({"addresses": [{"id": 7, "street": "Storgata 12", "full": "…"}]});
        assert!(contains(
            &record,
            &json!({"addresses": [{"street": "Storgata 12"}]})
        ));
        assert!(!contains(
            &record,
            &json!({"addresses": [{"street": "Storgata 12"}, {"street": "Nytt 1"}]})
        ));
        assert_eq!(
            update_patch(&record, &json!({"addresses": [{"street": "Storgata 12"}]})),
            json!({})
        );
    }
}
