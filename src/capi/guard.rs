//! Front guards (check mode): underflow detection for C blocks, on top of the GPA's redzones.
//!
//! # Design
//! The GPA checks the bytes *after* a block (its redzone) but keeps nothing before it: the byte
//! before a block is the tail of the previous slot, or a guard page. So in check mode every C
//! block gets a guard in front: `malloc(n)` takes `n + pad` bytes from the GPA, fills the first
//! `pad` bytes with [`GUARD`] and hands out `base + pad`. The guard is checked when the block
//! is freed or reallocated and at exit; a changed byte is an underflow.
//!
//! ```text
//!  base (GPA block)          user pointer (what C sees)
//!  |<------ pad ------>|<------------- n bytes ------------->|<- GPA redzone ->|
//!  | GUARD ... GUARD   | user data                           | C5 C5 ...       |
//! ```
//!
//! `pad` is [`FRONT`] (32, a multiple of `malloc`'s 16-byte alignment, so that a write 32 bytes
//! before a block still lands in its own guard) or the requested alignment when it is larger
//! (so `base + pad` stays aligned): `pad = max(FRONT, alignment)`, and the GPA records the
//! alignment with the block. A user pointer maps back to its block through
//! `GeneralPurposeAllocator::block_containing_located` on the byte before it (in the guard):
//! the block is found whatever its alignment, live or freed, and `user == start + pad` says the
//! pointer is the block's own ([`find`]). Findings the GPA records carry block starts, padded
//! sizes and the block's alignment; [`to_user`] translates them back, so every kind
//! (overflow, write after free, double free, leak) names the program's pointer and the size it
//! asked for, also after the block was freed.
//!
//! A block whose tag (`GeneralPurposeAllocator::set_block_tag`) has [`COOKIE_TAG`] set keeps
//! the last 8 guard bytes zero instead: blocks of scalar `operator new`, where a mistaken
//! `delete[]` reads the array's element count from those 8 bytes (the Itanium C++ ABI's array
//! cookie). A count of 0 runs no destructors and hands `delete[]` the pointer 8 bytes before
//! the block, which is then reported; `0xF7F7...` would run destructors over the whole
//! address space and crash first. The price: an underflow that writes exactly zeros into those
//! 8 bytes of such a block goes unnoticed.
//!
//! A request for no bytes (`malloc(0)`, `calloc(0, n)`, `aligned_alloc(a, 0)`, `new char[0]`)
//! gets no front guard: it has no byte to guard, and the GPA gives a block of no bytes an
//! address of its own on an inaccessible page, so any access to it faults and is reported
//! (an overflow of a 0-byte block, as Valgrind says "0 bytes after a block of size 0"). Its
//! GPA block is the user's block (`pad = 0`, [`pad_of`]); it is found by its own address
//! ([`find`]).
//!
//! # Guarded underflow
//! With `GPA_GUARD_UNDERFLOW=1` (`gpa run --guard-underflow`) the GPA places a guarded block
//! at the start of its slot, right after the guard page (`gpa::guarded`). A front guard
//! there would sit between the guard page and the program's pointer, and a read 1 to 32 bytes
//! before the block would touch only the guard bytes (seen by nothing; Valgrind reports it at
//! the access). So a guarded block gets no front guard: the guard page is its underflow check
//! (any access before the block faults and is reported there), and the program's pointer is
//! the GPA block's start (`GeneralPurposeAllocator::alloc_guarded_c`, tried first by
//! [`alloc_tagged`], which decides once whether the request is guarded). Blocks the guarded
//! area does not take (sampled mode's unsampled requests, a full area, blocks made inside the
//! allocator) keep their front guard, and the GPA never places such a padded block in the
//! area (`alloc_prefixed` guards no padded block with `guard_underflow`). Which is which is
//! told by address ([`unpadded`]: in the guarded area of a GPA with `guard_underflow`), so
//! [`pad_at`] gives every path that maps a pointer to its block ([`find`], [`to_user`],
//! [`block_to_user`], [`check_live`], `libc_calls`, the exit scan) the block's pad without a
//! lookup. A `COOKIE_TAG` block has no cookie
//! bytes then: a mistaken `delete[]` reads the cookie from the guard page, which faults and is
//! reported as an underflow read 8 bytes before the block, as Valgrind reports it.
//!
//! # Alignment slack
//! In guard mode the GPA puts a block's *aligned* end against its guard page
//! (`gpa::guarded`), so the bytes between the end of the user's bytes and the next multiple
//! of the block's alignment (the slack: up to 15 bytes for 16) are readable without a fault.
//! The GPA fills them with canary bytes and checks them at free and at exit (a write there is
//! an overflow, reported then), and libc's functions check the exact range of every call
//! (`libc_calls`); a plain load of a slack byte is seen by nothing. [`block_align`] keeps the
//! slack as small as C allows: alignment 16 for blocks of 16 bytes or more (C17 7.22.3: a
//! `malloc` block is aligned for any object that fits in it; `max_align_t`, `long double`,
//! `__m128i` want 16), the size rounded up to a power of two below that (GWP-ASan's
//! default), and an alignment the program named ([`Asked::Explicit`]) exactly. With
//! `GPA_GUARD_FLUSH=1` (`gpa run --guard-flush`), blocks of implicit alignment get alignment 1
//! and so no slack: every byte past the end faults, and the program gets blocks that are not
//! 16-byte aligned (an aligned SSE load of one faults). `realloc` in guard mode
//! ([`realloc_moved`]) moves the block to one aligned for its new size, never keeping the old
//! block's lower alignment.
//!
//! # Invariants
//! * A GPA block of no bytes is a user block of no bytes, with no guard (`pad = 0`).
//! * With `guard_underflow`, a block in the GPA's guarded area is a user block with no guard
//!   (`pad = 0`, [`unpadded`]).
//! * Every other live check-mode block made through this module has `pad` guard bytes at its
//!   start, and `pad = max(FRONT, block's alignment)`; they are all [`GUARD`], except the last 8,
//!   which are zero when the block's tag has [`COOKIE_TAG`].
//! * A pointer that is not the user pointer of a block is passed to the GPA as `user - FRONT`
//!   (wrapping; `user` itself where blocks have no guard, [`unknown_base`]), so that the GPA's
//!   report (invalid free) translates back to the pointer the program used.

