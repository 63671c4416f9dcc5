//! Credentials of a system: each `systems.<alias>.auth` value is a reference, `env:NAME` (an
//! environment variable) or `file:path` (a file, relative to the project folder, with one
//! final newline trimmed). Values are held in [`Secret`]s, whose `Debug` and `Display` print
//! `***`; error messages name the variable or file, never the value.

use std::{fmt, path::Path};

use indexmap::IndexMap;
use serde_yaml_ng::Value;

use super::error::ConnectorError;

/// A secret value. `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// Wraps a value and registers it with [`crate::redact`], so that it is scrubbed from
    /// logs and recordings should it reach them some other way (a server echoing it).
    pub fn registered(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::redact::register(&value);
        Secret(value)
    }

    /// The value itself, for building a request. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The resolved credentials of one system, by key (`token`, `login`, `password`, …).
#[derive(Clone, Default)]
pub struct Credentials {
    values: IndexMap<String, Secret>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.values.keys().map(|k| (k, "***")))
            .finish()
    }
}

impl Credentials {
    /// Resolves every `env:`/`file:` reference of a system's `auth` map.
    pub fn resolve(
        alias: &str,
        auth: &IndexMap<String, Value>,
        project_dir: &Path,
    ) -> Result<Credentials, ConnectorError> {
        let mut values = IndexMap::new();
        for (key, reference) in auth {
            let Some(reference) = reference.as_str() else {
                return Err(ConnectorError::config(format!(
                    "credential `{key}` of system `{alias}` must be `env:NAME` or `file:path`"
                )));
            };
            let value = resolve_one(alias, key, reference.trim(), project_dir)?;
            values.insert(key.clone(), value);
        }
        Ok(Credentials { values })
    }

    /// Credentials given directly (tests, embedding).
    pub fn from_values<K: Into<String>>(values: impl IntoIterator<Item = (K, Secret)>) -> Self {
        Credentials {
            values: values.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }
    }

    /// The credential under `key`.
    pub fn get(&self, key: &str) -> Option<&Secret> {
        self.values.get(key)
    }

    /// The credential at `index` in the given key order (the profile's `credentials` list),
    /// falling back to the project's own order.
    pub fn nth(&self, order: &[String], index: usize) -> Option<(&str, &Secret)> {
        if let Some(key) = order.get(index) {
            if let Some((k, v)) = self.values.get_key_value(key) {
                return Some((k.as_str(), v));
            }
            return None;
        }
        self.values.get_index(index).map(|(k, v)| (k.as_str(), v))
    }

    /// Every key and value, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// No credentials at all?
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

fn resolve_one(
    alias: &str,
    key: &str,
    reference: &str,
    project_dir: &Path,
) -> Result<Secret, ConnectorError> {
    if let Some(name) = reference.strip_prefix("env:") {
        let name = name.trim();
        return match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(Secret::registered(value)),
            Ok(_) => Err(ConnectorError::config(format!(
                "credential `{key}` of system `{alias}`: environment variable `{name}` is empty"
            ))),
            Err(std::env::VarError::NotPresent) => Err(ConnectorError::config(format!(
                "credential `{key}` of system `{alias}`: environment variable `{name}` is not set"
            ))),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConnectorError::config(format!(
                "credential `{key}` of system `{alias}`: environment variable `{name}` is not valid UTF-8"
            ))),
        };
    }
    if let Some(path) = reference.strip_prefix("file:") {
        let path = project_dir.join(path.trim());
        let text = std::fs::read_to_string(&path).map_err(|err| {
            ConnectorError::config(format!(
                "credential `{key}` of system `{alias}`: cannot read `{}`: {}",
                path.display(),
                err.kind()
            ))
        })?;
        let value = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .unwrap_or(&text);
        if value.is_empty() {
            return Err(ConnectorError::config(format!(
                "credential `{key}` of system `{alias}`: `{}` is empty",
                path.display()
            )));
        }
        return Ok(Secret::registered(value));
    }
    Err(ConnectorError::config(format!(
        "credential `{key}` of system `{alias}` must be `env:NAME` or `file:path`, not a literal value"
    )))
}
