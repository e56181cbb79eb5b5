//! Symbolization: return addresses to function, file and line, only when a report is made.
//!
//! # Design
//! Each address is first placed in its *module* (the executable or shared object it lies in):
//! the objects loaded now come from `dl_iterate_phdr` (re-read when the loader's load and
//! unload counters change); objects unloaded with `dlclose` are remembered by [`note_unload`],
//! which the C ABI calls before the real `dlclose`, together with the module epoch that ended
//! there (`trace::next_module_epoch`). A trace captured in epoch `e` takes an address from the
//! first object unloaded at epoch `e` or later that covered it, else from the objects loaded
//! now: a library loaded later at the same address never takes over older frames. Every frame
//! gets its module's path and its offset in it (`address - load bias`, what `addr2line -e
//! module` takes), also when nothing else is known, so a trace can be symbolized later.
//!
//! The module's file is then read, once per file (memory-mapped, kept for the process):
//! DWARF gives inlined frames, files and lines (the `addr2line` crate); the symbol tables
//! (`.symtab`, else `.dynsym`) give names where DWARF has none, and only when the address lies
//! inside the symbol's size, so a stripped library's local function shows as `???` with its
//! module and offset rather than under a neighbour's name. An unloaded object is read from its
//! path only if its GNU build id still matches the one recorded at the unload. As in Valgrind,
//! the function the code lies in is named from the symbol table when it has a symbol there
//! (DWARF names inlined calls only): DWARF gives lambdas and functions in anonymous namespaces
//! short names only (`operator()`), and compiler clones none of their own
//! (`f(int) [clone .constprop.0]`). C++ and Rust names are demangled (`pair()`, not
//! `_Z4pairv`; Rust without the hash); C++ names by libstdc++'s own demangler when the process
//! has libstdc++ loaded, the one Valgrind and `c++filt` use (`cxxabi`), else by
//! `cpp_demangle`.
//!
//! All of this allocates, so the GPA calls it only outside its locks and with the thread marked
//! as "internal", which routes those allocations to the internal heap when a GPA is the global
//! allocator. Leading frames that belong to the allocator itself or to the allocation plumbing
//! (std, `alloc` and `allocator_api2` in Rust; `operator new` and the C++ standard library's
//! allocator and container internals) are dropped here, so that a trace starts at the user's
//! code and the configured depth counts only user frames.

mod cxxabi;
mod modules;
mod objects;

pub use objects::enter_crash_report;
#[cfg(test)]
use objects::CRASH_WAIT;

use super::Frame;
use crate::trace::{self, TraceId};

/// Symbol prefixes (after an optional leading `<`) of frames that are allocation plumbing.
const PLUMBING_PREFIXES: &[&str] = &[
    "gpa::gpa::",
    "gpa::interface::",
    "gpa::trace::",
    "gpa::allocators::",
    "gpa::testing::",
    "gpa::report::",
    "gpa::capi",
    "gpa_capi::",
    "alloc::",
    "allocator_api2::",
    "core::",
    "std::alloc::",
    "hashbrown::",
    "std::collections::",
    "__rust",
    "__rdl",
    "__rg_",
    "backtrace::",
];

/// Frames where a program's own code ends and the runtime's start-up begins: a trace is cut
/// there, so that it ends at `main` (or at the test function).
const RUNTIME_BOUNDARIES: &[&str] = &[
    "std::sys::backtrace::__rust_begin_short_backtrace",
    "test::__rust_begin_short_backtrace",
    "std::rt::lang_start",
    "std::thread::Builder::spawn_unchecked_",
    "__libc_start_call_main",
    "start_thread",
];

/// Whether `function` is where a program's own frames end and the runtime's start-up begins
/// (`__libc_start_call_main`, `start_thread`, Rust's `lang_start`...).
pub fn is_runtime_boundary(function: &str) -> bool {
    RUNTIME_BOUNDARIES
        .iter()
        .any(|prefix| function.starts_with(prefix))
}

fn is_call_shim(function: &str) -> bool {
    function.starts_with("core::ops::function::")
        || function.starts_with("<") && function.contains("as core::ops::function::FnOnce")
}

/// The C allocation entry points of `libgpa_preload.so` (exact names: a user's `malloc_foo`
/// is not plumbing).
const C_ENTRY_POINTS: &[&str] = &[
    "malloc",
    "free",
    "calloc",
    "realloc",
    "reallocarray",
    "posix_memalign",
    "aligned_alloc",
    "memalign",
    "valloc",
    "pvalloc",
    "free_sized",
    "free_aligned_sized",
];

