//! The heap profile of a preloaded process (`gpa run --profile`, or `GPA_PROFILE`).
//!
//! # Design
//! When `GPA_PROFILE` is set, the library's constructor starts a profiling session
//! (`crate::profile`) on the process's GPA, in fast or in check mode, and registers an `atexit`
//! handler that writes the profile. In check mode every C block carries a front guard
//! (`super::guard`): the observer hook reports the GPA's blocks, so the sizes are translated
//! back to what the program asked for before they are recorded. Traces are captured with the
//! mode's unwinder (C programs have no frame pointers), one per allocation.
//!
//! | variable | meaning |
//! |---|---|
//! | `GPA_PROFILE` | `1` (or any value): profile the process. A value other than `1` is also a path the profile is written to in DHAT's format at exit (`%p` becomes the pid; relative to the working directory at start-up) |
//! | `GPA_REPORT_DIR` | as for the report: the profile is also written there, as `<pid>.dhat.json` (DHAT's format) and, with `GPA_PROFILE_JSON=1`, `<pid>.profile.json` (gpa's form, with the timeline, for `gpa run --json` and `--html`) |
//!
//! The `atexit` handler is registered after the check-mode report's, so it runs first: the
//! profile ends when the program's own exit handlers have run. `_exit` and `_Exit` (which
//! `super::process` interposes) write it too, under the same deadline as the report; a
//! process ended by a signal writes none. `fork` handlers hold the session's lock across
//! `fork`, so the child (which profiles itself from then on, with what it inherited) never
//! finds it taken.
//!
//! # Invariants
//! * [`SESSION`] is set once, by the constructor, before the observer is registered.

use core::ptr::NonNull;
use std::sync::OnceLock;

use super::guard;
use super::process::events;
use super::settings::{self, env_bytes, Mode};
use crate::gpa::observer::Observer;
use crate::gpa::{GeneralPurposeAllocator, InsideAllocator};
use crate::profile::recorder::{Session, Settings};
use crate::profile::{command_line, Options, Profile};
use crate::trace::TraceId;

static SESSION: OnceLock<&'static Session> = OnceLock::new();

/// Whether the environment asks for a profile (`GPA_PROFILE` set and not empty or `0`).
pub fn requested() -> bool {
    env_bytes(c"GPA_PROFILE").is_some_and(|value| !value.is_empty() && value != b"0")
}

/// Whether this process is being profiled.
pub fn active() -> bool {
    SESSION.get().is_some_and(|session| !session.is_stopped())
}

