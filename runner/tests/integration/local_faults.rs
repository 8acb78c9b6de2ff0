//! The local environment's faults against real processes: a real MongoDB-wire server (mongod or
//! SecantusDB, found as the runner finds it) and the real Focus Server, through the services.
//! Each test prints the figures it measures.

use crate::local_support;

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use local_support::{Harness, eventually, focus_server, historic_configure, http, mongodb};
use mongodb::bson::{Document, doc};
use scenario_runner::env::{BlockMode, EnvError, Environment as _};

const PATIENCE: Duration = Duration::from_secs(30);

async fn insert_three(h: &Harness) -> mongodb::Collection<Document> {
    let docs = h
        .mongo()
        .await
        .database("local_env_test")
        .collection::<Document>("before_outage");
    let batch = [doc! {"n": 1}, doc! {"n": 2}, doc! {"n": 3}];
    docs.insert_many(batch)
        .await
        .expect("insert before the outage");
    docs
}

async fn count_through_a_new_client(h: &Harness) -> u64 {
    let docs = h
        .mongo()
        .await
        .database("local_env_test")
        .collection::<Document>("before_outage");
    docs.count_documents(doc! {})
        .await
        .expect("count after the outage")
}

/// One historic configure to the Focus Server: its status and how long the answer took.
async fn configure(client: &reqwest::Client, focus: &str, task: &str) -> (u16, Duration) {
    let started = Instant::now();
    let response = client
        .post(format!("{focus}/configure?task_id={task}"))
        .json(&historic_configure())
        .send()
        .await
        .expect("the Focus Server answers");
    (response.status().as_u16(), started.elapsed())
}

