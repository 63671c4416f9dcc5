#![doc = include_str!("../../../docs/lints/LL101.md")]

use crate::{
    check::suggest::help_for,
    diagnostic::{codes, Diagnostic},
    syntax::ast::Ident,
};

/// `crmm.Organisation` where the project has no system `crmm`.
pub fn diagnostic(system: &Ident, aliases: &[&str]) -> Diagnostic {
    Diagnostic::new(
        &codes::UNKNOWN_SYSTEM,
        format!("unknown system `{}`", system.node),
    )
    .primary(system.span, "not a system of this project")
    .help(help_for(&system.node, "system", aliases.iter().copied()))
    .note("systems are declared under `systems:` in ledgerlink.yaml")
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn flags_a_misspelt_system() {
        let codes = lint_codes("flow f { on winnr.Quote }");
        assert!(codes.contains(&"LL101"), "{codes:?}");
    }
}
