//! What a connection is doing, and so which deadline applies to it.
//!
//! A connection is always in one of three phases:
//!
//! - **head**: a request head is on its way: from the moment the connection opens, and
//!   again from the first byte received after an idle spell. Bounded by
//!   `header_read_timeout`, counted from the phase's start, so a client that drips one
//!   byte at a time does not push its deadline back.
//! - **busy**: a request was handed to the router and its answer is not yet fully
//!   sent. No deadline: the handler (and the faults it injects) decide how long it
//!   takes.
//! - **idle**: the last answer was sent and nothing has arrived since. Bounded by
//!   `idle_timeout`.
//!
//! The phase moves on from two observation points (`observe.rs`): bytes read from the
//! socket, and a request's [`Busy`] token taken when the router is called and dropped
//! with the answer's body.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::ConnectionLimits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Head,
    Busy,
    Idle,
}

#[derive(Debug)]
struct State {
    phase: Phase,
    since: Instant,
    /// Requests handed to the router whose answers are not yet fully sent.
    in_flight: usize,
}

/// The phase of one connection, shared by its socket, its requests and its watchdog.
#[derive(Debug)]
pub(crate) struct Activity {
    state: Mutex<State>,
    /// Woken on every change of phase, so the watchdog recomputes its deadline.
    changed: Notify,
}

impl Activity {
    /// A connection that has just opened: waiting for its first request head.
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                phase: Phase::Head,
                since: Instant::now(),
                in_flight: 0,
            }),
            changed: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every update is a few assignments: a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes arrived on the socket: an idle connection is now receiving a head.
    pub(crate) fn bytes_received(&self) {
        let mut state = self.state();
        if state.phase == Phase::Idle {
            state.phase = Phase::Head;
            state.since = Instant::now();
            drop(state);
            self.changed.notify_one();
        }
    }

    /// A request head is complete and goes to the router; the connection is busy until
    /// the returned token is dropped.
    pub(crate) fn request_started(self: &Arc<Self>) -> Busy {
        let mut state = self.state();
        state.in_flight += 1;
        state.phase = Phase::Busy;
        drop(state);
        self.changed.notify_one();
        Busy(Arc::clone(self))
    }

    fn request_finished(&self) {
        let mut state = self.state();
        state.in_flight = state.in_flight.saturating_sub(1);
        if state.in_flight == 0 {
            state.phase = Phase::Idle;
            state.since = Instant::now();
        }
        drop(state);
        self.changed.notify_one();
    }

    /// The deadline of the current phase, if it has one (`None` also when adding the
    /// limit would overflow the clock: a limit that large never fires).
    fn deadline(&self, limits: &ConnectionLimits) -> (&'static str, Option<Instant>) {
        let state = self.state();
        let (name, limit) = match state.phase {
            Phase::Head => ("header_read_timeout", limits.header_read_timeout),
            Phase::Idle => ("idle_timeout", limits.idle_timeout),
            Phase::Busy => ("none", None),
        };
        (name, limit.and_then(|limit| state.since.checked_add(limit)))
    }

    /// Resolves, with the name of the limit, once the connection has stayed in a phase
    /// longer than that phase allows; never while it keeps within its limits.
    pub(crate) async fn overdue(&self, limits: &ConnectionLimits) -> &'static str {
        loop {
            let changed = self.changed.notified();
            match self.deadline(limits) {
                (_, None) => changed.await,
                (name, Some(deadline)) => {
                    if Instant::now() >= deadline {
                        return name;
                    }
                    // Either way the loop re-reads the phase: a change may have come
                    // with the deadline.
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline) => {}
                        () = changed => {}
                    }
                }
            }
        }
    }
}

/// Held while a request is handled and answered; dropping it makes the connection idle
/// (when it was the last one in flight).
#[derive(Debug)]
pub(crate) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits(header: u64, idle: u64) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Some(Duration::from_secs(header)),
            idle_timeout: Some(Duration::from_secs(idle)),
            max_connections: None,
        }
    }

    // Paused clock and no sockets: the phases alone, step by step.
    #[tokio::test(start_paused = true)]
    async fn each_phase_has_its_own_deadline_and_busy_has_none() {
        let activity = Activity::new();
        let limits = limits(10, 60);
        assert_eq!(activity.overdue(&limits).await, "header_read_timeout");

        let activity = Activity::new();
        let busy = activity.request_started();
        let waiting = tokio::time::timeout(Duration::from_secs(3600), activity.overdue(&limits));
        assert!(waiting.await.is_err(), "no deadline while busy");
        drop(busy);
        let start = Instant::now();
        assert_eq!(activity.overdue(&limits).await, "idle_timeout");
        assert_eq!(start.elapsed(), Duration::from_secs(60));

        activity.bytes_received();
        let start = Instant::now();
        assert_eq!(activity.overdue(&limits).await, "header_read_timeout");
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_limit_too_large_for_the_clock_never_fires() {
        let activity = Activity::new();
        let limits = ConnectionLimits {
            header_read_timeout: Some(Duration::MAX),
            ..limits(1, 1)
        };
        let waiting = tokio::time::timeout(Duration::from_secs(3600), activity.overdue(&limits));
        assert!(waiting.await.is_err());
    }
}
