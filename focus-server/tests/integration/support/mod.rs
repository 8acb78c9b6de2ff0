//! Shared support of the focus-server tests and the outage benchmark: the server as a real
//! process, a blocking HTTP client, a blackhole proxy, and direct reads of MongoDB.
#![allow(dead_code)]

pub mod blackhole;
pub mod http;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use testkit::{ChildGuard, MongoServer, Scratch, free_port, wait_until};

pub use http::Response;

/// The P0 ticket's exact request body (`POST /config/test_task`).
pub const TICKET_BODY: &str = r#"{"displayTimeAxisDuration": 10, "nfftSelection": 1024, "canvasInfo": {"height": 1000}, "sensors": {"min": 1, "max": 3}, "frequencyRange": {"min": 0, "max": 500}, "start_time": "250101000000", "end_time": "250101001000"}"#;

/// A live multichannel configure body.
pub fn live_body() -> String {
    json!({"displayInfo": {"height": 1000}, "channels": {"min": 1, "max": 8}, "view_type": "0",
        "nfftSelection": 1024, "frequencyRange": {"min": 0, "max": 500}, "displayTimeAxisDuration": 10,
        "start_time": null, "end_time": null})
    .to_string()
}

/// The `focus-server` binary: cargo's own path in integration tests, else next to the test.
pub fn focus_server_bin() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_focus-server") {
        Some(path) => PathBuf::from(path),
        None => testkit::workspace_bin("focus-server"),
    }
}

/// A focus-server process on a free loopback port; killed on drop.
#[derive(Debug)]
pub struct FocusServer {
    child: ChildGuard,
    addr: SocketAddr,
    log: PathBuf,
    _scratch: Scratch,
}

impl FocusServer {
    /// Starts `bin` against `mongo_uri` with `args`, and waits until `/ready` answers 200.
    pub fn start_with(bin: &Path, mongo_uri: &str, args: &[&str]) -> Self {
        Self::start_spawned(Self::spawn_with(bin, mongo_uri, args, true))
    }

    /// Starts `bin`, a build from before the data stream (no `--stream-base-port`), and waits
    /// until it is ready: the outage benchmark's baseline.
    pub fn start_older(bin: &Path, mongo_uri: &str, args: &[&str]) -> Self {
        Self::start_spawned(Self::spawn_with(bin, mongo_uri, args, false))
    }

