//! What an operator graphs: second factors passed (by method), refusals (by
//! reason), codes and pushes sent (by channel) and webhook calls refused (by
//! provider and reason).
//!
//! Each is a `tracing` event with stable fields (target
//! `tower_authy::telemetry`): any subscriber can count them, with nothing
//! more to install. With the `metrics` feature each is also a counter of
//! the [`metrics`](https://docs.rs/metrics) facade, for the Prometheus or
//! StatsD exporter the application installs (a no-op without one):
//!
//! | counter | labels |
//! |---|---|
//! | `tower_authy_passes_total` | `method`: `code`, `one_touch`, `passkey`, … |
//! | `tower_authy_refusals_total` | `reason`: a [`Code`], e.g. `code_rejected` |
//! | `tower_authy_sends_total` | `channel`: `sms`, `call`, `email`, `whatsapp`, `push` |
//! | `tower_authy_webhook_refusals_total` | `provider` (`authy`, `verify`), `reason` |
//!
//! No event carries a code, a token, a phone number or an address: reasons
//! and kinds only.

use crate::code::Code;
use crate::session::SecondFactorMethod;

const TARGET: &str = "tower_authy::telemetry";

/// A session passed its second factor.
pub(crate) fn passed(method: SecondFactorMethod) {
    tracing::info!(target: TARGET, method = method.as_str(), "tower-authy: second factor passed");
    #[cfg(feature = "metrics")]
    metrics::counter!("tower_authy_passes_total", "method" => method.as_str()).increment(1);
}

/// A request was refused (a wrong code, a limit, a failure) with `reason`.
pub(crate) fn refused(reason: Code) {
    tracing::info!(
        target: TARGET,
        reason = reason.as_str(),
        status = reason.status().as_u16(),
        "tower-authy: refused"
    );
    #[cfg(feature = "metrics")]
    metrics::counter!("tower_authy_refusals_total", "reason" => reason.as_str()).increment(1);
}

/// A code or a push went out by `channel`.
pub(crate) fn sent(channel: &'static str) {
    tracing::info!(target: TARGET, channel, "tower-authy: sent");
    #[cfg(feature = "metrics")]
    metrics::counter!("tower_authy_sends_total", "channel" => channel).increment(1);
}

/// A webhook call from `provider` was refused with `reason`.
pub(crate) fn webhook_refused(provider: &'static str, reason: &'static str) {
    // Info, like the others: the route warns of it already, with the detail.
    tracing::info!(target: TARGET, provider, reason, "tower-authy: webhook call refused");
    #[cfg(feature = "metrics")]
    metrics::counter!(
        "tower_authy_webhook_refusals_total",
        "provider" => provider,
        "reason" => reason
    )
    .increment(1);
}
