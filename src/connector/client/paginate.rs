//! Pagination of list calls (profile `pagination`): page numbers, offsets, cursors in the
//! body, RFC 8288 `Link` headers, or one response. Also where the records sit in a response.
//!
//! Conventions where the profile format is silent:
//! - The page size asked for is `max_size`, or 100 when the profile gives none.
//! - `page` numbering starts at 1, or at 0 when the parameter is `skippages` (e-conomic), for
//!   Fiken (0-based by its spec), or when the system's (or profile's) option `first_page`
//!   says so.
//! - A list ends on an empty page, on a page shorter than the size asked for (when a size
//!   was sent), when a declared `next` pointer is missing or null, or when there is no
//!   `rel="next"` link. A `cursor` whose value is a URL is followed as is.
//! - A list that repeats a cursor or link, or passes the page cap, is an error.

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::connector::profile::{Pagination, PaginationKind};

use super::error::ConnectorError;

/// Page size asked for when the profile gives no `max_size`.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// Most pages read for one list before giving up.
pub const DEFAULT_MAX_PAGES: u32 = 100_000;

/// What to fetch next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Next {
    /// The list is complete.
    Done,
    /// The first request's URL again, with these paging parameters.
    Params(Vec<(String, String)>),
    /// This URL, as is.
    Url(String),
}

/// The paging state of one list.
#[derive(Debug)]
pub(crate) struct Pager {
    kind: PaginationKind,
    param: Option<String>,
    size_param: Option<String>,
    size: u32,
    next_pointer: Option<String>,
    page: i64,
    offset: u64,
    pages: u32,
    max_pages: u32,
    seen: Vec<String>,
}

impl Pager {
    /// A pager for a profile's pagination (`None` = one response).
    pub fn new(pagination: Option<&Pagination>, first_page: Option<i64>, max_pages: u32) -> Self {
        let kind = pagination.map_or(PaginationKind::None, |p| p.kind);
        let param = pagination.and_then(|p| p.param.clone());
        let first = first_page.unwrap_or_else(|| {
            if param.as_deref() == Some("skippages") {
                0
            } else {
                1
            }
        });
        Pager {
            kind,
            param,
            size_param: pagination.and_then(|p| p.size_param.clone()),
            size: pagination
                .and_then(|p| p.max_size)
                .unwrap_or(DEFAULT_PAGE_SIZE)
                .max(1),
            next_pointer: pagination.and_then(|p| p.next.clone()),
            page: first,
            offset: 0,
            pages: 0,
            max_pages,
            seen: Vec::new(),
        }
    }

    /// The page size asked for, when one is sent.
    pub fn size(&self) -> Option<u32> {
        self.size_param.as_ref().map(|_| self.size)
    }

    /// Paging parameters of the first request.
    pub fn first(&self) -> Vec<(String, String)> {
        let mut params = Vec::new();
        match self.kind {
            PaginationKind::Page => {
                if let Some(param) = &self.param {
                    params.push((param.clone(), self.page.to_string()));
                }
            }
            PaginationKind::Offset => {
                if let Some(param) = &self.param {
                    params.push((param.clone(), "0".to_string()));
                }
            }
            PaginationKind::Cursor | PaginationKind::LinkHeader | PaginationKind::None => {}
        }
        if self.kind != PaginationKind::None {
            if let Some(size_param) = &self.size_param {
                params.push((size_param.clone(), self.size.to_string()));
            }
        }
        params
    }

