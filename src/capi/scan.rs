//! The leak scan at exit for C programs: which blocks are live, which memory is a root, and
//! the verdict on each block from [`crate::leakcheck`]'s reachability graph.
//!
//! # Design
//! The steps, in the order Valgrind memcheck takes them at exit:
//! 1. **Stop the other threads** ([`world::stop_others`]): each saves its registers and stack
//!    pointer and waits, so its heap may be examined and its stack and registers are roots.
//!    Around the signalling the scan holds the dynamic loader's lock (inside a
//!    `dl_iterate_phdr` callback) and every GPA lock, so no thread stops while holding one the
//!    report needs later. The threads are never resumed: the process is exiting, and
//!    `exit_group` ends them after the report.
//! 2. **Free what the C library keeps until exit** (`__libc_freeres`, and libstdc++'s
//!    `__gnu_cxx::__freeres` where the program started with it, [`note_startup_objects`]),
//!    as Valgrind does before its leak check: glibc's
//!    stdio buffers, locale data, the stacks of exited threads it caches (with their thread
//!    descriptors, TLS and return values). Without this, blocks held only by a finished
//!    thread's cached stack would look reachable. At `exit` the streams no function has
//!    oriented yet (read only with `fread`, say) are made byte-oriented first
//!    ([`orient_unoriented`]): Valgrind's `__libc_freeres` runs after `exit`'s own stdio
//!    cleanup, which orients every stream, so its cleanup frees their buffers; run from gpa's
//!    exit hook, before `exit`'s, it skipped them (`prog_fread_buffer.c`).
//! 3. **Collect the live blocks** of every heap whose thread is this one, gone, or stopped,
//!    in the program's terms (the pointer `malloc` returned and the size asked for).
//! 4. **Roots**: every readable and writable mapping ([`Mapping::is_root`]), shared ones
//!    included, except memory the GPA manages (its blocks are judged, not roots; the
//!    mappings it keeps for reuse, holding freed large blocks' old contents, are returned to
//!    the OS first) and pages
//!    never touched; the stack of each stopped thread only from its stack pointer (less the
//!    128-byte red zone below it, which leaf functions use) up; this thread's stack only from
//!    the frame that called `exit` up (below lie `exit`'s and this scan's own frames, with
//!    stale copies of pointers). The stopped threads' registers are root words.
//! 5. **Judge** with the graph, reading memory only where `/proc/self/maps` (read after the
//!    threads stopped) says it is readable: a page the program protected is skipped.
//!
//! A thread that cannot be stopped (it blocks the signal) keeps running: its heap's blocks
//! are not judged, but its segments' memory is a root (read fault-free: the owner may unmap
//! them meanwhile), its whole stack mapping is a root, glibc's exit-time frees are skipped (the
//! thread may still use that memory), and memory is read with `process_vm_readv` (as it is
//! always, where the system has it), so memory it unmaps meanwhile is skipped, not faulted on.
//! A thread stopped inside glibc, or missed, is let run on and stopped again while threads
//! keep leaving (`stop_threads`: a budget of rounds without progress, capped in time); where
//! glibc's exit-time frees are skipped all the same, the DTVs of thread descriptors no running
//! thread uses are judged freed, as they would have been (`unused_dtvs`).
//!
//! # Invariants
//! * The caller holds the GPA's re-entrancy guard, so this module's own allocations come from
//!   the internal heap (never blocks of the scanned set, never scanned as roots).
//! * Nothing is read outside a readable mapping of the snapshot, and reads go through
//!   `process_vm_readv` where available (a fault-free copy).

use core::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::guard;
use crate::gpa::{Examine, GeneralPurposeAllocator, LiveBlock};
use crate::leakcheck::graph;
use crate::leakcheck::maps::Mapping;
use crate::leakcheck::roots::{self, LiveStack, OwnState, RED_ZONE};
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
use crate::leakcheck::world;
use crate::leakcheck::{self, Graph, Heuristics, Judged, Maps};
use crate::report::LeakKind;

/// The blocks a thread's call into gpa has in flight (check and guard modes), for a scan
/// that stops the thread inside the call: `fresh`, the program's pointer to a block that
/// went live and is not returned yet, held across the freeing of another (`realloc` moving a
/// block) or across a call (`calloc`'s `memset`); `released`, the program's pointer to a block
/// being freed (`free`, `operator delete`, `free_sized`, the old block of a `realloc`),
/// recorded first thing ([`releasing`]). Each entry point that holds one sets it and clears it
/// before it returns, with the block it returns in the return register ([`landed_with`]): a
/// word that is not 0 belongs to the call the thread is in. Under Valgrind the thread is
/// seen before or after the call, holding the block being freed (its argument) or the fresh
/// one (its result): so both are roots of a thread stopped inside gpa ([`program_frame`]),
/// whose frames are otherwise not scanned. One of `gpa::own_thread_locals`: never a root
/// itself.
#[repr(C)]
pub(crate) struct InFlight {
    fresh: core::cell::Cell<usize>,
    released: core::cell::Cell<usize>,
}

// SAFETY: two `Cell<usize>`, valid as zero bytes.
unsafe impl crate::tls::ZeroInit for InFlight {}

// `landed_with` clears the two words at offsets 0 and 8.
const _: () = assert!(core::mem::size_of::<InFlight>() == 16);

crate::tls::fast_thread_local!(
    /// The calling thread's [`InFlight`].
    fn in_flight() -> InFlight;
);

/// The calling thread's [`InFlight`], `(address, bytes)` (one of `gpa::own_thread_locals`).
pub(crate) fn thread_local_extent() -> (usize, usize) {
    crate::tls::extent(in_flight())
}

/// Records the blocks the calling thread's call into gpa holds in flight (see [`InFlight`]),
/// until [`landed`]: `fresh`, `released` (program pointers, or 0).
#[inline]
pub(crate) fn in_flight_now(fresh: *mut u8, released: *mut u8) {
    let record = in_flight();
    record.fresh.set(fresh as usize);
    record.released.set(released as usize);
}

/// Records, as the first thing an entry that frees or resizes does, the program's pointer to
/// the block it releases (`released`; no fresh block yet), while the argument is still in its
/// register: the entry's frames may keep it only in a stack slot while the block is still
/// live (a `realloc` looking the old block up and allocating the new one, a `free` or
/// `operator delete` capturing its trace), and the program may hold it nowhere else (`free(p)`
/// with `p` dead after the call, `p = realloc(p, n)`). Cleared by [`landed`] or
/// [`landed_with`].
#[inline]
pub(crate) fn releasing(released: *mut u8) {
    in_flight_now(core::ptr::null_mut(), released);
}

/// Records `fresh`, the program's pointer to the block an entry that already recorded its
/// released block ([`releasing`]) made live and returns: the released block stays recorded.
#[inline]
pub(crate) fn fresh_now(fresh: *mut u8) {
    in_flight().fresh.set(fresh as usize);
}

/// The calling thread's call into gpa holds no block in flight any more (it is about to
/// return; the result is in a register). For an entry that returns no block: one that
/// returns one clears the record with [`landed_with`].
#[inline]
pub(crate) fn landed() {
    in_flight_now(core::ptr::null_mut(), core::ptr::null_mut());
}

/// [`landed`] for an entry that returns `result` (a block it recorded as fresh): the record
/// is cleared with `result` in `rax`, the register that returns it, so that a scan stopping
/// the thread at any instruction finds the block in the record or in that register. Kept in a
/// stack slot across the calls of the entry's body (the memory copy and the free of a moving
/// `realloc`), the pointer was loaded from there into `rax` only after `landed` cleared the
/// record: a thread stopped on that one instruction held the fresh block nowhere the scan
/// reads, and once in about 160 exits of 16 threads churning `realloc` it was "definitely
/// lost" (`exit_scan_churn.c realloc`; `exit_scan_stepped.c realloc` parks a thread on each
/// instruction of the call). The entry's last expression, so that nothing comes between but
/// its epilogue, which restores other registers.
#[inline(always)]
pub(crate) fn landed_with(result: *mut u8) -> *mut u8 {
    #[cfg(target_arch = "x86_64")]
    {
        let record = in_flight() as *const InFlight;
        let mut result = result;
        // SAFETY: `record` is the calling thread's `InFlight` (two `usize` cells, `repr(C)`),
        // which only this thread writes; the block writes its two words (no stack use, flags
        // kept) and leaves `result` unchanged in `rax`.
        unsafe {
            core::arch::asm!(
                "mov qword ptr [{record}], 0",
                "mov qword ptr [{record} + 8], 0",
                record = in(reg) record,
                inout("rax") result,
                options(nostack, preserves_flags),
            );
        }
        result
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        landed();
        result
    }
}

/// The [`InFlight`] words of the thread whose thread pointer is `thread_pointer`: its copy
/// lies at the same offset from its thread pointer as the calling thread's (initial-exec
/// TLS). Read with `process_vm_readv`; zeros where it cannot be read.
fn in_flight_of(thread_pointer: usize) -> [usize; 2] {
    // SAFETY: pthread_self only reads the thread pointer.
    let me = unsafe { libc::pthread_self() } as usize;
    let (address, _) = thread_local_extent();
    let theirs = address.wrapping_sub(me).wrapping_add(thread_pointer);
    let mut words = [0u8; 16];
    if leakcheck::maps::read_own_memory(theirs, &mut words) != Some(16) {
        return [0, 0];
    }
    let word = |at: usize| usize::from_ne_bytes(words[at..at + 8].try_into().unwrap_or([0; 8]));
    [word(0), word(8)]
}

/// The frames of an allocation trace [`allocated_for_gobject`] looks at.
const GOBJECT_FRAMES: usize = 8;

