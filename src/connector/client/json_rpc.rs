//! Tryton 8.x JSON-RPC: `POST {url}/{database}/rpc/` with
//! `{"method": "model.<model>.<op>", "params": [..., context], "id": n}`; entity paths are
//! model names. Errors come back as HTTP 200 with an `error` member and become `Permanent`.
//!
//! Calls: list → `search_read(domain, offset, limit, [["id","ASC"]], fields, ctx)` with the
//! domain `[]` or `[[changed_since, ">=", since]]` (`>=`, as the profile doc says, so a record
//! written in the same second is not missed), paged by `pagination.max_size` (1000); get →
//! `search_read([["id","=",id]], 0, 1, …)` with `active_test: false` in the context (a
//! `read` of a deleted id is an error in Tryton, not an empty answer); search →
//! `search_read([[field,"=",value]], …)`; create → `create([values], ctx)` then `read`;
//! update → `write([id], values, ctx)` then get.
//!
//! Fields read are the profile's fields, plus `field.sub` for the nested fields of `list` and
//! `record` fields; Tryton answers those under `field.`, which is moved back to `field`.
//! Values sent: `money` as `{"__class__": "Decimal", "decimal": "…"}`, `decimal`/`percent`
//! as JSON floats (Tryton quantities are Float fields; docs/connectors.md), `date` and
//! `datetime` as Tryton's typed objects, and a list of records under a `list` field as
//! one2many commands (`[["create", [...]]]`; on update, items with an `id` become
//! `["write", [id], {...}]`). Values read: Decimal → decimal string, date → `YYYY-MM-DD`,
//! datetime → `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` (Tryton stores UTC), time → `HH:MM:SS`,
//! timedelta → seconds, bytes → base64 text.
//!
//! The context is `{"company", "language", "companies"}` from the options, or the user's
//! preferences (`model.res.user.get_preferences`) when no `company` option is set.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use reqwest::Method;
use serde_json::{json, Map, Value};
use tokio::sync::OnceCell;

use crate::connector::profile::{Entity, Field, FieldType, Fields, PaginationKind};

use super::{error::ConnectorError, http::Req, id_text, Client};

/// State of a JSON-RPC system.
#[derive(Debug)]
pub(crate) struct RpcState {
    url: String,
    context: OnceCell<Value>,
    next_id: AtomicU64,
}

impl RpcState {
    /// The state for one RPC URL.
    pub fn new(url: String) -> Self {
        RpcState {
            url,
            context: OnceCell::new(),
            next_id: AtomicU64::new(1),
        }
    }
}

/// The text of a Tryton error member: `["UserError", [message, description, domain]]`,
/// `["ConcurrencyException", "…"]`, or a bare KeyError text.
pub(crate) fn error_text(error: &Value) -> String {
    match error {
        Value::String(s) => s.clone(),
        Value::Array(parts) => {
            let name = parts.first().and_then(Value::as_str).unwrap_or("");
            let mut details = Vec::new();
            for part in parts.iter().skip(1) {
                match part {
                    Value::String(s) if !s.trim().is_empty() => details.push(s.trim().to_string()),
                    Value::Array(items) => details.extend(
                        items
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_string),
                    ),
                    _ => {}
                }
            }
            match (name.is_empty(), details.is_empty()) {
                (true, true) => error.to_string(),
                (false, true) => name.to_string(),
                (true, false) => details.join(" — "),
                (false, false) => format!("{name}: {}", details.join(" — ")),
            }
        }
        other => other.to_string(),
    }
}

/// One RPC call; `repeatable` says whether it is safe to send again after a timeout.
async fn call(
    client: &Client,
    state: &RpcState,
    method: &str,
    params: Vec<Value>,
    repeatable: bool,
) -> Result<Value, ConnectorError> {
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    let body = json!({"method": method, "params": params, "id": id});
    let req = Req::json(Method::POST, state.url.clone(), body, repeatable);
    let resp = client.send(&req).await?;
    let mut answer = resp.json(method)?;
    if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
        return Err(ConnectorError::permanent(format!(
            "{}.{method}: {}",
            client.alias,
            error_text(error)
        ))
        .with_status(resp.status));
    }
    match answer.get_mut("result") {
        Some(result) => Ok(result.take()),
        None => Err(ConnectorError::transient(format!(
            "{}.{method}: the answer has neither `result` nor `error`",
            client.alias
        ))),
    }
}

