//! The launch ticket (`Ticket::from_url_value`, `Ticket::from_launch_url`): any text is
//! a ticket or a configuration error, never a panic; any ticket encoded once decodes to
//! itself, and a mutated launch URL yields the first `ticket` value decoded once.

use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use proptest::prelude::*;
use tokenkit_core::Error;

use super::fuzz;
use crate::Ticket;
use crate::test_vectors::SEED_TICKET;

fn assert_config(error: &Error) -> Result<(), TestCaseError> {
    prop_assert!(matches!(error, Error::Config(_)), "{error:?}");
    Ok(())
}

/// The characters that change how a launch URL reads.
const URL_SYNTAX: [char; 6] = ['#', '&', '?', '=', '%', '+'];

/// The first `ticket` value of the URL's query, decoded once: what the parser must find.
fn first_ticket(url: &str) -> Option<String> {
    let (_, query) = url.split('#').next()?.split_once('?')?;
    let raw = query.split('&').find_map(|p| p.strip_prefix("ticket="))?;
    Some(percent_decode_str(raw).decode_utf8_lossy().into_owned())
}

proptest! {
    #![proptest_config(fuzz::config(256))]

    #[test]
    fn any_text_is_a_ticket_or_a_configuration_error(text in fuzz::arbitrary_text()) {
        if let Err(error) = Ticket::from_url_value(&text) {
            assert_config(&error)?;
        }
        if let Err(error) = Ticket::from_launch_url(&text) {
            assert_config(&error)?;
        }
    }

    #[test]
    fn a_ticket_encoded_once_decodes_to_itself(ticket in ".{0,64}") {
        let encoded = utf8_percent_encode(&ticket, NON_ALPHANUMERIC).to_string();
        let decoded = Ticket::from_url_value(&encoded).expect("valid UTF-8");
        prop_assert_eq!(decoded.expose_secret(), ticket.as_str());
    }

    #[test]
    fn a_mutated_launch_url_yields_its_first_ticket(
        at in any::<prop::sample::Index>(),
        insert in prop_oneof![prop::sample::select(&URL_SYNTAX[..]), any::<char>()],
        cut in any::<bool>(),
    ) {
        let encoded = utf8_percent_encode(SEED_TICKET, NON_ALPHANUMERIC).to_string();
        let url = format!("https://lab.example/launch?x=1&ticket={encoded}&y=2#f");
        let url: Vec<char> = url.chars().collect();
        let i = at.index(url.len() + 1);
        let mutated: String = if cut {
            url[..i].iter().collect()
        } else {
            url[..i].iter().chain(std::iter::once(&insert)).chain(&url[i..]).collect()
        };
        match Ticket::from_launch_url(&mutated) {
            Ok(ticket) => {
                prop_assert_eq!(Some(ticket.expose_secret().to_owned()), first_ticket(&mutated));
            }
            Err(error) => assert_config(&error)?,
        }
    }
}
