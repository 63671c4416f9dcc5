//! The profile-driven REST model behind [`super::FakeServer`]: routing of request paths to a
//! profile's entities, in-memory records with assigned ids and numbers, create validation
//! (required fields, numeric types, enum values, lengths), idempotency-key replay, search and
//! changed-since filters, and list pagination exactly as the profile's `pagination` says.
//! Entities whose path is `graphql:<rootField>` are read with POSTs to the profile's
//! `graphql.path` (see the GraphQL section below); they never count as writes.
//!
//! Everything here is synchronous and runs under the server's lock; the HTTP side (faults, rate
//! limit, logging, dropped connections) lives in `fake_server.rs`.

use std::{
    cmp::Ordering,
    collections::{BTreeMap, HashMap},
    sync::Arc,
};

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use indexmap::IndexMap;
use ledgerlink::connector::profile::{
    AuthKind, Entity, Field, FieldType, Fields, Operation, PaginationKind, Profile,
};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

/// Values of path placeholders (`{order_id}`, `{journal}`) a record was created under.
pub(super) type Scope = BTreeMap<String, String>;

/// Page size the fake serves when the client asks for none, so that tests exercise paging with
/// a few dozen records. A size the client asks for is served as asked (up to the profile's
/// `max_size`; above it the answer is 400), because the runtime takes a short page as the end.
pub(super) const DEFAULT_PAGE_SIZE: usize = 50;

/// Query parameters that never filter a list.
const IGNORED_PARAMS: &[&str] = &[
    "fields", "sort", "sorting", "order", "orderby", "expand", "include",
];

/// What the REST model answers.
#[derive(Debug, Clone)]
pub(super) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Some(body),
        }
    }

    pub(super) fn error(status: u16, message: impl Into<String>, field: Option<&str>) -> Self {
        let mut body = json!({ "error": message.into(), "status": status });
        if let Some(field) = field {
            body["field"] = Value::String(field.to_string());
        }
        Reply::json(status, body)
    }

    pub(super) fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

/// Where a request path leads.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Route {
    /// `{path}`: list, search or create.
    Collection { entity: String, scope: Scope },
    /// `{path}/{id}` (or `/orders/{id}.json` for a `/orders.json` path): get, update, delete.
    Item {
        entity: String,
        scope: Scope,
        id: String,
    },
    /// A `changed_since` path template such as webCRM's `/Organisations/FindByUpdateDates/{from}/{to}`.
    Window {
        entity: String,
        scope: Scope,
        from: String,
        to: String,
    },
    /// The profile's login or token endpoint (`auth.token_url`).
    Token,
    /// The profile's GraphQL endpoint (`graphql.path`); the entity is named in the query.
    Graphql,
    /// Nothing of the profile.
    Unknown,
}

impl Route {
    /// The entity the request addresses, if any.
    pub(super) fn entity(&self) -> Option<&str> {
        match self {
            Route::Collection { entity, .. }
            | Route::Item { entity, .. }
            | Route::Window { entity, .. } => Some(entity),
            Route::Token | Route::Graphql | Route::Unknown => None,
        }
    }
}

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Lit(String),
    Var(String),
}

/// How an entity is reached.
#[derive(Debug, Clone)]
struct EntityRoute {
    name: String,
    /// The normalised path template; entities sharing it share their records.
    key: String,
    template: Vec<Seg>,
    window: Option<Vec<Seg>>,
}

#[derive(Debug, Clone)]
struct Row {
    value: Value,
    scope: Scope,
    updated: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct Collection {
    rows: Vec<Row>,
    counters: HashMap<String, i64>,
}

#[derive(Debug, Clone)]
struct Replay {
    request: Value,
    status: u16,
    body: Value,
    location: Option<String>,
}

/// How searches and changed-since filters are written in query strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// `field=value`, `<changed_since>=<time>`; `$filter` (OData) is understood too.
    Plain,
    /// `filter=field$eq:value$and:lastUpdated$gte:<time>`.
    Economic,
    /// OData in a `filter` parameter without `$` (Uni Micro).
    ODataPlain,
}

/// A parsed list filter.
#[derive(Debug, Clone)]
enum Filter {
    /// Changed at or after (the record's server-side `updated_at`).
    Since(DateTime<Utc>),
    /// Changed within `[from, to]`.
    Between(DateTime<Utc>, DateTime<Utc>),
    /// A comparison of a (dotted) field with a query value.
    Cmp(String, Op, String),
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Like,
    In(Vec<String>),
}

/// Everything a list request needs besides the records.
pub(super) struct ListRequest<'a> {
    pub params: &'a [(String, String)],
    /// `http://host:port`, for next-page links.
    pub origin: &'a str,
    /// The request path as sent, for next-page links.
    pub path: &'a str,
}

/// The in-memory system described by one connector profile.
#[derive(Debug)]
pub(super) struct Rest {
    profile: Arc<Profile>,
    prefix: Vec<Seg>,
    routes: Vec<EntityRoute>,
    tokens: Vec<Vec<Seg>>,
    /// The GraphQL endpoint, as a path template like the entity paths.
    graphql: Option<Vec<Seg>>,
    collections: HashMap<String, Collection>,
    replays: HashMap<(String, String), Replay>,
    writes: usize,
    page_size: usize,
    first_page: Option<i64>,
}

impl Rest {
    pub(super) fn new(profile: Arc<Profile>) -> Self {
        let prefix = template(&url_path(profile.base_url.as_deref().unwrap_or("")));
        let routes = profile
            .entities
            .iter()
            .filter_map(|(name, entity)| {
                let path = entity.path.as_deref()?;
                if path.starts_with("graphql:") {
                    return None;
                }
                let key = normalise(path);
                let window = entity
                    .changed_since
                    .as_deref()
                    .filter(|c| c.starts_with('/'))
                    .map(template);
                Some(EntityRoute {
                    name: name.clone(),
                    template: template(&key),
                    key,
                    window,
                })
            })
            .collect();
        let mut tokens = Vec::new();
        if matches!(
            profile.auth.kind,
            AuthKind::SessionToken | AuthKind::Oauth2ClientCredentials
        ) {
            if let Some(url) = profile
                .auth
                .token_url
                .as_deref()
                .filter(|u| u.contains('/'))
            {
                let full = template(&url_path(url));
                if let Some(n) = prefix_len(&prefix, &full).filter(|n| *n > 0) {
                    tokens.push(full[n..].to_vec());
                }
                tokens.push(full);
            }
        }
        let graphql = profile
            .graphql
            .as_ref()
            .map(|g| template(&normalise(&g.path)));
        Rest {
            profile,
            prefix,
            routes,
            tokens,
            graphql,
            collections: HashMap::new(),
            replays: HashMap::new(),
            writes: 0,
            page_size: DEFAULT_PAGE_SIZE,
            first_page: None,
        }
    }

    pub(super) fn profile(&self) -> &Arc<Profile> {
        &self.profile
    }

    pub(super) fn writes(&self) -> usize {
        self.writes
    }

    /// The page size served when the client asks for none.
    pub(super) fn set_page_size(&mut self, size: usize) {
        self.page_size = size.max(1);
    }

    /// The number of the first page, as a system's `first_page` option would set it.
    pub(super) fn set_first_page(&mut self, first: i64) {
        self.first_page = Some(first);
    }

