//! The exported C `malloc` and `free` of the preload library (`gpa-capi`), written out as
//! naked functions: [`c_malloc_entry!`](crate::c_malloc_entry) and
//! [`c_free_entry!`](crate::c_free_entry) expand to their bodies.
//!
//! # Why
//! The build forces frame pointers (`.cargo/config.toml`: check mode's traces walk them), so
//! every Rust function, the exported `malloc` and `free` included, opens with `push rbp; mov
//! rbp, rsp` and closes with `pop rbp`, although their fast paths call nothing and need no
//! frame. Those three instructions were an eighth of fast mode's `malloc`/`free` pair (61
//! instructions on bench/c/glibc-simple, against mimalloc's 43). Rust has no way to drop the
//! frame of one function, so the two fast paths are written here in assembly: the same
//! instructions the compiler made of `c_paths::c_malloc`'s direct-table
//! path and of `c_paths::c_free`, with no frame.
//!
//! # Design
//! * The fast paths make every test the Rust paths make, in the same order: the C heap slot
//!   (null in check mode, before the first `malloc` and inside the allocator), the direct
//!   table's limit (also the observer gate), sampled guard mode's countdown, the page's free
//!   list and the popped slot's link (`segment::link_in_unit`: a program's write after free
//!   may have forged it); for `free`, the thread's remembered segment plus the observer gate, the carved-slot
//!   validation (`Page::is_c_slot`), the double-free key,
//!   and the page's count of slots in use. Struct offsets, shifts and masks come from the Rust
//!   definitions as `const` operands, so a layout change cannot leave the assembly behind.
//! * Anything else leaves through a stub that makes the frame the Rust function had (`push
//!   rbp; mov rbp, rsp`), calls a Rust function that finishes the request, and returns. Check
//!   mode (C heap slot null) therefore reaches `capi::malloc_general` and
//!   `capi::free_undesignated` with the same chain of frames as before: one frame of the exported function, whose return
//!   address is in the program (`trace::unwind::program_frame_below` expects that).
//! * The Rust functions the stubs call are `extern "C-unwind"`: with `extern "C"`, Rust
//!   guards their calls with an abort on unwinding, so they stop being tail calls, and check
//!   mode's captures met one more frame of this library (glibc-simple 1 in check mode, by
//!   callgrind: 307.8M instructions before this module, 361.8M with `extern "C"`, the
//!   difference in `trace::unwind`).
//! * The bodies carry their own call-frame information (`.cfi_startproc` ... `.cfi_endproc`:
//!   rustc emits none for a naked function), so debuggers, profilers and the DWARF unwinder
//!   step through them; the fast paths need none beyond the entry state (nothing is pushed),
//!   the stubs describe their push of `rbp`.
//!
//! # Invariants
//! * The stubs return with `rcx`, `rdx`, `rsi`, `rdi`, `r8` and `r9` cleared (and `rax`,
//!   in `free`'s): what the allocator left there, saved by a program's `swapcontext` into a
//!   `ucontext_t`, read as the program's pointer in the exit's leak scan (`capi::scrubbed`).
//! * The fast paths clobber only `rax`, `rcx`, `rdx`, `rsi` (caller-saved in the C ABI) and
//!   the flags, and touch the stack only in the stubs, which align it to 16 bytes (whatever the caller's) before the
//!   call.
//! * The slow functions called with a countdown already run out ([`entry_malloc_carve`], the
//!   general path) do not count down again: the general path reads the countdown's 0 as "a
//!   sampled block is due" (`c_paths::malloc_sampled`), as it did when the Rust fast path
//!   returned null there.

pub use super::c_paths::{
    entry_attend_own_page, entry_free_marked, entry_malloc_carve, C_DIRECT_BELOW, C_FREE_KEY,
};
pub use super::heap::{after_c_call, C_HEAP_GPA};
pub use super::observer::ACTIVE as OBSERVER_GATE;

