//! report.html in a real browser: headless Chromium opens the report of the bundled Iwasawa
//! run offline, through the DevTools protocol on a pipe, and the test fails on any console
//! error, uncaught exception, failed load or request that leaves the file. It also clicks a
//! table header and types in a filter box, and saves a screenshot beside the run's output.
//! The interactive report (docs/report.md) is driven with the browser's own mouse and keyboard
//! events: tooltips over heatmap cells, network edges and dose-response points, a heatmap click
//! opening its panel, sorting, filtering and the CSV and SVG downloads; and the marks the report
//! embeds are checked against what the figures draw.
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
                // blob: is a download the page made of its own data (a table's CSV, a figure).
                if url != page && !url.starts_with("data:") && !url.starts_with("blob:") {
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

/// Moves the mouse to, or clicks at, a point of the page's viewport, as a person would: the
/// browser's own input events, not events made up in the page.
pub(crate) fn mouse(b: &mut Browser, session: &str, at: &Value, click: bool) {
    let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    let event =
        |kind: &str| json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1});
    b.call(
        Some(session),
        "Input.dispatchMouseEvent",
        event("mouseMoved"),
    );
    if click {
        b.call(
            Some(session),
            "Input.dispatchMouseEvent",
            event("mousePressed"),
        );
        b.call(
            Some(session),
            "Input.dispatchMouseEvent",
            event("mouseReleased"),
        );
    }
}

/// Page functions for the pointer tests: `__marks(file)` is a figure's embedded marks,
/// `__at(file, mark)` the viewport point of a mark's centre after scrolling the figure into view.
const POINTER_HELPERS: &str = r#"(() => {
    const fig = f => document.querySelector(`figure[data-file="${f}"]`);
    window.__marks = f => JSON.parse(fig(f).querySelector('script.marks').textContent);
    window.__at = (f, m) => {
        const img = fig(f).querySelector(':scope > svg');
        img.scrollIntoView({block: 'center'});
        const r = img.getBoundingClientRect(), vb = img.viewBox.baseVal;
        const c = m.r ? [m.r[0] + m.r[2] / 2, m.r[1] + m.r[3] / 2] : m.d ? [m.d[0], m.d[1]]
            : [(m.s[0] + m.s[2]) / 2, (m.s[1] + m.s[3]) / 2];
        return [r.left + c[0] * r.width / vb.width, r.top + c[1] * r.height / vb.height];
    };
    return true;
})()"#;

/// The numbers of a tooltip line, in order (`-2.31 (95% CI -3.02 to -1.60)` → three).
fn numbers_in(text: &str) -> Vec<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | '+')))
        .filter_map(|w| w.trim_matches(|c| c == '.' || c == 'e').parse::<f64>().ok())
        .collect()
}

