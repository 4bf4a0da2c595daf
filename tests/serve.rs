//! `collateral serve` through its HTTP API, as a LIMS script would use it: the binary started
//! on a free loopback port with a token and a data folder of its own, spoken to with a few
//! lines of HTTP/1.1 (no client library): uploads run to `done` with the same `shifts.csv` as
//! `collateral run`, four at once; the token, the upload limit, file names and assay paths
//! that lead outside, broken inputs and a server killed mid-run are all handled.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::collateral;

const TOKEN: &str = "test-token-0123";

/// A running `collateral serve`, stopped when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_collateral"));
        cmd.args(["serve", "--port", "0", "--token", TOKEN, "--data"])
            .arg(data)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("starting collateral serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let rest = line
            .trim()
            .strip_prefix("http://")
            .expect("the printed address");
        let (addr, token) = rest.split_once("/?token=").unwrap();
        assert_eq!(token, TOKEN);
        assert!(
            addr.starts_with("127.0.0.1:"),
            "loopback by default: {addr}"
        );
        Server {
            child,
            addr: addr.to_string(),
        }
    }

    /// Sends one request; returns the status, the headers (lowercase names) and the body.
    fn request(&self, method: &str, path: &str, headers: &[(&str, String)], body: &[u8]) -> Reply {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (k, v) in headers {
            head += &format!("{k}: {v}\r\n");
        }
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        {
            head += &format!("Content-Length: {}\r\n", body.len());
        }
        head += "\r\n";
        s.write_all(head.as_bytes()).unwrap();
        // The server may answer (413) before the whole body is sent and close.
        let _ = s.write_all(body);
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        Reply::parse(&raw)
    }

    fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[auth()], b"")
    }

    fn upload(&self, files: &[(&str, Vec<u8>)], fields: &[(&str, &str)]) -> Reply {
        let (ctype, body) = multipart(files, fields);
        self.request(
            "POST",
            "/api/analyses",
            &[auth(), ("Content-Type", ctype)],
            &body,
        )
    }

    /// Polls an analysis until it is done or failed.
    fn wait(&self, id: &str) -> Value {
        let t = Instant::now();
        loop {
            let r = self.get(&format!("/api/analyses/{id}")).json();
            if r["state"] == "done" || r["state"] == "failed" {
                return r;
            }
            assert!(
                t.elapsed() < Duration::from_secs(300),
                "analysis {id} never finished: {r}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn auth() -> (&'static str, String) {
    ("Authorization", format!("Bearer {TOKEN}"))
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn parse(raw: &[u8]) -> Reply {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head");
        let head = String::from_utf8_lossy(&raw[..end]);
        let mut lines = head.lines();
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut body = raw[end + 4..].to_vec();
        if headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v == "chunked")
        {
            body = dechunk(&body);
        }
        Reply {
            status,
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let n = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 4 + n..];
    }
}

fn multipart(files: &[(&str, Vec<u8>)], fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "----collateral-test-boundary-7d1";
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A simulated screen's three files.
fn simulated(dir: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let sim = dir.join("sim");
    collateral()
        .args(["simulate", "--seed", "5", "--out"])
        .arg(&sim)
        .assert()
        .success();
    ["wells.csv", "lines.csv", "assay.toml"]
        .into_iter()
        .map(|f| (f, std::fs::read(sim.join(f)).unwrap()))
        .collect()
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(all_files(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn serve_runs_an_upload_like_collateral_run_and_four_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let files = simulated(tmp.path());
    let server = Server::start(&tmp.path().join("data"), &[], &[]);
    let t = Instant::now();
    let created = server.upload(&files, &[]);
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let id = created.json()["id"].as_str().unwrap().to_string();
    let done = server.wait(&id);
    eprintln!(
        "serve: simulated screen uploaded to done in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(done["state"], "done", "{done}");
    assert!(done["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "report.html"));
    let stages: Vec<&str> = done["progress"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert!(stages.contains(&"fitting"), "{stages:?}");
    // The report's policy allows its own inline script and style by their hashes, nothing
    // else inline and nothing from outside.
    let report = server.get(&format!("/api/analyses/{id}/files/report.html"));
    assert_eq!(report.status, 200);
    let policy = report.header("content-security-policy").unwrap();
    let (script, style) = collateral::report::inline_sources();
    assert!(
        policy.starts_with("default-src 'none'")
            && policy.contains(&format!("script-src {script};"))
            && policy.contains(&format!("style-src {style};"))
            && !policy.contains("unsafe-inline"),
        "{policy}"
    );
    let page = String::from_utf8_lossy(&report.body);
    assert!(page.contains(&format!("<script>{}</script>", collateral::report::SCRIPT)));
    assert!(page.contains(&format!("<style>{}</style>", collateral::report::CSS)));
    let shifts = server.get(&format!("/api/analyses/{id}/files/shifts.csv"));
    assert_eq!(shifts.status, 200);
    assert!(shifts
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));

    let sim = tmp.path().join("sim");
    collateral()
        .args(["run", "--quiet"])
        .arg(sim.join("assay.toml"))
        .arg("--out")
        .arg(tmp.path().join("cli"))
        .assert()
        .success();
    let cli = std::fs::read(tmp.path().join("cli/shifts.csv")).unwrap();
    assert!(
        shifts.body == cli,
        "shifts.csv differs from `collateral run`'s"
    );

    // Four at once: all finish (two run, two wait as queued).
    let ids: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| server.upload(&files, &[])))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().json()["id"].as_str().unwrap().to_string())
            .collect()
    });
    for id in &ids {
        let r = server.wait(id);
        assert_eq!(r["state"], "done", "{r}");
        assert!(
            server
                .get(&format!("/api/analyses/{id}/files/shifts.csv"))
                .body
                == cli
        );
    }
    let history = server.get("/api/analyses").json();
    assert_eq!(history.as_array().unwrap().len(), 5);
    let zip = server.get(&format!("/api/analyses/{id}/zip"));
    assert_eq!((zip.status, &zip.body[..2]), (200, &b"PK"[..]));
    assert_eq!(
        server
            .request("DELETE", &format!("/api/analyses/{id}"), &[auth()], b"")
            .status,
        204
    );
    assert_eq!(server.get(&format!("/api/analyses/{id}")).status, 404);
    assert!(!tmp.path().join("data").join(&id).exists());
}

#[test]
fn serve_asks_for_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[], &[]);
    for path in [
        "/",
        "/app.js",
        "/api/analyses",
        "/api/analyses/x/files/shifts.csv",
    ] {
        let r = server.request("GET", path, &[], b"");
        assert_eq!(r.status, 401, "{path}");
        assert!(r.header("content-security-policy").is_some());
    }
    let wrong = server.request(
        "GET",
        "/api/analyses",
        &[("Authorization", "Bearer nope".into())],
        b"",
    );
    assert_eq!(wrong.status, 401);
    let post = server.request("POST", "/api/analyses", &[], b"");
    assert_eq!(post.status, 401);
    // `?token=` once: a cookie, and the page without the token in its address.
    let first = server.request("GET", &format!("/?token={TOKEN}"), &[], b"");
    assert_eq!(first.status, 303);
    let cookie = first
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = server.request("GET", "/", &[("Cookie", cookie)], b"");
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.starts_with("default-src 'none'") && !csp.contains("http"),
        "{csp}"
    );
}

