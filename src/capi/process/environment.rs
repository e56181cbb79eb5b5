//! The environment a checked program gives the programs it starts, with gpa's settings put
//! back: under `gpa run`, a child started with `env -i`, `execle(..., envp)`, `clearenv()`
//! then `execv`, `posix_spawn(..., envp)` or Python's `subprocess.run(..., env={})` would
//! otherwise run without the preload library (unchecked), or without `GPA_REPORT_DIR` (its
//! report lost to the run). Valgrind's `--trace-children=yes` follows such children whatever
//! their environment; so does gpa.
//!
//! # Design
//! At start-up ([`save`], from the library's constructor, before `main` can change
//! `environ`) the process keeps its `GPA_*` entries (`NAME=value`, every one `gpa run` set)
//! in a static buffer. Every exec and spawn function the library exports passes its
//! environment through [`with_restored`]: when it lacks `LD_PRELOAD` naming this library, or
//! one of the saved `GPA_*` names, the child gets a copy with them restored: the library
//! put first in an existing `LD_PRELOAD` (the program's own entries kept after it, as
//! `gpa run` does) or a new `LD_PRELOAD=library` added; each missing `GPA_*` variable added
//! with its start-up value. Variables the environment has are left as the program set them
//! (a `GPA_REPORT_DIR` pointing elsewhere stays, and `gpa run` lists that child as
//! `report_elsewhere`). The child therefore sees `LD_PRELOAD` and the `GPA_*` variables, as
//! children under Valgrind see its `LD_PRELOAD`.
//!
//! Only under `gpa run` (`GPA_REPORT_DIR` set at start-up): with the library preloaded by
//! hand, an environment without it is taken as the user's wish.
//!
//! # Bounds
//! The copy is built on the stack: at most [`MAX_ENTRIES`] entries and an `LD_PRELOAD`
//! value of at most [`PRELOAD_CAPACITY`] bytes; the saved settings are at most
//! [`settings::PATH_CAPACITY`] bytes. Past these, the environment is passed as the program
//! gave it, and `gpa run` lists the child as not checked (`preload_dropped` or
//! `report_elsewhere`), as it does for what no interposition can see (a raw `execve` system
//! call, a child started by a program that is not checked).
//!
//! # Invariants
//! * Nothing here allocates or takes a lock: exec runs in `vfork` children and in the child
//!   of a `fork` made while other threads held locks. The saved settings are written once, at
//!   start-up, and only read afterwards.

use core::ffi::{c_char, CStr};

use super::super::settings::{self, SavedPath, PATH_CAPACITY};
use super::{confine, events, inspect};

/// Most entries of a rebuilt environment (its terminating null included).
pub const MAX_ENTRIES: usize = 1024;
/// Most bytes of a rebuilt `LD_PRELOAD=...` entry (its NUL included).
pub const PRELOAD_CAPACITY: usize = 2 * PATH_CAPACITY;

/// The `GPA_*` entries of the start-up environment, each `NAME=value` followed by a NUL.
static SETTINGS: SavedPath = SavedPath::new();

/// Saves the `GPA_*` entries of `envp` (the process's environment at start-up); once.
///
/// # Safety
/// `envp` is null or a null-terminated array of C strings.
pub unsafe fn save(envp: *const *const c_char) {
    let mut buffer = [0u8; PATH_CAPACITY];
    let mut len = 0;
    // SAFETY: caller contract.
    for entry in unsafe { entries(envp) } {
        if !entry.starts_with(b"GPA_") || !entry.contains(&b'=') || passed_kind(entry).is_some() {
            continue;
        }
        if len + entry.len() + 1 >= buffer.len() {
            // Too many settings to keep: none are restored (see the module docs).
            return;
        }
        buffer[len..len + entry.len()].copy_from_slice(entry);
        buffer[len + entry.len()] = 0;
        len += entry.len() + 1;
    }
    if len > 0 {
        // The last NUL is the one `save` writes.
        SETTINGS.save(&[&buffer[..len - 1]]);
    }
}

