//! One health check of an address, as readiness checks and `probe` make it: a real mongodb
//! driver `ping`, an HTTP GET, or a TCP connect, each bounded by a short timeout.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mongodb::error::ErrorKind;
use mongodb::event::EventHandler;
use mongodb::event::sdam::SdamEvent;
use mongodb::options::{ClientOptions, ServerAddress};

use super::config::Readiness;
use crate::env::ProbeResult;

/// Checks `addr` the way `readiness` says, within about `timeout`.
pub async fn check(readiness: &Readiness, addr: SocketAddr, timeout: Duration) -> ProbeResult {
    let started = Instant::now();
    let outcome = match readiness {
        Readiness::MongodbPing => mongodb_ping(addr, timeout).await,
        Readiness::HttpGet { path } => http_get(addr, path, timeout).await,
        Readiness::Tcp => tcp_connect(addr, timeout).await,
    };
    let latency = started.elapsed();
    match outcome {
        Ok(detail) => ProbeResult {
            reachable: true,
            latency,
            detail,
        },
        Err(detail) => ProbeResult {
            reachable: false,
            latency,
            detail,
        },
    }
}

/// A `ping` through a fresh driver client with `directConnection=true`. A refused connection is
/// reported as soon as the driver's first heartbeat fails, in milliseconds, instead of after the
/// whole server selection timeout; a server that never answers fails at `timeout`.
async fn mongodb_ping(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    let (failed_tx, mut failed_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut options = ClientOptions::default();
    options.hosts = vec![ServerAddress::Tcp {
        host: addr.ip().to_string(),
        port: Some(addr.port()),
    }];
    options.direct_connection = Some(true);
    options.connect_timeout = Some(timeout);
    options.server_selection_timeout = Some(timeout);
    options.app_name = Some("scenario-runner-probe".into());
    options.sdam_event_handler = Some(EventHandler::callback(move |event| {
        if let SdamEvent::ServerHeartbeatFailed(failed) = event {
            let _ = failed_tx.send(failed.failure.to_string());
        }
    }));
    let client = mongodb::Client::with_options(options).map_err(|e| e.to_string())?;
    let admin = client.database("admin");
    let ping = admin.run_command(mongodb::bson::doc! { "ping": 1 });
    let outcome = tokio::select! {
        answer = tokio::time::timeout(timeout, ping) => match answer {
            Ok(Ok(_)) => Ok("ping ok".to_owned()),
            Ok(Err(e)) if matches!(*e.kind, ErrorKind::ServerSelection { .. }) => {
                Err(format!("ping timed out: no server answered within {timeout:?}"))
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("ping timed out: no answer within {timeout:?}")),
        },
        Some(failure) = failed_rx.recv() => Err(failure),
    };
    drop(client);
    outcome
}

fn http_client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        // reqwest is built without a default TLS provider; plain HTTP still needs one installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("build the probe's HTTP client")
    })
}

async fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<String, String> {
    let url = format!("http://{addr}{path}");
    let response = http_client()
        .get(&url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                format!("GET {url} timed out: no answer within {timeout:?}")
            } else {
                format!("GET {url}: {}", error_chain(&e))
            }
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(format!("HTTP {status}"))
    } else {
        Err(format!("GET {url} answered {status}"))
    }
}

/// An error and its sources, `outer: inner: root`, as reqwest's own text leaves out the cause.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

async fn tcp_connect(addr: SocketAddr, timeout: Duration) -> Result<String, String> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok("connected".to_owned()),
        Ok(Err(e)) => Err(format!("connect to {addr}: {e}")),
        Err(_) => Err(format!(
            "connect to {addr} timed out: no answer within {timeout:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_is_unreachable_at_once_for_every_kind() {
        let addr: SocketAddr = ([127, 0, 0, 1], testkit::free_port()).into();
        for readiness in [
            Readiness::MongodbPing,
            Readiness::HttpGet {
                path: "/health".into(),
            },
            Readiness::Tcp,
        ] {
            let result = check(&readiness, addr, Duration::from_secs(1)).await;
            assert!(!result.reachable, "{readiness}: {result:?}");
            assert!(
                result.latency < Duration::from_millis(500),
                "{readiness} took {:?}",
                result.latency
            );
            assert!(
                result.detail.to_lowercase().contains("refused"),
                "{readiness}: {}",
                result.detail
            );
        }
    }

    #[tokio::test]
    async fn a_silent_server_is_reported_as_timed_out_not_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Accepts connections and holds them open without ever answering, like a blackhole.
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        for readiness in [
            Readiness::MongodbPing,
            Readiness::HttpGet {
                path: "/health".into(),
            },
        ] {
            let result = check(&readiness, addr, Duration::from_millis(300)).await;
            assert!(!result.reachable, "{readiness}: {result:?}");
            assert!(
                result.detail.contains("timed out"),
                "{readiness}: {}",
                result.detail
            );
        }
        silent.abort();
    }
}
