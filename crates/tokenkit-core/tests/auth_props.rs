//! Property tests of the authenticated-call layer's parsing and placement: any body is
//! read without a panic, and a query token survives the URL exactly (encoded once)
//! and is scrubbed completely.

use proptest::prelude::*;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use tokenkit_core::AccessToken;
use tokenkit_core::auth::{Answer, Placement};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_body_is_read_without_a_panic(body in prop::collection::vec(any::<u8>(), 0..1024), name in "[a-z]{1,8}") {
        let headers = HeaderMap::new();
        let answer = Answer::new(StatusCode::OK, &headers, Some(&body));
        let _ = answer.json_field("code");
        let _ = answer.json_message();
        let _ = answer.json_field(&name);
    }

    #[test]
    fn a_query_token_round_trips_and_is_scrubbed(token in "[ -~]{1,64}", existing in "[a-z]{0,6}") {
        let url = if existing.is_empty() {
            "https://h.example/api".to_owned()
        } else {
            format!("https://h.example/api?{existing}=1&access_token=old")
        };
        let mut request = reqwest::Request::new(reqwest::Method::POST, url.parse().expect("url"));
        let place = Placement::query("access_token");
        place.apply(&mut request, &AccessToken::new(token.clone())).expect("apply");
        let sent: Vec<String> = request
            .url()
            .query_pairs()
            .filter(|(n, _)| n == "access_token")
            .map(|(_, v)| v.into_owned())
            .collect();
        prop_assert_eq!(sent, vec![token.clone()]);
        let mut shown = request.url().clone();
        place.scrub_url(&mut shown);
        let values: Vec<String> = shown
            .query_pairs()
            .filter(|(n, _)| n == "access_token")
            .map(|(_, v)| v.into_owned())
            .collect();
        prop_assert_eq!(values, vec!["redacted".to_owned()]);
    }
}