/// The saved `GPA_*` entries, as C strings in the static buffer.
fn saved_settings() -> impl Iterator<Item = &'static CStr> {
    let bytes: &'static [u8] = match SETTINGS.get() {
        Some(bytes) => bytes,
        None => &[],
    };
    let base = bytes.as_ptr();
    let mut at = 0;
    core::iter::from_fn(move || {
        if at >= bytes.len() {
            return None;
        }
        let end = at + bytes[at..].iter().position(|&byte| byte == 0)?;
        // SAFETY: the saved buffer holds the entries NUL-separated, the last one followed by
        // the NUL `SavedPath::save` wrote; it never changes again.
        let entry = unsafe { CStr::from_ptr(base.add(at).cast()) };
        at = end + 1;
        Some(entry)
    })
}

/// The entries of a null-terminated environment (none when `envp` is null).
///
/// # Safety
/// `envp` is null or a null-terminated array of C strings that outlive the iterator.
unsafe fn entries<'a>(envp: *const *const c_char) -> impl Iterator<Item = &'a [u8]> {
    let mut cursor = envp;
    core::iter::from_fn(move || {
        if cursor.is_null() {
            return None;
        }
        // SAFETY: caller contract: each entry up to the null one is a C string.
        let entry = unsafe { *cursor };
        if entry.is_null() {
            cursor = core::ptr::null();
            return None;
        }
        // SAFETY: still within the array (the entry was not the terminator).
        cursor = unsafe { cursor.add(1) };
        // SAFETY: caller contract.
        Some(unsafe { CStr::from_ptr(entry) }.to_bytes())
    })
}

/// The names of the entries passed to a new image as they are at the moment of the exec
/// (never restored from start-up): `GPA_REPORT_FD`, a descriptor of the moment
/// ([`events::passed_entry`]), and `GPA_SECCOMP_STOPPED`, the calls this process's seccomp
/// filters stop, which the new image inherits ([`confine::stopped_entry`]).
const PASSED_NAMES: [&[u8]; PASSED_KINDS] = [events::PASSED_NAME, confine::STOPPED_NAME];
/// Kinds of passed entries.
const PASSED_KINDS: usize = 2;

/// The entries to pass, by kind (`None`: nothing of that kind to pass).
type Passed<'a> = [Option<&'a CStr>; PASSED_KINDS];

/// Which of [`PASSED_NAMES`] `entry` is (`NAME=...`).
fn passed_kind(entry: &[u8]) -> Option<usize> {
    PASSED_NAMES.iter().position(|name| {
        entry
            .strip_prefix(*name)
            .is_some_and(|rest| rest.first() == Some(&b'='))
    })
}

/// The name part of `NAME=value`, with its `=`.
fn name_of(entry: &[u8]) -> &[u8] {
    entry
        .iter()
        .position(|&byte| byte == b'=')
        .map_or(entry, |equals| &entry[..=equals])
}

/// What an environment lacks.
struct Lacking {
    /// Its entries.
    count: usize,
    /// The index of the `LD_PRELOAD` entry the loader reads (the last), if any.
    preload: Option<usize>,
    /// Whether that entry names the library.
    preload_kept: bool,
    /// Saved settings it lacks.
    settings: usize,
    /// The index of its entry of each passed kind (`GPA_REPORT_FD`...), if any.
    passed_at: [Option<usize>; PASSED_KINDS],
    /// Whether it has the entry to pass of each kind (or there is none to pass).
    passed_kept: [bool; PASSED_KINDS],
}

/// # Safety
/// `envp` is null or a null-terminated array of C strings.
unsafe fn lacking(envp: *const *const c_char, library: &[u8], passed: Passed) -> Lacking {
    let mut lacking = Lacking {
        count: 0,
        preload: None,
        preload_kept: false,
        settings: 0,
        passed_at: [None; PASSED_KINDS],
        passed_kept: passed.map(|entry| entry.is_none()),
    };
    // SAFETY: caller contract.
    for (index, entry) in unsafe { entries(envp) }.enumerate() {
        lacking.count += 1;
        if let Some(value) = entry.strip_prefix(b"LD_PRELOAD=") {
            lacking.preload = Some(index);
            lacking.preload_kept = inspect::names_library(value, library);
        }
        if let Some(kind) = passed_kind(entry) {
            lacking.passed_at[kind] = Some(index);
            lacking.passed_kept[kind] =
                passed[kind].is_none_or(|passed| passed.to_bytes() == entry);
        }
    }
    for saved in saved_settings() {
        let name = name_of(saved.to_bytes());
        // SAFETY: caller contract.
        if !unsafe { entries(envp) }.any(|entry| entry.starts_with(name)) {
            lacking.settings += 1;
        }
    }
    lacking
}

