//! Every fault kind against real sockets on 127.0.0.1: an echo server behind the proxy.
//! Timings are asserted with generous bounds; nothing sleeps to synchronise.

use std::io::ErrorKind;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::fault::{Direction, FaultKind};

const PATIENCE: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(300);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An echo server; it first writes `greeting` to each connection, and closes after it when
/// `close_after_greeting`.
async fn server(greeting: &'static [u8], close_after_greeting: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                if stream.write_all(greeting).await.is_err() || close_after_greeting {
                    return;
                }
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

async fn echo_proxy() -> Proxy {
    let upstream = server(b"", false).await;
    Proxy::start(([127, 0, 0, 1], 0).into(), upstream)
        .await
        .unwrap()
}

async fn connect(proxy: &Proxy) -> TcpStream {
    TcpStream::connect(proxy.addr()).await.unwrap()
}

/// Reads exactly `n` bytes, or fails after `within`.
async fn read_n(stream: &mut TcpStream, n: usize, within: Duration) -> io::Result<Vec<u8>> {
    let mut buf = vec![0; n];
    match tokio::time::timeout(within, stream.read_exact(&mut buf)).await {
        Ok(read) => read.map(|_| buf),
        Err(_) => Err(ErrorKind::TimedOut.into()),
    }
}

/// The time one `n`-byte message takes to come back.
async fn round_trip(stream: &mut TcpStream, n: usize) -> Duration {
    let started = Instant::now();
    stream.write_all(&vec![b'x'; n]).await.unwrap();
    read_n(stream, n, PATIENCE * 4).await.unwrap();
    started.elapsed()
}

fn latency(delay: u64) -> Fault {
    Fault::new(FaultKind::Latency {
        delay: ms(delay),
        jitter: Duration::ZERO,
    })
}

fn assert_between(what: &str, took: Duration, low: Duration, high: Duration) {
    assert!(
        took >= low && took <= high,
        "{what} took {took:?}, expected {low:?}..{high:?}"
    );
}

#[tokio::test]
async fn without_faults_bytes_and_half_closes_pass() {
    let proxy = echo_proxy().await;
    let mut stream = connect(&proxy).await;
    stream.write_all(b"last words").await.unwrap();
    stream.shutdown().await.unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut all))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all, b"last words");
}

#[tokio::test]
async fn latency_delays_each_way_and_applies_to_open_connections() {
    let proxy = echo_proxy().await;
    let mut stream = connect(&proxy).await;
    assert!(round_trip(&mut stream, 10).await < ms(100));
    let id = proxy
        .add_fault(latency(200).direction(Direction::Downstream))
        .unwrap();
    assert_between(
        "one way",
        round_trip(&mut stream, 10).await,
        ms(195),
        ms(700),
    );
    proxy.remove_fault(id).unwrap();
    proxy.add_fault(latency(150)).unwrap();
    assert_between(
        "both ways",
        round_trip(&mut stream, 10).await,
        ms(295),
        ms(900),
    );
}

#[tokio::test]
async fn removing_a_fault_lifts_it_and_a_second_removal_is_not_found() {
    let proxy = echo_proxy().await;
    let id = proxy.add_fault(latency(400)).unwrap();
    let mut stream = connect(&proxy).await;
    assert!(round_trip(&mut stream, 10).await >= ms(795));
    proxy.remove_fault(id).unwrap();
    assert!(round_trip(&mut stream, 10).await < ms(300));
    assert_eq!(proxy.remove_fault(id), Err(FaultError::NotFound(id)));
    assert!(proxy.faults().is_empty());
}

