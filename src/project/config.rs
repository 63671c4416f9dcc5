//! The shape of `ledgerlink.yaml`.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;

/// `ledgerlink.yaml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// The project's name.
    #[serde(default)]
    pub name: Option<String>,
    /// Systems by alias.
    pub systems: IndexMap<String, SystemConfig>,
    /// Customer settings referenced as `settings.<key>`.
    #[serde(default)]
    pub settings: IndexMap<String, Value>,
    /// State store URL: `sqlite://state.db` (default) or `postgres://…`.
    #[serde(default)]
    pub state: Option<String>,
    /// Default schedule for flows without their own.
    #[serde(default)]
    pub schedule: Option<Value>,
    /// Notification targets.
    #[serde(default)]
    pub notify: Vec<Value>,
    /// Rule file patterns (default `rules/*.rules`).
    #[serde(default)]
    pub rules: Vec<String>,
}

/// One system of a project.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SystemConfig {
    /// The connector profile name.
    pub connector: String,
    /// Profile options (`company`, `path`, …).
    #[serde(default)]
    pub options: IndexMap<String, Value>,
    /// Credentials: each value `env:NAME` or `file:path`, never the secret itself.
    #[serde(default)]
    pub auth: IndexMap<String, Value>,
    /// How long one request may take before it counts as failed (`30s`, `500ms`); the
    /// connector's default (30 s) when absent.
    #[serde(default)]
    pub timeout: Option<String>,
}
