// The leak-checked test cases, included by `tests/leak_checked.rs` (GPA `Config::debug()`)
// and `tests/leak_checked_fast.rs` (GPA `Config::fast()`: no traces of its own). Each includer
// defines the `#[global_allocator]`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;
use std::sync::{Arc, Barrier, LazyLock, Mutex, OnceLock};
use std::thread;

use gpa::report::FindingKind;
use gpa::testing::{assert_no_leaks, check, check_with, in_check};

#[inline(never)]
fn leak_bytes(len: usize) {
    core::mem::forget(vec![0x5a_u8; len]);
}

#[test]
fn collections_are_clean() {
    assert_no_leaks(|| {
        let mut words: HashMap<String, usize> = HashMap::new();
        for word in "the quick brown fox jumps over the lazy dog the end".split(' ') {
            *words.entry(word.to_string()).or_default() += 1;
        }
        assert_eq!(words["the"], 3);
        let sorted: BTreeMap<usize, Vec<String>> =
            words
                .iter()
                .fold(BTreeMap::new(), |mut map, (word, &count)| {
                    map.entry(count).or_insert_with(Vec::new).push(word.clone());
                    map
                });
        assert_eq!(sorted[&3], vec!["the".to_string()]);
        let mut queue: VecDeque<Box<[u8]>> = (0..100).map(|i| vec![i as u8; i].into()).collect();
        queue.rotate_left(7);
        assert_eq!(queue.len(), 100);
    });
}

#[test]
#[should_panic(expected = "leaked block(s)")]
fn forgotten_vec_fails() {
    assert_no_leaks(|| leak_bytes(100));
}

#[test]
fn report_names_the_leaking_function_and_sizes() {
    let report = check(|| {
        leak_bytes(48);
        let kept = Box::leak(std::hint::black_box(Box::new([7_u64; 4])));
        assert_eq!(kept[3], 7);
    });
    assert_eq!(report.leak_totals(), (2, 48 + 32), "{report}");
    assert!(report.findings.iter().all(|f| f.kind == FindingKind::Leak));
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.mentions_function("leak_bytes")),
        "{report}"
    );
    assert!(report.to_string().contains("leaked"), "{report}");
}

#[test]
fn printing_is_not_a_leak() {
    assert_no_leaks(|| {
        // The first line allocates libtest's capture buffer; the later ones grow it.
        for line in 0..200 {
            println!(
                "line {line} of a test that prints a lot: {:?}",
                vec![line; 3]
            );
        }
        eprintln!("and to stderr");
        writeln!(std::io::stdout(), "direct stdout").unwrap();
    });
}

#[test]
fn joined_threads_are_clean() {
    assert_no_leaks(|| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                thread::spawn(move || {
                    let mut total = 0;
                    for i in 0..1000 {
                        let v: Vec<usize> = (0..(i % 17)).map(|x| x * t).collect();
                        total += v.len();
                    }
                    vec![total; 8]
                })
            })
            .collect();
        let results: Vec<Vec<usize>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert!(results.iter().all(|r| r.len() == 8));
    });
}

#[test]
#[should_panic(expected = "leaked block(s)")]
fn leak_in_a_spawned_thread_fails() {
    assert_no_leaks(|| {
        thread::spawn(|| leak_bytes(24)).join().unwrap();
    });
}

#[test]
fn scoped_threads_are_clean_and_their_leaks_are_found() {
    let shared = vec![1_u32; 256];
    let report = check(|| {
        thread::scope(|s| {
            for chunk in shared.chunks(64) {
                s.spawn(move || chunk.iter().map(|&x| vec![x; 3]).collect::<Vec<_>>().len());
            }
            s.spawn(|| leak_bytes(40));
        });
    });
    assert_eq!(report.leak_totals(), (1, 40), "{report}");
}

#[test]
fn gpa_spawn_passes_the_scope_on() {
    let report = check(|| {
        gpa::testing::spawn(|| {
            assert!(in_check());
            leak_bytes(56);
        })
        .join()
        .unwrap();
    });
    assert_eq!(report.leak_totals(), (1, 56), "{report}");
}

#[test]
fn blocks_freed_by_another_thread_are_not_leaks() {
    use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
    // A thread outside any scope frees what the checked closure hands it, one block at a time
    // (an atomic hand-off, so that no channel buffer is allocated inside the check).
    static SLOT: AtomicPtr<Vec<u8>> = AtomicPtr::new(core::ptr::null_mut());
    static STOP: AtomicBool = AtomicBool::new(false);
    let worker = thread::spawn(|| loop {
        let block = SLOT.load(Ordering::Acquire);
        if !block.is_null() {
            // SAFETY: the test stored a `Box::into_raw` pointer and waits until it is taken.
            drop(unsafe { Box::from_raw(block) });
            SLOT.store(core::ptr::null_mut(), Ordering::Release);
        } else if STOP.load(Ordering::Acquire) {
            break;
        }
        thread::yield_now();
    });
    assert_no_leaks(|| {
        for i in 0..50 {
            SLOT.store(
                Box::into_raw(Box::new(vec![i as u8; 100 + i])),
                Ordering::Release,
            );
            while !SLOT.load(Ordering::Acquire).is_null() {
                thread::yield_now();
            }
        }
    });
    STOP.store(true, Ordering::Release);
    worker.join().unwrap();
}

