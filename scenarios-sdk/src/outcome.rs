//! How a scenario ends: [`Outcome`], [`Stop`] and [`Failure`].
//!
//! A scenario returns [`Outcome`], which is `Result<(), Stop>`: `Ok(())` when every check held,
//! or the [`Stop`] that ended it early. `?` works on everything a scenario calls:
//!
//! | what `?` meets | becomes | the JUnit report shows |
//! |---|---|---|
//! | a [`Failure`] from an assertion (`expect_*`, `ensure!`) | [`Stop::Failed`] | `<failure>` |
//! | a [`HostError::Unsupported`] | [`Stop::Skipped`] | `<skipped>` |
//! | any other [`HostError`] | [`Stop::HostError`] | `<error type="host-error">` |
//!
//! **Host errors are not assertion failures.** The contract's outcome has a case of its own
//! for them (`error(host-error)`): the scenario never reached its verdict, so the report shows
//! an error of the run, with the error's kind and the host's message. A scenario that wants to
//! handle a host error itself matches on the `Result` instead of using `?`. Soft checks
//! ([`check!`](crate::check), [`soft`](crate::soft)) that failed turn a pass into a failure
//! (see [`check`](crate::soft)).

use std::fmt;

use crate::HostError;
use crate::bindings::exports::focus::scenario::suite as wit;

/// What a scenario function returns: `Ok(())` when every check held, or why it stopped.
///
/// ```no_run
/// use scenarios_sdk::{Outcome, expect_status, get};
///
/// fn health_answers() -> Outcome {
///     let response = get("/health")?;
///     expect_status(&response, 200)?;
///     Ok(())
/// }
/// ```
pub type Outcome = Result<(), Stop>;

/// Why a scenario stopped before its end.
///
/// ```
/// use scenarios_sdk::{Failure, HostError, Stop};
///
/// assert!(matches!(Stop::from(Failure::new("503 expected")), Stop::Failed(_)));
/// assert!(matches!(
///     Stop::from(HostError::Unsupported("no metrics API".into())),
///     Stop::Skipped(_)
/// ));
/// assert!(matches!(Stop::from(HostError::NotFound("pod".into())), Stop::HostError(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A check did not hold: a JUnit `<failure>`.
    Failed(Failure),
    /// The scenario chose not to run, with the reason: a JUnit `<skipped>`.
    Skipped(String),
    /// The host could not do what the scenario asked: a JUnit `<error>`.
    HostError(HostError),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Failed(failure) => write!(f, "{}", failure.message()),
            Stop::Skipped(reason) => write!(f, "skipped: {reason}"),
            Stop::HostError(error) => write!(f, "host error, {error}"),
        }
    }
}

impl From<Failure> for Stop {
    fn from(failure: Failure) -> Self {
        Stop::Failed(failure)
    }
}

impl From<HostError> for Stop {
    /// `Unsupported` skips the scenario, as the contract asks; every other kind is a host error.
    fn from(error: HostError) -> Self {
        match error {
            HostError::Unsupported(why) => {
                Stop::Skipped(format!("the environment cannot do this: {why}"))
            }
            other => Stop::HostError(other),
        }
    }
}

/// Ends a scenario as skipped, with the reason. Use it where the environment lacks what the
/// scenario needs; a skip is never a pass.
///
/// ```no_run
/// use scenarios_sdk::{Outcome, environment, skip};
///
/// fn only_on_kubernetes() -> Outcome {
///     if environment().kind() != "kubernetes" {
///         return skip("needs a Kubernetes environment");
///     }
///     Ok(())
/// }
/// ```
pub fn skip(reason: impl Into<String>) -> Outcome {
    Err(Stop::Skipped(reason.into()))
}

/// A check that did not hold: a one-line message that says what was expected and what
/// happened, and an optional detail for the report (such as a response body).
///
/// ```
/// use scenarios_sdk::Failure;
///
/// let failure = Failure::new("expected 503, got 200").with_detail(r#"{"status":"success"}"#);
/// assert_eq!(failure.message(), "expected 503, got 200");
/// assert_eq!(failure.detail(), Some(r#"{"status":"success"}"#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    message: String,
    detail: Option<String>,
}