    /// Whether two entity names share one set of records (same path).
    pub(super) fn same_records(&self, a: &str, b: &str) -> bool {
        a == b
            || matches!(
                (self.route_of(a), self.route_of(b)),
                (Some(x), Some(y)) if x.key == y.key
            )
    }

    fn route_of(&self, entity: &str) -> Option<&EntityRoute> {
        self.routes.iter().find(|r| r.name == entity)
    }

    fn checked(&self, name: &str) -> Arc<Profile> {
        assert!(
            self.profile.entities.contains_key(name),
            "profile `{}` has no entity `{name}` (it has: {})",
            self.profile.name,
            self.profile
                .entities
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.profile.clone()
    }

    /// The key of an entity's records: its normalised REST path, or its `graphql:` path.
    fn key_of(&self, entity: &str) -> String {
        self.route_of(entity)
            .map(|r| r.key.clone())
            .or_else(|| {
                let path = self.profile.entities.get(entity)?.path.as_deref()?;
                path.starts_with("graphql:").then(|| path.to_string())
            })
            .unwrap_or_else(|| panic!("entity `{entity}` has no REST path in the profile"))
    }

    // ----- routing -------------------------------------------------------------------------

    /// Resolves a request path: as sent, else with the `base_url`'s own path (`/v2`) removed.
    pub(super) fn route(&self, path: &str) -> Route {
        let segs: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        if let Some(route) = self.route_segs(&segs) {
            return route;
        }
        let lits: Vec<Seg> = segs.iter().map(|s| Seg::Lit(s.clone())).collect();
        match prefix_len(&self.prefix, &lits) {
            Some(n) if n > 0 => self.route_segs(&segs[n..]).unwrap_or(Route::Unknown),
            _ => Route::Unknown,
        }
    }

    fn route_segs(&self, segs: &[String]) -> Option<Route> {
        if self.tokens.iter().any(|t| match_segs(t, segs).is_some()) {
            return Some(Route::Token);
        }
        if self
            .graphql
            .as_ref()
            .is_some_and(|g| match_segs(g, segs).is_some())
        {
            return Some(Route::Graphql);
        }
        let mut best: Option<((u8, usize), Route)> = None;
        let mut offer = |rank: (u8, usize), route: Route| {
            if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                best = Some((rank, route));
            }
        };
        for r in &self.routes {
            let lits = literals(&r.template);
            if let Some(scope) = match_segs(&r.template, segs) {
                offer(
                    (2, lits),
                    Route::Collection {
                        entity: r.name.clone(),
                        scope,
                    },
                );
            }
            if let Some(window) = &r.window {
                if let Some(mut scope) = match_segs(window, segs) {
                    let from = scope.remove("from").unwrap_or_default();
                    let to = scope.remove("to").unwrap_or_default();
                    offer(
                        (2, literals(window)),
                        Route::Window {
                            entity: r.name.clone(),
                            scope,
                            from,
                            to,
                        },
                    );
                }
            }
            let n = r.template.len();
            if segs.len() == n + 1 {
                if let Some(scope) = match_segs(&r.template, &segs[..n]) {
                    offer(
                        (1, lits),
                        Route::Item {
                            entity: r.name.clone(),
                            scope,
                            id: segs[n].clone(),
                        },
                    );
                }
                // `/orders.json` → `/orders/{id}.json`
                if let Some(Seg::Lit(last)) = r.template.last() {
                    if let (Some(stem), Some(id)) =
                        (last.strip_suffix(".json"), segs[n].strip_suffix(".json"))
                    {
                        if segs[n - 1] == stem {
                            if let Some(scope) = match_segs(&r.template[..n - 1], &segs[..n - 1]) {
                                offer(
                                    (1, lits),
                                    Route::Item {
                                        entity: r.name.clone(),
                                        scope,
                                        id: id.to_string(),
                                    },
                                );
                            }
                        }
                    }
                }
            }
        }
        best.map(|(_, route)| route)
    }

    // ----- auth ----------------------------------------------------------------------------

    /// Loose auth: any `Authorization` header, or the profile's own key header, will do.
    pub(super) fn authorized(&self, route: &Route, headers: &[(String, String)]) -> bool {
        if self.profile.auth.kind == AuthKind::None || *route == Route::Token {
            return true;
        }
        let own = self
            .profile
            .auth
            .header
            .as_deref()
            .unwrap_or("authorization");
        headers.iter().any(|(name, value)| {
            (name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case(own))
                && !value.trim().is_empty()
        })
    }

    // ----- dispatch ------------------------------------------------------------------------

    /// Answers one request that passed faults, rate limit and auth.
    pub(super) fn handle(
        &mut self,
        method: &str,
        route: &Route,
        headers: &[(String, String)],
        body: &Value,
        list: &ListRequest<'_>,
    ) -> Reply {
        let method = method.to_ascii_uppercase();
        match (route, method.as_str()) {
            (Route::Token, _) => Reply::json(
                200,
                json!({
                    "value": { "token": "fake-session-token", "expirationDate": "2099-12-31" },
                    "token": "fake-session-token",
                    "access_token": "fake-access-token",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }),
            ),
            (Route::Unknown, _) => Reply::error(
                404,
                format!(
                    "no such path in the `{}` fake: {}",
                    self.profile.name, list.path
                ),
                None,
            ),
            (Route::Graphql, "POST") => self.graphql(body),
            (Route::Collection { entity, scope }, "GET") => self.list(entity, scope, None, list),
            (
                Route::Window {
                    entity,
                    scope,
                    from,
                    to,
                },
                "GET",
            ) => {
                let (Some(from), Some(to)) = (parse_time(from), parse_time(to)) else {
                    return Reply::error(400, "invalid date window", None);
                };
                self.list(entity, scope, Some(Filter::Between(from, to)), list)
            }
            (Route::Collection { entity, scope }, "POST") => {
                self.create(entity, scope, headers, body, list)
            }
            (Route::Item { entity, scope, id }, "GET") => self.get(entity, scope, id),
            (Route::Item { entity, scope, id }, "PUT" | "PATCH") => {
                self.update(entity, scope, id, body)
            }
            (Route::Item { entity, scope, id }, "DELETE") => self.delete(entity, scope, id),
            _ => Reply::error(405, format!("{method} is not allowed here"), None),
        }
    }

    fn allows(entity: &Entity, ops: &[Operation]) -> bool {
        ops.iter().any(|op| entity.operations.contains(op))
    }

    // ----- create --------------------------------------------------------------------------

