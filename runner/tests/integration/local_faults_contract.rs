//! Contract 0.2's faults, load and stream watching through the runner, against the local
//! environment with a real MongoDB-wire server and the real Focus Server: the fixture guest's
//! `v0_2-faults` scenarios, checked by their JUnit figures and rollback lines.

use crate::local_support;
use crate::support;

use support::*;

/// A property of `case` as a number.
fn figure(case: &Case, key: &str) -> f64 {
    let value = case
        .properties
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no property {key}: {case:#?}"))
        .1
        .clone();
    value
        .parse()
        .unwrap_or_else(|_| panic!("{key} = {value} is not a number"))
}

#[test]
fn faults_load_and_streams_work_through_the_contract_on_the_local_environment() {
    let sim = Scratch::new("faults-contract");
    local_support::write_local_run_config(&sim);
    let junit = sim.path.join("junit.xml");
    let ran = run(runner(&sim.path)
        .args(["run", "--tag", "v0_2-faults", "--junit"])
        .arg(&junit)
        .arg(&fixtures().guest));
    let cases = read_report(&junit);
    assert_eq!(cases.len(), 4, "{cases:#?}\n{}", ran.stderr);
    for case in &cases {
        assert_eq!(case.outcome, "passed", "{case:#?}\n{}", ran.stderr);
    }
    assert_eq!(ran.code, 0, "{}", ran.stderr);

    // The fault delayed the answers by its 600 ms, and the rollback removed it.
    let added = case(&cases, "adds_a_latency_fault");
    let (before, with) = (figure(added, "before_ms"), figure(added, "with_fault_ms"));
    eprintln!("GET /health: {before} ms before, {with} ms with the fault");
    assert!(with >= 600.0 && with > before, "{added:#?}");
    let id = figure(added, "fault_id");
    assert!(
        added.system_out.contains(&format!(
            "remove fault {id} (latency 600 ms, downstream, 100 %) from focus-server: ok"
        )),
        "{}",
        added.system_out
    );
    let after = figure(case(&cases, "finds_no_fault_left"), "after_ms");
    eprintln!("GET /health after the rollback: {after} ms");
    assert!(after < 600.0);

    // The bounded load sent its 10 requests; the long one was stopped at rollback.
    let load = case(&cases, "runs_a_load");
    assert_eq!(figure(load, "load_sent"), 10.0, "{load:#?}");
    assert_eq!(figure(load, "load_200"), 10.0, "{load:#?}");
    assert!(
        load.system_out
            .contains("at 20/s for 60 s): ok, stopped after"),
        "{}",
        load.system_out
    );

    // The live job's stream sent frames.
    let stream = case(&cases, "watches_a_stream");
    let frames = figure(stream, "stream_frames");
    eprintln!(
        "stream: {frames} frames, {} rows, max gap {} ms",
        figure(stream, "stream_rows"),
        figure(stream, "stream_max_gap_ms")
    );
    assert!(frames > 0.0, "{stream:#?}");
}
