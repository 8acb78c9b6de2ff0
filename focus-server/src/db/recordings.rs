//! The recordings index, in the real product's layout (the one QA's tests read directly):
//! - collection `base_paths`: one document per recording store,
//!   `{base_path, guid, is_archive}`;
//! - then one collection named by each `guid`, one document per recording,
//!   `{uuid, start_time, end_time, deleted}`, the times BSON dates.
//!
//! Both live in the configured database (`--database`, default `prisma`). A lookup reads
//! every base path (at most [`MAX_BASE_PATHS`]) and, in each guid collection, the recordings
//! not `deleted` that overlap the window (at most [`MAX_SEGMENTS`] in all). Recordings cover the
//! whole fiber: the layout has no channel range.
//!
//! `--seed-recordings` writes a synthetic store ([`SEED_GUID`]): one-hour recordings aligned to
//! the hour over the last 7 days (up to the end of the current hour) plus the P0 ticket's hour,
//! 2025-01-01 00:00–01:00 UTC (which covers its 00:00–00:10 window). Recording uuids derive
//! from their start, and only missing ones are inserted, so seeding is idempotent.

use std::collections::HashSet;
use std::time::Instant;

use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{DateTime, doc};
use serde::{Deserialize, Serialize};

use super::{Db, DbError};

/// The collection of recording stores.
pub const BASE_PATHS: &str = "base_paths";
/// The guid of the synthetic store `--seed-recordings` writes.
pub const SEED_GUID: &str = "5eed0000-f0c5-4000-8000-000000000001";
/// The base path of the synthetic store.
pub const SEED_BASE_PATH: &str = "/prisma/root/recordings/focus-server-synthetic";
/// Length of a synthetic recording, seconds.
pub const SEGMENT_SECONDS: i64 = 3600;
/// Days of synthetic recordings before now.
pub const SEED_DAYS: i64 = 7;
/// 2025-01-01T00:00:00Z, the start of the P0 ticket's window.
pub const TICKET_WINDOW_START: i64 = 1_735_689_600;
/// The most base paths a lookup reads.
pub const MAX_BASE_PATHS: i64 = 100;
/// The most recordings a lookup returns (the answer's bound, whatever the window).
pub const MAX_SEGMENTS: i64 = 10_000;

/// A recording store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasePath {
    /// Where its files are.
    pub base_path: String,
    /// The name of its recordings collection.
    pub guid: String,
    /// Whether it is an archive.
    #[serde(default)]
    pub is_archive: bool,
}

/// One recording, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recording {
    /// Its id.
    pub uuid: String,
    /// Start.
    pub start_time: DateTime,
    /// End.
    pub end_time: DateTime,
    /// Soft-deleted.
    #[serde(default)]
    pub deleted: bool,
}

/// A recorded span, epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    /// Start.
    pub start: f64,
    /// End.
    pub end: f64,
}

fn base_paths(db: &Db) -> Collection<BasePath> {
    db.database().collection(BASE_PATHS)
}

fn store(db: &Db, guid: &str) -> Collection<Recording> {
    db.database().collection(guid)
}

fn date(seconds: f64) -> DateTime {
    // `as` saturates; NaN becomes 0.
    DateTime::from_millis((seconds * 1000.0).round() as i64)
}

/// The synthetic recordings for `now`.
pub fn synthetic_recordings(now: i64) -> Vec<Recording> {
    let current_hour = now - now.rem_euclid(SEGMENT_SECONDS);
    let first = current_hour - SEED_DAYS * 86_400;
    let starts: std::collections::BTreeSet<i64> = std::iter::once(TICKET_WINDOW_START)
        .chain((first..=current_hour).step_by(SEGMENT_SECONDS as usize))
        .collect();
    starts
        .into_iter()
        .map(|start| Recording {
            uuid: format!("5eed0000-0000-4000-8000-{:012x}", start.max(0)),
            start_time: DateTime::from_millis(start * 1000),
            end_time: DateTime::from_millis((start + SEGMENT_SECONDS) * 1000),
            deleted: false,
        })
        .collect()
}

/// Writes the synthetic store's base path and the recordings it misses; returns how many
/// recordings it inserted.
pub async fn seed(db: &Db, now: i64) -> Result<usize, DbError> {
    let until = Some(Instant::now() + db.policy().call_deadline * 4);
    let base = BasePath {
        base_path: SEED_BASE_PATH.to_owned(),
        guid: SEED_GUID.to_owned(),
        is_archive: false,
    };
    let paths = base_paths(db);
    db.call(
        "the recordings seed base path",
        until,
        paths
            .replace_one(doc! { "guid": SEED_GUID }, &base)
            .upsert(true),
    )
    .await?;
    let recordings = synthetic_recordings(now);
    let uuids: Vec<&str> = recordings.iter().map(|r| r.uuid.as_str()).collect();
    let coll = store(db, SEED_GUID);
    let existing: Vec<Recording> = db
        .call("the recordings seed lookup", until, async {
            coll.find(doc! { "uuid": { "$in": &uuids } })
                .await?
                .try_collect()
                .await
        })
        .await?;
    let have: HashSet<String> = existing.into_iter().map(|r| r.uuid).collect();
    let missing: Vec<&Recording> = recordings
        .iter()
        .filter(|r| !have.contains(&r.uuid))
        .collect();
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

/// Recordings of every store overlapping `[start, end]`, not deleted, by start; at most
/// [`MAX_SEGMENTS`].
pub async fn overlapping(
    db: &Db,
    start: f64,
    end: f64,
    until: Option<Instant>,
) -> Result<Vec<Segment>, DbError> {
    let paths = base_paths(db);
    let stores: Vec<BasePath> = db
        .call("the recordings base paths lookup", until, async {
            paths
                .find(doc! {})
                .limit(MAX_BASE_PATHS)
                .await?
                .try_collect()
                .await
        })
        .await?;
    let filter = doc! {
        "start_time": { "$lt": date(end) },
        "end_time": { "$gt": date(start) },
        "deleted": { "$ne": true },
    };
    let mut segments = Vec::new();
    for base in stores {
        let left = MAX_SEGMENTS - segments.len() as i64;
        if left <= 0 {
            break;
        }
        let coll = store(db, &base.guid);
        let found: Vec<Recording> = db
            .call("the recordings lookup", until, async {
                coll.find(filter.clone())
                    .limit(left)
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        segments.extend(found.into_iter().map(|r| Segment {
            start: r.start_time.timestamp_millis() as f64 / 1000.0,
            end: r.end_time.timestamp_millis() as f64 / 1000.0,
        }));
    }
    segments.sort_by(|a, b| a.start.total_cmp(&b.start));
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_covers_the_last_week_and_the_ticket_window() {
        let now = 1_800_001_234;
        let recs = synthetic_recordings(now);
        let ms = |s: i64| DateTime::from_millis(s * 1000);
        assert_eq!(recs[0].start_time, ms(TICKET_WINDOW_START));
        assert!(recs[0].end_time >= ms(1_735_690_200));
        let last = recs.last().unwrap();
        assert!(last.start_time <= ms(now) && last.end_time > ms(now));
        assert!(recs.iter().any(|r| r.start_time <= ms(now - 7 * 86_400)));
        assert_eq!(recs.len(), 1 + 7 * 24 + 1);
        // Same hour, same uuids: seeding twice adds nothing.
        assert_eq!(synthetic_recordings(now + 60), recs);
        let uuids: HashSet<&str> = recs.iter().map(|r| r.uuid.as_str()).collect();
        assert_eq!(uuids.len(), recs.len());
    }
}
