//! Twilio Verify v2 (`spec/twilio-verify.md`): Authy's successor, and what a
//! new Twilio customer can get. This module holds what every part of the
//! crate needs to speak Verify: the `X-Twilio-Signature` scheme
//! ([`signature`]), the REST client ([`Client`]), and the webhook receiver
//! ([`VerifyWebhook`]).

mod client;
pub mod signature;
mod webhook;

pub use client::*;

pub use webhook::{
    EventType, VerifyEventRequest, VerifyOutcome, VerifyWebhook, VerifyWebhookBuilder,
    VerifyWebhookError,
};
