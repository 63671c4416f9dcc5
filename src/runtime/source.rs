//! Reading one source entity and turning its records into recorded documents.
//!
//! Every flow that reads the same source entity is run from one listing: a record is read
//! once, compared once with its snapshot, and — when new or changed — evaluated by each of
//! those flows against the same previous snapshot. Its snapshot is stored in the same
//! transaction as the documents of all of them (a page of records per transaction), so a
//! second flow on the same entity never finds the record "unchanged" because the first one
//! already stored it.
//!
//! **Incremental listing.** When the entity can be listed "changed since" (`changed_since` in
//! its profile), a complete listing leaves a watermark: the greatest `updated_at` it saw. The
//! next run lists from [`OVERLAP`] before it, which catches records written while the earlier
//! listing ran and clocks that disagree a little; records read twice are skipped by their
//! unchanged snapshot.
//!
//! **Deletions.** A listing cannot show what is gone. For an entity that an `on X deleted`
//! flow reads, every listing is complete, marks each record it sees, and afterwards the
//! snapshots it did not see are the records deleted at the source: their `deleted` flows run
//! on the record as last seen, and the snapshot is forgotten with their documents.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, SecondsFormat};
use serde_json::Value as Json;

use super::{
    amend,
    flow::{evaluate_deletion, evaluate_record, FlowContext, Outcome},
    hash, intent, log_unreadable, planned, prefetch, progress_bar, record_event, FlowReport,
    Prefetched, RunOptions, RunReport, RuntimeError,
};
use crate::{
    connector::client::Client,
    eval::EvalError,
    plan::{EntityRef, Flow, Plan},
    project::Project,
    state::{self, EventKind, RecordKey, Snapshot, SourceStep, Store},
};

/// How far before its watermark an incremental listing starts.
pub const OVERLAP: chrono::Duration = chrono::Duration::hours(1);

/// Snapshots of deleted records handled per transaction.
const DELETIONS_PER_STEP: i64 = 200;

/// What every source of a run shares.
pub(super) struct Run<'a> {
    pub project: &'a Project,
    pub plan: &'a Plan,
    pub name: &'a str,
    pub today: NaiveDate,
    pub clients: &'a HashMap<String, Client>,
    pub connectors: &'a HashMap<String, String>,
    pub store: Option<&'a Store>,
    pub options: &'a RunOptions,
}

/// The flows of a plan grouped by the source entity they read, in plan order.
pub(super) fn by_source(plan: &Plan) -> Vec<(&EntityRef, Vec<&Flow>)> {
    let mut groups: Vec<(&EntityRef, Vec<&Flow>)> = Vec::new();
    for flow in &plan.flows {
        let Some(source) = &flow.source else { continue };
        let same = |s: &EntityRef| s.system == source.system && s.entity == source.entity;
        match groups.iter_mut().find(|(s, _)| same(s)) {
            Some((_, flows)) => flows.push(flow),
            None => groups.push((source, vec![flow])),
        }
    }
    groups
}

/// One flow of a source with what it needs to evaluate records.
struct Reader<'a> {
    flow: &'a Flow,
    collections: Prefetched,
    report: FlowReport,
}

