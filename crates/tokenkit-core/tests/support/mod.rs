//! A scripted provider for cache tests: it counts calls, waits as told (on the paused
//! clock), and answers from a script.

#![allow(dead_code, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokenkit_core::{
    Arrival, Error, Expiry, RefreshPolicy, Token, TokenProvider, TransientKind, async_trait,
};

/// What the next call answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// A token that lives this long.
    Token(Duration),
    /// This error.
    Fail(Error),
}

#[derive(Debug)]
pub struct Scripted {
    pub fetches: AtomicU32,
    pub refreshes: AtomicU32,
    serial: AtomicU32,
    fetch_script: Mutex<VecDeque<Answer>>,
    refresh_script: Mutex<VecDeque<Answer>>,
    /// The answer when a script is empty.
    default_lifetime: Duration,
    /// How long each call takes.
    pub delay: Duration,
    pub policy: RefreshPolicy,
}

impl Scripted {
    pub fn new(lifetime: Duration) -> Self {
        Self {
            fetches: AtomicU32::new(0),
            refreshes: AtomicU32::new(0),
            serial: AtomicU32::new(0),
            fetch_script: Mutex::new(VecDeque::new()),
            refresh_script: Mutex::new(VecDeque::new()),
            default_lifetime: lifetime,
            delay: Duration::from_millis(50),
            policy: RefreshPolicy::default(),
        }
    }

    pub fn with_policy(mut self, policy: RefreshPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn then_fetch(self, answer: Answer) -> Self {
        self.fetch_script
            .lock()
            .expect("script lock")
            .push_back(answer);
        self
    }

    pub fn then_refresh(self, answer: Answer) -> Self {
        self.refresh_script
            .lock()
            .expect("script lock")
            .push_back(answer);
        self
    }

    pub fn fetches(&self) -> u32 {
        self.fetches.load(Ordering::SeqCst)
    }

    pub fn refreshes(&self) -> u32 {
        self.refreshes.load(Ordering::SeqCst)
    }

    async fn answer(&self, script: &Mutex<VecDeque<Answer>>, kind: &str) -> Result<Token, Error> {
        tokio::time::sleep(self.delay).await;
        let next = script.lock().expect("script lock").pop_front();
        match next.unwrap_or(Answer::Token(self.default_lifetime)) {
            Answer::Token(lifetime) => {
                let n = self.serial.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(Token::new(
                    format!("{kind}-{n}"),
                    Expiry::after(Arrival::now(), lifetime),
                )
                .with_refresh_token(format!("r-{n}")))
            }
            Answer::Fail(e) => Err(e),
        }
    }
}

#[async_trait]
impl TokenProvider for Scripted {
    async fn fetch(&self) -> Result<Token, Error> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        self.answer(&self.fetch_script, "fetched").await
    }

    async fn refresh(&self, _current: &Token) -> Result<Token, Error> {
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        self.answer(&self.refresh_script, "refreshed").await
    }

    fn policy(&self) -> RefreshPolicy {
        self.policy
    }
}

pub fn server_error() -> Error {
    Error::Transient {
        platform: "test",
        kind: TransientKind::ServerError,
        status: Some(502),
        excerpt: String::new(),
    }
}

pub fn reauth() -> Error {
    Error::reauth("test", "the ticket was already used; relaunch")
}

pub fn outcome_unknown() -> Error {
    Error::OutcomeUnknown {
        platform: "test",
        operation: "refresh",
        waited: Duration::from_secs(15),
        cut_off: None,
    }
}
