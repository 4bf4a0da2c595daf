//! The bounded pool that runs analyses: a few worker threads take queued analyses in upload
//! order and run each with the library in memory (`collateral::run::run`, the same call as
//! `collateral run`), telling its progress into the analysis's record.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::store::{self, files_under, lock, Entry, Located, StageDone, State, Store};
use super::upload::ASSAY_FILE;
use crate::progress::{Progress, Stage};

/// The queue of analyses waiting for a worker.
pub(crate) struct Pool {
    queue: Mutex<Sender<String>>,
}

impl Pool {
    /// Starts `workers` threads (at least one) taking analyses of `store` from the queue.
    pub fn start(store: Arc<Store>, workers: usize) -> Pool {
        let (tx, rx) = channel::<String>();
        let rx = Arc::new(Mutex::new(rx));
        for k in 0..workers.max(1) {
            let (store, rx) = (store.clone(), rx.clone());
            std::thread::Builder::new()
                .name(format!("collateral-serve-run-{k}"))
                .spawn(move || work(&store, &rx))
                .expect("starting a worker thread");
        }
        Pool {
            queue: Mutex::new(tx),
        }
    }

    /// Puts an analysis (already `queued` in its record) at the end of the queue.
    pub(crate) fn enqueue(&self, id: String) {
        // The workers live as long as the process, so the queue is never closed.
        let _ = lock(&self.queue).send(id);
    }
}

/// A worker: takes the next id, runs it if it still exists and is still queued.
fn work(store: &Store, rx: &Mutex<Receiver<String>>) {
    loop {
        let Ok(id) = lock(rx).recv() else {
            return;
        };
        let Some(entry) = store.get(&id) else {
            continue; // deleted while queued
        };
        if entry.lock().state != State::Queued {
            continue;
        }
        run_one(store, &id, &entry);
    }
}

/// Runs one analysis into its `output/` folder and records the outcome: `done` with the files,
/// or `failed` with the library's located problems (a panic is a failure too, never a lost
/// worker).
fn run_one(store: &Store, id: &str, entry: &Entry) {
    let folder = store.folder(id);
    let input = folder.join(store::INPUT_DIR);
    let output = folder.join(store::OUTPUT_DIR);
    entry.lock().state = State::Running;
    let _ = store.save(entry);
    let tracker = Tracker { store, entry };
    let t = Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let options = crate::run::RunOptions {
            figures: true,
            keep_going: false,
            xlsx: true,
            progress: &tracker,
            format: None,
        };
        crate::run::run(&input.join(ASSAY_FILE), &output, &options)
    }));
    let mut r = entry.lock();
    r.seconds = Some(t.elapsed().as_secs_f64());
    r.progress.stage = None;
    r.progress.unit = None;
    r.progress.total = None;
    match result {
        Ok(Ok(report)) => {
            r.state = State::Done;
            r.name = report.name.clone();
            r.warnings = report
                .warnings
                .iter()
                .map(|w| Located::from_problem(w, &input))
                .collect();
            r.files = files_under(&output);
        }
        Ok(Err(e)) => {
            r.state = State::Failed;
            r.problems = e
                .problems_found()
                .iter()
                .map(|p| Located::from_problem(p, &input))
                .collect();
        }
        Err(_) => {
            r.state = State::Failed;
            r.problems = vec![Located::message(
                "the run stopped on an internal error (a bug of collateral; please report it with the inputs)",
            )];
        }
    }
    drop(r);
    let _ = store.save(entry);
}

/// Tells a run's stages into its analysis's record: the stage and its total at `begin`, the
/// count live (an atomic, `advance` runs once per curve), the finished stage at `end`.
struct Tracker<'a> {
    store: &'a Store,
    entry: &'a Entry,
}

impl Progress for Tracker<'_> {
    fn begin(&self, stage: Stage, unit: &'static str, total: Option<u64>) {
        self.entry.done.store(0, Ordering::Relaxed);
        *lock(&self.entry.stage_start) = Some(Instant::now());
        {
            let mut r = self.entry.lock();
            r.progress.stage = Some(stage.label().to_string());
            r.progress.unit = Some(unit.to_string());
            r.progress.total = total;
            r.progress.done = 0;
        }
        let _ = self.store.save(self.entry);
    }

    fn advance(&self, n: u64) {
        self.entry.done.fetch_add(n, Ordering::Relaxed);
    }

    fn end(&self, count: u64) {
        let seconds = lock(&self.entry.stage_start)
            .take()
            .map_or(0.0, |t| t.elapsed().as_secs_f64());
        {
            let mut r = self.entry.lock();
            let stage = r.progress.stage.take().unwrap_or_default();
            let unit = r.progress.unit.take().unwrap_or_default();
            r.progress.total = None;
            r.progress.done = 0;
            r.progress.stages.push(StageDone {
                stage,
                unit,
                count,
                seconds,
            });
        }
        let _ = self.store.save(self.entry);
    }
}