    fn create(
        &mut self,
        name: &str,
        scope: &Scope,
        headers: &[(String, String)],
        body: &Value,
        list: &ListRequest<'_>,
    ) -> Reply {
        let profile = self.checked(name);
        let entity = &profile.entities[name];
        if !Self::allows(entity, &[Operation::Create]) {
            return Reply::error(405, format!("`{name}` cannot be created"), None);
        }
        let key = self.key_of(name);
        let idempotency = entity
            .idempotency
            .as_ref()
            .and_then(|i| i.header.as_deref())
            .and_then(|h| header(headers, h))
            .map(|k| (key.clone(), k.to_string()));
        if let Some(replay) = idempotency.as_ref().and_then(|k| self.replays.get(k)) {
            if replay.request != *body {
                return Reply::error(
                    422,
                    "idempotency key reused with a different request body",
                    None,
                );
            }
            let mut reply = Reply::json(replay.status, replay.body.clone())
                .with_header("X-ResultFromCache", "true");
            if let Some(location) = &replay.location {
                reply = reply.with_header("Location", location.clone());
            }
            return reply;
        }
        let Some(object) = body.as_object() else {
            return Reply::error(400, "the request body must be a JSON object", None);
        };
        if let Err((message, field)) = validate(&entity.fields, object, "", true) {
            return Reply::error(400, message, Some(&field));
        }
        let mut record = object.clone();
        record.retain(|k, _| !entity.fields.get(k).is_some_and(|f| f.read_only));
        // A parent id in the path (`/orders/{order_id}/refunds`) fills a scalar field of that name.
        for (var, value) in scope {
            let scalar_field = entity.fields.get(var).is_some_and(|f| {
                matches!(
                    f.r#type,
                    FieldType::Integer | FieldType::Text | FieldType::Reference
                )
            });
            if scalar_field && !record.contains_key(var) {
                record.insert(var.clone(), scalar(value));
            }
        }
        let now = Utc::now();
        let collection = self.collections.entry(key.clone()).or_default();
        if let Err(reply) = assign(entity, collection, &mut record, false, now) {
            return reply;
        }
        let value = Value::Object(record);
        let id = id_string(&value[&entity.id]).unwrap_or_default();
        collection.rows.push(Row {
            value: value.clone(),
            scope: scope.clone(),
            updated: now,
        });
        self.writes += 1;
        let location = format!(
            "{}{}/{}",
            list.origin,
            list.path.trim_end_matches('/'),
            percent_encode(&id)
        );
        if let Some(k) = idempotency {
            self.replays.insert(
                k,
                Replay {
                    request: body.clone(),
                    status: 201,
                    body: value.clone(),
                    location: Some(location.clone()),
                },
            );
        }
        Reply::json(201, value).with_header("Location", location)
    }

    // ----- get / update / delete -----------------------------------------------------------

    fn find(&self, key: &str, entity: &Entity, scope: &Scope, id: &str) -> Option<usize> {
        self.collections.get(key)?.rows.iter().position(|row| {
            id_string(&row.value[&entity.id]).as_deref() == Some(id) && in_scope(row, scope)
        })
    }

    fn get(&self, name: &str, scope: &Scope, id: &str) -> Reply {
        let profile = self.checked(name);
        let entity = &profile.entities[name];
        if !Self::allows(entity, &[Operation::Get]) {
            return Reply::error(405, format!("`{name}` cannot be read by id"), None);
        }
        let key = self.key_of(name);
        match self.find(&key, entity, scope, id) {
            Some(i) => Reply::json(200, self.collections[&key].rows[i].value.clone()),
            None => Reply::error(404, format!("{name} {id} not found"), None),
        }
    }

    fn update(&mut self, name: &str, scope: &Scope, id: &str, body: &Value) -> Reply {
        let profile = self.checked(name);
        let entity = &profile.entities[name];
        if !Self::allows(entity, &[Operation::Update]) {
            return Reply::error(405, format!("`{name}` cannot be updated"), None);
        }
        let key = self.key_of(name);
        let Some(i) = self.find(&key, entity, scope, id) else {
            return Reply::error(404, format!("{name} {id} not found"), None);
        };
        let Some(object) = body.as_object() else {
            return Reply::error(400, "the request body must be a JSON object", None);
        };
        if let Err((message, field)) = validate(&entity.fields, object, "", false) {
            return Reply::error(400, message, Some(&field));
        }
        let row = &mut self.collections.get_mut(&key).expect("found").rows[i];
        if let (Some(sent), Some(current)) = (object.get("version"), row.value.get("version")) {
            if has_version(entity) && !sent.is_null() && sent != current {
                return Reply::error(
                    409,
                    format!("stale version {sent}: the record is at version {current}"),
                    Some("version"),
                );
            }
        }
        if merge(entity, &mut row.value, object) {
            let now = Utc::now();
            touch(entity, &mut row.value, now);
            if has_version(entity) {
                let v = row.value["version"].as_i64().unwrap_or(0);
                row.value["version"] = json!(v + 1);
            }
            row.updated = now;
            self.writes += 1;
        }
        Reply::json(200, row.value.clone())
    }

    fn delete(&mut self, name: &str, scope: &Scope, id: &str) -> Reply {
        let profile = self.checked(name);
        let entity = &profile.entities[name];
        if !Self::allows(entity, &[Operation::Delete]) {
            return Reply::error(405, format!("`{name}` cannot be deleted"), None);
        }
        let key = self.key_of(name);
        let Some(i) = self.find(&key, entity, scope, id) else {
            return Reply::error(404, format!("{name} {id} not found"), None);
        };
        self.collections
            .get_mut(&key)
            .expect("found")
            .rows
            .remove(i);
        self.writes += 1;
        Reply {
            status: 204,
            headers: Vec::new(),
            body: None,
        }
    }

    // ----- list ----------------------------------------------------------------------------

    fn list(
        &self,
        name: &str,
        scope: &Scope,
        window: Option<Filter>,
        request: &ListRequest<'_>,
    ) -> Reply {
        let profile = self.checked(name);
        let entity = &profile.entities[name];
        if !Self::allows(entity, &[Operation::List, Operation::Search]) {
            return Reply::error(405, format!("`{name}` cannot be listed"), None);
        }
        let paging = Paging::of(
            &self.profile,
            self.route_of(name).expect("routed"),
            self.first_page,
        );
        // Shopify-style links carry the filters inside `page_info`; nothing else may be sent.
        let mut start = None;
        let mut filter_params: Vec<(String, String)> = request.params.to_vec();
        if paging.kind == PaginationKind::LinkHeader {
            if let Some(token) = param(request.params, &paging.param) {
                let Some((offset, query)) = decode_token(token) else {
                    return Reply::error(400, "invalid page_info", None);
                };
                if let Some((k, _)) = request.params.iter().find(|(k, _)| {
                    *k != paging.param
                        && Some(k.as_str()) != paging.size_param.as_deref()
                        && k != "fields"
                }) {
                    return Reply::error(
                        400,
                        format!("`{k}` cannot be combined with page_info"),
                        Some(k),
                    );
                }
                start = Some(offset);
                filter_params = parse_query(&query);
            }
        }
        let mut filters = match self.filters(name, entity, &paging, &filter_params) {
            Ok(f) => f,
            Err(reply) => return reply,
        };
        filters.extend(window);
        let rows: Vec<&Row> = self
            .collections
            .get(&self.key_of(name))
            .map(|c| c.rows.iter().collect())
            .unwrap_or_default();
        let rows: Vec<Value> = rows
            .into_iter()
            .filter(|row| in_scope(row, scope))
            .filter(|row| filters.iter().all(|f| passes(entity, row, f)))
            .map(|row| row.value.clone())
            .collect();
        self.paginate(&paging, rows, start, &filter_params, request)
    }

