//! The command line: `list`, `run` options, the JSON summary, the default report place, cargo
//! package PATHs, and exit code 2 with a clear message for every usage or configuration error.

use crate::support;

use support::*;

#[test]
fn list_prints_name_tags_timeout_key_and_description() {
    let sim = SimConfig::new();
    let ran = run(runner(&sim.scratch.path).arg("list").arg(&fixtures().guest));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("runner_fixture ("), "{}", ran.stdout);
    assert!(
        ran.stdout.contains(
            "  passes  [smoke]  timeout 5 s  key PZ-1\n      Logs, annotates and passes."
        ),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("loops_forever  [fault]  timeout 1 s"),
        "{}",
        ran.stdout
    );

    let json = run(runner(&sim.scratch.path)
        .args(["list", "--format", "json"])
        .arg(&fixtures().guest));
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&json.stdout).expect("list --format json is JSON");
    assert_eq!(list.len(), 26);
    let passes = list.iter().find(|s| s["name"] == "passes").unwrap();
    assert_eq!(
        (passes["key"].as_str(), passes["timeout_s"].as_f64()),
        (Some("PZ-1"), Some(5.0))
    );
}

#[test]
fn list_of_a_broken_file_exits_2_and_names_it() {
    let sim = SimConfig::new();
    let broken = broken_files(&sim.scratch.path);
    let ran = run(runner(&sim.scratch.path).arg("list").arg(&broken.random));
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr
            .contains("random_bytes.wasm is not a WebAssembly file"),
        "{}",
        ran.stderr
    );
}

#[test]
fn usage_and_configuration_errors_exit_2_with_what_to_do() {
    let sim = SimConfig::new();
    let guest = fixtures().guest.clone();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--config".into(), "missing.toml".into()],
            "cannot read the runner configuration",
        ),
        (
            vec!["--env".into(), "staging".into()],
            "no environment named 'staging'",
        ),
        (
            vec!["--scenario".into(), "nope".into()],
            "no scenario matches --scenario nope; the components hold: passes,",
        ),
        (vec!["--timeout".into(), "soon".into()], "is not a duration"),
    ];
    for (args, expected) in cases {
        let ran = run(runner(&sim.scratch.path).arg("run").arg(&guest).args(&args));
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(expected),
            "{args:?}: expected `{expected}` in:\n{}",
            ran.stderr
        );
    }
    std::fs::write(
        &sim.path,
        "[environments.x]\nkind = \"memory\"\nworkloads = 3\n",
    )
    .unwrap();
    let ran = run(runner(&sim.scratch.path).arg("run").arg(&guest));
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("invalid runner configuration") && ran.stderr.contains("runner.toml"),
        "{}",
        ran.stderr
    );
    assert!(sim.operations().is_empty());
}

/// The scenario names `list --format json` prints with `flags`.
fn listed(sim: &SimConfig, flags: &[&str]) -> Vec<String> {
    let ran = run(runner(&sim.scratch.path)
        .args(["list", "--format", "json"])
        .args(flags)
        .arg(&fixtures().guest));
    assert_eq!(ran.code, 0, "{flags:?}: {}", ran.stderr);
    let list: Vec<serde_json::Value> = serde_json::from_str(&ran.stdout).expect("JSON");
    list.iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn exclusion_and_partitions_split_the_selection_disjointly_and_completely() {
    let sim = SimConfig::new();
    let all = listed(&sim, &[]);
    assert_eq!(all.len(), 26);

    let without = listed(&sim, &["--exclude", "passes", "--exclude-tag", "fault"]);
    assert!(!without.contains(&"passes".to_owned()), "{without:?}");
    assert!(
        !without.contains(&"loops_forever".to_owned()),
        "{without:?}"
    );
    assert!(without.contains(&"skips".to_owned()), "{without:?}");

    for count in [1, 3, 4] {
        let shares: Vec<Vec<String>> = (1..=count)
            .map(|k| listed(&sim, &["--partition", &format!("{k}/{count}")]))
            .collect();
        let mut union: Vec<String> = shares.concat();
        assert_eq!(union.len(), all.len(), "{count} shares overlap: {shares:?}");
        union.sort();
        let mut expected = all.clone();
        expected.sort();
        assert_eq!(union, expected, "{count} shares do not cover the run");
        assert!(shares.iter().all(|s| !s.is_empty()), "{shares:?}");
    }
    // The partition splits what the other flags select, not the whole component.
    let smoke = listed(&sim, &["--tag", "smoke"]);
    let first = listed(&sim, &["--tag", "smoke", "--partition", "1/2"]);
    assert_eq!(
        first.len(),
        smoke.len().div_ceil(2),
        "{first:?} of {smoke:?}"
    );

    let bad = run(runner(&sim.scratch.path)
        .args(["run", "--partition", "4/3"])
        .arg(&fixtures().guest));
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("write K/N"), "{}", bad.stderr);

    let nothing = run(runner(&sim.scratch.path)
        .args(["run", "--tag", "smoke", "--exclude-tag", "smoke"])
        .arg(&fixtures().guest));
    assert_eq!(nothing.code, 2, "{}", nothing.stderr);
    assert!(
        nothing
            .stderr
            .contains("no scenario matches --tag smoke --exclude-tag smoke"),
        "{}",
        nothing.stderr
    );
}

