//! The connector client (`ledgerlink::connector::client`) against small servers on loopback:
//! pagination kinds, auth headers and credentials, retries (429, 503, timeouts, dropped
//! answers), idempotency keys, the rate limit, file sources, the JSON-document sink, and a
//! fake Tryton JSON-RPC server.

use std::{
    collections::HashMap,
    path::Path,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex, Once,
    },
    time::{Duration, Instant},
};

use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use base64::Engine;
use ledgerlink::{
    connector::{
        client::{Client, ConnectorErrorKind, RetryPolicy},
        registry::Profiles,
        Profile,
    },
    project::SystemConfig,
};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

// ---------------------------------------------------------------------------------------
// Helpers

static ENV: Once = Once::new();

/// Sets the environment variables of every test once, before any test reads the environment.
fn init_env() {
    ENV.call_once(|| {
        std::env::set_var("LL_CONNECTOR_TEST_TOKEN", "env-token-123");
        std::env::remove_var("LL_CONNECTOR_TEST_MISSING");
    });
}

fn profile(yaml: &str) -> Arc<Profile> {
    Arc::new(serde_yaml_ng::from_str(yaml).expect("test profile"))
}

fn shipped(name: &str) -> Arc<Profile> {
    let mut diagnostics = Vec::new();
    let profiles = Profiles::shipped(&mut diagnostics);
    profiles.get(name).expect("shipped profile").clone()
}

fn system(yaml: &str) -> SystemConfig {
    serde_yaml_ng::from_str(yaml).expect("test system config")
}

fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(5),
        cap: Duration::from_secs(5),
        max_attempts,
    }
}

async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    (listener, format!("http://{address}"))
}

fn spawn(listener: TcpListener, router: Router) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
}

async fn serve(router: Router) -> String {
    let (listener, base) = bind().await;
    spawn(listener, router);
    base
}

fn reply(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).expect("status"),
        axum::Json(body),
    )
        .into_response()
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn contacts(n: usize) -> Vec<Value> {
    (1..=n)
        .map(|i| json!({"contactId": i, "name": format!("Contact {i}")}))
        .collect()
}

/// A REST profile; `pagination` and `auth` are YAML blocks.
fn rest_profile(auth: &str, pagination: &str) -> Arc<Profile> {
    profile(&format!(
        r#"
name: testrest
title: Test REST
transport: rest_json
base_url: "https://api.example.invalid/{{company}}"
options:
  company: {{required: true}}
auth:
{auth}
pagination:
{pagination}
entities:
  Contact:
    path: /contacts
    id: contactId
    operations: [list, get, search, create, update]
    changed_since: lastModifiedGe
    idempotency: {{header: Idempotency-Key}}
    fields:
      contactId: {{type: integer, read_only: true}}
      name: {{type: text, searchable: true}}
"#
    ))
}

const BEARER: &str = "  kind: bearer\n  credentials: [token]";
const NO_AUTH: &str = "  kind: none";
const PAGED: &str =
    "  kind: page\n  param: page\n  size_param: pageSize\n  max_size: 2\n  items: \"\"";
const UNPAGED: &str = "  kind: none";

fn rest_system(base: &str, auth: &str) -> SystemConfig {
    system(&format!(
        "connector: testrest\noptions: {{company: acme, url: \"{base}\"}}\nauth: {{{auth}}}"
    ))
}

fn client(profile: Arc<Profile>, config: &SystemConfig, dir: &Path) -> Client {
    Client::new("sys", profile, config, dir, None)
        .expect("client")
        .with_retry(fast_retry(4))
}

#[test]
fn client_futures_can_be_spawned() {
    fn send<T: Send>(_: &T) {}
    fn sync<T: Send + Sync>() {}
    sync::<Client>();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = system("connector: file\noptions: {path: x.json}");
    let client = Client::new("src", shipped("file"), &config, dir.path(), None).expect("client");
    let body = json!({});
    send(&client.list("Record", None));
    send(&client.get("Record", "1"));
    send(&client.search("Record", "id", &body));
    send(&client.create("Record", &body, None));
    send(&client.update("Record", "1", &body));
    send(&client.check());
}

// ---------------------------------------------------------------------------------------
// Pagination

#[tokio::test]
async fn page_pagination_with_bearer_token_from_env_and_since_filter() {
    init_env();
    let seen = Arc::new(Mutex::new(Vec::<(HashMap<String, String>, String)>::new()));
    let log = seen.clone();
    let router = Router::new().route(
        "/contacts",
        get(
            move |headers: HeaderMap, Query(q): Query<HashMap<String, String>>| async move {
                log.lock()
                    .expect("log")
                    .push((q.clone(), header(&headers, "authorization")));
                let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
                let size: usize = q.get("pageSize").and_then(|p| p.parse().ok()).unwrap_or(0);
                let all = contacts(5);
                let start = (page.saturating_sub(1)) * size;
                let items: Vec<Value> = all.into_iter().skip(start).take(size).collect();
                reply(200, Value::Array(items))
            },
        ),
    );
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = rest_system(&base, "token: env:LL_CONNECTOR_TEST_TOKEN");
    let client = client(rest_profile(BEARER, PAGED), &config, dir.path());

    let records = client.list("Contact", None).await.expect("list");
    assert_eq!(records, contacts(5));
    {
        let seen = seen.lock().expect("log");
        let pages: Vec<&str> = seen
            .iter()
            .map(|(q, _)| q.get("page").map_or("", String::as_str))
            .collect();
        assert_eq!(pages, ["1", "2", "3"], "stops on the short third page");
        assert!(seen
            .iter()
            .all(|(q, _)| q.get("pageSize").map(String::as_str) == Some("2")));
        assert!(seen.iter().all(|(_, auth)| auth == "Bearer env-token-123"));
    }
    seen.lock().expect("log").clear();
    client
        .list("Contact", Some("2026-01-01"))
        .await
        .expect("list since");
    let seen = seen.lock().expect("log");
    assert_eq!(
        seen[0].0.get("lastModifiedGe").map(String::as_str),
        Some("2026-01-01")
    );
    assert_eq!(
        client.id_of("Contact", &contacts(1)[0]).as_deref(),
        Some("1")
    );
}

