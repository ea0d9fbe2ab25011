//! What goes on the wire (§1.1, §1.2, §1.3): method, path, parameter names, signature,
//! and a ticket with `+`, `/` and `=` percent-encoded exactly once.

mod support;

use support::{APPID, SECRET, client, server, success};
use tokenkit_core::RefreshToken;
use tokenkit_ilab::{Dialect, HexCase, IlabClient, RequestMethod, Ticket, signature};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, Request, ResponseTemplate};

const TICKET: &str = "tk+1/2==";

#[tokio::test]
async fn exchange_is_a_get_with_ticket_appid_and_upper_case_signature() {
    let server = server().await;
    let expected_sig = signature(TICKET, APPID, SECRET, HexCase::Upper);
    let raw_query = format!("ticket=tk%2B1%2F2%3D%3D&appid={APPID}&signature={expected_sig}");
    Mock::given(method("GET"))
        .and(path("/oauth/token/accesstoken"))
        .and(query_param("ticket", TICKET))
        .and(query_param("appid", APPID))
        .and(query_param("signature", expected_sig.as_str()))
        // Encoded exactly once: `+` must not arrive as a space, `=` not as `%253D`.
        .and(move |r: &Request| r.url.query() == Some(raw_query.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(success("at", "rt", "u1")))
        .expect(1)
        .mount(&server)
        .await;
    // The value as it stands in the launch URL, decoded once by `Ticket`.
    let ticket = Ticket::from_url_value("tk%2B1%2F2%3D%3D").expect("valid");
    let token = client(&server).exchange(&ticket).await.expect("exchanged");
    assert_eq!(token.access_token().expose_secret(), "at");
    assert_eq!(token.refresh_token().map(|r| r.expose_secret()), Some("rt"));
    assert_eq!(token.user().map(|u| u.id.as_str()), Some("u1"));
}

#[tokio::test]
async fn a_literal_plus_in_the_launch_url_stays_a_plus() {
    let server = server().await;
    Mock::given(method("GET"))
        .and(path("/oauth/token/accesstoken"))
        .and(query_param("ticket", TICKET))
        .and(query_param(
            "signature",
            signature(TICKET, APPID, SECRET, HexCase::Upper).as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(success("at", "rt", "u1")))
        .expect(1)
        .mount(&server)
        .await;
    let ticket = Ticket::from_launch_url("http://lab/launch?ticket=tk+1/2%3D%3D").expect("valid");
    client(&server).exchange(&ticket).await.expect("exchanged");
}

#[tokio::test]
async fn refresh_sends_the_refresh_token_signed_over_itself() {
    let server = server().await;
    let rt = "rt+/=";
    Mock::given(method("GET"))
        .and(path("/oauth/token/refreshtoken"))
        .and(query_param("refresh_token", rt))
        .and(query_param("appid", APPID))
        .and(query_param(
            "signature",
            signature(rt, APPID, SECRET, HexCase::Upper).as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(success("at2", "rt-rotated", "u1")))
        .expect(1)
        .mount(&server)
        .await;
    let token = client(&server)
        .refresh(&RefreshToken::new(rt))
        .await
        .expect("refreshed");
    assert_eq!(token.access_token().expose_secret(), "at2");
    // §1.2: the next refresh must send the grant's original refresh token again.
    assert_eq!(token.refresh_token().map(|r| r.expose_secret()), Some(rt));
}

#[tokio::test]
async fn post_form_carries_the_same_parameters_in_the_body() {
    let server = server().await;
    let sig = signature(TICKET, APPID, SECRET, HexCase::Upper);
    let body = format!("ticket=tk%2B1%2F2%3D%3D&appid={APPID}&signature={sig}");
    Mock::given(method("POST"))
        .and(path("/oauth/token/accesstoken"))
        .and(move |r: &Request| r.body == body.as_bytes() && r.url.query().is_none())
        .respond_with(ResponseTemplate::new(200).set_body_json(success("at", "rt", "u1")))
        .expect(1)
        .mount(&server)
        .await;
    let client = IlabClient::builder(server.uri(), APPID, SECRET)
        .method(RequestMethod::PostForm)
        .build()
        .expect("valid");
    client
        .exchange(&Ticket::new(TICKET))
        .await
        .expect("exchanged");
}

#[tokio::test]
async fn open_api_v2_dialect_with_lower_case_hex() {
    let server = server().await;
    let mut body = success("v2-access", "", "u2");
    body.as_object_mut().map(|o| o.remove("refresh_token"));
    Mock::given(method("GET"))
        .and(path("/open/api/v2/token"))
        .and(query_param("ticket", TICKET))
        .and(query_param(
            "signature",
            signature(TICKET, APPID, SECRET, HexCase::Lower).as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(body.clone()))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/open/api/v2/token/refresh"))
        .and(query_param("access_token", "v2-access"))
        .and(query_param(
            "signature",
            signature("v2-access", APPID, SECRET, HexCase::Lower).as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let client = IlabClient::builder(format!("{}/", server.uri()), APPID, SECRET)
        .dialect(Dialect::open_api_v2())
        .hex_case(HexCase::Lower)
        .build()
        .expect("valid");
    let token = client
        .exchange(&Ticket::new(TICKET))
        .await
        .expect("exchanged");
    // §1.3 issues no refresh token: the original access token is the refresh credential.
    let credential = token.refresh_token().expect("credential").clone();
    assert_eq!(credential.expose_secret(), "v2-access");
    client.refresh(&credential).await.expect("refreshed");
}

#[tokio::test]
async fn bad_configuration_is_refused_before_any_request() {
    for base in ["not a url", "ftp://host", ""] {
        let err = IlabClient::builder(base, APPID, SECRET)
            .build()
            .expect_err("bad base");
        assert!(
            matches!(err, tokenkit_core::Error::Config(_)),
            "{base}: {err}"
        );
    }
    assert!(
        IlabClient::builder("http://h", " ", SECRET)
            .build()
            .is_err()
    );
    let server = server().await;
    let err = client(&server)
        .exchange(&Ticket::new(""))
        .await
        .expect_err("empty");
    assert!(matches!(err, tokenkit_core::Error::Config(_)), "{err}");
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}
