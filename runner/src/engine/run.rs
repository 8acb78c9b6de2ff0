//! One call into a guest, and what came of it: the scenario's own outcome, or a fault the
//! runner saw (panic, trap, timeout, memory cap, host failure, interruption).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::bindings::{v0_1, v0_2};
use super::store::CapturedOutput;
use crate::guest_text;

/// A scenario as its component describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioMeta {
    /// Unique in the component.
    pub name: String,
    /// What it checks.
    pub description: String,
    /// For selection with `--tag`.
    pub tags: Vec<String>,
    /// A ticket or test key such as `PZ-13640`.
    pub key: Option<String>,
    /// Its own timeout, when it declares one.
    pub timeout: Option<Duration>,
}

/// The longest one-line message a guest may give (failure, skip reason, panic), in bytes.
pub const MAX_MESSAGE_BYTES: usize = 16 << 10;
/// The longest failure detail a guest may give, in bytes.
pub const MAX_DETAIL_BYTES: usize = 64 << 10;
/// The longest scenario name, tag or key, in bytes.
const MAX_NAME_BYTES: usize = 1 << 10;
/// The most tags a scenario keeps.
const MAX_TAGS: usize = 100;

/// Converts one version's `meta` record: the same fields in every version, capped and escaped.
macro_rules! meta_from {
    ($meta:ty) => {
        impl From<$meta> for ScenarioMeta {
            fn from(meta: $meta) -> Self {
                let name = |text: &str| guest_text::line(text, MAX_NAME_BYTES);
                Self {
                    name: name(&meta.name),
                    description: guest_text::cap_owned(meta.description, MAX_MESSAGE_BYTES),
                    tags: meta.tags.iter().take(MAX_TAGS).map(|t| name(t)).collect(),
                    key: meta.key.as_deref().map(name),
                    timeout: meta.timeout.map(Duration::from_nanos),
                }
            }
        }
    };
}
meta_from!(v0_1::exports::focus::scenario::suite::Meta);
meta_from!(v0_2::exports::focus::scenario::suite::Meta);

/// The start of a 0.1 `failed` outcome's message that carries a host error, not a failed
/// assertion: the 0.1 SDK's convention, as contract 0.1 has no outcome case for it. Contract
/// 0.2 has one, `error(host-error)`.
pub const HOST_ERROR_PREFIX: &str = "host error: ";

/// How a scenario (or a steady-state check) ended, by its own account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestOutcome {
    /// Every check held.
    Passed,
    /// A check did not hold.
    Failed {
        /// One line: what was expected and what happened.
        message: String,
        /// More text, such as a response body.
        detail: Option<String>,
    },
    /// The scenario chose not to run.
    Skipped(String),
    /// A host call failed and the scenario gave the error back (0.2's `error(host-error)`, or
    /// a 0.1 `failed` outcome whose message starts with [`HOST_ERROR_PREFIX`]).
    HostError {
        /// The error's case, such as `not-permitted`; empty when a 0.1 component did not say.
        kind: String,
        /// The error's message.
        message: String,
        /// More text, when the guest gave some.
        detail: Option<String>,
    },
}

impl GuestOutcome {
    /// One line for messages: `passed`, the failure's message, the skip reason or the error.
    pub fn summary(&self) -> String {
        match self {
            Self::Passed => "passed".to_owned(),
            Self::Failed { message, .. } => message.clone(),
            Self::Skipped(reason) => format!("skipped: {reason}"),
            Self::HostError { kind, message, .. } if kind.is_empty() => {
                format!("host error: {message}")
            }
            Self::HostError { kind, message, .. } => format!("host error ({kind}): {message}"),
        }
    }
}