#[test]
fn serve_writes_nothing_outside_and_reads_nothing_outside() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&data, &[], &[]);
    for name in [
        "../escaped.csv",
        "/tmp/escaped-collateral.csv",
        "a/../../escaped.csv",
        ".hidden",
        "..\\escaped.csv",
    ] {
        let r = server.upload(&[(name, b"x".to_vec()), ("wells.csv", b"y".to_vec())], &[]);
        assert_eq!(
            r.status,
            400,
            "{name}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    assert!(!tmp.path().join("escaped.csv").exists());
    assert!(!Path::new("/tmp/escaped-collateral.csv").exists());
    assert!(all_files(&data).is_empty(), "{:?}", all_files(&data));

    // An assay naming files outside its folder: refused with that problem, never run.
    let secret = tmp.path().join("secret.csv");
    std::fs::write(&secret, "plate,well\n").unwrap();
    let assay = format!(
        "name = \"x\"\nconcentration_unit = \"uM\"\nwells = \"{}\"\nlines = \"../lines.csv\"\n",
        secret.display()
    );
    let r = server.upload(&[("assay.toml", assay.into_bytes())], &[]);
    assert_eq!(r.status, 201);
    let done = server.wait(r.json()["id"].as_str().unwrap());
    assert_eq!(done["state"], "failed");
    let problems = done["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{done}");
    assert_eq!(problems[0]["file"], "assay.toml");
    assert_eq!(problems[0]["line"], 3);
    assert!(problems[0]["message"]
        .as_str()
        .unwrap()
        .contains("outside the analysis folder"));
    assert!(
        done["progress"]["stages"].as_array().unwrap().is_empty(),
        "it never ran"
    );

    // A layout including a file outside.
    let layout = "[meta]\ninclude = \"../../../etc/layout.toml\"\n[expt]\ncell_line = \"P\"\n";
    let assay = "name = \"x\"\nconcentration_unit = \"uM\"\n[[plates]]\nfile = \"reads/*.csv\"\nlayout = \"layout.toml\"\n";
    let r = server.upload(
        &[
            ("assay.toml", assay.into()),
            ("layout.toml", layout.into()),
            ("reads/p1.csv", b"1".to_vec()),
        ],
        &[],
    );
    let done = server.wait(r.json()["id"].as_str().unwrap());
    assert_eq!(done["state"], "failed");
    assert_eq!(done["problems"][0]["file"], "layout.toml");

    // `/files/` paths that leave the output folder: 404.
    let id = r.json()["id"].as_str().unwrap().to_string();
    for path in [
        "..%2Fanalysis.json",
        "../analysis.json",
        "%2Fetc%2Fpasswd",
        "..%2F..%2F..%2Fsecret.csv",
        ".collateral.lock",
    ] {
        let r = server.get(&format!("/api/analyses/{id}/files/{path}"));
        assert_eq!(r.status, 404, "{path}");
    }
}

#[test]
fn serve_refuses_an_upload_over_the_limit_before_reading_it() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &["--max-upload-mb", "1"], &[]);
    // Declared too long: refused from the header, the body never sent.
    let r = server.request(
        "POST",
        "/api/analyses",
        &[
            auth(),
            ("Content-Type", "multipart/form-data; boundary=x".into()),
            ("Content-Length", "5000000".into()),
        ],
        b"",
    );
    assert_eq!(r.status, 413);
    // Streamed (chunked) past the limit: refused once the limit is crossed.
    let (ctype, body) = multipart(&[("wells.csv", vec![b'1'; 3 << 20])], &[]);
    let mut chunked = Vec::new();
    for c in body.chunks(1 << 16) {
        chunked.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        chunked.extend_from_slice(c);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let r = server.request(
        "POST",
        "/api/analyses",
        &[
            auth(),
            ("Content-Type", ctype),
            ("Transfer-Encoding", "chunked".into()),
            ("Content-Length", String::new()),
        ],
        &chunked,
    );
    assert_eq!(r.status, 413, "{}", String::from_utf8_lossy(&r.body));
    let analyses: Vec<_> = all_files(tmp.path());
    assert!(analyses.is_empty(), "{analyses:?}");
}

