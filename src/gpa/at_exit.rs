//! The leak report at process exit, for a GPA that is the `#[global_allocator]`: asked for
//! once, in `main` ([`GeneralPurposeAllocator::report_leaks_at_exit`]).
//!
//! # Design
//! An `atexit` handler, registered when asked, runs after `main` returns (or `exit` is
//! called) and after the main thread's thread-local destructors. It holds the re-entrancy
//! guard throughout, so what it allocates (symbolization, the report's text) comes from the
//! internal heap and never changes the heap it judges. Steps: flush the calling thread's
//! quarantine (checks the poison of recently freed blocks), then
//! [`GeneralPurposeAllocator::detect_leaks`] over the blocks of the exiting thread and of
//! threads that have exited, which leaves out std's own runtime blocks and marked caches
//! ([`super::caches`]), and the report goes to stderr (whatever `Config::on_error` says:
//! nobody can read a recorded report after exit).
//!
//! # Limits
//! Leaving out std's runtime blocks needs allocation traces (`Config::debug()`, or safety with
//! `stack_trace_frames` in release builds). Blocks of threads still running at exit are not
//! examined.
//!
//! # Invariants
//! * At most one GPA per process asks: the handler reports the first one that asked.

use core::sync::atomic::{AtomicPtr, Ordering};

use super::{GeneralPurposeAllocator, InsideAllocator, OnError};

/// The GPA whose leaks are reported at exit (null: none asked).
static AT_EXIT: AtomicPtr<GeneralPurposeAllocator> = AtomicPtr::new(core::ptr::null_mut());

impl GeneralPurposeAllocator {
    /// Reports this GPA's leaks on stderr when the process exits: call it once in `main` for
    /// the GPA that is the `#[global_allocator]`. Left out: std's own runtime blocks (stdout's
    /// buffer, the main thread's information) and marked caches. Calling it again, or for
    /// another GPA, does nothing.
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
    gpa.flush_thread_quarantine();
    let leaked = gpa.detect_leaks();
    if leaked == 0 {
        crate::os::write_stderr(b"info(gpa): no leaks at exit\n");
        return;
    }
    if gpa.config.on_error == OnError::Record {
        // `detect_leaks` recorded without printing: print what was recorded and not taken.
        crate::os::write_stderr(format!("{}", gpa.take_report()).as_bytes());
    }
}
