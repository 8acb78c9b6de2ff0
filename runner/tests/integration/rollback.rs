//! Automatic rollback: whatever way a scenario ends (failure, panic, trap, timeout in guest code
//! or in a host call, memory cap, SIGINT, SIGTERM), the memory environment's own journal shows
//! every mutation undone in reverse, and the environment back in its steady state.

use crate::support;

use std::process::Stdio;
use std::time::Duration;

use support::*;

/// Runs one fixture scenario with the real binary and returns the environment's operations and
/// the scenario's testcase.
fn run_one(scenario: &str, env_extra: &str) -> (Vec<String>, Case, Ran) {
    let sim = SimConfig::with("", env_extra);
    let junit = sim.junit();
    let ran = run(runner(&sim.scratch.path)
        .args(["run", "--scenario", scenario, "--junit"])
        .arg(&junit)
        .arg(&fixtures().guest));
    let cases = read_report(&junit);
    let ops = sim.operations();
    assert_restored(&ops);
    (op_strings(&ops), case(&cases, scenario).clone(), ran)
}

#[test]
fn a_failed_assertion_is_rolled_back() {
    let (ops, case, ran) = run_one("fails_an_assertion", "");
    assert_eq!(ops, ["scale mongodb 0", "scale mongodb 1"]);
    assert_eq!(case.outcome, "failure");
    assert!(
        ran.stderr
            .contains("undo 1/1: scale mongodb back to 1 replica: ok"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_panic_is_rolled_back_in_reverse_order() {
    let (ops, case, _) = run_one("panics", "");
    assert_eq!(
        ops,
        [
            "scale mongodb 0",
            "block focus-server refuse",
            "unblock focus-server",
            "scale mongodb 1"
        ]
    );
    assert_eq!(
        (case.outcome.as_str(), case.ty.as_str()),
        ("error", "panic")
    );
    assert!(
        case.system_out
            .contains("undo 1/2: unblock the network of focus-server: ok"),
        "{}",
        case.system_out
    );
    assert!(
        case.system_out
            .contains("undo 2/2: scale mongodb back to 1 replica: ok"),
        "{}",
        case.system_out
    );
}

#[test]
fn a_trap_is_rolled_back() {
    let (ops, case, _) = run_one("traps", "");
    assert_eq!(ops, ["scale mongodb 0", "scale mongodb 1"]);
    assert_eq!(case.ty, "trap");
}

#[test]
fn an_endless_loop_is_stopped_at_its_deadline_and_rolled_back() {
    let (ops, case, _) = run_one("loops_forever", "");
    assert_eq!(ops, ["scale mongodb 0", "scale mongodb 1"]);
    assert_eq!(case.ty, "timeout");
}

#[test]
fn a_deadline_inside_a_host_call_is_rolled_back() {
    let (ops, case, _) = run_one("sleeps_past_its_deadline", "");
    assert_eq!(ops, ["block mongodb blackhole", "unblock mongodb"]);
    assert_eq!(case.ty, "timeout");
}

#[test]
fn the_memory_cap_is_rolled_back() {
    let (ops, case, _) = run_one("allocates_past_the_cap", "");
    assert_eq!(ops, ["scale mongodb 0", "scale mongodb 1"]);
    assert_eq!(case.ty, "memory");
}

#[test]
fn a_deleted_pod_is_waited_for_until_its_replacement_is_ready() {
    let (ops, case, _) = run_one("deletes_a_pod_then_fails", "startup_ms = 300");
    assert_eq!(ops, ["delete-pod mongodb", "wait-ready mongodb"]);
    assert_eq!(
        case.outcome, "failure",
        "the rollback waited, so the steady state came back: {case:#?}"
    );
    assert!(
        case.system_out
            .contains("undo 1/1: wait until mongodb is ready again: ok"),
        "{}",
        case.system_out
    );
}

/// Starts `waits_for_a_signal` in the real binary, waits until it has changed the environment,
/// sends `signal`, and checks the exit code, the journal and the partial report.
fn interrupted_by(signal: i32, expected_code: i32) {
    let sim = SimConfig::new();
    let junit = sim.junit();
    let log = sim.scratch.path.join("runner.log");
    let mut cmd = runner(&sim.scratch.path);
    cmd.args(["run", "--tag", "signal", "--tag", "bench", "--junit"])
        .arg(&junit)
        .arg(&fixtures().guest)
        .stdout(Stdio::null());
    let mut child = ChildGuard::spawn("scenario-runner", cmd, Some(&log)).unwrap();
    wait_until(
        "the scenario to block focus-server",
        Duration::from_secs(60),
        || op_strings(&sim.operations()).contains(&"block focus-server blackhole".to_owned()),
    );
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.pid() as i32, signal) };
    let status = child
        .wait_timeout(Duration::from_secs(30))
        .expect("the runner exits after the rollback");
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(status.code(), Some(expected_code), "{output}");

    let ops = op_strings(&sim.operations());
    let tail = &ops[ops.len() - 4..];
    assert_eq!(
        tail,
        [
            "scale mongodb 0",
            "block focus-server blackhole",
            "unblock focus-server",
            "scale mongodb 1"
        ],
        "{ops:?}"
    );
    assert_restored(&sim.operations());
    assert!(
        output.contains("undo 1/2: unblock the network of focus-server: ok"),
        "{output}"
    );

    let cases = read_report(&junit);
    let interrupted = case(&cases, "waits_for_a_signal");
    assert_eq!(
        (interrupted.outcome.as_str(), interrupted.ty.as_str()),
        ("error", "interrupted"),
        "{interrupted:#?}"
    );
    assert!(
        interrupted
            .system_out
            .contains("changed the environment; waiting to be interrupted")
    );
    assert!(cases.len() > 1, "{cases:#?}");
    for next in cases.iter().filter(|c| c.name != "waits_for_a_signal") {
        assert_eq!(
            (next.outcome.as_str(), next.message.as_str()),
            ("skipped", "not run: the run was interrupted"),
            "the run stopped after the interrupted scenario and lists the rest as not run"
        );
    }
}

#[test]
fn sigint_interrupts_the_guest_undoes_the_journal_and_writes_the_report() {
    interrupted_by(libc::SIGINT, 130);
}

#[test]
fn sigterm_does_the_same_and_exits_143() {
    interrupted_by(libc::SIGTERM, 143);
}
