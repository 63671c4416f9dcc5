//! The standard library: the functions rule authors call, one function per file.
//!
//! Each file holds the function's doc, its [`Function`] entry (signature, inverse, summary
//! and examples), the implementation and its unit tests. [`FUNCTIONS`] lists them all, sorted
//! by name; the checker reads signatures from it, [`crate::eval`] calls through it, and
//! `tests/stdlib.rs` executes every [`Example`], so the documented examples cannot drift
//! from what the code does. `docs/stdlib.md` is the reference for rule authors.
//!
//! Calls go through [`Function::invoke`], which checks the argument count, lets a missing
//! value through (a `null` for a required argument gives `null`; a `null` for an optional one
//! counts as not given) and checks argument kinds before running the implementation.

mod arguments;
pub mod countries;
#[cfg(test)]
mod testing;

mod count;
mod country_code;
mod country_name;
mod date;
mod days;
mod digits;
mod first;
mod join;
mod lower;
mod max;
mod min;
mod phone;
mod replace;
mod round;
mod similar;
mod split;
mod sum;
mod today;
mod trim;
mod upper;

use crate::eval::{EvalError, EvalErrorKind, Value};

/// A standard-library function: its signature, documentation and implementation.
#[derive(Debug)]
pub struct Function {
    /// The name rule authors call it by.
    pub name: &'static str,
    /// The parameters in order; optional ones come last.
    pub params: &'static [Param],
    /// What it returns, for the checker.
    pub returns: Returns,
    /// The function that undoes this one, which makes a two-way `<->` mapping over a call
    /// of it possible (`country_code` ↔ `country_name`).
    pub inverse: Option<&'static str>,
    /// One sentence saying what it does.
    pub summary: &'static str,
    /// Calls and their results in rule-language syntax, executed by `tests/stdlib.rs`.
    pub examples: &'static [Example],
    /// The implementation. Prefer [`Function::invoke`], which also checks the arguments.
    pub call: fn(&[Value]) -> Result<Value, EvalError>,
}

/// A parameter of a [`Function`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// Its name in the docs and in messages.
    pub name: &'static str,
    /// What values it takes.
    pub kind: Kind,
    /// Whether it may be left out.
    pub optional: bool,
}

/// The kind of value a parameter takes or a function returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any value.
    Any,
    /// Text.
    Text,
    /// A number or a percent.
    Number,
    /// A date.
    Date,
    /// A list.
    List,
    /// A bool.
    Bool,
}

impl Kind {
    /// The kind's name as in messages and docs.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Any => "any",
            Kind::Text => "text",
            Kind::Number => "number",
            Kind::Date => "date",
            Kind::List => "list",
            Kind::Bool => "bool",
        }
    }

    /// Whether `value` is of this kind (`null` is of none but [`Kind::Any`]).
    pub fn accepts(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (Kind::Any, _)
                | (Kind::Text, Value::Text(_))
                | (Kind::Number, Value::Number(_) | Value::Percent(_))
                | (Kind::Date, Value::Date(_))
                | (Kind::List, Value::List(_))
                | (Kind::Bool, Value::Bool(_))
        )
    }
}

/// What a [`Function`] returns, as far as the checker can know it before run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// Always this kind (or `null`).
    Kind(Kind),
    /// A number that is money when the items summed are money: a sum of money stays money.
    Money,
    /// The same type as the argument at this index (`round` of a percent is a percent).
    SameAsArgument(usize),
    /// An item of the list at this index (`first`, `min`).
    ItemOfArgument(usize),
    /// A list of this kind.
    ListOf(Kind),
}

/// A documented call and its result, both in rule-language syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    /// The call, e.g. `digits("DK-12 34 56 78")`.
    pub call: &'static str,
    /// What it evaluates to, e.g. `"12345678"`.
    pub result: &'static str,
}

impl Function {
    /// The number of parameters that must be given.
    pub fn required_count(&self) -> usize {
        self.params.iter().filter(|p| !p.optional).count()
    }

