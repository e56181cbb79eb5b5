//! What fast mode (safety off) does with a wrong free on the C-style path
//! ([`GeneralPurposeAllocator::free_unsized`], which `libgpa_preload.so`'s `free` uses).
//!
//! # Behaviour
//! glibc aborts on the mistakes it notices (`free(): double free detected in tcache 2`,
//! `free(): invalid pointer`); mimalloc prints a warning and ignores the free. Fast mode does
//! as mimalloc: the free is **rejected with one line on stderr** and the program goes on with
//! its heap intact. At most [`FAST_MODE_MESSAGES`] mistakes are printed (mimalloc's
//! `max_errors` default), then fast mode stays quiet. Rejected:
//! * a pointer the page map does not know, or that is not the start of a slot (the C path
//!   looks the page up anyway, so this costs nothing extra);
//! * a **double free of a small block still on a free list**. Like glibc's tcache, a freed
//!   slot of 16 bytes or more carries a key in its second word (the first holds the free-list
//!   link): a free that finds the key there walks the slot's page free list (and its heap's
//!   remote list) to confirm, when the calling thread owns the page; another thread cannot
//!   walk them safely, and takes the key, a per-instance 64-bit value, as the evidence.
//!   [`GeneralPurposeAllocator::alloc_unsized`] clears the key word of every block it hands
//!   out, so a live block never carries it by accident; blocks from the sized API
//!   (`GlobalAlloc`) are freed by the sized fast path, which neither checks nor writes keys.
//!
//! Not caught (the price of a fast path that stays as it is): a double free after the slot
//! was handed out again (the second free then frees the new owner's block, as with glibc), a
//! double free of a large block whose mapping was reused, and frees through the sized API.
//! Check mode catches all of them, with stack traces.

use core::sync::atomic::Ordering;

use super::heap;
use super::segment::{list_holds, Page, Segment};
use super::{GeneralPurposeAllocator, OnError};
use crate::report::{self, FindingKind, RawFinding};

/// Mistakes fast mode prints before it goes quiet.
pub const FAST_MODE_MESSAGES: usize = 16;

/// Slots this small have no second word to hold the key.
const KEYED_SLOT: usize = 16;

/// Remote-list entries walked at most when confirming a double free.
const REMOTE_WALK_LIMIT: usize = 1 << 20;

impl GeneralPurposeAllocator {
    /// This instance's free-list key, never 0.
    #[inline(always)]
    pub(super) fn free_key(&self) -> u64 {
        let key = self.free_key.load(Ordering::Relaxed);
        if key != 0 {
            return key;
        }
        self.init_free_key()
    }