    fn filters(
        &self,
        name: &str,
        entity: &Entity,
        paging: &Paging,
        params: &[(String, String)],
    ) -> Result<Vec<Filter>, Reply> {
        let key = self.key_of(name);
        let rows = self.collections.get(&key).map(|c| c.rows.as_slice());
        let known = |path: &str| {
            declared(&entity.fields, path)
                || rows.is_some_and(|rows| rows.iter().any(|r| get_path(&r.value, path).is_some()))
        };
        let changed_since = entity
            .changed_since
            .as_deref()
            .filter(|c| !c.starts_with('/') && !c.contains('$'));
        let mut filters = Vec::new();
        for (k, v) in params {
            if *k == paging.param || Some(k.as_str()) == paging.size_param.as_deref() {
                continue;
            }
            if Some(k.as_str()) == changed_since {
                let t = parse_time(v).ok_or_else(|| {
                    Reply::error(400, format!("`{k}` is not a date or time: {v}"), Some(k))
                })?;
                filters.push(Filter::Since(t));
            } else if k == "filter" && self.dialect() == Dialect::Economic {
                filters.extend(economic_filter(v)?);
            } else if k == "$filter" || (k == "filter" && self.dialect() == Dialect::ODataPlain) {
                filters.extend(odata_filter(v)?);
            } else if k.starts_with('$')
                || IGNORED_PARAMS.contains(&k.as_str())
                || (k == "status" && v == "any")
            {
                continue;
            } else if known(k) {
                filters.push(Filter::Cmp(k.clone(), Op::Eq, v.clone()));
            } else if let Some(base) = k.strip_suffix("From").filter(|b| known(b)) {
                filters.push(Filter::Cmp(base.to_string(), Op::Ge, v.clone()));
            } else if let Some(base) = k.strip_suffix("To").filter(|b| known(b)) {
                filters.push(Filter::Cmp(base.to_string(), Op::Lt, v.clone()));
            }
            // Anything else is ignored, as most APIs do with parameters they do not know.
        }
        Ok(filters)
    }

