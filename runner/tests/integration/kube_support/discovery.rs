//! What every client asks before it asks anything else: `/version`, legacy discovery (`/api`,
//! `/apis`, `/api/v1`, `/apis/GROUP/VERSION`) for exactly the resources the double serves, and
//! `SelfSubjectAccessReview`, which `kubectl auth can-i` posts and which the double answers
//! from its configurable Role. A real API server lets every authenticated user do these
//! (`system:discovery`, `system:basic-user`), so the Role does not restrict them.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::State;
use super::routes::{ok, status};

/// The Kubernetes version the double claims to be; its objects validate against this
/// version's schemas.
pub const VERSION: (&str, &str) = ("1", "37");
/// `VERSION` as `kubernetes-validate --kubernetes-version` takes it.
pub const VERSION_TEXT: &str = "1.37.0";

/// One served resource: `(name, kind, namespaced, verbs, short names)`.
type Resource = (
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    &'static [&'static str],
);

const CORE_V1: &[Resource] = &[
    (
        "pods",
        "Pod",
        true,
        &["delete", "get", "list", "watch"],
        &["po"],
    ),
    (
        "pods/portforward",
        "PodPortForwardOptions",
        true,
        &["create", "get"],
        &[],
    ),
    (
        "services",
        "Service",
        true,
        &["create", "delete", "get", "list", "patch", "watch"],
        &["svc"],
    ),
];
const APPS_V1: &[Resource] = &[
    (
        "deployments",
        "Deployment",
        true,
        &["create", "delete", "get", "list", "patch", "watch"],
        &["deploy"],
    ),
    ("deployments/scale", "Scale", true, &["get", "patch"], &[]),
    (
        "statefulsets",
        "StatefulSet",
        true,
        &["create", "delete", "get", "list", "patch", "watch"],
        &["sts"],
    ),
    ("statefulsets/scale", "Scale", true, &["get", "patch"], &[]),
];
const NETWORKING_V1: &[Resource] = &[(
    "networkpolicies",
    "NetworkPolicy",
    true,
    &["create", "delete", "get", "list", "patch", "watch"],
    &["netpol"],
)];
const AUTHORIZATION_V1: &[Resource] = &[(
    "selfsubjectaccessreviews",
    "SelfSubjectAccessReview",
    false,
    &["create"],
    &[],
)];
const METRICS_V1BETA1: &[Resource] = &[("pods", "PodMetrics", true, &["get", "list"], &[])];

/// `(group, version, resources)` of every group the double serves besides core.
fn groups(state: &State) -> Vec<(&'static str, &'static str, &'static [Resource])> {
    let mut groups = vec![
        ("apps", "v1", APPS_V1),
        ("networking.k8s.io", "v1", NETWORKING_V1),
        ("authorization.k8s.io", "v1", AUTHORIZATION_V1),
    ];
    if super::routes::metrics_served(state) {
        groups.push(("metrics.k8s.io", "v1beta1", METRICS_V1BETA1));
    }
    groups
}

fn resource_list(group_version: &str, resources: &[Resource]) -> Value {
    let resources: Vec<Value> = resources
        .iter()
        .map(|(name, kind, namespaced, verbs, short)| {
            let mut resource = json!({
                "name": name, "singularName": if name.contains('/') { "" } else { name.trim_end_matches('s') },
                "namespaced": namespaced, "kind": kind, "verbs": verbs,
            });
            if !short.is_empty() {
                resource["shortNames"] = json!(short);
            }
            if *kind == "Scale" {
                resource["group"] = json!("autoscaling");
                resource["version"] = json!("v1");
            }
            resource
        })
        .collect();
    json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources })
}

/// Answers a request outside `/api[s]/…/namespaces/…`, or `None` when it is not one of these.
pub fn answer(state: &State, method: &Method, path: &str, body: &[u8]) -> Option<Response> {
    let path = path.trim_end_matches('/');
    if method == Method::POST && path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" {
        return Some(access_review(state, body));
    }
    if method != Method::GET {
        return None;
    }
    let groups = groups(state);
    let found = match path {
        "/version" => json!({
            "major": VERSION.0, "minor": VERSION.1, "emulationMajor": VERSION.0, "emulationMinor": VERSION.1,
            "gitVersion": format!("v{VERSION_TEXT}"), "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25.0",
            "compiler": "gc", "platform": "linux/amd64",
        }),
        "/api" => json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443" }],
        }),
        "/api/v1" => resource_list("v1", CORE_V1),
        "/openapi/v3" => json!({ "paths": {
            NETWORKING_OPENAPI: { "serverRelativeURL": format!("/openapi/v3/{NETWORKING_OPENAPI}?hash=0") },
            CORE_OPENAPI: { "serverRelativeURL": format!("/openapi/v3/{CORE_OPENAPI}?hash=0") },
        } }),
        "/openapi/v3/apis/networking.k8s.io/v1" => networking_openapi(),
        "/openapi/v3/api/v1" => core_openapi(),
        "/apis" => {
            let groups: Vec<Value> = groups
                .iter()
                .map(|(group, version, _)| {
                    let gv =
                        json!({ "groupVersion": format!("{group}/{version}"), "version": version });
                    json!({ "name": group, "versions": [gv], "preferredVersion": gv })
                })
                .collect();
            json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
        }
        _ => {
            let (group, version, resources) = groups
                .iter()
                .find(|(g, v, _)| path == format!("/apis/{g}/{v}"))?;
            resource_list(&format!("{group}/{version}"), resources)
        }
    };
    Some(ok(StatusCode::OK, found))
}

