//! The text grammar: one or more parts, each a decimal number followed by a unit (`h`, `m` or
//! `min`, `s`, `ms`), or a single unitless number of seconds. Computed exactly in nanoseconds
//! with checked integer arithmetic, so `1.5s` is 1500 ms and nothing can overflow.

use std::time::Duration;

const NANOS_PER_SEC: u128 = 1_000_000_000;
/// Fraction digits beyond this many are ignored (they are below a nanosecond for every unit).
const MAX_FRACTION_DIGITS: u32 = 18;

/// What the grammar made of a text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A duration.
    Value(Duration),
    /// Well formed, but longer than a `Duration` can hold.
    Overflow,
    /// Not in the grammar.
    NotOurs,
}

/// Parses `text` by the grammar of the module.
pub(crate) fn parse_parts(text: &str) -> Parsed {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Parsed::NotOurs;
    }
    let mut total: u128 = 0;
    let mut first = true;
    while !rest.is_empty() {
        let Some((number, after_number)) = split_number(rest) else {
            return Parsed::NotOurs;
        };
        let after_number = after_number.trim_start();
        let unit_len = after_number
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after_number.len());
        let (unit, after_unit) = after_number.split_at(unit_len);
        let factor = match unit {
            "" if first && after_unit.is_empty() => NANOS_PER_SEC,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SEC,
            "m" | "min" => 60 * NANOS_PER_SEC,
            "h" => 3600 * NANOS_PER_SEC,
            _ => return Parsed::NotOurs,
        };
        match number.nanos(factor).and_then(|n| total.checked_add(n)) {
            Some(sum) => total = sum,
            None => return Parsed::Overflow,
        }
        rest = after_unit.trim_start();
        first = false;
    }
    let Ok(secs) = u64::try_from(total / NANOS_PER_SEC) else {
        return Parsed::Overflow;
    };
    // The remainder is below 10^9, so it fits.
    let nanos = (total % NANOS_PER_SEC) as u32;
    Parsed::Value(Duration::new(secs, nanos))
}

/// A decimal number as written: whole digits and fraction digits.
struct Decimal<'a> {
    whole: &'a str,
    fraction: &'a str,
}

impl Decimal<'_> {
    /// This number times `factor` nanoseconds, or `None` on overflow.
    fn nanos(&self, factor: u128) -> Option<u128> {
        let mut whole: u128 = 0;
        for digit in self.whole.bytes() {
            whole = whole
                .checked_mul(10)?
                .checked_add(u128::from(digit - b'0'))?;
        }
        let kept = &self.fraction[..self.fraction.len().min(MAX_FRACTION_DIGITS as usize)];
        let mut fraction: u128 = 0;
        for digit in kept.bytes() {
            fraction = fraction * 10 + u128::from(digit - b'0');
        }
        // kept has at most 18 digits and factor is at most 3.6e12: the product fits in u128.
        let fraction_nanos = fraction * factor / 10u128.pow(kept.len() as u32);
        whole.checked_mul(factor)?.checked_add(fraction_nanos)
    }
}

/// Splits a leading `12`, `1.5`, `.5` or `2.` off `text`; `None` when there is no digit.
fn split_number(text: &str) -> Option<(Decimal<'_>, &str)> {
    let whole_len = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (whole, rest) = text.split_at(whole_len);
    let (fraction, rest) = match rest.strip_prefix('.') {
        Some(after_dot) => {
            let len = after_dot
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after_dot.len());
            after_dot.split_at(len)
        }
        None => ("", rest),
    };
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    Some((Decimal { whole, fraction }, rest))
}
