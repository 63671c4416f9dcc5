//! Mapping throughput: the `orders` flow of examples/webshop-economic (a Shopify order into an
//! e-conomic invoice draft, its products, the booked invoice and, for orders paid by bank
//! transfer or MobilePay, a journal voucher) evaluated by ledgerlink over generated orders,
//! against a hand-written serde_json + rust_decimal mapping that produces the same documents,
//! in one criterion group (`Throughput::Elements`: records per second). Before timing, both
//! are run over every order and their documents compared, so the comparison is of equal work.
//! Figures go into docs/benchmarks.md (target: ledgerlink at least 50 % of hand-written).

use std::{collections::HashMap, path::Path, str::FromStr};

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ledgerlink::{
    eval::{record::Collections, EvalError},
    plan,
    project::Project,
    runtime::{
        document::Document,
        flow::{evaluate_record, FlowContext, Outcome},
    },
};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Map, Value};

const ORDERS: usize = 1_000;
/// Alternating passes of the two mappings for the interleaved ratio.
const PASSES: usize = 41;

/// Seconds one pass of `mapping` takes (its result kept from the optimiser).
fn timed(mapping: &dyn Fn() -> usize) -> f64 {
    let started = std::time::Instant::now();
    std::hint::black_box(mapping());
    started.elapsed().as_secs_f64()
}

struct Lookups(HashMap<(String, String), Vec<Value>>);

impl Collections for Lookups {
    fn records(&self, system: &str, entity: &str) -> Result<&[Value], EvalError> {
        Ok(self
            .0
            .get(&(system.to_string(), entity.to_string()))
            .map_or(&[], Vec::as_slice))
    }
}

fn example() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/webshop-economic")
}

