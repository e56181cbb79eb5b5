//! Front guards (check mode): underflow detection for C blocks, on top of the GPA's canaries.
//!
//! # Design
//! The GPA checks the bytes *after* a block (canaries) but keeps nothing before it: the byte
//! before a block is the tail of the previous slot, or page metadata. So in check mode every
//! C block gets a guard in front: `malloc(n)` takes `n + pad` bytes from the GPA, fills the
//! first `pad` bytes with [`GUARD`] and hands out `base + pad`. The guard is checked when the
//! block is freed or reallocated and at exit; a changed byte is an underflow.
//!
//! ```text
//!  base (GPA block)          user pointer (what C sees)
//!  |<------ pad ------>|<------------- n bytes ------------->|<- GPA canary ->|
//!  | GUARD ... GUARD   | user data                           | C5 C5 ...      |
//! ```
//!
//! `pad` is [`FRONT`] (16, keeping `malloc`'s 16-byte alignment) or the requested alignment
//! when it is larger (so `base + pad` stays aligned). A user pointer maps back to its base as
//! `user - 16` when that is a live block with alignment 16 or less, else `user - align` for the
//! power of two `align` the live block there was allocated with ([`base_of`]). Findings the
//! GPA records carry base addresses and padded sizes; [`to_user`] translates them back.
//!
//! A block whose tag (`GeneralPurposeAllocator::set_block_tag`) has [`COOKIE_TAG`] set keeps
//! the last 8 guard bytes zero instead: blocks of scalar `operator new`, where a mistaken
//! `delete[]` reads the array's element count from those 8 bytes (the Itanium C++ ABI's array
//! cookie). A count of 0 runs no destructors and hands `delete[]` the pointer 8 bytes before
//! the block, which is then reported; `0xF7F7...` would run destructors over the whole
//! address space and crash first. The price: an underflow that writes exactly zeros into those
//! 8 bytes of such a block goes unnoticed.
//!
//! # Invariants
//! * Every live check-mode block made through this module has `pad` guard bytes at its start,
//!   and `pad = max(FRONT, block's alignment)`; they are all [`GUARD`], except the last 8,
//!   which are zero when the block's tag has [`COOKIE_TAG`].
//! * A pointer that is not a user pointer of a live block is passed to the GPA as
//!   `user - FRONT` (wrapping), so that its reports (double, invalid free) translate back to
//!   the pointer the program used.

use core::alloc::{GlobalAlloc, Layout};
use std::sync::Mutex;

use crate::gpa::{GeneralPurposeAllocator, InsideAllocator, LiveBlock};
use crate::report::{FindingKind, RawFinding};
use crate::trace::TraceId;

/// Guard bytes in front of a block with alignment 16 or less.
pub const FRONT: usize = 16;
/// The guard fill byte.
pub const GUARD: u8 = 0xF7;
/// A block tag bit: the last 8 guard bytes are zero (see the module docs).
pub const COOKIE_TAG: u8 = 0x80;
/// Bytes of the C++ array cookie (an element count) before a `new[]` array.
pub const COOKIE: usize = 8;

/// Underflows found by this module (the GPA's own findings are kept by the GPA).
static FINDINGS: Mutex<std::vec::Vec<RawFinding>> = Mutex::new(std::vec::Vec::new());

/// The front pad of a block with alignment `align`.
#[inline]
pub fn pad_for(align: usize) -> usize {
    align.max(FRONT)
}

/// Allocates `size` user bytes at `align` with a front guard; null on failure.
#[inline]
pub fn alloc(gpa: &GeneralPurposeAllocator, size: usize, align: usize) -> *mut u8 {
    let pad = pad_for(align);
    let Some(total) = size.checked_add(pad) else {
        return core::ptr::null_mut();
    };
    let Ok(layout) = Layout::from_size_align(total, align.max(FRONT)) else {
        return core::ptr::null_mut();
    };
    // SAFETY: a valid layout of non-zero size.
    let base = unsafe { GlobalAlloc::alloc(gpa, layout) };
    if base.is_null() {
        return base;
    }
    // SAFETY: the block has `total >= pad` bytes.
    unsafe {
        core::ptr::write_bytes(base, GUARD, pad);
        base.add(pad)
    }
}

/// As [`alloc`], and tags the block with `tag` (zeroing the cookie bytes if `tag` has
/// [`COOKIE_TAG`]).
pub fn alloc_tagged(gpa: &GeneralPurposeAllocator, size: usize, align: usize, tag: u8) -> *mut u8 {
    let user = alloc(gpa, size, align);
    if !user.is_null() && tag != 0 {
        // SAFETY: `user` is a fresh block with `pad >= FRONT > COOKIE` guard bytes before it.
        let base = unsafe { user.sub(pad_for(align)) };
        gpa.set_block_tag(base, tag);
        if tag & COOKIE_TAG != 0 {
            // SAFETY: as above.
            unsafe { core::ptr::write_bytes(user.sub(COOKIE), 0, COOKIE) };
        }
    }
    user
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
        if tag & COOKIE_TAG != 0 {
            core::ptr::write_bytes(base.add(pad - COOKIE), 0, COOKIE);
        }
    }
}

/// The tag of the live block at `base` (0 when it has none).
#[inline]
fn tag_of(gpa: &GeneralPurposeAllocator, base: *const u8) -> u8 {
    gpa.block_info(base).map_or(0, |info| info.tag)
}

