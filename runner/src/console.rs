//! Console output that never panics: `println!` panics when stdout is a closed pipe
//! (`run … | head -1`), which would skip the rollback, the report and the clean-up. Every line
//! the runner prints goes through here instead; a write that fails (EPIPE, a full disk) is
//! dropped, and the run carries on to the exit code it earned.

use std::fmt;
use std::io::Write as _;

/// Writes `args` to stdout; a failed write is ignored.
pub fn out(args: fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_fmt(args);
    let _ = stdout.flush();
}

/// Writes `args` to stderr; a failed write is ignored.
pub fn err(args: fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

/// `println!` that never panics: see [`out`].
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::console::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` that never panics: see [`err`].
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::console::err(format_args!("{}\n", format_args!($($arg)*)))
    };
}
