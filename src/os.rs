//! The platform layer: the only place that calls the operating system.
//!
//! Thin wrappers over `mmap`, `munmap`, `mremap`, `mprotect` and `madvise` (Linux), plus the
//! thread identity used by the GPA. Policy (size classes, free lists, metadata) never calls the
//! OS directly; it goes through these functions or through a backing allocator. Fault signals
//! (`SIGSEGV`/`SIGBUS` handlers, alternate stacks, decoding a fault's context) are in
//! [`signal`]. Stacks of gpa's own for its cold, stack-hungry work are in [`stack`].
//!
//! # Invariants
//! * Every length passed in is a non-zero multiple of [`page_size()`], and every address is
//!   page-aligned; the functions check this with `debug_assert!`.
//! * None of these functions allocates heap memory, so they are safe to call from inside the
//!   allocator (also when it is the process's global allocator).

pub mod held;
pub mod seccomp;
pub mod signal;
pub mod stack;

use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

/// The OS page size (4096 on x86-64 Linux), read once. The unit of [`PageAllocator`]'s
/// mappings (its example uses it).
///
/// [`PageAllocator`]: crate::PageAllocator
#[inline]
pub fn page_size() -> usize {
    let cached = PAGE_SIZE.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let size = if size > 0 { size as usize } else { 4096 };
    PAGE_SIZE.store(size, Ordering::Relaxed);
    size
}

/// Maps `len` bytes of fresh, zeroed, readable and writable memory. `None` when the OS refuses.
///
/// The mapping is made with `MAP_NORESERVE`: the kernel charges nothing against its
/// overcommit limit for it (and refuses it in no overcommit mode but the strict one), as
/// suits gpa's own reservations, address space that stays mostly untouched. Memory for the
/// program's blocks comes from [`map_accounted`].
pub fn map(len: usize) -> Option<NonNull<u8>> {
    debug_assert!(len != 0 && len % page_size() == 0, "map: bad length {len}");
    map_anonymous(len, libc::PROT_READ | libc::PROT_WRITE)
}

/// [`map`] without `MAP_NORESERVE`, as glibc's `malloc` maps its large chunks: the kernel
/// accounts the mapping against its overcommit policy (`vm.overcommit_memory`) and so gives
/// the answer it gives glibc: under the default heuristic (0) it refuses a mapping larger than
/// RAM and swap together, under strict accounting (2) anything past the commit limit, under 1
/// nothing. `None` when it refuses, `errno` then `ENOMEM` (the kernel's). A mapping made so
/// stays accounted when it grows ([`remap`], [`remap_to`]: the kernel charges the growth).
pub fn map_accounted(len: usize) -> Option<NonNull<u8>> {
    debug_assert!(len != 0 && len % page_size() == 0, "map: bad length {len}");
    map_with(0, len, libc::PROT_READ | libc::PROT_WRITE, ACCOUNTED)
}

/// The `mmap` flags of a mapping the kernel accounts ([`map_accounted`]).
const ACCOUNTED: libc::c_int = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
/// The `mmap` flags of a reservation ([`map`]).
const RESERVED: libc::c_int = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;

/// A fresh private anonymous mapping of `len` bytes with `protection`, nothing committed.
fn map_anonymous(len: usize, protection: libc::c_int) -> Option<NonNull<u8>> {
    map_anonymous_near(0, len, protection)
}

/// [`map_anonymous`], asking for `hint` first (0: none).
#[inline(always)]
fn map_anonymous_near(hint: usize, len: usize, protection: libc::c_int) -> Option<NonNull<u8>> {
    map_with(hint, len, protection, RESERVED)
}

/// A fresh private anonymous mapping of `len` bytes with `protection` and `flags` (one of
/// [`ACCOUNTED`] and [`RESERVED`]), at `hint` if the kernel grants it (0: no hint).
#[inline(always)]
fn map_with(
    hint: usize,
    len: usize,
    protection: libc::c_int,
    flags: libc::c_int,
) -> Option<NonNull<u8>> {
    debug_assert!(flags & libc::MAP_FIXED == 0);
    // SAFETY: without MAP_FIXED the address is only a hint: an anonymous private mapping at an
    // address of the kernel's choosing cannot alias existing memory.
    let address = unsafe { libc::mmap(hint as *mut libc::c_void, len, protection, flags, -1, 0) };
    if address == libc::MAP_FAILED {
        None
    } else {
        NonNull::new(address.cast())
    }
}

/// Where the next aligned mapping is asked for (0: not chosen yet). See [`map_aligned`].
static ALIGNED_HINT: AtomicUsize = AtomicUsize::new(0);
/// The address range aligned mappings are asked for in first (32 to 96 TiB, far from where
/// the kernel places mappings by itself, top-down from 128 TiB).
const HINT_START: usize = 0x2000_0000_0000;
const HINT_END: usize = 0x6000_0000_0000;

/// Maps `len` bytes of fresh, zeroed memory aligned to `align` (a power of two above the page
/// size). First asks for the next address of a process-wide aligned hint (one system call when
/// the kernel grants it, which is the rule), else maps `len + align - page` bytes and unmaps
/// the unaligned head and the unused tail (three calls). A reservation, as [`map`]'s.
pub fn map_aligned(len: usize, align: usize) -> Option<NonNull<u8>> {
    map_aligned_with(len, align, RESERVED)
}

/// [`map_aligned`] accounted by the kernel, as [`map_accounted`]: for the program's blocks.
pub fn map_aligned_accounted(len: usize, align: usize) -> Option<NonNull<u8>> {
    map_aligned_with(len, align, ACCOUNTED)
}

