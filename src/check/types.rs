//! The types the checker infers for expressions, and which values a field accepts.

use std::{fmt, sync::Arc};

use indexmap::IndexMap;

use crate::connector::{
    profile::{FieldType, Fields},
    Field,
};

/// A type of a value in a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    /// Unknown (an error was already reported, or it cannot be told): accepted everywhere.
    Unknown,
    /// `null`
    Null,
    /// Text.
    Text,
    /// Whole number.
    Integer,
    /// Exact decimal.
    Decimal,
    /// Money.
    Money,
    /// Percentage.
    Percent,
    /// Date.
    Date,
    /// Date and time.
    Datetime,
    /// Duration.
    Duration,
    /// true/false.
    Bool,
    /// A file.
    Binary,
    /// One of a fixed set of texts.
    Enum(Arc<[String]>),
    /// An id of a record of the named entity.
    Reference(Option<String>),
    /// A nested record.
    Record(Arc<IndexMap<String, Type>>),
    /// A list.
    List(Box<Type>),
    /// A record of an entity of a system (`winner.Quote`, a `let` document, a `find` item).
    Entity {
        /// System alias.
        system: String,
        /// Entity name.
        entity: String,
    },
    /// Custom fields of an entity, indexed by id or name.
    Custom(Box<Type>),
    /// A part of a `split`.
    Part,
    /// A group of `lines group`.
    Group {
        /// The key's type.
        key: Box<Type>,
        /// The type of a grouped item.
        item: Box<Type>,
    },
    /// A lookup table.
    Table(Box<Type>),
}

impl Type {
    /// The type of a profile field.
    pub fn of_field(field: &Field) -> Type {
        match field.r#type {
            FieldType::Enum => Type::Enum(field.values.clone().into()),
            FieldType::Reference => Type::Reference(field.entity.clone()),
            FieldType::Record => Type::Record(Arc::new(record_fields(&field.fields))),
            FieldType::List => match (&field.item, field.fields.is_empty()) {
                (Some(item), _) => Type::List(Box::new(Type::of_scalar(*item))),
                (None, false) => Type::List(Box::new(Type::Record(Arc::new(record_fields(
                    &field.fields,
                ))))),
                (None, true) => Type::List(Box::new(Type::Unknown)),
            },
            scalar => Type::of_scalar(scalar),
        }
    }

    /// The type of a scalar field type.
    pub fn of_scalar(field_type: FieldType) -> Type {
        match field_type {
            FieldType::Text => Type::Text,
            FieldType::Integer => Type::Integer,
            FieldType::Decimal => Type::Decimal,
            FieldType::Money => Type::Money,
            FieldType::Percent => Type::Percent,
            FieldType::Date => Type::Date,
            FieldType::Datetime => Type::Datetime,
            FieldType::Bool => Type::Bool,
            FieldType::Binary => Type::Binary,
            FieldType::Enum | FieldType::Reference | FieldType::Record | FieldType::List => {
                Type::Unknown
            }
        }
    }

    /// Numbers of any kind.
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            Type::Integer | Type::Decimal | Type::Money | Type::Percent | Type::Unknown
        )
    }

    /// Text-like values.
    pub fn is_textual(&self) -> bool {
        matches!(self, Type::Text | Type::Enum(_) | Type::Unknown)
    }

    /// True when nothing can be said.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Type::Unknown)
    }
}

fn record_fields(fields: &Fields) -> IndexMap<String, Type> {
    fields
        .iter()
        .map(|(name, f)| (name.clone(), Type::of_field(f)))
        .collect()
}

/// Values are described with their article ("text", "money", "a date"), so messages read
/// "expected a date, found text".
impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Unknown => f.write_str("an unknown value"),
            Type::Null => f.write_str("null"),
            Type::Text => f.write_str("text"),
            Type::Integer => f.write_str("a whole number"),
            Type::Decimal => f.write_str("a decimal number"),
            Type::Money => f.write_str("money"),
            Type::Percent => f.write_str("a percentage"),
            Type::Date => f.write_str("a date"),
            Type::Datetime => f.write_str("a date and time"),
            Type::Duration => f.write_str("a duration"),
            Type::Bool => f.write_str("true/false"),
            Type::Binary => f.write_str("a file"),
            Type::Enum(values) => {
                let shown: Vec<String> =
                    values.iter().take(6).map(|v| format!("\"{v}\"")).collect();
                write!(f, "one of {}", shown.join(", "))?;
                if values.len() > 6 {
                    f.write_str(", …")?;
                }
                Ok(())
            }
            Type::Reference(Some(entity)) => write!(f, "a reference to {entity}"),
            Type::Reference(None) => f.write_str("a reference"),
            Type::Record(_) => f.write_str("a record"),
            Type::List(item) => write!(f, "a list of {}", item.kind()),
            Type::Entity { system, entity } => write!(f, "a {system}.{entity} record"),
            Type::Custom(_) => f.write_str("custom fields"),
            Type::Part => f.write_str("a payment-plan part"),
            Type::Group { .. } => f.write_str("a group of lines"),
            Type::Table(_) => f.write_str("a table"),
        }
    }
}

