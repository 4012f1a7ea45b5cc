//! `HashMapStore`: the tower-authy store traits over plain `HashMap`s behind
//! one mutex, with a `tokio::sync::watch` channel to wake approval waiters.
//! Swap the maps for your database's tables and the watch for its
//! notifications (PostgreSQL's LISTEN/NOTIFY, Redis pub/sub…) and the shape
//! stays the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use tokio::sync::watch;
use tower_authy::store::{
    AdminStore, ApprovalRecord, ApprovalStatus, ApprovalStore, Attempt, AttemptKey, AttemptState,
    AttemptStore, DeviceStore, Factor, FactorId, FactorState, FactorStore, GraceLogin,
    GraceLoginStore, IdentityUse, LockoutRule, NonceInsert, NonceStore, PurgeStore, Removed,
    StoreError, UserId,
};

/// One "database": clones share it, like two pools onto one server.
#[derive(Debug, Clone)]
pub struct HashMapStore {
    tables: Arc<Mutex<Tables>>,
    /// Bumped on every approval transition; every waiter watches it and
    /// re-reads its own request when it moves.
    approvals_changed: Arc<watch::Sender<u64>>,
}

#[derive(Debug, Default)]
struct Tables {
    /// Every factor with how its identity was bound (a table with a
    /// unique index on the identity, in a database).
    factors: Vec<(Factor, IdentityUse)>,
    approvals: HashMap<String, ApprovalRecord>,
    /// One counter per key (what it counts, for whom).
    attempts: HashMap<AttemptKey, Failures>,
    grace_logins_used: HashMap<UserId, u32>,
    device_generations: HashMap<UserId, u64>,
    /// Nonce → when it may be used again.
    nonces: HashMap<String, SystemTime>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    /// When the count is forgotten: the first failure plus the rule's window.
    forget_at: SystemTime,
    locked_until: Option<SystemTime>,
}

impl Failures {
    /// What the contract says a reader sees at `now`: nothing that expired.
    fn as_of(&self, now: SystemTime) -> AttemptState {
        let failures = if now < self.forget_at { self.count } else { 0 };
        AttemptState::new(failures, self.locked_until.filter(|until| now < *until))
    }
}

fn clean() -> AttemptState {
    AttemptState::new(0, None)
}

impl Default for HashMapStore {
    fn default() -> Self {
        Self::new()
    }
}

impl HashMapStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            tables: Arc::default(),
            approvals_changed: Arc::new(watch::channel(0).0),
        }
    }

    /// The lock is never held across an `.await`, so a std mutex is right.
    fn tables(&self) -> MutexGuard<'_, Tables> {
        // Every write below is a single insert or field update, so a panic
        // elsewhere cannot leave a half-written record behind the poison.
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Tables {
    fn find(&mut self, user: &UserId, id: &FactorId) -> Option<&mut (Factor, IdentityUse)> {
        self.factors
            .iter_mut()
            .find(|(f, _)| &f.user_id == user && &f.id == id)
    }

    /// The identity rules, checked before every write of a factor (leaving
    /// out the one it replaces).
    fn check_binding(
        &self,
        new: &Factor,
        use_: IdentityUse,
        replacing: Option<&FactorId>,
    ) -> Result<(), StoreError> {
        for (old, old_use) in &self.factors {
            if old.user_id == new.user_id && Some(&old.id) == replacing {
                continue;
            }
            let same_identity = new.identity.is_some() && old.identity == new.identity;
            if old.user_id == new.user_id && (old.id == new.id || same_identity) {
                return Err(StoreError::Conflict(format!("{} has it", new.user_id)));
            }
            let either_exclusive =
                use_ == IdentityUse::Exclusive || *old_use == IdentityUse::Exclusive;
            if old.user_id != new.user_id && same_identity && either_exclusive {
                return Err(StoreError::IdentityInUse);
            }
        }
        Ok(())
    }
}

fn no_factor(id: &FactorId) -> StoreError {
    StoreError::NotFound(format!("factor {id}"))
}

#[async_trait]
impl FactorStore for HashMapStore {
    async fn factors(&self, user: &UserId) -> Result<Vec<Factor>, StoreError> {
        let tables = self.tables();
        let own = tables.factors.iter().filter(|(f, _)| &f.user_id == user);
        let mut own: Vec<Factor> = own.map(|(f, _)| f.clone()).collect();
        own.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(own)
    }

    async fn insert_factor(&self, factor: &Factor, use_: IdentityUse) -> Result<(), StoreError> {
        let mut tables = self.tables();
        tables.check_binding(factor, use_, None)?;
        tables.factors.push((factor.clone(), use_));
        Ok(())
    }

