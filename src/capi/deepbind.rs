//! `dlopen` with `RTLD_DEEPBIND`: the loaded objects' references to the functions this library
//! interposes are bound to this library, as they are for every other object.
//!
//! # Design
//! A library loaded with `RTLD_DEEPBIND` (PHP loads its extensions so) looks up symbols in
//! itself and its own dependencies before the global scope, so its `malloc`, `free`,
//! `memcpy`, `execve`... are libc's, not the preloaded ones: its blocks are libc's (unchecked),
//! and a block of gpa's that it frees goes to libc's `free`, which aborts ("munmap_chunk():
//! invalid pointer"; `php` with its `pdo` extension did). Valgrind replaces libc's functions
//! themselves, so such a library's calls reach it whatever the lookup order.
//!
//! The exported `dlopen` (a naked stub in `libgpa_preload.so`) calls [`plan`] first. Without
//! `RTLD_DEEPBIND` (nearly every call) `plan` returns `false` and the stub jumps to libc's
//! `dlopen` with the caller's return address in place: glibc takes the caller from it (its
//! namespace, its `RPATH`/`RUNPATH` for a bare name, `$ORIGIN`), so an interposed `dlopen` that
//! called libc's from its own frame would load other files. With `RTLD_DEEPBIND`, a path
//! naming the file (a `/`, no `$`) and a caller in the base namespace, the caller cannot change
//! what is loaded: `plan` calls libc's `dlopen` itself, then rewrites, in every object that
//! call loaded, each relocation (`GLOB_DAT`, `JUMP_SLOT`, `64`) of a symbol that this library
//! defines and whose deep-bound definition is the one this library interposes (`dlsym` on the
//! handle gives the same address as `dlsym(RTLD_NEXT)` from here): it now holds this library's
//! definition, as the global scope would have given. Other symbols keep the deep binding the
//! program asked for, and a library that brings its own `malloc` keeps it (Valgrind's
//! redirection does not replace that either). Pages of `PT_GNU_RELRO` are made writable for the
//! write and read-only again.
//!
//! # Limits
//! * The rewrite runs after libc's `dlopen` returns, so the loaded objects' constructors still
//!   call libc's functions: their blocks are libc's, handed back to libc when freed
//!   ([`super::foreign`]) and not part of the leak report.
//! * A bare name (no `/`), a `$` in the name or a caller in another namespace (`dlmopen`) is
//!   loaded as before, unchanged: the deep binding stays (the caller decides the search).
//! * x86-64 only (the stub is x86-64 code).

use core::ffi::{c_char, c_int, c_void, CStr};
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::gpa::InsideAllocator;

/// libc's `dlopen`, resolved by the first [`plan`]; the exported stub jumps through it.
pub static REAL_DLOPEN: AtomicUsize = AtomicUsize::new(0);

type DlopenFn = unsafe extern "C" fn(*const c_char, c_int) -> *mut c_void;

/// An entry of a dynamic section (`Elf64_Dyn`).
#[repr(C)]
struct Dyn {
    d_tag: i64,
    d_un: u64,
}

/// A relocation with addend (`Elf64_Rela`).
#[repr(C)]
struct Rela {
    r_offset: u64,
    r_info: u64,
    r_addend: i64,
}

const DT_NULL: i64 = 0;
const DT_PLTRELSZ: i64 = 2;
const DT_STRTAB: i64 = 5;
const DT_SYMTAB: i64 = 6;
const DT_RELA: i64 = 7;
const DT_RELASZ: i64 = 8;
const DT_JMPREL: i64 = 23;
const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_GNU_RELRO: u32 = 0x6474_e552;
const PF_W: u32 = 2;
const R_X86_64_64: u32 = 1;
const R_X86_64_GLOB_DAT: u32 = 6;
const R_X86_64_JUMP_SLOT: u32 = 7;
/// glibc's `RTLD_DL_LINKMAP` for `dladdr1`.
const RTLD_DL_LINKMAP: c_int = 2;
/// glibc's `RTLD_DI_LMID` for `dlinfo`.
const RTLD_DI_LMID: c_int = 1;

extern "C" {
    fn dladdr1(
        address: *const c_void,
        info: *mut libc::Dl_info,
        extra: *mut *mut c_void,
        flags: c_int,
    ) -> c_int;
}

