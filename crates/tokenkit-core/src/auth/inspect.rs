//! Reading just enough of an answer to classify it, and handing it back intact.
//!
//! The body is read up to the scheme's cap. A body that ends within the cap is kept
//! in memory (refusal envelopes and ordinary API answers); a longer one, or a stream
//! (`text/event-stream`, files), is passed on as it arrives: the chunks already read
//! first, then the rest of the connection, including an error that cut it.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use reqwest::header::CONTENT_TYPE;
use reqwest::{ResponseBuilderExt, Url};

use super::{Answer, Refusal, TokenScheme};

/// An answer, classified.
pub(crate) struct Inspected {
    pub(crate) response: reqwest::Response,
    pub(crate) refusal: Option<Refusal>,
}

/// Reads at most the scheme's cap of the body, asks the scheme whether the answer
/// refuses the token, and rebuilds the response (its URL scrubbed of the token).
pub(crate) async fn inspect(response: reqwest::Response, scheme: &dyn TokenScheme) -> Inspected {
    let cap = scheme.max_refusal_body();
    let mut url = response.url().clone();
    scheme.scrub_url(&mut url);
    let readable = cap > 0
        && response.content_length().is_none_or(|n| n <= cap as u64)
        && !is_stream(&response);
    let (parts, mut body) = http::Response::<reqwest::Body>::from(response).into_parts();
    if !readable {
        let refusal = scheme.refusal(&Answer::new(parts.status, &parts.headers, None));
        return Inspected {
            response: rebuild(parts, url, body),
            refusal,
        };
    }
    let mut chunks = VecDeque::new();
    let mut read = 0usize;
    let tail = loop {
        match body.frame().await {
            None => break None,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    read += data.len();
                    chunks.push_back(data);
                    if read > cap {
                        break Some(Tail::Rest(body));
                    }
                }
                Err(trailers) => break Some(Tail::Trailers(trailers, body)),
            },
            Some(Err(error)) => break Some(Tail::Failed(error)),
        }
    };
    match tail {
        None => {
            let whole = concat(chunks);
            let refusal = scheme.refusal(&Answer::new(parts.status, &parts.headers, Some(&whole)));
            Inspected {
                response: rebuild(parts, url, reqwest::Body::from(whole)),
                refusal,
            }
        }
        Some(tail) => {
            let refusal = scheme.refusal(&Answer::new(parts.status, &parts.headers, None));
            let replay = Replay {
                chunks,
                tail: Some(tail),
            };
            Inspected {
                response: rebuild(parts, url, reqwest::Body::wrap(replay)),
                refusal,
            }
        }
    }
}

/// Bodies that are streams by nature: reading ahead would wait on them.
fn is_stream(response: &reqwest::Response) -> bool {
    let Some(kind) = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let kind = kind.trim().to_ascii_lowercase();
    kind.starts_with("text/event-stream")
        || kind.starts_with("application/octet-stream")
        || ["multipart/", "image/", "audio/", "video/"]
            .iter()
            .any(|p| kind.starts_with(p))
}

fn concat(mut chunks: VecDeque<Bytes>) -> Bytes {
    match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop_front().unwrap_or_default(),
        _ => {
            let mut all = BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
            for chunk in chunks {
                all.extend_from_slice(&chunk);
            }
            all.freeze()
        }
    }
}

fn rebuild(mut parts: http::response::Parts, url: Url, body: reqwest::Body) -> reqwest::Response {
    // reqwest keeps a response's URL in an extension only its own builder can set.
    if let Some(extensions) = http::response::Builder::new().url(url).extensions_mut() {
        parts.extensions.extend(std::mem::take(extensions));
    }
    reqwest::Response::from(http::Response::from_parts(parts, body))
}

/// What follows the chunks already read.
enum Tail {
    /// The rest of the body, still on the connection.
    Rest(reqwest::Body),
    /// Trailers arrived, then possibly more.
    Trailers(Frame<Bytes>, reqwest::Body),
    /// The connection failed while the prefix was read.
    Failed(reqwest::Error),
}

/// A body that replays the chunks read ahead, then continues where reading stopped.
struct Replay {
    chunks: VecDeque<Bytes>,
    tail: Option<Tail>,
}

impl http_body::Body for Replay {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, reqwest::Error>>> {
        if let Some(chunk) = self.chunks.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        match self.tail.take() {
            None => Poll::Ready(None),
            Some(Tail::Failed(error)) => Poll::Ready(Some(Err(error))),
            Some(Tail::Trailers(trailers, rest)) => {
                self.tail = Some(Tail::Rest(rest));
                Poll::Ready(Some(Ok(trailers)))
            }
            Some(Tail::Rest(mut rest)) => {
                let polled = Pin::new(&mut rest).poll_frame(cx);
                if !matches!(polled, Poll::Ready(None)) {
                    self.tail = Some(Tail::Rest(rest));
                }
                polled
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty() && self.tail.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        let buffered: u64 = self.chunks.iter().map(|c| c.len() as u64).sum();
        match &self.tail {
            Some(Tail::Rest(rest)) | Some(Tail::Trailers(_, rest)) => {
                let inner = rest.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(inner.lower().saturating_add(buffered));
                if let Some(upper) = inner.upper() {
                    hint.set_upper(upper.saturating_add(buffered));
                }
                hint
            }
            _ => SizeHint::with_exact(buffered),
        }
    }
}
