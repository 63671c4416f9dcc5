//! The HTTP executor shared by the REST and JSON-RPC transports: one request goes through
//! the throttle, is sent with a timeout, classified, and retried when that is safe.
//!
//! What is retried: connection failures before the request was sent (always), 429 and 503
//! (the server did not process the request), and timeouts, resets, 408 and other 5xx only
//! for requests that are safe to repeat (`Req::repeatable`: reads, updates, creates with an
//! idempotency key). A create without a key that may have reached the server comes back as
//! `Transient` after one attempt, so the caller looks the record up before creating it again.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use reqwest::{
    header::{HeaderMap, HeaderName, HeaderValue},
    Method,
};
use serde_json::Value;

use super::{
    error::ConnectorError,
    limit::Limiter,
    retry::{server_delay, RetryPolicy},
};

/// A request body.
#[derive(Debug, Clone, Default)]
pub(crate) enum Body {
    /// No body.
    #[default]
    None,
    /// A JSON body.
    Json(Value),
    /// A form body (`application/x-www-form-urlencoded`). May hold secrets: never logged.
    Form(Vec<(String, String)>),
}

/// One logical request; the same value is sent again on every retry.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub method: Method,
    pub url: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// Safe to send again after it may have reached the server.
    pub repeatable: bool,
    /// Recognises a 2xx answer that reports throttling in its body (GraphQL `THROTTLED`), so
    /// it is retried like a 429; `None` for plain REST.
    pub throttled_when: Option<ThrottleCheck>,
}

/// Reads a 2xx answer's body: `None` when it is a real answer, `Some(wait)` when the server
/// refused it for its rate limit, with the wait the body asks for if it says.
pub(crate) type ThrottleCheck = fn(&[u8]) -> Option<Option<Duration>>;

impl Req {
    /// A GET (repeatable).
    pub fn get(url: impl Into<String>) -> Self {
        Req {
            method: Method::GET,
            url: url.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::None,
            repeatable: true,
            throttled_when: None,
        }
    }

    /// A request with a JSON body.
    pub fn json(method: Method, url: impl Into<String>, body: Value, repeatable: bool) -> Self {
        Req {
            method,
            url: url.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Json(body),
            repeatable,
            throttled_when: None,
        }
    }

    /// The method and the URL without its query (which may carry tokens), for messages.
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, strip_query(&self.url))
    }
}

/// A response that was read completely.
#[derive(Debug, Clone)]
pub(crate) struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The final URL (after redirects).
    pub url: String,
}

impl Resp {
    /// The body as JSON; an empty body is `null`.
    pub fn json(&self, what: &str) -> Result<Value, ConnectorError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|err| {
            ConnectorError::transient(format!(
                "{what}: the answer is not JSON ({err}): {}",
                snippet(&self.body, 200)
            ))
            .with_status(self.status)
        })
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What became of a request that got an answer.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// 2xx/3xx.
    Done(Resp),
    /// A status the caller renews its credentials on (401, and 403 for Tryton).
    Unauthorized(Resp),
}

/// Counters of one client.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub calls: AtomicU64,
    pub rate_limited: AtomicU64,
    pub retries: AtomicU64,
}

/// Authentication headers: marked sensitive so they never show in `Debug` output.
pub(crate) type AuthHeaders = Vec<(HeaderName, HeaderValue)>;

/// The executor.
#[derive(Debug)]
pub(crate) struct Http {
    pub client: reqwest::Client,
    pub limiter: Limiter,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    pub stats: Stats,
    pub alias: String,
}

enum SendError {
    /// The request never left (connect failure): always safe to retry.
    NotSent(String),
    /// The request may have reached the server (timeout, reset, broken answer).
    MaybeSent(String),
    /// The request could not be built.
    Invalid(String),
}

