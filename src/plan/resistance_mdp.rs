//! Maltas & Wood's time-dependent Markov decision process (t-MDP) over discretized resistance
//! vectors, reproduced so that their optimal policies can be set beside ours
//! ([`super::policy`]); `examples/maltas_wood_tmdp.rs` runs it on their data and
//! `docs/plan.md` reports the comparison.
//!
//! **Their model** (`main_td.rs` of github.com/jamaltas/Temporal_Collateral_Sensitivity, MIT,
//! Copyright (c) 2024 jamaltas):
//!
//! - **state**: the population's resistance to each of n drugs, an integer level in
//!   `[min, max]` (−5..25 for their five drugs: 31⁵ ≈ 28.6 M states);
//! - **action**: the drug given for one evolutionary step;
//! - **transition**: giving drug d adds the resistance steps of one of the replicate
//!   populations evolved in d (drawn uniformly) to every coordinate, clamped to the range. A
//!   step is a change in log2 IC50 binned by [`resistance_step`];
//! - **cost**: the resistance to the drug given, before it acts (minimized);
//! - **epochs**: the day-by-day profiles make one set of steps per 2-day epoch (days 0→2, 2→4,
//!   4→6, 6→8), each epoch `steps_per_epoch` (20) steps long.
//!
//! It is solved backwards ([`solve_time_dependent`]). The last epoch is an infinite-horizon
//! discounted problem (γ = 0.99), solved by value iteration from zero: synchronous sweeps until
//! no value moves by `theta` (0.001) or more than `max_iterations` (7,500) sweeps were made,
//! then the policy is the first drug with the least one-step lookahead. The expected cost at the
//! last step of following that policy for one epoch ([`expected_last_cost`]) is the *future
//! cost* F of each state. The epoch before is solved the same way with F(s) added to the cost
//! of every action in s, and passes on its own F: the expected F of the state it leaves after
//! one epoch of its policy ([`expected_after`]); and so on back to day 0.
//!
//! **What differs from their code**, and why: their F is a Monte Carlo mean of 100 simulated
//! epochs per state from an unseeded generator, which no one can repeat; here it is the exact
//! expectation, to which their estimate converges (by dynamic programming over the epoch's
//! steps). Their transition matrix (4.6 GB of `usize`) is not stored: a transition is a clamped
//! shift, computed on the fly row by row. The value iteration itself is theirs operation for
//! operation (same sums in the same order, same stopping rule, same tie-break), so the values
//! are bit-identical to what their program computes with the same F.
//!
//! Everything here is deterministic and independent of the number of threads: each state's
//! value is computed alone and the largest change is a maximum.

use std::path::Path;

use rayon::prelude::*;

use crate::error::{Error, Location, Problem, Result};
use crate::table::{field, read_bytes, Table};

/// Their binning of a change in log2 IC50 into a resistance step: below −2 → −2, below −0.25 →
/// −1, below 0.25 → 0, below 2 → +1, else +2 (as `discretize_data` in `main_td.rs`; a NaN
/// would land in +2 there and here, which is why [`read_population_series`] refuses one).
pub fn resistance_step(log2_change: f64) -> i8 {
    if log2_change < -2.0 {
        -2
    } else if log2_change < -0.25 {
        -1
    } else if log2_change < 0.25 {
        0
    } else if log2_change < 2.0 {
        1
    } else {
        2
    }
}

/// The state space: resistance levels `min_level..=max_level` to each of `drugs` drugs.
///
/// A state's index counts in base `levels()` with the last drug fastest, as their
/// `product_repeat` enumerates it (their wild type, all zeros on −5..25, is 4,771,525).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResistanceSpace {
    drugs: usize,
    min_level: i8,
    max_level: i8,
}

/// The most states a space may have: values, policies and future costs are dense arrays.
pub const MAX_STATES: usize = 1 << 31;

impl ResistanceSpace {
    /// A space of `drugs` drugs (2–255: a policy stores a drug in a byte) and levels
    /// `min_level..=max_level`, with at most [`MAX_STATES`] states.
    pub fn new(drugs: usize, min_level: i8, max_level: i8) -> Result<ResistanceSpace> {
        let bad = |m: String| Err(Error::config(Location::default(), m));
        if !(2..=255).contains(&drugs) {
            return bad(format!("{drugs} drugs: expected 2 to 255"));
        }
        if min_level > max_level {
            return bad(format!(
                "resistance levels {min_level}..{max_level}: the lowest is above the highest"
            ));
        }
        let levels = (max_level as i32 - min_level as i32 + 1) as usize;
        match levels.checked_pow(drugs as u32) {
            Some(n) if n <= MAX_STATES => Ok(ResistanceSpace {
                drugs,
                min_level,
                max_level,
            }),
            _ => bad(format!(
                "{levels} levels to the power of {drugs} drugs is more than {MAX_STATES} states"
            )),
        }
    }

    /// Their space: five drugs, levels −5..25.
    pub fn maltas_wood() -> ResistanceSpace {
        ResistanceSpace {
            drugs: 5,
            min_level: -5,
            max_level: 25,
        }
    }

    /// Drugs (coordinates of a state).
    pub fn drugs(&self) -> usize {
        self.drugs
    }

    /// The lowest resistance level.
    pub fn min_level(&self) -> i8 {
        self.min_level
    }

    /// The highest resistance level.
    pub fn max_level(&self) -> i8 {
        self.max_level
    }

    /// Levels per drug.
    pub fn levels(&self) -> usize {
        (self.max_level as i32 - self.min_level as i32 + 1) as usize
    }

    /// Number of states.
    pub fn states(&self) -> usize {
        self.levels().pow(self.drugs as u32)
    }

    /// The index of a state, if it has one level per drug, each in range.
    pub fn index(&self, state: &[i8]) -> Option<usize> {
        if state.len() != self.drugs {
            return None;
        }
        let mut i = 0;
        for &x in state {
            if x < self.min_level || x > self.max_level {
                return None;
            }
            i = i * self.levels() + (x as i32 - self.min_level as i32) as usize;
        }
        Some(i)
    }

    /// The levels of the state with this index (`index < states()`).
    pub fn state(&self, index: usize) -> Vec<i8> {
        let mut out = vec![0i8; self.drugs];
        self.decode(index, &mut out);
        out
    }

    /// The levels of the state with this index into `levels` (one per drug).
    fn decode(&self, index: usize, levels: &mut [i8]) {
        let l = self.levels();
        let mut rest = index;
        for x in levels.iter_mut().rev() {
            *x = (self.min_level as i32 + (rest % l) as i32) as i8;
            rest /= l;
        }
    }

    /// The index of the state reached from `levels` by adding `steps`, clamped to the range.
    fn moved(&self, levels: &[i8], steps: &[i8]) -> usize {
        let (lo, hi) = (self.min_level as i32, self.max_level as i32);
        levels.iter().zip(steps).fold(0, |i, (&x, &d)| {
            i * self.levels() + ((x as i32 + d as i32).clamp(lo, hi) - lo) as usize
        })
    }

