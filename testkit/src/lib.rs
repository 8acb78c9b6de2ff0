//! The one test harness of the workspace. Integration tests start real processes through it:
//! a MongoDB-wire server (`mongod`, or SecantusDB), workspace binaries, and children that die
//! with the test. It never sleeps as synchronisation: [`wait_until`] polls with a deadline.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root: the nearest ancestor of this crate with a `[workspace]` Cargo.toml.
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]"))
        })
        .expect("testkit lives inside the workspace")
        .to_owned()
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes. Panics with `what` on
/// timeout, so the test says what it was waiting for.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether something accepts TCP connections at `addr` now.
pub fn accepts_tcp(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Whether process `pid` is alive now, from `/proc`. A zombie counts as dead.
pub fn process_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// A child process in its own process group that is killed, group and all, when this value
/// is dropped, and by the kernel when the thread that started it dies (PR_SET_PDEATHSIG).
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    /// What it is, for messages.
    pub label: String,
}

impl ChildGuard {
    /// Starts `cmd` with stdout and stderr appended to `log` (or discarded when `None`).
    pub fn spawn(label: &str, mut cmd: Command, log: Option<&Path>) -> io::Result<Self> {
        let (out, err) = match log {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                (Stdio::from(file.try_clone()?), Stdio::from(file))
            }
            None => (Stdio::null(), Stdio::null()),
        };
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start {label}: {e}")))?;
        Ok(Self {
            child,
            label: label.to_owned(),
        })
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to the whole process group.
    pub fn signal(&self, signal: i32) {
        // SAFETY: a plain kill(2) on our own child's group.
        unsafe {
            libc::kill(-(self.child.id() as i32), signal);
        }
    }

    /// Whether the process has exited.
    pub fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the group and reaps the child.
    pub fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }

    /// Waits for exit, at most `timeout`; the exit status, or `None` if it is still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Which MongoDB-wire server program the harness found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MongoProgram {
    /// `mongod` on PATH.
    Mongod(PathBuf),
    /// SecantusDB's `secantusd-rs` or `secantusd-py`.
    Secantus(PathBuf),
}

impl MongoProgram {
    /// Finds one: `$TESTKIT_MONGO_BIN`, then `mongod` on PATH, then `secantusd-rs` on PATH, then
    /// `secantusd-py` in the workspace's `.venv/bin`. The error lists where it looked.
    pub fn find() -> Result<Self, String> {
        if let Some(path) = std::env::var_os("TESTKIT_MONGO_BIN").map(PathBuf::from) {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            return Ok(if name.starts_with("mongod") {
                Self::Mongod(path)
            } else {
                Self::Secantus(path)
            });
        }
        if let Some(p) = find_on_path("mongod") {
            return Ok(Self::Mongod(p));
        }
        if let Some(p) = find_on_path("secantusd-rs") {
            return Ok(Self::Secantus(p));
        }
        let venv = workspace_root().join(".venv/bin/secantusd-py");
        if venv.is_file() {
            return Ok(Self::Secantus(venv));
        }
        Err(format!(
            "no MongoDB-wire server found: looked for mongod and secantusd-rs on PATH and for {}; \
             run ./scripts/setup to install SecantusDB into .venv",
            venv.display()
        ))
    }

    /// The command that serves `data_dir` on 127.0.0.1:`port`, standalone (no replica set, so
    /// drivers never bypass a proxy by following an advertised host).
    pub fn command(&self, port: u16, data_dir: &Path) -> Command {
        match self {
            Self::Mongod(bin) => {
                let mut c = Command::new(bin);
                c.args([
                    "--bind_ip",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                    "--dbpath",
                ])
                .arg(data_dir);
                c
            }
            Self::Secantus(bin) => {
                let mut c = Command::new(bin);
                c.args([
                    "--host",
                    "127.0.0.1",
                    "--port",
                    &port.to_string(),
                    "--standalone",
                    "--log-level",
                    "WARNING",
                ])
                .arg("--storage-path")
                .arg(data_dir);
                c
            }
        }
    }
}

