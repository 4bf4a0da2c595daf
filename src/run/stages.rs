//! The stages of a run, each a function from the results of the stages before it to its own
//! typed results: the wells (read plan, QC and normalization, GR values, DIP rates), the
//! curves, the fits, and the comparison. Nothing here touches the disk.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;

use super::Screen;
use crate::checked::Checked;
use crate::checks::{control_findings, design_findings, dose_findings, OffSeries, WellsOrigin};
use crate::error::{Error, ErrorKind, Problem, Result};
use crate::fit::joint::shared_ec50_test;
use crate::fit::{fit_curves, CurveFit, DosePoint, Plateaus};
use crate::growth::dip::{
    dip_curve_points, dip_fit_config, dip_rates, fit_dip_curve, DipDelay, DipWell,
};
use crate::growth::gr::{fit_gr_curve, gr_fit_config, gr_values, GrInputs, GrValues};
use crate::growth::reads::ReadPlan;
use crate::growth::GrowthFit;
use crate::lines::LinesTable;
use crate::mic::Mic;
use crate::network::{Cycle, Edge};
use crate::plan::{Plan, PlanSettings, PolicyRow};
use crate::progress::{Progress, Stage};
use crate::qc::{normalize_and_qc, Normalized, PlateQc, WellOutcome};
use crate::shift::{
    compute_shifts_with_replicates, CallRule, Estimate, Metric, Shift, ShiftSettings,
};
use crate::wells::{Role, WellTable};

pub use super::curves::{curve_inputs, Curves};

/// What the wells stage yields: which read serves what, the QC rows, each endpoint well's
/// outcome (viability, exclusion), GR values and DIP rates.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WellResults {
    /// Which read of each well is an endpoint, time-0 or time-course read.
    pub plan: ReadPlan,
    /// With reads at several times: the endpoint reads as a table of their own, and the index
    /// of each in the screen's wells. `None` when every read is an endpoint.
    pub(crate) endpoint_split: Option<(WellTable, Vec<usize>)>,
    /// QC rows, outcomes (one per endpoint read, in table order), control levels.
    pub normalized: Normalized,
    /// GR values of the endpoint reads, with growth data.
    pub gr: Option<GrValues>,
    /// DIP rates of the wells read in time (empty without a `time` column).
    pub dip_rates: Vec<DipWell>,
    /// Warnings of this stage (reads that serve no purpose, control problems).
    pub warnings: Vec<Problem>,
}

impl WellResults {
    /// The endpoint reads: the reads QC, normalization and the fits use.
    pub fn endpoint<'a>(&'a self, screen: &'a Screen) -> &'a WellTable {
        self.endpoint_split
            .as_ref()
            .map_or(&screen.wells, |(t, _)| t)
    }

    /// The outcome of each endpoint read.
    pub fn outcomes(&self) -> &[WellOutcome] {
        &self.normalized.outcomes
    }

    /// The QC rows (per plate, and per plate and cell line).
    pub fn qc(&self) -> &[PlateQc] {
        &self.normalized.qc
    }
}

