//! Evaluation: the runtime [`Value`] of an expression, the [`EvalError`] an evaluation can
//! fail with, and [`evaluate_constant`], which folds expressions that need no record.
//!
//! This sits between `syntax` (it reads the AST) and the standard library in
//! [`crate::stdlib`], whose functions take and return [`Value`]s. The checker uses
//! [`evaluate_constant`] for constant folding, and the stdlib tests use it to execute the
//! documented examples.

mod constant;
mod error;
pub mod operator;
mod value;

pub use constant::evaluate_constant;
pub use error::{EvalError, EvalErrorKind};
pub use value::Value;
