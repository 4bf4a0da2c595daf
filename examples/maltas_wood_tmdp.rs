//! Maltas & Wood's time-dependent MDP (t-MDP) reproduced on their data, checked against their
//! published Figure 5 outputs, and set beside our switch-time policy (`policy.csv`): the
//! comparison in `docs/plan.md`.
//!
//! ```text
//! cargo run --release --example maltas_wood_tmdp -- [OUT_DIR] [--schedules TD,d2,d4,d6,d8]
//!     [--their-noise SEED]... [--threads N] [--ours POLICY_CSV] [--fresh]
//!     [--static-profiles cumulative|incremental] [--static-environment epochs|own]
//! ```
//! Reads only bundled files: `assays/maltas-wood-temporal/raw/ic50_timeseries_TempData_tidy.csv`
//! (their population-level log2 IC50 changes, days 0–8) and their published outputs in
//! `assays/maltas-wood-temporal/tmdp/` (see its SOURCE.md); `--ours` adds our `policy.csv` (from
//! `collateral plan` on the bundled isolates). Writes into `OUT_DIR` (default
//! `target/maltas-wood-tmdp`) `comparison.md` (also printed), `course.csv`, `epoch_steps.csv`
//! and `drug_use_over_states.csv`. Solved policies and values (28.6 MB and 229 MB per epoch)
//! are cached in `OUT_DIR/cache/` under a hash of everything they depend on; `--fresh` solves
//! again. `--their-noise SEED` adds the t-MDP solved with future costs as noisy as theirs (see
//! [`solve_td_noisy`]).
//!
//! **Their model** (`main_td.rs`, see `collateral::plan::resistance_mdp`): five drugs, levels
//! −5..25 (31⁵ ≈ 28.6 M states), four 2-day epochs of 20 steps, transitions from the four
//! replicate populations per drug, γ = 0.99. Their `day{2,4,6,8}_rust.csv` are not published;
//! they are the 20 × 5 matrices `D0D2`, `D2D4`, `D4D6`, `D6D8` of their `HeatmapWorkspace.mat`
//! (rows drug given × population, columns drug tested; their `enumerate_plot_all.py` reads the
//! same matrices as the time-dependent profiles): the change of each population's log2 IC50
//! *over* the epoch, `TempData(day b) − TempData(day a)` here. The published matrices differ
//! from those differences by at most 0.05 log2 (where TempData carries a value forward), never
//! in a binned step (`tests/resistance_mdp.rs`).
//!
//! **Their Figure 5 schedules**: `TD` is the t-MDP's policy per epoch; `d2`…`d8` a single
//! static policy for all 80 steps, solved from one day's profile. Their code for the static
//! policies and for the 80-step simulation is not published: `--static-profiles` chooses the
//! profile (`cumulative`: day 0 → day X, the CS profile of day X; `incremental`: day X−2 → X)
//! and `--static-environment` the steps the simulation applies (`epochs`: each epoch's own, as
//! for TD; `own`: the static profile throughout). The defaults are the reading their published
//! runs support (every run of d4, d6 and d8 is replayed exactly).

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use collateral::lines::LinesTable;
use collateral::plan::resistance_mdp::{
    action_values, expected_after, follow, read_population_series, solve_epoch,
    solve_time_dependent, Course, EpochShifts, PopulationSeries, ResistanceSpace, ValueIteration,
};
use collateral::shift::{Bound, Call, Metric, Shift};
use collateral::table::Table;
use rand::{RngExt, SeedableRng};
use sha2::{Digest, Sha256};

/// Steps per 2-day epoch (`time_steps` in `main_td.rs`, `evoSteps` in `plot_mdp_data.py`).
const STEPS: usize = 20;
/// Epoch boundaries, days.
const DAYS: [f64; 5] = [0.0, 2.0, 4.0, 6.0, 8.0];
/// Simulated runs per schedule in their figure.
const RUNS: usize = 1000;

type Res<T> = Result<T, Box<dyn Error>>;

struct Args {
    out: PathBuf,
    schedules: Vec<String>,
    noise_seeds: Vec<u64>,
    threads: Option<usize>,
    cumulative: bool,
    own_environment: bool,
    ours: Option<PathBuf>,
    fresh: bool,
}

fn args() -> Res<Args> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut a = Args {
        out: root.join("target/maltas-wood-tmdp"),
        schedules: ["TD", "d2@0.9", "d4", "d6", "d8"]
            .map(String::from)
            .to_vec(),
        noise_seeds: Vec::new(),
        threads: None,
        cumulative: true,
        own_environment: false,
        ours: None,
        fresh: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match x.as_str() {
            "--fresh" => a.fresh = true,
            "--threads" => a.threads = Some(value("--threads")?.parse()?),
            "--ours" => a.ours = Some(PathBuf::from(value("--ours")?)),
            "--their-noise" => a.noise_seeds.push(value("--their-noise")?.parse()?),
            "--schedules" => {
                a.schedules = value("--schedules")?.split(',').map(String::from).collect();
                for s in &a.schedules {
                    let (name, gamma) = schedule_gamma(s)?;
                    if !["TD", "d2", "d4", "d6", "d8"].contains(&name)
                        || !(0.0..1.0).contains(&gamma)
                    {
                        return Err(format!(
                            "--schedules: `{s}` is none of TD,d2,d4,d6,d8 (with @γ, 0 ≤ γ < 1)"
                        )
                        .into());
                    }
                }
            }
            "--static-profiles" => {
                a.cumulative = match value("--static-profiles")?.as_str() {
                    "cumulative" => true,
                    "incremental" => false,
                    v => {
                        return Err(format!("--static-profiles {v}: cumulative|incremental").into())
                    }
                }
            }
            "--static-environment" => {
                a.own_environment = match value("--static-environment")?.as_str() {
                    "epochs" => false,
                    "own" => true,
                    v => return Err(format!("--static-environment {v}: epochs|own").into()),
                }
            }
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}").into()),
            dir => a.out = PathBuf::from(dir),
        }
    }
    Ok(a)
}

