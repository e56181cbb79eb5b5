//! Settings of the preloaded allocator, from environment variables read without allocating.
//!
//! # Design
//! The first `malloc` of a process may come before `main`, from the dynamic loader's
//! `dlsym`, or from a thread-exit hook, so settings are parsed from `getenv`'s bytes with
//! integer arithmetic only. Paths (`GPA_LOG`, `GPA_JSON`, `GPA_REPORT_DIR`) are read again at
//! exit, where allocating is fine, so nothing here holds a pointer into the environment.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `GPA_MODE` | `check` (safety, traces, report at exit) or `fast` (no checks) | `check` |
//! | `GPA_FRAMES` | frames kept per stack trace in check mode (0 to 32) | 8 |
//! | `GPA_MEMORY_LIMIT` | fail allocations past this many requested bytes | none |
//! | `GPA_SHOW_LEAK_KINDS` | loss kinds listed at exit (`definite,indirect,possible,reachable`, `all`, `none`) | `definite,possible` |
//! | `GPA_SHOW_REACHABLE` | `1`: list every loss kind (as `GPA_SHOW_LEAK_KINDS=all`) | off |
//! | `GPA_ERRORS_FOR_LEAK_KINDS` | loss kinds that count as errors (for `gpa run --error-exitcode`) | `definite,possible` |
//! | `GPA_LEAK_CHECK_HEURISTICS` | memcheck's interior-pointer heuristics (`stdstring,length64,newarray,multipleinheritance`, `all`, `none`) | `all` |
//! | `GPA_RUN_LIBC_FREERES` | `0`: do not let glibc free what it keeps until exit before the leak check | `1` |
//! | `GPA_SUPPRESSIONS` | suppression files (Valgrind or LeakSanitizer format), separated by `:` | none |
//! | `GPA_DEFAULT_SUPPRESSIONS` | `0`: do not apply gpa's built-in suppressions (glibc's own blocks) | `1` |
//! | `GPA_GEN_SUPPRESSIONS` | `1`: print a suppression entry after each finding | off |
//! | `GPA_LOG` | file the text report is appended to (else stderr) | stderr |
//! | `GPA_JSON` | file the JSON report is written to | none |
//! | `GPA_REPORT_DIR` | directory for per-process reports (`<pid>.json`, `<pid>.txt`), used by `gpa run` | none |

use core::ffi::CStr;

use crate::leakcheck::{Heuristics, KindSet};

/// Which allocator configuration the process runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Safety checks, stack traces, a report at exit.
    Check,
    /// No checks: a drop-in fast `malloc`.
    Fast,
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
}

/// Frames per trace when `GPA_FRAMES` is not set.
pub const DEFAULT_FRAMES: usize = 8;

impl Settings {
    /// Reads the settings from the environment (no allocation).
    pub fn from_env() -> Settings {
        let mode = match env_bytes(c"GPA_MODE") {
            Some(b"fast") => Mode::Fast,
            _ => Mode::Check,
        };
        let frames = env_bytes(c"GPA_FRAMES")
            .and_then(parse_usize)
            .map_or(DEFAULT_FRAMES, |frames| {
                frames.min(crate::trace::MAX_FRAMES)
            });
        let memory_limit = env_bytes(c"GPA_MEMORY_LIMIT").and_then(parse_usize);
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
            show_kinds,
            error_kinds,
            heuristics,
            run_freeres: !is_no(c"GPA_RUN_LIBC_FREERES"),
            suppressions: env_bytes(c"GPA_SUPPRESSIONS").filter(|bytes| !bytes.is_empty()),
            default_suppressions: !is_no(c"GPA_DEFAULT_SUPPRESSIONS"),
            gen_suppressions: is_yes(c"GPA_GEN_SUPPRESSIONS"),
        }
    }
}

fn is_yes(name: &CStr) -> bool {
    matches!(env_bytes(name), Some(b"1" | b"yes" | b"true" | b"all"))
}

fn is_no(name: &CStr) -> bool {
    matches!(env_bytes(name), Some(b"0" | b"no" | b"false"))
}

/// The value of an environment variable, as bytes (no allocation).
pub fn env_bytes(name: &CStr) -> Option<&'static [u8]> {
    // SAFETY: `name` is NUL-terminated; `getenv` returns null or a NUL-terminated string that
    // lives in the environment, which the process does not free while we read it.
    unsafe {
        let value = libc::getenv(name.as_ptr());
        (!value.is_null()).then(|| CStr::from_ptr(value).to_bytes())
    }
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
}
