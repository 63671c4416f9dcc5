//! `ledgerlink lint [PATH…] [--format human|json]`

use std::path::PathBuf;

use super::{output, Exit, Format};
use crate::{check, diagnostic::Severity, project::Project};

/// Arguments of `lint`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Project folders (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Lints every project; exit 0 when clean, 1 with findings, 2 when a path is no project.
pub fn run(args: Args) -> Exit {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    let mut all = Vec::new();
    let mut usage_error = false;
    for path in &paths {
        let mut diagnostics = Vec::new();
        match Project::load(path, &mut diagnostics) {
            Ok(project) => diagnostics.extend(check::check(&project)),
            Err(err) => {
                output::error(err);
                usage_error = true;
                continue;
            }
        }
        all.extend(diagnostics);
    }
    output::print_diagnostics(&all, args.format);
    if matches!(args.format, Format::Human) {
        let errors = all.iter().filter(|d| d.severity == Severity::Error).count();
        let warnings = all.len() - errors;
        if !all.is_empty() {
            eprintln!(
                "{errors} error(s), {warnings} warning(s) in {} project(s)",
                paths.len()
            );
        }
    }
    if usage_error {
        Exit::Usage
    } else if all.is_empty() {
        Exit::Clean
    } else {
        Exit::Findings
    }
}
