//! The leak report at process exit, for a GPA that is the `#[global_allocator]`: asked for
//! once, in `main` ([`GeneralPurposeAllocator::report_leaks_at_exit`]).
//!
//! # Design
//! An `atexit` handler, registered when asked, runs after `main` returns (or `exit` is
//! called) and after the main thread's thread-local destructors. It holds the re-entrancy
//! guard throughout, so what it allocates (symbolization, the graph, the report's text) comes
//! from the internal heap and never changes the heap it judges. Steps, those of `gpa run`'s
//! exit report ([`crate::leakcheck`]) for a Rust program:
//! 1. flush the calling thread's quarantine (checks the poison of recently freed blocks);
//! 2. the live blocks of the exiting thread's heap, of exited threads' heaps, and the large
//!    and guarded blocks;
//! 3. the reachability graph over them, from the process's roots
//!    ([`crate::leakcheck::roots`]): every readable and writable mapping not managed by a GPA
//!    (the mappings the GPA keeps for reuse, freed blocks' old contents, go back to the OS
//!    first),
//!    this thread's stack only from the frame that called `exit` (the start-up code's when
//!    `main` returned: `main`'s dead frame holds stale pointers Valgrind ignores), with the
//!    callee-saved registers that frame and `exit`'s left ([`roots::caller_frame`]), other
//!    threads' stacks whole; every block gets Valgrind's loss kind;
//! 4. std's own runtime blocks and marked caches ([`super::caches`]) are left out, then the
//!    rest grouped into loss records (by kind and allocation trace, numbered "loss record X
//!    of Y");
//! 5. the records of Valgrind's default `--show-leak-kinds` (definitely and possibly lost)
//!    with their allocation traces, then the leak summary (all four kinds), go to stderr,
//!    whatever `Config::on_error` says (nobody can read a recorded report after exit). Under
//!    `OnError::Record`, findings recorded during the run and not taken are printed first
//!    (the other settings printed them when they were found).
//!
//! # Limits
//! Leaving out std's runtime blocks needs allocation traces (`Config::debug()`, or safety with
//! `stack_trace_frames` in release builds). Blocks of threads still running at exit are not
//! examined (their stacks are roots, whole). Unlike `gpa run` and Valgrind, glibc's exit-time
//! frees (`__libc_freeres`) are not run first: other threads may still run; so the stacks
//! glibc caches for exited threads are roots. No suppressions. Valgrind ignores words whose
//! bits are undefined (never written); gpa cannot tell: a stale pointer copied with a struct's
//! padding keeps its block reachable. One such case: when std flushes stdout at exit it moves
//! a new writer into `STDOUT`, padding copied from its stack, which may hold a user block's
//! address from earlier frames (seen with Rust 1.95 in a debug build).
//!
//! # Invariants
//! * At most one GPA per process asks: the handler reports the first one that asked.

use core::sync::atomic::{AtomicPtr, Ordering};

use super::{heap, GeneralPurposeAllocator, InsideAllocator, OnError};
use crate::leakcheck::roots::{self, LiveStack, OwnState};
use crate::leakcheck::{self, Graph, Heuristics, KindSet, LeaderOrder, Maps, Totals};

/// The GPA whose leaks are reported at exit (null: none asked).
static AT_EXIT: AtomicPtr<GeneralPurposeAllocator> = AtomicPtr::new(core::ptr::null_mut());