    fn paginate(
        &self,
        paging: &Paging,
        rows: Vec<Value>,
        start: Option<usize>,
        filter_params: &[(String, String)],
        request: &ListRequest<'_>,
    ) -> Reply {
        let total = rows.len();
        let requested = match paging
            .size_param
            .as_deref()
            .and_then(|p| param(request.params, p))
        {
            None => None,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if n > 0 => Some(n),
                _ => return Reply::error(400, format!("invalid page size `{v}`"), None),
            },
        };
        if let (Some(asked), Some(max)) = (requested, paging.max_size) {
            if asked > max {
                return Reply::error(
                    400,
                    format!("page size {asked} is above the largest allowed, {max}"),
                    paging.size_param.as_deref(),
                );
            }
        }
        let size = requested.unwrap_or(self.page_size);
        let slice =
            |from: usize| -> Vec<Value> { rows.iter().skip(from).take(size).cloned().collect() };
        let link =
            |set: &[(&str, String)]| url_with(request.origin, request.path, request.params, set);
        let given = param(request.params, &paging.param);
        let mut reply;
        match paging.kind {
            PaginationKind::None => {
                reply = Reply::json(200, wrap(&paging.items, rows.clone()));
            }
            PaginationKind::Page => {
                let page = match given.map(str::parse::<i64>) {
                    None => paging.page_base,
                    Some(Ok(p)) if p >= paging.page_base => p,
                    Some(_) => {
                        return Reply::error(
                            400,
                            format!(
                                "`{}` must be a page number from {}",
                                paging.param, paging.page_base
                            ),
                            Some(&paging.param),
                        )
                    }
                };
                let from = usize::try_from(page - paging.page_base).unwrap_or(0) * size;
                let more = from + size < total;
                let mut body = wrap(&paging.items, slice(from));
                if paging.param == "skippages" {
                    // e-conomic's envelope
                    let meta = json!({
                        "skipPages": page,
                        "pageSize": size,
                        "results": total,
                        "firstPage": link(&[(paging.param.as_str(), "0".into()), ("pagesize", size.to_string())]),
                    });
                    set_pointer(&mut body, "/pagination", meta);
                }
                if let (Some(next), true) = (&paging.next, more) {
                    let url = link(&[(paging.param.as_str(), (page + 1).to_string())]);
                    set_pointer(&mut body, next, Value::String(url));
                }
                reply = Reply::json(200, body);
            }
            PaginationKind::Offset => {
                let from = match given.map(str::parse::<usize>) {
                    None => 0,
                    Some(Ok(n)) => n,
                    Some(Err(_)) => {
                        return Reply::error(
                            400,
                            format!("`{}` must be an offset", paging.param),
                            Some(&paging.param),
                        )
                    }
                };
                let page = slice(from);
                let count = page.len();
                let mut body = wrap(&paging.items, page);
                if paging.items == "/values" {
                    // Tripletex's envelope
                    body["fullResultSize"] = json!(total);
                    body["from"] = json!(from);
                    body["count"] = json!(count);
                }
                if let (Some(next), true) = (&paging.next, from + size < total) {
                    let url = link(&[(paging.param.as_str(), (from + count).to_string())]);
                    set_pointer(&mut body, next, Value::String(url));
                }
                reply = Reply::json(200, body);
            }
            PaginationKind::Cursor => {
                let from = match given {
                    None => 0,
                    Some(c) => match decode_token(c) {
                        Some((n, _)) => n,
                        None => return Reply::error(400, "invalid cursor", Some(&paging.param)),
                    },
                };
                let items = if paging.items.is_empty() {
                    "/items".to_string()
                } else {
                    paging.items.clone()
                };
                let mut body = wrap(&items, slice(from));
                if from + size < total {
                    let next = paging.next.as_deref().unwrap_or("/next");
                    set_pointer(
                        &mut body,
                        next,
                        Value::String(encode_token(from + size, "")),
                    );
                }
                reply = Reply::json(200, body);
            }
            PaginationKind::LinkHeader => {
                let from = start.unwrap_or(0);
                reply = Reply::json(200, wrap(&paging.items, slice(from)));
                let query = encode_query(filter_params.iter().filter(|(k, _)| {
                    *k != paging.param && Some(k.as_str()) != paging.size_param.as_deref()
                }));
                let page_link = |offset: usize, rel: &str| {
                    let mut set = vec![(paging.param.as_str(), encode_token(offset, &query))];
                    if let Some(sp) = paging.size_param.as_deref() {
                        set.insert(0, (sp, size.to_string()));
                    }
                    let url = url_with(request.origin, request.path, &[], &set);
                    format!("<{url}>; rel=\"{rel}\"")
                };
                let mut links = Vec::new();
                if from > 0 {
                    links.push(page_link(from.saturating_sub(size), "previous"));
                }
                if from + size < total {
                    links.push(page_link(from + size, "next"));
                }
                if !links.is_empty() {
                    reply = reply.with_header("Link", links.join(", "));
                }
            }
        }
        reply.with_header("X-Total-Count", total.to_string())
    }

    /// The query dialect, recognised from the profile's shape as the runtime client does.
    fn dialect(&self) -> Dialect {
        let pagination = self.profile.pagination.as_ref();
        let param = pagination.and_then(|p| p.param.as_deref()).unwrap_or("");
        let size = pagination
            .and_then(|p| p.size_param.as_deref())
            .unwrap_or("");
        let dollar_since = self
            .profile
            .entities
            .values()
            .any(|e| e.changed_since.as_deref().is_some_and(|c| c.contains('$')));
        if param == "skippages" || dollar_since {
            Dialect::Economic
        } else if param == "skip" && size == "top" {
            Dialect::ODataPlain
        } else {
            Dialect::Plain
        }
    }

    // ----- GraphQL -------------------------------------------------------------------------

    /// Answers a GraphQL query for the `graphql:` entities: a list `root(first:, after:)` as a
    /// connection with cursor paging over the stored records, or `node(id:)`. Like a GraphQL
    /// server, problems with the query are answered 200 with `errors`. The whole stored
    /// record is answered, whatever the query selects.
    fn graphql(&self, body: &Value) -> Reply {
        let Some(call) = body
            .get("query")
            .and_then(Value::as_str)
            .and_then(scan_query)
        else {
            return graphql_error("the body has no query with a root field");
        };
        let variables = body.get("variables").cloned().unwrap_or(Value::Null);
        let arg = |name: &str| {
            call.args
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| argument(v, &variables))
                .unwrap_or(Value::Null)
        };
        if call.root == "node" {
            return self.graphql_node(&arg("id"), call.fragment.as_deref());
        }
        let path = format!("graphql:{}", call.root);
        let Some((name, entity)) = self
            .profile
            .entities
            .iter()
            .find(|(_, e)| e.path.as_deref() == Some(path.as_str()))
        else {
            return graphql_error(&format!(
                "Field '{}' doesn't exist on type 'QueryRoot'",
                call.root
            ));
        };
        if !Self::allows(entity, &[Operation::List]) {
            return graphql_error(&format!("`{name}` cannot be listed"));
        }
        let first = match arg("first").as_u64() {
            Some(n @ 1..=GRAPHQL_MAX_FIRST) => n as usize,
            _ => return graphql_error("`first` must be a number from 1 to 250"),
        };
        let from = match arg("after") {
            Value::Null => 0,
            Value::String(cursor) => match decode_token(&cursor) {
                Some((offset, _)) => offset,
                None => return graphql_error(&format!("invalid cursor `{cursor}`")),
            },
            other => return graphql_error(&format!("invalid cursor {other}")),
        };
        let rows = self.records(name);
        let edges: Vec<Value> = rows
            .iter()
            .enumerate()
            .skip(from)
            .take(first)
            .map(|(i, row)| {
                json!({
                    "cursor": encode_token(i + 1, ""),
                    "node": graphql_shape(&entity.fields, row),
                })
            })
            .collect();
        let end = from + edges.len();
        let end_cursor = edges.last().map(|e| e["cursor"].clone());
        Reply::json(
            200,
            json!({ "data": { call.root: {
                "edges": edges,
                "pageInfo": { "hasNextPage": end < rows.len(), "endCursor": end_cursor },
            }}}),
        )
    }

    /// `node(id:)`: the record of the fragment's type with that id; `{}` when the id is a
    /// record of another type (the fragment selects nothing), `null` when there is none.
    fn graphql_node(&self, id: &Value, type_name: Option<&str>) -> Reply {
        let Some(id) = id_string(id) else {
            return graphql_error("`node` needs an `id`");
        };
        let mut node = Value::Null;
        for (name, entity) in &self.profile.entities {
            let graphql = entity
                .path
                .as_deref()
                .is_some_and(|p| p.starts_with("graphql:"));
            if !graphql {
                continue;
            }
            let found = self
                .records(name)
                .into_iter()
                .find(|r| id_string(&r[&entity.id]).as_deref() == Some(id.as_str()));
            match found {
                Some(record) if type_name == Some(name.as_str()) => {
                    if !Self::allows(entity, &[Operation::Get]) {
                        return graphql_error(&format!("`{name}` cannot be read by id"));
                    }
                    node = graphql_shape(&entity.fields, &record);
                    break;
                }
                Some(_) => node = json!({}),
                None => {}
            }
        }
        Reply::json(200, json!({ "data": { "node": node } }))
    }

    // ----- direct access for tests ---------------------------------------------------------

    pub(super) fn records(&self, name: &str) -> Vec<Value> {
        self.checked(name);
        self.collections
            .get(&self.key_of(name))
            .map(|c| c.rows.iter().map(|r| r.value.clone()).collect())
            .unwrap_or_default()
    }

    pub(super) fn seed(&mut self, name: &str, records: Vec<Value>) {
        let profile = self.checked(name);
        let entity = &profile.entities[name];
        let key = self.key_of(name);
        let collection = self.collections.entry(key).or_default();
        for record in records {
            let Value::Object(mut record) = record else {
                panic!("seed records must be JSON objects, got {record}");
            };
            let now = Utc::now();
            let given = entity
                .updated_at
                .as_deref()
                .and_then(|f| record.get(f))
                .and_then(Value::as_str)
                .and_then(parse_time);
            if let Err(reply) = assign(entity, collection, &mut record, true, now) {
                panic!("cannot seed {name}: {:?}", reply.body);
            }
            let mut value = Value::Object(record);
            let updated = match given {
                Some(t) => t,
                None => {
                    touch(entity, &mut value, now);
                    now
                }
            };
            collection.rows.push(Row {
                value,
                scope: Scope::new(),
                updated,
            });
        }
    }

    /// Changes a record as if someone edited it in the system itself (not counted as a write).
    pub(super) fn modify(&mut self, name: &str, id: &str, patch: &Value) -> bool {
        let profile = self.checked(name);
        let entity = &profile.entities[name];
        let key = self.key_of(name);
        let Some(i) = self.find(&key, entity, &Scope::new(), id) else {
            return false;
        };
        let row = &mut self.collections.get_mut(&key).expect("found").rows[i];
        if let (Value::Object(target), Some(patch)) = (&mut row.value, patch.as_object()) {
            for (k, v) in patch {
                target.insert(k.clone(), v.clone());
            }
        }
        let now = Utc::now();
        touch(entity, &mut row.value, now);
        row.updated = now;
        true
    }

    /// Deletes a record as a person in the system would; false when there is no such record.
    pub(super) fn remove(&mut self, name: &str, id: &str) -> bool {
        let profile = self.checked(name);
        let entity = &profile.entities[name];
        let key = self.key_of(name);
        let Some(i) = self.find(&key, entity, &Scope::new(), id) else {
            return false;
        };
        self.collections
            .get_mut(&key)
            .expect("found")
            .rows
            .remove(i);
        true
    }
}

// ----- pagination settings ---------------------------------------------------------------------

/// The profile's pagination with defaults filled in.
#[derive(Debug, Clone)]
struct Paging {
    kind: PaginationKind,
    param: String,
    size_param: Option<String>,
    max_size: Option<usize>,
    items: String,
    next: Option<String>,
    /// First page number, as the runtime client numbers pages: the system's `first_page`
    /// (see [`Rest::set_first_page`]), else the profile option `first_page`'s default, else 0
    /// for e-conomic's `skippages` and 1 elsewhere.
    page_base: i64,
}

