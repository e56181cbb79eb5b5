//! libc's memory and string functions, interposed: in check and guard modes each call's
//! source and destination ranges are checked against the program's heap before glibc's own
//! implementation runs (Valgrind's `vgpreload` replacements, in spirit); in fast mode the
//! call only passes through.
//!
//! # Design
//! The preload library exports `memcpy`, `strlen`, `__memcpy_chk`, ... (the `capi` crate) as
//! one indirect jump each through the slot of an [`Interposed`] here. A slot holds:
//! * before the library's constructor runs, a small bootstrap implementation ([`boot`]: `rep
//!   movsb`, volatile byte loops, which the compiler cannot turn back into a call of the
//!   function itself);
//! * after it ([`install`]), glibc's implementation, resolved once with `dlsym(RTLD_NEXT)`
//!   (which resolves glibc's IFUNCs to the variant for this CPU): fast mode, one `jmp` more
//!   than a program without gpa;
//! * or, in check and guard modes, a trampoline that passes the caller's return address (the
//!   word at the stack pointer on entry) as one more argument to the checking function.
//!
//! A checking function first asks whether the caller is gpa's own code (the preload library's
//! address range: Rust's copies, `realloc` moving a block with its front guard, the report):
//! those calls are forwarded unchecked, so gpa never checks or reports itself and never
//! recurses. Otherwise it looks up each range the call will touch
//! ([`GeneralPurposeAllocator::heap_block_at`]: one page-map load rejects stacks and statics;
//! the common case, a range inside a live small block, is answered first by the leaner
//! [`GeneralPurposeAllocator::heap_slot_at`], see [`Found`]) and, for a part outside a live block or any part of a freed one, records a finding of the
//! kinds faults get (`Overflow`/`Underflow` with the access and the offset of the first bad
//! byte, `ReadAfterFree`/`WriteAfterFree`), with the call's stack as the access stack and the
//! block's allocation (and free) traces; copies whose source and destination overlap
//! (`memcpy`, `strcpy`, `strcat`, ... as Valgrind checks them) are `Overlap` findings. Then
//! glibc's function runs as it would have: behaviour is unchanged.
//!
//! Only the in-bounds part of a heap string is read to find its end (with glibc's `memchr`),
//! so the check itself never faults on a guard page; a heap string with no terminator before
//! its block's end is one invalid read of 1 byte at the end (as Valgrind reports it), and the
//! real function then reads what it reads (in guard mode, the guard page: the fault ends the
//! run with the same finding, which the report keeps once).
//!
//! The access size a finding gives: for the `mem*` functions and writes of the string copies,
//! the bytes of the call's range outside the block (Valgrind prints the width of the load or
//! store its replacement made, 1 to 8 bytes); for reads that stop at data (a string's end, the
//! first difference of a comparison), 1 byte, the first one out of bounds.
//!
//! # Invariants
//! * A slot always holds a function with its export's C signature and behaviour; slots change
//!   only in [`install`], before `main`.
//! * Nothing here runs for calls made from the preload library itself.
//! * Findings are recorded once per kind, block and call site ([`record`]).

#![cfg(target_arch = "x86_64")]

use core::ffi::CStr;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::guard;
use crate::gpa::{GeneralPurposeAllocator, HeapSlot, InsideAllocator};
use crate::report::{Access, FindingKind, RawFinding};
use crate::trace::TraceId;

/// One interposed libc function. The exported function jumps through [`Interposed::slot`],
/// the first word of the structure.
#[repr(C)]
pub struct Interposed {
    /// Where the exported function jumps: a bootstrap implementation, glibc's, or the
    /// checking trampoline.
    pub slot: AtomicPtr<()>,
    /// glibc's implementation (the bootstrap one until [`install`] resolved it).
    real: AtomicPtr<()>,
    /// The checking trampoline of check and guard modes.
    checked: unsafe extern "C" fn(),
    /// The symbol's name.
    name: &'static CStr,
}

impl Interposed {
    const fn new(name: &'static CStr, boot: *mut (), checked: unsafe extern "C" fn()) -> Self {
        Interposed {
            slot: AtomicPtr::new(boot),
            real: AtomicPtr::new(boot),
            checked,
            name,
        }
    }

    /// glibc's implementation as a function of type `F`.
    ///
    /// # Safety
    /// `F` is the function pointer type of this slot's C signature.
    #[inline(always)]
    unsafe fn real<F: Copy>(&self) -> F {
        let pointer = self.real.load(Ordering::Relaxed);
        // SAFETY: caller contract: `F` is a function pointer type (pointer-sized) of the
        // function `real` holds.
        unsafe { core::mem::transmute_copy::<*mut (), F>(&pointer) }
    }
}

