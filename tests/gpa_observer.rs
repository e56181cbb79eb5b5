//! The GPA's observer hook: events from every entry point, per instance and for every
//! instance, with traces when asked, none after the registration ends or the GPA is torn down.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use gpa::observer::TraceId;
use gpa::observer::{self, Observer, MAX_OBSERVATIONS};
use gpa::{Config, GeneralPurposeAllocator, OnError, RawAllocator};

/// Records every event as text, and the bytes live according to the events.
struct Recorder {
    events: Mutex<Vec<String>>,
    live: AtomicUsize,
    traced: AtomicUsize,
}

impl Recorder {
    const fn new() -> Self {
        Recorder {
            events: Mutex::new(Vec::new()),
            live: AtomicUsize::new(0),
            traced: AtomicUsize::new(0),
        }
    }

    fn take(&self) -> Vec<String> {
        core::mem::take(&mut *self.events.lock().unwrap())
    }
}

impl Observer for Recorder {
    fn on_alloc(
        &self,
        _gpa: &GeneralPurposeAllocator,
        _ptr: NonNull<u8>,
        size: usize,
        align: usize,
        trace: TraceId,
    ) {
        self.live.fetch_add(size, Ordering::Relaxed);
        if trace.is_some() {
            self.traced.fetch_add(1, Ordering::Relaxed);
        }
        // The observer runs inside the allocator: this push allocates from the internal heap.
        self.events
            .lock()
            .unwrap()
            .push(format!("alloc {size} {align}"));
    }

    fn on_free(&self, _gpa: &GeneralPurposeAllocator, _ptr: NonNull<u8>, size: usize) {
        self.live.fetch_sub(size, Ordering::Relaxed);
        self.events.lock().unwrap().push(format!("free {size}"));
    }

    fn on_realloc(
        &self,
        _gpa: &GeneralPurposeAllocator,
        old: NonNull<u8>,
        new: NonNull<u8>,
        old_size: usize,
        new_size: usize,
    ) {
        self.live.fetch_add(new_size, Ordering::Relaxed);
        self.live.fetch_sub(old_size, Ordering::Relaxed);
        let how = if old == new { "in place" } else { "moved" };
        self.events
            .lock()
            .unwrap()
            .push(format!("realloc {old_size} {new_size} {how}"));
    }
}

/// The tests of this binary share the process's registration slots; one of them fills them.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn recorded() -> GeneralPurposeAllocator {
    GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..Config::debug()
    })
}

#[test]
fn every_entry_point_reports_to_an_instance_observer() {
    static SEEN: Recorder = Recorder::new();
    let _serial = serial();
    let mut gpa = recorded();
    let observation = gpa.observe(&SEEN, 0).unwrap();
    let small = Layout::from_size_align(24, 8).unwrap();
    // SAFETY: each block is used with the layout it was allocated with, and freed once.
    unsafe {
        let a = GlobalAlloc::alloc(&gpa, small);
        let a = GlobalAlloc::realloc(&gpa, a, small, 4000);
        GlobalAlloc::dealloc(&gpa, a, Layout::from_size_align(4000, 8).unwrap());
        let b = RawAllocator::alloc(&gpa, Layout::from_size_align(300_000, 16).unwrap()).unwrap();
        let b_layout = Layout::from_size_align(300_000, 16).unwrap();
        assert!(RawAllocator::resize(&gpa, b, b_layout, 200_000));
        let b_layout = Layout::from_size_align(200_000, 16).unwrap();
        let c = RawAllocator::remap(&gpa, b, b_layout, 900_000).unwrap();
        RawAllocator::free(&gpa, c, Layout::from_size_align(900_000, 16).unwrap());
        let d = gpa.allocator().alloc::<u32>(10).unwrap();
        gpa.allocator().free(d);
        let e = GlobalAlloc::alloc_zeroed(&gpa, small);
        gpa.free_unsized(e);
    }
    let events: Vec<String> = SEEN
        .take()
        .into_iter()
        // Whether a large mapping grows in place depends on the neighbouring mappings.
        .map(|e| e.replace("900000 in place", "900000 moved"))
        .collect();
    assert_eq!(
        events,
        [
            "alloc 24 8",
            "realloc 24 4000 moved",
            "free 4000",
            "alloc 300000 16",
            "realloc 300000 200000 in place",
            "realloc 200000 900000 moved",
            "free 900000",
            "alloc 40 4",
            "free 40",
            "alloc 24 8",
            "free 24",
        ]
    );
    assert_eq!(SEEN.live.load(Ordering::Relaxed), 0);
    observation.end();
    let after = gpa.allocator().alloc::<u8>(8).unwrap();
    // SAFETY: a live block of this GPA, freed once.
    unsafe { gpa.allocator().free(after) };
    assert!(
        SEEN.take().is_empty(),
        "events after the registration ended"
    );
    assert_eq!(gpa.deinit(), gpa::Check::Ok);
}