    /// The state reached from `index` by adding `steps` (one per drug), clamped to the range.
    pub fn shifted(&self, index: usize, steps: &[i8]) -> usize {
        self.moved(&self.state(index), steps)
    }
}

/// The resistance steps of one epoch: for each drug given, the steps of each replicate
/// population evolved in it (one step per drug of the state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochShifts {
    drugs: usize,
    replicates: usize,
    /// `[(given · replicates + replicate) · drugs + drug]`.
    steps: Vec<i8>,
}

impl EpochShifts {
    /// From `steps[given][replicate][drug]`: every drug given needs the same number (≥ 1) of
    /// replicates (their lookahead weighs each by 1/replicates), each a step for every drug.
    pub fn new(steps: &[Vec<Vec<i8>>]) -> Result<EpochShifts> {
        let drugs = steps.len();
        let replicates = steps.first().map_or(0, Vec::len);
        let mut flat = Vec::with_capacity(drugs * replicates * drugs);
        for (d, reps) in steps.iter().enumerate() {
            if reps.len() != replicates || replicates == 0 {
                return Err(Error::input(
                    Location::default(),
                    format!(
                        "drug {d} has {} replicate populations, drug 0 has {replicates}: \
                         expected the same number, at least one",
                        reps.len()
                    ),
                ));
            }
            for (r, s) in reps.iter().enumerate() {
                if s.len() != drugs {
                    return Err(Error::input(
                        Location::default(),
                        format!(
                            "drug {d}, replicate {r}: {} steps, expected one per drug ({drugs})",
                            s.len()
                        ),
                    ));
                }
                flat.extend_from_slice(s);
            }
        }
        Ok(EpochShifts {
            drugs,
            replicates,
            steps: flat,
        })
    }

    /// Drugs (actions, and coordinates of a step).
    pub fn drugs(&self) -> usize {
        self.drugs
    }

    /// Replicate populations per drug given.
    pub fn replicates(&self) -> usize {
        self.replicates
    }

    /// The steps of replicate `replicate` evolved in drug `given`.
    pub fn steps(&self, given: usize, replicate: usize) -> &[i8] {
        let at = (given * self.replicates + replicate) * self.drugs;
        &self.steps[at..at + self.drugs]
    }

    fn check(&self, space: &ResistanceSpace) -> Result<()> {
        if self.drugs != space.drugs {
            return Err(Error::input(
                Location::default(),
                format!(
                    "the epoch's steps are for {} drugs, the space has {}",
                    self.drugs, space.drugs
                ),
            ));
        }
        Ok(())
    }
}

/// Every transition of an epoch as offset tables, so a sweep never builds a state vector: the
/// states of a *row* (all coordinates but the last fixed) move to one source row per (drug,
/// replicate), and within it each level to a clamped level.
struct Moves {
    levels: usize,
    drugs: usize,
    replicates: usize,
    /// `[((a · R + r) · (n − 1) + k) · L + i]`: index offset of level i of coordinate k < n − 1
    /// after the step of (a, r), clamped.
    lead: Vec<usize>,
    /// `[(a · R + r) · L + j]`: the clamped level of the last coordinate.
    last: Vec<usize>,
}

impl Moves {
    fn new(space: &ResistanceSpace, shifts: &EpochShifts) -> Moves {
        let (n, l, reps) = (space.drugs, space.levels(), shifts.replicates);
        let top = l as i32 - 1;
        let mut lead = Vec::with_capacity(n * reps * (n - 1) * l);
        let mut last = Vec::with_capacity(n * reps * l);
        for a in 0..n {
            for r in 0..reps {
                let step = shifts.steps(a, r);
                for (k, &delta) in step.iter().enumerate().take(n - 1) {
                    let stride = l.pow((n - 1 - k) as u32);
                    for i in 0..l as i32 {
                        lead.push((i + delta as i32).clamp(0, top) as usize * stride);
                    }
                }
                for j in 0..l as i32 {
                    last.push((j + step[n - 1] as i32).clamp(0, top) as usize);
                }
            }
        }
        Moves {
            levels: l,
            drugs: n,
            replicates: reps,
            lead,
            last,
        }
    }

    /// Levels (0-based) of the leading coordinates of a row.
    fn row_digits(&self, row: usize, digits: &mut [usize]) {
        let mut rest = row;
        for k in (0..self.drugs - 1).rev() {
            digits[k] = rest % self.levels;
            rest /= self.levels;
        }
    }

    /// Start of the source row of every (action, replicate) for a row with these digits.
    fn row_bases(&self, digits: &[usize], bases: &mut [usize]) {
        let (n, l) = (self.drugs, self.levels);
        for (ar, base) in bases.iter_mut().enumerate() {
            let table = &self.lead[ar * (n - 1) * l..(ar + 1) * (n - 1) * l];
            *base = digits
                .iter()
                .enumerate()
                .map(|(k, &i)| table[k * l + i])
                .sum();
        }
    }

    fn last(&self, a: usize, r: usize) -> &[usize] {
        let at = (a * self.replicates + r) * self.levels;
        &self.last[at..at + self.levels]
    }
}

/// Rows per parallel work item of a policy evaluation (a few hundred kilobytes of values).
const ROWS_PER_TASK: usize = 256;

/// Values laid out for value iteration: the space as *planes* over the last two drugs (one
/// plane per level of the others), each plane with `pad` ghost levels on every side that
/// repeat its edge. A transition's clamp in the last two coordinates then reads a ghost, so the
/// lookahead of a whole plane for one (drug, replicate) is one run over a contiguous slice, not
/// 31 short rows with their edges.
struct Planes {
    /// Levels per drug.
    levels: usize,
    /// Ghost levels on each side.
    pad: usize,
    /// Padded row length, `levels + 2·pad`.
    width: usize,
    /// Slots per plane, `width²`.
    plane: usize,
    /// Planes, `levels^(drugs − 2)`.
    planes: usize,
    /// Drugs.
    drugs: usize,
    min_level: i32,
}

impl Planes {
    fn new(space: &ResistanceSpace, pad: usize) -> Planes {
        let l = space.levels();
        let width = l + 2 * pad;
        Planes {
            levels: l,
            pad,
            width,
            plane: width * width,
            planes: l.pow(space.drugs as u32 - 2),
            drugs: space.drugs,
            min_level: space.min_level as i32,
        }
    }

    /// Slots of the whole array: the planes and `pad` slots before and after them, which the
    /// ghost columns of the first and last plane may read (their results are never used).
    fn len(&self) -> usize {
        self.planes * self.plane + 2 * self.pad
    }

