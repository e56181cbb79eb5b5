//! Which pages of a range may hold a nonzero byte: the pages a leak scan reads.
//!
//! # Why
//! A page of private anonymous memory that was never touched is neither present nor swapped
//! out: it reads as zeros and holds no pointer. Reading it anyway faults in the shared zero
//! page (and a page table for it): a program that mallocs ten blocks of 16 GiB by overcommit
//! and never touches them (Toyota ITC's `memory_allocation_failure_003`) made the exit scan
//! read 80 GiB, about two minutes. And a page that is *swapped out* holds whatever it held:
//! `mincore`, which says only whether a page is in memory, takes it for untouched, so a
//! pointer kept there was missed and its block reported lost.
//!
//! # Design
//! [`Populated::for_each_run`] answers "present or swapped" runs of pages from
//! `/proc/self/pagemap` (bit 63 present, bit 62 swapped; readable by the process itself
//! without privileges, the frame numbers then read as 0), opened once for the scan that owns
//! the [`Populated`] (`/proc/thread-self` first: once the main thread has ended, `self`
//! names a zombie with no memory; else through the `/proc` descriptor `os::keep_proc`
//! holds after a `chroot`), and closed with it.
//!
//! Memory that is not private anonymous (a file's pages, shared memory) may hold data in the
//! page cache that this process's page tables do not map yet (a `MAP_SHARED` region written
//! through another mapping, or by the parent before a `fork`: the child's page tables are
//! filled lazily): there a page is also kept when `mincore` says it is in memory, as before.
//!
//! Fallbacks, never a failure: when pagemap cannot be opened or read (no `/proc`, the
//! descriptor limit reached, a seccomp filter that refuses or would kill `openat` or
//! `pread64`: `os::seccomp`), `mincore` alone decides (a swapped-out page is then skipped,
//! the old behaviour); when a filter would kill `mincore` too, or it fails, the whole range
//! is one run.
//!
//! # Invariants
//! * `fd` is [`UNTRIED`], [`UNAVAILABLE`] or a descriptor this value opened and alone closes.
//! * Allocates nothing: the buffers are on the stack (4 KiB of entries, 256 bytes of
//!   residency), for scans on small stacks.

use core::sync::atomic::{AtomicI32, Ordering};

/// `fd` before the first question.
const UNTRIED: i32 = -2;
/// `fd` when pagemap could not be opened.
const UNAVAILABLE: i32 = -1;
/// Pagemap entries read at a time (one 8-byte entry a page).
const ENTRIES: usize = 512;
/// Bit 63 of an entry: the page is present in memory.
const PRESENT: u64 = 1 << 63;
/// Bit 62 of an entry: the page is swapped out.
const SWAPPED: u64 = 1 << 62;

/// The pagemap of this process, opened on first use and closed on drop (see the module docs).
pub struct Populated {
    fd: AtomicI32,
}

impl Populated {
    /// Nothing opened yet.
    pub const fn new() -> Populated {
        Populated {
            fd: AtomicI32::new(UNTRIED),
        }
    }

