//! Resuming after a fault: the faulting page opened for exactly one instruction (x86-64).
//!
//! # Design
//! A fault on one of gpa's inaccessible pages (a guard page, a freed block's pages held in a
//! quarantine, a small segment's guard) is a finding, not necessarily the end of the program:
//! Valgrind reports an invalid read or write and lets the program go on, so every later
//! mistake and the leak verdict are reported too. [`resume_after`] makes that possible. Called
//! by the hook on the faulting thread, it makes the faulting page accessible and sets the trap
//! flag (`EFLAGS.TF`) in the interrupted context; when the handler returns, the instruction
//! runs again, succeeds, and the CPU raises a single-step trap (`SIGTRAP`, `TRAP_TRACE`)
//! right after it. The `SIGTRAP` handler ([`finish_step`]) puts the page back as it was and
//! clears the flag, and the program goes on with the page inaccessible again. An access that
//! spans two inaccessible pages faults twice before the trap; both are closed at the trap.
//!
//! A page is opened by what made it inaccessible, found out without asking the policy:
//! * a guard marker (`MADV_GUARD_INSTALL`, in a readable and writable mapping) is removed
//!   (`MADV_GUARD_REMOVE`) and installed again afterwards;
//! * a `PROT_NONE` page is made readable and writable with `mprotect`, then made `PROT_NONE`
//!   again and discarded (`MADV_DONTNEED`): such a page holds nothing anybody uses (a guard,
//!   a freed block past the window of kept contents), so what the instruction wrote is
//!   dropped (as a write to a guard page would have been), and a later reuse finds it zero
//!   as before;
//! * a `PROT_NONE` page the caller says is kept (`keep`: a freed block whose contents gpa
//!   keeps while it is quarantined, as Valgrind keeps its free queue's) is opened the same
//!   way and closed without the discard: the instruction read the block's bytes, and what it
//!   wrote stays for the next access;
//! * an unmapped page (a wild access near gpa's memory) is mapped for the step
//!   (`MAP_FIXED_NOREPLACE`, never over anything) and unmapped afterwards;
//! * a read-only page written to (the outer pages of a small segment's header guards, which
//!   read as zeros: `gpa::segment`) is made readable and writable, then read-only again and
//!   discarded, so that it reads as zeros again.
//!
//! Which of these applies is found by trying: a page that can be read after `MADV_GUARD_REMOVE`
//! had a marker (the probe is `process_vm_readv` of one byte from this process, which fails
//! with `EFAULT` instead of faulting). A page that can be read already, where the kernel
//! refused a write (`SEGV_ACCERR`), is a read-only one. A read through an opened page sees
//! zeros (or what an earlier step wrote before the discard), as from fresh memory, except on
//! a kept page, where it sees the page's bytes.
//!
//! While a page is open, other threads' accesses to it go unnoticed. Two threads may have the
//! same page open at once (the second faulted before the first opened it); the page is closed
//! by the last of them.
//!
//! # Pages left open
//! Stepping costs two signals and a few system calls per fault. When the caller asks for it
//! (`leave_open`: the policy does after many faults), a guard-marker or `PROT_NONE` page is
//! instead left open with no trap, and joins a run of pages left open next to it (so a sweep
//! over a freed region takes one entry). Such a run stays open until gpa itself changes
//! memory that meets it: every range operation of the `os` layer, and the guarded area before
//! it reuses an extent, first calls [`close_left_open`], which puts the run back as it was.
//! Accesses to a page left open are not seen meanwhile.
//!
//! # Claims: gpa changing memory a step may have open
//! A step closes its page the way it found it, so gpa must not change that page meanwhile:
//! a freed block's kept page forgotten (a guard marker installed) while a step has it open
//! would be made `PROT_NONE` again by the step's close, and an extent handed out to a new
//! block would be closed (made inaccessible, or discarded) under it. So gpa **claims** a range
//! ([`claim`]) before it changes it in those two ways, and holds the claim until it is done:
//! * a claim fails (`None`) when a step has a page of the range open, or is opening one (the
//!   caller leaves that memory alone for now: the block stays kept, the extent is not reused
//!   now); runs left open do not make it fail (the caller's range operations close them);
//! * a step that would open a page of a range claimed by another thread waits until the claim
//!   is released, then finds the page as gpa left it (and asks `keep` again then).
//!
//! Neither side takes the other's lock, and a claim makes no system call (the guarded area
//! claims once per allocation): an opener registers its entry ([`PENDING`]) before it looks
//! at the claims, a claimer publishes its claim before it looks at the entries, each
//! followed by a sequentially consistent fence, so at least one of them sees the other. A
//! claim of the opener's own thread (a signal handler of the program, run between two of
//! gpa's system calls on that thread) is not waited for: the step then begins and ends
//! before gpa's next call, and puts back what it found.
//!
//! # Invariants
//! * Every entry of [`OPENED`] is a page a thread (its `tid`) opened for a step and has not
//!   closed, removed only by that thread at its trap; or a run of pages left open (`tid` is
//!   [`LEFT`]), removed only by [`close_left_open`]. Both with every signal blocked and
//!   [`LOCK`] held.
//! * A page is closed only when no other entry holds it open.
//! * A page is opened only by an entry registered ([`PENDING`]) before it, while no other
//!   thread's claim covers it; a claim is held only while no step entry (but a run left
//!   open) covers its range.
//! * Everything here is async-signal-safe: system calls and atomics, no allocation.

