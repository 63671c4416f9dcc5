//! `ledgerlink fmt`: canonical layout, idempotence, meaning and comments kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ledgerlink::format::{comments, format_source};
use ledgerlink::source::SourceFile;
use ledgerlink::syntax::parse;
use serde_json::Value;

fn file(name: &str, text: &str) -> Arc<SourceFile> {
    SourceFile::new(name, text)
}

fn fmt(text: &str) -> String {
    match format_source(&file("test.rules", text)) {
        Ok(out) => out,
        Err(diagnostics) => panic!("unexpected syntax error: {diagnostics:?}\n{text}"),
    }
}

/// The syntax tree as JSON with every span removed.
fn shape(text: &str) -> Value {
    let (ast, diagnostics) = parse(&file("shape.rules", text));
    assert!(
        diagnostics.iter().all(|d| !d.is_error()),
        "does not parse: {diagnostics:?}\n{text}"
    );
    let mut value = serde_json::to_value(&ast).expect("the AST serialises");
    strip_spans(&mut value);
    value
}

fn strip_spans(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("span");
            // `clause_spans` is `[[name, span], …]`: keep the names.
            if let Some(Value::Array(clauses)) = map.get_mut("clause_spans") {
                for clause in clauses.iter_mut() {
                    if let Value::Array(pair) = clause {
                        pair.truncate(1);
                    }
                }
            }
            map.values_mut().for_each(strip_spans);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_spans),
        _ => {}
    }
}

fn comment_texts(text: &str) -> Vec<String> {
    let mut texts: Vec<String> = comments(text).into_iter().map(|c| c.text).collect();
    texts.sort();
    texts
}

