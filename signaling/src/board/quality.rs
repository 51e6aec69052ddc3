//! A terminal's quality against the thresholds: `bad` if its loss (the larger of the
//! SFU's loss of what it sends and its own loss of what it receives) is over
//! `loss_bad`; `warn` if over `loss_warn`, or its round-trip time over `rtt_warn_ms`,
//! or it saw a freeze in the last `freeze_warn_secs`; `good` otherwise; `unknown`
//! without figures.

use super::{ClientFigures, Quality, ServerFigures, Thresholds};

/// The loss a terminal is judged on: the larger of both views, if any.
pub fn judged_loss(server: Option<&ServerFigures>, client: Option<&ClientFigures>) -> Option<f64> {
    let s = server.and_then(|s| s.loss_in);
    let c = client.and_then(|c| c.loss);
    match (s, c) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Classify one terminal at `now_ms`.
pub fn classify(
    t: &Thresholds,
    server: Option<&ServerFigures>,
    client: Option<&ClientFigures>,
    now_ms: i64,
) -> Quality {
    let loss = judged_loss(server, client);
    let rtt = server
        .and_then(|s| s.rtt_ms)
        .or_else(|| client.and_then(|c| c.rtt_ms));
    let froze = client
        .and_then(|c| c.last_freeze_at)
        .is_some_and(|at| now_ms - at <= t.freeze_warn_secs as i64 * 1000);
    if loss.is_none() && rtt.is_none() && client.is_none() {
        return Quality::Unknown;
    }
    if loss.is_some_and(|l| l > t.loss_bad) {
        Quality::Bad
    } else if loss.is_some_and(|l| l > t.loss_warn)
        || rtt.is_some_and(|r| r > t.rtt_warn_ms)
        || froze
    {
        Quality::Warn
    } else {
        Quality::Good
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::AlarmSettings;

    fn server(loss: Option<f64>, rtt: Option<f64>) -> ServerFigures {
        ServerFigures {
            bitrate_in_bps: 0.0,
            bitrate_out_bps: 0.0,
            packets_in: 0,
            packets_out: 0,
            bytes_in: 0,
            bytes_out: 0,
            loss_in: loss,
            loss_out: None,
            jitter_ms: None,
            rtt_ms: rtt,
            nack: 0,
            pli: 0,
            fir: 0,
            layer: None,
            audio_level: None,
        }
    }

    fn client(loss: Option<f64>, last_freeze_at: Option<i64>) -> ClientFigures {
        ClientFigures {
            frames_per_second: None,
            freeze_count: None,
            total_freezes_duration_ms: None,
            jitter_ms: None,
            packets_lost: None,
            loss,
            audio_level: None,
            rtt_ms: None,
            at: 0,
            last_freeze_at,
        }
    }

    #[test]
    fn thresholds_of_the_issue() {
        let t = Thresholds::new(AlarmSettings::default());
        let q = |s: Option<ServerFigures>, c: Option<ClientFigures>| {
            classify(&t, s.as_ref(), c.as_ref(), 100_000)
        };
        assert_eq!(q(None, None), Quality::Unknown);
        assert_eq!(q(Some(server(None, None)), None), Quality::Unknown);
        assert_eq!(q(Some(server(Some(0.0), Some(40.0))), None), Quality::Good);
        assert_eq!(q(Some(server(Some(0.011), None)), None), Quality::Warn);
        assert_eq!(q(Some(server(Some(0.051), None)), None), Quality::Bad);
        assert_eq!(q(Some(server(Some(0.0), Some(251.0))), None), Quality::Warn);
        // The client's loss counts as much as the server's.
        assert_eq!(
            q(
                Some(server(Some(0.0), None)),
                Some(client(Some(0.06), None))
            ),
            Quality::Bad
        );
        // A freeze within 10 s warns; an older one does not.
        assert_eq!(
            q(None, Some(client(Some(0.0), Some(95_000)))),
            Quality::Warn
        );
        assert_eq!(
            q(None, Some(client(Some(0.0), Some(80_000)))),
            Quality::Good
        );
    }
}
