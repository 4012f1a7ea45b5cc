//! The quickstart app in real headless Chromium (Debian's `chromium` and
//! `chromium-driver`), driven through chromedriver: what an end user clicks,
//! with the simulator's virtual phone in a second tab.
//!
//! ```text
//! cargo test --all-features --test browser
//! ```
//!
//! Each test serves its own app (in process, port 0) and starts its own
//! chromedriver and browser; both are shut down at the end. A failing test
//! leaves `target/tmp/browser/<test>/failure.png` and `chromedriver.log`.
//!
//! Elements are found by the ids, form `action`s and input `name`s the
//! templates keep; text is only matched for what the user is told.

// The tests serve the simulator and the local flavours; the real-Authy half
// of the app is built by `main.rs` only.
#[allow(dead_code)]
#[path = "../../examples/quickstart/accounts.rs"]
mod accounts;
#[allow(dead_code)]
#[path = "../../examples/quickstart/app.rs"]
mod app;
mod authy;
mod harness;
#[path = "../../examples/quickstart/limits.rs"]
mod limits;
mod local;
#[path = "../../examples/quickstart/pages.rs"]
mod pages;
mod passkeys;
mod quickstart_http;
mod steps;
mod verify;
