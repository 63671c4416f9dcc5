//! Check: resolves rule files against the project's systems, settings, tables and
//! connector profiles, and runs the lint rules. Every finding is a [`Diagnostic`]; checking
//! goes on after the first one so a file with several problems reports all of them.

pub mod context;
mod functions;
pub mod resolve;
pub mod rules;
pub mod suggest;
#[cfg(test)]
pub(crate) mod testing;
pub mod types;
pub mod walk;

use crate::{
    connector::{Entity, Field},
    diagnostic::{self, Diagnostic},
    project::Project,
};

pub use context::Context;

/// The list field of an entity that `line`/`lines` statements fill: the first writable
/// list of records.
pub fn lines_field(entity: &Entity) -> Option<(&str, &Field)> {
    entity
        .fields
        .iter()
        .find(|(_, f)| {
            f.r#type == crate::connector::FieldType::List && !f.fields.is_empty() && !f.read_only
        })
        .map(|(n, f)| (n.as_str(), f))
}

/// Checks a loaded project; returns every finding, sorted by file and position.
pub fn check(project: &Project) -> Vec<Diagnostic> {
    // A project file that cannot be read was already reported; without its systems every
    // name would be unknown, which only buries that one finding.
    if project.config.is_none() {
        return Vec::new();
    }
    let cx = Context::new(project);
    let mut diagnostics = Vec::new();
    let mut facts = resolve::Facts::default();
    for rule_file in &project.rules {
        let mut resolver =
            resolve::Resolver::new(&cx, rule_file.source.clone(), &mut diagnostics, &mut facts);
        for item in &rule_file.ast.items {
            resolver.item(item);
        }
    }
    for rule in rules::RULES {
        rule.check(&cx, &facts, &mut diagnostics);
    }
    diagnostic::sort(&mut diagnostics);
    diagnostics
}
