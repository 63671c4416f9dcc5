//! End to end from the binary against stateful fake servers: the webshop-economic example
//! reads orders from a fake Shopify and writes invoices into a fake e-conomic. The fake's
//! records are asserted field by field, and a second run makes no write at all.

mod support;

use std::path::Path;

use serde_json::{json, Value};
use support::{
    state_stores,
    webshop::{self, seeded},
    FakeServer, Fault, Match, StateStore,
};

/// Runs the project against the fakes; returns the JSON report.
fn run(project: &Path, shop: &FakeServer, acc: &FakeServer, store: &StateStore) -> Value {
    let output = command(
        &["run", "--once", "--format", "json", "--today", "2026-03-20"],
        project,
        shop,
        acc,
        store,
    );
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// A ledgerlink command (`args[0]` is the subcommand) with the fakes' addresses and test
/// credentials.
fn command(
    args: &[&str],
    project: &Path,
    shop: &FakeServer,
    acc: &FakeServer,
    store: &StateStore,
) -> std::process::Output {
    let mut command = webshop::command(shop, acc);
    store.apply(&mut command);
    // `SUBCOMMAND PROJECT ARGS…`: arguments such as `retry`'s intent keys follow the project.
    command
        .args(&args[..1])
        .arg(project)
        .args(&args[1..])
        .output()
        .expect("ledgerlink runs")
}

#[test]
fn a_refused_document_is_a_dead_letter_and_retry_sends_it() {
    for store in state_stores() {
        a_refused_document_is_a_dead_letter_and_retry_sends_it_on(&store);
    }
}

fn a_refused_document_is_a_dead_letter_and_retry_sends_it_on(store: &StateStore) {
    eprintln!("state store: {}", store.backend);
    let (project, shop, acc) = seeded();
    // e-conomic refuses the new product once, with its own message.
    acc.inject(Fault::Status {
        status: 400,
        times: 1,
        retry_after: None,
        on: Match::on("POST", "Product"),
    });
    let report = run(project.path(), &shop, &acc, store);
    // The product, and the credit of a refund nothing was invoiced for (see below).
    assert_eq!(report["report"]["failed"], 2, "{report:#}");
    assert!(
        report["report"]["delivered"].as_u64().unwrap_or(0) >= 3,
        "the other documents went on: {report:#}"
    );
    assert!(acc
        .records("Product")
        .iter()
        .all(|p| p["productNumber"] != "HH-LYS-12"));
    let failed = command(
        &["log", "--failed", "--format", "json"],
        project.path(),
        &shop,
        &acc,
        store,
    );
    let failed: Value = serde_json::from_slice(&failed.stdout).expect("log JSON");
    let dead_letter = failed
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("ensure acc.Product failed"))
        })
        .unwrap_or_else(|| panic!("no dead letter for the product: {failed:#}"));
    let intent = dead_letter["intent"]
        .as_str()
        .expect("the dead letter's intent");

    // The data is fixed (here: the fault is gone); `retry` sends the dead letter.
    let retried = command(&["retry", intent], project.path(), &shop, &acc, store);
    let out = String::from_utf8_lossy(&retried.stdout);
    assert!(
        retried.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&retried.stderr)
    );
    assert!(
        out.contains("retried 1: delivered 1, failed again 0"),
        "{out}"
    );
    assert!(acc
        .records("Product")
        .iter()
        .any(|p| p["productNumber"] == "HH-LYS-12"));
}

#[test]
fn webshop_orders_become_invoices_in_e_conomic() {
    for store in state_stores() {
        webshop_orders_become_invoices_in_e_conomic_on(&store);
    }
}

