//! Maltas & Wood's t-MDP as `collateral::plan::resistance_mdp` reproduces it: small models
//! against exhaustive search, path enumeration and a hand computation, and the bundled
//! derivation of their transition data against their own matrices. The full-size run and its
//! agreement with their published Figure 5 runs is `examples/maltas_wood_tmdp.rs`
//! (docs/plan.md).

use std::collections::BTreeMap;

use collateral::plan::resistance_mdp::{
    action_values, expected_after, expected_last_cost, follow, read_population_series,
    resistance_step, solve_epoch, solve_time_dependent, EpochShifts, ResistanceSpace,
    ValueIteration,
};
use rand::{RngExt, SeedableRng};

use crate::common::{read_csv, root, write};

/// The exact discounted cost of a stationary policy: (I − γ P_π) V = c_π + F, by Gaussian
/// elimination with partial pivoting.
fn policy_value(
    space: &ResistanceSpace,
    shifts: &EpochShifts,
    future: Option<&[f64]>,
    gamma: f64,
    policy: &[u8],
) -> Vec<f64> {
    let n = space.states();
    let w = 1.0 / shifts.replicates() as f64;
    let mut m = vec![vec![0.0; n + 1]; n];
    for s in 0..n {
        let a = policy[s] as usize;
        m[s][s] += 1.0;
        for r in 0..shifts.replicates() {
            m[s][space.shifted(s, shifts.steps(a, r))] -= gamma * w;
        }
        m[s][n] = f64::from(space.state(s)[a]) + future.map_or(0.0, |f| f[s]);
    }
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))
            .unwrap();
        m.swap(col, pivot);
        let pivot_row = m[col].clone();
        for (row, values) in m.iter_mut().enumerate() {
            if row != col {
                let k = values[col] / pivot_row[col];
                for (x, p) in values[col..].iter_mut().zip(&pivot_row[col..]) {
                    *x -= k * p;
                }
            }
        }
    }
    (0..n).map(|s| m[s][n] / m[s][s]).collect()
}

/// The least discounted cost of each state over every stationary deterministic policy (a
/// discounted MDP has an optimal one, optimal in every state at once).
fn exhaustive_optimum(
    space: &ResistanceSpace,
    shifts: &EpochShifts,
    future: Option<&[f64]>,
    gamma: f64,
) -> Vec<f64> {
    let (n, k) = (space.states(), space.drugs());
    let mut best = vec![f64::INFINITY; n];
    let mut policy = vec![0u8; n];
    for code in 0..k.pow(n as u32) {
        let mut c = code;
        for a in policy.iter_mut() {
            *a = (c % k) as u8;
            c /= k;
        }
        for (b, v) in best
            .iter_mut()
            .zip(policy_value(space, shifts, future, gamma, &policy))
        {
            *b = b.min(v);
        }
    }
    best
}

/// Every sequence of replicate draws over `steps` steps from `start` under a schedule of
/// (policy, shifts) epochs of `per_epoch` steps: (probability, states visited before each step,
/// state after the last step).
fn paths(
    space: &ResistanceSpace,
    schedule: &[(&[u8], &EpochShifts)],
    per_epoch: usize,
    start: usize,
    steps: usize,
) -> Vec<(f64, Vec<usize>, usize)> {
    let mut out = vec![(1.0, Vec::new(), start)];
    for t in 0..steps {
        let (policy, shifts) = schedule[t / per_epoch];
        let w = 1.0 / shifts.replicates() as f64;
        out = out
            .into_iter()
            .flat_map(|(p, visited, s)| {
                let a = policy[s] as usize;
                (0..shifts.replicates()).map(move |r| {
                    let mut v = visited.clone();
                    v.push(s);
                    (p * w, v, space.shifted(s, shifts.steps(a, r)))
                })
            })
            .collect();
    }
    out
}