    /// A compact array (one value per state) laid out in planes, ghosts filled.
    fn spread(&self, compact: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.len()];
        let l = self.levels;
        out[self.pad..self.pad + self.planes * self.plane]
            .par_chunks_mut(self.plane)
            .zip(compact.par_chunks(l * l))
            .for_each(|(plane, values)| {
                for (i, row) in values.chunks(l).enumerate() {
                    let at = (i + self.pad) * self.width + self.pad;
                    plane[at..at + l].copy_from_slice(row);
                }
                self.fill_ghosts(plane);
            });
        out
    }

    /// Back to one value per state.
    fn gather(&self, padded: &[f64]) -> Vec<f64> {
        let l = self.levels;
        let mut out = vec![0.0; self.planes * l * l];
        out.par_chunks_mut(l * l)
            .zip(padded[self.pad..self.pad + self.planes * self.plane].par_chunks(self.plane))
            .for_each(|(values, plane)| {
                for (i, row) in values.chunks_mut(l).enumerate() {
                    let at = (i + self.pad) * self.width + self.pad;
                    row.copy_from_slice(&plane[at..at + l]);
                }
            });
        out
    }

    /// Ghost levels of a plane: each row's edge repeated sideways, then the edge rows
    /// (ghosts included) repeated up and down.
    fn fill_ghosts(&self, plane: &mut [f64]) {
        let (p, w, l) = (self.pad, self.width, self.levels);
        if p == 0 {
            return;
        }
        for i in p..p + l {
            let row = &mut plane[i * w..(i + 1) * w];
            let (first, last) = (row[p], row[p + l - 1]);
            row[..p].fill(first);
            row[p + l..].fill(last);
        }
        for i in 0..p {
            plane.copy_within(p * w..(p + 1) * w, i * w);
            plane.copy_within((p + l - 1) * w..(p + l) * w, (p + l + i) * w);
        }
    }

    /// Levels (0-based) of the drugs before the last two, for plane `plane`.
    fn plane_digits(&self, plane: usize, digits: &mut [usize]) {
        let mut rest = plane;
        for k in (0..self.drugs - 2).rev() {
            digits[k] = rest % self.levels;
            rest /= self.levels;
        }
    }
}

/// The transitions of an epoch in the plane layout: for each (drug, replicate), where each
/// leading level moves (clamped, as a plane offset) and the offset of a slot within a plane.
struct PlaneMoves {
    replicates: usize,
    /// `[((a · R + r) · (n − 2) + k) · L + i]`: plane offset of level i of drug k < n − 2.
    lead: Vec<usize>,
    /// `[a · R + r]`: the move within a plane, `δ_{n−2}·width + δ_{n−1}` (steps beyond the
    /// range cut to it: every level clamps to the edge either way).
    inner: Vec<isize>,
}

impl PlaneMoves {
    fn new(planes: &Planes, shifts: &EpochShifts) -> PlaneMoves {
        let (n, l, reps) = (planes.drugs, planes.levels, shifts.replicates);
        let top = l as i32 - 1;
        let mut lead = Vec::new();
        let mut inner = Vec::new();
        for a in 0..n {
            for r in 0..reps {
                let step = shifts.steps(a, r);
                for (k, &delta) in step.iter().enumerate().take(n - 2) {
                    let stride = l.pow((n - 3 - k) as u32) * planes.plane;
                    for i in 0..l as i32 {
                        lead.push((i + delta as i32).clamp(0, top) as usize * stride);
                    }
                }
                let cut = |d: i8| (d as isize).clamp(-(top as isize), top as isize);
                inner.push(cut(step[n - 2]) * planes.width as isize + cut(step[n - 1]));
            }
        }
        PlaneMoves {
            replicates: reps,
            lead,
            inner,
        }
    }

    /// Start (slot) of the source plane of every (drug, replicate) for a plane with these
    /// leading levels.
    fn plane_bases(&self, planes: &Planes, digits: &[usize], bases: &mut [usize]) {
        let (k, l) = (planes.drugs - 2, planes.levels);
        for (ar, base) in bases.iter_mut().enumerate() {
            let table = &self.lead[ar * k * l..(ar + 1) * k * l];
            *base = digits
                .iter()
                .enumerate()
                .map(|(k, &i)| table[k * l + i])
                .sum();
        }
    }
}

/// Levels of a block of lines swept together (see `sweep`).
const TILE: usize = 4;

/// Keeps the lookahead `q` of drug `a` where it is less than the best so far (drug 0 sets
/// it): strictly less, so the first drug with the least value wins, as their `min_by` and
/// `position` pick it. The drug is kept as an `f64` so that the selection vectorizes.
fn keep_least(a: usize, q: &[f64], best: &mut [f64], arg: &mut [f64]) {
    if a == 0 {
        best.copy_from_slice(q);
        arg.fill(0.0);
        return;
    }
    let drug = a as f64;
    for ((b, g), &qx) in best.iter_mut().zip(arg.iter_mut()).zip(q) {
        let less = qx < *b;
        *b = if less { qx } else { *b };
        *g = if less { drug } else { *g };
    }
}

/// The lookahead along a run with four replicates (their data), fused into one pass:
/// `((((0 + t₀) + t₁) + t₂) + t₃)` with `t_r = w·((level + F) + γ·V_r)`, the same operations
/// in the same order as the general loop.
fn lookahead4(levels: &[f64], f: &[f64], src: [&[f64]; 4], w: f64, gamma: f64, q: &mut [f64]) {
    let n = q.len();
    let (levels, f) = (&levels[..n], &f[..n]);
    let [s0, s1, s2, s3] = src.map(|s| &s[..n]);
    for x in 0..n {
        let c = levels[x] + f[x];
        let mut sum = 0.0;
        sum += w * (c + gamma * s0[x]);
        sum += w * (c + gamma * s1[x]);
        sum += w * (c + gamma * s2[x]);
        sum += w * (c + gamma * s3[x]);
        q[x] = sum;
    }
}

