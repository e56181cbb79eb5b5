//! Heap profiling: where a program's memory goes, per allocation site and over time.
//!
//! # Use
//! ```no_run
//! use gpa::{Config, GeneralPurposeAllocator};
//!
//! #[global_allocator]
//! static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config::fast());
//!
//! let profiler = gpa::profile::start_all().expect("an observer slot is free");
//! let words: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
//! drop(words);
//! let profile = profiler.stop();
//! println!("peak {} bytes in {} blocks", profile.peak.bytes, profile.peak.blocks);
//! profile.write_dhat("dhat.json").expect("write"); // open it in Valgrind's dh_view.html
//! ```
//! [`start`] profiles one [`GeneralPurposeAllocator`] instance, [`start_all`] every GPA of the
//! process (the `#[global_allocator]` among them); [`start_with`] takes [`Options`]. `gpa run
//! --profile FILE -- PROGRAM` profiles any program (`crate::capi`).
//!
//! # What is recorded
//! Per **allocation site**: blocks and bytes allocated in total, live at the site's own
//! maximum, live at the global peak and live at the end; block lifetimes (shortest, average,
//! longest of the freed blocks, how many were short-lived, and the total of all lifetimes with
//! live blocks counted up to the end, DHAT's `tl`). For the whole heap: blocks and bytes in
//! total, the peak of live bytes and when it happened, live at the end, and a **timeline** of
//! live bytes and blocks with the contributions of the [`TOP_SITES`] sites with the most
//! bytes at the peak, sampled when live bytes move by 1% of the peak or every
//! [`INTERVAL_NS`]. Reads and writes of blocks are not tracked. A reallocation keeps its
//! block's site and birth and counts as one more block of its new size in the totals, as DHAT
//! counts it. Sizes are the sizes the program asked for.
//!
//! # Sites
//! A site is what its trace shows: the first [`Options::frames`] frames of the allocation's
//! stack below the allocator (a C program's `malloc` wrapper frames are the program's own and
//! stay). The hook interns traces a few frames deeper than that (the allocator's frames are
//! dropped later), so traces that differ only below the shown frames (deeper recursion, other
//! callers further up) are recorded apart and added up into one site when the profile is
//! built. Totals and the values at the peak and at the end add up exactly; a site's own
//! maximum is then the sum of the maxima of its parts, an upper bound.
//!
//! # Design
//! The profiler is an [`Observer`] of the GPA's observer hook: the GPA knows nothing of it.
//! The hook hands over each allocation's interned trace id; the recorder
//! (`src/profile/recorder.rs`) stamps the event with a tick counter and appends it to a
//! per-thread buffer, and applies buffers in batches to its tables under one lock: the
//! allocation path takes no lock and updates no shared counter. Its docs tell the costs and
//! how frees of blocks allocated by other threads are matched. A [`Profile`] is the
//! symbolized result; [`dhat`] writes it in DHAT's format, [`Profile::to_json`] in gpa's own
//! (with the timeline), which [`crate::report::html`] draws.
//!
//! # Bounds
//! Sites are aggregated (one entry per distinct trace, at most the trace table's capacity) and
//! the timeline holds at most [`MAX_SAMPLES`] samples, so a profile's size does not grow with
//! the number of allocations. The recorder's block map holds one entry per live block.

mod blocks;
pub mod dhat;
pub(crate) mod recorder;
pub(crate) mod timeline;

pub use timeline::{INTERVAL_NS, MAX_SAMPLES, TOP_SITES};

use crate::gpa::observer::{self, Observation, Observer, TooManyObservers};
use crate::gpa::{GeneralPurposeAllocator, InsideAllocator};
use crate::report::{symbolize, Frame};
use recorder::{Collected, Session, Settings};

/// How a profile is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Frames kept per allocation trace (the site's identity). Default: 8.
    pub frames: usize,
    /// A freed block whose lifetime was shorter than this is *short-lived*. Default: 10 µs.
    pub short_lived: core::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            frames: 8,
            short_lived: core::time::Duration::from_micros(10),
        }
    }
}

/// Which allocators a profile watches.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    /// One GPA instance.
    Instance(&'a GeneralPurposeAllocator),
    /// Every GPA of the process, the `#[global_allocator]` among them.
    All,
}

/// Starts profiling one GPA instance with the default [`Options`].
pub fn start(gpa: &GeneralPurposeAllocator) -> Result<Profiler, TooManyObservers> {
    start_with(Target::Instance(gpa), Options::default())
}

