//! Leak-checked closures on the global allocator: [`check`] and [`assert_no_leaks`] (Zig's
//! `std.testing.allocator`, for Rust code that allocates through `Box`, `Vec`, `String`...).
//!
//! # Use
//! Make a [`GeneralPurposeAllocator`] the test binary's
//! `#[global_allocator]`, then wrap each test body:
//!
//! ```no_run
//! use gpa::{Config, GeneralPurposeAllocator};
//!
//! #[global_allocator]
//! static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config::debug());
//!
//! gpa::testing::assert_no_leaks(|| {
//!     let words: Vec<String> = "a b c".split(' ').map(String::from).collect();
//!     assert_eq!(words.len(), 3);
//! });
//! ```
//!
//! # Design
//! * A **scope** is one run of a checked closure; it has a process-unique id (never reused).
//!   The running thread's scope id lives in a `const`-initialized thread-local without a
//!   destructor (reading it never allocates, even during thread exit). Scopes nest: an inner
//!   scope saves and restores the outer id.
//! * The leak checks see allocation events as an [`Observer`] of the GPA
//!   ([`crate::gpa::observer`]), registered for every instance while at least one scope runs
//!   and ended when the last one ends: while no check runs, an allocation pays only the GPA's
//!   one-branch observer gate. Of all instances, only events of the one that serves the global
//!   allocator count (it is recognized by the probe allocation each scope makes first); a GPA
//!   a test creates and uses through its `Allocator` handle reports its own leaks at `deinit`.
//! * A block allocated by a thread whose scope id is not 0 is **registered**: address →
//!   (scope id, size, allocation trace) in a registry of [`SHARDS`] mutex-protected hash maps
//!   chosen by address, so that parallel tests rarely contend. Observers run with the thread
//!   marked inside the allocator, so the registry's own memory comes from the GPA's internal
//!   heap: it is never registered itself and never raises events.
//! * A free from **any** thread removes the block's entry (a block handed to another thread and
//!   freed there is not a leak). A `realloc` keeps the block's status: a registered block stays
//!   registered (with its first allocation trace) at its new address; a block allocated outside
//!   any scope and grown inside one (libtest's output-capture buffer, a `Vec` created before the
//!   check) stays unregistered.
//! * When the closure returns, the entries still carrying its scope id are its leaks: they are
//!   removed from the registry, filtered (see below), grouped by allocation trace and rendered
//!   as a [`Report`] of [`FindingKind::Leak`] findings.
//! * Threads: a thread created inside the closure inherits its scope: the program's
//!   `pthread_create` is interposed (Linux with glibc, see `interpose`), or the thread is
//!   spawned with [`spawn`]. Blocks allocated by such a thread count for the scope.
//!
//! # Allocations std makes once for the whole process
//! Some std structures are created lazily by whichever code touches them first and live until
//! the process (or thread) ends: the stdout buffer, the current thread's handle, `OnceLock`
//! and `LazyLock` statics, thread-locals, the test harness's output-capture buffer (created
//! empty by libtest; the test's first `println!` allocates it). Two measures keep them out of
//! a scope's leaks:
//! 1. **Pre-warming**: before the scope starts, `stdout()`, `stderr()` and `thread::current()`
//!    are touched, so their allocations happen outside it.
//! 2. **Lazy-init filter**: at the end of a scope, the allocation trace of each remaining block
//!    is symbolized (cached per address), and a block is not counted when a frame belongs to
//!    std's printing or once-initialization machinery ([`LAZY_INIT_FUNCTIONS`]).
//!
//! Limits: the allocation trace holds at most [`TRACE_DEPTH`] + `trace::SKIP_BUDGET` (32)
//! frames, so a lazy initialization more than about 30 frames above the allocation is not
//! recognized and its block is reported (a false alarm). Conversely, whatever runs *under*
//! those functions is excused: a leak inside a `Display` impl called by `println!`, or inside
//! an `OnceLock`/`LazyLock`/thread-local initializer, is treated as process-lifetime data and
//! not reported. The filter needs symbols: a stripped test binary reports lazy allocations as
//! leaks. Traces are complete with or without frame pointers (`TraceMethod::Auto` unwinds when
//! the code has none). Blocks of sites marked as caches ([`crate::testing::mark_cache`]) are dropped
//! by the same filter. Without the filter, the first `println!` of a
//! test (18 KiB of capture buffer for 200 lines) is reported; `tests/leak_checked.rs` checks it
//! is not.
//!
//! # Threads: what is attributed and what is not
//! Attributed: blocks allocated inside the closure by its thread and by threads it spawns
//! (with inheritance, above) that are still live when it returns. Not attributed: blocks that
//! threads without the scope allocate (an existing thread pool's workers), even on the
//! closure's behalf.
//!
//! A thread that has finished its work is not gone yet: `std::thread::scope` returns when its
//! threads *signalled* completion, and they still drop their `Arc`s and run their TLS
//! destructors afterwards. The end of a scope therefore waits until every thread created
//! inside it has exited (at most `CHILD_EXIT_WAIT`, 2 s; threads still running then have
//! their live blocks reported). Where `pthread_create` is not interposed, spawn with
//! [`spawn`] and join the threads (`JoinHandle::join` waits for the exit). What a thread that outlives the check allocates
//! afterwards is registered under a finished scope and never reported (those stale entries
//! are harmless: scope ids are never reused). A long-lived pool whose threads are created
//! inside a check (lazily, on first use) inherits the scope: the check waits the full
//! `CHILD_EXIT_WAIT` and reports what those threads hold; start such pools before the check.
//!
//! # Cost
//! No scope anywhere: the GPA's observer gate (one relaxed load) per allocation, free and
//! realloc. Inside a scope: a
//! trace capture, a shard lock and a hash-map insertion per allocation, a lock and removal per
//! free. In another thread while some scope runs: a free takes the shard's lock only when the
//! shard holds entries (`examples/leak_check_overhead.rs` measures all three).
//!
//! # Invariants
//! * The observer is registered while any scope runs (`REGISTERED` counts them); every entry
//!   of a scope is removed when the scope ends (except the stale entries above).
//! * The observer runs with the thread inside the allocator: the registry's own allocations
//!   and frees go to the internal heap and raise no events.
//! * The GPA delivers a free event *before* the block is freed and an allocation event *after*
//!   it is
//!   allocated, so for one address the entry removal always precedes the next insertion.

