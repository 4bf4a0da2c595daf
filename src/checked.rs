//! Settings checked once: a stage's settings as written (an assay file's section, a command's
//! flags, or a struct built in code) become a [`Checked`] value only through [`Check::check`]
//! (or [`Checked::located`], which places each problem on the line of its key), and the
//! stages take that value. Its fields read as the settings' own (`checked.tau`), but cannot be
//! set: a change goes back through the settings as written ([`Checked::into_inner`]) and is
//! checked again, so a stage never sees a value that was not checked.
//!
//! Library users build settings in code from the defaults and check them once:
//!
//! ```
//! use collateral::checked::Check;
//! use collateral::shift::{CallRule, ShiftSettings};
//!
//! let mut settings = ShiftSettings::default();
//! settings.tau = 2.0;
//! settings.rule = CallRule::Dhawan2017;
//! let checked = settings.check().unwrap();
//! assert_eq!(checked.tau, 2.0);
//!
//! let mut again = checked.into_inner();
//! again.alpha = 2.0;
//! let e = again.check().unwrap_err();
//! assert!(e.to_string().contains("`shift.alpha = 2`"), "{e}");
//! ```

use std::ops::Deref;

use crate::error::{Error, ErrorKind, Location, Problem, Result};

/// Settings of one stage as written, with the checks that make them usable.
pub trait Check: Sized {
    /// Problems with the values, each with the key it is about and a message naming the key
    /// as the assay file writes it (`shift.alpha`), so the same message serves a file and flags.
    fn problems(&self) -> Vec<(&'static str, String)>;

    /// Checks the settings once (every problem, without a file location).
    fn check(self) -> Result<Checked<Self>> {
        Checked::located(self, |_| Location::default())
            .map_err(|problems| Error::problems(ErrorKind::Config, problems))
    }
}

/// Settings that passed their [`Check`]: readable through `Deref`, not settable.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked<S>(S);

impl<S: Check> Checked<S> {
    /// Checks `settings`, placing each problem where `at` says its key is written (the assay
    /// file's line of the key).
    pub fn located(
        settings: S,
        at: impl Fn(&str) -> Location,
    ) -> std::result::Result<Checked<S>, Vec<Problem>> {
        let problems: Vec<Problem> = settings
            .problems()
            .into_iter()
            .map(|(key, message)| Problem {
                location: at(key),
                message,
            })
            .collect();
        if problems.is_empty() {
            Ok(Checked(settings))
        } else {
            Err(problems)
        }
    }
}

impl<S> Checked<S> {
    /// The settings as written, to change and check again.
    pub fn into_inner(self) -> S {
        self.0
    }
}

impl<S> Deref for Checked<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0
    }
}

/// The defaults, which are checked by every stage's tests; a stage whose defaults failed their
/// own check is a bug, not bad input.
impl<S: Check + Default> Default for Checked<S> {
    fn default() -> Self {
        match Checked::located(S::default(), |_| Location::default()) {
            Ok(c) => c,
            Err(p) => panic!("default settings fail their own check: {p:?}"),
        }
    }
}

/// Written as the settings themselves (`run.json` shows what was written, not a wrapper).
impl<S: serde::Serialize> serde::Serialize for Checked<S> {
    fn serialize<Z: serde::Serializer>(
        &self,
        serializer: Z,
    ) -> std::result::Result<Z::Ok, Z::Error> {
        self.0.serialize(serializer)
    }
}