impl Type {
    /// The kind of a field holding this type, as in "a money field".
    pub fn kind(&self) -> String {
        match self {
            Type::Unknown => "unknown".into(),
            Type::Null => "empty".into(),
            Type::Text => "text".into(),
            Type::Integer => "whole-number".into(),
            Type::Decimal => "decimal".into(),
            Type::Money => "money".into(),
            Type::Percent => "percentage".into(),
            Type::Date => "date".into(),
            Type::Datetime => "date-and-time".into(),
            Type::Duration => "duration".into(),
            Type::Bool => "true/false".into(),
            Type::Binary => "file".into(),
            Type::Enum(_) => "choice".into(),
            Type::Reference(Some(entity)) => format!("{entity} reference"),
            Type::Reference(None) => "reference".into(),
            Type::Record(_) | Type::Entity { .. } => "record".into(),
            Type::List(_) => "list".into(),
            Type::Custom(_) => "custom".into(),
            Type::Part => "payment-plan part".into(),
            Type::Group { .. } => "group".into(),
            Type::Table(_) => "table".into(),
        }
    }
}

/// Why a value does not fit a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// Different kinds of value.
    Kind,
    /// A decimal where a whole number is required.
    DecimalIntoInteger,
    /// Text in quotes where a number is required.
    QuotedNumber,
}

/// Can a value of type `value` be stored in a field of type `field`?
pub fn assignable(field: &Type, value: &Type) -> Result<(), Mismatch> {
    use Type::*;
    let ok = match (field, value) {
        (Unknown, _) | (_, Unknown) | (_, Null) => true,
        (Money | Decimal | Percent, Integer | Decimal | Money | Percent) => true,
        (Integer, Integer) => true,
        (Integer, Decimal | Money | Percent) => return Err(Mismatch::DecimalIntoInteger),
        (Money | Decimal | Integer | Percent, Text) => return Err(Mismatch::QuotedNumber),
        // Numbers and codes are commonly written into text fields (product numbers, ids).
        (Text, Text | Enum(_) | Integer | Date | Reference(_)) => true,
        (Enum(_), Text | Enum(_)) => true,
        (Date, Date | Datetime | Text) | (Datetime, Date | Datetime | Text) => true,
        (Bool, Bool) => true,
        (Duration, Duration) => true,
        (Binary, Binary) => true,
        (Reference(_), Integer | Text | Reference(_)) => true,
        (Reference(want), Entity { entity, .. }) => want.as_deref().is_none_or(|w| w == entity),
        (Record(_), Record(_) | Entity { .. }) => true,
        (List(a), List(b)) => assignable(a, b).is_ok(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Mismatch::Kind)
    }
}

/// Can values of these two types be compared with `==`, `<`, …?
pub fn comparable(a: &Type, b: &Type) -> bool {
    use Type::*;
    match (a, b) {
        (Unknown, _) | (_, Unknown) | (Null, _) | (_, Null) => true,
        _ if a.is_numeric() && b.is_numeric() => true,
        (Text | Enum(_), Text | Enum(_)) => true,
        (Text, Integer) | (Integer, Text) => true,
        (Date | Datetime, Date | Datetime | Text) | (Text, Date | Datetime) => true,
        (Bool, Bool) => true,
        (Reference(_), Reference(_) | Integer | Text | Entity { .. }) => true,
        (Integer | Text | Entity { .. }, Reference(_)) => true,
        (Duration, Duration) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_refused_by_money_and_decimals_by_integers() {
        assert_eq!(
            assignable(&Type::Money, &Type::Text),
            Err(Mismatch::QuotedNumber)
        );
        assert_eq!(
            assignable(&Type::Integer, &Type::Decimal),
            Err(Mismatch::DecimalIntoInteger)
        );
        assert!(assignable(&Type::Money, &Type::Integer).is_ok());
        assert!(assignable(&Type::Text, &Type::Integer).is_ok());
        assert!(assignable(&Type::Bool, &Type::Text).is_err());
    }
}
