//! Solving: one epoch by value iteration, the exact future costs passed back, and the
//! time-dependent problem solved backwards epoch by epoch.

use rayon::prelude::*;

use super::space::{EpochShifts, ResistanceSpace};
use super::sweep::{sweep, Moves, PlaneMoves, Planes, ROWS_PER_TASK};
use crate::error::{Error, Location, Result};

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
    pub(super) fn check(&self) -> Result<()> {
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
    pub(crate) last_change: f64,
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
pub(super) fn follow_once(moves: &Moves, policy: &[u8], x: &[f64], out: &mut [f64]) {
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

pub(super) fn check_policy(space: &ResistanceSpace, policy: &[u8]) -> Result<()> {
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
    pub(crate) last_change: Vec<f64>,
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
