//! Progress of the long stages (reading, QC, fitting, comparing, drawing), told to an observer
//! that the caller chooses: nothing for library users and tests ([`Silent`]), bars on a terminal
//! ([`Bars`]), one line per finished stage for logs ([`Lines`]).
//!
//! A thousand-plate batch or a hundred thousand curves take minutes; a user at a terminal wants
//! to see that the work moves, and a pipeline log (Snakemake, Nextflow, a cluster job) wants to
//! know afterwards where the time went. Neither may touch stdout, which carries the summary a
//! script reads, nor any output file: an observer only watches.
//!
//! ```
//! use collateral::progress::{Lines, Progress, Stage};
//! let lines = Lines::new(Vec::new());
//! lines.begin(Stage::Fit, "curves", Some(3));
//! for _ in 0..3 {
//!     lines.advance(1);
//! }
//! lines.end(3);
//! let text = String::from_utf8(lines.into_inner()).unwrap();
//! assert!(text.starts_with("collateral: fit 3 curves in "));
//! ```

use std::io::Write;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// The stages whose progress is told. One at a time: a stage ends before the next begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading the inputs (plate files, tables).
    Read,
    /// Quality control and normalization of the plates.
    Qc,
    /// Fitting the dose-response curves.
    Fit,
    /// Comparing resistant with parental lines: shifts, matrix, network, cycles.
    Compare,
    /// Drawing the figures and the report.
    Draw,
}

impl Stage {
    /// The stage's name beside its bar, while it runs.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Read => "reading",
            Stage::Qc => "QC",
            Stage::Fit => "fitting",
            Stage::Compare => "comparing",
            Stage::Draw => "drawing",
        }
    }

    /// What the stage did, in the line that says it finished (`fit 100000 curves in 1.4 s`).
    pub fn done(self) -> &'static str {
        match self {
            Stage::Read => "read",
            Stage::Qc => "checked",
            Stage::Fit => "fit",
            Stage::Compare => "compared",
            Stage::Draw => "drew",
        }
    }
}

/// An observer of the stages of a command. The library calls it and never asks anything back,
/// so an observer cannot change a result; [`Silent`] is what the plain entry points
/// (`run`, `fit_curves`, …) pass.
///
/// `advance` is called from the worker threads of a parallel stage (hence `Sync`) and must stay
/// cheap: it runs once per curve.
pub trait Progress: Sync {
    /// A stage begins; `unit` names what it counts (`"curves"`), `total` is how many there will
    /// be when that is known beforehand.
    fn begin(&self, stage: Stage, unit: &'static str, total: Option<u64>);
    /// `n` more items of the current stage are done (from any thread, in any order).
    fn advance(&self, n: u64);
    /// The current stage ended having done `count` items. A stage that fails never ends; the
    /// error says why.
    fn end(&self, count: u64);
}

/// Tells nothing: for library users and tests, and for `--quiet`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn begin(&self, _: Stage, _: &'static str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn end(&self, _: u64) {}
}

/// The line of a finished stage, as [`Lines`] writes it after `collateral: `:
/// `fit 100000 curves in 1.40 s`.
pub fn finished(stage: Stage, unit: &str, count: u64, elapsed: Duration) -> String {
    format!("{} {}", stage.done(), counted(unit, count, elapsed))
}

/// How many in how long, the words [`Lines`] and [`Bars`] share: `100000 curves in 1.40 s`.
fn counted(unit: &str, count: u64, elapsed: Duration) -> String {
    format!("{count} {unit} in {}", seconds(elapsed.as_secs_f64()))
}

/// Seconds with two decimals below ten seconds (short stages stay distinguishable from zero),
/// one above.
fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}

/// Locks a mutex whether or not a panicking thread poisoned it: the observer's state is only
/// ever a stage name and a start time, always whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One line per finished stage, `collateral: fit 100000 curves in 1.4 s`, for logs and pipelines
/// where a bar would draw nothing (indicatif hides bars when stderr is not a terminal) and
/// redrawn lines would be noise.
#[derive(Debug)]
pub struct Lines<W: Write + Send> {
    out: Mutex<W>,
    current: Mutex<Option<(Stage, &'static str, Instant)>>,
}

impl<W: Write + Send> Lines<W> {
    /// Lines written to `out`.
    pub fn new(out: W) -> Self {
        Lines {
            out: Mutex::new(out),
            current: Mutex::new(None),
        }
    }