/// Whether `GPA_PROFILE` named a file (not just `1`) at start-up.
static DHAT_FILE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
/// Whether `GPA_PROFILE_JSON` asked for gpa's form in the report directory.
static NATIVE_JSON: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Check and guard mode's observer: block sizes without the front guard.
struct Unguarded(&'static Session);

impl Observer for Unguarded {
    fn on_alloc(
        &self,
        gpa: &GeneralPurposeAllocator,
        ptr: NonNull<u8>,
        size: usize,
        align: usize,
        trace: TraceId,
    ) {
        let pad = guard::pad_at(gpa, ptr.as_ptr() as usize, size, align);
        let user = size.saturating_sub(pad);
        self.0.alloc(ptr.as_ptr() as usize, user, trace);
    }

    fn on_free(&self, _gpa: &GeneralPurposeAllocator, ptr: NonNull<u8>, _size: usize) {
        self.0.free(ptr.as_ptr() as usize);
    }

    fn on_realloc(
        &self,
        gpa: &GeneralPurposeAllocator,
        old: NonNull<u8>,
        new: NonNull<u8>,
        _old_size: usize,
        new_size: usize,
    ) {
        let pad = gpa
            .block_layout(new.as_ptr())
            .map_or(guard::FRONT, |layout| {
                guard::pad_at(gpa, new.as_ptr() as usize, layout.size(), layout.align())
            });
        let user = new_size.saturating_sub(pad);
        self.0
            .realloc(old.as_ptr() as usize, new.as_ptr() as usize, user);
    }
}

/// Starts the profile when the environment asks for it (called by [`super::init`]).
pub fn start_if_requested(state: &'static super::State) {
    if !requested() || SESSION.get().is_some() {
        return;
    }
    let frames = state.settings.frames;
    let session = Session::start(Settings {
        frames,
        short_lived_ns: u64::try_from(Options::default().short_lived.as_nanos())
            .unwrap_or(u64::MAX),
    });
    if SESSION.set(session).is_err() {
        return;
    }
    let named = env_bytes(c"GPA_PROFILE").is_some_and(|value| value != b"1");
    DHAT_FILE.store(named, core::sync::atomic::Ordering::Relaxed);
    let native = env_bytes(c"GPA_PROFILE_JSON") == Some(b"1");
    NATIVE_JSON.store(native, core::sync::atomic::Ordering::Relaxed);
    let observer: &'static dyn Observer = match state.settings.mode {
        Mode::Fast => session,
        // Guard mode keeps check mode's front guards.
        Mode::Check | Mode::Guard => {
            let _inside = InsideAllocator::enter();
            std::boxed::Box::leak(std::boxed::Box::new(Unguarded(session)))
        }
    };
    if state.gpa.observe(observer, frames).is_err() {
        crate::os::write_stderr(b"gpa: cannot profile: too many allocation observers\n");
        return;
    }
    // SAFETY: the handlers are `extern "C" fn()`s that live as long as the process (this
    // library is never unloaded).
    unsafe {
        libc::atexit(at_exit);
        libc::pthread_atfork(Some(fork_prepare), Some(fork_finish), Some(fork_finish));
    }
}

/// Before `fork`: registered after the GPA's handlers, so it runs before them and takes the
/// session's lock before the GPA's (the order every path takes them in).
extern "C" fn fork_prepare() {
    if let Some(session) = SESSION.get() {
        session.lock_for_fork();
    }
}

extern "C" fn fork_finish() {
    if let Some(session) = SESSION.get() {
        // SAFETY: `fork_prepare` took the lock in this thread (or in the parent's forking
        // thread, which this child's only thread continues).
        unsafe { session.unlock_after_fork() };
    }
}

extern "C" fn at_exit() {
    write_at_end();
}

/// Ends the profile and writes it (at `exit`, `_exit`; once).
pub fn write_at_end() {
    let Some(session) = SESSION.get() else {
        return;
    };
    if session.is_stopped() || !super::process::is_original_process() {
        return;
    }
    let _inside = InsideAllocator::enter();
    let collected = session.collect(true);
    let profile = Profile::build(
        collected,
        &session.settings,
        command_line(),
        std::process::id(),
    );
    write(&profile);
}

/// Writes the profile where the start-up settings say (see the module docs).
fn write(profile: &Profile) {
    let pid = std::process::id();
    if let Some(dir) = settings::REPORT_DIR.get() {
        // Through the report directory's descriptor after a `chroot` or in another mount
        // namespace (`super::process::events`).
        let mut dhat = Vec::new();
        if crate::profile::dhat::write(profile, &mut dhat).is_ok() {
            events::write_named(dir, format!("{pid}.dhat.json").as_bytes(), &dhat);
        }
        if NATIVE_JSON.load(core::sync::atomic::Ordering::Relaxed) {
            events::write_named(
                dir,
                format!("{pid}.profile.json").as_bytes(),
                profile.to_json().to_string().as_bytes(),
            );
        }
    }
    if !DHAT_FILE.load(core::sync::atomic::Ordering::Relaxed) {
        return;
    }
    if let Some(path) = settings::PROFILE.get() {
        let path = String::from_utf8_lossy(path).replace("%p", &pid.to_string());
        if profile.write_dhat(&path).is_err() {
            crate::os::write_stderr(
                format!("gpa: cannot write the profile to {path}\n").as_bytes(),
            );
        }
    }
}
