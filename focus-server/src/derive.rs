//! The figures a configure response derives from the request and the interrogator. They are
//! pure functions of (request, PRR): the same request always gets the same figures, whatever
//! came before it.
//!
//! With `PRR` the pulse repetition rate (Hz) and `nfft` the FFT size (1024 when not given):
//! - frequency resolution `df = PRR / nfft` (Hz per bin);
//! - the band is `frequencyRange` or `[0, PRR/2]`; `frequencies_list` holds the bin centres
//!   `k·df` of the bins that cover it, `k` from `floor(min/df)` to `min(ceil(max/df), nfft/2)`,
//!   so a valid band (at least 1 Hz wide) always has at least two bins;
//! - spectrogram lines use a Hann window with 50 % overlap, so one line per `hop = nfft/2`
//!   samples: `fft_dt = hop / PRR`; a display of `height` lines over `displayTimeAxisDuration`
//!   seconds needs one line per `duration / height` seconds, so
//!   `lines_dt = max(fft_dt, duration / height)` (lines are averaged down to the display);
//! - views: multichannel streams each channel on its own stream (`channel → channel - min`);
//!   single-channel has one stream; the waterfall sends raw samples (`nfft` 1, no frequency
//!   axis, `lines_dt = 1/PRR`) of all channels as one image, on one stream.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::validation::{ConfigureRequest, ViewType};

/// The FFT size when the request gives none.
pub const DEFAULT_NFFT: i64 = 1024;

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
}

/// Derives the figures of a rule-valid request.
pub fn derive(req: &ConfigureRequest, prr: f64) -> Derived {
    let channels = req.channel_min..=req.channel_max;
    let channel_amount = channels.clone().count();
    let (channel_to_stream_index, stream_amount): (BTreeMap<String, usize>, usize) = match req.view
    {
        ViewType::Multichannel => (
            channels
                .clone()
                .enumerate()
                .map(|(i, c)| (c.to_string(), i))
                .collect(),
            channel_amount,
        ),
        ViewType::SingleChannel | ViewType::Waterfall => {
            (channels.map(|c| (c.to_string(), 0)).collect(), 1)
        }
    };
    let (frequencies_list, lines_dt) = match req.view {
        ViewType::Waterfall => (Vec::new(), 1.0 / prr),
        _ => {
            let nfft = req.nfft.unwrap_or(DEFAULT_NFFT);
            let (fmin, fmax) = req.frequency.unwrap_or((0.0, prr / 2.0));
            let fft_dt = (nfft as f64 / 2.0) / prr;
            let display_dt = req.duration.map(|d| d / req.height as f64).unwrap_or(0.0);
            (
                frequency_bins(prr, nfft, fmin, fmax),
                fft_dt.max(display_dt),
            )
        }
    };
    Derived {
        frequencies_amount: frequencies_list.len(),
        frequencies_list,
        lines_dt,
        channel_to_stream_index,
        stream_amount,
        channel_amount,
    }
}

/// The centres `k·PRR/nfft` of the bins covering `[fmin, fmax]`.
pub fn frequency_bins(prr: f64, nfft: i64, fmin: f64, fmax: f64) -> Vec<f64> {
    let df = prr / nfft as f64;
    let last_bin = nfft / 2;
    let lo = ((fmin / df).floor().max(0.0) as i64).min(last_bin);
    let hi = ((fmax / df).ceil() as i64).clamp(lo, last_bin);
    (lo..=hi).map(|k| k as f64 * df).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::Form;

    fn request(view: ViewType, nfft: Option<i64>, band: Option<(f64, f64)>) -> ConfigureRequest {
        ConfigureRequest {
            form: Form::Modern,
            height: 1000,
            channel_min: 5,
            channel_max: 7,
            view,
            duration: Some(10.0),
            nfft,
            frequency: band,
            start_time: None,
            end_time: None,
        }
    }

    #[test]
    fn resolution_is_prr_over_nfft() {
        let d = derive(
            &request(ViewType::Multichannel, Some(1024), Some((0.0, 500.0))),
            2000.0,
        );
        let df = 2000.0 / 1024.0;
        assert_eq!(d.frequencies_list[1] - d.frequencies_list[0], df);
        assert_eq!(d.frequencies_list.first(), Some(&0.0));
        assert_eq!(d.frequencies_list.last(), Some(&(256.0 * df)));
        assert_eq!(d.frequencies_amount, 257);
        // fft_dt = 512/2000 = 0.256 s; display_dt = 10/1000 = 0.01 s.
        assert_eq!(d.lines_dt, 0.256);
    }

    #[test]
    fn the_display_can_slow_the_lines_down() {
        let mut r = request(ViewType::Multichannel, Some(128), None);
        r.duration = Some(600.0);
        r.height = 100;
        assert_eq!(derive(&r, 2000.0).lines_dt, 6.0);
    }

    #[test]
    fn a_narrow_band_still_has_bins_and_never_passes_nyquist() {
        let d = derive(
            &request(ViewType::Multichannel, Some(128), Some((20.0, 21.0))),
            2000.0,
        );
        assert_eq!(d.frequencies_list, vec![15.625, 31.25]);
        let full = derive(
            &request(ViewType::Multichannel, Some(128), Some((0.0, 1000.0))),
            2000.0,
        );
        assert_eq!(full.frequencies_amount, 65);
        assert_eq!(full.frequencies_list.last(), Some(&1000.0));
    }

    #[test]
    fn views_map_channels_to_streams() {
        let multi = derive(&request(ViewType::Multichannel, None, None), 2000.0);
        assert_eq!(multi.channel_to_stream_index.get("5"), Some(&0));
        assert_eq!(multi.channel_to_stream_index.get("7"), Some(&2));
        assert_eq!((multi.stream_amount, multi.channel_amount), (3, 3));
        let mut single = request(ViewType::SingleChannel, None, None);
        single.channel_max = 5;
        let single = derive(&single, 2000.0);
        assert_eq!((single.stream_amount, single.channel_amount), (1, 1));
        let mut water = request(ViewType::Waterfall, Some(1), None);
        water.duration = None;
        let water = derive(&water, 2000.0);
        assert_eq!(
            (
                water.stream_amount,
                water.channel_amount,
                water.frequencies_amount
            ),
            (1, 3, 0)
        );
        assert_eq!(water.lines_dt, 0.0005);
    }

    #[test]
    fn figures_do_not_depend_on_what_came_before() {
        let a = request(ViewType::Multichannel, Some(2048), Some((10.0, 300.0)));
        let b = request(ViewType::Waterfall, Some(1), None);
        let first = derive(&a, 2000.0);
        let _ = derive(&b, 2000.0);
        assert_eq!(derive(&a, 2000.0), first);
    }
}
