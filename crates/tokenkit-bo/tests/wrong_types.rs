//! A token field of the wrong JSON type is a malformed answer naming the field and the
//! type, never a token: `"accessToken": true` must not become the token `"true"`
//! (issue 13, defect 8). Over real HTTP, in camelCase and snake_case.

mod support;

use serde_json::{Value, json};
use support::*;
use tokenkit_core::{Error, RefreshToken, Token};
use wiremock::{MockServer, ResponseTemplate};

/// Each JSON type a token is not, with the words the error must use for it.
fn wrong_values() -> [(Value, &'static str); 5] {
    [
        (json!(true), "a boolean"),
        (json!(1.5), "a number"),
        (json!(-7), "a number"),
        (json!({}), "an object"),
        (json!([]), "an array"),
    ]
}

async fn refresh_answered(body: Value) -> Result<Token, Error> {
    let server = MockServer::start().await;
    answer(&server, ResponseTemplate::new(200).set_body_json(body), 1).await;
    client(&server).refresh(&RefreshToken::new("r1")).await
}

/// The seed's success body with both tokens in `field`'s spelling (camelCase or
/// snake_case), and `field` itself set to `value`.
fn with_field(field: &str, value: Value) -> Value {
    let mut body = success_body(&fresh_jwt(60), "r2");
    let data = body["data"].as_object_mut().expect("object");
    let access = data.remove("accessToken").expect("present");
    let refresh = data.remove("refreshToken").expect("present");
    let (access_key, refresh_key) = if field.contains('_') {
        ("access_token", "refresh_token")
    } else {
        ("accessToken", "refreshToken")
    };
    data.insert(access_key.into(), access);
    data.insert(refresh_key.into(), refresh);
    data.insert(field.into(), value);
    body
}

#[tokio::test]
async fn a_token_of_the_wrong_type_is_malformed_naming_the_field() {
    let fields = [
        ("accessToken", "accessToken"),
        ("refreshToken", "refreshToken"),
        ("access_token", "accessToken"),
        ("refresh_token", "refreshToken"),
    ];
    for (sent_as, named) in fields {
        for (value, type_name) in wrong_values() {
            let result = refresh_answered(with_field(sent_as, value)).await;
            let err = match result {
                Ok(token) => panic!(
                    "{sent_as} as {type_name} was accepted as the token {:?}",
                    token.access_token().expose_secret()
                ),
                Err(err) => err,
            };
            assert!(matches!(err, Error::Malformed { .. }), "{err}");
            let text = err.to_string();
            assert!(
                text.contains(&format!("`{named}` is {type_name}, expected a string")),
                "{sent_as}: {text}"
            );
        }
    }
}

#[tokio::test]
async fn string_tokens_in_either_spelling_still_parse() {
    let access = fresh_jwt(60);
    for (access_field, refresh_field) in [
        ("accessToken", "refreshToken"),
        ("access_token", "refresh_token"),
    ] {
        let mut body = success_body(&access, "r2");
        let data = body["data"].as_object_mut().expect("object");
        data.remove("accessToken");
        data.remove("refreshToken");
        data.insert(access_field.into(), json!(access));
        data.insert(refresh_field.into(), json!("r2"));
        let token = refresh_answered(body).await.expect("parses");
        assert_eq!(token.access_token().expose_secret(), access);
        assert_eq!(token.refresh_token().map(|r| r.expose_secret()), Some("r2"));
    }
    // A null refresh token is none: the one just spent is kept.
    let mut body = success_body(&access, "r2");
    body["data"]["refreshToken"] = Value::Null;
    let token = refresh_answered(body).await.expect("parses");
    assert_eq!(token.refresh_token().map(|r| r.expose_secret()), Some("r1"));
}
