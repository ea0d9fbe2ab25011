//! Captures every tracing event (TRACE and up) of the current thread as text, for the
//! tests that check no secret reaches the logs. Shared by the platform crates' tests
//! with `#[path = "../../tokenkit-core/tests/support/traces.rs"] mod traces;`.

#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The capture; events are recorded until it is dropped.
pub struct Traces {
    buffer: Captured,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Traces {
    /// Starts capturing this thread's events.
    pub fn capture() -> Self {
        let buffer = Captured::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        Self {
            buffer,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.0.lock().unwrap_or_else(|p| p.into_inner()))
            .into_owned()
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