#[test]
fn another_instance_is_not_observed_and_teardown_ends_the_registration() {
    static SEEN: Recorder = Recorder::new();
    let _serial = serial();
    let mut watched = recorded();
    let mut other = recorded();
    let _observation = watched.observe(&SEEN, 0).unwrap();
    let block = other.allocator().alloc::<u8>(100).unwrap();
    // SAFETY: a live block of this GPA, freed once.
    unsafe { other.allocator().free(block) };
    assert!(SEEN.take().is_empty());
    let leaked = watched.allocator().alloc::<u8>(100).unwrap();
    assert_eq!(SEEN.take(), ["alloc 100 1"]);
    let _ = leaked;
    assert_eq!(watched.deinit(), gpa::Check::Leak);
    assert_eq!(watched.take_report().leak_totals(), (1, 100));
    // After `deinit` the GPA is a fresh instance: the registration is gone.
    let block = watched.allocator().alloc::<u8>(100).unwrap();
    // SAFETY: a live block of this GPA, freed once.
    unsafe { watched.allocator().free(block) };
    assert!(SEEN.take().is_empty(), "events after deinit");
    assert_eq!(watched.deinit(), gpa::Check::Ok);
    assert_eq!(other.deinit(), gpa::Check::Ok);
}

#[test]
fn traces_are_captured_once_when_asked_for() {
    static SEEN: Recorder = Recorder::new();
    let _serial = serial();
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..Config::fast()
    });
    let observation = gpa.observe(&SEEN, 8).unwrap();
    for _ in 0..10 {
        let block = gpa.allocator().alloc::<u8>(64).unwrap();
        // SAFETY: a live block of this GPA, freed once.
        unsafe { gpa.allocator().free(block) };
    }
    observation.end();
    assert_eq!(SEEN.traced.load(Ordering::Relaxed), 10);
    assert_eq!(gpa.deinit(), gpa::Check::Ok);
}

#[test]
fn observe_all_sees_every_instance_and_registrations_are_bounded() {
    static SEEN: Recorder = Recorder::new();
    let _serial = serial();
    let mut gpa = recorded();
    let everything = observer::observe_all(&SEEN, 0).unwrap();
    let block = gpa.allocator().alloc::<u8>(7).unwrap();
    // SAFETY: a live block of this GPA, freed once.
    unsafe { gpa.allocator().free(block) };
    everything.end();
    let mine: Vec<String> = SEEN
        .take()
        .into_iter()
        .filter(|e| e == "alloc 7 1" || e == "free 7")
        .collect();
    // Other tests' instances may run meanwhile; this instance's two events are there.
    assert_eq!(mine, ["alloc 7 1", "free 7"]);

    // Registrations are bounded, and ending one frees its place.
    static QUIET: Recorder = Recorder::new();
    let mut held = Vec::new();
    let full = loop {
        match gpa.observe(&QUIET, 0) {
            Ok(observation) => held.push(observation),
            Err(full) => break full,
        }
        assert!(held.len() <= MAX_OBSERVATIONS);
    };
    assert!(full.to_string().contains("at most"), "{full}");
    held.pop().unwrap().end();
    held.push(gpa.observe(&QUIET, 0).unwrap());
    for observation in held {
        observation.end();
    }
    assert_eq!(gpa.deinit(), gpa::Check::Ok);
}
