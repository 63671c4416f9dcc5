//! Delivery: sends the pending intents of the ledger, each exactly once.
//!
//! An intent was recorded as `pending` together with the source snapshot before anything was
//! sent. Before a create is sent it is marked `attempted`; if a crash (or a dropped response)
//! comes between the target creating the record and the ledger recording it, the next run
//! finds the intent `attempted` and looks the record up in the target by its external
//! reference (or `by` key) instead of sending it again. Permanent refusals become dead
//! letters (`failed`) with the server's reason; the other intents go on.
//!
//! The ledger is read in bounded batches, and runs of independent creates are sent a few at a
//! time (see [`deliver`]); the client's rate limiter paces them.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    pin::Pin,
    task::Poll,
};

use serde_json::{Map, Value as Json};

use super::{
    amend::{AMENDS, AMEND_UPDATE},
    compare::{contains, find, update_patch},
    document::{resolve_references, REF},
    names::{names_records, Names},
    post,
    settle::{self, SETTLE},
    RunReport, RuntimeError,
};
use crate::{
    connector::client::{Client, ConnectorError, ConnectorErrorKind},
    state::{EventKind, Intent, IntentStatus, NewEvent, RecordKey, SourceStep, Store},
};

/// Open intents read from the ledger per batch of a delivery pass.
const BATCH: usize = 256;

/// Independent creates sent together: their `attempted` marks are stored in one transaction,
/// their requests run concurrently (the client's limiter still bounds the requests in flight
/// and per second), and their completions and events are stored in one transaction.
const GROUP: usize = 16;