fn is_plumbing(function: &str) -> bool {
    // Trait impls print as `<Type as Trait>::method`, also `<&Type ...` or `<&mut Type ...`.
    let name = function.trim_start_matches(['<', '&']);
    let name = name.strip_prefix("mut ").unwrap_or(name);
    PLUMBING_PREFIXES
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || C_ENTRY_POINTS.contains(&function)
        || implements_allocation_trait(function)
        || is_cxx_plumbing(function)
}

/// C++ namespaces whose functions are allocation plumbing when they lead a trace: the
/// standard library's allocators, containers and strings (`std::__new_allocator`,
/// `std::allocator_traits`, `std::vector<...>::_M_realloc_insert`...), and libstdc++'s
/// extensions (`__gnu_cxx::new_allocator`).
const CXX_PLUMBING_NAMESPACES: &[&str] = &["std::", "__gnu_cxx::"];

/// `operator new`/`operator delete` (gpa's own exports and the C++ runtime's), and leading
/// frames of the C++ standard library.
fn is_cxx_plumbing(function: &str) -> bool {
    const RUNTIME: &[&str] = &[
        "operator new",
        "operator delete",
        "__cxa_allocate_exception",
        "__cxa_allocate_dependent_exception",
    ];
    if RUNTIME.iter().any(|prefix| function.starts_with(prefix)) {
        return true;
    }
    cxx_qualified_name(function).is_some_and(|name| {
        CXX_PLUMBING_NAMESPACES
            .iter()
            .any(|namespace| name.starts_with(namespace))
    })
}

/// The qualified name of a demangled C++ function (`std::vector<int>::push_back` in
/// `void std::vector<int>::push_back(int const&)`): `None` for names without a parameter list
/// (C and Rust functions).
fn cxx_qualified_name(function: &str) -> Option<&str> {
    let mut depth = 0i32;
    let mut last_space = None;
    for (index, character) in function.char_indices() {
        match character {
            '<' => depth += 1,
            '>' => depth -= 1,
            ' ' if depth == 0 => last_space = Some(index),
            '(' if depth == 0 => {
                let start = last_space.map_or(0, |space| space + 1);
                return Some(&function[start..index]);
            }
            _ => {}
        }
    }
    None
}

/// `<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem` and the like: std's and
/// allocator_api2's allocation traits implemented for a user's or a primitive type are still
/// plumbing. (Other traits, such as `Display`, are the user's code.)
fn implements_allocation_trait(function: &str) -> bool {
    const TRAITS: &[&str] = &["alloc::", "core::alloc::", "allocator_api2::"];
    function.starts_with('<')
        && function
            .split_once(" as ")
            .is_some_and(|(_, tail)| TRAITS.iter().any(|prefix| tail.starts_with(prefix)))
}

/// Resolves one return address into its frames (more than one where calls were inlined),
/// innermost first, as of the objects loaded now.
pub fn resolve_address(address: usize) -> std::vec::Vec<Frame> {
    resolve_in_epoch(address, trace::module_epoch())
}

/// Resolves an address of a trace captured in module epoch `epoch`.
fn resolve_in_epoch(address: usize, epoch: u32) -> std::vec::Vec<Frame> {
    with_resolved(address, epoch, |resolved| resolved.frames.clone())
}

/// An address's frames, whether each is plumbing, and whether they all are.
struct Resolved {
    frames: std::vec::Vec<Frame>,
    /// Per frame: [`is_plumbing`] of its qualified name (an inlined frame is shown by its
    /// name in the source, `allocate`, and told by its linkage name,
    /// `std::__new_allocator<int>::allocate(...)`), or in gpa's library.
    each_plumbing: std::vec::Vec<bool>,
    plumbing: bool,
}

/// Resolves an address of a trace captured in module epoch `epoch` into its frames, each with
/// whether it is plumbing (see [`Resolved::each_plumbing`]).
fn resolve_classified(address: usize, epoch: u32) -> std::vec::Vec<(Frame, bool)> {
    with_resolved(address, epoch, |resolved| {
        resolved
            .frames
            .iter()
            .cloned()
            .zip(resolved.each_plumbing.iter().copied())
            .collect()
    })
}

