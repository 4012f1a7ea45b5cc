//! What the routes show of stored records, the same in JSON and on pages.

use std::time::SystemTime;

use serde_json::{Value, json};

use crate::store::Factor;
use crate::utc::DateTime;

/// A factor as the JSON and the settings page show it: never its provider
/// reference or identity.
pub(crate) fn factor(factor: &Factor) -> Value {
    let at = |time: SystemTime| DateTime::of(time).iso8601();
    json!({
        "id": factor.id,
        "kind": factor.kind.as_str(),
        "label": factor.label,
        "state": factor.state.as_str(),
        "created_at": at(factor.created_at),
        "last_used_at": factor.last_used_at.map(at),
        "ending": factor.ending(),
    })
}

/// A factor as the challenge offers it, before the second factor: which
/// one, never when it was added or used.
pub(crate) fn choice(factor: &Factor) -> Value {
    json!({
        "id": factor.id,
        "kind": factor.kind.as_str(),
        "label": factor.label,
    })
}

/// The factors a user sees listed: every one but the backup codes, which
/// are counted instead.
pub(crate) fn listed(factors: &[Factor]) -> Vec<Value> {
    factors
        .iter()
        .filter(|f| f.kind != crate::store::FactorKind::BackupCodes)
        .map(factor)
        .collect()
}
