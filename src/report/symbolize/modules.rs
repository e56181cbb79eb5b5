//! Which module (executable or shared object) an address belongs to, now or when it was
//! captured: the objects loaded now (`dl_iterate_phdr`) and those unloaded since start-up.
//!
//! # Invariants
//! * `UNLOADED` is in unload order; each entry carries the module epoch that ended at its
//!   unload, so epochs increase along the list.
//! * The loaded list is rebuilt whenever the loader's load/unload counters change.

use std::sync::Mutex;

use crate::trace;

/// One loaded object: where its segments lie and which file it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    /// The file's path (the executable's resolved through `/proc/self/exe`).
    pub path: String,
    /// The load bias: file virtual address + bias = run-time address.
    pub bias: usize,
    /// Run-time ranges of its `PT_LOAD` segments.
    pub ranges: std::vec::Vec<(usize, usize)>,
    /// Its GNU build id, where it has one.
    pub build_id: Option<std::vec::Vec<u8>>,
}

impl Module {
    fn overlaps(&self, other: &Module) -> bool {
        self.ranges.iter().any(|&(start, end)| {
            other
                .ranges
                .iter()
                .any(|&(other_start, other_end)| start < other_end && other_start < end)
        })
    }

    fn contains(&self, address: usize) -> bool {
        self.ranges
            .iter()
            .any(|&(start, end)| start <= address && address < end)
    }
}

struct Loaded {
    counters: (u64, u64),
    modules: std::vec::Vec<Module>,
}

static LOADED: Mutex<Loaded> = Mutex::new(Loaded {
    counters: (u64::MAX, u64::MAX),
    modules: std::vec::Vec::new(),
});

/// Unloaded objects, with the module epoch that ended at their unload.
static UNLOADED: Mutex<std::vec::Vec<(Module, u32)>> = Mutex::new(std::vec::Vec::new());

use super::objects::lock;

