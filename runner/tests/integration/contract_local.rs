//! The committed contract 0.1.0 component (today's `scenarios/` as built before contract 0.2)
//! keeps running: against the local environment, beside a 0.2 component in the same run.

use crate::local_support;
use crate::support;

use support::*;

#[test]
fn the_committed_v0_1_suite_passes_beside_a_v0_2_component_on_the_local_environment() {
    let sim = Scratch::new("contract-local");
    local_support::write_local_run_config(&sim);
    let junit = sim.path.join("junit.xml");
    let started = std::time::Instant::now();
    let ran = run(runner(&sim.path)
        .args([
            "run", "--tag", "p0", "--tag", "p1", "--tag", "p2", "--tag", "smoke",
        ])
        .args(["--tag", "params", "--junit"])
        .arg(&junit)
        .arg(v0_1_fixture())
        .arg(&fixtures().guest));
    eprintln!("the run took {:.1} s", started.elapsed().as_secs_f64());
    let cases = read_report(&junit);
    let v0_1: Vec<&Case> = cases
        .iter()
        .filter(|c| c.suite == "focus_outage_scenarios")
        .collect();
    assert_eq!(v0_1.len(), 12, "{cases:#?}");
    for case in &v0_1 {
        assert_eq!(case.outcome, "passed", "{case:#?}\n{}", ran.stderr);
    }
    let guest = |name: &str| case(&cases, name).outcome.clone();
    assert_eq!(guest("passes"), "passed");
    assert_eq!(guest("reads_params"), "passed");
    assert_eq!(guest("skips"), "skipped");
    assert_eq!(guest("fails_an_assertion"), "failure");
    assert_eq!(ran.code, 1, "only fails_an_assertion fails: {}", ran.stderr);
}