/// [`map_aligned`] with the `mmap` flags `flags` ([`ACCOUNTED`] or [`RESERVED`]).
fn map_aligned_with(len: usize, align: usize, flags: libc::c_int) -> Option<NonNull<u8>> {
    let page = page_size();
    debug_assert!(align.is_power_of_two() && align > page && len % page == 0);
    let step = len.checked_next_multiple_of(align)?;
    if let Some(hint) = next_hint(step, align) {
        // SAFETY: without MAP_FIXED the address is only a hint: the kernel never replaces an
        // existing mapping, it picks another address instead (checked below).
        let address = unsafe {
            libc::mmap(
                hint as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        if address != libc::MAP_FAILED {
            if address as usize % align == 0 {
                return NonNull::new(address.cast());
            }
            // SAFETY: mapped just above, unused.
            unsafe { libc::munmap(address, len) };
        }
    }
    let padded = len.checked_add(align - page)?;
    let start = map_with(0, padded, libc::PROT_READ | libc::PROT_WRITE, flags)?;
    let aligned = (start.as_ptr() as usize + align - 1) & !(align - 1);
    let head = aligned - start.as_ptr() as usize;
    let tail = padded - head - len;
    // SAFETY: head and tail are page-aligned, page-multiple parts of the mapping just made,
    // outside the range we return.
    unsafe {
        if head != 0 {
            unmap(start, head);
        }
        if tail != 0 {
            unmap(NonNull::new_unchecked((aligned + len) as *mut u8), tail);
        }
    }
    NonNull::new(aligned as *mut u8)
}

/// Takes `step` bytes of the aligned hint range; `None` when it is used up.
fn next_hint(step: usize, align: usize) -> Option<usize> {
    let mut current = ALIGNED_HINT.load(Ordering::Relaxed);
    loop {
        let start = if current == 0 {
            // A start that differs from run to run (the stack's address is randomized).
            let marker = 0u8;
            let noise = (core::ptr::addr_of!(marker) as usize >> 12) & 0xffff;
            HINT_START + (noise << 22)
        } else {
            current
        };
        let base = start.checked_next_multiple_of(align)?;
        let next = base.checked_add(step)?;
        if next > HINT_END {
            return None;
        }
        match ALIGNED_HINT.compare_exchange_weak(
            current,
            next,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => return Some(base),
            Err(actual) => current = actual,
        }
    }
}

/// Unmaps `[address, address + len)`.
///
/// # Safety
/// The range was mapped by [`map`] (possibly as part of a larger mapping) and nothing uses it
/// any more.
pub unsafe fn unmap(address: NonNull<u8>, len: usize) {
    signal::close_left_open(address.as_ptr() as usize, len);
    debug_assert!(len % page_size() == 0 && address.as_ptr() as usize % page_size() == 0);
    // munmap fails only for invalid arguments, which the contract excludes, or where
    // unmapping part of a mapping would split it past the process's limit of mappings
    // (`ENOMEM`; the range then stays mapped, unused): the program's `errno` is kept.
    let _errno = KeepErrno::new();
    // SAFETY: caller contract.
    unsafe { libc::munmap(address.as_ptr().cast(), len) };
}

/// Grows or shrinks a mapping. With `may_move` the kernel may move it (keeping page
/// alignment only); without it the call fails unless the change fits in place.
///
/// # Safety
/// `[address, address + old_len)` is a mapping made by [`map`]; on success the old range must
/// no longer be used unless the returned address equals `address`.
pub unsafe fn remap(
    address: NonNull<u8>,
    old_len: usize,
    new_len: usize,
    may_move: bool,
) -> Option<NonNull<u8>> {
    signal::close_left_open(address.as_ptr() as usize, old_len);
    debug_assert!(old_len % page_size() == 0 && new_len % page_size() == 0);
    let flags = if may_move { libc::MREMAP_MAYMOVE } else { 0 };
    // A refusal (`ENOMEM`: the mapping cannot grow in place) is no error of the program's:
    // callers fall back to a new mapping, and a `realloc` or `memalign` that then succeeds
    // must leave the program's `errno` as it was (glibc's do; mimalloc's and snmalloc's
    // tests read errno after successful calls).
    let _errno = KeepErrno::new();
    // SAFETY: caller contract.
    let moved = unsafe { libc::mremap(address.as_ptr().cast(), old_len, new_len, flags) };
    if moved == libc::MAP_FAILED {
        None
    } else {
        NonNull::new(moved.cast())
    }
}

/// Moves the mapping `[address, address + old_len)` to `target`, resized to `new_len`
/// (the kernel moves the page tables: no copy, no new page faults for the moved part).
/// Whatever was mapped at `[target, target + new_len)` is replaced.
///
/// # Safety
/// `[address, address + old_len)` is a mapping made by [`map`] that nobody uses any more;
/// `[target, target + new_len)` is a page-aligned range owned by the caller (typically a fresh
/// mapping made for this purpose), not overlapping the old one.
pub unsafe fn remap_to(
    address: NonNull<u8>,
    old_len: usize,
    new_len: usize,
    target: NonNull<u8>,
) -> bool {
    signal::close_left_open(address.as_ptr() as usize, old_len);
    signal::close_left_open(target.as_ptr() as usize, new_len);
    debug_assert!(old_len % page_size() == 0 && new_len % page_size() == 0);
    // SAFETY: caller contract.
    let moved = unsafe {
        libc::mremap(
            address.as_ptr().cast(),
            old_len,
            new_len,
            libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED,
            target.as_ptr().cast::<libc::c_void>(),
        )
    };
    moved == target.as_ptr().cast()
}

/// Kernels that refused [`move_pages_keeping`] (`MREMAP_DONTUNMAP` is Linux 5.7 and later):
/// not asked again.
static DONTUNMAP_REFUSED: AtomicBool = AtomicBool::new(false);

/// Moves the pages of `[address, address + len)` onto `[target, target + len)` (the kernel
/// moves the page tables: no copy, no page fault), leaving the old range mapped with its
/// protection but without pages, as after [`discard`] (`mremap` with `MREMAP_DONTUNMAP`).
/// Whatever was mapped at the target is replaced; the moved pages keep the old range's
/// protection. `false` when the kernel refuses (before Linux 5.7, or a mapping other than
/// private anonymous before 5.13): both ranges are then unchanged.
///
/// # Safety
/// `[address, address + len)` is a private anonymous mapping made by [`map`] (or part of one)
/// whose contents only the caller uses; `[target, target + len)` is a page-aligned range owned
/// by the caller (typically a fresh mapping made for this purpose), not overlapping it.
pub unsafe fn move_pages_keeping(address: NonNull<u8>, len: usize, target: NonNull<u8>) -> bool {
    if DONTUNMAP_REFUSED.load(Ordering::Relaxed) {
        return false;
    }
    signal::close_left_open(address.as_ptr() as usize, len);
    signal::close_left_open(target.as_ptr() as usize, len);
    debug_assert!(len % page_size() == 0 && address.as_ptr() as usize % page_size() == 0);
    // SAFETY: caller contract. `errno` is saved and restored: a refusal is no error of the
    // program's.
    unsafe {
        let errno = libc::__errno_location();
        let saved = *errno;
        let moved = libc::mremap(
            address.as_ptr().cast(),
            len,
            len,
            libc::MREMAP_MAYMOVE | libc::MREMAP_FIXED | libc::MREMAP_DONTUNMAP,
            target.as_ptr().cast::<libc::c_void>(),
        );
        if moved == target.as_ptr().cast() {
            return true;
        }
        if *errno == libc::EINVAL {
            DONTUNMAP_REFUSED.store(true, Ordering::Relaxed);
        }
        *errno = saved;
    }
    false
}

/// Tells the OS that the pages' contents are no longer needed (they read back as zero and
/// stop counting towards RSS), keeping the address range reserved.
///
/// # Safety
/// The range is mapped, page-aligned, and holds nothing the caller still needs.
pub unsafe fn discard(address: NonNull<u8>, len: usize) {
    signal::close_left_open(address.as_ptr() as usize, len);
    debug_assert!(len % page_size() == 0 && address.as_ptr() as usize % page_size() == 0);
    // A failure only means the memory stays resident; the program's `errno` is kept.
    let _errno = KeepErrno::new();
    // SAFETY: caller contract.
    unsafe { libc::madvise(address.as_ptr().cast(), len, libc::MADV_DONTNEED) };
}

/// Makes a range inaccessible (`false`) or readable and writable again (`true`). `false` when
/// the OS refuses.
///
/// Where a seccomp filter refuses `mprotect` itself (`EACCES`, `EPERM` or `ENOSYS`: the
/// sandboxes of sshd's pre-authentication child, vsftpd, systemd's `SystemCallFilter=`, which
/// still allow `mmap`), the range is replaced by a fresh private anonymous mapping with the
/// wanted protection (`mmap` with `MAP_FIXED`): the change is made, but the range's contents
/// and any guard markers in it ([`guard_install`]) are not kept. Every caller passes ranges
/// whose contents nobody needs (fresh reservations, freed blocks, guard pages); one that needs
/// them kept calls [`protect_keeping`]. The program's `errno` is kept, as by every call of
/// this module that changes mappings on a `free` (C `free` keeps `errno`, as glibc's: glibc's
/// test `malloc/tst-free-errno.c`, where splitting a mapping fails with `ENOMEM` at the
/// process's limit of mappings).
///
/// # Safety
/// The range is mapped and page-aligned; while inaccessible nothing may touch it; its
/// contents may be lost (above).
#[inline]
pub unsafe fn protect(address: NonNull<u8>, len: usize, accessible: bool) -> bool {
    // SAFETY: caller contract.
    unsafe { protect_to(address, len, protection(accessible)) }
}

/// Makes a range readable but not writable (`PROT_READ`), as [`protect`] does otherwise
/// (the same fallback where a seccomp filter refuses `mprotect`, `errno` kept). A fresh
/// anonymous range made so reads as zeros and costs no memory until written, which it
/// cannot be. `false` when the OS refuses.
///
/// # Safety
/// As for [`protect`]; while read-only nothing may write to the range.
#[inline]
pub unsafe fn protect_read_only(address: NonNull<u8>, len: usize) -> bool {
    // SAFETY: caller contract.
    unsafe { protect_to(address, len, libc::PROT_READ) }
}

/// [`protect`] and [`protect_read_only`]: `prot` is the wanted `mprotect` protection. One
/// function out of line, on the fast path's list (`capi/fast-path.ld`: a new segment's guards
/// and pages are made so in fast mode too); the two above are its inlined wrappers.
///
/// # Safety
/// As for [`protect`].
#[inline(never)]
unsafe fn protect_to(address: NonNull<u8>, len: usize, prot: libc::c_int) -> bool {
    // SAFETY: `__errno_location` is the calling thread's errno.
    let errno = unsafe { libc::__errno_location() };
    // SAFETY: as above.
    let saved = unsafe { *errno };
    // SAFETY: caller contract.
    if unsafe { mprotect_to(address, len, prot) } {
        return true;
    }
    // SAFETY: as above.
    let refused = unsafe { *errno };
    if !matches!(refused, libc::EACCES | libc::EPERM | libc::ENOSYS) {
        // SAFETY: as above.
        unsafe { *errno = saved };
        return false;
    }
    // SAFETY: caller contract: the range is ours, mapped, and its contents are not needed, so
    // a fixed mapping over exactly that range replaces nothing anybody else uses.
    let replaced = unsafe {
        libc::mmap(
            address.as_ptr().cast(),
            len,
            prot,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
            -1,
            0,
        )
    };
    // SAFETY: as above.
    unsafe { *errno = saved };
    replaced == address.as_ptr().cast()
}

/// As [`protect`], keeping the range's contents: no replacement where the OS refuses
/// `mprotect` (then `false`).
///
/// # Safety
/// The range is mapped and page-aligned; while inaccessible nothing may touch it.
pub unsafe fn protect_keeping(address: NonNull<u8>, len: usize, accessible: bool) -> bool {
    let _errno = KeepErrno::new();
    // SAFETY: caller contract.
    unsafe { mprotect(address, len, accessible) }
}

/// `mprotect` of a range to [`protection`]`(accessible)`, leaving `errno` as the call set it.
///
/// # Safety
/// As for [`protect_keeping`].
unsafe fn mprotect(address: NonNull<u8>, len: usize, accessible: bool) -> bool {
    // SAFETY: caller contract.
    unsafe { mprotect_to(address, len, protection(accessible)) }
}

/// `mprotect` of a range to `prot`, leaving `errno` as the call set it.
///
/// # Safety
/// As for [`protect_keeping`].
#[inline(always)]
unsafe fn mprotect_to(address: NonNull<u8>, len: usize, prot: libc::c_int) -> bool {
    signal::close_left_open(address.as_ptr() as usize, len);
    // SAFETY: caller contract.
    unsafe { libc::mprotect(address.as_ptr().cast(), len, prot) == 0 }
}

fn protection(accessible: bool) -> libc::c_int {
    if accessible {
        libc::PROT_READ | libc::PROT_WRITE
    } else {
        libc::PROT_NONE
    }
}

/// Whether the byte at `address` can be read, found without touching it: `process_vm_readv`
/// of one byte of this process, which fails with `EFAULT` where a load would fault. Where
/// that call is refused or would be killed (a seccomp filter: `EPERM`, `ENOSYS`, or
/// [`seccomp::stops`] it), it answers `true`: the caller
/// then reads as it would have without the probe. One system call; async-signal-safe;
/// `errno` restored.
pub fn readable(address: usize) -> bool {
    // Nor where a seccomp filter would kill it.
    if seccomp::stops("process_vm_readv") {
        return true;
    }
    let mut byte = 0u8;
    let local = libc::iovec {
        iov_base: (&mut byte as *mut u8).cast(),
        iov_len: 1,
    };
    let remote = libc::iovec {
        iov_base: address as *mut libc::c_void,
        iov_len: 1,
    };
    // SAFETY: one writable local byte; the kernel checks the remote range and only reads
    // it; `__errno_location` is the calling thread's errno, restored before returning.
    unsafe {
        let errno = libc::__errno_location();
        let saved = *errno;
        let read = libc::process_vm_readv(libc::getpid(), &local, 1, &remote, 1, 0);
        let faulted = read != 1 && *errno == libc::EFAULT;
        *errno = saved;
        !faulted
    }
}

/// Whether no mapping holds the page of `address` (`mincore` fails with `ENOMEM` there, and
/// succeeds on any mapped page, inaccessible ones included). Async-signal-safe: one system
/// call, `errno` restored.
pub fn is_unmapped(address: usize) -> bool {
    let page = page_size();
    let mut resident = 0u8;
    // SAFETY: `__errno_location` is the calling thread's errno; `mincore` only writes one
    // byte (one page) into `resident`, and only reads the page tables.
    unsafe {
        let errno = libc::__errno_location();
        let saved = *errno;
        let status = libc::mincore(
            (address & !(page - 1)) as *mut libc::c_void,
            page,
            &mut resident,
        );
        let unmapped = status != 0 && *errno == libc::ENOMEM;
        *errno = saved;
        unmapped
    }
}

/// Reserves `len` bytes of address space aligned to `align` (a power of two, at least a page),
/// inaccessible and without commit charge, as [`reserve`] does; parts are made usable with
/// [`protect`]. `None` when the OS refuses.
pub fn reserve_aligned(len: usize, align: usize) -> Option<NonNull<u8>> {
    debug_assert!(len % page_size() == 0 && align.is_power_of_two() && align >= page_size());
    let padded = len.checked_add(align - page_size())?;
    let start = reserve(padded)?.as_ptr() as usize;
    let aligned = (start + align - 1) & !(align - 1);
    let (head, tail) = (aligned - start, padded - (aligned - start) - len);
    // SAFETY: the head and tail are page-aligned parts of the reservation just made, unused.
    unsafe {
        if head != 0 {
            unmap(NonNull::new_unchecked(start as *mut u8), head);
        }
        if tail != 0 {
            unmap(NonNull::new_unchecked((aligned + len) as *mut u8), tail);
        }
    }
    NonNull::new(aligned as *mut u8)
}

/// `madvise` advice (Linux 6.13): turn pages into guard pages (any access faults) without
/// changing the mapping, so no new VMA is made. Their contents are discarded.
pub(crate) const MADV_GUARD_INSTALL: libc::c_int = 102;
/// `madvise` advice (Linux 6.13): turn guard pages back into ordinary (zero-filled) pages.
pub(crate) const MADV_GUARD_REMOVE: libc::c_int = 103;

/// Makes the pages of a readable and writable range guard pages (Linux 6.13 and later; `false`
/// where the kernel does not support it). Unlike `mprotect`, this does not split the mapping,
/// so any number of guard pages fits in the kernel's mapping limit.
///
/// # Safety
/// The range is mapped, page-aligned, and holds nothing the caller still needs.
pub unsafe fn guard_install(address: NonNull<u8>, len: usize) -> bool {
    signal::close_left_open(address.as_ptr() as usize, len);
    let _errno = KeepErrno::new();
    // SAFETY: caller contract.
    unsafe { libc::madvise(address.as_ptr().cast(), len, MADV_GUARD_INSTALL) == 0 }
}

/// Turns guard pages made by [`guard_install`] back into zero-filled, usable pages.
///
/// # Safety
/// The range is mapped and page-aligned.
pub unsafe fn guard_remove(address: NonNull<u8>, len: usize) -> bool {
    signal::close_left_open(address.as_ptr() as usize, len);
    let _errno = KeepErrno::new();
    // SAFETY: caller contract.
    unsafe { libc::madvise(address.as_ptr().cast(), len, MADV_GUARD_REMOVE) == 0 }
}

/// Gives a range a mapping flag of one of two kinds (`MADV_HUGEPAGE` for `true`,
/// `MADV_NOHUGEPAGE` for `false`), which makes it a mapping of its own: the kernel never merges
/// neighbouring mappings whose flags differ, so a later `mprotect` of exactly this range changes
/// one mapping instead of splitting and merging them. `false` when the kernel refuses (then
/// neighbours may merge, which is only slower).
///
/// # Safety
/// The range is mapped and page-aligned.
pub unsafe fn set_mapping_kind(address: NonNull<u8>, len: usize, kind: bool) -> bool {
    let advice = if kind {
        libc::MADV_HUGEPAGE
    } else {
        libc::MADV_NOHUGEPAGE
    };
    // SAFETY: caller contract; the advice changes no contents.
    unsafe { libc::madvise(address.as_ptr().cast(), len, advice) == 0 }
}

/// The kernel's limit on mappings per process (`vm.max_map_count`; 65530 unless changed),
/// read without allocating.
pub fn max_map_count() -> usize {
    const DEFAULT: usize = 65530;
    let mut buffer = [0u8; 32];
    // SAFETY: a NUL-terminated path; the descriptor is closed below; `read` writes at most
    // `buffer.len()` bytes into the buffer.
    let read = unsafe {
        let fd = libc::open(
            c"/proc/sys/vm/max_map_count".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return DEFAULT;
        }
        let read = libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len());
        libc::close(fd);
        read
    };
    if read <= 0 {
        return DEFAULT;
    }
    let mut value = 0usize;
    for &byte in &buffer[..read as usize] {
        if !byte.is_ascii_digit() {
            break;
        }
        value = value
            .saturating_mul(10)
            .saturating_add(usize::from(byte - b'0'));
    }
    if value == 0 {
        DEFAULT
    } else {
        value
    }
}

/// The kernel's id of the calling thread; cheap enough for slow paths, not for hot ones.
pub fn thread_id() -> u64 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) as u64 }
}

