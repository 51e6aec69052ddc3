//! Batched UDP I/O for the driver: up to [`MAX_BATCH`] datagrams per `recvmmsg` and per
//! `sendmmsg` system call, into and out of buffers allocated once. A system call costs
//! several times what the core spends forwarding a packet, so this is where the media
//! path's cost goes down.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::{AsFd, RawFd};
use std::time::Instant;

use nix::sys::socket::{
    getsockopt, recvmmsg, sendmmsg, setsockopt, sockopt, MsgFlags, MultiHeaders, SockaddrStorage,
};

use crate::core::Transmit;
use crate::delay::ForwardingDelay;

/// Most datagrams moved by one system call.
pub const MAX_BATCH: usize = 32;

/// Receive buffer per datagram. WebRTC media stays under the path MTU (str0m writes at
/// most 1200 bytes of payload); anything longer is cut by the kernel and dropped here.
pub const DATAGRAM_BUF: usize = 2048;

/// Kernel buffer the media socket asks for in each direction. The one socket carries
/// every room's media: a 78-room discussion brings ~3,000 datagrams a second in and
/// sends ~80,000 out, so the default 208 KiB (~100 datagrams) overflows whenever the
/// driver's thread waits a few milliseconds for a core; 8 MiB holds ~100 ms of the
/// outgoing rate.
pub const SOCKET_BUFFER: usize = 8 << 20;

/// The buffer sizes a socket got, as the kernel reports them (it doubles what it
/// grants, for its own bookkeeping).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferSizes {
    /// `SO_RCVBUF`.
    pub receive: usize,
    /// `SO_SNDBUF`.
    pub send: usize,
}

/// Asks for `bytes` of receive and send buffer: beyond `net.core.rmem_max`/`wmem_max`
/// when the process may (`CAP_NET_ADMIN`), else as much as those limits allow.
/// Returns what the socket got.
pub fn grow_buffers(socket: &impl AsFd, bytes: usize) -> io::Result<BufferSizes> {
    if setsockopt(socket, sockopt::RcvBufForce, &bytes).is_err() {
        setsockopt(socket, sockopt::RcvBuf, &bytes).map_err(io::Error::from)?;
    }
    if setsockopt(socket, sockopt::SndBufForce, &bytes).is_err() {
        setsockopt(socket, sockopt::SndBuf, &bytes).map_err(io::Error::from)?;
    }
    Ok(BufferSizes {
        receive: getsockopt(socket, sockopt::RcvBuf).map_err(io::Error::from)?,
        send: getsockopt(socket, sockopt::SndBuf).map_err(io::Error::from)?,
    })
}

/// What one receive call brought in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// When the call returned: the receive time of every datagram it brought.
    pub received_at: Instant,
    /// Datagrams handed to the callback.
    pub datagrams: usize,
    /// Datagrams longer than [`DATAGRAM_BUF`], dropped.
    pub truncated: usize,
}

/// Receives datagrams in batches with `recvmmsg`.
pub struct Receiver {
    buf: Vec<u8>,
    headers: MultiHeaders<SockaddrStorage>,
    batch: usize,
}

impl Receiver {
    /// A receiver reading up to `batch` datagrams per call (clamped to 1..=[`MAX_BATCH`]).
    pub fn new(batch: usize) -> Self {
        Receiver {
            buf: vec![0; MAX_BATCH * DATAGRAM_BUF],
            headers: MultiHeaders::preallocate(MAX_BATCH, None),
            batch: batch.clamp(1, MAX_BATCH),
        }
    }

