//! Thread-locals reached in two instructions: the platform layer's initial-exec TLS.
//!
//! # Why
//! Rust's `thread_local!` in a shared library (the `LD_PRELOAD` library is a `cdylib`) uses the
//! general-dynamic TLS model: every access calls `__tls_get_addr`, which cost about 8% of the
//! instructions of a C `malloc`/`free` pair. Stable Rust has no way to ask for another model
//! (`-Z tls-model` is nightly only), so on x86-64 Linux `fast_thread_local!` defines the
//! variable itself, in assembly, in the `.tbss` section, and reaches it the way C's
//! `__attribute__((tls_model("initial-exec")))` does:
//!
//! ```text
//! mov  reg, [rip + SYMBOL@GOTTPOFF]   ; the variable's offset from the thread pointer
//! add  reg, fs:[0]                    ; plus the thread pointer: the calling thread's copy
//! ```
//!
//! The offset is fixed when the library is loaded (the dynamic loader places initial-exec TLS
//! in the static TLS block: the library gets the `STATIC_TLS` flag), which is what mimalloc
//! does too. In an executable the linker turns the GOT load into a constant. Elsewhere the
//! macro falls back to `thread_local!`.
//!
//! # Limits
//! A library with initial-exec TLS can be loaded at start-up (`LD_PRELOAD`, a `DT_NEEDED`
//! dependency) or linked statically; `dlopen` of it late works only while glibc's static TLS
//! reserve lasts (a few hundred bytes per library), which is why the variables here are small.
//! Static TLS also costs every thread of every program the library is preloaded into, fast
//! mode's too: the loader reserves and zeroes it in each. So per-thread state of more than a
//! few hundred bytes, or that only check mode uses, lives out of it, behind a pointer kept
//! here: the trace caches (57 KiB, `trace::thread_caches`) are mapped at a thread's first
//! capture and pooled at its exit. The library's `PT_TLS` segment was 61,008 bytes with them
//! and is 2,688 without (2026-12-02); `cli/tests/preload_footprint.rs` keeps it under 4 KiB.
//! That is still more than glibc's reserve for a late `dlopen` (512 bytes by default,
//! `glibc.rtld.optional_static_tls`), so the library is for `LD_PRELOAD` only.
//!
//! # Invariants
//! * Every variable starts as all-zero bytes (`.tbss`), so its type must be valid as such:
//!   the macro requires [`ZeroInit`].
//! * The references handed out live as long as the calling thread; the types used hold `Cell`s
//!   (not `Sync`), so a reference cannot be passed to another thread.

/// Names the thread-local variables' symbols: its mangled name is unique to this copy of the
/// crate (an exported item keeps its name in every codegen unit), and each variable's symbol
/// is that name, a dot and the accessor's name.
#[doc(hidden)]
pub static SYMBOL_ANCHOR: u8 = 0;

/// Types whose all-zero bit pattern is a valid value, the one a fresh thread starts with.
///
/// # Safety
/// All-zero bytes must be a valid value of the type (no references, no non-nullable pointers,
/// no enums without a zero discriminant).
pub unsafe trait ZeroInit {}

