//! Enumerated settings words (`ll4`, `maltas-wood`, `newest`, …): each enum's words are written
//! once, in one [`words!`] list, and that list is what the assay file (serde), the command line
//! (clap's `ValueEnum` and `--help`), the tables and every message naming the valid words use,
//! so a word accepted in one place is never refused in another.
//!
//! ```
//! use collateral::shift::CallRule;
//! assert_eq!(CallRule::NAMES, ["delta", "dhawan2017", "nichol2019", "maltas-wood"]);
//! assert_eq!("maltas-wood".parse::<CallRule>(), Ok(CallRule::MaltasWood));
//! let e = "vote".parse::<CallRule>().unwrap_err();
//! assert_eq!(e, "unknown call rule `vote` (expected delta, dhawan2017, nichol2019 or maltas-wood)");
//! ```

use std::ffi::OsStr;
use std::marker::PhantomData;
use std::str::FromStr;

/// The words as a message lists them: `a, b or c`.
pub fn choices(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// Gives an enum its one word list: `ALL`, `NAMES`, `name`, `from_name` and `choices`, and
/// `Display`, `FromStr` (trimmed, any case; the error names every word), serde (exactly the
/// words; serde's message names every word) and clap's `ValueEnum` from that list.
///
/// `words!(Model, "model", { Ll4 => "ll4", Ll3 => "ll3", Ll2 => "ll2" });`
macro_rules! words {
    ($ty:ident, $what:literal, { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in the order of [`Self::NAMES`].
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];
            /// The words, the one list that the assay file, the command line and the tables use.
            pub const NAMES: &'static [&'static str] = &[$($word),+];

            /// The word written in tables, assay files and flags.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $word,)+
                }
            }

            /// The value a word names (exactly as written in [`Self::NAMES`]).
            pub fn from_name(word: &str) -> Option<$ty> {
                match word {
                    $($word => Some($ty::$variant),)+
                    _ => None,
                }
            }

            /// The words as a message lists them (`a, b or c`).
            pub fn choices() -> String {
                $crate::words::choices(Self::NAMES)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
                $ty::from_name(&s.trim().to_ascii_lowercase()).ok_or_else(|| {
                    format!("unknown {} `{s}` (expected {})", $what, $ty::choices())
                })
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(
                &self,
                serializer: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(
                deserializer: D,
            ) -> std::result::Result<Self, D::Error> {
                let word = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                $ty::from_name(&word)
                    .ok_or_else(|| serde::de::Error::unknown_variant(&word, $ty::NAMES))
            }
        }

        impl clap::ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                $ty::ALL
            }
            fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
                Some(clap::builder::PossibleValue::new(self.name()))
            }
        }
    };
}
pub(crate) use words;

/// The clap parser of a [`words!`] enum: `--help` lists the words (as for any `ValueEnum`), and
/// a bad word is refused with the enum's own message, the one the assay file gives, naming
/// every valid word.
pub fn parser<E>() -> WordParser<E>
where
    E: clap::ValueEnum + FromStr<Err = String> + Clone + Send + Sync + 'static,
{
    WordParser(PhantomData)
}

/// See [`parser`].
#[derive(Clone, Copy, Debug)]
pub struct WordParser<E>(PhantomData<E>);

impl<E> clap::builder::TypedValueParser for WordParser<E>
where
    E: clap::ValueEnum + FromStr<Err = String> + Clone + Send + Sync + 'static,
{
    type Value = E;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<E, clap::Error> {
        let text = value.to_string_lossy();
        text.parse().map_err(|message: String| {
            let flag = arg.map(|a| a.to_string()).unwrap_or_default();
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("invalid value '{text}' for '{flag}': {message}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            E::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_read_as_a_sentence() {
        assert_eq!(choices(&["a"]), "a");
        assert_eq!(choices(&["a", "b"]), "a or b");
        assert_eq!(choices(&["a", "b", "c"]), "a, b or c");
    }
}
