//! The lists of findings the `capi` modules keep (`libc_calls`, `family`, `guard`), which a
//! signal handler may record into while its thread was recording (or taking) one: recording
//! never waits for a lock its own thread holds.
//!
//! # Design
//! A list is a `Mutex<Vec<RawFinding>>`. A thread marks itself in a thread-local flag
//! (`RECORDING`, async-signal-safe to read) for as long as it works on any list.
//! Code that finds the flag already set runs in a signal handler that interrupted that work
//! (an out-of-bounds `memcpy` in a `SIGALRM` handler while the thread was reporting another):
//! waiting for the lock could wait for the interrupted code, which never resumes, so it only
//! tries the lock, and adds the finding only when the lock is free and the list has room
//! without growing (the interrupted code may be inside the internal heap). Otherwise the
//! finding is counted as dropped; taking the list (at exit) reports the dropped findings as one
//! `InternalError` finding that gives their number. A thread that records without being
//! interrupted takes the lock as any `Mutex` user does: other threads only ever wait for each
//! other, never for themselves.
//!
//! # Invariants
//! * No thread waits for a list's lock while its `RECORDING` flag was set before it came.
//! * The flag is set exactly while a thread works on a list (restored when the work ends).

use core::cell::Cell;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

use crate::gpa::InsideAllocator;
use crate::report::{FindingKind, RawFinding};

std::thread_local! {
    /// Whether the calling thread is working on one of the lists. A `const` `Cell<bool>`: no
    /// destructor to register, no allocation, and (the library's TLS being static, as its
    /// initial-exec variables make it) no allocation on first access either, so a signal
    /// handler may read it. It holds no pointer: a leak scan need not skip it.
    static RECORDING: Cell<bool> = const { Cell::new(false) };
}

/// The message of the finding that reports dropped findings; `{count}` is their number (the
/// finding's `size`).
pub const DROPPED: &str =
    "gpa left out {count} report(s) of bad accesses made in a signal handler \
     that interrupted gpa's own work on its thread (recording a finding, or allocating: waiting \
     there could never have returned); they may repeat findings reported here";

/// A list of findings (see the module notes).
pub struct FindingList {
    list: Mutex<Vec<RawFinding>>,
    /// Findings a re-entered recording could not add.
    dropped: AtomicUsize,
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

impl Default for FindingList {
    fn default() -> Self {
        Self::new()
    }
}

impl FindingList {
    /// An empty list.
    pub const fn new() -> Self {
        FindingList {
            list: Mutex::new(Vec::new()),
            dropped: AtomicUsize::new(0),
        }
    }

    /// The list's guard: waited for when the thread was not already recording; else only
    /// tried (`None`: taken, by the interrupted code perhaps).
    fn lock(&self, reentered: bool) -> Option<MutexGuard<'_, Vec<RawFinding>>> {
        if !reentered {
            return Some(
                self.list
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            );
        }
        match self.list.try_lock() {
            Ok(list) => Some(list),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Records `finding`, unless the list holds one `same` says it repeats (then counted on
    /// that one when `count_repeats`) or already `limit` findings. A re-entered call (a
    /// signal handler's) that cannot take the lock, or would have to grow the list, counts
    /// the finding as dropped instead.
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
        let Some(mut list) = self.lock(reentered) else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if let Some(seen) = list.iter_mut().find(|seen| same(seen, &finding)) {
            if count_repeats {
                seen.count += 1;
            }
        } else if list.len() < limit {
            if reentered && list.len() == list.capacity() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            } else {
                list.push(finding);
            }
        }
    }

    /// The findings recorded so far, taken (waiting for the lock), with one `InternalError`
    /// finding for the dropped ones, if any.
    pub fn take(&self) -> Vec<RawFinding> {
        let _inside = InsideAllocator::enter();
        let mark = Mark::set();
        let taken = self
            .lock(mark.0)
            .map(|mut list| core::mem::take(&mut *list));
        self.with_dropped(taken.unwrap_or_default())
    }

    /// As [`Self::take`], but empty instead of waiting when the lock is taken (for a crash
    /// report: the interrupted thread may hold it).
    pub fn try_take(&self) -> Vec<RawFinding> {
        let _inside = InsideAllocator::enter();
        let _mark = Mark::set();
        let taken = self.lock(true).map(|mut list| core::mem::take(&mut *list));
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
}
