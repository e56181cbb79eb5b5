//! The heap profiler's Rust API on GPA instances: exact counters per site (totals, the site's
//! maximum, the global peak, the end), lifetimes, reallocations, threads freeing each other's
//! blocks, the timeline's bound, and both output forms (gpa's JSON, DHAT's).

use core::alloc::Layout;
use std::ptr::NonNull;

use gpa::profile::{self, Counts, Options, Profile, Site, Target};
use gpa::{Config, GeneralPurposeAllocator, RawAllocator};

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

#[inline(never)]
fn site_a(gpa: &GeneralPurposeAllocator) -> NonNull<u8> {
    std::hint::black_box(gpa.alloc(layout(100)).unwrap())
}

#[inline(never)]
fn site_b(gpa: &GeneralPurposeAllocator) -> NonNull<u8> {
    std::hint::black_box(gpa.alloc(layout(5000)).unwrap())
}

#[inline(never)]
fn site_c(gpa: &GeneralPurposeAllocator) -> NonNull<u8> {
    std::hint::black_box(gpa.alloc(layout(200)).unwrap())
}

/// The site whose trace names `function`.
fn site<'p>(profile: &'p Profile, function: &str) -> &'p Site {
    let found: Vec<&Site> = profile
        .sites
        .iter()
        .filter(|site| {
            site.frames
                .first()
                .and_then(|frame| frame.function.as_deref())
                .is_some_and(|name| name.contains(function))
        })
        .collect();
    assert_eq!(found.len(), 1, "sites of {function}: {:#?}", profile.sites);
    found[0]
}

fn counts(blocks: u64, bytes: u64) -> Counts {
    Counts { blocks, bytes }
}

#[test]
fn counters_per_site_are_exact() {
    let gpa = GeneralPurposeAllocator::with_config(Config::fast());
    let profiler = profile::start(&gpa).unwrap();
    // Trip counts through `black_box`: a release build cannot unroll the loops into several
    // call sites (several return addresses, so several sites of one function).
    let a: Vec<NonNull<u8>> = (0..core::hint::black_box(10))
        .map(|_| site_a(&gpa))
        .collect();
    let b = site_b(&gpa);
    // SAFETY: each block is live and freed once with its layout.
    unsafe { gpa.free(b, layout(5000)) };
    let c: Vec<NonNull<u8>> = (0..core::hint::black_box(3))
        .map(|_| site_c(&gpa))
        .collect();
    for &block in &a[..5] {
        // SAFETY: as above.
        unsafe { gpa.free(block, layout(100)) };
    }
    let profile = profiler.stop();

    assert_eq!(profile.total, counts(14, 6600));
    assert_eq!((profile.peak.blocks, profile.peak.bytes), (11, 6000));
    assert_eq!(profile.end, counts(8, 1100));
    assert_eq!(profile.unmatched_frees, 0);
    assert!(profile.peak.time_ns <= profile.duration_ns);

    let a_site = site(&profile, "site_a");
    assert_eq!(a_site.total, counts(10, 1000));
    assert_eq!(a_site.max, counts(10, 1000));
    assert_eq!(a_site.at_peak, counts(10, 1000));
    assert_eq!(a_site.at_end, counts(5, 500));
    assert_eq!(a_site.freed_blocks, 5);
    let b_site = site(&profile, "site_b");
    assert_eq!(b_site.total, counts(1, 5000));
    assert_eq!(b_site.at_peak, counts(1, 5000));
    assert_eq!(b_site.at_end, counts(0, 0));
    let c_site = site(&profile, "site_c");
    assert_eq!(c_site.at_peak, counts(0, 0));
    assert_eq!(c_site.max, counts(3, 600));
    assert_eq!(c_site.at_end, counts(3, 600));
    // Sites come most bytes at the peak first.
    assert!(profile.sites[0].frames[0]
        .function
        .as_deref()
        .unwrap()
        .contains("site_b"));

    for block in a[5..].iter().chain(&c) {
        let size = if c.contains(block) { 200 } else { 100 };
        // SAFETY: live blocks, freed once.
        unsafe { gpa.free(*block, layout(size)) };
    }
}

#[inline(never)]
fn grows(gpa: &GeneralPurposeAllocator) -> *mut u8 {
    use core::alloc::GlobalAlloc;
    // SAFETY: a valid layout; the block is live when reallocated.
    unsafe {
        let block = GlobalAlloc::alloc(gpa, layout(100));
        std::hint::black_box(GlobalAlloc::realloc(gpa, block, layout(100), 70_000))
    }
}

