//! IC50 shifts: each resistant line against its parental line, drug by drug, with a confidence
//! interval, a p-value, Benjamini–Hochberg q-values across the whole matrix and a call.
//!
//! log2_fc = log2(metric_resistant / metric_parental). Its standard error combines the two
//! fits' standard errors of log10 metric (delta method on the log scale, independent fits):
//! se = log2(10)·√(se_R² + se_P²), with Welch–Satterthwaite degrees of freedom from the fits'
//! residual degrees of freedom, a t-based 95 % CI and a two-sided p-value.
//!
//! Calls (rule `delta`, the default): `cross_resistant` if log2_fc ≥ τ and q ≤ α,
//! `collateral_sensitive` if log2_fc ≤ −τ and q ≤ α, `neutral` otherwise. A censored ratio
//! (one IC50 beyond the tested range) has no p-value; it gets a call only when its bound already
//! decides it (e.g. log2_fc > 1.6 with τ = 1 → `cross_resistant`), and `undetermined` when the
//! bound leaves the call open. A failed or missing fit gives `undetermined` with the reason.
//!
//! Rule `dhawan2017` reproduces Dhawan et al. 2017: `collateral_sensitive` / `cross_resistant`
//! when the two 95 % CIs of the metric do not overlap (no fold-change threshold), `neutral` when
//! they overlap.
//!
//! Rule `nichol2019` reproduces Nichol et al. 2019: significant when p < α / m (Bonferroni over
//! the m comparisons with a p-value), direction from the sign of log2_fc, no fold-change
//! threshold. Metric `mic` pairs the lines here too, but its estimates and p-values come from
//! the dilution error model of [`crate::mic`] (which calls [`pair_estimates`] and
//! [`call_shifts`]).
//!
//! Rule `maltas-wood` reproduces the temporal-CS analysis of Maltas & Wood (their
//! `MakeHeterogeneityFigurePanels.m`): `collateral_sensitive` / `cross_resistant` when the
//! resistant line's metric lies more than 3 standard errors below / above the parental line's
//! mean, the mean and standard error (SD / √n) taken over the parental line's replicates
//! (their ancestor isolates), on the metric's own (linear) scale; no fold-change threshold.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::fit::{CurveFit, FitStatus, Ic50Qualifier};
use crate::lines::LinesTable;

/// Which per-curve number is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Absolute IC50 (curve crosses viability 0.5).
    Ic50,
    /// Relative IC50 (inflection point).
    Ec50,
    /// Area under the fitted curve over the tested range.
    Auc,
    /// Minimum inhibitory concentration (two-fold dilution steps; see [`crate::mic`]).
    Mic,
    /// GR50 (Hafner et al. 2016): where the fitted GR curve crosses 0.5; needs time-0 reads
    /// or doubling times (`crate::growth`).
    #[serde(rename = "gr50")]
    Gr50,
    /// GR_AOC: area over the GR curve, per decade of the tested range. Larger means more
    /// inhibition, so log2_fc = log2(parental / resistant): > 0 still means resistance.
    #[serde(rename = "gr_aoc")]
    GrAoc,
    /// EC50 of the fitted dose–response of DIP rates (Harris et al. 2016); needs time courses.
    #[serde(rename = "dip_ec50")]
    DipEc50,
    /// Emax of the DIP-rate curve relative to its E0, compared as 2^(Emax/E0) (the fold growth
    /// over one untreated doubling at the maximal effect, i.e. 1 + GR∞), so log2_fc is the
    /// difference of Emax/E0 between the lines.
    #[serde(rename = "dip_emax")]
    DipEmax,
}

impl Metric {
    /// Name used in tables.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Ic50 => "ic50",
            Metric::Ec50 => "ec50",
            Metric::Auc => "auc",
            Metric::Mic => "mic",
            Metric::Gr50 => "gr50",
            Metric::GrAoc => "gr_aoc",
            Metric::DipEc50 => "dip_ec50",
            Metric::DipEmax => "dip_emax",
        }
    }

    /// Every metric's name, for messages listing the choices.
    pub const NAMES: &'static str = "ic50, ec50, auc, mic, gr50, gr_aoc, dip_ec50 or dip_emax";

    /// Whether the metric comes from growth-rate data (GR values or DIP rates) rather than
    /// the endpoint viability fit.
    pub fn is_growth(self) -> bool {
        matches!(
            self,
            Metric::Gr50 | Metric::GrAoc | Metric::DipEc50 | Metric::DipEmax
        )
    }

    /// Where a fits table keeps this metric: the value column, its censoring qualifier, the
    /// standard error of log10 value, the interval, and the status, message and residual
    /// degrees of freedom of the fit it comes from.
    pub fn columns(self) -> MetricColumns {
        let endpoint = |value, qualifier, se, ci| MetricColumns {
            value,
            qualifier,
            log10_se: se,
            ci,
            status: "status",
            message: "message",
            dof: "dof",
            log2_value: false,
            flat_usable: qualifier.is_some(),
        };
        match self {
            Metric::Ic50 => endpoint(
                "ic50",
                Some("ic50_qualifier"),
                "log10_ic50_se",
                Some(("ic50_ci_low", "ic50_ci_high")),
            ),
            Metric::Ec50 => endpoint(
                "ec50",
                None,
                "log10_ec50_se",
                Some(("ec50_ci_low", "ec50_ci_high")),
            ),
            Metric::Auc => endpoint("auc", None, "log10_auc_se", None),
            // MICs live in MIC tables (`crate::mic`), never in a fits table: the names only
            // say where a fits table would keep them.
            Metric::Mic => endpoint("mic", None, "log10_mic_se", None),
            Metric::Gr50 => MetricColumns {
                value: "gr50",
                qualifier: Some("gr50_qualifier"),
                log10_se: "log10_gr50_se",
                ci: Some(("gr50_ci_low", "gr50_ci_high")),
                status: "gr_status",
                message: "gr_message",
                dof: "gr_dof",
                log2_value: false,
                flat_usable: true,
            },
            Metric::GrAoc => MetricColumns {
                value: "gr_aoc",
                qualifier: None,
                log10_se: "log10_gr_aoc_se",
                ci: None,
                status: "gr_status",
                message: "gr_message",
                dof: "gr_aoc_dof",
                log2_value: false,
                flat_usable: true,
            },
            Metric::DipEc50 => MetricColumns {
                value: "dip_ec50",
                qualifier: None,
                log10_se: "log10_dip_ec50_se",
                ci: Some(("dip_ec50_ci_low", "dip_ec50_ci_high")),
                status: "dip_status",
                message: "dip_message",
                dof: "dip_dof",
                log2_value: false,
                flat_usable: false,
            },
            Metric::DipEmax => MetricColumns {
                value: "dip_emax_rel",
                qualifier: None,
                log10_se: "dip_emax_rel_se",
                ci: None,
                status: "dip_status",
                message: "dip_message",
                dof: "dip_dof",
                log2_value: true,
                flat_usable: false,
            },
        }
    }

    /// Whether a larger value means a more strongly inhibited line (areas over a curve): the
    /// fold change is then taken the other way round, so log2_fc > 0 means resistance for every
    /// metric.
    pub fn larger_is_more_sensitive(self) -> bool {
        self == Metric::GrAoc
    }
}

