//! What is compared: the metric, its bound, and each curve's estimate of it, read from a fits
//! table (`fits.csv` or any table with `cell_line, drug` and the metric's columns).

use super::*;

/// Which per-curve number is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    Gr50,
    /// GR_AOC: area over the GR curve, per decade of the tested range. Larger means more
    /// inhibition, so log2_fc = log2(parental / resistant): > 0 still means resistance.
    GrAoc,
    /// EC50 of the fitted dose–response of DIP rates (Harris et al. 2016); needs time courses.
    DipEc50,
    /// Emax of the DIP-rate curve relative to its E0, compared as 2^(Emax/E0) (the fold growth
    /// over one untreated doubling at the maximal effect, i.e. 1 + GR∞), so log2_fc is the
    /// difference of Emax/E0 between the lines.
    DipEmax,
}

crate::words::words!(Metric, "metric", {
    Ic50 => "ic50",
    Ec50 => "ec50",
    Auc => "auc",
    Mic => "mic",
    Gr50 => "gr50",
    GrAoc => "gr_aoc",
    DipEc50 => "dip_ec50",
    DipEmax => "dip_emax",
});

impl Metric {
    /// Whether the metric comes from growth-rate data (GR values or DIP rates) rather than
    /// the endpoint viability fit.
    pub(crate) fn is_growth(self) -> bool {
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
    pub(crate) fn larger_is_more_sensitive(self) -> bool {
        self == Metric::GrAoc
    }
}

/// The columns of a fits table that hold one metric (see [`Metric::columns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricColumns {
    /// The value.
    pub value: &'static str,
    /// `=`, `>`, `<` (or `~`, [`Estimate::hill_at_bound`]), for metrics that can be censored.
    pub qualifier: Option<&'static str>,
    /// Standard error of log10 value (of the value itself when `log2_value`).
    pub(crate) log10_se: &'static str,
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
    pub(crate) flat_usable: bool,
}

/// How calls are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallRule {
    /// Fold-change threshold τ and BH q ≤ α (DESIGN.md's rule).
    Delta,
    /// Non-overlapping 95 % CIs of the metric, as in Dhawan et al. 2017.
    Dhawan2017,
    /// p < α / m (Bonferroni over the table), direction from the sign, as in Nichol et al. 2019.
    Nichol2019,
    /// Outside the parental replicates' mean ± 3 standard errors, as in Maltas & Wood's
    /// temporal collateral-sensitivity analysis.
    MaltasWood,
}

crate::words::words!(CallRule, "call rule", {
    Delta => "delta",
    Dhawan2017 => "dhawan2017",
    Nichol2019 => "nichol2019",
    MaltasWood => "maltas-wood",
});

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

    /// The bound of a fit's IC50 qualifier: `~` (a crossing inside the tested range that the
    /// data place only within an interval) is a value, `=`; its interval goes with it
    /// ([`Estimate::hill_at_bound`]).
    pub(crate) fn of_ic50(q: Ic50Qualifier) -> Bound {
        match q {
            Ic50Qualifier::Equal | Ic50Qualifier::Within => Bound::Equal,
            Ic50Qualifier::Greater => Bound::Greater,
            Ic50Qualifier::Less => Bound::Less,
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
#[non_exhaustive]
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
    pub(crate) log10_se: f64,
    /// Residual degrees of freedom of the fit.
    pub dof: f64,
    /// 95 % CI of the value (NaN when not available).
    pub ci: (f64, f64),
    /// Why there is no usable estimate (fit status and message), else empty.
    pub problem: String,
    /// The doses place the value (IC50 qualifier `~` in a fits table: the fit's Hill slope at
    /// its upper bound, or its data a step between two doses): the data place it only within
    /// `ci` (at least the gap between the two doses that bracket it), so two such values
    /// inside overlapping intervals are never called different, and two apart are compared
    /// by their intervals' centres. (The name is the first case's.)
    pub hill_at_bound: bool,
    /// The batch (day, plate set, run) it was measured in, from a fits table's `batch` column
    /// or a run's curves per batch; empty when not given. Lines with batches on both sides are
    /// compared within batches (docs/shifts.md).
    pub batch: String,
}

impl Estimate {
    /// The estimate of `metric` in a fitted curve.
    ///
    /// ic50 keeps the fit's censoring qualifier (a flat curve is censored `>` or `<`); ec50 and
    /// auc are point estimates of `ok` curves only; `failed` and `insufficient_data` curves have
    /// no estimate and carry their status and message as the reason.
    pub(crate) fn from_fit(fit: &CurveFit, replicate: &str, metric: Metric) -> Estimate {
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
            hill_at_bound: false,
            batch: String::new(),
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
                e.qualifier = fit.ic50_qualifier.map(Bound::of_ic50);
                e.hill_at_bound = fit.ic50_qualifier == Some(Ic50Qualifier::Within);
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
/// Optional columns, used when present: `replicate` (several rows of a line and drug are
/// pooled, never one of them picked), `batch` (rows are compared within batches), the status and message of the fit the
/// metric comes from (`status`/`message`, `gr_status`/`gr_message` or
/// `dip_status`/`dip_message`; rows whose status is not `ok`, or `flat` for the censorable
/// ic50 and gr50, have no estimate), the qualifier (`ic50_qualifier`, `gr50_qualifier`; else
/// `=`), the standard error of log10 value, the interval `<metric>_ci_low`/`_ci_high` (from
/// which a standard error is derived with the normal quantile when the standard error is
/// absent), and the residual degrees of freedom (else the normal distribution is used).
pub fn read_estimates(path: &std::path::Path, metric: Metric) -> crate::Result<Vec<Estimate>> {
    estimates_of_table(&mut crate::table::Table::open(path)?, metric)
}

/// [`read_estimates`] on a table already opened: a file, or a table held in memory (the R
/// package's data frames), whose `path` problems name.
// Long because each metric's columns (value, qualifier, SE, interval, status) are looked up and
// parsed in one place; split, the rules for which column serves which metric would scatter.
pub(crate) fn estimates_of_table(
    t: &mut crate::table::Table<'_>,
    metric: Metric,
) -> crate::Result<Vec<Estimate>> {
    use crate::error::{Error, ErrorKind, Problem};
    use crate::table::field;
    let path = &t.path.clone();
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
    let c_batch = t.column("batch");
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
            hill_at_bound: false,
            batch: field(&rec, c_batch).trim().to_string(),
        };
        if cols.log2_value {
            // The column is log2 of the compared number (any sign); the number is 2^column.
            e.value = e.value.exp2();
            e.log10_se *= std::f64::consts::LOG10_2;
        }
        let usable = match FitStatus::parse(status) {
            Some(FitStatus::Ok) => true,
            Some(FitStatus::Flat) => cols.flat_usable,
            _ => false,
        };
        if !usable {
            e.problem = format!("{status}: {}", field(&rec, c_message));
        } else if e.value.is_nan() || e.value <= 0.0 {
            e.problem = format!("no positive {name} in the fits table");
        } else {
            e.qualifier = match field(&rec, c_qual) {
                "" => Some(Bound::Equal),
                // `~`: the fit's Hill slope sits at its bound and the interval is where the
                // data place the value (fits.md).
                q if q.trim() == Ic50Qualifier::Within.symbol() => {
                    e.hill_at_bound = true;
                    Some(Bound::Equal)
                }
                q => match Bound::parse(q) {
                    Some(b) => Some(b),
                    None => {
                        problems.push(Problem {
                            location: t.at(line),
                            message: format!(
                                "`{}` is `{q}`; expected =, >, < or ~",
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
