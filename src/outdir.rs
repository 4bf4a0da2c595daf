//! The output folder of a command: its staging folder.
//!
//! Every command that writes into an output folder (`run`, `plot`, `shift`) stages its files in
//! `.collateral-staging-<pid>/` and moves them into place only when all are complete.
//!
//! Ground layer: imports nothing of ours but `error`, so every command can use it.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A staging folder inside the output folder; files move into place on `commit`. Names may
/// hold `/` (e.g. `plots/heatmap.svg`): subfolders are created as needed.
pub(crate) struct Staging {
    outdir: PathBuf,
    dir: PathBuf,
    names: std::cell::RefCell<Vec<String>>,
}

impl Staging {
    pub(crate) fn new(outdir: &Path) -> Result<Staging> {
        std::fs::create_dir_all(outdir)
            .map_err(|e| Error::io(outdir, "creating the output folder", e))?;
        let dir = outdir.join(format!(".collateral-staging-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, "clearing", e))?;
        }
        std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, "creating", e))?;
        Ok(Staging {
            outdir: outdir.to_path_buf(),
            dir,
            names: Default::default(),
        })
    }

    /// The staging folder, where staged files can be read back before the commit.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn write(
        &self,
        name: &str,
        f: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
    ) -> Result<()> {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "creating", e))?;
        }
        let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, "creating", e))?;
        let mut w = std::io::BufWriter::new(file);
        f(&mut w)
            .and_then(|_| w.flush())
            .map_err(|e| Error::io(self.outdir.join(name), "writing", e))?;
        self.names.borrow_mut().push(name.to_string());
        Ok(())
    }

    pub(crate) fn commit(self) -> Result<Vec<PathBuf>> {
        // Subfolders first, so a folder that cannot be made fails the commit before any file
        // has moved.
        for name in self.names.borrow().iter() {
            if let Some(parent) = self.outdir.join(name).parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "creating", e))?;
            }
        }
        let mut out = Vec::new();
        for name in self.names.borrow().iter() {
            let to = self.outdir.join(name);
            std::fs::rename(self.dir.join(name), &to)
                .map_err(|e| Error::io(&to, "moving into place", e))?;
            out.push(to);
        }
        Ok(out)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
