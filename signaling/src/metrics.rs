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
    Bucket, Counter, Gauge, Histogram, LabelPair, Metric, MetricFamily, MetricType,
};
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use sfu::{SfuHandle, SfuStats};

use crate::AppState;

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
        let registry = Registry::new();
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
        }
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
    pub fn render(&self, sfu: Option<&SfuStats>) -> String {
        let mut families = self.registry.gather();
        families.extend(sfu_families(sfu));
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
        state.metrics.render(stats.as_ref()),
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
            "hoinghi_forwarding_delay_seconds",
            "Time from a media datagram's receive to the send of the datagrams the media \
             engine produced for it.",
            MetricType::HISTOGRAM,
            vec![histogram(&s.forwarding_delay)],
        ),
    ]);
    families
}

/// The histogram as Prometheus wants it; the text encoder adds the +Inf bucket from the
/// count.
fn histogram(h: &sfu::DelayHistogram) -> Metric {
    let mut hist = Histogram::default();
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
        let text = m.render(Some(&stats));
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
        let down = m.render(None);
        assert!(down.lines().any(|l| l == "hoinghi_media_engine_up 0"));
        assert!(down
            .lines()
            .any(|l| l == "hoinghi_websocket_sessions_open 0"));
        assert!(!down.contains("hoinghi_participants"), "{down}");
    }
}