use core::ffi::c_void;
use core::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};

/// How a page was opened (and so how it is closed).
const UNUSED: u8 = 0;
/// Found accessible already (opened by someone else meanwhile): left as it is.
const AS_FOUND: u8 = 1;
/// A guard marker, removed.
const MARKER: u8 = 2;
/// A `PROT_NONE` page, made readable and writable.
const PROTECTED: u8 = 3;
/// Nothing was mapped there: a page mapped for the step.
const MAPPED: u8 = 4;
/// A read-only page a write faulted on, made readable and writable.
const READ_ONLY: u8 = 5;
/// A `PROT_NONE` page whose contents are kept, made readable and writable (closed without a
/// discard).
const KEPT: u8 = 6;
/// An entry taken by a step about to open its page (see "Claims"); never seen outside
/// [`open`] but by [`claim`].
const PENDING: u8 = 7;

/// Entries: pages open for a step, and runs of pages left open, over all threads.
const ENTRIES: usize = 64;
/// The `tid` of a run of pages left open (see "Pages left open" above).
const LEFT: u64 = u64::MAX;
/// Pages one thread may have open for one instruction (an access spans at most two; a
/// `rep movs` spanning more is stepped one iteration at a time).
const PER_THREAD: usize = 4;

/// An open page (`len` one page), or a run of pages left open.
struct Opened {
    tid: AtomicU64,
    start: AtomicUsize,
    len: AtomicUsize,
    how: AtomicU8,
}

static OPENED: [Opened; ENTRIES] = [const {
    Opened {
        tid: AtomicU64::new(0),
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        how: AtomicU8::new(UNUSED),
    }
}; ENTRIES];
/// Serializes changes to [`OPENED`] (taken with every signal blocked).
static LOCK: AtomicBool = AtomicBool::new(false);
/// Runs of pages left open now.
static LEFT_OPEN: AtomicUsize = AtomicUsize::new(0);
/// Entries of [`OPENED`] in use (any `how` but [`UNUSED`]): a claim looks at the table only
/// when there is one.
static IN_USE: AtomicUsize = AtomicUsize::new(0);

/// Claims held at once; a claimer finding none free waits for one.
const CLAIM_ENTRIES: usize = 64;

/// A range gpa is changing (see "Claims"): `owner` is the claiming thread's `pthread_self`
/// (no system call), 0 when free; `len` 0 while being written or released.
struct Claimed {
    owner: AtomicUsize,
    start: AtomicUsize,
    len: AtomicUsize,
}

static CLAIMS: [Claimed; CLAIM_ENTRIES] = [const {
    Claimed {
        owner: AtomicUsize::new(0),
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
    }
}; CLAIM_ENTRIES];

/// A claim of a range ([`claim`]), released when dropped.
pub struct Claim {
    index: usize,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let entry = &CLAIMS[self.index];
        entry.len.store(0, Ordering::Release);
        // Cleared too: the table lies in the library's writable data, a root of the leak
        // scan (see `release`).
        entry.start.store(0, Ordering::Release);
        entry.owner.store(0, Ordering::Release);
    }
}

/// Claims `[start, start + len)` for a change by gpa (see "Claims"): `None` when a step has
/// a page of it open or is opening one (runs left open do not count: the caller's range
/// operations close them). While the claim is held, no step opens a page of the range
/// (another thread's waits; a page found open by then is found accessible). No system call,
/// no lock; may wait for a free claim entry when every one is held.
pub fn claim(start: usize, len: usize) -> Option<Claim> {
    let me = self_id();
    let index = loop {
        if let Some(index) = CLAIMS.iter().position(|entry| {
            entry
                .owner
                .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        }) {
            break index;
        }
        super::super::yield_now();
    };
    CLAIMS[index].start.store(start, Ordering::Relaxed);
    CLAIMS[index].len.store(len.max(1), Ordering::Relaxed);
    let claim = Claim { index };
    // Pairs with the fence in `open` after an entry is registered: one of the two sees the
    // other.
    fence(Ordering::SeqCst);
    if IN_USE.load(Ordering::Relaxed) != 0 && stepping_in(start, len.max(1)) {
        return None;
    }
    Some(claim)
}

