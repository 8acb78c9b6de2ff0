//! Every endpoint against a real focus-server process and a real MongoDB-wire server, at `/`
//! and under `/focus-server/`.

use crate::support;

use serde_json::{Value, json};
use support::{TICKET_BODY, live_body, records_of_task, shared_stack};
use testkit::wait_until;

use std::time::Duration;

const PREFIXES: [&str; 2] = ["", "/focus-server"];

#[test]
fn ack_answers_an_empty_object_and_refuses_other_methods() {
    let s = &shared_stack().server;
    for p in PREFIXES {
        let r = s.get(&format!("{p}/ack")).unwrap();
        assert_eq!((r.status, r.json()), (200, json!({})));
        let r = s.post(&format!("{p}/ack"), "{}");
        assert_eq!(r.status, 405, "{}", r.body);
        assert_eq!(
            r.json()["error"],
            format!("method POST is not allowed on {p}/ack")
        );
    }
}

#[test]
fn static_metadata_comes_from_configuration() {
    let s = &shared_stack().server;
    for p in PREFIXES {
        let r = s.get(&format!("{p}/channels")).unwrap();
        assert_eq!(
            (r.status, r.json()),
            (200, json!({"lowest_channel": 1, "highest_channel": 2222}))
        );
        let meta = s.get(&format!("{p}/live_metadata")).unwrap().json();
        assert_eq!(meta["prr"], 2000.0);
        assert_eq!(meta["number_of_channels"], 2222);
        for key in [
            "dx",
            "fiber_start_meters",
            "fiber_length_meters",
            "sw_version",
            "fiber_description",
            "num_samples_per_trace",
            "dtype",
        ] {
            assert!(meta.get(key).is_some(), "live_metadata lacks {key}: {meta}");
        }
    }
}

#[test]
fn the_tickets_exact_curl_gets_200() {
    let stack = shared_stack();
    let r = stack.server.post("/config/test_task", TICKET_BODY);
    assert_eq!(r.status, 200, "{}", r.body);
    let b = r.json();
    assert_eq!(b["status"], "success");
    assert_eq!(b["job_id"], "test_task");
    assert_eq!(b["view_type"], "0");
    assert_eq!(b["channel_amount"], 3);
    assert_eq!(b["stream_amount"], 3);
    assert_eq!(
        b["channel_to_stream_index"],
        json!({"1": 0, "2": 1, "3": 2})
    );
    // Multichannel: bins 4·PRR/nfft wide over [0, 500), spread over [0, 499].
    assert_eq!(b["frequencies_list"][1], 499.0 / 64.0);
    assert_eq!(b["frequencies_amount"], 64);
    assert_eq!(b["lines_dt"], 0.01);
    assert!(
        b["stream_port"].is_u64() && b["stream_url"].is_string(),
        "{b}"
    );
    // The record is in MongoDB, acknowledged before the job started.
    let records = records_of_task(&stack.mongo.uri(), "test_task");
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "historic"
                && r["window"] == json!([1_735_689_600.0, 1_735_690_200.0])),
        "{records:?}"
    );
}

#[test]
fn configure_starts_a_job_that_jobs_metadata_and_delete_see() {
    let stack = shared_stack();
    let s = &stack.server;
    for p in PREFIXES {
        let task = format!("api-task{}", p.replace('/', "-"));
        let r = s.post(&format!("{p}/configure?task_id={task}"), &live_body());
        assert_eq!(r.status, 200, "{}", r.body);
        let job_id = r.json()["job_id"].as_str().unwrap().to_owned();
        let jobs = s.jobs_of(&task);
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        assert_eq!(
            (
                jobs[0]["job_id"].as_str(),
                jobs[0]["state"].as_str(),
                jobs[0]["view_type"].as_str()
            ),
            (Some(&*job_id), Some("running"), Some("0"))
        );
        assert!(jobs[0]["created_at"].as_str().unwrap().ends_with('Z'));
        let meta = s.get(&format!("{p}/metadata/{job_id}")).unwrap();
        assert_eq!(meta.status, 200);
        assert_eq!(meta.json()["job_id"], job_id.as_str());
        assert_eq!(
            meta.json()["request"],
            serde_json::from_str::<Value>(&live_body()).unwrap()
        );
        // The live record reaches MongoDB through the pending queue.
        wait_until(
            "the live record in MongoDB",
            Duration::from_secs(10),
            || {
                records_of_task(&stack.mongo.uri(), &task)
                    .iter()
                    .any(|r| r["job_id"] == job_id.as_str())
            },
        );
        let del = s
            .request("DELETE", &format!("{p}/job/{job_id}"), None)
            .unwrap();
        assert_eq!(del.status, 200, "{}", del.body);
        assert_eq!(s.jobs_of(&task)[0]["state"], "stopped");
        let gone = s.get(&format!("{p}/metadata/{job_id}")).unwrap();
        assert_eq!(
            (gone.status, gone.json()["error"].as_str()),
            (404, Some("Invalid job_id"))
        );
        let again = s
            .request("DELETE", &format!("{p}/job/{job_id}"), None)
            .unwrap();
        assert_eq!(again.status, 404);
        wait_until(
            "the stopped state in MongoDB",
            Duration::from_secs(10),
            || {
                records_of_task(&stack.mongo.uri(), &task)
                    .iter()
                    .any(|r| r["state"] == "stopped")
            },
        );
    }
}

