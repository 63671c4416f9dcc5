//! `ledgerlink explain CODE`

use super::{output, Exit};
use crate::diagnostic::codes;

/// Arguments of `explain`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A code (`LL301`) or name (`two-way-over-expression`); `list` prints every code.
    pub code: String,
}

/// Prints the documentation page of a code.
pub fn run(args: Args) -> Exit {
    if args.code == "list" {
        for code in codes::ALL {
            println!("{}  {:<28} {:?}", code.id, code.name, code.severity);
        }
        return Exit::Clean;
    }
    match codes::lookup(&args.code) {
        Some(code) => {
            print!("{}", code.doc);
            Exit::Clean
        }
        None => {
            output::error(format!(
                "no lint code `{}`; `ledgerlink explain list` shows them all",
                args.code
            ));
            Exit::Usage
        }
    }
}
