//! The allow-list: the host touches only the workloads and services the environment's
//! configuration declares. Anything else is `not-permitted`, and the environment never even
//! hears of it.

use crate::support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use scenario_runner::engine::bindings::v0_1::focus::scenario::focus_server::Host as _;
use scenario_runner::engine::bindings::v0_1::focus::scenario::types::HostError as HostErrorV0_1;
use scenario_runner::engine::bindings::v0_2::focus::scenario::http::{self, Host as _};
use scenario_runner::engine::bindings::v0_2::focus::scenario::services::Host as _;
use scenario_runner::engine::bindings::v0_2::focus::scenario::types::HostError;
use scenario_runner::engine::bindings::v0_2::focus::scenario::workloads::{BlockMode, Host as _};
use scenario_runner::engine::{Interrupt, RunControl};
use scenario_runner::env::{
    BlockMode as EnvBlockMode, Capabilities, Deviation, EnvResult, Environment, EnvironmentInfo,
    Pod, ProbeResult,
};
use scenario_runner::host::{FocusClient, HostLimits, ScenarioHost};
use support::*;

/// An environment that declares only `mongodb`, says yes to everything, and records every call.
#[derive(Default)]
struct Spy {
    calls: Mutex<Vec<String>>,
}

impl Spy {
    fn saw(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
}

#[async_trait]
impl Environment for Spy {
    fn info(&self) -> EnvironmentInfo {
        EnvironmentInfo {
            name: "spy".into(),
            kind: "memory",
            capabilities: Capabilities::default(),
            workloads: vec!["mongodb".into()],
            services: vec!["mongodb".into(), "focus-server".into()],
        }
    }
    fn focus_url(&self) -> String {
        "http://127.0.0.1:9".into()
    }
    fn http_url(&self, service: &str) -> Option<String> {
        self.saw(format!("http-url {service}"));
        (service == "focus-server").then(|| "http://127.0.0.1:9".into())
    }
    async fn scale(&self, w: &str, r: u32) -> EnvResult<()> {
        self.saw(format!("scale {w} {r}"));
        Ok(())
    }
    async fn replicas(&self, w: &str) -> EnvResult<u32> {
        self.saw(format!("replicas {w}"));
        Ok(1)
    }
    async fn delete_pod(&self, w: &str) -> EnvResult<String> {
        self.saw(format!("delete-pod {w}"));
        Ok("pod".into())
    }
    async fn pods(&self, w: &str) -> EnvResult<Vec<Pod>> {
        self.saw(format!("pods {w}"));
        Ok(Vec::new())
    }
    async fn wait_ready(&self, w: &str, _: Duration) -> EnvResult<()> {
        self.saw(format!("wait-ready {w}"));
        Ok(())
    }
    async fn block_network(&self, w: &str, _: EnvBlockMode) -> EnvResult<()> {
        self.saw(format!("block {w}"));
        Ok(())
    }
    async fn unblock_network(&self, w: &str) -> EnvResult<()> {
        self.saw(format!("unblock {w}"));
        Ok(())
    }
    async fn memory(&self, w: &str) -> EnvResult<Option<u64>> {
        self.saw(format!("memory {w}"));
        Ok(None)
    }
    async fn probe(&self, s: &str) -> EnvResult<ProbeResult> {
        self.saw(format!("probe {s}"));
        Ok(ProbeResult {
            reachable: true,
            latency: Duration::ZERO,
            detail: String::new(),
        })
    }
    async fn deviations(&self) -> EnvResult<Vec<Deviation>> {
        Ok(Vec::new())
    }
}

fn host(spy: &Arc<Spy>) -> ScenarioHost {
    let control = RunControl::new(Duration::from_secs(10), Interrupt::default());
    let focus = FocusClient::new("http://127.0.0.1:9").unwrap();
    ScenarioHost::new(spy.clone(), focus, HostLimits::default(), control)
}

fn refused<T: std::fmt::Debug>(result: Result<T, HostError>) -> String {
    match result {
        Err(HostError::NotPermitted(message)) => message,
        other => panic!("expected not-permitted, got {other:?}"),
    }
}

#[tokio::test]
async fn undeclared_workloads_and_services_never_reach_the_environment() {
    let spy = Arc::new(Spy::default());
    let mut host = host(&spy);
    for name in [
        "payments-db",
        "MONGODB",
        "mongodb ",
        "../mongodb",
        "",
        "kube-system/etcd",
    ] {
        let message = refused(host.scale(name.into(), 0).await.unwrap());
        assert!(
            message.contains(&format!("`{name}`")) && message.ends_with("it declares: mongodb"),
            "{message}"
        );
        refused(host.replicas(name.into()).await.unwrap());
        refused(host.delete_pod(name.into()).await.unwrap());
        refused(host.pods(name.into()).await.unwrap());
        refused(host.wait_ready(name.into(), 1_000_000).await.unwrap());
        refused(
            host.block_network(name.into(), BlockMode::Blackhole)
                .await
                .unwrap(),
        );
        refused(host.unblock_network(name.into()).await.unwrap());
        refused(host.memory(name.into()).await.unwrap());
        refused(host.probe(name.into()).await.unwrap());
        refused(host.send(request(name, "/health")).await.unwrap());
        refused(host.on_rollback(request(name, "/health")).await.unwrap());
    }
    assert!(
        spy.calls.lock().unwrap().is_empty(),
        "the environment was called: {:?}",
        spy.calls.lock().unwrap()
    );
    assert!(host.journal.is_empty(), "a refused call was journalled");

    // The declared workload does reach it, and is journalled.
    host.scale("mongodb".into(), 0).await.unwrap().unwrap();
    assert_eq!(
        *spy.calls.lock().unwrap(),
        ["replicas mongodb", "scale mongodb 0"]
    );
    assert_eq!(host.journal.entries().len(), 1);
}

#[tokio::test]
async fn http_calls_cannot_name_another_host() {
    let spy = Arc::new(Spy::default());
    let mut host = host(&spy);
    for path in [
        "//evil.example/x",
        "http://evil.example/",
        "https://127.0.0.1:9/",
        "health",
        "/\\evil.example",
    ] {
        match host.get(path.into()).await.unwrap() {
            Err(HostErrorV0_1::NotPermitted(_)) => {}
            other => panic!("0.1 get of {path}: expected not-permitted, got {other:?}"),
        }
        match host.send(request("focus-server", path)).await.unwrap() {
            Err(HostError::Invalid(message)) => assert!(message.contains(path), "{message}"),
            other => panic!("send of {path}: expected invalid, got {other:?}"),
        }
    }
    // A declared service that is not an HTTP service is not-permitted.
    let message = refused(host.send(request("mongodb", "/")).await.unwrap());
    assert!(
        message.contains("not declared as an HTTP service"),
        "{message}"
    );
    assert!(host.journal.is_empty());
}

fn request(service: &str, path: &str) -> http::Request {
    http::Request {
        service: service.into(),
        method: http::Method::Delete,
        path: path.into(),
        headers: Vec::new(),
        body: Vec::new(),
        timeout: Some(1_000_000_000),
    }
}

#[test]
fn a_scenario_reaching_outside_the_allow_list_is_an_error_that_names_the_workload() {
    let sim = SimConfig::new();
    let junit = sim.junit();
    let ran = run(runner(&sim.scratch.path)
        .args(["run", "--tag", "security", "--junit"])
        .arg(&junit)
        .arg(&fixtures().guest));
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let cases = read_report(&junit);
    let touched = case(&cases, "touches_an_undeclared_workload");
    assert_eq!(
        (touched.outcome.as_str(), touched.ty.as_str()),
        ("error", "host-error")
    );
    assert!(
        touched.message.contains("not-permitted") && touched.message.contains("`payments-db`"),
        "{touched:#?}"
    );
    assert_eq!(
        case(&cases, "is_refused_outside_the_allow_list").outcome,
        "passed"
    );
    let sandboxed = case(&cases, "is_sandboxed");
    assert_eq!(
        sandboxed.outcome, "passed",
        "the guest reached a file, a variable or a socket: {sandboxed:#?}"
    );
    assert!(
        sim.operations().is_empty(),
        "the environment was touched: {:?}",
        op_strings(&sim.operations())
    );
}
