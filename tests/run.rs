//! End to end from the binary: `ledgerlink run` on the kitchen-quotes example, reading the
//! quotes from the example's files, keeping state in SQLite (and PostgreSQL, with
//! `LEDGERLINK_TEST_POSTGRES`) and writing the documents to a local sink folder. Asserts the
//! documents field by field, that a second run writes nothing, and that a new source record
//! produces only its own documents.

mod support;

use std::{path::Path, process::Command};

use serde_json::Value;
use support::{ledgerlink_bin, state_stores, temp_project, StateStore};

/// Runs `ledgerlink run` with a sink and returns the JSON report.
fn run(project: &Path, sink: &Path, store: &StateStore) -> Value {
    let mut command = Command::new(ledgerlink_bin());
    store.apply(&mut command);
    let output = command
        .args([
            "run",
            "--once",
            "--format",
            "json",
            "--today",
            "2026-03-10",
            "--sink",
        ])
        .arg(sink)
        .arg(project)
        .output()
        .expect("ledgerlink runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "run failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// The documents the sink holds for `system/Entity`, sorted by id.
fn documents(sink: &Path, system: &str, entity: &str) -> Vec<Value> {
    let dir = sink.join(system).join(entity);
    let mut docs: Vec<Value> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .map(|e| {
                    serde_json::from_str(&std::fs::read_to_string(e.path()).expect("read doc"))
                        .expect("doc is JSON")
                })
                .collect()
        })
        .unwrap_or_default();
    docs.sort_by_key(|d| d.get("id").and_then(Value::as_i64).unwrap_or_default());
    docs
}

fn flow_count(report: &Value, field: &str) -> i64 {
    report["report"]["flows"][0][field].as_i64().unwrap_or(-1)
}

#[test]
fn kitchen_quotes_run_end_to_end_into_a_sink() {
    for store in state_stores() {
        kitchen_quotes_on(&store);
    }
}

fn kitchen_quotes_on(store: &StateStore) {
    eprintln!("state store: {}", store.backend);
    let project = temp_project("kitchen-quotes");
    let sink = tempfile::tempdir().expect("sink");
    let report = run(project.path(), sink.path(), store);

    // Five quotes: two accepted and converted, one older than `since`, two not ready.
    assert_eq!(flow_count(&report, "records"), 5, "{report:#}");
    assert_eq!(flow_count(&report, "triggered"), 3, "{report:#}");
    assert_eq!(flow_count(&report, "skipped"), 1, "{report:#}");
    assert_eq!(report["report"]["failed"], 0, "{report:#}");
    assert_eq!(report["report"]["pending"], 0, "{report:#}");

    // One party per customer, keyed by the Winner customer number.
    let parties = documents(sink.path(), "acc", "Party");
    let codes: Vec<&str> = parties.iter().filter_map(|p| p["code"].as_str()).collect();
    assert_eq!(parties.len(), 2, "{parties:#?}");
    assert!(codes.contains(&"K-10442"), "{codes:?}");

    // One project per quote, linked to its party.
    let projects = documents(sink.path(), "acc", "Project");
    assert_eq!(projects.len(), 2, "{projects:#?}");
    for project in &projects {
        let party = project["party"].as_i64().expect("project has a party id");
        assert!(
            parties.iter().any(|p| p["id"].as_i64() == Some(party)),
            "project {project} links no party"
        );
    }

    // One sale per payment-plan part, each with its external reference and party.
    let sales = documents(sink.path(), "acc", "Sale");
    let mut references: Vec<&str> = sales
        .iter()
        .filter_map(|s| s["reference"].as_str())
        .collect();
    references.sort_unstable();
    assert_eq!(
        references,
        [
            "winner:T-2026-0147:1",
            "winner:T-2026-0147:2",
            "winner:T-2026-0152:1",
            "winner:T-2026-0152:2"
        ]
    );
    for sale in &sales {
        assert!(
            sale["party"].as_i64().is_some(),
            "sale without party: {sale}"
        );
        let lines = sale["lines"].as_array().expect("grouped lines");
        assert!(!lines.is_empty(), "sale without lines: {sale}");
        assert!(
            lines
                .iter()
                .all(|l| l["quantity"] == 1 && l["type"] == "line"),
            "{lines:#?}"
        );
    }
    // The 0152 quote has three product groups; each of its sales has one line per group.
    let small: Vec<&Value> = sales
        .iter()
        .filter(|s| s["reference"].as_str().is_some_and(|r| r.contains("0152")))
        .collect();
    assert!(
        small
            .iter()
            .all(|s| s["lines"].as_array().map(Vec::len) == Some(3)),
        "{small:#?}"
    );

    // Product groups are ensured once each, whichever part and quote needed them first.
    let templates = documents(sink.path(), "acc", "ProductTemplate");
    let mut groups: Vec<&str> = templates
        .iter()
        .filter_map(|t| t["code"].as_str())
        .collect();
    groups.sort_unstable();
    assert_eq!(groups, ["BENK", "HVIT", "MONT", "RAB", "SKAP"]);

    // A second run with no source change writes nothing.
    let again = run(project.path(), sink.path(), store);
    assert_eq!(flow_count(&again, "changed"), 0, "{again:#}");
    assert_eq!(again["report"]["delivered"], 0, "{again:#}");
    assert_eq!(documents(sink.path(), "acc", "Sale").len(), 4);

    // A quote that becomes converted is picked up alone.
    let quotes_path = project.path().join("fixtures/winner/Quote.json");
    let mut quotes: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&quotes_path).expect("quotes"))
            .expect("JSON");
    let waiting = quotes
        .iter_mut()
        .find(|q| q["Number"] == "T-2026-0155")
        .expect("the waiting quote");
    waiting["ConvertedToOrder"] = Value::Bool(true);
    std::fs::write(
        &quotes_path,
        serde_json::to_string_pretty(&quotes).expect("JSON"),
    )
    .expect("write quotes");
    let third = run(project.path(), sink.path(), store);
    assert_eq!(flow_count(&third, "changed"), 1, "{third:#}");
    assert_eq!(flow_count(&third, "triggered"), 1, "{third:#}");
    assert_eq!(documents(sink.path(), "acc", "Sale").len(), 6);
    assert_eq!(
        documents(sink.path(), "acc", "ProductTemplate").len(),
        5,
        "BENK already exists"
    );
}

#[test]
fn a_dry_run_writes_nothing() {
    let project = temp_project("kitchen-quotes");
    let sink = tempfile::tempdir().expect("sink");
    let output = Command::new(ledgerlink_bin())
        .args(["run", "--dry-run", "--today", "2026-03-10", "--sink"])
        .arg(sink.path())
        .arg(project.path())
        .output()
        .expect("ledgerlink runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("would create acc.Sale"), "{stdout}");
    assert!(
        stdout.contains("reference = \"winner:T-2026-0152:2\""),
        "{stdout}"
    );
    assert!(
        !project.path().join("state.db").exists(),
        "a dry run created the state store"
    );
    assert_eq!(
        std::fs::read_dir(sink.path()).expect("sink").count(),
        0,
        "a dry run wrote documents"
    );
}