fn read_json(path: &str) -> Value {
    let text = std::fs::read_to_string(example().join(path)).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

/// `ORDERS` paid orders in the fixture's shape: the fixture orders of known customers, with
/// other ids, names, dates, quantities, prices and one to four lines, paid by card.
fn generated_orders() -> Vec<Value> {
    let fixtures = read_json("fixtures/shop/Order.json");
    let customers = read_json("fixtures/acc/Customer.json");
    let known: Vec<String> = customers
        .as_array()
        .expect("customers")
        .iter()
        .filter_map(|c| c["email"].as_str().map(str::to_lowercase))
        .collect();
    let templates: Vec<&Value> = fixtures
        .as_array()
        .expect("orders")
        .iter()
        .filter(|o| o["financial_status"] == "paid")
        .filter(|o| {
            o["email"]
                .as_str()
                .is_some_and(|e| known.contains(&e.trim().to_lowercase()))
        })
        .collect();
    assert!(
        !templates.is_empty(),
        "no fixture order of a known customer"
    );
    let mut lines_pool: Vec<Value> = Vec::new();
    for t in &templates {
        lines_pool.extend(t["line_items"].as_array().cloned().unwrap_or_default());
    }
    (0..ORDERS)
        .map(|i| {
            let mut order = templates[i % templates.len()].clone();
            order["id"] = json!(6_000_000_000u64 + i as u64);
            order["name"] = json!(format!("#{}", 20_000 + i));
            order["order_number"] = json!(20_000 + i);
            order["payment_gateway_names"] = json!(["shopify_payments"]);
            let at = format!("2026-03-{:02}T10:{:02}:00+01:00", 1 + i % 28, i % 60);
            for field in ["created_at", "updated_at", "processed_at"] {
                order[field] = json!(at);
            }
            let count = 1 + i % 4;
            let lines: Vec<Value> = (0..count)
                .map(|j| {
                    let mut line = lines_pool[(i + j) % lines_pool.len()].clone();
                    line["id"] = json!(900_000 + i * 10 + j);
                    line["quantity"] = json!(1 + (i + j) % 5);
                    let cents = 1_995 + ((i * 37 + j * 101) % 50_000) as i64;
                    line["price"] = json!(Decimal::new(cents, 2).to_string());
                    line
                })
                .collect();
            order["line_items"] = Value::Array(lines);
            order
        })
        .collect()
}

/// One document as compared: operation, target, payload.
fn shown(document: &Document) -> Value {
    json!({
        "operation": document.operation(),
        "target": format!("{}.{}", document.target.system, document.target.entity),
        "payload": Value::Object(document.payload.clone()),
    })
}

// ---- the hand-written mapping -----------------------------------------------------------------

fn dec(value: &Value) -> Decimal {
    match value {
        Value::String(s) => Decimal::from_str(s.trim()).unwrap_or_default(),
        Value::Number(n) => Decimal::from_str(&n.to_string()).unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// A decimal as the JSON number a document carries.
fn number(d: Decimal) -> Value {
    serde_json::from_str(&d.normalize().to_string()).unwrap_or(Value::Null)
}

/// The same documents as the `orders` flow (settings of the example: an invoice, booked and
/// e-mailed; card payments, so no journal voucher), written by hand.
fn hand_written(order: &Value, customers: &[Value], source: &str) -> Vec<Value> {
    let email = order["email"].as_str().unwrap_or("").trim().to_lowercase();
    let Some(customer) = customers
        .iter()
        .find(|c| c["email"].as_str() == Some(&email))
    else {
        return Vec::new();
    };
    let empty = Vec::new();
    let mut documents = Vec::new();
    let mut lines = Vec::new();
    for l in order["line_items"].as_array().unwrap_or(&empty) {
        let rate = l["tax_lines"]
            .as_array()
            .and_then(|t| t.first())
            .map_or(Decimal::ZERO, |t| dec(&t["rate"]));
        let price = dec(&l["price"]);
        let quantity = dec(&l["quantity"]);
        let net = round2(price / (Decimal::ONE + rate));
        documents.push(json!({
            "operation": "ensure",
            "target": "acc.Product",
            "payload": {
                "productNumber": l["sku"],
                "name": l["title"],
                "productGroup": 1,
                "salesPrice": number(net),
            }
        }));
        let discount =
            round2(dec(&l["total_discount"]) / (price * quantity) * Decimal::ONE_HUNDRED);
        lines.push(json!({
            "product": l["sku"],
            "description": l["name"],
            "quantity": l["quantity"],
            "unitNetPrice": number(net),
            "discountPercentage": number(discount),
        }));
    }
    for s in order["shipping_lines"].as_array().unwrap_or(&empty) {
        let net = round2(dec(&s["price"]) / Decimal::new(125, 2));
        lines.push(json!({
            "product": "FRAGT",
            "description": s["title"],
            "quantity": 1,
            "unitNetPrice": number(net),
        }));
    }
    let draft_key = Document::key("webshop-economic", "orders", source, "draft");
    documents.push(json!({
        "operation": "create",
        "target": "acc.InvoiceDraft",
        "payload": {
            "date": order["created_at"],
            "currency": order["currency"],
            "customer": customer,
            "recipient": customer,
            "layout": 19,
            "paymentTerms": 1,
            "references": {"other": order["name"]},
            "lines": lines,
        }
    }));
    documents.push(json!({
        "operation": "create",
        "target": "acc.BookedInvoice",
        "payload": {"draftInvoice": {"$ref": draft_key}, "sendBy": "Email"}
    }));
    documents
}

/// Numbers compared as decimals (`0.0` is `0`), and document references as references (the
/// key's text depends on the step path inside the plan).
fn normalised(value: &Value) -> Value {
    match value {
        Value::Number(n) => Value::String(
            Decimal::from_str(&n.to_string())
                .map(|d| d.normalize().to_string())
                .unwrap_or_else(|_| n.to_string()),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if k == "$ref" {
                        json!("ref")
                    } else {
                        normalised(v)
                    };
                    (k.clone(), v)
                })
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalised).collect()),
        other => other.clone(),
    }
}

struct Setup {
    project: Project,
    plan: plan::Plan,
    connectors: HashMap<String, String>,
    lookups: Lookups,
}

