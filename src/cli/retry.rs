//! `ledgerlink retry PROJECT [INTENT…]`: sends dead letters again after the data was fixed.

use std::path::PathBuf;

use super::{output, Exit};
use crate::{
    runtime::{self, deliver, RunReport},
    state::{IntentStatus, Store},
};

/// Arguments of `retry`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder.
    pub path: PathBuf,
    /// Intent keys (or unique prefixes) to retry; all failed intents when none is given.
    pub intents: Vec<String>,
    /// Write target documents as JSON files under this folder instead of calling the APIs.
    #[arg(long)]
    pub sink: Option<PathBuf>,
    /// State store URL (overrides `state:` in ledgerlink.yaml).
    #[arg(long, env = "LEDGERLINK_STATE")]
    pub state: Option<String>,
}

/// Moves failed intents back to pending and delivers them.
pub fn run(args: Args) -> Exit {
    let project = match super::load(&args.path) {
        Ok((project, _)) => project,
        Err(exit) => return exit,
    };
    let name = runtime::project_name(&project);
    let url = runtime::state_location(&project, args.state.as_deref());
    let result = super::block_on(async {
        let store = Store::open(&url).await?;
        let failed = store.intents(&name, Some(IntentStatus::Failed)).await?;
        let chosen: Vec<_> = failed
            .iter()
            .filter(|i| {
                args.intents.is_empty()
                    || args.intents.iter().any(|k| i.key.starts_with(k.as_str()))
            })
            .collect();
        for intent in &chosen {
            store.retry_intent(&intent.key).await?;
        }
        let sink = args.sink.as_deref().map(super::absolute);
        let clients = runtime::clients(&project, sink.as_deref())?;
        let mut report = RunReport {
            project: name.clone(),
            ..RunReport::default()
        };
        let sources = runtime::source_entities(&crate::plan::compile(&project));
        let sink = args.sink.is_some();
        deliver::deliver(&store, &clients, &name, sink, &sources, &mut report).await?;
        Ok::<_, runtime::RuntimeError>((chosen.len(), report))
    });
    match result {
        Ok((count, report)) => {
            println!(
                "retried {count}: delivered {}, failed again {}, still open {}",
                report.delivered, report.failed, report.pending
            );
            if report.failed > 0 {
                Exit::Findings
            } else {
                Exit::Clean
            }
        }
        Err(err) => {
            output::error(err);
            Exit::Usage
        }
    }
}
