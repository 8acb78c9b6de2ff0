//! The jobs' gRPC data streams, through a real gRPC client against the server process: a live
//! stream (shape, cadence, grouping), a historic stream that plays its window and ends, a stop
//! that ends the stream and closes the port, and a live stream that keeps its cadence through
//! a MongoDB outage (the server killed).

use crate::support;

use std::time::{Duration, Instant};

use focus_stream_proto::{DataStream, StreamReport, watch_with};
use serde_json::{Value, json};
use support::{FocusServer, live_body};
use testkit::{MongoServer, wait_until};

/// What a watch of one stream saw: the report, and every message.
#[derive(Debug)]
struct Watched {
    report: StreamReport,
    frames: Vec<DataStream>,
    started: Instant,
}

impl Watched {
    fn rows(&self) -> Vec<i32> {
        self.frames
            .iter()
            .flat_map(|f| f.row_index.iter().copied())
            .collect()
    }
}

/// Watches stream `stream_id` on `port` for `duration` or until it ends.
fn watch(port: u64, stream_id: i32, duration: Duration) -> Watched {
    watch_telling(port, stream_id, duration, None)
}

/// [`watch`], sending on `first` when the first message arrives.
fn watch_telling(
    port: u64,
    stream_id: i32,
    duration: Duration,
    first: Option<std::sync::mpsc::Sender<()>>,
) -> Watched {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut frames = Vec::new();
    let started = Instant::now();
    let endpoint = format!("http://127.0.0.1:{port}");
    let report = rt
        .block_on(watch_with(&endpoint, stream_id, duration, |frame| {
            frames.push(frame.clone());
            if let Some(tx) = &first {
                let _ = tx.send(());
            }
        }))
        .unwrap_or_else(|e| panic!("{e}"));
    Watched {
        report,
        frames,
        started,
    }
}

fn configure(server: &FocusServer, body: &str) -> Value {
    let r = server.post("/configure", body);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn port_of(job: &Value) -> u64 {
    job["stream_port"].as_u64().expect("stream_port")
}

fn lines_dt(job: &Value) -> Duration {
    Duration::from_secs_f64(job["lines_dt"].as_f64().expect("lines_dt"))
}

/// The first and last channel of stream `index`, from `channel_to_stream_index`.
fn group(job: &Value, index: u64) -> (i32, i32) {
    let channels: Vec<i32> = job["channel_to_stream_index"]
        .as_object()
        .expect("channel_to_stream_index")
        .iter()
        .filter(|(_, i)| i.as_u64() == Some(index))
        .map(|(c, _)| c.parse().expect("a channel number"))
        .collect();
    (
        *channels.iter().min().expect("a channel"),
        *channels.iter().max().expect("a channel"),
    )
}

fn stop(server: &FocusServer, job: &Value) {
    let r = server
        .request(
            "DELETE",
            &format!("/job/{}", job["job_id"].as_str().unwrap()),
            None,
        )
        .expect("DELETE /job");
    assert_eq!(r.status, 200, "{}", r.body);
}

fn port_closes(port: u64) {
    wait_until(
        &format!("the stream port {port} to close"),
        Duration::from_secs(5),
        || std::net::TcpStream::connect(("127.0.0.1", port as u16)).is_err(),
    );
}

#[test]
fn a_live_stream_sends_its_group_of_channels_at_lines_dt() {
    let stack = support::shared_stack();
    let job = configure(&stack.server, &live_body());
    let (port, dt) = (port_of(&job), lines_dt(&job));
    let last = job["stream_amount"].as_u64().unwrap() - 1;
    let bins = job["frequencies_amount"].as_i64().unwrap() as i32;
    for index in [0, last] {
        let (first, last_channel) = group(&job, index);
        let seen = watch(port, index as i32, Duration::from_millis(1500));
        assert!(!seen.report.ended, "a live stream ended: {:?}", seen.report);
        assert!(
            seen.frames.len() >= 2,
            "{} frames in 1.5 s",
            seen.frames.len()
        );
        assert_eq!(seen.report.frames as usize, seen.frames.len());
        assert_eq!(seen.report.rows as usize, seen.rows().len());
        for f in &seen.frames {
            assert_eq!((f.start_channel, f.end_channel), (first, last_channel));
            assert_eq!(f.data_shape_y, last_channel - first + 1);
            assert_eq!(f.data_shape_z, Some(bins));
            assert_eq!(f.data_shape_x as usize, f.row_index.len());
            assert_eq!(f.timestamp_in_milis.len(), f.row_index.len());
            assert!((f.global_minimum, f.global_maximum) == (-120.0, 0.0));
            for row in &f.main_data {
                assert_eq!(row.len(), (f.data_shape_y * bins) as usize);
            }
        }
        let rows = seen.rows();
        assert!(
            rows.windows(2).all(|w| w[1] == w[0] + 1),
            "rows not consecutive: {rows:?}"
        );
        let expected = 1.5 / dt.as_secs_f64();
        let got = rows.len() as f64;
        assert!(
            got >= expected * 0.7 - 1.0 && got <= expected + 2.0,
            "{got} rows in 1.5 s at lines_dt {dt:?} (expected about {expected:.0})"
        );
    }
    let bad = watch(port, last as i32 + 1, Duration::from_secs(2));
    assert!(bad.report.ended);
    let error = bad.report.error.unwrap_or_default();
    assert!(error.starts_with("InvalidArgument"), "{error}");
    stop(&stack.server, &job);
}

#[test]
fn a_historic_stream_plays_its_window_then_ends() {
    let stack = support::shared_stack();
    let (start, end) = (1_735_689_600, 1_735_689_602); // 2 s of 2025-01-01, seeded
    let body = json!({"displayInfo": {"height": 1000}, "channels": {"min": 2, "max": 2},
        "view_type": "1", "nfftSelection": 1024, "frequencyRange": {"min": 0, "max": 500},
        "displayTimeAxisDuration": 10, "start_time": start, "end_time": end});
    let job = configure(&stack.server, &body.to_string());
    let dt = lines_dt(&job);
    let total = (2.0 / dt.as_secs_f64()).ceil() as i32;
    let seen = watch(port_of(&job), 0, Duration::from_secs(30));
    assert!(
        seen.report.ended && seen.report.error.is_none(),
        "{:?}",
        seen.report
    );
    let took = seen.report.elapsed;
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(10),
        "a 2 s window played in {took:?}"
    );
    assert_eq!(seen.rows(), (0..total).collect::<Vec<_>>());
    let first = &seen.frames[0];
    assert_eq!(first.timestamp_in_milis[0], start * 1000);
    assert_eq!(first.data_shape_y, 1, "single-channel: one channel");
}

