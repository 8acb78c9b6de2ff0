//! The recordings index: segments of recorded fiber data, each with a time span and a channel
//! range, in the `recordings` collection.
//!
//! `--seed-recordings` writes a synthetic index: one-hour segments aligned to the hour over the
//! last 7 days (up to the end of the current hour) plus the P0 ticket's hour, 2025-01-01
//! 00:00–01:00 UTC (which covers its 00:00–00:10 window). Segment ids are derived from their
//! start (`seg-<epoch>`), and only missing ones are inserted, so seeding is idempotent.

use std::collections::HashSet;
use std::time::Instant;

use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::doc;
use serde::{Deserialize, Serialize};

use super::{Db, DbError};

/// The collection name.
pub const COLLECTION: &str = "recordings";
/// Length of a synthetic segment, seconds.
pub const SEGMENT_SECONDS: i64 = 3600;
/// Days of synthetic recordings before now.
pub const SEED_DAYS: i64 = 7;
/// 2025-01-01T00:00:00Z, the start of the P0 ticket's window.
pub const TICKET_WINDOW_START: i64 = 1_735_689_600;

/// One recorded segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// `seg-<start>`.
    #[serde(rename = "_id")]
    pub id: String,
    /// Start, epoch seconds.
    pub start: f64,
    /// End, epoch seconds.
    pub end: f64,
    /// Lowest recorded channel.
    pub channel_min: i64,
    /// Highest recorded channel.
    pub channel_max: i64,
}

fn collection(db: &Db) -> Collection<Segment> {
    db.database().collection(COLLECTION)
}

/// The synthetic segments for `now` and a fiber of `channels` channels.
pub fn synthetic_segments(now: i64, channels: u32) -> Vec<Segment> {
    let current_hour = now - now.rem_euclid(SEGMENT_SECONDS);
    let first = current_hour - SEED_DAYS * 86_400;
    let starts = std::iter::once(TICKET_WINDOW_START)
        .chain((first..=current_hour).step_by(SEGMENT_SECONDS as usize));
    starts
        .map(|start| Segment {
            id: format!("seg-{start}"),
            start: start as f64,
            end: (start + SEGMENT_SECONDS) as f64,
            channel_min: 1,
            channel_max: i64::from(channels),
        })
        .collect()
}

/// Inserts the synthetic segments that are missing; returns how many it inserted.
pub async fn seed(db: &Db, now: i64, channels: u32) -> Result<usize, DbError> {
    let segments = synthetic_segments(now, channels);
    let ids: Vec<&str> = segments.iter().map(|s| s.id.as_str()).collect();
    let coll = collection(db);
    let until = Some(Instant::now() + db.policy().call_deadline * 4);
    let existing: Vec<Segment> = db
        .call("the recordings seed lookup", until, async {
            coll.find(doc! { "_id": { "$in": &ids } })
                .await?
                .try_collect()
                .await
        })
        .await?;
    let have: HashSet<String> = existing.into_iter().map(|s| s.id).collect();
    let missing: Vec<&Segment> = segments.iter().filter(|s| !have.contains(&s.id)).collect();
    if !missing.is_empty() {
        db.call(
            "the recordings seed insert",
            until,
            coll.insert_many(missing.iter().copied()),
        )
        .await?;
    }
    Ok(missing.len())
}

/// Segments overlapping `[start, end]` (and covering channels `channels`, when given), by start.
pub async fn overlapping(
    db: &Db,
    start: f64,
    end: f64,
    channels: Option<(i64, i64)>,
    until: Option<Instant>,
) -> Result<Vec<Segment>, DbError> {
    let mut filter = doc! { "start": { "$lt": end }, "end": { "$gt": start } };
    if let Some((lo, hi)) = channels {
        filter.insert("channel_min", doc! { "$lte": lo });
        filter.insert("channel_max", doc! { "$gte": hi });
    }
    let coll = collection(db);
    let mut segments: Vec<Segment> = db
        .call("the recordings lookup", until, async {
            coll.find(filter).limit(10_000).await?.try_collect().await
        })
        .await?;
    segments.sort_by(|a, b| a.start.total_cmp(&b.start));
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_covers_the_last_week_and_the_ticket_window() {
        let now = 1_800_001_234;
        let segs = synthetic_segments(now, 64);
        assert_eq!(segs[0].id, "seg-1735689600");
        assert!(segs[0].start <= 1_735_689_600.0 && segs[0].end >= 1_735_690_200.0);
        let last = segs.last().unwrap();
        assert!(last.start <= now as f64 && last.end > now as f64);
        assert!(segs.iter().any(|s| s.start <= (now - 7 * 86_400) as f64));
        assert_eq!(segs.len(), 1 + 7 * 24 + 1);
        // Same hour, same ids: seeding twice adds nothing.
        assert_eq!(synthetic_segments(now + 60, 64), segs);
    }
}
