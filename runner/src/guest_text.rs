//! Text a guest (or the system under test) supplies, made safe for the console and the report:
//! [`cap`] bounds its size with one marker that says how much was cut, and [`escape_line`]
//! keeps it on one line. Annotations, failure and panic messages, log lines, workload names and
//! captured output all go through these two functions, so a guest cannot blow up the JUnit file
//! or the host's memory, nor forge log lines with CR/LF.

use std::borrow::Cow;

/// The marker that stands for `cut` bytes left out: `[… 10485700 bytes cut …]`.
pub fn marker(cut: u64) -> String {
    format!("[… {cut} bytes cut …]")
}

/// `text` within `max` bytes (plus the marker): its head and its tail, with [`marker`] between
/// them saying how many bytes were cut. Text that fits is returned as it is.
pub fn cap(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut head_end = max / 2;
    while !text.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let mut tail_start = text.len() - (max - max / 2);
    while !text.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    let cut = (tail_start - head_end) as u64;
    let gap = if text.contains('\n') { "\n" } else { " " };
    Cow::Owned(format!(
        "{}{gap}{}{gap}{}",
        &text[..head_end],
        marker(cut),
        &text[tail_start..]
    ))
}

/// [`cap`] for an owned string, without a copy when it fits.
pub fn cap_owned(text: String, max: usize) -> String {
    match cap(&text, max) {
        Cow::Borrowed(_) => text,
        Cow::Owned(capped) => capped,
    }
}

/// `text` on one line: CR and LF written as `\r` and `\n`, so a guest's string cannot start a
/// line of its own; ANSI escape sequences and other control characters (except tab) dropped.
pub fn escape_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\t') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            // An ANSI escape sequence (ESC [ parameters final-byte) goes whole: it would
            // restyle a terminal, and XML refuses ESC.
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                for c in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&c) {
                        break;
                    }
                }
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`escape_line`] of [`cap`]: a guest's string fit for one log or console line.
pub fn line(text: &str, max: usize) -> String {
    escape_line(&cap(text, max)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_untouched() {
        assert!(matches!(cap("hello", 5), Cow::Borrowed("hello")));
        assert!(matches!(escape_line("a\tb"), Cow::Borrowed(_)));
    }

    #[test]
    fn long_text_keeps_head_and_tail_and_says_what_was_cut() {
        let text = format!("HEAD{}TAIL", "x".repeat(10 << 20));
        let capped = cap(&text, 100);
        assert!(
            capped.starts_with("HEAD") && capped.ends_with("TAIL"),
            "{capped}"
        );
        assert!(capped.contains(&format!("[… {} bytes cut …]", text.len() - 100)));
        assert!(capped.len() < 150);
    }

    #[test]
    fn cuts_fall_on_char_boundaries() {
        for max in 0..20 {
            let text = "é€😀".repeat(50);
            let capped = cap(&text, max);
            assert!(capped.contains("bytes cut"), "{max}");
        }
    }

    #[test]
    fn line_breaks_are_escaped() {
        assert_eq!(
            escape_line("evil\r\n[ 0.000 s] HOST forged\u{1b}[31m"),
            "evil\\r\\n[ 0.000 s] HOST forged"
        );
        assert_eq!(line("a\nb", 100), "a\\nb");
    }
}
