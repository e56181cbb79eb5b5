//! The formatting functions `sprintf`, `snprintf`, `vsprintf`, `vsnprintf` and their
//! `_FORTIFY_SOURCE` forms (`__sprintf_chk`...), checked: each `%s` argument's string (and the
//! format itself) is read as glibc's `strlen`/`strnlen` read it, before the call, and the bytes
//! the call stored at its destination (known from its result) are checked after it, as
//! `fread`'s are; a `%n`'s pointer is checked as the write of its modifier's size that glibc
//! makes through it. The functions that write to a stream, a descriptor or a new string
//! (`printf`, `fprintf`, `dprintf`, `asprintf`, their `v*` and `__*_chk` forms) get the same
//! checks of their arguments and format ([`printed`]; `asprintf`'s `char **` is checked as
//! the 8 bytes it stores), and then glibc's `v*` form writes: the stream's lock, its
//! buffering and its orientation are glibc's own (`printf` is glibc's `vprintf` on `stdout`,
//! which is what glibc's `printf` runs too). Valgrind reports the same faults from inside glibc's formatting code ("Invalid
//! read of size 1 at strlen, by __vfprintf_internal", "Invalid write of size 1 at
//! _IO_default_xsputn, by sprintf").
//!
//! # Design
//! The `v*` forms take a `va_list` (on x86-64 a pointer to [`VaList`]) and are interposed as the
//! other functions are. Stable Rust cannot define a C-variadic function, so the variadic forms
//! get a trampoline of their own (`trampoline_of!` in the parent module): it does what a C compiler's
//! prologue of a variadic function does, storing the six argument registers and `xmm0`-`xmm7`
//! in a register save area ([`Saved`]) on its stack, and calls the checking function with that
//! area, the address of the arguments passed on the stack, and the caller's return address. The
//! checking function reads its fixed arguments from the area, builds the `va_list` of the
//! remaining ones (System V ABI §3.5.7: `gp_offset` past the fixed arguments, `fp_offset` 48)
//! and calls glibc's `v*` form with it. The trampoline keeps a frame-pointer frame, so that the
//! stack of a finding walks through it to the program's caller.
//!
//! Walking the arguments needs their types: [`check_arguments`] parses the format as glibc does
//! (flags, `*` widths and precisions, length modifiers, conversions) on a copy of the
//! `va_list`, taking one argument per conversion by the ABI's rules (integers and pointers from
//! the general registers then the stack, `double` from the vector registers then the stack,
//! `long double` from the stack). A format it cannot follow (positional arguments `%1$s`, a
//! conversion registered with `register_printf_function`) ends the walk: later `%s`
//! arguments are not checked, and nothing is ever reported from a guess.
//!
//! # Invariants
//! * The walk reads only the argument words the call's `va_list` covers up to the last
//!   conversion it understood (the words glibc's function reads anyway), and a string argument
//!   only within the live heap block it lies in ([`super::check_search`]).
//! * glibc's function runs once, with the caller's `va_list` untouched by the walk.

use super::{
    check_range, check_scan, check_search, own, Access, Found, GeneralPurposeAllocator, MemChrFn,
    NLenFn, Unit, MEMCHR, STRNLEN, VASPRINTF, VASPRINTF_CHK, VDPRINTF, VDPRINTF_CHK, VFPRINTF,
    VFPRINTF_CHK, VPRINTF, VPRINTF_CHK, VSNPRINTF, VSNPRINTF_CHK, VSPRINTF, VSPRINTF_CHK,
};

/// The register save area a variadic trampoline stores (System V ABI: the six integer argument
/// registers, then `xmm0`-`xmm7`).
#[repr(C)]
pub struct Saved {
    gp: [usize; 6],
    xmm: [[u8; 16]; 8],
}

/// Bytes of [`Saved`]'s integer part: a `gp_offset` at or past it takes from the stack.
const GP_END: u32 = 48;
/// Bytes of [`Saved`] in full: an `fp_offset` at or past it takes from the stack.
const FP_END: u32 = 176;

/// C's `va_list` on x86-64 (System V ABI §3.5.7), which the `v*` functions take by pointer.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct VaList {
    gp_offset: u32,
    fp_offset: u32,
    overflow_arg_area: *mut u8,
    reg_save_area: *mut u8,
}

