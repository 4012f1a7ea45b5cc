//! The simulator's clock: real time plus an offset that tests move forward
//! (so expiry can be tested without sleeping). Its dates are [`crate::utc`]'s.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, shifted by [`Clock::advance`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Clock {
    offset_ms: Arc<AtomicU64>,
}

impl Clock {
    /// Now, in milliseconds since the Unix epoch.
    pub(crate) fn now_ms(&self) -> u64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        u64::try_from(real)
            .unwrap_or(u64::MAX)
            .saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Now, in whole seconds since the Unix epoch.
    pub(crate) fn now_secs(&self) -> u64 {
        self.now_ms() / 1000
    }

    /// Moves the clock forward; it never goes back.
    pub(crate) fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone() {
        let clock = Clock::default();
        let other = clock.clone();
        let before = other.now_secs();
        clock.advance(Duration::from_secs(3600));
        let after = other.now_secs();
        assert!(
            (3600..3700).contains(&(after - before)),
            "{after} - {before}"
        );
    }
}
