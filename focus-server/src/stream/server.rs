//! One job's gRPC server: bound when the job starts (so its port is known before `/configure`
//! announces it, and nothing listens that was not announced), closed when the job stops.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use focus_stream_proto::DataStreamServiceServer;
use tokio::sync::watch;

use super::service::JobStreams;

/// How long a stopped job's server waits for its connections to close before dropping them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// A job's stream port, bound and not yet served.
#[derive(Debug)]
pub struct BoundPort {
    listener: std::net::TcpListener,
    port: u16,
}

impl BoundPort {
    /// Binds `ip:port` now.
    pub fn bind(ip: IpAddr, port: u16) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(SocketAddr::new(ip, port))?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        Ok(Self { listener, port })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves `streams` on this port until `stop` turns true (or its sender goes away); then
    /// stops listening at once and gives open streams [`SHUTDOWN_GRACE`] to end. Must be
    /// called inside a tokio runtime.
    pub fn serve(self, streams: JobStreams, stop: watch::Receiver<bool>) {
        let port = self.port;
        let listener = match tokio::net::TcpListener::from_std(self.listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(port, error = %e, "cannot serve the job's stream port");
                return;
            }
        };
        tokio::spawn(async move {
            let incoming = tonic::transport::server::TcpIncoming::from(listener);
            let serve = tonic::transport::Server::builder()
                .add_service(DataStreamServiceServer::new(streams))
                .serve_with_incoming_shutdown(incoming, stopped(stop.clone()));
            tokio::select! {
                result = serve => {
                    if let Err(e) = result {
                        tracing::warn!(port, error = %e, "the job's stream server failed");
                    }
                }
                _ = async { stopped(stop).await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
                    tracing::debug!(port, "stream connections dropped after the grace period");
                }
            }
            tracing::debug!(port, "stream server closed");
        });
    }
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
