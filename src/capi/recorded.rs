//! The lists of findings the `capi` modules keep (`libc_calls`, `family`, `guard`, the
//! faults of `exit`), which a signal handler may record into while its thread was recording
//! (or taking) one: recording never waits for a lock its own thread holds, and a thread
//! stopped for the exit's leak scan or copied by `fork` never holds it.
//!
//! # Design
//! Every list is guarded by one lock they share ([`LISTS`], the GPA's spin-then-yield
//! [`Lock`]): recording is rare (a mistake was found), so sharing costs nothing, and one lock
//! is what lets a scan or a `fork` hold every list at once ([`hold`], [`release`]). The exit's
//! leak scan stops the other threads for good while holding it, so none of them is stopped
//! in the middle of a recording, with the lock the exit then needs to take the lists; the
//! `pthread_atfork` handlers hold it across `fork`, so a child never inherits it locked by a
//! thread it does not have.
//!
//! A thread marks itself in a thread-local flag (`RECORDING`, async-signal-safe to read) for
//! as long as it works on any list. Code that finds the flag already set runs in a signal
//! handler that interrupted that work (an out-of-bounds `memcpy` in a `SIGALRM` handler while
//! the thread was reporting another): waiting for the lock could wait for the interrupted
//! code, which never resumes, so it only tries the lock, and adds the finding only when the
//! lock is free and the list has room without growing (the interrupted code may be inside the
//! internal heap). Otherwise the finding is counted as dropped; taking the list (at exit)
//! reports the dropped findings as one `InternalError` finding that gives their number. A
//! thread that records without being interrupted waits for the lock: other threads only ever
//! wait for each other, never for themselves.
//!
//! Lock order: [`LISTS`] before any lock of the GPA (a recording allocates from the internal
//! heap while holding it); nothing takes [`LISTS`] while holding one of the GPA's.
//!
//! # Invariants
//! * No thread waits for [`LISTS`] while its `RECORDING` flag was set before it came.
//! * The flag is set exactly while a thread works on a list (restored when the work ends).
//! * A list's vector is read or written only while [`LISTS`] is held.

use core::cell::{Cell, UnsafeCell};
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::gpa::lock::{Guard, Lock};
use crate::gpa::{finding_site, InsideAllocator, FINDINGS_KEPT_APART as KEPT_APART};
use crate::report::{FindingKind, RawFinding};

std::thread_local! {
    /// Whether the calling thread is working on one of the lists. A `const` `Cell<bool>`: no
    /// destructor to register, no allocation, and (the library's TLS being static, as its
    /// initial-exec variables make it) no allocation on first access either, so a signal
    /// handler may read it. It holds no pointer: a leak scan need not skip it.
    static RECORDING: Cell<bool> = const { Cell::new(false) };
}

/// The lock every list shares (see the module notes).
static LISTS: Lock<()> = Lock::new(());

/// Attempts at [`LISTS`] before a re-entered recording gives up (another thread may hold it
/// for a moment; the interrupted code on this thread would hold it for good).
const REENTERED_SPINS: u32 = 1 << 10;

/// The message of the finding that reports dropped findings; `{count}` is their number (the
/// finding's `size`).
pub const DROPPED: &str =
    "gpa left out {count} report(s) of bad accesses made in a signal handler \
     that interrupted gpa's own work on its thread (recording a finding, or allocating: waiting \
     there could never have returned); they may repeat findings reported here";

/// A list of findings (see the module notes).
pub struct FindingList {
    list: UnsafeCell<Vec<RawFinding>>,
    /// Findings a re-entered recording could not add.
    dropped: AtomicUsize,
}

// SAFETY: `list` is only reached while `LISTS` is held (module invariant).
unsafe impl Sync for FindingList {}

/// A list's vector, while [`LISTS`] is held.
struct Held<'a> {
    _lock: Guard<'a, ()>,
    list: &'a mut Vec<RawFinding>,
}

