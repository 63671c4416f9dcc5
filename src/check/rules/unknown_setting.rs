#![doc = include_str!("../../../docs/lints/LL106.md")]

use crate::{
    check::suggest::help_for,
    diagnostic::{codes, Diagnostic},
    syntax::ast::Ident,
};

/// `settings.x` where ledgerlink.yaml has no setting `x`.
pub fn diagnostic(key: &Ident, keys: &[&str]) -> Diagnostic {
    Diagnostic::new(
        &codes::UNKNOWN_SETTING,
        format!("unknown setting `{}`", key.node),
    )
    .primary(key.span, "not under `settings:` in ledgerlink.yaml")
    .help(help_for(&key.node, "setting", keys.iter().copied()))
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn flags_a_missing_setting() {
        assert!(
            lint_codes("flow f { on winner.Quote since settings.from_dat }").contains(&"LL106")
        );
        assert!(
            !lint_codes("flow f { on winner.Quote since settings.from_date }").contains(&"LL106")
        );
    }
}
