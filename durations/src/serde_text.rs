//! `#[serde(with = "durations::serde_text")]`: a duration in a config file, written as text
//! (`"5s"`, `"1m30s"`) or as a number of seconds, within [`Bounds::DELAY`](crate::Bounds). The
//! format (toml, JSON) adds the key and line to the message.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::Bounds;

#[derive(Deserialize)]
#[serde(untagged)]
enum Repr {
    Seconds(f64),
    Text(String),
}

/// Deserializes a duration from text or a number of seconds.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    match Repr::deserialize(d)? {
        Repr::Seconds(seconds) => crate::from_secs_f64("", seconds, Bounds::DELAY),
        Repr::Text(text) => crate::parse("", &text, Bounds::DELAY),
    }
    .map_err(serde::de::Error::custom)
}
