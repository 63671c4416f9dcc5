//! A customer project on disk: `ledgerlink.yaml`, `rules/*.rules`, `tables/*.csv`.
//!
//! Loading reads and parses every file and collects every problem as a diagnostic; it never
//! stops at the first one, so `lint` can report a broken YAML key and a rule-file syntax
//! error in one run.

mod config;
mod yaml_position;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

pub use config::{ProjectConfig, SystemConfig};
pub use yaml_position::key_span;

use crate::{
    connector::registry::{yaml_error, Profiles},
    diagnostic::{codes, Diagnostic},
    source::SourceFile,
    syntax::{self, Ast},
};

/// The name of the project file.
pub const PROJECT_FILE: &str = "ledgerlink.yaml";

/// A parsed rule file.
#[derive(Debug, Clone)]
pub struct RuleFile {
    /// Its text and name.
    pub source: Arc<SourceFile>,
    /// Its syntax tree (empty after a syntax error).
    pub ast: Ast,
}

/// A loaded project.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project folder.
    pub dir: PathBuf,
    /// `ledgerlink.yaml` as text.
    pub file: Arc<SourceFile>,
    /// `ledgerlink.yaml` parsed; `None` when it could not be parsed.
    pub config: Option<ProjectConfig>,
    /// The rule files in name order.
    pub rules: Vec<RuleFile>,
    /// Shipped plus project connector profiles.
    pub profiles: Profiles,
}

/// Why a project could not be loaded at all (I/O, not findings).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The folder or a file in it could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// What was being read.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The path is neither a project folder nor a rule file.
    #[error("{0} is not a ledgerlink project (no ledgerlink.yaml)")]
    NotAProject(PathBuf),
}

impl Project {
    /// Loads a project folder (or the folder of a `ledgerlink.yaml` given directly).
    pub fn load(path: &Path, diagnostics: &mut Vec<Diagnostic>) -> Result<Project, LoadError> {
        let dir = if path.is_file() {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        } else {
            path.to_path_buf()
        };
        let project_path = dir.join(PROJECT_FILE);
        if !project_path.is_file() {
            return Err(LoadError::NotAProject(path.to_path_buf()));
        }
        let text = read(&project_path)?;
        let file = SourceFile::new(display(&project_path), text);
        let config = match serde_yaml_ng::from_str::<ProjectConfig>(&file.text) {
            Ok(config) => Some(config),
            Err(err) => {
                diagnostics.push(yaml_error(
                    &codes::INVALID_PROJECT_FILE,
                    "project file",
                    "docs/language.md",
                    &file,
                    &err,
                ));
                None
            }
        };
        let profiles = Profiles::for_project(&dir, diagnostics);
        let mut rules = Vec::new();
        for rule_path in rule_paths(&dir, config.as_ref(), &file, diagnostics)? {
            let text = read(&rule_path)?;
            rules.push(RuleFile::parse(
                SourceFile::new(display(&rule_path), text),
                diagnostics,
            ));
        }
        Ok(Project {
            dir,
            file,
            config,
            rules,
            profiles,
        })
    }

    /// Reads a file relative to the project folder.
    pub fn read_relative(&self, relative: &str) -> Result<String, LoadError> {
        read(&self.dir.join(relative))
    }
}

impl RuleFile {
    /// Parses a rule file, adding its syntax diagnostics.
    pub fn parse(source: Arc<SourceFile>, diagnostics: &mut Vec<Diagnostic>) -> RuleFile {
        let (ast, found) = syntax::parse(&source);
        diagnostics.extend(found);
        RuleFile { source, ast }
    }
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Paths are shown as given (relative when lint was run with a relative path), with `/`.
fn display(path: &Path) -> String {
    path.display().to_string().replace('\\', "/")
}

/// The rule files: `rules:` globs of the project file (only `*` in the file name part), or
/// `rules/*.rules` by default.
fn rule_paths(
    dir: &Path,
    config: Option<&ProjectConfig>,
    file: &Arc<SourceFile>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Vec<PathBuf>, LoadError> {
    let patterns = config
        .map(|c| c.rules.clone())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| vec!["rules/*.rules".to_string()]);
    let mut paths = Vec::new();
    for pattern in &patterns {
        let (folder, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
        let (prefix, suffix) = name.split_once('*').unwrap_or((name, ""));
        let folder_path = dir.join(folder);
        let Ok(entries) = std::fs::read_dir(&folder_path) else {
            diagnostics.push(
                Diagnostic::new(
                    &codes::INVALID_PROJECT_FILE,
                    format!("no folder `{folder}` for the rule files"),
                )
                .in_file(file)
                .help("put rule files in `rules/` or list them under `rules:` in ledgerlink.yaml"),
            );
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    if name.contains('*') {
                        n.starts_with(prefix) && n.ends_with(suffix)
                    } else {
                        n == name
                    }
                })
            })
            .collect();
        found.sort();
        paths.extend(found);
    }
    paths.dedup();
    if paths.is_empty() {
        diagnostics.push(
            Diagnostic::new(
                &codes::INVALID_PROJECT_FILE,
                "the project has no rule files",
            )
            .in_file(file)
            .help("add at least one `rules/<name>.rules` file"),
        );
    }
    Ok(paths)
}
