//! The `.debug_frame` of loaded objects, read from their files: the call-frame information of
//! code built with `-g -fno-asynchronous-unwind-tables`, which has no `.eh_frame` entry (the
//! section the loader maps) but keeps its rules in the debug information. Valgrind's unwinder
//! reads this section too; without it, a trace of such optimized code (no frame pointers
//! either) ended at its first frame.
//!
//! # Design
//! The first time an address of an object is unwound here, the object's file (its
//! `link_map`'s name; the program's own through `/proc/self/exe`) is opened, its section
//! headers read with `pread`, and its `.debug_frame` (unless compressed) mapped read-only and
//! kept for the process's life in a small table ([`OBJECTS`] entries, one per object; an
//! object without one gets an empty entry, so its file is read once). A rule is then found by
//! gimli's search of the section's entries, once per address: the caller caches rules
//! ([`super::compute`]). Addresses in the file are the loaded ones less the object's load
//! bias (`l_addr`).
//!
//! # Invariants
//! * An entry is filled under [`FILL`] and published by its `start`, stored last with
//!   `Release`; a reader that finds `start` (`Acquire`) sees the rest. Entries are cleared only
//!   under [`FILL`] ([`forget`], at an unload), and their mappings are never unmapped, so a
//!   section a reader still holds stays readable.
//! * [`FILL`] is never waited for by the thread that holds it (a capture in a signal handler
//!   that interrupted the filling one: that capture goes without), nor for long (its holder
//!   may be stopped by the exit scan): a waiter gives up after [`FILL_PATIENCE`] yields. A
//!   capture that goes without gets no rule from here for that address.
//! * Runs where [`super::compute`] runs: on gpa's own stack, inside the allocator's
//!   re-entrancy guard (gimli's and the section headers' allocations go to its internal heap).

use core::sync::atomic::{AtomicUsize, Ordering};

/// Objects whose `.debug_frame` (or its absence) is remembered.
const OBJECTS: usize = 32;

struct Entry {
    /// The object's mapping start (its key), 0 for a free entry.
    start: AtomicUsize,
    /// The mapped section, 0 when the object has none.
    section: AtomicUsize,
    len: AtomicUsize,
    /// The object's load bias (`l_addr`).
    bias: AtomicUsize,
}

static TABLE: [Entry; OBJECTS] = [const {
    Entry {
        start: AtomicUsize::new(0),
        section: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        bias: AtomicUsize::new(0),
    }
}; OBJECTS];

/// The `pthread_self` of the thread filling an entry or clearing the table, 0 when none.
static FILL: AtomicUsize = AtomicUsize::new(0);

/// Yields a thread waits for [`FILL`] before it goes without: filling reads a few kilobytes
/// of a file, far less than this many time slices.
const FILL_PATIENCE: u32 = 10_000;

/// Takes [`FILL`]: `false` when the calling thread holds it already (a signal handler's
/// capture interrupted the filling) or its holder keeps it past [`FILL_PATIENCE`].
fn take_fill() -> bool {
    // SAFETY: no preconditions; a register read in practice, never 0.
    let me = unsafe { libc::pthread_self() } as usize;
    for _ in 0..FILL_PATIENCE {
        match FILL.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(holder) if holder == me => return false,
            Err(_) => crate::os::yield_now(),
        }
    }
    false
}

/// A loaded object's `.debug_frame` in memory, with its load bias.
pub(super) struct DebugFrame {
    pub(super) section: &'static [u8],
    pub(super) bias: usize,
}

/// The `.debug_frame` of `object` (a loaded object), read from its file the first time;
/// `None` when its file has none, cannot be read, or the table is full.
pub(super) fn of(object: &crate::os::LoadedObject) -> Option<DebugFrame> {
    if let Some(found) = lookup(object.start) {
        return found;
    }
    if !take_fill() {
        return None;
    }
    let found = match lookup(object.start) {
        Some(found) => found,
        None => {
            let read = read_section(object);
            if let Some(entry) = TABLE
                .iter()
                .find(|entry| entry.start.load(Ordering::Relaxed) == 0)
            {
                let (section, len, bias) = read.as_ref().map_or((0, 0, 0), |frame| {
                    (
                        frame.section.as_ptr() as usize,
                        frame.section.len(),
                        frame.bias,
                    )
                });
                entry.section.store(section, Ordering::Relaxed);
                entry.len.store(len, Ordering::Relaxed);
                entry.bias.store(bias, Ordering::Relaxed);
                entry.start.store(object.start, Ordering::Release);
            }
            read
        }
    };
    FILL.store(0, Ordering::Release);
    found
}

/// The remembered answer for the object mapped at `start`: `Some(None)` when it has no
/// section, `None` when it was not looked at yet.
fn lookup(start: usize) -> Option<Option<DebugFrame>> {
    let entry = TABLE
        .iter()
        .find(|entry| entry.start.load(Ordering::Acquire) == start)?;
    let section = entry.section.load(Ordering::Relaxed);
    if section == 0 {
        return Some(None);
    }
    let len = entry.len.load(Ordering::Relaxed);
    // SAFETY: a read-only mapping of `len` bytes made by `read_section` and never unmapped.
    let section = unsafe { core::slice::from_raw_parts(section as *const u8, len) };
    Some(Some(DebugFrame {
        section,
        bias: entry.bias.load(Ordering::Relaxed),
    }))
}