type MemFn = unsafe extern "C" fn(*mut u8, *const u8, usize) -> *mut u8;
type MemChkFn = unsafe extern "C" fn(*mut u8, *const u8, usize, usize) -> *mut u8;
type SetFn = unsafe extern "C" fn(*mut u8, i32, usize) -> *mut u8;
type SetChkFn = unsafe extern "C" fn(*mut u8, i32, usize, usize) -> *mut u8;
type LenFn = unsafe extern "C" fn(*const u8) -> usize;
type NLenFn = unsafe extern "C" fn(*const u8, usize) -> usize;
type CpyFn = unsafe extern "C" fn(*mut u8, *const u8) -> *mut u8;
type CmpFn = unsafe extern "C" fn(*const u8, *const u8) -> i32;
type NCmpFn = unsafe extern "C" fn(*const u8, *const u8, usize) -> i32;
type ChrFn = unsafe extern "C" fn(*const u8, i32) -> *mut u8;
type MemChrFn = unsafe extern "C" fn(*const u8, i32, usize) -> *mut u8;

/// Defines the [`Interposed`] statics and their checking trampolines: `NAME = "symbol",
/// bootstrap, register, checking function`. The trampoline puts the caller's return address
/// in `register`, the argument register after the function's own arguments, and jumps to
/// the checking function (which the caller's frame then returns from).
macro_rules! interposed {
    ($($static:ident = $symbol:literal, $boot:path, $reg:literal, $checked:ident;)*) => {
        $(
            #[doc = concat!("`", $symbol, "`.")]
            pub static $static: Interposed = Interposed::new(
                $crate::capi::libc_calls::cstr($symbol),
                $boot as *mut (),
                {
                    #[unsafe(naked)]
                    unsafe extern "C" fn trampoline() {
                        core::arch::naked_asm!(
                            concat!("mov ", $reg, ", qword ptr [rsp]"),
                            "jmp {checked}",
                            checked = sym $checked,
                        )
                    }
                    trampoline
                },
            );
        )*
        /// Every interposed function.
        static ALL: &[&Interposed] = &[$(&$static),*];
    };
}

/// `symbol` (a literal with its terminating NUL) as a C string, at compile time.
const fn cstr(symbol: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(symbol.as_bytes()) {
        Ok(name) => name,
        Err(_) => panic!("a symbol name ends with its NUL"),
    }
}

interposed! {
    MEMCPY = "memcpy\0", boot::memcpy, "rcx", memcpy_checked;
    MEMMOVE = "memmove\0", boot::memmove, "rcx", memmove_checked;
    MEMPCPY = "mempcpy\0", boot::mempcpy, "rcx", mempcpy_checked;
    MEMSET = "memset\0", boot::memset, "rcx", memset_checked;
    MEMCMP = "memcmp\0", boot::memcmp, "rcx", memcmp_checked;
    MEMCHR = "memchr\0", boot::memchr, "rcx", memchr_checked;
    STRLEN = "strlen\0", boot::strlen, "rsi", strlen_checked;
    STRNLEN = "strnlen\0", boot::strnlen, "rdx", strnlen_checked;
    STRCPY = "strcpy\0", boot::strcpy, "rdx", strcpy_checked;
    STPCPY = "stpcpy\0", boot::stpcpy, "rdx", stpcpy_checked;
    STRCAT = "strcat\0", boot::strcat, "rdx", strcat_checked;
    STRNCPY = "strncpy\0", boot::strncpy, "rcx", strncpy_checked;
    STRNCAT = "strncat\0", boot::strncat, "rcx", strncat_checked;
    STRCMP = "strcmp\0", boot::strcmp, "rdx", strcmp_checked;
    STRNCMP = "strncmp\0", boot::strncmp, "rcx", strncmp_checked;
    STRCHR = "strchr\0", boot::strchr, "rdx", strchr_checked;
    MEMCPY_CHK = "__memcpy_chk\0", boot::memcpy_chk, "r8", memcpy_chk_checked;
    MEMMOVE_CHK = "__memmove_chk\0", boot::memmove_chk, "r8", memmove_chk_checked;
    MEMPCPY_CHK = "__mempcpy_chk\0", boot::mempcpy_chk, "r8", mempcpy_chk_checked;
    MEMSET_CHK = "__memset_chk\0", boot::memset_chk, "r8", memset_chk_checked;
    STRCPY_CHK = "__strcpy_chk\0", boot::strcpy_chk, "rcx", strcpy_chk_checked;
    STPCPY_CHK = "__stpcpy_chk\0", boot::stpcpy_chk, "rcx", stpcpy_chk_checked;
    STRCAT_CHK = "__strcat_chk\0", boot::strcat_chk, "rcx", strcat_chk_checked;
    STRNCPY_CHK = "__strncpy_chk\0", boot::strncpy_chk, "r8", strncpy_chk_checked;
}

/// The preload library's own code: `[OWN_START, OWN_START + OWN_LEN)`.
static OWN_START: AtomicUsize = AtomicUsize::new(0);
static OWN_LEN: AtomicUsize = AtomicUsize::new(0);