    /// The key: the instance's id, its address (randomized by ASLR) and the clock, mixed.
    /// On x86-64 the clock is the time-stamp counter (`rdtsc`): one instruction, where
    /// `SystemTime::now` is an out-of-line function of std that every program under the
    /// preload library runs at start, one more fault-around window of its code.
    #[cold]
    #[inline(never)]
    fn init_free_key(&self) -> u64 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `rdtsc` is available on every x86-64 processor and only reads the counter.
        let clock = unsafe { core::arch::x86_64::_rdtsc() };
        #[cfg(not(target_arch = "x86_64"))]
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64);
        let mixed = (self.id() ^ (self as *const Self as u64).rotate_left(29) ^ clock)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        match self
            .free_key
            .compare_exchange(0, mixed | 1, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => mixed | 1,
            Err(winner) => winner,
        }
    }

    /// Clears the key word of a fresh block of `size` bytes at `align` (fast mode).
    ///
    /// # Safety
    /// `block` is null or a fresh block of at least that layout.
    #[inline(always)]
    pub(super) unsafe fn clear_free_key(&self, block: *mut u8, size: usize, align: usize) {
        if !self.config.safety && !block.is_null() && (size > 8 || align >= KEYED_SLOT) {
            // A slot for more than 8 bytes, or aligned to 16, has 16 bytes or more.
            // SAFETY: caller contract; the word lies inside the slot.
            unsafe { block.add(8).cast::<u64>().write_unaligned(0) };
        }
    }

    /// Clears what a move's copy left of the key word of `block`, a fresh block of `size`
    /// bytes at `align` that holds the first `kept` bytes of the old block (fast mode): the
    /// bytes from `kept` (8 at least) to 16. The copied bytes are the program's: clearing the
    /// whole word after the copy lost bytes 8 to `kept` of a block moved to or from fewer
    /// than 16 bytes (a large block shrunk to 15 bytes kept only its first 8).
    ///
    /// # Safety
    /// `block` is null or a fresh block of at least that layout.
    #[inline(always)]
    pub(super) unsafe fn clear_free_key_past(
        &self,
        block: *mut u8,
        size: usize,
        align: usize,
        kept: usize,
    ) {
        if kept >= KEYED_SLOT {
            return;
        }
        if !self.config.safety && !block.is_null() && (size > 8 || align >= KEYED_SLOT) {
            let from = kept.max(8);
            // SAFETY: caller contract; as in `clear_free_key`, the slot has 16 bytes or more.
            unsafe { core::ptr::write_bytes(block.add(from), 0, KEYED_SLOT - from) };
        }
    }

    /// Fast mode, C path: whether freeing the slot at `address` of `page` is a double free
    /// (then reported); otherwise marks the slot with the key, and the caller frees it.
    ///
    /// # Safety
    /// `address` is the start of a carved slot of `page`, a live page of `segment`.
    #[inline]
    pub(super) unsafe fn fast_double_free(
        &self,
        segment: &Segment,
        page: &Page,
        address: usize,
    ) -> bool {
        // SAFETY: forwarded caller contract.
        if unsafe { self.fast_freed_slot(segment, page, address) } {
            return true;
        }
        if (page.block_size as usize) < KEYED_SLOT {
            return false;
        }
        // SAFETY: caller contract: a slot of 16 bytes or more, being freed, so ours to write.
        unsafe {
            (address as *mut u8)
                .add(8)
                .cast::<u64>()
                .write_unaligned(self.free_key())
        };
        false
    }

    /// Fast mode, C path: whether the slot at `address` of `page` is already free (its key
    /// word set and the slot on a free list), then reported as a double free. Writes nothing:
    /// `realloc` asks it before it looks at the slot's size, so that a freed slot is never
    /// answered in place nor freed again once `malloc` has handed it out anew.
    ///
    /// # Safety
    /// `address` is the start of a carved slot of `page`, a live page of `segment`.
    #[inline]
    pub(super) unsafe fn fast_freed_slot(
        &self,
        segment: &Segment,
        page: &Page,
        address: usize,
    ) -> bool {
        if (page.block_size as usize) < KEYED_SLOT {
            return false;
        }
        let key = self.free_key();
        // SAFETY: caller contract: a slot of 16 bytes or more.
        let word = unsafe { (address as *const u8).add(8).cast::<u64>() };
        // SAFETY: as above.
        if unsafe { word.read_unaligned() } == key && self.on_free_list(segment, page, address) {
            let mut finding = RawFinding::new(FindingKind::DoubleFree, address);
            finding.size = page.block_size as usize;
            finding.size_is_slot = true;
            self.record(finding);
            return true;
        }
        false
    }

    /// Whether the slot is on its page's free list or its heap's remote list; `true` when the
    /// calling thread does not own the page and cannot look (the key is the evidence then).
    #[cold]
    fn on_free_list(&self, segment: &Segment, page: &Page, address: usize) -> bool {
        let owner = segment.heap;
        if owner != heap::cached(self.id()) {
            return true;
        }
        let limit = page.capacity as usize + 1;
        // SAFETY: the calling thread owns the page: its free list links free slots, and other
        // threads only push in front of the head of its thread-free list read here. Only the
        // owner takes its heap's remote list (which stays live), and other threads only push
        // in front of the head read here, so the entries after it do not change meanwhile.
        unsafe {
            let on_page = |entry| page.holds_slot(entry);
            list_holds(page.free, address, limit, on_page)
                || list_holds(page.thread_free_head(), address, limit, on_page)
                || list_holds(
                    (*owner).remote.load(Ordering::Acquire),
                    address,
                    REMOTE_WALK_LIMIT,
                    |entry| self.is_remote_slot(owner, entry),
                )
        }
    }

    /// Fast mode's report of a finding: one line. Wrong frees are recorded and printed at most
    /// [`FAST_MODE_MESSAGES`] times (a broken program may repeat one without end); leaks,
    /// found once by `detect_leaks` or `deinit`, are all recorded and printed, as check mode
    /// does, so the report lists every block they count.
    #[cold]
    pub(super) fn record_fast(&self, finding: RawFinding) {
        let leak = finding.kind == FindingKind::Leak;
        let seen = if leak {
            0
        } else {
            self.fast_errors.fetch_add(1, Ordering::Relaxed)
        };
        if seen >= FAST_MODE_MESSAGES {
            return;
        }
        let _inside = heap::InsideAllocator::enter();
        super::lock(&self.findings).push(finding);
        if self.config.on_error == OnError::Record {
            return;
        }
        let message = report::render(&finding, 1).message;
        let mut text = if finding.kind == FindingKind::WriteAfterFree {
            // `checked_link`: a forged free-list link.
            format!(
                "error(gpa): {message}: its free-list link was overwritten (the list's rest \
                 dropped; check mode reports where)\n"
            )
        } else if leak {
            format!(
                "error(gpa): {message} (fast mode keeps no allocation traces; check mode reports \
                 where the block was allocated)\n"
            )
        } else {
            format!(
                "error(gpa): {message}: the free was ignored (fast mode keeps the heap intact; \
                 check mode reports where the block was allocated and freed)\n"
            )
        };
        if !leak && seen + 1 == FAST_MODE_MESSAGES {
            text.push_str(&format!(
                "error(gpa): {FAST_MODE_MESSAGES} mistakes reported; fast mode ignores further \
                 ones without a word\n"
            ));
        }
        crate::os::write_stderr(text.as_bytes());
        if self.config.on_error == OnError::Abort {
            crate::os::write_stderr(b"error(gpa): aborting (Config::on_error is Abort)\n");
            std::process::abort();
        }
    }
}