/// Marks the calling thread as recording while alive; restores the previous state.
struct Mark(bool);

impl Mark {
    fn set() -> Mark {
        Mark(RECORDING.replace(true))
    }
}

impl Drop for Mark {
    fn drop(&mut self) {
        RECORDING.set(self.0);
    }
}

/// Holds every list (before the exit's leak scan stops the other threads, and before `fork`):
/// no thread can be in the middle of a recording until [`release`]. A thread that is itself
/// recording (a signal handler interrupted it) only tries; `false` if the lock stays taken,
/// then there is nothing to release.
pub fn hold() -> bool {
    if RECORDING.get() {
        let held = LISTS.try_lock(REENTERED_SPINS).map(core::mem::forget);
        return held.is_some();
    }
    LISTS.acquire();
    true
}

/// Releases what [`hold`] took.
///
/// # Safety
/// [`hold`] returned `true` on this thread (or, in a `fork` child, on the thread that forked),
/// and nothing released it since.
pub unsafe fn release() {
    // SAFETY: caller contract: `hold` acquired the lock.
    unsafe { LISTS.release() };
}

std::thread_local! {
    /// Whether this thread's `fork` prepare handler holds the lists ([`hold_for_fork`]).
    static HELD_FOR_FORK: Cell<bool> = const { Cell::new(false) };
}

/// Before `fork` (the `pthread_atfork` prepare handler): holds every list, so that the child
/// does not inherit them locked by a thread it does not have.
pub fn hold_for_fork() {
    HELD_FOR_FORK.set(hold());
}

/// After `fork`, in the parent and in the child: releases what [`hold_for_fork`] took.
pub fn release_after_fork() {
    if HELD_FOR_FORK.replace(false) {
        // SAFETY: `hold_for_fork` took the lock on this thread (the child's only thread is
        // the forking thread's copy), and only this releases it.
        unsafe { release() };
    }
}

/// Whether `a` and `b` are findings of one site (the GPA's record's site, and the same call):
/// what a report groups by (Valgrind's error context).
fn same_site(a: &RawFinding, b: &RawFinding) -> bool {
    a.call == b.call && finding_site(a) == finding_site(b)
}

impl Default for FindingList {
    fn default() -> Self {
        Self::new()
    }
}

impl FindingList {
    /// An empty list.
    pub const fn new() -> Self {
        FindingList {
            list: UnsafeCell::new(Vec::new()),
            dropped: AtomicUsize::new(0),
        }
    }