fn webshop_orders_become_invoices_in_e_conomic_on(store: &StateStore) {
    eprintln!("state store: {}", store.backend);
    let (project, shop, acc) = seeded();
    let seeded_products = acc.records("Product").len();
    let report = run(project.path(), &shop, &acc, store);
    let flow = |name: &str| {
        report["report"]["flows"]
            .as_array()
            .and_then(|f| f.iter().find(|x| x["name"] == name))
            .cloned()
            .unwrap_or_default()
    };

    // Paid orders since the from-date: one whose customer is not in e-conomic yet is held
    // back with the reason; one is older than the from-date.
    let orders = flow("orders");
    assert_eq!(orders["records"], 5, "{report:#}");
    assert_eq!(orders["skipped"], 2, "{report:#}");
    assert_eq!(orders["failed"], 0, "{report:#}");
    let messages: Vec<&str> = report["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("is not in e-conomic yet")),
        "{messages:#?}"
    );
    // The one refused document: the refund of an order that was refunded before ledgerlink
    // ever saw it paid, so no invoice of it exists to credit. It waits for a person, with
    // the reason, instead of crediting something else.
    assert_eq!(report["report"]["failed"], 1, "{report:#}");
    assert!(
        messages.iter().any(|m| m.contains(
            "credit acc.CreditNote failed: nothing to credit: ledgerlink delivered no acc \
             document for shop.Order:5830117003"
        )),
        "{messages:#?}"
    );

    // Paid orders go to the warehouse as pick orders: JSON files in the outbox it collects.
    let outbox = project.path().join("outbox/warehouse");
    let mut picks: Vec<Value> = std::fs::read_dir(&outbox)
        .expect("the outbox was written")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
        .map(|e| serde_json::from_slice(&std::fs::read(e.path()).expect("read")).expect("JSON"))
        .collect();
    picks.sort_by_key(|p| p["id"].as_str().unwrap_or_default().to_string());
    let ids: Vec<&str> = picks.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(ids, ["#1041", "#1042"], "{picks:#?}");
    let paid = shop
        .records("Order")
        .into_iter()
        .find(|o| o["name"] == "#1042")
        .expect("order #1042");
    assert_eq!(picks[1]["email"], paid["email"]);
    assert_eq!(
        picks[1]["lines"].as_array().map(Vec::len),
        paid["line_items"].as_array().map(Vec::len)
    );

    // A product that was missing in e-conomic is created from the shop line, matched on SKU,
    // with its net price computed exactly from the gross price and the tax rate.
    let products = acc.records("Product");
    assert_eq!(
        products.len(),
        seeded_products + 1,
        "one new product: {products:#?}"
    );
    let new_product = products
        .iter()
        .find(|p| p["productNumber"] == "HH-LYS-12")
        .expect("HH-LYS-12 created");
    assert_eq!(new_product["name"], "Bivokslys, 12 stk.");
    assert_eq!(new_product["salesPrice"].to_string(), "103.96");

    // The order became an invoice draft for its customer, then a booked invoice.
    let drafts = acc.records("InvoiceDraft");
    assert_eq!(drafts.len(), 1, "{drafts:#?}");
    let draft = &drafts[0];
    let order_name = draft["references"]["other"]
        .as_str()
        .expect("draft references its order");
    let order = shop
        .records("Order")
        .into_iter()
        .find(|o| o["name"] == order_name)
        .expect("the referenced shop order");
    assert_eq!(order["financial_status"], "paid");
    assert_eq!(draft["currency"], order["currency"]);
    let lines = draft["lines"].as_array().expect("draft lines");
    assert!(!lines.is_empty());
    for line in lines {
        let number = line["product"]
            .as_str()
            .or_else(|| line["product"]["productNumber"].as_str())
            .expect("line product");
        assert!(
            products.iter().any(|p| p["productNumber"] == number),
            "line product {number} is not in e-conomic"
        );
    }
    let booked: Vec<Value> = acc
        .records("BookedInvoice")
        .into_iter()
        .filter(|b| b.get("draftInvoice").is_some())
        .collect();
    assert_eq!(booked.len(), 1, "{booked:#?}");
    assert!(
        booked[0]["bookedInvoiceNumber"].as_i64().is_some(),
        "the fake numbers booked invoices"
    );

    // A second run with no change in either system makes no write at all.
    let (shop_writes, acc_writes) = (shop.writes(), acc.writes());
    let again = run(project.path(), &shop, &acc, store);
    assert_eq!(again["report"]["delivered"], 0, "{again:#}");
    assert_eq!(
        (shop.writes(), acc.writes()),
        (shop_writes, acc_writes),
        "a quiet run wrote"
    );

    // The order held back by `require` waits, it is not forgotten: once its customer reaches
    // e-conomic (the customers sync, here: someone creates it), the next run invoices it.
    acc.seed(
        "Customer",
        vec![json!({
            "customerNumber": 10300, "name": "Café Solsikke", "email": "indkob@cafesolsikke.dk",
            "currency": "DKK", "customerGroup": 2, "vatZone": 1, "paymentTerms": 1, "layout": 19
        })],
    );
    let later = run(project.path(), &shop, &acc, store);
    assert!(
        later["report"]["delivered"].as_u64().unwrap_or(0) >= 1,
        "{later:#}"
    );
    let drafts = acc.records("InvoiceDraft");
    assert_eq!(drafts.len(), 2, "{drafts:#?}");
    assert!(
        drafts
            .iter()
            .any(|d| d["customer"]["customerNumber"] == 10300 || d["customer"] == 10300),
        "{drafts:#?}"
    );
}

