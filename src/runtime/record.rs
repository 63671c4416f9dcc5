//! Recording a run (`ledgerlink run --record DIR`): the source records each flow read, the
//! collections prefetched for `find`/`exists`, and what delivery answered, so the run can be
//! replayed offline by `ledgerlink test` ([`super::replay`]).
//!
//! A recording is a folder:
//!
//! | file | holds |
//! |---|---|
//! | `manifest.json` | [`Manifest`]: project, the `today` date, ledgerlink version, when, which files |
//! | `sources/<system>.<Entity>.ndjson` | one `{"id": …, "record": {…}}` per source record read |
//! | `collections/<system>.<Entity>.ndjson` | one record per line, as prefetched for `find`/`exists` |
//! | `deliveries.ndjson` | one line per intent this run delivered or failed: operation, target, key, payload, status, target id, response or error |
//! | `expected.json` | the golden outputs `ledgerlink test` compares with (written by `test --update`) |
//!
//! Source pages are appended as they are read, so a run that streams its sources page by page
//! records them the same way. Secrets never go into a recording: the clients hand out
//! records and responses, never headers or credentials, and on top of that every resolved
//! credential value of the project (4 characters or longer) is replaced by `[redacted]`
//! wherever it appears in a recorded value.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    io::Write,
    path::{Path, PathBuf},
    sync::Mutex,
};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{hash, Prefetched, RuntimeError};
use crate::{
    connector::client::{Client, Credentials},
    project::Project,
    state::{StateError, Store},
};

/// The version of the recording layout this build writes and reads.
pub const FORMAT: u32 = 1;
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The golden file's name.
pub const EXPECTED: &str = "expected.json";
/// The delivery answers' file name.
pub const DELIVERIES: &str = "deliveries.ndjson";

/// What went wrong writing or reading a recording.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file of the recording is not what it should be.
    #[error("{path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line where there is one.
        message: String,
    },
    /// The intents of the run could not be read from the state store.
    #[error("state store: {0}")]
    State(#[from] StateError),
}

impl RecordingError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RecordingError + '_ {
        move |source| RecordingError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn corrupt(path: &Path, message: impl Into<String>) -> RecordingError {
        RecordingError::Corrupt {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

impl From<RecordingError> for RuntimeError {
    fn from(err: RecordingError) -> Self {
        RuntimeError::Project(format!("cannot record the run: {err}"))
    }
}

/// `manifest.json`: what a recording holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version ([`FORMAT`]).
    pub ledgerlink_recording: u32,
    /// The project name the run used (part of every document key).
    pub project: String,
    /// The date `today()` returned in the run; a replay uses the same.
    #[serde(with = "date")]
    pub today: NaiveDate,
    /// The ledgerlink version that recorded.
    pub ledgerlink_version: String,
    /// When the recording started (RFC 3339 UTC).
    pub recorded_at: String,
    /// Whether the run was a dry run (then nothing was delivered).
    #[serde(default)]
    pub dry_run: bool,
    /// The flows that read records, with what they read.
    #[serde(default)]
    pub flows: Vec<RecordedFlow>,
    /// Source records, per system and entity.
    #[serde(default)]
    pub sources: Vec<RecordedEntity>,
    /// Records prefetched for `find`/`exists`, per system and entity.
    #[serde(default)]
    pub collections: Vec<RecordedEntity>,
    /// The delivery answers file and how many intents it lists, once the run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<RecordedFile>,
}

/// A flow of a recorded run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedFlow {
    /// Flow name.
    pub flow: String,
    /// `system.Entity` it read.
    pub source: String,
    /// `system.Entity` of the collections it searched.
    #[serde(default)]
    pub lookups: Vec<String>,
}

/// The records of one system entity in a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEntity {
    /// System alias.
    pub system: String,
    /// Entity name.
    pub entity: String,
    /// NDJSON file, relative to the recording.
    pub file: String,
    /// Number of records in it.
    pub records: usize,
    /// Optional (hand-written) NDJSON file of the snapshots the records are compared with,
    /// `{"id": …, "record": {…}}` per line; without it every record is new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

/// A file of a recording and how many lines it has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedFile {
    /// File, relative to the recording.
    pub file: String,
    /// Lines.
    pub count: usize,
}

/// One line of `sources/*.ndjson`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceLine {
    /// The record's id in the source (as the run named it in `system.Entity:id`).
    #[serde(default)]
    pub id: Option<String>,
    /// The record as the source sent it.
    pub record: Json,
}

/// One line of `deliveries.ndjson`: what the target answered to a document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryLine {
    /// The flow that produced the document.
    pub flow: String,
    /// The source record, `system.Entity:id`.
    pub source: String,
    /// upsert / ensure / create / credit / post.
    pub operation: String,
    /// `system.Entity`.
    pub target: String,
    /// The document (intent) key.
    pub key: String,
    /// done, failed, pending or attempted after the run.
    pub status: String,
    /// Times sent.
    pub attempts: i64,
    /// The body as recorded (references to other documents as `{"$ref": key}`).
    pub payload: Json,
    /// The target's id of the written record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    /// The target's answer to the write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Json>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Writes a recording while a run goes on. Shared by reference; every method takes `&self`.
