//! Runtime: executes a project's plan against its systems with durable state.
//!
//! A run reads each flow's source records, compares them with their stored snapshots (only
//! new or changed records are evaluated), evaluates the flow into documents, and records the
//! snapshot and the documents' intents in one transaction of the state store. Then the
//! delivery loop ([`deliver`]) sends every pending intent exactly once. A re-run with no source
//! change reads, compares and writes nothing.

pub mod amend;
pub mod compare;
pub mod credit;
pub mod deliver;
pub mod document;
pub mod dry_run;
pub mod flow;
pub mod names;
pub mod post;
pub mod record;
pub mod replay;
pub mod settle;
pub mod source;
pub mod validate;

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value as Json;

use crate::{
    connector::client::{Client, ConnectorError},
    eval::{record::Collections, EvalError, EvalErrorKind},
    plan::{self, PlanExpr, Step},
    project::Project,
    state::{EventKind, NewEvent, NewIntent, StateError, Store},
};

use document::Document;
use flow::FlowContext;

/// How a run behaves.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Evaluate and report what would be written; write nothing, not even state.
    pub dry_run: bool,
    /// The date `today()` returns (default: the local date).
    pub today: Option<NaiveDate>,
    /// Write target documents as JSON files under this folder instead of calling the APIs.
    pub sink: Option<PathBuf>,
    /// State store URL overriding the project's `state:`.
    pub state: Option<String>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Record the source records, lookups and delivery answers (`run --record DIR`).
    pub record: Option<std::sync::Arc<record::Recorder>>,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    /// Project name.
    pub project: String,
    /// Per flow.
    pub flows: Vec<FlowReport>,
    /// Syncs in the plan; two-way sync runs with issue #6 and is reported, not silently skipped.
    pub syncs_not_run: Vec<String>,
    /// Intents delivered in this run.
    pub delivered: usize,
    /// Intents that failed permanently in this run (dead letters).
    pub failed: usize,
    /// Intents still open (transient errors, unfinished dependencies).
    pub pending: usize,
    /// With `--dry-run`: the documents that would be written.
    pub planned: Vec<PlannedWrite>,
    /// With `--dry-run`: the records held back (`require`, `since`) or that could not be
    /// evaluated, with the export-log entry a run would write for them.
    pub held_back: Vec<NewEvent>,
}

/// Per-flow counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowReport {
    /// Flow name.
    pub name: String,
    /// Source records read.
    pub records: usize,
    /// Records new or changed since the last run.
    pub changed: usize,
    /// Records whose trigger fired.
    pub triggered: usize,
    /// Records held back by `require` or `since`.
    pub skipped: usize,
    /// Records that could not be evaluated (bad data): logged with the reason, nothing sent.
    pub failed: usize,
    /// New documents recorded for delivery.
    pub documents: usize,
    /// Records gone from the source whose `on … deleted` trigger fired.
    pub deleted: usize,
    /// Why the flow's records could not be read, when they could not.
    pub unreadable: Option<String>,
}

/// A document a dry run would write.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedWrite {
    /// Flow.
    pub flow: String,
    /// Source record.
    pub source: String,
    /// upsert / ensure / create / credit / post.
    pub operation: String,
    /// `system.Entity`.
    pub target: String,
    /// The body.
    pub payload: Json,
    /// The document's key (what `$ref`s in other payloads name).
    pub key: String,
    /// How delivery finds the target record again (`by` key or external reference).
    pub lookup: Option<Json>,
}

