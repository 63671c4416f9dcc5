//! The connector client: runs list/get/search/create/update calls against one system, as its
//! profile describes it. Transports: `rest_json` (module `rest_json`), Tryton `json_rpc`
//! (`json_rpc`), read-only `file` sources (`file`), and a JSON-document sink (`sink`) that
//! stands in for any system in demos and local runs.
//!
//! Every HTTP request goes through one executor (`http`): a token bucket and a bound on
//! requests in flight (`limit`), a timeout (default 30 s), retries of transient failures with
//! backoff and the server's `Retry-After` ([`retry`]), and authentication with token renewal
//! (`auth`). Credentials ([`credential`]) are `env:`/`file:` references resolved when the
//! client is built; `Debug` output and log lines never show their values. Pagination
//! conventions are in `paginate`.
//!
//! ```no_run
//! # use std::{path::Path, sync::Arc};
//! # use ledgerlink::connector::{client::Client, Profile};
//! # use ledgerlink::project::SystemConfig;
//! # async fn demo(profile: Arc<Profile>, config: &SystemConfig) -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new("erp", profile, config, Path::new("."), None)?;
//! for customer in client.list("Customer", None).await? {
//!     println!("{:?}", client.id_of("Customer", &customer));
//! }
//! # Ok(()) }
//! ```

mod auth;
pub mod credential;
pub mod error;
mod file;
mod graphql;
mod http;
mod json_rpc;
mod limit;
mod paginate;
mod rest_json;
pub mod retry;
mod sink;

use std::{
    collections::HashMap,
    fmt,
    path::{Path, PathBuf},
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use indexmap::IndexMap;
use rust_decimal::prelude::ToPrimitive;
use serde_json::Value;

use crate::{
    connector::profile::{Entity, Profile, Transport},
    project::SystemConfig,
};

pub use credential::{Credentials, Secret};
pub use error::{ConnectorError, ConnectorErrorKind};
pub use retry::RetryPolicy;

use auth::{Authenticator, LoginSettings};
use http::{Http, Outcome, Req, Resp};
use limit::Limiter;

/// The output folders of a file system: each entity it can create is written into the
/// profile's `output` folder, or else the folder its `path` option names (relative to the
/// project).
fn file_outputs(
    profile: &Profile,
    options: &Options,
    project_dir: &Path,
) -> HashMap<String, sink::Sink> {
    profile
        .entities
        .iter()
        .filter(|(_, e)| {
            e.operations
                .contains(&crate::connector::profile::Operation::Create)
        })
        .filter_map(|(name, e)| {
            let folder = options
                .get("output")
                .or_else(|| options.get(e.path.as_deref()?))?;
            Some((name.clone(), sink::Sink::flat(project_dir.join(folder))))
        })
        .collect()
}

/// The request timeout of a system: its `timeout:` in ledgerlink.yaml, else the default.
fn request_timeout(alias: &str, config: &SystemConfig) -> Result<Duration, ConnectorError> {
    let Some(text) = &config.timeout else {
        return Ok(DEFAULT_TIMEOUT);
    };
    match crate::eval::Value::parse_duration(text.trim()) {
        Ok(timeout) if !timeout.is_zero() => Ok(timeout),
        _ => Err(ConnectorError::config(format!(
            "{alias}: `timeout: {text}` is not a duration such as `30s` or `500ms`"
        ))),
    }
}

/// Request timeout when none is set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Counters of one client since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent (logins and retries included).
    pub calls: u64,
    /// Answers with status 429.
    pub rate_limited: u64,
    /// Requests sent again after a transient failure.
    pub retries: u64,
}

/// The options of a system: the project's values over the profile's defaults, as text.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    values: IndexMap<String, String>,
}

impl Options {
    fn new(profile: &Profile, config: &SystemConfig) -> Self {
        let mut values = IndexMap::new();
        for (name, spec) in &profile.options {
            if let Some(text) = spec.default.as_ref().and_then(yaml_text) {
                values.insert(name.clone(), text);
            }
        }
        for (name, value) in &config.options {
            match yaml_text(value) {
                Some(text) => values.insert(name.clone(), text),
                None => values.shift_remove(name),
            };
        }
        Options { values }
    }

