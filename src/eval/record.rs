//! Run-time evaluation: the [`Value`] of a [`PlanExpr`] against the records of one event.
//!
//! [`evaluate_constant`](super::evaluate_constant) folds expressions that read nothing; this
//! module evaluates the plan's resolved expressions against an [`Env`]: the flow's record, the
//! sides of a sync, the entity a clause is about, `let`/part/item/group bindings, settings,
//! tables, a fixed evaluation date, the other records `find`/`exists` search and the record's
//! last snapshot for `becomes`/`changed`. Operators are those of [`super::operator`] and
//! functions those of [`crate::stdlib`], so the runtime and constant folding cannot disagree.
//!
//! # Semantics chosen here
//! - **JSON** is read with [`Value::from_json`]: numbers exactly, strings as text.
//! - **Numeric text.** Shops send amounts as JSON strings (`"12.50"`). Such a text stays text
//!   (it is written to targets unchanged and interpolates as sent) and is read as its exact
//!   number only where a number is called for: in `+ - * /` and comparisons whose other
//!   operand is a number or percent, in `- * /` between two numeric texts, in unary `-`, as
//!   an argument the standard library takes as a number, as an item of `sum`, as an item of
//!   `min`/`max` when every item is a number or numeric text, and as the argument of
//!   `part.share(…)`. A numeric text is `-?digits[.digits]`, nothing else (no `+`, spaces,
//!   exponents or thousands separators), parsed exactly. `+` of two texts still joins them and
//!   `<` between two texts still compares text. A `YYYY-MM-DD` text is likewise read as a
//!   date where the other operand is a date or a duration.
//! - **Settings and CSV table values** are typed as the checker types them: `20%` is a
//!   percentage, `2026-01-01` a date, `24h` a duration, other text stays text.
//! - **Paths** walk records; a path through a list maps over it (`Lines.Amount` is the list
//!   of the lines' amounts) and nested lists are flattened one level per list walked. A
//!   missing field, or a field of something that is not a record, is `null`, not an error.
//! - **Lookups** `table[key]`: the first row whose key equals the key, else the `_` row,
//!   else `null`. Keys compare as text (the value as interpolation shows it), except that
//!   when either side is a number and the other reads as one they compare as numbers, so
//!   `578`, `"578"` and `578.0` find the same row. A `null` key finds the `_` row.
//! - **Indexing** `x[i]`: on a list, `i` is a whole number counted **from 0** (`null` when
//!   out of range); on a record, the field named by `i` as text (`custom[1041]` reads the
//!   field `"1041"`); on `null`, `null`.
//! - **Conditions** ([`truthy`], `if`, `and`, `or`, `not`, filters): only `true` is true and
//!   `null` counts as false; any other value is a type mismatch.
//! - **`x becomes v`** is true when `x` equals `v` now and did not in the snapshot; with no
//!   snapshot (a record seen for the first time) it is true when `x` equals `v` (sync.md).
//!   **`x changed`** is true when `x` differs from the snapshot, and always with no snapshot.
//!   These compare leniently: values of different types are simply different.
//! - **`find E where c`** is the list of `E`'s records for which `c` is true, with bare names
//!   in `c` reading the candidate; `exists` is whether that list is non-empty.
//! - **`today()`** is [`Env::today`], never the machine's clock.

use std::{borrow::Cow, rc::Rc};

use chrono::NaiveDate;
use indexmap::IndexMap;
use rust_decimal::{prelude::ToPrimitive, Decimal, RoundingStrategy};

use super::{
    invariant::fold_invariants, operator, shares::PartShares, EvalError, EvalErrorKind, Value,
};
use crate::{
    plan::{EntityRef, PlanExpr, Table},
    runtime::document::REF,
    stdlib::{self, Kind},
    syntax::ast::{BinaryOp, Literal, UnaryOp},
};

/// The record field that marks a [`Value::Record`] as a split part (see [`part_value`]) and
/// holds its currency's minor-unit scale. It starts with a control character, so no rule
/// can write it and no JSON record is likely to carry it.
pub const PART_SCALE_FIELD: &str = "\u{1}part_scale";

/// The hidden field of a split part naming its split, so that [`Env::shares`] answers only
/// the parts of the split it was computed for.
pub const PART_SPLIT_FIELD: &str = "\u{1}part_split";

/// The records of other entities, searched by `find` and `exists`.
pub trait Collections {
    /// Every record of `system.entity` (the runtime may narrow them before filtering).
    /// Borrowed: a `find` runs once per source record, so handing out copies would clone
    /// the whole collection that often.
    fn records(&self, system: &str, entity: &str) -> Result<&[serde_json::Value], EvalError>;
}

