//! The real server's figures and endpoints (issue 13 §1–3) and the storable-body rule
//! (issue 12 items 1–2), over HTTP against a real server and a real MongoDB-wire server.

use crate::support;

use std::time::{Duration, Instant};

use mongodb::bson::{Bson, doc};
use serde_json::{Value, json};
use support::{DATABASE, FocusServer, TICKET_BODY, find_docs, live_body, shared_stack};
use testkit::{MongoServer, wait_until};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A NUL character in a field name, at the top or deep down, on every configure form: 422
/// naming the field, never a 5xx, nothing started.
#[test]
fn a_nul_field_name_is_refused_on_every_form() {
    let s = &shared_stack().server;
    let mut live: Value = serde_json::from_str(&live_body()).unwrap();
    live["\u{0}"] = json!(1);
    let mut deep: Value = serde_json::from_str(&live_body()).unwrap();
    deep["displayInfo"]["x\u{0}"] = json!(true);
    let mut historic = deep.clone();
    historic["start_time"] = json!(1_735_689_600);
    historic["end_time"] = json!(1_735_690_200);
    let mut legacy: Value = serde_json::from_str(TICKET_BODY).unwrap();
    legacy["sensors"]["\u{0}"] = json!([]);
    let cases = [
        ("/configure?task_id=nul-live", live, "body.\"\\0\""),
        (
            "/configure?task_id=nul-deep",
            deep,
            "body.displayInfo.\"x\\0\"",
        ),
        (
            "/configure?task_id=nul-historic",
            historic,
            "body.displayInfo.\"x\\0\"",
        ),
        ("/config/nul-legacy", legacy, "body.sensors.\"\\0\""),
    ];
    for (path, body, field) in cases {
        let r = s.post(path, &body.to_string());
        assert_eq!(r.status, 422, "{path}: {}", r.body);
        let error = r.json()["error"].as_str().unwrap().to_owned();
        assert!(
            error.starts_with(&format!("{field}: a field name contains a NUL character")),
            "{path}: {error}"
        );
    }
    for task in ["nul-live", "nul-deep", "nul-historic", "nul-legacy"] {
        assert!(s.jobs_of(task).is_empty(), "a job started for {task}");
    }
}

#[test]
fn sensors_lists_every_index() {
    let s = &shared_stack().server;
    for p in ["", "/focus-server"] {
        let r = s.get(&format!("{p}/sensors")).unwrap();
        assert_eq!(r.status, 200);
        let sensors = r.json()["sensors"].as_array().unwrap().clone();
        assert_eq!(sensors.len(), 2222);
        assert!(sensors.iter().enumerate().all(|(i, v)| v == &json!(i)));
    }
}

#[test]
fn recordings_accept_a_seven_day_window_and_more() {
    let s = &shared_stack().server;
    let now = now();
    for days in [7, 30] {
        let body = json!({"start_time": now - days * 86_400, "end_time": now});
        let r = s.post("/recordings_in_time_range", &body.to_string());
        assert_eq!(r.status, 200, "{days} days: {}", r.body);
        let spans = r.json().as_array().unwrap().clone();
        assert!(!spans.is_empty(), "{days} days: {}", r.body);
    }
}

/// The configure response carries the real server's figures, and `GET /metadata/{job_id}`
/// answers in its shape with the request under `request`.
#[test]
fn configure_and_metadata_carry_the_real_figures() {
    let s = &shared_stack().server;
    let r = s.post("/configure?task_id=figures", &live_body());
    assert_eq!(r.status, 200, "{}", r.body);
    let b = r.json();
    assert_eq!(b["stream_amount"], 3);
    assert_eq!(
        b["channel_to_stream_index"],
        json!({"1": 0, "2": 0, "3": 0, "4": 1, "5": 1, "6": 1, "7": 2, "8": 2})
    );
    assert_eq!(b["lines_dt"], 0.01);
    assert_eq!(b["frequencies_amount"], 64);
    let job = b["job_id"].as_str().unwrap();
    let meta = s.get(&format!("/metadata/{job}")).unwrap();
    assert_eq!(meta.status, 200, "{}", meta.body);
    let m = meta.json();
    for key in [
        "status",
        "frequencies_list",
        "lines_dt",
        "channel_to_stream_index",
        "stream_amount",
        "job_id",
        "frequencies_amount",
        "channel_amount",
        "stream_port",
        "stream_url",
        "view_type",
    ] {
        assert_eq!(m[key], b[key], "metadata {key}");
    }
    assert_eq!(
        m["request"],
        serde_json::from_str::<Value>(&live_body()).unwrap()
    );
    s.request("DELETE", &format!("/job/{job}"), None).unwrap();
}

