//! C++ `operator new` / `operator delete` on the GPA, and allocation families: a block freed by
//! a function of another family than the one that allocated it is a mismatched free.
//!
//! # Design
//! The preload library exports every `operator new` and `operator delete` of the Itanium C++
//! ABI (plain, array, `nothrow`, sized, `std::align_val_t`, and their combinations); each
//! forwards here with its [`Family`] and what it claims about the block ([`Release`]).
//!
//! **Families.** In check mode each block's family (`malloc`, `new`, `new[]`, aligned `new`,
//! aligned `new[]`) is the block's one-byte tag in the GPA's out-of-line slot metadata or
//! large-block header (`GeneralPurposeAllocator::set_block_tag`), set right after the
//! allocation. A release checks the tag, and the size and alignment a sized or aligned
//! `delete` passes, against the block; a difference is recorded as a
//! [`FindingKind::MismatchedFree`] with the allocation and the release traces, and the block is
//! freed anyway (as Valgrind does). Valgrind 3.19 reports `malloc` + `delete[]`, `new[]` +
//! `delete` and `new` + `free` as "Mismatched free() / delete / delete []"; it does not check
//! sizes or aligned families, which are checked here as well. In fast mode no family is
//! recorded or checked: `new` is `malloc` and every `delete` is `free`.
//!
//! **The array cookie.** `delete[]` of an array of a type with a destructor reads the element
//! count from the 8 bytes before the pointer (the Itanium ABI's array cookie). Applied by
//! mistake to a block of scalar `new`, that read lands in the front guard: scalar `new` blocks
//! keep those 8 guard bytes zero (`guard::COOKIE_TAG`), so no destructor runs and
//! `operator delete[]` receives the pointer 8 bytes before the block. That pointer is reported
//! as Valgrind does, an invalid free "8 bytes before a block of size N", with the block's
//! allocation trace ([`near_block`]), and nothing is freed.
//!
//! **`new` never returns null.** When the GPA cannot serve a request (out of memory, or over
//! `GPA_MEMORY_LIMIT`), `operator new` calls the program's `std::new_handler` and retries, as
//! the standard asks; without a handler it throws `std::bad_alloc`. Rust cannot throw a C++
//! exception, so the C++ runtime the program already uses throws it: its
//! `std::__throw_bad_alloc()` (libstdc++, or libc++'s `std::__1::` one) and
//! `std::get_new_handler()` are found with `dlsym` when needed. The exception unwinds through
//! the exported `extern "C-unwind"` functions and the Rust frames below them (no locks are
//! held there). A process without a C++ runtime cannot catch the exception anyway: it gets a
//! message and `abort`, as libstdc++ does when built without exceptions. The `nothrow`
//! variants return null at once without calling the new handler (libstdc++ calls it and
//! catches what it throws; a Rust caller cannot catch a C++ exception).
//!
//! # Invariants
//! * A live check-mode block's tag is its family ([`Family::tag`]); `malloc` and friends leave
//!   it 0 (`Malloc`), and `realloc` of any block returns a `malloc` block.
//! * Nothing here holds a lock or the GPA's re-entrancy guard while calling the new handler or
//!   throwing.

use super::recorded::FindingList;
use super::{gpa, guard, MIN_ALIGN};
use crate::gpa::{BlockInfo, GeneralPurposeAllocator, InsideAllocator};
use crate::report::{FindingKind, RawFinding};

/// How a block was allocated (the C ABI's allocation families).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Family {
    /// `malloc`, `calloc`, `realloc`, `memalign`... (released by `free`).
    Malloc = 0,
    /// Scalar `operator new` (released by `operator delete`).
    New = 1,
    /// `operator new[]` (released by `operator delete[]`).
    NewArray = 2,
    /// `operator new(size, std::align_val_t)` (released by the aligned `operator delete`).
    NewAligned = 3,
    /// `operator new[](size, std::align_val_t)` (released by the aligned `operator delete[]`).
    NewArrayAligned = 4,
}

/// The tag bits that hold the family (the others belong to the front guard).
const FAMILY_BITS: u8 = 0x0f;

impl Family {
    /// The family recorded in a block tag.
    pub fn from_tag(tag: u8) -> Family {
        match tag & FAMILY_BITS {
            1 => Family::New,
            2 => Family::NewArray,
            3 => Family::NewAligned,
            4 => Family::NewArrayAligned,
            _ => Family::Malloc,
        }
    }

