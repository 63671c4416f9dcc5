//! Change detection from the binary against a paged fake API: incremental listing from the
//! watermark, several flows on one source each seeing every change, deletions found by a
//! complete listing, on the SQLite and (with `LEDGERLINK_TEST_POSTGRES`) PostgreSQL stores.

mod support;

use std::{path::Path, process::Command};

use serde_json::{json, Value};
use support::{
    fake_of, json_output, ledgerlink_bin, state_stores, test_project, FakeServer, StateStore,
};

const GONE_RULES: &str = r#"# Every new order, and every order deleted in the shop.
flow opened {
  on shop.Order when created
  create shop.Voucher {
    reference = "new:{shop.Order.id}"
    text = "new {shop.Order.name}"
  }
}

flow gone {
  on shop.Order when deleted
  create shop.Voucher {
    reference = "gone:{shop.Order.id}"
    text = "cancelled {shop.Order.name}"
  }
}
"#;

const NOTE_RULES: &str = r#"# A note on every voucher that appears in the shop.
flow noted {
  on shop.Voucher when created
  create shop.Note {
    voucher = shop.Voucher.reference
  }
}
"#;

fn project(extra_rules: Option<&str>) -> tempfile::TempDir {
    let dir = test_project("feed");
    if let Some(rules) = extra_rules {
        std::fs::write(dir.path().join("rules/gone.rules"), rules).expect("rules");
    }
    dir
}

fn shop(project: &Path) -> FakeServer {
    let shop = fake_of(project, "shopapi.yaml");
    shop.set_page_size(2);
    shop.seed(
        "Order",
        vec![
            json!({"id": "o1", "name": "#1", "status": "paid", "total": "100.00", "currency": "DKK", "updated_at": "2026-03-01T10:00:00Z"}),
            json!({"id": "o2", "name": "#2", "status": "open", "total": "40.00", "currency": "DKK", "updated_at": "2026-03-01T11:00:00Z"}),
            json!({"id": "o3", "name": "#3", "status": "paid", "total": "75.50", "currency": "DKK", "updated_at": "2026-03-01T12:00:00Z"}),
        ],
    );
    shop
}

fn run(project: &Path, shop: &FakeServer, store: &StateStore) -> Value {
    run_with(project, shop, store, &[])
}

/// `ledgerlink run --once PROJECT ARGS…` against the fake; the JSON report.
fn run_with(project: &Path, shop: &FakeServer, store: &StateStore, args: &[&str]) -> Value {
    let mut command = Command::new(ledgerlink_bin());
    store.apply(&mut command);
    let output = command
        .args(["run", "--once", "--format", "json"])
        .arg(project)
        .args(args)
        .env("LEDGERLINK_ENDPOINT_SHOP", shop.url())
        .env("FEED_TOKEN", "feed-test-token")
        .output()
        .expect("ledgerlink runs");
    json_output(&output)
}

fn references(shop: &FakeServer) -> Vec<String> {
    let mut refs: Vec<String> = shop
        .records("Voucher")
        .iter()
        .filter_map(|v| v["reference"].as_str().map(str::to_string))
        .collect();
    refs.sort();
    refs
}

/// The `updated_since` of each order listing since the log was cleared, in order.
fn listings(shop: &FakeServer) -> Vec<Option<String>> {
    shop.requests()
        .iter()
        .filter(|r| {
            r.method == "GET"
                && r.path == "/orders"
                && r.query_param("page").as_deref() != Some("2")
        })
        .map(|r| r.query_param("updated_since"))
        .collect()
}

#[test]
fn polling_lists_what_changed_since_the_watermark() {
    for store in state_stores() {
        polling_on(&store);
    }
}

fn polling_on(store: &StateStore) {
    eprintln!("state store: {}", store.backend);
    let project = project(None);
    let shop = shop(project.path());

    let first = run(project.path(), &shop, store);
    assert_eq!(first["report"]["delivered"], 2, "{first:#}");
    assert_eq!(references(&shop), ["paid:o1", "paid:o3"]);
    // The first listing is complete (all pages, no filter).
    assert_eq!(listings(&shop), [None]);

    // The next lists from an hour before the newest change it saw, and writes nothing.
    shop.clear_log();
    let writes = shop.writes();
    let quiet = run(project.path(), &shop, store);
    assert_eq!(quiet["report"]["delivered"], 0, "{quiet:#}");
    assert_eq!(shop.writes(), writes);
    assert_eq!(listings(&shop), [Some("2026-03-01T11:00:00Z".to_string())]);

    // A person marks order 2 paid: its updated_at moves to now, the listing sees it.
    assert!(shop.modify("Order", "o2", json!({"status": "paid"})));
    shop.clear_log();
    let third = run(project.path(), &shop, store);
    assert_eq!(third["report"]["delivered"], 1, "{third:#}");
    assert_eq!(references(&shop), ["paid:o1", "paid:o2", "paid:o3"]);
    let flow = &third["report"]["flows"][0];
    assert_eq!(
        (flow["changed"].as_u64(), flow["triggered"].as_u64()),
        (Some(1), Some(1)),
        "{third:#}"
    );
}

