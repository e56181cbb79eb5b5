//! A caching stack unwinder (x86-64 Linux): stack traces of code without frame pointers at a
//! few loads per frame instead of libgcc's `_Unwind_Backtrace`. `gpa run`'s check mode uses it
//! for C programs, and [`TraceMethod::Auto`](super::TraceMethod::Auto) for Rust code built
//! without frame pointers.
//!
//! # Design
//! C programs from a distribution, and Rust crates built with the default flags, have no frame
//! pointers, so each frame's caller is found from the DWARF call-frame information
//! (`.eh_frame`). libgcc interprets that information anew on
//! every walk (finding the FDE, running its CFA program), which cost about 60% of check mode's
//! time on an allocation-bound program. Here the *rule* for a return address (how to find the
//! canonical frame address, CFA, from `rsp` or `rbp`, and where `rbp` was saved) is computed
//! once with `gimli` and kept in a process-wide direct-mapped cache; a walk is then, per
//! frame, one cache probe and two loads:
//!
//! ```text
//! cfa = (rbp if rule.from_rbp else rsp) + rule.cfa_offset
//! return address = [cfa - 8]            (x86-64: pushed by `call`)
//! rbp = [cfa + rule.rbp_offset]         (if the frame saved it; else unchanged)
//! rsp = cfa
//! ```
//!
//! Before any walk, [`capture_user`] asks the thread's remembered captures ([`Memo`]): a
//! capture from the same registers on the same stack whose every stack word read (the
//! allocator's frame-pointer chain, each program frame's return address, a saved `rbp` only
//! where a rule uses it) still holds its value makes the same trace, so that trace is the
//! answer, for a load and a compare per word.
//!
//! A capture no memo answers asks the thread's recalled walks ([`Recall`]) before it walks:
//! the remembered walk from the same first frame ([`Path`]) gives the positions of the
//! return-address slots (relative to the first frame), and a hash of those positions and the
//! words now in them finds a full-depth walk that read the same words at the same positions,
//! whose trace is the answer ([`recall_key`]): a recursion's captures come back to the same
//! call paths under ever new memo keys.
//!
//! Computing a rule is the heavy part (gimli's CFI evaluation): it runs on a stack of gpa's
//! own ([`crate::os::stack`]), so that a walk on a program's small stack (a `clone()` child,
//! a coroutine, a signal handler's alternate stack) needs only its own few hundred bytes
//! there in a release build. The walk itself stays on the program's stack (moving it too,
//! when off the thread's own stack, saved 3.5 KiB in a debug build and nothing in a release
//! one, for 1.4% more instructions on cfrac's memo misses).
//!
//! Rules that do not fit this shape (CFA from a DWARF expression, as in PLT stubs) and
//! addresses outside every loaded object end the walk: a trace may be shorter than libgcc's,
//! never wrong in a way that reads outside the stack. Code without an `.eh_frame` entry
//! (built with `-fno-asynchronous-unwind-tables`) gets its rule from the file's
//! `.debug_frame` where `-g` kept one ([`debug_frame`]). Code of a loaded object that has no
//! call-frame information at all (no `-g` either, hand-written assembly) is left by its frame
//! pointer, as Valgrind falls back to `rbp` where it finds no
//! CFI ([`frame_pointer_guess`], [`through_frame_pointer`]): such code at `-O0` keeps frame
//! pointers, and its traces stopped at its first frame. The return address found so must lie
//! in a loaded object's code, right after a call instruction ([`follows_a_call`]); else the
//! walk ends there, as before. Like a signal frame, such a frame ends the cached walk and is
//! passed by the rules, unremembered, off the common path. A signal trampoline (its CIE marked `S`,
//! cached as [`SIGNAL_FRAME`]) is walked through: the interrupted code's `rip`, `rsp` and
//! `rbp` are read from the `ucontext_t` the kernel pushed ([`through_signal_frame`]), and the
//! rest of the trace is walked by the rules, unremembered ([`walk_past_signal_frames`]).
//!
//! # Invariants
//! * A cache slot is written as key 0, then rule, then key; a reader accepts the rule only if
//!   the key it read before and after equals its address (a torn read is a miss).
//! * Computing a rule allocates (gimli's context): an allocator calls [`capture`] and
//!   [`capture_user`] inside its re-entrancy guard (see [`super::TraceMethod::needs_guard`]),
//!   so those requests go to its internal heap.
//! * The walk reads only `[cfa - 8]` and `[cfa + rbp_offset]` with `rsp < cfa <= top`, where
//!   `top` is the end of the stack the thread runs on ([`super::current_stack_bounds`]; when
//!   it is not known, the CFI alone bounds the walk). A replayed step (remembered walks, the
//!   shadow stack) is checked against the current `top` before its slot is read, and the
//!   crossing of the allocator's own frame-pointer chain reads only `[fp, fp + 16)` below it.
//! * The thread's shadow stack ([`Shadow`]) is a chain with positions strictly growing, so a
//!   step of it is replayed only from the frame its predecessor reached (or one found equal
//!   to it: same return address at the same stack pointer), after the check a remembered
//!   step gets ([`still_holds`]); it is a hint, never trusted where the stack changed. The
//!   library calls no `memcpy` from a walk (that would be its own checked one).
//! * A [`Memo`] answers only with the same `sp`, `bp`, `top`, depth and memo generation as the
//!   capture it remembers (read before its walk; [`forget_rules`] and a new module epoch,
//!   [`forget_memos`], bump it), and reads only words that capture's walk read, in
//!   `[sp, top)`.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::path_cache;

mod debug_frame;
use crate::trace::{TraceId, MAX_FRAMES};

const CACHE_LEN: usize = 1 << 14;
static KEYS: [AtomicUsize; CACHE_LEN] = [const { AtomicUsize::new(0) }; CACHE_LEN];
static RULES: [AtomicU64; CACHE_LEN] = [const { AtomicU64::new(0) }; CACHE_LEN];

const VALID: u64 = 1 << 63;
const FROM_RBP: u64 = 1 << 62;
const RBP_SAVED: u64 = 1 << 61;
/// A cached "no usable rule here".
const NO_RULE: u64 = 1;
/// A cached "no usable rule here: a signal trampoline" ([`through_signal_frame`]).
const SIGNAL_FRAME: u64 = 2;
/// A cached "no rule here: code without call-frame information, unwound by its frame
/// pointer" ([`frame_pointer_guess`], [`through_frame_pointer`]).
const FRAME_POINTER_GUESS: u64 = 3;
/// Whether any address was found to be a signal trampoline ([`SIGNAL_FRAME`]) or code without
/// call-frame information ([`FRAME_POINTER_GUESS`]) in this process: until one is, no walk
/// can have ended at one, and a walk's end needs no second look-up of its last rule
/// ([`walk_past_signal_frames`]).
static SIGNAL_FRAMES_SEEN: core::sync::atomic::AtomicBool =
    core::sync::atomic::AtomicBool::new(false);

/// Frames bigger than this end the walk (a corrupt rule or stack).
const MAX_FRAME: usize = 1 << 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rule {
    from_rbp: bool,
    cfa_offset: i32,
    rbp_offset: Option<i16>,
}

impl Rule {
    fn pack(self) -> u64 {
        let mut bits = VALID | u64::from(self.cfa_offset as u32);
        if self.from_rbp {
            bits |= FROM_RBP;
        }
        if let Some(offset) = self.rbp_offset {
            bits |= RBP_SAVED | (u64::from(offset as u16) << 32);
        }
        bits
    }

    fn unpack(bits: u64) -> Option<Rule> {
        (bits & VALID != 0).then(|| Rule {
            from_rbp: bits & FROM_RBP != 0,
            cfa_offset: bits as u32 as i32,
            rbp_offset: (bits & RBP_SAVED != 0).then_some((bits >> 32) as u16 as i16),
        })
    }
}

#[inline]
fn slot(address: usize) -> usize {
    (address ^ (address >> 14) ^ (address >> 28)) & (CACHE_LEN - 1)
}

#[inline]
fn rule_for(address: usize) -> Option<Rule> {
    Rule::unpack(rule_bits(address))
}

/// The cached rule for `address`, packed: a [`Rule`], [`NO_RULE`] or [`SIGNAL_FRAME`].
#[inline(always)]
fn rule_bits(address: usize) -> u64 {
    let index = slot(address);
    if KEYS[index].load(Ordering::Acquire) == address {
        let bits = RULES[index].load(Ordering::Acquire);
        if KEYS[index].load(Ordering::Acquire) == address {
            return bits;
        }
    }
    let bits = compute(address);
    KEYS[index].store(0, Ordering::Release);
    RULES[index].store(bits, Ordering::Release);
    KEYS[index].store(address, Ordering::Release);
    bits
}

/// Forgets every cached rule: an object is about to be unloaded, and another may be loaded at
/// its addresses later (`dlclose`, see `super::unload`).
pub fn forget_rules() {
    debug_frame::forget();
    for key in &KEYS {
        key.store(0, Ordering::Release);
    }
    // Remembered captures ([`Memo`]) used the old rules.
    forget_memos();
}