/// Every property `fmt` promises, checked on one text.
fn check_properties(name: &str, text: &str) -> String {
    let once = match format_source(&file(name, text)) {
        Ok(out) => out,
        Err(diagnostics) => panic!("{name}: unexpected syntax error: {diagnostics:?}"),
    };
    let twice = fmt(&once);
    assert_eq!(once, twice, "{name}: formatting is not idempotent");
    assert_eq!(
        shape(text),
        shape(&once),
        "{name}: formatting changed the syntax tree\n{once}"
    );
    assert_eq!(
        comment_texts(text),
        comment_texts(&once),
        "{name}: comments were dropped or duplicated\n{once}"
    );
    assert!(
        once.ends_with('\n') && !once.ends_with("\n\n"),
        "{name}: must end with one newline"
    );
    assert!(
        once.lines().all(|l| l == l.trim_end()),
        "{name}: trailing whitespace\n{once}"
    );
    once
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `examples/*/rules/*.rules`, whatever exists right now.
fn example_rule_files() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(examples) = std::fs::read_dir(root().join("examples")) else {
        return found;
    };
    for example in examples.flatten() {
        let Ok(rules) = std::fs::read_dir(example.path().join("rules")) else {
            continue;
        };
        for rule in rules.flatten() {
            let path = rule.path();
            if path.extension().is_some_and(|e| e == "rules") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

// ───────────────────────────── properties ─────────────────────────────

#[test]
fn tour_keeps_every_property() {
    let path = root().join("tests/syntax/tour.rules");
    check_properties("tour.rules", &read(&path));
}

#[test]
fn examples_keep_every_property() {
    for path in example_rule_files() {
        let text = read(&path);
        let name = path.display().to_string();
        // An example being written right now may not parse yet; that is not fmt's concern.
        if format_source(&file(&name, &text)).is_err() {
            eprintln!("skipping {name}: it does not parse");
            continue;
        }
        check_properties(&name, &text);
    }
}

#[test]
fn fixtures_keep_every_property() {
    for (n, text) in [MESSY, COMMENTS, EXPRESSIONS, EDGES, ODDITIES]
        .iter()
        .enumerate()
    {
        check_properties(&format!("fixture {n}"), text);
    }
}

#[test]
fn syntax_error_returns_the_diagnostics() {
    let text = "sync s: a.X <-> b.Y {\n  a.Name <-> \n}\n";
    let diagnostics = format_source(&file("bad.rules", text)).expect_err("a syntax error");
    assert!(!diagnostics.is_empty());
    assert!(diagnostics.iter().any(|d| d.is_error()));
    let (_, parsed) = parse(&file("bad.rules", text));
    assert_eq!(diagnostics.len(), parsed.len());
    assert_eq!(diagnostics[0].message, parsed[0].message);
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(fmt(""), "\n");
    assert_eq!(fmt("\n\n  \n"), "\n");
    assert_eq!(fmt("# only\n\n\n# comments"), "# only\n\n# comments\n");
}

// ───────────────────────────── canonical layout ─────────────────────────────

const MESSY: &str = r#"
sync   orgs :crm.Organisation<->erp.Debtor{link crm.ErpNumber<-erp.Account
match erp.Vat==digits( crm.VatNo )   match similar(erp.Name,crm.Name)>=0.85   suggest


  crm.Name<->erp.Name
      crm.Currency??"DKK"->erp.Currency   conflict   prefer erp on delete unlink}
flow f{on shop.Order when Status becomes "paid"and Total>0 amend ignore
let c=upsert acc.Customer by Number==shop.Order.Customer{Name=shop.Order.Name}
post acc.Voucher to if settings.direct then ledger else inbox{line{Account=1920 Amount=shop.Order.Total}}
when a{X=1}else when b{X=2}else{X=3}
ensure acc.Product by Number=="GIFT"
split shop.Order.Total by[20%,{share:80%,label:"rest"}]as part{}}
view v for crm.Company{order by DueDate desc,Number asc columns Number,Due=DueDate from erp.OpenItem where Customer==crm.Company.Id}
table t{"A"|"B"=>1.50,_=>0}table accounts=csv "a.csv"
"#;

#[test]
fn messy_input_becomes_canonical() {
    let expected = r#"sync orgs: crm.Organisation <-> erp.Debtor {
  link crm.ErpNumber <- erp.Account
  match erp.Vat == digits(crm.VatNo)
  match similar(erp.Name, crm.Name) >= 0.85 suggest

  crm.Name <-> erp.Name
  crm.Currency ?? "DKK" -> erp.Currency
  conflict prefer erp
  on delete unlink
}

flow f {
  on shop.Order when Status becomes "paid" and Total > 0
  amend ignore
  let c = upsert acc.Customer by Number == shop.Order.Customer {
    Name = shop.Order.Name
  }
  post acc.Voucher to if settings.direct then ledger else inbox {
    line {
      Account = 1920
      Amount = shop.Order.Total
    }
  }
  when a {
    X = 1
  } else when b {
    X = 2
  } else {
    X = 3
  }
  ensure acc.Product by Number == "GIFT"
  split shop.Order.Total by [20%, { share: 80%, label: "rest" }] as part {}
}

view v for crm.Company {
  order by DueDate desc, Number
  columns Number, Due = DueDate
  from erp.OpenItem where Customer == crm.Company.Id
}

table t {
  "A" | "B" => 1.50
  _ => 0
}

table accounts = csv "a.csv"
"#;
    assert_eq!(fmt(MESSY), expected);
}

const COMMENTS: &str = r#"#c01 file header

# c02 about orgs
sync orgs: crm.A <-> erp.B { #c03 after brace
  # c04 before first
  crm.Name <-> erp.Name   #c05 trailing
  crm.X <-> erp.X crm.Y <-> erp.Y # c06 after the second of two

  # c07 after a blank line
  require crm.Name,   # c08 inside a statement
     crm.City before create
  # c09 before the closing brace
}   # c10 after the block
flow f {
  post acc.Voucher to ledger {   # c11 on the body's brace
    line { A = 1 # c12 in a line body
    }
    # c13 last in a body
  }
  when a { # c14
  } # c15 between } and else
  else { X = 1 }
  split x by y as p { # c16 in an empty body
  }
  ensure acc.P by N == 1 {
    # c17 in an otherwise empty optional body
  }
  Reference = "not # a comment {x # c18 inside an interpolation
  } \" # still text"
}
table t {
  "A" => 1, # c19 after a comma
  # c20 before the last entry
  _ => 2
}
# c21 end of file"#;

#[test]
fn comments_stay_next_to_what_they_describe() {
    let expected = r#"#c01 file header

# c02 about orgs
sync orgs: crm.A <-> erp.B {  #c03 after brace
  # c04 before first
  crm.Name <-> erp.Name  #c05 trailing
  crm.X <-> erp.X
  crm.Y <-> erp.Y  # c06 after the second of two

  # c07 after a blank line
  # c08 inside a statement
  require crm.Name, crm.City before create
  # c09 before the closing brace
}  # c10 after the block

flow f {
  post acc.Voucher to ledger {  # c11 on the body's brace
    line {
      A = 1  # c12 in a line body
    }
    # c13 last in a body
  }
  # c15 between } and else
  when a {  # c14
  } else {
    X = 1
  }
  split x by y as p {  # c16 in an empty body
  }
  ensure acc.P by N == 1 {
    # c17 in an otherwise empty optional body
  }
  # c18 inside an interpolation
  Reference = "not # a comment {x} \" # still text"
}

table t {
  "A" => 1  # c19 after a comma
  # c20 before the last entry
  _ => 2
}
# c21 end of file
"#;
    let out = fmt(COMMENTS);
    assert_eq!(out, expected);
    // Each marked comment exactly once.
    for n in 1..=21 {
        let marker = format!("c{n:02}");
        assert_eq!(out.matches(&marker).count(), 1, "{marker} in\n{out}");
    }
    assert_eq!(comments(COMMENTS).len(), 21);
    assert_eq!(comments(&out).len(), 21);
}

const EXPRESSIONS: &str = r#"flow e {
  A = (a + b) * c
  B = a + b * c
  C = ((a))
  D = -(a - b) - -c
  E = not (a and b) or not c
  F = "quote \" backslash \\ braces \{ \} newline \n tab \t {x.y ?? "d"}"
  G = 1.50 + 0.85 * 12.5% + 007
  H = `Field name`.`and`.plain_1 + `if`
  I = if a then b else if c then d else e
  J = exists acc.Product where Number == "X" and Active
  K = (find acc.Invoice where Amount > 0).Count
  L = [1, [2, 3], ] + f(a, b, ) + x.y.z(1)[2]
  M = 2026-01-31 + 24h - 15m
  N = a not   in [1] and b in c
  O = a != null and true == false
  P = Status changed and X becomes 1
  `line` = 1
  Q = (if a then b else c) + 1
}
"#;