impl Paging {
    fn of(profile: &Profile, route: &EntityRoute, first_page: Option<i64>) -> Paging {
        let p = profile.pagination.as_ref();
        let kind = p.map_or(PaginationKind::None, |p| p.kind);
        let default_param = match kind {
            PaginationKind::Page => "page",
            PaginationKind::Offset => "offset",
            PaginationKind::Cursor => "cursor",
            PaginationKind::LinkHeader => "page_info",
            PaginationKind::None => "",
        };
        let param = p
            .and_then(|p| p.param.clone())
            .unwrap_or_else(|| default_param.to_string());
        let resource = route
            .template
            .iter()
            .rev()
            .find_map(|s| match s {
                Seg::Lit(l) => Some(l.trim_end_matches(".json").to_string()),
                Seg::Var(_) => None,
            })
            .unwrap_or_default();
        let items = p
            .and_then(|p| p.items.clone())
            .unwrap_or_default()
            .replace("{resource}", &resource);
        let page_base = first_page.unwrap_or_else(|| {
            let option = profile
                .options
                .get("first_page")
                .and_then(|o| o.default.as_ref())
                .and_then(serde_yaml_ng::Value::as_i64);
            option.unwrap_or(if param == "skippages" { 0 } else { 1 })
        });
        Paging {
            kind,
            param,
            size_param: p.and_then(|p| p.size_param.clone()),
            max_size: p.and_then(|p| p.max_size).map(|n| n as usize),
            items,
            next: p.and_then(|p| p.next.clone()),
            page_base,
        }
    }
}

// ----- record helpers --------------------------------------------------------------------------

fn has_version(entity: &Entity) -> bool {
    entity
        .fields
        .get("version")
        .is_some_and(|f| f.read_only && f.r#type == FieldType::Integer)
}

/// Fields the system numbers itself: read-only integer or text fields named like numbers.
fn number_like(name: &str, field: &Field) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(field.r#type, FieldType::Integer | FieldType::Text)
        && (lower.contains("number") || lower.ends_with("no") || lower == "number")
}

/// Assigns the id, system numbers, `version` and `updated_at` of a new record.
fn assign(
    entity: &Entity,
    collection: &mut Collection,
    record: &mut Map<String, Value>,
    seeding: bool,
    now: DateTime<Utc>,
) -> Result<(), Reply> {
    let id_field = entity.fields.get(&entity.id);
    let id_read_only = id_field.is_none_or(|f| f.read_only);
    if !seeding && id_read_only {
        record.remove(&entity.id);
    }
    match record.get(&entity.id).filter(|v| !v.is_null()) {
        None => {
            let n = next_number(collection, &entity.id);
            let text = id_field.is_some_and(|f| f.r#type == FieldType::Text);
            record.insert(
                entity.id.clone(),
                if text { json!(n.to_string()) } else { json!(n) },
            );
        }
        Some(given) => {
            let given = id_string(given).unwrap_or_default();
            if collection
                .rows
                .iter()
                .any(|r| id_string(&r.value[&entity.id]).as_deref() == Some(given.as_str()))
            {
                return Err(Reply::error(
                    400,
                    format!("`{}` {given} is already in use", entity.id),
                    Some(&entity.id),
                ));
            }
        }
    }
    for (name, field) in &entity.fields {
        if *name == entity.id || !number_like(name, field) {
            continue;
        }
        let absent = record
            .get(name)
            .is_none_or(|v| v.is_null() || (field.unique && *v == json!(0)));
        let system_numbered =
            field.read_only || (field.unique && field.r#type == FieldType::Integer);
        if absent && system_numbered {
            let n = next_number(collection, name);
            let value = if field.r#type == FieldType::Text {
                json!(n.to_string())
            } else {
                json!(n)
            };
            record.insert(name.clone(), value);
        }
    }
    if has_version(entity) && (!seeding || !record.contains_key("version")) {
        record.insert("version".into(), json!(0));
    }
    if let Some(field) = &entity.updated_at {
        if !seeding || !record.contains_key(field) {
            record.insert(field.clone(), json!(format_time(now)));
        }
    }
    Ok(())
}

/// The next number of a field: one more than the largest seen or assigned.
fn next_number(collection: &mut Collection, field: &str) -> i64 {
    let seen = collection
        .rows
        .iter()
        .filter_map(|r| match &r.value[field] {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let counter = collection.counters.entry(field.to_string()).or_insert(0);
    *counter = (*counter).max(seen) + 1;
    *counter
}

fn touch(entity: &Entity, value: &mut Value, now: DateTime<Utc>) {
    if let (Some(field), Value::Object(map)) = (&entity.updated_at, value) {
        map.insert(field.clone(), json!(format_time(now)));
    }
}

/// Shallow-merges an update into a record; read-only fields and the id are kept. True when
/// something changed.
fn merge(entity: &Entity, record: &mut Value, patch: &Map<String, Value>) -> bool {
    let Value::Object(target) = record else {
        return false;
    };
    let mut changed = false;
    for (k, v) in patch {
        if *k == entity.id || entity.fields.get(k).is_some_and(|f| f.read_only) {
            continue;
        }
        if target.get(k) != Some(v) {
            target.insert(k.clone(), v.clone());
            changed = true;
        }
    }
    changed
}

fn in_scope(row: &Row, scope: &Scope) -> bool {
    scope.iter().all(|(k, v)| match row.scope.get(k) {
        Some(own) => own == v,
        None => get_path(&row.value, k).is_none_or(|field| value_matches(field, v)),
    })
}

fn passes(entity: &Entity, row: &Row, filter: &Filter) -> bool {
    match filter {
        Filter::Since(t) => row.updated >= *t,
        Filter::Between(from, to) => row.updated >= *from && row.updated <= *to,
        Filter::Cmp(path, op, q) => {
            let server_time = entity.updated_at.as_deref() == Some(path.as_str())
                || entity
                    .changed_since
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(path));
            if server_time {
                if let Some(t) = parse_time(q) {
                    let ord = row.updated.cmp(&t);
                    return compare_op(op, Some(ord));
                }
            }
            let Some(value) = get_path(&row.value, path) else {
                return false;
            };
            match op {
                Op::Eq => value_matches(value, q),
                Op::Ne => !value_matches(value, q),
                Op::In(list) => list.iter().any(|q| value_matches(value, q)),
                Op::Like => like(&scalar_text(value).unwrap_or_default(), q),
                _ => compare_op(op, compare(value, q)),
            }
        }
    }
}

fn compare_op(op: &Op, ord: Option<Ordering>) -> bool {
    let Some(ord) = ord else { return false };
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Gt => ord == Ordering::Greater,
        Op::Ge => ord != Ordering::Less,
        Op::Lt => ord == Ordering::Less,
        Op::Le => ord != Ordering::Greater,
        Op::Like | Op::In(_) => false,
    }
}

/// Exact match of a record value with a query value: scalars by their text (numbers also by
/// value), links (`{id: 7}`, `{customerNumber: 7}`) by their single key, lists by any item.
fn value_matches(value: &Value, q: &str) -> bool {
    match value {
        Value::String(s) => s == q,
        Value::Number(n) => {
            n.to_string() == q
                || matches!((decimal(&n.to_string()), decimal(q)), (Some(a), Some(b)) if a == b)
        }
        Value::Bool(b) => b.to_string() == q,
        Value::Object(map) if map.len() == 1 => value_matches(map.values().next().expect("one"), q),
        Value::Object(map) => map.get("id").is_some_and(|id| value_matches(id, q)),
        Value::Array(items) => items.iter().any(|i| value_matches(i, q)),
        Value::Null => false,
    }
}

fn compare(value: &Value, q: &str) -> Option<Ordering> {
    let text = scalar_text(value)?;
    if let (Some(a), Some(b)) = (parse_time(&text), parse_time(q)) {
        return Some(a.cmp(&b));
    }
    if let (Some(a), Some(b)) = (decimal(&text), decimal(q)) {
        return Some(a.cmp(&b));
    }
    Some(text.as_str().cmp(q))
}

fn like(text: &str, pattern: &str) -> bool {
    let text = text.to_lowercase();
    let pattern = pattern.to_lowercase().replace('%', "*");
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return text == pattern;
    }
    let mut rest = text.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(map) if map.len() == 1 => scalar_text(map.values().next()?),
        _ => None,
    }
}

