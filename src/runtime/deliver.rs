//! Delivery: sends the pending intents of the ledger, each exactly once.
//!
//! An intent was recorded as `pending` together with the source snapshot before anything was
//! sent. Before a create is sent it is marked `attempted`; if a crash (or a dropped response)
//! comes between the target creating the record and the ledger recording it, the next run
//! finds the intent `attempted` and looks the record up in the target by its external
//! reference (or `by` key) instead of sending it again. Permanent refusals become dead
//! letters (`failed`) with the server's reason; the other intents go on.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use super::{
    compare::{contains, find},
    document::{resolve_references, REF},
    RunReport, RuntimeError,
};
use crate::{
    connector::client::{Client, ConnectorError, ConnectorErrorKind},
    state::{EventKind, Intent, IntentStatus, NewEvent, Store},
};

/// Sends every deliverable intent of `project`; intents whose dependencies are not done yet
/// wait for a later pass of the same run.
pub async fn deliver(
    store: &Store,
    clients: &HashMap<String, Client>,
    project: &str,
    sink: bool,
    report: &mut RunReport,
) -> Result<(), RuntimeError> {
    loop {
        let open: Vec<Intent> = store
            .intents(project, None)
            .await?
            .into_iter()
            .filter(|i| matches!(i.status, IntentStatus::Pending | IntentStatus::Attempted))
            .collect();
        let mut progress = false;
        let mut waiting = 0;
        for intent in &open {
            match deliver_one(store, clients, project, sink, intent).await? {
                Delivered::Done => {
                    report.delivered += 1;
                    progress = true;
                }
                Delivered::Failed => {
                    report.failed += 1;
                    progress = true;
                }
                Delivered::Waiting | Delivered::Retry => waiting += 1,
            }
        }
        if !progress {
            report.pending = waiting;
            return Ok(());
        }
    }
}

enum Delivered {
    Done,
    Failed,
    /// A dependency is not done yet.
    Waiting,
    /// A transient error: left for the next run.
    Retry,
}

async fn deliver_one(
    store: &Store,
    clients: &HashMap<String, Client>,
    project: &str,
    sink: bool,
    intent: &Intent,
) -> Result<Delivered, RuntimeError> {
    // Documents this one refers to must exist in the target first.
    let mut ids: HashMap<String, String> = HashMap::new();
    for dependency in &intent.depends_on {
        match store.intent(dependency).await? {
            Some(Intent {
                status: IntentStatus::Done,
                target_id: Some(id),
                ..
            }) => {
                ids.insert(dependency.clone(), id);
            }
            Some(Intent {
                status: IntentStatus::Failed,
                error,
                ..
            }) => {
                let reason = format!(
                    "a document it refers to failed: {}",
                    error.unwrap_or_default()
                );
                return fail(store, project, intent, &reason).await;
            }
            _ => return Ok(Delivered::Waiting),
        }
    }
    let Some(mut payload) = resolve_references(&intent.payload, &|key| ids.get(key).cloned())
    else {
        return Ok(Delivered::Waiting);
    };
    if let Some(reason) = resolve_credit(store, project, &mut payload).await? {
        return fail(store, project, intent, &reason).await;
    }
    let Some(client) = clients.get(&intent.system) else {
        return fail(
            store,
            project,
            intent,
            &format!("no system `{}` in the project", intent.system),
        )
        .await;
    };
    let body = without_markers(&payload, sink);
    match send(store, client, intent, &body).await {
        Ok((id, record)) => {
            store.complete_intent(&intent.key, &id, &record).await?;
            store
                .log(&event(
                    project,
                    intent,
                    EventKind::Transferred,
                    format!(
                        "{} {}.{} {id}",
                        intent.operation, intent.system, intent.entity
                    ),
                    Some(id),
                ))
                .await?;
            Ok(Delivered::Done)
        }
        Err(err) if err.kind == ConnectorErrorKind::Transient => {
            let message = format!(
                "{} {}.{} will be retried: {}",
                intent.operation, intent.system, intent.entity, err.message
            );
            store
                .log(&event(project, intent, EventKind::Info, message, None))
                .await?;
            Ok(Delivered::Retry)
        }
        Err(err) => fail(store, project, intent, &err.message).await,
    }
}

