//! Client-side throttling of one system, from the profile's `rate_limit`:
//!
//! - Pacing, decided at the moment a request is let go (not when it starts waiting), so a
//!   late wake-up pushes the requests after it back instead of squeezing them together:
//!   - a GCRA bucket: on average one request per `WINDOW / requests_per_second`, and up to
//!     `burst` back to back after a quiet spell. This is the model of servers that meter with
//!     a leaky or token bucket (Shopify, e-conomic);
//!   - a log of the last departures: no span of [`WINDOW`] ever holds more than
//!     `max(burst, ⌈requests_per_second⌉)` requests. This is the model of servers that count
//!     requests per fixed or sliding second, which a bucket alone can overrun by `burst`.
//!
//!   [`WINDOW`] is one second plus [`MARGIN`]: the margin absorbs the jitter between a request
//!   leaving here and arriving there, at the price of pacing at about 95 % of the declared rate.
//! - At most `concurrency` requests in flight (default 4).
//! - A 429 holds back every request of the system until the server's wait (`Retry-After`) has
//!   passed, or without one a back-off shared by all of them; then they resume at the paced
//!   rate without a burst. 429 answers to requests that had left before the pause began belong
//!   to the same episode: they can lengthen the wait to what their own answer asks, but do not
//!   escalate the back-off.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    time::Instant,
};

use super::retry::RetryPolicy;

/// Requests in flight when the profile does not say.
pub const DEFAULT_CONCURRENCY: u32 = 4;

/// How much longer than a second the pacing window is.
pub const MARGIN: Duration = Duration::from_millis(50);

/// The span over which `requests_per_second` is counted: one second plus [`MARGIN`].
pub const WINDOW: Duration = Duration::from_secs(1).saturating_add(MARGIN);

/// The throttle of one system.
#[derive(Debug)]
pub struct Limiter {
    in_flight: Arc<Semaphore>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    pace: Option<Pace>,
    /// No request leaves before this (the wait after a 429).
    paused_until: Option<Instant>,
    /// When the last 429 episode began: a 429 to a request let go before it is a straggler.
    episode: Option<Instant>,
    /// 429 episodes without a server hint since a request last ended otherwise (shared
    /// back-off).
    level: u32,
}

#[derive(Debug)]
struct Pace {
    /// Time between requests at the sustained rate: `WINDOW / requests_per_second`.
    interval: Duration,
    /// How far ahead of the sustained schedule a burst may run: `(burst - 1) · interval`.
    tolerance: Duration,
    /// The theoretical time of the next request on the sustained schedule.
    tat: Instant,
    /// Requests allowed in any span of [`WINDOW`].
    cap: usize,
    /// When the requests of the last [`WINDOW`] were let go (at most `cap`).
    sent: VecDeque<Instant>,
}

/// Held while a request is in flight.
#[derive(Debug)]
pub struct Permit {
    _permit: Option<OwnedSemaphorePermit>,
    sent: Instant,
}

impl Permit {
    /// When the request was let go.
    pub fn sent(&self) -> Instant {
        self.sent
    }
}

impl Pace {
    fn new(rate: f64, burst: u32, now: Instant) -> Self {
        let burst = burst.max(1);
        // Whole nanoseconds, so that round rates give exact intervals.
        let nanos = (WINDOW.as_nanos() as f64 / rate).round().min(1e18);
        let interval = Duration::from_nanos(nanos as u64);
        let cap = rate.ceil().min(f64::from(u32::MAX)) as u32;
        Pace {
            interval,
            tolerance: interval.saturating_mul(burst - 1),
            tat: now,
            cap: burst.max(cap).max(1) as usize,
            sent: VecDeque::new(),
        }
    }

    /// The earliest time a request may leave, `now` or later.
    fn earliest(&mut self, now: Instant) -> Instant {
        while self.sent.front().is_some_and(|t| *t + WINDOW <= now) {
            self.sent.pop_front();
        }
        let mut at = now;
        if let Some(start) = self.tat.checked_sub(self.tolerance) {
            at = at.max(start);
        }
        if self.sent.len() >= self.cap {
            at = at.max(self.sent[self.sent.len() - self.cap] + WINDOW);
        }
        at
    }

    fn take(&mut self, now: Instant) {
        self.tat = self.tat.max(now) + self.interval;
        self.sent.push_back(now);
        while self.sent.len() > self.cap {
            self.sent.pop_front();
        }
    }
}