fn random_shifts(rng: &mut rand_chacha::ChaCha8Rng, drugs: usize, reps: usize) -> EpochShifts {
    let steps: Vec<Vec<Vec<i8>>> = (0..drugs)
        .map(|_| {
            (0..reps)
                .map(|_| (0..drugs).map(|_| rng.random_range(-2i8..=2)).collect())
                .collect()
        })
        .collect();
    EpochShifts::new(&steps).unwrap()
}

#[test]
fn the_t_mdp_is_optimal_by_exhaustive_search_on_small_models() {
    // Converged tightly, so the values must be the optimum itself (|V_k − V*| ≤ θγ/(1 − γ)).
    let settings = ValueIteration {
        gamma: 0.9,
        theta: 1e-11,
        max_iterations: 7500,
    };
    let per_epoch = 3;
    let spaces = [
        ResistanceSpace::new(2, -1, 1).unwrap(),
        ResistanceSpace::new(3, 0, 1).unwrap(),
    ];
    for (case, space) in spaces.iter().cycle().take(6).enumerate() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(case as u64);
        let epochs: Vec<EpochShifts> = (0..3)
            .map(|_| random_shifts(&mut rng, space.drugs(), 2))
            .collect();
        let mut seen_future: Vec<Option<Vec<f64>>> = vec![None; 3];
        let mut seen_values: Vec<Vec<f64>> = vec![Vec::new(); 3];
        let solution = solve_time_dependent(
            space,
            &epochs,
            per_epoch,
            &settings,
            &mut |_, _, _| {},
            &mut |e, sol, future| {
                seen_future[e] = future.map(<[f64]>::to_vec);
                seen_values[e] = sol.values.clone();
            },
        )
        .unwrap();
        assert!(
            seen_future[2].is_none(),
            "the last epoch has no future cost"
        );
        for e in 0..3 {
            let future = seen_future[e].as_deref();
            let optimum = exhaustive_optimum(space, &epochs[e], future, settings.gamma);
            let chosen = policy_value(
                space,
                &epochs[e],
                future,
                settings.gamma,
                &solution.policies[e],
            );
            for s in 0..space.states() {
                assert!(
                    (seen_values[e][s] - optimum[s]).abs() < 1e-8,
                    "case {case}, epoch {e}, state {s}: value {} vs optimum {}",
                    seen_values[e][s],
                    optimum[s]
                );
                assert!(
                    (chosen[s] - optimum[s]).abs() < 1e-8,
                    "case {case}, epoch {e}, state {s}: the policy's cost {} vs optimum {}",
                    chosen[s],
                    optimum[s]
                );
                // The policy's drug is the first with the least lookahead.
                let q = action_values(
                    space,
                    &epochs[e],
                    &seen_values[e],
                    future,
                    settings.gamma,
                    s,
                )
                .unwrap();
                let least = q.iter().copied().fold(f64::INFINITY, f64::min);
                let first = q.iter().position(|&x| x == least).unwrap();
                assert_eq!(solution.policies[e][s] as usize, first);
            }
        }
        // The future costs handed back, by enumerating every replicate draw: the last epoch's
        // policy judged by its cost at the epoch's last step, the middle one by the future
        // cost of where it leaves the population.
        let last: &[u8] = &solution.policies[2];
        let middle: &[u8] = &solution.policies[1];
        for s in 0..space.states() {
            let f2: f64 = paths(space, &[(last, &epochs[2])], 99, s, per_epoch - 1)
                .iter()
                .map(|(p, _, end)| p * f64::from(space.state(*end)[last[*end] as usize]))
                .sum();
            let got = seen_future[1].as_ref().unwrap()[s];
            assert!((f2 - got).abs() < 1e-12, "case {case}: F(s) {got} vs {f2}");
            let f1: f64 = paths(space, &[(middle, &epochs[1])], 99, s, per_epoch)
                .iter()
                .map(|(p, _, end)| p * seen_future[1].as_ref().unwrap()[*end])
                .sum();
            let got = seen_future[0].as_ref().unwrap()[s];
            assert!((f1 - got).abs() < 1e-12, "case {case}: F(s) {got} vs {f1}");
        }
        // The course from the middle of the space, by enumerating every draw.
        let start = space.index(&vec![0; space.drugs()]).unwrap();
        let schedule: Vec<(&[u8], &EpochShifts)> = solution
            .policies
            .iter()
            .zip(&epochs)
            .map(|(p, s)| (p.as_slice(), s))
            .collect();
        let course = follow(space, &schedule, per_epoch, start).unwrap();
        let all = paths(space, &schedule, per_epoch, start, 3 * per_epoch);
        assert_eq!(course.steps.len(), 3 * per_epoch);
        for (t, step) in course.steps.iter().enumerate() {
            let policy = schedule[t / per_epoch].0;
            let mut cost = 0.0;
            let mut drug = vec![0.0; space.drugs()];
            for (p, visited, _) in &all {
                let a = policy[visited[t]] as usize;
                cost += p * f64::from(space.state(visited[t])[a]);
                drug[a] += p;
            }
            assert!(
                (step.expected_cost - cost).abs() < 1e-12,
                "case {case}, step {t}"
            );
            for (x, y) in step.drug_use.iter().zip(&drug) {
                assert!((x - y).abs() < 1e-12);
            }
            let total: f64 = step.cost_distribution.iter().map(|(_, p)| p).sum();
            assert!((total - 1.0).abs() < 1e-12);
        }
        let mut end: BTreeMap<usize, f64> = BTreeMap::new();
        for (p, _, s) in &all {
            *end.entry(*s).or_default() += p;
        }
        assert_eq!(course.final_distribution.len(), end.len());
        for ((s, p), (s2, p2)) in course.final_distribution.iter().zip(&end) {
            assert_eq!(s, s2);
            assert!((p - p2).abs() < 1e-12);
        }
        // The stand-alone pieces give what the chain used.
        let again = expected_last_cost(space, &epochs[2], last, per_epoch).unwrap();
        assert_eq!(&again, seen_future[1].as_ref().unwrap());
        let again = expected_after(space, &epochs[1], middle, per_epoch, &again).unwrap();
        assert_eq!(&again, seen_future[0].as_ref().unwrap());
    }
}