/// Makes every remembered capture ([`Memo`]) of every thread stale: the unwind rules are
/// forgotten ([`forget_rules`]), or a module epoch ended (`super::next_module_epoch`, which
/// calls this after starting the new epoch: a capture that read the generation before this
/// bump and interned in the old epoch is not answered again).
pub fn forget_memos() {
    MEMO_GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// The rule for `address` from its object's CFI, computed on a stack of gpa's own
/// ([`crate::os::stack::on_own_stack`]): gimli's evaluation takes kilobytes of stack (tens
/// in a debug build), more than a program's small stack (a `clone()` child's, a coroutine's, a
/// signal handler's alternate one) may have left.
#[cold]
#[inline(never)]
fn compute(address: usize) -> u64 {
    crate::os::stack::on_own_stack(|| match compute_here(address) {
        Some(rule) => rule.pack(),
        // Only where no rule fits (the stack's end, PLT stubs, trampolines), once per address.
        None if is_signal_trampoline(address) => {
            SIGNAL_FRAMES_SEEN.store(true, Ordering::Relaxed);
            SIGNAL_FRAME
        }
        None if frame_pointer_guess(address) => {
            SIGNAL_FRAMES_SEEN.store(true, Ordering::Relaxed);
            FRAME_POINTER_GUESS
        }
        None => NO_RULE,
    })
}

/// The call frame information's row for the code at `address` (an instruction's address, not
/// a return address), from the `.eh_frame` of the object holding it, found through its
/// `.eh_frame_hdr`'s binary-search table; `context` holds the row. `None` where the object
/// has no such table or no entry covers `address`. With the row, the object's `.eh_frame`
/// (which a rule given by a DWARF expression reads). Shared by [`compute_here`] (the rule a
/// trace's walk caches) and [`step_registers`] (every register rule, for the leak scan).
fn unwind_row(
    address: usize,
    context: &mut gimli::UnwindContext<usize>,
) -> Option<(&gimli::UnwindTableRow<usize>, EhFrameSection)> {
    use gimli::{EhFrame, UnwindSection};

    let (header, eh_frame, bases) = eh_frame_of(address)?;
    let table = header.table()?;
    let row = table
        .unwind_info_for_address(
            &eh_frame,
            &bases,
            context,
            address as u64,
            EhFrame::cie_from_offset,
        )
        .ok()?;
    Some((row, eh_frame))
}

/// The `.eh_frame_hdr` (parsed), `.eh_frame` and section bases of the object holding
/// `address`; `None` where the object has no such table.
fn eh_frame_of(
    address: usize,
) -> Option<(
    gimli::ParsedEhFrameHdr<gimli::EndianSlice<'static, gimli::NativeEndian>>,
    EhFrameSection,
    gimli::BaseAddresses,
)> {
    use gimli::{BaseAddresses, EhFrame, EhFrameHdr, NativeEndian, Pointer};

    let object = crate::os::object_containing(address)?;
    let header = object.eh_frame_header;
    let end = object.end;
    if header == 0 || header >= end {
        return None;
    }
    // SAFETY: `.eh_frame_hdr` and `.eh_frame` lie in the object's mapping, `[start, end)`,
    // which stays mapped while code of it is on the stack; gimli reads only the entries it
    // is pointed to.
    let header_bytes: &'static [u8] =
        unsafe { core::slice::from_raw_parts(header as *const u8, end - header) };
    let bases = BaseAddresses::default().set_eh_frame_hdr(header as u64);
    let parsed = EhFrameHdr::new(header_bytes, NativeEndian)
        .parse(&bases, 8)
        .ok()?;
    let Pointer::Direct(frame_start) = parsed.eh_frame_ptr() else {
        return None;
    };
    let frame_start = frame_start as usize;
    if frame_start == 0 || frame_start >= end {
        return None;
    }
    // SAFETY: as above.
    let frame_bytes: &'static [u8] =
        unsafe { core::slice::from_raw_parts(frame_start as *const u8, end - frame_start) };
    let eh_frame = EhFrame::new(frame_bytes, NativeEndian);
    let bases = bases.set_eh_frame(frame_start as u64);
    Some((parsed, eh_frame, bases))
}

/// Whether the code at `address` is a signal trampoline (the code a signal handler returns
/// to, which calls `rt_sigreturn`): the call-frame information marks its entry so (`S` in
/// its CIE's augmentation, as glibc's `__restore_rt`).
fn is_signal_trampoline(address: usize) -> bool {
    use gimli::{EhFrame, UnwindSection};

    let Some((header, eh_frame, bases)) = eh_frame_of(address) else {
        return false;
    };
    header.table().is_some_and(|table| {
        table
            .fde_for_address(&eh_frame, &bases, address as u64, EhFrame::cie_from_offset)
            .is_ok_and(|fde| fde.cie().is_signal_trampoline())
    })
}

/// Whether `address` is in the code of a loaded object that has no call-frame information
/// for it at all, to be unwound by its frame pointer ([`through_frame_pointer`]), as
/// Valgrind's unwinder falls back to `rbp` where it finds no CFI. `false` where the object
/// has an entry for `address` (whose rule did not fit: a PLT stub, the outermost frame), or
/// `address` is not in an executable segment of a loaded object (data, JIT code).
fn frame_pointer_guess(address: usize) -> bool {
    use gimli::{EhFrame, UnwindSection};

    let Some(object) = crate::os::object_containing(address) else {
        return false;
    };
    if let Some((header, eh_frame, bases)) = eh_frame_of(address) {
        let covered = header.table().is_some_and(|table| {
            table
                .fde_for_address(&eh_frame, &bases, address as u64, EhFrame::cie_from_offset)
                .is_ok()
        });
        if covered {
            return false;
        }
    }
    in_executable_segment(object.start, address)
}

/// The caller's state from `state`, at code without call-frame information
/// ([`FRAME_POINTER_GUESS`]; `first` as in [`step`]), by the frame-pointer rule (CFA
/// `rbp + 16`, the return address below it, the caller's `rbp` below that: `push rbp; mov
/// rbp, rsp`). In code built without frame pointers `rbp` holds anything, so the return
/// address found is taken only where it [`follows_a_call`]; `None` otherwise, or where the
/// frame is not on the stack (`[sp, top)`), or `state` is not at such code.
fn through_frame_pointer(state: State, first: bool) -> Option<State> {
    let lookup = if first { state.ip } else { state.ip - 1 };
    if rule_bits(lookup) != FRAME_POINTER_GUESS {
        return None;
    }
    let cfa = state.bp.checked_add(16)?;
    if state.bp < state.sp || cfa - state.sp > MAX_FRAME || cfa % 8 != 0 || cfa > state.top {
        return None;
    }
    // SAFETY: `[bp, bp + 16)` lies in the stack the thread runs on (`sp <= bp`, `bp + 16 <=
    // top`, checked just above), 8-aligned.
    let (saved_bp, return_address) = unsafe {
        (
            (state.bp as *const usize).read(),
            ((state.bp + 8) as *const usize).read(),
        )
    };
    follows_a_call(return_address).then_some(State {
        ip: return_address,
        sp: cfa,
        bp: saved_bp,
        top: state.top,
    })
}

/// [`through_signal_frame`] or [`through_frame_pointer`], whichever `state` is at: the next
/// state, and whether its `ip` is an exact instruction address (the interrupted one) rather
/// than a return address.
fn through_special_frame(state: State, first: bool) -> Option<(State, bool)> {
    if let Some(interrupted) = through_signal_frame(state, first) {
        return Some((interrupted, true));
    }
    through_frame_pointer(state, first).map(|caller| (caller, false))
}

/// Whether `address` lies in a `PT_LOAD` segment marked executable of the ELF object mapped
/// from `start` (its first segment, which holds the ELF header and the program headers, as
/// every linker lays them out). Reads only the object's first page.
fn in_executable_segment(start: usize, address: usize) -> bool {
    const PT_LOAD: u32 = 1;
    const PF_X: u32 = 1;
    const PHDR_SIZE: usize = 56;
    let page = crate::os::page_size();
    // Up to 8 bytes at `offset` in the object's first page, little-endian.
    let read = |offset: usize, len: usize| -> Option<u64> {
        if offset + len > page || len > 8 {
            return None;
        }
        let mut bytes = [0u8; 8];
        // SAFETY: `start` is where the loader mapped the object's first segment (readable: it
        // holds the headers the loader itself read), and `[offset, offset + len)` is within
        // its first page; `len` bytes fit in `bytes`.
        unsafe {
            core::ptr::copy_nonoverlapping((start + offset) as *const u8, bytes.as_mut_ptr(), len)
        };
        Some(u64::from_le_bytes(bytes))
    };
    // "\x7fELF", 64-bit (class 2), little-endian (data 1).
    if read(0, 4) != Some(0x464c_457f) || read(4, 2) != Some(0x0102) {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (read(32, 8), read(54, 2), read(56, 2))
    else {
        return false;
    };
    if phentsize as usize != PHDR_SIZE {
        return false;
    }
    let headers = (0..phnum as usize).filter_map(|index| {
        let at = (phoff as usize).checked_add(index * PHDR_SIZE)?;
        Some((
            read(at, 4)? as u32,
            read(at + 4, 4)? as u32,
            read(at + 16, 8)?,
            read(at + 40, 8)?,
        ))
    });
    let mut bias = None;
    let mut executable = false;
    for (kind, flags, vaddr, memsz) in headers {
        if kind != PT_LOAD {
            continue;
        }
        // The first `PT_LOAD` is mapped at `start`, its address rounded down to a page.
        let bias = *bias.get_or_insert(start.wrapping_sub(vaddr as usize & !(page - 1)));
        let first = bias.wrapping_add(vaddr as usize);
        if flags & PF_X != 0 && address >= first && address - first < memsz as usize {
            executable = true;
        }
    }
    executable
}

/// Whether `return_address`, found by [`through_frame_pointer`], is one: it lies in a loaded
/// object's code (it has a rule itself, or is such code too) right after a call instruction
/// (`call rel32`, or `call` through a register or memory operand: `ff /2`). Where the bytes
/// before it cross into the previous page, only the first test is made.
fn follows_a_call(return_address: usize) -> bool {
    if return_address < 8 {
        return false;
    }
    let bits = rule_bits(return_address - 1);
    if bits & VALID == 0 && bits != FRAME_POINTER_GUESS {
        return false;
    }
    let page = return_address.wrapping_sub(1) & !(crate::os::page_size() - 1);
    if return_address - 7 < page {
        return true;
    }
    // SAFETY: `[return_address - 7, return_address)` lies in the page of `return_address - 1`,
    // which is in an executable segment of a loaded object (it has a rule, or is such code
    // without one): mapped, readable.
    let byte = |back: usize| unsafe { ((return_address - back) as *const u8).read() };
    if byte(5) == 0xe8 {
        return true;
    }
    // `ff /2`: the ModR/M byte's `reg` field 2; its length from `mod` and `rm` (a SIB byte,
    // an 8- or 32-bit displacement, RIP-relative) must end the instruction at the return
    // address.
    (2..=7).any(|length| {
        if byte(length) != 0xff {
            return false;
        }
        let modrm = byte(length - 1);
        if (modrm >> 3) & 7 != 2 {
            return false;
        }
        let (mode, rm) = (modrm >> 6, modrm & 7);
        let mut expected = 2;
        if mode != 3 && rm == 4 {
            expected += 1;
            if mode == 0 && length >= 3 && byte(length - 2) & 7 == 5 {
                expected += 4;
            }
        }
        expected += match (mode, rm) {
            (0, 5) => 4,
            (1, _) => 1,
            (2, _) => 4,
            _ => 0,
        };
        expected == length
    })
}

/// Where `ucontext_t::uc_mcontext` starts (x86-64: after `uc_flags`, `uc_link` and the
/// 24-byte `uc_stack`), and the indexes of `rbp`, `rsp` and `rip` in its `gregs`.
const UC_MCONTEXT: usize = 40;
const GREG_RBP: usize = 10;
const GREG_RSP: usize = 15;
const GREG_RIP: usize = 16;

/// The state of the code a signal interrupted, when `state` is at a signal trampoline (a
/// handler's frame returned to it: `first` as in [`step`]): the kernel's signal frame lies at
/// the stack pointer, a `ucontext_t` (its return address, the trampoline's, already popped),
/// which holds the interrupted registers. `None` when `state` is not at a trampoline, or the
/// context is not on the stack (`[sp, top)`) or names no frame above the handler's.
fn through_signal_frame(state: State, first: bool) -> Option<State> {
    let lookup = if first { state.ip } else { state.ip - 1 };
    if rule_bits(lookup) != SIGNAL_FRAME {
        return None;
    }
    let registers = state.sp.checked_add(UC_MCONTEXT)?;
    let end = registers.checked_add((GREG_RIP + 1) * 8)?;
    if state.sp % 8 != 0 || end > state.top {
        return None;
    }
    // SAFETY: `[registers, end)` lies in the stack the thread runs on, between the state's
    // stack pointer and `top` (checked just above), and is 8-aligned.
    let greg = |index: usize| unsafe { ((registers + index * 8) as *const usize).read() };
    let (ip, sp, bp) = (greg(GREG_RIP), greg(GREG_RSP), greg(GREG_RBP));
    (ip != 0 && sp > state.sp && sp <= state.top).then_some(State {
        ip,
        sp,
        bp,
        top: state.top,
    })
}

/// A loaded object's `.eh_frame`, read in place.
type EhFrameSection = gimli::EhFrame<gimli::EndianSlice<'static, gimli::NativeEndian>>;

/// [`compute`] on the stack it is called on.
#[inline(never)]
fn compute_here(address: usize) -> Option<Rule> {
    let mut context = gimli::UnwindContext::new();
    if let Some((row, _)) = unwind_row(address, &mut context) {
        return rule_of(row);
    }
    // No `.eh_frame` entry: the rules may be in the file's `.debug_frame`.
    debug_frame_rule(address)
}

/// The rule for `address` from its object's `.debug_frame` ([`debug_frame`]), where the
/// object has one with an entry for it.
fn debug_frame_rule(address: usize) -> Option<Rule> {
    use gimli::{DebugFrame, NativeEndian, UnwindSection};

    let object = crate::os::object_containing(address)?;
    let frame = debug_frame::of(&object)?;
    let mut section = DebugFrame::new(frame.section, NativeEndian);
    section.set_address_size(8);
    let mut context = gimli::UnwindContext::new();
    let row = section
        .unwind_info_for_address(
            &gimli::BaseAddresses::default(),
            &mut context,
            address.wrapping_sub(frame.bias) as u64,
            DebugFrame::cie_from_offset,
        )
        .ok()?;
    rule_of(row)
}

/// The rule a row of call-frame information gives, where it fits [`Rule`]'s shape.
fn rule_of<T: gimli::ReaderOffset>(row: &gimli::UnwindTableRow<T>) -> Option<Rule> {
    use gimli::{CfaRule, RegisterRule, X86_64};

    let (from_rbp, cfa_offset) = match row.cfa() {
        CfaRule::RegisterAndOffset { register, offset } if *register == X86_64::RSP => {
            (false, *offset)
        }
        CfaRule::RegisterAndOffset { register, offset } if *register == X86_64::RBP => {
            (true, *offset)
        }
        _ => return None,
    };
    match row.register(X86_64::RA) {
        Some(RegisterRule::Offset(-8)) | None => {}
        _ => return None,
    }
    let rbp_offset = match row.register(X86_64::RBP) {
        Some(RegisterRule::Offset(offset)) => Some(i16::try_from(offset).ok()?),
        Some(RegisterRule::Undefined | RegisterRule::SameValue) | None => None,
        _ => return None,
    };
    Some(Rule {
        from_rbp,
        cfa_offset: i32::try_from(cfa_offset).ok()?,
        rbp_offset,
    })
}

/// A walk's position: the address the frame executes (or returns to), its stack pointer and
/// the value `rbp` holds in it; and `top`, the end of the stack the thread runs on (no walk
/// reads at or above it; `usize::MAX` when it is not known, and the CFI alone bounds the walk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct State {
    ip: usize,
    sp: usize,
    bp: usize,
    top: usize,
}

/// One unwinding step as a walk took it, in positions relative to the walk's first frame
/// (`base`: that frame's stack pointer), so that a later walk can check, instead of redo, the
/// step, at any stack depth (see [`PathCache`]).
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Step {
    /// The return address reached.
    ip: usize,
    /// The CFA of the frame left (the caller's stack pointer), minus `base`.
    sp: usize,
    /// Where the step reloaded `rbp` from, as an offset from the CFA (`sp`; a constant of the
    /// rule, so no part of rebasing), or 0 when it left `rbp` unchanged; bit 0 is `RBP_RULE`
    /// (saved-register slots and CFAs are 8-aligned, so offsets are multiples of 8).
    slot: usize,
    /// The `rbp` value the step's rule computed the CFA from, minus `base` (when the rule used
    /// `rbp`: `RBP_RULE` in `slot`).
    bp_used: usize,
}

/// `Step::slot` flag: the step's rule computed the CFA from `rbp`.
const RBP_RULE: usize = 1;

/// Steps a thread remembers per walk (a deeper walk remembers its innermost steps).
const PATH_STEPS: usize = 15;
/// Walks a thread remembers, one per first frame (the program's call to `malloc`, `free`, ...),
/// direct-mapped by that frame's return address.
const PATHS: usize = 16;
const _: () = assert!(PATHS.is_power_of_two());

/// A remembered walk: `steps[..len]` after the first frame (`first`, at relative position 0),
/// entered from the allocator at `entry`. `ended`: the walk stopped because unwinding could go
/// no further (not because the output was full). `trace`: the interned trace of the entry and
/// the first `depth` frames, when they are all of it, interned in module epoch `epoch` (or a
/// later one): a trace id answers only for its epoch (`trace::next_module_epoch`), and an
/// object loaded where an unloaded one was gives the same walk (before, the second of two
/// libraries loaded at one address had its leak merged into the first's record, in about one
/// run of five: `cxx.rs`, `frames_of_an_unloaded_library_are_named_from_that_library`).
struct Path {
    first: usize,
    entry: usize,
    len: usize,
    ended: bool,
    depth: usize,
    trace: u32,
    epoch: u32,
    steps: [Step; PATH_STEPS],
}

/// Steps the thread's shadow stack holds ([`Shadow`]): room for a walk's own steps below the
/// frames it joins, and for the frames above the walks that later walks may climb back to.
const SHADOW_STEPS: usize = 64;
const _: () = assert!(SHADOW_STEPS >= 2 * MAX_FRAMES);

/// The thread's shadow stack: the steps of the frames walked and not seen returned since, at
/// their absolute positions (base 0), innermost first and outermost last in
/// `steps[SHADOW_STEPS - held..]`. A walk writes only its own new steps, just below the frame
/// where it joins the shadow stack; the steps from there on stay where they are (see
/// [`walk_on`]).
///
/// Invariants (of `steps[SHADOW_STEPS - held..]`): positions (`sp`) strictly grow, and each
/// step after the first is the step from the frame the one before it reached (its return
/// address and CFA): a *chain*, so that a walk standing on the frame a step reached replays
/// the next step after checking only that step. The steps are hints, never trusted: each is
/// checked against the stack before it is replayed.
///
/// ```text
///  steps: [ stale ... | new steps of the last walk | steps kept from earlier walks ]
///          0            SHADOW_STEPS - held          (outermost last)  SHADOW_STEPS
/// ```
struct Shadow {
    held: usize,
    steps: [Step; SHADOW_STEPS],
}

impl Step {
    /// The step at absolute positions, from one relative to `base`.
    fn absolute(&self, base: usize) -> Step {
        self.rebased(base, 0)
    }

    /// The step relative to `base`, from one at absolute positions.
    fn relative(&self, base: usize) -> Step {
        self.rebased(0, base)
    }

    #[inline(always)]
    fn rebased(&self, from: usize, to: usize) -> Step {
        Step {
            ip: self.ip,
            sp: self.sp.wrapping_add(from).wrapping_sub(to),
            slot: self.slot,
            bp_used: self.bp_used.wrapping_add(from).wrapping_sub(to),
        }
    }

    /// Where the step reloads `rbp` from when its CFA is `cfa` (absolute), or `None` when it
    /// leaves `rbp` unchanged.
    #[inline(always)]
    fn reload_from(&self, cfa: usize) -> Option<usize> {
        let offset = self.slot & !RBP_RULE;
        (offset != 0).then(|| cfa.wrapping_add(offset))
    }
}

/// The calling thread's remembered walks: a "shadow stack" (after bytehound's: frames that
/// have not returned since the last walk need not be unwound again, only checked). A frame is
/// identified by its return address and its position relative to the walk's first frame, and
/// a remembered step from it is replayed after checking that its return address is still in
/// its slot (and, for a rule that used `rbp`, that `rbp` is the same): a load or two instead
/// of a rule lookup. Positions are relative, so a walk from the same code at another depth of
/// a recursion replays too; a walk replayed whole reuses the remembered trace id.
///
/// Part of the thread's trace caches (`trace::Caches`), out of static TLS: reached with
/// [`path_cache`] at a capture's start and handed down.
#[repr(C)]
pub(crate) struct PathCache {
    paths: UnsafeCell<[Path; PATHS]>,
    /// The shadow stack: steps of the walks that went beyond their remembered path, at
    /// absolute positions, outermost last ([`Shadow`]).
    shadow: UnsafeCell<Shadow>,
    /// Remembered captures ([`Memo`]).
    memos: UnsafeCell<[Memo; MEMOS]>,
    /// Remembered captures of [`capture_user_at`], kept apart from [`capture_user`]'s so
    /// that the entries that capture the first way (`realloc`, reports) do not evict them.
    entry_memos: UnsafeCell<[Memo; ENTRY_MEMOS]>,
    /// The entry memo of the last capture of [`remembered_at`] in each lane (`lane & 1`), as
    /// its byte offset in `entry_memos` ([`LastMemo`]).
    last_memo: UnsafeCell<[LastMemo; 2]>,
    /// Each entry memo's victim: what the memo at the same index held before it last
    /// remembered anew, asked by [`capture_unanswered`] when the memo does not answer (before
    /// a walk). A key whose callers take turns (cfrac's: one stack pointer and return address,
    /// two call paths above) keeps both; so do two keys that take turns in one place
    /// (alloc_workload's `malloc` and `strdup`'s, one frame below the other, at the stack
    /// positions where [`entry_memo_index`] gives them the same memo).
    entry_victims: UnsafeCell<[Memo; ENTRY_MEMOS]>,
    /// Traces of full-depth walks by the shape and words they read ([`Recall`]), asked by
    /// [`walk_and_remember_inline`] before it walks.
    recalls: UnsafeCell<[Recall; RECALLS]>,
}

impl PathCache {
    /// Forgets the records at absolute positions on the stack of the thread that used this
    /// cache, before another thread gets it (`trace::Caches::forget_thread`): the shadow
    /// stack, and each lane's last memo ([`LastMemo`], which holds no position: only which
    /// memo to ask first, whose key is checked in full). What stays is checked against the
    /// capturing thread's own stack before use: the paths' steps (their return addresses in
    /// their slots, their CFA under the stack's top), the memos (their stack pointer and top
    /// equal to the capture's, and every word they read unchanged), the recalled walks (their
    /// positions relative, bounded by the capturing thread's `top`, their words read from its
    /// stack, [`recall_key`]).
    pub(crate) fn forget_thread(&self) {
        // SAFETY: nothing captures with this cache any more (the caller gives it back).
        unsafe {
            *self.last_memo.get() = [LastMemo::FIRST; 2];
            (*self.shadow.get()).held = 0;
        }
    }

    /// Makes the records [`Self::forget_thread`] forgets look used (a test's).
    #[cfg(test)]
    pub(crate) fn touch_thread_records(&self) {
        // SAFETY: a test's cache, used by nothing else.
        unsafe {
            (*self.last_memo.get())[1] = LastMemo(core::mem::size_of::<Memo>());
            (*self.shadow.get()).held = 1;
        }
    }

    /// Whether a record [`Self::forget_thread`] forgets is in use (a test's).
    #[cfg(test)]
    pub(crate) fn holds_thread_records(&self) -> bool {
        // SAFETY: a test's cache, used by nothing else.
        unsafe {
            (*self.last_memo.get()).iter().any(|last| last.0 != 0) || (*self.shadow.get()).held != 0
        }
    }

    /// The victim of `memo`, an element of this cache's `entry_memos`.
    #[inline(always)]
    fn victim_of(&self, memo: *const Memo) -> *mut Memo {
        let base = self.entry_memos.get() as usize;
        let index = (memo as usize - base) / core::mem::size_of::<Memo>();
        debug_assert!(index < ENTRY_MEMOS);
        // SAFETY: `index < ENTRY_MEMOS` (`memo` is an element of `entry_memos`).
        unsafe { (self.entry_victims.get() as *mut Memo).add(index) }
    }
}

/// Recalled walks a thread keeps ([`Recall`]): 16 bytes each, 128 KiB of the thread's trace
/// caches (pages touched as used). espresso's check-mode instructions (`espresso 3`): 4,096
/// -2.2%, 8,192 -3.2%, 16,384 -3.5%.
const RECALLS: usize = 8192;
const _: () = assert!(RECALLS.is_power_of_two());

/// A full-depth walk's trace, by what it read (see [`recall_key`]): a recursion makes a new
/// memo key at each depth and, below one key, a new call path at almost every capture (so the
/// memo and its victim seldom answer), but the same few call paths come back; a walk that
/// reads the same words at the same positions makes the same trace. Direct-mapped by `key`;
/// a match of the 64-bit `key` and the 32-bit `check` is trusted, as the recent-trace cache's
/// is (`trace::Caches::recent`). Zeroed: key 0, which no walk has (keys are odd).
#[derive(Clone, Copy)]
#[repr(C)]
struct Recall {
    key: u64,
    check: u32,
    trace: u32,
}

/// The recalled walk of `key`.
#[inline(always)]
fn recall_index(key: u64) -> usize {
    (key >> 24) as usize & (RECALLS - 1)
}

/// The key of the walk from the program's first frame `user` (entered at `entry`) through the
/// `steps` steps `path` holds from it, in memo generation `generation`: a hash of the entry,
/// the first return address, the steps' positions (their CFAs relative to `user.sp`) and the
/// return address now in each step's slot. `None` where the path is another first frame's,
/// holds fewer steps, has a step whose rule used `rbp`, or a slot outside `(user.sp,
/// user.top]`.
///
/// Why a match is the trace a walk would make now: the walk from `user` takes each step by the
/// rule of the frame's return address (the same within a generation), from the frame's stack
/// pointer when the rule does not use `rbp`; so from the same first return address at the
/// same relative positions, each step reaches the CFA it reached then, and reads there the
/// return address it read then (hashed), up to the trace's depth. The checks a step makes
/// (the CFA above the stack pointer, within [`MAX_FRAME`], 8-aligned, the saved `rbp`'s slot
/// in the frame) are of relative positions, the same then and now, but the CFA's bound
/// `top`, checked here for every slot.
#[inline(always)]
fn recall_key(
    path: &Path,
    entry: usize,
    user: State,
    steps: usize,
    generation: usize,
) -> Option<(u64, u32)> {
    if path.first != user.ip || path.entry != entry || path.len < steps || steps == 0 {
        return None;
    }
    // `8 <= step.sp <= top - sp` by one compare a step (below: `step.sp - 8 <= room`, which a
    // `step.sp` under 8 fails by wrapping).
    let room = user.top.wrapping_sub(user.sp);
    if room < 8 {
        return None;
    }
    let room = room - 8;
    let mut words = 0x9e37_79b9_7f4a_7c15u64 ^ entry as u64;
    let mut places =
        (user.ip as u64) ^ ((steps as u64) << 56) ^ (generation as u64).rotate_left(40);
    let mut slots = 0;
    for step in &path.steps[..steps] {
        if step.sp.wrapping_sub(8) > room {
            return None;
        }
        slots |= step.slot;
        // SAFETY: `8 <= step.sp <= top - sp`: the word lies in `[sp, top)` of the stack the
        // thread runs on, above the stack pointer (the capture runs below the program's
        // first frame), so it is readable.
        let word = unsafe { ((user.sp + step.sp - 8) as *const usize).read() };
        words = words.rotate_left(19) ^ word as u64;
        places = places.rotate_left(23) ^ step.sp as u64;
    }
    if slots & RBP_RULE != 0 {
        return None;
    }
    let (words, places) = (
        crate::trace::avalanche(words),
        crate::trace::avalanche(places),
    );
    Some(((words ^ places.rotate_left(32)) | 1, (words >> 32) as u32))
}

/// Whether `path` holds the same first `places.len()` steps' positions as when
/// [`recall_key`] hashed them (`places`), none of whose rules used `rbp`: then the key
/// [`recall_key`] made is the one it would make now (the stack's words are the same: a
/// capture writes none of the program's).
#[inline(always)]
fn same_places(path: &Path, places: &[usize]) -> bool {
    let mut differ = 0;
    for (step, &place) in path.steps.iter().zip(places) {
        differ |= (step.sp ^ place) | (step.slot & RBP_RULE);
    }
    differ == 0
}

/// The entry memo [`remembered_at`] placed the last capture of a lane in, as its byte offset
/// in the thread's `entry_memos` (0 at first: the first memo). A loop that allocates or frees
/// from one call site asks from the same frame every time, and its captures' memo is this
/// one: [`remembered_at`] asks it first, checking its key against the stack itself
/// ([`Memo::keyed_from`]: the program frame the allocator's `frame` leads to, read from
/// `frame` and the entry point's frame above it), without climbing the frame chain's bounds
/// tests and without the memo's hash. One word, and no position of the stack: whatever a
/// signal handler's capture interrupting this one leaves here is a memo of the thread, whose
/// key is checked in full before it answers.
#[derive(Clone, Copy)]
#[repr(transparent)]
struct LastMemo(usize);

impl LastMemo {
    /// The first entry memo.
    const FIRST: LastMemo = LastMemo(0);
}

// SAFETY: empty paths (length 0, no trace) and shadow stack (`held` 0) with zero steps, and
// memos with no trace, are the initial state.
unsafe impl crate::tls::ZeroInit for PathCache {}

/// The path that remembers walks from the first frame at `ip`.
#[inline(always)]
fn path_index(ip: usize) -> usize {
    (ip ^ (ip >> 12)) % PATHS
}

/// Fills `out` with the return addresses of the calling thread's stack, innermost first
/// (starting with this function's caller's return address); returns how many. Unwinds by the
/// rules every time (no remembered walks): the reference the tests compare with.
#[inline(never)]
pub fn capture(out: &mut [usize]) -> usize {
    by_rules(current_state(), true, out)
}

/// Unwinds by the rules from `state`, writing each return address reached to `out`; returns
/// how many.
///
/// A signal handler's frame is followed into the code the signal interrupted
/// ([`through_signal_frame`]), as Valgrind's stacks are: that frame's address is the
/// interrupted instruction, so the step from it looks up that instruction itself. Code without
/// call-frame information is left by its frame pointer ([`through_frame_pointer`]).
/// `first`: `state.ip` is an exact instruction address (else a return address, whose call
/// instruction's rule is looked up).
fn by_rules(mut state: State, mut first: bool, out: &mut [usize]) -> usize {
    let mut count = 0;
    while count < out.len() {
        match step(state, first, 0) {
            Some(next) => {
                state = after(&next, state, 0);
                first = false;
            }
            None => {
                let Some((next, exact)) = through_special_frame(state, first) else {
                    break;
                };
                state = next;
                first = exact;
            }
        }
        out[count] = state.ip;
        count += 1;
    }
    count
}

/// Fills `out` with the stack of a faulting thread from its signal context: the faulting
/// instruction `ip` first, then the return addresses found by unwinding from the registers
/// (`sp`, `bp`) the context holds. Returns how many. For the fault handler, on the faulting
/// thread, which runs on another stack (its alternate signal stack): the walk reads only the
/// thread's own stack, `[sp, top)` ([`super::thread_stack`]), and returns `ip` alone when `sp`
/// is not on it.
pub fn capture_from(ip: usize, sp: usize, bp: usize, out: &mut [usize]) -> usize {
    if out.is_empty() || ip == 0 {
        return 0;
    }
    out[0] = ip;
    let on_stack = |&(bottom, top): &(usize, usize)| sp >= bottom && sp < top;
    let Some((_, top)) = super::thread_stack().filter(on_stack) else {
        return 1;
    };
    1 + by_rules(State { ip, sp, bp, top }, true, &mut out[1..])
}

/// Fills `out` with the return addresses above the interrupted context of *another* thread,
/// one stopped for a leak scan (its stack does not change under the walk): `ip`, `sp` and
/// `bp` from its saved registers, `top` the end of the mapping that holds its stack. Reads
/// only `[sp, top)`; returns how many (0 when `sp` is not below `top`).
pub fn capture_stopped(ip: usize, sp: usize, bp: usize, top: usize, out: &mut [usize]) -> usize {
    if ip == 0 || sp >= top {
        return 0;
    }
    by_rules(State { ip, sp, bp, top }, true, out)
}

/// A frame's registers for [`step_registers`] (added for the leak scan's frames of a thread
/// stopped inside gpa, `capi::scan`): its instruction address and its general-purpose
/// registers by DWARF number (x86-64: `rax`, `rdx`, `rcx`, `rbx`, `rsi`, `rdi`, `rbp`, `rsp`,
/// `r8` to `r15`), `None` where the unwinding could not recover them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameRegisters {
    /// The instruction the frame executes: the interrupted one in the first frame, a return
    /// address in the others.
    pub ip: usize,
    /// Whether `ip` is a return address (its call instruction is looked up: `ip - 1`).
    pub returned: bool,
    /// The registers, by DWARF number; `registers[7]` is the stack pointer.
    pub registers: [Option<usize>; 16],
}

