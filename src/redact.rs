//! Keeping secrets out of everything ledgerlink writes: logs, error messages, recordings.
//!
//! Credentials are resolved from `env:`/`file:` references into [`Secret`]s that never print
//! themselves; but a secret can still reach text indirectly — a server echoing a token in an
//! error body, an API that takes its key as a query parameter, a session token in a URL. So
//! every credential value and every token a login returns is also registered here, and
//! [`scrub`] replaces any of them in a text with `[redacted]`. The tracing output goes
//! through [`scrub`] line by line (see [`ScrubbingWriter`]).
//!
//! [`Secret`]: crate::connector::client::credential::Secret

use std::{
    borrow::Cow,
    io::{self, Write},
    sync::{PoisonError, RwLock},
};

use serde_json::Value as Json;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not scrubbed: replacing every `abc` in a log would destroy
/// it and protect nothing worth protecting.
const SHORTEST: usize = 4;

static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds a secret value to the process-wide list that [`scrub`] removes.
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.chars().count() < SHORTEST {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(PoisonError::into_inner);
    if !known.iter().any(|k| k == secret) {
        known.push(secret.to_string());
        // Longest first, so a secret containing another is replaced whole.
        known.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// `text` with every registered secret replaced by [`REDACTED`].
pub fn scrub(text: &str) -> Cow<'_, str> {
    let known = KNOWN.read().unwrap_or_else(PoisonError::into_inner);
    if !known.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut clean = text.to_string();
    for secret in known.iter() {
        clean = clean.replace(secret.as_str(), REDACTED);
    }
    Cow::Owned(clean)
}

/// Scrubs every string (and object key) of a JSON value in place.
pub fn scrub_json(value: &mut Json) {
    match value {
        Json::String(text) => {
            if let Cow::Owned(clean) = scrub(text) {
                *text = clean;
            }
        }
        Json::Array(items) => items.iter_mut().for_each(scrub_json),
        Json::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut v) in entries {
                scrub_json(&mut v);
                map.insert(scrub(&key).into_owned(), v);
            }
        }
        _ => {}
    }
}

/// A writer that scrubs what passes through it, a line at a time (a secret is never split
/// across two `write` calls of one line). Unfinished lines are written on flush or drop.
pub struct ScrubbingWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> ScrubbingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        ScrubbingWriter {
            inner,
            pending: Vec::new(),
        }
    }

    fn write_lines(&mut self, all: bool) -> io::Result<()> {
        let end = if all {
            self.pending.len()
        } else {
            match self.pending.iter().rposition(|b| *b == b'\n') {
                Some(newline) => newline + 1,
                None => return Ok(()),
            }
        };
        let lines: Vec<u8> = self.pending.drain(..end).collect();
        let text = String::from_utf8_lossy(&lines);
        self.inner.write_all(scrub(&text).as_bytes())
    }
}

impl<W: Write> Write for ScrubbingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        self.write_lines(false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_lines(true)?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for ScrubbingWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_scrubbed_from_text_and_json() {
        register("s3cr3t-token-value");
        register("abc"); // too short to scrub
        assert_eq!(
            scrub("GET /x?key=s3cr3t-token-value: 401 (abc)"),
            "GET /x?key=[redacted]: 401 (abc)"
        );
        let mut value = serde_json::json!({"s3cr3t-token-value": ["s3cr3t-token-value!", 1]});
        scrub_json(&mut value);
        assert_eq!(value, serde_json::json!({"[redacted]": ["[redacted]!", 1]}));
    }

    #[test]
    fn the_writer_scrubs_whole_lines_even_when_written_in_pieces() {
        register("pieces-of-a-secret");
        let mut out = Vec::new();
        {
            let mut writer = ScrubbingWriter::new(&mut out);
            writer.write_all(b"token pieces-of").expect("write");
            writer.write_all(b"-a-secret sent\nnext ").expect("write");
            writer.write_all(b"line").expect("write");
        }
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "token [redacted] sent\nnext line"
        );
    }
}
