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
//! Accesses to a page left open are not seen meanwhile. When runs hold every entry, a fault
//! that needs one closes a run first ([`close_a_run`]): its pages are seen again.
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
//! before gpa's next call, and puts back what it found. Where that claimer installs guard
//! markers on `PROT_NONE` pages ([`Claim::marks`]: a kept block forgotten), such a step
//! cannot tell whether the page it found `PROT_NONE` had a marker (the probe removed it):
//! it closes the page with one ([`MARKED_PROTECTED`]), which the claimer installs anyway;
//! closed as `PROT_NONE` only, the page became accessible at the claimer's next change, a
//! guard lost.
//!
//! Claims are taken with signals deliverable (blocking them costs two system calls per
//! allocation), so the program can keep one from being released: its signal handler may
//! end the thread (`pthread_exit`), jump out of gpa (`longjmp`) or never return; a debugger
//! may stop the thread; a `fork` in another thread copies it into a child without its
//! thread. A waiting step therefore does not wait for ever: a claim records its thread's
//! kernel id, and a claim whose thread has ended is freed by the waiter
//! ([`reclaim_if_ended`]); a claim whose thread runs on is waited for
//! [`CLAIM_PATIENCE_NS`] at most, after which the step gives up and the fault is reported
//! as a finding that ends the process. In a `fork` child, the parent's other threads'
//! claims, steps and lock are dropped ([`after_fork_in_child`], from the C ABI's
//! `pthread_atfork` child handler). The exit scan stops threads for good without freeing
//! their claims: a stopped claimer is one that runs on as far as a waiter can tell, and a
//! fault after the stop (the scan itself reads only live blocks and roots outside gpa's
//! memory) waits out the patience as above.
//!
//! # Invariants
//! * Every entry of [`OPENED`] is a page a thread (its `tid`) opened for a step and has not
//!   closed, removed only by that thread at its trap; or a run of pages left open (`tid` is
//!   [`LEFT`]), removed only by [`close_left_open`]. Both with every signal blocked and
//!   [`LOCK`] held.
//! * A page is closed only when no other entry holds it open.
//! * A page is opened only by an entry registered ([`PENDING`]) before it, while no other
//!   thread's claim covers it (or, after [`CLAIM_PATIENCE_NS`] of waiting, not at all); a
//!   claim is held only while no step entry (but a run left open) covers its range.
//! * A claim entry is freed only by its claimer, by a waiter once the claimer's thread has
//!   ended, or in a `fork` child for a thread the child does not have.
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
/// A `PROT_NONE` page under a claim of the stepping thread's own that installs guard
/// markers ([`Claim::marks`]), made readable and writable (its marker, if it had one,
/// removed); closed with `PROT_NONE` and a marker (see "Claims").
const MARKED_PROTECTED: u8 = 8;

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
/// (no system call), 0 when free ([`RECLAIMING`] while a waiter frees it for a thread that
/// ended); `tid` its kernel id (0 until set); `len` 0 while being written or released;
/// `marks`: the claimer installs guard markers on `PROT_NONE` pages of the range.
struct Claimed {
    owner: AtomicUsize,
    tid: AtomicU64,
    start: AtomicUsize,
    len: AtomicUsize,
    marks: AtomicBool,
}

static CLAIMS: [Claimed; CLAIM_ENTRIES] = [const {
    Claimed {
        owner: AtomicUsize::new(0),
        tid: AtomicU64::new(0),
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        marks: AtomicBool::new(false),
    }
}; CLAIM_ENTRIES];

/// The `owner` of a claim entry a waiter is freeing (its holder ended without releasing it);
/// no `pthread_self` is 1.
const RECLAIMING: usize = 1;

/// A claim of a range ([`claim`]), released when dropped.
pub struct Claim {
    index: usize,
}

