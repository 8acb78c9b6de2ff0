//! Watching one data stream for a while, as a client: what the runner's `watch-stream` host
//! function and the Focus Server's tests measure.

use std::time::Duration;

use tokio::time::Instant;
use tonic::transport::Endpoint;

use crate::{DataStream, DataStreamServiceClient, StreamDataRequest};

/// What a watch of one stream saw. Nothing is kept per message, so a watch of any length uses
/// constant memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamReport {
    /// Messages received.
    pub frames: u64,
    /// Rows received, over all messages (the length of their `row_index`).
    pub rows: u64,
    /// From the start of the watch to the first message; `None` when none came.
    pub first_frame: Option<Duration>,
    /// The longest time between two messages, or from the start to the first, or from the
    /// last to the end of the watch when the stream stayed open.
    pub max_gap: Duration,
    /// Whether the server ended the stream before the watch was over.
    pub ended: bool,
    /// How the stream ended when it ended with an error (its gRPC status), else `None`.
    pub error: Option<String>,
    /// How long the watch lasted.
    pub elapsed: Duration,
}

/// Why a watch could not begin.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The address is not a valid `http://host:port`.
    #[error("the stream address {endpoint:?} is not valid: {reason}")]
    Address {
        /// The address given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No connection could be made within the watch's time.
    #[error(
        "cannot connect to the data stream at {endpoint}: {reason}; is the job running, and is its stream_port reachable?"
    )]
    Connect {
        /// The address.
        endpoint: String,
        /// The transport error.
        reason: String,
    },
}

/// Watches stream `stream_id` at `endpoint` (`http://host:port`) for `duration`, or until the
/// server ends it.
pub async fn watch(
    endpoint: &str,
    stream_id: i32,
    duration: Duration,
) -> Result<StreamReport, WatchError> {
    watch_with(endpoint, stream_id, duration, |_| {}).await
}

/// [`watch`], handing each message to `on_frame` as it arrives.
pub async fn watch_with(
    endpoint: &str,
    stream_id: i32,
    duration: Duration,
    mut on_frame: impl FnMut(&DataStream),
) -> Result<StreamReport, WatchError> {
    let started = Instant::now();
    let deadline = started
        .checked_add(duration)
        .unwrap_or(started + Duration::from_secs(1 << 32));
    let address = |reason: String| WatchError::Address {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let channel = Endpoint::from_shared(endpoint.to_owned())
        .map_err(|e| address(e.to_string()))?
        .connect_timeout(duration.min(Duration::from_secs(10)));
    let connect = |reason: String| WatchError::Connect {
        endpoint: endpoint.to_owned(),
        reason,
    };
    let channel = tokio::time::timeout_at(deadline, channel.connect())
        .await
        .map_err(|_| connect("timed out".into()))?
        .map_err(|e| connect(source_chain(&e)))?;
    let mut report = StreamReport::default();
    let mut last = started;
    let mut client = DataStreamServiceClient::new(channel);
    let request = client.stream_data(StreamDataRequest { stream_id });
    let mut stream = match tokio::time::timeout_at(deadline, request).await {
        Err(_) => return Ok(report.close(started, last, Instant::now())),
        Ok(Err(status)) => {
            report.ended = true;
            report.error = Some(describe(&status));
            return Ok(report.close(started, last, Instant::now()));
        }
        Ok(Ok(response)) => response.into_inner(),
    };
    loop {
        match tokio::time::timeout_at(deadline, stream.message()).await {
            Err(_) => break,
            Ok(Ok(Some(frame))) => {
                let now = Instant::now();
                report.frames += 1;
                report.rows += frame.row_index.len() as u64;
                report.first_frame.get_or_insert(now - started);
                report.max_gap = report.max_gap.max(now - last);
                last = now;
                on_frame(&frame);
            }
            Ok(Ok(None)) => {
                report.ended = true;
                break;
            }
            Ok(Err(status)) => {
                report.ended = true;
                report.error = Some(describe(&status));
                break;
            }
        }
    }
    Ok(report.close(started, last, Instant::now()))
}

impl StreamReport {
    /// Completes the figures at `end`: the gap since the last message counts while the stream
    /// stayed open.
    fn close(mut self, started: Instant, last: Instant, end: Instant) -> Self {
        if !self.ended {
            self.max_gap = self.max_gap.max(end - last);
        }
        self.elapsed = end - started;
        self
    }
}

fn describe(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nothing_listening_is_a_connect_error_within_the_watch() {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let began = std::time::Instant::now();
        let err = watch(
            &format!("http://127.0.0.1:{port}"),
            0,
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, WatchError::Connect { .. }), "{err}");
        assert!(err.to_string().contains("stream_port"), "{err}");
        assert!(began.elapsed() < Duration::from_secs(3));
        let bad = watch("not a url", 0, Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(matches!(bad, WatchError::Address { .. }), "{bad}");
    }
}
