//! The plan diff of `run --dry-run`: for each document a run would write, what it would do to
//! the target, field by field, found out the way delivery would (the document's `lookup`,
//! [`compare::find`]) but with read calls only. Nothing is created or updated anywhere, and no
//! state is written: the state store is only read, and only when it exists already.
//!
//! Each planned write gets one [`Action`]:
//! - `create`: a create, post or credit (always new), or an upsert/ensure whose lookup finds
//!   nothing; every field is listed.
//! - `update`: an upsert whose record exists and differs; only the differing fields are listed,
//!   with the value before and after ([`compare::update_changes`], the very test delivery uses).
//! - `unchanged`: an upsert whose record already holds every field, or an ensure whose record
//!   exists (ensure never updates).
//! - `recorded`: the ledger holds this document already (the record was evaluated before);
//!   a run does not send it again.
//! - `not_checked`: the target could not be asked; the reason is given, the dry run goes on.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::{
    clients,
    compare::{self, FieldChange},
    document::REF,
    state_exists, state_location, PlannedWrite, RunOptions, RunReport, RuntimeError,
};
use crate::{
    connector::client::Client,
    project::Project,
    state::{EventKind, IntentStatus, NewEvent, Store},
};

/// What a planned write would do to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new record.
    Create,
    /// Some fields of an existing record change.
    Update,
    /// The target already holds it: nothing is sent.
    Unchanged,
    /// Already in the delivery ledger: a run does not send it again.
    Recorded,
    /// The target could not be asked.
    NotChecked,
}

impl Action {
    /// The word shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Recorded => "recorded",
            Action::NotChecked => "not checked",
        }
    }
}

/// One planned write and its effect.
#[derive(Debug, Clone, Serialize)]
pub struct WritePreview {
    /// The flow.
    pub flow: String,
    /// The source record, `system.Entity:id`.
    pub source: String,
    /// upsert / ensure / create / credit / post.
    pub operation: String,
    /// `system.Entity`.
    pub target: String,
    /// What it would do.
    pub action: Action,
    /// The id of the existing target record, when one was found.
    pub target_id: Option<String>,
    /// Why, in one line.
    pub reason: String,
    /// The fields: all of them for a create, the differing ones for an update.
    pub changes: Vec<FieldChange>,
}

/// A source record for which nothing would be written, and why.
#[derive(Debug, Clone, Serialize)]
pub struct HeldRecord {
    /// The flow.
    pub flow: String,
    /// The source record.
    pub source: String,
    /// `skipped` (`require`, `since`) or `failed` (bad data).
    pub outcome: &'static str,
    /// The reason, as the export log would say it.
    pub reason: String,
}

/// The plan diff of a dry run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Preview {
    /// Every planned write, in evaluation order.
    pub writes: Vec<WritePreview>,
    /// Records skipped or not evaluable.
    pub held_back: Vec<HeldRecord>,
}

impl Preview {
    /// How many writes would do `action`.
    pub fn count(&self, action: Action) -> usize {
        self.writes.iter().filter(|w| w.action == action).count()
    }
}

/// Looks up every write a dry run planned in its target, read-only, and says what it would do.
pub async fn preview(
    project: &Project,
    options: &RunOptions,
    report: &RunReport,
) -> Result<Preview, RuntimeError> {
    let clients = clients(project, options.sink.as_deref())?;
    let url = state_location(project, options.state.as_deref());
    let store = if state_exists(&url) {
        Some(Store::open(&url).await?)
    } else {
        None
    };
    let mut seen = Seen::default();
    let mut writes = Vec::new();
    for write in &report.planned {
        let preview = one(write, &clients, store.as_ref(), &mut seen).await?;
        match &preview.target_id {
            Some(id) => {
                seen.ids.insert(write.key.clone(), id.clone());
            }
            None => {
                seen.placeholders.insert(
                    write.key.clone(),
                    format!("(id of the new {})", write.target),
                );
            }
        }
        writes.push(preview);
    }
    let held_back = report.held_back.iter().map(held).collect();
    Ok(Preview { writes, held_back })
}

