//! `report.html` and the figures of a run: one self-contained HTML file (inline SVG, CSS and a
//! little JavaScript; no network fetches) built, like the figures, only from the files the run
//! wrote, so every number in it can be found in the CSVs or `run.json`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Problem, Result};
use crate::fit::FitStatus;
use crate::lineage::Course;
use crate::outdir::Staging;
use crate::output::read::GrowthStatus;
use crate::plot::data::{FitRow, QcRow, Response, RunData};
use crate::plot::style::{self, short_number};
use crate::plot::{self, Figure, Format, Kind, PlotOptions, ReportMode};
use crate::progress::{Progress, Stage};
use crate::qc::Verdict;
use crate::shift::Call;

mod reported_before;

/// The report's file name in the output folder.
pub(crate) const REPORT_NAME: &str = "report.html";

/// `fits.csv` columns shown in the report's fit table.
pub const FIT_TABLE_COLUMNS: [&str; 13] = [
    "cell_line",
    "drug",
    "status",
    "n_points",
    "ic50_qualifier",
    "ic50",
    "ic50_ci_low",
    "ic50_ci_high",
    "ec50",
    "hill",
    "r2",
    "aac",
    "message",
];

/// `fits.csv` columns shown in the report's fit table when the run compared a GR metric.
pub(crate) const GR_FIT_TABLE_COLUMNS: [&str; 16] = [
    "cell_line",
    "drug",
    "gr_status",
    "gr_n_points",
    "gr50_qualifier",
    "gr50",
    "gr50_ci_low",
    "gr50_ci_high",
    "grinf",
    "gec50",
    "gr_hill",
    "grmax",
    "gr_aoc",
    "gr_r2",
    "gr_source",
    "gr_message",
];

/// `fits.csv` columns shown in the report's fit table when the run compared a DIP metric.
pub(crate) const DIP_FIT_TABLE_COLUMNS: [&str; 13] = [
    "cell_line",
    "drug",
    "dip_status",
    "dip_n_wells",
    "dip_ec50",
    "dip_ec50_ci_low",
    "dip_ec50_ci_high",
    "dip_e0",
    "dip_emax",
    "dip_emax_rel",
    "dip_hill",
    "dip_r2",
    "dip_message",
];

/// The report's fit table for a run that compared `response`: the columns of the fits behind
/// the compared metric (a GR50 shift is read against the GR fits, not the viability fits), and
/// the column holding their status.
pub fn fit_table_columns(response: Response) -> (&'static [&'static str], &'static str) {
    match response {
        Response::Viability | Response::ViabilityEc50 | Response::Mic => {
            (&FIT_TABLE_COLUMNS, "status")
        }
        Response::Gr => (&GR_FIT_TABLE_COLUMNS, "gr_status"),
        Response::Dip => (&DIP_FIT_TABLE_COLUMNS, "dip_status"),
    }
}

/// `qc.csv` columns shown in the report's QC table.
pub const QC_TABLE_COLUMNS: [&str; 10] = [
    "plate",
    "cell_line",
    "replicate",
    "z_prime",
    "cv_vehicle",
    "signal_to_background",
    "ssmd",
    "spatial_flag",
    "verdict",
    "reason",
];

/// `shifts.csv` columns shown in the report's shift table.
pub const SHIFT_TABLE_COLUMNS: [&str; 12] = [
    "resistant_line",
    "replicate",
    "drug",
    "selected_with",
    "log2_fc_qualifier",
    "log2_fc",
    "ci_low",
    "ci_high",
    "p_value",
    "q_value",
    "call",
    "reason",
];

/// Dose-response grids inlined in the report at most; all are still written under
/// `plots/dose_response/`. Keeps the report of a large screen openable.
pub(crate) const MAX_INLINE_GRIDS: usize = 24;

/// Lineage trajectory grids inlined in the report at most; all are in `plots/trajectories/`.
pub(crate) const MAX_INLINE_TRAJECTORIES: usize = 6;

/// Plate maps inlined in the report at most; all are still written under `plots/plates/`.
pub(crate) const MAX_INLINE_PLATES: usize = 48;

/// Rows of the worst QC units in a summary report.
pub(crate) const SUMMARY_QC_ROWS: usize = 50;
/// Rows of the strongest shifts, of the fits that are not `ok`, and of the inputs in a
/// summary report.
pub(crate) const SUMMARY_TABLE_ROWS: usize = 200;
/// Cycles listed in a summary report.
pub(crate) const SUMMARY_CYCLES: usize = 50;
/// Warnings listed in a report (all are in `run.json`).
pub const MAX_WARNINGS: usize = 100;

/// The figures of one drawing as the report uses them: every file drawn (name and kind, in
/// drawing order), and the bytes of those shown inline.
#[derive(Debug, Clone, Default)]
pub struct Drawing {
    /// Every figure file, relative to the output folder.
    pub files: Vec<(String, Kind)>,
    /// The figures the report inlines, in drawing order.
    pub inline: Vec<Figure>,
}

impl Drawing {
    /// Whether the report shows the `index`-th figure of its kind inline: overviews always,
    /// grids, drug overviews and plate maps only in a full report and only the first few.
    pub fn inlines(mode: ReportMode, kind: Kind, index: usize) -> bool {
        match kind {
            Kind::QcOverview
            | Kind::Heatmap
            | Kind::HeatmapTop
            | Kind::Network
            | Kind::Highlights => true,
            Kind::Grid | Kind::DrugOverview => mode == ReportMode::Full && index < MAX_INLINE_GRIDS,
            Kind::PlateMap => mode == ReportMode::Full && index < MAX_INLINE_PLATES,
            Kind::Likelihood | Kind::Plan => true,
            Kind::Trajectory => index < MAX_INLINE_TRAJECTORIES,
        }
    }

