//! The ilab data routes over real sockets (§1.4): the record checks, one record per
//! `originId`, `data_get`, path aliases and the stall fault.

use std::time::Duration;

use serde_json::{Value, json};

use super::tests::{
    APPID, JsonValue, admin, call, record, revoke, sign, start, ticket, upload, upload_raw,
};
use crate::{Sandbox, SandboxConfig};

use super::tests_v2::{encoded, v2_token};
/// Every rule of §1.4's record, over HTTP: each refusal is code 3 and names the field.
#[tokio::test]
async fn every_record_rule_is_enforced_and_names_its_field() {
    let sandbox = start(super::IlabConfig::default()).await;
    let token = v2_token(&sandbox, "u1").await;
    let valid = record("u1", "r-1", 60);
    type Edit = Box<dyn Fn(&mut Value)>;
    let remove = |pointer: &'static str, field: &'static str| -> Edit {
        Box::new(move |body: &mut Value| {
            if let Some(Value::Object(o)) = body.pointer_mut(pointer) {
                o.remove(field);
            }
        })
    };
    let set = |pointer: &'static str, value: Value| -> Edit {
        Box::new(move |body: &mut Value| {
            if let Some(slot) = body.pointer_mut(pointer) {
                *slot = value.clone();
            }
        })
    };
    let mut cases: Vec<(Edit, String)> = Vec::new();
    for field in [
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
    ] {
        cases.push((remove("", field), field.to_owned()));
    }
    for field in [
        "seq",
        "title",
        "startTime",
        "endTime",
        "timeUsed",
        "maxScore",
        "score",
        "repeatCount",
    ] {
        cases.push((remove("/steps/0", field), format!("steps[0].{field}")));
    }
    cases.extend([
        (set("/username", json!(7)), "username".to_owned()),
        (set("/title", json!("")), "title".to_owned()),
        (set("/status", json!("finished")), "status".to_owned()),
        (set("/score", json!([86])), "score".to_owned()),
        (
            set("/startTime", json!("yesterday")),
            "startTime".to_owned(),
        ),
        (set("/timeUsed", json!({})), "timeUsed".to_owned()),
        (set("/originId", json!(" ")), "originId".to_owned()),
        (set("/steps", json!([])), "steps".to_owned()),
        (set("/steps", json!("none")), "steps".to_owned()),
        (set("/steps/0", json!(1)), "steps[0]".to_owned()),
        (
            set("/steps/0/maxScore", json!("max")),
            "steps[0].maxScore".to_owned(),
        ),
        (
            set("/steps/0/expectTime", json!(true)),
            "steps[0].expectTime".to_owned(),
        ),
        (
            set("/steps/0/evaluation", json!(5)),
            "steps[0].evaluation".to_owned(),
        ),
        (
            set("/endTime", json!(1_711_111_313_940_i64)),
            "endTime".to_owned(),
        ),
        (
            set("/steps/0/endTime", json!(0)),
            "steps[0].endTime".to_owned(),
        ),
        (
            set("/steps/0/score", json!(101)),
            "steps[0].score".to_owned(),
        ),
        (set("/score", json!(-1)), "score".to_owned()),
        (
            set("/steps/0/score", json!("-1")),
            "steps[0].score".to_owned(),
        ),
        (
            set("/appid", json!("another-experiment")),
            "appid".to_owned(),
        ),
        (set("/username", json!("u2")), "username".to_owned()),
    ]);
    let count = u64::try_from(cases.len()).expect("few");
    for (edit, field) in cases {
        let mut body = valid.clone();
        edit(&mut body);
        let refused = upload(&sandbox, &token, &body).await;
        assert_eq!(refused["code"], 3, "{field}: {refused}");
        let msg = refused["msg"].as_str().expect("a message");
        assert!(
            msg.starts_with(&format!("参数错误：{field}")),
            "{field}: {msg}"
        );
    }
    assert_eq!(
        admin(&sandbox, super::RECORDS_PATH, None).await,
        json!({"records": []})
    );
    // Numbers as strings are numbers; optional fields may be absent.
    let mut lenient = valid.clone();
    lenient["status"] = json!("1");
    lenient["steps"][0]["maxScore"] = json!("100");
    lenient["steps"][0]
        .as_object_mut()
        .expect("a step")
        .remove("expectTime");
    assert_eq!(
        upload(&sandbox, &token, &lenient).await,
        json!({"code": 0, "msg": "上传成功"})
    );
    // The token is checked before the body.
    let no_token = upload_raw(&sandbox, "", &json!("not a record")).await;
    assert_eq!(no_token["code"], 1);
    let bad_token = upload(&sandbox, "unknown", &json!("not a record")).await;
    assert_eq!(bad_token["code"], 2);
    let stats = sandbox.stats();
    assert_eq!(stats.outcome(super::UPLOADS_REFUSED), count + 2);
    assert_eq!(stats.outcome(super::UPLOADS_STORED), 1);
}