use core::alloc::Layout;

use super::recorded::FindingList;
use crate::gpa::{
    all_bytes_are, BlockInfo, CheckedBlock, GeneralPurposeAllocator, InsideAllocator, LiveBlock,
    Located,
};
use crate::report::{FindingKind, RawFinding};

/// Guard bytes in front of a block with alignment 32 or less.
pub const FRONT: usize = 32;
/// The guard fill byte.
pub const GUARD: u8 = 0xF7;
/// A block tag bit: the last 8 guard bytes are zero (see the module docs).
pub const COOKIE_TAG: u8 = 0x80;
/// Bytes of the C++ array cookie (an element count) before a `new[]` array.
pub const COOKIE: usize = 8;

/// Underflows found by this module (the GPA's own findings are kept by the GPA).
static FINDINGS: FindingList = FindingList::new();

/// The front pad of a block with alignment `align`.
#[inline]
pub fn pad_for(align: usize) -> usize {
    align.max(FRONT)
}

/// The front pad of a GPA block of `size` bytes at `align`: none for a block of no bytes (a
/// `malloc(0)`), else [`pad_for`]`(align)`.
#[inline]
pub fn pad_of(size: usize, align: usize) -> usize {
    if size == 0 {
        0
    } else {
        pad_for(align)
    }
}

/// The front pad of the GPA block at `start` of `size` bytes at `align`: [`pad_of`], and
/// none for a guarded block with `GPA_GUARD_UNDERFLOW` ([`unpadded`]).
#[inline]
pub fn pad_at(gpa: &GeneralPurposeAllocator, start: usize, size: usize, align: usize) -> usize {
    if unpadded(gpa, start) {
        0
    } else {
        pad_of(size, align)
    }
}

/// Whether `address` lies where blocks have no front guard: the guarded area of a GPA with
/// `Config::guard_underflow` (`gpa run --guard-underflow`), whose blocks start against their
/// guard page (see the module docs, "Guarded underflow").
#[inline(always)]
pub fn unpadded(gpa: &GeneralPurposeAllocator, address: usize) -> bool {
    gpa.config().guard_underflow && gpa.in_guarded_area(address)
}

/// Whether a request names its alignment (`posix_memalign`, `aligned_alloc`, `memalign`,
/// `valloc`, `operator new(size, std::align_val_t)`), which is then honoured exactly, or
/// takes `malloc`'s implicit one (`malloc`, `calloc`, `realloc`, plain `operator new`),
/// which guard mode may lower ([`block_align`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asked {
    /// `malloc`'s implicit alignment (16, `alignof(max_align_t)`).
    Implicit,
    /// The alignment the caller named.
    Explicit,
}

/// The alignment of the GPA block behind `size` user bytes at `align` (a power of two, 16 or
/// more; the pad is a multiple of it, so the user pointer has the block's alignment). In
/// check mode, and for an alignment the caller named, `align`. In guard mode `malloc`'s
/// implicit 16 is lowered so that the block's end comes as close to its guard page as C
/// allows (see the module docs, "Alignment slack"):
/// * a block of fewer than 16 bytes: its size rounded up to a power of two (the most any
///   object of that size needs, as GWP-ASan does), which leaves the same slack as the largest
///   power of two not above the size, the least C allows (C17 7.22.3);
/// * with `GPA_GUARD_FLUSH=1` (`gpa run --guard-flush`), any block: alignment 1, so that its
///   end is flush against the guard page and the first byte past it faults.
#[inline]
pub fn block_align(
    gpa: &GeneralPurposeAllocator,
    size: usize,
    align: usize,
    asked: Asked,
) -> usize {
    let usual = super::MIN_ALIGN;
    if asked == Asked::Explicit || !gpa.config().guard || align > usual {
        return align.max(usual);
    }
    if flush() {
        1
    } else if size < usual {
        size.max(1).next_power_of_two()
    } else {
        usual
    }
}

