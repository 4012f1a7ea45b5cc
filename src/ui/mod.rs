//! The default HTML of the challenge and enrollment pages: minijinja
//! templates compiled into the crate, each replaceable by the application
//! ([`crate::TwoFactorBuilder::with_template`] lists the names and the
//! context each gets). Autoescaping is on for every template, so
//! user-supplied text cannot become markup.
//!
//! The pages work without script; the challenge's one inline script (no
//! inline handlers, nothing from a CDN) adds the live OneTouch flow.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::{AutoEscape, Environment};
use serde::Serialize;

/// The pages, each a template an application may replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Template {
    /// The layout the others extend.
    Base,
    /// `GET {prefix}`.
    Challenge,
    /// `GET {prefix}/enroll`.
    Enroll,
    /// A page that cannot be shown otherwise.
    Message,
    /// `POST {prefix}/totp`: an authenticator app's QR code and secret.
    Totp,
    /// A new set of backup codes, shown once.
    BackupCodes,
    /// `POST {prefix}/contact`: the code sent to a new address, asked for.
    Contact,
    /// The passkey ceremony's script, included by the challenge and the
    /// settings page.
    PasskeyScript,
}

impl Template {
    pub(crate) const ALL: [Self; 8] = [
        Self::Base,
        Self::Challenge,
        Self::Enroll,
        Self::Message,
        Self::Totp,
        Self::BackupCodes,
        Self::Contact,
        Self::PasskeyScript,
    ];

    /// The name the builder knows it by.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Base => "base.html",
            Self::Challenge => "challenge.html",
            Self::Enroll => "enroll.html",
            Self::Message => "message.html",
            Self::Totp => "totp.html",
            Self::BackupCodes => "backup_codes.html",
            Self::Contact => "contact.html",
            Self::PasskeyScript => "passkey_script.html",
        }
    }

    fn default_source(self) -> &'static str {
        match self {
            Self::Base => include_str!("templates/base.html"),
            Self::Challenge => include_str!("templates/challenge.html"),
            Self::Enroll => include_str!("templates/enroll.html"),
            Self::Message => include_str!("templates/message.html"),
            Self::Totp => include_str!("templates/totp.html"),
            Self::BackupCodes => include_str!("templates/backup_codes.html"),
            Self::Contact => include_str!("templates/contact.html"),
            Self::PasskeyScript => include_str!("templates/passkey_script.html"),
        }
    }

    pub(crate) fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// The rendering environment, shared by every request.
#[derive(Debug, Clone)]
pub(crate) struct Ui {
    env: Arc<Environment<'static>>,
}

impl Ui {
    /// The defaults, with `overrides` (template name → source) replacing them.
    pub(crate) fn new(overrides: &BTreeMap<String, String>) -> Result<Self, minijinja::Error> {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        // Tags on lines of their own leave no blank lines behind.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        for template in Template::ALL {
            let name = template.name();
            match overrides.get(name) {
                Some(own) => env.add_template_owned(name, own.clone())?,
                None => env.add_template(name, template.default_source())?,
            }
        }
        Ok(Self { env: Arc::new(env) })
    }

    /// Renders a page; a template error is logged and shown as a plain page.
    pub(crate) fn render(&self, template: Template, context: impl Serialize) -> String {
        let name = template.name();
        match self.env.get_template(name).and_then(|t| t.render(context)) {
            Ok(html) => html,
            Err(error) => {
                tracing::error!(%error, template = name, "tower-authy: template failed");
                "<!doctype html><title>Error</title><p>This page could not be shown.</p>".into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_default_template_compiles_and_escapes() {
        let ui = Ui::new(&BTreeMap::new()).unwrap();
        let html = ui.render(Template::Message, json!({"title": "<script>x</script>"}));
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>x"), "{html}");
        for template in Template::ALL {
            assert!(
                !ui.render(template, json!({}))
                    .contains("could not be shown"),
                "{template:?}"
            );
            assert_eq!(Template::named(template.name()), Some(template));
        }
    }

    fn page(name: Template, extra: serde_json::Value) -> String {
        let mut context =
            json!({"prefix": "/2fa", "csrf": "c", "codes": true, "sms": true, "call": true});
        for (key, value) in extra.as_object().unwrap() {
            context[key] = value.clone();
        }
        Ui::new(&BTreeMap::new()).unwrap().render(name, context)
    }

    #[test]
    fn the_code_path_needs_no_script_and_says_what_went_wrong() {
        let html = page(
            Template::Challenge,
            json!({"onetouch": false, "error": "Wrong.", "error_code": "code_rejected"}),
        );
        assert!(!html.contains("<script"), "{html}");
        for needed in [
            r#"role="alert">Wrong.</p>"#,
            r#"autocomplete="one-time-code""#,
            r#"inputmode="numeric""#,
            r#"<label for="token">"#,
            r#"aria-invalid="true""#,
            "autofocus",
        ] {
            assert!(html.contains(needed), "{needed}: {html}");
        }
        // No inline handlers: one script block is all a CSP must allow.
        let with_push = page(
            Template::Challenge,
            json!({"onetouch": true, "onetouch_ttl": 120}),
        );
        assert_eq!(with_push.matches("<script").count(), 1);
        assert!(!with_push.contains(" onclick=") && !with_push.contains(" onload="));
    }

    #[test]
    fn enrollment_marks_the_wrong_field() {
        let html = page(
            Template::Enroll,
            json!({"step": "enroll", "error": "Bad.", "error_code": "invalid_country_code"}),
        );
        let field = html
            .split("<input id=\"country_code\"")
            .nth(1)
            .and_then(|rest| rest.split_once('>'))
            .map(|(attributes, _)| attributes)
            .unwrap();
        assert!(field.contains(r#"aria-invalid="true""#), "{field}");
        assert!(field.contains("autofocus"), "{field}");
        assert_eq!(html.matches("autofocus").count(), 1, "{html}");
    }

    #[test]
    fn an_override_replaces_a_default() {
        let own = BTreeMap::from([("message.html".to_owned(), "mine: {{ title }}".to_owned())]);
        let ui = Ui::new(&own).unwrap();
        assert_eq!(
            ui.render(Template::Message, json!({"title": "t"})),
            "mine: t"
        );
    }
}
