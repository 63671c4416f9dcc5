//! Scenario A end to end against a real Tryton 8.2 (`scripts/tryton`, which the test command
//! starts; the test needs `TRYTON_URL`, `TRYTON_DB`, `TRYTON_USER` and `TRYTON_PASSWORD`):
//! the kitchen-quotes example run by the binary, then read back from Tryton over its own
//! JSON-RPC — parties, projects, sale orders, lines and their amounts to the øre.
//!
//! Every run of the test command starts Tryton on a fresh copy of its template database; the
//! test still gives the quote, project and customer numbers a prefix of its own per line mode
//! and per run, so the two modes never meet and the test can run again on the same server.

mod support;

use std::{path::Path, process::Command, str::FromStr};

use rust_decimal::Decimal;
use serde_json::{json, Value};
use support::{json_output, ledgerlink_bin, temp_project};

/// The Tryton server the test command started, or `None` outside it.
fn tryton() -> Option<Tryton> {
    Some(Tryton {
        url: std::env::var("TRYTON_URL").ok()?,
        database: std::env::var("TRYTON_DB").ok()?,
        user: std::env::var("TRYTON_USER").ok()?,
        password: std::env::var("TRYTON_PASSWORD").ok()?,
    })
}

struct Tryton {
    url: String,
    database: String,
    user: String,
    password: String,
}

/// A logged-in JSON-RPC session, independent of ledgerlink's client (plain HTTP + JSON).
struct Session {
    endpoint: String,
    authorization: String,
    context: Value,
    http: reqwest::Client,
}

impl Tryton {
    async fn login(&self) -> Session {
        let http = reqwest::Client::new();
        let endpoint = format!("{}/{}/rpc/", self.url, self.database);
        let answer: Value = http
            .post(&endpoint)
            .json(&json!({"method": "common.db.login", "params": [self.user, {"password": self.password}, "en"], "id": 1}))
            .send()
            .await
            .expect("login request")
            .json()
            .await
            .expect("login answer");
        let user = answer["result"][0].as_i64().expect("user id");
        let session = answer["result"][1].as_str().expect("session");
        let token = format!("{}:{user}:{session}", self.user);
        use base64::Engine;
        let mut session = Session {
            endpoint,
            authorization: format!(
                "Session {}",
                base64::engine::general_purpose::STANDARD.encode(token)
            ),
            context: json!({}),
            http,
        };
        let preferences = session
            .call("model.res.user.get_preferences", json!([true, {}]))
            .await;
        session.context = json!({
            "company": preferences["company"],
            "companies": preferences["companies"],
            "language": "en",
        });
        session
    }
}

impl Session {
    async fn call(&self, method: &str, params: Value) -> Value {
        let answer: Value = self
            .http
            .post(&self.endpoint)
            .header("Authorization", &self.authorization)
            .json(&json!({"method": method, "params": params, "id": 2}))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON answer");
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }

    /// `search_read` of `model` with a domain, ordered by id.
    async fn read(&self, model: &str, domain: Value, fields: &[&str]) -> Vec<Value> {
        let params = json!([domain, 0, null, [["id", "ASC"]], fields, self.context]);
        let found = self
            .call(&format!("model.{model}.search_read"), params)
            .await;
        found.as_array().cloned().unwrap_or_default()
    }
}

/// A Tryton `Decimal` (`{"__class__": "Decimal", "decimal": "…"}`) as an exact decimal.
fn decimal(value: &Value) -> Decimal {
    let text = value["decimal"].as_str().expect("a Tryton Decimal");
    Decimal::from_str(text).expect("decimal")
}

