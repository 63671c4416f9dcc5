//! `ledgerlink test PROJECT [--fixtures DIR] [--update] [--format human|json]`: replays
//! recorded runs against the project's current rules and compares with their golden files.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{output, Exit, Format};
use crate::runtime::replay::{
    self,
    diff::{self, Difference},
    Recording,
};

/// Arguments of `test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder.
    pub path: PathBuf,
    /// A recording, or a folder of recordings (default: PROJECT/tests).
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// Write what the rules make of each recording as its golden file (expected.json).
    #[arg(long)]
    pub update: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// How one recording fared.
#[derive(Debug, Serialize)]
struct Verdict {
    /// The recording's folder name.
    name: String,
    /// Its path.
    path: String,
    /// passed, failed, updated or error.
    status: &'static str,
    /// The recorded `today`.
    #[serde(skip_serializing_if = "Option::is_none")]
    today: Option<String>,
    /// Source records evaluated.
    records: usize,
    /// Documents written.
    documents: usize,
    /// Why it failed or could not be replayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    /// The differences from the golden file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    differences: Vec<Difference>,
}

/// Replays every recording; exit 0 when all match, 1 on differences, 2 when a recording
/// cannot be read.
pub fn run(args: Args) -> Exit {
    let (project, _warnings) = match super::load_checked(&args.path, "not tested") {
        Ok(checked) => checked,
        Err(exit) => return exit,
    };
    let root = args
        .fixtures
        .as_deref()
        .map(super::absolute)
        .unwrap_or_else(|| project.dir.join("tests"));
    let recordings = match find_recordings(&root) {
        Ok(found) if !found.is_empty() => found,
        Ok(_) => {
            output::error(format!(
                "no recordings in {} (record one with `ledgerlink run PROJECT --record DIR`)",
                root.display()
            ));
            return Exit::Usage;
        }
        Err(err) => {
            output::error(format!("{}: {err}", root.display()));
            return Exit::Usage;
        }
    };
    let verdicts: Vec<Verdict> = recordings
        .iter()
        .map(|dir| test_one(&project, dir, args.update))
        .collect();
    print(&verdicts, args.format);
    if verdicts.iter().any(|v| v.status == "error") {
        Exit::Usage
    } else if verdicts.iter().any(|v| v.status == "failed") {
        Exit::Findings
    } else {
        Exit::Clean
    }
}

/// `root` itself when it is a recording, else its sub-folders that are, by name.
fn find_recordings(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    if Recording::is_recording(root) {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let path = entry?.path();
        if path.is_dir() && Recording::is_recording(&path) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

fn test_one(project: &crate::project::Project, dir: &Path, update: bool) -> Verdict {
    let mut verdict = Verdict {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path: dir.display().to_string(),
        status: "error",
        today: None,
        records: 0,
        documents: 0,
        message: None,
        differences: Vec::new(),
    };
    let result = (|| {
        let recording = Recording::load(dir)?;
        verdict.today = Some(recording.manifest.today.to_string());
        let actual = replay::replay(project, &recording)?;
        (verdict.records, verdict.documents) = actual.counts();
        // A golden file that cannot be read is replaced by --update, else an error.
        let expected = match recording.expected() {
            Err(_) if update => None,
            other => other?,
        };
        if update {
            if expected.as_ref() != Some(&actual) {
                recording.write_expected(&actual)?;
                verdict.status = "updated";
                verdict.message = Some(match expected {
                    Some(old) => format!(
                        "expected.json rewritten ({} differences)",
                        diff::diff(&old, &actual).len()
                    ),
                    None => "expected.json written".to_string(),
                });
            } else {
                verdict.status = "passed";
            }
            return Ok(());
        }
        match expected {
            None => {
                verdict.status = "failed";
                verdict.message = Some(
                    "no expected.json yet: review what the rules make of it and write it with `ledgerlink test --update`"
                        .to_string(),
                );
            }
            Some(expected) => {
                verdict.differences = diff::diff(&expected, &actual);
                verdict.status = if verdict.differences.is_empty() {
                    "passed"
                } else {
                    "failed"
                };
            }
        }
        Ok::<_, crate::runtime::record::RecordingError>(())
    })();
    if let Err(err) = result {
        verdict.status = "error";
        verdict.message = Some(err.to_string());
    }
    verdict
}

fn print(verdicts: &[Verdict], format: Format) {
    let count = |status: &str| verdicts.iter().filter(|v| v.status == status).count();
    if matches!(format, Format::Json) {
        let json = serde_json::json!({
            "recordings": verdicts,
            "passed": count("passed"),
            "failed": count("failed"),
            "updated": count("updated"),
            "errors": count("error"),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        );
        return;
    }
    for v in verdicts {
        let today = v
            .today
            .as_ref()
            .map(|d| format!(", today {d}"))
            .unwrap_or_default();
        let status = match v.status {
            "passed" => "ok",
            "failed" => "FAILED",
            "updated" => "updated",
            _ => "ERROR",
        };
        println!(
            "recording {} ({} records, {} documents{today}): {status}",
            v.name, v.records, v.documents
        );
        if let Some(message) = &v.message {
            println!("  {message}");
        }
        if !v.differences.is_empty() {
            println!("  {} differences from expected.json:", v.differences.len());
            print!("{}", diff::render(&v.differences, "  "));
        }
    }
    println!(
        "test result: {} passed, {} failed, {} updated, {} errors",
        count("passed"),
        count("failed"),
        count("updated"),
        count("error")
    );
}
