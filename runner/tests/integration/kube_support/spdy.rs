//! kubectl's port-forward: SPDY/3.1 streams tunnelled through a WebSocket (subprotocol
//! `SPDY/3.1+portforward.k8s.io`, KEP-4006), the bytes of the SPDY connection carried in binary
//! messages. For each local connection kubectl opens two streams, an error stream and then a
//! data stream, each with a SYN_STREAM that the server answers with a SYN_REPLY.
//!
//! Limits of the double: SPDY header blocks are zlib-compressed with a preset dictionary, and
//! no inflate is among the test's dependencies, so the double does not read kubectl's headers
//! (stream type, port, request id): it takes streams in pairs, error then data, in the order
//! client-go creates them, and connects every data stream to the pod's one backend. Its own
//! header blocks are empty and sent as stored (uncompressed) deflate blocks, each ending as a
//! sync flush does, which any zlib reader accepts. There is no flow control, which spdystream does not enforce either.

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

pub const PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";

const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const FLAG_FIN: u8 = 1;

fn control(kind: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80, 3];
    frame.extend_from_slice(&kind.to_be_bytes());
    frame.push(flags);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    frame.extend_from_slice(payload);
    frame
}

fn data(stream: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = (stream & 0x7fff_ffff).to_be_bytes().to_vec();
    frame.push(flags);
    frame.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    frame.extend_from_slice(payload);
    frame
}

/// The server's header compressor: one zlib stream over all its header blocks, each block a
/// stored deflate block (so nothing needs compressing).
#[derive(Default)]
struct Headers {
    started: bool,
}

impl Headers {
    /// An empty header block (no name/value pairs).
    fn empty(&mut self) -> Vec<u8> {
        let pairs = 0u32.to_be_bytes();
        let mut block = Vec::new();
        if !self.started {
            self.started = true;
            block.extend_from_slice(&[0x78, 0x01]);
        }
        let len = pairs.len() as u16;
        block.push(0); // not final, stored
        block.extend_from_slice(&len.to_le_bytes());
        block.extend_from_slice(&(!len).to_le_bytes());
        block.extend_from_slice(&pairs);
        // An empty stored block, as a zlib sync flush ends with: it lets the reader return the
        // block's bytes without reading past the frame (Go's flate reader would hit the frame's
        // end looking for the next block, and that error sticks).
        block.extend_from_slice(&[0, 0, 0, 0xff, 0xff]);
        block
    }
}

/// Serves one tunnelled SPDY connection; the data streams reach `backend`.
pub async fn serve<S>(ws: WebSocketStream<S>, backend: Option<String>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut incoming) = ws.split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        while let Some(bytes) = outgoing.recv().await {
            if sink.send(Message::binary(bytes)).await.is_err() {
                break;
            }
        }
        let _ = sink.send(Message::Close(None)).await;
    });
    let mut headers = Headers::default();
    let mut buffer: Vec<u8> = Vec::new();
    // Streams seen so far; an even count means the next is an error stream.
    let mut opened = 0usize;
    let mut error_stream = 0u32;
    let mut to_pod: std::collections::HashMap<u32, OwnedWriteHalf> = Default::default();
    'connection: while let Some(Ok(message)) = incoming.next().await {
        match message {
            Message::Binary(bytes) => buffer.extend_from_slice(&bytes),
            Message::Close(_) => break,
            _ => continue,
        }
        while buffer.len() >= 8 {
            let length = u32::from_be_bytes([0, buffer[5], buffer[6], buffer[7]]) as usize;
            if buffer.len() < 8 + length {
                break;
            }
            let frame: Vec<u8> = buffer.drain(..8 + length).collect();
            let (flags, payload) = (frame[4], &frame[8..]);
            if frame[0] & 0x80 == 0 {
                let stream = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                if let Some(pod) = to_pod.get_mut(&stream) {
                    if !payload.is_empty() && pod.write_all(payload).await.is_err() {
                        to_pod.remove(&stream);
                    } else if flags & FLAG_FIN != 0 {
                        let _ = pod.shutdown().await;
                        to_pod.remove(&stream);
                    }
                }
                continue;
            }
            let kind = u16::from_be_bytes([frame[2], frame[3]]);
            match kind {
                SYN_STREAM if payload.len() >= 4 => {
                    let stream =
                        u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
                            & 0x7fff_ffff;
                    let mut reply = stream.to_be_bytes().to_vec();
                    reply.extend_from_slice(&headers.empty());
                    let _ = out.send(control(SYN_REPLY, 0, &reply));
                    opened += 1;
                    if opened % 2 == 1 {
                        error_stream = stream;
                        continue;
                    }
                    let errors = error_stream;
                    let connected = match &backend {
                        Some(addr) => tokio::net::TcpStream::connect(addr)
                            .await
                            .map_err(|e| e.to_string()),
                        None => Err("the pod has no backend".to_owned()),
                    };
                    let tcp = match connected {
                        Ok(tcp) => tcp,
                        Err(e) => {
                            let message = format!("error forwarding port: {e}");
                            let _ = out.send(data(errors, 0, message.as_bytes()));
                            let _ = out.send(data(errors, FLAG_FIN, &[]));
                            let _ = out.send(data(stream, FLAG_FIN, &[]));
                            continue;
                        }
                    };
                    let (mut from_pod, writer) = tcp.into_split();
                    to_pod.insert(stream, writer);
                    let out = out.clone();
                    tokio::spawn(async move {
                        let mut buf = vec![0u8; 16 * 1024];
                        loop {
                            match from_pod.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    if out.send(data(stream, 0, &buf[..n])).is_err() {
                                        return;
                                    }
                                }
                            }
                        }
                        let _ = out.send(data(stream, FLAG_FIN, &[]));
                        let _ = out.send(data(errors, FLAG_FIN, &[]));
                    });
                }
                PING => {
                    let _ = out.send(frame.clone());
                }
                GOAWAY => break 'connection,
                // SETTINGS, WINDOW_UPDATE, RST_STREAM, HEADERS: nothing to do.
                _ => {}
            }
        }
    }
    // The writer ends when the last stream's sender goes.
    drop((out, writer));
}
