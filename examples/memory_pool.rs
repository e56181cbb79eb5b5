//! A typed object pool: nodes of a binary search tree come from a `MemoryPool`, freed nodes
//! are reused first, and the whole tree goes back to the page allocator when the pool drops.
//!
//! Run with `cargo run --example memory_pool`.

use std::ptr::NonNull;

use gpa::{MemoryPool, PageAllocator, ResetMode};

struct Node {
    key: u32,
    left: Option<NonNull<Node>>,
    right: Option<NonNull<Node>>,
}

/// Inserts `key` below `root`, taking the node from `pool`.
fn insert(
    pool: &MemoryPool<'_, Node>,
    root: &mut Option<NonNull<Node>>,
    key: u32,
) -> Result<(), gpa::Error> {
    let mut link = root;
    // SAFETY: every link points at a live node of `pool` (nodes are only destroyed by
    // `remove_min`, which unlinks them first).
    while let Some(mut node) = *link {
        let node = unsafe { node.as_mut() };
        link = if key < node.key {
            &mut node.left
        } else {
            &mut node.right
        };
    }
    *link = Some(pool.create(Node {
        key,
        left: None,
        right: None,
    })?);
    Ok(())
}

/// Removes the smallest key, giving its node back to the pool.
fn remove_min(pool: &MemoryPool<'_, Node>, root: &mut Option<NonNull<Node>>) -> Option<u32> {
    let mut link = root;
    loop {
        let node = (*link)?;
        // SAFETY: a live node of `pool` (see `insert`).
        let left = unsafe { node.as_ref().left };
        if left.is_none() {
            // SAFETY: as above; the node is unlinked before it is destroyed.
            let (key, right) = unsafe { (node.as_ref().key, node.as_ref().right) };
            *link = right;
            // SAFETY: created by this pool, unlinked, destroyed once.
            unsafe { pool.destroy(node) };
            return Some(key);
        }
        // SAFETY: as above.
        link = unsafe { &mut (*node.as_ptr()).left };
    }
}

pub fn main() -> Result<(), gpa::Error> {
    let page = PageAllocator::new();
    let mut pool = MemoryPool::<Node>::new(page.allocator());
    let mut root = None;
    let mut key = 12345u32;
    for _ in 0..10_000 {
        // xorshift32: a fixed pseudo-random order, so the tree is reasonably balanced.
        key ^= key << 13;
        key ^= key >> 17;
        key ^= key << 5;
        insert(&pool, &mut root, key % 1_000_000)?;
    }
    println!(
        "inserted 10000 keys: {} live nodes in {} slots of {} bytes ({} bytes of chunks)",
        pool.live(),
        pool.capacity(),
        MemoryPool::<Node>::SLOT_SIZE,
        pool.chunk_bytes()
    );
    let smallest: Vec<u32> = (0..5)
        .filter_map(|_| remove_min(&pool, &mut root))
        .collect();
    assert!(smallest.windows(2).all(|w| w[0] <= w[1]));
    let capacity = pool.capacity();
    for extra in 0..5 {
        insert(&pool, &mut root, extra)?;
    }
    assert_eq!(pool.capacity(), capacity, "freed slots were reused");
    println!("removed the 5 smallest keys {smallest:?}, inserted 5 more: capacity unchanged at {capacity}");

    assert!(pool.reset(ResetMode::RetainCapacity));
    println!(
        "reset(RetainCapacity): {} live, {} slots kept for the next tree",
        pool.live(),
        pool.capacity()
    );

    let fixed = MemoryPool::<u64>::non_growable(page.allocator(), 3)?;
    let made = (0..5).filter(|&i| fixed.create(i).is_ok()).count();
    println!("a non-growable pool of 3 slots accepted {made} of 5 creates");
    assert_eq!(made, 3);
    Ok(())
}