/// The kitchen-quotes example pointed at Tryton, its quotes and customers renumbered with
/// `prefix` and its line mode set.
fn project(prefix: &str, line_mode: &str) -> tempfile::TempDir {
    let project = temp_project("kitchen-quotes");
    let quotes_path = project.path().join("fixtures/winner/Quote.json");
    let mut quotes = read_quotes(&quotes_path);
    for quote in &mut quotes {
        let number = format!("{prefix}{}", quote["Number"].as_str().expect("number"));
        quote["Number"] = json!(number);
        let project_number = format!("{prefix}{}", quote["ProjectNumber"].as_str().expect("p"));
        quote["ProjectNumber"] = json!(project_number);
        let customer = format!(
            "{prefix}{}",
            quote["Customer"]["Number"].as_str().expect("c")
        );
        quote["Customer"]["Number"] = json!(customer);
    }
    write_json(&quotes_path, &Value::Array(quotes));
    let config_path = project.path().join("ledgerlink.yaml");
    let config = std::fs::read_to_string(&config_path).expect("ledgerlink.yaml");
    let config = config.replace("line_mode: grouped", &format!("line_mode: {line_mode}"));
    std::fs::write(&config_path, config).expect("write ledgerlink.yaml");
    project
}

fn read_quotes(path: &Path) -> Vec<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).expect("quotes")).expect("quotes JSON")
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).expect("JSON")).expect("write");
}

/// Runs the project once against Tryton; returns the JSON summary. The exit code must be
/// what docs/cli.md says: 0, or 1 when a document failed.
fn run(project: &Path, tryton: &Tryton) -> Value {
    run_as(project, tryton, "--once")
}

/// [`run`] as `--once` or `--dry-run`.
fn run_as(project: &Path, tryton: &Tryton, mode: &str) -> Value {
    let output = Command::new(ledgerlink_bin())
        .args(["run", mode, "--format", "json", "--today", "2026-03-10"])
        .arg(project)
        .env("LEDGERLINK_ENDPOINT_ACC", &tryton.url)
        .env("TRYTON_USER", &tryton.user)
        .env("TRYTON_PASSWORD", &tryton.password)
        .output()
        .expect("ledgerlink runs");
    let summary = json_output(&output);
    let expected = if count(&summary, "failed") == 0 { 0 } else { 1 };
    assert_eq!(
        output.status.code(),
        Some(expected),
        "{summary:#}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    summary
}

/// The export-log messages of a run's events of `kind` (`failed`, `info`, …).
fn messages<'r>(report: &'r Value, kind: &str) -> Vec<&'r str> {
    report["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == kind)
        .filter_map(|e| e["message"].as_str())
        .collect()
}

