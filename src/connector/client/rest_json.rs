//! REST with JSON bodies. Conventions from the entity `path`:
//! list `GET path` (+ paging parameters, + the `changed_since` filter), get `GET path/{id}`
//! (`/orders.json` → `/orders/{id}.json`), search `GET path?{field}={value}`, create
//! `POST path` (with the entity's idempotency header when a key is given), update
//! `PUT path/{id}`.
//!
//! Answers: a bare array, the records at `pagination.items`, or one object; a single record
//! in a `{"value": …}` wrapper (Tripletex) or a one-member object without the id field
//! (Shopify `{"order": {…}}`) is unwrapped. A create answered without a record but with a
//! `Location` header (Fiken, e-conomic) reads the record from that location; one answered
//! with a bare id (webCRM) reads it by id.
//!
//! Query dialects, chosen from the profile's shape (the format has no key for it):
//! - e-conomic (`pagination.param: skippages`, or a `changed_since` with `$`): search
//!   `filter=field$eq:value`, changed since `filter=lastUpdated$gte:<time>`;
//! - OData (a pagination parameter starting with `$`; or `skip`/`top` as Uni Micro uses,
//!   with `filter`): search `$filter=field eq 'value'`, changed since
//!   `$filter=<prop> after '<time>'` (SuperOffice's date operator);
//! - otherwise: search `field=value`, changed since `<param>=<time>`.
//!
//! A `changed_since` that starts with `/` is a path template with `{from}`/`{to}` (webCRM
//! `FindByUpdateDates`): `from` is the given time, `to` now (UTC, RFC 3339).

use reqwest::Method;
use serde_json::Value;

use crate::connector::profile::{Entity, Operation, PaginationKind};

use super::{
    error::{ConnectorError, ConnectorErrorKind},
    http::Req,
    id_text,
    paginate::{items, Next, Pager},
    Backend, Client,
};

