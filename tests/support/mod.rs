//! Support for end-to-end tests: a stateful fake REST server driven by a connector profile
//! ([`FakeServer`]), the `ledgerlink` binary under test, and throw-away copies of example
//! projects. Include it with `mod support;`.
// Each test binary uses a different part of this module and of its re-exports.
#![allow(dead_code, unused_imports)]

mod fake_rest;
mod fake_server;
pub mod postgres;
pub mod webshop;

use std::path::{Path, PathBuf};

pub use fake_server::{FakeServer, Fault, Match, RequestLog};
pub use postgres::{state_stores, StateStore};

/// The `ledgerlink` binary Cargo built for these tests.
pub fn ledgerlink_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ledgerlink"))
}

/// A temporary copy of `examples/<example>/`, so a run never writes into the repository. The
/// folder is removed when the returned value is dropped.
pub fn temp_project(example: &str) -> tempfile::TempDir {
    temp_copy("examples", example)
}

/// The JSON a command printed on stdout; a panic with both streams when it is not JSON.
pub fn json_output(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// A fake server of a project's own connector profile (`connectors/<file>` in `project`).
pub fn fake_of(project: &Path, file: &str) -> FakeServer {
    let path = project.join("connectors").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let profile: ledgerlink::connector::Profile =
        serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    FakeServer::from_profile(profile)
}

/// A temporary copy of the test project `tests/projects/<name>/`.
pub fn test_project(name: &str) -> tempfile::TempDir {
    temp_copy("tests/projects", name)
}

fn temp_copy(folder: &str, example: &str) -> tempfile::TempDir {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(folder)
        .join(example);
    assert!(source.is_dir(), "no project {}", source.display());
    let dir = tempfile::Builder::new()
        .prefix(&format!("ledgerlink-{example}-"))
        .tempdir()
        .expect("a temporary folder");
    copy_dir(&source, dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read example folder") {
        let entry = entry.expect("folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}
