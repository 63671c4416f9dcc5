#![doc = include_str!("../../../docs/lints/LL601.md")]

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, suggest::help_for},
    diagnostic::{codes, Code, Diagnostic},
    project::key_span,
};

/// `ledgerlink.yaml` that does not fit the connectors it names: unknown or missing
/// options and credentials, an unknown state store.
pub struct InvalidProjectFile;

impl Rule for InvalidProjectFile {
    fn code(&self) -> &'static Code {
        &codes::INVALID_PROJECT_FILE
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        let project = cx.project;
        let file = &project.file;
        let Some(config) = &project.config else {
            return;
        };
        for (alias, system) in &config.systems {
            let Some(profile) = project.profiles.get(&system.connector) else {
                continue;
            };
            let mut report = |path: &[&str], message: String, help: String| {
                let at = key_span(file, path).unwrap_or_default();
                out.push(
                    Diagnostic::new(&codes::INVALID_PROJECT_FILE, message)
                        .primary(at, "here")
                        .help(help)
                        .in_file(file),
                );
            };
            for key in system.options.keys() {
                if !profile.options.contains_key(key) {
                    let names: Vec<&str> = profile.options.keys().map(String::as_str).collect();
                    report(
                        &["systems", alias, "options", key],
                        format!("connector `{}` has no option `{key}`", profile.name),
                        help_for(key, "option", names),
                    );
                }
            }
            for (key, option) in &profile.options {
                if option.required && option.default.is_none() && !system.options.contains_key(key)
                {
                    report(
                        &["systems", alias],
                        format!("system `{alias}` needs the option `{key}`"),
                        format!("add `options: {{ {key}: … }}` ({})", option.doc.trim()),
                    );
                }
            }
            for key in system.auth.keys() {
                if !profile.auth.credentials.contains(key) {
                    let names: Vec<&str> = profile
                        .auth
                        .credentials
                        .iter()
                        .map(String::as_str)
                        .collect();
                    report(
                        &["systems", alias, "auth", key],
                        format!("connector `{}` takes no credential `{key}`", profile.name),
                        help_for(key, "credential", names),
                    );
                }
            }
            for key in &profile.auth.credentials {
                if !system.auth.contains_key(key) {
                    report(
                        &["systems", alias],
                        format!("system `{alias}` needs the credential `{key}`"),
                        format!("add `auth: {{ {key}: env:{} }}`", key.to_uppercase()),
                    );
                }
            }
        }
        if let Some(state) = &config.state {
            if !["sqlite:", "postgres:", "postgresql:"]
                .iter()
                .any(|p| state.starts_with(p))
            {
                let at = key_span(file, &["state"]).unwrap_or_default();
                out.push(
                    Diagnostic::new(
                        &codes::INVALID_PROJECT_FILE,
                        "the state store must be SQLite or PostgreSQL",
                    )
                    .primary(at, "unknown store")
                    .help("write `state: sqlite://state.db` or `state: postgres://user@host/db`")
                    .in_file(file),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes_with_yaml;

    #[test]
    fn unknown_options_and_bad_state() {
        let yaml =
            "systems:\n  winner: { connector: winner, options: { pth: x } }\nstate: mysql://x\n";
        let codes = lint_codes_with_yaml(yaml, "flow f { on winner.Quote }");
        assert!(
            codes.iter().filter(|c| **c == "LL601").count() >= 2,
            "{codes:?}"
        );
    }
}
