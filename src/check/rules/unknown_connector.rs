#![doc = include_str!("../../../docs/lints/LL604.md")]

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, suggest::help_for},
    diagnostic::{codes, Code, Diagnostic},
    project::key_span,
};

/// A system whose connector has no profile.
pub struct UnknownConnector;

impl Rule for UnknownConnector {
    fn code(&self) -> &'static Code {
        &codes::UNKNOWN_CONNECTOR
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        let project = cx.project;
        let Some(config) = &project.config else {
            return;
        };
        for (alias, system) in &config.systems {
            if project.profiles.get(&system.connector).is_none() {
                let at =
                    key_span(&project.file, &["systems", alias, "connector"]).unwrap_or_default();
                out.push(
                    Diagnostic::new(&codes::UNKNOWN_CONNECTOR, format!("no connector profile `{}`", system.connector))
                        .primary(at, "unknown connector")
                        .help(help_for(&system.connector, "connector", project.profiles.names()))
                        .note("shipped profiles are in rules/connectors/; a project can add its own in connectors/")
                        .in_file(&project.file),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes_with_yaml;

    #[test]
    fn misspelt_connector() {
        let codes = lint_codes_with_yaml(
            "systems:\n  winner: { connector: winnr }\n",
            "table t { _ => 1 }",
        );
        assert!(codes.contains(&"LL604"), "{codes:?}");
    }
}
