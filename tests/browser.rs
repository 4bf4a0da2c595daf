//! report.html in a real browser: headless Chromium opens the report of the bundled Iwasawa
//! run offline, through the DevTools protocol on a pipe, and the test fails on any console
//! error, uncaught exception, failed load or request that leaves the file. It also clicks a
//! table header and types in a filter box, and saves a screenshot beside the run's output.
//!
//! Skipped, with a message, when no Chromium is installed; with `CI=true` that fails instead,
//! naming Chromium (`.ci/run` installs it).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{collateral, require_program, root};

/// Guard against a hung browser; not a performance assertion.
const DEADLINE: Duration = Duration::from_secs(120);

/// The Chromium binary: `$COLLATERAL_CHROMIUM`, else the first of the usual names on PATH.
pub(crate) fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("COLLATERAL_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// What the browser tests need Chromium for, and how to get it.
pub(crate) const CHROMIUM_WHY: &str = "the browser tests open report.html in headless \
     Chromium; install it (`apt-get install chromium`, as .ci/run does) or set \
     COLLATERAL_CHROMIUM to its path";

/// Flags for a headless, offline, throw-away browser.
pub(crate) fn base_flags(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        // Any host lookup fails: a request that leaves the machine cannot succeed silently.
        // Loopback stays reachable for `collateral serve`'s page (tests/serve.rs).
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

/// A browser driven over `--remote-debugging-pipe` (fd 3: commands in, fd 4: events out,
/// NUL-terminated JSON).
pub(crate) struct Browser {
    child: Child,
    commands: ChildStdin,
    events: Receiver<Value>,
    next_id: u64,
    /// Every event received so far, for the checks.
    pub(crate) log: Vec<Value>,
}

impl Browser {
    fn launch(binary: &Path, profile: &Path) -> Browser {
        // The shell moves our pipes to fds 3 and 4 and gives the browser /dev/null as stdio.
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("exec \"$0\" \"$@\" 3<&0 4>&1 0</dev/null 1>/dev/null 2>/dev/null")
            .arg(binary)
            .args(base_flags(profile))
            .arg("--remote-debugging-pipe")
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("start Chromium");
        let commands = child.stdin.take().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, events) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(out);
            let mut buf = Vec::new();
            while reader
                .read_until(0, &mut buf)
                .map(|n| n > 0)
                .unwrap_or(false)
            {
                buf.pop();
                if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
                buf.clear();
            }
        });
        Browser {
            child,
            commands,
            events,
            next_id: 0,
            log: Vec::new(),
        }
    }

    /// Sends a command and waits for its answer, keeping the events that arrive meanwhile.
    pub(crate) fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .expect("send to Chromium: it failed to start or exited");
        self.commands.flush().unwrap();
        let until = Instant::now() + DEADLINE;
        loop {
            let v = self
                .events
                .recv_timeout(until.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| {
                    panic!("Chromium did not answer {method}: it failed to start or hung")
                });
            if v["id"].as_u64() == Some(id) {
                assert!(v.get("error").is_none(), "{method} failed: {v}");
                return v["result"].clone();
            }
            self.log.push(v);
        }
    }

    /// Waits for an event by name.
    fn wait_for(&mut self, method: &str) {
        if self.log.iter().any(|e| e["method"] == method) {
            return;
        }
        let until = Instant::now() + DEADLINE;
        loop {
            let v = self
                .events
                .recv_timeout(until.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| {
                    panic!("no {method} from Chromium: it failed to start or hung")
                });
            let found = v["method"] == method;
            self.log.push(v);
            if found {
                return;
            }
        }
    }

    /// Evaluates an expression in the page and returns its value.
    pub(crate) fn eval(&mut self, session: &str, expression: &str) -> Value {
        let r = self.call(
            Some(session),
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(r.get("exceptionDetails").is_none(), "{expression}: {r}");
        r["result"]["value"].clone()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Problems a page load must not have: console errors and warnings, exceptions, error log
/// entries (failed resource loads land there), failed loads and requests that leave the file.
fn problems(events: &[Value], page: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in events {
        let p = &e["params"];
        match e["method"].as_str().unwrap_or_default() {
            "Runtime.consoleAPICalled"
                if matches!(p["type"].as_str(), Some("error" | "warning" | "assert")) =>
            {
                out.push(format!("console {}: {}", p["type"], p["args"]))
            }
            "Runtime.exceptionThrown" => out.push(format!("exception: {}", p["exceptionDetails"])),
            "Log.entryAdded"
                if matches!(p["entry"]["level"].as_str(), Some("error" | "warning")) =>
            {
                out.push(format!(
                    "log {}: {}",
                    p["entry"]["level"], p["entry"]["text"]
                ))
            }
            "Network.loadingFailed" => out.push(format!("failed load: {p}")),
            "Network.requestWillBeSent" => {
                let url = p["request"]["url"].as_str().unwrap_or_default();
                if url != page && !url.starts_with("data:") {
                    out.push(format!("request outside the report: {url}"));
                }
            }
            _ => {}
        }
    }
    out
}

/// Opens `url` in a fresh browser and waits for its load event; returns the browser (its log
/// holds the page's events) and the page session.
pub(crate) fn open(binary: &Path, profile: &Path, url: &str) -> (Browser, String) {
    let mut b = Browser::launch(binary, profile);
    let target = b.call(None, "Target.createTarget", json!({"url": "about:blank"}));
    let attached = b.call(
        None,
        "Target.attachToTarget",
        json!({"targetId": target["targetId"], "flatten": true}),
    );
    let session = attached["sessionId"].as_str().unwrap().to_string();
    for domain in [
        "Runtime.enable",
        "Log.enable",
        "Network.enable",
        "Page.enable",
    ] {
        b.call(Some(&session), domain, json!({}));
    }
    b.log.clear();
    b.call(Some(&session), "Page.navigate", json!({"url": url}));
    b.wait_for("Page.loadEventFired");
    (b, session)
}

/// The checks above must see what they look for: a page with each kind of problem.
#[test]
fn browser_checks_catch_errors_failed_loads_and_outside_requests() {
    let Some(binary) = require_program(
        chromium(),
        "Chromium",
        "browser_checks_catch_errors_failed_loads_and_outside_requests",
        CHROMIUM_WHY,
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>t</title></head><body>\
         <img src=\"missing.png\"><script src=\"https://example.invalid/x.js\"></script>\
         <script>console.error('boom'); undefinedFunction();</script></body></html>",
    )
    .unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let (mut b, _) = open(&binary, &dir.path().join("profile"), &url);
    let found = problems(&b.log, &url);
    let _ = b.call(None, "Browser.close", json!({}));
    let has = |what: &str| found.iter().any(|f| f.contains(what));
    assert!(has("console \"error\""), "{found:#?}");
    assert!(has("exception"), "{found:#?}");
    assert!(has("missing.png"), "{found:#?}");
    assert!(
        has("request outside the report: https://example.invalid/x.js"),
        "{found:#?}"
    );
}

#[test]
fn report_opens_offline_in_headless_chromium_without_errors() {
    let Some(binary) = require_program(
        chromium(),
        "Chromium",
        "report_opens_offline_in_headless_chromium_without_errors",
        CHROMIUM_WHY,
    ) else {
        return;
    };
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-test");
    let _ = std::fs::remove_dir_all(&base);
    let out = base.join("iwasawa2022");
    collateral()
        .args(["run", "assays/iwasawa2022/assay.toml", "-q", "-o"])
        .arg(&out)
        .current_dir(root())
        .assert()
        .success();
    let report = out.join("report.html").canonicalize().unwrap();
    let url = format!("file://{}", report.display());

    let (mut b, session) = open(&binary, &base.join("profile"), &url);
    // The page is what the run wrote: every figure rendered with a size, every table filled.
    let figures = b.eval(
        &session,
        "Array.from(document.querySelectorAll('figure svg')).filter(s => s.getBBox().width > 0).length",
    );
    let svg_files = std::fs::read_to_string(&report)
        .unwrap()
        .matches("<svg")
        .count();
    assert_eq!(figures, json!(svg_files));
    let fit_rows = b.eval(
        &session,
        "document.querySelectorAll('#fits-table tbody tr').length",
    );
    assert_eq!(
        fit_rows,
        json!(crate::common::read_csv(&out.join("fits.csv")).len())
    );
    // Sorting: click the q_value header of the shifts table twice (ascending, descending).
    let sorted = b.eval(
        &session,
        r#"(() => {
            const t = document.getElementById('shifts-table');
            const i = Array.from(t.tHead.rows[0].cells).findIndex(c => c.textContent === 'q_value');
            const th = t.tHead.rows[0].cells[i];
            const col = () => Array.from(t.tBodies[0].rows).map(r => r.cells[i].getAttribute('data-value'))
                .filter(v => v !== null).map(Number);
            th.click(); const up = col(); th.click(); const down = col();
            const asc = a => a.every((x, k) => k === 0 || a[k - 1] <= x);
            return [up.length > 1, asc(up), asc(down.slice().reverse())];
        })()"#,
    );
    assert_eq!(sorted, json!([true, true, true]));
    // Filtering: typing a drug name hides every fit row of other drugs.
    let filtered = b.eval(
        &session,
        r#"(() => {
            const box = document.querySelector('input.filter[data-table="fits-table"]');
            box.value = 'NFLX'; box.dispatchEvent(new Event('input'));
            const rows = Array.from(document.querySelectorAll('#fits-table tbody tr'));
            const shown = rows.filter(r => r.style.display !== 'none');
            return [shown.length, shown.every(r => r.textContent.includes('NFLX'))];
        })()"#,
    );
    let nflx = crate::common::read_csv(&out.join("fits.csv"))
        .iter()
        .filter(|f| f.values().any(|v| v.contains("NFLX")))
        .count();
    assert_eq!(filtered, json!([nflx, true]));
    let found = problems(&b.log, &url);
    let _ = b.call(None, "Browser.close", json!({}));
    drop(b);
    assert!(found.is_empty(), "report.html in Chromium: {found:#?}");

    // A screenshot of the top of the report beside the run's output, for people to look at.
    let shot = out.join("report-screenshot.png");
    let status = Command::new(&binary)
        .args(base_flags(&base.join("profile-shot")))
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1400,2400")
        .arg(&url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run chromium for the screenshot");
    assert!(status.success());
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let _ = writeln!(std::io::stderr(), "report screenshot: {}", shot.display());
}

