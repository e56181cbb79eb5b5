//! libc's memory and string functions (`memcpy`, `strlen`, `strrchr`, `wcscpy`...), and the
//! calls that hand a buffer to the kernel or a `FILE` (`read`, `send`, `readv`, `fread`...),
//! interposed: in check and guard modes each call's source and destination ranges are checked
//! against the program's heap before glibc's own implementation runs (Valgrind's `vgpreload`
//! replacements and its system-call parameter checks, in spirit); in fast mode the call only
//! passes through.
//!
//! # Design
//! The preload library exports `memcpy`, `strlen`, `__memcpy_chk`, ... (the `capi` crate) as
//! one indirect jump each through the slot of an [`Interposed`] here. A slot holds:
//! * before the library's constructor runs, a bootstrap implementation (`boot_of!`): a
//!   small one of [`boot`]'s (`rep movsb`, volatile byte loops, which the compiler cannot turn
//!   back into a call of the function itself), glibc's own alias of the function (`__read`,
//!   `_IO_fread`), or a stub that resolves glibc's definition on its first call ([`resolve`]:
//!   functions gpa's own code never calls early, `wcslen`, `strstr`...);
//! * after it ([`install`]), glibc's implementation, resolved once with `dlsym(RTLD_NEXT)`
//!   (which resolves glibc's IFUNCs to the variant for this CPU): fast mode, one `jmp` more
//!   than a program without gpa;
//! * or, in check and guard modes, a trampoline that passes the caller's return address (the
//!   word at the stack pointer on entry) as one more argument to the checking function.
//!
//! A checking function first asks whether the caller is gpa's own code (the preload library's
//! address range: Rust's copies, `realloc` moving a block with its front guard, the report):
//! those calls are forwarded unchecked, so gpa never checks or reports itself and never
//! recurses. Otherwise it looks up each range the call will touch
//! ([`GeneralPurposeAllocator::heap_block_at`]: one page-map load rejects stacks and statics;
//! the common case, a range inside a live small block, is answered first by the leaner
//! [`GeneralPurposeAllocator::heap_slot_at`], see [`Found`]) and, for a part outside a live block or any part of a freed one, records a finding of the
//! kinds faults get (`Overflow`/`Underflow` with the access and the offset of the first bad
//! byte, `ReadAfterFree`/`WriteAfterFree`), with the call's stack as the access stack and the
//! block's allocation (and free) traces; copies whose source and destination overlap
//! (`memcpy`, `strcpy`, `strcat`, ... as Valgrind checks them) are `Overlap` findings. Then
//! glibc's function runs as it would have: behaviour is unchanged.
//!
//! Only the in-bounds part of a heap string is read to find its end (with glibc's `memchr`),
//! so the check itself never faults on a guard page; a heap string with no terminator before
//! its block's end is one invalid read of 1 byte at the end (as Valgrind reports it), and the
//! real function then reads what it reads (in guard mode, the guard page: the fault ends the
//! run with the same finding, which the report keeps once).
//!
//! A comparison (`strcmp`, `strncmp`, `memcmp`, `strcasecmp`, `wcscmp`...) is checked by
//! finding whether it stops (a difference, a NUL) within the units both arguments have in
//! bounds: 16 bytes at a time with SSE2 ([`compare`]), never past those units, and on a side
//! outside the heap never into a page the comparison does not reach. The check is inlined
//! into each comparison's checking function; a finding is made off that path
//! ([`report_compare`]).
//!
//! Wide strings (`wcslen`, `wcscpy`, `wmemcmp`...) are the same checks in units of 4 bytes
//! ([`Unit`]): the first bad unit is 4 bytes, as Valgrind's "Invalid read of size 4".
//!
//! A range that runs past a block's end is named by its first unit not wholly inside
//! ([`judge`]): the first byte past the end, or the `wchar_t` that straddles it, by its start
//! (docs/c_abi.md, "Straddling calls", has Valgrind's answers and where they differ).
//!
//! System calls and stdio: `read(2)`'s buffer is written and `write(2)`'s read, all the length
//! asked for, before the call (Valgrind's "Syscall param read(buf) points to unaddressable
//! byte(s)"); the finding's call is the function and Valgrind's parameter name, `read(buf)`,
//! `send(msg)`, `writev(vector[...])`. `fwrite` reads its items before the call; what `fread`
//! and `fgets` store is known after it, so they are checked after glibc's function returned
//! (`checked_after!`). Recording a finding keeps the program's `errno` ([`KeepErrno`]).
//!
//! The wrappers that hand the kernel a path, a structure or a buffer of their own layout
//! (`open`, `stat`, `poll`, `select`, `bind`, `accept`, `clock_gettime`, `uname`, `pipe`...)
//! are in the `syscalls` module: the sizes the kernel touches, field by field where Valgrind
//! checks fields, named by Valgrind's parameters (`stat(buf)`, `poll(ufds.revents)`).
//!
//! Messages and vectored positional I/O: `recvmsg` and `sendmsg` check the message's address,
//! each buffer of its `msg_iov` and its ancillary data, `recvmmsg` and `sendmmsg` the same
//! for each message of their vector, `preadv`/`pwritev` (and their `2` forms) each buffer of
//! the vector, named by index as Valgrind names them (`recvmsg(msg.msg_iov[1])`,
//! `sendmsg(msg.msg_control)`, `recvmsg(mmsg[1].msg_hdr.msg_iov[1])`, `preadv(vector[1])`).
//!
//! The formatting functions (`sprintf`, `snprintf`, `printf`, `fprintf`, `dprintf`,
//! `asprintf`, their `v*` and `__*_chk` forms) are in
//! the `formatted` module: their `%s` arguments are checked before the call and the bytes stored at
//! their destination after it; the variadic ones reach their checks through a trampoline
//! that builds a `va_list` (`trampoline_of!`), since stable Rust cannot define a C-variadic
//! function.
//!
//! The access size a finding gives: for the `mem*` functions and writes of the string copies,
//! the bytes of the call's range outside the block (Valgrind prints the width of the load or
//! store its replacement made, 1 to 8 bytes); for reads that stop at data (a string's end, the
//! first difference of a comparison), 1 byte, the first one out of bounds.
//!
//! # Invariants
//! * A slot always holds a function with its export's C signature and behaviour; slots change
//!   only in [`install`], before `main`.
//! * Nothing here runs for calls made from the preload library itself.
//! * A check reads a structure of the program's (an `iovec` array, a `msghdr`, a length
//!   word) only where [`readable`] allows: never in the first page, outside the user half of
//!   the address space, or in a heap block that is freed or too short (which is reported).
//! * Findings are recorded once per kind, block and call site ([`record`]), in a list a signal
//!   handler's call may record into without ever waiting for its own thread
//!   ([`super::recorded`]: a call that interrupted gpa's own work is counted, not recorded).

#![cfg(target_arch = "x86_64")]

use core::ffi::CStr;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use super::guard;
use super::recorded::FindingList;
use crate::gpa::{GeneralPurposeAllocator, HeapSlot, InsideAllocator};
use crate::os::KeepErrno;
use crate::report::{Access, FindingKind, RawFinding};
use crate::trace::TraceId;

mod compare;
mod formatted;
use formatted::{
    asprintf_checked, asprintf_chk_checked, dprintf_checked, dprintf_chk_checked, fprintf_checked,
    fprintf_chk_checked, printf_checked, printf_chk_checked, snprintf_checked,
    snprintf_chk_checked, sprintf_checked, sprintf_chk_checked, vasprintf_checked,
    vasprintf_chk_checked, vdprintf_checked, vdprintf_chk_checked, vfprintf_checked,
    vfprintf_chk_checked, vprintf_checked, vprintf_chk_checked, vsnprintf_checked,
    vsnprintf_chk_checked, vsprintf_checked, vsprintf_chk_checked,
};

/// One interposed libc function. The exported function jumps through [`Interposed::slot`],
/// the first word of the structure.
#[repr(C)]
pub struct Interposed {
    /// Where the exported function jumps: a bootstrap implementation, glibc's, or the
    /// checking trampoline.
    pub slot: AtomicPtr<()>,
    /// glibc's implementation (the bootstrap one until [`install`] resolved it).
    real: AtomicPtr<()>,
    /// The bootstrap implementation.
    boot: AtomicPtr<()>,
    /// The checking trampoline of check and guard modes.
    checked: unsafe extern "C" fn(),
    /// The symbol's name.
    name: &'static CStr,
}

impl Interposed {
    const fn new(name: &'static CStr, boot: *mut (), checked: unsafe extern "C" fn()) -> Self {
        Interposed {
            slot: AtomicPtr::new(boot),
            real: AtomicPtr::new(boot),
            boot: AtomicPtr::new(boot),
            checked,
            name,
        }
    }

    /// glibc's implementation as a function of type `F`.
    ///
    /// # Safety
    /// `F` is the function pointer type of this slot's C signature.
    #[inline(always)]
    unsafe fn real<F: Copy>(&self) -> F {
        let pointer = self.real.load(Ordering::Relaxed);
        // SAFETY: caller contract: `F` is a function pointer type (pointer-sized) of the
        // function `real` holds.
        unsafe { core::mem::transmute_copy::<*mut (), F>(&pointer) }
    }
}

type MemFn = unsafe extern "C" fn(*mut u8, *const u8, usize) -> *mut u8;
type MemChkFn = unsafe extern "C" fn(*mut u8, *const u8, usize, usize) -> *mut u8;
type SetFn = unsafe extern "C" fn(*mut u8, i32, usize) -> *mut u8;
type SetChkFn = unsafe extern "C" fn(*mut u8, i32, usize, usize) -> *mut u8;
type LenFn = unsafe extern "C" fn(*const u8) -> usize;
type NLenFn = unsafe extern "C" fn(*const u8, usize) -> usize;
type CpyFn = unsafe extern "C" fn(*mut u8, *const u8) -> *mut u8;
type CmpFn = unsafe extern "C" fn(*const u8, *const u8) -> i32;
type NCmpFn = unsafe extern "C" fn(*const u8, *const u8, usize) -> i32;
type ChrFn = unsafe extern "C" fn(*const u8, i32) -> *mut u8;
type MemChrFn = unsafe extern "C" fn(*const u8, i32, usize) -> *mut u8;
type CcpyFn = unsafe extern "C" fn(*mut u8, *const u8, i32, usize) -> *mut u8;
type BcopyFn = unsafe extern "C" fn(*const u8, *mut u8, usize);
type BzeroFn = unsafe extern "C" fn(*mut u8, usize);
type BzeroChkFn = unsafe extern "C" fn(*mut u8, usize, usize);
type FindFn = unsafe extern "C" fn(*const u8, *const u8) -> *mut u8;
type SpanFn = unsafe extern "C" fn(*const u8, *const u8) -> usize;
type DupFn = unsafe extern "C" fn(*const u8) -> *mut u8;
type NDupFn = unsafe extern "C" fn(*const u8, usize) -> *mut u8;
type IoFn = unsafe extern "C" fn(i32, *mut u8, usize) -> isize;
type IoChkFn = unsafe extern "C" fn(i32, *mut u8, usize, usize) -> isize;
type PosIoFn = unsafe extern "C" fn(i32, *mut u8, usize, i64) -> isize;
type PosIoChkFn = unsafe extern "C" fn(i32, *mut u8, usize, i64, usize) -> isize;
type SockFn = unsafe extern "C" fn(i32, *mut u8, usize, i32) -> isize;
type SockChkFn = unsafe extern "C" fn(i32, *mut u8, usize, usize, i32) -> isize;
type SockAddrFn = unsafe extern "C" fn(i32, *mut u8, usize, i32, *mut u8, usize) -> isize;
type VecFn = unsafe extern "C" fn(i32, *const libc::iovec, i32) -> isize;
type PosVecFn = unsafe extern "C" fn(i32, *const libc::iovec, i32, i64) -> isize;
type PosVec2Fn = unsafe extern "C" fn(i32, *const libc::iovec, i32, i64, i32) -> isize;
type MsgFn = unsafe extern "C" fn(i32, *mut libc::msghdr, i32) -> isize;
type RecvMmsgFn =
    unsafe extern "C" fn(i32, *mut libc::mmsghdr, u32, i32, *mut libc::timespec) -> i32;
type SendMmsgFn = unsafe extern "C" fn(i32, *mut libc::mmsghdr, u32, i32) -> i32;
type StdioFn = unsafe extern "C" fn(*mut u8, usize, usize, *mut u8) -> usize;
type FreadChkFn = unsafe extern "C" fn(*mut u8, usize, usize, usize, *mut u8) -> usize;
type FgetsFn = unsafe extern "C" fn(*mut u8, i32, *mut u8) -> *mut u8;
type PutsFn = unsafe extern "C" fn(*const u8) -> i32;
type FputsFn = unsafe extern "C" fn(*const u8, *mut u8) -> i32;
type FgetsChkFn = unsafe extern "C" fn(*mut u8, usize, i32, *mut u8) -> *mut u8;

/// The bootstrap implementation of the [`Interposed`] `$static`: `(path)`, a function of
/// the symbol's signature (a loop of [`boot`]'s, or glibc's internal alias such as `__read`),
/// or `lazy`: a stub that resolves glibc's definition on its first call ([`resolve`]) and
/// jumps to it with the call's arguments intact.
macro_rules! boot_of {
    ($static:ident, lazy) => {{
        // The argument registers are kept, and for a variadic function `al` (the number of
        // vector registers used) and the vector argument registers too.
        #[unsafe(naked)]
        unsafe extern "C" fn resolving() {
            core::arch::naked_asm!(
                "push rdi",
                "push rsi",
                "push rdx",
                "push rcx",
                "push r8",
                "push r9",
                "push rax",
                "sub rsp, 128",
                "movaps [rsp], xmm0",
                "movaps [rsp + 16], xmm1",
                "movaps [rsp + 32], xmm2",
                "movaps [rsp + 48], xmm3",
                "movaps [rsp + 64], xmm4",
                "movaps [rsp + 80], xmm5",
                "movaps [rsp + 96], xmm6",
                "movaps [rsp + 112], xmm7",
                "lea rdi, [rip + {function}]",
                "call {resolve}",
                "mov r11, rax",
                "movaps xmm0, [rsp]",
                "movaps xmm1, [rsp + 16]",
                "movaps xmm2, [rsp + 32]",
                "movaps xmm3, [rsp + 48]",
                "movaps xmm4, [rsp + 64]",
                "movaps xmm5, [rsp + 80]",
                "movaps xmm6, [rsp + 96]",
                "movaps xmm7, [rsp + 112]",
                "add rsp, 128",
                "pop rax",
                "pop r9",
                "pop r8",
                "pop rcx",
                "pop rdx",
                "pop rsi",
                "pop rdi",
                "jmp r11",
                function = sym $static,
                resolve = sym resolve,
            )
        }
        resolving as *mut ()
    }};
    ($static:ident, ($boot:path)) => {
        $boot as *mut ()
    };
}