pub struct Recorder {
    dir: PathBuf,
    /// Run start in the state store's timestamp format: intents updated since belong to it.
    started: String,
    index: Mutex<Index>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("dir", &self.dir)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

struct Index {
    manifest: Manifest,
    /// The flow whose reads fill each source file (another flow reading the same entity in the
    /// same run reads the same records).
    source_owner: HashMap<(String, String), String>,
    collections_done: HashSet<(String, String)>,
}

impl Recorder {
    /// Starts a recording into `dir` (created when missing). The files of an earlier
    /// recording there are replaced; its `expected.json` is kept.
    pub fn create(
        dir: &Path,
        project: &Project,
        today: NaiveDate,
        dry_run: bool,
    ) -> Result<Recorder, RecordingError> {
        if dir.exists() && !dir.is_dir() {
            return Err(RecordingError::corrupt(dir, "is a file, not a folder"));
        }
        std::fs::create_dir_all(dir).map_err(RecordingError::io(dir))?;
        for sub in ["sources", "collections"] {
            let path = dir.join(sub);
            if path.is_dir() {
                std::fs::remove_dir_all(&path).map_err(RecordingError::io(&path))?;
            }
        }
        let deliveries = dir.join(DELIVERIES);
        if deliveries.exists() {
            std::fs::remove_file(&deliveries).map_err(RecordingError::io(&deliveries))?;
        }
        register_secrets(project);
        let now = chrono::Utc::now();
        let recorder = Recorder {
            dir: dir.to_path_buf(),
            started: now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            index: Mutex::new(Index {
                manifest: Manifest {
                    ledgerlink_recording: FORMAT,
                    project: super::project_name(project),
                    today,
                    ledgerlink_version: env!("CARGO_PKG_VERSION").to_string(),
                    recorded_at: now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    dry_run,
                    flows: Vec::new(),
                    sources: Vec::new(),
                    collections: Vec::new(),
                    deliveries: None,
                },
                source_owner: HashMap::new(),
                collections_done: HashSet::new(),
            }),
        };
        // Every flow with a source is listed from the start (and its source file exists), so a
        // source that lists no records at all is recorded as empty, not as missing.
        {
            let mut index = recorder.lock();
            for flow in &crate::plan::compile(project).flows {
                let Some(source) = &flow.source else { continue };
                let key = (source.system.clone(), source.entity.clone());
                index.manifest.flows.push(RecordedFlow {
                    flow: flow.name.clone(),
                    source: format!("{}.{}", key.0, key.1),
                    lookups: Vec::new(),
                });
                if index.source_owner.contains_key(&key) {
                    continue;
                }
                index.source_owner.insert(key.clone(), flow.name.clone());
                let file = format!("sources/{}.ndjson", file_stem(&key.0, &key.1));
                recorder.append(&file, std::iter::empty())?;
                index.manifest.sources.push(RecordedEntity {
                    system: key.0,
                    entity: key.1,
                    file,
                    records: 0,
                    previous: None,
                });
            }
            recorder.write_manifest(&index)?;
        }
        Ok(recorder)
    }

    /// The recording's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        // A panic elsewhere while holding the lock leaves a consistent index: keep going.
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one page of source records that `flow` read from `client`'s `entity`.
    pub fn source_page(
        &self,
        flow: &str,
        client: &Client,
        entity: &str,
        records: &[Json],
    ) -> Result<(), RecordingError> {
        let system = client.alias().to_string();
        let mut index = self.lock();
        let key = (system.clone(), entity.to_string());
        let source = format!("{system}.{entity}");
        if !index.manifest.flows.iter().any(|f| f.flow == flow) {
            index.manifest.flows.push(RecordedFlow {
                flow: flow.to_string(),
                source: source.clone(),
                lookups: Vec::new(),
            });
        }
        let owner = index
            .source_owner
            .entry(key.clone())
            .or_insert_with(|| flow.to_string())
            .clone();
        if owner != flow {
            return self.write_manifest(&index);
        }
        let file = format!("sources/{}.ndjson", file_stem(&system, entity));
        let lines = records.iter().map(|record| {
            let id = client.id_of(entity, record).unwrap_or_else(|| hash(record));
            serde_json::to_value(SourceLine {
                id: Some(id),
                record: record.clone(),
            })
            .unwrap_or(Json::Null)
        });
        self.append(&file, lines)?;
        match index
            .manifest
            .sources
            .iter_mut()
            .find(|s| s.system == key.0 && s.entity == key.1)
        {
            Some(recorded) => recorded.records += records.len(),
            None => index.manifest.sources.push(RecordedEntity {
                system,
                entity: entity.to_string(),
                file,
                records: records.len(),
                previous: None,
            }),
        }
        self.write_manifest(&index)
    }