use super::heap::{self, Heap};
use super::segment::{self, Page, Segment, SEGMENT_SHIFT, UNITS, UNIT_SIZE};

/// Byte offset of the C heap slot in the thread's state (the TLS variable `thread`).
pub const C_HEAP: usize = heap::C_HEAP_OFFSET;
/// Byte offset of the remembered segments in the thread's state.
pub const C_SEGMENTS: usize = heap::C_SEGMENTS_OFFSET;
/// Byte offset of the count of C calls in progress in the thread's state (`u64`).
pub const C_CALLS: usize = heap::C_CALLS_OFFSET;
/// The remembered segments' way of a pointer: `(pointer >> WAY_SHIFT) & WAY_MASK` is the byte
/// offset of its entry (`heap::is_own_c_segment`'s `(base >> SEGMENT_SHIFT) % ways`, times 8).
pub const WAY_SHIFT: u32 = SEGMENT_SHIFT - 3;
/// See [`WAY_SHIFT`].
pub const WAY_MASK: usize = (heap::C_SEGMENT_WAYS - 1) * 8;
/// A pointer's segment: `pointer & SEGMENT_MASK` (an `i32` immediate, sign-extended).
pub const SEGMENT_MASK: i32 = -(1i32 << SEGMENT_SHIFT);
/// The unit descriptor's byte offset in the table: `(pointer >> UNIT_INDEX_SHIFT) &
/// UNIT_INDEX_MASK` (`Segment::page_of_unchecked`: entries are `u16`).
pub const UNIT_INDEX_SHIFT: u32 = UNIT_SIZE.trailing_zeros() - 1;
/// See [`UNIT_INDEX_SHIFT`].
pub const UNIT_INDEX_MASK: usize = (UNITS - 1) * 2;
/// Byte offset of the unit table from a segment's base (its header lies `HEADER_OFFSET` in).
pub const UNIT_DESCRIPTOR: usize = segment::UNIT_DESCRIPTOR_OFFSET;
/// Byte offset of `Heap::sample_countdown`.
pub const COUNTDOWN: usize = core::mem::offset_of!(Heap, sample_countdown);
/// Byte offset of `Heap::direct`.
pub const DIRECT: usize = core::mem::offset_of!(Heap, direct);
/// Byte offset of a page's local free list.
pub const PAGE_FREE: usize = core::mem::offset_of!(Page, free);
/// What a free-list link may differ from its slot in (`segment::LINK_MASK`: a link is 16-byte
/// aligned in its slot's 64 KiB unit; an `i32` immediate of `test`, sign-extended).
pub const LINK_MASK: i32 = segment::LINK_MASK;
/// Byte offset of a page's count of slots in use (`u32`).
pub const PAGE_USED: usize = segment::PAGE_USED_OFFSET;
/// Byte offsets of `Page::is_c_slot`'s fields.
pub const PAGE_C_INVERSE: usize = segment::PAGE_C_INVERSE_OFFSET;
/// See [`PAGE_C_INVERSE`].
pub const PAGE_C_START: usize = segment::PAGE_C_START_OFFSET;
/// See [`PAGE_C_INVERSE`] (a `u32` below 64: its low byte is read).
pub const PAGE_C_SHIFT: usize = segment::PAGE_C_SHIFT_OFFSET;
/// See [`PAGE_C_INVERSE`] (`u64`, compared from memory).
pub const PAGE_CARVED: usize = core::mem::offset_of!(Page, carved);

/// The stubs' restartable ranges as the preload library registered them: the bounds of its
/// `gpa_fast_restart` section (`[start, end, restart]` triples of addresses, each stored
/// less its own address, written by the stubs' assembly); 0 and 0 before.
static RESTART_TABLE: [core::sync::atomic::AtomicUsize; 2] =
    [const { core::sync::atomic::AtomicUsize::new(0) }; 2];