/// Calls `with` on the resolution of `address` (captured in module epoch `epoch`). Addresses
/// found in a module are resolved once per process (traces share most of their frames: a
/// profile's sites, a report's leaks from one function); an address in no module is looked up
/// again each time, since a library loaded later may cover it.
fn with_resolved<T>(address: usize, epoch: u32, with: impl FnOnce(&Resolved) -> T) -> T {
    type Cache = super::FixedHashMap<(usize, u32), Resolved>;
    static CACHE: std::sync::Mutex<Option<Cache>> = std::sync::Mutex::new(None);
    let lock = || CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(resolved) = lock()
        .get_or_insert_with(Cache::default)
        .get(&(address, epoch))
    {
        return with(resolved);
    }
    let (frames, each_plumbing): (std::vec::Vec<Frame>, std::vec::Vec<bool>) =
        resolve_uncached(address, epoch).into_iter().unzip();
    let resolved = Resolved {
        plumbing: each_plumbing.iter().all(|&plumbing| plumbing),
        each_plumbing,
        frames,
    };
    let answer = with(&resolved);
    if resolved
        .frames
        .first()
        .is_some_and(|frame| frame.module.is_some())
    {
        lock()
            .get_or_insert_with(Cache::default)
            .insert((address, epoch), resolved);
    }
    answer
}

/// The frames of `address`, each with whether it is plumbing (by its qualified name).
fn resolve_uncached(address: usize, epoch: u32) -> std::vec::Vec<(Frame, bool)> {
    let Some(module) = modules::module_for(address, epoch) else {
        return std::vec![(
            Frame {
                address,
                function: None,
                file: None,
                line: None,
                module: None,
                module_offset: None,
            },
            false,
        )];
    };
    let offset = address.wrapping_sub(module.bias);
    // A return address: the call instruction is the byte before it. The frame's offset names
    // that byte (as Valgrind's frames do), so that `addr2line -e MODULE OFFSET` finds the
    // call's line even when the next instruction starts another line or function.
    let call_offset = offset.saturating_sub(1);
    let frame = |function: Option<String>, file: Option<String>, line: Option<u32>| Frame {
        address,
        function,
        file,
        line,
        module: Some(module.path.clone()),
        module_offset: Some(call_offset),
    };
    // Each frame with the name plumbing is recognised by: the full (qualified) name, where
    // the frame itself may carry DWARF's short one.
    let mut frames: std::vec::Vec<(Frame, Option<String>)> = std::vec::Vec::new();
    let object = objects::object(&module.path, module.build_id.as_deref());
    if let Some(object) = object.as_ref().and_then(|object| objects::lock(object)) {
        // A return address: look up the call instruction before it.
        let probe = call_offset as u64;
        for found in object.frames(probe) {
            frames.push((
                frame(found.function, found.file, found.line),
                found.qualified,
            ));
        }
        // The function the code lies in (the last frame; those before it were inlined into it)
        // is named from the symbol table, as Valgrind names it: DWARF gives some functions only
        // a short name (`operator()` of a lambda, functions in an anonymous namespace) and
        // none of a compiler's clones (`[clone .constprop.0]`, `[clone .cold]`).
        if let Some(name) = object.symbol(probe) {
            match frames.last_mut() {
                Some((outermost, qualified)) => {
                    outermost.function = Some(name.clone());
                    *qualified = Some(name);
                }
                None => frames.push((frame(Some(name.clone()), None, None), Some(name))),
            }
        }
    }
    if frames.is_empty() {
        frames.push((frame(None, None, None), None));
    }
    frames
        .into_iter()
        .map(|(frame, qualified)| {
            let plumbing = qualified.as_deref().is_some_and(is_plumbing) || in_gpa(&frame);
            (frame, plumbing)
        })
        .collect()
}

/// The demangled names of the functions at `address` as the objects were loaded in `epoch`
/// (more than one where calls were inlined), from a process-wide cache: leak filters ask about
/// the same few allocation sites again and again. The caller holds the re-entrancy guard of a
/// GPA that is the global allocator (the cache and symbolization allocate).
fn functions_at(address: usize, epoch: u32) -> std::sync::Arc<[String]> {
    use std::sync::{Arc, Mutex};
    type Cache = super::FixedHashMap<(usize, u32), Arc<[String]>>;
    static CACHE: Mutex<Option<Cache>> = Mutex::new(None);
    let cached = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .as_ref()
        .and_then(|cache| cache.get(&(address, epoch)).cloned());
    if let Some(names) = cached {
        return names;
    }
    let names: Arc<[String]> = resolve_in_epoch(address, epoch)
        .into_iter()
        .filter_map(|frame| frame.function)
        .collect();
    CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get_or_insert_with(Cache::default)
        .insert((address, epoch), names.clone());
    names
}

/// Whether a function of the trace `id` (any captured frame, plumbing included) satisfies
/// `matches`. See [`functions_at`] for the caller's duties.
pub fn trace_mentions(id: TraceId, matches: impl Fn(&str) -> bool) -> bool {
    let epoch = trace::epoch_of(id);
    trace::frames_of(id).addresses().iter().any(|&address| {
        functions_at(address, epoch)
            .iter()
            .any(|name| matches(name))
    })
}

