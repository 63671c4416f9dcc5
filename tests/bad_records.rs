//! Bad source records from the binary: a missing required field, an amount that is not a
//! number and an unknown currency are each reported in the export log with the field and the
//! value; nothing is sent for them, the other records are delivered, and a record whose data
//! is fixed is delivered on the next run.

mod support;

use std::{path::Path, process::Command};

use serde_json::Value;
use support::{
    fake_of, json_output, ledgerlink_bin, state_stores, test_project, FakeServer, StateStore,
};

const ORDERS: &str = r#"{"id": "o-1", "text": "order 1", "amount": "100.00", "currency": "DKK"}
{"id": "o-2", "amount": "25.00", "currency": "DKK"}
{"id": "o-3", "text": "order 3", "amount": "12,5x", "currency": "DKK"}
{"id": "o-4", "text": "order 4", "amount": "40.00", "currency": "XYZ"}
{"id": "o-5", "text": "order 5", "amount": "-7.25", "currency": "EUR"}
"#;

fn project() -> tempfile::TempDir {
    let dir = test_project("crash-api");
    std::fs::create_dir_all(dir.path().join("fixtures")).expect("fixtures folder");
    std::fs::write(dir.path().join("fixtures/orders.ndjson"), ORDERS).expect("orders");
    dir
}

fn ledgerlink(args: &[&str], project: &Path, ledger: &FakeServer, store: &StateStore) -> Value {
    let mut command = Command::new(ledgerlink_bin());
    store.apply(&mut command);
    let output = command
        .args(args)
        .args(["--format", "json"])
        .arg(project)
        .env("LEDGERLINK_ENDPOINT_LEDGER", ledger.url())
        .env("CRASH_LEDGER_TOKEN", "test-token")
        .output()
        .expect("ledgerlink runs");
    json_output(&output)
}

fn messages(events: &Value) -> Vec<String> {
    events
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn bad_records_are_reported_one_by_one_and_the_rest_is_delivered() {
    for store in state_stores() {
        bad_records_on(&store);
    }
}

fn bad_records_on(store: &StateStore) {
    eprintln!("state store: {}", store.backend);
    let project = project();
    let ledger = fake_of(project.path(), "ledger.yaml");

    let report = ledgerlink(&["run", "--once"], project.path(), &ledger, store);
    let flow = &report["report"]["flows"][0];
    assert_eq!(flow["records"], 5, "{report:#}");
    assert_eq!(flow["failed"], 3, "{report:#}");
    assert_eq!(report["report"]["delivered"], 2, "{report:#}");

    // The good records arrived, field by field.
    let vouchers = ledger.records("Voucher");
    let by_reference = |r: &str| vouchers.iter().find(|v| v["reference"] == r).cloned();
    assert_eq!(vouchers.len(), 2, "{vouchers:#?}");
    let first = by_reference("crash:o-1").expect("o-1 delivered");
    assert_eq!(first["text"], "order 1");
    assert_eq!(first["currency"], "DKK");
    let refund = by_reference("crash:o-5").expect("o-5 delivered");
    assert_eq!(refund["amount"].to_string().trim_matches('"'), "-7.25");
    assert_eq!(refund["currency"], "EUR");

    // Each bad record is in the export log with its field and value.
    let failed = ledgerlink(&["log", "--failed"], project.path(), &ledger, store);
    let failed = messages(&failed);
    let reason = |id: &str| {
        failed
            .iter()
            .find(|m| m.contains(&format!(":{id} ")))
            .cloned()
            .unwrap_or_else(|| panic!("no failure logged for {id}: {failed:#?}"))
    };
    assert!(
        reason("o-2").contains("ledger.Voucher: `text` is required but has no value"),
        "{failed:#?}"
    );
    assert!(
        reason("o-3").contains(r#"`amount` is "12,5x", not a number"#),
        "{failed:#?}"
    );
    assert!(
        reason("o-4").contains("the currency `XYZ` is not an ISO 4217 currency code"),
        "{failed:#?}"
    );
    assert_eq!(failed.len(), 3, "{failed:#?}");

    // Nothing is lost: once the shop's data is fixed, the next run delivers the record.
    let fixed = ORDERS.replace("12,5x", "12.50");
    std::fs::write(project.path().join("fixtures/orders.ndjson"), fixed).expect("fix data");
    let writes = ledger.writes();
    let report = ledgerlink(&["run", "--once"], project.path(), &ledger, store);
    assert_eq!(report["report"]["delivered"], 1, "{report:#}");
    assert_eq!(ledger.writes(), writes + 1, "only the fixed record is sent");
    // The two still bad are evaluated and reported again, not forgotten.
    assert_eq!(report["report"]["flows"][0]["failed"], 2, "{report:#}");
    let fixed = ledger
        .records("Voucher")
        .into_iter()
        .find(|v| v["reference"] == "crash:o-3")
        .expect("o-3 delivered after the fix");
    assert_eq!(fixed["amount"].to_string().trim_matches('"'), "12.50");
}