/// A historic job goes 200 → 201 → 208 on the waterfall over its playback, with the task
/// form of the metadata (201, flat) meanwhile; bad row counts are 400, unknown tasks 404.
#[test]
fn the_waterfall_follows_a_historic_playback() {
    let s = &shared_stack().server;
    let start = now() - 86_400;
    // lines_dt = 20/10 = 2 s over a 6 s window: three rows, over 6 s after the start.
    let body = json!({"displayInfo": {"height": 10}, "displayTimeAxisDuration": 20,
        "channels": {"min": 1, "max": 2}, "view_type": "0", "nfftSelection": 1024,
        "frequencyRange": {"min": 0, "max": 500}, "start_time": start, "end_time": start + 6});
    let task = "waterfall-task";
    let r = s.post(&format!("/configure?task_id={task}"), &body.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    let configured = Instant::now();
    let mut statuses = Vec::new();
    let mut rows = 0;
    let deadline = configured + Duration::from_secs(30);
    while statuses.last() != Some(&208) {
        assert!(
            Instant::now() < deadline,
            "no 208 within 30 s: {statuses:?}"
        );
        let w = s.get(&format!("/waterfall/{task}/100")).unwrap();
        if statuses.last() != Some(&w.status) {
            statuses.push(w.status);
        }
        if w.status == 201 {
            let block = &w.json()[0];
            let got = block["rows"].as_array().unwrap();
            rows += got.len();
            let row = &got[0];
            assert_eq!(row["canvasId"], task);
            assert_eq!(row["sensors"].as_array().unwrap().len(), 2);
            assert_eq!(row["sensors"][0]["intensity"].as_array().unwrap().len(), 64);
            assert!(row["endTimestamp"].as_i64() > row["startTimestamp"].as_i64());
            assert!(row["startTimestamp"].as_i64().unwrap() >= start * 1000);
            assert!(block["current_max_amp"].as_f64() >= block["current_min_amp"].as_f64());
        }
        if statuses.len() == 1 {
            let meta = s.get(&format!("/metadata/{task}")).unwrap();
            assert_eq!(meta.status, 201, "{}", meta.body);
            let m = meta.json();
            assert!(
                m.as_object()
                    .unwrap()
                    .values()
                    .all(|v| !v.is_object() && !v.is_array()),
                "{m}"
            );
            assert_eq!(
                (m["task_id"].as_str(), m["prr"].as_f64()),
                (Some(task), Some(2000.0))
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(statuses.first(), Some(&200), "{statuses:?}");
    assert!(statuses.contains(&201), "{statuses:?}");
    assert!(
        configured.elapsed() >= Duration::from_secs(5),
        "finished early: {statuses:?}"
    );
    assert!((1..=3).contains(&rows), "{rows} rows");
    for bad in ["0", "-1", "abc"] {
        let r = s.get(&format!("/waterfall/{task}/{bad}")).unwrap();
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let unknown = s.get("/waterfall/no-such-task/10").unwrap();
    assert_eq!(unknown.status, 404);
    assert_eq!(s.get("/metadata/no-such-task").unwrap().status, 404);
}

/// A stopped live job: the waterfall says 208 and the task metadata is an empty 200.
#[test]
fn a_stopped_job_reports_its_analyser_finished() {
    let s = &shared_stack().server;
    let r = s.post("/config/waterfall-stop", TICKET_BODY);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(s.get("/metadata/waterfall-stop").unwrap().status, 201);
    s.request("DELETE", "/job/waterfall-stop", None).unwrap();
    assert_eq!(s.get("/waterfall/waterfall-stop/5").unwrap().status, 208);
    let meta = s.get("/metadata/waterfall-stop").unwrap();
    assert_eq!((meta.status, meta.json()), (200, json!({})));
}

/// The recordings live where the real product keeps them, read back with the driver.
#[test]
fn the_recordings_layout_is_the_real_products() {
    let stack = shared_stack();
    let uri = stack.mongo.uri();
    let bases = find_docs(&uri, DATABASE, "base_paths", doc! {});
    assert!(!bases.is_empty(), "no base_paths");
    for base in &bases {
        assert!(base.get_str("base_path").is_ok(), "{base}");
        assert!(base.get_bool("is_archive").is_ok(), "{base}");
        let guid = base.get_str("guid").unwrap();
        let recordings = find_docs(&uri, DATABASE, guid, doc! {});
        assert!(
            recordings.len() > 7 * 24,
            "{guid}: {} recordings",
            recordings.len()
        );
        for r in &recordings {
            assert!(r.get_str("uuid").is_ok(), "{r}");
            assert!(
                matches!(r.get("start_time"), Some(Bson::DateTime(_))),
                "{r}"
            );
            assert!(matches!(r.get("end_time"), Some(Bson::DateTime(_))), "{r}");
            assert_eq!(r.get_bool("deleted"), Ok(false), "{r}");
        }
    }
    let jobs = find_docs(
        &uri,
        DATABASE,
        focus_server::db::records::COLLECTION,
        doc! {},
    );
    assert!(!jobs.is_empty() || stack.server.jobs_of("test_task").is_empty());
}

/// With `--seed-recordings`, `/ready` is 200 only once the index is seeded, and stays 200
/// through a later MongoDB outage.
#[test]
fn ready_waits_for_the_seed_and_survives_an_outage() {
    let mut mongo = MongoServer::start();
    mongo.stop();
    let server = FocusServer::spawn(&mongo.uri(), &["--seed-recordings"]);
    server.wait_db("down", Duration::from_secs(10));
    let r = server.get("/ready").unwrap();
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.json()["error"].as_str().unwrap().contains("seeding"),
        "{}",
        r.body
    );
    mongo.resume_after_stop();
    wait_until("/ready to answer 200", Duration::from_secs(30), || {
        server.get("/ready").is_ok_and(|r| r.status == 200)
    });
    assert_eq!(server.db_health()["recordings_seeded"], true);
    mongo.stop();
    server.wait_db("down", Duration::from_secs(10));
    assert_eq!(server.get("/ready").unwrap().status, 200);
}
