//! [`TwoFactorBuilder::build`]: every check of the set-up, once, before
//! anything is served.

use std::sync::Arc;

use super::{Shared, TwoFactor, TwoFactorBuilder};
use crate::config::{ConfigError, StatusMode};
use crate::domain::Rules;
use crate::method::Ability;
use crate::method::backup::BackupCodes;
use crate::method::totp::Totp;
use crate::sealing::{MIN_KEY_LEN, Sealer};
use crate::store::FactorKind;
use crate::ui::Ui;

impl TwoFactorBuilder {
    /// The sealer of local secrets, if a secret key was given.
    fn sealer(&self) -> Result<Option<Arc<Sealer>>, ConfigError> {
        let Some(current) = &self.secret_key else {
            return Ok(None);
        };
        let short = std::iter::once(current)
            .chain(&self.old_secret_keys)
            .any(|key| key.expose().len() < MIN_KEY_LEN);
        if short {
            return Err(ConfigError::OutOfRange {
                setting: "secret key",
                reason: format!("at least {MIN_KEY_LEN} bytes"),
            });
        }
        Ok(Some(Arc::new(Sealer::new(current, &self.old_secret_keys))))
    }

    /// Checks the set-up.
    pub fn build(self) -> Result<TwoFactor, ConfigError> {
        let path = |setting: &'static str, path: &str| {
            if path.starts_with('/') && !path.ends_with('/') && !path.contains(['?', '#']) {
                Ok(())
            } else {
                Err(ConfigError::InvalidPath { setting })
            }
        };
        if let Some(kind) = self.duplicate {
            return Err(ConfigError::DuplicateMethod(kind));
        }
        let sealer = self.sealer()?;
        let mut methods = self.methods.clone();
        if self.authenticator_apps {
            let sealer = sealer.clone().ok_or(ConfigError::Missing(
                "secret key (with_secret_key): authenticator apps' seeds are sealed with it",
            ))?;
            methods
                .add(Arc::new(Totp::new(self.store.clone(), sealer)))
                .map_err(ConfigError::DuplicateMethod)?;
        }
        if self.backup_codes {
            let sealer = sealer.clone().ok_or(ConfigError::Missing(
                "secret key (with_secret_key): backup codes are hashed with it",
            ))?;
            methods
                .add(Arc::new(BackupCodes::new(sealer)))
                .map_err(ConfigError::DuplicateMethod)?;
        }
        path("prefix", &self.prefix)?;
        path("login path", &self.login_path)?;
        if let Some(logout) = &self.logout_path {
            path("logout path", logout)?;
        }
        // A path of this site only: `//evil.example` is another site.
        let back = &self.return_path;
        let unsafe_char = |c: char| c.is_control() || c.is_whitespace() || c == '\\' || c == '#';
        if !back.starts_with('/') || back.starts_with("//") || back.contains(unsafe_char) {
            return Err(ConfigError::InvalidPath {
                setting: "return path",
            });
        }
        if methods.is_empty() {
            return Err(ConfigError::Missing(
                "a method: a provider (TwoFactor::builder, with_method) or authenticator apps",
            ));
        }
        let callback_path = self.callback_path()?;
        let verify_path = self.verify_callback_path(&callback_path)?;
        if self.policy.onetouch && self.policy.status_mode == StatusMode::Callback {
            for kind in methods.kinds_that_can(Ability::Push) {
                let received = match kind {
                    FactorKind::VerifyPush => self.verify_webhook.is_some(),
                    _ => self.webhook.is_some(),
                };
                if !received {
                    return Err(ConfigError::Missing(match kind {
                        FactorKind::VerifyPush => {
                            "Verify webhook (Verify push in callback mode needs one; or use StatusMode::Polling)"
                        }
                        _ => {
                            "webhook (OneTouch in callback mode needs one; or use StatusMode::Polling)"
                        }
                    }));
                }
            }
        }
        if let Some(name) = self
            .templates
            .keys()
            .find(|name| crate::ui::Template::named(name).is_none())
        {
            return Err(ConfigError::UnknownTemplate(name.clone()));
        }
        let ui = Ui::new(&self.templates).map_err(|e| ConfigError::Template(e.to_string()))?;
        let webhook = self
            .webhook
            .map(|webhook| webhook.build(self.store.clone()))
            .transpose()?;
        let verify_webhook = match (self.verify_webhook, verify_path) {
            (Some(webhook), Some(path)) => Some((path, webhook.build(self.store.clone())?)),
            _ => None,
        };
        Ok(TwoFactor {
            shared: Arc::new(Shared {
                rules: Rules {
                    methods,
                    sealer,
                    store: self.store,
                    policy: self.policy,
                    events: self.events,
                },
                prefix: self.prefix,
                login_path: self.login_path,
                logout_path: self.logout_path,
                return_path: self.return_path,
                callback_path,
                webhook,
                verify_webhook,
                ui,
            }),
        })
    }
}
