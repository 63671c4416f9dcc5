//! The command line: one file per subcommand, output formats and exit codes.

mod check_connection;
mod compile;
mod debug;
mod diff;
mod exit;
mod explain;
mod fmt;
mod lint;
mod log;
mod logging;
mod output;
mod preflight;
mod retry;
mod run;
mod test;

use clap::{Parser, Subcommand, ValueEnum};

pub use exit::Exit;

/// ledgerlink: declarative integrations between business systems.
#[derive(Debug, Parser)]
#[command(name = "ledgerlink", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log what happens on stderr: `-v` steps, `-vv` API calls, `-vvv` everything
    /// (`LEDGERLINK_LOG` takes a full filter instead). Secrets print as `[redacted]`.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
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
    /// Run every flow of a project once: read sources, write documents, print the export log.
    Run(run::Args),
    /// Print the export log: every transfer, skip and failure with its reason.
    Log(log::Args),
    /// Send failed documents (dead letters) again after the data was fixed.
    Retry(retry::Args),
    /// Test each system's credentials with one cheap call.
    CheckConnection(check_connection::Args),
    /// Show what a rule change does to recent source records (rules now against a git
    /// revision or another folder).
    Diff(diff::Args),
    /// Check the targets before go-live: credentials, referenced records, webhooks.
    Preflight(preflight::Args),
    /// Replay recorded runs (`run --record`) against the current rules and compare with their golden outputs.
    Test(test::Args),
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
    logging::init(cli.verbose);
    match cli.command {
        Command::Lint(args) => lint::run(args),
        Command::Compile(args) => compile::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Debug(args) => debug::run(args),
        Command::Run(args) => run::run(args),
        Command::Log(args) => log::run(args),
        Command::Retry(args) => retry::run(args),
        Command::CheckConnection(args) => check_connection::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Preflight(args) => preflight::run(args),
        Command::Test(args) => test::run(args),
    }
}

/// Runs a future on a fresh tokio runtime (commands are synchronous at the edge).
fn block_on<T>(
    future: impl std::future::Future<Output = Result<T, crate::runtime::RuntimeError>>,
) -> Result<T, crate::runtime::RuntimeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(future)
}

/// A path given on the command line, made absolute against the working directory (a sink is
/// where the command runs, not inside the project).
fn absolute(path: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Loads a project folder; prints why when it is not one (exit 2).
fn load(
    path: &std::path::Path,
) -> Result<(crate::project::Project, Vec<crate::diagnostic::Diagnostic>), Exit> {
    let mut diagnostics = Vec::new();
    match crate::project::Project::load(path, &mut diagnostics) {
        Ok(project) => Ok((project, diagnostics)),
        Err(err) => {
            output::error(err);
            Err(Exit::Usage)
        }
    }
}

/// Loads and checks a project; with lint errors it prints them, says `refused` (e.g. "not
/// run") and exits 1. Warnings are returned for the caller to show.
fn load_checked(
    path: &std::path::Path,
    refused: &str,
) -> Result<(crate::project::Project, Vec<crate::diagnostic::Diagnostic>), Exit> {
    let (project, mut diagnostics) = load(path)?;
    diagnostics.extend(crate::check::check(&project));
    if diagnostics
        .iter()
        .any(crate::diagnostic::Diagnostic::is_error)
    {
        output::print_diagnostics(&diagnostics, Format::Human);
        eprintln!("{refused}: fix the errors above first (`ledgerlink lint`)");
        return Err(Exit::Findings);
    }
    Ok((project, diagnostics))
}