/// The checking trampoline of an [`Interposed`]: `(register, checking function)` puts the
/// caller's return address in `register` and jumps to the checking function; `(variadic,
/// checking function)` (a C-variadic function, which stable Rust cannot define) stores the
/// argument registers in a register save area (`formatted::Saved`) in a frame of its own
/// (`rbp`-chained, so a stack walk passes it) and calls the checking function with the area,
/// the address of the arguments on the stack and the caller's return address.
macro_rules! trampoline_of {
    (variadic, $checked:ident) => {{
        #[unsafe(naked)]
        unsafe extern "C" fn trampoline() {
            // The call frame information lets a stack walk that reaches this frame (a trace
            // captured inside glibc's `v*` form, as `asprintf`'s `malloc`) go on to the
            // program's caller: without it the walk ended here.
            core::arch::naked_asm!(
                ".cfi_startproc",
                "push rbp",
                ".cfi_adjust_cfa_offset 8",
                ".cfi_offset rbp, -16",
                "mov rbp, rsp",
                ".cfi_def_cfa_register rbp",
                "sub rsp, 192",
                "mov [rsp], rdi",
                "mov [rsp + 8], rsi",
                "mov [rsp + 16], rdx",
                "mov [rsp + 24], rcx",
                "mov [rsp + 32], r8",
                "mov [rsp + 40], r9",
                "movaps [rsp + 48], xmm0",
                "movaps [rsp + 64], xmm1",
                "movaps [rsp + 80], xmm2",
                "movaps [rsp + 96], xmm3",
                "movaps [rsp + 112], xmm4",
                "movaps [rsp + 128], xmm5",
                "movaps [rsp + 144], xmm6",
                "movaps [rsp + 160], xmm7",
                "mov rdi, rsp",
                "lea rsi, [rbp + 16]",
                "mov rdx, [rbp + 8]",
                "call {checked}",
                "leave",
                ".cfi_def_cfa rsp, 8",
                "ret",
                ".cfi_endproc",
                checked = sym $checked,
            )
        }
        trampoline
    }};
    ($reg:literal, $checked:ident) => {{
        #[unsafe(naked)]
        unsafe extern "C" fn trampoline() {
            core::arch::naked_asm!(
                concat!("mov ", $reg, ", qword ptr [rsp]"),
                "jmp {checked}",
                checked = sym $checked,
            )
        }
        trampoline
    }};
}

/// Defines the [`Interposed`] statics and their checking trampolines: `NAME = "symbol",
/// bootstrap (`boot_of!`), register, checking function`. The trampoline puts the caller's return address
/// in `register`, the argument register after the function's own arguments, and jumps to
/// the checking function (which the caller's frame then returns from); `variadic` instead of
/// a register: see [`trampoline_of!`].
macro_rules! interposed {
    ($($static:ident = $symbol:literal, $boot:tt, $reg:tt, $checked:ident;)*) => {
        $(
            #[doc = concat!("`", $symbol, "`.")]
            pub static $static: Interposed = Interposed::new(
                $crate::capi::libc_calls::cstr($symbol),
                boot_of!($static, $boot),
                trampoline_of!($reg, $checked),
            );
        )*
        /// Every interposed function.
        static ALL: &[&Interposed] = &[$(&$static),*];
    };
}

/// `symbol` (a literal with its terminating NUL) as a C string, at compile time.
const fn cstr(symbol: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(symbol.as_bytes()) {
        Ok(name) => name,
        Err(_) => panic!("a symbol name ends with its NUL"),
    }
}

interposed! {
    MEMCPY = "memcpy\0", (boot::memcpy), "rcx", memcpy_checked;
    MEMMOVE = "memmove\0", (boot::memmove), "rcx", memmove_checked;
    MEMPCPY = "mempcpy\0", (boot::mempcpy), "rcx", mempcpy_checked;
    MEMSET = "memset\0", (boot::memset), "rcx", memset_checked;
    MEMCMP = "memcmp\0", (boot::memcmp), "rcx", memcmp_checked;
    MEMCHR = "memchr\0", (boot::memchr), "rcx", memchr_checked;
    STRLEN = "strlen\0", (boot::strlen), "rsi", strlen_checked;
    STRNLEN = "strnlen\0", (boot::strnlen), "rdx", strnlen_checked;
    STRCPY = "strcpy\0", (boot::strcpy), "rdx", strcpy_checked;
    STPCPY = "stpcpy\0", (boot::stpcpy), "rdx", stpcpy_checked;
    STRCAT = "strcat\0", (boot::strcat), "rdx", strcat_checked;
    STRNCPY = "strncpy\0", (boot::strncpy), "rcx", strncpy_checked;
    STRNCAT = "strncat\0", (boot::strncat), "rcx", strncat_checked;
    STRCMP = "strcmp\0", (boot::strcmp), "rdx", strcmp_checked;
    STRNCMP = "strncmp\0", (boot::strncmp), "rcx", strncmp_checked;
    STRCHR = "strchr\0", (boot::strchr), "rdx", strchr_checked;
    MEMCPY_CHK = "__memcpy_chk\0", (boot::memcpy_chk), "r8", memcpy_chk_checked;
    MEMMOVE_CHK = "__memmove_chk\0", (boot::memmove_chk), "r8", memmove_chk_checked;
    MEMPCPY_CHK = "__mempcpy_chk\0", (boot::mempcpy_chk), "r8", mempcpy_chk_checked;
    MEMSET_CHK = "__memset_chk\0", (boot::memset_chk), "r8", memset_chk_checked;
    STRCPY_CHK = "__strcpy_chk\0", (boot::strcpy_chk), "rcx", strcpy_chk_checked;
    STPCPY_CHK = "__stpcpy_chk\0", (boot::stpcpy_chk), "rcx", stpcpy_chk_checked;
    STRCAT_CHK = "__strcat_chk\0", (boot::strcat_chk), "rcx", strcat_chk_checked;
    STRNCPY_CHK = "__strncpy_chk\0", (boot::strncpy_chk), "r8", strncpy_chk_checked;
    STRRCHR = "strrchr\0", lazy, "rdx", strrchr_checked;
    STRSTR = "strstr\0", lazy, "rdx", strstr_checked;
    STRCASESTR = "strcasestr\0", (boot::__strcasestr), "rdx", strcasestr_checked;
    STRPBRK = "strpbrk\0", lazy, "rdx", strpbrk_checked;
    STRCSPN = "strcspn\0", lazy, "rdx", strcspn_checked;
    STRSPN = "strspn\0", lazy, "rdx", strspn_checked;
    MEMRCHR = "memrchr\0", (boot::memrchr), "rcx", memrchr_checked;
    RAWMEMCHR = "rawmemchr\0", (boot::__rawmemchr), "rdx", rawmemchr_checked;
    STRCASECMP = "strcasecmp\0", (boot::__strcasecmp), "rdx", strcasecmp_checked;
    STRNCASECMP = "strncasecmp\0", lazy, "rcx", strncasecmp_checked;
    STPNCPY = "stpncpy\0", (boot::__stpncpy), "rcx", stpncpy_checked;
    MEMCCPY = "memccpy\0", lazy, "r8", memccpy_checked;
    BCOPY = "bcopy\0", lazy, "rcx", bcopy_checked;
    BZERO = "bzero\0", (boot::__bzero), "rdx", bzero_checked;
    EXPLICIT_BZERO = "explicit_bzero\0", lazy, "rdx", explicit_bzero_checked;
    STRDUP = "strdup\0", (boot::__strdup), "rsi", strdup_checked;
    STRNDUP = "strndup\0", (boot::__strndup), "rdx", strndup_checked;
    WCSLEN = "wcslen\0", lazy, "rsi", wcslen_checked;
    WCSNLEN = "wcsnlen\0", lazy, "rdx", wcsnlen_checked;
    WCSCPY = "wcscpy\0", lazy, "rdx", wcscpy_checked;
    WCSCMP = "wcscmp\0", lazy, "rdx", wcscmp_checked;
    WCSCHR = "wcschr\0", lazy, "rdx", wcschr_checked;
    WCSRCHR = "wcsrchr\0", lazy, "rdx", wcsrchr_checked;
    WMEMCHR = "wmemchr\0", lazy, "rcx", wmemchr_checked;
    WMEMCMP = "wmemcmp\0", lazy, "rcx", wmemcmp_checked;
    WMEMCPY = "wmemcpy\0", lazy, "rcx", wmemcpy_checked;
    WMEMSET = "wmemset\0", lazy, "rcx", wmemset_checked;
    STPNCPY_CHK = "__stpncpy_chk\0", lazy, "r8", stpncpy_chk_checked;
    EXPLICIT_BZERO_CHK = "__explicit_bzero_chk\0", lazy, "rcx", explicit_bzero_chk_checked;
    WCSCPY_CHK = "__wcscpy_chk\0", lazy, "rcx", wcscpy_chk_checked;
    WMEMCPY_CHK = "__wmemcpy_chk\0", lazy, "r8", wmemcpy_chk_checked;
    WMEMSET_CHK = "__wmemset_chk\0", lazy, "r8", wmemset_chk_checked;
    READ = "read\0", (boot::__read), "rcx", read_checked;
    WRITE = "write\0", (boot::__write), "rcx", write_checked;
    PREAD64 = "pread64\0", (boot::__pread64), "r8", pread64_checked;
    PWRITE64 = "pwrite64\0", (boot::__pwrite64), "r8", pwrite64_checked;
    RECV = "recv\0", (boot::__recv), "r8", recv_checked;
    SEND = "send\0", (boot::__send), "r8", send_checked;
    // Six arguments: no register is left for the caller (see `recvfrom_checked`).
    RECVFROM = "recvfrom\0", lazy, "rax", recvfrom_checked;
    SENDTO = "sendto\0", lazy, "rax", sendto_checked;
    READV = "readv\0", lazy, "rcx", readv_checked;
    WRITEV = "writev\0", lazy, "rcx", writev_checked;
    FREAD = "fread\0", (boot::_IO_fread), "r8", fread_checked;
    FWRITE = "fwrite\0", (boot::_IO_fwrite), "r8", fwrite_checked;
    FGETS = "fgets\0", (boot::_IO_fgets), "rcx", fgets_checked;
    PUTS = "puts\0", lazy, "rsi", puts_checked;
    FPUTS = "fputs\0", lazy, "rdx", fputs_checked;
    FPUTS_UNLOCKED = "fputs_unlocked\0", lazy, "rdx", fputs_unlocked_checked;
    READ_CHK = "__read_chk\0", lazy, "r8", read_chk_checked;
    PREAD64_CHK = "__pread64_chk\0", lazy, "r9", pread64_chk_checked;
    RECV_CHK = "__recv_chk\0", lazy, "r9", recv_chk_checked;
    FREAD_CHK = "__fread_chk\0", lazy, "r9", fread_chk_checked;
    FGETS_CHK = "__fgets_chk\0", lazy, "r8", fgets_chk_checked;
    SPRINTF = "sprintf\0", (boot::_IO_sprintf), variadic, sprintf_checked;
    SNPRINTF = "snprintf\0", lazy, variadic, snprintf_checked;
    VSPRINTF = "vsprintf\0", (boot::_IO_vsprintf), "rcx", vsprintf_checked;
    VSNPRINTF = "vsnprintf\0", (boot::__vsnprintf), "r8", vsnprintf_checked;
    SPRINTF_CHK = "__sprintf_chk\0", lazy, variadic, sprintf_chk_checked;
    SNPRINTF_CHK = "__snprintf_chk\0", lazy, variadic, snprintf_chk_checked;
    VSPRINTF_CHK = "__vsprintf_chk\0", lazy, "r9", vsprintf_chk_checked;
    // Six arguments: no register is left for the caller (see `vsnprintf_chk_checked`).
    VSNPRINTF_CHK = "__vsnprintf_chk\0", lazy, "rax", vsnprintf_chk_checked;
    RECVMSG = "recvmsg\0", lazy, "rcx", recvmsg_checked;
    SENDMSG = "sendmsg\0", lazy, "rcx", sendmsg_checked;
    PREADV = "preadv\0", lazy, "r8", preadv_checked;
    PWRITEV = "pwritev\0", lazy, "r8", pwritev_checked;
    PREADV2 = "preadv2\0", lazy, "r9", preadv2_checked;
    PWRITEV2 = "pwritev2\0", lazy, "r9", pwritev2_checked;
    WCSCAT = "wcscat\0", lazy, "rdx", wcscat_checked;
    WCSNCPY = "wcsncpy\0", lazy, "rcx", wcsncpy_checked;
    WCSNCAT = "wcsncat\0", lazy, "rcx", wcsncat_checked;
    WCSCAT_CHK = "__wcscat_chk\0", lazy, "rcx", wcscat_chk_checked;
    WCSNCPY_CHK = "__wcsncpy_chk\0", lazy, "r8", wcsncpy_chk_checked;
    WCSNCAT_CHK = "__wcsncat_chk\0", lazy, "r8", wcsncat_chk_checked;
    WCPCPY = "wcpcpy\0", lazy, "rdx", wcpcpy_checked;
    WCPNCPY = "wcpncpy\0", lazy, "rcx", wcpncpy_checked;
    WCPCPY_CHK = "__wcpcpy_chk\0", lazy, "rcx", wcpcpy_chk_checked;
    WCPNCPY_CHK = "__wcpncpy_chk\0", lazy, "r8", wcpncpy_chk_checked;
    PRINTF = "printf\0", lazy, variadic, printf_checked;
    FPRINTF = "fprintf\0", lazy, variadic, fprintf_checked;
    DPRINTF = "dprintf\0", lazy, variadic, dprintf_checked;
    ASPRINTF = "asprintf\0", lazy, variadic, asprintf_checked;
    VPRINTF = "vprintf\0", lazy, "rdx", vprintf_checked;
    VFPRINTF = "vfprintf\0", lazy, "rcx", vfprintf_checked;
    VDPRINTF = "vdprintf\0", lazy, "rcx", vdprintf_checked;
    VASPRINTF = "vasprintf\0", lazy, "rcx", vasprintf_checked;
    PRINTF_CHK = "__printf_chk\0", lazy, variadic, printf_chk_checked;
    FPRINTF_CHK = "__fprintf_chk\0", lazy, variadic, fprintf_chk_checked;
    DPRINTF_CHK = "__dprintf_chk\0", lazy, variadic, dprintf_chk_checked;
    ASPRINTF_CHK = "__asprintf_chk\0", lazy, variadic, asprintf_chk_checked;
    VPRINTF_CHK = "__vprintf_chk\0", lazy, "rcx", vprintf_chk_checked;
    VFPRINTF_CHK = "__vfprintf_chk\0", lazy, "r8", vfprintf_chk_checked;
    VDPRINTF_CHK = "__vdprintf_chk\0", lazy, "r8", vdprintf_chk_checked;
    VASPRINTF_CHK = "__vasprintf_chk\0", lazy, "r8", vasprintf_chk_checked;
    RECVMMSG = "recvmmsg\0", lazy, "r9", recvmmsg_checked;
    SENDMMSG = "sendmmsg\0", lazy, "r8", sendmmsg_checked;
    // System calls with paths, structures and buffers (`syscalls`).
    OPEN = "open\0", (boot::__open), "rcx", open_checked;
    OPENAT = "openat\0", lazy, "r8", openat_checked;
    ACCESS = "access\0", lazy, "rdx", access_checked;
    UNLINK = "unlink\0", lazy, "rsi", unlink_checked;
    MKDIR = "mkdir\0", lazy, "rdx", mkdir_checked;
    RENAME = "rename\0", lazy, "rdx", rename_checked;
    CHDIR = "chdir\0", lazy, "rsi", chdir_checked;
    STAT = "stat\0", lazy, "rdx", stat_checked;
    LSTAT = "lstat\0", lazy, "rdx", lstat_checked;
    FSTAT = "fstat\0", (boot::__fstat64), "rdx", fstat_checked;
    FSTATAT = "fstatat\0", lazy, "r8", fstatat_checked;
    STATX = "statx\0", lazy, "r9", statx_checked;
    READLINK = "readlink\0", lazy, "rcx", readlink_checked;
    GETCWD = "getcwd\0", lazy, "rdx", getcwd_checked;
    GETDENTS64 = "getdents64\0", lazy, "rcx", getdents64_checked;
    BIND = "bind\0", lazy, "rcx", bind_checked;
    CONNECT = "connect\0", (boot::__connect), "rcx", connect_checked;
    ACCEPT = "accept\0", lazy, "rcx", accept_checked;
    ACCEPT4 = "accept4\0", lazy, "r8", accept4_checked;
    GETSOCKNAME = "getsockname\0", lazy, "rcx", getsockname_checked;
    GETPEERNAME = "getpeername\0", lazy, "rcx", getpeername_checked;
    GETSOCKOPT = "getsockopt\0", lazy, "r9", getsockopt_checked;
    SETSOCKOPT = "setsockopt\0", lazy, "r9", setsockopt_checked;
    SOCKETPAIR = "socketpair\0", lazy, "r8", socketpair_checked;
    PIPE = "pipe\0", (boot::__pipe), "rsi", pipe_checked;
    PIPE2 = "pipe2\0", lazy, "rdx", pipe2_checked;
    CLOCK_GETTIME = "clock_gettime\0", (boot::__clock_gettime), "rdx", clock_gettime_checked;
    GETTIMEOFDAY = "gettimeofday\0", (boot::__gettimeofday), "rdx", gettimeofday_checked;
    NANOSLEEP = "nanosleep\0", (boot::__nanosleep), "rdx", nanosleep_checked;
    CLOCK_NANOSLEEP = "clock_nanosleep\0", lazy, "r8", clock_nanosleep_checked;
    GETRLIMIT = "getrlimit\0", (boot::__getrlimit), "rdx", getrlimit_checked;
    SETRLIMIT = "setrlimit\0", lazy, "rdx", setrlimit_checked;
    PRLIMIT = "prlimit\0", lazy, "r8", prlimit_checked;
    UNAME = "uname\0", lazy, "rsi", uname_checked;
    SYSINFO = "sysinfo\0", lazy, "rsi", sysinfo_checked;
    GETRANDOM = "getrandom\0", lazy, "rcx", getrandom_checked;
    POLL = "poll\0", (boot::__poll), "rcx", poll_checked;
    PPOLL = "ppoll\0", lazy, "r8", ppoll_checked;
    SELECT = "select\0", (boot::__select), "r9", select_checked;
    EPOLL_CTL = "epoll_ctl\0", lazy, "r8", epoll_ctl_checked;
    EPOLL_WAIT = "epoll_wait\0", lazy, "r8", epoll_wait_checked;
    EPOLL_PWAIT = "epoll_pwait\0", lazy, "r9", epoll_pwait_checked;
    IOCTL = "ioctl\0", lazy, "rcx", ioctl_checked;
}

