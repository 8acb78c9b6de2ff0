//! Every way a scenario or a component file can end, in one run of the real binary against the
//! memory environment: each gets the right JUnit outcome, the run goes on to the next, the
//! report passes check-junit, and the environment is left as it was.

use crate::support;

use support::*;

fn property<'a>(case: &'a Case, name: &str) -> Option<&'a str> {
    case.properties
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn every_ending_gets_its_junit_outcome_and_the_run_goes_on() {
    let fixtures = fixtures();
    let sim = SimConfig::new();
    let broken = broken_files(&sim.scratch.path);
    let junit = sim.junit();
    let ran = run(runner(&sim.scratch.path)
        .arg("run")
        .arg(&fixtures.guest)
        .arg(&fixtures.other_world)
        .args([&broken.core_module, &broken.random, &broken.truncated])
        .args([
            "--tag", "smoke", "--tag", "mongodb", "--tag", "fault", "--tag", "output", "--tag",
            "security",
        ])
        .arg("--junit")
        .arg(&junit));
    assert_eq!(
        ran.code, 2,
        "load errors make exit code 2\nstdout:\n{}\nstderr:\n{}",
        ran.stdout, ran.stderr
    );
    let cases = read_report(&junit);

    let expect = |name: &str, outcome: &str, ty: &str, needles: &[&str]| {
        expect_case(&cases, name, outcome, ty, needles);
    };
    expect("passes", "passed", "", &[]);
    expect(
        "fails_an_assertion",
        "failure",
        "assertion",
        &["expected 503 within 5.00 s, got 200 after 15.42 s"],
    );
    expect(
        "panics",
        "error",
        "panic",
        &["the fixture panicked on purpose: limit was None", "lib.rs"],
    );
    expect(
        "loops_forever",
        "error",
        "timeout",
        &["ran past its 1 s timeout"],
    );
    expect(
        "sleeps_past_its_deadline",
        "error",
        "timeout",
        &["ran past its 1 s timeout", "sleep"],
    );
    expect(
        "allocates_past_the_cap",
        "error",
        "memory",
        &["memory cap of 64 MiB"],
    );
    expect("prints_ten_megabytes", "passed", "", &[]);
    expect(
        "touches_an_undeclared_workload",
        "error",
        "host-error",
        &["not-permitted", "payments-db"],
    );
    expect("is_refused_outside_the_allow_list", "passed", "", &[]);
    expect("is_sandboxed", "passed", "", &[]);
    expect(
        "deletes_a_pod_then_fails",
        "failure",
        "assertion",
        &["failing after deleting mongodb-"],
    );
    expect("skips", "skipped", "", &["no metrics API"]);
    expect("traps", "error", "trap", &["unreachable"]);
    expect(
        "core_module::load",
        "error",
        "load",
        &[
            "core_module.wasm",
            "core WebAssembly module, not a component",
        ],
    );
    expect(
        "random_bytes::load",
        "error",
        "load",
        &["random_bytes.wasm", "not a WebAssembly file"],
    );
    expect(
        "truncated::load",
        "error",
        "load",
        &["truncated.wasm", "truncated or corrupt"],
    );
    expect(
        "other_world::load",
        "error",
        "load",
        &["other_world.wasm", "another world", "greet"],
    );
    assert_eq!(cases.len(), 17, "{cases:#?}");

    let passes = case(&cases, "passes");
    assert_eq!(passes.classname, "runner_fixture");
    assert_eq!(property(passes, "test_key"), Some("PZ-1"));
    assert_eq!(property(passes, "tags"), Some("smoke"));
    assert_eq!(property(passes, "response_time_s"), Some("0.004"));
    assert!(
        passes
            .system_out
            .contains("INFO  checking nothing, successfully"),
        "{}",
        passes.system_out
    );

    let printed = case(&cases, "prints_ten_megabytes");
    assert!(
        printed.system_out.len() <= 66 * 1024,
        "system-out is {} bytes",
        printed.system_out.len()
    );
    assert!(
        printed.system_out.contains("FIRST LINE OF STDOUT"),
        "the head is kept"
    );
    assert!(
        printed.system_out.contains("LAST LINE OF STDOUT"),
        "the tail is kept"
    );
    assert!(
        printed.system_out.contains("bytes cut …]"),
        "the cut is said"
    );
    assert!(
        printed.system_out.contains("one line on stderr"),
        "stderr is kept"
    );
    assert!(
        printed.system_out.contains("characters XML refuses: [red]")
            && printed.system_out.contains("and in the log: [bold]"),
        "U+FFFE, U+FFFF, ANSI escapes and control characters are stripped: {:?}",
        printed.system_out.lines().rev().take(8).collect::<Vec<_>>()
    );

    let failed = case(&cases, "fails_an_assertion");
    assert!(
        failed.system_err.contains("mongodb") && failed.system_err.contains("\"op\":\"scale\""),
        "{failed:#?}"
    );
    assert!(
        failed
            .system_out
            .contains("undo 1/1: scale mongodb back to 1 replica: ok"),
        "{failed:#?}"
    );
    assert!(
        ran.stderr
            .contains("undo 1/2: unblock the network of focus-server: ok"),
        "undo steps are printed:\n{}",
        ran.stderr
    );
    assert!(
        ran.stdout.contains("Summary: 17 scenarios")
            && ran.stdout.contains(&junit.display().to_string()),
        "{}",
        ran.stdout
    );

    assert_restored(&sim.operations());
    assert!(
        !sim.operations()
            .iter()
            .any(|op| op["workload"] == "payments-db"),
        "an undeclared workload was touched"
    );
}

