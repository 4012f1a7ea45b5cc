//! The in-process store: the default, for one application instance.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::watch;

use super::{
    AdminStore, ApprovalRecord, ApprovalStatus, ApprovalStore, Attempt, AttemptKey, AttemptState,
    AttemptStore, DeviceStore, Factor, FactorId, FactorState, FactorStore, GraceLogin,
    GraceLoginStore, IdentityUse, LockoutRule, NonceInsert, NonceStore, PurgeStore, Removed,
    StoreError, UserId,
};

/// Keeps everything in memory, behind one lock that is never held across an
/// `.await`. Waiters on an approval request are woken through a per-request
/// watch channel. Nothing survives a restart: use the SQL store for that.
///
/// ```
/// use tower_authy::store::{MemoryStore, SharedStore};
/// let store: SharedStore = std::sync::Arc::new(MemoryStore::new());
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

// Records hold session bindings and contact details: `Debug` shows how many
// there are, not what they say.
impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("MemoryStore")
            .field("factors", &state.factors.len())
            .field("approvals", &state.approvals.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    /// Each user's factors, oldest first.
    factors: HashMap<UserId, Vec<Stored>>,
    approvals: HashMap<String, Approval>,
    attempts: HashMap<AttemptKey, Attempts>,
    grace_logins: HashMap<UserId, u32>,
    device_generations: HashMap<UserId, u64>,
    nonces: HashMap<String, SystemTime>,
}

#[derive(Debug)]
struct Stored {
    factor: Factor,
    identity: IdentityUse,
}

#[derive(Debug)]
struct Approval {
    record: ApprovalRecord,
    /// Carries the status to waiters; sent on every transition.
    changes: watch::Sender<ApprovalStatus>,
}

#[derive(Debug, Clone, Copy)]
struct Attempts {
    failures: u32,
    window_ends: SystemTime,
    locked_until: Option<SystemTime>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves no half-written record
        // (every update is a single insert), so the data is still sound.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl FactorStore for MemoryStore {
    async fn factors(&self, user: &UserId) -> Result<Vec<Factor>, StoreError> {
        let mut factors: Vec<Factor> = self
            .state()
            .factors
            .get(user)
            .map(|factors| factors.iter().map(|stored| stored.factor.clone()).collect())
            .unwrap_or_default();
        factors.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(factors)
    }

    async fn insert_factor(
        &self,
        factor: &Factor,
        identity: IdentityUse,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        state.may_bind(factor, identity, None)?;
        let stored = Stored {
            factor: factor.clone(),
            identity,
        };
        state
            .factors
            .entry(factor.user_id.clone())
            .or_default()
            .push(stored);
        Ok(())
    }

