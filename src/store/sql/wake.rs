//! Waking approval waiters: a broadcast of "this request changed" inside the
//! process, fed by local transitions (SQLite) or by PostgreSQL notifications.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::store::{ApprovalRecord, StoreError};

/// What a wake-up says.
#[derive(Debug, Clone)]
pub(super) enum Wake {
    /// This request changed.
    Approval(Arc<str>),
    /// Anything may have changed (notifications may have been lost).
    All,
}

/// The in-process fan-out of wake-ups.
#[derive(Debug)]
pub(super) struct WakeHub {
    sender: broadcast::Sender<Wake>,
}

impl WakeHub {
    pub(super) fn new() -> Arc<Self> {
        // Waiters that fall behind see `Lagged` and re-read: nothing is missed.
        let (sender, _) = broadcast::channel(1024);
        Arc::new(Self { sender })
    }

    pub(super) fn wake(&self, uuid: &str) {
        let _ = self.sender.send(Wake::Approval(uuid.into()));
    }

    pub(super) fn wake_all(&self) {
        let _ = self.sender.send(Wake::All);
    }

    /// Waits as `ApprovalStore::wait_for_approval` says. `read` reads the
    /// request as of the real clock. Subscribing *before* the first read means
    /// no transition can slip between the read and the wait. `recheck`, when
    /// set, re-reads that often anyway (for changes no notification reports,
    /// such as another process writing the same SQLite file).
    pub(super) async fn wait_for<F, Fut>(
        &self,
        uuid: &str,
        timeout: Duration,
        recheck: Option<Duration>,
        read: F,
    ) -> Result<Option<ApprovalRecord>, StoreError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Option<ApprovalRecord>, StoreError>>,
    {
        let mut wakes = self.sender.subscribe();
        let deadline = Instant::now() + timeout;
        loop {
            let Some(record) = read().await? else {
                return Ok(None);
            };
            let now = Instant::now();
            if record.status.is_final() || now >= deadline {
                return Ok(Some(record));
            }
            let mut until = deadline;
            if let Some(expires_at) = record.expires_at {
                let left = expires_at
                    .duration_since(SystemTime::now())
                    .unwrap_or_default();
                until = until.min(now + left);
            }
            if let Some(every) = recheck {
                until = until.min(now + every);
            }
            // Wait for a wake-up about this request (or a lag, or "all"), or
            // for the expiry, the recheck or the deadline; then read again.
            let sleep = tokio::time::sleep_until(until);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    wake = wakes.recv() => match wake {
                        Ok(Wake::Approval(changed)) if &*changed != uuid => continue,
                        Err(broadcast::error::RecvError::Closed) => {
                            // The hub is gone with its store; rely on the timer.
                            (&mut sleep).await;
                            break;
                        }
                        _ => break,
                    },
                    _ = &mut sleep => break,
                }
            }
        }
    }
}