/// Whether an entry of [`OPENED`] other than a run left open (a page open for a step, or
/// being opened) meets `[start, start + len)`. Lock-free.
fn stepping_in(start: usize, len: usize) -> bool {
    OPENED.iter().any(|entry| {
        // `how` first (stored last, with release, once the rest is set: see `open`); a
        // pending entry is a step whatever its `tid` says by now.
        let how = entry.how.load(Ordering::Acquire);
        let first = entry.start.load(Ordering::Relaxed);
        how != UNUSED
            && (how == PENDING || entry.tid.load(Ordering::Relaxed) != LEFT)
            && first < start.saturating_add(len)
            && start < first + entry.len.load(Ordering::Relaxed)
    })
}

/// Whether a claim of another thread than `me` covers `page` (one whose range is being
/// written or released counts). Lock-free.
fn claimed_by_other(page: usize, size: usize, me: usize) -> bool {
    CLAIMS.iter().any(|entry| {
        let owner = entry.owner.load(Ordering::Acquire);
        if owner == 0 || owner == me {
            return false;
        }
        let len = entry.len.load(Ordering::Acquire);
        let first = entry.start.load(Ordering::Relaxed);
        len == 0 || (first < page + size && page < first.saturating_add(len))
    })
}

/// The calling thread's `pthread_self`: no system call, and never 0.
fn self_id() -> usize {
    // SAFETY: no preconditions; async-signal-safe in practice (a register read).
    unsafe { libc::pthread_self() as usize }
}

/// The trap flag in `EFLAGS`.
const TRAP_FLAG: i64 = 0x100;
/// `gregs` index of `EFLAGS` in an x86-64 `ucontext_t`.
const REG_EFL: usize = 17;
use super::super::{MADV_GUARD_INSTALL, MADV_GUARD_REMOVE};

/// Opens the page of `address` for the faulting instruction of the interrupted `context` (the
/// `ucontext_t` the kernel passed to the handler, on this thread) and arms the single-step
/// trap; with `leave_open`, leaves the page open instead, without a trap, until gpa changes it
/// ([`close_left_open`]). See the module documentation. `false`, with nothing changed, when
/// the page cannot be opened (the caller then ends the process as before). `denied_write`:
/// the fault was a write the page's protection refused (`SEGV_ACCERR`). `keep`: whether a
/// `PROT_NONE` page there keeps its contents when it is closed again, asked under [`LOCK`]
/// once no claim covers the page (lock-free and async-signal-safe, as this is).
pub fn resume_after(
    address: usize,
    context: usize,
    denied_write: bool,
    leave_open: bool,
    keep: &dyn Fn() -> bool,
) -> bool {
    if context == 0 {
        return false;
    }
    if !probe_works() {
        // Without the probe a guard marker cannot be told from a `PROT_NONE` page, and closing
        // one the wrong way would break the memory around it.
        return false;
    }
    let size = super::super::page_size();
    let page = address & !(size - 1);
    let tid = super::super::thread_id();
    let me = self_id();
    let mut outcome = Opening::Failed;
    loop {
        with_lock(|| {
            outcome = open(page, tid, me, denied_write, leave_open, keep);
            true
        });
        if outcome != Opening::Claimed {
            break;
        }
        // Another thread is changing the page (see "Claims"): wait for it, outside the lock
        // (its range operations may take it to close runs left open).
        // A claim lasts a few system calls, unless its thread was preempted: then let it run.
        let mut spins = 0u32;
        while claimed_by_other(page, size, me) {
            spins += 1;
            if spins % 64 == 0 {
                super::super::yield_now();
            } else {
                core::hint::spin_loop();
            }
        }
    }
    let (opened, step) = match outcome {
        Opening::Stepping => (true, true),
        Opening::LeftOpen => (true, false),
        Opening::Failed | Opening::Claimed => (false, false),
    };
    if opened && step {
        // SAFETY: the caller's context is the live `ucontext_t` of this thread's handler.
        unsafe { set_trap_flag(context, true) };
    }
    opened
}

