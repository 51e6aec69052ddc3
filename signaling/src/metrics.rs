//! Prometheus metrics, served on their own listener (`--metrics-listen`): the server's
//! own counters, and the media engine's figures read from [`SfuHandle::stats`] at each
//! scrape, so that nothing on the media path calls into this module. Every metric is
//! documented in docs/metrics.md.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus::proto::{
    Bucket, Counter, Gauge, Histogram as HistogramProto, LabelPair, Metric, MetricFamily,
    MetricType,
};
use prometheus::{
    Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use sfu::{SfuHandle, SfuStats};

use crate::board::service::Latest;
use crate::AppState;

/// Buckets of `hoinghi_join_duration_seconds`: ICE-lite and DTLS take well under a
/// second on a LAN; several seconds mean trouble.
const JOIN_BUCKETS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0];

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How long a scrape waits for the media engine's figures.
const SFU_STATS_TIMEOUT: Duration = Duration::from_secs(1);

/// Why a join was refused: the `reason` label of `hoinghi_join_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinFailure {
    /// The token's signature, issuer or claims were not accepted.
    InvalidToken,
    /// The token has expired or is not valid yet.
    TokenExpired,
    /// The server could not add the participant.
    Internal,
}

impl JoinFailure {
    const ALL: [JoinFailure; 3] = [
        JoinFailure::InvalidToken,
        JoinFailure::TokenExpired,
        JoinFailure::Internal,
    ];

    fn label(self) -> &'static str {
        match self {
            JoinFailure::InvalidToken => "invalid_token",
            JoinFailure::TokenExpired => "token_expired",
            JoinFailure::Internal => "internal",
        }
    }
}

/// The signaling side's metrics; the media engine's are added at scrape time.
pub struct Metrics {
    registry: Registry,
    websocket_sessions: IntGauge,
    joins: IntCounter,
    join_failures: IntCounterVec,
    join_duration: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every signaling metric at zero.
    pub fn new() -> Metrics {
        // The names below are constants, valid and distinct, so creating and
        // registering them cannot fail.
        let websocket_sessions = IntGauge::new(
            "hoinghi_websocket_sessions_open",
            "WebSocket signaling sessions open, joined or not.",
        )
        .expect("valid metric");
        let joins = IntCounter::new(
            "hoinghi_joins_total",
            "Joins accepted: participants added to a room.",
        )
        .expect("valid metric");
        let join_failures = IntCounterVec::new(
            Opts::new("hoinghi_join_failures_total", "Joins refused, by reason."),
            &["reason"],
        )
        .expect("valid metric");
        // Every reason is shown from the start, so that a rate over it is defined.
        for reason in JoinFailure::ALL {
            join_failures.with_label_values(&[reason.label()]);
        }
        let join_duration = Histogram::with_opts(
            HistogramOpts::new(
                "hoinghi_join_duration_seconds",
                "Time from a join accepted over the WebSocket to the participant's first \
                 media connection being up (ICE and DTLS).",
            )
            .buckets(JOIN_BUCKETS.to_vec()),
        )
        .expect("valid metric");
        let registry = Registry::new();
        registry
            .register(Box::new(join_duration.clone()))
            .expect("distinct metric");
        registry
            .register(Box::new(websocket_sessions.clone()))
            .expect("distinct metric");
        registry
            .register(Box::new(joins.clone()))
            .expect("distinct metric");
        registry
            .register(Box::new(join_failures.clone()))
            .expect("distinct metric");
        Metrics {
            registry,
            websocket_sessions,
            joins,
            join_failures,
            join_duration,
        }
    }

    /// A joined participant's media connection came up `after` its join.
    pub fn join_connected(&self, after: Duration) {
        self.join_duration.observe(after.as_secs_f64());
    }

    /// Count a WebSocket session as open until the returned guard is dropped.
    pub fn websocket_session(&self) -> SessionOpen {
        self.websocket_sessions.inc();
        SessionOpen(self.websocket_sessions.clone())
    }