/// Normalizes and judges the screen's endpoint reads, and computes GR values and DIP rates
/// when the screen has growth data.
pub fn well_stage(screen: &Screen) -> Result<WellResults> {
    let table = &screen.wells;
    let s = &screen.settings;
    // Which read serves what: with times, only each plate's endpoint reads are normalized,
    // judged and fitted; time-0 reads are GR's x0 and the others DIP's time courses.
    let with_lines = screen.assay_path.as_deref() != Some(screen.wells_origin.as_path());
    let origin = WellsOrigin {
        source: &screen.wells_origin,
        with_lines,
        plate_files: &screen.plate_files,
    };
    let plan = ReadPlan::of(table);
    let split = (!plan.all_endpoint()).then(|| plan.endpoint_table(table));
    let endpoint: &WellTable = split.as_ref().map_or(table, |(t, _)| t);
    // What a careful colleague notices in the design and readings, found while the plates are
    // normalized (neither needs the other, and each is mostly one core's work); its errors
    // are reported before anything normalization says.
    let (design, normalized) = rayon::join(
        || design_findings(table, &origin),
        || normalize_and_qc(endpoint, &s.qc, &s.normalize, &screen.wells_origin),
    );
    if !design.errors.is_empty() {
        return Err(Error::problems(ErrorKind::Input, design.errors));
    }
    let mut norm = normalized?;
    let mut warnings = Vec::new();
    if split.is_some() {
        warnings.extend(plan.warnings(table, &screen.wells_origin));
    }
    if s.normalize.reference == crate::normalize::Reference::FittedTop {
        warnings.extend(super::fitted_top::rescale_to_fitted_top(
            endpoint,
            &mut norm,
            s.fit.settings(),
            &screen.wells_origin,
        )?);
    }
    warnings.extend(norm.warnings.iter().cloned());
    // Doses off their drug's series, seen before anything is fitted (nor GR computed), and
    // the controls' problems, side by side.
    let unreferenced = (!s.normalize.reference.is_vehicle()).then_some(&norm.unreferenced);
    let (doses, controls) = rayon::join(
        || dose_findings(endpoint, &screen.wells_origin, with_lines),
        || control_findings(endpoint, &norm.levels, unreferenced, &origin),
    );
    warnings.extend(doses.warnings);
    warnings.extend(design.warnings);
    warnings.extend(controls);
    if let (Some(_), Some(why)) = (
        super::batches::batch_column(endpoint).filter(|_| screen.lines.is_some()),
        super::batches::batches_unused(&s.shift),
    ) {
        warnings.push(super::batches::unused_warning(&screen.wells_origin, &why));
    }
    if s.checks.off_series == OffSeries::Exclude {
        exclude_off_series(&mut norm.outcomes, doses.off_series);
    }
    let gr = screen.has_growth_data().then(|| {
        gr_values(&GrInputs {
            table,
            plan: &plan,
            endpoint,
            normalized: &norm,
            lines: screen.lines.as_ref(),
            settings: &s.growth,
            controls: s.normalize.controls,
        })
    });
    let dip = if table.has_time {
        dip_rates(
            table,
            endpoint,
            &norm,
            s.qc.exclude_failed,
            DipDelay::from_setting(s.growth.dip_delay_h),
        )
    } else {
        Vec::new()
    };
    Ok(WellResults {
        plan,
        endpoint_split: split,
        normalized: norm,
        gr,
        dip_rates: dip,
        warnings,
    })
}

/// Leaves each off-series well out, its reason after any it had.
fn exclude_off_series(outcomes: &mut [WellOutcome], off_series: Vec<Option<String>>) {
    for (o, why) in outcomes.iter_mut().zip(off_series) {
        let Some(why) = why else { continue };
        o.exclusion_reason = if o.exclusion_reason.is_empty() {
            why.into()
        } else {
            format!("{}; {why}", o.exclusion_reason).into()
        };
        o.excluded = true;
    }
}

/// What the curve stage gathers: the points of every curve, the GR points of each, and with
/// metric mic the MIC of every series.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CurveSet {
    /// The curves (pooled, then per replicate for the lines that need it).
    pub curves: Curves,
    /// GR points of each (cell line, replicate, drug), with growth data.
    pub(crate) gr_points: Option<HashMap<crate::growth::dip::CurveKey, Vec<DosePoint>>>,
    /// The MIC of every line × drug × replicate series (metric mic).
    pub mics: Option<Vec<Mic>>,
    /// Resistant lines compared replicate by replicate (`per_replicate`).
    pub per_replicate: BTreeSet<String>,
    /// Lines with a curve per replicate (the above, and with rule maltas-wood the parental
    /// lines, whose replicates give the reference).
    pub(crate) replicate_curves: BTreeSet<String>,
    /// With a `batch` column in the wells table: the curves per (cell line, batch, drug), the
    /// batch in [`Curves::replicate`] (`fits_by_batch.csv`; [`super::batches`]).
    pub by_batch: Option<Curves>,
}

