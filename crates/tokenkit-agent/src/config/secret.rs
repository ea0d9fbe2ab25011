//! Where a secret comes from: an environment variable, a file, or — with a warning —
//! the config file itself.
//!
//! ```toml
//! password = { env = "TOKENKIT_AC_PASSWORD" }
//! secret = { file = "/run/secrets/ilab-secret" }   # trailing newline removed
//! des_key = "12345678"                             # inline: works, but warns
//! ```
//!
//! A source is resolved when a grant is built (at start and on every reload), so a
//! rotated file or a changed environment takes effect on `SIGHUP`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use tokenkit_core::Error;

/// Where one secret comes from. `Debug` never shows an inline value.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `{ env = "NAME" }`: the value of an environment variable of the agent.
    Env(String),
    /// `{ file = "PATH" }`: a file's content, one trailing newline removed; a relative
    /// path is relative to the config file's directory.
    File(PathBuf),
    /// A string in the config file: works, with a warning at every load (config files
    /// are copied, committed and printed more often than secrets should be).
    Inline(String),
}

impl SecretSource {
    /// The secret's value. The error names the source (variable or path), never a value.
    pub fn resolve(&self, base_dir: &Path) -> Result<String, Error> {
        let value = match self {
            Self::Env(name) => std::env::var(name).map_err(|_| {
                Error::config(format!("the environment variable {name} is not set"))
            })?,
            Self::File(path) => {
                let path = base_dir.join(path);
                let mut text = std::fs::read_to_string(&path).map_err(|e| {
                    Error::config(format!(
                        "cannot read the secret file {}: {}",
                        path.display(),
                        e.kind()
                    ))
                })?;
                if text.ends_with('\n') {
                    text.pop();
                    if text.ends_with('\r') {
                        text.pop();
                    }
                }
                text
            }
            Self::Inline(value) => value.clone(),
        };
        if value.is_empty() {
            return Err(Error::config(format!("{self:?} is empty")));
        }
        Ok(value)
    }

    /// Whether the value stands in the config file.
    pub fn is_inline(&self) -> bool {
        matches!(self, Self::Inline(_))
    }
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "the environment variable {name}"),
            Self::File(path) => write!(f, "the secret file {}", path.display()),
            Self::Inline(_) => f.write_str("the inline secret"),
        }
    }
}

impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SourceVisitor)
    }
}

/// Reads a source: a string (inline) or a table with `env` or `file`; shared with
/// `http.proxy`, which also takes `false`.
pub(super) struct SourceVisitor;

impl<'de> Visitor<'de> for SourceVisitor {
    type Value = SecretSource;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"{ env = "VARIABLE" }, { file = "PATH" } or a string"#)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(SecretSource::Inline(value.to_owned()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut source = None;
        while let Some(key) = map.next_key::<String>()? {
            let next = match key.as_str() {
                "env" => SecretSource::Env(map.next_value()?),
                "file" => SecretSource::File(map.next_value()?),
                other => {
                    return Err(de::Error::unknown_field(other, &["env", "file"]));
                }
            };
            if source.replace(next).is_some() {
                return Err(de::Error::custom("give one of `env` or `file`, not both"));
            }
        }
        match source {
            Some(SecretSource::Env(name)) if name.is_empty() => {
                Err(de::Error::custom("`env` names no variable"))
            }
            Some(source) => Ok(source),
            None => Err(de::Error::custom("give `env` or `file`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Holder {
        s: SecretSource,
    }

    fn parse(text: &str) -> Result<SecretSource, String> {
        toml::from_str::<Holder>(text)
            .map(|h| h.s)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_three_forms() {
        assert_eq!(
            parse(r#"s = { env = "X" }"#),
            Ok(SecretSource::Env("X".into()))
        );
        assert_eq!(
            parse(r#"s = { file = "a/b" }"#),
            Ok(SecretSource::File("a/b".into()))
        );
        assert_eq!(parse(r#"s = "v""#), Ok(SecretSource::Inline("v".into())));
    }

    #[test]
    fn ambiguous_or_unknown_forms_are_refused() {
        assert!(parse(r#"s = { env = "X", file = "y" }"#).is_err());
        assert!(parse(r#"s = { vault = "X" }"#).is_err());
        assert!(parse(r#"s = {}"#).is_err());
        assert!(parse(r#"s = { env = "" }"#).is_err());
        assert!(parse("s = 3").is_err());
    }

    #[test]
    fn debug_never_shows_an_inline_value() {
        let debug = format!("{:?}", SecretSource::Inline("sentinel-secret".into()));
        assert!(!debug.contains("sentinel"), "{debug}");
    }

    #[test]
    fn a_file_loses_one_trailing_newline_and_errors_name_the_source_only() {
        let dir =
            std::env::temp_dir().join(format!("tokenkit-agent-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("s"), "value\n").expect("write");
        let source = SecretSource::File("s".into());
        assert_eq!(source.resolve(&dir).expect("resolve"), "value");
        let missing = SecretSource::File("missing".into()).resolve(&dir);
        assert!(
            missing
                .expect_err("missing")
                .to_string()
                .contains("missing")
        );
        let unset = SecretSource::Env("TOKENKIT_AGENT_TEST_UNSET_VARIABLE".into()).resolve(&dir);
        assert!(
            unset
                .expect_err("unset")
                .to_string()
                .contains("TOKENKIT_AGENT_TEST_UNSET_VARIABLE")
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