/// The offset from the thread pointer of the variable `fast_thread_local!` defined for the
/// accessor `$name` (its `GOTTPOFF` entry, fixed when the library is loaded).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[doc(hidden)]
macro_rules! tls_offset {
    ($name:ident) => {{
        let offset: usize;
        // SAFETY: reads the variable's `GOTTPOFF` entry, which the dynamic loader fills before
        // any code of the library runs and never changes (hence `pure, readonly`).
        unsafe {
            core::arch::asm!(
                concat!("mov {offset}, qword ptr [rip + {anchor}.", stringify!($name), "@GOTTPOFF]"),
                anchor = sym $crate::tls::SYMBOL_ANCHOR,
                offset = out(reg) offset,
                options(pure, readonly, nostack, preserves_flags)
            );
        }
        offset
    }};
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub(crate) use tls_offset;

/// Whether a word at byte `offset` of a `T` is aligned and in bounds (`fast_thread_local!`'s
/// word readers check this at compile time).
#[doc(hidden)]
pub const fn word_fits<T>(offset: usize) -> bool {
    offset % core::mem::align_of::<usize>() == 0
        && offset + core::mem::size_of::<usize>() <= core::mem::size_of::<T>()
}

/// Reads the word at byte `$offset` of the calling thread's copy of the variable of the
/// accessor `$name` (`fast_thread_local!`'s word readers), `fs:`-relative: one load fewer than
/// through the reference (no `add` of the thread pointer).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[doc(hidden)]
macro_rules! read_word {
    ($name:ident, $ty:ty, $offset:ident) => {{
        let offset = $crate::tls::tls_offset!($name);
        let value: usize;
        // SAFETY: `offset` is the variable's offset from the thread pointer, which `fs:`
        // addresses from, so this loads the word at `$offset` of the calling thread's copy
        // (aligned and in bounds: the caller checks `word_fits`). Not `pure`: the word
        // changes over time; `readonly`: it only reads.
        unsafe {
            core::arch::asm!(
                "mov {value}, qword ptr fs:[{offset} + {word}]",
                offset = in(reg) offset,
                word = const $offset,
                value = lateout(reg) value,
                options(readonly, nostack, preserves_flags)
            );
        }
        value
    }};
}

/// The portable form: through the accessor's reference.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
#[doc(hidden)]
macro_rules! read_word {
    ($name:ident, $ty:ty, $offset:ident) => {
        // SAFETY: an aligned word inside the calling thread's copy (`word_fits`).
        unsafe {
            ($name() as *const $ty)
                .cast::<u8>()
                .add($offset)
                .cast::<usize>()
                .read()
        }
    };
}

/// `fast_thread_local!(pub(crate) fn NAME() -> TYPE;)` defines a per-thread `TYPE` (starting
/// as all zeros) and `NAME()`, which returns the calling thread's copy. A second line
/// `fn WORD<OFFSET>() -> usize;` also defines `WORD::<OFFSET>()`, which reads the word at byte
/// `OFFSET` of the calling thread's copy (aligned and in bounds, checked at compile time): on
/// x86-64 Linux in one load relative to the thread pointer.
macro_rules! fast_thread_local {
    ($(#[$attr:meta])* $vis:vis fn $name:ident() -> $ty:ty;
     $(#[$wattr:meta])* $wvis:vis fn $word:ident<OFFSET>() -> usize;) => {
        $crate::tls::thread_local_accessor!($(#[$attr])* $vis fn $name() -> $ty;);
        $(#[$wattr])*
        #[inline(always)]
        $wvis fn $word<const OFFSET: usize>() -> usize {
            const { assert!($crate::tls::word_fits::<$ty>(OFFSET)) };
            $crate::tls::read_word!($name, $ty, OFFSET)
        }
    };
    ($(#[$attr:meta])* $vis:vis fn $name:ident() -> $ty:ty;) => {
        $crate::tls::thread_local_accessor!($(#[$attr])* $vis fn $name() -> $ty;);
    };
}

/// The x86-64 Linux accessor: initial-exec TLS (see the module notes).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[doc(hidden)]
macro_rules! thread_local_accessor {
    ($(#[$attr:meta])* $vis:vis fn $name:ident() -> $ty:ty;) => {
        // The variable's symbol: the anchor's mangled name (unique to this copy of the crate,
        // even when two are linked, as in its own tests) and the function's name.
        core::arch::global_asm!(
            concat!(".pushsection .tbss.{anchor}.", stringify!($name), ",\"awT\",@nobits"),
            ".p2align {align}",
            concat!(".globl {anchor}.", stringify!($name)),
            concat!(".hidden {anchor}.", stringify!($name)),
            concat!(".type {anchor}.", stringify!($name), ", @object"),
            concat!(".size {anchor}.", stringify!($name), ", {size}"),
            concat!("{anchor}.", stringify!($name), ":"),
            ".zero {size}",
            ".popsection",
            anchor = sym $crate::tls::SYMBOL_ANCHOR,
            size = const core::mem::size_of::<$ty>(),
            align = const core::mem::align_of::<$ty>().trailing_zeros(),
        );
        $(#[$attr])*
        #[inline(always)]
        $vis fn $name() -> &'static $ty {
            const fn zero_init<T: $crate::tls::ZeroInit>() {}
            const _: () = zero_init::<$ty>();
            let mut address = $crate::tls::tls_offset!($name);
            // SAFETY: the variable is defined just above in `.tbss` with this type's size and
            // alignment; `address` holds its offset from the thread pointer, which `fs:[0]`
            // holds on x86-64 Linux, so the sum is the calling thread's copy. The load reads
            // memory that never changes for a thread (hence `pure, readonly`).
            unsafe {
                core::arch::asm!(
                    "add {address}, qword ptr fs:[0]",
                    address = inout(reg) address,
                    options(pure, readonly, nostack, preserves_flags)
                );
            }
            // SAFETY: the copy lives as long as the thread and starts all-zero, a valid value
            // (`ZeroInit`); the type's `Cell`s keep the reference on this thread.
            unsafe { &*(address as *const $ty) }
        }
    };
}

/// The portable form: `thread_local!` with a zeroed initial value.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
#[doc(hidden)]
macro_rules! thread_local_accessor {
    ($(#[$attr:meta])* $vis:vis fn $name:ident() -> $ty:ty;) => {
        $(#[$attr])*
        #[inline(always)]
        $vis fn $name() -> &'static $ty {
            const fn zero_init<T: $crate::tls::ZeroInit>() {}
            const _: () = zero_init::<$ty>();
            std::thread_local! {
                // SAFETY: `ZeroInit`: all-zero bytes are a valid value.
                static SLOT: $ty = const { unsafe { core::mem::zeroed() } };
            }
            // SAFETY: the value has no destructor, so it stays valid for the thread's whole
            // life; the reference stays on this thread (module invariants).
            SLOT.with(|slot| unsafe { &*(slot as *const $ty) })
        }
    };
}

pub(crate) use {fast_thread_local, read_word, thread_local_accessor};

/// Where the calling thread's copy of a thread-local lies: `(address, bytes)`. For lists of
/// the library's own per-thread state, which a leak scan must not take for the program's
/// roots (see `leakcheck::roots::OwnState`).
pub(crate) fn extent<T>(value: &T) -> (usize, usize) {
    (value as *const T as usize, core::mem::size_of::<T>())
}

#[cfg(test)]
mod tests {
    use core::cell::Cell;

    #[repr(C)]
    struct Counter {
        count: Cell<usize>,
    }

    // SAFETY: a zero count is valid.
    unsafe impl super::ZeroInit for Counter {}

    fast_thread_local!(
        fn counter() -> Counter;
        fn counter_word<OFFSET>() -> usize;
    );

    fn bump() -> usize {
        let counter = counter();
        counter.count.set(counter.count.get() + 1);
        counter.count.get()
    }

    #[test]
    fn each_thread_has_its_own_zeroed_copy() {
        let here = bump();
        assert_eq!(bump(), here + 1);
        std::thread::spawn(|| {
            assert_eq!(bump(), 1);
            assert_eq!(bump(), 2);
        })
        .join()
        .unwrap();
        assert_eq!(bump(), here + 2);
    }

    #[test]
    fn the_word_reader_reads_the_calling_threads_copy() {
        let here = bump();
        assert_eq!(counter_word::<0>(), here);
        std::thread::spawn(|| {
            assert_eq!(counter_word::<0>(), 0);
            bump();
            assert_eq!(counter_word::<0>(), 1);
        })
        .join()
        .unwrap();
        assert_eq!(counter_word::<0>(), here);
    }
}