/// Why a run could not go on (per-record problems are export-log events, not errors).
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The state store failed.
    #[error("state store: {0}")]
    State(#[from] StateError),
    /// A system could not be set up or read.
    #[error("{0}")]
    Connector(#[from] ConnectorError),
    /// The project cannot run as written.
    #[error("{0}")]
    Project(String),
    /// The async runtime could not start.
    #[error("cannot start: {0}")]
    Io(#[from] std::io::Error),
}

/// Records a system pushed (a webhook delivery, re-read; or a file of them): they go through
/// the same change detection as a listing, for the flows that read their entity.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// System alias.
    pub system: String,
    /// Entity name.
    pub entity: String,
    /// The records as the system has them now (for `deleted`: as last known, with their id).
    pub records: Vec<Json>,
    /// The records were deleted in the system.
    pub deleted: bool,
}

/// Runs every flow of a checked project once.
pub async fn run(project: &Project, options: &RunOptions) -> Result<RunReport, RuntimeError> {
    execute(project, options, None).await
}

/// Runs the flows on `pushed`'s entity for the records a system pushed, then delivers.
pub async fn ingest(
    project: &Project,
    options: &RunOptions,
    pushed: &Pushed,
) -> Result<RunReport, RuntimeError> {
    execute(project, options, Some(pushed)).await
}

async fn execute(
    project: &Project,
    options: &RunOptions,
    pushed: Option<&Pushed>,
) -> Result<RunReport, RuntimeError> {
    let plan = plan::compile(project);
    let name = project_name(project);
    let today = options
        .today
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let config = project
        .config
        .as_ref()
        .ok_or_else(|| RuntimeError::Project("ledgerlink.yaml could not be read".into()))?;
    let clients = clients(project, options.sink.as_deref())?;
    let connectors: HashMap<String, String> = config
        .systems
        .iter()
        .map(|(alias, s)| (alias.clone(), s.connector.clone()))
        .collect();
    let mut report = RunReport {
        project: name.clone(),
        syncs_not_run: plan.syncs.iter().map(|s| s.name.clone()).collect(),
        ..RunReport::default()
    };
    let url = state_location(project, options.state.as_deref());
    // A dry run reads the state a real run would compare with, but never creates it.
    let store = if options.dry_run && !state_exists(&url) {
        None
    } else {
        Some(Store::open(&url).await?)
    };
    let writes = !options.dry_run;
    let sources = source::Run {
        project,
        plan: &plan,
        name: &name,
        today,
        clients: &clients,
        connectors: &connectors,
        store: store.as_ref(),
        options,
    };
    for (entity, flows) in source::by_source(&plan) {
        let started = std::time::Instant::now();
        match pushed {
            None => sources.source(entity, &flows, &mut report).await?,
            Some(p) if p.system == entity.system && p.entity == entity.entity => {
                sources.pushed(entity, &flows, p, &mut report).await?
            }
            Some(_) => continue,
        }
        tracing::info!(
            source = %format!("{}.{}", entity.system, entity.entity),
            flows = flows.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "source read and evaluated"
        );
    }
    // Reports in the plan's order of flows, whatever order their sources were read in.
    let order: HashMap<&str, usize> = plan
        .flows
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.as_str(), i))
        .collect();
    report
        .flows
        .sort_by_key(|f| order.get(f.name.as_str()).copied().unwrap_or(usize::MAX));
    if let (Some(store), true) = (&store, writes) {
        let started = std::time::Instant::now();
        let sources = source_entities(&plan);
        let sink = options.sink.is_some();
        deliver::deliver(store, &clients, &name, sink, &sources, &mut report).await?;
        tracing::info!(
            delivered = report.delivered,
            failed = report.failed,
            pending = report.pending,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "delivery done"
        );
    }
    if let Some(recorder) = &options.record {
        recorder.finish(store.as_ref(), &name).await?;
    }
    Ok(report)
}

