//! The thin tokio driver: one task owns the [`Sfu`] core and the UDP socket all
//! participants share, and is told what to do through a channel by cheap, cloneable
//! handles. No lock is taken on the media path. The task runs on a thread of its own
//! (`sfu-media`, a single-threaded runtime), apart from the server's HTTP and
//! WebSocket work.
//!
//! Each wake-up on a readable socket reads datagrams in batches (`recvmmsg`, see
//! [`udp`]); after each batch the core is settled ([`Sfu::settle_some`]: every
//! subscriber the batch was forwarded to is driven once), and its output is sent in
//! batches (`sendmmsg`, many destinations per call) as it comes, a send call's worth at
//! a time, before the next read. A datagram fanned out to N subscribers costs a
//! fraction of a receive call and N/32 of a send call.

mod udp;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::core::{
    JoinOutcome, LeaveReason, Notice, ParticipantId, ParticipantInfo, ParticipantStats, PeerRole,
    Sfu, SfuConfig, SfuError, SfuStats, TIMER_GRANULARITY,
};
use crate::delay::ForwardingDelay;
use udp::{Receiver, SendQueue, Sender};

pub use udp::{MAX_BATCH, SOCKET_BUFFER};

/// Receive batches handled in one wake-up before the driver looks at its commands and
/// timers again (each batch's output is sent before the next is read).
const RECV_ROUNDS: usize = 8;

/// Where the driver listens and what it advertises.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// Local address of the one UDP socket (port 0 picks a free port).
    pub bind: SocketAddr,
    /// Addresses advertised as ICE candidates, with the bound port.
    pub public_ips: Vec<IpAddr>,
}

enum Command {
    Join {
        room: String,
        info: ParticipantInfo,
        reply: oneshot::Sender<Result<(JoinOutcome, mpsc::UnboundedReceiver<Notice>), SfuError>>,
    },
    PublishOffer {
        id: ParticipantId,
        sdp: String,
        reply: oneshot::Sender<Result<String, SfuError>>,
    },
    SubscribeAnswer {
        id: ParticipantId,
        sdp: String,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    Candidate {
        id: ParticipantId,
        role: PeerRole,
        candidate: String,
        reply: oneshot::Sender<Result<(), SfuError>>,
    },
    Leave {
        id: ParticipantId,
        reason: LeaveReason,
    },
    Stats {
        reply: oneshot::Sender<SfuStats>,
    },
    ParticipantStats {
        reply: oneshot::Sender<Vec<ParticipantStats>>,
    },
}

/// Errors of the driver itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// The core refused the request.
    #[error(transparent)]
    Sfu(#[from] SfuError),
    /// The driver task is gone (the server is shutting down).
    #[error("the media engine has stopped")]
    Stopped,
}

/// How the driver moves datagrams.
#[derive(Debug, Clone, Copy)]
pub struct IoConfig {
    /// Datagrams per `recvmmsg` / `sendmmsg` call, 1..=[`MAX_BATCH`] (default
    /// [`MAX_BATCH`]; 1 is one system call per datagram, for comparison).
    pub batch: usize,
    /// When the core is settled ([`Sfu::settle`]): once per receive batch (default), or
    /// after every datagram, which only the benchmarks use, for comparison.
    pub settle: Settle,
    /// [`SfuConfig::timer_granularity`](crate::SfuConfig::timer_granularity) (default
    /// [`TIMER_GRANULARITY`]).
    pub timer_granularity: Duration,
}

/// When the driver settles the core after received datagrams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Settle {
    /// Once per receive batch: each subscriber is driven once per batch.
    #[default]
    PerBatch,
    /// After every datagram: each subscriber is driven once per packet forwarded to it.
    PerDatagram,
}

impl Default for IoConfig {
    fn default() -> Self {
        IoConfig {
            batch: MAX_BATCH,
            settle: Settle::PerBatch,
            timer_granularity: TIMER_GRANULARITY,
        }
    }
}

