//! The board's I/O: the task that samples every second (the SFU's snapshot, the
//! store's meetings and terminals, the clients' reports) and publishes the latest
//! [`Board`]; the hooks the signaling sessions call on join and end; the attendance
//! writer, which stores every record in order and retries until the database takes it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use sfu::ParticipantId;
use tokio::sync::{mpsc, watch};

use super::alarms::AlarmSettings;
use super::engine::{BoardEngine, End, MeetingInput, Sample, TerminalInfo, TerminalMetric};
use super::reports::{ClientReports, ReporterKey};
use super::{AlarmKind, Board, Thresholds};
use crate::schedule::occurrences;
use crate::store::{new_id, AttendanceEvent, AttendanceRecord, Store};
use crate::AppState;

/// How often the board is sampled.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);
/// How often the terminals' names and units are read again.
const REGISTRY_REFRESH: Duration = Duration::from_secs(10);
/// How far back ended occurrences are still looked at (people may stay on).
const LOOK_BACK_SECS: i64 = 12 * 3600;
/// Longest wait between two attempts at storing an attendance record.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(10);

/// The latest sample.
pub struct Latest {
    pub board: Board,
    /// `board` as JSON.
    pub json: String,
    /// Joined registered terminals of live meetings, for the metrics.
    pub terminals: Vec<TerminalMetric>,
    pub live_meetings: usize,
    pub next_meetings: usize,
    pub active_alarms: [(AlarmKind, usize); 4],
}

/// A participant of a meeting room, as the board and the attendance record know it.
#[derive(Debug, Clone)]
pub struct Attendee {
    pub meeting_id: String,
    pub occurrence: u32,
    pub room: String,
    pub terminal_id: String,
    pub name: String,
    pub participant: ParticipantId,
    /// Identifies the session among the reporters.
    pub session: u64,
}

impl Attendee {
    fn key(&self) -> ReporterKey {
        (self.room.clone(), self.terminal_id.clone())
    }
}

/// See the [module documentation](self).
pub struct BoardService {
    engine: Mutex<BoardEngine>,
    /// The clients' reports.
    pub reports: ClientReports,
    latest: watch::Sender<Arc<Latest>>,
    attendance_tx: mpsc::UnboundedSender<AttendanceRecord>,
    attendance_rx: Mutex<Option<mpsc::UnboundedReceiver<AttendanceRecord>>>,
    next_session: AtomicU64,
}

impl Default for BoardService {
    fn default() -> Self {
        BoardService::new(AlarmSettings::default())
    }
}

/// Now, unix ms.
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `MEETING_ID:OCCURRENCE` → its parts; `None` for any other room.
pub fn meeting_room(room: &str) -> Option<(&str, u32)> {
    let (id, n) = room.rsplit_once(':')?;
    let n = n.parse().ok()?;
    (!id.is_empty()).then_some((id, n))
}

impl BoardService {
    /// A board with nothing on it yet; [`BoardService::start`] makes it live.
    pub fn new(settings: AlarmSettings) -> BoardService {
        let engine = BoardEngine::new(settings);
        let empty = Board {
            at: unix_ms(),
            thresholds: engine.thresholds(),
            meetings: Vec::new(),
            alarms: Vec::new(),
        };
        let latest = Latest {
            json: serde_json::to_string(&empty).expect("the board serializes"),
            board: empty,
            terminals: Vec::new(),
            live_meetings: 0,
            next_meetings: 0,
            active_alarms: engine.active_alarms(),
        };
        let (attendance_tx, attendance_rx) = mpsc::unbounded_channel();
        BoardService {
            engine: Mutex::new(engine),
            reports: ClientReports::default(),
            latest: watch::channel(Arc::new(latest)).0,
            attendance_tx,
            attendance_rx: Mutex::new(Some(attendance_rx)),
            next_session: AtomicU64::new(1),
        }
    }