#[test]
fn a_stop_ends_the_stream_and_closes_its_port() {
    let stack = support::shared_stack();
    let job = configure(&stack.server, &live_body());
    let port = port_of(&job);
    let (tx, rx) = std::sync::mpsc::channel();
    let watcher =
        std::thread::spawn(move || watch_telling(port, 0, Duration::from_secs(20), Some(tx)));
    rx.recv_timeout(Duration::from_secs(10))
        .expect("a first message within 10 s");
    let stopped = Instant::now();
    stop(&stack.server, &job);
    let seen = watcher.join().expect("the watcher");
    assert!(
        seen.report.ended && seen.report.error.is_none(),
        "{:?}",
        seen.report
    );
    let ended = seen.started + seen.report.elapsed;
    assert!(!seen.frames.is_empty());
    assert!(
        ended.saturating_duration_since(stopped) < Duration::from_secs(2),
        "the stream ended {:?} after the stop",
        ended.saturating_duration_since(stopped)
    );
    port_closes(port);
}

#[test]
fn a_live_stream_keeps_its_cadence_through_a_mongodb_outage() {
    let mut mongo = MongoServer::start();
    let server = FocusServer::start(&mongo.uri(), &[]);
    server.wait_db("up", Duration::from_secs(30));
    let job = configure(&server, &live_body());
    let (port, dt) = (port_of(&job), lines_dt(&job));
    let watch_for = Duration::from_secs(8);
    let watcher = std::thread::spawn(move || watch(port, 0, watch_for));
    let began = Instant::now();
    std::thread::sleep(Duration::from_secs(1)); // frames before the outage
    mongo.stop();
    server.wait_db("down", Duration::from_secs(10));
    let down_at = began.elapsed();
    std::thread::sleep(Duration::from_secs(3)); // the outage, as seen by the server
    mongo.resume_after_stop();
    let seen = watcher.join().expect("the watcher");
    assert!(!seen.report.ended, "the stream ended: {:?}", seen.report);
    let gap = seen.report.max_gap;
    let limit = dt * 3 + Duration::from_millis(100);
    eprintln!(
        "through the outage: {} messages, {} rows, max gap {gap:?} (limit {limit:?})",
        seen.frames.len(),
        seen.rows().len()
    );
    assert!(
        gap <= limit,
        "max gap {gap:?} over {limit:?} (lines_dt {dt:?}; the gate closed at {down_at:?})"
    );
    assert!(down_at < watch_for, "the outage fell inside the watch");
    server.wait_db("up", Duration::from_secs(30));
    stop(&server, &job);
}