#[test]
fn without_task_id_the_task_is_the_job() {
    let s = &shared_stack().server;
    let r = s.post("/configure", &live_body());
    let job_id = r.json()["job_id"].as_str().unwrap().to_owned();
    assert_eq!(s.jobs_of(&job_id)[0]["task_id"], job_id.as_str());
    let all = s.get("/jobs").unwrap().json();
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|j| j["job_id"] == job_id.as_str())
    );
}

#[test]
fn historic_configure_without_recordings_is_404() {
    let s = &shared_stack().server;
    // 2024-06-01 00:00–00:10 UTC: not in the synthetic index.
    let body = json!({"displayInfo": {"height": 100}, "channels": {"min": 1, "max": 2}, "view_type": 0,
        "start_time": 1_717_200_000, "end_time": 1_717_200_600});
    for p in PREFIXES {
        let r = s.post(&format!("{p}/configure?task_id=no-rec"), &body.to_string());
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(r.json()["error"], "No recording found in given time range");
    }
    assert!(s.jobs_of("no-rec").is_empty());
}

#[test]
fn recordings_in_time_range_lists_spans() {
    let s = &shared_stack().server;
    for p in PREFIXES {
        let r = s.post(
            &format!("{p}/recordings_in_time_range"),
            r#"{"start_time": 1735689600, "end_time": 1735690200}"#,
        );
        assert_eq!(
            (r.status, r.json()),
            (200, json!([[1_735_689_600i64, 1_735_690_200i64]])),
            "{}",
            r.body
        );
        let empty = s.post(
            &format!("{p}/recordings_in_time_range"),
            r#"{"start_time": 1717200000, "end_time": 1717200600}"#,
        );
        assert_eq!((empty.status, empty.json()), (200, json!([])));
        let bad = s.post(
            &format!("{p}/recordings_in_time_range"),
            r#"{"start_time": 20, "end_time": 10}"#,
        );
        assert_eq!(bad.status, 400);
        assert_eq!(
            bad.json()["error"],
            "end_time: must be after start_time, got start_time=20 end_time=10"
        );
    }
}

/// The validation table over HTTP: status and exact error text, both routes.
#[test]
fn every_validation_rule_answers_its_status_and_text() {
    let s = &shared_stack().server;
    let base = serde_json::from_str::<Value>(&live_body()).unwrap();
    let set = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let table = [
        (
            json!({"channels": {"min": 1, "max": 2}, "view_type": 0}),
            422,
            "displayInfo.height: field required",
        ),
        (
            set("view_type", json!("9")),
            422,
            "view_type: must be \"0\" (multichannel), \"1\" (single-channel) or \"2\" (waterfall), got \"9\"",
        ),
        (
            set("channels", json!({"min": "1", "max": 2})),
            422,
            "channels.min: expected an integer, got a string",
        ),
        (
            set("channels", json!({"min": 0, "max": 2})),
            400,
            "channels.min: must be at least 1, got 0",
        ),
        (
            set("channels", json!({"min": 1, "max": 2223})),
            400,
            "channels.max: must be at most 2222 (the highest channel), got 2223",
        ),
        (
            set("view_type", json!(1)),
            400,
            "channels: single-channel view (view_type 1) needs min == max, got min=1 max=8",
        ),
        (
            set("nfftSelection", json!(100)),
            400,
            "nfftSelection: must be a power of two from 128 to 65536, got 100",
        ),
        (
            set("view_type", json!("2")),
            400,
            "nfftSelection: waterfall view (view_type 2) takes nfftSelection 1 or none, got 1024",
        ),
        (
            set("frequencyRange", json!({"min": 0, "max": 1001})),
            400,
            "frequencyRange.max: must be at most 1000 (Nyquist, PRR/2), got 1001",
        ),
        (
            set("frequencyRange", json!({"min": 5, "max": 5.5})),
            400,
            "frequencyRange: max must exceed min by at least 1 Hz, got min=5 max=5.5",
        ),
        (
            set("displayInfo", json!({"height": 0})),
            400,
            "displayInfo.height: must be from 1 to 10000, got 0",
        ),
        (
            set("displayTimeAxisDuration", json!(-1)),
            400,
            "displayTimeAxisDuration: must be greater than 0, got -1",
        ),
        (
            set("start_time", json!(1_735_689_600)),
            400,
            "end_time: give both start_time and end_time (historic) or neither (live), got only start_time",
        ),
    ];
    for p in PREFIXES {
        for (body, status, text) in &table {
            let r = s.post(&format!("{p}/configure"), &body.to_string());
            assert_eq!(
                (r.status, r.json()["error"].as_str()),
                (*status, Some(*text)),
                "body {body}"
            );
            assert!(r.json()["detail"].is_array());
        }
        let r = s.post(&format!("{p}/configure"), "{oops");
        assert_eq!(r.status, 422);
    }
}

