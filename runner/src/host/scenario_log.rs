//! A scenario's log: its own lines and the host's notes, with a bound. A guest that logs without
//! end keeps its first and its last [`MAX_LOG_LINES`]` / 2` lines; those in between are counted.

use std::collections::VecDeque;
use std::time::Duration;

/// How many log lines a scenario keeps (the first and the last half).
pub const MAX_LOG_LINES: usize = 10_000;
/// How long one log line may be, in bytes.
pub const MAX_LOG_LINE_BYTES: usize = 8 << 10;

/// One line of a scenario's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Since the scenario started.
    pub at: Duration,
    /// `DEBUG`, `INFO`, `WARN`, `ERROR`, or `HOST` for what the host did.
    pub level: &'static str,
    /// The text.
    pub message: String,
}

impl std::fmt::Display for LogLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{:>8.3} s] {:<5} {}",
            self.at.as_secs_f64(),
            self.level,
            self.message
        )
    }
}

/// The bounded log of one scenario.
#[derive(Debug, Clone, Default)]
pub struct ScenarioLog {
    head: Vec<LogLine>,
    tail: VecDeque<LogLine>,
    dropped: u64,
}

impl ScenarioLog {
    /// Adds a line: an over-long message is cut (with the marker of
    /// [`guest_text::cap`](crate::guest_text::cap)), and CR/LF are escaped so that a guest
    /// cannot forge lines.
    pub fn push(&mut self, at: Duration, level: &'static str, message: String) {
        let message = crate::guest_text::line(&message, MAX_LOG_LINE_BYTES);
        let line = LogLine { at, level, message };
        if self.head.len() < MAX_LOG_LINES / 2 {
            self.head.push(line);
            return;
        }
        if self.tail.len() >= MAX_LOG_LINES / 2 {
            self.tail.pop_front();
            self.dropped += 1;
        }
        self.tail.push_back(line);
    }

    /// The kept lines as text, one per line, with a line that says how many were left out.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for line in &self.head {
            out.push_str(&format!("{line}\n"));
        }
        if self.dropped > 0 {
            out.push_str(&format!("[… {} log lines left out …]\n", self.dropped));
        }
        for line in &self.tail {
            out.push_str(&format!("{line}\n"));
        }
        out
    }

    /// Every kept line, oldest first.
    pub fn lines(&self) -> impl Iterator<Item = &LogLine> {
        self.head.iter().chain(self.tail.iter())
    }

    /// How many lines were left out.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_log_keeps_its_first_and_last_lines() {
        let mut log = ScenarioLog::default();
        for i in 0..(MAX_LOG_LINES + 25) {
            log.push(Duration::ZERO, "INFO", format!("line {i}"));
        }
        assert_eq!(log.dropped(), 25);
        assert_eq!(log.lines().count(), MAX_LOG_LINES);
        let text = log.text();
        assert!(
            text.contains("line 0\n") && text.contains(&format!("line {}\n", MAX_LOG_LINES + 24))
        );
        assert!(
            !text.contains(&format!("line {}\n", MAX_LOG_LINES / 2)),
            "the middle is left out"
        );
        assert!(text.contains("[… 25 log lines left out …]"));
    }

    #[test]
    fn a_long_line_is_cut_on_a_char_boundary() {
        let mut log = ScenarioLog::default();
        log.push(Duration::ZERO, "INFO", "é".repeat(MAX_LOG_LINE_BYTES));
        let line = log.lines().next().unwrap();
        assert!(
            line.message.len() <= MAX_LOG_LINE_BYTES + 40,
            "{}",
            line.message.len()
        );
        assert!(line.message.contains(" bytes cut …]"), "{}", line.message);
    }

    #[test]
    fn line_breaks_in_a_message_cannot_forge_lines() {
        let mut log = ScenarioLog::default();
        log.push(
            Duration::ZERO,
            "INFO",
            "a\r\n[   0.000 s] HOST forged".into(),
        );
        assert_eq!(log.text().lines().count(), 1, "{}", log.text());
    }
}
