//! Parsing of `timeout = "…"` with the project's one duration parser (`durations`): `120s`,
//! `2m`, `1m30s`, `1h`, `500ms`, `1.5s` or a number of seconds, from 1 ms to a week. A value
//! it refuses is a compile error on the attribute.

use std::time::Duration;

/// The timeout, or a message that says what is accepted.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    durations::parse("timeout", text, durations::Bounds::TIMEOUT).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::parse;
    use std::time::Duration;

    #[test]
    fn units_add_up() {
        assert_eq!(parse("120s"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1m 5s"), Ok(Duration::from_secs(65)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn nonsense_is_refused_with_a_hint() {
        for bad in [
            "",
            "s",
            "10 parsecs",
            "0s",
            "99999999999999999h",
            "1e30",
            "-1",
        ] {
            let error = parse(bad).unwrap_err();
            assert!(error.starts_with("timeout: "), "{bad}: {error}");
        }
    }
}
