//! The state stores end-to-end tests run against: the project's own SQLite file always, and
//! PostgreSQL when `LEDGERLINK_TEST_POSTGRES` holds an admin URL (`scripts/postgres` starts a
//! server and prints it). Each PostgreSQL store is a database of its own, created for one test
//! and dropped after it, so tests running in parallel never see each other's state.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AnyConnection, AssertSqlSafe, Connection};

/// The admin URL of the test PostgreSQL server, when there is one.
pub fn admin_url() -> Option<String> {
    std::env::var("LEDGERLINK_TEST_POSTGRES").ok()
}

/// A database name no other test uses.
pub fn unique_database_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "ledgerlink_test_{}_{}_{}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_and_path = &base[scheme_end..];
    let host = host_and_path
        .split_once('/')
        .map_or(host_and_path, |(host, _)| host);
    format!("{}{host}/{database}{query}", &base[..scheme_end])
}

/// Runs administrative SQL (CREATE / DROP DATABASE) on the server of `admin`.
pub async fn admin_sql(admin: &str, sql: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect(admin)
        .await
        .unwrap_or_else(|e| panic!("connect to LEDGERLINK_TEST_POSTGRES: {e}"));
    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    conn.close().await.expect("close");
}

fn blocking_admin_sql(admin: &str, sql: &str) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(admin_sql(admin, sql));
}

/// One state store for the binary under test: pass [`StateStore::url`] as `LEDGERLINK_STATE`.
pub struct StateStore {
    /// `sqlite` or `postgres`, for messages.
    pub backend: &'static str,
    /// The store URL; `None` is the project's own (its `state:`, SQLite in the examples).
    pub url: Option<String>,
    /// The PostgreSQL database to drop afterwards: (admin URL, name).
    database: Option<(String, String)>,
}

impl StateStore {
    /// The project's own store (its `state:`; a SQLite file in its folder in the examples).
    pub fn project_own() -> StateStore {
        StateStore {
            backend: "sqlite",
            url: None,
            database: None,
        }
    }

    /// Sets `LEDGERLINK_STATE` on `command` when this store is not the project's own.
    pub fn apply(&self, command: &mut std::process::Command) {
        if let Some(url) = &self.url {
            command.env("LEDGERLINK_STATE", url);
        }
    }
}

impl Drop for StateStore {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.database.take() {
            blocking_admin_sql(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            );
        }
    }
}

/// The project's SQLite store, then (with `LEDGERLINK_TEST_POSTGRES`) a fresh PostgreSQL
/// database. A test body runs once per store.
pub fn state_stores() -> Vec<StateStore> {
    let mut stores = vec![StateStore::project_own()];
    if let Some(admin) = admin_url() {
        let name = unique_database_name();
        blocking_admin_sql(&admin, &format!("CREATE DATABASE {name}"));
        stores.push(StateStore {
            backend: "postgres",
            url: Some(with_database(&admin, &name)),
            database: Some((admin, name)),
        });
    }
    stores
}