/// The columns of a fits table that hold one metric (see [`Metric::columns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricColumns {
    /// The value.
    pub value: &'static str,
    /// `=`, `>` or `<`, for metrics that can be censored.
    pub qualifier: Option<&'static str>,
    /// Standard error of log10 value (of the value itself when `log2_value`).
    pub log10_se: &'static str,
    /// Confidence interval of the value.
    pub ci: Option<(&'static str, &'static str)>,
    /// Status of the fit the value comes from (`ok` rows have estimates).
    pub status: &'static str,
    /// Message of that fit.
    pub message: &'static str,
    /// Residual degrees of freedom of that fit.
    pub dof: &'static str,
    /// The column holds log2 of the compared number (`dip_emax_rel` = log2 2^(Emax/E0)), so
    /// the value is 2^column and its log10 standard error is log10(2) × the column's.
    pub log2_value: bool,
    /// A `flat` curve still has this number (a censored ic50 or gr50, a data-based gr_aoc).
    pub flat_usable: bool,
}

/// How calls are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallRule {
    /// Fold-change threshold τ and BH q ≤ α (DESIGN.md's rule).
    Delta,
    /// Non-overlapping 95 % CIs of the metric, as in Dhawan et al. 2017.
    Dhawan2017,
    /// p < α / m (Bonferroni over the table), direction from the sign, as in Nichol et al. 2019.
    Nichol2019,
    /// Outside the parental replicates' mean ± 3 standard errors, as in Maltas & Wood's
    /// temporal collateral-sensitivity analysis.
    #[serde(rename = "maltas-wood")]
    MaltasWood,
}

/// Whether a number is an estimate or a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `=`: a point estimate.
    Equal,
    /// `>`: the true value is above it.
    Greater,
    /// `<`: the true value is below it.
    Less,
}

impl Bound {
    /// `=`, `>` or `<`.
    pub fn symbol(self) -> &'static str {
        match self {
            Bound::Equal => "=",
            Bound::Greater => ">",
            Bound::Less => "<",
        }
    }

    /// Parses `=`, `>` or `<`.
    pub fn parse(s: &str) -> Option<Bound> {
        match s.trim() {
            "=" => Some(Bound::Equal),
            ">" => Some(Bound::Greater),
            "<" => Some(Bound::Less),
            _ => None,
        }
    }
}

/// One line's estimate of the metric for one drug.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Cell line.
    pub cell_line: String,
    /// Replicate (empty when replicates are pooled).
    pub replicate: String,
    /// Drug.
    pub drug: String,
    /// The metric (in the assay's unit for ic50/ec50); NaN when there is none.
    pub value: f64,
    /// `=`, or a bound at the edge of the tested range; `None` when there is no estimate.
    pub qualifier: Option<Bound>,
    /// Standard error of log10 value (NaN when not estimable).
    pub log10_se: f64,
    /// Residual degrees of freedom of the fit.
    pub dof: f64,
    /// 95 % CI of the value (NaN when not available).
    pub ci: (f64, f64),
    /// Why there is no usable estimate (fit status and message), else empty.
    pub problem: String,
}

impl Estimate {
    /// The estimate of `metric` in a fitted curve.
    ///
    /// ic50 keeps the fit's censoring qualifier (a flat curve is censored `>` or `<`); ec50 and
    /// auc are point estimates of `ok` curves only; `failed` and `insufficient_data` curves have
    /// no estimate and carry their status and message as the reason.
    pub fn from_fit(fit: &CurveFit, replicate: &str, metric: Metric) -> Estimate {
        let mut e = Estimate {
            cell_line: fit.cell_line.clone(),
            replicate: replicate.to_string(),
            drug: fit.drug.clone(),
            value: f64::NAN,
            qualifier: None,
            log10_se: f64::NAN,
            dof: fit.dof as f64,
            ci: (f64::NAN, f64::NAN),
            problem: String::new(),
        };
        if metric.is_growth() {
            e.problem = format!(
                "{} is not a number of the viability fit (it comes from GR values or DIP rates)",
                metric.name()
            );
            return e;
        }
        let usable = match (fit.status, metric) {
            (_, Metric::Mic) => {
                // MICs are read from the wells by threshold, not from a fitted curve.
                e.problem = "metric mic is not a property of a fitted curve".into();
                false
            }
            (FitStatus::Ok, _) | (FitStatus::Flat, Metric::Ic50) => true,
            (FitStatus::Flat, _) => {
                e.problem = format!("flat curve has no {}: {}", metric.name(), fit.message);
                false
            }
            (status, _) => {
                e.problem = format!("{}: {}", status.name(), fit.message);
                false
            }
        };
        if !usable {
            return e;
        }
        match metric {
            Metric::Ic50 => {
                e.value = fit.ic50;
                e.qualifier = fit.ic50_qualifier.map(|q| match q {
                    Ic50Qualifier::Equal => Bound::Equal,
                    Ic50Qualifier::Greater => Bound::Greater,
                    Ic50Qualifier::Less => Bound::Less,
                });
                e.log10_se = fit.log10_ic50_se;
                e.ci = (fit.ic50_ci_low, fit.ic50_ci_high);
            }
            Metric::Ec50 => {
                e.value = fit.ec50;
                e.qualifier = Some(Bound::Equal);
                e.log10_se = fit.log10_ec50_se;
                e.ci = (fit.ec50_ci_low, fit.ec50_ci_high);
            }
            // Not usable (above): a fit has no MIC.
            Metric::Mic => return e,
            Metric::Auc => {
                e.value = fit.auc;
                e.qualifier = Some(Bound::Equal);
                e.log10_se = fit.log10_auc_se;
                let t = StudentsT::new(0.0, 1.0, e.dof.max(1.0))
                    .map_or(f64::NAN, |t| t.inverse_cdf(0.975));
                e.ci = (
                    fit.auc * 10f64.powf(-t * fit.log10_auc_se),
                    fit.auc * 10f64.powf(t * fit.log10_auc_se),
                );
            }
            _ => unreachable!("growth metrics returned above"),
        }
        if !e.value.is_finite() {
            e.qualifier = None;
            e.problem = format!("the fit gave no finite {}", metric.name());
        }
        e
    }
}

