//! The machinery under the scenarios: the quickstart app on a loopback port,
//! a chromedriver of each test's own, a headless Chromium session, and waits
//! that poll with a bound instead of sleeping.

use std::future::Future;
use std::panic::resume_unwind;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::wd::{TimeoutConfiguration, WindowHandle};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tower_authy::ApiKey;
use tower_authy::store::MemoryStore;

use crate::app;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Result<T = ()> = std::result::Result<T, Error>;

/// How long a page may take to show what a step waits for. Generous: CI
/// machines are slow, and a passing run never waits this long.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// The most one scenario may take, all waits included.
const SCENARIO_LIMIT: Duration = Duration::from_secs(120);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

/// Whether the browser runs the pages' scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Js {
    On,
    Off,
}

/// Runs one scenario in a fresh browser against a fresh app, then shuts both
/// down; on failure it leaves `failure.png` in the scenario's scratch
/// directory (under the target's tmp dir) and fails with the scenario's error.
pub async fn run<F, Fut>(name: &str, js: Js, scenario: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = Result> + Send + 'static,
{
    run_on(name, js, app::Provider::AuthySimulator, scenario).await;
}

/// [`run`] against the quickstart with `provider`.
pub async fn run_on<F, Fut>(name: &str, js: Js, provider: app::Provider, scenario: F)
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = Result> + Send + 'static,
{
    let dir = scratch_dir(name);
    let base = serve_app(provider).await;
    let mut driver = Driver::start(&dir).await;
    let client = driver.session(&dir.join("profile"), js).await;
    let browser = Browser {
        client: client.clone(),
        base,
        dir: dir.clone(),
    };
    // A task of its own, so that a failed assertion (a panic) or a hang
    // still lets the browser be photographed and shut down.
    let task = tokio::spawn(scenario(browser));
    let abort = task.abort_handle();
    let outcome = match tokio::time::timeout(SCENARIO_LIMIT, task).await {
        Ok(Ok(Ok(()))) => Outcome::Passed,
        Ok(Ok(Err(error))) => Outcome::Failed(error.to_string()),
        Ok(Err(join)) => match join.try_into_panic() {
            Ok(panic) => Outcome::Panicked(panic),
            Err(join) => Outcome::Failed(join.to_string()),
        },
        Err(_) => {
            abort.abort();
            Outcome::Failed(format!("still running after {SCENARIO_LIMIT:?}"))
        }
    };
    let shot = dir.join("failure.png");
    if !matches!(outcome, Outcome::Passed) {
        match client.screenshot().await {
            Ok(png) => {
                let _ = std::fs::write(&shot, png);
            }
            Err(e) => eprintln!("{name}: no screenshot: {e}"),
        }
    }
    // Closing the session quits Chromium; then the driver goes.
    let _ = client.close().await;
    driver.stop().await;
    let _ = std::fs::remove_dir_all(dir.join("profile"));
    match outcome {
        Outcome::Passed => {}
        Outcome::Failed(error) => panic!("{name}: {error}\n(screenshot: {})", shot.display()),
        Outcome::Panicked(panic) => {
            eprintln!("{name}: screenshot: {}", shot.display());
            resume_unwind(panic)
        }
    }
}

enum Outcome {
    Passed,
    Failed(String),
    Panicked(Box<dyn std::any::Any + Send>),
}

/// `target/tmp/browser/<name>`, emptied.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("browser")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// The quickstart app alone (no browser), for checks over plain HTTP.
pub async fn serve_quickstart(provider: app::Provider) -> String {
    serve_app(provider).await
}

/// Serves the quickstart app, with its in-process simulator, on a free
/// loopback port; returns its base URL. It lives as long as the test's
/// runtime.
async fn serve_app(provider: app::Provider) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local address");
    let base = format!("http://{addr}");
    let router = app::app(app::Config {
        public_url: base.clone(),
        port: addr.port(),
        key: ApiKey::random(),
        provider,
        store: Arc::new(MemoryStore::new()),
        remember_key: ApiKey::random(),
        secret_key: "a browser test's secret key, 32+ bytes".into(),
    })
    .expect("the quickstart app builds");
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    base
}

