//! Authenticated calls: put the token on the request and recover when the platform
//! refuses it.
//!
//! A [`TokenScheme`] says how a platform presents a token ([`Placement`]: a header,
//! `Authorization: Bearer`, a query parameter) and how it refuses one (a status, a code
//! in the body: [`Answer`], [`Refusal`]). [`AuthClient`] and, with the `middleware`
//! feature, [`AuthMiddleware`] use it around a [`TokenCache`](crate::TokenCache):
//!
//! - every request carries the cache's current token;
//! - an answer that refuses *that* token: [`TokenCache::invalidate`](crate::TokenCache::invalidate)
//!   with it (a burst of refusals of one token makes one renewal; a token that was
//!   already replaced makes none), then the request is repeated **once** with the new
//!   token;
//! - a refusal of the renewed token is [`Error::TokenRefused`](crate::Error::TokenRefused),
//!   not a loop; a refused request whose body is a stream is
//!   [`Error::NotRepeatable`](crate::Error::NotRepeatable);
//! - any other answer (success, a refusal of something else, 5xx) and any transport
//!   failure (timeout) is returned as it is, never repeated by this layer;
//! - at most [`TokenScheme::max_refusal_body`] bytes of a body are read to classify
//!   it; a longer body streams through untouched;
//! - the token appears in no log line and no error, and is scrubbed from the URL of
//!   the response handed back.

mod answer;
mod call;
mod client;
mod inspect;
#[cfg(feature = "middleware")]
mod middleware;
mod scheme;

pub use answer::Answer;
pub use call::SharedCache;
pub use client::AuthClient;
#[cfg(feature = "middleware")]
pub use middleware::AuthMiddleware;
pub use scheme::{DEFAULT_MAX_REFUSAL_BODY, Placement, Refusal, TokenScheme};