/// For [`leakcheck::graph::Heuristic::GObject`]: whether `block` was allocated by GLib's allocator
/// called from libgobject: its allocation trace, past the frames in gpa's own file (inode
/// `gpa_file`), has one or more return addresses in `libglib-2.0` (`g_malloc0`,
/// `g_slice_alloc0`...) and then one in `libgobject-2.0`. The libraries are told by their
/// file names in `/proc/self/maps`, so no symbol is needed (Debian's libgobject has none for
/// its static functions). A block without a trace (fast mode) is not.
fn allocated_for_gobject(maps: &Maps, gpa_file: u64, block: &LiveBlock) -> bool {
    let frames = crate::trace::frames_of(block.alloc_trace);
    let mut in_glib = false;
    for &address in frames.addresses().iter().take(GOBJECT_FRAMES) {
        // A return address: the call lies just before it.
        let Some(mapping) = maps.find(address.wrapping_sub(1)) else {
            return false;
        };
        if file_name(mapping).starts_with("libglib-2.0.so") {
            in_glib = true;
        } else if is_gobject_mapping(mapping) {
            return in_glib;
        } else if in_glib || mapping.inode != gpa_file || gpa_file == 0 {
            return false;
        }
    }
    false
}

/// The file name of `mapping`'s path (empty for anonymous memory).
fn file_name(mapping: &Mapping) -> &str {
    mapping.path.rsplit('/').next().unwrap_or("")
}

/// Whether `mapping` maps GLib's libgobject.
fn is_gobject_mapping(mapping: &Mapping) -> bool {
    file_name(mapping).starts_with("libgobject-2.0.so")
}

/// How the scan runs.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Stop the other threads and examine their heaps (off in a crash report: the crashing
    /// thread may hold a lock).
    pub stop_threads: bool,
    /// Call the C library's `__libc_freeres` first (off in a crash report: the process state
    /// is suspect).
    pub run_freeres: bool,
    /// Before that, discard what the program's stdio streams hold unwritten, as `_exit` and
    /// `quick_exit` do: `__libc_freeres` flushes the streams, which only `exit` may.
    pub discard_stdio: bool,
    /// Memcheck's interior-pointer heuristics.
    pub heuristics: Heuristics,
    /// `GPA_WHO_POINTS_AT`: list on stderr every word pointing into this range (address,
    /// length), in roots and in judged blocks, with the verdicts (see [`who_points_at`]).
    pub who_points_at: Option<(usize, usize)>,
    /// The order of clique leaders ([`Graph::leaders_in`]): what stands for the allocation
    /// order, which memcheck's address order follows.
    pub leaders: leakcheck::LeaderOrder,
}

/// The result of a scan.
#[derive(Debug, Default)]
pub struct Scan {
    /// Every live block in the program's terms, with its loss kind, by address.
    pub judged: std::vec::Vec<Judged>,
    /// The same blocks as the GPA knows them (base address, padded size), for guard checks.
    pub gpa_blocks: std::vec::Vec<LiveBlock>,
    /// Threads stopped and examined.
    pub stopped_threads: usize,
    /// Threads that could not be stopped and own a heap (not examined).
    pub missed_threads: usize,
    /// Some thread could not be stopped (owning a heap or not): it may free blocks of
    /// `gpa_blocks`, and unmap large ones, while the report is made.
    pub threads_run_on: bool,
}

/// Where the live part of a stopped thread's stack begins: 128 bytes below its stack pointer
/// (the red zone, which a leaf function may be using), or at the stack pointer itself when the
/// thread was stopped at a system call (`ip` at or just after a `syscall` instruction): a
/// thread blocked in the kernel at exit (`futex`, `pause`, `read`...) keeps nothing live
/// below its stack pointer, and what lies there is stale, left by frames that returned.
/// Valgrind does not count such words either: memcheck marks the stack below the stack
/// pointer undefined each time it grows over it, and its leak scan skips undefined words.
fn live_from(stack_pointer: usize, ip: Option<usize>) -> usize {
    let at_system_call = ip.is_some_and(|ip| {
        let (at, after) = syscall_position(ip);
        at || after
    });
    if at_system_call {
        stack_pointer
    } else {
        stack_pointer.saturating_sub(RED_ZONE)
    }
}

/// Whether `ip` is at a `syscall` instruction (0f 05) and whether it is just after one. A
/// thread interrupted in a system call the kernel will restart is stopped at the instruction;
/// in one that returns -EINTR, just after it. Read with `process_vm_readv`: the bytes before
/// `ip` may be on a page that is not mapped.
fn syscall_position(ip: usize) -> (bool, bool) {
    const SYSCALL: [u8; 2] = [0x0f, 0x05];
    let mut code = [0u8; 2];
    let after = leakcheck::maps::read_own_memory(ip.wrapping_sub(2), &mut code) == Some(2)
        && code == SYSCALL;
    let at = leakcheck::maps::read_own_memory(ip, &mut code) == Some(2) && code == SYSCALL;
    (at, after)
}

/// The instruction pointer among a stopped thread's saved registers (x86-64 Linux).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn instruction_pointer(registers: &[usize]) -> Option<usize> {
    registers.get(libc::REG_RIP as usize).copied()
}

/// No saved instruction pointer on other platforms.
#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn instruction_pointer(_registers: &[usize]) -> Option<usize> {
    None
}