/// Whether guard mode's `malloc` blocks end flush against their guard page
/// (`GPA_GUARD_FLUSH`).
#[inline]
fn flush() -> bool {
    super::state().settings.guard_flush
}

/// Allocates `size` user bytes at `align` (a power of two, 16 or more) with a front guard;
/// null on failure. `asked` says whether the caller named the alignment ([`block_align`]).
#[inline]
pub fn alloc(gpa: &GeneralPurposeAllocator, size: usize, align: usize, asked: Asked) -> *mut u8 {
    alloc_tagged(gpa, size, align, asked, 0)
}

/// Guard mode's `realloc` of the live block at `base` (front pad `pad`, its guard checked by
/// the caller) to `size` user bytes (not 0): a fresh `malloc` block aligned for its own size
/// ([`block_align`], not the old block's alignment, which for a block grown from fewer than
/// 16 bytes would leave it less aligned than `malloc` must), the user bytes both blocks hold
/// copied, and the old block freed (its canary bytes checked: a write past its end is
/// reported there). Guarded blocks never change size in place, so this makes no copy the
/// GPA's own `realloc` would not. Also the move of check mode's [`realloc_general`]. Null on
/// failure, the old block untouched. Runs inside `capi::realloc_checked`, which records the
/// old block for the exit scan and clears the record: this records the fresh block only.
///
/// # Safety
/// `base` is a live block of this GPA with `pad` guard bytes before its user bytes.
pub unsafe fn realloc_moved(
    gpa: &GeneralPurposeAllocator,
    base: *mut u8,
    pad: usize,
    size: usize,
) -> *mut u8 {
    let Some(old) = gpa.block_layout(base) else {
        return core::ptr::null_mut();
    };
    // Observers (the heap profiler) see the move as one reallocation, as the GPA's own
    // `realloc` reports it, not as an allocation followed by a free.
    let fresh = gpa.without_events(|| alloc(gpa, size, super::MIN_ALIGN, Asked::Implicit));
    if fresh.is_null() {
        return fresh;
    }
    // For a leak scan that stops this thread meanwhile (`scan::InFlight`; the caller,
    // `capi::realloc_checked`, recorded the old block and clears the record).
    super::scan::fresh_now(fresh);
    let keep = (old.size() - pad).min(size);
    // SAFETY: caller contract: `base + pad` holds `old.size() - pad` user bytes; the fresh
    // block holds `size`; they are distinct live blocks.
    unsafe { core::ptr::copy_nonoverlapping(base.add(pad), fresh, keep) };
    if gpa.observing() {
        if let Some(moved) = find(gpa, fresh) {
            gpa.observe_move(base, moved.base, old.size(), moved.pad + size);
        }
    }
    // SAFETY: caller contract: a live block of this GPA, freed once.
    gpa.without_events(|| unsafe { gpa.free_unsized(base) });
    fresh
}

/// [`alloc`] of a `malloc` block (alignment 16) by the GPA's check-mode entry
/// (`GeneralPurposeAllocator::c_alloc_checked`), with its allocation trace taken from `frame`
/// (the frame pointer of the C ABI function that calls this, see
/// `trace::capture_id_at`): null when that entry does not serve the request, and then
/// [`alloc`] must.
#[inline]
pub fn alloc_at(gpa: &GeneralPurposeAllocator, size: usize, frame: usize) -> *mut u8 {
    let Some(total) = size.checked_add(FRONT) else {
        return core::ptr::null_mut();
    };
    if size == 0 {
        return core::ptr::null_mut();
    }
    // The guard is written by the GPA before the block goes live (`Prefix`): a walk of the
    // heap at exit, which may stop this thread anywhere, never sees a live block without it.
    let base = gpa.c_alloc_checked_prefixed(total, frame, guard_prefix(FRONT, 0));
    if base.is_null() {
        return base;
    }
    // SAFETY: the block has `total >= FRONT` bytes.
    unsafe { base.add(FRONT) }
}

/// [`alloc_tagged`] by the GPA's check-mode entry
/// (`GeneralPurposeAllocator::c_alloc_checked_as`): a block of `size` bytes (not 0) at `align`
/// (a power of two, 16 or more) tagged `tag`, its allocation trace taken from `frame` (as for
/// [`alloc_at`]); null when that entry does not serve the request, and then [`alloc_tagged`]
/// must.
#[inline]
pub fn alloc_tagged_at(
    gpa: &GeneralPurposeAllocator,
    size: usize,
    align: usize,
    tag: u8,
    frame: usize,
) -> *mut u8 {
    let pad = pad_for(align);
    let Some(total) = size.checked_add(pad) else {
        return core::ptr::null_mut();
    };
    if size == 0 {
        return core::ptr::null_mut();
    }
    // The guard, with the array cookie's bytes zero for a `COOKIE_TAG` block, is written by
    // the GPA before the block goes live (as for `alloc_at`).
    let base = gpa.c_alloc_checked_as(total, align, tag, frame, guard_prefix(pad, tag));
    if base.is_null() {
        return base;
    }
    // SAFETY: the block has `total >= pad` bytes.
    unsafe { base.add(pad) }
}