    /// `round(number: number, places?: number)`: the call as the docs show it.
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| {
                format!(
                    "{}{}: {}",
                    p.name,
                    if p.optional { "?" } else { "" },
                    p.kind.name()
                )
            })
            .collect();
        format!("{}({})", self.name, params.join(", "))
    }

    /// Calls the function: checks the argument count, passes `null` through (a `null`
    /// required argument gives `null`, a `null` optional one counts as not given), checks
    /// each argument's kind, then runs the implementation.
    pub fn invoke(&self, args: &[Value]) -> Result<Value, EvalError> {
        if args.len() < self.required_count() || args.len() > self.params.len() {
            return Err(self.argument_count_error(args.len()));
        }
        for (param, arg) in self.params.iter().zip(args) {
            if arg.is_null() && param.kind != Kind::Any && !param.optional {
                return Ok(Value::Null);
            }
        }
        for (param, arg) in self.params.iter().zip(args) {
            if !arg.is_null() && !param.kind.accepts(arg) {
                return Err(EvalError::type_mismatch(format!(
                    "`{}` takes {} as `{}`, found {}",
                    self.name,
                    param.kind.name(),
                    param.name,
                    arg.type_name()
                )));
            }
        }
        (self.call)(args)
    }

    fn argument_count_error(&self, given: usize) -> EvalError {
        let expected = match (self.required_count(), self.params.len()) {
            (0, 0) => "no arguments".to_string(),
            (1, 1) => "1 argument".to_string(),
            (n, m) if n == m => format!("{n} arguments"),
            (n, m) => format!("{n} to {m} arguments"),
        };
        EvalError::new(
            EvalErrorKind::ArgumentCount,
            format!("`{}` takes {expected}, given {given}", self.signature()),
        )
    }
}

/// Declares the functions from one list of their modules, each named as its function: the
/// sorted list and the lookup by name, a `match` (every call in every rule expression looks
/// its function up).
macro_rules! functions {
    ($($name:ident),* $(,)?) => {
        /// Every function, sorted by name.
        pub static FUNCTIONS: &[&Function] = &[$(&$name::FUNCTION),*];

        /// The function called `name`, if there is one.
        pub fn lookup(name: &str) -> Option<&'static Function> {
            match name {
                $(stringify!($name) => Some(&$name::FUNCTION),)*
                _ => None,
            }
        }
    };
}

functions!(
    count,
    country_code,
    country_name,
    date,
    days,
    digits,
    first,
    join,
    lower,
    max,
    min,
    phone,
    replace,
    round,
    similar,
    split,
    sum,
    today,
    trim,
    upper,
);

/// The names of every function, sorted.
pub fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|f| f.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_is_found_by_its_name() {
        for function in FUNCTIONS {
            assert!(std::ptr::eq(
                lookup(function.name).expect("found"),
                *function
            ));
        }
        assert!(lookup("nope").is_none());
    }

    #[test]
    fn functions_are_sorted_and_unique() {
        for pair in FUNCTIONS.windows(2) {
            assert!(
                pair[0].name < pair[1].name,
                "{} before {}",
                pair[0].name,
                pair[1].name
            );
        }
    }

    #[test]
    fn lookup_finds_every_function() {
        for function in FUNCTIONS {
            assert_eq!(lookup(function.name).map(|f| f.name), Some(function.name));
        }
        assert!(lookup("nope").is_none());
    }

    #[test]
    fn entries_are_complete() {
        for function in FUNCTIONS {
            assert!(
                !function.examples.is_empty(),
                "{} has no example",
                function.name
            );
            assert!(
                !function.summary.is_empty(),
                "{} has no summary",
                function.name
            );
            let first_optional = function
                .params
                .iter()
                .position(|p| p.optional)
                .unwrap_or(function.params.len());
            assert!(
                function.params[first_optional..].iter().all(|p| p.optional),
                "{}",
                function.name
            );
            if let Some(inverse) = function.inverse {
                let other = lookup(inverse).expect("inverse exists");
                assert_eq!(
                    other.inverse,
                    Some(function.name),
                    "{} ↔ {inverse}",
                    function.name
                );
            }
        }
    }

    #[test]
    fn invoke_checks_arguments_and_passes_null() {
        let lower = lookup("lower").unwrap();
        assert_eq!(lower.invoke(&[Value::Null]).unwrap(), Value::Null);
        assert_eq!(
            lower.invoke(&[]).unwrap_err().kind,
            EvalErrorKind::ArgumentCount
        );
        let err = lower.invoke(&[Value::Bool(true)]).unwrap_err();
        assert_eq!(err.kind, EvalErrorKind::TypeMismatch);
        assert_eq!(err.message, "`lower` takes text as `text`, found bool");
        let round = lookup("round").unwrap();
        assert_eq!(
            round.invoke(&[]).unwrap_err().message,
            "`round(number: number, places?: number)` takes 1 to 2 arguments, given 0"
        );
    }

    #[test]
    fn implementations_never_panic_on_wrong_arguments() {
        let samples = [
            Value::Null,
            Value::Bool(true),
            Value::Text("x".into()),
            Value::List(vec![]),
        ];
        for function in FUNCTIONS {
            for count in 0..=3 {
                for sample in &samples {
                    let args = vec![sample.clone(); count];
                    let _ = (function.call)(&args);
                    let _ = function.invoke(&args);
                }
            }
        }
    }
}