impl From<v0_1::exports::focus::scenario::suite::Outcome> for GuestOutcome {
    fn from(outcome: v0_1::exports::focus::scenario::suite::Outcome) -> Self {
        use v0_1::exports::focus::scenario::suite::Outcome;
        match outcome {
            Outcome::Passed => Self::Passed,
            Outcome::Failed(f) => match f.message.strip_prefix(HOST_ERROR_PREFIX) {
                Some(message) => Self::HostError {
                    kind: String::new(),
                    message: guest_text::cap(message, MAX_MESSAGE_BYTES).into_owned(),
                    detail: f.detail.map(|d| guest_text::cap_owned(d, MAX_DETAIL_BYTES)),
                },
                None => Self::Failed {
                    message: guest_text::cap_owned(f.message, MAX_MESSAGE_BYTES),
                    detail: f.detail.map(|d| guest_text::cap_owned(d, MAX_DETAIL_BYTES)),
                },
            },
            Outcome::Skipped(reason) => {
                Self::Skipped(guest_text::cap_owned(reason, MAX_MESSAGE_BYTES))
            }
        }
    }
}

impl From<v0_2::exports::focus::scenario::suite::Outcome> for GuestOutcome {
    fn from(outcome: v0_2::exports::focus::scenario::suite::Outcome) -> Self {
        use v0_2::exports::focus::scenario::suite::Outcome;
        use v0_2::focus::scenario::types::HostError;
        match outcome {
            Outcome::Passed => Self::Passed,
            Outcome::Failed(f) => Self::Failed {
                message: guest_text::cap_owned(f.message, MAX_MESSAGE_BYTES),
                detail: f.detail.map(|d| guest_text::cap_owned(d, MAX_DETAIL_BYTES)),
            },
            Outcome::Skipped(reason) => {
                Self::Skipped(guest_text::cap_owned(reason, MAX_MESSAGE_BYTES))
            }
            Outcome::Error(error) => {
                let (kind, message) = match error {
                    HostError::NotPermitted(m) => ("not-permitted", m),
                    HostError::NotFound(m) => ("not-found", m),
                    HostError::Unsupported(m) => ("unsupported", m),
                    HostError::Timeout(m) => ("timeout", m),
                    HostError::Invalid(m) => ("invalid", m),
                    HostError::Failed(m) => ("failed", m),
                };
                Self::HostError {
                    kind: kind.to_owned(),
                    message: guest_text::cap_owned(message, MAX_MESSAGE_BYTES),
                    detail: None,
                }
            }
        }
    }
}

/// What kind of fault ended a guest call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The guest panicked.
    Panic,
    /// A Python (or other SDK's) exception nobody caught: the SDK reported it with
    /// [`EXCEPTION_MARKER`] and its traceback, then let the guest trap.
    Exception,
    /// The guest trapped for another reason (out-of-bounds access, stack overflow, …).
    Trap,
    /// The scenario ran past its deadline.
    Timeout,
    /// The guest tried to grow its memory past the cap.
    MemoryCap,
    /// A host function failed in a way the guest cannot be told about.
    Host,
    /// The run was interrupted (SIGINT or SIGTERM).
    Interrupted,
}

impl FaultKind {
    /// The short name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Panic => "panic",
            Self::Exception => "exception",
            Self::Trap => "trap",
            Self::Timeout => "timeout",
            Self::MemoryCap => "memory",
            Self::Host => "host",
            Self::Interrupted => "interrupted",
        }
    }
}

/// A fault that ended a guest call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// What kind.
    pub kind: FaultKind,
    /// One line.
    pub message: String,
    /// The full text: the message, the guest's backtrace, what it printed last.
    pub detail: String,
}

/// How the message a guest sends through `report-panic` starts when it reports an uncaught
/// exception rather than a panic: `exception: ZeroDivisionError: division by zero (at
/// app.py:12 in f)`, then the traceback. The Python SDK sends it.
pub const EXCEPTION_MARKER: &str = "exception: ";

/// An error a host function returns to end the guest with a trap. The engine recognises it
/// and classifies the outcome by it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HostTrap {
    /// The scenario's deadline passed, in a host call or in guest code.
    #[error("{0}")]
    Deadline(String),
    /// The run was interrupted.
    #[error("interrupted by a signal")]
    Interrupted,
    /// The host failed in a way the contract cannot express.
    #[error("{0}")]
    Failed(String),
}

/// A flag that interrupts running guests: set once, seen by every scenario after it.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    inner: Arc<InterruptInner>,
}

#[derive(Debug, Default)]
struct InterruptInner {
    set: AtomicBool,
    notify: Notify,
}