/// The interactive report, by pointer and keyboard in headless Chromium: hovering a heatmap
/// cell shows that shift's numbers from shifts.csv, clicking it opens the line × drug's
/// dose-response panel, network edges and dose-response points answer the pointer, a click on
/// a table header reorders the rows, typing in a filter hides rows, the CSV and SVG buttons
/// download what the page shows; no console error. Saves a screenshot with the panel open.
#[test]
fn report_answers_the_pointer_in_headless_chromium() {
    let Some(binary) = require_program(
        chromium(),
        "Chromium",
        "report_answers_the_pointer_in_headless_chromium",
        CHROMIUM_WHY,
    ) else {
        return;
    };
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-pointer");
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
    let (mut b, s) = open(&binary, &base.join("profile"), &url);
    let s = s.as_str();
    b.call(
        Some(s),
        "Emulation.setDeviceMetricsOverride",
        json!({"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": false}),
    );
    let downloads = base.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    b.call(
        None,
        "Browser.setDownloadBehavior",
        json!({"behavior": "allow", "downloadPath": downloads.to_str().unwrap()}),
    );
    assert_eq!(b.eval(s, POINTER_HELPERS), json!(true));

    // Hover a heatmap cell with a CI: the tooltip shows its line, drug, log2 FC, CI, q, call.
    let shifts = crate::common::read_csv(&out.join("shifts.csv"));
    let cell = b.eval(
        s,
        "__marks('plots/heatmap.svg').m.find(m => m.t[1].includes('CI') && m.t[3].includes('collateral'))",
    );
    let key = cell["k"].as_str().unwrap().to_string();
    let (line, drug) = key.split_once('\t').unwrap();
    let row = shifts
        .iter()
        .find(|r| r["resistant_line"] == line && r["drug"] == drug && r["replicate"].is_empty())
        .expect("the cell's shift in shifts.csv");
    let at = b.eval(s, &format!("__at('plots/heatmap.svg', {cell})"));
    mouse(&mut b, s, &at, false);
    let tip = b.eval(
        s,
        "document.getElementById('tip').hidden ? null : document.getElementById('tip').innerText",
    );
    let tip = tip
        .as_str()
        .expect("a tooltip over the heatmap cell")
        .to_string();
    assert!(tip.contains(&format!("{line} × {drug}")), "{tip}");
    assert!(tip.contains("collateral sensitive"), "{tip}");
    let fc_line = tip.lines().find(|l| l.contains("log2 FC")).unwrap();
    let shown = numbers_in(&fc_line.split(':').nth(1).unwrap().replace("95%", ""));
    let q_line = tip.lines().find(|l| l.starts_with("q = ")).unwrap();
    let want = [
        crate::common::num(row, "log2_fc"),
        crate::common::num(row, "ci_low"),
        crate::common::num(row, "ci_high"),
        crate::common::num(row, "q_value"),
    ];
    let got = [shown[0], shown[1], shown[2], numbers_in(q_line)[0]];
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 0.006 * w.abs(),
            "{tip}: {got:?} vs shifts.csv {want:?}"
        );
    }

    // Click it: the panel of that line × drug opens, cut out of the line's grid.
    mouse(&mut b, s, &at, true);
    let panel = b.eval(
        s,
        "(() => { const v = document.getElementById('panel-view'); if (v.hidden) return null;
            const svg = v.querySelector('svg.panel');
            return [v.querySelector('b').textContent, svg && svg.getAttribute('data-key'),
                svg && svg.getAttribute('viewBox'), svg && svg.getBoundingClientRect().width > 100]; })()",
    );
    let grid_panel = b.eval(
        s,
        &format!(
            "(() => {{ for (const f of document.querySelectorAll('figure[data-file^=\"plots/dose_response/\"]')) {{
                const p = JSON.parse(f.querySelector('script.marks').textContent).p.find(p => p.k === {});
                if (p) return p.r.join(' '); }} return null; }})()",
            json!(key)
        ),
    );
    assert!(grid_panel.is_string(), "no inline panel for {key}");
    assert_eq!(
        panel,
        json!([format!("{line} × {drug}"), key, grid_panel, true])
    );
    std::thread::sleep(Duration::from_millis(200));
    let shot = b.call(Some(s), "Page.captureScreenshot", json!({"format": "png"}));
    let shot_path = base.join("report-panel-screenshot.png");
    std::fs::write(
        &shot_path,
        crate::serve::base64(shot["data"].as_str().unwrap()),
    )
    .unwrap();
    let _ = writeln!(
        std::io::stderr(),
        "report panel screenshot: {}",
        shot_path.display()
    );
    b.call(
        Some(s),
        "Input.dispatchKeyEvent",
        json!({"type": "keyDown", "key": "Escape", "code": "Escape", "windowsVirtualKeyCode": 27}),
    );
    assert_eq!(
        b.eval(s, "document.getElementById('panel-view').hidden"),
        json!(true)
    );

    // A network edge: its drugs, median log2 FC and the lines behind it.
    let edge = b.eval(s, "__marks('plots/network.svg').m[0]");
    let at = b.eval(s, &format!("__at('plots/network.svg', {edge})"));
    mouse(&mut b, s, &at, false);
    let tip = b.eval(s, "document.getElementById('tip').innerText");
    let tip = tip.as_str().unwrap();
    assert!(tip.starts_with(edge["t"][0].as_str().unwrap()), "{tip}");
    assert!(
        tip.contains("median log2 FC") && tip.contains("q = "),
        "{tip}"
    );

    // A dose-response point (one with no other within 8 px): its dose and viability.
    let dot = b.eval(
        s,
        "(() => { const f = document.querySelector('figure[data-file^=\"plots/dose_response/\"]').getAttribute('data-file');
            const ms = __marks(f).m;
            const m = ms.find(m => ms.every(o => o === m || Math.hypot(o.d[0] - m.d[0], o.d[1] - m.d[1]) > 8));
            return [f, m]; })()",
    );
    let at = b.eval(s, &format!("__at({}, {})", dot[0], dot[1]));
    mouse(&mut b, s, &at, false);
    let tip = b.eval(s, "document.getElementById('tip').innerText");
    let want: Vec<&str> = dot[1]["t"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tip.as_str().unwrap().lines().collect::<Vec<_>>(), want);
    assert!(
        want[1].starts_with("dose ") && want[2].starts_with("viability "),
        "{want:?}"
    );

    // A click on the fits table's ic50 header sorts by it; typing in the filter hides rows.
    let header = b.eval(
        s,
        "(() => { const t = document.getElementById('fits-table'); t.scrollIntoView({block: 'start'});
            const th = Array.from(t.tHead.rows[0].cells).find(c => c.textContent === 'ic50');
            const r = th.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()",
    );
    let column = "(() => { const t = document.getElementById('fits-table');
        const i = Array.from(t.tHead.rows[0].cells).findIndex(c => c.textContent === 'ic50');
        return Array.from(t.tBodies[0].rows).map(r => r.cells[i].getAttribute('data-value')).filter(v => v !== null).map(Number); })()";
    let before = b.eval(s, column);
    mouse(&mut b, s, &header, true);
    let after = b.eval(s, column);
    let after_values: Vec<f64> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_ne!(before, after, "a click on the header changed no order");
    assert!(
        after_values.windows(2).all(|w| w[0] <= w[1]),
        "not ascending after one click"
    );
    b.eval(
        s,
        "document.querySelector('input.filter[data-table=\"fits-table\"]').focus(); true",
    );
    b.call(Some(s), "Input.insertText", json!({"text": "NQO"}));
    let shown = b.eval(
        s,
        "Array.from(document.querySelectorAll('#fits-table tbody tr')).filter(r => r.style.display !== 'none').map(r => r.textContent.includes('NQO'))",
    );
    let total = crate::common::read_csv(&out.join("fits.csv")).len();
    let shown: Vec<bool> = serde_json::from_value(shown).unwrap();
    assert!(!shown.is_empty() && shown.len() < total && shown.iter().all(|x| *x));

    // The CSV button downloads the rows shown; a figure's button its SVG.
    b.eval(s, "document.querySelector('input.filter[data-table=\"fits-table\"] + button.csv').click(); true");
    b.eval(s, "document.querySelector('figure[data-file=\"plots/network.svg\"] button.download').click(); true");
    let until = Instant::now() + Duration::from_secs(20);
    let (csv, svg) = (
        downloads.join("fits-table.csv"),
        downloads.join("network.svg"),
    );
    while !(csv.is_file() && svg.is_file()) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
    let rows = crate::common::read_csv(&csv);
    assert_eq!(rows.len(), shown.len());
    assert!(rows.iter().all(|r| r["drug"] == "NQO"));
    let fits = crate::common::read_csv(&out.join("fits.csv"));
    let first = fits
        .iter()
        .find(|f| f["cell_line"] == rows[0]["cell_line"] && f["drug"] == "NQO")
        .unwrap();
    assert_eq!(
        rows[0]["ic50"], first["ic50"],
        "the exact CSV value, not the rounded one"
    );
    let drawn = std::fs::read_to_string(out.join("plots/network.svg")).unwrap();
    let saved = std::fs::read_to_string(&svg).unwrap();
    assert!(saved.starts_with("<?xml"));
    assert_eq!(
        saved.matches("<path").count() + saved.matches("<polyline").count(),
        drawn.matches("<path").count() + drawn.matches("<polyline").count()
    );

    let found = problems(&b.log, &url);
    let _ = b.call(None, "Browser.close", json!({}));
    assert!(found.is_empty(), "report.html in Chromium: {found:#?}");
}

