//! Request routing: the path and method become a verb on a resource, which the Role must
//! allow; then the handler for that resource answers as the API server would.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;

use axum::extract::{Request, State as AxState};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::State;
use super::collections::{list, url_decode_pairs, watch_response};
use super::store::{self, Kind};

pub fn router(state: Arc<State>) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

/// A parsed request path.
#[derive(Debug, Clone)]
pub struct Target {
    pub group: String,
    pub version: String,
    pub namespace: String,
    pub plural: String,
    pub name: Option<String>,
    pub sub: Option<String>,
}

impl Target {
    fn parse(path: &str) -> Option<Self> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (group, version, rest) = match parts.as_slice() {
            ["api", version, rest @ ..] => ("", *version, rest),
            ["apis", group, version, rest @ ..] => (*group, *version, rest),
            _ => return None,
        };
        let ["namespaces", namespace, plural, tail @ ..] = rest else {
            return None;
        };
        let (name, sub) = match tail {
            [] => (None, None),
            [name] => (Some(name.to_string()), None),
            [name, sub] => (Some(name.to_string()), Some(sub.to_string())),
            _ => return None,
        };
        Some(Self {
            group: group.into(),
            version: version.into(),
            namespace: namespace.to_string(),
            plural: plural.to_string(),
            name,
            sub,
        })
    }

    /// The resource as RBAC names it: `deployments/scale`.
    pub fn rbac_resource(&self) -> String {
        match &self.sub {
            Some(sub) => format!("{}/{sub}", self.plural),
            None => self.plural.clone(),
        }
    }

    fn kind(&self) -> Option<Kind> {
        store::KINDS
            .into_iter()
            .find(|k| k.group == self.group && k.version == self.version && k.plural == self.plural)
    }
}

/// A `Status` response.
pub fn status(code: StatusCode, reason: &str, message: String, details: Value) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "details": details, "code": code.as_u16(),
    });
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub fn not_found_path() -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        "the server could not find the requested resource".into(),
        json!({}),
    )
}

pub fn not_found(kind: Kind, name: &str) -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("{} {name:?} not found", kind.qualified()),
        json!({ "name": name, "group": kind.group, "kind": kind.plural }),
    )
}

pub fn conflict(kind: Kind, name: &str, why: &str) -> Response {
    status(
        StatusCode::CONFLICT,
        "Conflict",
        format!(
            "Operation cannot be fulfilled on {} {name:?}: {why}",
            kind.qualified()
        ),
        json!({ "name": name, "group": kind.group, "kind": kind.plural }),
    )
}

pub fn ok(code: StatusCode, object: Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        object.to_string(),
    )
        .into_response()
}

async fn dispatch(AxState(state): AxState<Arc<State>>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    state
        .requests
        .lock()
        .unwrap()
        .push(format!("{method} {uri}"));
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| url_decode_pairs(q).into_iter().collect())
        .unwrap_or_default();
    let Some(target) = Target::parse(uri.path()) else {
        let bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
            .await
            .unwrap_or_default();
        return super::discovery::answer(&state, &method, uri.path(), &bytes)
            .unwrap_or_else(not_found_path);
    };
    let watch = query.get("watch").is_some_and(|w| w == "true" || w == "1");
    let upgrade = request.headers().contains_key(header::UPGRADE);
    let verbs: Vec<&str> = match (&method, &target.name, watch) {
        (&Method::GET, _, true) => vec!["watch"],
        (&Method::GET, None, false) => vec!["list"],
        // A WebSocket upgrade is a GET; Kubernetes 1.35+ also checks `create` for it.
        (&Method::GET, Some(_), false)
            if upgrade && target.sub.as_deref() == Some("portforward") =>
        {
            vec!["get", "create"]
        }
        (&Method::GET, Some(_), false) => vec!["get"],
        (&Method::POST, None, _) | (&Method::POST, Some(_), _) => vec!["create"],
        (&Method::PATCH, Some(_), _) => vec!["patch"],
        (&Method::PUT, Some(_), _) => vec!["update"],
        (&Method::DELETE, Some(_), _) => vec!["delete"],
        (&Method::DELETE, None, _) => vec!["deletecollection"],
        _ => {
            return status(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                format!("{method} is not supported"),
                json!({}),
            );
        }
    };
    if let Some(denied) = forbidden(&state, &target, &verbs) {
        return denied;
    }
    if target.group == "metrics.k8s.io" {
        return super::controller::pod_metrics(&state, &target).unwrap_or_else(not_found_path);
    }
    let Some(kind) = target.kind() else {
        return not_found_path();
    };
    let name = target.name.clone();
    match (method, name, target.sub.as_deref()) {
        (Method::GET, None, _) if watch => watch_response(&state, kind, &target.namespace, &query),
        (Method::GET, None, _) => list(&state, kind, &target.namespace, &query),
        (Method::GET, Some(name), None) => {
            match state.read(|s| s.get(kind, &target.namespace, &name).cloned()) {
                Some(object) => ok(StatusCode::OK, object),
                None => not_found(kind, &name),
            }
        }
        (Method::GET, Some(name), Some("scale")) => {
            super::controller::get_scale(&state, kind, &target.namespace, &name)
        }
        (Method::PATCH, Some(name), Some("scale")) => {
            let body = body_json(request).await;
            super::controller::patch_scale(&state, kind, &target.namespace, &name, body)
        }
        (Method::GET, Some(name), Some("portforward")) if kind == store::PODS => {
            super::portforward::upgrade(state, &target.namespace, &name, &query, request)
        }
        (Method::PATCH, Some(name), None) => {
            let content_type = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let body = body_json(request).await;
            patch(&state, kind, &target.namespace, &name, &content_type, body)
        }
        (Method::POST, None, None) => {
            let body = body_json(request).await;
            let strict = query.get("fieldValidation").is_some_and(|v| v == "Strict");
            let checked = match kind {
                store::NETWORKPOLICIES => super::discovery::strict_network_policy(&body),
                store::SERVICES => super::discovery::strict_service(&body),
                _ => Ok(()),
            };
            if strict && let Err(message) = checked {
                return status(StatusCode::BAD_REQUEST, "BadRequest", message, json!({}));
            }
            create(&state, kind, &target.namespace, body)
        }
        (Method::DELETE, Some(name), None) => {
            let body = body_json(request).await;
            super::controller::delete(&state, kind, &target.namespace, &name, body)
        }
        _ => not_found_path(),
    }
}

