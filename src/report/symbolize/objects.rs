//! Object files read for symbolization: DWARF through `addr2line`, symbol tables with sizes
//! through `object`, each file once per process.
//!
//! # Invariants
//! * A file is mapped read-only and never unmapped while the process runs; each object's
//!   parsed state is behind a mutex of its own, so one thread at a time uses it.
//! * On a thread writing a crash report ([`enter_crash_report`]) the symbolizer's mutexes are
//!   only tried (the crashed thread may hold one itself, say after a fault inside gpa while it
//!   symbolized): for at most [`CRASH_WAIT`] in all, after which lookups give up and frames
//!   keep their module and offset only.

use core::cell::Cell;
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};

/// One frame found for an address (an inlined call or the function itself).
pub struct Found {
    /// The function's name as shown: for a function inlined into C or C++ code, its name in
    /// the source (`DW_AT_name`: `make`, `operator()`, `__invoke_impl<long*, ...>`), as
    /// Valgrind names inlined calls; otherwise the demangled linkage name.
    pub function: Option<String>,
    /// The demangled linkage name where DWARF has one (`ns::Box<int>::make(int)`), else the
    /// name: what tells the allocation plumbing (`std::...`) from the program's code.
    pub qualified: Option<String>,
    /// The source file.
    pub file: Option<String>,
    /// The source line.
    pub line: Option<u32>,
}

/// A function symbol: start, size, name (as the symbol table spells it: demangled only when
/// looked up).
struct Symbol {
    start: u64,
    size: u64,
    name: String,
}

/// What one object file offers.
pub struct ObjectFile {
    dwarf: Option<Dwarf>,
    symbols: std::vec::Vec<Symbol>,
    build_id: Option<std::vec::Vec<u8>>,
}

/// A reader of the DWARF sections this module loads: the file's own bytes where they are
/// stored uncompressed, else a decompressed copy; both kept for the rest of the process.
type Slice = gimli::EndianSlice<'static, gimli::RunTimeEndian>;

/// An object's DWARF for symbolization.
enum Dwarf {
    /// Loaded here, without the sections symbolization never reads ([`UNREAD_SECTIONS`]).
    /// `loader`: `addr2line`'s own loader, made when a lookup needs a split DWARF file
    /// (`.dwo`, `.dwp`), which only it finds.
    Sections {
        context: addr2line::Context<Slice>,
        path: String,
        loader: std::cell::OnceCell<Option<addr2line::Loader>>,
    },
    /// `addr2line`'s loader, for DWARF that needs relocating (relocatable object files, or
    /// debug sections with relocations of their own), which it applies.
    Loader(addr2line::Loader),
}

/// DWARF sections `addr2line` never reads to name a frame and its line: variables' locations
/// and macros. In glibc's separate debug files the location lists alone are a sixth of the
/// compressed DWARF; loading them decompressed about 1 MB (libc) that nothing looked at, at
/// every exit whose report symbolized a frame in libc or the loader.
const UNREAD_SECTIONS: [gimli::SectionId; 4] = [
    gimli::SectionId::DebugLoc,
    gimli::SectionId::DebugLocLists,
    gimli::SectionId::DebugMacinfo,
    gimli::SectionId::DebugMacro,
];