impl VaList {
    /// The `va_list` of a variadic call whose `fixed` integer arguments are in `saved`, the
    /// rest after them and at `stack`.
    fn after(saved: *mut Saved, stack: *mut u8, fixed: u32) -> VaList {
        VaList {
            gp_offset: fixed * 8,
            fp_offset: GP_END,
            overflow_arg_area: stack,
            reg_save_area: saved.cast(),
        }
    }

    /// The next integer or pointer argument (`va_arg(ap, long)`).
    ///
    /// # Safety
    /// The call passed one more integer-class argument.
    unsafe fn integer(&mut self) -> usize {
        // SAFETY: caller contract: the word holds the argument (the register save area below
        // `GP_END`, the stack arguments after).
        unsafe {
            if self.gp_offset < GP_END {
                let word = self.reg_save_area.add(self.gp_offset as usize);
                self.gp_offset += 8;
                core::ptr::read_unaligned(word.cast::<usize>())
            } else {
                let word = self.overflow_arg_area;
                self.overflow_arg_area = word.add(8);
                core::ptr::read_unaligned(word.cast::<usize>())
            }
        }
    }

    /// Passes over a `double` argument.
    fn double(&mut self) {
        if self.fp_offset < FP_END {
            self.fp_offset += 16;
        } else {
            self.overflow_arg_area = self.overflow_arg_area.wrapping_add(8);
        }
    }

    /// Passes over a `long double` argument (always on the stack, 16-aligned).
    fn long_double(&mut self) {
        let at = (self.overflow_arg_area as usize + 15) & !15;
        self.overflow_arg_area = (at + 16) as *mut u8;
    }
}

/// The length modifier of a conversion, as far as argument types go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Length {
    Plain,
    /// `l` (a wide `%lc`/`%ls`; integers are a word either way).
    Long,
    /// `L` (a `long double`), `ll`, `q` (with `s`, a wide string too).
    Double,
    /// `h`: a `short` (an `int`'s word as an argument; `%hn` stores 2 bytes).
    Short,
    /// `hh`: a `char` (`%hhn` stores 1 byte).
    Char,
    /// `j`, `z`, `Z`, `t`: integers, a word in a register or stack slot.
    Other,
}

impl Length {
    /// The bytes a `%n` with this modifier stores through its pointer (glibc 2.36: `int`,
    /// `signed char`, `short`, `long`, `long long` for `ll`/`q`/`L`, `intmax_t`, `size_t`,
    /// `ptrdiff_t`).
    fn stored(self) -> usize {
        match self {
            Length::Plain => 4,
            Length::Short => 2,
            Length::Char => 1,
            Length::Long | Length::Double | Length::Other => 8,
        }
    }
}

/// Checks what a formatting call reads besides its arguments' words: the format (a heap
/// string without a terminator before its block's end), and each `%s` string argument up to
/// its precision, as glibc's `strlen`/`strnlen` read it. Walks a copy of `ap`.
///
/// # Safety
/// `ap` is the call's `va_list`, `format` its format (what glibc's function reads anyway).
unsafe fn check_arguments(
    gpa: &GeneralPurposeAllocator,
    format: *const u8,
    ap: &VaList,
    call: &'static str,
) {
    if format.is_null() {
        return;
    }
    let Some(len) = format_length(gpa, format, call) else {
        return;
    };
    // SAFETY: `len` bytes of the format are readable: in its live block, or a string outside
    // the heap whose length glibc's `strnlen` found.
    let format = unsafe { core::slice::from_raw_parts(format, len) };
    let mut ap = *ap;
    let mut at = 0;
    while let Some(offset) = format[at..].iter().position(|&byte| byte == b'%') {
        at += offset + 1;
        let Some(conversion) = parse(format, &mut at) else {
            return;
        };
        // SAFETY: each argument taken is one the call passed for a conversion of the format.
        let known = unsafe { take_arguments(gpa, &mut ap, conversion, call) };
        if !known {
            return;
        }
    }
}

