//! Authentication: fixed headers (`bearer`, `api_key`, `basic`) and tokens obtained by a
//! login call and cached until they expire or the server answers 401
//! (`oauth2_client_credentials`, `session_token`, `json_rpc_login`).
//!
//! Header values are marked sensitive and never logged. Conventions where the profile format
//! is silent:
//! - `bearer`: `Authorization: Bearer <first credential>` (or the profile's `auth.header`).
//! - `api_key`: the credential whose name ends the header name (`access_token` →
//!   `X-Shopify-Access-Token`, `agreement_grant_token` → `X-AgreementGrantToken`), else the
//!   first credential, goes in `auth.header` (default `Authorization`); every other credential
//!   goes in `X-<CamelCaseName>` (`app_secret_token` → `X-AppSecretToken`, as e-conomic needs).
//! - `basic`: credentials `user`/`username` and `password`, else the first two.
//! - `oauth2_client_credentials`: `POST token_url` form `grant_type=client_credentials`,
//!   `client_id`, `client_secret` (else the first two credentials) and `scope` (option
//!   `scope`, when set); the answer's `access_token` is sent as a Bearer token until
//!   `expires_in` (less a margin) or a 401.
//! - `session_token`: `POST token_url` with a JSON object of every credential (key → value);
//!   the token is the first string at `/token`, `/value/token`, `/access_token`,
//!   `/accessToken`, `/AccessToken`, `/Token`, `/ticket`, `/sessionId`, or the body itself when
//!   it is a JSON string; expiry from `expires_in`/`expiresIn`/`ExpiresIn` seconds. It is sent
//!   as `Authorization: Bearer <token>`, or as the raw value of `auth.header` when the profile
//!   names one. Systems with another login shape (Tripletex `PUT …/:create` with query
//!   parameters, webCRM's form `authCode`, 24SevenOffice SOAP) need their own login adapter.
//! - `json_rpc_login`: Tryton's `common.db.login [login, {"password": …}, language]` on the
//!   RPC URL, then `Authorization: Session base64("login:user_id:session")`; renewed once on
//!   401 or 403.

use std::time::Duration;

use base64::Engine;
use reqwest::{
    header::{HeaderName, HeaderValue, AUTHORIZATION},
    Method,
};
use serde_json::{json, Value};
use tokio::{sync::Mutex, time::Instant};

use crate::connector::profile::{Auth as AuthSpec, AuthKind};

use super::{
    credential::{Credentials, Secret},
    error::{ConnectorError, ConnectorErrorKind},
    http::{AuthHeaders, Body, Http, Outcome, Req},
};

/// How a token is obtained.
#[derive(Debug)]
enum Login {
    OAuth2 {
        url: String,
        form: Vec<(String, Secret)>,
    },
    Session {
        url: String,
        body: Vec<(String, Secret)>,
        header: Option<String>,
    },
    JsonRpc {
        url: String,
        method: String,
        login: Secret,
        password: Secret,
        language: String,
    },
}

#[derive(Debug)]
struct Token {
    headers: AuthHeaders,
    expires: Option<Instant>,
    generation: u64,
}

/// The authentication state of one system.
#[derive(Debug)]
pub(crate) struct Authenticator {
    kind: AuthKind,
    fixed: AuthHeaders,
    login: Option<Login>,
    token: Mutex<Option<Token>>,
    generation: Mutex<u64>,
}

/// Extra settings of a login, from the system's options.
#[derive(Debug, Default)]
pub(crate) struct LoginSettings {
    /// `token_url` with its placeholders filled (REST), or the RPC URL (JSON-RPC).
    pub url: Option<String>,
    /// OAuth2 scope.
    pub scope: Option<String>,
    /// Tryton login language.
    pub language: String,
}

impl Authenticator {
    /// No authentication.
    pub fn none() -> Self {
        Authenticator {
            kind: AuthKind::None,
            fixed: Vec::new(),
            login: None,
            token: Mutex::new(None),
            generation: Mutex::new(0),
        }
    }