    /// The block tag for this family: scalar `new` blocks also keep a zero array cookie.
    pub fn tag(self) -> u8 {
        match self {
            Family::New | Family::NewAligned => self as u8 | guard::COOKIE_TAG,
            _ => self as u8,
        }
    }

    /// The allocating functions, as reports name them.
    pub fn allocator(self) -> &'static str {
        match self {
            Family::Malloc => "malloc",
            Family::New => "operator new",
            Family::NewArray => "operator new[]",
            Family::NewAligned => "operator new(std::align_val_t)",
            Family::NewArrayAligned => "operator new[](std::align_val_t)",
        }
    }
}

/// A release of a block: which function, of which family, claiming which size and alignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release {
    /// The family the releasing function belongs to.
    pub family: Family,
    /// The size a sized `delete` (or `free_sized`) passes.
    pub size: Option<usize>,
    /// The alignment an aligned `delete` (or `free_aligned_sized`) passes.
    pub align: Option<usize>,
    /// The releasing function, as reports name it.
    pub name: &'static str,
}

impl Release {
    /// C `free`.
    pub const FREE: Release = Release {
        family: Family::Malloc,
        size: None,
        align: None,
        name: "free",
    };

    /// C `realloc` (of a non-null block).
    pub const REALLOC: Release = Release {
        name: "realloc",
        ..Release::FREE
    };

    /// An `operator delete` of `family`, sized and aligned as given.
    pub fn delete(family: Family, size: Option<usize>, align: Option<usize>) -> Release {
        let name = match (family, size.is_some()) {
            (Family::NewArray, false) => "operator delete[](void*)",
            (Family::NewArray, true) => "operator delete[](void*, unsigned long)",
            (Family::NewAligned, false) => "operator delete(void*, std::align_val_t)",
            (Family::NewAligned, true) => "operator delete(void*, unsigned long, std::align_val_t)",
            (Family::NewArrayAligned, false) => "operator delete[](void*, std::align_val_t)",
            (Family::NewArrayAligned, true) => {
                "operator delete[](void*, unsigned long, std::align_val_t)"
            }
            (Family::Malloc, _) => "free",
            (Family::New, false) => "operator delete(void*)",
            (Family::New, true) => "operator delete(void*, unsigned long)",
        };
        Release {
            family,
            size,
            align,
            name,
        }
    }
}

/// Mismatched frees (and invalid frees next to a block) found here.
static FINDINGS: FindingList = FindingList::new();

/// Distinct findings kept; repeats of one (same kind, block, traces) only count up.
const MAX_FINDINGS: usize = 10_000;

fn record(finding: RawFinding) {
    FINDINGS.record(finding, MAX_FINDINGS, true, |seen, finding| {
        seen.kind == finding.kind
            && seen.address == finding.address
            && seen.size == finding.size
            && seen.alloc_trace == finding.alloc_trace
            && seen.site_trace == finding.site_trace
            && seen.freed_by == finding.freed_by
            && seen.call == finding.call
            && seen.argument == finding.argument
            // A fishy argument's repeats at one call are one context whatever their value
            // (memcheck shows the first).
            && (seen.claimed_size == finding.claimed_size
                || finding.kind == FindingKind::FishyValue)
    });
}

/// This module's findings, in the program's terms; the record is cleared. Symbolizes (call
/// it at exit): mismatches that another copy of the C++ runtime explains are dropped (see
/// [`explained_by_another_runtime`]).
pub fn take_findings() -> std::vec::Vec<RawFinding> {
    let mut findings = FINDINGS.take();
    let _inside = InsideAllocator::enter();
    findings.retain(|finding| !explained_by_another_runtime(finding));
    findings
}

/// As [`take_findings`], but empty instead of waiting when the record's lock is taken (for a
/// crash report).
pub fn try_take_findings() -> std::vec::Vec<RawFinding> {
    let mut findings = FINDINGS.try_take();
    let _inside = InsideAllocator::enter();
    findings.retain(|finding| !explained_by_another_runtime(finding));
    findings
}

