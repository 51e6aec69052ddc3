//! The alarm engine: fed one observation per terminal per sample, it raises and clears
//! alarms (see docs/api.md, "Operator board"):
//! - `degraded`: quality `warn`/`bad` for `degraded_secs` in a row; cleared after 10 s
//!   of `good`, or when the terminal is no longer joined;
//! - `not_full`: the meeting is live, `not_full_grace_secs` past its start, and a
//!   rostered terminal has never joined; cleared when it joins;
//! - `dropped`: a joined terminal's connection was lost; cleared when it rejoins;
//! - `silent_floor`: a terminal holding the floor publishes audio quieter than the
//!   silence level for `silent_secs`; cleared when it is heard or no longer joined.
//!
//! Every alarm of a terminal (or meeting) that is no longer observed is cleared. Raised
//! and cleared alarms are logged (`tracing`, fields meeting, room, terminal, kind).

use std::collections::{HashMap, VecDeque};

use serde::Serialize;
use utoipa::ToSchema;

use super::{Alarm, Presence, Quality};

/// How long cleared alarms stay listed.
pub const CLEARED_KEPT_MS: i64 = 30 * 60 * 1000;
/// Cleared alarms listed at most.
const CLEARED_MAX: usize = 1000;
/// Seconds of `good` that clear a `degraded` alarm.
pub const DEGRADED_CLEAR_SECS: i64 = 10;

/// The alarm delays (server flags `--alarm-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlarmSettings {
    /// Seconds of `warn`/`bad` before `degraded`.
    pub degraded_secs: u64,
    /// Seconds of silence with the floor before `silent_floor`.
    pub silent_secs: u64,
    /// Seconds after the start before `not_full`.
    pub not_full_grace_secs: u64,
}

impl Default for AlarmSettings {
    fn default() -> Self {
        AlarmSettings {
            degraded_secs: 30,
            silent_secs: 20,
            not_full_grace_secs: 60,
        }
    }
}

/// The kind of an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    Degraded,
    NotFull,
    Dropped,
    SilentFloor,
}

impl AlarmKind {
    /// As on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmKind::Degraded => "degraded",
            AlarmKind::NotFull => "not_full",
            AlarmKind::Dropped => "dropped",
            AlarmKind::SilentFloor => "silent_floor",
        }
    }
}

/// What the engine is told about one terminal of one meeting at a sample.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    pub meeting_id: &'a str,
    pub title: &'a str,
    pub room: &'a str,
    pub terminal_id: &'a str,
    pub name: &'a str,
    pub rostered: bool,
    pub presence: Presence,
    pub quality: Quality,
    /// The meeting is live and its start (plus the grace) is past.
    pub past_grace: bool,
    /// Holds the floor (the host in every mode, everyone in `open` mode).
    pub holds_floor: bool,
    /// Publishes an audio track.
    pub publishes_audio: bool,
    /// Its audio level, 0..1, if known.
    pub audio_level: Option<f64>,
}

type Key = (AlarmKind, String, String);

#[derive(Default)]
struct Timers {
    bad_since: Option<i64>,
    good_since: Option<i64>,
    silent_since: Option<i64>,
}

/// See the [module documentation](self).
pub struct AlarmEngine {
    settings: AlarmSettings,
    silent_level: f64,
    active: HashMap<Key, Alarm>,
    cleared: VecDeque<Alarm>,
    timers: HashMap<(String, String), Timers>,
    next_id: u64,
}

impl AlarmEngine {
    /// An engine with no alarm.
    pub fn new(settings: AlarmSettings, silent_level: f64) -> AlarmEngine {
        AlarmEngine {
            settings,
            silent_level,
            active: HashMap::new(),
            cleared: VecDeque::new(),
            timers: HashMap::new(),
            next_id: 1,
        }
    }

