//! UI tests: lint fixtures and snapshot the whole rendered report, as a consultant sees it.
//!
//! # Fixtures
//!
//! Everything lives under `tests/ui/`, grouped by code range (`LL0xx/`, `LL1xx/`, …) plus
//! `new_user/` (first mistakes a consultant makes) and `bad_messages/` (messages we know are
//! poor, kept as tests until they are improved; each says in a `# Why poor:` comment what is
//! wrong and what would be better; when a message is fixed, update its snapshot and move the
//! fixture to its code's folder). A fixture comes in one of two forms:
//!
//! - **A single rule file** `tests/ui/<group>/<name>.rules`. It is linted as the only rule
//!   file of the shared project `tests/ui/ledgerlink.yaml` (systems `winner`, `acc` (tryton),
//!   `crm` (webcrm) and `erp` (uniconta), the same shape as `src/check/testing.rs`), with the
//!   fixture's own folder as project folder (so `csv "tables/x.csv"` is read relative to it).
//!   The shared project file is not under test: its unused settings (LL503) are not reported,
//!   every other finding in it is.
//! - **A project folder** `tests/ui/<group>/<name>/` holding `ledgerlink.yaml` and
//!   `rules/*.rules` (and, if needed, `tables/`, `connectors/`). It is loaded with
//!   `Project::load` exactly as `ledgerlink lint` loads a project, so findings about the
//!   project file itself (LL501, LL503, LL601, LL602, LL604) can be tested.
//!
//! # Expectations
//!
//! Each file of a fixture lists, in comment lines, the findings expected *in that file*:
//!
//! ```text
//! # expect: LL103 at line 4      a finding with code LL103 whose main label starts on line 4
//! # expect: LL601                a finding with code LL601 in this file, at any line or none
//! ```
//!
//! Line numbers count every line of the file, header included. The list is complete: the
//! test fails when an expected finding is missing (a rule stopped firing) and when a finding
//! is reported that no header expects (a new false positive). Repeat a line to expect two
//! findings of one code on one line. Other comment lines (`# why: …`) are free text.
//!
//! # Snapshots
//!
//! The whole report, rendered by `ledgerlink::diagnostic::render_human(&diagnostics, false,
//! 100)` (no colour, width 100, so it is identical on every machine), is compared with
//! `tests/ui/snapshots/<group>__<name>.snap`. File names in the report are relative to the
//! crate root, which is where cargo runs integration tests.
//!
//! `cargo-insta` is not needed: `INSTA_UPDATE=always cargo test --test ui` writes the
//! snapshots (review every diff with `git diff tests/ui/snapshots` before committing);
//! `INSTA_UPDATE=no cargo test --test ui` (and CI) only compares.
//!
//! # Other checks
//!
//! - every registered code except the internal LL900 has at least one fixture expecting it
//!   (LL602, a broken connector profile, is covered by a project fixture with its own
//!   `connectors/` folder);
//! - every snapshot belongs to a fixture;
//! - the `## Example` of each `docs/lints/<ID>.md` page that is a `rules` snippet raises its
//!   code (and no other error) when linted against the shared project, and its `## Use
//!   instead` snippet raises no error at all (warnings such as an unused table are allowed).
//!   Pages whose examples are YAML (LL501, LL503, LL601, LL602, LL604) or text (LL900) are
//!   skipped. `tests/ui/tables/vat_groups.csv` exists for the LL603 page's example;
//! - `docs/lints/README.md` lists every code with its name, default severity and status.

use std::{
    collections::BTreeSet,
    fs,
    panic::{catch_unwind, AssertUnwindSafe},
    path::{Path, PathBuf},
};

use ledgerlink::{
    check,
    connector::registry::Profiles,
    diagnostic::{self, codes, CodeStatus, Diagnostic, Severity},
    project::{Project, RuleFile},
    source::SourceFile,
};

/// The folder of all fixtures, relative to the crate root.
const UI: &str = "tests/ui";
/// The project file single-file fixtures are linted against.
const SHARED_PROJECT: &str = "tests/ui/ledgerlink.yaml";
/// Codes that cannot be raised from a user's files.
const NO_FIXTURE_NEEDED: &[&str] = &[
    // internal-error: a bug in ledgerlink itself, never the user's doing.
    "LL900",
];

// ───────────────────────────── fixtures ─────────────────────────────

/// A fixture: one rule file, or a project folder.
#[derive(Debug)]
enum Fixture {
    RuleFile(PathBuf),
    Project(PathBuf),
}

