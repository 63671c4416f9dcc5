//! Printing diagnostics: colour only on a terminal and when `NO_COLOR` is unset.

use std::io::IsTerminal;

use crate::diagnostic::{render_human, render_json, Diagnostic};

use super::Format;

/// Whether to colour output on stderr.
pub fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Prints diagnostics: human reports to stderr, JSON to stdout.
pub fn print_diagnostics(diagnostics: &[Diagnostic], format: Format) {
    match format {
        Format::Human => {
            let width = terminal_width();
            eprint!("{}", render_human(diagnostics, color(), width));
        }
        Format::Json => println!("{}", render_json(diagnostics)),
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

/// Prints an operational error (not a finding) to stderr.
pub fn error(message: impl std::fmt::Display) {
    eprintln!("error: {message}");
}

/// Whether to colour output on stdout (reports that are printed there, like the dry run).
pub fn color_stdout() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Colours of report lines.
#[derive(Debug, Clone, Copy)]
pub enum Paint {
    /// Something new.
    Green,
    /// Something that changes.
    Yellow,
    /// Something wrong.
    Red,
    /// Nothing happens.
    Dim,
    /// A heading.
    Bold,
}

/// `text` in `paint` when `on`, else as it is.
pub fn paint(on: bool, paint: Paint, text: &str) -> String {
    if !on {
        return text.to_string();
    }
    let code = match paint {
        Paint::Green => "32",
        Paint::Yellow => "33",
        Paint::Red => "31",
        Paint::Dim => "2",
        Paint::Bold => "1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}