/// [`Collections`] without any records: every `find` is empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCollections;

impl Collections for NoCollections {
    fn records(&self, _system: &str, _entity: &str) -> Result<&[serde_json::Value], EvalError> {
        Ok(&[])
    }
}

/// Records in memory by `(system, entity)`, for tests, replays and fixtures.
impl Collections for IndexMap<(String, String), Vec<serde_json::Value>> {
    fn records(&self, system: &str, entity: &str) -> Result<&[serde_json::Value], EvalError> {
        Ok(self
            .get(&(system.to_string(), entity.to_string()))
            .map_or(&[], Vec::as_slice))
    }
}

/// What a name is bound to.
#[derive(Debug, Clone, PartialEq)]
pub enum Binding<'a> {
    /// An evaluated value.
    Value(Value),
    /// JSON read where it lies, such as a `lines for` item of the record: like the record,
    /// it is converted only as far as a path reads it, not whole for every item.
    Json(&'a serde_json::Value),
    /// A document written by `let x = create …`, kept as its payload and key: the value is
    /// the payload's fields (not those starting with `$`) plus `$ref`, the key, but it is
    /// converted only as far as a path reads it, and a document field set to it is just the
    /// reference. The flow shares the payload with the document it records.
    Written {
        /// The document's key.
        key: String,
        /// The document's payload.
        payload: Rc<serde_json::Map<String, serde_json::Value>>,
    },
}

impl From<Value> for Binding<'_> {
    fn from(value: Value) -> Self {
        Binding::Value(value)
    }
}

/// What an expression can read while it is evaluated.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    /// The flow's or view's record ([`PlanExpr::Record`]).
    pub record: Option<&'a serde_json::Value>,
    /// The sides of a sync by alias ([`PlanExpr::Side`]).
    pub sides: &'a [(&'a str, &'a serde_json::Value)],
    /// The entity bare names refer to ([`PlanExpr::Field`]): the record a trigger, `by` or
    /// `where` clause is about.
    pub subject: Option<&'a serde_json::Value>,
    /// `let`, split part, loop item and group bindings, innermost last.
    pub vars: &'a [(String, Binding<'a>)],
    /// The project's settings as the plan holds them.
    pub settings: &'a IndexMap<String, serde_json::Value>,
    /// The plan's lookup tables.
    pub tables: &'a [Table],
    /// The evaluation date `today()` returns, fixed for a run (and for tests and replays).
    pub today: NaiveDate,
    /// Records of other entities, for `find` and `exists`.
    pub collections: &'a dyn Collections,
    /// The record's last snapshot, for `becomes` and `changed`; `None` when it is new.
    pub previous: Option<&'a serde_json::Value>,
    /// The controlled-rounding cells `part.share(…)` answers with inside a split; `None`
    /// rounds every share on its own.
    pub shares: Option<&'a PartShares>,
}

impl<'a> Env<'a> {
    /// An environment with settings, tables, searchable records and a date, and no record,
    /// sides, subject, bindings or snapshot yet (set the public fields for those).
    pub fn new(
        settings: &'a IndexMap<String, serde_json::Value>,
        tables: &'a [Table],
        collections: &'a dyn Collections,
        today: NaiveDate,
    ) -> Self {
        Env {
            record: None,
            sides: &[],
            subject: None,
            vars: &[],
            settings,
            tables,
            today,
            collections,
            previous: None,
            shares: None,
        }
    }
}

