//! The timeline: live bytes and blocks over time, sampled, with the sites behind them.
//!
//! # Design
//! After each applied event the recorder asks [`Timeline::due`]: a sample is taken when live
//! bytes moved by at least 1% of the peak so far, or when [`INTERVAL_NS`] passed with any
//! change, and in either case at least `min_gap` ticks after the previous sample. A sample
//! holds the time, live bytes and blocks, and the *changes* of the sites touched since the
//! previous one (site index, live bytes): a site is written when its live bytes are at least
//! 0.1% of the peak so far, or when it was written before with a non-zero value (so that its
//! fall is seen). A site's value at a sample is its last written value: the samples are a
//! change log, and the bytes of sites never written count as "other".
//!
//! **Bounded**: at [`MAX_SAMPLES`] samples, every pair of neighbours becomes one (the one with
//! more live bytes is kept, and the changes of the dropped one move to the next kept sample),
//! and `min_gap` becomes the span so far over half of [`MAX_SAMPLES`]: however long the run,
//! the timeline holds at most [`MAX_SAMPLES`] samples, spread over all of it.
//!
//! # Invariants
//! * Sample times never decrease (an event stamped earlier than the previous sample, from
//!   another thread's batch, is placed at the previous sample's time).
//! * `dirty` lists exactly the sites whose `dirty` flag is set.

use super::recorder::SiteCounters;

/// The most samples a timeline holds.
pub const MAX_SAMPLES: usize = 1024;
/// A sample is taken after this long when live bytes changed at all (nanoseconds).
pub const INTERVAL_NS: u64 = 1_000_000;
/// Sites whose series a timeline reports (by live bytes at the global peak).
pub const TOP_SITES: usize = 8;

struct Sample {
    time: u64,
    bytes: u64,
    blocks: u64,
    changes: std::vec::Vec<(u32, u64)>,
}

/// The sampler's state (inside the recorder's lock).
pub(super) struct Timeline {
    samples: std::vec::Vec<Sample>,
    dirty: std::vec::Vec<u32>,
    /// Changes of a dropped last sample, for the next sample.
    carry: std::vec::Vec<(u32, u64)>,
    last_time: u64,
    last_bytes: u64,
    min_gap: u64,
    interval: u64,
}

impl Timeline {
    /// An empty timeline starting at `start` ticks.
    pub(super) fn new(start: u64, ticks_per_ns: f64) -> Timeline {
        Timeline {
            samples: std::vec![Sample {
                time: start,
                bytes: 0,
                blocks: 0,
                changes: std::vec::Vec::new(),
            }],
            dirty: std::vec::Vec::new(),
            carry: std::vec::Vec::new(),
            last_time: start,
            last_bytes: 0,
            min_gap: 0,
            interval: (INTERVAL_NS as f64 * ticks_per_ns) as u64,
        }
    }

    /// Notes that a site changed since the last sample.
    pub(super) fn mark_dirty(&mut self, site: u32) {
        self.dirty.push(site);
    }

    /// Whether a sample is due now (see the module docs).
    #[inline]
    pub(super) fn due(&self, time: u64, bytes: u64, peak: u64) -> bool {
        let change = bytes.abs_diff(self.last_bytes);
        if change == 0 {
            return false;
        }
        let gap = time.saturating_sub(self.last_time);
        gap >= self.min_gap && (change >= (peak / 100).max(1) || gap >= self.interval)
    }

    /// Takes a sample of `current` (blocks, bytes) at `time`.
    pub(super) fn take(
        &mut self,
        time: u64,
        current: (u64, u64),
        peak: u64,
        sites: &mut [SiteCounters],
    ) {
        let floor = peak / 1000;
        let mut changes = core::mem::take(&mut self.carry);
        for &index in &self.dirty {
            let site = &mut sites[index as usize];
            site.dirty = false;
            let value = site.current.1;
            if value != site.recorded && (value >= floor || site.recorded != 0) {
                changes.push((index, value));
                site.recorded = value;
            }
        }
        self.dirty.clear();
        let time = time.max(self.last_time);
        self.samples.push(Sample {
            time,
            bytes: current.1,
            blocks: current.0,
            changes: latest_per_site(changes),
        });
        self.last_time = time;
        self.last_bytes = current.1;
        if self.samples.len() >= MAX_SAMPLES {
            self.decimate();
        }
    }

    /// Halves the samples (see the module docs).
    fn decimate(&mut self) {
        let first = self.samples.first().map_or(0, |sample| sample.time);
        let old = core::mem::take(&mut self.samples);
        let mut carry: std::vec::Vec<(u32, u64)> = std::vec::Vec::new();
        let mut pairs = old.into_iter();
        while let Some(mut a) = pairs.next() {
            let Some(mut b) = pairs.next() else {
                a.changes = merged(core::mem::take(&mut carry), a.changes);
                self.samples.push(a);
                break;
            };
            if a.bytes >= b.bytes {
                a.changes = merged(core::mem::take(&mut carry), a.changes);
                self.samples.push(a);
                carry = b.changes;
            } else {
                let earlier = merged(core::mem::take(&mut carry), a.changes);
                b.changes = merged(earlier, b.changes);
                self.samples.push(b);
            }
        }
        self.carry = merged(carry, core::mem::take(&mut self.carry));
        self.min_gap = self.last_time.saturating_sub(first) / (MAX_SAMPLES as u64 / 2);
    }