/// Whether the calling thread has a page open for a step now (its trap not taken yet): a
/// fault it takes meanwhile is the stepped instruction's own, on a second page (an access
/// across two inaccessible pages faults once per page before the trap). Lock-free and
/// async-signal-safe; one atomic load when no page is open.
pub fn stepping_here() -> bool {
    if IN_USE.load(Ordering::Acquire) == 0 {
        return false;
    }
    let tid = super::super::thread_id();
    OPENED.iter().any(|entry| {
        let how = entry.how.load(Ordering::Acquire);
        how != UNUSED && how != PENDING && entry.tid.load(Ordering::Relaxed) == tid
    })
}

/// Closes the runs of pages left open that meet `[start, start + len)` (see "Pages left
/// open"), before gpa changes that range itself: it then finds them as it left them. One
/// atomic load when none is open.
pub fn close_left_open(start: usize, len: usize) {
    if LEFT_OPEN.load(Ordering::Acquire) == 0 {
        return;
    }
    with_lock(|| {
        for (index, entry) in OPENED.iter().enumerate() {
            let (first, run) = (
                entry.start.load(Ordering::Relaxed),
                entry.len.load(Ordering::Relaxed),
            );
            if entry.tid.load(Ordering::Relaxed) != LEFT
                || entry.how.load(Ordering::Relaxed) == UNUSED
                || first + run <= start
                || first >= start.saturating_add(len)
            {
                continue;
            }
            let how = entry.how.load(Ordering::Relaxed);
            // Closed before the entry goes: a claimer that no longer sees it (or sees no
            // run left open) finds the pages closed (see "Claims").
            close(first, run, how);
            release(index);
            LEFT_OPEN.fetch_sub(1, Ordering::AcqRel);
        }
        true
    });
}

/// At a `SIGTRAP`: when the calling thread has pages open (it is stepping the instruction that
/// faulted), closes them, clears the trap flag in `context` and returns `true`; otherwise
/// `false` (the trap is not ours).
///
/// # Safety
/// `context` is the `ucontext_t` the kernel passed to this thread's `SIGTRAP` handler.
pub unsafe fn finish_step(context: *mut c_void) -> bool {
    let tid = super::super::thread_id();
    let ours = with_lock(|| close_all(tid));
    if ours && !context.is_null() {
        // SAFETY: caller contract.
        unsafe { set_trap_flag(context as usize, false) };
    }
    ours
}

/// Runs `work` with every signal blocked and [`LOCK`] held.
fn with_lock(work: impl FnOnce() -> bool) -> bool {
    let mut work = Some(work);
    let mut result = false;
    super::with_signals_blocked(&mut || {
        while LOCK
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        if let Some(work) = work.take() {
            result = work();
        }
        LOCK.store(false, Ordering::Release);
    });
    result
}

/// The entry other than `except` that holds `page` open, if any. An entry that found the
/// page accessible ([`AS_FOUND`]) does not hold it: the page was a live block's then, which
/// its `free` may have closed since (the next fault on it, taking that entry's `how`, opened
/// nothing and faulted again until the thread ran out of entries), and a step that opens the
/// page afterwards closes it whatever such an entry says.
fn holder(page: usize, except: Option<usize>) -> Option<&'static Opened> {
    OPENED.iter().enumerate().find_map(|(index, entry)| {
        let first = entry.start.load(Ordering::Relaxed);
        let how = entry.how.load(Ordering::Relaxed);
        let covers = how != UNUSED
            && how != PENDING
            && how != AS_FOUND
            && page >= first
            && page < first + entry.len.load(Ordering::Relaxed);
        (covers && Some(index) != except).then_some(entry)
    })
}

/// What [`open`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Opening {
    /// The page is open for the faulting instruction.
    Stepping,
    /// The page is left open (no trap).
    LeftOpen,
    /// Nothing changed: the page cannot be opened.
    Failed,
    /// Nothing changed: another thread claims the page (see "Claims"); try again after it.
    Claimed,
}