    /// One sample of every terminal of every meeting on the board, at `now_ms`.
    pub fn observe(&mut self, now_ms: i64, observations: &[Observation<'_>]) {
        let mut seen: Vec<Key> = Vec::new();
        let mut wanted: Vec<(Key, &Observation<'_>)> = Vec::new();
        let mut timers_seen: Vec<(String, String)> = Vec::new();
        for o in observations {
            let tkey = (o.room.to_string(), o.terminal_id.to_string());
            let t = self.timers.entry(tkey.clone()).or_default();
            timers_seen.push(tkey);
            let key = |kind| (kind, o.room.to_string(), o.terminal_id.to_string());
            let joined = o.presence == Presence::Joined;

            // degraded
            let degraded = key(AlarmKind::Degraded);
            match o.quality {
                Quality::Warn | Quality::Bad if joined => {
                    t.good_since = None;
                    let since = *t.bad_since.get_or_insert(now_ms);
                    if now_ms - since >= secs(self.settings.degraded_secs) {
                        wanted.push((degraded.clone(), o));
                    }
                    if self.active.contains_key(&degraded) {
                        seen.push(degraded);
                    }
                }
                Quality::Good if joined => {
                    t.bad_since = None;
                    let since = *t.good_since.get_or_insert(now_ms);
                    if self.active.contains_key(&degraded)
                        && now_ms - since < DEGRADED_CLEAR_SECS * 1000
                    {
                        seen.push(degraded);
                    }
                }
                // Unknown figures keep a raised alarm and its clock as they are.
                Quality::Unknown if joined => {
                    if self.active.contains_key(&degraded) {
                        seen.push(degraded);
                    }
                }
                _ => {
                    t.bad_since = None;
                    t.good_since = None;
                }
            }

            // not_full
            if o.rostered && o.past_grace && o.presence == Presence::Absent {
                wanted.push((key(AlarmKind::NotFull), o));
            }
            // dropped
            if o.presence == Presence::Dropped {
                wanted.push((key(AlarmKind::Dropped), o));
            }
            // silent_floor
            let silent = joined
                && o.holds_floor
                && o.publishes_audio
                && o.audio_level.is_none_or(|l| l < self.silent_level);
            if silent {
                let since = *t.silent_since.get_or_insert(now_ms);
                if now_ms - since >= secs(self.settings.silent_secs) {
                    wanted.push((key(AlarmKind::SilentFloor), o));
                }
            } else {
                t.silent_since = None;
            }
        }
        self.timers.retain(|k, _| timers_seen.contains(k));
        for (key, o) in wanted {
            if !self.active.contains_key(&key) {
                self.raise(now_ms, key.clone(), o);
            }
            seen.push(key);
        }
        let gone: Vec<Key> = self
            .active
            .keys()
            .filter(|k| !seen.contains(k))
            .cloned()
            .collect();
        for key in gone {
            self.clear(now_ms, &key);
        }
        while self
            .cleared
            .front()
            .is_some_and(|a| a.cleared_at.is_some_and(|c| now_ms - c > CLEARED_KEPT_MS))
            || self.cleared.len() > CLEARED_MAX
        {
            self.cleared.pop_front();
        }
    }

    /// Active alarms, then the recently cleared, newest first in each.
    pub fn list(&self) -> Vec<Alarm> {
        let mut active: Vec<Alarm> = self.active.values().cloned().collect();
        active.sort_by(|a, b| b.raised_at.cmp(&a.raised_at).then(a.id.cmp(&b.id)));
        active.extend(self.cleared.iter().rev().cloned());
        active
    }

    /// Active alarms per kind.
    pub fn active_counts(&self) -> [(AlarmKind, usize); 4] {
        [
            AlarmKind::Degraded,
            AlarmKind::NotFull,
            AlarmKind::Dropped,
            AlarmKind::SilentFloor,
        ]
        .map(|k| {
            (
                k,
                self.active.keys().filter(|(kind, ..)| *kind == k).count(),
            )
        })
    }

    fn raise(&mut self, now_ms: i64, key: Key, o: &Observation<'_>) {
        let (message_vi, message_en) = messages(key.0, o, &self.settings);
        let alarm = Alarm {
            id: format!("a{}", self.next_id),
            kind: key.0,
            meeting_id: o.meeting_id.to_string(),
            room: o.room.to_string(),
            terminal_id: Some(o.terminal_id.to_string()),
            raised_at: now_ms,
            cleared_at: None,
            message_vi,
            message_en,
        };
        self.next_id += 1;
        tracing::warn!(
            meeting = %alarm.meeting_id, room = %alarm.room, terminal = %o.terminal_id,
            kind = key.0.as_str(), alarm = %alarm.id, "alarm raised: {}", alarm.message_en
        );
        self.active.insert(key, alarm);
    }

    fn clear(&mut self, now_ms: i64, key: &Key) {
        if let Some(mut alarm) = self.active.remove(key) {
            alarm.cleared_at = Some(now_ms);
            tracing::info!(
                meeting = %alarm.meeting_id, room = %alarm.room,
                terminal = alarm.terminal_id.as_deref().unwrap_or(""),
                kind = key.0.as_str(), alarm = %alarm.id, "alarm cleared: {}", alarm.message_en
            );
            self.cleared.push_back(alarm);
        }
    }
}

fn secs(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX / 1000) * 1000
}

fn messages(kind: AlarmKind, o: &Observation<'_>, s: &AlarmSettings) -> (String, String) {
    let (name, title) = (o.name, o.title);
    match kind {
        AlarmKind::Degraded => (
            format!("Phòng {name}: chất lượng kém quá {} giây", s.degraded_secs),
            format!("Room {name}: poor quality for over {} s", s.degraded_secs),
        ),
        AlarmKind::NotFull => (
            format!("Phòng {name} chưa vào cuộc họp «{title}» đã bắt đầu"),
            format!("Room {name} has not joined «{title}», which has started"),
        ),
        AlarmKind::Dropped => (
            format!("Phòng {name} bị mất kết nối khỏi cuộc họp «{title}»"),
            format!("Room {name} lost its connection to «{title}»"),
        ),
        AlarmKind::SilentFloor => (
            format!(
                "Phòng {name} đang giữ quyền phát biểu nhưng micrô im lặng quá {} giây",
                s.silent_secs
            ),
            format!(
                "Room {name} has the floor but its microphone has been silent for over {} s",
                s.silent_secs
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(presence: Presence, quality: Quality) -> Observation<'static> {
        Observation {
            meeting_id: "m",
            title: "Giao ban",
            room: "m:0",
            terminal_id: "t1",
            name: "Phòng 1",
            rostered: true,
            presence,
            quality,
            past_grace: true,
            holds_floor: false,
            publishes_audio: true,
            audio_level: Some(0.2),
        }
    }

    fn settings() -> AlarmSettings {
        AlarmSettings {
            degraded_secs: 30,
            silent_secs: 20,
            not_full_grace_secs: 60,
        }
    }

    fn active(e: &AlarmEngine) -> Vec<AlarmKind> {
        e.list()
            .into_iter()
            .filter(|a| a.cleared_at.is_none())
            .map(|a| a.kind)
            .collect()
    }

    /// Feed one observation per second from `from` s to `to` s (exclusive).
    fn run(e: &mut AlarmEngine, from: i64, to: i64, o: &Observation<'_>) {
        for s in from..to {
            e.observe(s * 1000, std::slice::from_ref(o));
        }
    }

    #[test]
    fn degraded_after_the_delay_and_cleared_after_ten_good_seconds() {
        let mut e = AlarmEngine::new(settings(), 0.001);
        run(&mut e, 0, 30, &obs(Presence::Joined, Quality::Bad));
        assert!(active(&e).is_empty(), "not before 30 s");
        run(&mut e, 30, 31, &obs(Presence::Joined, Quality::Warn));
        assert_eq!(active(&e), vec![AlarmKind::Degraded]);
        let raised = e.list()[0].clone();
        assert_eq!(raised.raised_at, 30_000);
        assert!(raised.message_vi.contains("Phòng 1"), "{raised:?}");
        run(&mut e, 31, 40, &obs(Presence::Joined, Quality::Good));
        assert_eq!(
            active(&e),
            vec![AlarmKind::Degraded],
            "still within 10 s of good"
        );
        run(&mut e, 40, 42, &obs(Presence::Joined, Quality::Good));
        assert!(active(&e).is_empty());
        let listed = e.list();
        assert_eq!(listed.len(), 1, "the cleared alarm is still listed");
        assert_eq!(listed[0].cleared_at, Some(41_000));
        // A short bad spell does not raise again; cleared alarms go after 30 minutes.
        run(&mut e, 42, 50, &obs(Presence::Joined, Quality::Bad));
        assert!(active(&e).is_empty());
        run(&mut e, 50, 51, &obs(Presence::Joined, Quality::Good));
        e.observe(
            41_000 + CLEARED_KEPT_MS + 1,
            &[obs(Presence::Joined, Quality::Good)],
        );
        assert!(e.list().is_empty());
    }

    #[test]
    fn not_full_until_the_terminal_joins() {
        let mut e = AlarmEngine::new(settings(), 0.001);
        let mut o = obs(Presence::Absent, Quality::Unknown);
        o.past_grace = false;
        run(&mut e, 0, 5, &o);
        assert!(active(&e).is_empty(), "not within the grace");
        o.past_grace = true;
        run(&mut e, 5, 6, &o);
        assert_eq!(active(&e), vec![AlarmKind::NotFull]);
        // A terminal not on the roster is never missing.
        let mut stranger = obs(Presence::Absent, Quality::Unknown);
        stranger.terminal_id = "t9";
        stranger.rostered = false;
        e.observe(6_000, &[o.clone(), stranger]);
        assert_eq!(active(&e), vec![AlarmKind::NotFull]);
        run(&mut e, 7, 8, &obs(Presence::Joined, Quality::Good));
        assert!(active(&e).is_empty());
    }

    #[test]
    fn dropped_until_it_rejoins_and_cleared_when_the_meeting_leaves_the_board() {
        let mut e = AlarmEngine::new(settings(), 0.001);
        run(&mut e, 0, 1, &obs(Presence::Joined, Quality::Good));
        run(&mut e, 1, 2, &obs(Presence::Dropped, Quality::Unknown));
        assert_eq!(active(&e), vec![AlarmKind::Dropped]);
        run(&mut e, 2, 3, &obs(Presence::Joined, Quality::Good));
        assert!(active(&e).is_empty());
        run(&mut e, 3, 4, &obs(Presence::Dropped, Quality::Unknown));
        assert_eq!(active(&e), vec![AlarmKind::Dropped]);
        e.observe(5_000, &[]);
        assert!(active(&e).is_empty());
        assert_eq!(e.list().len(), 2);
    }

    #[test]
    fn silent_floor_for_a_terminal_with_the_floor_only() {
        let mut e = AlarmEngine::new(settings(), 0.001);
        let mut o = obs(Presence::Joined, Quality::Good);
        o.audio_level = Some(0.0);
        run(&mut e, 0, 60, &o);
        assert!(active(&e).is_empty(), "without the floor silence is fine");
        o.holds_floor = true;
        run(&mut e, 60, 80, &o);
        assert!(active(&e).is_empty(), "not before 20 s");
        run(&mut e, 80, 81, &o);
        assert_eq!(active(&e), vec![AlarmKind::SilentFloor]);
        o.audio_level = Some(0.05);
        run(&mut e, 81, 82, &o);
        assert!(active(&e).is_empty());
        // No level at all while publishing audio is silence too.
        o.audio_level = None;
        run(&mut e, 82, 103, &o);
        assert_eq!(active(&e), vec![AlarmKind::SilentFloor]);
    }
}
