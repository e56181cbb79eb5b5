//! The threads of this process found without listing `/proc/self/task`: for a process whose
//! seccomp filter kills `getdents64` (Chromium's renderers, systemd's `SystemCallFilter=`),
//! where the exit scan still has to stop every other thread (docs/sweeps/lifecycle.md item
//! 21); and the descriptor of a thread the stop missed ([`descriptor_of`]), whose DTV is
//! then kept as a running thread's.
//!
//! # Design
//! No registry is kept while the program runs (nothing on its allocation paths, no
//! interposed `pthread_create`): the threads are found when they are asked for, in the
//! memory glibc already keeps for each of them.
//! * The calling thread (`gettid`) and the main thread (the process id), when it exists.
//! * Every thread glibc started with a stack it mapped itself: its descriptor (`struct
//!   pthread`) is at the top of that private anonymous mapping, its header recognised as the
//!   exit scan's `unused_dtvs` does, through the same [`DescriptorWindow`] (`tcb` and `self`
//!   both the descriptor's own address, the `dtv` between them). The descriptor's `tid` field, which the
//!   kernel clears when the thread ends (`CLONE_CHILD_CLEARTID`), is read through
//!   `pthread_getcpuclockid`, which computes the thread's CPU clock from it alone (glibc:
//!   `MAKE_THREAD_CPUCLOCK (pd->tid, CPUCLOCK_SCHED)`), applied to a *copy* of the
//!   descriptor: no field offset is assumed, and no memory another thread may unmap is read
//!   in place (the copy is made with `process_vm_readv`). Whether that computation holds is
//!   checked first on the calling thread's own descriptor.
//!
//! Each id found is kept only if `tgkill(pid, tid, 0)` accepts it (a thread of this process
//! now). The list is complete when the number of distinct threads found equals `Threads:`
//! of `/proc/self/status` (read without a directory listing, `os::thread_count`). A thread
//! on a stack of the program's own (`pthread_attr_setstack`), or started by a raw `clone`,
//! has no descriptor there, and then the counts differ: then every id the kernel gave out
//! since the process id is asked with `tgkill` ([`probe_ids`], when there are at most
//! [`MOST_PROBED`] of them: `/proc/sys/kernel/ns_last_pid`), and the count compared again.
//!
//! # Invariants
//! * Allocates nothing and takes no lock (the thread stop lists threads with the
//!   allocator's locks held; the fatal-signal path asks too): fixed buffers on the stack
//!   (about 21 KiB, and pagemap's 4.5 KiB while the top of a mapping is asked),
//!   `/proc/self/maps` streamed through one of them.
//! * Reads no page the program never touched (only the present or swapped-out pages of a
//!   mapping's top: [`DescriptorWindow`]).
//! * Visits each thread at most once, the calling thread first.

/// How far below the end of a thread stack's mapping glibc's thread descriptor may begin:
/// x86-64 places it at the top (`TLS_TCB_AT_TP`), `struct pthread` (2,304 bytes in glibc
/// 2.36) aligned down to the static TLS's alignment.
const DESCRIPTOR_ROOM: usize = 8192;

/// Bytes of zeros kept after the copied window, so that a header found anywhere in the
/// window has a whole `struct pthread` after it in the copy, whatever its size.
const DESCRIPTOR_SLACK: usize = 4096;

/// The most threads told apart; a process with more is not listed (false).
const MOST_THREADS: usize = 1024;

/// Calls `visit` with the id of each thread of this process found without a directory
/// listing (module docs), the calling thread first; true when those are all of them (their
/// number is `Threads:` of `/proc/self/status`).
pub(crate) fn for_each_thread(visit: &mut dyn FnMut(i32)) -> bool {
    let me = crate::os::thread_id() as i32;
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let mut seen = Seen {
        tids: [0; MOST_THREADS],
        len: 0,
        overflowed: false,
    };
    let mut take = |seen: &mut Seen, tid: i32| {
        if tid > 0 && seen.insert(tid) {
            visit(tid);
        }
    };
    take(&mut seen, me);
    if pid != me && alive(pid, pid) {
        take(&mut seen, pid);
    }
    if tid_is_readable() {
        for_each_descriptor(&mut |_, tid| {
            if alive(pid, tid) {
                take(&mut seen, tid);
            }
        });
    }
    if seen.complete() {
        return true;
    }
    // A thread without a descriptor at the top of a mapping (its own stack, a raw clone):
    // every id it may have is asked.
    probe_ids(pid, &mut |tid| take(&mut seen, tid)) && seen.complete()
}