/// A client per system of the project. With a `sink`, the systems the plan writes to keep
/// their records as JSON files under it instead of calling their APIs; systems that are only
/// read (sources) are always read where they are.
pub fn clients(
    project: &Project,
    sink: Option<&Path>,
) -> Result<HashMap<String, Client>, RuntimeError> {
    let config = project
        .config
        .as_ref()
        .ok_or_else(|| RuntimeError::Project("ledgerlink.yaml could not be read".into()))?;
    let written = written_systems(&plan::compile(project));
    let mut clients = HashMap::new();
    for (alias, system) in &config.systems {
        let sink = sink.filter(|_| written.contains(alias));
        let profile = project.profiles.get(&system.connector).ok_or_else(|| {
            RuntimeError::Project(format!("no connector profile `{}`", system.connector))
        })?;
        let system = with_endpoint_override(alias, system);
        clients.insert(
            alias.clone(),
            Client::new(alias, profile.clone(), &system, &project.dir, sink)?,
        );
    }
    Ok(clients)
}

/// `LEDGERLINK_ENDPOINT_<ALIAS>=http://…` points a system at another server (a staging
/// account, or a test's fake server) without touching the project file.
fn with_endpoint_override(
    alias: &str,
    system: &crate::project::SystemConfig,
) -> crate::project::SystemConfig {
    let mut system = system.clone();
    let variable = format!(
        "LEDGERLINK_ENDPOINT_{}",
        alias.to_uppercase().replace('-', "_")
    );
    if let Ok(url) = std::env::var(variable) {
        system
            .options
            .insert("url".into(), serde_yaml_ng::Value::String(url));
    }
    system
}

/// The entities a plan's flows read, as `(system, entity)`.
pub fn source_entities(plan: &plan::Plan) -> HashSet<(String, String)> {
    plan.flows
        .iter()
        .filter_map(|f| f.source.as_ref())
        .map(|s| (s.system.clone(), s.entity.clone()))
        .collect()
}

/// The systems a plan writes to (flow documents and sync sides).
fn written_systems(plan: &plan::Plan) -> HashSet<String> {
    fn collect(steps: &[Step], out: &mut HashSet<String>) {
        for step in steps {
            match step {
                Step::Write { target, body, .. } => {
                    out.insert(target.system.clone());
                    collect(body, out);
                }
                Step::Let {
                    write: Some(write), ..
                } => collect(std::slice::from_ref(write.as_ref()), out),
                Step::Split { body, .. }
                | Step::Line { body }
                | Step::LinesFor { body, .. }
                | Step::LinesGroup { body, .. } => collect(body, out),
                Step::When {
                    then, otherwise, ..
                } => {
                    collect(then, out);
                    collect(otherwise, out);
                }
                _ => {}
            }
        }
    }
    let mut out = HashSet::new();
    for flow in &plan.flows {
        collect(&flow.steps, &mut out);
    }
    for sync in &plan.syncs {
        out.insert(sync.left.system.clone());
        out.insert(sync.right.system.clone());
    }
    out
}

/// The name a project's state and export log are kept under: `name:` in ledgerlink.yaml,
/// else the project folder's name.
pub fn project_name(project: &Project) -> String {
    project
        .config
        .as_ref()
        .and_then(|c| c.name.clone())
        .unwrap_or_else(|| folder_name(&project.dir))
}

/// The state store of a project: the override (`--state`), else `state:`, else
/// `sqlite://state.db` in the project folder.
pub fn state_location(project: &Project, override_url: Option<&str>) -> String {
    let configured = project.config.as_ref().and_then(|c| c.state.clone());
    let url = override_url
        .map(str::to_string)
        .or(configured)
        .unwrap_or_else(|| "sqlite://state.db".into());
    state_url(&url, &project.dir)
}

/// The store of a project: a relative SQLite path is relative to the project folder.
pub fn state_url(url: &str, project_dir: &Path) -> String {
    match url.strip_prefix("sqlite://") {
        Some(path) if !path.starts_with('/') && !path.starts_with(':') => {
            let (file, query) = path
                .split_once('?')
                .map_or((path, None), |(f, q)| (f, Some(q)));
            let joined = project_dir.join(file).display().to_string();
            match query {
                Some(q) => format!("sqlite://{joined}?{q}"),
                None => format!("sqlite://{joined}"),
            }
        }
        _ => url.to_string(),
    }
}