    /// The writer back, with every line written so far (for tests and for callers that collect
    /// the lines themselves).
    pub fn into_inner(self) -> W {
        self.out
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Lines<std::io::Stderr> {
    /// Lines on stderr, the CLI's choice when stderr is not a terminal.
    pub fn stderr() -> Self {
        Lines::new(std::io::stderr())
    }
}

impl<W: Write + Send> Progress for Lines<W> {
    fn begin(&self, stage: Stage, unit: &'static str, _total: Option<u64>) {
        *lock(&self.current) = Some((stage, unit, Instant::now()));
    }

    fn advance(&self, _: u64) {
        // Only finished stages are told; the count comes with `end`.
    }

    fn end(&self, count: u64) {
        if let Some((stage, unit, start)) = lock(&self.current).take() {
            let line = finished(stage, unit, count, start.elapsed());
            // A log that cannot be written to must not fail the command whose progress it is.
            let _ = writeln!(lock(&self.out), "collateral: {line}");
        }
    }
}

/// Progress bars on stderr (indicatif): a bar with counts, rate and time for a stage whose
/// total is known, a spinner otherwise; each finished stage stays on screen as one line (with
/// its rate when it counted as it went),
/// `  fitting 100000 curves in 1.40 s (71429 curves/s)`. indicatif limits redrawing to 20 per second.
#[derive(Debug)]
pub struct Bars {
    target: fn() -> ProgressDrawTarget,
    current: Mutex<Option<Running>>,
}

/// The stage a [`Bars`] is drawing.
#[derive(Debug)]
struct Running {
    bar: ProgressBar,
    unit: &'static str,
    /// Whether the stage counts its items as they are done (then its rate means something).
    counted: bool,
    start: Instant,
}

impl Default for Bars {
    fn default() -> Self {
        Bars::stderr()
    }
}

impl Bars {
    /// Bars on stderr. indicatif draws nothing when stderr is not a terminal, so the CLI picks
    /// [`Lines`] there instead.
    pub fn stderr() -> Self {
        Bars {
            target: ProgressDrawTarget::stderr,
            current: Mutex::new(None),
        }
    }

    fn bar_style() -> ProgressStyle {
        ProgressStyle::with_template(
            "{prefix:>9} [{bar:30}] {human_pos}/{human_len} {msg} ({rate}, {elapsed}, ETA {eta})",
        )
        .expect("valid template")
        // indicatif's own `per_sec` shows four decimals of a rate of whole curves.
        .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}/s", s.per_sec());
        })
        .progress_chars("=> ")
    }

    fn spinner_style() -> ProgressStyle {
        ProgressStyle::with_template("{prefix:>9} {spinner} {elapsed}").expect("valid template")
    }

    fn done_style() -> ProgressStyle {
        ProgressStyle::with_template("{prefix:>9} {msg}").expect("valid template")
    }
}

impl Progress for Bars {
    fn begin(&self, stage: Stage, unit: &'static str, total: Option<u64>) {
        // Dressed before it is shown: every setter of a visible bar draws it.
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden())
            .with_style(match total {
                Some(_) => Self::bar_style(),
                None => Self::spinner_style(),
            })
            .with_prefix(stage.label())
            .with_message(unit);
        bar.set_draw_target((self.target)());
        if total.is_none() {
            // Nothing advances a stage of unknown size; the tick shows it is alive.
            bar.enable_steady_tick(Duration::from_millis(100));
        }
        let previous = lock(&self.current).replace(Running {
            bar,
            unit,
            counted: total.is_some(),
            start: Instant::now(),
        });
        // A stage left running (its command failed and another began) keeps its last state.
        if let Some(p) = previous {
            p.bar.abandon();
        }
    }

    fn advance(&self, n: u64) {
        // The bar is a shared handle: clone it out so drawing never happens under our lock.
        let bar = lock(&self.current).as_ref().map(|r| r.bar.clone());
        if let Some(bar) = bar {
            bar.inc(n);
        }
    }

    fn end(&self, count: u64) {
        let Some(r) = lock(&self.current).take() else {
            return;
        };
        let elapsed = r.start.elapsed();
        // The stage's name stays in front (its bar turns into this line).
        let mut text = counted(r.unit, count, elapsed);
        let secs = elapsed.as_secs_f64();
        if r.counted && count > 0 && secs > 0.0 {
            text.push_str(&format!(" ({:.0} {}/s)", count as f64 / secs, r.unit));
        }
        r.bar.set_position(count);
        r.bar.set_style(Self::done_style());
        r.bar.finish_with_message(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_tell_each_finished_stage_once_with_its_count() {
        let lines = Lines::new(Vec::new());
        lines.begin(Stage::Read, "plates", None);
        lines.end(24);
        lines.begin(Stage::Fit, "curves", Some(5));
        for _ in 0..5 {
            lines.advance(1);
        }
        lines.end(5);
        // An end without a begin (a caller's slip) says nothing rather than something wrong.
        lines.end(7);
        let text = String::from_utf8(lines.into_inner()).unwrap();
        let got: Vec<&str> = text.lines().collect();
        assert_eq!(got.len(), 2, "{text}");
        assert!(
            got[0].starts_with("collateral: read 24 plates in "),
            "{text}"
        );
        assert!(got[1].starts_with("collateral: fit 5 curves in "), "{text}");
        assert!(got.iter().all(|l| l.ends_with(" s")), "{text}");
    }

    #[test]
    fn a_stage_that_never_ends_is_not_told() {
        let lines = Lines::new(Vec::new());
        lines.begin(Stage::Compare, "shifts", None);
        assert!(lines.into_inner().is_empty());
    }

    #[test]
    fn seconds_keep_short_stages_distinguishable() {
        assert_eq!(seconds(0.034), "0.03 s");
        assert_eq!(seconds(1.4), "1.40 s");
        assert_eq!(seconds(83.27), "83.3 s");
        assert_eq!(
            finished(Stage::Fit, "curves", 100_000, Duration::from_millis(1400)),
            "fit 100000 curves in 1.40 s"
        );
    }

    #[test]
    fn bars_off_a_terminal_count_from_many_threads_and_draw_nothing() {
        use rayon::prelude::*;
        let bars = Bars {
            target: ProgressDrawTarget::hidden,
            current: Mutex::new(None),
        };
        bars.begin(Stage::Fit, "curves", Some(10_000));
        (0..10_000).into_par_iter().for_each(|_| bars.advance(1));
        let position = lock(&bars.current).as_ref().unwrap().bar.position();
        assert_eq!(position, 10_000);
        bars.end(10_000);
        assert!(lock(&bars.current).is_none());
    }
}
