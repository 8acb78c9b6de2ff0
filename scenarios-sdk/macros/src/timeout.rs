//! Parsing of `timeout = "…"`: a sum of whole numbers with units, such as `120s`, `2m`,
//! `1m30s`, `1h` or `500ms`.

/// The timeout in milliseconds, or a message that says what is accepted.
pub(crate) fn parse_millis(text: &str) -> Result<u64, String> {
    let usage = || {
        format!(
            "timeout {text:?} is not understood: write whole numbers with units h, m, s or ms, \
             such as \"120s\", \"2m\", \"1m30s\" or \"500ms\""
        )
    };
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Err(usage());
    }
    let mut rest = compact.as_str();
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(usage)?;
        if digits == 0 {
            return Err(usage());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| usage())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            _ => return Err(usage()),
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(factor)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(usage)?;
    }
    if total == 0 {
        return Err(format!(
            "timeout {text:?} is zero: give the scenario time to run"
        ));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::parse_millis;

    #[test]
    fn units_add_up() {
        assert_eq!(parse_millis("120s"), Ok(120_000));
        assert_eq!(parse_millis("2m"), Ok(120_000));
        assert_eq!(parse_millis("1m30s"), Ok(90_000));
        assert_eq!(parse_millis("1h"), Ok(3_600_000));
        assert_eq!(parse_millis("500ms"), Ok(500));
        assert_eq!(parse_millis("1m 5s"), Ok(65_000));
    }

    #[test]
    fn nonsense_is_refused_with_a_hint() {
        for bad in [
            "",
            "120",
            "s",
            "1.5s",
            "10 parsecs",
            "0s",
            "99999999999999999h",
        ] {
            let error = parse_millis(bad).unwrap_err();
            assert!(error.contains("timeout"), "{bad}: {error}");
        }
    }
}
