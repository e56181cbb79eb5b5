//! Settings of the preloaded allocator, from environment variables read without allocating.
//!
//! # Design
//! The first `malloc` of a process may come before `main`, from the dynamic loader's
//! `dlsym`, or from a thread-exit hook, so settings are parsed from `getenv`'s bytes with
//! integer arithmetic only. A `malloc` from the executable's `.preinit_array` comes before
//! libc has set `environ` (`getenv` finds nothing then): the `GPA_*` variables are read from
//! `/proc/self/environ` instead ([`env_bytes`]).
//!
//! Everything is read **once, at start-up** (the preload library's constructor, or the first
//! `malloc` if that comes earlier): a program that later calls `clearenv`, `setenv` or
//! `putenv` changes neither its checks nor where its report goes. Paths (`GPA_LOG`,
//! `GPA_JSON`, `GPA_REPORT_DIR`, `GPA_PROFILE`) are copied into static buffers ([`SavedPath`]), made absolute
//! against the working directory of that moment (a later `chdir` does not move the report);
//! nothing here keeps a pointer into the environment, and nothing allocates.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `GPA_MODE` | `check` (safety, traces, report at exit), `guard` (check mode with every block against a guard page) or `fast` (no checks) | `check` |
//! | `GPA_GUARD_SAMPLE` | guard about one allocation in N (in check or fast mode) | off |
//! | `GPA_GUARD_UNDERFLOW` | `1`: guarded blocks start against their guard page (underflows fault) | off |
//! | `GPA_GUARD_FLUSH` | `1`: in guard mode, blocks of `malloc`, `calloc`, `realloc` and `operator new` end flush against their guard page, whatever their size (no alignment slack: a read of the byte after the end faults; blocks are no longer 16-byte aligned, see `capi::guard`) | off |
//! | `GPA_QUARANTINE` | bytes of freed blocks kept from reuse: guarded blocks' quarantine (address space only) and, in check mode, each thread's | 1g / 256k |
//! | `GPA_GUARD_PAGES` | `mprotect`: guard pages by `mprotect` even where the kernel has `MADV_GUARD_INSTALL` | |
//! | `GPA_FRAMES` | frames kept per stack trace in check mode (0 to 32) | 8 |
//! | `GPA_MEMORY_LIMIT` | fail allocations past this many requested bytes | none |
//! | `GPA_SHOW_LEAK_KINDS` | loss kinds listed at exit (`definite,indirect,possible,reachable`, `all`, `none`) | `definite,possible` |
//! | `GPA_SHOW_REACHABLE` | `1`: list every loss kind (as `GPA_SHOW_LEAK_KINDS=all`) | off |
//! | `GPA_ERRORS_FOR_LEAK_KINDS` | loss kinds that count as errors (for `gpa run --error-exitcode`) | `definite,possible` |
//! | `GPA_LEAK_CHECK_HEURISTICS` | memcheck's interior-pointer heuristics (`stdstring,length64,newarray,multipleinheritance`) and gpa's `gobject`, `all`, `none` | `all` |
//! | `GPA_RUN_LIBC_FREERES` | `0`: do not let glibc free what it keeps until exit before the leak check | `1` |
//! | `GPA_SUPPRESSIONS` | suppression files (Valgrind or LeakSanitizer format), separated by `:` | none |
//! | `GPA_DEFAULT_SUPPRESSIONS` | `0`: do not apply gpa's built-in suppressions (glibc's own blocks) | `1` |
//! | `GPA_GEN_SUPPRESSIONS` | `1`: print a suppression entry after each finding | off |
//! | `GPA_LOG` | file the text report is appended to (else stderr) | stderr |
//! | `GPA_JSON` | file the JSON report is written to | none |
//! | `GPA_PROFILE` | profile the heap; a value other than `1` is also where the profile goes in DHAT's format (`super::profile`) | off |
//! | `GPA_REPORT_DIR` | directory for the events and reports of every process of a run (`<pid>.<n>`, `<pid>.<n>.json`, `<pid>.<n>.txt`; see `capi::process`), used by `gpa run` | none |
//! | `GPA_REPORT_FD` | `<fd>:<device>:<inode>`: the report directory held open by an image that entered another mount namespace or changed its root, passed to the image it `exec`s (set by the library itself, `capi::process::events`) | none |

use core::cell::UnsafeCell;
use core::ffi::CStr;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::leakcheck::{Heuristics, KindSet};