use core::cell::Cell;
use core::hash::{BuildHasherDefault, Hasher};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use core::ptr::NonNull;

use crate::gpa::caches;
use crate::gpa::observer::{self, Observation, Observer};
use crate::gpa::{GeneralPurposeAllocator, InsideAllocator};
use crate::report::{self, symbolize, FindingKind, RawFinding, Report};
use crate::trace::{self, TraceId};

/// Frames of allocation trace kept per registered block (plus `trace::SKIP_BUDGET`).
///
/// Example: the [`testing`](crate::testing) module documentation.
pub const TRACE_DEPTH: usize = trace::MAX_FRAMES - trace::SKIP_BUDGET;
/// User frames shown per leak in a report.
///
/// Example: the [`testing`](crate::testing) module documentation.
pub const REPORT_DEPTH: usize = 10;
/// Registry shards (a power of two).
pub const SHARDS: usize = 64;

/// Functions (substrings of demangled names) whose presence in an allocation trace marks the
/// block as std's process- or thread-lifetime lazy initialization, not a leak.
///
/// Example: the [`testing`](crate::testing) module documentation.
pub const LAZY_INIT_FUNCTIONS: &[&str] = &[
    "std::io::stdio::print_to",
    "std::io::stdio::_print",
    "std::io::stdio::_eprint",
    "std::io::stdio::stdout",
    "std::io::stdio::stderr",
    "std::io::stdio::stdin",
    "std::thread::current",
    "std::sync::once_lock::OnceLock",
    "std::sync::lazy_lock::LazyLock",
    "std::sync::once::Once",
    "std::sys::sync::once",
    "std::sys::thread_local",
    "std::sys::pal::unix::stack_overflow",
    "std::panicking::default_hook",
];

/// The next scope id (0 means "no scope").
static NEXT_SCOPE: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The calling thread's scope id, 0 outside any checked closure.
    static SCOPE: Cell<u64> = const { Cell::new(0) };
}

#[inline(always)]
fn current_scope() -> u64 {
    SCOPE.with(Cell::get)
}

fn set_scope(id: u64) {
    SCOPE.with(|scope| scope.set(id));
}

// ---- the registry ----

#[derive(Clone, Copy, Debug)]
struct Entry {
    scope: u64,
    size: usize,
    trace: TraceId,
}

