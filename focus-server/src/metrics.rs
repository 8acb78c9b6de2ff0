//! Prometheus metrics, written in the text exposition format by hand (a handful of series):
//! requests by route and status, a latency histogram by route, the database gate, jobs
//! running, the pending record writes and the resident memory.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, seconds.
pub const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Series {
    requests: BTreeMap<(String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

/// The request counters and histograms.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<Series>,
}

/// The gauges read at scrape time.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    /// 1 when the gate is open.
    pub db_up: bool,
    /// Gate closes so far.
    pub gate_closes: u64,
    /// Jobs running.
    pub jobs_running: usize,
    /// Writes waiting for the database.
    pub pending_writes: usize,
    /// Writes dropped because the queue was full.
    pub pending_dropped: u64,
    /// Writes given up on because they can never be stored.
    pub pending_dead_lettered: u64,
    /// Resident memory, bytes.
    pub resident_bytes: u64,
}

impl Metrics {
    /// Counts one request of `route` answered `status` after `elapsed`.
    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut s = self.series.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = s.requests.get_mut(&(route.to_owned(), status)) {
            *n += 1;
        } else {
            s.requests.insert((route.to_owned(), status), 1);
        }
        let h = match s.latency.get_mut(route) {
            Some(h) => h,
            None => s.latency.entry(route.to_owned()).or_default(),
        };
        h.count += 1;
        h.sum += secs;
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            h.counts[i] += 1;
        }
    }

    /// The exposition text.
    pub fn render(&self, g: &Gauges) -> String {
        let s = self.series.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP focus_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE focus_http_requests_total counter\n");
        for ((route, status), n) in &s.requests {
            let _ = writeln!(
                out,
                "focus_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str("# HELP focus_http_request_duration_seconds HTTP request latency by route.\n");
        out.push_str("# TYPE focus_http_request_duration_seconds histogram\n");
        for (route, h) in &s.latency {
            let route = escape(route);
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "focus_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "focus_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "focus_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "focus_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        drop(s);
        let gauges: [(&str, &str, &str, String); 7] = [
            (
                "focus_db_up",
                "gauge",
                "1 when the database gate is open (MongoDB reachable).",
                u8::from(g.db_up).to_string(),
            ),
            (
                "focus_db_gate_closes_total",
                "counter",
                "Times the database gate closed.",
                g.gate_closes.to_string(),
            ),
            (
                "focus_jobs_running",
                "gauge",
                "Orchestrated jobs running.",
                g.jobs_running.to_string(),
            ),
            (
                "focus_pending_writes",
                "gauge",
                "Job-record writes waiting for the database.",
                g.pending_writes.to_string(),
            ),
            (
                "focus_pending_writes_dropped_total",
                "counter",
                "Job-record writes dropped: the queue was full.",
                g.pending_dropped.to_string(),
            ),
            (
                "focus_pending_writes_dead_lettered_total",
                "counter",
                "Job-record writes given up on: they can never be stored.",
                g.pending_dead_lettered.to_string(),
            ),
            (
                "process_resident_memory_bytes",
                "gauge",
                "Resident memory size in bytes.",
                g.resident_bytes.to_string(),
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Resident memory of this process in bytes, from `/proc/self/statm` (0 where unavailable).
pub fn resident_bytes() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = text
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * u64::try_from(page).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_has_counters_histograms_and_gauges() {
        let m = Metrics::default();
        m.observe("/configure", 503, Duration::from_millis(2));
        m.observe("/configure", 503, Duration::from_millis(40));
        m.observe("/ack", 200, Duration::from_micros(50));
        let text = m.render(&Gauges {
            db_up: false,
            jobs_running: 3,
            resident_bytes: 42,
            ..Gauges::default()
        });
        assert!(
            text.contains("focus_http_requests_total{route=\"/configure\",status=\"503\"} 2\n"),
            "{text}"
        );
        assert!(text.contains(
            "focus_http_request_duration_seconds_bucket{route=\"/configure\",le=\"0.0025\"} 1\n"
        ));
        assert!(text.contains(
            "focus_http_request_duration_seconds_bucket{route=\"/configure\",le=\"0.05\"} 2\n"
        ));
        assert!(
            text.contains("focus_http_request_duration_seconds_count{route=\"/configure\"} 2\n")
        );
        assert!(text.contains("focus_db_up 0\n"));
        assert!(text.contains("focus_jobs_running 3\n"));
        assert!(text.contains("process_resident_memory_bytes 42\n"));
    }

    #[test]
    fn resident_memory_is_read() {
        assert!(resident_bytes() > 0);
    }
}
