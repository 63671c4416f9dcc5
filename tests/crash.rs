//! Crash safety from the binary: a run of 2 000 documents is killed with SIGKILL at random
//! moments, over and over, and restarted until it finishes. Whatever the moment — between
//! recording an intent and sending it, between the target writing a document and the ledger
//! recording it — the target ends with every document exactly once.
//!
//! Two targets: a fake bookkeeping API (tests/support) that, besides the kills, commits every
//! seventh create and drops its answer, and has no idempotency key, so only the lookup by
//! reference after an attempted create keeps a document from being sent twice; and the local
//! sink, whose writes must be atomic files.

mod support;

use std::{
    collections::HashMap,
    io::Write,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;
use support::{fake_of, ledgerlink_bin, state_stores, test_project, Fault, Match, StateStore};

const DOCUMENTS: usize = 2_000;
const MIN_KILLS: usize = 20;
/// At most this many documents reach the target in a run that is then killed: 20 kills stay
/// well inside the 2 000 documents (at most 1 600 of them, about 800 on average).
const MAX_PER_KILLED_RUN: u64 = 80;

/// A copy of `tests/projects/<name>` with `DOCUMENTS` orders as its source.
fn project(name: &str) -> tempfile::TempDir {
    let dir = test_project(name);
    std::fs::create_dir_all(dir.path().join("fixtures")).expect("fixtures folder");
    let mut orders =
        std::fs::File::create(dir.path().join("fixtures/orders.ndjson")).expect("orders");
    for i in 0..DOCUMENTS {
        writeln!(
            orders,
            r#"{{"id": "o-{i:05}", "text": "order {i}", "amount": "{}.{:02}", "currency": "DKK"}}"#,
            100 + i,
            i % 100
        )
        .expect("write order");
    }
    dir
}

/// Starts a run; returns whether it finished by itself (and succeeded) before `limit` passed
/// and before `enough` said so.
fn run_until(command: &mut Command, limit: Duration, enough: &dyn Fn() -> bool) -> bool {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ledgerlink starts");
    let started = Instant::now();
    while started.elapsed() < limit && !enough() {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "a run failed on its own: {status}");
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // SIGKILL: no destructors, no flushing, exactly like a crash.
    child.kill().expect("kill");
    let _ = child.wait();
    false
}

/// A small deterministic random sequence, so a failure can be replayed.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// Kills runs made by `command` until `MIN_KILLS` kills happened, then lets one run finish
/// and one more, which must find nothing to do. Returns the number of kills and how many of
/// them landed in delivery (after the killed run had delivered something).
///
/// Each run is killed after a random time (early kills land in listing and recording) or once
/// the target holds a random few more documents, whichever comes first: `delivered` counts
/// them. Bounding each killed run's progress keeps the kills inside the work on a machine of
/// any speed, instead of hoping a time limit is short enough.
fn kill_until_done(
    command: &dyn Fn() -> Command,
    delivered: &dyn Fn() -> usize,
    seed: u64,
    spread_ms: u64,
) -> (usize, usize) {
    let mut random = Sequence(seed);
    let mut kills = 0;
    let mut in_delivery = 0;
    while kills < MIN_KILLS {
        let limit = Duration::from_millis(20 + random.next(spread_ms));
        let before = delivered();
        let more = 1 + random.next(MAX_PER_KILLED_RUN) as usize;
        let killed = !run_until(&mut command(), limit, &|| delivered() >= before + more);
        assert!(
            killed,
            "the work ran out after {kills} kills: a killed run must deliver at most {MAX_PER_KILLED_RUN} documents"
        );
        kills += 1;
        if delivered() > before {
            in_delivery += 1;
        }
    }
    let never = || false;
    assert!(
        run_until(&mut command(), Duration::from_secs(300), &never),
        "the run after the kills finishes"
    );
    assert!(
        run_until(&mut command(), Duration::from_secs(120), &never),
        "the last run finishes"
    );
    (kills, in_delivery)
}

/// Asserts that `references` holds every document exactly once; on duplicates, prints the
/// export log lines of their source records to show how they came about.
fn assert_each_once(references: &[String], project: &Path, store: &StateStore) {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for reference in references {
        *count.entry(reference.as_str()).or_default() += 1;
    }
    let duplicates: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    if !duplicates.is_empty() {
        let mut log = Command::new(ledgerlink_bin());
        store.apply(&mut log);
        let log = log
            .args(["log", "--limit", "100000", "--format", "json"])
            .arg(project)
            .output()
            .expect("log");
        let log = String::from_utf8_lossy(&log.stdout);
        for (reference, _) in &duplicates {
            let source = reference.trim_start_matches("crash:");
            for line in log.lines().filter(|l| l.contains(source)) {
                eprintln!("{line}");
            }
        }
    }
    assert!(duplicates.is_empty(), "sent twice: {duplicates:?}");
    let missing: Vec<String> = (0..DOCUMENTS)
        .map(|i| format!("crash:o-{i:05}"))
        .filter(|r| !count.contains_key(r.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
}

fn run_command(project: &Path) -> Command {
    let mut command = Command::new(ledgerlink_bin());
    command.args(["run", "--once", "--format", "json", "--today", "2026-03-10"]);
    command.arg(project);
    command
}

#[test]
fn killed_runs_against_an_api_that_drops_answers_lose_nothing_and_send_nothing_twice() {
    for store in state_stores() {
        killed_runs_against_an_api_on(&store);
    }
}

fn killed_runs_against_an_api_on(store: &StateStore) {
    let project = project("crash-api");
    let ledger = fake_of(project.path(), "ledger.yaml");
    ledger.set_page_size(500);
    ledger.inject(Fault::CommitThenDropEvery {
        nth: 7,
        on: Match::on("POST", "Voucher"),
    });
    let command = || {
        let mut command = run_command(project.path());
        store.apply(&mut command);
        command
            .env("LEDGERLINK_ENDPOINT_LEDGER", ledger.url())
            .env("CRASH_LEDGER_TOKEN", "test-token");
        command
    };
    let (kills, in_delivery) = kill_until_done(&command, &|| ledger.writes(), 20_261_124, 1_500);

    let vouchers = ledger.records("Voucher");
    let references: Vec<String> = vouchers
        .iter()
        .map(|v| v["reference"].as_str().expect("reference").to_string())
        .collect();
    assert_each_once(&references, project.path(), store);
    // Field by field for one of them: the amount went through exactly.
    let last = vouchers
        .iter()
        .find(|v| v["reference"] == "crash:o-01999")
        .expect("the last order's voucher");
    assert_eq!(last["text"], "order 1999");
    assert_eq!(last["amount"].to_string().trim_matches('"'), "2099.99");
    assert_eq!(last["currency"], "DKK");
    let dropped = ledger
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.dropped)
        .count();
    assert!(dropped > 0, "some answers were dropped");
    println!(
        "crash test (API, {} state): {kills} kills ({in_delivery} in delivery), {dropped} dropped answers, {DOCUMENTS} documents, 0 duplicates, 0 lost",
        store.backend
    );
}

#[test]
fn killed_runs_into_the_sink_lose_nothing_and_send_nothing_twice() {
    let project = project("crash");
    let sink = tempfile::tempdir().expect("sink");
    let command = || {
        let mut command = run_command(project.path());
        command.arg("--sink").arg(sink.path());
        command
    };
    let folder = sink.path().join("acc/Sale");
    let written = || {
        std::fs::read_dir(&folder)
            .map(|entries| entries.count())
            .unwrap_or(0)
    };
    let (kills, in_delivery) = kill_until_done(&command, &written, 20_261_123, 1_000);

    let mut references = Vec::new();
    for entry in std::fs::read_dir(&folder).expect("sales written").flatten() {
        // Documents are `<id>.json`; hidden files are the sink's own temporary files.
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name.starts_with('.') {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).expect("read");
        let sale: Value = serde_json::from_str(&text).expect("complete JSON: writes are atomic");
        references.push(sale["reference"].as_str().expect("reference").to_string());
    }
    assert_each_once(&references, project.path(), &StateStore::project_own());
    println!("crash test (sink): {kills} kills ({in_delivery} in delivery), {DOCUMENTS} documents, 0 duplicates, 0 lost");
}
