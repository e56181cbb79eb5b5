//! The GPA as this test binary's `#[global_allocator]`, with full safety and 6-frame traces:
//! std collections, threads (also freeing each other's blocks), formatting, and a report
//! rendered while the GPA is the global allocator, all ending without findings.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{mpsc, Arc, Mutex};

use gpa::{Config, GeneralPurposeAllocator};

#[global_allocator]
static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config::debug());

#[test]
fn collections_threads_and_formatting_make_no_findings() {
    let mut map = HashMap::new();
    let mut tree = BTreeMap::new();
    let mut queue = VecDeque::new();
    for i in 0..20_000u32 {
        map.insert(format!("key-{i}"), vec![i; (i % 40) as usize]);
        tree.insert(i, i.to_string());
        queue.push_back(Box::new(i));
        if i % 3 == 0 {
            map.remove(&format!("key-{}", i / 2));
            queue.pop_front();
        }
    }
    assert_eq!(tree.len(), 20_000);
    drop((map, tree, queue));

    // Blocks made on one thread and freed on another, both ways.
    let (to_worker, from_main) = mpsc::channel::<Vec<u8>>();
    let (to_main, from_worker) = mpsc::channel::<String>();
    let worker = std::thread::spawn(move || {
        let mut total = 0usize;
        for block in from_main {
            total += block.len();
            to_main.send("x".repeat(block.len() % 300)).unwrap();
        }
        total
    });
    for i in 0..5_000usize {
        to_worker.send(vec![7u8; i % 2_000 + 1]).unwrap();
    }
    drop(to_worker);
    let received: usize = from_worker.iter().map(|text| text.len()).sum();
    let sent = worker.join().unwrap();
    assert!(sent > 0 && received > 0);

    // Many short-lived threads: their heaps are abandoned and adopted, nothing stranded.
    let shared = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..16)
        .map(|t| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let local: Vec<String> = (0..500).map(|i| format!("{t}:{i}")).collect();
                shared.lock().unwrap().extend(local);
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(shared.lock().unwrap().len(), 16 * 500);

    let report = GPA.report();
    assert!(report.is_clean(), "{report}");
}

#[test]
fn a_report_can_be_rendered_while_the_gpa_is_global() {
    // A deliberate mistake on a separate instance: its report is symbolized (which allocates)
    // while the global GPA serves everything else; no re-entrancy, no deadlock.
    let mut local = GeneralPurposeAllocator::with_config(Config {
        on_error: gpa::OnError::Record,
        ..Config::debug()
    });
    let block = local.allocator().raw_alloc(10, 1).unwrap();
    // SAFETY: deliberate double free on the local instance.
    unsafe {
        local.allocator().raw_free(block, 10, 1);
        local.allocator().raw_free(block, 10, 1);
    }
    let text = local.report().to_string();
    assert!(text.contains("double free"), "{text}");
    assert!(
        text.contains("a_report_can_be_rendered_while_the_gpa_is_global"),
        "{text}"
    );
    assert_eq!(local.deinit(), gpa::Check::Ok);
    assert!(GPA.report().is_clean(), "{}", GPA.report());
}