/// Which allocator configuration the process runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Safety checks, stack traces, a report at exit.
    Check,
    /// No checks: a drop-in fast `malloc`.
    Fast,
    /// Check mode with every block on pages of its own against a guard page: reads and writes
    /// past the end and uses after free fault and are reported at the access.
    Guard,
}

impl Mode {
    /// Whether the process is checked (findings recorded, a report at exit).
    pub fn checks(self) -> bool {
        self != Mode::Fast
    }

    /// The mode `GPA_MODE` asks for (no allocation), as [`Settings::from_env`] reads it.
    pub fn from_env() -> Mode {
        match env_bytes(c"GPA_MODE") {
            Some(b"fast") => Mode::Fast,
            Some(b"guard") => Mode::Guard,
            _ => Mode::Check,
        }
    }
}

/// The settings read at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Check or fast.
    pub mode: Mode,
    /// Frames per stack trace (check mode).
    pub frames: usize,
    /// Limit of requested bytes of live blocks.
    pub memory_limit: Option<usize>,
    /// Guard about one allocation in this many (0: off; guard mode guards all).
    pub guard_sample: usize,
    /// Guarded blocks start against their guard page.
    pub guard_underflow: bool,
    /// Guard mode's `malloc` blocks end flush against their guard page (alignment 1).
    pub guard_flush: bool,
    /// Bytes of freed blocks kept from reuse, where set.
    pub quarantine: Option<usize>,
    /// Loss kinds listed in the report.
    pub show_kinds: KindSet,
    /// Loss kinds that count as errors.
    pub error_kinds: KindSet,
    /// Interior-pointer heuristics of the leak check.
    pub heuristics: Heuristics,
    /// Let glibc free what it keeps until exit before the leak check (as Valgrind does).
    pub run_freeres: bool,
    /// Suppression files, `:`-separated (the environment's bytes).
    pub suppressions: Option<&'static [u8]>,
    /// Apply the built-in suppressions.
    pub default_suppressions: bool,
    /// Print a suppression entry after each finding.
    pub gen_suppressions: bool,
    /// `GPA_WHO_POINTS_AT=ADDRESS[:LENGTH]` (a debugging aid): the exit scan lists every word
    /// pointing into `[address, address + length)` on stderr, as memcheck's `who_points_at`.
    /// Held as `(!address, length)`: this static lies in a root (the library's data), and
    /// the address itself there would be one more pointer to the watched block.
    pub who_points_at: Option<(usize, usize)>,
}

/// Frames per trace when `GPA_FRAMES` is not set: Valgrind's default `--num-callers` (12).
/// With 8, a C++ container's allocation at -O0 (`push_back`, `_M_realloc_insert`,
/// `allocate` and `operator new`, inlined templates compiled into the program) left no frame
/// of the program's own in 14 of 150 traces of the Infer sweep (docs/sweeps/infer_pulse.md).
pub const DEFAULT_FRAMES: usize = 12;

impl Settings {
    /// Reads the settings from the environment (no allocation).
    pub fn from_env() -> Settings {
        let mode = Mode::from_env();
        let frames = env_bytes(c"GPA_FRAMES")
            .and_then(parse_usize)
            .map_or(DEFAULT_FRAMES, |frames| {
                frames.min(crate::trace::MAX_FRAMES)
            });
        let memory_limit = env_bytes(c"GPA_MEMORY_LIMIT").and_then(parse_usize);
        let guard_sample = env_bytes(c"GPA_GUARD_SAMPLE")
            .and_then(parse_usize)
            .unwrap_or(0);
        let guard_underflow = is_yes(c"GPA_GUARD_UNDERFLOW");
        let guard_flush = is_yes(c"GPA_GUARD_FLUSH");
        let quarantine = env_bytes(c"GPA_QUARANTINE").and_then(parse_usize);
        let kinds = |name: &CStr| {
            env_bytes(name)
                .and_then(|bytes| core::str::from_utf8(bytes).ok())
                .and_then(KindSet::parse_names)
        };
        let show_kinds = if is_yes(c"GPA_SHOW_REACHABLE") {
            KindSet::ALL
        } else {
            kinds(c"GPA_SHOW_LEAK_KINDS").unwrap_or(KindSet::DEFINITE_POSSIBLE)
        };
        let error_kinds = kinds(c"GPA_ERRORS_FOR_LEAK_KINDS").unwrap_or(KindSet::DEFINITE_POSSIBLE);
        let heuristics = env_bytes(c"GPA_LEAK_CHECK_HEURISTICS")
            .and_then(|bytes| core::str::from_utf8(bytes).ok())
            .and_then(Heuristics::parse)
            .unwrap_or(Heuristics::ALL);
        Settings {
            mode,
            frames,
            memory_limit,
            guard_sample,
            guard_underflow,
            guard_flush,
            quarantine,
            show_kinds,
            error_kinds,
            heuristics,
            run_freeres: !is_no(c"GPA_RUN_LIBC_FREERES"),
            suppressions: env_bytes(c"GPA_SUPPRESSIONS").filter(|bytes| !bytes.is_empty()),
            default_suppressions: !is_no(c"GPA_DEFAULT_SUPPRESSIONS"),
            gen_suppressions: is_yes(c"GPA_GEN_SUPPRESSIONS"),
            who_points_at: env_bytes(c"GPA_WHO_POINTS_AT")
                .and_then(parse_range)
                .map(|(address, length)| (!address, length)),
        }
    }
}