/// Whether a mismatch is only apparent: a copy of `operator new`/`operator delete` other than
/// gpa's (a library linked with `-static-libstdc++`, or one loaded with `RTLD_DEEPBIND` that
/// binds to libstdc++'s own) allocates with `malloc` and frees with `free`, so a block of its
/// `new` looks like a `malloc` block, and a `delete` of it looks like `free`. The first caller
/// of gpa's entry point outside gpa tells, or the function that caller called (a `delete`
/// that tail-called `free` left no frame). Valgrind reports these as mismatches.
///
/// Only an out-of-line global `operator new` or `operator delete` explains one
/// ([`out_of_line`]): such a frame is named from the symbol table with its parameters
/// (`operator new(unsigned long)`, `operator delete[](void*)`). A frame named without them
/// (`operator new`) is a call inlined into the program, named by its DWARF `DW_AT_name`,
/// which a class's own `operator new` also has: at -O2 a class's
/// `operator new` calling `malloc`, inlined, undone by the global `delete` (CERT MEM51-CPP,
/// `cli/tests/cert_sweep/mem_cpp.cpp`) was taken for another runtime's pair and not
/// reported, where Valgrind reports a mismatched free.
fn explained_by_another_runtime(finding: &RawFinding) -> bool {
    if finding.kind != FindingKind::MismatchedFree {
        return false;
    }
    let caller = |id| crate::report::symbolize::first_caller(id).unwrap_or_default();
    let freed_by_delete = finding
        .freed_by
        .is_some_and(|name| name.starts_with("operator delete"));
    let allocated_by_new = finding
        .allocated_by
        .is_some_and(|name| name.starts_with("operator new"));
    match (finding.allocated_by, finding.freed_by) {
        (Some("malloc"), _) if freed_by_delete => {
            out_of_line(&caller(finding.alloc_trace), "operator new")
        }
        (_, Some("free")) if allocated_by_new => {
            // Its `operator delete` usually ends in `jmp free`: its caller's call names it.
            let callee = crate::report::symbolize::called_function(finding.site_trace);
            out_of_line(&caller(finding.site_trace), "operator delete")
                || callee.is_some_and(|name| out_of_line(&name, "operator delete"))
        }
        _ => false,
    }
}

/// Whether frame name `name` is the global `operator` (`operator new`, `operator delete`) or
/// its array form as an out-of-line function names it, with its parameters
/// (`operator new[](unsigned long)`), not as DWARF names an inlined call (`operator new`,
/// which a class's own operator has too).
fn out_of_line(name: &str, operator: &str) -> bool {
    name.strip_prefix(operator)
        .is_some_and(|rest| rest.starts_with('(') || rest.starts_with("[]("))
}

/// Records a fishy value (check and guard modes): `value`, argument `argument` of allocation
/// function `function`, is negative when read as a signed number (a negative `int` converted
/// to `size_t`), as Valgrind memcheck reports it. Returns whether it was.
#[cold]
#[inline(never)]
pub fn fishy_value(function: &'static str, argument: &'static str, value: usize) -> bool {
    if (value as isize) >= 0 {
        return false;
    }
    // Realigned: some callers run on the program's stack as it called them (`calloc`, a
    // failed `posix_memalign`, `operator new`), which may be misaligned. Cold: the closure's
    // cost does not matter here.
    crate::os::stack::on_aligned_stack(|| fishy_value_aligned(function, argument, value))
}

/// [`fishy_value`] of a negative `value`, on a 16-byte-aligned stack.
#[inline(never)]
fn fishy_value_aligned(function: &'static str, argument: &'static str, value: usize) -> bool {
    let gpa = super::gpa();
    if !gpa.config().safety {
        return true;
    }
    let mut finding = RawFinding::new(FindingKind::FishyValue, 0);
    finding.call = Some(function);
    finding.argument = Some(argument);
    finding.claimed_size = value;
    finding.site_trace = site_trace(gpa);
    record(finding);
    true
}

fn site_trace(gpa: &GeneralPurposeAllocator) -> crate::trace::TraceId {
    // The unwinder may allocate (a new unwind rule): on the internal heap.
    let _inside = InsideAllocator::enter();
    crate::trace::capture_id(gpa.config().stack_trace_frames, gpa.config().trace_method)
}

