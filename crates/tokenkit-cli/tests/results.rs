//! `tokenkit ilab upload` and `tokenkit ilab flush` as scripts use them: real
//! `tokenkit` processes against a `tokenkit sandbox` process, with the grant in a
//! file store. A record is delivered once, a bad record is refused before anything is
//! sent, a spent grant hands the record back with exit 3, and a process killed while
//! its upload hangs leaves the record for the next process, which delivers it once.

mod common;
#[path = "../../tokenkit-redis/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::Sandbox;

const APPID: &str = "1681600222748241929";
const START: i64 = 1_711_111_313_941;

fn store_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("results-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn tokenkit() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tokenkit"));
    command
        .env("TOKENKIT_ILAB_SECRET", "123456")
        .env_remove("TOKENKIT_LOG");
    command
}

fn run(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .expect("tokenkit runs")
}

fn stdout_json(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|_| panic!("one JSON object: {text}"))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A user launching the experiment: the grant kept in the store under `u1`.
fn launch(sandbox: &Sandbox, store: &str) {
    let ticket = sandbox.call(
        "POST",
        "/_sandbox/ilab/tickets",
        Some(&json!({"un": "u1", "dis": "张三"})),
    );
    let ticket = ticket["ticket_url_encoded"].as_str().expect("a ticket");
    let exchange = run(tokenkit()
        .args(["ilab", "exchange", "--base-url", &sandbox.base_url()])
        .args(["--appid", APPID, "--ticket", ticket, "--store", store]));
    assert!(exchange.status.success(), "{}", stderr(&exchange));
}

/// §1.4's body without `username`, `appid` and `originId` (filled in by the CLI).
fn record() -> Value {
    json!({"title": "单摆测重力加速度", "status": 1, "score": 86,
           "startTime": START, "endTime": START + 1_000_000, "timeUsed": 1000,
           "steps": [{"seq": 1, "title": "实验操作", "startTime": START,
                      "endTime": START + 600_000, "timeUsed": 600, "expectTime": 900,
                      "maxScore": 60, "score": 55, "repeatCount": 1, "evaluation": "优秀",
                      "scoringModel": "按步骤", "remarks": ""}]})
}

fn write_record(dir: &Path, record: &Value) -> String {
    std::fs::create_dir_all(dir).expect("dir");
    let path = dir.join(format!("record-{}.json", fastrand::u32(..)));
    std::fs::write(&path, record.to_string()).expect("write");
    path.display().to_string()
}

fn upload(sandbox: &Sandbox, store: &str, file: &str) -> Command {
    let mut command = tokenkit();
    command
        .args(["ilab", "upload", "--base-url", &sandbox.base_url()])
        .args(["--appid", APPID, "--session", "u1", "--store", store])
        .args(["--file", file]);
    command
}

fn flush(sandbox: &Sandbox, store: &str) -> Command {
    let mut command = tokenkit();
    command
        .args(["ilab", "flush", "--base-url", &sandbox.base_url()])
        .args(["--appid", APPID, "--store", store]);
    command
}

fn records(sandbox: &Sandbox) -> Vec<Value> {
    sandbox.call("GET", "/_sandbox/ilab/records", None)["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn an_upload_is_delivered_once_with_the_session_filled_in() {
    let sandbox = Sandbox::start();
    let dir = store_dir("once");
    let store = format!("file:{}", dir.display());
    launch(&sandbox, &store);
    let file = write_record(&dir, &record());
    let output = run(&mut upload(&sandbox, &store, &file));
    assert!(output.status.success(), "{}", stderr(&output));
    let answer = stdout_json(&output);
    assert_eq!(answer["code"], 0, "{answer}");
    let origin_id = answer["delivered"].as_str().expect("originId").to_owned();
    let stored = records(&sandbox);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["originId"], origin_id.as_str());
    assert_eq!(stored[0]["username"], "u1");
    assert_eq!(stored[0]["appid"], APPID);
    assert_eq!(stored[0]["steps"][0]["maxScore"], 60);
    // Nothing is left pending.
    let flushed = run(&mut flush(&sandbox, &store));
    assert!(flushed.status.success(), "{}", stderr(&flushed));
    assert_eq!(stdout_json(&flushed)["grants"], json!([]));
    assert_eq!(sandbox.count("ilab.data_upload"), 1);
    // The same file again is a new record (a new originId): two records.
    let again = run(&mut upload(&sandbox, &store, &file));
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(records(&sandbox).len(), 2);
    // A record that names its originId is the same record however often it is sent.
    let mut named = record();
    named["originId"] = json!("lab-run-7");
    let named_file = write_record(&dir, &named);
    for _ in 0..2 {
        let output = run(&mut upload(&sandbox, &store, &named_file));
        assert!(output.status.success(), "{}", stderr(&output));
    }
    assert_eq!(records(&sandbox).len(), 3);
}