/// Where a program is on `PATH`, or a failure that says what to install.
fn installed(program: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{program}` was not found: the browser tests need Debian's Chromium and \
                 ChromeDriver. Install them with `apt-get install chromium chromium-driver`."
            )
        })
}

/// A chromedriver on a loopback port it picks itself.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    async fn start(dir: &Path) -> Self {
        let program = installed("chromedriver");
        // Its log and Chromium's messages go to a file: useful after a
        // failure, noise otherwise.
        let log = std::fs::File::create(dir.join("chromedriver.log")).expect("create the log");
        let mut child = Command::new(&program)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        // It says "ChromeDriver was started successfully on port 41235."
        let port = tokio::time::timeout(PATIENCE, async {
            while let Some(line) = lines.next_line().await.ok().flatten() {
                if let Some(port) = line.split("successfully on port ").nth(1) {
                    return port.trim_end_matches('.').trim().parse::<u16>().ok();
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .expect("chromedriver reports the port it listens on");
        // Keep reading, so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A headless Chromium with an empty profile of its own, started with
    /// the flags this machine needs (root, no network but loopback).
    async fn session(&self, profile: &Path, js: Js) -> Client {
        let chromium = installed("chromium");
        let _ = std::fs::remove_dir_all(profile);
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1024,900",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let prefs = match js {
            Js::On => json!({}),
            // What a user who turned JavaScript off in the settings has.
            Js::Off => json!({"profile.managed_default_content_settings.javascript": 2}),
        };
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": chromium, "args": args, "prefs": prefs}),
        );
        // WebDriver on loopback is plain HTTP: no TLS connector needed.
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("start headless Chromium through chromedriver: {e}"));
        // A page that never loads fails the step instead of the default minute.
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(PATIENCE),
                Some(PATIENCE),
                Some(Duration::ZERO),
            ))
            .await
            .expect("set the session's timeouts");
        client
    }

    async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// One browser session on the app, with the steps a user takes.
#[derive(Clone)]
pub struct Browser {
    pub client: Client,
    base: String,
    dir: PathBuf,
}

impl Browser {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The same session on the app's passkey address (`localhost`, not
    /// `127.0.0.1`: browsers refuse an IP address as a passkey's site).
    pub fn by_name(&self) -> Browser {
        Browser {
            base: app::passkey_url(&self.base),
            ..self.clone()
        }
    }

    /// Adds a virtual authenticator to the browser (the WebDriver WebAuthn
    /// extension): a CTAP2 key that consents and verifies its user at
    /// once. Returns its id.
    pub async fn add_virtual_authenticator(&self) -> Result<String> {
        let added = self
            .client
            .issue_cmd(Authenticator::Add(json!({
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserConsenting": true,
                "isUserVerified": true,
            })))
            .await?;
        Ok(added.as_str().ok_or("the authenticator's id")?.to_owned())
    }

    /// Removes the virtual authenticator `id`, and the passkeys it held.
    pub async fn remove_virtual_authenticator(&self, id: &str) -> Result {
        self.client
            .issue_cmd(Authenticator::Remove(id.to_owned()))
            .await?;
        Ok(())
    }

    pub async fn open(&self, path: &str) -> Result {
        Ok(self.client.goto(&self.url(path)).await?)
    }

    /// Opens `path` in a new tab and switches to it; returns the tab left.
    pub async fn open_tab(&self, path: &str) -> Result<WindowHandle> {
        let left = self.client.window().await?;
        let tab = self.client.new_window(true).await?;
        self.client.switch_to_window(tab.handle).await?;
        self.open(path).await?;
        Ok(left)
    }

    pub async fn switch_to(&self, tab: &WindowHandle) -> Result {
        Ok(self.client.switch_to_window(tab.clone()).await?)
    }

    /// Waits until the page's path (the query aside) is `path`.
    pub async fn wait_for_path(&self, path: &str) -> Result {
        eventually(&format!("the page {path}"), PATIENCE, || async {
            let url = self.client.current_url().await?;
            Ok((url.path() == path).then_some(()))
        })
        .await
    }

    /// The first element matching `css`, once there is one.
    pub async fn find(&self, css: &str) -> Result<Element> {
        eventually(&format!("an element `{css}`"), PATIENCE, || async {
            present(self.client.find(Locator::Css(css)).await)
        })
        .await
    }

    /// The first element matching `css`, once it is shown.
    pub async fn find_shown(&self, css: &str, within: Duration) -> Result<Element> {
        eventually(&format!("a shown `{css}`"), within, || async {
            match present(self.client.find(Locator::Css(css)).await)? {
                Some(e) if e.is_displayed().await? => Ok(Some(e)),
                _ => Ok(None),
            }
        })
        .await
    }

    /// Whether an element matching `css` is on the page and shown.
    pub async fn shown(&self, css: &str) -> Result<bool> {
        Ok(match present(self.client.find(Locator::Css(css)).await)? {
            Some(e) => e.is_displayed().await?,
            None => false,
        })
    }

    /// Types `value` into the input named `name`, replacing what was there.
    pub async fn fill(&self, name: &str, value: &str) -> Result {
        let input = self.find(&format!("input[name=\"{name}\"]")).await?;
        input.clear().await?;
        input.send_keys(value).await?;
        Ok(())
    }

    /// Clicks the button of the form posting to `action`.
    pub async fn submit(&self, action: &str) -> Result {
        self.click(&format!("form[action=\"{action}\"] button"))
            .await
    }

    /// Clicks the first element matching `css`. A page that reloads itself
    /// (the virtual phone) may swap it under the click: then it is found
    /// again.
    pub async fn click(&self, css: &str) -> Result {
        eventually(&format!("a click on `{css}`"), PATIENCE, || async {
            let Some(element) = present(self.client.find(Locator::Css(css)).await)? else {
                return Ok(None);
            };
            match element.click().await {
                Ok(()) => Ok(Some(())),
                Err(e) if e.is_stale_element_reference() => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// Waits until the page's visible text contains `needle` (any case).
    pub async fn wait_for_text(&self, needle: &str) -> Result<String> {
        let needle = needle.to_lowercase();
        eventually(&format!("the text {needle:?}"), PATIENCE, || async {
            let text = match self.client.find(Locator::Css("body")).await {
                Ok(body) => match body.text().await {
                    Ok(text) => text,
                    Err(e) if e.is_stale_element_reference() => return Ok(None),
                    Err(e) => return Err(e.into()),
                },
                Err(e) if e.is_no_such_element() => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            Ok(text.to_lowercase().contains(&needle).then_some(text))
        })
        .await
    }

    /// Saves a screenshot of the current tab into the scenario's scratch
    /// directory; returns where.
    pub async fn screenshot(&self, file: &str) -> Result<PathBuf> {
        let path = self.dir.join(file);
        std::fs::write(&path, self.client.screenshot().await?)?;
        Ok(path)
    }

    /// A screenshot of one of the default pages for the README: into the
    /// scratch directory always, and into `docs/screenshots/` when
    /// `TOWER_AUTHY_SCREENSHOTS` is set (`scripts/screenshots`).
    pub async fn screenshot_for_docs(&self, file: &str) -> Result {
        let taken = self.screenshot(file).await?;
        if std::env::var_os("TOWER_AUTHY_SCREENSHOTS").is_some() {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
            std::fs::create_dir_all(&docs)?;
            std::fs::copy(&taken, docs.join(file))?;
        }
        Ok(())
    }

    /// The virtual phone's JSON control API, read outside the browser.
    pub async fn phone_api(&self, path: &str) -> Result<Value> {
        let url = self.url(&format!("/simulator/phone/api/{path}"));
        let response = reqwest::get(&url).await?.error_for_status()?;
        Ok(response.json().await?)
    }
}

/// `Some(element)`, `None` when there is none (yet), or the error.
fn present(found: std::result::Result<Element, CmdError>) -> Result<Option<Element>> {
    match found {
        Ok(element) => Ok(Some(element)),
        Err(e) if e.is_no_such_element() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Asks `probe` until it answers `Some`, for at most `within`. Elements that
/// went stale (a page replaced under the question) count as "not yet".
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + within;
    loop {
        match probe().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e)
                if e.downcast_ref::<CmdError>()
                    .is_some_and(CmdError::is_stale_element_reference) => {}
            Err(e) => return Err(e),
        }
        if Instant::now() >= deadline {
            return Err(format!("waited {within:?} for {what}").into());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The WebDriver WebAuthn extension's commands, as chromedriver serves them.
#[derive(Debug)]
enum Authenticator {
    Add(Value),
    Remove(String),
}

impl fantoccini::wd::WebDriverCompatibleCommand for Authenticator {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> std::result::Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        match self {
            Self::Add(_) => base_url.join(&format!("session/{session}/webauthn/authenticator")),
            Self::Remove(id) => {
                base_url.join(&format!("session/{session}/webauthn/authenticator/{id}"))
            }
        }
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        match self {
            Self::Add(options) => (http::Method::POST, Some(options.to_string())),
            Self::Remove(_) => (http::Method::DELETE, None),
        }
    }
}
