//! `scenario-runner proxy --listen ADDR --upstream HOST:PORT --control ADDR`: one fault proxy
//! (the local environment's pipeline) in front of one upstream, driven over a small HTTP
//! control API. The Kubernetes backend runs it as the Deployment it places in front of a
//! workload for a network fault. Ends cleanly on SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use fault_proxy::Proxy;

use crate::env::kube::proxy::control;

/// Arguments of `proxy`.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// Where clients connect, such as `0.0.0.0:27017`.
    #[arg(long, value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Where each connection goes, as `host:port`; the host is resolved for each connection.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_upstream)]
    pub upstream: String,
    /// Where the control API listens, such as `0.0.0.0:8475`.
    #[arg(long, value_name = "ADDR")]
    pub control: SocketAddr,
}

/// `host:port` with a port from 1 to 65535 and a host.
fn parse_upstream(text: &str) -> Result<String, String> {
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("{text:?} is not host:port"))?;
    match port.parse::<u16>() {
        Ok(p) if p > 0 && !host.is_empty() => Ok(text.to_owned()),
        _ => Err(format!(
            "{text:?} is not host:port with a port from 1 to 65535"
        )),
    }
}

/// Runs `proxy` until SIGTERM or SIGINT.
pub async fn execute(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigterm =
        signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let mut sigint =
        signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    let proxy = Proxy::start_to(args.listen, args.upstream.clone())
        .await
        .with_context(|| format!("cannot listen on {} for the proxy", args.listen))?;
    let listener = tokio::net::TcpListener::bind(args.control)
        .await
        .with_context(|| format!("cannot listen on {} for the control API", args.control))?;
    let control_addr = listener.local_addr().context("the control API's address")?;
    crate::outln!(
        "proxy: {} -> {}, control API on http://{control_addr}",
        proxy.addr(),
        args.upstream
    );
    let app = control::router(Arc::new(proxy));
    let stop = async move {
        tokio::select! {
            _ = sigterm.recv() => {}
            _ = sigint.recv() => {}
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
        .context("the control API stopped")?;
    crate::outln!("proxy: stopped");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_upstream;

    #[test]
    fn upstreams_need_a_host_and_a_port() {
        assert!(parse_upstream("mongodb.panda-system.svc:27017").is_ok());
        assert!(parse_upstream("127.0.0.1:9").is_ok());
        assert!(parse_upstream("mongodb").is_err());
        assert!(parse_upstream(":27017").is_err());
        assert!(parse_upstream("host:0").is_err());
        assert!(parse_upstream("host:70000").is_err());
    }
}
