//! Every example lints clean and compiles to a reviewed plan snapshot; formatting the rule
//! files does not change the plan.

mod common;

use std::path::Path;

#[test]
fn every_example_lints_clean() {
    for dir in common::examples() {
        let (_, diagnostics) = common::lint(&dir);
        let found: Vec<String> = diagnostics
            .iter()
            .map(|d| format!("{} {}", d.code.id, d.message))
            .collect();
        assert!(found.is_empty(), "{}: {found:#?}", dir.display());
    }
}

#[test]
fn example_plans_are_snapshotted() {
    let examples = common::examples();
    assert_eq!(examples.len(), 5, "the five reference scenarios");
    for dir in examples {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let plan = common::plan_of(&dir);
        insta::with_settings!({ snapshot_path => "plan/snapshots", prepend_module_to_snapshot => false }, {
            insta::assert_yaml_snapshot!(name, plan);
        });
    }
}

#[test]
fn plans_are_deterministic() {
    for dir in common::examples() {
        let a = serde_json::to_string(&common::plan_of(&dir)).unwrap();
        let b = serde_json::to_string(&common::plan_of(&dir)).unwrap();
        assert_eq!(a, b, "{}", dir.display());
    }
}

#[test]
fn formatting_keeps_the_plan() {
    for dir in common::examples() {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(&dir, copy.path());
        let rules = copy.path().join("rules");
        for entry in std::fs::read_dir(&rules).unwrap().filter_map(Result::ok) {
            let path = entry.path();
            let text = std::fs::read_to_string(&path).unwrap();
            let file = ledgerlink::source::SourceFile::new(path.display().to_string(), text);
            let formatted = ledgerlink::format::format_source(&file).expect("examples parse");
            std::fs::write(&path, formatted).unwrap();
        }
        let before = serde_json::to_value(common::plan_of(&dir)).unwrap();
        let after = serde_json::to_value(common::plan_of(copy.path())).unwrap();
        assert_eq!(before, after, "{}", dir.display());
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().filter_map(Result::ok) {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
