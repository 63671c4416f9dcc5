//! End to end from the binary: the webshop-economic example's subscription renewals. A fake
//! Shopify serves the subscription contracts and billing attempts over GraphQL, and a fake
//! e-conomic receives an invoice draft and a booked
//! invoice per renewal. What is asserted: which billing attempts are invoiced (a charge that
//! went through always; a failed one only with `invoice_failed_renewals`; one still processing
//! once it is ready), the payment terms of each, the lines (product by SKU, quantity, exact
//! net unit price), and that a run with nothing new writes nothing.

mod support;

use std::{path::Path, str::FromStr};

use rust_decimal::Decimal;
use serde_json::{json, Value};
use support::{state_stores, webshop, FakeServer, StateStore};

/// e-conomic customer of the contract 5501 (in the example's fixtures).
const METTE: i64 = 10233;
/// e-conomic customer of the contract 5502, seeded by the tests (the café is not in the
/// example's e-conomic fixtures).
const CAFE: i64 = 10300;

/// Runs the project once against the fakes; returns the JSON report.
fn run(project: &Path, shop: &FakeServer, acc: &FakeServer, store: &StateStore) -> Value {
    let mut command = webshop::command(shop, acc);
    store.apply(&mut command);
    let output = command
        .arg("run")
        .arg(project)
        .args(["--once", "--format", "json", "--today", "2026-03-20"])
        .output()
        .expect("ledgerlink runs");
    support::json_output(&output)
}

/// The example with subscriptions in the Shopify fake and the café in e-conomic.
fn renewal_setup() -> (tempfile::TempDir, FakeServer, FakeServer) {
    let (project, shop, acc) = webshop::seeded_with_subscriptions();
    acc.seed(
        "Customer",
        vec![json!({
            "customerNumber": CAFE, "name": "Café Solsikke ApS", "email": "indkob@cafesolsikke.dk",
            "currency": "DKK", "customerGroup": 2, "vatZone": 1, "paymentTerms": 1, "layout": 19
        })],
    );
    (project, shop, acc)
}

/// The renewal invoice drafts in e-conomic, by idempotency key of their billing attempt.
fn renewal_drafts(acc: &FakeServer) -> Vec<(String, Value)> {
    acc.records("InvoiceDraft")
        .into_iter()
        .filter_map(|draft| {
            let key = draft["references"]["other"]
                .as_str()?
                .strip_prefix("abonnement ")?
                .to_string();
            Some((key, draft))
        })
        .collect()
}

/// The keys of the renewals invoiced so far.
fn invoiced(acc: &FakeServer) -> Vec<String> {
    let mut keys: Vec<String> = renewal_drafts(acc).into_iter().map(|(k, _)| k).collect();
    keys.sort();
    keys
}

