//! A stateful fake REST server driven by a connector profile, for end-to-end tests of the real
//! `ledgerlink` binary.
//!
//! [`FakeServer::start`] serves every REST entity of a shipped profile on `127.0.0.1:<port>`
//! from its own thread and tokio runtime, so it works from plain `#[test]`s as well as from
//! `#[tokio::test]`s. Records live in memory (see `fake_rest.rs` for the REST semantics); every
//! request is logged; faults can be injected (error statuses, delays, connection resets, the
//! "committed but the answer was lost" crash window, malformed bodies) and a server-side rate
//! limit can be switched on. The server stops when the value is dropped.

use std::{
    collections::VecDeque,
    future::IntoFuture,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc, Mutex, MutexGuard, PoisonError,
    },
    task::{Context, Poll},
    thread,
    time::{Duration, Instant},
};

use axum::{
    body::{Body, Bytes},
    extract::{connect_info::Connected, ConnectInfo, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri},
    response::Response,
    serve::{IncomingStream, Listener},
    Router,
};
use ledgerlink::connector::{profile::Transport, registry::Profiles, Profile};
use serde_json::Value;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::oneshot,
};

use super::fake_rest::{parse_query, ListRequest, Reply, Rest, Route};

/// Which requests a fault applies to; `None` matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Match {
    /// HTTP method (`POST`), compared without case.
    pub method: Option<String>,
    /// Entity name of the profile (`Customer`); entities sharing a path match each other.
    pub entity: Option<String>,
}

impl Match {
    /// Every request.
    pub fn any() -> Match {
        Match::default()
    }

    /// Requests with this method.
    pub fn method_is(method: &str) -> Match {
        Match {
            method: Some(method.to_string()),
            entity: None,
        }
    }

    /// Requests to this entity.
    pub fn entity_is(entity: &str) -> Match {
        Match {
            method: None,
            entity: Some(entity.to_string()),
        }
    }

    /// Requests with this method to this entity.
    pub fn on(method: &str, entity: &str) -> Match {
        Match {
            method: Some(method.to_string()),
            entity: Some(entity.to_string()),
        }
    }
}

/// A fault injected into the next matching request(s). Faults are kept in the order given; a
/// request takes the first one that matches it.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer `status` (429, 5xx, 4xx) with a JSON error body and optionally `Retry-After`,
    /// without touching any record.
    Status {
        status: u16,
        times: usize,
        retry_after: Option<u64>,
        on: Match,
    },
    /// Wait this long, then handle the request normally. The write happens even when the
    /// client has given up waiting.
    Delay {
        millis: u64,
        times: usize,
        on: Match,
    },
    /// Close the connection (TCP reset) without answering or touching any record.
    Reset { times: usize, on: Match },
    /// Handle the request (the write is applied), then close the connection instead of
    /// answering: the crash window of a create.
    CommitThenDrop { times: usize, on: Match },
    /// `CommitThenDrop` on every `nth` matching request, for as long as the server runs.
    CommitThenDropEvery { nth: usize, on: Match },
    /// Answer 200 with a body that is not valid JSON, without touching any record.
    Malformed { times: usize, on: Match },
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct RequestLog {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path as sent (`/customers/7`).
    pub path: String,
    /// The raw query string, without `?` (empty when none).
    pub query: String,
    /// Request headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body: JSON when it parses, else the raw text as a string, `Null` when empty.
    pub body: Value,
    /// The status answered, or that would have been answered for a dropped response; 0 when
    /// the connection was reset before any answer was made.
    pub status: u16,
    /// The profile entity the path leads to.
    pub entity: Option<String>,
    /// The injected fault that hit the request (`status`, `delay`, `reset`,
    /// `commit_then_drop`, `malformed`, `rate_limit`).
    pub fault: Option<&'static str>,
    /// The client never got an answer (reset or commit-then-drop).
    pub dropped: bool,
    /// A POST that only reads: a query to the profile's GraphQL endpoint.
    pub query_only: bool,
    /// When the request arrived.
    pub at: Instant,
}

impl RequestLog {
    /// A header's value (name without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A decoded query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        parse_query(&self.query)
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// POST, PUT, PATCH or DELETE, except a GraphQL query.
    pub fn is_write(&self) -> bool {
        !self.query_only && matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
    }
}