/// A schedule's name and discount: `d2@0.9`, or `d4` for their γ = 0.99.
fn schedule_gamma(text: &str) -> Res<(&str, f64)> {
    match text.split_once('@') {
        Some((name, g)) => Ok((name, g.parse()?)),
        None => Ok((text, ValueIteration::default().gamma)),
    }
}

/// A solved schedule: per epoch, the policy, the steps it was solved with, the steps the
/// population meets, and the file of the values it was solved to.
struct Schedule {
    /// As shown (`d2 (γ 0.9)` when not their 0.99).
    name: String,
    /// As their files name it (`d2`).
    published: String,
    gamma: f64,
    policies: Vec<std::sync::Arc<Vec<u8>>>,
    solved_with: Vec<EpochShifts>,
    environment: Vec<EpochShifts>,
    values: Vec<PathBuf>,
}

/// A name for everything a cached solution depends on.
fn cache_key(what: &str, shifts: &[&EpochShifts], settings: &ValueIteration) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "resistance_mdp v2|{what}|{STEPS}|{:?}|{}|{}|{}",
        ResistanceSpace::maltas_wood(),
        settings.gamma,
        settings.theta,
        settings.max_iterations
    ));
    for s in shifts {
        for a in 0..s.drugs() {
            for r in 0..s.replicates() {
                h.update(s.steps(a, r).iter().map(|&x| x as u8).collect::<Vec<u8>>());
            }
        }
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("{what}-{}", &hex[..16]).replace([' ', ',', '(', ')'], "_")
}

fn policy_file(dir: &Path, key: &str, e: usize) -> PathBuf {
    dir.join(format!("{key}-{e}.policy"))
}

fn values_file(dir: &Path, key: &str, e: usize) -> PathBuf {
    dir.join(format!("{key}-{e}.values"))
}

/// The cached policies of `epochs` epochs, if all are there (with their values).
fn load_cached(dir: &Path, key: &str, epochs: usize, states: usize) -> Option<Vec<Vec<u8>>> {
    (0..epochs)
        .map(|e| {
            let values = std::fs::metadata(values_file(dir, key, e)).ok()?;
            let p = std::fs::read(policy_file(dir, key, e)).ok()?;
            (p.len() == states && values.len() == 8 * states as u64).then_some(p)
        })
        .collect()
}

fn store(dir: &Path, key: &str, e: usize, policy: &[u8], values: &[f64]) -> Res<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(policy_file(dir, key, e), policy)?;
    // Streamed: a copy of 229 MB of values as bytes would raise the peak for nothing.
    let mut out = std::io::BufWriter::new(std::fs::File::create(values_file(dir, key, e))?);
    for v in values {
        std::io::Write::write_all(&mut out, &v.to_le_bytes())?;
    }
    std::io::Write::flush(&mut out)?;
    Ok(())
}

fn load_values(path: &Path) -> Res<Vec<f64>> {
    let bytes = std::fs::read(path)?;
    Ok(bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect())
}

