#![doc = include_str!("../../../docs/lints/LL201.md")]

use crate::{
    check::types::{Mismatch, Type},
    diagnostic::{codes, Diagnostic},
    source::Span,
    syntax::ast::Ident,
};

/// A value that does not fit the field it is written to.
pub fn assignment(
    value: Span,
    field: Span,
    field_type: &Type,
    value_type: &Type,
    mismatch: Mismatch,
    value_text: &str,
) -> Diagnostic {
    let (message, help) = match mismatch {
        Mismatch::QuotedNumber => (
            format!("text cannot be stored in a {} field", field_type.kind()),
            match unquoted_number(value_text) {
                Some(number) if value_text.contains(',') => {
                    format!("write the number without quotes and with a decimal point: `{number}`")
                }
                Some(number) => format!("write the number without quotes: `{number}`"),
                None => "write the amount as a number without quotes, e.g. `1250.50`".to_string(),
            },
        ),
        Mismatch::DecimalIntoInteger => (
            format!("{value_type} cannot be stored in a whole-number field"),
            "round it first: `round(x, 0)`".to_string(),
        ),
        Mismatch::Kind => (
            format!(
                "{value_type} cannot be stored in a {} field",
                field_type.kind()
            ),
            format!("give {field_type} here"),
        ),
    };
    let mut diagnostic = Diagnostic::new(&codes::TYPE_MISMATCH, message)
        .primary(value, format!("this is {value_type}"))
        .help(help);
    if field != value {
        diagnostic = diagnostic.secondary(field, format!("this field holds {field_type}"));
    }
    diagnostic
}

/// `"12,50"` → `12.50`: a number a consultant quoted, with a decimal comma or spaces.
fn unquoted_number(text: &str) -> Option<String> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    let compact: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
    let normalised = if compact.matches(',').count() == 1 && !compact.contains('.') {
        compact.replace(',', ".")
    } else {
        compact
    };
    normalised
        .parse::<rust_decimal::Decimal>()
        .ok()
        .map(|_| normalised)
}

/// A value of the wrong kind where the construct needs `expected`.
pub fn expected(at: Span, expected: &Type, actual: &Type, why: &str) -> Diagnostic {
    Diagnostic::new(
        &codes::TYPE_MISMATCH,
        format!("expected {expected}, found {actual}"),
    )
    .primary(at, format!("this is {actual}"))
    .help(why.to_string())
}

/// Two values that cannot be compared.
pub fn comparison(at: Span, left: &Type, right: &Type) -> Diagnostic {
    Diagnostic::new(
        &codes::TYPE_MISMATCH,
        format!("{left} cannot be compared with {right}"),
    )
    .primary(at, "incompatible comparison")
    .help(comparison_help(left, right))
}

fn comparison_help(left: &Type, right: &Type) -> &'static str {
    let either = |f: &dyn Fn(&Type) -> bool| f(left) || f(right);
    if either(&|t| t.is_numeric()) && either(&|t| matches!(t, Type::Text)) {
        "write the number without quotes, e.g. `10000`, or turn text into digits with `digits(…)`"
    } else if either(&|t| matches!(t, Type::Date | Type::Datetime)) {
        "compare dates with dates: write `2026-01-31` without quotes, or convert text with `date(…)`"
    } else {
        "compare values of the same kind"
    }
}

/// Arithmetic on something that is not a number.
pub fn arithmetic(at: Span, op: &str, actual: &Type) -> Diagnostic {
    Diagnostic::new(
        &codes::TYPE_MISMATCH,
        format!("`{op}` needs numbers, found {actual}"),
    )
    .primary(at, format!("this is {actual}"))
    .help("join texts with interpolation instead: \"{a} {b}\"")
}

/// `x + 25%`: a percentage added to a plain number.
pub fn percent_arithmetic(at: Span, op: &str) -> Diagnostic {
    Diagnostic::new(
        &codes::TYPE_MISMATCH,
        format!("a percentage cannot be used with `{op}` on a plain number"),
    )
    .primary(at, "number and percentage")
    .help("scale with `*` (`amount * 25%`), or write the rate as a number (`1.25`)")
}

/// A function argument of the wrong kind.
pub fn argument(
    at: Span,
    function: &str,
    param: &str,
    expected: &str,
    actual: &Type,
) -> Diagnostic {
    Diagnostic::new(
        &codes::TYPE_MISMATCH,
        format!("`{function}` expects {expected} as `{param}`, found {actual}"),
    )
    .primary(at, format!("this is {actual}"))
    .help(format!("see `{function}` in docs/stdlib.md"))
}

/// `.field` on something without fields.
pub fn no_fields(field: &Ident, actual: &Type) -> Diagnostic {
    Diagnostic::new(&codes::TYPE_MISMATCH, format!("{actual} has no fields"))
        .primary(
            field.span,
            format!("`{}` cannot be read from {actual}", field.node),
        )
        .help("only records, entities, lists of records, parts and groups have fields")
}

/// `for`/`group`/`in` over something that is not a list.
pub fn not_a_list(at: Span, actual: &Type) -> Diagnostic {
    Diagnostic::new(
        &codes::TYPE_MISMATCH,
        format!("expected a list, found {actual}"),
    )
    .primary(at, format!("this is {actual}"))
    .help("use a list field, e.g. the lines of the record")
}

/// `x[k]` on something that cannot be indexed.
pub fn not_indexable(at: Span, actual: &Type) -> Diagnostic {
    Diagnostic::new(
        &codes::TYPE_MISMATCH,
        format!("{actual} cannot be indexed with `[…]`"),
    )
    .primary(at, format!("this is {actual}"))
    .help("`[…]` looks up a table, a list position or a custom field (`x.custom[1041]`)")
}

/// `split x by plan` where the plan is not a list.
pub fn not_a_plan(at: Span, actual: &Type) -> Diagnostic {
    Diagnostic::new(&codes::TYPE_MISMATCH, format!("a payment plan is a list of shares, found {actual}"))
        .primary(at, "not a list of shares")
        .help("write `[20%, 80%]` or a setting such as `payment_plan: [{ share: 20%, label: Forskudd }, …]`")
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn text_into_money_is_refused() {
        let src = r#"flow f { on winner.Quote
          create acc.Sale { reference = "x" party = 1 lines group winner.Quote.Lines by ProductGroup as g { unit_price = "12,50" quantity = 1 } } }"#;
        assert!(lint_codes(src).contains(&"LL201"), "{:?}", lint_codes(src));
    }

    #[test]
    fn round_to_zero_places_is_a_whole_number() {
        let whole = r#"flow f { on winner.Quote create acc.Sale { party = round(winner.Quote.Total, 0) reference = "r" } }"#;
        assert!(
            !lint_codes(whole).contains(&"LL201"),
            "{:?}",
            lint_codes(whole)
        );
    }

    #[test]
    fn a_percentage_is_not_added_to_a_number() {
        let bad = r#"flow f { on winner.Quote require winner.Quote.Total + 25% > 0 else "x" }"#;
        assert!(lint_codes(bad).contains(&"LL201"), "{:?}", lint_codes(bad));
        let scaled = r#"flow f { on winner.Quote require winner.Quote.Total * 25% > 0 else "x" }"#;
        assert!(
            !lint_codes(scaled).contains(&"LL201"),
            "{:?}",
            lint_codes(scaled)
        );
    }
}