/// A release by `operator delete` (`tag`: the family's, [`crate::capi::family::Family::tag`];
/// `size`, `align`: what a sized or aligned `delete` claims)
/// through the GPA's check-mode entry, with the free trace taken from `frame` (as for
/// [`alloc_at`]): when `user` is the user pointer of a live small block of that family, size
/// and alignment with an intact guard, it is freed with every check of the GPA's and true
/// returned. False, with nothing done, for anything else (a mismatched family, size or
/// alignment, a damaged guard, a freed block...): the general path then checks the pointer
/// and reports what it finds.
#[inline]
pub fn release_at(
    gpa: &GeneralPurposeAllocator,
    user: *mut u8,
    tag: u8,
    size: Option<usize>,
    align: Option<usize>,
    frame: usize,
) -> bool {
    let Some(block) = checked_user_block(gpa, user, tag) else {
        return false;
    };
    let pad = pad_for(block.align);
    if size.is_some_and(|claimed| claimed != block.size() - pad)
        || align.is_some_and(|claimed| claimed.max(super::MIN_ALIGN) != block.align)
    {
        return false;
    }
    // SAFETY: `block` was just found on this thread, and only read since.
    unsafe { gpa.c_free_checked(block, frame) };
    true
}

/// Check mode's `free` of `user` by the GPA's check-mode entry
/// (`GeneralPurposeAllocator::c_checked_block`, `c_free_checked`), with the free trace taken
/// from `frame` (as for [`alloc_at`]), when `user` is the user pointer of a live small block
/// of the `malloc` family with the usual pad ([`FRONT`]) and an intact guard: then the block
/// is freed with every check of the GPA's and true returned. False, with nothing done, for
/// anything else (another family, a damaged guard, a freed block, not a block at all): the
/// general path ([`find`], `family::check_release`, [`check_tagged`]) then checks the pointer
/// and reports what it finds.
#[inline]
pub fn free_at(gpa: &GeneralPurposeAllocator, user: *mut u8, frame: usize) -> bool {
    let Some(block) = checked_user_block(gpa, user, 0) else {
        return false;
    };
    // SAFETY: `block` was just found on this thread, and only read since.
    unsafe { gpa.c_free_checked(block, frame) };
    true
}

/// Check mode's `realloc` of `user` to `size` bytes (not 0) by the GPA's check-mode entries,
/// with its traces taken from `frame` (as for [`alloc_at`]), when `user` is a block
/// [`free_at`] would take with the usual pad ([`FRONT`]) and the new block is a small one: the
/// block always moves, as under Valgrind, whose `realloc` never resizes in place: a fresh block
/// (`GeneralPurposeAllocator::c_alloc_checked_prefixed`, its guard written before it goes
/// live), the user bytes both hold copied, and the old block freed with every check of a
/// checked free (`c_free_checked`: its redzone checked, poisoned, quarantined). So the old
/// address is a freed block afterwards: a write through it is reported as a write after free,
/// and a copy of it left in memory no longer holds the block at exit (mawk shrinks its code
/// buffer and keeps the old address in a pooled node: a block resized in place was "still
/// reachable" where Valgrind says "possibly lost", `cli/tests/c/prog_realloc_shrink_stale.c`).
/// Returns the new user pointer. Null, with nothing done, for anything else: the general path
/// then checks the pointer, reports what it finds and serves the request.
#[inline]
pub fn realloc_at(
    gpa: &GeneralPurposeAllocator,
    user: *mut u8,
    size: usize,
    frame: usize,
) -> *mut u8 {
    let Some(total) = size.checked_add(FRONT) else {
        return core::ptr::null_mut();
    };
    // Only the usual pad: the block in place, or the fresh `malloc` block it moves to, keeps
    // its user pointer `FRONT` bytes after its start.
    let Some(block) = checked_user_block(gpa, user, 0).filter(|b| pad_for(b.align) == FRONT) else {
        return core::ptr::null_mut();
    };
    let Some(old) = gpa.block_layout(block.start as *mut u8) else {
        return core::ptr::null_mut();
    };
    // The old block stays live meanwhile: its page is not released, so `block` stays valid.
    let base = gpa.c_alloc_checked_prefixed(total, frame, guard_prefix(FRONT, 0));
    if base.is_null() {
        return base;
    }
    // SAFETY: the block has `total >= FRONT` bytes.
    let fresh = unsafe { base.add(FRONT) };
    // For a leak scan that stops this thread meanwhile (`scan::InFlight`; the caller,
    // `capi::realloc_checked`, recorded `user` and clears the record).
    super::scan::fresh_now(fresh);
    let keep = (old.size() - FRONT).min(size);
    // SAFETY: the old block holds `old.size() - FRONT` user bytes after its guard, the fresh
    // one `size` after its own (`total >= FRONT` bytes); they are distinct live blocks. Then
    // `block`, found on this thread and only read since, is freed once.
    unsafe {
        core::ptr::copy_nonoverlapping((block.start + FRONT) as *const u8, fresh, keep);
        gpa.c_free_checked(block, frame);
    }
    fresh
}