/// Finds, creates or updates the intent's record; returns its id and the target's record.
async fn send(
    store: &Store,
    client: &Client,
    intent: &Intent,
    body: &Json,
) -> Result<(String, Json), ConnectorError> {
    let entity = &intent.entity;
    let found = match &intent.lookup {
        // A create is looked up only when it may already have been sent; upsert and ensure
        // always look first, that is what they are.
        Some(lookup)
            if intent.operation != "create"
                && intent.operation != "post"
                && intent.operation != "credit" =>
        {
            find(client, entity, lookup).await?
        }
        Some(lookup) if intent.status == IntentStatus::Attempted => {
            find(client, entity, lookup).await?
        }
        _ => None,
    };
    if let Some(record) = found {
        let id = client.id_of(entity, &record).unwrap_or_default();
        if intent.operation == "upsert" && !contains(&record, body) {
            let updated = client.update(entity, &id, body).await?;
            return Ok((id, updated));
        }
        return Ok((id, record));
    }
    mark_attempted(store, &intent.key).await?;
    let created = client
        .create(entity, body, intent.idempotency_key.as_deref())
        .await?;
    let id = client.id_of(entity, &created).unwrap_or_default();
    Ok((id, created))
}

async fn mark_attempted(store: &Store, key: &str) -> Result<(), ConnectorError> {
    store.mark_attempted(key).await.map_err(|e| ConnectorError {
        kind: ConnectorErrorKind::Transient,
        message: format!("the state store could not record the attempt: {e}"),
        status: None,
    })
}

/// `credit X for record`: the document the same source record produced in `X` must have been
/// delivered; its id goes into `$credit_for.target_id`. Returns a reason when it was not.
async fn resolve_credit(
    store: &Store,
    project: &str,
    payload: &mut Json,
) -> Result<Option<String>, RuntimeError> {
    let Some(credit) = payload.get_mut("$credit_for").and_then(Json::as_object_mut) else {
        return Ok(None);
    };
    let source = credit
        .get("source")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    let entity = credit
        .get("entity")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    let original = store
        .intents(project, Some(IntentStatus::Done))
        .await?
        .into_iter()
        .find(|i| i.source == source && i.entity == entity && i.operation != "credit");
    match original.and_then(|i| i.target_id) {
        Some(id) => {
            credit.insert("target_id".into(), Json::String(id));
            Ok(None)
        }
        None => Ok(Some(format!(
            "nothing to credit: no {entity} was sent for {source}"
        ))),
    }
}

/// The body sent to a system: the `$` markers (destination, attachments, settlement, credit)
/// stay in documents written to a local sink, and are left out of API calls until their
/// per-system handling exists (#5).
fn without_markers(payload: &Json, keep: bool) -> Json {
    if keep {
        return payload.clone();
    }
    match payload {
        Json::Object(map) => Json::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with('$') || k.as_str() == REF)
                .map(|(k, v)| (k.clone(), without_markers(v, keep)))
                .collect::<Map<_, _>>(),
        ),
        Json::Array(items) => Json::Array(items.iter().map(|v| without_markers(v, keep)).collect()),
        other => other.clone(),
    }
}

async fn fail(
    store: &Store,
    project: &str,
    intent: &Intent,
    reason: &str,
) -> Result<Delivered, RuntimeError> {
    store.fail_intent(&intent.key, reason).await?;
    let message = format!(
        "{} {}.{} failed: {reason}",
        intent.operation, intent.system, intent.entity
    );
    store
        .log(&event(project, intent, EventKind::Failed, message, None))
        .await?;
    Ok(Delivered::Failed)
}

fn event(
    project: &str,
    intent: &Intent,
    kind: EventKind,
    message: String,
    target: Option<String>,
) -> NewEvent {
    NewEvent {
        project: project.to_string(),
        flow: Some(intent.flow.clone()),
        kind,
        source: Some(intent.source.clone()),
        target: target.map(|id| format!("{}.{}:{id}", intent.system, intent.entity)),
        intent: Some(intent.key.clone()),
        message,
        details: serde_json::json!({ "operation": intent.operation, "attempts": intent.attempts }),
    }
}
