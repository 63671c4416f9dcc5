//! GraphQL reads for REST systems whose profile names a GraphQL endpoint (`graphql.path`,
//! relative to `base_url`): entities with `path: "graphql:<rootField>"` are listed with Relay
//! cursor paging (`<rootField>(first: N, after: $cursor)`, `pageInfo { hasNextPage endCursor }`)
//! and read by id with `node(id:)` and an inline fragment on the entity's name, which must be
//! its GraphQL type (Shopify: `SubscriptionContract`). Only reads: searches and writes of such
//! an entity are configuration errors (`rest_json`). `changed_since` is not used: a list is
//! read whole and the runtime compares it with its snapshots.
//!
//! The selection set is built from the entity's declared fields, and the answer is turned
//! back into the same flat shape the rules see:
//! - a scalar field is selected by name;
//! - a `record` is a nested selection;
//! - a `reference` is selected as `field { id }` and read back as that id;
//! - a `list` of records is a nested selection, or with `connection: true` a connection
//!   `field(first: 250) { edges { node { … } } pageInfo { hasNextPage } }` read back as the
//!   list of nodes; a nested connection with more items than that is an error, never a list
//!   silently cut short.
//!
//! Answers: `errors` in a 200 answer are errors with the server's messages. A query refused
//! for the cost budget (`extensions.code == "THROTTLED"`, Shopify) is recognised by
//! [`throttled`], which the HTTP executor retries like a 429, waiting what
//! `extensions.cost.throttleStatus` says the budget needs to refill.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::connector::profile::{Entity, Field, FieldType, Fields};

use super::{error::ConnectorError, http::Req, rest_json, Client};

/// How an entity's `path` marks a GraphQL root field.
const PREFIX: &str = "graphql:";

/// Records per page when the profile's `graphql.page_size` is not set.
const DEFAULT_PAGE_SIZE: u32 = 50;

/// Items asked for of a nested connection: Shopify's largest `first`.
const NESTED_PAGE_SIZE: u32 = 250;

/// The root field of an entity read over GraphQL, `None` for any other entity.
pub(super) fn root_field(entity: &Entity) -> Option<&str> {
    entity.path.as_deref()?.strip_prefix(PREFIX)
}

/// `{ a b { c } }`: the selection of a set of fields.
fn selection(fields: &Fields) -> String {
    let inner: Vec<String> = fields
        .iter()
        .map(|(name, field)| field_selection(name, field))
        .collect();
    format!("{{ {} }}", inner.join(" "))
}

fn field_selection(name: &str, field: &Field) -> String {
    let inner = if !field.fields.is_empty() {
        selection(&field.fields)
    } else if field.r#type == FieldType::Reference || field.item == Some(FieldType::Reference) {
        "{ id }".to_string()
    } else {
        return name.to_string();
    };
    if field.r#type == FieldType::List && field.connection {
        format!(
            "{name}(first: {NESTED_PAGE_SIZE}) {{ edges {{ node {inner} }} pageInfo {{ hasNextPage }} }}"
        )
    } else {
        format!("{name} {inner}")
    }
}

/// The query of one page of a list.
fn list_query(root: &str, fields: &Fields) -> String {
    format!(
        "query List($first: Int!, $after: String) {{ {root}(first: $first, after: $after) \
         {{ edges {{ cursor node {} }} pageInfo {{ hasNextPage endCursor }} }} }}",
        selection(fields)
    )
}

/// The query of one record by id.
fn get_query(type_name: &str, fields: &Fields) -> String {
    format!(
        "query Get($id: ID!) {{ node(id: $id) {{ ... on {type_name} {} }} }}",
        selection(fields)
    )
}

/// A record as the rules see it: references as ids, connections as lists (see module doc).
/// Fields the profile does not declare pass unchanged.
fn flatten(fields: &Fields, value: Value) -> Result<Value, String> {
    let Value::Object(map) = value else {
        return Ok(value);
    };
    let mut out = Map::with_capacity(map.len());
    for (name, value) in map {
        let value = match fields.get(&name) {
            Some(field) => flatten_field(&name, field, value)?,
            None => value,
        };
        out.insert(name, value);
    }
    Ok(Value::Object(out))
}

