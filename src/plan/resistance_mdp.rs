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

mod course;
mod population;
mod solve;
mod space;
mod sweep;

pub use course::{follow, Course, CourseStep};
pub use population::{read_population_series, PopulationSeries};
pub use solve::{
    action_values, expected_after, expected_last_cost, solve_epoch, solve_time_dependent,
    EpochInspector, EpochSolution, TimeDependentSolution, ValueIteration,
};
pub use space::{resistance_step, EpochShifts, ResistanceSpace, MAX_STATES};

#[cfg(test)]
mod tests {
    use super::course::follow_merging;
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