/// The preload library's own code: `[OWN_START, OWN_START + OWN_LEN)`.
static OWN_START: AtomicUsize = AtomicUsize::new(0);
static OWN_LEN: AtomicUsize = AtomicUsize::new(0);

/// Resolves glibc's implementations and points every slot at them (`checking` false: fast
/// mode) or at the checking trampolines. Called once, from the library's constructor.
pub fn install(checking: bool) {
    let own = crate::os::object_containing(install as *const () as usize);
    for function in ALL {
        // SAFETY: `dlsym` with a NUL-terminated name; `RTLD_NEXT` finds the definition after
        // this library's (glibc's), IFUNCs resolved.
        let real = unsafe { libc::dlsym(libc::RTLD_NEXT, function.name.as_ptr()) };
        if !real.is_null() {
            function.real.store(real.cast(), Ordering::Release);
        }
    }
    // Without its own range gpa could not tell its own calls from the program's: no checks.
    let checking = match own {
        Some(object) if checking => {
            OWN_START.store(object.start, Ordering::Relaxed);
            OWN_LEN.store(object.end - object.start, Ordering::Relaxed);
            true
        }
        _ => false,
    };
    for function in ALL {
        let target = if checking {
            function.checked as *mut ()
        } else {
            function.real.load(Ordering::Acquire)
        };
        function.slot.store(target, Ordering::Release);
    }
}

/// The lazy bootstrap of `function` (a call before [`install`] of a function gpa has no
/// bootstrap implementation of): glibc's definition, from `dlsym(RTLD_NEXT)`, kept as the
/// function's real one and, until [`install`] changes it, in its slot. Never returns null (a
/// symbol glibc lacks could not have been linked to: the run aborts).
extern "C" fn resolve(function: &Interposed) -> *mut () {
    // SAFETY: `dlsym` with a NUL-terminated name: the definition after this library's.
    let found = unsafe { libc::dlsym(libc::RTLD_NEXT, function.name.as_ptr()) };
    if found.is_null() {
        std::process::abort();
    }
    function.real.store(found.cast(), Ordering::Release);
    let boot = function.boot.load(Ordering::Relaxed);
    // Only while the slot holds the bootstrap: `install` may have changed it meanwhile.
    let _ = function
        .slot
        .compare_exchange(boot, found.cast(), Ordering::AcqRel, Ordering::Relaxed);
    found.cast()
}

/// Whether a call returning to `caller` comes from the preload library itself.
#[inline(always)]
fn own(caller: usize) -> bool {
    caller.wrapping_sub(OWN_START.load(Ordering::Relaxed)) < OWN_LEN.load(Ordering::Relaxed)
}

/// A block of the program's heap, in the program's terms (after the front guard).
#[derive(Clone, Copy)]
struct Block {
    user: usize,
    size: usize,
    align: usize,
    live: bool,
    alloc_trace: TraceId,
    free_trace: TraceId,
}

impl Block {
    fn end(&self) -> usize {
        self.user + self.size
    }

    /// Bytes from `address` to the block's end when `address` is inside the live block; 0
    /// when it is not (freed, or in the front guard or past the end).
    fn room(&self, address: usize) -> usize {
        if self.live && address >= self.user && address < self.end() {
            self.end() - address
        } else {
            0
        }
    }
}

impl Block {
    /// The program's block behind the GPA's block `span` (its front guard left out).
    #[inline]
    fn of(gpa: &GeneralPurposeAllocator, span: crate::gpa::BlockSpan) -> Block {
        let pad = guard::pad_at(gpa, span.start, span.size, span.align);
        Block {
            user: span.start + pad,
            size: span.size - pad,
            align: span.align,
            live: span.live,
            alloc_trace: span.alloc_trace,
            free_trace: span.free_trace,
        }
    }
}

/// The program's block (live or freed) whose memory holds `address`.
#[inline]
fn block_at(gpa: &GeneralPurposeAllocator, address: usize) -> Option<Block> {
    gpa.heap_block_at(address).map(|span| Block::of(gpa, span))
}

/// The heap memory at an address as a check first needs it: the bytes from the address to
/// the end of the live block it lies in (`room`, 0 when it lies in no live block's bytes).
/// The common case, an address inside a live small block, is answered by the lean lookup
/// ([`GeneralPurposeAllocator::heap_slot_at`]) inlined into the check; anything else by the
/// full one ([`Found::described`]). A finding needs the block in full, which
/// [`Found::block`] looks up again (off the hot path: only a check that found a bad access
/// asks).
#[derive(Clone, Copy)]
struct Found {
    room: usize,
}

impl Found {
    /// The program's block at `address`, if any (`None`: memory no GPA manages).
    #[inline(always)]
    fn at(gpa: &GeneralPurposeAllocator, address: usize) -> Option<Found> {
        match gpa.heap_slot_at(address) {
            HeapSlot::Outside => return None,
            HeapSlot::Live { start, size, align } => {
                if let Some(room) = Found::room_in(start, size, align, address) {
                    return Some(Found { room });
                }
            }
            HeapSlot::Other => {}
        }
        Found::described(gpa, address)
    }

    /// The bytes from `address` to the end of the live small block [`HeapSlot::Live`]
    /// describes, if `address` lies in its bytes (as `Block::of` describes the block: its
    /// user bytes start after the front guard's pad and end where the GPA's do).
    ///
    /// The pad is `guard::pad_for(align)`, not `pad_of`'s (none for a block of no bytes):
    /// such a block has no bytes for `address`, in the slot, to lie before its end, whatever
    /// the pad (three instructions fewer a look-up).
    #[inline(always)]
    fn room_in(start: usize, size: usize, align: usize, address: usize) -> Option<usize> {
        let end = start + size;
        (address < end && address >= start + guard::pad_for(align)).then(|| end - address)
    }

    /// The units of `width` bytes from `p` to the end of its live block (0 when it lies in
    /// no live block's bytes), `usize::MAX` when no GPA manages the memory at `p`.
    #[inline(always)]
    fn units(gpa: &GeneralPurposeAllocator, p: *const u8, width: usize) -> usize {
        let address = p as usize;
        // `Found::at` without its `Option`, whose flag the compiler otherwise carries through
        // a comparison's setup (12 instructions of a checked `strcmp`).
        match gpa.heap_slot_at(address) {
            HeapSlot::Outside => return usize::MAX,
            HeapSlot::Live { start, size, align } => {
                if let Some(room) = Found::room_in(start, size, align, address) {
                    return room / width;
                }
            }
            HeapSlot::Other => {}
        }
        Found::described(gpa, address).map_or(usize::MAX, |found| found.room / width)
    }

    /// [`Found::at`] for what the lean lookup leaves to the full one (a freed block, a front
    /// guard, a large or guarded block).
    #[inline(never)]
    fn described(gpa: &GeneralPurposeAllocator, address: usize) -> Option<Found> {
        let block = block_at(gpa, address)?;
        Some(Found {
            room: block.room(address),
        })
    }

    /// The block in full, for a finding (`address`: the one it was found at).
    #[cold]
    #[inline(never)]
    fn block(&self, gpa: &GeneralPurposeAllocator, address: usize) -> Option<Block> {
        block_at(gpa, address)
    }
}

/// Checks that `[start, start + len)` lies within one live block where it touches the heap;
/// records a finding for the first bad part.
#[inline]
fn check_range(
    gpa: &GeneralPurposeAllocator,
    start: usize,
    len: usize,
    access: Access,
    call: &'static str,
) {
    if len == 0 {
        return;
    }
    let last = start.saturating_add(len - 1);
    // The common cases first: the range inside one live small block, or outside the heap
    // within one chunk (one page-map entry).
    match gpa.heap_slot_at(start) {
        // `pad_for`, as in `Found::room_in`: a block of no bytes holds no `last`.
        HeapSlot::Live {
            start: base,
            size,
            align,
        } if last < base + size && start >= base + guard::pad_for(align) => return,
        HeapSlot::Outside if gpa.heap_outside_from(start, last) => return,
        _ => {}
    }
    check_range_described(gpa, (start, last), len, access, call);
}

/// [`check_range`] for what the lean lookup leaves to the full one (a freed block, a range
/// that leaves its block, a large or guarded block, a range that starts outside the heap and
/// ends in another chunk): kept out of line so that the common case needs few registers.
#[inline(never)]
fn check_range_described(
    gpa: &GeneralPurposeAllocator,
    (start, last): (usize, usize),
    len: usize,
    access: Access,
    call: &'static str,
) {
    let Some(span) = gpa.heap_block_in(start, last) else {
        return;
    };
    judge(gpa, Block::of(gpa, span), start, len, access, call);
}

