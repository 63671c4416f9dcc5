//! `ledgerlink preflight` from the binary against fake Shopify and e-conomic servers seeded
//! with the webshop-economic example's records: every record the rules reference exists → exit
//! 0; an account or product deleted from the fake is reported missing with where the rules use
//! it → exit 1; unusable credentials fail the check. Only read calls are made.

mod support;

use std::{path::Path, process::Command};

use serde_json::Value;
use support::{ledgerlink_bin, temp_project, FakeServer, Fault, Match};

fn fixtures(project: &Path, system: &str, entity: &str) -> Vec<Value> {
    let path = project
        .join("fixtures")
        .join(system)
        .join(format!("{entity}.json"));
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("fixture JSON")
}

/// The example and its fakes; `leave_out(entity, id field, value)` keeps one record out of
/// e-conomic, as if it had been deleted there.
fn seeded(leave_out: Option<(&str, &str, Value)>) -> (tempfile::TempDir, FakeServer, FakeServer) {
    let project = temp_project("webshop-economic");
    // The warehouse collects pick orders from this folder; it exists before go-live.
    std::fs::create_dir_all(project.path().join("outbox/warehouse")).expect("outbox");
    let shop = FakeServer::start("shopify");
    let acc = FakeServer::start("economic");
    for entity in ["Order", "Customer", "Product", "ProductVariant"] {
        shop.seed(entity, fixtures(project.path(), "shop", entity));
    }
    for entity in [
        "Customer",
        "Product",
        "Account",
        "Layout",
        "PaymentTerms",
        "ProductGroup",
        "VatZone",
        "CustomerGroup",
        "BookedInvoice",
    ] {
        let mut records = fixtures(project.path(), "acc", entity);
        if let Some((gone, field, value)) = &leave_out {
            if *gone == entity {
                let before = records.len();
                records.retain(|r| r[*field] != *value);
                assert_eq!(records.len() + 1, before, "no {gone} {value} to delete");
            }
        }
        acc.seed(entity, records);
    }
    (project, shop, acc)
}

fn preflight(
    project: &Path,
    shop: &FakeServer,
    acc: &FakeServer,
    json: bool,
) -> (String, Option<i32>) {
    let mut command = Command::new(ledgerlink_bin());
    command.arg("preflight");
    if json {
        command.args(["--format", "json"]);
    }
    let output = command
        .arg(project)
        .env("NO_COLOR", "1")
        .env("LEDGERLINK_ENDPOINT_SHOP", shop.url())
        .env("LEDGERLINK_ENDPOINT_ACC", acc.url())
        .env("SHOPIFY_ACCESS_TOKEN", "shpat_test_token")
        .env("ECONOMIC_APP_SECRET_TOKEN", "test-app-secret")
        .env("ECONOMIC_AGREEMENT_GRANT_TOKEN", "test-grant")
        .output()
        .expect("ledgerlink runs");
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
    let (project, shop, acc) = seeded(Some(("Account", "accountNumber", Value::from(7220))));
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
    let (project, shop, acc) = seeded(Some(("Product", "productNumber", Value::from("FRAGT"))));
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