#[tokio::test]
async fn offset_pagination_with_api_key_header() {
    init_env();
    let offsets = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = offsets.clone();
    let router = Router::new().route(
        "/contacts",
        get(
            move |headers: HeaderMap, Query(q): Query<HashMap<String, String>>| async move {
                if header(&headers, "x-api-key") != "key-1" {
                    return reply(401, json!({"message": "bad key"}));
                }
                let from: usize = q.get("from").and_then(|p| p.parse().ok()).unwrap_or(0);
                let count: usize = q.get("count").and_then(|p| p.parse().ok()).unwrap_or(0);
                log.lock().expect("log").push(from.to_string());
                let values: Vec<Value> = contacts(5).into_iter().skip(from).take(count).collect();
                reply(200, json!({"fullResultSize": 5, "values": values}))
            },
        ),
    );
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("key.txt"), "key-1\n").expect("write key");
    let profile = rest_profile(
        "  kind: api_key\n  credentials: [api_key]\n  header: X-Api-Key",
        "  kind: offset\n  param: from\n  size_param: count\n  max_size: 2\n  items: /values",
    );
    let client = client(
        profile,
        &rest_system(&base, "api_key: file:key.txt"),
        dir.path(),
    );
    assert_eq!(
        client.list("Contact", None).await.expect("list"),
        contacts(5)
    );
    assert_eq!(*offsets.lock().expect("log"), ["0", "2", "4"]);
}

#[tokio::test]
async fn cursor_pagination_with_basic_auth() {
    init_env();
    let router = Router::new().route(
        "/contacts",
        get(
            |headers: HeaderMap, Query(q): Query<HashMap<String, String>>| async move {
                let expected = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode("ann:pa55")
                );
                if header(&headers, "authorization") != expected {
                    return reply(401, json!({"message": "who are you"}));
                }
                let (items, next) = match q.get("cursor").map(String::as_str) {
                    None => (contacts(2), json!("c2")),
                    Some("c2") => (contacts(4)[2..].to_vec(), json!("c3")),
                    Some("c3") => (contacts(5)[4..].to_vec(), Value::Null),
                    Some(_) => (vec![], Value::Null),
                };
                reply(200, json!({"data": items, "meta": {"next": next}}))
            },
        ),
    );
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("user"), "ann").expect("write");
    std::fs::write(dir.path().join("password"), "pa55\n").expect("write");
    let profile = rest_profile(
        "  kind: basic\n  credentials: [user, password]",
        "  kind: cursor\n  param: cursor\n  items: /data\n  next: /meta/next",
    );
    let client = client(
        profile,
        &rest_system(&base, "user: file:user, password: file:password"),
        dir.path(),
    );
    assert_eq!(
        client.list("Contact", None).await.expect("list"),
        contacts(5)
    );
}