/// Reads estimates of `metric` from a fits table: this tool's `fits.csv`, or one written
/// elsewhere with at least `cell_line, drug` and the metric's column (`ic50`, `ec50`, `auc`, or
/// for growth metrics `gr50`, `gr_aoc`, `dip_ec50`, `dip_emax_rel`; [`Metric::columns`]).
///
/// Optional columns, used when present: `replicate`, the status and message of the fit the
/// metric comes from (`status`/`message`, `gr_status`/`gr_message` or
/// `dip_status`/`dip_message`; rows whose status is not `ok`, or `flat` for the censorable
/// ic50 and gr50, have no estimate), the qualifier (`ic50_qualifier`, `gr50_qualifier`; else
/// `=`), the standard error of log10 value, the interval `<metric>_ci_low`/`_ci_high` (from
/// which a standard error is derived with the normal quantile when the standard error is
/// absent), and the residual degrees of freedom (else the normal distribution is used).
pub fn read_estimates(path: &std::path::Path, metric: Metric) -> crate::Result<Vec<Estimate>> {
    use crate::error::{Error, ErrorKind, Problem};
    use crate::table::{field, Table};
    let mut t = Table::open(path)?;
    let name = metric.name();
    if metric == Metric::Mic {
        return Err(Error::config(
            t.at(1),
            format!(
                "metric mic compares MICs, not the fits of {}: `collateral shift` takes a MIC table (columns cell_line, drug, replicate, mic; e.g. a run's mics.csv) and `collateral merge` merges the runs' mics.csv",
                path.display()
            ),
        ));
    }
    let cols = metric.columns();
    let c_line = t.require("cell_line")?;
    let c_drug = t.require("drug")?;
    let c_value = match t.column(cols.value) {
        Some(c) => c,
        None if metric.is_growth() => {
            return Err(Error::input(
                crate::error::Location::file(path).at_line(1),
                format!(
                    "metric `{name}` needs the column `{}`, which this fits table lacks: a run writes the growth columns only when its wells have a `time` column or its lines table a `doubling_time_h` (docs/growth.md)",
                    cols.value
                ),
            ))
        }
        None => t.require(cols.value)?,
    };
    let c_rep = t.column("replicate");
    let c_status = t.column(cols.status);
    let c_message = t.column(cols.message);
    let c_qual = cols.qualifier.and_then(|q| t.column(q));
    let c_se = t.column(cols.log10_se);
    let (c_lo, c_hi) = match cols.ci {
        Some((lo, hi)) => (t.column(lo), t.column(hi)),
        None => (None, None),
    };
    let c_dof = t.column(cols.dof);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut rec = csv::StringRecord::new();
    while let Some(line) = t.next_row(&mut rec)? {
        let number = |c: Option<usize>, what: &str, problems: &mut Vec<Problem>| -> f64 {
            match field(&rec, c) {
                "" => f64::NAN,
                v => v.parse().unwrap_or_else(|_| {
                    problems.push(Problem {
                        location: t.at(line),
                        message: format!("`{what}` is `{v}`; expected a number or an empty cell"),
                    });
                    f64::NAN
                }),
            }
        };
        let status = match field(&rec, c_status) {
            "" if c_status.is_some() && metric.is_growth() => "not_computed",
            "" => "ok",
            s => s,
        };
        let (lo_name, hi_name) = cols.ci.unwrap_or(("", ""));
        let mut e = Estimate {
            cell_line: field(&rec, Some(c_line)).to_string(),
            replicate: field(&rec, c_rep).to_string(),
            drug: field(&rec, Some(c_drug)).to_string(),
            value: number(Some(c_value), cols.value, &mut problems),
            qualifier: None,
            log10_se: number(c_se, cols.log10_se, &mut problems),
            dof: number(c_dof, cols.dof, &mut problems),
            ci: (
                number(c_lo, lo_name, &mut problems),
                number(c_hi, hi_name, &mut problems),
            ),
            problem: String::new(),
        };
        if cols.log2_value {
            // The column is log2 of the compared number (any sign); the number is 2^column.
            e.value = e.value.exp2();
            e.log10_se *= std::f64::consts::LOG10_2;
        }
        let usable = status == "ok" || (status == "flat" && cols.flat_usable);
        if !usable {
            e.problem = format!("{status}: {}", field(&rec, c_message));
        } else if e.value.is_nan() || e.value <= 0.0 {
            e.problem = format!("no positive {name} in the fits table");
        } else {
            e.qualifier = match field(&rec, c_qual) {
                "" => Some(Bound::Equal),
                q => match Bound::parse(q) {
                    Some(b) => Some(b),
                    None => {
                        problems.push(Problem {
                            location: t.at(line),
                            message: format!(
                                "`{}` is `{q}`; expected =, > or <",
                                cols.qualifier.unwrap_or_default()
                            ),
                        });
                        None
                    }
                },
            };
        }
        if !e.dof.is_finite() {
            e.dof = 1e6;
        }
        if !e.log10_se.is_finite() && e.ci.0 > 0.0 && e.ci.1 > e.ci.0 {
            e.log10_se = (e.ci.1.log10() - e.ci.0.log10()) / (2.0 * 1.959_963_984_540_054);
        }
        out.push(e);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::problems(ErrorKind::Input, problems))
    }
}

/// Reads a `shifts.csv` back (this tool's, or one with at least `resistant_line, drug,
/// selected_with, log2_fc, call`): what a planner or another reader of a finished comparison
/// needs. Columns it lacks are empty or NaN; a cell that is not what its column holds is a
/// problem at its file and line (all are reported together).
pub fn read_shifts(path: &std::path::Path) -> crate::Result<Vec<Shift>> {
    use crate::error::{Error, ErrorKind, Problem};
    use crate::table::{field, Table};
    let mut t = Table::open(path)?;
    let c_line = t.require("resistant_line")?;
    let c_drug = t.require("drug")?;
    let c_sel = t.require("selected_with")?;
    let c_fc = t.require("log2_fc")?;
    let c_call = t.require("call")?;
    let c = |name: &str| t.column(name);
    let (c_parent, c_rep, c_metric, c_qual) = (
        c("parental_line"),
        c("replicate"),
        c("metric"),
        c("log2_fc_qualifier"),
    );
    let (c_lo, c_hi, c_p, c_q, c_reason) = (
        c("ci_low"),
        c("ci_high"),
        c("p_value"),
        c("q_value"),
        c("reason"),
    );
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut rec = csv::StringRecord::new();
    while let Some(line) = t.next_row(&mut rec)? {
        let mut bad = |message: String| {
            problems.push(Problem {
                location: t.at(line),
                message,
            })
        };
        let mut number = |col: Option<usize>, what: &str| match field(&rec, col) {
            "" => f64::NAN,
            v => v.parse().unwrap_or_else(|_| {
                bad(format!(
                    "`{what}` is `{v}`; expected a number or an empty cell"
                ));
                f64::NAN
            }),
        };
        let log2_fc = number(Some(c_fc), "log2_fc");
        let (ci_low, ci_high) = (number(c_lo, "ci_low"), number(c_hi, "ci_high"));
        let (p_value, q_value) = (number(c_p, "p_value"), number(c_q, "q_value"));
        let call = match Call::parse(field(&rec, Some(c_call))) {
            Some(call) => call,
            None => {
                problems.push(Problem {
                    location: t.at(line),
                    message: format!(
                        "`call` is `{}`; expected collateral_sensitive, cross_resistant, neutral or undetermined",
                        field(&rec, Some(c_call))
                    ),
                });
                continue;
            }
        };
        let metric = match field(&rec, c_metric) {
            "" => Metric::Ic50,
            m => match serde_json::from_value(serde_json::Value::String(m.to_string())) {
                Ok(m) => m,
                Err(_) => {
                    problems.push(Problem {
                        location: t.at(line),
                        message: format!("`metric` is `{m}`, not a metric of this tool"),
                    });
                    continue;
                }
            },
        };
        out.push(Shift {
            resistant_line: field(&rec, Some(c_line)).to_string(),
            replicate: field(&rec, c_rep).to_string(),
            parental_line: field(&rec, c_parent).to_string(),
            drug: field(&rec, Some(c_drug)).to_string(),
            selected_with: field(&rec, Some(c_sel)).to_string(),
            metric,
            log2_fc,
            log2_fc_qualifier: Bound::parse(field(&rec, c_qual)),
            ci_low,
            ci_high,
            p_value,
            q_value,
            call,
            value_resistant: f64::NAN,
            qualifier_resistant: None,
            value_parental: f64::NAN,
            qualifier_parental: None,
            reason: field(&rec, c_reason).to_string(),
            ec50_f_test_p: f64::NAN,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::problems(ErrorKind::Input, problems))
    }
}

/// A call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Call {
    /// IC50 rose.
    CrossResistant,
    /// IC50 fell.
    CollateralSensitive,
    /// No change beyond the threshold, or not significant.
    Neutral,
    /// A fit failed or censoring leaves the call open.
    Undetermined,
}

