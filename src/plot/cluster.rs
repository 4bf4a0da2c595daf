//! Hierarchical clustering of the heatmap's rows (resistant lines) and columns (drugs), so lines
//! with alike collateral profiles and drugs that act alike sit side by side.
//!
//! - **Values**: the log2 fold changes as the heatmap shows them: clipped to the colour scale's
//!   ±limit (so the distance is between the colours a reader sees, and one saturated cell does
//!   not outweigh the rest); undetermined cells (NaN) are missing.
//! - **Distance**: Euclidean over the positions where both vectors have a value, scaled up by
//!   √(n / shared) for the missing ones (as R's `dist`). Two vectors sharing no value are put
//!   farther apart than any two that share one: twice the largest distance found (1 when no
//!   two share a value), so what carries no information joins last.
//! - **Linkage**: average (UPGMA), computed with the nearest-neighbour chain, O(n²) time and
//!   memory; a thousand drugs take milliseconds.
//! - **Leaf order**: at every merge the branch holding the smaller original index comes first,
//!   so the order is a pure function of the values and the input order (never of threads or
//!   timing), identical vectors are adjacent, and vectors that carry no information keep the
//!   input order.

use ndarray::{Array2, ArrayView1, ArrayView2};

/// One merge of the dendrogram: nodes `0..n` are the leaves, merge `k` creates node `n + k`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merge {
    /// The branch drawn first (holding the smaller original index).
    pub left: usize,
    /// The other branch.
    pub right: usize,
    /// The average-linkage distance at which they join.
    pub height: f64,
}

/// The clustering of n vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// Original indices in display order.
    pub order: Vec<usize>,
    /// The n − 1 merges, each after the merges that made its branches.
    pub merges: Vec<Merge>,
}

/// The distance between two vectors (NaN = missing), `None` when they share no value.
pub fn distance(a: ArrayView1<f64>, b: ArrayView1<f64>) -> Option<f64> {
    let mut sum = 0.0;
    let mut shared = 0usize;
    for (x, y) in a.iter().zip(b.iter()) {
        if x.is_finite() && y.is_finite() {
            sum += (x - y) * (x - y);
            shared += 1;
        }
    }
    (shared > 0).then(|| (sum * a.len() as f64 / shared as f64).sqrt())
}

