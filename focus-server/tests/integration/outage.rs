//! MongoDB outages against real processes: the server killed (refused), blackholed (a proxy
//! that accepts and never answers) and frozen with SIGSTOP. For each: a 503 with the right
//! body and `Retry-After`, nothing orchestrated or written, the gate closing and reopening,
//! live configure working throughout (its record landing after recovery), validation still
//! answering 4xx, and recovery with the data written before intact.
//!
//! The latency limits themselves are benchmark figures (examples/outage_bench.rs); the bounds
//! here are safety nets only.

use crate::support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::blackhole::BlackholeProxy;
use support::{FocusServer, TICKET_BODY, live_body, records_of_task};
use testkit::{MongoServer, wait_until};

/// The generous safety net: the SLA is 5 s.
const SLA: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outage {
    Refused,
    Blackholed,
    Paused,
}

struct Rig {
    mongo: MongoServer,
    proxy: Option<BlackholeProxy>,
}

impl Rig {
    fn start(kind: Outage) -> Self {
        let mongo = MongoServer::start();
        let proxy = (kind == Outage::Blackholed)
            .then(|| BlackholeProxy::start(([127, 0, 0, 1], mongo.port()).into()));
        Self { mongo, proxy }
    }

    fn server_uri(&self) -> String {
        self.proxy
            .as_ref()
            .map_or_else(|| self.mongo.uri(), BlackholeProxy::mongo_uri)
    }

    fn inject(&mut self, kind: Outage) {
        match kind {
            Outage::Refused => self.mongo.stop(),
            Outage::Blackholed => self.proxy.as_ref().unwrap().set_blackholed(true),
            Outage::Paused => self.mongo.pause(),
        }
    }

    fn heal(&mut self, kind: Outage) {
        match kind {
            Outage::Refused => self.mongo.resume_after_stop(),
            Outage::Blackholed => self.proxy.as_ref().unwrap().set_blackholed(false),
            Outage::Paused => self.mongo.unpause(),
        }
    }
}

fn historic_body() -> String {
    json!({"displayInfo": {"height": 500}, "channels": {"min": 1, "max": 3}, "view_type": "0", "nfftSelection": 1024,
        "start_time": 1_735_689_600, "end_time": 1_735_690_200})
    .to_string()
}