/// DWARF numbers of x86-64's callee-saved registers (`rbx`, `rbp`, `r12` to `r15`).
pub const CALLEE_SAVED: [usize; 6] = [3, 6, 12, 13, 14, 15];

/// One unwinding step with every register rule of the call-frame information (not only the
/// CFA and `rbp` of the cached [`Rule`]s): the caller's frame of `frame`, its callee-saved
/// registers recovered where the callee saved them (the other registers unknown), or `None`
/// where the information is missing or has a shape this does not follow (a register saved by
/// a DWARF expression, as in a signal trampoline; a CFA from one, as in a PLT stub, is
/// evaluated). `read` reads one stack word
/// (`None` where it cannot). Slow (the FDE is found and run anew): for the few threads of a
/// leak scan, not for traces.
pub fn step_registers(
    frame: &FrameRegisters,
    read: &dyn Fn(usize) -> Option<usize>,
) -> Option<FrameRegisters> {
    use gimli::{CfaRule, RegisterRule, UnwindContext};

    let address = if frame.returned {
        frame.ip.checked_sub(1)?
    } else {
        frame.ip
    };
    // Boxed: the scan that calls this may run on a small stack.
    let mut context = std::boxed::Box::new(UnwindContext::new());
    let (row, eh_frame) = unwind_row(address, &mut context)?;
    let value = |number: u16| frame.registers.get(usize::from(number)).copied().flatten();
    let cfa = match row.cfa() {
        CfaRule::RegisterAndOffset { register, offset } => {
            value(register.0)?.checked_add_signed(isize::try_from(*offset).ok()?)?
        }
        // A PLT stub's (where a thread may stop on its way to the C library).
        CfaRule::Expression(expression) => {
            let expression = expression.get(&eh_frame).ok()?;
            let encoding = gimli::Encoding {
                address_size: 8,
                format: gimli::Format::Dwarf32,
                version: 4,
            };
            let mut evaluation = expression.evaluation(encoding);
            let mut result = evaluation.evaluate().ok()?;
            let mut complete = false;
            for _ in 0..16 {
                result = match result {
                    gimli::EvaluationResult::Complete => {
                        complete = true;
                        break;
                    }
                    gimli::EvaluationResult::RequiresRegister { register, .. } => {
                        let known = if register == gimli::X86_64::RA {
                            frame.ip
                        } else {
                            value(register.0)?
                        };
                        evaluation
                            .resume_with_register(gimli::Value::Generic(known as u64))
                            .ok()?
                    }
                    gimli::EvaluationResult::RequiresMemory {
                        address, size: 8, ..
                    } => {
                        let word = read(usize::try_from(address).ok()?)?;
                        evaluation
                            .resume_with_memory(gimli::Value::Generic(word as u64))
                            .ok()?
                    }
                    _ => return None,
                };
            }
            if !complete {
                return None;
            }
            match evaluation.as_result() {
                [gimli::Piece {
                    location: gimli::Location::Address { address },
                    ..
                }] => usize::try_from(*address).ok()?,
                _ => return None,
            }
        }
    };
    let at = |offset: i64| cfa.checked_add_signed(isize::try_from(offset).ok()?);
    let mut caller = FrameRegisters {
        ip: 0,
        returned: true,
        registers: [None; 16],
    };
    for number in CALLEE_SAVED {
        caller.registers[number] = match row.register(gimli::Register(number as u16)) {
            None | Some(RegisterRule::SameValue) => frame.registers[number],
            Some(RegisterRule::Undefined) => None,
            Some(RegisterRule::Offset(offset)) => read(at(offset)?),
            Some(RegisterRule::ValOffset(offset)) => at(offset),
            Some(RegisterRule::Register(from)) => value(from.0),
            Some(_) => None,
        };
    }
    caller.ip = match row.register(gimli::X86_64::RA) {
        None => read(cfa.checked_sub(8)?)?,
        Some(RegisterRule::Offset(offset)) => read(at(offset)?)?,
        Some(_) => return None,
    };
    caller.registers[7] = Some(cfa);
    (caller.ip != 0).then_some(caller)
}

/// The frames of [`capture_user`], for `TraceMethod::Custom`: the GPA calls `capture_user`
/// itself, registered as this walker's interning twin (`trace::register_interning_walker`);
/// this form serves callers that want the frames.
#[inline(never)]
pub fn capture_user_frames(out: &mut [usize]) -> usize {
    let frames = crate::trace::frames_of(capture_user(out.len()));
    let addresses = frames.addresses();
    out[..addresses.len()].copy_from_slice(addresses);
    addresses.len()
}

/// The interned trace of the calling thread's stack from the entry point the program called
/// in the object containing this unwinder (the preload library's `malloc`, `free`,
/// `operator new`...: its outermost frame there, which names the call for symbolization and
/// suppressions, as the first frame of Valgrind's stacks does), then `depth` frames of the
/// program. The C ABI's check mode captures its traces with it.
///
/// The allocator's own frames are crossed on their frame-pointer chain (the crate is built
/// with frame pointers, which the first use checks against the unwind rule of this function);
/// the program's frames with the remembered walks and the rules ([`walk`]).
///
/// A capture from the same place as an earlier one of the thread (same registers on entry,
/// same stack) whose every stack word the walk read still holds what it held then returns
/// that capture's trace ([`Memo`]): no walk at all.
#[inline(never)]
pub fn capture_user(depth: usize) -> TraceId {
    let start = current_state();
    let depth = depth.min(MAX_FRAMES - 1);
    let Some(cache) = path_cache() else {
        // No caches (the system refused their mapping): no trace.
        return TraceId::NONE;
    };
    // SAFETY: the memos are this thread's, and nothing else touches them during the capture
    // (which neither allocates nor calls out, except `compute`, which does not capture).
    let memos = unsafe { &mut *cache.memos.get() };
    let memo = &mut memos[memo_index(start)];
    let hit = memo.replay(start, depth, (0, 0), true);
    through_memo(memo, hit, depth, own_object(start), |memo, again| {
        capture_and_remember(cache, memo, start, depth, again)
    })
}

/// The end of a capture through `memo`: the trace it remembered (`hit`), or `walk`'s, which
/// remembers in `memo` when its `again` says so; then the cross-check, where it is on.
///
/// Remembering costs about what a walk does: a memo whose captures keep missing (a recursion
/// seldom at the same stack pointer twice) remembers ever more rarely, at the 1st, 2nd, 4th,
/// 8th... miss in a row (and every 256th), keeping what it holds meanwhile.
#[inline(always)]
fn through_memo(
    memo: &mut Memo,
    hit: Option<TraceId>,
    depth: usize,
    own: (usize, usize, bool),
    walk: impl FnOnce(&mut Memo, bool) -> TraceId,
) -> TraceId {
    let (id, remembered) = match hit {
        Some(id) => {
            memo.misses = 0;
            (id, true)
        }
        None => {
            memo.misses = memo.misses.wrapping_add(1);
            // A power of two, or a multiple of 256 (also 0, after wrapping): without
            // `is_power_of_two`'s test of 0 (9 instructions a walk on espresso before).
            let misses = memo.misses;
            let again = misses & misses.wrapping_sub(1) == 0 || misses & 255 == 0;
            (walk(memo, again), false)
        }
    };
    if CROSS_CHECK.load(Ordering::Relaxed) {
        if remembered {
            REMEMBERED.fetch_add(1, Ordering::Relaxed);
        }
        cross_check(id, depth, own);
    }
    id
}