impl Fixture {
    fn path(&self) -> &Path {
        match self {
            Fixture::RuleFile(p) | Fixture::Project(p) => p,
        }
    }

    /// `LL1xx__unknown_field`: the fixture path below `tests/ui`, without extension.
    fn snapshot_name(&self) -> String {
        let relative = self
            .path()
            .strip_prefix(UI)
            .expect("fixtures are under tests/ui");
        let relative = relative.with_extension("");
        relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("__")
    }

    /// The files of the fixture that can hold `# expect:` lines.
    fn files(&self) -> Vec<PathBuf> {
        match self {
            Fixture::RuleFile(p) => vec![p.clone()],
            Fixture::Project(dir) => {
                let mut files = Vec::new();
                collect_files(dir, &mut files);
                files.retain(|f| {
                    f.extension()
                        .is_some_and(|e| e == "rules" || e == "yaml" || e == "yml")
                });
                files
            }
        }
    }
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Every fixture under `tests/ui`, in path order. A sub-folder with a `ledgerlink.yaml` is
/// a project fixture (its content is not searched further); any other `.rules` file is a
/// single-file fixture.
fn fixtures() -> Vec<Fixture> {
    assert!(
        Path::new(UI).is_dir(),
        "run the UI tests from the crate root (cargo does): {UI} not found"
    );
    let mut out = Vec::new();
    walk(Path::new(UI), &mut out);
    out
}

fn walk(dir: &Path, out: &mut Vec<Fixture>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.is_dir() {
            if name == "snapshots" {
                continue;
            }
            if path.join("ledgerlink.yaml").is_file() {
                out.push(Fixture::Project(slashed(&path)));
            } else {
                walk(&path, out);
            }
        } else if name.ends_with(".rules") {
            out.push(Fixture::RuleFile(slashed(&path)));
        }
    }
}

/// The same path written with `/`, so names in reports match on every platform.
fn slashed(path: &Path) -> PathBuf {
    PathBuf::from(path.to_string_lossy().replace('\\', "/"))
}

// ───────────────────────────── linting ─────────────────────────────

/// Lints a fixture the way `ledgerlink lint` would; returns sorted diagnostics.
fn lint(fixture: &Fixture) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    match fixture {
        Fixture::Project(dir) => {
            let project = Project::load(dir, &mut diagnostics)
                .unwrap_or_else(|e| panic!("cannot load {}: {e}", dir.display()));
            diagnostics.extend(check::check(&project));
        }
        Fixture::RuleFile(path) => {
            let text = fs::read_to_string(path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            diagnostics = lint_in_shared_project(&path.to_string_lossy(), &text, dir);
        }
    }
    diagnostic::sort(&mut diagnostics);
    diagnostics
}

/// Lints one rule file as the only rule file of the shared project; drops the shared
/// project's unused-setting warnings, which are not under test.
fn lint_in_shared_project(name: &str, text: &str, dir: PathBuf) -> Vec<Diagnostic> {
    let yaml = fs::read_to_string(SHARED_PROJECT)
        .unwrap_or_else(|e| panic!("cannot read {SHARED_PROJECT}: {e}"));
    let mut diagnostics = Vec::new();
    let project = Project {
        dir,
        file: SourceFile::new(SHARED_PROJECT, yaml.as_str()),
        config: serde_yaml_ng::from_str(&yaml).ok(),
        rules: vec![RuleFile::parse(
            SourceFile::new(name, text),
            &mut diagnostics,
        )],
        profiles: Profiles::shipped(&mut diagnostics),
    };
    assert!(project.config.is_some(), "{SHARED_PROJECT} must parse");
    diagnostics.extend(check::check(&project));
    diagnostics.retain(|d| {
        !(d.code.id == codes::UNUSED_SETTING.id
            && d.file.as_ref().is_some_and(|f| f.name == SHARED_PROJECT))
    });
    diagnostic::sort(&mut diagnostics);
    diagnostics
}

// ─────────────────────────── expectations ───────────────────────────

/// One `# expect:` line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expected {
    code: String,
    file: String,
    line: Option<usize>,
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} at {}:{line}", self.code, self.file),
            None => write!(f, "{} in {}", self.code, self.file),
        }
    }
}

