//! Record/replay from the binary: `ledgerlink run --record DIR` on the kitchen-quotes example
//! (quotes from files, documents to a sink) and `ledgerlink test` replaying the recording
//! against the project's rules: unchanged rules pass, a changed mapping or split fails with a
//! field-level diff (exit 1), `--update` accepts the change, a broken recording is an error
//! (exit 2), and no credential value ever reaches a recording.

mod support;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

use support::{ledgerlink_bin, temp_project};

fn ledgerlink(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(ledgerlink_bin());
    command.args(args).env("NO_COLOR", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("ledgerlink runs")
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs the project once with a sink, recording into `recording`.
fn record(project: &Path, recording: &Path, env: &[(&str, &str)]) {
    let sink = project.join("sink-out");
    let output = ledgerlink(
        &[
            "run",
            path(project),
            "--sink",
            path(&sink),
            "--today",
            "2026-03-10",
            "--record",
            path(recording),
        ],
        env,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// `ledgerlink test PROJECT --fixtures DIR [extra…]`.
fn test(project: &Path, fixtures: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["test", path(project), "--fixtures", path(fixtures)];
    args.extend_from_slice(extra);
    ledgerlink(&args, &[])
}

fn lines(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON line"))
        .collect()
}

fn json(file: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("JSON")
}

fn edit(file: &Path, from: &str, to: &str) {
    let content = std::fs::read_to_string(file).expect("read");
    assert!(content.contains(from), "{} has no `{from}`", file.display());
    std::fs::write(file, content.replacen(from, to, 1)).expect("write");
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn the_shipped_recording_of_the_example_passes() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kitchen-quotes");
    let output = ledgerlink(&["test", path(&example), "--format", "json"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    assert_eq!(report["passed"], 1);
    assert_eq!(report["recordings"][0]["status"], "passed");
    assert_eq!(report["recordings"][0]["records"], 5);
    assert_eq!(report["recordings"][0]["documents"], 24);
}

#[test]
fn a_recording_holds_the_run_and_replays_unchanged() {
    let project = temp_project("kitchen-quotes");
    let recording = project.path().join("tests/fresh");
    record(project.path(), &recording, &[]);

    let manifest = json(&recording.join("manifest.json"));
    assert_eq!(manifest["project"], "kitchen-quotes");
    assert_eq!(manifest["today"], "2026-03-10");
    assert_eq!(manifest["ledgerlink_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["flows"][0]["flow"], "accepted_quotes");
    assert_eq!(manifest["flows"][0]["source"], "winner.Quote");
    let quotes = lines(&recording.join("sources/winner.Quote.ndjson"));
    let ids: Vec<&str> = quotes.iter().filter_map(|l| l["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "T-2026-0147",
            "T-2026-0152",
            "T-2026-0160",
            "T-2026-0155",
            "T-2025-0930"
        ]
    );
    assert_eq!(quotes[0]["record"]["Total"], "104705.73");
    // What delivery answered: every document of the run, done, with the sink's id.
    let deliveries = lines(&recording.join("deliveries.ndjson"));
    assert_eq!(deliveries.len(), 24);
    assert_eq!(manifest["deliveries"]["count"], 24);
    assert!(deliveries
        .iter()
        .all(|d| d["status"] == "done" && d["target_id"].is_string()));
    let sales: Vec<&Value> = deliveries
        .iter()
        .filter(|d| d["target"] == "acc.Sale" && d["operation"] == "create")
        .collect();
    assert_eq!(sales.len(), 4);
    assert_eq!(
        sales[0]["response"]["reference"], "winner:T-2026-0147:1",
        "{:#}",
        sales[0]
    );

    // No golden file yet: a failure that says how to write one.
    let first = test(project.path(), &recording, &[]);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first));
    assert!(text(&first).contains("--update"), "{}", text(&first));

    let update = test(project.path(), &recording, &["--update"]);
    assert_eq!(update.status.code(), Some(0), "{}", text(&update));
    let expected = json(&recording.join("expected.json"));
    let records = &expected["flows"]["accepted_quotes"]["records"];
    assert_eq!(records["winner.Quote:T-2026-0147"]["outcome"], "documents");
    assert_eq!(
        records["winner.Quote:T-2026-0160"]["outcome"],
        "not_triggered"
    );
    assert_eq!(records["winner.Quote:T-2025-0930"]["outcome"], "skipped");
    assert!(records["winner.Quote:T-2025-0930"]["reason"]
        .as_str()
        .unwrap()
        .contains("before `since` 2026-01-01"));
    // The replay's document keys are the keys the run delivered.
    let mut replayed: Vec<String> = records
        .as_object()
        .unwrap()
        .values()
        .flat_map(|r| r["documents"].as_array().cloned().unwrap_or_default())
        .map(|d| d["key"].as_str().unwrap().to_string())
        .collect();
    let mut delivered: Vec<String> = deliveries
        .iter()
        .map(|d| d["key"].as_str().unwrap().to_string())
        .collect();
    replayed.sort();
    delivered.sort();
    assert_eq!(replayed, delivered);

    let again = test(project.path(), &recording, &[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(String::from_utf8_lossy(&again.stdout).contains("1 passed, 0 failed"));
}

#[test]
fn a_rule_change_fails_with_a_field_diff_until_updated() {
    let project = temp_project("kitchen-quotes");
    let recording = project.path().join("tests/fresh");
    record(project.path(), &recording, &[]);
    assert_eq!(
        test(project.path(), &recording, &["--update"])
            .status
            .code(),
        Some(0)
    );

    // The consultant changes a mapped field and the payment plan.
    edit(
        &project.path().join("rules/quotes.rules"),
        "    comment = \"Winner tilbud {winner.Quote.Number}\"",
        "    comment = upper(\"Winner tilbud {winner.Quote.Number}\")",
    );
    edit(
        &project.path().join("ledgerlink.yaml"),
        "{ share: 20%, label: Forskudd }, { share: 80%,",
        "{ share: 30%, label: Forskudd }, { share: 70%,",
    );

    let human = test(project.path(), &recording, &[]);
    assert_eq!(human.status.code(), Some(1), "{}", text(&human));
    let stdout = String::from_utf8_lossy(&human.stdout);
    assert!(stdout.contains("FAILED"), "{stdout}");
    assert!(
        stdout.contains("flow accepted_quotes record winner.Quote:T-2026-0152:"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "payload.comment: \"Winner tilbud T-2026-0152\" → \"WINNER TILBUD T-2026-0152\""
        ),
        "{stdout}"
    );
    // 10 000.01 split 20/80 → 30/70: the first order's first line goes from 1 100 to 1 650.
    assert!(
        stdout.contains("payload.lines[0].unit_price: 1100.0 → 1650.0"),
        "{stdout}"
    );

    let machine = test(project.path(), &recording, &["--format", "json"]);
    assert_eq!(machine.status.code(), Some(1), "{}", text(&machine));
    let report: Value = serde_json::from_slice(&machine.stdout).expect("JSON report");
    assert_eq!(report["failed"], 1);
    let differences = report["recordings"][0]["differences"]
        .as_array()
        .expect("differences");
    let changed: Vec<(&str, &str)> = differences
        .iter()
        .filter(|d| d["change"] == "document_changed")
        .flat_map(|d| {
            d["fields"].as_array().unwrap().iter().map(move |f| {
                (
                    d["document"]["target"].as_str().unwrap(),
                    f["path"].as_str().unwrap(),
                )
            })
        })
        .collect();
    assert!(
        changed.contains(&("acc.Project", "payload.comment")),
        "{changed:?}"
    );
    assert!(
        changed.contains(&("acc.Sale", "payload.lines[0].unit_price")),
        "{changed:?}"
    );
    // Only what the change touches differs: the customer cards are the same.
    assert!(
        !changed.iter().any(|(target, _)| *target == "acc.Party"),
        "{changed:?}"
    );

    let update = test(project.path(), &recording, &["--update"]);
    assert_eq!(update.status.code(), Some(0), "{}", text(&update));
    assert!(String::from_utf8_lossy(&update.stdout).contains("rewritten"));
    let pass = test(project.path(), &recording, &[]);
    assert_eq!(pass.status.code(), Some(0), "{}", text(&pass));
}

#[test]
fn recordings_hold_no_secret_values() {
    let project = temp_project("kitchen-quotes");
    let recording = project.path().join("tests/secret");
    // The password also occurs in a source record: it is redacted there too.
    let password = "Storgata 12";
    let user = "replay-user-7f3a";
    record(
        project.path(),
        &recording,
        &[("TRYTON_USER", user), ("TRYTON_PASSWORD", password)],
    );
    let mut redacted = false;
    for file in files(&recording) {
        let content = std::fs::read_to_string(&file).expect("read");
        assert!(
            !content.contains(password),
            "{} holds the password",
            file.display()
        );
        assert!(!content.contains(user), "{} holds the user", file.display());
        redacted |= content.contains("[redacted]");
    }
    assert!(
        redacted,
        "the source value equal to the password was not redacted"
    );
}

#[test]
fn a_broken_recording_is_an_error_naming_the_file() {
    let project = temp_project("kitchen-quotes");
    let recording = project.path().join("tests/accepted-quotes-2026-03");
    let quotes = recording.join("sources/winner.Quote.ndjson");
    let content = std::fs::read_to_string(&quotes).expect("read");
    std::fs::write(&quotes, format!("{content}{{not json\n")).expect("write");
    let output = ledgerlink(&["test", path(project.path())], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("winner.Quote.ndjson: line 6: not JSON"),
        "{stdout}"
    );

    std::fs::write(recording.join("manifest.json"), "{}").expect("write");
    let output = ledgerlink(&["test", path(project.path())], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("not a recording manifest"),
        "{}",
        text(&output)
    );

    let empty = tempfile::tempdir().expect("temp dir");
    let output = test(project.path(), empty.path(), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("no recordings"), "{}", text(&output));
}

/// Writes a hand-made recording of the duell example: its invoice bases as the source, the
/// accounting system's customers and products as the collections `find`/`exists` search, and
/// the last invoice basis with a snapshot equal to itself.
fn hand_made_recording(project: &Path, dir: &Path) {
    let fixture = |name: &str| -> Vec<Value> {
        serde_json::from_str(
            &std::fs::read_to_string(project.join("fixtures").join(name)).expect("fixture"),
        )
        .expect("fixture JSON")
    };
    let write = |file: &str, values: &[Value]| {
        let path = dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).expect("folder");
        let text: String = values.iter().map(|v| format!("{v}\n")).collect();
        std::fs::write(path, text).expect("write");
    };
    let bases = fixture("pos/InvoiceBasis.json");
    let lines: Vec<Value> = bases
        .iter()
        .map(|b| serde_json::json!({ "id": b["Id"], "record": b }))
        .collect();
    write("sources/pos.InvoiceBasis.ndjson", &lines);
    write("previous/pos.InvoiceBasis.ndjson", &lines[2..]);
    write(
        "collections/acc.Customer.ndjson",
        &fixture("acc/Customer.json"),
    );
    write(
        "collections/acc.Product.ndjson",
        &fixture("acc/Product.json"),
    );
    let manifest = serde_json::json!({
        "ledgerlink_recording": 1,
        "project": "duell-24sevenoffice",
        "today": "2026-03-10",
        "ledgerlink_version": "hand-made",
        "recorded_at": "2026-03-10T08:00:00Z",
        "sources": [{ "system": "pos", "entity": "InvoiceBasis", "file": "sources/pos.InvoiceBasis.ndjson", "records": 3, "previous": "previous/pos.InvoiceBasis.ndjson" }],
        "collections": [
            { "system": "acc", "entity": "Customer", "file": "collections/acc.Customer.ndjson", "records": 3 },
            { "system": "acc", "entity": "Product", "file": "collections/acc.Product.ndjson", "records": 3 }
        ]
    });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).expect("manifest");
}

#[test]
fn lookups_and_snapshots_replay_from_the_recording() {
    let project = temp_project("duell-24sevenoffice");
    let recording = project.path().join("tests/hand-made");
    hand_made_recording(project.path(), &recording);
    let update = test(project.path(), &recording, &["--update"]);
    assert_eq!(update.status.code(), Some(0), "{}", text(&update));
    let expected = json(&recording.join("expected.json"));
    let flows = &expected["flows"];
    // The flow whose source is not in the recording says so instead of passing silently.
    assert_eq!(
        flows["z_reports"]["unreadable"],
        "pos.ZReport is not in the recording"
    );
    let records = flows["invoice_basis"]["records"]
        .as_object()
        .expect("records");
    assert_eq!(
        records["pos.InvoiceBasis:IB-2-30425"]["outcome"],
        "unchanged"
    );
    // `exists acc.Product where No == "GIFTCARD"` searched the recorded products.
    assert_eq!(
        records["pos.InvoiceBasis:IB-2-30422"]["reason"],
        "Create product GIFTCARD in 24SevenOffice before invoicing gift cards"
    );
    let written: Vec<(&String, &Value)> = records
        .iter()
        .filter(|(_, r)| r["outcome"] == "documents")
        .collect();
    assert!(!written.is_empty(), "{expected:#}");
    // `find acc.Customer` found the customer in the recorded collection: its id is sent.
    let (source, record) = written[0];
    let order = &record["documents"][0];
    assert_eq!(order["target"], "acc.InvoiceOrder", "{order:#}");
    assert!(order["payload"]["CustomerId"].is_object(), "{order:#}");

    // The customer is no longer in the accounting system's records: the order is held back.
    let customers = recording.join("collections/acc.Customer.ndjson");
    let id = order["payload"]["CustomerId"]["ExternalId"]
        .as_str()
        .expect("customer number")
        .to_string();
    let kept: String = std::fs::read_to_string(&customers)
        .expect("read")
        .lines()
        .filter(|l| !l.contains(&format!("\"ExternalId\":\"{id}\"")))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&customers, kept).expect("write");
    // … and the gift card product now exists there.
    let products = recording.join("collections/acc.Product.ndjson");
    let mut catalogue = std::fs::read_to_string(&products).expect("read");
    catalogue.push_str("{\"Id\": 5999, \"No\": \"GIFTCARD\", \"Name\": \"Gavekort\"}\n");
    std::fs::write(&products, catalogue).expect("write");
    let output = test(project.path(), &recording, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(&format!("record {source}:")), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "outcome: documents (1) → skipped: customer {id} of sale"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "outcome: skipped: Create product GIFTCARD in 24SevenOffice before invoicing gift cards → "
        ),
        "{stdout}"
    );
}