    /// Sets up the scheme of a profile from resolved credentials.
    pub fn new(
        alias: &str,
        spec: &AuthSpec,
        credentials: &Credentials,
        settings: LoginSettings,
    ) -> Result<Self, ConnectorError> {
        for key in &spec.credentials {
            if credentials.get(key).is_none() {
                let variable = format!("{alias}_{key}").to_uppercase();
                return Err(ConnectorError::config(format!(
                    "system `{alias}` needs the credential `{key}`: add `auth: {{ {key}: env:{variable} }}`"
                )));
            }
        }
        let order = &spec.credentials;
        let need = |index: usize, what: &str| -> Result<(&str, &Secret), ConnectorError> {
            credentials.nth(order, index).ok_or_else(|| {
                ConnectorError::config(format!(
                    "system `{alias}` needs {what} in its `auth` (the profile lists no credential for it)"
                ))
            })
        };
        let mut auth = Authenticator::none();
        auth.kind = spec.kind;
        match spec.kind {
            AuthKind::None => {}
            AuthKind::Bearer => {
                let (_, token) = need(0, "a token")?;
                let name = header_name(spec.header.as_deref().unwrap_or("Authorization"))?;
                auth.fixed
                    .push((name, sensitive(&format!("Bearer {}", token.expose()))?));
            }
            AuthKind::ApiKey => {
                let header = spec.header.as_deref().unwrap_or("Authorization");
                let wanted = squash(header);
                let main = credentials
                    .iter()
                    .filter(|(k, _)| order.is_empty() || order.iter().any(|o| o == k))
                    .find(|(k, _)| wanted.ends_with(&squash(k)))
                    .map(|(k, _)| k.to_string())
                    .or_else(|| need(0, "an API key").ok().map(|(k, _)| k.to_string()))
                    .ok_or_else(|| {
                        ConnectorError::config(format!("system `{alias}` needs an API key"))
                    })?;
                for (key, value) in credentials.iter() {
                    if !order.is_empty() && !order.iter().any(|o| o == key) {
                        continue;
                    }
                    let name = if key == main {
                        header.to_string()
                    } else {
                        format!("X-{}", camel(key))
                    };
                    auth.fixed
                        .push((header_name(&name)?, sensitive(value.expose())?));
                }
            }
            AuthKind::Basic => {
                let user = credentials
                    .get("user")
                    .or_else(|| credentials.get("username"));
                let password = credentials.get("password");
                let (user, password) = match (user, password) {
                    (Some(user), Some(password)) => (user, password),
                    _ => (need(0, "a user name")?.1, need(1, "a password")?.1),
                };
                let encoded = base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    user.expose(),
                    password.expose()
                ));
                auth.fixed
                    .push((AUTHORIZATION, sensitive(&format!("Basic {encoded}"))?));
            }
            AuthKind::Oauth2ClientCredentials => {
                let url = settings.url.ok_or_else(|| {
                    ConnectorError::config(format!(
                        "system `{alias}`: the profile has no `auth.token_url` for OAuth2"
                    ))
                })?;
                let id = credentials
                    .get("client_id")
                    .map_or_else(|| need(0, "a client id").map(|(_, v)| v), Ok)?;
                let secret = credentials
                    .get("client_secret")
                    .map_or_else(|| need(1, "a client secret").map(|(_, v)| v), Ok)?;
                let mut form = vec![
                    ("grant_type".to_string(), Secret::new("client_credentials")),
                    ("client_id".to_string(), id.clone()),
                    ("client_secret".to_string(), secret.clone()),
                ];
                if let Some(scope) = settings.scope {
                    form.push(("scope".to_string(), Secret::new(scope)));
                }
                auth.login = Some(Login::OAuth2 { url, form });
            }
            AuthKind::SessionToken => {
                let url = settings.url.ok_or_else(|| {
                    ConnectorError::config(format!(
                        "system `{alias}`: the profile has no `auth.token_url` to log in at"
                    ))
                })?;
                let body = credentials
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                auth.login = Some(Login::Session {
                    url,
                    body,
                    header: spec.header.clone(),
                });
            }
            AuthKind::JsonRpcLogin => {
                let url = settings.url.ok_or_else(|| {
                    ConnectorError::config(format!("system `{alias}` has no RPC URL"))
                })?;
                let login = credentials
                    .get("login")
                    .map_or_else(|| need(0, "a login").map(|(_, v)| v), Ok)?
                    .clone();
                let password = credentials
                    .get("password")
                    .map_or_else(|| need(1, "a password").map(|(_, v)| v), Ok)?
                    .clone();
                auth.login = Some(Login::JsonRpc {
                    url,
                    method: spec
                        .token_url
                        .clone()
                        .unwrap_or_else(|| "common.db.login".to_string()),
                    login,
                    password,
                    language: settings.language,
                });
            }
        }
        Ok(auth)
    }

    /// The statuses on which the token is renewed once.
    pub fn renew_on(&self) -> &'static [u16] {
        match self.kind {
            AuthKind::JsonRpcLogin => &[401, 403],
            AuthKind::Oauth2ClientCredentials | AuthKind::SessionToken => &[401],
            _ => &[],
        }
    }

    /// The scheme.
    pub fn kind(&self) -> AuthKind {
        self.kind
    }

    /// The headers to send, logging in first when needed; with the token's generation.
    pub async fn headers(&self, http: &Http) -> Result<(AuthHeaders, u64), ConnectorError> {
        let Some(login) = &self.login else {
            return Ok((self.fixed.clone(), 0));
        };
        let mut token = self.token.lock().await;
        if let Some(current) = token.as_ref() {
            if current.expires.is_none_or(|at| at > Instant::now()) {
                return Ok((current.headers.clone(), current.generation));
            }
        }
        let (headers, lifetime) = log_in(http, login).await?;
        // The token a login returns is as secret as the credentials it was bought with.
        for (_, value) in &headers {
            if let Ok(text) = value.to_str() {
                crate::redact::register(text);
                if let Some((_, token)) = text.rsplit_once(' ') {
                    crate::redact::register(token);
                }
            }
        }
        let generation = {
            let mut generation = self.generation.lock().await;
            *generation += 1;
            *generation
        };
        let expires = lifetime.map(|life| {
            let margin = (life / 10).min(Duration::from_secs(60));
            Instant::now() + life.saturating_sub(margin)
        });
        *token = Some(Token {
            headers: headers.clone(),
            expires,
            generation,
        });
        Ok((headers, generation))
    }

    /// Forgets the token of `generation` (after a 401), so the next call logs in again.
    pub async fn invalidate(&self, generation: u64) {
        let mut token = self.token.lock().await;
        if token.as_ref().is_some_and(|t| t.generation == generation) {
            *token = None;
        }
    }
}