#[test]
fn json_summary_and_default_report_place() {
    let sim = SimConfig::new();
    let ran = run(runner(&sim.scratch.path)
        .args([
            "run",
            "--format",
            "json",
            "--tag",
            "smoke",
            "--timeout",
            "3s",
        ])
        .arg(&fixtures().guest));
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let summary: serde_json::Value =
        serde_json::from_str(&ran.stdout).expect("stdout is one JSON object");
    assert_eq!(summary["counts"]["total"], 3);
    assert_eq!(summary["counts"]["failed"], 1);
    assert_eq!(summary["environment"], "sim");
    let failed = summary["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["outcome"] == "failed")
        .unwrap();
    assert_eq!(failed["name"], "fails_an_assertion");
    let report = sim.scratch.path.join("target/scenario-reports/junit.xml");
    assert_eq!(summary["junit"], report.display().to_string());
    assert_eq!(read_report(&report).len(), 3);
}

#[test]
fn timeout_option_replaces_the_scenarios_own() {
    let sim = SimConfig::new();
    let junit = sim.junit();
    let ran = run(runner(&sim.scratch.path)
        .args([
            "run",
            "--scenario",
            "loops_forever",
            "--timeout",
            "300ms",
            "--junit",
        ])
        .arg(&junit)
        .arg(&fixtures().guest));
    assert_eq!(ran.code, 1);
    let cases = read_report(&junit);
    assert!(
        case(&cases, "loops_forever")
            .message
            .contains("its 300 ms timeout"),
        "{cases:#?}"
    );
}

#[test]
fn a_cargo_package_path_is_built_for_wasm32_wasip2_and_run() {
    fixtures();
    let sim = SimConfig::new();
    let junit = sim.junit();
    // The fixture workspace's own target would be a second build; point it at the shared one.
    let ran = run(runner(&sim.scratch.path)
        .env("CARGO_TARGET_DIR", guest_target_root())
        .args(["run", "--scenario", "passes", "--junit"])
        .arg(&junit)
        .arg(fixture_workspace().join("guest")));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("building") && ran.stderr.contains("wasm32-wasip2"),
        "{}",
        ran.stderr
    );
    assert_eq!(case(&read_report(&junit), "passes").outcome, "passed");
}

#[test]
fn a_folder_of_components_runs_each_file() {
    let sim = SimConfig::new();
    let dir = sim.scratch.path.join("components");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&fixtures().guest, dir.join("first.wasm")).unwrap();
    std::fs::copy(&fixtures().guest, dir.join("second.wasm")).unwrap();
    let junit = sim.junit();
    let ran = run(runner(&sim.scratch.path)
        .args(["run", "--scenario", "noop", "--junit"])
        .arg(&junit)
        .arg(&dir));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let cases = read_report(&junit);
    let names: Vec<String> = cases
        .iter()
        .map(|c| format!("{}::{}", c.classname, c.name))
        .collect();
    assert_eq!(names, ["first::noop", "second::noop"]);
}

#[test]
fn an_environment_that_cannot_open_exits_2_and_still_writes_a_report() {
    let sim = SimConfig::new();
    let text = std::fs::read_to_string(&sim.path).unwrap();
    std::fs::write(
        &sim.path,
        text.replace(
            "journal_file = \"journal.jsonl\"",
            "journal_file = \"/proc/no-such-folder/journal.jsonl\"",
        ),
    )
    .unwrap();
    let junit = sim.junit();
    let ran = run(runner(&sim.scratch.path)
        .args(["run", "--tag", "smoke", "--junit"])
        .arg(&junit)
        .arg(&fixtures().guest));
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("cannot open the environment `sim`")
            && ran.stderr.contains("no-such-folder"),
        "{}",
        ran.stderr
    );
    let cases = read_report(&junit);
    assert_eq!(cases.len(), 3);
    for c in &cases {
        assert_eq!(
            (c.outcome.as_str(), c.ty.as_str()),
            ("error", "environment"),
            "{c:#?}"
        );
        assert!(
            c.message
                .starts_with("not run: cannot open the environment `sim`"),
            "{c:#?}"
        );
    }
}