#[test]
fn serve_fails_a_broken_assay_with_located_problems() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(tmp.path(), &[], &[]);
    let wells = "plate,well,cell_line,drug,concentration,role,signal\nP1,A1,P,B,1,sample,100\nP1,Z99,P,B,1,sample,100\n";
    let r = server.upload(
        &[("wells.csv", wells.into())],
        &[("name", "broken"), ("concentration_unit", "uM")],
    );
    assert_eq!(r.status, 201);
    let done = server.wait(r.json()["id"].as_str().unwrap());
    assert_eq!(done["state"], "failed", "{done}");
    let problems = done["problems"].as_array().unwrap();
    let p = problems
        .iter()
        .find(|p| p["well"] == "Z99")
        .expect("the bad well located");
    assert_eq!(p["file"], "wells.csv", "{done}");
    assert_eq!(p["line"], 3, "{done}");
    assert_eq!(p["plate"], "P1", "{done}");
    // The generated assay is there to download.
    let assay = server.get(&format!(
        "/api/analyses/{}/inputs/assay.toml",
        done["id"].as_str().unwrap()
    ));
    assert!(String::from_utf8_lossy(&assay.body).contains("wells = \"wells.csv\""));
    // Nothing to run at all: failed, said why.
    let r = server.upload(&[("notes.txt", b"hello".to_vec())], &[]);
    let done = server.wait(r.json()["id"].as_str().unwrap());
    assert_eq!(done["state"], "failed");
    assert!(done["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("assay.toml"));
}

#[test]
fn serve_marks_a_run_killed_with_the_server_failed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let files = simulated(tmp.path());
    let id = {
        // The run pauses right after taking its output folder's lock; the server dies then.
        let server = Server::start(&data, &[], &[("COLLATERAL_TEST_PAUSE_MS", "60000")]);
        let id = server.upload(&files, &[]).json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        let t = Instant::now();
        while server.get(&format!("/api/analyses/{id}")).json()["state"] != "running" {
            assert!(t.elapsed() < Duration::from_secs(60));
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        id
    };
    let server = Server::start(&data, &[], &[]);
    let r = server.get(&format!("/api/analyses/{id}")).json();
    assert_eq!(r["state"], "failed", "{r}");
    assert!(r["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("server stopped"));
    assert!(!data.join(&id).join("output").exists());
}

/// Decodes standard base64 (the DevTools protocol's screenshots).
pub(crate) fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .map(value)
        .collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (k, d)| n | u32::from(*d) << (18 - 6 * k));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// Evaluates `expression` until it is true (a page that fetches and polls).
fn until(b: &mut crate::browser::Browser, session: &str, expression: &str) {
    let t = Instant::now();
    while b.eval(session, expression) != Value::Bool(true) {
        if t.elapsed() > Duration::from_secs(60) {
            let at = b.eval(
                session,
                "location.href + ' ' + document.body.innerText.slice(0, 300)",
            );
            panic!("never true: {expression} (at {at})");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The page end to end in headless Chromium: files dropped, the form filled, checked, run,
/// the report with its CS map in the frame; then the bundled example run from its button;
/// the history; no console error, no failed load, no request beyond the server. Saves a
/// screenshot. Skipped without Chromium.
#[test]
fn serve_page_runs_a_screen_in_headless_chromium() {
    let Some(binary) = crate::common::require_program(
        crate::browser::chromium(),
        "Chromium",
        "serve_page_runs_a_screen_in_headless_chromium",
        crate::browser::CHROMIUM_WHY,
    ) else {
        return;
    };
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-browser");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let files = simulated(&base);
    let server = Server::start(&base.join("data"), &[], &[]);
    let origin = format!("http://{}/", server.addr);
    let (mut b, s) = crate::browser::open(
        &binary,
        &base.join("profile"),
        &format!("{origin}?token={TOKEN}"),
    );
    let s = s.as_str();
    until(
        &mut b,
        s,
        "location.pathname === '/' && location.search === '' && !!document.getElementById('drop')",
    );

    // Drop the simulated wells and lines tables; the form says the rest.
    let text = |name: &str| {
        let bytes = &files.iter().find(|(n, _)| *n == name).unwrap().1;
        serde_json::to_string(&String::from_utf8_lossy(bytes)).unwrap()
    };
    let drop = format!(
        "(() => {{ const dt = new DataTransfer();
            dt.items.add(new File([{}], 'wells.csv')); dt.items.add(new File([{}], 'lines.csv'));
            document.getElementById('drop').dispatchEvent(new DragEvent('drop', {{dataTransfer: dt, bubbles: true, cancelable: true}}));
            return true; }})()",
        text("wells.csv"),
        text("lines.csv")
    );
    b.eval(s, &drop);
    until(
        &mut b,
        s,
        "document.querySelectorAll('#files tbody tr').length === 2",
    );
    b.eval(s, "document.querySelector('input[name=name]').value = 'dropped screen'; document.getElementById('check').click(); true");
    until(
        &mut b,
        s,
        "!document.getElementById('validation').classList.contains('hidden')",
    );
    let summary = b.eval(s, "document.getElementById('summary').textContent");
    assert!(
        summary
            .as_str()
            .unwrap()
            .contains("dropped screen: 9 plates"),
        "{summary}"
    );
    // The plate maps are drawn: every plate, every well of wells.csv, each naming itself.
    let wells_rows =
        String::from_utf8_lossy(&files.iter().find(|(n, _)| *n == "wells.csv").unwrap().1)
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .count();
    let drawn = b.eval(
        s,
        "[document.querySelectorAll('#plate-maps svg.plate').length,
          document.querySelectorAll('#plate-maps rect[data-well]').length,
          document.querySelector('#plate-maps rect[data-role=\"sample\"] title').textContent]",
    );
    assert_eq!(drawn[0], serde_json::json!(9), "{drawn}");
    assert_eq!(drawn[1], serde_json::json!(wells_rows), "{drawn}");
    assert!(drawn[2].as_str().unwrap().contains("drug"), "{drawn}");
    b.eval(
        s,
        "document.getElementById('plate-maps').scrollIntoView(); true",
    );
    let shot = b.call(
        Some(s),
        "Page.captureScreenshot",
        serde_json::json!({"format": "png"}),
    );
    std::fs::write(
        base.join("serve-plates-screenshot.png"),
        base64(shot["data"].as_str().unwrap()),
    )
    .unwrap();
    let assay = b.eval(s, "document.getElementById('assay').textContent");
    assert!(
        assay.as_str().unwrap().contains("wells = \"wells.csv\""),
        "{assay}"
    );
    b.eval(s, "document.getElementById('run').click(); true");
    until(
        &mut b,
        s,
        "document.getElementById('analysis-state').textContent.startsWith('Done')",
    );
    until(
        &mut b,
        s,
        "(() => { const d = document.getElementById('report').contentDocument;
            return !!d && d.readyState === 'complete' && !!d.getElementById('map') && d.querySelectorAll('figure svg').length > 0; })()",
    );
    b.call(
        Some(s),
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({"width": 1300, "height": 1400, "deviceScaleFactor": 1, "mobile": false}),
    );
    // The report's own script runs under the server's policy (allowed by its hash): its
    // buttons are there, and a heatmap cell answers the pointer inside the frame.
    let framed = b.eval(
        s,
        "(() => { const d = document.getElementById('report').contentDocument;
            const f = d.querySelector('figure[data-file=\"plots/heatmap.svg\"]');
            const m = JSON.parse(f.querySelector('script.marks').textContent).m[0];
            const svg = f.querySelector(':scope > svg'); svg.scrollIntoView();
            const r = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
            const x = r.left + (m.r[0] + m.r[2] / 2) * r.width / vb.width;
            const y = r.top + (m.r[1] + m.r[3] / 2) * r.height / vb.height;
            svg.dispatchEvent(new d.defaultView.MouseEvent('mousemove', {clientX: x, clientY: y, bubbles: true}));
            const tip = d.getElementById('tip');
            return [d.querySelectorAll('button.csv').length > 0, !tip.hidden && tip.innerText.startsWith(m.t[0])]; })()",
    );
    assert_eq!(framed, serde_json::json!([true, true]));
    b.eval(s, "document.getElementById('report').contentWindow.scrollTo(0, 0); window.scrollTo(0, 0); true");
    let shot = b.call(
        Some(s),
        "Page.captureScreenshot",
        serde_json::json!({"format": "png"}),
    );
    let png = base64(shot["data"].as_str().unwrap());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let path = base.join("serve-screenshot.png");
    std::fs::write(&path, png).unwrap();
    let _ = writeln!(
        std::io::stderr(),
        "serve page screenshot: {}",
        path.display()
    );

    // The bundled example from its button, timed from the click on Run to the results.
    b.eval(
        s,
        "location.hash = '#new'; document.getElementById('example').click(); true",
    );
    until(
        &mut b,
        s,
        "document.querySelectorAll('#files tbody tr').length === 3",
    );
    let t = Instant::now();
    b.eval(s, "document.getElementById('run').click(); true");
    until(
        &mut b,
        s,
        "document.getElementById('analysis-name').textContent.startsWith('Iwasawa')
            && document.getElementById('analysis-state').textContent.startsWith('Done')",
    );
    let _ = writeln!(
        std::io::stderr(),
        "serve page: Iwasawa plate from Run to results in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    b.eval(s, "location.hash = '#history'; true");
    until(
        &mut b,
        s,
        "document.querySelectorAll('#analyses tbody tr').length === 2",
    );

    let found = page_problems(&b.log, &origin);
    let _ = b.call(None, "Browser.close", serde_json::json!({}));
    assert!(found.is_empty(), "the page in Chromium: {found:#?}");
}