/// [`capture_user`] by walking (own frames, then the program's), remembering in `memo` what
/// the walk read when `again` says to (else the memo stays as it was).
#[inline(never)]
fn capture_and_remember(
    cache: &PathCache,
    memo: &mut Memo,
    start: State,
    depth: usize,
    again: bool,
) -> TraceId {
    // Only on a known stack: a replay reads the remembered words again, which lie in
    // `[sp, top)`; and only for a trace (depth 0 makes none).
    let remember = again && depth != 0 && start.top != usize::MAX;
    // Read before the walk: a rule forgotten or an epoch ended during it makes the memo stale.
    let generation = MEMO_GENERATION.load(Ordering::Acquire);
    if remember {
        // No trace, and a key no capture has (see `Memo::sp`).
        memo.trace = 0;
        memo.sp = 0;
        memo.len = 0;
        memo.entry_bp = (0, 0);
    }
    let Some((entry, user)) = leave_own_frames(start, remember.then_some(&mut *memo)) else {
        return TraceId::NONE;
    };
    let (end, remember) = walk_past_signal_frames(cache, entry, user, depth, remember);
    if remember && memo.len <= MEMO_WORDS && end.id.is_some() {
        memo.remember(cache, start, depth, user.sp, &end, generation);
        memo.from = (0, 0);
    }
    forget_entry_bp(memo);
    end.id
}

/// Clears what a memo kept of the program's `rbp` for [`Memo::remember`] (a word of the memo
/// where a rule used it, kept there): in code without frame pointers `rbp` may hold a heap
/// pointer, and a stale copy kept would be a copy of the program's pointer outside its memory
/// (the leak scan skips the thread caches the memos lie in, `trace::for_each_thread_caches`,
/// but the fewer such copies the better).
#[inline(always)]
fn forget_entry_bp(memo: &mut Memo) {
    memo.entry_bp = (0, 0);
}

/// [`capture_user`] for an allocator entry that knows its frame: `frame` is the frame pointer
/// of a function of this object called directly by the entry point the program called (the
/// C ABI's check-mode `malloc` and `free` pass their own, one frame below the exported
/// function). The trace is the same as [`capture_user`]'s; what differs is the remembered
/// capture ([`Memo`]): it is keyed by where the program's frames start (the entry address, the
/// program's return address and stack pointer, read from `frame` and the entry point's frame
/// above it: four loads; the program's `rbp` is a word of the memo where a rule uses it) and holds only the words of the program's steps, not the
/// allocator's chain, which a capture from `frame` does not depend on. Where more of this
/// object's frames lie above `frame` (an unoptimized build), the chain is climbed until it
/// leaves the object. Falls back to [`capture_user`] where this object keeps no frame
/// pointers or the chain above `frame` is not as expected. `lane` (0 or 1) keeps the memos of
/// two kinds of capture apart (the C ABI's `malloc` and `free`: called from one loop, they
/// capture at the same stack pointer).
///
/// `asked`: the caller asked [`remembered_at`] about this very capture just before (same
/// frame, lane and depth, nothing written to the stack in between) and it answered `None`, so
/// the memo is not asked again (unless the cross-check is on, under which [`remembered_at`]
/// does not answer).
#[inline(always)]
pub fn capture_user_at(frame: usize, lane: usize, depth: usize, asked: bool) -> TraceId {
    let start = current_state();
    let depth = depth.min(MAX_FRAMES - 1);
    let own = own_object(start);
    let Some((entry, user)) = program_frame(start, own, frame, depth) else {
        return capture_user(depth);
    };
    let Some(cache) = path_cache() else {
        return TraceId::NONE;
    };
    // SAFETY: the memos are this thread's, and nothing else touches them during the capture
    // (which neither allocates nor calls out, except `compute`, which does not capture).
    let memos = unsafe { &mut *cache.entry_memos.get() };
    let memo = &mut memos[entry_memo_index(user, lane)];
    // After `remembered_at`'s miss, replaying would read the same words and miss again (the
    // program's frames are unchanged; before the range of this object was first found, every
    // memo is empty).
    let hit = if asked && !CROSS_CHECK.load(Ordering::Relaxed) {
        None
    } else {
        memo.replay(memo_key(user), depth, (entry, user.ip), false)
    };
    through_memo(memo, hit, depth, own, |memo, again| {
        walk_and_remember(cache, memo, entry, user, depth, again)
    })
}

/// The part of [`capture_user_at`] that neither walks nor allocates: the remembered trace of
/// this capture, when its memo answers; else, when it found where the capture's program frames
/// start, what `unanswered` returns, given that ([`Unanswered`], for [`capture_unanswered`]);
/// `None` when [`capture_user_at`] must capture (also while the thread's stack bounds are not
/// known yet, and under the cross-check, which [`capture_user_at`] runs). An allocator asks
/// this first, outside its re-entrancy guard, and captures in `unanswered` inside it; `depth`
/// is capped as a capture caps it (below `MAX_FRAMES`).
#[inline(always)]
pub fn remembered_at(
    frame: usize,
    lane: usize,
    depth: usize,
    unanswered: impl FnOnce(Unanswered) -> TraceId,
) -> Option<TraceId> {
    // Asked only once this object was found, keeping frame pointers, and not under the
    // cross-check (`remembered_ready`: the caller's contract), so the lane's last memo below
    // (its key made only then) needs no test of `LEAN_RANGE`; the way without it tests its
    // length.
    if depth == 0 {
        return None;
    }
    // The thread's caches (none: its stack's bounds are not known either, as
    // `stack_top_and_walks` would find) and its own stack's top as `prepare_thread` found it,
    // without the stack pointer's bounds test, which a capture whose program frame is the
    // lane's last memo's needs not (see `Memo::keyed_from`).
    let (known_top, cache) = super::walks_and_known_top()?;
    // The caller's depth is capped already (`trace::remembers_at`).
    debug_assert!(depth < MAX_FRAMES);
    // SAFETY: the thread's own caches (as in `capture_user_at`); nothing else touches the
    // lane's word during the capture but a signal handler's capture on this thread, which
    // writes a whole word, the offset of one of the thread's entry memos.
    let last = unsafe { &mut (*cache.last_memo.get())[lane & 1] };
    let memos = cache.entry_memos.get() as usize;
    debug_assert!(last.0 % core::mem::size_of::<Memo>() == 0);
    debug_assert!(last.0 < ENTRY_MEMOS * core::mem::size_of::<Memo>());
    // SAFETY: `last` is the offset of an element of this thread's `entry_memos` (`LastMemo`),
    // which nothing else touches during the capture (as in `capture_user_at`).
    let recorded = unsafe { &mut *((memos + last.0) as *mut Memo) };
    // SAFETY: `frame` is the frame pointer of a live function of this object on this
    // thread's stack, called by the entry point (caller contract, as in
    // `program_frame_below`): `keyed_from`'s contract.
    let (memo, keyed) = if unsafe { recorded.keyed_from(frame, known_top, depth) } {
        (recorded, true)
    } else {
        // Finding this object computes an unwind rule, which allocates: not here.
        let own_len = LEAN_RANGE[1].load(Ordering::Acquire);
        if own_len == 0 {
            return None;
        }
        let own_start = LEAN_RANGE[0].load(Ordering::Relaxed);
        // Only the stack's top: the walk to the program's frame reads no other register
        // (and the three reads of `current_state` are not left out by the compiler).
        let (top, cache) = super::stack_top_and_walks()?;
        let (entry, user) = program_frame_below(top, own_start, own_len, frame)?;
        let index = entry_memo_index(user, lane);
        // SAFETY: as in `capture_user_at`.
        let memo = unsafe { &mut (*cache.entry_memos.get())[index] };
        // Asked first from now on, on the thread's own stack (not on another one, such as an
        // alternate signal stack, whose top `stack_top_and_walks` found apart: the memo's
        // top would not be the known one).
        if top == known_top {
            *last = LastMemo(index * core::mem::size_of::<Memo>());
        }
        let keyed = memo.keyed(memo_key(user), depth, (entry, user.ip), false);
        (memo, keyed)
    };
    match if keyed { memo.words_hold() } else { None } {
        Some(id) => {
            memo.misses = 0;
            Some(id)
        }
        // Only what is live here anyway (more made the remembered path spill registers:
        // glibc-simple +3% instructions; so did asking the victim here, +1.2%: it is asked in
        // `capture_unanswered`).
        None => Some(unanswered(Unanswered {
            memo: memo as *mut Memo,
            frame,
            lane,
            depth,
        })),
    }
}

/// Below how many misses in a row of its memo a victim is asked ([`capture_unanswered`]),
/// and up to how many one is kept ([`walk_and_remember_inline`]): a key of many callers, such
/// as a recursion's, keeps missing, and its victim seldom answers (espresso: with 4, +1.4% of
/// its instructions against no victims; asked only right after an answer and kept only at the
/// first miss, +0.9%, but cfrac -1.9% instead of -3.4%; with 2, +1.5% and cfrac -2.3%).
const VICTIM_MISSES: u32 = 4;

/// A capture of [`capture_user_at`] whose memo did not answer [`remembered_at`]: that memo
/// (placed by the program's first frame and `lane`), found on the way, with the capture's
/// `frame`, `lane` and `depth`, so that [`capture_unanswered`] walks without the calls and
/// look-ups of [`capture_user_at`] (the registers, this object's range, the memo's place).
/// Valid only for the capture it was found for: the same thread, `frame`, `lane` and `depth`,
/// nothing written to the program's stack in between (the contract of [`capture_user_at`]'s
/// `asked`).
#[derive(Clone, Copy)]
pub struct Unanswered {
    memo: *mut Memo,
    frame: usize,
    lane: usize,
    depth: usize,
}

/// [`capture_user_at`]`(frame, lane, depth, true)` for a capture whose memo [`remembered_at`]
/// found not answering (`start`): the same trace, and the same memo updated. Under the
/// cross-check (turned on after [`remembered_at`] answered), at another depth, or where the
/// program's frame is not found again as [`remembered_at`] found it, it is
/// [`capture_user_at`] itself.
#[inline(always)]
pub fn capture_unanswered(start: Unanswered, depth: usize) -> TraceId {
    let depth = depth.min(MAX_FRAMES - 1);
    let own_len = LEAN_RANGE[1].load(Ordering::Acquire);
    let found = (own_len != 0 && depth == start.depth)
        .then(|| recorded_program_frame(start.frame, start.lane))
        .flatten()
        .or_else(|| {
            (own_len != 0 && depth == start.depth)
                .then(super::stack_top_and_walks)
                .flatten()
                .and_then(|(top, cache)| {
                    let own_start = LEAN_RANGE[0].load(Ordering::Relaxed);
                    Some((
                        program_frame_below(top, own_start, own_len, start.frame)?,
                        cache,
                    ))
                })
        });
    let Some(((entry, user), cache)) = found else {
        return capture_user_at_asked(start.frame, start.lane, depth);
    };
    // SAFETY: `start.memo` is the memo `remembered_at` replayed for this capture, in this
    // thread's caches (`cache`), which live until the thread ends; nothing else touches it
    // during the capture.
    let memo = unsafe { &mut *start.memo };
    // The memo's key, other words: the key's other caller may be the victim's; or another key
    // that took the memo's place may have sent this one to the victim. Then the victim answers
    // (and the two change places: the capture that answered is asked first from now on).
    // Only while the memo's misses in a row are few (`VICTIM_MISSES`); the victim's replay
    // compares its key (asked only where the memo held the capture's key, `alloc_workload 1`
    // took 1,896M instructions under cachegrind at the stack positions where two keys take
    // turns in one memo, 1,810M with this, about 1,745M at the others).
    let key = memo_key(user);
    let victim = if memo.misses < VICTIM_MISSES {
        // SAFETY: `memo` is one of this thread's entry memos; its victim another element of
        // the same caches, which nothing else touches during the capture.
        let victim = unsafe { &mut *cache.victim_of(memo) };
        let answer = victim.replay(key, depth, (entry, user.ip), false);
        if answer.is_some() {
            memo.swap_with(victim);
        }
        answer
    } else {
        None
    };
    debug_assert!(core::ptr::eq(
        memo,
        // SAFETY: as above.
        unsafe { &(*cache.entry_memos.get())[entry_memo_index(user, start.lane)] }
    ));
    // This object's range, found before `remembered_at` answered (`LEAN_RANGE` follows it),
    // for the cross-check alone (on only if turned on since).
    let own = (
        OWN_RANGE[0].load(Ordering::Relaxed),
        OWN_RANGE[1].load(Ordering::Relaxed),
        true,
    );
    through_memo(memo, victim, depth, own, |memo, again| {
        walk_and_remember_inline(cache, memo, entry, user, depth, again)
    })
}

/// The program's first frame above `frame` (as [`program_frame_below`] finds it, with the
/// program's `rbp` saved there) and the thread's caches, from the lane's last memo
/// ([`LastMemo`]), which [`remembered_at`] asked for the capture [`capture_unanswered`]
/// finishes: where the memo's key is the program frame `frame` leads to
/// ([`Memo::keyed_from`], but for the depth and generation, which do not place the frame),
/// that frame is the one the chain leads to, on the thread's own stack, without the chain's
/// bounds tests. `None` where it is not (the memo holds another key, or the capture runs on
/// another stack): [`capture_unanswered`] climbs the chain then.
#[inline(always)]
fn recorded_program_frame(
    frame: usize,
    lane: usize,
) -> Option<((usize, State), &'static PathCache)> {
    let (known_top, cache) = super::walks_and_known_top()?;
    // SAFETY: the thread's own caches; nothing else touches the lane's word during the capture
    // but a signal handler's capture on this thread, which writes a whole word (as in
    // `remembered_at`).
    let last = unsafe { (*cache.last_memo.get())[lane & 1] };
    // SAFETY: `last` is the offset of an element of this thread's `entry_memos` (`LastMemo`).
    let memo = unsafe { &*((cache.entry_memos.get() as usize + last.0) as *const Memo) };
    // SAFETY: as in `remembered_at`: `frame` is a live frame of this object on this thread's
    // stack, called by the entry point, whose frame (`[frame]`) holds the program's `rbp` and
    // the return address into the program (`Memo::keyed_from`).
    unsafe {
        if memo.placed_at(frame, known_top) {
            let outer = memo.sp - 16;
            let user = State {
                ip: memo.from.1,
                sp: memo.sp,
                bp: *(outer as *const usize),
                top: known_top,
            };
            Some(((memo.from.0, user), cache))
        } else {
            None
        }
    }
}

/// [`capture_user_at`] after [`remembered_at`] asked, out of line: [`capture_unanswered`]'s
/// rare way.
#[cold]
#[inline(never)]
fn capture_user_at_asked(frame: usize, lane: usize, depth: usize) -> TraceId {
    capture_user_at(frame, lane, depth, true)
}

/// The program's first frame above `frame` (see [`capture_user_at`]): the entry address and
/// the program's state there; `None` where [`capture_user`] must capture instead (no frame
/// pointers in this object, no known stack, a chain not as expected).
#[inline(always)]
fn program_frame(
    start: State,
    (own_start, own_end, frame_pointers): (usize, usize, bool),
    frame: usize,
    depth: usize,
) -> Option<(usize, State)> {
    if !frame_pointers || depth == 0 || start.top == usize::MAX {
        return None;
    }
    program_frame_below(start.top, own_start, own_end.wrapping_sub(own_start), frame)
}