impl Interrupt {
    /// Sets the flag and wakes everything waiting for it.
    pub fn trigger(&self) {
        self.inner.set.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether it is set.
    pub fn is_triggered(&self) -> bool {
        self.inner.set.load(Ordering::SeqCst)
    }

    /// Resolves once it is set.
    pub async fn triggered(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }
}

/// The limits of one guest call.
#[derive(Debug, Clone)]
pub struct RunControl {
    /// When the scenario must have ended.
    pub deadline: Instant,
    /// The timeout the deadline came from, for messages.
    pub timeout: Duration,
    /// Interrupts the guest when triggered.
    pub interrupt: Interrupt,
}

impl RunControl {
    /// A deadline `timeout` from now.
    pub fn new(timeout: Duration, interrupt: Interrupt) -> Self {
        Self {
            deadline: durations::deadline_after(Instant::now(), timeout),
            timeout,
            interrupt,
        }
    }

    /// The fault for running past the deadline.
    pub fn timeout_fault(&self, during: &str) -> HostTrap {
        HostTrap::Deadline(format!(
            "the scenario ran past its {} timeout {during}",
            format_duration(self.timeout)
        ))
    }
}

/// A duration as `1.5 s` or `250 ms`.
pub fn format_duration(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.1} s", d.as_secs_f64()).replace(".0 s", " s")
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// What came of one guest call.
pub struct GuestRun<H> {
    /// The outcome, or the fault that ended the call.
    pub result: Result<GuestOutcome, Fault>,
    /// What the guest printed to stdout (head and tail).
    pub stdout: CapturedOutput,
    /// What the guest printed to stderr (head and tail).
    pub stderr: CapturedOutput,
    /// The host state, with its logs and annotations.
    pub host: H,
    /// From instantiation to the end of the call.
    pub elapsed: Duration,
}

/// What the engine knows after a failed call, to say what happened.
pub(crate) struct FaultContext<'a> {
    pub memory_cap: usize,
    pub exceeded_at: Option<usize>,
    pub reported_panic: Option<String>,
    pub stderr: &'a str,
}

/// Classifies a wasmtime error from a guest call.
pub(crate) fn classify(error: &wasmtime::Error, cx: &FaultContext<'_>) -> Fault {
    let fault = |kind, message: String| {
        let message = guest_text::line(&one_line(&message), MAX_MESSAGE_BYTES);
        let mut detail = message.clone();
        let context = match error.downcast_ref::<wasmtime::WasmBacktrace>() {
            Some(backtrace) => backtrace.to_string(),
            None => format!("{error:#}"),
        };
        // The error itself is often the message again ("interrupted by a signal"): once is enough.
        if context.trim() != message {
            detail.push_str("\n\n");
            detail.push_str(&context);
        }
        if !cx.stderr.trim().is_empty() {
            detail.push_str("\n\nguest stderr (last lines):\n");
            detail.push_str(&last_lines(cx.stderr, 20));
        }
        Fault {
            kind,
            message,
            detail: guest_text::cap_owned(detail, MAX_DETAIL_BYTES),
        }
    };
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return fault(
            FaultKind::Trap,
            format!(
                "the scenario called exit({}): a scenario ends by returning its outcome, not by \
                 exiting the process",
                exit.0
            ),
        );
    }
    if let Some(trap) = error.downcast_ref::<HostTrap>() {
        let kind = match trap {
            HostTrap::Deadline(_) => FaultKind::Timeout,
            HostTrap::Interrupted => FaultKind::Interrupted,
            HostTrap::Failed(_) => FaultKind::Host,
        };
        return fault(kind, trap.to_string());
    }
    if let Some(desired) = cx.exceeded_at {
        let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
        return fault(
            FaultKind::MemoryCap,
            format!(
                "the guest went past its memory cap of {:.0} MiB (it asked for {:.1} MiB); \
                 raise [runner] memory_limit_mib in runner.toml if it really needs more",
                mib(cx.memory_cap),
                mib(desired)
            ),
        );
    }
    if let Some(text) = cx
        .reported_panic
        .as_deref()
        .and_then(|p| p.strip_prefix(EXCEPTION_MARKER))
    {
        // The traceback is the detail; wasm frames of the interpreter would say nothing.
        return Fault {
            kind: FaultKind::Exception,
            message: guest_text::line(&one_line(text), MAX_MESSAGE_BYTES),
            detail: guest_text::cap_owned(text.trim_end().to_owned(), MAX_DETAIL_BYTES),
        };
    }
    if let Some(panic) = &cx.reported_panic {
        // std's panic text is two lines ("panicked at FILE:LINE:COL:" then the message):
        // the failure message keeps both, on one line.
        let joined = panic.split_whitespace().collect::<Vec<_>>().join(" ");
        let message = if joined.starts_with("panicked") {
            joined
        } else {
            format!("panicked: {joined}")
        };
        return fault(FaultKind::Panic, message);
    }
    let trap = error.downcast_ref::<wasmtime::Trap>();
    if matches!(trap, Some(wasmtime::Trap::UnreachableCodeReached)) {
        let panic: Vec<&str> = cx
            .stderr
            .lines()
            .skip_while(|l| !l.contains("panicked at"))
            .take(3)
            .collect();
        if !panic.is_empty() {
            return fault(FaultKind::Panic, panic.join(" "));
        }
    }
    match trap {
        Some(wasmtime::Trap::Interrupt) => fault(
            FaultKind::Timeout,
            "the scenario ran past its deadline".into(),
        ),
        Some(wasmtime::Trap::StackOverflow) => fault(FaultKind::Trap, STACK_OVERFLOW.into()),
        // A Rust guest's stack lives in its linear memory: running off its end is an
        // out-of-bounds access, deep in one recursing function.
        Some(wasmtime::Trap::MemoryOutOfBounds) if is_endless_recursion(error) => fault(
            FaultKind::Trap,
            format!(
                "{STACK_OVERFLOW} (an out-of-bounds memory access in a backtrace of {} frames of one function)",
                backtrace_depth(error)
            ),
        ),
        Some(trap) => fault(FaultKind::Trap, format!("the guest trapped: {trap}")),
        None => fault(FaultKind::Trap, format!("the guest call failed: {error:#}")),
    }
}