/// Resolves glibc's implementations and points every slot at them (`checking` false: fast
/// mode) or at the checking trampolines. Called once, from the library's constructor.
pub fn install(checking: bool) {
    let own = crate::os::object_containing(install as *const () as usize);
    for function in ALL {
        // SAFETY: `dlsym` with a NUL-terminated name; `RTLD_NEXT` finds the definition after
        // this library's (glibc's), IFUNCs resolved.
        let real = unsafe { libc::dlsym(libc::RTLD_NEXT, function.name.as_ptr()) };
        if !real.is_null() {
            function.real.store(real.cast(), Ordering::Release);
        }
    }
    // Without its own range gpa could not tell its own calls from the program's: no checks.
    let checking = match own {
        Some(object) if checking => {
            OWN_START.store(object.start, Ordering::Relaxed);
            OWN_LEN.store(object.end - object.start, Ordering::Relaxed);
            true
        }
        _ => false,
    };
    for function in ALL {
        let target = if checking {
            function.checked as *mut ()
        } else {
            function.real.load(Ordering::Acquire)
        };
        function.slot.store(target, Ordering::Release);
    }
}

/// Whether a call returning to `caller` comes from the preload library itself.
#[inline(always)]
fn own(caller: usize) -> bool {
    caller.wrapping_sub(OWN_START.load(Ordering::Relaxed)) < OWN_LEN.load(Ordering::Relaxed)
}

/// A block of the program's heap, in the program's terms (after the front guard).
#[derive(Clone, Copy)]
struct Block {
    user: usize,
    size: usize,
    align: usize,
    live: bool,
    alloc_trace: TraceId,
    free_trace: TraceId,
}

impl Block {
    fn end(&self) -> usize {
        self.user + self.size
    }

    /// Bytes from `address` to the block's end when `address` is inside the live block; 0
    /// when it is not (freed, or in the front guard or past the end).
    fn room(&self, address: usize) -> usize {
        if self.live && address >= self.user && address < self.end() {
            self.end() - address
        } else {
            0
        }
    }
}

impl Block {
    /// The program's block behind the GPA's block `span` (its front guard left out).
    #[inline]
    fn of(span: crate::gpa::BlockSpan) -> Block {
        let pad = guard::pad_of(span.size, span.align);
        Block {
            user: span.start + pad,
            size: span.size - pad,
            align: span.align,
            live: span.live,
            alloc_trace: span.alloc_trace,
            free_trace: span.free_trace,
        }
    }
}

/// The program's block (live or freed) whose memory holds `address`.
#[inline]
fn block_at(gpa: &GeneralPurposeAllocator, address: usize) -> Option<Block> {
    gpa.heap_block_at(address).map(Block::of)
}

/// The heap memory at an address as a check first needs it: the bytes from the address to
/// the end of the live block it lies in (`room`, 0 when it lies in no live block's bytes),
/// and the block itself, described in full only when the lean lookup
/// ([`GeneralPurposeAllocator::heap_slot_at`]) could not say (a freed block, a front guard,
/// a large or guarded block): a finding needs the full description, which [`Found::block`]
/// then looks up.
#[derive(Clone, Copy)]
struct Found {
    room: usize,
    block: Option<Block>,
}

impl Found {
    /// The program's block at `address`, if any (`None`: memory no GPA manages).
    #[inline(always)]
    fn at(gpa: &GeneralPurposeAllocator, address: usize) -> Option<Found> {
        match gpa.heap_slot_at(address) {
            HeapSlot::Outside => return None,
            HeapSlot::Live { start, size, align } => {
                // As `Block::of` describes the block: its user bytes end where the GPA's do.
                let user = start + guard::pad_of(size, align);
                let end = start + size;
                if address >= user && address < end {
                    return Some(Found {
                        room: end - address,
                        block: None,
                    });
                }
            }
            HeapSlot::Other => {}
        }
        let block = block_at(gpa, address)?;
        Some(Found {
            room: block.room(address),
            block: Some(block),
        })
    }

    /// The block in full, for a finding (`address`: the one it was found at).
    #[inline]
    fn block(&self, gpa: &GeneralPurposeAllocator, address: usize) -> Option<Block> {
        self.block.or_else(|| block_at(gpa, address))
    }
}

/// Checks that `[start, start + len)` lies within one live block where it touches the heap;
/// records a finding for the first bad part.
#[inline]
fn check_range(
    gpa: &GeneralPurposeAllocator,
    start: usize,
    len: usize,
    access: Access,
    call: &'static str,
) {
    if len == 0 {
        return;
    }
    let last = start.saturating_add(len - 1);
    // The common cases first: the range inside one live small block, or outside the heap
    // within one chunk (one page-map entry).
    match gpa.heap_slot_at(start) {
        HeapSlot::Live {
            start: base,
            size,
            align,
        } => {
            let user = base + guard::pad_of(size, align);
            if start >= user && last < base + size {
                return;
            }
        }
        HeapSlot::Outside if gpa.heap_outside_from(start, last) => return,
        _ => {}
    }
    let Some(span) = gpa.heap_block_in(start, last) else {
        return;
    };
    judge(gpa, Block::of(span), start, len, access, call);
}