/// Lets another thread run, as `sched_yield` does; where a seccomp filter of this process
/// would kill `sched_yield` ([`seccomp::DONE_WITHOUT`]), spins a while instead.
pub fn yield_now() {
    const SCHED_YIELD: u64 = seccomp::bit_of("sched_yield");
    if seccomp::stopped() & SCHED_YIELD != 0 {
        for _ in 0..256 {
            core::hint::spin_loop();
        }
    } else {
        // SAFETY: sched_yield has no preconditions.
        unsafe { libc::sched_yield() };
    }
}

/// How many threads this process has (`Threads:` of `/proc/self/status`, read with system
/// calls only, also after a `chroot`: [`open_proc_self`]); `None` when it cannot be read.
/// Needs no `getdents64`, which a seccomp filter may kill ([`seccomp::DONE_WITHOUT`]).
pub fn thread_count() -> Option<usize> {
    let fd = open_proc_self(b"status\0", libc::O_RDONLY);
    if fd < 0 {
        return None;
    }
    let mut text = [0u8; 4096];
    let mut len = 0;
    while len < text.len() {
        // SAFETY: `read` writes at most the free part of `text`.
        let read = unsafe { libc::read(fd, text[len..].as_mut_ptr().cast(), text.len() - len) };
        if read <= 0 {
            break;
        }
        len += read as usize;
    }
    // SAFETY: `fd` was opened above.
    unsafe { libc::close(fd) };
    threads_in_status(&text[..len])
}