/// Parses the `# expect:` lines of a file. Panics on a malformed line, so a typo in a
/// header cannot silently expect nothing.
fn expectations(path: &Path) -> Vec<Expected> {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let file = path.to_string_lossy().into_owned();
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("# expect:") else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        let malformed = || -> ! {
            panic!(
                "{file}:{}: write `# expect: LL103 at line 4` or `# expect: LL103`, not `{}`",
                index + 1,
                line.trim()
            )
        };
        let code = match words.first() {
            Some(code) if codes::lookup(code).is_some_and(|c| c.id == *code) => code.to_string(),
            _ => malformed(),
        };
        let line = match words.as_slice() {
            [_] => None,
            [_, "at", "line", n] => Some(n.parse::<usize>().unwrap_or_else(|_| malformed())),
            _ => malformed(),
        };
        out.push(Expected {
            code,
            file: file.clone(),
            line,
        });
    }
    out
}

/// What a diagnostic is, in the terms of an expectation.
fn actual(d: &Diagnostic) -> Expected {
    let file = d.file.as_ref().map(|f| f.name.clone()).unwrap_or_default();
    let line = match (&d.file, d.primary_span()) {
        (Some(f), Some(span)) => Some(f.line_column(span.start).0),
        _ => None,
    };
    Expected {
        code: d.code.id.to_string(),
        file,
        line,
    }
}

/// Compares expectations with findings; returns a description of every difference.
fn compare(expected: &[Expected], diagnostics: &[Diagnostic]) -> Vec<String> {
    let mut left: Vec<(Expected, &Diagnostic)> =
        diagnostics.iter().map(|d| (actual(d), d)).collect();
    let mut problems = Vec::new();
    // Exact lines first, so a line-less expectation cannot take a finding another one needs.
    let mut ordered: Vec<&Expected> = expected.iter().filter(|e| e.line.is_some()).collect();
    ordered.extend(expected.iter().filter(|e| e.line.is_none()));
    for want in ordered {
        let hit = left.iter().position(|(got, _)| {
            got.code == want.code
                && got.file == want.file
                && (want.line.is_none() || got.line == want.line)
        });
        match hit {
            Some(i) => {
                left.remove(i);
            }
            None => problems.push(format!("expected {want}, not reported")),
        }
    }
    for (got, d) in left {
        problems.push(format!(
            "reported {got} but no `# expect:` line asks for it: {}",
            d.message
        ));
    }
    problems
}

// ───────────────────────────── the tests ─────────────────────────────

/// Lints every fixture, checks its expectations and snapshots its report.
#[test]
fn ui_fixtures() {
    let fixtures = fixtures();
    assert!(!fixtures.is_empty(), "no fixtures under {UI}");
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let name = fixture.snapshot_name();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let diagnostics = lint(fixture);
            let expected: Vec<Expected> = fixture
                .files()
                .iter()
                .flat_map(|f| expectations(f))
                .collect();
            assert!(
                !expected.is_empty(),
                "{} has no `# expect:` line; every fixture says what it must raise",
                fixture.path().display()
            );
            let report = diagnostic::render_human(&diagnostics, false, 100);
            let problems = compare(&expected, &diagnostics);
            assert!(
                problems.is_empty(),
                "{}:\n  {}\n\nthe report was:\n{report}",
                fixture.path().display(),
                problems.join("\n  ")
            );
            let mut settings = insta::Settings::clone_current();
            settings.set_snapshot_path("ui/snapshots");
            settings.set_prepend_module_to_snapshot(false);
            settings.set_input_file(fixture.path());
            settings.set_omit_expression(true);
            settings.bind(|| insta::assert_snapshot!(name.clone(), report));
        }));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "snapshot mismatch".to_string());
            failures.push(format!("── {name}\n{message}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} UI fixtures failed:\n\n{}",
        failures.len(),
        fixtures.len(),
        failures.join("\n\n")
    );
}

/// Every snapshot belongs to a fixture, so a renamed or deleted fixture does not leave a
/// stale `.snap` behind (insta does not complain about unreferenced snapshots by itself).
#[test]
fn every_snapshot_has_a_fixture() {
    let names: BTreeSet<String> = fixtures().iter().map(Fixture::snapshot_name).collect();
    let dir = Path::new(UI).join("snapshots");
    let mut orphans = Vec::new();
    for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
    {
        let file = entry
            .expect("directory entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        match file.strip_suffix(".snap") {
            Some(name) if names.contains(name) => {}
            _ => orphans.push(file),
        }
    }
    assert!(
        orphans.is_empty(),
        "files in {} that belong to no fixture (delete them, or rename .snap.new after review): {orphans:?}",
        dir.display()
    );
}

