//! The state store on SQLite (a temporary file) and, when `LEDGERLINK_TEST_POSTGRES` is set
//! (see `scripts/postgres`), on PostgreSQL too: each test body runs once per backend, on
//! PostgreSQL in a database of its own that is created for it and dropped after it.

use std::collections::BTreeSet;
use std::future::Future;

use ledgerlink::state::{
    Backend, EventFilter, EventKind, IntentStatus, Link, NewEvent, NewIntent, NewSuggestion,
    RecordKey, SourceStep, StateErrorKind, Store, SuggestionStatus,
};
use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe, Connection};
use support::postgres::{admin_sql, unique_database_name, with_database};

mod support;

// ---- harness ----------------------------------------------------------------------------------

/// One database a test body runs against.
#[derive(Clone)]
struct Db {
    url: String,
    backend: Backend,
}

impl Db {
    async fn open(&self) -> Store {
        match Store::open(&self.url).await {
            Ok(store) => store,
            Err(e) => panic!("open {:?}: {e}", self.backend),
        }
    }

    /// Runs backend-specific SQL outside the store (test setup only).
    async fn execute(&self, sql: &str) {
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect(&self.url).await.expect("connect");
        sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
            .execute(&mut conn)
            .await
            .expect("setup SQL");
        conn.close().await.expect("close");
    }
}

/// Runs `body` on SQLite, then on PostgreSQL when `LEDGERLINK_TEST_POSTGRES` is set; a failure
/// on either backend fails the test (after the PostgreSQL database is dropped).
async fn each_backend<F, Fut>(body: F)
where
    F: Fn(Db) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("temp dir");
    // A file in a folder that exists, but the file does not: `open` must create it.
    let url = format!("sqlite://{}", dir.path().join("state.db").display());
    let db = Db {
        url,
        backend: Backend::Sqlite,
    };
    if let Err(panic) = tokio::spawn(body(db)).await {
        std::panic::resume_unwind(panic.into_panic());
    }

    let Ok(admin) = std::env::var("LEDGERLINK_TEST_POSTGRES") else {
        return;
    };
    let name = unique_database_name();
    admin_sql(&admin, &format!("CREATE DATABASE {name}")).await;
    let db = Db {
        url: with_database(&admin, &name),
        backend: Backend::Postgres,
    };
    let outcome = tokio::spawn(body(db)).await;
    admin_sql(
        &admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    )
    .await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

// ---- builders ---------------------------------------------------------------------------------

fn intent(project: &str, key: &str) -> NewIntent {
    NewIntent {
        key: key.to_string(),
        project: project.to_string(),
        flow: "orders".to_string(),
        source: format!("shop.Order:{key}"),
        system: "erp".to_string(),
        entity: "SaleOrder".to_string(),
        operation: "create".to_string(),
        payload: json!({"reference": key, "total": "12.50", "lines": [{"qty": 1}]}),
        lookup: Some(json!({"field": "reference", "value": key})),
        idempotency_key: None,
        depends_on: vec![],
    }
}

fn event(project: &str, kind: EventKind, flow: Option<&str>, message: &str) -> NewEvent {
    NewEvent {
        flow: flow.map(str::to_string),
        source: Some("shop.Order:1".to_string()),
        details: json!({"message": message}),
        ..NewEvent::new(project, kind, message)
    }
}

fn record(project: &str, id: &str) -> RecordKey {
    RecordKey {
        project: project.to_string(),
        system: "shop".to_string(),
        entity: "Order".to_string(),
        id: id.to_string(),
    }
}

fn link(left: &str, right: &str) -> Link {
    Link {
        project: "p".to_string(),
        sync: "customers".to_string(),
        left_system: "crm".to_string(),
        left_id: left.to_string(),
        right_system: "erp".to_string(),
        right_id: right.to_string(),
        created_at: String::new(),
    }
}