/// The `Threads:` field of a `/proc/<pid>/status` text.
fn threads_in_status(status: &[u8]) -> Option<usize> {
    let key = b"\nThreads:";
    let at = status.windows(key.len()).position(|w| w == key)? + key.len();
    let digits = status[at..]
        .iter()
        .skip_while(|b| **b == b' ' || **b == b'\t')
        .take_while(|b| b.is_ascii_digit());
    let mut count = 0usize;
    let mut any = false;
    for digit in digits {
        count = count
            .checked_mul(10)?
            .checked_add(usize::from(digit - b'0'))?;
        any = true;
    }
    any.then_some(count)
}

/// The current stack pointer's neighbourhood: the address of a local, used as the lower bound
/// when walking frame pointers.
#[inline(always)]
pub fn approximate_stack_pointer() -> usize {
    let marker = 0u8;
    core::ptr::addr_of!(marker) as usize
}

/// The calling function's frame pointer (`rbp`): its frame's address, where the caller's
/// frame pointer is saved, with the return address above it. Only meaningful in code built
/// with frame pointers (this crate is: `.cargo/config.toml`), and only in a function that is
/// not inlined; 0 where it is not read (other architectures).
#[inline(always)]
pub fn frame_address() -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let frame: usize;
        // SAFETY: reads one register; no memory access, no stack change.
        unsafe {
            core::arch::asm!(
                "mov {frame}, rbp",
                frame = out(reg) frame,
                options(nomem, nostack, preserves_flags)
            );
        }
        frame
    }
    #[cfg(not(target_arch = "x86_64"))]
    0
}

#[cfg(target_env = "gnu")]
extern "C" {
    /// glibc: the stack pointer at process start, above every frame of the main thread.
    static __libc_stack_end: *mut libc::c_void;
}

/// The calling thread's stack, `(lowest, highest)` address, or `None` when it cannot be found.
///
/// For the main thread the top is glibc's `__libc_stack_end`: asking `pthread_getattr_np` there
/// would read `/proc/self/maps` with `fopen` (which allocates) while holding the thread's lock,
/// and std's own start-up makes exactly that call and allocates inside it, so an allocator
/// asking again from that allocation would deadlock. Its lowest address is the furthest the
/// stack may grow (`RLIMIT_STACK` below the top, at most 4 GiB). Other threads read their
/// attributes (no allocation under the lock).
pub fn stack_bounds() -> Option<(usize, usize)> {
    #[cfg(target_env = "gnu")]
    // SAFETY: getpid has no preconditions; `__libc_stack_end` is set before any user code runs.
    unsafe {
        if libc::getpid() as u64 == thread_id() {
            let end = __libc_stack_end as usize;
            if end != 0 {
                let mut limit = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                let size = if libc::getrlimit(libc::RLIMIT_STACK, &mut limit) == 0 {
                    (limit.rlim_cur as usize).clamp(1 << 20, 1 << 32)
                } else {
                    1 << 32
                };
                return Some((end.saturating_sub(size), end));
            }
        }
    }
    thread_stack_bounds()
}

