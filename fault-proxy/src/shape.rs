//! The stages that shape data: each turns the pieces of one chunk into pieces with the time
//! they may be written. Time is virtual here: a stage works from the times the stage before it
//! gave, so stages compose in any order (latency then bandwidth, or the other way round).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;

use crate::fault::{FaultId, FaultKind};

/// Bytes that may be written from `at` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Piece {
    /// The bytes.
    pub data: Bytes,
    /// The earliest time they may be written.
    pub at: Instant,
}

/// What a stage remembers across the chunks of one lane.
#[derive(Debug, Clone, Default)]
pub(crate) struct StageState {
    /// Bandwidth and slicer: when the last piece's slot ends.
    next_free: Option<Instant>,
    /// Limit-data: bytes passed so far.
    passed: u64,
}

/// Pieces out of a chain, and whether a data limit was reached with them.
#[derive(Debug, Default)]
pub(crate) struct Shaped {
    /// The pieces, in order.
    pub pieces: Vec<Piece>,
    /// A limit-data stage is used up: close the connection once the pieces are written.
    pub limit_reached: bool,
}

/// Runs `piece` through `chain` (the data-shaping faults of one lane, in order).
pub(crate) fn shape(
    chain: &[(FaultId, FaultKind)],
    states: &mut HashMap<FaultId, StageState>,
    piece: Piece,
    rng: &mut impl Rng,
) -> Shaped {
    let mut shaped = Shaped {
        pieces: vec![piece],
        limit_reached: false,
    };
    for (id, kind) in chain {
        let state = states.entry(*id).or_default();
        let input = std::mem::take(&mut shaped.pieces);
        shaped.pieces = match *kind {
            FaultKind::Latency { delay, jitter } => input
                .into_iter()
                .map(|p| Piece {
                    at: later(p.at, jittered(delay, jitter, rng)),
                    data: p.data,
                })
                .collect(),
            FaultKind::Bandwidth { bytes_per_second } => {
                throttle(input, bytes_per_second, &mut state.next_free)
            }
            FaultKind::Slicer {
                average_size,
                size_variation,
                delay,
            } => {
                let sizes = (average_size, size_variation);
                slice(input, sizes, delay, &mut state.next_free, rng)
            }
            FaultKind::LimitData { bytes } => {
                let (kept, reached) = limit(input, bytes, &mut state.passed);
                shaped.limit_reached |= reached;
                kept
            }
            // Not shaping stages: the lane and the connection act on them.
            FaultKind::Blackhole | FaultKind::ResetPeer { .. } | FaultKind::SlowClose { .. } => {
                input
            }
        };
    }
    shaped
}

/// `at + by`, or `at` itself if that could not be represented (values are validated far below).
pub(crate) fn later(at: Instant, by: Duration) -> Instant {
    at.checked_add(by).unwrap_or(at)
}

/// `delay` plus or minus up to `jitter`, uniformly, never below zero.
fn jittered(delay: Duration, jitter: Duration, rng: &mut impl Rng) -> Duration {
    if jitter.is_zero() {
        return delay;
    }
    let span = u64::try_from(jitter.as_nanos().saturating_mul(2)).unwrap_or(u64::MAX);
    (delay + Duration::from_nanos(rng.random_range(0..=span))).saturating_sub(jitter)
}

/// Bandwidth: pieces of at most a tenth of a second's worth, each written at the end of its
/// slot, so that `n` bytes take `n / rate` seconds.
fn throttle(input: Vec<Piece>, rate: u64, next_free: &mut Option<Instant>) -> Vec<Piece> {
    let size = usize::try_from(rate / 10)
        .unwrap_or(usize::MAX)
        .clamp(1, 16 * 1024);
    let mut out = Vec::new();
    for piece in input {
        let mut start = next_free.map_or(piece.at, |free| free.max(piece.at));
        let mut data = piece.data;
        while !data.is_empty() {
            let part = data.split_to(size.min(data.len()));
            let nanos = (part.len() as u128 * 1_000_000_000) / u128::from(rate);
            start = later(start, Duration::from_nanos(nanos as u64));
            out.push(Piece {
                data: part,
                at: start,
            });
        }
        *next_free = Some(start);
    }
    out
}