/// Gathers the points of every curve (and GR curve, and MIC series) from the wells that were
/// not excluded.
pub fn curve_stage(screen: &Screen, wells: &WellResults) -> CurveSet {
    let s = &screen.settings;
    let per_replicate: BTreeSet<String> = match (&screen.lines, s.shift.per_replicate) {
        (Some(l), true) => l
            .lines
            .iter()
            .filter(|l| l.parental_line.is_some())
            .map(|l| l.name.clone())
            .collect(),
        _ => BTreeSet::new(),
    };
    // Rule maltas-wood compares with the mean and SE over the parental line's replicates:
    // those get a curve each too (in fits_by_replicate.csv).
    let mut replicate_curves = per_replicate.clone();
    if let (Some(l), CallRule::MaltasWood) = (&screen.lines, s.shift.rule) {
        replicate_curves.extend(l.lines.iter().filter_map(|l| l.parental_line.clone()));
    }
    let endpoint = wells.endpoint(screen);
    let outcomes = wells.outcomes();
    let include_untreated = screen.settings.fit.settings().plateaus == Plateaus::Observed;
    let names: BTreeSet<&str> = replicate_curves.iter().map(String::as_str).collect();
    let curves = curve_inputs(endpoint, outcomes, &names, include_untreated);
    let mics = (s.shift.metric == Metric::Mic).then(|| {
        let settings = s.mic.clone().unwrap_or_default();
        crate::mic::mics_from_wells(endpoint, outcomes, &settings)
    });
    let gr_points = wells
        .gr
        .as_ref()
        .map(|gr| gr_points(endpoint, outcomes, gr, &names));
    let by_batch = super::batches::batch_column(endpoint)
        .filter(|_| screen.lines.is_some() && super::batches::batches_unused(&s.shift).is_none())
        .map(|c| super::batches::batch_curves(endpoint, outcomes, c, include_untreated));
    CurveSet {
        curves,
        gr_points,
        mics,
        per_replicate,
        replicate_curves,
        by_batch,
    }
}

/// The GR points of every curve: the same wells and grouping, GR in place of viability.
fn gr_points(
    endpoint: &WellTable,
    outcomes: &[WellOutcome],
    gr: &GrValues,
    replicate_curves: &BTreeSet<&str>,
) -> HashMap<crate::growth::dip::CurveKey, Vec<DosePoint>> {
    let as_viability: Vec<WellOutcome> = outcomes
        .iter()
        .zip(&gr.gr)
        .map(|(o, v)| WellOutcome {
            viability: *v,
            excluded: o.excluded || v.is_none(),
            exclusion_reason: "".into(),
        })
        .collect();
    let c = curve_inputs(endpoint, &as_viability, replicate_curves, false);
    c.inputs
        .into_iter()
        .zip(c.replicate)
        .map(|(c, r)| ((c.cell_line, r, c.drug), c.points))
        .collect()
}

/// The fits of a run: one per curve of the [`CurveSet`], in its order, with the growth fits
/// beside them when the screen has growth data.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Fits {
    /// The fit of every curve, in the order of [`CurveSet::curves`].
    pub all: Vec<CurveFit>,
    /// The GR and DIP-rate fits of every curve, with growth data.
    pub growth: Option<Vec<GrowthFit>>,
    /// The fits of the curves per batch ([`CurveSet::by_batch`]), in their order.
    pub by_batch: Option<Vec<CurveFit>>,
}

impl Fits {
    /// The fits of the pooled curves (one per cell line × drug), as `fits.csv` lists them.
    pub fn pooled<'a>(&'a self, curves: &'a Curves) -> impl Iterator<Item = &'a CurveFit> + 'a {
        self.all
            .iter()
            .zip(&curves.replicate)
            .filter(|(_, r)| r.is_empty())
            .map(|(f, _)| f)
    }

    /// Curves by status (ok, flat, insufficient_data, failed) over the pooled fits.
    pub(crate) fn status_counts(&self, curves: &Curves) -> [usize; 4] {
        let mut counts = [0usize; 4];
        for f in self.pooled(curves) {
            counts[f.status as usize] += 1;
        }
        counts
    }
}

/// Fits every curve (and its GR and DIP-rate curves with growth data), telling `progress`.
pub fn fit_stage(
    screen: &Screen,
    wells: &WellResults,
    curves: &CurveSet,
    progress: &dyn Progress,
) -> Result<Fits> {
    let batch_inputs = curves.by_batch.as_ref().map_or(&[][..], |c| &c.inputs[..]);
    progress.begin(
        Stage::Fit,
        "curves",
        Some((curves.curves.inputs.len() + batch_inputs.len()) as u64),
    );
    let all = fit_curves(&curves.curves.inputs, &screen.settings.fit, progress);
    let by_batch = curves
        .by_batch
        .as_ref()
        .map(|c| fit_curves(&c.inputs, &screen.settings.fit, progress));
    let growth = if screen.has_growth_data() {
        let dip_absent = if !screen.wells.has_time {
            Some("no time courses: the wells table has no `time` column")
        } else if wells.dip_rates.is_empty() {
            Some("no time courses: no well is read at two times or more")
        } else {
            None
        };
        Some(growth_fits(
            curves,
            wells.gr.as_ref(),
            &wells.dip_rates,
            dip_absent,
            screen.settings.fit.settings(),
        )?)
    } else {
        None
    };
    progress.end((all.len() + batch_inputs.len()) as u64);
    Ok(Fits {
        all,
        growth,
        by_batch,
    })
}

