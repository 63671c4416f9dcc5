#![doc = include_str!("../../../docs/lints/LL103.md")]

use crate::{
    check::suggest::help_for,
    diagnostic::{codes, Diagnostic},
    syntax::ast::Ident,
};

/// A field name the entity (or record) does not have.
pub fn diagnostic(field: &Ident, owner: &str, fields: &[&str]) -> Diagnostic {
    Diagnostic::new(
        &codes::UNKNOWN_FIELD,
        format!("{owner} has no field `{}`", field.node),
    )
    .primary(field.span, "unknown field")
    .help(help_for(&field.node, "field", fields.iter().copied()))
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn flags_a_typo_in_a_field() {
        let codes = lint_codes(r#"flow f { on winner.Quote when Stauts becomes "Accepted" }"#);
        assert!(codes.contains(&"LL103"), "{codes:?}");
        let codes = lint_codes(r#"flow f { on winner.Quote when Status becomes "Accepted" }"#);
        assert!(!codes.contains(&"LL103"), "{codes:?}");
    }
}
