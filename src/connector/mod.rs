//! Connectors: the profiles that describe each system, and the shipped profile set.
//!
//! `profile` holds the YAML model; `registry` loads profiles from the binary (shipped under
//! `rules/connectors/`) and from a project's own `connectors/` folder.

pub mod client;
pub mod profile;
pub mod registry;

pub use profile::{Entity, Field, FieldType, Profile};
