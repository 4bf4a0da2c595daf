//! Courses: the exact distribution of states while following each epoch's policy.

use super::solve::check_policy;
use super::space::{EpochShifts, ResistanceSpace};
use crate::error::{Error, Location, Result};

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
pub(super) fn follow_merging(
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