fn thread_stack_bounds() -> Option<(usize, usize)> {
    let mut attributes = core::mem::MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: pthread_getattr_np initializes `attributes` on success; we destroy it after use.
    unsafe {
        if libc::pthread_getattr_np(libc::pthread_self(), attributes.as_mut_ptr()) != 0 {
            return None;
        }
        let mut base: *mut libc::c_void = core::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let found = libc::pthread_attr_getstack(attributes.as_ptr(), &mut base, &mut size) == 0;
        libc::pthread_attr_destroy(attributes.as_mut_ptr());
        found.then(|| (base as usize, base as usize + size))
    }
}

/// A loaded object (the executable or a shared library) as the dynamic loader knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadedObject {
    /// The start of its mapping.
    pub start: usize,
    /// The end of its mapping.
    pub end: usize,
    /// Its `PT_GNU_EH_FRAME` segment (`.eh_frame_hdr`), or 0.
    pub eh_frame_header: usize,
    /// Its `struct link_map` (whose public head is `l_addr`, the load bias, then `l_name`,
    /// its file's path: empty for the program), or 0.
    pub link_map: usize,
}

#[cfg(target_env = "gnu")]
#[repr(C)]
struct DlFindObject {
    flags: u64,
    map_start: *mut libc::c_void,
    map_end: *mut libc::c_void,
    link_map: *mut libc::c_void,
    eh_frame: *mut libc::c_void,
    reserved: [u64; 7],
}

#[cfg(target_env = "gnu")]
extern "C" {
    /// glibc 2.35: the object containing an address and its `PT_GNU_EH_FRAME` (lock-free,
    /// async-signal-safe).
    fn _dl_find_object(address: *mut libc::c_void, result: *mut DlFindObject) -> libc::c_int;
}

/// The loaded object whose mapping contains `address`, without a lock (so also in a signal
/// handler). `None` for addresses outside every object, or where the C library cannot say.
pub fn object_containing(address: usize) -> Option<LoadedObject> {
    #[cfg(target_env = "gnu")]
    {
        let mut object = DlFindObject {
            flags: 0,
            map_start: core::ptr::null_mut(),
            map_end: core::ptr::null_mut(),
            link_map: core::ptr::null_mut(),
            eh_frame: core::ptr::null_mut(),
            reserved: [0; 7],
        };
        // SAFETY: `object` is a valid out-parameter of the documented layout.
        if unsafe { _dl_find_object(address as *mut libc::c_void, &mut object) } != 0 {
            return None;
        }
        Some(LoadedObject {
            start: object.map_start as usize,
            end: object.map_end as usize,
            eh_frame_header: object.eh_frame as usize,
            link_map: object.link_map as usize,
        })
    }
    #[cfg(not(target_env = "gnu"))]
    {
        let _ = address;
        None
    }
}

/// `/proc/thread-self/<name>` (Linux 3.17), else `/proc/self/<name>`: this process's `maps`,
/// `exe` or `cmdline` as the calling thread sees them. Once the main thread has ended with
/// `pthread_exit` while others run on, `/proc/self` names a zombie thread whose `maps` is
/// empty and whose `exe` cannot be read; the exit report then runs on another thread, whose
/// own view still has them.
pub fn proc_file(name: &str) -> std::path::PathBuf {
    let own = std::path::Path::new("/proc/thread-self").join(name);
    if own.exists() {
        own
    } else {
        std::path::Path::new("/proc/self").join(name)
    }
}

/// Opens `/proc` and this process's `maps` to be read later through descriptors (held at
/// [`held::HELD_FROM`] or above, close-on-exec), before the process confines itself: a `chroot`
/// into a directory without `/proc`, a seccomp filter that refuses `open`. The exit scan
/// needs the memory map (its roots: without it every block was "definitely lost") and the
/// thread list. Nothing when they are already held (`maps` is opened again in a `fork` child).
/// Allocates nothing.
pub fn keep_proc() {
    keep_proc_dir();
    held::open_and_hold(held::Role::ProcMaps, c"/proc/self/maps", libc::O_RDONLY);
}

/// Holds `/proc` alone, as [`keep_proc`] does: for a process about to share a mount
/// namespace with a new PID namespace's processes (`unshare(CLONE_NEWPID | CLONE_NEWNS)`,
/// `unshare -p -f --mount-proc`), whose child then mounts that namespace's `/proc` over the
/// old one: there `self` names no process of the caller's, and its memory map (the exit
/// scan's roots) could no longer be read. The held descriptor stays on the old `/proc`.
/// Allocates nothing.
pub fn keep_proc_dir() {
    held::open_and_hold(
        held::Role::ProcDir,
        c"/proc",
        libc::O_PATH | libc::O_DIRECTORY,
    );
}

/// In a `fork` child: the held `maps` descriptor shows the parent's memory; it is closed.
pub fn after_fork_child() {
    held::forget(held::Role::ProcMaps);
}

/// Opens `/proc/self/<name>` (`name` relative, NUL-terminated) with `flags`: by its path,
/// else through the `/proc` descriptor [`keep_proc`] holds (after a `chroot`). The descriptor,
/// or -1. Allocates nothing.
pub fn open_proc_self(name: &[u8], flags: libc::c_int) -> libc::c_int {
    let mut path = [0u8; 64];
    let prefix = b"/proc/self/";
    let end = prefix.len() + name.len();
    if end > path.len() || name.last() != Some(&0) {
        return -1;
    }
    path[..prefix.len()].copy_from_slice(prefix);
    path[prefix.len()..end].copy_from_slice(name);
    // SAFETY: `path` is NUL-terminated (its name part ends with one).
    let fd = unsafe { libc::open(path.as_ptr().cast(), flags | libc::O_CLOEXEC) };
    if fd >= 0 {
        return fd;
    }
    let Some(dir) = held::get(held::Role::ProcDir) else {
        return -1;
    };
    // SAFETY: `dir` is our descriptor on `/proc`; the relative path `self/<name>` is
    // NUL-terminated.
    unsafe {
        libc::openat(
            dir,
            path[b"/proc/".len()..].as_ptr().cast(),
            flags | libc::O_CLOEXEC,
        )
    }
}

/// The text of this process's memory map: [`proc_file`]`("maps")`, else through the
/// descriptors [`keep_proc`] holds (`/proc` after a `chroot`; the open `maps` itself under a
/// seccomp filter, read from its start with `pread`). `None` when none of them can be read.
pub fn read_proc_maps() -> Option<std::vec::Vec<u8>> {
    if let Ok(text) = std::fs::read(proc_file("maps")) {
        return Some(text);
    }
    let fd = open_proc_self(b"maps\0", libc::O_RDONLY);
    if fd >= 0 {
        let text = read_from_start(fd);
        // SAFETY: opened above.
        unsafe { libc::close(fd) };
        return text;
    }
    let held = held::get(held::Role::ProcMaps)?;
    if let Some(text) = read_from_start(held) {
        return Some(text);
    }
    // A filter that refuses `pread` (and `lseek`) but allows `read`: the held descriptor is
    // read once, from where it was opened, and that text serves the later questions of this
    // exit (the map changes little while the report is made).
    static LAST: std::sync::Mutex<Option<std::vec::Vec<u8>>> = std::sync::Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut text = std::vec::Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // SAFETY: `chunk` is writable for its length; `held` is our descriptor.
        match unsafe { libc::read(held, chunk.as_mut_ptr().cast(), chunk.len()) } {
            read if read > 0 => text.extend_from_slice(&chunk[..read as usize]),
            _ => break,
        }
    }
    if !text.is_empty() {
        *last = Some(text);
    }
    last.clone()
}