fn flatten_field(name: &str, field: &Field, value: Value) -> Result<Value, String> {
    match field.r#type {
        FieldType::Reference => Ok(reference_id(value)),
        FieldType::Record => flatten(&field.fields, value),
        FieldType::List => {
            let items = match value {
                Value::Null => return Ok(Value::Null),
                Value::Array(items) => items,
                Value::Object(mut connection) if field.connection => {
                    if has_next_page(&connection) {
                        return Err(format!(
                            "`{name}` has more than {NESTED_PAGE_SIZE} items; nested connections are read in one page"
                        ));
                    }
                    edge_nodes(name, &mut connection)?
                }
                other => return Err(format!("`{name}` is not a list: {other}")),
            };
            let items = items
                .into_iter()
                .map(|item| match field.item {
                    Some(FieldType::Reference) => Ok(reference_id(item)),
                    _ => flatten(&field.fields, item),
                })
                .collect::<Result<_, _>>()?;
            Ok(Value::Array(items))
        }
        _ => Ok(value),
    }
}

/// `{id: …}` → the id; an id already given as a scalar (or null) stays as it is.
fn reference_id(value: Value) -> Value {
    match value {
        Value::Object(mut map) => map.remove("id").unwrap_or(Value::Null),
        other => other,
    }
}

/// The nodes of a connection's `edges`.
fn edge_nodes(name: &str, connection: &mut Map<String, Value>) -> Result<Vec<Value>, String> {
    let Some(Value::Array(edges)) = connection.remove("edges") else {
        return Err(format!("`{name}` is a connection without `edges`"));
    };
    Ok(edges
        .into_iter()
        .map(|mut edge| edge.get_mut("node").map(Value::take).unwrap_or(Value::Null))
        .collect())
}