/// Opens `page` for thread `tid` (`me`: its `pthread_self`), where `denied_write` says the
/// fault was a write the page's protection refused, and `keep` whether a `PROT_NONE` page
/// keeps its contents. Under [`LOCK`].
fn open(
    page: usize,
    tid: u64,
    me: usize,
    denied_write: bool,
    leave_open: bool,
    keep: &dyn Fn() -> bool,
) -> Opening {
    let size = super::super::page_size();
    let mine = OPENED
        .iter()
        .filter(|entry| entry.tid.load(Ordering::Relaxed) == tid)
        .count();
    if mine >= PER_THREAD {
        return Opening::Failed;
    }
    // The entry is registered before anything else (see "Claims"), so that a claim made from
    // now on fails, and the claims are looked at after it.
    let Some(slot) = OPENED
        .iter()
        .position(|entry| entry.how.load(Ordering::Relaxed) == UNUSED)
    else {
        return Opening::Failed;
    };
    let free = &OPENED[slot];
    free.tid.store(tid, Ordering::Relaxed);
    free.start.store(page, Ordering::Relaxed);
    free.len.store(size, Ordering::Relaxed);
    free.how.store(PENDING, Ordering::Relaxed);
    IN_USE.fetch_add(1, Ordering::SeqCst);
    // Pairs with the fence in `claim`.
    fence(Ordering::SeqCst);
    if claimed_by_other(page, size, me) {
        release(slot);
        return Opening::Claimed;
    }
    match open_registered(slot, page, denied_write, leave_open, keep) {
        Some(true) => Opening::Stepping,
        Some(false) => Opening::LeftOpen,
        None => Opening::Failed,
    }
}

/// [`open`] once entry `slot` is registered for `page` and no claim covers it: `Some(true)`
/// to step over the instruction, `Some(false)` when the page is left open (`slot` then
/// released or made the run's), `None` when it cannot be opened (`slot` released).
fn open_registered(
    slot: usize,
    page: usize,
    denied_write: bool,
    leave_open: bool,
    keep: &dyn Fn() -> bool,
) -> Option<bool> {
    let size = super::super::page_size();
    let fail = || {
        release(slot);
        None
    };
    let how = if let Some(other) = holder(page, Some(slot)) {
        // Open already (another thread steps through it): closed by the last one, as it was
        // opened.
        other.how.load(Ordering::Relaxed)
    } else if readable(page) {
        if !denied_write {
            AS_FOUND
        } else if protect(page, size, libc::PROT_READ | libc::PROT_WRITE) {
            READ_ONLY
        } else {
            return fail();
        }
    } else if advise(page, size, MADV_GUARD_REMOVE) && readable(page) {
        MARKER
    } else if protect(page, size, libc::PROT_READ | libc::PROT_WRITE) {
        if keep() {
            KEPT
        } else {
            PROTECTED
        }
    } else if map_fresh(page, size) {
        MAPPED
    } else {
        return fail();
    };
    let leave_open =
        leave_open && (how == MARKER || how == PROTECTED || how == KEPT || how == READ_ONLY);
    if leave_open {
        // A run left open just before or after this page, opened the same way, grows.
        if let Some(run) = OPENED.iter().find(|entry| {
            let first = entry.start.load(Ordering::Relaxed);
            entry.tid.load(Ordering::Relaxed) == LEFT
                && entry.how.load(Ordering::Relaxed) == how
                && (first + entry.len.load(Ordering::Relaxed) == page || page + size == first)
        }) {
            if run.start.load(Ordering::Relaxed) == page + size {
                run.start.store(page, Ordering::Relaxed);
            }
            run.len.fetch_add(size, Ordering::Relaxed);
            release(slot);
            return Some(false);
        }
    }
    let free = &OPENED[slot];
    if leave_open {
        LEFT_OPEN.fetch_add(1, Ordering::AcqRel);
        free.tid.store(LEFT, Ordering::Relaxed);
    }
    // Last, with release: a claimer that reads it reads the rest as set (and the count of
    // runs left open, which its range operations look at).
    free.how.store(how, Ordering::Release);
    Some(!leave_open)
}

/// Frees entry `index` of [`OPENED`], its page address cleared too: the table lies in the
/// library's writable data, a root of the leak scan, and a stale page address there is a
/// start pointer to a block that begins at that page (a leaked 0-byte block read once, in a
/// page of its own: "still reachable" where memcheck says "definitely lost").
fn release(index: usize) {
    OPENED[index].tid.store(0, Ordering::Relaxed);
    OPENED[index].start.store(0, Ordering::Relaxed);
    OPENED[index].len.store(0, Ordering::Relaxed);
    // Last, with release (see `stepping_in`).
    OPENED[index].how.store(UNUSED, Ordering::Release);
    IN_USE.fetch_sub(1, Ordering::Release);
}

/// Puts opened pages back as they were.
fn close(start: usize, len: usize, how: u8) {
    match how {
        MARKER => {
            advise(start, len, MADV_GUARD_INSTALL);
        }
        PROTECTED => {
            protect(start, len, libc::PROT_NONE);
            advise(start, len, libc::MADV_DONTNEED);
        }
        KEPT => {
            protect(start, len, libc::PROT_NONE);
        }
        READ_ONLY => {
            protect(start, len, libc::PROT_READ);
            advise(start, len, libc::MADV_DONTNEED);
        }
        MAPPED => {
            // SAFETY: the page this module mapped for the step; nobody else uses it.
            unsafe { libc::munmap(start as *mut c_void, len) };
        }
        _ => {}
    }
}

