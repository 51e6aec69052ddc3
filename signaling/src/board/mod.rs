//! The operator board: every live and coming meeting with its roster, each terminal's
//! presence and figures (the SFU's view merged with the terminal's own `stats`
//! reports), quality against thresholds, a short history, and alarms.
//!
//! Pure logic, clock injected (times are arguments): [`engine`] turns one sample of
//! inputs into a [`Board`], [`quality`] classifies, [`alarms`] raises and clears, and
//! [`reports`] merges the clients' reports. I/O lives in [`service`]: the sampling
//! task, presence hooks of the signaling sessions, the attendance writer.

pub mod alarms;
pub mod engine;
pub mod quality;
pub mod reports;
pub mod service;

use serde::Serialize;
use utoipa::ToSchema;

pub use alarms::{AlarmKind, AlarmSettings};
pub use service::BoardService;

/// Thresholds the board colours figures against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Thresholds {
    /// Loss fraction above which a terminal is `warn`.
    pub loss_warn: f64,
    /// Loss fraction above which a terminal is `bad`.
    pub loss_bad: f64,
    /// Round-trip time above which a terminal is `warn`, ms.
    pub rtt_warn_ms: f64,
    /// Seconds of `warn`/`bad` before a `degraded` alarm.
    pub degraded_alarm_secs: u64,
    /// Seconds of silence of a terminal holding the floor before a `silent_floor` alarm.
    pub silent_alarm_secs: u64,
    /// Seconds after a meeting's start before a `not_full` alarm.
    pub not_full_grace_secs: u64,
    /// Audio level (0..1) under which a terminal's microphone counts as silent.
    pub silent_level: f64,
    /// Seconds back a freeze still makes a terminal `warn`.
    pub freeze_warn_secs: u64,
}

impl Thresholds {
    /// The board's thresholds with these alarm delays.
    pub fn new(alarms: AlarmSettings) -> Thresholds {
        Thresholds {
            loss_warn: 0.01,
            loss_bad: 0.05,
            rtt_warn_ms: 250.0,
            degraded_alarm_secs: alarms.degraded_secs,
            silent_alarm_secs: alarms.silent_secs,
            not_full_grace_secs: alarms.not_full_grace_secs,
            silent_level: 0.001,
            freeze_warn_secs: 10,
        }
    }
}

/// The whole board, as `GET /api/v1/board` answers and the SSE `board` event carries.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Board {
    /// When sampled, unix ms.
    pub at: i64,
    pub thresholds: Thresholds,
    /// Live meetings, then those starting within 24 h, by start.
    pub meetings: Vec<BoardMeeting>,
    /// Active alarms and those cleared in the last 30 minutes, newest first.
    pub alarms: Vec<Alarm>,
}

/// `live` or `next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MeetingState {
    /// Inside its start..end, or someone has joined.
    Live,
    /// Starts within 24 h.
    Next,
}

/// One occurrence on the board.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BoardMeeting {
    pub meeting_id: String,
    /// Occurrence index in the series.
    pub occurrence: u32,
    /// The SFU room: `MEETING_ID:OCCURRENCE`.
    pub room: String,
    pub title: String,
    /// Unix seconds.
    pub starts_at: i64,
    /// Unix seconds.
    pub ends_at: i64,
    pub state: MeetingState,
    /// `directive`, `controlled` or `open`.
    pub mode: &'static str,
    pub host_terminal_id: String,
    /// The roster in its order, then any other terminal that joined.
    pub terminals: Vec<BoardTerminal>,
}

/// Where a terminal stands in a meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    /// In the room now.
    Joined,
    /// The meeting has started and it never joined.
    Absent,
    /// It was in, and its connection was lost without leaving.
    Dropped,
    /// It left on purpose.
    Left,
    /// The meeting has not started and it has not joined.
    Invited,
}

/// `good`, `warn`, `bad` or `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Quality {
    Good,
    Warn,
    Bad,
    /// No figures.
    Unknown,
}

/// One terminal of a meeting.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BoardTerminal {
    pub terminal_id: String,
    pub name: String,
    /// Its organisation unit's name.
    pub unit: String,
    pub presence: Presence,
    /// When it joined (this time), unix seconds.
    pub joined_at: Option<i64>,
    /// The meeting's host terminal.
    pub host: bool,
    /// Rostered (else it joined with a token for this room without being rostered).
    pub rostered: bool,
    /// The SFU's view; null when not joined.
    pub server: Option<ServerFigures>,
    /// Its own latest report, merged; null when none.
    pub client: Option<ClientFigures>,
    pub quality: Quality,
    /// One sample per 5 s over the last 10 minutes, oldest first.
    pub history: Vec<HistoryPoint>,
}

/// The SFU's figures for one terminal.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ServerFigures {
    /// What it sends us, bits per second over the last sample.
    pub bitrate_in_bps: f64,
    /// What we send it.
    pub bitrate_out_bps: f64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// 0..1.
    pub loss_in: Option<f64>,
    /// 0..1.
    pub loss_out: Option<f64>,
    pub jitter_ms: Option<f64>,
    pub rtt_ms: Option<f64>,
    pub nack: u64,
    pub pli: u64,
    pub fir: u64,
    /// Simulcast layer forwarded to it (`f`, `h`, `q`).
    pub layer: Option<String>,
    /// 0..1 (1 = loudest), loudest of the last second of its published audio.
    pub audio_level: Option<f64>,
}

/// One terminal's own report, merged over its streams.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ClientFigures {
    /// Mean frame rate of the videos it receives.
    pub frames_per_second: Option<f64>,
    /// Freezes of the videos it receives, summed (cumulative).
    pub freeze_count: Option<u64>,
    pub total_freezes_duration_ms: Option<f64>,
    /// Largest jitter of what it receives.
    pub jitter_ms: Option<f64>,
    /// Packets lost of what it receives, summed (cumulative).
    pub packets_lost: Option<u64>,
    /// Loss of what it receives since its previous report, 0..1.
    pub loss: Option<f64>,
    /// Its microphone's level, 0..1.
    pub audio_level: Option<f64>,
    /// Round-trip time its browser measures, ms.
    pub rtt_ms: Option<f64>,
    /// When it reported, unix ms.
    pub at: i64,
    /// When its freeze count last grew, unix ms.
    pub last_freeze_at: Option<i64>,
}

/// A point of a terminal's history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct HistoryPoint {
    /// Unix ms.
    pub t: i64,
    /// What it sends us, bits per second.
    pub bitrate_bps: f64,
    /// What we send it, bits per second.
    pub bitrate_out_bps: f64,
    /// The loss the quality is judged on, 0..1.
    pub loss: f64,
}

/// An alarm.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Alarm {
    pub id: String,
    pub kind: AlarmKind,
    pub meeting_id: String,
    pub room: String,
    pub terminal_id: Option<String>,
    /// Unix ms.
    pub raised_at: i64,
    /// Unix ms; null while active.
    pub cleared_at: Option<i64>,
    pub message_vi: String,
    pub message_en: String,
}