/// Whether a connection's `pageInfo` says that more items follow.
fn has_next_page(connection: &Map<String, Value>) -> bool {
    connection
        .get("pageInfo")
        .and_then(|p| p.get("hasNextPage"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// The `data` of an answer; `errors` make the answer an error with the server's messages.
fn data(what: &str, mut answer: Value) -> Result<Value, ConnectorError> {
    if let Some(errors) = answer
        .get("errors")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
    {
        let messages: Vec<String> = errors
            .iter()
            .map(|e| match e.get("message").and_then(Value::as_str) {
                Some(message) => message.to_string(),
                None => e.to_string(),
            })
            .collect();
        return Err(ConnectorError::permanent(format!(
            "{what}: GraphQL error: {}",
            messages.join("; ")
        )));
    }
    match answer.get_mut("data").map(Value::take) {
        Some(data @ Value::Object(_)) => Ok(data),
        _ => Err(ConnectorError::transient(format!(
            "{what}: the GraphQL answer has neither `data` nor `errors`"
        ))),
    }
}

/// One page of a list: its records and the cursor of the next page, if there is one.
fn page(
    what: &str,
    mut data: Value,
    root: &str,
    fields: &Fields,
) -> Result<(Vec<Value>, Option<String>), ConnectorError> {
    let bad = |message: String| ConnectorError::permanent(format!("{what}: {message}"));
    let mut connection = match data.get_mut(root).map(Value::take) {
        None | Some(Value::Null) => return Ok((Vec::new(), None)),
        Some(Value::Object(connection)) => connection,
        Some(other) => return Err(bad(format!("`{root}` is not a connection: {other}"))),
    };
    let records = edge_nodes(root, &mut connection)
        .map_err(bad)?
        .into_iter()
        .map(|node| flatten(fields, node))
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    let cursor = connection
        .get("pageInfo")
        .and_then(|p| p.get("endCursor"))
        .and_then(Value::as_str);
    let next = match (has_next_page(&connection), cursor) {
        (true, Some(cursor)) => Some(cursor.to_string()),
        (true, None) => return Err(bad("`hasNextPage` without an `endCursor`".to_string())),
        (false, _) => None,
    };
    Ok((records, next))
}

/// When the answer reports a throttled query: `Some` with the wait until the cost budget has
/// refilled enough for it, if the answer says; `None` for any other answer.
pub(super) fn throttled(body: &[u8]) -> Option<Option<Duration>> {
    let answer: Value = serde_json::from_slice(body).ok()?;
    let throttled = answer
        .get("errors")?
        .as_array()?
        .iter()
        .any(|e| e.pointer("/extensions/code").and_then(Value::as_str) == Some("THROTTLED"));
    if !throttled {
        return None;
    }
    let cost = answer.pointer("/extensions/cost");
    let number = |pointer: &str| cost?.pointer(pointer)?.as_f64();
    let wait = match (
        number("/requestedQueryCost"),
        number("/throttleStatus/currentlyAvailable"),
        number("/throttleStatus/restoreRate"),
    ) {
        (Some(wanted), Some(available), Some(rate)) if rate > 0.0 && wanted > available => {
            Duration::try_from_secs_f64((wanted - available) / rate).ok()
        }
        _ => None,
    };
    Some(wait)
}

/// The endpoint URL, from the profile's `graphql.path`.
fn endpoint(client: &Client, name: &str) -> Result<String, ConnectorError> {
    let Some(graphql) = &client.profile.graphql else {
        return Err(ConnectorError::config(format!(
            "entity `{name}` of connector `{}` is read over GraphQL, but the profile has no `graphql.path`",
            client.profile.name
        )));
    };
    let path = client.options.fill(
        &graphql.path,
        &format!("the GraphQL path of `{}`", client.alias),
        &[],
    )?;
    Ok(rest_json::url(client, &path))
}

/// Sends one query and returns the answer's `data`.
async fn query(
    client: &Client,
    url: &str,
    what: &str,
    body: Value,
) -> Result<Value, ConnectorError> {
    // A query changes nothing, so it is safe to send again.
    let mut req = Req::json(Method::POST, url, body, true);
    req.throttled_when = Some(throttled);
    let resp = client.send(&req).await?;
    data(what, resp.json(&req.describe())?)
}

/// One list in progress: the query and the cursor of the next page.
#[derive(Debug)]
pub(super) struct Listing {
    what: String,
    url: String,
    root: String,
    query: String,
    page_size: u32,
    /// The cursor to continue after; `None` on the first page.
    after: Option<String>,
    done: bool,
    pages: u32,
}

impl Listing {
    /// Starts listing the entity `name`, whose path is `graphql:<root>`.
    pub(super) fn new(
        client: &Client,
        name: &str,
        entity: &Entity,
        root: &str,
    ) -> Result<Listing, ConnectorError> {
        let page_size = client
            .profile
            .graphql
            .as_ref()
            .and_then(|g| g.page_size)
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .max(1);
        Ok(Listing {
            what: format!("list {}.{name}", client.alias),
            url: endpoint(client, name)?,
            root: root.to_string(),
            query: list_query(root, &entity.fields),
            page_size,
            after: None,
            done: false,
            pages: 0,
        })
    }

    /// The next page's records (possibly none), or `None` when the list has ended.
    pub(super) async fn next_page(
        &mut self,
        client: &Client,
        entity: &Entity,
    ) -> Result<Option<Vec<Value>>, ConnectorError> {
        if self.done {
            return Ok(None);
        }
        if self.pages >= client.max_pages {
            return Err(ConnectorError::config(format!(
                "{}: the list did not end after {} pages",
                self.what, self.pages
            )));
        }
        let body = json!({
            "query": self.query,
            "variables": { "first": self.page_size, "after": self.after },
        });
        let data = query(client, &self.url, &self.what, body).await?;
        self.pages += 1;
        let (records, next) = page(&self.what, data, &self.root, &entity.fields)?;
        match next {
            Some(cursor) if self.after.as_ref() == Some(&cursor) => {
                return Err(ConnectorError::permanent(format!(
                    "{}: the server answered the same cursor again",
                    self.what
                )))
            }
            Some(cursor) => self.after = Some(cursor),
            None => self.done = true,
        }
        Ok(Some(records))
    }
}

/// One record by id; `None` when there is none of this entity's type.
pub(super) async fn get(
    client: &Client,
    name: &str,
    entity: &Entity,
    id: &str,
) -> Result<Option<Value>, ConnectorError> {
    let what = format!("get {}.{name} {id}", client.alias);
    let body = json!({ "query": get_query(name, &entity.fields), "variables": { "id": id } });
    let mut data = query(client, &endpoint(client, name)?, &what, body).await?;
    match data.get_mut("node").map(Value::take) {
        // A node of another type answers `{}`: the fragment selected nothing.
        Some(Value::Object(node)) if !node.is_empty() => {
            flatten(&entity.fields, Value::Object(node))
                .map(Some)
                .map_err(|message| ConnectorError::permanent(format!("{what}: {message}")))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(yaml: &str) -> Fields {
        serde_yaml_ng::from_str(yaml).expect("fields")
    }

    fn contract() -> Fields {
        fields(
            r#"
            id: {type: text}
            customer: {type: record, fields: {email: {type: text}}}
            originOrder: {type: reference, entity: Order}
            lines: {type: list, connection: true, fields: {sku: {type: text}, quantity: {type: integer}}}
            tags: {type: list, item: text}
            "#,
        )
    }

    #[test]
    fn selections_follow_the_declared_fields() {
        assert_eq!(
            list_query("subscriptionContracts", &contract()),
            "query List($first: Int!, $after: String) { subscriptionContracts(first: $first, \
             after: $after) { edges { cursor node { id customer { email } originOrder { id } \
             lines(first: 250) { edges { node { sku quantity } } pageInfo { hasNextPage } } \
             tags } } pageInfo { hasNextPage endCursor } } }"
        );
        assert_eq!(
            get_query("SubscriptionContract", &fields("id: {type: text}")),
            "query Get($id: ID!) { node(id: $id) { ... on SubscriptionContract { id } } }"
        );
    }

    #[test]
    fn pages_come_back_flat() {
        let data = json!({"subscriptionContracts": {
            "edges": [{"cursor": "c1", "node": {
                "id": "gid://shopify/SubscriptionContract/1",
                "customer": {"email": "a@b.dk"},
                "originOrder": {"id": "gid://shopify/Order/7"},
                "lines": {"edges": [{"node": {"sku": "K-1", "quantity": 2}}],
                          "pageInfo": {"hasNextPage": false}},
                "tags": ["x"],
                "__typename": "SubscriptionContract"
            }}],
            "pageInfo": {"hasNextPage": true, "endCursor": "c1"}
        }});
        let (records, next) =
            page("list", data, "subscriptionContracts", &contract()).expect("a page");
        assert_eq!(next.as_deref(), Some("c1"));
        assert_eq!(
            records,
            vec![json!({
                "id": "gid://shopify/SubscriptionContract/1",
                "customer": {"email": "a@b.dk"},
                "originOrder": "gid://shopify/Order/7",
                "lines": [{"sku": "K-1", "quantity": 2}],
                "tags": ["x"],
                "__typename": "SubscriptionContract"
            })]
        );
        let last = json!({"subscriptionContracts": {
            "edges": [], "pageInfo": {"hasNextPage": false, "endCursor": null}
        }});
        let (records, next) =
            page("list", last, "subscriptionContracts", &contract()).expect("end");
        assert!(records.is_empty() && next.is_none());
    }

    #[test]
    fn a_nested_connection_that_does_not_fit_is_an_error() {
        let data = json!({"subscriptionContracts": {"edges": [{"node": {
            "lines": {"edges": [], "pageInfo": {"hasNextPage": true}}
        }}], "pageInfo": {"hasNextPage": false}}});
        let err = page(
            "list shop.SubscriptionContract",
            data,
            "subscriptionContracts",
            &contract(),
        )
        .expect_err("cut short");
        assert!(
            err.message.contains("`lines` has more than 250 items"),
            "{err}"
        );
    }

    #[test]
    fn errors_in_a_200_answer_are_errors() {
        let answer = json!({"errors": [{"message": "Field 'x' doesn't exist on type 'Query'"}]});
        let err = data("list shop.X", answer).expect_err("an error");
        assert_eq!(
            err.message,
            "list shop.X: GraphQL error: Field 'x' doesn't exist on type 'Query'"
        );
        assert_eq!(err.kind, super::super::ConnectorErrorKind::Permanent);
        assert!(data("q", json!({"data": {"a": 1}})).is_ok());
        assert!(data("q", json!({})).expect_err("no data").is_transient());
    }

    #[test]
    fn throttled_answers_say_how_long_to_wait() {
        let body = json!({
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": {"cost": {"requestedQueryCost": 152, "actualQueryCost": null,
                "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 52,
                                   "restoreRate": 50.0}}}
        });
        assert_eq!(
            throttled(body.to_string().as_bytes()),
            Some(Some(Duration::from_secs(2)))
        );
        let bare =
            json!({"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]});
        assert_eq!(throttled(bare.to_string().as_bytes()), Some(None));
        assert_eq!(throttled(br#"{"data": {"a": null}}"#), None);
        assert_eq!(throttled(b"not json"), None);
    }
}