/// libc's `dlopen` (resolved once).
fn real_dlopen() -> usize {
    let known = REAL_DLOPEN.load(Ordering::Acquire);
    if known != 0 {
        return known;
    }
    // SAFETY: `dlsym` with `RTLD_NEXT` and a NUL-terminated name: the definition after this
    // library's, libc's.
    let found = unsafe { libc::dlsym(libc::RTLD_NEXT, c"dlopen".as_ptr()) } as usize;
    REAL_DLOPEN.store(found, Ordering::Release);
    found
}

/// Called by the exported `dlopen` stub with its arguments and the caller's return address.
/// Returns `false` when the stub is to jump to libc's `dlopen` (then [`REAL_DLOPEN`] is set),
/// `true` when the call was made here, its result in `*out` (null, the load failed, when
/// libc's `dlopen` cannot be found).
///
/// # Safety
/// `file` and `mode` are as for `dlopen`; `out` is writable.
pub unsafe extern "C" fn plan(
    file: *const c_char,
    mode: c_int,
    caller: *const c_void,
    out: *mut *mut c_void,
) -> bool {
    let real = real_dlopen();
    if real == 0 {
        // No libc `dlopen` to jump to (never seen with glibc): the load fails, as a `dlopen`
        // that finds nothing does, rather than a jump to address 0.
        // SAFETY: `out` is writable (the stub's stack slot).
        unsafe { out.write(core::ptr::null_mut()) };
        return true;
    }
    if mode & libc::RTLD_DEEPBIND == 0 || file.is_null() {
        return false;
    }
    // SAFETY: a non-null `dlopen` file name is a NUL-terminated string.
    let name = unsafe { CStr::from_ptr(file) }.to_bytes();
    if !name.contains(&b'/') || name.contains(&b'$') || !in_base_namespace(caller) {
        return false;
    }
    // gpa's own blocks (the list of objects, `dlerror`'s messages) are made inside the
    // allocator; the loader's blocks for the program's `dlopen` are the program's, as without
    // the rewrite (its `link_map` records stay reachable).
    let inside = InsideAllocator::enter();
    let before = loaded_bases();
    drop(inside);
    // SAFETY: libc's `dlopen`, called with the program's arguments.
    let handle = unsafe { core::mem::transmute::<usize, DlopenFn>(real)(file, mode) };
    let _inside = InsideAllocator::enter();
    if !handle.is_null() {
        // SAFETY: a handle libc's `dlopen` just returned.
        unsafe { rebind(handle, &before) };
    }
    drop(before);
    // SAFETY: `out` is writable (the stub's stack slot).
    unsafe { out.write(handle) };
    true
}

/// Whether `caller` lies in an object of the base namespace (or in none, which glibc takes for
/// the main program's).
fn in_base_namespace(caller: *const c_void) -> bool {
    // SAFETY: zeroed `Dl_info` is a valid out-parameter.
    let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
    let mut map: *mut c_void = core::ptr::null_mut();
    // SAFETY: `dladdr1` with `RTLD_DL_LINKMAP` writes `info` and one pointer.
    if unsafe { dladdr1(caller, &mut info, &mut map, RTLD_DL_LINKMAP) } == 0 || map.is_null() {
        return true;
    }
    let mut namespace: libc::c_long = 0;
    // SAFETY: glibc's handles are its `link_map` records; `RTLD_DI_LMID` writes one `Lmid_t`.
    let known = unsafe {
        libc::dlinfo(
            map,
            RTLD_DI_LMID,
            (&mut namespace as *mut libc::c_long).cast(),
        )
    };
    known != 0 || namespace == 0
}

/// The load biases of the objects loaded now.
fn loaded_bases() -> Vec<usize> {
    unsafe extern "C" fn each(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: `data` is the `Vec` passed below; `info` is the loader's, valid for the call.
        unsafe { (*data.cast::<Vec<usize>>()).push((*info).dlpi_addr as usize) };
        0
    }
    let mut bases = Vec::with_capacity(64);
    // SAFETY: the callback only reads `info` and pushes to the `Vec` it is given.
    unsafe { libc::dl_iterate_phdr(Some(each), (&mut bases as *mut Vec<usize>).cast()) };
    bases
}

/// One loaded object: its bias and program headers.
#[derive(Clone, Copy)]
struct Object {
    base: usize,
    headers: *const libc::Elf64_Phdr,
    count: usize,
}