/// Evaluates `expr` in `env`. See the module docs for the semantics.
pub fn evaluate(expr: &PlanExpr, env: &Env) -> Result<Value, EvalError> {
    match expr {
        PlanExpr::Literal { value } => literal_value(value),
        PlanExpr::Text { parts } => {
            let mut text = String::new();
            for part in parts {
                match evaluate(part, env)? {
                    Value::Text(part) => text.push_str(&part),
                    Value::Null => {}
                    // As `to_plain_text`, without a string per part.
                    other => {
                        use std::fmt::Write;
                        let _ = write!(text, "{other}");
                    }
                }
            }
            Ok(Value::Text(text))
        }
        PlanExpr::Var { name, path } => {
            let (_, bound) = env
                .vars
                .iter()
                .rev()
                .find(|(bound, _)| bound == name)
                .ok_or_else(|| missing(format!("`{name}` has no value here")))?;
            match bound {
                Binding::Value(value) => Ok(walk_value(value, path)),
                Binding::Json(json) => walk_json(json, path),
                Binding::Written { key, payload } => Ok(walk_written(key, payload, path)),
            }
        }
        PlanExpr::Setting { key, path } => match env.settings.get(key) {
            Some(json) => Ok(walk_value(&setting_value(json)?, path)),
            None => Ok(Value::Null),
        },
        PlanExpr::Record { path } => {
            let record = env
                .record
                .ok_or_else(|| missing("this evaluation has no record"))?;
            walk_json(record, path)
        }
        PlanExpr::Side { system, path } => {
            let (_, side) = env
                .sides
                .iter()
                .find(|(alias, _)| alias == system)
                .ok_or_else(|| missing(format!("this evaluation has no `{system}` side")))?;
            walk_json(side, path)
        }
        PlanExpr::Field { path } => {
            let subject = env.subject.ok_or_else(|| {
                missing(format!(
                    "`{}` is a field of the entity in scope, and there is none here",
                    path.join(".")
                ))
            })?;
            walk_json(subject, path)
        }
        PlanExpr::Lookup { table, key } => lookup(table, &evaluate(key, env)?, env),
        PlanExpr::Index { base, index } => index_value(evaluate(base, env)?, evaluate(index, env)?),
        PlanExpr::Member { base, field } => Ok(walk_value(
            &evaluate(base, env)?,
            std::slice::from_ref(field),
        )),
        PlanExpr::Call { function, args } => call(function, args, env),
        PlanExpr::Method {
            receiver,
            method,
            args,
        } => call_method(&evaluate(receiver, env)?, method, args, env),
        PlanExpr::Unary { op, operand } => unary(*op, evaluate(operand, env)?),
        PlanExpr::Binary { op, left, right } => binary(*op, left, right, env),
        PlanExpr::Becomes { field, value } => {
            let wanted = evaluate(value, env)?;
            let now = same(&evaluate(field, env)?, &wanted);
            let before = match env.previous {
                None => false,
                Some(previous) => same(&evaluate_in_snapshot(field, env, previous)?, &wanted),
            };
            Ok(Value::Bool(now && !before))
        }
        PlanExpr::Changed { field } => match env.previous {
            None => Ok(Value::Bool(true)),
            Some(previous) => {
                let now = evaluate(field, env)?;
                let before = evaluate_in_snapshot(field, env, previous)?;
                Ok(Value::Bool(!same(&now, &before)))
            }
        },
        PlanExpr::If {
            condition,
            then,
            otherwise,
        } => {
            if truthy(condition, env)? {
                evaluate(then, env)
            } else {
                evaluate(otherwise, env)
            }
        }
        PlanExpr::List { items } => Ok(Value::List(
            items
                .iter()
                .map(|item| evaluate(item, env))
                .collect::<Result<_, _>>()?,
        )),
        PlanExpr::RecordLiteral { fields } => {
            let mut record = IndexMap::with_capacity(fields.len());
            for (name, value) in fields {
                record.insert(name.clone(), evaluate(value, env)?);
            }
            Ok(Value::Record(record))
        }
        PlanExpr::Find { entity, filter } => {
            Ok(Value::List(find(entity, filter.as_deref(), env, false)?))
        }
        PlanExpr::Exists { entity, filter } => Ok(Value::Bool(
            !find(entity, filter.as_deref(), env, true)?.is_empty(),
        )),
    }
}

/// [`evaluate`], borrowing the value where it is a binding or a field of one (`customer`,
/// `l.sku`) instead of copying it: a document field set to a bound record would otherwise
/// clone the whole record only to turn it into JSON.
pub fn evaluate_borrowed<'a>(expr: &PlanExpr, env: &Env<'a>) -> Result<Cow<'a, Value>, EvalError> {
    if let PlanExpr::Var { name, path } = expr {
        if let Some((_, Binding::Value(value))) =
            env.vars.iter().rev().find(|(bound, _)| bound == name)
        {
            if let Some(reached) = walk_value_borrowed(value, path) {
                return Ok(Cow::Borrowed(reached));
            }
        }
    }
    evaluate(expr, env).map(Cow::Owned)
}

/// What a `let` binds `expr` to: [`evaluate`]'s value, except that `first(find …)` binds
/// the record found where it lies in `collections` (which must be `env.collections`, given
/// again for its own lifetime), converted only as far as the rules read it. The search is
/// the same: the filter runs over every record, and a found record that [`Value::from_json`]
/// could not read is the same error.
pub fn bind<'r>(
    expr: &PlanExpr,
    env: &Env,
    collections: &'r dyn Collections,
) -> Result<Binding<'r>, EvalError> {
    if let PlanExpr::Call { function, args } = expr {
        if let ("first", [PlanExpr::Find { entity, filter }]) = (function.as_str(), &args[..]) {
            let records = collections.records(&entity.system, &entity.entity)?;
            let filter = filter.as_deref().map(|f| fold_invariants(f, env));
            let mut first = None;
            for record in records {
                if keeps(filter.as_deref(), record, env)? {
                    Value::check_json(record)?;
                    first.get_or_insert(record);
                }
            }
            return Ok(first.map_or(Binding::Value(Value::Null), Binding::Json));
        }
    }
    evaluate(expr, env).map(Binding::Value)
}