    fn engine(&self) -> std::sync::MutexGuard<'_, BoardEngine> {
        // The engine's state stays consistent between statements: keep going.
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The thresholds in force.
    pub fn thresholds(&self) -> Thresholds {
        self.engine().thresholds()
    }

    /// The latest sample.
    pub fn latest(&self) -> Arc<Latest> {
        self.latest.borrow().clone()
    }

    /// Follow the samples as they come.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Latest>> {
        self.latest.subscribe()
    }

    /// Start sampling and writing attendance (once; later calls do nothing).
    pub fn start(state: Arc<AppState>) {
        let rx = state
            .board
            .attendance_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(rx) = rx else { return };
        tokio::spawn(write_attendance(state.store.clone(), rx));
        tokio::spawn(sample_forever(state));
    }

    /// A participant was admitted to `room`. For a meeting room, its presence and an
    /// attendance `join` are recorded, and the returned [`Attendee`] must be handed to
    /// [`BoardService::ended`] when it goes.
    pub fn joined(
        &self,
        room: &str,
        terminal_id: &str,
        name: &str,
        participant: ParticipantId,
    ) -> Option<Attendee> {
        let (meeting_id, occurrence) = meeting_room(room)?;
        let a = Attendee {
            meeting_id: meeting_id.to_string(),
            occurrence,
            room: room.to_string(),
            terminal_id: terminal_id.to_string(),
            name: name.to_string(),
            participant,
            session: self.next_session.fetch_add(1, Ordering::Relaxed),
        };
        let now = unix_ms();
        self.engine()
            .joined(room, terminal_id, participant.0, now.div_euclid(1000));
        self.record(&a, AttendanceEvent::Join, now);
        Some(a)
    }

    /// Its stay ended: `None` when it was replaced by a newer session of the same
    /// terminal (nothing is recorded then: the terminal is still there).
    pub fn ended(&self, a: &Attendee, end: Option<End>) {
        self.reports.remove(&a.key(), a.session);
        let Some(end) = end else { return };
        self.engine()
            .ended(&a.room, &a.terminal_id, a.participant.0, end);
        let event = match end {
            End::Left => AttendanceEvent::Leave,
            End::Dropped => AttendanceEvent::Drop,
        };
        self.record(a, event, unix_ms());
    }

    /// A `stats` report of this attendee's client (validated).
    pub fn report(
        &self,
        a: &Attendee,
        inbound: &[crate::protocol::InboundStats],
        outbound: &[crate::protocol::OutboundStats],
    ) -> super::reports::Accepted {
        self.reports.accept(
            &a.key(),
            a.session,
            inbound,
            outbound,
            std::time::Instant::now(),
            unix_ms(),
        )
    }

    fn record(&self, a: &Attendee, event: AttendanceEvent, at_ms: i64) {
        let record = AttendanceRecord {
            id: new_id(),
            meeting_id: a.meeting_id.clone(),
            occurrence: a.occurrence,
            endpoint_id: a.terminal_id.clone(),
            name: a.name.clone(),
            event,
            at_ms,
        };
        tracing::info!(
            meeting = %a.meeting_id, room = %a.room, terminal = %a.terminal_id,
            event = event.as_str(), "attendance"
        );
        if self.attendance_tx.send(record).is_err() {
            // Only when the writer task ended, i.e. the runtime is shutting down.
            tracing::error!(meeting = %a.meeting_id, terminal = %a.terminal_id,
                "attendance record not stored: the writer has stopped");
        }
    }
}

/// Store every record, in order, retrying each until the database takes it.
async fn write_attendance(store: Store, mut rx: mpsc::UnboundedReceiver<AttendanceRecord>) {
    while let Some(record) = rx.recv().await {
        let mut delay = Duration::from_millis(100);
        while let Err(e) = store.record_attendance(&record).await {
            tracing::error!(
                meeting = %record.meeting_id, terminal = %record.endpoint_id,
                "storing an attendance record failed, retrying in {delay:?}: {e}"
            );
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RETRY_DELAY);
        }
    }
}

