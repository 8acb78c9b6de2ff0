//! The fault pipeline's and the load generator's figures, side by side, in one run:
//!
//! 1. asked vs measured latency (50, 200, 1000 ms; target ±10 % + 5 ms);
//! 2. asked vs measured bandwidth (10 KB/s, 1 MB/s; target ±10 %);
//! 3. the proxy's added p50 with no fault, against a direct connection (target ≤ 100 µs);
//! 4. the load generator's highest rate against the Focus Server's `GET /ack`, beside `wrk`'s
//!    on the same endpoint (target ≥ 50 % of wrk's), with the p99 each reports.
//!
//! ```sh
//! cargo build --release -p focus-server
//! cargo run --release -p fault-proxy --example fault_bench
//! ```
//!
//! Only 127.0.0.1 is used; every loop is bounded. Without `wrk` on PATH (`scripts/setup`
//! installs it as root) or a built Focus Server, part 4 says so and is skipped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use fault_proxy::{Direction, Fault, FaultKind, Proxy};
use loadgen::{Extent, Limits, Load, LoadSpec, Pace, RequestTemplate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() {
    let echo = echo_server().await;
    let proxy = Proxy::start(([127, 0, 0, 1], 0).into(), echo)
        .await
        .expect("start the proxy");
    println!(
        "fault_bench: {} cores, figures measured now on 127.0.0.1\n",
        cores()
    );
    latency(&proxy).await;
    bandwidth().await;
    overhead(echo, &proxy).await;
    load_vs_wrk().await;
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An echo server.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

/// A server that sends `n` bytes to each connection, then closes it.
async fn source_server(n: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = stream.write_all(&vec![b'x'; n]).await;
            });
        }
    });
    addr
}

