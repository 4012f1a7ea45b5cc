//! Sign-in and sign-up attempts, counted per client address and per user
//! name in fixed windows: a password guesser, or a script making accounts,
//! is slowed to a few tries a minute without locking the real user out for
//! long. In memory, like the rest of the quickstart's users.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many attempts each key may make per window.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

/// Sign-ins per user name: 5 every 5 minutes.
pub const PER_NAME: Limit = Limit {
    max: 5,
    window: Duration::from_secs(300),
};

/// Sign-ins and sign-ups per client address: 20 a minute.
pub const PER_CLIENT: Limit = Limit {
    max: 20,
    window: Duration::from_secs(60),
};

/// Keys above this many are pruned of ended windows.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Default)]
pub struct Limits {
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Limits {
    /// `Err(seconds)` when one of the keys is over its limit, with when to
    /// try again; counts nothing.
    pub fn check(&self, keys: &[(String, Limit)]) -> Result<(), u64> {
        let now = Instant::now();
        let counts = self.counts.lock().expect("limits lock");
        match over(&counts, keys, now) {
            Some(seconds) => Err(seconds),
            None => Ok(()),
        }
    }

    /// Counts one attempt under every key; `Err(seconds)` — nothing counted
    /// — when one of them is over its limit, with when to try again.
    pub fn attempt(&self, keys: &[(String, Limit)]) -> Result<(), u64> {
        let now = Instant::now();
        let mut counts = self.counts.lock().expect("limits lock");
        if counts.len() > PRUNE_ABOVE {
            let longest = PER_NAME.window.max(PER_CLIENT.window);
            counts.retain(|_, (start, _)| now.duration_since(*start) < longest);
        }
        if let Some(seconds) = over(&counts, keys, now) {
            return Err(seconds);
        }
        for (key, limit) in keys {
            let entry = counts.entry(key.clone()).or_insert((now, 0));
            if now.duration_since(entry.0) >= limit.window {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
        Ok(())
    }
}

/// The longest wait of the keys over their limit, if any.
fn over(
    counts: &HashMap<String, (Instant, u32)>,
    keys: &[(String, Limit)],
    now: Instant,
) -> Option<u64> {
    let mut retry = None;
    for (key, limit) in keys {
        if let Some((start, count)) = counts.get(key) {
            let elapsed = now.duration_since(*start);
            if elapsed < limit.window && *count >= limit.max {
                retry = retry.max(Some((limit.window - elapsed).as_secs().max(1)));
            }
        }
    }
    retry
}
