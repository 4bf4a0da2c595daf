//! The value-iteration kernel: transitions as clamped shifts row by row ([`Moves`]), the
//! padded plane layout ([`Planes`]) and one synchronous sweep of their lookahead over it.

use rayon::prelude::*;

use super::space::{EpochShifts, ResistanceSpace};

/// Every transition of an epoch as offset tables, so a sweep never builds a state vector: the
/// states of a *row* (all coordinates but the last fixed) move to one source row per (drug,
/// replicate), and within it each level to a clamped level.
pub(super) struct Moves {
    pub(super) levels: usize,
    pub(super) drugs: usize,
    pub(super) replicates: usize,
    /// `[((a · R + r) · (n − 1) + k) · L + i]`: index offset of level i of coordinate k < n − 1
    /// after the step of (a, r), clamped.
    pub(super) lead: Vec<usize>,
    /// `[(a · R + r) · L + j]`: the clamped level of the last coordinate.
    pub(super) last: Vec<usize>,
}

impl Moves {
    pub(super) fn new(space: &ResistanceSpace, shifts: &EpochShifts) -> Moves {
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
    pub(super) fn row_digits(&self, row: usize, digits: &mut [usize]) {
        let mut rest = row;
        for k in (0..self.drugs - 1).rev() {
            digits[k] = rest % self.levels;
            rest /= self.levels;
        }
    }

    /// Start of the source row of every (action, replicate) for a row with these digits.
    pub(super) fn row_bases(&self, digits: &[usize], bases: &mut [usize]) {
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

    pub(super) fn last(&self, a: usize, r: usize) -> &[usize] {
        let at = (a * self.replicates + r) * self.levels;
        &self.last[at..at + self.levels]
    }
}

/// Rows per parallel work item of a policy evaluation (a few hundred kilobytes of values).
pub(super) const ROWS_PER_TASK: usize = 256;

/// Values laid out for value iteration: the space as *planes* over the last two drugs (one
/// plane per level of the others), each plane with `pad` ghost levels on every side that
/// repeat its edge. A transition's clamp in the last two coordinates then reads a ghost, so the
/// lookahead of a whole plane for one (drug, replicate) is one run over a contiguous slice, not
/// 31 short rows with their edges.
pub(super) struct Planes {
    /// Levels per drug.
    pub(super) levels: usize,
    /// Ghost levels on each side.
    pub(super) pad: usize,
    /// Padded row length, `levels + 2·pad`.
    pub(super) width: usize,
    /// Slots per plane, `width²`.
    pub(super) plane: usize,
    /// Planes, `levels^(drugs − 2)`.
    pub(super) planes: usize,
    /// Drugs.
    pub(super) drugs: usize,
    pub(super) min_level: i32,
}

impl Planes {
    pub(super) fn new(space: &ResistanceSpace, pad: usize) -> Planes {
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
    pub(super) fn len(&self) -> usize {
        self.planes * self.plane + 2 * self.pad
    }

    /// A compact array (one value per state) laid out in planes, ghosts filled.
    pub(super) fn spread(&self, compact: &[f64]) -> Vec<f64> {
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
    pub(super) fn gather(&self, padded: &[f64]) -> Vec<f64> {
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
    pub(super) fn fill_ghosts(&self, plane: &mut [f64]) {
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
    pub(super) fn plane_digits(&self, plane: usize, digits: &mut [usize]) {
        let mut rest = plane;
        for k in (0..self.drugs - 2).rev() {
            digits[k] = rest % self.levels;
            rest /= self.levels;
        }
    }
}

/// The transitions of an epoch in the plane layout: for each (drug, replicate), where each
/// leading level moves (clamped, as a plane offset) and the offset of a slot within a plane.
pub(super) struct PlaneMoves {
    pub(super) replicates: usize,
    /// `[((a · R + r) · (n − 2) + k) · L + i]`: plane offset of level i of drug k < n − 2.
    pub(super) lead: Vec<usize>,
    /// `[a · R + r]`: the move within a plane, `δ_{n−2}·width + δ_{n−1}` (steps beyond the
    /// range cut to it: every level clamps to the edge either way).
    pub(super) inner: Vec<isize>,
}

impl PlaneMoves {
    pub(super) fn new(planes: &Planes, shifts: &EpochShifts) -> PlaneMoves {
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
    pub(super) fn plane_bases(&self, planes: &Planes, digits: &[usize], bases: &mut [usize]) {
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
pub(super) const TILE: usize = 4;

/// Keeps the lookahead `q` of drug `a` where it is less than the best so far (drug 0 sets
/// it): strictly less, so the first drug with the least value wins, as their `min_by` and
/// `position` pick it. The drug is kept as an `f64` so that the selection vectorizes.
pub(super) fn keep_least(a: usize, q: &[f64], best: &mut [f64], arg: &mut [f64]) {
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
pub(super) fn lookahead4(
    levels: &[f64],
    f: &[f64],
    src: [&[f64]; 4],
    w: f64,
    gamma: f64,
    q: &mut [f64],
) {
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
pub(super) fn sweep(
    planes: &Planes,
    moves: &PlaneMoves,
    values: &[f64],
    future: &[f64],
    gamma: f64,
    new_values: &mut [f64],
    policy: &mut [u8],
) -> f64 {
    let lookahead = Lookahead::new(planes, moves, values, future, gamma);
    lookahead
        .tiles(new_values, policy)
        .into_par_iter()
        .flatten_iter()
        .map(|(line, chunk, acts)| lookahead.line(line, chunk, acts))
        .reduce(|| 0.0, f64::max)
}

/// A line of planes to sweep: its index, its values and its policy.
type Line<'a> = (usize, &'a mut [f64], &'a mut [u8]);

/// What every plane's lookahead reads: the values, the future costs and the levels along a
/// run.
struct Lookahead<'a> {
    planes: &'a Planes,
    moves: &'a PlaneMoves,
    values: &'a [f64],
    future: &'a [f64],
    gamma: f64,
    weight: f64,
    /// The rows of a plane that hold states (ghost columns included): one contiguous run.
    run_start: usize,
    run: usize,
    /// Resistance to the last two drugs along the run (garbage on ghost columns, never used).
    row_level: Vec<f64>,
    column_level: Vec<f64>,
    /// A leading drug's level, the same along the run.
    uniform: Vec<Vec<f64>>,
    /// Planes per line.
    line_planes: usize,
}

impl<'a> Lookahead<'a> {
    fn new(
        planes: &'a Planes,
        moves: &'a PlaneMoves,
        values: &'a [f64],
        future: &'a [f64],
        gamma: f64,
    ) -> Lookahead<'a> {
        let (n, l, p, w) = (planes.drugs, planes.levels, planes.pad, planes.width);
        let run = l * w;
        Lookahead {
            planes,
            moves,
            values,
            future,
            gamma,
            weight: 1.0 / moves.replicates as f64,
            run_start: p * w,
            run,
            row_level: (0..run)
                .map(|x| f64::from((x / w) as i32 + planes.min_level))
                .collect(),
            column_level: (0..run)
                .map(|x| f64::from((x % w) as i32 - p as i32 + planes.min_level))
                .collect(),
            uniform: (0..l)
                .map(|i| vec![f64::from(i as i32 + planes.min_level); run])
                .collect(),
            line_planes: if n >= 3 { l } else { 1 },
        }
    }

    /// Lines: runs of planes that differ only in the last leading level. A tile is the lines
    /// whose level of the drug before lies in one block of `TILE` levels, swept in line order,
    /// so that the planes it reads (two levels either side in both directions) stay in cache.
    fn tiles<'o>(&self, new_values: &'o mut [f64], policy: &'o mut [u8]) -> Vec<Vec<Line<'o>>> {
        let planes = self.planes;
        let (n, l) = (planes.drugs, planes.levels);
        let tile_of = |line: usize| if n >= 4 { (line % l) / TILE } else { 0 };
        let body = planes.pad..planes.pad + planes.planes * planes.plane;
        let mut tiles: Vec<Vec<Line>> = (0..l.div_ceil(TILE)).map(|_| Vec::new()).collect();
        for (line, (chunk, acts)) in new_values[body]
            .chunks_mut(self.line_planes * planes.plane)
            .zip(policy.chunks_mut(self.line_planes * l * l))
            .enumerate()
        {
            tiles[tile_of(line)].push((line, chunk, acts));
        }
        tiles
    }

    /// Sweeps one line's planes; the largest change.
    fn line(&self, line: usize, chunk: &mut [f64], acts: &mut [u8]) -> f64 {
        let (n, l) = (self.planes.drugs, self.planes.levels);
        let mut scratch = Scratch {
            digits: vec![0usize; n - 2],
            bases: vec![0usize; n * self.moves.replicates],
            q: vec![0.0f64; self.run],
            best: vec![0.0f64; self.run],
            arg: vec![0.0f64; self.run],
        };
        let mut change = 0.0f64;
        for (k, (plane, plane_acts)) in chunk
            .chunks_mut(self.planes.plane)
            .zip(acts.chunks_mut(l * l))
            .enumerate()
        {
            let index = line * self.line_planes + k;
            self.plane(index, plane, plane_acts, &mut scratch, &mut change);
        }
        change
    }

    /// One plane: the least lookahead over the drugs of each state, its drug, and the
    /// largest change so far in `change`.
    fn plane(
        &self,
        index: usize,
        plane: &mut [f64],
        plane_acts: &mut [u8],
        scratch: &mut Scratch,
        change: &mut f64,
    ) {
        let planes = self.planes;
        let (n, l, p, w) = (planes.drugs, planes.levels, planes.pad, planes.width);
        let (run_start, run) = (self.run_start, self.run);
        let origin = planes.pad + index * planes.plane;
        planes.plane_digits(index, &mut scratch.digits);
        self.moves
            .plane_bases(planes, &scratch.digits, &mut scratch.bases);
        let f = &self.future[origin + run_start..origin + run_start + run];
        for a in 0..n {
            self.drug_lookahead(a, f, scratch);
            keep_least(a, &scratch.q, &mut scratch.best, &mut scratch.arg);
        }
        let (best, arg) = (&scratch.best, &scratch.arg);
        plane[run_start..run_start + run].copy_from_slice(best);
        for i in 0..l {
            let at = i * w + p;
            let old = &self.values[origin + run_start + at..origin + run_start + at + l];
            for (&o, &v) in old.iter().zip(&best[at..at + l]) {
                *change = change.max((o - v).abs());
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

    /// The lookahead of drug `a` along the plane's run into `scratch.q`.
    fn drug_lookahead(&self, a: usize, f: &[f64], scratch: &mut Scratch) {
        let (planes, moves) = (self.planes, self.moves);
        let n = planes.drugs;
        let reps = moves.replicates;
        let (run_start, run) = (self.run_start, self.run);
        // The resistance to a along the run: a leading drug's level is the plane's, the last
        // two drugs' are the row's and the column's.
        let levels: &[f64] = if a + 2 < n {
            &self.uniform[scratch.digits[a]]
        } else if a + 2 == n {
            &self.row_level
        } else {
            &self.column_level
        };
        let bases = &scratch.bases;
        let from = |r: usize| {
            (planes.pad as isize
                + bases[a * reps + r] as isize
                + run_start as isize
                + moves.inner[a * reps + r]) as usize
        };
        let (values, weight, gamma) = (self.values, self.weight, self.gamma);
        if reps == 4 {
            let src = [0, 1, 2, 3].map(|r| &values[from(r)..from(r) + run]);
            lookahead4(levels, f, src, weight, gamma, &mut scratch.q);
        } else {
            scratch.q.fill(0.0);
            for r in 0..reps {
                let v = &values[from(r)..from(r) + run];
                for (((qx, &lv), &fx), &v) in scratch.q.iter_mut().zip(levels).zip(f).zip(v) {
                    *qx += weight * ((lv + fx) + gamma * v);
                }
            }
        }
    }
}

/// Buffers of one line's sweep.
struct Scratch {
    digits: Vec<usize>,
    bases: Vec<usize>,
    q: Vec<f64>,
    best: Vec<f64>,
    arg: Vec<f64>,
}