impl Call {
    /// Name written in tables.
    pub fn name(self) -> &'static str {
        match self {
            Call::CrossResistant => "cross_resistant",
            Call::CollateralSensitive => "collateral_sensitive",
            Call::Neutral => "neutral",
            Call::Undetermined => "undetermined",
        }
    }

    /// Parses a call name.
    pub fn parse(s: &str) -> Option<Call> {
        [
            Call::CrossResistant,
            Call::CollateralSensitive,
            Call::Neutral,
            Call::Undetermined,
        ]
        .into_iter()
        .find(|c| c.name() == s.trim())
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Settings of the shift step.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShiftSettings {
    /// Metric compared.
    pub metric: Metric,
    /// Fold-change threshold τ on |log2_fc|.
    pub tau: f64,
    /// Significance level α on BH q-values.
    pub alpha: f64,
    /// Call rule.
    pub rule: CallRule,
    /// Report each replicate of a resistant line separately against the pooled parental line.
    pub per_replicate: bool,
    /// Longest drug cycle listed in `cycles.csv`.
    pub max_cycle_length: usize,
}

impl Default for ShiftSettings {
    fn default() -> Self {
        ShiftSettings {
            metric: Metric::Ic50,
            tau: 1.0,
            alpha: 0.05,
            rule: CallRule::Delta,
            per_replicate: false,
            max_cycle_length: 4,
        }
    }
}

impl ShiftSettings {
    /// Keys of the `[shift]` section of an assay file.
    pub const KEYS: [&'static str; 6] = [
        "metric",
        "tau",
        "alpha",
        "rule",
        "per_replicate",
        "max_cycle_length",
    ];

    /// Problems with the values, as messages naming the key.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(self.tau.is_finite() && self.tau >= 0.0) {
            out.push((
                "tau",
                format!(
                    "`shift.tau = {}`: expected a log2 fold change ≥ 0, e.g. 1 for two-fold",
                    self.tau
                ),
            ));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            out.push((
                "alpha",
                format!(
                    "`shift.alpha = {}`: expected a level between 0 and 1, e.g. 0.05",
                    self.alpha
                ),
            ));
        }
        if !(2..=10).contains(&self.max_cycle_length) {
            out.push((
                "max_cycle_length",
                format!(
                    "`shift.max_cycle_length = {}`: expected 2 to 10",
                    self.max_cycle_length
                ),
            ));
        }
        if self.metric == Metric::Mic && self.per_replicate {
            out.push((
                "per_replicate",
                "`shift.per_replicate = true` with `metric = \"mic\"`: each replicate MIC is a measurement of the one MIC test per line and drug, not a comparison of its own; leave per_replicate out".to_string(),
            ));
        }
        if self.metric == Metric::Mic && self.rule == CallRule::MaltasWood {
            out.push((
                "rule",
                "`shift.rule = \"maltas-wood\"` with `metric = \"mic\"`: that rule compares a fitted IC50 with the mean and standard error of the parental replicates' IC50s; use nichol2019 or delta".to_string(),
            ));
        }
        if self.metric == Metric::Mic && self.rule == CallRule::Dhawan2017 {
            out.push((
                "rule",
                "`shift.rule = \"dhawan2017\"` with `metric = \"mic\"`: that rule compares the confidence intervals of fitted curves, which MICs do not have; use nichol2019 or delta".to_string(),
            ));
        }
        out
    }
}

/// One row of `shifts.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    /// Resistant line.
    pub resistant_line: String,
    /// Replicate of the resistant line (per-replicate mode), else empty.
    pub replicate: String,
    /// Its parental line.
    pub parental_line: String,
    /// Drug tested.
    pub drug: String,
    /// Drug the resistant line was selected with.
    pub selected_with: String,
    /// Metric compared.
    pub metric: Metric,
    /// log2(resistant / parental), or its bound; NaN when undetermined.
    pub log2_fc: f64,
    /// `=`, `>` or `<` for `log2_fc`; `None` when there is none.
    pub log2_fc_qualifier: Option<Bound>,
    /// 95 % CI of log2_fc.
    pub ci_low: f64,
    /// 95 % CI of log2_fc.
    pub ci_high: f64,
    /// Two-sided p-value of log2_fc = 0.
    pub p_value: f64,
    /// Benjamini–Hochberg q-value across every p-value of the run.
    pub q_value: f64,
    /// The call.
    pub call: Call,
    /// The resistant line's metric and qualifier.
    pub value_resistant: f64,
    /// The resistant line's qualifier.
    pub qualifier_resistant: Option<Bound>,
    /// The parental line's metric.
    pub value_parental: f64,
    /// The parental line's qualifier.
    pub qualifier_parental: Option<Bound>,
    /// Why a call is `undetermined`, or how a censored call was made.
    pub reason: String,
    /// p-value of the extra-sum-of-squares F-test of one shared ec50 against two (metric ec50,
    /// when both curves' points are at hand; NaN otherwise).
    pub ec50_f_test_p: f64,
}

/// Pairs every resistant line with its parental line for every drug either was tested with, and
/// computes the shift statistics and calls.
pub fn compute_shifts(
    estimates: &[Estimate],
    lines: &LinesTable,
    settings: &ShiftSettings,
) -> Vec<Shift> {
    let mut rows = pair_estimates(estimates, lines, settings);
    call_shifts(&mut rows, settings);
    rows
}

