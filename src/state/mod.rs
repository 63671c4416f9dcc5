//! The state store: snapshots, the intents ledger, watermarks, links, the export log and
//! fuzzy-match suggestions, in SQLite (embedded default) or PostgreSQL (shared by workers).
//!
//! One implementation over [`sqlx::AnyPool`]: both backends run the same code and the same SQL
//! (`$1, $2…` placeholders, `INSERT … ON CONFLICT`), and one migration file set
//! (`migrations/0001_init.sql` …) creates the schema on both.
//!
//! # Schema
//! | table | key | holds |
//! |---|---|---|
//! | `counters` | `name` | last number handed out for `intents`, `events`, `suggestions` |
//! | `snapshots` | `(project, system, entity, record_id)` | mapped fields (JSON text), hash, `seen_at` |
//! | `intents` | `intent_key`; `sequence` unique | the delivery ledger ([`Intent`]) |
//! | `watermarks` | `(project, system, entity)` | listing cursor `value` |
//! | `links` | `(project, sync, system, record_id)` | one row per link end, `side` left/right, partner |
//! | `events` | `id` | export log ([`Event`]) |
//! | `suggestions` | `id`; unique `(project, sync, system, record_id, candidate_system, candidate_id)` | [`Suggestion`] |
//!
//! # Storage conventions
//! - JSON values are stored as TEXT (`serde_json`), decimals (suggestion scores) as TEXT.
//! - Timestamps are TEXT, RFC 3339 UTC with microseconds and a `Z`, fixed width
//!   (`2024-05-01T12:00:00.000000Z`), so text order is time order on both backends. They are
//!   taken from the clock of the process writing, not the database server.
//! - Numbers (`intents.sequence`, `events.id`, `suggestions.id`) come from the `counters` row of
//!   the table, incremented inside the writing transaction. The row lock this takes serialises
//!   the writers of that table on PostgreSQL (on SQLite all writers are serialised anyway), so
//!   numbers are unique, increase in commit order and are never visible out of order: a reader
//!   that remembers the last event id it saw never misses a later one, which an identity column
//!   (numbers taken at insert, committed in any order) would not guarantee. Locks are always
//!   taken in the order snapshot row → intents counter → events counter → watermark row, so
//!   concurrent steps cannot deadlock. Intent sequences and event ids have no gaps (a rolled-back
//!   transaction rolls its numbers back too); a suggestion id is skipped where a re-suggested
//!   pair kept its row.
//! - On SQLite every write transaction starts with `BEGIN IMMEDIATE` (the write lock is taken at
//!   once and waited for with a 30 s busy timeout, never upgraded mid-transaction), file
//!   databases run in WAL mode with `synchronous = FULL`; `sqlite::memory:` uses a single
//!   connection that is never recycled.

mod commit;
mod error;
mod intents;
mod log;
mod records;
mod types;

pub use error::{StateError, StateErrorKind};
pub use types::{
    Backend, CommitOutcome, Event, EventFilter, EventKind, Intent, IntentStatus, Link, NewEvent,
    NewIntent, NewSuggestion, RecordKey, Snapshot, SourceStep, Suggestion, SuggestionStatus,
};

use std::borrow::Cow;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Row, SqlSafeStr, Transaction};

/// The migrations, embedded at compile time: (version, description, SQL). Versions and
/// descriptions follow the file names `migrations/<version>_<description>.sql`, so checksums
/// are the ones `sqlx migrate` and `sqlx::migrate!()` would record.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/0001_init.sql")),
    (
        2,
        "intents_by_source",
        include_str!("../../migrations/0002_intents_by_source.sql"),
    ),
];

/// Run on every new SQLite connection: wait up to 30 s for another writer instead of failing,
/// and sync every commit to disk (also in WAL mode), so a committed intent survives power loss.
const SQLITE_PRAGMAS: [&str; 2] = ["PRAGMA busy_timeout = 30000", "PRAGMA synchronous = FULL"];