/// Whether `x == null` / `x != null` (either way round) can be told from a binding without
/// converting it: `Some(x is null)` then, `None` to evaluate as usual.
fn null_comparison(
    left: &PlanExpr,
    right: &PlanExpr,
    env: &Env,
) -> Result<Option<bool>, EvalError> {
    let is_null = |expr: &PlanExpr| {
        matches!(
            expr,
            PlanExpr::Literal {
                value: Literal::Null
            }
        )
    };
    let other = match (is_null(left), is_null(right)) {
        (true, false) => right,
        (false, true) => left,
        _ => return Ok(None),
    };
    let PlanExpr::Var { name, path } = other else {
        return Ok(None);
    };
    match env.vars.iter().rev().find(|(bound, _)| bound == name) {
        Some((_, Binding::Json(json))) => match json_path(json, path) {
            Some(serde_json::Value::Null) => Ok(Some(true)),
            Some(reached) => {
                // Not null once read, unless reading it fails (as converting it would).
                Value::check_json(reached)?;
                Ok(Some(false))
            }
            None => Ok(None),
        },
        Some((_, Binding::Written { .. })) if path.is_empty() => Ok(Some(false)),
        _ => Ok(None),
    }
}

/// The JSON at `path` when the path runs through objects only (a missing field or a field
/// of a scalar is `null`, as `walk_json` reads it); `None` where it would map over a list.
pub fn json_path<'j>(
    json: &'j serde_json::Value,
    path: &[String],
) -> Option<&'j serde_json::Value> {
    let Some((field, rest)) = path.split_first() else {
        return Some(json);
    };
    match json {
        serde_json::Value::Object(fields) => match fields.get(field) {
            Some(inner) => json_path(inner, rest),
            None => Some(&serde_json::Value::Null),
        },
        serde_json::Value::Array(_) => None,
        _ => Some(&serde_json::Value::Null),
    }
}

/// Evaluates a condition: `true` is true, `false` and `null` are false, and any other value
/// is a [`EvalErrorKind::TypeMismatch`].
pub fn truthy(expr: &PlanExpr, env: &Env) -> Result<bool, EvalError> {
    condition_value(&evaluate(expr, env)?)
}

/// The value the split binds as its part variable: `amount`, `label`, `index` (from 1) and
/// `share` (a percentage), plus the hidden [`PART_SCALE_FIELD`] holding `scale`, the
/// currency's decimals, which makes `part.share(x)` available: `x × share` rounded to
/// `scale` decimals **half away from zero**, or the cell [`Env::shares`] holds for `x` when
/// they are the shares of split number `split` (see [`PartShares`]).
pub fn part_value(
    amount: Decimal,
    label: Value,
    index: usize,
    share: Decimal,
    scale: u32,
    split: u32,
) -> Value {
    let fields: IndexMap<String, Value> = [
        ("amount".to_string(), Value::Number(amount)),
        ("label".to_string(), label),
        ("index".to_string(), Value::Number(Decimal::from(index))),
        ("share".to_string(), Value::Percent(share)),
        (
            PART_SCALE_FIELD.to_string(),
            Value::Number(Decimal::from(scale)),
        ),
        (
            PART_SPLIT_FIELD.to_string(),
            Value::Number(Decimal::from(split)),
        ),
    ]
    .into_iter()
    .collect();
    Value::Record(fields)
}