/// The growth results (GR curve and metrics, DIP-rate curve) of every curve of a run, in the
/// order of the curves; `dip_absent` says why a run has no DIP rates at all.
fn growth_fits(
    set: &CurveSet,
    gr: Option<&GrValues>,
    dip: &[DipWell],
    dip_absent: Option<&str>,
    fit: &crate::fit::FitSettings,
) -> Result<Vec<GrowthFit>> {
    let gr_config = gr_fit_config(fit)?;
    let dip_config = dip_fit_config(fit)?;
    let names: BTreeSet<&str> = set.replicate_curves.iter().map(String::as_str).collect();
    let dip_points = dip_curve_points(dip, &names);
    let dip_wells = dip_well_counts(dip);
    let curves = &set.curves;
    Ok(curves
        .inputs
        .par_iter()
        .zip(&curves.replicate)
        .map(|(c, r)| {
            let key = (c.cell_line.clone(), r.clone(), c.drug.clone());
            let mut g = GrowthFit::default();
            if let Some(values) = gr {
                let (source, notes) = values.provenance(&c.cell_line, r, &c.drug);
                g.gr_source = source;
                match set.gr_points.as_ref().and_then(|p| p.get(&key)) {
                    Some(points) => {
                        g.gr = Some(fit_gr_curve(points, &gr_config));
                        g.gr_note = notes;
                    }
                    None if notes.is_empty() => {
                        g.gr_note = "no sample well of this curve has a GR value".into();
                    }
                    None => g.gr_note = notes,
                }
            }
            let counts = dip_wells.get(&(c.cell_line.as_str(), c.drug.as_str()));
            match (dip_points.get(&key), dip_absent) {
                (Some((points, rates)), _) => {
                    g.dip = Some(fit_dip_curve(points, rates, &dip_config));
                    if let Some(&(n, without, _)) = counts.filter(|c| c.1 > 0) {
                        g.dip_note = format!(
                            "{without} of {n} well(s) without a usable DIP rate (dip_rates.csv says why)"
                        );
                    }
                }
                (None, Some(why)) => g.dip_note = why.to_string(),
                (None, None) => {
                    g.dip_note = match counts {
                        None => "the wells of this curve are read at one time only (a DIP rate needs two reads or more)".into(),
                        Some((_, _, reason)) => format!("no usable DIP rate: {reason}"),
                    }
                }
            }
            g
        })
        .collect())
}

/// DIP wells per (cell line, drug): how many, how many without a usable rate, and the first
/// reason one has none.
fn dip_well_counts(dip: &[DipWell]) -> HashMap<(&str, &str), (usize, usize, &str)> {
    let mut counts: HashMap<(&str, &str), (usize, usize, &str)> = HashMap::new();
    for d in dip.iter().filter(|d| d.role == Role::Sample) {
        let e = counts
            .entry((d.cell_line.as_str(), d.drug.as_str()))
            .or_insert((0, 0, ""));
        e.0 += 1;
        if d.excluded || !d.relative.is_finite() {
            e.1 += 1;
            if e.2.is_empty() {
                e.2 = &d.reason;
            }
        }
    }
    counts
}

/// A comparison of resistant lines with their parental lines and everything built from it:
/// the shifts, the CS likelihood, with evolution times the trajectories and their stability,
/// the drug network and its cycles, and with `[plan]` the therapy sequences.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Comparison {
    /// One row per (resistant line, drug), as `shifts.csv`.
    pub shifts: Vec<Shift>,
    /// With metric mic: the dilution error model's summary (its pooled error rate).
    pub(crate) mic_model: Option<crate::output::run_json::MicModelRecord>,
    /// CS and CR likelihood per drug pair (`likelihood.csv`).
    pub likelihood: Vec<crate::lineage::Likelihood>,
    /// Each lineage's shifts in evolution time (`trajectories.csv`), with evolution times;
    /// [`Comparison::trajectory_points`] gives them with their shifts.
    pub trajectories: Option<Vec<TrajectoryStep>>,
    /// How each lineage's calls hold over time (`stability.csv`), with evolution times.
    pub stability: Option<Vec<crate::lineage::Stability>>,
    /// The drug network's edges (selecting drug → tested drug).
    pub edges: Vec<Edge>,
    /// Collateral-sensitivity cycles of the network.
    pub cycles: Vec<Cycle>,
    /// Therapy sequences, when the screen's settings have `[plan]`.
    pub plan: Option<PlanResults>,
    /// How many shift rows pooled replicate rows or paired batches (`run.json`).
    pub(crate) replicate_counts: crate::shift::ReplicateCounts,
}