/// The first executable called `name` on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A real MongoDB-wire server on a free loopback port, with its own data folder. It can be
/// stopped, paused and restarted on the same port and data, as an outage test needs.
#[derive(Debug)]
pub struct MongoServer {
    program: MongoProgram,
    port: u16,
    data_dir: PathBuf,
    log: PathBuf,
    child: Option<ChildGuard>,
    _scratch: Scratch,
}

impl MongoServer {
    /// Starts a server and waits until it accepts connections. Panics with the reason (no
    /// server program, or it did not come up) so a test says what is missing.
    pub fn start() -> Self {
        let program = MongoProgram::find().unwrap_or_else(|e| panic!("{e}"));
        let scratch = Scratch::new("mongo");
        let data_dir = scratch.path.join("data");
        std::fs::create_dir_all(&data_dir).expect("create data dir");
        let log = scratch.path.join("server.log");
        let mut server = Self {
            program,
            port: free_port(),
            data_dir,
            log,
            child: None,
            _scratch: scratch,
        };
        server.resume_after_stop();
        server
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mongodb://127.0.0.1:PORT/?directConnection=true`.
    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    /// The server's log so far, for assertion messages.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the server (connections are then refused). The data folder stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill();
        }
    }

    /// Freezes the server with SIGSTOP: connections are accepted by the kernel, never answered.
    pub fn pause(&self) {
        if let Some(child) = &self.child {
            child.signal(libc::SIGSTOP);
        }
    }

    /// Thaws a paused server with SIGCONT.
    pub fn unpause(&self) {
        if let Some(child) = &self.child {
            child.signal(libc::SIGCONT);
        }
    }

    /// Starts the server again on the same port and data, after `stop`, and waits until it
    /// accepts connections.
    pub fn resume_after_stop(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        let cmd = self.program.command(self.port, &self.data_dir);
        let mut child = ChildGuard::spawn("mongodb server", cmd, Some(&self.log))
            .unwrap_or_else(|e| panic!("{e}"));
        let addr: SocketAddr = ([127, 0, 0, 1], self.port).into();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !accepts_tcp(addr) {
            if child.has_exited() || Instant::now() > deadline {
                panic!(
                    "the MongoDB-wire server on port {} did not come up; its log:\n{}",
                    self.port,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
    }
}

/// A scratch folder under `target/testkit/`, removed on drop.
#[derive(Debug)]
pub struct Scratch {
    /// The folder.
    pub path: PathBuf,
}

impl Scratch {
    /// A new empty folder whose name starts with `prefix`.
    pub fn new(prefix: &str) -> Self {
        let base = workspace_root().join("target/testkit");
        std::fs::create_dir_all(&base).expect("create target/testkit");
        let unique = format!(
            "{prefix}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
        );
        let path = base.join(unique);
        std::fs::create_dir_all(&path).expect("create scratch folder");
        Self { path }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The path of a binary of this workspace built by the current cargo invocation, such as
/// `target/debug/focus-server`, found next to the running test executable.
/// `cargo test --workspace` builds every package's binaries before it runs tests.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // Test executables live in target/<profile>/deps/; binaries in target/<profile>/.
    let candidates = exe
        .ancestors()
        .skip(1)
        .take(2)
        .map(|d| d.join(name))
        .collect::<Vec<_>>();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the workspace binary {name} is not built (looked at {candidates:?}); \
             run the tests with `cargo test --workspace`, which builds it"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_returns_once_the_condition_holds() {
        let mut calls = 0;
        wait_until("three calls", Duration::from_secs(1), || {
            calls += 1;
            calls == 3
        });
        assert_eq!(calls, 3);
    }

    #[test]
    #[should_panic(expected = "waiting for the impossible")]
    fn wait_until_names_what_it_waited_for() {
        wait_until("the impossible", Duration::from_millis(50), || false);
    }

    #[test]
    fn mongo_server_stops_and_comes_back_on_the_same_port() {
        let mut server = MongoServer::start();
        let addr: SocketAddr = ([127, 0, 0, 1], server.port()).into();
        assert!(accepts_tcp(addr));
        server.stop();
        wait_until(
            "the stopped server to refuse",
            Duration::from_secs(5),
            || !accepts_tcp(addr),
        );
        server.resume_after_stop();
        assert!(accepts_tcp(addr));
    }
}