/// Whether `[start, start + len)` needs no finding: inside one live block, or outside the
/// heap (the lean test before a check in parts).
fn clean(gpa: &GeneralPurposeAllocator, start: usize, len: usize) -> bool {
    match Found::at(gpa, start) {
        None => gpa
            .heap_block_in(start, start.saturating_add(len.max(1) - 1))
            .is_none(),
        Some(found) => found.room >= len,
    }
}

/// The lowest address a structure the program hands a call can be read at (the first page
/// is never mapped), and the end of the lower canonical half of the address space.
const LOWEST_READABLE: usize = 4096;
const USER_END: usize = 1 << 47;

/// Whether a check may read the program's structure of `len` bytes at `start` (an `iovec`
/// array, a `msghdr`, a length word the kernel reads): not in the first page nor outside the
/// user half of the address space (a wild pointer, which the kernel answers with `EFAULT`:
/// Valgrind's "Syscall param writev(vector) points to unaddressable byte(s)" for
/// `writev(fd, (void *)1, 1)`), and in the heap inside one live block. A structure in a bad
/// heap block is reported as the kernel reads it (`call`) and not read (a freed guarded
/// block is inaccessible). Elsewhere (a stack, a static) it is read when mapped: outside the
/// calling thread's stack each of its pages is probed first without faulting
/// ([`mapped`]: a wild pointer past the first page, which the kernel answers with `EFAULT`,
/// must not crash the check).
fn readable(gpa: &GeneralPurposeAllocator, start: usize, len: usize, call: &'static str) -> bool {
    if start < LOWEST_READABLE || start.checked_add(len).is_none_or(|end| end > USER_END) {
        return false;
    }
    if clean(gpa, start, len) {
        let on_stack = crate::trace::current_stack_bounds()
            .is_some_and(|(low, high)| start >= low && start + len <= high);
        return on_stack || gpa.heap_block_at(start).is_some() || mapped(start, len);
    }
    check_range(gpa, start, len, Access::Read, call);
    false
}

/// Whether every page of `[start, start + len)` (`len` > 0) can be read: one byte of each
/// copied with `process_vm_readv`, which fails instead of faulting (a system call a page; only
/// for structures outside the heap and the calling thread's stack). Where the system call is
/// refused, true.
fn mapped(start: usize, len: usize) -> bool {
    let page = crate::os::page_size();
    let last = start + len.max(1) - 1;
    let mut probe = start;
    loop {
        let mut byte = [0u8; 1];
        match crate::leakcheck::maps::read_own_memory(probe, &mut byte) {
            Some(1) => {}
            Some(_) => return false,
            // No `process_vm_readv` here (a sandbox): read as before the probe.
            None => return true,
        }
        let next = (probe / page + 1) * page;
        if next > last {
            return true;
        }
        probe = next;
    }
}

/// Records what an access of `[start, start + len)` does wrong to `block`, if anything.
#[inline]
fn judge(
    gpa: &GeneralPurposeAllocator,
    block: Block,
    start: usize,
    len: usize,
    access: Access,
    call: &'static str,
) {
    let end = start.saturating_add(len);
    let (kind, first, bad) = if !block.live {
        let kind = match access {
            Access::Read => FindingKind::ReadAfterFree,
            Access::Write => FindingKind::WriteAfterFree,
        };
        (kind, start, len)
    } else if start < block.user {
        (FindingKind::Underflow, start, end.min(block.user) - start)
    } else if end > block.end() {
        // The first unit the call touches that is not wholly in the block: its first byte
        // past the end for a call on bytes; for one on `wchar_t`s, the wide character that
        // straddles the end, named by its start ("4 bytes inside a 6-byte block, reaching
        // ...", Valgrind's "Invalid write of size 4 ... 4 bytes inside a block of size 6").
        let straddled = block.end().saturating_sub(start);
        let first = start + straddled - straddled % unit_of(call);
        // The call's bytes from `first` on, counted from `len` (not from `end`, which
        // saturates at the top of the address space for an absurd size such as
        // `memcpy(p, q, (size_t)-1)`).
        (FindingKind::Overflow, first, len - (first - start))
    } else {
        return;
    };
    report_access(gpa, block, kind, access, first, bad, call);
}

/// The bytes of the units `call` works in: 4 for the wide-string functions (`wcscpy`,
/// `__wcsncat_chk`, `wmemset`, `wcpcpy`...), 1 for the others. Asked only on the way to a
/// finding.
fn unit_of(call: &str) -> usize {
    let name = call.trim_start_matches('_');
    if ["wcs", "wcp", "wmem"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
    {
        Unit::Wide.bytes()
    } else {
        Unit::Byte.bytes()
    }
}

#[cold]
#[inline(never)]
fn report_access(
    gpa: &GeneralPurposeAllocator,
    block: Block,
    kind: FindingKind,
    access: Access,
    first: usize,
    bad: usize,
    call: &'static str,
) {
    if FindingList::busy() {
        FINDINGS.drop_one();
        return;
    }
    let _errno = KeepErrno::new();
    let _inside = InsideAllocator::enter();
    let mut finding = RawFinding::new(kind, block.user);
    finding.size = block.size;
    finding.align = block.align;
    finding.alloc_trace = block.alloc_trace;
    finding.free_trace = block.free_trace;
    finding.access = Some(access);
    finding.access_size = bad;
    finding.offset = Some(first.wrapping_sub(block.user) as isize);
    finding.call = Some(call);
    finding.site_trace = site_trace(gpa);
    record(finding);
}

/// The call's stack (from the program's caller frame on: gpa's own frames are left out
/// when it is rendered).
fn site_trace(gpa: &GeneralPurposeAllocator) -> TraceId {
    let config = gpa.config();
    crate::trace::capture_id(config.stack_trace_frames, config.trace_method)
}

/// Records an overlap of `[dst, dst + dst_len)` and `[src, src + src_len)` (Valgrind's
/// `is_overlap`: none when either is empty).
#[inline]
fn check_overlap(
    gpa: &GeneralPurposeAllocator,
    (dst, dst_len): (usize, usize),
    (src, src_len): (usize, usize),
    call: &'static str,
    length: Option<usize>,
) {
    if dst_len == 0 || src_len == 0 {
        return;
    }
    // Valgrind's test (`is_overlap` of its string functions), last bytes computed with
    // wrap-around: a range whose end passes the top of the address space (an absurd size,
    // `memcpy(p, q, (size_t)-1)`) then overlaps only a range that starts inside it below
    // the top, and Valgrind 3.19 reports no overlap for that call.
    let (src_last, dst_last) = (src.wrapping_add(src_len - 1), dst.wrapping_add(dst_len - 1));
    let overlaps = match src.cmp(&dst) {
        core::cmp::Ordering::Less => src_last >= dst,
        core::cmp::Ordering::Greater => dst_last >= src,
        core::cmp::Ordering::Equal => true,
    };
    if overlaps {
        report_overlap(gpa, dst, src, call, length);
    }
}

#[cold]
#[inline(never)]
fn report_overlap(
    gpa: &GeneralPurposeAllocator,
    dst: usize,
    src: usize,
    call: &'static str,
    length: Option<usize>,
) {
    if FindingList::busy() {
        FINDINGS.drop_one();
        return;
    }
    let _errno = KeepErrno::new();
    let _inside = InsideAllocator::enter();
    let mut finding = RawFinding::new(FindingKind::Overlap, dst);
    // Valgrind's name for the fortified variants: `memcpy_chk`.
    finding.call = Some(call.trim_start_matches("__"));
    finding.call_source = src;
    finding.call_length = length;
    finding.size = length.unwrap_or(0);
    finding.site_trace = site_trace(gpa);
    record(finding);
}

/// The findings of checked calls, each once per kind, block and call site.
static FINDINGS: FindingList = FindingList::new();

/// At most this many distinct findings are kept (a program that overflows a new block at
/// every call of a loop has one site: the report merges them by site anyway).
const MAX_FINDINGS: usize = 4096;

fn record(finding: RawFinding) {
    FINDINGS.record(finding, MAX_FINDINGS, false, |seen, finding| {
        seen.kind == finding.kind
            && seen.address == finding.address
            && seen.access == finding.access
            && seen.site_trace == finding.site_trace
    });
}

/// The findings recorded so far (in the program's terms), taken.
pub fn take_findings() -> std::vec::Vec<RawFinding> {
    FINDINGS.take()
}

/// As [`take_findings`], without waiting for the lock (a fatal signal's report).
pub fn try_take_findings() -> std::vec::Vec<RawFinding> {
    FINDINGS.try_take()
}

/// The bytes a string function reads from `s`: up to and including its terminating NUL, at
/// most `limit`. In a heap block the terminator is looked for within the block only; a
/// string that starts outside a live block, or runs past its end, is reported (an invalid
/// read of 1 byte where the reading goes wrong), and its length is then what glibc finds.
fn string_reads(
    gpa: &GeneralPurposeAllocator,
    s: *const u8,
    limit: usize,
    call: &'static str,
) -> usize {
    units_read(gpa, s, limit, Unit::Byte, call)
}

/// The character width of a string function: `char` or `wchar_t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Byte,
    Wide,
}

impl Unit {
    const fn bytes(self) -> usize {
        match self {
            Unit::Byte => 1,
            Unit::Wide => 4,
        }
    }

    /// The index of the first unit equal to `c` among the `units` units at `s`.
    ///
    /// # Safety
    /// `units` units are readable at `s`.
    unsafe fn find(self, s: *const u8, c: i32, units: usize) -> Option<usize> {
        // SAFETY: the slots' signatures; caller contract.
        let found = unsafe {
            match self {
                Unit::Byte => MEMCHR.real::<MemChrFn>()(s, c, units),
                Unit::Wide => WMEMCHR.real::<MemChrFn>()(s, c, units),
            }
        };
        (!found.is_null()).then(|| (found as usize - s as usize) / self.bytes())
    }

    /// The unit at index `index` of `s` (a byte, or a `wchar_t` read whole).
    ///
    /// # Safety
    /// The unit is readable.
    #[inline(always)]
    unsafe fn load(self, s: *const u8, index: usize) -> u32 {
        // SAFETY: caller contract.
        unsafe {
            match self {
                Unit::Byte => u32::from(core::ptr::read_volatile(s.add(index))),
                Unit::Wide => core::ptr::read_volatile(s.cast::<u32>().add(index)),
            }
        }
    }
}

/// [`string_reads`] for strings of `unit`s, in units: up to and including the terminator.
fn units_read(
    gpa: &GeneralPurposeAllocator,
    s: *const u8,
    limit: usize,
    unit: Unit,
    call: &'static str,
) -> usize {
    if limit == 0 {
        return 0;
    }
    let start = s as usize;
    if let Some(found) = Found::at(gpa, start) {
        let room = found.room / unit.bytes();
        let within = room.min(limit);
        // SAFETY: `within` units at `s` lie in a live block: mapped and readable.
        if let Some(index) = unsafe { unit.find(s, 0, within) } {
            return index + 1;
        }
        if within == limit {
            return limit;
        }
        if let Some(block) = found.block(gpa, start) {
            let next = start + room * unit.bytes();
            judge(gpa, block, next, unit.bytes(), Access::Read, call);
        }
    }
    // SAFETY: the slots' signatures; what glibc's function reads of `s` anyway (the
    // program's contract; a wild pointer faults here as in glibc's function: `program_read`).
    let len = program_read(|| unsafe {
        match unit {
            Unit::Byte => STRNLEN.real::<NLenFn>()(s, limit),
            Unit::Wide => WCSNLEN.real::<NLenFn>()(s, limit),
        }
    });
    len.saturating_add(1).min(limit)
}

/// How a comparison compares: units of `unit`, stopping at a NUL (`strings`), ASCII letters
/// folded to lower case (`fold`: `strcasecmp`).
#[derive(Clone, Copy, Debug)]
struct Comparison {
    unit: Unit,
    strings: bool,
    fold: bool,
}

const MEMORY: Comparison = Comparison {
    unit: Unit::Byte,
    strings: false,
    fold: false,
};
const STRINGS: Comparison = Comparison {
    strings: true,
    ..MEMORY
};
const FOLDED: Comparison = Comparison {
    fold: true,
    ..STRINGS
};
const WIDE_MEMORY: Comparison = Comparison {
    unit: Unit::Wide,
    ..MEMORY
};
const WIDE_STRINGS: Comparison = Comparison {
    unit: Unit::Wide,
    ..STRINGS
};

/// Checks a comparison of `a` and `b` that reads at most `limit` units of each, stopping at
/// the first difference (and, for strings, at a NUL): a read past a live block's end that the
/// comparison reaches is reported (1 unit, the first one out of bounds).
///
/// The common case, both ranges looked up by the lean [`Found::at`] and the comparison
/// stopping within the units both have in bounds ([`compare::stops`], 16 bytes at a time),
/// is inlined into each call's checking function, its [`Comparison`] a constant there; the
/// finding, if any, is [`report_compare`]'s.
#[inline(always)]
fn check_compare(
    gpa: &GeneralPurposeAllocator,
    a: *const u8,
    b: *const u8,
    limit: usize,
    how: Comparison,
    call: &'static str,
) {
    if limit == 0 {
        return;
    }
    // Units in bounds of each side; `usize::MAX` for a side outside the heap (no block's
    // room is that large).
    let width = how.unit.bytes();
    let rooms = [Found::units(gpa, a, width), Found::units(gpa, b, width)];
    let within = rooms[0].min(rooms[1]).min(limit);
    // Both outside the heap (`usize::MAX`), or the comparison ends within both blocks.
    if within == limit {
        return;
    }
    let readable = rooms.map(|room| room != usize::MAX);
    // Whether the comparison stops within the bounds of both.
    // SAFETY: `within` units of a side found in the heap lie in its live block (readable);
    // a side outside the heap is read no further than its stop (which glibc's function
    // reads at least as far) or within the page of a unit before it.
    if !unsafe { compare::stops(a, b, within, how, readable) } {
        report_compare(gpa, [a, b], rooms, within, width, call);
    }
}

