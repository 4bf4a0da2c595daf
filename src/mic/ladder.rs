//! Dilution ladders: the concentrations a drug's MICs can take, as steps. A two-fold series
//! keeps the grid of Nichol et al. 2019 (step 0 the drug's largest MIC, each step a halving);
//! any other series (1.5×-interleaved, three-fold, a declared list) is an ascending list of
//! concentrations whose positions are the steps, so the dilution error model counts errors in
//! ladder steps whatever their spacing.

/// Tolerance (log2) for a value to sit on a ladder step: admits rounded labels (0.06 for
/// 0.0625) and stays well inside the closest spacing of common ladders (1.33×, 0.415 log2).
const ON_STEP: f64 = 0.1;

/// Relative tolerance for a value to be the arithmetic mean of two neighbouring steps.
const ON_MEAN: f64 = 0.02;

/// Where a value lies on a ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rung {
    /// On this step.
    At(i64),
    /// The mean of two readings, between this step and the next one up.
    Between(i64),
}

/// The concentrations of one drug's dilution series, as steps.
#[derive(Debug, Clone, PartialEq)]
pub enum Ladder {
    /// Two-fold dilutions of `top` (step 0; step −k is top / 2^k): today's grid, bit for bit.
    TwoFold {
        /// The drug's largest MIC.
        top: f64,
    },
    /// Ascending concentrations; the largest is step 0, the one below it −1, …
    Steps(Vec<f64>),
}

impl Ladder {
    /// The step of `value`, or `None` when it is neither on a step nor the mean of two
    /// neighbouring steps.
    pub fn place(&self, value: f64) -> Option<Rung> {
        if !(value.is_finite() && value > 0.0) {
            return None;
        }
        match self {
            Ladder::TwoFold { top } => {
                let steps = (value / top).log2();
                let step = steps.round();
                ((steps - step).abs() <= ON_STEP).then_some(Rung::At(step as i64))
            }
            Ladder::Steps(c) => place_on(c, value),
        }
    }

    /// The concentration of a step (beyond the ends, the end spacing continued).
    pub fn value(&self, step: i64) -> f64 {
        match self {
            Ladder::TwoFold { top } => top * 2f64.powi(step as i32),
            Ladder::Steps(c) => {
                let n = c.len() as i64;
                let i = step + n - 1;
                if (0..n).contains(&i) {
                    return c[i as usize];
                }
                let ratio = |a: f64, b: f64| if n >= 2 { b / a } else { 2.0 };
                if i >= n {
                    c[c.len() - 1]
                        * ratio(c[c.len().saturating_sub(2)], c[c.len() - 1])
                            .powi((i - n + 1) as i32)
                } else {
                    c[0] / ratio(c[0], c[1.min(c.len() - 1)]).powi((-i) as i32)
                }
            }
        }
    }

    /// The ladder's concentrations, ascending (a two-fold ladder from `low` up to its top).
    pub fn concentrations(&self, low: f64) -> Vec<f64> {
        match self {
            Ladder::TwoFold { top } => {
                let mut out = Vec::new();
                let mut k = 0;
                while out.len() < 64 {
                    let v = self.value(k);
                    if v < low * 2f64.powf(-ON_STEP) {
                        break;
                    }
                    out.push(v);
                    k -= 1;
                }
                let _ = top;
                out.reverse();
                out
            }
            Ladder::Steps(c) => c.clone(),
        }
    }
}

fn place_on(c: &[f64], value: f64) -> Option<Rung> {
    let top = c.len() as i64 - 1;
    if let Some(i) = c.iter().position(|&s| (value / s).log2().abs() <= ON_STEP) {
        return Some(Rung::At(i as i64 - top));
    }
    c.windows(2)
        .position(|w| ((w[0] + w[1]) / 2.0 - value).abs() <= ON_MEAN * value)
        .map(|i| Rung::Between(i as i64 - top))
}

/// A declared ladder: the listed concentrations, or dilutions by `factor` of the values' largest
/// down to below their smallest.
pub fn declared(list: Option<&[f64]>, factor: Option<f64>, values: &[f64]) -> Option<Ladder> {
    if let Some(list) = list {
        let mut c: Vec<f64> = list.iter().copied().filter(|v| *v > 0.0).collect();
        c.sort_by(f64::total_cmp);
        c.dedup();
        return Some(Ladder::Steps(c));
    }
    let f = factor?;
    let (lo, hi) = range(values)?;
    let mut c = vec![hi];
    while c.len() < 200 && *c.last()? > lo * f.powf(-0.5) {
        let next = c.last()? / f;
        c.push(next);
    }
    c.reverse();
    Some(Ladder::Steps(c))
}

fn range(values: &[f64]) -> Option<(f64, f64)> {
    let v = values.iter().copied().filter(|v| v.is_finite() && *v > 0.0);
    let lo = v.clone().fold(f64::INFINITY, f64::min);
    let hi = v.fold(f64::NEG_INFINITY, f64::max);
    (lo <= hi).then_some((lo, hi))
}