/// The length of the format at `format`: for a string in a heap block, its terminator is
/// looked for within the block only (none: the read past the block is reported, and `None`).
fn format_length(
    gpa: &GeneralPurposeAllocator,
    format: *const u8,
    call: &'static str,
) -> Option<usize> {
    match Found::at(gpa, format as usize) {
        Some(found) => {
            // SAFETY: `found.room` bytes at `format` lie in a live block: readable.
            let end = unsafe { MEMCHR.real::<MemChrFn>()(format, 0, found.room) };
            if end.is_null() {
                check_search(gpa, format, 0, (usize::MAX, Unit::Byte), false, call);
                return None;
            }
            Some(end as usize - format as usize)
        }
        // SAFETY: the slot's signature; the program's format, which glibc reads whole.
        None => Some(super::program_read(|| unsafe {
            STRNLEN.real::<NLenFn>()(format, usize::MAX)
        })),
    }
}

/// One conversion of a format, as far as its arguments go.
#[derive(Clone, Copy)]
struct Conversion {
    /// `*` width, `.*` precision: integer arguments taken before the value.
    stars: u8,
    /// A precision written in the format (`%.5s`).
    precision: Option<usize>,
    /// Whether the precision is a `.*` argument.
    star_precision: bool,
    length: Length,
    /// The conversion character (`%` for `%%`).
    conversion: u8,
}

/// Parses the conversion whose `%` is just before `format[*at]`, leaving `*at` after it.
/// `None`: one this walk does not follow (positional arguments, a format cut short).
fn parse(format: &[u8], at: &mut usize) -> Option<Conversion> {
    let byte = |index: usize| format.get(index).copied();
    let digits = |at: &mut usize| {
        let mut value = 0usize;
        while let Some(digit @ b'0'..=b'9') = byte(*at) {
            value = value
                .saturating_mul(10)
                .saturating_add(usize::from(digit - b'0'));
            *at += 1;
        }
        value
    };
    // A positional argument (`%2$s`): its types would have to be gathered first.
    let mut probe = *at;
    digits(&mut probe);
    if probe > *at && byte(probe) == Some(b'$') {
        return None;
    }
    let mut conversion = Conversion {
        stars: 0,
        precision: None,
        star_precision: false,
        length: Length::Plain,
        conversion: 0,
    };
    while let Some(b'-' | b'+' | b' ' | b'#' | b'0' | b'\'' | b'I') = byte(*at) {
        *at += 1;
    }
    if byte(*at) == Some(b'*') {
        conversion.stars += 1;
        *at += 1;
    } else {
        digits(at);
    }
    if byte(*at) == Some(b'.') {
        *at += 1;
        if byte(*at) == Some(b'*') {
            conversion.stars += 1;
            conversion.star_precision = true;
            *at += 1;
        } else {
            conversion.precision = Some(digits(at));
        }
    }
    // `*` widths or precisions with positions (`%*1$d`): not followed.
    if conversion.stars > 0 && matches!(byte(*at), Some(b'0'..=b'9')) {
        return None;
    }
    loop {
        conversion.length = match (byte(*at), conversion.length) {
            (Some(b'l'), Length::Plain) => Length::Long,
            (Some(b'l'), Length::Long) | (Some(b'L' | b'q'), _) => Length::Double,
            (Some(b'h'), Length::Plain) => Length::Short,
            (Some(b'h'), Length::Short) => Length::Char,
            (Some(b'h' | b'j' | b'z' | b'Z' | b't'), _) => Length::Other,
            _ => break,
        };
        *at += 1;
    }
    conversion.conversion = byte(*at)?;
    *at += 1;
    Some(conversion)
}