/// The groups of `lines group list by key as g`, in the order their keys first appear:
/// records with `key` (the shared value), `first` (the first item), `count` (the number of
/// items) and, for every other field of the items, the list of that field over the items
/// (`g.Amount`; `null` where an item lacks it). Items that are not records are skipped.
pub fn group_by(list: &Value, key: &str) -> Result<Vec<Value>, EvalError> {
    let items: &[Value] = match list {
        Value::List(items) => items,
        Value::Null => &[],
        other => {
            return Err(EvalError::type_mismatch(format!(
                "`lines group` needs a list, found {}",
                other.type_name()
            )))
        }
    };
    let mut groups: Vec<(Value, Vec<&IndexMap<String, Value>>)> = Vec::new();
    for item in items {
        let Value::Record(fields) = item else {
            continue;
        };
        let item_key = fields.get(key).cloned().unwrap_or(Value::Null);
        match groups.iter_mut().find(|(k, _)| same(k, &item_key)) {
            Some((_, members)) => members.push(fields),
            None => groups.push((item_key, vec![fields])),
        }
    }
    Ok(groups
        .into_iter()
        .map(|(key, members)| {
            let mut names: Vec<&String> = Vec::new();
            for member in &members {
                for name in member.keys() {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
            let mut group = IndexMap::new();
            group.insert("key".to_string(), key);
            let first = members
                .first()
                .map_or(Value::Null, |m| Value::Record((*m).clone()));
            group.insert("first".to_string(), first);
            group.insert("count".to_string(), Value::Number(members.len().into()));
            for name in names {
                // `key`, `first` and `count` keep their group meaning over a field of that name.
                group.entry(name.clone()).or_insert_with(|| {
                    Value::List(
                        members
                            .iter()
                            .map(|m| m.get(name).cloned().unwrap_or(Value::Null))
                            .collect(),
                    )
                });
            }
            Value::Record(group)
        })
        .collect())
}

fn missing(message: impl Into<String>) -> EvalError {
    EvalError::new(EvalErrorKind::NotConstant, message)
}

fn literal_value(literal: &Literal) -> Result<Value, EvalError> {
    Ok(match literal {
        Literal::Text(text) => Value::Text(text.clone()),
        Literal::Number(number) => Value::Number(*number),
        Literal::Percent(number) => Value::Percent(*number),
        Literal::Duration(text) => Value::Duration(Value::parse_duration(text)?),
        Literal::Date(text) => Value::Date(Value::parse_date(text)?),
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Null => Value::Null,
    })
}

// ---------------------------------------------------------------------------------------
// Paths

/// Walks `path` down a JSON document, converting only what the path reaches.
fn walk_json(json: &serde_json::Value, path: &[String]) -> Result<Value, EvalError> {
    let Some((field, rest)) = path.split_first() else {
        return Value::from_json(json);
    };
    match json {
        serde_json::Value::Object(fields) => match fields.get(field) {
            Some(inner) => walk_json(inner, rest),
            None => Ok(Value::Null),
        },
        serde_json::Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                push_flat(&mut out, walk_json(item, path)?);
            }
            Ok(Value::List(out))
        }
        _ => Ok(Value::Null),
    }
}

/// Walks `path` down a value, with the same list mapping as [`walk_json`].
fn walk_value(value: &Value, path: &[String]) -> Value {
    let Some((field, rest)) = path.split_first() else {
        return value.clone();
    };
    match value {
        Value::Record(fields) => match fields.get(field) {
            Some(inner) => walk_value(inner, rest),
            None => Value::Null,
        },
        Value::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                push_flat(&mut out, walk_value(item, path));
            }
            Value::List(out)
        }
        _ => Value::Null,
    }
}

/// [`walk_value`] by reference, for paths that reach a field without mapping over a list
/// (`None` otherwise: the caller walks an owned copy).
fn walk_value_borrowed<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    let Some((field, rest)) = path.split_first() else {
        return Some(value);
    };
    match value {
        Value::Record(fields) => match fields.get(field) {
            Some(inner) => walk_value_borrowed(inner, rest),
            None => Some(&Value::Null),
        },
        Value::List(_) => None,
        _ => Some(&Value::Null),
    }
}

/// Walks `path` down a written document ([`Binding::Written`]) as down the record of its
/// payload's fields and `$ref`. Payloads hold only what evaluated values turn into, which
/// always reads back; a field that did not would be missing from that record, so `null`.
fn walk_written(
    key: &str,
    payload: &serde_json::Map<String, serde_json::Value>,
    path: &[String],
) -> Value {
    let Some((field, rest)) = path.split_first() else {
        let mut fields: IndexMap<String, Value> = payload
            .iter()
            .filter(|(k, _)| !k.starts_with('$'))
            .filter_map(|(k, v)| Some((k.clone(), Value::from_json(v).ok()?)))
            .collect();
        fields.insert(REF.to_string(), Value::Text(key.to_string()));
        return Value::Record(fields);
    };
    if field == REF {
        return walk_value(&Value::Text(key.to_string()), rest);
    }
    if field.starts_with('$') {
        return Value::Null;
    }
    match payload.get(field) {
        Some(inner) if Value::check_json(inner).is_ok() => {
            walk_json(inner, rest).unwrap_or(Value::Null)
        }
        _ => Value::Null,
    }
}

/// A list reached through a mapped list joins the result rather than nesting in it.
fn push_flat(out: &mut Vec<Value>, value: Value) {
    match value {
        Value::List(items) => out.extend(items),
        other => out.push(other),
    }
}