fn close_all(tid: u64) -> bool {
    let mut any = false;
    for (index, entry) in OPENED.iter().enumerate() {
        let how = entry.how.load(Ordering::Relaxed);
        if how == UNUSED || entry.tid.load(Ordering::Relaxed) != tid {
            continue;
        }
        any = true;
        let page = entry.start.load(Ordering::Relaxed);
        let len = entry.len.load(Ordering::Relaxed);
        // Closed before the entry goes: a claim that no longer sees it finds the page
        // closed, not closed under it a moment later (see "Claims").
        if holder(page, Some(index)).is_none() {
            close(page, len, how);
        }
        release(index);
    }
    any
}

/// Whether a byte at `page` can be read, without touching it (`process_vm_readv` of this
/// process reports `EFAULT` instead of faulting).
fn readable(page: usize) -> bool {
    let mut byte = 0u8;
    let local = libc::iovec {
        iov_base: (&mut byte as *mut u8).cast(),
        iov_len: 1,
    };
    let remote = libc::iovec {
        iov_base: page as *mut c_void,
        iov_len: 1,
    };
    // SAFETY: one writable local byte; the remote range is only read by the kernel, which
    // checks it; errno is saved and restored.
    unsafe {
        let errno = libc::__errno_location();
        let saved = *errno;
        let read = libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0);
        *errno = saved;
        read == 1
    }
}

/// Whether [`readable`] answers at all (`process_vm_readv` may be forbidden by a seccomp
/// filter): it must find a byte of this thread's stack readable.
fn probe_works() -> bool {
    let byte = 0u8;
    readable(&byte as *const u8 as usize)
}

// The system calls below are made directly, not through `os::protect` and its siblings: those
// call `close_left_open`, which takes `LOCK` (held here already), and they do not keep
// `errno`, which a signal handler must leave as the program had it.

fn advise(page: usize, len: usize, advice: libc::c_int) -> bool {
    // SAFETY: a page-aligned range of gpa's own memory (the caller found a fault of gpa's
    // there); the advice only discards or changes guard markers; errno is restored.
    unsafe {
        let errno = libc::__errno_location();
        let saved = *errno;
        let done = libc::madvise(page as *mut c_void, len, advice) == 0;
        *errno = saved;
        done
    }
}

fn protect(page: usize, len: usize, protection: libc::c_int) -> bool {
    // SAFETY: as for `advise`.
    unsafe {
        let errno = libc::__errno_location();
        let saved = *errno;
        let done = libc::mprotect(page as *mut c_void, len, protection) == 0;
        *errno = saved;
        done
    }
}

fn map_fresh(page: usize, len: usize) -> bool {
    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping; errno is restored.
    unsafe {
        let errno = libc::__errno_location();
        let saved = *errno;
        let mapped = libc::mmap(
            page as *mut c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        );
        *errno = saved;
        if mapped == libc::MAP_FAILED {
            return false;
        }
        if mapped as usize != page {
            // An old kernel without MAP_FIXED_NOREPLACE took it as a hint.
            libc::munmap(mapped, len);
            return false;
        }
        true
    }
}

/// Sets or clears the trap flag in an interrupted context.
///
/// # Safety
/// `context` is a live `ucontext_t` of this thread's signal handler.
unsafe fn set_trap_flag(context: usize, on: bool) {
    // SAFETY: caller contract.
    let context = unsafe { &mut *(context as *mut libc::ucontext_t) };
    let flags = &mut context.uc_mcontext.gregs[REG_EFL];
    if on {
        *flags |= TRAP_FLAG;
    } else {
        *flags &= !TRAP_FLAG;
    }
}

/// Registers `[start, start + len)` as a page open for a step of no thread (as [`open`]
/// leaves a stepping thread's entry, without opening anything), for the tests of the
/// claimers; [`end_test_step`] releases it.
#[cfg(test)]
pub fn begin_test_step(start: usize, len: usize) -> usize {
    let mut index = ENTRIES;
    with_lock(|| {
        index = OPENED
            .iter()
            .position(|entry| entry.how.load(Ordering::Relaxed) == UNUSED)
            .expect("a free entry");
        let entry = &OPENED[index];
        entry.tid.store(LEFT - 1, Ordering::Relaxed);
        entry.start.store(start, Ordering::Relaxed);
        entry.len.store(len, Ordering::Relaxed);
        entry.how.store(AS_FOUND, Ordering::Relaxed);
        IN_USE.fetch_add(1, Ordering::SeqCst);
        true
    });
    index
}

