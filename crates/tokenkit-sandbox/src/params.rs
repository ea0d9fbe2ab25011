//! Request parameters from the query string and a form body, decoded the way a servlet
//! container decodes them (`application/x-www-form-urlencoded`: `+` is a space). That is
//! what makes an unencoded `+` in a ticket break the signature, as on the real ilab
//! platform; the console's forms and the request log read parameters the same way.

use std::collections::HashMap;

use percent_encoding::percent_decode_str;

/// Parameters by name; the first occurrence wins, the query string before the body.
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    /// Parses the raw query string and, if it is a form, the body.
    pub(crate) fn parse(query: Option<&str>, body: &[u8]) -> Self {
        let mut params = Self::default();
        if let Some(q) = query {
            params.add_form(q);
        }
        if let Ok(text) = std::str::from_utf8(body) {
            params.add_form(text.trim());
        }
        params
    }

    fn add_form(&mut self, form: &str) {
        for pair in form.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (Some(name), Some(value)) = (decode(name), decode(value)) else {
                continue;
            };
            self.0.entry(name).or_insert(value);
        }
    }

    /// A non-empty parameter.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

fn decode(text: &str) -> Option<String> {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_like_a_servlet_container() {
        let p = Params::parse(
            Some("ticket=a%2Bb+c&appid=1&x"),
            b"ticket=ignored&signature=S",
        );
        assert_eq!(p.get("ticket"), Some("a+b c"));
        assert_eq!(p.get("appid"), Some("1"));
        assert_eq!(p.get("signature"), Some("S"));
        assert_eq!(p.get("x"), None);
        assert_eq!(p.get("missing"), None);
    }
}