/// Starts profiling every GPA of the process (the global allocator) with the default
/// [`Options`].
pub fn start_all() -> Result<Profiler, TooManyObservers> {
    start_with(Target::All, Options::default())
}

/// Starts profiling `target`.
pub fn start_with(target: Target<'_>, options: Options) -> Result<Profiler, TooManyObservers> {
    let session = Session::start(Settings {
        frames: options.frames,
        short_lived_ns: u64::try_from(options.short_lived.as_nanos()).unwrap_or(u64::MAX),
    });
    let observer: &'static dyn Observer = session;
    let observation = match target {
        Target::Instance(gpa) => gpa.observe(observer, options.frames)?,
        Target::All => observer::observe_all(observer, options.frames)?,
    };
    Ok(Profiler {
        session,
        observation: Some(observation),
    })
}

/// A running profile; [`Profiler::stop`] ends it and returns the [`Profile`] (dropping it
/// ends it too, discarding the data).
#[derive(Debug)]
#[must_use = "a profile runs until `stop` is called or the profiler is dropped"]
pub struct Profiler {
    session: &'static Session,
    observation: Option<Observation>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Profiler {
    /// The profile so far; recording goes on.
    pub fn snapshot(&self) -> Profile {
        Profile::build(
            self.session.collect(false),
            &self.session.settings,
            command_line(),
            std::process::id(),
        )
    }

    /// Ends the profile and returns it.
    pub fn stop(mut self) -> Profile {
        if let Some(observation) = self.observation.take() {
            observation.end();
        }
        Profile::build(
            self.session.collect(true),
            &self.session.settings,
            command_line(),
            std::process::id(),
        )
    }
}

impl Drop for Profiler {
    fn drop(&mut self) {
        if let Some(observation) = self.observation.take() {
            observation.end();
            let _ = self.session.collect(true);
        }
    }
}

/// The process's command line (`/proc/self/cmdline`, else `std::env::args`), for reports.
pub(crate) fn command_line() -> String {
    let _inside = InsideAllocator::enter();
    if let Ok(bytes) = std::fs::read(crate::os::proc_file("cmdline")) {
        let words: std::vec::Vec<String> = bytes
            .split(|&byte| byte == 0)
            .filter(|word| !word.is_empty())
            .map(|word| String::from_utf8_lossy(word).into_owned())
            .collect();
        if !words.is_empty() {
            return words.join(" ");
        }
    }
    std::env::args().collect::<std::vec::Vec<_>>().join(" ")
}

/// A count of blocks and of their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Blocks.
    pub blocks: u64,
    /// Bytes (as requested by the program).
    pub bytes: u64,
}

impl Counts {
    fn of((blocks, bytes): (u64, u64)) -> Counts {
        Counts { blocks, bytes }
    }
}

/// The global peak of live bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Peak {
    /// Live blocks then.
    pub blocks: u64,
    /// Live bytes then (the highest of the run).
    pub bytes: u64,
    /// When, in nanoseconds since the profile started.
    pub time_ns: u64,
}

/// Lifetimes of the freed blocks of a site, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lifetimes {
    /// The shortest (`None`: no block was freed).
    pub min_ns: Option<u64>,
    /// The average.
    pub avg_ns: Option<u64>,
    /// The longest.
    pub max_ns: Option<u64>,
}

/// One allocation site: a distinct allocation trace and what was allocated there.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Site {
    /// Allocated in total (each reallocation counts as a block of its new size).
    pub total: Counts,
    /// Live when this site's live bytes were highest.
    pub max: Counts,
    /// Live at the global peak.
    pub at_peak: Counts,
    /// Live at the end of the profile.
    pub at_end: Counts,
    /// Blocks freed.
    pub freed_blocks: u64,
    /// Freed blocks that lived less than the short-lived threshold.
    pub short_lived_blocks: u64,
    /// Lifetimes of the freed blocks.
    pub lifetimes: Lifetimes,
    /// Lifetimes of all blocks, the live ones counted up to the end (DHAT's `tl`), ns.
    pub lifetime_total_ns: u64,
    /// The allocation trace, innermost first, starting at the program's code.
    pub frames: std::vec::Vec<Frame>,
}

/// Live bytes of one site over the timeline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SiteSeries {
    /// Index into [`Profile::sites`].
    pub site: usize,
    /// Live bytes at each sample.
    pub bytes: std::vec::Vec<u64>,
}

