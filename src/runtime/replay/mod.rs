//! Replaying a recording (`ledgerlink test`): the project's current rules are evaluated
//! against the recorded source records and collections, offline — no network, no state store,
//! `today()` the recorded date — through the same [`evaluate_record`] the runtime uses, and the
//! result ([`Outcomes`]) is compared with the recording's golden `expected.json` ([`diff`]).
//!
//! Every recorded record is new (no snapshot) unless the recording lists a `previous` file for
//! its source; a record equal to its snapshot is `unchanged` and not evaluated, as in a run.
//! Document keys use the recorded project name, so they match the keys of the recorded run
//! (and `deliveries.ndjson`) wherever the project folder is.

pub mod diff;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use chrono::NaiveDate;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{
    flow::{evaluate_record, FlowContext, Outcome},
    hash,
    record::{
        write_json, Manifest, RecordedEntity, RecordingError, SourceLine, EXPECTED, FORMAT,
        MANIFEST,
    },
    Prefetched,
};
use crate::{plan, project::Project};

/// Version of the `expected.json` layout.
pub const EXPECTED_FORMAT: u32 = 1;

/// A recording read back from its folder.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The folder.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Source records (id, record) per (system, entity), in the order read.
    sources: HashMap<(String, String), Vec<(String, Json)>>,
    /// Snapshots by id per (system, entity), where the recording has them.
    previous: HashMap<(String, String), HashMap<String, Json>>,
    /// Prefetched collections per (system, entity).
    collections: HashMap<(String, String), Vec<Json>>,
}

impl Recording {
    /// Is `dir` a recording (does it have a manifest)?
    pub fn is_recording(dir: &Path) -> bool {
        dir.join(MANIFEST).is_file()
    }

    /// Reads a recording; a missing or malformed file is an error naming the file and line.
    pub fn load(dir: &Path) -> Result<Recording, RecordingError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(RecordingError::io(&path))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
            RecordingError::corrupt(&path, format!("not a recording manifest: {e}"))
        })?;
        if manifest.ledgerlink_recording != FORMAT {
            return Err(RecordingError::corrupt(
                &path,
                format!(
                    "recording layout {} is not supported (this ledgerlink reads {FORMAT})",
                    manifest.ledgerlink_recording
                ),
            ));
        }
        let mut sources = HashMap::new();
        let mut previous = HashMap::new();
        for entity in &manifest.sources {
            let key = (entity.system.clone(), entity.entity.clone());
            sources.insert(key.clone(), read_source_lines(dir, &entity.file)?);
            if let Some(file) = &entity.previous {
                previous.insert(key, read_source_lines(dir, file)?.into_iter().collect());
            }
        }
        let mut collections = HashMap::new();
        for entity in &manifest.collections {
            let RecordedEntity {
                system,
                entity,
                file,
                ..
            } = entity;
            collections.insert((system.clone(), entity.clone()), read_lines(dir, file)?);
        }
        Ok(Recording {
            dir: dir.to_path_buf(),
            manifest,
            sources,
            previous,
            collections,
        })
    }

    /// The golden outputs, `None` when the recording has none yet.
    pub fn expected(&self) -> Result<Option<Outcomes>, RecordingError> {
        let path = self.dir.join(EXPECTED);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(RecordingError::io(&path)(err)),
        };
        let expected: Outcomes = serde_json::from_str(&text)
            .map_err(|e| RecordingError::corrupt(&path, format!("not a golden file: {e}")))?;
        if expected.ledgerlink_expected != EXPECTED_FORMAT {
            return Err(RecordingError::corrupt(
                &path,
                format!(
                    "golden layout {} is not supported (this ledgerlink reads {EXPECTED_FORMAT})",
                    expected.ledgerlink_expected
                ),
            ));
        }
        Ok(Some(expected))
    }

    /// Writes `outcomes` as the golden file.
    pub fn write_expected(&self, outcomes: &Outcomes) -> Result<(), RecordingError> {
        write_json(&self.dir.join(EXPECTED), outcomes)
    }
}

/// Reads a file of `{"id": …, "record": {…}}` lines; a line without an id gets the record's
/// hash, as in a run when the profile names no id field.
fn read_source_lines(dir: &Path, file: &str) -> Result<Vec<(String, Json)>, RecordingError> {
    let path = dir.join(file);
    read_lines(dir, file)?
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let line: SourceLine = serde_json::from_value(value).map_err(|e| {
                RecordingError::corrupt(
                    &path,
                    format!("line {}: not an {{\"id\", \"record\"}} line: {e}", i + 1),
                )
            })?;
            let id = line.id.unwrap_or_else(|| hash(&line.record));
            Ok((id, line.record))
        })
        .collect()
}