#[tokio::test]
async fn two_faults_compose_in_the_order_they_were_added() {
    let proxy = echo_proxy().await;
    let mut stream = connect(&proxy).await;
    for fault in [latency(100), latency(150)] {
        proxy
            .add_fault(fault.direction(Direction::Upstream))
            .unwrap();
    }
    assert_between(
        "two latencies",
        round_trip(&mut stream, 10).await,
        ms(245),
        ms(800),
    );
    let bandwidth = FaultKind::Bandwidth {
        bytes_per_second: 20_000,
    };
    proxy
        .add_fault(Fault::new(bandwidth).direction(Direction::Upstream))
        .unwrap();
    // 250 ms of latency, then 10 000 bytes at 20 000 bytes/s.
    assert_between(
        "latencies and bandwidth",
        round_trip(&mut stream, 10_000).await,
        ms(700),
        ms(1800),
    );
}

#[tokio::test]
async fn bandwidth_caps_the_throughput() {
    let proxy = echo_proxy().await;
    let bandwidth = FaultKind::Bandwidth {
        bytes_per_second: 40_000,
    };
    proxy
        .add_fault(Fault::new(bandwidth).direction(Direction::Downstream))
        .unwrap();
    let mut stream = connect(&proxy).await;
    assert_between(
        "20 000 bytes at 40 000 bytes/s",
        round_trip(&mut stream, 20_000).await,
        ms(450),
        ms(1500),
    );
}

#[tokio::test]
async fn toxicity_0_spares_every_connection_and_100_hits_every_one() {
    let proxy = echo_proxy().await;
    let spared = proxy.add_fault(latency(300).toxicity(0)).unwrap();
    for _ in 0..5 {
        assert!(round_trip(&mut connect(&proxy).await, 1).await < ms(250));
    }
    proxy.remove_fault(spared).unwrap();
    proxy.add_fault(latency(100).toxicity(100)).unwrap();
    for _ in 0..5 {
        assert!(round_trip(&mut connect(&proxy).await, 1).await >= ms(195));
    }
}

#[tokio::test]
async fn toxicity_50_is_decided_per_connection() {
    let proxy = echo_proxy().await;
    proxy
        .add_fault(latency(100).direction(Direction::Downstream).toxicity(50))
        .unwrap();
    let mut hit = 0;
    for _ in 0..30 {
        let mut stream = connect(&proxy).await;
        let first = round_trip(&mut stream, 1).await >= ms(95);
        let second = round_trip(&mut stream, 1).await >= ms(95);
        assert_eq!(first, second, "decided once per connection");
        hit += usize::from(first);
    }
    assert!((3..=27).contains(&hit), "{hit} of 30 connections were hit");
}