fn id_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn scalar(text: &str) -> Value {
    text.parse::<i64>()
        .map_or_else(|_| json!(text), |n| json!(n))
}

/// A (dotted) field of a record; a key differing only in case is accepted (OData names).
fn get_path<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, seg| {
        let map = v.as_object()?;
        map.get(seg).or_else(|| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(seg))
                .map(|(_, v)| v)
        })
    })
}

/// Whether a (dotted) path names a field of the profile.
fn declared(fields: &Fields, path: &str) -> bool {
    let mut fields = fields;
    let mut segs = path.split('.').peekable();
    while let Some(seg) = segs.next() {
        let Some(field) = fields.get(seg).or_else(|| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(seg))
                .map(|(_, f)| f)
        }) else {
            return false;
        };
        if segs.peek().is_none() {
            return true;
        }
        fields = &field.fields;
    }
    false
}

// ----- validation ------------------------------------------------------------------------------

/// Checks a create or update body against the profile's fields: `(message, field path)` on the
/// first problem. Required fields are checked on create, and inside records and list items
/// whenever those are given.
fn validate(
    fields: &Fields,
    object: &Map<String, Value>,
    prefix: &str,
    check_required: bool,
) -> Result<(), (String, String)> {
    for (name, field) in fields {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match object.get(name) {
            None | Some(Value::Null) => {
                if check_required && field.required && !field.read_only {
                    return Err((format!("`{path}` is required"), path));
                }
            }
            Some(value) if !field.read_only => check_value(field, value, &path)?,
            Some(_) => {}
        }
    }
    Ok(())
}

fn check_value(field: &Field, value: &Value, path: &str) -> Result<(), (String, String)> {
    let fail = |what: &str| Err((format!("`{path}` {what}, got {value}"), path.to_string()));
    match field.r#type {
        FieldType::Text => {
            if let (Some(max), Value::String(s)) = (field.max_length, value) {
                if s.chars().count() > max as usize {
                    return fail(&format!("is longer than {max} characters"));
                }
            }
        }
        FieldType::Enum => {
            if let Value::String(s) = value {
                if !field.values.is_empty() && !field.values.contains(s) {
                    return fail(&format!("must be one of {}", field.values.join(", ")));
                }
            }
        }
        FieldType::Record if !field.fields.is_empty() => match value {
            Value::Object(map) => validate(&field.fields, map, path, true)?,
            _ => return fail("must be an object"),
        },
        FieldType::List => {
            let Value::Array(items) = value else {
                return fail("must be a list");
            };
            for (i, item) in items.iter().enumerate() {
                let item_path = format!("{path}[{i}]");
                if !field.fields.is_empty() {
                    match item {
                        Value::Object(map) => validate(&field.fields, map, &item_path, true)?,
                        _ => {
                            return Err((
                                format!("`{item_path}` must be an object, got {item}"),
                                item_path,
                            ))
                        }
                    }
                } else if let Some(t) = field.item {
                    check_scalar(t, item, &item_path)?;
                }
            }
        }
        t => check_scalar(t, value, path)?,
    }
    Ok(())
}

fn check_scalar(t: FieldType, value: &Value, path: &str) -> Result<(), (String, String)> {
    let ok = match t {
        FieldType::Integer => match value {
            Value::Number(n) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            Value::String(s) => s.trim().parse::<i64>().is_ok(),
            _ => false,
        },
        FieldType::Decimal | FieldType::Money | FieldType::Percent => match value {
            Value::Number(_) => true,
            Value::String(s) => decimal(s).is_some(),
            _ => false,
        },
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        let what = if t == FieldType::Integer {
            "a whole number"
        } else {
            "a number"
        };
        Err((
            format!("`{path}` must be {what}, got {value}"),
            path.to_string(),
        ))
    }
}

fn decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    text.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(text).ok())
}

// ----- filters in query strings ----------------------------------------------------------------

/// e-conomic: `filter=name$eq:Acme$and:lastUpdated$gte:2026-01-01T00:00:00Z`.
fn economic_filter(text: &str) -> Result<Vec<Filter>, Reply> {
    let bad = || Reply::error(400, format!("invalid filter `{text}`"), Some("filter"));
    if text.contains("$or:") {
        return Err(Reply::error(
            400,
            "the fake does not support $or",
            Some("filter"),
        ));
    }
    text.split("$and:")
        .map(|clause| {
            let (field, rest) = clause.split_once('$').ok_or_else(bad)?;
            let (op, value) = rest.split_once(':').ok_or_else(bad)?;
            let op = match op {
                "eq" => Op::Eq,
                "ne" => Op::Ne,
                "gt" => Op::Gt,
                "gte" => Op::Ge,
                "lt" => Op::Lt,
                "lte" => Op::Le,
                "like" => Op::Like,
                "in" => Op::In(
                    value
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .split(',')
                        .map(str::to_string)
                        .collect(),
                ),
                _ => return Err(bad()),
            };
            Ok(Filter::Cmp(field.to_string(), op, value.to_string()))
        })
        .collect()
}

/// OData: `$filter=updatedDate ge '2026-01-01' and name eq 'Acme'`; SuperOffice's `after` and
/// `before` date operators too.
fn odata_filter(text: &str) -> Result<Vec<Filter>, Reply> {
    let bad = || Reply::error(400, format!("invalid $filter `{text}`"), Some("$filter"));
    split_outside_quotes(text, " and ")
        .into_iter()
        .map(|clause| {
            let mut parts = clause.trim().splitn(3, ' ');
            let (Some(field), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(bad());
            };
            let op = match op.to_ascii_lowercase().as_str() {
                "eq" => Op::Eq,
                "ne" => Op::Ne,
                "gt" => Op::Gt,
                "ge" => Op::Ge,
                "lt" => Op::Lt,
                "le" => Op::Le,
                "after" => Op::Gt,
                "before" => Op::Lt,
                _ => return Err(bad()),
            };
            let value = value.trim();
            let value = value.strip_prefix("datetime").unwrap_or(value);
            let value = match value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
                Some(quoted) => quoted.replace("''", "'"),
                None => value.to_string(),
            };
            Ok(Filter::Cmp(field.to_string(), op, value))
        })
        .collect()
}

/// Splits at `separator` where it is not inside a single-quoted OData literal.
fn split_outside_quotes<'t>(text: &'t str, separator: &str) -> Vec<&'t str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    let mut i = 0;
    while i < text.len() {
        if text.as_bytes()[i] == b'\'' {
            quoted = !quoted;
        } else if !quoted && text.as_bytes()[i..].starts_with(separator.as_bytes()) {
            parts.push(&text[start..i]);
            i += separator.len();
            start = i;
            continue;
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

// ----- time ------------------------------------------------------------------------------------

pub(super) fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// RFC 3339, a naive date-time (UTC) or a date (midnight UTC).
pub(super) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

// ----- paths, pointers, query strings ----------------------------------------------------------

/// The path of a URL or URL template: `https://{host}/v2` → `/v2`, `{webapi_url}/api/v1` →
/// `/api/v1`.
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => rest[i..].trim_end_matches('/').to_string(),
        None => String::new(),
    }
}

