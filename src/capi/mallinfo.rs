//! glibc's heap-statistics functions on gpa's heap: `mallinfo2`, `mallinfo`, `malloc_stats`,
//! `malloc_info`, `malloc_trim` and `mallopt`.
//!
//! # Design
//! A program under `gpa run` allocates from gpa, so glibc's versions of these would describe
//! glibc's arenas, which hold nothing of the program's (all zero, or the figures of the few
//! blocks the loader made before gpa was loaded). Here they report gpa's heap
//! (`GeneralPurposeAllocator::usage`) in glibc's field meanings:
//!
//! | glibc field | meaning in glibc                    | gpa's figure                               |
//! |-------------|-------------------------------------|--------------------------------------------|
//! | `arena`     | bytes of the heap from `sbrk`        | bytes of small-block segments mapped (+ guarded blocks' requested bytes) |
//! | `ordblks`   | free chunks                          | pages with a free slot + runs of free units |
//! | `smblks`, `fsmblks` | fastbin chunks, bytes        | 0 (no fastbins)                            |
//! | `hblks`, `hblkhd` | `mmap`ed chunks, bytes         | large blocks (own mappings), their bytes  |
//! | `usmblks`   | 0 (always, since glibc 2.x)          | 0                                          |
//! | `uordblks`  | bytes in use in the heap             | slot bytes of live small blocks (+ guarded blocks' requested bytes) |
//! | `fordblks`  | free bytes in the heap               | free slots, free units, quarantined slots  |
//! | `keepcost`  | releasable top                       | free units still resident (trimmable)      |
//!
//! As in glibc, large blocks are counted in `hblkhd` only, not in `uordblks` (a program
//! sums the two for its memory in use). In check mode a block's bytes include its front
//! guard and redzone (its slot), as glibc's include the chunk header. A guarded block
//! (`--guard`) counts as the bytes the program asked for, in `uordblks` and `arena` alike:
//! the rest of its data pages and its guard page are the checking's cost, as Valgrind
//! leaves its redzones out of its `mallinfo`. `mallinfo` is
//! `mallinfo2` with every field converted to `int` (glibc 2.33+ does the same, wrapping
//! beyond 2 GiB).
//!
//! * `malloc_stats` prints glibc's lines to the C library's `stderr` stream (arena 0: the segments; "Total (incl.
//!   mmap)": with the large blocks; "max mmap regions/bytes": the current ones, gpa keeps no
//!   maxima).
//! * `malloc_info(0, stream)` writes glibc's XML shape (`<malloc version="1">`, one heap) and
//!   returns 0; any other `options` returns `EINVAL` (not set in `errno`), as glibc does.
//! * `malloc_trim(pad)` gives the calling thread's free page units back to the OS and returns
//!   1 if there were any, else 0 (`pad` is ignored: gpa keeps no top chunk).
//! * `mallopt(param, value)` accepts every parameter without effect (gpa has none of
//!   glibc's knobs: fastbins, trim and `mmap` thresholds, top pad, arenas, perturb bytes),
//!   and returns what glibc 2.36 returns: 0 for `M_MXFAST` outside 0..=160 and for
//!   `M_MMAP_THRESHOLD` above 32 MiB, else 1 (unknown parameters included).
//!
//! Valgrind 3.19 replaces `mallinfo` (its own figures), `malloc_stats` (prints nothing),
//! `malloc_trim` (returns 0) and `mallopt` (returns 1), and leaves `mallinfo2` and
//! `malloc_info` to glibc (zeros, an empty heap).

use core::fmt::Write;

use crate::gpa::{InsideAllocator, Usage};

/// glibc's `struct mallinfo2`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mallinfo2 {
    /// Non-mmapped space allocated (bytes).
    pub arena: usize,
    /// Free chunks.
    pub ordblks: usize,
    /// Free fastbin blocks.
    pub smblks: usize,
    /// Mmapped regions.
    pub hblks: usize,
    /// Bytes in mmapped regions.
    pub hblkhd: usize,
    /// Unused (0).
    pub usmblks: usize,
    /// Bytes in free fastbin blocks.
    pub fsmblks: usize,
    /// Bytes in use (allocated).
    pub uordblks: usize,
    /// Free bytes.
    pub fordblks: usize,
    /// Releasable top bytes.
    pub keepcost: usize,
}

/// glibc's `struct mallinfo` (the same fields as `int`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mallinfo {
    /// See [`Mallinfo2`].
    pub arena: i32,
    /// See [`Mallinfo2`].
    pub ordblks: i32,
    /// See [`Mallinfo2`].
    pub smblks: i32,
    /// See [`Mallinfo2`].
    pub hblks: i32,
    /// See [`Mallinfo2`].
    pub hblkhd: i32,
    /// See [`Mallinfo2`].
    pub usmblks: i32,
    /// See [`Mallinfo2`].
    pub fsmblks: i32,
    /// See [`Mallinfo2`].
    pub uordblks: i32,
    /// See [`Mallinfo2`].
    pub fordblks: i32,
    /// See [`Mallinfo2`].
    pub keepcost: i32,
}