/// [`program_frame`] once its preconditions are checked: this object (`own_len` bytes at
/// `own_start`) keeps frame pointers, and `top` is the known top of the stack the thread runs
/// on.
#[inline(always)]
fn program_frame_below(
    top: usize,
    own_start: usize,
    own_len: usize,
    frame: usize,
) -> Option<(usize, State)> {
    // SAFETY: `frame` is the frame pointer of a live function of this object on this thread's
    // stack (caller contract, and the object keeps frame pointers): it holds the
    // entry point's frame pointer, and its return address into the entry point is above.
    let (mut outer, mut entry) =
        unsafe { (*(frame as *const usize), *((frame + 8) as *const usize)) };
    if outer <= frame || outer >= top - 16 || entry.wrapping_sub(own_start) >= own_len {
        return None;
    }
    // SAFETY: `[outer, outer + 16)` lies in the live stack, above `frame` and below `top`
    // (checked just above; a frame pointer of this object's code is 16-aligned): the entry
    // point's frame, with the program's `rbp` and the return address into the program.
    let (mut bp, mut ip) = unsafe { (*(outer as *const usize), *((outer + 8) as *const usize)) };
    let mut crossed = 0;
    while ip.wrapping_sub(own_start) < own_len {
        // More of this object's frames than the entry expects (an unoptimized build, where
        // the C ABI's helpers are not inlined into the exported function, or an entry point
        // called from this object): climb on, as `leave_own_frames` does.
        crossed += 1;
        if crossed > 16 || bp <= outer || bp >= top - 16 {
            return None;
        }
        (entry, outer) = (ip, bp);
        // SAFETY: as above: `[outer, outer + 16)` is above the previous frame and below
        // `top` (checked just above).
        (bp, ip) = unsafe { (*(outer as *const usize), *((outer + 8) as *const usize)) };
    }
    let user = State {
        ip,
        sp: outer + 16,
        bp,
        top,
    };
    Some((entry, user))
}

/// The key of a memo of [`capture_user_at`]: the program's `rbp` is no part of it (code
/// without frame pointers keeps any value there, and it matters only where a rule uses it,
/// which the memo then checks as the word it came from, `Memo::entry_bp`, as for
/// [`capture_user`]).
#[inline(always)]
fn memo_key(user: State) -> State {
    State { bp: 0, ..user }
}

/// The memo of a capture of [`capture_user_at`] from the program's frame `user` in `lane`:
/// placed by stack pointer, return address and lane (`malloc` and `free` called from one
/// loop have the same stack pointer, and keep a memo each; so do two `malloc`s of one
/// function, `e = malloc(..); e->word = strdup(..)`, which differ by their return address).
/// At some stack positions two such keys meet all the same (alloc_workload's `malloc` and
/// `strdup`'s, below it): the memo's victim then keeps the other (`PathCache::entry_victims`).
/// Other indexes tried (docs/performance.md, stops 53 and 54): a Fibonacci hash of the stack
/// pointer and return address (cfrac's call sites meet at other positions); a second place by
/// that hash, asked where the first is not keyed (the code around the lane's last memo
/// spilled more: glibc-simple +0.1% to +0.4%, espresso up to +1.8%).
#[inline(always)]
fn entry_memo_index(user: State, lane: usize) -> usize {
    // The return address's bits mixed (call sites a few bytes apart differ in their low bits
    // only), the top bits kept.
    let ip = user.ip.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (usize::BITS - 8);
    let sp = user.sp >> 4 ^ user.sp >> 10;
    ((sp ^ ip) << 1 & (ENTRY_MEMOS - 1)) | (lane & 1)
}

/// [`capture_user_at`]'s walk from the program's first frame `user` (entered at `entry`),
/// remembering in `memo`, keyed by `user` and `entry`, what the walk read when `again` says
/// to.
#[inline(never)]
fn walk_and_remember(
    cache: &PathCache,
    memo: &mut Memo,
    entry: usize,
    user: State,
    depth: usize,
    again: bool,
) -> TraceId {
    walk_and_remember_inline(cache, memo, entry, user, depth, again)
}

/// [`walk_and_remember`], inlined into [`capture_unanswered`] (every walk of the C ABI's
/// check mode: a call, its prologue and the arguments' moves fewer).
#[inline(always)]
fn walk_and_remember_inline(
    cache: &PathCache,
    memo: &mut Memo,
    entry: usize,
    user: State,
    depth: usize,
    again: bool,
) -> TraceId {
    // Read before the walk, as in `capture_and_remember`.
    let generation = MEMO_GENERATION.load(Ordering::Acquire);
    // Program frames after the first (`depth` counts the first, not the entry).
    let steps = depth.wrapping_sub(1);
    let record = path_index(user.ip);
    // The recalled walks are asked only where the memo stays as it is (`again` false): a
    // capture that remembers anew walks, so that the memo holds its words (asked then too,
    // espresso's memos answered fewer captures, and its instructions went up by 6%).
    let mut looked = None;
    let mut places = [0usize; PATH_STEPS];
    if !again && steps <= PATH_STEPS {
        // SAFETY: the thread's own caches; nothing else touches the paths and recalls during
        // the capture (as in `walk`), and these references end before the walk.
        let (path, recalls) = unsafe { (&(*cache.paths.get())[record], &*cache.recalls.get()) };
        if let Some((key, check)) = recall_key(path, entry, user, steps, generation) {
            let recall = recalls[recall_index(key)];
            if recall.key == key && recall.check == check {
                if CROSS_CHECK.load(Ordering::Relaxed) {
                    RECALLED.fetch_add(1, Ordering::Relaxed);
                }
                return TraceId(recall.trace);
            }
            for (place, step) in places.iter_mut().zip(&path.steps[..steps]) {
                *place = step.sp;
            }
            looked = Some((key, check));
        }
    }
    if again {
        // The memo's misses in a row still few: what the memo holds (the same key's other
        // caller above the program's frame, or another key in the same place) becomes its
        // victim (see `capture_unanswered`); a memo that keeps missing, or holds nothing: not
        // kept.
        if memo.sp != 0 && memo.misses <= VICTIM_MISSES {
            // SAFETY: `memo` is one of this thread's entry memos (this walk's callers), its
            // victim another element of the same caches, which nothing else touches now.
            memo.keep_as(unsafe { &mut *cache.victim_of(memo) });
        }
        // No trace, and a key no capture has (see `Memo::sp`).
        memo.trace = 0;
        memo.sp = 0;
        memo.len = 0;
        // Where the entry point saved the program's `rbp` (just below the return address, in
        // `[sp, top)` of any capture with this key): `Memo::remember` keeps it as a word where
        // a rule uses `rbp`.
        memo.entry_bp = (user.sp - 16, user.bp);
    }
    let (end, again) = walk_past_signal_frames(cache, entry, user, depth, again);
    // A full-depth walk after a recall's miss is recalled from now on where it stood on the
    // positions that miss hashed: then its key is the one hashed (only walks after a miss
    // are kept: keeping those that remembered too, with a key of their own, made espresso's
    // instructions 2% more, their recalls evicting others').
    if let Some((key, check)) = looked {
        // SAFETY: as above (the walk is over).
        let (path, recalls) = unsafe { (&(*cache.paths.get())[record], &mut *cache.recalls.get()) };
        if !end.ended
            && end.id.is_some()
            && end.steps == steps
            && same_places(path, &places[..steps])
        {
            recalls[recall_index(key)] = Recall {
                key,
                check,
                trace: end.id.0,
            };
        }
    }
    if again && end.id.is_some() {
        // The key's entry and return address first: `remember` completes the key with the
        // stack pointer last (0 until then: no capture matches a memo being made, a signal
        // handler's included).
        memo.from = (entry, user.ip);
        memo.remember(cache, memo_key(user), depth, user.sp, &end, generation);
    }
    forget_entry_bp(memo);
    end.id
}

/// Stack words a [`Memo`] can hold: two per frame of the allocator crossed (its saved `rbp`
/// and return address) and up to two per step of the program's (return address, saved
/// `rbp`), and one where unwinding stopped.
const MEMO_WORDS: usize = 40;
/// A memo with a trace holds a multiple of this many words (pairs: [`Memo::replay`] compares
/// up to eight words without a loop, and the rest a pair at a time).
const MEMO_GROUP: usize = 2;
const _: () = assert!(MEMO_WORDS % MEMO_GROUP == 0);

/// The word that makes a memo's words a whole number of groups ([`Memo::remember`]): it
/// always holds its value, so comparing it changes nothing.
static PAD_WORD: usize = 0;
/// Memos a thread keeps, direct-mapped by the capture's stack pointer (the allocator's entry
/// points reach [`capture_user`] at different depths, so `malloc`'s and `free`'s captures from
/// one loop keep one each).
const MEMOS: usize = 8;
const _: () = assert!(MEMOS.is_power_of_two());
/// Memos of [`capture_user_at`] a thread keeps, placed by stack pointer, return address and
/// lane ([`entry_memo_index`]): more than [`MEMOS`], as a loop that allocates and frees at
/// several call sites keeps one per site. 256 (about 180 KiB of the thread's trace caches, its
/// pages touched only where a memo is used): a recursive program allocates from many stack
/// depths, each a key of its own; 32 memos left cfrac 925,000 captures in 13.3 million to walk,
/// 256 leave 584,000 (-3.4% of its check-mode instructions, espresso -1.2%), and 2048 the
/// same 584,000 (the rest are call paths that change under one key). Tried and dropped: two
/// ways a set (cfrac 179,000 walks, -2% instructions, but espresso +6.5% and glibc-simple
/// +6.8%: the second way's replay and the victim's choice on every capture), and the same
/// with the way that answered last asked first (espresso +7%).
const ENTRY_MEMOS: usize = 256;
const _: () = assert!(ENTRY_MEMOS.is_power_of_two());

/// A remembered capture: the registers [`capture_user`] started from (`sp`, `bp`; its `ip` is
/// always the same), the stack's top, the depth, the memo generation it ran in (the unwind
/// rules and the module epoch: [`forget_memos`]), every stack word its walk read (address,
/// value), and the trace it made (0: none).
///
/// A capture is a function of those alone: the walk starts from the registers, reads only
/// those words (the frame-pointer chain across the allocator's frames, then per step of the
/// program's the return address and the saved `rbp` the rule names, and the word that ended
/// the walk), and turns each into the next address to read by the unwind rules, which stay the
/// same within a rule generation ([`forget_rules`] starts a new one) and a module epoch (trace
/// ids are per epoch): both end by bumping the memo generation. So when the registers, top,
/// depth and generation are the same and every word still holds its value, walking again
/// would read the same words and make the same trace: a replay checks the words (a load and
/// a compare each) instead.
///
/// Every remembered address lies in `[sp, top)` of the thread's stack, checked by the walk
/// that read it (but [`PAD_WORD`], a static); a replay with the same `sp` and `top` reads the
/// same range. A memo with a trace holds a multiple of [`MEMO_GROUP`] words, at most
/// [`MEMO_WORDS`].
struct Memo {
    /// 0 while the memo holds no trace (no capture starts there, so no key matches): set
    /// with the trace, cleared with it.
    sp: usize,
    bp: usize,
    top: usize,
    depth: usize,
    generation: usize,
    trace: u32,
    /// Words in `words`; `MEMO_WORDS + 1` once more were read than fit (not remembered).
    len: usize,
    /// Captures in a row this memo did not answer.
    misses: u32,
    /// For a capture of [`capture_user_at`]: the entry address and the program's first
    /// return address, part of the key (`(0, 0)` for [`capture_user`]'s, whose registers are
    /// inside the allocator).
    from: (usize, usize),
    /// Where the allocator's outermost frame saved the program's `rbp`, and the value: a word
    /// of the memo only when the walk used it (see [`Memo::remember`]); set for the capture
    /// being remembered and cleared after it ([`forget_entry_bp`]).
    entry_bp: (usize, usize),
    words: [(usize, usize); MEMO_WORDS],
}

/// The generation of the remembered captures: [`forget_memos`] (the unwind rules forgotten, a
/// module epoch ended) starts a new one.
static MEMO_GENERATION: AtomicUsize = AtomicUsize::new(0);

#[inline(always)]
fn memo_index(start: State) -> usize {
    (start.sp >> 4 ^ start.sp >> 10) & (MEMOS - 1)
}

impl Memo {
    /// The remembered trace, if this capture (from `start`, at `depth`) is the remembered one
    /// and every word it read still holds its value.
    ///
    /// `keyed_bp`: the key holds the capture's `rbp` ([`capture_user`]'s memos); the memos of
    /// [`capture_user_at`] are keyed with `bp` 0 on both sides ([`memo_key`]), so it is not
    /// compared there.
    #[inline(always)]
    fn replay(
        &self,
        start: State,
        depth: usize,
        from: (usize, usize),
        keyed_bp: bool,
    ) -> Option<TraceId> {
        debug_assert!(keyed_bp || (start.bp == 0 && (self.trace == 0 || self.bp == 0)));
        // No test of `trace`: a memo without one has `sp` 0, which no capture has.
        debug_assert!(start.sp != 0 && (self.sp == 0 || self.trace != 0));
        if !self.keyed(start, depth, from, keyed_bp) {
            return None;
        }
        self.words_hold()
    }

    /// Whether this memo is keyed for the capture from `start` at `depth` (see [`Self::replay`])
    /// in the current memo generation.
    #[inline(always)]
    fn keyed(&self, start: State, depth: usize, from: (usize, usize), keyed_bp: bool) -> bool {
        self.from == from
            && self.sp == start.sp
            && (!keyed_bp || self.bp == start.bp)
            && self.top == start.top
            && self.depth == depth
            && self.generation == MEMO_GENERATION.load(Ordering::Acquire)
    }

    /// Whether this entry memo is keyed for a capture of [`capture_user_at`] from the
    /// allocator's `frame` on the thread's own stack (top `known_top`) at `depth` in the
    /// current memo generation: [`Self::placed_at`], and the depth and generation.
    ///
    /// # Safety
    /// As for [`Self::placed_at`].
    #[inline(always)]
    unsafe fn keyed_from(&self, frame: usize, known_top: usize, depth: usize) -> bool {
        // SAFETY: forwarded contract.
        let placed = unsafe { self.placed_at(frame, known_top) };
        placed && self.depth == depth && self.generation == MEMO_GENERATION.load(Ordering::Acquire)
    }

    /// Whether this entry memo's program frame is the one the allocator's `frame` leads to:
    /// the entry point's frame (`[frame]`) 16 bytes below the memo's stack pointer, the
    /// return address into the entry point (`[frame + 8]`) and the one into the program
    /// (`[[frame] + 8]`) the memo's (`from`), and its top `known_top`. Then
    /// [`program_frame_below`] from `frame` under `known_top` finds that program frame: the
    /// memo's key was made from what it found (the entry memos are keyed only so, or copied
    /// between each other), with these words, under this top, so its tests held and hold
    /// again (the entry point's frame above `frame`, a frame pointer of this object's code,
    /// and below `top - 16`; the entry address in this object, the program's outside it; one
    /// step up, no more). A memo without a trace (stack pointer 0) is placed nowhere.
    ///
    /// # Safety
    /// `frame` is the frame pointer of a live function of this object on this thread's stack,
    /// called by the entry point: it holds the entry point's frame pointer and the return
    /// address into it, and the entry point's frame holds the program's `rbp` and the return
    /// address into the program.
    #[inline(always)]
    unsafe fn placed_at(&self, frame: usize, known_top: usize) -> bool {
        // SAFETY: caller contract: `[frame, frame + 16)` and `[outer, outer + 16)` are live
        // frames of this thread's stack.
        unsafe {
            let outer = *(frame as *const usize);
            outer.wrapping_add(16) == self.sp
                && *((frame + 8) as *const usize) == self.from.0
                && *((outer + 8) as *const usize) == self.from.1
                && self.top == known_top
        }
    }

    /// [`Self::replay`] once the memo is found keyed for the capture: its trace when every
    /// word it read still holds its value.
    #[inline(always)]
    fn words_hold(&self) -> Option<TraceId> {
        let changed = |&(address, value): &(usize, usize)| {
            // SAFETY: the walk that remembered `address` read it in `[sp, top)` of this
            // thread's stack (see the type's docs), and the thread runs on the same stack with
            // the same stack pointer now (`sp` and `top` equal): every remembered word is
            // readable, also after another one was found changed; `PAD_WORD` is a static.
            let word = unsafe { (address as *const usize).read_volatile() };
            word ^ value
        };
        // Differences ORed together with no branch per word: a replay that answers (the common
        // case) reads every word anyway. Up to eight words (most memos: a program's few frames
        // above `main` or a thread's start) straight, by their count; more a pair at a time.
        debug_assert!(self.len <= MEMO_WORDS && self.len % MEMO_GROUP == 0);
        let word = |at: usize| {
            // SAFETY: a memo with a trace holds a multiple of `MEMO_GROUP` (2) words, at most
            // `MEMO_WORDS` (`remember` pads them and sets the trace only then; a capture that
            // remembers anew clears the trace first): every `at` below is under `len`.
            changed(unsafe { self.words.get_unchecked(at) })
        };
        let difference = match self.len {
            0 => 0,
            2 => word(0) | word(1),
            4 => word(0) | word(1) | word(2) | word(3),
            6 => word(0) | word(1) | word(2) | word(3) | word(4) | word(5),
            8 => word(0) | word(1) | word(2) | word(3) | word(4) | word(5) | word(6) | word(7),
            len => {
                let mut difference = 0;
                let mut at = 0;
                while at < len {
                    difference |= word(at) | word(at + 1);
                    at += MEMO_GROUP;
                }
                difference
            }
        };
        (difference == 0).then_some(TraceId(self.trace))
    }