    /// Calls `visit(from, to)` for the runs of `[start, end)` whose pages are present or
    /// swapped out (`start` need not be page-aligned: the runs are clipped to the range).
    /// With `private_anonymous` (the range lies in private anonymous memory, where a page
    /// neither present nor swapped is all zeros), pagemap alone decides; otherwise a page
    /// `mincore` finds in memory is kept too. See the module docs for the fallbacks.
    pub fn for_each_run(
        &self,
        start: usize,
        end: usize,
        private_anonymous: bool,
        visit: &mut dyn FnMut(usize, usize),
    ) {
        if start >= end {
            return;
        }
        let page = crate::os::page_size();
        let first = start & !(page - 1);
        let fd = self.pagemap();
        let mut run: Option<usize> = None;
        let flush = |from: usize, to: usize, visit: &mut dyn FnMut(usize, usize)| {
            let (a, b) = (from.max(start), to.min(end));
            if a < b {
                visit(a, b);
            }
        };
        // Not zeroed (their bytes are read only once the kernel wrote them): a scan asks for
        // each root mapping and each large block, and zeroing 4.5 KiB a call cost more
        // instructions than the question.
        let mut entries = [core::mem::MaybeUninit::<u64>::uninit(); ENTRIES];
        let mut residency = [core::mem::MaybeUninit::<u8>::uninit(); ENTRIES];
        let mut chunk = first;
        while chunk < end {
            let pages = (end - chunk).div_ceil(page).min(ENTRIES);
            let chunk_end = chunk + pages * page;
            let by_pagemap = (fd >= 0)
                .then(|| read_entries(fd, chunk / page, &mut entries[..pages]))
                .flatten();
            let by_mincore = if by_pagemap.is_none() || !private_anonymous {
                residency_of(chunk, pages, &mut residency[..pages])
            } else {
                None
            };
            let kept = |index: usize| {
                by_pagemap.is_some_and(|entries| entries[index] & (PRESENT | SWAPPED) != 0)
                    || by_mincore.is_some_and(|residency| residency[index] & 1 != 0)
            };
            // Whole chunks first (one pass the compiler vectorizes): most are all untouched
            // (a huge block) or all in memory (a root mapping in use).
            let none = by_pagemap.is_none_or(|entries| {
                entries.iter().fold(0, |any, &entry| any | entry) & (PRESENT | SWAPPED) == 0
            }) && by_mincore
                .is_none_or(|residency| residency.iter().fold(0, |any, &byte| any | byte) & 1 == 0)
                && (by_pagemap.is_some() || by_mincore.is_some());
            let all = match (by_pagemap, by_mincore) {
                (None, None) => true,
                // Present (bit 63) or swapped (bit 62, shifted onto 63) in every entry.
                (Some(entries), None) => {
                    entries
                        .iter()
                        .fold(PRESENT, |every, &entry| every & (entry | entry << 1))
                        & PRESENT
                        != 0
                }
                (None, Some(residency)) => {
                    residency.iter().fold(1, |every, &byte| every & byte) & 1 != 0
                }
                (Some(_), Some(_)) => false,
            };
            if none {
                if let Some(from) = run.take() {
                    flush(from, chunk, visit);
                }
            } else if all {
                run.get_or_insert(chunk);
            } else {
                for index in 0..pages {
                    let at = chunk + index * page;
                    if kept(index) {
                        run.get_or_insert(at);
                    } else if let Some(from) = run.take() {
                        flush(from, at, visit);
                    }
                }
            }
            chunk = chunk_end;
        }
        if let Some(from) = run {
            flush(from, end, visit);
        }
    }

    /// Calls `visit(from, to)` for the runs of `[start, end)`, private anonymous memory, that
    /// may hold a nonzero byte, by pagemap alone: a page neither present nor swapped out is
    /// skipped only when pagemap says so, and whatever pagemap cannot answer for (not
    /// opened, a read refused) is visited whole. Never `mincore`, which takes a swapped-out
    /// page for an untouched one: for clearing memory (check mode's `calloc` of a large
    /// block, `capi::calloc_general`), where skipping a page that holds data would be wrong,
    /// not only slow. Costs a `pread` of 4 KiB of entries per 2 MiB.
    pub fn for_each_written_run(
        &self,
        start: usize,
        end: usize,
        visit: &mut dyn FnMut(usize, usize),
    ) {
        if start >= end {
            return;
        }
        let fd = self.pagemap();
        if fd < 0 {
            visit(start, end);
            return;
        }
        let page = crate::os::page_size();
        let mut entries = [core::mem::MaybeUninit::<u64>::uninit(); ENTRIES];
        let mut run: Option<usize> = None;
        let mut chunk = start & !(page - 1);
        while chunk < end {
            let pages = (end - chunk).div_ceil(page).min(ENTRIES);
            let answer = read_entries(fd, chunk / page, &mut entries[..pages]);
            for index in 0..pages {
                let at = chunk + index * page;
                if answer.is_none_or(|entries| entries[index] & (PRESENT | SWAPPED) != 0) {
                    run.get_or_insert(at);
                } else if let Some(from) = run.take() {
                    visit(from.max(start), at);
                }
            }
            chunk += pages * page;
        }
        if let Some(from) = run {
            visit(from.max(start), end);
        }
    }