impl Http {
    /// A new executor.
    pub fn new(alias: &str, limiter: Limiter, timeout: Duration) -> Result<Self, ConnectorError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("ledgerlink/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|err| {
                ConnectorError::config(format!("cannot set up the HTTP client: {err}"))
            })?;
        Ok(Http {
            client,
            limiter,
            retry: RetryPolicy::default(),
            timeout,
            stats: Stats::default(),
            alias: alias.to_string(),
        })
    }

    /// Sends a request with retries. `renew_on` lists the statuses returned as
    /// [`Outcome::Unauthorized`] instead of an `Auth` error.
    pub async fn execute(
        &self,
        req: &Req,
        auth: &AuthHeaders,
        renew_on: &[u16],
    ) -> Result<Outcome, ConnectorError> {
        let what = req.describe();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let permit = self.limiter.acquire().await;
            let sent = permit.sent();
            self.stats.calls.fetch_add(1, Ordering::Relaxed);
            let result = self.send_once(req, auth).await;
            drop(permit);
            let body_throttle = match (&result, req.throttled_when) {
                (Ok(resp), Some(check)) if (200..300).contains(&resp.status) => check(&resp.body),
                _ => None,
            };
            if body_throttle.is_none() && !matches!(&result, Ok(resp) if resp.status == 429) {
                self.limiter.succeeded();
            }
            let (error, hint, retryable, throttled) = match result {
                // Throttled in the body of a 200 (GraphQL): the query was not run, so it is
                // retried like a 429, sharing the system's back-off.
                Ok(resp) if body_throttle.is_some() => {
                    self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(system = %self.alias, request = %what, attempt, "throttled");
                    let error = ConnectorError::transient(format!(
                        "{what}: throttled{}",
                        super::suffix(&server_message(&resp.body))
                    ))
                    .with_status(resp.status);
                    (error, body_throttle.flatten(), true, true)
                }
                Ok(resp) => {
                    let status = resp.status;
                    tracing::debug!(system = %self.alias, request = %what, status, attempt, "answer");
                    if (200..400).contains(&status) {
                        return Ok(Outcome::Done(resp));
                    }
                    if renew_on.contains(&status) {
                        return Ok(Outcome::Unauthorized(resp));
                    }
                    let body_json = serde_json::from_slice::<Value>(&resp.body).ok();
                    let detail = super::suffix(&server_message(&resp.body));
                    match status {
                        401 | 403 => {
                            return Err(ConnectorError::auth(format!(
                                "{what}: credentials refused (HTTP {status}){detail}"
                            ))
                            .with_status(status))
                        }
                        404 | 410 => {
                            return Err(ConnectorError::not_found(format!(
                                "{what}: not found (HTTP {status}){detail}"
                            ))
                            .with_status(status))
                        }
                        408 | 429 | 500..=599 => {
                            let throttled = status == 429;
                            if throttled {
                                self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                            }
                            // 429 and 503 mean the request was not processed.
                            let retryable = req.repeatable || status == 429 || status == 503;
                            let mut message = format!("{what}: HTTP {status}{detail}");
                            if !retryable {
                                message.push_str(
                                    "; the request may have been processed: look the record up before creating it again",
                                );
                            }
                            let error = ConnectorError::transient(message).with_status(status);
                            let hint = server_delay(status, &resp.headers, body_json.as_ref());
                            (error, hint, retryable, throttled)
                        }
                        _ => {
                            return Err(ConnectorError::permanent(format!(
                                "{what}: refused (HTTP {status}){detail}"
                            ))
                            .with_status(status))
                        }
                    }
                }
                Err(SendError::Invalid(message)) => {
                    return Err(ConnectorError::config(format!("{what}: {message}")))
                }
                Err(SendError::NotSent(message)) => {
                    tracing::debug!(system = %self.alias, request = %what, attempt, "not sent: {message}");
                    (
                        ConnectorError::transient(format!("{what}: {message}")),
                        None,
                        true,
                        false,
                    )
                }
                Err(SendError::MaybeSent(message)) => {
                    tracing::debug!(system = %self.alias, request = %what, attempt, "failed: {message}");
                    let mut text = format!("{what}: {message}");
                    if !req.repeatable {
                        text.push_str(
                            "; the request may have reached the server: look the record up before creating it again",
                        );
                    }
                    (ConnectorError::transient(text), None, req.repeatable, false)
                }
            };
            let too_long = hint.filter(|wait| *wait > self.retry.cap);
            // A 429 holds back every request of the system (the limiter's shared back-off),
            // even when this one is not retried; the retry then waits in `acquire` with the
            // others. Other failures wait on their own.
            let shared = match (throttled, too_long) {
                (true, None) => Some(self.limiter.throttled(sent, hint, &self.retry)),
                _ => None,
            };
            if !retryable || attempt >= self.retry.max_attempts {
                return Err(error);
            }
            if let Some(wait) = too_long {
                let mut error = error;
                error
                    .message
                    .push_str(&format!("; the server asks to wait {} s", wait.as_secs()));
                return Err(error);
            }
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            let delay =
                shared.unwrap_or_else(|| hint.unwrap_or_else(|| self.retry.backoff(attempt)));
            tracing::debug!(
                system = %self.alias,
                request = %what,
                attempt,
                wait_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "retrying"
            );
            if shared.is_none() {
                tokio::time::sleep(delay).await;
            }
        }
    }

    async fn send_once(&self, req: &Req, auth: &AuthHeaders) -> Result<Resp, SendError> {
        let mut builder = self.client.request(req.method.clone(), &req.url);
        if !req.query.is_empty() {
            builder = builder.query(&req.query);
        }
        for (name, value) in &req.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        for (name, value) in auth {
            builder = builder.header(name.clone(), value.clone());
        }
        builder = match &req.body {
            Body::None => builder,
            Body::Json(value) => builder.json(value),
            Body::Form(fields) => builder.form(fields),
        };
        let request = builder
            .build()
            .map_err(|err| SendError::Invalid(error_chain(&err.without_url())))?;
        let future = async {
            let response = self.client.execute(request).await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let url = response.url().to_string();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>(Resp {
                status,
                headers,
                body: body.to_vec(),
                url,
            })
        };
        match tokio::time::timeout(self.timeout, future).await {
            Err(_) => Err(SendError::MaybeSent(format!(
                "no answer within {} ms",
                self.timeout.as_millis()
            ))),
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(err)) if err.is_connect() => {
                Err(SendError::NotSent(error_chain(&err.without_url())))
            }
            Ok(Err(err)) if err.is_builder() => {
                Err(SendError::Invalid(error_chain(&err.without_url())))
            }
            Ok(Err(err)) => Err(SendError::MaybeSent(error_chain(&err.without_url()))),
        }
    }
}