#[test]
fn a_hand_computed_case_with_their_settings() {
    // Two drugs, levels 0..1, one population each: a drug raises resistance to itself by one.
    // From (0, 0): give A (cost 0) → (1, 0); give B (cost 0) → (1, 1); then cost 1 forever.
    // V*(1, 1) = 1/(1 − γ), V*(1, 0) = γ/(1 − γ), V*(0, 0) = γ²/(1 − γ).
    let space = ResistanceSpace::new(2, 0, 1).unwrap();
    let shifts = EpochShifts::new(&[vec![vec![1, 0]], vec![vec![0, 1]]]).unwrap();
    let settings = ValueIteration::default();
    let g = settings.gamma;
    let sol = solve_epoch(&space, &shifts, None, &settings, &mut |_, _| {}).unwrap();
    // Their stopping rule: the values are within θγ/(1 − γ) of the optimum.
    let bound = settings.theta * g / (1.0 - g);
    for (state, want) in [
        ([1, 1], 1.0 / (1.0 - g)),
        ([1, 0], g / (1.0 - g)),
        ([0, 1], g / (1.0 - g)),
        ([0, 0], g * g / (1.0 - g)),
    ] {
        let s = space.index(&state).unwrap();
        assert!(
            (sol.values[s] - want).abs() <= bound,
            "{state:?}: {} vs {want}",
            sol.values[s]
        );
    }
    // Sweep k changes V(1, 1) by 0.99^(k − 1), the largest change: below 0.001 first at
    // k = 689 (their loop stops there; one more lookahead gives the policy).
    assert_eq!(sol.sweeps, 689);
    // Both drugs are as good from (0, 0): the first wins the tie, as theirs does.
    let start = space.index(&[0, 0]).unwrap();
    assert_eq!(sol.policy[start], 0);
    assert_eq!(sol.policy[space.index(&[1, 0]).unwrap()], 1);
    assert_eq!(sol.policy[space.index(&[0, 1]).unwrap()], 0);
    // The course: cost 0, 0, then 1.
    let course = follow(&space, &[(&sol.policy, &shifts)], 4, start).unwrap();
    let costs: Vec<f64> = course.steps.iter().map(|s| s.expected_cost).collect();
    assert_eq!(costs, [0.0, 0.0, 1.0, 1.0]);
    assert_eq!(course.final_state, [1.0, 1.0]);
}