/// Holds the lock of the loaded modules' list (for tests of the crash path).
#[cfg(test)]
pub(super) fn hold_loaded_for_test() -> impl Sized {
    LOADED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Holds the lists of unloaded and loaded modules (see [`super::hold_lists`]).
pub fn hold_modules(patience: std::time::Duration) -> impl Sized {
    use super::objects::try_lock_for;
    (
        try_lock_for(&UNLOADED, patience),
        try_lock_for(&LOADED, patience),
    )
}

/// The module of an address of a trace captured in module epoch `epoch`.
pub fn module_for(address: usize, epoch: u32) -> Option<Module> {
    let unloaded = lock(&UNLOADED).and_then(|unloaded| {
        unloaded
            .iter()
            .find(|(module, ended)| *ended >= epoch && module.contains(address))
            .map(|(module, _)| module.clone())
    });
    if unloaded.is_some() {
        return unloaded;
    }
    let mut loaded = lock(&LOADED)?;
    let counters = loader_counters();
    if counters != loaded.counters || loaded.modules.is_empty() {
        loaded.modules = loaded_modules();
        loaded.counters = counters;
    }
    loaded
        .modules
        .iter()
        .find(|module| module.contains(address))
        .cloned()
}

/// Records the object loaded at `bias` (named `name` by the loader) before its unload, and
/// starts a new module epoch.
pub fn note_unload(bias: usize, name: &str) {
    let module = loaded_modules()
        .into_iter()
        .find(|module| module.bias == bias && (name.is_empty() || module.path.ends_with(name)));
    let Some(mut unloaded) = lock(&UNLOADED) else {
        trace::next_module_epoch();
        return;
    };
    let ended = trace::next_module_epoch();
    let Some(module) = module else {
        return;
    };
    // The same object unloaded again from the same place: one record covers both times
    // (no other object was unloaded from these addresses in between).
    let newest_here = unloaded
        .iter_mut()
        .rev()
        .find(|(seen, _)| seen.overlaps(&module));
    match newest_here {
        Some((seen, epoch)) if *seen == module => *epoch = ended,
        _ => unloaded.push((module, ended)),
    }
}

fn loader_counters() -> (u64, u64) {
    extern "C" fn first(info: *mut libc::dl_phdr_info, _: usize, data: *mut libc::c_void) -> i32 {
        // SAFETY: the loader passes a valid `info`; `data` is the `(u64, u64)` below.
        unsafe {
            let counters = &mut *data.cast::<(u64, u64)>();
            *counters = ((*info).dlpi_adds, (*info).dlpi_subs);
        }
        1
    }
    let mut counters = (0u64, 0u64);
    // SAFETY: the callback only reads `info` and writes `counters`.
    unsafe { libc::dl_iterate_phdr(Some(first), (&mut counters as *mut (u64, u64)).cast()) };
    counters
}

/// The objects loaded now.
pub fn loaded_modules() -> std::vec::Vec<Module> {
    extern "C" fn each(info: *mut libc::dl_phdr_info, _: usize, data: *mut libc::c_void) -> i32 {
        // SAFETY: the loader passes a valid `info` whose `dlpi_phdr` has `dlpi_phnum`
        // entries; `data` is the vector below.
        unsafe {
            let modules = &mut *data.cast::<std::vec::Vec<Module>>();
            let info = &*info;
            let headers = core::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize);
            let bias = info.dlpi_addr as usize;
            let ranges = headers
                .iter()
                .filter(|header| header.p_type == libc::PT_LOAD)
                .map(|header| {
                    let start = bias.wrapping_add(header.p_vaddr as usize);
                    (start, start.wrapping_add(header.p_memsz as usize))
                })
                .collect();
            let name = if info.dlpi_name.is_null() {
                ""
            } else {
                core::ffi::CStr::from_ptr(info.dlpi_name)
                    .to_str()
                    .unwrap_or("")
            };
            let path = if name.is_empty() {
                match modules.is_empty() {
                    // The first object without a name is the executable.
                    true => std::fs::read_link(crate::os::proc_file("exe"))
                        .map(|path| path.display().to_string())
                        .unwrap_or_default(),
                    false => std::string::String::new(),
                }
            } else {
                name.to_string()
            };
            let build_id = headers
                .iter()
                .filter(|header| header.p_type == libc::PT_NOTE)
                .find_map(|header| {
                    let start = bias.wrapping_add(header.p_vaddr as usize);
                    build_id(core::slice::from_raw_parts(
                        start as *const u8,
                        header.p_memsz as usize,
                    ))
                });
            modules.push(Module {
                path,
                bias,
                ranges,
                build_id,
            });
        }
        0
    }
    let mut modules: std::vec::Vec<Module> = std::vec::Vec::new();
    // SAFETY: the callback reads the loader's records and pushes to `modules`.
    unsafe {
        libc::dl_iterate_phdr(
            Some(each),
            (&mut modules as *mut std::vec::Vec<Module>).cast(),
        )
    };
    modules.retain(|module| !module.path.is_empty());
    modules
}

/// The GNU build id in a note segment, if there is one.
fn build_id(notes: &[u8]) -> Option<std::vec::Vec<u8>> {
    const NT_GNU_BUILD_ID: u32 = 3;
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(notes.get(at..at + 4)?.try_into().ok()?))
    };
    let align4 = |n: usize| (n + 3) & !3;
    let mut at = 0;
    while at + 12 <= notes.len() {
        let (name_len, desc_len, kind) =
            (word(at)? as usize, word(at + 4)? as usize, word(at + 8)?);
        let name_start = at + 12;
        let desc_start = name_start + align4(name_len);
        let name = notes.get(name_start..name_start + name_len)?;
        if kind == NT_GNU_BUILD_ID && name == b"GNU\0" {
            return notes
                .get(desc_start..desc_start + desc_len)
                .map(<[u8]>::to_vec);
        }
        at = desc_start + align4(desc_len);
    }
    None
}
