//! The contract between the authenticated-call layer and a platform: how the platform
//! expects a token on a request, and how it says "this token is no longer accepted".

use std::borrow::Cow;
use std::fmt;

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use reqwest::{Request, Url};
use zeroize::Zeroizing;

use super::Answer;
use crate::{AccessToken, Error};

/// How much of an answer's body is read to decide whether it refuses the token. A
/// refusal is a small envelope (`{"code": "10008", "msg": "…"}`); a larger body is not
/// one and is handed back untouched, streamed as it arrived.
pub const DEFAULT_MAX_REFUSAL_BODY: usize = 4096;

/// How a platform presents a token and how it refuses one.
///
/// Each platform crate implements it in a few lines; so can you, for another platform.
/// A platform that wants `X-Api-Token: <token>` and answers `{"errcode": 40014}` or
/// HTTP 401 for a stale token:
///
/// ```
/// use tokenkit_core::auth::{Answer, Placement, Refusal, TokenScheme};
/// use tokenkit_core::{AccessToken, Error};
///
/// #[derive(Debug)]
/// struct MyPlatform;
///
/// impl TokenScheme for MyPlatform {
///     fn platform(&self) -> &'static str {
///         "my-platform"
///     }
///     fn apply(&self, request: &mut reqwest::Request, token: &AccessToken) -> Result<(), Error> {
///         Placement::header("x-api-token").apply(request, token)
///     }
///     fn refusal(&self, answer: &Answer<'_>) -> Option<Refusal> {
///         if answer.status() == 401 {
///             return Some(Refusal::by_status());
///         }
///         let code = answer.json_field("errcode")?;
///         (code == "40014").then(|| Refusal::with_code(code, answer.json_field("errmsg")))
///     }
/// }
/// ```
pub trait TokenScheme: Send + Sync + fmt::Debug + 'static {
    /// The platform's name, for errors and logs.
    fn platform(&self) -> &'static str;

    /// Puts `token` on `request`, replacing any token already there (a repeated request
    /// carries the new token, not both).
    fn apply(&self, request: &mut Request, token: &AccessToken) -> Result<(), Error>;

    /// Whether `answer` refuses the token it was sent with. Refusals of anything else
    /// (a missing parameter, a permission the account lacks, a server error) are not
    /// refusals of the token: answer `None`, and the call's answer is returned as is.
    fn refusal(&self, answer: &Answer<'_>) -> Option<Refusal>;

    /// Removes the token from a URL before it is shown (the URL of the response handed
    /// back, of a transport error). Only schemes that put the token into the URL need
    /// it.
    fn scrub_url(&self, url: &mut Url) {
        let _ = url;
    }

    /// How many bytes of a body [`TokenScheme::refusal`] may need (default
    /// [`DEFAULT_MAX_REFUSAL_BODY`]); `0` for schemes that decide on the status alone.
    fn max_refusal_body(&self) -> usize {
        DEFAULT_MAX_REFUSAL_BODY
    }
}

/// A platform's refusal of a token: its code and message, when it sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refusal {
    code: Option<String>,
    message: Option<String>,
}

impl Refusal {
    /// A refusal said by the status alone (HTTP 401).
    pub fn by_status() -> Self {
        Self::default()
    }

    /// A refusal with the platform's code and, if it sent one, its message.
    pub fn with_code(code: impl Into<String>, message: Option<String>) -> Self {
        Self {
            code: Some(code.into()),
            message,
        }
    }

    /// The platform's code.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The platform's message, as it sent it (it may echo the token: the layer scrubs
    /// the token it sent before the message goes into an error).
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

/// Where a token goes on a request: the three ways the platforms of this project want
/// it, for [`TokenScheme::apply`] and [`TokenScheme::scrub_url`].
///
/// ```
/// use tokenkit_core::AccessToken;
/// use tokenkit_core::auth::Placement;
/// let mut request = reqwest::Request::new(
///     reqwest::Method::POST,
///     "https://ilab.example/open/api/v2/data_upload?x=1".parse().unwrap(),
/// );
/// Placement::query("access_token").apply(&mut request, &AccessToken::new("a+b/c="))?;
/// assert_eq!(request.url().query(), Some("x=1&access_token=a%2Bb%2Fc%3D"));
/// # Ok::<(), tokenkit_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// A header holding the token alone (ac: `token: <token>`).
    Header(HeaderName),
    /// `Authorization: Bearer <token>` (bo).
    Bearer,
    /// A query parameter, percent-encoded once so `+ / =` survive (ilab:
    /// `access_token`).
    Query(Cow<'static, str>),
}

impl Placement {
    /// A header placement. `name` must be a valid, lower-case header name.
    pub fn header(name: &'static str) -> Self {
        Self::Header(HeaderName::from_static(name))
    }