/// Everything `fd` holds from offset 0 (`pread`, so the offset of a held descriptor does not
/// matter; `/proc` files are made afresh by a read at offset 0); `None` when `pread` fails.
fn read_from_start(fd: libc::c_int) -> Option<std::vec::Vec<u8>> {
    let mut text = std::vec::Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // SAFETY: `chunk` is writable for its length; the kernel checks `fd`.
        let read = unsafe {
            libc::pread(
                fd,
                chunk.as_mut_ptr().cast(),
                chunk.len(),
                text.len() as libc::off_t,
            )
        };
        match read {
            0 => return Some(text),
            read if read > 0 => text.extend_from_slice(&chunk[..read as usize]),
            _ => return None,
        }
    }
}

/// The process's address-space limit in bytes (`RLIMIT_AS`, `ulimit -v`), or `None` when
/// there is none. Reserved but inaccessible mappings count against it too. After
/// [`freeze_limits`], the value read then, without a system call.
pub fn address_space_limit() -> Option<usize> {
    match FROZEN_AS_LIMIT.load(Ordering::Relaxed) {
        NOT_FROZEN => read_address_space_limit(),
        NO_LIMIT => None,
        limit => Some(limit),
    }
}

fn read_address_space_limit() -> Option<usize> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid out-parameter.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    Some(usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX).max(1))
}

/// [`address_space_limit`] as [`freeze_limits`] read it: [`NOT_FROZEN`] before, [`NO_LIMIT`]
/// for none.
static FROZEN_AS_LIMIT: AtomicUsize = AtomicUsize::new(NOT_FROZEN);
const NOT_FROZEN: usize = 0;
const NO_LIMIT: usize = usize::MAX;

/// Reads the limits the allocator consults (`RLIMIT_AS`) once more and keeps them, for a
/// process about to install a seccomp filter: afterwards `getrlimit` and the `/proc` reads
/// [`address_space_allows`] makes may be refused, or kill the process (OpenSSH's filter kills
/// on `getrlimit`: a sandboxed worker died at its first allocation under gpa). A limit the
/// program sets after the filter is not seen (it could not be read anyway).
pub fn freeze_limits() {
    let limit = read_address_space_limit().map_or(NO_LIMIT, |limit| limit.min(NO_LIMIT - 1));
    FROZEN_AS_LIMIT.store(limit, Ordering::Relaxed);
}

/// The size of one of gpa's own reservations that would be `wanted` bytes without an
/// address-space limit: `wanted`, or under `RLIMIT_AS` (`ulimit -v`) at most `1/share` of
/// the limit (whole pages, at least one), so that all of gpa's reservations together (the
/// shares are listed in docs/c_abi.md, "Address-space limits") leave most of the limit to
/// the program. Read when the reservation is made: a limit the program lowers later does
/// not shrink it.
pub fn reservation_len(wanted: usize, share: usize) -> usize {
    match address_space_limit() {
        Some(limit) => wanted
            .min((limit / share.max(1)) & !(page_size() - 1))
            .max(page_size()),
        None => wanted,
    }
}

/// Whether `bytes` more of address space fit under the process's `RLIMIT_AS`, as the kernel
/// judges a new mapping (the address space in use, `/proc/self/statm`'s first field, plus
/// the request, at most the limit): for memory taken from a reservation made before the
/// program set its limit (guard mode's area), which the kernel no longer checks. True
/// without a limit (one `getrlimit` call) or when the use cannot be read. Allocates
/// nothing.
pub fn address_space_allows(bytes: usize) -> bool {
    let Some(limit) = address_space_limit() else {
        return true;
    };
    if FROZEN_AS_LIMIT.load(Ordering::Relaxed) != NOT_FROZEN {
        // Under a seccomp filter `/proc/self/statm` may not be opened (or its `open` kill).
        return true;
    }
    address_space_used().is_none_or(|used| used.saturating_add(bytes) <= limit)
}

/// Whether the kernel's overcommit policy (`vm.overcommit_memory`) grants a new private
/// writable mapping of `bytes` (`> 0`), as it judges the mapping glibc's `malloc` makes for a
/// large chunk ([`map_accounted`]): asked by making one and unmapping it at once (two system
/// calls, nothing touched). For memory taken from a reservation the kernel does not account
/// (guard mode's area, mapped with `MAP_NORESERVE`): under the default heuristic a block
/// larger than RAM and swap together is refused, as natively. `errno` is kept. Allocates
/// nothing.
pub fn commit_allows(bytes: usize) -> bool {
    let Some(len) = bytes.checked_next_multiple_of(page_size()) else {
        return false;
    };
    let _errno = KeepErrno::new();
    let Some(probe) = map_accounted(len) else {
        return false;
    };
    // SAFETY: mapped just above, never used.
    unsafe { libc::munmap(probe.as_ptr().cast(), len) };
    true
}

/// The process's address space in use, in bytes (`/proc/self/statm`'s first field), read
/// into a buffer on the stack.
fn address_space_used() -> Option<usize> {
    let mut buffer = [0u8; 64];
    // SAFETY: a NUL-terminated path; the descriptor is closed below.
    let fd = unsafe {
        libc::open(
            c"/proc/self/statm".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: `buffer` is writable for its length; `fd` is open.
    let read = unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) };
    // SAFETY: `fd` was opened above and is closed once.
    unsafe { libc::close(fd) };
    let read = usize::try_from(read).ok()?;
    let pages = buffer[..read]
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .try_fold(0usize, |pages, byte| {
            pages.checked_mul(10)?.checked_add(usize::from(byte - b'0'))
        })?;
    pages.checked_mul(page_size())
}

/// Calls `visit` with each loaded object's base address and program headers, in the loader's
/// order (the executable first, then the objects it started with, then those `dlopen` added),
/// until it returns `true`. Reads the loader's list with `dl_iterate_phdr` (takes the
/// loader's lock; allocates nothing).
pub fn each_loaded_object(visit: &mut dyn FnMut(usize, &[libc::Elf64_Phdr]) -> bool) {
    type Visit<'a> = &'a mut dyn FnMut(usize, &[libc::Elf64_Phdr]) -> bool;
    unsafe extern "C" fn each(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: `dl_iterate_phdr` passes a valid record for one loaded object, whose
        // `dlpi_phnum` program headers stay mapped during the call; `data` is the `Visit`
        // below, alive for the call.
        unsafe {
            let visit = &mut *data.cast::<Visit>();
            let info = &*info;
            let headers = core::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum));
            libc::c_int::from(visit(info.dlpi_addr as usize, headers))
        }
    }
    let mut visit: Visit = visit;
    // SAFETY: the callback matches `dl_iterate_phdr`'s signature and only reads the records
    // it is given; `visit` outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(each), (&mut visit as *mut Visit).cast()) };
}

