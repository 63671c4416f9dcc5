//! Tiny helpers shared by the integration tests, so each test reads like a table row.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};

use ledgerlink::{
    check,
    diagnostic::{Diagnostic, Severity},
    plan::{self, Plan},
    project::Project,
};

/// Every example project folder, in name order.
pub fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("examples/ exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("ledgerlink.yaml").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Loads and checks a project: (project, diagnostics).
pub fn lint(dir: &Path) -> (Project, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let project = Project::load(dir, &mut diagnostics).expect("a project folder");
    diagnostics.extend(check::check(&project));
    (project, diagnostics)
}

/// The plan of a project that must lint without errors.
pub fn plan_of(dir: &Path) -> Plan {
    let (project, diagnostics) = lint(dir);
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.is_empty(), "{}: {errors:#?}", dir.display());
    plan::compile(&project)
}
