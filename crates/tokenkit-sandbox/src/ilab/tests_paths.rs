//! The ilab data routes' configuration and faults over real sockets: path aliases
//! (served and fault-injected like their routes), the stall after storing, and any body
//! getting a JSON answer.

use std::time::Duration;

use serde_json::{Value, json};

use super::tests::{APPID, JsonValue, admin, record, sign, start, upload};
use crate::{Sandbox, SandboxConfig};

use super::tests_data::data_get;
use super::tests_v2::{encoded, v2_token};

#[tokio::test]
async fn path_aliases_serve_both_data_routes_and_bad_ones_are_refused() {
    let sandbox = start(super::IlabConfig {
        upload_path_aliases: vec!["/oauth/api/data_upload".to_owned()],
        data_get_path_aliases: vec!["/oauth/api/data_get".to_owned(), "/x/read".to_owned()],
        ..super::IlabConfig::default()
    })
    .await;
    let token = v2_token(&sandbox, "u1").await;
    let query = format!("access_token={}", encoded(&token));
    let post = |path: &str, body: &Value| {
        reqwest::Client::new()
            .post(format!("{}{path}?{query}", sandbox.base_url()))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let stored = post("/oauth/api/data_upload", &record("u1", "r-1", 1))
        .await
        .expect("answers")
        .json_value()
        .await;
    assert_eq!(stored["code"], 0, "{stored}");
    // The aliases are the same handler: the same checks, the same records.
    let refused = post("/oauth/api/data_upload", &json!({}))
        .await
        .expect("answers")
        .json_value()
        .await;
    assert_eq!(refused["code"], 3);
    let doubled = post("//oauth/api/data_upload", &record("u1", "r-1", 2))
        .await
        .expect("answers")
        .json_value()
        .await;
    assert_eq!(doubled["code"], 0, "doubled slashes, as on every route");
    let sig = sign(&token);
    let params = [
        ("access_token", token.as_str()),
        ("appid", APPID),
        ("signature", sig.as_str()),
    ];
    for path in ["/oauth/api/data_get", "/x/read", super::DATA_GET_PATH] {
        let listed = data_get(&sandbox, path, &params).await;
        assert_eq!(listed["data"], json!([record("u1", "r-1", 2)]), "{path}");
    }
    // The routes themselves are still served; other paths are still 404s.
    assert_eq!(
        upload(&sandbox, &token, &record("u1", "r-2", 3)).await["code"],
        0
    );
    let missing = reqwest::get(format!("{}/oauth/api/other", sandbox.base_url()))
        .await
        .expect("answers");
    assert_eq!(missing.status(), 404);
    let stats = sandbox.stats();
    assert_eq!(
        stats.get("ilab.data_upload"),
        4,
        "aliases count as the route"
    );
    assert_eq!(stats.get("ilab.data_get"), 3);
    assert_eq!(
        stats.snapshot()["requests"],
        json!({"ilab.data_get": 3, "ilab.data_upload": 4, "ilab.token": 1}),
        "an unknown path is not counted"
    );

    for bad in [
        "no-slash",
        "/x/{id}",
        "/open/api/v2/token",
        "/_sandbox/ilab/x",
    ] {
        let err = Sandbox::start(SandboxConfig {
            ilab: super::IlabConfig {
                data_get_path_aliases: vec![bad.to_owned()],
                ..super::IlabConfig::default()
            },
            ..SandboxConfig::default()
        })
        .await
        .expect_err(bad);
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{bad}");
        assert!(err.to_string().contains(bad), "{err}");
    }
}

#[tokio::test]
async fn aliases_are_fault_injected_like_their_routes_and_unknown_paths_are_not() {
    let sandbox = Sandbox::start(SandboxConfig {
        faults: crate::Faults {
            fail_rate: 1.0,
            ..crate::Faults::default()
        },
        ilab: super::IlabConfig {
            upload_path_aliases: vec!["/oauth/api/data_upload".to_owned()],
            ..super::IlabConfig::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    let client = reqwest::Client::new();
    let status = |path: &'static str| {
        let request = client.post(format!("{}{path}", sandbox.base_url())).send();
        async move { request.await.expect("answers").status() }
    };
    assert_eq!(status("/oauth/api/data_upload").await, 503);
    assert_eq!(status(super::DATA_UPLOAD_PATH).await, 503);
    assert_eq!(status("/oauth/api/other").await, 404);
    assert_eq!(
        sandbox.stats().snapshot()["requests"],
        json!({"ilab.data_upload": 2})
    );
}

#[tokio::test]
async fn a_stalled_upload_is_stored_although_the_client_timed_out() {
    let sandbox = start(super::IlabConfig::default()).await;
    let token = v2_token(&sandbox, "u1").await;
    let armed = admin(
        &sandbox,
        super::STALL_PATH,
        Some(json!({"uploads": 1, "ms": 2_000})),
    )
    .await;
    assert_eq!(armed, json!({"armed": 1}));
    let url = format!(
        "{}{}?access_token={}",
        sandbox.base_url(),
        super::DATA_UPLOAD_PATH,
        encoded(&token)
    );
    let body = record("u1", "r-1", 60);
    let err = reqwest::Client::new()
        .post(&url)
        .timeout(Duration::from_millis(300))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect_err("the answer comes too late");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(
        admin(&sandbox, super::RECORDS_PATH, None).await,
        json!({"records": [body]}),
        "stored before the answer was held back"
    );
    // The client's retry with the same originId: answered at once, still one record.
    let started = std::time::Instant::now();
    assert_eq!(
        upload(&sandbox, &token, &record("u1", "r-1", 60)).await,
        json!({"code": 0, "msg": "上传成功"})
    );
    assert!(started.elapsed() < Duration::from_millis(1_000), "spent");
    let records = admin(&sandbox, super::RECORDS_PATH, None).await;
    assert_eq!(records["records"].as_array().map(Vec::len), Some(1));
    let stats = sandbox.stats();
    assert_eq!(stats.outcome(super::UPLOADS_STORED), 1);
    assert_eq!(stats.outcome(super::UPLOADS_REPLACED), 1);
    assert_eq!(stats.get("ilab.stall"), 0, "admin is not platform traffic");
}

#[tokio::test]
async fn the_stall_counts_only_uploads_that_pass_and_wants_a_well_formed_body() {
    let sandbox = start(super::IlabConfig::default()).await;
    let token = v2_token(&sandbox, "u1").await;
    admin(
        &sandbox,
        super::STALL_PATH,
        Some(json!({"uploads": 1, "ms": 400})),
    )
    .await;
    // A refusal is answered at once and does not spend the stall.
    let started = std::time::Instant::now();
    assert_eq!(upload(&sandbox, &token, &json!({})).await["code"], 3);
    assert!(started.elapsed() < Duration::from_millis(400));
    let started = std::time::Instant::now();
    assert_eq!(
        upload(&sandbox, &token, &record("u1", "r-1", 1)).await["code"],
        0
    );
    assert!(started.elapsed() >= Duration::from_millis(400), "stalled");
    let client = reqwest::Client::new();
    for bad in [
        "",
        "{}",
        r#"{"uploads": -1, "ms": 1}"#,
        r#"{"uploads": 1}"#,
        r#"{"uploads": "1", "ms": 1}"#,
    ] {
        let response = client
            .post(format!("{}{}", sandbox.base_url(), super::STALL_PATH))
            .body(bad)
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), 400, "{bad}");
    }
}

/// Arbitrary bytes, arbitrary JSON and mutated records: the upload route never fails
/// to answer, and always answers JSON with a numeric code.
#[test]
fn any_upload_body_gets_a_json_answer_with_a_numeric_code() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let (sandbox, token) = runtime.block_on(async {
        let sandbox = start(super::IlabConfig::default()).await;
        let token = v2_token(&sandbox, "u1").await;
        (sandbox, token)
    });
    let url = format!(
        "{}{}?access_token={}",
        sandbox.base_url(),
        super::DATA_UPLOAD_PATH,
        encoded(&token)
    );
    let client = reqwest::Client::new();

    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        "-?[0-9]{1,14}(\\.[0-9]{1,3})?".prop_map(Value::from),
    ];
    let json_value = leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let fields = [
        "username",
        "title",
        "status",
        "score",
        "startTime",
        "endTime",
        "timeUsed",
        "appid",
        "originId",
        "steps",
    ];
    let step_fields = [
        "seq",
        "title",
        "startTime",
        "endTime",
        "timeUsed",
        "maxScore",
        "score",
        "repeatCount",
        "expectTime",
        "remarks",
    ];
    // A valid record with one field of the record or of its step replaced or removed.
    let mutated = (
        any::<bool>(),
        prop::sample::select(fields.to_vec()),
        prop::sample::select(step_fields.to_vec()),
        prop::option::of(json_value.clone()),
    )
        .prop_map(|(in_step, field, step_field, value)| {
            let mut body = record("u1", "r-1", 50);
            let (object, name) = if in_step {
                (&mut body["steps"][0], step_field)
            } else {
                (&mut body, field)
            };
            if let Some(object) = object.as_object_mut() {
                match value {
                    Some(v) => object.insert(name.to_owned(), v),
                    None => object.remove(name),
                };
            }
            body.to_string().into_bytes()
        });
    let bodies = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        json_value.prop_map(|v| v.to_string().into_bytes()),
        mutated,
    ];

    let mut runner = TestRunner::new(Config {
        cases: 200,
        ..Config::default()
    });
    runner
        .run(&bodies, |body| {
            let answer = runtime.block_on(async {
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("the sandbox answers");
                let status = response.status();
                let bytes = response.bytes().await.expect("a body");
                (status, serde_json::from_slice::<Value>(&bytes))
            });
            let (status, parsed) = answer;
            prop_assert_eq!(status, 200);
            let parsed = parsed.map_err(|e| TestCaseError::fail(format!("not JSON: {e}")))?;
            prop_assert!(parsed["code"].is_u64(), "{}", parsed);
            prop_assert!(parsed["msg"].is_string(), "{}", parsed);
            Ok(())
        })
        .expect("every body is answered");
}
