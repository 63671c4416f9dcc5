//! `ledgerlink diff PROJECT --against REV_OR_DIR [--last N] [--state URL] [--today DATE]
//! [--format human|json]`: the effect of a rule change on real records.
//!
//! The project's rules as they are now and as they were (at a git revision of the repository
//! that holds the project, or in another project folder) are both checked and compiled; the
//! newest N source records of every flow's source entity are taken from the state store's
//! snapshots, and each is evaluated under both plans with the runtime's own
//! [`evaluate_record`]. What differs is printed: documents added, removed or changed (field by
//! field, before → after) and outcomes that changed (skipped ↔ sent, failed ↔ ok).
//!
//! Each record is evaluated as if it were seen for the first time (no previous snapshot), so
//! `created` and `becomes` triggers fire for records that match them: the diff shows what the
//! rules make of a record, not whether a run would pick it up again. Both versions use the
//! project's current name for document keys, so the same document has the same key in both.
//! Nothing is written anywhere: the state store is only read (and never created), systems are
//! only read for the records `find` and `exists` search.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
};

use serde::Serialize;
use serde_json::Value as Json;

use super::{output, Exit, Format};
use crate::{
    connector::client::Client,
    eval::{record::Collections, EvalError, EvalErrorKind},
    plan::{self, Plan},
    project::Project,
    runtime::{
        self,
        compare::{changes, FieldChange},
        document::REF,
        flow::{evaluate_record, FlowContext, Outcome},
        RuntimeError,
    },
    state::Store,
};

/// Arguments of `diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder (the rules as they are now).
    pub path: PathBuf,
    /// The rules to compare with: a git revision of the repository holding the project
    /// (`HEAD`, `main~3`, a tag) or another project folder.
    #[arg(long, value_name = "REV_OR_DIR")]
    pub against: String,
    /// How many of the newest source records of each source entity to evaluate.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub last: u32,
    /// State store URL (overrides `state:` in ledgerlink.yaml).
    #[arg(long, env = "LEDGERLINK_STATE")]
    pub state: Option<String>,
    /// The date `today()` returns (YYYY-MM-DD).
    #[arg(long)]
    pub today: Option<chrono::NaiveDate>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// What differs for one source record in one flow.
#[derive(Debug, Clone, Serialize)]
pub struct RecordDiff {
    /// The flow.
    pub flow: String,
    /// The source record, `system.Entity:id`.
    pub source: String,
    /// The outcome before and after, when it changed (`skipped: …` → `sent 3 documents`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<(String, String)>,
    /// Documents added, removed or changed.
    pub documents: Vec<DocumentDiff>,
}

/// A document that differs between the two versions.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentDiff {
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// upsert / ensure / create / credit / post.
    pub operation: String,
    /// `system.Entity`.
    pub target: String,
    /// The fields: all of them for an added or removed document, the differing ones else.
    pub fields: Vec<FieldChange>,
}

/// The whole comparison.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Comparison {
    /// Project name.
    pub project: String,
    /// What the rules were compared with.
    pub against: String,
    /// Source records evaluated.
    pub records: usize,
    /// Records whose `find` / `exists` lookups could not be evaluated on one side or both:
    /// not compared.
    pub not_compared: Vec<NotCompared>,
    /// Flows whose lookups could not be read, and why.
    pub lookups_unavailable: Vec<String>,
    /// What differs.
    pub differences: Vec<RecordDiff>,
}

/// A record that could not be compared.
#[derive(Debug, Clone, Serialize)]
pub struct NotCompared {
    /// The flow.
    pub flow: String,
    /// The source record.
    pub source: String,
    /// Why.
    pub reason: String,
}

/// Compares the project's rules now with the rules at `--against` on recent records.
pub fn run(args: Args) -> Exit {
    let current = match checked(&args.path, "the rules now") {
        Ok(project) => project,
        Err(exit) => return exit,
    };
    let (old_dir, _cleanup) = match materialise(&args.path, &args.against) {
        Ok(found) => found,
        Err(message) => {
            output::error(message);
            return Exit::Usage;
        }
    };
    let old = match checked(&old_dir, &format!("the rules at {}", args.against)) {
        Ok(project) => project,
        Err(exit) => return exit,
    };
    let outcome = super::block_on(compare(&current, &old, &args));
    match outcome {
        Ok(Some(comparison)) => {
            print(&comparison, args.format);
            if comparison.differences.is_empty() {
                Exit::Clean
            } else {
                Exit::Findings
            }
        }
        Ok(None) => Exit::Usage,
        Err(err) => {
            output::error(err);
            Exit::Usage
        }
    }
}

