//! `POST /recordings_in_time_range {start_time, end_time}`: the recorded spans inside the
//! window, as `[start, end]` pairs in epoch seconds. Touching segments are merged and the
//! spans are clipped to the window, so the answer says which parts of it hold data.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde_json::Value;

use super::ApiError;
use crate::app::AppState;
use crate::db::recordings::{self, Segment};
use crate::timefmt::now_epoch_seconds;
use crate::validation::{check_window, parse_window};

/// The handler.
pub async fn in_time_range(
    State(app): State<AppState>,
    body: Bytes,
) -> Result<Json<Vec<[Value; 2]>>, ApiError> {
    let started = Instant::now();
    let (start, end) = parse_window(&body)?;
    check_window(start, end, now_epoch_seconds())?;
    app.db
        .check_gate()
        .map_err(|e| ApiError::database(e, &app))?;
    let until = app
        .settings
        .fail_fast
        .then(|| started + app.settings.request_budget());
    let segments = recordings::overlapping(&app.db, start, end, until)
        .await
        .map_err(|e| ApiError::database(e, &app))?;
    Ok(Json(
        spans(&segments, start, end)
            .into_iter()
            .map(|(s, e)| [number(s), number(e)])
            .collect(),
    ))
}

/// Merges touching or overlapping segments (sorted by start) and clips them to `[start, end]`.
pub fn spans(segments: &[Segment], start: f64, end: f64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for seg in segments {
        let (s, e) = (seg.start.max(start), seg.end.min(end));
        if e <= s {
            continue;
        }
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: f64, end: f64) -> Segment {
        Segment { start, end }
    }

    #[test]
    fn spans_merge_and_clip() {
        let segs = [seg(0.0, 10.0), seg(10.0, 20.0), seg(30.0, 40.0)];
        assert_eq!(spans(&segs, 5.0, 35.0), vec![(5.0, 20.0), (30.0, 35.0)]);
        assert_eq!(spans(&segs, 20.0, 30.0), vec![]);
    }
}