    /// After a page of `count` records: what comes next. `what` names the list in errors.
    pub fn next(
        &mut self,
        what: &str,
        headers: &HeaderMap,
        body: &Value,
        count: usize,
    ) -> Result<Next, ConnectorError> {
        self.pages += 1;
        let short = self
            .size()
            .is_some_and(|size| count < usize::try_from(size).unwrap_or(usize::MAX));
        let next = match self.kind {
            PaginationKind::None => Next::Done,
            PaginationKind::Page | PaginationKind::Offset => {
                let declared_end = self
                    .next_pointer
                    .as_deref()
                    .is_some_and(|p| body.pointer(p).is_none_or(is_empty));
                if count == 0 || short || declared_end || self.param.is_none() {
                    Next::Done
                } else {
                    let param = self.param.clone().unwrap_or_default();
                    let value = if self.kind == PaginationKind::Page {
                        self.page += 1;
                        self.page.to_string()
                    } else {
                        self.offset += count as u64;
                        self.offset.to_string()
                    };
                    let mut params = vec![(param, value)];
                    if let Some(size_param) = &self.size_param {
                        params.push((size_param.clone(), self.size.to_string()));
                    }
                    Next::Params(params)
                }
            }
            PaginationKind::Cursor => {
                let pointer = self.next_pointer.as_deref().unwrap_or("/next");
                match body.pointer(pointer) {
                    Some(value) if !is_empty(value) && count > 0 => {
                        let cursor = match value {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        self.remember(what, &cursor)?;
                        if looks_like_url(&cursor) {
                            Next::Url(cursor)
                        } else {
                            let param = self.param.clone().unwrap_or_else(|| "cursor".to_string());
                            let mut params = vec![(param, cursor)];
                            if let Some(size_param) = &self.size_param {
                                params.push((size_param.clone(), self.size.to_string()));
                            }
                            Next::Params(params)
                        }
                    }
                    _ => Next::Done,
                }
            }
            PaginationKind::LinkHeader => match link_next(headers) {
                Some(url) if count > 0 => {
                    self.remember(what, &url)?;
                    Next::Url(url)
                }
                _ => Next::Done,
            },
        };
        if next != Next::Done && self.pages >= self.max_pages {
            return Err(ConnectorError::config(format!(
                "{what}: the list did not end after {} pages; check the profile's `pagination`",
                self.pages
            )));
        }
        Ok(next)
    }

    fn remember(&mut self, what: &str, token: &str) -> Result<(), ConnectorError> {
        if self.seen.iter().any(|s| s == token) {
            return Err(ConnectorError::config(format!(
                "{what}: the server sent the same next page twice; check the profile's `pagination`"
            )));
        }
        self.seen.push(token.to_string());
        if self.seen.len() > 4 {
            self.seen.remove(0);
        }
        Ok(())
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        _ => false,
    }
}

fn looks_like_url(text: &str) -> bool {
    text.starts_with("http://") || text.starts_with("https://") || text.starts_with('/')
}

/// The `rel="next"` target of RFC 8288 `Link` headers.
pub(crate) fn link_next(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(text) = value.to_str() else { continue };
        for link in split_links(text) {
            let link = link.trim();
            let Some(rest) = link.strip_prefix('<') else {
                continue;
            };
            let Some((target, params)) = rest.split_once('>') else {
                continue;
            };
            let is_next = params.split(';').any(|param| {
                let Some((name, value)) = param.split_once('=') else {
                    return false;
                };
                name.trim().eq_ignore_ascii_case("rel")
                    && value
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|rel| rel.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return Some(target.trim().to_string());
            }
        }
    }
    None
}

/// Splits a `Link` header at the commas between links (not those inside `<…>` or quotes).
fn split_links(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut in_url, mut in_quote, mut start) = (false, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            '<' if !in_quote => in_url = true,
            '>' if !in_quote => in_url = false,
            '"' if !in_url => in_quote = !in_quote,
            ',' if !in_url && !in_quote => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The records of a list response. `pointer` is the profile's `items` (`""` or absent for a
/// bare array, `/values`, or `/{resource}` for the entity path's last segment without
/// `.json`). A body that does not have them there is read leniently: a bare array, an object
/// with exactly one array member, or a `{"value": …}` wrapper.
pub(crate) fn items(
    what: &str,
    body: Value,
    pointer: Option<&str>,
    path: &str,
) -> Result<Vec<Value>, ConnectorError> {
    let pointer = pointer.unwrap_or("");
    let pointer = if pointer.contains("{resource}") {
        pointer.replace("{resource}", &resource_name(path))
    } else {
        pointer.to_string()
    };
    let mut body = body;
    if !pointer.is_empty() {
        if let Some(found) = body.pointer_mut(&pointer) {
            let found = found.take();
            return match found {
                Value::Array(items) => Ok(items),
                Value::Null => Ok(Vec::new()),
                object @ Value::Object(_) => Ok(vec![object]),
                other => Err(ConnectorError::transient(format!(
                    "{what}: `{pointer}` in the answer is not a list: {}",
                    truncate_json(&other)
                ))),
            };
        }
    }
    match body {
        Value::Array(items) => Ok(items),
        Value::Null => Ok(Vec::new()),
        Value::Object(mut map) => {
            if map.len() == 1 {
                let key = map.keys().next().cloned().unwrap_or_default();
                if let Some(Value::Array(_)) = map.get(&key) {
                    if let Some(Value::Array(items)) = map.shift_remove(&key) {
                        return Ok(items);
                    }
                }
                if let Some(value) = map.get_mut("value") {
                    return items(what, value.take(), None, path);
                }
            }
            if !pointer.is_empty() {
                return Err(ConnectorError::transient(format!(
                    "{what}: the answer has no `{pointer}`: {}",
                    truncate_json(&Value::Object(map))
                )));
            }
            Ok(vec![Value::Object(map)])
        }
        other => Err(ConnectorError::transient(format!(
            "{what}: the answer is not a list: {}",
            truncate_json(&other)
        ))),
    }
}

/// `/orders.json` → `orders`; `/v1/Contact` → `Contact`.
pub(crate) fn resource_name(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    last.strip_suffix(".json").unwrap_or(last).to_string()
}

fn truncate_json(value: &Value) -> String {
    super::http::snippet(value.to_string().as_bytes(), 200)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use serde_json::json;

    #[test]
    fn link_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::LINK,
            HeaderValue::from_static(
                "<https://x.myshopify.com/a.json?page_info=p1,b>; rel=\"previous\", <https://x.myshopify.com/a.json?page_info=n2&limit=5>; rel=\"next\"",
            ),
        );
        assert_eq!(
            link_next(&headers).as_deref(),
            Some("https://x.myshopify.com/a.json?page_info=n2&limit=5")
        );
        assert_eq!(link_next(&HeaderMap::new()), None);
    }

    #[test]
    fn item_pointers() {
        let body = json!({"orders": [{"id": 1}, {"id": 2}]});
        let got = items("t", body, Some("/{resource}"), "/orders.json").unwrap_or_default();
        assert_eq!(got.len(), 2);
        let body = json!({"fullResultSize": 1, "values": [{"id": 1}]});
        assert_eq!(
            items("t", body, Some("/values"), "/x")
                .unwrap_or_default()
                .len(),
            1
        );
        let body = json!({"value": [{"id": 1}]});
        assert_eq!(items("t", body, None, "/x").unwrap_or_default().len(), 1);
        assert!(items("t", json!({"a": 1, "b": 2}), Some("/values"), "/x").is_err());
    }
}