#[tokio::test]
async fn link_header_pagination_with_resource_envelope() {
    init_env();
    let (listener, base) = bind().await;
    let own = base.clone();
    let router = Router::new().route(
        "/orders.json",
        get(move |Query(q): Query<HashMap<String, String>>| {
            let own = own.clone();
            async move {
                let (orders, next) = match q.get("page_info").map(String::as_str) {
                    None => (json!([{"id": 1}, {"id": 2}]), Some("p2")),
                    Some("p2") => (json!([{"id": 3}, {"id": 4}]), Some("p3")),
                    _ => (json!([{"id": 5}]), None),
                };
                let mut response = reply(200, json!({"orders": orders}));
                if let Some(next) = next {
                    let link = format!(
                        "<{own}/orders.json?page_info=prev>; rel=\"previous\", <{own}/orders.json?page_info={next}&limit=2>; rel=\"next\""
                    );
                    response
                        .headers_mut()
                        .insert("link", link.parse().expect("header"));
                }
                response
            }
        }),
    );
    spawn(listener, router);
    let profile = profile(
        r#"
name: shop
title: Shop
transport: rest_json
base_url: "https://{shop}.example.invalid/admin"
options:
  shop: {required: true}
auth: {kind: api_key, credentials: [access_token], header: X-Shopify-Access-Token}
pagination: {kind: link_header, size_param: limit, max_size: 2, items: "/{resource}"}
entities:
  Order:
    path: /orders.json
    id: id
    fields:
      id: {type: integer}
"#,
    );
    let config = system(&format!(
        "connector: shop\noptions: {{shop: s, url: \"{base}\"}}\nauth: {{access_token: env:LL_CONNECTOR_TEST_TOKEN}}"
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(profile, &config, dir.path());
    let ids: Vec<Value> = client
        .list("Order", None)
        .await
        .expect("list")
        .into_iter()
        .map(|o| o["id"].clone())
        .collect();
    assert_eq!(ids, [json!(1), json!(2), json!(3), json!(4), json!(5)]);
}

#[tokio::test]
async fn fiken_pages_start_at_zero() {
    init_env();
    let pages = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = pages.clone();
    let router = Router::new().route(
        "/contacts",
        get(move |Query(q): Query<HashMap<String, String>>| async move {
            let page = q.get("page").cloned().unwrap_or_default();
            log.lock().expect("log").push(page.clone());
            let size: usize = q.get("pageSize").and_then(|s| s.parse().ok()).unwrap_or(0);
            match page.as_str() {
                "0" => reply(200, json!(contacts(size))),
                "1" => reply(200, json!(contacts(1))),
                _ => reply(200, json!([])),
            }
        }),
    );
    let base = serve(router).await;
    let config = system(&format!(
        "connector: fiken\noptions: {{company: acme, url: \"{base}\"}}\nauth: {{token: env:LL_CONNECTOR_TEST_TOKEN}}"
    ));
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(shipped("fiken"), &config, dir.path());
    assert_eq!(client.list("Contact", None).await.expect("list").len(), 101);
    assert_eq!(*pages.lock().expect("log"), ["0", "1"]);
}

#[tokio::test]
async fn endless_pagination_is_capped() {
    init_env();
    let router = Router::new().route(
        "/contacts",
        get(|| async { reply(200, json!(contacts(2))) }),
    );
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(
        rest_profile(NO_AUTH, PAGED),
        &rest_system(&base, ""),
        dir.path(),
    )
    .with_max_pages(5);
    let err = client.list("Contact", None).await.expect_err("capped");
    assert_eq!(err.kind, ConnectorErrorKind::Config);
    assert!(
        err.message.contains("did not end after 5 pages"),
        "{}",
        err.message
    );
}

// ---------------------------------------------------------------------------------------
// Credentials

#[tokio::test]
async fn missing_credentials_are_config_errors_naming_the_variable() {
    init_env();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = rest_system("http://127.0.0.1:9", "token: env:LL_CONNECTOR_TEST_MISSING");
    let err = Client::new(
        "sys",
        rest_profile(BEARER, UNPAGED),
        &config,
        dir.path(),
        None,
    )
    .expect_err("missing variable");
    assert_eq!(err.kind, ConnectorErrorKind::Config);
    assert!(
        err.message.contains("LL_CONNECTOR_TEST_MISSING"),
        "{}",
        err.message
    );

    let config = rest_system("http://127.0.0.1:9", "token: file:nowhere.txt");
    let err = Client::new(
        "sys",
        rest_profile(BEARER, UNPAGED),
        &config,
        dir.path(),
        None,
    )
    .expect_err("missing file");
    assert_eq!(err.kind, ConnectorErrorKind::Config);
    assert!(err.message.contains("nowhere.txt"), "{}", err.message);

    let config = rest_system("http://127.0.0.1:9", "token: literal-secret-value");
    let err = Client::new(
        "sys",
        rest_profile(BEARER, UNPAGED),
        &config,
        dir.path(),
        None,
    )
    .expect_err("literal");
    assert_eq!(err.kind, ConnectorErrorKind::Config);
    assert!(
        !err.message.contains("literal-secret-value"),
        "{}",
        err.message
    );

    let config = rest_system("http://127.0.0.1:9", "");
    let err = Client::new(
        "sys",
        rest_profile(BEARER, UNPAGED),
        &config,
        dir.path(),
        None,
    )
    .expect_err("not given");
    assert!(err.message.contains("`token`"), "{}", err.message);
}

#[tokio::test]
async fn debug_output_shows_no_secret() {
    init_env();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("password"), "hunter2-very-secret\n").expect("write");
    let config = system(
        "connector: tryton\noptions: {url: \"http://127.0.0.1:9\", database: db}\nauth: {login: env:LL_CONNECTOR_TEST_TOKEN, password: file:password}",
    );
    let tryton = Client::new("erp", shipped("tryton"), &config, dir.path(), None).expect("client");
    let debug = format!("{tryton:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(!debug.contains("env-token-123"), "{debug}");
    assert!(debug.contains("***"), "{debug}");

    let config = rest_system("http://127.0.0.1:9", "token: env:LL_CONNECTOR_TEST_TOKEN");
    let rest = client(rest_profile(BEARER, UNPAGED), &config, dir.path());
    let debug = format!("{rest:?}");
    assert!(!debug.contains("env-token-123"), "{debug}");
}

// ---------------------------------------------------------------------------------------
// Retries and errors

/// A server whose `/contacts` answers come from `script` (status, headers, body) in order,
/// then 200 with one contact; counts the requests and records their idempotency keys.
/// One scripted answer: status, extra headers, JSON body.
type Scripted = (u16, Vec<(&'static str, &'static str)>, Value);

fn scripted(script: Vec<Scripted>) -> (Router, Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let keys = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(script);
    let handler = {
        let calls = calls.clone();
        let keys = keys.clone();
        move |headers: HeaderMap| {
            let calls = calls.clone();
            let keys = keys.clone();
            let script = script.clone();
            async move {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                keys.lock()
                    .expect("keys")
                    .push(header(&headers, "idempotency-key"));
                match script.get(n) {
                    Some((status, extra, body)) => {
                        let mut response = reply(*status, body.clone());
                        for (name, value) in extra {
                            response
                                .headers_mut()
                                .insert(*name, value.parse().expect("header"));
                        }
                        response
                    }
                    None => reply(201, json!({"contactId": 7, "name": "Ann"})),
                }
            }
        }
    };
    let router = Router::new().route("/contacts", get(handler.clone()).post(handler));
    (router, calls, keys)
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_for() {
    init_env();
    let (router, calls, _) = scripted(vec![(429, vec![("retry-after", "1")], json!({}))]);
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(
        rest_profile(NO_AUTH, UNPAGED),
        &rest_system(&base, ""),
        dir.path(),
    );
    let start = Instant::now();
    let records = client.list("Contact", None).await.expect("list after 429");
    assert_eq!(records.len(), 1);
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let stats = client.stats();
    assert_eq!((stats.calls, stats.rate_limited, stats.retries), (2, 1, 1));
}

#[tokio::test]
async fn webcrm_retry_after_seconds_in_the_body() {
    init_env();
    let (router, calls, _) = scripted(vec![(429, vec![], json!({"RetryAfterSeconds": 1}))]);
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(
        rest_profile(NO_AUTH, UNPAGED),
        &rest_system(&base, ""),
        dir.path(),
    );
    let start = Instant::now();
    client.list("Contact", None).await.expect("list after 429");
    assert!(start.elapsed() >= Duration::from_millis(900));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_503_twice_then_success() {
    init_env();
    let (router, calls, _) = scripted(vec![
        (503, vec![], json!({"message": "maintenance"})),
        (503, vec![], json!({"message": "maintenance"})),
    ]);
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(
        rest_profile(NO_AUTH, UNPAGED),
        &rest_system(&base, ""),
        dir.path(),
    );
    assert_eq!(client.list("Contact", None).await.expect("list").len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(client.stats().retries, 2);
}

#[tokio::test]
async fn retries_give_up_as_transient() {
    init_env();
    let (router, calls, _) = scripted(vec![(502, vec![], json!({})); 10]);
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(
        rest_profile(NO_AUTH, UNPAGED),
        &rest_system(&base, ""),
        dir.path(),
    )
    .with_retry(fast_retry(3));
    let err = client.list("Contact", None).await.expect_err("502s");
    assert_eq!(err.kind, ConnectorErrorKind::Transient);
    assert_eq!(err.status, Some(502));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_400_with_a_json_error_is_permanent_with_the_server_message() {
    init_env();
    let (router, calls, _) = scripted(vec![(
        400,
        vec![],
        json!({"status": 400, "message": "Validation failed.", "validationMessages": [{"field": "name", "message": "Name is required."}]}),
    )]);
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(
        rest_profile(NO_AUTH, UNPAGED),
        &rest_system(&base, ""),
        dir.path(),
    );
    let err = client
        .create("Contact", &json!({}), None)
        .await
        .expect_err("refused");
    assert_eq!(err.kind, ConnectorErrorKind::Permanent);
    assert_eq!(err.status, Some(400));
    assert!(
        err.message.contains("Validation failed."),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("name: Name is required."),
        "{}",
        err.message
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_401_is_an_auth_error() {
    init_env();
    let (router, _, _) = scripted(vec![(401, vec![], json!({"message": "token expired"}))]);
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(
        rest_profile(BEARER, UNPAGED),
        &rest_system(&base, "token: env:LL_CONNECTOR_TEST_TOKEN"),
        dir.path(),
    );
    let err = client.check().await.expect_err("refused");
    assert_eq!(err.kind, ConnectorErrorKind::Auth);
    assert!(err.message.contains("token expired"), "{}", err.message);
    assert!(client
        .check()
        .await
        .expect("second check")
        .contains("HTTP 201"));
}

#[tokio::test]
async fn a_timeout_is_transient() {
    init_env();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let router = Router::new().route(
        "/contacts",
        get(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(3)).await;
                reply(200, json!([]))
            }
        }),
    );
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(
        rest_profile(NO_AUTH, UNPAGED),
        &rest_system(&base, ""),
        dir.path(),
    )
    .with_timeout(Duration::from_millis(200))
    .with_retry(fast_retry(2));
    let start = Instant::now();
    let err = client.list("Contact", None).await.expect_err("timeout");
    assert_eq!(err.kind, ConnectorErrorKind::Transient);
    assert!(err.message.contains("no answer within"), "{}", err.message);
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(calls.load(Ordering::SeqCst), 2, "a GET is retried");
}

#[tokio::test]
async fn unreachable_server_is_transient() {
    init_env();
    let (listener, base) = bind().await;
    drop(listener);
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(
        rest_profile(NO_AUTH, UNPAGED),
        &rest_system(&base, ""),
        dir.path(),
    )
    .with_retry(fast_retry(2));
    let err = client
        .create("Contact", &json!({"name": "Ann"}), None)
        .await
        .expect_err("refused connection");
    assert_eq!(err.kind, ConnectorErrorKind::Transient);
    assert_eq!(
        client.stats().calls,
        2,
        "a create that was never sent is retried"
    );
}

/// A raw HTTP server: the n-th request gets `answers[n]` (a whole HTTP response), or the
/// connection is closed without an answer (`None`, and every request past the list).
async fn raw_server(answers: Vec<Option<String>>) -> (String, Arc<Mutex<Vec<String>>>) {
    let (listener, base) = bind().await;
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(read) = socket.read(&mut chunk).await {
                if read == 0 {
                    break;
                }
                buffer.extend_from_slice(&chunk[..read]);
                let text = String::from_utf8_lossy(&buffer).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            let lower = l.to_ascii_lowercase();
                            lower
                                .strip_prefix("content-length:")
                                .and_then(|v| v.trim().parse::<usize>().ok())
                        })
                        .unwrap_or(0);
                    if buffer.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            log.lock()
                .expect("log")
                .push(String::from_utf8_lossy(&buffer).to_string());
            if let Some(Some(answer)) = answers.get(n) {
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
            n += 1;
        }
    });
    (base, requests)
}

fn idempotency_key_of(request: &str) -> Option<String> {
    request.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("idempotency-key")
            .then(|| value.trim().to_string())
    })
}