/// One synchronous sweep of their lookahead: for every state s and drug a,
/// `Q(s, a) = Σ_r w·((cost(s, a) + F(s)) + γ·V(next(s, a, r)))` summed from 0 in replicate
/// order, `w = 1/R` — `one_step_lookahead_td` operation for operation (without F their
/// `one_step_lookahead`: adding an F of 0.0 changes no bit). Writes the least Q (plane layout,
/// ghosts filled) and the first drug reaching it (one per state); returns the largest
/// |V_new − V|.
fn sweep(
    planes: &Planes,
    moves: &PlaneMoves,
    values: &[f64],
    future: &[f64],
    gamma: f64,
    new_values: &mut [f64],
    policy: &mut [u8],
) -> f64 {
    let (n, l, p, w) = (planes.drugs, planes.levels, planes.pad, planes.width);
    let reps = moves.replicates;
    let weight = 1.0 / reps as f64;
    // The rows of a plane that hold states (ghost columns included): one contiguous run.
    let (run_start, run) = (p * w, l * w);
    // Resistance to the last two drugs along the run (garbage on ghost columns, never used).
    let row_level: Vec<f64> = (0..run)
        .map(|x| f64::from((x / w) as i32 + planes.min_level))
        .collect();
    let column_level: Vec<f64> = (0..run)
        .map(|x| f64::from((x % w) as i32 - p as i32 + planes.min_level))
        .collect();
    // A leading drug's level, the same along the run.
    let uniform: Vec<Vec<f64>> = (0..l)
        .map(|i| vec![f64::from(i as i32 + planes.min_level); run])
        .collect();
    let body = planes.pad..planes.pad + planes.planes * planes.plane;
    // Lines: runs of planes that differ only in the last leading level. A tile is the lines
    // whose level of the drug before lies in one block of `TILE` levels, swept in line order,
    // so that the planes it reads (two levels either side in both directions) stay in cache.
    let line_planes = if n >= 3 { l } else { 1 };
    let tile_of = |line: usize| if n >= 4 { (line % l) / TILE } else { 0 };
    type Line<'a> = (usize, &'a mut [f64], &'a mut [u8]);
    let mut tiles: Vec<Vec<Line>> = (0..l.div_ceil(TILE)).map(|_| Vec::new()).collect();
    for (line, (chunk, acts)) in new_values[body]
        .chunks_mut(line_planes * planes.plane)
        .zip(policy.chunks_mut(line_planes * l * l))
        .enumerate()
    {
        tiles[tile_of(line)].push((line, chunk, acts));
    }
    tiles
        .into_par_iter()
        .flatten_iter()
        .map(|(line, chunk, acts)| {
            let mut digits = vec![0usize; n - 2];
            let mut bases = vec![0usize; n * reps];
            let mut q = vec![0.0f64; run];
            let mut best = vec![0.0f64; run];
            let mut arg = vec![0.0f64; run];
            let mut change = 0.0f64;
            for (k, (plane, plane_acts)) in chunk
                .chunks_mut(planes.plane)
                .zip(acts.chunks_mut(l * l))
                .enumerate()
            {
                let index = line * line_planes + k;
                let origin = planes.pad + index * planes.plane;
                planes.plane_digits(index, &mut digits);
                moves.plane_bases(planes, &digits, &mut bases);
                let f = &future[origin + run_start..origin + run_start + run];
                for a in 0..n {
                    // The resistance to a along the run: a leading drug's level is the
                    // plane's, the last two drugs' are the row's and the column's.
                    let levels: &[f64] = if a + 2 < n {
                        &uniform[digits[a]]
                    } else if a + 2 == n {
                        &row_level
                    } else {
                        &column_level
                    };
                    let from = |r: usize| {
                        (planes.pad as isize
                            + bases[a * reps + r] as isize
                            + run_start as isize
                            + moves.inner[a * reps + r]) as usize
                    };
                    if reps == 4 {
                        let src = [0, 1, 2, 3].map(|r| &values[from(r)..from(r) + run]);
                        lookahead4(levels, f, src, weight, gamma, &mut q);
                    } else {
                        q.fill(0.0);
                        for r in 0..reps {
                            let v = &values[from(r)..from(r) + run];
                            for (((qx, &lv), &fx), &v) in q.iter_mut().zip(levels).zip(f).zip(v) {
                                *qx += weight * ((lv + fx) + gamma * v);
                            }
                        }
                    }
                    keep_least(a, &q, &mut best, &mut arg);
                }
                plane[run_start..run_start + run].copy_from_slice(&best);
                for i in 0..l {
                    let at = i * w + p;
                    let old = &values[origin + run_start + at..origin + run_start + at + l];
                    for (&o, &v) in old.iter().zip(&best[at..at + l]) {
                        change = change.max((o - v).abs());
                    }
                    for (act, &g) in plane_acts[i * l..(i + 1) * l]
                        .iter_mut()
                        .zip(&arg[at..at + l])
                    {
                        *act = g as u8;
                    }
                }
                planes.fill_ghosts(plane);
            }
            change
        })
        .reduce(|| 0.0, f64::max)
}

/// Settings of a value iteration, theirs by default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueIteration {
    /// Discount per step.
    pub gamma: f64,
    /// Stop once no value changes by this much in a sweep.
    pub theta: f64,
    /// Stop once more sweeps than this were made (theirs: `count > max_iterations`).
    pub max_iterations: usize,
}

impl Default for ValueIteration {
    fn default() -> Self {
        ValueIteration {
            gamma: 0.99,
            theta: 0.001,
            max_iterations: 7500,
        }
    }
}

impl ValueIteration {
    fn check(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.gamma) || self.theta.is_nan() || self.theta <= 0.0 {
            return Err(Error::config(
                Location::default(),
                format!(
                    "gamma {} and theta {}: expected 0 <= gamma < 1 and theta > 0",
                    self.gamma, self.theta
                ),
            ));
        }
        Ok(())
    }
}

/// The solution of one epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochSolution {
    /// The value (discounted expected cost) of each state when the iteration stopped.
    pub values: Vec<f64>,
    /// The drug to give in each state: the first with the least lookahead on `values`.
    pub policy: Vec<u8>,
    /// Sweeps made.
    pub sweeps: usize,
    /// The largest change of a value in the last sweep.
    pub last_change: f64,
}

/// Value iteration of one epoch (their `calc_optimal_policy`, or `calc_optimal_policy_td` with
/// a future cost per state). `progress` hears the sweep count and the largest change after
/// every sweep.
pub fn solve_epoch(
    space: &ResistanceSpace,
    shifts: &EpochShifts,
    future: Option<&[f64]>,
    settings: &ValueIteration,
    progress: &mut dyn FnMut(usize, f64),
) -> Result<EpochSolution> {
    shifts.check(space)?;
    settings.check()?;
    if let Some(f) = future {
        if f.len() != space.states() {
            return Err(Error::input(
                Location::default(),
                format!("{} future costs for {} states", f.len(), space.states()),
            ));
        }
        // A NaN would make every comparison false (their `partial_cmp().unwrap()` panics).
        if let Some(s) = f.iter().position(|x| !x.is_finite()) {
            return Err(Error::input(
                Location::default(),
                format!("the future cost of state {s} is {}", f[s]),
            ));
        }
    }
    let pad = (0..space.drugs)
        .flat_map(|a| (0..shifts.replicates).map(move |r| (a, r)))
        .flat_map(|(a, r)| shifts.steps(a, r)[space.drugs - 2..].to_vec())
        .map(|d| (d as i32).unsigned_abs() as usize)
        .max()
        .unwrap_or(0)
        .min(space.levels() - 1);
    let planes = Planes::new(space, pad);
    let moves = PlaneMoves::new(&planes, shifts);
    let future = match future {
        Some(f) => planes.spread(f),
        None => vec![0.0; planes.len()],
    };
    let mut values = vec![0.0f64; planes.len()];
    let mut next = vec![0.0f64; planes.len()];
    let mut policy = vec![0u8; space.states()];
    let mut sweeps = 0;
    let gamma = settings.gamma;
    let last_change = loop {
        let change = sweep(
            &planes,
            &moves,
            &values,
            &future,
            gamma,
            &mut next,
            &mut policy,
        );
        std::mem::swap(&mut values, &mut next);
        sweeps += 1;
        progress(sweeps, change);
        if change < settings.theta || sweeps > settings.max_iterations {
            break change;
        }
    };
    // Their policy: the lookahead once more on the final values.
    sweep(
        &planes,
        &moves,
        &values,
        &future,
        gamma,
        &mut next,
        &mut policy,
    );
    let values = planes.gather(&values);
    Ok(EpochSolution {
        values,
        policy,
        sweeps,
        last_change,
    })
}