    fn inline_of(&self, kind: Kind) -> impl Iterator<Item = &Figure> {
        self.inline.iter().filter(move |f| f.kind == kind)
    }

    fn files_of(&self, kind: Kind) -> impl Iterator<Item = &str> {
        self.files
            .iter()
            .filter(move |(_, k)| *k == kind)
            .map(|(n, _)| n.as_str())
    }
}

/// Draws the figures and the report of the run whose outputs are in `dir`, handing every file
/// (path relative to `dir`, bytes) to `write` as soon as it is drawn, the report last. Only
/// the figures the report inlines stay in memory.
pub(crate) fn render_outputs(
    dir: &Path,
    options: &PlotOptions,
    write: &mut dyn FnMut(&str, &[u8]) -> Result<()>,
) -> Result<()> {
    let data = RunData::read(dir)?;
    let mode = ReportMode::of(&data, options);
    let mut drawing = Drawing::default();
    let mut per_kind: std::collections::HashMap<Kind, usize> = std::collections::HashMap::new();
    plot::draw_all(&data, options, &mut |figure: Figure| {
        write(&figure.name, &figure.bytes)?;
        let index = per_kind.entry(figure.kind).or_default();
        drawing.files.push((figure.name.clone(), figure.kind));
        if Drawing::inlines(mode, figure.kind, *index) {
            drawing.inline.push(figure);
        }
        *index += 1;
        Ok(())
    })?;
    let html = report_html(&data, &drawing, options.format, mode)?;
    write(REPORT_NAME, html.as_bytes())
}

/// What `collateral plot` wrote.
#[derive(Debug, Clone)]
pub(crate) struct Plotted {
    /// The files moved into place (figures, `report.html`, and `run.json` when its manifest grew).
    pub files: Vec<PathBuf>,
    /// What taking the output folder found (a stale lock or staging folder removed).
    pub warnings: Vec<Problem>,
}

/// `collateral plot`: redraws the figures and the report of an existing output folder without
/// refitting. Files are staged and moved into place together, and added to the manifest in
/// `run.json` so a later run into the folder knows them as collateral's. `progress` is told of
/// the drawing (files drawn; `&progress::Silent` for nothing).
pub(crate) fn plot_folder(
    dir: &Path,
    options: &PlotOptions,
    progress: &dyn Progress,
) -> Result<Plotted> {
    // The lock before reading: a run committing into the folder must not change it mid-drawing.
    let staging = Staging::new(dir)?;
    progress.begin(Stage::Draw, "files", None);
    let mut drawn = 0u64;
    render_outputs(dir, options, &mut |name, bytes| {
        drawn += 1;
        progress.advance(1);
        staging.write(name, |w| std::io::Write::write_all(w, bytes))
    })?;
    progress.end(drawn);
    staging.add_to_manifest()?;
    let mut warnings = staging.take_warnings();
    // A user's evidence file gone since the run: the report is drawn without it.
    if let Some(run) = crate::output::run_json::RunJson::read_optional(&dir.join("run.json"))? {
        for file in reported_before::missing_evidence_files(&run) {
            warnings.push(Problem {
                location: crate::error::Location::file(dir.join("run.json")),
                message: format!(
                    "the run's evidence file `{}` (`settings.evidence.files`) is not there any more: the report's Reported before rows name its relations by their kind only",
                    file.display()
                ),
            });
        }
    }
    Ok(Plotted {
        files: staging.commit()?,
        warnings,
    })
}

/// Draws the figures and the report of a run from its staged files and stages them too (SVG,
/// default sizes, everything selected). Used by `collateral run`.
pub(crate) fn stage_figures_and_report(staging: &Staging, progress: &dyn Progress) -> Result<()> {
    progress.begin(Stage::Draw, "files", None);
    let mut drawn = 0u64;
    render_outputs(
        staging.dir(),
        &PlotOptions::default(),
        &mut |name, bytes| {
            drawn += 1;
            progress.advance(1);
            staging.write(name, |w| std::io::Write::write_all(w, bytes))
        },
    )?;
    progress.end(drawn);
    Ok(())
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A figure as inline HTML: SVG markup as is, PNG as a base64 data URI.
fn figure_html(figure: &Figure, format: Format) -> String {
    let body = match format {
        Format::Svg => {
            let svg = String::from_utf8_lossy(&figure.bytes);
            // Inline SVG must not carry an XML declaration.
            match svg.find("<svg") {
                Some(i) => svg[i..].to_string(),
                None => svg.to_string(),
            }
        }
        Format::Png => format!(
            "<img alt=\"{}\" src=\"data:image/png;base64,{}\">",
            escape(&figure.name),
            plot::base64(&figure.bytes)
        ),
    };
    // What the figure's cells, edges and points stand for, for the script's tooltips: a data
    // block, which no Content-Security-Policy treats as code.
    let marks = if figure.marks.is_empty() {
        String::new()
    } else {
        format!(
            "<script type=\"application/json\" class=\"marks\">{}</script>",
            figure.marks.to_json()
        )
    };
    format!(
        "<figure data-file=\"{0}\">{1}<figcaption>{2} <span class=\"file\">(<a href=\"{0}\">{0}</a>)</span></figcaption>{3}</figure>\n",
        escape(&figure.name),
        body,
        escape(&figure.caption),
        marks,
    )
}

/// A table cell: numbers shown to 3 significant digits with the exact CSV text in `title` and
/// `data-value` (for sorting and for checking against the CSV); text as is.
fn cell(text: &str) -> String {
    // Integers (counts, replicate numbers) are shown as written.
    let integer = !text.is_empty()
        && text
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit());
    match text.parse::<f64>() {
        Ok(_) if integer => format!(
            "<td class=\"num\" data-value=\"{0}\">{0}</td>",
            escape(text)
        ),
        Ok(x) if !text.trim().is_empty() && x.is_finite() && text != "true" => format!(
            "<td class=\"num\" data-value=\"{0}\" title=\"{0}\">{1}</td>",
            escape(text),
            escape(&short_number(x))
        ),
        _ => format!("<td>{}</td>", escape(text)),
    }
}

