//! `country_code(name)`: the ISO 3166-1 alpha-2 code of a country written by name or code.
//!
//! The names come from the table in [`super::countries`]: English and local names and the
//! Danish, Norwegian, Swedish, Finnish and German names, plus alpha-2 and alpha-3 codes.

use super::{arguments, countries, Example, Function, Kind, Param, Returns};
use crate::eval::{EvalError, Value};

/// The `country_code` entry of the standard library.
pub(super) static FUNCTION: Function = Function {
    name: "country_code",
    params: &[Param { name: "country", kind: Kind::Text, optional: false }],
    returns: Returns::Kind(Kind::Text),
    inverse: Some("country_name"),
    summary: "The ISO 3166-1 alpha-2 code of a country given by name (English or local) or code, in any case.",
    examples: &[
        Example { call: r#"country_code("Danmark")"#, result: r#""DK""# },
        Example { call: r#"country_code(" norway ")"#, result: r#""NO""# },
        Example { call: r#"country_code("Ísland")"#, result: r#""IS""# },
        Example { call: r#"country_code("Deutschland")"#, result: r#""DE""# },
        Example { call: r#"country_code("swe")"#, result: r#""SE""# },
    ],
    call,
};

fn call(args: &[Value]) -> Result<Value, EvalError> {
    let name = arguments::text(FUNCTION.name, args, 0)?;
    match countries::find(name) {
        Some(country) => Ok(Value::Text(country.code.to_string())),
        None => Err(EvalError::bad_argument(format!(
            "`{}` is not a country `country_code` knows; write its ISO code, e.g. \"DK\"",
            name.trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{fails, gives};
    use crate::eval::EvalErrorKind;

    #[test]
    fn reads_names_and_codes() {
        gives(r#"country_code("SUOMI")"#, r#""FI""#);
        gives(r#"country_code("Sverige")"#, r#""SE""#);
        gives(r#"country_code("United   Kingdom")"#, r#""GB""#);
        gives(r#"country_code("dk")"#, r#""DK""#);
        fails(r#"country_code("Atlantis")"#, EvalErrorKind::BadArgument);
        fails(r#"country_code("")"#, EvalErrorKind::BadArgument);
    }
}