/// Live bytes and blocks over time, at most [`MAX_SAMPLES`] samples.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeline {
    /// Sample times, nanoseconds since the profile started (non-decreasing).
    pub time_ns: std::vec::Vec<u64>,
    /// Live bytes at each sample.
    pub bytes: std::vec::Vec<u64>,
    /// Live blocks at each sample.
    pub blocks: std::vec::Vec<u64>,
    /// The top sites by live bytes at the peak, each with its live bytes at each sample; the
    /// rest of `bytes` is other sites.
    pub sites: std::vec::Vec<SiteSeries>,
}

/// A heap profile: the result of [`Profiler::stop`] (or of `gpa run --profile`).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Profile {
    /// The profiled process's command line.
    pub command: String,
    /// Its process id.
    pub pid: u32,
    /// How long the profile ran, in nanoseconds.
    pub duration_ns: u64,
    /// Frames kept per allocation trace.
    pub frames: usize,
    /// The short-lived threshold, in nanoseconds.
    pub short_lived_ns: u64,
    /// Allocated in total.
    pub total: Counts,
    /// The peak of live bytes.
    pub peak: Peak,
    /// Live at the end.
    pub end: Counts,
    /// Sites, most live bytes at the peak first (then most bytes in total).
    pub sites: std::vec::Vec<Site>,
    /// Live bytes over time.
    pub timeline: Timeline,
    /// Frees (and reallocations) of blocks allocated before the profile started.
    pub unmatched_frees: u64,
}

impl Profile {
    /// Symbolizes what a session collected, one site per distinct trace of `frames` frames
    /// (see "Sites" in the module docs).
    pub(crate) fn build(
        collected: Collected,
        settings: &Settings,
        command: String,
        pid: u32,
    ) -> Profile {
        let _inside = InsideAllocator::enter();
        let rate = if collected.ticks_per_ns > 0.0 {
            collected.ticks_per_ns
        } else {
            1.0
        };
        let ns = |ticks: u64| (ticks as f64 / rate) as u64;
        // Group the recorder's sites by the addresses that make their frames.
        let mut group_of = std::vec::Vec::with_capacity(collected.sites.len());
        let mut groups: std::vec::Vec<Group> = std::vec::Vec::new();
        let mut by_key: crate::report::FixedHashMap<(u32, std::vec::Vec<usize>), usize> =
            Default::default();
        for counters in &collected.sites {
            let key = group_key(counters.trace, settings.frames);
            let index = *by_key.entry(key).or_insert_with(|| {
                groups.push(Group::new(counters.trace));
                groups.len() - 1
            });
            groups[index].add(counters);
            group_of.push(index);
        }
        let mut order: std::vec::Vec<usize> = (0..groups.len()).collect();
        order.sort_by(|&a, &b| {
            let key = |group: &Group| {
                (
                    group.site.at_peak.bytes,
                    group.site.total.bytes,
                    group.site.total.blocks,
                )
            };
            key(&groups[b]).cmp(&key(&groups[a])).then(a.cmp(&b))
        });
        let mut position = std::vec![0usize; groups.len()];
        for (new, &old) in order.iter().enumerate() {
            position[old] = new;
        }
        let sites: std::vec::Vec<Site> = order
            .iter()
            .map(|&index| {
                let group = &groups[index];
                let mut site = group.site.clone();
                let (sum, min, max) = group.lifetime;
                let freed = site.freed_blocks;
                site.lifetimes = Lifetimes {
                    min_ns: (freed != 0).then(|| ns(min)),
                    avg_ns: (freed != 0).then(|| ns(sum / freed)),
                    max_ns: (freed != 0).then(|| ns(max)),
                };
                site.lifetime_total_ns = ns(sum.saturating_add(group.live_lifetime));
                site.frames = symbolize::symbolize(group.trace, settings.frames);
                site
            })
            .collect();
        let group_of: std::vec::Vec<usize> = group_of.iter().map(|&g| position[g]).collect();
        let top: std::vec::Vec<usize> = (0..sites.len())
            .filter(|&index| sites[index].max.bytes != 0)
            .take(timeline::TOP_SITES)
            .collect();
        let recorded = collected.timeline;
        let series = recorded.series(&group_of, &top);
        Profile {
            command,
            pid,
            duration_ns: collected.duration_ns,
            frames: settings.frames,
            short_lived_ns: settings.short_lived_ns,
            total: Counts::of(collected.total),
            peak: Peak {
                blocks: collected.peak.0,
                bytes: collected.peak.1,
                time_ns: collected.peak.2,
            },
            end: Counts::of(collected.end),
            sites,
            timeline: Timeline {
                time_ns: recorded.samples.iter().map(|s| s.time_ns).collect(),
                bytes: recorded.samples.iter().map(|s| s.bytes).collect(),
                blocks: recorded.samples.iter().map(|s| s.blocks).collect(),
                sites: top
                    .into_iter()
                    .zip(series)
                    .map(|(site, bytes)| SiteSeries { site, bytes })
                    .collect(),
            },
            unmatched_frees: collected.unmatched_frees,
        }
    }