    /// The list, locked: waited for when the thread was not already recording; else only
    /// tried (`None`: taken, by the interrupted code perhaps).
    fn lock(&self, reentered: bool) -> Option<Held<'_>> {
        let lock = if reentered {
            LISTS.try_lock(REENTERED_SPINS)?
        } else {
            LISTS.lock()
        };
        Some(Held {
            _lock: lock,
            // SAFETY: `LISTS` is held for as long as the `Held` lives, and every access to a
            // list goes through one (module invariant): this is the only reference.
            list: unsafe { &mut *self.list.get() },
        })
    }

    /// Records `finding`, unless the list holds one `same` says it repeats (then counted on
    /// that one when `count_repeats`). Once the list holds `limit` findings (at most
    /// [`KEPT_APART`]), a finding of a site already listed (kind, access, call, allocation
    /// and detection traces) is counted on that site's first finding (`count`, and
    /// `blocks_bytes`) instead of being listed: a loop that makes one mistake on a million
    /// blocks keeps one finding, and a later mistake at a new site is still listed. A
    /// re-entered call (a signal handler's) that cannot take the lock, or would have to grow
    /// the list, counts the finding as dropped instead.
    pub fn record(
        &self,
        finding: RawFinding,
        limit: usize,
        count_repeats: bool,
        same: impl Fn(&RawFinding, &RawFinding) -> bool,
    ) {
        let _inside = InsideAllocator::enter();
        let mark = Mark::set();
        let reentered = mark.0;
        let Some(held) = self.lock(reentered) else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let list = held.list;
        if let Some(seen) = list.iter_mut().find(|seen| same(seen, &finding)) {
            if count_repeats {
                seen.count += 1;
            }
            return;
        }
        if list.len() >= limit.min(KEPT_APART) {
            if let Some(site) = list.iter_mut().find(|seen| same_site(seen, &finding)) {
                site.blocks_bytes = site.bytes() + finding.bytes();
                site.count += finding.count;
                return;
            }
        }
        if reentered && list.len() == list.capacity() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            list.push(finding);
        }
    }

    /// Counts `finding` once more on the listed finding that `same` says it repeats: its
    /// `count`, and in `blocks_bytes` the bytes of the blocks it concerns, each block once as
    /// far as the listed finding's tells (a repeat on the listed finding's own block adds no
    /// bytes; one on another block adds that block's: a loop that reads one 64-byte block
    /// 1,000 times stays a finding of 64 bytes, one that reads 1,000 such blocks is one of
    /// 64,000). Never lists `finding` itself: `false`, nothing changed, when no listed finding
    /// is `same`, or when a re-entered call cannot take the lock (the repeat is then not
    /// counted; nothing is dropped, the site is listed).
    pub fn count_repeat(
        &self,
        finding: &RawFinding,
        same: impl Fn(&RawFinding, &RawFinding) -> bool,
    ) -> bool {
        let _inside = InsideAllocator::enter();
        let mark = Mark::set();
        let Some(held) = self.lock(mark.0) else {
            return false;
        };
        match held.list.iter_mut().find(|seen| same(seen, finding)) {
            Some(seen) => {
                let mut bytes = seen.bytes();
                if finding.address != seen.address {
                    bytes += finding.bytes();
                }
                seen.blocks_bytes = bytes;
                seen.count += finding.count;
                true
            }
            None => false,
        }
    }

    /// The findings recorded so far, taken (waiting for the lock), with one `InternalError`
    /// finding for the dropped ones, if any.
    pub fn take(&self) -> Vec<RawFinding> {
        let _inside = InsideAllocator::enter();
        let mark = Mark::set();
        let taken = self.lock(mark.0).map(|held| core::mem::take(held.list));
        self.with_dropped(taken.unwrap_or_default())
    }

    /// As [`Self::take`], but empty instead of waiting when the lock is taken (for a crash
    /// report: the interrupted thread may hold it).
    pub fn try_take(&self) -> Vec<RawFinding> {
        let _inside = InsideAllocator::enter();
        let _mark = Mark::set();
        let taken = self.lock(true).map(|held| core::mem::take(held.list));
        self.with_dropped(taken.unwrap_or_default())
    }

    /// Whether the calling thread is already working inside gpa (recording a finding, or
    /// any allocator operation, which may be capturing a trace): code that finds it so runs
    /// in a signal handler that interrupted that work, and must neither capture a trace (the
    /// unwinder's per-thread state is the interrupted capture's) nor wait for a lock.
    pub fn busy() -> bool {
        RECORDING.get() || crate::gpa::inside_allocator()
    }

    /// Counts a finding that could not be recorded (see [`Self::busy`]).
    pub fn drop_one(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    fn with_dropped(&self, mut findings: Vec<RawFinding>) -> Vec<RawFinding> {
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped != 0 {
            // The number goes in `size`: `count` would read as a number of blocks.
            let mut finding = RawFinding::new(FindingKind::InternalError, 0);
            finding.size = dropped;
            finding.call = Some(DROPPED);
            findings.push(finding);
        }
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    static LIST: FindingList = FindingList::new();

    extern "C" fn record_from_handler(_signal: i32) {
        LIST.record(
            RawFinding::new(FindingKind::Overflow, 2),
            16,
            false,
            |a, b| a.address == b.address,
        );
    }

    /// A signal handler that records while its thread holds the list's lock (deterministically:
    /// the comparison `record` runs under the lock raises the signal) does not wait for
    /// itself: its finding is counted as dropped, and the take reports the count.
    #[test]
    fn a_signal_handler_recording_during_a_recording_returns_and_is_counted() {
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            // SAFETY: installs a handler of the signature `signal` expects; SIGUSR2 is not used
            // elsewhere in these tests.
            unsafe { libc::signal(libc::SIGUSR2, record_from_handler as *const () as usize) };
            LIST.record(
                RawFinding::new(FindingKind::Overflow, 1),
                16,
                false,
                |_, _| false,
            );
            LIST.record(
                RawFinding::new(FindingKind::Overflow, 3),
                16,
                false,
                |_, _| {
                    // SAFETY: raises a signal whose handler is installed above, on this thread.
                    unsafe { libc::raise(libc::SIGUSR2) };
                    false
                },
            );
            let _ = done.send(LIST.take());
        });
        let findings = finished
            .recv_timeout(Duration::from_secs(20))
            .expect("recording from a signal handler hung");
        let addresses: Vec<usize> = findings.iter().map(|finding| finding.address).collect();
        // The list (two findings) and the note of the one dropped.
        assert_eq!(addresses, [1, 3, 0], "{addresses:?}");
        let note = &findings[2];
        assert_eq!(note.kind, FindingKind::InternalError);
        assert_eq!(note.size, 1);
        assert_eq!(note.call, Some(DROPPED));
    }

    /// Past its limit a list counts a known site's findings on that site's first finding
    /// (blocks and bytes exact) and still lists a finding of a new site.
    #[test]
    fn past_the_limit_repeats_are_counted_on_their_site_and_new_sites_listed() {
        let list = FindingList::new();
        let finding = |address: usize, size: usize, site: u32| {
            let mut finding = RawFinding::new(FindingKind::Overflow, address);
            finding.size = size;
            finding.alloc_trace = crate::trace::TraceId(site);
            finding.site_trace = crate::trace::TraceId(site + 1);
            finding.call = Some("memset");
            finding
        };
        let same_block = |a: &RawFinding, b: &RawFinding| a.address == b.address;
        for block in 0..4 {
            list.record(finding(0x1000 + block * 16, 8, 1), 4, false, same_block);
        }
        for block in 4..100 {
            list.record(finding(0x1000 + block * 16, 12, 1), 4, false, same_block);
        }
        // A repeat on a listed block is still one finding (this list does not count them).
        list.record(finding(0x1000, 8, 1), 4, false, same_block);
        list.record(finding(0x9000, 4, 7), 4, false, same_block);
        let taken = list.take();
        assert_eq!(taken.len(), 5);
        assert_eq!((taken[0].count, taken[0].bytes()), (97, 8 + 96 * 12));
        assert!(taken[1..4].iter().all(|f| f.count == 1 && f.bytes() == 8));
        assert_eq!((taken[4].address, taken[4].count), (0x9000, 1));
    }

    /// While the lists are held (the exit's scan stopping threads, a `fork`), another
    /// thread's recording waits, and goes on once they are released.
    #[test]
    fn a_recording_waits_while_the_lists_are_held() {
        static HELD_LIST: FindingList = FindingList::new();
        assert!(hold());
        let (done, finished) = mpsc::channel();
        let recorder = std::thread::spawn(move || {
            HELD_LIST.record(
                RawFinding::new(FindingKind::Overflow, 5),
                16,
                false,
                |_, _| false,
            );
            let _ = done.send(());
        });
        assert!(finished.recv_timeout(Duration::from_millis(100)).is_err());
        // SAFETY: `hold` returned true on this thread above.
        unsafe { release() };
        finished
            .recv_timeout(Duration::from_secs(60))
            .expect("the recording goes on after the release");
        recorder.join().unwrap();
        let taken = HELD_LIST.take();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].address, 5);
    }
}