/// A hasher for block addresses: a multiply folded to 64 bits, so the always-zero low bits of
/// aligned addresses do not leave hash bits unused.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }

    fn write_u64(&mut self, value: u64) {
        let product = u128::from(value ^ self.0) * 0x9e37_79b9_7f4a_7c15;
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Map = HashMap<usize, Entry, BuildHasherDefault<AddressHasher>>;

/// One part of the registry. `live` mirrors the map's length (written under the lock), so a
/// free can skip the lock of an empty shard: a thread freeing a registered block received its
/// address after the insertion, so it cannot read a `live` older than that insertion.
#[repr(align(64))]
struct Shard {
    map: Mutex<Map>,
    live: AtomicUsize,
}

static REGISTRY: [Shard; SHARDS] = [const {
    Shard {
        map: Mutex::new(HashMap::with_hasher(BuildHasherDefault::new())),
        live: AtomicUsize::new(0),
    }
}; SHARDS];

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shard {
    /// The shard of `address`: bits above the 16-byte granule, mixed, top bits taken.
    fn of(address: usize) -> &'static Shard {
        let mixed = ((address >> 4) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        &REGISTRY[(mixed >> (64 - SHARDS.trailing_zeros())) as usize]
    }

    /// Inserts or replaces; the caller holds `InsideAllocator` (the map may grow).
    fn insert(&self, address: usize, entry: Entry) {
        let mut map = lock(&self.map);
        map.insert(address, entry);
        self.live.store(map.len(), Ordering::Relaxed);
    }

    /// Removes `address`'s entry (a removal never allocates or frees).
    fn remove(&self, address: usize) -> Option<Entry> {
        if self.live.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut map = lock(&self.map);
        let entry = map.remove(&address);
        self.live.store(map.len(), Ordering::Relaxed);
        entry
    }
}

fn is_registered(address: usize) -> bool {
    lock(&Shard::of(address).map).contains_key(&address)
}

/// Removes and returns every entry of `scope`.
fn drain(scope: u64) -> std::vec::Vec<(usize, Entry)> {
    let _inside = InsideAllocator::enter();
    let mut taken = std::vec::Vec::new();
    for shard in &REGISTRY {
        let mut map = lock(&shard.map);
        map.retain(|&address, entry| {
            if entry.scope == scope {
                taken.push((address, *entry));
                false
            } else {
                true
            }
        });
        shard.live.store(map.len(), Ordering::Relaxed);
    }
    taken
}

// ---- the observer (registered with every GPA while some scope runs) ----

/// The address of the GPA that serves the global allocator (learned from a scope's probe
/// allocation; 0 until then). Events of other instances (a GPA a test creates and uses
/// through its `Allocator` handle) are not a scope's business: their blocks are that
/// instance's to report at `deinit`.
static GLOBAL_GPA: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set while this thread allocates a scope's probe block.
    static PROBING: Cell<bool> = const { Cell::new(false) };
}

/// The leak checks' view of allocation events.
struct ScopeObserver;

static OBSERVER: ScopeObserver = ScopeObserver;

impl ScopeObserver {
    fn serves_global_allocator(gpa: &GeneralPurposeAllocator) -> bool {
        let address = gpa as *const GeneralPurposeAllocator as usize;
        if PROBING.with(Cell::get) {
            GLOBAL_GPA.store(address, Ordering::Relaxed);
        }
        GLOBAL_GPA.load(Ordering::Relaxed) == address
    }
}

impl Observer for ScopeObserver {
    fn on_alloc(
        &self,
        gpa: &GeneralPurposeAllocator,
        block: NonNull<u8>,
        size: usize,
        _align: usize,
        _trace: TraceId,
    ) {
        let scope = current_scope();
        if scope == 0 || !Self::serves_global_allocator(gpa) {
            return;
        }
        if !trace::thread_prepared() {
            // A thread the GPA never captured a trace on (traces off in its configuration).
            trace::prepare_thread();
        }
        let trace = trace::capture_id(TRACE_DEPTH, gpa.config().trace_method);
        let address = block.as_ptr() as usize;
        Shard::of(address).insert(address, Entry { scope, size, trace });
    }

    fn on_free(&self, _gpa: &GeneralPurposeAllocator, block: NonNull<u8>, _size: usize) {
        let address = block.as_ptr() as usize;
        Shard::of(address).remove(address);
    }