    /// The profile in gpa's JSON form (what `gpa run --json` embeds under `profiles` and the
    /// HTML report draws); [`Profile::from_json`] reads it back. Frames are written once, in
    /// `frame_table`, and a site's `frames` are indexes into it.
    pub fn to_json(&self) -> serde_json::Value {
        let counts = |c: &Counts| serde_json::json!({"blocks": c.blocks, "bytes": c.bytes});
        let mut table: std::vec::Vec<&Frame> = std::vec::Vec::new();
        let mut index: crate::report::FixedHashMap<&Frame, usize> = Default::default();
        let mut site_frames: std::vec::Vec<std::vec::Vec<usize>> = std::vec::Vec::new();
        for site in &self.sites {
            let frames = site
                .frames
                .iter()
                .map(|frame| {
                    *index.entry(frame).or_insert_with(|| {
                        table.push(frame);
                        table.len() - 1
                    })
                })
                .collect();
            site_frames.push(frames);
        }
        let sites = self
            .sites
            .iter()
            .zip(site_frames)
            .map(|(site, frames)| {
                serde_json::json!({
                    "total": counts(&site.total),
                    "max": counts(&site.max),
                    "at_peak": counts(&site.at_peak),
                    "at_end": counts(&site.at_end),
                    "freed_blocks": site.freed_blocks,
                    "short_lived_blocks": site.short_lived_blocks,
                    "lifetime_ns": {
                        "min": site.lifetimes.min_ns,
                        "avg": site.lifetimes.avg_ns,
                        "max": site.lifetimes.max_ns,
                        "total": site.lifetime_total_ns,
                    },
                    "frames": frames,
                })
            })
            .collect::<std::vec::Vec<_>>();
        let series = self
            .timeline
            .sites
            .iter()
            .map(|series| serde_json::json!({"site": series.site, "bytes": series.bytes}))
            .collect::<std::vec::Vec<_>>();
        serde_json::json!({
            "command": self.command,
            "pid": self.pid,
            "duration_ns": self.duration_ns,
            "frames": self.frames,
            "short_lived_ns": self.short_lived_ns,
            "total": counts(&self.total),
            "peak": {"blocks": self.peak.blocks, "bytes": self.peak.bytes, "time_ns": self.peak.time_ns},
            "end": counts(&self.end),
            "unmatched_frees": self.unmatched_frees,
            "frame_table": table.iter().map(|frame| frame.to_json()).collect::<std::vec::Vec<_>>(),
            "sites": sites,
            "timeline": {
                "time_ns": self.timeline.time_ns,
                "bytes": self.timeline.bytes,
                "blocks": self.timeline.blocks,
                "sites": series,
            },
        })
    }