/// Whether one of the loadable segments (`PT_LOAD`) of the object at `base` with `headers`
/// ([`each_loaded_object`]) holds `address`.
pub fn object_holds(base: usize, headers: &[libc::Elf64_Phdr], address: usize) -> bool {
    headers.iter().any(|header| {
        let start = base.wrapping_add(header.p_vaddr as usize);
        header.p_type == libc::PT_LOAD
            && address >= start
            && address - start < header.p_memsz as usize
    })
}

/// The bytes of static thread-local storage the loaded object containing `address` adds to
/// every thread (its `PT_TLS` segment's size plus its alignment, the most glibc's placement
/// can cost), or 0 when it has none or no object contains `address`
/// ([`each_loaded_object`]: takes the loader's lock; allocates nothing).
pub fn static_tls_of(address: usize) -> usize {
    let mut bytes = 0;
    each_loaded_object(&mut |base, headers| {
        if !object_holds(base, headers, address) {
            return false;
        }
        bytes = headers
            .iter()
            .find(|header| header.p_type == libc::PT_TLS)
            .map_or(0, |tls| (tls.p_memsz + tls.p_align) as usize);
        true
    });
    bytes
}

/// The alternate signal stack the calling thread is running on now (a signal handler
/// installed with `SA_ONSTACK`), `(lowest, highest)` address; `None` when it is not on one.
/// One system call; async-signal-safe.
pub fn current_alternate_stack() -> Option<(usize, usize)> {
    let mut current = libc::stack_t {
        ss_sp: core::ptr::null_mut(),
        ss_flags: 0,
        ss_size: 0,
    };
    // SAFETY: a null new stack only queries; `current` is a valid out-parameter.
    if unsafe { signal::raw_sigaltstack(core::ptr::null(), &mut current) } != 0 {
        return None;
    }
    let base = current.ss_sp as usize;
    (current.ss_flags & libc::SS_ONSTACK != 0 && base != 0).then(|| (base, base + current.ss_size))
}

/// A pthread key whose destructor runs at the exit of each thread that [armed](Self::arm) it:
/// the thread-exit hook of the layers above (heaps, alternate signal stacks). The key is
/// created on first use.
pub struct ThreadExitKey {
    key: core::sync::atomic::AtomicU64,
    destructor: unsafe extern "C" fn(*mut libc::c_void),
}

impl ThreadExitKey {
    /// A key (not created yet) whose destructor is `destructor`.
    pub const fn new(destructor: unsafe extern "C" fn(*mut libc::c_void)) -> Self {
        ThreadExitKey {
            key: core::sync::atomic::AtomicU64::new(u64::MAX),
            destructor,
        }
    }

    /// Arranges for the destructor to run when the calling thread exits; `false` when the key
    /// cannot be created or set. `pthread_setspecific` may allocate: callers inside an
    /// allocator hold its re-entrancy guard.
    pub fn arm(&self) -> bool {
        use core::sync::atomic::Ordering;
        let mut key = self.key.load(Ordering::Acquire);
        if key == u64::MAX {
            let mut fresh: libc::pthread_key_t = 0;
            // SAFETY: `fresh` is a valid out-pointer; the destructor has the C signature.
            if unsafe { libc::pthread_key_create(&mut fresh, Some(self.destructor)) } != 0 {
                return false;
            }
            match self.key.compare_exchange(
                u64::MAX,
                fresh as u64,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => key = fresh as u64,
                Err(winner) => {
                    // SAFETY: `fresh` was created above and never used.
                    unsafe { libc::pthread_key_delete(fresh) };
                    key = winner;
                }
            }
        }
        // SAFETY: the key exists; a non-null value makes its destructor run at thread exit.
        unsafe {
            libc::pthread_setspecific(
                key as libc::pthread_key_t,
                core::ptr::dangling::<libc::c_void>(),
            ) == 0
        }
    }
}

/// Restores the calling thread's `errno` when dropped: work of gpa's own (recording a finding,
/// the system calls of a `free`) leaves the program's `errno` as it was. glibc's `free` keeps
/// `errno` even where its `munmap` fails (glibc's test `malloc/tst-free-errno.c`: at the
/// process's limit of mappings, where splitting a mapping fails with `ENOMEM`).
pub struct KeepErrno(i32);

impl KeepErrno {
    /// Saves the calling thread's `errno`.
    #[inline]
    pub fn new() -> Self {
        // SAFETY: the calling thread's `errno`.
        KeepErrno(unsafe { *libc::__errno_location() })
    }
}

impl Default for KeepErrno {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for KeepErrno {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: as in `new`.
        unsafe { *libc::__errno_location() = self.0 };
    }
}

/// `write(2)` that is no cancellation point: the raw system call, as glibc's own internal writes
/// (`__write_nocancel`). C `write` acts on a pending `pthread_cancel` and ends the thread inside
/// gpa: a `malloc_stats` in a thread with a cancellation pending wrote nothing where glibc's
/// writes everything (glibc's test `malloc/tst-malloc-stats-cancellation.c`), and a thread ended
/// in the middle of a report or an event would leave gpa's state half written.
///
/// # Safety
/// `buf` points to `len` readable bytes.
pub unsafe fn write_nocancel(fd: i32, buf: *const u8, len: usize) -> isize {
    // SAFETY: caller contract; `syscall` is no cancellation point and sets errno as `write`.
    unsafe { libc::syscall(libc::SYS_write, fd, buf, len) as isize }
}

/// Writes `bytes` to standard error without allocating (reports use this as their sink), with
/// no cancellation point ([`write_nocancel`]).
pub fn write_stderr(bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        // SAFETY: the pointer and length describe a live byte slice.
        let written = unsafe { write_nocancel(2, rest.as_ptr(), rest.len()) };
        if written <= 0 {
            return;
        }
        rest = &rest[written as usize..];
    }
}

/// A line of text formatted into a fixed buffer of `N` bytes on the stack, for messages written
/// where nothing may allocate (inside the allocator, a panic hook): `write!` into it, then
/// [`StderrLine::flush`]. Text past `N` bytes is dropped, never an error.
pub struct StderrLine<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> StderrLine<N> {
    /// An empty line.
    pub const fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }

    /// Writes the text so far to standard error ([`write_stderr`]).
    pub fn flush(&self) {
        write_stderr(&self.bytes[..self.len]);
    }
}

impl<const N: usize> Default for StderrLine<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> core::fmt::Write for StderrLine<N> {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        let take = text.len().min(N - self.len);
        self.bytes[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

/// A cheap, monotonic tick counter for timestamps on allocation paths: the CPU's time-stamp
/// counter on x86-64 (`rdtsc`, a few nanoseconds, constant rate on CPUs with an invariant TSC),
/// the virtual counter on AArch64, else [`monotonic_ns`]. Convert with two readings of both
/// clocks ([`monotonic_ns`] beside [`ticks`]), as `gpa::profile` does.
#[inline(always)]
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `rdtsc` reads a counter register; it has no memory effects.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(target_arch = "aarch64")]
    {
        let count: u64;
        // SAFETY: reading the virtual counter register has no side effects.
        unsafe {
            core::arch::asm!("mrs {}, cntvct_el0", out(reg) count, options(nomem, nostack));
        }
        count
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        monotonic_ns()
    }
}