/// Checks a release of the live block at user pointer `user` (front pad `pad`, as the GPA
/// knows it: `info`) against the block's family, size and alignment; records a mismatch.
/// Returns whether it matched.
pub fn check_release(
    gpa: &GeneralPurposeAllocator,
    user: *mut u8,
    pad: usize,
    info: &BlockInfo,
    release: Release,
) -> bool {
    let family = Family::from_tag(info.tag);
    let size = info.layout.size().saturating_sub(pad);
    let align = info.layout.align();
    let size_differs = release.size.is_some_and(|claimed| claimed != size);
    let align_differs = release
        .align
        .is_some_and(|claimed| claimed.max(MIN_ALIGN) != align);
    if family == release.family && !size_differs && !align_differs {
        return true;
    }
    report_mismatch(gpa, user as usize, size, align, info, family, release);
    false
}

#[cold]
#[inline(never)]
fn report_mismatch(
    gpa: &GeneralPurposeAllocator,
    user: usize,
    size: usize,
    align: usize,
    info: &BlockInfo,
    family: Family,
    release: Release,
) {
    let mut finding = RawFinding::new(FindingKind::MismatchedFree, user);
    finding.size = size;
    finding.align = align;
    finding.claimed_size = release.size.unwrap_or(0);
    finding.claimed_align = release.align.unwrap_or(0);
    finding.alloc_trace = info.alloc_trace;
    finding.site_trace = site_trace(gpa);
    finding.allocated_by = Some(family.allocator());
    finding.freed_by = Some(release.name);
    record(finding);
}

/// For a pointer that is no block's start: a live block that starts at most [`guard::FRONT`]
/// bytes after it, reported as Valgrind describes it ("8 bytes before a block of size 4":
/// typically `delete[]` of a scalar `new` object, which passes the array cookie's address).
/// Returns whether it found and reported one; the block is not freed.
pub fn near_block(gpa: &GeneralPurposeAllocator, memory: *mut u8) -> bool {
    let address = memory as usize;
    let misalignment = address % MIN_ALIGN;
    if misalignment == 0 {
        return false;
    }
    let next = address + (MIN_ALIGN - misalignment);
    let Some((base, pad)) = guard::base_of(gpa, next as *mut u8) else {
        return false;
    };
    let Some(info) = gpa.block_info(base) else {
        return false;
    };
    let mut finding = RawFinding::new(FindingKind::InvalidFree, address);
    finding.size = info.layout.size().saturating_sub(pad);
    finding.offset = Some(address as isize - next as isize);
    finding.alloc_trace = info.alloc_trace;
    finding.site_trace = site_trace(gpa);
    record(finding);
    true
}

// ---- operator new ----

/// One attempt at a block of `family`; null on failure. Inlined into the exported `operator
/// new`s, so that check mode's realigned call of [`new_checked`] is made from the exported
/// function's frame: a capture from `new_checked`'s frame then climbs one frame of this
/// library, as `malloc`'s does (out of line, this function's frame was a second one: 36
/// instructions more a check-mode `operator new[]` than with no realignment at all, by
/// callgrind); fast mode's attempt is out of line ([`try_new_fast`]).
#[inline(always)]
pub fn try_new(size: usize, family: Family, align: usize) -> *mut u8 {
    let gpa = gpa();
    if !gpa.config().safety {
        return try_new_fast(gpa, size, align);
    }
    // Realigned: a program may call `operator new` on a misaligned stack, as `malloc`
    // (`os::stack::call_realigned`; before, check and guard modes' `operator new` ran there
    // as called and faulted: `cli/tests/h2h_sweep/misaligned_new.cpp`).
    #[cfg(target_arch = "x86_64")]
    return crate::os::stack::call_realigned!(
        new_checked,
        gpa as *const GeneralPurposeAllocator,
        size,
        family as usize,
        align
    ) as *mut u8;
    #[cfg(not(target_arch = "x86_64"))]
    new_checked(gpa, size, family as usize, align)
}

/// Fast mode's [`try_new`]: a block of the GPA (`operator new(0)` gets a unique one).
#[inline(never)]
fn try_new_fast(gpa: &GeneralPurposeAllocator, size: usize, align: usize) -> *mut u8 {
    gpa.alloc_unsized(size, align)
}