/// The most thread ids [`probe_ids`] asks one by one: about 30 ms of `tgkill`s.
const MOST_PROBED: usize = 1 << 17;

/// Calls `take(tid)` for each id the kernel gave out after the process id in this pid
/// namespace (up to `/proc/sys/kernel/ns_last_pid`, wrapping around at
/// `/proc/sys/kernel/pid_max`) that is a thread of this process now (`tgkill(pid, tid, 0)`:
/// a thread id of another process is refused): every thread of the process but the main
/// one, whatever its stack, a thread created meanwhile aside (the caller's count then
/// differs). False, asking nothing, when either file cannot be read or the range holds more
/// than [`MOST_PROBED`] ids.
fn probe_ids(pid: i32, take: &mut dyn FnMut(i32)) -> bool {
    let (Some(last), Some(max)) = (
        proc_number(b"../sys/kernel/ns_last_pid\0"),
        proc_number(b"../sys/kernel/pid_max\0"),
    ) else {
        return false;
    };
    let ranges = if last >= pid {
        [(pid + 1, last), (1, 0)]
    } else {
        [(pid + 1, max - 1), (1, last)]
    };
    let width: i64 = ranges
        .iter()
        .map(|&(from, to)| (i64::from(to) - i64::from(from) + 1).max(0))
        .sum();
    if width > MOST_PROBED as i64 {
        return false;
    }
    for (from, to) in ranges {
        for tid in from..=to {
            if alive(pid, tid) {
                take(tid);
            }
        }
    }
    true
}

/// The decimal number a file under `/proc` holds (`name` relative to `/proc/self`, ending
/// with a NUL), read into a fixed buffer.
fn proc_number(name: &[u8]) -> Option<i32> {
    let fd = crate::os::open_proc_self(name, libc::O_RDONLY);
    if fd < 0 {
        return None;
    }
    let mut text = [0u8; 32];
    // SAFETY: `read` writes at most `text.len()` bytes into `text`.
    let read = unsafe { libc::read(fd, text.as_mut_ptr().cast(), text.len()) };
    // SAFETY: opened above.
    unsafe { libc::close(fd) };
    let digits = text.get(..usize::try_from(read).ok()?)?;
    let digits = &digits[..digits.iter().take_while(|b| b.is_ascii_digit()).count()];
    core::str::from_utf8(digits).ok()?.parse().ok()
}

/// The thread ids seen so far.
struct Seen {
    tids: [i32; MOST_THREADS],
    len: usize,
    overflowed: bool,
}

impl Seen {
    /// Whether the threads seen are all the process has: their number is `Threads:` of
    /// `/proc/self/status`.
    fn complete(&self) -> bool {
        !self.overflowed && crate::os::thread_count() == Some(self.len)
    }

    /// Adds `tid`; false when it was there already or there is no room.
    fn insert(&mut self, tid: i32) -> bool {
        if self.tids[..self.len].contains(&tid) {
            return false;
        }
        if self.len == MOST_THREADS {
            self.overflowed = true;
            return false;
        }
        self.tids[self.len] = tid;
        self.len += 1;
        true
    }
}

/// Whether `tid` is a thread of process `pid` now (signal 0 checks only that).
fn alive(pid: i32, tid: i32) -> bool {
    // SAFETY: signal 0 sends nothing.
    unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, 0) == 0 }
}

/// The thread id that glibc's descriptor at `descriptor` holds, read by
/// `pthread_getcpuclockid` (module docs); `None` for a thread that has ended (0) or a
/// descriptor that is not one.
///
/// # Safety
/// `descriptor` is readable for a whole `struct pthread` (the caller's copy).
unsafe fn tid_of(descriptor: *const u8) -> Option<i32> {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: caller contract; glibc reads only the descriptor's `tid` field.
    let result = unsafe { libc::pthread_getcpuclockid(descriptor as libc::pthread_t, &mut clock) };
    // `MAKE_THREAD_CPUCLOCK`: `(~tid << 3) | CPUCLOCK_PERTHREAD_MASK | CPUCLOCK_SCHED`.
    (result == 0 && clock & 7 == 6).then_some(!(clock >> 3))
}

/// Whether [`tid_of`] reads the calling thread's own id from its own descriptor: the C
/// library computes a thread's CPU clock from its id as glibc does.
fn tid_is_readable() -> bool {
    // SAFETY: pthread_self is the calling thread's live descriptor.
    let own = unsafe { tid_of(libc::pthread_self() as *const u8) };
    own == Some(crate::os::thread_id() as i32)
}

