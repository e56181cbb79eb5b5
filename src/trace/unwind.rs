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
//! Rules that do not fit this shape (CFA from a DWARF expression, as in PLT stubs and signal
//! trampolines) and addresses without unwind information end the walk: a trace may be shorter
//! than libgcc's, never wrong in a way that reads outside the stack.
//!
//! # Invariants
//! * A cache slot is written as key 0, then rule, then key; a reader accepts the rule only if
//!   the key it read before and after equals its address (a torn read is a miss).
//! * Computing a rule allocates (gimli's context): an allocator calls [`capture`] inside its
//!   re-entrancy guard (see [`super::TraceMethod::needs_guard`]), so those requests go to its
//!   internal heap.
//! * The walk reads only `[cfa - 8]` and `[cfa + rbp_offset]` with `rsp < cfa <= top`, where
//!   `top` is the end of the stack the thread runs on ([`super::current_stack_bounds`]; when
//!   it is not known, the CFI alone bounds the walk).

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

const CACHE_LEN: usize = 1 << 14;
static KEYS: [AtomicUsize; CACHE_LEN] = [const { AtomicUsize::new(0) }; CACHE_LEN];
static RULES: [AtomicU64; CACHE_LEN] = [const { AtomicU64::new(0) }; CACHE_LEN];

const VALID: u64 = 1 << 63;
const FROM_RBP: u64 = 1 << 62;
const RBP_SAVED: u64 = 1 << 61;
/// A cached "no usable rule here".
const NO_RULE: u64 = 1;

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
    let index = slot(address);
    if KEYS[index].load(Ordering::Acquire) == address {
        let bits = RULES[index].load(Ordering::Acquire);
        if KEYS[index].load(Ordering::Acquire) == address {
            return Rule::unpack(bits);
        }
    }
    let bits = compute(address).map_or(NO_RULE, Rule::pack);
    KEYS[index].store(0, Ordering::Release);
    RULES[index].store(bits, Ordering::Release);
    KEYS[index].store(address, Ordering::Release);
    Rule::unpack(bits)
}

/// Forgets every cached rule: an object is about to be unloaded, and another may be loaded at
/// its addresses later (`dlclose`, see `super::unload`).
pub fn forget_rules() {
    for key in &KEYS {
        key.store(0, Ordering::Release);
    }
}

#[cold]
#[inline(never)]
fn compute(address: usize) -> Option<Rule> {
    use gimli::{BaseAddresses, CfaRule, EhFrame, EhFrameHdr, NativeEndian, Pointer, RegisterRule};
    use gimli::{UnwindContext, UnwindSection, X86_64};

    let object = crate::os::object_containing(address)?;
    let header = object.eh_frame_header;
    let end = object.end;
    if header == 0 || header >= end {
        return None;
    }
    // SAFETY: `.eh_frame_hdr` and `.eh_frame` lie in the object's mapping, `[start, end)`,
    // which stays mapped while code of it is on the stack; gimli reads only the entries it
    // is pointed to.
    let header_bytes = unsafe { core::slice::from_raw_parts(header as *const u8, end - header) };
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
    let frame_bytes =
        unsafe { core::slice::from_raw_parts(frame_start as *const u8, end - frame_start) };
    let eh_frame = EhFrame::new(frame_bytes, NativeEndian);
    let bases = bases.set_eh_frame(frame_start as u64);
    let table = parsed.table()?;
    let mut context = UnwindContext::new();
    let row = table
        .unwind_info_for_address(
            &eh_frame,
            &bases,
            &mut context,
            address as u64,
            EhFrame::cie_from_offset,
        )
        .ok()?;
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

/// Fills `out` with the return addresses of the calling thread's stack, innermost first
/// (starting with this function's caller's return address); returns how many. A
/// `TraceMethod::Custom` walker for the GPA.
#[inline(never)]
pub fn capture(out: &mut [usize]) -> usize {
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
    let top = super::current_stack_bounds().map_or(usize::MAX, |(_, top)| top);
    walk(ip, sp, bp, top, out)
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
    match super::thread_stack() {
        Some((bottom, top)) if sp >= bottom && sp < top => 1 + walk(ip, sp, bp, top, &mut out[1..]),
        _ => 1,
    }
}

/// The walk of [`capture`] and [`capture_from`], from the frame whose instruction is at `ip`
/// (an exact instruction address, not a return address), reading the stack below `top` only.
fn walk(mut ip: usize, mut sp: usize, mut bp: usize, top: usize, out: &mut [usize]) -> usize {
    let mut count = 0;
    let mut first = true;
    while count < out.len() {
        // A return address may be one past its call's function (a `noreturn` call at the
        // end): look up the call instruction instead. The first frame's `ip` is exact.
        let lookup = if first { ip } else { ip - 1 };
        first = false;
        let Some(rule) = rule_for(lookup) else { break };
        let base = if rule.from_rbp { bp } else { sp };
        let cfa = base.wrapping_add_signed(rule.cfa_offset as isize);
        if cfa <= sp || cfa - sp > MAX_FRAME || cfa % 8 != 0 || cfa > top {
            break;
        }
        // SAFETY: `cfa - 8` holds the return address pushed by the caller's `call`: the CFI
        // says so, and `sp < cfa <= top` keeps the read inside the stack the thread runs on.
        let return_address = unsafe { ((cfa - 8) as *const usize).read() };
        if let Some(offset) = rule.rbp_offset {
            let saved = cfa.wrapping_add_signed(offset as isize);
            if saved < sp || saved >= cfa {
                break;
            }
            // SAFETY: the saved `rbp` slot lies in this frame, `[sp, cfa)`.
            bp = unsafe { (saved as *const usize).read() };
        }
        if return_address == 0 {
            break;
        }
        out[count] = return_address;
        count += 1;
        ip = return_address;
        sp = cfa;
    }
    count
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