/// An entity path without its query part and with a leading slash.
fn normalise(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    format!("/{}", path.trim_start_matches('/'))
}

fn template(path: &str) -> Vec<Seg> {
    path.split('?')
        .next()
        .unwrap_or(path)
        .split('/')
        .filter(|s| !s.is_empty())
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(var) => Seg::Var(var.to_string()),
                None => Seg::Lit(s.to_string()),
            },
        )
        .collect()
}

fn literals(template: &[Seg]) -> usize {
    template.iter().filter(|s| matches!(s, Seg::Lit(_))).count()
}

fn match_segs(template: &[Seg], segs: &[String]) -> Option<Scope> {
    if template.len() != segs.len() {
        return None;
    }
    let mut scope = Scope::new();
    for (t, s) in template.iter().zip(segs) {
        match t {
            Seg::Lit(l) if l == s => {}
            Seg::Lit(_) => return None,
            Seg::Var(v) => {
                scope.insert(v.clone(), s.clone());
            }
        }
    }
    Some(scope)
}

/// How many leading segments of `path` the template `prefix` covers.
fn prefix_len(prefix: &[Seg], path: &[Seg]) -> Option<usize> {
    if prefix.len() > path.len() {
        return None;
    }
    prefix
        .iter()
        .zip(path)
        .all(|(p, s)| match (p, s) {
            (Seg::Var(_), _) => true,
            (Seg::Lit(a), Seg::Lit(b)) => a == b,
            (Seg::Lit(_), Seg::Var(_)) => false,
        })
        .then_some(prefix.len())
}

fn wrap(pointer: &str, items: Vec<Value>) -> Value {
    let items = Value::Array(items);
    if pointer.is_empty() {
        return items;
    }
    let mut body = json!({});
    set_pointer(&mut body, pointer, items);
    body
}

/// Sets the value at a JSON pointer, making objects on the way.
fn set_pointer(root: &mut Value, pointer: &str, value: Value) {
    let segs: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let Some((last, parents)) = segs.split_last() else {
        *root = value;
        return;
    };
    let mut at = root;
    for seg in parents {
        if !at.is_object() {
            *at = json!({});
        }
        at = at
            .as_object_mut()
            .expect("object")
            .entry(seg.clone())
            .or_insert_with(|| json!({}));
    }
    if !at.is_object() {
        *at = json!({});
    }
    at.as_object_mut()
        .expect("object")
        .insert(last.clone(), value);
}

fn param<'p>(params: &'p [(String, String)], name: &str) -> Option<&'p str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `origin + path + ?query`, with the `set` parameters replaced or added.
fn url_with(
    origin: &str,
    path: &str,
    params: &[(String, String)],
    set: &[(&str, String)],
) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k))
        .cloned()
        .collect();
    pairs.extend(set.iter().map(|(k, v)| (k.to_string(), v.clone())));
    let query = encode_query(pairs.iter());
    if query.is_empty() {
        format!("{origin}{path}")
    } else {
        format!("{origin}{path}?{query}")
    }
}

fn encode_query<'a>(pairs: impl Iterator<Item = &'a (String, String)>) -> String {
    pairs
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Decodes `a=1&b=x%20y` (also `+` as space).
pub(super) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

pub(super) fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An opaque page token holding an offset and the list's filters (hex, so it needs no escaping).
fn encode_token(offset: usize, query: &str) -> String {
    format!("{offset}\n{query}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_token(token: &str) -> Option<(usize, String)> {
    if token.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (offset, query) = text.split_once('\n')?;
    Some((offset.parse().ok()?, query.to_string()))
}

// ----- GraphQL ---------------------------------------------------------------------------------

/// The largest `first` Shopify accepts.
const GRAPHQL_MAX_FIRST: u64 = 250;

/// What the fake reads of a query: its first root field, that field's arguments (as written:
/// `$name`, a quoted string, a number or `null`) and, for `node`, the inline fragment's type.
#[derive(Debug, PartialEq)]
struct GraphqlCall {
    root: String,
    args: Vec<(String, String)>,
    fragment: Option<String>,
}

/// A tiny scanner, enough for the queries a connector sends: `query Name($a: T) { root(a: $a)
/// { … } }` or `{ root { … } }`.
fn scan_query(query: &str) -> Option<GraphqlCall> {
    let identifier = |text: &str| -> String {
        text.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let body = query[query.find('{')? + 1..].trim_start();
    let root = identifier(body);
    if root.is_empty() {
        return None;
    }
    let rest = body[root.len()..].trim_start();
    let mut args = Vec::new();
    if let Some(inner) = rest.strip_prefix('(') {
        let close = inner.find(')')?;
        for arg in split_outside_quotes(&inner[..close], ",") {
            let (name, value) = arg.split_once(':')?;
            args.push((name.trim().to_string(), value.trim().to_string()));
        }
    }
    let fragment = rest
        .find("... on ")
        .map(|at| identifier(&rest[at + "... on ".len()..]))
        .filter(|name| !name.is_empty());
    Some(GraphqlCall {
        root,
        args,
        fragment,
    })
}

/// An argument's value: a variable from `variables`, else the literal.
fn argument(text: &str, variables: &Value) -> Value {
    if let Some(name) = text.strip_prefix('$') {
        return variables.get(name).cloned().unwrap_or(Value::Null);
    }
    if let Some(quoted) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        return Value::String(quoted.to_string());
    }
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// A stored record in the shape a GraphQL server answers it: references as `{id}` objects,
/// `connection` lists as `{edges: [{node}], pageInfo}` (all items in one page).
fn graphql_shape(fields: &Fields, record: &Value) -> Value {
    let Value::Object(map) = record else {
        return record.clone();
    };
    let shaped = map.iter().map(|(name, value)| {
        let value = match fields.get(name) {
            Some(field) => graphql_field(field, value),
            None => value.clone(),
        };
        (name.clone(), value)
    });
    Value::Object(shaped.collect())
}

fn graphql_field(field: &Field, value: &Value) -> Value {
    let reference = |v: &Value| match v {
        Value::Null | Value::Object(_) => v.clone(),
        id => json!({ "id": id }),
    };
    match (field.r#type, value) {
        (FieldType::Reference, _) => reference(value),
        (FieldType::Record, _) => graphql_shape(&field.fields, value),
        (FieldType::List, Value::Array(items)) => {
            let items = items.iter().map(|item| match field.item {
                Some(FieldType::Reference) => reference(item),
                _ => graphql_shape(&field.fields, item),
            });
            if field.connection {
                let edges: Vec<Value> = items.map(|node| json!({ "node": node })).collect();
                json!({ "edges": edges, "pageInfo": { "hasNextPage": false } })
            } else {
                Value::Array(items.collect())
            }
        }
        _ => value.clone(),
    }
}

/// A GraphQL error answer (200, as GraphQL servers answer a bad query).
fn graphql_error(message: &str) -> Reply {
    Reply::json(200, json!({ "errors": [{ "message": message }] }))
}
