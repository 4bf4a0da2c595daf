//! The output folder of a command: its staging folder, its lock and its manifest.
//!
//! Every command that writes into an output folder (`run`, `plot`, `shift`) takes the folder's
//! lock first, stages its files in `.collateral-staging-<pid>/` and moves them into place only
//! when all are complete. The lock keeps two runs from interleaving their files; what a killed
//! run leaves behind (its lock, its staging folder) is recognised by the next run and removed.
//! `run.json` carries a manifest of the files a run wrote, so a rerun into the same folder can
//! remove what the earlier run wrote and this one does not (the plot of a line no longer in the
//! assay), without ever touching a file that collateral did not write.
//!
//! Ground layer: imports nothing of ours but `error`, so every command can use it.

mod copy;
mod format;
mod lock;
mod manifest;
mod staging;

pub use copy::copy_folder;
pub use format::{parquet_name, TableFormat};
pub use lock::now_rfc3339_millis;
pub use manifest::safe_manifest_path;
pub(crate) use staging::{FileWriter, Staging};

/// Name of the lock file inside an output folder. It exists exactly while a command writes
/// into the folder and names that command's process, so a second one can say who holds it.
pub const LOCK_FILE: &str = ".collateral.lock";

/// Prefix of staging folder names inside an output folder; the process id follows, so a
/// leftover can be traced to the process that made it.
pub const STAGING_PREFIX: &str = ".collateral-staging-";

/// The output file that carries the manifest: every run writes it, and it already describes
/// the run, so the list of the run's files belongs there rather than in a file of its own.
pub const MANIFEST_FILE: &str = "run.json";

/// The top-level key of [`MANIFEST_FILE`] holding the manifest: the run's files as sorted,
/// `/`-separated paths relative to the output folder, `run.json` itself included.
pub const MANIFEST_KEY: &str = "manifest";

