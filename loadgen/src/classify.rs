//! Why a request got no HTTP answer, from reqwest's error and the errors under it.

use std::error::Error as _;
use std::io;

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TransportError {
    /// The connection was refused.
    Refused,
    /// The connection was reset or closed before a whole answer.
    Reset,
    /// No whole answer within the request's timeout.
    Timeout,
    /// Anything else.
    Other,
}

impl TransportError {
    /// Every kind, in order.
    pub const ALL: [TransportError; 4] = [Self::Refused, Self::Reset, Self::Timeout, Self::Other];

    /// Its name in reports: `refused`, `reset`, `timeout`, `other`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Refused => "refused",
            Self::Reset => "reset",
            Self::Timeout => "timeout",
            Self::Other => "other",
        }
    }

    /// The kind of `error`, looking through the errors it wraps.
    pub fn of(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            return Self::Timeout;
        }
        let mut source = error.source();
        while let Some(e) = source {
            if let Some(io) = e.downcast_ref::<io::Error>() {
                match io.kind() {
                    io::ErrorKind::ConnectionRefused => return Self::Refused,
                    io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof => return Self::Reset,
                    io::ErrorKind::TimedOut => return Self::Timeout,
                    _ => {}
                }
            }
            if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
                if hyper.is_incomplete_message() || hyper.is_closed() || hyper.is_canceled() {
                    return Self::Reset;
                }
                if hyper.is_timeout() {
                    return Self::Timeout;
                }
            }
            source = e.source();
        }
        Self::Other
    }
}
