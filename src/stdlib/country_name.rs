//! `country_name(code)`: the English name of a country given by its ISO 3166-1 code.

use super::{arguments, countries, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `country_name` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "country_name",
    params: &[Param { name: "code", kind: Kind::Text, optional: false }],
    returns: Returns::Kind(Kind::Text),
    inverse: Some("country_code"),
    summary: "The English name of the country with this ISO 3166-1 alpha-2 (or alpha-3) code, in any case.",
    examples: &[
        Example { call: r#"country_name("fi")"#, result: r#""Finland""# },
        Example { call: r#"country_name("GB")"#, result: r#""United Kingdom""# },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let code = arguments::text(FUNCTION.name, args, 0)?;
    match countries::by_code(code) {
        Some(country) => Ok(Value::Text(country.name.to_string())),
        None => Err(EvalError::bad_argument(format!(
            "`{}` is not a country code `country_name` knows",
            code.trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fails, gives};
    use crate::eval::EvalErrorKind;

    #[test]
    fn names_codes() {
        gives(r#"country_name("dnk")"#, r#""Denmark""#);
        gives(r#"country_code(country_name("AX"))"#, r#""AX""#);
        fails(r#"country_name("Danmark")"#, EvalErrorKind::BadArgument);
        fails(r#"country_name("XX")"#, EvalErrorKind::BadArgument);
    }
}