/// How long to wait for a thread to answer the stop signal.
const STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// Scans the process (see the module docs). `this_thread` is the calling thread's stacks and
/// where their live parts begin ([`LiveStack::this_thread_all`], found before the scan may
/// move to another stack: `os::signal::with_stack_room`).
pub fn scan(gpa: &GeneralPurposeAllocator, this_thread: &[LiveStack], options: Options) -> Scan {
    let freeres = if options.run_freeres {
        freeres_functions()
    } else {
        [None, None]
    };
    let streams = if options.run_freeres {
        stdio_streams()
    } else {
        None
    };
    let settle = freeres.iter().any(Option::is_some);
    let threads = stop_threads(gpa, options.stop_threads, settle);
    // glibc frees its own structures without locks, as if no other thread ran: not while a
    // thread that could not be stopped may use them, or one was stopped in the middle of
    // glibc's own code (it may have been updating them; the stop's last round found out).
    if threads.missed.is_empty() && !threads.busy {
        if let Some(streams) = streams {
            if options.discard_stdio {
                discard_unwritten(streams);
            } else {
                orient_unoriented(streams.0);
            }
        }
        for function in freeres.into_iter().flatten() {
            function();
        }
    }
    gpa.flush_thread_quarantine();
    let me = crate::os::thread_id();
    let stopped: std::vec::Vec<u64> = threads.stopped.iter().map(|t| t.tid as u64).collect();
    let mut gpa_blocks = std::vec::Vec::new();
    let owners = core::cell::RefCell::new(std::vec::Vec::new());
    // Redzones are checked on the way, but not in pages the program protected
    // (`leak_protected_block.c`).
    let before = Maps::read();
    let readable = |start: usize, length: usize| readable(&before, start, length);
    // Heaps of threads that no longer exist: in the child of a `fork` made while other threads
    // ran, they are the parent's other threads', whose blocks may be half set up (a canary not
    // yet written would look like an overflow): their blocks are judged for leaks, as
    // Valgrind judges every block the child inherited, but their redzones are not checked
    // (before, they were left out, and a child that leaked a block another thread of the
    // parent had allocated was "all heap blocks were freed":
    // `sweep3_fork_other_thread_stack.c`). Otherwise such a heap is
    // one a thread took after its exit hook had handed its heaps back: the `free`s glibc makes
    // in an exiting detached thread after its key destructors have run adopt an abandoned
    // heap, and the thread ends owning it. That thread has ended, so nothing is half done in
    // the heap, and skipping it hid every block in it from the leak check
    // (`detached_results.c`: "all heap blocks were freed" over 16 threads' leaked results).
    let dead_owners = if super::process::forked_from_threads() {
        Examine::WithoutRedzones
    } else {
        Examine::Yes
    };
    // SAFETY: the included heaps are this thread's, abandoned ones, those of threads stopped in
    // their signal handler (never resumed), and those of threads that have ended or, in a
    // threaded `fork`'s child, do not exist here (see above): none of them runs meanwhile.
    unsafe {
        gpa.for_each_live_block_of(
            |owner| {
                owners.borrow_mut().push(owner);
                if owner == me || owner == 0 || stopped.contains(&owner) {
                    Examine::Yes
                } else if !thread_exists(owner) {
                    dead_owners
                } else {
                    Examine::No
                }
            },
            &readable,
            |block| gpa_blocks.push(*block),
        );
    }
    // The blocks other threads freed that their heaps still hold (a quarantine, a remote
    // list; the walk above checked the freed slots): a write into one was lost at exit
    // (`exec_other_threads_freed.c` with "exit"). Not in the heaps of threads stopped inside
    // gpa, which may be halfway through putting a block there.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        let inside = stopped_inside_gpa(&threads.stopped, &before);
        // SAFETY: as for the walk above, less the heaps of threads stopped inside gpa.
        unsafe {
            gpa.check_held_blocks_of(
                |owner| {
                    !inside.contains(&owner)
                        && (owner == me
                            || owner == 0
                            || stopped.contains(&owner)
                            || !thread_exists(owner))
                },
                &readable,
            );
        }
    }
    // Threads that could not be stopped and own a heap (a thread past its exit hooks owns
    // none: its heap was handed back and is examined).
    let owners = owners.into_inner();
    let unexamined_owners: std::vec::Vec<u64> = threads
        .missed
        .iter()
        .map(|&tid| tid as u64)
        .filter(|&tid| owners.contains(&tid) && thread_exists(tid))
        .collect();
    let unexamined = unexamined_owners.len();
    // Their heaps' blocks are not judged (the owner may change the metadata under the walk),
    // but the memory of their segments is scanned as a root: a block of another heap held
    // only by one of theirs (`exit_heap_missed.c`: main's payload stored in the running
    // thread's block) was "definitely lost", where Valgrind, which judges every thread's
    // blocks, has it still reachable (lifecycle.md item 27).
    let mut unexamined_segments = std::vec::Vec::new();
    if !unexamined_owners.is_empty() {
        let read_word = |address: usize| {
            let mut word = [0u8; core::mem::size_of::<usize>()];
            match leakcheck::maps::read_own_memory(address, &mut word) {
                Some(copied) if copied == word.len() => Some(usize::from_ne_bytes(word)),
                Some(_) => None,
                // No `process_vm_readv`: nothing of a running thread's heap is read.
                None => None,
            }
        };
        gpa.segments_of_running(
            |owner| unexamined_owners.contains(&owner),
            &read_word,
            |start, end| unexamined_segments.push((start, end)),
        );
    }
    let user_blocks: std::vec::Vec<LiveBlock> = gpa_blocks
        .iter()
        .map(|&block| guard::block_to_user(gpa, block))
        .collect();
    // With a thread running on, each block's GPA and program addresses, to drop at the end
    // the blocks it freed while the scan read the roots (below).
    let addresses: std::vec::Vec<(usize, usize)> = if threads.missed.is_empty() {
        std::vec::Vec::new()
    } else {
        gpa_blocks
            .iter()
            .zip(&user_blocks)
            .map(|(block, user)| (block.address, user.address))
            .collect()
    };
    // A thread stopped inside `malloc` right after its block went live may hold only the
    // GPA block's start, its front guard (`guard::alloc_at` adds the pad on return): such a
    // register value stands for the program's pointer it is about to become. (Never a
    // pointer the program holds: the previous slot's block ends at least its redzone
    // before this start.) Without it, about one exit in 200 of 16 threads churning
    // `malloc` reported the block in flight as definitely lost (`exit_scan_churn.c`).
    let mut guarded_starts: std::vec::Vec<(usize, usize)> = gpa_blocks
        .iter()
        .zip(&user_blocks)
        .filter(|(block, user)| user.address != block.address)
        .map(|(block, user)| (block.address, user.address))
        .collect();
    guarded_starts.sort_unstable();
    // The mappings gpa keeps for reuse hold freed blocks' old contents: no roots.
    gpa.release_reusable_large();
    let mut maps = Maps::read();
    if every_other_thread_stopped(me, &threads) {
        maps = maps.with_every_other_thread_stopped();
    }
    // glibc's exit-time frees did not run (a thread was still in glibc's code when the stop
    // gave up): the DTVs of the thread descriptors no running thread uses (stacks glibc
    // caches for threads that ended, and those of threads still ending) are judged freed, as
    // `__libc_freeres` and the ending threads would have freed them. A thread the stop
    // missed that is not in glibc's thread-exit code (`missed_running`: one that runs on
    // with every signal blocked, `leak_thread_blocked_raw.c`, or one that did not answer in
    // time) keeps its DTV, which Valgrind reports "possibly lost" as any running thread's.
    // Not at all when a missed thread owns a heap and is not ending: it runs on, with a mask
    // that may look like glibc's own (a raw `rt_sigprocmask` of every signal). A thread is
    // ending when it has been through gpa's thread-exit hook, or has glibc's thread-exit
    // mask (`world::in_glibc_thread_exit`): it took over a heap with glibc's `free`s after
    // the key destructors (`__nptl_free_stacks` freeing the DTVs of stacks the cache no
    // longer keeps), where a thread that never allocated before has no hook to run. Such a
    // thread kept every cached stack's DTV "possibly lost" (lifecycle.md items 24 and 29).
    let running_owners = threads
        .missed
        .iter()
        .filter(|&&tid| {
            owners.contains(&(tid as u64))
                && thread_exists(tid as u64)
                && !crate::gpa::exit_hook_ran(tid as u64)
                && !world::in_glibc_thread_exit(tid)
        })
        .count();
    let mut user_blocks = user_blocks;
    if settle && (!threads.missed.is_empty() || threads.busy) && running_owners == 0 {
        let mut running = thread_pointers_running(&threads);
        running.extend(missed_running(&threads));
        running.sort_unstable();
        let mut dtvs = unused_dtvs(&maps, &running);
        dtvs.sort_unstable();
        if !dtvs.is_empty() {
            user_blocks.retain(|block| dtvs.binary_search(&block.address).is_err());
        }
    }
    // Nor did glibc free its streams' buffers, which Valgrind's `__libc_freeres` frees
    // whatever the other threads were doing (it runs once they are gone): those buffers are
    // judged freed, as they would have been (`exit_threads_busy.c printf`: a thread in
    // `printf` at exit kept stdout's 4,096-byte buffer "still reachable").
    if settle && (!threads.missed.is_empty() || threads.busy) {
        if let Some((list, _)) = streams {
            let mut buffers = buffers_freeres_frees(list, !options.discard_stdio);
            buffers.sort_unstable();
            user_blocks.retain(|block| buffers.binary_search(&block.address).is_err());
        }
        // And the loader's `_dl_find_object` segments, which they free too.
        let mut by_address = user_blocks.clone();
        by_address.sort_unstable_by_key(|block| block.address);
        let mut segments = loader_segments_freeres_frees(&maps, &by_address);
        segments.sort_unstable();
        user_blocks.retain(|block| segments.binary_search(&block.address).is_err());
    }
    let gpa_file = maps
        .find(allocated_for_gobject as fn(&Maps, u64, &LiveBlock) -> bool as usize)
        .map_or(0, |mapping| mapping.inode);
    let gobject = |block: &LiveBlock| allocated_for_gobject(&maps, gpa_file, block);
    let mut graph = Graph::new(user_blocks, &maps, options.heuristics);
    graph.leaders_in(options.leaders);
    // Only where libgobject is mapped: elsewhere the heuristic's reads would find nothing.
    if maps.mappings().iter().any(is_gobject_mapping) {
        graph.gobject_blocks(&gobject);
    }
    if let Some((start, len)) = options.who_points_at {
        graph.watch(start, len);
    }
    // A thread stopped inside gpa is judged from the program's frame that called it, as if
    // the call were one step (`program_frame`).
    let entered: std::vec::Vec<Option<ProgramFrame>> = threads
        .stopped
        .iter()
        .map(|thread| program_frame(thread, &maps))
        .collect();
    let mut stacks: std::vec::Vec<LiveStack> = threads
        .stopped
        .iter()
        .zip(&entered)
        .map(|(thread, entered)| LiveStack {
            stack_pointer: thread.stack_pointer,
            live_from: match entered {
                Some(frame) => frame.stack_pointer,
                None => live_from(thread.stack_pointer, instruction_pointer(&thread.registers)),
            },
            ..LiveStack::default()
        })
        .collect();
    // This thread: from the frame that called `exit` (or not at all), and the stack a signal
    // interrupted when that frame is on an alternate stack.
    stacks.extend_from_slice(this_thread);
    stacks.extend(ended_main_stack());
    // The library's thread-locals, in this thread and in each stopped one.
    let thread_pointers: std::vec::Vec<usize> = threads
        .stopped
        .iter()
        .map(|thread| thread.thread_pointer)
        .collect();
    let own = OwnState::new(&crate::gpa::own_thread_locals(), &thread_pointers)
        .with_trace_caches()
        .with_trace_store()
        .with_allocator_metadata()
        .with_own_signal_stacks(&stacks);
    roots::scan_mappings(
        &mut graph,
        &maps,
        &stacks,
        &GeneralPurposeAllocator::manages,
        &own,
    );
    for &(start, end) in &unexamined_segments {
        maps.for_each_populated_run(start, end, &mut |from, to| {
            graph.scan_root_range(from, to);
        });
    }
    let as_program_pointer = |word: usize| {
        guarded_starts
            .binary_search_by_key(&word, |&(base, _)| base)
            .ok()
            .map(|at| guarded_starts[at].1)
    };
    for (thread, entered) in threads.stopped.iter().zip(&entered) {
        // The registers of the interrupted instruction, and of a thread stopped inside gpa
        // those its frames (and the C library's frames gpa called) saved on the way: live
        // values, whose slots the call-frame information says were written, never a stale
        // word of a frame that returned.
        let saved = entered
            .as_ref()
            .map_or(&[][..], |frame| &frame.registers[..]);
        // And the blocks its call holds in flight (`InFlight`): a thread outside gpa has
        // none recorded.
        let in_flight = if entered.is_some() || in_gpa(instruction_pointer(&thread.registers)) {
            in_flight_of(thread.thread_pointer)
        } else {
            [0, 0]
        };
        for &register in thread.registers.iter().chain(saved).chain(&in_flight) {
            graph.add_root_word(register);
            if let Some(pointer) = as_program_pointer(register) {
                graph.add_root_word(pointer);
            }
        }
    }
    // Where a thread stopped inside gpa could not be unwound to the program's frame, its
    // whole stack from the stack pointer is scanned, gpa's frames too, and in them a word
    // that is a live block's GPA start stands for the program's pointer to it: a thread
    // stopped inside `realloc` after the fresh block went live, while it frees the old one,
    // may keep the fresh block by its GPA start in its frame until it returns the program's
    // pointer (46 of 50 exits of 16 threads churning `realloc` reported a moved block in
    // flight as definitely lost, `exit_scan_churn.c realloc`; Valgrind: nothing).
    if !guarded_starts.is_empty() {
        for ((stack, thread), entered) in stacks.iter().zip(&threads.stopped).zip(&entered) {
            if entered.is_some() || !in_gpa(instruction_pointer(&thread.registers)) {
                continue;
            }
            for_each_stack_word(&maps, stack, &mut |word| {
                if let Some(pointer) = as_program_pointer(word) {
                    graph.add_root_word(pointer);
                }
            });
        }
    }
    graph.watch_blocks();
    let hits = graph.take_watch_hits();
    let mut judged = graph.finish();
    // A thread the stop missed may have freed blocks (large ones of its own, blocks of other
    // heaps) after they were collected and before its stack, read later, no longer pointed
    // to them: such a block is not in use at exit, and was judged "definitely lost"
    // (`exit_heap_missed.c churn`: 2 runs of 40, its replaced 64 KiB+ blocks). Such a block
    // judged lost is dropped; one judged still reachable is kept, as it was when collected:
    // a block the thread replaced meanwhile (a `realloc` of the loader's arrays by a thread
    // inside `dlopen`) stands for its successor, allocated after the collection and not in
    // the report (dropping it lost a 312-byte still-reachable block of
    // `exit_threads_busy.c`'s dlopen loop, which Valgrind counts).
    if !addresses.is_empty() {
        let mut gone: std::vec::Vec<usize> = addresses
            .iter()
            .filter(|&&(block, _)| gpa.block_layout(block as *const u8).is_none())
            .map(|&(_, user)| user)
            .collect();
        gone.sort_unstable();
        if !gone.is_empty() {
            judged.retain(|judged| {
                judged.kind == LeakKind::Reachable
                    || gone.binary_search(&judged.block.address).is_err()
            });
        }
    }
    if let Some(range) = options.who_points_at {
        who_points_at(range, &hits, &judged, &maps);
    }
    Scan {
        judged,
        gpa_blocks,
        stopped_threads: threads.stopped.len(),
        missed_threads: unexamined,
        threads_run_on: !threads.missed.is_empty(),
    }
}