/// Registers the stubs' restartable ranges: `[start, end)`, the `gpa_fast_restart` section of
/// the object the stubs were expanded in (its linker-made `__start_` and `__stop_` symbols),
/// `usize` triples.
pub fn register_restart_table(start: usize, end: usize) {
    RESTART_TABLE[1].store(end, core::sync::atomic::Ordering::Relaxed);
    RESTART_TABLE[0].store(start, core::sync::atomic::Ordering::Release);
}

/// Where a thread interrupted at `ip` inside a stub's inline free-list update resumes so that
/// the update runs again whole: a handler of the signal that interrupted it may allocate and
/// free on the same page meanwhile (`os::signal::defer`). `None` outside those ranges.
/// Async-signal-safe.
pub fn restart_point(ip: usize) -> Option<usize> {
    const ENTRY: usize = 3 * core::mem::size_of::<usize>();
    let start = RESTART_TABLE[0].load(core::sync::atomic::Ordering::Acquire);
    let end = RESTART_TABLE[1].load(core::sync::atomic::Ordering::Relaxed);
    (start..end).step_by(ENTRY).find_map(|entry| {
        // SAFETY: the registered section holds `usize` triples from `start` to `end`.
        let words = unsafe { (entry as *const [usize; 3]).read() };
        // Each word is an address less its own (position-independent: the section needs no
        // relocation, so it stays read-only and out of memory until a signal reads it).
        let [from, to, restart] = core::array::from_fn(|word| {
            words[word].wrapping_add(entry + word * core::mem::size_of::<usize>())
        });
        (from..to).contains(&ip).then_some(restart)
    })
}

// The layout the assembly assumes.
const _: () = assert!(PAGE_FREE == 0);
// `free` compares a whole word with `Page::carved` (fails to build if its type changes).
const _: fn(&Page) -> u64 = |page| page.carved;
const _: () = assert!(heap::C_SEGMENT_WAYS.is_power_of_two());
const _: () = assert!(UNITS.is_power_of_two() && UNIT_SIZE.is_power_of_two());
const _: () = assert!(segment::HEADER_OFFSET + core::mem::size_of::<Segment>() > UNIT_DESCRIPTOR);
const _: () =
    assert!(super::size_class::C_DIRECT_ENTRIES == super::size_class::C_LOOKUP_MAX / 16 + 1);

/// The slow ways' frame, as the Rust entry had it (`push rbp; mov rbp, rsp`, with its
/// call-frame information), the stack pointer then aligned to 16 bytes (`and rsp, -16`: a
/// program may call in on a misaligned stack): the first half of every stub of [`c_malloc_entry!`](crate::c_malloc_entry) and
/// [`c_free_entry!`](crate::c_free_entry), before its `call`.
#[doc(hidden)]
#[macro_export]
macro_rules! __c_entry_frame_open {
    () => {
        concat!(
            "push rbp\n",
            ".cfi_adjust_cfa_offset 8\n",
            ".cfi_rel_offset rbp, 0\n",
            "mov rbp, rsp\n",
            ".cfi_def_cfa_register rbp\n",
            // The program may call `malloc` or `free` on a misaligned stack (glibc's work
            // there): the Rust code called next gets the alignment the C ABI promises.
            "and rsp, -16",
        )
    };
}

/// The second half of every stub (after its `call`): the caller-saved registers
/// `getcontext` saves cleared (`capi::scrubbed` says why; the stubs of `free` clear `rax` too), the stack pointer restored, the frame popped, with its call-frame
/// information, and the return.
#[doc(hidden)]
#[macro_export]
macro_rules! __c_entry_frame_close {
    () => {
        concat!(
            $crate::__c_clear_scratch!(),
            "mov rsp, rbp\n",
            "pop rbp\n",
            ".cfi_def_cfa rsp, 8\n",
            ".cfi_restore rbp\n",
            "ret",
        )
    };
}

