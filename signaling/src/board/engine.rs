//! One sample of the board: the meetings on it, each rostered terminal's presence and
//! figures, quality, history and alarms. Pure: the caller brings the inputs (the
//! store's meetings, the SFU's snapshot, the clients' reports) and the time.

use std::collections::{HashMap, VecDeque};

use sfu::ParticipantStats;

use super::alarms::{AlarmEngine, AlarmSettings, Observation};
use super::quality::{classify, judged_loss};
use super::reports::ReporterKey;
use super::{
    Board, BoardMeeting, BoardTerminal, ClientFigures, HistoryPoint, MeetingState, Presence,
    ServerFigures, Thresholds,
};
use crate::schedule::MeetingMode;

/// A history point every this many ms.
pub const HISTORY_STEP_MS: i64 = 5_000;
/// History kept, ms.
pub const HISTORY_SPAN_MS: i64 = 10 * 60 * 1000;
/// How far ahead `next` meetings are shown, seconds.
pub const NEXT_WINDOW_SECS: i64 = 24 * 3600;

/// One occurrence of a meeting that may be on the board.
#[derive(Debug, Clone)]
pub struct MeetingInput {
    pub meeting_id: String,
    pub occurrence: u32,
    pub title: String,
    /// Unix seconds.
    pub starts_at: i64,
    /// Unix seconds.
    pub ends_at: i64,
    pub mode: MeetingMode,
    pub host_terminal_id: String,
    pub roster: Vec<String>,
}

impl MeetingInput {
    /// Its SFU room.
    pub fn room(&self) -> String {
        format!("{}:{}", self.meeting_id, self.occurrence)
    }
}

/// A registered terminal's name and unit.
#[derive(Debug, Clone, Default)]
pub struct TerminalInfo {
    pub name: String,
    pub unit: String,
}

/// Everything one sample looks at.
pub struct Sample<'a> {
    /// Unix ms.
    pub now_ms: i64,
    pub meetings: &'a [MeetingInput],
    /// Registered terminals by id.
    pub terminals: &'a HashMap<String, TerminalInfo>,
    pub sfu: &'a [ParticipantStats],
    pub clients: &'a HashMap<ReporterKey, ClientFigures>,
}

/// How a participant's stay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// It left on purpose.
    Left,
    /// Its connection was lost.
    Dropped,
}

#[derive(Debug, Default)]
struct PresenceRecord {
    /// The participant in the room now, per the signaling sessions.
    participant: Option<u64>,
    /// When it joined this time, unix seconds.
    joined_at: Option<i64>,
    last_end: Option<End>,
}

/// One joined terminal's figures for the Prometheus metrics.
#[derive(Debug, Clone)]
pub struct TerminalMetric {
    pub meeting_id: String,
    pub terminal_id: String,
    pub server: ServerFigures,
    pub client: Option<ClientFigures>,
}

/// What a sample produces.
pub struct Output {
    pub board: Board,
    /// Joined registered terminals of live meetings.
    pub terminals: Vec<TerminalMetric>,
    pub live_meetings: usize,
    pub next_meetings: usize,
}

type TerminalKey = (String, String);

/// The board's state between samples.
pub struct BoardEngine {
    thresholds: Thresholds,
    presence: HashMap<TerminalKey, PresenceRecord>,
    /// Previous byte counts for bitrates: participant, unix ms, in, out.
    rates: HashMap<TerminalKey, (u64, i64, u64, u64)>,
    history: HashMap<TerminalKey, VecDeque<HistoryPoint>>,
    last_history_ms: Option<i64>,
    alarms: AlarmEngine,
}

impl BoardEngine {
    /// An empty board with these alarm delays.
    pub fn new(settings: AlarmSettings) -> BoardEngine {
        let thresholds = Thresholds::new(settings);
        BoardEngine {
            thresholds,
            presence: HashMap::new(),
            rates: HashMap::new(),
            history: HashMap::new(),
            last_history_ms: None,
            alarms: AlarmEngine::new(settings, thresholds.silent_level),
        }
    }

    /// The thresholds in force.
    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// A participant of `terminal` joined `room` at `at` (unix seconds).
    pub fn joined(&mut self, room: &str, terminal: &str, participant: u64, at: i64) {
        let r = self
            .presence
            .entry((room.to_string(), terminal.to_string()))
            .or_default();
        r.participant = Some(participant);
        r.joined_at = Some(at);
        r.last_end = None;
    }