/// What the earlier writes of the same dry run came to.
#[derive(Default)]
struct Seen {
    /// Document key → id of the existing target record it was found as.
    ids: HashMap<String, String>,
    /// Document key → a placeholder for the id of the record it would create.
    placeholders: HashMap<String, String>,
    /// Records this run would create, by target and lookup: the source and the payload.
    created: Vec<(String, Json, String, Json)>,
}

async fn one(
    write: &PlannedWrite,
    clients: &HashMap<String, Client>,
    store: Option<&Store>,
    seen: &mut Seen,
) -> Result<WritePreview, RuntimeError> {
    let (system, entity) = write
        .target
        .split_once('.')
        .unwrap_or((write.target.as_str(), ""));
    let mut preview = WritePreview {
        flow: write.flow.clone(),
        source: write.source.clone(),
        operation: write.operation.clone(),
        target: write.target.clone(),
        action: Action::Create,
        target_id: None,
        reason: String::new(),
        changes: Vec::new(),
    };
    if let Some(store) = store {
        if let Some(intent) = store.intent(&write.key).await? {
            preview.action = Action::Recorded;
            preview.target_id = intent.target_id.clone();
            preview.reason = match intent.status {
                IntentStatus::Done => format!(
                    "already delivered{}; the ledger keeps it, nothing is sent again",
                    intent
                        .target_id
                        .map(|id| format!(" as {} {id}", write.target))
                        .unwrap_or_default()
                ),
                IntentStatus::Failed => format!(
                    "a dead letter already ({}); `ledgerlink retry` sends it",
                    intent.error.unwrap_or_default()
                ),
                IntentStatus::Pending | IntentStatus::Attempted => {
                    "already recorded and waiting for delivery".to_string()
                }
            };
            return Ok(preview);
        }
    }
    let payload = with_references(&write.payload, &seen.ids, &seen.placeholders);
    let all_fields = || {
        let mut out = Vec::new();
        flatten("", &payload, &mut out);
        out
    };
    let lookup = match (&write.lookup, write.operation.as_str()) {
        // An amendment (`amend update`) writes over the record its original was sent as.
        (Some(lookup), "upsert" | "ensure" | "update" | super::amend::AMEND_UPDATE) => lookup,
        (_, "create" | "post" | "credit") => {
            preview.reason = format!("{} always makes a new record", write.operation);
            preview.changes = all_fields();
            return Ok(preview);
        }
        _ => {
            preview.reason = "no key to find an existing record by".to_string();
            preview.changes = all_fields();
            return Ok(preview);
        }
    };
    let keys = describe_lookup(lookup);
    // An earlier document of this run creates the record: delivery would find that one.
    if let Some((_, _, source, earlier)) = seen
        .created
        .iter()
        .find(|(target, l, _, _)| *target == write.target && l == lookup)
    {
        let changes = match write.operation.as_str() {
            "ensure" => Vec::new(),
            _ => compare::update_changes(earlier, &fields_only(&payload)),
        };
        preview.action = if changes.is_empty() {
            Action::Unchanged
        } else {
            Action::Update
        };
        preview.reason = format!(
            "the {} with {keys} is created earlier in this run (for {source})",
            write.target
        );
        preview.changes = changes;
        return Ok(preview);
    }
    let Some(client) = clients.get(system) else {
        preview.action = Action::NotChecked;
        preview.reason = format!("target not checked: no system `{system}` in the project");
        preview.changes = all_fields();
        return Ok(preview);
    };
    match compare::find(client, entity, lookup).await {
        Err(err) => {
            preview.action = Action::NotChecked;
            preview.reason = format!("target not checked: {err}");
            preview.changes = all_fields();
        }
        Ok(None) => {
            preview.reason = format!("no {} with {keys}", write.target);
            preview.changes = all_fields();
            seen.created.push((
                write.target.clone(),
                lookup.clone(),
                write.source.clone(),
                fields_only(&payload),
            ));
        }
        Ok(Some(record)) => {
            let id = client.id_of(entity, &record);
            let shown = id.clone().unwrap_or_else(|| "(no id)".into());
            preview.target_id = id;
            if write.operation == "ensure" {
                preview.action = Action::Unchanged;
                preview.reason = format!(
                    "{} {shown} exists ({keys}); ensure never changes it",
                    write.target
                );
                return Ok(preview);
            }
            let changes = compare::update_changes(&record, &fields_only(&payload));
            if changes.is_empty() {
                preview.action = Action::Unchanged;
                preview.reason = format!(
                    "{} {shown} ({keys}) already holds every field",
                    write.target
                );
            } else {
                preview.action = Action::Update;
                preview.reason = format!(
                    "{} {shown} ({keys}): {} field{} differ{}",
                    write.target,
                    changes.len(),
                    if changes.len() == 1 { "" } else { "s" },
                    if changes.len() == 1 { "s" } else { "" }
                );
                preview.changes = changes;
            }
        }
    }
    Ok(preview)
}