/// The address of the glibc thread descriptor (the thread pointer) of running thread
/// `tid`, when one is found at the top of a private anonymous writable mapping (a stack
/// glibc mapped).
pub(crate) fn descriptor_of(tid: i32) -> Option<usize> {
    if !tid_is_readable() {
        return None;
    }
    let mut found = None;
    for_each_descriptor(&mut |descriptor, owner| {
        if owner == tid {
            found = Some(descriptor);
        }
    });
    found
}

/// Calls `visit(descriptor, tid)` for each glibc thread descriptor found at the top of a
/// private anonymous writable mapping, with the id of its thread (those of ended threads, 0,
/// left out). False when `/proc/self/maps` cannot be read.
fn for_each_descriptor(visit: &mut dyn FnMut(usize, i32)) -> bool {
    let mut window = DescriptorWindow::new();
    for_each_anonymous_mapping(&mut |start, end| {
        window.descriptors_at_top(start, end, &mut |descriptor, copy| {
            // SAFETY: `copy` holds more than a `struct pthread` (`DescriptorWindow`).
            if let Some(tid) = unsafe { tid_of(copy.as_ptr()) } {
                visit(descriptor, tid);
            }
        });
    })
}

/// A copy of the top [`DESCRIPTOR_ROOM`] bytes of a mapping, followed by
/// [`DESCRIPTOR_SLACK`] zeros: where glibc's thread descriptors are looked for, by this
/// module (their `tid`) and by the exit scan (the DTVs of threads that ended,
/// `capi::scan`). A fixed buffer (12 KiB, on the caller's stack): nothing is allocated.
///
/// Only the pages of the window that are present or swapped out are read (`populated`,
/// this process's pagemap, opened on the first question and closed with the window): the
/// others were never touched, read as zeros and hold no descriptor, and reading them would
/// fault them in. A read of an untouched page maps the shared zero page into the program's
/// mapping (stop 55: the top two pages of every private anonymous mapping of 16 KiB or more
/// showed up present after a listing, which made `populated`'s test of a fresh mapping see a
/// page it had not touched when a listing ran beside it), and in a range the program
/// registered with `userfaultfd` it waits for the program's fault handler, which a stopped
/// world never runs.
pub(crate) struct DescriptorWindow {
    bytes: [u8; DESCRIPTOR_ROOM + DESCRIPTOR_SLACK],
    populated: crate::leakcheck::populated::Populated,
}

impl DescriptorWindow {
    pub(crate) fn new() -> Self {
        DescriptorWindow {
            bytes: [0; DESCRIPTOR_ROOM + DESCRIPTOR_SLACK],
            populated: crate::leakcheck::populated::Populated::new(),
        }
    }

    /// Calls `visit(descriptor, copy)` for each glibc thread descriptor header in the top
    /// [`DESCRIPTOR_ROOM`] bytes of the mapping `start..end` (one at least twice that
    /// long; a private anonymous writable one is where glibc maps a thread's stack and its
    /// descriptor): `tcbhead_t` starts with the descriptor's own address (`tcb`), then the
    /// DTV pointer, then its own address again (`self`). `copy` is the copy from the
    /// descriptor's start on: at least [`DESCRIPTOR_SLACK`] bytes, more than a `struct
    /// pthread`, whatever the offset (zeros past the window). The populated pages of the top
    /// (see the type's notes) are read with `process_vm_readv` (`read_own_memory`), the
    /// others left zero: a thread still ending may unmap its stack meanwhile; a mapping whose
    /// populated pages cannot be read whole is skipped.
    pub(crate) fn descriptors_at_top(
        &mut self,
        start: usize,
        end: usize,
        visit: &mut dyn FnMut(usize, &[u8]),
    ) {
        const WORD: usize = core::mem::size_of::<usize>();
        if end.saturating_sub(start) < 2 * DESCRIPTOR_ROOM {
            return;
        }
        let from = end - DESCRIPTOR_ROOM;
        let top = &mut self.bytes[..DESCRIPTOR_ROOM];
        top.fill(0);
        let (mut any, mut whole) = (false, true);
        self.populated
            .for_each_run(from, end, true, &mut |run_start, run_end| {
                let run = &mut top[run_start - from..run_end - from];
                any = true;
                whole &= crate::leakcheck::maps::read_own_memory(run_start, run)
                    == Some(run_end - run_start);
            });
        if !any || !whole {
            return;
        }
        let bytes = &self.bytes;
        let word = |offset: usize| {
            let mut word = [0u8; WORD];
            word.copy_from_slice(&bytes[offset..offset + WORD]);
            usize::from_ne_bytes(word)
        };
        for offset in (0..DESCRIPTOR_ROOM - 3 * WORD).step_by(WORD) {
            let descriptor = from + offset;
            if word(offset) == descriptor && word(offset + 2 * WORD) == descriptor {
                visit(descriptor, &bytes[offset..]);
            }
        }
    }
}