async fn log_in(
    http: &Http,
    login: &Login,
) -> Result<(AuthHeaders, Option<Duration>), ConnectorError> {
    match login {
        Login::OAuth2 { url, form } => {
            let mut req = Req::get(url.clone());
            req.method = Method::POST;
            req.body = Body::Form(
                form.iter()
                    .map(|(k, v)| (k.clone(), v.expose().to_string()))
                    .collect(),
            );
            let body = login_call(http, &req).await?;
            let token = body
                .get("access_token")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ConnectorError::auth(format!(
                        "{}: the answer has no `access_token`",
                        req.describe()
                    ))
                })?;
            let headers = vec![(AUTHORIZATION, sensitive(&format!("Bearer {token}"))?)];
            Ok((headers, expires_in(&body)))
        }
        Login::Session { url, body, header } => {
            let object: serde_json::Map<String, Value> = body
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.expose().to_string())))
                .collect();
            let req = Req::json(Method::POST, url.clone(), Value::Object(object), true);
            let answer = login_call(http, &req).await?;
            let token = [
                "/token",
                "/value/token",
                "/access_token",
                "/accessToken",
                "/AccessToken",
                "/Token",
                "/ticket",
                "/sessionId",
            ]
            .iter()
            .find_map(|p| answer.pointer(p).and_then(Value::as_str))
            .or_else(|| answer.as_str())
            .ok_or_else(|| {
                ConnectorError::auth(format!(
                    "{}: no session token in the answer",
                    req.describe()
                ))
            })?;
            let headers = match header {
                Some(name) => vec![(header_name(name)?, sensitive(token)?)],
                None => vec![(AUTHORIZATION, sensitive(&format!("Bearer {token}"))?)],
            };
            Ok((headers, expires_in(&answer)))
        }
        Login::JsonRpc {
            url,
            method,
            login,
            password,
            language,
        } => {
            let body = json!({
                "method": method,
                "params": [login.expose(), {"password": password.expose()}, language],
                "id": 0,
            });
            let req = Req::json(Method::POST, url.clone(), body, true);
            let answer = login_call(http, &req).await?;
            if let Some(error) = answer.get("error").filter(|e| !e.is_null()) {
                return Err(ConnectorError::auth(format!(
                    "{method}: login refused: {}",
                    super::json_rpc::error_text(error)
                )));
            }
            let result = answer.get("result").cloned().unwrap_or(Value::Null);
            let user = result.get(0).filter(|u| u.is_i64() || u.is_u64());
            let session = result.get(1).and_then(Value::as_str);
            let (Some(user), Some(session)) = (user, session) else {
                return Err(ConnectorError::auth(format!(
                    "{method}: login refused (no session in the answer)"
                )));
            };
            let encoded = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{user}:{session}", login.expose()));
            let headers = vec![(AUTHORIZATION, sensitive(&format!("Session {encoded}"))?)];
            Ok((headers, None))
        }
    }
}