    /// That participant's stay ended. Ignored when a newer participant of the same
    /// terminal has joined since (a reconnection replaced it).
    pub fn ended(&mut self, room: &str, terminal: &str, participant: u64, end: End) {
        if let Some(r) = self
            .presence
            .get_mut(&(room.to_string(), terminal.to_string()))
        {
            if r.participant == Some(participant) {
                r.participant = None;
                r.last_end = Some(end);
            }
        }
    }

    /// Active alarms per kind.
    pub fn active_alarms(&self) -> [(super::AlarmKind, usize); 4] {
        self.alarms.active_counts()
    }

    /// Sample now.
    pub fn sample(&mut self, s: &Sample<'_>) -> Output {
        let now_ms = s.now_ms;
        let now = now_ms.div_euclid(1000);
        let t = self.thresholds;
        let by_terminal: HashMap<(&str, &str), &ParticipantStats> = s
            .sfu
            .iter()
            .map(|p| ((p.room.as_str(), p.identity.as_str()), p))
            .collect();
        let occupied: std::collections::HashSet<&str> =
            s.sfu.iter().map(|p| p.room.as_str()).collect();
        let history_due = self
            .last_history_ms
            .is_none_or(|t| now_ms - t >= HISTORY_STEP_MS);
        if history_due {
            self.last_history_ms = Some(now_ms);
        }

        let mut meetings = Vec::new();
        let mut metrics = Vec::new();
        for m in s.meetings {
            let room = m.room();
            let anyone = occupied.contains(room.as_str());
            let state = if (m.starts_at <= now && now < m.ends_at) || anyone {
                MeetingState::Live
            } else if m.starts_at > now && m.starts_at <= now + NEXT_WINDOW_SECS {
                MeetingState::Next
            } else {
                continue;
            };
            let mut ids: Vec<(String, bool)> =
                m.roster.iter().map(|id| (id.clone(), true)).collect();
            for p in s.sfu.iter().filter(|p| p.room == room) {
                if !ids.iter().any(|(id, _)| *id == p.identity) {
                    ids.push((p.identity.clone(), false));
                }
            }
            let mut terminals = Vec::with_capacity(ids.len());
            for (id, rostered) in ids {
                let key = (room.clone(), id.clone());
                let info = s.terminals.get(&id);
                let sfu = by_terminal.get(&(room.as_str(), id.as_str())).copied();
                let server = sfu.map(|p| self.server_figures(&key, p, now_ms));
                let record = self.presence.get(&key);
                let joined_at = sfu.map(|_| record.and_then(|r| r.joined_at).unwrap_or(now));
                let presence = match (sfu, record) {
                    (Some(_), _) => Presence::Joined,
                    (None, Some(r)) if r.participant.is_some() => Presence::Dropped,
                    (None, Some(r)) if r.last_end == Some(End::Left) => Presence::Left,
                    (None, Some(r)) if r.last_end == Some(End::Dropped) => Presence::Dropped,
                    _ if now < m.starts_at => Presence::Invited,
                    _ => Presence::Absent,
                };
                let client = sfu.and_then(|_| s.clients.get(&key)).cloned();
                let quality = classify(&t, server.as_ref(), client.as_ref(), now_ms);
                let history = self.history.entry(key.clone()).or_default();
                if let (true, Some(f)) = (history_due, server.as_ref()) {
                    history.push_back(HistoryPoint {
                        t: now_ms,
                        bitrate_bps: f.bitrate_in_bps,
                        bitrate_out_bps: f.bitrate_out_bps,
                        loss: judged_loss(server.as_ref(), client.as_ref()).unwrap_or(0.0),
                    });
                }
                while history
                    .front()
                    .is_some_and(|p| now_ms - p.t > HISTORY_SPAN_MS)
                {
                    history.pop_front();
                }
                if let (Some(f), Some(_), MeetingState::Live) = (&server, info, state) {
                    metrics.push(TerminalMetric {
                        meeting_id: m.meeting_id.clone(),
                        terminal_id: id.clone(),
                        server: f.clone(),
                        client: client.clone(),
                    });
                }
                terminals.push(BoardTerminal {
                    name: info
                        .map(|i| i.name.clone())
                        .or_else(|| sfu.map(|p| p.identity.clone()))
                        .unwrap_or_else(|| id.clone()),
                    unit: info.map(|i| i.unit.clone()).unwrap_or_default(),
                    presence,
                    joined_at,
                    host: id == m.host_terminal_id,
                    rostered,
                    history: history.iter().copied().collect(),
                    server,
                    client,
                    quality,
                    terminal_id: id,
                });
            }
            meetings.push(BoardMeeting {
                meeting_id: m.meeting_id.clone(),
                occurrence: m.occurrence,
                room,
                title: m.title.clone(),
                starts_at: m.starts_at,
                ends_at: m.ends_at,
                state,
                mode: match m.mode {
                    MeetingMode::Directive => "directive",
                    MeetingMode::ControlledDiscussion => "controlled",
                    MeetingMode::Open => "open",
                },
                host_terminal_id: m.host_terminal_id.clone(),
                terminals,
            });
        }
        meetings.sort_by(|a, b| {
            (a.state != MeetingState::Live, a.starts_at, &a.room).cmp(&(
                b.state != MeetingState::Live,
                b.starts_at,
                &b.room,
            ))
        });

        // Forget rooms no longer on the board.
        let on_board = |k: &TerminalKey| meetings.iter().any(|m| m.room == k.0);
        self.presence.retain(|k, _| on_board(k));
        self.history.retain(|k, _| on_board(k));
        self.rates
            .retain(|k, _| by_terminal.contains_key(&(k.0.as_str(), k.1.as_str())));

        let mut observations = Vec::new();
        for m in &meetings {
            let input = s.meetings.iter().find(|i| i.room() == m.room);
            let open = input.is_some_and(|i| i.mode == MeetingMode::Open);
            let past_grace =
                m.state == MeetingState::Live && now >= m.starts_at + t.not_full_grace_secs as i64;
            for term in &m.terminals {
                let sfu = by_terminal.get(&(m.room.as_str(), term.terminal_id.as_str()));
                observations.push(Observation {
                    meeting_id: &m.meeting_id,
                    title: &m.title,
                    room: &m.room,
                    terminal_id: &term.terminal_id,
                    name: &term.name,
                    rostered: term.rostered,
                    presence: term.presence,
                    quality: term.quality,
                    past_grace,
                    holds_floor: term.host || open,
                    publishes_audio: sfu.is_some_and(|p| p.publishes_audio),
                    audio_level: term
                        .server
                        .as_ref()
                        .and_then(|f| f.audio_level)
                        .or_else(|| term.client.as_ref().and_then(|c| c.audio_level)),
                });
            }
        }
        self.alarms.observe(now_ms, &observations);
        let live_meetings = meetings
            .iter()
            .filter(|m| m.state == MeetingState::Live)
            .count();
        let next_meetings = meetings.len() - live_meetings;
        Output {
            board: Board {
                at: now_ms,
                thresholds: t,
                meetings,
                alarms: self.alarms.list(),
            },
            terminals: metrics,
            live_meetings,
            next_meetings,
        }
    }

