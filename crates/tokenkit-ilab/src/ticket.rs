//! The launch ticket: what the platform appends to the experiment's URL when the user
//! clicks "我要做实验".
//!
//! §1.1: the ticket arrives percent-encoded in the launch URL; it is decoded **exactly
//! once** before hashing and percent-encoded **exactly once** in the request. Tickets
//! can contain `+`, `/` and `=`: decoding is plain percent-decoding, so a literal `+`
//! stays `+` (form decoding would turn it into a space and break the signature).

use std::fmt;

use percent_encoding::percent_decode_str;
use tokenkit_core::{Error, Secret};

/// A single-use launch ticket, held decoded. Its `Debug` is redacted: until it is
/// exchanged it is a credential.
///
/// ```
/// use tokenkit_ilab::Ticket;
/// let a = Ticket::new("ab+c/d=");
/// let b = Ticket::from_url_value("ab%2Bc%2Fd%3D")?;
/// let c = Ticket::from_launch_url("https://lab.example/launch?ticket=ab%2Bc%2Fd%3D&x=1")?;
/// assert_eq!(a.expose_secret(), b.expose_secret());
/// assert_eq!(b.expose_secret(), c.expose_secret());
/// assert_eq!(format!("{a:?}"), "Ticket([redacted])");
/// # Ok::<(), tokenkit_ilab::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Ticket(Secret);

impl Ticket {
    /// A ticket already decoded (as the platform minted it).
    pub fn new(decoded: impl Into<String>) -> Self {
        Self(Secret::new(decoded.into()))
    }

    /// The `ticket` value exactly as it stands in the launch URL's query string;
    /// percent-decoded once. A `+` stays a `+`.
    pub fn from_url_value(raw: &str) -> Result<Self, Error> {
        let decoded = percent_decode_str(raw).decode_utf8().map_err(|_| {
            Error::config("ilab: the ticket is not valid UTF-8 once percent-decoded")
        })?;
        Ok(Self::new(decoded.into_owned()))
    }

    /// The whole launch URL (`https://lab.example/launch?ticket=…`); the first `ticket`
    /// query parameter is taken and percent-decoded once.
    pub fn from_launch_url(url: &str) -> Result<Self, Error> {
        let without_fragment = url.split('#').next().unwrap_or_default();
        let query = without_fragment
            .split_once('?')
            .map(|(_, q)| q)
            .ok_or_else(|| Error::config("ilab: the launch URL has no query string"))?;
        let raw = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("ticket="))
            .ok_or_else(|| Error::config("ilab: the launch URL has no ticket parameter"))?;
        Self::from_url_value(raw)
    }

    /// The decoded ticket; call it only to put the ticket on the wire.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether the ticket is empty (the platform would answer code 1).
    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
    }
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ticket([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_exactly_once_and_keeps_plus() {
        let t = Ticket::from_url_value("a+b%2Bc%252B").expect("valid");
        // `+` stays `+`, `%2B` becomes `+`, `%252B` becomes `%2B` (not decoded twice).
        assert_eq!(t.expose_secret(), "a+b+c%2B");
    }

    #[test]
    fn the_seed_ticket_is_unchanged_by_decoding() {
        let seed = crate::test_vectors::SEED_TICKET;
        assert_eq!(
            Ticket::from_url_value(seed).expect("valid").expose_secret(),
            seed
        );
    }

    #[test]
    fn launch_urls() {
        let t = Ticket::from_launch_url("http://h/launch?a=1&ticket=x%3D%3D&ticket=y#frag")
            .expect("valid");
        assert_eq!(t.expose_secret(), "x==");
        let t = Ticket::from_launch_url("http://h/launch?ticket=p+q#ticket=z").expect("valid");
        assert_eq!(t.expose_secret(), "p+q");
        for bad in [
            "http://h/launch",
            "http://h/launch?x=1",
            "http://h/#?ticket=1",
        ] {
            let err = Ticket::from_launch_url(bad).expect_err("must fail");
            assert!(matches!(err, Error::Config(_)), "{bad}: {err}");
        }
        assert!(Ticket::from_url_value("%FF").is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let t = Ticket::new("SENTINEL-TICKET");
        assert!(!format!("{t:?}").contains("SENTINEL"));
        assert!(Ticket::new("").is_empty());
    }
}
