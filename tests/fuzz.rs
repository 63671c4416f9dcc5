//! Bounded fuzzing in the test command: arbitrary text and mutated example rule files go
//! through parse, check and compile; nothing may panic. (The coverage-guided harness for
//! longer runs is in `fuzz/`, run with `cargo fuzz run parse`.)

mod common;

use ledgerlink::{
    check,
    connector::registry::Profiles,
    plan,
    project::{Project, RuleFile},
    source::SourceFile,
    syntax,
};
use proptest::prelude::*;

/// Tokens the grammar cares about, so mutations reach deep into the parser.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "<->",
    "->",
    "<-",
    "==",
    "=",
    "??",
    "\"",
    "{x}",
    "#",
    "\n",
    "sync",
    "flow",
    "view",
    "table",
    "when",
    "else",
    "becomes",
    "lines",
    "line",
    "split",
    "by",
    "as",
    "create",
    "upsert",
    "%",
    "20%",
    "2026-02-30",
    "999999999999999999999999999999",
    "`",
    "and",
    "not in",
    "-",
    ".",
    ",",
    "_ =>",
];

fn examples_text() -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    for dir in common::examples() {
        for entry in std::fs::read_dir(dir.join("rules"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
        {
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                out.push((dir.clone(), text));
            }
        }
    }
    out
}

/// Applies `edits` (position, token, delete-length) to `text` on char boundaries.
fn mutate(text: &str, edits: &[(usize, usize, usize)]) -> String {
    let mut s = text.to_string();
    for &(position, token, delete) in edits {
        if s.is_empty() {
            s.push_str(TOKENS[token % TOKENS.len()]);
            continue;
        }
        let mut at = position % s.len();
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + delete % 8).min(s.len());
        while !s.is_char_boundary(end) {
            end += 1;
        }
        s.replace_range(at..end, TOKENS[token % TOKENS.len()]);
    }
    s
}

fn lint_and_compile(dir: &std::path::Path, text: &str) {
    let mut diagnostics = Vec::new();
    let mut project = Project::load(dir, &mut diagnostics).expect("example loads");
    project.rules = vec![RuleFile::parse(
        SourceFile::new("fuzz.rules", text),
        &mut diagnostics,
    )];
    let found = check::check(&project);
    let _ = ledgerlink::diagnostic::render_human(&found, false, 80);
    let _ = ledgerlink::diagnostic::render_json(&found);
    let _ = plan::compile(&project);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let file = SourceFile::new("fuzz.rules", text);
        let (_, diagnostics) = syntax::parse(&file);
        let _ = ledgerlink::diagnostic::render_human(&diagnostics, false, 80);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn check_never_panics_on_mutated_examples(
        which in 0usize..64,
        edits in proptest::collection::vec((any::<usize>(), any::<usize>(), any::<usize>()), 1..6),
    ) {
        let examples = examples_text();
        prop_assume!(!examples.is_empty());
        let (dir, text) = &examples[which % examples.len()];
        lint_and_compile(dir, &mutate(text, &edits));
    }
}

#[test]
fn profiles_load_without_panicking_on_garbage() {
    let mut diagnostics = Vec::new();
    let mut profiles = Profiles::default();
    for text in [
        "",
        "name: [",
        "entities: 5",
        "name: x\ntitle: y\ntransport: carrier_pigeon\nentities: {}\n",
    ] {
        profiles.add(&SourceFile::new("bad.yaml", text), &mut diagnostics);
    }
    assert_eq!(diagnostics.len(), 4);
}