/// Clears the six caller-saved registers glibc's `getcontext` saves (`rcx`, `rdx`, `rsi`,
/// `rdi`, `r8`, `r9`): the end of every stub of [`c_malloc_entry!`](crate::c_malloc_entry)
/// and [`c_free_entry!`](crate::c_free_entry), and of the other exported allocation
/// functions (`capi::scrubbed`, which says why).
#[doc(hidden)]
#[macro_export]
macro_rules! __c_clear_scratch {
    () => {
        concat!(
            "xor ecx, ecx\n",
            "xor edx, edx\n",
            "xor esi, esi\n",
            "xor edi, edi\n",
            "xor r8d, r8d\n",
            "xor r9d, r9d\n",
        )
    };
}

/// A stub's call of the Rust function `$target` (an operand name in braces), counted as a C
/// call in progress (`heap::CCall`, in assembly: `r11` is neither an argument nor saved):
/// when the outermost ends with signals kept for it (`heap::defer_signal`: the count word is
/// then its flag alone), `heap::after_c_call` queues them again, the result in `rax` kept on
/// the stack (two words: the alignment stays 16 bytes).
#[doc(hidden)]
#[macro_export]
macro_rules! __c_entry_call {
    ($target:literal) => {
        concat!(
            "mov r11, qword ptr [rip + {anchor}.thread@GOTTPOFF]\n",
            "inc qword ptr fs:[r11 + {c_calls}]\n",
            "call ",
            $target,
            "\n",
            "mov r11, qword ptr [rip + {anchor}.thread@GOTTPOFF]\n",
            "dec qword ptr fs:[r11 + {c_calls}]\n",
            "je 71f\n",
            // A call inside another (its count, the low half, not zero): nothing yet.
            "test dword ptr fs:[r11 + {c_calls}], -1\n",
            "jne 71f\n",
            "push rax\n",
            "push rax\n",
            "call {replay}\n",
            "pop rax\n",
            "pop rax\n",
            "71:",
        )
    };
}