    /// Copies this memo, which holds a trace, into `victim` (what a replay compares: the key,
    /// the trace and the words), word by word (a `memcpy` from here would go through the
    /// preload library's own, checked, one); `victim` holds no trace while it changes.
    #[inline(always)]
    fn keep_as(&self, victim: &mut Memo) {
        debug_assert!(self.sp != 0 && self.len <= MEMO_WORDS);
        victim.sp = 0;
        let len = self.len.min(MEMO_WORDS);
        for (to, from) in victim.words[..len].iter_mut().zip(&self.words[..len]) {
            // SAFETY: `to` is a valid, aligned word pair; the volatile write keeps the loop a
            // loop.
            unsafe { core::ptr::write_volatile(to, *from) };
        }
        victim.len = len;
        victim.bp = self.bp;
        victim.top = self.top;
        victim.depth = self.depth;
        victim.generation = self.generation;
        victim.trace = self.trace;
        victim.from = self.from;
        victim.sp = self.sp;
    }

    /// Exchanges what this memo and `other` remember (the key, the trace and the words), both
    /// holding a trace, word by word (see [`Self::keep_as`]).
    #[inline(always)]
    fn swap_with(&mut self, other: &mut Memo) {
        debug_assert!(self.len <= MEMO_WORDS && other.len <= MEMO_WORDS);
        let len = self.len.max(other.len).min(MEMO_WORDS);
        for (a, b) in self.words[..len].iter_mut().zip(&mut other.words[..len]) {
            // SAFETY: `a` and `b` are valid, aligned word pairs of two different memos; the
            // volatile accesses keep the loop a loop.
            unsafe {
                let (x, y) = (core::ptr::read_volatile(a), core::ptr::read_volatile(b));
                core::ptr::write_volatile(a, y);
                core::ptr::write_volatile(b, x);
            }
        }
        core::mem::swap(&mut self.len, &mut other.len);
        core::mem::swap(&mut self.sp, &mut other.sp);
        core::mem::swap(&mut self.bp, &mut other.bp);
        core::mem::swap(&mut self.top, &mut other.top);
        core::mem::swap(&mut self.depth, &mut other.depth);
        core::mem::swap(&mut self.generation, &mut other.generation);
        core::mem::swap(&mut self.trace, &mut other.trace);
        core::mem::swap(&mut self.from, &mut other.from);
    }

    /// Adds a word the walk read (past the capacity, marks the memo as not remembered).
    #[inline(always)]
    fn push(&mut self, address: usize, value: usize) {
        if self.len < MEMO_WORDS {
            self.words[self.len] = (address, value);
            self.len += 1;
        } else {
            self.len = MEMO_WORDS + 1;
        }
    }

    /// Completes the memo of a capture from `start` whose own frames were recorded already
    /// (by [`leave_own_frames`]): adds the words of the program's steps (`end`'s path, at
    /// `base`, the first frame's stack pointer) and the one that ended the walk, then the key
    /// (with `generation`, the memo generation read before the walk) and the trace; the words
    /// are made a multiple of [`MEMO_GROUP`] (a replay compares a pair at a time past eight)
    /// by [`PAD_WORD`].
    #[cold]
    fn remember(
        &mut self,
        cache: &PathCache,
        start: State,
        depth: usize,
        base: usize,
        end: &WalkEnd,
        generation: usize,
    ) {
        if end.steps > PATH_STEPS || self.len > MEMO_WORDS {
            return;
        }
        // SAFETY: this thread's paths; nothing else touches them now.
        let paths = unsafe { &*cache.paths.get() };
        let path = &paths[end.record];
        let steps = &path.steps[..end.steps];
        // A step adds at most two words (the return address, and the `rbp` word before it
        // where its rule uses `rbp`): with room for twice the steps (an 8-frame trace's 7
        // steps, 14 words at most), they are written with the count in a register and no
        // capacity test per word (espresso: 29 instructions a step before).
        let bp_from = if self.len + 2 * steps.len() <= MEMO_WORDS {
            let mut len = self.len;
            let words = &mut self.words;
            let bp_from = step_words(steps, base, self.entry_bp, |word| {
                debug_assert!(len < MEMO_WORDS);
                // SAFETY: at most two words a step, and `len` started at most `MEMO_WORDS`
                // minus twice the steps: `len < MEMO_WORDS`.
                unsafe { *words.get_unchecked_mut(len) = word };
                len += 1;
            });
            self.len = len;
            bp_from
        } else {
            step_words(steps, base, self.entry_bp, |(address, value)| {
                self.push(address, value)
            })
        };
        if end.ended {
            match end_word(end.last) {
                Ok((word, uses_bp)) => {
                    if let Some((address, value)) = word {
                        self.push(address, value);
                    }
                    if uses_bp {
                        if let Some((address, value)) = bp_from {
                            self.push(address, value);
                        }
                    }
                }
                Err(()) => return,
            }
        }
        if self.len % MEMO_GROUP != 0 {
            // Odd, so below `MEMO_WORDS` (even): room for the pad.
            self.push(&PAD_WORD as *const usize as usize, PAD_WORD);
        }
        if self.len > MEMO_WORDS {
            return;
        }
        self.sp = start.sp;
        self.bp = start.bp;
        self.top = start.top;
        self.depth = depth;
        self.generation = generation;
        self.trace = end.id.0;
    }
}

/// The words a memo keeps for `steps` (a path's steps, relative to `base`), handed to `push`
/// in order: per step, the word `rbp` was last loaded from (`bp_from`, at first the entry's
/// saved `rbp`) where the step's rule uses `rbp` and that word was not pushed yet, then the
/// return address's slot. At most two words a step. Returns the word `rbp` was last loaded
/// from after them (`None` once pushed and not reloaded since).
#[inline(always)]
fn step_words(
    steps: &[Step],
    base: usize,
    entry_bp: (usize, usize),
    mut push: impl FnMut((usize, usize)),
) -> Option<(usize, usize)> {
    // The word `rbp` was last loaded from, until a rule uses it: `rbp` is an ordinary
    // register in code without frame pointers, and its value matters only where a rule
    // computes the CFA from it (the other steps, and `still_holds`, do not read it).
    let mut bp_from = Some(entry_bp);
    for step in steps {
        let step = step.absolute(base);
        if step.slot & RBP_RULE != 0 {
            if let Some(word) = bp_from.take() {
                push(word);
            }
        }
        push((step.sp - 8, step.ip));
        if let Some(slot) = step.reload_from(step.sp) {
            // SAFETY: the slot the walk just reloaded `rbp` from (in the frame it left,
            // below its CFA, at most `top`): the same word, still the same value.
            bp_from = Some((slot, unsafe { (slot as *const usize).read() }));
        }
    }
    bp_from
}

/// What a walk that stopped at `state` depended on there: the stack word it read before
/// stopping, if any (the return address slot, when it held 0 or the saved-`rbp` slot was out
/// of place), and whether the rule computed the CFA from `rbp`. `Err` when a step from
/// `state` can be taken after all (the walk stopped on remembered information, not on the
/// rules: nothing to remember).
#[cold]
fn end_word(state: State) -> Result<(Option<(usize, usize)>, bool), ()> {
    if step(state, false, 0).is_some() {
        return Err(());
    }
    let Some(rule) = rule_for(state.ip.wrapping_sub(1)) else {
        return Ok((None, false));
    };
    let from = if rule.from_rbp { state.bp } else { state.sp };
    let cfa = from.wrapping_add_signed(rule.cfa_offset as isize);
    if cfa <= state.sp || cfa - state.sp > MAX_FRAME || cfa % 8 != 0 || cfa > state.top {
        return Ok((None, rule.from_rbp));
    }
    // SAFETY: as in `step`: `sp < cfa <= top` keeps the read inside the thread's stack.
    let word = unsafe { ((cfa - 8) as *const usize).read() };
    Ok((Some((cfa - 8, word)), rule.from_rbp))
}

// ---- the cross-check (debug setting `GPA_UNWIND_CHECK=1`) ----

static CROSS_CHECK: AtomicBool = AtomicBool::new(false);
static COMPARED: AtomicUsize = AtomicUsize::new(0);
static DIFFERED: AtomicUsize = AtomicUsize::new(0);
/// Of the traces compared, those a [`Memo`] answered (no walk).
static REMEMBERED: AtomicUsize = AtomicUsize::new(0);
/// Traces of the cross-check answered by a recalled walk ([`Recall`]).
static RECALLED: AtomicUsize = AtomicUsize::new(0);

/// Makes every [`capture_user`] compare its trace with libgcc's `_Unwind_Backtrace` of the
/// same stack (leaving out the same frames): a difference is printed to stderr, and the counts
/// at exit (`gpa: unwind cross-check: N traces compared with libgcc's, M differed (K
/// remembered, R recalled)`, K of them answered by a [`Memo`], R by a [`Recall`]). For tests: it makes every trace cost a
/// libgcc unwind.
///
/// Called at start-up (`capi`'s settings), before any capture, so an allocator never asks
/// [`remembered_at`] under it: it asks only once [`remembered_ready`] held, which it then
/// never does. Were it turned on later, the memos made before are made stale here, but a
/// lane's last memo ([`LastMemo`]) could still lead a capture to a memo made since, and that
/// capture would not be compared.
pub fn enable_cross_check() {
    let first = !CROSS_CHECK.swap(true, Ordering::SeqCst);
    // `remembered_at` answers no more (see `LEAN_RANGE`; `find_own_object` checks again).
    LEAN_RANGE[1].store(0, Ordering::SeqCst);
    forget_memos();
    if first {
        // SAFETY: `report_cross_check` is an `extern "C" fn()` that lives as long as the
        // process.
        unsafe { libc::atexit(report_cross_check) };
    }
}

extern "C" fn report_cross_check() {
    let line = format_line(format_args!(
        "gpa: unwind cross-check: {} traces compared with libgcc's, {} differed ({} remembered, {} recalled)\n",
        COMPARED.load(Ordering::Relaxed),
        DIFFERED.load(Ordering::Relaxed),
        REMEMBERED.load(Ordering::Relaxed),
        RECALLED.load(Ordering::Relaxed)
    ));
    crate::os::write_stderr(line.as_bytes());
}

fn format_line(args: core::fmt::Arguments<'_>) -> std::string::String {
    std::format!("{args}")
}

#[cold]
#[inline(never)]
fn cross_check(id: TraceId, depth: usize, (own_start, own_end, _): (usize, usize, bool)) {
    let ours = crate::trace::frames_of(id);
    let mut theirs = [0usize; MAX_FRAMES];
    // The entry frame (the last of this object's), then `depth` frames of the program.
    let limit = depth + 1;
    let mut count = 0;
    let mut leading = true;
    // SAFETY: the callback neither allocates from a user heap nor unwinds.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            let ip = frame.ip() as usize;
            if leading && ip >= own_start && ip < own_end {
                theirs[0] = ip;
                count = 1;
                return true;
            }
            leading = false;
            if ip == 0 || count == limit {
                return false;
            }
            theirs[count] = ip;
            count += 1;
            count < limit
        });
    }
    COMPARED.fetch_add(1, Ordering::Relaxed);
    if ours.addresses() != &theirs[..count] {
        DIFFERED.fetch_add(1, Ordering::Relaxed);
        let line = format_line(format_args!(
            "gpa: unwind cross-check: ours {:x?} libgcc {:x?}\n",
            ours.addresses(),
            &theirs[..count]
        ));
        crate::os::write_stderr(line.as_bytes());
    }
}

/// The registers of the caller of this (always inlined) function.
#[inline(always)]
fn current_state() -> State {
    let (ip, sp, bp): (usize, usize, usize);
    // SAFETY: reads three registers; no memory access, no stack change.
    unsafe {
        core::arch::asm!(
            "lea {ip}, [rip]",
            "mov {sp}, rsp",
            "mov {bp}, rbp",
            ip = out(reg) ip,
            sp = out(reg) sp,
            bp = out(reg) bp,
            options(nomem, nostack, preserves_flags)
        );
    }
    State {
        ip,
        sp,
        bp,
        top: stack_top(),
    }
}

/// The top of the calling thread's stack (`usize::MAX` while it is not known).
#[inline(always)]
fn stack_top() -> usize {
    super::current_stack_bounds().map_or(usize::MAX, |(_, top)| top)
}

/// The address range of the object containing this unwinder, and whether its code keeps frame
/// pointers (found once: `(start, end, frame pointers)`).
#[inline(always)]
fn own_object(probe: State) -> (usize, usize, bool) {
    let end = OWN_RANGE[1].load(Ordering::Acquire);
    if end != 0 {
        return (
            OWN_RANGE[0].load(Ordering::Relaxed),
            end,
            OWN_RANGE[2].load(Ordering::Relaxed) != 0,
        );
    }
    find_own_object(probe)
}

/// `(start, end, frame pointers)` of [`own_object`] once found (`end` is 0 before).
static OWN_RANGE: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];

/// Whether [`remembered_at`] can answer (see [`LEAN_RANGE`]), for `trace::remembered_ready`.
#[inline]
pub fn remembered_ready() -> bool {
    LEAN_RANGE[1].load(Ordering::Acquire) != 0
}

/// `(start, length)` of [`own_object`] for [`remembered_at`]: the length is 0 until the object
/// is found, and stays 0 where it keeps no frame pointers or the cross-check is on (under
/// which [`remembered_at`] does not answer), so that one test covers the three.
static LEAN_RANGE: [AtomicUsize; 2] = [const { AtomicUsize::new(0) }; 2];

#[cold]
#[inline(never)]
fn find_own_object(probe: State) -> (usize, usize, bool) {
    let Some(object) = crate::os::object_containing(probe.ip) else {
        return (0, 0, false);
    };
    // Built with frame pointers: the rule at `probe` (inside a function of this object, after
    // its prologue) says the CFA is `rbp + 16` with the caller's `rbp` saved just below it.
    let frame_pointers = rule_for(probe.ip)
        .is_some_and(|rule| rule.from_rbp && rule.cfa_offset == 16 && rule.rbp_offset == Some(-16));
    OWN_RANGE[0].store(object.start, Ordering::Relaxed);
    OWN_RANGE[2].store(usize::from(frame_pointers), Ordering::Relaxed);
    OWN_RANGE[1].store(object.end, Ordering::Release);
    if frame_pointers {
        LEAN_RANGE[0].store(object.start, Ordering::Relaxed);
        LEAN_RANGE[1].store(object.end - object.start, Ordering::SeqCst);
        // The cross-check turned on meanwhile: `enable_cross_check` may have cleared the
        // length before this store.
        if CROSS_CHECK.load(Ordering::SeqCst) {
            LEAN_RANGE[1].store(0, Ordering::SeqCst);
        }
    }
    (object.start, object.end, frame_pointers)
}