/// A link to a file of the output folder (relative, so the folder can move), or a plain cell.
#[derive(Debug, Clone)]
enum Td {
    /// Text or a number, as [`cell`] shows it.
    Text(String),
    /// A relative link to one of the run's files.
    Link(String),
}

/// A sortable, filterable table of rows of text cells.
fn table(id: &str, columns: &[&str], rows: &[Vec<String>], classes: &[String]) -> String {
    let rows: Vec<Vec<Td>> = rows
        .iter()
        .map(|r| r.iter().cloned().map(Td::Text).collect())
        .collect();
    table_of(id, columns, &rows, classes)
}

fn table_of(id: &str, columns: &[&str], rows: &[Vec<Td>], classes: &[String]) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<input class=\"filter\" type=\"search\" placeholder=\"filter rows…\" data-table=\"{id}\" aria-label=\"filter {id}\">"
    );
    let _ = write!(
        h,
        "<div class=\"scroll\"><table id=\"{id}\" class=\"sortable\"><thead><tr>"
    );
    for c in columns {
        let _ = write!(h, "<th>{}</th>", escape(c));
    }
    h.push_str("</tr></thead><tbody>\n");
    for (i, r) in rows.iter().enumerate() {
        let class = classes.get(i).map(String::as_str).unwrap_or("");
        let _ = write!(h, "<tr class=\"{class}\">");
        for c in r {
            match c {
                Td::Text(t) => h.push_str(&cell(t)),
                Td::Link(path) => {
                    let _ = write!(h, "<td>{}</td>", link(path));
                }
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></div>\n");
    h
}

/// Columns of the report's likelihood table (all of `likelihood.csv`'s but the counts of
/// neutral and undetermined lineages).
const LIKELIHOOD_TABLE_COLUMNS: [&str; 12] = [
    "selected_with",
    "drug",
    "evolution_time",
    "n_lineages",
    "n_cs",
    "n_cr",
    "cs_likelihood",
    "cs_ci_low",
    "cs_ci_high",
    "cr_likelihood",
    "cr_ci_low",
    "cr_ci_high",
];

/// "Lineages and time": the likelihood map and table, what the courses of CS were, and the
/// trajectory grids. Written when a drug pair has several lineages or lines have times.
fn lineages_section(
    h: &mut String,
    data: &RunData,
    drawing: &Drawing,
    format: Format,
    summary: bool,
) {
    let repeated = data.likelihood.iter().any(|r| r.n_lineages >= 2);
    if data.stability.is_empty() && !repeated {
        return;
    }
    h.push_str("<h2 id=\"lineages\">Lineages and time</h2>\n");
    if !data.stability.is_empty() {
        let lineages: std::collections::BTreeSet<&str> =
            data.stability.iter().map(|s| s.lineage.as_str()).collect();
        let times: std::collections::BTreeSet<u64> = data
            .trajectories
            .iter()
            .map(|t| t.evolution_time.to_bits())
            .collect();
        let unit = data
            .run
            .assay
            .evolution_time_unit
            .as_deref()
            .unwrap_or("time units");
        let pairs: Vec<&crate::plot::data::StabilityRow> = data
            .stability
            .iter()
            .filter(|s| s.drug != s.selected_with)
            .collect();
        let count = |c: Option<Course>| pairs.iter().filter(|s| s.course == c).count();
        let _ = writeln!(
            h,
            "<p>{} lineages sampled at {} evolution times ({}). Of {} lineage × drug pairs (the selecting drug left out), collateral sensitivity <b>persisted</b> at every time point in {}, <b>emerged</b> and lasted to the last time point in {}, <b>faded</b> before the last in {}, came and went (intermittent) in {}, and never appeared in {}; {} had no determined call. Per pair: {}; every time point: {}.</p>",
            lineages.len(),
            times.len(),
            escape(unit),
            pairs.len(),
            count(Some(Course::Persistent)),
            count(Some(Course::Emerging)),
            count(Some(Course::Fading)),
            count(Some(Course::Intermittent)),
            count(Some(Course::Never)),
            count(None),
            table_link(data, "stability.csv"),
            table_link(data, "trajectories.csv")
        );
    }
    for f in drawing.inline_of(Kind::Likelihood) {
        h.push_str(&figure_html(f, format));
    }
    let mut rows: Vec<&crate::plot::data::Cells> = data.likelihood_cells.iter().collect();
    if summary && rows.len() > SUMMARY_TABLE_ROWS {
        rows.truncate(SUMMARY_TABLE_ROWS);
        let _ = writeln!(
            h,
            "<p>The first {SUMMARY_TABLE_ROWS} of {} rows; all are in {}.</p>",
            data.likelihood_cells.len(),
            table_link(data, "likelihood.csv")
        );
    } else {
        let _ = writeln!(
            h,
            "<p>From {}: of the lineages selected with a drug, how many became collaterally sensitive or cross-resistant to another, with Wilson 95 % intervals.</p>",
            table_link(data, "likelihood.csv")
        );
    }
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| LIKELIHOOD_TABLE_COLUMNS.iter().map(|c| r.text(c)).collect())
        .collect();
    h.push_str(&table(
        "likelihood-table",
        &LIKELIHOOD_TABLE_COLUMNS,
        &table_rows,
        &[],
    ));
    for f in drawing.inline_of(Kind::Trajectory) {
        h.push_str(&figure_html(f, format));
    }
    let grids: Vec<&str> = drawing.files_of(Kind::Trajectory).collect();
    if grids.len() > MAX_INLINE_TRAJECTORIES {
        h.push_str(&link_list(
            &format!(
                "The other {} lineages' trajectories",
                grids.len() - MAX_INLINE_TRAJECTORIES
            ),
            &grids[MAX_INLINE_TRAJECTORIES..],
        ));
    }
}

/// Rows of `plan.csv` the report's table shows.
const PLAN_TABLE_ROWS: usize = 10;

/// "Therapy sequences" (runs with `[plan]`): the plan in words (`plan.md`), its figure, and
/// the best rows of `plan.csv`.
fn plan_section(h: &mut String, data: &RunData, drawing: &Drawing, format: Format) -> Result<()> {
    let Ok(words) = std::fs::read_to_string(data.dir.join("plan.md")) else {
        return Ok(());
    };
    h.push_str("<h2 id=\"plan\">Therapy sequences</h2>\n");
    for paragraph in words
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty() && !p.starts_with('#'))
    {
        let _ = writeln!(h, "<p>{}</p>", escape(paragraph));
    }
    for f in drawing.inline_of(Kind::Plan) {
        h.push_str(&figure_html(f, format));
    }
    let plan_csv = data.dir.join("plan.csv");
    if !crate::table::parquet::table_exists(&plan_csv) {
        return Ok(());
    }
    let columns = [
        "rank",
        "sequence",
        "expected_log2_fc",
        "expected_ci_low",
        "expected_ci_high",
        "p_no_cr",
        "p_all_cs",
        "support",
    ];
    let rows: Vec<Vec<String>> = crate::plot::plan::ranked_rows(&plan_csv, PLAN_TABLE_ROWS)?
        .into_iter()
        .map(|(_, row)| {
            let (header, record) = row.parts();
            columns
                .iter()
                .map(|c| {
                    header
                        .iter()
                        .position(|h| h == c)
                        .and_then(|i| record.get(i))
                        .unwrap_or("")
                        .to_string()
                })
                .collect()
        })
        .collect();
    let _ = writeln!(
        h,
        "<p>The best {} sequences; every candidate, and why some cannot be scored, is in {}.</p>",
        rows.len(),
        table_link(data, "plan.csv")
    );
    h.push_str(&table("plan-table", &columns, &rows, &[]));
    Ok(())
}