    /// An option's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Fills `{name}` placeholders from the options and `extra`; `what` names the template in
    /// the error for a placeholder that has no value.
    pub fn fill(
        &self,
        template: &str,
        what: &str,
        extra: &[(&str, &str)],
    ) -> Result<String, ConnectorError> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            let value = extra
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| *v)
                .or_else(|| self.get(name))
                .ok_or_else(|| {
                    ConnectorError::config(format!(
                        "{what} needs `{{{name}}}`, but the system has no option `{name}`"
                    ))
                })?;
            rest = &after[end + 1..];
            // `{url}/…` with a url option ending in `/`: do not double the slash.
            let value = if rest.starts_with('/') {
                value.trim_end_matches('/')
            } else {
                value
            };
            out.push_str(value);
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn yaml_text(value: &serde_yaml_ng::Value) -> Option<String> {
    match value {
        serde_yaml_ng::Value::Null => None,
        serde_yaml_ng::Value::String(s) => Some(s.clone()),
        serde_yaml_ng::Value::Bool(b) => Some(b.to_string()),
        serde_yaml_ng::Value::Number(n) => Some(n.to_string()),
        other => serde_yaml_ng::to_string(other)
            .ok()
            .map(|s| s.trim().to_string()),
    }
}

/// Where a client's calls go.
#[derive(Debug)]
pub(crate) enum Backend {
    /// REST with JSON bodies at this base URL.
    Rest { base: String },
    /// Tryton JSON-RPC.
    JsonRpc(json_rpc::RpcState),
    /// Files: records are read from the files an option names; documents of the entities
    /// that can be created are written as JSON files into the folder their option names.
    File(HashMap<String, sink::Sink>),
    /// JSON documents in a folder.
    Sink(sink::Sink),
}

/// A client of one system (one `systems.<alias>` of a project). Cheap to share behind an
/// `Arc`; every method takes `&self` and may run concurrently with others.
pub struct Client {
    alias: String,
    profile: Arc<Profile>,
    options: Options,
    credentials: Credentials,
    project_dir: PathBuf,
    backend: Backend,
    http: Http,
    auth: Authenticator,
    max_pages: u32,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("alias", &self.alias)
            .field("connector", &self.profile.name)
            .field("backend", &self.backend)
            .field("options", &self.options.values)
            .field("credentials", &self.credentials)
            .field("auth", &self.auth.kind())
            .field("retry", &self.http.retry)
            .field("timeout", &self.http.timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the client of system `alias`: fills the base URL from the options, resolves
    /// the credentials (a missing variable or file is a `Config` error that names it), and
    /// sets up the throttle. With `sink`, every call reads and writes JSON documents under
    /// `sink/<alias>/<Entity>/<id>.json` instead of the API, and no credentials are needed.
    pub fn new(
        alias: &str,
        profile: Arc<Profile>,
        config: &SystemConfig,
        project_dir: &Path,
        sink: Option<&Path>,
    ) -> Result<Client, ConnectorError> {
        let options = Options::new(&profile, config);
        let limiter = match (&profile.rate_limit, sink, profile.transport) {
            (Some(limit), None, Transport::RestJson | Transport::JsonRpc) => Limiter::new(
                limit.requests_per_second.to_f64(),
                limit.burst,
                limit.concurrency,
            ),
            (None, None, Transport::RestJson | Transport::JsonRpc) => {
                Limiter::new(None, None, None)
            }
            _ => Limiter::unlimited(),
        };
        let http = Http::new(alias, limiter, request_timeout(alias, config)?)?;
        let mut credentials = Credentials::default();
        let mut auth = Authenticator::none();
        let backend = if let Some(dir) = sink {
            Backend::Sink(sink::Sink::new(project_dir.join(dir).join(alias)))
        } else {
            match profile.transport {
                Transport::File => Backend::File(file_outputs(&profile, &options, project_dir)),
                Transport::RestJson => {
                    let base = base_url(alias, &profile, &options)?;
                    credentials = Credentials::resolve(alias, &config.auth, project_dir)?;
                    let url = profile
                        .auth
                        .token_url
                        .as_deref()
                        .map(|t| options.fill(t, "`auth.token_url`", &[]))
                        .transpose()?;
                    let settings = LoginSettings {
                        url,
                        scope: options.get("scope").map(str::to_string),
                        language: String::new(),
                    };
                    auth = Authenticator::new(alias, &profile.auth, &credentials, settings)?;
                    Backend::Rest { base }
                }
                Transport::JsonRpc => {
                    let url = base_url(alias, &profile, &options)?;
                    credentials = Credentials::resolve(alias, &config.auth, project_dir)?;
                    let settings = LoginSettings {
                        url: Some(url.clone()),
                        scope: None,
                        language: options.get("language").unwrap_or("en").to_string(),
                    };
                    auth = Authenticator::new(alias, &profile.auth, &credentials, settings)?;
                    Backend::JsonRpc(json_rpc::RpcState::new(url))
                }
            }
        };
        Ok(Client {
            alias: alias.to_string(),
            profile,
            options,
            credentials,
            project_dir: project_dir.to_path_buf(),
            backend,
            http,
            auth,
            max_pages: paginate::DEFAULT_MAX_PAGES,
        })
    }

    /// The same client with another retry policy (tests use short waits).
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.http.retry = policy;
        self
    }