/// Slicer: pieces of `average ± variation` bytes, the first at once, each next `delay` later.
fn slice(
    input: Vec<Piece>,
    (average, variation): (u32, u32),
    delay: Duration,
    next_free: &mut Option<Instant>,
    rng: &mut impl Rng,
) -> Vec<Piece> {
    let mut out = Vec::new();
    for piece in input {
        let mut at = next_free.map_or(piece.at, |free| free.max(piece.at));
        let mut data = piece.data;
        while !data.is_empty() {
            let low = average.saturating_sub(variation).max(1);
            let size = rng.random_range(low..=average.saturating_add(variation)) as usize;
            out.push(Piece {
                data: data.split_to(size.min(data.len())),
                at,
            });
            at = later(at, delay);
        }
        *next_free = Some(at);
    }
    out
}

/// Limit-data: passes bytes until `bytes` have passed in all; says whether the limit is used up.
fn limit(input: Vec<Piece>, bytes: u64, passed: &mut u64) -> (Vec<Piece>, bool) {
    let mut out = Vec::new();
    for mut piece in input {
        let remaining = bytes.saturating_sub(*passed);
        if remaining < piece.data.len() as u64 {
            piece.data.truncate(remaining as usize);
        }
        *passed += piece.data.len() as u64;
        if !piece.data.is_empty() {
            out.push(piece);
        }
        if *passed >= bytes {
            return (out, true);
        }
    }
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn run(chain: &[(FaultId, FaultKind)], len: usize, at: Instant) -> Shaped {
        let piece = Piece {
            data: Bytes::from(vec![7u8; len]),
            at,
        };
        shape(chain, &mut HashMap::new(), piece, &mut rand::rng())
    }

    #[test]
    fn latency_then_bandwidth_adds_up_and_keeps_every_byte() {
        let t0 = Instant::now();
        let chain = [
            (
                1,
                FaultKind::Latency {
                    delay: ms(50),
                    jitter: Duration::ZERO,
                },
            ),
            (
                2,
                FaultKind::Bandwidth {
                    bytes_per_second: 1000,
                },
            ),
        ];
        let shaped = run(&chain, 1000, t0);
        assert_eq!(shaped.pieces.len(), 10, "pieces of 100 bytes");
        let total: usize = shaped.pieces.iter().map(|p| p.data.len()).sum();
        assert_eq!(total, 1000);
        assert_eq!(shaped.pieces[0].at - t0, ms(150));
        assert_eq!(shaped.pieces[9].at - t0, ms(1050));
    }

    #[test]
    fn jitter_stays_within_its_bounds() {
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let d = jittered(ms(100), ms(20), &mut rng);
            assert!(d >= ms(80) && d <= ms(120), "{d:?}");
            assert!(jittered(ms(5), ms(20), &mut rng) <= ms(25));
        }
    }

    #[test]
    fn the_slicer_cuts_pieces_within_the_variation_and_spaces_them() {
        let t0 = Instant::now();
        let chain = [(
            1,
            FaultKind::Slicer {
                average_size: 10,
                size_variation: 3,
                delay: ms(5),
            },
        )];
        let shaped = run(&chain, 1000, t0);
        let last = shaped.pieces.len() - 1;
        for (i, p) in shaped.pieces.iter().enumerate() {
            assert!(
                i == last || (7..=13).contains(&p.data.len()),
                "{}",
                p.data.len()
            );
            assert_eq!(p.at - t0, ms(5) * i as u32);
        }
    }

    #[test]
    fn limit_data_truncates_at_the_limit_and_says_so() {
        let mut states = HashMap::new();
        let chain = [(1, FaultKind::LimitData { bytes: 150 })];
        let piece = |at| Piece {
            data: Bytes::from(vec![1u8; 100]),
            at,
        };
        let t0 = Instant::now();
        let first = shape(&chain, &mut states, piece(t0), &mut rand::rng());
        assert!(!first.limit_reached);
        let second = shape(&chain, &mut states, piece(t0), &mut rand::rng());
        assert!(second.limit_reached);
        assert_eq!(second.pieces[0].data.len(), 50);
    }
}