const STACK_OVERFLOW: &str =
    "stack overflow: the guest ran out of stack (endless or too deep recursion?)";
/// wasmtime keeps the innermost frames of a backtrace, 20 by default; a backtrace this deep
/// whose frames are all one function, ending in an out-of-bounds access, is a stack overflow.
const DEEP_STACK: usize = 16;

fn backtrace_depth(error: &wasmtime::Error) -> usize {
    error
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .map_or(0, |b| b.frames().len())
}

/// Whether the trap's backtrace is at least [`DEEP_STACK`] frames of one function.
fn is_endless_recursion(error: &wasmtime::Error) -> bool {
    error
        .downcast_ref::<wasmtime::WasmBacktrace>()
        .is_some_and(|b| {
            let frames = b.frames();
            frames.len() >= DEEP_STACK
                && frames
                    .iter()
                    .skip(1)
                    .all(|f| f.func_index() == frames[1].func_index())
        })
}

/// The first line of `text`, without trailing space; "(no message)" when empty.
pub fn one_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(no message)");
    line.to_owned()
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reported(text: &str) -> Fault {
        let error = wasmtime::Error::msg("wasm trap: wasm `unreachable` instruction executed");
        classify(
            &error,
            &FaultContext {
                memory_cap: 1 << 20,
                exceeded_at: None,
                reported_panic: Some(text.to_owned()),
                stderr: "",
            },
        )
    }

    #[test]
    fn a_reported_exception_is_an_exception_with_its_traceback() {
        let fault = reported(
            "exception: ZeroDivisionError: division by zero (at a.py:3 in f)\n\
             Traceback (most recent call last):\n  File \"a.py\", line 3, in f\n",
        );
        assert_eq!(fault.kind, FaultKind::Exception);
        assert_eq!(
            fault.message,
            "ZeroDivisionError: division by zero (at a.py:3 in f)"
        );
        assert!(fault.detail.contains("File \"a.py\", line 3"), "{fault:?}");
    }

    #[test]
    fn a_reported_panic_stays_a_panic() {
        let fault = reported("panicked at src/lib.rs:4:5: boom");
        assert_eq!(fault.kind, FaultKind::Panic);
        assert_eq!(fault.message, "panicked at src/lib.rs:4:5: boom");
    }
}