    /// Count an accepted join.
    pub fn join_accepted(&self) {
        self.joins.inc();
    }

    /// Count a refused join.
    pub fn join_failed(&self, reason: JoinFailure) {
        self.join_failures
            .with_label_values(&[reason.label()])
            .inc();
    }

    /// Everything in the Prometheus text format; `sfu` is `None` when the media engine
    /// did not answer, which `hoinghi_media_engine_up 0` says.
    pub fn render(&self, sfu: Option<&SfuStats>, board: &Latest) -> String {
        let mut families = self.registry.gather();
        families.extend(sfu_families(sfu));
        families.extend(board_families(board));
        families.sort_by(|a, b| a.name().cmp(b.name()));
        let mut text = String::new();
        // Encoding fails only on a family without metrics or a bad name, which the
        // families above never are.
        TextEncoder::new()
            .encode_utf8(&families, &mut text)
            .expect("well-formed metric families");
        text
    }
}

/// Keeps `hoinghi_websocket_sessions_open` counting one session while alive.
pub struct SessionOpen(IntGauge);

impl Drop for SessionOpen {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The metrics listener's application: `GET /metrics`.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let stats = sfu_stats(&state.sfu).await;
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.render(stats.as_ref(), &state.board.latest()),
    )
}

async fn sfu_stats(sfu: &SfuHandle) -> Option<SfuStats> {
    match tokio::time::timeout(SFU_STATS_TIMEOUT, sfu.stats()).await {
        Ok(Ok(stats)) => Some(stats),
        Ok(Err(e)) => {
            tracing::warn!("metrics: the media engine is gone: {e}");
            None
        }
        Err(_) => {
            tracing::warn!("metrics: the media engine did not answer within a second");
            None
        }
    }
}

/// The media engine's snapshot as metric families. Its counters are monotonic since
/// the engine started, so they are exposed as they are rather than mirrored into
/// registry counters.
fn sfu_families(stats: Option<&SfuStats>) -> Vec<MetricFamily> {
    let mut families = vec![family(
        "hoinghi_media_engine_up",
        "1 when the media engine answered this scrape, else 0 (and its metrics are absent).",
        MetricType::GAUGE,
        vec![gauge(&[], if stats.is_some() { 1.0 } else { 0.0 })],
    )];
    let Some(s) = stats else {
        return families;
    };
    // u64 → f64 loses precision only beyond 2^53, which these counts never reach.
    let n = |v: u64| v as f64;
    families.extend([
        family(
            "hoinghi_rooms",
            "Rooms with at least one participant in the media engine.",
            MetricType::GAUGE,
            vec![gauge(&[], s.rooms as f64)],
        ),
        family(
            "hoinghi_participants",
            "Participants in all rooms of the media engine.",
            MetricType::GAUGE,
            vec![gauge(&[], s.participants as f64)],
        ),
        family(
            "hoinghi_datagrams_received_total",
            "UDP datagrams received on the media port.",
            MetricType::COUNTER,
            vec![counter(&[], n(s.datagrams_received))],
        ),
        family(
            "hoinghi_datagrams_dropped_total",
            "Media datagrams dropped, by reason: malformed (neither STUN, DTLS, RTP \
             nor RTCP), unrouted (no participant has that source), rejected (refused \
             by a participant's WebRTC state, e.g. failed SRTP).",
            MetricType::COUNTER,
            vec![
                counter(&[("reason", "malformed")], n(s.datagrams_malformed)),
                counter(&[("reason", "unrouted")], n(s.datagrams_unrouted)),
                counter(&[("reason", "rejected")], n(s.datagrams_rejected)),
            ],
        ),
        family(
            "hoinghi_rtp_packets_forwarded_total",
            "RTP packets forwarded to subscribers.",
            MetricType::COUNTER,
            vec![counter(&[], n(s.packets_forwarded))],
        ),
        family(
            "hoinghi_rtp_packets_held_for_keyframe_total",
            "Video packets not forwarded because the subscriber waited for a keyframe.",
            MetricType::COUNTER,
            vec![counter(&[], n(s.packets_waiting_keyframe))],
        ),
        family(
            "hoinghi_keyframe_requests_total",
            "Keyframe requests (PLI) sent to publishers.",
            MetricType::COUNTER,
            vec![counter(&[], n(s.keyframe_requests))],
        ),
        family(
            "hoinghi_participants_failed_total",
            "Participants removed because their WebRTC state failed.",
            MetricType::COUNTER,
            vec![counter(&[], n(s.participants_failed))],
        ),
        family(
            "hoinghi_ice_failures_total",
            "Peer connections whose ICE failed, by phase: before_connect (not connected \
             within 10 s of negotiation), after_connect (went disconnected).",
            MetricType::COUNTER,
            vec![
                counter(
                    &[("phase", "before_connect")],
                    n(s.ice_failures_before_connect),
                ),
                counter(
                    &[("phase", "after_connect")],
                    n(s.ice_failures_after_connect),
                ),
            ],
        ),
        family(
            "hoinghi_dtls_failures_total",
            "Peer connections whose DTLS failed (an error, or ICE up and DTLS not within \
             10 s of negotiation).",
            MetricType::COUNTER,
            vec![counter(&[], n(s.dtls_failures))],
        ),
        family(
            "hoinghi_forwarding_delay_seconds",
            "Time from a media datagram's receive to the send of the datagrams the media \
             engine produced for it.",
            MetricType::HISTOGRAM,
            vec![histogram(&s.forwarding_delay)],
        ),
    ]);
    families
}

