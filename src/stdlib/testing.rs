//! Test verbs for the function files: evaluate a call written in the rule language and
//! compare with the expected literal, so each test reads like a table row.

use crate::{
    eval::{evaluate_constant, EvalErrorKind, Value},
    source::SourceFile,
    syntax::parse_expression,
};

/// Parses and evaluates a constant expression, panicking on syntax errors (test input).
pub(super) fn eval(text: &str) -> Result<Value, crate::eval::EvalError> {
    let expr = parse_expression(&SourceFile::new("test", text))
        .unwrap_or_else(|d| panic!("`{text}`: {d:?}"));
    evaluate_constant(&expr)
}

/// `call` evaluates to the same value as `expected`, and prints as `expected` does.
pub(super) fn gives(call: &str, expected: &str) {
    let actual = eval(call).unwrap_or_else(|e| panic!("`{call}` failed: {e}"));
    let wanted = eval(expected).unwrap_or_else(|e| panic!("`{expected}` failed: {e}"));
    assert_eq!(
        actual, wanted,
        "`{call}` gave {actual}, expected {expected}"
    );
}

/// `call` fails with `kind`.
pub(super) fn fails(call: &str, kind: EvalErrorKind) {
    match eval(call) {
        Ok(value) => panic!("`{call}` gave {value}, expected a {kind} error"),
        Err(err) => assert_eq!(err.kind, kind, "`{call}`: {err}"),
    }
}