/// Releases an entry of [`begin_test_step`].
#[cfg(test)]
pub fn end_test_step(index: usize) {
    with_lock(|| {
        release(index);
        true
    });
}

#[cfg(test)]
mod tests {
    use super::super::{install, resume_after, Fault, Verdict};
    use super::*;

    /// The page the test hook steps over (0: none).
    static TARGET: AtomicUsize = AtomicUsize::new(0);
    /// Faults the test hook resumed.
    static RESUMED: AtomicUsize = AtomicUsize::new(0);
    /// The test hook asks for the page's contents to be kept.
    static KEEP: AtomicBool = AtomicBool::new(false);

    fn hook(fault: &Fault) -> Verdict {
        let page = fault.address & !(crate::os::page_size() - 1);
        let target = TARGET.load(Ordering::Acquire);
        let keep = KEEP.load(Ordering::Acquire);
        if target != 0 && page == target && resume_after(fault, false, &|| keep) {
            RESUMED.fetch_add(1, Ordering::AcqRel);
            Verdict::Resumed
        } else {
            Verdict::NotOurs
        }
    }

    fn mapped(protection: libc::c_int) -> usize {
        let size = crate::os::page_size();
        // SAFETY: a fresh anonymous mapping of one page.
        let page = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                size,
                protection,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(page, libc::MAP_FAILED);
        page as usize
    }

    /// Reads and writes `page` (inaccessible in one of three ways) and checks that each access
    /// went through once, read zeros, and left the page inaccessible again.
    fn step_over(page: usize) {
        TARGET.store(page, Ordering::Release);
        let before = RESUMED.load(Ordering::Acquire);
        // SAFETY: the page faults; the hook opens it for this one access.
        let first = unsafe { core::ptr::read_volatile((page + 8) as *const u64) };
        assert_eq!(first, 0);
        assert!(!readable(page), "closed again after the read");
        // SAFETY: as above; the write is discarded when the page is closed.
        unsafe { core::ptr::write_volatile((page + 16) as *mut u64, 0x5a5a) };
        assert!(!readable(page), "closed again after the write");
        // SAFETY: as above.
        let again = unsafe { core::ptr::read_volatile((page + 16) as *const u64) };
        assert_eq!(again, 0, "what the step wrote was discarded");
        assert_eq!(RESUMED.load(Ordering::Acquire) - before, 3);
        // No copy of the page's address is left in the table, a root of the leak scan (a
        // leaked 0-byte block read once, in a page of its own, was "still reachable").
        for entry in &OPENED {
            assert_ne!(
                entry.start.load(Ordering::Relaxed),
                page,
                "stale page address"
            );
        }
        TARGET.store(0, Ordering::Release);
    }

