//! Crash safety from the binary: a run of 2 000 documents is killed with SIGKILL at random
//! moments, over and over, and restarted until it finishes. Whatever the moment — between
//! recording an intent and sending it, between the target writing a document and the ledger
//! recording it — the target ends with every document exactly once.

use std::{
    collections::HashMap,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

const DOCUMENTS: usize = 2_000;
const MIN_KILLS: usize = 20;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ledgerlink"))
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/projects/crash");
    std::fs::create_dir_all(dir.path().join("rules")).expect("rules dir");
    std::fs::create_dir_all(dir.path().join("fixtures")).expect("fixtures dir");
    std::fs::copy(
        source.join("ledgerlink.yaml"),
        dir.path().join("ledgerlink.yaml"),
    )
    .expect("project file");
    std::fs::copy(
        source.join("rules/orders.rules"),
        dir.path().join("rules/orders.rules"),
    )
    .expect("rules");
    let mut orders =
        std::fs::File::create(dir.path().join("fixtures/orders.ndjson")).expect("orders");
    for i in 0..DOCUMENTS {
        writeln!(orders, r#"{{"id": "o-{i:05}", "text": "order {i}"}}"#).expect("write order");
    }
    dir
}

/// Starts a run; returns whether it finished by itself (and succeeded) within `limit`.
fn run_until(project: &Path, sink: &Path, limit: Duration) -> bool {
    let mut child = Command::new(bin())
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
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ledgerlink starts");
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "a run failed on its own: {status}");
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
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

#[test]
fn killed_runs_lose_nothing_and_send_nothing_twice() {
    let project = project();
    let sink = tempfile::tempdir().expect("sink");
    let mut random = Sequence(20_261_123);
    let mut kills = 0;
    let mut finished = false;
    for _ in 0..200 {
        // Early kills land in listing and recording; later ones in delivery.
        let limit =
            Duration::from_millis(40 + random.next(if kills < MIN_KILLS { 900 } else { 4_000 }));
        if run_until(project.path(), sink.path(), limit) {
            if kills >= MIN_KILLS {
                finished = true;
                break;
            }
        } else {
            kills += 1;
        }
    }
    assert!(finished, "the run never finished after {kills} kills");
    assert!(kills >= MIN_KILLS, "only {kills} kills");
    // One more run: nothing is left to do.
    assert!(run_until(
        project.path(),
        sink.path(),
        Duration::from_secs(120)
    ));

    let folder = sink.path().join("acc/Sale");
    let mut per_reference: HashMap<String, Vec<String>> = HashMap::new();
    for entry in std::fs::read_dir(&folder).expect("sales written").flatten() {
        // Documents are `<id>.json`; hidden files are the sink's own temporary files.
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name.starts_with('.') {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).expect("read");
        let sale: Value = serde_json::from_str(&text).expect("complete JSON: writes are atomic");
        let reference = sale["reference"].as_str().expect("reference").to_string();
        per_reference
            .entry(reference)
            .or_default()
            .push(entry.file_name().to_string_lossy().into_owned());
    }
    let duplicates: Vec<_> = per_reference
        .iter()
        .filter(|(_, files)| files.len() > 1)
        .collect();
    if !duplicates.is_empty() {
        let log = Command::new(bin())
            .args(["log", "--limit", "100000", "--format", "json"])
            .arg(project.path())
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
        .filter(|r| !per_reference.contains_key(r))
        .collect();
    assert!(
        missing.is_empty(),
        "{} lost, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    println!("crash test: {kills} kills, {DOCUMENTS} documents, 0 duplicates, 0 lost");
}