/// The board's figures: meetings, alarms, and every joined registered terminal of a
/// live meeting (labels `meeting`, `terminal`; a terminal's series go when it leaves).
fn board_families(b: &Latest) -> Vec<MetricFamily> {
    let mut families = vec![
        family(
            "hoinghi_meetings",
            "Meeting occurrences on the operator board, by state: live, next (within 24 h).",
            MetricType::GAUGE,
            vec![
                gauge(&[("state", "live")], b.live_meetings as f64),
                gauge(&[("state", "next")], b.next_meetings as f64),
            ],
        ),
        family(
            "hoinghi_alarms_active",
            "Active operator-board alarms, by kind.",
            MetricType::GAUGE,
            b.active_alarms
                .iter()
                .map(|(k, n)| gauge(&[("kind", k.as_str())], *n as f64))
                .collect(),
        ),
    ];
    let terminals = &b.terminals;
    if terminals.is_empty() {
        return families;
    }
    let labels = |t: &crate::board::engine::TerminalMetric| {
        [
            ("meeting", t.meeting_id.clone()),
            ("terminal", t.terminal_id.clone()),
        ]
    };
    type Pick = fn(&crate::board::engine::TerminalMetric) -> Option<f64>;
    let per_terminal = |name: &str, help: &str, kind: MetricType, pick: Pick| {
        let metrics: Vec<Metric> = terminals
            .iter()
            .filter_map(|t| {
                let l = labels(t);
                let l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
                pick(t).map(|v| match kind {
                    MetricType::COUNTER => counter(&l, v),
                    _ => gauge(&l, v),
                })
            })
            .collect();
        (!metrics.is_empty()).then(|| family(name, help, kind, metrics))
    };
    fn count(v: u64) -> Option<f64> {
        Some(v as f64)
    }
    let defs: [(&str, &str, MetricType, Pick); 17] = [
        ("hoinghi_terminal_received_bytes_total", "Bytes the SFU received from the terminal (this connection).", MetricType::COUNTER, |t| count(t.server.bytes_in)),
        ("hoinghi_terminal_sent_bytes_total", "Bytes the SFU sent to the terminal (this connection).", MetricType::COUNTER, |t| count(t.server.bytes_out)),
        ("hoinghi_terminal_received_packets_total", "RTP packets the SFU received from the terminal.", MetricType::COUNTER, |t| count(t.server.packets_in)),
        ("hoinghi_terminal_sent_packets_total", "RTP packets the SFU sent to the terminal.", MetricType::COUNTER, |t| count(t.server.packets_out)),
        ("hoinghi_terminal_receive_loss_ratio", "Fraction (0..1) of the terminal's packets lost on the way to the SFU.", MetricType::GAUGE, |t| t.server.loss_in),
        ("hoinghi_terminal_send_loss_ratio", "Fraction (0..1) of the SFU's packets lost on the way to the terminal (its receiver reports).", MetricType::GAUGE, |t| t.server.loss_out),
        ("hoinghi_terminal_jitter_seconds", "Interarrival jitter of what the terminal sends.", MetricType::GAUGE, |t| t.server.jitter_ms.map(|v| v / 1000.0)),
        ("hoinghi_terminal_rtt_seconds", "Round-trip time between the SFU and the terminal.", MetricType::GAUGE, |t| t.server.rtt_ms.map(|v| v / 1000.0)),
        ("hoinghi_terminal_nacks_total", "NACKs sent to and received from the terminal.", MetricType::COUNTER, |t| count(t.server.nack)),
        ("hoinghi_terminal_plis_total", "PLIs sent to and received from the terminal.", MetricType::COUNTER, |t| count(t.server.pli)),
        ("hoinghi_terminal_firs_total", "FIRs sent to and received from the terminal.", MetricType::COUNTER, |t| count(t.server.fir)),
        ("hoinghi_terminal_receive_bitrate_bits_per_second", "Bitrate the SFU receives from the terminal.", MetricType::GAUGE, |t| Some(t.server.bitrate_in_bps)),
        ("hoinghi_terminal_send_bitrate_bits_per_second", "Bitrate the SFU sends to the terminal.", MetricType::GAUGE, |t| Some(t.server.bitrate_out_bps)),
        ("hoinghi_terminal_audio_level_ratio", "Loudest level (0..1, linear) of the terminal's published audio over the last second.", MetricType::GAUGE, |t| t.server.audio_level),
        ("hoinghi_terminal_freezes_total", "Video freezes the terminal reported (what it receives).", MetricType::COUNTER, |t| t.client.as_ref().and_then(|c| c.freeze_count).map(|v| v as f64)),
        ("hoinghi_terminal_freeze_duration_seconds_total", "Time the videos the terminal receives stayed frozen, as it reported.", MetricType::COUNTER, |t| t.client.as_ref().and_then(|c| c.total_freezes_duration_ms).map(|v| v / 1000.0)),
        ("hoinghi_terminal_frames_per_second", "Mean frame rate of the videos the terminal receives, as it reported.", MetricType::GAUGE, |t| t.client.as_ref().and_then(|c| c.frames_per_second)),
    ];
    for (name, help, kind, pick) in defs {
        families.extend(per_terminal(name, help, kind, pick));
    }
    let layers: Vec<Metric> = terminals
        .iter()
        .filter_map(|t| {
            let layer = t.server.layer.as_deref()?;
            Some(gauge(
                &[
                    ("meeting", t.meeting_id.as_str()),
                    ("terminal", t.terminal_id.as_str()),
                    ("layer", layer),
                ],
                1.0,
            ))
        })
        .collect();
    if !layers.is_empty() {
        families.push(family(
            "hoinghi_terminal_forwarded_layer_info",
            "1 for the simulcast layer (rid: f, h, q) forwarded to the terminal.",
            MetricType::GAUGE,
            layers,
        ));
    }
    families
}

