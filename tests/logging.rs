//! Diagnostic logs from the binary: `-vv` shows every API call and its answer on stderr, and
//! a credential never appears anywhere ledgerlink writes — not in the logs, not in the export
//! log — even when the data itself carries it (here: a record whose amount is the token, which
//! makes the record fail with its value in the reason).

mod support;

use std::process::Command;

use support::{fake_of, ledgerlink_bin, test_project};

const TOKEN: &str = "tok-4711-very-secret";

fn project() -> tempfile::TempDir {
    let dir = test_project("crash-api");
    std::fs::create_dir_all(dir.path().join("fixtures")).expect("fixtures folder");
    let orders = format!(
        "{{\"id\": \"o-1\", \"text\": \"order 1\", \"amount\": \"10.00\", \"currency\": \"DKK\"}}\n\
         {{\"id\": \"o-2\", \"text\": \"order 2\", \"amount\": \"{TOKEN}\", \"currency\": \"DKK\"}}\n"
    );
    std::fs::write(dir.path().join("fixtures/orders.ndjson"), orders).expect("orders");
    dir
}

#[test]
fn verbose_logs_show_the_calls_and_never_a_secret() {
    let project = project();
    let ledger = fake_of(project.path(), "ledger.yaml");
    let ledgerlink = |args: &[&str]| {
        Command::new(ledgerlink_bin())
            .args(args)
            .arg(project.path())
            .env("LEDGERLINK_ENDPOINT_LEDGER", ledger.url())
            .env("CRASH_LEDGER_TOKEN", TOKEN)
            .env_remove("LEDGERLINK_LOG")
            .output()
            .expect("ledgerlink runs")
    };

    let run = ledgerlink(&["run", "--once", "-vv"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let stdout = String::from_utf8_lossy(&run.stdout);
    // The calls are logged with their answers.
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("POST http") && l.contains("/vouchers status=201")),
        "{stderr}"
    );
    // The server saw the token, so it was really used.
    assert!(ledger
        .requests()
        .iter()
        .any(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}"))));
    let log = ledgerlink(&["log", "--format", "json"]);
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(
        log.contains(r#"`amount` is \"[redacted]\", not a number"#),
        "the bad record is reported, its secret value scrubbed: {log}"
    );
    for (what, text) in [
        ("stderr", &*stderr),
        ("stdout", &*stdout),
        ("export log", &*log),
    ] {
        assert!(!text.contains(TOKEN), "the token is in the {what}: {text}");
    }

    // Without -v, no debug lines.
    let quiet = ledgerlink(&["run", "--once"]);
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(!stderr.contains("answer"), "{stderr}");
}
