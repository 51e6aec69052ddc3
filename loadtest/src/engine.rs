//! Which WebRTC engine runs a terminal's two peer connections.
//!
//! Both engines are webrtc-rs (a different stack from the SFU's str0m, so the load test
//! also tests interop), and both send the same media and measure it the same way:
//!
//! - [`EngineKind::Async`] (default): webrtc-rs's tokio `PeerConnection`, as an
//!   application would use it: a driver task per connection, a task per track, a
//!   channel between them (`peer.rs`).
//! - [`EngineKind::Sansio`]: the same stack's sans-I/O core (the `rtc` crate) driven by
//!   one task per connection that owns its socket, reads every waiting datagram per
//!   wake-up and measures packets where they are decrypted (`sansio.rs`), on threads
//!   of its own. It costs the load generator about 0.7x the CPU and drops nothing of
//!   its own, so one 2-core machine can play 78 terminals against a server beside it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::peer::Shared;
use crate::terminal::Plan;

/// `--engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// webrtc-rs's async `PeerConnection` (a task per connection and per track).
    Async,
    /// webrtc-rs's sans-I/O core (`rtc`), one task per connection: cheaper.
    Sansio,
}

impl EngineKind {
    /// The name the flag and the reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Async => "async",
            EngineKind::Sansio => "sansio",
        }
    }
}

/// The connection a terminal publishes on: it offers, the server answers.
pub trait Publisher: Sized + Send + Sync + 'static {
    /// A connection bound to `shared.bind_ip` carrying terminal `index`'s audio (and
    /// camera, if `plan` gives it one).
    fn open(
        shared: &Arc<Shared>,
        index: u16,
        plan: &Plan,
    ) -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// Our offer, with every candidate in it.
    fn offer(&self) -> impl Future<Output = anyhow::Result<String>> + Send;

    /// Applies the server's answer.
    fn accept_answer(&self, sdp: String) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Waits until ICE and DTLS are done, or says how the connection failed.
    fn connected(&self, within: Duration) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Starts sending media until the run stops; the returned tasks end with it.
    fn start_media(
        &self,
        index: u16,
        plan: &Plan,
        shared: &Arc<Shared>,
    ) -> Vec<tokio::task::JoinHandle<anyhow::Result<()>>>;

    /// Closes the connection.
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// The connection a terminal receives on: the server offers, the terminal answers;
/// every packet that arrives is measured as terminal `index`'s.
pub trait Subscriber: Sized + Send + Sync + 'static {
    /// A connection bound to `shared.bind_ip`.
    fn open(shared: &Arc<Shared>, index: u16) -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// Applies the server's offer; returns our answer with every candidate in it.
    fn answer(&self, sdp: String) -> impl Future<Output = anyhow::Result<String>> + Send;

    /// Closes the connection; its receive figures are in the collector afterwards.
    fn close(&self) -> impl Future<Output = ()> + Send;
}
