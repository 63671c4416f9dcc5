//! Types of standard-library calls, from the signatures in [`crate::stdlib`].

use super::{
    resolve::Resolver,
    rules::{unknown_function, wrong_argument_count},
    types::Type,
};
use crate::{
    source::Span,
    stdlib::{self, Kind, Returns},
    syntax::ast::{Expr, Ident},
};

/// Checks a call of a standard-library function and returns its result type.
pub(super) fn call_type(
    resolver: &mut Resolver<'_, '_>,
    function: &Ident,
    arg_types: &[Type],
    args: &[Expr],
    at: Span,
) -> Type {
    let Some(signature) = stdlib::lookup(&function.node) else {
        resolver.push_diagnostic(unknown_function::diagnostic(function));
        return Type::Unknown;
    };
    let max = signature.params.len();
    let min = signature.params.iter().filter(|p| !p.optional).count();
    if args.len() < min || args.len() > max {
        resolver.push_diagnostic(wrong_argument_count::diagnostic(
            function,
            at,
            min,
            max,
            args.len(),
        ));
    }
    for ((param, arg_type), arg) in signature.params.iter().zip(arg_types).zip(args) {
        if !fits(param.kind, arg_type) {
            resolver.push_diagnostic(super::rules::type_mismatch::argument(
                arg.span,
                signature.name,
                param.name,
                kind_name(param.kind),
                arg_type,
            ));
        }
    }
    // `round(x, 0)` is how a rule turns a decimal into a whole number.
    if signature.name == "round"
        && args.get(1).is_some_and(is_literal_zero)
        && arg_types.first().is_some_and(Type::is_numeric)
    {
        return Type::Integer;
    }
    match signature.returns {
        Returns::Kind(kind) => kind_type(kind),
        Returns::Money => match arg_types.first() {
            Some(Type::List(item)) if item.is_numeric() => (**item).clone(),
            _ => Type::Money,
        },
        Returns::SameAsArgument(i) => arg_types.get(i).cloned().unwrap_or(Type::Unknown),
        Returns::ItemOfArgument(i) => match arg_types.get(i) {
            Some(Type::List(item)) => (**item).clone(),
            _ => Type::Unknown,
        },
        Returns::ListOf(kind) => Type::List(Box::new(kind_type(kind))),
    }
}

fn fits(kind: Kind, t: &Type) -> bool {
    match kind {
        Kind::Any => true,
        Kind::Text => {
            t.is_textual() || matches!(t, Type::Integer | Type::Null | Type::Reference(_))
        }
        Kind::Number => t.is_numeric() || matches!(t, Type::Null),
        Kind::Date => matches!(
            t,
            Type::Date | Type::Datetime | Type::Text | Type::Unknown | Type::Null
        ),
        Kind::List => matches!(t, Type::List(_) | Type::Unknown | Type::Null),
        Kind::Bool => matches!(t, Type::Bool | Type::Unknown | Type::Null),
    }
}

fn kind_type(kind: Kind) -> Type {
    match kind {
        Kind::Any => Type::Unknown,
        Kind::Text => Type::Text,
        Kind::Number => Type::Decimal,
        Kind::Date => Type::Date,
        Kind::List => Type::List(Box::new(Type::Unknown)),
        Kind::Bool => Type::Bool,
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Any => "any value",
        Kind::Text => "text",
        Kind::Number => "a number",
        Kind::Date => "a date",
        Kind::List => "a list",
        Kind::Bool => "true or false",
    }
}

fn is_literal_zero(expr: &Expr) -> bool {
    matches!(&expr.node, crate::syntax::ast::ExprKind::Literal(crate::syntax::ast::Literal::Number(n)) if n.is_zero())
}
