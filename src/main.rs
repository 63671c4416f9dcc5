//! The `ledgerlink` binary: parses arguments and hands over to [`ledgerlink::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    ledgerlink::cli::run().into()
}
