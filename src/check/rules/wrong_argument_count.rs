#![doc = include_str!("../../../docs/lints/LL107.md")]

use crate::{
    diagnostic::{codes, Diagnostic},
    source::Span,
    syntax::ast::Ident,
};

/// A call with too few or too many arguments.
pub fn diagnostic(function: &Ident, at: Span, min: usize, max: usize, given: usize) -> Diagnostic {
    let wanted = match (min, max) {
        (a, b) if a == b => format!("{a}"),
        (a, b) => format!("{a} to {b}"),
    };
    let plural = if max == 1 { "" } else { "s" };
    Diagnostic::new(
        &codes::WRONG_ARGUMENT_COUNT,
        format!(
            "`{}` takes {wanted} argument{plural}, {given} given",
            function.node
        ),
    )
    .primary(at, "wrong number of arguments")
    .help(format!("see `{}` in docs/stdlib.md", function.node))
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn flags_argument_counts() {
        assert!(
            lint_codes("flow f { on winner.Quote when lower(Number, Number) == \"a\" }")
                .contains(&"LL107")
        );
    }
}
