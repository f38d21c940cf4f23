//! The order of PyTorch's CPU `argsort(descending=True)`, ties included, which yolov5's NMS
//! inherits.
//!
//! PyTorch sorts with libstdc++'s `std::sort` (introsort: median-of-three quicksort down to
//! 16-element runs, heapsort past a depth limit, then insertion sort), which is not stable:
//! which of several equal scores comes first depends on the whole array. yolov5 keeps that
//! order into `torchvision.ops.nms`, so among tied overlapping boxes it decides the survivor.
//! This is a step-by-step port, checked against torch on random tie-heavy arrays and by the
//! decoder parity fixtures.

/// Indices of `values` in the order `torch.tensor(values).argsort(descending=True)` gives on CPU.
pub fn torch_argsort_descending(values: &[f32]) -> Vec<usize> {
    let mut a: Vec<(f32, usize)> = values.iter().copied().zip(0..).collect();
    let n = a.len();
    if n > 1 {
        let depth = 2 * (usize::BITS - 1 - n.leading_zeros()) as usize;
        introsort(&mut a, 0, n, depth);
        final_insertion_sort(&mut a, 0, n);
    }
    a.into_iter().map(|(_, i)| i).collect()
}

/// Below this many elements introsort leaves the run to the final insertion sort.
const THRESHOLD: usize = 16;

/// torch's `KeyValueCompDesc`: NaN first, then larger values.
fn before(a: (f32, usize), b: (f32, usize)) -> bool {
    (a.0.is_nan() && !b.0.is_nan()) || a.0 > b.0
}

fn introsort(a: &mut [(f32, usize)], first: usize, mut last: usize, mut depth: usize) {
    while last - first > THRESHOLD {
        if depth == 0 {
            heap_sort(a, first, last);
            return;
        }
        depth -= 1;
        let cut = partition_pivot(a, first, last);
        introsort(a, cut, last, depth);
        last = cut;
    }
}

fn move_median_to_first(a: &mut [(f32, usize)], result: usize, x: usize, y: usize, z: usize) {
    let pick = if before(a[x], a[y]) {
        if before(a[y], a[z]) {
            y
        } else if before(a[x], a[z]) {
            z
        } else {
            x
        }
    } else if before(a[x], a[z]) {
        x
    } else if before(a[y], a[z]) {
        z
    } else {
        y
    };
    a.swap(result, pick);
}

fn partition_pivot(a: &mut [(f32, usize)], first: usize, last: usize) -> usize {
    let mid = first + (last - first) / 2;
    move_median_to_first(a, first, first + 1, mid, last - 1);
    let (pivot, mut lo, mut hi) = (first, first + 1, last);
    loop {
        while before(a[lo], a[pivot]) {
            lo += 1;
        }
        hi -= 1;
        while before(a[pivot], a[hi]) {
            hi -= 1;
        }
        if lo >= hi {
            return lo;
        }
        a.swap(lo, hi);
        lo += 1;
    }
}

fn unguarded_linear_insert(a: &mut [(f32, usize)], mut last: usize) {
    let value = a[last];
    while last > 0 && before(value, a[last - 1]) {
        a[last] = a[last - 1];
        last -= 1;
    }
    a[last] = value;
}

fn insertion_sort(a: &mut [(f32, usize)], first: usize, last: usize) {
    for i in first + 1..last {
        if before(a[i], a[first]) {
            a[first..=i].rotate_right(1);
        } else {
            unguarded_linear_insert(a, i);
        }
    }
}

fn final_insertion_sort(a: &mut [(f32, usize)], first: usize, last: usize) {
    if last - first > THRESHOLD {
        insertion_sort(a, first, first + THRESHOLD);
        for i in first + THRESHOLD..last {
            unguarded_linear_insert(a, i);
        }
    } else {
        insertion_sort(a, first, last);
    }
}

/// `std::__adjust_heap` on the heap `a[first..first + len]`, then `std::__push_heap`.
fn adjust_heap(a: &mut [(f32, usize)], first: usize, mut hole: usize, len: usize, value: (f32, usize)) {
    let top = hole;
    let mut child = hole;
    while child < (len - 1) / 2 {
        child = 2 * (child + 1);
        if before(a[first + child], a[first + child - 1]) {
            child -= 1;
        }
        a[first + hole] = a[first + child];
        hole = child;
    }
    if len.is_multiple_of(2) && child == (len - 2) / 2 {
        child = 2 * (child + 1);
        a[first + hole] = a[first + child - 1];
        hole = child - 1;
    }
    while hole > top {
        let parent = (hole - 1) / 2;
        if !before(a[first + parent], value) {
            break;
        }
        a[first + hole] = a[first + parent];
        hole = parent;
    }
    a[first + hole] = value;
}

/// `std::__partial_sort(first, last, last)`: make a heap, then pop it.
fn heap_sort(a: &mut [(f32, usize)], first: usize, mut last: usize) {
    let len = last - first;
    if len >= 2 {
        let mut parent = (len - 2) / 2;
        loop {
            adjust_heap(a, first, parent, len, a[first + parent]);
            if parent == 0 {
                break;
            }
            parent -= 1;
        }
    }
    while last - first > 1 {
        last -= 1;
        let value = a[last];
        a[last] = a[first];
        adjust_heap(a, first, 0, last - first, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_arrays_are_stable() {
        // Up to 16 elements libstdc++ only runs insertion sort.
        assert_eq!(torch_argsort_descending(&[0.5, 0.7, 0.5, 0.7, 0.5]), [1, 3, 0, 2, 4]);
        assert_eq!(torch_argsort_descending(&[]), Vec::<usize>::new());
    }

    #[test]
    fn longer_tied_arrays_match_torch() {
        // torch.tensor(([0.5] * 5 + [0.7] * 5) * 2).argsort(descending=True), torch 2.15 CPU.
        let values: Vec<f32> = [[0.5; 5], [0.7; 5], [0.5; 5], [0.7; 5]].concat();
        assert_eq!(
            torch_argsort_descending(&values),
            [19, 18, 17, 16, 5, 6, 7, 8, 9, 15, 10, 14, 13, 12, 11, 0, 4, 3, 2, 1]
        );
    }

    #[test]
    fn heap_sort_fallback_sorts() {
        let mut a: Vec<(f32, usize)> = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0].iter().copied().zip(0..).collect();
        let n = a.len();
        heap_sort(&mut a, 0, n);
        let sorted: Vec<f32> = a.iter().map(|p| p.0).collect();
        assert_eq!(sorted, [9.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 1.0]);
    }

    #[test]
    fn sorts_descending() {
        let values: Vec<f32> = (0..500).map(|i| ((i * 7919) % 101) as f32).collect();
        let order = torch_argsort_descending(&values);
        assert!(order.windows(2).all(|w| values[w[0]] >= values[w[1]]));
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..500).collect::<Vec<_>>());
    }
}
