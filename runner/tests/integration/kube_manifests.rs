//! The manifests of `deploy/`, checked offline: every one validates against the Kubernetes
//! schemas bundled with `kubernetes-validate` (strict: unknown fields fail), the Role grants
//! exactly what the backend calls, and the manifests agree with `deploy/runner.toml`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use scenario_runner::config::{EnvironmentConfig, RunnerConfig};
use scenario_runner::env::kube::rbac;
use serde_json::Value;

pub(crate) fn deploy_dir() -> PathBuf {
    testkit::workspace_root().join("deploy")
}

fn venv_bin(name: &str) -> PathBuf {
    let path = testkit::workspace_root().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run ./scripts/setup, which installs kubernetes-validate==1.37.0 (and PyYAML) into .venv",
        path.display()
    );
    path
}

/// Every Kubernetes manifest of deploy/ (the kustomization is kustomize's, not the API's).
fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml") && !p.ends_with("kustomization.yaml")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    files
}

/// The YAML documents of `path`, as JSON.
pub(crate) fn documents(path: &Path) -> Vec<Value> {
    let script = "import sys, json, yaml\nprint(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))";
    let out = Command::new(venv_bin("python"))
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} is not YAML: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn all_documents() -> Vec<Value> {
    manifests().iter().flat_map(|p| documents(p)).collect()
}

pub(crate) fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in deploy/"))
}

fn validate(version: &str, files: &[PathBuf]) -> (bool, String) {
    let out = Command::new(venv_bin("kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", version])
        .args(files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && !text.contains("ERROR"), text)
}

#[test]
fn every_manifest_validates_strictly_against_the_kubernetes_schemas() {
    let files = manifests();
    let resources = all_documents().len();
    // 1.33 is the API level the backend's k8s-openapi types are built for; 1.37 the newest.
    for version in ["1.33.0", "1.37.0"] {
        let (ok, text) = validate(version, &files);
        assert!(
            ok,
            "deploy/ does not validate against Kubernetes {version}:\n{text}"
        );
        assert_eq!(
            text.matches("passed for resource").count(),
            resources,
            "every resource is checked:\n{text}"
        );
    }
}

#[test]
fn the_validator_rejects_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let mut deployment = find(&all_documents(), "Deployment", "mongodb").clone();
    deployment["spec"]["replicaz"] = Value::from(1);
    std::fs::write(&bad, serde_json::to_string(&deployment).unwrap()).unwrap();
    let (ok, text) = validate("1.33.0", &[bad]);
    assert!(!ok && text.contains("'replicaz' was unexpected"), "{text}");
}

#[test]
fn the_role_grants_exactly_what_the_backend_calls() {
    let docs = documents(&deploy_dir().join("rbac.yaml"));
    let role = find(&docs, "Role", "scenario-runner");
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    let triple = (
                        group.as_str().unwrap(),
                        resource.as_str().unwrap(),
                        verb.as_str().unwrap(),
                    );
                    granted.insert(triple);
                }
            }
        }
    }
    let used: BTreeSet<(&str, &str, &str)> = rbac::ALL
        .iter()
        .map(|r| (r.group(), r.resource(), r.verb()))
        .collect();
    let missing: Vec<_> = used.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(&used).collect();
    assert!(
        missing.is_empty(),
        "deploy/rbac.yaml lacks what the backend calls: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "deploy/rbac.yaml grants what the backend never calls: {extra:?}"
    );
    assert!(
        !granted
            .iter()
            .any(|(_, r, v)| r.contains('*') || v.contains('*')),
        "no wildcards"
    );

    let binding = find(&docs, "RoleBinding", "scenario-runner");
    assert_eq!(binding["roleRef"]["kind"], "Role");
    assert_eq!(binding["roleRef"]["name"], "scenario-runner");
    assert_eq!(binding["subjects"][0]["kind"], "ServiceAccount");
    assert_eq!(binding["subjects"][0]["name"], "scenario-runner");
    find(&docs, "ServiceAccount", "scenario-runner");
}