/// A 403 with the API server's message when the Role lacks one of `verbs`.
fn forbidden(state: &State, target: &Target, verbs: &[&str]) -> Option<Response> {
    let role = state.role.lock().unwrap().clone()?;
    let resource = target.rbac_resource();
    let verb = verbs
        .iter()
        .find(|v| !role.allows(&target.group, &resource, v))?;
    let subject = match &target.name {
        Some(name) => format!(
            "{}{} {name:?} is forbidden",
            target.plural,
            dotted(&target.group)
        ),
        None => format!("{}{} is forbidden", target.plural, dotted(&target.group)),
    };
    Some(status(
        StatusCode::FORBIDDEN,
        "Forbidden",
        format!(
            "{subject}: User {:?} cannot {verb} resource {resource:?} in API group {:?} in the namespace {:?}",
            state.user, target.group, target.namespace
        ),
        json!({ "name": target.name, "group": target.group, "kind": target.plural }),
    ))
}

fn dotted(group: &str) -> String {
    if group.is_empty() {
        String::new()
    } else {
        format!(".{group}")
    }
}

async fn body_json(request: Request) -> Value {
    let bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

fn patch(
    state: &State,
    kind: Kind,
    namespace: &str,
    name: &str,
    content_type: &str,
    mut body: Value,
) -> Response {
    if !content_type.starts_with("application/merge-patch+json")
        && !content_type.starts_with("application/strategic-merge-patch+json")
    {
        let message = format!("the double supports merge patches only, not {content_type:?}");
        return status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            message,
            json!({}),
        );
    }
    state.mutate(|s| {
        let Some(mut object) = s.get(kind, namespace, name).cloned() else { return not_found(kind, name) };
        if let Some(wanted) = body.pointer("/metadata/resourceVersion").and_then(Value::as_str)
            && Some(wanted) != object.pointer("/metadata/resourceVersion").and_then(Value::as_str)
        {
            return conflict(kind, name, "the object has been modified; please apply your changes to the latest version and try again");
        }
        if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("resourceVersion");
        }
        let spec_before = object.get("spec").cloned();
        store::merge_patch(&mut object, &body);
        if object.get("spec").cloned() != spec_before {
            let generation = object.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(1);
            object["metadata"]["generation"] = json!(generation + 1);
        }
        ok(StatusCode::OK, s.update(kind, namespace, name, object))
    })
}

fn create(state: &State, kind: Kind, namespace: &str, body: Value) -> Response {
    let Some(name) = body
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        let message = format!(
            "{} \"\" is invalid: metadata.name: Required value: name is required",
            kind.kind
        );
        return status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            message,
            json!({}),
        );
    };
    let ports = body.pointer("/spec/ports").and_then(Value::as_array);
    if kind == store::SERVICES && ports.is_none_or(Vec::is_empty) {
        let message = format!("Service {name:?} is invalid: spec.ports: Required value");
        return status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            message,
            json!({ "name": name }),
        );
    }
    if kind == store::NETWORKPOLICIES && body.pointer("/spec/podSelector").is_none() {
        let message =
            format!("NetworkPolicy {name:?} is invalid: spec.podSelector: Required value");
        return status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            message,
            json!({ "name": name }),
        );
    }
    match state.mutate(|s| s.create(kind, namespace, body)) {
        Some(object) => ok(StatusCode::CREATED, object),
        None => status(
            StatusCode::CONFLICT,
            "AlreadyExists",
            format!("{} {name:?} already exists", kind.qualified()),
            json!({ "name": name, "group": kind.group, "kind": kind.plural }),
        ),
    }
}

pub fn metrics_served(state: &State) -> bool {
    state.metrics_served.load(Ordering::SeqCst)
}