/// Clusters the rows of `vectors` (NaN = missing) by average linkage; the columns of a matrix
/// cluster as the rows of its transpose (`matrix.t()`).
pub fn cluster(vectors: ArrayView2<f64>) -> Clustering {
    let n = vectors.nrows();
    if n < 2 {
        return Clustering {
            order: (0..n).collect(),
            merges: Vec::new(),
        };
    }
    // Full matrix of distances; pairs without a shared value get twice the largest one found.
    let mut d = Array2::from_elem((n, n), f64::NAN);
    let mut largest = 0.0f64;
    for i in 0..n {
        d[[i, i]] = 0.0;
        for j in i + 1..n {
            let v = distance(vectors.row(i), vectors.row(j)).unwrap_or(f64::NAN);
            if v.is_finite() {
                largest = largest.max(v);
            }
            d[[i, j]] = v;
            d[[j, i]] = v;
        }
    }
    let apart = if largest > 0.0 { 2.0 * largest } else { 1.0 };
    for v in d.iter_mut() {
        if !v.is_finite() {
            *v = apart;
        }
    }
    // Nearest-neighbour chain over matrix slots; a merged cluster lives on in the lower slot.
    let mut size = vec![1usize; n];
    let mut node: Vec<usize> = (0..n).collect();
    let mut first_leaf: Vec<usize> = (0..n).collect();
    let mut active = vec![true; n];
    let mut merges: Vec<Merge> = Vec::with_capacity(n - 1);
    let mut chain: Vec<usize> = Vec::new();
    while merges.len() < n - 1 {
        if chain.is_empty() {
            chain.push(active.iter().position(|&a| a).expect("an active cluster"));
        }
        let a = *chain.last().unwrap();
        // Nearest active neighbour; the previous chain element wins ties, which keeps the chain
        // from cycling; otherwise the lowest slot.
        let previous = chain.len().checked_sub(2).map(|k| chain[k]);
        let mut best = previous;
        let mut best_d = previous.map_or(f64::INFINITY, |p| d[[a, p]]);
        for c in 0..n {
            if c != a && active[c] && Some(c) != previous && d[[a, c]] < best_d {
                best = Some(c);
                best_d = d[[a, c]];
            }
        }
        let b = best.expect("two active clusters");
        if Some(b) == previous {
            chain.pop();
            chain.pop();
            let (keep, gone) = (a.min(b), a.max(b));
            let (left, right) = if first_leaf[a] <= first_leaf[b] {
                (node[a], node[b])
            } else {
                (node[b], node[a])
            };
            merges.push(Merge {
                left,
                right,
                height: best_d,
            });
            let (sa, sb) = (size[a] as f64, size[b] as f64);
            for c in 0..n {
                if active[c] && c != a && c != b {
                    let v = (sa * d[[a, c]] + sb * d[[b, c]]) / (sa + sb);
                    d[[keep, c]] = v;
                    d[[c, keep]] = v;
                }
            }
            active[gone] = false;
            size[keep] += size[gone];
            first_leaf[keep] = first_leaf[a].min(first_leaf[b]);
            node[keep] = n + merges.len() - 1;
        } else {
            chain.push(b);
        }
    }
    // Leaves in display order: depth first from the root, left branch first.
    let mut order = Vec::with_capacity(n);
    let mut stack = vec![n + merges.len() - 1];
    while let Some(id) = stack.pop() {
        if id < n {
            order.push(id);
        } else {
            let m = merges[id - n];
            stack.push(m.right);
            stack.push(m.left);
        }
    }
    Clustering { order, merges }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::aview1;

    /// The vectors as the rows of a matrix.
    fn rows(vectors: &[Vec<f64>]) -> Array2<f64> {
        let width = vectors.first().map_or(0, Vec::len);
        Array2::from_shape_fn((vectors.len(), width), |(r, c)| vectors[r][c])
    }

    #[test]
    fn distance_scales_for_missing_values_and_needs_one_shared() {
        assert_eq!(
            distance(aview1(&[0.0, 3.0]), aview1(&[4.0, 0.0])),
            Some(5.0)
        );
        // One of two positions shared: scaled by √2.
        let d = distance(aview1(&[1.0, f64::NAN]), aview1(&[2.0, 5.0])).unwrap();
        assert!((d - 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(
            distance(aview1(&[f64::NAN, 1.0]), aview1(&[1.0, f64::NAN])),
            None
        );
    }

    #[test]
    fn identical_vectors_are_adjacent_and_order_is_a_permutation() {
        let v = |x: &[f64]| x.to_vec();
        let vectors = vec![
            v(&[3.0, -2.0, 0.0]),
            v(&[-1.0, 1.0, 2.0]),
            v(&[3.0, -2.0, 0.0]),
            v(&[0.0, 0.0, 0.0]),
            v(&[-1.0, 1.0, 2.0]),
            v(&[3.0, -2.0, 0.0]),
        ];
        let c = cluster(rows(&vectors).view());
        let mut sorted = c.order.clone();
        sorted.sort();
        assert_eq!(sorted, (0..6).collect::<Vec<_>>());
        assert_eq!(c.merges.len(), 5);
        let pos = |i: usize| c.order.iter().position(|&x| x == i).unwrap();
        let mut group = [pos(0), pos(2), pos(5)];
        group.sort();
        assert_eq!(group[2] - group[0], 2, "{:?}", c.order);
        assert_eq!(pos(1).abs_diff(pos(4)), 1, "{:?}", c.order);
        // The first leaf stays first: branches with the lower index come first.
        assert_eq!(c.order[0], 0);
        // Identical vectors join at height 0.
        assert_eq!(c.merges.iter().filter(|m| m.height == 0.0).count(), 3);
    }

    #[test]
    fn average_linkage_heights_match_a_hand_computation() {
        // Points on a line at 0, 1, 5: {0,1} join at 1, then 5 joins at mean(5, 4) = 4.5.
        let c = cluster(rows(&[vec![0.0], vec![1.0], vec![5.0]]).view());
        assert_eq!(c.order, vec![0, 1, 2]);
        assert_eq!(
            c.merges,
            vec![
                Merge {
                    left: 0,
                    right: 1,
                    height: 1.0
                },
                Merge {
                    left: 3,
                    right: 2,
                    height: 4.5
                }
            ]
        );
    }

    #[test]
    fn vectors_without_shared_values_join_last_and_missing_rows_keep_input_order() {
        let nan = f64::NAN;
        let c = cluster(
            rows(&[
                vec![nan, nan],
                vec![1.0, nan],
                vec![nan, nan],
                vec![1.2, nan],
            ])
            .view(),
        );
        // 1 and 3 share a value and join first (at their distance, 0.2 · √2); every other pair
        // shares nothing and sits at twice that; the missing rows keep their input order.
        let d = 0.2 * 2f64.sqrt();
        assert!((c.merges[0].height - d).abs() < 1e-12);
        assert_eq!((c.merges[0].left, c.merges[0].right), (1, 3));
        assert!(c.merges[1..]
            .iter()
            .all(|m| (m.height - 2.0 * d).abs() < 1e-12));
        assert_eq!(c.order, vec![0, 1, 3, 2]);
    }

    /// The clusters (as sorted leaf sets) a merge list creates, with their heights.
    fn clusters_of(n: usize, merges: &[Merge]) -> Vec<(Vec<usize>, f64)> {
        let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
        let mut out = Vec::new();
        for m in merges {
            let mut set = [members[m.left].clone(), members[m.right].clone()].concat();
            set.sort();
            members.push(set.clone());
            out.push((set, m.height));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn nearest_neighbour_chain_matches_naive_average_linkage() {
        // Irregular values without ties, some missing.
        let vectors: Vec<Vec<f64>> = (0..30)
            .map(|i| {
                (0..6)
                    .map(|k| {
                        if (i * 5 + k * 3) % 17 == 0 {
                            f64::NAN
                        } else {
                            ((i * 37 + k * 101) as f64 * 0.618).sin() * 3.0 + (i % 3) as f64
                        }
                    })
                    .collect()
            })
            .collect();
        let n = vectors.len();
        let dist = |i: usize, j: usize| distance(aview1(&vectors[i]), aview1(&vectors[j])).unwrap();
        // Naive UPGMA: merge the closest pair of clusters by mean leaf distance, n − 1 times.
        let mut clusters: Vec<(Vec<usize>, usize)> = (0..n).map(|i| (vec![i], i)).collect();
        let mut naive: Vec<Merge> = Vec::new();
        while clusters.len() > 1 {
            let mut best = (f64::INFINITY, 0, 0);
            for a in 0..clusters.len() {
                for b in a + 1..clusters.len() {
                    let (x, y) = (&clusters[a].0, &clusters[b].0);
                    let mean = x
                        .iter()
                        .flat_map(|&i| y.iter().map(move |&j| (i, j)))
                        .map(|(i, j)| dist(i, j))
                        .sum::<f64>()
                        / (x.len() * y.len()) as f64;
                    if mean < best.0 {
                        best = (mean, a, b);
                    }
                }
            }
            let (h, a, b) = best;
            let right = clusters.remove(b);
            let left = clusters.remove(a);
            naive.push(Merge {
                left: left.1,
                right: right.1,
                height: h,
            });
            clusters.push(([left.0, right.0].concat(), n + naive.len() - 1));
        }
        let fast = cluster(rows(&vectors).view());
        let (want, got) = (clusters_of(n, &naive), clusters_of(n, &fast.merges));
        assert_eq!(want.len(), got.len());
        for ((ws, wh), (gs, gh)) in want.iter().zip(&got) {
            assert_eq!(ws, gs);
            assert!((wh - gh).abs() < 1e-9, "{wh} vs {gh}");
        }
        // The order is a permutation, and each cluster's leaves are contiguous in it.
        let pos: Vec<usize> = (0..n)
            .map(|i| fast.order.iter().position(|&x| x == i).unwrap())
            .collect();
        for (set, _) in &got {
            let ps: Vec<usize> = set.iter().map(|&i| pos[i]).collect();
            assert_eq!(
                ps.iter().max().unwrap() - ps.iter().min().unwrap(),
                set.len() - 1
            );
        }
    }
}
