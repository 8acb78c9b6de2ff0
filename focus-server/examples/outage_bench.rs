//! The outage benchmark: the resilient configuration and the old one (`--db-timeout 30s
//! --fail-fast off`) side by side, in one run, for three outage kinds (MongoDB killed, blackholed
//! by a proxy, frozen with SIGSTOP). It prints, per kind and configuration:
//! - P1: time from the outage to the first 503 (4 clients sending historic configures);
//! - P2: p50 / p99 / max latency of the following 503s;
//! - P3: time from MongoDB's return to the first 200;
//! - P4: 503 throughput under concurrent keep-alive load (loopback, bounded: 50 000 requests or
//!   10 s), with the server's resident memory before and after;
//! - and the ratio old / new.
//!
//! Run: `cargo run --release -p focus-server --example outage_bench` (about 4–6 minutes: the
//! old configuration really waits its 30 s). Every client call is bounded (45 s), so a hang
//! shows as "no answer" rather than a stuck benchmark.
//!
//! To compare two builds instead, set `OUTAGE_BENCH_BASELINE=/path/to/other/focus-server`: the
//! second server of each outage is then that binary in the resilient configuration, run side by
//! side with this build on the same machine at the same time (`P3` and `P4` move with the
//! machine's load, so figures from different runs do not compare well).

#[path = "../tests/integration/support/mod.rs"]
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use support::blackhole::BlackholeProxy;
use support::{FocusServer, http};
use testkit::MongoServer;

const CLIENT_TIMEOUT: Duration = Duration::from_secs(45);
const PROBERS: usize = 4;
const P2_SAMPLES: usize = 1000;
const LOAD_REQUESTS: u64 = 50_000;
const LOAD_TIME: Duration = Duration::from_secs(10);
const LOAD_CONNECTIONS: usize = 16;
const HISTORIC: &str = r#"{"displayInfo": {"height": 500}, "channels": {"min": 1, "max": 3}, "view_type": "0", "nfftSelection": 1024, "start_time": 1735689600, "end_time": 1735690200}"#;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outage {
    Refused,
    Blackholed,
    Paused,
}

#[derive(Debug, Default, Clone)]
struct Figures {
    p1: Option<Duration>,
    p2: Vec<Duration>,
    p2_unanswered: usize,
    p3: Option<Duration>,
    p4_503: u64,
    p4_other: u64,
    p4_elapsed: Duration,
    rss_before: u64,
    rss_after: u64,
}

/// The second server of each outage.
#[derive(Debug, Clone)]
enum Other {
    /// This build with `--db-timeout 30s --fail-fast off`.
    OldConfig,
    /// Another build, resilient configuration (one from before the data stream works too).
    Baseline(PathBuf),
}

impl Other {
    fn label(&self) -> &'static str {
        match self {
            Other::OldConfig => "old",
            Other::Baseline(_) => "baseline",
        }
    }
}

fn main() {
    let bin = server_binary();
    eprintln!("outage_bench: using {}", bin.display());
    let other = match std::env::var_os("OUTAGE_BENCH_BASELINE") {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "OUTAGE_BENCH_BASELINE={}: no such file; give the path of another build's focus-server binary",
                path.display()
            );
            eprintln!("outage_bench: baseline {}", path.display());
            Other::Baseline(path)
        }
        None => Other::OldConfig,
    };
    let mut rows = Vec::new();
    for kind in [Outage::Refused, Outage::Blackholed, Outage::Paused] {
        eprintln!("outage_bench: {kind:?} …");
        let started = Instant::now();
        let (new, old) = run_kind(&bin, &other, kind);
        eprintln!("outage_bench: {kind:?} done in {:.0?}", started.elapsed());
        rows.push((kind, new, old));
    }
    print_report(&rows, other.label());
}

/// Builds the server binary of the same profile as this example, and returns its path.
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(|p| p.parent())
        .expect("target/<profile>/examples/");
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "-p", "focus-server", "--bin", "focus-server"]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("run cargo build for the server");
    assert!(status.success(), "building focus-server failed");
    profile_dir.join("focus-server")
}