/// One step of policy evaluation: `out(s) = mean over replicates of x(next(s, policy(s), r))`.
fn follow_once(moves: &Moves, policy: &[u8], x: &[f64], out: &mut [f64]) {
    let l = moves.levels;
    let (n, reps) = (moves.drugs, moves.replicates);
    let chunk = ROWS_PER_TASK * l;
    out.par_chunks_mut(chunk)
        .enumerate()
        .for_each(|(task, vals)| {
            let mut digits = vec![0usize; n - 1];
            let mut bases = vec![0usize; n * reps];
            for (k, row_vals) in vals.chunks_mut(l).enumerate() {
                let row = task * ROWS_PER_TASK + k;
                moves.row_digits(row, &mut digits);
                moves.row_bases(&digits, &mut bases);
                for (j, v) in row_vals.iter_mut().enumerate() {
                    let a = policy[row * l + j] as usize;
                    let mut sum = 0.0;
                    for r in 0..reps {
                        sum += x[bases[a * reps + r] + moves.last(a, r)[j]];
                    }
                    *v = sum / reps as f64;
                }
            }
        });
}

fn check_policy(space: &ResistanceSpace, policy: &[u8]) -> Result<()> {
    if policy.len() != space.states() || policy.iter().any(|&a| a as usize >= space.drugs) {
        return Err(Error::input(
            Location::default(),
            format!(
                "a policy needs a drug below {} for each of {} states",
                space.drugs,
                space.states()
            ),
        ));
    }
    Ok(())
}

/// The expected cost at the last of `steps` steps of following `policy` from each state (their
/// `calc_future_rewards`: the mean of the last reward of 100 simulated runs), exactly.
pub fn expected_last_cost(
    space: &ResistanceSpace,
    shifts: &EpochShifts,
    policy: &[u8],
    steps: usize,
) -> Result<Vec<f64>> {
    shifts.check(space)?;
    check_policy(space, policy)?;
    if steps == 0 {
        return Err(Error::config(Location::default(), "an epoch of 0 steps"));
    }
    let moves = Moves::new(space, shifts);
    // The cost of the step taken in each state, then backwards over the steps before it.
    let mut x: Vec<f64> = (0..space.states())
        .into_par_iter()
        .map(|s| {
            let l = space.levels();
            let a = policy[s] as usize;
            let level = (s / l.pow((space.drugs - 1 - a) as u32)) % l;
            f64::from(level as i32 + space.min_level as i32)
        })
        .collect();
    let mut y = vec![0.0; space.states()];
    for _ in 1..steps {
        follow_once(&moves, policy, &x, &mut y);
        std::mem::swap(&mut x, &mut y);
    }
    Ok(x)
}

/// The expected `future` cost of the state reached after `steps` steps of following `policy`
/// from each state (their `calc_future_rewards_projection`), exactly.
pub fn expected_after(
    space: &ResistanceSpace,
    shifts: &EpochShifts,
    policy: &[u8],
    steps: usize,
    future: &[f64],
) -> Result<Vec<f64>> {
    shifts.check(space)?;
    check_policy(space, policy)?;
    if future.len() != space.states() {
        return Err(Error::input(
            Location::default(),
            format!(
                "{} future costs for {} states",
                future.len(),
                space.states()
            ),
        ));
    }
    let moves = Moves::new(space, shifts);
    let mut x = future.to_vec();
    let mut y = vec![0.0; space.states()];
    for _ in 0..steps {
        follow_once(&moves, policy, &x, &mut y);
        std::mem::swap(&mut x, &mut y);
    }
    Ok(x)
}

/// The policies of the whole t-MDP, in time order (values are handed to the caller epoch by
/// epoch and not kept: five arrays of 28.6 M values would need 1.1 GB).
#[derive(Debug, Clone, PartialEq)]
pub struct TimeDependentSolution {
    /// Per epoch, the drug to give in each state.
    pub policies: Vec<Vec<u8>>,
    /// Per epoch, the sweeps its value iteration made.
    pub sweeps: Vec<usize>,
    /// Per epoch, the largest change of a value in its last sweep.
    pub last_change: Vec<f64>,
}

/// Sees an epoch (0-based, time order) as soon as it is solved: its solution and the future
/// cost it was solved with (none for the last epoch).
pub type EpochInspector<'a> = dyn FnMut(usize, &EpochSolution, Option<&[f64]>) + 'a;

/// Their `main_td.rs`: the epochs (in time order) solved backwards, each epoch's policy judged
/// by where `steps_per_epoch` steps of it lead (see the module documentation). `progress`
/// hears the epoch (0-based, time order), the sweep and the largest change; `inspect` sees
/// each epoch's solution and the future cost it was solved with (none for the last epoch) as
/// soon as it is solved, e.g. to read [`action_values`] of chosen states.
pub fn solve_time_dependent(
    space: &ResistanceSpace,
    epochs: &[EpochShifts],
    steps_per_epoch: usize,
    settings: &ValueIteration,
    progress: &mut dyn FnMut(usize, usize, f64),
    inspect: &mut EpochInspector,
) -> Result<TimeDependentSolution> {
    if epochs.is_empty() {
        return Err(Error::config(Location::default(), "no epochs to solve"));
    }
    let k = epochs.len();
    let mut out = TimeDependentSolution {
        policies: vec![Vec::new(); k],
        sweeps: vec![0; k],
        last_change: vec![0.0; k],
    };
    // F entering the epoch being solved, from the epoch after it.
    let mut future: Option<Vec<f64>> = None;
    for e in (0..k).rev() {
        let solution = solve_epoch(
            space,
            &epochs[e],
            future.as_deref(),
            settings,
            &mut |sweep, change| progress(e, sweep, change),
        )?;
        inspect(e, &solution, future.as_deref());
        let EpochSolution {
            values,
            policy,
            sweeps,
            last_change,
        } = solution;
        drop(values);
        if e > 0 {
            future = Some(match &future {
                None => expected_last_cost(space, &epochs[e], &policy, steps_per_epoch)?,
                Some(f) => expected_after(space, &epochs[e], &policy, steps_per_epoch, f)?,
            });
        }
        out.policies[e] = policy;
        out.sweeps[e] = sweeps;
        out.last_change[e] = last_change;
    }
    Ok(out)
}