/// `POST selfsubjectaccessreviews`: whether the Role allows the resource attributes asked.
fn access_review(state: &State, body: &[u8]) -> Response {
    let decoded = match body.strip_prefix(PROTOBUF_MAGIC) {
        Some(envelope) => protobuf_review(envelope),
        None => serde_json::from_slice::<Value>(body).ok(),
    };
    let Some(mut review) = decoded else {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "the body is not a SelfSubjectAccessReview".into(),
            json!({}),
        );
    };
    let Some(attributes) = review.pointer("/spec/resourceAttributes").cloned() else {
        let message = "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: spec.resourceAttributes: Invalid value: the double answers resource attributes only";
        return status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            message.into(),
            json!({}),
        );
    };
    let field = |name: &str| attributes.get(name).and_then(Value::as_str).unwrap_or("");
    let resource = match field("subresource") {
        "" => field("resource").to_owned(),
        sub => format!("{}/{sub}", field("resource")),
    };
    let (group, verb, namespace) = (field("group"), field("verb"), field("namespace"));
    let role = state.role.lock().unwrap().clone();
    let allowed = match &role {
        None => true,
        // The Role is the namespace's; it grants nothing elsewhere.
        Some(role) => namespace == "panda-system" && role.allows(group, &resource, verb),
    };
    let mut answer = json!({ "allowed": allowed });
    if allowed {
        answer["reason"] = json!(match role {
            None => "the double allows everything".to_owned(),
            Some(_) => format!(
                "RBAC: allowed by RoleBinding \"scenario-runner/panda-system\" of Role \"scenario-runner\" to User {:?}",
                state.user
            ),
        });
    }
    review["status"] = answer;
    review["apiVersion"] = json!("authorization.k8s.io/v1");
    review["kind"] = json!("SelfSubjectAccessReview");
    if !review.get("metadata").is_some_and(Value::is_object) {
        review["metadata"] = json!({});
    }
    ok(StatusCode::CREATED, review)
}

/// The prefix of a Kubernetes protobuf body, which kubectl sends for built-in types.
const PROTOBUF_MAGIC: &[u8] = b"k8s\0";

/// The length-delimited fields (strings, bytes, messages) of a protobuf message, by number;
/// the others are skipped.
fn protobuf_fields(mut bytes: &[u8]) -> Option<Vec<(u64, &[u8])>> {
    fn varint(bytes: &mut &[u8]) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = bytes.split_first()?;
            *bytes = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
    let mut fields = Vec::new();
    while !bytes.is_empty() {
        let key = varint(&mut bytes)?;
        let (number, wire) = (key >> 3, (key & 7) as u8);
        match wire {
            0 => {
                varint(&mut bytes)?;
            }
            2 => {
                let len = usize::try_from(varint(&mut bytes)?).ok()?;
                let (value, rest) = bytes.split_at_checked(len)?;
                bytes = rest;
                fields.push((number, value));
            }
            1 => bytes = bytes.get(8..)?,
            5 => bytes = bytes.get(4..)?,
            _ => return None,
        }
    }
    Some(fields)
}

/// The bytes of field `number` of a protobuf message, if present.
fn protobuf_field(message: &[u8], number: u64) -> Option<&[u8]> {
    protobuf_fields(message)?
        .into_iter()
        .find(|(n, _)| *n == number)
        .map(|(_, bytes)| bytes)
}

