//! The clients' own `stats` reports: the latest one per participant, merged into
//! [`ClientFigures`]. Bounded: one entry per joined session (removed when it ends), at
//! most [`MAX_REPORTERS`], and at most one report per second per participant is taken.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::ClientFigures;
use crate::protocol::{InboundStats, MediaKind, OutboundStats};

/// Participants whose reports are kept at most.
pub const MAX_REPORTERS: usize = 10_000;
/// Reports closer together than this are ignored.
pub const MIN_REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// Who reports: (room, identity).
pub type ReporterKey = (String, String);

struct Entry {
    /// The session that reports (a newer session of the same identity replaces it).
    session: u64,
    accepted_at: Instant,
    figures: ClientFigures,
    received: f64,
    lost: f64,
}

/// The latest report of each joined participant.
#[derive(Default)]
pub struct ClientReports {
    entries: Mutex<HashMap<ReporterKey, Entry>>,
}

/// What became of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Merged.
    Yes,
    /// Too soon after the previous one: ignored.
    TooSoon,
    /// The table is full: ignored.
    Full,
}

impl ClientReports {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ReporterKey, Entry>> {
        // Only figures behind this lock: a panic elsewhere leaves them usable.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Merge a (validated) report of `session`, received at `now` (`now_ms` unix ms).
    pub fn accept(
        &self,
        key: &ReporterKey,
        session: u64,
        inbound: &[InboundStats],
        outbound: &[OutboundStats],
        now: Instant,
        now_ms: i64,
    ) -> Accepted {
        let mut entries = self.lock();
        let previous = entries.get(key).filter(|e| e.session == session);
        if previous
            .is_some_and(|e| now.saturating_duration_since(e.accepted_at) < MIN_REPORT_INTERVAL)
        {
            return Accepted::TooSoon;
        }
        if previous.is_none() && !entries.contains_key(key) && entries.len() >= MAX_REPORTERS {
            return Accepted::Full;
        }
        let (figures, received, lost) = merge(previous, inbound, outbound, now_ms);
        entries.insert(
            key.clone(),
            Entry {
                session,
                accepted_at: now,
                figures,
                received,
                lost,
            },
        );
        Accepted::Yes
    }

    /// Forget the reports of `session` (it ended).
    pub fn remove(&self, key: &ReporterKey, session: u64) {
        let mut entries = self.lock();
        if entries.get(key).is_some_and(|e| e.session == session) {
            entries.remove(key);
        }
    }

    /// The merged figures of every reporter.
    pub fn snapshot(&self) -> HashMap<ReporterKey, ClientFigures> {
        self.lock()
            .iter()
            .map(|(k, e)| (k.clone(), e.figures.clone()))
            .collect()
    }
}

fn sum(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values
        .flatten()
        .fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
}

/// Merge one report over the previous one of the same session.
fn merge(
    previous: Option<&Entry>,
    inbound: &[InboundStats],
    outbound: &[OutboundStats],
    now_ms: i64,
) -> (ClientFigures, f64, f64) {
    let video = || inbound.iter().filter(|s| s.kind == MediaKind::Video);
    let fps: Vec<f64> = video().filter_map(|s| s.frames_per_second).collect();
    let frames_per_second = (!fps.is_empty()).then(|| fps.iter().sum::<f64>() / fps.len() as f64);
    let freeze_count = sum(video().map(|s| s.freeze_count)).map(|v| v as u64);
    let received = sum(inbound.iter().map(|s| s.packets_received)).unwrap_or(0.0);
    let lost_sum = sum(inbound.iter().map(|s| s.packets_lost));
    let lost = lost_sum.unwrap_or(0.0).max(0.0);
    let loss = match previous {
        // Since the previous report; counters that went back (a track replaced) start over.
        Some(p) if received >= p.received && lost >= p.lost => {
            let (dr, dl) = (received - p.received, lost - p.lost);
            (dr + dl > 0.0).then(|| dl / (dr + dl)).or(p.figures.loss)
        }
        _ => (received + lost > 0.0).then(|| lost / (received + lost)),
    };
    let froze = match (previous.and_then(|p| p.figures.freeze_count), freeze_count) {
        (Some(before), Some(now)) => now > before,
        (None, Some(now)) => previous.is_some() && now > 0,
        _ => false,
    };
    let figures = ClientFigures {
        frames_per_second,
        freeze_count,
        total_freezes_duration_ms: sum(video().map(|s| s.total_freezes_duration_ms)),
        jitter_ms: inbound.iter().filter_map(|s| s.jitter_ms).reduce(f64::max),
        packets_lost: lost_sum.map(|l| l.max(0.0) as u64),
        loss,
        audio_level: outbound
            .iter()
            .filter(|s| s.kind == MediaKind::Audio)
            .filter_map(|s| s.audio_level)
            .reduce(f64::max),
        rtt_ms: outbound
            .iter()
            .filter_map(|s| s.round_trip_time_ms)
            .reduce(f64::max),
        at: now_ms,
        last_freeze_at: if froze {
            Some(now_ms)
        } else {
            previous.and_then(|p| p.figures.last_freeze_at)
        },
    };
    (figures, received, lost)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(received: f64, lost: f64, freezes: f64) -> InboundStats {
        InboundStats {
            kind: MediaKind::Video,
            packets_received: Some(received),
            packets_lost: Some(lost),
            freeze_count: Some(freezes),
            frames_per_second: Some(30.0),
            ..InboundStats::default()
        }
    }

    #[test]
    fn loss_and_freezes_are_reckoned_between_reports() {
        let r = ClientReports::default();
        let key = ("m:0".to_string(), "t1".to_string());
        let t0 = Instant::now();
        let mic = [OutboundStats {
            kind: MediaKind::Audio,
            audio_level: Some(0.3),
            ..OutboundStats::default()
        }];
        assert_eq!(
            r.accept(&key, 1, &[video(90.0, 10.0, 0.0)], &mic, t0, 1000),
            Accepted::Yes
        );
        let f = &r.snapshot()[&key];
        assert_eq!(f.loss, Some(0.1));
        assert_eq!(f.audio_level, Some(0.3));
        assert_eq!(f.last_freeze_at, None);
        // Too soon: ignored.
        let soon = t0 + Duration::from_millis(200);
        assert_eq!(
            r.accept(&key, 1, &[video(0.0, 0.0, 0.0)], &[], soon, 1200),
            Accepted::TooSoon
        );
        let later = t0 + Duration::from_secs(5);
        assert_eq!(
            r.accept(&key, 1, &[video(190.0, 10.0, 1.0)], &[], later, 6000),
            Accepted::Yes
        );
        let f = &r.snapshot()[&key];
        assert_eq!(f.loss, Some(0.0), "no loss since the previous report");
        assert_eq!(f.last_freeze_at, Some(6000));
        assert_eq!(f.frames_per_second, Some(30.0));
        // Another session's end does not remove this one's.
        r.remove(&key, 2);
        assert!(r.snapshot().contains_key(&key));
        r.remove(&key, 1);
        assert!(r.snapshot().is_empty());
    }
}