/// The DTV pointer of a descriptor header `copy` ([`DescriptorWindow::descriptors_at_top`]):
/// its second word.
pub(crate) fn dtv_of(copy: &[u8]) -> usize {
    const WORD: usize = core::mem::size_of::<usize>();
    let mut word = [0u8; WORD];
    word.copy_from_slice(&copy[WORD..2 * WORD]);
    usize::from_ne_bytes(word)
}

/// Calls `visit(start, end)` for each private anonymous readable and writable mapping of
/// `/proc/self/maps` (no path), streamed through a fixed buffer; false when it cannot be
/// opened.
fn for_each_anonymous_mapping(visit: &mut dyn FnMut(usize, usize)) -> bool {
    let fd = crate::os::open_proc_self(b"maps\0", libc::O_RDONLY);
    if fd < 0 {
        return false;
    }
    let mut text = [0u8; 4096];
    let mut kept = 0;
    loop {
        // SAFETY: `read` writes at most the free part of `text`.
        let read = unsafe { libc::read(fd, text[kept..].as_mut_ptr().cast(), text.len() - kept) };
        if read <= 0 {
            if kept != 0 {
                anonymous_mapping(&text[..kept], visit);
            }
            break;
        }
        let filled = kept + read as usize;
        let mut line_start = 0;
        while let Some(newline) = text[line_start..filled].iter().position(|&b| b == b'\n') {
            anonymous_mapping(&text[line_start..line_start + newline], visit);
            line_start += newline + 1;
        }
        if line_start == 0 && filled == text.len() {
            // A line longer than the buffer (a long path): not an anonymous mapping; skip
            // to its end.
            kept = 0;
            continue;
        }
        text.copy_within(line_start..filled, 0);
        kept = filled - line_start;
    }
    // SAFETY: opened above.
    unsafe { libc::close(fd) };
    true
}

/// Calls `visit(start, end)` when `line` of `/proc/self/maps` is a private anonymous mapping
/// that is readable and writable: "start-end rw-p offset dev 0" and no path.
fn anonymous_mapping(line: &[u8], visit: &mut dyn FnMut(usize, usize)) {
    let mut fields = line
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|field| !field.is_empty());
    let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
        return;
    };
    let (_offset, _device, inode) = (fields.next(), fields.next(), fields.next());
    if perms.len() < 4 || &perms[..2] != b"rw" || perms[3] != b'p' || inode != Some(b"0") {
        return;
    }
    if fields.next().is_some() {
        return; // named: a file, `[heap]`, `[stack]`...
    }
    let Some(dash) = range.iter().position(|&b| b == b'-') else {
        return;
    };
    if let (Some(start), Some(end)) = (hex(&range[..dash]), hex(&range[dash + 1..])) {
        if end > start {
            visit(start, end);
        }
    }
}

