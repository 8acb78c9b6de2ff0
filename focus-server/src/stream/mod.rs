//! The jobs' gRPC data streams (`pandadatastream.DataStreamService`, see
//! `focus-stream-proto`).
//!
//! Each job serves its own gRPC server on its announced `stream_port` (one port per job, from
//! `stream_base_port` up, at most `--max-jobs` of them): the port is bound when the job starts
//! and closed when it stops, so nothing listens on a port `/configure` did not announce.
//! `StreamData(stream_id)` sends the rows of that stream of the grouping
//! (`channel_to_stream_index`) as the job's row clock ([`crate::jobs::RowClock`]) produces them,
//! one per `lines_dt`: synthetic spectrogram levels ([`rows`]). Live jobs stream until stopped —
//! the streams never touch MongoDB, so an outage does not pause them; historic jobs stream their
//! window's rows in real time, then end.

pub mod rows;
pub mod server;
pub mod service;

pub use rows::Frames;
pub use server::BoundPort;
pub use service::JobStreams;

use crate::derive::Derived;

/// The shape of each stream of the job's grouping (`stream_channels`), with the job's
/// frequency bins (none for a view without a frequency axis).
pub fn stream_shapes(derived: &Derived, job_id: Option<i32>) -> Vec<Frames> {
    let bins = u32::try_from(derived.frequencies_amount)
        .ok()
        .filter(|&b| b > 0);
    let channel = |c: i64| u32::try_from(c.max(0)).unwrap_or(u32::MAX);
    derived
        .stream_channels
        .iter()
        .map(|&(first, last)| Frames {
            start_channel: channel(first),
            end_channel: channel(last.max(first)),
            bins,
            job_id,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::derive;
    use crate::validation::{ConfigureRequest, Form, ViewType};

    fn request(view: ViewType, channels: (i64, i64)) -> ConfigureRequest {
        ConfigureRequest {
            form: Form::Modern,
            height: 1000,
            channel_min: channels.0,
            channel_max: channels.1,
            view,
            duration: Some(10.0),
            nfft: Some(1024),
            frequency: Some((0.0, 500.0)),
            start_time: None,
            end_time: None,
        }
    }

    #[test]
    fn each_stream_has_its_group_of_channels_and_the_bins() {
        let d = derive(&request(ViewType::Multichannel, (1, 8)), 2000.0);
        let shapes = stream_shapes(&d, Some(3));
        let ranges: Vec<(u32, u32)> = shapes
            .iter()
            .map(|f| (f.start_channel, f.end_channel))
            .collect();
        assert_eq!(ranges, [(1, 3), (4, 6), (7, 8)]);
        assert!(
            shapes
                .iter()
                .all(|f| f.bins == Some(64) && f.job_id == Some(3))
        );
        let mut waterfall = request(ViewType::Waterfall, (5, 6));
        waterfall.nfft = Some(1);
        waterfall.frequency = None;
        let shapes = stream_shapes(&derive(&waterfall, 2000.0), None);
        assert_eq!(shapes.len(), 1);
        assert_eq!(
            (
                shapes[0].start_channel,
                shapes[0].end_channel,
                shapes[0].bins
            ),
            (5, 6, None)
        );
    }
}