fn run_kind(bin: &std::path::Path, other: &Other, kind: Outage) -> (Figures, Figures) {
    let mut mongo = MongoServer::start();
    let proxy = (kind == Outage::Blackholed)
        .then(|| BlackholeProxy::start(([127, 0, 0, 1], mongo.port()).into()));
    let uri = proxy
        .as_ref()
        .map_or_else(|| mongo.uri(), BlackholeProxy::mongo_uri);
    let new = FocusServer::start_with(bin, &uri, &["--seed-recordings", "--max-jobs", "100000"]);
    new.wait_seeded();
    let old = match other {
        Other::OldConfig => FocusServer::start_with(
            bin,
            &uri,
            &[
                "--db-timeout",
                "30s",
                "--fail-fast",
                "off",
                "--max-jobs",
                "100000",
            ],
        ),
        Other::Baseline(path) => {
            FocusServer::start_older(path, &uri, &["--seed-recordings", "--max-jobs", "100000"])
        }
    };
    let old_resilient = matches!(other, Other::Baseline(_));
    for s in [&new, &old] {
        testkit::wait_until("a warm-up 200", Duration::from_secs(30), || {
            status_of(s.addr()) == Some(200)
        });
    }
    let (mut fnew, mut fold) = (Figures::default(), Figures::default());

    // The outage.
    match kind {
        Outage::Refused => mongo.stop(),
        Outage::Blackholed => proxy.as_ref().unwrap().set_blackholed(true),
        Outage::Paused => mongo.pause(),
    }
    let t0 = Instant::now();
    std::thread::scope(|s| {
        let a = s.spawn(|| probe_503s(new.addr(), t0, true));
        let b = s.spawn(|| probe_503s(old.addr(), t0, old_resilient));
        (fnew.p1, fnew.p2, fnew.p2_unanswered) = a.join().unwrap();
        (fold.p1, fold.p2, fold.p2_unanswered) = b.join().unwrap();
    });
    eprintln!("outage_bench:   P1/P2 measured; load on the resilient server");
    load(&new, &mut fnew);
    eprintln!("outage_bench:   load on the {} server", other.label());
    load(&old, &mut fold);

    // MongoDB returns.
    match kind {
        Outage::Refused => mongo.resume_after_stop(),
        Outage::Blackholed => proxy.as_ref().unwrap().set_blackholed(false),
        Outage::Paused => mongo.unpause(),
    }
    let t1 = Instant::now();
    std::thread::scope(|s| {
        let a = s.spawn(|| first_200(new.addr(), t1));
        let b = s.spawn(|| first_200(old.addr(), t1));
        fnew.p3 = a.join().unwrap();
        fold.p3 = b.join().unwrap();
    });
    (fnew, fold)
}

fn status_of(addr: SocketAddr) -> Option<u16> {
    http::request(
        addr,
        "POST",
        "/configure",
        Some(HISTORIC.as_bytes()),
        CLIENT_TIMEOUT,
    )
    .ok()
    .map(|r| r.status)
}