fn hex(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut value = 0usize;
    for &digit in digits {
        let nibble = (digit as char).to_digit(16)?;
        value = (value << 4) | nibble as usize;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `test` with the id of another thread of this process, which waits meanwhile.
    fn with_waiting_thread(test: impl FnOnce(i32)) {
        let (ready_send, ready) = std::sync::mpsc::channel();
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::spawn(move || {
            ready_send
                .send(crate::os::thread_id() as i32)
                .expect("send");
            let _ = stopped.recv();
        });
        test(ready.recv().expect("the thread's id"));
        drop(stop);
        worker.join().expect("join");
    }

    #[test]
    fn the_threads_of_this_process_are_found_without_a_directory_listing() {
        with_waiting_thread(|other| {
            let mut found = std::vec::Vec::new();
            let _complete = for_each_thread(&mut |tid| found.push(tid));
            assert_eq!(found[0], crate::os::thread_id() as i32);
            assert!(found.contains(&other), "{found:?} lacks {other}");
            // SAFETY: pthread_self only reads the thread pointer.
            let own = unsafe { libc::pthread_self() } as usize;
            // The test harness runs this test on a thread `std` started (a stack glibc
            // mapped).
            assert_eq!(descriptor_of(crate::os::thread_id() as i32), Some(own));
        });
    }

    #[test]
    fn every_thread_id_given_out_since_the_process_id_is_asked() {
        with_waiting_thread(|other| {
            let mut found = std::vec::Vec::new();
            // SAFETY: getpid has no preconditions.
            let pid = unsafe { libc::getpid() };
            if !probe_ids(pid, &mut |tid| found.push(tid)) {
                eprintln!("SKIPPED: /proc/sys/kernel/ns_last_pid unreadable or its range too wide");
                return;
            }
            let me = crate::os::thread_id() as i32;
            assert!(found.contains(&other), "{found:?} lacks {other}");
            // The process id is not asked (the caller takes the main thread on its own).
            assert!(me == pid || found.contains(&me), "{found:?} lacks {me}");
            assert!(!found.contains(&pid), "{found:?}");
        });
    }

    /// Whether the page at `address` is present or swapped out (pagemap bits 63 and 62).
    fn populated_page(address: usize) -> bool {
        use std::io::{Read, Seek, SeekFrom};
        let page = crate::os::page_size();
        let mut pagemap = std::fs::File::open("/proc/self/pagemap").expect("pagemap");
        let mut entry = [0u8; 8];
        pagemap
            .seek(SeekFrom::Start((address / page * 8) as u64))
            .expect("seek");
        pagemap.read_exact(&mut entry).expect("an entry");
        u64::from_ne_bytes(entry) & (3 << 62) != 0
    }

    /// The search for descriptors reads the top of every private anonymous mapping; one that
    /// is untouched there stays untouched (stop 55: the read faulted in the zero page for the
    /// top two pages, and `populated`'s test of a fresh mapping, run beside a listing, found
    /// a page it had not touched). A page that holds data is still read.
    #[test]
    fn untouched_pages_at_the_top_of_a_mapping_stay_unpopulated() {
        let page = crate::os::page_size();
        let pages = 2 * DESCRIPTOR_ROOM / page + 2;
        let memory = crate::os::map(pages * page).expect("a mapping");
        let base = memory.as_ptr() as usize;
        let end = base + pages * page;
        // SAFETY: advice on our own fresh mapping; it changes no contents.
        unsafe { libc::madvise(memory.as_ptr().cast(), pages * page, libc::MADV_NOHUGEPAGE) };
        let mut window = DescriptorWindow::new();
        let mut found = 0;
        window.descriptors_at_top(base, end, &mut |_, _| found += 1);
        assert_eq!(found, 0);
        let top = (end - DESCRIPTOR_ROOM..end).step_by(page);
        assert!(
            top.clone().all(|at| !populated_page(at)),
            "the search populated the untouched top of {base:#x}..{end:#x}"
        );
        // A descriptor header (its own address, a DTV, its own address) on the last page,
        // the page before it untouched: found, and that page left alone.
        let header = end - page + 64;
        // SAFETY: three words inside the last page of our mapping.
        unsafe {
            let words = header as *mut usize;
            words.write(header);
            words.add(1).write(0x1230);
            words.add(2).write(header);
        }
        let mut headers = std::vec::Vec::new();
        window.descriptors_at_top(base, end, &mut |descriptor, copy| {
            headers.push((descriptor, dtv_of(copy)))
        });
        assert_eq!(headers, [(header, 0x1230)]);
        assert!(
            !populated_page(end - 2 * page),
            "the untouched page was read"
        );
        // SAFETY: mapped above, unused now.
        unsafe { crate::os::unmap(memory, pages * page) };
    }

    #[test]
    fn the_maps_lines_of_anonymous_mappings_are_recognised() {
        let mut got = std::vec::Vec::new();
        let mut visit = |start, end| got.push((start, end));
        anonymous_mapping(b"7f00a000-7f00c000 rw-p 00000000 00:00 0 ", &mut visit);
        anonymous_mapping(b"7f00c000-7f00e000 ---p 00000000 00:00 0", &mut visit);
        anonymous_mapping(
            b"7f00e000-7f010000 rw-p 00000000 00:00 0  [heap]",
            &mut visit,
        );
        anonymous_mapping(
            b"7f010000-7f012000 rw-s 00000000 00:05 12 /dev/zero",
            &mut visit,
        );
        anonymous_mapping(
            b"7f012000-7f014000 rw-p 00001000 08:01 77 /lib/libc.so",
            &mut visit,
        );
        assert_eq!(got, [(0x7f00a000, 0x7f00c000)]);
    }
}