// Inlined into `Settings::from_env`, which fast mode's start-up runs from `.text.gpa_fast`
// (`capi/fast-path.ld`): an out-of-line copy faulted in another 64 KiB of the library.
#[inline(always)]
fn is_yes(name: &CStr) -> bool {
    matches!(env_bytes(name), Some(b"1" | b"yes" | b"true" | b"all"))
}

#[inline(always)]
fn is_no(name: &CStr) -> bool {
    matches!(env_bytes(name), Some(b"0" | b"no" | b"false"))
}

/// The longest path kept (Linux's `PATH_MAX`); a longer setting is ignored.
pub const PATH_CAPACITY: usize = 4096;

/// A path or name saved once, at start-up, in a static buffer (no allocation, no pointer
/// into the environment).
///
/// # Invariants
/// `bytes[..len]` is written once, before `state` = `len + 2` is published with `Release`;
/// `state` is 0 while nothing is saved and 1 while one thread saves. An unsaved value is all
/// zero bytes, so the statics of this type live in `.bss`, whose pages cost a process
/// nothing until written (in `.data`, a non-zero initial state put all seven of them, 28 KiB,
/// in every process's resident set: issue 14, fast mode's peak RSS).
pub struct SavedPath {
    state: AtomicUsize,
    bytes: UnsafeCell<[u8; PATH_CAPACITY]>,
}

// SAFETY: the buffer is written by one thread before `state` is published (`save` claims the
// slot with a compare-and-swap first) and only read after `state` is seen (`Acquire`).
unsafe impl Sync for SavedPath {}

const UNSAVED: usize = 0;
const SAVING: usize = 1;
/// `state` of a saved value is its length plus this.
const SAVED: usize = 2;

impl SavedPath {
    /// Nothing saved yet.
    pub const fn new() -> SavedPath {
        SavedPath {
            state: AtomicUsize::new(UNSAVED),
            bytes: UnsafeCell::new([0; PATH_CAPACITY]),
        }
    }