/// A relative link to a file of the output folder, labelled with its path.
fn link(path: &str) -> String {
    format!("<a href=\"{0}\">{0}</a>", escape(path))
}

/// A link to the run's table named by its CSV file name: to its Parquet file instead when the
/// run wrote only that (`--format parquet`), so no link of the report points at nothing.
fn table_link(data: &RunData, csv_name: &str) -> String {
    let parquet = crate::outdir::parquet_name(csv_name);
    if !data.dir.join(csv_name).is_file() && data.dir.join(&parquet).is_file() {
        link(&parquet)
    } else {
        link(csv_name)
    }
}

/// Links to figure files, labelled with their stems, folded under a summary line.
fn link_list(summary: &str, files: &[&str]) -> String {
    let mut h = format!(
        "<details class=\"links\"><summary>{}</summary><p>",
        escape(summary)
    );
    for f in files {
        let stem = f
            .rsplit('/')
            .next()
            .unwrap_or(f)
            .rsplit_once('.')
            .map_or(*f, |(s, _)| s);
        let _ = write!(h, "<a href=\"{}\">{}</a> ", escape(f), escape(stem));
    }
    h.push_str("</p></details>\n");
    h
}

fn fit_rows(fits: &[&FitRow], columns: &[&str], status: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let rows = fits
        .iter()
        .map(|f| columns.iter().map(|c| f.cells.text(c)).collect())
        .collect();
    let classes = fits
        .iter()
        .map(|f| format!("status-{}", f.cells.text(status)))
        .collect();
    (rows, classes)
}

fn qc_rows(qc: &[&QcRow]) -> (Vec<Vec<String>>, Vec<String>) {
    let rows = qc
        .iter()
        .map(|q| QC_TABLE_COLUMNS.iter().map(|c| q.cells.text(c)).collect())
        .collect();
    let classes = qc
        .iter()
        .map(|q| format!("verdict-{}", q.verdict))
        .collect();
    (rows, classes)
}

/// A count of `run.json` as shown on a tile: `?` when the record has none.
fn count<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "?".into(), |v| v.to_string())
}

/// Rank of a verdict among the worst QC units: fail first, then warn, then pass.
fn verdict_rank(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Fail => 0,
        Verdict::Warn => 1,
        Verdict::Pass => 2,
    }
}

