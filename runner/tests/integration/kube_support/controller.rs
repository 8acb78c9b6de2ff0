//! The double's controllers: Deployments and StatefulSets keep their pods at `spec.replicas`,
//! creating a missing pod after a delay and making it ready after another; deleted pods
//! terminate for a grace period before they go. Also the `/scale` subresource, pod deletion
//! and PodMetrics, which depend on the same state.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::State;
use super::routes::{conflict, not_found, ok, status};
use super::store::{self, Kind, PODS, Store};

const WORKLOADS: [Kind; 2] = [store::DEPLOYMENTS, store::STATEFULSETS];

/// Whether the pod's Ready condition is True.
pub fn is_ready(pod: &Value) -> bool {
    pod.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

fn terminating(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp").is_some()
}

fn name_of(object: &Value) -> String {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Reconciles every workload whenever something changes.
pub async fn run(state: Arc<State>) {
    loop {
        let workloads: Vec<(Kind, String, String)> = state.read(|s| {
            WORKLOADS
                .iter()
                .flat_map(|k| {
                    s.list(*k, "panda-system")
                        .into_iter()
                        .map(move |o| (*k, name_of(&o)))
                })
                .map(|(k, n)| (k, "panda-system".to_owned(), n))
                .collect()
        });
        let notified = state.wake_controller.notified();
        for (kind, namespace, name) in workloads {
            reconcile(&state, kind, &namespace, &name);
        }
        notified.await;
    }
}

fn pods_of(store: &Store, workload: &Value, namespace: &str) -> Vec<Value> {
    let selector = workload
        .pointer("/spec/selector/matchLabels")
        .cloned()
        .unwrap_or(json!({}));
    store
        .list(PODS, namespace)
        .into_iter()
        .filter(|p| store::selects(&selector, p))
        .collect()
}

fn reconcile(state: &Arc<State>, kind: Kind, namespace: &str, name: &str) {
    let key = (kind, namespace.to_owned(), name.to_owned());
    let mut to_create = 0;
    let mut to_terminate = Vec::new();
    state.mutate(|s| {
        let Some(mut workload) = s.get(kind, namespace, name).cloned() else {
            return;
        };
        let pods = pods_of(s, &workload, namespace);
        let active: Vec<&Value> = pods.iter().filter(|p| !terminating(p)).collect();
        let desired = workload
            .pointer("/spec/replicas")
            .and_then(Value::as_u64)
            .unwrap_or(1) as usize;
        let pending = *state.pending.lock().unwrap().get(&key).unwrap_or(&0);
        if active.len() + pending < desired {
            to_create = desired - active.len() - pending;
            *state
                .pending
                .lock()
                .unwrap()
                .entry(key.clone())
                .or_default() += to_create;
        } else if active.len() > desired {
            let mut newest: Vec<&&Value> = active.iter().collect();
            newest.sort_by_key(|p| std::cmp::Reverse(name_of(p)));
            to_terminate = newest
                .iter()
                .take(active.len() - desired)
                .map(|p| name_of(p))
                .collect();
        }
        let ready = active.iter().filter(|p| is_ready(p)).count();
        let generation = workload
            .pointer("/metadata/generation")
            .cloned()
            .unwrap_or(json!(1));
        let status = json!({
            "replicas": active.len(), "readyReplicas": ready, "availableReplicas": ready,
            "updatedReplicas": active.len(), "observedGeneration": generation,
        });
        if workload.get("status") != Some(&status) {
            workload["status"] = status;
            s.update(kind, namespace, name, workload);
        }
    });
    for _ in 0..to_create {
        let (state, key) = (state.clone(), key.clone());
        tokio::spawn(async move {
            tokio::time::sleep(state.timing.create).await;
            let pod = state.mutate(|s| create_pod(s, &key));
            *state
                .pending
                .lock()
                .unwrap()
                .entry(key.clone())
                .or_default() -= 1;
            state.wake_controller.notify_one();
            if let Some(pod) = pod {
                tokio::time::sleep(state.timing.ready).await;
                state.mutate(|s| make_ready(s, &key.1, &pod));
            }
        });
    }
    for pod in to_terminate {
        terminate(state, namespace, &pod);
    }
}

/// Creates one pod of the workload `key`; `None` when none is needed any more or (for a
/// StatefulSet) its name is still taken by a terminating pod.
fn create_pod(s: &mut Store, key: &(Kind, String, String)) -> Option<String> {
    let (kind, namespace, name) = key;
    let workload = s.get(*kind, namespace, name).cloned()?;
    let pods = pods_of(s, &workload, namespace);
    let desired = workload
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1) as usize;
    if pods.iter().filter(|p| !terminating(p)).count() >= desired {
        return None;
    }
    let pod_name = if *kind == store::STATEFULSETS {
        let taken: Vec<String> = pods.iter().map(name_of).collect();
        (0..desired)
            .map(|i| format!("{name}-{i}"))
            .find(|n| !taken.contains(n))?
    } else {
        format!("{name}-7b8f6c9d4-{}", random_suffix())
    };
    let mut labels = workload
        .pointer("/spec/template/metadata/labels")
        .cloned()
        .unwrap_or(json!({}));
    if *kind == store::DEPLOYMENTS {
        labels["pod-template-hash"] = json!("7b8f6c9d4");
    }
    let mut annotations = workload
        .pointer("/spec/template/metadata/annotations")
        .cloned()
        .unwrap_or(json!({}));
    let image = workload
        .pointer("/spec/template/spec/containers/0/image")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Some((port_forward, service)) = s.image_backends.get(image) {
        annotations[super::BACKEND_ANNOTATION] = json!(port_forward);
        if let Some(service) = service {
            annotations[super::SERVICE_BACKEND_ANNOTATION] = json!(service);
        }
    }
    let pod = json!({
        "metadata": {
            "name": pod_name, "labels": labels,
            "annotations": annotations,
            "ownerReferences": [{ "apiVersion": "apps/v1", "kind": kind.kind, "name": name, "uid": workload.pointer("/metadata/uid"), "controller": true }],
        },
        "spec": workload.pointer("/spec/template/spec").cloned().unwrap_or(json!({})),
        "status": {
            "phase": "Pending",
            "conditions": [{ "type": "Ready", "status": "False" }],
            "containerStatuses": [{ "name": name, "ready": false, "restartCount": 0, "image": "", "imageID": "" }],
        },
    });
    s.create(PODS, namespace, pod).map(|p| name_of(&p))
}

fn make_ready(s: &mut Store, namespace: &str, pod: &str) {
    let Some(mut object) = s.get(PODS, namespace, pod).cloned() else {
        return;
    };
    let never = format!(
        "/metadata/annotations/{}",
        super::NEVER_READY_ANNOTATION.replace('/', "~1")
    );
    if terminating(&object) || object.pointer(&never).is_some() {
        return;
    }
    object["status"]["phase"] = json!("Running");
    object["status"]["conditions"] =
        json!([{ "type": "Ready", "status": "True", "lastTransitionTime": store::now() }]);
    object["status"]["containerStatuses"][0]["ready"] = json!(true);
    s.update(PODS, namespace, pod, object);
}

fn random_suffix() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Marks the pod terminating (not ready, deletionTimestamp set) and removes it after the
/// grace period.
fn terminate(state: &Arc<State>, namespace: &str, pod: &str) -> Option<Value> {
    let marked = state.mutate(|s| {
        let mut object = s.get(PODS, namespace, pod).cloned()?;
        if !terminating(&object) {
            object["metadata"]["deletionTimestamp"] = store::now();
            object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            object["status"]["conditions"] = json!([{ "type": "Ready", "status": "False" }]);
            object = s.update(PODS, namespace, pod, object);
        }
        Some(object)
    })?;
    let (state, namespace, pod) = (state.clone(), namespace.to_owned(), pod.to_owned());
    tokio::spawn(async move {
        tokio::time::sleep(state.timing.terminate).await;
        state.mutate(|s| s.delete(PODS, &namespace, &pod));
    });
    Some(marked)
}

/// `DELETE`: pods terminate gracefully (with a uid precondition checked); others go at once.
pub fn delete(
    state: &Arc<State>,
    kind: Kind,
    namespace: &str,
    name: &str,
    options: Value,
) -> Response {
    let Some(current) = state.read(|s| s.get(kind, namespace, name).cloned()) else {
        return not_found(kind, name);
    };
    if let Some(uid) = options
        .pointer("/preconditions/uid")
        .and_then(Value::as_str)
        && current.pointer("/metadata/uid").and_then(Value::as_str) != Some(uid)
    {
        let actual = current
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return conflict(
            kind,
            name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
            ),
        );
    }
    if kind == PODS {
        return match terminate(state, namespace, name) {
            Some(object) => ok(StatusCode::OK, object),
            None => not_found(kind, name),
        };
    }
    match state.mutate(|s| s.delete(kind, namespace, name)) {
        Some(object) => {
            // The garbage collector deletes a workload's pods after it (background
            // propagation).
            if kind == store::DEPLOYMENTS || kind == store::STATEFULSETS {
                let owned: Vec<String> = state.read(|s| {
                    s.list(PODS, namespace)
                        .iter()
                        .filter(|p| {
                            p.pointer("/metadata/ownerReferences/0/name") == Some(&json!(name))
                        })
                        .map(name_of)
                        .collect()
                });
                for pod in owned {
                    terminate(state, namespace, &pod);
                }
            }
            ok(StatusCode::OK, object)
        }
        None => not_found(kind, name),
    }
}