#[tokio::test]
async fn a_create_without_key_is_not_retried_after_a_dropped_answer() {
    init_env();
    let (base, requests) = raw_server(vec![None]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(
        rest_profile(NO_AUTH, UNPAGED),
        &rest_system(&base, ""),
        dir.path(),
    );
    let err = client
        .create("Contact", &json!({"name": "Ann"}), None)
        .await
        .expect_err("dropped");
    assert_eq!(err.kind, ConnectorErrorKind::Transient);
    assert!(
        err.message.contains("look the record up"),
        "{}",
        err.message
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        requests.lock().expect("log").len(),
        1,
        "the POST is sent once"
    );
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test]
async fn a_create_with_key_is_retried_with_the_same_key() {
    init_env();
    let body = r#"{"contactId":9,"name":"Ann"}"#;
    let created = format!(
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (base, requests) = raw_server(vec![None, Some(created)]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(
        rest_profile(NO_AUTH, UNPAGED),
        &rest_system(&base, ""),
        dir.path(),
    );
    let record = client
        .create("Contact", &json!({"name": "Ann"}), Some("key-42"))
        .await
        .expect("created on the second attempt");
    assert_eq!(record["contactId"], json!(9));
    let requests = requests.lock().expect("log");
    assert_eq!(requests.len(), 2);
    let keys: Vec<Option<String>> = requests.iter().map(|r| idempotency_key_of(r)).collect();
    assert_eq!(
        keys,
        [Some("key-42".to_string()), Some("key-42".to_string())]
    );
}

#[tokio::test]
async fn idempotency_header_is_identical_across_retries() {
    init_env();
    let (router, calls, keys) = scripted(vec![(503, vec![], json!({})), (500, vec![], json!({}))]);
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(
        rest_profile(NO_AUTH, UNPAGED),
        &rest_system(&base, ""),
        dir.path(),
    );
    let record = client
        .create("Contact", &json!({"name": "Ann"}), Some("k-1"))
        .await
        .expect("create");
    assert_eq!(record, json!({"contactId": 7, "name": "Ann"}));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(*keys.lock().expect("keys"), ["k-1", "k-1", "k-1"]);
}

#[tokio::test]
async fn a_create_without_key_retries_503_but_not_500() {
    init_env();
    let (router, calls, keys) = scripted(vec![
        (503, vec![], json!({})),
        (500, vec![], json!({"message": "boom"})),
    ]);
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(
        rest_profile(NO_AUTH, UNPAGED),
        &rest_system(&base, ""),
        dir.path(),
    );
    let err = client
        .create("Contact", &json!({"name": "Ann"}), None)
        .await
        .expect_err("500 after the POST");
    assert_eq!(err.kind, ConnectorErrorKind::Transient);
    assert_eq!(err.status, Some(500));
    assert_eq!(calls.load(Ordering::SeqCst), 2, "503 retried, 500 not");
    assert_eq!(*keys.lock().expect("keys"), ["", ""], "no key without one");
}

// ---------------------------------------------------------------------------------------
// Record shapes

#[tokio::test]
async fn created_record_is_read_from_location_and_value_wrappers_are_unwrapped() {
    init_env();
    let store = Arc::new(Mutex::new(HashMap::<String, Value>::new()));
    let (s1, s2, s3) = (store.clone(), store.clone(), store.clone());
    let router = Router::new()
        .route(
            "/contacts",
            post(move |axum::Json(body): axum::Json<Value>| async move {
                let mut record = body;
                record["contactId"] = json!(11);
                s1.lock().expect("store").insert("11".into(), record);
                (StatusCode::CREATED, [("location", "/contacts/11")]).into_response()
            })
            .get(move |Query(q): Query<HashMap<String, String>>| async move {
                let all: Vec<Value> = s3.lock().expect("store").values().cloned().collect();
                let hits: Vec<Value> = all
                    .into_iter()
                    .filter(|r| q.get("name").is_none_or(|n| r["name"] == json!(n)))
                    .collect();
                reply(200, json!({"values": hits}))
            }),
        )
        .route(
            "/contacts/{id}",
            get(
                move |axum::extract::Path(id): axum::extract::Path<String>| async move {
                    match s2.lock().expect("store").get(&id) {
                        Some(record) => reply(200, json!({"value": record})),
                        None => reply(404, json!({"message": "no such contact"})),
                    }
                },
            )
            .put(
                |axum::extract::Path(id): axum::extract::Path<String>,
                 axum::Json(body): axum::Json<Value>| async move {
                    let mut record = body;
                    record["contactId"] = json!(id.parse::<i64>().unwrap_or(0));
                    reply(200, json!({"value": record}))
                },
            ),
        );
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(
        rest_profile(
            NO_AUTH,
            "  kind: page\n  param: page\n  size_param: pageSize\n  items: /values",
        ),
        &rest_system(&base, ""),
        dir.path(),
    );
    let created = client
        .create("Contact", &json!({"name": "Fjord AS"}), None)
        .await
        .expect("create");
    assert_eq!(created, json!({"name": "Fjord AS", "contactId": 11}));
    assert_eq!(client.id_of("Contact", &created).as_deref(), Some("11"));
    assert_eq!(
        client.get("Contact", "11").await.expect("get"),
        Some(created.clone())
    );
    assert_eq!(
        client.get("Contact", "12").await.expect("get missing"),
        None
    );
    let hits = client
        .search("Contact", "name", &json!("Fjord AS"))
        .await
        .expect("search");
    assert_eq!(hits, [created]);
    let updated = client
        .update("Contact", "11", &json!({"name": "Fjord ASA"}))
        .await
        .expect("update");
    assert_eq!(updated, json!({"name": "Fjord ASA", "contactId": 11}));
}

// ---------------------------------------------------------------------------------------
// Token logins

#[tokio::test]
async fn oauth2_token_is_cached_and_refreshed_on_401() {
    init_env();
    let tokens = Arc::new(AtomicUsize::new(0));
    let reject_once = Arc::new(AtomicBool::new(false));
    let issued = tokens.clone();
    let (current, reject) = (tokens.clone(), reject_once.clone());
    let router = Router::new()
        .route(
            "/token",
            post(
                move |axum::Form(form): axum::Form<HashMap<String, String>>| async move {
                    if form.get("grant_type").map(String::as_str) != Some("client_credentials")
                        || form.get("client_secret").map(String::as_str) != Some("env-token-123")
                    {
                        return reply(400, json!({"error": "invalid_client"}));
                    }
                    let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
                    reply(200, json!({"access_token": format!("t{n}"), "expires_in": 3600, "token_type": "Bearer"}))
                },
            ),
        )
        .route(
            "/contacts",
            get(move |headers: HeaderMap| async move {
                let n = current.load(Ordering::SeqCst);
                if reject.swap(false, Ordering::SeqCst)
                    || header(&headers, "authorization") != format!("Bearer t{n}")
                {
                    return reply(401, json!({"message": "expired"}));
                }
                reply(200, json!(contacts(1)))
            }),
        );
    let (listener, base) = bind().await;
    spawn(listener, router);
    let profile = profile(&format!(
        r#"
name: testrest
title: OAuth
transport: rest_json
base_url: "{base}"
auth:
  kind: oauth2_client_credentials
  credentials: [client_id, client_secret]
  token_url: "{base}/token"
entities:
  Contact:
    path: /contacts
    id: contactId
    fields:
      contactId: {{type: integer}}
"#
    ));
    let config = system(
        "connector: testrest\nauth: {client_id: env:LL_CONNECTOR_TEST_TOKEN, client_secret: env:LL_CONNECTOR_TEST_TOKEN}",
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(profile, &config, dir.path());
    client.list("Contact", None).await.expect("first");
    client.list("Contact", None).await.expect("second");
    assert_eq!(tokens.load(Ordering::SeqCst), 1, "the token is cached");
    reject_once.store(true, Ordering::SeqCst);
    client.list("Contact", None).await.expect("after a 401");
    assert_eq!(
        tokens.load(Ordering::SeqCst),
        2,
        "a 401 fetches a new token"
    );
}

#[tokio::test]
async fn session_token_login_and_header() {
    init_env();
    let logins = Arc::new(AtomicUsize::new(0));
    let counter = logins.clone();
    let router = Router::new()
        .route(
            "/login",
            post(move |axum::Json(body): axum::Json<Value>| async move {
                if body != json!({"api_key": "env-token-123"}) {
                    return reply(401, json!({"message": "bad key"}));
                }
                counter.fetch_add(1, Ordering::SeqCst);
                reply(200, json!({"AccessToken": "sess-1", "ExpiresIn": 3600}))
            }),
        )
        .route(
            "/contacts",
            get(|headers: HeaderMap| async move {
                if header(&headers, "x-session") != "sess-1" {
                    return reply(401, json!({"message": "no session"}));
                }
                reply(200, json!(contacts(2)))
            }),
        );
    let (listener, base) = bind().await;
    spawn(listener, router);
    let profile = profile(&format!(
        r#"
name: testrest
title: Session
transport: rest_json
base_url: "{base}"
auth:
  kind: session_token
  credentials: [api_key]
  token_url: "{base}/login"
  header: X-Session
entities:
  Contact:
    path: /contacts
    id: contactId
    fields:
      contactId: {{type: integer}}
"#
    ));
    let config = system("connector: testrest\nauth: {api_key: env:LL_CONNECTOR_TEST_TOKEN}");
    let dir = tempfile::tempdir().expect("tempdir");
    let client = client(profile, &config, dir.path());
    assert_eq!(client.list("Contact", None).await.expect("list").len(), 2);
    assert!(client.check().await.expect("check").contains("connected"));
    assert_eq!(logins.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------
// Rate limit

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_and_concurrency_are_kept() {
    init_env();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (now, peak) = (in_flight.clone(), most.clone());
    let router = Router::new().route(
        "/contacts/{id}",
        get(move || {
            let (now, peak) = (now.clone(), peak.clone());
            async move {
                let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(current, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                reply(200, json!({"contactId": 1}))
            }
        }),
    );
    let base = serve(router).await;
    let profile = profile(
        r#"
name: testrest
title: Limited
transport: rest_json
base_url: "https://x.invalid"
rate_limit: {requests_per_second: 20, burst: 1, concurrency: 2}
entities:
  Contact:
    path: /contacts
    id: contactId
    fields:
      contactId: {type: integer}
"#,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = system(&format!(
        "connector: testrest\noptions: {{url: \"{base}\"}}"
    ));
    let client = Arc::new(client(profile, &config, dir.path()));
    let (n, rate) = (20u32, 20.0);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let client = client.clone();
        tasks.spawn(async move { client.get("Contact", &i.to_string()).await });
    }
    while let Some(done) = tasks.join_next().await {
        assert!(done.expect("task").expect("get").is_some());
    }
    let elapsed = start.elapsed().as_secs_f64();
    assert!(
        elapsed >= 0.8 * f64::from(n) / rate,
        "{n} requests at {rate}/s took {elapsed:.2} s"
    );
    assert!(most.load(Ordering::SeqCst) <= 2, "at most 2 in flight");
    assert_eq!(client.stats().calls, u64::from(n));
}

// ---------------------------------------------------------------------------------------
// Files and the sink

#[tokio::test]
async fn file_sources_json_ndjson_and_csv() {
    init_env();
    let dir = tempfile::tempdir().expect("tempdir");
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).expect("mkdir");
    std::fs::write(
        inbox.join("a.json"),
        r#"[{"id": "1", "name": "Ann"}, {"id": "2", "name": "Bo"}]"#,
    )
    .expect("write");
    std::fs::write(inbox.join("b.json"), r#"{"id": "3", "name": "Cy"}"#).expect("write");
    std::fs::write(
        inbox.join("c.ndjson"),
        "{\"id\": \"4\", \"name\": \"Di\"}\n\n{\"id\": \"5\", \"name\": \"Ed\"}\n",
    )
    .expect("write");
    std::fs::write(
        inbox.join("d.csv"),
        "\u{feff}id;name;amount\n6;Fi;10,50\n7;\"Gu; Jr\";3\n",
    )
    .expect("write");

    let file = shipped("file");
    let open = |options: &str| {
        let config = system(&format!("connector: file\noptions: {{{options}}}"));
        Client::new("src", file.clone(), &config, dir.path(), None).expect("client")
    };

    let json = open("path: \"inbox/*.json\"");
    let records = json.list("Record", None).await.expect("json");
    let names: Vec<&str> = records.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, ["Ann", "Bo", "Cy"]);
    assert_eq!(
        json.get("Record", "3").await.expect("get"),
        Some(json!({"id": "3", "name": "Cy"}))
    );
    assert_eq!(json.get("Record", "9").await.expect("get"), None);
    let hits = json
        .search("Record", "name", &json!("Bo"))
        .await
        .expect("search");
    assert_eq!(hits, [json!({"id": "2", "name": "Bo"})]);

    let ndjson = open("path: inbox/c.ndjson");
    assert_eq!(ndjson.list("Record", None).await.expect("ndjson").len(), 2);

    let csv = open("path: inbox/d.csv, delimiter: \";\"");
    assert_eq!(
        csv.list("Record", None).await.expect("csv"),
        [
            json!({"id": "6", "name": "Fi", "amount": "10,50"}),
            json!({"id": "7", "name": "Gu; Jr", "amount": "3"})
        ]
    );

    let recursive = open("path: \"**/*.json\"");
    assert_eq!(
        recursive
            .list("Record", Some("2026-01-01"))
            .await
            .expect("glob")
            .len(),
        3
    );
    let folder = open("path: inbox, format: json");
    assert!(
        folder.list("Record", None).await.is_err(),
        "ndjson is not one JSON document"
    );

    // Created records are JSON documents in the `output` folder (default `outbox`).
    let written = json
        .create("Record", &json!({"id": "8", "name": "Hal"}), None)
        .await
        .expect("written to the output folder");
    assert_eq!(written, json!({"id": "8", "name": "Hal"}));
    let file = dir.path().join("outbox/Record-8.json");
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("the document file"))
            .expect("JSON");
    assert_eq!(stored, written);
    let again = json
        .create("Record", &json!({"id": "8", "name": "Other"}), None)
        .await
        .expect_err("never overwritten");
    assert!(
        again.message.contains("already exists"),
        "{}",
        again.message
    );
    let verdict = json.check().await.expect("check");
    assert!(verdict.contains("matches 2 file(s)"), "{verdict}");

    let missing = open("path: nowhere.json");
    assert_eq!(
        missing
            .list("Record", None)
            .await
            .expect_err("missing")
            .kind,
        ConnectorErrorKind::Config
    );

    // The winner profile: the id field is `Number`.
    std::fs::create_dir_all(dir.path().join("quotes")).expect("mkdir");
    std::fs::write(
        dir.path().join("quotes/q1.json"),
        r#"{"Number": "Q-1", "Status": "Sent", "Total": "100.00"}"#,
    )
    .expect("write");
    let config = system("connector: winner\noptions: {path: quotes}");
    let winner =
        Client::new("winner", shipped("winner"), &config, dir.path(), None).expect("client");
    let quote = winner
        .get("Quote", "Q-1")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(winner.id_of("Quote", &quote).as_deref(), Some("Q-1"));
}

#[tokio::test]
async fn sink_create_get_list_update_search() {
    init_env();
    let dir = tempfile::tempdir().expect("tempdir");
    // Any profile: here a REST one that would need credentials and a server.
    let config = rest_system("http://127.0.0.1:9", "token: env:LL_CONNECTOR_TEST_MISSING");
    let client = Client::new(
        "erp",
        rest_profile(BEARER, PAGED),
        &config,
        dir.path(),
        Some(Path::new("out")),
    )
    .expect("a sink needs no credentials");
    assert!(client.check().await.expect("check").contains("out"));

    let first = client
        .create("Contact", &json!({"name": "Ann"}), None)
        .await
        .expect("create");
    assert_eq!(first, json!({"name": "Ann", "contactId": 1}));
    let second = client
        .create("Contact", &json!({"name": "Bo"}), Some("key-b"))
        .await
        .expect("create");
    assert_eq!(second["contactId"], json!(2));
    let again = client
        .create("Contact", &json!({"name": "Bo"}), Some("key-b"))
        .await
        .expect("create again with the same key");
    assert_eq!(again, second, "same key, same record");

    let path = dir.path().join("out/erp/Contact/1.json");
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("file")).expect("json");
    assert_eq!(stored, first);

    assert_eq!(
        client.get("Contact", "2").await.expect("get"),
        Some(second.clone())
    );
    assert_eq!(client.get("Contact", "3").await.expect("get"), None);
    assert_eq!(client.get("Contact", "../x").await.expect("get"), None);

    let updated = client
        .update("Contact", "1", &json!({"name": "Ann B", "contactId": 99}))
        .await
        .expect("update");
    assert_eq!(updated, json!({"name": "Ann B", "contactId": 1}));
    let err = client
        .update("Contact", "5", &json!({"name": "x"}))
        .await
        .expect_err("missing");
    assert_eq!(err.kind, ConnectorErrorKind::NotFound);

    let all = client.list("Contact", None).await.expect("list");
    assert_eq!(all, [updated.clone(), second.clone()]);
    let hits = client
        .search("Contact", "contactId", &json!("2"))
        .await
        .expect("search");
    assert_eq!(hits, [second]);

    let explicit = client
        .create("Contact", &json!({"contactId": 40, "name": "Cy"}), None)
        .await
        .expect("explicit id");
    assert_eq!(explicit["contactId"], json!(40));
    let err = client
        .create("Contact", &json!({"contactId": 40, "name": "Cy"}), None)
        .await
        .expect_err("taken");
    assert_eq!(err.kind, ConnectorErrorKind::Permanent);
    let next = client
        .create("Contact", &json!({"name": "Di"}), None)
        .await
        .expect("next");
    assert_eq!(next["contactId"], json!(41));

    // Concurrent creates get distinct ids.
    let client = Arc::new(client);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10 {
        let client = client.clone();
        tasks.spawn(async move {
            client
                .create("Contact", &json!({"name": format!("p{i}")}), None)
                .await
        });
    }
    let mut ids = Vec::new();
    while let Some(done) = tasks.join_next().await {
        ids.push(done.expect("task").expect("create")["contactId"].clone());
    }
    ids.sort_by_key(|v| v.as_i64());
    ids.dedup();
    assert_eq!(ids.len(), 10);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out/erp/Contact"))
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left");
}

// ---------------------------------------------------------------------------------------
// Tryton JSON-RPC

#[derive(Default)]
struct FakeTryton {
    sessions: Vec<String>,
    logins: usize,
    expire_next: bool,
    models: HashMap<String, Vec<serde_json::Map<String, Value>>>,
    next_id: i64,
    calls: Vec<Value>,
}

fn write_date() -> Value {
    json!({"__class__": "datetime", "year": 2026, "month": 3, "day": 4, "hour": 5, "minute": 6, "second": 7, "microsecond": 0})
}

fn stamp(v: &Value) -> String {
    let n = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        n("year"),
        n("month"),
        n("day"),
        n("hour"),
        n("minute"),
        n("second")
    )
}

impl FakeTryton {
    fn matches(record: &serde_json::Map<String, Value>, domain: &Value) -> bool {
        domain.as_array().into_iter().flatten().all(|clause| {
            let field = clause[0].as_str().unwrap_or("");
            let op = clause[1].as_str().unwrap_or("");
            let value = &clause[2];
            let have = record.get(field).unwrap_or(&Value::Null);
            match op {
                "=" => have == value,
                ">=" => stamp(have) >= stamp(value),
                _ => false,
            }
        })
    }

    fn read(&self, model: &str, record: &serde_json::Map<String, Value>, fields: &Value) -> Value {
        let mut out = serde_json::Map::new();
        out.insert("id".into(), record["id"].clone());
        for field in fields
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if let Some((base, sub)) = field.split_once('.') {
                let children = self.models.get(&format!("{model}.{base}"));
                let ids = record
                    .get(base)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let rows: Vec<Value> = ids
                    .iter()
                    .filter_map(|id| children?.iter().find(|c| &c["id"] == id))
                    .map(
                        |c| json!({"id": c["id"], sub: c.get(sub).cloned().unwrap_or(Value::Null)}),
                    )
                    .collect();
                let entry = out.entry(format!("{base}.")).or_insert_with(|| {
                    Value::Array(rows.iter().map(|r| json!({"id": r["id"]})).collect())
                });
                if let Value::Array(existing) = entry {
                    for (row, new) in existing.iter_mut().zip(rows) {
                        if let (Value::Object(row), Value::Object(new)) = (row, new) {
                            row.extend(new);
                        }
                    }
                }
            } else if let Some(value) = record.get(field) {
                out.insert(field.to_string(), value.clone());
            }
        }
        Value::Object(out)
    }

    fn create(&mut self, model: &str, values: &Value) -> Result<i64, Value> {
        let mut record = values.as_object().cloned().unwrap_or_default();
        if model == "party.party" {
            if let Some(code) = record.get("code") {
                let taken = self
                    .models
                    .get(model)
                    .is_some_and(|rows| rows.iter().any(|r| r.get("code") == Some(code)));
                if taken {
                    return Err(json!([
                        "UserError",
                        ["The code on party must be unique.", "", ""]
                    ]));
                }
            }
        }
        for (key, value) in record.clone() {
            // One2many commands: [["create", [{…}, …]]] → child ids.
            let Some(commands) = value.as_array() else {
                continue;
            };
            if !commands
                .first()
                .is_some_and(|c| c.get(0).is_some_and(Value::is_string))
            {
                continue;
            }
            let mut ids = Vec::new();
            for command in commands {
                if command[0] == json!("create") {
                    for child in command[1].as_array().into_iter().flatten() {
                        let id = self.create(&format!("{model}.{key}"), child)?;
                        ids.push(json!(id));
                    }
                }
            }
            record.insert(key, Value::Array(ids));
        }
        self.next_id += 1;
        let id = self.next_id;
        record.insert("id".into(), json!(id));
        record.insert("write_date".into(), write_date());
        self.models
            .entry(model.to_string())
            .or_default()
            .push(record);
        Ok(id)
    }
}