/// Whether the fit the report's fit table shows for `response` ended `ok`: the GR or DIP fit
/// for growth responses, the viability fit otherwise (as [`fit_table_columns`] chooses).
fn fit_is_ok(f: &FitRow, response: Response) -> bool {
    let ok = Some(GrowthStatus::Fit(FitStatus::Ok));
    match response {
        Response::Gr => f.gr_status == ok,
        Response::Dip => f.dip_status == ok,
        Response::Viability | Response::ViabilityEc50 | Response::Mic => f.status == FitStatus::Ok,
    }
}

/// The worst QC units: failed, then warned, then passed; within each, lowest Z′ first (no Z′
/// at all first of all); ties in `qc.csv` order.
pub(crate) fn worst_units(data: &RunData, keep: usize) -> Vec<&QcRow> {
    let mut units: Vec<&QcRow> = data.qc_units().collect();
    units.sort_by(|a, b| {
        let z = |q: &QcRow| {
            if q.z_prime.is_finite() {
                q.z_prime
            } else {
                f64::NEG_INFINITY
            }
        };
        verdict_rank(a.verdict)
            .cmp(&verdict_rank(b.verdict))
            .then(z(a).total_cmp(&z(b)))
    });
    units.truncate(keep);
    units
}

/// The strongest shifts: pooled rows called collaterally sensitive or cross-resistant, largest
/// |log2 FC| first (ties in `shifts.csv` order).
pub(crate) fn strongest_shifts(data: &RunData, keep: usize) -> Vec<&crate::plot::data::ShiftRow> {
    let mut rows: Vec<&crate::plot::data::ShiftRow> = data
        .pooled_shifts()
        .filter(|s| matches!(s.call, Call::CollateralSensitive | Call::CrossResistant))
        .collect();
    let size = |s: &crate::plot::data::ShiftRow| {
        if s.log2_fc.is_finite() {
            s.log2_fc.abs()
        } else {
            -1.0
        }
    };
    rows.sort_by(|a, b| size(b).total_cmp(&size(a)));
    rows.truncate(keep);
    rows
}

/// The report's style sheet, inlined in its `<style>` element (`assets/report/report.css`).
pub const CSS: &str = include_str!("../assets/report/report.css");

/// The report's script, inlined in its `<script>` element (`assets/report/report.js`): table
/// sorting, filtering and CSV download, figure download, tooltips and panels from the marks.
pub const SCRIPT: &str = include_str!("../assets/report/report.js");

/// The Content-Security-Policy sources that allow the report's own inline script and style
/// and nothing else inline: `'sha256-…'` of [`SCRIPT`] and of [`CSS`], as (script-src,
/// style-src). A server showing `report.html` (`collateral serve`) sends these instead of
/// `'unsafe-inline'`.
pub fn inline_sources() -> (String, String) {
    let hash = |text: &str| {
        use sha2::Digest;
        format!(
            "'sha256-{}'",
            plot::base64(&sha2::Sha256::digest(text.as_bytes()))
        )
    };
    (hash(SCRIPT), hash(CSS))
}

/// Builds `report.html` from a run's data and its drawn figures. In [`ReportMode::Full`] every
/// table is whole; in [`ReportMode::Summary`] the tables are capped to what a reader can use
/// (the worst plates, the strongest shifts, the fits that are not `ok`) and every figure and
/// table not shown is linked.
pub(crate) fn report_html(
    data: &RunData,
    drawing: &Drawing,
    format: Format,
    mode: ReportMode,
) -> Result<String> {
    let summary = mode == ReportMode::Summary;
    let mut h = String::new();
    page_head(&mut h, data, summary);
    h.push_str("<h2 id=\"summary\">Run summary</h2><div class=\"summary\">\n");
    summary_tiles(&mut h, data);
    warnings_list(&mut h, data);
    qc_section(&mut h, data, drawing, format, summary);
    if data.compared {
        map_and_network_section(&mut h, data, drawing, format, summary);
        lineages_section(&mut h, data, drawing, format, summary);
        plan_section(&mut h, data, drawing, format)?;
        shifts_section(&mut h, data, summary);
        reported_before::reported_before_section(&mut h, data);
    }
    drugs_section(&mut h, drawing, format, summary);
    lines_section(&mut h, drawing, format, summary);
    fits_section(&mut h, data, summary);
    plates_section(&mut h, drawing, format, summary);
    settings_section(&mut h, data, summary);
    let _ = write!(h, "<script>{SCRIPT}</script>\n</body></html>\n");
    Ok(h)
}

/// The page's head, title line, navigation and (for a summary) the note on what is left out.
fn page_head(h: &mut String, data: &RunData, summary: bool) {
    let run = &data.run;
    let name = run.assay.name.as_str();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} — collateral report</title>\n<style>{CSS}</style></head><body>\n",
        escape(name)
    );
    let _ = writeln!(
        h,
        "<h1>{}</h1><p>collateral {} · assay file <code>{}</code> · concentrations in {}</p>",
        escape(name),
        escape(&run.version),
        escape(&run.assay.path),
        escape(&data.unit())
    );
    let compared = data.compared;
    h.push_str("<nav><a href=\"#summary\">Summary</a><a href=\"#qc\">QC</a>");
    if compared {
        h.push_str("<a href=\"#map\">CS map</a><a href=\"#network\">Network</a>");
        if !data.stability.is_empty() || data.likelihood.iter().any(|r| r.n_lineages >= 2) {
            h.push_str("<a href=\"#lineages\">Lineages and time</a>");
        }
        if data.dir.join("plan.md").is_file() {
            h.push_str("<a href=\"#plan\">Plan</a>");
        }
        h.push_str("<a href=\"#shifts\">Shifts</a><a href=\"#reported\">Reported before</a>");
    }
    h.push_str("<a href=\"#drugs\">By drug</a><a href=\"#curves\">By line</a><a href=\"#fits\">Fits</a><a href=\"#plates\">Plate maps</a><a href=\"#settings\">Settings</a></nav>\n");
    if summary {
        let _ = writeln!(
            h,
            "<p class=\"mode\">A large screen ({} curves, {} plates; a report shows everything up to {} curves and {} plates): this page shows overviews, the strongest shifts and the worst plates, and links the rest — every figure is in <code>plots/</code>, every number in the CSV files beside this page.</p>",
            data.fits.len(),
            data.plates.all().len(),
            plot::FULL_REPORT_MAX_CURVES,
            plot::FULL_REPORT_MAX_PLATES
        );
    }
}