#[tokio::test]
async fn blackhole_stalls_open_and_new_connections_until_removed() {
    let proxy = echo_proxy().await;
    let mut open = connect(&proxy).await;
    assert!(round_trip(&mut open, 4).await < ms(200));
    let id = proxy.add_fault(Fault::new(FaultKind::Blackhole)).unwrap();
    open.write_all(b"ping").await.unwrap();
    assert_eq!(
        read_n(&mut open, 4, QUIET).await.unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    let mut fresh = connect(&proxy).await;
    fresh.write_all(b"pong").await.unwrap();
    assert_eq!(
        read_n(&mut fresh, 4, QUIET).await.unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    proxy.remove_fault(id).unwrap();
    assert_eq!(
        read_n(&mut open, 4, PATIENCE).await.unwrap(),
        b"ping",
        "held bytes arrive"
    );
    assert_eq!(read_n(&mut fresh, 4, PATIENCE).await.unwrap(), b"pong");
}

#[tokio::test]
async fn a_downstream_blackhole_lets_requests_through_but_no_answer() {
    let upstream = server(b"hello", false).await;
    let proxy = Proxy::start(([127, 0, 0, 1], 0).into(), upstream)
        .await
        .unwrap();
    proxy
        .add_fault(Fault::new(FaultKind::Blackhole).direction(Direction::Downstream))
        .unwrap();
    let mut stream = connect(&proxy).await;
    assert_eq!(
        read_n(&mut stream, 5, QUIET).await.unwrap_err().kind(),
        ErrorKind::TimedOut
    );
}

#[tokio::test]
async fn reset_peer_resets_after_its_delay_or_at_once() {
    let proxy = echo_proxy().await;
    let mut open = connect(&proxy).await;
    assert!(round_trip(&mut open, 1).await < ms(200));
    let started = Instant::now();
    proxy
        .add_fault(Fault::new(FaultKind::ResetPeer { after: ms(600) }))
        .unwrap();
    let mut fresh = connect(&proxy).await;
    let err = read_n(&mut fresh, 1, PATIENCE).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    assert_between(
        "reset of a new connection",
        started.elapsed(),
        ms(550),
        ms(2000),
    );
    // The open connection is reset too, once it is 600 ms old.
    let err = read_n(&mut open, 1, PATIENCE).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
}

#[tokio::test]
async fn slow_close_delays_the_close_not_the_data() {
    let upstream = server(b"bye", true).await;
    let proxy = Proxy::start(([127, 0, 0, 1], 0).into(), upstream)
        .await
        .unwrap();
    proxy
        .add_fault(
            Fault::new(FaultKind::SlowClose { delay: ms(400) }).direction(Direction::Downstream),
        )
        .unwrap();
    let started = Instant::now();
    let mut stream = connect(&proxy).await;
    assert_eq!(read_n(&mut stream, 3, PATIENCE).await.unwrap(), b"bye");
    assert!(started.elapsed() < ms(300), "the data came at once");
    let mut rest = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(rest.is_empty());
    assert_between("the close", started.elapsed(), ms(395), ms(1500));
}

#[tokio::test]
async fn the_slicer_sends_small_pieces_apart() {
    let proxy = echo_proxy().await;
    let slicer = FaultKind::Slicer {
        average_size: 10,
        size_variation: 4,
        delay: ms(20),
    };
    proxy
        .add_fault(Fault::new(slicer).direction(Direction::Downstream))
        .unwrap();
    let mut stream = connect(&proxy).await;
    let started = Instant::now();
    stream.write_all(&[b'x'; 100]).await.unwrap();
    let (mut reads, mut got, mut biggest) = (0, 0, 0);
    let mut buf = [0; 100];
    while got < 100 {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        (reads, got, biggest) = (reads + 1, got + n, biggest.max(n));
    }
    assert!(reads >= 5, "100 bytes came in {reads} reads");
    assert!(
        biggest <= 28,
        "a read of {biggest} bytes: at most two pieces of 14"
    );
    assert_between(
        "7 to 15 pieces 20 ms apart",
        started.elapsed(),
        ms(110),
        ms(1500),
    );
}

#[tokio::test]
async fn limit_data_closes_the_connection_after_its_bytes() {
    let proxy = echo_proxy().await;
    proxy
        .add_fault(Fault::new(FaultKind::LimitData { bytes: 10 }).direction(Direction::Downstream))
        .unwrap();
    let mut stream = connect(&proxy).await;
    stream.write_all(&[b'x'; 25]).await.unwrap();
    let mut all = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut all))
        .await
        .unwrap();
    // Closed after exactly 10 bytes: an orderly end, or a reset if our own bytes were unread.
    assert!(read.is_ok() || read.unwrap_err().kind() == ErrorKind::ConnectionReset);
    assert_eq!(all.len(), 10, "{all:?}");
}

#[tokio::test]
async fn a_reset_gate_refuses_through_and_a_held_gate_stalls() {
    let proxy = echo_proxy().await;
    proxy.set_gate(Gate::Hold);
    let mut held = connect(&proxy).await;
    held.write_all(b"hi").await.unwrap();
    assert_eq!(
        read_n(&mut held, 2, QUIET).await.unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    proxy.set_gate(Gate::Open);
    assert_eq!(read_n(&mut held, 2, PATIENCE).await.unwrap(), b"hi");
    proxy.set_gate(Gate::Reset);
    let err = read_n(&mut held, 1, PATIENCE).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
}
