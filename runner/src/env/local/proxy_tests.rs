//! The service proxy against real sockets on 127.0.0.1.

use std::io::ErrorKind;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// A backend that greets each connection with `tag`, then echoes.
async fn backend(tag: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                stream.write_all(tag).await.unwrap();
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    port
}

fn service() -> Service {
    Service::reserve(testkit::free_port(), "test.service_port").unwrap()
}

async fn connect(port: u16) -> std::io::Result<TcpStream> {
    TcpStream::connect(("127.0.0.1", port)).await
}

/// Reads exactly `n` bytes, or fails after `within`.
async fn read_n(stream: &mut TcpStream, n: usize, within: Duration) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0; n];
    match tokio::time::timeout(within, stream.read_exact(&mut buf)).await {
        Ok(read) => read.map(|_| buf),
        Err(_) => Err(ErrorKind::TimedOut.into()),
    }
}

const PATIENCE: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn without_endpoints_it_refuses_and_still_holds_the_port() {
    let svc = service();
    assert_eq!(
        connect(svc.port()).await.unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
    assert!(!svc.is_listening());
    let key = "environments.local.workloads.mongodb.service_port";
    let err = Service::reserve(svc.port(), key).unwrap_err();
    assert!(
        err.contains(&format!("port {} ({key}) is in use", svc.port())),
        "{err}"
    );
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", svc.port())).is_err(),
        "another program took the port"
    );
}

#[tokio::test]
async fn it_forwards_round_robin_and_refuses_again_when_the_endpoints_go() {
    let svc = service();
    let (a, b) = (backend(b"A").await, backend(b"B").await);
    svc.set_endpoints(vec![a, b]);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let mut stream = connect(svc.port()).await.unwrap();
        seen.push(read_n(&mut stream, 1, PATIENCE).await.unwrap()[0]);
        stream.write_all(b"echo").await.unwrap();
        assert_eq!(read_n(&mut stream, 4, PATIENCE).await.unwrap(), b"echo");
    }
    assert_eq!(seen, b"ABAB");
    svc.set_endpoints(vec![]);
    assert_eq!(
        connect(svc.port()).await.unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
}

#[tokio::test]
async fn blackhole_stalls_new_and_existing_connections_until_unblocked() {
    let svc = service();
    svc.set_endpoints(vec![backend(b"A").await]);
    let mut existing = connect(svc.port()).await.unwrap();
    assert_eq!(read_n(&mut existing, 1, PATIENCE).await.unwrap(), b"A");

    svc.set_block(Some(BlockMode::Blackhole));
    existing.write_all(b"ping").await.unwrap();
    assert_eq!(
        read_n(&mut existing, 4, QUIET).await.unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    let mut fresh = connect(svc.port())
        .await
        .expect("a blackholed service still accepts");
    assert_eq!(
        read_n(&mut fresh, 1, QUIET).await.unwrap_err().kind(),
        ErrorKind::TimedOut
    );

    svc.set_block(None);
    assert_eq!(
        read_n(&mut existing, 4, PATIENCE).await.unwrap(),
        b"ping",
        "the stalled bytes arrive"
    );
    assert_eq!(
        read_n(&mut fresh, 1, PATIENCE).await.unwrap(),
        b"A",
        "the held connection goes through"
    );
}

#[tokio::test]
async fn refuse_resets_existing_connections_and_refuses_new_ones_at_once() {
    let svc = service();
    svc.set_endpoints(vec![backend(b"A").await]);
    let mut existing = connect(svc.port()).await.unwrap();
    assert_eq!(read_n(&mut existing, 1, PATIENCE).await.unwrap(), b"A");

    svc.set_block(Some(BlockMode::Refuse));
    let started = Instant::now();
    let refused = connect(svc.port()).await.unwrap_err();
    let refused_after = started.elapsed();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    assert!(
        refused_after < Duration::from_millis(100),
        "refused after {refused_after:?}"
    );
    let reset = read_n(&mut existing, 1, PATIENCE).await.unwrap_err();
    assert_eq!(reset.kind(), ErrorKind::ConnectionReset, "{reset}");

    svc.set_block(None);
    let mut again = connect(svc.port()).await.unwrap();
    assert_eq!(read_n(&mut again, 1, PATIENCE).await.unwrap(), b"A");
}

#[tokio::test]
async fn a_half_close_is_passed_on_and_answers_still_arrive() {
    let svc = service();
    svc.set_endpoints(vec![backend(b"A").await]);
    let mut stream = connect(svc.port()).await.unwrap();
    stream.write_all(b"last words").await.unwrap();
    stream.shutdown().await.unwrap();
    let mut all = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut all))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all, b"Alast words");
}

#[tokio::test]
async fn clients_that_give_up_under_a_blackhole_are_let_go() {
    let svc = service();
    svc.set_endpoints(vec![backend(b"A").await]);
    let mut existing = connect(svc.port()).await.unwrap();
    assert_eq!(read_n(&mut existing, 1, PATIENCE).await.unwrap(), b"A");
    svc.set_block(Some(BlockMode::Blackhole));
    let mut held = Vec::new();
    for _ in 0..5 {
        let mut stream = connect(svc.port()).await.unwrap();
        stream.write_all(b"hello?").await.unwrap();
        held.push(stream);
    }
    existing.write_all(b"still there?").await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    while svc.open_connections() < 6 {
        assert!(
            Instant::now() < deadline,
            "{} connections held",
            svc.open_connections()
        );
        tokio::task::yield_now().await;
    }
    drop(held);
    drop(existing);
    while svc.open_connections() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} connections still held",
            svc.open_connections()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The time one message takes to come back through `stream` (the backend echoes).
async fn round_trip(stream: &mut TcpStream, message: &[u8]) -> Duration {
    let started = Instant::now();
    stream.write_all(message).await.unwrap();
    assert_eq!(
        read_n(stream, message.len(), PATIENCE).await.unwrap(),
        message
    );
    started.elapsed()
}

#[tokio::test]
async fn a_fault_acts_on_open_connections_until_removed_and_under_a_block() {
    use fault_proxy::{Direction, Fault, FaultKind};
    let svc = service();
    svc.set_endpoints(vec![backend(b"A").await]);
    let mut open = connect(svc.port()).await.unwrap();
    assert_eq!(read_n(&mut open, 1, PATIENCE).await.unwrap(), b"A");
    let latency = FaultKind::Latency {
        delay: Duration::from_millis(250),
        jitter: Duration::ZERO,
    };
    let id = fault_proxy::next_id();
    svc.add_fault(id, Fault::new(latency).direction(Direction::Downstream))
        .unwrap();
    assert_eq!(svc.state().faults.faults().len(), 1);
    let slow = round_trip(&mut open, b"slow").await;
    assert!(slow >= Duration::from_millis(245), "{slow:?}");

    svc.set_block(Some(BlockMode::Blackhole));
    open.write_all(b"held").await.unwrap();
    assert_eq!(
        read_n(&mut open, 4, QUIET).await.unwrap_err().kind(),
        ErrorKind::TimedOut
    );
    svc.set_block(None);
    assert_eq!(read_n(&mut open, 4, PATIENCE).await.unwrap(), b"held");

    svc.remove_fault(id).unwrap();
    assert!(
        svc.remove_fault(id).is_err(),
        "a second removal finds nothing"
    );
    let fast = round_trip(&mut open, b"fast").await;
    assert!(fast < Duration::from_millis(200), "{fast:?}");
}
