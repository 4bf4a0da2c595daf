//! The HTTP face of `collateral serve`: the page, and the API it uses (`docs/serve.md`).
//! Every request needs the token; every response carries a Content-Security-Policy that
//! forbids every outside source.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path as UrlPath, Request, State as Shared};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::runner::Pool;
use super::store::{
    files_under, new_id, now_secs, Located, Record, RunProgress, State, Store, INCOMING_PREFIX,
    INPUT_DIR, OUTPUT_DIR,
};
use super::upload::{assay_from_form, lines_from_form, outside_paths, safe_name, ASSAY_FILE};

/// What every handler shares.
pub(crate) struct App {
    /// The analyses.
    pub store: Arc<Store>,
    /// Where uploads wait for a run.
    pub pool: Pool,
    /// The token every request must show.
    pub token: String,
    /// Most bytes one upload may have.
    pub(crate) max_upload: u64,
    /// The cookie that carries the token (named after the port: browsers share cookies
    /// between the ports of one host).
    pub cookie: String,
}

/// The policy of the page and the API: nothing but this server, no inline code.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/// The policy of a run's `report.html`: one offline file, shown in the page's frame, whose own
/// inline script and style sheet are allowed by their hashes (`report::inline_sources`) — no
/// `'unsafe-inline'`, so no other inline code runs; still nothing from outside. Its figures'
/// downloads are made in the page (`blob:`), its tooltips' numbers are data blocks.
fn csp_report() -> &'static HeaderValue {
    static POLICY: std::sync::OnceLock<HeaderValue> = std::sync::OnceLock::new();
    POLICY.get_or_init(|| {
        let (script, style) = crate::report::inline_sources();
        let policy = format!(
            "default-src 'none'; script-src {script}; style-src {style}; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
        );
        HeaderValue::from_str(&policy).expect("a policy of ASCII text")
    })
}

/// The bundled example (Iwasawa et al. 2022, one Biomek plate with its layout), so a first
/// visit can run something without files of its own.
const EXAMPLE: [(&str, &str); 3] = [
    (
        "assay.toml",
        include_str!("../../assays/iwasawa2022-plates/assay.toml"),
    ),
    (
        "layout.toml",
        include_str!("../../assays/iwasawa2022-plates/layout.toml"),
    ),
    (
        "reads/d01-p01.csv",
        include_str!("../../assays/iwasawa2022-plates/reads/d01-p01.csv"),
    ),
];

/// The page, embedded so the binary serves it offline.
const INDEX_HTML: &str = include_str!("../../assets/serve/index.html");
const APP_JS: &str = include_str!("../../assets/serve/app.js");
const APP_CSS: &str = include_str!("../../assets/serve/app.css");

/// The routes, behind the token check and the security headers.
pub(crate) fn router(app: Arc<App>) -> Router {
    let limit = usize::try_from(app.max_upload).unwrap_or(usize::MAX);
    Router::new()
        .route(
            "/",
            get(|| async { page(INDEX_HTML, "text/html; charset=utf-8") }),
        )
        .route(
            "/app.js",
            get(|| async { page(APP_JS, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/app.css",
            get(|| async { page(APP_CSS, "text/css; charset=utf-8") }),
        )
        .route("/api/analyses", get(list).post(create))
        .route("/api/validate", axum::routing::post(validate))
        .route("/api/analyses/{id}", get(show).delete(remove))
        .route("/api/analyses/{id}/files/{*path}", get(output_file))
        .route("/api/analyses/{id}/inputs/{*path}", get(input_file))
        .route("/api/analyses/{id}/zip", get(zip_folder))
        .route("/api/examples/iwasawa2022-plates", get(example))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

fn page(text: &'static str, kind: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], text).into_response()
}

/// A JSON error with its status.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Token check, upload size check (from `Content-Length`, before any of the body is read),
/// and the headers every response carries.
async fn guard(Shared(app): Shared<Arc<App>>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == app.cookie)
        .map(|(_, v)| v);
    let query = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="));
    let shown = |t: Option<&str>| t.is_some_and(|t| same(t, &app.token));
    let by_query = !shown(bearer) && !shown(cookie) && shown(query);
    let mut response = if !(shown(bearer) || shown(cookie) || by_query) {
        error(
            StatusCode::UNAUTHORIZED,
            "this needs the token that `collateral serve` printed: open the printed address, or send `Authorization: Bearer TOKEN`",
        )
    } else if req.method() == Method::POST && too_long(req.headers(), app.max_upload) {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the upload is larger than {} MiB (`collateral serve --max-upload-mb`)",
                app.max_upload >> 20
            ),
        )
    } else if by_query && req.method() == Method::GET && req.uri().path() == "/" {
        // The token leaves the address bar (and the history) once the cookie holds it.
        (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response()
    } else {
        next.run(req).await
    };
    let h = response.headers_mut();
    if by_query {
        let cookie = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            app.cookie, app.token
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.append(header::SET_COOKIE, v);
        }
    }
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether the declared body is over the limit.
fn too_long(headers: &HeaderMap, limit: u64) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit)
}