/// The rows of [`compute_shifts`] before q-values and the significance-based calls: every
/// resistant line against its parental line for every drug either has an estimate for, with
/// log2_fc, its qualifier, and (for estimates with standard errors) the CI and p-value. A
/// metric with a test of its own (`mic`) fills in p-values and CIs before [`call_shifts`].
pub fn pair_estimates(
    estimates: &[Estimate],
    lines: &LinesTable,
    settings: &ShiftSettings,
) -> Vec<Shift> {
    let mut by_line: BTreeMap<(&str, &str), Vec<&Estimate>> = BTreeMap::new();
    for e in estimates {
        by_line
            .entry((e.cell_line.as_str(), e.drug.as_str()))
            .or_default()
            .push(e);
    }
    // What to compare is listed in order first; the comparisons run on every core.
    let mut tasks = Vec::new();
    for line in &lines.lines {
        let Some(parent) = &line.parental_line else {
            continue;
        };
        // The drugs either line was measured with, from the map's own order (a scan of every
        // estimate per line cost a second on 100 lines × 1,000 drugs).
        let mut drugs: BTreeSet<&str> = BTreeSet::new();
        for name in [line.name.as_str(), parent.as_str()] {
            for ((l, d), _) in by_line.range((name, "")..) {
                if *l != name {
                    break;
                }
                drugs.insert(d);
            }
        }
        for drug in drugs {
            let parental = by_line
                .get(&(parent.as_str(), drug))
                .and_then(|v| v.iter().find(|e| e.replicate.is_empty()).or(v.first()))
                .copied();
            match by_line.get(&(line.name.as_str(), drug)) {
                Some(resistant) if !resistant.is_empty() => {
                    for r in resistant {
                        tasks.push((line, parent, drug, Some(*r), parental));
                    }
                }
                _ => tasks.push((line, parent, drug, None, parental)),
            }
        }
    }
    use rayon::prelude::*;
    tasks
        .par_iter()
        .map(
            |&(line, parent, drug, r, parental): &(_, &String, &str, _, _)| {
                let mut row = pair(
                    &line.name,
                    parent,
                    drug,
                    line.selected_with.as_deref().unwrap_or(""),
                    r,
                    parental,
                    settings,
                );
                if settings.rule == CallRule::MaltasWood {
                    maltas_wood_call(&mut row, r, by_line.get(&(parent.as_str(), drug)));
                }
                row
            },
        )
        .collect()
}

/// Benjamini–Hochberg q-values over every p-value of `rows`, then the calls of the rule that
/// rest on them (`delta`, `nichol2019`; `dhawan2017` and `maltas-wood` were decided when
/// pairing).
pub fn call_shifts(rows: &mut [Shift], settings: &ShiftSettings) {
    let p: Vec<f64> = rows.iter().map(|r| r.p_value).collect();
    let q = benjamini_hochberg(&p);
    // Bonferroni of nichol2019: α over the comparisons that have a p-value.
    let tested = p.iter().filter(|p| p.is_finite()).count();
    for (row, q) in rows.iter_mut().zip(q) {
        row.q_value = q;
        match settings.rule {
            CallRule::Delta if row.log2_fc_qualifier == Some(Bound::Equal) => {
                row.call = if !q.is_finite() {
                    row.reason = "no standard error for the fold change".into();
                    Call::Undetermined
                } else if q <= settings.alpha && row.log2_fc >= settings.tau {
                    Call::CrossResistant
                } else if q <= settings.alpha && row.log2_fc <= -settings.tau {
                    Call::CollateralSensitive
                } else {
                    Call::Neutral
                };
            }
            CallRule::Delta => {
                // A censored ratio with a test of its own (mic): the bound decided the call
                // when pairing; it also needs q ≤ α.
                let decided = matches!(row.call, Call::CrossResistant | Call::CollateralSensitive);
                if decided && q.is_finite() && q > settings.alpha {
                    row.call = Call::Neutral;
                    row.reason = format!("{}; but q = {q:.3} > α = {}", row.reason, settings.alpha);
                }
            }
            CallRule::Nichol2019 => nichol_call(row, settings.alpha / tested as f64),
            CallRule::Dhawan2017 | CallRule::MaltasWood => {}
        }
    }
}

/// The nichol2019 call of one row: significant when p < `threshold` (α / m), in the direction
/// of log2_fc; a censored ratio whose bound leaves the direction open is `undetermined`.
fn nichol_call(row: &mut Shift, threshold: f64) {
    let Some(qualifier) = row.log2_fc_qualifier else {
        return; // no ratio: `undetermined`, the reason set when pairing
    };
    if !row.p_value.is_finite() {
        row.call = Call::Undetermined;
        row.reason = if row.reason.is_empty() {
            "the nichol2019 rule needs a p-value".into()
        } else {
            format!("the nichol2019 rule needs a p-value; {}", row.reason)
        };
        return;
    }
    let fc = row.log2_fc;
    let up = match qualifier {
        Bound::Equal if fc == 0.0 => None,
        Bound::Equal => Some(fc > 0.0),
        Bound::Greater if fc >= 0.0 => Some(true),
        Bound::Less if fc <= 0.0 => Some(false),
        _ => {
            row.call = Call::Undetermined;
            row.reason = format!(
                "censored: log2_fc {} {fc:.3} leaves the direction open",
                qualifier.symbol()
            );
            return;
        }
    };
    row.call = match up {
        Some(true) if row.p_value < threshold => Call::CrossResistant,
        Some(false) if row.p_value < threshold => Call::CollateralSensitive,
        _ => Call::Neutral,
    };
    if qualifier != Bound::Equal {
        // The bound-and-τ wording of pairing does not apply: this rule has no τ.
        row.reason = format!("censored: log2_fc {} {fc:.3}", qualifier.symbol());
    }
}