/// Forgets every object (an object was unloaded: another may be loaded at its address).
pub(super) fn forget() {
    // Without the lock (its holder stopped, or this thread's own interrupted filling), the
    // keys are cleared all the same: an entry being filled is published after this, its
    // object looked at before the unload, and is forgotten at the next one.
    let held = take_fill();
    for entry in &TABLE {
        entry.start.store(0, Ordering::Release);
    }
    if held {
        FILL.store(0, Ordering::Release);
    }
}

/// Opens `object`'s file and maps its `.debug_frame`.
fn read_section(object: &crate::os::LoadedObject) -> Option<DebugFrame> {
    // A seccomp filter that would end the process on one of these calls: do without.
    let stopped = ["openat", "pread64", "mmap"];
    if object.link_map == 0 || stopped.iter().any(|call| crate::os::seccomp::stops(call)) {
        return None;
    }
    // SAFETY: `link_map` is the loader's `struct link_map` for a loaded object, whose public
    // head (glibc's <link.h>) is `l_addr` then `l_name`, a NUL-terminated path ("" for the
    // program itself), valid while the object is loaded (its code is on the stack).
    let (bias, name) = unsafe {
        let head = object.link_map as *const usize;
        (head.read(), head.add(1).read() as *const libc::c_char)
    };
    // SAFETY: `name` is null or the loader's NUL-terminated path, as above.
    let path = if name.is_null() || unsafe { name.read() } == 0 {
        c"/proc/self/exe".as_ptr()
    } else {
        name
    };
    // SAFETY: a NUL-terminated path; the descriptor is closed below.
    let fd = unsafe { libc::open(path, libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    let found = section_in(fd).and_then(|(offset, len)| {
        let page = crate::os::page_size();
        let start = offset - offset % page;
        let span = len + (offset - start);
        // SAFETY: a new private read-only mapping of the file's range; it is never unmapped
        // (see the invariants).
        let mapped = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                span,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                fd,
                start as libc::off_t,
            )
        };
        if mapped == libc::MAP_FAILED {
            return None;
        }
        // SAFETY: the mapping holds `span` bytes from `start`, so `len` bytes from `offset`.
        let section =
            unsafe { core::slice::from_raw_parts((mapped as *const u8).add(offset - start), len) };
        Some(DebugFrame { section, bias })
    });
    // SAFETY: opened above, closed once (the mapping stays).
    unsafe { libc::close(fd) };
    found
}

/// Reads `len` bytes at `offset` of the file `fd` into `out`; whether all were read.
fn pread_all(fd: i32, offset: u64, out: &mut [u8]) -> bool {
    // SAFETY: `out` is writable for its length.
    let read = unsafe {
        libc::pread(
            fd,
            out.as_mut_ptr().cast(),
            out.len(),
            offset as libc::off_t,
        )
    };
    usize::try_from(read).is_ok_and(|read| read == out.len())
}

/// The file offset and length of the uncompressed `.debug_frame` section of the 64-bit
/// little-endian ELF file `fd`, if it has one.
fn section_in(fd: i32) -> Option<(usize, usize)> {
    const SHDR: usize = 64;
    const SHF_COMPRESSED: u64 = 0x800;
    const SHT_NOBITS: u32 = 8;
    let mut header = [0u8; 64];
    if !pread_all(fd, 0, &mut header) || header[..4] != *b"\x7fELF" || header[4..6] != [2, 1] {
        return None;
    }
    let word = |bytes: &[u8], at: usize, len: usize| -> u64 {
        let mut value = [0u8; 8];
        value[..len].copy_from_slice(&bytes[at..at + len]);
        u64::from_le_bytes(value)
    };
    let (shoff, shentsize, shnum, shstrndx) = (
        word(&header, 40, 8),
        word(&header, 58, 2) as usize,
        word(&header, 60, 2) as usize,
        word(&header, 62, 2) as usize,
    );
    if shentsize != SHDR || shnum == 0 || shnum > 1 << 16 || shstrndx >= shnum {
        return None;
    }
    let mut headers = std::vec![0u8; shnum * SHDR];
    if !pread_all(fd, shoff, &mut headers) {
        return None;
    }
    let section = |index: usize| &headers[index * SHDR..(index + 1) * SHDR];
    let names = section(shstrndx);
    let (names_offset, names_len) = (word(names, 24, 8), word(names, 32, 8) as usize);
    if names_len > 1 << 20 {
        return None;
    }
    let mut strings = std::vec![0u8; names_len];
    if !pread_all(fd, names_offset, &mut strings) {
        return None;
    }
    (0..shnum).find_map(|index| {
        let header = section(index);
        let name = word(header, 0, 4) as usize;
        let wanted = b".debug_frame\0";
        let named = strings.get(name..name + wanted.len()) == Some(&wanted[..]);
        let kind = word(header, 4, 4) as u32;
        let flags = word(header, 8, 8);
        let (offset, len) = (word(header, 24, 8) as usize, word(header, 32, 8) as usize);
        (named && kind != SHT_NOBITS && flags & SHF_COMPRESSED == 0 && len > 0)
            .then_some((offset, len))
    })
}