/// A SelfSubjectAccessReview from its protobuf envelope (`runtime.Unknown`, whose field 2 is the
/// object): the resource attributes (spec field 1) are all the double reads.
fn protobuf_review(envelope: &[u8]) -> Option<Value> {
    let raw = protobuf_field(envelope, 2)?;
    let spec = protobuf_field(raw, 2)?;
    let mut attributes = serde_json::Map::new();
    if let Some(resource) = protobuf_field(spec, 1) {
        const NAMES: [&str; 7] = [
            "namespace",
            "verb",
            "group",
            "version",
            "resource",
            "subresource",
            "name",
        ];
        for (number, bytes) in protobuf_fields(resource)? {
            let name = NAMES.get(usize::try_from(number).ok()?.checked_sub(1)?);
            if let Some(name) = name {
                attributes.insert((*name).into(), json!(String::from_utf8_lossy(bytes)));
            }
        }
    }
    let mut review = json!({
        "kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
        "metadata": {}, "spec": {},
    });
    if protobuf_field(spec, 1).is_some() {
        review["spec"]["resourceAttributes"] = Value::Object(attributes);
    }
    Some(review)
}

/// The OpenAPI v3 documents the double serves: the kinds kubectl creates in the tests.
const NETWORKING_OPENAPI: &str = "apis/networking.k8s.io/v1";
const CORE_OPENAPI: &str = "api/v1";

/// An OpenAPI v3 document for NetworkPolicies with no schemas, only what kubectl reads from it:
/// that create and patch take `fieldValidation`, so kubectl leaves validation to the server
/// (which the double does, for NetworkPolicies' fields) instead of downloading OpenAPI v2.
fn networking_openapi() -> Value {
    let gvk = json!({ "group": "networking.k8s.io", "version": "v1", "kind": "NetworkPolicy" });
    create_and_patch_openapi(
        &gvk,
        "/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies",
        "NetworkingV1NamespacedNetworkPolicy",
    )
}

/// The same for Services (the fault proxy's headless Service), validated by the double too.
fn core_openapi() -> Value {
    let gvk = json!({ "group": "", "version": "v1", "kind": "Service" });
    create_and_patch_openapi(
        &gvk,
        "/api/v1/namespaces/{namespace}/services",
        "CoreV1NamespacedService",
    )
}

/// An OpenAPI v3 document with the create and patch operations of one kind: `collection` is
/// its path, `id` the suffix of its operation ids.
fn create_and_patch_openapi(gvk: &Value, collection: &str, id: &str) -> Value {
    let params = json!([
        { "name": "namespace", "in": "path", "required": true, "schema": { "type": "string" } },
        { "name": "fieldValidation", "in": "query", "schema": { "type": "string", "uniqueItems": true } },
    ]);
    let operation = |id: &str| {
        json!({
            "operationId": id, "x-kubernetes-action": if id.starts_with("create") { "post" } else { "patch" },
            "x-kubernetes-group-version-kind": gvk, "parameters": params,
            "responses": { "200": { "description": "OK" } },
        })
    };
    json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": format!("v{VERSION_TEXT}") },
        "paths": {
            (collection): { "post": operation(&format!("create{id}")) },
            (format!("{collection}/{{name}}")): { "patch": operation(&format!("patch{id}")) },
        },
    })
}

/// With `fieldValidation=Strict`, the API server refuses unknown fields; the double checks a
/// NetworkPolicy's top level and spec. `Err` with the API server's message.
pub fn strict_network_policy(object: &Value) -> Result<(), String> {
    const SPEC: &[&str] = &["podSelector", "policyTypes", "ingress", "egress"];
    strict("NetworkPolicy", SPEC, object)
}

/// The same for a Service: its top level and spec (the fields of Kubernetes 1.37's ServiceSpec).
pub fn strict_service(object: &Value) -> Result<(), String> {
    const SPEC: &[&str] = &[
        "allocateLoadBalancerNodePorts",
        "clusterIP",
        "clusterIPs",
        "externalIPs",
        "externalName",
        "externalTrafficPolicy",
        "healthCheckNodePort",
        "internalTrafficPolicy",
        "ipFamilies",
        "ipFamilyPolicy",
        "loadBalancerClass",
        "loadBalancerIP",
        "loadBalancerSourceRanges",
        "ports",
        "publishNotReadyAddresses",
        "selector",
        "sessionAffinity",
        "sessionAffinityConfig",
        "trafficDistribution",
        "type",
    ];
    strict("Service", SPEC, object)
}

fn strict(kind: &str, spec: &[&str], object: &Value) -> Result<(), String> {
    const TOP: [&str; 5] = ["apiVersion", "kind", "metadata", "spec", "status"];
    let unknown = object
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .filter(|k| !TOP.contains(&k.as_str()))
        .map(String::to_owned)
        .chain(
            object
                .get("spec")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|o| o.keys())
                .filter(|k| !spec.contains(&k.as_str()))
                .map(|k| format!("spec.{k}")),
        )
        .map(|k| format!("unknown field {k:?}"))
        .collect::<Vec<_>>();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{kind} in version \"v1\" cannot be handled as a {kind}: strict decoding error: {}",
            unknown.join(", ")
        ))
    }
}