/// Does the store behind `url` exist already? (PostgreSQL databases always do.)
pub(crate) fn state_exists(url: &str) -> bool {
    match url.strip_prefix("sqlite://") {
        Some(path) => Path::new(path.split('?').next().unwrap_or(path)).exists(),
        None => true,
    }
}

fn folder_name(dir: &Path) -> String {
    dir.canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "project".into())
}

/// Hex SHA-256 of a record's canonical JSON (keys in the order the source sent them).
fn hash(record: &Json) -> String {
    document::hex_sha256(&[&record.to_string()])
}

fn intent(
    project: &str,
    flow: &str,
    source: &str,
    document: &Document,
    cx: &FlowContext<'_>,
) -> NewIntent {
    let idempotency = cx
        .entity(&document.target)
        .and_then(|e| e.idempotency.as_ref())
        .and_then(|i| i.header.as_ref());
    NewIntent {
        key: document.key.clone(),
        project: project.to_string(),
        flow: flow.to_string(),
        source: source.to_string(),
        system: document.target.system.clone(),
        entity: document.target.entity.clone(),
        operation: document.operation().to_string(),
        payload: Json::Object(document.payload.clone()),
        lookup: document.lookup.clone(),
        // One key per logical write, kept across retries: the document key itself.
        idempotency_key: idempotency.map(|_| document.key.clone()),
        depends_on: document.depends_on.clone(),
    }
}

fn planned(intent: &NewIntent) -> PlannedWrite {
    PlannedWrite {
        flow: intent.flow.clone(),
        source: intent.source.clone(),
        operation: intent.operation.clone(),
        target: format!("{}.{}", intent.system, intent.entity),
        payload: intent.payload.clone(),
        key: intent.key.clone(),
        lookup: intent.lookup.clone(),
    }
}

fn record_event(
    project: &str,
    flow: &str,
    source: &str,
    kind: EventKind,
    message: String,
) -> NewEvent {
    NewEvent {
        project: project.to_string(),
        flow: Some(flow.to_string()),
        kind,
        source: Some(source.to_string()),
        target: None,
        intent: None,
        message,
        details: Json::Null,
    }
}