/// The run summary's tiles: the counts of `run.json`.
fn summary_tiles(h: &mut String, data: &RunData) {
    let run = &data.run;
    let compared = data.compared;
    let c = &run.counts;
    let mut tiles: Vec<(String, String)> = vec![
        (c.plates.to_string(), "plates".into()),
        (c.wells.to_string(), "wells".into()),
        (c.excluded_wells.to_string(), "wells excluded".into()),
        (
            c.flagged_wells.to_string(),
            "wells with unreadable signal".into(),
        ),
        (
            format!("{} / {} / {}", c.qc_pass, c.qc_warn, c.qc_fail),
            "QC units pass / warn / fail".into(),
        ),
        (c.cell_lines.to_string(), "cell lines".into()),
        (c.drugs.to_string(), "drugs".into()),
        (
            format!(
                "{} / {} / {} / {}",
                c.curves.ok, c.curves.flat, c.curves.insufficient_data, c.curves.failed
            ),
            "curves ok / flat / insufficient data / failed".into(),
        ),
    ];
    if compared {
        tiles.push((
            format!(
                "{} / {} / {} / {}",
                count(c.shifts.map(|s| s.collateral_sensitive)),
                count(c.shifts.map(|s| s.cross_resistant)),
                count(c.shifts.map(|s| s.neutral)),
                count(c.shifts.map(|s| s.undetermined))
            ),
            "shifts CS / CR / neutral / undetermined".into(),
        ));
        tiles.push((count(c.shifts.map(|s| s.cycles)), "CS cycles".into()));
    }
    for (value, label) in &tiles {
        let _ = writeln!(h, "<div><b>{}</b>{}</div>", escape(value), escape(label));
    }
    h.push_str("</div>\n");
}

/// The run's warnings, the first [`MAX_WARNINGS`] of them.
fn warnings_list(h: &mut String, data: &RunData) {
    let run = &data.run;
    let warnings = &run.warnings;
    if warnings.is_empty() {
        h.push_str("<p class=\"ok\">No warnings.</p>\n");
    } else {
        let _ = writeln!(
            h,
            "<h3>{} warning(s)</h3><ul class=\"warnings\">",
            warnings.len()
        );
        for w in warnings.iter().take(MAX_WARNINGS) {
            let _ = writeln!(h, "<li>{}</li>", escape(w));
        }
        h.push_str("</ul>\n");
        if warnings.len() > MAX_WARNINGS {
            let _ = writeln!(
                h,
                "<p>The first {MAX_WARNINGS} are shown; all {} are in {}.</p>",
                warnings.len(),
                link("run.json")
            );
        }
    }
}

/// The plate QC section: the overview, then every unit (or, for a summary, the worst with
/// their plate maps).
fn qc_section(h: &mut String, data: &RunData, drawing: &Drawing, format: Format, summary: bool) {
    h.push_str("<h2 id=\"qc\">Plate QC</h2>\n");
    for f in drawing.inline_of(Kind::QcOverview) {
        h.push_str(&figure_html(f, format));
    }
    if summary {
        let worst = worst_units(data, SUMMARY_QC_ROWS);
        let _ = writeln!(
            h,
            "<p>The {} worst of {} QC units (failed, then warned, then lowest Z′), with their plate maps; every unit is in {}.</p>",
            worst.len(),
            data.qc_units().count(),
            table_link(data, "qc.csv")
        );
        let stems: std::collections::HashMap<&str, &str> = data
            .plates
            .all()
            .iter()
            .map(String::as_str)
            .zip(drawing.files_of(Kind::PlateMap))
            .collect();
        let rows: Vec<Vec<Td>> = worst
            .iter()
            .map(|q| {
                let mut r: Vec<Td> = QC_TABLE_COLUMNS
                    .iter()
                    .map(|c| Td::Text(q.cells.text(c)))
                    .collect();
                r.push(match stems.get(q.plate.as_str()) {
                    Some(f) => Td::Link(f.to_string()),
                    None => Td::Text(String::new()),
                });
                r
            })
            .collect();
        let classes: Vec<String> = worst
            .iter()
            .map(|q| format!("verdict-{}", q.verdict))
            .collect();
        let mut columns = QC_TABLE_COLUMNS.to_vec();
        columns.push("plate map");
        h.push_str(&table_of("qc-worst-table", &columns, &rows, &classes));
    } else {
        h.push_str("<p>From <code>qc.csv</code>: one row per unit (plate, cell line, replicate) and a pooled row per plate shared by several units (empty cell line).</p>\n");
        let all: Vec<&QcRow> = data.qc.iter().collect();
        let (rows, classes) = qc_rows(&all);
        h.push_str(&table("qc-table", &QC_TABLE_COLUMNS, &rows, &classes));
    }
}