/// An error and its causes on one line.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A URL without its query string and fragment.
pub(crate) fn strip_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// The start of a body as text, for messages.
pub(crate) fn snippet(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    truncate(text.split_whitespace().collect::<Vec<_>>().join(" "), max)
}

fn truncate(mut text: String, max: usize) -> String {
    if text.chars().count() > max {
        let end = text.char_indices().nth(max).map_or(text.len(), |(i, _)| i);
        text.truncate(end);
        text.push('…');
    }
    text
}

/// The server's own error text from an error body: JSON messages (`message`, `detail`,
/// `errors`, Tripletex `validationMessages`, e-conomic `errors.<field>.errors`, problem+json),
/// else the body's text without markup.
pub(crate) fn server_message(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    if let Ok(json) = serde_json::from_str::<Value>(text) {
        let mut parts = Vec::new();
        collect_messages(&json, None, false, &mut parts, 0);
        let mut unique: Vec<String> = Vec::new();
        for part in parts {
            if !unique.contains(&part) {
                unique.push(part);
            }
        }
        if unique.is_empty() {
            return truncate(json.to_string(), 500);
        }
        return truncate(unique.join("; "), 1000);
    }
    let mut plain = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    truncate(plain.split_whitespace().collect::<Vec<_>>().join(" "), 300)
}

const MESSAGE_KEYS: &[&str] = &[
    "message",
    "errormessage",
    "error_description",
    "detail",
    "developermessage",
    "title",
];
const CONTAINER_KEYS: &[&str] = &[
    "error",
    "errors",
    "validationmessages",
    "validation_errors",
    "fault",
    "faultstring",
    "modelstate",
];

fn collect_messages(
    value: &Value,
    field: Option<&str>,
    keyed: bool,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > 6 || out.len() >= 20 {
        return;
    }
    let push = |out: &mut Vec<String>, text: &str| {
        let text = text.trim();
        if !text.is_empty() {
            out.push(match field {
                Some(field) => format!("{field}: {text}"),
                None => text.to_string(),
            });
        }
    };
    match value {
        Value::String(text) => push(out, text),
        Value::Array(items) => {
            for item in items.iter().take(20) {
                collect_messages(item, field, false, out, depth + 1);
            }
        }
        Value::Object(map) => {
            let own_field = map
                .iter()
                .find(|(k, _)| {
                    matches!(
                        k.to_ascii_lowercase().as_str(),
                        "field" | "property" | "propertyname" | "path"
                    )
                })
                .and_then(|(_, v)| v.as_str());
            let field = own_field.or(field);
            let mut found = false;
            for (key, item) in map {
                let lower = key.to_ascii_lowercase();
                if lower != "title" && MESSAGE_KEYS.contains(&lower.as_str()) {
                    let before = out.len();
                    collect_messages(item, field, false, out, depth + 1);
                    found |= out.len() > before;
                } else if CONTAINER_KEYS.contains(&lower.as_str()) {
                    let before = out.len();
                    collect_messages(item, field, item.is_object(), out, depth + 1);
                    found |= out.len() > before;
                }
            }
            if !found {
                // A problem+json `title` only when there is nothing more precise.
                if let Some((_, title)) = map.iter().find(|(k, _)| k.eq_ignore_ascii_case("title"))
                {
                    let before = out.len();
                    collect_messages(title, field, false, out, depth + 1);
                    found |= out.len() > before;
                }
            }
            if !found && keyed {
                // `{"fieldName": {...}}` under an `errors` key: the key names the field.
                for (key, item) in map {
                    collect_messages(item, Some(key), false, out, depth + 1);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages() {
        let tripletex =
            br#"{"status":422,"code":18000,"message":"Validering feilet.","developerMessage":null,
            "validationMessages":[{"field":"name","message":"Feltet m\u00e5 fylles ut."}]}"#;
        assert_eq!(
            server_message(tripletex),
            "Validering feilet.; name: Feltet må fylles ut."
        );
        let economic = br#"{"message":"Validation failed.","errors":{"customerNumber":{"errors":[{"errorMessage":"Already in use."}]}}}"#;
        assert_eq!(
            server_message(economic),
            "Validation failed.; customerNumber: Already in use."
        );
        let problem =
            br#"{"type":"about:blank","title":"Bad Request","detail":"name is required"}"#;
        assert_eq!(server_message(problem), "name is required");
        assert_eq!(
            server_message(b"<html><body><h1>Bad</h1> request</body></html>"),
            "Bad request"
        );
        assert_eq!(
            server_message(br#"{"error":"invalid_client"}"#),
            "invalid_client"
        );
    }
}