/// Configures (tasks `{prefix}-0`, `{prefix}-1`, …) until one gets a 503, at most `tries` times,
/// and asserts that every answer came inside the 5 s SLA.
async fn configure_until_503(
    client: &reqwest::Client,
    focus: &str,
    prefix: &str,
    tries: usize,
) -> Vec<(u16, Duration)> {
    let mut answers = Vec::new();
    while answers.last().is_none_or(|(status, _)| *status != 503) {
        assert!(
            answers.len() < tries,
            "no 503 from the Focus Server in {tries} configures: {answers:?}"
        );
        let task = format!("{prefix}-{}", answers.len());
        answers.push(configure(client, focus, &task).await);
    }
    assert!(
        answers
            .iter()
            .all(|(_, took)| *took < Duration::from_secs(5)),
        "{answers:?}"
    );
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaled_to_zero_mongodb_refuses_the_focus_server_answers_503_and_the_data_survives() {
    let h = Harness::start(&[mongodb("5s"), focus_server()]).await;
    let focus = h.env.focus_url();
    let client = http();
    insert_three(&h).await;
    eventually(
        "a configure to succeed before the outage",
        PATIENCE,
        || async { configure(&client, &focus, "before").await.0 == 200 },
    )
    .await;

    h.env.scale("mongodb", 0).await.unwrap();
    let probe = h.env.probe("mongodb").await.unwrap();
    println!(
        "probe right after scale to 0: {:?}, {}",
        probe.latency, probe.detail
    );
    assert!(!probe.reachable, "{probe:?}");
    assert!(probe.latency < Duration::from_secs(1), "{probe:?}");
    assert!(probe.detail.to_lowercase().contains("refused"), "{probe:?}");
    assert_eq!(h.env.memory("mongodb").await.unwrap(), None);
    assert_eq!(h.env.replicas("mongodb").await.unwrap(), 0);
    assert!(h.env.pods("mongodb").await.unwrap().is_empty());
    let deviations = h.env.deviations().await.unwrap();
    assert!(
        deviations
            .iter()
            .any(|d| d.target == "mongodb" && d.problem.contains("scaled to 0")),
        "{deviations:?}"
    );

    let answers = configure_until_503(&client, &focus, "during", 40).await;
    println!("configure answers during the outage (status, latency): {answers:?}");

    h.env.scale("mongodb", 1).await.unwrap();
    h.env.wait_ready("mongodb", PATIENCE).await.unwrap();
    assert!(h.env.probe("mongodb").await.unwrap().reachable);
    assert_eq!(
        count_through_a_new_client(&h).await,
        3,
        "documents written before the outage"
    );
    let recovered = eventually(
        "the Focus Server to recover by itself",
        PATIENCE,
        || async { configure(&client, &focus, "after").await.0 == 200 },
    )
    .await;
    println!("Focus Server serving again {recovered:?} after MongoDB was ready");
    eventually("the steady state", PATIENCE, || async {
        h.env.deviations().await.unwrap().is_empty()
    })
    .await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_pod_is_replaced_after_the_window_under_a_new_name_with_the_data() {
    let h = Harness::start(&[mongodb("2s")]).await;
    insert_three(&h).await;
    let before = h.env.pods("mongodb").await.unwrap();
    assert_eq!(before.len(), 1);
    assert!(before[0].ready);

    let deleted_at = Instant::now();
    let deleted = h.env.delete_pod("mongodb").await.unwrap();
    assert_eq!(deleted, before[0].name);
    let probe = h.env.probe("mongodb").await.unwrap();
    assert!(
        !probe.reachable,
        "reachable right after the delete: {probe:?}"
    );
    let during = h.env.pods("mongodb").await.unwrap();
    assert_eq!(
        during.len(),
        1,
        "the replacement exists at once: {during:?}"
    );
    assert!(!during[0].ready && during[0].name != deleted, "{during:?}");

    let window = eventually("mongodb to answer again", PATIENCE, || async {
        h.env.probe("mongodb").await.unwrap().reachable
    })
    .await;
    println!(
        "recreate window (delete to first successful ping through the service): {window:?}, recreate_delay 2s"
    );
    assert!(
        window >= Duration::from_secs(2),
        "back after {window:?}, inside the 2 s start-up window"
    );
    h.env.wait_ready("mongodb", PATIENCE).await.unwrap();
    let after = h.env.pods("mongodb").await.unwrap();
    assert_eq!(after.len(), 1);
    assert_ne!(after[0].name, before[0].name);
    assert!(after[0].ready);
    assert_eq!(
        after[0].restarts,
        before[0].restarts + 1,
        "the replacement counts the restart"
    );
    assert_eq!(
        count_through_a_new_client(&h).await,
        3,
        "documents written before the delete"
    );
    println!(
        "pods: {} -> {} after {:?}",
        before[0].name,
        after[0].name,
        deleted_at.elapsed()
    );

    let tail = h.env.log_tails(100).await;
    let mongo_log = tail
        .iter()
        .find(|t| t.source == "mongodb")
        .expect("mongodb's log tail");
    assert!(
        mongo_log
            .lines
            .iter()
            .any(|l| l.contains(&deleted) && l.contains("SIGTERM")),
        "{mongo_log:?}"
    );
    assert!(
        mongo_log
            .lines
            .iter()
            .any(|l| l.contains(&after[0].name) && l.contains("started")),
        "{mongo_log:?}"
    );
    assert!(h.env.deviations().await.unwrap().is_empty());
    let scratch = h.stop().await;
    let run_dir = scratch.path.join("runs/test-run");
    assert!(
        !run_dir.join("data").exists(),
        "the volume outlived the run"
    );
    let logs = std::fs::read_dir(run_dir.join("logs")).unwrap().count();
    assert_eq!(logs, 2, "one log file per pod, kept after the run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blackhole_makes_clients_time_out_instead_of_being_refused() {
    let h = Harness::start(&[mongodb("5s")]).await;
    let docs = insert_three(&h).await;
    let rss = h.env.memory("mongodb").await.unwrap().expect("a pod runs");
    println!("mongodb resident memory: {} MiB", rss >> 20);
    assert!(rss > 1 << 20, "{rss}");

    h.env
        .block_network("mongodb", BlockMode::Blackhole)
        .await
        .unwrap();
    let probe = h.env.probe("mongodb").await.unwrap();
    println!(
        "probe under blackhole: {:?}, {}",
        probe.latency, probe.detail
    );
    assert!(!probe.reachable, "{probe:?}");
    assert!(
        probe.latency >= Duration::from_millis(900),
        "answered too fast for a timeout: {probe:?}"
    );
    assert!(
        !probe.detail.to_lowercase().contains("refused"),
        "{probe:?}"
    );
    assert!(
        probe.detail.to_lowercase().contains("time"),
        "not a timeout: {probe:?}"
    );
    let connect = tokio::net::TcpStream::connect(h.addr("mongodb")).await;
    assert!(
        connect.is_ok(),
        "a blackholed service accepts the connection: {connect:?}"
    );
    let stalled = tokio::time::timeout(Duration::from_secs(2), docs.count_documents(doc! {})).await;
    assert!(
        stalled.is_err() || stalled.as_ref().is_ok_and(|r| r.is_err()),
        "an existing client got an answer: {stalled:?}"
    );
    let deviations = h.env.deviations().await.unwrap();
    assert!(
        deviations
            .iter()
            .any(|d| d.problem == "network blocked (blackhole)"),
        "{deviations:?}"
    );
    assert!(
        h.env.pods("mongodb").await.unwrap()[0].ready,
        "the pod itself stays ready, as under a NetworkPolicy"
    );

    h.env.unblock_network("mongodb").await.unwrap();
    let back = eventually("a ping after unblock", PATIENCE, || async {
        h.env.probe("mongodb").await.unwrap().reachable
    })
    .await;
    println!("reachable again {back:?} after unblock");
    assert_eq!(count_through_a_new_client(&h).await, 3);
    assert!(h.env.deviations().await.unwrap().is_empty());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuse_fails_clients_within_milliseconds() {
    let h = Harness::start(&[mongodb("5s")]).await;
    h.env
        .block_network("mongodb", BlockMode::Refuse)
        .await
        .unwrap();
    let started = Instant::now();
    let connect = tokio::net::TcpStream::connect(h.addr("mongodb")).await;
    let refused_after = started.elapsed();
    let probe = h.env.probe("mongodb").await.unwrap();
    println!(
        "refused TCP connect after {refused_after:?}; driver ping: {:?}, {}",
        probe.latency, probe.detail
    );
    assert_eq!(
        connect.map(|_| ()).unwrap_err().kind(),
        ErrorKind::ConnectionRefused
    );
    assert!(
        refused_after < Duration::from_millis(50),
        "{refused_after:?}"
    );
    assert!(!probe.reachable);
    assert!(probe.latency < Duration::from_millis(500), "{probe:?}");
    assert!(probe.detail.to_lowercase().contains("refused"), "{probe:?}");

    h.env.unblock_network("mongodb").await.unwrap();
    eventually("a ping after unblock", PATIENCE, || async {
        h.env.probe("mongodb").await.unwrap().reachable
    })
    .await;

    let unknown = h.env.scale("postgres", 0).await.unwrap_err();
    assert!(
        matches!(&unknown, EnvError::NotPermitted(m) if m.contains("postgres") && m.contains("mongodb")),
        "{unknown}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackhole_cuts_the_focus_servers_own_path_to_mongodb() {
    let h = Harness::start(&[mongodb("5s"), focus_server()]).await;
    let (focus, client) = (h.env.focus_url(), http());
    eventually(
        "a configure to succeed before the block",
        PATIENCE,
        || async { configure(&client, &focus, "before").await.0 == 200 },
    )
    .await;

    h.env
        .block_network("mongodb", BlockMode::Blackhole)
        .await
        .unwrap();
    let answers = configure_until_503(&client, &focus, "blocked", 20).await;
    println!("configure answers under blackhole (status, latency): {answers:?}");

    h.env.unblock_network("mongodb").await.unwrap();
    let back = eventually("a 200 after the unblock", PATIENCE, || async {
        configure(&client, &focus, "after").await.0 == 200
    })
    .await;
    println!("Focus Server serving again {back:?} after the unblock");
    h.stop().await;
}