async fn tryton_rpc(
    State(state): State<Arc<Mutex<FakeTryton>>>,
    axum::extract::Path(db): axum::extract::Path<String>,
    headers: HeaderMap,
    axum::Json(request): axum::Json<Value>,
) -> Response {
    let mut fake = state.lock().expect("fake tryton");
    fake.calls.push(request.clone());
    let id = request["id"].clone();
    let method = request["method"].as_str().unwrap_or("").to_string();
    let params = request["params"].as_array().cloned().unwrap_or_default();
    if db != "testdb" {
        return (StatusCode::NOT_FOUND, "no db").into_response();
    }
    if method == "common.db.login" {
        if params[0] != json!("admin") || params[1] != json!({"password": "pw"}) {
            return (StatusCode::UNAUTHORIZED, "<html>401</html>").into_response();
        }
        fake.logins += 1;
        let session = format!("sess{}", fake.logins);
        fake.sessions.push(session.clone());
        return reply(200, json!({"id": id, "result": [1, session, null]}));
    }
    let authorized = fake.sessions.iter().any(|s| {
        header(&headers, "authorization")
            == format!(
                "Session {}",
                base64::engine::general_purpose::STANDARD.encode(format!("admin:1:{s}"))
            )
    });
    if !authorized || fake.expire_next {
        fake.expire_next = false;
        fake.sessions.clear();
        return (StatusCode::UNAUTHORIZED, "<html>401</html>").into_response();
    }
    if method == "model.res.user.get_preferences" {
        return reply(
            200,
            json!({"id": id, "result": {"company": 1, "companies": [1], "language": "en", "name": "Admin"}}),
        );
    }
    let Some(rest) = method.strip_prefix("model.") else {
        return reply(200, json!({"id": id, "error": ["'unknown'", ""]}));
    };
    let (model, op) = rest.rsplit_once('.').unwrap_or((rest, ""));
    let ctx = params.last().cloned().unwrap_or(Value::Null);
    if ctx.get("company") != Some(&json!(1)) {
        return reply(
            200,
            json!({"id": id, "error": ["UserError", ["no company in the context", "", ""]]}),
        );
    }
    let result = match op {
        "create" => {
            let mut ids = Vec::new();
            for values in params[0].as_array().into_iter().flatten() {
                match fake.create(model, values) {
                    Ok(new) => ids.push(json!(new)),
                    Err(error) => return reply(200, json!({"id": id, "error": error})),
                }
            }
            Value::Array(ids)
        }
        "read" => {
            let rows = fake.models.get(model).cloned().unwrap_or_default();
            let wanted = params[0].as_array().cloned().unwrap_or_default();
            Value::Array(
                rows.iter()
                    .filter(|r| wanted.contains(&r["id"]))
                    .map(|r| fake.read(model, r, &params[1]))
                    .collect(),
            )
        }
        "search_read" => {
            let rows = fake.models.get(model).cloned().unwrap_or_default();
            let offset = params[1].as_u64().unwrap_or(0) as usize;
            let limit = params[2].as_u64().map_or(usize::MAX, |l| l as usize);
            Value::Array(
                rows.iter()
                    .filter(|r| FakeTryton::matches(r, &params[0]))
                    .skip(offset)
                    .take(limit)
                    .map(|r| fake.read(model, r, &params[4]))
                    .collect(),
            )
        }
        "write" => {
            let ids = params[0].as_array().cloned().unwrap_or_default();
            let values = params[1].as_object().cloned().unwrap_or_default();
            for row in fake.models.entry(model.to_string()).or_default() {
                if ids.contains(&row["id"]) {
                    row.extend(values.clone());
                }
            }
            Value::Null
        }
        _ => return reply(200, json!({"id": id, "error": [format!("'{op}'"), ""]})),
    };
    reply(200, json!({"id": id, "result": result}))
}

