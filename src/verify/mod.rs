//! Twilio Verify v2 (`spec/twilio-verify.md`): Authy's successor, and what a
//! new Twilio customer can get. This module holds what every part of the
//! crate needs to speak Verify: the `X-Twilio-Signature` scheme
//! ([`signature`]), the REST client, and the webhook receiver.

pub mod signature;