/// Runs `run` (an exec or spawn) with `envp`, or with a copy of it with `LD_PRELOAD` and
/// the start-up `GPA_*` settings restored (see the module docs). A null `envp` is an empty
/// environment (the kernel's reading; `execv` after `clearenv` passes one).
///
/// When the process holds the report directory open (it entered a new mount namespace or
/// changed its root: [`events`]), the descriptor stays open across `run` and the copy names
/// it in `GPA_REPORT_FD` ([`events::Passed`]); when a seccomp filter of the process stops
/// calls, the copy names them in `GPA_SECCOMP_STOPPED` (the new image inherits the filter).
///
/// An `envp` that cannot be read whole (a wild pointer, which the kernel refuses with
/// `EFAULT`) is passed unchanged.
///
/// # Safety
/// `envp` is null, unreadable, or a null-terminated array of C strings.
pub unsafe fn with_restored<R>(
    envp: *const *const c_char,
    run: impl FnOnce(*const *const c_char) -> R,
) -> R {
    let Some(library) = super::LIBRARY.get() else {
        return run(envp);
    };
    if settings::REPORT_DIR.get().is_none() {
        return run(envp);
    }
    let _passed = events::Passed::begin();
    let mut passed_buffer = [0u8; events::PASSED_CAPACITY];
    let mut stopped_buffer = [0u8; confine::STOPPED_CAPACITY];
    let passed = [
        events::passed_entry(&mut passed_buffer),
        confine::stopped_entry(&mut stopped_buffer),
    ];
    if !super::sys::c_strings_readable(envp) {
        // A wild array or string: the kernel refuses it with `EFAULT`, as it would without
        // gpa; reading it here would fault.
        return run(envp);
    }
    // SAFETY: caller contract.
    let lacking = unsafe { lacking(envp, library, passed) };
    if lacking.preload_kept && lacking.settings == 0 && !lacking.passed_kept.contains(&false) {
        return run(envp);
    }
    // SAFETY: caller contract.
    unsafe { rebuilt(envp, &lacking, library, passed, run) }
}

/// [`with_restored`]'s copy, in a frame of its own (only exec calls that need it pay for
/// its stack).
///
/// # Safety
/// As for [`with_restored`].
#[inline(never)]
unsafe fn rebuilt<R>(
    envp: *const *const c_char,
    lacking: &Lacking,
    library: &[u8],
    passed: Passed,
    run: impl FnOnce(*const *const c_char) -> R,
) -> R {
    let mut list = [core::ptr::null::<c_char>(); MAX_ENTRIES];
    let mut preload = [0u8; PRELOAD_CAPACITY];
    // Its entries, a new `LD_PRELOAD`, the missing settings, the passed ones, the null.
    if lacking.count + 1 + lacking.settings + PASSED_KINDS + 1 > MAX_ENTRIES {
        return run(envp);
    }
    let mut len = 0;
    let mut cursor = envp;
    for index in 0..lacking.count {
        // SAFETY: caller contract: `count` entries precede the terminator.
        let entry = unsafe { *cursor };
        // SAFETY: as above.
        cursor = unsafe { cursor.add(1) };
        if Some(index) == lacking.preload && !lacking.preload_kept {
            // SAFETY: caller contract; the entry is `LD_PRELOAD=...`.
            let old = unsafe { CStr::from_ptr(entry) }.to_bytes();
            let Some(new) = preload_entry(&mut preload, library, &old[b"LD_PRELOAD=".len()..])
            else {
                return run(envp);
            };
            list[len] = new;
        } else if let Some(passed) = (0..PASSED_KINDS)
            .find(|&kind| lacking.passed_at[kind] == Some(index))
            .and_then(|kind| passed[kind])
        {
            list[len] = passed.as_ptr();
        } else {
            list[len] = entry;
        }
        len += 1;
    }
    for (entry, at) in passed.iter().zip(lacking.passed_at) {
        if let (Some(entry), None) = (entry, at) {
            list[len] = entry.as_ptr();
            len += 1;
        }
    }
    if lacking.preload.is_none() {
        let Some(new) = preload_entry(&mut preload, library, b"") else {
            return run(envp);
        };
        list[len] = new;
        len += 1;
    }
    if lacking.settings > 0 {
        for saved in saved_settings() {
            let name = name_of(saved.to_bytes());
            // SAFETY: caller contract.
            if !unsafe { entries(envp) }.any(|entry| entry.starts_with(name)) {
                list[len] = saved.as_ptr();
                len += 1;
            }
        }
    }
    list[len] = core::ptr::null();
    run(list.as_ptr())
}