/// Records what an access of `[start, start + len)` does wrong to `block`, if anything.
#[inline]
fn judge(
    gpa: &GeneralPurposeAllocator,
    block: Block,
    start: usize,
    len: usize,
    access: Access,
    call: &'static str,
) {
    let end = start.saturating_add(len);
    let (kind, first, bad) = if !block.live {
        let kind = match access {
            Access::Read => FindingKind::ReadAfterFree,
            Access::Write => FindingKind::WriteAfterFree,
        };
        (kind, start, len)
    } else if start < block.user {
        (FindingKind::Underflow, start, end.min(block.user) - start)
    } else if end > block.end() {
        let first = start.max(block.end());
        (FindingKind::Overflow, first, end - first)
    } else {
        return;
    };
    report_access(gpa, block, kind, access, first, bad, call);
}

#[cold]
#[inline(never)]
fn report_access(
    gpa: &GeneralPurposeAllocator,
    block: Block,
    kind: FindingKind,
    access: Access,
    first: usize,
    bad: usize,
    call: &'static str,
) {
    let _inside = InsideAllocator::enter();
    let mut finding = RawFinding::new(kind, block.user);
    finding.size = block.size;
    finding.align = block.align;
    finding.alloc_trace = block.alloc_trace;
    finding.free_trace = block.free_trace;
    finding.access = Some(access);
    finding.access_size = bad;
    finding.offset = Some(first.wrapping_sub(block.user) as isize);
    finding.call = Some(call);
    finding.site_trace = site_trace(gpa);
    record(finding);
}

/// The call's stack (from the program's caller frame on: gpa's own frames are left out
/// when it is rendered).
fn site_trace(gpa: &GeneralPurposeAllocator) -> TraceId {
    let config = gpa.config();
    crate::trace::capture_id(config.stack_trace_frames, config.trace_method)
}

/// Records an overlap of `[dst, dst + dst_len)` and `[src, src + src_len)` (Valgrind's
/// `is_overlap`: none when either is empty).
#[inline]
fn check_overlap(
    gpa: &GeneralPurposeAllocator,
    (dst, dst_len): (usize, usize),
    (src, src_len): (usize, usize),
    call: &'static str,
    length: Option<usize>,
) {
    if dst_len == 0 || src_len == 0 {
        return;
    }
    if dst < src.saturating_add(src_len) && src < dst.saturating_add(dst_len) {
        report_overlap(gpa, dst, src, call, length);
    }
}

#[cold]
#[inline(never)]
fn report_overlap(
    gpa: &GeneralPurposeAllocator,
    dst: usize,
    src: usize,
    call: &'static str,
    length: Option<usize>,
) {
    let _inside = InsideAllocator::enter();
    let mut finding = RawFinding::new(FindingKind::Overlap, dst);
    // Valgrind's name for the fortified variants: `memcpy_chk`.
    finding.call = Some(call.trim_start_matches("__"));
    finding.call_source = src;
    finding.call_length = length;
    finding.size = length.unwrap_or(0);
    finding.site_trace = site_trace(gpa);
    record(finding);
}

/// The findings of checked calls, each once per kind, block and call site.
static FINDINGS: Mutex<std::vec::Vec<RawFinding>> = Mutex::new(std::vec::Vec::new());

/// At most this many distinct findings are kept (a program that overflows a new block at
/// every call of a loop has one site: the report merges them by site anyway).
const MAX_FINDINGS: usize = 4096;

fn record(finding: RawFinding) {
    let mut findings = FINDINGS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let seen = findings.iter().any(|seen| {
        seen.kind == finding.kind
            && seen.address == finding.address
            && seen.access == finding.access
            && seen.site_trace == finding.site_trace
    });
    if !seen && findings.len() < MAX_FINDINGS {
        findings.push(finding);
    }
}

/// The findings recorded so far (in the program's terms), taken.
pub fn take_findings() -> std::vec::Vec<RawFinding> {
    guard::take_recorded(&FINDINGS)
}

/// As [`take_findings`], without waiting for the lock (a fatal signal's report).
pub fn try_take_findings() -> std::vec::Vec<RawFinding> {
    guard::try_take_recorded(&FINDINGS)
}