#[tokio::test]
async fn the_same_origin_id_twice_is_one_record_stored_then_replaced() {
    let sandbox = start(super::IlabConfig::default()).await;
    let token = v2_token(&sandbox, "u1").await;
    assert_eq!(
        upload(&sandbox, &token, &record("u1", "r-1", 60)).await["code"],
        0
    );
    assert_eq!(
        upload(&sandbox, &token, &record("u1", "r-1", 86)).await["code"],
        0
    );
    let records = admin(&sandbox, super::RECORDS_PATH, None).await;
    assert_eq!(records, json!({"records": [record("u1", "r-1", 86)]}));
    let stats = admin(&sandbox, "/_sandbox/stats", None).await;
    assert_eq!(
        stats["outcomes"],
        json!({"ilab.uploads_replaced": 1, "ilab.uploads_stored": 1}),
        "{stats}"
    );
    assert_eq!(stats["requests"]["ilab.data_upload"], 2);
}

async fn data_get(sandbox: &Sandbox, path: &str, params: &[(&str, &str)]) -> Value {
    call(sandbox, path, params).await
}

#[tokio::test]
async fn data_get_lists_the_users_records_and_refuses_with_the_right_codes() {
    let sandbox = start(super::IlabConfig::default()).await;
    let alice = v2_token(&sandbox, "alice").await;
    let bob = v2_token(&sandbox, "bob").await;
    for (token, un, origin, score) in [
        (&alice, "alice", "a-1", 10),
        (&bob, "bob", "b-1", 20),
        (&alice, "alice", "a-2", 30),
        (&alice, "alice", "a-1", 40),
    ] {
        let answer = upload(&sandbox, token, &record(un, origin, score)).await;
        assert_eq!(answer["code"], 0, "{answer}");
    }
    let sig = sign(&alice);
    let params = [
        ("access_token", alice.as_str()),
        ("appid", APPID),
        ("signature", sig.as_str()),
    ];
    let listed = data_get(&sandbox, super::DATA_GET_PATH, &params).await;
    assert_eq!(listed["code"], 0, "{listed}");
    assert!(listed["msg"].is_string());
    assert_eq!(
        listed["data"],
        json!([record("alice", "a-1", 40), record("alice", "a-2", 30)]),
        "alice's own, in upload order, the re-sent one in its place"
    );
    for missing in ["access_token", "appid", "signature"] {
        let partial: Vec<(&str, &str)> = params
            .iter()
            .copied()
            .filter(|(n, _)| *n != missing)
            .collect();
        let refused = data_get(&sandbox, super::DATA_GET_PATH, &partial).await;
        assert_eq!(refused["code"], 1, "{missing}: {refused}");
        assert!(
            refused["msg"].as_str().is_some_and(|m| m.contains(missing)),
            "{refused}"
        );
    }
    let lower = sig.to_lowercase();
    for (name, bad) in [
        ("signature", "0000"),
        ("signature", lower.as_str()),
        ("appid", "42"),
    ] {
        let edited: Vec<(&str, &str)> = params
            .iter()
            .map(|&(n, v)| (n, if n == name { bad } else { v }))
            .collect();
        let refused = data_get(&sandbox, super::DATA_GET_PATH, &edited).await;
        assert_eq!(refused["code"], 3, "{name}={bad}: {refused}");
    }
    let garbage = [
        ("access_token", "ab+/cd=="),
        ("appid", APPID),
        ("signature", &sign("ab+/cd==")),
    ];
    assert_eq!(
        data_get(&sandbox, super::DATA_GET_PATH, &garbage).await["code"],
        2
    );
    revoke(&sandbox, &alice).await;
    assert_eq!(
        data_get(&sandbox, super::DATA_GET_PATH, &params).await["code"],
        2,
        "a revoked token"
    );
    assert_eq!(sandbox.stats().get("ilab.data_get"), 9);
}

#[tokio::test]
async fn data_get_with_lower_case_hex_and_a_seed_dialect_token() {
    let sandbox = start(super::IlabConfig {
        lowercase_hex: true,
        ..super::IlabConfig::default()
    })
    .await;
    let t = ticket(&sandbox, "u1").await;
    let sig = sign(&t).to_lowercase();
    let body = call(
        &sandbox,
        "/oauth/token/accesstoken",
        &[("ticket", &t), ("appid", APPID), ("signature", &sig)],
    )
    .await;
    let jwt = body["access_token"].as_str().expect("a token");
    assert_eq!(
        upload(&sandbox, jwt, &record("u1", "r-1", 1)).await["code"],
        0
    );
    let params = |sig: String| {
        [
            ("access_token", jwt.to_owned()),
            ("appid", APPID.to_owned()),
            ("signature", sig),
        ]
    };
    let lower = params(sign(jwt).to_lowercase());
    let lower: Vec<(&str, &str)> = lower.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let listed = data_get(&sandbox, super::DATA_GET_PATH, &lower).await;
    assert_eq!(listed["data"], json!([record("u1", "r-1", 1)]), "{listed}");
    let upper = params(sign(jwt));
    let upper: Vec<(&str, &str)> = upper.iter().map(|(n, v)| (*n, v.as_str())).collect();
    assert_eq!(
        data_get(&sandbox, super::DATA_GET_PATH, &upper).await["code"],
        3
    );
}

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
