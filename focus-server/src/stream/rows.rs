//! How a job's rows (its [`RowClock`]) become `DataStream` messages: [`Frames`] turns a run of
//! rows into one message of one stream, synthetic spectrogram levels, one byte per (channel,
//! frequency bin), bounded in size.

use focus_stream_proto::DataStream;

use crate::jobs::RowClock;

/// The most rows one message carries (a slow reader skips the older rows beyond it).
pub const MAX_ROWS_PER_FRAME: usize = 256;
/// The most payload bytes one message carries (well under gRPC's usual 4 MiB limit).
pub const MAX_FRAME_BYTES: usize = 1 << 20;
/// The level byte 0 stands for, in dB.
pub const LEVEL_MIN_DB: f32 = -120.0;
/// The level byte 255 stands for, in dB.
pub const LEVEL_MAX_DB: f32 = 0.0;

/// The shape of one stream's rows: its channels and frequency bins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frames {
    /// The stream's first channel.
    pub start_channel: u32,
    /// The stream's last channel (inclusive).
    pub end_channel: u32,
    /// Frequency bins per channel; `None` for a view without a frequency axis (one level per
    /// channel).
    pub bins: Option<u32>,
    /// The job's number, when its id is one.
    pub job_id: Option<i32>,
}

impl Frames {
    /// Channels in a row.
    pub fn channels(&self) -> usize {
        (self.end_channel.saturating_sub(self.start_channel) as usize).saturating_add(1)
    }

    /// Bytes in a row.
    pub fn row_bytes(&self) -> usize {
        self.channels()
            .saturating_mul(self.bins.unwrap_or(1).max(1) as usize)
    }

    /// The most rows one message of this stream carries: at least one.
    pub fn max_rows(&self) -> u64 {
        (MAX_FRAME_BYTES / self.row_bytes().max(1)).clamp(1, MAX_ROWS_PER_FRAME) as u64
    }

    /// The message holding rows `rows` (at most [`Frames::max_rows`] of them).
    pub fn frame(&self, clock: &RowClock, rows: std::ops::Range<u64>) -> DataStream {
        let rows = rows.start.max(rows.end.saturating_sub(self.max_rows()))..rows.end;
        DataStream {
            start_channel: to_i32(u64::from(self.start_channel)),
            end_channel: to_i32(u64::from(self.end_channel)),
            timestamp_in_milis: rows.clone().map(|n| clock.row_timestamp_ms(n)).collect(),
            row_index: rows.clone().map(to_i32).collect(),
            data_shape_x: to_i32(rows.end - rows.start),
            data_shape_y: to_i32(self.channels() as u64),
            data_shape_z: self.bins.map(|b| to_i32(u64::from(b))),
            global_maximum: LEVEL_MAX_DB,
            global_minimum: LEVEL_MIN_DB,
            main_data: rows.map(|n| self.levels(n)).collect(),
            job_id: self.job_id,
        }
    }

    /// Row `n`'s levels, channel-major: a noise floor with a tone that drifts across the bins
    /// over time, different on each channel. A test pattern, not physics.
    fn levels(&self, n: u64) -> Vec<u8> {
        let bins = self.bins.unwrap_or(1).max(1) as u64;
        let mut out = Vec::with_capacity(self.row_bytes());
        for c in 0..self.channels() as u64 {
            let tone = (n / 8 + c * 5) % bins;
            for b in 0..bins {
                let noise = (n.wrapping_mul(31) ^ c.wrapping_mul(17) ^ b.wrapping_mul(7)) % 48;
                out.push(if b == tone { 220 } else { 40 + noise as u8 });
            }
        }
        out
    }
}

fn to_i32(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_frame_has_the_stream_shape_and_bounded_size() {
        let c = RowClock::start_at(Instant::now(), 10.0, 0.5, None);
        let f = Frames {
            start_channel: 4,
            end_channel: 6,
            bins: Some(64),
            job_id: Some(7),
        };
        let m = f.frame(&c, 2..4);
        assert_eq!((m.start_channel, m.end_channel), (4, 6));
        assert_eq!(
            (m.data_shape_x, m.data_shape_y, m.data_shape_z),
            (2, 3, Some(64))
        );
        assert_eq!(m.row_index, [2, 3]);
        assert_eq!(m.timestamp_in_milis, [11_000, 11_500]);
        assert!(m.main_data.iter().all(|row| row.len() == 3 * 64));
        let wide = Frames {
            start_channel: 1,
            end_channel: 2222,
            bins: Some(257),
            job_id: None,
        };
        let m = wide.frame(&c, 0..10_000);
        assert_eq!(m.data_shape_x, 1);
        assert_eq!(m.row_index, [9_999]);
        let many = f.frame(&c, 0..100_000);
        assert_eq!(many.row_index.len(), MAX_ROWS_PER_FRAME);
        assert_eq!(many.row_index.last(), Some(&99_999));
    }
}
