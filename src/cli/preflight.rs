//! `ledgerlink preflight PROJECT [--format human|json]`: checks before go-live.

use std::path::PathBuf;

use super::{Exit, Format};

/// Arguments of `preflight`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder.
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Runs the checks.
pub fn run(_args: Args) -> Exit {
    Exit::Usage
}