/// For tests only: an environment variable holding milliseconds (at most 600,000) that a
/// command waits right after taking the lock and creating its staging folder. Tests need a run
/// that is certainly still going, to run a second one against it or to kill it; unset (the
/// normal case) it does nothing, and set it only delays a command.
pub const PAUSE_VAR: &str = "COLLATERAL_TEST_PAUSE_MS";

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::PathBuf;

    use super::lock::{rfc3339, Liveness, LockInfo};
    use super::manifest::read_manifest;
    use super::*;

    #[test]
    fn manifest_paths_stay_inside_the_folder() {
        for good in [
            "run.json",
            "plots/heatmap.svg",
            "plots/dose_response/A-1_x.svg",
            "a b/c.csv",
        ] {
            assert_eq!(
                safe_manifest_path(good),
                Some(good.split('/').collect::<PathBuf>()),
                "{good}"
            );
        }
        for bad in [
            "",
            "/etc/passwd",
            "../notes.txt",
            "plots/../../x",
            "plots/./x.svg",
            "./x",
            "plots//x.svg",
            "plots/",
            "C:/x",
            "C:x",
            "plots\\x.svg",
            "..\\x",
            "a\0b",
            ".collateral.lock",
            ".collateral-staging-12/x.csv",
            "plots/..",
        ] {
            assert_eq!(safe_manifest_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unsafe_manifest_entries_are_dropped_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        std::fs::write(
            &path,
            r#"{"tool": "collateral", "manifest": ["qc.csv", "../x", "/etc/passwd", "plots/a.svg"]}"#,
        )
        .unwrap();
        let (entries, problems) = read_manifest(&path);
        assert_eq!(entries, ["qc.csv", "plots/a.svg"]);
        assert_eq!(problems.len(), 2);
        assert!(
            problems[0].message.contains("`../x` ignored"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_run_json_that_is_not_ours_gives_no_manifest_and_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MANIFEST_FILE);
        for (text, why) in [
            ("{not json", "not valid JSON"),
            (r#"{"manifest": ["a.csv"]}"#, "not written by collateral"),
            (r#"{"tool": "collateral"}"#, "lists no files"),
            (
                r#"{"tool": "collateral", "manifest": "a.csv"}"#,
                "not a list",
            ),
            (
                r#"{"tool": "collateral", "manifest": ["a.csv", 3]}"#,
                "not a list",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let (entries, problems) = read_manifest(&path);
            assert!(entries.is_empty(), "{text}");
            assert_eq!(problems.len(), 1, "{text}");
            assert!(problems[0].message.contains(why), "{text}: {problems:?}");
            assert!(problems[0].message.contains("left in place"), "{text}");
        }
        std::fs::remove_file(&path).unwrap();
        assert_eq!(read_manifest(&path), (Vec::new(), Vec::new()));
    }

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_764_633_600), "2025-12-02T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 3_661), "2000-02-29T01:01:01Z");
        let now = now_rfc3339_millis();
        assert_eq!(
            (now.len(), &now[19..20], &now[23..]),
            (24, ".", "Z"),
            "{now}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_lock_is_stale_when_its_process_is_gone_or_its_pid_reused() {
        let me = LockInfo::of_this_process();
        assert_eq!(me.liveness(), Liveness::Alive);
        assert!(!me.process_start.is_empty());
        let reused = LockInfo {
            process_start: "1".into(),
            ..me.clone()
        };
        assert!(matches!(reused.liveness(), Liveness::Gone(w) if w.contains("another process")));
        // Above the largest pid Linux hands out (2^22).
        let gone = LockInfo {
            pid: 4_194_305,
            ..me.clone()
        };
        assert!(matches!(gone.liveness(), Liveness::Gone(_)));
        let rebooted = LockInfo {
            boot_id: "another boot".into(),
            ..me.clone()
        };
        assert!(matches!(rebooted.liveness(), Liveness::Gone(w) if w.contains("restarted")));
        let elsewhere = LockInfo {
            host: format!("{}-other", me.host),
            pid: 4_194_305,
            ..me
        };
        assert_eq!(elsewhere.liveness(), Liveness::Unknown);
    }

    #[test]
    fn a_second_staging_of_one_folder_is_refused_and_the_lock_released_after() {
        let dir = tempfile::tempdir().unwrap();
        let first = Staging::new(dir.path()).unwrap();
        let lock = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        let err = Staging::new(dir.path()).err().expect("refused").to_string();
        assert!(
            first.dir().is_dir(),
            "the refused one left the first one's staging alone"
        );
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(err.contains("started "), "{err}");
        // The refused one did not release the first one's lock.
        assert_eq!(
            std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap(),
            lock
        );
        drop(first);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_failed_first_command_removes_the_folders_it_made() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        let staging = Staging::new(&out).unwrap();
        assert!(staging.dir().is_dir());
        drop(staging);
        assert!(!dir.path().join("a").exists());
    }

    #[test]
    fn a_rerun_removes_only_the_earlier_runs_files_it_does_not_write() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let first = Staging::new(out).unwrap();
        for name in [
            "a.csv",
            "plots/x/one.svg",
            "plots/x/two.svg",
            "plots/top.svg",
        ] {
            first.write(name, |w| w.write_all(name.as_bytes())).unwrap();
        }
        first
            .write_with_manifest(serde_json::json!({"tool": "collateral"}))
            .unwrap();
        first.commit().unwrap();
        std::fs::write(out.join("plots/x/notes.txt"), "mine").unwrap();

        let second = Staging::new(out).unwrap();
        let previous = second.previous_manifest();
        assert_eq!(
            previous,
            [
                "a.csv",
                "plots/top.svg",
                "plots/x/one.svg",
                "plots/x/two.svg",
                "run.json"
            ]
        );
        second
            .write("plots/x/one.svg", |w| w.write_all(b"new"))
            .unwrap();
        second
            .write_with_manifest(serde_json::json!({"tool": "collateral"}))
            .unwrap();
        let (files, warnings) = second.commit_replacing(&previous).unwrap();
        assert_eq!(files.len(), 2);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(!out.join("a.csv").exists() && !out.join("plots/x/two.svg").exists());
        assert!(!out.join("plots/top.svg").exists());
        assert_eq!(std::fs::read(out.join("plots/x/one.svg")).unwrap(), b"new");
        assert_eq!(
            std::fs::read(out.join("plots/x/notes.txt")).unwrap(),
            b"mine"
        );
        let run: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(MANIFEST_FILE)).unwrap()).unwrap();
        assert_eq!(
            run[MANIFEST_KEY],
            serde_json::json!(["plots/x/one.svg", "run.json"])
        );
    }

    #[test]
    fn a_folder_emptied_by_a_rerun_is_removed_but_not_the_output_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let first = Staging::new(out).unwrap();
        first
            .write("plots/d/one.svg", |w| w.write_all(b"x"))
            .unwrap();
        first
            .write_with_manifest(serde_json::json!({"tool": "collateral"}))
            .unwrap();
        first.commit().unwrap();
        let second = Staging::new(out).unwrap();
        let previous = second.previous_manifest();
        second
            .write_with_manifest(serde_json::json!({"tool": "collateral"}))
            .unwrap();
        second.commit_replacing(&previous).unwrap();
        assert!(!out.join("plots").exists());
        assert!(out.join(MANIFEST_FILE).is_file());
    }

    #[cfg(unix)]
    #[test]
    fn a_rerun_does_not_follow_a_linked_folder_out_of_the_output_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::write(elsewhere.join("x.svg"), "keep").unwrap();
        std::os::unix::fs::symlink(&elsewhere, out.join("plots")).unwrap();
        std::fs::write(
            out.join(MANIFEST_FILE),
            r#"{"tool": "collateral", "manifest": ["plots/x.svg", "run.json"]}"#,
        )
        .unwrap();
        let staging = Staging::new(&out).unwrap();
        let previous = staging.previous_manifest();
        staging
            .write_with_manifest(serde_json::json!({"tool": "collateral"}))
            .unwrap();
        let (_, warnings) = staging.commit_replacing(&previous).unwrap();
        assert!(elsewhere.join("x.svg").exists());
        assert!(warnings[0].message.contains("link"), "{warnings:?}");
    }
}