async fn context(client: &Client, state: &RpcState) -> Result<Value, ConnectorError> {
    state
        .context
        .get_or_try_init(|| async {
            let language = client.options.get("language").unwrap_or("en").to_string();
            if let Some(company) = client.options.get("company") {
                let company = company
                    .trim()
                    .parse::<i64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::String(company.to_string()));
                return Ok(json!({
                    "company": company,
                    "language": language,
                    "companies": [company],
                }));
            }
            let preferences = call(
                client,
                state,
                "model.res.user.get_preferences",
                vec![Value::Bool(true), json!({})],
                true,
            )
            .await?;
            let mut context = Map::new();
            for key in ["company", "language", "companies"] {
                if let Some(value) = preferences.get(key).filter(|v| !v.is_null()) {
                    context.insert(key.to_string(), value.clone());
                }
            }
            context
                .entry("language")
                .or_insert_with(|| Value::String(language));
            Ok(Value::Object(context))
        })
        .await
        .cloned()
}

fn model<'a>(client: &Client, entity: &'a Entity) -> Result<&'a str, ConnectorError> {
    entity.path.as_deref().ok_or_else(|| {
        ConnectorError::config(format!(
            "an entity of connector `{}` has no model name (`path`)",
            client.profile.name
        ))
    })
}

/// The field names to read.
fn read_fields(entity: &Entity) -> Value {
    let mut names = Vec::new();
    for (name, field) in &entity.fields {
        names.push(Value::String(name.clone()));
        if matches!(field.r#type, FieldType::List | FieldType::Record) {
            for sub in field.fields.keys() {
                names.push(Value::String(format!("{name}.{sub}")));
            }
        }
    }
    if !entity.fields.contains_key("id") {
        names.push(Value::String("id".to_string()));
    }
    Value::Array(names)
}

fn page_size(client: &Client) -> Option<u32> {
    match &client.profile.pagination {
        Some(p) if p.kind == PaginationKind::None => None,
        Some(p) => Some(p.max_size.unwrap_or(1000).max(1)),
        None => Some(1000),
    }
}

async fn search_read(
    client: &Client,
    state: &RpcState,
    entity: &Entity,
    domain: Value,
    ctx: Value,
) -> Result<Vec<Value>, ConnectorError> {
    let mut listing = Listing::new(client, entity, domain, ctx)?;
    let mut out = Vec::new();
    while let Some(page) = listing.next_page(client, state, entity).await? {
        out.extend(page);
    }
    Ok(out)
}

/// One `search_read` list in progress, paged by offset.
#[derive(Debug)]
pub(super) struct Listing {
    method: String,
    domain: Value,
    ctx: Value,
    fields: Value,
    limit: Option<u32>,
    offset: u64,
    pages: u32,
    done: bool,
}

impl Listing {
    fn new(
        client: &Client,
        entity: &Entity,
        domain: Value,
        ctx: Value,
    ) -> Result<Listing, ConnectorError> {
        let model = model(client, entity)?;
        Ok(Listing {
            method: format!("model.{model}.search_read"),
            domain,
            ctx,
            fields: read_fields(entity),
            limit: page_size(client),
            offset: 0,
            pages: 0,
            done: false,
        })
    }

    /// The next page's records, or `None` when the list has ended.
    pub(super) async fn next_page(
        &mut self,
        client: &Client,
        state: &RpcState,
        entity: &Entity,
    ) -> Result<Option<Vec<Value>>, ConnectorError> {
        if self.done {
            return Ok(None);
        }
        let params = vec![
            self.domain.clone(),
            Value::from(self.offset),
            self.limit.map_or(Value::Null, Value::from),
            json!([["id", "ASC"]]),
            self.fields.clone(),
            self.ctx.clone(),
        ];
        let method = &self.method;
        let result = call(client, state, method, params, true).await?;
        let Value::Array(rows) = result else {
            return Err(ConnectorError::transient(format!(
                "{}.{method}: the result is not a list",
                client.alias
            )));
        };
        let count = rows.len();
        let page: Vec<Value> = rows.into_iter().map(|r| decode_record(r, entity)).collect();
        self.pages += 1;
        let full = self.limit.is_some_and(|l| count >= l as usize);
        if !full || count == 0 {
            self.done = true;
            return Ok(Some(page));
        }
        if self.pages >= client.max_pages {
            return Err(ConnectorError::config(format!(
                "{}.{method}: the list did not end after {} pages",
                client.alias, self.pages
            )));
        }
        self.offset += count as u64;
        Ok(Some(page))
    }
}

