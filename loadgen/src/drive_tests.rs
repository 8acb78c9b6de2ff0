//! Loads against a real HTTP server on 127.0.0.1 (axum) and against raw sockets that refuse
//! or reset.

use std::net::SocketAddr;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use reqwest::{Method, Url};

use super::*;
use crate::spec::client;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `GET /slow/{ms}` answers 200 after `ms`; `GET /status/{code}` answers `code`.
async fn server() -> SocketAddr {
    let app = axum::Router::new()
        .route(
            "/slow/{ms}",
            get(|Path(n): Path<u64>| async move {
                tokio::time::sleep(ms(n)).await;
                "ok"
            }),
        )
        .route(
            "/status/{code}",
            get(|Path(code): Path<u16>| async move { StatusCode::from_u16(code).unwrap() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn spec(addr: SocketAddr, path: &str, pace: Pace, extent: Extent) -> LoadSpec {
    let url = Url::parse(&format!("http://{addr}{path}")).unwrap();
    LoadSpec {
        request: RequestTemplate::new(Method::GET, url),
        pace,
        extent,
    }
}

fn start(spec: LoadSpec, limits: &Limits) -> Load {
    Load::start(&client(64).unwrap(), spec, limits).unwrap()
}

#[tokio::test]
async fn the_open_model_keeps_its_rate_whatever_the_latency() {
    let addr = server().await;
    let load = start(
        spec(
            addr,
            "/slow/300",
            Pace::Rate(50),
            Extent::Duration(ms(1000)),
        ),
        &Limits::default(),
    );
    let report = load.finish().await;
    assert!((48..=51).contains(&report.sent), "{report:?}");
    assert_eq!(report.statuses.get(&200), Some(&report.sent), "{report:?}");
    assert!(report.latency.p50 >= ms(300), "{:?}", report.latency);
    assert!(
        report.elapsed >= ms(1250) && report.elapsed < ms(3000),
        "{:?}",
        report.elapsed
    );
    assert!(!report.stopped);
    assert_eq!(report.buckets.len(), 2, "{:?}", report.buckets);
}

#[tokio::test]
async fn the_closed_model_waits_for_each_answer() {
    let addr = server().await;
    let load = start(
        spec(addr, "/slow/100", Pace::Concurrency(2), Extent::Count(10)),
        &Limits::default(),
    );
    let report = load.finish().await;
    assert_eq!(report.sent, 10);
    assert_eq!(report.ended(), 10);
    // Five rounds of two requests of 100 ms.
    assert!(
        report.elapsed >= ms(500) && report.elapsed < ms(2500),
        "{:?}",
        report.elapsed
    );
}

#[tokio::test]
async fn in_flight_requests_are_bounded_and_the_excess_is_dropped() {
    let addr = server().await;
    let limits = Limits {
        max_in_flight: 5,
        ..Limits::default()
    };
    let load = start(
        spec(addr, "/slow/2000", Pace::Rate(100), Extent::Count(50)),
        &limits,
    );
    let report = load.finish().await;
    assert_eq!(report.sent + report.dropped, 50, "{report:?}");
    assert!(report.sent >= 5 && report.sent <= 15, "{report:?}");
}

#[tokio::test]
async fn stop_ends_a_load_at_once_and_the_deadline_ends_it_too() {
    let addr = server().await;
    let load = start(
        spec(
            addr,
            "/slow/1",
            Pace::Rate(20),
            Extent::Duration(ms(60_000)),
        ),
        &Limits::default(),
    );
    let stopping = Instant::now();
    let report = load.stop_and_finish().await;
    assert!(stopping.elapsed() < ms(500));
    assert!(report.stopped && report.sent <= 2, "{report:?}");

    let http = client(64).unwrap();
    let set = Instant::now();
    let limits = Limits {
        deadline: Some(set + ms(400)),
        ..Limits::default()
    };
    let slow = spec(
        addr,
        "/slow/10000",
        Pace::Rate(20),
        Extent::Duration(ms(60_000)),
    );
    let load = Load::start(&http, slow, &limits).unwrap();
    let report = load.finish().await;
    assert!(report.stopped, "{report:?}");
    // Timed from when the deadline was set, not from the load's own start (which comes a
    // little later on a busy machine): the load ends at the deadline, not before, and soon.
    let ended = set.elapsed();
    assert!(ended >= ms(400) && ended < ms(1500), "{ended:?}");
    assert!(report.elapsed <= ended, "{report:?}");
    assert_eq!(report.abandoned, report.sent, "{report:?}");
}

#[tokio::test]
async fn transport_errors_are_counted_by_kind_and_5xx_as_bucket_errors() {
    let addr = server().await;
    let mut timeout = spec(addr, "/slow/2000", Pace::Concurrency(1), Extent::Count(2));
    timeout.request.timeout = ms(100);
    let report = start(timeout, &Limits::default()).finish().await;
    assert_eq!(
        report.errors.get(&TransportError::Timeout),
        Some(&2),
        "{report:?}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused_at = closed.local_addr().unwrap();
    drop(closed);
    let refused = spec(refused_at, "/", Pace::Concurrency(1), Extent::Count(3));
    let report = start(refused, &Limits::default()).finish().await;
    assert_eq!(
        report.errors.get(&TransportError::Refused),
        Some(&3),
        "{report:?}"
    );

    let resetter = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let reset_at = resetter.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = resetter.accept().await {
            let _ = stream.set_zero_linger();
        }
    });
    let reset = spec(reset_at, "/", Pace::Concurrency(1), Extent::Count(3));
    let report = start(reset, &Limits::default()).finish().await;
    assert_eq!(
        report.errors.get(&TransportError::Reset),
        Some(&3),
        "{report:?}"
    );

    let failing = spec(addr, "/status/503", Pace::Concurrency(1), Extent::Count(4));
    let report = start(failing, &Limits::default()).finish().await;
    assert_eq!(report.statuses.get(&503), Some(&4));
    assert_eq!(report.buckets.iter().map(|b| b.errors).sum::<u64>(), 4);
}