    /// Keeps the block's registration status: a registered block stays registered (with its
    /// first allocation trace) at its new address; an unregistered one stays unregistered.
    fn on_realloc(
        &self,
        _gpa: &GeneralPurposeAllocator,
        old: NonNull<u8>,
        new: NonNull<u8>,
        _old_size: usize,
        new_size: usize,
    ) {
        let (old, new) = (old.as_ptr() as usize, new.as_ptr() as usize);
        if let Some(entry) = Shard::of(old).remove(old) {
            let moved = Entry {
                size: new_size,
                ..entry
            };
            Shard::of(new).insert(new, moved);
        }
    }
}

/// The observer's registration, held while at least one scope runs (so that no allocation
/// pays for the observer while no check runs): (running scopes, registration).
static REGISTERED: Mutex<(usize, Option<Observation>)> = Mutex::new((0, None));

fn scope_started() {
    let mut registered = lock(&REGISTERED);
    if registered.0 == 0 {
        let observation = observer::observe_all(&OBSERVER, 0).unwrap_or_else(|full| {
            panic!("gpa::testing::check cannot observe the global allocator: {full}")
        });
        registered.1 = Some(observation);
    }
    registered.0 += 1;
}

fn scope_ended() {
    let mut registered = lock(&REGISTERED);
    registered.0 -= 1;
    if registered.0 == 0 {
        if let Some(observation) = registered.1.take() {
            observation.end();
        }
    }
}

// ---- scopes ----

/// One running scope; ending it (or unwinding through it) restores the outer scope.
struct Scope {
    id: u64,
    outer: u64,
}

impl Scope {
    fn begin() -> Scope {
        anchor_interposer();
        prewarm();
        let id = NEXT_SCOPE.fetch_add(1, Ordering::Relaxed);
        scope_started();
        let outer = current_scope();
        set_scope(id);
        let scope = Scope { id, outer };
        scope.probe();
        scope
    }

    /// Fails loudly when allocations do not reach the observer (the GPA is not the global
    /// allocator), instead of reporting every test as clean.
    fn probe(&self) {
        PROBING.with(|probing| probing.set(true));
        let probe = std::hint::black_box(std::boxed::Box::new(0x5c_u8));
        PROBING.with(|probing| probing.set(false));
        let seen = is_registered(&*probe as *const u8 as usize);
        drop(probe);
        // Unwinding drops `self`, which ends the scope.
        assert!(
            seen,
            "gpa::testing::check needs a GeneralPurposeAllocator as the #[global_allocator] \
             of this binary (allocations are not reaching it)"
        );
    }

    /// Ends the scope and returns its remaining blocks.
    fn end(self) -> std::vec::Vec<(usize, Entry)> {
        set_scope(self.outer);
        wait_for_children(self.id);
        let leaked = drain(self.id);
        scope_ended();
        core::mem::forget(self);
        leaked
    }
}

impl Drop for Scope {
    /// The closure panicked: no verdict, but the registry must not keep its entries.
    fn drop(&mut self) {
        set_scope(self.outer);
        wait_for_children(self.id);
        drop(drain(self.id));
        scope_ended();
    }
}

/// Touches std's lazily created process- and thread-wide structures before a scope starts.
fn prewarm() {
    let _ = std::io::stdout();
    let _ = std::io::stderr();
    let _ = std::thread::current();
    if !trace::thread_prepared() {
        // `pthread_getattr_np` may allocate: keep it on the internal heap.
        let _inside = InsideAllocator::enter();
        trace::prepare_thread();
    }
}

/// Runs `test` as a leak-checked scope and returns its result with the report of the blocks
/// it (and threads that inherited its scope) allocated and did not free. The result itself is
/// live when the check is made: a returned `Vec` or `String` counts as leaked, so return plain
/// data (or use [`check`]).
///
/// # Panics
/// When the binary's global allocator is not a
/// [`GeneralPurposeAllocator`]; a panic of `test` propagates
/// (without a verdict).
///
/// Example: the [`testing`](crate::testing) module documentation.
pub fn check_with<R>(test: impl FnOnce() -> R) -> (R, Report) {
    let scope = Scope::begin();
    let result = test();
    let leaked = scope.end();
    (result, leak_report(leaked))
}

