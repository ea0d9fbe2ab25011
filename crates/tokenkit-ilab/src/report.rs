//! Reporting results with a grant's tokens (§1.4), so that none is lost or doubled.
//!
//! See [`Reporter`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::Value;
use tokenkit_core::auth::AuthClient;
use tokenkit_core::store::pending_lease_key;
use tokenkit_core::{Error, Sent, TokenCache, TokenStore};

use crate::attempt::Attempt;
use crate::data_get::{SignedQuery, parse_records};
use crate::outcome::{Failure, FlushReport, Receipt, Retry, UploadError};
use crate::pending::Entry;
use crate::upload_answer;
use crate::{ExperimentResult, IlabClient, IlabProvider, PLATFORM, Session};

/// Reports the results of one grant.
///
/// A [`Reporter`] serves one grant (one user's session). [`Reporter::upload`]:
///
/// 1. fills in the record's `username` and `appid`, and keeps the record as *pending*
///    in the grant's [`TokenStore`] before anything is sent (a `FileStore` or
///    `RedisStore` keeps it across a restart, and another process sharing the store
///    can finish it);
/// 2. sends it through the authenticated-call layer: the token in the query,
///    percent-encoded once; `code 2` costs one refresh within the grant's budget and
///    one more try (the layer's rule, [`IlabScheme`](crate::IlabScheme));
/// 3. retries a timeout, a dropped connection, a 5xx or an unreadable answer with
///    backoff and the *same* `originId`, so the platform keeps one record however many
///    times it was sent, while the grant can still get a token;
/// 4. removes the pending record only after the platform answered `code 0`.
///
/// What cannot be delivered comes back with the record ([`UploadError`]): still pending
/// in the store ([`Failure::Pending`]), undeliverable until the user relaunches the
/// experiment ([`Failure::Undeliverable`], kept for the relaunched grant of the same
/// key), refused by the platform ([`Failure::Refused`], not sent again, kept marked
/// until the application discards it), or not kept because the store failed
/// ([`Failure::NotKept`]). A record leaves the store only after `code 0`, or when the
/// application discards it.
/// [`Reporter::flush`] delivers what is pending, oldest first, one holder at a time.
///
/// ```no_run
/// use std::sync::Arc;
/// use tokenkit_ilab::{ExperimentResult, IlabClient, Reporter, SessionRegistry, Step, Ticket};
/// # async fn demo(raw_ticket: &str) -> Result<(), Box<dyn std::error::Error>> {
/// let client = IlabClient::builder("https://ilab.example", "1681600222748241929", "123456").build()?;
/// let sessions = SessionRegistry::new(client.clone());
/// let session = sessions.launch(Ticket::from_url_value(raw_ticket)?).await?;
/// let result = ExperimentResult::builder("单摆测重力加速度")
///     .times_ms(1711111313941, 1711112313941)
///     .score(86.0)
///     .step(Step::new(1, "实验操作").times_ms(1711111313941, 1711111913941).score(55.0, 60.0))
///     .build()?;
/// let receipt = Reporter::for_session(&client, session).upload(result).await?;
/// println!("stored as {}", receipt.origin_id);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Reporter {
    client: IlabClient,
    upload: AuthClient,
    read_back: AuthClient,
    username: Option<String>,
    retry: Retry,
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reporter")
            .field("key", &self.cache().key())
            .field("username", &self.username)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Reporter {
    /// A reporter of the grant cached in `grant` (a [`TokenCache`], or anything holding
    /// one). Its pending records live in the cache's store under the cache's key; the
    /// user is the one the grant's token names (`un`).
    pub fn new<C>(client: &IlabClient, grant: Arc<C>) -> Self
    where
        C: AsRef<TokenCache> + Send + Sync + 'static,
    {
        let http = client.http();
        Self {
            client: client.clone(),
            upload: http.calls(crate::IlabScheme, Arc::clone(&grant)),
            read_back: http.calls(
                SignedQuery {
                    client: client.clone(),
                },
                grant,
            ),
            username: None,
            retry: Retry::default(),
        }
    }

    /// A reporter of a registry's session (`un` known without a token).
    pub fn for_session(client: &IlabClient, session: Arc<Session>) -> Self {
        let username = session.un().to_owned();
        Self::new(client, session).username(username)
    }

    /// A reporter that can only resume a grant another process keeps in `store` under
    /// `key` (the CLI's `ilab flush`): it refreshes the stored grant when it must, and
    /// cannot exchange a ticket.
    pub fn resume(client: &IlabClient, store: Arc<dyn TokenStore>, key: &str) -> Self {
        let cache = TokenCache::builder(IlabProvider::resume(client.clone()))
            .store(store)
            .key(key)
            .build();
        Self::new(client, Arc::new(cache))
    }

    /// The platform user the records are for (default: the `un` of the grant's token).
    pub fn username(mut self, un: impl Into<String>) -> Self {
        self.username = Some(un.into());
        self
    }

    /// How hard one call tries per record (default [`Retry::default`]).
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// The grant's cache.
    pub fn cache(&self) -> &TokenCache {
        self.upload.cache()
    }

    fn store(&self) -> &Arc<dyn TokenStore> {
        self.cache().store()
    }

    fn key(&self) -> &str {
        self.cache().key()
    }

    /// Reports `result` for the grant's user; see [`Reporter`] for the steps and what
    /// comes back when it cannot be delivered.
    pub async fn upload(&self, result: ExperimentResult) -> Result<Receipt, UploadError> {
        let record = match self.fill(result).await {
            Ok(record) => record,
            Err((record, error)) => return Err(self.failed(Failure::NotKept, record, error)),
        };
        let kept = match self.keep(&record).await {
            Ok(()) => true,
            Err(error) => {
                // Delivery is still worth trying: only a failure needs the store.
                tracing::warn!(platform = PLATFORM, error = %error, "a result could not be kept as pending before its upload");
                false
            }
        };
        let outcome = self.deliver(&record).await;
        self.settle(record, outcome, kept).await
    }

    /// Delivers the grant's pending records, oldest first, each as [`upload`] would.
    /// One holder at a time flushes a key (the store's lease); another holder's flush
    /// in progress makes this one skip. `Err` only when the store cannot be read.
    ///
    /// [`upload`]: Reporter::upload
    pub async fn flush(&self) -> Result<FlushReport, Error> {
        let store = self.store();
        let mut report = FlushReport {
            grant_key: self.key().to_owned(),
            ..FlushReport::default()
        };
        let pending = store.pending(self.key()).await?;
        if pending.is_empty() {
            return Ok(report);
        }
        let lease_key = pending_lease_key(self.key());
        let lease_ttl = self.lease_ttl();
        let Some(lease) = store.try_lease(&lease_key, lease_ttl).await? else {
            report.skipped = pending.len();
            return Ok(report);
        };
        let mut records = pending.into_iter();
        for stored in records.by_ref() {
            let Ok(entry) = Entry::decode(stored.data()) else {
                tracing::warn!(
                    platform = PLATFORM,
                    id = stored.id(),
                    "a pending record is not a result; left in the store"
                );
                report.unreadable.push(stored.id().to_owned());
                continue;
            };
            if let Some(error) = entry.refusal_error() {
                // Refused before: reported again, never sent again.
                report
                    .failed
                    .push(self.failed(Failure::Refused, entry.record, error));
                continue;
            }
            let record = entry.record;
            let outcome = self.deliver(&record).await;
            let unreachable = matches!(outcome, Attempt::Retry(_) | Attempt::Stop(_));
            match self.settle(record, outcome, true).await {
                Ok(receipt) => report.delivered.push(receipt),
                Err(failed) => report.failed.push(failed),
            }
            if unreachable {
                break;
            }
            if !store.renew_lease(&lease, lease_ttl).await.unwrap_or(false) {
                // Another holder took over: it delivers the rest.
                break;
            }
        }
        report.skipped = records.count();
        if let Err(error) = store.release_lease(lease).await {
            tracing::debug!(platform = PLATFORM, error = %error, "the flush lease could not be released; it lapses");
        }
        Ok(report)
    }

    /// The grant's pending records (not yet acknowledged, refused ones included),
    /// oldest first; those that cannot be read as results are left out.
    pub async fn pending(&self) -> Result<Vec<ExperimentResult>, Error> {
        let stored = self.store().pending(self.key()).await?;
        Ok(stored
            .iter()
            .filter_map(|r| Entry::decode(r.data()).ok())
            .map(|entry| entry.record)
            .collect())
    }

    /// Removes the pending record `origin_id` from the store: the application took it
    /// over (a refused record, or one a relaunch will not come for). Whether it was
    /// pending.
    pub async fn discard(&self, origin_id: &str) -> Result<bool, Error> {
        self.store().remove_pending(self.key(), origin_id).await
    }

    /// The results the platform holds for the grant's user (`data_get`, §1.4), as the
    /// platform sent them.
    pub async fn records(&self) -> Result<Vec<Value>, Error> {
        let url = self.client.url(self.client.dialect().data_get_path());
        let answer = self.read_back.send(self.read_back.get(url)).await;
        // The token and its signature: an echo of either is scrubbed, from a refusal
        // of the call too.
        let sent = self.sent();
        let response = self
            .client
            .http()
            .read(answer.map_err(|e| sent.error(e))?)
            .await
            .map_err(|e| sent.error(e))?
            .with_sent(sent);
        let body: Value = response.json()?;
        parse_records(&body, &response.body, response.sent())
    }

    /// Every pending record of every grant in `store`, delivered by a reporter that
    /// resumes each grant ([`Reporter::resume`]). For a process that starts after
    /// another one died with records pending.
    pub async fn flush_store(
        client: &IlabClient,
        store: Arc<dyn TokenStore>,
        retry: Retry,
    ) -> Result<Vec<FlushReport>, Error> {
        let keys = store.pending_keys().await?;
        Self::flush_keys(client, store, keys, retry).await
    }

    /// Like [`Reporter::flush_store`], for the grants of `keys` only (those of one
    /// experiment, when a store holds several), in key order.
    pub async fn flush_keys(
        client: &IlabClient,
        store: Arc<dyn TokenStore>,
        mut keys: Vec<String>,
        retry: Retry,
    ) -> Result<Vec<FlushReport>, Error> {
        keys.sort();
        let mut reports = Vec::with_capacity(keys.len());
        for key in keys {
            let reporter = Self::resume(client, Arc::clone(&store), &key).retry(retry);
            reports.push(reporter.flush().await?);
        }
        Ok(reports)
    }

    /// The record with this grant's user and appid; `Err` hands the record back.
    async fn fill(
        &self,
        result: ExperimentResult,
    ) -> Result<ExperimentResult, (ExperimentResult, Error)> {
        let username = match &self.username {
            Some(un) => un.clone(),
            None => match self.token_user().await {
                Ok(un) => un,
                Err(error) => return Err((result, error)),
            },
        };
        let appid = self.client.appid();
        // Filling in must not turn another user's record into this one's.
        let foreign = match (result.username(), result.appid()) {
            (Some(named), _) if named != username => Some(format!(
                "the record's username {named:?} is not the session's user {username:?}"
            )),
            (_, Some(named)) if named != appid => Some(format!(
                "the record's appid {named:?} is not this experiment's appid"
            )),
            _ => None,
        };
        if let Some(reason) = foreign {
            return Err((result, Error::config(format!("ilab: {reason}"))));
        }
        Ok(result.for_session(&username, appid))
    }

    /// The `un` of the grant's token: the latest one installed, even expired, else a
    /// valid one.
    async fn token_user(&self) -> Result<String, Error> {
        let latest = self.cache().subscribe().borrow().clone();
        if let Some(user) = latest.as_ref().and_then(|t| t.user().cloned()) {
            return Ok(user.id);
        }
        let token = self.cache().token().await?;
        token.user().map(|u| u.id.clone()).ok_or_else(|| {
            Error::config("ilab: the grant's token names no user; give the reporter a username")
        })
    }

    async fn keep(&self, record: &ExperimentResult) -> Result<(), Error> {
        self.store()
            .put_pending(
                self.key(),
                record.origin_id(),
                &record.to_json().to_string(),
            )
            .await
    }

    /// Up to `retry.attempts` attempts, with backoff between them.
    async fn deliver(&self, record: &ExperimentResult) -> Attempt {
        let body = record.to_json().to_string();
        let attempts = self.retry.attempts.max(1);
        let mut failures = 0;
        loop {
            match self.attempt(&body).await {
                Attempt::Retry(error) => {
                    failures += 1;
                    tracing::debug!(platform = PLATFORM, origin_id = record.origin_id(), failures, error = %error, "result upload failed; the same record will be sent again");
                    if failures >= attempts {
                        return Attempt::Retry(error);
                    }
                    tokio::time::sleep(self.retry.backoff.delay(failures)).await;
                }
                other => return other,
            }
        }
    }

    /// One send of the record, classified.
    async fn attempt(&self, body: &str) -> Attempt {
        let url = self.client.url(self.client.dialect().upload_path());
        let request = self
            .upload
            .post(url)
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/json;charset=UTF-8"),
            )
            .body(body.to_owned());
        let answer = self.upload.send(request).await;
        let sent = self.sent();
        let response = match answer {
            Ok(response) => response,
            Err(error) => return Attempt::of_call_error(sent.error(error)),
        };
        let response = match self.client.http().read(response).await {
            Ok(response) => response.with_sent(sent),
            Err(error) => return Attempt::Retry(sent.error(error)),
        };
        let answer: Value = match response.json() {
            Ok(answer) => answer,
            // A 5xx, an HTML page, a truncated body: the record may or may not be
            // stored; sending it again with its `originId` is safe either way.
            Err(error) => return Attempt::Retry(error),
        };
        Attempt::of_answer(upload_answer::read(&answer, &response))
    }

    /// What a request of this grant may have carried: its latest token, the token's
    /// signature (`data_get`) and the app secret. The platform may echo any of it.
    fn sent(&self) -> Sent {
        let latest = self.cache().subscribe().borrow().clone();
        latest
            .map(|t| self.client.sent(t.access_token().expose_secret()))
            .unwrap_or_default()
    }

    /// Records the outcome in the store and turns it into the caller's result.
    async fn settle(
        &self,
        record: ExperimentResult,
        outcome: Attempt,
        kept: bool,
    ) -> Result<Receipt, UploadError> {
        match outcome {
            Attempt::Delivered(message) => {
                self.forget(&record).await;
                Ok(Receipt {
                    origin_id: record.origin_id().to_owned(),
                    message,
                })
            }
            Attempt::Refused(error) if kept => {
                self.mark_refused(&record, &error).await;
                Err(self.failed(Failure::Refused, record, error))
            }
            Attempt::Refused(error) => Err(self.failed(Failure::Refused, record, error)),
            Attempt::Undeliverable(error) if kept => {
                Err(self.failed(Failure::Undeliverable, record, error))
            }
            Attempt::Retry(error) | Attempt::Stop(error) if kept => {
                Err(self.failed(Failure::Pending, record, error))
            }
            Attempt::Undeliverable(error) | Attempt::Retry(error) | Attempt::Stop(error) => {
                Err(self.failed(Failure::NotKept, record, error))
            }
        }
    }

    /// Marks a pending record refused, so no flush sends it again. If that fails, a
    /// flush sends it once more and the platform refuses it once more.
    async fn mark_refused(&self, record: &ExperimentResult, error: &Error) {
        let entry = Entry::refused(record.clone(), error);
        if let Err(e) = self
            .store()
            .put_pending(self.key(), record.origin_id(), &entry.encode())
            .await
        {
            tracing::warn!(platform = PLATFORM, error = %e, origin_id = record.origin_id(), "a refused result could not be marked refused in the store");
        }
    }

    /// Removes an acknowledged record from the pending ones. If that
    /// fails, a later flush sends it again: the platform keeps one record per
    /// `originId`, so the cost is one request, not a duplicate.
    async fn forget(&self, record: &ExperimentResult) {
        if let Err(error) = self
            .store()
            .remove_pending(self.key(), record.origin_id())
            .await
        {
            tracing::warn!(platform = PLATFORM, error = %error, origin_id = record.origin_id(), "an acknowledged result is still pending in the store; a flush will send it once more");
        }
    }

    fn failed(&self, failure: Failure, record: ExperimentResult, error: Error) -> UploadError {
        UploadError::new(failure, record, error)
    }

    /// Long enough for one record's attempts and their waits.
    fn lease_ttl(&self) -> Duration {
        let attempts = self.retry.attempts.max(1);
        let per_attempt = Duration::from_secs(60);
        (per_attempt + self.retry.backoff.max).saturating_mul(attempts)
    }
}