/// Rewrites the relocations of the objects not in `before` (see the module's design).
///
/// # Safety
/// `handle` is a live `dlopen` handle.
unsafe fn rebind(handle: *mut c_void, before: &[usize]) {
    unsafe extern "C" fn each(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: `data` is the pair passed below; `info` is the loader's, valid for the call.
        unsafe {
            let (before, found) = &mut *data.cast::<(&[usize], Vec<Object>)>();
            let base = (*info).dlpi_addr as usize;
            if !before.contains(&base) {
                found.push(Object {
                    base,
                    headers: (*info).dlpi_phdr,
                    count: usize::from((*info).dlpi_phnum),
                });
            }
        }
        0
    }
    let mut pair: (&[usize], Vec<Object>) = (before, Vec::new());
    // SAFETY: the callback only reads `info` and pushes to the `Vec` it is given.
    unsafe {
        libc::dl_iterate_phdr(
            Some(each),
            (&mut pair as *mut (&[usize], Vec<Object>)).cast(),
        )
    };
    let own = own_base();
    for object in pair.1 {
        if object.base != own {
            // SAFETY: an object loaded by the `dlopen` that returned `handle`, still loaded.
            unsafe { rebind_object(handle, object, own) };
        }
    }
    // The failed `dlsym` lookups left an error message; the program's `dlerror` after a
    // successful `dlopen` is to return null.
    // SAFETY: `dlerror` takes no argument.
    unsafe { libc::dlerror() };
}

/// The load bias of this library.
fn own_base() -> usize {
    // SAFETY: zeroed `Dl_info` is a valid out-parameter; the address is this library's code.
    let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
    // SAFETY: `dladdr` writes `info`.
    unsafe { libc::dladdr(plan as *const c_void, &mut info) };
    info.dli_fbase as usize
}

/// The base of the object holding `address` (0 for none).
fn base_of(address: *const c_void) -> usize {
    // SAFETY: zeroed `Dl_info` is a valid out-parameter.
    let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
    // SAFETY: `dladdr` writes `info`.
    if unsafe { libc::dladdr(address, &mut info) } == 0 {
        return 0;
    }
    info.dli_fbase as usize
}

/// Rewrites `object`'s relocations of interposed symbols (see the module's design).
///
/// # Safety
/// `object` is loaded, its headers as the loader reported them; `handle` is live.
unsafe fn rebind_object(handle: *mut c_void, object: Object, own: usize) {
    // SAFETY: the loader's program headers of a loaded object.
    let headers = unsafe { core::slice::from_raw_parts(object.headers, object.count) };
    let Some(dynamic) = headers.iter().find(|header| header.p_type == PT_DYNAMIC) else {
        return;
    };
    let pointer = |value: u64| {
        let value = value as usize;
        // glibc relocates the pointers of `.dynamic` in place on x86-64; other loaders leave
        // them as link-time addresses.
        if value < object.base {
            value + object.base
        } else {
            value
        }
    };
    let (mut strtab, mut symtab, mut rela, mut rela_size, mut jmprel, mut jmprel_size) =
        (0, 0, 0, 0, 0, 0);
    let mut entry = (object.base + dynamic.p_vaddr as usize) as *const Dyn;
    loop {
        // SAFETY: the dynamic section of a loaded object, ended by `DT_NULL`.
        let (tag, value) = unsafe { ((*entry).d_tag, (*entry).d_un) };
        match tag {
            DT_NULL => break,
            DT_STRTAB => strtab = pointer(value),
            DT_SYMTAB => symtab = pointer(value),
            DT_RELA => rela = pointer(value),
            DT_RELASZ => rela_size = value as usize,
            DT_JMPREL => jmprel = pointer(value),
            DT_PLTRELSZ => jmprel_size = value as usize,
            _ => {}
        }
        // SAFETY: the next entry of the same section.
        entry = unsafe { entry.add(1) };
    }
    if strtab == 0 || symtab == 0 {
        return;
    }
    let own_handle = own_handle();
    for (table, size) in [(rela, rela_size), (jmprel, jmprel_size)] {
        if table == 0 {
            continue;
        }
        let count = size / core::mem::size_of::<Rela>();
        // SAFETY: the object's relocation table, `size` bytes.
        let relocations = unsafe { core::slice::from_raw_parts(table as *const Rela, count) };
        for relocation in relocations {
            let kind = (relocation.r_info & 0xffff_ffff) as u32;
            let index = (relocation.r_info >> 32) as usize;
            if index == 0 || !matches!(kind, R_X86_64_64 | R_X86_64_GLOB_DAT | R_X86_64_JUMP_SLOT) {
                continue;
            }
            // SAFETY: the symbol the relocation names, in the object's symbol table.
            let symbol = unsafe { &*(symtab as *const libc::Elf64_Sym).add(index) };
            if symbol.st_shndx != 0 {
                continue; // defined in the object itself
            }
            // SAFETY: a NUL-terminated name in the object's string table.
            let name = unsafe { (strtab as *const c_char).add(symbol.st_name as usize) };
            // SAFETY: `dlsym` with live handles and a NUL-terminated name.
            let (ours, deep, next) = unsafe {
                (
                    libc::dlsym(own_handle, name),
                    libc::dlsym(handle, name),
                    libc::dlsym(libc::RTLD_NEXT, name),
                )
            };
            if ours.is_null() || deep.is_null() || deep != next || ours == deep {
                continue;
            }
            if base_of(ours) != own {
                continue; // not this library's definition but a dependency's
            }
            let at = object.base + relocation.r_offset as usize;
            let value = if kind == R_X86_64_64 {
                (ours as usize).wrapping_add(relocation.r_addend as usize)
            } else {
                ours as usize
            };
            // SAFETY: `at` is a relocated word of the object (checked against its segments).
            unsafe { write_word(headers, object.base, at, value) };
        }
    }
}

