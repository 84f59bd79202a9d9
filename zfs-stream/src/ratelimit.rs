//! Token-bucket rate limiting with an injectable clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// A time source. The pipe uses [`SystemClock`]; tests inject a fake one so
/// that no test depends on wall-clock timing.
pub trait Clock: Send + Sync {
    /// Time elapsed since an arbitrary fixed origin.
    fn now(&self) -> Duration;
    /// Waits for `d`.
    fn sleep(&self, d: Duration);
}

/// The real clock (monotonic).
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d)
    }
}

/// A token bucket: `rate` bytes per second, bursts of at most `burst` bytes.
pub struct RateLimiter {
    rate: u64,
    burst: u64,
    tokens: f64,
    last: Duration,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("rate", &self.rate)
            .field("burst", &self.burst)
            .field("tokens", &self.tokens)
            .finish()
    }
}

impl RateLimiter {
    /// A limiter of `rate` bytes/s (at least 1) whose bucket holds a tenth of a
    /// second of traffic (at least 4 KiB); it starts full.
    pub fn new(rate: u64, clock: Arc<dyn Clock>) -> Self {
        let rate = rate.max(1);
        let burst = (rate / 10).max(4096);
        let last = clock.now();
        RateLimiter {
            rate,
            burst,
            tokens: burst as f64,
            last,
            clock,
        }
    }

    /// The configured rate in bytes/s.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// The bucket size: callers should not move more than this at once.
    pub fn burst(&self) -> u64 {
        self.burst
    }

    fn refill(&mut self) {
        let now = self.clock.now();
        let dt = now.saturating_sub(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate as f64).min(self.burst as f64);
    }

    /// Accounts for `n` bytes, sleeping (on the clock) as long as needed to
    /// keep the average at the rate. `n` larger than the bucket is allowed and
    /// paid back by a longer wait.
    pub fn acquire(&mut self, n: u64) {
        self.refill();
        self.tokens -= n as f64;
        if self.tokens < 0.0 {
            let wait = Duration::from_secs_f64(-self.tokens / self.rate as f64);
            self.clock.sleep(wait);
            self.refill();
        }
    }
}

/// Why a rate string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad rate {input:?}: {reason} (examples: 512k, 10M, 1.5G; units are powers of 1024)")]
pub struct RateParseError {
    /// The text given.
    pub input: String,
    /// What was wrong.
    pub reason: &'static str,
}

/// Parses a byte count or rate like `10M`, `512k`, `1G`, `1.5m`, `100`
/// (optionally followed by `B`, `iB` or `/s`); units are powers of 1024, as
/// in `pv -L` and `mbuffer -r`.
pub fn parse_rate(s: &str) -> Result<u64, RateParseError> {
    let err = |reason| RateParseError {
        input: s.to_string(),
        reason,
    };
    let mut t = s.trim();
    t = t.strip_suffix("/s").unwrap_or(t);
    t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix("ib"))
        .or_else(|| t.strip_suffix('B'))
        .or_else(|| t.strip_suffix('b'))
        .unwrap_or(t);
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(err("no number"));
    }
    let mult: u64 = match unit {
        "" => 1,
        "k" | "K" => 1 << 10,
        "m" | "M" => 1 << 20,
        "g" | "G" => 1 << 30,
        "t" | "T" => 1 << 40,
        _ => return Err(err("unknown unit")),
    };
    let v: f64 = num.parse().map_err(|_| err("not a number"))?;
    let bytes = v * mult as f64;
    if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 / 2.0 {
        return Err(err("out of range"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A clock that only moves when slept on.
    #[derive(Default)]
    struct FakeClock(Mutex<Duration>);
    impl Clock for FakeClock {
        fn now(&self) -> Duration {
            *self.0.lock().unwrap()
        }
        fn sleep(&self, d: Duration) {
            *self.0.lock().unwrap() += d;
        }
    }

    #[test]
    fn holds_its_rate_against_a_fake_clock() {
        let clock = Arc::new(FakeClock::default());
        let rate = 10 << 20; // 10 MiB/s
        let mut l = RateLimiter::new(rate, clock.clone());
        let mut sent = 0u64;
        let chunk = 64 * 1024;
        let mut samples = Vec::new();
        while sent < 100 << 20 {
            l.acquire(chunk);
            sent += chunk;
            samples.push((clock.now(), sent));
        }
        let elapsed = clock.now().as_secs_f64();
        // 100 MiB at 10 MiB/s, less the initial bucket (0.1 s).
        let expect = (sent - l.burst()) as f64 / rate as f64;
        assert!(
            (elapsed - expect).abs() < 1e-3,
            "elapsed {elapsed} expect {expect}"
        );
        // At no point did it get ahead of rate * t + burst.
        for (t, s) in samples {
            assert!(s as f64 <= rate as f64 * t.as_secs_f64() + l.burst() as f64 + 1.0);
        }
    }

    #[test]
    fn idle_time_refills_only_up_to_the_burst() {
        let clock = Arc::new(FakeClock::default());
        let mut l = RateLimiter::new(1 << 20, clock.clone());
        clock.sleep(Duration::from_secs(100)); // long idle
        let t0 = clock.now();
        l.acquire(l.burst()); // free
        assert_eq!(clock.now(), t0);
        l.acquire(1 << 20); // one second's worth must wait one second
        let waited = (clock.now() - t0).as_secs_f64();
        assert!((waited - 1.0).abs() < 1e-6, "{waited}");
    }

    #[test]
    fn big_requests_pay_back() {
        let clock = Arc::new(FakeClock::default());
        let mut l = RateLimiter::new(1000, clock.clone());
        l.acquire(4096 + 10_000);
        assert!((clock.now().as_secs_f64() - 10.0).abs() < 1e-6);
    }

    #[test]
    fn parses_units() {
        assert_eq!(parse_rate("10M"), Ok(10 << 20));
        assert_eq!(parse_rate("512k"), Ok(512 << 10));
        assert_eq!(parse_rate("1G"), Ok(1 << 30));
        assert_eq!(parse_rate("1.5m"), Ok(3 << 19));
        assert_eq!(parse_rate("100"), Ok(100));
        assert_eq!(parse_rate(" 2MiB/s "), Ok(2 << 20));
        assert_eq!(parse_rate("8MB"), Ok(8 << 20));
        assert!(parse_rate("").is_err());
        assert!(parse_rate("M").is_err());
        assert!(parse_rate("10X").is_err());
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("1e99G").is_err());
    }
}