#[test]
fn summary_report_of_a_large_screen_opens_offline_without_errors() {
    let Some(binary) = require_program(
        chromium(),
        "Chromium",
        "summary_report_of_a_large_screen_opens_offline_without_errors",
        CHROMIUM_WHY,
    ) else {
        return;
    };
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-test-summary");
    let _ = std::fs::remove_dir_all(&base);
    // 12 lines × 200 drugs: 2,400 curves, past the full report's 2,000.
    let sim = base.join("sim");
    collateral()
        .args([
            "simulate",
            "-q",
            "--seed",
            "5",
            "--lines",
            "12",
            "--drugs",
            "200",
            "--plate-size",
            "384",
            "-o",
        ])
        .arg(&sim)
        .assert()
        .success();
    let out = base.join("run");
    collateral()
        .args(["run", "-q"])
        .arg(sim.join("assay.toml"))
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let report = out.join("report.html").canonicalize().unwrap();
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("<p class=\"mode\">A large screen"),
        "not a summary"
    );
    let url = format!("file://{}", report.display());
    let (mut b, session) = open(&binary, &base.join("profile"), &url);
    // Every inline figure renders with a size, the raster heatmap's embedded image included.
    let figures = b.eval(
        &session,
        "Array.from(document.querySelectorAll('figure svg')).filter(s => s.getBBox().width > 0).length",
    );
    assert_eq!(figures, json!(html.matches("<svg").count()));
    let raster = b.eval(
        &session,
        "Array.from(document.querySelectorAll('figure[data-file=\"plots/heatmap.svg\"] image')).map(i => i.getBBox().width > 0)",
    );
    assert_eq!(raster, json!([true]));
    // The links to every grid are on the page (folded), relative to it.
    let grid_links = b.eval(
        &session,
        "Array.from(document.querySelectorAll('details.links a')).filter(a => a.getAttribute('href').startsWith('plots/dose_response/')).length",
    );
    let grids = std::fs::read_dir(out.join("plots/dose_response"))
        .unwrap()
        .count();
    assert_eq!(grid_links, json!(grids));
    let found = problems(&b.log, &url);
    let _ = b.call(None, "Browser.close", json!({}));
    drop(b);
    assert!(
        found.is_empty(),
        "summary report.html in Chromium: {found:#?}"
    );
}
