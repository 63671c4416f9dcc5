//! The JSON-document sink: instead of calling a system's API, each entity's records are kept
//! as pretty-printed JSON files `<sink>/<alias>/<Entity>/<id>.json`. Demos and local runs use
//! it to write "documents as JSON files" without a server.
//!
//! - create: the id is the body's id field when it is set (a record with that id already
//!   there is a `Permanent` error), else the next integer after the largest integer id in
//!   the folder (a JSON number when the id field is an `integer`, else text). The document is
//!   written to a temporary file and hard-linked to its name, which fails instead of
//!   overwriting when another writer took the id first; the next id is then tried. With an
//!   idempotency key, the key's hash is recorded in `.keys/`, and a create repeated with the
//!   same key answers the record created the first time.
//! - update: the body's members are merged into the stored record (the id is kept), written
//!   to a temporary file and renamed over the old one.
//! - get/list/search read the folder (lists in id order; a `since` is ignored).

use std::{
    io::ErrorKind,
    path::{Path, PathBuf},
};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::connector::profile::{Entity, FieldType};

use super::{error::ConnectorError, id_text, loose_eq};

/// A folder of JSON documents for one system.
#[derive(Debug)]
pub(crate) struct Sink {
    root: PathBuf,
    /// Every entity's documents directly in `root` (a file system's output folder), not in
    /// a folder per entity.
    flat: bool,
    lock: Mutex<()>,
}

fn io_error(what: &str, path: &Path, err: &std::io::Error) -> ConnectorError {
    ConnectorError::transient(format!("cannot {what} `{}`: {err}", path.display()))
}

