//! The application's details and statistics (spec §2.3).

use std::net::IpAddr;

use serde::Deserialize;

use super::transport::{Call, Kind};
use super::{AuthyError, Client, lenient, user_ip_param};

/// The application, from [`Apps::details`]. A cheap call that proves the key
/// works: a good "test connection" check.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AppDetails {
    /// The application's name.
    pub name: String,
    /// The application's ID.
    pub app_id: Option<u64>,
    /// The billing plan, e.g. `pay_as_you_go`.
    pub plan: Option<String>,
    /// Whether SMS is enabled.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub sms_enabled: Option<bool>,
    /// Whether voice calls are enabled.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub phone_calls_enabled: Option<bool>,
    /// Whether OneTouch is enabled.
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    pub onetouch_enabled: Option<bool>,
}

/// Usage statistics, from [`Apps::stats`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct AppStats {
    /// The application's ID.
    pub app_id: Option<u64>,
    /// The number of entries in `stats`.
    pub count: Option<u64>,
    /// Users registered with the application.
    pub total_users: Option<u64>,
    /// One entry per month.
    #[serde(default)]
    pub stats: Vec<MonthlyStats>,
}

/// One month of [`AppStats`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct MonthlyStats {
    /// The month's English name, e.g. `January`.
    pub month: String,
    /// The year.
    pub year: i32,
    /// API calls.
    #[serde(default)]
    pub api_calls_count: u64,
    /// Successful authentications.
    #[serde(default)]
    pub auths_count: u64,
    /// Voice calls.
    #[serde(default)]
    pub calls_count: u64,
    /// Text messages.
    #[serde(default)]
    pub sms_count: u64,
    /// Users.
    #[serde(default)]
    pub users_count: u64,
}

/// The application API, from [`Client::apps`].
#[derive(Debug, Clone, Copy)]
pub struct Apps<'a> {
    client: &'a Client,
    user_ip: Option<IpAddr>,
}

impl<'a> Apps<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self {
            client,
            user_ip: None,
        }
    }

    /// Sends the end user's IP address (`user_ip`) with both calls.
    pub fn with_user_ip(mut self, ip: IpAddr) -> Self {
        self.user_ip = Some(ip);
        self
    }

    /// The application's details: `GET /protected/json/app/details`.
    ///
    /// ```no_run
    /// # async fn run(client: tower_authy::authy::Client) -> Result<(), tower_authy::authy::AuthyError> {
    /// let app = client.apps().details().await?;
    /// println!("connected to Authy application {}", app.name);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn details(&self) -> Result<AppDetails, AuthyError> {
        let call = Call::protected("app_details", Kind::Read, &["app", "details"])
            .param_opt("user_ip", user_ip_param(self.user_ip));
        #[derive(Deserialize)]
        struct Wire {
            app: AppDetails,
        }
        let wire: Wire = self.client.execute(call).await?;
        Ok(wire.app)
    }

    /// Monthly statistics: `GET /protected/json/app/stats`.
    pub async fn stats(&self) -> Result<AppStats, AuthyError> {
        let call = Call::protected("app_stats", Kind::Read, &["app", "stats"])
            .param_opt("user_ip", user_ip_param(self.user_ip));
        self.client.execute(call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authy::transport::interpret;

    #[test]
    fn stats_sample() {
        let body = r#"{"app_id":1,"count":12,"total_users":100,"message":"Monthly statistics.",
          "stats":[{"month":"January","year":2015,"api_calls_count":12,"auths_count":3,
          "calls_count":0,"sms_count":5,"users_count":7}],"success":true}"#;
        let stats: AppStats = interpret(http::StatusCode::OK, body.as_bytes(), "k").unwrap();
        assert_eq!(stats.total_users, Some(100));
        assert_eq!(stats.stats[0].sms_count, 5);
    }
}