    /// One `recvmmsg` on the non-blocking socket `fd`: calls `on_datagram(received_at,
    /// source, bytes)` for every datagram, `received_at` being when the call returned.
    /// `WouldBlock` when nothing was waiting, `Interrupted` by a signal (call again).
    pub fn recv(
        &mut self,
        fd: RawFd,
        mut on_datagram: impl FnMut(Instant, SocketAddr, &[u8]),
    ) -> io::Result<Received> {
        let mut chunks = self.buf.chunks_exact_mut(DATAGRAM_BUF);
        // `buf` holds exactly MAX_BATCH chunks.
        let mut iovs: [[IoSliceMut<'_>; 1]; MAX_BATCH] =
            std::array::from_fn(|_| [IoSliceMut::new(chunks.next().expect("MAX_BATCH chunks"))]);
        // The kernel writes each header's address length back after a call; the socket
        // has one address family, so every source has the same length and the headers
        // can be reused as they are.
        let results = recvmmsg(
            fd,
            &mut self.headers,
            iovs[..self.batch].iter_mut(),
            MsgFlags::MSG_DONTWAIT,
            None,
        )
        .map_err(io::Error::from)?;
        let at = Instant::now();
        let mut got = Received {
            received_at: at,
            datagrams: 0,
            truncated: 0,
        };
        for msg in results {
            if msg.flags.contains(MsgFlags::MSG_TRUNC) {
                got.truncated += 1;
                continue;
            }
            let Some(source) = msg.address.as_ref().and_then(socket_addr) else {
                continue;
            };
            let data = msg.iovs().next().unwrap_or(&[]);
            on_datagram(at, source, data);
            got.datagrams += 1;
        }
        Ok(got)
    }
}

fn socket_addr(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    a.as_sockaddr_in6().map(|v6| SocketAddr::V6((*v6).into()))
}

/// A datagram waiting to be sent, with the receive time it answers (if any).
pub struct Outgoing {
    /// The datagram.
    pub transmit: Transmit,
    /// When the datagram that made the core produce it was received; `None` for
    /// datagrams produced on a timer or a command.
    pub received_at: Option<Instant>,
}

/// Sends a slice of datagrams with one `sendmmsg`.
pub struct Sender {
    headers: MultiHeaders<SockaddrStorage>,
}

// SAFETY (both): `MultiHeaders` is not `Send` only because its kernel headers hold raw
// pointers. Those point either into its own boxed slices (heap memory that moves with
// it) or, after a call, to buffers of that call, which are never read again: every call
// rewrites the pointers it uses before entering the kernel. Nothing is shared, so moving
// the owner to another thread (the tokio task migrating) is sound.
unsafe impl Send for Receiver {}
unsafe impl Send for Sender {}

impl Default for Sender {
    fn default() -> Self {
        Sender {
            headers: MultiHeaders::preallocate(MAX_BATCH, None),
        }
    }
}

impl Sender {
    /// Send the first [`MAX_BATCH`] of `batch` on the non-blocking socket `fd`; returns
    /// how many went out. The kernel reports an error only for the first datagram: a
    /// later failure ends the call early, and the next call starting there reports it.
    pub fn send(&mut self, fd: RawFd, batch: &[Outgoing]) -> io::Result<usize> {
        let batch = &batch[..batch.len().min(MAX_BATCH)];
        let slices: [[IoSlice<'_>; 1]; MAX_BATCH] = std::array::from_fn(|i| {
            [IoSlice::new(
                batch.get(i).map_or(&[][..], |o| &o.transmit.contents),
            )]
        });
        let addrs: [Option<SockaddrStorage>; MAX_BATCH] = std::array::from_fn(|i| {
            batch
                .get(i)
                .map(|o| SockaddrStorage::from(o.transmit.destination))
        });
        let sent = sendmmsg(
            fd,
            &mut self.headers,
            slices[..batch.len()].iter(),
            &addrs[..batch.len()],
            [],
            MsgFlags::MSG_DONTWAIT,
        )
        .map_err(io::Error::from)?;
        Ok(sent.count())
    }
}

/// Datagrams produced by the core and not yet sent, in order.
#[derive(Default)]
pub struct SendQueue {
    queue: Vec<Outgoing>,
    /// Datagrams dropped because sending them failed (not for a full socket).
    pub failed: u64,
}

impl SendQueue {
    /// Queue a datagram.
    pub fn push(&mut self, transmit: Transmit, received_at: Option<Instant>) {
        self.queue.push(Outgoing {
            transmit,
            received_at,
        });
    }

    /// Nothing waits to be sent.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Datagrams waiting.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Send everything queued in batches of at most `batch` through `send` (one system
    /// call each), recording each sent datagram's delay in `delay`.
    ///
    /// A full socket (`WouldBlock`) stops the flush and keeps what is unsent, in order,
    /// for the next call; any other error belongs to the first datagram of the batch
    /// (its destination): that one datagram is dropped and the rest go on.
    pub fn flush(
        &mut self,
        batch: usize,
        delay: &ForwardingDelay,
        mut send: impl FnMut(&[Outgoing]) -> io::Result<usize>,
    ) -> io::Result<()> {
        let batch = batch.clamp(1, MAX_BATCH);
        let mut next = 0;
        let result = loop {
            if next == self.queue.len() {
                break Ok(());
            }
            let end = (next + batch).min(self.queue.len());
            match send(&self.queue[next..end]) {
                Ok(0) => break Err(io::ErrorKind::WouldBlock.into()),
                Ok(n) => {
                    let n = n.min(end - next);
                    record_sent(delay, &self.queue[next..next + n], Instant::now());
                    next += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Err(e),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let t = &self.queue[next].transmit;
                    tracing::debug!(to = %t.destination, len = t.contents.len(), "media socket send: {e}");
                    self.failed += 1;
                    next += 1;
                }
            }
        };
        self.queue.drain(..next);
        result
    }
}

/// Record the delay of datagrams sent at `sent_at`, one histogram update per run of
/// datagrams answering the same receive.
fn record_sent(delay: &ForwardingDelay, sent: &[Outgoing], sent_at: Instant) {
    let mut run: Option<(Instant, u64)> = None;
    for at in sent.iter().filter_map(|o| o.received_at) {
        match &mut run {
            Some((t, n)) if *t == at => *n += 1,
            _ => {
                if let Some((t, n)) = run {
                    delay.record(sent_at.saturating_duration_since(t), n);
                }
                run = Some((at, 1));
            }
        }
    }
    if let Some((t, n)) = run {
        delay.record(sent_at.saturating_duration_since(t), n);
    }
}

#[cfg(test)]
mod tests;