/// Ids that can name a file: letters, digits, `-`, `_`, `.`, not starting with a dot.
fn safe_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Sink {
    /// A sink writing under `root` (`<sink>/<alias>`).
    pub fn new(root: PathBuf) -> Self {
        Sink {
            root,
            flat: false,
            lock: Mutex::new(()),
        }
    }

    /// A sink writing one entity's documents straight into `folder` (a file system's
    /// output folder, e.g. the outbox a warehouse collects pick orders from).
    pub fn flat(folder: PathBuf) -> Self {
        Sink {
            root: folder,
            flat: true,
            lock: Mutex::new(()),
        }
    }

    /// The file stem of a document: its id; in a flat folder `<Entity>-<id>`, with the
    /// characters a file name cannot hold (`#1042`) written as `_`. `None` when the id cannot
    /// name a file at all.
    fn stem(&self, entity: &str, id: &str) -> Option<String> {
        if !self.flat {
            return safe_id(id).then(|| id.to_string());
        }
        let clean: String = id
            .chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '-' | '_' | '.' => c,
                _ => '_',
            })
            .collect();
        let stem = format!("{entity}-{clean}");
        safe_id(&stem).then_some(stem)
    }

    /// The id part of a file stem, when the file is a document of `entity` in this sink.
    fn id_part<'s>(&self, entity: &str, stem: &'s str) -> Option<&'s str> {
        if self.flat {
            return stem.strip_prefix(entity)?.strip_prefix('-');
        }
        safe_id(stem).then_some(stem)
    }

    fn folder(&self, entity: &str) -> PathBuf {
        if self.flat {
            return self.root.clone();
        }
        self.root.join(entity)
    }

    async fn read(&self, path: &Path) -> Result<Option<Value>, ConnectorError> {
        match tokio::fs::read(path).await {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|err| {
                ConnectorError::permanent(format!("`{}` is not JSON: {err}", path.display()))
            }),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
            Err(err) => Err(io_error("read", path, &err)),
        }
    }

    /// Writes `value` to a fresh temporary file in `dir` and returns its path.
    async fn write_temp(&self, dir: &Path, value: &Value) -> Result<PathBuf, ConnectorError> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|err| ConnectorError::permanent(format!("cannot write JSON: {err}")))?;
        // Hidden and not `.json`: a file left by a killed process is never read as a document.
        let temp = dir.join(format!(
            ".tmp-{}-{:016x}.partial",
            std::process::id(),
            rand::random::<u64>()
        ));
        tokio::fs::write(&temp, text.as_bytes())
            .await
            .map_err(|err| io_error("write", &temp, &err))?;
        Ok(temp)
    }

    /// Moves a temporary file to `target` unless `target` exists; `Ok(false)` when it does.
    async fn place_new(&self, temp: &Path, target: &Path) -> Result<bool, ConnectorError> {
        let placed = match tokio::fs::hard_link(temp, target).await {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(_) => {
                // No hard links here: fall back to a rename after an existence check (atomic
                // for readers; racy only against other processes).
                if tokio::fs::try_exists(target).await.unwrap_or(false) {
                    Ok(false)
                } else {
                    tokio::fs::rename(temp, target)
                        .await
                        .map(|()| true)
                        .map_err(|err| io_error("write", target, &err))
                }
            }
        };
        let _ = tokio::fs::remove_file(temp).await;
        placed
    }

    async fn next_id(&self, entity: &str, dir: &Path) -> Result<u64, ConnectorError> {
        let mut largest = 0u64;
        let mut entries = match tokio::fs::read_dir(dir).await {
            Ok(entries) => entries,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(1),
            Err(err) => return Err(io_error("read", dir, &err)),
        };
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|err| io_error("read", dir, &err))?
        {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(id) = name
                .strip_suffix(".json")
                .and_then(|stem| self.id_part(entity, stem))
                .and_then(|id| id.parse::<u64>().ok())
            {
                largest = largest.max(id);
            }
        }
        Ok(largest + 1)
    }

    /// Creates a document.
    pub async fn create(
        &self,
        name: &str,
        entity: &Entity,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<Value, ConnectorError> {
        let Value::Object(fields) = body else {
            return Err(ConnectorError::permanent(format!(
                "a `{name}` document must be a JSON object"
            )));
        };
        let _guard = self.lock.lock().await;
        let dir = self.folder(name);
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|err| io_error("create", &dir, &err))?;
        let key_file = idempotency_key.map(|key| {
            let digest = Sha256::digest(key.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            dir.join(".keys").join(hex)
        });
        if let Some(key_file) = &key_file {
            if let Ok(id) = tokio::fs::read_to_string(key_file).await {
                if let Some(record) = self.get(name, id.trim()).await? {
                    return Ok(record);
                }
            }
        }
        let explicit = fields.get(&entity.id).and_then(id_text);
        let integer_id = entity
            .fields
            .get(&entity.id)
            .is_some_and(|f| f.r#type == FieldType::Integer);
        let (id, record) = loop {
            let (id, id_value) = match &explicit {
                Some(id) => {
                    if self.stem(name, id).is_none() {
                        return Err(ConnectorError::permanent(format!(
                            "`{name}` id `{id}` cannot name a file"
                        )));
                    }
                    (
                        id.clone(),
                        fields.get(&entity.id).cloned().unwrap_or_default(),
                    )
                }
                None => {
                    let next = self.next_id(name, &dir).await?;
                    let value = if integer_id {
                        Value::from(next)
                    } else {
                        Value::String(next.to_string())
                    };
                    (next.to_string(), value)
                }
            };
            let mut record = fields.clone();
            record.insert(entity.id.clone(), id_value);
            let record = Value::Object(record);
            let temp = self.write_temp(&dir, &record).await?;
            let stem = self.stem(name, &id).unwrap_or_else(|| id.clone());
            let target = dir.join(format!("{stem}.json"));
            if self.place_new(&temp, &target).await? {
                break (id, record);
            }
            if explicit.is_some() {
                return Err(ConnectorError::permanent(format!(
                    "`{name}` {id} already exists in `{}`",
                    dir.display()
                )));
            }
        };
        if let Some(key_file) = key_file {
            let keys = dir.join(".keys");
            tokio::fs::create_dir_all(&keys)
                .await
                .map_err(|err| io_error("create", &keys, &err))?;
            let temp = keys.join(format!(".tmp-{:016x}", rand::random::<u64>()));
            tokio::fs::write(&temp, id.as_bytes())
                .await
                .map_err(|err| io_error("write", &temp, &err))?;
            tokio::fs::rename(&temp, &key_file)
                .await
                .map_err(|err| io_error("write", &key_file, &err))?;
        }
        Ok(record)
    }

    /// Merges `body` into a stored document.
    pub async fn update(
        &self,
        name: &str,
        entity: &Entity,
        id: &str,
        body: &Value,
    ) -> Result<Value, ConnectorError> {
        let Value::Object(changes) = body else {
            return Err(ConnectorError::permanent(format!(
                "a `{name}` document must be a JSON object"
            )));
        };
        let _guard = self.lock.lock().await;
        let Some(Value::Object(mut record)) = self.get(name, id).await? else {
            return Err(ConnectorError::not_found(format!(
                "`{name}` {id} does not exist in `{}`",
                self.folder(name).display()
            )));
        };
        let id_value = record.get(&entity.id).cloned();
        for (key, value) in changes {
            record.insert(key.clone(), value.clone());
        }
        if let Some(id_value) = id_value {
            record.insert(entity.id.clone(), id_value);
        }
        let record = Value::Object(record);
        let dir = self.folder(name);
        let temp = self.write_temp(&dir, &record).await?;
        let stem = self.stem(name, id).unwrap_or_else(|| id.to_string());
        let target = dir.join(format!("{stem}.json"));
        tokio::fs::rename(&temp, &target)
            .await
            .map_err(|err| io_error("write", &target, &err))?;
        Ok(record)
    }

    /// One document.
    pub async fn get(&self, name: &str, id: &str) -> Result<Option<Value>, ConnectorError> {
        let Some(stem) = self.stem(name, id) else {
            return Ok(None);
        };
        self.read(&self.folder(name).join(format!("{stem}.json")))
            .await
    }

    /// Every document of an entity, in id order (numbers first).
    pub async fn list(&self, name: &str) -> Result<Vec<Value>, ConnectorError> {
        let dir = self.folder(name);
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(entries) => entries,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(io_error("read", &dir, &err)),
        };
        let mut names = Vec::new();
        while let Some(entry) = entries
            .next_entry()
            .await
            .map_err(|err| io_error("read", &dir, &err))?
        {
            let file = entry.file_name().to_string_lossy().to_string();
            if let Some(stem) = file.strip_suffix(".json") {
                if self.id_part(name, stem).is_some() {
                    names.push(stem.to_string());
                }
            }
        }
        let id = |stem: &str| self.id_part(name, stem).unwrap_or(stem).parse::<u64>();
        names.sort_by(|a, b| match (id(a), id(b)) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            (Ok(_), Err(_)) => std::cmp::Ordering::Less,
            (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
            _ => a.cmp(b),
        });
        let mut records = Vec::new();
        for stem in names {
            if let Some(record) = self.read(&dir.join(format!("{stem}.json"))).await? {
                records.push(record);
            }
        }
        Ok(records)
    }

    /// The documents whose `field` equals `value`.
    pub async fn search(
        &self,
        name: &str,
        field: &str,
        value: &Value,
    ) -> Result<Vec<Value>, ConnectorError> {
        Ok(self
            .list(name)
            .await?
            .into_iter()
            .filter(|r| r.get(field).is_some_and(|v| loose_eq(v, value)))
            .collect())
    }

    /// Checks that the folder can be written.
    pub async fn check(&self) -> Result<String, ConnectorError> {
        tokio::fs::create_dir_all(&self.root).await.map_err(|err| {
            ConnectorError::config(format!("cannot create `{}`: {err}", self.root.display()))
        })?;
        let temp = self
            .write_temp(&self.root, &Value::Null)
            .await
            .map_err(|err| ConnectorError::config(err.message))?;
        let _ = tokio::fs::remove_file(&temp).await;
        Ok(format!(
            "writes JSON documents under `{}`",
            self.root.display()
        ))
    }
}