#[tokio::test]
async fn tryton_json_rpc() {
    init_env();
    let fake = Arc::new(Mutex::new(FakeTryton::default()));
    let router = Router::new()
        .route("/{db}/rpc/", post(tryton_rpc))
        .with_state(fake.clone());
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pw"), "pw\n").expect("write");
    std::fs::write(dir.path().join("login"), "admin").expect("write");
    let config = system(&format!(
        "connector: tryton\noptions: {{url: \"{base}/\", database: testdb}}\nauth: {{login: file:login, password: file:pw}}"
    ));
    let client = Client::new("erp", shipped("tryton"), &config, dir.path(), None)
        .expect("client")
        .with_retry(fast_retry(3));

    let verdict = client.check().await.expect("check");
    assert!(verdict.contains("company 1"), "{verdict}");

    let party = client
        .create("Party", &json!({"name": "Müller", "code": "CRM-1"}), None)
        .await
        .expect("create party");
    assert_eq!(party["name"], json!("Müller"));
    assert_eq!(party["write_date"], json!("2026-03-04T05:06:07Z"));
    let party_id = client.id_of("Party", &party).expect("id");

    let err = client
        .create("Party", &json!({"name": "Dup", "code": "CRM-1"}), None)
        .await
        .expect_err("duplicate code");
    assert_eq!(err.kind, ConnectorErrorKind::Permanent);
    assert!(err.message.contains("must be unique"), "{}", err.message);

    let hits = client
        .search("Party", "code", &json!("CRM-1"))
        .await
        .expect("search");
    assert_eq!(hits.len(), 1);
    assert_eq!(
        client.get("Party", &party_id).await.expect("get"),
        Some(party.clone())
    );
    assert_eq!(client.get("Party", "999").await.expect("get"), None);

    let updated = client
        .update("Party", &party_id, &json!({"name": "Müller GmbH"}))
        .await
        .expect("update");
    assert_eq!(updated["name"], json!("Müller GmbH"));

    let since = client
        .list("Party", Some("2026-03-01T00:00:00Z"))
        .await
        .expect("list since");
    assert_eq!(since.len(), 1);
    let later = client
        .list("Party", Some("2026-04-01T00:00:00Z"))
        .await
        .expect("list since later");
    assert!(later.is_empty());

    let template = client
        .create(
            "ProductTemplate",
            &json!({"name": "Worktop", "default_uom": 1, "list_price": "499.00",
                    "products": [{"suffix_code": "WT-1", "cost_price": 250.5}]}),
            None,
        )
        .await
        .expect("create template");
    assert_eq!(template["list_price"], json!("499.00"));
    assert_eq!(
        template["products"],
        json!([{"id": template["products"][0]["id"], "suffix_code": "WT-1", "cost_price": "250.5"}])
    );

    let sale = client
        .create(
            "Sale",
            &json!({"party": 1, "sale_date": "2026-11-20",
                    "lines": [{"type": "line", "quantity": "2", "unit_price": "499.00"}]}),
            None,
        )
        .await
        .expect("create sale");
    assert_eq!(sale["sale_date"], json!("2026-11-20"));
    assert_eq!(sale["lines"][0]["unit_price"], json!("499.00"));
    assert_eq!(sale["lines"][0]["quantity"], json!(2.0));

    {
        let fake = fake.lock().expect("fake");
        let creates: Vec<&Value> = fake
            .calls
            .iter()
            .filter(|c| c["method"].as_str().is_some_and(|m| m.ends_with(".create")))
            .collect();
        let template_call = creates
            .iter()
            .find(|c| c["method"] == json!("model.product.template.create"))
            .expect("template create");
        assert_eq!(
            template_call["params"][0][0]["list_price"],
            json!({"__class__": "Decimal", "decimal": "499.00"})
        );
        assert_eq!(
            template_call["params"][0][0]["products"],
            json!([["create", [{"suffix_code": "WT-1", "cost_price": {"__class__": "Decimal", "decimal": "250.5"}}]]])
        );
        let sale_call = creates
            .iter()
            .find(|c| c["method"] == json!("model.sale.sale.create"))
            .expect("sale create");
        assert_eq!(
            sale_call["params"][0][0]["sale_date"],
            json!({"__class__": "date", "year": 2026, "month": 11, "day": 20})
        );
        assert_eq!(
            sale_call["params"][0][0]["lines"][0][1][0]["quantity"],
            json!(2.0)
        );
        let since_call = fake
            .calls
            .iter()
            .find(|c| {
                c["method"] == json!("model.party.party.search_read")
                    && c["params"][0][0][1] == json!(">=")
            })
            .expect("search_read with since");
        assert_eq!(since_call["params"][0][0][0], json!("write_date"));
        assert_eq!(
            since_call["params"][0][0][2]["__class__"],
            json!("datetime")
        );
        assert_eq!(fake.logins, 1, "one login for all calls");
    }

    // The session expires: the client logs in again once and carries on.
    fake.lock().expect("fake").expire_next = true;
    assert_eq!(client.list("Party", None).await.expect("relogin").len(), 1);
    assert_eq!(fake.lock().expect("fake").logins, 2);
}

#[tokio::test]
async fn tryton_bad_password_is_an_auth_error() {
    init_env();
    let fake = Arc::new(Mutex::new(FakeTryton::default()));
    let router = Router::new()
        .route("/{db}/rpc/", post(tryton_rpc))
        .with_state(fake.clone());
    let base = serve(router).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pw"), "wrong").expect("write");
    let config = system(&format!(
        "connector: tryton\noptions: {{url: \"{base}\", database: testdb, company: 1}}\nauth: {{login: env:LL_CONNECTOR_TEST_TOKEN, password: file:pw}}"
    ));
    let client = Client::new("erp", shipped("tryton"), &config, dir.path(), None)
        .expect("client")
        .with_retry(fast_retry(3));
    let err = client.list("Party", None).await.expect_err("bad password");
    assert_eq!(err.kind, ConnectorErrorKind::Auth);
    assert!(!err.message.contains("wrong"), "{}", err.message);
    assert_eq!(
        fake.lock().expect("fake").calls.len(),
        1,
        "a refused login is not retried"
    );
}