/// Their lookahead of one state: for each drug, `Σ_r w·((cost + F) + γ·V(next))` on an epoch's
/// final values (the least is the policy's drug; the gaps say how close the choice is).
pub fn action_values(
    space: &ResistanceSpace,
    shifts: &EpochShifts,
    values: &[f64],
    future: Option<&[f64]>,
    gamma: f64,
    state: usize,
) -> Result<Vec<f64>> {
    shifts.check(space)?;
    if state >= space.states() || values.len() != space.states() {
        return Err(Error::input(
            Location::default(),
            format!(
                "state {state} and {} values for {} states",
                values.len(),
                space.states()
            ),
        ));
    }
    let levels = space.state(state);
    let f = future.map_or(0.0, |f| f[state]);
    let w = 1.0 / shifts.replicates as f64;
    Ok((0..space.drugs)
        .map(|a| {
            let mut q = 0.0;
            for r in 0..shifts.replicates {
                let next = space.shifted(state, shifts.steps(a, r));
                q += w * ((f64::from(levels[a]) + f) + gamma * values[next]);
            }
            q
        })
        .collect())
}

/// One step of a course: what the population looks like before the drug is given.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseStep {
    /// Expected resistance to the drug given (the cost, their "reward").
    pub expected_cost: f64,
    /// The distribution of that resistance: (level, probability), by level.
    pub cost_distribution: Vec<(i8, f64)>,
    /// Probability that each drug is given.
    pub drug_use: Vec<f64>,
    /// Expected resistance to each drug.
    pub expected_state: Vec<f64>,
    /// Distinct states the population may be in.
    pub support: usize,
}

/// The exact distribution of a treatment course: what their simulation of 1,000 runs samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Course {
    /// Each step, in order.
    pub steps: Vec<CourseStep>,
    /// Expected resistance to each drug after the last step.
    pub final_state: Vec<f64>,
    /// The distribution of states after the last step: (state, probability), by state.
    pub final_distribution: Vec<(usize, f64)>,
}

/// Follows a schedule from `start`: each epoch's policy for `steps_per_epoch` steps under that
/// epoch's steps (`epochs[e] = (policy, steps)`), propagating the exact distribution of states.
pub fn follow(
    space: &ResistanceSpace,
    epochs: &[(&[u8], &EpochShifts)],
    steps_per_epoch: usize,
    start: usize,
) -> Result<Course> {
    follow_merging(space, epochs, steps_per_epoch, start, space.states() / 32)
}

/// [`follow`], merging the moves of a step in a dense array once there are `dense_from` or
/// more of them (a sort below that: the same sums either way).
fn follow_merging(
    space: &ResistanceSpace,
    epochs: &[(&[u8], &EpochShifts)],
    steps_per_epoch: usize,
    start: usize,
    dense_from: usize,
) -> Result<Course> {
    if start >= space.states() {
        return Err(Error::input(
            Location::default(),
            format!("start state {start} of {} states", space.states()),
        ));
    }
    for (policy, shifts) in epochs {
        shifts.check(space)?;
        check_policy(space, policy)?;
    }
    let n = space.drugs;
    let mut dist: Vec<(usize, f64)> = vec![(start, 1.0)];
    let mut levels = vec![0i8; n];
    let mut dense: Option<Vec<f64>> = None;
    let mut steps = Vec::with_capacity(epochs.len() * steps_per_epoch);
    let expected_state = |dist: &[(usize, f64)]| {
        let mut m = vec![0.0; n];
        let mut levels = vec![0i8; n];
        for &(s, p) in dist {
            space.decode(s, &mut levels);
            for (k, &x) in levels.iter().enumerate() {
                m[k] += p * f64::from(x);
            }
        }
        m
    };
    for (policy, shifts) in epochs {
        let w = 1.0 / shifts.replicates as f64;
        for _ in 0..steps_per_epoch {
            let mut cost: std::collections::BTreeMap<i8, f64> = Default::default();
            let mut drug_use = vec![0.0; n];
            let mut next: Vec<(usize, f64)> = Vec::with_capacity(dist.len() * shifts.replicates);
            for &(s, p) in &dist {
                let a = policy[s] as usize;
                space.decode(s, &mut levels);
                *cost.entry(levels[a]).or_default() += p;
                drug_use[a] += p;
                for r in 0..shifts.replicates {
                    next.push((space.moved(&levels, shifts.steps(a, r)), p * w));
                }
            }
            steps.push(CourseStep {
                expected_cost: cost.iter().map(|(&c, &p)| f64::from(c) * p).sum(),
                cost_distribution: cost.into_iter().collect(),
                drug_use,
                expected_state: expected_state(&dist),
                support: dist.len(),
            });
            // Merge equal states, each sum in the order the moves were listed (a stable sort
            // of a short list, or one dense array once the list is long: the same sums).
            dist.clear();
            if next.len() < dense_from {
                next.sort_by_key(|&(s, _)| s);
                for (s, p) in next {
                    match dist.last_mut() {
                        Some(last) if last.0 == s => last.1 += p,
                        _ => dist.push((s, p)),
                    }
                }
            } else {
                let dense = dense.get_or_insert_with(|| vec![0.0f64; space.states()]);
                for (s, p) in next {
                    dense[s] += p;
                }
                for (s, p) in dense.iter_mut().enumerate() {
                    if *p != 0.0 {
                        dist.push((s, *p));
                        *p = 0.0;
                    }
                }
            }
        }
    }
    Ok(Course {
        final_state: expected_state(&dist),
        steps,
        final_distribution: dist,
    })
}

/// Population-level changes of log2 IC50 in time (their `TempData.mat`): for each population
/// evolved in a selecting drug, the change of each test drug's log2 IC50 from the ancestor, by
/// day.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationSeries {
    /// Drug names by index (selecting and test drugs share one list).
    pub drugs: Vec<String>,
    /// Replicate populations per selecting drug.
    pub populations: usize,
    /// Days, ascending.
    pub days: Vec<f64>,
    /// `[((selecting · populations + population) · drugs + test) · days + day]`.
    values: Vec<f64>,
}

impl PopulationSeries {
    /// The change of `test`'s log2 IC50 from the ancestor in population `population` (0-based)
    /// selected with `selecting`, on day index `day`.
    pub fn value(&self, selecting: usize, population: usize, test: usize, day: usize) -> f64 {
        let n = self.drugs.len();
        self.values
            [((selecting * self.populations + population) * n + test) * self.days.len() + day]
    }