/// Connectors whose `page` numbering starts at 0 although their profile does not say so
/// (the format has no key for it; a profile option `first_page` overrides this).
/// Fiken: "Valid page values are integers from 0 to the total number of pages".
const ZERO_BASED_PAGES: &[&str] = &["fiken"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Plain,
    Economic,
    OData(&'static str),
}

fn dialect(client: &Client) -> Dialect {
    let pagination = client.profile.pagination.as_ref();
    let param = pagination.and_then(|p| p.param.as_deref()).unwrap_or("");
    let size = pagination
        .and_then(|p| p.size_param.as_deref())
        .unwrap_or("");
    let dollar_since = client
        .profile
        .entities
        .values()
        .any(|e| e.changed_since.as_deref().is_some_and(|c| c.contains('$')));
    if param == "skippages" || dollar_since {
        Dialect::Economic
    } else if param.starts_with('$') {
        Dialect::OData("$filter")
    } else if param == "skip" && size == "top" {
        Dialect::OData("filter")
    } else {
        Dialect::Plain
    }
}

/// The entity's path with its option placeholders filled.
fn entity_path(client: &Client, name: &str, entity: &Entity) -> Result<String, ConnectorError> {
    let path = entity.path.as_deref().ok_or_else(|| {
        ConnectorError::config(format!(
            "entity `{name}` of connector `{}` has no `path`",
            client.profile.name
        ))
    })?;
    if path.starts_with("graphql:") {
        return Err(ConnectorError::config(format!(
            "entity `{name}` of connector `{}` (`{path}`) is read over GraphQL: only `list` and `get` are supported, not searches or writes",
            client.profile.name
        )));
    }
    if path.contains(".asmx") {
        return Err(ConnectorError::config(format!(
            "entity `{name}` of connector `{}` (`{path}`) needs a transport that does not exist yet",
            client.profile.name
        )));
    }
    client
        .options
        .fill(path, &format!("the path of `{}.{name}`", client.alias), &[])
}

/// A path or URL made absolute against the base URL.
pub(super) fn url(client: &Client, path: &str) -> String {
    if path.starts_with("http://") || path.starts_with("https://") {
        return path.to_string();
    }
    let base = match &client.backend {
        Backend::Rest { base } => base.as_str(),
        _ => "",
    };
    if path.is_empty() {
        return base.to_string();
    }
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// `target` (a `Location` or next link) resolved against the URL that answered.
fn resolve(answered: &str, target: &str) -> Result<String, ConnectorError> {
    let base = reqwest::Url::parse(answered)
        .map_err(|err| ConnectorError::transient(format!("bad URL `{answered}`: {err}")))?;
    base.join(target)
        .map(|u| u.to_string())
        .map_err(|err| ConnectorError::transient(format!("bad link `{target}`: {err}")))
}

/// `path/{id}`, or `stem/{id}.json` for `.json` paths.
fn path_with_id(path: &str, id: &str) -> String {
    let id = encode_segment(id);
    let path = path.trim_end_matches('/');
    match path.strip_suffix(".json") {
        Some(stem) => format!("{stem}/{id}.json"),
        None => format!("{path}/{id}"),
    }
}

/// Percent-encodes a path segment (everything but RFC 3986 unreserved characters).
fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn query_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn odata_literal(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

/// Starts listing an entity, a page at a time.
pub(super) fn list_pages(
    client: &Client,
    name: &str,
    entity: &Entity,
    since: Option<&str>,
) -> Result<Listing, ConnectorError> {
    let path = entity_path(client, name, entity)?;
    let mut list_path = path.clone();
    let mut query = Vec::new();
    if let (Some(since), Some(filter)) = (since, entity.changed_since.as_deref()) {
        if filter.starts_with('/') {
            let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
            list_path = client.options.fill(
                filter,
                &format!("the changed-since path of `{}.{name}`", client.alias),
                &[
                    ("from", &encode_segment(since)),
                    ("to", &encode_segment(&now)),
                ],
            )?;
        } else {
            match dialect(client) {
                Dialect::Economic if filter.contains('$') => {
                    query.push(("filter".to_string(), format!("{filter}:{since}")));
                }
                Dialect::OData(param) => {
                    query.push((param.to_string(), format!("{filter} after '{since}'")));
                }
                _ => query.push((filter.to_string(), since.to_string())),
            }
        }
    }
    Listing::new(client, name, &path, &list_path, query)
}

/// Searches by one field's value (all pages).
pub(super) async fn search(
    client: &Client,
    name: &str,
    entity: &Entity,
    field: &str,
    value: &Value,
) -> Result<Vec<Value>, ConnectorError> {
    let path = entity_path(client, name, entity)?;
    let query = match dialect(client) {
        Dialect::Plain => vec![(field.to_string(), query_text(value))],
        Dialect::Economic => vec![(
            "filter".to_string(),
            format!("{field}$eq:{}", query_text(value)),
        )],
        Dialect::OData(param) => vec![(
            param.to_string(),
            format!("{field} eq {}", odata_literal(value)),
        )],
    };
    let records = fetch_all(client, name, &path, &path, query).await?;
    // Servers that ignore an unknown filter answer with everything: keep the matches only
    // when the records carry the field.
    Ok(records
        .into_iter()
        .filter(|r| r.get(field).is_none_or(|v| super::loose_eq(v, value)))
        .collect())
}

async fn fetch_all(
    client: &Client,
    name: &str,
    resource_path: &str,
    list_path: &str,
    extra: Vec<(String, String)>,
) -> Result<Vec<Value>, ConnectorError> {
    let mut listing = Listing::new(client, name, resource_path, list_path, extra)?;
    let mut out = Vec::new();
    while let Some(page) = listing.next_page(client).await? {
        out.extend(page);
    }
    Ok(out)
}

/// One list in progress: the request for the next page and the paging state.
#[derive(Debug)]
pub(super) struct Listing {
    what: String,
    resource_path: String,
    pointer: Option<String>,
    extra: Vec<(String, String)>,
    pager: Pager,
    /// The next request; `None` once the list has ended.
    next: Option<Req>,
}

impl Listing {
    fn new(
        client: &Client,
        name: &str,
        resource_path: &str,
        list_path: &str,
        extra: Vec<(String, String)>,
    ) -> Result<Listing, ConnectorError> {
        let pagination = client.profile.pagination.as_ref();
        let first_page = client
            .options
            .get("first_page")
            .and_then(|p| p.trim().parse().ok())
            .or_else(|| {
                ZERO_BASED_PAGES
                    .contains(&client.profile.name.as_str())
                    .then_some(0)
            });
        let pager = Pager::new(pagination, first_page, client.max_pages);
        let mut req = Req::get(url(client, list_path));
        req.query = extra.clone();
        req.query.extend(pager.first());
        Ok(Listing {
            what: format!("list {}.{name}", client.alias),
            resource_path: resource_path.to_string(),
            pointer: pagination.and_then(|p| p.items.clone()),
            extra,
            pager,
            next: Some(req),
        })
    }

    /// The next page's records (possibly none), or `None` when the list has ended.
    pub(super) async fn next_page(
        &mut self,
        client: &Client,
    ) -> Result<Option<Vec<Value>>, ConnectorError> {
        let Some(req) = self.next.take() else {
            return Ok(None);
        };
        let resp = client.send(&req).await?;
        let body = resp.json(&req.describe())?;
        let page = items(
            &self.what,
            body.clone(),
            self.pointer.as_deref(),
            &self.resource_path,
        )?;
        let count = page.len();
        match self.pager.next(&self.what, &resp.headers, &body, count)? {
            Next::Done => {}
            Next::Params(params) => {
                let mut req = req;
                req.query = self.extra.clone();
                req.query.extend(params);
                self.next = Some(req);
            }
            Next::Url(next) => {
                let mut req = req;
                req.url = resolve(&resp.url, &next)?;
                req.query.clear();
                self.next = Some(req);
            }
        }
        Ok(Some(page))
    }
}

/// A single record from an answer: unwraps `{"value": …}`, a one-member object without the
/// id field, and one-element arrays.
fn unwrap_record(body: Value, id_field: &str) -> Option<Value> {
    match body {
        Value::Null => None,
        Value::Array(mut items) => {
            if items.is_empty() {
                None
            } else {
                unwrap_record(items.swap_remove(0), id_field)
            }
        }
        Value::Object(mut map) => {
            if map.len() == 1 && !map.contains_key(id_field) {
                let key = map.keys().next().cloned().unwrap_or_default();
                let inner_is_record = map.get(&key).is_some_and(|v| v.is_object());
                if key == "value" || inner_is_record {
                    return map
                        .shift_remove(&key)
                        .and_then(|v| unwrap_record(v, id_field));
                }
            }
            Some(Value::Object(map))
        }
        other => Some(other),
    }
}

/// One record by id.
pub(super) async fn get(
    client: &Client,
    name: &str,
    entity: &Entity,
    id: &str,
) -> Result<Option<Value>, ConnectorError> {
    let path = entity_path(client, name, entity)?;
    read_url(client, &entity.id, url(client, &path_with_id(&path, id))).await
}

async fn read_url(
    client: &Client,
    id_field: &str,
    target: String,
) -> Result<Option<Value>, ConnectorError> {
    let req = Req::get(target);
    match client.send(&req).await {
        Ok(resp) => {
            let body = resp.json(&req.describe())?;
            Ok(unwrap_record(body, id_field).filter(Value::is_object))
        }
        Err(err) if err.kind == ConnectorErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Creates a record; see the module doc for how the created record is read.
pub(super) async fn create(
    client: &Client,
    name: &str,
    entity: &Entity,
    body: &Value,
    idempotency_key: Option<&str>,
) -> Result<Value, ConnectorError> {
    let path = entity_path(client, name, entity)?;
    let header = entity
        .idempotency
        .as_ref()
        .and_then(|i| i.header.as_deref());
    let keyed = header.zip(idempotency_key);
    let mut req = Req::json(
        Method::POST,
        url(client, &path),
        body.clone(),
        keyed.is_some(),
    );
    if let Some((header, key)) = keyed {
        req.headers.push((header.to_string(), key.to_string()));
    }
    let resp = client.send(&req).await?;
    let answer = resp.json(&req.describe())?;
    let record = unwrap_record(answer, &entity.id);
    if let Some(record) = &record {
        if record.get(&entity.id).is_some_and(|v| !v.is_null()) {
            return Ok(record.clone());
        }
    }
    if let Some(location) = resp.header("location") {
        let target = resolve(&resp.url, location)?;
        if let Some(found) = read_url(client, &entity.id, target).await? {
            return Ok(found);
        }
    }
    match record {
        Some(Value::Object(map)) if !map.is_empty() => Ok(Value::Object(map)),
        Some(scalar) if id_text(&scalar).is_some() => {
            let id = id_text(&scalar).unwrap_or_default();
            if let Some(found) = get(client, name, entity, &id).await? {
                return Ok(found);
            }
            let mut merged = body.clone();
            if let Value::Object(map) = &mut merged {
                map.insert(entity.id.clone(), scalar);
            }
            Ok(merged)
        }
        _ => Err(ConnectorError::transient(format!(
            "{}: created (HTTP {}), but the answer has neither the record nor its id; look it up",
            req.describe(),
            resp.status
        ))),
    }
}

/// Updates a record (`PUT path/{id}`) and returns it as stored.
pub(super) async fn update(
    client: &Client,
    name: &str,
    entity: &Entity,
    id: &str,
    body: &Value,
) -> Result<Value, ConnectorError> {
    let path = entity_path(client, name, entity)?;
    let req = Req::json(
        Method::PUT,
        url(client, &path_with_id(&path, id)),
        body.clone(),
        true,
    );
    let resp = client.send(&req).await?;
    let answer = resp.json(&req.describe())?;
    match unwrap_record(answer, &entity.id) {
        Some(record @ Value::Object(_)) => Ok(record),
        _ => get(client, name, entity, id).await?.ok_or_else(|| {
            ConnectorError::not_found(format!(
                "{}: updated, but the record cannot be read back",
                req.describe()
            ))
        }),
    }
}

/// Reads one small page of the first listable entity (or just logs in).
pub(super) async fn check(client: &Client) -> Result<String, ConnectorError> {
    let base = url(client, "");
    let candidate = client.profile.entities.iter().find_map(|(name, entity)| {
        let listable = entity.operations.is_empty() || entity.operations.contains(&Operation::List);
        let path = entity_path(client, name, entity).ok()?;
        (listable && !path.contains('{')).then_some((name, path))
    });
    let Some((name, path)) = candidate else {
        client.auth.headers(&client.http).await?;
        return Ok(format!("{} ({}): credentials accepted", client.alias, base));
    };
    let mut req = Req::get(url(client, &path));
    if let Some(pagination) = &client.profile.pagination {
        if pagination.kind != PaginationKind::None {
            if let Some(size) = &pagination.size_param {
                req.query.push((size.clone(), "1".to_string()));
            }
        }
    }
    let resp = client.send(&req).await?;
    Ok(format!(
        "{} ({}): connected; `{name}` answered HTTP {}",
        client.alias, base, resp.status
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_and_records() {
        assert_eq!(path_with_id("/orders.json", "7"), "/orders/7.json");
        assert_eq!(path_with_id("/contacts/", "a b"), "/contacts/a%20b");
        assert_eq!(
            unwrap_record(json!({"value": {"id": 1}}), "id"),
            Some(json!({"id": 1}))
        );
        assert_eq!(
            unwrap_record(json!({"order": {"id": 1}}), "id"),
            Some(json!({"id": 1}))
        );
        assert_eq!(
            unwrap_record(json!({"id": 1}), "id"),
            Some(json!({"id": 1}))
        );
        assert_eq!(unwrap_record(Value::Null, "id"), None);
    }
}