    /// The pagemap descriptor, opened on the first call; negative when unavailable.
    fn pagemap(&self) -> i32 {
        let fd = self.fd.load(Ordering::Acquire);
        if fd != UNTRIED {
            return fd;
        }
        let opened = open_pagemap();
        match self
            .fd
            .compare_exchange(UNTRIED, opened, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => opened,
            Err(theirs) => {
                if opened >= 0 {
                    // SAFETY: opened above, given to no one.
                    unsafe { libc::close(opened) };
                }
                theirs
            }
        }
    }
}

impl Default for Populated {
    fn default() -> Populated {
        Populated::new()
    }
}

impl Clone for Populated {
    /// A copy opens its own descriptor when asked (a descriptor has one owner).
    fn clone(&self) -> Populated {
        Populated::new()
    }
}

impl core::fmt::Debug for Populated {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Populated")
            .field("fd", &self.fd.load(Ordering::Relaxed))
            .finish()
    }
}

impl Drop for Populated {
    fn drop(&mut self) {
        let fd = *self.fd.get_mut();
        if fd >= 0 {
            // SAFETY: this value opened `fd` and is its only owner (the invariants).
            unsafe { libc::close(fd) };
        }
    }
}

/// Opens this process's pagemap, or [`UNAVAILABLE`] (see the module docs). Allocates nothing.
fn open_pagemap() -> i32 {
    use crate::os::seccomp;
    if seccomp::stops("openat") || seccomp::stops("pread64") {
        return UNAVAILABLE;
    }
    // SAFETY: a NUL-terminated path.
    let fd = unsafe {
        libc::open(
            c"/proc/thread-self/pagemap".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd >= 0 {
        return fd;
    }
    let fd = crate::os::open_proc_self(b"pagemap\0", libc::O_RDONLY);
    if fd >= 0 {
        fd
    } else {
        UNAVAILABLE
    }
}

/// Reads the pagemap entries of the pages from number `first_page` into `entries`; `None`
/// when they cannot all be read. With the system call itself: the C library's `pread` is
/// gpa's own interposed one, with checks meant for the program's calls.
fn read_entries(
    fd: i32,
    first_page: usize,
    entries: &mut [core::mem::MaybeUninit<u64>],
) -> Option<&[u64]> {
    let bytes = core::mem::size_of_val(entries);
    let offset = first_page.checked_mul(8)?;
    // SAFETY: `entries` is writable for `bytes` bytes; the kernel checks `fd` and the offset.
    let read = unsafe {
        libc::syscall(
            libc::SYS_pread64,
            fd,
            entries.as_mut_ptr(),
            bytes,
            offset as libc::c_long,
        )
    };
    // SAFETY: the kernel wrote all `bytes` bytes: every entry is initialized.
    (read == bytes as libc::c_long).then(|| unsafe {
        core::slice::from_raw_parts(entries.as_ptr().cast::<u64>(), entries.len())
    })
}

/// `mincore`'s answer for the `residency.len()` pages from `chunk` (page-aligned); `None`
/// when it cannot be asked.
fn residency_of(
    chunk: usize,
    pages: usize,
    residency: &mut [core::mem::MaybeUninit<u8>],
) -> Option<&[u8]> {
    if crate::os::seccomp::stops("mincore") {
        return None;
    }
    let page = crate::os::page_size();
    // SAFETY: `chunk` is page-aligned and `residency` has room for `pages` entries; mincore
    // only writes that vector (and fails on memory that is not mapped).
    let status = unsafe {
        libc::mincore(
            chunk as *mut libc::c_void,
            pages * page,
            residency.as_mut_ptr().cast(),
        )
    };
    // SAFETY: on success the kernel wrote one byte for each of the `pages` pages.
    (status == 0)
        .then(|| unsafe { core::slice::from_raw_parts(residency.as_ptr().cast::<u8>(), pages) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// The runs of `[start, end)` as `populated` gives them.
    fn runs(
        populated: &Populated,
        start: usize,
        end: usize,
        anonymous: bool,
    ) -> Vec<(usize, usize)> {
        let mut runs = std::vec::Vec::new();
        populated.for_each_run(start, end, anonymous, &mut |a, b| runs.push((a, b)));
        runs
    }

    /// `found` holds every page of `want` (the touched pages) and at most four more: the
    /// kernel may populate a neighbour too (a larger folio), and another test's read may fault
    /// one in (below). The scan then reads a page of zeros more, which changes no verdict; it
    /// never misses one.
    fn holds_touched(found: &[(usize, usize)], want: &[(usize, usize)], page: usize) {
        let pages_in =
            |runs: &[(usize, usize)]| -> usize { runs.iter().map(|&(a, b)| (b - a) / page).sum() };
        for &(a, b) in want {
            assert!(
                found.iter().any(|&(c, d)| c <= a && b <= d),
                "{found:x?} misses {a:#x}..{b:#x}"
            );
        }
        assert!(pages_in(found) <= pages_in(want) + 4, "{found:x?}");
    }

    /// The present or swapped runs of `[start, end)` (page-aligned) by one pagemap read per
    /// page: the plain reading the chunked one is compared with.
    fn page_by_page(populated: &Populated, start: usize, end: usize) -> Vec<(usize, usize)> {
        let page = crate::os::page_size();
        let fd = populated.pagemap();
        assert!(fd >= 0, "pagemap opened");
        let mut found: Vec<(usize, usize)> = std::vec::Vec::new();
        for at in (start..end).step_by(page) {
            let mut entry = [core::mem::MaybeUninit::<u64>::uninit(); 1];
            let entry = read_entries(fd, at / page, &mut entry).expect("a pagemap entry")[0];
            if entry & (PRESENT | SWAPPED) == 0 {
                continue;
            }
            match found.last_mut() {
                Some(last) if last.1 == at => last.1 = at + page,
                _ => found.push((at, at + page)),
            }
        }
        found
    }

    #[test]
    fn runs_are_exactly_the_touched_pages() {
        let page = crate::os::page_size();
        // Three reads of entries: runs cross chunk boundaries, and the middle chunk is
        // touched whole (the whole-chunk paths: none kept, all kept, some).
        let pages = 2 * ENTRIES + 40;
        let memory = crate::os::map(pages * page).unwrap();
        let base = memory.as_ptr() as usize;
        // Pages of their own, where a kernel maps anonymous memory in larger folios.
        // SAFETY: advice on our own fresh mapping; it changes no contents.
        unsafe { libc::madvise(memory.as_ptr().cast(), pages * page, libc::MADV_NOHUGEPAGE) };
        let mut touched = std::vec![1, 2, 6, ENTRIES - 1, 2 * ENTRIES + 39];
        touched.extend(ENTRIES..2 * ENTRIES);
        for &index in &touched {
            // SAFETY: a page of a fresh private mapping of ours.
            unsafe { memory.as_ptr().add(index * page).write(1) };
        }
        let populated = Populated::new();
        let want = [
            (base + page, base + 3 * page),
            (base + 6 * page, base + 7 * page),
            (base + (ENTRIES - 1) * page, base + 2 * ENTRIES * page),
            (
                base + (2 * ENTRIES + 39) * page,
                base + (2 * ENTRIES + 40) * page,
            ),
        ];
        // What is populated, page by page: the touched pages and, at most, a neighbour or
        // two. Three CI runs of stops 54 and 55 found the page before the last one present:
        // a `leakcheck::unlisted` test, running beside this one, read the top 8 KiB of every
        // large anonymous mapping with `process_vm_readv` (found by `userfaultfd`, stop 55),
        // which faulted in the zero page; that search now reads populated pages only. The
        // runs' logic (chunks, whole chunks, clipping) must give exactly this reading; the
        // rest is held to "every touched page, at most four more".
        let reference = |start: usize, end: usize| page_by_page(&populated, start, end);
        let whole = reference(base, base + pages * page);
        holds_touched(&whole, &want, page);
        assert_eq!(runs(&populated, base, base + pages * page, true), whole);
        assert!(populated.pagemap() >= 0, "pagemap opened");
        // The mincore answer agrees where nothing is swapped (union with pagemap's).
        holds_touched(
            &runs(&populated, base, base + pages * page, false),
            &want,
            page,
        );
        // Clipped to an unaligned range.
        assert_eq!(
            runs(&populated, base + page + 8, base + 2 * page + 16, true),
            [(base + page + 8, base + 2 * page + 16)]
        );
        assert_eq!(
            runs(&populated, base + 3 * page, base + 6 * page, true),
            reference(base + 3 * page, base + 6 * page)
        );
        // Without pagemap: mincore's answer.
        let without = Populated {
            fd: AtomicI32::new(UNAVAILABLE),
        };
        holds_touched(
            &runs(&without, base, base + pages * page, true),
            &want,
            page,
        );
        // The written runs (for clearing): pagemap's, the same pages, clipped alike; and the
        // whole range without pagemap, never mincore's answer.
        let written = |populated: &Populated, start: usize, end: usize| {
            let mut found = std::vec::Vec::new();
            populated.for_each_written_run(start, end, &mut |a, b| found.push((a, b)));
            found
        };
        assert_eq!(written(&populated, base, base + pages * page), whole);
        assert_eq!(
            written(&populated, base + page + 8, base + 2 * page + 16),
            [(base + page + 8, base + 2 * page + 16)]
        );
        assert_eq!(
            written(&populated, base + 3 * page, base + 6 * page),
            reference(base + 3 * page, base + 6 * page)
        );
        assert_eq!(
            written(&without, base + 3 * page, base + 6 * page),
            [(base + 3 * page, base + 6 * page)]
        );
        // SAFETY: mapped above, unused now.
        unsafe { crate::os::unmap(memory, pages * page) };
    }

    #[test]
    fn unmapped_memory_is_one_run_when_nothing_can_be_asked() {
        let page = crate::os::page_size();
        let memory = crate::os::map(4 * page).unwrap();
        let base = memory.as_ptr() as usize;
        // SAFETY: mapped above, unused now: the range is unmapped, so mincore fails on it and
        // pagemap reads it as absent.
        unsafe { crate::os::unmap(memory, 4 * page) };
        let without = Populated {
            fd: AtomicI32::new(UNAVAILABLE),
        };
        assert_eq!(
            runs(&without, base, base + 4 * page, true),
            [(base, base + 4 * page)],
            "neither pagemap nor mincore answers: the whole range"
        );
        assert!(runs(&Populated::new(), base, base + 4 * page, true).is_empty());
    }

    #[test]
    fn a_swapped_out_page_is_kept() {
        let page = crate::os::page_size();
        let memory = crate::os::map(4 * page).unwrap();
        let base = memory.as_ptr() as usize;
        // SAFETY: pages of a fresh private mapping of ours.
        unsafe {
            memory.as_ptr().add(page).write(1);
            memory.as_ptr().add(2 * page).write(1);
        }
        // SAFETY: advice on our own mapping; it changes no contents.
        let paged_out = unsafe {
            libc::madvise(
                (base + page) as *mut libc::c_void,
                page,
                21, // MADV_PAGEOUT
            )
        } == 0;
        let mut entry = [core::mem::MaybeUninit::uninit()];
        let populated = Populated::new();
        let fd = populated.pagemap();
        let swapped = paged_out
            && fd >= 0
            && read_entries(fd, base / page + 1, &mut entry).is_some_and(|e| e[0] & SWAPPED != 0);
        // Swapped out or (no swap) still present: kept either way, never taken for untouched.
        assert_eq!(
            runs(&populated, base, base + 4 * page, true),
            [(base + page, base + 3 * page)]
        );
        if !swapped {
            std::eprintln!("no swap here (or MADV_PAGEOUT refused): the page stayed present");
        }
        // SAFETY: mapped above, unused now.
        unsafe { crate::os::unmap(memory, 4 * page) };
    }
}
