//! Collections: lists and watches with label and field selectors. A watch replays the
//! history after its resourceVersion, then streams changes as newline-delimited WatchEvents
//! until its `timeoutSeconds`, as the API server does.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::State;
use super::routes::{ok, status};
use super::store::{Kind, LabelQuery};

/// The label and field selectors of a query; `Err` with the API server's message.
fn selection(query: &HashMap<String, String>) -> Result<(LabelQuery, Option<String>), String> {
    let labels = LabelQuery::parse(query.get("labelSelector").map_or("", String::as_str))?;
    let name = match query.get("fieldSelector").map(String::as_str) {
        None | Some("") => None,
        Some(field) => match field.strip_prefix("metadata.name=") {
            Some(name) => Some(name.to_owned()),
            None => return Err(format!("field label not supported by the double: {field}")),
        },
    };
    Ok((labels, name))
}

fn bad_request(message: String) -> Response {
    status(StatusCode::BAD_REQUEST, "BadRequest", message, json!({}))
}

fn selected(object: &Value, labels: &LabelQuery, name: &Option<String>) -> bool {
    labels.matches(object)
        && name
            .as_deref()
            .is_none_or(|n| object.pointer("/metadata/name") == Some(&json!(n)))
}

pub fn list(
    state: &State,
    kind: Kind,
    namespace: &str,
    query: &HashMap<String, String>,
) -> Response {
    let (labels, name) = match selection(query) {
        Ok(s) => s,
        Err(message) => return bad_request(message),
    };
    let (items, rv) = state.read(|s| (s.list(kind, namespace), s.rv()));
    let items: Vec<Value> = items
        .into_iter()
        .filter(|o| selected(o, &labels, &name))
        .collect();
    ok(
        StatusCode::OK,
        json!({
            "kind": format!("{}List", kind.kind), "apiVersion": kind.api_version(),
            "metadata": { "resourceVersion": rv.to_string() }, "items": items,
        }),
    )
}

pub fn watch_response(
    state: &Arc<State>,
    kind: Kind,
    namespace: &str,
    query: &HashMap<String, String>,
) -> Response {
    let (labels, name) = match selection(query) {
        Ok(s) => s,
        Err(message) => return bad_request(message),
    };
    let since: Option<u64> = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0);
    let timeout = Duration::from_secs(
        query
            .get("timeoutSeconds")
            .and_then(|t| t.parse().ok())
            .unwrap_or(290),
    );
    let mut watch = Watch {
        state: state.clone(),
        kind,
        namespace: namespace.to_owned(),
        labels,
        name,
        last: 0,
        pending: VecDeque::new(),
        changes: state.changed.subscribe(),
        deadline: tokio::time::Instant::now() + timeout,
    };
    watch.changes.borrow_and_update();
    let (last, initial) = state.read(|s| match since {
        Some(rv) => (rv, Vec::new()),
        // No resourceVersion, or 0: the current objects come first, as ADDED.
        None => (s.rv(), s.list(kind, namespace)),
    });
    watch.last = last;
    watch.pending = initial
        .iter()
        .filter(|o| watch.selects(o))
        .map(|o| event_line("ADDED", o))
        .collect();
    // A streaming list (client-go's WatchList, which kubectl 1.37 uses for `delete --wait` and
    // `rollout status`): after the initial events, a bookmark marks their end, which the client
    // waits for.
    let send_initial = query.get("sendInitialEvents").is_some_and(|v| v == "true");
    if send_initial && since.is_none() {
        let bookmark = json!({
            "kind": kind.kind, "apiVersion": kind.api_version(),
            "metadata": { "resourceVersion": last.to_string(),
                          "annotations": { "k8s.io/initial-events-end": "true" } },
        });
        watch.pending.push_back(event_line("BOOKMARK", &bookmark));
    }
    let stream = futures::stream::unfold(watch, |mut watch| async move {
        let line = watch.next().await?;
        Some((Ok::<Bytes, Infallible>(line), watch))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// One watch: replays the history after `last`, then waits for changes until its deadline.
struct Watch {
    state: Arc<State>,
    kind: Kind,
    namespace: String,
    labels: LabelQuery,
    name: Option<String>,
    last: u64,
    pending: VecDeque<Bytes>,
    changes: tokio::sync::watch::Receiver<u64>,
    deadline: tokio::time::Instant,
}

impl Watch {
    fn selects(&self, object: &Value) -> bool {
        selected(object, &self.labels, &self.name)
    }

    async fn next(&mut self) -> Option<Bytes> {
        if let Some(line) = self.pending.pop_front() {
            return Some(line);
        }
        loop {
            self.changes.borrow_and_update();
            let (found, rv) = self.state.read(|s| {
                let found = s
                    .changes_since(self.last)
                    .find(|c| {
                        c.kind == self.kind
                            && c.namespace == self.namespace
                            && self.selects(&c.object)
                    })
                    .map(|c| (c.rv, event_line(c.kind_of_change, &c.object)));
                (found, s.rv())
            });
            match found {
                Some((rv, line)) => {
                    self.last = rv;
                    return Some(line);
                }
                None => self.last = rv,
            }
            if tokio::time::timeout_at(self.deadline, self.changes.changed())
                .await
                .is_err()
            {
                return None;
            }
        }
    }
}

fn event_line(kind_of_change: &str, object: &Value) -> Bytes {
    let mut line = json!({ "type": kind_of_change, "object": object }).to_string();
    line.push('\n');
    Bytes::from(line)
}

/// The pairs of a query string, percent-decoded.
pub fn url_decode_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| {
                std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .flatten();
        match (bytes[i], hex) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 2;
            }
            (b'+', None) => out.push(b' '),
            (byte, None) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