fn suggestion(id: &str, candidate: &str, score: &str) -> NewSuggestion {
    NewSuggestion {
        project: "p".to_string(),
        sync: "customers".to_string(),
        system: "crm".to_string(),
        id: id.to_string(),
        candidate_system: "erp".to_string(),
        candidate_id: candidate.to_string(),
        score: score.to_string(),
        details: json!({"name": ["Acme AS", "ACME A/S"]}),
    }
}

fn kind_of<T: std::fmt::Debug>(result: Result<T, ledgerlink::state::StateError>) -> StateErrorKind {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(e) => e.kind,
    }
}

// ---- tests ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opening_twice_keeps_the_data_and_migrates_once() {
    each_backend(|db| async move {
        let store = db.open().await;
        assert_eq!(store.backend(), db.backend);
        let step = SourceStep {
            intents: vec![intent("p", "a")],
            ..SourceStep::default()
        };
        store.commit_source(&step).await.expect("commit");
        store.close().await;

        if db.backend == Backend::Sqlite {
            let mut conn = AnyConnection::connect(&db.url).await.expect("connect");
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut conn)
                .await
                .expect("journal mode");
            assert_eq!(mode, "wal");
            conn.close().await.expect("close");
        }
        let again = db.open().await;
        let third = db.open().await;
        assert!(again.intent("a").await.expect("read").is_some());
        assert_eq!(third.intents("p", None).await.expect("list").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn memory_store_and_bad_urls() {
    let store = Store::open("sqlite::memory:").await.expect("memory");
    assert_eq!(store.backend(), Backend::Sqlite);
    let step = SourceStep {
        snapshot: Some((record("p", "1"), json!({"a": 1}), "h".into())),
        intents: vec![intent("p", "a"), intent("p", "b")],
        events: vec![event("p", EventKind::Info, None, "hello")],
        watermark: Some(("p".into(), "shop".into(), "Order".into(), "w1".into())),
        forget: None,
    };
    assert_eq!(
        store
            .commit_source(&step)
            .await
            .expect("commit")
            .new_intents,
        2
    );
    // Clones share the one in-memory database.
    let clone = store.clone();
    let filter = EventFilter::default();
    let (a, b) = tokio::join!(clone.intents("p", None), store.events("p", &filter));
    assert_eq!(a.expect("intents").len(), 2);
    assert_eq!(b.expect("events").len(), 1);

    assert_eq!(
        kind_of(Store::open("mysql://x/y").await),
        StateErrorKind::Connect
    );
    let unreachable = Store::open("postgres://nobody:secret@127.0.0.1:1/none").await;
    let Err(e) = unreachable else {
        panic!("connected to port 1")
    };
    assert_eq!(e.kind, StateErrorKind::Connect);
    assert!(!e.to_string().contains("secret"), "{e}");
    let missing_dir = Store::open("sqlite:///nonexistent-dir-ledgerlink/x.db").await;
    assert_eq!(kind_of(missing_dir), StateErrorKind::Connect);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commit_source_is_idempotent() {
    each_backend(|db| async move {
        let store = db.open().await;
        let key = record("p", "1001");
        assert!(store.snapshot(&key).await.expect("read").is_none());
        let step = SourceStep {
            snapshot: Some((
                key.clone(),
                json!({"total": "10.00", "name": "Ada"}),
                "h1".into(),
            )),
            intents: vec![intent("p", "o1"), intent("p", "o2"), intent("p", "o1")],
            events: vec![event("p", EventKind::Transferred, Some("orders"), "queued")],
            watermark: Some((
                "p".into(),
                "shop".into(),
                "Order".into(),
                "2024-05-01".into(),
            )),
            forget: None,
        };
        let first = store.commit_source(&step).await.expect("first");
        assert_eq!(
            first.new_intents, 2,
            "a key repeated within a step counts once"
        );
        let snapshot = store.snapshot(&key).await.expect("read").expect("snapshot");
        assert_eq!(snapshot.fields, json!({"total": "10.00", "name": "Ada"}));
        assert_eq!(snapshot.hash, "h1");
        assert!(snapshot.seen_at.ends_with('Z'), "{}", snapshot.seen_at);

        // Re-evaluating the record: existing intents are left untouched, nothing duplicated.
        store.mark_attempted("o1").await.expect("attempt");
        let mut again = step.clone();
        again.snapshot = Some((key.clone(), json!({"total": "11.00"}), "h2".into()));
        again.intents[0].payload = json!({"changed": true});
        again.intents.push(intent("p", "o3"));
        let second = store.commit_source(&again).await.expect("second");
        assert_eq!(second.new_intents, 1);
        let o1 = store.intent("o1").await.expect("read").expect("o1");
        assert_eq!(o1.status, IntentStatus::Attempted);
        assert_eq!(o1.payload, intent("p", "o1").payload);
        assert_eq!(
            store.snapshot(&key).await.expect("read").expect("s").hash,
            "h2"
        );

        let all = store.intents("p", None).await.expect("list");
        let keys: Vec<&str> = all.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["o1", "o2", "o3"]);
        let sequences: Vec<i64> = all.iter().map(|i| i.sequence).collect();
        assert_eq!(sequences, [1, 2, 3]);
        let o2 = &all[1];
        assert_eq!(
            o2.lookup,
            Some(json!({"field": "reference", "value": "o2"}))
        );
        assert_eq!(o2.status, IntentStatus::Pending);
        assert_eq!(o2.attempts, 0);
        assert_eq!(o2.source, "shop.Order:o2");
        // Events are a log: every commit appends its own.
        assert_eq!(
            store
                .events("p", &EventFilter::default())
                .await
                .expect("events")
                .len(),
            2
        );
        // Empty steps are fine.
        let empty = store
            .commit_source(&SourceStep::default())
            .await
            .expect("empty");
        assert_eq!(empty.new_intents, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commit_source_is_atomic() {
    each_backend(|db| async move {
        let store = db.open().await;
        // Make the last statement of the step (the watermark) fail for the value 'boom'.
        match db.backend {
            Backend::Sqlite => {
                db.execute(
                    "CREATE TRIGGER boom BEFORE INSERT ON watermarks WHEN NEW.value = 'boom' \
                     BEGIN SELECT RAISE(ABORT, 'boom'); END;",
                )
                .await
            }
            Backend::Postgres => {
                db.execute(
                    "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     IF NEW.value = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; \
                     END $$; CREATE TRIGGER boom BEFORE INSERT ON watermarks FOR EACH ROW \
                     EXECUTE FUNCTION boom();",
                )
                .await
            }
        }
        let key = record("p", "1");
        let mut step = SourceStep {
            snapshot: Some((key.clone(), json!({"a": 1}), "h".into())),
            intents: vec![intent("p", "x"), intent("p", "y")],
            events: vec![event("p", EventKind::Info, None, "one")],
            watermark: Some(("p".into(), "shop".into(), "Order".into(), "boom".into())),
            forget: None,
        };
        assert_eq!(
            kind_of(store.commit_source(&step).await),
            StateErrorKind::Query
        );
        assert!(store.snapshot(&key).await.expect("read").is_none());
        assert!(store.intents("p", None).await.expect("list").is_empty());
        assert!(store
            .events("p", &EventFilter::default())
            .await
            .expect("ev")
            .is_empty());
        assert!(store
            .watermark("p", "shop", "Order")
            .await
            .expect("wm")
            .is_none());

        step.watermark = Some(("p".into(), "shop".into(), "Order".into(), "ok".into()));
        assert_eq!(
            store
                .commit_source(&step)
                .await
                .expect("commit")
                .new_intents,
            2
        );
        let sequences: Vec<i64> = store
            .intents("p", None)
            .await
            .expect("list")
            .iter()
            .map(|i| i.sequence)
            .collect();
        assert_eq!(sequences, [1, 2], "the failed step took no numbers");
        let events = store
            .events("p", &EventFilter::default())
            .await
            .expect("ev");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].id, 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn intent_lifecycle() {
    each_backend(|db| async move {
        let store = db.open().await;
        let mut dependent = intent("p", "b");
        dependent.depends_on = vec!["a".into()];
        dependent.idempotency_key = Some("idem-b".into());
        let step = SourceStep {
            intents: vec![intent("p", "a"), dependent, intent("other", "c")],
            ..SourceStep::default()
        };
        store.commit_source(&step).await.expect("commit");

        // pending -> attempted (twice) -> done
        store.mark_attempted("a").await.expect("attempt");
        store.mark_attempted("a").await.expect("attempt again");
        let a = store.intent("a").await.expect("read").expect("a");
        assert_eq!((a.status, a.attempts), (IntentStatus::Attempted, 2));
        store
            .complete_intent("a", "SO-1", &json!({"id": "SO-1"}))
            .await
            .expect("complete");
        let a = store.intent("a").await.expect("read").expect("a");
        assert_eq!(a.status, IntentStatus::Done);
        assert_eq!(a.target_id.as_deref(), Some("SO-1"));
        assert_eq!(a.response, Some(json!({"id": "SO-1"})));
        assert!(a.updated_at >= a.created_at);
        // Repeating the completion is fine; contradicting it is not.
        store
            .complete_intent("a", "SO-1", &json!({}))
            .await
            .expect("same again");
        assert_eq!(
            kind_of(store.complete_intent("a", "SO-2", &json!({})).await),
            StateErrorKind::Conflict
        );
        assert_eq!(
            kind_of(store.mark_attempted("a").await),
            StateErrorKind::Conflict
        );
        assert_eq!(
            kind_of(store.fail_intent("a", "late").await),
            StateErrorKind::Conflict
        );
        assert_eq!(
            kind_of(store.update_payload("a", &json!({})).await),
            StateErrorKind::Conflict
        );
        assert_eq!(
            kind_of(store.retry_intent("a").await),
            StateErrorKind::Conflict
        );

        // pending -> failed -> retry -> pending
        store.mark_attempted("b").await.expect("attempt");
        store
            .fail_intent("b", "422: customer missing")
            .await
            .expect("fail");
        let b = store.intent("b").await.expect("read").expect("b");
        assert_eq!(b.status, IntentStatus::Failed);
        assert_eq!(b.error.as_deref(), Some("422: customer missing"));
        assert_eq!(b.depends_on, ["a"]);
        assert_eq!(b.idempotency_key.as_deref(), Some("idem-b"));
        let failed = store
            .intents("p", Some(IntentStatus::Failed))
            .await
            .expect("list");
        assert_eq!(failed.len(), 1);
        assert_eq!(
            kind_of(store.complete_intent("b", "X", &json!({})).await),
            StateErrorKind::Conflict
        );
        assert_eq!(
            kind_of(store.mark_attempted("b").await),
            StateErrorKind::Conflict
        );
        store
            .update_payload("b", &json!({"fixed": true}))
            .await
            .expect("fix payload");
        store.retry_intent("b").await.expect("retry");
        store
            .retry_intent("b")
            .await
            .expect("retrying a pending intent does nothing");
        let b = store.intent("b").await.expect("read").expect("b");
        assert_eq!((b.status, b.attempts), (IntentStatus::Pending, 0));
        assert_eq!(b.payload, json!({"fixed": true}));
        store
            .mark_attempted("b")
            .await
            .expect("attempt after retry");
        store
            .complete_intent("b", "SO-2", &json!(null))
            .await
            .expect("done");

        // Filters, order, projects.
        let done: Vec<String> = store
            .intents("p", Some(IntentStatus::Done))
            .await
            .expect("list")
            .into_iter()
            .map(|i| i.key)
            .collect();
        assert_eq!(done, ["a", "b"]);
        assert!(store
            .intents("p", Some(IntentStatus::Pending))
            .await
            .expect("l")
            .is_empty());
        assert_eq!(store.intents("other", None).await.expect("l").len(), 1);

        // Unknown keys.
        assert!(store.intent("zz").await.expect("read").is_none());
        assert_eq!(
            kind_of(store.mark_attempted("zz").await),
            StateErrorKind::NotFound
        );
        assert_eq!(
            kind_of(store.complete_intent("zz", "1", &json!({})).await),
            StateErrorKind::NotFound
        );
        assert_eq!(
            kind_of(store.fail_intent("zz", "r").await),
            StateErrorKind::NotFound
        );
        assert_eq!(
            kind_of(store.retry_intent("zz").await),
            StateErrorKind::NotFound
        );
        assert_eq!(
            kind_of(store.update_payload("zz", &json!(1)).await),
            StateErrorKind::NotFound
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_filter_and_order() {
    each_backend(|db| async move {
        let store = db.open().await;
        store
            .log(&event("p", EventKind::Transferred, Some("orders"), "1"))
            .await
            .expect("log");
        store
            .log(&event("p", EventKind::Skipped, Some("orders"), "2"))
            .await
            .expect("log");
        store
            .log(&event("other", EventKind::Failed, Some("orders"), "x"))
            .await
            .expect("log");
        let step = SourceStep {
            events: vec![
                event("p", EventKind::Failed, Some("invoices"), "3"),
                event("p", EventKind::Transferred, None, "4"),
            ],
            ..SourceStep::default()
        };
        store.commit_source(&step).await.expect("commit");
        let mut full = event("p", EventKind::Conflict, Some("customers"), "5");
        full.target = Some("erp.Customer:7".into());
        full.intent = Some("k5".into());
        full.details = json!({"left": "a", "right": "b", "n": 1.5});
        store.log(&full).await.expect("log");

        let all = store
            .events("p", &EventFilter::default())
            .await
            .expect("all");
        let messages: Vec<&str> = all.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, ["1", "2", "3", "4", "5"], "oldest first");
        assert!(all
            .windows(2)
            .all(|w| w[0].id < w[1].id && w[0].at <= w[1].at));
        let last = &all[4];
        assert_eq!(last.kind, EventKind::Conflict);
        assert_eq!(last.target.as_deref(), Some("erp.Customer:7"));
        assert_eq!(last.intent.as_deref(), Some("k5"));
        assert_eq!(last.source.as_deref(), Some("shop.Order:1"));
        assert_eq!(last.details, json!({"left": "a", "right": "b", "n": 1.5}));
        assert_eq!(all[3].flow, None);

        let only = |kind, flow: Option<&str>, limit| EventFilter {
            kind,
            flow: flow.map(str::to_string),
            limit,
            ..EventFilter::default()
        };
        let transferred = store
            .events("p", &only(Some(EventKind::Transferred), None, None))
            .await
            .expect("kind");
        assert_eq!(
            transferred
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>(),
            ["1", "4"]
        );
        let orders = store
            .events("p", &only(None, Some("orders"), None))
            .await
            .expect("flow");
        assert_eq!(
            orders
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>(),
            ["1", "2"]
        );
        let both = store
            .events("p", &only(Some(EventKind::Skipped), Some("orders"), None))
            .await
            .expect("both");
        assert_eq!(both.len(), 1);
        let newest = store
            .events("p", &only(None, None, Some(2)))
            .await
            .expect("limit");
        assert_eq!(
            newest
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>(),
            ["4", "5"]
        );
        assert!(store
            .events("p", &only(None, None, Some(0)))
            .await
            .expect("0")
            .is_empty());

        let since = |since: &str| EventFilter {
            since: Some(since.to_string()),
            ..EventFilter::default()
        };
        assert_eq!(
            store
                .events("p", &since("2000-01-01"))
                .await
                .expect("old")
                .len(),
            5
        );
        assert!(store
            .events("p", &since("2999-01-01T00:00:00+01:00"))
            .await
            .expect("new")
            .is_empty());
        let from_third = store.events("p", &since(&all[2].at)).await.expect("at");
        assert_eq!(from_third.last(), all.last());
        assert!(from_third.len() >= 3 && from_third.iter().all(|e| e.at >= all[2].at));
        assert_eq!(
            kind_of(store.events("p", &since("yesterday")).await),
            StateErrorKind::Query
        );
        assert_eq!(
            store
                .events("other", &EventFilter::default())
                .await
                .expect("o")
                .len(),
            1
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn links_are_never_repointed() {
    each_backend(|db| async move {
        let store = db.open().await;
        store.link(&link("c1", "e1")).await.expect("link");
        store
            .link(&link("c1", "e1"))
            .await
            .expect("the same link again");
        store.link(&link("c2", "e2")).await.expect("another");

        let from_left = store
            .partner("p", "customers", "crm", "c1")
            .await
            .expect("p")
            .expect("l");
        let from_right = store
            .partner("p", "customers", "erp", "e1")
            .await
            .expect("p")
            .expect("r");
        assert_eq!(from_left, from_right);
        assert_eq!(
            (from_left.right_system.as_str(), from_left.right_id.as_str()),
            ("erp", "e1")
        );
        assert!(!from_left.created_at.is_empty());
        assert!(store
            .partner("p", "customers", "crm", "c9")
            .await
            .expect("p")
            .is_none());
        assert!(store
            .partner("p", "vendors", "crm", "c1")
            .await
            .expect("p")
            .is_none());

        // Re-pointing either end, or the reversed pair, is refused.
        assert_eq!(
            kind_of(store.link(&link("c1", "e9")).await),
            StateErrorKind::Conflict
        );
        assert_eq!(
            kind_of(store.link(&link("c9", "e1")).await),
            StateErrorKind::Conflict
        );
        assert_eq!(
            kind_of(store.link(&link("c1", "e2")).await),
            StateErrorKind::Conflict
        );
        let mut reversed = link("e1", "c1");
        reversed.left_system = "erp".into();
        reversed.right_system = "crm".into();
        assert_eq!(
            kind_of(store.link(&reversed).await),
            StateErrorKind::Conflict
        );
        let mut itself = link("c5", "c5");
        itself.right_system = "crm".into();
        assert_eq!(kind_of(store.link(&itself).await), StateErrorKind::Conflict);
        // A refused link leaves nothing behind.
        assert!(store
            .partner("p", "customers", "crm", "c9")
            .await
            .expect("p")
            .is_none());
        assert!(store
            .partner("p", "customers", "erp", "e9")
            .await
            .expect("p")
            .is_none());

        // Another sync has links of its own.
        let mut other = link("c1", "e9");
        other.sync = "vendors".into();
        store.link(&other).await.expect("other sync");

        let links = store.links("p", "customers").await.expect("links");
        let pairs: Vec<(&str, &str)> = links
            .iter()
            .map(|l| (l.left_id.as_str(), l.right_id.as_str()))
            .collect();
        assert_eq!(pairs, [("c1", "e1"), ("c2", "e2")]);
        assert_eq!(store.links("p", "vendors").await.expect("links").len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn suggestions_are_decided_once() {
    each_backend(|db| async move {
        let store = db.open().await;
        store
            .suggest(&suggestion("c1", "e1", "0.91"))
            .await
            .expect("s1");
        store
            .suggest(&suggestion("c1", "e2", "0.84"))
            .await
            .expect("s2");
        store
            .suggest(&suggestion("c1", "e1", "0.93"))
            .await
            .expect("again");
        let pending = store
            .suggestions("p", Some(SuggestionStatus::Pending))
            .await
            .expect("pending");
        assert_eq!(pending.len(), 2, "suggesting a pair again updates it");
        assert_eq!(pending[0].score, "0.93");
        assert_eq!(pending[0].record_id, "c1");
        assert_eq!(pending[0].candidate_id, "e1");
        assert_eq!(pending[0].details, json!({"name": ["Acme AS", "ACME A/S"]}));
        assert!(pending[0].decided_at.is_none());
        let (first, second) = (pending[0].id, pending[1].id);
        assert!(first < second);

        let accepted = store.decide_suggestion(first, true).await.expect("accept");
        assert_eq!(accepted.status, SuggestionStatus::Accepted);
        assert!(accepted.decided_at.is_some());
        store
            .decide_suggestion(first, true)
            .await
            .expect("the same decision again");
        assert_eq!(
            kind_of(store.decide_suggestion(first, false).await),
            StateErrorKind::Conflict
        );
        let rejected = store
            .decide_suggestion(second, false)
            .await
            .expect("reject");
        assert_eq!(rejected.status, SuggestionStatus::Rejected);
        assert_eq!(
            kind_of(store.decide_suggestion(9999, true).await),
            StateErrorKind::NotFound
        );

        // A decided pair is not suggested again.
        store
            .suggest(&suggestion("c1", "e2", "0.99"))
            .await
            .expect("again");
        let all = store.suggestions("p", None).await.expect("all");
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].status, SuggestionStatus::Rejected);
        assert_eq!(all[1].score, "0.84");
        assert_eq!(
            store
                .suggestions("p", Some(SuggestionStatus::Accepted))
                .await
                .expect("a")
                .len(),
            1
        );
        assert!(store
            .suggestions("other", None)
            .await
            .expect("o")
            .is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn watermarks() {
    each_backend(|db| async move {
        let store = db.open().await;
        assert!(store
            .watermark("p", "shop", "Order")
            .await
            .expect("wm")
            .is_none());
        let step = |value: &str| SourceStep {
            watermark: Some(("p".into(), "shop".into(), "Order".into(), value.into())),
            forget: None,
            ..SourceStep::default()
        };
        store
            .commit_source(&step("2024-05-01T10:00:00Z"))
            .await
            .expect("set");
        assert_eq!(
            store
                .watermark("p", "shop", "Order")
                .await
                .expect("wm")
                .as_deref(),
            Some("2024-05-01T10:00:00Z")
        );
        store.commit_source(&step("cursor-2")).await.expect("move");
        assert_eq!(
            store
                .watermark("p", "shop", "Order")
                .await
                .expect("wm")
                .as_deref(),
            Some("cursor-2")
        );
        assert!(store
            .watermark("p", "shop", "Customer")
            .await
            .expect("wm")
            .is_none());
        assert!(store
            .watermark("q", "shop", "Order")
            .await
            .expect("wm")
            .is_none());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_commits_never_duplicate() {
    each_backend(|db| async move {
        const TASKS: usize = 8;
        const STEPS: usize = 25;
        const KEYS: usize = 60;
        let store = db.open().await;
        let mut handles = Vec::new();
        for task in 0..TASKS {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let mut new = 0;
                for step in 0..STEPS {
                    // Overlapping keys: every key is produced by several tasks.
                    let keys = [(task * 7 + step) % KEYS, (task * 13 + step * 3) % KEYS];
                    let step = SourceStep {
                        snapshot: Some((
                            record("p", &format!("{}", keys[0])),
                            json!({"task": task}),
                            format!("h{task}"),
                        )),
                        intents: keys.iter().map(|k| intent("p", &format!("k{k}"))).collect(),
                        events: vec![event("p", EventKind::Info, None, &format!("{task}"))],
                        watermark: Some((
                            "p".into(),
                            "shop".into(),
                            "Order".into(),
                            format!("{task}"),
                        )),
                        forget: None,
                    };
                    new += store
                        .commit_source(&step)
                        .await
                        .expect("commit")
                        .new_intents;
                }
                new
            }));
        }
        let mut new_total = 0;
        for handle in handles {
            new_total += handle.await.expect("task");
        }
        let intents = store.intents("p", None).await.expect("list");
        let keys: BTreeSet<&str> = intents.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys.len(), intents.len(), "no duplicate keys");
        assert_eq!(new_total, intents.len(), "new_intents adds up");
        let sequences: Vec<i64> = intents.iter().map(|i| i.sequence).collect();
        let expected: Vec<i64> = (1..).take(intents.len()).collect();
        assert_eq!(sequences, expected, "sequences are unique and dense");
        let events = store
            .events("p", &EventFilter::default())
            .await
            .expect("events");
        assert_eq!(events.len(), TASKS * STEPS);
        let ids: BTreeSet<i64> = events.iter().map(|e| e.id).collect();
        assert_eq!(ids.len(), TASKS * STEPS, "event ids are unique");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_opens_and_links() {
    each_backend(|db| async move {
        // Several processes opening a new database at once: all succeed, migrations run once.
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move { db.open().await })
            })
            .collect();
        let mut stores = Vec::new();
        for open in opens {
            stores.push(open.await.expect("open"));
        }

        // Workers linking overlapping pairs, in both orientations: each one either links or
        // is refused with a conflict, never fails otherwise, and no record gets two partners.
        let mut tasks = Vec::new();
        for task in 0..8usize {
            let store = stores[task % stores.len()].clone();
            tasks.push(tokio::spawn(async move {
                let mut made = 0;
                for i in 0..12usize {
                    let (a, b) = ((task + i) % 5, (task * 3 + i) % 5);
                    let mut l = link(&format!("c{a}"), &format!("e{b}"));
                    if (task + i) % 2 == 1 {
                        std::mem::swap(&mut l.left_system, &mut l.right_system);
                        std::mem::swap(&mut l.left_id, &mut l.right_id);
                    }
                    match store.link(&l).await {
                        Ok(()) => made += 1,
                        Err(e) => assert_eq!(e.kind, StateErrorKind::Conflict, "{e}"),
                    }
                }
                made
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
        let links = stores[0].links("p", "customers").await.expect("links");
        let mut ends = BTreeSet::new();
        for l in &links {
            assert!(
                ends.insert((l.left_system.clone(), l.left_id.clone())),
                "{l:?}"
            );
            assert!(
                ends.insert((l.right_system.clone(), l.right_id.clone())),
                "{l:?}"
            );
            let partner = stores[1]
                .partner("p", "customers", &l.right_system, &l.right_id)
                .await
                .expect("partner");
            assert_eq!(partner.as_ref(), Some(l));
        }
        assert!(!links.is_empty());
    })
    .await;
}

#[test]
fn statuses_serialise_as_snake_case_text() {
    assert_eq!(
        serde_json::to_value(IntentStatus::Attempted).ok(),
        Some(json!("attempted"))
    );
    assert_eq!(
        serde_json::to_value(EventKind::Transferred).ok(),
        Some(json!("transferred"))
    );
    assert_eq!(
        serde_json::to_value(SuggestionStatus::Rejected).ok(),
        Some(json!("rejected"))
    );
    assert_eq!(
        "failed".parse::<IntentStatus>().ok(),
        Some(IntentStatus::Failed)
    );
    assert_eq!(IntentStatus::Done.to_string(), "done");
    assert!("nope".parse::<EventKind>().is_err());
}

#[test]
fn database_url_rewriting() {
    assert_eq!(
        with_database("postgres://u@127.0.0.1:54329/ledgerlink_test", "x"),
        "postgres://u@127.0.0.1:54329/x"
    );
    assert_eq!(
        with_database("postgres://u@h/db?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}