/// Loads and checks a project; lint errors make it unusable for a comparison (exit 2).
fn checked(path: &Path, what: &str) -> Result<Project, Exit> {
    let (project, mut diagnostics) = super::load(path)?;
    diagnostics.extend(crate::check::check(&project));
    if diagnostics
        .iter()
        .any(crate::diagnostic::Diagnostic::is_error)
    {
        output::print_diagnostics(&diagnostics, Format::Human);
        output::error(format!(
            "{what} do not check: nothing to compare (`ledgerlink lint`)"
        ));
        return Err(Exit::Usage);
    }
    Ok(project)
}

/// Removes a temporary folder when dropped.
struct TempDir(Option<PathBuf>);

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(dir) = self.0.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The project folder to compare with: `against` itself when it is a folder, else the
/// project's files at git revision `against`, written to a temporary folder.
fn materialise(project: &Path, against: &str) -> Result<(PathBuf, TempDir), String> {
    let as_dir = Path::new(against);
    if as_dir.is_dir() {
        return Ok((as_dir.to_path_buf(), TempDir(None)));
    }
    let dir = if project.is_file() {
        project.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        project.to_path_buf()
    };
    let git = |args: &[&str]| -> Result<Vec<u8>, String> {
        let output = Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run git: {e}"))?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
        }
    };
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).trim().to_string();
    let prefix = git(&["rev-parse", "--show-prefix"]).map_err(|e| {
        format!("`{against}` is neither a folder nor usable as a git revision: {e}")
    })?;
    let prefix = text(prefix);
    let commit = git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{against}^{{commit}}"),
    ])
    .map_err(|_| format!("`{against}` is neither a folder nor a git revision"))?;
    let commit = text(commit);
    let mut list = vec!["ls-tree", "-r", "-z", "--name-only", "--full-tree", &commit];
    if !prefix.is_empty() {
        list.extend(["--", &prefix]);
    }
    let listing = git(&list).map_err(|e| format!("cannot list the project at {against}: {e}"))?;
    let files: Vec<String> = listing
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| String::from_utf8_lossy(name).into_owned())
        .collect();
    let project_file = format!("{prefix}{}", crate::project::PROJECT_FILE);
    if !files.contains(&project_file) {
        return Err(format!(
            "at {against} the project has no {} (not committed yet?)",
            crate::project::PROJECT_FILE
        ));
    }
    let target = std::env::temp_dir().join(format!(
        "ledgerlink-diff-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    ));
    let cleanup = TempDir(Some(target.clone()));
    // Only what a project is made of: the project file, rules, profiles and tables (source
    // data such as fixtures is never read by a comparison).
    let wanted = |relative: &str| {
        relative == crate::project::PROJECT_FILE
            || ["rules/", "connectors/", "tables/"]
                .iter()
                .any(|folder| relative.starts_with(folder))
    };
    for file in &files {
        let relative = file.strip_prefix(&prefix).unwrap_or(file);
        if !wanted(relative) {
            continue;
        }
        let content = git(&["show", &format!("{commit}:{file}")])
            .map_err(|e| format!("cannot read {file} at {against}: {e}"))?;
        let path = target.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot write {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, content)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok((target, cleanup))
}

/// `find` / `exists` when the searched systems could not be read.
struct Unavailable(String);

impl Collections for Unavailable {
    fn records(&self, system: &str, entity: &str) -> Result<&[Json], EvalError> {
        Err(EvalError::new(
            EvalErrorKind::BadArgument,
            format!("{UNAVAILABLE} ({system}.{entity}: {})", self.0),
        ))
    }
}

const UNAVAILABLE: &str = "lookups could not be evaluated";

/// One version of the rules, ready to evaluate records.
struct Side<'a> {
    project: &'a Project,
    plan: Plan,
    connectors: HashMap<String, String>,
    collections: HashMap<String, Box<dyn Collections>>,
}

impl<'a> Side<'a> {
    async fn new(project: &'a Project, unavailable: &mut Vec<String>, label: &str) -> Side<'a> {
        let plan = plan::compile(project);
        let connectors = project
            .config
            .as_ref()
            .map(|c| {
                c.systems
                    .iter()
                    .map(|(alias, s)| (alias.clone(), s.connector.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let clients: Result<HashMap<String, Client>, RuntimeError> =
            runtime::clients(project, None);
        let mut collections: HashMap<String, Box<dyn Collections>> = HashMap::new();
        for flow in &plan.flows {
            // Without clients, only the records whose rules search anything are affected:
            // they say so when evaluated.
            let collection: Box<dyn Collections> = match &clients {
                Ok(clients) => match runtime::prefetch(flow, clients).await {
                    Ok(found) => Box::new(found),
                    Err(err) => {
                        unavailable.push(format!("flow {} ({label}): {err}", flow.name));
                        Box::new(Unavailable(err.to_string()))
                    }
                },
                Err(err) => Box::new(Unavailable(err.to_string())),
            };
            collections.insert(flow.name.clone(), collection);
        }
        Side {
            project,
            plan,
            connectors,
            collections,
        }
    }

    fn evaluate(
        &self,
        name: &str,
        flow_name: &str,
        source: &str,
        record: &Json,
        today: chrono::NaiveDate,
    ) -> Evaluated {
        let Some(flow) = self.plan.flows.iter().find(|f| f.name == flow_name) else {
            return Evaluated::NoFlow;
        };
        let Some(collections) = self.collections.get(flow_name) else {
            return Evaluated::NoFlow;
        };
        let cx = FlowContext {
            project: name,
            plan: &self.plan,
            flow,
            profiles: &self.project.profiles,
            connectors: &self.connectors,
            today,
            collections: collections.as_ref(),
        };
        match evaluate_record(&cx, source, record, None) {
            Ok(Outcome::NotTriggered) => Evaluated::NotTriggered,
            Ok(Outcome::Skipped(reason) | Outcome::Waiting(reason)) => Evaluated::Skipped(reason),
            Ok(Outcome::Documents(documents)) => {
                let targets: HashMap<String, String> = documents
                    .iter()
                    .map(|d| {
                        (
                            d.key.clone(),
                            format!("{}.{}", d.target.system, d.target.entity),
                        )
                    })
                    .collect();
                Evaluated::Sent(
                    documents
                        .iter()
                        .map(|d| Doc {
                            key: d.key.clone(),
                            operation: d.operation().to_string(),
                            target: format!("{}.{}", d.target.system, d.target.entity),
                            payload: named_references(&Json::Object(d.payload.clone()), &targets),
                        })
                        .collect(),
                )
            }
            Err(err) => Evaluated::Failed(err.to_string()),
        }
    }
}

/// A document, its `$ref`s replaced by the target they name (keys differ when steps move).
struct Doc {
    key: String,
    operation: String,
    target: String,
    payload: Json,
}

enum Evaluated {
    NoFlow,
    NotTriggered,
    Skipped(String),
    Sent(Vec<Doc>),
    Failed(String),
}

impl Evaluated {
    fn describe(&self) -> String {
        match self {
            Evaluated::NoFlow => "no such flow".into(),
            Evaluated::NotTriggered => "not triggered".into(),
            Evaluated::Skipped(reason) => format!("skipped: {reason}"),
            Evaluated::Sent(docs) => format!(
                "sent {} document{}",
                docs.len(),
                if docs.len() == 1 { "" } else { "s" }
            ),
            Evaluated::Failed(err) => format!("failed: {err}"),
        }
    }

    fn documents(&self) -> &[Doc] {
        match self {
            Evaluated::Sent(docs) => docs,
            _ => &[],
        }
    }

    fn lookup_problem(&self) -> Option<&str> {
        match self {
            Evaluated::Failed(err) if err.contains(UNAVAILABLE) => Some(err),
            _ => None,
        }
    }
}

fn named_references(json: &Json, targets: &HashMap<String, String>) -> Json {
    match json {
        Json::Object(map) => {
            if let (Some(Json::String(key)), 1) = (map.get(REF), map.len()) {
                let target = targets.get(key).map_or("another", String::as_str);
                return Json::String(format!("(id of the {target} written for this record)"));
            }
            Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), named_references(v, targets)))
                    .collect(),
            )
        }
        Json::Array(items) => {
            Json::Array(items.iter().map(|v| named_references(v, targets)).collect())
        }
        other => other.clone(),
    }
}

async fn compare(
    current: &Project,
    old: &Project,
    args: &Args,
) -> Result<Option<Comparison>, RuntimeError> {
    let name = runtime::project_name(current);
    let url = runtime::state_location(current, args.state.as_deref());
    if !runtime::state_exists(&url) {
        output::error(format!(
            "no state store yet ({url}): run the project first, its snapshots are the records compared"
        ));
        return Ok(None);
    }
    let store = Store::open(&url).await?;
    let mut comparison = Comparison {
        project: name.clone(),
        against: args.against.clone(),
        ..Comparison::default()
    };
    let before = Side::new(old, &mut comparison.lookups_unavailable, "before").await;
    let after = Side::new(current, &mut comparison.lookups_unavailable, "now").await;
    let today = args
        .today
        .unwrap_or_else(|| chrono::Local::now().date_naive());

    // Every flow of either version, by its source entity.
    let mut flows: Vec<(String, String, String)> = Vec::new();
    for flow in before.plan.flows.iter().chain(&after.plan.flows) {
        if let Some(source) = &flow.source {
            let entry = (
                source.system.clone(),
                source.entity.clone(),
                flow.name.clone(),
            );
            if !flows.contains(&entry) {
                flows.push(entry);
            }
        }
    }
    let mut sources: Vec<(String, String)> = flows
        .iter()
        .map(|(system, entity, _)| (system.clone(), entity.clone()))
        .collect();
    sources.dedup();
    sources.sort();
    sources.dedup();
    for (system, entity) in &sources {
        let snapshots = store
            .recent_snapshots(&name, system, entity, i64::from(args.last))
            .await?;
        comparison.records += snapshots.len();
        for (key, snapshot) in snapshots {
            let source = format!("{system}.{entity}:{}", key.id);
            for (_, _, flow) in flows.iter().filter(|(s, e, _)| s == system && e == entity) {
                let was = before.evaluate(&name, flow, &source, &snapshot.fields, today);
                let now = after.evaluate(&name, flow, &source, &snapshot.fields, today);
                if let Some(problem) = was.lookup_problem().or(now.lookup_problem()) {
                    comparison.not_compared.push(NotCompared {
                        flow: flow.clone(),
                        source: source.clone(),
                        reason: problem.to_string(),
                    });
                    continue;
                }
                if let Some(diff) = record_diff(flow, &source, &was, &now) {
                    comparison.differences.push(diff);
                }
            }
        }
    }
    if comparison.records == 0 {
        output::error(format!(
            "the state store has no source records of project {name} yet: run it first, its snapshots are the records compared"
        ));
        return Ok(None);
    }
    Ok(Some(comparison))
}

fn record_diff(flow: &str, source: &str, was: &Evaluated, now: &Evaluated) -> Option<RecordDiff> {
    let (before, after) = (was.describe(), now.describe());
    let kind = |e: &Evaluated| std::mem::discriminant(e);
    let outcome = (before != after
        && !(matches!(was, Evaluated::Sent(_)) && kind(was) == kind(now)))
    .then_some((before, after));
    let documents = document_diffs(was.documents(), now.documents());
    if outcome.is_none() && documents.is_empty() {
        return None;
    }
    Some(RecordDiff {
        flow: flow.to_string(),
        source: source.to_string(),
        outcome,
        documents,
    })
}

/// Pairs the documents of both versions (by key, then by operation and target in order) and
/// lists what differs.
fn document_diffs(was: &[Doc], now: &[Doc]) -> Vec<DocumentDiff> {
    let mut unpaired_new: Vec<Option<&Doc>> = now.iter().map(Some).collect();
    let mut pairs: Vec<(Option<&Doc>, Option<&Doc>)> = Vec::new();
    let mut unpaired_old = Vec::new();
    for old in was {
        match unpaired_new
            .iter_mut()
            .find(|d| d.is_some_and(|d| d.key == old.key))
        {
            Some(slot) => pairs.push((Some(old), slot.take())),
            None => unpaired_old.push(old),
        }
    }
    for old in unpaired_old {
        match unpaired_new
            .iter_mut()
            .find(|d| d.is_some_and(|d| d.operation == old.operation && d.target == old.target))
        {
            Some(slot) => pairs.push((Some(old), slot.take())),
            None => pairs.push((Some(old), None)),
        }
    }
    pairs.extend(unpaired_new.into_iter().flatten().map(|d| (None, Some(d))));
    let mut out = Vec::new();
    for (old, new) in pairs {
        let Some(doc) = new.or(old) else { continue };
        let mut fields = Vec::new();
        changes(
            "",
            old.map(|d| &d.payload),
            new.map(|d| &d.payload),
            &mut fields,
        );
        let change = match (old, new) {
            (Some(_), Some(_)) if fields.is_empty() => continue,
            (Some(_), Some(_)) => "changed",
            (None, _) => "added",
            (_, None) => "removed",
        };
        if change != "changed" {
            fields = leaves(&doc.payload, old.is_none());
        }
        out.push(DocumentDiff {
            change,
            operation: doc.operation.clone(),
            target: doc.target.clone(),
            fields,
        });
    }
    out
}

/// Every field of a whole document, as added (`after`) or removed (`before`).
fn leaves(payload: &Json, added: bool) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let empty = Json::Object(serde_json::Map::new());
    let (before, after) = if added {
        (&empty, payload)
    } else {
        (payload, &empty)
    };
    changes("", Some(before), Some(after), &mut out);
    out
}

fn print(comparison: &Comparison, format: Format) {
    if matches!(format, Format::Json) {
        println!(
            "{}",
            serde_json::to_string_pretty(comparison).unwrap_or_default()
        );
        return;
    }
    let color = output::color_stdout();
    println!(
        "project {}: rules now against {}, {} source records from the state store",
        comparison.project, comparison.against, comparison.records
    );
    for problem in &comparison.lookups_unavailable {
        println!("  lookups could not be evaluated in {problem}");
    }
    let mut flow = "";
    for diff in &comparison.differences {
        if diff.flow != flow {
            flow = &diff.flow;
            println!();
            println!(
                "{}",
                output::paint(color, output::Paint::Bold, &format!("flow {flow}"))
            );
        }
        println!("  {}", diff.source);
        if let Some((before, after)) = &diff.outcome {
            println!(
                "    {} {before} → {after}",
                output::paint(color, output::Paint::Yellow, "outcome")
            );
        }
        for document in &diff.documents {
            let paint = match document.change {
                "added" => output::Paint::Green,
                "removed" => output::Paint::Red,
                _ => output::Paint::Yellow,
            };
            println!(
                "    {} {} {}",
                output::paint(color, paint, document.change),
                document.operation,
                document.target
            );
            for field in &document.fields {
                let shown = |v: &Option<Json>| {
                    v.as_ref()
                        .map_or_else(|| "(none)".to_string(), Json::to_string)
                };
                match document.change {
                    "changed" => println!(
                        "        {}: {} → {}",
                        field.path,
                        shown(&field.before),
                        shown(&field.after)
                    ),
                    "added" => println!("        {} = {}", field.path, shown(&field.after)),
                    _ => println!("        {} = {}", field.path, shown(&field.before)),
                }
            }
        }
    }
    for skipped in &comparison.not_compared {
        println!(
            "  not compared {} ({}): {}",
            skipped.source, skipped.flow, skipped.reason
        );
    }
    println!();
    if comparison.differences.is_empty() {
        println!("no difference");
    } else {
        let count = |change: &str| {
            comparison
                .differences
                .iter()
                .flat_map(|d| &d.documents)
                .filter(|d| d.change == change)
                .count()
        };
        println!(
            "{} record evaluations differ: {} documents added, {} removed, {} changed, {} outcomes changed",
            comparison.differences.len(),
            count("added"),
            count("removed"),
            count("changed"),
            comparison
                .differences
                .iter()
                .filter(|d| d.outcome.is_some())
                .count()
        );
    }
}