#[test]
fn exit_code_is_0_when_all_pass_or_skip_and_1_on_a_failure() {
    let fixtures = fixtures();
    let sim = SimConfig::new();
    let junit = sim.junit();
    let ok = run(runner(&sim.scratch.path)
        .arg("run")
        .arg(&fixtures.guest)
        .args(["--filter", "s", "--tag", "smoke", "--junit"])
        .arg(&junit));
    let cases = read_report(&junit);
    assert_eq!(
        ok.code, 1,
        "fails_an_assertion is tagged smoke: {}",
        ok.stderr
    );
    assert_eq!(cases.len(), 3);

    let passing = run(runner(&sim.scratch.path)
        .arg("run")
        .arg(&fixtures.guest)
        .args(["--filter", "p", "--tag", "smoke", "--junit"])
        .arg(&junit));
    let cases = read_report(&junit);
    assert_eq!(passing.code, 0, "{}", passing.stderr);
    assert_eq!(
        cases.iter().map(|c| c.outcome.as_str()).collect::<Vec<_>>(),
        ["passed", "skipped"]
    );
}

#[test]
fn a_run_where_every_file_is_broken_still_writes_a_valid_report() {
    let sim = SimConfig::new();
    let broken = broken_files(&sim.scratch.path);
    let junit = sim.junit();
    let ran = run(runner(&sim.scratch.path)
        .arg("run")
        .args([&broken.core_module, &broken.random])
        .arg("--junit")
        .arg(&junit));
    assert_eq!(ran.code, 2);
    let cases = read_report(&junit);
    assert_eq!(cases.len(), 2);
    assert!(cases.iter().all(|c| c.outcome == "error" && c.ty == "load"));
}

#[test]
fn a_broken_steady_state_is_an_error_and_the_scenario_does_not_run() {
    let fixtures = fixtures();
    let sim = SimConfig::new();
    // Appended under [environments.sim.workloads.focus-server]: it starts at 0 of 1.
    let mut text = std::fs::read_to_string(&sim.path).unwrap();
    text.push_str("initial_replicas = 0\n");
    std::fs::write(&sim.path, text).unwrap();
    let junit = sim.junit();
    let ran = run(runner(&sim.scratch.path)
        .args(["run", "--scenario", "passes", "--junit"])
        .arg(&junit)
        .arg(&fixtures.guest));
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let cases = read_report(&junit);
    let c = case(&cases, "passes");
    assert_eq!(
        (c.outcome.as_str(), c.ty.as_str()),
        ("error", "steady-state")
    );
    assert!(
        c.message.contains("not run")
            && c.message
                .contains("focus-server: 0 of 0 replicas ready, 1 declared"),
        "{c:#?}"
    );
    assert!(
        !c.system_out.contains("checking nothing"),
        "the scenario ran: {c:#?}"
    );
    assert!(sim.operations().is_empty());
}