/// [`check_compare`] of `strcmp(a, b)`, which also answers the call where the check found
/// the comparison's stop itself: when the bytes both sides have in bounds are fewer than a
/// chunk's (a short heap string, the common case: a hash chain's keys), the check compares
/// them one at a time up to the stop anyway, so it returns what glibc's `strcmp` returns
/// there (the difference of the bytes at the stop as `unsigned char`, as every x86_64
/// `strcmp` of glibc's computes it), and the call is not forwarded. `None`: glibc's function
/// is to be called (both sides outside the heap, a longer comparison, or a finding).
#[inline(always)]
fn check_strcmp(gpa: &GeneralPurposeAllocator, a: *const u8, b: *const u8) -> Option<i32> {
    let rooms = [Found::units(gpa, a, 1), Found::units(gpa, b, 1)];
    let within = rooms[0].min(rooms[1]);
    // Both outside the heap (`usize::MAX`).
    if within == usize::MAX {
        return None;
    }
    if within < 16 {
        for index in 0..within {
            // SAFETY: `index` is below `within`: in bounds of a side found in the heap (its
            // live block); a side outside the heap is read no further than the stop, which
            // glibc's `strcmp` reads at least as far.
            let (x, y) = unsafe { (Unit::Byte.load(a, index), Unit::Byte.load(b, index)) };
            if x != y || x == 0 {
                return Some(x as i32 - y as i32);
            }
        }
        report_compare(gpa, [a, b], rooms, within, 1, "strcmp");
        return None;
    }
    let readable = rooms.map(|room| room != usize::MAX);
    // SAFETY: as in `check_compare`.
    if !unsafe { compare::stops(a, b, within, STRINGS, readable) } {
        report_compare(gpa, [a, b], rooms, within, 1, "strcmp");
    }
    None
}

/// `strcmp`'s checking function: [`check_strcmp`], then glibc's `strcmp` unless the check
/// answered the call.
///
/// # Safety
/// A `strcmp` call's arguments; `caller` the return address of the call.
unsafe extern "C" fn strcmp_checked(a: *const u8, b: *const u8, caller: usize) -> i32 {
    if !own(caller) {
        if let Some(result) = check_strcmp(super::gpa(), a, b) {
            return super::scrubbed(result);
        }
    }
    let outer = forwarding_begin(strcmp_checked as *const () as usize);
    // SAFETY: the slot's signature; the program's own call, checked.
    let result = unsafe { STRCMP.real::<CmpFn>()(a, b) };
    forwarding_end(outer);
    // None of the check's values left where a `getcontext` saves them.
    super::scrubbed(result)
}

/// Reports the reads of a comparison that runs past the units both sides have in bounds
/// (`within`): for each side found in the heap whose room ends there, the unit after it.
#[cold]
#[inline(never)]
fn report_compare(
    gpa: &GeneralPurposeAllocator,
    sides: [*const u8; 2],
    rooms: [usize; 2],
    within: usize,
    width: usize,
    call: &'static str,
) {
    for (p, room) in sides.into_iter().zip(rooms) {
        if room != within {
            continue;
        }
        if let Some(block) = block_at(gpa, p as usize) {
            judge(
                gpa,
                block,
                p as usize + within * width,
                width,
                Access::Read,
                call,
            );
        }
    }
}

/// Checks a scan of `s` that reads at most `limit` units and stops where `stops(s, within)`
/// finds its stop among the first `within` units: a scan that finds none before a live
/// block's end reads past it (1 unit, the first one out of bounds), or reads a freed block.
fn check_scan(
    gpa: &GeneralPurposeAllocator,
    s: *const u8,
    limit: usize,
    unit: Unit,
    call: &'static str,
    stops: impl FnOnce(*const u8, usize) -> bool,
) {
    if limit == 0 {
        return;
    }
    let Some(found_block) = Found::at(gpa, s as usize) else {
        return;
    };
    let room = found_block.room / unit.bytes();
    let within = room.min(limit);
    if within == limit {
        return;
    }
    if !stops(s, within) {
        if let Some(block) = found_block.block(gpa, s as usize) {
            let next = s as usize + within * unit.bytes();
            judge(gpa, block, next, unit.bytes(), Access::Read, call);
        }
    }
}

/// Checks a search for the unit `c` (and a NUL, `nul_stops`) from `s`, reading at most
/// `limit` units (`memchr`, `strchr`, `rawmemchr`, `wcschr`...).
fn check_search(
    gpa: &GeneralPurposeAllocator,
    s: *const u8,
    c: i32,
    (limit, unit): (usize, Unit),
    nul_stops: bool,
    call: &'static str,
) {
    check_scan(gpa, s, limit, unit, call, |s, within| {
        // SAFETY: `within` units at `s` lie in a live block.
        unsafe {
            unit.find(s, c, within).is_some() || (nul_stops && unit.find(s, 0, within).is_some())
        }
    });
}

/// Checks a scan of the string `s` that also stops at the first byte `stop` says stops it
/// (`strpbrk`, `strspn`, `strstr`...), `accept` (a string the function reads whole) checked
/// first.
fn check_string_scan(
    gpa: &GeneralPurposeAllocator,
    s: *const u8,
    accept: *const u8,
    call: &'static str,
    stop: impl FnOnce(&[u8], &[u8]) -> bool,
) {
    let accept_len = string_reads(gpa, accept, usize::MAX, call).saturating_sub(1);
    check_scan(gpa, s, usize::MAX, Unit::Byte, call, |s, within| {
        // SAFETY: `within` bytes at `s` lie in a live block; `accept` is a string of
        // `accept_len` bytes (what glibc's function reads of it anyway).
        let (bytes, accept) = unsafe {
            (
                core::slice::from_raw_parts(s, within),
                core::slice::from_raw_parts(accept, accept_len),
            )
        };
        bytes.contains(&0) || stop(bytes, accept)
    });
}

/// Whether `haystack` holds `needle` (ASCII letters folded: `fold`).
fn holds(haystack: &[u8], needle: &[u8], fold: bool) -> bool {
    needle.is_empty()
        || haystack.windows(needle.len()).any(|window| {
            if fold {
                window.eq_ignore_ascii_case(needle)
            } else {
                window == needle
            }
        })
}

/// The bytes `memccpy(dst, src, c, n)` copies: through the first `c` of `src`, at most `n`;
/// a search that runs past `src`'s live block is reported as [`check_search`] reports it.
fn memccpy_reads(
    gpa: &GeneralPurposeAllocator,
    src: *const u8,
    c: i32,
    n: usize,
    call: &'static str,
) -> usize {
    check_search(gpa, src, c, (n, Unit::Byte), false, call);
    // SAFETY: the slot's signature; what glibc's `memccpy` reads of `src` anyway.
    let found = unsafe { MEMCHR.real::<MemChrFn>()(src, c, n) };
    if found.is_null() {
        n
    } else {
        found as usize - src as usize + 1
    }
}

/// Checks the buffers of a vectored read or write (`readv`, `writev`): each of the `count`
/// buffers of `vector`, as the kernel accesses them.
fn check_vector(
    gpa: &GeneralPurposeAllocator,
    vector: *const libc::iovec,
    count: i32,
    access: Access,
    (whole, call): (&'static str, &'static str),
) {
    // The kernel refuses more than `IOV_MAX` (1024) buffers; so does this check.
    if vector.is_null() || !(0..=1024).contains(&count) {
        return;
    }
    let len = count as usize * size_of::<libc::iovec>();
    if !readable(gpa, vector as usize, len, whole) {
        return;
    }
    for index in 0..count as usize {
        // SAFETY: the program's vector of `count` buffers, readable (`readable`).
        let buffer = unsafe { core::ptr::read_volatile(vector.add(index)) };
        check_range(gpa, buffer.iov_base as usize, buffer.iov_len, access, call);
    }
}

/// A system call's parameter names for the buffers of a vector, in Valgrind's words:
/// `"preadv(vector[1])"`... for the first [`NAMED_BUFFERS`] buffers (Valgrind names each
/// index), then `"preadv(vector[...])"`.
struct IndexedNames {
    /// The vector itself (`preadv(vector)`), which the kernel reads.
    whole: &'static str,
    each: [&'static str; NAMED_BUFFERS],
    rest: &'static str,
}

/// Buffers of a vector named by index in a finding.
const NAMED_BUFFERS: usize = 8;

impl IndexedNames {
    fn of(&self, index: usize) -> &'static str {
        self.each.get(index).copied().unwrap_or(self.rest)
    }
}

/// The [`IndexedNames`] of `$call($parameter[N])`.
macro_rules! indexed_names {
    ($call:literal, $parameter:expr) => {
        IndexedNames {
            whole: concat!($call, "(", $parameter, ")"),
            each: [
                concat!($call, "(", $parameter, "[0])"),
                concat!($call, "(", $parameter, "[1])"),
                concat!($call, "(", $parameter, "[2])"),
                concat!($call, "(", $parameter, "[3])"),
                concat!($call, "(", $parameter, "[4])"),
                concat!($call, "(", $parameter, "[5])"),
                concat!($call, "(", $parameter, "[6])"),
                concat!($call, "(", $parameter, "[7])"),
            ],
            rest: concat!($call, "(", $parameter, "[...])"),
        }
    };
}

static PREADV_NAMES: IndexedNames = indexed_names!("preadv", "vector");
static PWRITEV_NAMES: IndexedNames = indexed_names!("pwritev", "vector");
static PREADV2_NAMES: IndexedNames = indexed_names!("preadv2", "vector");
static PWRITEV2_NAMES: IndexedNames = indexed_names!("pwritev2", "vector");

/// What Valgrind calls the parts of a `msghdr` a call hands the kernel.
struct MessageNames {
    /// The header itself (`recvmsg(msg)`), which the kernel reads.
    header: &'static str,
    iov: IndexedNames,
    name: &'static str,
    control: &'static str,
}

static RECVMSG_NAMES: MessageNames = MessageNames {
    header: "recvmsg(msg)",
    iov: indexed_names!("recvmsg", "msg.msg_iov"),
    name: "recvmsg(msg.msg_name)",
    control: "recvmsg(msg.msg_control)",
};
static SENDMSG_NAMES: MessageNames = MessageNames {
    header: "sendmsg(msg)",
    iov: indexed_names!("sendmsg", "msg.msg_iov"),
    name: "sendmsg(msg.msg_name)",
    control: "sendmsg(msg.msg_control)",
};

/// What Valgrind calls the parts of the messages of a `recvmmsg`/`sendmmsg` vector: its
/// `recvmsg(mmsg[1].msg_hdr.msg_iov[1])`, `sendmsg(mmsg[1].msg_hdr.msg_control)`, for the
/// first two messages, then `[...]` for the message's index (each name is a string and a
/// relocation at the front of the library, which fast mode's start-up reads: see
/// `capi/fast-path.ld`).
struct MultipleNames {
    each: [MessageNames; 2],
    rest: MessageNames,
}

/// The [`MessageNames`] of message `$index` (a literal) of `$call`'s vector.
macro_rules! mmsg_names {
    ($call:literal, $index:literal) => {
        MessageNames {
            header: concat!($call, "(mmsg[", $index, "].msg_hdr)"),
            iov: indexed_names!($call, concat!("mmsg[", $index, "].msg_hdr.msg_iov")),
            name: concat!($call, "(mmsg[", $index, "].msg_hdr.msg_name)"),
            control: concat!($call, "(mmsg[", $index, "].msg_hdr.msg_control)"),
        }
    };
}

static RECVMMSG_NAMES: MultipleNames = MultipleNames {
    each: [mmsg_names!("recvmsg", "0"), mmsg_names!("recvmsg", "1")],
    rest: mmsg_names!("recvmsg", "..."),
};
static SENDMMSG_NAMES: MultipleNames = MultipleNames {
    each: [mmsg_names!("sendmsg", "0"), mmsg_names!("sendmsg", "1")],
    rest: mmsg_names!("sendmsg", "..."),
};

/// Checks each of the `count` messages of `vector` (`recvmmsg`, `sendmmsg`) as
/// [`check_message`] checks one (Valgrind checks every message of the vector before the
/// call, as the kernel may fill or send each).
fn check_messages(
    gpa: &GeneralPurposeAllocator,
    vector: *const libc::mmsghdr,
    count: u32,
    access: Access,
    names: &'static MultipleNames,
) {
    if vector.is_null() || count > 1024 {
        return;
    }
    for index in 0..count as usize {
        let names = names.each.get(index).unwrap_or(&names.rest);
        // SAFETY: the program's vector of `count` messages (the kernel reads them anyway);
        // only the address of the header is taken.
        let header = unsafe { core::ptr::addr_of!((*vector.add(index)).msg_hdr) };
        check_message(gpa, header, access, names);
    }
}

/// Checks each of the `count` buffers of `vector` as the kernel accesses them, named by index
/// (`preadv`, `pwritev`, the buffers of a `msghdr`).
fn check_indexed(
    gpa: &GeneralPurposeAllocator,
    vector: *const libc::iovec,
    count: i32,
    access: Access,
    names: &IndexedNames,
) {
    if vector.is_null() || !(0..=1024).contains(&count) {
        return;
    }
    let whole = count as usize * size_of::<libc::iovec>();
    if !readable(gpa, vector as usize, whole, names.whole) {
        return;
    }
    for index in 0..count as usize {
        // SAFETY: the program's vector of `count` buffers, readable (`readable`).
        let buffer = unsafe { core::ptr::read_volatile(vector.add(index)) };
        let (start, len) = (buffer.iov_base as usize, buffer.iov_len);
        check_range(gpa, start, len, access, names.of(index));
    }
}

/// Checks the buffers of the message `message` hands the kernel (`recvmsg` writes them,
/// `sendmsg` reads them), as Valgrind does: the address (`msg_name`), each buffer of
/// `msg_iov`, and the ancillary data (`msg_control`).
fn check_message(
    gpa: &GeneralPurposeAllocator,
    message: *const libc::msghdr,
    access: Access,
    names: &MessageNames,
) {
    if message.is_null()
        || !readable(
            gpa,
            message as usize,
            size_of::<libc::msghdr>(),
            names.header,
        )
    {
        return;
    }
    // SAFETY: the program's message header, readable (`readable`).
    let header = unsafe { core::ptr::read_volatile(message) };
    check_range(
        gpa,
        header.msg_name as usize,
        header.msg_namelen as usize,
        access,
        names.name,
    );
    let count = i32::try_from(header.msg_iovlen).unwrap_or(-1);
    check_indexed(gpa, header.msg_iov, count, access, &names.iov);
    check_range(
        gpa,
        header.msg_control as usize,
        header.msg_controllen,
        access,
        names.control,
    );
}

