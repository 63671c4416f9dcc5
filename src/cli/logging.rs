//! Diagnostic logs on stderr (tracing): what the runtime and the connectors do, call by
//! call. Quiet by default (warnings only); `-v` shows each run's steps, `-vv` every API call
//! and its answer, `-vvv` everything. `LEDGERLINK_LOG` takes a full filter instead
//! (`LEDGERLINK_LOG=ledgerlink::connector=debug`). Every line passes through
//! [`crate::redact::ScrubbingWriter`], so a credential or session token that reaches a log
//! message some other way (a server echoing it, a key in a URL) prints as `[redacted]`.

use tracing_subscriber::EnvFilter;

use crate::redact::ScrubbingWriter;

/// Installs the log subscriber for this process; `verbosity` is the number of `-v`s.
pub fn init(verbosity: u8) {
    let level = match verbosity {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("LEDGERLINK_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,ledgerlink={level}")));
    // Tests and embedding programs may have installed one already; theirs stays.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| ScrubbingWriter::new(std::io::stderr()))
        .with_ansi(super::output::color())
        .with_target(verbosity >= 2)
        .try_init();
}