impl Run<'_> {
    fn writes(&self) -> bool {
        !self.options.dry_run
    }

    fn context<'c>(&'c self, flow: &'c Flow, collections: &'c Prefetched) -> FlowContext<'c> {
        FlowContext {
            project: self.name,
            plan: self.plan,
            flow,
            profiles: &self.project.profiles,
            connectors: self.connectors,
            today: self.today,
            collections,
        }
    }

    /// Lists `source` once and runs `flows` on its new and changed records; their reports go
    /// into `report.flows`.
    pub async fn source(
        &self,
        source: &EntityRef,
        flows: &[&Flow],
        report: &mut RunReport,
    ) -> Result<(), RuntimeError> {
        let Some(client) = self.clients.get(&source.system) else {
            return Ok(());
        };
        let mut readers = self.readers(flows, report).await?;
        if readers.is_empty() {
            return Ok(());
        }
        let deletions = readers.iter().any(|r| {
            r.flow
                .trigger
                .as_ref()
                .is_some_and(|t| t.event == "deleted")
        });
        let since = match deletions {
            false => self.listing_start(client, source).await?,
            true => None,
        };
        let started = state::now();
        let names: Vec<&str> = readers.iter().map(|r| r.flow.name.as_str()).collect();
        let bar = progress_bar(self.options.progress, &names.join(", "));
        let mut pages = match client.list_pages(&source.entity, since.as_deref()).await {
            Ok(pages) => pages,
            Err(err) => {
                for reader in readers {
                    self.unreadable(reader.report, err.clone().into(), report)
                        .await?;
                }
                return Ok(());
            }
        };
        let mut newest: Option<String> = None;
        let mut again_from: Option<String> = None;
        let mut complete = true;
        loop {
            let records = match pages.next_page().await {
                Ok(Some(records)) => records,
                Ok(None) => break,
                Err(err) => {
                    // The pages before were evaluated and recorded; the rest wait for a run
                    // that can read them.
                    complete = false;
                    let err = RuntimeError::from(err);
                    for reader in &mut readers {
                        reader.report.unreadable = Some(err.to_string());
                        if let (Some(store), true) = (self.store, self.writes()) {
                            log_unreadable(store, self.name, &reader.flow.name, &err).await?;
                        }
                    }
                    break;
                }
            };
            bar.inc(records.len() as u64);
            if let Some(recorder) = &self.options.record {
                for reader in &readers {
                    recorder.source_page(&reader.flow.name, client, &source.entity, &records)?;
                }
            }
            newest = latest(newest, self.updated_at(client, source, &records));
            let again = self
                .page(client, source, &records, &mut readers, deletions, report)
                .await?;
            again_from = earliest(again_from, again);
        }
        bar.finish_and_clear();
        if complete && self.writes() {
            // Not past a record that waits or failed: the next listing must show it again.
            let watermark = match again_from {
                Some(again) => earliest(newest, Some(again)),
                None => newest,
            };
            if let (Some(store), Some(value)) = (self.store, watermark) {
                if since.is_some() || self.incremental(client, source) {
                    let watermark = (
                        self.name.to_string(),
                        source.system.clone(),
                        source.entity.clone(),
                        value,
                    );
                    store
                        .commit_source(&SourceStep {
                            watermark: Some(watermark),
                            ..SourceStep::default()
                        })
                        .await?;
                }
            }
            if deletions {
                self.deleted(source, &started, &mut readers).await?;
            }
        }
        report.flows.extend(readers.into_iter().map(|r| r.report));
        Ok(())
    }

    /// The flows with the records their `find`/`exists` search; a flow whose lookups cannot
    /// be read is reported and left out, not its neighbours.
    async fn readers<'f>(
        &self,
        flows: &[&'f Flow],
        report: &mut RunReport,
    ) -> Result<Vec<Reader<'f>>, RuntimeError> {
        let mut readers = Vec::new();
        for flow in flows {
            let fresh = FlowReport {
                name: flow.name.clone(),
                ..FlowReport::default()
            };
            match prefetch(flow, self.clients).await {
                Ok(collections) => {
                    if let Some(recorder) = &self.options.record {
                        recorder.collections(&flow.name, &collections)?;
                    }
                    readers.push(Reader {
                        flow,
                        collections,
                        report: fresh,
                    });
                }
                Err(err) => self.unreadable(fresh, err, report).await?,
            }
        }
        Ok(readers)
    }

    /// Runs `flows` on records a system pushed instead of a listing: new and changed ones as
    /// a listing's page, deleted ones as a complete listing's missing ones.
    pub async fn pushed(
        &self,
        source: &EntityRef,
        flows: &[&Flow],
        pushed: &super::Pushed,
        report: &mut RunReport,
    ) -> Result<(), RuntimeError> {
        let Some(client) = self.clients.get(&source.system) else {
            return Ok(());
        };
        let mut readers = self.readers(flows, report).await?;
        if pushed.deleted {
            let Some(store) = self.store else {
                return Ok(());
            };
            let ids: Vec<String> = pushed
                .records
                .iter()
                .map(|r| client.id_of(&source.entity, r).unwrap_or_else(|| hash(r)))
                .collect();
            let known = store
                .snapshots(self.name, &source.system, &source.entity, &ids)
                .await?;
            // A deletion of a record never seen has nothing to undo.
            let gone: Vec<(RecordKey, Snapshot)> = ids
                .into_iter()
                .filter_map(|id| {
                    let snapshot = known.get(&id)?.clone();
                    let key = RecordKey {
                        project: self.name.to_string(),
                        system: source.system.clone(),
                        entity: source.entity.clone(),
                        id,
                    };
                    Some((key, snapshot))
                })
                .collect();
            self.forget_gone(gone, &mut readers).await?;
        } else {
            self.page(client, source, &pushed.records, &mut readers, false, report)
                .await?;
        }
        report.flows.extend(readers.into_iter().map(|r| r.report));
        Ok(())
    }

    /// Evaluates one page of records and commits it in one transaction. Returns the earliest
    /// `updated_at` of the records that must be evaluated again (see [`Run::outcome`]): an
    /// incremental listing must not move its watermark past them.
    async fn page(
        &self,
        client: &Client,
        source: &EntityRef,
        records: &[Json],
        readers: &mut [Reader<'_>],
        deletions: bool,
        report: &mut RunReport,
    ) -> Result<Option<String>, RuntimeError> {
        let mut again_from: Option<String> = None;
        let ids: Vec<String> = records
            .iter()
            .map(|r| client.id_of(&source.entity, r).unwrap_or_else(|| hash(r)))
            .collect();
        let mut previous: HashMap<String, Snapshot> = match self.store {
            Some(store) => {
                store
                    .snapshots(self.name, &source.system, &source.entity, &ids)
                    .await?
            }
            None => HashMap::new(),
        };
        let mut steps = Vec::with_capacity(records.len());
        let mut unchanged = Vec::new();
        for reader in readers.iter_mut() {
            reader.report.records += records.len();
        }
        for (record, id) in records.iter().zip(ids) {
            let digest = hash(record);
            let last = previous.remove(&id);
            if last.as_ref().is_some_and(|p| p.hash == digest) {
                unchanged.push(id);
                continue;
            }
            let source_name = format!("{}.{}:{id}", source.system, source.entity);
            let key = RecordKey {
                project: self.name.to_string(),
                system: source.system.clone(),
                entity: source.entity.clone(),
                id,
            };
            let mut step = SourceStep {
                snapshot: Some((key, record.clone(), digest)),
                ..SourceStep::default()
            };
            for reader in readers.iter_mut() {
                reader.report.changed += 1;
                let cx = self.context(reader.flow, &reader.collections);
                let outcome =
                    evaluate_record(&cx, &source_name, record, last.as_ref().map(|p| &p.fields));
                if last.is_some() && matches!(outcome, Ok(Outcome::NotTriggered)) {
                    let counts = &mut reader.report;
                    self.amendment(&cx, counts, &source_name, record, &mut step, report)
                        .await?;
                    continue;
                }
                let again = self.outcome(
                    &cx,
                    &mut reader.report,
                    &source_name,
                    outcome,
                    &mut step,
                    report,
                );
                if again {
                    // No snapshot: the record stays new (or changed), so it is evaluated
                    // again on every run, and reported, until it passes.
                    step.snapshot = None;
                    let updated = self.updated_at(client, source, std::slice::from_ref(record));
                    again_from = earliest(again_from, updated);
                }
            }
            steps.push(step);
        }
        let (Some(store), true) = (self.store, self.writes()) else {
            return Ok(again_from);
        };
        let outcomes = store.commit_sources(&steps).await?;
        for (step, outcome) in steps.iter().zip(outcomes) {
            // Intents already recorded (a record evaluated again) are not new documents.
            let old = step.intents.len() - outcome.new_intents;
            for reader in readers.iter_mut() {
                let own = step
                    .intents
                    .iter()
                    .filter(|i| i.flow == reader.flow.name)
                    .count();
                reader.report.documents -= old.min(own);
            }
        }
        if deletions {
            store
                .touch_snapshots(
                    self.name,
                    &source.system,
                    &source.entity,
                    &unchanged,
                    &state::now(),
                )
                .await?;
        }
        Ok(again_from)
    }

    /// A changed record whose trigger did not fire again: when the flow made documents of it
    /// before, they are amended by the flow's `amend` policy (see [`super::amend`]).
    async fn amendment(
        &self,
        cx: &FlowContext<'_>,
        counts: &mut FlowReport,
        source_name: &str,
        record: &Json,
        step: &mut SourceStep,
        report: &mut RunReport,
    ) -> Result<(), RuntimeError> {
        let Some(store) = self.store else {
            return Ok(());
        };
        let flow = &cx.flow.name;
        let existing: Vec<_> = store
            .intents_of_source(self.name, source_name)
            .await?
            .into_iter()
            .filter(|i| &i.flow == flow)
            .collect();
        if existing.is_empty() {
            return Ok(());
        }
        let documents = match evaluate_record(cx, source_name, record, None) {
            Ok(Outcome::Documents(documents)) => documents,
            // It no longer fires the flow at all (a quote no longer accepted): what was sent
            // stays, as under `ignore`.
            Ok(_) => return Ok(()),
            Err(err) => {
                counts.failed += 1;
                step.events.push(record_event(
                    self.name,
                    flow,
                    source_name,
                    EventKind::Failed,
                    format!("{source_name} changed and could not be evaluated again: {err}"),
                ));
                return Ok(());
            }
        };
        let policy = amend::Policy::named(&cx.flow.amend);
        let make = |document: &super::document::Document| {
            intent(self.name, flow, source_name, document, cx)
        };
        let amendment = amend::amend(policy, source_name, &documents, &existing, &make);
        counts.documents += amendment.intents.len();
        for intent in amendment.intents {
            if self.options.dry_run {
                report.planned.push(planned(&intent));
            }
            step.intents.push(intent);
        }
        if let Some(message) = amendment.message {
            counts.triggered += 1;
            step.events.push(record_event(
                self.name,
                flow,
                source_name,
                EventKind::Info,
                message,
            ));
        }
        Ok(())
    }

    /// Adds what a flow made of a record to `step` and the flow's report; returns whether the
    /// record must be evaluated again on the next run (it failed, or a `require` holds it).
    fn outcome(
        &self,
        cx: &FlowContext<'_>,
        counts: &mut FlowReport,
        source_name: &str,
        outcome: Result<Outcome, EvalError>,
        step: &mut SourceStep,
        report: &mut RunReport,
    ) -> bool {
        let flow = &cx.flow.name;
        let waiting = matches!(outcome, Ok(Outcome::Waiting(_)));
        let again = match outcome {
            Ok(Outcome::NotTriggered) => false,
            Ok(Outcome::Skipped(reason) | Outcome::Waiting(reason)) => {
                counts.triggered += 1;
                counts.skipped += 1;
                step.events.push(record_event(
                    self.name,
                    flow,
                    source_name,
                    EventKind::Skipped,
                    reason,
                ));
                waiting
            }
            Ok(Outcome::Documents(documents)) => {
                counts.triggered += 1;
                counts.documents += documents.len();
                for document in &documents {
                    let intent = intent(self.name, flow, source_name, document, cx);
                    if self.options.dry_run {
                        report.planned.push(planned(&intent));
                    }
                    step.intents.push(intent);
                }
                false
            }
            Err(err) => {
                counts.failed += 1;
                let message = format!("{source_name} could not be evaluated: {err}");
                step.events.push(record_event(
                    self.name,
                    flow,
                    source_name,
                    EventKind::Failed,
                    message,
                ));
                true
            }
        };
        if self.options.dry_run {
            report.held_back.extend(
                step.events
                    .iter()
                    .filter(|e| e.flow.as_deref() == Some(flow.as_str()))
                    .cloned(),
            );
        }
        again
    }

    /// Runs the `deleted` flows on the snapshots a complete listing started at `started` did
    /// not see, and forgets those snapshots with the documents.
    async fn deleted(
        &self,
        source: &EntityRef,
        started: &str,
        readers: &mut [Reader<'_>],
    ) -> Result<(), RuntimeError> {
        let Some(store) = self.store else {
            return Ok(());
        };
        loop {
            let gone = store
                .unseen_snapshots(
                    self.name,
                    &source.system,
                    &source.entity,
                    started,
                    DELETIONS_PER_STEP,
                )
                .await?;
            if gone.is_empty() {
                return Ok(());
            }
            let kept = self.forget_gone(gone, readers).await?;
            store
                .touch_snapshots(
                    self.name,
                    &source.system,
                    &source.entity,
                    &kept,
                    &state::now(),
                )
                .await?;
        }
    }

    /// Runs the `deleted` flows on records that are gone and forgets their snapshots with
    /// the documents, in one transaction; returns the ids of those whose evaluation failed,
    /// whose snapshots stay.
    async fn forget_gone(
        &self,
        gone: Vec<(RecordKey, Snapshot)>,
        readers: &mut [Reader<'_>],
    ) -> Result<Vec<String>, RuntimeError> {
        let Some(store) = self.store.filter(|_| self.writes()) else {
            return Ok(Vec::new());
        };
        let mut unused = RunReport::default();
        let mut steps = Vec::with_capacity(gone.len());
        let mut kept = Vec::new();
        for (key, snapshot) in gone {
            let source_name = format!("{}.{}:{}", key.system, key.entity, key.id);
            let mut step = SourceStep {
                forget: Some(key.clone()),
                ..SourceStep::default()
            };
            let mut failed = false;
            for reader in readers.iter_mut() {
                let cx = self.context(reader.flow, &reader.collections);
                let outcome = evaluate_deletion(&cx, &source_name, &snapshot.fields);
                if matches!(outcome, Ok(Outcome::Documents(_))) {
                    reader.report.deleted += 1;
                }
                failed |= self.outcome(
                    &cx,
                    &mut reader.report,
                    &source_name,
                    outcome,
                    &mut step,
                    &mut unused,
                );
            }
            if failed {
                // Kept, and marked seen so this run moves on: the next complete listing
                // finds it gone again and evaluates it again.
                step.forget = None;
                kept.push(key.id);
            }
            steps.push(step);
        }
        store.commit_sources(&steps).await?;
        Ok(kept)
    }

    /// Whether the entity can be listed "changed since".
    fn incremental(&self, client: &Client, source: &EntityRef) -> bool {
        client
            .profile()
            .entities
            .get(&source.entity)
            .is_some_and(|e| e.changed_since.is_some() && e.updated_at.is_some())
    }

    /// `since` for an incremental listing: [`OVERLAP`] before the watermark, when there is
    /// one and the entity can be listed that way.
    async fn listing_start(
        &self,
        client: &Client,
        source: &EntityRef,
    ) -> Result<Option<String>, RuntimeError> {
        let Some(store) = self.store else {
            return Ok(None);
        };
        if !self.incremental(client, source) {
            return Ok(None);
        }
        let watermark = store
            .watermark(self.name, &source.system, &source.entity)
            .await?;
        Ok(watermark.map(|w| before(&w, OVERLAP)))
    }

    /// The greatest `updated_at` of a page, as the source wrote it.
    fn updated_at(&self, client: &Client, source: &EntityRef, records: &[Json]) -> Option<String> {
        let field = client
            .profile()
            .entities
            .get(&source.entity)?
            .updated_at
            .clone()?;
        records
            .iter()
            .filter_map(|r| r.get(&field).and_then(Json::as_str))
            .fold(None, |max, value| latest(max, Some(value.to_string())))
    }

    async fn unreadable(
        &self,
        mut flow_report: FlowReport,
        err: RuntimeError,
        report: &mut RunReport,
    ) -> Result<(), RuntimeError> {
        flow_report.unreadable = Some(err.to_string());
        if let (Some(store), true) = (self.store, self.writes()) {
            log_unreadable(store, self.name, &flow_report.name, &err).await?;
        }
        report.flows.push(flow_report);
        Ok(())
    }
}

/// Whether timestamp `b` is after `a`: compared as instants when both are RFC 3339 (offsets
/// may differ), else as text.
fn after(a: &str, b: &str) -> bool {
    match (
        DateTime::parse_from_rfc3339(a),
        DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(x), Ok(y)) => y > x,
        _ => b > a,
    }
}

/// The later of two timestamps.
fn latest(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if after(&a, &b) { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The earlier of two timestamps.
fn earliest(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if after(&a, &b) { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// `timestamp` moved back by `by`, in the source's own style (its offset; `Z` for UTC); a
/// value that is not RFC 3339 stays as it is.
fn before(timestamp: &str, by: chrono::Duration) -> String {
    match DateTime::parse_from_rfc3339(timestamp) {
        Ok(at) => (at - by).to_rfc3339_opts(SecondsFormat::AutoSi, timestamp.ends_with('Z')),
        Err(_) => timestamp.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_timestamp_compares_instants() {
        let a = Some("2026-03-01T10:00:00+01:00".to_string());
        let b = Some("2026-03-01T09:30:00Z".to_string());
        assert_eq!(latest(a.clone(), b.clone()), b);
        assert_eq!(latest(None, a.clone()), a);
        assert_eq!(
            latest(Some("2026-03-02".into()), Some("2026-03-01".into())),
            Some("2026-03-02".into())
        );
    }

    #[test]
    fn listings_start_an_overlap_before_the_watermark() {
        assert_eq!(
            before("2026-03-01T10:00:00Z", OVERLAP),
            "2026-03-01T09:00:00Z"
        );
        assert_eq!(
            before("2026-03-01T10:00:00+01:00", OVERLAP),
            "2026-03-01T09:00:00+01:00"
        );
        assert_eq!(before("week 9", OVERLAP), "week 9");
    }
}
