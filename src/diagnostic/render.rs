//! Rendering diagnostics for people (miette's graphical report) and for tools (JSON).

use serde::Serialize;

use super::{Diagnostic, Severity};

/// Renders diagnostics as miette's graphical report. `color` false gives plain text with
/// unicode box drawing; `width` fixes the wrap width so snapshots are identical everywhere.
pub fn render_human(diagnostics: &[Diagnostic], color: bool, width: usize) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_links(false)
        .with_urls(false);
    let mut out = String::new();
    for diagnostic in diagnostics {
        // Rendering into a String cannot fail except on a broken Display impl.
        if handler.render_report(&mut out, diagnostic).is_err() {
            out.push_str(&diagnostic.message);
        }
        out.push_str("  docs: ");
        out.push_str(&diagnostic.code.doc_path());
        out.push('\n');
    }
    out
}

/// One diagnostic as `lint --format json` prints it.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    /// `LL103`
    pub code: &'static str,
    /// `unknown-field`
    pub name: &'static str,
    /// `error` or `warning`
    pub severity: Severity,
    /// The message.
    pub message: String,
    /// The file, when the finding is about one.
    pub file: Option<String>,
    /// 1-based line of the primary span.
    pub line: Option<usize>,
    /// 1-based column of the primary span.
    pub column: Option<usize>,
    /// Byte range of the primary span.
    pub span: Option<[usize; 2]>,
    /// Every label.
    pub labels: Vec<JsonLabel>,
    /// The help line.
    pub help: Option<String>,
    /// The note.
    pub note: Option<String>,
    /// The documentation page.
    pub url: String,
}

/// A label in JSON output.
#[derive(Debug, Serialize)]
pub struct JsonLabel {
    /// Byte range.
    pub span: [usize; 2],
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What the span is.
    pub text: String,
    /// Is it the main label?
    pub primary: bool,
}

impl From<&Diagnostic> for JsonDiagnostic {
    fn from(d: &Diagnostic) -> Self {
        let position = |offset: usize| d.file.as_ref().map(|f| f.line_column(offset));
        let primary = d.primary_span();
        let (line, column) = match primary.and_then(|s| position(s.start)) {
            Some((l, c)) => (Some(l), Some(c)),
            None => (None, None),
        };
        JsonDiagnostic {
            code: d.code.id,
            name: d.code.name,
            severity: d.severity,
            message: d.message.clone(),
            file: d.file.as_ref().map(|f| f.name.clone()),
            line,
            column,
            span: primary.map(|s| [s.start, s.end]),
            labels: d
                .labels
                .iter()
                .map(|l| {
                    let (line, column) = position(l.span.start).unwrap_or((0, 0));
                    JsonLabel {
                        span: [l.span.start, l.span.end],
                        line,
                        column,
                        text: l.text.clone(),
                        primary: l.primary,
                    }
                })
                .collect(),
            help: d.help.clone(),
            note: d.note.clone(),
            url: d.code.doc_path(),
        }
    }
}

/// Renders diagnostics as a JSON array.
pub fn render_json(diagnostics: &[Diagnostic]) -> String {
    let items: Vec<JsonDiagnostic> = diagnostics.iter().map(JsonDiagnostic::from).collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_string())
}