/// Writes `GPA_WHO_POINTS_AT`'s list to stderr: each word found pointing into `range`, where
/// it lies (a root, with its mapping's name, a register, or a block with its verdict) and the
/// block it points into with that block's verdict. Memcheck's `who_points_at` (from `vgdb`)
/// for the same exit, for telling why a block got its loss kind.
fn who_points_at(range: (usize, usize), hits: &[graph::WatchHit], judged: &[Judged], maps: &Maps) {
    use core::fmt::Write as _;
    let block_of = |address: usize| {
        let after = judged.partition_point(|j| j.block.address <= address);
        let found = judged.get(after.checked_sub(1)?)?;
        (address < found.block.address + found.block.size.max(1)).then_some(found)
    };
    let describe = |text: &mut std::string::String, address: usize| match block_of(address) {
        Some(j) => {
            let _ = write!(
                text,
                "+{} in block {:#x} of {} bytes ({})",
                address - j.block.address,
                j.block.address,
                j.block.size,
                j.kind.as_str()
            );
        }
        None => text.push_str("outside every live block"),
    };
    let mut text = std::string::String::new();
    let _ = writeln!(
        text,
        "gpa: who points at {:#x} ({} bytes): {} word(s)",
        range.0,
        range.1,
        hits.len()
    );
    for hit in hits {
        text.push_str("gpa:   ");
        match hit.holder {
            graph::Holder::Register => text.push_str("a register"),
            graph::Holder::Root => {
                let name = maps
                    .mappings()
                    .iter()
                    .find(|m| (m.start..m.end).contains(&hit.at))
                    .map_or("?", |m| {
                        if m.path.is_empty() {
                            "anonymous"
                        } else {
                            &m.path
                        }
                    });
                let _ = write!(text, "{:#x} in a root ({name})", hit.at);
            }
            graph::Holder::Block(_) => {
                let _ = write!(text, "{:#x} ", hit.at);
                describe(&mut text, hit.at);
            }
        }
        let _ = write!(text, " -> {:#x}, ", hit.value);
        describe(&mut text, hit.value);
        text.push('\n');
    }
    crate::os::write_stderr(text.as_bytes());
}

/// Where the program's part of a stopped thread's stack begins when the thread was stopped
/// inside gpa, and the register values gpa's frames hold for it.
#[derive(Debug)]
struct ProgramFrame {
    /// The stack pointer of the program's frame that called gpa, as it will be when the call
    /// returns (the canonical frame address of gpa's outermost frame): the program's stack is
    /// live from there up. No red zone: a function that calls keeps nothing below its stack
    /// pointer across the call.
    stack_pointer: usize,
    /// The callee-saved registers of the program's frame as they were at the call, and those
    /// of each frame between (gpa's, and the C library's it called), recovered from where
    /// each frame saved them.
    registers: std::vec::Vec<usize>,
}

/// The first frame of an unwinding from a thread's registers in `gregs` order (a
/// `ucontext_t`'s, as a stop or a signal context holds them): the instruction pointer at
/// `REG_RIP`, the general registers by DWARF number. `None` without an instruction pointer.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn first_frame(gregs: &[usize]) -> Option<crate::trace::unwind::FrameRegisters> {
    /// `gregs` indices of the general registers, by DWARF number (0 to 15).
    const BY_NUMBER: [libc::c_int; 16] = [
        libc::REG_RAX,
        libc::REG_RDX,
        libc::REG_RCX,
        libc::REG_RBX,
        libc::REG_RSI,
        libc::REG_RDI,
        libc::REG_RBP,
        libc::REG_RSP,
        libc::REG_R8,
        libc::REG_R9,
        libc::REG_R10,
        libc::REG_R11,
        libc::REG_R12,
        libc::REG_R13,
        libc::REG_R14,
        libc::REG_R15,
    ];
    let register = |index: libc::c_int| gregs.get(index as usize).copied();
    Some(crate::trace::unwind::FrameRegisters {
        ip: register(libc::REG_RIP)?,
        returned: false,
        registers: BY_NUMBER.map(register),
    })
}

/// The aligned word of this process's memory at `address`, read only where it lies in
/// `[low, high)` (the stack an unwinding may read) and is readable.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn stack_word(address: usize, low: usize, high: usize) -> Option<usize> {
    if address < low || address.checked_add(8)? > high || address % 8 != 0 {
        return None;
    }
    let mut word = [0u8; 8];
    (leakcheck::maps::read_own_memory(address, &mut word) == Some(8))
        .then(|| usize::from_ne_bytes(word))
}

/// How many frames [`program_frame`] unwinds at most: gpa's, and the C library's frames gpa
/// called (a system call, `memcpy`), before the program's.
const GPA_FRAMES: usize = 64;

/// The object holding gpa's own code (this library), found once per call.
fn own_code() -> Option<core::ops::Range<usize>> {
    crate::os::object_containing(own_code as *const () as usize)
        .map(|object| object.start..object.end)
}

/// Whether `ip` lies in gpa's own code.
fn in_gpa(ip: Option<usize>) -> bool {
    ip.zip(own_code())
        .is_some_and(|(ip, own)| own.contains(&ip))
}

/// A stopped thread's program frame when the thread was stopped inside gpa (its `malloc`,
/// `free`, a checked string call, or the C library's code gpa called there), found by
/// unwinding from the stop's registers with the call-frame information, every register
/// rule followed ([`unwind::step_registers`](crate::trace::unwind::step_registers)).
/// `None` for a thread stopped in the program's own code (or the C library called by the
/// program), or where the unwinding fails: its stack is then scanned from its stack pointer.
///
/// Under Valgrind a `malloc`, `free` or `realloc` is one step of the thread: the allocator
/// runs on Valgrind's own stack, never scanned, and its leak check sees the thread before
/// the call or after it. gpa's frames lie on the program's stack, and their slots that the
/// call has not written (yet) hold whatever an earlier call at that depth left: a copy of a
/// pointer the program has since dropped kept such a block "still reachable" where Valgrind
/// says definitely lost (`frames_stale.c`, `sig_stress.c`). So the stack is scanned from
/// the program's frame up, and of gpa's frames only the registers they saved are taken;
/// a block in flight (the fresh block of a `malloc` not yet returned, a block being freed)
/// is then held by those registers or the interrupted ones, as by the program's registers
/// around a call under Valgrind.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn program_frame(thread: &world::StoppedThread, maps: &Maps) -> Option<ProgramFrame> {
    use crate::trace::unwind::{step_registers, CALLEE_SAVED};
    let own = own_code()?;
    let system = |ip: usize| {
        maps.find(ip).is_some_and(|mapping| {
            let name = mapping.path.rsplit('/').next().unwrap_or("");
            mapping.execute
                && (name.starts_with("libc.so") || name.starts_with("ld-linux") || name == "[vdso]")
        })
    };
    let saved = &thread.registers;
    let mut frame = first_frame(saved)?;
    // The stack the unwinding may read: the mapping holding the stack pointer.
    let stack = maps
        .find(thread.stack_pointer)
        .filter(|mapping| mapping.read)?;
    let (low, high) = (stack.start, stack.end);
    let read = |address: usize| stack_word(address, low, high);
    let mut registers = std::vec::Vec::new();
    let mut inside = false;
    for _ in 0..GPA_FRAMES {
        if own.contains(&frame.ip) {
            inside = true;
        } else if !system(frame.ip) || inside {
            // The first frame outside gpa above gpa's frames is the program's; a thread
            // stopped outside gpa, below any frame of it, is in the program's code.
            return inside.then(|| {
                registers.extend(CALLEE_SAVED.iter().filter_map(|&n| frame.registers[n]));
                ProgramFrame {
                    stack_pointer: frame.registers[7].unwrap_or(thread.stack_pointer),
                    registers,
                }
            });
        }
        let caller = step_registers(&frame, &read)?;
        // The stack grows down: each caller's frame lies above its callee's, on the same stack.
        let (Some(sp), Some(caller_sp)) = (frame.registers[7], caller.registers[7]) else {
            return None;
        };
        if caller_sp <= sp || caller_sp > high {
            return None;
        }
        registers.extend(CALLEE_SAVED.iter().filter_map(|&n| frame.registers[n]));
        frame = caller;
    }
    None
}