async fn sample_forever(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut registry: HashMap<String, TerminalInfo> = HashMap::new();
    let mut registry_at: Option<tokio::time::Instant> = None;
    let mut meetings: Vec<MeetingInput> = Vec::new();
    loop {
        tick.tick().await;
        let now_ms = unix_ms();
        match load_meetings(&state.store, now_ms.div_euclid(1000)).await {
            Ok(m) => meetings = m,
            Err(e) => tracing::warn!("board: reading the meetings failed: {e}"),
        }
        // Read again every so often, and at once for a terminal not seen yet.
        let unknown = meetings
            .iter()
            .flat_map(|m| &m.roster)
            .any(|t| !registry.contains_key(t));
        if unknown || registry_at.is_none_or(|t| t.elapsed() >= REGISTRY_REFRESH) {
            match load_registry(&state.store).await {
                Ok(r) => {
                    registry = r;
                    registry_at = Some(tokio::time::Instant::now());
                }
                Err(e) => tracing::warn!("board: reading the terminals failed: {e}"),
            }
        }
        let sfu = match tokio::time::timeout(SAMPLE_INTERVAL, state.sfu.participant_stats()).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::warn!("board: the media engine is gone: {e}");
                return;
            }
            Err(_) => {
                tracing::warn!("board: the media engine did not answer within a second");
                continue;
            }
        };
        let clients = state.board.reports.snapshot();
        let board = &state.board;
        let latest = {
            let mut engine = board.engine();
            let out = engine.sample(&Sample {
                now_ms,
                meetings: &meetings,
                terminals: &registry,
                sfu: &sfu,
                clients: &clients,
            });
            Latest {
                json: serde_json::to_string(&out.board).expect("the board serializes"),
                board: out.board,
                terminals: out.terminals,
                live_meetings: out.live_meetings,
                next_meetings: out.next_meetings,
                active_alarms: engine.active_alarms(),
            }
        };
        board.latest.send_replace(Arc::new(latest));
    }
}

/// Every registered terminal's name and unit's name, by terminal id.
pub async fn load_registry(
    store: &Store,
) -> Result<HashMap<String, TerminalInfo>, crate::store::StoreError> {
    let units: HashMap<String, String> = store
        .units()
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    Ok(store
        .endpoints(None, false)
        .await?
        .into_iter()
        .map(|e| {
            let unit = units.get(&e.unit_id).cloned().unwrap_or_default();
            (e.id, TerminalInfo { name: e.name, unit })
        })
        .collect())
}

/// The occurrences that may be on the board at `now` (unix seconds): from those that
/// ended up to 12 h ago (someone may still be in) to those starting within 24 h.
async fn load_meetings(
    store: &Store,
    now: i64,
) -> Result<Vec<MeetingInput>, crate::store::StoreError> {
    let from = now - LOOK_BACK_SECS;
    let to = now + super::engine::NEXT_WINDOW_SECS + 1;
    let at = |s: i64| DateTime::<Utc>::from_timestamp(s, 0).unwrap_or_default();
    let mut out = Vec::new();
    for m in store.meetings_between(from, to, None).await? {
        if m.spec.cancelled {
            continue;
        }
        for o in occurrences(&m.spec, at(from), at(to)) {
            out.push(MeetingInput {
                meeting_id: m.id.clone(),
                occurrence: o.index,
                title: m.spec.title.clone(),
                starts_at: o.start_utc.timestamp(),
                ends_at: o.end_utc.timestamp(),
                mode: m.spec.mode,
                host_terminal_id: m.spec.host_terminal_id.clone(),
                roster: m.spec.roster.clone(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::meeting_room;

    #[test]
    fn meeting_rooms_are_told_apart() {
        assert_eq!(meeting_room("abc:3"), Some(("abc", 3)));
        assert_eq!(meeting_room("abc"), None);
        assert_eq!(meeting_room(":3"), None);
        assert_eq!(meeting_room("abc:x"), None);
    }
}
