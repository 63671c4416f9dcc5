#![doc = include_str!("../../../docs/lints/LL203.md")]

use crate::{
    check::suggest::did_you_mean,
    diagnostic::{codes, Diagnostic},
    source::Span,
};

/// An enum field compared with or set to a value outside its profile's `values`.
pub fn diagnostic(at: Span, value: &str, field: &str, values: &[String]) -> Diagnostic {
    let choices = values
        .iter()
        .map(|v| format!("\"{v}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let help = match did_you_mean(value, values.iter().map(String::as_str)) {
        Some(best) => format!("did you mean \"{best}\"? the values are {choices}"),
        None => format!("the values are {choices}"),
    };
    Diagnostic::new(
        &codes::UNKNOWN_ENUM_VALUE,
        format!("\"{value}\" is not one of the values of `{field}`"),
    )
    .primary(at, "never matches")
    .help(help)
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn flags_a_misspelt_status() {
        assert!(
            lint_codes(r#"flow f { on winner.Quote when Status becomes "Acepted" }"#)
                .contains(&"LL203")
        );
        assert!(
            !lint_codes(r#"flow f { on winner.Quote when Status becomes "Accepted" }"#)
                .contains(&"LL203")
        );
        // Writing a value is checked like comparing one.
        let write = r#"flow f { on winner.Quote create acc.Sale { party = 1 reference = "r" lines for l in winner.Quote.Lines { type = "lien" } } }"#;
        assert!(
            lint_codes(write).contains(&"LL203"),
            "{:?}",
            lint_codes(write)
        );
    }
}