/// The bytes a string function reads from `s`: up to and including its terminating NUL, at
/// most `limit`. In a heap block the terminator is looked for within the block only; a
/// string that starts outside a live block, or runs past its end, is reported (an invalid
/// read of 1 byte where the reading goes wrong), and its length is then what glibc finds.
fn string_reads(
    gpa: &GeneralPurposeAllocator,
    s: *const u8,
    limit: usize,
    call: &'static str,
) -> usize {
    if limit == 0 {
        return 0;
    }
    let start = s as usize;
    if let Some(found) = Found::at(gpa, start) {
        let room = found.room;
        let within = room.min(limit);
        // SAFETY: the slot's signature; `[s, s + within)` lies in a live block: mapped and
        // readable.
        let nul = unsafe { MEMCHR.real::<MemChrFn>()(s, 0, within) };
        if !nul.is_null() {
            return nul as usize - start + 1;
        }
        if within == limit {
            return limit;
        }
        if let Some(block) = found.block(gpa, start) {
            judge(gpa, block, start + room, 1, Access::Read, call);
        }
    }
    // SAFETY: the slot's signature; what glibc's function reads of `s` anyway (the
    // program's contract).
    let len = unsafe { STRNLEN.real::<NLenFn>()(s, limit) };
    len.saturating_add(1).min(limit)
}

/// Checks a comparison of `a` and `b` that reads at most `limit` bytes of each, stopping at
/// the first difference (and, for strings, at a NUL): a read past a live block's end that the
/// comparison reaches is reported (1 byte, the first one out of bounds).
fn check_compare(
    gpa: &GeneralPurposeAllocator,
    a: *const u8,
    b: *const u8,
    limit: usize,
    strings: bool,
    call: &'static str,
) {
    if limit == 0 {
        return;
    }
    let found = [Found::at(gpa, a as usize), Found::at(gpa, b as usize)];
    if found.iter().all(Option::is_none) {
        return;
    }
    let rooms = found.map(|found| found.map_or(usize::MAX, |found| found.room));
    let within = rooms[0].min(rooms[1]).min(limit);
    if within == limit {
        return;
    }
    // Where the comparison stops, if it stops within the bounds of both.
    let mut stops = false;
    for index in 0..within {
        // SAFETY: `index < within`: in bounds of both (or in memory no heap block covers,
        // which glibc's function reads at least as far).
        let (x, y) = unsafe {
            (
                core::ptr::read_volatile(a.add(index)),
                core::ptr::read_volatile(b.add(index)),
            )
        };
        if x != y || (strings && x == 0) {
            stops = true;
            break;
        }
    }
    if stops {
        return;
    }
    for (p, (found, room)) in [a, b].into_iter().zip(found.into_iter().zip(rooms)) {
        let block = found.and_then(|found| found.block(gpa, p as usize));
        if let (Some(block), true) = (block, room == within) {
            judge(gpa, block, p as usize + within, 1, Access::Read, call);
        }
    }
}

/// Checks a search for `targets` bytes (a NUL and/or the byte `c`) from `s`, reading at most
/// `limit` bytes: a search that finds nothing before a live block's end reads past it.
fn check_search(
    gpa: &GeneralPurposeAllocator,
    s: *const u8,
    c: i32,
    limit: usize,
    nul_stops: bool,
    call: &'static str,
) {
    if limit == 0 {
        return;
    }
    let Some(found_block) = Found::at(gpa, s as usize) else {
        return;
    };
    let room = found_block.room;
    let within = room.min(limit);
    if within == limit {
        return;
    }
    // SAFETY: the slot's signature.
    let memchr = unsafe { MEMCHR.real::<MemChrFn>() };
    // SAFETY: `[s, s + within)` lies in a live block.
    let found = unsafe {
        !memchr(s, c, within).is_null() || (nul_stops && !memchr(s, 0, within).is_null())
    };
    if !found {
        if let Some(block) = found_block.block(gpa, s as usize) {
            judge(gpa, block, s as usize + within, 1, Access::Read, call);
        }
    }
}

// ---- The checking functions: the trampolines jump here with the caller's return address
// as the last argument. ----

/// The checks of a copy of `n` bytes from `src` to `dst`; `overlap`: the function forbids
/// overlapping ranges.
#[inline(always)]
fn copy_checks(dst: *mut u8, src: *const u8, n: usize, overlap: bool, call: &'static str) {
    let gpa = super::gpa();
    check_range(gpa, src as usize, n, Access::Read, call);
    check_range(gpa, dst as usize, n, Access::Write, call);
    // A copy onto itself (`memcpy(p, p, n)`, which compilers emit for `*a = *b`) is not
    // reported, as Valgrind does not.
    if overlap && !core::ptr::eq(dst.cast_const(), src) {
        check_overlap(gpa, (dst as usize, n), (src as usize, n), call, Some(n));
    }
}

/// The checks of a string copy from `src` to `dst` (`strcpy`, `stpcpy`).
#[inline(always)]
fn string_copy_checks(dst: *mut u8, src: *const u8, call: &'static str) {
    let gpa = super::gpa();
    let n = string_reads(gpa, src, usize::MAX, call);
    check_range(gpa, dst as usize, n, Access::Write, call);
    check_overlap(gpa, (dst as usize, n), (src as usize, n), call, None);
}

