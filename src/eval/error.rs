//! The operational error of evaluating an expression or calling a standard-library function.
//!
//! These are runtime failures, not diagnostics: the runtime puts a record that fails with
//! one into the export log and goes on, and the checker turns the kinds it can predict
//! (for example `TypeMismatch` in a constant) into diagnostics of its own.

use std::fmt;

/// What went wrong, so callers can branch without reading the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvalErrorKind {
    /// A value of the wrong type, e.g. `"a" * 2` or `lower(1)`.
    TypeMismatch,
    /// The expression reads a record, a setting or a lookup, so it has no value before run time.
    NotConstant,
    /// `x / 0`.
    DivisionByZero,
    /// A number outside what an exact decimal holds (about 7.9 × 10²⁸, 28 decimals).
    Overflow,
    /// An argument of the right type with a value the function cannot use, e.g. an unknown
    /// country name or a malformed date.
    BadArgument,
    /// A call of a function the standard library does not have.
    UnknownFunction,
    /// Too few or too many arguments.
    ArgumentCount,
    /// A document its target would refuse or book wrongly: a required field without a value,
    /// an amount that is not a number, an unknown currency.
    InvalidDocument,
}

impl EvalErrorKind {
    /// A short kebab-case name, stable for logs and JSON.
    pub fn name(self) -> &'static str {
        match self {
            EvalErrorKind::TypeMismatch => "type-mismatch",
            EvalErrorKind::NotConstant => "not-constant",
            EvalErrorKind::DivisionByZero => "division-by-zero",
            EvalErrorKind::Overflow => "overflow",
            EvalErrorKind::BadArgument => "bad-argument",
            EvalErrorKind::UnknownFunction => "unknown-function",
            EvalErrorKind::ArgumentCount => "argument-count",
            EvalErrorKind::InvalidDocument => "invalid-document",
        }
    }
}

impl fmt::Display for EvalErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An evaluation failure: a kind to branch on and a message in the rule author's terms
/// (lowercase, no final period, code in backticks).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    /// What went wrong.
    pub kind: EvalErrorKind,
    /// Says what went wrong, for the export log.
    pub message: String,
}

impl EvalError {
    /// An error of `kind` with `message`.
    pub fn new(kind: EvalErrorKind, message: impl Into<String>) -> Self {
        EvalError {
            kind,
            message: message.into(),
        }
    }

    /// A [`EvalErrorKind::TypeMismatch`].
    pub fn type_mismatch(message: impl Into<String>) -> Self {
        Self::new(EvalErrorKind::TypeMismatch, message)
    }

    /// A [`EvalErrorKind::NotConstant`].
    pub fn not_constant(message: impl Into<String>) -> Self {
        Self::new(EvalErrorKind::NotConstant, message)
    }

    /// A [`EvalErrorKind::DivisionByZero`].
    pub fn division_by_zero() -> Self {
        Self::new(EvalErrorKind::DivisionByZero, "division by zero")
    }

    /// A [`EvalErrorKind::Overflow`].
    pub fn overflow(message: impl Into<String>) -> Self {
        Self::new(EvalErrorKind::Overflow, message)
    }

    /// A [`EvalErrorKind::BadArgument`].
    pub fn bad_argument(message: impl Into<String>) -> Self {
        Self::new(EvalErrorKind::BadArgument, message)
    }
}