impl Failure {
    /// A failure with this message. A message of several lines keeps its first line as the
    /// message and moves the rest to the detail, so the report's message stays one line.
    ///
    /// ```
    /// use scenarios_sdk::Failure;
    ///
    /// let failure = Failure::new("bad body\nline two");
    /// assert_eq!(failure.message(), "bad body");
    /// assert_eq!(failure.detail(), Some("line two"));
    /// ```
    pub fn new(message: impl Into<String>) -> Self {
        let message = message.into();
        match message.split_once('\n') {
            Some((first, rest)) => Failure {
                message: first.trim_end().to_string(),
                detail: Some(rest.to_string()),
            },
            None => Failure {
                message,
                detail: None,
            },
        }
    }

    /// Adds text for the report, after any detail already there.
    ///
    /// ```
    /// use scenarios_sdk::Failure;
    ///
    /// let failure = Failure::new("no job expected").with_detail("jobs: [j-1]");
    /// assert_eq!(failure.detail(), Some("jobs: [j-1]"));
    /// ```
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        self.detail = Some(match self.detail.take() {
            Some(previous) => format!("{previous}\n{detail}"),
            None => detail,
        });
        self
    }

    /// The one-line message.
    ///
    /// ```
    /// use scenarios_sdk::Failure;
    ///
    /// assert_eq!(Failure::new("late").message(), "late");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The detail, if any.
    ///
    /// ```
    /// use scenarios_sdk::Failure;
    ///
    /// assert_eq!(Failure::new("late").detail(), None);
    /// ```
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// What a `#[scenario]` function may return: [`Outcome`], or any `Result<(), E>` whose error
/// converts into [`Stop`] (such as `Result<(), Failure>`), or `()` for a scenario that only
/// panics on failure.
///
/// ```
/// use scenarios_sdk::{Failure, IntoOutcome, Stop};
///
/// let result: Result<(), Failure> = Err(Failure::new("no"));
/// assert!(matches!(result.into_outcome(), Err(Stop::Failed(_))));
/// ```
pub trait IntoOutcome {
    /// Converts the function's result into an [`Outcome`].
    fn into_outcome(self) -> Outcome;
}

impl<E: Into<Stop>> IntoOutcome for Result<(), E> {
    fn into_outcome(self) -> Outcome {
        self.map_err(Into::into)
    }
}

impl IntoOutcome for () {
    fn into_outcome(self) -> Outcome {
        Ok(())
    }
}

/// The contract's form of an outcome.
pub(crate) fn to_wit(outcome: Outcome) -> wit::Outcome {
    match outcome {
        Ok(()) => wit::Outcome::Passed,
        Err(Stop::Failed(failure)) => wit::Outcome::Failed(wit::Failure {
            message: failure.message,
            detail: failure.detail,
        }),
        Err(Stop::Skipped(reason)) => wit::Outcome::Skipped(one_line(&reason)),
        Err(Stop::HostError(error)) => wit::Outcome::Error(error.into()),
    }
}

/// Joins the lines of `text` with spaces.
fn one_line(text: &str) -> String {
    text.lines().map(str::trim).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_error_becomes_an_error_outcome() {
        let outcome = to_wit(Err(HostError::NotPermitted("scale redis".into()).into()));
        match outcome {
            wit::Outcome::Error(
                crate::bindings::focus::scenario::types::HostError::NotPermitted(m),
            ) => {
                assert_eq!(m, "scale redis");
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn unsupported_skips() {
        let outcome = to_wit(Err(HostError::Unsupported("memory".into()).into()));
        assert!(matches!(outcome, wit::Outcome::Skipped(r) if r.contains("memory")));
    }

    #[test]
    fn with_detail_appends() {
        let failure = Failure::new("a\nb").with_detail("c");
        assert_eq!(failure.detail(), Some("b\nc"));
    }
}
