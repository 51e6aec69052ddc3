//! What the load test needs from a server under test, whichever it is.
//!
//! The media side (webrtc-rs peer connections, synthetic RTP, receive statistics) is
//! the same for every target; only how offers and answers travel differs. Our server
//! (`signaling`'s WebSocket protocol) and Janus's VideoRoom both fit one shape:
//!
//! - a **publisher** connection the terminal offers and the server answers, offered
//!   again whenever the terminal adds or removes a track;
//! - a **subscriber** connection the server offers (again whenever the set of
//!   tracks to receive changes) and the terminal answers.
//!
//! Offers and answers carry complete ICE candidates (the terminal waits for
//! gathering to finish), so no target needs trickle.

use std::future::Future;

/// Who a synthetic terminal is.
#[derive(Debug, Clone)]
pub struct TerminalSpec {
    /// 0-based position in the run; index 0 is the chair.
    pub index: usize,
    /// Stable identity, e.g. `lt-007`.
    pub identity: String,
    /// Display name.
    pub name: String,
    /// Whether it chairs the meeting.
    pub chair: bool,
}

/// A server the load test can run a scenario against.
pub trait Target: Send + Sync + 'static {
    /// One terminal's signaling session.
    type Session: TerminalSession;

    /// Readies the server for a run of `terminals` terminals (Janus: creates the room).
    fn prepare(&self, terminals: usize) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Opens a terminal's signaling session and enters the meeting; returns once the
    /// server has admitted it.
    fn connect(
        &self,
        terminal: &TerminalSpec,
    ) -> impl Future<Output = anyhow::Result<Self::Session>> + Send;

    /// Short name for reports: `hoinghi` or `janus`.
    fn name(&self) -> &'static str;
}

/// What arrives from the server on a terminal's session.
#[derive(Debug)]
pub enum SessionEvent {
    /// An offer for the subscriber connection; answer with [`TerminalSession::answer`].
    SubscriberOffer(String),
    /// The session ended (closed by the server, or failed); the text says why.
    Closed(String),
}

/// One terminal's signaling session.
pub trait TerminalSession: Send + 'static {
    /// Sends the publisher connection's offer (first or renegotiated); returns the
    /// server's answer.
    fn publish(&mut self, offer_sdp: String)
        -> impl Future<Output = anyhow::Result<String>> + Send;

    /// Waits for the next event from the server.
    fn next_event(&mut self) -> impl Future<Output = anyhow::Result<SessionEvent>> + Send;

    /// Answers the last subscriber offer.
    fn answer(&mut self, answer_sdp: String) -> impl Future<Output = anyhow::Result<()>> + Send;

    /// Leaves the meeting and closes the session.
    fn leave(self) -> impl Future<Output = anyhow::Result<()>> + Send;
}
