//! A larson-like server loop (after Larson and Krishnan's benchmark): each thread keeps a
//! table of live blocks and repeatedly replaces a random one; every round the threads swap
//! tables, so the next frees hit blocks that the other thread allocated.
//!
//! # Design
//! The original hands a thread's table to a newly created thread; here two long-lived threads
//! trade tables through a pair of rendezvous channels every `ROUND` steps. A round of 2000
//! steps over a 1000-slot table frees about 86% of the inherited blocks, so roughly 40% of all
//! frees are remote frees. Reported: wall nanoseconds per free+alloc pair of the total.

use core::alloc::GlobalAlloc;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

use super::{alloc, free, free_all, timed, Block, Params, Sample};
use crate::rng::Rng;

const SLOTS: usize = 1000;
const ROUND: usize = 2000;
const MIN_SIZE: usize = 16;
const MAX_SIZE: usize = 512;

type Table = Vec<Block>;
/// A thread's channel ends: to the next thread, from the previous one.
type Ends = (SyncSender<Table>, Receiver<Table>);

/// Runs the larson loop on `threads` threads (tables move from thread `i` to thread `i + 1`).
pub fn run<A: GlobalAlloc + Sync>(a: &A, threads: usize, p: &Params) -> Sample {
    let steps = p.count(2_000_000, 4 * ROUND);
    // Every thread does the same number of rounds, so every send has a matching receive.
    let rounds = (steps / threads).div_ceil(ROUND);
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for _ in 0..threads {
        let (tx, rx) = sync_channel::<Table>(1);
        senders.push(tx);
        receivers.push(Some(rx));
    }
    // Thread i sends to thread i+1 and receives from thread i-1.
    let ends: Vec<Mutex<Option<Ends>>> = (0..threads)
        .map(|i| {
            let rx = receivers[i].take().expect("each receiver once");
            Mutex::new(Some((senders[(i + 1) % threads].clone(), rx)))
        })
        .collect();
    drop(senders);
    let elapsed = timed(
        threads,
        |t| {
            let mut rng = Rng::new(p.seed, t as u64);
            let table: Table = (0..SLOTS)
                .map(|_| alloc(a, rng.range(MIN_SIZE, MAX_SIZE)))
                .collect();
            let ends = ends[t]
                .lock()
                .unwrap()
                .take()
                .expect("each thread's ends once");
            (rng, table, ends)
        },
        |_, (rng, table, (tx, rx))| {
            for _ in 0..rounds {
                for _ in 0..ROUND {
                    let i = rng.below(SLOTS);
                    // SAFETY: this thread owns the table and every block in it; the slot is
                    // refilled at once, so no block is freed twice.
                    unsafe { free(a, table[i]) };
                    table[i] = alloc(a, rng.range(MIN_SIZE, MAX_SIZE));
                }
                let mine = std::mem::take(table);
                tx.send(mine).expect("peer alive until its last round");
                *table = rx.recv().expect("peer sends every round");
            }
        },
        // SAFETY: after the last exchange this thread owns the table it holds, and tables are
        // never duplicated (they move through the channels).
        |(_, table, _)| unsafe { free_all(a, table) },
    );
    Sample::per_unit(elapsed, rounds * ROUND * threads)
}