#[test]
fn health_ready_and_metrics_report_the_database_and_requests() {
    let s = &shared_stack().server;
    for p in PREFIXES {
        let h = s.get(&format!("{p}/health")).unwrap();
        assert_eq!(h.status, 200);
        assert_eq!(h.json()["database"]["state"], "up");
        assert_eq!(s.get(&format!("{p}/ready")).unwrap().status, 200);
    }
    s.get("/ack").unwrap();
    let m = s.get("/metrics").unwrap();
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    for needle in [
        "focus_http_requests_total{route=\"/ack\",status=\"200\"}",
        "focus_http_request_duration_seconds_bucket{route=\"/ack\",le=\"+Inf\"}",
        "focus_db_up 1",
        "focus_jobs_running ",
        "process_resident_memory_bytes ",
    ] {
        assert!(
            m.body.contains(needle),
            "metrics lack {needle}:\n{}",
            m.body
        );
    }
    let unknown = s.get("/nope").unwrap();
    assert_eq!(
        (unknown.status, unknown.json()["error"].as_str()),
        (404, Some("no route for GET /nope"))
    );
}

#[test]
fn the_legacy_form_replaces_the_running_job_of_its_task() {
    let s = &shared_stack().server;
    let first = s.post("/config/replace_me", TICKET_BODY);
    assert_eq!(first.status, 200, "{}", first.body);
    let second = s.post("/focus-server/config/replace_me", TICKET_BODY);
    assert_eq!(second.status, 200, "{}", second.body);
    let states: Vec<String> = s
        .jobs_of("replace_me")
        .iter()
        .map(|j| j["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states, ["replaced", "running"]);
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let stack = shared_stack();
    let mut server = support::FocusServer::start(&stack.mongo.uri(), &[]);
    let r = server.post("/configure?task_id=graceful", &live_body());
    assert_eq!(r.status, 200);
    let status = server
        .terminate(Duration::from_secs(10))
        .expect("exits within 10 s of SIGTERM");
    assert!(status.success(), "{status:?}\n{}", server.log_text());
    // Its job's final state was flushed to MongoDB.
    let records = records_of_task(&stack.mongo.uri(), "graceful");
    assert_eq!(records.len(), 1, "{records:?}\n{}", server.log_text());
    assert_eq!(records[0]["state"], "stopped");
}

#[test]
fn json_logs_and_a_toml_file_are_honoured() {
    let stack = shared_stack();
    let dir = testkit::Scratch::new("focus-config");
    let file = dir.path.join("focus.toml");
    std::fs::write(
        &file,
        "channels = 64\nprr = 1000.0\nlog_format = \"json\"\n",
    )
    .unwrap();
    let server =
        support::FocusServer::start(&stack.mongo.uri(), &["--config", file.to_str().unwrap()]);
    assert_eq!(
        server.get("/channels").unwrap().json()["highest_channel"],
        64
    );
    assert_eq!(server.get("/live_metadata").unwrap().json()["prr"], 1000.0);
    let log = server.log_text();
    let first = log.lines().next().unwrap_or_default();
    assert!(
        serde_json::from_str::<Value>(first).is_ok(),
        "not a JSON log line: {first}"
    );
}
