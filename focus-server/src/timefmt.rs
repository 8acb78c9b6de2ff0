//! UTC calendar arithmetic for the few formats the API uses: RFC 3339 `created_at` stamps and
//! the legacy `yymmddHHMMSS` strings. Days are converted with Howard Hinnant's civil-date
//! algorithms (proleptic Gregorian calendar), so no calendar crate is needed.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn now_epoch_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Days since 1970-01-01 of the civil date `y-m-d`.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date `(y, m, d)` of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2026-11-24T15:49:31Z` for whole epoch seconds.
pub fn rfc3339(epoch_seconds: i64) -> String {
    let days = epoch_seconds.div_euclid(86_400);
    let secs = epoch_seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Parses a legacy `yymmddHHMMSS` string (UTC, years 2000–2099) into epoch seconds. The error
/// says what is wrong with it.
pub fn parse_yymmddhhmmss(text: &str) -> Result<i64, String> {
    if text.len() != 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected 12 digits".to_owned());
    }
    let n = |i: usize| -> u32 { text[i..i + 2].parse().unwrap_or(0) };
    let (yy, mo, dd, hh, mi, ss) = (n(0), n(2), n(4), n(6), n(8), n(10));
    let year = 2000 + i64::from(yy);
    if !(1..=12).contains(&mo) {
        return Err(format!("month {mo:02} does not exist"));
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if dd == 0 || dd > month_days[mo as usize - 1] {
        return Err(format!("day {dd:02} does not exist in month {mo:02}"));
    }
    if hh > 23 || mi > 59 || ss > 59 {
        return Err(format!("time {hh:02}:{mi:02}:{ss:02} does not exist"));
    }
    Ok(days_from_civil(year, mo, dd) * 86_400 + i64::from(hh * 3600 + mi * 60 + ss))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips() {
        for days in [-800_000, -1, 0, 1, 10_957, 19_000, 20_454, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_735_689_600), "2025-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_535_371), "2026-11-24T15:49:31Z");
    }

    #[test]
    fn legacy_strings_parse() {
        assert_eq!(parse_yymmddhhmmss("250101000000"), Ok(1_735_689_600));
        assert_eq!(parse_yymmddhhmmss("250101001000"), Ok(1_735_690_200));
        assert_eq!(
            parse_yymmddhhmmss("240229120000").map(rfc3339),
            Ok("2024-02-29T12:00:00Z".into())
        );
        assert!(
            parse_yymmddhhmmss("250229000000")
                .unwrap_err()
                .contains("day 29")
        );
        assert!(
            parse_yymmddhhmmss("251301000000")
                .unwrap_err()
                .contains("month 13")
        );
        assert!(parse_yymmddhhmmss("2501010000").is_err());
        assert!(parse_yymmddhhmmss("25010100000x").is_err());
        assert!(parse_yymmddhhmmss("250101246000").is_err());
    }
}