    /// Records the collections prefetched for `flow`'s `find`/`exists` (each entity once per
    /// recording).
    pub(crate) fn collections(
        &self,
        flow: &str,
        collections: &Prefetched,
    ) -> Result<(), RecordingError> {
        let mut index = self.lock();
        let mut names: Vec<&(String, String)> = collections.0.keys().collect();
        names.sort();
        for key in names {
            let name = format!("{}.{}", key.0, key.1);
            if let Some(recorded) = index.manifest.flows.iter_mut().find(|f| f.flow == flow) {
                if !recorded.lookups.contains(&name) {
                    recorded.lookups.push(name.clone());
                }
            }
            if !index.collections_done.insert(key.clone()) {
                continue;
            }
            let records = &collections.0[key];
            let file = format!("collections/{}.ndjson", file_stem(&key.0, &key.1));
            self.append(&file, records.iter().cloned())?;
            index.manifest.collections.push(RecordedEntity {
                system: key.0.clone(),
                entity: key.1.clone(),
                file,
                records: records.len(),
                previous: None,
            });
        }
        self.write_manifest(&index)
    }

    /// After delivery: records every intent of `project` the run delivered, failed or left
    /// open (those changed since the recording started), with the target's answer.
    pub async fn finish(&self, store: Option<&Store>, project: &str) -> Result<(), RecordingError> {
        let mut lines = Vec::new();
        if let Some(store) = store {
            for intent in store.intents(project, None).await? {
                if intent.updated_at < self.started {
                    continue;
                }
                lines.push(DeliveryLine {
                    flow: intent.flow,
                    source: intent.source,
                    operation: intent.operation,
                    target: format!("{}.{}", intent.system, intent.entity),
                    key: intent.key,
                    status: intent.status.as_str().to_string(),
                    attempts: intent.attempts,
                    payload: intent.payload,
                    target_id: intent.target_id,
                    response: intent.response,
                    error: intent.error,
                });
            }
        }
        let count = lines.len();
        self.append(
            DELIVERIES,
            lines
                .into_iter()
                .map(|line| serde_json::to_value(line).unwrap_or(Json::Null)),
        )?;
        let mut index = self.lock();
        index.manifest.deliveries = Some(RecordedFile {
            file: DELIVERIES.to_string(),
            count,
        });
        self.write_manifest(&index)
    }

    /// Appends JSON values as lines to `file` (relative to the recording), secrets redacted.
    fn append(
        &self,
        file: &str,
        values: impl IntoIterator<Item = Json>,
    ) -> Result<(), RecordingError> {
        let path = self.dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(RecordingError::io(parent))?;
        }
        let handle = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(RecordingError::io(&path))?;
        let mut out = std::io::BufWriter::new(handle);
        for mut value in values {
            crate::redact::scrub_json(&mut value);
            writeln!(out, "{value}").map_err(RecordingError::io(&path))?;
        }
        out.flush().map_err(RecordingError::io(&path))
    }

    fn write_manifest(&self, index: &Index) -> Result<(), RecordingError> {
        let path = self.dir.join(MANIFEST);
        let mut value = serde_json::to_value(&index.manifest)
            .map_err(|e| RecordingError::corrupt(&path, e.to_string()))?;
        crate::redact::scrub_json(&mut value);
        write_json(&path, &value)
    }
}

/// Dates as `YYYY-MM-DD` text in recordings and golden files.
pub(crate) mod date {
    use chrono::NaiveDate;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(date: &NaiveDate, out: S) -> Result<S::Ok, S::Error> {
        out.collect_str(&date.format("%Y-%m-%d"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(input: D) -> Result<NaiveDate, D::Error> {
        let text = String::deserialize(input)?;
        NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|e| D::Error::custom(format!("`{text}` is not a YYYY-MM-DD date: {e}")))
    }
}

/// Writes pretty JSON with a final newline, through a temporary file so a reader never sees
/// half a file.
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<(), RecordingError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| RecordingError::corrupt(path, e.to_string()))?;
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, format!("{text}\n")).map_err(RecordingError::io(&partial))?;
    std::fs::rename(&partial, path).map_err(RecordingError::io(path))
}

/// `system.Entity` as a file name: letters, digits, `_`, `-` and `.` kept, anything else `_`.
fn file_stem(system: &str, entity: &str) -> String {
    format!("{system}.{entity}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Resolves every credential of the project, which registers each value with
/// [`crate::redact`]: whatever the run writes into the recording is scrubbed of them, even
/// for systems the run did not call.
fn register_secrets(project: &Project) {
    let Some(config) = &project.config else {
        return;
    };
    for (alias, system) in &config.systems {
        for (key, reference) in &system.auth {
            let single = [(key.clone(), reference.clone())].into_iter().collect();
            // A credential that does not resolve has no value to hide.
            let _ = Credentials::resolve(alias, &single, &project.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_stem("acc", "Sale"), "acc.Sale");
        assert_eq!(file_stem("a b", "x/y"), "a_b.x_y");
    }
}