/// Every code a user can cause has a fixture that expects it, so a rule that stops firing
/// fails a test.
#[test]
fn every_code_has_a_fixture() {
    let mut covered = BTreeSet::new();
    for fixture in fixtures() {
        for file in fixture.files() {
            covered.extend(expectations(&file).into_iter().map(|e| e.code));
        }
    }
    let missing: Vec<&str> = codes::ALL
        .iter()
        .filter(|c| !matches!(c.status, CodeStatus::Removed { .. }))
        .map(|c| c.id)
        .filter(|id| !NO_FIXTURE_NEEDED.contains(id) && !covered.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "no UI fixture under {UI} has an `# expect:` line for {missing:?}"
    );
}

/// The fenced block of kind `lang` right after `heading` in a docs page, if any.
fn fenced_after<'a>(doc: &'a str, heading: &str, lang: &str) -> Option<&'a str> {
    let section = &doc[doc.find(heading)? + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let open = format!("```{lang}\n");
    let start = section.find(&open)? + open.len();
    let end = section[start..].find("```")?;
    Some(&section[start..start + end])
}

/// The rule-file examples of the docs pages do what they say: `## Example` raises the
/// page's code, `## Use instead` raises no error (warnings of other codes are allowed).
#[test]
fn docs_examples_raise_their_code() {
    let mut problems = Vec::new();
    for code in codes::ALL {
        if code.status != CodeStatus::Stable || NO_FIXTURE_NEEDED.contains(&code.id) {
            continue;
        }
        let Some(example) = fenced_after(code.doc, "## Example", "rules") else {
            continue;
        };
        let name = format!("docs/lints/{}.md", code.id);
        let found =
            lint_in_shared_project(&format!("{name} (Example)"), example, PathBuf::from(UI));
        if !found.iter().any(|d| d.code.id == code.id) {
            problems.push(format!(
                "{name}: the example does not raise {}; it raises {:?}",
                code.id,
                found.iter().map(|d| d.code.id).collect::<Vec<_>>()
            ));
        }
        let others: Vec<&str> = found
            .iter()
            .filter(|d| d.code.id != code.id && d.severity == Severity::Error)
            .map(|d| d.code.id)
            .collect();
        if !others.is_empty() {
            problems.push(format!(
                "{name}: the example should show only {}, but also raises {others:?}:\n{}",
                code.id,
                diagnostic::render_human(&found, false, 100)
            ));
        }
        let Some(fixed) = fenced_after(code.doc, "## Use instead", "rules") else {
            problems.push(format!("{name}: `## Use instead` has no ```rules block"));
            continue;
        };
        let found =
            lint_in_shared_project(&format!("{name} (Use instead)"), fixed, PathBuf::from(UI));
        let errors: Vec<&Diagnostic> = found
            .iter()
            .filter(|d| d.severity == Severity::Error || d.code.id == code.id)
            .collect();
        if !errors.is_empty() {
            let owned: Vec<Diagnostic> = errors.into_iter().cloned().collect();
            problems.push(format!(
                "{name}: the `Use instead` snippet is not clean:\n{}",
                diagnostic::render_human(&owned, false, 100)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// `docs/lints/README.md` has one row per code, with the registry's name, severity and
/// status, and a link to its page.
#[test]
fn lints_readme_lists_every_code() {
    let readme = fs::read_to_string("docs/lints/README.md").expect("docs/lints/README.md exists");
    let mut problems = Vec::new();
    for code in codes::ALL {
        let severity = match code.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let status = match code.status {
            CodeStatus::Stable => "Stable".to_string(),
            CodeStatus::Preview => "Preview".to_string(),
            CodeStatus::Removed { since } => format!("Removed in {since}"),
        };
        let prefix = format!(
            "| [{id}]({id}.md) | `{}` | {severity} |",
            code.name,
            id = code.id
        );
        match readme.lines().find(|l| l.starts_with(&prefix)) {
            None => problems.push(format!("no row starting `{prefix}`")),
            Some(row) if !row.trim_end().ends_with(&format!("| {status} |")) => problems.push(
                format!("{}: the row should end with `| {status} |`", code.id),
            ),
            Some(_) => {}
        }
    }
    let rows = readme.lines().filter(|l| l.starts_with("| [LL")).count();
    if rows != codes::ALL.len() {
        problems.push(format!("{rows} rows for {} codes", codes::ALL.len()));
    }
    assert!(
        problems.is_empty(),
        "docs/lints/README.md:\n{}",
        problems.join("\n")
    );
}