impl Dwarf {
    /// The DWARF of the file at `path`.
    fn open(path: &str) -> Option<Dwarf> {
        let file = std::fs::File::open(path).ok()?;
        // SAFETY: as in `parse`: mapped read-only.
        let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
        // Kept for the process, as every object file read here is (see the module docs).
        let map: &'static memmap2::Mmap = std::boxed::Box::leak(std::boxed::Box::new(map));
        let object = object::File::parse(&**map).ok()?;
        let relocated = object.sections().any(|section| {
            section.name().is_ok_and(|name| name.starts_with(".debug_"))
                && section.relocations().next().is_some()
        });
        if object.kind() == object::ObjectKind::Relocatable || relocated {
            return addr2line::Loader::new(path).ok().map(Dwarf::Loader);
        }
        let endian = if object.is_little_endian() {
            gimli::RunTimeEndian::Little
        } else {
            gimli::RunTimeEndian::Big
        };
        let mut dwarf = gimli::Dwarf::load(|id| -> Result<Slice, gimli::Error> {
            let data: &'static [u8] = if UNREAD_SECTIONS.contains(&id) {
                &[]
            } else {
                match object
                    .section_by_name(id.name())
                    .map(|s| s.uncompressed_data())
                {
                    Some(Ok(std::borrow::Cow::Borrowed(data))) => data,
                    Some(Ok(std::borrow::Cow::Owned(data))) => {
                        std::boxed::Box::leak(data.into_boxed_slice())
                    }
                    // As `addr2line`'s loader, which fails the whole file then.
                    Some(Err(_)) => return Err(gimli::Error::Io),
                    None => &[],
                }
            };
            Ok(gimli::EndianSlice::new(data, endian))
        })
        .ok()?;
        dwarf.populate_abbreviations_cache(gimli::AbbreviationsCacheStrategy::Duplicates);
        let context = addr2line::Context::from_dwarf(dwarf).ok()?;
        Some(Dwarf::Sections {
            context,
            path: path.to_string(),
            loader: std::cell::OnceCell::new(),
        })
    }

    /// Calls `each` with the frames found for `probe`, innermost first.
    fn for_each_frame(&self, probe: u64, each: &mut dyn FnMut(Found)) {
        fn visit<R: gimli::Reader>(
            frames: Result<addr2line::FrameIter<'_, R>, impl core::fmt::Debug>,
            unit: Option<gimli::UnitRef<'_, R>>,
            each: &mut dyn FnMut(Found),
        ) {
            let Ok(mut frames) = frames else {
                return;
            };
            let mut found = std::vec::Vec::new();
            while let Ok(Some(frame)) = frames.next() {
                let qualified = frame
                    .function
                    .as_ref()
                    .and_then(|name| name.raw_name().ok())
                    .map(|name| super::demangle(&name));
                let rust = frame
                    .function
                    .as_ref()
                    .is_some_and(|name| name.language == Some(gimli::DW_LANG_Rust));
                let (file, line) = frame.location.map_or((None, None), |location| {
                    (location.file.map(str::to_string), location.line)
                });
                let source_name = match (unit, frame.dw_die_offset) {
                    (Some(unit), Some(offset)) if !rust => inlined_name(unit, offset),
                    _ => None,
                };
                found.push((
                    Found {
                        function: qualified.clone(),
                        qualified,
                        file,
                        line,
                    },
                    source_name,
                ));
            }
            // Every frame but the last was inlined into the next one. (The last is the
            // function the code lies in, which the caller names from the symbol table.)
            let inlined = found.len().saturating_sub(1);
            for (index, (mut frame, source_name)) in found.into_iter().enumerate() {
                if index < inlined && source_name.is_some() {
                    frame.function = source_name;
                }
                each(frame);
            }
        }
        match self {
            Dwarf::Loader(loader) => visit(loader.find_frames(probe), None, each),
            Dwarf::Sections {
                context,
                path,
                loader,
            } => match context.find_frames(probe) {
                addr2line::LookupResult::Output(frames) => {
                    let unit = context.find_dwarf_and_unit(probe).skip_all_loads();
                    visit(frames, unit, each)
                }
                // A split DWARF unit: `addr2line`'s loader finds its file.
                addr2line::LookupResult::Load { .. } => {
                    if let Some(loader) = loader
                        .get_or_init(|| addr2line::Loader::new(path).ok())
                        .as_ref()
                    {
                        visit(loader.find_frames(probe), None, each);
                    }
                }
            },
        }
    }
}

/// The name in the source of the function an inlined call (the `DW_TAG_inlined_subroutine`
/// at `offset`) runs: its abstract origin's `DW_AT_name`, or the name of the declaration
/// that origin completes (`DW_AT_specification`: a member function declared in its class),
/// never the linkage name. This is how Valgrind names inlined frames (`make`, not
/// `ns::Box<int>::make(int)`; `operator()`, not `std::function<long* ()>::operator()()
/// const`). `None` for an origin in another unit (link-time optimization), which Valgrind
/// shows as `UnknownInlinedFun`: the caller keeps the linkage name there.
fn inlined_name<R: gimli::Reader>(
    unit: gimli::UnitRef<'_, R>,
    offset: gimli::UnitOffset<R::Offset>,
) -> Option<String> {
    let entry = unit.entry(offset).ok()?;
    if entry.tag() != gimli::DW_TAG_inlined_subroutine {
        return None;
    }
    let Some(gimli::AttributeValue::UnitRef(mut origin)) =
        entry.attr_value(gimli::DW_AT_abstract_origin)
    else {
        return None;
    };
    // A declaration's chain is short (origin -> declaration); the bound guards against a cycle
    // in malformed DWARF.
    for _ in 0..4 {
        let entry = unit.entry(origin).ok()?;
        if let Some(name) = entry.attr_value(gimli::DW_AT_name) {
            let name = unit.attr_string(name).ok()?;
            return Some(name.to_string_lossy().ok()?.into_owned());
        }
        match entry.attr_value(gimli::DW_AT_specification) {
            Some(gimli::AttributeValue::UnitRef(next)) => origin = next,
            _ => return None,
        }
    }
    None
}