/// Check mode's `operator new` of `family` (its discriminant: `Family as usize`), on a
/// 16-byte-aligned stack ([`try_new`] calls it through `os::stack::call_realigned`, hence the
/// C ABI; `C-unwind` as `capi::malloc_general`); null when it fails (the caller then calls the
/// new handler or throws, on the program's stack: no exception leaves this function).
#[inline(never)]
extern "C-unwind" fn new_checked(
    gpa: &GeneralPurposeAllocator,
    size: usize,
    family: usize,
    align: usize,
) -> *mut u8 {
    // The discriminant back (`from_tag` reads the family's bits of a tag).
    let family = Family::from_tag(family as u8);
    if !align.is_power_of_two() {
        return core::ptr::null_mut();
    }
    // The check-mode entry first (its trace remembered from this function's frame, as
    // `malloc`'s), else the general path.
    let block = guard::alloc_tagged_at(gpa, size, align, family.tag(), crate::os::frame_address());
    if !block.is_null() {
        return block;
    }
    // Plain `operator new` takes `malloc`'s implicit alignment, which guard mode may lower
    // (`guard::block_align`); the `std::align_val_t` forms name theirs.
    let asked = match family {
        Family::NewAligned | Family::NewArrayAligned => guard::Asked::Explicit,
        _ => guard::Asked::Implicit,
    };
    guard::alloc_tagged(gpa, size, align, asked, family.tag())
}

/// `operator new` of `family` at `align` (16 for the unaligned forms): never null. On failure
/// the new handler runs and the allocation is retried; without a handler `std::bad_alloc` is
/// thrown (see the module docs). `nothrow`: null on failure instead.
#[inline]
pub fn operator_new(size: usize, family: Family, align: usize, nothrow: bool) -> *mut u8 {
    let block = try_new_counted(size, family, align);
    if !block.is_null() {
        return block;
    }
    new_failed(size, family, align, nothrow)
}

/// [`try_new`] counted as a C call in progress (`gpa::CCall`: a program's signal handler
/// waits for its end). Only the attempt: the new handler and the `bad_alloc` thrown after it
/// unwind through `operator_new`'s frames, which must hold nothing to drop (the library is
/// built with `panic = "abort"`: a foreign exception met a frame with a cleanup and
/// libgcc's unwinder aborted the process).
fn try_new_counted(size: usize, family: Family, align: usize) -> *mut u8 {
    let _call = crate::gpa::CCall::enter();
    try_new(size, family, align)
}

#[cold]
#[inline(never)]
fn new_failed(size: usize, family: Family, align: usize, nothrow: bool) -> *mut u8 {
    let function = if family == Family::NewArray {
        "operator new[]"
    } else {
        "operator new"
    };
    fishy_value(function, "size", size);
    if nothrow {
        return core::ptr::null_mut();
    }
    loop {
        // An invalid alignment can never succeed: no handler can help (libstdc++ throws).
        let handler = if align.is_power_of_two() {
            runtime::new_handler()
        } else {
            None
        };
        match handler {
            // SAFETY: the program's own new handler, called as `operator new` would; it may
            // throw, which unwinds through the `C-unwind` callers.
            Some(handler) => unsafe { handler() },
            None => runtime::throw_bad_alloc(),
        }
        let block = try_new_counted(size, family, align);
        if !block.is_null() {
            return block;
        }
    }
}

// ---- operator delete ----

/// `operator delete` of any form: null is ignored; in check mode the release is checked.
/// Inlined into the exported `operator delete`s, as [`try_new`] into the `operator new`s
/// (out of line: 22 instructions more a check-mode `operator delete[]`); fast mode's release
/// is out of line ([`delete_fast`]).
///
/// # Safety
/// In fast mode, `memory` is null or a live block from these functions or `malloc`.
#[inline(always)]
pub unsafe fn operator_delete(memory: *mut u8, release: Release) {
    let _call = crate::gpa::CCall::enter();
    let gpa = gpa();
    if !gpa.config().safety {
        // SAFETY: forwarded caller contract.
        return unsafe { delete_fast(gpa, memory) };
    }
    if memory.is_null() {
        return;
    }
    // Realigned, as in [`try_new`] (`operator delete` on a misaligned stack faulted too).
    #[cfg(target_arch = "x86_64")]
    crate::os::stack::call_realigned!(
        delete_checked,
        gpa as *const GeneralPurposeAllocator,
        memory,
        &release as *const Release
    );
    #[cfg(not(target_arch = "x86_64"))]
    delete_checked(gpa, memory, &release);
}

