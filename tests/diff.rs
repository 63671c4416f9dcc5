//! `ledgerlink diff` from the binary: the webshop-economic example is run once against fake
//! Shopify and e-conomic servers (so the state store holds snapshots of real source records),
//! committed to a throw-away git repository, and then its rules are edited. The diff names the
//! field that changed, before → after, and outcome changes; it exits 0 without a difference,
//! 1 with one and 2 on usage errors, and writes nothing anywhere.

mod support;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;
use support::{webshop, FakeServer};

struct Setup {
    project: tempfile::TempDir,
    shop: FakeServer,
    acc: FakeServer,
}

impl Setup {
    /// webshop-economic run once against seeded fakes, committed in a new git repository.
    fn new() -> Setup {
        let (project, shop, acc) = webshop::seeded();
        let setup = Setup { project, shop, acc };
        let run = setup.ledgerlink(&["run", "--once", "--today", "2026-03-20"]);
        assert!(
            run.status.code() == Some(0) || run.status.code() == Some(1),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(setup.dir().join("state.db").exists());
        std::fs::write(setup.dir().join(".gitignore"), "state.db*\noutbox/\n").expect("write");
        setup.git(&["init", "-q"]);
        setup.git(&["add", "-A"]);
        setup.git(&["commit", "-q", "-m", "the project as it runs"]);
        setup.shop.clear_log();
        setup.acc.clear_log();
        setup
    }

    fn dir(&self) -> &Path {
        self.project.path()
    }

    fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(self.dir())
            .args([
                "-c",
                "user.name=Test",
                "-c",
                "user.email=test@example.invalid",
            ])
            .args(args)
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    fn ledgerlink(&self, args: &[&str]) -> Output {
        webshop::command(&self.shop, &self.acc)
            .args(args)
            .arg(self.dir())
            .output()
            .expect("ledgerlink runs")
    }

    fn diff(&self, against: &str, extra: &[&str]) -> (String, Option<i32>) {
        let mut args = vec!["diff", "--against", against, "--today", "2026-03-20"];
        args.extend(extra);
        let output = self.ledgerlink(&args);
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let stderr = String::from_utf8_lossy(&output.stderr);
        (format!("{stdout}{stderr}"), output.status.code())
    }

    fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.dir().join(file);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    }

    fn assert_nothing_written(&self) {
        for fake in [&self.shop, &self.acc] {
            let writes: Vec<String> = fake
                .requests()
                .iter()
                .filter(|r| r.is_write())
                .map(|r| format!("{} {}", r.method, r.path))
                .collect();
            assert!(writes.is_empty(), "{writes:?}");
        }
    }
}

#[test]
fn a_changed_mapping_is_named_field_by_field_and_exits_1() {
    let setup = Setup::new();
    let (out, code) = setup.diff("HEAD", &[]);
    assert_eq!(code, Some(0), "unchanged rules: {out}");
    assert!(out.contains("\nno difference\n"), "{out}");

    setup.edit(
        "rules/warehouse.rules",
        "carrier = first(shop.Order.shipping_lines.title)",
        "carrier = \"Afhentning\"",
    );
    let (out, code) = setup.diff("HEAD", &[]);
    assert_eq!(code, Some(1), "{out}");
    let section = out
        .split("\nflow ")
        .find(|s| s.starts_with("to_warehouse"))
        .unwrap_or_else(|| panic!("no to_warehouse section:\n{out}"));
    assert!(
        section.contains(
            "    changed create warehouse.PickOrder\n        carrier: \"GLS Pakkeshop\" → \"Afhentning\"\n"
        ),
        "{section}"
    );
    // Only that field changed, and only in that flow.
    assert_eq!(
        out.matches("        ").count(),
        out.matches("        carrier: ").count(),
        "{out}"
    );
    assert!(!out.contains("\nflow orders"), "{out}");

    let (json, code) = setup.diff("HEAD", &["--format", "json"]);
    assert_eq!(code, Some(1));
    let json: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let documents: Vec<&Value> = json["differences"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["documents"].as_array().into_iter().flatten())
        .collect();
    assert!(!documents.is_empty());
    for document in documents {
        assert_eq!(document["change"], "changed");
        assert_eq!(document["target"], "warehouse.PickOrder");
        assert_eq!(document["fields"][0]["path"], "carrier");
        assert_eq!(document["fields"][0]["after"], "Afhentning");
    }
    setup.assert_nothing_written();
}

#[test]
fn a_changed_setting_turns_a_skipped_order_into_documents() {
    let setup = Setup::new();
    setup.edit(
        "ledgerlink.yaml",
        "from_date: 2026-01-01",
        "from_date: 2025-01-01",
    );
    let (out, code) = setup.diff("HEAD", &[]);
    assert_eq!(code, Some(1), "{out}");
    // #1011 (2025-12-28) was before the from-date; now it is invoiced and picked.
    let order = "shop.Order:5830116950\n    outcome skipped: updated_at 2025-12-28 is before `since` 2026-01-01 → sent";
    assert!(out.contains(order), "{out}");
    assert!(
        out.contains("    added create warehouse.PickOrder\n"),
        "{out}"
    );
    setup.assert_nothing_written();
}

#[test]
fn another_project_folder_can_be_the_old_version() {
    let setup = Setup::new();
    let old = tempfile::tempdir().expect("temp dir");
    let copy = |from: &Path, to: &Path| {
        for entry in walk(from) {
            let relative = entry.strip_prefix(from).expect("inside");
            let target = to.join(relative);
            std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            std::fs::copy(&entry, &target).expect("copy");
        }
    };
    copy(&setup.dir().join("rules"), &old.path().join("rules"));
    copy(&setup.dir().join("tables"), &old.path().join("tables"));
    copy(
        &setup.dir().join("connectors"),
        &old.path().join("connectors"),
    );
    std::fs::copy(
        setup.dir().join("ledgerlink.yaml"),
        old.path().join("ledgerlink.yaml"),
    )
    .expect("copy");
    let against = old.path().display().to_string();
    let (out, code) = setup.diff(&against, &[]);
    assert_eq!(code, Some(0), "{out}");

    setup.edit(
        "rules/orders.rules",
        "quantity = 1\n        unitNetPrice = round(s.price / (1 + settings.vat_rate), 2)\n      }\n    }\n    when",
        "quantity = 2\n        unitNetPrice = round(s.price / (1 + settings.vat_rate), 2)\n      }\n    }\n    when",
    );
    let (out, code) = setup.diff(&against, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("    changed create acc.InvoiceDraft\n"),
        "{out}"
    );
    assert!(out.contains("].quantity: 1 → 2\n"), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    let setup = Setup::new();
    let (out, code) = setup.diff("no-such-revision", &[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("`no-such-revision` is neither a folder nor a git revision"),
        "{out}"
    );
    // Rules that do not check cannot be compared.
    setup.edit("rules/warehouse.rules", "carrier =", "carrier ==");
    let (out, code) = setup.diff("HEAD", &[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("the rules now do not check"), "{out}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