/// An object file, used by one thread at a time (its lazily filled caches are not `Sync`).
pub type Shared = Arc<Mutex<ObjectFile>>;

static OBJECTS: Mutex<std::vec::Vec<(String, Option<Shared>)>> = Mutex::new(std::vec::Vec::new());

thread_local! {
    /// Whether this thread writes a crash report, and the time it may still wait for locks.
    static CRASH: Cell<(bool, Option<std::time::Duration>)> = const { Cell::new((false, None)) };
}

/// The longest a crash report waits, in all, for the symbolizer's locks.
pub const CRASH_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Marks the calling thread as writing a crash report (for the rest of its life: the process
/// ends after the report): from now on its locks are only tried (see the module docs).
pub fn enter_crash_report() {
    let _ = CRASH.try_with(|crash| {
        if !crash.get().0 {
            crash.set((true, Some(CRASH_WAIT)));
        }
    });
}

/// Whether the calling thread writes a crash report (also while its thread-locals are torn
/// down, when that cannot be told).
pub fn in_crash_report() -> bool {
    CRASH.try_with(|crash| crash.get().0).unwrap_or(true)
}

/// Takes `mutex` when it comes free within `patience` (also after a panic elsewhere), for a
/// caller that must not wait for ever: `None` when another thread kept it all that time.
pub fn try_lock_for<T>(
    mutex: &Mutex<T>,
    patience: std::time::Duration,
) -> Option<MutexGuard<'_, T>> {
    let started = std::time::Instant::now();
    loop {
        match mutex.try_lock() {
            Ok(guard) => return Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => return Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) if started.elapsed() < patience => {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            Err(TryLockError::WouldBlock) => return None,
        }
    }
}

/// Holds the list of opened object files (see [`super::hold_lists`]).
pub fn hold_objects(patience: std::time::Duration) -> impl Sized {
    try_lock_for(&OBJECTS, patience)
}

/// Locks a mutex of the symbolizer, also after a panic elsewhere; `None` only on a thread
/// writing a crash report, when the lock stayed busy (see the module docs).
pub fn lock<T>(mutex: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    let (crashing, mut left) = CRASH.try_with(Cell::get).unwrap_or((true, None));
    if !crashing {
        return Some(
            mutex
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
    }
    const STEP: std::time::Duration = std::time::Duration::from_millis(1);
    let guard = loop {
        match mutex.try_lock() {
            Ok(guard) => break Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => break Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => match left {
                Some(time) if !time.is_zero() => {
                    std::thread::sleep(STEP);
                    left = Some(time.saturating_sub(STEP));
                }
                _ => {
                    left = None;
                    break None;
                }
            },
        }
    };
    let _ = CRASH.try_with(|crash| crash.set((crashing, left)));
    guard
}

/// The object file at `path`, if it can be read and (when `build_id` is given and the file
/// has one) has that build id.
pub fn object(path: &str, build_id: Option<&[u8]>) -> Option<Shared> {
    let file = {
        let mut objects = lock(&OBJECTS)?;
        match objects.iter().find(|(seen, _)| seen == path) {
            Some((_, file)) => file.clone(),
            None => {
                let file = ObjectFile::open(path).map(|file| Arc::new(Mutex::new(file)));
                objects.push((path.to_string(), file.clone()));
                file
            }
        }
    }?;
    let matches = match (build_id, &lock(&file)?.build_id) {
        (Some(wanted), Some(actual)) => wanted == actual.as_slice(),
        _ => true,
    };
    matches.then_some(file)
}

/// Where distributions install separate debug information (`libc6-dbg` and the like).
const DEBUG_ROOT: &str = "/usr/lib/debug";

/// An object file mapped and parsed just long enough to read what symbolization needs.
struct Parsed {
    symbols: std::vec::Vec<Symbol>,
    build_id: Option<std::vec::Vec<u8>>,
    debug_link: Option<String>,
    has_dwarf: bool,
}

fn parse(path: &str) -> Option<Parsed> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: the file is mapped read-only; an object file being rewritten while a report is
    // made would give wrong names, never memory unsafety beyond what reading it costs.
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let parsed = object::File::parse(&*map).ok()?;
    let symbols = parsed
        .symbols()
        .chain(parsed.dynamic_symbols())
        .filter(|symbol| {
            symbol.kind() == SymbolKind::Text && symbol.size() > 0 && symbol.is_definition()
        })
        .filter_map(|symbol| {
            Some(Symbol {
                start: symbol.address(),
                size: symbol.size(),
                name: symbol.name().ok()?.to_string(),
            })
        })
        .collect();
    Some(Parsed {
        symbols,
        build_id: parsed.build_id().ok().flatten().map(<[u8]>::to_vec),
        debug_link: parsed
            .gnu_debuglink()
            .ok()
            .flatten()
            .and_then(|(name, _)| core::str::from_utf8(name).ok().map(str::to_string)),
        has_dwarf: parsed.section_by_name(".debug_info").is_some(),
    })
}

