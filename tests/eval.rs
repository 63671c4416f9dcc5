//! Run-time evaluation of compiled rule expressions against JSON records
//! (`ledgerlink::eval::record`), and the exact splits of `ledgerlink::eval::split` as
//! properties over random plans, totals and product groups.

use std::{path::Path, str::FromStr};

use chrono::NaiveDate;
use indexmap::IndexMap;
use ledgerlink::{
    diagnostic::Severity,
    eval::{
        record::{evaluate, group_by, part_value, truthy, Env, NoCollections},
        split::{
            split_amount, split_amount_by_weights, split_table, split_table_by_weights,
            SplitErrorKind,
        },
        EvalErrorKind, Value,
    },
    plan::{self, Plan, PlanExpr, Step},
    project::Project,
};
use proptest::prelude::*;
use rust_decimal::Decimal;

// ---------------------------------------------------------------------------------------
// A small project whose expressions are evaluated against the kitchen-quotes fixtures.

const PROJECT: &str = r#"
name: eval-test
systems:
  winner: { connector: winner, options: { path: fixtures/Quote.json } }
  acc:
    connector: tryton
    options: { url: "http://127.0.0.1:8000", database: ledgerlink }
    auth: { login: env:TRYTON_USER, password: env:TRYTON_PASSWORD }
settings:
  payment_plan: [ { share: 20%, label: Forskudd }, { share: 80%, label: "Ved levering" } ]
  from_date: 2026-01-01
  unit: u
  fallback_currency: NOK
  vat_rate: 0.25
"#;

const RULES: &str = r#"
table group_accounts {
  "SKAP" => 3000
  "BENK" | "HVIT" => 3010
  _ => 3099
}

flow quotes {
  on winner.Quote when ConvertedToOrder becomes true and Status == "Accepted"
  since settings.from_date

  let title = "Tilbud {winner.Quote.Number} ({winner.Quote.Date}) – {winner.Quote.Customer.Name}: {winner.Quote.Total} {winner.Quote.Currency}{winner.Quote.Customer.OrgNumber}"
  let amounts = winner.Quote.Lines.Amount
  let net = sum(winner.Quote.Lines.Amount)
  let reconciles = sum(winner.Quote.Lines.Amount) == winner.Quote.Total
  let biggest = max(winner.Quote.Lines.Amount)
  let big = winner.Quote.Total > 50000
  let vat = round(winner.Quote.Total * 25%)
  let vat_by_setting = round(winner.Quote.Total * settings.vat_rate)
  let credit = -winner.Quote.Total
  let currency = winner.Quote.Currency ?? settings.fallback_currency
  let first_account = group_accounts[first(winner.Quote.Lines.ProductGroup)]
  let unknown_account = group_accounts["NOPE"]
  let null_account = group_accounts[winner.Quote.Customer.OrgNumber]
  let second_amount = winner.Quote.Lines[1].Amount
  let far_line = winner.Quote.Lines[99]
  let city = winner.Quote.Customer.Address.City
  let labels = settings.payment_plan.label
  let shares = sum(settings.payment_plan.share)
  let started = settings.from_date <= winner.Quote.Date
  let plan_kind = if count(settings.payment_plan) > 1 then "instalments" else "single"
  let email = lower(trim(winner.Quote.Customer.Email))
  let lines = count(winner.Quote.Lines)
  let customer = first(find acc.Party where code == winner.Quote.Customer.Number)
  let known = exists acc.Party where code == winner.Quote.Customer.Number
  let summary = { number: winner.Quote.Number, lines: count(winner.Quote.Lines) }

  split winner.Quote.Total by settings.payment_plan as part {
    create acc.Sale {
      party = customer
      reference = "winner:{winner.Quote.Number}:{part.index}"
      description = "Tilbud {winner.Quote.Number} – {part.label}"
      sale_date = winner.Quote.Date
      currency = winner.Quote.Currency
      lines group winner.Quote.Lines by ProductGroup as g {
        type = "line"
        product = g.key
        description = "{g.first.ProductGroupName} – {part.label} ({g.count} linjer)"
        quantity = 1
        unit = settings.unit
        unit_price = part.share(sum(g.Amount))
      }
    }
  }
}

flow status_changes {
  on winner.Quote when Status changed
  upsert acc.Party by code == winner.Quote.Customer.Number {
    name = winner.Quote.Customer.Name
  }
}
"#;

/// The compiled test project.
fn plan() -> Plan {
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("ledgerlink.yaml"), PROJECT).expect("writes");
    std::fs::create_dir(dir.path().join("rules")).expect("mkdir");
    std::fs::write(dir.path().join("rules/quotes.rules"), RULES).expect("writes");
    let mut diagnostics = Vec::new();
    let project = Project::load(dir.path(), &mut diagnostics).expect("a project");
    diagnostics.extend(ledgerlink::check::check(&project));
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{} {}", d.code.id, d.message))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    plan::compile(&project)
}