/// Compares tokens in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// An upload received into `.incoming-<id>/input/`.
struct Upload {
    id: String,
    incoming: PathBuf,
    files: Vec<String>,
    fields: BTreeMap<String, String>,
}

impl Upload {
    fn input(&self) -> PathBuf {
        self.incoming.join(INPUT_DIR)
    }
}

/// Receives a multipart upload: parts named `files` are stored under their (checked) file
/// names, other parts are form fields. Any refusal removes what was written.
async fn receive(app: &App, mut parts: Multipart) -> Result<Upload, Response> {
    let id = new_id();
    let incoming = app.store.data.join(format!("{INCOMING_PREFIX}{id}"));
    let mut upload = Upload {
        id,
        incoming,
        files: Vec::new(),
        fields: BTreeMap::new(),
    };
    let received = receive_parts(&mut upload, &mut parts).await;
    if let Err(e) = received {
        let _ = tokio::fs::remove_dir_all(&upload.incoming).await;
        return Err(e);
    }
    Ok(upload)
}

async fn receive_parts(upload: &mut Upload, parts: &mut Multipart) -> Result<(), Response> {
    use tokio::io::AsyncWriteExt;
    let bad = |e: axum::extract::multipart::MultipartError| error(e.status(), e.body_text());
    let input = upload.input();
    tokio::fs::create_dir_all(&input).await.map_err(|e| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot store the upload: {e}"),
        )
    })?;
    while let Some(mut part) = parts.next_field().await.map_err(bad)? {
        let field = part.name().unwrap_or("").to_string();
        if field != "files" {
            let text = part.text().await.map_err(bad)?;
            if text.len() > 65_536 {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    format!("form field `{field}` is over 64 KiB"),
                ));
            }
            upload.fields.insert(field, text);
            continue;
        }
        let name = part.file_name().unwrap_or("").to_string();
        let rel = safe_name(&name).map_err(|m| error(StatusCode::BAD_REQUEST, m))?;
        let shown = rel.to_string_lossy().replace('\\', "/");
        if upload.files.contains(&shown) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                format!("file {shown:?} was uploaded twice"),
            ));
        }
        let path = input.join(&rel);
        let io = |e: std::io::Error| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot store {shown}: {e}"),
            )
        };
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let mut file = tokio::fs::File::create(&path).await.map_err(io)?;
        while let Some(chunk) = part.chunk().await.map_err(bad)? {
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        upload.files.push(shown);
    }
    Ok(())
}

/// The assay of an upload: the uploaded `assay.toml`, or one written from the form; then every
/// path the TOML files name is checked to stay inside. `Err` holds the problems.
fn settle_assay(upload: &mut Upload) -> Result<String, Vec<Located>> {
    let input = upload.input();
    if !upload.files.iter().any(|f| f == ASSAY_FILE) {
        let toml = assay_from_form(&upload.fields, &upload.files)
            .map_err(|m| vec![Located::message(m)])?;
        std::fs::write(input.join(ASSAY_FILE), &toml)
            .map_err(|e| vec![Located::message(format!("cannot write the assay: {e}"))])?;
        upload.files.push(ASSAY_FILE.to_string());
    }
    let tomls: Vec<PathBuf> = upload
        .files
        .iter()
        .filter(|f| f.ends_with(".toml"))
        .map(PathBuf::from)
        .collect();
    let outside = outside_paths(&input, &tomls);
    if !outside.is_empty() {
        return Err(outside);
    }
    let path = input.join(ASSAY_FILE);
    let mut text = std::fs::read_to_string(&path)
        .map_err(|e| vec![Located::message(format!("cannot read the assay: {e}"))])?;
    // A lines table from the form's parental line, when the upload has none.
    let has_lines = text
        .parse::<toml::Table>()
        .is_ok_and(|t| t.contains_key("lines"));
    if !has_lines && !upload.files.iter().any(|f| f == "lines.csv") {
        let assay = crate::assay::Assay::from_str(&text, &path).ok();
        if let Some(lines) = assay.and_then(|a| lines_from_form(&upload.fields, &a)) {
            let written = std::fs::write(input.join("lines.csv"), lines).and_then(|()| {
                // Top-level keys must come before the first table of the TOML.
                text = format!("lines = \"lines.csv\"\n{text}");
                std::fs::write(&path, &text)
            });
            written.map_err(|e| {
                vec![Located::message(format!(
                    "cannot write the lines table: {e}"
                ))]
            })?;
            upload.files.push("lines.csv".to_string());
        }
    }
    Ok(text)
}