    async fn replace_factor(
        &self,
        expected: &Factor,
        factor: &Factor,
        identity: IdentityUse,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let unchanged = state
            .find(&expected.user_id, &expected.id)
            .is_some_and(|current| {
                current.factor.state == expected.state
                    && current.factor.provider_ref == expected.provider_ref
                    && factor.user_id == expected.user_id
            });
        if !unchanged {
            return Err(StoreError::Conflict("the factor changed meanwhile".into()));
        }
        state.may_bind(factor, identity, Some(&expected.id))?;
        if let Some(current) = state.find(&expected.user_id, &expected.id) {
            *current = Stored {
                factor: factor.clone(),
                identity,
            };
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
        let mut state = self.state();
        let factor = &mut state.find(user, id).ok_or_else(|| not_found(id))?.factor;
        if factor.state != from {
            return Err(StoreError::Conflict(format!(
                "factor is {}, not {from}",
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
        let mut state = self.state();
        state
            .find(user, id)
            .ok_or_else(|| not_found(id))?
            .factor
            .last_used_at = Some(now);
        Ok(())
    }

    async fn advance_step(
        &self,
        user: &UserId,
        id: &FactorId,
        step: u64,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let factor = &mut state.find(user, id).ok_or_else(|| not_found(id))?.factor;
        if factor.last_step.is_some_and(|last| step <= last) {
            return Err(StoreError::Conflict(format!(
                "step {step} is not after the last accepted one"
            )));
        }
        factor.last_step = Some(step);
        Ok(())
    }

    async fn remove_factor(&self, user: &UserId, id: &FactorId) -> Result<Removed, StoreError> {
        let mut state = self.state();
        let factors = state.factors.get_mut(user).ok_or_else(|| not_found(id))?;
        let at = factors
            .iter()
            .position(|stored| &stored.factor.id == id)
            .ok_or_else(|| not_found(id))?;
        let factor = factors.remove(at).factor;
        if factors.is_empty() {
            state.factors.remove(user);
        }
        let identity_still_used = factor
            .identity
            .as_ref()
            .is_some_and(|identity| state.holders(identity).next().is_some());
        Ok(Removed {
            factor,
            identity_still_used,
        })
    }
}

fn not_found(id: &FactorId) -> StoreError {
    StoreError::NotFound(format!("no factor {id}"))
}

impl State {
    fn find(&mut self, user: &UserId, id: &FactorId) -> Option<&mut Stored> {
        self.factors
            .get_mut(user)?
            .iter_mut()
            .find(|stored| &stored.factor.id == id)
    }

    /// Every stored factor holding `identity`. A scan: only binding a
    /// factor and removing one ask, never a request's fast path.
    fn holders<'a>(&'a self, identity: &'a str) -> impl Iterator<Item = &'a Stored> {
        self.factors
            .values()
            .flatten()
            .filter(move |stored| stored.factor.identity.as_deref() == Some(identity))
    }

    /// Whether `factor` may be stored (in place of the user's factor
    /// `replacing`): its id and identity are new for its user, and an
    /// exclusive identity is held by no other user.
    fn may_bind(
        &self,
        factor: &Factor,
        identity: IdentityUse,
        replacing: Option<&FactorId>,
    ) -> Result<(), StoreError> {
        let own = self.factors.get(&factor.user_id).into_iter().flatten();
        for stored in own.filter(|stored| Some(&stored.factor.id) != replacing) {
            let other = &stored.factor;
            if other.id == factor.id
                || (factor.identity.is_some() && other.identity == factor.identity)
            {
                return Err(StoreError::Conflict(format!(
                    "the user has factor {} already",
                    other.id
                )));
            }
        }
        let Some(wanted) = factor.identity.as_deref() else {
            return Ok(());
        };
        let taken = self.holders(wanted).any(|stored| {
            stored.factor.user_id != factor.user_id
                && (identity == IdentityUse::Exclusive || stored.identity == IdentityUse::Exclusive)
        });
        if taken {
            return Err(StoreError::IdentityInUse);
        }
        Ok(())
    }
}

#[async_trait]
impl ApprovalStore for MemoryStore {
    async fn insert_approval(&self, record: &ApprovalRecord) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.approvals.contains_key(&record.uuid) {
            return Err(StoreError::Conflict(format!(
                "approval request {} exists",
                record.uuid
            )));
        }
        let (changes, _) = watch::channel(record.status);
        state.approvals.insert(
            record.uuid.clone(),
            Approval {
                record: record.clone(),
                changes,
            },
        );
        Ok(())
    }

    async fn approval(
        &self,
        uuid: &str,
        now: SystemTime,
    ) -> Result<Option<ApprovalRecord>, StoreError> {
        Ok(self
            .state()
            .approvals
            .get(uuid)
            .map(|approval| approval.record.clone().as_of(now)))
    }

    async fn complete_approval(
        &self,
        uuid: &str,
        to: ApprovalStatus,
        now: SystemTime,
    ) -> Result<ApprovalRecord, StoreError> {
        if to == ApprovalStatus::Pending {
            return Err(StoreError::InvalidInput(
                "an approval request cannot return to pending".into(),
            ));
        }
        let mut state = self.state();
        let approval = state
            .approvals
            .get_mut(uuid)
            .ok_or_else(|| StoreError::NotFound(format!("approval request {uuid}")))?;
        let current = approval.record.clone().as_of(now).status;
        if current.is_final() {
            return Err(StoreError::Conflict(format!(
                "approval request {uuid} is already {}",
                current.as_str()
            )));
        }
        approval.record.status = to;
        approval.record.processed_at = Some(now);
        approval.changes.send_replace(to);
        Ok(approval.record.clone())
    }

    async fn wait_for_approval(
        &self,
        uuid: &str,
        timeout: Duration,
    ) -> Result<Option<ApprovalRecord>, StoreError> {
        let (mut changes, expires_at) = {
            let state = self.state();
            let Some(approval) = state.approvals.get(uuid) else {
                return Ok(None);
            };
            (approval.changes.subscribe(), approval.record.expires_at)
        };
        // Wake at expiry too: an expired request is final for the waiter.
        let until_expiry = expires_at
            .map(|at| at.duration_since(SystemTime::now()).unwrap_or_default())
            .unwrap_or(timeout);
        let wait = timeout.min(until_expiry);
        let _ = tokio::time::timeout(wait, changes.wait_for(|status| status.is_final())).await;
        self.approval(uuid, SystemTime::now()).await
    }
}

#[async_trait]
impl AttemptStore for MemoryStore {
    async fn record_attempt(
        &self,
        key: &AttemptKey,
        rule: LockoutRule,
        now: SystemTime,
    ) -> Result<Attempt, StoreError> {
        let mut state = self.state();
        let entry = state.attempts.entry(key.clone()).or_insert(Attempts {
            failures: 0,
            window_ends: now + rule.window,
            locked_until: None,
        });
        if let Some(until) = entry.locked_until.filter(|until| now < *until) {
            return Ok(Attempt::Refused { until });
        }
        if now >= entry.window_ends {
            entry.failures = 0;
            entry.window_ends = now + rule.window;
        }
        entry.failures += 1;
        if entry.failures >= rule.max_failures {
            entry.locked_until = Some(now + rule.lockout);
            entry.failures = 0;
            entry.window_ends = now + rule.window;
        }
        Ok(Attempt::Counted(read_attempts(Some(entry), now)))
    }

    async fn attempt_state(
        &self,
        key: &AttemptKey,
        now: SystemTime,
    ) -> Result<AttemptState, StoreError> {
        Ok(read_attempts(self.state().attempts.get(key), now))
    }

    async fn clear_attempts(&self, key: &AttemptKey) -> Result<(), StoreError> {
        self.state().attempts.remove(key);
        Ok(())
    }
}

fn read_attempts(attempts: Option<&Attempts>, now: SystemTime) -> AttemptState {
    let Some(attempts) = attempts else {
        return AttemptState {
            failures: 0,
            locked_until: None,
        };
    };
    AttemptState {
        failures: if now < attempts.window_ends {
            attempts.failures
        } else {
            0
        },
        locked_until: attempts.locked_until.filter(|until| now < *until),
    }
}

#[async_trait]
impl GraceLoginStore for MemoryStore {
    async fn use_grace_login(&self, user: &UserId, limit: u32) -> Result<GraceLogin, StoreError> {
        let mut state = self.state();
        let used = state.grace_logins.entry(user.clone()).or_default();
        if *used >= limit {
            return Ok(GraceLogin::Exhausted);
        }
        *used += 1;
        Ok(GraceLogin::Granted {
            remaining: limit - *used,
        })
    }

    async fn grace_logins_used(&self, user: &UserId) -> Result<u32, StoreError> {
        Ok(self.state().grace_logins.get(user).copied().unwrap_or(0))
    }
}

#[async_trait]
impl AdminStore for MemoryStore {
    async fn put_factor(&self, factor: &Factor) -> Result<(), StoreError> {
        let mut state = self.state();
        let stored = Stored {
            factor: factor.clone(),
            identity: IdentityUse::Shared,
        };
        match state.find(&factor.user_id, &factor.id) {
            Some(current) => *current = stored,
            None => state
                .factors
                .entry(factor.user_id.clone())
                .or_default()
                .push(stored),
        }
        Ok(())
    }

    async fn delete_factors(&self, user: &UserId) -> Result<u64, StoreError> {
        let removed = self.state().factors.remove(user).unwrap_or_default();
        Ok(removed.len() as u64)
    }

    async fn reset_grace_logins(&self, user: &UserId) -> Result<(), StoreError> {
        self.state().grace_logins.remove(user);
        Ok(())
    }
}

#[async_trait]
impl DeviceStore for MemoryStore {
    async fn device_generation(&self, user: &UserId) -> Result<u64, StoreError> {
        Ok(self
            .state()
            .device_generations
            .get(user)
            .copied()
            .unwrap_or(0))
    }

    async fn revoke_devices(&self, user: &UserId) -> Result<u64, StoreError> {
        let mut state = self.state();
        let generation = state.device_generations.entry(user.clone()).or_default();
        *generation += 1;
        Ok(*generation)
    }
}

#[async_trait]
impl NonceStore for MemoryStore {
    async fn nonce_seen(&self, nonce: &str, now: SystemTime) -> Result<bool, StoreError> {
        Ok(self
            .state()
            .nonces
            .get(nonce)
            .is_some_and(|until| now < *until))
    }

    async fn insert_nonce(
        &self,
        nonce: &str,
        expires_at: SystemTime,
        now: SystemTime,
    ) -> Result<NonceInsert, StoreError> {
        let mut state = self.state();
        match state.nonces.get(nonce) {
            Some(seen_until) if now < *seen_until => Ok(NonceInsert::Seen),
            _ => {
                state.nonces.insert(nonce.to_owned(), expires_at);
                Ok(NonceInsert::Fresh)
            }
        }
    }
}

#[async_trait]
impl PurgeStore for MemoryStore {
    async fn purge_expired(
        &self,
        now: SystemTime,
        keep_approvals: Duration,
    ) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.nonces.len() + state.attempts.len() + state.approvals.len();
        state.nonces.retain(|_, until| now < *until);
        state.attempts.retain(|_, attempts| {
            let AttemptState {
                failures,
                locked_until,
            } = read_attempts(Some(attempts), now);
            failures > 0 || locked_until.is_some()
        });
        state.approvals.retain(|_, approval| {
            let record = approval.record.clone().as_of(now);
            match record.processed_at {
                Some(at) if record.status.is_final() => now < at + keep_approvals,
                _ => true,
            }
        });
        let after = state.nonces.len() + state.attempts.len() + state.approvals.len();
        Ok((before - after) as u64)
    }
}