/// A handle on the running SFU; clone freely.
#[derive(Clone)]
pub struct SfuHandle {
    tx: mpsc::UnboundedSender<Command>,
    media_addr: SocketAddr,
    delay: Arc<ForwardingDelay>,
}

/// One participant's handle. Dropping it makes the participant leave
/// ([`LeaveReason::Disconnected`]).
pub struct ParticipantHandle {
    id: ParticipantId,
    tx: mpsc::UnboundedSender<Command>,
    left: bool,
}

impl SfuHandle {
    /// Bind the UDP socket and start the driver task on the current tokio runtime.
    pub async fn start(config: DriverConfig) -> io::Result<SfuHandle> {
        Self::start_with_io(config, IoConfig::default()).await
    }

    /// [`SfuHandle::start`] with a choice of how datagrams are batched.
    pub async fn start_with_io(config: DriverConfig, io_config: IoConfig) -> io::Result<SfuHandle> {
        let socket = std::net::UdpSocket::bind(config.bind)?;
        socket.set_nonblocking(true)?;
        let bound = socket.local_addr()?;
        let got = udp::grow_buffers(&socket, SOCKET_BUFFER)?;
        // The kernel reports twice what it granted.
        if got.receive < SOCKET_BUFFER || got.send < SOCKET_BUFFER {
            tracing::warn!(
                wanted = SOCKET_BUFFER,
                receive = got.receive / 2,
                send = got.send / 2,
                "the media socket got smaller buffers than it asked for: raise \
                 net.core.rmem_max and net.core.wmem_max (or run with CAP_NET_ADMIN), \
                 or bursts will be dropped under load"
            );
        } else {
            tracing::debug!(
                receive = got.receive / 2,
                send = got.send / 2,
                "media socket buffers"
            );
        }
        if config.public_ips.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no public IP to advertise",
            ));
        }
        let candidates: Vec<SocketAddr> = config
            .public_ips
            .iter()
            .map(|ip| SocketAddr::new(*ip, bound.port()))
            .collect();
        let sfu = Sfu::new(
            SfuConfig {
                candidates: candidates.clone(),
                dtls_cert: None,
                timer_granularity: io_config.timer_granularity,
            },
            Instant::now(),
        )
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let delay = Arc::new(ForwardingDelay::new());
        // The media path gets a thread of its own with a single-threaded runtime: a
        // datagram wakes that one thread, never a work-stealing pool shared with HTTP
        // and WebSocket work. The thread ends when every handle is gone.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let socket = {
            // Registered with the reactor of the runtime that will poll it.
            let _in_runtime = runtime.enter();
            UdpSocket::from_std(socket)?
        };
        let (task_candidates, task_delay) = (candidates.clone(), delay.clone());
        std::thread::Builder::new()
            .name("sfu-media".into())
            .spawn(move || {
                runtime.block_on(run(sfu, socket, rx, task_candidates, io_config, task_delay))
            })?;
        Ok(SfuHandle {
            tx,
            media_addr: candidates[0],
            delay,
        })
    }

    /// The advertised media address (first candidate).
    pub fn media_addr(&self) -> SocketAddr {
        self.media_addr
    }

    /// Join `room`. Returns the participant's handle, who else is there, and the
    /// stream of notices for its client.
    pub async fn join(
        &self,
        room: &str,
        info: ParticipantInfo,
    ) -> Result<
        (
            ParticipantHandle,
            JoinOutcome,
            mpsc::UnboundedReceiver<Notice>,
        ),
        DriverError,
    > {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Join {
            room: room.to_string(),
            info,
            reply,
        })?;
        let (outcome, notices) = rx.await.map_err(|_| DriverError::Stopped)??;
        let handle = ParticipantHandle {
            id: outcome.participant_id,
            tx: self.tx.clone(),
            left: false,
        };
        Ok((handle, outcome, notices))
    }

    /// The core's counters, with the driver's forwarding-delay histogram.
    pub async fn stats(&self) -> Result<SfuStats, DriverError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Stats { reply })?;
        let mut stats = rx.await.map_err(|_| DriverError::Stopped)?;
        stats.forwarding_delay = self.delay.snapshot();
        Ok(stats)
    }

    /// Every participant's figures ([`Sfu::participant_stats`]).
    pub async fn participant_stats(&self) -> Result<Vec<ParticipantStats>, DriverError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::ParticipantStats { reply })?;
        rx.await.map_err(|_| DriverError::Stopped)
    }

    fn send(&self, c: Command) -> Result<(), DriverError> {
        self.tx.send(c).map_err(|_| DriverError::Stopped)
    }
}