/// The histogram as Prometheus wants it; the text encoder adds the +Inf bucket from the
/// count.
fn histogram(h: &sfu::DelayHistogram) -> Metric {
    let mut hist = HistogramProto::default();
    hist.set_sample_count(h.count);
    hist.set_sample_sum(h.sum.as_secs_f64());
    hist.set_bucket(
        h.cumulative()
            .map(|(upper, count)| {
                let mut b = Bucket::default();
                b.set_upper_bound(upper);
                b.set_cumulative_count(count);
                b
            })
            .collect(),
    );
    let mut m = Metric::default();
    m.set_histogram(hist);
    m
}

fn family(name: &str, help: &str, kind: MetricType, metrics: Vec<Metric>) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name.to_string());
    f.set_help(help.to_string());
    f.set_field_type(kind);
    f.set_metric(metrics);
    f
}

fn labelled(labels: &[(&str, &str)]) -> Metric {
    let mut m = Metric::default();
    m.set_label(
        labels
            .iter()
            .map(|(name, value)| {
                let mut l = LabelPair::default();
                l.set_name(name.to_string());
                l.set_value(value.to_string());
                l
            })
            .collect(),
    );
    m
}

fn gauge(labels: &[(&str, &str)], value: f64) -> Metric {
    let mut m = labelled(labels);
    let mut g = Gauge::default();
    g.set_value(value);
    m.set_gauge(g);
    m
}