/// Where a thread's live frames begin when a fatal signal arrived inside the C library's code
/// the program called (`abort`, `raise`, `kill`, `pthread_kill`: the signal arrives at their
/// system call), and the callee-saved registers the library's frames hold for the program:
/// the stack pointer of the first frame outside the C library, as it will be when the call
/// returns, and the callee-saved registers of each frame up to it, that frame's included
/// (the others are dead across the program's call), unwound from `gregs` (the signal
/// context's general registers, in `gregs` order, the instruction pointer at `REG_RIP`) with
/// the call-frame information. `None` when the signal arrived in the program's own code (its
/// stack is live from the stack pointer less the red zone), or where the unwinding fails.
///
/// The library's frames lie where the program's last calls left their frames, and their
/// slots that the library did not write hold stale copies of pointers the program has
/// dropped. Valgrind, knowing those slots unwritten, ignores them: scanned, a block the
/// program lost before `raise(SIGTERM)` was still reachable in some runs and not in others,
/// by where address-space randomization put the stack (`sig_stale_frames.c`).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub fn library_caller_frame(gregs: &[usize]) -> Option<(usize, std::vec::Vec<usize>)> {
    use crate::trace::unwind::{step_registers, CALLEE_SAVED};
    let library = crate::os::object_containing(libc::abort as *const () as usize)?;
    let in_library = |ip: usize| (library.start..library.end).contains(&ip);
    let register = |index: libc::c_int| gregs.get(index as usize).copied();
    let ip = register(libc::REG_RIP)?;
    let sp = register(libc::REG_RSP)?;
    if !in_library(ip) {
        return None;
    }
    let mut frame = first_frame(gregs)?;
    // The unwinding reads the stack above the stack pointer only (the library's frames are a
    // few; `LIBRARY_FRAMES_SPAN` bounds them).
    let high = sp.saturating_add(LIBRARY_FRAMES_SPAN);
    let read = |address: usize| stack_word(address, sp, high);
    let mut registers = std::vec::Vec::new();
    for _ in 0..GPA_FRAMES {
        registers.extend(CALLEE_SAVED.iter().filter_map(|&n| frame.registers[n]));
        if !in_library(frame.ip) {
            return Some((frame.registers[7]?, registers));
        }
        let caller = step_registers(&frame, &read)?;
        let (Some(callee_sp), Some(caller_sp)) = (frame.registers[7], caller.registers[7]) else {
            return None;
        };
        if caller_sp <= callee_sp || caller_sp > high {
            return None;
        }
        frame = caller;
    }
    None
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
pub fn library_caller_frame(_gregs: &[usize]) -> Option<(usize, std::vec::Vec<usize>)> {
    None
}

/// How far above the stack pointer [`library_caller_frame`] reads: the C library's frames
/// between the program and a signal's system call (`abort`'s, `raise`'s, `pthread_kill`'s
/// are under a kilobyte together).
const LIBRARY_FRAMES_SPAN: usize = 64 << 10;

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn program_frame(_thread: &NoThread, _maps: &Maps) -> Option<ProgramFrame> {
    None
}

/// Calls `visit` with each word of `stack`'s live part: from its `live_from` to the end of the
/// mapping holding its stack pointer, read as the graph reads a root range
/// ([`graph::for_each_word`]: its readable parts, a chunk at a time).
fn for_each_stack_word(maps: &Maps, stack: &LiveStack, visit: &mut dyn FnMut(usize)) {
    let Some(mapping) = maps.find(stack.stack_pointer).filter(|m| m.read) else {
        return;
    };
    let start = stack.live_from.max(mapping.start);
    graph::for_each_word(maps, start, mapping.end, 0, false, visit);
}

/// Whether every byte of `[start, start + length)` lies in a readable mapping of `maps`: a
/// program may protect pages of its own heap blocks with `mprotect` (Valgrind's
/// `leak-segv-jmp.c`), and the checks of their guards and redzones at exit must not fault.
pub fn readable(maps: &Maps, start: usize, length: usize) -> bool {
    let end = start.saturating_add(length);
    let mut at = start;
    while at < end {
        match maps.find(at) {
            Some(mapping) if mapping.read => at = mapping.end,
            _ => return false,
        }
    }
    true
}

/// The thread pointers (glibc's thread descriptors) of the threads that may still run the
/// program's code: this one and every stopped one. Missed threads are left out: those the
/// stop misses at exit are threads in glibc's thread-exit code, which blocks every signal.
fn thread_pointers_running(threads: &Threads) -> std::vec::Vec<usize> {
    // SAFETY: pthread_self only reads the thread pointer.
    let me = unsafe { libc::pthread_self() } as usize;
    threads
        .stopped
        .iter()
        .map(|thread| thread.thread_pointer)
        .chain(core::iter::once(me))
        .collect()
}

/// The thread pointers of the threads the stop missed that still exist and are not in
/// glibc's own code that blocks every signal (starting or ending a thread,
/// `world::masked_by_glibc`), found by their descriptors (`leakcheck::unlisted`): threads
/// that block the stop signal on their own (as a program can: not 32 and 33 with it), or
/// did not answer it in time. Such a thread runs on, as a stopped one would have: its DTV is
/// reported as any running thread's ("possibly lost", as Valgrind), not judged freed with
/// those of ended threads (lifecycle.md item 20's left case: a thread that never allocated
/// owns no heap, so the DTVs were judged freed while it ran).
fn missed_running(threads: &Threads) -> std::vec::Vec<usize> {
    threads
        .missed
        .iter()
        .filter(|&&tid| thread_exists(tid as u64) && !world::masked_by_glibc(tid))
        .filter_map(|&tid| crate::leakcheck::unlisted::descriptor_of(tid))
        .collect()
}

/// The DTVs (user addresses) of the thread descriptors found at the top of private anonymous
/// writable mappings (where glibc puts a thread's stack and its descriptor) that are not in
/// `running` (sorted): the DTV pointer points one 16-byte entry past the start of the
/// `calloc`ed vector (`leakcheck::unlisted::DescriptorWindow` finds the headers).
fn unused_dtvs(maps: &Maps, running: &[usize]) -> std::vec::Vec<usize> {
    use crate::leakcheck::unlisted::{dtv_of, DescriptorWindow};
    let mut found = std::vec::Vec::new();
    let mut window = DescriptorWindow::new();
    for mapping in maps.mappings() {
        if !(mapping.read && mapping.write && !mapping.shared && mapping.path.is_empty()) {
            continue;
        }
        window.descriptors_at_top(mapping.start, mapping.end, &mut |descriptor, copy| {
            let dtv = dtv_of(copy);
            if dtv >= 16 && running.binary_search(&descriptor).is_err() {
                found.push(dtv - 16);
            }
        });
    }
    found
}

/// Whether every thread of the process but `me` is one the stop holds (`/proc/self/task`
/// lists only those): then no thread can unmap or protect memory during the scan, and the
/// heuristics read the judged blocks directly ([`Maps::with_every_other_thread_stopped`]).
/// False when the list cannot be read, or lists a thread the stop missed or that ended
/// with `pthread_exit` (a zombie main thread is listed but not stopped; the reads then go
/// through `process_vm_readv`, as they always did).
fn every_other_thread_stopped(me: u64, threads: &Threads) -> bool {
    if !threads.missed.is_empty() {
        return false;
    }
    let mut all = true;
    let listed = crate::leakcheck::world::for_each_task(&mut |tid| {
        let tid = tid as u64;
        all &= tid == me
            || threads
                .stopped
                .iter()
                .any(|thread| thread.tid as u64 == tid);
    });
    listed && all
}

/// The main thread's stack when the main thread has ended (a raw `exit` system call, or
/// `pthread_exit`) while this one runs on: no frame of it is live (memcheck scans an ended
/// thread's stack not at all), and without a bound the whole mapping was a root, where stale
/// copies of dropped pointers lie (`life_raw_exit.c exit`: the leaked block's address, left
/// below main's last frame by a `malloc` of the library built with `opt-level = 1`, made it
/// "still reachable"). Only what lies above the first frame (`__libc_stack_end`: the
/// arguments, the environment, the auxiliary vector, which a program may point into its heap)
/// stays a root. The kernel does not say where an ended thread's stack pointer was.
fn ended_main_stack() -> Option<LiveStack> {
    extern "C" {
        /// The stack address at the program's entry (the dynamic loader's, exported).
        static __libc_stack_end: *mut libc::c_void;
    }
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    if crate::os::thread_id() as i32 == pid || !world::has_ended(pid) {
        return None;
    }
    // SAFETY: set by the loader before any code of the program ran, never written again.
    let first_frame = unsafe { __libc_stack_end } as usize;
    (first_frame != 0).then_some(LiveStack {
        stack_pointer: first_frame,
        live_from: first_frame,
        ..LiveStack::default()
    })
}

/// Whether thread `tid` of this process still exists.
fn thread_exists(tid: u64) -> bool {
    // SAFETY: signal 0 only checks that the thread exists.
    let listed =
        unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid as libc::c_int, 0) == 0 };
    // A zombie runs no code: the main thread ended by a raw `exit` system call while others
    // run on owns its heap still (no exit hook handed it back), and skipping it hid every
    // block main had allocated from the leak check (`life_raw_exit.c exit`).
    listed && !world::has_ended(tid as i32)
}