/// Takes the arguments of `conversion` from `ap`, checking a `%s`'s string. `false`: a
/// conversion this walk does not know (registered by the program): the walk stops.
///
/// # Safety
/// The call passed the arguments the conversion takes.
unsafe fn take_arguments(
    gpa: &GeneralPurposeAllocator,
    ap: &mut VaList,
    conversion: Conversion,
    call: &'static str,
) -> bool {
    let mut precision = conversion.precision;
    for star in 0..conversion.stars {
        // SAFETY: caller contract: a `*` is an `int` argument.
        let value = unsafe { ap.integer() } as i32;
        if conversion.star_precision && star + 1 == conversion.stars {
            // A negative precision is taken as if it were omitted.
            precision = usize::try_from(value).ok();
        }
    }
    // glibc takes `%ls`, and `%Ls`/`%lls` alike, as a wide string.
    let wide = matches!(conversion.length, Length::Long | Length::Double);
    match conversion.conversion {
        b'%' | b'm' => {}
        b'd' | b'i' | b'o' | b'u' | b'x' | b'X' | b'b' | b'B' | b'c' | b'C' | b'p' => {
            // SAFETY: caller contract: an integer-class argument.
            unsafe { ap.integer() };
        }
        b'n' => {
            // glibc stores the count of bytes written so far through the pointer: a write
            // of the modifier's size (Valgrind: "Invalid write of size 4 at
            // __vfprintf_internal" for `%n` into a freed block). glibc's `_FORTIFY_SOURCE`
            // forms abort before storing when the format lies in writable memory; the
            // check is made all the same (the program's mistake is the pointer).
            // SAFETY: caller contract: a pointer argument.
            let target = unsafe { ap.integer() };
            check_range(gpa, target, conversion.length.stored(), Access::Write, call);
        }
        b'e' | b'E' | b'f' | b'F' | b'g' | b'G' | b'a' | b'A' => {
            if conversion.length == Length::Double {
                ap.long_double();
            } else {
                ap.double();
            }
        }
        b's' | b'S' => {
            // SAFETY: caller contract: a pointer argument.
            let string = unsafe { ap.integer() } as *const u8;
            if string.is_null() {
                // glibc prints "(null)".
            } else if wide || conversion.conversion == b'S' {
                check_wide_argument(gpa, string, precision, call);
            } else {
                let limit = precision.unwrap_or(usize::MAX);
                check_search(gpa, string, 0, (limit, Unit::Byte), false, call);
            }
        }
        _ => return false,
    }
    true
}

/// Checks a `%ls` argument as glibc 2.36 reads it (`__wcsrtombs` into a buffer of
/// `precision` bytes): without a precision, to its NUL; with `.0`, not at all (Valgrind: no
/// error for `%.0ls` of an unterminated block); with a precision `p`, the wide characters
/// up to the `p - 1`-th (`__wcsnlen`), and the `p`-th only when those took one byte each
/// (ASCII: the output has room for one more). Valgrind on `%.5ls` of 4 unterminated wide
/// characters: "Invalid read of size 4 at wcsnlen, by wcsrtombs, by
/// outstring_converted_wide_string, by __vfprintf_internal", 0 bytes after the block; none
/// for `%.4ls`.
fn check_wide_argument(
    gpa: &GeneralPurposeAllocator,
    string: *const u8,
    precision: Option<usize>,
    call: &'static str,
) {
    let p = match precision {
        None => {
            check_search(gpa, string, 0, (usize::MAX, Unit::Wide), false, call);
            return;
        }
        Some(0) => return,
        Some(p) => p,
    };
    check_scan(gpa, string, p, Unit::Wide, call, |s, within| {
        // SAFETY: `within` wide characters at `s` lie in a live block.
        unsafe {
            Unit::Wide.find(s, 0, within).is_some()
                || (within == p - 1 && (0..within).any(|index| Unit::Wide.load(s, index) >= 0x80))
        }
    });
}

type VsprintfFn = unsafe extern "C" fn(*mut u8, *const u8, *mut VaList) -> i32;
type VsnprintfFn = unsafe extern "C" fn(*mut u8, usize, *const u8, *mut VaList) -> i32;
type VsprintfChkFn = unsafe extern "C" fn(*mut u8, i32, usize, *const u8, *mut VaList) -> i32;
type VsnprintfChkFn =
    unsafe extern "C" fn(*mut u8, usize, i32, usize, *const u8, *mut VaList) -> i32;

/// The bytes a formatting call that returned `result` stored at its destination: the output
/// and its NUL, at most `size` (`usize::MAX`: unbounded); none when it failed.
fn stored(result: i32, size: usize) -> usize {
    match usize::try_from(result) {
        Ok(length) => (length + 1).min(size),
        Err(_) => 0,
    }
}

/// `vsprintf`, checked (also `sprintf`'s checks, from its trampoline).
pub unsafe extern "C" fn vsprintf_checked(
    d: *mut u8,
    format: *const u8,
    ap: *mut VaList,
    caller: usize,
) -> i32 {
    // SAFETY: the slot's signature; the program's call.
    let real = unsafe { VSPRINTF.real::<VsprintfFn>() };
    // SAFETY: the call's own arguments.
    unsafe {
        formatted(d, usize::MAX, format, ap, caller, "vsprintf", |ap| {
            real(d, format, ap)
        })
    }
}