/// A setting's JSON with its texts typed as the checker types them.
fn setting_value(json: &serde_json::Value) -> Result<Value, EvalError> {
    Ok(typed_texts(Value::from_json(json)?))
}

fn typed_texts(value: Value) -> Value {
    match value {
        Value::Text(text) => typed_text(text),
        Value::List(items) => Value::List(items.into_iter().map(typed_texts).collect()),
        Value::Record(fields) => Value::Record(
            fields
                .into_iter()
                .map(|(name, value)| (name, typed_texts(value)))
                .collect(),
        ),
        other => other,
    }
}

/// `20%` → percent, `2026-01-01` → date, `24h` → duration, anything else stays text
/// (mirrors `check::context::text_type`).
fn typed_text(text: String) -> Value {
    let trimmed = text.trim();
    if let Some(number) = trimmed.strip_suffix('%') {
        if let Ok(percent) = Decimal::from_str_exact(number.trim()) {
            return Value::Percent(percent);
        }
    }
    if let Ok(date) = Value::parse_date(trimmed) {
        return Value::Date(date);
    }
    if trimmed.starts_with(|c: char| c.is_ascii_digit()) {
        if let Ok(duration) = Value::parse_duration(trimmed) {
            return Value::Duration(duration);
        }
    }
    Value::Text(text)
}

// ---------------------------------------------------------------------------------------
// Lookups and indexing

fn lookup(name: &str, key: &Value, env: &Env) -> Result<Value, EvalError> {
    let table = env
        .tables
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| missing(format!("there is no table `{name}` in the plan")))?;
    let row = if key.is_null() {
        None
    } else {
        table.rows.iter().find(|(k, _)| key_matches(k, key))
    };
    let value = match (row, &table.default) {
        (Some((_, value)), _) | (None, Some(value)) => evaluate(value, env)?,
        (None, None) => return Ok(Value::Null),
    };
    // A CSV cell is text; type it as the checker does (`20%`, dates, durations).
    Ok(match (value, &table.source) {
        (Value::Text(text), Some(_)) => typed_text(text),
        (value, _) => value,
    })
}

fn key_matches(literal: &Literal, key: &Value) -> bool {
    let literal_text = match literal {
        Literal::Text(text) => text.clone(),
        Literal::Number(n) => n.to_string(),
        Literal::Percent(n) => format!("{n}%"),
        Literal::Duration(text) | Literal::Date(text) => text.clone(),
        Literal::Bool(b) => b.to_string(),
        Literal::Null => return false,
    };
    let key_text = key.to_plain_text();
    let literal_is_number = matches!(literal, Literal::Number(_));
    let key_is_number = matches!(key, Value::Number(_));
    if literal_is_number || key_is_number {
        if let (Some(a), Some(b)) = (number_from_text(&literal_text), number_from_text(&key_text)) {
            return a == b;
        }
    }
    literal_text == key_text
}

fn index_value(base: Value, index: Value) -> Result<Value, EvalError> {
    match (base, index) {
        (Value::Null, _) | (_, Value::Null) => Ok(Value::Null),
        (Value::List(items), Value::Number(n)) => {
            if !n.fract().is_zero() {
                return Err(EvalError::bad_argument(format!(
                    "a list position is a whole number counted from 0, found {n}"
                )));
            }
            Ok(n.to_usize()
                .and_then(|p| items.get(p).cloned())
                .unwrap_or(Value::Null))
        }
        (Value::Record(fields), index) => Ok(fields
            .get(&index.to_plain_text())
            .cloned()
            .unwrap_or(Value::Null)),
        (Value::List(_), other) => Err(EvalError::type_mismatch(format!(
            "a list position is a number, found {}",
            other.type_name()
        ))),
        (other, _) => Err(EvalError::type_mismatch(format!(
            "`[…]` needs a list or a record, found {}",
            other.type_name()
        ))),
    }
}

// ---------------------------------------------------------------------------------------
// Calls

fn call(function: &str, args: &[PlanExpr], env: &Env) -> Result<Value, EvalError> {
    if function == "today" && args.is_empty() {
        return Ok(Value::Date(env.today));
    }
    let found = stdlib::lookup(function).ok_or_else(|| {
        EvalError::new(
            EvalErrorKind::UnknownFunction,
            format!("there is no function `{function}`"),
        )
    })?;
    let mut values = args
        .iter()
        .map(|arg| evaluate(arg, env))
        .collect::<Result<Vec<_>, _>>()?;
    for (param, value) in found.params.iter().zip(values.iter_mut()) {
        coerce_argument(param.kind, value);
    }
    if let Some(Value::List(items)) = values.first_mut() {
        match function {
            "sum" => items.iter_mut().for_each(|item| {
                coerce_argument(Kind::Number, item);
            }),
            "min" | "max" if items.iter().all(reads_as_number) => {
                items
                    .iter_mut()
                    .for_each(|item| coerce_argument(Kind::Number, item));
            }
            _ => {}
        }
    }
    found.invoke(&values)
}