/// Sends every deliverable intent of `project`; intents whose dependencies are not done yet
/// wait for a later pass of the same run.
///
/// A pass reads the open intents in batches of `BATCH` (keyset on the ledger's sequence),
/// so memory stays bounded whatever the number of intents. Within a batch, runs of up to
/// `GROUP` consecutive plain creates with nothing to wait for (pending `create`/`post`
/// without dependencies) are sent together; everything else (upserts and ensures, which look
/// the target up first and could otherwise race each other into duplicates; intents with
/// dependencies; credits; creates to look up after a possible earlier attempt) is delivered
/// alone, after everything before it has finished, exactly as one at a time. A pass with no
/// progress ends the delivery.
///
/// `sources` are the entities the project's flows read: a write into one of them is recorded
/// in that record's snapshot (see `absorb_write`), so the next listing does not take our own
/// write for a change made in the system.
pub async fn deliver(
    store: &Store,
    clients: &HashMap<String, Client>,
    project: &str,
    sink: bool,
    sources: &HashSet<(String, String)>,
    report: &mut RunReport,
) -> Result<(), RuntimeError> {
    let names = Names::default();
    let to = Delivery {
        store,
        clients,
        project,
        sink,
        sources,
        names: &names,
    };
    loop {
        let mut progress = false;
        let mut waiting = 0;
        let mut after = 0;
        loop {
            let batch = store.open_intents(project, after, BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = last.sequence;
            let mut rest = batch.as_slice();
            while !rest.is_empty() {
                let together = rest
                    .iter()
                    .take(GROUP)
                    .take_while(|i| independent_create(i))
                    .count();
                let outcomes = if together >= 2 {
                    let (group, tail) = rest.split_at(together);
                    rest = tail;
                    deliver_group(&to, group).await?
                } else {
                    let (one, tail) = rest.split_at(1);
                    rest = tail;
                    vec![deliver_one(&to, &one[0]).await?]
                };
                for outcome in outcomes {
                    match outcome {
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
            }
        }
        if !progress {
            report.pending = waiting;
            return Ok(());
        }
    }
}

/// A create that may be sent together with others: never attempted before (so nothing to
/// look up), waiting for no other document, and not a credit.
fn independent_create(intent: &Intent) -> bool {
    intent.status == IntentStatus::Pending
        && intent.depends_on.is_empty()
        && matches!(intent.operation.as_str(), "create" | "post")
        && intent.payload.get("$credit_for").is_none()
}

/// Delivers a group of [`independent_create`]s: marks them attempted in one transaction,
/// sends the creates concurrently (one after another into a sink, whose ids follow the
/// order), and stores the completions with their events in one transaction. Crash safety is
/// that of one at a time: every create is marked attempted before it is sent, and a create
/// whose answer is not recorded is looked up by the next run.
async fn deliver_group(
    to: &Delivery<'_>,
    group: &[Intent],
) -> Result<Vec<Delivered>, RuntimeError> {
    let Delivery {
        store,
        clients,
        project,
        sink,
        ..
    } = *to;
    let mut outcomes: Vec<Option<Delivered>> = group.iter().map(|_| None).collect();
    let mut ready = Vec::new();
    for (index, intent) in group.iter().enumerate() {
        let payload = resolve_references(&intent.payload, &|_| None);
        match (clients.get(&intent.system), payload) {
            (Some(client), Some(payload))
                if sink || !names_records(client, &intent.entity, &intent.payload) =>
            {
                ready.push((index, client, without_markers(&payload, sink)));
            }
            // No such system, or a reference or a name to resolve: the one-at-a-time path
            // says why.
            _ => outcomes[index] = Some(deliver_one(to, intent).await?),
        }
    }
    let keys: Vec<String> = ready.iter().map(|(i, ..)| group[*i].key.clone()).collect();
    if store.mark_attempted_many(&keys).await.is_err() {
        // The ledger could not record the attempts: send nothing together; one at a time
        // records (or reports) each on its own.
        for (index, ..) in &ready {
            outcomes[*index] = Some(deliver_one(to, &group[*index]).await?);
        }
        return Ok(outcomes.into_iter().flatten().collect());
    }
    let sends = ready.iter().map(|(index, client, body)| {
        let intent = &group[*index];
        async move {
            client
                .create(&intent.entity, body, intent.idempotency_key.as_deref())
                .await
        }
    });
    let results = if sink {
        let mut results = Vec::with_capacity(ready.len());
        for send in sends {
            results.push(send.await);
        }
        results
    } else {
        join_all(sends.collect()).await
    };
    let mut done = Vec::new();
    let mut events = Vec::new();
    let mut failures = Vec::new();
    for ((index, client, _), result) in ready.iter().zip(results) {
        let intent = &group[*index];
        match result {
            Ok(created) => {
                let id = client.id_of(&intent.entity, &created).unwrap_or_default();
                events.push(event(
                    project,
                    intent,
                    EventKind::Transferred,
                    format!(
                        "{} {}.{} {id}",
                        intent.operation, intent.system, intent.entity
                    ),
                    Some(id.clone()),
                ));
                done.push((intent.key.clone(), id, created));
                outcomes[*index] = Some(Delivered::Done);
            }
            Err(err) if err.kind == ConnectorErrorKind::Transient => {
                events.push(retry_event(project, intent, &err));
                outcomes[*index] = Some(Delivered::Retry);
            }
            Err(err) => failures.push((*index, err.message)),
        }
    }
    store.complete_intents(&done, &events).await?;
    for ((key, id, record), (index, _, body)) in done.iter().zip(
        ready
            .iter()
            .filter(|(i, ..)| matches!(outcomes[*i], Some(Delivered::Done))),
    ) {
        debug_assert_eq!(key, &group[*index].key);
        absorb_write(to, &group[*index], id, body, record).await?;
    }
    for (index, reason) in failures {
        outcomes[index] = Some(fail(store, project, &group[index], &reason).await?);
    }
    Ok(outcomes.into_iter().flatten().collect())
}

/// Runs futures concurrently on the current task and returns their outputs in order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Where delivery writes, and what it must remember.
#[derive(Clone, Copy)]
struct Delivery<'a> {
    store: &'a Store,
    clients: &'a HashMap<String, Client>,
    project: &'a str,
    sink: bool,
    sources: &'a HashSet<(String, String)>,
    /// Records named in reference fields, looked up once per delivery.
    names: &'a Names,
}

/// Echo suppression: when a write lands in an entity the flows read, the record's snapshot
/// takes the written fields as the target stored them (a new record: the whole record), as
/// if the next listing had already seen them. That listing then finds no change in those
/// fields and no new record, so our own write never triggers a flow; a change someone made
/// to another field meanwhile still differs from the snapshot and is seen.
async fn absorb_write(
    to: &Delivery<'_>,
    intent: &Intent,
    id: &str,
    body: &Json,
    stored: &Json,
) -> Result<(), RuntimeError> {
    if id.is_empty()
        || !to
            .sources
            .contains(&(intent.system.clone(), intent.entity.clone()))
    {
        return Ok(());
    }
    let key = RecordKey {
        project: to.project.to_string(),
        system: intent.system.clone(),
        entity: intent.entity.clone(),
        id: id.to_string(),
    };
    let fields = match to.store.snapshot(&key).await? {
        Some(previous) => {
            let mut fields = previous.fields;
            if let (Some(fields), Some(written)) = (fields.as_object_mut(), body.as_object()) {
                for name in written.keys().filter(|k| !k.starts_with('$')) {
                    let value = stored.get(name).unwrap_or(&written[name]);
                    fields.insert(name.clone(), value.clone());
                }
            }
            fields
        }
        None => stored.clone(),
    };
    let digest = super::hash(&fields);
    to.store
        .commit_source(&SourceStep {
            snapshot: Some((key, fields, digest)),
            ..SourceStep::default()
        })
        .await?;
    Ok(())
}

enum Delivered {
    Done,
    Failed,
    /// A dependency is not done yet.
    Waiting,
    /// A transient error: left for the next run.
    Retry,
}

async fn deliver_one(to: &Delivery<'_>, intent: &Intent) -> Result<Delivered, RuntimeError> {
    let Delivery {
        store,
        clients,
        project,
        sink,
        ..
    } = *to;
    // Documents this one refers to must exist in the target first.
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut responses: HashMap<String, Json> = HashMap::new();
    for dependency in &intent.depends_on {
        match store.intent(dependency).await? {
            Some(Intent {
                status: IntentStatus::Done,
                target_id: Some(id),
                response,
                ..
            }) => {
                ids.insert(dependency.clone(), id);
                if let Some(response) = response {
                    responses.insert(dependency.clone(), response);
                }
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
    let Some(client) = clients.get(&intent.system) else {
        return fail(
            store,
            project,
            intent,
            &format!("no system `{}` in the project", intent.system),
        )
        .await;
    };
    // Names first: a document reference is an object until the ledger's id replaces it,
    // and an id is never taken for a name. A sink keeps names as the rules wrote them: it
    // holds no records to name.
    let mut named = intent.payload.clone();
    let resolved = if sink {
        Ok(())
    } else {
        to.names.resolve(client, &intent.entity, &mut named).await
    };
    match resolved {
        Ok(()) => {}
        Err(err) if err.kind == ConnectorErrorKind::Transient => {
            return retry_later(store, project, intent, &err).await;
        }
        Err(err) => return fail(store, project, intent, &err.message).await,
    }
    let entity = client.profile().entities.get(&intent.entity);
    if !sink {
        if let Err(reason) = settle_documents(entity, intent, &mut named, &ids, &responses) {
            return fail(store, project, intent, &reason).await;
        }
    }
    let Some(mut payload) = resolve_references(&named, &|key| ids.get(key).cloned()) else {
        return Ok(Delivered::Waiting);
    };
    match resolve_credit(store, project, intent, entity, &mut payload).await? {
        Credited::Ready => {}
        Credited::Waiting => return Ok(Delivered::Waiting),
        Credited::Nothing(reason) => return fail(store, project, intent, &reason).await,
    }
    if let (false, Some(entity), Some(map)) = (sink, entity, payload.as_object_mut()) {
        let name = format!("{}.{}", intent.system, intent.entity);
        if let Err(reason) = post::apply(entity, &name, &intent.key, map) {
            return fail(store, project, intent, &reason).await;
        }
    }
    let body = without_markers(&payload, sink);
    let sent = if intent.operation == AMEND_UPDATE {
        amend_update(client, intent, &ids, &body).await
    } else {
        send(store, client, intent, &body).await
    };
    match sent {
        Ok((id, record)) => {
            store.complete_intent(&intent.key, &id, &record).await?;
            absorb_write(to, intent, &id, &body, &record).await?;
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
            retry_later(store, project, intent, &err).await
        }
        Err(err) => fail(store, project, intent, &err.message).await,
    }
}

/// A transient error: logged, and the intent left open for the next run.
async fn retry_later(
    store: &Store,
    project: &str,
    intent: &Intent,
    err: &ConnectorError,
) -> Result<Delivered, RuntimeError> {
    store.log(&retry_event(project, intent, err)).await?;
    Ok(Delivered::Retry)
}

/// The export-log event of an intent left for the next run after a transient error.
fn retry_event(project: &str, intent: &Intent, err: &ConnectorError) -> NewEvent {
    let message = format!(
        "{} {}.{} will be retried: {}",
        intent.operation, intent.system, intent.entity, err.message
    );
    event(project, intent, EventKind::Info, message, None)
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
            // Only what changed: a target may refuse writing a field at all once set (a
            // Tryton party's code), even to the value it has.
            let updated = client
                .update(entity, &id, &update_patch(&record, body))
                .await?;
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

/// `amend update`: writes the changed fields over the document the intent amends, whose id
/// its delivered original gives, once the target still holds it as a draft.
async fn amend_update(
    client: &Client,
    intent: &Intent,
    ids: &HashMap<String, String>,
    body: &Json,
) -> Result<(String, Json), ConnectorError> {
    let entity = &intent.entity;
    let original = intent
        .lookup
        .as_ref()
        .and_then(|l| l.get(AMENDS))
        .and_then(Json::as_str)
        .unwrap_or_default();
    let id = ids.get(original).cloned().ok_or_else(|| {
        ConnectorError::permanent(format!("the document {original} it amends has no id"))
    })?;
    let record = client.get(entity, &id).await?.ok_or_else(|| {
        ConnectorError::permanent(format!(
            "{}.{entity} {id} is gone from the target; nothing to amend",
            intent.system
        ))
    })?;
    if let Some(draft) = client
        .profile()
        .entities
        .get(entity)
        .and_then(|e| e.draft.as_ref())
    {
        let state = record
            .get(&draft.field)
            .and_then(Json::as_str)
            .unwrap_or_default();
        if !draft.values.iter().any(|v| v == state) {
            return Err(ConnectorError::permanent(format!(
                "{}.{entity} {id} is no longer a draft ({} is `{state}`): amend update leaves it; credit it or change it by hand",
                intent.system, draft.field
            )));
        }
    }
    if contains(&record, body) {
        return Ok((id, record));
    }
    let updated = client
        .update(entity, &id, &update_patch(&record, body))
        .await?;
    Ok((id, updated))
}

async fn mark_attempted(store: &Store, key: &str) -> Result<(), ConnectorError> {
    store.mark_attempted(key).await.map_err(|e| ConnectorError {
        kind: ConnectorErrorKind::Transient,
        message: format!("the state store could not record the attempt: {e}"),
        status: None,
    })
}

/// `settle …`: the settled documents become items of the list the profile names.
fn settle_documents(
    entity: Option<&crate::connector::Entity>,
    intent: &Intent,
    payload: &mut Json,
    ids: &HashMap<String, String>,
    responses: &HashMap<String, Json>,
) -> Result<(), String> {
    let Some(map) = payload.as_object_mut().filter(|m| m.contains_key(SETTLE)) else {
        return Ok(());
    };
    let name = format!("{}.{}", intent.system, intent.entity);
    let entity = entity.ok_or_else(|| format!("{name} is not in its connector profile"))?;
    let written = ids
        .iter()
        .map(|(key, id)| {
            let record = responses.get(key);
            (key.clone(), settle::Written { id, record })
        })
        .collect();
    settle::apply(entity, &name, map, &written)
}

/// Whether a credit knows the document it credits.
enum Credited {
    /// Not a credit, or the credited document's id is in `$credit_for.target_id`.
    Ready,
    /// The credited document is not delivered yet.
    Waiting,
    /// There is nothing to credit: ledgerlink sent no document for the record.
    Nothing(String),
}

/// `credit X for record`: credits the document the same source record produced in the same
/// system — one of entity `X` when there is one (a credit note of an invoice), else the last
/// one it produced (the booked invoice after its draft). Its id goes into
/// `$credit_for.target_id`, and the fields the profile's `credit` copies from it into the
/// payload (see [`super::credit`]).
async fn resolve_credit(
    store: &Store,
    project: &str,
    intent: &Intent,
    entity: Option<&crate::connector::Entity>,
    payload: &mut Json,
) -> Result<Credited, RuntimeError> {
    let Some(credit) = payload.get_mut("$credit_for").and_then(Json::as_object_mut) else {
        return Ok(Credited::Ready);
    };
    let source = credit
        .get("source")
        .and_then(Json::as_str)
        .unwrap_or_default()
        .to_string();
    // `amend credit_and_reissue` names the one document it credits.
    let named = match credit.get("key").and_then(Json::as_str) {
        Some(key) => Some(store.intent(key).await?),
        None => None,
    };
    let candidates: Vec<Intent> = match named {
        Some(found) => found.into_iter().collect(),
        None => store
            .intents_of_source(project, &source)
            .await?
            .into_iter()
            .filter(|i| i.operation != "credit" && i.system == intent.system)
            .collect(),
    };
    if candidates
        .iter()
        .any(|i| matches!(i.status, IntentStatus::Pending | IntentStatus::Attempted))
    {
        return Ok(Credited::Waiting);
    }
    let mut done = candidates
        .iter()
        .rev()
        .filter(|i| i.status == IntentStatus::Done);
    let original = done
        .clone()
        .find(|i| i.entity == intent.entity)
        .or_else(|| done.next());
    let Some((original, id)) = original.and_then(|i| Some((i, i.target_id.clone()?))) else {
        return Ok(Credited::Nothing(format!(
            "nothing to credit: ledgerlink delivered no {} document for {source}",
            intent.system
        )));
    };
    credit.insert("target_id".into(), Json::String(id));
    credit.insert(
        "target_entity".into(),
        Json::String(original.entity.clone()),
    );
    let (Some(entity), Some(map)) = (entity, payload.as_object_mut()) else {
        return Ok(Credited::Ready);
    };
    let Some(spec) = &entity.credit else {
        return Ok(Credited::Ready);
    };
    let mut records = Vec::new();
    for dependency in &original.depends_on {
        if let Some(response) = store.intent(dependency).await?.and_then(|i| i.response) {
            records.push(response);
        }
    }
    records.extend(original.response.clone());
    let credited = super::credit::merged(&records);
    super::credit::fill(entity, spec, map, &credited);
    Ok(Credited::Ready)
}

/// The body sent to a system: the `$` markers (destination, attachments, settlement, credit)
/// stay in documents written to a local sink; for API calls they have become fields by now
/// (`post`, `settle`, `credit`), and what is left of them is not sent.
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