/// Runs `test` as a leak-checked scope and reports what it left allocated (empty when
/// nothing). See [`check_with`] and the module documentation for what is attributed.
///
/// Example: the [`testing`](crate::testing) module documentation.
pub fn check(test: impl FnOnce()) -> Report {
    check_with(test).1
}

/// Runs `test` as a leak-checked scope and panics with the symbolized leak report when it left
/// blocks allocated. Returns `test`'s result (see [`check_with`] about returning owners).
///
/// Example: the [`testing`](crate::testing) module documentation.
#[track_caller]
pub fn assert_no_leaks<R>(test: impl FnOnce() -> R) -> R {
    let (result, report) = check_with(test);
    if !report.is_clean() {
        let (blocks, bytes) = report.leak_totals();
        panic!(
            "gpa::testing::assert_no_leaks: {blocks} leaked block(s), {bytes} byte(s)\n{report}"
        );
    }
    result
}

/// Whether the calling thread runs inside a leak-checked scope.
///
/// Example: the [`testing`](crate::testing) module documentation.
pub fn in_check() -> bool {
    current_scope() != 0
}

/// `std::thread::spawn`, with the new thread inheriting the caller's leak-check scope (what
/// every `std::thread` API does by itself where `pthread_create` is interposed: Linux with
/// glibc).
///
/// Example: the [`testing`](crate::testing) module documentation.
pub fn spawn<F, T>(f: F) -> std::thread::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let scope = current_scope();
    std::thread::spawn(move || {
        set_scope(scope);
        f()
    })
}

fn leak_report(leaked: std::vec::Vec<(usize, Entry)>) -> Report {
    if leaked.is_empty() {
        return Report::default();
    }
    let raw = {
        // Symbolization fills process-lifetime caches: keep them on the internal heap, out of
        // any enclosing scope.
        let _inside = InsideAllocator::enter();
        let mut groups: std::vec::Vec<RawFinding> = std::vec::Vec::new();
        for (address, entry) in leaked {
            if is_lazy_init(entry.trace) || caches::is_cache(entry.trace) {
                continue;
            }
            match groups
                .iter_mut()
                .find(|group| group.alloc_trace == entry.trace)
            {
                Some(group) if entry.trace.is_some() => {
                    group.count += 1;
                    group.size += entry.size;
                    group.address = group.address.min(address);
                }
                _ => {
                    let mut finding = RawFinding::new(FindingKind::Leak, address);
                    finding.size = entry.size;
                    finding.alloc_trace = entry.trace;
                    groups.push(finding);
                }
            }
        }
        groups.sort_by_key(|group| group.address);
        groups
    };
    Report {
        findings: raw
            .iter()
            .map(|finding| report::render(finding, REPORT_DEPTH))
            .collect(),
    }
}

/// Whether the allocation trace passes through std's lazy-initialization machinery.
fn is_lazy_init(id: TraceId) -> bool {
    symbolize::trace_mentions(id, |name| {
        LAZY_INIT_FUNCTIONS.iter().any(|lazy| name.contains(lazy))
    })
}