/// Starts listing a model, a page at a time.
pub(super) async fn list_pages(
    client: &Client,
    state: &RpcState,
    entity: &Entity,
    since: Option<&str>,
) -> Result<Listing, ConnectorError> {
    let domain = match (since, entity.changed_since.as_deref()) {
        (Some(since), Some(field)) => json!([[field, ">=", datetime_value(since)]]),
        _ => json!([]),
    };
    let ctx = context(client, state).await?;
    Listing::new(client, entity, domain, ctx)
}

/// Searches a model by one field.
pub(super) async fn search(
    client: &Client,
    state: &RpcState,
    entity: &Entity,
    field: &str,
    value: &Value,
) -> Result<Vec<Value>, ConnectorError> {
    let value = match entity.fields.get(field) {
        Some(spec) => encode_value(field, spec, value, false)?,
        None => value.clone(),
    };
    let ctx = context(client, state).await?;
    search_read(client, state, entity, json!([[field, "=", value]]), ctx).await
}

/// Reads one record by id; `None` when there is none.
pub(super) async fn get(
    client: &Client,
    state: &RpcState,
    entity: &Entity,
    id: &str,
) -> Result<Option<Value>, ConnectorError> {
    let Ok(id) = id.trim().parse::<i64>() else {
        return Ok(None);
    };
    let mut ctx = context(client, state).await?;
    if let Value::Object(map) = &mut ctx {
        map.insert("active_test".to_string(), Value::Bool(false));
    }
    let model = model(client, entity)?;
    let method = format!("model.{model}.search_read");
    let params = vec![
        json!([["id", "=", id]]),
        Value::from(0),
        Value::from(1),
        Value::Null,
        read_fields(entity),
        ctx,
    ];
    let result = call(client, state, &method, params, true).await?;
    Ok(match result {
        Value::Array(mut rows) if !rows.is_empty() => {
            Some(decode_record(rows.swap_remove(0), entity))
        }
        _ => None,
    })
}

/// Creates a record, then reads it.
pub(super) async fn create(
    client: &Client,
    state: &RpcState,
    entity: &Entity,
    body: &Value,
) -> Result<Value, ConnectorError> {
    let model = model(client, entity)?;
    let values = encode_record(&entity.fields, body, false)?;
    let ctx = context(client, state).await?;
    let method = format!("model.{model}.create");
    let result = call(
        client,
        state,
        &method,
        vec![Value::Array(vec![values]), ctx.clone()],
        false,
    )
    .await?;
    let id = result
        .as_array()
        .and_then(|ids| ids.first())
        .filter(|id| id.is_i64() || id.is_u64())
        .cloned()
        .ok_or_else(|| {
            ConnectorError::transient(format!(
                "{}.{method}: created, but the answer has no id; look the record up",
                client.alias
            ))
        })?;
    let read = call(
        client,
        state,
        &format!("model.{model}.read"),
        vec![json!([id.clone()]), read_fields(entity), ctx],
        true,
    )
    .await;
    match read {
        Ok(Value::Array(mut rows)) if !rows.is_empty() => {
            Ok(decode_record(rows.swap_remove(0), entity))
        }
        _ => {
            // Created for sure: answer with what was sent and the new id.
            let mut record = body.clone();
            if let Value::Object(map) = &mut record {
                map.insert(entity.id.clone(), id);
            }
            Ok(record)
        }
    }
}