/// A running fake system. Dropping it stops the server.
pub struct FakeServer {
    addr: SocketAddr,
    state: Arc<Mutex<ServerState>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl FakeServer {
    /// Starts a fake of the shipped profile `rules/connectors/<name>.yaml`.
    pub fn start(profile_name: &str) -> FakeServer {
        let mut diagnostics = Vec::new();
        let profiles = Profiles::shipped(&mut diagnostics);
        let profile = profiles.get(profile_name).unwrap_or_else(|| {
            panic!(
                "no shipped connector profile `{profile_name}` (have: {})",
                profiles.names().collect::<Vec<_>>().join(", ")
            )
        });
        FakeServer::from_profile(profile.clone())
    }

    /// Starts a fake of any profile (a project's own, or a shipped one changed by a test).
    pub fn from_profile(profile: impl Into<Arc<Profile>>) -> FakeServer {
        let profile = profile.into();
        assert_eq!(
            profile.transport,
            Transport::RestJson,
            "the fake serves rest_json profiles only; `{}` is {:?}",
            profile.name,
            profile.transport
        );
        let name = profile.name.clone();
        let state = Arc::new(Mutex::new(ServerState {
            rest: Rest::new(profile),
            log: Vec::new(),
            faults: Vec::new(),
            rate_limit: 0,
            window: VecDeque::new(),
        }));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let shared = state.clone();
        let thread = thread::Builder::new()
            .name(format!("fake-{name}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the fake server");
                runtime.block_on(async move {
                    let listener = TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("bind 127.0.0.1:0");
                    addr_tx
                        .send(listener.local_addr().expect("bound address"))
                        .expect("the starting thread waits for the address");
                    let app = Router::new().fallback(handle).with_state(shared);
                    let server = axum::serve(
                        DropListener(listener),
                        app.into_make_service_with_connect_info::<Conn>(),
                    );
                    tokio::select! {
                        _ = server.into_future() => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here ends every connection and request still running.
            })
            .expect("spawn the fake server thread");
        let addr = addr_rx.recv().expect("the fake server reports its address");
        FakeServer {
            addr,
            state,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ServerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The profile being served.
    pub fn profile(&self) -> Arc<Profile> {
        self.lock().rest.profile().clone()
    }

    /// Every record of an entity, in creation order.
    pub fn records(&self, entity: &str) -> Vec<Value> {
        self.lock().rest.records(entity)
    }

    /// Puts records in place as if they were already in the system: ids, system numbers and
    /// `updated_at` are assigned when missing (a given `updated_at` is kept and used by
    /// changed-since filters). Not logged, not counted as writes, not validated. For an entity
    /// under a parent path (`/orders/{order_id}/refunds`), give the record an `order_id`
    /// field to place it under that parent; without one it shows under every parent.
    pub fn seed(&self, entity: &str, records: Vec<Value>) {
        self.lock().rest.seed(entity, records);
    }

    /// Changes a record as if a person edited it in the system (merges `patch`, bumps
    /// `updated_at`); not counted as a write. False when there is no such record.
    pub fn modify(&self, entity: &str, id: impl std::fmt::Display, patch: Value) -> bool {
        self.lock().rest.modify(entity, &id.to_string(), &patch)
    }

    /// Deletes a record as if a person removed it in the system; not counted as a write.
    /// False when there is no such record.
    pub fn remove(&self, entity: &str, id: impl std::fmt::Display) -> bool {
        self.lock().rest.remove(entity, &id.to_string())
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RequestLog> {
        self.lock().log.clone()
    }

    /// Requests that changed state: creates, updates that changed something, deletes
    /// (idempotent replays and refused requests are not counted).
    pub fn writes(&self) -> usize {
        self.lock().rest.writes()
    }

    /// Forgets the request log (not the records, nor the write count).
    pub fn clear_log(&self) {
        self.lock().log.clear();
    }

    /// Adds a fault after those already waiting.
    pub fn inject(&self, fault: Fault) {
        let (on, kind) = match fault {
            Fault::Status {
                status,
                times,
                retry_after,
                on,
            } => (
                on,
                SlotKind::Times(
                    times,
                    Act::Status {
                        status,
                        retry_after,
                    },
                ),
            ),
            Fault::Delay { millis, times, on } => (on, SlotKind::Times(times, Act::Delay(millis))),
            Fault::Reset { times, on } => (on, SlotKind::Times(times, Act::Reset)),
            Fault::CommitThenDrop { times, on } => {
                (on, SlotKind::Times(times, Act::CommitThenDrop))
            }
            Fault::CommitThenDropEvery { nth, on } => (
                on,
                SlotKind::Every {
                    nth: nth.max(1),
                    seen: 0,
                },
            ),
            Fault::Malformed { times, on } => (on, SlotKind::Times(times, Act::Malformed)),
        };
        if matches!(kind, SlotKind::Times(0, _)) {
            return;
        }
        self.lock().faults.push(Slot { on, kind });
    }

    /// Answers 429 with `Retry-After` once more than `per_second` requests arrived within the
    /// last second; 0 switches the limit off.
    pub fn set_rate_limit(&self, per_second: u32) {
        let mut state = self.lock();
        state.rate_limit = per_second;
        state.window.clear();
    }

    /// The page size served when a list request asks for none (default 50). A size the client
    /// asks for is served as asked, up to the profile's `max_size` (above it: 400).
    pub fn set_page_size(&self, size: usize) {
        self.lock().rest.set_page_size(size);
    }

    /// The number of the first page for `page` pagination, as the system option `first_page`
    /// sets it for the runtime (default: the profile's `first_page` option, else 0 for
    /// `skippages`, else 1).
    pub fn set_first_page(&self, first: i64) {
        self.lock().rest.set_first_page(first);
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer")
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

// ----- shared state ----------------------------------------------------------------------------

#[derive(Debug)]
struct ServerState {
    rest: Rest,
    log: Vec<RequestLog>,
    faults: Vec<Slot>,
    rate_limit: u32,
    window: VecDeque<Instant>,
}

#[derive(Debug, Clone, Copy)]
enum Act {
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    Delay(u64),
    Reset,
    CommitThenDrop,
    Malformed,
}

#[derive(Debug)]
enum SlotKind {
    Times(usize, Act),
    Every { nth: usize, seen: usize },
}

#[derive(Debug)]
struct Slot {
    on: Match,
    kind: SlotKind,
}

impl ServerState {
    fn matches(&self, on: &Match, method: &str, route: &Route) -> bool {
        on.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && on.entity.as_deref().is_none_or(|want| {
                route
                    .entity()
                    .is_some_and(|got| self.rest.same_records(want, got))
            })
    }

    /// The fault the request takes, consuming one use of it.
    fn take_fault(&mut self, method: &str, route: &Route) -> Option<Act> {
        let mut i = 0;
        while i < self.faults.len() {
            if !self.matches(&self.faults[i].on, method, route) {
                i += 1;
                continue;
            }
            match &mut self.faults[i].kind {
                SlotKind::Every { nth, seen } => {
                    *seen += 1;
                    if *seen % *nth == 0 {
                        return Some(Act::CommitThenDrop);
                    }
                    i += 1;
                }
                SlotKind::Times(times, act) => {
                    let act = *act;
                    *times -= 1;
                    if *times == 0 {
                        self.faults.remove(i);
                    }
                    return Some(act);
                }
            }
        }
        None
    }

    /// Seconds to wait when the rate limit is exceeded; otherwise the request is counted.
    fn rate_limited(&mut self, now: Instant) -> Option<u64> {
        if self.rate_limit == 0 {
            return None;
        }
        while self
            .window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            self.window.pop_front();
        }
        if self.window.len() >= self.rate_limit as usize {
            let oldest = *self.window.front().expect("window is full");
            let wait = Duration::from_secs(1).saturating_sub(now.duration_since(oldest));
            return Some(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        self.window.push_back(now);
        None
    }
}

type Shared = Arc<Mutex<ServerState>>;

fn lock(state: &Shared) -> MutexGuard<'_, ServerState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

// ----- request handling ------------------------------------------------------------------------

async fn handle(
    State(state): State<Shared>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Run apart from the connection, so a client that gives up does not cancel a write.
    let job = tokio::spawn(serve_request(state, conn, method, uri, headers, body));
    job.await
        .unwrap_or_else(|err| to_response(Reply::error(500, err.to_string(), None)))
}

async fn serve_request(
    state: Shared,
    conn: Conn,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw = String::from_utf8_lossy(&body).into_owned();
    let body = if raw.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&raw).unwrap_or(Value::String(raw))
    };
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut entry = RequestLog {
        method: method.as_str().to_ascii_uppercase(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers,
        body,
        status: 0,
        entity: None,
        fault: None,
        dropped: false,
        query_only: false,
        at: Instant::now(),
    };
    let (route, fault) = {
        let mut s = lock(&state);
        let route = s.rest.route(&entry.path);
        entry.entity = route.entity().map(str::to_string);
        entry.query_only = matches!(route, Route::Graphql);
        let fault = s.take_fault(&entry.method, &route);
        (route, fault)
    };
    let mut drop_answer = false;
    match fault {
        None => {}
        Some(Act::Delay(millis)) => {
            entry.fault = Some("delay");
            tokio::time::sleep(Duration::from_millis(millis)).await;
        }
        Some(Act::Reset) => {
            entry.fault = Some("reset");
            entry.dropped = true;
            conn.fate.store(RESET, Ordering::SeqCst);
            lock(&state).log.push(entry);
            return to_response(Reply::error(500, "reset", None));
        }
        Some(Act::Status {
            status,
            retry_after,
        }) => {
            entry.fault = Some("status");
            entry.status = status;
            lock(&state).log.push(entry);
            let mut reply = Reply::error(status, format!("injected fault: status {status}"), None);
            if let Some(seconds) = retry_after {
                reply = reply.with_header("Retry-After", seconds.to_string());
            }
            return to_response(reply);
        }
        Some(Act::Malformed) => {
            entry.fault = Some("malformed");
            entry.status = 200;
            lock(&state).log.push(entry);
            return Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .body(Body::from(r#"{"values": [{"id": 1, "name": "trunc"#))
                .expect("a response");
        }
        Some(Act::CommitThenDrop) => {
            entry.fault = Some("commit_then_drop");
            drop_answer = true;
        }
    }
    let reply = {
        let mut s = lock(&state);
        if let Some(seconds) = s.rate_limited(Instant::now()) {
            entry.fault = entry.fault.or(Some("rate_limit"));
            Reply::error(429, "rate limit exceeded", None)
                .with_header("Retry-After", seconds.to_string())
        } else if !s.rest.authorized(&route, &entry.headers) {
            Reply::error(401, "missing credentials", None)
        } else {
            let host = entry
                .header("host")
                .map(str::to_string)
                .unwrap_or_else(|| "127.0.0.1".into());
            let origin = format!("http://{host}");
            let params = parse_query(&entry.query);
            let list = ListRequest {
                params: &params,
                origin: &origin,
                path: &entry.path,
            };
            s.rest
                .handle(&entry.method, &route, &entry.headers, &entry.body, &list)
        }
    };
    entry.status = reply.status;
    if drop_answer {
        entry.dropped = true;
        conn.fate.store(CLOSE, Ordering::SeqCst);
    }
    lock(&state).log.push(entry);
    to_response(reply)
}

fn to_response(reply: Reply) -> Response {
    let mut response = match &reply.body {
        Some(body) => {
            let mut r = Response::new(Body::from(body.to_string()));
            r.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        None => Response::new(Body::empty()),
    };
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}

// ----- connections that can be dropped ---------------------------------------------------------

const ALIVE: u8 = 0;
const CLOSE: u8 = 1;
const RESET: u8 = 2;

/// A TCP listener whose connections a handler can cut before its answer is written.
struct DropListener(TcpListener);

/// What a handler knows of its connection: the peer and the switch that cuts it.
#[derive(Debug, Clone)]
struct Conn {
    #[allow(dead_code)] // shown by Debug only
    peer: SocketAddr,
    fate: Arc<AtomicU8>,
}

impl Connected<IncomingStream<'_, DropListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, DropListener>) -> Self {
        stream.remote_addr().clone()
    }
}

impl Listener for DropListener {
    type Io = DroppableStream;
    type Addr = Conn;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let fate = Arc::new(AtomicU8::new(ALIVE));
                    let io = DroppableStream {
                        stream,
                        fate: fate.clone(),
                    };
                    return (io, Conn { peer, fate });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(Conn {
            peer: self.0.local_addr()?,
            fate: Arc::default(),
        })
    }
}

/// A TCP stream that refuses to write once its connection is marked for closing, so the
/// answer never leaves and the connection ends (with a reset for [`Fault::Reset`]).
struct DroppableStream {
    stream: TcpStream,
    fate: Arc<AtomicU8>,
}

impl DroppableStream {
    fn cut(&self) -> Option<io::Error> {
        match self.fate.load(Ordering::SeqCst) {
            ALIVE => None,
            RESET => {
                let _ = self.stream.set_zero_linger();
                Some(io::ErrorKind::ConnectionReset.into())
            }
            _ => Some(io::ErrorKind::BrokenPipe.into()),
        }
    }
}

impl AsyncRead for DroppableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.cut().is_some() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for DroppableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(err) = self.cut() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(err) = self.cut() {
            return Poll::Ready(Err(err));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.cut().is_some() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