    /// The same client with another request timeout (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.http.timeout = timeout;
        self
    }

    /// The same client with another cap on the pages of one list (default 100 000).
    pub fn with_max_pages(mut self, pages: u32) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    /// The system alias.
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// The connector profile.
    pub fn profile(&self) -> &Arc<Profile> {
        &self.profile
    }

    /// Every record of an entity (all pages); with `since`, only those changed since then
    /// where the entity has a `changed_since` filter (otherwise all of them). Collects
    /// [`Client::list_pages`].
    pub async fn list(
        &self,
        entity: &str,
        since: Option<&str>,
    ) -> Result<Vec<Value>, ConnectorError> {
        let mut pages = self.list_pages(entity, since).await?;
        let mut out = Vec::new();
        while let Some(page) = pages.next_page().await? {
            out.extend(page);
        }
        Ok(out)
    }

    /// The records of an entity a page at a time, so a list of any length is read in bounded
    /// memory: REST and JSON-RPC systems by the profile's pagination (one request per page),
    /// NDJSON files 1 000 lines at a time, other files parsed whole and handed out
    /// in pages of that size, a sink in one page. `since` as for [`Client::list`].
    ///
    /// ```no_run
    /// # async fn demo(client: &ledgerlink::connector::client::Client) -> Result<(), ledgerlink::connector::client::ConnectorError> {
    /// let mut pages = client.list_pages("Customer", None).await?;
    /// while let Some(page) = pages.next_page().await? {
    ///     println!("{} customers", page.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_pages(
        &self,
        entity: &str,
        since: Option<&str>,
    ) -> Result<Pages<'_>, ConnectorError> {
        let spec = self.entity(entity)?;
        let listing = match &self.backend {
            Backend::Sink(sink) => Listing::Whole(Some(sink.list(entity).await?)),
            Backend::File(_) => Listing::File(file::Listing::new(self, entity, spec)?),
            Backend::Rest { .. } => match graphql::root_field(spec) {
                Some(root) => Listing::Graphql(graphql::Listing::new(self, entity, spec, root)?),
                None => Listing::Rest(rest_json::list_pages(self, entity, spec, since)?),
            },
            Backend::JsonRpc(state) => {
                Listing::JsonRpc(json_rpc::list_pages(self, state, spec, since).await?)
            }
        };
        Ok(Pages {
            client: self,
            spec,
            listing,
        })
    }

    /// One record by id; `None` when it does not exist.
    pub async fn get(&self, entity: &str, id: &str) -> Result<Option<Value>, ConnectorError> {
        let spec = self.entity(entity)?;
        match &self.backend {
            Backend::Sink(sink) => sink.get(entity, id).await,
            Backend::File(_) => {
                let key = self.id_key(spec);
                let records = file::list(self, entity, spec).await?;
                Ok(records
                    .into_iter()
                    .find(|r| r.get(key).and_then(id_text).as_deref() == Some(id)))
            }
            Backend::Rest { .. } if graphql::root_field(spec).is_some() => {
                graphql::get(self, entity, spec, id).await
            }
            Backend::Rest { .. } => rest_json::get(self, entity, spec, id).await,
            Backend::JsonRpc(state) => json_rpc::get(self, state, spec, id).await,
        }
    }

    /// The records whose `field` equals `value`.
    pub async fn search(
        &self,
        entity: &str,
        field: &str,
        value: &Value,
    ) -> Result<Vec<Value>, ConnectorError> {
        let spec = self.entity(entity)?;
        match &self.backend {
            Backend::Sink(sink) => sink.search(entity, field, value).await,
            Backend::File(_) => {
                let records = file::list(self, entity, spec).await?;
                Ok(records
                    .into_iter()
                    .filter(|r| r.get(field).is_some_and(|v| loose_eq(v, value)))
                    .collect())
            }
            Backend::Rest { .. } => rest_json::search(self, entity, spec, field, value).await,
            Backend::JsonRpc(state) => json_rpc::search(self, state, spec, field, value).await,
        }
    }

    /// Creates a record and returns it as the system stored it, with its id. With an
    /// `idempotency_key` and an entity that declares `idempotency.header`, the key is sent in
    /// that header (the same on every retry) and the create may be retried safely; without
    /// one, a create that may have reached the server is not retried (`Transient`).
    pub async fn create(
        &self,
        entity: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Result<Value, ConnectorError> {
        let spec = self.entity(entity)?;
        match &self.backend {
            Backend::Sink(sink) => sink.create(entity, spec, body, idempotency_key).await,
            Backend::File(outputs) => match outputs.get(entity) {
                Some(folder) => folder.create(entity, spec, body, idempotency_key).await,
                None => Err(read_only(&self.alias)),
            },
            Backend::Rest { .. } => {
                rest_json::create(self, entity, spec, body, idempotency_key).await
            }
            Backend::JsonRpc(state) => json_rpc::create(self, state, spec, body).await,
        }
    }

    /// Updates a record and returns it as stored.
    pub async fn update(
        &self,
        entity: &str,
        id: &str,
        body: &Value,
    ) -> Result<Value, ConnectorError> {
        let spec = self.entity(entity)?;
        match &self.backend {
            Backend::Sink(sink) => sink.update(entity, spec, id, body).await,
            Backend::File(outputs) => match outputs.get(entity) {
                Some(folder) => folder.update(entity, spec, id, body).await,
                None => Err(read_only(&self.alias)),
            },
            Backend::Rest { .. } => rest_json::update(self, entity, spec, id, body).await,
            Backend::JsonRpc(state) => json_rpc::update(self, state, spec, id, body).await,
        }
    }

    /// The id of a record: the profile's `id` field (for file sources, the `id_column`
    /// option when set), as text.
    pub fn id_of(&self, entity: &str, record: &Value) -> Option<String> {
        let spec = self.profile.entities.get(entity)?;
        record.get(self.id_key(spec)).and_then(id_text)
    }

    /// Tests the connection and credentials with one cheap authenticated call; returns a
    /// human verdict.
    pub async fn check(&self) -> Result<String, ConnectorError> {
        match &self.backend {
            Backend::Sink(sink) => sink.check().await,
            Backend::File(_) => file::check(self).await,
            Backend::Rest { .. } => rest_json::check(self).await,
            Backend::JsonRpc(state) => json_rpc::check(self, state).await,
        }
    }

    /// Calls, 429 answers and retries so far.
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            calls: self.http.stats.calls.load(Ordering::Relaxed),
            rate_limited: self.http.stats.rate_limited.load(Ordering::Relaxed),
            retries: self.http.stats.retries.load(Ordering::Relaxed),
        }
    }

    fn entity(&self, name: &str) -> Result<&Entity, ConnectorError> {
        self.profile.entities.get(name).ok_or_else(|| {
            ConnectorError::config(format!(
                "connector `{}` has no entity `{name}`",
                self.profile.name
            ))
        })
    }

    fn id_key<'a>(&'a self, spec: &'a Entity) -> &'a str {
        match self.backend {
            Backend::File(_) => self.options.get("id_column").unwrap_or(&spec.id),
            _ => &spec.id,
        }
    }

    /// Sends an authenticated request; logs in again once when the server refuses the token.
    async fn send(&self, req: &Req) -> Result<Resp, ConnectorError> {
        let mut renewed = false;
        loop {
            let (headers, generation) = self.auth.headers(&self.http).await?;
            match self
                .http
                .execute(req, &headers, self.auth.renew_on())
                .await?
            {
                Outcome::Done(resp) => return Ok(resp),
                Outcome::Unauthorized(resp) => {
                    if renewed {
                        return Err(ConnectorError::auth(format!(
                            "{}: credentials refused (HTTP {}) after a fresh login{}",
                            req.describe(),
                            resp.status,
                            suffix(&http::server_message(&resp.body))
                        ))
                        .with_status(resp.status));
                    }
                    tracing::debug!(system = %self.alias, status = resp.status, "renewing the session");
                    self.auth.invalidate(generation).await;
                    renewed = true;
                }
            }
        }
    }
}