/// A connection pool to the state database. Cheap to clone; clones share the pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to `url` and applies any pending migrations.
    ///
    /// `sqlite://path` (or `sqlite:path`) opens the file, creating it when missing;
    /// `sqlite::memory:` is a private in-memory database (for tests);
    /// `postgres://user@host:port/db` (or `postgresql://`) connects to PostgreSQL.
    pub async fn open(url: &str) -> Result<Store, StateError> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let shown = redact(url);
        let (pool, memory) = match backend {
            Backend::Sqlite => {
                let (url, memory) = sqlite_url(url);
                let options = AnyPoolOptions::new().after_connect(|conn, _meta| {
                    Box::pin(async move {
                        for pragma in SQLITE_PRAGMAS {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                        Ok(())
                    })
                });
                let options = if memory {
                    // Every connection to `:memory:` is a database of its own: keep exactly one.
                    options
                        .max_connections(1)
                        .min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                } else {
                    options.max_connections(8)
                };
                (options.connect(&url).await, memory)
            }
            Backend::Postgres => {
                // One direct connection first: the pool retries refused connections until its
                // acquire timeout, but a wrong URL or a stopped server should fail at once.
                let probe = match AnyConnection::connect(url).await {
                    Ok(conn) => conn.close().await,
                    Err(e) => Err(e),
                };
                let pool = match probe {
                    Ok(()) => {
                        AnyPoolOptions::new()
                            .max_connections(10)
                            .acquire_timeout(Duration::from_secs(30))
                            .connect(url)
                            .await
                    }
                    Err(e) => Err(e),
                };
                (pool, false)
            }
        };
        let pool = pool.map_err(|e| {
            StateError::new(
                StateErrorKind::Connect,
                format!("cannot open state store {shown}: {e}"),
            )
        })?;
        let store = Store { pool, backend };
        if backend == Backend::Sqlite && !memory {
            store.use_wal().await;
        }
        store.migrate().await?;
        Ok(store)
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection of the pool (clones included); later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<(), StateError> {
        let mut migrations = Vec::with_capacity(MIGRATIONS.len());
        for (version, description, sql) in MIGRATIONS {
            migrations.push(Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            ));
        }
        let migrator = Migrator::with_migrations(migrations);
        let mut outcome = migrator.run(&self.pool).await;
        if outcome.is_err() && self.backend == Backend::Sqlite {
            // SQLite has no migration lock: when two processes open a new file at once, the
            // one that lost the race fails; run again, now seeing the migrations applied.
            outcome = migrator.run(&self.pool).await;
        }
        outcome
            .map_err(|e| StateError::new(StateErrorKind::Migrate, format!("cannot migrate: {e}")))
    }

    /// Switches an SQLite file to WAL (readers never wait for the writer). The mode is kept in
    /// the file; switching needs a moment without other connections, so failing is only logged.
    async fn use_wal(&self) {
        let mode: Result<String, _> = sqlx::query_scalar("PRAGMA journal_mode = WAL")
            .fetch_one(&self.pool)
            .await;
        match mode {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => {}
            Ok(mode) => tracing::warn!("state store: SQLite journal mode stays {mode}"),
            Err(e) => tracing::warn!("state store: cannot switch SQLite to WAL: {e}"),
        }
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`) so that a transaction never has to upgrade a read lock, which SQLite refuses
    /// instead of waiting when another connection is writing.
    async fn begin(&self) -> Result<Transaction<'static, Any>, StateError> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        tx.map_err(|e| StateError::query("cannot begin a transaction", e))
    }
}

/// Which backend a URL names.
fn backend_of(url: &str) -> Result<Backend, StateError> {
    let lower = url.trim_start().to_ascii_lowercase();
    if lower.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(StateError::new(
            StateErrorKind::Connect,
            format!(
                "unsupported state store URL {}: use sqlite://path, sqlite::memory: or postgres://…",
                redact(url)
            ),
        ))
    }
}

/// The SQLite URL to connect with (files are created when missing) and whether it is in memory.
fn sqlite_url(url: &str) -> (String, bool) {
    let url = url.trim();
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let params: Vec<&str> = query
        .map(|q| q.split('&').filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let memory = base.ends_with(":memory:") || params.contains(&"mode=memory");
    if memory || params.iter().any(|p| p.starts_with("mode=")) {
        return (url.to_string(), memory);
    }
    let mut params = params;
    params.push("mode=rwc");
    (format!("{base}?{}", params.join("&")), false)
}

/// The URL with any password replaced by `***`, for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// The current time in the store's timestamp format (fixed-width RFC 3339 UTC, so text order is
/// time order).
pub fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// A timestamp given by a caller (RFC 3339, or a date), in the stored format.
fn normalise_time(value: &str) -> Result<String, StateError> {
    let value = value.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(at
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string());
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(format!("{}T00:00:00.000000Z", date.format("%Y-%m-%d")));
    }
    Err(StateError::query(
        "invalid time",
        format_args!("{value:?} is neither RFC 3339 nor YYYY-MM-DD"),
    ))
}

fn json_text(value: &serde_json::Value) -> Result<String, StateError> {
    serde_json::to_string(value).map_err(|e| StateError::query("cannot encode JSON", e))
}

fn json_value(text: &str, column: &str) -> Result<serde_json::Value, StateError> {
    serde_json::from_str(text)
        .map_err(|e| StateError::query(&format!("stored {column} is not JSON"), e))
}

/// Reads a column of a row.
fn get<'r, T>(row: &'r AnyRow, column: &str) -> Result<T, StateError>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(column)
        .map_err(|e| StateError::query(&format!("cannot read column {column}"), e))
}

/// Maps a failed statement to a query error saying what was being done.
fn failed(context: &'static str) -> impl FnOnce(sqlx::Error) -> StateError {
    move |e| StateError::query(context, e)
}

/// Takes `n` numbers from a counter inside the caller's transaction and returns the first.
/// The counter row stays locked until the transaction ends (see the module docs).
async fn take_numbers(conn: &mut AnyConnection, counter: &str, n: i64) -> Result<i64, StateError> {
    let last: i64 = sqlx::query_scalar(
        "UPDATE counters SET value = value + $2 WHERE name = $1 RETURNING value",
    )
    .bind(counter)
    .bind(n)
    .fetch_one(&mut *conn)
    .await
    .map_err(failed("cannot take a number"))?;
    Ok(last - n + 1)
}

/// Converts a count to the database's integer type.
fn count_i64(n: usize) -> Result<i64, StateError> {
    i64::try_from(n).map_err(|e| StateError::query("count out of range", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("migrations folder")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let embedded: Vec<String> = MIGRATIONS
            .iter()
            .map(|(version, description, _)| format!("{version:04}_{description}.sql"))
            .collect();
        assert_eq!(files, embedded, "list every migrations/*.sql in MIGRATIONS");
        for (name, (_, _, sql)) in files.iter().zip(MIGRATIONS) {
            let on_disk = std::fs::read_to_string(dir.join(name)).expect("migration file");
            assert_eq!(&on_disk, sql);
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            sqlite_url("sqlite://a/b.db"),
            ("sqlite://a/b.db?mode=rwc".into(), false)
        );
        assert_eq!(
            sqlite_url("sqlite://b.db?mode=ro"),
            ("sqlite://b.db?mode=ro".into(), false)
        );
        assert_eq!(
            sqlite_url("sqlite://b.db?cache=shared"),
            ("sqlite://b.db?cache=shared&mode=rwc".into(), false)
        );
        assert_eq!(
            sqlite_url("sqlite::memory:"),
            ("sqlite::memory:".into(), true)
        );
        assert_eq!(
            redact("postgres://u:secret@h:5/db?x=1"),
            "postgres://u:***@h:5/db?x=1"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert!(backend_of("mysql://x").is_err());
        assert_eq!(
            normalise_time("2024-05-01").ok().as_deref(),
            Some("2024-05-01T00:00:00.000000Z")
        );
        assert_eq!(
            normalise_time("2024-05-01T14:00:00+02:00").ok().as_deref(),
            Some("2024-05-01T12:00:00.000000Z")
        );
    }
}
