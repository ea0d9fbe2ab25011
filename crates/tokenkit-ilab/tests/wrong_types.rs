//! A token field of the wrong JSON type is a malformed answer naming the field and the
//! type, never a token: `"access_token": true` must not become the token `"true"`
//! (issue 13, defect 8). Over real HTTP, in both dialects, for the exchange and the
//! refresh.

mod support;

use serde_json::{Value, json};
use support::{SECRET, server, success};
use tokenkit_core::http::HttpConfig;
use tokenkit_core::{Error, RefreshToken};
use tokenkit_ilab::{Dialect, IlabClient, Ticket};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

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

/// Which call is answered, at which path, in which dialect.
#[derive(Debug, Clone, Copy)]
enum Call {
    Exchange,
    Refresh,
}

async fn answered(
    dialect: Dialect,
    call: Call,
    body: Value,
) -> Result<tokenkit_core::Token, Error> {
    let server = server().await;
    let at = match call {
        Call::Exchange => dialect.exchange_path().to_owned(),
        Call::Refresh => dialect.refresh_path().to_owned(),
    };
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let client = IlabClient::builder(server.uri(), support::APPID, SECRET)
        .dialect(dialect)
        .http(HttpConfig::default())
        .build()
        .expect("valid client");
    match call {
        Call::Exchange => client.exchange(&Ticket::new("t")).await,
        Call::Refresh => client.refresh(&RefreshToken::new("rt")).await,
    }
}

fn assert_names(result: Result<tokenkit_core::Token, Error>, field: &str, type_name: &str) {
    let err = match result {
        Ok(token) => panic!(
            "{field} as {type_name} was accepted as the token {:?}",
            token.access_token().expose_secret()
        ),
        Err(err) => err,
    };
    assert!(matches!(err, Error::Malformed { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("`{field}` is {type_name}, expected a string")),
        "{text}"
    );
}

#[tokio::test]
async fn an_access_token_of_the_wrong_type_is_malformed_in_every_call_and_dialect() {
    for dialect in [Dialect::oauth(), Dialect::open_api_v2()] {
        for call in [Call::Exchange, Call::Refresh] {
            for (value, type_name) in wrong_values() {
                let mut body = success("a", "r", "u1");
                body["access_token"] = value;
                let result = answered(dialect.clone(), call, body).await;
                assert_names(result, "access_token", type_name);
            }
        }
    }
}

#[tokio::test]
async fn a_refresh_token_of_the_wrong_type_is_malformed() {
    for call in [Call::Exchange, Call::Refresh] {
        for (value, type_name) in wrong_values() {
            let mut body = success("a", "r", "u1");
            body["refresh_token"] = value;
            let result = answered(Dialect::oauth(), call, body).await;
            assert_names(result, "refresh_token", type_name);
        }
    }
}

#[tokio::test]
async fn a_null_refresh_token_is_no_refresh_token_and_strings_still_work() {
    let mut body = success("a+b/c=", "r", "u1");
    body["refresh_token"] = Value::Null;
    let token = answered(Dialect::oauth(), Call::Exchange, body)
        .await
        .expect("a token without a refresh token");
    assert_eq!(token.access_token().expose_secret(), "a+b/c=");
    assert!(token.refresh_token().is_none());
    // Identifiers stay lenient: a numeric `un` is still the user "42".
    let mut body = success("a", "r", "u1");
    body["un"] = json!(42);
    let token = answered(Dialect::oauth(), Call::Exchange, body)
        .await
        .expect("parses");
    assert_eq!(token.user().map(|u| u.id.as_str()), Some("42"));
}
