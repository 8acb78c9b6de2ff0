//! A loopback TCP proxy that can blackhole its upstream: while blackholed it accepts
//! connections and reads what is sent, but never forwards or answers anything, on new and
//! existing connections alike (the worst kind of network fault: no refusal, no reset).
//! Healing closes the connections held during the blackhole; new ones are forwarded again.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The proxy; its threads stop when it is dropped.
#[derive(Debug)]
pub struct BlackholeProxy {
    addr: SocketAddr,
    blackholed: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl BlackholeProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("proxy address");
        let blackholed = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (bh, st, hd) = (blackholed.clone(), stop.clone(), held.clone());
        std::thread::spawn(move || accept_loop(listener, upstream, bh, st, hd));
        Self {
            addr,
            blackholed,
            stop,
            held,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A MongoDB URI through the proxy, with `directConnection=true`.
    pub fn mongo_uri(&self) -> String {
        format!("mongodb://{}/?directConnection=true", self.addr)
    }

    /// Starts (`true`) or heals (`false`) the blackhole.
    pub fn set_blackholed(&self, on: bool) {
        self.blackholed.store(on, Ordering::SeqCst);
        if !on {
            for s in self.held.lock().unwrap().drain(..) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

impl Drop for BlackholeProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.set_blackholed(false);
    }
}

fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    blackholed: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                let _ = client.set_nonblocking(false);
                if blackholed.load(Ordering::SeqCst) {
                    // Accepted, never answered.
                    held.lock().unwrap().push(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(1))
                else {
                    continue;
                };
                if let (Ok(c2), Ok(c3), Ok(s2)) =
                    (client.try_clone(), client.try_clone(), server.try_clone())
                {
                    held.lock().unwrap().push(c3);
                    let (b1, b2, st1, st2) = (
                        blackholed.clone(),
                        blackholed.clone(),
                        stop.clone(),
                        stop.clone(),
                    );
                    std::thread::spawn(move || pump(client, server, b1, st1));
                    std::thread::spawn(move || pump(s2, c2, b2, st2));
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Copies `from` → `to` until either closes; while blackholed, reads and drops.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    blackholed: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = vec![0u8; 64 * 1024];
    let mut dark = false;
    while !stop.load(Ordering::SeqCst) {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                dark |= blackholed.load(Ordering::SeqCst);
                if !dark && to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                // A connection that went dark stays dark until it is closed.
                dark |= blackholed.load(Ordering::SeqCst);
            }
            Err(_) => break,
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
