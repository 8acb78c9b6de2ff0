//! `pods/{name}/portforward` over WebSocket, subprotocol `v4.channel.k8s.io`, as the API
//! server and kubelet serve it: after the upgrade, each port has a data channel (even) and an
//! error channel (odd), each opened with a frame holding the port number; data frames carry the
//! channel byte first. The "container" is a real local process: the pod's backend address.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::routes::{not_found, status};
use super::store::PODS;
use super::{BACKEND_ANNOTATION, State};

const PROTOCOL: &str = "v4.channel.k8s.io";

/// Answers the upgrade and serves the forward in the background.
pub fn upgrade(
    state: Arc<State>,
    namespace: &str,
    pod: &str,
    query: &HashMap<String, String>,
    mut request: Request,
) -> Response {
    let Some(object) = state.read(|s| s.get(PODS, namespace, pod).cloned()) else {
        return not_found(PODS, pod);
    };
    if object.pointer("/status/phase") != Some(&json!("Running")) {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("pod {pod} is not running"),
            json!({}),
        );
    }
    let offered = |protocol: &str| {
        request
            .headers()
            .get(header::SEC_WEBSOCKET_PROTOCOL)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|p| p.trim() == protocol))
    };
    if offered(super::spdy::PROTOCOL)
        && let Some(key) = request.headers().get(header::SEC_WEBSOCKET_KEY).cloned()
    {
        let backend = backend_of(&object);
        let on_upgrade = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            let Ok(upgraded) = on_upgrade.await else {
                return;
            };
            let ws =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            super::spdy::serve(ws, backend).await;
        });
        return switching(&key, super::spdy::PROTOCOL);
    }
    let ports: Vec<u16> = query
        .get("ports")
        .map(|p| p.split(',').filter_map(|p| p.trim().parse().ok()).collect())
        .unwrap_or_default();
    let [port] = ports.as_slice() else {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("the double forwards one port, not {ports:?}"),
            json!({}),
        );
    };
    let offers_v4 = request
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == PROTOCOL));
    let Some(key) = request
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .cloned()
        .filter(|_| offers_v4)
    else {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "not a v4.channel.k8s.io WebSocket upgrade".into(),
            json!({}),
        );
    };
    let backend = backend_of(&object);
    let on_upgrade = hyper::upgrade::on(&mut request);
    let (port, namespace, pod) = (*port, namespace.to_owned(), pod.to_owned());
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        serve(ws, port, backend, state, namespace, pod).await;
    });
    switching(&key, PROTOCOL)
}

/// The local address standing in for the pod's container.
fn backend_of(pod: &Value) -> Option<String> {
    pod.pointer(&format!(
        "/metadata/annotations/{}",
        BACKEND_ANNOTATION.replace('/', "~1")
    ))
    .and_then(Value::as_str)
    .map(str::to_owned)
}

/// `101 Switching Protocols` to a WebSocket with `protocol`.
fn switching(key: &header::HeaderValue, protocol: &str) -> Response {
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "Upgrade")
        .header(
            header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        )
        .header(header::SEC_WEBSOCKET_PROTOCOL, protocol)
        .body(Body::empty())
        .unwrap()
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut bytes = Vec::with_capacity(data.len() + 1);
    bytes.push(channel);
    bytes.extend_from_slice(data);
    Message::binary(bytes)
}

async fn serve<S>(
    ws: WebSocketStream<S>,
    port: u16,
    backend: Option<String>,
    state: Arc<State>,
    namespace: String,
    pod: String,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut sink, mut incoming) = ws.split();
    let port_bytes = port.to_le_bytes();
    if sink.send(frame(0, &port_bytes)).await.is_err()
        || sink.send(frame(1, &port_bytes)).await.is_err()
    {
        return;
    }
    let connected = match &backend {
        Some(addr) => tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string()),
        None => Err("the pod has no backend".to_owned()),
    };
    let tcp = match connected {
        Ok(tcp) => tcp,
        Err(e) => {
            let message = format!(
                "error forwarding port {port} to pod {pod}: failed to connect to localhost:{port} inside namespace {namespace}: {e}"
            );
            let _ = sink.send(frame(1, message.as_bytes())).await;
            let _ = sink.send(Message::Close(None)).await;
            return;
        }
    };
    let (mut from_pod, mut to_pod) = tcp.into_split();
    let mut changes = state.changed.subscribe();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            message = incoming.next() => match message {
                Some(Ok(Message::Binary(data))) if data.first() == Some(&0) => {
                    if to_pod.write_all(&data[1..]).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            read = from_pod.read(&mut buf) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sink.send(frame(0, &buf[..n])).await.is_err() {
                        return;
                    }
                }
            },
            _ = changes.changed() => {
                // The pod's containers die with the pod: its connections go with them.
                if state.read(|s| s.get(PODS, &namespace, &pod).is_none()) {
                    break;
                }
            }
        }
    }
    let _ = sink.send(Message::Close(None)).await;
}