/// The innermost function of a trace outside gpa's preload library (`None` when unnamed or
/// when the trace has none): tells, say, whether `malloc` was called by another copy of
/// `operator new`.
pub fn first_caller(id: TraceId) -> Option<String> {
    let raw = trace::frames_of(id);
    let epoch = trace::epoch_of(id);
    raw.addresses()
        .iter()
        .flat_map(|&address| resolve_in_epoch(address, epoch))
        .find(|frame| !in_gpa(frame))
        .and_then(|frame| frame.function)
}

/// The function that the innermost frame outside gpa's preload library called, decoded from
/// its call instruction (x86-64: a direct `call`, a `call` through the GOT, or a `call` to a
/// PLT stub): the caller of a function that tail-called gpa's entry point names that
/// function (`operator delete` ends in `jmp free`). `None` when it cannot be told, or when an
/// object was unloaded since the trace was captured (its code may be gone).
pub fn called_function(id: TraceId) -> Option<String> {
    if trace::epoch_of(id) != trace::module_epoch() {
        return None;
    }
    let raw = trace::frames_of(id);
    let &return_address = raw.addresses().iter().find(|&&address| {
        resolve_in_epoch(address, trace::module_epoch())
            .first()
            .is_some_and(|frame| !in_gpa(frame) && frame.module.is_some())
    })?;
    let target = call_target(return_address)?;
    // `resolve_address` looks up the byte before a return address: ask for the target's.
    resolve_address(target + 1)
        .into_iter()
        .last()
        .and_then(|frame| frame.function)
}

/// Where the call instruction before `return_address` goes (following one PLT stub).
#[cfg(target_arch = "x86_64")]
fn call_target(return_address: usize) -> Option<usize> {
    let code = |address: usize, len: usize| -> Option<std::vec::Vec<u8>> {
        let module = modules::module_for(address, trace::module_epoch())?;
        let end = address.checked_add(len)?;
        let inside = module
            .ranges
            .iter()
            .any(|&(start, stop)| start <= address && end <= stop);
        // SAFETY: `[address, end)` lies in a segment of an object loaded now (code and data
        // segments are mapped readable), checked just above.
        inside.then(|| unsafe { core::slice::from_raw_parts(address as *const u8, len) }.to_vec())
    };
    let word = |address: usize| -> Option<usize> {
        Some(usize::from_ne_bytes(code(address, 8)?.try_into().ok()?))
    };
    let displacement = |bytes: &[u8]| i32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let before = code(return_address.checked_sub(6)?, 6)?;
    let target = if before[1] == 0xE8 {
        // call rel32
        return_address.wrapping_add_signed(displacement(&before[2..]) as isize)
    } else if before[..2] == [0xFF, 0x15] {
        // call *disp32(%rip): through a GOT slot
        word(return_address.wrapping_add_signed(displacement(&before[2..]) as isize))?
    } else {
        return None;
    };
    // A PLT stub: [endbr64] [bnd] jmp *disp32(%rip).
    let mut stub = target;
    let mut bytes = code(stub, 11)?;
    if bytes[..4] == [0xF3, 0x0F, 0x1E, 0xFA] {
        stub += 4;
        bytes.drain(..4);
    }
    if bytes[0] == 0xF2 {
        stub += 1;
        bytes.remove(0);
    }
    if bytes[..2] == [0xFF, 0x25] {
        let next = stub + 6;
        return word(next.wrapping_add_signed(displacement(&bytes[2..]) as isize));
    }
    Some(target)
}

#[cfg(not(target_arch = "x86_64"))]
fn call_target(_: usize) -> Option<usize> {
    None
}

/// Opens the symbols and debug information of every object loaded now, and remembers the
/// loaded objects with the executable's path, for a process about to change its root
/// (`chroot`): afterwards their paths may lead nowhere (a jail holds none of the program's
/// files, nor `/proc`), and the report at its end could name no frame; Valgrind reads them
/// as objects load. Costs what symbolizing a frame in each object costs (each object's file
/// mapped and its DWARF indexed), once per process; objects loaded after are read when
/// their frames are symbolized, as usual (from inside the new root). The caller holds the
/// re-entrancy guard of a GPA that is the global allocator (this allocates).
pub fn open_loaded_objects() {
    for module in modules::loaded_modules() {
        if !module.path.is_empty() {
            objects::object(&module.path, module.build_id.as_deref());
        }
    }
    // Fills the list of loaded objects while the executable's path can still be read.
    modules::module_for(0, trace::module_epoch());
}