    fn server_figures(
        &mut self,
        key: &TerminalKey,
        p: &ParticipantStats,
        now_ms: i64,
    ) -> ServerFigures {
        let pid = p.participant_id.0;
        let rate = |prev: u64, now: u64, dt_ms: i64| {
            if dt_ms <= 0 || now < prev {
                0.0
            } else {
                (now - prev) as f64 * 8.0 * 1000.0 / dt_ms as f64
            }
        };
        let (bitrate_in_bps, bitrate_out_bps) = match self.rates.get(key) {
            Some(&(prev_pid, t, bin, bout)) if prev_pid == pid => (
                rate(bin, p.bytes_in, now_ms - t),
                rate(bout, p.bytes_out, now_ms - t),
            ),
            _ => (0.0, 0.0),
        };
        self.rates
            .insert(key.clone(), (pid, now_ms, p.bytes_in, p.bytes_out));
        ServerFigures {
            bitrate_in_bps,
            bitrate_out_bps,
            packets_in: p.packets_in,
            packets_out: p.packets_out,
            bytes_in: p.bytes_in,
            bytes_out: p.bytes_out,
            loss_in: p.loss_in.map(f64::from),
            loss_out: p.loss_out.map(f64::from),
            jitter_ms: p.jitter_ms,
            rtt_ms: p.rtt_ms,
            nack: p.nacks,
            pli: p.plis,
            fir: p.firs,
            layer: p.layer.clone(),
            audio_level: p.audio_level.map(f64::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::{AlarmKind, Quality};
    use sfu::ParticipantId;

    fn meeting() -> MeetingInput {
        MeetingInput {
            meeting_id: "m".into(),
            occurrence: 0,
            title: "Giao ban".into(),
            starts_at: 1000,
            ends_at: 4600,
            mode: MeetingMode::Directive,
            host_terminal_id: "host".into(),
            roster: vec!["host".into(), "t2".into()],
        }
    }

    fn stats(identity: &str, bytes_in: u64, loss: f32) -> ParticipantStats {
        ParticipantStats {
            participant_id: ParticipantId(1),
            room: "m:0".into(),
            identity: identity.into(),
            connected: true,
            bytes_in,
            bytes_out: 0,
            packets_in: 10,
            packets_out: 0,
            loss_in: Some(loss),
            loss_out: None,
            jitter_ms: Some(3.0),
            rtt_ms: Some(20.0),
            nacks: 0,
            plis: 0,
            firs: 0,
            layer: None,
            audio_level: Some(0.2),
            publishes_audio: true,
        }
    }

    #[test]
    fn presence_figures_and_alarms_of_one_meeting() {
        let mut e = BoardEngine::new(AlarmSettings {
            degraded_secs: 2,
            silent_secs: 20,
            not_full_grace_secs: 60,
        });
        let meetings = [meeting()];
        let terminals: HashMap<String, TerminalInfo> = [("host", "Phòng A"), ("t2", "Phòng B")]
            .into_iter()
            .map(|(id, n)| {
                (
                    id.to_string(),
                    TerminalInfo {
                        name: n.into(),
                        unit: "Sở".into(),
                    },
                )
            })
            .collect();
        let clients = HashMap::new();
        // Before the start: invited, next.
        let sfu: Vec<ParticipantStats> = vec![];
        let out = e.sample(&Sample {
            now_ms: 500_000,
            meetings: &meetings,
            terminals: &terminals,
            sfu: &sfu,
            clients: &clients,
        });
        assert_eq!(out.board.meetings[0].state, MeetingState::Next);
        assert_eq!(
            out.board.meetings[0].terminals[0].presence,
            Presence::Invited
        );
        assert_eq!(out.next_meetings, 1);

        // Live, the host joined, t2 not.
        e.joined("m:0", "host", 1, 1001);
        let tick = |e: &mut BoardEngine, now_ms: i64, sfu: &[ParticipantStats]| {
            e.sample(&Sample {
                now_ms,
                meetings: &meetings,
                terminals: &terminals,
                sfu,
                clients: &clients,
            })
        };
        let out = tick(&mut e, 1_002_000, &[stats("host", 1000, 0.0)]);
        let m = &out.board.meetings[0];
        assert_eq!(m.state, MeetingState::Live);
        assert_eq!(m.terminals[0].presence, Presence::Joined);
        assert_eq!(m.terminals[0].joined_at, Some(1001));
        assert_eq!(m.terminals[0].unit, "Sở");
        assert_eq!(m.terminals[0].quality, Quality::Good);
        assert_eq!(m.terminals[1].presence, Presence::Absent);
        assert!(m.terminals[1].server.is_none());
        let out = tick(&mut e, 1_003_000, &[stats("host", 126_000, 0.0)]);
        let f = out.board.meetings[0].terminals[0].server.clone().unwrap();
        assert_eq!(f.bitrate_in_bps, 1_000_000.0);
        assert_eq!(out.terminals.len(), 1, "one joined terminal in the metrics");

        // Loss: degraded after 2 s.
        for s in 4..=6 {
            tick(&mut e, 1_000_000 + s * 1000, &[stats("host", 126_000, 0.2)]);
        }
        let out = tick(&mut e, 1_007_000, &[stats("host", 126_000, 0.2)]);
        assert_eq!(out.board.meetings[0].terminals[0].quality, Quality::Bad);
        assert!(out
            .board
            .alarms
            .iter()
            .any(|a| a.kind == AlarmKind::Degraded && a.cleared_at.is_none()));

        // Past the grace: t2 is missing. Then the host drops.
        let out = tick(&mut e, 1_061_000, &[]);
        e.ended("m:0", "host", 1, End::Dropped);
        let out2 = tick(&mut e, 1_062_000, &[]);
        assert_eq!(
            out.board.meetings[0].terminals[0].presence,
            Presence::Dropped,
            "gone from the SFU first"
        );
        assert_eq!(
            out2.board.meetings[0].terminals[0].presence,
            Presence::Dropped
        );
        let active: Vec<AlarmKind> = out2
            .board
            .alarms
            .iter()
            .filter(|a| a.cleared_at.is_none())
            .map(|a| a.kind)
            .collect();
        assert!(active.contains(&AlarmKind::NotFull), "{active:?}");
        assert!(active.contains(&AlarmKind::Dropped), "{active:?}");
        assert!(!active.contains(&AlarmKind::Degraded), "{active:?}");
        // An older participant's end after a rejoin changes nothing.
        e.joined("m:0", "host", 2, 1063);
        e.ended("m:0", "host", 1, End::Left);
        let out = tick(&mut e, 1_063_000, &[stats("host", 0, 0.0)]);
        assert_eq!(
            out.board.meetings[0].terminals[0].presence,
            Presence::Joined
        );
    }
}