/// The ladder of a drug inferred from its values: the two-fold grid when every value lies on
/// it; else the distinct values without those that are means of two neighbouring steps
/// (the tightest first), filled out to the full 2×/1.5× interleaved grid when they all lie on
/// one. Returns the ladder and the values recognised as means.
pub fn infer(values: &[f64]) -> Option<(Ladder, Vec<f64>)> {
    let (_, top) = range(values)?;
    let two_fold = Ladder::TwoFold { top };
    if values.iter().all(|v| two_fold.place(*v).is_some()) {
        return Some((two_fold, Vec::new()));
    }
    let mut c: Vec<f64> = values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    c.sort_by(f64::total_cmp);
    c.dedup_by(|a, b| (*a / *b).log2().abs() <= ON_STEP / 2.0);
    let averaged = remove_means(&mut c);
    let ladder = interleaved(&c).unwrap_or(Ladder::Steps(c));
    Some((ladder, averaged))
}

/// Removes, tightest first, values that are the mean of their neighbours when those
/// neighbours are at most 1.5× apart (a finer ladder than any in use).
fn remove_means(c: &mut Vec<f64>) -> Vec<f64> {
    let mut averaged = Vec::new();
    loop {
        let tightest = (1..c.len().saturating_sub(1))
            .filter(|&i| {
                let (a, v, b) = (c[i - 1], c[i], c[i + 1]);
                b / a <= 1.5 * (1.0 + ON_MEAN) && ((a + b) / 2.0 - v).abs() <= ON_MEAN * v
            })
            .min_by(|&i, &j| spacing(c, i).total_cmp(&spacing(c, j)));
        let Some(i) = tightest else { break };
        averaged.push(c.remove(i));
    }
    averaged.sort_by(f64::total_cmp);
    averaged
}

fn spacing(c: &[f64], i: usize) -> f64 {
    (c[i] / c[i - 1]).max(c[i + 1] / c[i])
}

/// The 2×/1.5× interleaved grid (top·2^−k and top·0.75·2^−k, or top·(2/3)·2^−k when the top
/// is itself an intermediate step) from the smallest value to the largest, when every value
/// lies on it.
fn interleaved(c: &[f64]) -> Option<Ladder> {
    let (lo, top) = (*c.first()?, *c.last()?);
    [0.75, 2.0 / 3.0].iter().find_map(|&other| {
        let mut grid: Vec<f64> = Vec::new();
        let mut k = 0;
        while grid.len() < 400 {
            let (a, b) = (top * 2f64.powi(-k), top * other * 2f64.powi(-k));
            for v in [a, b] {
                if v >= lo * 2f64.powf(-ON_STEP) {
                    grid.push(v);
                }
            }
            if b < lo * 2f64.powf(-ON_STEP) {
                break;
            }
            k += 1;
        }
        grid.sort_by(f64::total_cmp);
        let on = |v: f64| grid.iter().any(|g| (v / g).log2().abs() <= ON_STEP);
        c.iter().all(|&v| on(v)).then_some(Ladder::Steps(grid))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_ladders_with_averaged_values_are_recognised() {
        let v = [
            0.1875, 0.25, 0.375, 0.5, 0.625, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 6.0, 4.0,
        ];
        let (ladder, averaged) = infer(&v).unwrap();
        assert_eq!(averaged, vec![0.625, 5.0]);
        assert_eq!(ladder.place(6.0), Some(Rung::At(0)));
        assert_eq!(ladder.place(4.0), Some(Rung::At(-1)));
        assert_eq!(ladder.place(5.0), Some(Rung::Between(-1)));
        assert_eq!(
            ladder.place(0.625),
            Some(Rung::Between(ladder_step(&ladder, 0.5)))
        );
        assert_eq!(ladder.place(0.68), None);
        assert_eq!(ladder.value(-1), 4.0);
        // Two-fold values keep today's grid.
        assert_eq!(
            infer(&[1.0, 4.0, 0.25]).unwrap().0,
            Ladder::TwoFold { top: 4.0 }
        );
    }

    #[test]
    fn declared_ladders_win_and_three_fold_series_are_their_own_ladder() {
        let l = declared(None, Some(3.0), &[10.0, 10.0 / 27.0]).unwrap();
        assert_eq!(l.place(10.0 / 9.0), Some(Rung::At(-2)));
        let l = declared(Some(&[1.0, 0.5, 2.0]), None, &[]).unwrap();
        assert_eq!(l.place(0.75), Some(Rung::Between(-2)));
        assert_eq!(l.value(1), 4.0);
        let (l, _) = infer(&[10.0, 10.0 / 3.0, 10.0 / 9.0]).unwrap();
        assert_eq!(l.place(10.0 / 3.0), Some(Rung::At(-1)));
    }

    fn ladder_step(l: &Ladder, v: f64) -> i64 {
        match l.place(v) {
            Some(Rung::At(s)) => s,
            _ => panic!("{v} not on a step"),
        }
    }
}