/// Holds the symbolizer's lists (the modules unloaded and loaded, the object files opened)
/// until the value is dropped, each taken when it comes free within `patience`: for the exit
/// scan, which stops the other threads for good and then symbolizes its report. A thread
/// stopped while it held one (a thread in `dlclose` records the object it unloads,
/// `note_unload`, with the unloaded list's lock held) kept the report waiting for ever
/// (`exit_threads_busy.c dlopen`, lifecycle.md item 25). Taken before the dynamic loader's
/// lock, in the order `module_for` takes them (the loaded list, then the loader's lock).
pub fn hold_lists(patience: std::time::Duration) -> impl Sized {
    (
        modules::hold_modules(patience),
        objects::hold_objects(patience),
    )
}

/// Records that the object loaded at `bias` is about to be unloaded (`dlclose`), so that the
/// addresses captured in it keep naming it. Cheap: no symbolization happens here.
pub fn note_unload(bias: usize, name: &str) {
    modules::note_unload(bias, name);
}

/// Demangles a C++ or Rust symbol (Rust without the hash); other names are returned as they
/// are. C++ names are read by libstdc++'s own demangler when the process has libstdc++ loaded
/// (it is the one Valgrind and `c++filt` use: [`cxxabi`]), else by `cpp_demangle`, which
/// fails on some names and drops parameters of others. The crash report never calls
/// libstdc++'s (it allocates): there, C++ names come from `cpp_demangle` only.
pub fn demangle(name: &str) -> String {
    addr2line::demangle(name, gimli::DW_LANG_Rust)
        .or_else(|| {
            // Only `_Z...` is a mangled C++ name: cpp_demangle also accepts a bare type code,
            // and would name C functions `f`, `g`, `i` "float", "__float128", "int".
            name.starts_with("_Z").then_some(())?;
            cxxabi::demangle(name).or_else(|| addr2line::demangle(name, gimli::DW_LANG_C_plus_plus))
        })
        .unwrap_or_else(|| name.to_string())
}

impl TraceId {
    /// The symbolized frames of this trace, innermost first, without the allocator's own
    /// frames and the allocation plumbing of `std`, `alloc` and `allocator_api2`; at most
    /// `depth` of them (`0`: all). Symbolizing reads debug info: call it outside the allocation
    /// path (an [`Observer`](crate::observer::Observer) stores the id and resolves it later).
    pub fn frames(self, depth: usize) -> std::vec::Vec<Frame> {
        symbolize(self, depth)
    }
}

/// Symbolizes an interned trace, drops leading plumbing frames and keeps `depth` frames
/// (`depth == 0` keeps all).
pub fn symbolize(id: TraceId, depth: usize) -> std::vec::Vec<Frame> {
    symbolize_from(id, depth, true)
}

/// As [`symbolize`], keeping the allocator's own frames at the start (for an internal error,
/// where they are the point).
pub fn symbolize_all(id: TraceId, depth: usize) -> std::vec::Vec<Frame> {
    symbolize_from(id, depth, false)
}

fn symbolize_from(id: TraceId, depth: usize, skip_plumbing: bool) -> std::vec::Vec<Frame> {
    let raw = trace::frames_of(id);
    let mut frames = std::vec::Vec::new();
    let mut in_plumbing = skip_plumbing;
    let epoch = trace::epoch_of(id);
    for &address in raw.addresses() {
        if skip_plumbing && in_gpa_address(address, epoch) {
            // Dropped in any case: spare loading gpa's own debug information. Past the
            // leading plumbing too, a frame of gpa's between the program's is not the
            // program's, and Valgrind's stack has none there: gpa's checking functions and
            // trampolines between a C library function and its caller (`strdup` -> glibc's
            // `__strdup` -> `malloc`, `asprintf` -> glibc's `__vasprintf_internal`: Valgrind
            // goes from glibc's function straight to the program, `by strdup (strdup.c:42)`,
            // `by main`), the wrapper a `clone` child's function runs in
            // (`capi::process::clone_child`).
            continue;
        }
        let mut outermost = false;
        for (frame, plumbing) in resolve_classified(address, epoch) {
            if in_plumbing && plumbing {
                continue;
            }
            in_plumbing = false;
            outermost |= frame
                .function
                .as_deref()
                .is_some_and(|name| name == "main" || is_runtime_boundary(name));
            frames.push(frame);
        }
        if outermost {
            // Nothing below `main` or the runtime's start-up frame is shown: do not read the
            // debug information of the C start-up code.
            break;
        }
    }
    if frames.is_empty() {
        // Everything looked like plumbing: the captured frames ended before the caller's
        // code (a deep chain of C++ library templates, as under `std::make_shared`), or this
        // is a test inside this crate. Keep the raw stack, without the preload library's own
        // frames (Valgrind shows such a stack from the library's allocator call down).
        let raw_frames = || {
            raw.addresses()
                .iter()
                .flat_map(|&a| resolve_in_epoch(a, epoch))
        };
        frames = raw_frames().filter(|frame| !in_gpa(frame)).collect();
        if frames.is_empty() {
            frames = raw_frames().collect();
        }
    }
    if let Some(end) = frames
        .iter()
        .position(|frame| frame.function.as_deref().is_some_and(is_runtime_boundary))
    {
        frames.truncate(end);
        while frames.len() > 1
            && frames
                .last()
                .and_then(|f| f.function.as_deref())
                .is_some_and(is_call_shim)
        {
            frames.pop();
        }
    }
    // Without debug information for libc, its start-up frames have no names: a trace of a C
    // program ends at `main` all the same.
    if let Some(main) = frames
        .iter()
        .position(|frame| frame.function.as_deref() == Some("main"))
    {
        if frames
            .get(main + 1)
            .is_some_and(|next| in_module(next, "libc.so"))
        {
            frames.truncate(main + 1);
        }
    }
    if depth != 0 {
        frames.truncate(frames_at_addresses(&frames, depth));
    }
    frames
}

