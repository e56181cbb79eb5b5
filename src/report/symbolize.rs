//! Symbolization: return addresses to function, file and line, only when a report is made.
//!
//! # Design
//! Uses the `backtrace` crate (gimli/addr2line over the loaded objects' debug info, cached per
//! object). It allocates, so the GPA calls it only outside its locks and with the thread marked
//! as "internal", which routes those allocations to the internal heap when a GPA is the global
//! allocator. Leading frames that belong to the allocator itself or to the allocation plumbing
//! of std, `alloc` and `allocator_api2` are dropped here, so that a trace starts at the user's
//! code and the configured depth counts only user frames.

use super::Frame;
use crate::trace::{self, TraceId};

/// Symbol prefixes (after an optional leading `<`) of frames that are allocation plumbing.
const PLUMBING_PREFIXES: &[&str] = &[
    "gpa::gpa::",
    "gpa::interface::",
    "gpa::trace::",
    "gpa::allocators::",
    "gpa::testing::",
    "gpa::report::",
    "gpa::capi",
    "gpa_capi::",
    "alloc::",
    "allocator_api2::",
    "core::",
    "std::alloc::",
    "hashbrown::",
    "std::collections::",
    "__rust",
    "__rdl",
    "__rg_",
    "backtrace::",
];

/// Frames where a program's own code ends and the runtime's start-up begins: a trace is cut
/// there, so that it ends at `main` (or at the test function).
const RUNTIME_BOUNDARIES: &[&str] = &[
    "std::sys::backtrace::__rust_begin_short_backtrace",
    "test::__rust_begin_short_backtrace",
    "std::rt::lang_start",
    "std::thread::Builder::spawn_unchecked_",
    "__libc_start_call_main",
];

fn is_runtime_boundary(function: &str) -> bool {
    RUNTIME_BOUNDARIES
        .iter()
        .any(|prefix| function.starts_with(prefix))
}

fn is_call_shim(function: &str) -> bool {
    function.starts_with("core::ops::function::")
        || function.starts_with("<") && function.contains("as core::ops::function::FnOnce")
}

/// The C allocation entry points of `libgpa_preload.so` (exact names: a user's `malloc_foo`
/// is not plumbing).
const C_ENTRY_POINTS: &[&str] = &[
    "malloc",
    "free",
    "calloc",
    "realloc",
    "reallocarray",
    "posix_memalign",
    "aligned_alloc",
    "memalign",
    "valloc",
    "pvalloc",
    "free_sized",
    "free_aligned_sized",
];

fn is_plumbing(function: &str) -> bool {
    // Trait impls print as `<Type as Trait>::method`, also `<&Type ...` or `<&mut Type ...`.
    let name = function.trim_start_matches(['<', '&']);
    let name = name.strip_prefix("mut ").unwrap_or(name);
    PLUMBING_PREFIXES
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || C_ENTRY_POINTS.contains(&function)
        || implements_allocation_trait(function)
}

/// `<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem` and the like: std's and
/// allocator_api2's allocation traits implemented for a user's or a primitive type are still
/// plumbing. (Other traits, such as `Display`, are the user's code.)
fn implements_allocation_trait(function: &str) -> bool {
    const TRAITS: &[&str] = &["alloc::", "core::alloc::", "allocator_api2::"];
    function.starts_with('<')
        && function
            .split_once(" as ")
            .is_some_and(|(_, tail)| TRAITS.iter().any(|prefix| tail.starts_with(prefix)))
}

/// Resolves one return address into its frames (more than one where calls were inlined),
/// innermost first.
pub fn resolve_address(address: usize) -> std::vec::Vec<Frame> {
    let mut frames = std::vec::Vec::new();
    backtrace::resolve(address as *mut core::ffi::c_void, |symbol| {
        frames.push(Frame {
            address,
            function: symbol.name().map(|name| format!("{name:#}")),
            file: symbol.filename().map(|path| path.display().to_string()),
            line: symbol.lineno(),
            module: None,
            module_offset: None,
        });
    });
    if frames.is_empty() {
        frames.push(Frame {
            address,
            function: None,
            file: None,
            line: None,
            module: None,
            module_offset: None,
        });
    }
    frames
}

/// The shared library this code is in, when it is one (`libgpa_preload.so`): no user code
/// lives there. `None` when gpa is linked into the executable.
fn own_library() -> Option<crate::os::LoadedObject> {
    let own = crate::os::object_containing(own_library as *const () as usize)?;
    // SAFETY: getauxval has no preconditions; AT_ENTRY is the executable's entry point.
    let entry = unsafe { libc::getauxval(libc::AT_ENTRY) } as usize;
    let executable = crate::os::object_containing(entry);
    (executable != Some(own)).then_some(own)
}

/// Symbolizes an interned trace, drops leading plumbing frames and keeps `depth` frames
/// (`depth == 0` keeps all).
pub fn symbolize(id: TraceId, depth: usize) -> std::vec::Vec<Frame> {
    symbolize_from(id, depth, true)
}

/// As [`symbolize`], keeping the allocator's own frames at the start (for an internal error,
/// where they are the point).
pub fn symbolize_all(id: TraceId, depth: usize) -> std::vec::Vec<Frame> {
    symbolize_from(id, depth, false)
}

fn symbolize_from(id: TraceId, depth: usize, skip_plumbing: bool) -> std::vec::Vec<Frame> {
    let raw = trace::frames_of(id);
    let mut frames = std::vec::Vec::new();
    let mut in_plumbing = skip_plumbing;
    let own = own_library();
    for &address in raw.addresses() {
        // Leading frames in gpa's own shared library are plumbing: skip them without reading
        // its debug information (the costliest part of symbolizing).
        if in_plumbing && own.is_some_and(|own| address >= own.start && address < own.end) {
            continue;
        }
        for frame in resolve_address(address) {
            if in_plumbing && frame.function.as_deref().is_some_and(is_plumbing) {
                continue;
            }
            in_plumbing = false;
            frames.push(frame);
        }
    }
    if frames.is_empty() {
        // Everything looked like plumbing (say, a test inside this crate): keep the raw stack.
        frames = raw
            .addresses()
            .iter()
            .flat_map(|&a| resolve_address(a))
            .collect();
    }
    if let Some(end) = frames
        .iter()
        .position(|frame| frame.function.as_deref().is_some_and(is_runtime_boundary))
    {
        frames.truncate(end);
        while frames.len() > 1
            && frames
                .last()
                .and_then(|f| f.function.as_deref())
                .is_some_and(is_call_shim)
        {
            frames.pop();
        }
    }
    if depth != 0 {
        frames.truncate(depth);
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_plumbing_is_recognized_and_user_code_is_not() {
        for plumbing in [
            "<gpa::gpa::GeneralPurposeAllocator as core::alloc::global::GlobalAlloc>::alloc",
            "<&gpa::gpa::GeneralPurposeAllocator as allocator_api2::stable::alloc::Allocator>::allocate",
            "<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem",
            "alloc::raw_vec::finish_grow",
            "allocator_api2::stable::raw_vec::RawVec<T,A>::allocate_in",
            "__rust_alloc",
        ] {
            assert!(is_plumbing(plumbing), "{plumbing}");
        }
        for user in [
            "my_crate::parse",
            "<my_crate::Thing as core::fmt::Display>::fmt",
            "gpa_basic::leaks_a_vector",
        ] {
            assert!(!is_plumbing(user), "{user}");
        }
    }
}