/// The threads of a scan.
#[derive(Default)]
struct Threads {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    stopped: std::vec::Vec<world::StoppedThread>,
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    stopped: std::vec::Vec<NoThread>,
    missed: std::vec::Vec<i32>,
    /// Whether a stopped thread was stopped inside the C library's or the loader's own code
    /// ([`busy_in_c_library`]), as the stop's last round found (false when a thread was
    /// missed: that round did not ask).
    busy: bool,
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
struct NoThread {
    tid: i32,
    stack_pointer: usize,
    registers: [usize; 0],
    thread_pointer: usize,
}

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn stop_threads(gpa: &GeneralPurposeAllocator, wanted: bool, settle: bool) -> Threads {
    if !wanted {
        return Threads::default();
    }
    let started = std::time::Instant::now();
    let mut pause = SETTLE_FIRST_PAUSE;
    // Rounds retried in a row in which no thread left and none got out of the way.
    let mut idle = 0u32;
    // The fewest threads (stopped or missed), and the fewest of them in the way (stopped
    // inside glibc, or missed), any round found: a round that finds fewer made progress.
    let mut fewest: Option<(usize, usize)> = None;
    loop {
        let last = idle >= SETTLE_IDLE_ROUNDS || started.elapsed() >= SETTLE_LONGEST;
        // A round that will be retried gives up on a thread blocking the stop signal soon.
        let grace = if last {
            world::BLOCKED_GRACE
        } else {
            SETTLE_BLOCKED_GRACE
        };
        let Some(stopped) = stop_threads_once(gpa, grace) else {
            return Threads::default();
        };
        // A thread stopped inside glibc's own code keeps glibc's exit-time frees from
        // running (below, in `scan`). Such a stop is mostly a moment's: a detached thread
        // in glibc's thread-exit code after its key destructors, one in `memcpy` or
        // `qsort`. Left so, every stack glibc caches for an ended thread still points into
        // its DTV and is reported "possibly lost", where Valgrind, which always frees them,
        // reports nothing (`exit_while_thread_ends.c`). So let the threads run a little and
        // stop them again, before giving up.
        let in_glibc = {
            let maps = Maps::read();
            stopped
                .threads
                .iter()
                .filter(|thread| busy_in_c_library(thread, &maps))
                .count()
        };
        let busy = stopped.missed.is_empty() && in_glibc != 0;
        // A thread that did not stop may be one that blocks every signal for a moment, as
        // glibc's thread exit does, and waits for a lock the stop held (the GPA's, to free
        // its DTV): it goes on once the locks are released, and would run during the scan.
        // Let it finish, as often as a busy thread (with 16 detached threads ending on a
        // loaded machine, a second thread was caught so about once in 2,000 exits, when one
        // retry was allowed).
        let missed = !stopped.missed.is_empty();
        if !last && ((settle && busy) || missed) {
            // The budget is counted in rounds without progress, not in rounds: threads
            // ending on a loaded machine may need many rounds, and leave one by one (32
            // detached threads at nice 19 beside a busy loop on one CPU: 2 exits in 20
            // reported the cached stacks' DTVs with six rounds in all). Only new lows count,
            // so threads that come and go do not keep the stop going.
            let present = stopped.threads.len() + stopped.missed.len();
            let in_the_way = in_glibc + stopped.missed.len();
            let progress = fewest
                .is_some_and(|(threads, troubled)| present < threads || in_the_way < troubled);
            fewest = Some(match fewest {
                Some((threads, troubled)) => (threads.min(present), troubled.min(in_the_way)),
                None => (present, in_the_way),
            });
            if progress {
                idle = 0;
            } else {
                idle += 1;
            }
            if missed {
                // Long enough for threads held up by the stop's locks to get through them.
                pause = pause.max(SETTLE_LONGEST_PAUSE);
            }
            let leaving = stopped.missed.clone();
            stopped.resume();
            if leaving.is_empty() {
                std::thread::sleep(pause);
            } else {
                wait_for_leaving(&leaving, pause);
            }
            pause = (pause * 2).min(SETTLE_LONGEST_PAUSE);
            continue;
        }
        let threads = Threads {
            stopped: stopped.threads.clone(),
            missed: stopped.missed.clone(),
            busy,
        };
        // Never resumed: the process is exiting (see the module docs).
        core::mem::forget(stopped);
        return threads;
    }
}

/// Waits, with no lock held, while threads of `leaving` (missed by a stop) end: as long as one
/// of them ended in the last `idle` (and [`SETTLE_LONGEST`] at most), until none is left.
/// A thread in glibc's thread-exit code blocks every signal and may wait there for a lock the
/// stop held (the GPA's, to free the DTVs of stacks glibc's cache no longer keeps): it could
/// only get on between rounds, and those ending on a loaded machine did not all make it in
/// the pauses between six rounds.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn wait_for_leaving(leaving: &[i32], idle: Duration) {
    let started = std::time::Instant::now();
    let mut last_progress = started;
    let mut left = usize::MAX;
    loop {
        let now_left = leaving
            .iter()
            .filter(|&&tid| thread_exists(tid as u64))
            .count();
        if now_left == 0 {
            return;
        }
        if now_left < left {
            left = now_left;
            last_progress = std::time::Instant::now();
        }
        if last_progress.elapsed() >= idle || started.elapsed() >= SETTLE_LONGEST {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// How many rounds in a row [`stop_threads`] lets threads stopped inside glibc (or not
/// stopped) run on without progress (no thread left, none got out of glibc) before it gives
/// up on glibc's exit-time frees, and the pauses between (doubling): with no progress at
/// all, about 60 ms of pauses, and [`SETTLE_BLOCKED_GRACE`] a round for threads blocking the
/// signal.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const SETTLE_IDLE_ROUNDS: u32 = 6;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const SETTLE_FIRST_PAUSE: Duration = Duration::from_millis(1);
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const SETTLE_LONGEST_PAUSE: Duration = Duration::from_millis(16);
/// The most [`stop_threads`] lets threads run on while they make progress: then the round is
/// the last whatever they do.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const SETTLE_LONGEST: Duration = Duration::from_secs(2);
/// How long a round that will be retried waits for a thread blocking the stop signal (the
/// last round waits [`world::BLOCKED_GRACE`]): a program whose thread keeps every signal
/// blocked pays about 0.25 s of such rounds and pauses at exit before the last round's wait.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const SETTLE_BLOCKED_GRACE: Duration = Duration::from_millis(25);

/// One stop of the other threads, with the loader's lock and every GPA lock held around the
/// signalling (see the module docs).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn stop_threads_once(gpa: &GeneralPurposeAllocator, grace: Duration) -> Option<world::Stopped> {
    let mut result = None;
    // No thread is stopped holding a list of the symbolizer, which the report needs after
    // the scan (taken before the loader's lock, as the symbolizer takes them).
    let _lists = crate::report::symbolize::hold_lists(LISTS_PATIENCE);
    with_loader_lock(&mut || {
        // No thread is stopped in the middle of recording a finding: the lists' lock is
        // needed to take them for the report, and the stopped threads never resume.
        let lists = super::recorded::hold();
        let stopped = world::stop_others(
            &mut || gpa.prepare_fork(),
            // SAFETY: `prepare_fork` was called by this thread just before.
            &mut || unsafe { gpa.finish_fork() },
            STOP_TIMEOUT,
            grace,
        );
        if lists {
            // SAFETY: `hold` returned true on this thread just before.
            unsafe { super::recorded::release() };
        }
        result = Some(stopped);
    });
    result
}

/// How long [`stop_threads_once`] waits for each of the symbolizer's lists: a thread that
/// keeps one longer (stuck inside gpa for ever, lifecycle.md item 22) is stopped as it is.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const LISTS_PATIENCE: Duration = Duration::from_millis(500);

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
fn stop_threads(_gpa: &GeneralPurposeAllocator, _wanted: bool, _settle: bool) -> Threads {
    Threads::default()
}

/// Checks, before `exec`, the freed blocks of the heaps of every thread but the calling one
/// (`GeneralPurposeAllocator::check_freed_blocks_of`: their quarantines, remote lists and
/// freed slots; the caller checks its own), which go with the image: a write into a block
/// another thread freed (`exec_other_threads_freed.c`), which Valgrind reports as it
/// happens, was lost. Heaps of threads that exited (abandoned, or owned by a thread id no
/// longer alive: in a `fork` child, the parent's other threads') are read as they are.
/// Where other threads run, they are stopped first as for the exit scan
/// ([`stop_threads_once`]: the loader's lock and every GPA lock held around the signalling),
/// and let go again after (the `exec` may fail, and the program go on). A thread stopped
/// inside gpa may have an operation on its heap half done: the threads are let run and
/// stopped again, up to [`EXEC_STOP_ROUNDS`] times; after that such a thread's heap is left
/// unread, as are the heaps of threads that could not be stopped (they block the signal).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub fn check_other_threads_freed_blocks(gpa: &GeneralPurposeAllocator) {
    let me = crate::os::thread_id();
    if crate::os::thread_count() == Some(1) {
        let maps = Maps::read();
        let readable = |start: usize, length: usize| readable(&maps, start, length);
        // SAFETY: no other thread runs: every heap is the calling thread's or a gone one's.
        unsafe { gpa.check_freed_blocks_of(|_| true, &readable) };
        return;
    }
    let mut round = 0;
    loop {
        // A thread that blocks the stop signal (one that waits in `sigwait` with every
        // signal blocked) is given up on after a short grace, as a retried round of the exit
        // scan does: it costs each `exec` that long, and only its heap goes unread.
        let Some(stopped) = stop_threads_once(gpa, SETTLE_BLOCKED_GRACE) else {
            return;
        };
        // Read once the threads stopped: none unmaps memory of its heap meanwhile.
        let maps = Maps::read();
        let readable = |start: usize, length: usize| readable(&maps, start, length);
        let inside = stopped_inside_gpa(&stopped.threads, &maps);
        if !inside.is_empty() && round < EXEC_STOP_ROUNDS {
            stopped.resume();
            round += 1;
            continue;
        }
        let quiet: std::vec::Vec<u64> = stopped
            .threads
            .iter()
            .map(|thread| thread.tid as u64)
            .filter(|tid| !inside.contains(tid))
            .collect();
        // An abandoned heap may be taken over by a thread the stop missed, which runs on:
        // read only when every thread stopped.
        let all_stopped = stopped.missed.is_empty();
        // SAFETY: the included heaps are the calling thread's, abandoned ones (no thread runs
        // that could take one over), those of threads stopped outside gpa (until `resume`
        // below), and those of threads that no longer run.
        unsafe {
            gpa.check_freed_blocks_of(
                |owner| {
                    owner == me
                        || (owner == 0 && all_stopped)
                        || quiet.contains(&owner)
                        || (!inside.contains(&owner)
                            && !stopped.missed.iter().any(|&tid| tid as u64 == owner)
                            && !thread_exists(owner))
                },
                &readable,
            );
        }
        stopped.resume();
        return;
    }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
pub fn check_other_threads_freed_blocks(_gpa: &GeneralPurposeAllocator) {}

/// How many times [`check_other_threads_freed_blocks`] lets threads stopped inside gpa run on
/// and stops them again. Each stop of threads that allocate without pause costs a scheduling
/// round: on this 2-core machine, 4 such threads, about 16 ms a stop (`exec` of a missing
/// file: 0.2 ms with main's library, 16 ms with no retry, 150 ms with 8).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const EXEC_STOP_ROUNDS: u32 = 2;

/// The thread ids of the stopped `threads` interrupted inside gpa's own code (this library),
/// or inside a function of another object that gpa's code called (`gpa_caller`).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn stopped_inside_gpa(threads: &[world::StoppedThread], maps: &Maps) -> std::vec::Vec<u64> {
    threads
        .iter()
        .filter(|thread| {
            in_gpa(Some(thread.registers[libc::REG_RIP as usize]))
                || gpa_caller(thread, maps).is_some()
        })
        .map(|thread| thread.tid as u64)
        .collect()
}

/// System calls a thread waits in when idle: `read`, `poll`, `select`, `pause`, `nanosleep`,
/// `accept`, `recvfrom`, `recvmsg`, `wait4`, `rt_sigtimedwait`, `rt_sigsuspend`, `futex`,
/// `restart_syscall`, `epoll_wait`, `clock_nanosleep`, `pselect6`, `ppoll`, `epoll_pwait`,
/// `accept4`, `epoll_pwait2` (x86-64 numbers).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const WAITING_SYSCALLS: [usize; 20] = [
    0, 7, 23, 34, 35, 43, 45, 47, 61, 128, 130, 202, 219, 232, 230, 270, 271, 281, 288, 441,
];