// ---- The checking functions: the trampolines jump here with the caller's return address
// as the last argument. ----

/// The checks of a copy of `n` bytes from `src` to `dst`; `overlap`: the function forbids
/// overlapping ranges.
#[inline(always)]
fn copy_checks(dst: *mut u8, src: *const u8, n: usize, overlap: bool, call: &'static str) {
    let gpa = super::gpa();
    check_range(gpa, src as usize, n, Access::Read, call);
    check_range(gpa, dst as usize, n, Access::Write, call);
    // A copy onto itself (`memcpy(p, p, n)`, which compilers emit for `*a = *b`) is not
    // reported, as Valgrind does not.
    if overlap && !core::ptr::eq(dst.cast_const(), src) {
        check_overlap(gpa, (dst as usize, n), (src as usize, n), call, Some(n));
    }
}

/// The checks of a string copy from `src` to `dst` (`strcpy`, `stpcpy`, `wcscpy`).
#[inline(always)]
fn string_copy_checks(dst: *mut u8, src: *const u8, unit: Unit, call: &'static str) {
    let gpa = super::gpa();
    let n = units_read(gpa, src, usize::MAX, unit, call) * unit.bytes();
    check_range(gpa, dst as usize, n, Access::Write, call);
    check_overlap(gpa, (dst as usize, n), (src as usize, n), call, None);
}

/// The checks of `strncpy(dst, src, n)`: reads up to `n` bytes of `src`, writes `n`.
#[inline(always)]
fn strncpy_checks(dst: *mut u8, src: *const u8, n: usize, call: &'static str) {
    units_copy_checks(dst, src, n, Unit::Byte, call);
}

/// The checks of `strncpy` (`unit` bytes) or `wcsncpy` (wide): reads up to `n` units of
/// `src`, writes `n`.
#[inline(always)]
fn units_copy_checks(dst: *mut u8, src: *const u8, n: usize, unit: Unit, call: &'static str) {
    let gpa = super::gpa();
    let read = units_read(gpa, src, n, unit, call) * unit.bytes();
    let written = n.saturating_mul(unit.bytes());
    check_range(gpa, dst as usize, written, Access::Write, call);
    check_overlap(
        gpa,
        (dst as usize, written),
        (src as usize, read),
        call,
        Some(n),
    );
}

/// The checks of `strcat(dst, src)` (`limit` usize::MAX) or `strncat(dst, src, limit)`.
#[inline(always)]
fn strcat_checks(dst: *mut u8, src: *const u8, limit: usize, call: &'static str) {
    units_cat_checks(dst, src, limit, Unit::Byte, call);
}

/// [`strcat_checks`] for strings of `unit`s (`wcscat`, `wcsncat`); `limit` in units.
#[inline(always)]
fn units_cat_checks(dst: *mut u8, src: *const u8, limit: usize, unit: Unit, call: &'static str) {
    let gpa = super::gpa();
    let kept = units_read(gpa, dst, usize::MAX, unit, call).saturating_sub(1);
    let read = units_read(gpa, src, limit, unit, call);
    // The units written: the string and its NUL, or (`strncat` of a longer string) `limit`
    // units and a NUL of its own.
    // SAFETY: the slots' signatures; the units `strncat` reads anyway.
    let copied = if limit != usize::MAX
        && read == limit
        && program_read(|| unsafe {
            match unit {
                Unit::Byte => STRNLEN.real::<NLenFn>()(src, limit),
                Unit::Wide => WCSNLEN.real::<NLenFn>()(src, limit),
            }
        }) == limit
    {
        limit + 1
    } else {
        read
    };
    let width = unit.bytes();
    check_range(
        gpa,
        (dst as usize).wrapping_add(kept * width),
        copied * width,
        Access::Write,
        call,
    );
    let length = (limit != usize::MAX).then_some(limit);
    check_overlap(
        gpa,
        (dst as usize, (kept + copied) * width),
        (src as usize, read * width),
        call,
        length,
    );
}

/// While a checking function runs glibc's function: the checking function's address (0:
/// none). A fatal signal that arrives in glibc's function (a `write` that raises `SIGPIPE`, a
/// `read` blocked when `SIGTERM` comes) interrupted no work of gpa's, though the checking
/// function's frame is on the stack: the leak check may run there
/// (`exit::leak_check_refusal`). Initial-exec TLS (`tls::fast_thread_local!`): a `std`
/// thread-local in this library costs a call of `__tls_get_addr` (about 14 instructions) on
/// every checked call.
///
/// `reading`: while a checking function reads the program's memory outside gpa's heap
/// ([`program_read`]: a string argument's length, what glibc's function reads anyway), the
/// address of a byte in `program_read`'s frame (0: no such read). A fatal signal there, below
/// that frame, is the program's own fault (a wild pointer: the native call takes the same
/// signal), and the checking function holds nothing the leak check needs.
#[repr(C)]
pub(crate) struct Forwarding {
    from: core::cell::Cell<usize>,
    reading: core::cell::Cell<usize>,
}

// SAFETY: two `Cell<usize>`s, valid as zero bytes (0: no call, no read in progress).
unsafe impl crate::tls::ZeroInit for Forwarding {}

crate::tls::fast_thread_local!(
    /// The calling thread's [`Forwarding`].
    fn forwarding() -> Forwarding;
);

/// The calling thread's [`Forwarding`], `(address, bytes)` (one of `gpa::own_thread_locals`:
/// the library's state, which a leak scan skips).
pub(crate) fn thread_local_extent() -> (usize, usize) {
    crate::tls::extent(forwarding())
}

/// The checking function whose call of glibc's function is in progress on this thread, if
/// any (0: none; see [`Forwarding`]). Async-signal-safe.
pub fn forwarding_from() -> usize {
    forwarding().from.get()
}

/// Whether a fault whose stack pointer is `sp` came while a checking function of this thread
/// was reading the program's memory outside gpa's heap (below that read's frame: see
/// [`Forwarding`] and [`program_read`]). Async-signal-safe.
pub fn in_program_read(sp: usize) -> bool {
    let reading = forwarding().reading.get();
    reading != 0 && sp < reading
}

/// Runs `read`, a read of the program's memory outside gpa's heap on the program's behalf
/// (glibc's `strnlen` of a string argument: bytes the program's call reads anyway), with
/// [`in_program_read`] saying so: a fatal signal in it (the program passed a wild pointer)
/// is the program's fault, and the leak check may run at it (`exit::leak_check_refusal`), as
/// at the same fault in glibc's own function. A read the program's signal handler leaves by
/// `siglongjmp` leaves the mark set until the thread's next such read; it lets the leak
/// check run only at a fault below that frame and outside gpa's allocator and locks.
#[inline(always)]
fn program_read<R>(read: impl FnOnce() -> R) -> R {
    let frame = 0u8;
    let outer = forwarding()
        .reading
        .replace(core::ptr::addr_of!(frame) as usize);
    let result = read();
    forwarding().reading.set(outer);
    result
}

/// Before a checking function calls glibc's function: [`forwarding_from`] says `from` (the
/// checking function) until [`forwarding_end`]; returns what it said before (a checking
/// function called from a handler that interrupted another). Inline, so that glibc's function
/// is called from the checking function's own frame.
#[inline(always)]
pub(crate) fn forwarding_begin(from: usize) -> usize {
    forwarding().from.replace(from)
}

/// After glibc's function returned: back to what [`forwarding_begin`] returned.
#[inline(always)]
pub(crate) fn forwarding_end(outer: usize) {
    forwarding().from.set(outer);
}

/// Defines the checking functions: `fn NAME(ARGS) -> RET, SLOT as TYPE, { CHECKS }` runs
/// `CHECKS` for a call from the program, then glibc's function through `SLOT`.
macro_rules! checked {
    ($($vis:vis fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty, $slot:ident as $fnty:ty, $body:block)*) => {
        $(
            $vis unsafe extern "C" fn $name($($arg: $ty,)* caller: usize) -> $ret {
                if !own(caller) {
                    $body
                }
                let outer = $crate::capi::libc_calls::forwarding_begin($name as *const () as usize);
                // SAFETY: the slot's signature; the program's own call, checked.
                let result = unsafe { $slot.real::<$fnty>()($($arg),*) };
                $crate::capi::libc_calls::forwarding_end(outer);
                // None of the check's values left where a `getcontext` saves them.
                $crate::capi::scrubbed(result)
            }
        )*
    };
}

checked! {
    fn memcpy_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, MEMCPY as MemFn, {
        copy_checks(d, s, n, true, "memcpy");
    }
    fn memmove_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, MEMMOVE as MemFn, {
        copy_checks(d, s, n, false, "memmove");
    }
    fn mempcpy_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, MEMPCPY as MemFn, {
        copy_checks(d, s, n, true, "mempcpy");
    }
    fn memset_checked(d: *mut u8, c: i32, n: usize) -> *mut u8, MEMSET as SetFn, {
        check_range(super::gpa(), d as usize, n, Access::Write, "memset");
    }
    fn memcmp_checked(a: *const u8, b: *const u8, n: usize) -> i32, MEMCMP as NCmpFn, {
        check_compare(super::gpa(), a, b, n, MEMORY, "memcmp");
    }
    fn memchr_checked(s: *const u8, c: i32, n: usize) -> *mut u8, MEMCHR as MemChrFn, {
        check_search(super::gpa(), s, c, (n, Unit::Byte), false, "memchr");
    }
    fn strlen_checked(s: *const u8) -> usize, STRLEN as LenFn, {
        string_reads(super::gpa(), s, usize::MAX, "strlen");
    }
    fn strnlen_checked(s: *const u8, n: usize) -> usize, STRNLEN as NLenFn, {
        string_reads(super::gpa(), s, n, "strnlen");
    }
    // glibc's `puts` and `fputs` take the string's `strlen` first (Valgrind: "Invalid read
    // of size 1 at strlen, by puts (ioputs.c:35)").
    fn puts_checked(s: *const u8) -> i32, PUTS as PutsFn, {
        string_reads(super::gpa(), s, usize::MAX, "puts");
    }
    fn fputs_checked(s: *const u8, file: *mut u8) -> i32, FPUTS as FputsFn, {
        string_reads(super::gpa(), s, usize::MAX, "fputs");
    }
    fn fputs_unlocked_checked(s: *const u8, file: *mut u8) -> i32, FPUTS_UNLOCKED as FputsFn, {
        string_reads(super::gpa(), s, usize::MAX, "fputs_unlocked");
    }
    fn strcpy_checked(d: *mut u8, s: *const u8) -> *mut u8, STRCPY as CpyFn, {
        string_copy_checks(d, s, Unit::Byte, "strcpy");
    }
    fn stpcpy_checked(d: *mut u8, s: *const u8) -> *mut u8, STPCPY as CpyFn, {
        string_copy_checks(d, s, Unit::Byte, "stpcpy");
    }
    fn strcat_checked(d: *mut u8, s: *const u8) -> *mut u8, STRCAT as CpyFn, {
        strcat_checks(d, s, usize::MAX, "strcat");
    }
    fn strncpy_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, STRNCPY as MemFn, {
        strncpy_checks(d, s, n, "strncpy");
    }
    fn strncat_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, STRNCAT as MemFn, {
        strcat_checks(d, s, n, "strncat");
    }
    fn strncmp_checked(a: *const u8, b: *const u8, n: usize) -> i32, STRNCMP as NCmpFn, {
        check_compare(super::gpa(), a, b, n, STRINGS, "strncmp");
    }
    fn strchr_checked(s: *const u8, c: i32) -> *mut u8, STRCHR as ChrFn, {
        check_search(super::gpa(), s, c, (usize::MAX, Unit::Byte), true, "strchr");
    }
    fn memcpy_chk_checked(d: *mut u8, s: *const u8, n: usize, size: usize) -> *mut u8, MEMCPY_CHK as MemChkFn, {
        copy_checks(d, s, n, true, "__memcpy_chk");
    }
    fn memmove_chk_checked(d: *mut u8, s: *const u8, n: usize, size: usize) -> *mut u8, MEMMOVE_CHK as MemChkFn, {
        copy_checks(d, s, n, false, "__memmove_chk");
    }
    fn mempcpy_chk_checked(d: *mut u8, s: *const u8, n: usize, size: usize) -> *mut u8, MEMPCPY_CHK as MemChkFn, {
        copy_checks(d, s, n, true, "__mempcpy_chk");
    }
    fn memset_chk_checked(d: *mut u8, c: i32, n: usize, size: usize) -> *mut u8, MEMSET_CHK as SetChkFn, {
        check_range(super::gpa(), d as usize, n, Access::Write, "__memset_chk");
    }
    fn strcpy_chk_checked(d: *mut u8, s: *const u8, size: usize) -> *mut u8, STRCPY_CHK as MemFn, {
        string_copy_checks(d, s, Unit::Byte, "__strcpy_chk");
    }
    fn stpcpy_chk_checked(d: *mut u8, s: *const u8, size: usize) -> *mut u8, STPCPY_CHK as MemFn, {
        string_copy_checks(d, s, Unit::Byte, "__stpcpy_chk");
    }
    fn strcat_chk_checked(d: *mut u8, s: *const u8, size: usize) -> *mut u8, STRCAT_CHK as MemFn, {
        strcat_checks(d, s, usize::MAX, "__strcat_chk");
    }
    fn strncpy_chk_checked(d: *mut u8, s: *const u8, n: usize, size: usize) -> *mut u8, STRNCPY_CHK as MemChkFn, {
        strncpy_checks(d, s, n, "__strncpy_chk");
    }
}