impl ParticipantHandle {
    /// The participant's id.
    pub fn id(&self) -> ParticipantId {
        self.id
    }

    /// Hand over a publisher offer; returns the answer.
    pub async fn publish_offer(&self, sdp: String) -> Result<String, DriverError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::PublishOffer {
            id: self.id,
            sdp,
            reply,
        })?;
        Ok(rx.await.map_err(|_| DriverError::Stopped)??)
    }

    /// Hand over the answer to the last subscriber offer.
    pub async fn subscribe_answer(&self, sdp: String) -> Result<(), DriverError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::SubscribeAnswer {
            id: self.id,
            sdp,
            reply,
        })?;
        Ok(rx.await.map_err(|_| DriverError::Stopped)??)
    }

    /// Hand over a trickled ICE candidate.
    pub async fn candidate(&self, role: PeerRole, candidate: String) -> Result<(), DriverError> {
        let (reply, rx) = oneshot::channel();
        self.send(Command::Candidate {
            id: self.id,
            role,
            candidate,
            reply,
        })?;
        Ok(rx.await.map_err(|_| DriverError::Stopped)??)
    }

    /// Leave the room.
    pub fn leave(mut self, reason: LeaveReason) {
        self.left = true;
        let _ = self.tx.send(Command::Leave {
            id: self.id,
            reason,
        });
    }

    fn send(&self, c: Command) -> Result<(), DriverError> {
        self.tx.send(c).map_err(|_| DriverError::Stopped)
    }
}

impl Drop for ParticipantHandle {
    fn drop(&mut self) {
        if !self.left {
            let _ = self.tx.send(Command::Leave {
                id: self.id,
                reason: LeaveReason::Disconnected,
            });
        }
    }
}