#[test]
fn a_reallocation_keeps_its_site_and_counts_as_a_block() {
    let gpa = GeneralPurposeAllocator::with_config(Config::fast());
    let profiler = profile::start(&gpa).unwrap();
    let block = grows(&gpa);
    let profile = profiler.snapshot();
    let grown = site(&profile, "grows");
    // DHAT's rule: a reallocation is one more block of its new size; live bytes follow.
    assert_eq!(grown.total, counts(2, 70_100));
    assert_eq!(grown.max, counts(1, 70_000));
    assert_eq!(grown.at_end, counts(1, 70_000));
    assert_eq!(profile.end, counts(1, 70_000));
    assert_eq!(profile.total, counts(2, 70_100));
    // SAFETY: live, freed once.
    unsafe { gpa.free(NonNull::new(block).unwrap(), layout(70_000)) };
    let profile = profiler.stop();
    assert_eq!(profile.end, counts(0, 0));
    assert_eq!(site(&profile, "grows").freed_blocks, 1);
    assert_eq!(profile.unmatched_frees, 0);
}

#[test]
fn lifetimes_are_measured() {
    let gpa = GeneralPurposeAllocator::with_config(Config::fast());
    let options = Options {
        short_lived: std::time::Duration::from_millis(2),
        ..Options::default()
    };
    let profiler = profile::start_with(Target::Instance(&gpa), options).unwrap();
    let quick = site_a(&gpa);
    // SAFETY: live, freed once.
    unsafe { gpa.free(quick, layout(100)) };
    let slow = site_b(&gpa);
    std::thread::sleep(std::time::Duration::from_millis(20));
    // SAFETY: live, freed once.
    unsafe { gpa.free(slow, layout(5000)) };
    let kept = site_c(&gpa);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let profile = profiler.stop();
    let quick = site(&profile, "site_a");
    assert_eq!(quick.short_lived_blocks, 1);
    assert!(quick.lifetimes.max_ns.unwrap() < 2_000_000, "{quick:?}");
    let slow = site(&profile, "site_b");
    assert_eq!(slow.short_lived_blocks, 0);
    assert!(slow.lifetimes.min_ns.unwrap() >= 20_000_000, "{slow:?}");
    assert_eq!(slow.lifetimes.min_ns, slow.lifetimes.max_ns);
    assert_eq!(slow.lifetimes.avg_ns, slow.lifetimes.min_ns);
    // A block still live counts up to the end in the total (DHAT's `tl`), not in min/max.
    let kept_site = site(&profile, "site_c");
    assert_eq!(kept_site.lifetimes.min_ns, None);
    assert!(kept_site.lifetime_total_ns >= 5_000_000);
    assert!(profile.duration_ns >= 25_000_000);
    // SAFETY: live, freed once.
    unsafe { gpa.free(kept, layout(200)) };
}

#[test]
fn blocks_freed_by_other_threads_are_matched() {
    let gpa: &'static GeneralPurposeAllocator = Box::leak(Box::new(
        GeneralPurposeAllocator::with_config(Config::fast()),
    ));
    let profiler = profile::start(gpa).unwrap();
    const THREADS: usize = 4;
    const BLOCKS: usize = 20_000;
    let (send, receive) = std::sync::mpsc::channel::<Vec<usize>>();
    let receive = std::sync::Arc::new(std::sync::Mutex::new(receive));
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            let send = send.clone();
            scope.spawn(move || {
                let blocks: Vec<usize> =
                    (0..BLOCKS).map(|_| site_a(gpa).as_ptr() as usize).collect();
                send.send(blocks).unwrap();
            });
        }
        for _ in 0..THREADS {
            let receive = receive.clone();
            scope.spawn(move || {
                let blocks = receive.lock().unwrap().recv().unwrap();
                for address in blocks {
                    // SAFETY: a live block of `site_a`, freed once, on another thread.
                    unsafe { gpa.free(NonNull::new(address as *mut u8).unwrap(), layout(100)) };
                }
            });
        }
    });
    let profile = profiler.stop();
    let n = (THREADS * BLOCKS) as u64;
    assert_eq!(profile.total, counts(n, n * 100));
    assert_eq!(profile.end, counts(0, 0));
    assert_eq!(profile.unmatched_frees, 0);
    assert_eq!(site(&profile, "site_a").freed_blocks, n);
}

#[test]
fn blocks_from_before_the_profile_are_not_counted() {
    let gpa = GeneralPurposeAllocator::with_config(Config::fast());
    let early = site_a(&gpa);
    let profiler = profile::start(&gpa).unwrap();
    // SAFETY: live, freed once.
    unsafe { gpa.free(early, layout(100)) };
    let profile = profiler.stop();
    assert_eq!(profile.total, counts(0, 0));
    assert_eq!(profile.unmatched_frees, 1);
    assert!(profile.sites.is_empty());
}