/// glibc's `M_MXFAST`.
const M_MXFAST: i32 = 1;
/// glibc's `M_MMAP_THRESHOLD`.
const M_MMAP_THRESHOLD: i32 = -3;
/// glibc's `MAX_FAST_SIZE` on 64-bit targets (`80 * sizeof(size_t) / 4`).
const MAX_FAST_SIZE: i32 = 160;
/// The largest `M_MMAP_THRESHOLD` glibc accepts on 64-bit targets (`HEAP_MAX_SIZE / 2`).
const MMAP_THRESHOLD_MAX: i32 = 32 << 20;

/// gpa's heap figures as glibc's `mallinfo2` fields (see the module docs).
fn from_usage(usage: &Usage) -> Mallinfo2 {
    Mallinfo2 {
        arena: usage.segment_bytes + usage.guarded_bytes,
        ordblks: usage.free_chunks,
        smblks: 0,
        hblks: usage.large_blocks,
        hblkhd: usage.large_bytes,
        usmblks: 0,
        fsmblks: 0,
        uordblks: usage.small_live_bytes,
        fordblks: usage.free_bytes,
        keepcost: usage.releasable_bytes,
    }
}

/// C `mallinfo2`.
pub fn mallinfo2() -> Mallinfo2 {
    from_usage(&super::gpa().usage())
}

/// C `mallinfo`: [`mallinfo2`] with each field converted to `int`, as glibc converts.
pub fn mallinfo() -> Mallinfo {
    let info = mallinfo2();
    Mallinfo {
        arena: info.arena as i32,
        ordblks: info.ordblks as i32,
        smblks: info.smblks as i32,
        hblks: info.hblks as i32,
        hblkhd: info.hblkhd as i32,
        usmblks: info.usmblks as i32,
        fsmblks: info.fsmblks as i32,
        uordblks: info.uordblks as i32,
        fordblks: info.fordblks as i32,
        keepcost: info.keepcost as i32,
    }
}

/// glibc's `malloc_stats` text for `info`.
fn stats_text(info: &Mallinfo2) -> std::string::String {
    let mut text = std::string::String::new();
    let total_system = info.arena + info.hblkhd;
    let total_used = info.uordblks + info.hblkhd;
    // glibc prints `unsigned int` casts of these (`%10u`), and the mmap bytes as `%10lu`.
    let _ = write!(
        text,
        "Arena 0:\nsystem bytes     = {:>10}\nin use bytes     = {:>10}\nTotal (incl. \
         mmap):\nsystem bytes     = {:>10}\nin use bytes     = {:>10}\nmax mmap regions = \
         {:>10}\nmax mmap bytes   = {:>10}\n",
        info.arena as u32,
        info.uordblks as u32,
        total_system as u32,
        total_used as u32,
        info.hblks as u32,
        info.hblkhd,
    );
    text
}

/// C `malloc_stats`: glibc's lines on the C library's `stderr` stream, with gpa's figures.
/// glibc `fprintf`s to `stderr`, so a program that points `stderr` elsewhere (a file,
/// `/dev/null`; scudo's `wrappers_c_test.cpp` does) or buffers it gets the lines there, in
/// order with its own; descriptor 2 is not written to directly. The text is formatted in the
/// internal heap, copied to the stack, and written after leaving it: a buffer that stdio
/// allocates for the stream is the program's, as under glibc.
pub fn malloc_stats() {
    let info = mallinfo2();
    let mut line = [0u8; STATS_TEXT_MAX + 1];
    {
        let _inside = InsideAllocator::enter();
        let text = stats_text(&info);
        let len = text.len().min(STATS_TEXT_MAX);
        line[..len].copy_from_slice(&text.as_bytes()[..len]);
    }
    // SAFETY: glibc's `stderr` is a valid stream or null (closed by the program); `line` is
    // NUL-terminated (its last byte is never written). Cancellation is disabled around the
    // write and then restored, as glibc marks `stderr` not cancellable while it prints
    // (`_IO_FLAGS2_NOTCANCEL`): a pending cancellation acts at the program's next
    // cancellation point, not inside `malloc_stats` (glibc's tst-malloc-stats-cancellation).
    unsafe {
        if !stderr.is_null() {
            let mut old = 0;
            pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &mut old);
            libc::fputs(line.as_ptr().cast(), stderr);
            pthread_setcancelstate(old, &mut old);
        }
    }
}