/// The collateral-sensitivity map, the drug network and the cycles.
fn map_and_network_section(
    h: &mut String,
    data: &RunData,
    drawing: &Drawing,
    format: Format,
    summary: bool,
) {
    h.push_str("<h2 id=\"map\">Collateral-sensitivity map</h2>\n");
    if data.pooled_shifts().next().is_none() {
        h.push_str("<p><code>shifts.csv</code> holds no shift: no resistant line could be compared with its parental line.</p>\n");
    }
    for f in drawing.inline_of(Kind::Heatmap) {
        h.push_str(&figure_html(f, format));
    }
    for f in drawing.inline_of(Kind::HeatmapTop) {
        let _ = writeln!(h, "<div class=\"natural\">{}</div>", figure_html(f, format));
    }
    h.push_str("<h2 id=\"network\">Drug network and cycles</h2>\n");
    for f in drawing.inline_of(Kind::Network) {
        h.push_str(&figure_html(f, format));
    }
    let shown = if summary {
        SUMMARY_CYCLES
    } else {
        data.cycles.len()
    };
    let rows: Vec<Vec<String>> = data
        .cycles
        .iter()
        .take(shown)
        .map(|c| {
            vec![
                c.rank.clone(),
                c.length.clone(),
                c.cycle.clone(),
                c.sum_log2_fc.clone(),
                c.max_q_value.clone(),
            ]
        })
        .collect();
    if rows.is_empty() {
        h.push_str("<p><code>cycles.csv</code> holds no collateral-sensitivity cycle.</p>\n");
    } else {
        if data.cycles.len() > rows.len() {
            let _ = writeln!(
                h,
                "<p>The {} highest-ranked of {} cycles; all are in {}.</p>",
                rows.len(),
                data.cycles.len(),
                table_link(data, "cycles.csv")
            );
        } else {
            h.push_str("<p>From <code>cycles.csv</code>:</p>");
        }
        h.push_str(&table(
            "cycles-table",
            &["rank", "length", "cycle", "sum_log2_fc", "max_q_value"],
            &rows,
            &[],
        ));
    }
}

/// The shifts table (for a summary, the strongest shifts).
fn shifts_section(h: &mut String, data: &RunData, summary: bool) {
    let metric = data
        .shifts
        .first()
        .map_or("ic50".to_string(), |s| s.metric.name().to_string());
    let _ = writeln!(
        h,
        "<h2 id=\"shifts\">Shifts: log2 fold change of {}</h2>",
        escape(&metric)
    );
    let rows: Vec<&crate::plot::data::ShiftRow> = if summary {
        let strongest = strongest_shifts(data, SUMMARY_TABLE_ROWS);
        let _ = writeln!(
            h,
            "<p>The {} collaterally sensitive or cross-resistant shifts with the largest |log2 FC| (of {} rows); every shift is in {}.</p>",
            strongest.len(),
            data.shifts.len(),
            table_link(data, "shifts.csv")
        );
        strongest
    } else {
        h.push_str("<p>From <code>shifts.csv</code>.</p>\n");
        data.shifts.iter().collect()
    };
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            SHIFT_TABLE_COLUMNS
                .iter()
                .map(|c| r.cells.text(c))
                .collect()
        })
        .collect();
    let classes: Vec<String> = rows.iter().map(|r| format!("call-{}", r.call)).collect();
    h.push_str(&table(
        "shifts-table",
        &SHIFT_TABLE_COLUMNS,
        &table_rows,
        &classes,
    ));
}

/// Dose–response by drug: the drug overviews (for a summary, the highlights and links).
fn drugs_section(h: &mut String, drawing: &Drawing, format: Format, summary: bool) {
    h.push_str("<h2 id=\"drugs\">Dose-response by drug</h2>\n");
    let overviews: Vec<&str> = drawing.files_of(Kind::DrugOverview).collect();
    if summary {
        for f in drawing.inline_of(Kind::Highlights) {
            h.push_str(&figure_html(f, format));
        }
        if overviews.is_empty() {
            h.push_str("<p>No dose-response panels (no fitted curves selected).</p>\n");
        } else {
            h.push_str(&link_list(
                &format!(
                    "All {} drug overviews (every line's curves for one drug), in plots/drugs/",
                    overviews.len()
                ),
                &overviews,
            ));
        }
    } else {
        if overviews.is_empty() {
            h.push_str("<p>No dose-response panels (no fitted curves selected).</p>\n");
        }
        if overviews.len() > MAX_INLINE_GRIDS {
            let _ = writeln!(
                h,
                "<p>{} drugs; the first {MAX_INLINE_GRIDS} are shown, all are in <code>plots/drugs/</code>.</p>",
                overviews.len()
            );
        }
        for f in drawing.inline_of(Kind::DrugOverview) {
            h.push_str(&figure_html(f, format));
        }
        if overviews.len() > MAX_INLINE_GRIDS {
            h.push_str(&link_list(
                &format!(
                    "The other {} drug overviews",
                    overviews.len() - MAX_INLINE_GRIDS
                ),
                &overviews[MAX_INLINE_GRIDS..],
            ));
        }
    }
}