fn scale_of(workload: &Value) -> Value {
    let selector: Vec<String> = workload
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let meta = &workload["metadata"];
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": { "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                      "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"] },
        "spec": { "replicas": workload.pointer("/spec/replicas").cloned().unwrap_or(json!(1)) },
        "status": { "replicas": workload.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
                    "selector": selector.join(",") },
    })
}

/// `GET …/scale`.
pub fn get_scale(state: &State, kind: Kind, namespace: &str, name: &str) -> Response {
    match state.read(|s| s.get(kind, namespace, name).cloned()) {
        Some(workload) => ok(StatusCode::OK, scale_of(&workload)),
        None => not_found(kind, name),
    }
}

/// `PATCH …/scale` (merge patch): sets `spec.replicas` of the workload.
pub fn patch_scale(
    state: &State,
    kind: Kind,
    namespace: &str,
    name: &str,
    patch: Value,
) -> Response {
    state.mutate(|s| {
        let Some(mut workload) = s.get(kind, namespace, name).cloned() else { return not_found(kind, name) };
        let mut scale = scale_of(&workload);
        store::merge_patch(&mut scale, &patch);
        let Some(replicas) = scale.pointer("/spec/replicas").and_then(Value::as_i64).filter(|r| *r >= 0) else {
            let message = format!("Scale.autoscaling {name:?} is invalid: spec.replicas: Invalid value: must be greater than or equal to 0");
            return status(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", message, json!({ "name": name }));
        };
        if workload.pointer("/spec/replicas").and_then(Value::as_i64) != Some(replicas) {
            workload["spec"]["replicas"] = json!(replicas);
            let generation = workload.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
            workload["metadata"]["generation"] = json!(generation + 1);
            workload = s.update(kind, namespace, name, workload);
        }
        ok(StatusCode::OK, scale_of(&workload))
    })
}

/// `metrics.k8s.io/v1beta1` pods: PodMetrics of running pods; `None` (a 404) when the double
/// does not serve metrics.
pub fn pod_metrics(state: &State, target: &super::routes::Target) -> Option<Response> {
    if !super::routes::metrics_served(state)
        || target.version != "v1beta1"
        || target.plural != "pods"
    {
        return None;
    }
    let metrics_of = |pod: &Value| {
        json!({
            "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": { "name": pod["metadata"]["name"], "namespace": pod["metadata"]["namespace"],
                          "labels": pod["metadata"]["labels"], "creationTimestamp": store::now() },
            "timestamp": store::now(), "window": "15s",
            "containers": [{ "name": "main", "usage": { "cpu": "2m",
                "memory": pod.pointer(&format!("/metadata/annotations/{}", super::MEMORY_ANNOTATION.replace('/', "~1")))
                    .cloned().unwrap_or(json!("10Mi")) } }],
        })
    };
    let running = |pod: &Value| pod.pointer("/status/phase") == Some(&json!("Running"));
    let pods = state.read(|s| s.list(PODS, &target.namespace));
    Some(match &target.name {
        Some(name) => match pods.iter().find(|p| name_of(p) == *name && running(p)) {
            Some(pod) => ok(StatusCode::OK, metrics_of(pod)),
            None => status(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("podmetrics.metrics.k8s.io {name:?} not found"),
                json!({}),
            ),
        },
        None => ok(
            StatusCode::OK,
            json!({
                "kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {},
                "items": pods.iter().filter(|p| running(p)).map(metrics_of).collect::<Vec<_>>(),
            }),
        ),
    })
}