async fn run(
    mut sfu: Sfu,
    socket: UdpSocket,
    mut rx: mpsc::UnboundedReceiver<Command>,
    candidates: Vec<SocketAddr>,
    io_config: IoConfig,
    delay: Arc<ForwardingDelay>,
) {
    let fd = socket.as_raw_fd();
    let mut receiver = Receiver::new(io_config.batch);
    let mut sender = Sender::default();
    let mut queue = SendQueue::default();
    let mut truncated = 0u64;
    let mut sessions: HashMap<ParticipantId, mpsc::UnboundedSender<Notice>> = HashMap::new();
    let settle_each = io_config.settle == Settle::PerDatagram;
    // One `sendmmsg` per batch. A full socket leaves the rest queued for the
    // `writable` branch below (`try_io` clears the readiness so that it waits).
    let mut flush = |queue: &mut SendQueue| {
        let _full = queue.flush(io_config.batch, &delay, |batch| {
            socket.try_io(Interest::WRITABLE, || sender.send(fd, batch))
        });
    };
    loop {
        let deadline = tokio::time::Instant::from_std(sfu.poll_timeout());
        tokio::select! {
            biased;
            cmd = rx.recv() => match cmd {
                Some(cmd) => handle_command(&mut sfu, cmd, &mut sessions),
                None => break,
            },
            // A full socket: wait until it drains; meanwhile nothing new is read, so
            // the backlog stays in the kernel's receive buffer.
            r = socket.writable(), if !queue.is_empty() => {
                if let Err(e) = r {
                    tracing::error!("media socket failed: {e}");
                    break;
                }
            }
            r = socket.readable(), if queue.is_empty() => {
                if let Err(e) = r {
                    tracing::error!("media socket failed: {e}");
                    break;
                }
                for _ in 0..RECV_ROUNDS {
                    let received = socket.try_io(Interest::READABLE, || {
                        receiver.recv(fd, |at, source, data| {
                            let local = local_for(&candidates, source);
                            sfu.handle_datagram(at, source, local, data);
                            if settle_each {
                                sfu.settle(at);
                            }
                        })
                    });
                    let at = match received {
                        Ok(r) => {
                            if r.truncated > 0 {
                                truncated += r.truncated as u64;
                                tracing::debug!(truncated, "media datagrams longer than the receive buffer dropped");
                            }
                            r.received_at
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        // ICMP errors from earlier sends can surface here; not fatal.
                        Err(e) => {
                            tracing::debug!("media socket receive: {e}");
                            break;
                        }
                    };
                    // The batch's forwarded media is sent now, before the next read, a
                    // sendmmsg's worth at a time as the subscribers are driven.
                    loop {
                        let more = sfu.settle_some(at, MAX_BATCH);
                        queue_output(&mut sfu, &mut queue, Some(at));
                        flush(&mut queue);
                        if more && !queue.is_empty() {
                            // The socket is full: the rest waits in the queue.
                            sfu.settle(at);
                            queue_output(&mut sfu, &mut queue, Some(at));
                        }
                        if !more || !queue.is_empty() {
                            break;
                        }
                    }
                    if !queue.is_empty() {
                        break;
                    }
                }
            }
            _ = tokio::time::sleep_until(deadline) => sfu.handle_timeout(Instant::now()),
        }
        queue_output(&mut sfu, &mut queue, None);
        flush(&mut queue);
        while let Some((id, notice)) = sfu.poll_notice() {
            let removed = matches!(notice, Notice::Removed { .. });
            if let Some(s) = sessions.get(&id) {
                let _ = s.send(notice);
            }
            if removed {
                sessions.remove(&id);
            }
        }
    }
    tracing::info!(
        send_failures = queue.failed,
        truncated,
        "media engine stopped"
    );
}

fn handle_command(
    sfu: &mut Sfu,
    cmd: Command,
    sessions: &mut HashMap<ParticipantId, mpsc::UnboundedSender<Notice>>,
) {
    let now = Instant::now();
    match cmd {
        Command::Join { room, info, reply } => {
            let result = sfu.join(now, &room, info).map(|outcome| {
                let (tx, rx) = mpsc::unbounded_channel();
                sessions.insert(outcome.participant_id, tx);
                (outcome, rx)
            });
            let _ = reply.send(result);
        }
        Command::PublishOffer { id, sdp, reply } => {
            let _ = reply.send(sfu.handle_publish_offer(now, id, &sdp));
        }
        Command::SubscribeAnswer { id, sdp, reply } => {
            let _ = reply.send(sfu.handle_subscribe_answer(now, id, &sdp));
        }
        Command::Candidate {
            id,
            role,
            candidate,
            reply,
        } => {
            let _ = reply.send(sfu.handle_candidate(id, role, &candidate));
        }
        Command::Leave { id, reason } => {
            sessions.remove(&id);
            sfu.leave(now, id, reason);
        }
        Command::Stats { reply } => {
            let _ = reply.send(sfu.stats());
        }
        Command::ParticipantStats { reply } => {
            let _ = reply.send(sfu.participant_stats());
        }
    }
}

/// Move the core's datagrams to the send queue, with the receive time they answer.
fn queue_output(sfu: &mut Sfu, queue: &mut SendQueue, received_at: Option<Instant>) {
    while let Some(t) = sfu.poll_transmit() {
        queue.push(t, received_at);
    }
}

/// The local address a datagram from `source` arrived at: the candidate of the same
/// address family.
fn local_for(candidates: &[SocketAddr], source: SocketAddr) -> SocketAddr {
    candidates
        .iter()
        .copied()
        .find(|c| c.is_ipv4() == source.is_ipv4())
        .unwrap_or(candidates[0])
}
