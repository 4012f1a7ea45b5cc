//! Where the webhooks are served: checked once, at build time, so that a
//! webhook can never shadow another route or become a catch-all.

use super::{ROUTES, TwoFactorBuilder};
use crate::config::ConfigError;
use crate::webhook::WebhookBuilder;

impl TwoFactorBuilder {
    /// Where the OneTouch webhook is served: its mount path or its public
    /// URL's path (a trailing slash is kept: the console's URL is matched
    /// exactly), never at the root of the site nor on a path another route
    /// has.
    pub(super) fn callback_path(&self) -> Result<String, ConfigError> {
        let path = match self.webhook.as_ref().and_then(WebhookBuilder::path) {
            Some(path) => path,
            // Only with forwarded headers trusted and no public URL.
            None => format!("{}/callback", self.prefix),
        };
        self.free_path(
            "webhook mount path",
            "webhook mount path (the public URL has no path: say where the callback is served with WebhookBuilder::with_mount_path)",
            path,
            &[],
        )
    }

    /// Where the Verify webhook is served (`None` without one), by the same
    /// rules, and not where the OneTouch webhook is.
    pub(super) fn verify_callback_path(
        &self,
        onetouch: &str,
    ) -> Result<Option<String>, ConfigError> {
        let Some(webhook) = &self.verify_webhook else {
            return Ok(None);
        };
        let path = webhook
            .path()
            .ok_or(ConfigError::Missing("Verify webhook public URL"))?;
        let taken: &[&str] = if self.webhook.is_some() {
            &[onetouch]
        } else {
            &[]
        };
        self.free_path(
            "Verify webhook mount path",
            "Verify webhook mount path (the public URL has no path: say where it is served with VerifyWebhookBuilder::with_mount_path)",
            path,
            taken,
        )
        .map(Some)
    }

    fn free_path(
        &self,
        setting: &'static str,
        root_refused: &'static str,
        path: String,
        taken: &[&str],
    ) -> Result<String, ConfigError> {
        if path == "/" {
            return Err(ConfigError::Missing(root_refused));
        }
        // A literal path: `{…}` or `*` would make the webhook a catch-all.
        if !path.starts_with('/') || path.contains(['?', '#', '{', '}', '*']) {
            return Err(ConfigError::InvalidPath { setting });
        }
        let clash = path == self.login_path
            || self.logout_path.as_deref() == Some(path.as_str())
            || taken.contains(&path.as_str())
            || ROUTES
                .iter()
                .any(|(route, _)| matches_route(&format!("{}{route}", self.prefix), &path));
        if clash {
            return Err(ConfigError::PathClash { setting, path });
        }
        Ok(path)
    }
}

/// Whether the literal `path` is one the route `pattern` serves: its
/// `{name}` segments match any one non-empty segment.
fn matches_route(pattern: &str, path: &str) -> bool {
    let mut want = pattern.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some(w), Some(h)) if w.starts_with('{') && w.ends_with('}') && !h.is_empty() => {}
            (Some(w), Some(h)) if w == h => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches_route;

    #[test]
    fn a_route_pattern_matches_each_path_it_serves() {
        assert!(matches_route(
            "/2fa/factors/{id}/remove",
            "/2fa/factors/abc/remove"
        ));
        assert!(matches_route("/2fa/totp", "/2fa/totp"));
        assert!(!matches_route(
            "/2fa/factors/{id}/remove",
            "/2fa/factors//remove"
        ));
        assert!(!matches_route(
            "/2fa/factors/{id}/remove",
            "/2fa/factors/abc"
        ));
        assert!(!matches_route("/2fa/totp", "/2fa/totp/"));
        assert!(!matches_route("/2fa/totp", "/2fa/totpx"));
    }
}
