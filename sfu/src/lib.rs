//! The selective forwarding unit: routes RTP among the participants of each room
//! without decoding it.
//!
//! Two layers, imports pointing down only:
//! - [`core`]: a sans-I/O state machine ([`Sfu`]) that owns every participant's WebRTC
//!   state (str0m, in RTP mode, ICE-lite, one UDP port for all). It does no I/O and reads
//!   no clock: time comes in as an [`std::time::Instant`] argument, datagrams come in
//!   through [`Sfu::handle_datagram`] and leave through [`Sfu::poll_transmit`].
//! - [`driver`] (feature `driver`, on by default): a thin tokio task that owns one
//!   [`Sfu`] and its UDP socket and is driven by commands from a cloneable [`SfuHandle`].
//!
//! The core knows rooms, participants, tracks and grants; nothing of HTTP, tokens or
//! meetings.

pub mod core;
pub mod delay;
#[cfg(feature = "driver")]
pub mod driver;

pub use crate::core::{
    Grants, JoinOutcome, LeaveReason, Notice, ParticipantId, ParticipantInfo, ParticipantStats,
    ParticipantSummary, PeerRole, Sfu, SfuConfig, SfuError, SfuStats, TrackKind, TrackSummary,
    Transmit, TIMER_GRANULARITY,
};
pub use crate::delay::{DelayHistogram, ForwardingDelay};
#[cfg(feature = "driver")]
pub use crate::driver::{ParticipantHandle, SfuHandle};
