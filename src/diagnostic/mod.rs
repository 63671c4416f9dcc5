//! Diagnostics: findings about the user's files, kept as data and rendered at the edge.
//!
//! Every stage (syntax, check, project loading) reports through the one [`Diagnostic`] type,
//! so lint output, JSON output and snapshots all come from one place. Codes live in
//! [`codes`], never reused.

pub mod codes;
mod render;

use std::sync::Arc;

use serde::Serialize;

pub use codes::{Code, CodeStatus};
pub use render::{render_human, render_json, JsonDiagnostic};

use crate::source::{SourceFile, Span};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look; does not fail `lint`.
    Warning,
    /// The project cannot run as written.
    Error,
}

/// A labelled span.
#[derive(Debug, Clone)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What this span is, in the user's terms.
    pub text: String,
    /// The main label of the diagnostic.
    pub primary: bool,
}

/// One finding.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    /// The registered code.
    pub code: &'static Code,
    /// Error or warning.
    pub severity: Severity,
    /// One line, lowercase, no final period.
    pub message: String,
    /// Primary label first, then context labels.
    pub labels: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
    /// Background.
    pub note: Option<String>,
    /// The file the spans point into.
    pub file: Option<Arc<SourceFile>>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity and no labels yet.
    pub fn new(code: &'static Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            note: None,
            file: None,
        }
    }

    /// Adds the primary label.
    pub fn primary(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.insert(
            0,
            Label {
                span,
                text: text.into(),
                primary: true,
            },
        );
        self
    }

    /// Adds a context label.
    pub fn secondary(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
            primary: false,
        });
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Sets the severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Sets the file the spans point into.
    pub fn in_file(mut self, file: &Arc<SourceFile>) -> Self {
        self.file = Some(file.clone());
        self
    }

    /// The primary span, if any.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.iter().find(|l| l.primary).map(|l| l.span)
    }

    /// Is this an error?
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(format!("{}({})", self.code.id, self.code.name)))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Warning => miette::Severity::Warning,
            Severity::Error => miette::Severity::Error,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        match (&self.help, &self.note) {
            (Some(help), Some(note)) => Some(Box::new(format!("{help}\nnote: {note}"))),
            (Some(help), None) => Some(Box::new(help)),
            (None, Some(note)) => Some(Box::new(format!("note: {note}"))),
            (None, None) => None,
        }
    }

    fn url<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code.doc_path()))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.file.as_deref().map(|f| f as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.file.is_none() || self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().map(|l| {
            let text = (!l.text.is_empty()).then(|| l.text.clone());
            if l.primary {
                miette::LabeledSpan::new_primary_with_span(text, l.span)
            } else {
                miette::LabeledSpan::new_with_span(text, l.span)
            }
        })))
    }
}

/// Sorts diagnostics by file and position so output is deterministic.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| {
            (
                d.file.as_ref().map(|f| f.name.clone()),
                d.primary_span().map(|s| (s.start, s.end)),
                d.code.id,
            )
        };
        key(a).cmp(&key(b))
    });
}
