//! `scenario-runner proxy`, the process the Kubernetes backend places in front of a workload,
//! run here as a real process on 127.0.0.1 in front of a real TCP echo server: a fault added
//! over the control API delays real traffic, its removal ends the delay, wrong payloads are
//! 4xx, and SIGTERM ends it cleanly.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::ChildGuard;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::runner_bin;

/// A running `scenario-runner proxy` and its addresses.
pub struct ProxyProcess {
    pub child: ChildGuard,
    pub listen: SocketAddr,
    pub control: SocketAddr,
}

impl ProxyProcess {
    /// Starts the subcommand in front of `upstream`; returns once its control API answers.
    pub async fn start(upstream: &str) -> Self {
        let listen = SocketAddr::from(([127, 0, 0, 1], testkit::free_port()));
        let control = SocketAddr::from(([127, 0, 0, 1], testkit::free_port()));
        let mut cmd = std::process::Command::new(runner_bin());
        cmd.args(["proxy", "--listen", &listen.to_string()])
            .args(["--upstream", upstream])
            .args(["--control", &control.to_string()]);
        let child = ChildGuard::spawn("scenario-runner proxy", cmd, None).expect("starts");
        let http = client();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http
            .get(format!("http://{control}/health"))
            .send()
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "the control API never answered");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Self {
            child,
            listen,
            control,
        }
    }

    /// `http://<control>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.control)
    }
}

/// An HTTP client for the control API.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A TCP echo server on 127.0.0.1.
pub async fn echo_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = conn.read(&mut buf).await {
                    if n == 0 || conn.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (addr, task)
}

/// The round trip of 4 bytes through `addr`, on a new connection.
pub async fn round_trip(addr: SocketAddr) -> Duration {
    let mut conn = TcpStream::connect(addr).await.expect("connects");
    conn.set_nodelay(true).unwrap();
    let started = Instant::now();
    conn.write_all(b"ping").await.unwrap();
    let mut back = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(10), conn.read_exact(&mut back))
        .await
        .expect("an answer within 10 s")
        .expect("the echo");
    assert_eq!(&back, b"ping");
    started.elapsed()
}

fn latency(ms: u64) -> Value {
    json!({
        "kind": { "type": "latency", "delay": { "secs": 0, "nanos": ms * 1_000_000 },
                  "jitter": { "secs": 0, "nanos": 0 } },
        "direction": "upstream", "toxicity": 100,
    })
}

async fn put(url: String, body: Vec<u8>) -> (u16, String) {
    let answer = client()
        .put(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_subcommand_applies_and_removes_a_latency_on_real_traffic() {
    let (echo, _echo_task) = echo_server().await;
    let proxy = ProxyProcess::start(&echo.to_string()).await;
    let http = client();

    let before = round_trip(proxy.listen).await;
    let body = serde_json::to_vec(&latency(400)).unwrap();
    let (status, text) = put(format!("{}/faults/41", proxy.url()), body).await;
    assert_eq!(status, 201, "{text}");
    let listed: Value = http
        .get(format!("{}/faults", proxy.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["id"], 41, "{listed}");
    assert_eq!(listed[0]["fault"]["kind"]["type"], "latency", "{listed}");

    let delayed = round_trip(proxy.listen).await;
    println!("round trip: {before:?} without a fault, {delayed:?} with 400 ms upstream latency");
    assert!(delayed >= Duration::from_millis(400), "{delayed:?}");

    let deleted = http
        .delete(format!("{}/faults/41", proxy.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let after = round_trip(proxy.listen).await;
    println!("round trip after the removal: {after:?}");
    assert!(after < Duration::from_millis(400), "{after:?}");
    let gone = http
        .delete(format!("{}/faults/41", proxy.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_payloads_are_4xx_and_sigterm_stops_it() {
    let (echo, _echo_task) = echo_server().await;
    let mut proxy = ProxyProcess::start(&echo.to_string()).await;
    let json_of = |v: Value| serde_json::to_vec(&v).unwrap();
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("/faults/1", b"not json".to_vec(), 400),
        (
            "/faults/1",
            json_of(json!({"kind": {"type": "teleport"}, "direction": "both", "toxicity": 100})),
            400,
        ),
        (
            "/faults/1",
            json_of(json!({"kind": {"type": "bandwidth", "bytes_per_second": 0},
                           "direction": "both", "toxicity": 100})),
            400,
        ),
        (
            "/faults/1",
            json_of(json!({"kind": {"type": "blackhole"}, "direction": "both", "toxicity": 250})),
            400,
        ),
        ("/faults/abc", json_of(latency(10)), 400),
        ("/faults/1", vec![b' '; 64 * 1024], 413),
    ];
    for (path, body, code) in cases {
        let (status, text) = put(format!("{}{path}", proxy.url()), body).await;
        assert_eq!(status, code, "PUT {path}: {text}");
    }
    let (first, _) = put(format!("{}/faults/2", proxy.url()), json_of(latency(10))).await;
    assert_eq!(first, 201);
    let (again, text) = put(format!("{}/faults/2", proxy.url()), json_of(latency(10))).await;
    assert_eq!(again, 409, "{text}");
    let listed: Value = client()
        .get(format!("{}/faults", proxy.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");

    proxy.child.signal(libc::SIGTERM);
    let status = tokio::task::block_in_place(|| proxy.child.wait_timeout(Duration::from_secs(10)))
        .expect("it ends within 10 s of SIGTERM");
    assert!(status.success(), "{status:?}");
}
