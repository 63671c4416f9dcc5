//! `ledgerlink debug ast FILE`: prints a stage's output for inspection.

use std::path::PathBuf;

use super::{output, Exit, Format};
use crate::{source::SourceFile, syntax};

/// Arguments of `debug`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stage: `ast`.
    #[arg(value_parser = ["ast"])]
    pub stage: String,
    /// A rule file.
    pub file: PathBuf,
}

/// Prints the syntax tree as JSON.
pub fn run(args: Args) -> Exit {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(err) => {
            output::error(format!("cannot read {}: {err}", args.file.display()));
            return Exit::Usage;
        }
    };
    let file = SourceFile::new(args.file.display().to_string(), text);
    let (ast, diagnostics) = syntax::parse(&file);
    if !diagnostics.is_empty() {
        output::print_diagnostics(&diagnostics, Format::Human);
        return Exit::Findings;
    }
    match serde_json::to_string_pretty(&ast) {
        Ok(json) => {
            println!("{json}");
            Exit::Clean
        }
        Err(err) => {
            output::error(err);
            Exit::Usage
        }
    }
}