/// How many of `frames` belong to their first `depth` code addresses. The depth counts
/// addresses, as Valgrind's `--num-callers` does: the functions inlined at one address all
/// come with it. (Counting each inlined function as a frame cut Rust traces short, where std
/// inlines two or three functions at most calls: a thread's DTV, allocated 8 addresses below
/// the program's `thread::spawn`, was reported without the program's frame.)
fn frames_at_addresses(frames: &[Frame], depth: usize) -> usize {
    let mut addresses = 0;
    let mut last = None;
    frames
        .iter()
        .position(|frame| {
            if last != Some(frame.address) {
                last = Some(frame.address);
                addresses += 1;
            }
            addresses > depth
        })
        .unwrap_or(frames.len())
}

/// How many leading return addresses of trace `id` are plumbing only (every frame they
/// resolve to is dropped by [`symbolize`]); all of them when nothing else is left (then
/// `symbolize` keeps the raw stack). Traces that agree on the `n` addresses after these
/// symbolize to the same first `n` frames or more: a profiler groups its sites by them.
pub fn plumbing_addresses(id: TraceId) -> usize {
    let raw = trace::frames_of(id);
    let epoch = trace::epoch_of(id);
    raw.addresses()
        .iter()
        .take_while(|&&address| {
            in_gpa_address(address, epoch)
                || with_resolved(address, epoch, |resolved| resolved.plumbing)
        })
        .count()
}

/// The stack a suppression sees for trace `id`, as Valgrind shows it: the allocation or
/// freeing entry point the program called (`malloc`, `free`, `operator new(unsigned long)`,
/// `__rust_alloc`...: the innermost frame with such a name), then every frame after it,
/// inlined ones included (a C library's own inlined `malloc` wrapper too), down to `main` or
/// the runtime's start-up frame. Without an entry point (traces of other origins), the frames
/// [`symbolize`] shows.
pub fn suppression_frames(id: TraceId) -> std::vec::Vec<Frame> {
    let mut frames = std::vec::Vec::new();
    let mut entry = None;
    let mut in_plumbing = true;
    let epoch = trace::epoch_of(id);
    for &address in trace::frames_of(id).addresses() {
        let mut last = false;
        for (frame, plumbing) in resolve_classified(address, epoch) {
            last |= frame
                .function
                .as_deref()
                .is_some_and(|name| name == "main" || is_runtime_boundary(name));
            if in_plumbing {
                let function = frame.function.as_deref();
                if function.is_some_and(is_entry_point) {
                    entry = Some(frames.len());
                    in_plumbing = false;
                } else if !plumbing {
                    in_plumbing = false;
                }
            } else if entry.is_some() && in_gpa(&frame) {
                // A frame of gpa's below the entry point (see `symbolize_from`): a checking
                // function between glibc's function and the program, `clone_child`; a
                // Valgrind suppression's `fun:strdup` / `fun:main` lines follow each other.
                continue;
            }
            frames.push(frame);
        }
        if last {
            break;
        }
    }
    match entry {
        Some(index) => frames.split_off(index),
        None => symbolize(id, 0),
    }
}