#[test]
fn expressions_are_printed_canonically() {
    let expected = r#"flow e {
  A = (a + b) * c
  B = a + b * c
  C = ((a))
  D = -(a - b) - -c
  E = not (a and b) or not c
  F = "quote \" backslash \\ braces \{ \} newline \n tab \t {x.y ?? "d"}"
  G = 1.50 + 0.85 * 12.5% + 7
  H = `Field name`.`and`.plain_1 + `if`
  I = if a then b else if c then d else e
  J = exists acc.Product where Number == "X" and Active
  K = (find acc.Invoice where Amount > 0).Count
  L = [1, [2, 3]] + f(a, b) + x.y.z(1)[2]
  M = 2026-01-31 + 24h - 15m
  N = a not in [1] and b in c
  O = a != null and true == false
  P = Status changed and X becomes 1
  `line` = 1
  Q = (if a then b else c) + 1
}
"#;
    assert_eq!(fmt(EXPRESSIONS), expected);
}

const EDGES: &str = "\u{FEFF}flow f {\r\n  when a { X = 1 } else { when b { X = 2 } }\r\n  \
credit acc.Invoice for shop.Order {}\r\n  post acc.V to inbox {}\r\n  `Ørn` = \"å\"\r\n}\r\n\
view v for a.B {}\r\ntable t {}\r\nview w for a.B { columns A columns B from x.Y from x.Z }\r\n";

#[test]
fn edge_cases() {
    let expected = "flow f {
  when a {
    X = 1
  } else {
    when b {
      X = 2
    }
  }
  credit acc.Invoice for shop.Order
  post acc.V to inbox {}
  `Ørn` = \"å\"
}

view v for a.B {}

table t {}

view w for a.B {
  columns A
  columns B
  from x.Y
  from x.Z
}
";
    assert_eq!(fmt(EDGES), expected);
}