    /// The change between two days (`to − from`, log2 IC50) of every (selecting drug,
    /// population, test drug): `[selecting][population][test]`.
    pub fn change(&self, from_day: f64, to_day: f64) -> Result<Vec<Vec<Vec<f64>>>> {
        let at = |day: f64| {
            self.days.iter().position(|&d| d == day).ok_or_else(|| {
                Error::input(
                    Location::default(),
                    format!("no day {day} in the series (days {:?})", self.days),
                )
            })
        };
        let (a, b) = (at(from_day)?, at(to_day)?);
        let n = self.drugs.len();
        Ok((0..n)
            .map(|sel| {
                (0..self.populations)
                    .map(|p| {
                        (0..n)
                            .map(|t| self.value(sel, p, t, b) - self.value(sel, p, t, a))
                            .collect()
                    })
                    .collect()
            })
            .collect())
    }

    /// Their transition steps for the epoch `from_day → to_day`: each population's change over
    /// the epoch, binned by [`resistance_step`].
    pub fn epoch_shifts(&self, from_day: f64, to_day: f64) -> Result<EpochShifts> {
        let change = self.change(from_day, to_day)?;
        let steps: Vec<Vec<Vec<i8>>> = change
            .iter()
            .map(|pops| {
                pops.iter()
                    .map(|v| v.iter().map(|&x| resistance_step(x)).collect())
                    .collect()
            })
            .collect();
        EpochShifts::new(&steps)
    }
}