fn outage_scenario(kind: Outage) {
    let mut rig = Rig::start(kind);
    let server = FocusServer::start(&rig.server_uri(), &["--seed-recordings"]);
    server.wait_seeded();
    let before = server.post("/config/before", TICKET_BODY);
    assert_eq!(before.status, 200, "{}", before.body);
    let closes_before = server.db_health()["gate_closes"].as_u64().unwrap();

    rig.inject(kind);
    let outage_started = Instant::now();

    // Historic configure answers 503 with the agreed body, within the SLA each time.
    let mut first_503 = None;
    let mut attempts = Vec::new();
    while first_503.is_none() {
        assert!(
            outage_started.elapsed() < Duration::from_secs(20),
            "no 503 within 20 s of the outage"
        );
        let task = format!("during-{}", attempts.len());
        let r = server.post(&format!("/configure?task_id={task}"), &historic_body());
        attempts.push(task);
        assert!(
            r.elapsed < SLA,
            "{kind:?}: a configure took {:?}",
            r.elapsed
        );
        match r.status {
            503 => first_503 = Some(r),
            // A request that raced the outage may still have succeeded.
            200 => {}
            other => panic!("{kind:?}: unexpected {other}: {}", r.body),
        }
    }
    let r = first_503.unwrap();
    let body = r.json();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("database unavailable: "),
        "{body}"
    );
    assert!(body.get("detail").is_some_and(|d| d.is_object()), "{body}");
    assert_eq!(r.header("retry-after"), Some("1"));

    // The gate closes; later requests are refused at once (safety net: well under the SLA).
    server.wait_db("down", Duration::from_secs(10));
    assert!(server.db_health()["gate_closes"].as_u64().unwrap() > closes_before);
    for i in 0..5 {
        let task = format!("gated-{i}");
        let r = server.post(&format!("/configure?task_id={task}"), &historic_body());
        attempts.push(task);
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(
            r.elapsed < Duration::from_secs(1),
            "a gated 503 took {:?}",
            r.elapsed
        );
        let error = r.json()["error"].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            error.matches("database unavailable").count(),
            1,
            "the error says what failed once: {error}"
        );
    }
    let legacy = server.post("/config/during_legacy", TICKET_BODY);
    assert_eq!(legacy.status, 503);
    attempts.push("during_legacy".to_owned());
    let rec = server.post(
        "/recordings_in_time_range",
        r#"{"start_time": 1735689600, "end_time": 1735690200}"#,
    );
    assert_eq!(rec.status, 503, "{}", rec.body);

    // Nothing orchestrated for the refused requests.
    let last_ok = attempts.len() - 7; // the gated and legacy ones were surely refused
    for task in &attempts[last_ok..] {
        assert!(
            server.jobs_of(task).is_empty(),
            "{kind:?}: a job exists for {task}"
        );
    }

    // Validation still answers 4xx; live configure still works.
    let bad = server.post(
        "/configure",
        r#"{"displayInfo": {"height": 0}, "channels": {"min": 1, "max": 2}, "view_type": 0}"#,
    );
    assert_eq!(
        (bad.status, bad.json()["error"].as_str()),
        (
            400,
            Some("displayInfo.height: must be from 1 to 10000, got 0")
        )
    );
    let missing = server.post(
        "/configure",
        r#"{"channels": {"min": 1, "max": 2}, "view_type": 0}"#,
    );
    assert_eq!(missing.status, 422);
    let live = server.post("/configure?task_id=live-during", &live_body());
    assert_eq!(live.status, 200, "{}", live.body);
    assert!(live.elapsed < Duration::from_secs(1));
    assert_eq!(server.jobs_of("live-during").len(), 1);
    assert!(server.db_health()["pending_writes"].as_u64().unwrap() >= 1);
    assert_eq!(server.get("/health").unwrap().status, 200);
    assert_eq!(server.get("/ready").unwrap().status, 200);

    // Recovery: the gate reopens by itself, historic configure works again.
    rig.heal(kind);
    let healed = Instant::now();
    server.wait_db("up", Duration::from_secs(15));
    wait_until(
        "historic configure to answer 200 again",
        Duration::from_secs(15),
        || {
            server
                .post("/configure?task_id=after", &historic_body())
                .status
                == 200
        },
    );
    eprintln!("{kind:?}: back to 200 {:?} after healing", healed.elapsed());

    // The data written before is intact, the live record landed, nothing half-written.
    let uri = rig.mongo.uri();
    let before_records = records_of_task(&uri, "before");
    assert_eq!(before_records.len(), 1, "{before_records:?}");
    assert_eq!(before_records[0]["state"], "running");
    wait_until(
        "the live record written during the outage to land",
        Duration::from_secs(15),
        || {
            records_of_task(&uri, "live-during")
                .iter()
                .any(|r| r["state"] == "running")
        },
    );
    for task in &attempts[last_ok..] {
        let stray: Vec<_> = records_of_task(&uri, task)
            .into_iter()
            .filter(|r| r["state"] == "running")
            .collect();
        assert!(
            stray.is_empty(),
            "{kind:?}: a running record for refused {task}: {stray:?}"
        );
    }
}

#[test]
fn mongodb_killed_connections_refused() {
    outage_scenario(Outage::Refused);
}

#[test]
fn mongodb_blackholed_by_a_proxy() {
    outage_scenario(Outage::Blackholed);
}

#[test]
fn mongodb_frozen_with_sigstop() {
    outage_scenario(Outage::Paused);
}

/// The proxy really is the only path: a blackhole closes the gate (no replica-set discovery
/// bypasses it, thanks to directConnection).
#[test]
fn the_blackhole_blocks_the_servers_own_path() {
    let rig = Rig::start(Outage::Blackholed);
    let server = FocusServer::start(&rig.server_uri(), &[]);
    server.wait_db("up", Duration::from_secs(10));
    rig.proxy.as_ref().unwrap().set_blackholed(true);
    server.wait_db("down", Duration::from_secs(10));
    let r = server.post(
        "/recordings_in_time_range",
        r#"{"start_time": 1735689600, "end_time": 1735690200}"#,
    );
    assert_eq!(r.status, 503);
}

/// `--fail-fast off` keeps the old behaviour: no gate, the driver's own wait. (A short
/// `--db-timeout` keeps the test quick; the benchmark runs the real 30 s.)
#[test]
fn the_legacy_mode_waits_for_the_driver() {
    let mut mongo = MongoServer::start();
    let server = FocusServer::start(
        &mongo.uri(),
        &[
            "--seed-recordings",
            "--db-timeout",
            "3s",
            "--fail-fast",
            "off",
        ],
    );
    server.wait_seeded();
    mongo.stop();
    server.wait_db("down", Duration::from_secs(10));
    let r = server.post("/configure?task_id=legacy", &historic_body());
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.elapsed >= Duration::from_millis(2500),
        "the legacy mode answered in {:?}: it must wait",
        r.elapsed
    );
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .starts_with("database unavailable: ")
    );
    assert!(server.jobs_of("legacy").is_empty());
}
