//! Purging expired records in the background.

use std::time::{Duration, SystemTime};

use super::SharedStore;

/// Runs [`PurgeStore::purge_expired`](super::PurgeStore::purge_expired) every `every` in a background task, and
/// stops when the returned handle is dropped. Failures are logged and retried
/// at the next tick.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::{sync::Arc, time::Duration};
/// use tower_authy::store::{MemoryStore, spawn_purger};
/// let purger = spawn_purger(
///     Arc::new(MemoryStore::new()),
///     Duration::from_secs(600),
///     Duration::from_secs(24 * 3600),
/// );
/// drop(purger); // stops it
/// # }
/// ```
pub fn spawn_purger(store: SharedStore, every: Duration, keep_approvals: Duration) -> PurgeTask {
    let task = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.purge_expired(SystemTime::now(), keep_approvals).await {
                Ok(purged) => tracing::debug!(purged, "tower-authy: purged expired records"),
                Err(error) => tracing::warn!(%error, "tower-authy: purging expired records failed"),
            }
        }
    });
    PurgeTask(task)
}

/// The background purge started by [`spawn_purger`]; dropping it stops it.
#[derive(Debug)]
#[must_use = "the purge task stops when this handle is dropped"]
pub struct PurgeTask(tokio::task::JoinHandle<()>);

impl Drop for PurgeTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::{ApprovalRecord, ApprovalStatus, ApprovalStore, MemoryStore, UserId};

    /// The purger's first tick runs at once; with the clock paused, the
    /// runtime only moves time on when every task waits, so the purge has
    /// run when the sleep returns.
    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn the_background_purger_purges_and_stops_when_dropped() {
        let store = MemoryStore::new();
        let long_ago = SystemTime::now() - Duration::from_secs(7200);
        let record = ApprovalRecord::pending("old", UserId::new("u"), "b", long_ago, None);
        store.insert_approval(&record).await.unwrap();
        store
            .complete_approval("old", ApprovalStatus::Approved, long_ago)
            .await
            .unwrap();
        let purger = spawn_purger(
            Arc::new(store.clone()),
            Duration::from_secs(3600),
            Duration::from_secs(3600),
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(
            store.approval("old", SystemTime::now()).await.unwrap(),
            None
        );

        drop(purger);
        let again = ApprovalRecord::pending("again", UserId::new("u"), "b", long_ago, None);
        store.insert_approval(&again).await.unwrap();
        store
            .complete_approval("again", ApprovalStatus::Denied, long_ago)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(7200)).await;
        assert!(
            store
                .approval("again", SystemTime::now())
                .await
                .unwrap()
                .is_some(),
            "a dropped purger purges no more"
        );
    }
}