    async fn replace_factor(
        &self,
        expected: &Factor,
        factor: &Factor,
        use_: IdentityUse,
    ) -> Result<(), StoreError> {
        let mut tables = self.tables();
        let unchanged = tables
            .find(&expected.user_id, &expected.id)
            .is_some_and(|(f, _)| {
                f.state == expected.state && f.provider_ref == expected.provider_ref
            });
        if !unchanged || factor.user_id != expected.user_id {
            return Err(StoreError::Conflict("the factor changed meanwhile".into()));
        }
        tables.check_binding(factor, use_, Some(&expected.id))?;
        if let Some(slot) = tables.find(&expected.user_id, &expected.id) {
            *slot = (factor.clone(), use_);
        }
        Ok(())
    }

    async fn transition_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        from: FactorState,
        to: FactorState,
        now: SystemTime,
    ) -> Result<Factor, StoreError> {
        let mut tables = self.tables();
        let (factor, _) = tables.find(user, id).ok_or_else(|| no_factor(id))?;
        if factor.state != from {
            return Err(StoreError::Conflict(format!(
                "factor {id} is {}",
                factor.state
            )));
        }
        factor.state = to;
        factor.last_used_at = Some(now);
        Ok(factor.clone())
    }

    async fn touch_factor(
        &self,
        user: &UserId,
        id: &FactorId,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let mut tables = self.tables();
        let (factor, _) = tables.find(user, id).ok_or_else(|| no_factor(id))?;
        factor.last_used_at = Some(now);
        Ok(())
    }

    async fn advance_step(
        &self,
        user: &UserId,
        id: &FactorId,
        step: u64,
    ) -> Result<(), StoreError> {
        let mut tables = self.tables();
        let (factor, _) = tables.find(user, id).ok_or_else(|| no_factor(id))?;
        // Compare and set under the one lock: a replayed step never passes.
        if factor.last_step.is_some_and(|last| step <= last) {
            return Err(StoreError::Conflict(format!("step {step} was used")));
        }
        factor.last_step = Some(step);
        Ok(())
    }

    async fn remove_factor(&self, user: &UserId, id: &FactorId) -> Result<Removed, StoreError> {
        let mut tables = self.tables();
        let at = tables
            .factors
            .iter()
            .position(|(f, _)| &f.user_id == user && &f.id == id)
            .ok_or_else(|| no_factor(id))?;
        let (factor, _) = tables.factors.remove(at);
        let identity_still_used = factor.identity.is_some()
            && tables
                .factors
                .iter()
                .any(|(f, _)| f.identity == factor.identity);
        Ok(Removed::new(factor, identity_still_used))
    }
}

#[async_trait]
impl ApprovalStore for HashMapStore {
    async fn insert_approval(&self, record: &ApprovalRecord) -> Result<(), StoreError> {
        let mut tables = self.tables();
        if tables.approvals.contains_key(&record.uuid) {
            return Err(StoreError::Conflict(format!(
                "request {} exists",
                record.uuid
            )));
        }
        tables.approvals.insert(record.uuid.clone(), record.clone());
        Ok(())
    }

    async fn approval(
        &self,
        uuid: &str,
        now: SystemTime,
    ) -> Result<Option<ApprovalRecord>, StoreError> {
        let tables = self.tables();
        Ok(tables.approvals.get(uuid).map(|r| r.clone().as_of(now)))
    }

    async fn complete_approval(
        &self,
        uuid: &str,
        to: ApprovalStatus,
        now: SystemTime,
    ) -> Result<ApprovalRecord, StoreError> {
        if !to.is_final() {
            return Err(StoreError::InvalidInput(
                "a request cannot go back to pending".into(),
            ));
        }
        let completed = {
            let mut tables = self.tables();
            let Some(record) = tables.approvals.get_mut(uuid) else {
                return Err(StoreError::NotFound(format!("request {uuid}")));
            };
            // Expired counts as final: a late approval must not win.
            let status = record.clone().as_of(now).status;
            if status.is_final() {
                return Err(StoreError::Conflict(format!(
                    "request {uuid} is {}",
                    status.as_str()
                )));
            }
            record.status = to;
            record.processed_at = Some(now);
            record.clone()
        };
        self.approvals_changed.send_modify(|version| *version += 1);
        Ok(completed)
    }

    async fn wait_for_approval(
        &self,
        uuid: &str,
        timeout: Duration,
    ) -> Result<Option<ApprovalRecord>, StoreError> {
        // Subscribe before reading, so a transition in between is not missed.
        let mut changed = self.approvals_changed.subscribe();
        let deadline = Instant::now() + timeout;
        loop {
            let now = SystemTime::now();
            let Some(record) = self.approval(uuid, now).await? else {
                return Ok(None);
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if record.status.is_final() || left.is_zero() {
                return Ok(Some(record));
            }
            // The expiry ends the wait too: an expired request is final.
            let until_expiry = record
                .expires_at
                .map_or(left, |at| at.duration_since(now).unwrap_or_default());
            let _ = tokio::time::timeout(left.min(until_expiry), changed.changed()).await;
        }
    }
}

#[async_trait]
impl AttemptStore for HashMapStore {
    async fn record_attempt(
        &self,
        key: &AttemptKey,
        rule: LockoutRule,
        now: SystemTime,
    ) -> Result<Attempt, StoreError> {
        let mut tables = self.tables();
        let failures = tables.attempts.entry(key.clone()).or_insert(Failures {
            count: 0,
            forget_at: now,
            locked_until: None,
        });
        // While locked out, an attempt is refused and counts nothing.
        if let Some(until) = failures.locked_until.filter(|until| now < *until) {
            return Ok(Attempt::Refused { until });
        }
        if now >= failures.forget_at {
            // The window is over (or never began): this failure starts one.
            failures.count = 0;
            failures.forget_at = now + rule.window;
        }
        failures.count += 1;
        if failures.count >= rule.max_failures {
            failures.locked_until = Some(now + rule.lockout);
            failures.count = 0;
            failures.forget_at = now + rule.window;
        }
        Ok(Attempt::Counted(failures.as_of(now)))
    }