#[test]
fn a_record_is_read_from_standard_input() {
    let sandbox = Sandbox::start();
    let dir = store_dir("stdin");
    let store = format!("file:{}", dir.display());
    launch(&sandbox, &store);
    for dash in [&["-"][..], &["--file", "-"][..]] {
        let mut child = tokenkit()
            .args(["ilab", "upload", "--base-url", &sandbox.base_url()])
            .args(["--appid", APPID, "--session", "u1", "--store", &store])
            .args(dash)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        std::io::Write::write_all(
            &mut child.stdin.take().expect("stdin"),
            record().to_string().as_bytes(),
        )
        .expect("write");
        let output = child.wait_with_output().expect("ran");
        assert!(output.status.success(), "{dash:?}: {}", stderr(&output));
        assert_eq!(stdout_json(&output)["code"], 0);
    }
    assert_eq!(records(&sandbox).len(), 2);
}

#[test]
fn a_bad_record_is_refused_before_anything_is_sent() {
    let sandbox = Sandbox::start();
    let dir = store_dir("bad");
    let store = format!("file:{}", dir.display());
    launch(&sandbox, &store);
    let mut bad = record();
    bad["steps"][0]["score"] = json!(61);
    let cases = [
        (bad, "steps[0].score"),
        (json!({"title": "t"}), "score"),
        (json!([1, 2]), "JSON object"),
    ];
    for (body, named) in cases {
        let file = write_record(&dir, &body);
        let output = run(&mut upload(&sandbox, &store, &file));
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(named),
            "{named}: {}",
            stderr(&output)
        );
    }
    let mut foreign = record();
    foreign["username"] = json!("someone-else");
    let file = write_record(&dir, &foreign);
    let output = run(&mut upload(&sandbox, &store, &file));
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("session's user"),
        "{}",
        stderr(&output)
    );
    assert_eq!(sandbox.count("ilab.data_upload"), 0);
    // A memory store would lose a pending record with the process.
    let output = run(&mut upload(&sandbox, "memory:", &file));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("outlives"), "{}", stderr(&output));
}