/// The quotes of the kitchen-quotes example (amounts are JSON strings, as Winner sends them).
fn quotes() -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/kitchen-quotes/fixtures/winner/Quote.json");
    let text = std::fs::read_to_string(path).expect("the fixture");
    serde_json::from_str(&text).expect("JSON")
}

fn steps_of<'p>(plan: &'p Plan, flow: &str) -> &'p [Step] {
    &plan
        .flows
        .iter()
        .find(|f| f.name == flow)
        .expect("the flow")
        .steps
}

/// The value of `let name = …` in the flow `quotes`.
fn let_expr<'p>(plan: &'p Plan, name: &str) -> &'p PlanExpr {
    steps_of(plan, "quotes")
        .iter()
        .find_map(|step| match step {
            Step::Let {
                name: n,
                value: Some(value),
                ..
            } if n == name => Some(value),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no `let {name}`"))
}

/// The first `field = …` anywhere below `steps`.
fn set_expr<'p>(steps: &'p [Step], field: &str) -> Option<&'p PlanExpr> {
    steps.iter().find_map(|step| match step {
        Step::Set { field: f, value } if f == field => Some(value),
        Step::Write { body, .. }
        | Step::Split { body, .. }
        | Step::Line { body }
        | Step::LinesFor { body, .. }
        | Step::LinesGroup { body, .. } => set_expr(body, field),
        Step::When {
            then, otherwise, ..
        } => set_expr(then, field).or_else(|| set_expr(otherwise, field)),
        _ => None,
    })
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 10).expect("a date")
}

fn number(text: &str) -> Value {
    Value::Number(Decimal::from_str(text).expect("a decimal"))
}

fn decimal(text: &str) -> Decimal {
    Decimal::from_str(text).expect("a decimal")
}

/// Evaluates every `let` of the flow `quotes` named in `expected` against `record` and
/// compares the results as the rule language prints them.
fn lets_give(record: &serde_json::Value, expected: &[(&str, &str)]) {
    let plan = plan();
    let parties: IndexMap<(String, String), Vec<serde_json::Value>> = [(
        ("acc".to_string(), "Party".to_string()),
        vec![
            serde_json::json!({ "id": 7, "code": "K-99999", "name": "Another" }),
            serde_json::json!({ "id": 12, "code": "K-10442", "name": "Nordby Eiendom AS" }),
        ],
    )]
    .into_iter()
    .collect();
    let env = Env {
        record: Some(record),
        ..Env::new(&plan.settings, &plan.tables, &parties, today())
    };
    for (name, want) in expected {
        match evaluate(let_expr(&plan, name), &env) {
            Ok(value) => assert_eq!(value.to_string(), *want, "let {name}"),
            Err(err) => panic!("let {name}: {err}"),
        }
    }
}

