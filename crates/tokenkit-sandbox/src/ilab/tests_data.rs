//! The ilab data routes over real sockets (§1.4): the record checks, one record per
//! `originId`, and `data_get`.

use serde_json::{Value, json};

use super::tests::{APPID, admin, call, record, revoke, sign, start, ticket, upload, upload_raw};
use crate::Sandbox;

use super::tests_v2::v2_token;

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

pub(super) async fn data_get(sandbox: &Sandbox, path: &str, params: &[(&str, &str)]) -> Value {
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