    /// Reads [`Profile::to_json`]'s form; `None` when `json` is not a profile.
    pub fn from_json(json: &serde_json::Value) -> Option<Profile> {
        let number = |value: &serde_json::Value| value.as_u64();
        let counts = |value: &serde_json::Value| {
            Some(Counts {
                blocks: number(&value["blocks"])?,
                bytes: number(&value["bytes"])?,
            })
        };
        let numbers = |value: &serde_json::Value| -> Option<std::vec::Vec<u64>> {
            value.as_array()?.iter().map(|n| n.as_u64()).collect()
        };
        let table: std::vec::Vec<Frame> = json["frame_table"]
            .as_array()?
            .iter()
            .map(Frame::from_json)
            .collect();
        let mut sites = std::vec::Vec::new();
        for site in json["sites"].as_array()? {
            let lifetime = &site["lifetime_ns"];
            sites.push(Site {
                total: counts(&site["total"])?,
                max: counts(&site["max"])?,
                at_peak: counts(&site["at_peak"])?,
                at_end: counts(&site["at_end"])?,
                freed_blocks: number(&site["freed_blocks"])?,
                short_lived_blocks: number(&site["short_lived_blocks"])?,
                lifetimes: Lifetimes {
                    min_ns: number(&lifetime["min"]),
                    avg_ns: number(&lifetime["avg"]),
                    max_ns: number(&lifetime["max"]),
                },
                lifetime_total_ns: number(&lifetime["total"])?,
                frames: site["frames"]
                    .as_array()?
                    .iter()
                    .map(|index| table.get(usize::try_from(index.as_u64()?).ok()?).cloned())
                    .collect::<Option<_>>()?,
            });
        }
        let timeline = &json["timeline"];
        let mut series = std::vec::Vec::new();
        for entry in timeline["sites"].as_array()? {
            series.push(SiteSeries {
                site: usize::try_from(number(&entry["site"])?).ok()?,
                bytes: numbers(&entry["bytes"])?,
            });
        }
        let peak = &json["peak"];
        Some(Profile {
            command: json["command"].as_str()?.to_owned(),
            pid: u32::try_from(number(&json["pid"])?).ok()?,
            duration_ns: number(&json["duration_ns"])?,
            frames: usize::try_from(number(&json["frames"])?).ok()?,
            short_lived_ns: number(&json["short_lived_ns"])?,
            total: counts(&json["total"])?,
            peak: Peak {
                blocks: number(&peak["blocks"])?,
                bytes: number(&peak["bytes"])?,
                time_ns: number(&peak["time_ns"])?,
            },
            end: counts(&json["end"])?,
            sites,
            timeline: Timeline {
                time_ns: numbers(&timeline["time_ns"])?,
                bytes: numbers(&timeline["bytes"])?,
                blocks: numbers(&timeline["blocks"])?,
                sites: series,
            },
            unmatched_frees: number(&json["unmatched_frees"]).unwrap_or(0),
        })
    }

    /// The profile in DHAT's format (see [`dhat`]), for Valgrind's `dh_view.html`.
    pub fn to_dhat(&self) -> serde_json::Value {
        dhat::to_dhat(self)
    }

    /// Writes [`Profile::to_dhat`] to `path`.
    pub fn write_dhat(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        use std::io::Write;
        let _inside = InsideAllocator::enter();
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        dhat::write(self, &mut out)?;
        out.flush()
    }
}

/// The addresses that make a trace's first `frames` frames once symbolized: traces with the
/// same key are one site (with the module epoch, since addresses are reused after `dlclose`).
fn group_key(trace: crate::trace::TraceId, frames: usize) -> (u32, std::vec::Vec<usize>) {
    let raw = crate::trace::frames_of(trace);
    let addresses = raw.addresses();
    let skip = symbolize::plumbing_addresses(trace);
    let user = if skip >= addresses.len() {
        addresses
    } else {
        &addresses[skip..(skip + frames.max(1)).min(addresses.len())]
    };
    (crate::trace::epoch_of(trace), user.to_vec())
}

/// The recorder's sites that make one [`Site`], added up.
struct Group {
    trace: crate::trace::TraceId,
    site: Site,
    /// Lifetimes of freed blocks in ticks: sum, shortest, longest.
    lifetime: (u64, u64, u64),
    live_lifetime: u64,
}

impl Group {
    fn new(trace: crate::trace::TraceId) -> Group {
        Group {
            trace,
            site: Site::default(),
            lifetime: (0, u64::MAX, 0),
            live_lifetime: 0,
        }
    }

    /// Adds a recorder site. Totals, values at the peak and at the end add up exactly; the
    /// sites' own maxima may have been at different times, so their sum is an upper bound.
    fn add(&mut self, counters: &recorder::SiteCounters) {
        let add = |into: &mut Counts, (blocks, bytes): (u64, u64)| {
            into.blocks += blocks;
            into.bytes += bytes;
        };
        add(&mut self.site.total, counters.total);
        add(&mut self.site.max, counters.max);
        add(&mut self.site.at_peak, counters.at_peak);
        add(&mut self.site.at_end, counters.current);
        self.site.freed_blocks += counters.freed;
        self.site.short_lived_blocks += counters.short_lived;
        let (sum, min, max) = counters.lifetime;
        self.lifetime.0 = self.lifetime.0.saturating_add(sum);
        self.lifetime.1 = self.lifetime.1.min(min);
        self.lifetime.2 = self.lifetime.2.max(max);
        self.live_lifetime = self.live_lifetime.saturating_add(counters.live_lifetime);
    }
}