#[test]
fn a_spent_grant_hands_the_record_back_with_exit_3_and_keeps_it() {
    let sandbox = Sandbox::start();
    let dir = store_dir("spent");
    let store = format!("file:{}", dir.display());
    launch(&sandbox, &store);
    // The platform refuses each current token; the CLI renews twice, then the
    // budget is spent.
    for _ in 0..2 {
        let token = run(tokenkit()
            .args(["ilab", "token", "--base-url", &sandbox.base_url()])
            .args(["--appid", APPID, "--session", "u1", "--store", &store]));
        let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
        let revoked = sandbox.call(
            "POST",
            "/_sandbox/ilab/revoke",
            Some(&json!({"token": token})),
        );
        assert_eq!(revoked["revoked"], true);
        let file = write_record(&dir, &record());
        let output = run(&mut upload(&sandbox, &store, &file));
        assert!(output.status.success(), "{}", stderr(&output));
    }
    assert_eq!(sandbox.count("ilab.refreshtoken"), 2);
    let token = run(tokenkit()
        .args(["ilab", "token", "--base-url", &sandbox.base_url()])
        .args(["--appid", APPID, "--session", "u1", "--store", &store]));
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    sandbox.call(
        "POST",
        "/_sandbox/ilab/revoke",
        Some(&json!({"token": token})),
    );
    let file = write_record(&dir, &record());
    let output = run(&mut upload(&sandbox, &store, &file));
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let answer = stdout_json(&output);
    assert_eq!(answer["failure"], "undeliverable", "{answer}");
    assert_eq!(answer["record"]["username"], "u1");
    assert_eq!(answer["record"]["title"], "单摆测重力加速度");
    assert!(stderr(&output).contains("relaunch"), "{}", stderr(&output));
    assert_eq!(sandbox.count("ilab.refreshtoken"), 2, "no third refresh");
    // Still pending: a flush says the same, and spends nothing either.
    let flushed = run(&mut flush(&sandbox, &store));
    assert_eq!(flushed.status.code(), Some(3), "{}", stderr(&flushed));
    let report = stdout_json(&flushed);
    assert_eq!(
        report["grants"][0]["failed"][0]["failed"], answer["failed"],
        "{report}"
    );
    assert_eq!(sandbox.count("ilab.refreshtoken"), 2);
    // A second result of the spent grant, given up on by the application.
    let second_file = write_record(&dir, &record());
    let second = run(&mut upload(&sandbox, &store, &second_file));
    assert_eq!(second.status.code(), Some(3), "{}", stderr(&second));
    let second = stdout_json(&second)["failed"].clone();
    let discarded = run(tokenkit()
        .args(["ilab", "discard", "--base-url", &sandbox.base_url()])
        .args(["--appid", APPID, "--session", "u1", "--store", &store])
        .args(["--origin-id", second.as_str().expect("originId")]));
    assert!(discarded.status.success(), "{}", stderr(&discarded));
    let discarded = stdout_json(&discarded);
    assert_eq!(discarded["discarded"], second);
    assert_eq!(discarded["record"]["title"], "单摆测重力加速度");
    let unknown = run(tokenkit()
        .args(["ilab", "discard", "--base-url", &sandbox.base_url()])
        .args(["--appid", APPID, "--session", "u1", "--store", &store])
        .args(["--origin-id", "no-such-record"]));
    assert_eq!(unknown.status.code(), Some(1));
    // The user relaunches: the new grant of the same user delivers the first one.
    launch(&sandbox, &store);
    let flushed = run(&mut flush(&sandbox, &store));
    assert!(flushed.status.success(), "{}", stderr(&flushed));
    let report = stdout_json(&flushed);
    assert_eq!(
        report["grants"][0]["delivered"][0], answer["failed"],
        "{report}"
    );
    assert_eq!(records(&sandbox).len(), 3);
}

#[test]
fn a_process_killed_with_a_record_pending_leaves_it_to_the_next_one() {
    let dir = store_dir("killed");
    killed_then_flushed(&format!("file:{}", dir.display()), &dir);
}

#[test]
fn over_redis_the_next_process_delivers_what_a_killed_one_left() {
    let redis = redis_or_skip!();
    killed_then_flushed(&redis.url(), &store_dir("killed-redis"));
}

/// A process killed while its upload hangs (the platform stored the record and has
/// not answered), then another process's flush.
fn killed_then_flushed(store: &str, dir: &Path) {
    let sandbox = Sandbox::start();
    let store = store.to_owned();
    launch(&sandbox, &store);
    // The platform stores the next upload, then answers only after a minute.
    let armed = sandbox.call(
        "POST",
        "/_sandbox/ilab/stall",
        Some(&json!({"uploads": 1, "ms": 60_000})),
    );
    assert_eq!(armed["armed"], 1);
    let file = write_record(dir, &record());
    let mut hanging = upload(&sandbox, &store, &file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while records(&sandbox).is_empty() {
        assert!(Instant::now() < deadline, "the upload never arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
    hanging.kill().expect("kill");
    hanging.wait().expect("reaped");
    let stored = records(&sandbox);
    let origin_id = stored[0]["originId"].clone();
    // The next process delivers what the killed one left pending: the same record.
    let flushed = run(&mut flush(&sandbox, &store));
    assert!(flushed.status.success(), "{}", stderr(&flushed));
    let report = stdout_json(&flushed);
    assert_eq!(
        report["grants"][0]["delivered"],
        json!([origin_id]),
        "{report}"
    );
    assert_eq!(records(&sandbox).len(), 1, "one record on the platform");
    assert_eq!(
        sandbox.count("ilab.data_upload"),
        2,
        "sent twice, kept once"
    );
    // And nothing is pending any more.
    let again = run(&mut flush(&sandbox, &store));
    assert_eq!(stdout_json(&again)["grants"], json!([]));
}