/// A list being read a page at a time; see [`Client::list_pages`].
#[derive(Debug)]
pub struct Pages<'c> {
    client: &'c Client,
    spec: &'c Entity,
    listing: Listing,
}

#[derive(Debug)]
enum Listing {
    Rest(rest_json::Listing),
    Graphql(graphql::Listing),
    JsonRpc(json_rpc::Listing),
    File(file::Listing),
    /// Everything already read, handed out as one page.
    Whole(Option<Vec<Value>>),
}

impl Pages<'_> {
    /// The next page's records, or `None` when the list has ended. Pages the system answers
    /// empty in the middle of a list are skipped, so every page returned has records.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, ConnectorError> {
        loop {
            let page = match &mut self.listing {
                Listing::Rest(listing) => listing.next_page(self.client).await?,
                Listing::Graphql(listing) => listing.next_page(self.client, self.spec).await?,
                Listing::JsonRpc(listing) => {
                    let Backend::JsonRpc(state) = &self.client.backend else {
                        return Ok(None);
                    };
                    listing.next_page(self.client, state, self.spec).await?
                }
                Listing::File(listing) => listing.next_page(self.client).await?,
                Listing::Whole(records) => records.take(),
            };
            match page {
                Some(page) if page.is_empty() => continue,
                other => return Ok(other),
            }
        }
    }
}