/// Writes a record, then reads it.
pub(super) async fn update(
    client: &Client,
    state: &RpcState,
    entity: &Entity,
    id: &str,
    body: &Value,
) -> Result<Value, ConnectorError> {
    let model = model(client, entity)?;
    let numeric = id.trim().parse::<i64>().map_err(|_| {
        ConnectorError::not_found(format!(
            "{}: `{id}` is not a record id of `{model}`",
            client.alias
        ))
    })?;
    let mut values = encode_record(&entity.fields, body, true)?;
    if let Value::Object(map) = &mut values {
        map.remove("id");
    }
    let ctx = context(client, state).await?;
    call(
        client,
        state,
        &format!("model.{model}.write"),
        vec![json!([numeric]), values, ctx],
        true,
    )
    .await?;
    get(client, state, entity, id).await?.ok_or_else(|| {
        ConnectorError::not_found(format!("{}: `{model}` {id} does not exist", client.alias))
    })
}

/// Logs in and reads the context.
pub(super) async fn check(client: &Client, state: &RpcState) -> Result<String, ConnectorError> {
    let ctx = context(client, state).await?;
    let company = ctx.get("company").and_then(id_text);
    Ok(match company {
        Some(company) => format!(
            "{} ({}): logged in; company {company}",
            client.alias, state.url
        ),
        None => format!("{} ({}): logged in", client.alias, state.url),
    })
}

fn encode_record(fields: &Fields, body: &Value, update: bool) -> Result<Value, ConnectorError> {
    let Value::Object(map) = body else {
        return Err(ConnectorError::permanent(
            "a Tryton record must be a JSON object",
        ));
    };
    let mut out = Map::new();
    for (key, value) in map {
        let encoded = match fields.get(key) {
            Some(field) => encode_value(key, field, value, update)?,
            None => value.clone(),
        };
        out.insert(key.clone(), encoded);
    }
    Ok(Value::Object(out))
}

fn is_typed(value: &Value) -> bool {
    value.get("__class__").is_some()
}

fn encode_value(
    name: &str,
    field: &Field,
    value: &Value,
    update: bool,
) -> Result<Value, ConnectorError> {
    if value.is_null() || is_typed(value) {
        return Ok(value.clone());
    }
    let bad =
        |what: &str| ConnectorError::permanent(format!("field `{name}`: `{value}` is not {what}"));
    Ok(match field.r#type {
        FieldType::Money => {
            let text = match value {
                Value::String(s) => s.trim().to_string(),
                Value::Number(n) => n.to_string(),
                _ => return Err(bad("an amount")),
            };
            let decimal: rust_decimal::Decimal = text.parse().map_err(|_| bad("an amount"))?;
            json!({"__class__": "Decimal", "decimal": decimal.to_string()})
        }
        FieldType::Decimal | FieldType::Percent => match value {
            Value::Number(_) => value.clone(),
            Value::String(s) => {
                let number: f64 = s.trim().parse().map_err(|_| bad("a number"))?;
                serde_json::Number::from_f64(number)
                    .map(Value::Number)
                    .ok_or_else(|| bad("a number"))?
            }
            _ => return Err(bad("a number")),
        },
        FieldType::Date => {
            let text = value.as_str().ok_or_else(|| bad("a date"))?;
            let date = NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d")
                .map_err(|_| bad("a date (YYYY-MM-DD)"))?;
            json!({"__class__": "date", "year": date.year(), "month": date.month(), "day": date.day()})
        }
        FieldType::Datetime => {
            let text = value.as_str().ok_or_else(|| bad("a date and time"))?;
            let at = parse_datetime(text).ok_or_else(|| bad("a date and time"))?;
            datetime_json(at)
        }
        FieldType::List if !field.fields.is_empty() => match value {
            Value::Array(items) if !is_command_list(items) => {
                let mut creates = Vec::new();
                let mut commands = Vec::new();
                for item in items {
                    let encoded = encode_record(&field.fields, item, update)?;
                    let id = item.get("id").filter(|id| !id.is_null()).cloned();
                    match (update, id) {
                        (true, Some(id)) => {
                            let mut values = encoded;
                            if let Value::Object(map) = &mut values {
                                map.remove("id");
                            }
                            commands.push(json!(["write", [id], values]));
                        }
                        _ => creates.push(encoded),
                    }
                }
                if !creates.is_empty() {
                    commands.push(json!(["create", creates]));
                }
                Value::Array(commands)
            }
            other => other.clone(),
        },
        _ => value.clone(),
    })
}

/// `[["create", [...]], …]`: already one2many commands.
fn is_command_list(items: &[Value]) -> bool {
    items
        .first()
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .is_some_and(Value::is_string)
}