    /// The timeline up to `now`, with a last sample of `current`. `sites` are the live
    /// counters (for the changes since the last sample); `to_ns` converts ticks since `start`.
    pub(super) fn finish(
        &self,
        now: u64,
        current: (u64, u64),
        sites: &[SiteCounters],
        start: u64,
        to_ns: &dyn Fn(u64) -> u64,
    ) -> Recorded {
        let mut last_changes = self.carry.clone();
        for &index in &self.dirty {
            let site = &sites[index as usize];
            if site.current.1 != site.recorded {
                last_changes.push((index, site.current.1));
            }
        }
        let last = Sample {
            time: now.max(self.last_time),
            bytes: current.1,
            blocks: current.0,
            changes: latest_per_site(last_changes),
        };
        Recorded {
            samples: self
                .samples
                .iter()
                .chain(core::iter::once(&last))
                .map(|sample| RecordedSample {
                    time_ns: to_ns(sample.time.saturating_sub(start)),
                    bytes: sample.bytes,
                    blocks: sample.blocks,
                    changes: sample.changes.clone(),
                })
                .collect(),
        }
    }
}

/// One sample of a finished timeline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordedSample {
    /// Nanoseconds since the profile started.
    pub time_ns: u64,
    /// Live bytes.
    pub bytes: u64,
    /// Live blocks.
    pub blocks: u64,
    /// Sites whose live bytes changed since the previous sample: (site, live bytes).
    pub changes: std::vec::Vec<(u32, u64)>,
}

/// A finished timeline as recorded: its samples, with the sites' changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    /// The samples, in time order.
    pub samples: std::vec::Vec<RecordedSample>,
}

impl Recorded {
    /// Live bytes of groups of sites at each sample: site `s` belongs to group
    /// `group_of[s]`; one series per entry of `groups`, in that order.
    pub fn series(
        &self,
        group_of: &[usize],
        groups: &[usize],
    ) -> std::vec::Vec<std::vec::Vec<u64>> {
        let slot_of = |group: usize| groups.iter().position(|&wanted| wanted == group);
        let mut site_values = std::vec![0u64; group_of.len()];
        let mut sums = std::vec![0u64; groups.len()];
        let mut series = std::vec![std::vec::Vec::with_capacity(self.samples.len()); groups.len()];
        for sample in &self.samples {
            for &(site, value) in &sample.changes {
                let site = site as usize;
                let Some(slot) = group_of.get(site).and_then(|&group| slot_of(group)) else {
                    continue;
                };
                sums[slot] = sums[slot] - site_values[site] + value;
                site_values[site] = value;
            }
            for (out, &sum) in series.iter_mut().zip(&sums) {
                out.push(sum);
            }
        }
        series
    }
}

/// `older` then `newer` changes, the newer value winning for a site.
fn merged(
    mut older: std::vec::Vec<(u32, u64)>,
    newer: std::vec::Vec<(u32, u64)>,
) -> std::vec::Vec<(u32, u64)> {
    if older.is_empty() {
        return newer;
    }
    older.extend(newer);
    latest_per_site(older)
}

/// One change per site: the last one given.
fn latest_per_site(mut changes: std::vec::Vec<(u32, u64)>) -> std::vec::Vec<(u32, u64)> {
    if changes.len() < 2 {
        return changes;
    }
    // Stable: for equal sites the original order stays, so the last is the latest.
    changes.sort_by_key(|&(site, _)| site);
    let mut out: std::vec::Vec<(u32, u64)> = std::vec::Vec::with_capacity(changes.len());
    for change in changes {
        match out.last_mut() {
            Some(last) if last.0 == change.0 => *last = change,
            _ => out.push(change),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(current: u64) -> SiteCounters {
        SiteCounters {
            current: (1, current),
            ..SiteCounters::default()
        }
    }

    #[test]
    fn stays_bounded_and_keeps_site_values() {
        let mut timeline = Timeline::new(0, 1.0);
        let mut sites = std::vec![site(0), site(0)];
        let mut time = 0;
        for step in 1..=100_000u64 {
            time += 1_000_000; // 1 ms per step: every step is due
            sites[(step % 2) as usize].current.1 = step;
            timeline.mark_dirty((step % 2) as u32);
            sites[(step % 2) as usize].dirty = true;
            let bytes = sites[0].current.1 + sites[1].current.1;
            if timeline.due(time, bytes, 200_000) {
                timeline.take(time, (2, bytes), 200_000, &mut sites);
            }
            assert!(timeline.samples.len() < MAX_SAMPLES);
        }
        let recorded = timeline.finish(time + 1, (2, 199_999), &sites, 0, &|t| t);
        let times: Vec<u64> = recorded.samples.iter().map(|s| s.time_ns).collect();
        assert!(times.len() <= MAX_SAMPLES + 1);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        let series = recorded.series(&[0, 1], &[0, 1]);
        // The last sample holds each site's final value.
        assert_eq!(series[0].last(), Some(&100_000));
        assert_eq!(series[1].last(), Some(&99_999));
        // Both sites in one group: their sum.
        let both = recorded.series(&[0, 0], &[0]);
        assert_eq!(both[0].last(), Some(&199_999));
        // The samples spread over the whole run.
        assert!(times[times.len() / 2] > time / 4);
        // Where both sites are above the 0.1% floor, their series add up to the total.
        for (i, sample) in recorded.samples.iter().enumerate() {
            if sample.bytes > 1000 {
                assert_eq!(series[0][i] + series[1][i], sample.bytes, "sample {i}");
            }
        }
    }

    #[test]
    fn merging_keeps_the_latest_value_per_site() {
        assert_eq!(
            merged(std::vec![(1, 10), (2, 20)], std::vec![(2, 25), (3, 30)]),
            std::vec![(1, 10), (2, 25), (3, 30)]
        );
        assert_eq!(
            latest_per_site(std::vec![(5, 1), (5, 2)]),
            std::vec![(5, 2)]
        );
    }
}
