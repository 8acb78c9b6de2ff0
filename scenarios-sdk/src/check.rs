//! Soft checks: [`check!`](crate::check) and [`soft`] record a failure and let the scenario
//! go on, so one run shows every check that did not hold. When the scenario ends, the outcome
//! is a failure if any soft check failed: its message counts them and names the first, its
//! detail lists every one. A hard failure (`?`, [`ensure!`](crate::ensure)) that comes after
//! them keeps its own message, with the soft failures added to its detail.
//!
//! ```no_run
//! use scenarios_sdk::prelude::*;
//!
//! /// Every read endpoint answers 200 during the outage.
//! #[scenario(timeout = "30s")]
//! fn reads_answer() -> Outcome {
//!     for path in ["/ack", "/health", "/channels", "/live_metadata"] {
//!         let response = get(path)?;
//!         soft(expect_status(&response, 200));
//!     }
//!     check!(jobs("none")?.is_empty(), "a job exists for task none");
//!     Ok(())
//! }
//! # scenarios_sdk::export_scenarios!();
//! # fn main() {}
//! ```

use std::cell::RefCell;

use crate::{Failure, Outcome, Stop};

thread_local! {
    /// The soft failures of the scenario that runs now (one per instance: the runner gives
    /// every scenario a fresh one).
    static SOFT: RefCell<Vec<Failure>> = const { RefCell::new(Vec::new()) };
}

/// Records `result`'s failure, if any, as a soft check and goes on. Returns the value when the
/// check held.
///
/// ```
/// use scenarios_sdk::{HttpResponse, expect_status, ms, soft};
///
/// let response = HttpResponse::new("GET /ack", 500, "", ms(1));
/// assert_eq!(soft(expect_status(&response, 200)), None);
/// # scenarios_sdk::__private::take_soft_failures();
/// ```
pub fn soft<T>(result: Result<T, Failure>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(failure) => {
            // Off wasm (unit and doc tests) there is no host to log to.
            if cfg!(target_arch = "wasm32") {
                crate::log(crate::Level::Error, format!("check failed: {failure}"));
            }
            SOFT.with(|soft| soft.borrow_mut().push(failure));
            None
        }
    }
}

/// How many soft checks have failed so far in this scenario.
///
/// ```
/// assert_eq!(scenarios_sdk::failed_checks(), 0);
/// ```
pub fn failed_checks() -> usize {
    SOFT.with(|soft| soft.borrow().len())
}

/// Takes the soft failures recorded so far.
#[doc(hidden)]
pub fn take_soft_failures() -> Vec<Failure> {
    SOFT.with(|soft| std::mem::take(&mut *soft.borrow_mut()))
}

/// The outcome of a scenario that ended with `outcome` after the soft failures `soft`.
pub(crate) fn with_soft_failures(outcome: Outcome, soft: Vec<Failure>) -> Outcome {
    if soft.is_empty() {
        return outcome;
    }
    let listed = soft
        .iter()
        .map(|f| match f.detail() {
            Some(detail) => format!("- {}\n  {}", f.message(), detail.replace('\n', "\n  ")),
            None => format!("- {}", f.message()),
        })
        .collect::<Vec<_>>()
        .join("\n");
    match outcome {
        Ok(()) => {
            let message = match soft.len() {
                1 => format!("1 check failed: {}", soft[0].message()),
                n => format!("{n} checks failed; the first: {}", soft[0].message()),
            };
            Err(Failure::new(message)
                .with_detail(format!("Failed checks:\n{listed}"))
                .into())
        }
        Err(Stop::Failed(failure)) => Err(failure
            .with_detail(format!("Soft checks that failed before it:\n{listed}"))
            .into()),
        // A skip or a host error keeps its kind; the soft failures are in the log already.
        other => other,
    }
}

/// Records a soft check: when `condition` does not hold, a failure is recorded and the
/// scenario goes on. With no message the failure quotes the condition; otherwise it formats
/// the message like `format!`. Evaluates to whether the condition held.
///
/// ```
/// use scenarios_sdk::check;
///
/// let status = 502;
/// let held = check!(status == 503, "expected 503, got {status}");
/// assert!(!held);
/// assert_eq!(scenarios_sdk::failed_checks(), 1);
/// # scenarios_sdk::__private::take_soft_failures();
/// ```
#[macro_export]
macro_rules! check {
    ($condition:expr $(,)?) => {
        $crate::check!($condition, "check failed: {}", ::core::stringify!($condition))
    };
    ($condition:expr, $($message:tt)+) => {
        if $condition {
            true
        } else {
            $crate::soft::<()>(::core::result::Result::Err($crate::Failure::new(
                ::std::format!($($message)+),
            )));
            false
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_with_soft_failures_fails_listing_every_one() {
        let soft = vec![Failure::new("a"), Failure::new("b").with_detail("body")];
        match with_soft_failures(Ok(()), soft) {
            Err(Stop::Failed(f)) => {
                assert_eq!(f.message(), "2 checks failed; the first: a");
                assert_eq!(f.detail(), Some("Failed checks:\n- a\n- b\n  body"));
            }
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn a_hard_failure_keeps_its_message() {
        let outcome = with_soft_failures(Err(Failure::new("hard").into()), vec![Failure::new("a")]);
        match outcome {
            Err(Stop::Failed(f)) => {
                assert_eq!(f.message(), "hard");
                assert!(f.detail().unwrap().contains("- a"));
            }
            other => panic!("expected a failure, got {other:?}"),
        }
        assert_eq!(with_soft_failures(Ok(()), Vec::new()), Ok(()));
    }
}