/// The live small block whose user pointer is `user`, tagged `tag` (0: the `malloc` family),
/// with its pad (`pad_for` its alignment) and an intact guard, for [`free_at`],
/// [`realloc_at`] and [`release_at`]; `None` for anything else (another family, a damaged
/// guard, a freed block, not a block at all), left to the general path.
#[inline(always)]
fn checked_user_block(
    gpa: &GeneralPurposeAllocator,
    user: *mut u8,
    tag: u8,
) -> Option<CheckedBlock> {
    let address = user as usize;
    let block = address
        .checked_sub(1)
        .and_then(|inside| gpa.c_checked_block(inside))?;
    if block.tag != tag {
        return None;
    }
    // The usual block (`malloc`'s: untagged, aligned to at most `FRONT`, so its pad is
    // `FRONT`) tested first, without computing the pad.
    let whole = if tag == 0 && block.align <= FRONT {
        if block.start.wrapping_add(FRONT) != address {
            return None;
        }
        // SAFETY: the block is live and at least `FRONT` bytes long (its user pointer is
        // `FRONT` bytes after its start, inside its slot); an unaligned read of 32 bytes (two
        // vector compares, no call: what `intact` checks for an untagged block).
        let front = unsafe { (block.start as *const [u8; FRONT]).read_unaligned() };
        front == [GUARD; FRONT]
    } else {
        let pad = pad_for(block.align);
        if block.start.wrapping_add(pad) != address {
            return None;
        }
        // SAFETY: the block is live and its user pointer is `pad` bytes after its start,
        // inside its slot: `pad` bytes are readable.
        unsafe { intact(block.start as *const u8, pad, tag) }
    };
    whole.then_some(block)
}

/// The front guard of `pad` bytes of a block tagged `tag`, as the GPA writes it into a
/// check-mode block before the block goes live: [`GUARD`] bytes, the last [`COOKIE`] of them
/// zero when `tag` has [`COOKIE_TAG`] (the usual [`FRONT`] bytes of an untagged block by two
/// 16-byte stores inline: a `memset` call costs about twenty instructions more on every
/// `malloc`).
#[inline(always)]
fn guard_prefix(pad: usize, tag: u8) -> crate::gpa::Prefix {
    debug_assert!(pad >= FRONT);
    crate::gpa::Prefix {
        byte: GUARD,
        len: pad,
        // Every pad is at least `FRONT`, more than the cookie.
        zeros: usize::from(tag & COOKIE_TAG != 0) * COOKIE,
    }
}

/// A block of no bytes: the GPA's own block of size 0, without a guard (see the module
/// docs).
#[cold]
#[inline(never)]
fn alloc_empty(gpa: &GeneralPurposeAllocator, align: usize) -> *mut u8 {
    gpa.alloc_unsized(0, align.max(super::MIN_ALIGN))
}

/// As [`alloc`], and tags the block with `tag` (its cookie bytes zero if `tag` has
/// [`COOKIE_TAG`]). The GPA writes the tag and the guard before the block goes live
/// (`GeneralPurposeAllocator::alloc_prefixed`): a walk of the heap at exit, which may stop
/// this thread anywhere, never sees a live block without them.
pub fn alloc_tagged(
    gpa: &GeneralPurposeAllocator,
    size: usize,
    align: usize,
    asked: Asked,
    tag: u8,
) -> *mut u8 {
    if size == 0 {
        let block = alloc_empty(gpa, align);
        if !block.is_null() && tag != 0 {
            // A block of no bytes is its own GPA block (no guard, no cookie bytes).
            gpa.set_block_tag(block, tag);
        }
        return block;
    }
    let pad = pad_for(align);
    let Some(total) = size.checked_add(pad) else {
        return core::ptr::null_mut();
    };
    let block_align = block_align(gpa, size, align, asked);
    if gpa.config().guard_underflow {
        // A guarded block starts against its guard page: no front guard.
        let block = gpa.alloc_guarded_c(size, block_align, tag);
        if !block.is_null() {
            return block;
        }
    }
    // Never a block in the guarded area with `guard_underflow` (`alloc_prefixed` does not
    // guard padded blocks then): every block there is taken to have no front guard.
    let base = gpa.alloc_prefixed(total, block_align, tag, guard_prefix(pad, tag));
    if base.is_null() {
        return base;
    }
    debug_assert!(!unpadded(gpa, base as usize));
    // SAFETY: the block has `total >= pad` bytes.
    unsafe { base.add(pad) }
}

