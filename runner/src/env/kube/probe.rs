//! One probe of a service by its protocol: a MongoDB driver `ping` (`directConnection=true`),
//! `GET /health`, or a TCP connect, each bounded by a short deadline.

use std::time::{Duration, Instant};

use mongodb::bson::doc;

use crate::env::ProbeResult;

use super::config::ProbeProtocol;

/// How long one probe may take before it counts as unreachable.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(1000);

/// Probes `address` (`host:port`) with `protocol`. `via` says how the address was reached,
/// for the detail line.
pub async fn probe(protocol: ProbeProtocol, address: &str, via: &str) -> ProbeResult {
    let started = Instant::now();
    let outcome = tokio::time::timeout(PROBE_TIMEOUT + Duration::from_millis(500), async {
        match protocol {
            ProbeProtocol::Mongodb => mongodb_ping(address).await,
            ProbeProtocol::Http => http_health(address).await,
            ProbeProtocol::Tcp => tcp_connect(address).await,
        }
    })
    .await
    .unwrap_or_else(|_| {
        Err(format!(
            "timed out: no answer within {:.1} s",
            PROBE_TIMEOUT.as_secs_f64()
        ))
    });
    let latency = started.elapsed();
    match outcome {
        Ok(answer) => ProbeResult {
            reachable: true,
            latency,
            detail: format!("{answer} ({via})"),
        },
        Err(error) => ProbeResult {
            reachable: false,
            latency,
            detail: format!("{error} ({via})"),
        },
    }
}

/// A result for a service with nothing behind it, as a Service without endpoints refuses.
pub fn no_endpoints(why: String) -> ProbeResult {
    ProbeResult {
        reachable: false,
        latency: Duration::ZERO,
        detail: why,
    }
}

async fn mongodb_ping(address: &str) -> Result<String, String> {
    let ms = PROBE_TIMEOUT.as_millis();
    let uri = format!(
        "mongodb://{address}/?directConnection=true&serverSelectionTimeoutMS={ms}&connectTimeoutMS={ms}"
    );
    let client = mongodb::Client::with_uri_str(&uri)
        .await
        .map_err(|e| format!("bad MongoDB address {uri}: {e}"))?;
    let result = client
        .database("admin")
        .run_command(doc! { "ping": 1 })
        .await;
    // Closing the client in the background: the probe's latency is the ping's alone.
    tokio::spawn(async move { client.shutdown().await });
    match result {
        Ok(reply) => Ok(format!(
            "ping answered ok={} by {address}",
            reply.get("ok").map_or("?".into(), |v| v.to_string())
        )),
        Err(e) => Err(format!(
            "MongoDB ping to {address} failed: {}",
            one_line(&e.to_string())
        )),
    }
}

async fn http_health(address: &str) -> Result<String, String> {
    let url = format!("http://{address}/health");
    let client = reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {}", one_line(&reqwest_error(&e))))?;
    let status = response.status();
    if status.is_success() {
        Ok(format!("GET {url} answered {status}"))
    } else {
        Err(format!("GET {url} answered {status}"))
    }
}

async fn tcp_connect(address: &str) -> Result<String, String> {
    tokio::net::TcpStream::connect(address)
        .await
        .map(|_| format!("TCP connection to {address} accepted"))
        .map_err(|e| format!("TCP connection to {address}: {e}"))
}

/// reqwest's error with its causes: "error sending request: connection refused".
pub fn reqwest_error(e: &reqwest::Error) -> String {
    super::errors::error_chain(e)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
