//! `pandadatastream.DataStreamService` for one job: `StreamData(stream_id)` sends the rows of
//! that stream as the job's clock produces them.
//!
//! Nothing is buffered: a message is built only when the transport asks for the next one, and
//! holds the rows produced since the previous one (at most [`super::rows::MAX_ROWS_PER_FRAME`],
//! the newest). A slow reader therefore gets fewer, fuller messages and skips old rows; it
//! cannot make the server hold more. The stream ends when the job stops or is replaced, or
//! after the last row of a historic job.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use focus_stream_proto::{DataStream, DataStreamService, StreamDataRequest};
use futures::Stream;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

use super::rows::Frames;
use crate::jobs::{JobView, RowClock};

/// The shortest time between two messages of a stream (a waterfall makes a row every 0.5 ms;
/// it gets them in batches).
pub const MIN_FRAME_INTERVAL: Duration = Duration::from_millis(10);

/// A stream of messages as tonic sends it.
pub type FrameStream = Pin<Box<dyn Stream<Item = Result<DataStream, Status>> + Send>>;

/// One job's streams.
#[derive(Debug, Clone)]
pub struct JobStreams {
    clock: RowClock,
    streams: Arc<[Frames]>,
    stop: watch::Receiver<bool>,
}

impl JobStreams {
    /// The streams `streams` (indexed by `stream_id`) of a job whose rows `clock` gives; they
    /// end when `stop` turns true or its sender goes away.
    pub fn new(clock: RowClock, streams: Vec<Frames>, stop: watch::Receiver<bool>) -> Self {
        Self {
            clock,
            streams: streams.into(),
            stop,
        }
    }

    /// The streams of `job`: its grouping, clock and stop signal.
    pub fn of_job(job: &JobView) -> Self {
        let streams = super::stream_shapes(&job.figures, job.job_id.parse().ok());
        Self::new(job.clock, streams, job.stopped.clone())
    }

    /// The messages of stream `stream_id`, from the row produced now on.
    pub fn open(&self, stream_id: i32) -> Result<FrameStream, Status> {
        let shape = usize::try_from(stream_id)
            .ok()
            .and_then(|i| self.streams.get(i).copied())
            .ok_or_else(|| {
                Status::invalid_argument(format!(
                    "stream_id {stream_id} does not exist: this job has streams 0 to {} (its channel_to_stream_index)",
                    self.streams.len().saturating_sub(1)
                ))
            })?;
        // The newest row when there is one, else the first to come.
        let next = self.clock.rows_now().saturating_sub(1);
        let state = Cursor {
            clock: self.clock,
            shape,
            stop: self.stop.clone(),
            next,
            last_sent: None,
        };
        Ok(Box::pin(futures::stream::unfold(state, Cursor::advance)))
    }
}

/// Where one open stream is.
struct Cursor {
    clock: RowClock,
    shape: Frames,
    stop: watch::Receiver<bool>,
    next: u64,
    last_sent: Option<Instant>,
}

impl Cursor {
    /// Waits for the next row (or the stop) and returns the message of the rows produced since
    /// the last one; `None` ends the stream.
    async fn advance(mut self) -> Option<(Result<DataStream, Status>, Self)> {
        // `None`: past a historic job's last row (or beyond any clock).
        let mut due = self.clock.row_due(self.next)?;
        if let Some(last) = self.last_sent {
            due = due.max(last + MIN_FRAME_INTERVAL);
        }
        tokio::select! {
            biased;
            _ = self.stop.wait_for(|stopped| *stopped) => return None,
            _ = tokio::time::sleep_until(due.into()) => {}
        }
        let now = Instant::now();
        let produced = self.clock.rows_at(now).max(self.next + 1);
        let frame = self.shape.frame(&self.clock, self.next..produced);
        self.next = produced;
        self.last_sent = Some(now);
        Some((Ok(frame), self))
    }
}

#[tonic::async_trait]
impl DataStreamService for JobStreams {
    type StreamDataStream = FrameStream;

    async fn stream_data(
        &self,
        request: Request<StreamDataRequest>,
    ) -> Result<Response<Self::StreamDataStream>, Status> {
        let stream_id = request.into_inner().stream_id;
        tracing::debug!(stream_id, "data stream opened");
        self.open(stream_id).map(Response::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    /// Rows every 20 ms; `rows` of them (a historic window) or endless.
    fn streams(rows: Option<u64>) -> (JobStreams, watch::Sender<bool>) {
        let (tx, rx) = watch::channel(false);
        let window = rows.map(|n| (0.0, n as f64 * 0.02));
        let clock = RowClock::start_at(Instant::now(), 0.0, 0.02, window);
        let shape = Frames {
            start_channel: 1,
            end_channel: 2,
            bins: Some(4),
            job_id: None,
        };
        (JobStreams::new(clock, vec![shape], rx), tx)
    }

    #[tokio::test]
    async fn rows_come_in_order_and_a_finite_job_ends() {
        let (s, _tx) = streams(Some(5));
        let frames: Vec<DataStream> = s.open(0).unwrap().map(|f| f.unwrap()).collect().await;
        let rows: Vec<i32> = frames.iter().flat_map(|f| f.row_index.clone()).collect();
        assert_eq!(rows, [0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_stop_ends_the_stream_and_a_bad_id_is_refused() {
        let (s, tx) = streams(None);
        let mut open = s.open(0).unwrap();
        assert!(open.next().await.is_some());
        tx.send(true).unwrap();
        assert!(open.next().await.is_none());
        let err = s.open(1).err().unwrap();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(
            err.message().contains("streams 0 to 0"),
            "{}",
            err.message()
        );
        assert!(s.open(-1).is_err());
    }
}