fn progress_line(label: &str, sweep: usize, change: f64, started: Instant) {
    if sweep.is_multiple_of(100) || sweep == 1 {
        eprintln!(
            "  {label}: sweep {sweep}, largest change {change:.3e}, {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
}

/// A schedule of one policy per epoch, solved with the epochs' own steps at discount `gamma`,
/// from the cache.
fn cached_schedule(
    name: &str,
    gamma: f64,
    epochs: &[EpochShifts],
    dir: &Path,
    key: &str,
    fresh: bool,
) -> Option<Schedule> {
    if fresh {
        return None;
    }
    let policies = load_cached(
        dir,
        key,
        epochs.len(),
        ResistanceSpace::maltas_wood().states(),
    )?;
    Some(Schedule {
        name: name.to_string(),
        published: "TD".to_string(),
        gamma,
        policies: policies.into_iter().map(std::sync::Arc::new).collect(),
        solved_with: epochs.to_vec(),
        environment: epochs.to_vec(),
        values: (0..epochs.len())
            .map(|e| values_file(dir, key, e))
            .collect(),
    })
}

/// The t-MDP (their `main_td.rs`) at discount `gamma`, future costs exact.
fn solve_td(epochs: &[EpochShifts], gamma: f64, args: &Args, log: &mut String) -> Res<Schedule> {
    let space = ResistanceSpace::maltas_wood();
    let settings = ValueIteration {
        gamma,
        ..ValueIteration::default()
    };
    let name = if gamma == ValueIteration::default().gamma {
        "TD".to_string()
    } else {
        format!("TD (γ {gamma})")
    };
    let refs: Vec<&EpochShifts> = epochs.iter().collect();
    let key = cache_key("td", &refs, &settings);
    let dir = args.out.join("cache");
    if let Some(s) = cached_schedule(&name, gamma, epochs, &dir, &key, args.fresh) {
        writeln!(log, "- {name}: read from the cache (`{key}`)")?;
        return Ok(s);
    }
    let started = Instant::now();
    let mut stored: Res<()> = Ok(());
    let solution = solve_time_dependent(
        &space,
        epochs,
        STEPS,
        &settings,
        &mut |e, sweep, change| progress_line(&format!("{name} epoch {e}"), sweep, change, started),
        &mut |e, sol, _| {
            if stored.is_ok() {
                stored = store(&dir, &key, e, &sol.policy, &sol.values);
            }
        },
    )?;
    stored?;
    writeln!(
        log,
        "- {name}: solved in {:.0} s ({} sweeps in the epochs of days 0–2 … 6–8)",
        started.elapsed().as_secs_f64(),
        solution
            .sweeps
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    Ok(cached_schedule(&name, gamma, epochs, &dir, &key, false).expect("just stored"))
}

/// The t-MDP with future costs as noisy as theirs. They estimate F as the mean of 100
/// simulated runs per state (unseeded), so their policies settle near-ties by chance. Here each
/// F is drawn as that mean is distributed: normal around the exact expectation with the
/// variance of a 100-run mean (both exact, from the first two moments), from a seeded stream —
/// one more draw of what their program computes, to set beside the difference between their
/// policies and our exact ones.
fn solve_td_noisy(
    epochs: &[EpochShifts],
    seed: u64,
    args: &Args,
    log: &mut String,
) -> Res<Schedule> {
    use rand_distr::{Distribution, StandardNormal};
    let space = ResistanceSpace::maltas_wood();
    let settings = ValueIteration::default();
    let refs: Vec<&EpochShifts> = epochs.iter().collect();
    let key = cache_key(&format!("td 100-run F seed {seed}"), &refs, &settings);
    let dir = args.out.join("cache");
    let name = format!("TD, 100-run F (seed {seed})");
    if let Some(s) = cached_schedule(&name, settings.gamma, epochs, &dir, &key, args.fresh) {
        writeln!(log, "- {name}: read from the cache (`{key}`)")?;
        return Ok(s);
    }
    let started = Instant::now();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // The mean of 100 runs' x(X_steps) under the policy.
    let mut hundred_run_mean =
        |policy: &[u8], shifts: &EpochShifts, steps: usize, x: &[f64]| -> Res<Vec<f64>> {
            let mean = expected_after(&space, shifts, policy, steps, x)?;
            let square: Vec<f64> = x.iter().map(|v| v * v).collect();
            let second = expected_after(&space, shifts, policy, steps, &square)?;
            Ok(mean
                .iter()
                .zip(&second)
                .map(|(m, m2)| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    m + z * ((m2 - m * m).max(0.0) / 100.0).sqrt()
                })
                .collect())
        };
    let mut future: Option<Vec<f64>> = None;
    for e in (0..epochs.len()).rev() {
        let sol = solve_epoch(
            &space,
            &epochs[e],
            future.as_deref(),
            &settings,
            &mut |sweep, change| {
                progress_line(&format!("{name} epoch {e}"), sweep, change, started)
            },
        )?;
        store(&dir, &key, e, &sol.policy, &sol.values)?;
        let policy = sol.policy;
        drop(sol.values);
        if e > 0 {
            future = Some(match &future {
                // Their F of the last epoch: the cost at its 20th step.
                None => {
                    let cost: Vec<f64> = (0..space.states())
                        .map(|x| f64::from(space.state(x)[policy[x] as usize]))
                        .collect();
                    hundred_run_mean(&policy, &epochs[e], STEPS - 1, &cost)?
                }
                Some(f) => hundred_run_mean(&policy, &epochs[e], STEPS, f)?,
            });
        }
    }
    writeln!(
        log,
        "- {name}: solved in {:.0} s",
        started.elapsed().as_secs_f64()
    )?;
    Ok(cached_schedule(&name, settings.gamma, epochs, &dir, &key, false).expect("just stored"))
}

/// A static schedule: one policy solved from one profile, used in every epoch.
fn solve_static(
    published: &str,
    gamma: f64,
    profile: &EpochShifts,
    epochs: &[EpochShifts],
    args: &Args,
    log: &mut String,
) -> Res<Schedule> {
    let space = ResistanceSpace::maltas_wood();
    let settings = ValueIteration {
        gamma,
        ..ValueIteration::default()
    };
    let name = if gamma == ValueIteration::default().gamma {
        published.to_string()
    } else {
        format!("{published} (γ {gamma})")
    };
    let name = name.as_str();
    let key = cache_key("static", &[profile], &settings);
    let dir = args.out.join("cache");
    let policy = match (!args.fresh)
        .then(|| load_cached(&dir, &key, 1, space.states()))
        .flatten()
    {
        Some(mut p) => {
            writeln!(log, "- {name}: read from the cache (`{key}`)")?;
            p.remove(0)
        }
        None => {
            let started = Instant::now();
            let sol = solve_epoch(&space, profile, None, &settings, &mut |sweep, change| {
                progress_line(name, sweep, change, started)
            })?;
            store(&dir, &key, 0, &sol.policy, &sol.values)?;
            writeln!(
                log,
                "- {name}: solved in {:.0} s ({} sweeps)",
                started.elapsed().as_secs_f64(),
                sol.sweeps
            )?;
            sol.policy
        }
    };
    let environment = if args.own_environment {
        vec![profile.clone(); epochs.len()]
    } else {
        epochs.to_vec()
    };
    Ok(Schedule {
        name: name.to_string(),
        published: published.to_string(),
        gamma,
        // One policy shared by every epoch.
        policies: {
            let shared = std::sync::Arc::new(policy);
            (0..epochs.len()).map(|_| shared.clone()).collect()
        },
        solved_with: vec![profile.clone(); epochs.len()],
        environment,
        values: vec![values_file(&dir, &key, 0); epochs.len()],
    })
}

/// Their published runs: schedule → 1,000 runs of 80 costs; and the mean states per epoch end.
struct Published {
    costs: BTreeMap<String, Vec<Vec<i8>>>,
    states: BTreeMap<(String, u32), Vec<f64>>,
}

fn read_published(dir: &Path) -> Res<Published> {
    let mut costs: BTreeMap<String, Vec<Vec<i8>>> = BTreeMap::new();
    let path = dir.join("published_costs.csv");
    let mut r = csv::Reader::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    for (i, rec) in r.records().enumerate() {
        let rec = rec?;
        let at = format!("{}:{}", path.display(), i + 2);
        let run: Vec<i8> = rec[2]
            .split(' ')
            .map(|x| x.parse::<i8>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{at}: {e}"))?;
        if run.len() != 4 * STEPS {
            return Err(format!("{at}: {} costs, expected 80", run.len()).into());
        }
        costs.entry(rec[0].to_string()).or_default().push(run);
    }
    let mut states = BTreeMap::new();
    let path = dir.join("published_states.csv");
    let mut r = csv::Reader::from_path(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    for rec in r.records() {
        let rec = rec?;
        let v: Vec<f64> = (2..7).map(|k| rec[k].parse()).collect::<Result<_, _>>()?;
        states.insert((rec[0].to_string(), rec[1].parse()?), v);
    }
    Ok(Published { costs, states })
}

/// Whether a run can come out of a schedule: the states consistent with its costs so far,
/// step by step (the drug is the policy's, so the cost is known in every state; the replicate
/// drawn is not). `Err((step, states))`: the first step no state explains, and the states the
/// run may be in there.
fn replay(space: &ResistanceSpace, s: &Schedule, run: &[i8]) -> Result<(), (usize, Vec<usize>)> {
    let wt = space.index(&[0; 5]).expect("the wild type is a state");
    let mut states: BTreeSet<usize> = BTreeSet::from([wt]);
    for (t, &cost) in run.iter().enumerate() {
        let (e, env) = (t / STEPS, &s.environment[t / STEPS]);
        let mut next = BTreeSet::new();
        for &x in &states {
            let a = s.policies[e][x] as usize;
            if space.state(x)[a] == cost {
                for r in 0..env.replicates() {
                    next.insert(space.shifted(x, env.steps(a, r)));
                }
            }
        }
        if next.is_empty() {
            return Err((t, states.into_iter().collect()));
        }
        states = next;
    }
    Ok(())
}

/// Every run replayed: (runs explained, runs by their first unexplained step, and for each
/// unexplained run the least regret in our model of a drug that gives its cost there: how
/// much worse than our policy's drug their choice is, in discounted resistance).
struct Replayed {
    explained: usize,
    first: BTreeMap<usize, usize>,
    regrets: Vec<f64>,
}

fn replay_all(space: &ResistanceSpace, s: &Schedule, runs: &[Vec<i8>]) -> Res<Replayed> {
    let mut out = Replayed {
        explained: 0,
        first: BTreeMap::new(),
        regrets: Vec::new(),
    };
    let mut failed: BTreeMap<usize, Vec<(i8, Vec<usize>)>> = BTreeMap::new();
    for run in runs {
        match replay(space, s, run) {
            Ok(()) => out.explained += 1,
            Err((t, states)) => {
                *out.first.entry(t).or_default() += 1;
                failed.entry(t / STEPS).or_default().push((run[t], states));
            }
        }
    }
    for (e, cases) in failed {
        let values = load_values(&s.values[e])?;
        for (cost, states) in cases {
            let mut least = f64::INFINITY;
            for x in states {
                // F(x) is the same for every drug in x: the gaps need no future cost.
                let q = action_values(space, &s.solved_with[e], &values, None, s.gamma, x)?;
                let best = q[s.policies[e][x] as usize];
                for (b, level) in space.state(x).into_iter().enumerate() {
                    if level == cost {
                        least = least.min(q[b] - best);
                    }
                }
            }
            out.regrets.push(least);
        }
    }
    Ok(out)
}

fn first_steps(first: &BTreeMap<usize, usize>) -> String {
    if first.is_empty() {
        return "–".to_string();
    }
    let mut by_epoch = [0usize; 4];
    for (t, n) in first {
        by_epoch[t / STEPS] += n;
    }
    let top: Vec<String> = {
        let mut v: Vec<(&usize, &usize)> = first.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.iter()
            .take(3)
            .map(|(t, n)| format!("step {t}: {n}"))
            .collect()
    };
    format!(
        "by epoch {}; most at {}",
        by_epoch.map(|n| n.to_string()).join(" / "),
        top.join(", ")
    )
}

/// Runs simulated as theirs are (a replicate drawn uniformly at each step) from our policies
/// with a seeded generator: the states before each step.
fn simulate(space: &ResistanceSpace, s: &Schedule, runs: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let wt = space.index(&[0; 5]).expect("the wild type is a state");
    (0..runs)
        .map(|_| {
            let mut x = wt;
            (0..4 * STEPS)
                .map(|t| {
                    let (e, env) = (t / STEPS, &s.environment[t / STEPS]);
                    let here = x;
                    let a = s.policies[e][x] as usize;
                    let r = rng.random_range(0..env.replicates());
                    x = space.shifted(x, env.steps(a, r));
                    here
                })
                .collect()
        })
        .collect()
}

/// The costs of simulated runs.
fn costs_of(space: &ResistanceSpace, s: &Schedule, runs: &[Vec<usize>]) -> Vec<Vec<i8>> {
    runs.iter()
        .map(|states| {
            states
                .iter()
                .enumerate()
                .map(|(t, &x)| space.state(x)[s.policies[t / STEPS][x] as usize])
                .collect()
        })
        .collect()
}

/// Per step of a set of runs: the mean cost and the distribution of costs.
fn step_stats(runs: &[Vec<i8>], t: usize) -> (f64, BTreeMap<i8, usize>) {
    let mean = runs.iter().map(|r| f64::from(r[t])).sum::<f64>() / runs.len() as f64;
    let mut counts = BTreeMap::new();
    for r in runs {
        *counts.entry(r[t]).or_default() += 1;
    }
    (mean, counts)
}

/// Total variation distance between an empirical distribution and the exact one.
fn tv_distance(counts: &BTreeMap<i8, usize>, n: usize, exact: &[(i8, f64)]) -> f64 {
    let mut levels: BTreeSet<i8> = counts.keys().copied().collect();
    levels.extend(exact.iter().map(|(c, _)| *c));
    let p = |c: i8| exact.iter().find(|(x, _)| *x == c).map_or(0.0, |(_, p)| *p);
    levels
        .into_iter()
        .map(|c| (counts.get(&c).copied().unwrap_or(0) as f64 / n as f64 - p(c)).abs())
        .sum::<f64>()
        / 2.0
}

/// z of a step mean of `n` runs against the exact course: (mean − expectation) / (exact
/// standard deviation / √n).
fn z_score(mean: f64, n: usize, exact: &[(i8, f64)]) -> f64 {
    let m: f64 = exact.iter().map(|(c, p)| f64::from(*c) * p).sum();
    let var: f64 = exact
        .iter()
        .map(|(c, p)| p * (f64::from(*c) - m).powi(2))
        .sum();
    let se = (var / n as f64).sqrt();
    if se > 0.0 {
        (mean - m) / se
    } else if (mean - m).abs() < 1e-12 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// How a set of runs agrees with the exact course: (largest |z| of a step mean, share of
/// steps with |z| < 3, mean total variation distance per step).
fn agreement(runs: &[Vec<i8>], course: &Course) -> (f64, f64, f64) {
    let (mut zmax, mut within, mut tv_sum) = (0.0f64, 0usize, 0.0);
    for (t, step) in course.steps.iter().enumerate() {
        let (mean, counts) = step_stats(runs, t);
        let z = z_score(mean, runs.len(), &step.cost_distribution);
        zmax = zmax.max(z.abs());
        within += usize::from(z.abs() < 3.0);
        tv_sum += tv_distance(&counts, runs.len(), &step.cost_distribution);
    }
    let n = course.steps.len() as f64;
    (zmax, within as f64 / n, tv_sum / n)
}

/// How close our policy's choices are along simulated runs: the gap between the best and the
/// second-best drug's lookahead at each step. (Share of steps with a gap below 1, median gap.)
fn margins(space: &ResistanceSpace, s: &Schedule, runs: &[Vec<usize>]) -> Res<(f64, f64)> {
    let mut gaps = Vec::new();
    for e in 0..4 {
        let values = load_values(&s.values[e])?;
        for run in runs {
            for &x in &run[e * STEPS..(e + 1) * STEPS] {
                let mut q = action_values(space, &s.solved_with[e], &values, None, s.gamma, x)?;
                q.sort_by(f64::total_cmp);
                gaps.push(q[1] - q[0]);
            }
        }
    }
    gaps.sort_by(f64::total_cmp);
    let small = gaps.iter().filter(|&&g| g < 1.0).count() as f64 / gaps.len() as f64;
    Ok((small, gaps[gaps.len() / 2]))
}

fn drug_list(names: &[String], weights: &[f64]) -> String {
    let mut v: Vec<(usize, f64)> = weights
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, w)| *w > 0.005)
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    v.iter()
        .map(|(d, w)| format!("{} {:.0} %", names[*d], 100.0 * w))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The course as segments of steps with the same most likely drug.
fn course_segments(names: &[String], course: &Course) -> String {
    let top = |t: usize| {
        course.steps[t]
            .drug_use
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("drugs")
    };
    let mut out = Vec::new();
    let mut start = 0;
    for t in 1..=course.steps.len() {
        if t == course.steps.len() || top(t).0 != top(start).0 {
            let pmin = (start..t).map(|k| top(k).1).fold(1.0, f64::min);
            out.push(format!(
                "{}–{} {} ({:.0} %)",
                start,
                t - 1,
                names[top(start).0],
                100.0 * pmin
            ));
            start = t;
        }
    }
    out.join("; ")
}

/// The population given one drug from day 0 for `epochs` epochs: its exact distribution.
fn alone(space: &ResistanceSpace, drug: u8, shifts: &[EpochShifts], epochs: usize) -> Res<Course> {
    let constant = vec![drug; space.states()];
    let plan: Vec<(&[u8], &EpochShifts)> = shifts[..epochs]
        .iter()
        .map(|s| (&constant[..], s))
        .collect();
    let wt = space.index(&[0; 5]).expect("the wild type is a state");
    Ok(follow(space, &plan, STEPS, wt)?)
}

/// Our switch-time policy (`collateral::plan::policy`) on their population series: each
/// population is a lineage sampled on days 2–8, its log2 fold change the series' value.
fn ours_on_series(series: &PopulationSeries) -> Res<Vec<collateral::plan::PolicyRow>> {
    let mut lines = String::from(
        "cell_line,parental_line,selected_with,lineage,evolution_time\nancestor,,,,\n",
    );
    let mut shifts = Vec::new();
    for (sel, sel_name) in series.drugs.iter().enumerate() {
        for p in 0..series.populations {
            for (k, &day) in series.days.iter().enumerate().skip(1) {
                let line = format!("{sel_name}-pop{}_d{day}", p + 1);
                writeln!(
                    lines,
                    "{line},ancestor,{sel_name},{sel_name}-pop{},{day}",
                    p + 1
                )?;
                for (test, test_name) in series.drugs.iter().enumerate() {
                    shifts.push(Shift {
                        resistant_line: line.clone(),
                        replicate: String::new(),
                        parental_line: "ancestor".into(),
                        drug: test_name.clone(),
                        selected_with: sel_name.clone(),
                        metric: Metric::Ic50,
                        log2_fc: series.value(sel, p, test, k),
                        log2_fc_qualifier: Some(Bound::Equal),
                        ci_low: f64::NAN,
                        ci_high: f64::NAN,
                        p_value: f64::NAN,
                        q_value: f64::NAN,
                        // The policy uses the fold change; a call only has to be determined.
                        call: Call::Neutral,
                        value_resistant: f64::NAN,
                        qualifier_resistant: None,
                        value_parental: f64::NAN,
                        qualifier_parental: None,
                        reason: String::new(),
                        ec50_f_test_p: f64::NAN,
                        evidence: Vec::new(),
                    });
                }
            }
        }
    }
    let table = LinesTable::from_table(&mut Table::from_bytes(
        lines.as_bytes(),
        Path::new("series-lines.csv"),
    )?)?;
    Ok(collateral::plan::policy(&shifts, &table, 1))
}

/// A row of our `policy.csv`: (drug, time, next drug, switch time, log2 fold change).
type OurRow = (String, f64, String, f64, f64);

/// Our `policy.csv` rows with one switch left.
fn read_ours(path: &Path) -> Res<Vec<OurRow>> {
    let mut r = csv::Reader::from_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut v = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        if &rec[0] == "1" {
            v.push((
                rec[1].to_string(),
                rec[2].parse()?,
                rec[3].to_string(),
                rec[4].parse()?,
                rec[5].parse()?,
            ));
        }
    }
    Ok(v)
}

fn fmt_vec(v: &[f64], digits: usize) -> String {
    v.iter()
        .map(|x| format!("{x:.digits$}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> Res<()> {
    let args = args()?;
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()?;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let assay = root.join("assays/maltas-wood-temporal");
    let series = read_population_series(&assay.join("raw/ic50_timeseries_TempData_tidy.csv"))?;
    let names = series.drugs.clone();
    if series.days != DAYS || names.len() != 5 || series.populations != 4 {
        return Err("expected days 0, 2, 4, 6, 8, five drugs and four populations".into());
    }
    let published = read_published(&assay.join("tmdp"))?;
    std::fs::create_dir_all(&args.out)?;
    let space = ResistanceSpace::maltas_wood();
    let wt = space.index(&[0; 5]).expect("the wild type is a state");
    let mut log = String::new();
    let mut md = String::new();
    let started = Instant::now();

    // Epoch steps: each population's change over the epoch, binned.
    let epochs: Vec<EpochShifts> = (0..4)
        .map(|e| series.epoch_shifts(DAYS[e], DAYS[e + 1]))
        .collect::<Result<_, _>>()?;
    let mut steps_csv = String::from("epoch,drug_given,population,CIP,DAP,DOX,CRO,LZD\n");
    for (e, s) in epochs.iter().enumerate() {
        for (a, name) in names.iter().enumerate() {
            for r in 0..4 {
                let v: Vec<String> = s.steps(a, r).iter().map(|x| x.to_string()).collect();
                writeln!(
                    steps_csv,
                    "{}-{},{name},{},{}",
                    DAYS[e],
                    DAYS[e + 1],
                    r + 1,
                    v.join(",")
                )?;
            }
        }
    }
    std::fs::write(args.out.join("epoch_steps.csv"), steps_csv)?;

    let threads = rayon::current_num_threads();
    eprintln!("solving on {threads} thread(s)");
    let mut schedules = Vec::new();
    for text in &args.schedules {
        let (name, gamma) = schedule_gamma(text)?;
        if name == "TD" {
            schedules.push(solve_td(&epochs, gamma, &args, &mut log)?);
        } else {
            let day: f64 = name[1..].parse()?;
            let from = if args.cumulative { 0.0 } else { day - 2.0 };
            let profile = series.epoch_shifts(from, day)?;
            schedules.push(solve_static(
                name, gamma, &profile, &epochs, &args, &mut log,
            )?);
        }
    }
    for &seed in &args.noise_seeds {
        schedules.push(solve_td_noisy(&epochs, seed, &args, &mut log)?);
    }
    let solve_seconds = started.elapsed().as_secs_f64();

    // Courses and our own simulated runs.
    let mut courses: BTreeMap<String, Course> = BTreeMap::new();
    let mut simulated: BTreeMap<String, Vec<Vec<usize>>> = BTreeMap::new();
    for s in &schedules {
        let plan: Vec<(&[u8], &EpochShifts)> = s
            .policies
            .iter()
            .zip(&s.environment)
            .map(|(p, sh)| (p.as_slice(), sh))
            .collect();
        courses.insert(s.name.clone(), follow(&space, &plan, STEPS, wt)?);
        simulated.insert(s.name.clone(), simulate(&space, s, RUNS, 2024));
    }

    // 1. Against their published runs.
    writeln!(md, "# Maltas & Wood's t-MDP, reproduced\n")?;
    writeln!(
        md,
        "Static profiles {}; static schedules simulated under {}; {threads} thread(s).\n",
        if args.cumulative {
            "cumulative (day 0 → X)"
        } else {
            "incremental (day X−2 → X)"
        },
        if args.own_environment {
            "their own profile"
        } else {
            "each epoch's steps"
        }
    )?;
    md.push_str(&log);
    writeln!(md, "\n## Runs against the exact course\n")?;
    writeln!(
        md,
        "| schedule | runs | replayed by our policies | first unexplained step: runs | regret of their choice there (of the unexplained runs) | largest \\|z\\| of a step mean | steps with \\|z\\| < 3 | mean TV |"
    )?;
    writeln!(md, "|---|---|---|---|---|---|---|---|")?;
    let mut course_csv = String::from(
        "schedule,step,day,expected_cost,published_mean,z,tv_distance,most_likely_drug,its_probability,support\n",
    );
    let row = |md: &mut String,
               label: &str,
               of: &str,
               runs: &[Vec<i8>],
               s: &Schedule,
               course: &Course|
     -> Res<()> {
        let r = replay_all(&space, s, runs)?;
        let (zmax, within, tv) = agreement(runs, course);
        let mut regrets = r.regrets.clone();
        regrets.sort_by(f64::total_cmp);
        writeln!(
            md,
            "| {label} | {of} | {} of {} | {} | {} | {zmax:.2} | {:.1} % | {tv:.3} |",
            r.explained,
            runs.len(),
            first_steps(&r.first),
            if regrets.is_empty() {
                "–".to_string()
            } else {
                let finite = regrets.iter().filter(|r| r.is_finite()).count();
                format!(
                    "median {:.3}; below 0.1 in {}; no drug gives their cost in {}",
                    regrets[regrets.len() / 2],
                    regrets.iter().filter(|&&r| r < 0.1).count(),
                    regrets.len() - finite
                )
            },
            100.0 * within
        )?;
        Ok(())
    };
    for s in &schedules {
        let course = &courses[&s.name];
        let ours = costs_of(&space, s, &simulated[&s.name]);
        let theirs = (!s.name.starts_with("TD, 100-run"))
            .then(|| published.costs.get(&s.published))
            .flatten();
        if let Some(runs) = theirs {
            row(&mut md, &s.name, "theirs", runs, s, course)?;
            for (t, step) in course.steps.iter().enumerate() {
                let (mean, counts) = step_stats(runs, t);
                let (d, p) = step
                    .drug_use
                    .iter()
                    .copied()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .expect("drugs");
                writeln!(
                    course_csv,
                    "{},{t},{},{},{mean},{},{},{},{p},{}",
                    s.name,
                    (t / STEPS) * 2,
                    step.expected_cost,
                    z_score(mean, runs.len(), &step.cost_distribution),
                    tv_distance(&counts, runs.len(), &step.cost_distribution),
                    names[d],
                    step.support
                )?;
            }
        }
        row(&mut md, &s.name, "ours, seeded", &ours, s, course)?;
        if s.name.starts_with("TD, 100-run") {
            if let Some(td) = schedules.iter().find(|x| x.name == "TD") {
                row(
                    &mut md,
                    "TD (exact F)",
                    &format!("{}, seeded", s.name),
                    &ours,
                    td,
                    &courses["TD"],
                )?;
            }
        }
    }
    std::fs::write(args.out.join("course.csv"), course_csv)?;
    writeln!(
        md,
        "\nReplayed: some sequence of replicate draws makes the schedule's policy give exactly the \
         run's 80 costs. Regret: at the first unexplained step, the least (over the states the \
         run may be in and the drugs that give its cost) of Q(their drug) − Q(our drug), in \
         discounted resistance (a course totals about 1,000–2,000); when no drug gives their \
         cost, the run left the states we follow at an earlier step where two drugs cost the \
         same. z: (step mean − exact \
         expectation) / (exact SD / √runs). TV: total variation distance between the runs' \
         costs at a step and the exact distribution, averaged over the 80 steps. \"ours, \
         seeded\": 1,000 runs simulated from the same policies, i.e. what sampling noise alone \
         gives.\n"
    )?;
    writeln!(
        md,
        "Mean resistance to {} at the end of each epoch (ours exact, theirs the mean of their runs):\n",
        names.join(", ")
    )?;
    writeln!(
        md,
        "| schedule | day | ours | theirs | largest difference |\n|---|---|---|---|---|"
    )?;
    for s in &schedules {
        let course = &courses[&s.name];
        for e in 1..=4u32 {
            let ours = if e == 4 {
                course.final_state.clone()
            } else {
                course.steps[e as usize * STEPS].expected_state.clone()
            };
            let theirs = (!s.name.starts_with("TD, 100-run"))
                .then(|| published.states.get(&(s.published.clone(), 2 * e)))
                .flatten();
            if let Some(theirs) = theirs {
                let diff = ours
                    .iter()
                    .zip(theirs)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                writeln!(
                    md,
                    "| {} | {} | {} | {} | {diff:.3} |",
                    s.name,
                    2 * e,
                    fmt_vec(&ours, 2),
                    fmt_vec(theirs, 2)
                )?;
            }
        }
    }

    // 2. Their policies from the wild type and along the course.
    writeln!(md, "\n## The policies\n")?;
    writeln!(
        md,
        "| schedule | the wild type at day 0, 2, 4, 6: drug (how much worse each drug's lookahead is: {}) | course from the wild type: steps, most likely drug (its least probability over the segment) | steps of our runs where the best and second-best drug are less than 1 apart; median gap |",
        names.join(", ")
    )?;
    writeln!(md, "|---|---|---|---|")?;
    let mut use_csv = format!("schedule,epoch,{}\n", names.join(","));
    for s in &schedules {
        let mut wild = Vec::new();
        let distinct = if s.name.starts_with("TD") { 4 } else { 1 };
        for e in 0..distinct {
            let values = load_values(&s.values[e])?;
            let q = action_values(&space, &s.solved_with[e], &values, None, s.gamma, wt)?;
            let best = q.iter().copied().fold(f64::INFINITY, f64::min);
            wild.push(format!(
                "{} ({})",
                names[s.policies[e][wt] as usize],
                q.iter()
                    .map(|x| format!("{:.1}", x - best))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            let mut count = [0usize; 5];
            for &a in s.policies[e].iter() {
                count[a as usize] += 1;
            }
            let epoch = if distinct == 4 {
                format!("{}-{}", DAYS[e], DAYS[e + 1])
            } else {
                "all".into()
            };
            writeln!(
                use_csv,
                "{},{epoch},{}",
                s.name,
                count
                    .map(|c| format!("{:.4}", c as f64 / space.states() as f64))
                    .join(",")
            )?;
        }
        let (small, median) = margins(&space, s, &simulated[&s.name])?;
        writeln!(
            md,
            "| {} | {} | {} | {:.0} %; {median:.2} |",
            s.name,
            wild.join("; "),
            course_segments(&names, &courses[&s.name]),
            100.0 * small
        )?;
    }
    std::fs::write(args.out.join("drug_use_over_states.csv"), &use_csv)?;
    writeln!(
        md,
        "\nShare of all 28.6 M states in which each drug is the policy's (their Figure 5 bars):\n\n```\n{use_csv}```"
    )?;

    // 3. Beside our switch-time policy.
    if let Some(td) = schedules.iter().find(|s| s.name == "TD") {
        writeln!(md, "\n## Beside our switch-time policy\n")?;
        writeln!(
            md,
            "For each drug d and day t: ours (`policy.csv`, one switch) on the bundled isolates \
             (`--ours`) and on their population series; theirs (TD) is what its policy gives at \
             the start of the next epoch to a population given d alone since day 0 (20 steps per \
             2 days), over the exact distribution of such populations.\n"
        )?;
        let ours_series = ours_on_series(&series)?;
        let ours_isolates = match &args.ours {
            Some(p) => read_ours(p)?,
            None => Vec::new(),
        };
        writeln!(
            md,
            "| on d, day t | ours, isolates | ours, their series | theirs (t-MDP): next epoch's drug | mean resistance then ({}) |",
            names.join(", ")
        )?;
        writeln!(md, "|---|---|---|---|---|")?;
        let say = |next: &str, at: f64, fc: f64, day: f64| {
            let when = if at == day {
                "now".to_string()
            } else {
                format!("on day {at}")
            };
            format!("{next} {when} ({fc:+.2})")
        };
        for (d, name) in names.iter().enumerate() {
            for (k, &day) in DAYS.iter().enumerate().take(4).skip(1) {
                let course = alone(&space, d as u8, &epochs, k)?;
                let mut given = [0.0f64; 5];
                for &(x, p) in &course.final_distribution {
                    given[td.policies[k][x] as usize] += p;
                }
                let iso = ours_isolates
                    .iter()
                    .find(|r| &r.0 == name && r.1 == day)
                    .map_or("–".to_string(), |r| say(&r.2, r.3, r.4, day));
                let ser = ours_series
                    .iter()
                    .find(|r| &r.drug == name && r.time == day)
                    .map_or("–".to_string(), |r| {
                        say(&r.next_drug, r.switch_time, r.switch_log2_fc, day)
                    });
                writeln!(
                    md,
                    "| {name}, {day} | {iso} | {ser} | {} | {} |",
                    drug_list(&names, &given),
                    fmt_vec(&course.final_state, 1)
                )?;
            }
        }
    }
    writeln!(
        md,
        "\nTotal {:.0} s (solving {:.0} s) on {threads} thread(s).",
        started.elapsed().as_secs_f64(),
        solve_seconds
    )?;
    std::fs::write(args.out.join("comparison.md"), &md)?;
    println!("{md}");
    Ok(())
}