impl GeneralPurposeAllocator {
    /// Reports this GPA's leaks on stderr when the process exits, as Valgrind memcheck does:
    /// call it once in `main` for the GPA that is the `#[global_allocator]`. Each block still
    /// allocated is judged from the process's roots (definitely, indirectly or possibly lost,
    /// or still reachable); the definitely and possibly lost ones are shown as loss records
    /// with their allocation traces, and a leak summary counts all four kinds. Left out: std's
    /// own runtime blocks (stdout's buffer, the main thread's information) and marked caches.
    /// Calling it again, or for another GPA, does nothing.
    ///
    /// ```no_run
    /// use gpa::{Config, GeneralPurposeAllocator};
    ///
    /// #[global_allocator]
    /// static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config::debug());
    ///
    /// fn main() {
    ///     GPA.report_leaks_at_exit();
    ///     // ...
    /// }
    /// ```
    pub fn report_leaks_at_exit(&'static self) {
        let me = self as *const GeneralPurposeAllocator as *mut GeneralPurposeAllocator;
        if AT_EXIT
            .compare_exchange(
                core::ptr::null_mut(),
                me,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
        {
            // SAFETY: `report_at_exit` is an `extern "C" fn()` of this program, alive until
            // it ends.
            unsafe { libc::atexit(report_at_exit) };
        }
    }
}

extern "C" fn report_at_exit() {
    // SAFETY: only `report_leaks_at_exit` stores here, a `&'static GeneralPurposeAllocator`.
    let Some(gpa) = (unsafe { AT_EXIT.load(Ordering::Acquire).as_ref() }) else {
        return;
    };
    let _inside = InsideAllocator::enter();
    // The hook is this program's own code: only the C library's frames lie between `exit`
    // and it.
    let caller = roots::caller_frame(report_at_exit as *const () as usize, false);
    // Found here, before the work may move to another stack.
    let this_thread = LiveStack::this_thread_all(&caller);
    crate::os::signal::with_stack_room(&mut || {
        gpa.flush_thread_quarantine();
        if gpa.config.on_error == OnError::Record {
            let recorded = gpa.take_report();
            if !recorded.findings.is_empty() {
                crate::os::write_stderr(format!("{recorded}").as_bytes());
            }
        }
        crate::os::write_stderr(gpa.exit_leak_report(&this_thread).as_bytes());
    });
}

impl GeneralPurposeAllocator {
    /// The leak report at exit as text (see the module docs). `live_stack` is where the live
    /// frames of this thread's stack begin (`None`: its stack is no root).
    fn exit_leak_report(&self, this_thread: &[LiveStack]) -> String {
        let me = heap::current_thread_id();
        let mut blocks = std::vec::Vec::new();
        // SAFETY: the included heaps are this thread's and those of exited threads (owner 0),
        // as `detect_leaks` walks them.
        unsafe {
            self.for_each_live_block_of(
                |owner| {
                    if owner == me || owner == 0 {
                        super::Examine::Yes
                    } else {
                        super::Examine::No
                    }
                },
                &|_, _| true,
                |block| blocks.push(*block),
            );
        }
        // The mappings kept for reuse hold freed blocks' old contents: no roots.
        self.release_reusable_large();
        let maps = Maps::read();
        let mut graph = Graph::new(blocks, &maps, Heuristics::ALL);
        if self.config.safety {
            // Safety mode's blocks carry their serials: the clique leaders go by allocation
            // order, as memcheck's (by address, in its heap) mostly do.
            graph.leaders_in(LeaderOrder::Serials);
        }
        let stacks = this_thread;
        // The library's thread-locals of this thread. Threads still running are not stopped
        // here: their thread pointers are unknown, and their stacks, which hold their TLS
        // blocks, are roots whole (see `roots`).
        let own = OwnState::new(&super::own_thread_locals(), &[])
            .with_trace_caches()
            .with_trace_store()
            .with_allocator_metadata()
            .with_own_signal_stacks(stacks);
        roots::scan_mappings(
            &mut graph,
            &maps,
            stacks,
            &GeneralPurposeAllocator::manages,
            &own,
        );
        let mut judged = graph.finish();
        // std's runtime blocks still take part in the graph (what they point to is reached).
        judged.retain(|block| !super::caches::left_out(block.block.alloc_trace, true));
        let records = leakcheck::loss_records(&judged);
        if records.is_empty() {
            return "info(gpa): no leaks at exit\n".into();
        }
        let mut text = String::new();
        let mut totals = Totals::default();
        for (index, record) in records.iter().enumerate() {
            totals.add(record, false);
            if !KindSet::DEFINITE_POSSIBLE.contains(record.kind) {
                continue;
            }
            let mut finding =
                crate::report::render(&record.to_raw_finding(), self.config.stack_trace_frames);
            finding.message = record.header(index + 1, records.len());
            text.push_str(&format!("{finding}\n"));
        }
        text.push_str(&totals.to_text());
        text
    }
}
