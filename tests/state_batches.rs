//! The state store's batch operations (SQLite): a page of source steps committed in one
//! transaction, open intents read in keyset batches, and groups of intents marked attempted
//! and completed together with their events.

use ledgerlink::state::{
    EventFilter, EventKind, IntentStatus, NewEvent, NewIntent, RecordKey, SourceStep, Store,
};
use serde_json::json;

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("state.db").display());
    let store = Store::open(&url).await.expect("store");
    (dir, store)
}

fn intent(project: &str, key: &str) -> NewIntent {
    NewIntent {
        key: key.to_string(),
        project: project.to_string(),
        flow: "orders".to_string(),
        source: format!("shop.Order:{key}"),
        system: "erp".to_string(),
        entity: "SaleOrder".to_string(),
        operation: "create".to_string(),
        payload: json!({"reference": key}),
        lookup: None,
        idempotency_key: None,
        depends_on: vec![],
    }
}

fn step(project: &str, id: &str, keys: &[&str]) -> SourceStep {
    SourceStep {
        forget: None,
        snapshot: Some((
            RecordKey {
                project: project.to_string(),
                system: "shop".to_string(),
                entity: "Order".to_string(),
                id: id.to_string(),
            },
            json!({"id": id}),
            format!("hash-{id}"),
        )),
        intents: keys.iter().map(|k| intent(project, k)).collect(),
        events: vec![NewEvent::new(
            project,
            EventKind::Info,
            format!("read {id}"),
        )],
        watermark: None,
    }
}

fn keys(intents: &[ledgerlink::state::Intent]) -> Vec<&str> {
    intents.iter().map(|i| i.key.as_str()).collect()
}

#[tokio::test]
async fn a_page_of_steps_is_committed_together() {
    let (_dir, store) = store().await;
    // `k2` is recorded already: the page's step that produces it again gets no new intent.
    store
        .commit_source(&step("p", "0", &["k2"]))
        .await
        .expect("first");
    let page = vec![
        step("p", "1", &["k1"]),
        step("p", "2", &["k2", "k3"]),
        step("p", "3", &[]),
    ];
    let outcomes = store.commit_sources(&page).await.expect("page");
    let new: Vec<usize> = outcomes.iter().map(|o| o.new_intents).collect();
    assert_eq!(new, [1, 1, 0]);
    for id in ["1", "2", "3"] {
        let key = page[0].snapshot.as_ref().expect("snapshot").0.clone();
        let key = RecordKey {
            id: id.to_string(),
            ..key
        };
        let snapshot = store.snapshot(&key).await.expect("read").expect("stored");
        assert_eq!(snapshot.hash, format!("hash-{id}"));
    }
    let all = store.intents("p", None).await.expect("intents");
    assert_eq!(keys(&all), ["k2", "k1", "k3"]);
    let sequences: Vec<i64> = all.iter().map(|i| i.sequence).collect();
    assert_eq!(
        sequences,
        [1, 2, 3],
        "numbered in commit order without gaps"
    );
    let events = store
        .events("p", &EventFilter::default())
        .await
        .expect("events");
    assert_eq!(events.len(), 4);
    assert!(store
        .commit_sources(&[])
        .await
        .expect("empty page")
        .is_empty());
}

#[tokio::test]
async fn open_intents_come_in_keyset_batches() {
    let (_dir, store) = store().await;
    let page: Vec<SourceStep> = (0..7)
        .map(|i| step("p", &i.to_string(), &[&format!("k{i}")]))
        .collect();
    store.commit_sources(&page).await.expect("page");
    // Another project's intents are never read.
    store
        .commit_source(&step("other", "x", &["o1"]))
        .await
        .expect("other");
    store
        .complete_intent("k1", "t1", &json!({}))
        .await
        .expect("done");
    store.fail_intent("k4", "refused").await.expect("failed");
    store.mark_attempted("k5").await.expect("attempted");

    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let batch = store.open_intents("p", after, 2).await.expect("batch");
        assert!(batch.len() <= 2);
        let Some(last) = batch.last() else { break };
        after = last.sequence;
        seen.extend(batch.iter().map(|i| (i.key.clone(), i.status)));
    }
    assert_eq!(
        seen,
        [
            ("k0".to_string(), IntentStatus::Pending),
            ("k2".to_string(), IntentStatus::Pending),
            ("k3".to_string(), IntentStatus::Pending),
            ("k5".to_string(), IntentStatus::Attempted),
            ("k6".to_string(), IntentStatus::Pending),
        ]
    );
    assert!(store
        .open_intents("p", i64::MAX, 10)
        .await
        .expect("none")
        .is_empty());
}

#[tokio::test]
async fn a_group_is_attempted_and_completed_together() {
    let (_dir, store) = store().await;
    store
        .commit_source(&step("p", "1", &["a", "b", "c"]))
        .await
        .expect("step");
    let group = ["a".to_string(), "b".to_string()];
    store.mark_attempted_many(&group).await.expect("attempted");
    for key in &group {
        let intent = store.intent(key).await.expect("read").expect("there");
        assert_eq!(intent.status, IntentStatus::Attempted);
        assert_eq!(intent.attempts, 1);
    }
    let transferred = |key: &str| NewEvent {
        intent: Some(key.to_string()),
        ..NewEvent::new("p", EventKind::Transferred, format!("create {key}"))
    };
    store
        .complete_intents(
            &[
                ("a".to_string(), "10".to_string(), json!({"id": 10})),
                ("b".to_string(), "11".to_string(), json!({"id": 11})),
            ],
            &[transferred("a"), transferred("b")],
        )
        .await
        .expect("completed");
    let a = store.intent("a").await.expect("read").expect("there");
    assert_eq!(
        (a.status, a.target_id.as_deref()),
        (IntentStatus::Done, Some("10"))
    );
    // Completing again with the same id is accepted, as `complete_intent` accepts it.
    store
        .complete_intents(
            &[
                ("a".to_string(), "10".to_string(), json!({"id": 10})),
                ("c".to_string(), "12".to_string(), json!({"id": 12})),
            ],
            &[transferred("c")],
        )
        .await
        .expect("repeated");
    let c = store.intent("c").await.expect("read").expect("there");
    assert_eq!(c.status, IntentStatus::Done);
    // A done intent cannot be attempted again: nothing of the group is marked.
    store
        .commit_source(&step("p", "2", &["d"]))
        .await
        .expect("d");
    assert!(store
        .mark_attempted_many(&["d".to_string(), "a".to_string()])
        .await
        .is_err());
    let d = store.intent("d").await.expect("read").expect("there");
    assert_eq!(d.status, IntentStatus::Pending);
    let transferred_events = store
        .events(
            "p",
            &EventFilter {
                kind: Some(EventKind::Transferred),
                ..EventFilter::default()
            },
        )
        .await
        .expect("events");
    assert_eq!(transferred_events.len(), 3);
}
