#![doc = include_str!("../../../docs/lints/LL104.md")]

use crate::{
    check::{suggest::help_for, types::Type},
    diagnostic::{codes, Diagnostic},
    syntax::ast::Ident,
};

/// A call of a function the standard library does not have.
pub fn diagnostic(function: &Ident) -> Diagnostic {
    Diagnostic::new(
        &codes::UNKNOWN_FUNCTION,
        format!("unknown function `{}`", function.node),
    )
    .primary(function.span, "not in the standard library")
    .help(help_for(&function.node, "function", crate::stdlib::names()))
    .note("the standard library is listed in docs/stdlib.md")
}

/// `x.f(…)` on a value that has no such method.
pub fn method(function: &Ident, receiver: &Type) -> Diagnostic {
    let help = if matches!(receiver, Type::Part) {
        "a payment-plan part has one method: `part.share(amount)`".to_string()
    } else {
        format!("functions are called by name: `{}(value)`", function.node)
    };
    Diagnostic::new(
        &codes::UNKNOWN_FUNCTION,
        format!("{receiver} has no method `{}`", function.node),
    )
    .primary(function.span, "no such method")
    .help(help)
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn flags_unknown_functions() {
        assert!(
            lint_codes("flow f { on winner.Quote when lowr(Number) == \"a\" }").contains(&"LL104")
        );
        assert!(
            !lint_codes("flow f { on winner.Quote when lower(Number) == \"a\" }")
                .contains(&"LL104")
        );
    }
}