/// A numeric text where a number is wanted becomes that number; a date text where a date is
/// wanted becomes that date.
fn coerce_argument(kind: Kind, value: &mut Value) {
    let Value::Text(text) = value else { return };
    let replacement = match kind {
        Kind::Number => number_from_text(text).map(Value::Number),
        Kind::Date => Value::parse_date(text).ok().map(Value::Date),
        _ => None,
    };
    if let Some(replacement) = replacement {
        *value = replacement;
    }
}

fn reads_as_number(value: &Value) -> bool {
    match value {
        Value::Null | Value::Number(_) => true,
        Value::Text(text) => number_from_text(text).is_some(),
        _ => false,
    }
}

/// `part.share(x)`: inside a split run by the runtime, the cell of the controlled-rounding
/// table for `x` ([`Env::shares`]), so that every part's shares sum to the part amount and
/// every amount's shares over the parts sum to the amount. Otherwise (a probe, an amount the
/// table lacks, an evaluation without a table) `x × share` rounded to the part's minor unit
/// **half away from zero** (commercial rounding), each line on its own.
fn call_method(
    receiver: &Value,
    method: &str,
    args: &[PlanExpr],
    env: &Env,
) -> Result<Value, EvalError> {
    if method != "share" {
        return Err(EvalError::new(
            EvalErrorKind::UnknownFunction,
            format!("there is no method `{method}`; a split part has `share(amount)`"),
        ));
    }
    let part = match receiver {
        Value::Record(fields) => match (
            fields.get(PART_SCALE_FIELD),
            fields.get("share"),
            fields.get(PART_SPLIT_FIELD),
        ) {
            (Some(Value::Number(scale)), Some(Value::Percent(share)), split) => {
                let scale = scale
                    .to_u32()
                    .filter(|s| *s <= 28)
                    .ok_or_else(|| EvalError::bad_argument("a split part has a bad scale"))?;
                let split = match split {
                    Some(Value::Number(n)) => n.to_u32(),
                    _ => None,
                };
                Some((scale, *share, split))
            }
            _ => None,
        },
        _ => None,
    };
    let Some((scale, share, split)) = part else {
        return Err(EvalError::type_mismatch(format!(
            "`share(…)` is a method of a split part, found {}",
            receiver.type_name()
        )));
    };
    let [argument] = args else {
        return Err(EvalError::new(
            EvalErrorKind::ArgumentCount,
            format!(
                "`part.share(amount)` takes 1 argument, given {}",
                args.len()
            ),
        ));
    };
    let mut amount = evaluate(argument, env)?;
    coerce_argument(Kind::Number, &mut amount);
    let amount = match amount {
        Value::Null => return Ok(Value::Null),
        Value::Number(n) => n,
        other => {
            return Err(EvalError::type_mismatch(format!(
                "`share` takes a number, found {}",
                other.type_name()
            )))
        }
    };
    if let (Some(shares), Some(split)) = (env.shares, split) {
        if let Some(cell) = shares.take(split, amount) {
            return Ok(Value::Number(cell));
        }
    }
    let exact = amount
        .checked_mul(share)
        .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
        .ok_or_else(|| EvalError::overflow("the share is too large for an exact decimal"))?;
    let mut rounded = exact.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    if rounded.scale() < scale {
        rounded.rescale(scale);
    }
    Ok(Value::Number(rounded))
}

// ---------------------------------------------------------------------------------------
// Operators

fn condition_value(value: &Value) -> Result<bool, EvalError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        other => Err(EvalError::type_mismatch(format!(
            "a condition must be a bool, found {}",
            other.type_name()
        ))),
    }
}

fn unary(op: UnaryOp, operand: Value) -> Result<Value, EvalError> {
    match (op, operand) {
        // `null` counts as false in conditions, so `not null` is true.
        (UnaryOp::Not, Value::Null) => Ok(Value::Bool(true)),
        (UnaryOp::Neg, Value::Text(text)) => match number_from_text(&text) {
            Some(n) => Ok(Value::Number(-n)),
            None => operator::unary(UnaryOp::Neg, Value::Text(text)),
        },
        (op, operand) => operator::unary(op, operand),
    }
}