#[test]
fn interpolation_paths_and_lookups_on_a_real_quote() {
    // A private customer: no organisation number (null interpolates as nothing).
    let mut quote = quotes()[0].clone();
    quote["Customer"]["OrgNumber"] = serde_json::Value::Null;
    lets_give(
        &quote,
        &[
            (
                "title",
                r#""Tilbud T-2026-0147 (2026-03-04) – Nordby Eiendom AS: 104705.73 NOK""#,
            ),
            (
                "amounts",
                r#"["38450.00", "12399.90", "4210.18", "-5506.01", "18990.00", "14995.00", "9999.99", "14500.00", "-3333.33"]"#,
            ),
            ("net", "104705.73"),
            ("reconciles", "true"),
            ("biggest", "38450.00"),
            ("big", "true"),
            ("vat", "26176.43"),
            ("vat_by_setting", "26176.43"),
            ("credit", "-104705.73"),
            ("currency", r#""NOK""#),
            ("first_account", "3000"),
            ("unknown_account", "3099"),
            ("null_account", "3099"),
            ("second_amount", r#""12399.90""#),
            ("far_line", "null"),
            ("city", r#""Lillehammer""#),
            ("labels", r#"["Forskudd", "Ved levering"]"#),
            ("shares", "100%"),
            ("started", "true"),
            ("plan_kind", r#""instalments""#),
            ("email", r#""post@nordbyeiendom.no""#),
            ("lines", "9"),
            (
                "customer",
                r#"{ id: 12, code: "K-10442", name: "Nordby Eiendom AS" }"#,
            ),
            ("known", "true"),
            ("summary", r#"{ number: "T-2026-0147", lines: 9 }"#),
        ],
    );
}

#[test]
fn another_quote_finds_no_customer() {
    let mut quote = quotes()[1].clone();
    quote["Customer"]["Number"] = "K-00000".into();
    // No currency: `??` falls back to the setting. An unknown key finds the `_` row.
    quote.as_object_mut().unwrap().remove("Currency");
    quote["Customer"]["OrgNumber"] = "999".into();
    lets_give(
        &quote,
        &[
            ("customer", "null"),
            ("known", "false"),
            ("first_account", "3000"),
            ("big", "false"),
            ("net", "10000.01"),
            ("currency", r#""NOK""#),
            ("null_account", "3099"),
        ],
    );
}

#[test]
fn grouped_lines_take_each_parts_share() {
    let plan = plan();
    let quote = &quotes()[0];
    let steps = steps_of(&plan, "quotes");
    let (amount, plan_expr, body) = steps
        .iter()
        .find_map(|s| match s {
            Step::Split {
                amount, plan, body, ..
            } => Some((amount, plan, body)),
            _ => None,
        })
        .expect("a split");
    let collections = NoCollections;
    let env = Env {
        record: Some(quote),
        ..Env::new(&plan.settings, &plan.tables, &collections, today())
    };
    assert_eq!(
        evaluate(amount, &env).unwrap().to_string(),
        r#""104705.73""#
    );
    let Value::List(parts) = evaluate(plan_expr, &env).unwrap() else {
        panic!("the payment plan is a list")
    };
    let Some(Step::Write { body: sale, .. }) = body.first() else {
        panic!("the split creates a sale")
    };
    let (list, key, line) = sale
        .iter()
        .find_map(|s| match s {
            Step::LinesGroup {
                list, key, body, ..
            } => Some((list, key, body)),
            _ => None,
        })
        .expect("lines group");
    let groups = group_by(&evaluate(list, &env).unwrap(), key).unwrap();
    assert_eq!(groups.len(), 5);
    let price = set_expr(line, "unit_price").expect("unit_price");
    let description = set_expr(line, "description").expect("description");
    let mut prices = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let Value::Record(fields) = part else {
            panic!("a part record")
        };
        let Some(Value::Percent(share)) = fields.get("share") else {
            panic!("settings type 20% as a percentage")
        };
        let part = part_value(decimal("0"), fields["label"].clone(), i + 1, *share, 2, 1);
        let mut row = Vec::new();
        for group in &groups {
            let vars = vec![
                ("part".to_string(), part.clone().into()),
                ("g".to_string(), group.clone().into()),
            ];
            let line_env = Env { vars: &vars, ..env };
            row.push(evaluate(price, &line_env).unwrap().to_string());
            if i == 0 && row.len() == 1 {
                assert_eq!(
                    evaluate(description, &line_env).unwrap().to_string(),
                    r#""Skap og fronter – Forskudd (4 linjer)""#
                );
            }
        }
        prices.push(row.join(" "));
    }
    assert_eq!(
        prices,
        [
            "9910.81 3798.00 4999.00 2900.00 -666.67",
            "39643.26 15192.00 19995.99 11600.00 -2666.66"
        ]
    );

    // Each line rounded on its own (as `part.share` does without the runtime's table): the
    // groups reconcile here, but the first part's lines sum to 20 941.14 where the part is
    // 20 941.15. The controlled rounding the runtime uses reconciles the groups and gives
    // the parts exactly the plain split of the total, rounding the largest group's smaller
    // share up instead.
    let group_amounts: Vec<Decimal> = ["49554.07", "18990.00", "24994.99", "14500.00", "-3333.33"]
        .iter()
        .map(|g| decimal(g))
        .collect();
    let table = split_table(&group_amounts, &[decimal("20"), decimal("80")], 2).unwrap();
    let shown: Vec<String> = table
        .iter()
        .map(|row| {
            row.iter()
                .map(Decimal::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        shown,
        [
            "9910.82 3798.00 4999.00 2900.00 -666.67",
            "39643.25 15192.00 19995.99 11600.00 -2666.66"
        ]
    );
    let rows: Vec<Decimal> = table.iter().map(|row| row.iter().sum()).collect();
    assert_eq!(
        split_amount(decimal("104705.73"), &[decimal("20"), decimal("80")], 2).unwrap(),
        rows
    );
    assert_eq!(rows, [decimal("20941.15"), decimal("83764.58")]);
}

#[test]
fn becomes_and_changed_look_at_the_snapshot() {
    let plan = plan();
    let flow = |name: &str| {
        plan.flows
            .iter()
            .find(|f| f.name == name)
            .and_then(|f| f.trigger.as_ref())
            .and_then(|t| t.condition.as_ref())
            .expect("a trigger condition")
    };
    let accepted = flow("quotes");
    let changed = flow("status_changes");
    let quotes = quotes();
    let collections = NoCollections;
    let fires =
        |condition: &PlanExpr, record: &serde_json::Value, previous: Option<&serde_json::Value>| {
            let env = Env {
                record: Some(record),
                subject: Some(record),
                previous,
                ..Env::new(&plan.settings, &plan.tables, &collections, today())
            };
            truthy(condition, &env).unwrap()
        };
    let converted = &quotes[0];
    let mut before = converted.clone();
    before["ConvertedToOrder"] = false.into();
    // First sight of a record that already has the value counts as `becomes` (sync.md).
    assert!(fires(accepted, converted, None));
    assert!(fires(accepted, converted, Some(&before)));
    assert!(!fires(accepted, converted, Some(converted)));
    // Not accepted (Sent) and not converted: never.
    assert!(!fires(accepted, &quotes[2], None));
    // Accepted but not converted to an order.
    assert!(!fires(accepted, &quotes[3], None));
    // A missing field in the snapshot is `null`, which is not `true`.
    let mut bare = converted.clone();
    bare.as_object_mut().unwrap().remove("ConvertedToOrder");
    assert!(fires(accepted, converted, Some(&bare)));
    assert!(!fires(accepted, &bare, None));

    assert!(fires(changed, converted, None));
    assert!(!fires(changed, converted, Some(converted)));
    let mut sent = converted.clone();
    sent["Status"] = "Sent".into();
    assert!(fires(changed, converted, Some(&sent)));
    // Changing another field does not change the status.
    assert!(!fires(changed, converted, Some(&before)));
}

// ---------------------------------------------------------------------------------------
// Hand-built expressions for the corners the project above does not reach.

fn path(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn literal(value: ledgerlink::syntax::ast::Literal) -> Box<PlanExpr> {
    Box::new(PlanExpr::Literal { value })
}

fn eval_on(
    expr: &PlanExpr,
    record: &serde_json::Value,
) -> Result<Value, ledgerlink::eval::EvalError> {
    let settings = IndexMap::new();
    let collections = NoCollections;
    let env = Env {
        record: Some(record),
        subject: Some(record),
        ..Env::new(&settings, &[], &collections, today())
    };
    evaluate(expr, &env)
}

#[test]
fn paths_flatten_lists_and_index_records_by_key() {
    use ledgerlink::syntax::ast::Literal;
    let record = serde_json::json!({
        "Orders": [
            { "Lines": [ { "Amount": 1 }, { "Amount": "2.50" } ] },
            { "Lines": [ { "Amount": 3 } ] },
            { "Lines": [] },
            { "NoLines": true }
        ],
        "custom": { "1041": "5790000000000", "EAN": "x" },
        "Name": "Acme"
    });
    let amounts = PlanExpr::Record {
        path: path(&["Orders", "Lines", "Amount"]),
    };
    assert_eq!(
        eval_on(&amounts, &record).unwrap().to_string(),
        r#"[1, "2.50", 3, null]"#
    );
    let sum = PlanExpr::Call {
        function: "sum".into(),
        args: vec![amounts.clone()],
    };
    assert_eq!(eval_on(&sum, &record).unwrap(), number("6.50"));
    let custom = PlanExpr::Index {
        base: Box::new(PlanExpr::Field {
            path: path(&["custom"]),
        }),
        index: literal(Literal::Number(Decimal::from(1041))),
    };
    assert_eq!(
        eval_on(&custom, &record).unwrap().to_string(),
        r#""5790000000000""#
    );
    let first = PlanExpr::Index {
        base: Box::new(amounts.clone()),
        index: literal(Literal::Number(Decimal::ZERO)),
    };
    assert_eq!(eval_on(&first, &record).unwrap(), number("1"));
    let fractional = PlanExpr::Index {
        base: Box::new(amounts.clone()),
        index: literal(Literal::Number(decimal("0.5"))),
    };
    assert_eq!(
        eval_on(&fractional, &record).unwrap_err().kind,
        EvalErrorKind::BadArgument
    );
    let on_text = PlanExpr::Record {
        path: path(&["Name", "First"]),
    };
    assert_eq!(eval_on(&on_text, &record).unwrap(), Value::Null);
    let member = PlanExpr::Member {
        base: Box::new(PlanExpr::Call {
            function: "first".into(),
            args: vec![PlanExpr::Record {
                path: path(&["Orders"]),
            }],
        }),
        field: "Lines".into(),
    };
    assert_eq!(
        eval_on(&member, &record).unwrap().to_string(),
        r#"[{ Amount: 1 }, { Amount: "2.50" }]"#
    );
}

#[test]
fn conditions_treat_null_as_false_and_refuse_other_values() {
    use ledgerlink::syntax::ast::{BinaryOp, Literal, UnaryOp};
    let record = serde_json::json!({ "Active": true, "Count": 3 });
    let missing = PlanExpr::Field {
        path: path(&["Missing"]),
    };
    let settings = IndexMap::new();
    let collections = NoCollections;
    let env = Env {
        subject: Some(&record),
        ..Env::new(&settings, &[], &collections, today())
    };
    assert!(!truthy(&missing, &env).unwrap());
    let not_missing = PlanExpr::Unary {
        op: UnaryOp::Not,
        operand: Box::new(missing.clone()),
    };
    assert!(truthy(&not_missing, &env).unwrap());
    let or = PlanExpr::Binary {
        op: BinaryOp::Or,
        left: Box::new(missing.clone()),
        right: Box::new(PlanExpr::Field {
            path: path(&["Active"]),
        }),
    };
    assert!(truthy(&or, &env).unwrap());
    let count = PlanExpr::Field {
        path: path(&["Count"]),
    };
    assert_eq!(
        truthy(&count, &env).unwrap_err().kind,
        EvalErrorKind::TypeMismatch
    );
    // `12.50` sent as text compares with a number exactly, but two texts still join with `+`.
    let text = |t: &str| literal(Literal::Text(t.into()));
    let equal = PlanExpr::Binary {
        op: BinaryOp::Eq,
        left: text("12.50"),
        right: literal(Literal::Number(decimal("12.5"))),
    };
    assert!(truthy(&equal, &env).unwrap());
    let joined = PlanExpr::Binary {
        op: BinaryOp::Add,
        left: text("12.50"),
        right: text("1"),
    };
    assert_eq!(
        eval_on(&joined, &record).unwrap().to_string(),
        r#""12.501""#
    );
    let product = PlanExpr::Binary {
        op: BinaryOp::Mul,
        left: text("12.50"),
        right: text("3"),
    };
    assert_eq!(eval_on(&product, &record).unwrap(), number("37.50"));
    let not_a_number = PlanExpr::Binary {
        op: BinaryOp::Add,
        left: text("12,50"),
        right: literal(Literal::Number(Decimal::ONE)),
    };
    assert_eq!(
        eval_on(&not_a_number, &record).unwrap_err().kind,
        EvalErrorKind::TypeMismatch
    );
    let date_text = PlanExpr::Binary {
        op: BinaryOp::Lt,
        left: text("2026-03-01"),
        right: Box::new(PlanExpr::Call {
            function: "today".into(),
            args: vec![],
        }),
    };
    assert!(truthy(&date_text, &env).unwrap());
    // A name with no binding is an error, not a silent null.
    let unbound = PlanExpr::Var {
        name: "part".into(),
        path: vec![],
    };
    assert_eq!(
        eval_on(&unbound, &record).unwrap_err().kind,
        EvalErrorKind::NotConstant
    );
}

#[test]
fn part_share_rounds_half_away_from_zero() {
    use ledgerlink::syntax::ast::Literal;
    let part = part_value(
        decimal("50.00"),
        Value::Text("A".into()),
        1,
        decimal("12.5"),
        2,
        1,
    );
    let vars = vec![("part".to_string(), part.into())];
    let settings = IndexMap::new();
    let collections = NoCollections;
    let env = Env {
        vars: &vars,
        ..Env::new(&settings, &[], &collections, today())
    };
    let share = |amount: &str| PlanExpr::Method {
        receiver: Box::new(PlanExpr::Var {
            name: "part".into(),
            path: vec![],
        }),
        method: "share".into(),
        args: vec![PlanExpr::Literal {
            value: Literal::Text(amount.into()),
        }],
    };
    // 0.20 × 12.5 % = 0.025 → 0.03; −0.025 → −0.03; 100 × 12.5 % = 12.50.
    for (amount, want) in [("0.20", "0.03"), ("-0.20", "-0.03"), ("100", "12.50")] {
        assert_eq!(evaluate(&share(amount), &env).unwrap().to_string(), want);
    }
    let index = PlanExpr::Var {
        name: "part".into(),
        path: path(&["index"]),
    };
    assert_eq!(evaluate(&index, &env).unwrap(), number("1"));
}

// ---------------------------------------------------------------------------------------
// Splits: fixed cases

fn decimals(values: &[&str]) -> Vec<Decimal> {
    values.iter().map(|v| decimal(v)).collect()
}

#[test]
fn split_amount_by_largest_remainder() {
    let thirds = decimals(&["33.34", "33.33", "33.33"]);
    assert_eq!(
        split_amount(decimal("100.00"), &thirds, 2).unwrap(),
        decimals(&["33.34", "33.33", "33.33"])
    );
    assert_eq!(
        split_amount_by_weights(decimal("0.02"), &decimals(&["1", "1", "1"]), 2).unwrap(),
        decimals(&["0.01", "0.01", "0.00"])
    );
    assert_eq!(
        split_amount_by_weights(decimal("-0.02"), &decimals(&["1", "1", "1"]), 2).unwrap(),
        decimals(&["-0.01", "-0.01", "0.00"])
    );
    for (shares, kind) in [
        (decimals(&[]), SplitErrorKind::EmptyPlan),
        (decimals(&["50", "49.99"]), SplitErrorKind::SharesNot100),
        (decimals(&["110", "-10"]), SplitErrorKind::NegativeShare),
    ] {
        assert_eq!(
            split_amount(decimal("1"), &shares, 2).unwrap_err().kind,
            kind,
            "{shares:?}"
        );
    }
    assert_eq!(
        split_amount(decimal("1.005"), &decimals(&["100"]), 2)
            .unwrap_err()
            .kind,
        SplitErrorKind::NotMinorUnits
    );
    assert_eq!(
        split_table_by_weights(&decimals(&["1"]), &decimals(&["0", "0"]), 2)
            .unwrap_err()
            .kind,
        SplitErrorKind::EmptyPlan
    );
}

/// Every floor/ceil rounding of the table: does one have these row sums and the exact
/// column sums? (Brute force over at most 2^cells tables.)
fn some_rounding_has_rows(groups: &[i128], weights: &[i128], rows: &[i128]) -> bool {
    let total: i128 = weights.iter().sum();
    let cells: Vec<(usize, usize, i128, bool)> = (0..weights.len())
        .flat_map(|p| {
            groups.iter().enumerate().map(move |(g, &group)| {
                let exact = group * weights[p];
                (p, g, exact.div_euclid(total), exact.rem_euclid(total) != 0)
            })
        })
        .collect();
    let free: Vec<usize> = (0..cells.len()).filter(|&i| cells[i].3).collect();
    (0u64..1 << free.len()).any(|choice| {
        let mut row_sums = vec![0i128; weights.len()];
        let mut column_sums = vec![0i128; groups.len()];
        for (i, &(p, g, floor, _)) in cells.iter().enumerate() {
            let up = free
                .iter()
                .position(|&f| f == i)
                .is_some_and(|bit| choice >> bit & 1 == 1);
            let cell = floor + i128::from(up);
            row_sums[p] += cell;
            column_sums[g] += cell;
        }
        row_sums == rows && column_sums == groups
    })
}

#[test]
fn money_md_counterexample_fixing_rows_first_is_infeasible() {
    // Shares 1/4, 1/6, 1/6, 1/4, 1/6; groups 28 and 6 minor units; total 34.
    let weights = decimals(&["3", "2", "2", "3", "2"]);
    let groups = decimals(&["0.28", "0.06"]);
    let rows_first = split_amount_by_weights(decimal("0.34"), &weights, 2).unwrap();
    assert_eq!(
        rows_first,
        decimals(&["0.08", "0.06", "0.06", "0.08", "0.06"])
    );
    assert!(!some_rounding_has_rows(
        &[28, 6],
        &[3, 2, 2, 3, 2],
        &[8, 6, 6, 8, 6]
    ));

    let table = split_table_by_weights(&groups, &weights, 2).unwrap();
    check_table(&[28, 6], &[3, 2, 2, 3, 2], &to_units_table(&table));
    let rows: Vec<i128> = to_units_table(&table)
        .iter()
        .map(|r| r.iter().sum())
        .collect();
    assert!(some_rounding_has_rows(&[28, 6], &[3, 2, 2, 3, 2], &rows));
    assert_eq!(rows.iter().sum::<i128>(), 34);

    // The same with a discount group and with the groups negated.
    for groups in [[28, -6], [-28, 6], [-28, -6]] {
        let amounts: Vec<Decimal> = groups.iter().map(|g| Decimal::new(*g as i64, 2)).collect();
        let table = split_table_by_weights(&amounts, &weights, 2).unwrap();
        check_table(&groups, &[3, 2, 2, 3, 2], &to_units_table(&table));
    }
}

/// Tables found by the random search below on which "rows first" (largest remainder on the
/// total, then round the cells) has no solution, as money.md warns.
#[test]
fn rows_first_fails_where_controlled_rounding_does_not() {
    let cases: [(&[i128], &[i128]); 6] = [
        (&[16, 48, 50], &[2, 5, 6, 5, 2]),
        (&[66, 45], &[2, 6, 6, 5, 5, 6]),
        (&[38, 35], &[5, 3, 3, 5, 5]),
        (&[18, 11], &[6, 5, 5, 6, 5]),
        (&[1735, -1846], &[6, 5, 6, 6, 5, 5, 5]),
        (&[-1216, -1308], &[3, 2, 6, 3, 2, 6, 2]),
    ];
    for (groups, weights) in cases {
        let amounts: Vec<Decimal> = groups.iter().map(|g| amount(*g, 2)).collect();
        let exact: Vec<Decimal> = weights.iter().map(|w| Decimal::from(*w as i64)).collect();
        let total = amount(groups.iter().sum(), 2);
        let rows_first: Vec<i128> = split_amount_by_weights(total, &exact, 2)
            .unwrap()
            .iter()
            .map(|r| to_units(*r, 2))
            .collect();
        assert!(
            !some_rounding_has_rows(groups, weights, &rows_first),
            "{groups:?} {weights:?}"
        );
        let table = split_table_by_weights(&amounts, &exact, 2).unwrap();
        check_table(groups, weights, &to_units_table(&table));
    }
}

// ---------------------------------------------------------------------------------------
// Splits: properties

/// A table of decimals at scale 2 as minor units.
fn to_units_table(table: &[Vec<Decimal>]) -> Vec<Vec<i128>> {
    table
        .iter()
        .map(|row| row.iter().map(|cell| to_units(*cell, 2)).collect())
        .collect()
}

fn to_units(amount: Decimal, scale: u32) -> i128 {
    let mut amount = amount;
    amount.rescale(scale);
    assert_eq!(amount.scale(), scale, "{amount} is not at scale {scale}");
    amount.mantissa()
}

fn amount(units: i128, scale: u32) -> Decimal {
    Decimal::from_i128_with_scale(units, scale)
}

/// `a` is the floor or the ceiling of `exact / total` (strictly within one unit).
fn within_one_unit(a: i128, exact_numerator: i128, total: i128) -> bool {
    (a * total - exact_numerator).abs() < total
}

/// The three controlled-rounding properties of money.md, for integer weights.
fn check_table(groups: &[i128], weights: &[i128], table: &[Vec<i128>]) {
    let total_weight: i128 = weights.iter().sum();
    let total: i128 = groups.iter().sum();
    assert_eq!(table.len(), weights.len());
    for (g, &group) in groups.iter().enumerate() {
        let column: i128 = table.iter().map(|row| row[g]).sum();
        assert_eq!(column, group, "column {g} of {table:?}");
    }
    let mut rows_total = 0;
    for (p, row) in table.iter().enumerate() {
        assert_eq!(row.len(), groups.len());
        let row_sum: i128 = row.iter().sum();
        rows_total += row_sum;
        assert!(
            within_one_unit(row_sum, total * weights[p], total_weight),
            "row {p} = {row_sum} of {table:?}, groups {groups:?}, weights {weights:?}"
        );
        for (g, &cell) in row.iter().enumerate() {
            assert!(
                within_one_unit(cell, groups[g] * weights[p], total_weight),
                "cell {p},{g} = {cell} of {table:?}, groups {groups:?}, weights {weights:?}"
            );
        }
    }
    assert_eq!(rows_total, total);
}

fn check_parts(total: i128, weights: &[i128], parts: &[i128]) {
    let total_weight: i128 = weights.iter().sum();
    assert_eq!(parts.iter().sum::<i128>(), total, "{parts:?}");
    for (p, &part) in parts.iter().enumerate() {
        assert!(
            within_one_unit(part, total * weights[p], total_weight),
            "part {p} = {part} of {total} by {weights:?}"
        );
    }
}

/// Integer weights as 2-decimal percentages summing to exactly 100, by largest remainder on
/// 10 000 hundredths (written independently of the code under test). Returned as the
/// percentages and as the integer weights they stand for (hundredths of a percent).
fn percentages(weights: &[u32]) -> (Vec<Decimal>, Vec<i128>) {
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    let mut parts: Vec<(u64, u64)> = weights
        .iter()
        .map(|w| {
            let exact = 10_000 * u64::from(*w);
            (exact / total, exact % total)
        })
        .collect();
    let leftover = 10_000 - parts.iter().map(|p| p.0).sum::<u64>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| parts[b].1.cmp(&parts[a].1));
    for &i in order.iter().take(leftover as usize) {
        parts[i].0 += 1;
    }
    (
        parts.iter().map(|p| Decimal::new(p.0 as i64, 2)).collect(),
        parts.iter().map(|p| p.0 as i128).collect(),
    )
}

fn weights() -> impl Strategy<Value = Vec<u32>> {
    // 2–7 parts with weights up to 12, so thirds, sixths, sevenths and elevenths all occur.
    prop::collection::vec(0u32..=12, 2..=7)
        .prop_filter("a part with weight", |w| w.iter().any(|x| *x > 0))
}

fn total_units() -> impl Strategy<Value = i128> {
    prop_oneof![
        Just(0i128),
        Just(1),
        Just(-1),
        -1_000i128..1_000,
        -100_000_000i128..100_000_000,
        // Huge: near 10²² minor units (10²⁰ kroner), still inside a decimal.
        -10i128.pow(22)..10i128.pow(22),
    ]
}

fn groups() -> impl Strategy<Value = Vec<i128>> {
    prop::collection::vec(
        prop_oneof![
            3 => -5_000i128..20_000,
            2 => -3i128..=3,
            1 => -10i128.pow(20)..10i128.pow(20),
        ],
        1..=6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

    #[test]
    fn split_amount_reconciles(total in total_units(), weights in weights(), scale in 0u32..=3) {
        let (shares, share_weights) = percentages(&weights);
        let parts = split_amount(amount(total, scale), &shares, scale).unwrap();
        let units: Vec<i128> = parts.iter().map(|p| to_units(*p, scale)).collect();
        check_parts(total, &share_weights, &units);
        // Sign symmetry: splitting −t gives −(the split of t).
        let negated = split_amount(amount(-total, scale), &shares, scale).unwrap();
        prop_assert!(negated.iter().zip(&parts).all(|(n, p)| *n == -*p));

        let exact: Vec<Decimal> = weights.iter().map(|w| Decimal::from(*w)).collect();
        let int_weights: Vec<i128> = weights.iter().map(|w| i128::from(*w)).collect();
        let parts = split_amount_by_weights(amount(total, scale), &exact, scale).unwrap();
        let units: Vec<i128> = parts.iter().map(|p| to_units(*p, scale)).collect();
        check_parts(total, &int_weights, &units);
    }

    #[test]
    fn split_table_is_a_controlled_rounding(groups in groups(), weights in weights()) {
        let amounts: Vec<Decimal> = groups.iter().map(|g| amount(*g, 2)).collect();
        let (shares, share_weights) = percentages(&weights);
        let table = split_table(&amounts, &shares, 2).unwrap();
        check_table(&groups, &share_weights, &to_units_table(&table));

        let exact: Vec<Decimal> = weights.iter().map(|w| Decimal::from(*w)).collect();
        let int_weights: Vec<i128> = weights.iter().map(|w| i128::from(*w)).collect();
        let table = split_table_by_weights(&amounts, &exact, 2).unwrap();
        check_table(&groups, &int_weights, &to_units_table(&table));
    }

    /// The parts are those of a plain split of the total whenever some rounding of the cells
    /// has them (checked by brute force on small tables), so a grouped order shows the same
    /// part amount as a summary one.
    #[test]
    fn rows_are_the_plain_split_whenever_some_rounding_has_them(
        groups in prop::collection::vec(-60i128..200, 1..=3),
        weights in prop::collection::vec(1u32..=7, 2..=4),
    ) {
        let amounts: Vec<Decimal> = groups.iter().map(|g| amount(*g, 2)).collect();
        let exact: Vec<Decimal> = weights.iter().map(|w| Decimal::from(*w)).collect();
        let int_weights: Vec<i128> = weights.iter().map(|w| i128::from(*w)).collect();
        let table = to_units_table(&split_table_by_weights(&amounts, &exact, 2).unwrap());
        check_table(&groups, &int_weights, &table);
        let total = amount(groups.iter().sum(), 2);
        let plain: Vec<i128> = split_amount_by_weights(total, &exact, 2)
            .unwrap()
            .iter()
            .map(|p| to_units(*p, 2))
            .collect();
        let rows: Vec<i128> = table.iter().map(|row| row.iter().sum()).collect();
        if some_rounding_has_rows(&groups, &int_weights, &plain) {
            prop_assert_eq!(rows, plain);
        }
    }

    #[test]
    fn one_group_splits_as_split_amount(total in total_units(), weights in weights()) {
        let exact: Vec<Decimal> = weights.iter().map(|w| Decimal::from(*w)).collect();
        let table = split_table_by_weights(&[amount(total, 2)], &exact, 2).unwrap();
        let column: Vec<Decimal> = table.iter().map(|row| row[0]).collect();
        prop_assert_eq!(column, split_amount_by_weights(amount(total, 2), &exact, 2).unwrap());
    }
}

/// money.md: about one table in 20 000–40 000 defeats "rows first". Many tables with odd
/// exact shares, tiny and mixed-sign groups, from a fixed-seed generator so a failure
/// repeats; with these settings the seed meets several such tables.
#[test]
fn many_random_tables_with_odd_shares() {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |bound: u64| {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound) as i128
    };
    for i in 0..100_000 {
        // Alternately: few parts and two small groups; many parts and mixed-sign groups.
        let (parts, weight, group_count, low, high) = if i % 2 == 0 {
            (2 + next(4), 6, 1 + next(2), 0, 40)
        } else {
            (2 + next(6), 7, 1 + next(6), -5_000, 5_000)
        };
        let weights: Vec<i128> = (0..parts).map(|_| 1 + next(weight)).collect();
        let groups: Vec<i128> = (0..group_count)
            .map(|_| low + next((high - low) as u64))
            .collect();
        let amounts: Vec<Decimal> = groups.iter().map(|g| amount(*g, 2)).collect();
        let exact: Vec<Decimal> = weights.iter().map(|w| Decimal::from(*w as i64)).collect();
        let table = split_table_by_weights(&amounts, &exact, 2).unwrap();
        check_table(&groups, &weights, &to_units_table(&table));
    }
}
