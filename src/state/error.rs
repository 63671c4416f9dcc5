//! The one error type of the state store.

use std::fmt;

/// What kind of failure a [`StateError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateErrorKind {
    /// The store could not be reached or opened (bad URL, server down, file not writable).
    Connect,
    /// Applying or validating the schema migrations failed.
    Migrate,
    /// A statement failed, or stored data could not be read back.
    Query,
    /// The request contradicts what is stored (re-pointing a link, completing a failed intent…).
    Conflict,
    /// The addressed row does not exist.
    NotFound,
}

impl fmt::Display for StateErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StateErrorKind::Connect => "connect",
            StateErrorKind::Migrate => "migrate",
            StateErrorKind::Query => "query",
            StateErrorKind::Conflict => "conflict",
            StateErrorKind::NotFound => "not found",
        })
    }
}

/// An error of the state store: a kind to act on and a message for people.
#[derive(Debug, Clone, thiserror::Error)]
#[error("state store {kind} error: {message}")]
pub struct StateError {
    /// What went wrong, for callers to branch on.
    pub kind: StateErrorKind,
    /// A description for people; never contains a password.
    pub message: String,
}

impl StateError {
    /// An error of the given kind.
    pub fn new(kind: StateErrorKind, message: impl Into<String>) -> Self {
        StateError {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn query(context: &str, error: impl fmt::Display) -> Self {
        StateError::new(StateErrorKind::Query, format!("{context}: {error}"))
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        StateError::new(StateErrorKind::Conflict, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        StateError::new(StateErrorKind::NotFound, message)
    }
}
