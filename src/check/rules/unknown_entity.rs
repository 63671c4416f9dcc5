#![doc = include_str!("../../../docs/lints/LL102.md")]

use crate::{
    check::suggest::help_for,
    diagnostic::{codes, Diagnostic},
    syntax::ast::Ident,
};

/// `crm.Organization` where the webcrm profile has `Organisation`.
pub fn diagnostic(entity: &Ident, alias: &str, connector: &str, entities: &[&str]) -> Diagnostic {
    Diagnostic::new(
        &codes::UNKNOWN_ENTITY,
        if alias == connector {
            format!("`{alias}` has no entity `{}`", entity.node)
        } else {
            format!("`{alias}` ({connector}) has no entity `{}`", entity.node)
        },
    )
    .primary(entity.span, "unknown entity")
    .help(help_for(&entity.node, "entity", entities.iter().copied()))
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn flags_a_misspelt_entity() {
        assert!(lint_codes("flow f { on winner.Qoute }").contains(&"LL102"));
        assert!(!lint_codes("flow f { on winner.Quote }").contains(&"LL102"));
    }
}
