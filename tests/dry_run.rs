//! `run --dry-run` from the binary against stateful fake servers: the plan diff names exactly
//! the fields that differ in the target (before → after), lists new documents field by field
//! and the records held back with their reasons, says when a target could not be checked, and
//! the fakes see no write at all.

mod support;

use std::path::Path;

use serde_json::Value;
use support::{
    webshop::{self, seeded},
    FakeServer, Fault, Match,
};

/// `ledgerlink run --dry-run` with the fakes' addresses and test credentials.
fn dry_run(project: &Path, shop: &FakeServer, acc: &FakeServer, json: bool) -> (String, i32) {
    let mut command = webshop::command(shop, acc);
    command.args(["run", "--dry-run", "--today", "2026-03-20"]);
    if json {
        command.args(["--format", "json"]);
    }
    let output = command.arg(project).output().expect("ledgerlink runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code().unwrap_or(-1);
    assert!(code == 0 || code == 1, "exit {code}: {stdout}\n{stderr}");
    (stdout, code)
}

fn writes_of(preview: &Value) -> Vec<Value> {
    preview["dry_run"]["writes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The fakes saw reads only.
fn assert_no_writes(shop: &FakeServer, acc: &FakeServer) {
    for (name, fake) in [("shop", shop), ("acc", acc)] {
        let writes: Vec<String> = fake
            .requests()
            .iter()
            .filter(|r| r.is_write())
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert!(writes.is_empty(), "{name} saw writes: {writes:?}");
        assert_eq!(fake.writes(), 0, "{name} changed");
        assert!(!fake.requests().is_empty(), "{name} was never asked");
    }
}

#[test]
fn an_order_that_differs_in_one_field_shows_exactly_that_field_and_nothing_is_written() {
    let (project, shop, acc) = seeded();

    // The shipment confirmation of #1041 would write its tag and tracking note to the order.
    let (stdout, _) = dry_run(project.path(), &shop, &acc, true);
    let preview: Value = serde_json::from_str(&stdout).expect("JSON");
    let order_update = writes_of(&preview)
        .into_iter()
        .find(|w| w["target"] == "shop.Order")
        .unwrap_or_else(|| panic!("no write to shop.Order: {preview:#}"));
    assert_eq!(order_update["action"], "update", "{order_update:#}");
    let paths: Vec<&str> = order_update["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["path"].as_str())
        .collect();
    assert_eq!(paths, ["tags", "note"], "{order_update:#}");
    let tags_after = order_update["changes"][0]["after"].to_string();
    let note = order_update["changes"][1]["after"].clone();

    // Someone already typed the same note into Shopify: only the tag still differs.
    let order = shop
        .records("Order")
        .into_iter()
        .find(|o| o["name"] == "#1041")
        .expect("order #1041");
    assert!(shop.modify("Order", &order["id"], serde_json::json!({ "note": note })));
    let before_tags = order["tags"].to_string();

    let (human, _) = dry_run(project.path(), &shop, &acc, false);
    let section = human
        .split("\nflow ")
        .find(|s| s.starts_with("shipped_to_shop"))
        .unwrap_or_else(|| panic!("no shipped_to_shop section:\n{human}"));
    let update = section
        .lines()
        .position(|l| l.starts_with("  would update shop.Order 5830117001"))
        .unwrap_or_else(|| panic!("no update of order 5830117001:\n{section}"));
    let lines: Vec<&str> = section.lines().collect();
    assert!(
        lines[update].contains("1 field differs"),
        "{}",
        lines[update]
    );
    assert_eq!(
        lines[update + 1],
        format!("      tags: {before_tags} → {tags_after}"),
        "{section}"
    );
    assert!(
        !lines
            .get(update + 2)
            .is_some_and(|l| l.starts_with("      ")),
        "more than one field listed:\n{section}"
    );
    assert!(!human.contains("\x1b["), "NO_COLOR is set: {human}");

    // The unknown shipment is held back with its reason.
    assert!(
        section.contains(
            "skipped warehouse.Shipment:SHP-88121: shipment SHP-88121: no shop order #0999"
        ),
        "{section}"
    );
    assert_no_writes(&shop, &acc);
    assert!(
        !project.path().join("state.db").exists(),
        "a dry run created the state store"
    );
}

#[test]
fn new_documents_are_listed_field_by_field_and_held_back_orders_with_their_reasons() {
    let (project, shop, acc) = seeded();
    let (human, _) = dry_run(project.path(), &shop, &acc, false);
    let orders = human
        .split("\nflow ")
        .find(|s| s.starts_with("orders"))
        .unwrap_or_else(|| panic!("no orders section:\n{human}"));
    // A product missing in e-conomic would be created, with its exact net price.
    let product = orders
        .lines()
        .position(|l| {
            l.starts_with("  would create acc.Product (ensure")
                && l.contains("no acc.Product with productNumber = \"HH-LYS-12\"")
        })
        .unwrap_or_else(|| panic!("HH-LYS-12 not created:\n{orders}"));
    let fields: Vec<&str> = orders.lines().skip(product + 1).take(4).collect();
    assert!(
        fields.contains(&"      salesPrice = 103.96"),
        "{fields:#?}\n{orders}"
    );
    // Existing products are found by their number and left alone.
    assert!(
        orders
            .lines()
            .any(|l| l.starts_with("  unchanged acc.Product ")
                && l.contains("ensure never changes it")),
        "{orders}"
    );
    // Held back: a customer not in e-conomic yet, an order older than the from-date.
    assert!(orders.contains("is not in e-conomic yet"), "{orders}");
    assert!(orders.contains("is before `since` 2026-01-01"), "{orders}");
    assert!(human.contains("\ndry run: "), "{human}");
    assert_no_writes(&shop, &acc);
}

#[test]
fn a_target_that_cannot_be_asked_is_reported_per_write() {
    let (project, shop, acc) = seeded();
    // e-conomic refuses every product search; the rest of the dry run goes on.
    acc.inject(Fault::Status {
        status: 400,
        times: 1000,
        retry_after: None,
        on: Match::on("GET", "Product"),
    });
    let (stdout, _) = dry_run(project.path(), &shop, &acc, true);
    let preview: Value = serde_json::from_str(&stdout).expect("JSON");
    let products: Vec<Value> = writes_of(&preview)
        .into_iter()
        .filter(|w| w["target"] == "acc.Product")
        .collect();
    assert!(!products.is_empty(), "{preview:#}");
    for product in &products {
        assert_eq!(product["action"], "not_checked", "{product:#}");
        assert!(
            product["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("target not checked: ")),
            "{product:#}"
        );
        assert!(!product["changes"].as_array().is_none_or(Vec::is_empty));
    }
    // The order's own update in Shopify was still checked.
    assert!(writes_of(&preview)
        .iter()
        .any(|w| w["target"] == "shop.Order" && w["action"] == "update"));
    assert_no_writes(&shop, &acc);
}
