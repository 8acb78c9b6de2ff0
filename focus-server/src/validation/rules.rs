//! The rule stage (400): ranges and combinations of a schema-valid request.

use super::{ConfigureRequest, Problem, Rejection, ViewType, num};

/// At most this many channels in one request.
pub const MAX_CHANNELS_PER_REQUEST: i64 = 2222;
/// The tallest display, in pixels (lines).
pub const MAX_HEIGHT: i64 = 10_000;
/// The longest historic configure window, in seconds (one day); the recordings query takes any.
pub const MAX_WINDOW_SECONDS: f64 = 86_400.0;
/// How far in the future a time may be, for clock skew between client and server.
const CLOCK_SKEW_SECONDS: f64 = 2.0;
/// The FFT sizes allowed: powers of two in this range.
const NFFT_RANGE: std::ops::RangeInclusive<i64> = 128..=65_536;

/// What the rules depend on: the fiber, the interrogator and the clock.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The highest channel number.
    pub highest_channel: u32,
    /// Pulse repetition rate, Hz.
    pub prr: f64,
    /// Now, epoch seconds.
    pub now: f64,
}

/// Checks every rule; 400 with all broken rules, first one first.
pub fn check_rules(req: &ConfigureRequest, limits: &Limits) -> Result<(), Rejection> {
    let mut p = Vec::new();
    let display = req.form.display_field();
    let chans = req.form.channels_field();
    if !(1..=MAX_HEIGHT).contains(&req.height) {
        p.push(Problem(format!(
            "{display}.height: must be from 1 to {MAX_HEIGHT}, got {}",
            req.height
        )));
    }
    let (lo, hi) = (req.channel_min, req.channel_max);
    let highest = i64::from(limits.highest_channel);
    if lo < 1 {
        p.push(Problem(format!(
            "{chans}.min: must be at least 1, got {lo}"
        )));
    }
    if hi > highest {
        p.push(Problem(format!(
            "{chans}.max: must be at most {highest} (the highest channel), got {hi}"
        )));
    }
    if lo > hi {
        p.push(Problem(format!(
            "{chans}: min must not exceed max, got min={lo} max={hi}"
        )));
    } else if hi.saturating_sub(lo).saturating_add(1) > MAX_CHANNELS_PER_REQUEST {
        let count = hi.saturating_sub(lo).saturating_add(1);
        p.push(Problem(format!(
            "{chans}: at most {MAX_CHANNELS_PER_REQUEST} channels in one request, got {count}"
        )));
    }
    view_rules(req, &mut p);
    if req.view != ViewType::Waterfall {
        if let Some(n) = req.nfft
            && !(NFFT_RANGE.contains(&n) && (n as u64).is_power_of_two())
        {
            p.push(Problem(format!(
                "nfftSelection: must be a power of two from 128 to 65536, got {n}"
            )));
        }
        if let Some((fmin, fmax)) = req.frequency {
            frequency_rules(fmin, fmax, limits.prr, &mut p);
        }
        if let Some(d) = req.duration
            && d <= 0.0
        {
            p.push(Problem(format!(
                "displayTimeAxisDuration: must be greater than 0, got {}",
                num(d)
            )));
        }
    }
    time_rules(
        req.start_time,
        req.end_time,
        limits.now,
        Some(MAX_WINDOW_SECONDS),
        &mut p,
    );
    if p.is_empty() {
        Ok(())
    } else {
        Err(Rejection::Rule(p))
    }
}

/// Checks a `{start_time, end_time}` window given on its own (the recordings query): any
/// length (the answer is bounded instead, see [`crate::db::recordings::MAX_SEGMENTS`]).
pub fn check_window(start: f64, end: f64, now: f64) -> Result<(), Rejection> {
    let mut p = Vec::new();
    time_rules(Some(start), Some(end), now, None, &mut p);
    if p.is_empty() {
        Ok(())
    } else {
        Err(Rejection::Rule(p))
    }
}

fn view_rules(req: &ConfigureRequest, p: &mut Vec<Problem>) {
    let chans = req.form.channels_field();
    match req.view {
        ViewType::SingleChannel if req.channel_min != req.channel_max => p.push(Problem(format!(
            "{chans}: {} needs min == max, got min={} max={}",
            req.view.name(),
            req.channel_min,
            req.channel_max
        ))),
        ViewType::Waterfall => {
            let name = req.view.name();
            if let Some(n) = req.nfft.filter(|&n| n != 1) {
                p.push(Problem(format!(
                    "nfftSelection: {name} takes nfftSelection 1 or none, got {n}"
                )));
            }
            if req.frequency.is_some() {
                p.push(Problem(format!(
                    "frequencyRange: {name} takes no frequencyRange"
                )));
            }
            if req.duration.is_some() {
                p.push(Problem(format!(
                    "displayTimeAxisDuration: {name} takes no displayTimeAxisDuration"
                )));
            }
        }
        _ => {}
    }
}

fn frequency_rules(fmin: f64, fmax: f64, prr: f64, p: &mut Vec<Problem>) {
    let nyquist = prr / 2.0;
    if fmin < 0.0 {
        p.push(Problem(format!(
            "frequencyRange.min: must be at least 0, got {}",
            num(fmin)
        )));
    }
    if fmax > nyquist {
        p.push(Problem(format!(
            "frequencyRange.max: must be at most {} (Nyquist, PRR/2), got {}",
            num(nyquist),
            num(fmax)
        )));
    }
    if fmax - fmin < 1.0 {
        p.push(Problem(format!(
            "frequencyRange: max must exceed min by at least 1 Hz, got min={} max={}",
            num(fmin),
            num(fmax)
        )));
    }
}

fn time_rules(
    start: Option<f64>,
    end: Option<f64>,
    now: f64,
    max_window: Option<f64>,
    p: &mut Vec<Problem>,
) {
    let (start, end) = match (start, end) {
        (None, None) => return,
        (Some(s), Some(e)) => (s, e),
        (Some(_), None) => {
            p.push(Problem("end_time: give both start_time and end_time (historic) or neither (live), got only start_time".into()));
            return;
        }
        (None, Some(_)) => {
            p.push(Problem("start_time: give both start_time and end_time (historic) or neither (live), got only end_time".into()));
            return;
        }
    };
    for (name, t) in [("start_time", start), ("end_time", end)] {
        if t < 0.0 {
            p.push(Problem(format!(
                "{name}: must not be negative, got {}",
                num(t)
            )));
        } else if t > now + CLOCK_SKEW_SECONDS {
            p.push(Problem(format!(
                "{name}: must not be in the future, got {} (now is {})",
                num(t),
                num(now.floor())
            )));
        }
    }
    if end <= start {
        p.push(Problem(format!(
            "end_time: must be after start_time, got start_time={} end_time={}",
            num(start),
            num(end)
        )));
    } else if let Some(max) = max_window.filter(|&max| end - start > max) {
        p.push(Problem(format!(
            "end_time: the window must be at most {} s long, got {} s",
            num(max),
            num(end - start)
        )));
    }
}