/// The checks of `strncpy(dst, src, n)`: reads up to `n` bytes of `src`, writes `n`.
#[inline(always)]
fn strncpy_checks(dst: *mut u8, src: *const u8, n: usize, call: &'static str) {
    let gpa = super::gpa();
    let read = string_reads(gpa, src, n, call);
    check_range(gpa, dst as usize, n, Access::Write, call);
    check_overlap(gpa, (dst as usize, n), (src as usize, read), call, Some(n));
}

/// The checks of `strcat(dst, src)` (`limit` usize::MAX) or `strncat(dst, src, limit)`.
#[inline(always)]
fn strcat_checks(dst: *mut u8, src: *const u8, limit: usize, call: &'static str) {
    let gpa = super::gpa();
    let kept = string_reads(gpa, dst, usize::MAX, call).saturating_sub(1);
    let read = string_reads(gpa, src, limit, call);
    // The bytes written: the string and its NUL, or (`strncat` of a longer string) `limit`
    // bytes and a NUL of its own.
    // SAFETY: the slot's signature; the bytes `strncat` reads anyway.
    let copied = if limit != usize::MAX
        && read == limit
        && unsafe { STRNLEN.real::<NLenFn>()(src, limit) } == limit
    {
        limit + 1
    } else {
        read
    };
    check_range(
        gpa,
        (dst as usize).wrapping_add(kept),
        copied,
        Access::Write,
        call,
    );
    let length = (limit != usize::MAX).then_some(limit);
    check_overlap(
        gpa,
        (dst as usize, kept + copied),
        (src as usize, read),
        call,
        length,
    );
}

/// Defines the checking functions: `fn NAME(ARGS) -> RET, SLOT as TYPE, { CHECKS }` runs
/// `CHECKS` for a call from the program, then glibc's function through `SLOT`.
macro_rules! checked {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty, $slot:ident as $fnty:ty, $body:block)*) => {
        $(
            unsafe extern "C" fn $name($($arg: $ty,)* caller: usize) -> $ret {
                if !own(caller) {
                    $body
                }
                // SAFETY: the slot's signature; the program's own call, checked.
                unsafe { $slot.real::<$fnty>()($($arg),*) }
            }
        )*
    };
}

checked! {
    fn memcpy_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, MEMCPY as MemFn, {
        copy_checks(d, s, n, true, "memcpy");
    }
    fn memmove_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, MEMMOVE as MemFn, {
        copy_checks(d, s, n, false, "memmove");
    }
    fn mempcpy_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, MEMPCPY as MemFn, {
        copy_checks(d, s, n, true, "mempcpy");
    }
    fn memset_checked(d: *mut u8, c: i32, n: usize) -> *mut u8, MEMSET as SetFn, {
        check_range(super::gpa(), d as usize, n, Access::Write, "memset");
    }
    fn memcmp_checked(a: *const u8, b: *const u8, n: usize) -> i32, MEMCMP as NCmpFn, {
        check_compare(super::gpa(), a, b, n, false, "memcmp");
    }
    fn memchr_checked(s: *const u8, c: i32, n: usize) -> *mut u8, MEMCHR as MemChrFn, {
        check_search(super::gpa(), s, c, n, false, "memchr");
    }
    fn strlen_checked(s: *const u8) -> usize, STRLEN as LenFn, {
        string_reads(super::gpa(), s, usize::MAX, "strlen");
    }
    fn strnlen_checked(s: *const u8, n: usize) -> usize, STRNLEN as NLenFn, {
        string_reads(super::gpa(), s, n, "strnlen");
    }
    fn strcpy_checked(d: *mut u8, s: *const u8) -> *mut u8, STRCPY as CpyFn, {
        string_copy_checks(d, s, "strcpy");
    }
    fn stpcpy_checked(d: *mut u8, s: *const u8) -> *mut u8, STPCPY as CpyFn, {
        string_copy_checks(d, s, "stpcpy");
    }
    fn strcat_checked(d: *mut u8, s: *const u8) -> *mut u8, STRCAT as CpyFn, {
        strcat_checks(d, s, usize::MAX, "strcat");
    }
    fn strncpy_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, STRNCPY as MemFn, {
        strncpy_checks(d, s, n, "strncpy");
    }
    fn strncat_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, STRNCAT as MemFn, {
        strcat_checks(d, s, n, "strncat");
    }
    fn strcmp_checked(a: *const u8, b: *const u8) -> i32, STRCMP as CmpFn, {
        check_compare(super::gpa(), a, b, usize::MAX, true, "strcmp");
    }
    fn strncmp_checked(a: *const u8, b: *const u8, n: usize) -> i32, STRNCMP as NCmpFn, {
        check_compare(super::gpa(), a, b, n, true, "strncmp");
    }
    fn strchr_checked(s: *const u8, c: i32) -> *mut u8, STRCHR as ChrFn, {
        check_search(super::gpa(), s, c, usize::MAX, true, "strchr");
    }
    fn memcpy_chk_checked(d: *mut u8, s: *const u8, n: usize, size: usize) -> *mut u8, MEMCPY_CHK as MemChkFn, {
        copy_checks(d, s, n, true, "__memcpy_chk");
    }
    fn memmove_chk_checked(d: *mut u8, s: *const u8, n: usize, size: usize) -> *mut u8, MEMMOVE_CHK as MemChkFn, {
        copy_checks(d, s, n, false, "__memmove_chk");
    }
    fn mempcpy_chk_checked(d: *mut u8, s: *const u8, n: usize, size: usize) -> *mut u8, MEMPCPY_CHK as MemChkFn, {
        copy_checks(d, s, n, true, "__mempcpy_chk");
    }
    fn memset_chk_checked(d: *mut u8, c: i32, n: usize, size: usize) -> *mut u8, MEMSET_CHK as SetChkFn, {
        check_range(super::gpa(), d as usize, n, Access::Write, "__memset_chk");
    }
    fn strcpy_chk_checked(d: *mut u8, s: *const u8, size: usize) -> *mut u8, STRCPY_CHK as MemFn, {
        string_copy_checks(d, s, "__strcpy_chk");
    }
    fn stpcpy_chk_checked(d: *mut u8, s: *const u8, size: usize) -> *mut u8, STPCPY_CHK as MemFn, {
        string_copy_checks(d, s, "__stpcpy_chk");
    }
    fn strcat_chk_checked(d: *mut u8, s: *const u8, size: usize) -> *mut u8, STRCAT_CHK as MemFn, {
        strcat_checks(d, s, usize::MAX, "__strcat_chk");
    }
    fn strncpy_chk_checked(d: *mut u8, s: *const u8, n: usize, size: usize) -> *mut u8, STRNCPY_CHK as MemChkFn, {
        strncpy_checks(d, s, n, "__strncpy_chk");
    }
}

