//! Smooth weighted round-robin (as nginx spreads it: weights 5,1,1 give a,a,b,a,c,a,a
//! rather than five a's in a row), precomputed once per snapshot so a pick is one
//! atomic increment.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Above this many slots the weights are scaled down; ratios stay close.
const MAX_SLOTS: u64 = 4096;

#[derive(Debug)]
pub struct Schedule {
    slots: Vec<u32>,
    cursor: AtomicUsize,
}

impl Schedule {
    pub fn new(weights: &[u32]) -> Schedule {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let scale = total.div_ceil(MAX_SLOTS).max(1);
        let weights: Vec<i64> = weights
            .iter()
            .map(|w| (u64::from(*w) / scale).max(1) as i64)
            .collect();
        let total: i64 = weights.iter().sum();
        let mut current = vec![0i64; weights.len()];
        let mut slots = Vec::with_capacity(total as usize);
        for _ in 0..total {
            let mut best = 0;
            for (i, w) in weights.iter().enumerate() {
                current[i] += w;
                if current[i] > current[best] {
                    best = i;
                }
            }
            current[best] -= total;
            slots.push(best as u32);
        }
        Schedule {
            slots,
            cursor: AtomicUsize::new(0),
        }
    }

    /// Walks at most one full turn from the cursor and returns the first slot `ok` accepts.
    pub fn pick(&self, ok: impl Fn(usize) -> bool) -> Option<usize> {
        let len = self.slots.len();
        if len == 0 {
            return None;
        }
        let start = self.cursor.fetch_add(1, Ordering::Relaxed);
        for step in 0..len {
            let backend = self.slots[(start + step) % len] as usize;
            if ok(backend) {
                if step > 0 {
                    // Skipped slots are not charged to this pick's successors.
                    self.cursor.fetch_add(step, Ordering::Relaxed);
                }
                return Some(backend);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(schedule: &Schedule, n: usize, ok: impl Fn(usize) -> bool + Copy) -> Vec<usize> {
        let mut counts = vec![0; 3];
        for _ in 0..n {
            if let Some(b) = schedule.pick(ok) {
                counts[b] += 1;
            }
        }
        counts
    }

    #[test]
    fn weights_are_honoured_and_smooth() {
        let s = Schedule::new(&[5, 1, 1]);
        assert_eq!(s.slots, vec![0, 0, 1, 0, 2, 0, 0]);
        assert_eq!(counts(&s, 700, |_| true), vec![500, 100, 100]);
    }

    #[test]
    fn unavailable_backends_are_skipped_and_their_share_spread() {
        let s = Schedule::new(&[1, 1, 1]);
        assert_eq!(counts(&s, 300, |b| b != 1), vec![150, 0, 150]);
        assert_eq!(s.pick(|_| false), None);
    }

    #[test]
    fn huge_weights_are_scaled() {
        let s = Schedule::new(&[1_000_000, 1]);
        assert!(s.slots.len() <= MAX_SLOTS as usize + 1);
        assert!(s.slots.contains(&1));
    }
}