/// The body of the exported C `malloc` (a `#[unsafe(naked)] extern "C"` function of one
/// `usize` argument returning a pointer): the direct-table path of `c_paths::c_malloc`
/// without a frame; everything else through `capi::malloc_general` (no C heap, the sampled
/// countdown run out), `capi::malloc_rest` (sizes past the direct table, or an observer) and
/// `c_entry::entry_malloc_carve` (the page's free list empty). See `gpa::c_entry`.
#[doc(hidden)]
#[macro_export]
macro_rules! c_malloc_entry {
    () => {
        core::arch::naked_asm!(
            ".cfi_startproc",
            "80:",
            "mov rax, qword ptr [rip + {anchor}.thread@GOTTPOFF]",
            "mov rax, qword ptr fs:[rax + {c_heap}]",
            "test rax, rax",
            "je 2f",
            // The direct table's limit, 0 while an observer is registered.
            "cmp rdi, qword ptr [rip + {direct_below}]",
            "jae 3f",
            // Sampled guard mode's countdown (`guarded::due`).
            "dec qword ptr [rax + {countdown}]",
            "je 2f",
            "lea rcx, [rdi + 15]",
            "shr rcx, 4",
            "mov rsi, qword ptr [rax + rcx * 8 + {direct}]",
            // `Page::pop` of the free list, then the free key's word cleared (`pop_page`).
            "mov rax, qword ptr [rsi + {page_free}]",
            "test rax, rax",
            "je 4f",
            "mov rdx, qword ptr [rax]",
            // `segment::link_in_unit`: the link is followed only if it is 16-byte aligned in
            // the slot's unit; else (null, or a link the slow test must look at) label 5.
            "mov rcx, rdx",
            "xor rcx, rax",
            "test rcx, {link_mask}",
            "jne 5f",
            "6:",
            "mov qword ptr [rsi + {page_free}], rdx",
            "81:",
            "inc dword ptr [rsi + {page_used}]",
            "prefetcht0 byte ptr [rdx]",
            "mov qword ptr [rax + 8], 0",
            "ret",
            // The general path, with the frame the Rust entry had.
            "2:",
            $crate::__c_entry_frame_open!(),
            $crate::__c_entry_call!("{general}"),
            $crate::__c_entry_frame_close!(),
            "3:",
            $crate::__c_entry_frame_open!(),
            $crate::__c_entry_call!("{rest}"),
            $crate::__c_entry_frame_close!(),
            // The link failed `link_in_unit`: the end of the list goes on above; any other link
            // goes with the page to `entry_malloc_carve`, whose `Page::pop` tests it again and
            // follows it, or reports it and drops the rest of the list (`checked_link`).
            "5:",
            "test rdx, rdx",
            "je 6b",
            // The page in `rsi`, the countdown already counted.
            "4:",
            // Where a signal handler's `malloc` would meet this one's pop half done: run
            // from the start again (`restart_point`).
            ".pushsection gpa_fast_restart, \"aR\"",
            ".quad 80b - ., 81b - ., 80b - .",
            ".quad 5b - ., 4b - ., 80b - .",
            ".popsection",
            $crate::__c_entry_frame_open!(),
            $crate::__c_entry_call!("{carve}"),
            $crate::__c_entry_frame_close!(),
            ".cfi_endproc",
            anchor = sym $crate::tls::SYMBOL_ANCHOR,
            c_heap = const $crate::__capi::entry::C_HEAP,
            direct_below = sym $crate::__capi::entry::C_DIRECT_BELOW,
            countdown = const $crate::__capi::entry::COUNTDOWN,
            direct = const $crate::__capi::entry::DIRECT,
            page_free = const $crate::__capi::entry::PAGE_FREE,
            page_used = const $crate::__capi::entry::PAGE_USED,
            link_mask = const $crate::__capi::entry::LINK_MASK,
            general = sym $crate::__capi::malloc_general,
            rest = sym $crate::__capi::malloc_rest,
            carve = sym $crate::__capi::entry::entry_malloc_carve,
            c_calls = const $crate::__capi::entry::C_CALLS,
            replay = sym $crate::__capi::entry::after_c_call,
        )
    };
}

