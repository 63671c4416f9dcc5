//! `ledgerlink preflight` from the binary against fake Shopify and e-conomic servers seeded
//! with the webshop-economic example's records: every record the rules reference exists → exit
//! 0; an account or product deleted from the fake is reported missing with where the rules use
//! it → exit 1; unusable credentials fail the check. Only read calls are made.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{webshop, FakeServer, Fault, Match};

/// The example and its fakes; `leave_out(entity, id)` deletes one record from e-conomic.
fn seeded(leave_out: Option<(&str, Value)>) -> (tempfile::TempDir, FakeServer, FakeServer) {
    let (project, shop, acc) = webshop::seeded();
    // The warehouse collects pick orders from this folder; it exists before go-live.
    std::fs::create_dir_all(project.path().join("outbox/warehouse")).expect("outbox");
    if let Some((entity, id)) = leave_out {
        let id = id.as_str().map_or_else(|| id.to_string(), str::to_string);
        assert!(acc.remove(entity, &id), "no {entity} {id} to delete");
    }
    (project, shop, acc)
}

fn preflight(
    project: &Path,
    shop: &FakeServer,
    acc: &FakeServer,
    json: bool,
) -> (String, Option<i32>) {
    let mut command = webshop::command(shop, acc);
    command.arg("preflight");
    if json {
        command.args(["--format", "json"]);
    }
    let output = command.arg(project).output().expect("ledgerlink runs");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (out, output.status.code())
}

fn no_writes(shop: &FakeServer, acc: &FakeServer) {
    for fake in [shop, acc] {
        assert!(fake.requests().iter().all(|r| !r.is_write()));
        assert_eq!(fake.writes(), 0);
    }
}

#[test]
fn everything_the_rules_reference_exists() {
    let (project, shop, acc) = seeded(None);
    let (out, code) = preflight(project.path(), &shop, &acc, false);
    assert_eq!(code, Some(0), "{out}");
    for line in [
        "  ok       system acc: ",
        "  ok       system shop: ",
        "  ok       acc.Layout 19: exists",
        "  ok       acc.Account 7220: exists",
        "  ok       acc.Product FRAGT: exists",
    ] {
        assert!(out.contains(line), "no {line:?}:\n{out}");
    }
    // Shopify's webhooks cannot be listed: a step for a person, not a failure.
    assert!(
        out.contains("  manual   webhooks of shop: cannot verify automatically"),
        "{out}"
    );
    assert!(out.contains("set up: "), "{out}");
    assert!(out.contains("preflight: "), "{out}");
    no_writes(&shop, &acc);
}

#[test]
fn a_deleted_account_is_missing_with_where_the_rules_use_it() {
    let (project, shop, acc) = seeded(Some(("Account", Value::from(7220))));
    let (out, code) = preflight(project.path(), &shop, &acc, false);
    assert_eq!(code, Some(1), "{out}");
    let at = out
        .find("  MISSING  acc.Account 7220: no Account 7220 in acc\n")
        .unwrap_or_else(|| panic!("not reported missing:\n{out}"));
    let used = out[at..].lines().nth(1).unwrap_or_default();
    assert!(
        used.contains(
            "flow payouts: post acc.JournalVoucher, line field account = setting card_fee_account"
        ),
        "{used}\n{out}"
    );
    // Only that one is missing.
    assert_eq!(out.matches("MISSING").count(), 1, "{out}");
    no_writes(&shop, &acc);
}

#[test]
fn a_deleted_product_is_missing_and_json_says_where() {
    let (project, shop, acc) = seeded(Some(("Product", Value::from("FRAGT"))));
    let (out, code) = preflight(project.path(), &shop, &acc, true);
    assert_eq!(code, Some(1), "{out}");
    let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(json["ok"], false);
    let missing: Vec<&Value> = json["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["verdict"] == "missing")
        .collect();
    assert_eq!(missing.len(), 1, "{json:#}");
    assert_eq!(missing[0]["subject"], "acc.Product FRAGT");
    assert!(missing[0]["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|n| n
            .as_str()
            .is_some_and(|n| n.contains("line field product = setting shipping_product"))));
}

#[test]
fn refused_credentials_fail_the_preflight() {
    let (project, shop, acc) = seeded(None);
    acc.inject(Fault::Status {
        status: 401,
        times: 1000,
        retry_after: None,
        on: Match::any(),
    });
    let (out, code) = preflight(project.path(), &shop, &acc, false);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("  FAILED   system acc: "), "{out}");
    assert!(
        out.contains("  FAILED   acc.Layout 19: could not check: "),
        "{out}"
    );
    assert!(out.contains("  ok       system shop: "), "{out}");
}