/// Check mode's `realloc` of the live block at `base` (front pad `pad`, tag `tag`, its guard
/// and family checked by the caller) to `size` user bytes (not 0), when the check-mode entry
/// ([`realloc_at`]) did not serve it: in place or by moving a large block's mapping where the
/// GPA can (the block keeps its pad; a tagged block becomes a `malloc` block), else a fresh
/// `malloc` block ([`alloc`], its guard written before it goes live) with the user bytes
/// both hold copied, and the old block freed. The fresh block's user pointer is held by this
/// frame while the old block is freed: a thread stopped there by the exit-time scan holds the
/// block by the program's pointer (`GlobalAlloc::realloc` would hold only the GPA block's
/// start, before its guard, and the block in flight was reported definitely lost). Returns
/// the new user pointer; null on failure, the old block untouched.
///
/// # Safety
/// `base` is a live block of this GPA with `pad` guard bytes before its user bytes.
pub unsafe fn realloc_general(
    gpa: &GeneralPurposeAllocator,
    base: *mut u8,
    pad: usize,
    tag: u8,
    size: usize,
) -> *mut u8 {
    let (Some(old), Some(total), Some(start)) = (
        gpa.block_layout(base),
        size.checked_add(pad),
        core::ptr::NonNull::new(base),
    ) else {
        return core::ptr::null_mut();
    };
    // SAFETY: caller contract: a live block of this GPA with its current layout.
    if let Some(moved) = unsafe { crate::interface::RawAllocator::remap(gpa, start, old, total) } {
        let moved = moved.as_ptr();
        // SAFETY: the block has at least `pad` bytes.
        super::scan::fresh_now(unsafe { moved.add(pad) });
        if tag != 0 {
            // SAFETY: the block is live with `pad` guard bytes; `realloc` makes it a
            // `malloc` block.
            unsafe { retag(gpa, moved, pad, 0) };
        }
        // SAFETY: the block keeps its guard (in place, or its mapping moved whole).
        return unsafe { moved.add(pad) };
    }
    // SAFETY: caller contract. The move returns the fresh user pointer after freeing the old
    // block, so its frame holds that pointer meanwhile.
    unsafe { realloc_moved(gpa, base, pad, size) }
}

/// Re-tags the live block at `base` (pad `pad`) with `tag`, rewriting its guard to match.
///
/// # Safety
/// `base` is a live block of at least `pad` bytes.
pub unsafe fn retag(gpa: &GeneralPurposeAllocator, base: *mut u8, pad: usize, tag: u8) {
    gpa.set_block_tag(base, tag);
    // SAFETY: caller contract.
    unsafe {
        core::ptr::write_bytes(base, GUARD, pad);
        if tag & COOKIE_TAG != 0 && pad >= COOKIE {
            core::ptr::write_bytes(base.add(pad - COOKIE), 0, COOKIE);
        }
    }
}

/// The tag of the live block at `base` (0 when it has none).
#[inline]
fn tag_of(gpa: &GeneralPurposeAllocator, base: *const u8) -> u8 {
    gpa.block_info(base).map_or(0, |info| info.tag)
}

/// The GPA block whose user pointer `user` is.
#[derive(Clone, Copy, Debug)]
pub struct Found {
    /// The GPA block's start.
    pub base: *mut u8,
    /// Its front pad (`user - base`).
    pub pad: usize,
    /// Still allocated (else freed and remembered by the GPA).
    pub live: bool,
    /// What the GPA keeps about the live block (as [`GeneralPurposeAllocator::block_info`]
    /// would say, without a second lookup); `None` for a freed block or one of the GPA's
    /// internal heap.
    pub info: Option<BlockInfo>,
    /// Where the GPA found the block, for [`GeneralPurposeAllocator::free_located`].
    pub located: Located,
}

/// The GPA block (live or freed) whose user pointer is `user`, if it is one: the block whose
/// guard holds the byte before it, or else a block without a guard at `user` itself (a block
/// of no bytes, or a guarded block with `GPA_GUARD_UNDERFLOW`: [`find_unpadded`]).
#[inline]
pub fn find(gpa: &GeneralPurposeAllocator, user: *mut u8) -> Option<Found> {
    let address = user as usize;
    let guarded = gpa
        .block_containing_located(address.checked_sub(1)?)
        .map(|(info, located)| {
            (
                info,
                located,
                pad_at(gpa, info.start, info.size, info.align),
            )
        })
        .filter(|&(info, _, pad)| info.start.checked_add(pad) == Some(address));
    match guarded {
        Some((info, located, pad)) => Some(found(info, pad, located)),
        None => find_unpadded(gpa, address),
    }
}

/// The block without a front guard (live or freed) at `address`, if there is one: a block of
/// no bytes, or a guarded block with `GPA_GUARD_UNDERFLOW` ([`unpadded`]), whose byte before
/// is its guard page.
#[cold]
#[inline(never)]
fn find_unpadded(gpa: &GeneralPurposeAllocator, address: usize) -> Option<Found> {
    let (info, located) = gpa.block_containing_located(address)?;
    (info.start == address && (info.size == 0 || unpadded(gpa, address)))
        .then(|| found(info, 0, located))
}

/// What [`find`] says of the GPA block `info` with front pad `pad`, found at `located`.
fn found(info: crate::gpa::BlockSpan, pad: usize, located: Located) -> Found {
    Found {
        base: info.start as *mut u8,
        pad,
        live: info.live,
        info: match info.tag {
            Some(tag) if info.live => {
                Layout::from_size_align(info.size, info.align)
                    .ok()
                    .map(|layout| BlockInfo {
                        layout,
                        tag,
                        alloc_trace: info.alloc_trace,
                    })
            }
            _ => None,
        },
        located,
    }
}

/// The live GPA block behind user pointer `user`, and its pad, if `user` is one.
#[inline]
pub fn base_of(gpa: &GeneralPurposeAllocator, user: *mut u8) -> Option<(*mut u8, usize)> {
    find(gpa, user)
        .filter(|found| found.live)
        .map(|found| (found.base, found.pad))
}