#[allow(clippy::too_many_arguments)]
fn pair(
    name: &str,
    parent: &str,
    drug: &str,
    selected_with: &str,
    r: Option<&Estimate>,
    p: Option<&Estimate>,
    s: &ShiftSettings,
) -> Shift {
    let mut row = Shift {
        resistant_line: name.to_string(),
        replicate: r.map(|e| e.replicate.clone()).unwrap_or_default(),
        parental_line: parent.to_string(),
        drug: drug.to_string(),
        selected_with: selected_with.to_string(),
        metric: s.metric,
        log2_fc: f64::NAN,
        log2_fc_qualifier: None,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        p_value: f64::NAN,
        q_value: f64::NAN,
        call: Call::Undetermined,
        value_resistant: r.map_or(f64::NAN, |e| e.value),
        qualifier_resistant: r.and_then(|e| e.qualifier),
        value_parental: p.map_or(f64::NAN, |e| e.value),
        qualifier_parental: p.and_then(|e| e.qualifier),
        reason: String::new(),
        ec50_f_test_p: f64::NAN,
    };
    let what = if s.metric == Metric::Mic {
        "MIC"
    } else {
        "curve"
    };
    let (r, p) = match (r, p) {
        (None, _) => {
            row.reason = format!("no {what} of {name} for {drug}");
            return row;
        }
        (_, None) => {
            row.reason = format!("no {what} of parental line {parent} for {drug}");
            return row;
        }
        (Some(r), Some(p)) => (r, p),
    };
    let (Some(qr), Some(qp)) = (r.qualifier, p.qualifier) else {
        let which = if r.qualifier.is_none() { r } else { p };
        row.reason = format!(
            "no {} for {}: {}",
            s.metric.name(),
            which.cell_line,
            which.problem
        );
        return row;
    };
    if !(r.value > 0.0 && p.value > 0.0) {
        row.reason = format!("{} is not positive", s.metric.name());
        return row;
    }
    // For an area over a curve a larger value means more inhibition: the ratio is taken the
    // other way round so that log2_fc > 0 means resistance for every metric.
    let fc = if s.metric.larger_is_more_sensitive() {
        (p.value / r.value).log2()
    } else {
        (r.value / p.value).log2()
    };
    // A censored resistant value bounds the ratio in its direction; a censored parental value
    // bounds it in the opposite one. Opposite bounds leave the sign open.
    let dir = |q: Bound, flip: bool| match (q, flip) {
        (Bound::Equal, _) => Bound::Equal,
        (Bound::Greater, false) | (Bound::Less, true) => Bound::Greater,
        _ => Bound::Less,
    };
    let (dr, dp) = (dir(qr, false), dir(qp, true));
    let qualifier = match (dr, dp) {
        (Bound::Equal, d) | (d, Bound::Equal) => d,
        (a, b) if a == b => a,
        _ => {
            row.reason = format!(
                "both {}s censored in opposite directions ({} {}, {} {}): the sign is open",
                s.metric.name(),
                qr.symbol(),
                r.cell_line,
                qp.symbol(),
                p.cell_line
            );
            return row;
        }
    };
    row.log2_fc = fc;
    row.log2_fc_qualifier = Some(qualifier);
    if s.rule == CallRule::Dhawan2017 {
        dhawan_call(&mut row, r, p, qualifier);
        return row;
    }
    if qualifier != Bound::Equal {
        row.call = match qualifier {
            Bound::Greater if fc >= s.tau => Call::CrossResistant,
            Bound::Less if fc <= -s.tau => Call::CollateralSensitive,
            _ => Call::Undetermined,
        };
        row.reason = if row.call == Call::Undetermined {
            format!(
                "censored: log2_fc {} {fc:.3} does not decide the call at τ = {}",
                qualifier.symbol(),
                s.tau
            )
        } else {
            format!(
                "censored: the bound log2_fc {} {fc:.3} passes τ = {}",
                qualifier.symbol(),
                s.tau
            )
        };
        return row;
    }
    let se = std::f64::consts::LOG2_10 * (r.log10_se.powi(2) + p.log10_se.powi(2)).sqrt();
    if se.is_finite() && se > 0.0 {
        // Welch–Satterthwaite: each fit contributes its own residual degrees of freedom.
        let (a, b) = (r.log10_se.powi(2), p.log10_se.powi(2));
        let df = (a + b).powi(2) / (a * a / r.dof.max(1.0) + b * b / p.dof.max(1.0));
        if let Ok(t) = StudentsT::new(0.0, 1.0, df) {
            let half = t.inverse_cdf(0.975) * se;
            row.ci_low = fc - half;
            row.ci_high = fc + half;
            row.p_value = 2.0 * t.sf((fc / se).abs());
        }
    }
    row
}

fn dhawan_call(row: &mut Shift, r: &Estimate, p: &Estimate, qualifier: Bound) {
    let (rl, rh) = r.ci;
    let (pl, ph) = p.ci;
    if qualifier != Bound::Equal || ![rl, rh, pl, ph].iter().all(|x| x.is_finite()) {
        row.reason = "dhawan2017 rule needs both 95 % CIs".into();
        return;
    }
    row.call = if rh < pl {
        Call::CollateralSensitive
    } else if rl > ph {
        Call::CrossResistant
    } else {
        Call::Neutral
    };
    row.reason = format!("95 % CIs: resistant [{rl:.4}, {rh:.4}], parental [{pl:.4}, {ph:.4}]");
}

/// The reference of rule `maltas-wood`: the parental line's mean metric and its standard
/// error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaltasWoodReference {
    /// Mean of the parental line's replicate point estimates (or its pooled estimate).
    pub mean: f64,
    /// Standard error of that mean: SD (n − 1) / √n over the replicates, or the pooled fit's
    /// standard error on the metric's scale (delta method: value · ln 10 · se(log10 value)).
    pub se: f64,
    /// Replicates behind the mean (0 when it is the pooled estimate).
    pub n: usize,
    /// Replicates left out: a censored or missing estimate is no point for a mean.
    pub left_out: usize,
}

impl MaltasWoodReference {
    /// The reference from a parental line's estimates for one drug: over its replicate point
    /// estimates when there are at least two (Maltas & Wood's mean ± SE over ancestor
    /// isolates), else from its pooled point estimate's standard error; `None` without either.
    pub fn of(estimates: &[&Estimate]) -> Option<MaltasWoodReference> {
        let replicates: Vec<&&Estimate> = estimates
            .iter()
            .filter(|e| !e.replicate.is_empty())
            .collect();
        let points: Vec<f64> = replicates
            .iter()
            .filter(|e| e.qualifier == Some(Bound::Equal) && e.value.is_finite())
            .map(|e| e.value)
            .collect();
        if points.len() >= 2 {
            let n = points.len() as f64;
            let mean = points.iter().sum::<f64>() / n;
            let var = points.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            return Some(MaltasWoodReference {
                mean,
                se: var.sqrt() / n.sqrt(),
                n: points.len(),
                left_out: replicates.len() - points.len(),
            });
        }
        let pooled = estimates.iter().find(|e| e.replicate.is_empty())?;
        let se = pooled.value * std::f64::consts::LN_10 * pooled.log10_se;
        (pooled.qualifier == Some(Bound::Equal) && se.is_finite()).then_some(MaltasWoodReference {
            mean: pooled.value,
            se,
            n: 0,
            left_out: replicates.len(),
        })
    }
}

