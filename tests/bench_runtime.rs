//! Runtime benchmarks of the release `ledgerlink` binary, run by `scripts/bench`:
//! `cargo test --release --test bench_runtime -- --ignored --nocapture`. They are ignored in a
//! normal `cargo test` (compiled, not run). Each prints one line `bench <name> key=value …`.
//!
//! - `writes_per_second`: a project whose flow creates one document per source record delivers
//!   to the fake server of tests/support limited to N requests/s, with the profile's own rate
//!   limit set to N (`BENCH_RATE`, default 50) and its `burst` to N (`BENCH_BURST` overrides):
//!   delivered writes per second over the delivery phase (from the fake's request log: creates
//!   in the whole seconds from the first one) against N, the 429 answers, the busiest sliding second the fake saw, and writes per
//!   second over the whole run (process start, reading the source and recording intents
//!   included).
//! - `peak_rss`: the same flow reads its records from a paged API (1 000 per page) and writes
//!   one document each to the same API; the binary's peak RSS (VmHWM, polled) for 100 000 and
//!   for 1 000 000 records. The API here is a small server of this file that makes records up
//!   from their number: the fake of tests/support keeps every record and re-reads them all for
//!   every page and every create, which is right for correctness tests and too slow for a
//!   million.

mod support;

use std::{
    path::Path,
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use axum::{
    extract::{Query, State},
    routing::get,
    Json, Router,
};
use ledgerlink::connector::Profile;
use serde_json::{json, Value};
use support::FakeServer;

fn project(rate: u32, concurrency: u32) -> tempfile::TempDir {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/projects/bench-runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    for sub in ["rules", "connectors"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("folder");
    }
    for file in ["ledgerlink.yaml", "rules/docs.rules"] {
        std::fs::copy(source.join(file), dir.path().join(file)).expect("copy");
    }
    let profile = std::fs::read_to_string(source.join("connectors/benchapi.yaml"))
        .expect("profile")
        .replace("RATE", &rate.to_string())
        .replace("CONCURRENCY", &concurrency.to_string());
    std::fs::write(dir.path().join("connectors/benchapi.yaml"), profile).expect("profile");
    dir
}

fn profile_of(dir: &Path) -> Profile {
    let text = std::fs::read_to_string(dir.join("connectors/benchapi.yaml")).expect("profile");
    serde_yaml_ng::from_str(&text).expect("profile parses")
}

/// Runs `ledgerlink run --once` on the project against `url`; returns the wall time and the
/// peak resident set size in bytes (VmHWM, polled until the process ends).
fn run_binary(dir: &Path, url: &str) -> (Duration, u64) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ledgerlink"))
        .args(["run", "--once", "--format", "json"])
        .arg(dir)
        .env("LEDGERLINK_ENDPOINT_API", url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ledgerlink starts");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kb) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb * 1024);
            }
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    if !status.success() {
        let mut err = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            use std::io::Read;
            let _ = stderr.read_to_string(&mut err);
        }
        panic!("ledgerlink run failed ({status}): {err}");
    }
    (elapsed, peak)
}

