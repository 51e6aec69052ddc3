//! Recurrence expansion: the occurrences of a meeting inside a time window, reckoned on
//! the province's calendar so that every occurrence keeps the same local wall-clock start.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Utc};

use super::{local_naive, Frequency, MeetingSpec, Occurrence, PROVINCE_TZ};

/// The occurrences of `spec` that overlap `[window_start, window_end)`, in order, without
/// the cancelled ones. An occurrence overlaps when it starts before the window ends and
/// ends after the window starts. The whole-meeting `cancelled` flag is not looked at here
/// (a calendar may still show a called-off meeting); [`super::conflicts`] and the join
/// window functions do look at it.
///
/// Only the occurrences near the window are generated, so asking about one week of a
/// year-long series costs one week's work.
pub fn occurrences(
    spec: &MeetingSpec,
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
) -> Vec<Occurrence> {
    if window_start >= window_end {
        return Vec::new();
    }
    let series = Series::new(spec);
    series
        .from(window_start)
        .take_while(|o| o.start_utc < window_end)
        .filter(|o| o.end_utc > window_start)
        .collect()
}

/// The occurrence under way at `now`, or else the next one to start; `None` once the
/// series is over. Cancelled occurrences are skipped; the whole-meeting flag is not
/// looked at.
pub fn next_occurrence(spec: &MeetingSpec, now: DateTime<Utc>) -> Option<Occurrence> {
    Series::new(spec).from(now).find(|o| o.end_utc > now)
}

/// A meeting's series of dates and how to turn a date into an occurrence.
pub(crate) struct Series<'a> {
    spec: &'a MeetingSpec,
    first: NaiveDate,
    local_start: NaiveTime,
    duration: TimeDelta,
    rule: Rule,
    until: NaiveDate,
}

enum Rule {
    Once,
    Daily {
        interval: u32,
    },
    Weekly {
        interval: u32,
        /// Days from Monday, sorted and unique.
        days: Vec<u32>,
        /// How many of `days` come before the first date's weekday.
        first_rank: u32,
    },
}

impl<'a> Series<'a> {
    pub(crate) fn new(spec: &'a MeetingSpec) -> Self {
        let local = local_naive(spec.start_utc);
        let first = local.date();
        let (rule, until) = match &spec.recurrence {
            None => (Rule::Once, first),
            Some(rec) => {
                let interval = rec.interval.max(1);
                let rule = match rec.freq {
                    Frequency::Daily => Rule::Daily { interval },
                    Frequency::Weekly => {
                        let first_day = first.weekday().num_days_from_monday();
                        let mut days: Vec<u32> = rec
                            .weekdays
                            .iter()
                            .map(|d| chrono::Weekday::from(*d).num_days_from_monday())
                            .collect();
                        // The first occurrence is always the meeting's own start (as in
                        // RFC 5545, where DTSTART counts), even in an unvalidated spec.
                        days.push(first_day);
                        days.sort_unstable();
                        days.dedup();
                        let first_rank = days.iter().filter(|d| **d < first_day).count() as u32;
                        Rule::Weekly {
                            interval,
                            days,
                            first_rank,
                        }
                    }
                };
                (rule, rec.until)
            }
        };
        Series {
            spec,
            first,
            local_start: local.time(),
            duration: spec.end_utc - spec.start_utc,
            rule,
            until,
        }
    }

