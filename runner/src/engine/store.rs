//! What one scenario's [`wasmtime::Store`] holds: the sandboxed WASI context (nothing granted,
//! stdout and stderr captured), the memory cap, and the host's own state.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// The data of one scenario's store.
pub struct GuestState<H> {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: MemoryCap,
    /// The host side of the contract: the environment, the journal, the log.
    pub host: H,
}

impl<H> GuestState<H> {
    /// A sandbox that grants nothing: no preopened folders, no environment variables, no
    /// arguments, no sockets, no name lookups. Stdout and stderr go to `stdout` and `stderr`.
    pub(crate) fn new(
        host: H,
        memory_cap: usize,
        stdout: &CapturedOutput,
        stderr: &CapturedOutput,
    ) -> Self {
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limits: MemoryCap::new(memory_cap),
            host,
        }
    }
}

impl<H: Send> WasiView for GuestState<H> {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// [`StoreLimits`] with `trap_on_grow_failure`, which also remembers whether the cap was hit,
/// so that the outcome says "memory cap" rather than a bare trap.
pub(crate) struct MemoryCap {
    limits: StoreLimits,
    cap: usize,
    /// The size the guest asked for when it went past the cap.
    pub(crate) exceeded_at: Option<usize>,
}

impl MemoryCap {
    fn new(cap: usize) -> Self {
        let limits = StoreLimitsBuilder::new()
            .memory_size(cap)
            .trap_on_grow_failure(true)
            .build();
        Self {
            limits,
            cap,
            exceeded_at: None,
        }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.exceeded_at = Some(desired);
        }
        self.limits.memory_growing(current, desired, maximum)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// A guest output stream that accepts everything and keeps the first and the last
/// `keep / 2` bytes, counting what it drops in between. A guest that prints 10 MB is not
/// stopped, and the report shows how it began and how it ended.
#[derive(Clone)]
pub struct CapturedOutput {
    inner: Arc<Mutex<HeadTail>>,
}

struct HeadTail {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    half: usize,
    total: u64,
}

impl CapturedOutput {
    /// A capture that keeps at most `keep` bytes.
    pub fn new(keep: usize) -> Self {
        let half = keep / 2;
        let head = HeadTail {
            head: Vec::new(),
            tail: VecDeque::new(),
            half,
            total: 0,
        };
        Self {
            inner: Arc::new(Mutex::new(head)),
        }
    }

    fn write(&self, mut bytes: &[u8]) {
        let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        state.total += bytes.len() as u64;
        let room = state.half.saturating_sub(state.head.len());
        let into_head = room.min(bytes.len());
        state.head.extend_from_slice(&bytes[..into_head]);
        bytes = &bytes[into_head..];
        if bytes.len() >= state.half {
            state.tail.clear();
            let start = bytes.len() - state.half;
            state.tail.extend(&bytes[start..]);
        } else {
            let overflow = (state.tail.len() + bytes.len()).saturating_sub(state.half);
            state.tail.drain(..overflow);
            state.tail.extend(bytes);
        }
    }

    /// How many bytes the guest wrote in all.
    pub fn total_bytes(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).total
    }

    /// What was kept, as text; a line in the middle says how much was left out.
    pub fn text(&self) -> String {
        self.text_within(usize::MAX)
    }

    /// At most `max` bytes of what was kept (its head and its tail), with one marker in the
    /// middle that counts every byte the guest wrote and the text leaves out.
    pub fn text_within(&self, max: usize) -> String {
        let state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let head = &state.head[..state.head.len().min(max / 2)];
        let tail_len = state.tail.len().min(max - max / 2);
        let tail: Vec<u8> = state
            .tail
            .iter()
            .skip(state.tail.len() - tail_len)
            .copied()
            .collect();
        let mut text = String::from_utf8_lossy(head).into_owned();
        let omitted = state.total - (head.len() + tail.len()) as u64;
        if omitted > 0 {
            text.push('\n');
            text.push_str(&crate::guest_text::marker(omitted));
            text.push('\n');
        }
        text.push_str(&String::from_utf8_lossy(&tail));
        text
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.write(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_is_kept_whole() {
        let out = CapturedOutput::new(64);
        out.write(b"hello ");
        out.write(b"world");
        assert_eq!(out.text(), "hello world");
        assert_eq!(out.total_bytes(), 11);
    }

    #[test]
    fn large_output_keeps_head_and_tail_and_counts_the_rest() {
        let out = CapturedOutput::new(8);
        for chunk in [&b"abcdef"[..], b"ghij", b"klmnopqrst", b"uv", b"wxyz"] {
            out.write(chunk);
        }
        assert_eq!(out.text(), "abcd\n[… 18 bytes cut …]\nwxyz");
        assert_eq!(out.total_bytes(), 26);
        assert_eq!(out.text_within(4), "ab\n[… 22 bytes cut …]\nyz");
    }

    #[test]
    fn fifty_megabytes_report_the_real_number_left_out() {
        let out = CapturedOutput::new(64 << 10);
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..50 {
            out.write(&chunk);
        }
        let shown = 16 << 10;
        let text = out.text_within(shown);
        let cut = (50u64 << 20) - shown as u64;
        assert!(
            text.contains(&format!("[… {cut} bytes cut …]")),
            "{}",
            &text[8000..8300]
        );
        assert_eq!(text.matches("bytes cut").count(), 1);
    }
}