fn rate_under_test() -> u32 {
    std::env::var("BENCH_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50)
}

/// The profile's `rate_limit.burst` for `writes_per_second`: `BENCH_BURST`, else N, which is
/// how docs/connectors.md has a server that counts N per sliding second declared.
fn burst_under_test(rate: u32) -> u32 {
    std::env::var("BENCH_BURST")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(rate)
}

/// The largest number of `times` (sorted) within any half-open span of one second.
fn most_in_a_second(times: &[Instant]) -> usize {
    let mut most = 0;
    let mut first = 0;
    for (i, t) in times.iter().enumerate() {
        while t.duration_since(times[first]) >= Duration::from_secs(1) {
            first += 1;
        }
        most = most.max(i - first + 1);
    }
    most
}

#[test]
#[ignore = "benchmark: scripts/bench runs it"]
fn writes_per_second() {
    let rate = rate_under_test();
    let records = (rate as usize * 10).max(100);
    let dir = project(rate, 4);
    let burst = burst_under_test(rate);
    let file = dir.path().join("connectors/benchapi.yaml");
    let text = std::fs::read_to_string(&file).expect("profile").replace(
        "  concurrency:",
        &format!("  burst: {burst}\n  concurrency:"),
    );
    std::fs::write(&file, text).expect("profile");
    let mut source = String::new();
    for i in 0..records {
        source.push_str(&format!("{{\"id\": \"r{i:06}\"}}\n"));
    }
    std::fs::write(dir.path().join("source.ndjson"), source).expect("source");
    let fake = FakeServer::from_profile(profile_of(dir.path()));
    fake.set_rate_limit(rate);
    let (elapsed, _) = run_binary(dir.path(), &fake.url());
    let requests = fake.requests();
    let creates: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.status == 201)
        .collect();
    let limited = requests.iter().filter(|r| r.status == 429).count();
    assert_eq!(creates.len(), records, "every record delivered once");
    assert_eq!(fake.records("Doc").len(), records);
    // The delivery phase as the fake saw it, from the first create (process start, reading the
    // source and recording the intents come before; `whole_run_writes_per_s` includes them).
    // Writes/s counts the creates of the first k whole seconds over k: a client that bursts can
    // put N creates at the very end of the span, so (creates - 1) / (last - first), printed as
    // `first_to_last_per_s`, can exceed N without any second holding more than N.
    let first = creates[0].at;
    let span = creates
        .last()
        .expect("creates")
        .at
        .duration_since(first)
        .as_secs_f64();
    let whole = span.floor().max(1.0);
    let in_whole = creates
        .iter()
        .filter(|r| r.at.duration_since(first).as_secs_f64() < whole)
        .count();
    let per_second = in_whole as f64 / whole;
    let first_to_last = (creates.len() - 1) as f64 / span;
    // Every request the fake counted (429s are not), busiest sliding second.
    let mut counted: Vec<Instant> = requests
        .iter()
        .filter(|r| r.status != 429)
        .map(|r| r.at)
        .collect();
    counted.sort();
    println!(
        "bench writes_per_second limit={rate} burst={burst} records={records} \
         writes_per_s={per_second:.1} share={:.1}% http_429={limited} requests={} \
         busiest_second={} delivery_s={span:.2} first_to_last_per_s={first_to_last:.1} \
         run_s={:.1} whole_run_writes_per_s={:.1}",
        per_second / f64::from(rate) * 100.0,
        requests.len(),
        most_in_a_second(&counted),
        elapsed.as_secs_f64(),
        records as f64 / elapsed.as_secs_f64()
    );
}

/// A paged API that makes up `total` items from their numbers and accepts documents.
#[derive(Clone)]
struct Api {
    total: u64,
    created: Arc<AtomicU64>,
}

async fn items(
    State(api): State<Api>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Json<Value> {
    let page: u64 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let size: u64 = q.get("size").and_then(|p| p.parse().ok()).unwrap_or(100);
    let from = (page.max(1) - 1) * size;
    let to = (from + size).min(api.total);
    Json(Value::Array(
        (from..to)
            .map(|i| {
                json!({
                    "id": i + 1,
                    "name": format!("Item {} with a name of some length", i + 1),
                    "amount": format!("{}.{:02}", i % 10_000, i % 100),
                })
            })
            .collect(),
    ))
}

async fn create(State(api): State<Api>, Json(body): Json<Value>) -> Json<Value> {
    let id = api.created.fetch_add(1, Ordering::Relaxed) + 1;
    let mut record = body;
    record["id"] = json!(id);
    Json(record)
}

fn start_api(total: u64) -> (String, Api, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let api = Api {
        total,
        created: Arc::new(AtomicU64::new(0)),
    };
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let router = Router::new()
        .route("/items", get(items))
        .route("/docs", get(|| async { Json(json!([])) }).post(create))
        .with_state(api.clone());
    runtime.spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, api, runtime)
}

fn rss_run(records: u64) {
    // No rate limit worth the name: this measures memory, not pacing.
    let dir = project(1_000_000, 8);
    std::fs::write(
        dir.path().join("rules/docs.rules"),
        "# One document per item of the paged API.\nflow docs {\n  on api.Item\n  create api.Doc {\n    reference = \"bench:{api.Item.id}\"\n  }\n}\n",
    )
    .expect("rules");
    let (url, api, _runtime) = start_api(records);
    let (elapsed, peak) = run_binary(dir.path(), &url);
    let created = api.created.load(Ordering::Relaxed);
    assert_eq!(created, records, "every record delivered once");
    println!(
        "bench peak_rss records={records} run_s={:.1} records_per_s={:.0} peak_rss_mb={:.1}",
        elapsed.as_secs_f64(),
        records as f64 / elapsed.as_secs_f64(),
        peak as f64 / 1_048_576.0
    );
}

#[test]
#[ignore = "benchmark: scripts/bench runs it"]
fn peak_rss() {
    let largest: u64 = std::env::var("BENCH_RECORDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000_000);
    for records in [largest / 10, largest] {
        rss_run(records);
    }
}
