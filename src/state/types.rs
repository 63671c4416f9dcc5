//! The records the state store keeps and hands back.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::error::StateError;

/// Which database a [`Store`](super::Store) runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// An embedded SQLite file (or `sqlite::memory:`): the zero-setup default.
    Sqlite,
    /// A PostgreSQL server, shared by several workers.
    Postgres,
}

/// Identifies one source record: `system.Entity:id` within a project.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordKey {
    /// The project the record is seen by.
    pub project: String,
    /// The system the record lives in (as named in the project).
    pub system: String,
    /// The entity (record type) in that system.
    pub entity: String,
    /// The record's id in that system.
    pub id: String,
}

/// The last seen mapped field values of a source record, for change detection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The mapped field values as last seen.
    pub fields: serde_json::Value,
    /// A hash of the whole mapped record, as the runtime computed it.
    pub hash: String,
    /// When the snapshot was written (RFC 3339 UTC).
    pub seen_at: String,
}

/// Where an intent is in its life: `pending → attempted → done`, or `failed` (dead letter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentStatus {
    /// Recorded, not sent yet.
    Pending,
    /// Sent at least once without a recorded outcome: look it up in the target before resending.
    Attempted,
    /// Written; the target id is recorded.
    Done,
    /// Given up with a reason; `ledgerlink retry` puts it back to pending.
    Failed,
}

/// What happened, in an [`Event`] of the export log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A record was written to a target.
    Transferred,
    /// A record was deliberately not written (no change, filtered, …).
    Skipped,
    /// A write failed.
    Failed,
    /// A failed write was put back to be tried again.
    Retried,
    /// A `hold` rule wrote a value back.
    Held,
    /// A fuzzy match was suggested instead of writing.
    Suggested,
    /// Both sides changed; the conflict policy decided.
    Conflict,
    /// Anything else worth showing.
    Info,
}

/// Whether a fuzzy-match suggestion has been decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionStatus {
    /// Waiting for a decision.
    Pending,
    /// Accepted: the pair should be linked.
    Accepted,
    /// Rejected: never suggested again.
    Rejected,
}

macro_rules! text_enum {
    ($name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// The name stored in the database (and used by serde).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = StateError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(StateError::query(
                        concat!("unknown ", $what),
                        format_args!("{other:?}"),
                    )),
                }
            }
        }
    };
}

text_enum!(IntentStatus, "intent status", {
    Pending => "pending",
    Attempted => "attempted",
    Done => "done",
    Failed => "failed",
});

text_enum!(EventKind, "event kind", {
    Transferred => "transferred",
    Skipped => "skipped",
    Failed => "failed",
    Retried => "retried",
    Held => "held",
    Suggested => "suggested",
    Conflict => "conflict",
    Info => "info",
});

text_enum!(SuggestionStatus, "suggestion status", {
    Pending => "pending",
    Accepted => "accepted",
    Rejected => "rejected",
});

/// A write to record in the ledger before it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewIntent {
    /// Deterministic key (source event id + rule + part); unique across the store.
    pub key: String,
    /// The project the write belongs to.
    pub project: String,
    /// The flow (rule) that produced it.
    pub flow: String,
    /// The source record, `system.Entity:id`.
    pub source: String,
    /// The target system.
    pub system: String,
    /// The target entity.
    pub entity: String,
    /// `create`, `update`, `upsert`, `ensure`, `post` or `credit`.
    pub operation: String,
    /// The body to send.
    pub payload: serde_json::Value,
    /// How to find the record again in the target, e.g. `{"field": "reference", "value": "A-1"}`.
    pub lookup: Option<serde_json::Value>,
    /// The API's idempotency key, where the target has one.
    pub idempotency_key: Option<String>,
    /// Keys of intents that must be done before this one is sent.
    pub depends_on: Vec<String>,
}

/// A recorded write and where it is in its life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// Deterministic key; see [`NewIntent::key`].
    pub key: String,
    /// Increasing number in commit order of the recording transactions.
    pub sequence: i64,
    /// The project the write belongs to.
    pub project: String,
    /// The flow (rule) that produced it.
    pub flow: String,
    /// The source record, `system.Entity:id`.
    pub source: String,
    /// The target system.
    pub system: String,
    /// The target entity.
    pub entity: String,
    /// `create`, `update`, `upsert`, `ensure`, `post` or `credit`.
    pub operation: String,
    /// The body to send.
    pub payload: serde_json::Value,
    /// How to find the record again in the target.
    pub lookup: Option<serde_json::Value>,
    /// The API's idempotency key, where the target has one.
    pub idempotency_key: Option<String>,
    /// Keys of intents that must be done first.
    pub depends_on: Vec<String>,
    /// Where the intent is in its life.
    pub status: IntentStatus,
    /// How many times it was marked attempted since it was recorded or last retried.
    pub attempts: i64,
    /// The id the target gave the written record, once done.
    pub target_id: Option<String>,
    /// The target's response to the successful write.
    pub response: Option<serde_json::Value>,
    /// The reason of the last failure.
    pub error: Option<String>,
    /// When it was recorded (RFC 3339 UTC).
    pub created_at: String,
    /// When it last changed (RFC 3339 UTC).
    pub updated_at: String,
}

