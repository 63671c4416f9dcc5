//! End to end from the binary against the fake Shopify and e-conomic servers: payments.
//! An order paid by a method settled at once gets a voucher that registers the payment of
//! its booked invoice; the acquirer's payout report is matched to the open invoices of its
//! orders and booked (net to the bank, fees to their account, the invoices settled) only
//! when it reconciles; a payout that does not is reported and nothing is sent for it.

mod support;

use std::path::Path;

use rust_decimal::Decimal;
use serde_json::{json, Value};
use support::{
    state_stores,
    webshop::{self, seeded},
    FakeServer, StateStore,
};

fn run(project: &Path, shop: &FakeServer, acc: &FakeServer, store: &StateStore) -> Value {
    let mut command = webshop::command(shop, acc);
    store.apply(&mut command);
    let output = command
        .args(["run"])
        .arg(project)
        .args(["--once", "--format", "json", "--today", "2026-03-20"])
        .output()
        .expect("ledgerlink runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The vouchers in the fake e-conomic whose first line's text contains `text`.
fn vouchers(acc: &FakeServer, text: &str) -> Vec<Value> {
    acc.records("JournalVoucher")
        .into_iter()
        .filter(|v| {
            v["financeVouchers"][0]["text"]
                .as_str()
                .is_some_and(|t| t.contains(text))
        })
        .collect()
}

fn messages(report: &Value) -> Vec<String> {
    report["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str().map(str::to_string))
        .collect()
}

/// `(invoice, amount)` of a voucher's customer payments, amounts as exact texts.
fn payments(voucher: &Value) -> Vec<(i64, String)> {
    voucher["customerPayments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["customerInvoice"].as_i64().expect("invoice number"),
                format!("{:.2}", p["amount"].as_f64().expect("amount")),
            )
        })
        .collect()
}

#[test]
fn payments_are_registered_and_payouts_booked_only_when_they_reconcile() {
    for store in state_stores() {
        payments_on(&store);
    }
}

fn payments_on(store: &StateStore) {
    eprintln!("state store: {}", store.backend);
    let (project, shop, acc) = seeded();
    let report = run(project.path(), &shop, &acc, store);

    // Payout 4471 (three sales, a refund, a fee line) matches the open invoices and the
    // credit note of its orders exactly: one voucher, net to the bank, fees to their
    // account, and a customer payment per invoice for its open amount.
    let booked = vouchers(&acc, "NETS-2026-0309-4471");
    assert_eq!(booked.len(), 1, "{booked:#?}");
    let voucher = &booked[0];
    assert_eq!(voucher["accountingYear"], json!({ "year": "2026" }));
    let lines: Vec<(i64, String)> = voucher["financeVouchers"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["account"].as_i64().expect("account"),
                format!("{:.2}", l["amount"].as_f64().expect("amount")),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [(5820, "5018.04".to_string()), (7220, "177.46".to_string())]
    );
    assert_eq!(
        payments(voucher),
        [
            (20401, "-449.00".to_string()),
            (20405, "1249.00".to_string()),
            (20409, "3496.50".to_string()),
            (20410, "899.00".to_string()),
        ]
    );
    // Balanced: what reached the bank plus the fees is what the customers paid.
    let sum = |entries: &[(i64, String)]| -> Decimal {
        entries
            .iter()
            .map(|(_, a)| a.parse::<Decimal>().expect("amount"))
            .sum()
    };
    assert_eq!(sum(&lines), sum(&payments(voucher)));
    for payment in voucher["customerPayments"].as_array().expect("payments") {
        assert_eq!(payment["date"], "2026-03-09");
        assert!(payment["customer"].as_i64().is_some(), "{payment}");
    }

    // Payout 4480 pays order #1039, which has no invoice in e-conomic: it does not
    // reconcile, so nothing is booked and the export log says why.
    assert!(vouchers(&acc, "NETS-2026-0310-4480").is_empty());
    let said = messages(&report);
    assert!(
        said.iter().any(|m| m
            == "payout NETS-2026-0310-4480 does not reconcile: 2849.00 paid for orders with 2199.00 open"),
        "{said:#?}"
    );

    // Order #1042 was paid with MobilePay, which the shop settles at once; its customer
    // reaches e-conomic, and the next run invoices the order and registers its payment:
    // MobilePay's account debited, the booked invoice settled for the order's total.
    acc.seed(
        "Customer",
        vec![json!({
            "customerNumber": 10300, "name": "Café Solsikke", "email": "indkob@cafesolsikke.dk",
            "currency": "DKK", "customerGroup": 2, "vatZone": 1, "paymentTerms": 1, "layout": 19
        })],
    );
    // The invoice of order #1039 is found too (booked by hand), so payout 4480 reconciles.
    acc.seed(
        "BookedInvoice",
        vec![json!({
            "bookedInvoiceNumber": 20420, "date": "2026-03-08", "currency": "DKK",
            "customer": 10207, "references": { "other": "#1039" },
            "grossAmount": "650.00", "remainder": "650.00"
        })],
    );
    let report = run(project.path(), &shop, &acc, store);
    assert_eq!(report["report"]["failed"], 0, "{report:#}");
    let registered = vouchers(&acc, "ordre #1042");
    assert_eq!(registered.len(), 1, "{:#?}", acc.records("JournalVoucher"));
    let voucher = &registered[0];
    // The account comes from the payment-method table (CSV), so it is sent as the table's
    // text.
    assert_eq!(voucher["financeVouchers"][0]["account"], "5831");
    // The order's total as the shop sent it (a numeric text).
    assert_eq!(voucher["financeVouchers"][0]["amount"], "1335.40");
    let invoice = acc
        .records("BookedInvoice")
        .into_iter()
        .filter(|b| b.get("draftInvoice").is_some())
        .map(|b| b["bookedInvoiceNumber"].as_i64().expect("number"))
        .max()
        .expect("the order's booked invoice");
    assert_eq!(payments(voucher), [(invoice, "1335.40".to_string())]);

    // The payout that did not reconcile is booked now that it does; the other is not
    // booked again.
    let booked = vouchers(&acc, "NETS-2026-0310-4480");
    assert_eq!(booked.len(), 1, "{booked:#?}");
    assert_eq!(
        payments(&booked[0]),
        [
            (20414, "2199.00".to_string()),
            (20420, "650.00".to_string())
        ]
    );
    assert_eq!(vouchers(&acc, "NETS-2026-0309-4471").len(), 1);

    // Quiet: nothing is written again.
    let writes = acc.writes();
    let again = run(project.path(), &shop, &acc, store);
    assert_eq!(again["report"]["delivered"], 0, "{again:#}");
    assert_eq!(acc.writes(), writes);
}

#[test]
fn a_refunded_order_gets_a_credit_note_of_its_invoice() {
    for store in state_stores() {
        refund_on(&store);
    }
}

fn refund_on(store: &StateStore) {
    eprintln!("state store: {}", store.backend);
    let (project, shop, acc) = seeded();
    run(project.path(), &shop, &acc, store);
    // Order #1041 was invoiced: its draft and the booked invoice.
    let drafts = acc.records("InvoiceDraft");
    let draft = drafts
        .iter()
        .find(|d| d["references"]["other"] == "#1041")
        .expect("the draft of #1041")
        .clone();
    // A credit note is a draft invoice in e-conomic: both live at /invoices/drafts, so the
    // credit note is the draft of #1041 that is not the invoice's.
    let credit_notes = || -> Vec<Value> {
        acc.records("CreditNote")
            .into_iter()
            .filter(|n| {
                n["references"]["other"] == "#1041"
                    && n["draftInvoiceNumber"] != draft["draftInvoiceNumber"]
            })
            .collect()
    };
    assert!(credit_notes().is_empty());

    // The customer returns everything; the shop refunds the order.
    assert!(shop.modify(
        "Order",
        5830117001_i64,
        json!({ "financial_status": "refunded" })
    ));
    let report = run(project.path(), &shop, &acc, store);
    let notes = credit_notes();
    assert_eq!(notes.len(), 1, "{report:#}");
    let note = &notes[0];
    // The invoice's customer, recipient, currency, layout and terms, dated the refund's run.
    for field in ["customer", "currency", "layout", "paymentTerms"] {
        assert_eq!(note[field], draft[field], "{field}: {note:#}");
    }
    // The recipient as far as a draft invoice declares it (the rules wrote the whole
    // customer record there; the credit copies only what the entity can be written with).
    let recipient = note["recipient"].as_object().expect("recipient");
    assert!(recipient.contains_key("name") && recipient.contains_key("vatZone"));
    for (field, value) in recipient {
        assert_eq!(value, &draft["recipient"][field], "recipient.{field}");
    }
    assert!(recipient.get("balance").is_none());
    assert_eq!(note["date"], "2026-03-20");
    // Every line of the invoice, at the negative quantity, the same product and net price.
    let lines = note["lines"].as_array().expect("credit lines");
    let invoiced = draft["lines"].as_array().expect("invoice lines");
    assert_eq!(lines.len(), invoiced.len());
    for (credit, line) in lines.iter().zip(invoiced) {
        assert_eq!(credit["product"], line["product"]);
        assert_eq!(credit["unitNetPrice"], line["unitNetPrice"]);
        let quantity = |v: &Value| {
            v.to_string()
                .trim_matches('"')
                .parse::<Decimal>()
                .expect("quantity")
        };
        assert_eq!(quantity(&credit["quantity"]), -quantity(&line["quantity"]));
        assert!(
            credit.get("totalNetAmount").is_none(),
            "read-only fields are not copied"
        );
    }

    // Quiet: nothing is written again.
    let writes = acc.writes();
    let again = run(project.path(), &shop, &acc, store);
    assert_eq!(again["report"]["delivered"], 0, "{again:#}");
    assert_eq!(acc.writes(), writes);
}

#[test]
fn a_booked_order_that_changes_is_left_as_sent_and_the_log_says_so() {
    let store = &state_stores()[0];
    let (project, shop, acc) = seeded();
    run(project.path(), &shop, &acc, store);
    let writes = acc.writes();
    // Order #1041, invoiced and booked, gets another note and a dearer line in the shop.
    let mut order = shop
        .records("Order")
        .into_iter()
        .find(|o| o["name"] == "#1041")
        .expect("order #1041");
    order["line_items"][0]["price"] = json!("499.00");
    assert!(shop.modify(
        "Order",
        5830117001_i64,
        json!({ "line_items": order["line_items"] })
    ));
    let report = run(project.path(), &shop, &acc, store);
    assert_eq!(acc.writes(), writes, "amend ignore: nothing written");
    let said = messages(&report);
    assert!(
        said.iter().any(|m| m
            == "amend ignore: shop.Order:5830117001 changed after its documents were sent; acc.InvoiceDraft left as sent"),
        "{said:#?}"
    );
}
