//! The figures a configure response derives from the request and the interrogator. They are
//! pure functions of (request, PRR): the same request always gets the same figures, whatever
//! came before it. Each rule reproduces the real server's recorded answers (issue 13 §1).
//!
//! - **Streams.** Multichannel groups the channels into at most [`MAX_STREAMS`] contiguous
//!   streams of near-equal size, the larger ones first: with `n` channels and
//!   `s = min(3, n)` streams, the first `n mod s` streams take `⌈n/s⌉` channels and the others
//!   `⌊n/s⌋` (channels 1–8 → `{1:0,2:0,3:0,4:1,5:1,6:1,7:2,8:2}`; 1–50 → 17, 17, 16).
//!   Single-channel and waterfall have one stream.
//! - **`lines_dt`** = `displayTimeAxisDuration / displayInfo.height` (10/1000 → 0.01,
//!   30/768 → 0.0390625). Without a duration, one FFT hop: `(nfft/2)/PRR`. The waterfall sends
//!   raw samples: `lines_dt = 1/PRR`.
//! - **Frequency axis.** The bin width is `D·PRR/nfft`, with `D` = [`MULTICHANNEL_DECIMATION`]
//!   (4) for multichannel and 1 for single-channel. The band is `frequencyRange` or
//!   `[0, PRR/2]`, its upper edge excluded: `frequencies_amount = ⌊(max − min)/width⌋` (at least
//!   1), and the bins start at `min` and divide the whole hertz below the edge,
//!   `[min, max − 1]`, evenly: `f_k = min + k·(max − 1 − min)/amount`. At PRR 2000 and 0–500 Hz:
//!   multichannel nfft 1024 → 64 bins 7.797 Hz apart, nfft 512 → 32 bins 15.59 Hz apart;
//!   single-channel nfft 1024 → 256 bins. The waterfall has no frequency axis.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::validation::{ConfigureRequest, ViewType};

/// The FFT size when the request gives none.
pub const DEFAULT_NFFT: i64 = 1024;
/// A multichannel job has at most this many streams.
pub const MAX_STREAMS: usize = 3;
/// Multichannel spectrograms decimate the PRR/nfft resolution by this factor.
pub const MULTICHANNEL_DECIMATION: f64 = 4.0;

/// The derived part of a configure response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Derived {
    /// Bin centres in Hz.
    pub frequencies_list: Vec<f64>,
    /// `frequencies_list.len()`.
    pub frequencies_amount: usize,
    /// Seconds between two lines of the stream.
    pub lines_dt: f64,
    /// Channel number (as a string key) → stream index.
    pub channel_to_stream_index: BTreeMap<String, usize>,
    /// Number of streams.
    pub stream_amount: usize,
    /// Number of channels.
    pub channel_amount: usize,
    /// The channel range `(first, last)` of each stream, by stream index.
    #[serde(skip)]
    pub stream_channels: Vec<(i64, i64)>,
}

/// Derives the figures of a rule-valid request.
pub fn derive(req: &ConfigureRequest, prr: f64) -> Derived {
    let channel_amount = usize::try_from(req.channel_max - req.channel_min + 1).unwrap_or(0);
    let streams = match req.view {
        ViewType::Multichannel => channel_amount.clamp(1, MAX_STREAMS),
        ViewType::SingleChannel | ViewType::Waterfall => 1,
    };
    let stream_channels = group_channels(req.channel_min, channel_amount, streams);
    let channel_to_stream_index = stream_channels
        .iter()
        .enumerate()
        .flat_map(|(i, &(lo, hi))| (lo..=hi).map(move |c| (c.to_string(), i)))
        .collect();
    let nfft = req.nfft.unwrap_or(DEFAULT_NFFT);
    let (frequencies_list, lines_dt) = match req.view {
        ViewType::Waterfall => (Vec::new(), 1.0 / prr),
        view => {
            let decimation = if view == ViewType::Multichannel {
                MULTICHANNEL_DECIMATION
            } else {
                1.0
            };
            let (fmin, fmax) = req.frequency.unwrap_or((0.0, prr / 2.0));
            let hop_dt = (nfft as f64 / 2.0) / prr;
            let lines_dt = req.duration.map_or(hop_dt, |d| d / req.height as f64);
            (
                frequency_bins(decimation * prr / nfft as f64, fmin, fmax),
                lines_dt,
            )
        }
    };
    Derived {
        frequencies_amount: frequencies_list.len(),
        frequencies_list,
        lines_dt,
        channel_to_stream_index,
        stream_amount: stream_channels.len(),
        channel_amount,
        stream_channels,
    }
}

/// Splits `count` channels from `first` into `streams` contiguous groups, the larger first.
pub fn group_channels(first: i64, count: usize, streams: usize) -> Vec<(i64, i64)> {
    let streams = streams.clamp(1, count.max(1));
    let (base, extra) = (count / streams, count % streams);
    let mut next = first;
    (0..streams)
        .map(|i| {
            let size = (base + usize::from(i < extra)).max(1) as i64;
            let range = (next, next + size - 1);
            next += size;
            range
        })
        .collect()
}

