//! Twilio Verify: signatures, the client, the simulator, the webhook and
//! the flows on Verify factors.

mod client_faults;
mod methods;
mod official_library;
mod routes;
mod signature_vectors;
pub(super) mod simulator;
mod webhook;
mod webhook_route;