fn is_entry_point(function: &str) -> bool {
    C_ENTRY_POINTS.contains(&function)
        || function.starts_with("operator new")
        || function.starts_with("operator delete")
        || function.starts_with("__rust_alloc")
        || function.starts_with("__rust_dealloc")
        || function.starts_with("__rust_realloc")
}

/// Whether a frame lies in a module whose file name starts with `prefix`.
fn in_module(frame: &Frame, prefix: &str) -> bool {
    frame
        .module
        .as_deref()
        .and_then(|path| path.rsplit('/').next())
        .is_some_and(|name| name.starts_with(prefix))
}

/// Whether `address` lies in gpa's preload library (no debug information needed to tell). The
/// library is never unloaded: its ranges are found once, from the address of this function
/// (none when this code is not the preload library).
fn in_gpa_address(address: usize, epoch: u32) -> bool {
    static RANGES: std::sync::OnceLock<std::vec::Vec<(usize, usize)>> = std::sync::OnceLock::new();
    let ranges = RANGES.get_or_init(|| {
        let here = in_gpa_address as fn(usize, u32) -> bool as usize;
        modules::module_for(here, epoch)
            .filter(|module| {
                module
                    .path
                    .rsplit('/')
                    .next()
                    .is_some_and(|name| name.starts_with("libgpa_preload.so"))
            })
            .map_or_else(std::vec::Vec::new, |module| module.ranges)
    });
    ranges
        .iter()
        .any(|&(start, end)| start <= address && address < end)
}