    /// A query-parameter placement.
    pub fn query(name: impl Into<Cow<'static, str>>) -> Self {
        Self::Query(name.into())
    }

    /// Puts `token` on `request`, replacing a value already there. Header values are
    /// marked sensitive, so HTTP tracing layers do not print them.
    pub fn apply(&self, request: &mut Request, token: &AccessToken) -> Result<(), Error> {
        match self {
            Self::Header(name) => {
                request
                    .headers_mut()
                    .insert(name.clone(), token.header_value()?);
            }
            Self::Bearer => {
                let text = Zeroizing::new(format!("Bearer {}", token.expose_secret()));
                let mut value = HeaderValue::from_str(&text).map_err(|_| {
                    Error::config("the token contains characters that cannot go into a header")
                })?;
                value.set_sensitive(true);
                request.headers_mut().insert(AUTHORIZATION, value);
            }
            Self::Query(name) => {
                let url = request.url_mut();
                if query_has(url, name) {
                    retain_query(url, |pair| !is_named(pair, name));
                }
                // form-urlencoding: `+` → %2B, `/` → %2F, `=` → %3D, exactly once.
                url.query_pairs_mut()
                    .append_pair(name, token.expose_secret());
            }
        }
        Ok(())
    }

    /// Replaces the token in `url` (query placements) with `redacted`. It works on
    /// the raw query, so the other parameters keep their exact encoding.
    pub fn scrub_url(&self, url: &mut Url) {
        let Self::Query(name) = self else {
            return;
        };
        let Some(query) = url.query() else {
            return;
        };
        if !query.split('&').any(|pair| is_named(pair, name)) {
            return;
        }
        let scrubbed: Vec<String> = query
            .split('&')
            .map(|pair| {
                if is_named(pair, name) {
                    format!("{name}=redacted")
                } else {
                    pair.to_owned()
                }
            })
            .collect();
        url.set_query(Some(&scrubbed.join("&")));
    }
}

/// Whether a raw `name=value` pair of a query is the parameter `name` (names are
/// compared as sent; the placements' names need no encoding).
fn is_named(pair: &str, name: &str) -> bool {
    pair.split('=').next() == Some(name)
}

fn query_has(url: &Url, name: &str) -> bool {
    url.query()
        .is_some_and(|q| q.split('&').any(|pair| is_named(pair, name)))
}

fn retain_query(url: &mut Url, keep: impl Fn(&str) -> bool) {
    let kept: Vec<&str> = url
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty() && keep(pair))
        .collect();
    let kept = kept.join("&");
    url.set_query((!kept.is_empty()).then_some(kept.as_str()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(url: &str) -> Request {
        Request::new(reqwest::Method::GET, url.parse().expect("url"))
    }

    #[test]
    fn query_placement_replaces_and_scrubs() {
        let place = Placement::query("access_token");
        let mut r = request("https://h/p?access_token=old&a=1");
        place
            .apply(&mut r, &AccessToken::new("n+w/=="))
            .expect("apply");
        assert_eq!(r.url().query(), Some("a=1&access_token=n%2Bw%2F%3D%3D"));
        let mut url = r.url().clone();
        place.scrub_url(&mut url);
        assert_eq!(url.query(), Some("a=1&access_token=redacted"));
        let mut bare = request("https://h/p");
        place
            .apply(&mut bare, &AccessToken::new("t"))
            .expect("apply");
        assert_eq!(bare.url().query(), Some("access_token=t"));
    }

    #[test]
    fn header_placements_are_sensitive() {
        let mut r = request("https://h/p");
        Placement::header("token")
            .apply(&mut r, &AccessToken::new("t1"))
            .expect("apply");
        Placement::Bearer
            .apply(&mut r, &AccessToken::new("t2"))
            .expect("apply");
        assert!(r.headers()["token"].is_sensitive());
        assert_eq!(r.headers()[AUTHORIZATION], "Bearer t2");
        assert!(r.headers()[AUTHORIZATION].is_sensitive());
        let err = Placement::Bearer
            .apply(&mut r, &AccessToken::new("bad\ntoken"))
            .expect_err("newline");
        assert!(!err.to_string().contains("bad"), "{err}");
    }
}
