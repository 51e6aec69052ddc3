//! How long the SFU holds a datagram: a fixed-bucket histogram of the time from a
//! datagram's receive to the send of what the core produced in response, written by the
//! driver without a lock and read by anyone holding the [`crate::SfuHandle`].
//!
//! Definition: every datagram the core queues while handling one receive batch inherits
//! the time that batch's `recvmmsg` returned; its delay ends when the `sendmmsg` that
//! carried it returned. Datagrams the core produces on a timer or a signaling command
//! (RTCP reports, retransmissions, keepalives) answer no receive and are not recorded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the histogram's buckets; a last, unbounded bucket (+Inf) follows.
pub const DELAY_BUCKETS: [Duration; 9] = [
    Duration::from_micros(50),
    Duration::from_micros(100),
    Duration::from_micros(250),
    Duration::from_micros(500),
    Duration::from_millis(1),
    Duration::from_micros(2500),
    Duration::from_millis(5),
    Duration::from_millis(10),
    Duration::from_millis(25),
];

const SLOTS: usize = DELAY_BUCKETS.len() + 1;

/// The live histogram: plain atomic counters, so recording is three relaxed additions
/// and reading never waits for the media path.
#[derive(Debug, Default)]
pub struct ForwardingDelay {
    /// Per bucket (not cumulative); the last is +Inf.
    buckets: [AtomicU64; SLOTS],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl ForwardingDelay {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record `n` datagrams that were all held for `delay` (a batch sent by one
    /// system call, answering one receive batch).
    pub fn record(&self, delay: Duration, n: u64) {
        if n == 0 {
            return;
        }
        let slot = DELAY_BUCKETS
            .iter()
            .position(|b| delay <= *b)
            .unwrap_or(SLOTS - 1);
        // Relaxed: the counters are independent figures; a reader may see a count and
        // a sum from moments a few datagrams apart, which a scrape tolerates.
        self.buckets[slot].fetch_add(n, Ordering::Relaxed);
        let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos
            .fetch_add(nanos.saturating_mul(n), Ordering::Relaxed);
        self.count.fetch_add(n, Ordering::Relaxed);
    }

    /// The figures so far.
    pub fn snapshot(&self) -> DelayHistogram {
        DelayHistogram {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            sum: Duration::from_nanos(self.sum_nanos.load(Ordering::Relaxed)),
            count: self.count.load(Ordering::Relaxed),
        }
    }
}

/// A copy of the forwarding-delay histogram at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DelayHistogram {
    /// Datagrams per bucket, not cumulative: `buckets[i]` counts delays in
    /// (`DELAY_BUCKETS[i-1]`, `DELAY_BUCKETS[i]`]; the last slot counts those above
    /// the last bound.
    pub buckets: [u64; SLOTS],
    /// Sum of all recorded delays.
    pub sum: Duration,
    /// Datagrams recorded.
    pub count: u64,
}

impl DelayHistogram {
    /// Cumulative counts as Prometheus wants them: (upper bound in seconds, datagrams
    /// with a delay at most that), for each finite bound; the +Inf bucket is `count`.
    pub fn cumulative(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        DELAY_BUCKETS
            .iter()
            .zip(self.buckets.iter())
            .scan(0u64, |acc, (bound, n)| {
                *acc += n;
                Some((bound.as_secs_f64(), *acc))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_land_in_their_bucket_and_accumulate() {
        let h = ForwardingDelay::new();
        h.record(Duration::from_micros(50), 2); // on a bound: that bucket
        h.record(Duration::from_micros(51), 1);
        h.record(Duration::from_millis(3), 1);
        h.record(Duration::from_secs(1), 1);
        h.record(Duration::from_secs(1), 0);
        let s = h.snapshot();
        assert_eq!(s.count, 5);
        assert_eq!(s.buckets[0], 2);
        assert_eq!(s.buckets[1], 1);
        assert_eq!(s.buckets[6], 1);
        assert_eq!(s.buckets[SLOTS - 1], 1);
        assert_eq!(
            s.sum,
            Duration::from_micros(151) + Duration::from_millis(3) + Duration::from_secs(1)
        );
        let c: Vec<(f64, u64)> = s.cumulative().collect();
        assert_eq!(c.len(), DELAY_BUCKETS.len());
        assert_eq!(c[0], (0.000_05, 2));
        assert_eq!(c[1], (0.000_1, 3));
        assert_eq!(c[5].1, 3);
        assert_eq!(c[6].1, 4);
        assert_eq!(c.last().unwrap().1, 4, "the 1 s delay is only in +Inf");
    }
}