/// Frames of gpa's preload library, named or not, are plumbing.
fn in_gpa(frame: &Frame) -> bool {
    in_module(frame, "libgpa_preload.so")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_report_symbolizes_without_waiting_for_a_lock_its_thread_holds() {
        // A thread of its own: crash-report mode lasts for the thread's life.
        std::thread::spawn(|| {
            let address = a_crash_report_symbolizes_without_waiting_for_a_lock_its_thread_holds
                as *const () as usize;
            // A fault inside the symbolizer leaves its locks held by the crashed thread.
            let _held = modules::hold_loaded_for_test();
            enter_crash_report();
            let started = std::time::Instant::now();
            let first = resolve_address(address);
            let second = resolve_address(address);
            // The first lookup waits up to the crash budget, the second not at all; each
            // still gives a frame (its address, without a name).
            assert!(
                started.elapsed() < CRASH_WAIT * 4,
                "{:?}",
                started.elapsed()
            );
            assert_eq!(first.len(), 1);
            assert_eq!(second[0].address, address);
        })
        .join()
        .unwrap();
    }

    /// `std::make_shared<std::vector<long>>(int&&)`: `cpp_demangle` cannot read its return type.
    const MAKE_SHARED: &str = "_ZSt11make_sharedISt6vectorIlSaIlEEJiEESt10shared_ptrINSt9enable_ifIXntsrSt8is_arrayIT_E5valueES6_E4typeEEDpOT0_";
    /// A constructor template of `std::__shared_count` (called by `make_shared`):
    /// `cpp_demangle` drops its first parameter.
    const SHARED_COUNT: &str = "_ZNSt14__shared_countILN9__gnu_cxx12_Lock_policyE2EEC1ISt6vectorIlSaIlEESaIvEJiEEERPT_St20_Sp_alloc_shared_tagIT0_EDpOT1_";

    /// Loads libstdc++ into the test process, as a C++ program has it; false (with a message)
    /// when it cannot be loaded.
    fn load_libstdcxx() -> bool {
        // SAFETY: a NUL-terminated name; the library stays loaded for the process.
        let handle = unsafe {
            libc::dlopen(
                c"libstdc++.so.6".as_ptr(),
                libc::RTLD_NOW | libc::RTLD_GLOBAL,
            )
        };
        if handle.is_null() {
            eprintln!("SKIPPED: libstdc++.so.6 cannot be loaded (apt-get install libstdc++6)");
        }
        !handle.is_null()
    }

    /// C names that are also Itanium codes of builtin types stay as they are (Valgrind prints
    /// `f`, `g`, `i`, ...); mangled names still demangle.
    #[test]
    fn c_names_that_spell_a_type_code_are_not_demangled() {
        for name in [
            "f", "g", "i", "v", "d", "x", "c", "St", "Dn", "main", "_start",
        ] {
            assert_eq!(demangle(name), name);
        }
        assert_eq!(demangle("_Z1fv"), "f()");
        assert_eq!(demangle("_Z1gi"), "g(int)");
    }

    #[test]
    fn cxx_names_are_demangled_by_libstdcxx_as_valgrind_prints_them() {
        if !load_libstdcxx() {
            return;
        }
        // What cpp_demangle alone makes of them: nothing, and a parameter list one short.
        assert_eq!(
            addr2line::demangle(MAKE_SHARED, gimli::DW_LANG_C_plus_plus),
            None
        );
        let cpp_demangle = addr2line::demangle(SHARED_COUNT, gimli::DW_LANG_C_plus_plus);
        assert!(
            cpp_demangle
                .as_deref()
                .is_some_and(|name| !name.contains("long> >*&")),
            "{cpp_demangle:?}"
        );
        // Valgrind 3.19 (memcheck, `--show-leak-kinds=all`) on tests/cxx/make_shared_leak.cpp.
        assert_eq!(
            demangle(MAKE_SHARED),
            "std::shared_ptr<std::enable_if<!std::is_array<std::vector<long, std::allocator<long> > >::value, std::vector<long, std::allocator<long> > >::type> std::make_shared<std::vector<long, std::allocator<long> >, int>(int&&)"
        );
        assert_eq!(
            demangle(SHARED_COUNT),
            "std::__shared_count<(__gnu_cxx::_Lock_policy)2>::__shared_count<std::vector<long, std::allocator<long> >, std::allocator<void>, int>(std::vector<long, std::allocator<long> >*&, std::_Sp_alloc_shared_tag<std::allocator<void> >, int&&)"
        );
        // Clones as c++filt and Valgrind print them; Rust names (legacy and v0) and C names
        // are not C++ names.
        for (mangled, demangled) in [
            (
                "_ZL13constant_sizemi.constprop.0",
                "constant_size(unsigned long, int) [clone .constprop.0]",
            ),
            ("_Z6rarelyi.cold", "rarely(int) [clone .cold]"),
            ("_ZN4leak7generic17h081b9dfaff894811E", "leak::generic"),
            (
                "_RINvCscJEj9Xep4Zo_4leak7genericNtB2_5MakerEB2_",
                "leak::generic::<leak::Maker>",
            ),
            ("main", "main"),
            ("rarely.cold", "rarely.cold"),
        ] {
            assert_eq!(demangle(mangled), demangled);
        }
    }

    #[test]
    fn a_crash_report_demangles_without_libstdcxx() {
        if !load_libstdcxx() {
            return;
        }
        // A thread of its own: crash-report mode lasts for the thread's life.
        std::thread::spawn(|| {
            assert!(cxxabi::demangle(SHARED_COUNT).is_some());
            enter_crash_report();
            // libstdc++'s demangler allocates: not called; cpp_demangle's name, or the
            // mangled one, instead.
            assert_eq!(cxxabi::demangle(SHARED_COUNT), None);
            assert_eq!(demangle(MAKE_SHARED), MAKE_SHARED);
            assert_eq!(
                Some(demangle(SHARED_COUNT)),
                addr2line::demangle(SHARED_COUNT, gimli::DW_LANG_C_plus_plus)
            );
        })
        .join()
        .unwrap();
    }

    #[test]
    fn allocation_plumbing_is_recognized_and_user_code_is_not() {
        for plumbing in [
            "<gpa::gpa::GeneralPurposeAllocator as core::alloc::global::GlobalAlloc>::alloc",
            "<&gpa::gpa::GeneralPurposeAllocator as allocator_api2::stable::alloc::Allocator>::allocate",
            "<u8 as alloc::vec::spec_from_elem::SpecFromElem>::from_elem",
            "alloc::raw_vec::finish_grow",
            "allocator_api2::stable::raw_vec::RawVec<T,A>::allocate_in",
            "__rust_alloc",
        ] {
            assert!(is_plumbing(plumbing), "{plumbing}");
        }
        for plumbing in [
            "operator new(unsigned long)",
            "operator delete[](void*, unsigned long)",
            "std::__new_allocator<int>::allocate(unsigned long, void const*)",
            "__gnu_cxx::new_allocator<int>::allocate(unsigned long, void const*)",
            "std::allocator_traits<std::allocator<int> >::allocate(std::allocator<int>&, unsigned long)",
            "void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>(__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)",
        ] {
            assert!(is_plumbing(plumbing), "{plumbing}");
        }
        for user in [
            "grow(std::vector<int, std::allocator<int> >&)",
            "void user::fill<std::vector<int> >(int, std::vector<int>&)",
            "main",
            "pair()",
            "my_crate::parse",
            "<my_crate::Thing as core::fmt::Display>::fmt",
            "gpa_basic::leaks_a_vector",
        ] {
            assert!(!is_plumbing(user), "{user}");
        }
    }
}