    /// Saves `parts` concatenated, once; later calls, and values longer than
    /// [`PATH_CAPACITY`] - 1, are ignored. Returns whether this call saved it.
    pub fn save(&self, parts: &[&[u8]]) -> bool {
        let total: usize = parts.iter().map(|part| part.len()).sum();
        if total >= PATH_CAPACITY
            || self
                .state
                .compare_exchange(UNSAVED, SAVING, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return false;
        }
        // SAFETY: the compare-and-swap above makes this the only writer, and no reader looks
        // at the bytes before `state` is published below.
        let bytes = unsafe { &mut *self.bytes.get() };
        let mut at = 0;
        for part in parts {
            bytes[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        bytes[at] = 0;
        self.state.store(at + SAVED, Ordering::Release);
        true
    }

    /// The saved bytes (never empty), or `None`.
    pub fn get(&self) -> Option<&[u8]> {
        let len = self.state.load(Ordering::Acquire).checked_sub(SAVED)?;
        if len == 0 {
            return None;
        }
        // SAFETY: `len` was published after the bytes were written, and they never change
        // again (type invariant).
        Some(unsafe { &(&*self.bytes.get())[..len] })
    }

    /// The saved bytes as a C string (NUL-terminated in the buffer).
    pub fn get_c(&self) -> Option<&CStr> {
        let len = self.get()?.len();
        // SAFETY: `save` wrote the bytes and a NUL at `len` before publishing `len`; they
        // never change again.
        let bytes = unsafe { &(&*self.bytes.get())[..=len] };
        CStr::from_bytes_until_nul(bytes).ok()
    }
}

impl Default for SavedPath {
    fn default() -> Self {
        Self::new()
    }
}

/// `GPA_REPORT_DIR` as it was at start-up.
pub static REPORT_DIR: SavedPath = SavedPath::new();
/// `GPA_LOG` as it was at start-up.
pub static LOG: SavedPath = SavedPath::new();
/// `GPA_JSON` as it was at start-up.
pub static JSON: SavedPath = SavedPath::new();
/// `GPA_PROFILE` as it was at start-up (`super::profile`).
pub static PROFILE: SavedPath = SavedPath::new();

/// Saves the report paths of the environment (once per process; see the module docs).
pub fn save_paths() {
    static SAVED: AtomicBool = AtomicBool::new(false);
    if SAVED.swap(true, Ordering::AcqRel) {
        return;
    }
    let mut cwd = [0u8; PATH_CAPACITY];
    let mut cwd_len = None;
    for (name, saved) in [
        (c"GPA_REPORT_DIR", &REPORT_DIR),
        (c"GPA_LOG", &LOG),
        (c"GPA_JSON", &JSON),
        (c"GPA_PROFILE", &PROFILE),
    ] {
        let Some(value) = env_bytes(name).filter(|value| !value.is_empty()) else {
            continue;
        };
        if value[0] == b'/' {
            saved.save(&[value]);
            continue;
        }
        let len = *cwd_len.get_or_insert_with(|| {
            // SAFETY: the buffer is writable for its length; `getcwd` NUL-terminates.
            let ok = !unsafe { libc::getcwd(cwd.as_mut_ptr().cast(), cwd.len()) }.is_null();
            if ok {
                cwd.iter().position(|&byte| byte == 0).unwrap_or(0)
            } else {
                0
            }
        });
        if len == 0 {
            saved.save(&[value]);
        } else {
            saved.save(&[&cwd[..len], b"/", value]);
        }
    }
}

extern "C" {
    /// libc's environment: null until libc's own initialization sets it, which comes after
    /// the functions of the executable's `.preinit_array` (they get `envp` as an argument).
    static environ: *const *const core::ffi::c_char;
}

/// The value of an environment variable, as bytes (no allocation).
///
/// Before libc has set `environ` (a `malloc` from the executable's `.preinit_array`, which
/// runs before every shared library's constructor, libc's included), `getenv` finds nothing:
/// `GPA_*` variables are then read from `/proc/self/environ` ([`early_env_bytes`]), or the
/// process would take the defaults and report to stderr instead of to `gpa run`.
pub fn env_bytes(name: &CStr) -> Option<&'static [u8]> {
    // SAFETY: a pointer-sized static libc defines, read once (it is set before any thread
    // other than the main one exists).
    if unsafe { core::ptr::read_volatile(&raw const environ) }.is_null() {
        return early_env_bytes(name.to_bytes());
    }
    // SAFETY: `name` is NUL-terminated; `getenv` returns null or a NUL-terminated string that
    // lives in the environment, which the process does not free while we read it.
    unsafe {
        let value = libc::getenv(name.as_ptr());
        (!value.is_null()).then(|| CStr::from_ptr(value).to_bytes())
    }
}

/// The `GPA_*` entries of the process's initial environment (`NAME=value`, each followed by a
/// NUL), read from `/proc/self/environ` by [`early_env_bytes`].
static EARLY_ENVIRONMENT: SavedPath = SavedPath::new();

/// The value of `name` in the process's initial environment, for the time before libc has set
/// `environ`; only `GPA_*` names are kept (up to [`PATH_CAPACITY`] bytes of them in all).
/// Out of line and cold, so that [`env_bytes`] stays as small as the `getenv` call it was
/// (it is inlined into fast mode's start-up path, `capi/fast-path.ld`).
#[cold]
#[inline(never)]
fn early_env_bytes(name: &[u8]) -> Option<&'static [u8]> {
    const PREFIX: &[u8] = b"GPA_";
    if !name.starts_with(PREFIX) {
        return None;
    }
    if EARLY_ENVIRONMENT.get().is_none() {
        let file = super::process::sys::Fd::open_read(c"/proc/self/environ").ok()?;
        let mut kept = [0u8; PATH_CAPACITY];
        let mut len = 0;
        // Where the current entry starts in `kept`, how many of its bytes were read, and
        // whether it is still kept (its first bytes are `GPA_`).
        let (mut entry_start, mut position, mut keep) = (0, 0, true);
        let mut chunk = [0u8; 1024];
        let mut offset = 0;
        loop {
            let got = file.read_at(&mut chunk, offset);
            if got == 0 {
                break;
            }
            offset += got as u64;
            for &byte in chunk.iter().take(got) {
                if keep
                    && PREFIX
                        .get(position)
                        .is_some_and(|&expected| expected != byte)
                {
                    keep = false;
                    len = entry_start;
                }
                if keep {
                    // One byte is left for `SavedPath::save`'s NUL.
                    let slot = kept.get_mut(len).filter(|_| len + 1 < PATH_CAPACITY)?;
                    *slot = byte;
                    len += 1;
                }
                position += 1;
                if byte == 0 {
                    (entry_start, position, keep) = (len, 0, true);
                }
            }
        }
        EARLY_ENVIRONMENT.save(&[kept.get(..len)?]);
    }
    let entries: &'static [u8] = EARLY_ENVIRONMENT.get()?;
    entries
        .split(|&byte| byte == 0)
        .find_map(|entry| entry.strip_prefix(name)?.strip_prefix(b"="))
}