/// A count of the run's summary (`delivered`, `failed`).
fn count(summary: &Value, what: &str) -> u64 {
    summary["report"][what]
        .as_u64()
        .unwrap_or_else(|| panic!("no {what} count in {summary}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn kitchen_quotes_against_tryton() {
    let Some(tryton) = tryton() else {
        eprintln!("TRYTON_URL is not set: the test command starts Tryton (scripts/tryton)");
        return;
    };
    let session = tryton.login().await;
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    grouped_mode(&tryton, &session, &format!("G{run_id}-")).await;
    summary_mode(&tryton, &session, &format!("S{run_id}-")).await;
}

/// Grouped lines: party, project, two sales per quote of exactly 20 % / 80 %, lines per
/// product group that reconcile over both sales; nothing new on a second run; a new quote
/// with the customer's new address updates the party's address.
async fn grouped_mode(tryton: &Tryton, session: &Session, prefix: &str) {
    let project = project(prefix, "grouped");

    // A dry run first: the sales it would create, their lines and amounts, and nothing
    // written to Tryton.
    let preview = run_as(project.path(), tryton, "--dry-run");
    let planned: Vec<&Value> = preview["report"]["planned"]
        .as_array()
        .expect("planned writes")
        .iter()
        .filter(|w| w["target"] == "acc.Sale")
        .collect();
    assert_eq!(planned.len(), 4, "{preview:#}");
    let part_total = |reference: &str| -> Decimal {
        let sale = planned
            .iter()
            .find(|w| w["payload"]["reference"] == reference)
            .unwrap_or_else(|| panic!("no planned sale {reference}"));
        sale["payload"]["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .map(|l| Decimal::from_str(&l["unit_price"].to_string()).expect("price"))
            .sum()
    };
    assert_eq!(
        part_total(&format!("winner:{prefix}T-2026-0147:1")),
        Decimal::new(2094115, 2)
    );
    assert_eq!(
        part_total(&format!("winner:{prefix}T-2026-0147:2")),
        Decimal::new(8376458, 2)
    );
    let written = session
        .read(
            "sale.sale",
            json!([["reference", "like", format!("winner:{prefix}%")]]),
            &["id"],
        )
        .await;
    assert!(written.is_empty(), "a dry run wrote: {written:?}");

    let first = run(project.path(), tryton);
    assert_eq!(count(&first, "failed"), 0, "{first:#}");

    // The existing-or-new customer became a party with its address, e-mail and phone.
    let parties = session
        .read(
            "party.party",
            json!([["code", "=", format!("{prefix}K-10442")]]),
            &["name", "email", "phone", "addresses"],
        )
        .await;
    assert_eq!(parties.len(), 1, "{parties:?}");
    let party = &parties[0];
    assert_eq!(party["name"], "Nordby Eiendom AS");
    assert_eq!(party["email"], "post@nordbyeiendom.no");
    assert_eq!(party["phone"], "+4761254090");
    let party_id = party["id"].clone();
    let addresses = session
        .read(
            "party.address",
            json!([["party", "=", party_id]]),
            &["street", "postal_code", "city", "country.code"],
        )
        .await;
    assert_eq!(addresses.len(), 1, "{addresses:?}");
    assert_eq!(addresses[0]["street"], "Storgata 12");
    assert_eq!(addresses[0]["city"], "Lillehammer");
    assert_eq!(addresses[0]["country."]["code"], "NO");

    // The project, linked to the party.
    let projects = session
        .read(
            "project.work",
            json!([["name", "like", format!("{prefix}P-2026-031 %")]]),
            &["name", "party", "type", "comment"],
        )
        .await;
    assert_eq!(projects.len(), 1, "{projects:?}");
    assert_eq!(projects[0]["party"], party_id);
    assert_eq!(projects[0]["type"], "project");
    assert_eq!(
        projects[0]["comment"],
        format!("Winner tilbud {prefix}T-2026-0147")
    );

    // Two sales of exactly 20 % and 80 % of 104 705.73 to the øre: 20 941.15 and 83 764.58,
    // the parts the summary mode below sends too, although each is here the sum of its
    // groups' shares (controlled rounding over the part × group table, money.md).
    let mut sales = session
        .read(
            "sale.sale",
            json!([["reference", "like", format!("winner:{prefix}T-2026-0147:%")]]),
            &[
                "reference",
                "party",
                "total_amount",
                "description",
                "state",
                "lines",
            ],
        )
        .await;
    sales.sort_by_key(|s| s["reference"].as_str().unwrap_or_default().to_string());
    assert_eq!(sales.len(), 2, "{sales:?}");
    let totals: Vec<Decimal> = sales.iter().map(|s| decimal(&s["total_amount"])).collect();
    assert_eq!(
        totals,
        [Decimal::new(2094115, 2), Decimal::new(8376458, 2)],
        "{sales:?}"
    );
    for (sale, label) in sales.iter().zip(["Forskudd", "Ved levering"]) {
        assert_eq!(sale["party"], party_id);
        assert_eq!(sale["state"], "draft");
        assert!(
            sale["description"]
                .as_str()
                .is_some_and(|d| d.contains(&format!("{prefix}P-2026-031")) && d.ends_with(label)),
            "{sale}"
        );
    }

    // Lines per product group: each group's lines over both sales sum to the group's total in
    // the quote, the negative discount group included.
    let lines = session
        .read(
            "sale.line",
            json!([[
                "sale.reference",
                "like",
                format!("winner:{prefix}T-2026-0147:%")
            ]]),
            &["product.code", "amount", "quantity"],
        )
        .await;
    assert_eq!(lines.len(), 10, "{lines:?}");
    let quotes = read_quotes(&project.path().join("fixtures/winner/Quote.json"));
    let quote = &quotes[0];
    for group in ["SKAP", "BENK", "HVIT", "MONT", "RAB"] {
        let expected: Decimal = quote["Lines"]
            .as_array()
            .expect("lines")
            .iter()
            .filter(|l| l["ProductGroup"] == group)
            .map(|l| Decimal::from_str(l["Amount"].as_str().expect("amount")).expect("decimal"))
            .sum();
        let got: Decimal = lines
            .iter()
            .filter(|l| l["product."]["code"] == group)
            .map(|l| decimal(&l["amount"]))
            .sum();
        assert_eq!(got, expected, "group {group}");
    }

    // Nothing new on a second run.
    let all_sales = json!([["reference", "like", format!("winner:{prefix}%")]]);
    let sales_before = session
        .read("sale.sale", all_sales.clone(), &["id"])
        .await
        .len();
    let second = run(project.path(), tryton);
    assert_eq!(count(&second, "delivered"), 0, "{second:#}");
    let sales_after = session.read("sale.sale", all_sales, &["id"]).await.len();
    assert_eq!(sales_after, sales_before);

    // A new accepted quote from the same customer, who has moved: the party's one address is
    // updated, not joined by a second.
    let quotes_path = project.path().join("fixtures/winner/Quote.json");
    let mut quotes = read_quotes(&quotes_path);
    let mut moved = quotes[0].clone();
    moved["Number"] = json!(format!("{prefix}T-2026-0190"));
    moved["ProjectNumber"] = json!(format!("{prefix}P-2026-040"));
    moved["Customer"]["Address"]["Street"] = json!("Kirkegata 3");
    quotes.push(moved);
    write_json(&quotes_path, &Value::Array(quotes));
    let third = run(project.path(), tryton);
    assert_eq!(count(&third, "failed"), 0, "{third:#}");
    let addresses = session
        .read(
            "party.address",
            json!([["party", "=", party_id]]),
            &["street"],
        )
        .await;
    assert_eq!(addresses.len(), 1, "{addresses:?}");
    assert_eq!(addresses[0]["street"], "Kirkegata 3");
    let new_sales = session
        .read(
            "sale.sale",
            json!([["reference", "like", format!("winner:{prefix}T-2026-0190:%")]]),
            &["total_amount"],
        )
        .await;
    assert_eq!(new_sales.len(), 2, "{new_sales:?}");

    amended_quote(tryton, session, prefix, project.path()).await;
}

/// `amend update`: quote T-2026-0152 is re-exported after it became orders, its worktop
/// dearer by 1 000.00. Both sales are still drafts, so both are written over: their lines
/// are the new shares, summing to the new total. Then one sale is cancelled in Tryton and
/// the quote changes again: that sale is left with a dead letter saying it is no longer a
/// draft.
async fn amended_quote(tryton: &Tryton, session: &Session, prefix: &str, project: &Path) {
    let quotes_path = project.join("fixtures/winner/Quote.json");
    let number = format!("{prefix}T-2026-0152");
    let reference = json!([["reference", "like", format!("winner:{number}:%")]]);
    let sales_before = session.read("sale.sale", reference.clone(), &["id"]).await;
    assert_eq!(sales_before.len(), 2, "{sales_before:?}");

    let dearer = |by: Decimal| {
        let mut quotes = read_quotes(&quotes_path);
        let quote = quotes
            .iter_mut()
            .find(|q| q["Number"] == number)
            .expect("the quote");
        let line = &mut quote["Lines"][0];
        let amount = Decimal::from_str(line["Amount"].as_str().expect("amount")).expect("amount");
        line["Amount"] = json!((amount + by).to_string());
        let total = Decimal::from_str(quote["Total"].as_str().expect("total")).expect("total");
        quote["Total"] = json!((total + by).to_string());
        let new_total = total + by;
        write_json(&quotes_path, &Value::Array(quotes));
        new_total
    };
    let total = dearer(Decimal::new(100000, 2));
    // A dry run shows the two amendments and writes nothing.
    let preview = run_as(project, tryton, "--dry-run");
    let amendments: Vec<&Value> = preview["report"]["planned"]
        .as_array()
        .expect("planned")
        .iter()
        .filter(|w| w["operation"] == "amend")
        .collect();
    assert_eq!(amendments.len(), 2, "{preview:#}");
    assert!(amendments.iter().all(|w| w["target"] == "acc.Sale"));
    let untouched = session
        .read("sale.sale", reference.clone(), &["total_amount"])
        .await;
    let before: Decimal = untouched.iter().map(|s| decimal(&s["total_amount"])).sum();
    assert_eq!(before, total - Decimal::new(100000, 2), "a dry run wrote");

    let report = run(project, tryton);
    assert_eq!(count(&report, "failed"), 0, "{report:#}");
    let said = messages(&report, "info");
    assert!(
        said.iter()
            .any(|m| m.starts_with("amend update:") && m.contains(&number)),
        "{said:#?}"
    );
    let mut sales = session
        .read(
            "sale.sale",
            reference.clone(),
            &["reference", "total_amount", "state"],
        )
        .await;
    sales.sort_by_key(|s| s["reference"].as_str().unwrap_or_default().to_string());
    assert_eq!(sales.len(), 2, "written over, not added: {sales:?}");
    let totals: Vec<Decimal> = sales.iter().map(|s| decimal(&s["total_amount"])).collect();
    assert_eq!(totals[0] + totals[1], total, "{sales:?}");
    assert_eq!(totals, [Decimal::new(220000, 2), Decimal::new(880001, 2)]);

    // Cancelled in Tryton (the workflow button, over RPC), the first sale is no longer a
    // draft; the next change leaves it and says so.
    let first_id = sales_before
        .iter()
        .map(|s| s["id"].as_i64().expect("id"))
        .min()
        .expect("id");
    session
        .call(
            "model.sale.sale.cancel",
            json!([[first_id], session.context]),
        )
        .await;
    dearer(Decimal::new(50000, 2));
    let report = run(project, tryton);
    let failures = messages(&report, "failed");
    assert_eq!(failures.len(), 1, "{report:#}");
    assert!(
        failures[0].contains("is no longer a draft (state is `cancelled`)"),
        "{failures:#?}"
    );
    let after = session
        .read("sale.sale", reference, &["id", "total_amount"])
        .await;
    let first = after
        .iter()
        .find(|s| s["id"] == first_id)
        .expect("the cancelled sale");
    assert_eq!(decimal(&first["total_amount"]), Decimal::new(220000, 2));
}

/// Summary lines: one line per sale, the summary product, quantity 1, the part's amount. One
/// quote's customer lives in a country Tryton does not know: that party is a dead letter
/// naming the country, nothing is sent for that quote, and the other quote goes through.
async fn summary_mode(tryton: &Tryton, session: &Session, prefix: &str) {
    let project = project(prefix, "summary");
    let quotes_path = project.path().join("fixtures/winner/Quote.json");
    let mut quotes = read_quotes(&quotes_path);
    let unknown = quotes
        .iter_mut()
        .find(|q| q["Number"] == format!("{prefix}T-2026-0152"))
        .expect("quote T-2026-0152");
    unknown["Customer"]["Address"]["Country"] = json!("ZZ");
    write_json(&quotes_path, &Value::Array(quotes));

    let report = run(project.path(), tryton);
    assert_eq!(count(&report, "delivered"), 4, "{report:#}");
    let failures = messages(&report, "failed");
    assert_eq!(failures.len(), 4, "{failures:#?}");
    assert!(
        failures[0].contains("no acc.Country has code `ZZ`"),
        "{failures:#?}"
    );
    let none = session
        .read(
            "sale.sale",
            json!([["reference", "like", format!("winner:{prefix}T-2026-0152:%")]]),
            &["id"],
        )
        .await;
    assert!(none.is_empty(), "{none:?}");

    let lines = session
        .read(
            "sale.line",
            json!([[
                "sale.reference",
                "like",
                format!("winner:{prefix}T-2026-0147:%")
            ]]),
            &["product.code", "quantity", "amount", "description"],
        )
        .await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    // The parts by largest remainder: 20 941.146 and 83 764.584 → 20 941.15 and 83 764.58.
    let amounts: Vec<Decimal> = lines.iter().map(|l| decimal(&l["amount"])).collect();
    assert_eq!(
        amounts,
        [Decimal::new(2094115, 2), Decimal::new(8376458, 2)]
    );
    for line in &lines {
        assert_eq!(line["product."]["code"], "9000");
        assert_eq!(line["quantity"], 1.0);
        assert!(
            line["description"]
                .as_str()
                .is_some_and(|d| d.contains(&format!("{prefix}T-2026-0147"))),
            "{line}"
        );
    }
}