/// Sends a login request; refusals become `Auth` errors.
async fn login_call(http: &Http, req: &Req) -> Result<Value, ConnectorError> {
    let outcome = http
        .execute(req, &Vec::new(), &[])
        .await
        .map_err(|err| match err.kind {
            ConnectorErrorKind::Permanent => ConnectorError {
                kind: ConnectorErrorKind::Auth,
                message: format!("login failed: {}", err.message),
                status: err.status,
            },
            _ => err,
        })?;
    let resp = match outcome {
        Outcome::Done(resp) | Outcome::Unauthorized(resp) => resp,
    };
    resp.json(&req.describe())
}

fn expires_in(body: &Value) -> Option<Duration> {
    ["expires_in", "expiresIn", "ExpiresIn"]
        .iter()
        .find_map(|k| body.get(*k))
        .and_then(|v| match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .filter(|s| s.is_finite() && *s > 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
}

fn header_name(name: &str) -> Result<HeaderName, ConnectorError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ConnectorError::config(format!("`{name}` is not a valid header name")))
}

fn sensitive(value: &str) -> Result<HeaderValue, ConnectorError> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        ConnectorError::config(
            "a credential holds characters that cannot be sent in a header (a newline?)",
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// Lower-case letters and digits only.
fn squash(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// `app_secret_token` → `AppSecretToken`.
fn camel(key: &str) -> String {
    key.split(['_', '-', ' '])
        .filter(|p| !p.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_headers_follow_the_credential_names() {
        let spec: AuthSpec = serde_yaml_ng::from_str(
            "kind: api_key\ncredentials: [app_secret_token, agreement_grant_token]\nheader: X-AgreementGrantToken",
        )
        .unwrap_or_default();
        let credentials = Credentials::from_values([
            ("app_secret_token", Secret::new("s1")),
            ("agreement_grant_token", Secret::new("g1")),
        ]);
        let auth = Authenticator::new("erp", &spec, &credentials, LoginSettings::default())
            .map_err(|e| e.message)
            .unwrap_or_else(|m| panic!("{m}"));
        let headers: Vec<(String, String)> = auth
            .fixed
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        assert_eq!(
            headers,
            vec![
                ("x-appsecrettoken".to_string(), "s1".to_string()),
                ("x-agreementgranttoken".to_string(), "g1".to_string())
            ]
        );
        assert!(!format!("{auth:?}").contains("s1"));
    }
}
