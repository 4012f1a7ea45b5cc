//! UTC calendar dates from Unix time, for the date strings the crate writes
//! (the simulator's API, the push's request time, factors in JSON), without
//! a date library.

use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl DateTime {
    /// The UTC date and time of `time` (to the second; before 1970 reads as 1970).
    pub(crate) fn of(time: SystemTime) -> Self {
        Self::from_unix(
            time.duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        )
    }

    /// The UTC date and time of a Unix timestamp in seconds.
    pub(crate) fn from_unix(secs: u64) -> Self {
        let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
        let rest = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        // `rest` < 86 400, so each part fits in u32.
        Self {
            year,
            month,
            day,
            hour: (rest / 3600) as u32,
            minute: (rest % 3600 / 60) as u32,
            second: (rest % 60) as u32,
        }
    }

    /// `2017-02-10T01:09:52Z`, the OneTouch API's date format.
    pub(crate) fn iso8601(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `2017-11-25 23:21:39 UTC`, the phone-info message's date format.
    #[cfg(feature = "simulator")]
    pub(crate) fn human_utc(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// The English month name, as `app/stats` reports it.
    #[cfg(feature = "simulator")]
    pub(crate) fn month_name(&self) -> &'static str {
        const NAMES: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        NAMES[(self.month as usize).saturating_sub(1) % 12]
    }
}

/// Reads `YYYY-MM-DDTHH:MM:SSZ` (fractional seconds are allowed and
/// dropped), the date format of Twilio's APIs; `None` for anything else or a
/// date before 1970.
pub(crate) fn parse_iso8601(text: &str) -> Option<SystemTime> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let time = time.split('.').next()?;
    let mut date_parts = date.splitn(3, '-');
    let mut time_parts = time.splitn(3, ':');
    let number = |parts: &mut std::str::SplitN<'_, char>, width: usize| -> Option<i64> {
        let part = parts.next()?;
        (part.len() == width && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    let (year, month, day) = (
        number(&mut date_parts, 4)?,
        number(&mut date_parts, 2)?,
        number(&mut date_parts, 2)?,
    );
    let (hour, minute, second) = (
        number(&mut time_parts, 2)?,
        number(&mut time_parts, 2)?,
        number(&mut time_parts, 2)?,
    );
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    if civil_from_days(days) != (year, month as u32, day as u32) {
        return None; // 31 February and the like
    }
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second;
    u64::try_from(secs)
        .ok()
        .map(|secs| UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// Howard Hinnant's civil-to-days algorithm, the inverse of
/// [`civil_from_days`].
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(DateTime::from_unix(0).iso8601(), "1970-01-01T00:00:00Z");
        // The spec's OneTouch sample: created_at 2017-02-10T01:09:52Z.
        assert_eq!(
            DateTime::from_unix(1_486_688_992).iso8601(),
            "2017-02-10T01:09:52Z"
        );
        // A leap day and the end of a year.
        assert_eq!(
            DateTime::from_unix(951_782_400).human_utc(),
            "2000-02-29 00:00:00 UTC"
        );
        assert_eq!(
            DateTime::from_unix(1_704_067_199).iso8601(),
            "2023-12-31T23:59:59Z"
        );
        assert_eq!(DateTime::from_unix(1_704_067_199).month_name(), "December");
    }

    #[test]
    fn parses_what_it_formats_and_nothing_else() {
        for secs in [0, 951_782_400, 1_486_688_992, 1_704_067_199, 4_102_444_800] {
            let text = DateTime::from_unix(secs).iso8601();
            let parsed = parse_iso8601(&text).unwrap();
            assert_eq!(
                parsed,
                UNIX_EPOCH + std::time::Duration::from_secs(secs),
                "{text}"
            );
        }
        assert!(parse_iso8601("2015-07-30T20:00:00.123Z").is_some());
        for bad in [
            "2015-02-30T20:00:00Z",
            "2015-07-30 20:00:00Z",
            "2015-07-30T20:00:00",
            "15-07-30T20:00:00Z",
            "1969-12-31T23:59:59Z",
            "2015-13-01T00:00:00Z",
        ] {
            assert!(parse_iso8601(bad).is_none(), "{bad}");
        }
    }
}
