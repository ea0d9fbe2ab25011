//! `tokenkit ilab upload` and `tokenkit ilab flush`: report a student's result with a
//! stored grant, and deliver the results still pending in the store.
//!
//! A record is kept pending in the store before it is sent and removed once the
//! platform answered `code 0`, so a command killed mid-upload loses nothing: the next
//! `upload` of that session, or `flush`, delivers it with the same `originId` (the
//! platform keeps one record per `originId`). What cannot be delivered is printed, with
//! the record, on stdout; exit 3 when only the user's relaunch can help. A record the
//! platform refused stays in the store, marked, until `tokenkit ilab discard` takes it.

use std::io::Read;
use std::sync::Arc;

use serde_json::{Value, json};
use tokenkit::ilab::{
    ExperimentResult, Failure, FlushReport, IlabClient, Reporter, Retry, UploadError,
};
use tokenkit::{Error, TokenStore};

use crate::output::{CliResult, print_json};

/// Where `upload` reads the record from.
pub enum Source {
    /// A file of §1.4's JSON body.
    File(String),
    /// Standard input.
    Stdin,
}

/// Uploads one record for the user of `key`, then delivers the key's other pending
/// records (oldest first) if the platform took this one.
pub async fn upload(
    client: IlabClient,
    store: Arc<dyn TokenStore>,
    key: &str,
    un: &str,
    source: Source,
) -> CliResult {
    let record = read_record(source)?;
    let reporter = Reporter::resume(&client, store, key).username(un);
    match reporter.upload(record).await {
        Ok(receipt) => {
            let flushed = reporter.flush().await?;
            print_json(&json!({
                "delivered": receipt.origin_id,
                "code": 0,
                "msg": receipt.message,
                "pending_delivered": flushed.delivered.iter().map(|r| r.origin_id.as_str()).collect::<Vec<_>>(),
                "pending_failed": flushed.failed.iter().map(failed_json).collect::<Vec<_>>(),
            }));
            outcome(&flushed)
        }
        Err(failed) => {
            print_json(&failed_json(&failed));
            Err(failure_error(&failed))
        }
    }
}

/// Delivers the pending records of this experiment's grants in `store` (all of them,
/// or those of `key` only).
pub async fn flush(
    client: IlabClient,
    store: Arc<dyn TokenStore>,
    prefix: &str,
    key: Option<&str>,
) -> CliResult {
    let keys: Vec<String> = match key {
        Some(key) => vec![key.to_owned()],
        None => store
            .pending_keys()
            .await?
            .into_iter()
            .filter(|k| k.starts_with(prefix))
            .collect(),
    };
    let reports = Reporter::flush_keys(&client, store, keys, Retry::default()).await?;
    let mut all = FlushReport::default();
    let mut lines = Vec::with_capacity(reports.len());
    for report in reports {
        lines.push(json!({
            "key": report.grant_key,
            "delivered": report.delivered.iter().map(|r| r.origin_id.as_str()).collect::<Vec<_>>(),
            "failed": report.failed.iter().map(failed_json).collect::<Vec<_>>(),
            "unreadable": report.unreadable,
            "skipped": report.skipped,
        }));
        all.delivered.extend(report.delivered);
        all.failed.extend(report.failed);
        all.unreadable.extend(report.unreadable);
        all.skipped += report.skipped;
    }
    print_json(&json!({ "grants": lines }));
    outcome(&all)
}

/// Removes the pending record `origin_id` of `key` and prints it (the caller takes it
/// over); an error if there is none.
pub async fn discard(
    client: IlabClient,
    store: Arc<dyn TokenStore>,
    key: &str,
    origin_id: &str,
) -> CliResult {
    let reporter = Reporter::resume(&client, store, key);
    let record = reporter
        .pending()
        .await?
        .into_iter()
        .find(|r| r.origin_id() == origin_id);
    let Some(record) = record else {
        return Err(Error::config(format!(
            "no pending result {origin_id:?} for this session"
        )));
    };
    reporter.discard(origin_id).await?;
    print_json(&json!({ "discarded": origin_id, "record": record.to_json() }));
    Ok(())
}

fn read_record(source: Source) -> Result<ExperimentResult, Error> {
    let bytes = match source {
        Source::File(path) => std::fs::read(&path)
            .map_err(|e| Error::config(format!("cannot read the record file: {}", e.kind())))?,
        Source::Stdin => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .take(1 << 20)
                .read_to_end(&mut bytes)
                .map_err(|e| Error::config(format!("cannot read the record: {}", e.kind())))?;
            bytes
        }
    };
    ExperimentResult::from_json(&bytes).map_err(|e| Error::config(e.to_string()))
}

fn failure_name(failure: Failure) -> &'static str {
    match failure {
        Failure::Pending => "pending",
        Failure::Undeliverable => "undeliverable",
        Failure::Refused => "refused",
        Failure::NotKept => "not_kept",
    }
}

/// A record that was not delivered, whole: never dropped silently.
fn failed_json(failed: &UploadError) -> Value {
    let error = failed.error();
    json!({
        "failed": failed.record().origin_id(),
        "failure": failure_name(failed.failure()),
        "error": failed.to_string(),
        "code": error.platform_code(),
        "msg": error.platform_message(),
        "record": failed.record().to_json(),
    })
}

/// The error a failed record makes the command end with (stdout has the whole story):
/// its last error, a re-authentication error (exit 3) when only a relaunch helps.
fn failure_error(failed: &UploadError) -> Error {
    let error = failed.error().clone();
    if failed.needs_relaunch() && !error.is_reauth_required() {
        return Error::reauth(tokenkit::ilab::PLATFORM, error.to_string());
    }
    error
}

fn outcome(report: &FlushReport) -> CliResult {
    if let Some(failed) = report
        .failed
        .iter()
        .find(|f| f.needs_relaunch())
        .or_else(|| report.failed.first())
    {
        return Err(failure_error(failed));
    }
    if !report.unreadable.is_empty() {
        return Err(Error::store(
            format!(
                "{} pending records cannot be read; left in the store",
                report.unreadable.len()
            ),
            false,
        ));
    }
    Ok(())
}