/// The body of the exported C `free` (a `#[unsafe(naked)] extern "C"` function of one pointer
/// argument): `c_paths::c_free` without a frame; everything else through `capi::free_general`
/// or, with no designated GPA, `capi::free_undesignated` (not a remembered segment of this
/// thread, an observer, not a carved slot),
/// `c_entry::entry_free_marked` (the slot carries the free key) and
/// `c_entry::entry_attend_own_page` (the page left its queue or emptied). See `gpa::c_entry`.
#[doc(hidden)]
#[macro_export]
macro_rules! c_free_entry {
    () => {
        core::arch::naked_asm!(
            ".cfi_startproc",
            "90:",
            // `heap::is_own_c_segment(base, observer::gate())`.
            "mov rax, qword ptr [rip + {gate}]",
            "mov rcx, qword ptr [rip + {anchor}.thread@GOTTPOFF]",
            "mov rsi, rdi",
            "and rsi, {segment_mask}",
            "mov edx, edi",
            "shr edx, {way_shift}",
            "and edx, {way_mask}",
            "add rax, rsi",
            // The entry read through `fs` (the thread pointer's segment), as `malloc` reads
            // the C heap slot: no `add` of `fs:[0]`.
            "cmp qword ptr fs:[rcx + rdx + {c_segments}], rax",
            "jne 2f",
            // `Segment::page_of_unchecked`: the page in `rsi`.
            "mov eax, edi",
            "shr eax, {unit_shift}",
            "and eax, {unit_mask}",
            "movzx eax, word ptr [rsi + rax + {units}]",
            "add rsi, rax",
            // `Page::is_c_slot`.
            "mov rdx, qword ptr [rsi + {c_inverse}]",
            "imul rdx, rdi",
            "sub rdx, qword ptr [rsi + {c_start}]",
            "movzx ecx, byte ptr [rsi + {c_shift}]",
            "ror rdx, cl",
            "cmp rdx, qword ptr [rsi + {carved}]",
            "jae 2f",
            // `free_own_slot`: the double-free key checked and set, the slot pushed.
            "mov rax, qword ptr [rip + {free_key}]",
            "cmp qword ptr [rdi + 8], rax",
            "je 3f",
            "mov qword ptr [rdi + 8], rax",
            "91:",
            "mov rax, qword ptr [rsi + {page_free}]",
            "mov qword ptr [rdi], rax",
            "mov qword ptr [rsi + {page_free}], rdi",
            "92:",
            "dec dword ptr [rsi + {page_used}]",
            "js 4f",
            "ret",
            // Where a signal handler's `malloc` or `free` would meet this one's push half
            // done: from the start again before the key is set, else from the push's start
            // (`restart_point`).
            ".pushsection gpa_fast_restart, \"aR\"",
            ".quad 90b - ., 91b - ., 90b - .",
            ".quad 91b - ., 92b - ., 91b - .",
            ".popsection",
            // The general path, with the frame the Rust entry had: `free_general` with a
            // designated GPA, else (check mode) `free_undesignated`.
            "2:",
            $crate::__c_entry_frame_open!(),
            "cmp qword ptr [rip + {heap_gpa}], 0",
            "je 5f",
            $crate::__c_entry_call!("{general}"),
            ".cfi_remember_state",
            "xor eax, eax",
            $crate::__c_entry_frame_close!(),
            ".cfi_restore_state",
            "5:",
            $crate::__c_entry_call!("{undesignated}"),
            "xor eax, eax",
            $crate::__c_entry_frame_close!(),
            // The slot in `rdi`, its page in `rsi`.
            "3:",
            $crate::__c_entry_frame_open!(),
            $crate::__c_entry_call!("{marked}"),
            "xor eax, eax",
            $crate::__c_entry_frame_close!(),
            // The page in `rsi`.
            "4:",
            $crate::__c_entry_frame_open!(),
            "mov rdi, rsi",
            $crate::__c_entry_call!("{attend}"),
            "xor eax, eax",
            $crate::__c_entry_frame_close!(),
            ".cfi_endproc",
            gate = sym $crate::__capi::entry::OBSERVER_GATE,
            anchor = sym $crate::tls::SYMBOL_ANCHOR,
            segment_mask = const $crate::__capi::entry::SEGMENT_MASK,
            way_shift = const $crate::__capi::entry::WAY_SHIFT,
            way_mask = const $crate::__capi::entry::WAY_MASK,
            c_segments = const $crate::__capi::entry::C_SEGMENTS,
            unit_shift = const $crate::__capi::entry::UNIT_INDEX_SHIFT,
            unit_mask = const $crate::__capi::entry::UNIT_INDEX_MASK,
            units = const $crate::__capi::entry::UNIT_DESCRIPTOR,
            c_inverse = const $crate::__capi::entry::PAGE_C_INVERSE,
            c_start = const $crate::__capi::entry::PAGE_C_START,
            c_shift = const $crate::__capi::entry::PAGE_C_SHIFT,
            carved = const $crate::__capi::entry::PAGE_CARVED,
            free_key = sym $crate::__capi::entry::C_FREE_KEY,
            page_free = const $crate::__capi::entry::PAGE_FREE,
            page_used = const $crate::__capi::entry::PAGE_USED,
            heap_gpa = sym $crate::__capi::entry::C_HEAP_GPA,
            general = sym $crate::__capi::free_general,
            undesignated = sym $crate::__capi::free_undesignated,
            marked = sym $crate::__capi::entry::entry_free_marked,
            attend = sym $crate::__capi::entry::entry_attend_own_page,
            c_calls = const $crate::__capi::entry::C_CALLS,
            replay = sym $crate::__capi::entry::after_c_call,
        )
    };
}