/// Rule `maltas-wood`: the call from the resistant estimate against the parental reference.
/// The statistics of the row (log2_fc, CI, p) stay those of the delta method; a censored
/// resistant value is called only when its bound already lies beyond the reference's band.
fn maltas_wood_call(row: &mut Shift, r: Option<&Estimate>, parental: Option<&Vec<&Estimate>>) {
    let Some((r, qualifier)) = r.and_then(|e| e.qualifier.map(|q| (e, q))) else {
        row.call = Call::Undetermined;
        return;
    };
    let Some(reference) = parental.and_then(|p| MaltasWoodReference::of(p)) else {
        row.call = Call::Undetermined;
        row.reason = "maltas-wood rule needs the parental line's replicate point estimates or its standard error".into();
        return;
    };
    let (low, high) = (
        reference.mean - 3.0 * reference.se,
        reference.mean + 3.0 * reference.se,
    );
    let v = r.value;
    row.call = match qualifier {
        Bound::Equal if v < low => Call::CollateralSensitive,
        Bound::Equal if v > high => Call::CrossResistant,
        Bound::Equal => Call::Neutral,
        Bound::Greater if v >= high => Call::CrossResistant,
        Bound::Less if v <= low => Call::CollateralSensitive,
        _ => Call::Undetermined,
    };
    let over = if reference.n > 0 {
        let left = if reference.left_out > 0 {
            format!("; {} censored or missing left out", reference.left_out)
        } else {
            String::new()
        };
        format!("mean and SE of {} replicates{left}", reference.n)
    } else {
        "the pooled fit's SE".to_string()
    };
    let earlier = if row.log2_fc.is_nan() && !row.reason.is_empty() {
        format!("; log2_fc: {}", row.reason)
    } else {
        String::new()
    };
    let open = if row.call == Call::Undetermined {
        ": the bound does not decide"
    } else {
        ""
    };
    row.reason = format!(
        "maltas-wood: {} {} {v:.4} against parental {:.4} ± 3 × {:.4} ({over}){open}{earlier}",
        row.metric.name(),
        qualifier.symbol(),
        reference.mean,
        reference.se
    );
}

/// Columns of `shifts.csv`: the DESIGN.md contract, then details.
pub const SHIFT_COLUMNS: [&str; 20] = [
    "resistant_line",
    "parental_line",
    "drug",
    "selected_with",
    "metric",
    "log2_fc",
    "log2_fc_qualifier",
    "ci_low",
    "ci_high",
    "p_value",
    "q_value",
    "call",
    "replicate",
    "value_resistant",
    "qualifier_resistant",
    "value_parental",
    "qualifier_parental",
    "reason",
    "tau",
    "ec50_f_test_p",
];

/// Writes `shifts.csv`.
pub fn write_shifts(
    w: &mut dyn std::io::Write,
    rows: &[Shift],
    settings: &ShiftSettings,
) -> std::io::Result<()> {
    write_shifts_with(w, rows, settings, &[])
}

/// Writes `shifts.csv` with extra columns after [`SHIFT_COLUMNS`], each a name and one value
/// per row: `collateral merge` adds where each row's fits came from, and the contract columns
/// must keep their names and order whatever is added.
pub fn write_shifts_with(
    w: &mut dyn std::io::Write,
    rows: &[Shift],
    settings: &ShiftSettings,
    extra: &[(&str, Vec<String>)],
) -> std::io::Result<()> {
    let f = crate::text::opt_nan;
    let q = |b: Option<Bound>| b.map_or("", |b| b.symbol()).to_string();
    let mut out = csv::Writer::from_writer(w);
    let mut header: Vec<&str> = SHIFT_COLUMNS.to_vec();
    header.extend(extra.iter().map(|(name, _)| *name));
    out.write_record(&header)?;
    for (i, r) in rows.iter().enumerate() {
        out.write_record(
            [
                r.resistant_line.clone(),
                r.parental_line.clone(),
                r.drug.clone(),
                r.selected_with.clone(),
                r.metric.name().to_string(),
                f(r.log2_fc),
                q(r.log2_fc_qualifier),
                f(r.ci_low),
                f(r.ci_high),
                f(r.p_value),
                f(r.q_value),
                r.call.name().to_string(),
                r.replicate.clone(),
                f(r.value_resistant),
                q(r.qualifier_resistant),
                f(r.value_parental),
                q(r.qualifier_parental),
                r.reason.clone(),
                settings.tau.to_string(),
                f(r.ec50_f_test_p),
            ]
            .into_iter()
            .chain(
                extra
                    .iter()
                    .map(|(_, values)| values.get(i).cloned().unwrap_or_default()),
            ),
        )?;
    }
    out.flush()
}

