//! What the soak measures per platform, from the outcomes of `token()` calls.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

/// The most distinct error messages kept; further ones are counted as "other".
const MAX_MESSAGES: usize = 20;

/// What the grant held when a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// No token before its deadline.
    None,
    /// A token before its deadline that the platform still accepts: the cache promises
    /// never to fail then.
    Valid,
    /// A token before its deadline that the platform no longer accepts (replaced by a
    /// renewal whose answer was cut off): failing instead of serving it is right.
    Replaced,
}

/// The outcomes of one platform's calls.
#[derive(Debug, Default)]
pub struct Tally {
    pub calls: u64,
    pub successes: u64,
    /// Errors returned while a token this grant's cache had handed out was still
    /// before its deadline and accepted by the platform: the cache promises there are
    /// none.
    pub errors_while_valid: u64,
    /// Errors returned while the latest token was before its deadline but no longer
    /// accepted by the platform (see [`Validity::Replaced`]).
    pub errors_while_replaced: u64,
    /// Errors saying only a new login helps (each followed by one).
    pub reauth_errors: u64,
    /// New grants after a re-authentication error.
    pub relogins: u64,
    /// When the current run of failures began (the first failure's return).
    outage_since: Option<Instant>,
    pub longest_outage: Duration,
    messages: BTreeMap<String, u64>,
}

impl Tally {
    /// A call that returned a token at `at`.
    pub fn success(&mut self, at: Instant) {
        self.calls += 1;
        self.successes += 1;
        if let Some(since) = self.outage_since.take() {
            self.longest_outage = self.longest_outage.max(at - since);
        }
    }

    /// A call that returned an error at `at`.
    pub fn failure(&mut self, at: Instant, validity: Validity, reauth: bool, message: String) {
        self.calls += 1;
        self.errors_while_valid += u64::from(validity == Validity::Valid);
        self.errors_while_replaced += u64::from(validity == Validity::Replaced);
        self.reauth_errors += u64::from(reauth);
        self.outage_since.get_or_insert(at);
        let key = if self.messages.len() < MAX_MESSAGES || self.messages.contains_key(&message) {
            message
        } else {
            "(other messages)".to_owned()
        };
        *self.messages.entry(key).or_default() += 1;
    }

    /// Closes an outage still running when the soak ends.
    pub fn finish(&mut self, end: Instant) {
        if let Some(since) = self.outage_since.take() {
            self.longest_outage = self.longest_outage.max(end - since);
        }
    }

    /// The share of calls that returned a token, in percent.
    pub fn success_percent(&self) -> f64 {
        if self.calls == 0 {
            return 0.0;
        }
        100.0 * self.successes as f64 / self.calls as f64
    }

    /// The `n` most frequent error messages, most frequent first.
    pub fn top_messages(&self, n: usize) -> Vec<(&str, u64)> {
        let mut all: Vec<(&str, u64)> = self
            .messages
            .iter()
            .map(|(m, c)| (m.as_str(), *c))
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.truncate(n);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_run_of_failures_is_the_outage() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut tally = Tally::default();
        tally.failure(t0, Validity::None, false, "a".into());
        tally.failure(t0 + s(1), Validity::Valid, false, "a".into());
        tally.success(t0 + s(2));
        tally.failure(t0 + s(3), Validity::Replaced, true, "b".into());
        tally.finish(t0 + s(10));
        assert_eq!(tally.longest_outage, s(7));
        assert_eq!((tally.calls, tally.successes), (4, 1));
        assert_eq!((tally.errors_while_valid, tally.reauth_errors), (1, 1));
        assert_eq!(tally.errors_while_replaced, 1);
        assert_eq!(tally.top_messages(1), vec![("a", 2)]);
    }
}