/// The GPA block behind user pointer `user`, and its pad, if `user` is one.
#[inline]
pub fn base_of(gpa: &GeneralPurposeAllocator, user: *mut u8) -> Option<(*mut u8, usize)> {
    let address = user as usize;
    let base = address.checked_sub(FRONT)?;
    if let Some(layout) = gpa.block_layout(base as *const u8) {
        if layout.align() <= FRONT {
            return Some((base as *mut u8, FRONT));
        }
    }
    base_of_aligned(gpa, address)
}

#[cold]
fn base_of_aligned(gpa: &GeneralPurposeAllocator, address: usize) -> Option<(*mut u8, usize)> {
    let mut align = 2 * FRONT;
    while align <= address && address % align == 0 && align <= 1 << 30 {
        let base = address - align;
        if gpa
            .block_layout(base as *const u8)
            .is_some_and(|layout| layout.align() == align)
        {
            return Some((base as *mut u8, align));
        }
        align *= 2;
    }
    None
}

/// What to pass to the GPA for a pointer that is not a live user pointer.
#[inline]
pub fn unknown_base(user: *mut u8) -> *mut u8 {
    (user as usize).wrapping_sub(FRONT) as *mut u8
}

/// Whether the guard of the block at `base` (with tag `tag`) is intact.
///
/// # Safety
/// `base` is a live block of at least `pad` bytes.
#[inline]
pub unsafe fn intact(base: *const u8, pad: usize, tag: u8) -> bool {
    // SAFETY: caller contract.
    let guard = unsafe { core::slice::from_raw_parts(base, pad) };
    if tag & COOKIE_TAG != 0 && pad >= COOKIE {
        let (fill, cookie) = guard.split_at(pad - COOKIE);
        return fill.iter().all(|&byte| byte == GUARD) && cookie.iter().all(|&byte| byte == 0);
    }
    guard.iter().all(|&byte| byte == GUARD)
}

/// Checks the guard of a live block about to be freed or moved; records an underflow.
///
/// # Safety
/// `base` is a live block of at least `pad` bytes.
#[inline]
pub unsafe fn check(gpa: &GeneralPurposeAllocator, base: *mut u8, pad: usize) {
    // SAFETY: caller contract.
    if !unsafe { intact(base, pad, tag_of(gpa, base)) } {
        report_underflow(gpa, base as usize, pad);
    }
}

#[cold]
#[inline(never)]
fn report_underflow(gpa: &GeneralPurposeAllocator, base: usize, pad: usize) {
    let _inside = InsideAllocator::enter();
    let mut alloc_trace = TraceId::NONE;
    let mut size = 0;
    gpa.for_each_live_block(|block| {
        if block.address == base {
            alloc_trace = block.alloc_trace;
            size = block.size;
        }
    });
    let mut finding = RawFinding::new(FindingKind::Underflow, base + pad);
    finding.size = size.saturating_sub(pad);
    finding.alloc_trace = alloc_trace;
    let frames = gpa.config().stack_trace_frames;
    finding.site_trace = crate::trace::capture_id(frames, gpa.config().trace_method);
    record(finding);
}

fn record(finding: RawFinding) {
    let mut findings = FINDINGS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !findings
        .iter()
        .any(|f| f.kind == finding.kind && f.address == finding.address)
    {
        findings.push(finding);
    }
}

/// Checks the guards of live blocks at exit (underflows of blocks never freed). Not in the
/// child of a `fork` made while other threads ran (`process::forked_from_threads`): a block
/// one of them was setting up has no guard yet in the child; the parent checks its blocks.
pub fn check_live(gpa: &GeneralPurposeAllocator, blocks: &[LiveBlock]) {
    if super::process::forked_from_threads() {
        return;
    }
    for block in blocks {
        let pad = gpa
            .block_layout(block.address as *const u8)
            .map_or(FRONT, |layout| pad_for(layout.align()));
        let tag = tag_of(gpa, block.address as *const u8);
        // SAFETY: a live block of the GPA; every check-mode block is at least `pad` bytes
        // (blocks of other origins, if any, are at least as long as their requested size,
        // and only blocks of `pad` bytes or more are read).
        if block.size >= pad && !unsafe { intact(block.address as *const u8, pad, tag) } {
            let mut finding = RawFinding::new(FindingKind::Underflow, block.address + pad);
            finding.size = block.size - pad;
            finding.alloc_trace = block.alloc_trace;
            record(finding);
        }
    }
}

/// This module's findings; the record is cleared.
pub fn take_findings() -> std::vec::Vec<RawFinding> {
    take_recorded(&FINDINGS)
}

/// Empties a list of findings kept by a `capi` module (allocating on the internal heap).
pub fn take_recorded(list: &Mutex<std::vec::Vec<RawFinding>>) -> std::vec::Vec<RawFinding> {
    let _inside = InsideAllocator::enter();
    core::mem::take(&mut *list.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
}

/// A GPA finding (base address, padded size) in the program's terms.
pub fn to_user(gpa: &GeneralPurposeAllocator, mut finding: RawFinding) -> RawFinding {
    let pad = gpa
        .block_layout(finding.address as *const u8)
        .map_or(FRONT, |layout| pad_for(layout.align()));
    finding.address = finding.address.wrapping_add(pad);
    finding.size = finding.size.saturating_sub(pad);
    finding.claimed_size = finding.claimed_size.saturating_sub(pad);
    finding
}

/// A live block in the program's terms.
pub fn block_to_user(gpa: &GeneralPurposeAllocator, block: LiveBlock) -> LiveBlock {
    let pad = gpa
        .block_layout(block.address as *const u8)
        .map_or(FRONT, |layout| pad_for(layout.align()));
    LiveBlock {
        address: block.address + pad,
        size: block.size.saturating_sub(pad),
        ..block
    }
}