/// From `start` (a state inside this object), the address in its outermost frame there (the
/// entry point the program called) and the state of the first frame outside it: along the
/// frame-pointer chain when the object keeps frame pointers (two loads per frame), else by the
/// unwind rules.
#[inline(always)]
fn leave_own_frames(start: State, mut memo: Option<&mut Memo>) -> Option<(usize, State)> {
    let (own_start, own_end, frame_pointers) = own_object(start);
    let own = |ip: usize| ip >= own_start && ip < own_end;
    let mut entry = start.ip;
    if frame_pointers {
        // The chain climbs strictly (each caller's frame pointer above its callee's), so
        // checking the first against the stack pointer, and every one against the top, its
        // alignment and the previous one, keeps every read inside `[sp, top)`.
        let mut fp = start.bp;
        if fp <= start.sp || fp - start.sp > MAX_FRAME {
            return None;
        }
        let limit = start.top.saturating_sub(16);
        let own_len = own_end.wrapping_sub(own_start);
        for _ in 0..64 {
            if fp % 8 != 0 || fp > limit {
                return None;
            }
            // SAFETY: `fp` is a frame pointer of this object's code, and `[fp, fp + 16)` lies
            // in the live stack: above the stack pointer (the first one checked above, each
            // later one above the previous), at most `top - 16` (checked just above). It
            // holds the caller's `rbp`, and the return address is above it.
            let (caller_bp, return_address) =
                unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
            if let Some(memo) = memo.as_deref_mut() {
                memo.push(fp + 8, return_address);
            }
            if return_address.wrapping_sub(own_start) >= own_len {
                if let Some(memo) = memo {
                    // The program's `rbp` on entry: kept apart, it matters only to a walk
                    // whose rule uses it before a frame reloads it (`Memo::remember`).
                    memo.entry_bp = (fp, caller_bp);
                }
                let user = State {
                    ip: return_address,
                    sp: fp + 16,
                    bp: caller_bp,
                    top: start.top,
                };
                return Some((entry, user));
            }
            if caller_bp <= fp || caller_bp - fp > MAX_FRAME {
                return None;
            }
            if let Some(memo) = memo.as_deref_mut() {
                memo.push(fp, caller_bp);
            }
            entry = return_address;
            fp = caller_bp;
        }
        return None;
    }
    if let Some(memo) = memo {
        // Not remembered: the words of a walk by the rules across this object are not kept.
        memo.len = MEMO_WORDS + 1;
    }
    let mut state = after(&step(start, true, 0)?, start, 0);
    for _ in 0..64 {
        if !own(state.ip) {
            return Some((entry, state));
        }
        entry = state.ip;
        state = after(&step(state, false, 0)?, state, 0);
    }
    None
}

/// One unwinding step from `state` (whose `ip` is a return address unless `first`): the step,
/// relative to `base`, or `None` where the walk must end.
#[inline(always)]
fn step(state: State, first: bool, base: usize) -> Option<Step> {
    // A return address may be one past its call's function (a `noreturn` call at the end):
    // look up the call instruction instead.
    let lookup = if first { state.ip } else { state.ip - 1 };
    let rule = rule_for(lookup)?;
    let from = if rule.from_rbp { state.bp } else { state.sp };
    let cfa = from.wrapping_add_signed(rule.cfa_offset as isize);
    if cfa <= state.sp || cfa - state.sp > MAX_FRAME || cfa % 8 != 0 || cfa > state.top {
        return None;
    }
    // SAFETY: `cfa - 8` holds the return address pushed by the caller's `call`: the CFI says
    // so, and `sp < cfa <= top` keeps the read inside the stack the thread is running on.
    let return_address = unsafe { ((cfa - 8) as *const usize).read() };
    if return_address == 0 {
        return None;
    }
    let mut slot = 0;
    if let Some(offset) = rule.rbp_offset {
        let saved = cfa.wrapping_add_signed(offset as isize);
        if saved < state.sp {
            // Only an interrupted frame in its epilogue, after `pop rbp` (a signal's, or a
            // fault's): the rule still names the slot (LLVM's call-frame information does not
            // say `rbp` was restored), but `rbp` holds the caller's value already. (Tested
            // after the common case's bounds, not before: `first` first cost every step.)
            if !first {
                return None;
            }
        } else {
            if saved >= cfa || saved % 8 != 0 {
                return None;
            }
            slot = saved.wrapping_sub(cfa);
        }
    }
    Some(Step {
        ip: return_address,
        sp: cfa.wrapping_sub(base),
        slot: slot | if rule.from_rbp { RBP_RULE } else { 0 },
        // Only where the rule used it: elsewhere `rbp` may hold any of the program's values,
        // which the shadow stack should not keep.
        bp_used: if rule.from_rbp {
            state.bp.wrapping_sub(base)
        } else {
            0
        },
    })
}

/// The state a step reaches from `from` (the state it was taken, or checked by
/// [`still_holds`], from): its return address and CFA, and `rbp` reloaded from the slot where
/// the frame saved it (read now: the value the real unwinding sees).
#[inline(always)]
fn after(step: &Step, from: State, base: usize) -> State {
    let cfa = step.sp.wrapping_add(base);
    let bp = match step.reload_from(cfa) {
        None => from.bp,
        // SAFETY: the slot lies in the frame just left, between its stack pointer and its CFA
        // (checked by `step` when the step was first taken; a replayed step starts from the
        // same return address at the same relative position, and its offset from the CFA is
        // the rule's), and the CFA is at most `top` (checked by `step`, or by `still_holds`
        // for a replayed step).
        Some(slot) => unsafe { (slot as *const usize).read() },
    };
    State {
        ip: step.ip,
        sp: cfa,
        bp,
        top: from.top,
    }
}

/// Whether a remembered step still holds from the frame it was taken from (the same return
/// address at the same position): the step's CFA (`cfa`, absolute) stays inside the stack the
/// thread runs on now (at most `top`: a replay at another depth, or on another stack, may not),
/// its return address is still in its slot and, if its rule used `rbp`, `rbp` is the same
/// (`bp`, relative to the step's base). Then the rule (the same: same address) gives the same
/// CFA, and taking the step again would give the same result.
#[inline(always)]
fn still_holds(step: &Step, bp: usize, cfa: usize, top: usize) -> bool {
    if step.slot & RBP_RULE != 0 && step.bp_used != bp {
        return false;
    }
    // SAFETY: `cfa` is the CFA the rule of the frame's return address gives from it (the same
    // rule, relative position and `rbp` as when the step was taken and checked by `step`):
    // the caller's stack pointer, above the frame's (a relative position checked then), and
    // at most `top` (checked first).
    cfa <= top && unsafe { ((cfa - 8) as *const usize).read() } == step.ip
}

/// The interned trace of `entry` (the address in the allocator's entry point), then `depth`
/// frames from `start` (the program's innermost frame).
///
/// Each step is replayed from a remembered walk from the same first frame when it still holds
/// there (the walk being recorded over: nothing to copy); where only its return address
/// changed, the step is the remembered one with the new return address (the rule, the same,
/// gives the same CFA: no rule lookup; espresso's check mode -1.1% of its instructions, cfrac
/// -0.6%), and the remembered walk ends there. Then, where that one stops holding, steps are
/// replayed from the shadow stack ([`walk_on`]); otherwise the step is taken by the rules. A
/// walk that replayed the remembered one whole returns its trace id without interning again.
///
/// Inlined into its two callers: its result, a [`WalkEnd`], stays out of memory.
#[inline(always)]
fn walk(cache: &PathCache, entry: usize, start: State, depth: usize) -> WalkEnd {
    let mut end = WalkEnd {
        id: TraceId::NONE,
        record: 0,
        steps: 0,
        ended: false,
        last: start,
    };
    if depth == 0 {
        return end;
    }
    // SAFETY: the cache is this thread's, and nothing else touches it during the walk (which
    // neither allocates nor calls out, except `compute`, which does not walk).
    let paths = unsafe { &mut *cache.paths.get() };
    let base = start.sp;
    let record = path_index(start.ip);
    let in_place = paths[record].first == start.ip && paths[record].entry == entry;
    let mut frames = [core::mem::MaybeUninit::<usize>::uninit(); MAX_FRAMES];
    frames[0].write(entry);
    frames[1].write(start.ip);
    // `count` counts the entry frame too; `depth` does not.
    let depth = depth + 1;
    let mut walked = Walked {
        count: 2,
        state: start,
        k: 0,
    };
    let path = &mut paths[record];
    if in_place {
        // Replay the remembered walk in place for as long as it holds: `still_holds` and
        // `after` on registers (`top` does not change; `count` is `k + 2`).
        // (Each step adds a frame after the entry and the first frame.)
        let remembered = path.len.min(depth - 2);
        let (mut sp, mut bp, mut k) = (start.sp, start.bp, 0);
        while k < remembered {
            let next = &path.steps[k];
            let cfa = next.sp.wrapping_add(base);
            // `still_holds`, in two parts: the CFA is the one the rule gives from this frame
            // (its `rbp` the same where the rule used it) and lies in the stack; then the
            // return address in its slot.
            if (next.slot & RBP_RULE != 0 && next.bp_used != bp.wrapping_sub(base))
                || cfa > start.top
            {
                break;
            }
            // SAFETY: as in `still_holds`: `cfa` is the CFA the rule of this frame's return
            // address gives from it (the same rule, relative position and `rbp` as when the
            // step was taken and checked by `step`), above the frame's stack pointer and at
            // most `top` (checked just above).
            let return_address = unsafe { ((cfa - 8) as *const usize).read() };
            let reload = next.reload_from(cfa);
            let changed = return_address != next.ip;
            if changed {
                // Only the caller changed (a recursion's first frame, called from ever other
                // places): the rule's CFA and `rbp` slot still hold, so the step from here is
                // the remembered one with this return address, as `step` would take it (its
                // other checks are of relative positions), with no rule lookup. The path
                // keeps it as its last step (the steps after it were taken from another
                // frame), neither ended nor with a trace.
                if return_address == 0 {
                    break;
                }
                path.steps[k].ip = return_address;
                path.len = k + 1;
                path.ended = false;
                path.trace = 0;
            }
            if let Some(slot) = reload {
                // SAFETY: as in `after`: the slot lies in the frame just left, below its CFA.
                bp = unsafe { (slot as *const usize).read() };
            }
            sp = cfa;
            frames[k + 2].write(return_address);
            k += 1;
            if changed {
                break;
            }
        }
        if k > 0 {
            walked = Walked {
                count: k + 2,
                state: State {
                    ip: path.steps[k - 1].ip,
                    sp,
                    bp,
                    top: start.top,
                },
                k,
            };
        }
        if walked.count == depth || (walked.k == path.len && path.ended) {
            end.record = record;
            end.steps = walked.k;
            end.ended = walked.count != depth;
            end.last = walked.state;
            // The whole trace is the remembered one's (in this module epoch).
            let epoch = crate::trace::module_epoch();
            if path.depth == depth && path.trace != 0 && path.epoch == epoch {
                end.id = TraceId(path.trace);
                return end;
            }
            // SAFETY: `frames[..count]` were written above.
            let addresses = unsafe { slice_assume_init(&frames[..walked.count]) };
            end.id = crate::trace::intern_addresses(addresses);
            path.depth = depth;
            path.trace = end.id.0;
            // Read before the interning: at worst older than the trace's, never newer.
            path.epoch = epoch;
            return end;
        }
    } else {
        path.first = start.ip;
        path.entry = entry;
        path.len = 0;
    }
    // SAFETY: as for `paths`; the shadow stack is a separate cell.
    let shadow = unsafe { &mut *cache.shadow.get() };
    let ended = walk_on(
        &mut paths[record],
        shadow,
        base,
        depth,
        &mut frames,
        &mut walked,
    );
    // SAFETY: `frames[..count]` were written by the walk.
    let addresses = unsafe { slice_assume_init(&frames[..walked.count]) };
    let epoch = crate::trace::module_epoch();
    let id = crate::trace::intern_addresses_inline(addresses);
    let path = &mut paths[record];
    path.epoch = epoch;
    path.len = walked.k.min(PATH_STEPS);
    // A walk longer than the path keeps only its start: it must not claim to have ended.
    path.ended = ended && walked.k <= PATH_STEPS;
    path.depth = depth;
    path.trace = id.0;
    WalkEnd {
        id,
        record,
        steps: walked.k,
        ended,
        last: walked.state,
    }
}

/// [`walk`], and on through the signal frames it stops at: a walk that ended at a signal
/// trampoline (a handler's frame returned to it) is finished by the rules, through the
/// interrupted code's registers ([`through_signal_frame`], [`by_rules`]), as Valgrind's
/// stacks go on from a handler to the code the signal interrupted; one that ended at code
/// without call-frame information, by its frame pointer ([`through_frame_pointer`]). The words such a walk read
/// in the signal frame are no part of the remembered walks and captures, so its trace is not
/// remembered: returns `remember` false then (else as given). The remembered walk (path) of
/// its first frame keeps the trace up to the trampoline, which ends there every time, so
/// every capture from there takes this way again.
#[inline(always)]
fn walk_past_signal_frames(
    cache: &PathCache,
    entry: usize,
    user: State,
    depth: usize,
    remember: bool,
) -> (WalkEnd, bool) {
    let mut end = walk(cache, entry, user, depth);
    if !end.ended || !end.id.is_some() || !SIGNAL_FRAMES_SEEN.load(Ordering::Relaxed) {
        return (end, remember);
    }
    match past_signal_frame(end.last, end.id, depth) {
        Some(id) => {
            end.id = id;
            (end, false)
        }
        None => (end, remember),
    }
}

/// The slow part of [`walk_past_signal_frames`], out of line: the trace through the signal
/// frame or frame without call-frame information a walk stopped at (`last`, its trace `id`),
/// or `None` when it did not stop at one.
/// With all of it (the check too) left out, check mode's instructions on espresso are 1.3%
/// fewer (cachegrind: 6,488.8M against 6,570.8M; cfrac 6,113M against 6,131M): the cost of
/// the walks' last state kept for it, measured and accepted for traces that go on past a
/// signal handler as Valgrind's do.
#[cold]
#[inline(never)]
fn past_signal_frame(last: State, id: TraceId, depth: usize) -> Option<TraceId> {
    // The walk's last state is at a return address (the first frame's or a step's).
    let (next, exact) = through_special_frame(last, false)?;
    let mut frames = [0usize; MAX_FRAMES];
    let walked = crate::trace::frames_of(id);
    let walked = walked.addresses();
    // The entry frame, then `depth` frames of the program.
    let limit = (depth + 1).min(MAX_FRAMES);
    let mut count = walked.len().min(limit);
    frames[..count].copy_from_slice(&walked[..count]);
    if count < limit {
        frames[count] = next.ip;
        count += 1;
        count += by_rules(next, exact, &mut frames[count..limit]);
    }
    Some(crate::trace::intern_addresses(&frames[..count]))
}

/// How [`walk`] ended: the trace, the path (index in the thread's paths) that now holds its
/// steps (relative to the first frame's stack pointer; all of them when `steps` is at most
/// [`PATH_STEPS`]), and whether unwinding could go no further from `last` (rather than the
/// trace reaching its depth).
struct WalkEnd {
    id: TraceId,
    record: usize,
    steps: usize,
    ended: bool,
    last: State,
}

/// Where a walk is: frames written, current state, index of the next step.
struct Walked {
    count: usize,
    state: State,
    k: usize,
}

/// # Safety
/// Every element of `slice` is initialized.
unsafe fn slice_assume_init(slice: &[core::mem::MaybeUninit<usize>]) -> &[usize] {
    // SAFETY: caller contract; `MaybeUninit<usize>` has `usize`'s layout.
    unsafe { &*(slice as *const [core::mem::MaybeUninit<usize>] as *const [usize]) }
}