checked! {
    fn strrchr_checked(s: *const u8, c: i32) -> *mut u8, STRRCHR as ChrFn, {
        string_reads(super::gpa(), s, usize::MAX, "strrchr");
    }
    fn strstr_checked(h: *const u8, n: *const u8) -> *mut u8, STRSTR as FindFn, {
        check_string_scan(super::gpa(), h, n, "strstr", |h, n| holds(h, n, false));
    }
    fn strcasestr_checked(h: *const u8, n: *const u8) -> *mut u8, STRCASESTR as FindFn, {
        check_string_scan(super::gpa(), h, n, "strcasestr", |h, n| holds(h, n, true));
    }
    fn strpbrk_checked(s: *const u8, a: *const u8) -> *mut u8, STRPBRK as FindFn, {
        check_string_scan(super::gpa(), s, a, "strpbrk", |s, a| s.iter().any(|b| a.contains(b)));
    }
    fn strcspn_checked(s: *const u8, a: *const u8) -> usize, STRCSPN as SpanFn, {
        check_string_scan(super::gpa(), s, a, "strcspn", |s, a| s.iter().any(|b| a.contains(b)));
    }
    fn strspn_checked(s: *const u8, a: *const u8) -> usize, STRSPN as SpanFn, {
        check_string_scan(super::gpa(), s, a, "strspn", |s, a| s.iter().any(|b| !a.contains(b)));
    }
    fn memrchr_checked(s: *const u8, c: i32, n: usize) -> *mut u8, MEMRCHR as MemChrFn, {
        check_range(super::gpa(), s as usize, n, Access::Read, "memrchr");
    }
    fn rawmemchr_checked(s: *const u8, c: i32) -> *mut u8, RAWMEMCHR as ChrFn, {
        check_search(super::gpa(), s, c, (usize::MAX, Unit::Byte), false, "rawmemchr");
    }
    fn strcasecmp_checked(a: *const u8, b: *const u8) -> i32, STRCASECMP as CmpFn, {
        check_compare(super::gpa(), a, b, usize::MAX, FOLDED, "strcasecmp");
    }
    fn strncasecmp_checked(a: *const u8, b: *const u8, n: usize) -> i32, STRNCASECMP as NCmpFn, {
        check_compare(super::gpa(), a, b, n, FOLDED, "strncasecmp");
    }
    fn stpncpy_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, STPNCPY as MemFn, {
        strncpy_checks(d, s, n, "stpncpy");
    }
    fn memccpy_checked(d: *mut u8, s: *const u8, c: i32, n: usize) -> *mut u8, MEMCCPY as CcpyFn, {
        let gpa = super::gpa();
        let copied = memccpy_reads(gpa, s, c, n, "memccpy");
        check_range(gpa, d as usize, copied, Access::Write, "memccpy");
        // The length Valgrind names: the bytes copied (glibc copies them with one mempcpy).
        check_overlap(gpa, (d as usize, copied), (s as usize, copied), "memccpy", Some(copied));
    }
    fn bcopy_checked(s: *const u8, d: *mut u8, n: usize) -> (), BCOPY as BcopyFn, {
        copy_checks(d, s, n, false, "bcopy");
    }
    fn bzero_checked(d: *mut u8, n: usize) -> (), BZERO as BzeroFn, {
        check_range(super::gpa(), d as usize, n, Access::Write, "bzero");
    }
    fn explicit_bzero_checked(d: *mut u8, n: usize) -> (), EXPLICIT_BZERO as BzeroFn, {
        check_range(super::gpa(), d as usize, n, Access::Write, "explicit_bzero");
    }
    fn strdup_checked(s: *const u8) -> *mut u8, STRDUP as DupFn, {
        string_reads(super::gpa(), s, usize::MAX, "strdup");
    }
    fn strndup_checked(s: *const u8, n: usize) -> *mut u8, STRNDUP as NDupFn, {
        string_reads(super::gpa(), s, n, "strndup");
    }
    fn wcslen_checked(s: *const u8) -> usize, WCSLEN as LenFn, {
        units_read(super::gpa(), s, usize::MAX, Unit::Wide, "wcslen");
    }
    fn wcsnlen_checked(s: *const u8, n: usize) -> usize, WCSNLEN as NLenFn, {
        units_read(super::gpa(), s, n, Unit::Wide, "wcsnlen");
    }
    fn wcscpy_checked(d: *mut u8, s: *const u8) -> *mut u8, WCSCPY as CpyFn, {
        string_copy_checks(d, s, Unit::Wide, "wcscpy");
    }
    fn wcscmp_checked(a: *const u8, b: *const u8) -> i32, WCSCMP as CmpFn, {
        check_compare(super::gpa(), a, b, usize::MAX, WIDE_STRINGS, "wcscmp");
    }
    fn wcschr_checked(s: *const u8, c: i32) -> *mut u8, WCSCHR as ChrFn, {
        check_search(super::gpa(), s, c, (usize::MAX, Unit::Wide), true, "wcschr");
    }
    fn wcsrchr_checked(s: *const u8, c: i32) -> *mut u8, WCSRCHR as ChrFn, {
        units_read(super::gpa(), s, usize::MAX, Unit::Wide, "wcsrchr");
    }
    fn wmemchr_checked(s: *const u8, c: i32, n: usize) -> *mut u8, WMEMCHR as MemChrFn, {
        check_search(super::gpa(), s, c, (n, Unit::Wide), false, "wmemchr");
    }
    fn wmemcmp_checked(a: *const u8, b: *const u8, n: usize) -> i32, WMEMCMP as NCmpFn, {
        check_compare(super::gpa(), a, b, n, WIDE_MEMORY, "wmemcmp");
    }
    fn wmemcpy_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, WMEMCPY as MemFn, {
        copy_checks(d, s, n.saturating_mul(4), true, "wmemcpy");
    }
    fn wmemset_checked(d: *mut u8, c: i32, n: usize) -> *mut u8, WMEMSET as SetFn, {
        check_range(super::gpa(), d as usize, n.saturating_mul(4), Access::Write, "wmemset");
    }
    fn stpncpy_chk_checked(d: *mut u8, s: *const u8, n: usize, size: usize) -> *mut u8, STPNCPY_CHK as MemChkFn, {
        strncpy_checks(d, s, n, "__stpncpy_chk");
    }
    fn explicit_bzero_chk_checked(d: *mut u8, n: usize, size: usize) -> (), EXPLICIT_BZERO_CHK as BzeroChkFn, {
        check_range(super::gpa(), d as usize, n, Access::Write, "__explicit_bzero_chk");
    }
    fn wcscpy_chk_checked(d: *mut u8, s: *const u8, size: usize) -> *mut u8, WCSCPY_CHK as MemFn, {
        string_copy_checks(d, s, Unit::Wide, "__wcscpy_chk");
    }
    fn wmemcpy_chk_checked(d: *mut u8, s: *const u8, n: usize, size: usize) -> *mut u8, WMEMCPY_CHK as MemChkFn, {
        copy_checks(d, s, n.saturating_mul(4), true, "__wmemcpy_chk");
    }
    fn wmemset_chk_checked(d: *mut u8, c: i32, n: usize, size: usize) -> *mut u8, WMEMSET_CHK as SetChkFn, {
        check_range(super::gpa(), d as usize, n.saturating_mul(4), Access::Write, "__wmemset_chk");
    }
    fn wcscat_checked(d: *mut u8, s: *const u8) -> *mut u8, WCSCAT as CpyFn, {
        units_cat_checks(d, s, usize::MAX, Unit::Wide, "wcscat");
    }
    fn wcsncpy_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, WCSNCPY as MemFn, {
        units_copy_checks(d, s, n, Unit::Wide, "wcsncpy");
    }
    fn wcsncat_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, WCSNCAT as MemFn, {
        units_cat_checks(d, s, n, Unit::Wide, "wcsncat");
    }
    fn wcscat_chk_checked(d: *mut u8, s: *const u8, size: usize) -> *mut u8, WCSCAT_CHK as MemFn, {
        units_cat_checks(d, s, usize::MAX, Unit::Wide, "__wcscat_chk");
    }
    fn wcsncpy_chk_checked(d: *mut u8, s: *const u8, n: usize, size: usize) -> *mut u8, WCSNCPY_CHK as MemChkFn, {
        units_copy_checks(d, s, n, Unit::Wide, "__wcsncpy_chk");
    }
    fn wcpcpy_checked(d: *mut u8, s: *const u8) -> *mut u8, WCPCPY as CpyFn, {
        string_copy_checks(d, s, Unit::Wide, "wcpcpy");
    }
    fn wcpncpy_checked(d: *mut u8, s: *const u8, n: usize) -> *mut u8, WCPNCPY as MemFn, {
        units_copy_checks(d, s, n, Unit::Wide, "wcpncpy");
    }
    fn wcpcpy_chk_checked(d: *mut u8, s: *const u8, size: usize) -> *mut u8, WCPCPY_CHK as MemFn, {
        string_copy_checks(d, s, Unit::Wide, "__wcpcpy_chk");
    }
    fn wcpncpy_chk_checked(d: *mut u8, s: *const u8, n: usize, size: usize) -> *mut u8, WCPNCPY_CHK as MemChkFn, {
        units_copy_checks(d, s, n, Unit::Wide, "__wcpncpy_chk");
    }
    fn wcsncat_chk_checked(d: *mut u8, s: *const u8, n: usize, size: usize) -> *mut u8, WCSNCAT_CHK as MemChkFn, {
        units_cat_checks(d, s, n, Unit::Wide, "__wcsncat_chk");
    }
}

// ---- System calls and stdio: the buffer a call hands the kernel (or a `FILE`) is checked as
// the call accesses it. `read(2)` writes its buffer and `write(2)` reads it; as Valgrind
// checks a system call's buffer before the call, the whole length asked for is checked. The
// finding's call names the function and its parameter in Valgrind's words ("read(buf)",
// "send(msg)", "writev(vector[...])"). ----

checked! {
    fn read_checked(fd: i32, b: *mut u8, n: usize) -> isize, READ as IoFn, {
        check_range(super::gpa(), b as usize, n, Access::Write, "read(buf)");
    }
    fn write_checked(fd: i32, b: *mut u8, n: usize) -> isize, WRITE as IoFn, {
        check_range(super::gpa(), b as usize, n, Access::Read, "write(buf)");
    }
    fn pread64_checked(fd: i32, b: *mut u8, n: usize, at: i64) -> isize, PREAD64 as PosIoFn, {
        check_range(super::gpa(), b as usize, n, Access::Write, "pread64(buf)");
    }
    fn pwrite64_checked(fd: i32, b: *mut u8, n: usize, at: i64) -> isize, PWRITE64 as PosIoFn, {
        check_range(super::gpa(), b as usize, n, Access::Read, "pwrite64(buf)");
    }
    fn recv_checked(fd: i32, b: *mut u8, n: usize, flags: i32) -> isize, RECV as SockFn, {
        check_range(super::gpa(), b as usize, n, Access::Write, "recv(buf)");
    }
    fn send_checked(fd: i32, b: *mut u8, n: usize, flags: i32) -> isize, SEND as SockFn, {
        check_range(super::gpa(), b as usize, n, Access::Read, "send(msg)");
    }
    fn readv_checked(fd: i32, v: *const libc::iovec, count: i32) -> isize, READV as VecFn, {
        check_vector(super::gpa(), v, count, Access::Write, ("readv(vector)", "readv(vector[...])"));
    }
    fn writev_checked(fd: i32, v: *const libc::iovec, count: i32) -> isize, WRITEV as VecFn, {
        check_vector(super::gpa(), v, count, Access::Read, ("writev(vector)", "writev(vector[...])"));
    }
    fn fwrite_checked(b: *mut u8, size: usize, n: usize, file: *mut u8) -> usize, FWRITE as StdioFn, {
        check_range(super::gpa(), b as usize, size.saturating_mul(n), Access::Read, "fwrite");
    }
    fn read_chk_checked(fd: i32, b: *mut u8, n: usize, room: usize) -> isize, READ_CHK as IoChkFn, {
        check_range(super::gpa(), b as usize, n, Access::Write, "read(buf)");
    }
    fn pread64_chk_checked(fd: i32, b: *mut u8, n: usize, at: i64, room: usize) -> isize, PREAD64_CHK as PosIoChkFn, {
        check_range(super::gpa(), b as usize, n, Access::Write, "pread64(buf)");
    }
    fn recv_chk_checked(fd: i32, b: *mut u8, n: usize, room: usize, flags: i32) -> isize, RECV_CHK as SockChkFn, {
        check_range(super::gpa(), b as usize, n, Access::Write, "recv(buf)");
    }
    fn recvmsg_checked(fd: i32, m: *mut libc::msghdr, flags: i32) -> isize, RECVMSG as MsgFn, {
        check_message(super::gpa(), m, Access::Write, &RECVMSG_NAMES);
    }
    fn sendmsg_checked(fd: i32, m: *mut libc::msghdr, flags: i32) -> isize, SENDMSG as MsgFn, {
        check_message(super::gpa(), m, Access::Read, &SENDMSG_NAMES);
    }
    fn recvmmsg_checked(fd: i32, m: *mut libc::mmsghdr, count: u32, flags: i32, timeout: *mut libc::timespec) -> i32, RECVMMSG as RecvMmsgFn, {
        check_messages(super::gpa(), m, count, Access::Write, &RECVMMSG_NAMES);
    }
    fn sendmmsg_checked(fd: i32, m: *mut libc::mmsghdr, count: u32, flags: i32) -> i32, SENDMMSG as SendMmsgFn, {
        check_messages(super::gpa(), m, count, Access::Read, &SENDMMSG_NAMES);
    }
    fn preadv_checked(fd: i32, v: *const libc::iovec, count: i32, at: i64) -> isize, PREADV as PosVecFn, {
        check_indexed(super::gpa(), v, count, Access::Write, &PREADV_NAMES);
    }
    fn pwritev_checked(fd: i32, v: *const libc::iovec, count: i32, at: i64) -> isize, PWRITEV as PosVecFn, {
        check_indexed(super::gpa(), v, count, Access::Read, &PWRITEV_NAMES);
    }
    fn preadv2_checked(fd: i32, v: *const libc::iovec, count: i32, at: i64, flags: i32) -> isize, PREADV2 as PosVec2Fn, {
        check_indexed(super::gpa(), v, count, Access::Write, &PREADV2_NAMES);
    }
    fn pwritev2_checked(fd: i32, v: *const libc::iovec, count: i32, at: i64, flags: i32) -> isize, PWRITEV2 as PosVec2Fn, {
        check_indexed(super::gpa(), v, count, Access::Read, &PWRITEV2_NAMES);
    }
}