/// Round trips of one byte on one connection, sorted.
async fn round_trips(addr: SocketAddr, count: usize) -> Vec<Duration> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut byte = [0u8; 1];
    let mut times = Vec::with_capacity(count);
    for _ in 0..count {
        let started = Instant::now();
        stream.write_all(b"x").await.unwrap();
        stream.read_exact(&mut byte).await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    times
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

async fn latency(proxy: &Proxy) {
    println!(
        "1. Latency (downstream), asked vs measured: median round trip through the proxy minus the median without the fault"
    );
    println!(
        "   {:>8}  {:>10}  {:>8}  {:>8}  target ±10 % + 5 ms",
        "asked", "measured", "error", "samples"
    );
    let base = quantile(&round_trips(proxy.addr(), 200).await, 0.5);
    for (delay, samples) in [(50, 20), (200, 10), (1000, 5)] {
        let fault = Fault::new(FaultKind::Latency {
            delay: ms(delay),
            jitter: Duration::ZERO,
        })
        .direction(Direction::Downstream);
        let id = proxy.add_fault(fault).unwrap();
        let measured =
            quantile(&round_trips(proxy.addr(), samples).await, 0.5).saturating_sub(base);
        proxy.remove_fault(id).unwrap();
        let error = measured.as_secs_f64() * 1000.0 - delay as f64;
        let ok = error.abs() <= delay as f64 * 0.10 + 5.0;
        println!(
            "   {:>5} ms  {:>7.1} ms  {:>+5.1} ms  {:>8}  {}",
            delay,
            measured.as_secs_f64() * 1000.0,
            error,
            samples,
            if ok { "within" } else { "OUT OF TARGET" }
        );
    }
    println!();
}

async fn bandwidth() {
    println!(
        "2. Bandwidth (downstream), asked vs measured: bytes / (connect to last byte) of a 2 s transfer"
    );
    println!(
        "   {:>12}  {:>12}  {:>7}  {:>10}  target ±10 %",
        "asked", "measured", "error", "bytes"
    );
    for rate in [10_000u64, 1_000_000] {
        let bytes = (rate * 2) as usize;
        let upstream = source_server(bytes).await;
        let proxy = Proxy::start(([127, 0, 0, 1], 0).into(), upstream)
            .await
            .unwrap();
        let fault = Fault::new(FaultKind::Bandwidth {
            bytes_per_second: rate,
        })
        .direction(Direction::Downstream);
        proxy.add_fault(fault).unwrap();
        let started = Instant::now();
        let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
        let mut all = Vec::with_capacity(bytes);
        stream.read_to_end(&mut all).await.unwrap();
        let measured = all.len() as f64 / started.elapsed().as_secs_f64();
        let error = (measured - rate as f64) / rate as f64 * 100.0;
        println!(
            "   {:>8} B/s  {:>8.0} B/s  {:>+6.1} %  {:>10}  {}",
            rate,
            measured,
            error,
            all.len(),
            if error.abs() <= 10.0 {
                "within"
            } else {
                "OUT OF TARGET"
            }
        );
    }
    println!();
}

async fn overhead(echo: SocketAddr, proxy: &Proxy) {
    const SAMPLES: usize = 5000;
    println!(
        "3. Proxy overhead with no fault: 1-byte round trips on one connection, {SAMPLES} each"
    );
    // Warm both paths first.
    round_trips(echo, 500).await;
    round_trips(proxy.addr(), 500).await;
    let direct = round_trips(echo, SAMPLES).await;
    let proxied = round_trips(proxy.addr(), SAMPLES).await;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("   {:>10}  {:>9}  {:>9}", "", "p50", "p99");
    println!(
        "   {:>10}  {:>6.1} µs  {:>6.1} µs",
        "direct",
        us(quantile(&direct, 0.5)),
        us(quantile(&direct, 0.99))
    );
    println!(
        "   {:>10}  {:>6.1} µs  {:>6.1} µs",
        "proxied",
        us(quantile(&proxied, 0.5)),
        us(quantile(&proxied, 0.99))
    );
    let added = us(quantile(&proxied, 0.5)) - us(quantile(&direct, 0.5));
    println!(
        "   added at p50: {added:.1} µs (target ≤ 100 µs): {}\n",
        if added <= 100.0 {
            "within"
        } else {
            "OUT OF TARGET"
        }
    );
}

/// The Focus Server binary, release first.
fn focus_server() -> Option<PathBuf> {
    let root = testkit::workspace_root();
    ["release", "debug"]
        .iter()
        .map(|profile| root.join("target").join(profile).join("focus-server"))
        .find(|p| p.is_file())
}

async fn load_vs_wrk() {
    const CONNECTIONS: u32 = 32;
    const SECONDS: u64 = 5;
    println!(
        "4. Highest rate against the Focus Server's GET /ack, {CONNECTIONS} connections, {SECONDS} s each"
    );
    let Some(exe) = focus_server() else {
        println!("   skipped: no focus-server binary; run `cargo build --release -p focus-server`");
        return;
    };
    let port = testkit::free_port();
    let mut cmd = Command::new(&exe);
    // No database is needed for /ack: the server starts and answers with MongoDB unreachable.
    cmd.args([
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--mongo-uri",
        &format!(
            "mongodb://127.0.0.1:{}/?directConnection=true",
            testkit::free_port()
        ),
    ]);
    let _server =
        testkit::ChildGuard::spawn("focus-server", cmd, None).expect("start focus-server");
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    testkit::wait_until(
        "the Focus Server to listen",
        Duration::from_secs(30),
        || testkit::accepts_tcp(addr),
    );
    println!("   server: {}", exe.display());
    let url = format!("http://{addr}/ack");
    let ours = ours(&url, CONNECTIONS, SECONDS).await;
    println!(
        "   {:>10}  {:>12}  {:>9}  {:>9}",
        "", "requests/s", "p50", "p99"
    );
    println!(
        "   {:>10}  {:>12.0}  {:>6.2} ms  {:>6.2} ms",
        "loadgen", ours.0, ours.1, ours.2
    );
    match wrk(&url, CONNECTIONS, SECONDS) {
        Ok((rate, p50, p99)) => {
            println!(
                "   {:>10}  {:>12.0}  {:>6.2} ms  {:>6.2} ms",
                "wrk", rate, p50, p99
            );
            let share = ours.0 / rate * 100.0;
            println!(
                "   loadgen reaches {share:.0} % of wrk's rate (target ≥ 50 %): {}",
                if share >= 50.0 {
                    "within"
                } else {
                    "OUT OF TARGET"
                }
            );
        }
        Err(e) => println!("   wrk: skipped: {e}"),
    }
}

/// The load generator's rate, p50 and p99 (ms) in the closed model.
async fn ours(url: &str, connections: u32, seconds: u64) -> (f64, f64, f64) {
    let client = loadgen::client(connections as usize).unwrap();
    let request = RequestTemplate::new(reqwest::Method::GET, url.parse().unwrap());
    let spec = |secs| LoadSpec {
        request: request.clone(),
        pace: Pace::Concurrency(connections),
        extent: Extent::Duration(Duration::from_secs(secs)),
    };
    // A short warm-up opens the connections.
    Load::start(&client, spec(1), &Limits::default())
        .unwrap()
        .finish()
        .await;
    let report = Load::start(&client, spec(seconds), &Limits::default())
        .unwrap()
        .finish()
        .await;
    let rate = report.ended() as f64 / report.elapsed.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (rate, ms(report.latency.p50), ms(report.latency.p99))
}

/// `wrk`'s rate, p50 and p99 (ms).
fn wrk(url: &str, connections: u32, seconds: u64) -> Result<(f64, f64, f64), String> {
    let threads = cores().min(connections as usize).to_string();
    let output = Command::new("wrk")
        .args(["-t", &threads, "-c", &connections.to_string(), "-d", &format!("{seconds}s"), "--latency", url])
        .output()
        .map_err(|e| format!("cannot run wrk ({e}); `scripts/setup` installs it (Debian package wrk) when run as root"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
            .ok_or_else(|| format!("no `{prefix}` in wrk's output:\n{text}"))
    };
    let rate: f64 = field("Requests/sec:")?
        .parse()
        .map_err(|e| format!("wrk's rate: {e}"))?;
    Ok((rate, wrk_ms(field("50%")?)?, wrk_ms(field("99%")?)?))
}

/// `412.00us`, `1.23ms` or `2.00s` in milliseconds.
fn wrk_ms(text: &str) -> Result<f64, String> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return Err(format!("wrk's latency `{text}` has no unit"));
    };
    number
        .parse::<f64>()
        .map(|n| n * scale)
        .map_err(|e| format!("wrk's latency `{text}`: {e}"))
}
