//! Errors of the connector client, classified so the runtime knows what to do next: retry
//! later (`Transient`), park the record for a person (`Permanent`), treat as absent
//! (`NotFound`), fix the credentials (`Auth`) or the project/profile (`Config`).

use std::fmt;

/// What went wrong, as far as the caller's next step is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorErrorKind {
    /// Timeouts, connection resets, 5xx, 408, and 429 after the retries were used up. Trying
    /// again later may succeed. After a non-idempotent create, the record may or may not
    /// exist: look it up before creating it again.
    Transient,
    /// A 4xx other than 401/403/404/408/429: the server refused the data. The message carries
    /// the server's own error text.
    Permanent,
    /// The record (or the path) does not exist.
    NotFound,
    /// The credentials were refused (401/403, a failed login or token request).
    Auth,
    /// The profile, the system's options or its credentials are wrong or missing.
    Config,
}

impl fmt::Display for ConnectorErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectorErrorKind::Transient => "transient",
            ConnectorErrorKind::Permanent => "permanent",
            ConnectorErrorKind::NotFound => "not found",
            ConnectorErrorKind::Auth => "auth",
            ConnectorErrorKind::Config => "config",
        })
    }
}

/// An error of a connector call. Messages never contain secret values.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ConnectorError {
    /// Its class.
    pub kind: ConnectorErrorKind,
    /// What happened, with the server's own error text where there is one.
    pub message: String,
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
}

impl ConnectorError {
    /// A new error without an HTTP status.
    pub fn new(kind: ConnectorErrorKind, message: impl Into<String>) -> Self {
        ConnectorError {
            kind,
            message: message.into(),
            status: None,
        }
    }

    /// A `Config` error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ConnectorErrorKind::Config, message)
    }

    /// A `Transient` error.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(ConnectorErrorKind::Transient, message)
    }

    /// A `Permanent` error.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(ConnectorErrorKind::Permanent, message)
    }

    /// A `NotFound` error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ConnectorErrorKind::NotFound, message)
    }

    /// An `Auth` error.
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(ConnectorErrorKind::Auth, message)
    }

    /// The same error with an HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Is trying again later worthwhile?
    pub fn is_transient(&self) -> bool {
        self.kind == ConnectorErrorKind::Transient
    }
}