/// The bootstrap implementations, used until [`install`] has resolved glibc's: correct and
/// simple, never a call of a libc function (string instructions and volatile byte loops,
/// which the compiler cannot recognize as `memcpy` or `strlen` idioms).
mod boot {
    use core::ptr::{read_volatile as get, write_volatile as put};

    pub unsafe extern "C" fn memcpy(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
        // SAFETY: caller contract (C's `memcpy`): `n` bytes readable at `s`, writable at `d`.
        unsafe {
            core::arch::asm!(
                "rep movsb",
                inout("rdi") d => _,
                inout("rsi") s => _,
                inout("rcx") n => _,
                options(nostack, preserves_flags)
            );
        }
        d
    }

    pub unsafe extern "C" fn memmove(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
        if (d as usize).wrapping_sub(s as usize) >= n {
            // SAFETY: caller contract; a forward copy is right when `d` is not in `(s, s + n)`.
            return unsafe { memcpy(d, s, n) };
        }
        // SAFETY: caller contract; copies backwards from the last byte, the direction flag
        // restored after.
        unsafe {
            core::arch::asm!(
                "std",
                "rep movsb",
                "cld",
                inout("rdi") d.add(n - 1) => _,
                inout("rsi") s.add(n - 1) => _,
                inout("rcx") n => _,
                options(nostack)
            );
        }
        d
    }

    pub unsafe extern "C" fn mempcpy(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
        // SAFETY: caller contract.
        unsafe { memcpy(d, s, n).add(n) }
    }

    pub unsafe extern "C" fn memset(d: *mut u8, c: i32, n: usize) -> *mut u8 {
        // SAFETY: caller contract: `n` bytes writable at `d`.
        unsafe {
            core::arch::asm!(
                "rep stosb",
                inout("rdi") d => _,
                inout("rcx") n => _,
                in("al") c as u8,
                options(nostack, preserves_flags)
            );
        }
        d
    }

    pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        for i in 0..n {
            // SAFETY: caller contract: `n` bytes readable at both.
            let (x, y) = unsafe { (get(a.add(i)), get(b.add(i))) };
            if x != y {
                return i32::from(x) - i32::from(y);
            }
        }
        0
    }

    pub unsafe extern "C" fn memchr(s: *const u8, c: i32, n: usize) -> *mut u8 {
        for i in 0..n {
            // SAFETY: caller contract.
            if unsafe { get(s.add(i)) } == c as u8 {
                return s.wrapping_add(i).cast_mut();
            }
        }
        core::ptr::null_mut()
    }

    pub unsafe extern "C" fn strnlen(s: *const u8, n: usize) -> usize {
        let mut i = 0;
        // SAFETY: caller contract: a string, or `n` readable bytes.
        while i < n && unsafe { get(s.add(i)) } != 0 {
            i += 1;
        }
        i
    }

    pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
        // SAFETY: caller contract: a NUL-terminated string.
        unsafe { strnlen(s, usize::MAX) }
    }

    pub unsafe extern "C" fn stpcpy(d: *mut u8, s: *const u8) -> *mut u8 {
        let mut i = 0;
        loop {
            // SAFETY: caller contract: a string at `s`, room for it at `d`.
            let byte = unsafe { get(s.add(i)) };
            // SAFETY: as above.
            unsafe { put(d.add(i), byte) };
            if byte == 0 {
                return d.wrapping_add(i);
            }
            i += 1;
        }
    }

    pub unsafe extern "C" fn strcpy(d: *mut u8, s: *const u8) -> *mut u8 {
        // SAFETY: caller contract.
        unsafe { stpcpy(d, s) };
        d
    }

    pub unsafe extern "C" fn strcat(d: *mut u8, s: *const u8) -> *mut u8 {
        // SAFETY: caller contract: two strings, room after the first for the second.
        unsafe { stpcpy(d.add(strlen(d)), s) };
        d
    }

    pub unsafe extern "C" fn strncpy(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
        // SAFETY: caller contract: `n` bytes writable at `d`; `s` a string or `n` bytes.
        unsafe {
            let len = strnlen(s, n);
            memcpy(d, s, len);
            memset(d.add(len), 0, n - len);
        }
        d
    }

    pub unsafe extern "C" fn strncat(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
        // SAFETY: caller contract.
        unsafe {
            let end = d.add(strlen(d));
            let len = strnlen(s, n);
            memcpy(end, s, len);
            put(end.add(len), 0);
        }
        d
    }

    pub unsafe extern "C" fn strncmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        for i in 0..n {
            // SAFETY: caller contract: two strings.
            let (x, y) = unsafe { (get(a.add(i)), get(b.add(i))) };
            if x != y || x == 0 {
                return i32::from(x) - i32::from(y);
            }
        }
        0
    }

    pub unsafe extern "C" fn strcmp(a: *const u8, b: *const u8) -> i32 {
        // SAFETY: caller contract.
        unsafe { strncmp(a, b, usize::MAX) }
    }

    pub unsafe extern "C" fn strchr(s: *const u8, c: i32) -> *mut u8 {
        let mut i = 0;
        loop {
            // SAFETY: caller contract: a string.
            let byte = unsafe { get(s.add(i)) };
            if byte == c as u8 {
                return s.wrapping_add(i).cast_mut();
            }
            if byte == 0 {
                return core::ptr::null_mut();
            }
            i += 1;
        }
    }

    /// `__chk_fail`'s effect, without glibc's message: the object is smaller than the copy.
    fn overflow(n: usize, size: usize) {
        if n > size {
            std::process::abort();
        }
    }

    pub unsafe extern "C" fn memcpy_chk(
        d: *mut u8,
        s: *const u8,
        n: usize,
        size: usize,
    ) -> *mut u8 {
        overflow(n, size);
        // SAFETY: caller contract.
        unsafe { memcpy(d, s, n) }
    }

    pub unsafe extern "C" fn memmove_chk(
        d: *mut u8,
        s: *const u8,
        n: usize,
        size: usize,
    ) -> *mut u8 {
        overflow(n, size);
        // SAFETY: caller contract.
        unsafe { memmove(d, s, n) }
    }

    pub unsafe extern "C" fn mempcpy_chk(
        d: *mut u8,
        s: *const u8,
        n: usize,
        size: usize,
    ) -> *mut u8 {
        overflow(n, size);
        // SAFETY: caller contract.
        unsafe { mempcpy(d, s, n) }
    }

    pub unsafe extern "C" fn memset_chk(d: *mut u8, c: i32, n: usize, size: usize) -> *mut u8 {
        overflow(n, size);
        // SAFETY: caller contract.
        unsafe { memset(d, c, n) }
    }

    pub unsafe extern "C" fn strcpy_chk(d: *mut u8, s: *const u8, size: usize) -> *mut u8 {
        // SAFETY: caller contract.
        overflow(unsafe { strlen(s) } + 1, size);
        // SAFETY: caller contract.
        unsafe { strcpy(d, s) }
    }

    pub unsafe extern "C" fn stpcpy_chk(d: *mut u8, s: *const u8, size: usize) -> *mut u8 {
        // SAFETY: caller contract.
        overflow(unsafe { strlen(s) } + 1, size);
        // SAFETY: caller contract.
        unsafe { stpcpy(d, s) }
    }

    pub unsafe extern "C" fn strcat_chk(d: *mut u8, s: *const u8, size: usize) -> *mut u8 {
        // SAFETY: caller contract.
        overflow(unsafe { strlen(d) + strlen(s) } + 1, size);
        // SAFETY: caller contract.
        unsafe { strcat(d, s) }
    }

    pub unsafe extern "C" fn strncpy_chk(
        d: *mut u8,
        s: *const u8,
        n: usize,
        size: usize,
    ) -> *mut u8 {
        overflow(n, size);
        // SAFETY: caller contract.
        unsafe { strncpy(d, s, n) }
    }
}