fn held(event: &NewEvent) -> HeldRecord {
    let source = event.source.clone().unwrap_or_default();
    // "S could not be evaluated: …" is shown under S: the reason need not repeat it.
    let reason = event
        .message
        .strip_prefix(source.as_str())
        .filter(|_| !source.is_empty())
        .map_or(event.message.as_str(), str::trim_start)
        .to_string();
    HeldRecord {
        flow: event.flow.clone().unwrap_or_default(),
        source,
        outcome: match event.kind {
            EventKind::Skipped => "skipped",
            _ => "failed",
        },
        reason,
    }
}

/// `email = "a@b.dk"`, `sku = "X" and location = 7`.
fn describe_lookup(lookup: &Json) -> String {
    compare::lookup_keys(lookup)
        .iter()
        .map(|(field, value)| format!("{field} = {value}"))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// `{"$ref": key}` → the id of the record that document was found as, or a placeholder
/// naming the record it would create.
fn with_references(
    json: &Json,
    ids: &HashMap<String, String>,
    placeholders: &HashMap<String, String>,
) -> Json {
    match json {
        Json::Object(map) => {
            if let (Some(Json::String(key)), 1) = (map.get(REF), map.len()) {
                if let Some(id) = ids.get(key) {
                    return id
                        .parse::<i64>()
                        .map(Json::from)
                        .unwrap_or_else(|_| Json::String(id.clone()));
                }
                return Json::String(
                    placeholders
                        .get(key)
                        .cloned()
                        .unwrap_or_else(|| "(id of another document of this run)".into()),
                );
            }
            Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), with_references(v, ids, placeholders)))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|v| with_references(v, ids, placeholders))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The fields delivery compares: the `$` instructions (destination, settlement, …) are not
/// fields of the target record.
fn fields_only(payload: &Json) -> Json {
    match payload {
        Json::Object(map) => Json::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map<_, _>>(),
        ),
        other => other.clone(),
    }
}

/// Every leaf of a new document: records field by field, lists of records item by item.
fn flatten(path: &str, value: &Json, out: &mut Vec<FieldChange>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Json::Object(map) if !map.is_empty() => {
            for (key, item) in map {
                flatten(&join(key), item, out);
            }
        }
        Json::Array(items) if items.iter().any(Json::is_object) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{path}[{i}]"), item, out);
            }
        }
        leaf => out.push(FieldChange {
            path: path.to_string(),
            before: None,
            after: Some(leaf.clone()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_documents_are_listed_leaf_by_leaf() {
        let mut out = Vec::new();
        flatten(
            "",
            &json!({"name": "A", "lines": [{"q": 1}], "tags": ["x"], "$destination": "ledger"}),
            &mut out,
        );
        let paths: Vec<&str> = out.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["name", "lines[0].q", "tags", "$destination"]);
    }

    #[test]
    fn references_become_found_ids_or_placeholders() {
        let ids = HashMap::from([("k1".to_string(), "42".to_string())]);
        let placeholders = HashMap::from([("k2".to_string(), "(id of the new a.B)".to_string())]);
        let payload = json!({"customer": {"$ref": "k1"}, "draft": {"$ref": "k2"}});
        assert_eq!(
            with_references(&payload, &ids, &placeholders),
            json!({"customer": 42, "draft": "(id of the new a.B)"})
        );
    }
}
