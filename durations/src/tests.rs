use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

fn ok(text: &str) -> Duration {
    parse("k", text, Bounds::DELAY).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn the_usual_forms() {
    assert_eq!(ok("30s"), Duration::from_secs(30));
    assert_eq!(ok("2m"), Duration::from_secs(120));
    assert_eq!(ok("1m30s"), Duration::from_secs(90));
    assert_eq!(ok("1m 30s"), Duration::from_secs(90));
    assert_eq!(ok("500ms"), Duration::from_millis(500));
    assert_eq!(ok("1.5s"), Duration::from_millis(1500));
    assert_eq!(ok("2.5min"), Duration::from_secs(150));
    assert_eq!(ok("1h"), Duration::from_secs(3600));
    assert_eq!(ok(" 45 "), Duration::from_secs(45));
    assert_eq!(ok("0.25"), Duration::from_millis(250));
    assert_eq!(ok("0s"), Duration::ZERO);
}

#[test]
fn nonsense_is_malformed_and_names_the_key() {
    for bad in [
        "",
        "s",
        "ten seconds",
        "5 parsecs",
        "1 5s",
        "1..5s",
        "+5s",
        "5s5",
    ] {
        let error = parse("--timeout", bad, Bounds::TIMEOUT).unwrap_err();
        assert!(
            matches!(error, DurationError::Malformed { .. }),
            "{bad}: {error:?}"
        );
        let message = error.to_string();
        assert!(message.starts_with("--timeout: "), "{message}");
        assert!(message.contains("1m30s"), "{message}");
    }
}

#[test]
fn numbers_out_of_range_are_clear_errors() {
    let too_long = ["1e30", "1e19", "1e300", "99999999999999999999999h"];
    for text in &too_long {
        let error = parse("--timeout", text, Bounds::TIMEOUT).unwrap_err();
        assert!(
            error.to_string().contains("too long: write at most 168h"),
            "{text}: {error}"
        );
    }
    for text in ["-1", "nan", "inf", "-0.5s"] {
        let error = parse("key", text, Bounds::TIMEOUT).unwrap_err();
        assert!(
            !matches!(error, DurationError::TooShort { .. }),
            "{text}: {error}"
        );
    }
    let error = parse("key", "0s", Bounds::TIMEOUT).unwrap_err();
    assert_eq!(
        error.to_string(),
        "key: 0s is too short: write at least 1ms"
    );
    for seconds in [f64::NAN, f64::INFINITY, -1.0, 1e300, f64::MAX] {
        let error = from_secs_f64("runner.default_timeout_s", seconds, Bounds::TIMEOUT);
        let message = error.unwrap_err().to_string();
        assert!(
            message.starts_with("runner.default_timeout_s: "),
            "{message}"
        );
    }
}

#[test]
fn deadlines_never_overflow() {
    let now = Instant::now();
    assert!(deadline_after(now, Duration::MAX) > now);
    assert_eq!(
        deadline_after(now, Duration::from_secs(5)),
        now + Duration::from_secs(5)
    );
}

#[test]
fn clamping_keeps_within_bounds() {
    assert_eq!(Bounds::DELAY.clamp(Duration::MAX), MAX);
    assert_eq!(
        Bounds::TIMEOUT.clamp(Duration::ZERO),
        Duration::from_millis(1)
    );
}

#[test]
fn formatting_reads_back() {
    for (d, text) in [
        (Duration::ZERO, "0s"),
        (Duration::from_millis(500), "500ms"),
        (Duration::from_millis(1500), "1.5s"),
        (Duration::from_secs(90), "1m30s"),
        (MAX, "168h"),
    ] {
        assert_eq!(format(d), text);
        assert_eq!(ok(text), d);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_text_is_a_value_or_an_error_never_a_panic(text in ".{0,40}") {
        if let Ok(d) = parse("k", &text, Bounds::TIMEOUT) {
            prop_assert!(d >= Bounds::TIMEOUT.min && d <= Bounds::TIMEOUT.max);
        }
    }

    #[test]
    fn durationish_text_never_panics(text in "[0-9.]{0,30}(ms|s|m|min|h|d|e|)[ 0-9.]{0,10}(ms|s|m|h|)") {
        let _ = parse("k", &text, Bounds::DELAY);
    }

    #[test]
    fn any_number_is_a_value_or_an_error(seconds in any::<f64>()) {
        if let Ok(d) = from_secs_f64("k", seconds, Bounds::TIMEOUT) {
            prop_assert!(d <= MAX && d >= Bounds::TIMEOUT.min);
        }
        let _ = parse("k", &seconds.to_string(), Bounds::TIMEOUT);
    }

    #[test]
    fn formatted_durations_round_trip(nanos in 0u64..=MAX.as_nanos() as u64) {
        let d = Duration::from_nanos(nanos);
        prop_assert_eq!(parse("k", &format(d), Bounds::DELAY), Ok(d));
    }

    #[test]
    fn whole_seconds_round_trip(secs in 0u64..=MAX.as_secs()) {
        prop_assert_eq!(parse("k", &secs.to_string(), Bounds::DELAY), Ok(Duration::from_secs(secs)));
        prop_assert_eq!(from_secs_f64("k", secs as f64, Bounds::DELAY), Ok(Duration::from_secs(secs)));
    }

    #[test]
    fn deadlines_never_panic(secs in any::<u64>(), nanos in 0u32..1_000_000_000) {
        let now = Instant::now();
        prop_assert!(deadline_after(now, Duration::new(secs, nanos)) >= now);
    }
}

#[test]
fn contract_nanoseconds_are_checked_against_the_bounds() {
    assert_eq!(
        from_nanos("delay", 1_500_000_000, Bounds::DELAY),
        Ok(Duration::from_millis(1500))
    );
    assert_eq!(from_nanos("delay", 0, Bounds::DELAY), Ok(Duration::ZERO));
    let short = from_nanos("timeout", 0, Bounds::TIMEOUT).unwrap_err();
    assert!(short.to_string().contains("timeout"), "{short}");
    let long = from_nanos("delay", u64::MAX, Bounds::DELAY).unwrap_err();
    assert!(matches!(long, DurationError::TooLong { .. }), "{long}");
}
