//! [`HostError`]: why a host call did not do what was asked.

use std::fmt;

use crate::bindings::focus::scenario::types::HostError as WitHostError;

/// Why a host call did not do what was asked. Every case carries the host's one-line message,
/// which names the operation, its target and what to try.
///
/// In a scenario, `?` turns a host error into a [`Stop`](crate::Stop): an
/// [`Unsupported`](HostError::Unsupported) error skips the scenario (the environment cannot do
/// what it needs), every other case ends it as a *host error*, which the report shows as an
/// error of the run, not as a failed assertion. See [`Stop`](crate::Stop).
///
/// ```no_run
/// use scenarios_sdk::{HostError, workload};
///
/// match workload("mongodb").scale(0) {
///     Ok(()) => {}
///     Err(HostError::NotPermitted(why)) => println!("not allowed here: {why}"),
///     Err(other) => println!("{other}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// The workload, service or path is not declared in the environment's configuration, or
    /// the environment's credentials do not allow the operation.
    NotPermitted(String),
    /// The target does not exist: an unknown job, a pod that has gone, a fault already removed.
    NotFound(String),
    /// The environment cannot do this at all; a scenario should skip itself.
    Unsupported(String),
    /// The operation did not finish within its deadline.
    Timeout(String),
    /// The arguments are out of range or malformed: a toxicity over 100, a path that does not
    /// start with `/`, a rate of zero, a parameter that is not a number.
    Invalid(String),
    /// Anything else that went wrong, with the underlying error. A refused or reset HTTP
    /// connection is this kind, not a status.
    Failed(String),
}

impl HostError {
    /// The contract's name for this kind of error, such as `not-permitted`.
    ///
    /// ```
    /// use scenarios_sdk::HostError;
    ///
    /// assert_eq!(HostError::Timeout("wait-ready mongodb".into()).kind(), "timeout");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            HostError::NotPermitted(_) => "not-permitted",
            HostError::NotFound(_) => "not-found",
            HostError::Unsupported(_) => "unsupported",
            HostError::Timeout(_) => "timeout",
            HostError::Invalid(_) => "invalid",
            HostError::Failed(_) => "failed",
        }
    }

    /// The host's message, without the kind.
    ///
    /// ```
    /// use scenarios_sdk::HostError;
    ///
    /// let error = HostError::NotFound("job j-1 is unknown".into());
    /// assert_eq!(error.message(), "job j-1 is unknown");
    /// ```
    pub fn message(&self) -> &str {
        match self {
            HostError::NotPermitted(m)
            | HostError::NotFound(m)
            | HostError::Unsupported(m)
            | HostError::Timeout(m)
            | HostError::Invalid(m)
            | HostError::Failed(m) => m,
        }
    }
}

impl HostError {
    /// Whether the error is a transport failure of an HTTP request (refused, reset, no answer
    /// in time): [`Failed`](HostError::Failed) or [`Timeout`](HostError::Timeout). Polls that
    /// wait for a restarting service treat it as "not yet".
    ///
    /// ```
    /// use scenarios_sdk::HostError;
    ///
    /// assert!(HostError::Failed("GET /ready: connection refused".into()).is_transport());
    /// assert!(!HostError::NotPermitted("service `redis`".into()).is_transport());
    /// ```
    pub fn is_transport(&self) -> bool {
        matches!(self, HostError::Failed(_) | HostError::Timeout(_))
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for HostError {}

impl From<WitHostError> for HostError {
    fn from(error: WitHostError) -> Self {
        match error {
            WitHostError::NotPermitted(m) => HostError::NotPermitted(m),
            WitHostError::NotFound(m) => HostError::NotFound(m),
            WitHostError::Unsupported(m) => HostError::Unsupported(m),
            WitHostError::Timeout(m) => HostError::Timeout(m),
            WitHostError::Invalid(m) => HostError::Invalid(m),
            WitHostError::Failed(m) => HostError::Failed(m),
        }
    }
}

impl From<HostError> for WitHostError {
    fn from(error: HostError) -> Self {
        match error {
            HostError::NotPermitted(m) => WitHostError::NotPermitted(m),
            HostError::NotFound(m) => WitHostError::NotFound(m),
            HostError::Unsupported(m) => WitHostError::Unsupported(m),
            HostError::Timeout(m) => WitHostError::Timeout(m),
            HostError::Invalid(m) => WitHostError::Invalid(m),
            HostError::Failed(m) => WitHostError::Failed(m),
        }
    }
}

/// Converts a generated result into the SDK's.
pub(crate) fn host<T>(result: Result<T, WitHostError>) -> Result<T, HostError> {
    result.map_err(HostError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_kind_and_the_message() {
        let error = HostError::NotPermitted("scale `redis`: not declared".into());
        assert_eq!(
            error.to_string(),
            "not-permitted: scale `redis`: not declared"
        );
    }
}