/// Whether a stopped thread was interrupted inside the C library or the dynamic loader, other
/// than waiting in a system call: it may have been in the middle of updating their state.
/// `maps`: the process's mappings, read once for all the threads of a stop.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn busy_in_c_library(thread: &world::StoppedThread, maps: &Maps) -> bool {
    let rip = thread.registers[libc::REG_RIP as usize];
    let rax = thread.registers[libc::REG_RAX as usize];
    let in_libc = |address: usize| {
        maps.find(address).is_some_and(|mapping| {
            let name = mapping.path.rsplit('/').next().unwrap_or("");
            mapping.execute && (name.starts_with("libc.so") || name.starts_with("ld-linux"))
        })
    };
    if !in_libc(rip) {
        return allocating_for_c_library(thread, maps, &in_libc);
    }
    // Interrupted in a restartable system call, the thread's context points at the `syscall`
    // instruction (0f 05) with the call's number in rax; in one that is not restarted, just
    // after it, with -EINTR in rax. A thread that had blocked signals gets the stop signal
    // just after the `rt_sigprocmask` that unblocks them (`mov $14, %eax; syscall`), which
    // glibc does after its critical sections (thread creation, for one), not inside them.
    let (at_syscall, after_syscall) = syscall_position(rip);
    let mut code = [0u8; 5];
    let after_unblocking = after_syscall
        && leakcheck::maps::read_own_memory(rip.wrapping_sub(7), &mut code) == Some(5)
        && code == [0xb8, 0x0e, 0x00, 0x00, 0x00];
    let waiting = (at_syscall && WAITING_SYSCALLS.contains(&rax))
        || (after_syscall && rax == (-libc::EINTR) as usize)
        || after_unblocking;
    // Stopped in one function of the C library that gpa called for the program (`mprotect`,
    // `madvise`, `memset` in a `malloc` or `free`): the thread is in gpa's call, not in
    // glibc's state (16 threads spinning in `malloc`/`free` at exit were caught just after
    // `mprotect`'s system call in most exits under load, and glibc's exit-time frees were
    // skipped: stdout's buffer "still reachable" where Valgrind frees it, `threads.c`).
    !waiting && gpa_caller(thread, maps).is_none_or(in_libc)
}

/// Whether a thread stopped inside gpa's own code (this library) got there from the C library
/// or the dynamic loader: glibc allocates and frees inside its critical sections (a thread
/// ending puts its stack in glibc's cache and frees the DTVs of stacks the cache no longer
/// keeps, with the cache's lock held), so such a thread is in the middle of glibc's code too.
/// A thread stopped in this library called by the program is not.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn allocating_for_c_library(
    thread: &world::StoppedThread,
    maps: &Maps,
    in_libc: &dyn Fn(usize) -> bool,
) -> bool {
    let rip = thread.registers[libc::REG_RIP as usize];
    crate::os::object_containing(allocating_for_c_library as *const () as usize)
        .is_some_and(|this| rip >= this.start && rip < this.end)
        && gpa_caller(thread, maps).is_some_and(in_libc)
}

/// The first caller outside gpa's own code (this library) of a thread stopped inside it, or
/// inside a single function of another object that gpa's code called (the C library's
/// `mprotect` or `memset`, one frame), found by unwinding the thread's stack (at most
/// [`OWN_FRAMES`] frames). `None` for a thread stopped elsewhere, or one whose stack does not
/// unwind so.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn gpa_caller(thread: &world::StoppedThread, maps: &Maps) -> Option<usize> {
    let rip = thread.registers[libc::REG_RIP as usize];
    // This library's range, found once (not two mapping lookups per frame).
    let this = crate::os::object_containing(gpa_caller as *const () as usize)?;
    let own = |address: usize| address >= this.start && address < this.end;
    let sp = thread.stack_pointer;
    let bp = thread.registers[libc::REG_RBP as usize];
    let top = maps.find(sp).filter(|m| m.read)?.end;
    let mut callers = [0usize; OWN_FRAMES];
    let count = crate::trace::unwind::capture_stopped(rip, sp, bp, top, &mut callers);
    let callers = &callers[..count];
    // Outside gpa, the interrupted function must have been called by gpa's code.
    let gpa_frames = if own(rip) {
        callers
    } else {
        callers.split_first().filter(|(&first, _)| own(first))?.1
    };
    gpa_frames.iter().copied().find(|&address| !own(address))
}

/// How deep [`allocating_for_c_library`] looks for the first caller outside this library.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const OWN_FRAMES: usize = 32;

/// Runs `work` while holding the dynamic loader's lock (`dl_iterate_phdr` calls its callback
/// with it held; it is recursive, so `work` may iterate again).
fn with_loader_lock(work: &mut dyn FnMut()) {
    unsafe extern "C" fn callback(
        _info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: `data` is the `&mut &mut dyn FnMut()` passed below, alive for the call.
        let work = unsafe { &mut *data.cast::<&mut dyn FnMut()>() };
        work();
        1 // stop after the first object
    }
    let mut work = work;
    // SAFETY: the callback has the expected signature and `data` outlives the call.
    unsafe { libc::dl_iterate_phdr(Some(callback), (&mut work as *mut &mut dyn FnMut()).cast()) };
}

type Freeres = extern "C" fn();