/// Parses `ADDRESS[:LENGTH]`: the address in hexadecimal (`0x` optional), the length as
/// [`parse_usize`] reads it (1 when left out).
pub fn parse_range(text: &[u8]) -> Option<(usize, usize)> {
    let (address, length) = match text.iter().position(|&byte| byte == b':') {
        Some(colon) => (&text[..colon], parse_usize(&text[colon + 1..])?),
        None => (text, 1),
    };
    let digits = address
        .strip_prefix(b"0x")
        .or_else(|| address.strip_prefix(b"0X"))
        .unwrap_or(address);
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut value: usize = 0;
    for &digit in digits {
        let nibble = (digit as char).to_digit(16)? as usize;
        value = (value << 4) | nibble;
    }
    Some((value, length.max(1)))
}

/// Parses a decimal number, with an optional `k`, `m` or `g` suffix (powers of 1024).
pub fn parse_usize(text: &[u8]) -> Option<usize> {
    let (digits, scale) = match text.last()? {
        b'k' | b'K' => (&text[..text.len() - 1], 1usize << 10),
        b'm' | b'M' => (&text[..text.len() - 1], 1 << 20),
        b'g' | b'G' => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: usize = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = value
            .checked_mul(10)?
            .checked_add(usize::from(digit - b'0'))?;
    }
    value.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_ranges() {
        assert_eq!(parse_range(b"0x2040004193a0"), Some((0x2040_0041_93a0, 1)));
        assert_eq!(parse_range(b"7fff0010:512"), Some((0x7fff_0010, 512)));
        assert_eq!(parse_range(b"0X10:1m"), Some((0x10, 1 << 20)));
        assert_eq!(parse_range(b"0x10:0"), Some((0x10, 1)));
        assert_eq!(parse_range(b""), None);
        assert_eq!(parse_range(b"0x"), None);
        assert_eq!(parse_range(b"0xfg"), None);
        assert_eq!(parse_range(b"0x10:"), None);
        assert_eq!(parse_range(b"0x10000000000000000"), None);
    }

    #[test]
    fn numbers_and_suffixes() {
        assert_eq!(parse_usize(b"0"), Some(0));
        assert_eq!(parse_usize(b"1234"), Some(1234));
        assert_eq!(parse_usize(b"4k"), Some(4096));
        assert_eq!(parse_usize(b"3M"), Some(3 << 20));
        assert_eq!(parse_usize(b"1g"), Some(1 << 30));
        assert_eq!(parse_usize(b""), None);
        assert_eq!(parse_usize(b"k"), None);
        assert_eq!(parse_usize(b"12x"), None);
        assert_eq!(parse_usize(b"99999999999999999999999"), None);
    }

    #[test]
    fn saved_path_is_written_once() {
        let saved = SavedPath::new();
        assert_eq!(saved.get(), None);
        assert!(saved.save(&[b"/tmp", b"/", b"x"]));
        assert!(!saved.save(&[b"/other"]));
        assert_eq!(saved.get(), Some(&b"/tmp/x"[..]));
        assert_eq!(saved.get_c(), Some(c"/tmp/x"));
        let long = [b'a'; PATH_CAPACITY];
        let too_long = SavedPath::new();
        assert!(!too_long.save(&[&long]));
        assert_eq!(too_long.get(), None);
    }
}
