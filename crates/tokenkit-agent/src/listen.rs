//! The agent's listeners: a Unix socket (mode 0600 from the moment it has its name)
//! and a TCP address.

use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokenkit_core::Error;
use tokio::net::{TcpListener, UnixListener};

/// Binds the Unix socket at `path`.
///
/// A stale socket left by an agent that died is replaced; a socket another agent still
/// listens on, or a file that is not a socket, is an error. The socket is bound under
/// a temporary name, made 0600, then renamed into place, so no other user can connect
/// in between.
pub fn bind_unix(path: &Path) -> Result<UnixListener, Error> {
    let shown = path.display();
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(Error::config(format!(
                    "another agent is listening on {shown}: stop it, or give this one another \
                     listen.unix"
                )));
            }
            std::fs::remove_file(path)
                .map_err(|e| io_error("remove the stale socket", path, &e))?;
        }
        Ok(_) => {
            return Err(Error::config(format!(
                "{shown} exists and is not a socket: give listen.unix a free path"
            )));
        }
        Err(_) => {}
    }
    let name = path
        .file_name()
        .ok_or_else(|| Error::config(format!("listen.unix = {shown} names no file")))?;
    let temp = path.with_file_name(format!(
        ".{}.{}.binding",
        name.to_string_lossy(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&temp);
    let listener = std::os::unix::net::UnixListener::bind(&temp)
        .map_err(|e| io_error("listen on", path, &e))?;
    let placed = std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&temp);
        return Err(io_error("set up the socket", path, &e));
    }
    listener
        .set_nonblocking(true)
        .and_then(|()| UnixListener::from_std(listener))
        .map_err(|e| io_error("listen on", path, &e))
}

/// Binds the TCP address (the config has already refused a non-loopback one unless
/// allowed).
pub async fn bind_tcp(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), Error> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Error::config(format!("cannot listen on {addr}: {}", e.kind())))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::config(format!("cannot listen on {addr}: {}", e.kind())))?;
    Ok((listener, local))
}

/// The absolute form of `path`, for the `listening on unix:` line.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn io_error(what: &str, path: &Path, error: &std::io::Error) -> Error {
    Error::config(format!("cannot {what} {}: {error}", path.display()))
}
