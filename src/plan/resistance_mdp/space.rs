//! The model: resistance states (a space of levels per drug), their binned steps, and the
//! steps each drug's populations make in an epoch.

use crate::error::{Error, Location, Result};

/// Their binning of a change in log2 IC50 into a resistance step: below −2 → −2, below −0.25 →
/// −1, below 0.25 → 0, below 2 → +1, else +2 (as `discretize_data` in `main_td.rs`; a NaN
/// would land in +2 there and here, which is why [`super::read_population_series`] refuses one).
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
    pub(super) drugs: usize,
    pub(super) min_level: i8,
    pub(super) max_level: i8,
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
    pub(super) fn decode(&self, index: usize, levels: &mut [i8]) {
        let l = self.levels();
        let mut rest = index;
        for x in levels.iter_mut().rev() {
            *x = (self.min_level as i32 + (rest % l) as i32) as i8;
            rest /= l;
        }
    }

    /// The index of the state reached from `levels` by adding `steps`, clamped to the range.
    pub(super) fn moved(&self, levels: &[i8], steps: &[i8]) -> usize {
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
    pub(super) drugs: usize,
    pub(super) replicates: usize,
    /// `[(given · replicates + replicate) · drugs + drug]`.
    pub(super) steps: Vec<i8>,
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

    pub(super) fn check(&self, space: &ResistanceSpace) -> Result<()> {
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
