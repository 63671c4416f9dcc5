//! Retry policy: exponential backoff with full jitter, and the server's own hints
//! (`Retry-After` in seconds or as an HTTP date, Tripletex's `X-Rate-Limit-Reset`, webCRM's
//! JSON `RetryAfterSeconds`).

use std::time::Duration;

use rand::Rng;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// How transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first backoff ceiling; attempt `n` waits a random time in `0..=base·2ⁿ⁻¹`.
    pub base: Duration,
    /// The largest wait between attempts. A server asking for a longer wait than this
    /// (`Retry-After`) is not retried: the error is returned as `Transient` at once.
    pub cap: Duration,
    /// Attempts in all, the first one included (1 = no retries).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(30),
            max_attempts: 6,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The backoff before attempt `attempt + 1`, after `attempt` failures (1-based): full
    /// jitter over `min(cap, base·2^(attempt-1))`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let ceiling = self
            .base
            .saturating_mul(1u32 << exponent)
            .min(self.cap)
            .as_millis();
        let ceiling = u64::try_from(ceiling).unwrap_or(u64::MAX);
        if ceiling == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rand::rng().random_range(0..=ceiling))
    }
}

/// The wait a server asks for: `Retry-After` (seconds or an HTTP date), Tripletex's
/// `X-Rate-Limit-Reset` (seconds) on a 429, or a JSON body's `RetryAfterSeconds` (webCRM).
pub fn server_delay(status: u16, headers: &HeaderMap, body: Option<&Value>) -> Option<Duration> {
    if let Some(value) = headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(delay) = parse_retry_after(value) {
            return Some(delay);
        }
    }
    if let Some(seconds) = body.and_then(retry_after_seconds_in_body) {
        return Some(seconds);
    }
    if status == 429 {
        if let Some(seconds) = headers
            .get("x-rate-limit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
        {
            return seconds_to_duration(seconds);
        }
    }
    None
}

/// Parses a `Retry-After` value: delta seconds, or an HTTP date (IMF-fixdate / RFC 2822).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return seconds_to_duration(seconds);
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

fn retry_after_seconds_in_body(body: &Value) -> Option<Duration> {
    let object = body.as_object()?;
    let value = object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("RetryAfterSeconds"))
        .map(|(_, v)| v)?;
    let seconds = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    seconds_to_duration(seconds)
}

fn seconds_to_duration(seconds: f64) -> Option<Duration> {
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Duration::try_from_secs_f64(seconds.min(1e9)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_the_ceiling() {
        let policy = RetryPolicy::default();
        for attempt in 1..20 {
            let wait = policy.backoff(attempt);
            assert!(wait <= policy.cap);
            let ceiling = policy.base * 2u32.pow((attempt - 1).min(20));
            assert!(wait <= ceiling);
        }
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = (chrono::Utc::now() + chrono::TimeDelta::seconds(120))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let wait = parse_retry_after(&later).unwrap_or_default();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        assert_eq!(parse_retry_after("soon"), None);
        let body = serde_json::json!({"RetryAfterSeconds": 2});
        assert_eq!(
            server_delay(429, &HeaderMap::new(), Some(&body)),
            Some(Duration::from_secs(2))
        );
    }
}