/// The base URL: `base_url` with its placeholders filled, or the option `url` when the
/// template does not use it (tests and self-hosted systems point a system elsewhere this way).
fn base_url(alias: &str, profile: &Profile, options: &Options) -> Result<String, ConnectorError> {
    let template = profile.base_url.as_deref().unwrap_or("");
    if !template.contains("{url}") {
        if let Some(url) = options.get("url") {
            return Ok(url.trim_end_matches('/').to_string());
        }
    }
    if template.is_empty() {
        return Err(ConnectorError::config(format!(
            "system `{alias}`: connector `{}` has no `base_url`; set the option `url`",
            profile.name
        )));
    }
    options.fill(template, &format!("the base URL of system `{alias}`"), &[])
}

fn read_only(alias: &str) -> ConnectorError {
    ConnectorError::config(format!(
        "system `{alias}`: file sources are read-only (write documents with a sink)"
    ))
}

fn suffix(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// An id value as text: strings as they are, numbers and booleans printed.
pub(crate) fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Equal as JSON, or as text for scalars (`"7"` matches `7`).
pub(crate) fn loose_eq(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::String(_) | Value::Number(_) | Value::Bool(_), _)
        | (_, Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
            matches!((id_text(a), id_text(b)), (Some(x), Some(y)) if x == y)
        }
        _ => false,
    }
}