/// Nanoseconds of `CLOCK_MONOTONIC` (through the vDSO: no system call on Linux).
pub fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid out-pointer; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    (now.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(now.tv_nsec as u64)
}

/// Reserves `len` bytes of address space, inaccessible (`PROT_NONE`, no memory committed):
/// guard regions, and ranges made accessible piece by piece with [`protect`].
pub fn reserve(len: usize) -> Option<NonNull<u8>> {
    debug_assert!(
        len != 0 && len % page_size() == 0,
        "reserve: bad length {len}"
    );
    map_anonymous(len, libc::PROT_NONE)
}

/// [`reserve`], asking for `hint` first (the kernel places the reservation elsewhere when
/// that range is taken).
pub fn reserve_near(hint: usize, len: usize) -> Option<NonNull<u8>> {
    debug_assert!(len != 0 && len % page_size() == 0 && hint % page_size() == 0);
    map_anonymous_near(hint, len, libc::PROT_NONE)
}

/// Reserves exactly `[address, address + len)` as [`reserve`] does, or nothing (`false`)
/// when any of it is mapped already or the address-space limit refuses it
/// (`MAP_FIXED_NOREPLACE`; on kernels before 4.17, which take the flag for a hint, a
/// reservation placed elsewhere is undone).
pub fn reserve_fixed(address: usize, len: usize) -> bool {
    debug_assert!(len != 0 && len % page_size() == 0 && address % page_size() == 0);
    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping: the call fails instead.
    let mapped = unsafe {
        libc::mmap(
            address as *mut libc::c_void,
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE
                | libc::MAP_ANONYMOUS
                | libc::MAP_NORESERVE
                | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    if mapped == libc::MAP_FAILED {
        return false;
    }
    if mapped as usize != address {
        // SAFETY: the mapping was just made, elsewhere, and nothing uses it.
        unsafe { libc::munmap(mapped, len) };
        return false;
    }
    true
}

/// Maps `len` bytes of fresh, zeroed, readable and writable memory between two inaccessible
/// guard regions of `guard` bytes each, so that a stray access that runs off either end of
/// some neighbouring mapping faults instead of landing in it. Release with [`unmap_guarded`].
pub fn map_guarded(len: usize, guard: usize) -> Option<NonNull<u8>> {
    let total = len.checked_add(guard.checked_mul(2)?)?;
    let start = reserve(total)?;
    // SAFETY: `start + guard` is page-aligned inside the reservation just made.
    let inner = unsafe { NonNull::new_unchecked(start.as_ptr().add(guard)) };
    // SAFETY: the middle of our own fresh reservation.
    if unsafe { protect(inner, len, true) } {
        Some(inner)
    } else {
        // SAFETY: the reservation was made above and is unused.
        unsafe { unmap(start, total) };
        None
    }
}

/// Unmaps a mapping made by [`map_guarded`] with the same `len` and `guard`, guards included.
///
/// # Safety
/// As for [`unmap`].
pub unsafe fn unmap_guarded(address: NonNull<u8>, len: usize, guard: usize) {
    // SAFETY: caller contract: the guards lie right around the mapping.
    unsafe {
        unmap(
            NonNull::new_unchecked(address.as_ptr().sub(guard)),
            len + 2 * guard,
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounted_mappings_are_judged_by_the_overcommit_policy_reservations_are_not() {
        let mode = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").ok();
        if mode.as_deref().map(str::trim) != Some("0") {
            eprintln!("vm.overcommit_memory is not 0 ({mode:?}): skipped");
            return;
        }
        let tib = 1usize << 40;
        // The heuristic refuses one private writable mapping larger than RAM and swap, as it
        // refuses glibc's, and sets ENOMEM; a reservation of the same size it grants.
        // SAFETY: writes this thread's errno only.
        unsafe { *libc::__errno_location() = 0 };
        assert!(map_accounted(tib).is_none());
        // SAFETY: reads this thread's errno only.
        assert_eq!(unsafe { *libc::__errno_location() }, libc::ENOMEM);
        assert!(map_aligned_accounted(tib, 1 << 30).is_none());
        assert!(!commit_allows(tib));
        let reserved = map(tib).expect("a reservation of 1 TiB");
        // SAFETY: mapped just above, never used.
        unsafe { unmap(reserved, tib) };
        // A small accounted mapping is granted, usable, and the probe keeps errno.
        let page = page_size();
        let small = map_accounted(page).expect("one page");
        // SAFETY: a fresh writable mapping of one page.
        unsafe {
            small.as_ptr().write(7);
            unmap(small, page);
        }
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = libc::EINTR };
        assert!(commit_allows(1 << 20));
        assert!(!commit_allows(tib));
        // SAFETY: as above.
        assert_eq!(unsafe { *libc::__errno_location() }, libc::EINTR);
    }

    #[test]
    fn a_fixed_reservation_takes_free_space_only() {
        let page = page_size();
        // Four pages near a hint; the middle two given back, then taken again at their place.
        let base = reserve_near(0x1000_0000_0000, 4 * page)
            .expect("reserve")
            .as_ptr() as usize;
        // SAFETY: the middle of our own reservation, unused.
        unsafe { unmap(NonNull::new((base + page) as *mut u8).unwrap(), 2 * page) };
        assert!(reserve_fixed(base + page, 2 * page));
        // Taken now (and the ends were never free): refused, nothing replaced.
        assert!(!reserve_fixed(base + page, page));
        assert!(!reserve_fixed(base, 4 * page));
        // SAFETY: all four pages are ours again.
        unsafe { unmap(NonNull::new(base as *mut u8).unwrap(), 4 * page) };
    }

    std::thread_local! {
        static LOCAL: core::cell::Cell<[u64; 512]> = const { core::cell::Cell::new([0; 512]) };
    }

    #[test]
    fn the_thread_count_is_read_from_status_without_a_directory_listing() {
        let status = b"Name:\tx\nTgid:\t7\nThreads:\t12\nSigQ:\t0/1\n";
        assert_eq!(threads_in_status(status), Some(12));
        assert_eq!(threads_in_status(b"Name:\tx\nThreads:\t\n"), None);
        assert_eq!(threads_in_status(b"Name:\tThreads:\t3\n"), None);
        // This test's own process: at least the thread running it, the same as the task
        // directory lists (other tests' threads may come and go in between: at most a few).
        let counted = thread_count().expect("/proc/self/status");
        let listed = std::fs::read_dir("/proc/self/task").unwrap().count();
        assert!(
            counted >= 1 && counted.abs_diff(listed) <= 8,
            "{counted} {listed}"
        );
    }

    #[test]
    fn static_tls_of_measures_the_object_holding_an_address() {
        // This test program holds 4 KiB of thread-locals (above) plus std's own (read back:
        // a thread-local only written would be optimized away, and gpa's own are 2.7 KiB
        // since the trace caches left static TLS).
        LOCAL.with(|local| local.set([1; 512]));
        assert_eq!(
            LOCAL.with(|local| std::hint::black_box(local.get())[511]),
            1
        );
        let here = static_tls_of_measures_the_object_holding_an_address as fn() as usize;
        let bytes = static_tls_of(here);
        assert!((4096..1 << 20).contains(&bytes), "{bytes}");
        // No object holds address 0 (nor a heap block).
        assert_eq!(static_tls_of(0), 0);
        let block = Box::new(0u64);
        assert_eq!(static_tls_of(&*block as *const u64 as usize), 0);
    }
}