/// `POST /api/analyses`: stores the upload as a new analysis and queues its run, or records it
/// as failed with the problems that stop it from running (it is never run then).
async fn create(Shared(app): Shared<Arc<App>>, parts: Multipart) -> Response {
    let mut upload = match receive(&app, parts).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let settled = settle_assay(&mut upload);
    let name = settled
        .as_ref()
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| t.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .unwrap_or_else(|| upload.id.clone());
    let (state, problems) = match settled {
        Ok(_) => (State::Queued, Vec::new()),
        Err(p) => (State::Failed, p),
    };
    upload.files.sort();
    let record = Record {
        id: upload.id.clone(),
        name,
        created: now_secs(),
        state,
        progress: RunProgress::default(),
        problems,
        warnings: Vec::new(),
        inputs: upload.files.clone(),
        files: Vec::new(),
        seconds: None,
    };
    if let Err(e) = app.store.add(&upload.incoming, record) {
        let _ = std::fs::remove_dir_all(&upload.incoming);
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot store the analysis: {e}"),
        );
    }
    if state == State::Queued {
        app.pool.enqueue(upload.id.clone());
    }
    let state = serde_json::to_value(state).unwrap_or_default();
    (
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/analyses/{}", upload.id))],
        Json(json!({ "id": upload.id, "state": state })),
    )
        .into_response()
}

/// `POST /api/validate`: what `collateral validate` says of an upload (summary, plate maps,
/// problems, warnings), every plate's wells for the page to draw (`plates::layout`), and the
/// assay file it would run, without keeping anything.
async fn validate(Shared(app): Shared<Arc<App>>, parts: Multipart) -> Response {
    let mut upload = match receive(&app, parts).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let input = upload.input();
    let incoming = upload.incoming.clone();
    let answer = tokio::task::spawn_blocking(move || {
        let assay = match settle_assay(&mut upload) {
            Ok(a) => a,
            Err(problems) => return json!({ "problems": problems, "warnings": [] }),
        };
        let located = |ps: &[crate::Problem]| -> Vec<Located> {
            ps.iter()
                .map(|p| Located::from_problem(p, &input))
                .collect()
        };
        match crate::validate::validate(&input.join(ASSAY_FILE), true) {
            Ok(v) => json!({
                "assay": assay,
                "summary": v.summary.replace(&format!("{}/", input.display()), ""),
                "maps": v.maps,
                "layout": super::plates::layout(&input.join(ASSAY_FILE)),
                "problems": located(&v.problems),
                "warnings": located(&v.warnings),
            }),
            Err(e) => {
                json!({ "assay": assay, "problems": located(e.problems_found()), "warnings": [] })
            }
        }
    })
    .await;
    let _ = tokio::fs::remove_dir_all(&incoming).await;
    match answer {
        Ok(v) => Json(v).into_response(),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "validation stopped on an internal error",
        ),
    }
}

/// `GET /api/analyses`: the history, newest first.
async fn list(Shared(app): Shared<Arc<App>>) -> Response {
    Json(app.store.list()).into_response()
}

/// `GET /api/analyses/{id}`.
async fn show(Shared(app): Shared<Arc<App>>, UrlPath(id): UrlPath<String>) -> Response {
    match app.store.get(&id) {
        Some(e) => Json(e.snapshot()).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no analysis {id:?}")),
    }
}