impl Claim {
    /// Says that the claimer installs guard markers on pages of the range while they are
    /// `PROT_NONE` (a kept block forgotten: `gpa::guarded::area`). A step of the claimer's
    /// own thread (a signal handler of the program that interrupted it) that finds such a
    /// page `PROT_NONE` closes it with a marker: the marker may have been in already, and
    /// the claimer's next change (the protection back to the mapping's) would otherwise
    /// leave the page accessible, a guard lost.
    pub fn marks(&self) {
        CLAIMS[self.index].marks.store(true, Ordering::Release);
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let entry = &CLAIMS[self.index];
        entry.len.store(0, Ordering::Release);
        // Cleared too: the table lies in the library's writable data, a root of the leak
        // scan (see `release`).
        entry.start.store(0, Ordering::Release);
        entry.tid.store(0, Ordering::Release);
        entry.marks.store(false, Ordering::Release);
        // Not a plain store: a waiter may hold the entry for a moment ([`RECLAIMING`],
        // taken from an `owner` equal to this one's: see `reclaim_if_ended`), and gives it
        // back then.
        let me = self_id();
        while entry
            .owner
            .compare_exchange(me, 0, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
    }
}

/// Claims `[start, start + len)` for a change by gpa (see "Claims"): `None` when a step has
/// a page of it open or is opening one (runs left open do not count: the caller's range
/// operations close them). While the claim is held, no step opens a page of the range
/// (another thread's waits; a page found open by then is found accessible). `tid`: the
/// calling thread's kernel id (a cached one: a waiter asks whether that thread still runs).
/// No system call, no lock; may wait for a free claim entry when every one is held.
pub fn claim(start: usize, len: usize, tid: u64) -> Option<Claim> {
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
    CLAIMS[index].tid.store(tid, Ordering::Relaxed);
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
    other_claim(page, size, me).is_some()
}

/// The index of a claim of another thread than `me` that covers `page` (one whose range is
/// being written or released counts). Lock-free.
fn other_claim(page: usize, size: usize, me: usize) -> Option<usize> {
    CLAIMS.iter().position(|entry| {
        let owner = entry.owner.load(Ordering::Acquire);
        if owner == 0 || owner == me {
            return false;
        }
        let len = entry.len.load(Ordering::Acquire);
        let first = entry.start.load(Ordering::Relaxed);
        len == 0 || (first < page + size && page < first.saturating_add(len))
    })
}

/// Whether a claim of the calling thread (`me`) that installs guard markers
/// ([`Claim::marks`]) covers `page`. Lock-free.
fn own_marking_claim(page: usize, size: usize, me: usize) -> bool {
    CLAIMS.iter().any(|entry| {
        let first = entry.start.load(Ordering::Relaxed);
        entry.owner.load(Ordering::Acquire) == me
            && entry.marks.load(Ordering::Acquire)
            && first < page + size
            && page < first.saturating_add(entry.len.load(Ordering::Relaxed))
    })
}

/// Frees claim entry `index` when the thread holding it has ended (the kernel knows no
/// thread of that id in this process: a program's signal handler called `pthread_exit`
/// while the thread held the claim, or cancelled it there), so that steps waiting for it
/// go on; `true` then. Its holder cannot change the range any more. A holder whose kernel
/// id is not set yet, or who still runs, is left alone.
fn reclaim_if_ended(index: usize) -> bool {
    let entry = &CLAIMS[index];
    let owner = entry.owner.load(Ordering::Acquire);
    let tid = entry.tid.load(Ordering::Acquire);
    if owner == 0 || owner == RECLAIMING || tid == 0 || thread_runs(tid) {
        return false;
    }
    if entry
        .owner
        .compare_exchange(owner, RECLAIMING, Ordering::AcqRel, Ordering::Relaxed)
        .is_err()
    {
        return false;
    }
    if entry.tid.load(Ordering::Acquire) != tid {
        // Released and taken again meanwhile, by a thread with the same `pthread_self` (a
        // new one on the ended thread's descriptor): its claim, given back.
        entry.owner.store(owner, Ordering::Release);
        return false;
    }
    entry.len.store(0, Ordering::Release);
    entry.start.store(0, Ordering::Release);
    entry.tid.store(0, Ordering::Release);
    entry.marks.store(false, Ordering::Release);
    entry.owner.store(0, Ordering::Release);
    true
}

/// Whether a thread of this process has kernel id `tid` (`tgkill` with no signal); `true`
/// where a seccomp filter would kill `tgkill` (the wait is bounded all the same).
fn thread_runs(tid: u64) -> bool {
    if super::super::seccomp::stops("tgkill") {
        return true;
    }
    // SAFETY: signal 0 sends nothing, only checks the thread; errno is saved and restored.
    unsafe {
        let errno = libc::__errno_location();
        let saved = *errno;
        let sent = libc::syscall(libc::SYS_tgkill, libc::getpid(), tid as libc::pid_t, 0);
        let gone = sent != 0 && *errno == libc::ESRCH;
        *errno = saved;
        !gone
    }
}

/// How long a step waits, in all, for claims held by threads that still run (a claim lasts
/// a few system calls): a thread the program keeps from releasing one (stopped for ever in
/// a signal handler of its own, or whose handler jumped out of gpa with `longjmp`; stopped
/// by a debugger this long) would otherwise keep the faulting thread waiting for ever. The
/// step then gives up, and the fault is reported as a finding that ends the process. A
/// pause of the whole process (`SIGSTOP`) counts for one check's interval at most.
const CLAIM_PATIENCE_NS: u64 = 2_000_000_000;
/// The longest interval between two checks of a wait that counts towards its patience.
const CLAIM_CHECK_MOST_NS: u64 = 10_000_000;

/// A monotonic clock in nanoseconds (the vDSO's: no system call, async-signal-safe).
fn now_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-parameter.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// Waits while every entry of [`OPENED`] is taken (other threads' steps, released at their
/// traps); `false` when it gave up after `patience` nanoseconds of running time. Lock-free.
fn wait_for_entry(patience: u64) -> bool {
    let all_taken = || {
        (!OPENED
            .iter()
            .any(|entry| entry.how.load(Ordering::Acquire) == UNUSED))
        .then_some(())
    };
    wait_while(all_taken, |()| false, patience)
}

/// Waits while a claim of another thread than `me` covers `page` (see "Claims"); `false`
/// when it gave up ([`CLAIM_PATIENCE_NS`]). A claim whose thread ended is freed
/// ([`reclaim_if_ended`]).
fn wait_for_claims(page: usize, size: usize, me: usize, patience: u64) -> bool {
    wait_while(|| other_claim(page, size, me), reclaim_if_ended, patience)
}

/// The wait of [`wait_for_entry`] and [`wait_for_claims`]: while `held` names what is held
/// (held for a few system calls, unless its thread was preempted), spins, then yields to let
/// the holder run; every 1,024 rounds asks `freed` whether the holder is gone (its claim
/// given back: the wait goes on at once) and counts the running time since the last such
/// check, at most [`CLAIM_CHECK_MOST_NS`] of it (a pause of the whole process counts for one
/// interval). `false` once `patience` nanoseconds were counted, `true` when nothing is held.
fn wait_while<H>(
    mut held: impl FnMut() -> Option<H>,
    mut freed: impl FnMut(H) -> bool,
    patience: u64,
) -> bool {
    let mut spins = 0u32;
    let mut waited = 0u64;
    let mut last = 0u64;
    while let Some(holder) = held() {
        spins += 1;
        if spins % 64 != 0 {
            core::hint::spin_loop();
            continue;
        }
        super::super::yield_now();
        if spins % 1024 != 0 || freed(holder) {
            continue;
        }
        let now = now_ns();
        if last != 0 {
            waited += now.saturating_sub(last).min(CLAIM_CHECK_MOST_NS);
        }
        last = now;
        if waited >= patience {
            return false;
        }
    }
    true
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
        if outcome == Opening::Full {
            // Other threads' steps hold every entry (each for one instruction, until its
            // trap): wait for one to be released, outside the lock; not for ever. Before,
            // the fault ended the process (`keep_race_confined.c` under load: every fault
            // there leaves its page open, and the reader threads' steps filled the table).
            if !wait_for_entry(CLAIM_PATIENCE_NS) {
                return false;
            }
            continue;
        }
        if outcome != Opening::Claimed {
            break;
        }
        // Another thread is changing the page (see "Claims"): wait for it, outside the lock
        // (its range operations may take it to close runs left open); not for ever.
        if !wait_for_claims(page, size, me, CLAIM_PATIENCE_NS) {
            return false;
        }
    }
    let (opened, step) = match outcome {
        Opening::Stepping => (true, true),
        Opening::LeftOpen => (true, false),
        Opening::Failed | Opening::Claimed | Opening::Full => (false, false),
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

/// In the child of `fork`, where only the forking thread runs (its `pthread_atfork` child
/// handler, or when gpa finds itself in an unannounced copy): what other threads held in
/// the parent has no thread behind it here. Their claims are dropped (a step of the child
/// waited for them for ever), their steps' pages closed and entries freed (the child's
/// copies of those pages were left open, and a claim of them failed for ever), and
/// [`LOCK`] freed (a thread of the parent held it at the `fork`). The forking thread's own
/// claims stay (a signal handler of the program forked while gpa held them: gpa goes on
/// when the handler returns); a step of its own (a handler that forked between a fault and
/// its trap) is closed too: the instruction then faults again and is stepped anew. Runs
/// left open stay (no thread's). Async-signal-safe.
pub fn after_fork_in_child() {
    let me = self_id();
    for entry in &CLAIMS {
        if entry.owner.load(Ordering::Relaxed) != me {
            entry.len.store(0, Ordering::Relaxed);
            entry.start.store(0, Ordering::Relaxed);
            entry.tid.store(0, Ordering::Relaxed);
            entry.marks.store(false, Ordering::Relaxed);
            entry.owner.store(0, Ordering::Release);
        }
    }
    LOCK.store(false, Ordering::Release);
    with_lock(|| {
        for (index, entry) in OPENED.iter().enumerate() {
            let how = entry.how.load(Ordering::Relaxed);
            if how == UNUSED || entry.tid.load(Ordering::Relaxed) == LEFT {
                continue;
            }
            let page = entry.start.load(Ordering::Relaxed);
            let len = entry.len.load(Ordering::Relaxed);
            if how != PENDING && holder(page, Some(index)).is_none() {
                close(page, len, how);
            }
            release(index);
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
    /// Nothing changed: every entry is taken by other threads' steps (or by runs left open
    /// that hold the page); try again once one is released.
    Full,
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
        .or_else(|| close_a_run(page))
    else {
        return Opening::Full;
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
    let marking = own_marking_claim(page, size, me);
    match open_registered(
        slot,
        page,
        denied_write,
        leave_open && !marking,
        marking,
        keep,
    ) {
        Some(true) => Opening::Stepping,
        Some(false) => Opening::LeftOpen,
        None => Opening::Failed,
    }
}

/// [`open`] once entry `slot` is registered for `page` and no claim covers it: `Some(true)`
/// to step over the instruction, `Some(false)` when the page is left open (`slot` then
/// released or made the run's), `None` when it cannot be opened (`slot` released).
/// `marking`: a claim of this thread's own that installs markers covers the page
/// ([`Claim::marks`]): a `PROT_NONE` page there is closed with a marker.
fn open_registered(
    slot: usize,
    page: usize,
    denied_write: bool,
    leave_open: bool,
    marking: bool,
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
        if marking {
            // `PROT_NONE`, perhaps with a marker the probe just removed (the claimer installs
            // them before it gives the page its protection back): closed with one, which
            // the claimer puts in anyway.
            MARKED_PROTECTED
        } else if keep() {
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

/// Closes a run of pages left open that does not hold `page`, to free its entry for a step
/// when every entry is taken: its index (now unused), or `None` when no run can go. The
/// pages go back as they were, as [`close_left_open`] puts them (a later access to them
/// faults again and is seen). Before, once runs held every entry (a program reading many
/// freed blocks under a filter that leaves the report out, where every fault is left open,
/// or past the step budget), the next fault could not be opened and ended the process.
/// Under [`LOCK`].
fn close_a_run(page: usize) -> Option<usize> {
    let (index, entry) = OPENED.iter().enumerate().find(|(_, entry)| {
        let first = entry.start.load(Ordering::Relaxed);
        let how = entry.how.load(Ordering::Relaxed);
        entry.tid.load(Ordering::Relaxed) == LEFT
            && how != UNUSED
            && how != PENDING
            && !(first <= page && page < first + entry.len.load(Ordering::Relaxed))
    })?;
    let how = entry.how.load(Ordering::Relaxed);
    close(
        entry.start.load(Ordering::Relaxed),
        entry.len.load(Ordering::Relaxed),
        how,
    );
    release(index);
    LEFT_OPEN.fetch_sub(1, Ordering::AcqRel);
    Some(index)
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
        MARKED_PROTECTED => {
            // Inaccessible first, then the marker (which discards the page), as the claimer
            // installs it.
            protect(start, len, libc::PROT_NONE);
            advise(start, len, MADV_GUARD_INSTALL);
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

    /// A second page the test hook steps over (never kept), for a test of its own.
    static OWN_TARGET: AtomicUsize = AtomicUsize::new(0);

    fn hook(fault: &Fault) -> Verdict {
        let page = fault.address & !(crate::os::page_size() - 1);
        let target = TARGET.load(Ordering::Acquire);
        let keep = KEEP.load(Ordering::Acquire) && page == target;
        let ours = page != 0 && (page == target || page == OWN_TARGET.load(Ordering::Acquire));
        if ours && resume_after(fault, false, &|| keep) {
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
        let claimed = claim(kept, size, crate::os::thread_id()).expect("no step has the page open");
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
        // The page between two of our own: the pages before and after are claimed below, and
        // the page after a one-page mapping may be another test's, with a claim held on it
        // (1 run in 30 of the lib tests: "not a page past it", beside
        // `a_step_does_not_wait_for_ever_for_a_claim_nobody_will_release`).
        // SAFETY: a fresh anonymous reservation of three pages.
        let reserved = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                3 * size,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(reserved, libc::MAP_FAILED);
        let page = reserved as usize + size;
        let held = begin_test_step(page, size);
        assert!(
            claim(page, size, crate::os::thread_id()).is_none(),
            "the page itself"
        );
        assert!(
            claim(page - size, 2 * size, crate::os::thread_id()).is_none(),
            "a range over it"
        );
        assert!(
            claim(page - size, size, crate::os::thread_id()).is_some(),
            "the page before"
        );
        assert!(
            claim(page + size, size, crate::os::thread_id()).is_some(),
            "the page after"
        );
        // A run left open does not count: the claimer's range operations close it.
        OPENED[held].tid.store(LEFT, Ordering::Relaxed);
        assert!(
            claim(page, size, crate::os::thread_id()).is_some(),
            "a run left open"
        );
        end_test_step(held);
        let claimed = claim(page, size, crate::os::thread_id()).expect("nothing open any more");
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
        // SAFETY: our own reservation.
        unsafe { libc::munmap(reserved, 3 * size) };
    }

    /// A claim whose thread ended without releasing it (the program's signal handler called
    /// `pthread_exit` while gpa held it): a step waiting for it frees it and goes on. One
    /// whose thread runs on and keeps it (stopped for ever in a handler, or jumped out of
    /// gpa with `longjmp`): the wait ends after its patience, and the fault is not stepped
    /// (the caller reports it). Before, both waited for ever.
    #[test]
    fn a_step_does_not_wait_for_ever_for_a_claim_nobody_will_release() {
        let size = crate::os::page_size();
        let page = mapped(libc::PROT_NONE);
        let me = self_id();
        // Ended: the claim is left behind (as by an unwinding `pthread_exit`).
        std::thread::spawn(move || {
            let held = claim(page, size, crate::os::thread_id()).expect("nothing open there");
            core::mem::forget(held);
        })
        .join()
        .unwrap();
        assert!(claimed_by_other(page, size, me), "left behind");
        let started = std::time::Instant::now();
        assert!(
            wait_for_claims(page, size, me, CLAIM_PATIENCE_NS),
            "freed, not waited out"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(!claimed_by_other(page, size, me));
        // Running on: given up after the patience asked for.
        let (tell, told) = std::sync::mpsc::channel::<()>();
        let (ready, is_ready) = std::sync::mpsc::channel::<usize>();
        let holder = std::thread::spawn(move || {
            let held = claim(page, size, crate::os::thread_id()).expect("nothing open there");
            let index = held.index;
            core::mem::forget(held);
            ready.send(index).unwrap();
            told.recv().unwrap();
        });
        let index = is_ready.recv().unwrap();
        let started = std::time::Instant::now();
        assert!(!wait_for_claims(page, size, me, 200_000_000), "gave up");
        let waited = started.elapsed();
        assert!(
            waited >= std::time::Duration::from_millis(190),
            "{waited:?}"
        );
        assert!(waited < std::time::Duration::from_secs(5), "{waited:?}");
        assert!(!reclaim_if_ended(index), "its thread runs");
        tell.send(()).unwrap();
        holder.join().unwrap();
        // `pthread_join` returns once the kernel cleared the thread's id in its descriptor
        // (`CLONE_CHILD_CLEARTID`), a moment before the task leaves the thread group, when
        // `tgkill` stops finding it (1 run in 20 of the lib tests failed here): asked again
        // for up to a second, as a waiting step does.
        let joined = std::time::Instant::now();
        while !reclaim_if_ended(index) {
            assert!(
                joined.elapsed() < std::time::Duration::from_secs(1),
                "its thread ended"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(!claimed_by_other(page, size, me));
        // SAFETY: our own mapping.
        unsafe { libc::munmap(page as *mut c_void, size) };
    }

    /// A `fork` while another thread holds a claim and has a page open for a step: the
    /// child has neither thread. After `after_fork_in_child` (the C ABI's `pthread_atfork`
    /// child handler calls it), no claim holds the child's steps off, the page is closed
    /// again and a claim of it succeeds; the forking thread's own claim stays. Before, a
    /// step of the child on the claimed page waited for ever, and the open page stayed
    /// open (and unclaimable) in the child.
    #[test]
    fn a_forked_child_drops_what_other_threads_held() {
        if !probe_works() {
            eprintln!("SKIPPED: process_vm_readv is not allowed here");
            return;
        }
        let size = crate::os::page_size();
        let claimed = mapped(libc::PROT_NONE);
        let opened = mapped(libc::PROT_NONE);
        let own = mapped(libc::PROT_NONE);
        let (tell, told) = std::sync::mpsc::channel::<()>();
        let (ready, is_ready) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || {
            let held = claim(claimed, size, crate::os::thread_id()).expect("nothing open");
            // A step of this thread with `opened` open (as `open` leaves it, `PROT_NONE`
            // made readable and writable): its trap would close it.
            with_lock(|| {
                let tid = crate::os::thread_id();
                let me = self_id();
                assert_eq!(
                    open(opened, tid, me, false, false, &|| false),
                    Opening::Stepping
                );
                true
            });
            assert!(readable(opened));
            ready.send(()).unwrap();
            told.recv().unwrap();
            drop(held);
            // SAFETY: no context: only the pages are closed.
            assert!(unsafe { finish_step(core::ptr::null_mut()) });
        });
        is_ready.recv().unwrap();
        let mine = claim(own, size, crate::os::thread_id()).expect("nothing open there");
        // SAFETY: the child calls only async-signal-safe functions and `_exit`s.
        let child = unsafe { libc::fork() };
        if child == 0 {
            after_fork_in_child();
            let me = self_id();
            let code = if claimed_by_other(claimed, size, me) {
                1
            } else if readable(opened) {
                2
            } else if claim(opened, size, 1).is_none() {
                3
            } else if CLAIMS[mine.index].owner.load(Ordering::Relaxed) != me {
                4
            } else {
                0
            };
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(code) };
        }
        assert!(child > 0);
        let mut status = 0;
        // SAFETY: our child.
        assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
        assert!(libc::WIFEXITED(status), "{status:#x}");
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "which check failed in the child"
        );
        drop(mine);
        tell.send(()).unwrap();
        other.join().unwrap();
        assert!(!readable(opened), "closed in the parent by its own trap");
        for page in [claimed, opened, own] {
            // SAFETY: our own mappings.
            unsafe { libc::munmap(page as *mut c_void, size) };
        }
    }

    /// The program's signal handler reads a kept block's page while its own thread forgets
    /// the block (`gpa::guarded::area`): the marker is in, the page still `PROT_NONE`. The
    /// step removed the marker to find the page's kind; closed as `PROT_NONE` only, the
    /// page became accessible with the protection's change that followed, a guard lost.
    /// Under a claim that marks ([`Claim::marks`]) the step closes it with a marker.
    #[test]
    fn a_step_inside_its_own_threads_marking_claim_puts_the_marker_back() {
        if !probe_works() {
            eprintln!("SKIPPED: process_vm_readv is not allowed here");
            return;
        }
        assert!(install(&[libc::SIGSEGV], hook, true));
        let size = crate::os::page_size();
        let page = mapped(libc::PROT_READ | libc::PROT_WRITE);
        // SAFETY: our own fresh page, readable and writable.
        unsafe { core::ptr::write_volatile((page + 8) as *mut u64, 0x1234) };
        assert!(protect(page, size, libc::PROT_NONE));
        let claimed = claim(page, size, crate::os::thread_id()).expect("nothing open there");
        claimed.marks();
        // `forget`'s first change: the marker, while the page is `PROT_NONE`.
        if !advise(page, size, MADV_GUARD_INSTALL) {
            eprintln!("guard markers not supported by this kernel: not tested");
            return;
        }
        OWN_TARGET.store(page, Ordering::Release);
        // SAFETY: the page faults; the hook opens it for this one access (this thread's
        // own claim is not waited for).
        let seen = unsafe { core::ptr::read_volatile((page + 8) as *const u64) };
        OWN_TARGET.store(0, Ordering::Release);
        assert_eq!(seen, 0, "the marker discarded the page");
        assert!(!readable(page), "closed again");
        // `forget`'s second change: the protection back to the mapping's.
        assert!(protect(page, size, libc::PROT_READ | libc::PROT_WRITE));
        assert!(!readable(page), "the marker is in: the page still guards");
        drop(claimed);
        assert!(advise(page, size, MADV_GUARD_REMOVE));
        assert!(readable(page));
        // SAFETY: our own mapping.
        unsafe { libc::munmap(page as *mut c_void, size) };
    }
}
