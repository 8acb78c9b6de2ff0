//! Assertions whose failures say what was expected and what happened.
//!
//! Each returns `Result<(), Failure>`, so `?` ends the scenario with a JUnit `<failure>` whose
//! message is one line and whose detail holds the response body. The macros [`ensure!`],
//! [`ensure_eq!`] and [`fail!`] return early from any function whose error type converts from
//! [`Failure`] (an [`Outcome`](crate::Outcome) function, or `Result<_, Failure>`).
//!
//! [`ensure!`]: crate::ensure
//! [`ensure_eq!`]: crate::ensure_eq
//! [`fail!`]: crate::fail

use std::time::Duration;

use crate::{Failure, HttpResponse, Seconds};

/// Expects `response` to have status `expected`.
///
/// ```
/// use scenarios_sdk::{Duration, HttpResponse, expect_status};
///
/// let response = HttpResponse::new("POST /configure?task_id=t1", 200, "{}", Duration::from_millis(30));
/// let failure = expect_status(&response, 503).unwrap_err();
/// assert_eq!(failure.message(), "POST /configure?task_id=t1 answered 200 after 0.03 s, expected 503");
/// assert_eq!(failure.detail(), Some("response body: {}"));
/// ```
pub fn expect_status(response: &HttpResponse, expected: u16) -> Result<(), Failure> {
    expect_status_in(response, &[expected])
}

/// Expects the status of `response` to be one of `expected`.
///
/// ```
/// use scenarios_sdk::{Duration, HttpResponse, expect_status_in};
///
/// let response = HttpResponse::new("POST /configure", 502, "", Duration::ZERO);
/// let failure = expect_status_in(&response, &[200, 503]).unwrap_err();
/// assert_eq!(failure.message(), "POST /configure answered 502 after 0.00 s, expected 200 or 503");
/// ```
pub fn expect_status_in(response: &HttpResponse, expected: &[u16]) -> Result<(), Failure> {
    if expected.contains(&response.status()) {
        return Ok(());
    }
    let wanted = expected
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    Err(Failure::new(format!(
        "{} answered {} after {}, expected {wanted}",
        response.request(),
        response.status(),
        Seconds(response.elapsed()),
    ))
    .with_detail(body_detail(response)))
}

/// Expects `response` to have come within `limit`.
///
/// ```
/// use scenarios_sdk::{Duration, HttpResponse, expect_within};
///
/// let slow = HttpResponse::new("POST /config/t1", 503, "{}", Duration::from_millis(15_420));
/// let failure = expect_within(&slow, Duration::from_secs(5)).unwrap_err();
/// assert_eq!(failure.message(), "POST /config/t1 answered 503 after 15.42 s, over the 5.00 s limit");
/// ```
pub fn expect_within(response: &HttpResponse, limit: Duration) -> Result<(), Failure> {
    if response.elapsed() <= limit {
        return Ok(());
    }
    Err(Failure::new(format!(
        "{} answered {} after {}, over the {} limit",
        response.request(),
        response.status(),
        Seconds(response.elapsed()),
        Seconds(limit),
    ))
    .with_detail(body_detail(response)))
}

/// Expects a measured duration, named by `what`, to be at most `limit`.
///
/// ```
/// use scenarios_sdk::{Duration, expect_duration_within};
///
/// let failure = expect_duration_within("recovery", Duration::from_secs(12), Duration::from_secs(10))
///     .unwrap_err();
/// assert_eq!(failure.message(), "recovery took 12.00 s, over the 10.00 s limit");
/// ```
pub fn expect_duration_within(what: &str, took: Duration, limit: Duration) -> Result<(), Failure> {
    if took <= limit {
        return Ok(());
    }
    Err(Failure::new(format!(
        "{what} took {}, over the {} limit",
        Seconds(took),
        Seconds(limit)
    )))
}

/// Expects the body of `response` to contain `needle`.
///
/// ```
/// use scenarios_sdk::{Duration, HttpResponse, expect_body_contains};
///
/// let response = HttpResponse::new("POST /configure", 503, r#"{"error":"timeout"}"#, Duration::ZERO);
/// let failure = expect_body_contains(&response, "database unavailable").unwrap_err();
/// assert_eq!(
///     failure.message(),
///     "POST /configure answered 503 without \"database unavailable\" in its body"
/// );
/// ```
pub fn expect_body_contains(response: &HttpResponse, needle: &str) -> Result<(), Failure> {
    if response.text().contains(needle) {
        return Ok(());
    }
    Err(Failure::new(format!(
        "{} answered {} without {needle:?} in its body",
        response.request(),
        response.status(),
    ))
    .with_detail(body_detail(response)))
}