/// Reads an NDJSON file of the recording (empty lines are skipped).
fn read_lines(dir: &Path, file: &str) -> Result<Vec<Json>, RecordingError> {
    let path = dir.join(file);
    if Path::new(file).is_absolute() || file.split(['/', '\\']).any(|part| part == "..") {
        return Err(RecordingError::corrupt(
            &dir.join(MANIFEST),
            format!("`{file}` is not a file inside the recording"),
        ));
    }
    let text = std::fs::read_to_string(&path).map_err(RecordingError::io(&path))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| {
                RecordingError::corrupt(&path, format!("line {}: not JSON: {e}", i + 1))
            })
        })
        .collect()
}

/// What the rules make of a recording: the contents of `expected.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcomes {
    /// Layout version ([`EXPECTED_FORMAT`]).
    pub ledgerlink_expected: u32,
    /// The project name the document keys use.
    pub project: String,
    /// The date `today()` returned.
    #[serde(with = "super::record::date")]
    pub today: NaiveDate,
    /// Per flow with a source, in plan order.
    pub flows: IndexMap<String, FlowOutcomes>,
}

/// One flow's outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowOutcomes {
    /// `system.Entity` it reads.
    pub source: String,
    /// Why the flow could not be replayed (its source is not in the recording).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable: Option<String>,
    /// Per source record (`system.Entity:id`), in the order read.
    #[serde(default)]
    pub records: IndexMap<String, RecordOutcome>,
}

/// What became of one source record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordOutcome {
    /// documents, skipped, failed, not_triggered or unchanged.
    pub outcome: OutcomeKind,
    /// Why it was skipped or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The documents, in the order the flow writes them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<DocumentOutcome>,
}

/// The kind of a record's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// The flow wrote documents.
    Documents,
    /// A `require` or `since` held it back.
    Skipped,
    /// It could not be evaluated (bad data).
    Failed,
    /// The trigger did not fire.
    NotTriggered,
    /// Equal to its snapshot: not evaluated.
    Unchanged,
}

impl OutcomeKind {
    /// The name used in files and messages.
    pub fn name(self) -> &'static str {
        match self {
            OutcomeKind::Documents => "documents",
            OutcomeKind::Skipped => "skipped",
            OutcomeKind::Failed => "failed",
            OutcomeKind::NotTriggered => "not triggered",
            OutcomeKind::Unchanged => "unchanged",
        }
    }
}

/// A document a record's evaluation asks to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentOutcome {
    /// upsert / ensure / create / credit / post.
    pub operation: String,
    /// `system.Entity`.
    pub target: String,
    /// Deterministic document key.
    pub key: String,
    /// How the target record is found again (the `by` key or external reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup: Option<Json>,
    /// The body.
    pub payload: Json,
}

impl Outcomes {
    /// Source records evaluated and documents written, over all flows.
    pub fn counts(&self) -> (usize, usize) {
        let records = self.flows.values().map(|f| f.records.len()).sum();
        let documents = self
            .flows
            .values()
            .flat_map(|f| f.records.values())
            .map(|r| r.documents.len())
            .sum();
        (records, documents)
    }
}