    async fn attempt_state(
        &self,
        key: &AttemptKey,
        now: SystemTime,
    ) -> Result<AttemptState, StoreError> {
        let tables = self.tables();
        Ok(tables
            .attempts
            .get(key)
            .map_or_else(clean, |f| f.as_of(now)))
    }

    async fn clear_attempts(&self, key: &AttemptKey) -> Result<(), StoreError> {
        self.tables().attempts.remove(key);
        Ok(())
    }
}

#[async_trait]
impl GraceLoginStore for HashMapStore {
    async fn use_grace_login(&self, user: &UserId, limit: u32) -> Result<GraceLogin, StoreError> {
        let mut tables = self.tables();
        let used = tables.grace_logins_used.entry(user.clone()).or_insert(0);
        if *used >= limit {
            return Ok(GraceLogin::Exhausted);
        }
        *used += 1;
        Ok(GraceLogin::Granted {
            remaining: limit - *used,
        })
    }

    async fn grace_logins_used(&self, user: &UserId) -> Result<u32, StoreError> {
        Ok(self
            .tables()
            .grace_logins_used
            .get(user)
            .copied()
            .unwrap_or(0))
    }
}

#[async_trait]
impl DeviceStore for HashMapStore {
    async fn device_generation(&self, user: &UserId) -> Result<u64, StoreError> {
        Ok(self
            .tables()
            .device_generations
            .get(user)
            .copied()
            .unwrap_or(0))
    }

    async fn revoke_devices(&self, user: &UserId) -> Result<u64, StoreError> {
        let mut tables = self.tables();
        let generation = tables.device_generations.entry(user.clone()).or_insert(0);
        *generation += 1;
        Ok(*generation)
    }
}

#[async_trait]
impl NonceStore for HashMapStore {
    async fn nonce_seen(&self, nonce: &str, now: SystemTime) -> Result<bool, StoreError> {
        let tables = self.tables();
        Ok(tables.nonces.get(nonce).is_some_and(|until| now < *until))
    }

    async fn insert_nonce(
        &self,
        nonce: &str,
        expires_at: SystemTime,
        now: SystemTime,
    ) -> Result<NonceInsert, StoreError> {
        let mut tables = self.tables();
        if tables.nonces.get(nonce).is_some_and(|until| now < *until) {
            return Ok(NonceInsert::Seen);
        }
        tables.nonces.insert(nonce.to_owned(), expires_at);
        Ok(NonceInsert::Fresh)
    }
}

#[async_trait]
impl PurgeStore for HashMapStore {
    async fn purge_expired(
        &self,
        now: SystemTime,
        keep_approvals: Duration,
    ) -> Result<u64, StoreError> {
        let mut tables = self.tables();
        let Tables {
            approvals,
            attempts,
            nonces,
            ..
        } = &mut *tables;
        let before = approvals.len() + attempts.len() + nonces.len();
        nonces.retain(|_, until| now < *until);
        attempts.retain(|_, failures| failures.as_of(now) != clean());
        approvals.retain(|_, record| {
            let record = record.clone().as_of(now);
            match record.processed_at {
                Some(at) if record.status.is_final() => now < at + keep_approvals,
                _ => true,
            }
        });
        let after = approvals.len() + attempts.len() + nonces.len();
        Ok((before - after) as u64)
    }
}

/// The operations for the application's own tools; the conformance suite
/// uses them to seed and inspect records.
#[async_trait]
impl AdminStore for HashMapStore {
    async fn put_factor(&self, factor: &Factor) -> Result<(), StoreError> {
        let mut tables = self.tables();
        match tables.find(&factor.user_id, &factor.id) {
            Some(slot) => *slot = (factor.clone(), IdentityUse::Shared),
            None => tables.factors.push((factor.clone(), IdentityUse::Shared)),
        }
        Ok(())
    }

    async fn delete_factors(&self, user: &UserId) -> Result<u64, StoreError> {
        let mut tables = self.tables();
        let before = tables.factors.len();
        tables.factors.retain(|(f, _)| &f.user_id != user);
        Ok((before - tables.factors.len()) as u64)
    }

    async fn reset_grace_logins(&self, user: &UserId) -> Result<(), StoreError> {
        self.tables().grace_logins_used.remove(user);
        Ok(())
    }
}
