#![doc = include_str!("../ARCHITECTURE.md")]
#![warn(missing_docs)]

pub mod connector;
pub mod diagnostic;
pub mod project;
pub mod source;
pub mod syntax;
