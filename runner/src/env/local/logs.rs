//! Pod logs: each pod's stdout and stderr go to `logs/<pod>.log` and to its workload's ring
//! buffer, whose tail goes into a failed testcase's `<system-err>`. The runner's own events
//! about a pod (started, stopped, exited) are logged alongside, marked `(runner)`.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The longest line kept in the ring buffer; the file gets it whole.
const MAX_RING_LINE: usize = 4096;

/// The recent log lines of all pods of one workload, each prefixed with its pod's name.
#[derive(Debug)]
pub struct WorkloadLog {
    dir: PathBuf,
    capacity: usize,
    ring: Mutex<VecDeque<String>>,
}

impl WorkloadLog {
    /// A ring of `capacity` lines; pod log files go into `dir`.
    pub fn new(dir: &Path, capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            dir: dir.to_owned(),
            capacity,
            ring: Mutex::new(VecDeque::new()),
        })
    }

    /// Creates `<dir>/<pod>.log` for a new pod.
    pub fn open_pod(self: &Arc<Self>, pod: &str) -> std::io::Result<Arc<PodLog>> {
        let path = self.dir.join(format!("{pod}.log"));
        let file = File::options().create(true).append(true).open(&path)?;
        Ok(Arc::new(PodLog {
            pod: pod.to_owned(),
            path,
            file: Mutex::new(file),
            workload: self.clone(),
        }))
    }

    /// The last `lines` lines, oldest first.
    pub fn tail(&self, lines: usize) -> Vec<String> {
        let ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        ring.iter()
            .skip(ring.len().saturating_sub(lines))
            .cloned()
            .collect()
    }

    fn push(&self, line: String) {
        let mut ring = self.ring.lock().unwrap_or_else(|e| e.into_inner());
        if ring.len() == self.capacity {
            ring.pop_front();
        }
        ring.push_back(line);
    }
}

/// One pod's log file, feeding its workload's ring.
#[derive(Debug)]
pub struct PodLog {
    pod: String,
    path: PathBuf,
    file: Mutex<File>,
    workload: Arc<WorkloadLog>,
}

impl PodLog {
    /// The file, `logs/<pod>.log`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Logs something the runner did to or saw of the pod.
    pub fn event(&self, text: &str) {
        self.line(&format!("(runner) {text}"));
    }

    /// Copies `stdout` and `stderr`, line by line, from threads that end with the pipes.
    pub fn attach(
        self: &Arc<Self>,
        stdout: Option<impl Read + Send + 'static>,
        stderr: Option<impl Read + Send + 'static>,
    ) {
        if let Some(out) = stdout {
            self.pump("stdout", out);
        }
        if let Some(err) = stderr {
            self.pump("stderr", err);
        }
    }

    fn pump(self: &Arc<Self>, stream: &str, pipe: impl Read + Send + 'static) {
        let log = self.clone();
        let started = std::thread::Builder::new()
            .name(format!("log-{stream}"))
            .spawn(move || {
                let mut reader = BufReader::new(pipe);
                let mut buf = Vec::new();
                while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
                    let text = String::from_utf8_lossy(&buf);
                    log.line(text.trim_end_matches(['\n', '\r']));
                    buf.clear();
                }
            });
        if let Err(e) = started {
            self.event(&format!("cannot read the pod's {stream}: {e}"));
        }
    }

    fn line(&self, text: &str) {
        {
            let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(file, "{text}");
        }
        let mut short = text;
        if short.len() > MAX_RING_LINE {
            let mut cut = MAX_RING_LINE;
            while !short.is_char_boundary(cut) {
                cut -= 1;
            }
            short = &short[..cut];
        }
        self.workload.push(format!("[{}] {short}", self.pod));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_go_to_the_file_and_the_ring_which_keeps_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let workload = WorkloadLog::new(dir.path(), 3);
        let pod = workload.open_pod("db-abcde-fghij").unwrap();
        pod.event("started");
        pod.attach(Some(&b"one\ntwo\r\nthree"[..]), None::<&[u8]>);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while workload.tail(10).len() < 3 || !workload.tail(1)[0].ends_with("three") {
            assert!(
                std::time::Instant::now() < deadline,
                "lines not pumped: {:?}",
                workload.tail(10)
            );
            std::thread::yield_now();
        }
        assert_eq!(
            workload.tail(10),
            [
                "[db-abcde-fghij] one",
                "[db-abcde-fghij] two",
                "[db-abcde-fghij] three"
            ]
        );
        assert_eq!(workload.tail(1), ["[db-abcde-fghij] three"]);
        let file = std::fs::read_to_string(pod.path()).unwrap();
        assert_eq!(file, "(runner) started\none\ntwo\nthree\n");
    }
}