/// Benjamini–Hochberg q-values; NaN p-values stay NaN and do not count towards m.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let m = idx.len() as f64;
    let mut q = vec![f64::NAN; p.len()];
    let mut running = 1.0f64;
    for (rank, &i) in idx.iter().enumerate().rev() {
        running = running.min(p[i] * m / (rank as f64 + 1.0));
        q[i] = running;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lines::CellLine;

    #[test]
    fn bh_matches_r_p_adjust() {
        // R: p.adjust(c(0.01, 0.04, 0.03, 0.005, NA, 0.5), "BH")
        //    0.025 0.050 0.050 0.025 NA 0.5  (m = 5 non-missing)
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005, f64::NAN, 0.5]);
        let want = [0.025, 0.05, 0.05, 0.025, f64::NAN, 0.5];
        for (a, b) in q.iter().zip(want) {
            assert!((a.is_nan() && b.is_nan()) || (a - b).abs() < 1e-12, "{q:?}");
        }
    }

    fn est(line: &str, value: f64, q: Bound, se: f64) -> Estimate {
        Estimate {
            cell_line: line.into(),
            replicate: String::new(),
            drug: "d".into(),
            value,
            qualifier: Some(q),
            log10_se: se,
            dof: 20.0,
            ci: (value / 2.0, value * 2.0),
            problem: String::new(),
        }
    }

    fn lines() -> LinesTable {
        LinesTable {
            path: "l.csv".into(),
            lines: vec![
                CellLine {
                    name: "P".into(),
                    parental_line: None,
                    selected_with: None,
                    lineage: "P".into(),
                    evolution_time: None,
                    doubling_time_h: None,
                    line: 2,
                },
                CellLine {
                    name: "R".into(),
                    parental_line: Some("P".into()),
                    selected_with: Some("x".into()),
                    lineage: "R".into(),
                    evolution_time: None,
                    doubling_time_h: None,
                    line: 3,
                },
            ],
            has_lineage: false,
            has_evolution_time: false,
        }
    }

    fn one(r: Estimate, p: Estimate) -> Shift {
        compute_shifts(&[p, r], &lines(), &ShiftSettings::default()).remove(0)
    }

    #[test]
    fn delta_method_statistics() {
        let s = one(
            est("R", 8.0, Bound::Equal, 0.1),
            est("P", 1.0, Bound::Equal, 0.1),
        );
        assert_eq!(s.log2_fc, 3.0);
        let se = std::f64::consts::LOG2_10 * (0.02f64).sqrt();
        // df = 40 for equal SEs with 20 each: t(0.975, 40) = 2.021075
        assert!((s.ci_high - 3.0 - 2.021075 * se).abs() < 1e-5, "{s:?}");
        assert!(s.p_value < 1e-6);
        assert_eq!(s.call, Call::CrossResistant);
        let s = one(
            est("R", 0.9, Bound::Equal, 0.1),
            est("P", 1.0, Bound::Equal, 0.1),
        );
        assert_eq!(s.call, Call::Neutral);
        let s = one(
            est("R", 0.1, Bound::Equal, 0.5),
            est("P", 1.0, Bound::Equal, 0.5),
        );
        assert_eq!(s.call, Call::Neutral, "large but not significant: {s:?}");
    }

    #[test]
    fn censored_ratios_are_called_only_when_the_bound_decides() {
        let s = one(
            est("R", 10.0, Bound::Greater, f64::NAN),
            est("P", 1.0, Bound::Equal, 0.1),
        );
        assert_eq!(
            (s.log2_fc_qualifier, s.call),
            (Some(Bound::Greater), Call::CrossResistant)
        );
        let s = one(
            est("R", 1.5, Bound::Greater, f64::NAN),
            est("P", 1.0, Bound::Equal, 0.1),
        );
        assert_eq!(s.call, Call::Undetermined);
        assert!(s.reason.contains("does not decide"));
        // Parental censored above: the ratio is bounded above.
        let s = one(
            est("R", 1.0, Bound::Equal, 0.1),
            est("P", 10.0, Bound::Greater, f64::NAN),
        );
        assert_eq!(
            (s.log2_fc_qualifier, s.call),
            (Some(Bound::Less), Call::CollateralSensitive)
        );
        // Both above the range: the sign is open.
        let s = one(
            est("R", 10.0, Bound::Greater, f64::NAN),
            est("P", 10.0, Bound::Greater, f64::NAN),
        );
        assert_eq!((s.log2_fc_qualifier, s.call), (None, Call::Undetermined));
        assert!(s.log2_fc.is_nan());
    }

    #[test]
    fn missing_fits_are_undetermined_with_a_reason() {
        let mut bad = est("R", f64::NAN, Bound::Equal, 0.1);
        bad.qualifier = None;
        bad.problem = "failed: did not converge".into();
        let s = one(bad, est("P", 1.0, Bound::Equal, 0.1));
        assert_eq!(s.call, Call::Undetermined);
        assert!(s.reason.contains("did not converge"), "{}", s.reason);
        let rows = compute_shifts(
            &[est("R", 1.0, Bound::Equal, 0.1)],
            &lines(),
            &ShiftSettings::default(),
        );
        assert_eq!(rows[0].call, Call::Undetermined);
        assert!(rows[0].reason.contains("no curve of parental line P"));
    }

    #[test]
    fn dhawan_rule_uses_ci_overlap() {
        let settings = ShiftSettings {
            rule: CallRule::Dhawan2017,
            ..Default::default()
        };
        let run = |r: Estimate, p: Estimate| compute_shifts(&[p, r], &lines(), &settings).remove(0);
        assert_eq!(
            run(
                est("R", 0.1, Bound::Equal, 0.1),
                est("P", 1.0, Bound::Equal, 0.1)
            )
            .call,
            Call::CollateralSensitive
        );
        assert_eq!(
            run(
                est("R", 0.6, Bound::Equal, 0.1),
                est("P", 1.0, Bound::Equal, 0.1)
            )
            .call,
            Call::Neutral
        );
        assert_eq!(
            run(
                est("R", 9.0, Bound::Equal, 0.1),
                est("P", 1.0, Bound::Equal, 0.1)
            )
            .call,
            Call::CrossResistant
        );
    }

    #[test]
    fn maltas_wood_rule_uses_three_standard_errors_of_the_parental_replicates() {
        let settings = ShiftSettings {
            rule: CallRule::MaltasWood,
            ..Default::default()
        };
        // Five ancestor isolates: mean 100, SD √62.5, SE √12.5 = 3.5355; band 89.39 to 110.61.
        let mut estimates = vec![est("P", 100.0, Bound::Equal, 0.01)];
        for (i, v) in [100.0, 110.0, 90.0, 105.0, 95.0].into_iter().enumerate() {
            let mut e = est("P", v, Bound::Equal, 0.01);
            e.replicate = (i + 1).to_string();
            estimates.push(e);
        }
        let mut censored = est("P", 1000.0, Bound::Greater, f64::NAN);
        censored.replicate = "6".into();
        estimates.push(censored);
        let reference = MaltasWoodReference::of(&estimates.iter().collect::<Vec<_>>()).unwrap();
        assert!((reference.mean - 100.0).abs() < 1e-12);
        assert!((reference.se - 12.5f64.sqrt()).abs() < 1e-12);
        assert_eq!((reference.n, reference.left_out), (5, 1));
        let call = |r: Estimate| {
            let mut all = estimates.clone();
            all.push(r);
            compute_shifts(&all, &lines(), &settings).remove(0)
        };
        // No fold-change threshold: a 12 % drop beyond the band is CS.
        let s = call(est("R", 88.0, Bound::Equal, 0.01));
        assert_eq!(s.call, Call::CollateralSensitive, "{s:?}");
        assert!(
            s.reason.contains("against parental 100.0000 ± 3 × 3.5355 (mean and SE of 5 replicates; 1 censored or missing left out)"),
            "{}",
            s.reason
        );
        assert!((s.log2_fc - (88.0f64 / 100.0).log2()).abs() < 1e-12);
        assert!(s.p_value.is_finite(), "the delta-method statistics stay");
        assert_eq!(call(est("R", 90.0, Bound::Equal, 0.01)).call, Call::Neutral);
        assert_eq!(
            call(est("R", 110.0, Bound::Equal, 0.01)).call,
            Call::Neutral
        );
        assert_eq!(
            call(est("R", 111.0, Bound::Equal, 0.01)).call,
            Call::CrossResistant
        );
        // A bound is called only when it lies beyond the band already.
        assert_eq!(
            call(est("R", 120.0, Bound::Greater, f64::NAN)).call,
            Call::CrossResistant
        );
        let s = call(est("R", 105.0, Bound::Greater, f64::NAN));
        assert_eq!(s.call, Call::Undetermined);
        assert!(s.reason.contains("does not decide"), "{}", s.reason);
        // Without two replicate point estimates: the pooled fit's standard error.
        let pooled = [est("P", 100.0, Bound::Equal, 0.01)];
        let reference = MaltasWoodReference::of(&pooled.iter().collect::<Vec<_>>()).unwrap();
        assert!((reference.se - 100.0 * std::f64::consts::LN_10 * 0.01).abs() < 1e-12);
        assert_eq!(reference.n, 0);
        let s = compute_shifts(
            &[pooled[0].clone(), est("R", 92.0, Bound::Equal, 0.01)],
            &lines(),
            &settings,
        )
        .remove(0);
        assert_eq!(s.call, Call::CollateralSensitive, "{}", s.reason);
        assert!(s.reason.contains("the pooled fit's SE"), "{}", s.reason);
        // The rule's name in assay files and on the command line.
        let parsed: CallRule = serde_json::from_value(serde_json::json!("maltas-wood")).unwrap();
        assert_eq!(parsed, CallRule::MaltasWood);
        // MICs have no IC50 scale for a mean ± 3 SE.
        let mic = ShiftSettings {
            metric: Metric::Mic,
            ..settings
        };
        assert!(mic.problems().iter().any(|(k, _)| *k == "rule"));
    }
}