    /// The series dates from `from` on, with their index, cancelled ones included.
    pub(crate) fn dates_from(
        &self,
        from: NaiveDate,
    ) -> Box<dyn Iterator<Item = (u32, NaiveDate)> + '_> {
        let from = from.max(self.first);
        let until = self.until;
        match &self.rule {
            Rule::Once => Box::new((from == self.first).then_some((0, self.first)).into_iter()),
            Rule::Daily { interval } => {
                let step = u64::from(*interval);
                let behind = (from - self.first).num_days() as u64;
                let first_k = behind.div_ceil(step);
                Box::new(
                    (first_k..)
                        .map_while(move |k| {
                            let date = self.first.checked_add_days(Days::new(k * step))?;
                            Some((u32::try_from(k).ok()?, date))
                        })
                        .take_while(move |(_, d)| *d <= until),
                )
            }
            Rule::Weekly {
                interval,
                days,
                first_rank,
            } => {
                let monday =
                    |d: NaiveDate| d - Days::new(u64::from(d.weekday().num_days_from_monday()));
                let first_monday = monday(self.first);
                let step = u64::from(*interval);
                let weeks_behind = ((monday(from) - first_monday).num_days() / 7) as u64;
                let first_period = weeks_behind / step;
                let per_week = days.len() as u64;
                let first_rank = u64::from(*first_rank);
                let first = self.first;
                Box::new(
                    (first_period..)
                        .map_while(move |p| {
                            let week = first_monday.checked_add_days(Days::new(p * step * 7))?;
                            (week <= until).then_some((p, week))
                        })
                        .flat_map(move |(p, week)| {
                            days.iter().enumerate().filter_map(move |(rank, day)| {
                                let date = week.checked_add_days(Days::new(u64::from(*day)))?;
                                let index = (p * per_week + rank as u64).checked_sub(first_rank)?;
                                (date >= first).then_some((u32::try_from(index).ok()?, date))
                            })
                        })
                        .skip_while(move |(_, d)| *d < from)
                        .take_while(move |(_, d)| *d <= until),
                )
            }
        }
    }

    /// The occurrence falling on a local date of the series.
    pub(crate) fn occurrence(&self, index: u32, date: NaiveDate) -> Option<Occurrence> {
        // Asia/Ho_Chi_Minh has had no gaps or folds since 1975, so a local time maps to
        // exactly one instant; `earliest` only guards against a zone-data surprise.
        let start = PROVINCE_TZ
            .from_local_datetime(&date.and_time(self.local_start))
            .earliest()?
            .with_timezone(&Utc);
        Some(Occurrence {
            index,
            start_utc: start,
            end_utc: start.checked_add_signed(self.duration)?,
        })
    }

    /// Occurrences, cancelled ones left out, that may still be running at `t` or start
    /// after it (callers filter exactly).
    pub(crate) fn from(&self, t: DateTime<Utc>) -> impl Iterator<Item = Occurrence> + '_ {
        // An occurrence still running at `t` started after `t - duration`; starting at or
        // after the meeting's own start keeps the arithmetic in range for any `t`.
        let earliest = t
            .checked_sub_signed(self.duration)
            .unwrap_or(t)
            .max(self.spec.start_utc);
        let from_date = local_naive(earliest).date();
        self.dates_from(from_date)
            .filter(|(_, d)| !self.spec.cancelled_occurrences.contains(d))
            .filter_map(|(i, d)| self.occurrence(i, d))
    }

    /// Every series date, cancelled ones included, stopping after `limit` dates.
    pub(crate) fn count_up_to(&self, limit: usize) -> usize {
        self.dates_from(self.first).take(limit).count()
    }

    /// Whether a local date carries an occurrence (cancelled or not).
    pub(crate) fn contains(&self, date: NaiveDate) -> bool {
        self.dates_from(date).next().is_some_and(|(_, d)| d == date)
    }

    /// The end of the last occurrence the series could have, ignoring cancellations.
    pub(crate) fn last_end(&self) -> DateTime<Utc> {
        let back = match self.rule {
            Rule::Once => 0,
            Rule::Daily { interval } => u64::from(interval),
            Rule::Weekly { interval, .. } => u64::from(interval) * 7,
        };
        let from = self
            .until
            .checked_sub_days(Days::new(back))
            .unwrap_or(self.first);
        self.dates_from(from)
            .last()
            .and_then(|(i, d)| self.occurrence(i, d))
            .map_or(self.spec.end_utc, |o| o.end_utc)
    }
}

#[cfg(test)]
mod tests;