/// The rest of [`walk`] once the in-place replay stopped (`walked.k` steps replayed, recorded
/// in `path`): each further step is replayed from the thread's shadow stack ([`Shadow`]: the
/// frames of earlier walks that have not returned since, at their absolute positions) once the
/// walk reaches one of its frames and while its steps still hold, or taken by the rules. Steps
/// go to `path` (relative to `base`). Returns whether unwinding ended (rather than the output
/// filling up).
///
/// The shadow stack is updated in place: the walk's last run of replayed steps, and the steps
/// after it (frames further out, from earlier walks), stay where they are; the walk's other
/// steps (those it took by the rules, replayed from `path`, or replayed in an earlier run that
/// stopped holding) are written just below that run, and the steps below them are dropped. A
/// walk that ends with a step by the rules replaces the shadow stack with its own steps. A
/// replayed step costs its check, the frame and the path's copy; nothing is copied for the
/// shadow stack.
///
/// Inlined into [`walk`] (so into [`capture_unanswered`], every walk of the C ABI's check
/// mode): out of line, its call, prologue and the walk's position written back to `walked`
/// and read again cost about 20 instructions a walk (espresso: -0.87% of its check-mode
/// instructions inlined).
#[inline(always)]
fn walk_on(
    path: &mut Path,
    shadow: &mut Shadow,
    base: usize,
    depth: usize,
    frames: &mut [core::mem::MaybeUninit<usize>; MAX_FRAMES],
    walked: &mut Walked,
) -> bool {
    let steps = depth.saturating_sub(2).min(MAX_FRAMES);
    // The walk's position in locals (registers), written back at the end; `count` is `k + 2`.
    let (mut state, mut k) = (walked.state, walked.k);
    let top = state.top;
    // The walk's steps not (yet) in the shadow stack where they belong, at absolute positions:
    // first those replayed in place from the path.
    let mut own = [core::mem::MaybeUninit::<Step>::uninit(); MAX_FRAMES];
    let mut owned = 0;
    for from in &path.steps[..k.min(PATH_STEPS)] {
        own[owned].write(from.absolute(base));
        owned += 1;
    }
    let held = shadow.held.min(SHADOW_STEPS);
    let old = &shadow.steps;
    // The first step of the shadow stack not below the walk's position (positions only grow).
    let mut cursor = SHADOW_STEPS - held;
    // The run of shadow steps the walk replayed last, `old[run..cursor]`, while it is not
    // (yet) copied to `own`: kept in place where the walk ends on it or right after it.
    let mut run = None;
    let mut ended = false;
    loop {
        // Is the frame the walk stands on one of the shadow stack's (the same return address
        // at the same stack pointer)? Then the shadow stack's next step is the step from it:
        // replay from there for as long as the steps hold.
        while cursor < SHADOW_STEPS && old[cursor].sp < state.sp {
            cursor += 1;
        }
        if cursor < SHADOW_STEPS && old[cursor].sp == state.sp && old[cursor].ip == state.ip {
            cursor += 1;
            run = Some(cursor);
            let room = (steps - k.min(steps)).min(SHADOW_STEPS - cursor);
            let (held, bp) = replay_run(
                &old[cursor..cursor + room],
                state.bp,
                top,
                base,
                &mut frames[k + 2..],
                &mut path.steps[k.min(PATH_STEPS)..],
            );
            if held != 0 {
                let last = &old[cursor + held - 1];
                state = State {
                    ip: last.ip,
                    sp: last.sp,
                    bp,
                    top,
                };
                k += held;
                cursor += held;
            }
        }
        if k >= steps {
            break;
        }
        let Some(next) = step(state, false, 0) else {
            ended = true;
            break;
        };
        // The run (if any) stopped holding, or the shadow stack ended: its steps are the
        // walk's own from here.
        if let Some(start) = run.take() {
            for step in &old[start..cursor] {
                own[owned].write(*step);
                owned += 1;
            }
        }
        own[owned].write(next);
        owned += 1;
        if let Some(slot) = path.steps.get_mut(k) {
            *slot = next.relative(base);
        }
        state = after(&next, state, 0);
        frames[k + 2].write(next.ip);
        k += 1;
    }
    *walked = Walked {
        count: k + 2,
        state,
        k,
    };
    // SAFETY: `own[..owned]` were written above.
    let own =
        unsafe { &*(&own[..owned] as *const [core::mem::MaybeUninit<Step>] as *const [Step]) };
    place(shadow, own, run);
    ended
}

/// Replays the shadow stack's steps `run` (a chain from the frame the walk stands on, whose
/// `rbp` is `bp`) for as long as they hold, writing each return address to `frames` and each
/// step, relative to `base`, to `path` (while it has room); `frames` has room for all of
/// `run`. Returns how many held and `rbp` after them.
#[inline(always)]
fn replay_run(
    run: &[Step],
    bp: usize,
    top: usize,
    base: usize,
    frames: &mut [core::mem::MaybeUninit<usize>],
    path: &mut [Step],
) -> (usize, usize) {
    assert!(frames.len() >= run.len());
    // The path has room for the whole run where the trace's depth is at most `PATH_STEPS`
    // steps (check mode's 8 frames): no test of its room per step then.
    if path.len() >= run.len() {
        replay_steps::<false>(run, bp, top, base, frames, path)
    } else {
        replay_steps::<true>(run, bp, top, base, frames, path)
    }
}

/// [`replay_run`]'s loop; `ROOM_TESTED`: whether each step tests `path`'s room (else `path`
/// has room for every step of `run`, and the loop has no such test).
#[inline(always)]
fn replay_steps<const ROOM_TESTED: bool>(
    run: &[Step],
    mut bp: usize,
    top: usize,
    base: usize,
    frames: &mut [core::mem::MaybeUninit<usize>],
    path: &mut [Step],
) -> (usize, usize) {
    debug_assert!(frames.len() >= run.len() && (ROOM_TESTED || path.len() >= run.len()));
    let path_room = path.len();
    let mut held = 0;
    while held < run.len() {
        // SAFETY: `held < run.len() <= frames.len()`.
        let next = unsafe { run.get_unchecked(held) };
        // The shadow stack is a chain: the step was taken from this return address at this
        // stack pointer.
        let cfa = next.sp;
        if !still_holds(next, bp, cfa, top) {
            break;
        }
        if let Some(slot) = next.reload_from(cfa) {
            // SAFETY: as in `after`: the slot lies in the frame just left, below its CFA, which
            // is at most `top`.
            bp = unsafe { (slot as *const usize).read() };
        }
        // SAFETY: as above.
        unsafe { frames.get_unchecked_mut(held) }.write(next.ip);
        if !ROOM_TESTED || held < path_room {
            // SAFETY: `held < path_room`, tested or (without the test) the caller's promise.
            *unsafe { path.get_unchecked_mut(held) } = next.relative(base);
        }
        held += 1;
    }
    (held, bp)
}

/// Copies `from` to `to` (of the same length) step by step: a call of `memcpy` from here
/// would go through the preload library's own, checked, `memcpy`.
#[inline(always)]
fn copy_steps(to: &mut [Step], from: &[Step]) {
    for (to, from) in to.iter_mut().zip(from) {
        // SAFETY: `to` is a valid, aligned step; the volatile write keeps the loop a loop.
        unsafe { core::ptr::write_volatile(to, *from) };
    }
}

/// Makes `own` (a walk's steps, innermost first) the start of the shadow stack, followed by
/// its steps from `kept` on (the run the walk replayed last, and the frames beyond it), or by
/// none (`kept` is `None`). Where there is no room below `kept`, the steps kept are moved out,
/// as many as leave half the buffer for later walks (the outermost are dropped).
#[inline(always)]
fn place(shadow: &mut Shadow, own: &[Step], kept: Option<usize>) {
    let owned = own.len();
    debug_assert!(owned <= MAX_FRAMES);
    let mut at = kept.unwrap_or(SHADOW_STEPS);
    if owned > at {
        // Keep at most enough of the run that the walk's steps end half-way or higher.
        let keep = (SHADOW_STEPS - at).min(SHADOW_STEPS / 2 - owned);
        // Outward (`SHADOW_STEPS - keep >= at`), so from the outermost step down.
        let shift = SHADOW_STEPS - keep - at;
        for from in (at..at + keep).rev() {
            let step = shadow.steps[from];
            // SAFETY: a valid, aligned step of the buffer (`from + shift < SHADOW_STEPS`); the
            // volatile write keeps the loop a loop (not a call of the library's `memmove`).
            unsafe { core::ptr::write_volatile(&mut shadow.steps[from + shift], step) };
        }
        at = SHADOW_STEPS - keep;
    }
    copy_steps(&mut shadow.steps[at - owned..at], own);
    shadow.held = SHADOW_STEPS - (at - owned);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_pack_and_unpack() {
        for rule in [
            Rule {
                from_rbp: false,
                cfa_offset: 8,
                rbp_offset: None,
            },
            Rule {
                from_rbp: true,
                cfa_offset: 16,
                rbp_offset: Some(-16),
            },
            Rule {
                from_rbp: false,
                cfa_offset: 4096,
                rbp_offset: Some(-48),
            },
        ] {
            assert_eq!(Rule::unpack(rule.pack()), Some(rule));
        }
        assert_eq!(Rule::unpack(NO_RULE), None);
    }

    #[inline(never)]
    fn nested(depth: usize, at_bottom: &mut dyn FnMut()) {
        if depth == 0 {
            return at_bottom();
        }
        nested(depth - 1, at_bottom);
        core::hint::black_box(depth);
    }

    /// A small deterministic generator (xorshift) for the randomized walks below.
    struct Random(u64);

    impl Random {
        fn below(&mut self, bound: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % bound
        }
    }

    /// Walks from the caller's frame with the remembered walks and the shadow stack
    /// ([`walk`]) and by the rules alone, and checks the traces are the same.
    #[inline(never)]
    fn walk_here(depth: usize, checked: &mut usize) {
        let here = current_state();
        if here.top == usize::MAX {
            return;
        }
        // The caller's frame, as the allocator's entry point finds the program's.
        let Some(first) = step(here, true, 0) else {
            return;
        };
        let start = after(&first, here, 0);
        let entry = here.ip;
        let end = walk(path_cache().expect("caches"), entry, start, depth);
        let mut plain = std::vec![entry, start.ip];
        let mut state = start;
        while plain.len() < depth + 1 {
            let Some(next) = step(state, false, 0) else {
                break;
            };
            state = after(&next, state, 0);
            plain.push(state.ip);
        }
        assert_eq!(crate::trace::frames_of(end.id).addresses(), &plain[..]);
        *checked += 1;
    }

    /// Frames of three sizes calling each other at random, walking on the way down and up.
    #[inline(never)]
    fn small(random: &mut Random, left: u32, checked: &mut usize) {
        let pad = core::hint::black_box([left as u8; 8]);
        descend(random, left, checked);
        core::hint::black_box(pad);
    }

    #[inline(never)]
    fn large(random: &mut Random, left: u32, checked: &mut usize) {
        let pad = core::hint::black_box([left as u8; 700]);
        descend(random, left, checked);
        core::hint::black_box(&pad);
    }

    #[inline(never)]
    fn sized(random: &mut Random, left: u32, checked: &mut usize) {
        let pad = core::hint::black_box([left as u8; 72]);
        if random.below(2) == 0 {
            walk_here(1 + random.below(30) as usize, checked);
        }
        descend(random, left, checked);
        core::hint::black_box(&pad);
    }

    /// Escapes (as `longjmp` or an exception would, past frames that never walk again) from
    /// `descend`: the shadow stack keeps the frames left behind.
    struct Escape;

    #[inline(never)]
    fn descend(random: &mut Random, left: u32, checked: &mut usize) {
        // Walks of 8 frames mostly (check mode's), sometimes as deep as traces go.
        let depth = if random.below(8) == 0 { 30 } else { 7 };
        if random.below(3) == 0 {
            walk_here(depth, checked);
        }
        if left == 0 {
            if random.below(16) == 0 {
                std::panic::panic_any(Escape);
            }
            return;
        }
        // Siblings: several calls from one frame, each to its own depth.
        // (Near the bottom only: the calls' tree stays small.)
        let calls = if left < 6 { 1 + random.below(2) } else { 1 };
        for _ in 0..calls {
            let deeper = left - 1 - random.below(u64::from(left.min(3))) as u32;
            match random.below(3) {
                0 => small(random, deeper, checked),
                1 => large(random, deeper, checked),
                _ => sized(random, deeper, checked),
            }
            walk_here(depth, checked);
        }
    }

    /// [`descend`], caught where it escapes (the test harness keeps the panic's message).
    fn descend_or_escape(random: &mut Random, left: u32, checked: &mut usize) {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            descend(random, left, checked);
        }));
        if let Err(payload) = result {
            if !payload.is::<Escape>() {
                std::panic::resume_unwind(payload);
            }
        }
    }

    /// The shadow stack's invariants under random recursion: depths up and down, siblings at
    /// the same positions with other frames, frames left by escapes (`longjmp`, exceptions),
    /// recursion deeper than the shadow stack holds; each walk must make the trace the rules
    /// make, and the shadow stack must stay a chain with positions strictly growing.
    #[test]
    fn walks_with_the_shadow_stack_are_the_rules_walks() {
        crate::trace::prepare_thread();
        let mut random = Random(0x5eed_1234);
        let mut checked = 0;
        for _ in 0..300 {
            let most = if random.below(6) == 0 { 90 } else { 20 };
            let left = 1 + random.below(most) as u32;
            descend_or_escape(&mut random, left, &mut checked);
            // SAFETY: this thread's cache, not in use by a walk now.
            let shadow = unsafe { &*path_cache().expect("caches").shadow.get() };
            let held = &shadow.steps[SHADOW_STEPS - shadow.held..];
            assert!(held.windows(2).all(|pair| pair[0].sp < pair[1].sp));
        }
        assert!(checked > 1_000, "only {checked} walks checked");
    }

    /// A handler that interrupts a walk's thread and walks (as a signal handler's allocation
    /// would, between two of the thread's walks) on the same stack, below its frames: the
    /// walks after it replay what still holds and retake the rest.
    #[test]
    fn a_walk_from_a_handler_between_walks() {
        crate::trace::prepare_thread();
        let mut random = Random(0xfeed);
        let mut checked = 0;
        for _ in 0..50 {
            descend_or_escape(&mut random, 6, &mut checked);
            // "The handler": frames deeper than the loop's, walked once, then gone.
            descend_or_escape(&mut random, 3, &mut checked);
            walk_here(7, &mut checked);
        }
        assert!(checked > 100, "only {checked} walks checked");
    }

    /// A memo of `len` words (every even count up to `MEMO_WORDS`, as `remember` leaves them)
    /// over `stack`, a stand-in for the words a walk read, keyed by `start`.
    fn memo_over(stack: &[usize], len: usize, start: State, depth: usize) -> Memo {
        // SAFETY: an all-zero `Memo` is a valid one (integers only): the thread-local
        // memos start so.
        let mut memo: Memo = unsafe { core::mem::zeroed() };
        for (at, word) in stack[..len].iter().enumerate() {
            memo.words[at] = (word as *const usize as usize, *word);
        }
        memo.len = len;
        memo.sp = start.sp;
        memo.top = start.top;
        memo.depth = depth;
        memo.generation = MEMO_GENERATION.load(Ordering::Acquire);
        memo.trace = 7;
        memo
    }

    /// A memo's replay (its words compared without a loop up to eight, by pairs beyond)
    /// answers exactly when the key is the same and every word still holds what a plain
    /// compare of each word, one by one, finds: with every even word count, random words
    /// changed and restored, and memos without a trace (key `sp` 0) never answering.
    #[test]
    fn memo_replays_answer_as_a_plain_compare() {
        let mut random = Random(0x3e30_5eed);
        let mut stack = [0usize; MEMO_WORDS];
        for word in &mut stack {
            *word = random.below(u64::MAX) as usize;
        }
        let start = State {
            ip: 0,
            sp: 0x7ff0_0000,
            bp: 0,
            top: 0x7fff_0000,
        };
        let mut checked = 0;
        for len in (0..=MEMO_WORDS).step_by(MEMO_GROUP) {
            let memo = memo_over(&stack, len, start, 8);
            for _ in 0..50 {
                // Change up to two words, at random (possibly beyond the memo's), then compare.
                let mut changed = std::vec::Vec::new();
                for _ in 0..random.below(3) {
                    let at = random.below(MEMO_WORDS as u64) as usize;
                    stack[at] ^= 1 << random.below(64);
                    changed.push(at);
                }
                // SAFETY: `stack` lives here; the volatile reads keep the compiler from
                // assuming the words are unchanged since `memo_over`.
                let plain = memo.words[..len].iter().all(|&(address, value)| unsafe {
                    (address as *const usize).read_volatile() == value
                });
                let replayed = memo.replay(start, 8, (0, 0), true);
                assert_eq!(replayed.is_some(), plain, "len {len}, changed {changed:?}");
                assert_eq!(memo.replay(start, 7, (0, 0), true), None);
                assert_eq!(memo.replay(State { sp: 8, ..start }, 8, (0, 0), true), None);
                for at in changed.into_iter().rev() {
                    let bit = memo
                        .words
                        .iter()
                        .find(|(address, _)| *address == &stack[at] as *const usize as usize)
                        .map(|&(_, value)| value ^ stack[at]);
                    // Restore: to the remembered value where the memo holds the word.
                    if let Some(bit) = bit {
                        stack[at] ^= bit;
                    }
                }
                checked += 1;
            }
            // No trace: `sp` 0, which no capture has (`capture_user_at`'s clear).
            let mut cleared = memo_over(&stack, len, start, 8);
            cleared.trace = 0;
            cleared.sp = 0;
            assert_eq!(cleared.replay(start, 8, (0, 0), true), None);
        }
        assert!(checked > 1_000, "only {checked} replays checked");
    }

    #[test]
    fn walks_the_same_frames_as_libgcc() {
        let mut ours = [0usize; 16];
        let mut count = 0;
        let mut theirs = std::vec::Vec::new();
        nested(3, &mut || {
            count = capture(&mut ours);
            backtrace::trace(|frame| {
                theirs.push(frame.ip() as usize);
                theirs.len() < 32
            });
        });
        assert!(count >= 5, "{:x?}", &ours[..count]);
        // The frames above the closure are the same calls: libgcc must report them too.
        for address in &ours[1..count.min(8)] {
            assert!(theirs.contains(address), "{address:#x} not in {theirs:x?}");
        }
    }
}