/// `DELETE /api/analyses/{id}`.
async fn remove(Shared(app): Shared<Arc<App>>, UrlPath(id): UrlPath<String>) -> Response {
    let store = app.store.clone();
    let gone = tokio::task::spawn_blocking(move || store.remove(&id)).await;
    match gone {
        Ok(Ok(true)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Ok(false)) => error(StatusCode::NOT_FOUND, "no such analysis"),
        Ok(Err(why)) => error(StatusCode::CONFLICT, why),
        Err(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "deleting stopped on an internal error",
        ),
    }
}

/// The file `rel` inside `base`, if it is one: a safe relative name whose real path (links
/// followed) is still inside `base`.
fn inside(base: &Path, rel: &str) -> Option<PathBuf> {
    let path = base.join(safe_name(rel).ok()?);
    let real = path.canonicalize().ok()?;
    (real.starts_with(base.canonicalize().ok()?) && real.is_file()).then_some(real)
}

/// The media type of an output file, by its extension.
fn media_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "pdf" => "application/pdf",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "txt" | "md" | "toml" | "tsv" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `GET /api/analyses/{id}/files/{path}`: one output file; a path leaving the folder is 404.
async fn output_file(
    Shared(app): Shared<Arc<App>>,
    UrlPath((id, rel)): UrlPath<(String, String)>,
) -> Response {
    serve_file(&app, &id, OUTPUT_DIR, &rel, false).await
}

/// `GET /api/analyses/{id}/inputs/{path}`: one uploaded file (or the assay), always as a
/// download: an uploaded file is never shown as a page.
async fn input_file(
    Shared(app): Shared<Arc<App>>,
    UrlPath((id, rel)): UrlPath<(String, String)>,
) -> Response {
    serve_file(&app, &id, INPUT_DIR, &rel, true).await
}

async fn serve_file(app: &App, id: &str, dir: &str, rel: &str, download: bool) -> Response {
    let not_found = || {
        error(
            StatusCode::NOT_FOUND,
            format!("no file {rel:?} in this analysis"),
        )
    };
    if app.store.get(id).is_none() {
        return not_found();
    }
    let Some(path) = inside(&app.store.folder(id).join(dir), rel) else {
        return not_found();
    };
    let Ok(bytes) = tokio::fs::read(&path).await else {
        return not_found();
    };
    let kind = if download {
        "application/octet-stream"
    } else {
        media_type(&path)
    };
    let mut response = ([(header::CONTENT_TYPE, kind)], Body::from(bytes)).into_response();
    let h = response.headers_mut();
    if kind.starts_with("text/html") {
        h.insert(header::CONTENT_SECURITY_POLICY, csp_report().clone());
    }
    if download || !(kind.starts_with("text/") || kind.starts_with("image/")) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != '"')
            .collect();
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    response
}

/// `GET /api/analyses/{id}/zip`: the output folder as one zip (`<id>/…`), stored uncompressed
/// (the figures are already compressed, the tables are small beside them).
async fn zip_folder(Shared(app): Shared<Arc<App>>, UrlPath(id): UrlPath<String>) -> Response {
    let Some(entry) = app.store.get(&id) else {
        return error(StatusCode::NOT_FOUND, "no such analysis");
    };
    if entry.lock().state != State::Done {
        return error(StatusCode::CONFLICT, "the analysis has no results (yet)");
    }
    let output = app.store.folder(&id).join(OUTPUT_DIR);
    let prefix = id.clone();
    let zipped = tokio::task::spawn_blocking(move || zip_files(&output, &prefix)).await;
    match zipped {
        Ok(Ok(bytes)) => (
            [
                (header::CONTENT_TYPE, "application/zip".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{id}.zip\""),
                ),
            ],
            Body::from(bytes),
        )
            .into_response(),
        _ => error(StatusCode::INTERNAL_SERVER_ERROR, "cannot zip the results"),
    }
}

fn zip_files(dir: &Path, prefix: &str) -> zip::result::ZipResult<Vec<u8>> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    for f in files_under(dir) {
        zip.start_file(format!("{prefix}/{f}"), options)?;
        zip.write_all(&std::fs::read(dir.join(&f))?)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// `GET /api/examples/iwasawa2022-plates`: the bundled example's files, for the page to upload
/// as if dropped.
async fn example() -> Response {
    let files: Vec<_> = EXAMPLE
        .iter()
        .map(|(name, text)| json!({ "name": name, "text": text }))
        .collect();
    Json(json!({ "name": "iwasawa2022-plates", "files": files })).into_response()
}