/// The marks a report embeds sit on what the figures draw: every heatmap cell's rectangle is a
/// cell rectangle of `plots/heatmap.svg` and there is one per pooled shift, every
/// dose-response point is a mean's circle of its grid, every panel lies inside its grid, and
/// every network edge starts where an arrow of `plots/network.svg` starts. No browser needed.
#[test]
fn report_marks_sit_on_what_the_figures_draw() {
    let out = crate::common::run_bundled("assays/dhawan2017/assay.toml");
    let dir = out.path();
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let marks_of = |file: &str| -> Value {
        let at = html
            .find(&format!("<figure data-file=\"{file}\">"))
            .unwrap_or_else(|| panic!("{file} not inline"));
        let end = at + html[at..].find("</figure>").unwrap();
        let open = "<script type=\"application/json\" class=\"marks\">";
        let start = at + html[at..end].find(open).expect("marks") + open.len();
        let stop = start + html[start..].find("</script>").unwrap();
        serde_json::from_str(&html[start..stop]).unwrap()
    };
    let svg = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap();
    let n = |v: &Value| v.as_f64().unwrap();

    let heatmap = svg("plots/heatmap.svg");
    let cells = marks_of("plots/heatmap.svg");
    let cells = cells["m"].as_array().unwrap();
    let pooled = crate::common::read_csv(&dir.join("shifts.csv"))
        .into_iter()
        .filter(|r| r["replicate"].is_empty())
        .count();
    assert_eq!(cells.len(), pooled);
    for m in cells {
        let r = &m["r"];
        let rect = format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
            n(&r[0]),
            n(&r[1]),
            n(&r[2]),
            n(&r[3])
        );
        assert!(heatmap.contains(&rect), "{rect} not drawn: {m}");
        let (line, drug) = m["k"].as_str().unwrap().split_once('\t').unwrap();
        assert!(m["t"][0].as_str().unwrap().ends_with(&format!(" × {drug}")));
        assert!(m["t"][0].as_str().unwrap().starts_with(line));
    }

    let grids: Vec<String> = std::fs::read_dir(dir.join("plots/dose_response"))
        .unwrap()
        .map(|e| {
            format!(
                "plots/dose_response/{}",
                e.unwrap().file_name().to_string_lossy()
            )
        })
        .collect();
    assert!(!grids.is_empty());
    for file in &grids {
        let drawn = svg(file);
        let (w, h) = {
            let head = &drawn[..drawn.find('>').unwrap()];
            let attr = |a: &str| -> f64 {
                let s = &head[head.find(&format!(" {a}=\"")).unwrap() + a.len() + 3..];
                s[..s.find('"').unwrap()].parse().unwrap()
            };
            (attr("width"), attr("height"))
        };
        let marks = marks_of(file);
        let dots = marks["m"].as_array().unwrap();
        assert!(!dots.is_empty(), "{file} has no points");
        for m in dots {
            let d = &m["d"];
            let circle = format!("<circle cx=\"{}\" cy=\"{}\" r=\"3\"", n(&d[0]), n(&d[1]));
            assert!(drawn.contains(&circle), "{file}: {circle} not drawn: {m}");
            assert!(m["t"][1].as_str().unwrap().starts_with("dose "), "{m}");
        }
        for p in marks["p"].as_array().unwrap() {
            let r = &p["r"];
            assert!(n(&r[0]) >= 0.0 && n(&r[1]) >= 0.0, "{p}");
            assert!(n(&r[0]) + n(&r[2]) <= w && n(&r[1]) + n(&r[3]) <= h, "{p}");
        }
    }

    let network = svg("plots/network.svg");
    let edges = marks_of("plots/network.svg");
    let edges = edges["m"].as_array().unwrap();
    assert!(!edges.is_empty(), "the Dhawan network has edges");
    for m in edges {
        let s = &m["s"];
        // The mark keeps a tenth of a pixel; the drawing rounds to whole pixels.
        let near = |v: f64| [v.floor() as i64, v.ceil() as i64];
        let starts = near(n(&s[0])).iter().any(|x| {
            near(n(&s[1]))
                .iter()
                .any(|y| network.contains(&format!("points=\"{x},{y} ")))
        });
        assert!(starts, "edge {m} starts where no arrow does");
    }
}