/// Parses RFC 3339, `YYYY-MM-DD HH:MM:SS[.f]`, `YYYY-MM-DDTHH:MM:SS[.f]` or a date, as UTC.
fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(at.naive_utc());
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Some(at);
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

fn datetime_json(at: NaiveDateTime) -> Value {
    json!({
        "__class__": "datetime",
        "year": at.year(), "month": at.month(), "day": at.day(),
        "hour": at.hour(), "minute": at.minute(), "second": at.second(),
        "microsecond": at.nanosecond() / 1000,
    })
}

/// A `since` value for a domain: a typed datetime when it parses, else the text.
fn datetime_value(since: &str) -> Value {
    parse_datetime(since).map_or_else(|| Value::String(since.to_string()), datetime_json)
}

/// A record as read: typed values decoded, `field.` keys moved to `field`.
fn decode_record(row: Value, entity: &Entity) -> Value {
    let Value::Object(map) = decode_value(row) else {
        return Value::Null;
    };
    let mut out = Map::new();
    let mut dotted = Vec::new();
    for (key, value) in map {
        match key.strip_suffix('.') {
            Some(base) if !base.is_empty() => dotted.push((base.to_string(), value)),
            _ => {
                out.insert(key, value);
            }
        }
    }
    for (base, value) in dotted {
        if entity.fields.contains_key(&base) || !out.contains_key(&base) {
            out.insert(base, value);
        }
    }
    Value::Object(out)
}

fn number(value: &Value, key: &str) -> i64 {
    value.get(key).and_then(Value::as_i64).unwrap_or(0)
}

fn decode_value(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(decode_value).collect()),
        Value::Object(map) => {
            let class = map
                .get("__class__")
                .and_then(Value::as_str)
                .map(str::to_string);
            let object = Value::Object(map);
            let Some(class) = class else {
                let Value::Object(map) = object else {
                    return object;
                };
                return Value::Object(map.into_iter().map(|(k, v)| (k, decode_value(v))).collect());
            };
            let v = &object;
            match class.as_str() {
                "Decimal" => v
                    .get("decimal")
                    .cloned()
                    .map(|d| match d {
                        Value::Number(n) => Value::String(n.to_string()),
                        other => other,
                    })
                    .unwrap_or(Value::Null),
                "date" => Value::String(format!(
                    "{:04}-{:02}-{:02}",
                    number(v, "year"),
                    number(v, "month"),
                    number(v, "day")
                )),
                "datetime" => {
                    let micro = number(v, "microsecond");
                    let fraction = if micro > 0 {
                        format!(".{micro:06}")
                    } else {
                        String::new()
                    };
                    Value::String(format!(
                        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}Z",
                        number(v, "year"),
                        number(v, "month"),
                        number(v, "day"),
                        number(v, "hour"),
                        number(v, "minute"),
                        number(v, "second"),
                    ))
                }
                "time" => Value::String(format!(
                    "{:02}:{:02}:{:02}",
                    number(v, "hour"),
                    number(v, "minute"),
                    number(v, "second")
                )),
                "timedelta" => v.get("seconds").cloned().unwrap_or(Value::Null),
                "bytes" => v.get("base64").cloned().unwrap_or(Value::Null),
                _ => object,
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_round_trip() {
        let decoded = decode_value(json!({
            "amount": {"__class__": "Decimal", "decimal": "1148.00"},
            "day": {"__class__": "date", "year": 2026, "month": 11, "day": 2},
            "at": {"__class__": "datetime", "year": 2026, "month": 1, "day": 2, "hour": 3, "minute": 4, "second": 5, "microsecond": 0},
            "lines": [{"q": 2.0}]
        }));
        assert_eq!(
            decoded,
            json!({"amount": "1148.00", "day": "2026-11-02", "at": "2026-01-02T03:04:05Z", "lines": [{"q": 2.0}]})
        );
        assert_eq!(
            error_text(&json!([
                "UserError",
                ["The code on party must be unique.", "", ""]
            ])),
            "UserError: The code on party must be unique."
        );
        assert_eq!(
            datetime_value("2026-01-02T03:04:05+01:00"),
            json!({"__class__": "datetime", "year": 2026, "month": 1, "day": 2, "hour": 2, "minute": 4, "second": 5, "microsecond": 0})
        );
    }
}
