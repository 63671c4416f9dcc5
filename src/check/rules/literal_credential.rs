#![doc = include_str!("../../../docs/lints/LL501.md")]

use serde_yaml_ng::Value as Yaml;

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, walk},
    diagnostic::{codes, Code, Diagnostic},
    project::key_span,
    source::Span,
    syntax::ast::{ExprKind, Literal, Statement},
};

/// A password, token or key written into a file instead of referenced.
pub struct LiteralCredential;

/// Names that hold secrets.
fn secret_like(name: &str) -> bool {
    let lower = name.to_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "private_key",
        "client_secret",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

/// A credential reference rather than a value.
pub fn is_reference(value: &str) -> bool {
    value.starts_with("env:") || value.starts_with("file:")
}

impl Rule for LiteralCredential {
    fn code(&self) -> &'static Code {
        &codes::LITERAL_CREDENTIAL
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        let project = cx.project;
        let Some(config) = &project.config else {
            return;
        };
        for (alias, system) in &config.systems {
            for (key, value) in &system.auth {
                if let Some(text) = literal(value) {
                    let at = key_span(&project.file, &["systems", alias, "auth", key])
                        .unwrap_or_default();
                    out.push(
                        diagnostic(
                            at,
                            &format!("credential `{key}` of system `{alias}`"),
                            &format!("{alias}_{key}"),
                            key,
                            text,
                        )
                        .in_file(&project.file),
                    );
                }
            }
            for (key, value) in &system.options {
                if let (true, Some(text)) = (secret_like(key), literal(value)) {
                    let at = key_span(&project.file, &["systems", alias, "options", key])
                        .unwrap_or_default();
                    out.push(
                        diagnostic(
                            at,
                            &format!("option `{key}` of system `{alias}`"),
                            &format!("{alias}_{key}"),
                            key,
                            text,
                        )
                        .in_file(&project.file),
                    );
                }
            }
        }
        for (key, value) in &config.settings {
            if let (true, Some(text)) = (secret_like(key), literal(value)) {
                let at = key_span(&project.file, &["settings", key]).unwrap_or_default();
                out.push(
                    diagnostic(at, &format!("setting `{key}`"), key, key, text)
                        .in_file(&project.file),
                );
            }
        }
        for (file, flow) in walk::flows(project) {
            walk::statements(&flow.node.statements, &mut |s| {
                let Statement::Assign { field, value } = &s.node else {
                    return;
                };
                if let (true, ExprKind::Literal(Literal::Text(text))) =
                    (secret_like(&field.node), &value.node)
                {
                    if !text.is_empty() && !is_reference(text) {
                        out.push(
                            diagnostic(
                                value.span,
                                &format!("field `{}`", field.node),
                                &field.node,
                                &field.node,
                                text,
                            )
                            .in_file(file),
                        );
                    }
                }
            });
        }
    }
}

/// The text of a YAML value that is a literal (not `env:`/`file:`), if any.
fn literal(value: &Yaml) -> Option<&str> {
    match value {
        Yaml::String(s) if !s.is_empty() && !is_reference(s) => Some(s),
        Yaml::Number(_) | Yaml::Bool(_) => Some("…"),
        _ => None,
    }
}

fn diagnostic(at: Span, what: &str, variable: &str, key: &str, _secret: &str) -> Diagnostic {
    // The value itself is never repeated: lint output ends up in CI logs.
    let variable: String = variable
        .to_uppercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let note = if secret_like(key) {
        "anyone who can read the project (or its git history) can read this secret: change it"
    } else {
        "credentials stay out of project files, so one project runs against test and live accounts unchanged"
    };
    Diagnostic::new(&codes::LITERAL_CREDENTIAL, format!("{what} is written in the file"))
        .primary(at, "value in plain text")
        .help(format!("write `{key}: env:{variable}` (or `{key}: file:/run/secrets/{}`) and set it where ledgerlink runs", variable.to_lowercase()))
        .note(note)
}

#[cfg(test)]
mod tests {
    use crate::check::testing::{lint_codes, lint_codes_with_yaml};

    #[test]
    fn literal_secrets_are_refused() {
        let yaml = "systems:\n  winner: { connector: winner }\n  acc: { connector: tryton, auth: { user: admin, password: hunter2 } }\n";
        let codes = lint_codes_with_yaml(yaml, "flow f { on winner.Quote }");
        assert!(codes.contains(&"LL501"), "{codes:?}");
        assert!(!lint_codes("flow f { on winner.Quote }").contains(&"LL501"));
    }
}