/// `recvfrom`, checked. Its six arguments fill the argument registers, so its trampoline
/// cannot pass the caller: gpa itself never calls `recvfrom` or `sendto`, and every call is
/// the program's.
unsafe extern "C" fn recvfrom_checked(
    fd: i32,
    b: *mut u8,
    n: usize,
    flags: i32,
    from: *mut u8,
    from_len: usize,
) -> isize {
    check_range(super::gpa(), b as usize, n, Access::Write, "recvfrom(buf)");
    let length = from_len as *const u32;
    let names = ("recvfrom(from)", "recvfrom(fromlen_in)");
    syscalls::check_address_out(super::gpa(), from, length, names);
    // SAFETY: the slot's signature; the program's call, checked.
    unsafe { RECVFROM.real::<SockAddrFn>()(fd, b, n, flags, from, from_len) }
}

/// `sendto`, checked (as [`recvfrom_checked`]).
unsafe extern "C" fn sendto_checked(
    fd: i32,
    b: *mut u8,
    n: usize,
    flags: i32,
    to: *mut u8,
    to_len: usize,
) -> isize {
    check_range(super::gpa(), b as usize, n, Access::Read, "sendto(msg)");
    // `socklen_t`: the register's upper half is not the caller's.
    let to_len = to_len as u32 as usize;
    syscalls::check_address(super::gpa(), to, to_len, &syscalls::SENDTO_NAMES);
    // SAFETY: the slot's signature; the program's call, checked.
    unsafe { SENDTO.real::<SockAddrFn>()(fd, b, n, flags, to, to_len) }
}

/// Defines checking functions that check after glibc's function ran: `fn NAME(ARGS) -> RET,
/// SLOT as TYPE, |RESULT| { CHECKS }`, for the functions whose accesses only their result
/// tells (the bytes `fread` and `fgets` stored). The checks keep `errno` as the call left it.
macro_rules! checked_after {
    ($(fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty, $slot:ident as $fnty:ty, |$result:ident| $body:block)*) => {
        $(
            unsafe extern "C" fn $name($($arg: $ty,)* caller: usize) -> $ret {
                let outer = $crate::capi::libc_calls::forwarding_begin($name as *const () as usize);
                // SAFETY: the slot's signature; the program's own call.
                let $result = unsafe { $slot.real::<$fnty>()($($arg),*) };
                $crate::capi::libc_calls::forwarding_end(outer);
                if !own(caller) {
                    $body
                }
                // None of the check's values left where a `getcontext` saves them.
                $crate::capi::scrubbed($result)
            }
        )*
    };
}

mod syscalls;
use syscalls::*;
pub(crate) use syscalls::{
    check_exec, check_sigaction_act, check_sigaction_oldact, check_signal_mask, ExecNames,
};

/// The bytes `fgets` stored at `s` when it returned `result`: the line and its NUL (a line
/// holding a NUL byte counts to that byte).
fn fgets_stored(s: *mut u8, result: *mut u8, n: i32) -> usize {
    if result.is_null() || n <= 0 {
        return 0;
    }
    // SAFETY: the slot's signature; `fgets` wrote a string of at most `n - 1` bytes at `s`.
    unsafe { STRNLEN.real::<NLenFn>()(s, n as usize) + 1 }
}

checked_after! {
    fn fread_checked(b: *mut u8, size: usize, n: usize, file: *mut u8) -> usize, FREAD as StdioFn, |read| {
        check_range(super::gpa(), b as usize, read.saturating_mul(size), Access::Write, "fread");
    }
    fn fread_chk_checked(b: *mut u8, room: usize, size: usize, n: usize, file: *mut u8) -> usize, FREAD_CHK as FreadChkFn, |read| {
        check_range(super::gpa(), b as usize, read.saturating_mul(size), Access::Write, "fread");
    }
    fn fgets_checked(s: *mut u8, n: i32, file: *mut u8) -> *mut u8, FGETS as FgetsFn, |line| {
        check_range(super::gpa(), s as usize, fgets_stored(s, line, n), Access::Write, "fgets");
    }
    fn fgets_chk_checked(s: *mut u8, room: usize, n: i32, file: *mut u8) -> *mut u8, FGETS_CHK as FgetsChkFn, |line| {
        check_range(super::gpa(), s as usize, fgets_stored(s, line, n), Access::Write, "fgets");
    }
}

/// The bootstrap implementations, used until [`install`] has resolved glibc's: correct and
/// simple, never a call of a libc function (string instructions and volatile byte loops,
/// which the compiler cannot recognize as `memcpy` or `strlen` idioms).
mod boot {
    use core::ptr::{read_volatile as get, write_volatile as put};

    pub unsafe extern "C" fn memcpy(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
        // SAFETY: caller contract (C's `memcpy`): `n` bytes readable at `s`, writable at `d`.
        unsafe {
            core::arch::asm!(
                "rep movsb",
                inout("rdi") d => _,
                inout("rsi") s => _,
                inout("rcx") n => _,
                options(nostack, preserves_flags)
            );
        }
        d
    }

    pub unsafe extern "C" fn memmove(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
        if (d as usize).wrapping_sub(s as usize) >= n {
            // SAFETY: caller contract; a forward copy is right when `d` is not in `(s, s + n)`.
            return unsafe { memcpy(d, s, n) };
        }
        // SAFETY: caller contract; copies backwards from the last byte, the direction flag
        // restored after.
        unsafe {
            core::arch::asm!(
                "std",
                "rep movsb",
                "cld",
                inout("rdi") d.add(n - 1) => _,
                inout("rsi") s.add(n - 1) => _,
                inout("rcx") n => _,
                options(nostack)
            );
        }
        d
    }

    pub unsafe extern "C" fn mempcpy(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
        // SAFETY: caller contract.
        unsafe { memcpy(d, s, n).add(n) }
    }

    pub unsafe extern "C" fn memset(d: *mut u8, c: i32, n: usize) -> *mut u8 {
        // SAFETY: caller contract: `n` bytes writable at `d`.
        unsafe {
            core::arch::asm!(
                "rep stosb",
                inout("rdi") d => _,
                inout("rcx") n => _,
                in("al") c as u8,
                options(nostack, preserves_flags)
            );
        }
        d
    }

    pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        for i in 0..n {
            // SAFETY: caller contract: `n` bytes readable at both.
            let (x, y) = unsafe { (get(a.add(i)), get(b.add(i))) };
            if x != y {
                return i32::from(x) - i32::from(y);
            }
        }
        0
    }

    pub unsafe extern "C" fn memchr(s: *const u8, c: i32, n: usize) -> *mut u8 {
        for i in 0..n {
            // SAFETY: caller contract.
            if unsafe { get(s.add(i)) } == c as u8 {
                return s.wrapping_add(i).cast_mut();
            }
        }
        core::ptr::null_mut()
    }

    pub unsafe extern "C" fn strnlen(s: *const u8, n: usize) -> usize {
        let mut i = 0;
        // SAFETY: caller contract: a string, or `n` readable bytes.
        while i < n && unsafe { get(s.add(i)) } != 0 {
            i += 1;
        }
        i
    }

    pub unsafe extern "C" fn strlen(s: *const u8) -> usize {
        // SAFETY: caller contract: a NUL-terminated string.
        unsafe { strnlen(s, usize::MAX) }
    }

    pub unsafe extern "C" fn stpcpy(d: *mut u8, s: *const u8) -> *mut u8 {
        let mut i = 0;
        loop {
            // SAFETY: caller contract: a string at `s`, room for it at `d`.
            let byte = unsafe { get(s.add(i)) };
            // SAFETY: as above.
            unsafe { put(d.add(i), byte) };
            if byte == 0 {
                return d.wrapping_add(i);
            }
            i += 1;
        }
    }

    pub unsafe extern "C" fn strcpy(d: *mut u8, s: *const u8) -> *mut u8 {
        // SAFETY: caller contract.
        unsafe { stpcpy(d, s) };
        d
    }

    pub unsafe extern "C" fn strcat(d: *mut u8, s: *const u8) -> *mut u8 {
        // SAFETY: caller contract: two strings, room after the first for the second.
        unsafe { stpcpy(d.add(strlen(d)), s) };
        d
    }

    pub unsafe extern "C" fn strncpy(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
        // SAFETY: caller contract: `n` bytes writable at `d`; `s` a string or `n` bytes.
        unsafe {
            let len = strnlen(s, n);
            memcpy(d, s, len);
            memset(d.add(len), 0, n - len);
        }
        d
    }

    pub unsafe extern "C" fn strncat(d: *mut u8, s: *const u8, n: usize) -> *mut u8 {
        // SAFETY: caller contract.
        unsafe {
            let end = d.add(strlen(d));
            let len = strnlen(s, n);
            memcpy(end, s, len);
            put(end.add(len), 0);
        }
        d
    }

    pub unsafe extern "C" fn strncmp(a: *const u8, b: *const u8, n: usize) -> i32 {
        for i in 0..n {
            // SAFETY: caller contract: two strings.
            let (x, y) = unsafe { (get(a.add(i)), get(b.add(i))) };
            if x != y || x == 0 {
                return i32::from(x) - i32::from(y);
            }
        }
        0
    }

    pub unsafe extern "C" fn strcmp(a: *const u8, b: *const u8) -> i32 {
        // SAFETY: caller contract.
        unsafe { strncmp(a, b, usize::MAX) }
    }

    pub unsafe extern "C" fn strchr(s: *const u8, c: i32) -> *mut u8 {
        let mut i = 0;
        loop {
            // SAFETY: caller contract: a string.
            let byte = unsafe { get(s.add(i)) };
            if byte == c as u8 {
                return s.wrapping_add(i).cast_mut();
            }
            if byte == 0 {
                return core::ptr::null_mut();
            }
            i += 1;
        }
    }

    pub unsafe extern "C" fn memrchr(s: *const u8, c: i32, n: usize) -> *mut u8 {
        for i in (0..n).rev() {
            // SAFETY: caller contract: `n` bytes readable at `s`.
            if unsafe { get(s.add(i)) } == c as u8 {
                return s.wrapping_add(i).cast_mut();
            }
        }
        core::ptr::null_mut()
    }

    // glibc's own names of functions it exports under the interposed names as well: calls
    // of these reach glibc's definitions directly (only their addresses are taken).
    unsafe extern "C" {
        pub fn __strcasestr();
        pub fn __rawmemchr();
        pub fn __strcasecmp();
        pub fn __stpncpy();
        pub fn __bzero();
        pub fn __strdup();
        pub fn __strndup();
        pub fn __read();
        pub fn __write();
        pub fn __pread64();
        pub fn __pwrite64();
        pub fn __recv();
        pub fn __send();
        pub fn _IO_fread();
        pub fn _IO_fwrite();
        pub fn _IO_fgets();
        pub fn _IO_sprintf();
        pub fn _IO_vsprintf();
        pub fn __vsnprintf();
        pub fn __open();
        pub fn __fstat64();
        pub fn __connect();
        pub fn __pipe();
        pub fn __clock_gettime();
        pub fn __gettimeofday();
        pub fn __nanosleep();
        pub fn __getrlimit();
        pub fn __poll();
        pub fn __select();
    }

    /// `__chk_fail`'s effect, without glibc's message: the object is smaller than the copy.
    fn overflow(n: usize, size: usize) {
        if n > size {
            std::process::abort();
        }
    }

    pub unsafe extern "C" fn memcpy_chk(
        d: *mut u8,
        s: *const u8,
        n: usize,
        size: usize,
    ) -> *mut u8 {
        overflow(n, size);
        // SAFETY: caller contract.
        unsafe { memcpy(d, s, n) }
    }

    pub unsafe extern "C" fn memmove_chk(
        d: *mut u8,
        s: *const u8,
        n: usize,
        size: usize,
    ) -> *mut u8 {
        overflow(n, size);
        // SAFETY: caller contract.
        unsafe { memmove(d, s, n) }
    }

    pub unsafe extern "C" fn mempcpy_chk(
        d: *mut u8,
        s: *const u8,
        n: usize,
        size: usize,
    ) -> *mut u8 {
        overflow(n, size);
        // SAFETY: caller contract.
        unsafe { mempcpy(d, s, n) }
    }

    pub unsafe extern "C" fn memset_chk(d: *mut u8, c: i32, n: usize, size: usize) -> *mut u8 {
        overflow(n, size);
        // SAFETY: caller contract.
        unsafe { memset(d, c, n) }
    }

    pub unsafe extern "C" fn strcpy_chk(d: *mut u8, s: *const u8, size: usize) -> *mut u8 {
        // SAFETY: caller contract.
        overflow(unsafe { strlen(s) } + 1, size);
        // SAFETY: caller contract.
        unsafe { strcpy(d, s) }
    }

    pub unsafe extern "C" fn stpcpy_chk(d: *mut u8, s: *const u8, size: usize) -> *mut u8 {
        // SAFETY: caller contract.
        overflow(unsafe { strlen(s) } + 1, size);
        // SAFETY: caller contract.
        unsafe { stpcpy(d, s) }
    }

    pub unsafe extern "C" fn strcat_chk(d: *mut u8, s: *const u8, size: usize) -> *mut u8 {
        // SAFETY: caller contract.
        overflow(unsafe { strlen(d) + strlen(s) } + 1, size);
        // SAFETY: caller contract.
        unsafe { strcat(d, s) }
    }

    pub unsafe extern "C" fn strncpy_chk(
        d: *mut u8,
        s: *const u8,
        n: usize,
        size: usize,
    ) -> *mut u8 {
        overflow(n, size);
        // SAFETY: caller contract.
        unsafe { strncpy(d, s, n) }
    }
}