/// Therapy sequences planned from a comparison.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PlanResults {
    /// Scored sequences (`plan.csv`).
    pub plan: Plan,
    /// The switch-time policy (`policy.csv`), with evolution times.
    pub policy: Option<Vec<PolicyRow>>,
    /// The plan in words (`plan.md`), one paragraph each.
    pub summary: Vec<String>,
}

/// One point of a lineage's course: the lineage, when, and which of the comparison's shifts.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryStep {
    /// The lineage (`lineage rep r` for a replicate reported on its own).
    pub lineage: String,
    /// When the line was sampled.
    pub evolution_time: f64,
    /// Index of the line's shift in [`Comparison::shifts`].
    pub shift: usize,
}

impl Comparison {
    /// The trajectories with their shifts, as `trajectories.csv` lists them.
    pub fn trajectory_points(&self) -> Option<Vec<crate::lineage::TrajectoryPoint<'_>>> {
        let steps = self.trajectories.as_ref()?;
        Some(
            steps
                .iter()
                .map(|t| crate::lineage::TrajectoryPoint {
                    lineage: t.lineage.clone(),
                    evolution_time: t.evolution_time,
                    shift: &self.shifts[t.shift],
                })
                .collect(),
        )
    }

    /// Everything built from `shifts`: likelihood, trajectories and stability (with evolution
    /// times), network edges, cycles, and with `plan` the therapy sequences.
    pub fn of(
        shifts: Vec<Shift>,
        lines: &LinesTable,
        settings: &ShiftSettings,
        plan: Option<&Checked<PlanSettings>>,
    ) -> Comparison {
        let (likelihood, (edges, cycles)) = rayon::join(
            || crate::lineage::likelihood(&shifts, lines),
            || {
                let shown = crate::lineage::network_shifts(&shifts, lines);
                let edges = crate::network::edges(&shown);
                let cycles = crate::network::cycles(&edges, settings.max_cycle_length);
                (edges, cycles)
            },
        );
        let (trajectories, stability) = if lines.has_evolution_time {
            let points = crate::lineage::trajectories(&shifts, lines);
            let stability = crate::lineage::stability(&points);
            (Some(steps_of(&points, &shifts)), Some(stability))
        } else {
            (None, None)
        };
        let plan = plan.map(|p| plan_sequences(&shifts, lines, p));
        Comparison {
            shifts,
            mic_model: None,
            likelihood,
            trajectories,
            stability,
            edges,
            cycles,
            plan,
            replicate_counts: Default::default(),
        }
    }

    /// Shift rows by call: cross_resistant, collateral_sensitive, neutral, undetermined.
    pub(crate) fn call_counts(&self) -> [usize; 4] {
        let mut calls = [0usize; 4];
        for r in &self.shifts {
            calls[r.call as usize] += 1;
        }
        calls
    }
}

/// The trajectory points as indexes into `shifts`, so a comparison can own its shifts. The
/// points borrow from `shifts`, so each one's index is its offset in that slice.
fn steps_of(points: &[crate::lineage::TrajectoryPoint], shifts: &[Shift]) -> Vec<TrajectoryStep> {
    let base = shifts.as_ptr() as usize;
    let size = std::mem::size_of::<Shift>().max(1);
    points
        .iter()
        .map(|p| TrajectoryStep {
            lineage: p.lineage.clone(),
            evolution_time: p.evolution_time,
            shift: (p.shift as *const Shift as usize - base) / size,
        })
        .collect()
}

/// Plans therapy sequences from `shifts`: the scored sequences, with evolution times the
/// switch-time policy, and the plan in words.
pub fn plan_sequences(
    shifts: &[Shift],
    lines: &LinesTable,
    settings: &Checked<PlanSettings>,
) -> PlanResults {
    let steps = crate::plan::Steps::new(shifts, lines, settings.time);
    let plan = crate::plan::plan(&steps, settings);
    // With evolution times, when to switch as well as what to give next.
    let switches = if settings.cycles {
        settings.length
    } else {
        settings.length - 1
    };
    let policy = lines
        .has_evolution_time
        .then(|| crate::plan::policy(shifts, lines, switches));
    let summary = crate::plan::summary(&plan, policy.as_deref().unwrap_or_default());
    PlanResults {
        plan,
        policy,
        summary,
    }
}