/// Evaluates every flow of `project`'s current rules against `recording`.
pub fn replay(project: &Project, recording: &Recording) -> Result<Outcomes, RecordingError> {
    let plan = plan::compile(project);
    let connectors: HashMap<String, String> = project
        .config
        .iter()
        .flat_map(|c| &c.systems)
        .map(|(alias, s)| (alias.clone(), s.connector.clone()))
        .collect();
    let collections = Prefetched(recording.collections.clone());
    let manifest = &recording.manifest;
    let mut outcomes = Outcomes {
        ledgerlink_expected: EXPECTED_FORMAT,
        project: manifest.project.clone(),
        today: manifest.today,
        flows: IndexMap::new(),
    };
    for flow in &plan.flows {
        let Some(source) = &flow.source else { continue };
        let name = format!("{}.{}", source.system, source.entity);
        let key = (source.system.clone(), source.entity.clone());
        let mut flow_outcomes = FlowOutcomes {
            source: name.clone(),
            unreadable: None,
            records: IndexMap::new(),
        };
        let Some(records) = recording.sources.get(&key) else {
            flow_outcomes.unreadable = Some(format!("{name} is not in the recording"));
            outcomes.flows.insert(flow.name.clone(), flow_outcomes);
            continue;
        };
        let cx = FlowContext {
            project: &manifest.project,
            plan: &plan,
            flow,
            profiles: &project.profiles,
            connectors: &connectors,
            today: manifest.today,
            collections: &collections,
        };
        let snapshots = recording.previous.get(&key);
        for (id, record) in records {
            let source_name = format!("{name}:{id}");
            if flow_outcomes.records.contains_key(&source_name) {
                // Read twice (on two pages): a run evaluates it once.
                continue;
            }
            let previous = snapshots.and_then(|s| s.get(id));
            let outcome = if previous == Some(record) {
                outcome(OutcomeKind::Unchanged, None)
            } else {
                match evaluate_record(&cx, &source_name, record, previous) {
                    Ok(Outcome::NotTriggered) => outcome(OutcomeKind::NotTriggered, None),
                    Ok(Outcome::Skipped(reason) | Outcome::Waiting(reason)) => {
                        outcome(OutcomeKind::Skipped, Some(reason))
                    }
                    Ok(Outcome::Documents(documents)) => RecordOutcome {
                        outcome: OutcomeKind::Documents,
                        reason: None,
                        documents: documents
                            .iter()
                            .map(|d| DocumentOutcome {
                                operation: d.operation().to_string(),
                                target: format!("{}.{}", d.target.system, d.target.entity),
                                key: d.key.clone(),
                                lookup: d.lookup.clone(),
                                payload: Json::Object(d.payload.clone()),
                            })
                            .collect(),
                    },
                    Err(err) => outcome(OutcomeKind::Failed, Some(err.to_string())),
                }
            };
            flow_outcomes.records.insert(source_name, outcome);
        }
        outcomes.flows.insert(flow.name.clone(), flow_outcomes);
    }
    // What is compared is what the golden file holds: values as they read back from JSON.
    let text = serde_json::to_string(&outcomes)
        .map_err(|e| RecordingError::corrupt(&recording.dir, e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| RecordingError::corrupt(&recording.dir, e.to_string()))
}

fn outcome(kind: OutcomeKind, reason: Option<String>) -> RecordOutcome {
    RecordOutcome {
        outcome: kind,
        reason,
        documents: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recording(manifest: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(MANIFEST), manifest).expect("manifest");
        for (name, content) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).expect("folder");
            std::fs::write(path, content).expect("file");
        }
        dir
    }

    const HEAD: &str = r#""ledgerlink_recording": 1, "project": "p", "today": "2026-03-10",
        "ledgerlink_version": "0", "recorded_at": "2026-03-10T00:00:00Z""#;

    #[test]
    fn a_recording_reads_back_with_ids_or_hashes() {
        let dir = recording(
            &format!(
                r#"{{ {HEAD}, "sources": [{{ "system": "shop", "entity": "Order", "file": "sources/o.ndjson", "records": 2 }}] }}"#
            ),
            &[(
                "sources/o.ndjson",
                "{\"id\": \"7\", \"record\": {\"n\": 1}}\n\n{\"record\": {\"n\": 2}}\n",
            )],
        );
        let loaded = Recording::load(dir.path()).expect("loads");
        let records = &loaded.sources[&("shop".to_string(), "Order".to_string())];
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].0, "7");
        assert_eq!(records[1].0, hash(&serde_json::json!({"n": 2})));
        assert!(loaded.expected().expect("no golden file is fine").is_none());
    }

    #[test]
    fn bad_recordings_are_errors_naming_the_problem() {
        let message =
            |dir: &tempfile::TempDir| Recording::load(dir.path()).unwrap_err().to_string();
        let newer = recording(
            &format!(
                "{{ {} }}",
                HEAD.replace("\"ledgerlink_recording\": 1", "\"ledgerlink_recording\": 9")
            ),
            &[],
        );
        assert!(
            message(&newer).contains("recording layout 9 is not supported"),
            "{}",
            message(&newer)
        );
        let outside = recording(
            &format!(
                r#"{{ {HEAD}, "collections": [{{ "system": "a", "entity": "B", "file": "../secrets.ndjson", "records": 0 }}] }}"#
            ),
            &[],
        );
        assert!(
            message(&outside).contains("is not a file inside the recording"),
            "{}",
            message(&outside)
        );
        let bad_date = recording(
            &format!("{{ {} }}", HEAD.replace("2026-03-10\"", "10.03.2026\"")),
            &[],
        );
        assert!(
            message(&bad_date).contains("not a YYYY-MM-DD date"),
            "{}",
            message(&bad_date)
        );
        let missing = recording(
            &format!(
                r#"{{ {HEAD}, "sources": [{{ "system": "shop", "entity": "Order", "file": "sources/none.ndjson", "records": 0 }}] }}"#
            ),
            &[],
        );
        assert!(
            message(&missing).contains("none.ndjson"),
            "{}",
            message(&missing)
        );
        let not_a_line = recording(
            &format!(
                r#"{{ {HEAD}, "sources": [{{ "system": "shop", "entity": "Order", "file": "o.ndjson", "records": 1 }}] }}"#
            ),
            &[("o.ndjson", "[1, 2]\n")],
        );
        assert!(
            message(&not_a_line).contains("line 1: not an {\"id\", \"record\"} line"),
            "{}",
            message(&not_a_line)
        );
    }
}
