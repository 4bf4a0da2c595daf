//! `collateral serve`: the whole tool in a browser for the bench. One command starts a local
//! server (loopback only unless told otherwise, a random token like Jupyter's); a scientist
//! drops the reader's files, fills what is missing, runs, and reads the map, and nothing
//! leaves the machine. Everything the page does is also an HTTP API (`docs/serve.md`) that a
//! core facility's LIMS can call.
//!
//! Each analysis lives in its own folder under the data folder ([`store`]); runs use the
//! library in memory on a bounded pool ([`runner`]); uploads are checked before anything is
//! read ([`upload`]); the routes are in [`http`]; the plate maps the page draws come from
//! [`plates`].

pub mod http;
pub mod plates;
pub mod runner;
pub mod store;
pub mod upload;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

/// What `collateral serve` was asked for.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on; loopback by default so nothing beyond this machine can connect.
    pub host: String,
    /// Port; 0 lets the system choose (the printed address says which).
    pub port: u16,
    /// The data folder (default: [`default_data_dir`]).
    pub data: Option<PathBuf>,
    /// The token every request must show (default: `COLLATERAL_TOKEN`, else a random one).
    pub token: Option<String>,
    /// Open the page in the default browser.
    pub open: bool,
    /// Most MiB one upload may have.
    pub(crate) max_upload_mb: u64,
    /// Analyses run at once; the others wait as `queued`.
    pub(crate) jobs: usize,
}

/// The platform's folder for an application's data: `$XDG_DATA_HOME/collateral` or
/// `~/.local/share/collateral` on Linux, `~/Library/Application Support/collateral` on macOS,
/// `%APPDATA%\collateral` on Windows; `./collateral-data` when none is known.
pub fn default_data_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let base = if cfg!(windows) {
        env("APPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library/Application Support"))
    } else {
        env("XDG_DATA_HOME").or_else(|| env("HOME").map(|h| h.join(".local/share")))
    };
    base.map_or_else(
        || PathBuf::from("collateral-data"),
        |b| b.join("collateral"),
    )
}

/// A new random token: 128 bits in hex.
fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// Runs the server until Ctrl-C. Prints the page's address with its token on stdout (one
/// line, so a script can read it), the data folder on stderr.
pub fn serve(options: &ServeOptions) -> anyhow::Result<()> {
    let data = options.data.clone().unwrap_or_else(default_data_dir);
    let (store, queued) = store::Store::open(&data)
        .map_err(|e| anyhow::anyhow!("cannot open the data folder {}: {e}", data.display()))?;
    let store = Arc::new(store);
    let pool = runner::Pool::start(store.clone(), options.jobs);
    for id in queued {
        pool.enqueue(id);
    }
    let token = options
        .token
        .clone()
        .or_else(|| std::env::var("COLLATERAL_TOKEN").ok())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(new_token);
    if !token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
    {
        anyhow::bail!(
            "the token may hold only letters, digits and - _ . ~ (it goes into an address)"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((options.host.as_str(), options.port))
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}:{}: {e}", options.host, options.port))?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}/?token={token}");
        println!("{url}");
        std::io::stdout().flush()?;
        eprintln!("collateral serve: analyses in {}; Ctrl-C stops", data.display());
        if !addr.ip().is_loopback() {
            eprintln!("warning: listening on {addr}, beyond this machine: anyone with the token can use it");
        }
        if options.open {
            open_browser(&url);
        }
        let app = Arc::new(http::App {
            store,
            pool,
            token,
            max_upload: options.max_upload_mb.saturating_mul(1 << 20),
            cookie: format!("collateral_token_{}", addr.port()),
        });
        axum::serve(listener, http::router(app))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}

/// Asks the desktop to open `url`; a failure only says so (the address is printed anyway).
fn open_browser(url: &str) {
    let mut command = if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else {
        std::process::Command::new("xdg-open")
    };
    if let Err(e) = command.arg(url).spawn() {
        eprintln!("warning: cannot open a browser ({e}); open the address above");
    }
}