fn counter(labels: &[(&str, &str)], value: f64) -> Metric {
    let mut m = labelled(labels);
    let mut c = Counter::default();
    c.set_value(value);
    m.set_counter(c);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_help_and_type() {
        let m = Metrics::new();
        m.join_accepted();
        m.join_failed(JoinFailure::TokenExpired);
        let _open = m.websocket_session();
        let delay = sfu::ForwardingDelay::new();
        delay.record(Duration::from_micros(80), 3);
        delay.record(Duration::from_millis(30), 1);
        let stats = SfuStats {
            participants: 2,
            datagrams_unrouted: 3,
            forwarding_delay: delay.snapshot(),
            ..SfuStats::default()
        };
        let board = crate::board::BoardService::default().latest();
        let text = m.render(Some(&stats), &board);
        for line in [
            "hoinghi_participants 2",
            "hoinghi_datagrams_dropped_total{reason=\"unrouted\"} 3",
            "hoinghi_joins_total 1",
            "hoinghi_join_failures_total{reason=\"token_expired\"} 1",
            "hoinghi_join_failures_total{reason=\"invalid_token\"} 0",
            "hoinghi_websocket_sessions_open 1",
            "hoinghi_media_engine_up 1",
            "# TYPE hoinghi_rtp_packets_forwarded_total counter",
            "# TYPE hoinghi_rooms gauge",
            "# TYPE hoinghi_forwarding_delay_seconds histogram",
            "hoinghi_forwarding_delay_seconds_bucket{le=\"0.00005\"} 0",
            "hoinghi_forwarding_delay_seconds_bucket{le=\"0.0001\"} 3",
            "hoinghi_forwarding_delay_seconds_bucket{le=\"0.025\"} 3",
            "hoinghi_forwarding_delay_seconds_bucket{le=\"+Inf\"} 4",
            "hoinghi_forwarding_delay_seconds_count 4",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
        drop(_open);
        let down = m.render(None, &board);
        assert!(down.lines().any(|l| l == "hoinghi_media_engine_up 0"));
        assert!(down
            .lines()
            .any(|l| l == "hoinghi_websocket_sessions_open 0"));
        assert!(!down.contains("hoinghi_participants"), "{down}");
    }

    /// A board with one joined terminal whose every figure is known.
    fn full_board() -> Latest {
        use crate::board::engine::TerminalMetric;
        use crate::board::{AlarmKind, AlarmSettings, Board, Thresholds};
        use crate::board::{ClientFigures, ServerFigures};
        let board = Board {
            at: 0,
            thresholds: Thresholds::new(AlarmSettings::default()),
            meetings: Vec::new(),
            alarms: Vec::new(),
        };
        Latest {
            json: String::new(),
            board,
            live_meetings: 1,
            next_meetings: 0,
            active_alarms: [
                (AlarmKind::Degraded, 1),
                (AlarmKind::NotFull, 0),
                (AlarmKind::Dropped, 0),
                (AlarmKind::SilentFloor, 0),
            ],
            terminals: vec![TerminalMetric {
                meeting_id: "m1".into(),
                terminal_id: "t1".into(),
                server: ServerFigures {
                    bitrate_in_bps: 1e6,
                    bitrate_out_bps: 2e6,
                    packets_in: 10,
                    packets_out: 20,
                    bytes_in: 1000,
                    bytes_out: 2000,
                    loss_in: Some(0.01),
                    loss_out: Some(0.02),
                    jitter_ms: Some(5.0),
                    rtt_ms: Some(40.0),
                    nack: 1,
                    pli: 2,
                    fir: 3,
                    layer: Some("h".into()),
                    audio_level: Some(0.5),
                },
                client: Some(ClientFigures {
                    frames_per_second: Some(30.0),
                    freeze_count: Some(1),
                    total_freezes_duration_ms: Some(500.0),
                    jitter_ms: Some(3.0),
                    packets_lost: Some(2),
                    loss: Some(0.0),
                    audio_level: Some(0.1),
                    rtt_ms: Some(30.0),
                    at: 0,
                    last_freeze_at: None,
                }),
            }],
        }
    }

    /// The metric names of a text exposition (histogram series under their family).
    fn names(text: &str) -> std::collections::BTreeSet<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn per_terminal_series_carry_meeting_and_terminal_labels() {
        let text = Metrics::new().render(Some(&SfuStats::default()), &full_board());
        for line in [
            "hoinghi_terminal_receive_loss_ratio{meeting=\"m1\",terminal=\"t1\"} 0.009999999776482582",
            "hoinghi_terminal_rtt_seconds{meeting=\"m1\",terminal=\"t1\"} 0.04",
            "hoinghi_terminal_received_bytes_total{meeting=\"m1\",terminal=\"t1\"} 1000",
            "hoinghi_terminal_forwarded_layer_info{meeting=\"m1\",terminal=\"t1\",layer=\"h\"} 1",
            "hoinghi_terminal_freezes_total{meeting=\"m1\",terminal=\"t1\"} 1",
            "hoinghi_meetings{state=\"live\"} 1",
            "hoinghi_ice_failures_total{phase=\"before_connect\"} 0",
        ] {
            // f32 → f64 figures are printed as they are; compare the labels and value.
            let (series, value) = line.rsplit_once(' ').unwrap();
            let found = text.lines().find(|l| l.starts_with(series));
            let Some(found) = found else {
                panic!("no {series} in\n{text}");
            };
            let got: f64 = found.rsplit_once(' ').unwrap().1.parse().unwrap();
            let want: f64 = value.parse().unwrap();
            assert!((got - want).abs() < 1e-6, "{found} is not {line}");
        }
        let empty = Metrics::new().render(
            Some(&SfuStats::default()),
            &crate::board::BoardService::default().latest(),
        );
        assert!(!empty.contains("hoinghi_terminal_"), "{empty}");
    }

    #[test]
    fn every_metric_is_documented_and_the_dashboard_queries_only_exported_ones() {
        let m = Metrics::new();
        m.join_connected(Duration::from_millis(300));
        let exported = names(&m.render(Some(&SfuStats::default()), &full_board()));
        let docs = include_str!("../../docs/metrics.md");
        for name in &exported {
            assert!(
                docs.contains(&format!("`{name}`")),
                "{name} is not in docs/metrics.md"
            );
        }
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../deploy/grafana/hoinghi-dashboard.json"))
                .expect("the dashboard is JSON");
        let mut exprs = Vec::new();
        collect_exprs(&dashboard, &mut exprs);
        assert!(exprs.len() > 20, "{exprs:?}");
        for expr in exprs {
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if !word.starts_with("hoinghi_") {
                    continue;
                }
                let family = ["_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|s| word.strip_suffix(s).filter(|f| exported.contains(*f)))
                    .unwrap_or(word);
                assert!(
                    exported.contains(family),
                    "the dashboard queries {word}, which the server does not export ({expr})"
                );
            }
        }
    }

    fn collect_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(o) => {
                for (k, v) in o {
                    match (k.as_str(), v) {
                        ("expr" | "definition", serde_json::Value::String(s)) => {
                            out.push(s.clone())
                        }
                        _ => collect_exprs(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| collect_exprs(v, out)),
            _ => {}
        }
    }
}