/// What to pass to the GPA for a pointer that is not a block's user pointer: `user - FRONT`,
/// or `user` itself where blocks have no front guard ([`unpadded`]; `user - FRONT` could be
/// the start of a block there, which the GPA would free).
#[inline]
pub fn unknown_base(gpa: &GeneralPurposeAllocator, user: *mut u8) -> *mut u8 {
    if unpadded(gpa, user as usize) {
        return user;
    }
    (user as usize).wrapping_sub(FRONT) as *mut u8
}

/// Whether the guard of the block at `base` (with tag `tag`) is intact.
///
/// # Safety
/// `base` is a live block of at least `pad` bytes.
#[inline]
pub unsafe fn intact(base: *const u8, pad: usize, tag: u8) -> bool {
    let base = base as usize;
    if tag & COOKIE_TAG != 0 && pad >= COOKIE {
        let fill = pad - COOKIE;
        // SAFETY: caller contract: `[base, base + pad)` is readable.
        return unsafe {
            all_bytes_are(base, fill, GUARD) && all_bytes_are(base + fill, COOKIE, 0)
        };
    }
    // SAFETY: caller contract.
    unsafe { all_bytes_are(base, pad, GUARD) }
}

/// The index of the first guard byte that changed: the lowest address, which is the farthest
/// from the block (Valgrind reports the first invalid access, usually that one).
///
/// # Safety
/// As for [`intact`].
unsafe fn first_changed(base: *const u8, pad: usize, tag: u8) -> Option<usize> {
    // SAFETY: caller contract.
    let guard = unsafe { core::slice::from_raw_parts(base, pad) };
    let cookie_from = if tag & COOKIE_TAG != 0 && pad >= COOKIE {
        pad - COOKIE
    } else {
        pad
    };
    guard.iter().enumerate().position(|(index, &byte)| {
        let expected = if index < cookie_from { GUARD } else { 0 };
        byte != expected
    })
}

/// Checks the guard of a live block about to be freed or moved; records an underflow.
///
/// # Safety
/// `base` is a live block of at least `pad` bytes.
#[inline]
pub unsafe fn check(gpa: &GeneralPurposeAllocator, base: *mut u8, pad: usize) {
    // SAFETY: caller contract.
    unsafe { check_tagged(gpa, base, pad, tag_of(gpa, base)) }
}

/// [`check`] for a block whose tag the caller has already looked up.
///
/// # Safety
/// As for [`check`].
#[inline]
pub unsafe fn check_tagged(gpa: &GeneralPurposeAllocator, base: *mut u8, pad: usize, tag: u8) {
    // SAFETY: caller contract.
    if unsafe { intact(base, pad, tag) } {
        return;
    }
    // SAFETY: caller contract.
    if let Some(index) = unsafe { first_changed(base, pad, tag) } {
        report_underflow(gpa, base as usize, pad, index);
    }
}

#[cold]
#[inline(never)]
fn report_underflow(gpa: &GeneralPurposeAllocator, base: usize, pad: usize, index: usize) {
    let _inside = InsideAllocator::enter();
    let mut finding = RawFinding::new(FindingKind::Underflow, base + pad);
    if let Some(info) = gpa.block_info(base as *const u8) {
        finding.size = info.layout.size().saturating_sub(pad);
        finding.align = info.layout.align();
        finding.alloc_trace = info.alloc_trace;
    }
    finding.offset = Some(index as isize - pad as isize);
    let frames = gpa.config().stack_trace_frames;
    finding.site_trace = crate::trace::capture_id(frames, gpa.config().trace_method);
    record(finding);
}

/// Records an invalid free of `user`, a pointer that has no base to hand the GPA (the address
/// `FRONT` itself, whose base would be null).
pub fn invalid_free_without_base(gpa: &GeneralPurposeAllocator, user: *mut u8) {
    let _inside = InsideAllocator::enter();
    let mut finding = RawFinding::new(FindingKind::InvalidFree, user as usize);
    let frames = gpa.config().stack_trace_frames;
    finding.site_trace = crate::trace::capture_id(frames, gpa.config().trace_method);
    record(finding);
}

fn record(finding: RawFinding) {
    FINDINGS.record(finding, usize::MAX, false, |seen, finding| {
        seen.kind == finding.kind && seen.address == finding.address
    });
}