/// The body of `response`, cut at 4 KiB, for a failure's detail.
fn body_detail(response: &HttpResponse) -> String {
    const LIMIT: usize = 4096;
    let body = response.text();
    if body.len() <= LIMIT {
        return format!("response body: {body}");
    }
    let mut cut = LIMIT;
    while !body.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "response body ({} bytes, first {cut} shown): {}",
        body.len(),
        &body[..cut]
    )
}

/// Fails the scenario unless `condition` holds. With no message, the failure quotes the
/// condition; otherwise it formats the message like `format!`.
///
/// ```
/// use scenarios_sdk::{Outcome, ensure};
///
/// fn check(jobs: usize) -> Outcome {
///     ensure!(jobs == 0, "expected no job to be orchestrated, found {jobs}");
///     Ok(())
/// }
/// let stop = check(2).unwrap_err();
/// assert_eq!(stop.to_string(), "expected no job to be orchestrated, found 2");
/// assert_eq!(
///     (|| -> Outcome { ensure!(1 + 1 == 3); Ok(()) })().unwrap_err().to_string(),
///     "check failed: 1 + 1 == 3"
/// );
/// ```
#[macro_export]
macro_rules! ensure {
    ($condition:expr $(,)?) => {
        if !$condition {
            $crate::fail!("check failed: {}", ::core::stringify!($condition));
        }
    };
    ($condition:expr, $($message:tt)+) => {
        if !$condition {
            $crate::fail!($($message)+);
        }
    };
}

/// Fails the scenario unless `actual == expected`. The failure shows both values with
/// `Debug`, and the message when one is given.
///
/// ```
/// use scenarios_sdk::{Outcome, ensure_eq};
///
/// fn check(status: u16) -> Outcome {
///     ensure_eq!(status, 503, "status of the configure");
///     Ok(())
/// }
/// assert_eq!(check(200).unwrap_err().to_string(), "status of the configure: got 200, expected 503");
/// assert_eq!(
///     (|| -> Outcome { ensure_eq!(1 + 1, 3); Ok(()) })().unwrap_err().to_string(),
///     "`1 + 1`: got 2, expected 3"
/// );
/// ```
#[macro_export]
macro_rules! ensure_eq {
    ($actual:expr, $expected:expr $(,)?) => {
        match (&$actual, &$expected) {
            (actual, expected) => {
                if !(*actual == *expected) {
                    $crate::fail!(
                        "`{}`: got {:?}, expected {:?}",
                        ::core::stringify!($actual),
                        actual,
                        expected
                    );
                }
            }
        }
    };
    ($actual:expr, $expected:expr, $($message:tt)+) => {
        match (&$actual, &$expected) {
            (actual, expected) => {
                if !(*actual == *expected) {
                    $crate::fail!(
                        "{}: got {:?}, expected {:?}",
                        ::std::format!($($message)+),
                        actual,
                        expected
                    );
                }
            }
        }
    };
}

/// Fails the scenario at once with a formatted message.
///
/// ```
/// use scenarios_sdk::{Outcome, fail};
///
/// fn check(status: u16) -> Outcome {
///     if status >= 500 && status != 503 {
///         fail!("expected 503 or 200, got {status}");
///     }
///     Ok(())
/// }
/// assert_eq!(check(502).unwrap_err().to_string(), "expected 503 or 200, got 502");
/// ```
#[macro_export]
macro_rules! fail {
    ($($message:tt)+) => {
        return ::core::result::Result::Err(::core::convert::From::from(
            $crate::Failure::new(::std::format!($($message)+)),
        ))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_passes_at_the_limit() {
        let response = HttpResponse::new("GET /ready", 200, "", Duration::from_secs(5));
        assert!(expect_within(&response, Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn long_bodies_are_cut_on_a_char_boundary() {
        let body = "é".repeat(3000);
        let response = HttpResponse::new("GET /x", 500, body, Duration::ZERO);
        let detail = expect_status(&response, 200)
            .unwrap_err()
            .detail()
            .unwrap()
            .to_string();
        assert!(detail.starts_with("response body (6000 bytes, first 4096 shown): é"));
    }
}