    #[test]
    fn a_fault_on_an_inaccessible_page_is_stepped_over_and_the_page_closed_again() {
        if !probe_works() {
            eprintln!("SKIPPED: process_vm_readv is not allowed here");
            return;
        }
        assert!(install(&[libc::SIGSEGV], hook, true));
        let size = crate::os::page_size();
        // PROT_NONE.
        step_over(mapped(libc::PROT_NONE));
        // A guard marker inside a readable, writable mapping (Linux 6.13 and later).
        let marked = mapped(libc::PROT_READ | libc::PROT_WRITE);
        if advise(marked, size, MADV_GUARD_INSTALL) {
            step_over(marked);
            // Still a guard marker, not a PROT_NONE page: removing it makes the page usable.
            assert!(advise(marked, size, MADV_GUARD_REMOVE));
            assert!(readable(marked));
        } else {
            eprintln!("guard markers not supported by this kernel: that case is not tested");
        }
        // Nothing mapped: a page is mapped for the step and unmapped after it.
        let gone = mapped(libc::PROT_NONE);
        // SAFETY: our own mapping.
        unsafe { libc::munmap(gone as *mut c_void, size) };
        step_over(gone);
        assert!(crate::os::is_unmapped(gone));
        // A read-only page (a small segment's outer guard pages): reads go through without a
        // fault; a write is stepped over, discarded, and the page is read-only again, so the
        // next write faults again. Before, the page was taken for one opened meanwhile and
        // left as it was: the write faulted again and again until the step gave up.
        let read_only = mapped(libc::PROT_READ);
        TARGET.store(read_only, Ordering::Release);
        let before = RESUMED.load(Ordering::Acquire);
        for round in 1..=2 {
            // SAFETY: the page refuses writes; the hook opens it for this one access.
            unsafe { core::ptr::write_volatile((read_only + 24) as *mut u64, 0x5a5a) };
            // SAFETY: the page is readable.
            let seen = unsafe { core::ptr::read_volatile((read_only + 24) as *const u64) };
            assert_eq!(seen, 0, "what the step wrote was discarded");
            assert_eq!(RESUMED.load(Ordering::Acquire) - before, round);
        }
        TARGET.store(0, Ordering::Release);
        // A kept page (a freed block's, `PROT_NONE` with its bytes): a read through it sees
        // them, a write stays, and the page is inaccessible again after each.
        let kept = mapped(libc::PROT_READ | libc::PROT_WRITE);
        // SAFETY: our own fresh page, readable and writable.
        unsafe { core::ptr::write_volatile((kept + 32) as *mut u64, 0x1234_5678) };
        assert!(protect(kept, size, libc::PROT_NONE));
        KEEP.store(true, Ordering::Release);
        TARGET.store(kept, Ordering::Release);
        let before = RESUMED.load(Ordering::Acquire);
        // SAFETY: the page faults; the hook opens it for this one access.
        let held = unsafe { core::ptr::read_volatile((kept + 32) as *const u64) };
        assert_eq!(held, 0x1234_5678, "the page's bytes were read");
        assert!(!readable(kept), "closed again after the read");
        // SAFETY: as above; the write stays.
        unsafe { core::ptr::write_volatile((kept + 40) as *mut u64, 0x9abc) };
        assert!(!readable(kept), "closed again after the write");
        // SAFETY: as above.
        let again = unsafe { core::ptr::read_volatile((kept + 40) as *const u64) };
        assert_eq!(again, 0x9abc, "what the step wrote was kept");
        assert_eq!(RESUMED.load(Ordering::Acquire) - before, 3);
        // A page another thread claims (gpa changing it) is not opened until the claim is
        // released, and then as it is by then: here, the kept bytes changed meanwhile.
        let claimed = claim(kept, size).expect("no step has the page open");
        let reader = std::thread::spawn(move || {
            // SAFETY: the page faults; the hook opens it once the claim is released.
            unsafe { core::ptr::read_volatile((kept + 32) as *const u64) }
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!reader.is_finished(), "the step waits for the claim");
        assert!(protect(kept, size, libc::PROT_READ | libc::PROT_WRITE));
        // SAFETY: our own page, readable and writable now.
        unsafe { core::ptr::write_volatile((kept + 32) as *mut u64, 0x77) };
        assert!(protect(kept, size, libc::PROT_NONE));
        drop(claimed);
        assert_eq!(reader.join().unwrap(), 0x77, "read after the change");
        assert!(!readable(kept), "closed again after the read");
        assert_eq!(RESUMED.load(Ordering::Acquire) - before, 4);
        TARGET.store(0, Ordering::Release);
        KEEP.store(false, Ordering::Release);
    }

    #[test]
    fn a_claim_fails_where_a_step_has_a_page_open_and_holds_off_other_threads() {
        let size = crate::os::page_size();
        let page = mapped(libc::PROT_NONE);
        let held = begin_test_step(page, size);
        assert!(claim(page, size).is_none(), "the page itself");
        assert!(claim(page - size, 2 * size).is_none(), "a range over it");
        assert!(claim(page - size, size).is_some(), "the page before");
        assert!(claim(page + size, size).is_some(), "the page after");
        // A run left open does not count: the claimer's range operations close it.
        OPENED[held].tid.store(LEFT, Ordering::Relaxed);
        assert!(claim(page, size).is_some(), "a run left open");
        end_test_step(held);
        let claimed = claim(page, size).expect("nothing open any more");
        let me = self_id();
        assert!(
            !claimed_by_other(page, size, me),
            "the claimer's own step goes on"
        );
        assert!(
            claimed_by_other(page, size, me + 1),
            "another thread's waits"
        );
        assert!(
            !claimed_by_other(page + size, size, me + 1),
            "not a page past it"
        );
        drop(claimed);
        assert!(!claimed_by_other(page, size, me + 1), "released");
        for entry in &CLAIMS {
            assert_ne!(
                entry.start.load(Ordering::Relaxed),
                page,
                "stale page address"
            );
        }
        // SAFETY: our own mapping.
        unsafe { libc::munmap(page as *mut c_void, size) };
    }
}