/// P1 and P2: `PROBERS` sequential clients from `t0`. The resilient server is probed until
/// `P2_SAMPLES` 503s; the old one for as long as one client timeout allows.
fn probe_503s(
    addr: SocketAddr,
    t0: Instant,
    resilient: bool,
) -> (Option<Duration>, Vec<Duration>, usize) {
    let done = AtomicU64::new(0);
    let results: Vec<(Vec<(Instant, Duration)>, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..PROBERS)
            .map(|_| {
                s.spawn(|| {
                    let mut got = Vec::new();
                    let mut unanswered = 0;
                    let budget = if resilient {
                        Duration::from_secs(30)
                    } else {
                        CLIENT_TIMEOUT
                    };
                    while t0.elapsed() < budget
                        && done.load(Ordering::Relaxed) < P2_SAMPLES as u64 + 1
                    {
                        match http::request(
                            addr,
                            "POST",
                            "/configure",
                            Some(HISTORIC.as_bytes()),
                            CLIENT_TIMEOUT,
                        ) {
                            Ok(r) if r.status == 503 => {
                                got.push((Instant::now(), r.elapsed));
                                done.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok(_) => {}
                            Err(_) => unanswered += 1,
                        }
                    }
                    (got, unanswered)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let unanswered = results.iter().map(|r| r.1).sum();
    let mut all: Vec<(Instant, Duration)> = results.into_iter().flat_map(|r| r.0).collect();
    all.sort_by_key(|(at, _)| *at);
    let p1 = all.first().map(|(at, _)| at.duration_since(t0));
    let following = all.iter().skip(1).map(|(_, d)| *d).collect();
    (p1, following, unanswered)
}

/// P4: keep-alive load of historic configures during the outage, bounded in count and time.
fn load(server: &FocusServer, f: &mut Figures) {
    f.rss_before = rss_of(server.pid());
    let sent = AtomicU64::new(0);
    let n503 = AtomicU64::new(0);
    let other = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..LOAD_CONNECTIONS {
            s.spawn(|| keepalive_client(server.addr(), started, &sent, &n503, &other));
        }
    });
    f.p4_elapsed = started.elapsed();
    f.p4_503 = n503.load(Ordering::Relaxed);
    f.p4_other = other.load(Ordering::Relaxed);
    f.rss_after = rss_of(server.pid());
}

fn keepalive_client(
    addr: SocketAddr,
    started: Instant,
    sent: &AtomicU64,
    n503: &AtomicU64,
    other: &AtomicU64,
) {
    let request = format!(
        "POST /configure HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{HISTORIC}",
        HISTORIC.len()
    );
    let Ok(stream) = TcpStream::connect(addr) else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    while started.elapsed() < LOAD_TIME && sent.fetch_add(1, Ordering::Relaxed) < LOAD_REQUESTS {
        let left = LOAD_TIME
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1));
        let _ = reader.get_ref().set_read_timeout(Some(left));
        if writer.write_all(request.as_bytes()).is_err() {
            return;
        }
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return; // no answer within the load window, or closed
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((n, v)) = l.split_once(':')
                && n.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if status == 503 { n503 } else { other }.fetch_add(1, Ordering::Relaxed);
    }
}

/// P3: one client from `t1` until a 200 (bounded).
fn first_200(addr: SocketAddr, t1: Instant) -> Option<Duration> {
    while t1.elapsed() < Duration::from_secs(90) {
        if status_of(addr) == Some(200) {
            return Some(t1.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

fn rss_of(pid: u32) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap_or_default();
    text.split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

fn pct(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    Some(sorted[i])
}

fn show(d: Option<Duration>) -> String {
    match d {
        None => "no answer".to_owned(),
        Some(d) if d < Duration::from_millis(10) => format!("{:.2} ms", d.as_secs_f64() * 1e3),
        Some(d) if d < Duration::from_secs(1) => format!("{:.0} ms", d.as_secs_f64() * 1e3),
        Some(d) => format!("{:.2} s", d.as_secs_f64()),
    }
}

fn ratio(old: Option<f64>, new: Option<f64>) -> String {
    match (old, new) {
        (Some(o), Some(n)) if n > 0.0 => times(o / n),
        (None, Some(_)) => "∞ (old: no answer)".to_owned(),
        _ => "n/a".to_owned(),
    }
}

fn print_report(rows: &[(Outage, Figures, Figures)], other: &str) {
    println!(
        "\nFocus Server outage benchmark (loopback, {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "targets: P1 ≤ 2.5 s · P2 p99 ≤ 50 ms · P3 ≤ 3 s · P4 ≥ 10k 503/s · memory growth ≤ 5 %\n"
    );
    println!(
        "{:<11} {:<10} {:>11} {:>32} {:>10} {:>26} {:>26}",
        "outage",
        "config",
        "P1 first",
        "P2 p50 / p99 / max (n)",
        "P3 200",
        "P4 503/s (n, time)",
        "RSS before → after"
    );
    for (kind, new, old) in rows {
        for (name, f) in [("resilient", new), (other, old)] {
            let mut p2 = f.p2.clone();
            p2.sort();
            let p2s = format!(
                "{} / {} / {} ({}{})",
                show(pct(&p2, 0.5)),
                show(pct(&p2, 0.99)),
                show(p2.last().copied()),
                p2.len(),
                if f.p2_unanswered > 0 {
                    format!(", {} unanswered", f.p2_unanswered)
                } else {
                    String::new()
                }
            );
            let rate = f.p4_503 as f64 / f.p4_elapsed.as_secs_f64().max(1e-9);
            let p4 = format!(
                "{:.0} ({}, {:.1} s)",
                rate,
                f.p4_503,
                f.p4_elapsed.as_secs_f64()
            );
            let growth = (f.rss_after as f64 / f.rss_before.max(1) as f64 - 1.0) * 100.0;
            let mem = format!(
                "{:.1} → {:.1} MiB ({:+.1} %)",
                mib(f.rss_before),
                mib(f.rss_after),
                growth
            );
            println!(
                "{:<11} {:<10} {:>11} {:>32} {:>10} {:>26} {:>26}",
                format!("{kind:?}"),
                name,
                show(f.p1),
                p2s,
                show(f.p3),
                p4,
                mem
            );
        }
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        let p99 = |f: &Figures| {
            let mut v = f.p2.clone();
            v.sort();
            secs(pct(&v, 0.99))
        };
        let rate = |f: &Figures| f.p4_503 as f64 / f.p4_elapsed.as_secs_f64().max(1e-9);
        println!(
            "{:<11} {other}/new P1 {} · P2 p99 {} · P3 {} · P4 throughput new/{other} {}",
            "",
            ratio(secs(old.p1), secs(new.p1)),
            ratio(p99(old), p99(new)),
            ratio(secs(old.p3), secs(new.p3)),
            if rate(old) > 0.0 {
                times(rate(new) / rate(old))
            } else {
                "∞ (old: 0 503s)".to_owned()
            }
        );
    }
}

/// A ratio: two decimals below 10, none above.
fn times(r: f64) -> String {
    if r < 10.0 {
        format!("{r:.2}×")
    } else {
        format!("{r:.0}×")
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