#[test]
fn their_transition_data_is_derived_from_the_bundled_series() {
    // Their `day*_rust.csv` are the day-to-day matrices of their HeatmapWorkspace.mat (bundled
    // as CSV); ours come from the bundled TempData series. They must bin alike everywhere.
    let dir = root().join("assays/maltas-wood-temporal");
    let series =
        read_population_series(&dir.join("raw/ic50_timeseries_TempData_tidy.csv")).unwrap();
    assert_eq!(series.drugs, ["CIP", "DAP", "DOX", "CRO", "LZD"]);
    assert_eq!((series.populations, series.days.len()), (4, 5));
    let theirs = read_csv(&dir.join("tmdp/heatmap_workspace_changes.csv"));
    let (mut compared, mut carried) = (0, 0);
    for (name, from, to) in [
        ("D0D2", 0.0, 2.0),
        ("D2D4", 2.0, 4.0),
        ("D4D6", 4.0, 6.0),
        ("D6D8", 6.0, 8.0),
    ] {
        let ours = series.change(from, to).unwrap();
        let steps = series.epoch_shifts(from, to).unwrap();
        for row in theirs.iter().filter(|r| r["matrix"] == name) {
            let sel: usize = row["selecting_drug_index"].parse().unwrap();
            let pop: usize = row["population"].parse::<usize>().unwrap() - 1;
            let test: usize = row["test_drug_index"].parse().unwrap();
            let value: f64 = row["value"].parse().unwrap();
            let mine = ours[sel][pop][test];
            // Their matrices are printed to 3 decimals; where the series carries a value
            // forward unchanged (a change of exactly 0) theirs keeps a small change.
            if mine == 0.0 && (value - mine).abs() > 0.0005 {
                carried += 1;
                assert!((value - mine).abs() <= 0.05, "{name} {sel} {pop} {test}");
            } else {
                assert!(
                    (value - mine).abs() <= 0.0005 + 1e-9,
                    "{name} {sel} {pop} {test}: {value} vs {mine}"
                );
            }
            assert_eq!(
                resistance_step(value),
                steps.steps(sel, pop)[test],
                "{name} {sel} {pop} {test}"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 400);
    assert_eq!(carried, 29);
}

#[test]
fn a_bad_series_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let head = "selecting_drug_index,selecting_drug_inferred,population,test_drug_index,test_drug_inferred,day,value\n";
    let bad = write(
        dir.path(),
        "bad.csv",
        &format!("{head}0,A,1,0,A,0,0\n0,A,1,0,A,2,NaN\n0,A,1,1,B,0,0\n"),
    );
    let e = read_population_series(&bad).unwrap_err().to_string();
    assert!(
        e.contains("bad.csv:3") && e.contains("`value` is `NaN`"),
        "{e}"
    );
    let renamed = write(
        dir.path(),
        "renamed.csv",
        &format!("{head}0,A,1,0,A,0,0\n0,A,1,1,C,0,0\n1,B,1,0,A,0,0\n"),
    );
    let e = read_population_series(&renamed).unwrap_err().to_string();
    assert!(
        e.contains("renamed.csv:4") && e.contains("drug index 1 is `B`"),
        "{e}"
    );
    let gap = write(
        dir.path(),
        "gap.csv",
        &format!("{head}0,A,1,0,A,0,0\n0,A,1,1,B,0,0\n1,B,1,0,A,0,0\n"),
    );
    let e = read_population_series(&gap).unwrap_err().to_string();
    assert!(
        e.contains("no value for selecting drug 1, population 1, test drug 1"),
        "{e}"
    );
}
