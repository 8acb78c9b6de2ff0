use super::*;
use crate::derive::derive;
use crate::validation::{ConfigureRequest, ViewType};
use mongodb::bson::Document;

fn job(id: &str, task: &str, window: Option<(f64, f64)>, lines_dt: f64) -> NewJob {
    let req = ConfigureRequest {
        form: Form::Modern,
        height: 1,
        channel_min: 1,
        channel_max: 8,
        view: ViewType::Multichannel,
        duration: Some(lines_dt),
        nfft: None,
        frequency: None,
        start_time: window.map(|w| w.0),
        end_time: window.map(|w| w.1),
    };
    NewJob {
        record: JobRecord {
            record_id: format!("r-{id}"),
            job_id: id.into(),
            task_id: task.into(),
            view_type: "0".into(),
            state: "running".into(),
            kind: if window.is_some() { "historic" } else { "live" }.into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            window,
            request: Document::new(),
        },
        request: Value::from(id),
        figures: derive(&req, 2000.0),
        form: Form::Modern,
    }
}

fn live(id: &str, task: &str) -> NewJob {
    job(id, task, None, 10.0)
}

#[test]
fn slots_are_bounded_and_reused() {
    let reg = JobRegistry::new(2);
    assert_eq!(reg.start(live("a", "t")).unwrap().view.slot, 0);
    assert_eq!(reg.start(live("b", "t")).unwrap().view.slot, 1);
    assert!(matches!(
        reg.start(live("c", "t")),
        Err(StartError::NoSlot(2))
    ));
    assert_eq!(reg.stop("a").unwrap().state, "stopped");
    assert_eq!(reg.start(live("c", "u")).unwrap().view.slot, 0);
    assert_eq!(reg.running(), 2);
    assert_eq!(reg.list(Some("u")).len(), 1);
    assert_eq!(
        reg.list(Some("t"))
            .iter()
            .map(|j| j.state.as_str())
            .collect::<Vec<_>>(),
        ["stopped", "running"]
    );
}

#[test]
fn a_job_under_a_running_id_replaces_it_and_signals_its_stop() {
    let reg = JobRegistry::new(1);
    let first = reg.start(live("task", "task")).unwrap().view;
    assert!(!*first.stopped.borrow());
    let mut second = live("task", "task");
    second.request = Value::from(2);
    let started = reg.start(second).unwrap();
    assert_eq!(started.retired.len(), 1);
    assert_eq!(started.retired[0].state, "replaced");
    assert!(*first.stopped.borrow(), "the replaced job saw its stop");
    assert_eq!(*reg.get("task").unwrap().request, Value::from(2));
    assert_eq!(reg.running(), 1);
}

#[test]
fn jobs_are_found_by_task_running_or_ended() {
    let reg = JobRegistry::new(4);
    reg.start(live("j1", "t")).unwrap();
    assert!(matches!(reg.by_task("t"), Some(TaskJob::Running(v)) if v.job_id == "j1"));
    reg.stop("j1");
    assert!(matches!(reg.by_task("t"), Some(TaskJob::Ended(s)) if s.state == "stopped"));
    assert!(reg.by_task("nobody").is_none());
}

#[test]
fn a_finished_historic_job_gives_up_its_slot_when_one_is_needed() {
    let reg = JobRegistry::new(1);
    // A 1 µs-per-row clock over a 1 ms window: over almost at once.
    let over = job("h", "t", Some((1000.0, 1000.001)), 0.000_001);
    let view = reg.start(over).unwrap().view;
    testkit_free_wait(|| view.clock.is_finished());
    assert_eq!(reg.list(Some("t"))[0].state, "finished");
    let started = reg.start(live("l", "u")).unwrap();
    assert_eq!(started.retired[0].state, "finished");
    assert!(*view.stopped.borrow());
}

/// Polls `cond` for at most a second (a clock of microseconds needs no longer).
fn testkit_free_wait(cond: impl Fn() -> bool) {
    let deadline = Instant::now() + std::time::Duration::from_secs(1);
    while !cond() {
        assert!(Instant::now() < deadline, "the condition never held");
        std::thread::yield_now();
    }
}

#[tokio::test]
async fn a_busy_stream_port_is_skipped_and_the_job_serves_on_its_own() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = held.local_addr().unwrap().port();
    let ports = StreamPorts {
        ip: [127, 0, 0, 1].into(),
        base,
    };
    let lone = JobRegistry::new(1).serving_streams(ports);
    let err = lone.start(live("a", "t")).unwrap_err();
    assert!(
        matches!(&err, StartError::Port { port, .. } if *port == u32::from(base)),
        "{err}"
    );
    let reg = JobRegistry::new(4).serving_streams(ports);
    let slot = reg.start(live("a", "t")).unwrap().view.slot;
    assert_ne!(slot, 0);
    let port = base + slot as u16;
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    reg.stop("a");
}
