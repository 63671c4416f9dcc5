#![doc = include_str!("../../../docs/lints/LL503.md")]

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts},
    diagnostic::{codes, Code, Diagnostic},
    project::key_span,
};

/// A setting in ledgerlink.yaml that no rule reads: usually a typo on one side.
pub struct UnusedSetting;

impl Rule for UnusedSetting {
    fn code(&self) -> &'static Code {
        &codes::UNUSED_SETTING
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        let used = cx.used.borrow();
        let file = &cx.project.file;
        for key in cx.settings.keys() {
            if !used.contains(&format!("settings.{key}")) {
                let at = key_span(file, &["settings", key]).unwrap_or_default();
                out.push(
                    Diagnostic::new(
                        &codes::UNUSED_SETTING,
                        format!("setting `{key}` is never used"),
                    )
                    .primary(at, "no rule reads it")
                    .help(format!(
                        "read it in a rule as `settings.{key}`, or remove it"
                    ))
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
    fn unused_settings_are_reported() {
        let yaml = "systems:\n  winner: { connector: winner }\nsettings:\n  from_date: 2026-01-01\n  spare: 1\n";
        let codes =
            lint_codes_with_yaml(yaml, "flow f { on winner.Quote since settings.from_date }");
        assert_eq!(
            codes.iter().filter(|c| **c == "LL503").count(),
            1,
            "{codes:?}"
        );
    }
}