/// Console errors and warnings, exceptions, failed loads and requests beyond the server.
fn page_problems(events: &[Value], origin: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in events {
        let p = &e["params"];
        match e["method"].as_str().unwrap_or_default() {
            "Runtime.consoleAPICalled"
                if matches!(p["type"].as_str(), Some("error" | "warning")) =>
            {
                out.push(format!("console: {}", p["args"]))
            }
            "Runtime.exceptionThrown" => out.push(format!("exception: {}", p["exceptionDetails"])),
            "Log.entryAdded"
                if matches!(p["entry"]["level"].as_str(), Some("error" | "warning")) =>
            {
                out.push(format!("log: {}", p["entry"]["text"]))
            }
            "Network.loadingFailed" => out.push(format!("failed load: {p}")),
            "Network.requestWillBeSent" => {
                let url = p["request"]["url"].as_str().unwrap_or_default();
                if !url.starts_with(origin)
                    && !url.starts_with("data:")
                    && !url.starts_with("blob:")
                {
                    out.push(format!("request beyond the server: {url}"));
                }
            }
            _ => {}
        }
    }
    out
}

/// Without an assay file or a lines table: the form's name, unit, parental line and what each
/// line was selected with make both, and the run gives the shifts of the simulated screen's
/// own lines table.
#[test]
fn serve_writes_the_assay_and_lines_table_from_the_form() {
    let tmp = tempfile::tempdir().unwrap();
    let files = simulated(tmp.path());
    let server = Server::start(&tmp.path().join("data"), &[], &[]);
    let wells: Vec<_> = files
        .into_iter()
        .filter(|(n, _)| *n == "wells.csv")
        .collect();
    let form = [
        ("name", "from the form"),
        ("concentration_unit", "uM"),
        ("parental_line", "parental"),
        ("selected_with", "resistant01=drug01; resistant02=drug02"),
    ];
    let r = server.upload(&wells, &form);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let done = server.wait(&id);
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["name"], "from the form");
    let lines = server.get(&format!("/api/analyses/{id}/inputs/lines.csv"));
    assert_eq!(
        lines.body,
        std::fs::read(tmp.path().join("sim/lines.csv")).unwrap()
    );
    let shifts = server.get(&format!("/api/analyses/{id}/files/shifts.csv"));
    assert!(String::from_utf8_lossy(&shifts.body).contains("resistant02,parental,drug01,drug02"));
}