    fn start_spawned(mut server: Self) -> Self {
        let mut ready = false;
        for _ in 0..1000 {
            if server.child.has_exited() {
                break;
            }
            if server.get("/ready").is_ok_and(|r| r.status == 200) {
                ready = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            ready,
            "focus-server did not become ready; its log:\n{}",
            server.log_text()
        );
        server
    }

    /// Starts the test build against `mongo_uri` with `args`, and waits until it answers
    /// `/health` (ready or not).
    pub fn spawn(mongo_uri: &str, args: &[&str]) -> Self {
        let server = Self::spawn_with(&focus_server_bin(), mongo_uri, args, true);
        wait_until(
            "focus-server to answer /health",
            Duration::from_secs(20),
            || server.get("/health").is_ok_and(|r| r.status == 200),
        );
        server
    }

    /// Starts `bin` against `mongo_uri` with `args`, without waiting.
    fn spawn_with(bin: &Path, mongo_uri: &str, args: &[&str], stream_port: bool) -> Self {
        let scratch = Scratch::new("focus-server");
        let log = scratch.path.join("focus-server.log");
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let mut cmd = Command::new(bin);
        cmd.arg("--listen")
            .arg(addr.to_string())
            .arg("--mongo-uri")
            .arg(mongo_uri)
            .args(args);
        if stream_port && !args.contains(&"--stream-base-port") {
            // The jobs' stream ports start at a free port, not the fixed default.
            cmd.arg("--stream-base-port").arg(free_port().to_string());
        }
        cmd.env("RUST_LOG", "info,mongodb=warn");
        let child =
            ChildGuard::spawn("focus-server", cmd, Some(&log)).unwrap_or_else(|e| panic!("{e}"));
        Self {
            child,
            addr,
            log,
            _scratch: scratch,
        }
    }

    /// Starts the test build of the server.
    pub fn start(mongo_uri: &str, args: &[&str]) -> Self {
        Self::start_with(&focus_server_bin(), mongo_uri, args)
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Whether it still runs.
    pub fn is_running(&mut self) -> bool {
        !self.child.has_exited()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.child.signal(libc::SIGTERM);
        self.child.wait_timeout(timeout)
    }

    /// Its log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// One request with a 10 s client timeout.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> std::io::Result<Response> {
        http::request(
            self.addr,
            method,
            path,
            body.map(str::as_bytes),
            Duration::from_secs(10),
        )
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> std::io::Result<Response> {
        self.request("GET", path, None)
    }

    /// `POST path` with `body`; panics on a transport error.
    pub fn post(&self, path: &str, body: &str) -> Response {
        self.request("POST", path, Some(body))
            .unwrap_or_else(|e| panic!("POST {path}: {e}\n{}", self.log_text()))
    }

    /// `/health`'s `database` object.
    pub fn db_health(&self) -> Value {
        self.get("/health").expect("GET /health").json()["database"].clone()
    }

    /// Waits until `/health` reports the database `state` (`up` or `down`).
    pub fn wait_db(&self, state: &str, timeout: Duration) {
        wait_until(&format!("the database gate to be {state}"), timeout, || {
            self.get("/health")
                .is_ok_and(|r| r.json()["database"]["state"] == state)
        });
    }

    /// Waits until the recordings index is seeded and the gate is open.
    pub fn wait_seeded(&self) {
        wait_until(
            "the recordings index to be seeded",
            Duration::from_secs(30),
            || {
                self.get("/health")
                    .is_ok_and(|r| r.json()["database"]["recordings_seeded"] == true)
            },
        );
    }

    /// `GET /jobs?task_id=…` as JSON.
    pub fn jobs_of(&self, task: &str) -> Vec<Value> {
        let r = self
            .get(&format!("/jobs?task_id={task}"))
            .expect("GET /jobs");
        assert_eq!(r.status, 200, "{}", r.body);
        r.json().as_array().cloned().unwrap_or_default()
    }
}

/// A MongoDB-wire server and a seeded focus-server that live as long as the test binary.
#[derive(Debug)]
pub struct Stack {
    /// The database.
    pub mongo: MongoServer,
    /// The server under test.
    pub server: FocusServer,
}

/// The shared stack, started once on a thread that never ends (children die with the thread
/// that started them, so they must not be started from a short-lived test thread).
pub fn shared_stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mongo = MongoServer::start();
            let server =
                FocusServer::start(&mongo.uri(), &["--seed-recordings", "--channels", "2222"]);
            server.wait_seeded();
            tx.send(Stack { mongo, server })
                .expect("hand the stack over");
            loop {
                std::thread::park();
            }
        });
        rx.recv()
            .expect("the shared stack thread started the servers")
    })
}

/// The server's database (its default).
pub const DATABASE: &str = "prisma";

/// Reads job records straight from MongoDB (a separate client, so the server's gate is not
/// involved).
pub fn records_of_task(mongo_uri: &str, task: &str) -> Vec<Value> {
    find_docs(
        mongo_uri,
        DATABASE,
        focus_server::db::records::COLLECTION,
        mongodb::bson::doc! {"task_id": task},
    )
    .into_iter()
    .map(|d| serde_json::to_value(d).expect("to JSON"))
    .collect()
}

/// Reads the documents of `db.coll` matching `filter` with the mongodb driver.
pub fn find_docs(
    mongo_uri: &str,
    db: &str,
    coll: &str,
    filter: mongodb::bson::Document,
) -> Vec<mongodb::bson::Document> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        use futures::TryStreamExt;
        let client = mongodb::Client::with_uri_str(mongo_uri)
            .await
            .expect("client");
        let coll = client
            .database(db)
            .collection::<mongodb::bson::Document>(coll);
        coll.find(filter)
            .await
            .expect("find")
            .try_collect()
            .await
            .expect("collect")
    })
}

/// A MongoDB-wire server, the Focus Server's settings pointing at it, and a one-worker runtime
/// to drive the server's database code in-process.
pub fn mongo_and_runtime() -> (MongoServer, focus_server::Settings, tokio::runtime::Runtime) {
    let mongo = MongoServer::start();
    let settings = focus_server::Settings {
        mongo_uri: focus_server::config::with_direct_connection(&mongo.uri()),
        ..focus_server::Settings::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    (mongo, settings, rt)
}
