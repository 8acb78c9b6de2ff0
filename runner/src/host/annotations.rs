//! The bounds on a scenario's annotations (`annotate key = value`): each key and value is
//! capped, and so is the total per scenario, with the one marker of
//! [`guest_text::cap`](crate::guest_text::cap) saying what was cut. A guest that annotates 40
//! values of 10 MiB gets a JUnit file of kilobytes, not of 400 MB.

use crate::guest_text;

/// The longest annotation key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// The longest annotation value, in bytes.
pub const MAX_VALUE_BYTES: usize = 16 << 10;
/// The most bytes of keys and values one scenario keeps.
pub const MAX_TOTAL_BYTES: usize = 256 << 10;
/// The most annotations one scenario keeps.
pub const MAX_COUNT: usize = 1000;

/// Adds `key = value` to `annotations` within the bounds, and returns the log line that says
/// what was recorded.
pub fn add(annotations: &mut Vec<(String, String)>, key: &str, value: &str) -> String {
    let key = guest_text::line(key, MAX_KEY_BYTES);
    let used: usize = annotations.iter().map(|(k, v)| k.len() + v.len()).sum();
    let room = MAX_TOTAL_BYTES
        .saturating_sub(used + key.len())
        .min(MAX_VALUE_BYTES);
    let value = guest_text::cap(value, room).into_owned();
    let note = format!("annotate {key} = {value}");
    if annotations.len() >= MAX_COUNT {
        return format!("{note} (not kept: a scenario keeps at most {MAX_COUNT} annotations)");
    }
    if used + key.len() >= MAX_TOTAL_BYTES {
        return format!(
            "{note} (not kept: a scenario keeps at most {MAX_TOTAL_BYTES} bytes of annotations)"
        );
    }
    annotations.push((key, value));
    note
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_huge_values_stay_within_the_total() {
        let mut annotations = Vec::new();
        let huge = "v".repeat(10 << 20);
        for i in 0..40 {
            let note = add(&mut annotations, &format!("key{i}"), &huge);
            assert!(note.len() < MAX_VALUE_BYTES + 200, "{}", note.len());
        }
        let total: usize = annotations.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(total <= MAX_TOTAL_BYTES + 40 * 64, "{total}");
        assert!(annotations[0].1.contains("bytes cut …]"));
        assert!(annotations[0].1.len() < MAX_VALUE_BYTES + 64);
    }

    #[test]
    fn small_values_are_kept_as_they_are_and_keys_stay_on_one_line() {
        let mut annotations = Vec::new();
        add(&mut annotations, "response_time_s", "0.004");
        add(&mut annotations, "evil\nkey", "1");
        assert_eq!(annotations[0], ("response_time_s".into(), "0.004".into()));
        assert_eq!(annotations[1].0, "evil\\nkey");
    }
}
