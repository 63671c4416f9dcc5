//! Evaluation: the runtime [`Value`] of an expression, the [`EvalError`] an evaluation can
//! fail with, and [`evaluate_constant`], which folds expressions that need no record.
//!
//! This sits between `syntax` (it reads the AST) and the standard library in
//! [`crate::stdlib`], whose functions take and return [`Value`]s. The checker uses
//! [`evaluate_constant`] for constant folding, and the stdlib tests use it to execute the
//! documented examples.

mod constant;
mod error;
mod invariant;
pub mod operator;
pub mod record;
pub mod shares;
pub mod split;
mod value;

pub use constant::evaluate_constant;
pub use error::{EvalError, EvalErrorKind};
pub use record::{evaluate, truthy, Binding, Collections, Env};
pub use split::{split_amount, split_table, SplitError, SplitErrorKind};
pub use value::Value;