/// Everything that follows from evaluating one source record, committed atomically by
/// [`Store::commit_source`](super::Store::commit_source).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceStep {
    /// The record's new snapshot: key, mapped fields, hash.
    pub snapshot: Option<(RecordKey, serde_json::Value, String)>,
    /// Writes to record; keys already in the ledger are left as they are.
    pub intents: Vec<NewIntent>,
    /// Export-log entries to append.
    pub events: Vec<NewEvent>,
    /// The new listing cursor: project, system, entity, value.
    pub watermark: Option<(String, String, String, String)>,
    /// A record that is gone from its source (its `deleted` flows ran): its snapshot is
    /// removed, so the record counts as new should it ever come back.
    pub forget: Option<RecordKey>,
}

/// What [`Store::commit_source`](super::Store::commit_source) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitOutcome {
    /// How many of the step's intents were new (the rest were already recorded).
    pub new_intents: usize,
}

/// An export-log entry to append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// The project it belongs to.
    pub project: String,
    /// The flow (rule or sync) it concerns, if any.
    pub flow: Option<String>,
    /// What happened.
    pub kind: EventKind,
    /// The source record, `system.Entity:id`, if any.
    pub source: Option<String>,
    /// The target record, `system.Entity:id`, if any.
    pub target: Option<String>,
    /// The intent key it concerns, if any.
    pub intent: Option<String>,
    /// One line for people: the reason.
    pub message: String,
    /// Structured details (values compared, response excerpt, …); `null` if none.
    pub details: serde_json::Value,
}

impl NewEvent {
    /// An event with only a project, kind and message; set the other fields as needed.
    pub fn new(project: impl Into<String>, kind: EventKind, message: impl Into<String>) -> Self {
        NewEvent {
            project: project.into(),
            flow: None,
            kind,
            source: None,
            target: None,
            intent: None,
            message: message.into(),
            details: serde_json::Value::Null,
        }
    }
}

/// A stored export-log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Increasing number in commit order.
    pub id: i64,
    /// When it was logged (RFC 3339 UTC).
    pub at: String,
    /// The project it belongs to.
    pub project: String,
    /// The flow (rule or sync) it concerns, if any.
    pub flow: Option<String>,
    /// What happened.
    pub kind: EventKind,
    /// The source record, if any.
    pub source: Option<String>,
    /// The target record, if any.
    pub target: Option<String>,
    /// The intent key it concerns, if any.
    pub intent: Option<String>,
    /// One line for people: the reason.
    pub message: String,
    /// Structured details.
    pub details: serde_json::Value,
}

/// Which events [`Store::events`](super::Store::events) returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFilter {
    /// Only events of this kind.
    pub kind: Option<EventKind>,
    /// Only events of this flow.
    pub flow: Option<String>,
    /// Only events logged at or after this time (RFC 3339, or a date `YYYY-MM-DD` = its UTC
    /// midnight).
    pub since: Option<String>,
    /// Only the newest this many (still returned oldest first).
    pub limit: Option<i64>,
}

/// An identity pair between two systems' records, within one sync of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The project.
    pub project: String,
    /// The sync (rule) the link belongs to.
    pub sync: String,
    /// The left side's system.
    pub left_system: String,
    /// The left side's record id.
    pub left_id: String,
    /// The right side's system.
    pub right_system: String,
    /// The right side's record id.
    pub right_id: String,
    /// When the link was made (RFC 3339 UTC); assigned by the store, ignored on insert.
    pub created_at: String,
}

/// A fuzzy-match candidate to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSuggestion {
    /// The project.
    pub project: String,
    /// The sync (rule) that looked for a partner.
    pub sync: String,
    /// The system of the record that needs a partner.
    pub system: String,
    /// The id of the record that needs a partner.
    pub id: String,
    /// The candidate's system.
    pub candidate_system: String,
    /// The candidate's id.
    pub candidate_id: String,
    /// The similarity score, a decimal as text.
    pub score: String,
    /// What was compared.
    pub details: serde_json::Value,
}

/// A stored fuzzy-match suggestion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// Increasing number.
    pub id: i64,
    /// The project.
    pub project: String,
    /// The sync (rule) that looked for a partner.
    pub sync: String,
    /// The system of the record that needs a partner.
    pub system: String,
    /// The id of the record that needs a partner.
    pub record_id: String,
    /// The candidate's system.
    pub candidate_system: String,
    /// The candidate's id.
    pub candidate_id: String,
    /// The similarity score, a decimal as text.
    pub score: String,
    /// What was compared.
    pub details: serde_json::Value,
    /// Whether it has been decided.
    pub status: SuggestionStatus,
    /// When it was first suggested (RFC 3339 UTC).
    pub created_at: String,
    /// When it was decided (RFC 3339 UTC).
    pub decided_at: Option<String>,
}
