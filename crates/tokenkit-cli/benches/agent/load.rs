//! The load generator of the agent benchmark: keep-alive HTTP/1.1 connections, each
//! sending one `GET` and reading the whole answer before the next (no pipelining: a
//! program asking the agent for a token waits for it), every latency recorded.
//!
//! Hand-written HTTP/1.1 rather than hyper's client: one `write` and usually one `read`
//! per request, no header map, no body stream, no allocation, so that as much as
//! possible of the two cores the agent shares with this process is left to the agent.
//! It checks what an answer must be to count: status 200, and the whole body read by
//! its `Content-Length`.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::task::JoinSet;

/// Where the agent listens.
#[derive(Debug, Clone)]
pub enum Target {
    /// Its Unix socket.
    Unix(PathBuf),
    /// Its TCP address.
    Tcp(SocketAddr),
}

impl Target {
    /// The bytes of `GET path` with the agent's header (and a `Host` the TCP listener
    /// accepts: its own address).
    fn request(&self, path: &str) -> Arc<[u8]> {
        let host = match self {
            Self::Unix(_) => "localhost".to_owned(),
            Self::Tcp(addr) => addr.to_string(),
        };
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nTokenkit-Agent: 1\r\n\r\n")
            .into_bytes()
            .into()
    }
}

/// One keep-alive connection.
pub struct Conn<S> {
    stream: S,
    request: Arc<[u8]>,
    buf: Box<[u8]>,
}

/// A connection over either transport.
pub enum AnyConn {
    /// Over the Unix socket.
    Unix(Conn<UnixStream>),
    /// Over TCP.
    Tcp(Conn<TcpStream>),
}

impl AnyConn {
    /// Connects to `target`, for requests of `path`.
    pub async fn connect(target: &Target, path: &str) -> io::Result<Self> {
        let request = target.request(path);
        Self::open(target, request).await
    }

    async fn open(target: &Target, request: Arc<[u8]>) -> io::Result<Self> {
        Ok(match target {
            Target::Unix(path) => Self::Unix(Conn::new(UnixStream::connect(path).await?, request)),
            Target::Tcp(addr) => {
                let stream = TcpStream::connect(addr).await?;
                // Each request is one write: Nagle would only add delay to a
                // request that waits for its answer.
                stream.set_nodelay(true)?;
                Self::Tcp(Conn::new(stream, request))
            }
        })
    }

    /// One request; the body of its 200 answer.
    pub async fn get(&mut self) -> io::Result<&[u8]> {
        match self {
            Self::Unix(conn) => conn.get().await,
            Self::Tcp(conn) => conn.get().await,
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    fn new(stream: S, request: Arc<[u8]>) -> Self {
        Self {
            stream,
            request,
            // A token answer is well under 2 KiB.
            buf: vec![0; 16 * 1024].into_boxed_slice(),
        }
    }

    async fn get(&mut self) -> io::Result<&[u8]> {
        self.stream.write_all(&self.request).await?;
        let mut filled = 0;
        loop {
            if filled == self.buf.len() {
                return Err(io::Error::other("an answer larger than the buffer"));
            }
            let n = self.stream.read(&mut self.buf[filled..]).await?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            filled += n;
            if let Some((head, length)) = parse_head(&self.buf[..filled])? {
                let total = head + length;
                if filled > total {
                    return Err(io::Error::other("bytes after the answer (none was asked)"));
                }
                if filled == total {
                    return Ok(&self.buf[head..total]);
                }
            }
        }
    }
}

/// The length of the head and of the body once the head is complete; an error for an
/// answer that is not a 200 (its status line only: the body may hold a token).
fn parse_head(buf: &[u8]) -> io::Result<Option<(usize, usize)>> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = &buf[..end];
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let status = lines.next().unwrap_or_default();
    if !status.starts_with(b"HTTP/1.1 200 ") {
        return Err(io::Error::other(format!(
            "the agent answered {}",
            String::from_utf8_lossy(status)
        )));
    }
    let length = lines
        .find_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let (name, value) = line.split_at(colon);
            name.eq_ignore_ascii_case(b"content-length")
                .then(|| std::str::from_utf8(&value[1..]).ok()?.trim().parse().ok())?
        })
        .ok_or_else(|| io::Error::other("an answer without Content-Length"))?;
    Ok(Some((end + 4, length)))
}

/// What a load run measured.
pub struct Measured {
    /// Every latency of the measured window, in nanoseconds.
    pub latencies: Vec<u64>,
    /// From the window's start to the last measured answer.
    pub elapsed: Duration,
}

/// `connections` clients requesting `path` as fast as they get answers: `warmup`
/// unmeasured, then `measure` measured (requests sent in the window count).
pub async fn run(
    target: &Target,
    path: &str,
    connections: usize,
    warmup: Duration,
    measure: Duration,
) -> io::Result<Measured> {
    let request = target.request(path);
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(AnyConn::open(target, Arc::clone(&request)).await?);
    }
    let from = Instant::now() + warmup;
    let until = from + measure;
    let mut clients = JoinSet::new();
    for conn in conns {
        clients.spawn(drive(conn, from, until));
    }
    let mut latencies = Vec::new();
    let mut last = from;
    while let Some(joined) = clients.join_next().await {
        let (mine, finished) = joined.map_err(io::Error::other)??;
        latencies.extend(mine);
        last = last.max(finished);
    }
    Ok(Measured {
        latencies,
        elapsed: last - from,
    })
}

/// One client: requests until `until`; the latencies of those sent from `from` on,
/// and when the last one was answered.
async fn drive(
    mut conn: AnyConn,
    from: Instant,
    until: Instant,
) -> io::Result<(Vec<u64>, Instant)> {
    let mut latencies = Vec::with_capacity(1 << 16);
    loop {
        let sent = Instant::now();
        if sent >= until {
            return Ok((latencies, sent));
        }
        conn.get().await?;
        if sent >= from {
            latencies.push(elapsed_ns(sent));
        }
    }
}

/// `count` requests one after the other, each on a new connection (what a client that
/// does not keep connections pays: connect, request, close).
pub async fn fresh_connections(target: &Target, path: &str, count: usize) -> io::Result<Measured> {
    let request = target.request(path);
    let mut latencies = Vec::with_capacity(count);
    let start = Instant::now();
    for _ in 0..count {
        let sent = Instant::now();
        let mut conn = AnyConn::open(target, Arc::clone(&request)).await?;
        conn.get().await?;
        drop(conn);
        latencies.push(elapsed_ns(sent));
    }
    Ok(Measured {
        latencies,
        elapsed: start.elapsed(),
    })
}

fn elapsed_ns(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