/// A renewal's draft, checked: customer, payment terms, one line as the contract says, and a
/// booked invoice made of it.
fn assert_renewal(acc: &FakeServer, key: &str, customer: i64, terms: i64, line: (&str, i64, &str)) {
    let (_, draft) = renewal_drafts(acc)
        .into_iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no draft of renewal {key}"));
    let customer_number = draft["customer"]
        .get("customerNumber")
        .unwrap_or(&draft["customer"]);
    assert_eq!(customer_number, &json!(customer), "{draft:#}");
    assert_eq!(draft["paymentTerms"], json!(terms), "{draft:#}");
    assert_eq!(draft["currency"], "DKK", "{draft:#}");
    let lines = draft["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 1, "{draft:#}");
    let (sku, quantity, net) = line;
    assert_eq!(lines[0]["product"], sku, "{draft:#}");
    assert_eq!(lines[0]["quantity"], quantity, "{draft:#}");
    let price = Decimal::from_str(&lines[0]["unitNetPrice"].to_string().replace('"', ""))
        .expect("a decimal unit price");
    assert_eq!(price, Decimal::from_str(net).expect("decimal"), "{draft:#}");
    let number = &draft["draftInvoiceNumber"];
    let booked: Vec<Value> = acc
        .records("BookedInvoice")
        .into_iter()
        .filter(|b| {
            &b["draftInvoice"] == number || &b["draftInvoice"]["draftInvoiceNumber"] == number
        })
        .collect();
    assert_eq!(
        booked.len(),
        1,
        "one booked invoice of draft {number}: {booked:#?}"
    );
}

/// Runs again with no change anywhere: nothing is delivered, neither fake is written.
fn assert_quiet(project: &Path, shop: &FakeServer, acc: &FakeServer, store: &StateStore) {
    let writes = (shop.writes(), acc.writes());
    let again = run(project, shop, acc, store);
    assert_eq!(again["report"]["delivered"], 0, "{again:#}");
    assert_eq!((shop.writes(), acc.writes()), writes, "a quiet run wrote");
}

#[test]
fn renewals_are_invoiced_with_the_terms_of_their_payment_stage() {
    for store in state_stores() {
        renewals_are_invoiced_with_the_terms_of_their_payment_stage_on(&store);
    }
}

fn renewals_are_invoiced_with_the_terms_of_their_payment_stage_on(store: &StateStore) {
    eprintln!("state store: {}", store.backend);
    let (project, shop, acc) = renewal_setup();
    let report = run(project.path(), &shop, &acc, store);

    // 9001 was charged (terms "Netto kontant"), 9002's charge failed and is invoiced anyway
    // with the subscription terms ("Netto 8 dage"); 9003 is still being processed.
    assert_eq!(
        invoiced(&acc),
        ["5501-2026-03-10", "5502-2026-03-10"],
        "{report:#}"
    );
    assert_renewal(
        &acc,
        "5501-2026-03-10",
        METTE,
        1,
        ("HH-KAFFE-500", 2, "71.20"),
    );
    assert_renewal(
        &acc,
        "5502-2026-03-10",
        CAFE,
        3,
        ("HH-KAFFE-500", 10, "63.96"),
    );
    let graphql_reads = shop
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/graphql.json"))
        .count();
    assert!(
        graphql_reads >= 2,
        "both subscription entities were read over GraphQL"
    );

    assert_quiet(project.path(), &shop, &acc, store);

    // 9003's charge goes through: the next run invoices it, as paid.
    assert!(shop.modify(
        "SubscriptionBillingAttempt",
        "gid://shopify/SubscriptionBillingAttempt/9003",
        json!({"ready": true, "completedAt": "2026-03-11T06:00:04Z", "order": 5830117020_i64}),
    ));
    let later = run(project.path(), &shop, &acc, store);
    assert_eq!(
        invoiced(&acc),
        ["5501-2026-03-10", "5501-2026-03-11", "5502-2026-03-10"],
        "{later:#}"
    );
    assert_renewal(
        &acc,
        "5501-2026-03-11",
        METTE,
        1,
        ("HH-KAFFE-500", 2, "71.20"),
    );
    assert_quiet(project.path(), &shop, &acc, store);
}

#[test]
fn failed_renewals_are_not_invoiced_when_the_setting_is_off() {
    for store in state_stores() {
        failed_renewals_are_not_invoiced_when_the_setting_is_off_on(&store);
    }
}

fn failed_renewals_are_not_invoiced_when_the_setting_is_off_on(store: &StateStore) {
    eprintln!("state store: {}", store.backend);
    let (project, shop, acc) = renewal_setup();
    let config = project.path().join("ledgerlink.yaml");
    let text = std::fs::read_to_string(&config).expect("read ledgerlink.yaml");
    let off = text.replacen(
        "invoice_failed_renewals: true",
        "invoice_failed_renewals: false",
        1,
    );
    assert_ne!(off, text, "the example has the setting");
    std::fs::write(&config, off).expect("write ledgerlink.yaml");

    let report = run(project.path(), &shop, &acc, store);
    assert_eq!(invoiced(&acc), ["5501-2026-03-10"], "{report:#}");
    assert_renewal(
        &acc,
        "5501-2026-03-10",
        METTE,
        1,
        ("HH-KAFFE-500", 2, "71.20"),
    );
    assert_quiet(project.path(), &shop, &acc, store);
}

/// The GraphQL transport on its own, against the fake with pages of one record: every list
/// takes a cursor page per record, and `get` reads one record by its global id.
#[tokio::test]
async fn graphql_entities_are_listed_by_cursor_and_read_by_id() {
    use ledgerlink::connector::client::Client;

    let mut profile = (*FakeServer::start("shopify").profile()).clone();
    if let Some(graphql) = &mut profile.graphql {
        graphql.page_size = Some(1);
    }
    let profile = std::sync::Arc::new(profile);
    let shop = FakeServer::from_profile(profile.clone());
    let project = support::temp_project("webshop-economic");
    for entity in ["SubscriptionContract", "SubscriptionBillingAttempt"] {
        shop.seed(entity, webshop::fixtures(project.path(), "shop", entity));
    }
    std::fs::write(project.path().join("token"), "shpat_test_token").expect("token file");
    let config = serde_yaml_ng::from_str(&format!(
        "connector: shopify\noptions: {{shop: hyggehjem, url: \"{}\"}}\nauth: {{access_token: \"file:token\"}}",
        shop.url()
    ))
    .expect("system config");
    let client = Client::new("shop", profile, &config, project.path(), None).expect("client");

    let attempts = client
        .list("SubscriptionBillingAttempt", None)
        .await
        .expect("list");
    let ids: Vec<&str> = attempts.iter().filter_map(|a| a["id"].as_str()).collect();
    assert_eq!(
        ids,
        [
            "gid://shopify/SubscriptionBillingAttempt/9001",
            "gid://shopify/SubscriptionBillingAttempt/9002",
            "gid://shopify/SubscriptionBillingAttempt/9003"
        ]
    );
    // A reference arrives as `{id}` and is read as the id.
    assert_eq!(
        attempts[0]["subscriptionContract"],
        "gid://shopify/SubscriptionContract/5501"
    );
    // Three pages with a record each, and the last one that says there is no more.
    let posts = shop.requests();
    assert_eq!(posts.len(), 3, "{posts:#?}");
    assert!(posts.iter().all(|r| r.method == "POST" && r.status == 200));
    assert_eq!(posts[0].body["variables"]["after"], Value::Null);
    assert!(posts[1].body["variables"]["after"].is_string());
    assert_eq!(shop.writes(), 0, "reads are not writes");

    let contract = client
        .get(
            "SubscriptionContract",
            "gid://shopify/SubscriptionContract/5502",
        )
        .await
        .expect("get")
        .expect("the contract");
    // The connection of lines comes back as the list of its nodes.
    assert_eq!(contract["lines"][0]["quantity"], 10);
    assert_eq!(contract["customer"]["email"], "indkob@cafesolsikke.dk");
    let other_type = client
        .get(
            "SubscriptionContract",
            "gid://shopify/SubscriptionBillingAttempt/9001",
        )
        .await
        .expect("get");
    assert_eq!(other_type, None);

    // A write to a GraphQL entity is a configuration error that says why.
    let err = client
        .create("SubscriptionContract", &json!({}), None)
        .await
        .expect_err("no writes over GraphQL");
    assert!(err.message.contains("is read over GraphQL"), "{err}");
}