/// Reads a population series in the bundled tidy form
/// (`assays/maltas-wood-temporal/raw/ic50_timeseries_TempData_tidy.csv`): columns
/// `selecting_drug_index, selecting_drug_inferred, population, test_drug_index,
/// test_drug_inferred, day, value`, one row per combination, every combination present, drug
/// indices 0-based and their names consistent, populations 1-based.
pub fn read_population_series(path: &Path) -> Result<PopulationSeries> {
    let bytes = read_bytes(path)?;
    let mut table = Table::from_bytes(&bytes, path)?;
    let cols = [
        "selecting_drug_index",
        "selecting_drug_inferred",
        "population",
        "test_drug_index",
        "test_drug_inferred",
        "day",
        "value",
    ]
    .map(|c| table.require(c));
    let [c_sel, c_sel_name, c_pop, c_test, c_test_name, c_day, c_value] = cols;
    let cols = [
        c_sel?,
        c_sel_name?,
        c_pop?,
        c_test?,
        c_test_name?,
        c_day?,
        c_value?,
    ];
    struct Row {
        line: u64,
        sel: usize,
        pop: usize,
        test: usize,
        day: f64,
        value: f64,
    }
    let mut rows = Vec::new();
    let mut names: std::collections::BTreeMap<usize, (String, u64)> = Default::default();
    let mut problems = Vec::new();
    let mut rec = csv::StringRecord::new();
    while let Some(line) = table.next_row(&mut rec)? {
        let at = table.at(line);
        let text = |i: usize| field(&rec, Some(cols[i]));
        let mut bad = |m: String| {
            problems.push(Problem {
                location: at.clone(),
                message: m,
            })
        };
        let index = |i: usize, name: &str, bad: &mut dyn FnMut(String)| {
            text(i).parse::<usize>().ok().or_else(|| {
                bad(format!(
                    "`{name}` is `{}`: expected a whole number",
                    text(i)
                ));
                None
            })
        };
        let sel = index(0, "selecting_drug_index", &mut bad);
        let pop = index(2, "population", &mut bad);
        let test = index(3, "test_drug_index", &mut bad);
        let number =
            |i: usize, name: &str, bad: &mut dyn FnMut(String)| match text(i).parse::<f64>() {
                Ok(x) if x.is_finite() => Some(x),
                _ => {
                    bad(format!(
                        "`{name}` is `{}`: expected a finite number",
                        text(i)
                    ));
                    None
                }
            };
        let day = number(5, "day", &mut bad);
        let value = number(6, "value", &mut bad);
        if pop == Some(0) {
            bad("`population` is 0: populations count from 1".into());
            continue;
        }
        for (idx, name_col) in [(sel, 1), (test, 4)] {
            let (Some(i), name) = (idx, text(name_col).to_string()) else {
                continue;
            };
            match names.get(&i) {
                Some((known, first)) if *known != name => bad(format!(
                    "drug index {i} is `{name}` here but `{known}` on line {first}"
                )),
                Some(_) => {}
                None => {
                    names.insert(i, (name, line));
                }
            }
        }
        if let (Some(sel), Some(pop), Some(test), Some(day), Some(value)) =
            (sel, pop, test, day, value)
        {
            rows.push(Row {
                line,
                sel,
                pop: pop - 1,
                test,
                day,
                value,
            });
        }
    }
    if !problems.is_empty() {
        return Err(Error::problems(crate::error::ErrorKind::Input, problems));
    }
    let whole = Location::file(path);
    let n = names.len();
    if n == 0 {
        return Err(Error::input(whole, "no rows"));
    }
    if names.keys().copied().ne(0..n) {
        return Err(Error::input(
            whole,
            format!(
                "drug indices {:?}: expected 0 to {} without gaps",
                names.keys().collect::<Vec<_>>(),
                n - 1
            ),
        ));
    }
    let populations = rows.iter().map(|r| r.pop + 1).max().unwrap_or(0);
    let mut days: Vec<f64> = rows.iter().map(|r| r.day).collect();
    days.sort_by(f64::total_cmp);
    days.dedup();
    let nd = days.len();
    let mut values = vec![f64::NAN; n * populations * n * nd];
    let mut seen: Vec<Option<u64>> = vec![None; values.len()];
    for r in &rows {
        let d = days.iter().position(|&x| x == r.day).expect("day listed");
        let at = ((r.sel * populations + r.pop) * n + r.test) * nd + d;
        if let Some(first) = seen[at] {
            problems.push(Problem {
                location: table.at(r.line),
                message: format!("the same combination as line {first}"),
            });
        }
        seen[at] = Some(r.line);
        values[at] = r.value;
    }
    if let Some(gap) = seen.iter().position(Option::is_none) {
        let (rest, day) = (gap / nd, gap % nd);
        let (rest, test) = (rest / n, rest % n);
        let (sel, pop) = (rest / populations, rest % populations);
        problems.push(Problem {
            location: whole,
            message: format!(
                "no value for selecting drug {sel}, population {}, test drug {test}, day {} \
                 (every combination is needed; {} are missing)",
                pop + 1,
                days[day],
                seen.iter().filter(|s| s.is_none()).count()
            ),
        });
    }
    if !problems.is_empty() {
        return Err(Error::problems(crate::error::ErrorKind::Input, problems));
    }
    Ok(PopulationSeries {
        drugs: names.into_values().map(|(name, _)| name).collect(),
        populations,
        days,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_count_with_the_last_drug_fastest() {
        let space = ResistanceSpace::maltas_wood();
        assert_eq!(space.states(), 31usize.pow(5));
        // Their wild type (plot_mdp_data.py: initial_state = 4771525).
        assert_eq!(space.index(&[0; 5]), Some(4_771_525));
        assert_eq!(space.state(4_771_525), vec![0; 5]);
        assert_eq!(space.index(&[-5, -5, -5, -5, -4]), Some(1));
        assert_eq!(space.index(&[-4, -5, -5, -5, -5]), Some(31usize.pow(4)));
        assert_eq!(space.index(&[26, 0, 0, 0, 0]), None);
        assert_eq!(
            space.shifted(4_771_525, &[2, -2, 0, 1, -1]),
            space.index(&[2, -2, 0, 1, -1]).unwrap()
        );
        let edge = space.index(&[25, -5, 0, 0, 0]).unwrap();
        assert_eq!(space.shifted(edge, &[2, -2, 0, 0, 0]), edge);
    }

    #[test]
    fn steps_are_binned_as_theirs() {
        let cases = [
            (-2.5, -2),
            (-2.0, -1),
            (-0.26, -1),
            (-0.25, 0),
            (0.249, 0),
            (0.25, 1),
            (1.99, 1),
            (2.0, 2),
            (7.0, 2),
        ];
        for (x, want) in cases {
            assert_eq!(resistance_step(x), want, "{x}");
        }
    }

    /// Their lookahead written plainly, state by state: what the plane sweep must equal bit
    /// for bit.
    fn plain_solve(
        space: &ResistanceSpace,
        shifts: &EpochShifts,
        future: Option<&[f64]>,
        settings: &ValueIteration,
    ) -> EpochSolution {
        let states = space.states();
        let w = 1.0 / shifts.replicates() as f64;
        let lookahead = |v: &[f64]| -> (Vec<f64>, Vec<u8>) {
            let mut values = vec![0.0; states];
            let mut policy = vec![0u8; states];
            for s in 0..states {
                let levels = space.state(s);
                let f = future.map_or(0.0, |f| f[s]);
                for (a, &level) in levels.iter().enumerate() {
                    let mut q = 0.0;
                    for r in 0..shifts.replicates() {
                        let next = space.shifted(s, shifts.steps(a, r));
                        q += w * ((f64::from(level) + f) + settings.gamma * v[next]);
                    }
                    if a == 0 || q < values[s] {
                        values[s] = q;
                        policy[s] = a as u8;
                    }
                }
            }
            (values, policy)
        };
        let mut v = vec![0.0; states];
        let mut sweeps = 0;
        let last_change = loop {
            let (next, _) = lookahead(&v);
            let change = v
                .iter()
                .zip(&next)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            v = next;
            sweeps += 1;
            if change < settings.theta || sweeps > settings.max_iterations {
                break change;
            }
        };
        let (_, policy) = lookahead(&v);
        EpochSolution {
            values: v,
            policy,
            sweeps,
            last_change,
        }
    }

    fn random_shifts(rng: &mut impl rand::Rng, drugs: usize, reps: usize, wide: i8) -> EpochShifts {
        use rand::RngExt;
        let steps: Vec<Vec<Vec<i8>>> = (0..drugs)
            .map(|_| {
                (0..reps)
                    .map(|_| (0..drugs).map(|_| rng.random_range(-wide..=wide)).collect())
                    .collect()
            })
            .collect();
        EpochShifts::new(&steps).unwrap()
    }

    #[test]
    fn the_plane_sweep_is_their_lookahead_bit_for_bit() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        let settings = ValueIteration {
            gamma: 0.9,
            theta: 1e-3,
            max_iterations: 7500,
        };
        // Two to four drugs, 1 to 6 levels, steps wider than the range (clamped), one to
        // five replicates (four takes the fused path), with and without a future cost.
        for case in 0..24 {
            let drugs = 2 + case % 3;
            let levels = 1 + rng.random_range(0..6usize);
            let min = -(rng.random_range(0..levels as i8));
            let space = ResistanceSpace::new(drugs, min, min + levels as i8 - 1).unwrap();
            let reps = [4, 1, 2, 3, 5][case % 5];
            let shifts = random_shifts(&mut rng, drugs, reps, if case % 4 == 0 { 7 } else { 2 });
            let future: Option<Vec<f64>> = (case % 2 == 1).then(|| {
                (0..space.states())
                    .map(|_| rng.random_range(-3.0..9.0))
                    .collect()
            });
            let fast = solve_epoch(
                &space,
                &shifts,
                future.as_deref(),
                &settings,
                &mut |_, _| {},
            )
            .unwrap();
            let plain = plain_solve(&space, &shifts, future.as_deref(), &settings);
            assert_eq!(fast.sweeps, plain.sweeps, "case {case}");
            assert_eq!(fast.policy, plain.policy, "case {case}");
            let same_bits = fast
                .values
                .iter()
                .zip(&plain.values)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same_bits, "case {case}: values differ");
        }
    }

    #[test]
    fn courses_merge_alike_sorted_or_dense() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let space = ResistanceSpace::new(3, -3, 4).unwrap();
        let epochs: Vec<EpochShifts> = (0..2).map(|_| random_shifts(&mut rng, 3, 4, 2)).collect();
        let policies: Vec<Vec<u8>> = (0..2)
            .map(|_| {
                (0..space.states())
                    .map(|_| rng.random_range(0..3u8))
                    .collect()
            })
            .collect();
        let plan: Vec<(&[u8], &EpochShifts)> =
            policies.iter().map(Vec::as_slice).zip(&epochs).collect();
        let start = space.index(&[0, 0, 0]).unwrap();
        let sorted = follow_merging(&space, &plan, 6, start, usize::MAX).unwrap();
        let dense = follow_merging(&space, &plan, 6, start, 0).unwrap();
        assert_eq!(sorted, dense);
        assert!(sorted.final_distribution.len() > 50);
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(ResistanceSpace::new(0, -1, 1).is_err());
        assert!(ResistanceSpace::new(2, 3, 1).is_err());
        assert!(ResistanceSpace::new(40, -5, 25).is_err());
        assert!(EpochShifts::new(&[vec![vec![1, 0]], vec![]]).is_err());
        assert!(EpochShifts::new(&[vec![vec![1]], vec![vec![0, 0]]]).is_err());
        let space = ResistanceSpace::new(2, -1, 1).unwrap();
        let shifts = EpochShifts::new(&[vec![vec![1, 0]], vec![vec![0, 1]]]).unwrap();
        assert!(expected_last_cost(&space, &shifts, &[0; 3], 2).is_err());
        assert!(expected_last_cost(&space, &shifts, &[2; 9], 2).is_err());
        let odd = ValueIteration {
            gamma: 1.0,
            ..ValueIteration::default()
        };
        assert!(solve_epoch(&space, &shifts, None, &odd, &mut |_, _| {}).is_err());
        let mut future = vec![0.0; 9];
        let fine = ValueIteration::default();
        assert!(solve_epoch(&space, &shifts, Some(&future[..8]), &fine, &mut |_, _| {}).is_err());
        future[4] = f64::NAN;
        assert!(solve_epoch(&space, &shifts, Some(&future), &fine, &mut |_, _| {}).is_err());
    }
}
