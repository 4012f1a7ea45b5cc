//! Who asks for a push: shown on the phone so its owner can tell their own
//! sign-in from a stale or a foreign one.

use std::net::IpAddr;
use std::time::SystemTime;

use crate::utc::DateTime;

/// What is known of the browser that asked for a push.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Requester {
    /// The peer's address, when the application serves with connect info
    /// (a proxy's forwarded headers are not trusted for this).
    pub(crate) ip: Option<IpAddr>,
    /// The browser, as its `User-Agent` says.
    pub(crate) user_agent: Option<String>,
}

impl Requester {
    /// The details the push shows, in order.
    pub(crate) fn details(&self, now: SystemTime) -> Vec<(&'static str, String)> {
        let mut details = Vec::new();
        if let Some(ip) = self.ip {
            details.push(("IP address", ip.to_string()));
        }
        if let Some(browser) = self.user_agent.as_deref().and_then(browser) {
            details.push(("Browser", browser));
        }
        details.push(("Time", utc(now)));
        details
    }
}

/// "Firefox on Linux", from a `User-Agent`; `None` when it names neither a
/// known browser nor a known system.
fn browser(agent: &str) -> Option<String> {
    // Order matters: Edge and Chrome say "Safari" too, Edge says "Chrome".
    let name = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(token, _)| agent.contains(token))
    .map(|(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(token, _)| agent.contains(token))
    .map(|(_, name)| name);
    match (name, system) {
        (Some(name), Some(system)) => Some(format!("{name} on {system}")),
        (Some(name), None) => Some(name.to_owned()),
        (None, Some(system)) => Some(format!("a browser on {system}")),
        (None, None) => None,
    }
}

/// `2026-12-02 05:30 UTC`.
fn utc(time: SystemTime) -> String {
    let at = DateTime::of(time);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year, at.month, at.day, at.hour, at.minute
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn browsers_read_as_people_name_them() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(browser(chrome).as_deref(), Some("Chrome on Linux"));
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(browser(edge).as_deref(), Some("Edge on Windows"));
        let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(browser(safari).as_deref(), Some("Safari on iPhone"));
        let firefox =
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.0; rv:120.0) Gecko/20100101 Firefox/120.0";
        assert_eq!(browser(firefox).as_deref(), Some("Firefox on macOS"));
        assert_eq!(browser("something else"), None);
    }

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01 00:00 UTC");
        let t = UNIX_EPOCH + Duration::from_secs(1_796_189_400); // 2026-12-02 05:30
        assert_eq!(utc(t), "2026-12-02 05:30 UTC");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(utc(leap), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn details_name_what_is_known() {
        let now = UNIX_EPOCH;
        let nobody = Requester::default().details(now);
        assert_eq!(nobody, [("Time", "1970-01-01 00:00 UTC".to_owned())]);
        let known = Requester {
            ip: Some("203.0.113.7".parse().unwrap()),
            user_agent: Some("curl/8.0".into()),
        };
        let names: Vec<_> = known.details(now).into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["IP address", "Browser", "Time"]);
    }
}