/// The separate debug file of an object: by build id, else by `.gnu_debuglink` (GDB's and
/// Valgrind's search order).
fn debug_file(path: &str, parsed: &Parsed) -> Option<String> {
    let mut candidates = std::vec::Vec::new();
    if let Some(id) = parsed.build_id.as_deref().filter(|id| id.len() > 1) {
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        candidates.push(format!(
            "{DEBUG_ROOT}/.build-id/{}/{}.debug",
            hex(&id[..1]),
            hex(&id[1..])
        ));
    }
    if let Some(link) = &parsed.debug_link {
        let dir = std::path::Path::new(path)
            .parent()
            .map(|dir| dir.display().to_string())
            .unwrap_or_default();
        candidates.push(format!("{dir}/{link}"));
        candidates.push(format!("{dir}/.debug/{link}"));
        candidates.push(format!("{DEBUG_ROOT}{dir}/{link}"));
    }
    candidates
        .into_iter()
        .find(|candidate| candidate != path && std::path::Path::new(candidate).is_file())
}

/// How Valgrind orders the names of one function (aliases: symbols with the same address and
/// size) to pick the one it shows: the shortest without its version (`strdup` before
/// `__strdup`, `getdelim` before `__getdelim`), then one with a version before one without,
/// then alphabetically. (Valgrind's `preferName`; it names glibc's `memcmp` `bcmp` too.)
fn alias_order(name: &str) -> (usize, bool, &str) {
    let unversioned = name.find('@').unwrap_or(name.len());
    (unversioned, !name.contains('@'), name)
}

/// The separate debug file of `path` and its contents, if there is one.
fn parse_debug(
    path: &str,
    build_id: &Option<std::vec::Vec<u8>>,
    debug_link: &Option<String>,
) -> Option<(String, Parsed)> {
    let probe = Parsed {
        symbols: std::vec::Vec::new(),
        build_id: build_id.clone(),
        debug_link: debug_link.clone(),
        has_dwarf: false,
    };
    let debug_path = debug_file(path, &probe)?;
    let debug = parse(&debug_path)?;
    // A debug file found by name must be the same build.
    if build_id.is_some() && debug.build_id.is_some() && debug.build_id != *build_id {
        return None;
    }
    Some((debug_path, debug))
}

impl ObjectFile {
    fn open(path: &str) -> Option<ObjectFile> {
        let parsed = parse(path)?;
        let mut symbols = parsed.symbols;
        let mut dwarf_path = path.to_string();
        if !parsed.has_dwarf {
            let debug = parse_debug(path, &parsed.build_id, &parsed.debug_link);
            if let Some((debug_path, debug)) = debug {
                symbols.extend(debug.symbols);
                if debug.has_dwarf {
                    dwarf_path = debug_path;
                }
            }
        }
        // Of the symbols at one address, the largest (a function, not a label inside it); of
        // aliases with the same extent, the name Valgrind shows (`strdup`, not `__strdup`).
        symbols.sort_by(|a, b| {
            (a.start, core::cmp::Reverse(a.size))
                .cmp(&(b.start, core::cmp::Reverse(b.size)))
                .then_with(|| alias_order(&a.name).cmp(&alias_order(&b.name)))
        });
        symbols.dedup_by_key(|symbol| symbol.start);
        Some(ObjectFile {
            dwarf: Dwarf::open(&dwarf_path),
            symbols,
            build_id: parsed.build_id,
        })
    }

    /// The frames DWARF gives for file address `probe`, innermost first.
    pub fn frames(&self, probe: u64) -> std::vec::Vec<Found> {
        let mut found = std::vec::Vec::new();
        if let Some(dwarf) = &self.dwarf {
            dwarf.for_each_frame(probe, &mut |frame| found.push(frame));
        }
        found
    }

    /// The demangled name of the function symbol whose extent holds `probe`.
    pub fn symbol(&self, probe: u64) -> Option<String> {
        let index = self
            .symbols
            .partition_point(|symbol| symbol.start <= probe)
            .checked_sub(1)?;
        let symbol = &self.symbols[index];
        (probe < symbol.start + symbol.size).then(|| super::demangle(&symbol.name))
    }
}
