//! Records named in a reference field: `unit = "u"`, `country = "NO"`, `product = g.key`.
//!
//! Rules name records the way people know them — a unit by its symbol, a country by its ISO
//! code, a product by its code — while the target wants the record's id in a `reference`
//! field. An entity whose profile says how it is `found_by` can be named: before a document is
//! sent, every reference field to such an entity (at any depth the profile declares: a line's
//! `product`, an address's `country`) whose value is text is replaced by the id of the one
//! record whose field equals the text, trying the `found_by` fields in order. A number is an
//! id already, and a reference to a document of the same run (`party = customer`) is resolved
//! by the ledger, not here.
//!
//! A name that finds nothing, or more than one record, is a permanent error for that document
//! (a dead letter naming the entity, the fields and the text). The ids found are kept for the
//! rest of the delivery, so a unit named on every line costs one search per run; a name that
//! found nothing is searched again, since a later document of the run may create its record.

use std::{collections::HashMap, sync::Mutex};

use serde_json::Value as Json;

use crate::connector::{
    client::{Client, ConnectorError},
    profile::{FieldType, Fields},
};

/// The ids of names already found in this delivery, by `(system, entity, text)`.
type Answers = HashMap<(String, String, String), Json>;

/// The named records of one delivery.
#[derive(Default)]
pub struct Names {
    found: Mutex<Answers>,
}

/// One named reference in a payload: the referenced entity and the text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Named {
    entity: String,
    text: String,
}

impl Names {
    /// Replaces the named references of `payload` (a document for `entity` of `client`'s
    /// system) by ids. `Err` is the connector's error: permanent for a name that finds no
    /// single record, transient when the search itself could not be made.
    pub async fn resolve(
        &self,
        client: &Client,
        entity: &str,
        payload: &mut Json,
    ) -> Result<(), ConnectorError> {
        let profile = client.profile();
        let Some(spec) = profile.entities.get(entity) else {
            return Ok(());
        };
        let named = collect(&spec.fields, payload, client);
        if named.is_empty() {
            return Ok(());
        }
        let mut ids = HashMap::new();
        for name in named {
            if ids.contains_key(&name) {
                continue;
            }
            let id = self.id_of(client, &name).await?;
            ids.insert(name, id);
        }
        replace(&spec.fields, payload, client, &ids);
        Ok(())
    }

    /// The id of the record `name` names, from this delivery's answers or by searching.
    async fn id_of(&self, client: &Client, name: &Named) -> Result<Json, ConnectorError> {
        let key = (
            client.alias().to_string(),
            name.entity.clone(),
            name.text.clone(),
        );
        if let Some(id) = self.lock().get(&key) {
            return Ok(id.clone());
        }
        let id = search(client, name)
            .await?
            .map_err(ConnectorError::permanent)?;
        self.lock().insert(key, id.clone());
        Ok(id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Answers> {
        // A panic elsewhere cannot leave the answers half-written: each is one insert.
        self.found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Searches the `found_by` fields of the named entity in order; the first field that finds
/// records decides: one record is the answer, several are ambiguous.
async fn search(client: &Client, name: &Named) -> Result<Result<Json, String>, ConnectorError> {
    let profile = client.profile();
    let Some(spec) = profile.entities.get(&name.entity) else {
        return Ok(Err(format!("no entity `{}` in the profile", name.entity)));
    };
    let value = Json::String(name.text.clone());
    for field in &spec.found_by {
        let found = client.search(&name.entity, field, &value).await?;
        match found.as_slice() {
            [] => continue,
            [record] => {
                return Ok(record
                    .get(&spec.id)
                    .filter(|id| !id.is_null())
                    .cloned()
                    .ok_or_else(|| {
                        format!(
                            "{}.{} `{}` has no `{}`",
                            client.alias(),
                            name.entity,
                            name.text,
                            spec.id
                        )
                    }));
            }
            several => {
                return Ok(Err(format!(
                    "{} records of {}.{} have {field} `{}`; name one by a field that is unique",
                    several.len(),
                    client.alias(),
                    name.entity,
                    name.text
                )))
            }
        }
    }
    Ok(Err(format!(
        "no {}.{} has {} `{}`",
        client.alias(),
        name.entity,
        spec.found_by.join(" or "),
        name.text
    )))
}

/// The entity a field refers to when a text in it is a name: a `reference` (or a list of
/// references) to an entity with `found_by` fields.
fn named_entity<'f>(field: &'f crate::connector::Field, client: &Client) -> Option<&'f str> {
    let refers = field.r#type == FieldType::Reference
        || (field.r#type == FieldType::List && field.item == Some(FieldType::Reference));
    let entity = field.entity.as_deref().filter(|_| refers)?;
    let named = client
        .profile()
        .entities
        .get(entity)
        .is_some_and(|e| !e.found_by.is_empty());
    named.then_some(entity)
}

/// Walks `value` against `fields`, calling `at` with each named reference's entity and the
/// slot holding its text.
fn walk<'v>(
    fields: &Fields,
    value: &'v mut Json,
    client: &Client,
    at: &mut dyn FnMut(&str, &'v mut Json),
) {
    let Json::Object(map) = value else { return };
    for (key, slot) in map.iter_mut() {
        let Some(field) = fields.get(key.as_str()) else {
            continue;
        };
        if let Some(entity) = named_entity(field, client) {
            match slot {
                Json::String(_) => at(entity, slot),
                Json::Array(items) => {
                    for item in items.iter_mut().filter(|i| i.is_string()) {
                        at(entity, item);
                    }
                }
                _ => {}
            }
            continue;
        }
        if field.fields.is_empty() {
            continue;
        }
        match slot {
            Json::Object(_) => walk(&field.fields, slot, client, at),
            Json::Array(items) => {
                for item in items {
                    walk(&field.fields, item, client, at);
                }
            }
            _ => {}
        }
    }
}

/// The named references of a payload (`walk` hands out mutable slots; this only reads them).
fn collect(fields: &Fields, payload: &mut Json, client: &Client) -> Vec<Named> {
    let mut named = Vec::new();
    walk(fields, payload, client, &mut |entity, slot| {
        if let Json::String(text) = slot {
            named.push(Named {
                entity: entity.to_string(),
                text: text.clone(),
            });
        }
    });
    named
}

/// Whether `payload`, a document for `entity` of `client`'s system, names any record. The
/// payload is only copied (to walk it) when the profile lets some entity be named at all:
/// most profiles do not, and this runs for every create sent together with others.
pub fn names_records(client: &Client, entity: &str, payload: &Json) -> bool {
    let profile = client.profile();
    let Some(spec) = profile.entities.get(entity) else {
        return false;
    };
    if profile.entities.values().all(|e| e.found_by.is_empty()) {
        return false;
    }
    !collect(&spec.fields, &mut payload.clone(), client).is_empty()
}

fn replace(fields: &Fields, payload: &mut Json, client: &Client, ids: &HashMap<Named, Json>) {
    walk(fields, payload, client, &mut |entity, slot| {
        if let Json::String(text) = slot {
            let name = Named {
                entity: entity.to_string(),
                text: text.clone(),
            };
            if let Some(id) = ids.get(&name) {
                *slot = id.clone();
            }
        }
    });
}
