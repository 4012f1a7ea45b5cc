//! The retry policy every provider client shares.

use std::time::Duration;

/// How often, and how patiently, safe calls are retried (each client's
/// module documentation says which calls are safe: [Authy](crate::authy#retries),
/// [Verify](crate::verify::Client#retries)).
///
/// The delay before retry `n` (from 0) is `base_delay × 2ⁿ`, capped at
/// [`RetryPolicy::MAX_DELAY`].
///
/// ```
/// use std::time::Duration;
/// use tower_authy::authy::RetryPolicy;
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.max_retries(), 2);
/// assert_eq!(policy.base_delay(), Duration::from_millis(100));
/// assert_eq!(RetryPolicy::none().max_retries(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
}

impl RetryPolicy {
    /// The most retries a client builder accepts.
    pub const MAX_RETRIES: u32 = 10;
    /// The longest wait between two attempts.
    pub const MAX_DELAY: Duration = Duration::from_secs(5);

    /// Up to `max_retries` retries, the first after `base_delay`.
    pub fn new(max_retries: u32, base_delay: Duration) -> Self {
        Self {
            max_retries,
            base_delay,
        }
    }

    /// Never retry.
    pub fn none() -> Self {
        Self::new(0, Duration::ZERO)
    }

    /// How many times a call may be retried after its first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The wait before the first retry.
    pub fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// The wait before retry number `retry` (counted from 0).
    pub(crate) fn delay(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(Self::MAX_DELAY)
            .min(Self::MAX_DELAY)
    }
}

impl Default for RetryPolicy {
    /// Two retries, 100 ms then 200 ms apart.
    fn default() -> Self {
        Self::new(2, Duration::from_millis(100))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_bounded() {
        let policy = RetryPolicy::new(10, Duration::from_millis(100));
        assert_eq!(policy.delay(0), Duration::from_millis(100));
        assert_eq!(policy.delay(1), Duration::from_millis(200));
        assert_eq!(policy.delay(2), Duration::from_millis(400));
        assert_eq!(policy.delay(9), RetryPolicy::MAX_DELAY);
        assert_eq!(policy.delay(40), RetryPolicy::MAX_DELAY);
    }
}