impl Setup {
    fn new() -> Setup {
        let mut diagnostics = Vec::new();
        let project = Project::load(&example(), &mut diagnostics).expect("example loads");
        let plan = plan::compile(&project);
        let connectors = project
            .config
            .as_ref()
            .expect("ledgerlink.yaml")
            .systems
            .iter()
            .map(|(alias, s)| (alias.clone(), s.connector.clone()))
            .collect();
        let mut lookups = HashMap::new();
        lookups.insert(
            ("acc".to_string(), "Customer".to_string()),
            read_json("fixtures/acc/Customer.json")
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
        Setup {
            project,
            plan,
            connectors,
            lookups: Lookups(lookups),
        }
    }

    /// The documents as compared with the hand-written mapping's.
    fn ledgerlink(&self, order: &Value, source: &str) -> Vec<Value> {
        self.documents(order, source).iter().map(shown).collect()
    }

    /// What is timed: ledgerlink's own output, as the hand-written side is timed making its
    /// own (both get the source key made outside the timing).
    fn documents(&self, order: &Value, source: &str) -> Vec<Document> {
        let flow = self
            .plan
            .flows
            .iter()
            .find(|f| f.name == "orders")
            .expect("flow orders");
        let cx = FlowContext {
            project: "webshop-economic",
            plan: &self.plan,
            flow,
            profiles: &self.project.profiles,
            connectors: &self.connectors,
            today: NaiveDate::from_ymd_opt(2026, 3, 10).expect("date"),
            collections: &self.lookups,
        };
        match evaluate_record(&cx, source, order, None) {
            Ok(Outcome::Documents(documents)) => documents,
            other => panic!("order {source}: {other:?}"),
        }
    }
}

fn bench(c: &mut Criterion) {
    let orders = generated_orders();
    let setup = Setup::new();
    let customers = read_json("fixtures/acc/Customer.json")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let sources: Vec<String> = orders
        .iter()
        .map(|o| format!("shop.Order:{}", o["id"]))
        .collect();
    // Equal work: the same documents for every order, checked once outside the timing.
    let mut documents = 0;
    for (order, source) in orders.iter().zip(&sources) {
        let ours = setup.ledgerlink(order, source);
        let theirs = hand_written(order, &customers, source);
        assert_eq!(
            normalised(&Value::Array(ours.clone())),
            normalised(&Value::Array(theirs)),
            "{source}: the two mappings differ"
        );
        documents += ours.len();
    }
    println!("mapping: {ORDERS} orders -> {documents} documents, equal in both mappings");

    // Criterion times the two mappings one after the other, several seconds apart; on a shared
    // machine whose speed drifts the ratio of those two figures drifts with it. Alternating
    // single passes see the same machine: their median ratio is printed next to criterion's.
    let ours = || {
        orders
            .iter()
            .zip(&sources)
            .map(|(order, source)| setup.documents(order, source).len())
            .sum::<usize>()
    };
    let theirs = || {
        orders
            .iter()
            .zip(&sources)
            .map(|(order, source)| hand_written(order, &customers, source).len())
            .sum::<usize>()
    };
    let mut ratios: Vec<f64> = (0..PASSES)
        .map(|_| {
            let ours = timed(&ours);
            let theirs = timed(&theirs);
            theirs / ours
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    println!(
        "mapping: ledgerlink at {:.0} % of hand-written (median of {PASSES} alternating passes; quartiles {:.0}-{:.0} %)",
        ratios[PASSES / 2] * 100.0,
        ratios[PASSES / 4] * 100.0,
        ratios[PASSES * 3 / 4] * 100.0
    );

    let mut group = c.benchmark_group("mapping");
    group.throughput(Throughput::Elements(ORDERS as u64));
    group.bench_function(BenchmarkId::new("ledgerlink", ORDERS), |b| b.iter(ours));
    group.bench_function(BenchmarkId::new("hand-written", ORDERS), |b| b.iter(theirs));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