/// A spinner with the count of records read: a paged source's length is not known up front.
fn progress_bar(show: bool, flow: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {msg:20} {pos} records ({per_sec})")
    {
        bar.set_style(style);
    }
    bar.set_message(flow.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Logs that a flow's records (or lookups) could not be read.
async fn log_unreadable(
    store: &Store,
    project: &str,
    flow: &str,
    err: &RuntimeError,
) -> Result<(), RuntimeError> {
    let message = format!("flow {flow} could not read its records: {err}");
    store
        .log(&NewEvent {
            details: Json::Null,
            ..record_event(project, flow, "", EventKind::Failed, message)
        })
        .await?;
    Ok(())
}

/// Records of the entities a flow searches with `find` / `exists`, read once per run.
pub(crate) struct Prefetched(pub(crate) HashMap<(String, String), Vec<Json>>);

impl Collections for Prefetched {
    fn records(&self, system: &str, entity: &str) -> Result<&[Json], EvalError> {
        self.0
            .get(&(system.to_string(), entity.to_string()))
            .map(Vec::as_slice)
            .ok_or_else(|| {
                EvalError::new(
                    EvalErrorKind::BadArgument,
                    format!("{system}.{entity} was not read"),
                )
            })
    }
}

pub(crate) async fn prefetch(
    flow: &plan::Flow,
    clients: &HashMap<String, Client>,
) -> Result<Prefetched, RuntimeError> {
    let mut wanted = HashSet::new();
    searched_entities(&flow.steps, &mut wanted);
    let mut records = HashMap::new();
    for (system, entity) in wanted {
        if let Some(client) = clients.get(&system) {
            let list = client.list(&entity, None).await?;
            records.insert((system, entity), list);
        }
    }
    Ok(Prefetched(records))
}

fn searched_entities(steps: &[Step], out: &mut HashSet<(String, String)>) {
    for step in steps {
        let mut exprs: Vec<&PlanExpr> = Vec::new();
        let mut nested: Vec<&[Step]> = Vec::new();
        match step {
            Step::Let { value, write, .. } => {
                exprs.extend(value);
                if let Some(w) = write {
                    searched_entities(std::slice::from_ref(w.as_ref()), out);
                }
            }
            Step::Write {
                keys,
                credit_for,
                destination,
                body,
                ..
            } => {
                exprs.extend(keys.iter().map(|(_, v)| v));
                exprs.extend(credit_for);
                exprs.extend(destination);
                nested.push(body);
            }
            Step::Split {
                amount, plan, body, ..
            } => {
                exprs.extend([amount, plan]);
                nested.push(body);
            }
            Step::When {
                condition,
                then,
                otherwise,
            } => {
                exprs.push(condition);
                nested.extend([then.as_slice(), otherwise.as_slice()]);
            }
            Step::Require { condition, message } => exprs.extend([condition, message]),
            Step::Settle { value } | Step::Attach { value } => exprs.push(value),
            Step::Line { body } => nested.push(body),
            Step::LinesFor { list, body, .. } | Step::LinesGroup { list, body, .. } => {
                exprs.push(list);
                nested.push(body);
            }
            Step::Set { value, .. } => exprs.push(value),
        }
        for expr in exprs {
            searched_in(expr, out);
        }
        for body in nested {
            searched_entities(body, out);
        }
    }
}

fn searched_in(expr: &PlanExpr, out: &mut HashSet<(String, String)>) {
    if let PlanExpr::Find { entity, .. } | PlanExpr::Exists { entity, .. } = expr {
        out.insert((entity.system.clone(), entity.entity.clone()));
    }
    for child in children(expr) {
        searched_in(child, out);
    }
}

/// The sub-expressions of an expression.
fn children(expr: &PlanExpr) -> Vec<&PlanExpr> {
    match expr {
        PlanExpr::Find { filter, .. } | PlanExpr::Exists { filter, .. } => {
            filter.iter().map(|f| f.as_ref()).collect()
        }
        PlanExpr::Text { parts }
        | PlanExpr::List { items: parts }
        | PlanExpr::Call { args: parts, .. } => parts.iter().collect(),
        PlanExpr::Lookup { key, .. } => vec![key],
        PlanExpr::Index { base, index } => vec![base, index],
        PlanExpr::Binary { left, right, .. } => vec![left, right],
        PlanExpr::Becomes { field, value } => vec![field, value],
        PlanExpr::Member { base, .. } => vec![base],
        PlanExpr::Unary { operand, .. } => vec![operand],
        PlanExpr::Changed { field } => vec![field],
        PlanExpr::Method { receiver, args, .. } => {
            std::iter::once(receiver.as_ref()).chain(args).collect()
        }
        PlanExpr::If {
            condition,
            then,
            otherwise,
        } => vec![condition, then, otherwise],
        PlanExpr::RecordLiteral { fields } => fields.iter().map(|(_, v)| v).collect(),
        PlanExpr::Literal { .. }
        | PlanExpr::Var { .. }
        | PlanExpr::Setting { .. }
        | PlanExpr::Record { .. }
        | PlanExpr::Side { .. }
        | PlanExpr::Field { .. } => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_sqlite_paths_follow_the_project() {
        let dir = Path::new("/projects/acme");
        assert_eq!(
            state_url("sqlite://state.db", dir),
            "sqlite:///projects/acme/state.db"
        );
        assert_eq!(
            state_url("sqlite:///var/lib/x.db", dir),
            "sqlite:///var/lib/x.db"
        );
        assert_eq!(state_url("postgres://u@h/db", dir), "postgres://u@h/db");
    }
}