/// Checks the guards of live blocks at exit (underflows of blocks never freed). Not in the
/// child of a `fork` made while other threads ran (`process::forked_from_threads`): a block
/// one of them was setting up has no guard yet in the child; the parent checks its blocks.
/// `others_run`: a thread the exit scan could not stop runs on, and may free and unmap a
/// large or guarded block of the list meanwhile, so each guard is copied with a read that
/// fails instead of faulting (`exit_heap_missed.c churn`: the report died of `SIGSEGV` in 2
/// runs of 40), and a guard that cannot be copied whole belongs to a block freed since.
pub fn check_live(gpa: &GeneralPurposeAllocator, blocks: &[LiveBlock], others_run: bool) {
    if super::process::forked_from_threads() {
        return;
    }
    for block in blocks {
        let pad = gpa
            .block_layout(block.address as *const u8)
            .map_or(FRONT, |layout| {
                pad_at(gpa, block.address, layout.size(), layout.align())
            });
        let tag = tag_of(gpa, block.address as *const u8);
        // SAFETY: a live block of the GPA; every check-mode block is at least `pad` bytes
        // (blocks of other origins, if any, are at least as long as their requested size,
        // and only blocks of `pad` bytes or more are read).
        if block.size < pad {
            continue;
        }
        let mut copy = std::vec::Vec::new();
        let guard = if others_run {
            copy.resize(pad, 0u8);
            match crate::leakcheck::maps::read_own_memory(block.address, &mut copy) {
                Some(copied) if copied == pad => copy.as_ptr(),
                Some(_) => continue,
                // No `process_vm_readv`: not read at all while a thread runs on.
                None => continue,
            }
        } else {
            block.address as *const u8
        };
        // SAFETY: as above, or `pad` bytes of `copy`.
        if let Some(index) = unsafe { first_changed(guard, pad, tag) } {
            // A thread the exit scan could not stop (one blocking every signal while it
            // ends) may free the block meanwhile: a free marks the slot freed before it
            // poisons the block, so a block no longer live was not damaged by the program.
            core::sync::atomic::fence(core::sync::atomic::Ordering::Acquire);
            if gpa.block_layout(block.address as *const u8).is_none() {
                continue;
            }
            let mut finding = RawFinding::new(FindingKind::Underflow, block.address + pad);
            finding.size = block.size - pad;
            finding.alloc_trace = block.alloc_trace;
            finding.offset = Some(index as isize - pad as isize);
            record(finding);
        }
    }
}

/// This module's findings, if their lock is free (for a crash report); the record is cleared.
pub fn try_take_findings() -> std::vec::Vec<RawFinding> {
    FINDINGS.try_take()
}

/// This module's findings; the record is cleared.
pub fn take_findings() -> std::vec::Vec<RawFinding> {
    FINDINGS.take()
}

/// A GPA finding (block start, padded size) in the program's terms: the GPA records the
/// block's alignment with every finding about a block, so this holds after the block was
/// freed too.
pub fn to_user(gpa: &GeneralPurposeAllocator, mut finding: RawFinding) -> RawFinding {
    // Blocks without a front guard, and pointers passed as they are (`unknown_base`).
    let bare = unpadded(gpa, finding.address);
    // The block's front pad, when the finding names a block (its alignment is known).
    let pad = if bare {
        0
    } else if finding.align != 0 {
        pad_of(finding.size, finding.align)
    } else {
        FRONT
    };
    // What this module passed to the GPA: the block's start, or `user - FRONT` for a
    // pointer that is no block's user pointer (reported as such).
    let passed_front = !bare
        && matches!(
            finding.kind,
            FindingKind::InvalidFree | FindingKind::ForeignFree | FindingKind::InternalError
        );
    let shift = if passed_front { FRONT } else { pad };
    finding.address = finding.address.wrapping_add(shift);
    finding.size = finding.size.saturating_sub(pad);
    finding.claimed_size = finding.claimed_size.saturating_sub(pad);
    // The blocks counted on the finding (`gpa::findings`) lose their pads too.
    if finding.blocks_bytes != 0 {
        finding.blocks_bytes = finding.blocks_bytes.saturating_sub(pad * finding.count);
    }
    // Offsets count from the GPA block's start, the program's block starts `pad` later; an
    // invalid free's offset is that of the address passed (`FRONT` before the pointer).
    let passed = if passed_front { FRONT } else { 0 };
    finding.offset = finding
        .offset
        .map(|offset| offset + passed as isize - pad as isize);
    // An invalid free of a pointer inside a block where the GPA named the block but not the
    // pointer's place in it (a guarded block's): its offset from the program's start of the
    // block, as check mode's findings and Valgrind give it ("16 bytes inside a block of size
    // 64"), from the block's own lookup (as [`find`]'s). A pointer in the block's alignment
    // slack or front guard gets its offset too (past the end, or negative), as check mode
    // gives it for a pointer in its redzone: `free (p + 1)` of a 1-byte block is "0 bytes
    // after a block of size 1" in Valgrind's words, offset 1 (it had none in guard mode).
    if finding.kind == FindingKind::InvalidFree && finding.offset.is_none() && finding.size != 0 {
        if let Some((span, _)) = gpa.block_containing_located(finding.address) {
            let start = span.start + pad_at(gpa, span.start, span.size, span.align);
            finding.offset = Some(finding.address.wrapping_sub(start) as isize);
        }
    }
    finding
}

/// A live block in the program's terms.
pub fn block_to_user(gpa: &GeneralPurposeAllocator, block: LiveBlock) -> LiveBlock {
    let pad = gpa
        .block_layout(block.address as *const u8)
        .map_or(FRONT, |layout| {
            pad_at(gpa, block.address, layout.size(), layout.align())
        });
    LiveBlock {
        address: block.address + pad,
        size: block.size.saturating_sub(pad),
        ..block
    }
}