impl Limiter {
    /// A limiter of `rate` requests per second (none when `None` or not positive), `burst`
    /// requests back to back (default 1) and `concurrency` requests in flight (default 4).
    pub fn new(rate: Option<f64>, burst: Option<u32>, concurrency: Option<u32>) -> Self {
        let concurrency = concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1);
        let now = Instant::now();
        let pace = rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .map(|rate| Pace::new(rate, burst.unwrap_or(1), now));
        Limiter {
            in_flight: Arc::new(Semaphore::new(concurrency as usize)),
            state: Mutex::new(State {
                pace,
                paused_until: None,
                episode: None,
                level: 0,
            }),
        }
    }

    /// No limits (file and sink transports).
    pub fn unlimited() -> Self {
        Self::new(None, None, Some(u32::MAX >> 4))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held; a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a slot in flight, the end of any pause and the pacing; the permit records
    /// when the request was let go.
    pub async fn acquire(&self) -> Permit {
        // The semaphore is never closed, so `acquire_owned` only fails if it were.
        let permit = self.in_flight.clone().acquire_owned().await.ok();
        loop {
            let at = {
                let mut state = self.lock();
                let now = Instant::now();
                let mut at = now;
                if let Some(until) = state.paused_until {
                    at = at.max(until);
                }
                if let Some(pace) = &mut state.pace {
                    at = at.max(pace.earliest(now));
                }
                if at <= now {
                    if let Some(pace) = &mut state.pace {
                        pace.take(now);
                    }
                    return Permit {
                        _permit: permit,
                        sent: now,
                    };
                }
                at
            };
            // Checked again on waking: another request may have taken the slot.
            tokio::time::sleep_until(at).await;
        }
    }

    /// A request ended otherwise than with a 429: the shared back-off starts over.
    pub fn succeeded(&self) {
        let mut state = self.lock();
        if state.level != 0 {
            state.level = 0;
        }
    }

    /// A request let go at `sent` got a 429: holds back every request of the system for the
    /// server's `hint`, or without one for the shared back-off of `policy` (escalated once per
    /// episode, not per answer). Afterwards requests resume at the sustained rate, without a
    /// burst. Returns how long from now no request leaves.
    pub fn throttled(
        &self,
        sent: Instant,
        hint: Option<Duration>,
        policy: &RetryPolicy,
    ) -> Duration {
        let mut state = self.lock();
        let now = Instant::now();
        let straggler = state.episode.is_some_and(|began| sent <= began);
        let wait = match hint {
            Some(wait) => wait,
            // The episode's pause already covers it.
            None if straggler => Duration::ZERO,
            None => {
                state.level = state.level.saturating_add(1);
                policy.backoff(state.level)
            }
        };
        let until = now + wait;
        if state.paused_until.is_none_or(|p| p < until) {
            state.paused_until = Some(until);
        }
        if !straggler {
            state.episode = Some(now);
        }
        let until = state.paused_until.unwrap_or(until);
        if let Some(pace) = &mut state.pace {
            // No burst credit on resuming: the first request at `until`, then one per interval.
            pace.tat = pace.tat.max(until + pace.tolerance);
        }
        until.saturating_duration_since(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lets `n` requests go one after another (each released at once) and returns when.
    async fn sequential(limiter: &Limiter, n: usize) -> Vec<Instant> {
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let permit = limiter.acquire().await;
            times.push(permit.sent());
        }
        times
    }

    /// The largest number of `times` (sorted) within any half-open span of `span`.
    fn most_in_span(times: &[Instant], span: Duration) -> usize {
        let mut most = 0;
        let mut first = 0;
        for (i, t) in times.iter().enumerate() {
            while *t >= times[first] + span {
                first += 1;
            }
            most = most.max(i - first + 1);
        }
        most
    }

    #[tokio::test(start_paused = true)]
    async fn burst_one_spaces_requests_under_the_rate() {
        let limiter = Limiter::new(Some(50.0), Some(1), Some(4));
        let times = sequential(&limiter, 200).await;
        for pair in times.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(21));
        }
        // Never more than 50 in any second, with room to spare.
        assert_eq!(most_in_span(&times, Duration::from_secs(1)), 48);
        assert_eq!(most_in_span(&times, WINDOW), 50);
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_request_pushes_the_next_ones_back() {
        let limiter = Limiter::new(Some(10.0), Some(1), Some(1));
        let first = limiter.acquire().await.sent();
        // The caller comes back late: the next request leaves when asked, and the one after
        // a full interval later, not sooner to make up.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let second = limiter.acquire().await.sent();
        let third = limiter.acquire().await.sent();
        assert_eq!(second - first, Duration::from_millis(300));
        assert_eq!(third - second, Duration::from_millis(105));
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_never_overfills_a_window() {
        // A sliding-window server of 20/s declared with burst 20: 20 at once, then the window.
        let limiter = Limiter::new(Some(20.0), Some(20), Some(4));
        let times = sequential(&limiter, 100).await;
        assert!(times[..20].iter().all(|t| *t == times[0]));
        assert_eq!(times[20] - times[0], WINDOW);
        assert_eq!(most_in_span(&times, WINDOW), 20);
        // The sustained rate stays under 20 per WINDOW.
        let span = (times[99] - times[0]).as_secs_f64();
        assert!(80.0 / span <= 20.0 / WINDOW.as_secs_f64() + 1e-9, "{span}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_bucket_refills_at_the_rate() {
        // A leaky bucket of 40 draining 2/s (Shopify): 40 at once, then one every 525 ms.
        let limiter = Limiter::new(Some(2.0), Some(40), Some(2));
        let times = sequential(&limiter, 44).await;
        assert!(times[..40].iter().all(|t| *t == times[0]));
        // The window holds the 41st back until 1.05 s; by then the bucket has drained two.
        assert_eq!(times[40] - times[0], WINDOW);
        assert_eq!(times[41], times[40]);
        for pair in times[41..].windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(525));
        }
        // After a quiet spell the burst is available again.
        tokio::time::sleep(Duration::from_secs(30)).await;
        let again = sequential(&limiter, 40).await;
        assert!(again.iter().all(|t| *t == again[0]));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_requests_keep_the_window() {
        // Sixteen tasks through four slots, each request taking a different time in flight.
        let limiter = Arc::new(Limiter::new(Some(50.0), Some(50), Some(4)));
        let times = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for task in 0..16u64 {
            let limiter = limiter.clone();
            let times = times.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..25u64 {
                    let permit = limiter.acquire().await;
                    times.lock().expect("times").push(permit.sent());
                    tokio::time::sleep(Duration::from_millis(1 + (task * 7 + i * 13) % 40)).await;
                    drop(permit);
                }
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
        let mut times = times.lock().expect("times").clone();
        times.sort();
        assert_eq!(times.len(), 400);
        assert!(most_in_span(&times, WINDOW) <= 50);
        let span = (times[399] - times[0]).as_secs_f64();
        assert!(span + 1e-6 >= 7.0 * WINDOW.as_secs_f64(), "{span}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_everyone_then_resumes_paced() {
        let policy = RetryPolicy::default();
        let limiter = Limiter::new(Some(10.0), Some(10), Some(4));
        let sent = limiter.acquire().await.sent();
        let wait = limiter.throttled(sent, Some(Duration::from_secs(1)), &policy);
        assert_eq!(wait, Duration::from_secs(1));
        let times = sequential(&limiter, 4).await;
        assert_eq!(times[0] - sent, Duration::from_secs(1));
        // No burst on resuming, though the bucket had nine requests of credit.
        for pair in times.windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_millis(105));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn stragglers_of_an_episode_do_not_escalate() {
        let policy = RetryPolicy {
            base: Duration::from_millis(200),
            cap: Duration::from_secs(30),
            max_attempts: 6,
        };
        let limiter = Limiter::new(None, None, Some(4));
        // Four requests leave together; all four come back 429 without a hint.
        let mut sent = Vec::new();
        let mut permits = Vec::new();
        for _ in 0..4 {
            let permit = limiter.acquire().await;
            sent.push(permit.sent());
            permits.push(permit);
        }
        drop(permits);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let first = limiter.throttled(sent[0], None, &policy);
        assert!(first <= Duration::from_millis(200));
        for at in &sent[1..] {
            let wait = limiter.throttled(*at, None, &policy);
            assert!(wait <= first, "{wait:?} > {first:?}");
        }
        assert_eq!(limiter.lock().level, 1);
        // A request let go after the pause and throttled again is a new episode.
        tokio::time::sleep(Duration::from_millis(1)).await;
        let again = limiter.acquire().await.sent();
        limiter.throttled(again, None, &policy);
        assert_eq!(limiter.lock().level, 2);
        limiter.succeeded();
        assert_eq!(limiter.lock().level, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_retry_after_lengthens_the_pause() {
        let policy = RetryPolicy::default();
        let limiter = Limiter::new(None, None, Some(4));
        let a = limiter.acquire().await.sent();
        let b = limiter.acquire().await.sent();
        limiter.throttled(a, Some(Duration::from_secs(1)), &policy);
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The second answer of the episode asks for two seconds from its own arrival.
        let wait = limiter.throttled(b, Some(Duration::from_secs(2)), &policy);
        assert_eq!(wait, Duration::from_secs(2));
        let next = limiter.acquire().await.sent();
        assert_eq!(next - a, Duration::from_millis(2_100));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_bounds_requests_in_flight() {
        let limiter = Limiter::new(None, None, Some(2));
        let one = limiter.acquire().await;
        let _two = limiter.acquire().await;
        let third = tokio::time::timeout(Duration::from_secs(1), limiter.acquire()).await;
        assert!(third.is_err());
        drop(one);
        let third = tokio::time::timeout(Duration::from_secs(1), limiter.acquire()).await;
        assert!(third.is_ok());
    }
}