/// Compares every resistant line with its parental line on the screen's metric (from the
/// fits, the growth fits, or the MICs), and builds the network and the rest from the shifts.
/// `None` without a lines table.
pub fn compare_stage(
    screen: &Screen,
    curves: &CurveSet,
    fits: &Fits,
    progress: &dyn Progress,
) -> Option<Comparison> {
    let lines = screen.lines.as_ref()?;
    let s = &screen.settings.shift;
    progress.begin(Stage::Compare, "shifts", None);
    let mut replicate_counts = Default::default();
    let (mut shifts, mic_model) = match &curves.mics {
        Some(mics) => {
            let mic = screen.settings.mic.as_deref().cloned().unwrap_or_default();
            let (model, shifts) = crate::mic::compute_shifts_with(mics, lines, s, &mic);
            (
                shifts,
                Some(crate::output::run_json::MicModelRecord::of(&model)),
            )
        }
        None => {
            let (shifts, counts) = fit_shifts(screen, curves, fits, lines);
            replicate_counts = counts;
            (shifts, None)
        }
    };
    // Before the network and the plan, which carry what was reported on to their edges and steps.
    crate::shift::annotate_evidence(
        &mut shifts,
        &screen.evidence,
        &screen.settings.evidence.drug_aliases,
    );
    let mut comparison = Comparison::of(shifts, lines, s, screen.settings.plan.as_ref());
    comparison.mic_model = mic_model;
    comparison.replicate_counts = replicate_counts;
    progress.end(comparison.shifts.len() as u64);
    Some(comparison)
}

/// The shifts of the fits' (or growth fits') metric, with the shared-ec50 F-test of each when
/// the metric is ec50; with curves per batch, the lines are paired within batches.
fn fit_shifts(
    screen: &Screen,
    set: &CurveSet,
    fits: &Fits,
    lines: &LinesTable,
) -> (Vec<Shift>, crate::shift::ReplicateCounts) {
    let s = &screen.settings.shift;
    let mut estimates: Vec<Estimate> = fits
        .all
        .iter()
        .zip(&set.curves.replicate)
        .enumerate()
        .filter(|(_, (f, r))| {
            let line = f.cell_line.as_str();
            if r.is_empty() {
                !set.per_replicate.contains(line)
            } else {
                set.replicate_curves.contains(line)
            }
        })
        .map(|(i, (f, r))| match &fits.growth {
            // Growth metrics come from the curve's GR or DIP fit.
            Some(g) if s.metric.is_growth() => g[i].estimate(f, r, s.metric),
            _ => Estimate::from_fit(f, r, s.metric),
        })
        .collect();
    if let (Some(curves), Some(batch_fits)) = (&set.by_batch, &fits.by_batch) {
        for (f, batch) in batch_fits.iter().zip(&curves.replicate) {
            let mut e = Estimate::from_fit(f, "", s.metric);
            e.batch.clone_from(batch);
            estimates.push(e);
        }
    }
    let (mut shifts, counts) = compute_shifts_with_replicates(&estimates, lines, s);
    if s.metric == Metric::Ec50 {
        annotate_shared_ec50(&mut shifts, &set.curves, &fits.all, &screen.settings.fit);
    }
    (shifts, counts)
}

/// The p-value of the shared-ec50 F-test of each shift (NaN where a curve is missing).
fn annotate_shared_ec50(
    shifts: &mut [Shift],
    curves: &Curves,
    fits: &[CurveFit],
    config: &crate::fit::FitConfig,
) {
    let index: BTreeMap<(&str, &str, &str), usize> = curves
        .inputs
        .iter()
        .zip(&curves.replicate)
        .enumerate()
        .map(|(i, (c, r))| ((c.cell_line.as_str(), r.as_str(), c.drug.as_str()), i))
        .collect();
    let tests: Vec<f64> = shifts
        .par_iter()
        .map(|s| {
            let r = index.get(&(
                s.resistant_line.as_str(),
                s.replicate.as_str(),
                s.drug.as_str(),
            ));
            let p = index.get(&(s.parental_line.as_str(), "", s.drug.as_str()));
            match (r, p) {
                (Some(&r), Some(&p)) => shared_ec50_test(
                    &curves.inputs[r].points,
                    &fits[r],
                    &curves.inputs[p].points,
                    &fits[p],
                    config,
                )
                .map_or(f64::NAN, |t| t.p_value),
                _ => f64::NAN,
            }
        })
        .collect();
    for (s, p) in shifts.iter_mut().zip(tests) {
        s.ec50_f_test_p = p;
    }
}
