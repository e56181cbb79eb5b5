//! The recorder's block map: live block address → (site, size, birth), built for the apply
//! loop's one cost, a cache miss per event.
//!
//! # Design
//! Open addressing with linear probing over a power-of-two table of 32-byte slots, at most
//! half full; the home slot of an address is a multiplicative hash of it. Removal shifts the
//! following slots of the probe run back (no tombstones). [`BlockMap::prefetch`] asks the CPU
//! for an address's home slot ahead of time: the recorder applies events in batches and
//! prefetches the slots of the events a few places ahead, so the lookups mostly hit the cache
//! (a general-purpose hash map offers no such call).
//!
//! # Invariants
//! * A slot is empty exactly when its key is 0 (no block lives at address 0).
//! * Every key sits in the probe run that starts at its home slot, with no empty slot between
//!   the home slot and it; `len` counts the keys, and `len * 2 <= slots.len()`.

/// What the map keeps about a live block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Live {
    /// Index of its site in the recorder's site list.
    pub site: u32,
    /// Its size in bytes.
    pub size: usize,
    /// When it was allocated, in ticks.
    pub born: u64,
}

#[derive(Clone, Copy)]
#[repr(C)]
struct Slot {
    key: usize,
    live: Live,
}

const _: () = assert!(core::mem::size_of::<Slot>() == 32);

const EMPTY: Slot = Slot {
    key: 0,
    live: Live {
        site: 0,
        size: 0,
        born: 0,
    },
};

/// Slots of a new map (a power of two).
const INITIAL_SLOTS: usize = 1024;

/// Live blocks by address (see the module docs).
pub struct BlockMap {
    slots: std::vec::Vec<Slot>,
    len: usize,
    shift: u32,
}

impl Default for BlockMap {
    fn default() -> Self {
        BlockMap::new()
    }
}

impl BlockMap {
    /// An empty map.
    pub fn new() -> BlockMap {
        BlockMap {
            slots: std::vec::Vec::new(),
            len: 0,
            shift: 64,
        }
    }

    #[inline]
    fn home(&self, key: usize) -> usize {
        // Fibonacci hashing: the top bits of the product; blocks are 16-byte aligned.
        ((key as u64 >> 4).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Asks the CPU to bring `key`'s home slot into the cache (a hint: no effect elsewhere).
    #[inline]
    pub fn prefetch(&self, key: usize) {
        if self.slots.is_empty() {
            return;
        }
        #[cfg(target_arch = "x86_64")]
        {
            let slot = self.slots.as_ptr().wrapping_add(self.home(key));
            // SAFETY: a prefetch is a hint that never faults, whatever the address; this one
            // lies in the table.
            unsafe {
                core::arch::x86_64::_mm_prefetch(slot.cast::<i8>(), core::arch::x86_64::_MM_HINT_T0)
            };
        }
    }

    /// The slot holding `key`, if any.
    #[inline]
    fn find(&self, key: usize) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut index = self.home(key);
        loop {
            let slot = &self.slots[index];
            if slot.key == key {
                return Some(index);
            }
            if slot.key == 0 {
                return None;
            }
            index = (index + 1) & mask;
        }
    }

    #[cfg(test)]
    /// Whether `key` is in the map.
    pub fn contains(&self, key: usize) -> bool {
        self.find(key).is_some()
    }

    /// Inserts `key`; returns what it replaced.
    pub fn insert(&mut self, key: usize, live: Live) -> Option<Live> {
        debug_assert!(key != 0, "block map: address 0");
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.mask();
        let mut index = self.home(key);
        loop {
            let slot = &mut self.slots[index];
            if slot.key == key {
                return Some(core::mem::replace(&mut slot.live, live));
            }
            if slot.key == 0 {
                *slot = Slot { key, live };
                self.len += 1;
                return None;
            }
            index = (index + 1) & mask;
        }
    }

    /// Removes `key`; returns what it held.
    pub fn remove(&mut self, key: usize) -> Option<Live> {
        let mut hole = self.find(key)?;
        let removed = self.slots[hole].live;
        let mask = self.mask();
        // Shift back every later key of the run that may move into the hole.
        let mut next = (hole + 1) & mask;
        loop {
            let slot = self.slots[next];
            if slot.key == 0 {
                break;
            }
            let home = self.home(slot.key);
            // The key may fill the hole when its home is not in (hole, next], cyclically.
            let distance_to_next = next.wrapping_sub(home) & mask;
            let distance_to_hole = next.wrapping_sub(hole) & mask;
            if distance_to_next >= distance_to_hole {
                self.slots[hole] = slot;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.slots[hole] = EMPTY;
        self.len -= 1;
        Some(removed)
    }

    /// Every live block, in no order.
    pub fn values(&self) -> impl Iterator<Item = &Live> {
        self.slots
            .iter()
            .filter(|slot| slot.key != 0)
            .map(|slot| &slot.live)
    }

    #[cfg(test)]
    /// How many blocks the map holds.
    pub fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    /// Whether the map holds no block.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn grow(&mut self) {
        let slots = (self.slots.len() * 2).max(INITIAL_SLOTS);
        let old = core::mem::replace(&mut self.slots, std::vec![EMPTY; slots]);
        self.shift = 64 - slots.trailing_zeros();
        self.len = 0;
        for slot in old {
            if slot.key != 0 {
                self.insert(slot.key, slot.live);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn live(n: usize) -> Live {
        Live {
            site: n as u32,
            size: n,
            born: n as u64,
        }
    }

    #[test]
    fn matches_a_hash_map_through_inserts_and_removes() {
        let mut map = BlockMap::new();
        let mut model: HashMap<usize, Live> = HashMap::new();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for step in 0..200_000usize {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Addresses in a few dense regions, as a heap's are.
            let region = (state % 4) as usize * (1 << 32);
            let key = 0x1000 + region + ((state >> 8) % 5000) as usize * 16;
            if state % 3 == 0 {
                assert_eq!(map.remove(key), model.remove(&key), "step {step}");
            } else {
                assert_eq!(map.insert(key, live(step)), model.insert(key, live(step)));
            }
            assert_eq!(map.len(), model.len());
        }
        for (&key, value) in &model {
            assert_eq!(map.find(key).map(|i| map.slots[i].live), Some(*value));
            map.prefetch(key);
        }
        assert_eq!(map.values().count(), model.len());
        for key in model.keys() {
            assert!(map.remove(*key).is_some());
        }
        assert!(map.is_empty());
        assert!(!map.contains(0x1000));
    }
}