#[test]
fn growing_a_block_from_outside_is_not_attributed() {
    let mut outside: Vec<u64> = Vec::with_capacity(1);
    let mut text = String::from("x");
    assert_no_leaks(|| {
        for i in 0..10_000 {
            outside.push(i);
        }
        for _ in 0..10 {
            text.push_str(&text.clone());
        }
    });
    assert_eq!(outside.len(), 10_000);
    assert_eq!(text.len(), 1024);
}

#[test]
fn a_block_moved_out_is_a_leak_and_a_grown_one_keeps_its_first_trace() {
    let mut kept = None;
    let report = check(|| kept = Some(vec![3_u8; 64]));
    assert_eq!(report.leak_totals(), (1, 64), "{report}");
    drop(kept);

    let (bytes, report) = check_with(|| {
        let mut grown: Vec<u32> = Vec::with_capacity(1);
        for i in 0..1000 {
            grown.push(i);
        }
        let bytes = grown.capacity() * 4;
        core::mem::forget(grown);
        bytes
    });
    assert_eq!(report.findings.len(), 1, "{report}");
    assert_eq!(report.leak_totals(), (1, bytes), "{report}");
    assert!(
        report.findings[0].mentions_function("keeps_its_first_trace"),
        "{report}"
    );
}

#[test]
fn parallel_scopes_get_their_own_verdicts() {
    for round in 0..40 {
        let start = Arc::new(Barrier::new(2));
        let (leaky_start, clean_start) = (start.clone(), start);
        let leaky = thread::spawn(move || {
            check(|| {
                leaky_start.wait();
                for _ in 0..3 {
                    leak_bytes(8 + round);
                }
                let _scratch: Vec<String> = (0..100).map(|i| i.to_string()).collect();
            })
        });
        let clean = thread::spawn(move || {
            check(|| {
                clean_start.wait();
                let mut map = HashMap::new();
                for i in 0..200 {
                    map.insert(i, vec![i; 4]);
                }
                map.retain(|k, _| k % 2 == 0);
            })
        });
        let (leaky, clean) = (leaky.join().unwrap(), clean.join().unwrap());
        assert_eq!(
            leaky.leak_totals(),
            (3, 3 * (8 + round)),
            "round {round}: {leaky}"
        );
        assert!(clean.is_clean(), "round {round}: {clean}");
    }
}

#[test]
fn nested_checks_attribute_to_the_innermost() {
    let (inner, outer) = check_with(|| {
        let inner = check(|| leak_bytes(16));
        let _scratch = vec![0_u8; 1000];
        inner.leak_totals()
    });
    assert_eq!(inner, (1, 16));
    assert!(outer.is_clean(), "{outer}");
}

#[test]
fn lazy_statics_and_thread_locals_are_not_leaks() {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    static TABLE: LazyLock<HashMap<u32, String>> =
        LazyLock::new(|| (0..50).map(|i| (i, format!("entry {i}"))).collect());
    thread_local! {
        static CACHE: std::cell::RefCell<Vec<String>> =
            std::cell::RefCell::new(vec!["warm".to_string()]);
    }
    assert_no_leaks(|| {
        let names = NAMES.get_or_init(|| vec!["a".to_string(), "b".to_string()]);
        assert_eq!(names.len(), 2);
        assert_eq!(TABLE[&7], "entry 7");
        CACHE.with(|cache| assert_eq!(cache.borrow()[0], "warm"));
    });
}

#[test]
fn a_panicking_closure_propagates_and_leaves_no_scope() {
    let outcome = std::panic::catch_unwind(|| {
        check(|| {
            let _held = String::from("held while unwinding");
            panic!("boom inside the check");
        })
    });
    assert!(outcome.is_err());
    assert!(!in_check());
    assert!(check(|| drop(vec![0_u8; 10])).is_clean());
}

#[test]
#[should_panic(expected = "leaked block(s)")]
fn many_leaks_are_grouped_by_site() {
    let report = check(|| {
        for i in 0..10 {
            core::mem::forget(format!("leaked string number {i}"));
        }
    });
    assert_eq!(report.leak_totals().0, 10, "{report}");
    assert!(
        report.findings.len() < 10,
        "grouped by allocation site: {report}"
    );
    assert_no_leaks(|| {
        for i in 0..10 {
            core::mem::forget(format!("leaked string number {i}"));
        }
    });
}

#[test]
fn allocation_heavy_work_across_threads_is_clean() {
    assert_no_leaks(|| {
        let queue = Arc::new(Mutex::new(Vec::<Box<[u8]>>::new()));
        let producers: Vec<_> = (0..3)
            .map(|t| {
                let queue = queue.clone();
                thread::spawn(move || {
                    for i in 0..3000 {
                        queue
                            .lock()
                            .unwrap()
                            .push(vec![t as u8; 1 + (i * 7) % 300].into());
                    }
                })
            })
            .collect();
        let mut freed = 0;
        while freed < 9000 {
            let batch = core::mem::take(&mut *queue.lock().unwrap());
            freed += batch.len();
            if batch.is_empty() {
                thread::yield_now();
            }
        }
        for producer in producers {
            producer.join().unwrap();
        }
        assert_eq!(freed, 9000);
    });
}
