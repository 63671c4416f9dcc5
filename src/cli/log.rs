//! `ledgerlink log PROJECT [--failed] [--limit N] [--format human|json]`: the export log.

use std::path::PathBuf;

use super::{output, Exit, Format};
use crate::{
    runtime,
    state::{EventFilter, EventKind, Store},
};

/// Arguments of `log`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder.
    pub path: PathBuf,
    /// Only failures (dead letters and records that could not be evaluated).
    #[arg(long)]
    pub failed: bool,
    /// How many events, newest last.
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    /// State store URL (overrides `state:` in ledgerlink.yaml).
    #[arg(long, env = "LEDGERLINK_STATE")]
    pub state: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

/// Prints the export log.
pub fn run(args: Args) -> Exit {
    let project = match super::load(&args.path) {
        Ok((project, _)) => project,
        Err(exit) => return exit,
    };
    let name = runtime::project_name(&project);
    let url = runtime::state_location(&project, args.state.as_deref());
    let filter = EventFilter {
        kind: args.failed.then_some(EventKind::Failed),
        limit: Some(args.limit),
        ..EventFilter::default()
    };
    let result = super::block_on(async {
        let store = Store::open(&url).await?;
        Ok(store.events(&name, &filter).await?)
    });
    match result {
        Ok(events) => {
            match args.format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&events).unwrap_or_default()
                ),
                Format::Human => {
                    for event in &events {
                        let source = event.source.as_deref().unwrap_or("");
                        println!(
                            "{} {:<11} {:<28} {}",
                            event.at,
                            format!("{:?}", event.kind).to_lowercase(),
                            source,
                            event.message
                        );
                    }
                }
            }
            Exit::Clean
        }
        Err(err) => {
            output::error(err);
            Exit::Usage
        }
    }
}