fn binary(op: BinaryOp, left: &PlanExpr, right: &PlanExpr, env: &Env) -> Result<Value, EvalError> {
    match op {
        BinaryOp::And => Ok(Value::Bool(truthy(left, env)? && truthy(right, env)?)),
        BinaryOp::Or => Ok(Value::Bool(truthy(left, env)? || truthy(right, env)?)),
        BinaryOp::Coalesce => match evaluate(left, env)? {
            Value::Null => evaluate(right, env),
            value => Ok(value),
        },
        _ => {
            if matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
                if let Some(is_null) = null_comparison(left, right, env)? {
                    return Ok(Value::Bool(is_null == (op == BinaryOp::Eq)));
                }
            }
            let left = evaluate_borrowed(left, env)?;
            let right = evaluate_borrowed(right, env)?;
            // `customer != null` without copying the customer: `null` equals only `null`, and
            // no coercion applies to it.
            if matches!(op, BinaryOp::Eq | BinaryOp::Ne) && (left.is_null() || right.is_null()) {
                let equal = left.is_null() && right.is_null();
                return Ok(Value::Bool(equal == (op == BinaryOp::Eq)));
            }
            let (left, right) = coerce_operands(op, left.into_owned(), right.into_owned());
            operator::binary(op, left, right)
        }
    }
}

/// Reads numeric and date texts as numbers and dates where the other operand asks for one
/// (see the module docs); everything else is left to [`operator::binary`].
fn coerce_operands(op: BinaryOp, left: Value, right: Value) -> (Value, Value) {
    use BinaryOp::*;
    if !matches!(op, Add | Sub | Mul | Div | Eq | Ne | Lt | Le | Gt | Ge) {
        return (left, right);
    }
    let as_number = |text: &str| number_from_text(text).map(Value::Number);
    let as_date = |text: &str| Value::parse_date(text).ok().map(Value::Date);
    let coerced = match (&left, &right) {
        (Value::Text(t), Value::Number(_) | Value::Percent(_)) => {
            as_number(t).map(|l| (l, right.clone()))
        }
        (Value::Number(_) | Value::Percent(_), Value::Text(t)) => {
            as_number(t).map(|r| (left.clone(), r))
        }
        (Value::Text(t), Value::Date(_) | Value::Duration(_)) => {
            as_date(t).map(|l| (l, right.clone()))
        }
        (Value::Date(_), Value::Text(t)) => as_date(t).map(|r| (left.clone(), r)),
        (Value::Text(a), Value::Text(b)) if matches!(op, Sub | Mul | Div) => {
            as_number(a).zip(as_number(b))
        }
        _ => None,
    };
    coerced.unwrap_or((left, right))
}

/// The exact number a numeric text (`-?digits[.digits]`) stands for.
fn number_from_text(text: &str) -> Option<Decimal> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || !fraction.is_none_or(all_digits) {
        return None;
    }
    Decimal::from_str_exact(text).ok()
}

/// Equality for `becomes`, `changed` and grouping: numeric and date texts compare with
/// numbers and dates as in operators, and values of different types are just different.
fn same(a: &Value, b: &Value) -> bool {
    let (a, b) = coerce_operands(BinaryOp::Eq, a.clone(), b.clone());
    a.equals(&b).unwrap_or(false)
}

/// Evaluates `expr` in the snapshot: it stands in for the record, the subject and every
/// side, since a trigger watches one record.
fn evaluate_in_snapshot(
    expr: &PlanExpr,
    env: &Env,
    previous: &serde_json::Value,
) -> Result<Value, EvalError> {
    let sides: Vec<(&str, &serde_json::Value)> = env
        .sides
        .iter()
        .map(|(alias, _)| (*alias, previous))
        .collect();
    let before = Env {
        record: Some(previous),
        subject: Some(previous),
        sides: &sides,
        previous: None,
        ..*env
    };
    evaluate(expr, &before)
}

// ---------------------------------------------------------------------------------------
// Searches

fn find(
    entity: &EntityRef,
    filter: Option<&PlanExpr>,
    env: &Env,
    first_only: bool,
) -> Result<Vec<Value>, EvalError> {
    let records = env.collections.records(&entity.system, &entity.entity)?;
    let filter = filter.map(|f| fold_invariants(f, env));
    let filter = filter.as_deref();
    let mut found = Vec::new();
    for record in records {
        if keeps(filter, record, env)? {
            found.push(Value::from_json(record)?);
            if first_only {
                break;
            }
        }
    }
    Ok(found)
}

/// Whether `record` passes a search's `where` filter.
fn keeps(
    filter: Option<&PlanExpr>,
    record: &serde_json::Value,
    env: &Env,
) -> Result<bool, EvalError> {
    match filter {
        None => Ok(true),
        Some(filter) => truthy(
            filter,
            &Env {
                subject: Some(record),
                ..*env
            },
        ),
    }
}
