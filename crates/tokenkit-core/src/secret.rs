//! Secret values: app secrets, passwords, DES keys, access and refresh tokens.
//!
//! Every secret type prints `[redacted]` through `Debug` and `Display`, wipes its bytes
//! when dropped, and becomes a *sensitive* header value on the wire (so HTTP tracing
//! layers omit it). Reading the value takes a call to [`Secret::expose_secret`], a name
//! a reviewer notices.

use std::fmt;
use std::sync::Arc;

use reqwest::header::HeaderValue;
use zeroize::Zeroize;

use crate::Error;

/// A string that must not leak: redacted `Debug`/`Display`, zeroized when the last
/// clone is dropped.
///
/// Clones share one allocation (a reference count), so copying a token into a store, a
/// cache entry and a change notification costs no extra copy of its secrets.
///
/// ```
/// use tokenkit_core::Secret;
/// let s = Secret::new("hunter2");
/// assert_eq!(format!("{s:?}"), "[redacted]");
/// assert_eq!(s.expose_secret(), "hunter2");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<Wiped>);

/// The shared bytes of a [`Secret`], wiped on drop.
#[derive(PartialEq, Eq)]
struct Wiped(Box<str>);

impl Drop for Wiped {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Arc::new(Wiped(value.into().into_boxed_str())))
    }

    /// The secret value. Call it only where the value must go on the wire or to the user.
    pub fn expose_secret(&self) -> &str {
        &self.0.0
    }

    /// True when the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.0.is_empty()
    }

    /// The value as an HTTP header value marked sensitive.
    pub fn header_value(&self) -> Result<HeaderValue, Error> {
        let mut value = HeaderValue::from_str(&self.0.0).map_err(|_| {
            Error::config("a secret contains characters that cannot go into an HTTP header")
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

/// Declares a named secret type around [`Secret`], so a password cannot be passed where a
/// token is expected (the pattern of oauth2-rs `new_secret_type!`).
macro_rules! secret_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(Secret);

        impl $name {
            /// Wraps a value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(Secret::new(value))
            }

            /// The secret value; call it only where it must go on the wire or to the user.
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }

            /// The value as an HTTP header value marked sensitive.
            pub fn header_value(&self) -> Result<HeaderValue, Error> {
                self.0.header_value()
            }

            /// The underlying [`Secret`].
            pub fn as_secret(&self) -> &Secret {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "([redacted])"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }
    };
}

secret_type!(
    /// An access token: the credential sent with every API call.
    AccessToken
);
secret_type!(
    /// A refresh token: renews a grant; often scarcer than the access token.
    RefreshToken
);
secret_type!(
    /// An application secret issued by a platform (the ilab `secret`).
    AppSecret
);
secret_type!(
    /// A user's password (the ac `password` header).
    Password
);
secret_type!(
    /// A symmetric key (the bo DES key).
    SecretKey
);

#[cfg(test)]
mod tests {
    use super::*;

    const SENTINEL: &str = "SENTINEL-c0ffee";

    #[test]
    fn every_secret_type_redacts_debug_and_display() {
        let rendered = [
            format!("{:?} {}", Secret::new(SENTINEL), Secret::new(SENTINEL)),
            format!(
                "{:?} {}",
                AccessToken::new(SENTINEL),
                AccessToken::new(SENTINEL)
            ),
            format!(
                "{:?} {}",
                RefreshToken::new(SENTINEL),
                RefreshToken::new(SENTINEL)
            ),
            format!(
                "{:?} {}",
                AppSecret::new(SENTINEL),
                AppSecret::new(SENTINEL)
            ),
            format!("{:?} {}", Password::new(SENTINEL), Password::new(SENTINEL)),
            format!(
                "{:?} {}",
                SecretKey::new(SENTINEL),
                SecretKey::new(SENTINEL)
            ),
        ];
        for text in rendered {
            assert!(!text.contains(SENTINEL), "{text}");
            assert!(text.contains("redacted"), "{text}");
        }
    }

    #[test]
    fn header_values_are_sensitive() {
        let value = Password::new(SENTINEL)
            .header_value()
            .expect("valid header");
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains(SENTINEL));
    }

    #[test]
    fn a_secret_with_a_newline_is_a_config_error_without_the_value() {
        let err = Secret::new(format!("{SENTINEL}\n"))
            .header_value()
            .unwrap_err();
        assert!(!err.to_string().contains(SENTINEL));
    }
}