/// `vsnprintf`, checked.
pub unsafe extern "C" fn vsnprintf_checked(
    d: *mut u8,
    size: usize,
    format: *const u8,
    ap: *mut VaList,
    caller: usize,
) -> i32 {
    // SAFETY: the slot's signature; the program's call.
    let real = unsafe { VSNPRINTF.real::<VsnprintfFn>() };
    // SAFETY: the call's own arguments.
    unsafe {
        formatted(d, size, format, ap, caller, "vsnprintf", |ap| {
            real(d, size, format, ap)
        })
    }
}

/// `__vsprintf_chk`, checked: glibc stops at `room`, the destination's size as the compiler
/// knew it.
pub unsafe extern "C" fn vsprintf_chk_checked(
    d: *mut u8,
    flag: i32,
    room: usize,
    format: *const u8,
    ap: *mut VaList,
    caller: usize,
) -> i32 {
    // SAFETY: the slot's signature; the program's call.
    let real = unsafe { VSPRINTF_CHK.real::<VsprintfChkFn>() };
    // SAFETY: the call's own arguments.
    unsafe {
        formatted(d, room, format, ap, caller, "__vsprintf_chk", |ap| {
            real(d, flag, room, format, ap)
        })
    }
}

/// `__vsnprintf_chk`, checked. Six arguments fill the argument registers, so its trampoline
/// cannot pass the caller (as `recvfrom`'s): gpa never calls it, every call is the program's.
pub unsafe extern "C" fn vsnprintf_chk_checked(
    d: *mut u8,
    size: usize,
    flag: i32,
    room: usize,
    format: *const u8,
    ap: *mut VaList,
) -> i32 {
    // SAFETY: the slot's signature; the program's call.
    let real = unsafe { VSNPRINTF_CHK.real::<VsnprintfChkFn>() };
    // SAFETY: the call's own arguments.
    unsafe {
        formatted(d, size.min(room), format, ap, 0, "__vsnprintf_chk", |ap| {
            real(d, size, flag, room, format, ap)
        })
    }
}

/// The checks of a formatting call into `d` of at most `size` bytes, around `run` (glibc's
/// function with the call's `va_list`).
///
/// # Safety
/// `format` and `ap` are the call's.
#[inline(always)]
unsafe fn formatted(
    d: *mut u8,
    size: usize,
    format: *const u8,
    ap: *mut VaList,
    caller: usize,
    call: &'static str,
    run: impl FnOnce(*mut VaList) -> i32,
) -> i32 {
    // SAFETY: caller contract.
    unsafe {
        checked_around(format, ap, caller, call, run, |result| {
            (d as usize, stored(result, size))
        })
    }
}

/// The checks of every formatting call, around `run`: the arguments before it (unless the
/// call comes from glibc itself, `caller`), then the range `written` names (start, length;
/// a length of 0 for none) from the call's result.
///
/// # Safety
/// `format` and `ap` are the call's.
#[inline(always)]
unsafe fn checked_around(
    format: *const u8,
    ap: *mut VaList,
    caller: usize,
    call: &'static str,
    run: impl FnOnce(*mut VaList) -> i32,
    written: impl FnOnce(i32) -> (usize, usize),
) -> i32 {
    if own(caller) {
        return run(ap);
    }
    let gpa = super::super::gpa();
    if !ap.is_null() {
        // SAFETY: caller contract.
        unsafe { check_arguments(gpa, format, &*ap, call) };
    }
    let result = run(ap);
    let (start, len) = written(result);
    check_range(gpa, start, len, Access::Write, call);
    // The check ran after the call: none of its values is left in the registers a
    // `getcontext` saves (`capi::scrubbed`).
    super::super::scrubbed(result)
}

/// `sprintf(d, format, ...)`, from its variadic trampoline.
pub unsafe extern "C" fn sprintf_checked(saved: *mut Saved, stack: *mut u8, caller: usize) -> i32 {
    // SAFETY: the trampoline's register save area.
    let gp = unsafe { (*saved).gp };
    let mut ap = VaList::after(saved, stack, 2);
    // SAFETY: the slot's signature; the call's arguments, the rest in `ap`.
    let real = unsafe { VSPRINTF.real::<VsprintfFn>() };
    let (d, format) = (gp[0] as *mut u8, gp[1] as *const u8);
    // SAFETY: the call's own arguments.
    unsafe {
        formatted(d, usize::MAX, format, &mut ap, caller, "sprintf", |ap| {
            real(d, format, ap)
        })
    }
}

