//! Janus's VideoRoom as a load-test target (not built yet: the placeholder says so).

use crate::target::{SessionEvent, Target, TerminalSession, TerminalSpec};

/// Janus reached through its HTTP API.
pub struct JanusTarget {
    _url: String,
}

impl JanusTarget {
    /// Refuses until the Janus target is written.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        anyhow::bail!("Janus target not built yet (asked for {url})")
    }
}

/// A terminal's session with Janus.
pub struct JanusSession;

impl Target for JanusTarget {
    type Session = JanusSession;

    async fn prepare(&self, _terminals: usize) -> anyhow::Result<()> {
        anyhow::bail!("Janus target not built yet")
    }

    async fn connect(&self, _terminal: &TerminalSpec) -> anyhow::Result<JanusSession> {
        anyhow::bail!("Janus target not built yet")
    }

    fn name(&self) -> &'static str {
        "janus"
    }
}

impl TerminalSession for JanusSession {
    async fn publish(&mut self, _offer_sdp: String) -> anyhow::Result<String> {
        anyhow::bail!("Janus target not built yet")
    }

    async fn next_event(&mut self) -> anyhow::Result<SessionEvent> {
        anyhow::bail!("Janus target not built yet")
    }

    async fn answer(&mut self, _answer_sdp: String) -> anyhow::Result<()> {
        anyhow::bail!("Janus target not built yet")
    }

    async fn leave(self) -> anyhow::Result<()> {
        anyhow::bail!("Janus target not built yet")
    }
}
