//! A k-way merge of per-CPU streams into one time-ordered stream.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::time::Timestamped;

/// Merges several iterators of `Result<T, E>` by [`Timestamped::timestamp_ns`].
///
/// Each input must already be in time order (a per-CPU stream is). Items with equal timestamps come
/// out in input order (the stream index breaks ties), so the merge is stable. An `Err` from any
/// input is yielded at once and ends the merge. Memory is one pending item per input.
///
/// ```
/// use ktrace_core::{merge::Merge, Timestamped};
/// #[derive(Debug, PartialEq)] struct E(u64, u32);
/// impl Timestamped for E { fn timestamp_ns(&self) -> u64 { self.0 } }
/// let cpu0 = vec![Ok::<_, ()>(E(1, 0)), Ok(E(5, 0))];
/// let cpu1 = vec![Ok(E(2, 1)), Ok(E(5, 1))];
/// let m: Vec<_> = Merge::new(vec![cpu0.into_iter(), cpu1.into_iter()]).map(|r| r.unwrap().0).collect();
/// assert_eq!(m, vec![1, 2, 5, 5]);
/// ```
pub struct Merge<I: Iterator, E0 = ()> {
    inputs: Vec<I>,
    heads: Vec<Option<I::Item>>,
    heap: BinaryHeap<Reverse<(u64, usize)>>,
    pending_err: Option<E0>,
    primed: bool,
    done: bool,
}

impl<T: Timestamped, E, I: Iterator<Item = Result<T, E>>> Merge<I, E> {
    /// A merge of `inputs` (index = the order used to break ties, usually the CPU).
    pub fn new(inputs: Vec<I>) -> Self {
        let n = inputs.len();
        Merge {
            inputs,
            heads: (0..n).map(|_| None).collect(),
            heap: BinaryHeap::with_capacity(n),
            pending_err: None,
            primed: false,
            done: false,
        }
    }

    /// Pulls the next item of input `i` into its head slot; returns an error to yield now.
    fn refill(&mut self, i: usize) -> Option<E> {
        let next = self.inputs.get_mut(i).and_then(Iterator::next);
        match next {
            Some(Ok(t)) => {
                self.heap.push(Reverse((t.timestamp_ns(), i)));
                if let Some(h) = self.heads.get_mut(i) {
                    *h = Some(Ok(t));
                }
                None
            }
            Some(Err(e)) => Some(e),
            None => None,
        }
    }
}

impl<T: Timestamped, E, I: Iterator<Item = Result<T, E>>> Iterator for Merge<I, E> {
    type Item = Result<T, E>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if let Some(e) = self.pending_err.take() {
            self.done = true;
            return Some(Err(e));
        }
        if !self.primed {
            self.primed = true;
            for i in 0..self.inputs.len() {
                if let Some(e) = self.refill(i) {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        let Reverse((_, i)) = self.heap.pop()?;
        let item = self.heads.get_mut(i).and_then(Option::take);
        if let Some(e) = self.refill(i) {
            // Yield the item we hold, then the error, then nothing.
            self.heap.clear();
            self.pending_err = Some(e);
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[derive(Debug, PartialEq, Clone, Copy)]
    struct E(u64, u32);
    impl Timestamped for E {
        fn timestamp_ns(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn merges_stably() {
        let a = vec![Ok::<_, ()>(E(1, 0)), Ok(E(3, 0)), Ok(E(3, 0)), Ok(E(9, 0))];
        let b = vec![Ok(E(0, 1)), Ok(E(3, 1)), Ok(E(10, 1))];
        let c: Vec<Result<E, ()>> = vec![];
        let got: Vec<_> = Merge::new(vec![a.into_iter(), b.into_iter(), c.into_iter()]).map(Result::unwrap).collect();
        assert_eq!(got, vec![E(0, 1), E(1, 0), E(3, 0), E(3, 0), E(3, 1), E(9, 0), E(10, 1)]);
    }

    #[test]
    fn stops_at_error() {
        let a = vec![Ok(E(1, 0)), Err("bad"), Ok(E(2, 0))];
        let b = vec![Ok(E(5, 1))];
        let got: Vec<_> = Merge::new(vec![a.into_iter(), b.into_iter()]).collect();
        assert_eq!(got, vec![Ok(E(1, 0)), Err("bad")]);
    }
}