/// Dose–response by line: the grids (for a summary, links to them).
fn lines_section(h: &mut String, drawing: &Drawing, format: Format, summary: bool) {
    let grids: Vec<&str> = drawing.files_of(Kind::Grid).collect();
    h.push_str("<h2 id=\"curves\">Dose-response by line</h2>\n");
    if grids.is_empty() {
        h.push_str("<p>No dose-response panels (no fitted curves selected).</p>\n");
    }
    if summary {
        if !grids.is_empty() {
            h.push_str(&link_list(
                &format!(
                    "All {} dose-response grids (one per line, a panel per drug), in plots/dose_response/",
                    grids.len()
                ),
                &grids,
            ));
        }
    } else {
        if grids.len() > MAX_INLINE_GRIDS {
            let _ = writeln!(
                h,
                "<p>{} grids; the first {MAX_INLINE_GRIDS} are shown, all are in <code>plots/dose_response/</code> (or redraw a selection with <code>collateral plot OUTDIR --lines …</code>).</p>",
                grids.len()
            );
        }
        for f in drawing.inline_of(Kind::Grid) {
            h.push_str(&figure_html(f, format));
        }
        if grids.len() > MAX_INLINE_GRIDS {
            h.push_str(&link_list(
                &format!("The other {} grids", grids.len() - MAX_INLINE_GRIDS),
                &grids[MAX_INLINE_GRIDS..],
            ));
        }
    }
}

/// The fits table (for a summary, the fits that are not `ok`).
fn fits_section(h: &mut String, data: &RunData, summary: bool) {
    h.push_str("<h2 id=\"fits\">Fits</h2>\n");
    let (fit_columns, status) = fit_table_columns(data.response);
    if matches!(data.response, Response::Gr | Response::Dip) {
        let _ = writeln!(
            h,
            "<p>The {} fits, whose {} the lines were compared on; the viability fits are in {} too.</p>",
            if data.response == Response::Gr { "GR" } else { "DIP-rate" },
            data.response.potency_name(),
            table_link(data, "fits.csv")
        );
    }
    let fits: Vec<&FitRow> = if summary {
        let not_ok: Vec<&FitRow> = data
            .fits
            .iter()
            .filter(|f| !fit_is_ok(f, data.response))
            .collect();
        let shown: Vec<&FitRow> = not_ok.iter().take(SUMMARY_TABLE_ROWS).copied().collect();
        let _ = writeln!(
            h,
            "<p>{} of {} curves are not <code>ok</code>; {} shown, each with the reason. Every curve is in {}.</p>",
            not_ok.len(),
            data.fits.len(),
            if shown.len() < not_ok.len() {
                format!("the first {}", shown.len())
            } else {
                "all".to_string()
            },
            table_link(data, "fits.csv")
        );
        shown
    } else {
        h.push_str("<p>From <code>fits.csv</code>; every curve has a status and, when not <code>ok</code>, the reason.</p>\n");
        data.fits.iter().collect()
    };
    let (rows, classes) = fit_rows(&fits, fit_columns, status);
    h.push_str(&table("fits-table", fit_columns, &rows, &classes));
}

/// The plate maps (for a summary, links to them).
fn plates_section(h: &mut String, drawing: &Drawing, format: Format, summary: bool) {
    h.push_str("<h2 id=\"plates\">Plate maps</h2>\n");
    let plates: Vec<&str> = drawing.files_of(Kind::PlateMap).collect();
    if summary {
        h.push_str(&link_list(
            &format!("All {} plate maps, in plots/plates/", plates.len()),
            &plates,
        ));
    } else {
        let _ = writeln!(
            h,
            "<details><summary>{} plate map(s){}</summary>",
            plates.len(),
            if plates.len() > MAX_INLINE_PLATES {
                format!(", the first {MAX_INLINE_PLATES} shown; all are in plots/plates/")
            } else {
                String::new()
            }
        );
        for f in drawing.inline_of(Kind::PlateMap) {
            h.push_str(&figure_html(f, format));
        }
        h.push_str("</details>\n");
        if plates.len() > MAX_INLINE_PLATES {
            h.push_str(&link_list(
                &format!("The other {} plate maps", plates.len() - MAX_INLINE_PLATES),
                &plates[MAX_INLINE_PLATES..],
            ));
        }
    }
}

/// The settings and inputs of `run.json`, and the colours' legend.
fn settings_section(h: &mut String, data: &RunData, summary: bool) {
    let run = &data.run;
    h.push_str("<h2 id=\"settings\">Settings and inputs</h2><p>From <code>run.json</code>.</p>\n");
    let inputs: Vec<Vec<String>> = run
        .inputs
        .iter()
        .map(|i| vec![i.path.clone(), i.sha256.clone(), i.bytes.to_string()])
        .collect();
    let shown = if summary {
        SUMMARY_TABLE_ROWS.min(inputs.len())
    } else {
        inputs.len()
    };
    if shown < inputs.len() {
        let _ = writeln!(
            h,
            "<p>The first {shown} of {} input files; all are in {}.</p>",
            inputs.len(),
            link("run.json")
        );
    }
    h.push_str(&table(
        "inputs-table",
        &["path", "sha256", "bytes"],
        &inputs[..shown],
        &[],
    ));
    let settings = serde_json::to_value(&run.settings)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_default();
    let _ = writeln!(h, "<pre id=\"settings-json\">{}</pre>", escape(&settings));
    let _ = writeln!(
        h,
        "<p class=\"file\">Colours: blue {} = collaterally sensitive, red {} = cross-resistant.</p>",
        style::hex(style::SENSITIVE_BLUE),
        style::hex(style::RESISTANT_RED)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_and_cells() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(
            cell("0.80660520"),
            "<td class=\"num\" data-value=\"0.80660520\" title=\"0.80660520\">0.807</td>"
        );
        assert_eq!(cell("pass"), "<td>pass</td>");
        assert_eq!(cell("12"), "<td class=\"num\" data-value=\"12\">12</td>");
        assert_eq!(cell(""), "<td></td>");
    }
}