/// `snprintf(d, size, format, ...)`, from its variadic trampoline.
pub unsafe extern "C" fn snprintf_checked(saved: *mut Saved, stack: *mut u8, caller: usize) -> i32 {
    // SAFETY: the trampoline's register save area.
    let gp = unsafe { (*saved).gp };
    let mut ap = VaList::after(saved, stack, 3);
    // SAFETY: the slot's signature.
    let real = unsafe { VSNPRINTF.real::<VsnprintfFn>() };
    let (d, size, format) = (gp[0] as *mut u8, gp[1], gp[2] as *const u8);
    // SAFETY: the call's own arguments.
    unsafe {
        formatted(d, size, format, &mut ap, caller, "snprintf", |ap| {
            real(d, size, format, ap)
        })
    }
}

/// `__sprintf_chk(d, flag, room, format, ...)`, from its variadic trampoline.
pub unsafe extern "C" fn sprintf_chk_checked(
    saved: *mut Saved,
    stack: *mut u8,
    caller: usize,
) -> i32 {
    // SAFETY: the trampoline's register save area.
    let gp = unsafe { (*saved).gp };
    let mut ap = VaList::after(saved, stack, 4);
    // SAFETY: the slot's signature.
    let real = unsafe { VSPRINTF_CHK.real::<VsprintfChkFn>() };
    let (d, flag, room, format) = (gp[0] as *mut u8, gp[1] as i32, gp[2], gp[3] as *const u8);
    // SAFETY: the call's own arguments.
    unsafe {
        formatted(d, room, format, &mut ap, caller, "__sprintf_chk", |ap| {
            real(d, flag, room, format, ap)
        })
    }
}

/// `__snprintf_chk(d, size, flag, room, format, ...)`, from its variadic trampoline.
pub unsafe extern "C" fn snprintf_chk_checked(
    saved: *mut Saved,
    stack: *mut u8,
    caller: usize,
) -> i32 {
    // SAFETY: the trampoline's register save area.
    let gp = unsafe { (*saved).gp };
    let mut ap = VaList::after(saved, stack, 5);
    // SAFETY: the slot's signature.
    let real = unsafe { VSNPRINTF_CHK.real::<VsnprintfChkFn>() };
    let (d, size, flag, room) = (gp[0] as *mut u8, gp[1], gp[2] as i32, gp[3]);
    let format = gp[4] as *const u8;
    // SAFETY: the call's own arguments.
    unsafe {
        formatted(
            d,
            size.min(room),
            format,
            &mut ap,
            caller,
            "__snprintf_chk",
            |ap| real(d, size, flag, room, format, ap),
        )
    }
}

// ---- Output to a stream, a file descriptor or a new string: the arguments are checked,
// glibc's `v*` form writes (its `FILE` locking and buffering unchanged). ----

type VprintfFn = unsafe extern "C" fn(*const u8, *mut VaList) -> i32;
/// `vfprintf`, `vdprintf`, `vasprintf`: a stream, a descriptor or `char **` first.
type VtoFn = unsafe extern "C" fn(usize, *const u8, *mut VaList) -> i32;
type VprintfChkFn = unsafe extern "C" fn(i32, *const u8, *mut VaList) -> i32;
type VtoChkFn = unsafe extern "C" fn(usize, i32, *const u8, *mut VaList) -> i32;

/// The checks of a formatting call that writes no caller buffer (`printf`, `fprintf`,
/// `dprintf`), around `run`; `new_string`: `asprintf`'s `char **`, written when it succeeds.
///
/// # Safety
/// `format` and `ap` are the call's.
#[inline(always)]
unsafe fn printed(
    format: *const u8,
    ap: *mut VaList,
    new_string: usize,
    caller: usize,
    call: &'static str,
    run: impl FnOnce(*mut VaList) -> i32,
) -> i32 {
    // SAFETY: caller contract.
    unsafe {
        checked_around(format, ap, caller, call, run, |result| {
            if new_string != 0 && result >= 0 {
                (new_string, size_of::<usize>())
            } else {
                (0, 0)
            }
        })
    }
}

