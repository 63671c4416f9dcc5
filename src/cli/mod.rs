//! The command line: one file per subcommand, output formats and exit codes.

mod compile;
mod debug;
mod exit;
mod explain;
mod fmt;
mod lint;
mod output;

use clap::{Parser, Subcommand, ValueEnum};

pub use exit::Exit;

/// ledgerlink: declarative integrations between business systems.
#[derive(Debug, Parser)]
#[command(name = "ledgerlink", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check projects (folders with ledgerlink.yaml) against their connector profiles.
    Lint(lint::Args),
    /// Compile a project into its execution plan.
    Compile(compile::Args),
    /// Format rule files (keeps comments; idempotent).
    Fmt(fmt::Args),
    /// Print the documentation of a lint code, e.g. `ledgerlink explain LL301`.
    Explain(explain::Args),
    /// Print an intermediate stage: the syntax tree of a rule file.
    Debug(debug::Args),
}

/// Output format for tools or people.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Format {
    /// miette's report for people.
    #[default]
    Human,
    /// JSON for tools.
    Json,
}

/// Runs the command line and returns the process exit status.
pub fn run() -> Exit {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let usage = err.use_stderr();
            let _ = err.print();
            return if usage { Exit::Usage } else { Exit::Clean };
        }
    };
    match cli.command {
        Command::Lint(args) => lint::run(args),
        Command::Compile(args) => compile::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Debug(args) => debug::run(args),
    }
}