#[test]
fn many_allocations_keep_the_profile_bounded() {
    let gpa = GeneralPurposeAllocator::with_config(Config::fast());
    let profiler = profile::start(&gpa).unwrap();
    let mut live: Vec<(NonNull<u8>, usize)> = Vec::new();
    for round in 0..400_000usize {
        live.push((site_a(&gpa), 100));
        if round % 3 == 0 {
            live.push((site_c(&gpa), 200));
        }
        if live.len() > 1000 {
            for (block, size) in live.drain(..500) {
                // SAFETY: live blocks, freed once with their layouts.
                unsafe { gpa.free(block, layout(size)) };
            }
        }
    }
    let profile = profiler.snapshot();
    let timeline = &profile.timeline;
    assert!(
        timeline.time_ns.len() <= profile::MAX_SAMPLES + 1,
        "{} samples",
        timeline.time_ns.len()
    );
    assert!(timeline.time_ns.windows(2).all(|pair| pair[0] <= pair[1]));
    assert_eq!(timeline.bytes.len(), timeline.time_ns.len());
    assert_eq!(timeline.sites.len(), 2);
    assert!(timeline
        .bytes
        .iter()
        .all(|&bytes| bytes <= profile.peak.bytes));
    let json = profile.to_json().to_string();
    assert!(json.len() < 200_000, "{} bytes of JSON", json.len());
    for (block, size) in live {
        // SAFETY: live blocks, freed once with their layouts.
        unsafe { gpa.free(block, layout(size)) };
    }
    drop(profiler);
}

#[test]
fn json_round_trips_and_dhat_has_every_field_the_viewer_checks() {
    let gpa = GeneralPurposeAllocator::with_config(Config::fast());
    let profiler = profile::start(&gpa).unwrap();
    let kept = site_a(&gpa);
    let gone = site_b(&gpa);
    // SAFETY: live, freed once.
    unsafe { gpa.free(gone, layout(5000)) };
    let profile = profiler.stop();
    assert_eq!(
        Profile::from_json(&profile.to_json()),
        Some(profile.clone())
    );

    let dhat = profile.to_dhat();
    for field in [
        "dhatFileVersion",
        "mode",
        "verb",
        "bklt",
        "bkacc",
        "tu",
        "Mtu",
        "cmd",
        "pid",
        "te",
        "pps",
        "ftbl",
        "tg",
        "tuth",
    ] {
        assert!(dhat.get(field).is_some(), "missing {field}");
    }
    assert_eq!(dhat["dhatFileVersion"], 2);
    assert_eq!(dhat["mode"], "heap");
    let pps = dhat["pps"].as_array().unwrap();
    assert_eq!(pps.len(), 2);
    let total: u64 = pps.iter().map(|pp| pp["tb"].as_u64().unwrap()).sum();
    assert_eq!(total, 5100);
    let table = dhat["ftbl"].as_array().unwrap();
    assert_eq!(table[0], "[root]");
    for pp in pps {
        for field in [
            "tb", "tbk", "tl", "mb", "mbk", "gb", "gbk", "eb", "ebk", "fs",
        ] {
            assert!(pp.get(field).is_some(), "pp misses {field}");
        }
        let first = pp["fs"][0].as_u64().unwrap() as usize;
        let text = table[first].as_str().unwrap();
        assert!(
            text.contains("site_a") || text.contains("site_b"),
            "first frame {text}"
        );
        assert!(text.contains("tests/profile.rs:"), "{text}");
    }
    // SAFETY: live, freed once.
    unsafe { gpa.free(kept, layout(100)) };
}

#[inline(never)]
fn churn_small(gpa: &GeneralPurposeAllocator, i: usize) -> NonNull<u8> {
    std::hint::black_box(gpa.alloc(layout(16 + i % 48)).unwrap())
}

#[inline(never)]
fn churn_medium(gpa: &GeneralPurposeAllocator, i: usize) -> NonNull<u8> {
    std::hint::black_box(gpa.alloc(layout(256 + i % 512)).unwrap())
}

#[test]
fn ten_million_allocations_give_a_bounded_profile() {
    const ALLOCATIONS: usize = 10_000_000;
    let gpa = GeneralPurposeAllocator::with_config(Config::fast());
    let profiler = profile::start(&gpa).unwrap();
    let mut slots: Vec<Option<(NonNull<u8>, usize)>> = vec![None; 4096];
    let mut state = 88172645463325252u64;
    for i in 0..ALLOCATIONS {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let slot = (state % 4096) as usize;
        if let Some((block, size)) = slots[slot].take() {
            // SAFETY: a live block, freed once with its layout.
            unsafe { gpa.free(block, layout(size)) };
        }
        slots[slot] = Some(if (state >> 20) % 8 == 0 {
            (churn_medium(&gpa, i), 256 + i % 512)
        } else {
            (churn_small(&gpa, i), 16 + i % 48)
        });
    }
    for (block, size) in slots.into_iter().flatten() {
        // SAFETY: as above.
        unsafe { gpa.free(block, layout(size)) };
    }
    let profile = profiler.stop();
    assert_eq!(profile.total.blocks, ALLOCATIONS as u64);
    assert_eq!(profile.end, counts(0, 0));
    assert_eq!(profile.sites.len(), 2, "{:#?}", profile.sites);
    assert!(profile.timeline.time_ns.len() <= profile::MAX_SAMPLES + 1);
    let dhat = profile.to_dhat().to_string();
    let json = profile.to_json().to_string();
    assert!(dhat.len() < 5_000, "DHAT: {} bytes", dhat.len());
    assert!(json.len() < 150_000, "JSON: {} bytes", json.len());
}
