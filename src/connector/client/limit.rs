//! Client-side throttling: a token bucket (`rate_limit.requests_per_second`, `burst`) and a
//! bound on requests in flight (`rate_limit.concurrency`, default 4). A 429 pauses every
//! request of the system until the server's wait has passed.

use std::{sync::Arc, time::Duration};

use tokio::{
    sync::{Mutex, OwnedSemaphorePermit, Semaphore},
    time::Instant,
};

/// Requests in flight when the profile does not say.
pub const DEFAULT_CONCURRENCY: u32 = 4;

/// The throttle of one system.
#[derive(Debug)]
pub struct Limiter {
    in_flight: Arc<Semaphore>,
    bucket: Option<Mutex<Bucket>>,
    paused_until: Mutex<Option<Instant>>,
}

#[derive(Debug)]
struct Bucket {
    /// Tokens per second.
    rate: f64,
    /// Bucket size.
    burst: f64,
    /// Tokens now; negative when requests have reserved future tokens.
    tokens: f64,
    last: Instant,
}

/// Held while a request is in flight.
#[derive(Debug)]
pub struct Permit {
    _permit: Option<OwnedSemaphorePermit>,
}

impl Limiter {
    /// A limiter of `rate` requests per second (none when `None` or not positive), a bucket of
    /// `burst` tokens (default 1) and `concurrency` requests in flight (default 4).
    pub fn new(rate: Option<f64>, burst: Option<u32>, concurrency: Option<u32>) -> Self {
        let concurrency = concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1);
        let bucket = rate.filter(|r| r.is_finite() && *r > 0.0).map(|rate| {
            let burst = f64::from(burst.unwrap_or(1).max(1));
            Mutex::new(Bucket {
                rate,
                burst,
                tokens: burst,
                last: Instant::now(),
            })
        });
        Limiter {
            in_flight: Arc::new(Semaphore::new(concurrency as usize)),
            bucket,
            paused_until: Mutex::new(None),
        }
    }

    /// No limits (file and sink transports).
    pub fn unlimited() -> Self {
        Self::new(None, None, Some(u32::MAX >> 4))
    }

    /// Waits for a slot and a token.
    pub async fn acquire(&self) -> Permit {
        // The semaphore is never closed, so `acquire_owned` only fails if it were.
        let permit = self.in_flight.clone().acquire_owned().await.ok();
        loop {
            let until = *self.paused_until.lock().await;
            match until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => break,
            }
        }
        if let Some(bucket) = &self.bucket {
            let wait = {
                let mut bucket = bucket.lock().await;
                let now = Instant::now();
                let elapsed = now.duration_since(bucket.last).as_secs_f64();
                bucket.last = now;
                bucket.tokens = (bucket.tokens + elapsed * bucket.rate).min(bucket.burst);
                bucket.tokens -= 1.0;
                if bucket.tokens < 0.0 {
                    Duration::try_from_secs_f64(-bucket.tokens / bucket.rate).unwrap_or_default()
                } else {
                    Duration::ZERO
                }
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        Permit { _permit: permit }
    }

    /// Holds back every request until `wait` has passed (after a 429).
    pub async fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().await;
        if paused.is_none_or(|p| p < until) {
            *paused = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bucket_spaces_requests() {
        let limiter = Limiter::new(Some(50.0), Some(1), Some(4));
        let start = std::time::Instant::now();
        for _ in 0..6 {
            drop(limiter.acquire().await);
        }
        // The first token is in the bucket; five more take 5/50 s.
        assert!(start.elapsed() >= Duration::from_millis(90));
    }
}