/// Writes `LD_PRELOAD=library existing` (or `LD_PRELOAD=library`) and its NUL into
/// `buffer`; the entry, or `None` when it does not fit.
fn preload_entry(buffer: &mut [u8], library: &[u8], existing: &[u8]) -> Option<*const c_char> {
    let separator: &[u8] = if existing.is_empty() { b"" } else { b" " };
    let parts: [&[u8]; 4] = [b"LD_PRELOAD=", library, separator, existing];
    let total: usize = parts.iter().map(|part| part.len()).sum();
    if total + 1 > buffer.len() {
        return None;
    }
    let mut at = 0;
    for part in parts {
        buffer[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    buffer[at] = 0;
    Some(buffer.as_ptr().cast())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entries of a rebuilt environment, as text.
    ///
    /// # Safety
    /// `envp` is a null-terminated array of C strings.
    unsafe fn listed(envp: *const *const c_char) -> Vec<String> {
        // SAFETY: caller contract.
        unsafe { entries(envp) }
            .map(|entry| String::from_utf8_lossy(entry).into_owned())
            .collect()
    }

    #[test]
    fn the_library_goes_first_in_ld_preload() {
        let mut buffer = [0u8; 64];
        let entry = preload_entry(&mut buffer, b"/x/libgpa_preload.so", b"liba.so").unwrap();
        // SAFETY: `preload_entry` wrote a C string.
        let text = unsafe { CStr::from_ptr(entry) };
        assert_eq!(text, c"LD_PRELOAD=/x/libgpa_preload.so liba.so");
        let entry = preload_entry(&mut buffer, b"/x/libgpa_preload.so", b"").unwrap();
        // SAFETY: as above.
        let text = unsafe { CStr::from_ptr(entry) };
        assert_eq!(text, c"LD_PRELOAD=/x/libgpa_preload.so");
        let mut small = [0u8; 16];
        assert!(preload_entry(&mut small, b"/x/libgpa_preload.so", b"").is_none());
    }

    #[test]
    fn a_copy_keeps_the_programs_entries_and_adds_what_is_missing() {
        // This test's own process has no saved settings: only LD_PRELOAD is restored.
        let library = b"/x/libgpa_preload.so";
        let envp = [
            c"A=1".as_ptr(),
            c"LD_PRELOAD=liba.so".as_ptr(),
            c"B=2".as_ptr(),
            core::ptr::null(),
        ];
        // SAFETY: null-terminated arrays of C strings.
        unsafe {
            let found = lacking(envp.as_ptr(), library, [None; 2]);
            assert_eq!(found.count, 3);
            assert_eq!(found.preload, Some(1));
            assert!(!found.preload_kept);
            let got = rebuilt(envp.as_ptr(), &found, library, [None; 2], |new| listed(new));
            assert_eq!(
                got,
                ["A=1", "LD_PRELOAD=/x/libgpa_preload.so liba.so", "B=2"]
            );
            let empty = lacking(core::ptr::null(), library, [None; 2]);
            assert_eq!((empty.count, empty.preload), (0, None));
            let got = rebuilt(core::ptr::null(), &empty, library, [None; 2], |new| {
                listed(new)
            });
            assert_eq!(got, ["LD_PRELOAD=/x/libgpa_preload.so"]);
        }
    }

    #[test]
    fn the_held_descriptor_is_named_once_in_a_copy() {
        let library = b"/x/libgpa_preload.so";
        let passed = c"GPA_REPORT_FD=512:1:2";
        let stale = [
            c"LD_PRELOAD=/x/libgpa_preload.so".as_ptr(),
            c"GPA_REPORT_FD=513:1:2".as_ptr(),
            c"B=2".as_ptr(),
            core::ptr::null(),
        ];
        let without = [
            c"LD_PRELOAD=/x/libgpa_preload.so".as_ptr(),
            core::ptr::null(),
        ];
        // SAFETY: null-terminated arrays of C strings.
        unsafe {
            let found = lacking(stale.as_ptr(), library, [Some(passed), None]);
            assert_eq!(found.passed_at, [Some(1), None]);
            assert_eq!(found.passed_kept, [false, true]);
            let got = rebuilt(
                stale.as_ptr(),
                &found,
                library,
                [Some(passed), None],
                |new| listed(new),
            );
            assert_eq!(
                got,
                [
                    "LD_PRELOAD=/x/libgpa_preload.so",
                    "GPA_REPORT_FD=512:1:2",
                    "B=2"
                ]
            );
            let found = lacking(without.as_ptr(), library, [Some(passed), None]);
            assert_eq!(found.passed_kept, [false, true]);
            let got = rebuilt(
                without.as_ptr(),
                &found,
                library,
                [Some(passed), None],
                |new| listed(new),
            );
            assert_eq!(
                got,
                ["LD_PRELOAD=/x/libgpa_preload.so", "GPA_REPORT_FD=512:1:2"]
            );
            // Nothing held: an entry the environment has is left as it is.
            let found = lacking(stale.as_ptr(), library, [None; 2]);
            assert_eq!(found.passed_kept, [true, true]);
            // A filter's stopped calls too: replaced where the environment has a stale set,
            // added after the held descriptor's entry where it has none.
            let stopped = c"GPA_SECCOMP_STOPPED=3";
            let found = lacking(without.as_ptr(), library, [Some(passed), Some(stopped)]);
            let got = rebuilt(
                without.as_ptr(),
                &found,
                library,
                [Some(passed), Some(stopped)],
                |new| listed(new),
            );
            assert_eq!(
                got,
                [
                    "LD_PRELOAD=/x/libgpa_preload.so",
                    "GPA_REPORT_FD=512:1:2",
                    "GPA_SECCOMP_STOPPED=3"
                ]
            );
            let old = [c"GPA_SECCOMP_STOPPED=1".as_ptr(), core::ptr::null()];
            let found = lacking(old.as_ptr(), library, [None, Some(stopped)]);
            assert_eq!(found.passed_at, [None, Some(0)]);
            let got = rebuilt(
                old.as_ptr(),
                &found,
                library,
                [None, Some(stopped)],
                |new| listed(new),
            );
            assert_eq!(
                got,
                ["GPA_SECCOMP_STOPPED=3", "LD_PRELOAD=/x/libgpa_preload.so"]
            );
        }
        assert_eq!(passed_kind(b"GPA_REPORT_FD=1:2:3"), Some(0));
        assert_eq!(passed_kind(b"GPA_SECCOMP_STOPPED=ff"), Some(1));
        assert_eq!(passed_kind(b"GPA_REPORT_FDX=1"), None);
    }

    #[test]
    fn an_environment_too_big_is_passed_as_it_is() {
        let library = b"/x/libgpa_preload.so";
        let mut envp = vec![c"A=1".as_ptr(); MAX_ENTRIES];
        envp.push(core::ptr::null());
        // SAFETY: a null-terminated array of C strings.
        unsafe {
            let found = lacking(envp.as_ptr(), library, [None; 2]);
            let same = rebuilt(envp.as_ptr(), &found, library, [None; 2], |new| {
                new == envp.as_ptr()
            });
            assert!(same);
        }
    }

    #[test]
    fn names_without_values() {
        assert_eq!(name_of(b"GPA_MODE=check"), b"GPA_MODE=");
        assert_eq!(name_of(b"ODD"), b"ODD");
    }
}