/// Rarely written forms: quoted names, optional bodies, nested destinations, trailing commas.
const ODDITIES: &str = r#"sync `my sync`: `crm sys`.`Org X` <-> b.Y {
  hold (a) = 1 while linked
  require (a).b, c[1], f(x) before create
  create erp when requested and x > 1
  link `link`(y) -> z
  `match`(x) -> y
  a -> -b
  x <- -1
  x<-1
}
flow w {
  on a.B when any
  schedule cron "0 6 * * *"
  let x = # between
    ensure a.B by K == 1
  let y = ensure a.C by K == 2 { A = 1 }
  credit acc.I for x { A = 1 }
  post a.V to if x then if y then ledger else inbox else "inbox" {}
  post a.V to settings.dest {}
  A = "{f("a\"b")} and {[1, {a: 1,},]}"
  B = exists a.B
  C = f(1,)[0].g
  lines group L by K as g {}
  when a { } else # c1
  when b { X = 1 } # c2
  else { }
}
view v for a.B { from c.D order by X asc }
table n { 1 => "a", true => "b", 2.50 => 3, }
"#;

#[test]
fn blank_lines_inside_blocks_are_kept_once() {
    let text = "flow f {\n\n\n  A = 1\n\n\n\n  B = 2\n  C = 3\n\n\n}\n\n\n\nflow g {}\n";
    assert_eq!(
        fmt(text),
        "flow f {\n  A = 1\n\n  B = 2\n  C = 3\n}\n\nflow g {}\n"
    );
}

#[test]
fn long_statements_stay_on_one_line() {
    let text = r#"sync s: crm.Organisation <-> erp.Debtor {
  require crm.OrganisationName, crm.OrganisationAddress,
          crm.OrganisationPostCode, crm.OrganisationCity before create  # why
}
flow f {
  require count(lines) > 0
      else "delivery {crm.Delivery.DeliveryNumber} has no lines, so nothing is sent to the ERP"
}
"#;
    let expected = r#"sync s: crm.Organisation <-> erp.Debtor {
  require crm.OrganisationName, crm.OrganisationAddress, crm.OrganisationPostCode, crm.OrganisationCity before create  # why
}

flow f {
  require count(lines) > 0 else "delivery {crm.Delivery.DeliveryNumber} has no lines, so nothing is sent to the ERP"
}
"#;
    assert_eq!(check_properties("long", text), expected);
}

/// `text` with `# zN` inserted at every line start (`own_line`) or at every line end.
fn with_comment_everywhere(text: &str, own_line: bool) -> String {
    let mut out = String::new();
    for (n, line) in text.split_inclusive('\n').enumerate() {
        if own_line {
            out.push_str(&format!("# z{n}\n{line}"));
        } else if line.contains('#') {
            out.push_str(line);
        } else {
            let body = line.trim_end_matches('\n');
            let newline = if line.ends_with('\n') { "\n" } else { "" };
            out.push_str(&format!("{body}  # z{n}{newline}"));
        }
    }
    out
}

#[test]
fn a_comment_on_every_line_is_kept_in_place() {
    let mut texts = vec![(
        "tour".to_string(),
        read(&root().join("tests/syntax/tour.rules")),
    )];
    for (n, fixture) in [MESSY, COMMENTS, EXPRESSIONS, EDGES, ODDITIES]
        .iter()
        .enumerate()
    {
        texts.push((format!("fixture {n}"), fixture.to_string()));
    }
    for path in example_rule_files() {
        texts.push((path.display().to_string(), read(&path)));
    }
    for (name, text) in texts {
        let own = with_comment_everywhere(&text, true);
        let trailing = with_comment_everywhere(&text, false);
        let both = with_comment_everywhere(&trailing, true);
        for (kind, variant) in [("own-line", own), ("trailing", trailing), ("both", both)] {
            if format_source(&file(&name, &variant)).is_err() {
                continue;
            }
            check_properties(&format!("{name} with {kind} comments"), &variant);
        }
    }
}

/// `\\` in a string survives formatting (the parser unescapes it to one backslash).
#[test]
fn backslashes_in_strings_survive() {
    let text = "flow f {\n  A = \"a\\\\b\"\n}\n";
    assert_eq!(fmt(text), text);
}
