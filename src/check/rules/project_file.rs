#![doc = include_str!("../../../docs/lints/LL601.md")]

use super::Rule;
use crate::{
    check::{
        context::Context,
        resolve::Facts,
        suggest::{did_you_mean, help_for},
    },
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
            let mut report = |path: &[&str], label: &str, message: String, help: String| {
                let at = key_span(file, path).unwrap_or_default();
                out.push(
                    Diagnostic::new(&codes::INVALID_PROJECT_FILE, message)
                        .primary(at, label)
                        .help(help)
                        .in_file(file),
                );
            };
            if let Some(timeout) = &system.timeout {
                let valid =
                    crate::eval::Value::parse_duration(timeout.trim()).is_ok_and(|d| !d.is_zero());
                if !valid {
                    report(
                        &["systems", alias, "timeout"],
                        "not a duration",
                        format!("`timeout: {timeout}` of system `{alias}` is not a duration"),
                        "write a duration such as `30s` or `500ms`".into(),
                    );
                }
            }
            let option_names: Vec<&str> = profile.options.keys().map(String::as_str).collect();
            let credential_names: Vec<&str> = profile
                .auth
                .credentials
                .iter()
                .map(String::as_str)
                .collect();
            // A misspelt key is reported once, as unknown with its "did you mean", not again
            // as the missing key it was meant to be.
            let meant = |given: &mut dyn Iterator<Item = &String>, known: &[&str]| -> Vec<String> {
                given
                    .filter_map(|k| did_you_mean(k, known.iter().copied()).map(str::to_string))
                    .collect()
            };
            let meant_options = meant(
                &mut system
                    .options
                    .keys()
                    .filter(|k| !profile.options.contains_key(*k)),
                &option_names,
            );
            let meant_credentials = meant(
                &mut system
                    .auth
                    .keys()
                    .filter(|k| !profile.auth.credentials.contains(k)),
                &credential_names,
            );
            for key in system
                .options
                .keys()
                .filter(|k| !profile.options.contains_key(*k))
            {
                report(
                    &["systems", alias, "options", key],
                    "unknown option",
                    format!("connector `{}` has no option `{key}`", profile.name),
                    help_for(key, "option", option_names.iter().copied()),
                );
            }
            for (key, option) in &profile.options {
                let missing = option.required
                    && option.default.is_none()
                    && !system.options.contains_key(key);
                if missing && !meant_options.contains(key) {
                    let doc = option.doc.trim().trim_end_matches('.');
                    report(
                        &["systems", alias],
                        "this system",
                        format!("system `{alias}` needs the option `{key}`"),
                        format!("add `options: {{ {key}: … }}`: {doc}"),
                    );
                }
            }
            for key in system
                .auth
                .keys()
                .filter(|k| !profile.auth.credentials.contains(k))
            {
                report(
                    &["systems", alias, "auth", key],
                    "unknown credential",
                    format!("connector `{}` takes no credential `{key}`", profile.name),
                    help_for(key, "credential", credential_names.iter().copied()),
                );
            }
            for key in &profile.auth.credentials {
                if !system.auth.contains_key(key) && !meant_credentials.contains(key) {
                    let variable = format!("{alias}_{key}").to_uppercase();
                    report(
                        &["systems", alias],
                        "this system",
                        format!("system `{alias}` needs the credential `{key}`"),
                        format!("add `auth: {{ {key}: env:{variable} }}`"),
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