#[test]
fn the_manifests_agree_with_the_runner_configuration() {
    let path = deploy_dir().join("runner.toml");
    let config = RunnerConfig::load(&path).unwrap();
    let (_, EnvironmentConfig::Kubernetes(cluster)) =
        config.environment(Some("cluster"), &path).unwrap()
    else {
        panic!("deploy/runner.toml's cluster environment is not of kind kubernetes");
    };
    cluster.validate("cluster").unwrap();
    let docs = all_documents();
    for (key, workload) in &cluster.workloads {
        let deployment = find(&docs, workload.kind.as_str(), &workload.name);
        assert_eq!(
            deployment["metadata"]["namespace"],
            cluster.namespace.as_str()
        );
        let labels = &deployment["spec"]["template"]["metadata"]["labels"];
        for term in workload.selector.split(',') {
            let (k, v) = term.split_once('=').unwrap();
            assert_eq!(
                labels[k], v,
                "workload {key}: the pods of {} lack {term}",
                workload.name
            );
            assert_eq!(
                deployment["spec"]["selector"]["matchLabels"][k], v,
                "workload {key}: {term}"
            );
        }
    }
    for (key, service) in &cluster.services {
        let manifest = find(&docs, "Service", cluster.service_name(key));
        let ports = manifest["spec"]["ports"].as_array().unwrap();
        assert!(
            ports.iter().any(|p| p["port"] == service.port),
            "service {key}: port {} not in {ports:?}",
            service.port
        );
    }

    let job = find(&docs, "Job", "scenario-suite");
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "scenario-runner");
    assert_eq!(
        job["spec"]["backoffLimit"], 0,
        "an outage suite is never retried behind the user's back"
    );
    let volumes = pod["volumes"].as_array().unwrap();
    assert!(
        volumes
            .iter()
            .any(|v| v["configMap"]["name"] == "scenario-runner-config")
    );
    let kustomization = std::fs::read_to_string(deploy_dir().join("kustomization.yaml")).unwrap();
    assert!(
        kustomization.contains("- name: scenario-runner-config")
            && kustomization.contains("- runner.toml")
    );
    for file in manifests()
        .iter()
        .filter(|f| !f.ends_with("scenario-job.yaml"))
    {
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(
            kustomization.contains(&format!("- {name}")),
            "kustomization.yaml does not list {name}"
        );
    }
}

#[test]
fn the_focus_server_is_probed_and_pointed_at_mongodb_as_the_issue_says() {
    let docs = all_documents();
    let container =
        &find(&docs, "Deployment", "focus-server")["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/ready");
    assert_eq!(container["ports"][0]["containerPort"], 5000);
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let uri = args
        .iter()
        .position(|a| *a == "--mongo-uri")
        .map(|i| args[i + 1]);
    assert_eq!(uri, Some("mongodb://mongodb:27017/?directConnection=true"));
    assert!(args.contains(&"--seed-recordings"));
    assert_eq!(
        find(&docs, "Service", "focus-server")["spec"]["ports"][0]["port"],
        5000
    );
    assert_eq!(find(&docs, "Deployment", "mongodb")["kind"], "Deployment");
    for doc in docs
        .iter()
        .filter(|d| ["Deployment", "Job"].contains(&d["kind"].as_str().unwrap()))
    {
        let security = &doc["spec"]["template"]["spec"]["securityContext"];
        assert_eq!(
            security["runAsNonRoot"], true,
            "{} runs as non-root",
            doc["metadata"]["name"]
        );
    }
}

#[test]
fn the_dockerfiles_are_multi_stage_and_run_as_non_root() {
    for name in ["focus-server", "runner"] {
        let path = deploy_dir().join(format!("docker/{name}.Dockerfile"));
        let text = std::fs::read_to_string(&path).unwrap();
        let stages = text.lines().filter(|l| l.starts_with("FROM ")).count();
        assert!(stages >= 2, "{}: {stages} stage(s)", path.display());
        let user = text
            .lines()
            .rfind(|l| l.starts_with("USER "))
            .unwrap_or_else(|| panic!("{}: no USER", path.display()));
        assert!(
            !user.contains("root") && !user.contains(" 0"),
            "{}: {user}",
            path.display()
        );
        let ignore = deploy_dir().join(format!("docker/{name}.Dockerfile.dockerignore"));
        assert!(
            std::fs::read_to_string(ignore).unwrap().contains("target/"),
            "the build context leaves target/ out"
        );
    }
}