/// This library's `dlopen` handle (its own definitions first).
fn own_handle() -> *mut c_void {
    // SAFETY: zeroed `Dl_info` is a valid out-parameter; the address is this library's code.
    let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
    // SAFETY: `dladdr` writes `info`.
    if unsafe { libc::dladdr(plan as *const c_void, &mut info) } == 0 {
        return core::ptr::null_mut();
    }
    // SAFETY: libc's `dlopen` of an object already loaded (`RTLD_NOLOAD` loads nothing).
    unsafe {
        core::mem::transmute::<usize, DlopenFn>(real_dlopen())(
            info.dli_fname,
            libc::RTLD_LAZY | libc::RTLD_NOLOAD,
        )
    }
}

/// Writes `value` at `at`, a word inside a writable segment of the object with these headers,
/// making a page the loader protected (`PT_GNU_RELRO`) writable for the write and read-only
/// again. Returns whether it wrote.
///
/// # Safety
/// `at` is a relocation target of the loaded object.
unsafe fn write_word(headers: &[libc::Elf64_Phdr], base: usize, at: usize, value: usize) -> bool {
    let inside = |header: &&libc::Elf64_Phdr| {
        let start = base + header.p_vaddr as usize;
        at >= start && at + 8 <= start + header.p_memsz as usize
    };
    let page_size = crate::os::page_size();
    let page = at & !(page_size - 1);
    // The loader makes read-only the whole pages of `PT_GNU_RELRO` only (its end rounded
    // down): a word in the last, partial page is still writable, and so is the rest of it.
    let protected = headers
        .iter()
        .filter(|h| h.p_type == PT_GNU_RELRO)
        .find(inside)
        .is_some_and(|h| {
            let end = (base + h.p_vaddr as usize + h.p_memsz as usize) & !(page_size - 1);
            page < end
        });
    let writable = headers
        .iter()
        .filter(|h| h.p_type == PT_LOAD && h.p_flags & PF_W != 0)
        .find(inside)
        .is_some();
    if !writable {
        return false;
    }
    let slot = at as *mut usize;
    // SAFETY: `at` is an aligned word of the object's data (a GOT entry or a pointer).
    if unsafe { slot.read() } == value {
        return false;
    }
    if protected {
        // SAFETY: the RELRO page holding `slot`, made writable for one write, then read-only
        // again (as the loader left it).
        unsafe {
            if libc::mprotect(
                page as *mut c_void,
                8 + at - page,
                libc::PROT_READ | libc::PROT_WRITE,
            ) != 0
            {
                return false;
            }
            slot.write(value);
            libc::mprotect(page as *mut c_void, 8 + at - page, libc::PROT_READ);
        }
    } else {
        // SAFETY: a writable word of the object's data.
        unsafe { slot.write(value) };
    }
    true
}