/// Defines the checking functions of the `v*` forms that take `$first` fixed arguments of
/// their own before the format: `fn NAME(FIRST...) SLOT as TYPE, "call", NEW_STRING`.
macro_rules! printed_v {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) $slot:ident as $fnty:ty, $call:literal, $new:expr;)*) => {
        $(
            #[doc = concat!("`", $call, "`, checked.")]
            pub unsafe extern "C" fn $name(
                $($arg: $ty,)*
                format: *const u8,
                ap: *mut VaList,
                caller: usize,
            ) -> i32 {
                // SAFETY: the slot's signature; the program's call.
                let real = unsafe { $slot.real::<$fnty>() };
                // SAFETY: the call's own arguments.
                unsafe { printed(format, ap, $new, caller, $call, |ap| real($($arg,)* format, ap)) }
            }
        )*
    };
}

printed_v! {
    fn vprintf_checked() VPRINTF as VprintfFn, "vprintf", 0;
    fn vfprintf_checked(file: usize) VFPRINTF as VtoFn, "vfprintf", 0;
    fn vdprintf_checked(fd: usize) VDPRINTF as VtoFn, "vdprintf", 0;
    fn vasprintf_checked(strp: usize) VASPRINTF as VtoFn, "vasprintf", strp;
    fn vprintf_chk_checked(flag: i32) VPRINTF_CHK as VprintfChkFn, "__vprintf_chk", 0;
    fn vfprintf_chk_checked(file: usize, flag: i32) VFPRINTF_CHK as VtoChkFn, "__vfprintf_chk", 0;
    fn vdprintf_chk_checked(fd: usize, flag: i32) VDPRINTF_CHK as VtoChkFn, "__vdprintf_chk", 0;
    fn vasprintf_chk_checked(strp: usize, flag: i32) VASPRINTF_CHK as VtoChkFn, "__vasprintf_chk", strp;
}

/// Defines the checking functions of the variadic forms, from their trampolines: `fn
/// NAME(FIXED) SLOT as TYPE, "call", NEW_STRING` reads the fixed arguments (the format last)
/// from the register save area and runs the `v*` form in `SLOT` with the `va_list` of the
/// rest.
macro_rules! printed_variadic {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) $slot:ident as $fnty:ty, $call:literal, $new:expr;)*) => {
        $(
            #[doc = concat!("`", $call, "(...)`, from its variadic trampoline.")]
            pub unsafe extern "C" fn $name(saved: *mut Saved, stack: *mut u8, caller: usize) -> i32 {
                // SAFETY: the trampoline's register save area.
                let gp = unsafe { (*saved).gp };
                let mut words = gp.into_iter();
                $(let $arg = words.next().unwrap_or(0) as $ty;)*
                let format = words.next().unwrap_or(0) as *const u8;
                let fixed = <[&str]>::len(&[$(stringify!($arg)),*]) as u32 + 1;
                let mut ap = VaList::after(saved, stack, fixed);
                // SAFETY: the slot's signature; the program's call.
                let real = unsafe { $slot.real::<$fnty>() };
                // SAFETY: the call's own arguments, the rest in `ap`.
                unsafe {
                    printed(format, &mut ap, $new, caller, $call, |ap| real($($arg,)* format, ap))
                }
            }
        )*
    };
}

printed_variadic! {
    fn printf_checked() VPRINTF as VprintfFn, "printf", 0;
    fn fprintf_checked(file: usize) VFPRINTF as VtoFn, "fprintf", 0;
    fn dprintf_checked(fd: usize) VDPRINTF as VtoFn, "dprintf", 0;
    fn asprintf_checked(strp: usize) VASPRINTF as VtoFn, "asprintf", strp;
    fn printf_chk_checked(flag: i32) VPRINTF_CHK as VprintfChkFn, "__printf_chk", 0;
    fn fprintf_chk_checked(file: usize, flag: i32) VFPRINTF_CHK as VtoChkFn, "__fprintf_chk", 0;
    fn dprintf_chk_checked(fd: usize, flag: i32) VDPRINTF_CHK as VtoChkFn, "__dprintf_chk", 0;
    fn asprintf_chk_checked(strp: usize, flag: i32) VASPRINTF_CHK as VtoChkFn, "__asprintf_chk", strp;
}
