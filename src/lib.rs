#![doc = include_str!("../ARCHITECTURE.md")]
#![warn(missing_docs)]

pub mod check;
pub mod cli;
pub mod connector;
pub mod diagnostic;
pub mod eval;
pub mod format;
pub mod plan;
pub mod project;
pub mod redact;
pub mod runtime;
pub mod source;
pub mod state;
pub mod stdlib;
pub mod syntax;