/// The records a run leaves in e-conomic, to compare runs with and without faults.
fn outcome(acc: &FakeServer) -> Vec<(String, usize)> {
    ["InvoiceDraft", "BookedInvoice", "Product"]
        .iter()
        .map(|e| (e.to_string(), acc.records(e).len()))
        .collect()
}

#[test]
fn transient_faults_and_dropped_answers_still_deliver_everything_once() {
    for store in state_stores() {
        transient_faults_and_dropped_answers_still_deliver_everything_once_on(&store);
    }
}

fn transient_faults_and_dropped_answers_still_deliver_everything_once_on(store: &StateStore) {
    eprintln!("state store: {}", store.backend);
    let (quiet_project, quiet_shop, quiet_acc) = seeded();
    // The reference run keeps its state in its own folder, apart from `store`.
    let quiet = run(
        quiet_project.path(),
        &quiet_shop,
        &quiet_acc,
        &StateStore::project_own(),
    );
    assert_eq!(quiet["report"]["failed"], 1, "only the credit: {quiet:#}");

    let (project, shop, acc) = seeded();
    // Requests to e-conomic time out after 2 s here, so that the slow answers below count.
    let config = project.path().join("ledgerlink.yaml");
    let text = std::fs::read_to_string(&config).expect("project file");
    let text = text.replacen(
        "    connector: economic\n",
        "    connector: economic\n    timeout: 2s\n",
        1,
    );
    assert!(
        text.contains("timeout: 2s"),
        "the acc system is where it was"
    );
    std::fs::write(&config, text).expect("write project file");
    // Rate limiting, server errors, a reset connection on a read, answers slower than the
    // timeout (a read, and a create that the server still makes after the client gave up),
    // and the crash window: the draft is created but its answer never arrives.
    acc.inject(Fault::Status {
        status: 429,
        times: 2,
        retry_after: Some(1),
        on: Match::any(),
    });
    acc.inject(Fault::Status {
        status: 503,
        times: 2,
        retry_after: None,
        on: Match::on("POST", "Product"),
    });
    acc.inject(Fault::Reset {
        times: 1,
        on: Match::on("GET", "Customer"),
    });
    acc.inject(Fault::Delay {
        millis: 3_000,
        times: 1,
        on: Match::on("GET", "BookedInvoice"),
    });
    acc.inject(Fault::Delay {
        millis: 3_000,
        times: 1,
        on: Match::on("POST", "Product"),
    });
    acc.inject(Fault::CommitThenDrop {
        times: 1,
        on: Match::on("POST", "InvoiceDraft"),
    });
    shop.inject(Fault::Status {
        status: 502,
        times: 1,
        retry_after: None,
        on: Match::on("GET", "Order"),
    });
    let mut report = run(project.path(), &shop, &acc, store);
    let mut failed = report["report"]["failed"].as_u64().unwrap_or(0);
    // A dropped answer to a create is never re-sent blindly: the next run looks it up first.
    for _ in 0..3 {
        if report["report"]["pending"] == 0 {
            break;
        }
        report = run(project.path(), &shop, &acc, store);
        failed += report["report"]["failed"].as_u64().unwrap_or(0);
    }
    // One new product is created (see above); the slow create timed out on our side and was
    // sent again with the same idempotency key; the server, which had made it, answered the
    // repeat with the same product.
    let product_posts: Vec<_> = acc
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/products"))
        .collect();
    assert!(
        product_posts.len() >= 2,
        "the timed-out create was re-sent: {product_posts:#?}"
    );
    assert!(
        product_posts
            .windows(2)
            .any(|w| w[0].header("idempotency-key") == w[1].header("idempotency-key")),
        "re-sent with its key: {product_posts:#?}"
    );

    assert_eq!(report["report"]["pending"], 0, "{report:#}");
    assert_eq!(failed, 1, "as without faults, only the credit: {report:#}");
    assert_eq!(
        outcome(&acc),
        outcome(&quiet_acc),
        "the same documents as without faults, each once"
    );
}