/// The most bytes `malloc_stats` prints (its eight lines take about 300).
const STATS_TEXT_MAX: usize = 1023;

/// `PTHREAD_CANCEL_DISABLE` (glibc's value).
const PTHREAD_CANCEL_DISABLE: libc::c_int = 1;

extern "C" {
    static stderr: *mut libc::FILE;
    fn pthread_setcancelstate(state: libc::c_int, old: *mut libc::c_int) -> libc::c_int;
}

/// glibc's `malloc_info` XML for `info`.
fn info_xml(info: &Mallinfo2) -> std::string::String {
    let mut xml = std::string::String::new();
    let system = |xml: &mut std::string::String| {
        let _ = write!(
            xml,
            "<system type=\"current\" size=\"{arena}\"/>\n<system type=\"max\" \
             size=\"{arena}\"/>\n<aspace type=\"total\" size=\"{arena}\"/>\n<aspace \
             type=\"mprotect\" size=\"{arena}\"/>\n",
            arena = info.arena
        );
    };
    let totals = |xml: &mut std::string::String| {
        let _ = write!(
            xml,
            "<total type=\"fast\" count=\"0\" size=\"0\"/>\n<total type=\"rest\" \
             count=\"{}\" size=\"{}\"/>\n",
            info.ordblks, info.fordblks
        );
    };
    xml.push_str("<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n</sizes>\n");
    totals(&mut xml);
    system(&mut xml);
    xml.push_str("</heap>\n");
    totals(&mut xml);
    let _ = writeln!(
        xml,
        "<total type=\"mmap\" count=\"{}\" size=\"{}\"/>",
        info.hblks, info.hblkhd
    );
    system(&mut xml);
    xml.push_str("</malloc>\n");
    xml
}

/// C `malloc_info`: glibc's XML on `stream` (a `FILE *`) for `options == 0`, returning 0;
/// `EINVAL` for any other `options` or a null stream.
///
/// # Safety
/// `stream` is null or a valid `FILE *` open for writing.
pub unsafe fn malloc_info(options: i32, stream: *mut libc::FILE) -> i32 {
    if options != 0 || stream.is_null() {
        return libc::EINVAL;
    }
    let info = mallinfo2();
    let _inside = InsideAllocator::enter();
    let mut xml = info_xml(&info).into_bytes();
    xml.push(0);
    // SAFETY: caller contract: a valid stream; `xml` is NUL-terminated.
    unsafe { libc::fputs(xml.as_ptr().cast(), stream) };
    0
}

/// C `malloc_trim`: 1 if free memory was given back to the OS, else 0 (`pad` ignored).
pub fn malloc_trim(_pad: usize) -> i32 {
    i32::from(super::gpa().trim() != 0)
}

/// C `mallopt`: every parameter accepted without effect; glibc 2.36's return code.
pub fn mallopt(param: i32, value: i32) -> i32 {
    let refused = match param {
        M_MXFAST => !(0..=MAX_FAST_SIZE).contains(&value),
        M_MMAP_THRESHOLD => value as u32 > MMAP_THRESHOLD_MAX as u32,
        _ => false,
    };
    i32::from(!refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mallopt_answers_as_glibc_2_36() {
        assert_eq!(mallopt(M_MXFAST, 64), 1);
        assert_eq!(mallopt(M_MXFAST, 1 << 20), 0);
        assert_eq!(mallopt(M_MXFAST, -1), 0);
        assert_eq!(mallopt(M_MMAP_THRESHOLD, 256 << 10), 1);
        assert_eq!(mallopt(M_MMAP_THRESHOLD, 64 << 20), 0);
        assert_eq!(mallopt(-8, 0), 1); // M_ARENA_MAX
        assert_eq!(mallopt(12345, 1), 1);
    }

    #[test]
    fn the_texts_have_glibcs_shape() {
        let info = Mallinfo2 {
            arena: 4 << 20,
            ordblks: 3,
            hblks: 1,
            hblkhd: 1 << 20,
            uordblks: 1000,
            fordblks: 2000,
            ..Mallinfo2::default()
        };
        let stats = stats_text(&info);
        assert!(stats.starts_with("Arena 0:\nsystem bytes     =    4194304\n"));
        assert!(stats.contains("in use bytes     =       1000\nTotal (incl. mmap):\n"));
        assert!(stats.ends_with("max mmap bytes   =    1048576\n"));
        let xml = info_xml(&info);
        assert!(xml.starts_with("<malloc version=\"1\">\n<heap nr=\"0\">\n"));
        assert!(xml.contains("<total type=\"rest\" count=\"3\" size=\"2000\"/>"));
        assert!(xml.contains("<total type=\"mmap\" count=\"1\" size=\"1048576\"/>"));
        assert!(xml.ends_with("</malloc>\n"));
    }
}