/// The bins of width `width` Hz over `[fmin, fmax)`: at least one, evenly over `[fmin, fmax − 1]`.
pub fn frequency_bins(width: f64, fmin: f64, fmax: f64) -> Vec<f64> {
    let span = fmax - fmin;
    let amount = if width > 0.0 && span.is_finite() {
        ((span / width + 1e-9).floor() as usize).max(1)
    } else {
        1
    };
    let step = (span - 1.0).max(0.0) / amount as f64;
    (0..amount).map(|k| fmin + k as f64 * step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::Form;

    fn request(view: ViewType, channels: (i64, i64), nfft: Option<i64>) -> ConfigureRequest {
        ConfigureRequest {
            form: Form::Modern,
            height: 1000,
            channel_min: channels.0,
            channel_max: channels.1,
            view,
            duration: Some(10.0),
            nfft,
            frequency: Some((0.0, 500.0)),
            start_time: None,
            end_time: None,
        }
    }

    fn index(pairs: &[(i64, usize)]) -> BTreeMap<String, usize> {
        pairs.iter().map(|&(c, s)| (c.to_string(), s)).collect()
    }

    /// The real server's recorded groupings.
    #[test]
    fn channels_group_into_at_most_three_contiguous_streams() {
        let eight = derive(&request(ViewType::Multichannel, (1, 8), None), 2000.0);
        assert_eq!(eight.stream_amount, 3);
        assert_eq!(
            eight.channel_to_stream_index,
            index(&[
                (1, 0),
                (2, 0),
                (3, 0),
                (4, 1),
                (5, 1),
                (6, 1),
                (7, 2),
                (8, 2)
            ])
        );
        assert_eq!(eight.stream_channels, vec![(1, 3), (4, 6), (7, 8)]);
        let table = [
            ((1, 50), 3, vec![(1, 17), (18, 34), (35, 50)]),
            ((1, 3), 3, vec![(1, 1), (2, 2), (3, 3)]),
            ((5, 6), 2, vec![(5, 5), (6, 6)]),
            ((9, 9), 1, vec![(9, 9)]),
            ((1, 2222), 3, vec![(1, 741), (742, 1482), (1483, 2222)]),
        ];
        for (channels, amount, ranges) in table {
            let d = derive(&request(ViewType::Multichannel, channels, None), 2000.0);
            assert_eq!(
                (d.stream_amount, &d.stream_channels),
                (amount, &ranges),
                "{channels:?}"
            );
            assert_eq!(d.channel_amount as i64, channels.1 - channels.0 + 1);
        }
        let single = derive(&request(ViewType::SingleChannel, (7, 7), None), 2000.0);
        assert_eq!(
            (single.stream_amount, single.channel_to_stream_index),
            (1, index(&[(7, 0)]))
        );
    }

    /// `displayTimeAxisDuration / height`, with the real server's recorded points.
    #[test]
    fn lines_dt_is_duration_over_height() {
        for (duration, height, want) in [
            (10.0, 1000, 0.01),
            (30.0, 768, 0.0390625),
            (600.0, 100, 6.0),
        ] {
            let mut r = request(ViewType::Multichannel, (1, 8), Some(1024));
            (r.duration, r.height) = (Some(duration), height);
            assert_eq!(derive(&r, 2000.0).lines_dt, want, "{duration}/{height}");
        }
        let mut no_duration = request(ViewType::Multichannel, (1, 8), Some(1024));
        no_duration.duration = None;
        assert_eq!(derive(&no_duration, 2000.0).lines_dt, 0.256);
    }

    /// The real server's recorded axes at PRR 2000, band 0–500 Hz.
    #[test]
    fn the_frequency_axis_matches_the_recorded_points() {
        let table = [
            (ViewType::Multichannel, (1, 8), 1024, 64, Some(7.797)),
            (ViewType::Multichannel, (1, 8), 512, 32, Some(15.59)),
            (ViewType::SingleChannel, (4, 4), 1024, 256, None),
        ];
        for (view, channels, nfft, amount, spacing) in table {
            let d = derive(&request(view, channels, Some(nfft)), 2000.0);
            assert_eq!(
                (d.frequencies_amount, d.frequencies_list.len()),
                (amount, amount)
            );
            assert_eq!(d.frequencies_list[0], 0.0);
            assert!(
                *d.frequencies_list.last().unwrap() < 500.0,
                "the upper edge is excluded"
            );
            if let Some(spacing) = spacing {
                let step = d.frequencies_list[1] - d.frequencies_list[0];
                assert!(
                    (step - spacing).abs() < 0.005,
                    "{view:?} {nfft}: step {step}"
                );
            }
        }
    }

    #[test]
    fn a_narrow_band_still_has_a_bin_and_the_waterfall_has_none() {
        let mut r = request(ViewType::Multichannel, (1, 2), Some(128));
        r.frequency = Some((20.0, 21.0));
        assert_eq!(derive(&r, 2000.0).frequencies_list, vec![20.0]);
        r.frequency = None;
        assert_eq!(derive(&r, 2000.0).frequencies_amount, 16);
        let mut water = request(ViewType::Waterfall, (1, 3), Some(1));
        (water.duration, water.frequency) = (None, None);
        let water = derive(&water, 2000.0);
        assert_eq!(
            (
                water.stream_amount,
                water.channel_amount,
                water.frequencies_amount,
                water.lines_dt
            ),
            (1, 3, 0, 0.0005)
        );
    }

    #[test]
    fn figures_do_not_depend_on_what_came_before() {
        let a = request(ViewType::Multichannel, (3, 40), Some(2048));
        let first = derive(&a, 2000.0);
        let _ = derive(&request(ViewType::SingleChannel, (1, 1), None), 2000.0);
        assert_eq!(derive(&a, 2000.0), first);
    }
}
