//! What a page says about the last outcome: the message for its `?error=`
//! or `?notice=` code, made precise with what the store knows (attempts
//! left, how long a lockout or a sending pause lasts). Only known codes are
//! kept: nothing the URL says is shown.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::code::Code;
use crate::domain::{Refusal, Rules};
use crate::store::UserId;

/// The messages of a page, ready for its template.
#[derive(Debug, Serialize)]
pub(crate) struct PageMessages {
    pub(crate) error: Option<String>,
    pub(crate) error_code: Option<Code>,
    pub(crate) notice: Option<&'static str>,
    pub(crate) notice_code: Option<Code>,
    /// Wrong codes the user may still enter before the lockout.
    pub(crate) attempts_left: Option<u32>,
    /// Seconds until the user's lockout ends.
    pub(crate) locked_for: Option<u64>,
}

/// A code from the URL, if it is one of ours.
fn known(code: Option<&str>) -> Option<Code> {
    code?.parse().ok()
}

/// Whole seconds, rounded up, at least 1.
fn seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

impl PageMessages {
    /// `identities`: the provider identities of the user's factors, whose
    /// counters count too.
    pub(crate) async fn of(
        rules: &Rules,
        user: &UserId,
        identities: &[&str],
        error: Option<&str>,
        notice: Option<&str>,
    ) -> Result<Self, Refusal> {
        let now = SystemTime::now();
        let standing = rules.standing(user, identities, now).await?;
        let locked_for = standing.locked_for.map(seconds);
        let attempts_left = standing.attempts_left;
        let mut error_code = known(error);
        // The store knows best: a lockout shows even after a reload.
        if locked_for.is_some() && matches!(error_code, None | Some(Code::CodeRejected)) {
            error_code = Some(Code::LockedOut);
        }
        let text = match error_code {
            Some(Code::LockedOut) => Some(match locked_for {
                Some(secs) => format!(
                    "Too many wrong codes. You can try again in {}.",
                    in_words(secs)
                ),
                None => "The pause after too many wrong codes is over: try again.".into(),
            }),
            Some(Code::CodeRejected) => Some(match attempts_left {
                Some(1) => "That code is not right. One attempt is left before a pause.".into(),
                Some(n) => format!("That code is not right. {n} attempts are left."),
                None => Code::CodeRejected.message().into(),
            }),
            Some(
                code @ (Code::TooManyCodes
                | Code::TooManyTexts
                | Code::TooManyCalls
                | Code::TooManyPushes),
            ) => Some(match rules.sends_paused_for(user, identities, now).await? {
                Some(wait) => format!(
                    "{} You can ask again in {}.",
                    what_was_limited(code),
                    in_words(seconds(wait))
                ),
                None => code.message().into(),
            }),
            other => other.map(|code| code.message().to_owned()),
        };
        let notice_code = known(notice);
        Ok(Self {
            error: text,
            error_code,
            notice: notice_code.map(Code::message),
            notice_code,
            attempts_left,
            locked_for,
        })
    }
}

/// What a send-limit refusal says was limited, before saying how long.
fn what_was_limited(code: Code) -> &'static str {
    match code {
        Code::TooManyTexts => "Too many text messages were sent.",
        Code::TooManyCalls => "Too many calls were made.",
        Code::TooManyPushes => "Too many sign-in requests were sent to your phone.",
        _ => "Too many codes were sent.",
    }
}

/// A wait as people say it: "45 seconds", "1 minute", "15 minutes".
fn in_words(secs: u64) -> String {
    match secs {
        0..=1 => "1 second".into(),
        2..=59 => format!("{secs} seconds"),
        _ => match secs.div_ceil(60) {
            1 => "1 minute".into(),
            minutes => format!("{minutes} minutes"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_as_people_say_them() {
        assert_eq!(in_words(1), "1 second");
        assert_eq!(in_words(45), "45 seconds");
        assert_eq!(in_words(60), "1 minute");
        assert_eq!(in_words(61), "2 minutes");
        assert_eq!(in_words(900), "15 minutes");
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        assert_eq!(seconds(Duration::from_millis(1)), 1);
        assert_eq!(seconds(Duration::from_millis(1001)), 2);
        assert_eq!(seconds(Duration::from_secs(900)), 900);
    }

    #[test]
    fn only_our_codes_come_from_the_url() {
        assert_eq!(known(Some("code_rejected")), Some(Code::CodeRejected));
        assert_eq!(known(Some("<b>hi</b>")), None);
        assert_eq!(known(None), None);
    }
}