/// Fast mode's [`operator_delete`].
///
/// # Safety
/// As for [`operator_delete`].
#[inline(never)]
unsafe fn delete_fast(gpa: &GeneralPurposeAllocator, memory: *mut u8) {
    // SAFETY: forwarded caller contract.
    unsafe { super::free_fast(gpa, memory) }
}

/// Check mode's `operator delete` of a non-null pointer: the check-mode entry first
/// (`guard::release_at`, the free trace remembered from this function's frame, as `free`'s),
/// which takes a live block of the release's family, size and alignment; anything else (a
/// mismatch included) the general path checks and reports. On a 16-byte-aligned stack, as
/// [`new_checked`] ([`operator_delete`] calls it through `os::stack::call_realigned`).
#[inline(never)]
extern "C-unwind" fn delete_checked(
    gpa: &GeneralPurposeAllocator,
    memory: *mut u8,
    release: &Release,
) {
    // For a leak scan that stops this thread meanwhile (`scan::InFlight`), as `free`'s.
    super::scan::releasing(memory);
    let frame = crate::os::frame_address();
    let tag = release.family.tag();
    if !guard::release_at(gpa, memory, tag, release.size, release.align, frame) {
        super::release_checked(gpa, memory, *release);
    }
    super::scan::landed();
}

/// The C++ runtime's pieces `operator new` needs, found in the process with `dlsym`.
mod runtime {
    /// `std::new_handler`.
    pub type NewHandler = unsafe extern "C-unwind" fn();
    type GetNewHandler = unsafe extern "C" fn() -> Option<NewHandler>;
    type Throw = unsafe extern "C-unwind" fn() -> !;

    fn lookup(names: &[&core::ffi::CStr]) -> Option<usize> {
        names.iter().find_map(|name| {
            // SAFETY: `dlsym` with the default scope and a NUL-terminated name.
            let address = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
            (!address.is_null()).then_some(address as usize)
        })
    }

    /// The installed `std::new_handler`, if any (`std::get_new_handler`, C++11).
    pub fn new_handler() -> Option<NewHandler> {
        let get = lookup(&[c"_ZSt15get_new_handlerv"])?;
        // SAFETY: `std::get_new_handler` has this signature in libstdc++ and libc++abi.
        let get: GetNewHandler = unsafe { core::mem::transmute::<usize, GetNewHandler>(get) };
        // SAFETY: `get_new_handler` is `noexcept` and takes no arguments.
        unsafe { get() }
    }

    /// Throws `std::bad_alloc` through the program's C++ runtime; aborts without one.
    pub fn throw_bad_alloc() -> ! {
        let names = [
            c"_ZSt17__throw_bad_allocv",
            c"_ZNSt3__117__throw_bad_allocEv",
        ];
        if let Some(throw) = lookup(&names) {
            // SAFETY: `std::__throw_bad_alloc()` takes no arguments and never returns.
            let throw: Throw = unsafe { core::mem::transmute::<usize, Throw>(throw) };
            // SAFETY: as above; the exception unwinds through `C-unwind` frames only.
            unsafe { throw() }
        }
        crate::os::write_stderr(
            b"gpa: operator new: out of memory, and no C++ runtime is loaded to throw \
              std::bad_alloc; aborting\n",
        );
        std::process::abort()
    }
}

#[cfg(test)]
mod tests {
    use super::out_of_line;

    #[test]
    fn only_an_out_of_line_global_operator_explains_a_mismatch() {
        // Out of line, named from the symbol table: another runtime's copy may be one.
        assert!(out_of_line("operator new(unsigned long)", "operator new"));
        assert!(out_of_line("operator new[](unsigned long)", "operator new"));
        assert!(out_of_line("operator delete(void*)", "operator delete"));
        assert!(out_of_line(
            "operator delete[](void*, unsigned long)",
            "operator delete"
        ));
        // Inlined (DWARF's short name, which a class's own operator has), a class's own out of
        // line, or another function: never.
        assert!(!out_of_line("operator new", "operator new"));
        assert!(!out_of_line("operator delete", "operator delete"));
        assert!(!out_of_line(
            "Pooled::operator new(unsigned long)",
            "operator new"
        ));
        assert!(!out_of_line("operator new_handler()", "operator new"));
        assert!(!out_of_line("", "operator new"));
    }
}
