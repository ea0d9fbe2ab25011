//! What every console page must be, checked without a browser: a well-formed UTF-8
//! HTML document with a language, every form control labelled, every action a POST to
//! the console, and no secret in it, whole or in part.

use std::collections::HashSet;

use scraper::{ElementRef, Html, Selector};

/// The longest run of a secret's characters a page may hold: the masks show 4 at
/// each end, so 9 in a row can only be a leak.
const LONGEST_SHOWN_RUN: usize = 8;

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("a valid selector")
}

/// Checks `html` (the page at `path`) and returns it parsed; `secrets` are the
/// tokens, tickets, passwords and keys the sandbox holds, none of which may appear.
pub(crate) fn check_page(path: &str, html: &str, secrets: &[String]) -> Html {
    assert!(
        html.starts_with("<!DOCTYPE html>"),
        "{path}: starts with the HTML5 doctype"
    );
    let document = Html::parse_document(html);
    assert!(
        document.errors.is_empty(),
        "{path}: not well-formed HTML: {:?}",
        document.errors
    );
    let root = document
        .select(&selector("html"))
        .next()
        .expect("an html element");
    assert!(
        root.value().attr("lang").is_some_and(|l| !l.is_empty()),
        "{path}: <html> has a lang"
    );
    assert_eq!(
        document
            .select(&selector("meta[charset]"))
            .next()
            .and_then(|m| m.value().attr("charset"))
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("utf-8"),
        "{path}: declares UTF-8"
    );
    let title = document.select(&selector("title")).next().expect("a title");
    assert!(
        !title.text().collect::<String>().trim().is_empty(),
        "{path}: a title"
    );
    check_ids_are_unique(path, &document);
    check_controls_are_labelled(path, &document);
    check_forms(path, &document);
    check_no_secret(path, html, secrets);
    document
}

fn check_ids_are_unique(path: &str, document: &Html) {
    let mut seen = HashSet::new();
    for element in document.select(&selector("[id]")) {
        let id = element.value().attr("id").unwrap_or_default();
        assert!(
            seen.insert(id.to_owned()),
            "{path}: id {id:?} is used twice"
        );
    }
}

/// Every input a user sees (not hidden), select and textarea has a label: a
/// `<label for>` naming its id, a `<label>` around it, or an `aria-label`; every button
/// has text.
fn check_controls_are_labelled(path: &str, document: &Html) {
    let labelled: HashSet<String> = document
        .select(&selector("label[for]"))
        .filter_map(|l| l.value().attr("for").map(str::to_owned))
        .collect();
    for control in document.select(&selector("input:not([type=hidden]), select, textarea")) {
        let by_for = control
            .value()
            .attr("id")
            .is_some_and(|id| labelled.contains(id));
        let inside = control
            .ancestors()
            .filter_map(ElementRef::wrap)
            .any(|a| a.value().name() == "label");
        let aria = control
            .value()
            .attr("aria-label")
            .is_some_and(|l| !l.is_empty());
        assert!(
            by_for || inside || aria,
            "{path}: a form control without a label: {}",
            control.html()
        );
    }
    for button in document.select(&selector("button")) {
        assert!(
            !button.text().collect::<String>().trim().is_empty(),
            "{path}: a button without text: {}",
            button.html()
        );
    }
}

/// Every form changes state, so it is a POST to one of the console's actions.
fn check_forms(path: &str, document: &Html) {
    for form in document.select(&selector("form")) {
        assert_eq!(
            form.value().attr("method"),
            Some("post"),
            "{path}: {}",
            form.html()
        );
        assert!(
            form.value()
                .attr("action")
                .is_some_and(|a| a.starts_with("/_sandbox/console/")),
            "{path}: a form acts on the console: {}",
            form.html()
        );
    }
}

fn check_no_secret(path: &str, html: &str, secrets: &[String]) {
    for secret in secrets {
        let chars: Vec<char> = secret.chars().collect();
        if chars.len() <= LONGEST_SHOWN_RUN {
            assert!(
                !html.contains(secret.as_str()),
                "{path}: holds a secret whole"
            );
            continue;
        }
        for window in chars.windows(LONGEST_SHOWN_RUN + 1) {
            let run: String = window.iter().collect();
            assert!(
                !html.contains(&run),
                "{path}: holds {} characters of a secret in a row",
                LONGEST_SHOWN_RUN + 1
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_page;

    const GOOD: &str = "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>t</title></head><body>\
<form method=\"post\" action=\"/_sandbox/console/x\"><label for=\"a\">A</label><input id=\"a\" name=\"a\">\
<label>B <input name=\"b\"></label><input type=\"hidden\" name=\"c\"><button>Go</button></form></body></html>";

    #[test]
    fn a_good_page_passes() {
        check_page("good", GOOD, &["SECRET-VALUE-0123456789".to_owned()]);
    }

    #[test]
    #[should_panic(expected = "without a label")]
    fn an_unlabelled_control_fails() {
        check_page("bad", &GOOD.replace("<label for=\"a\">A</label>", ""), &[]);
    }

    #[test]
    #[should_panic(expected = "not well-formed")]
    fn a_parse_error_fails() {
        check_page(
            "bad",
            &GOOD.replace("<button>Go</button>", "<button>Go</buton>"),
            &[],
        );
    }

    #[test]
    #[should_panic(expected = "has a lang")]
    fn a_page_without_a_language_fails() {
        check_page("bad", &GOOD.replace(" lang=\"zh-CN\"", ""), &[]);
    }

    #[test]
    #[should_panic(expected = "characters of a secret in a row")]
    fn part_of_a_secret_fails() {
        let page = GOOD.replace("<title>t</title>", "<title>VALUE-012</title>");
        check_page("bad", &page, &["SECRET-VALUE-0123456789".to_owned()]);
    }

    #[test]
    #[should_panic(expected = "a form acts on the console")]
    fn a_form_elsewhere_fails() {
        check_page(
            "bad",
            &GOOD.replace("/_sandbox/console/x", "http://elsewhere/"),
            &[],
        );
    }
}