/// How many objects the process started with (the executable, the preload libraries and
/// every library they need, in `dl_iterate_phdr`'s order), or `usize::MAX` before
/// [`note_startup_objects`].
static STARTUP_OBJECTS: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Records how many objects the process started with (called from the preload library's
/// constructor, when every object the loader mapped at start-up is in its list and nothing
/// was loaded with `dlopen` yet). Valgrind calls libstdc++'s `__gnu_cxx::__freeres` only when
/// libstdc++ was one of them: its preload library holds a weak reference to the function,
/// bound when that library is relocated at start-up, so a libstdc++ a `dlopen` brings in later
/// (GModule's plugins: `gdk-pixbuf-query-loaders`, whose loaders need ICU) keeps its
/// 72,704-byte emergency pool, still reachable in memcheck's report. gpa looked the function
/// up at exit and freed the pool (docs/sweeps/programs2.md, item 3).
pub fn note_startup_objects() {
    STARTUP_OBJECTS.store(object_index(None), Ordering::Relaxed);
}

/// The index, in `dl_iterate_phdr`'s order, of the object one of whose loaded segments holds
/// `address`; with `None` (or an address no object holds), the number of objects.
fn object_index(address: Option<usize>) -> usize {
    let mut index = 0;
    crate::os::each_loaded_object(&mut |base, headers| {
        if address.is_some_and(|address| crate::os::object_holds(base, headers, address)) {
            return true;
        }
        index += 1;
        false
    });
    index
}

/// glibc's `__libc_freeres` and libstdc++'s `__gnu_cxx::__freeres`, where present (looked up
/// before the threads stop: `dlsym` takes the loader's lock); libstdc++'s only where the
/// process started with it, as under Valgrind ([`note_startup_objects`]).
fn freeres_functions() -> [Option<Freeres>; 2] {
    [c"__libc_freeres", c"_ZN9__gnu_cxx9__freeresEv"].map(|name| {
        // SAFETY: RTLD_DEFAULT lookup of a NUL-terminated name.
        let address = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
        let startup = STARTUP_OBJECTS.load(Ordering::Relaxed);
        let late = name != c"__libc_freeres"
            && startup != usize::MAX
            && object_index(Some(address as usize)) >= startup;
        // SAFETY: both functions take no argument and return nothing.
        (!address.is_null() && !late)
            .then(|| unsafe { core::mem::transmute::<*mut libc::c_void, Freeres>(address) })
    })
}

/// glibc's list of open streams (`_IO_list_all`) and `__fpurge`, where present (looked up
/// before the threads stop).
fn stdio_streams() -> Option<(*mut *mut libc::FILE, unsafe extern "C" fn(*mut libc::FILE))> {
    // SAFETY: RTLD_DEFAULT lookups of NUL-terminated names.
    let (list, purge) = unsafe {
        (
            libc::dlsym(libc::RTLD_DEFAULT, c"_IO_list_all".as_ptr()),
            libc::dlsym(libc::RTLD_DEFAULT, c"__fpurge".as_ptr()),
        )
    };
    if list.is_null() || purge.is_null() {
        return None;
    }
    // SAFETY: `__fpurge` is `void __fpurge(FILE *)`.
    let purge = unsafe {
        core::mem::transmute::<*mut libc::c_void, unsafe extern "C" fn(*mut libc::FILE)>(purge)
    };
    Some((list.cast(), purge))
}

/// Calls `each` on every open stream, walking glibc's list of streams from `list` (its
/// `_IO_list_all`) through each `FILE`'s `_chain` link (offset 104 on x86-64, part of the
/// public `struct _IO_FILE`); nothing elsewhere. Made while the other threads are stopped.
fn for_each_stream(list: *mut *mut libc::FILE, mut each: impl FnMut(*mut libc::FILE)) {
    const CHAIN_OFFSET: usize = 104;
    if !cfg!(all(
        target_os = "linux",
        target_arch = "x86_64",
        target_env = "gnu"
    )) {
        return;
    }
    // SAFETY: `_IO_list_all` heads glibc's list of open streams, linked through `_chain`;
    // the other threads are stopped, so the list does not change meanwhile. A bounded walk.
    unsafe {
        let mut stream = *list;
        for _ in 0..100_000 {
            if stream.is_null() {
                break;
            }
            each(stream);
            stream = *(stream
                .cast::<u8>()
                .add(CHAIN_OFFSET)
                .cast::<*mut libc::FILE>());
        }
    }
}

/// The buffers (their `malloc`ed addresses) of the streams on glibc's list from `list` (its
/// `_IO_list_all`) that glibc's exit-time frees would free, for a scan that could not run
/// them: glibc's `_IO_cleanup` (run by `__libc_freeres` and by `exit`) gives up the buffer of
/// each stream that is buffered (`_IO_UNBUFFERED`, 2, not in `_flags`) and oriented (`_mode`
/// not 0; at `exit`, `orient`, every stream: [`orient_unoriented`]), and its exit-time frees
/// free it unless the program supplied it (`_IO_USER_BUF`, 1), and the wide buffer of a wide
/// stream (`_mode` above 0) unless supplied (`_IO_FLAGS2_USER_WBUF`, 8, in `_flags2`). Fields
/// of the public `struct _IO_FILE` on x86-64 (`_flags` 0, `_IO_buf_base` 56, `_chain` 104,
/// `_flags2` 116, `_wide_data` 160, `_mode` 192; `_IO_buf_base` of `struct _IO_wide_data`
/// at 48), each read with `process_vm_readv`: another thread may be in a stream's code (it
/// was stopped there, or runs on), so nothing is assumed readable. A bounded walk.
fn buffers_freeres_frees(list: *mut *mut libc::FILE, orient: bool) -> std::vec::Vec<usize> {
    const FILE_BYTES: usize = 200;
    const USER_BUF: u32 = 1;
    const UNBUFFERED: u32 = 2;
    const USER_WBUF: u32 = 8;
    let mut buffers = std::vec::Vec::new();
    if !cfg!(all(
        target_os = "linux",
        target_arch = "x86_64",
        target_env = "gnu"
    )) {
        return buffers;
    }
    let read_word = |address: usize| {
        let mut bytes = [0u8; 8];
        (leakcheck::maps::read_own_memory(address, &mut bytes) == Some(8))
            .then(|| usize::from_ne_bytes(bytes))
    };
    let mut stream = read_word(list as usize).unwrap_or(0);
    let mut file = [0u8; FILE_BYTES];
    for _ in 0..100_000 {
        if stream == 0 || leakcheck::maps::read_own_memory(stream, &mut file) != Some(FILE_BYTES) {
            break;
        }
        let word = |at: usize| usize::from_ne_bytes(file[at..at + 8].try_into().unwrap_or([0; 8]));
        let int = |at: usize| u32::from_ne_bytes(file[at..at + 4].try_into().unwrap_or([0; 4]));
        let (flags, flags2, mode) = (int(0), int(116), int(192) as i32);
        if flags & UNBUFFERED == 0 && (mode != 0 || orient) {
            if flags & USER_BUF == 0 && word(56) != 0 {
                buffers.push(word(56));
            }
            if mode > 0 && flags2 & USER_WBUF == 0 {
                if let Some(wide) = read_word(word(160).wrapping_add(48)).filter(|&w| w != 0) {
                    buffers.push(wide);
                }
            }
        }
        stream = word(104);
    }
    buffers
}

/// The blocks (their `malloc`ed addresses) holding the dynamic loader's `_dl_find_object`
/// segments, which glibc's exit-time frees free (`__libc_freeres` → ld.so's
/// `_dl_find_object_freeres`), for a scan that could not run them (a thread stopped inside
/// `dlopen`, `exit_threads_busy.c dlopen`, lifecycle.md item 25). Valgrind, which runs them
/// once the other threads are gone, lists none of them; left so they were "possibly lost":
/// the loader keeps each segment 128-byte aligned inside its block, so its pointers (ld.so's
/// static `_dlfo_loaded_mappings`) point into the block, not at its start.
///
/// ld.so has no symbol table here (`_dlfo_loaded_mappings` is static and unexported), so
/// the segments are found by their header (glibc 2.35 on, `elf/dl-find_object.c`), through
/// the words of ld.so's writable mappings: a segment `s` holds `previous` (the older
/// segment, or 0), `to_free` (the start `b` of the block it lies in, with `s` the first
/// 128-byte boundary at or past `b`), `size` and `allocated` (`size <= allocated`, and the
/// `allocated` 32-byte entries after the 32-byte header fit in the block). Each candidate's
/// `previous` chain is followed with the same test. Nothing is called and no lock taken: a
/// stopped thread may hold the loader's lock; every word is read with `process_vm_readv`.
/// `blocks`: the live blocks, sorted by address.
fn loader_segments_freeres_frees(maps: &Maps, blocks: &[LiveBlock]) -> std::vec::Vec<usize> {
    const ALIGN: usize = 128;
    const HEADER: usize = 32;
    const ENTRY: usize = 32;
    let mut found = std::vec::Vec::new();
    if !cfg!(all(
        target_os = "linux",
        target_arch = "x86_64",
        target_env = "gnu"
    )) {
        return found;
    }
    let containing = |address: usize| -> Option<&LiveBlock> {
        let at = blocks.partition_point(|block| block.address <= address);
        let block = blocks.get(at.checked_sub(1)?)?;
        (address < block.address.saturating_add(block.size)).then_some(block)
    };
    // The block holding a segment header at `segment`, when there is one there.
    let segment_block = |segment: usize| -> Option<(usize, usize)> {
        if segment == 0 || segment % ALIGN != 0 {
            return None;
        }
        let block = containing(segment)?;
        let mut header = [0u8; HEADER];
        if leakcheck::maps::read_own_memory(segment, &mut header) != Some(HEADER) {
            return None;
        }
        let word =
            |at: usize| usize::from_ne_bytes(header[at..at + 8].try_into().unwrap_or([0; 8]));
        let (previous, to_free, size, allocated) = (word(0), word(8), word(16), word(24));
        let first_boundary = block.address.checked_add(ALIGN - 1)? & !(ALIGN - 1);
        let fits = allocated
            .checked_mul(ENTRY)
            .and_then(|bytes| bytes.checked_add(HEADER + (segment - block.address)))
            .is_some_and(|end| end <= block.size);
        (to_free == block.address
            && segment == first_boundary
            && allocated != 0
            && size <= allocated
            && fits)
            .then_some((block.address, previous))
    };
    let mut page = [0u8; 4096];
    for mapping in maps.mappings() {
        let name = mapping.path.rsplit('/').next().unwrap_or("");
        if !(mapping.read && mapping.write && !mapping.shared && name.starts_with("ld-linux")) {
            continue;
        }
        let mut at = mapping.start;
        while at < mapping.end {
            let length = page.len().min(mapping.end - at);
            if leakcheck::maps::read_own_memory(at, &mut page[..length]) == Some(length) {
                for word in page[..length].chunks_exact(8) {
                    let mut segment = usize::from_ne_bytes(word.try_into().unwrap_or([0; 8]));
                    // A bounded walk of the chain of older segments.
                    for _ in 0..64 {
                        let Some((block, previous)) = segment_block(segment) else {
                            break;
                        };
                        if found.contains(&block) {
                            break;
                        }
                        found.push(block);
                        segment = previous;
                    }
                }
            }
            at += length;
        }
    }
    found
}

/// Discards the unwritten (and unread) buffered bytes of every open stream.
fn discard_unwritten((list, purge): (*mut *mut libc::FILE, unsafe extern "C" fn(*mut libc::FILE))) {
    // SAFETY: `purge` is glibc's purge of one stream's buffer, given a stream of its list.
    for_each_stream(list, |stream| unsafe { purge(stream) });
}

/// Makes every stream that no function has oriented yet byte-oriented (`_mode` -1, at offset
/// 192 of the public `struct _IO_FILE` on x86-64), as `exit`'s stdio cleanup (`_IO_cleanup`,
/// run after the exit functions) leaves every stream. glibc's `__libc_freeres` frees the
/// buffer of an oriented stream only; Valgrind runs it after `exit`'s cleanup, so a stream
/// read only with `fread` (which orients nothing) has its buffer freed there, and gpa's report,
/// made from an exit function before that cleanup, kept it "still reachable" (flex: 4,096
/// bytes in each of its processes). Not at `_exit` or `quick_exit`, where no cleanup runs
/// before Valgrind's `__libc_freeres` either. Written directly, without the stream's lock, as
/// `_IO_cleanup` does: the other threads are stopped.
fn orient_unoriented(list: *mut *mut libc::FILE) {
    const MODE_OFFSET: usize = 192;
    for_each_stream(list, |stream| {
        // SAFETY: `_mode` is an `int` of each `FILE` of glibc's list, at `MODE_OFFSET`.
        unsafe {
            let mode = stream.cast::<u8>().add(MODE_OFFSET).cast::<libc::c_int>();
            if *mode == 0 {
                *mode = -1;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::{live_from, RED_ZONE};

    #[test]
    fn a_thread_stopped_at_a_system_call_has_no_live_red_zone() {
        // nop, nop, nop, syscall, nop, nop, nop
        let code: [u8; 8] = [0x90, 0x90, 0x90, 0x0f, 0x05, 0x90, 0x90, 0x90];
        let base = code.as_ptr() as usize;
        let sp = 0x7000_0000_1000;
        // Just after the instruction (a system call that returned -EINTR), and at it (one the
        // kernel will restart).
        assert_eq!(live_from(sp, Some(base + 5)), sp);
        assert_eq!(live_from(sp, Some(base + 3)), sp);
        // Elsewhere the red zone may hold a leaf function's locals.
        assert_eq!(live_from(sp, Some(base + 1)), sp - RED_ZONE);
        assert_eq!(live_from(sp, Some(base + 6)), sp - RED_ZONE);
        assert_eq!(live_from(sp, None), sp - RED_ZONE);
        // An address that is not mapped is read without faulting.
        assert_eq!(live_from(sp, Some(8)), sp - RED_ZONE);
        std::hint::black_box(&code);
    }
}
