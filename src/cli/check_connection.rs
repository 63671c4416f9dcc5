//! `ledgerlink check-connection PROJECT [SYSTEM]`: a credential test with a clear verdict.

use std::path::PathBuf;

use super::{output, Exit};
use crate::runtime;

/// Arguments of `check-connection`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project folder.
    pub path: PathBuf,
    /// Only this system alias.
    pub system: Option<String>,
}

/// Makes one cheap authenticated call per system and says whether it worked.
pub fn run(args: Args) -> Exit {
    let project = match super::load(&args.path) {
        Ok((project, _)) => project,
        Err(exit) => return exit,
    };
    let outcome = super::block_on(async {
        let clients = runtime::clients(&project, None)?;
        let mut verdicts = Vec::new();
        for (alias, client) in &clients {
            if args.system.as_ref().is_some_and(|s| s != alias) {
                continue;
            }
            verdicts.push((alias.clone(), client.check().await));
        }
        Ok::<_, runtime::RuntimeError>(verdicts)
    });
    match outcome {
        Ok(verdicts) if verdicts.is_empty() => {
            output::error(format!(
                "no system `{}` in the project",
                args.system.unwrap_or_default()
            ));
            Exit::Usage
        }
        Ok(verdicts) => {
            let mut ok = true;
            for (alias, verdict) in verdicts {
                match verdict {
                    Ok(message) => println!("{alias:<10} ok      {message}"),
                    Err(err) => {
                        ok = false;
                        println!("{alias:<10} FAILED  {err}");
                    }
                }
            }
            if ok {
                Exit::Clean
            } else {
                Exit::Findings
            }
        }
        Err(err) => {
            output::error(err);
            Exit::Usage
        }
    }
}