/// `pthread_create` interposition: threads created inside a scope inherit it, and the scope
/// waits for them to exit. On by default where it is safe: Linux with glibc.
///
/// The program's own definition of `pthread_create` (a hidden symbol, so never exported by a
/// shared library built from this crate) takes precedence over the C library's for every
/// caller linked into the program (std included); the real function is found with
/// `dlsym(RTLD_NEXT)`. A thread created outside any scope goes straight to the real function.
/// A thread created inside one gets a trampoline that sets its scope id before running the
/// original start routine; the small hand-off record is `malloc`ed and freed by the child.
///
/// A thread that finished its work is not yet gone: `std::thread::scope` returns once its
/// threads *signalled* completion, and they still drop their `Arc`s and run their TLS
/// destructors afterwards. So each scope counts the threads created inside it that have not
/// exited; the count drops in a pthread key destructor, which glibc runs after Rust's TLS
/// destructors (those are registered with `__cxa_thread_atexit_impl`). The end of a scope
/// waits (at most `CHILD_EXIT_WAIT`, 2 s) for its count to reach zero before collecting leaks.
#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    not(test)
))]
mod interpose {
    use core::ffi::{c_int, c_void};
    use core::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};
    use std::time::{Duration, Instant};

    use super::{current_scope, lock, set_scope};
    use crate::gpa::InsideAllocator;

    /// How long the end of a scope waits for threads created inside it to exit; a thread
    /// still running after that (detached and long-lived) has its live blocks reported.
    pub const CHILD_EXIT_WAIT: Duration = Duration::from_secs(2);

    type StartRoutine = extern "C" fn(*mut c_void) -> *mut c_void;
    type PthreadCreate = unsafe extern "C" fn(
        *mut libc::pthread_t,
        *const libc::pthread_attr_t,
        StartRoutine,
        *mut c_void,
    ) -> c_int;

    static REAL: AtomicUsize = AtomicUsize::new(0);
    /// The pthread key whose destructor reports a thread's exit, plus one (0: not made yet).
    static EXIT_KEY: AtomicUsize = AtomicUsize::new(0);
    /// (scope id, threads created in it that have not exited); its memory is internal.
    static RUNNING: Mutex<std::vec::Vec<(u64, usize)>> = Mutex::new(std::vec::Vec::new());
    static EXITED: Condvar = Condvar::new();

    #[repr(C)]
    struct HandOff {
        start: StartRoutine,
        argument: *mut c_void,
        scope: u64,
    }

    fn real() -> Option<PthreadCreate> {
        let mut address = REAL.load(Ordering::Acquire);
        if address == 0 {
            // dlsym may allocate (its error buffer): keep that off the user heap.
            let _inside = InsideAllocator::enter();
            // SAFETY: RTLD_NEXT with a NUL-terminated name is a valid dlsym query.
            address = unsafe { libc::dlsym(libc::RTLD_NEXT, c"pthread_create".as_ptr()) } as usize;
            REAL.store(address, Ordering::Release);
        }
        // SAFETY: a non-null result of that lookup is the C library's `pthread_create`, whose
        // signature is `PthreadCreate`.
        (address != 0).then(|| unsafe { core::mem::transmute::<usize, PthreadCreate>(address) })
    }

    fn exit_key() -> Option<libc::pthread_key_t> {
        let known = EXIT_KEY.load(Ordering::Acquire);
        if known != 0 {
            return Some((known - 1) as libc::pthread_key_t);
        }
        let mut key: libc::pthread_key_t = 0;
        // SAFETY: `key` is a valid out-pointer; `on_exit` has the destructor signature.
        if unsafe { libc::pthread_key_create(&mut key, Some(on_exit)) } != 0 {
            return None;
        }
        match EXIT_KEY.compare_exchange(0, key as usize + 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => Some(key),
            Err(winner) => {
                // SAFETY: our key was never published or used.
                unsafe { libc::pthread_key_delete(key) };
                Some((winner - 1) as libc::pthread_key_t)
            }
        }
    }

    fn count_child(scope: u64, delta: isize) {
        let _inside = InsideAllocator::enter();
        let mut running = lock(&RUNNING);
        match running.iter_mut().find(|(id, _)| *id == scope) {
            Some((_, count)) => *count = count.saturating_add_signed(delta),
            None if delta > 0 => running.push((scope, delta as usize)),
            None => {} // the scope stopped waiting for it
        }
        drop(running);
        if delta < 0 {
            EXITED.notify_all();
        }
    }

    /// Runs after the thread's Rust TLS destructors, as its last act.
    extern "C" fn on_exit(scope: *mut c_void) {
        count_child(scope as u64, -1);
    }

    /// Waits until the threads created in `scope` have exited (or [`CHILD_EXIT_WAIT`]).
    pub fn wait_for_children(scope: u64) {
        let deadline = Instant::now() + CHILD_EXIT_WAIT;
        let _inside = InsideAllocator::enter();
        let mut running = lock(&RUNNING);
        loop {
            let left = running
                .iter()
                .find(|(id, _)| *id == scope)
                .map_or(0, |(_, n)| *n);
            let now = Instant::now();
            if left == 0 || now >= deadline {
                running.retain(|(id, _)| *id != scope);
                return;
            }
            running = EXITED
                .wait_timeout(running, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    extern "C" fn trampoline(hand_off: *mut c_void) -> *mut c_void {
        // SAFETY: `hand_off` is the record `pthread_create` below malloc'ed and initialized,
        // handed to this thread only; it is read once and freed.
        let HandOff {
            start,
            argument,
            scope,
        } = unsafe { hand_off.cast::<HandOff>().read() };
        // SAFETY: allocated with `libc::malloc` below, not freed elsewhere.
        unsafe { libc::free(hand_off) };
        set_scope(scope);
        if let Some(key) = exit_key() {
            // SAFETY: a live key; the value is the scope id (never 0, so the destructor runs).
            unsafe { libc::pthread_setspecific(key, scope as *const c_void) };
        }
        start(argument)
    }

    /// Creates a thread (the C library's function), passing the caller's leak-check scope on:
    /// what the executable's `pthread_create` (below) jumps to.
    ///
    /// # Safety
    /// The contract of POSIX `pthread_create`.
    unsafe extern "C" fn interposed_pthread_create(
        thread: *mut libc::pthread_t,
        attributes: *const libc::pthread_attr_t,
        start: StartRoutine,
        argument: *mut c_void,
    ) -> c_int {
        let Some(real) = real() else {
            return libc::ENOSYS;
        };
        let scope = current_scope();
        if scope == 0 {
            // SAFETY: forwarded caller contract.
            return unsafe { real(thread, attributes, start, argument) };
        }
        // SAFETY: plain C allocation of a record of known size.
        let hand_off = unsafe { libc::malloc(core::mem::size_of::<HandOff>()) }.cast::<HandOff>();
        if hand_off.is_null() {
            return libc::EAGAIN;
        }
        // SAFETY: `hand_off` is a fresh, suitably aligned (malloc) block of the right size.
        unsafe {
            hand_off.write(HandOff {
                start,
                argument,
                scope,
            })
        };
        let counted = exit_key().is_some();
        if counted {
            count_child(scope, 1);
        }
        // SAFETY: forwarded caller contract; the trampoline owns `hand_off` once started.
        let result = unsafe { real(thread, attributes, trampoline, hand_off.cast()) };
        if result != 0 {
            // SAFETY: the thread was not created, so nobody else has the record.
            unsafe { libc::free(hand_off.cast()) };
            if counted {
                count_child(scope, -1);
            }
        }
        result
    }

    // `pthread_create` for the program this object is linked into: a jump to the interposer.
    // The symbol is hidden, so it binds the program's own calls (std's `thread::spawn`) at
    // link time and is never exported: a shared library built from this crate
    // (`libgpa_preload.so`) does not replace the C library's `pthread_create` of the programs
    // it is loaded into. The object holding it is only linked when `check` is (see `anchor`).
    #[cfg(target_arch = "x86_64")]
    core::arch::global_asm!(
        ".globl pthread_create",
        ".hidden pthread_create",
        ".type pthread_create, @function",
        "pthread_create:",
        "jmp {target}",
        ".size pthread_create, . - pthread_create",
        target = sym interposed_pthread_create,
    );
    #[cfg(target_arch = "aarch64")]
    core::arch::global_asm!(
        ".globl pthread_create",
        ".hidden pthread_create",
        ".type pthread_create, %function",
        "pthread_create:",
        "b {target}",
        ".size pthread_create, . - pthread_create",
        target = sym interposed_pthread_create,
    );

    extern "C" {
        /// The definition above.
        #[link_name = "pthread_create"]
        fn program_pthread_create(
            thread: *mut libc::pthread_t,
            attributes: *const libc::pthread_attr_t,
            start: StartRoutine,
            argument: *mut c_void,
        ) -> c_int;
    }

    /// Keeps the interposer linked in: referenced from `check`, so the object file holding it
    /// is taken from the library archive even though the symbol is otherwise only referenced by
    /// std, which the linker sees later.
    pub fn anchor() -> usize {
        program_pthread_create as *const () as usize
    }
}

#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    not(test)
))]
#[inline(never)]
fn anchor_interposer() {
    std::hint::black_box(interpose::anchor());
}
#[cfg(not(all(
    target_os = "linux",
    target_env = "gnu",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    not(test)
)))]
fn anchor_interposer() {}

#[cfg(all(
    target_os = "linux",
    target_env = "gnu",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    not(test)
))]
use interpose::wait_for_children;
/// Without the interposer, threads are only known through their `JoinHandle`s.
#[cfg(not(all(
    target_os = "linux",
    target_env = "gnu",
    any(target_arch = "x86_64", target_arch = "aarch64"),
    not(test)
)))]
fn wait_for_children(_scope: u64) {}