#[test]
fn every_flow_on_a_source_sees_each_change_and_deletions_are_found() {
    for store in state_stores() {
        deletions_on(&store);
    }
}

fn deletions_on(store: &StateStore) {
    eprintln!("state store: {}", store.backend);
    let project = project(Some(GONE_RULES));
    let shop = shop(project.path());

    // Three flows read the orders: each sees every new order, from one listing.
    let first = run(project.path(), &shop, store);
    assert_eq!(
        references(&shop),
        ["new:o1", "new:o2", "new:o3", "paid:o1", "paid:o3"],
        "{first:#}"
    );
    assert_eq!(listings(&shop), [None], "one listing for three flows");

    // Order 1 is deleted in the shop. A flow on deletions needs complete listings.
    assert!(shop.remove("Order", "o1"));
    shop.clear_log();
    let second = run(project.path(), &shop, store);
    assert_eq!(
        listings(&shop),
        [None],
        "complete: a filtered listing cannot show deletions"
    );
    assert_eq!(second["report"]["delivered"], 1, "{second:#}");
    let gone = shop
        .records("Voucher")
        .into_iter()
        .find(|v| v["reference"] == "gone:o1")
        .expect("the deletion's voucher");
    assert_eq!(
        gone["text"], "cancelled #1",
        "the rules read the order as last seen"
    );
    let flows = second["report"]["flows"].as_array().expect("flows");
    let deleted: u64 = flows.iter().filter_map(|f| f["deleted"].as_u64()).sum();
    assert_eq!(deleted, 1, "{second:#}");

    // Once handled, a deletion is not handled again.
    let writes = shop.writes();
    let third = run(project.path(), &shop, store);
    assert_eq!(third["report"]["delivered"], 0, "{third:#}");
    assert_eq!(shop.writes(), writes);
}

#[test]
fn our_own_writes_do_not_come_back_as_changes() {
    for store in state_stores() {
        echoes_on(&store);
    }
}

fn echoes_on(store: &StateStore) {
    eprintln!("state store: {}", store.backend);
    let project = project(Some(NOTE_RULES));
    let shop = shop(project.path());

    // The paid orders become vouchers; the vouchers are a source of the `noted` flow.
    run(project.path(), &shop, store);
    assert_eq!(references(&shop), ["paid:o1", "paid:o3"]);
    // The next listing of vouchers finds the two it wrote: not new, no notes for them.
    let second = run(project.path(), &shop, store);
    assert_eq!(second["report"]["delivered"], 0, "{second:#}");
    assert!(
        shop.records("Note").is_empty(),
        "{:#?}",
        shop.records("Note")
    );

    // A voucher a person makes in the shop is new, and gets its note.
    shop.seed(
        "Voucher",
        vec![json!({"reference": "manual:1", "text": "by hand"})],
    );
    let third = run(project.path(), &shop, store);
    assert_eq!(third["report"]["delivered"], 1, "{third:#}");
    let notes: Vec<Value> = shop.records("Note");
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert_eq!(notes[0]["voucher"], "manual:1");
}

#[test]
fn pushed_records_go_through_the_same_change_detection() {
    for store in state_stores() {
        pushed_on(&store);
    }
}

fn pushed_on(store: &StateStore) {
    eprintln!("state store: {}", store.backend);
    let project = project(Some(GONE_RULES));
    let shop = shop(project.path());
    let delivery = project.path().join("delivery.json");
    let push = |record: Value, deleted: bool| {
        std::fs::write(&delivery, record.to_string()).expect("delivery file");
        let spec = format!("shop.Order={}", delivery.display());
        let mut args = vec!["--records", spec.as_str()];
        if deleted {
            args.push("--deleted");
        }
        run_with(project.path(), &shop, store, &args)
    };
    let order = json!({"id": "o9", "name": "#9", "status": "paid", "total": "12.00", "currency": "DKK", "updated_at": "2026-03-02T08:00:00Z"});

    // A webhook delivery of a new, paid order: both flows fire, and nothing is listed.
    let first = push(order.clone(), false);
    assert_eq!(first["report"]["delivered"], 2, "{first:#}");
    assert_eq!(references(&shop), ["new:o9", "paid:o9"]);
    assert!(
        listings(&shop).is_empty(),
        "a pushed record needs no listing"
    );

    // The same delivery again (webhooks come twice): nothing.
    let again = push(order.clone(), false);
    assert_eq!(again["report"]["delivered"], 0, "{again:#}");

    // The system says the order was deleted.
    let gone = push(json!({"id": "o9"}), true);
    assert_eq!(gone["report"]["delivered"], 1, "{gone:#}");
    let voucher = shop
        .records("Voucher")
        .into_iter()
        .find(|v| v["reference"] == "gone:o9")
        .expect("the deletion's voucher");
    assert_eq!(voucher["text"], "cancelled #9", "read as last seen");
}
