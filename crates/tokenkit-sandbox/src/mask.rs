//! How the console and the request log show a token or secret: never whole.
//!
//! A value of at least [`MIN_SHOWN_LEN`] characters is shown as its first and last 4
//! characters (`eyJh…x9Qk`), enough to tell tokens apart and to match one against a
//! client's log; a shorter value would be given away by its 8 shown characters, so it
//! is `••••`.

/// The shortest value whose ends are shown: 8 characters shown, 8 or more hidden.
pub const MIN_SHOWN_LEN: usize = 16;

/// `value` masked for display.
///
/// ```
/// use tokenkit_sandbox::mask::mask;
/// assert_eq!(mask("eyJhbGciOiJIUzI1NiJ9.e30.x9Qk"), "eyJh…x9Qk");
/// assert_eq!(mask("123456"), "••••");
/// assert_eq!(mask("令牌令牌令牌令牌令牌令牌令牌令牌"), "令牌令牌…令牌令牌");
/// ```
pub fn mask(value: &str) -> String {
    let count = value.chars().count();
    if count < MIN_SHOWN_LEN {
        return "••••".to_owned();
    }
    let head: String = value.chars().take(4).collect();
    let tail: String = value.chars().skip(count - 4).collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn a_masked_value_never_holds_the_value(value in "\\PC{0,64}") {
            let masked = mask(&value);
            prop_assert!(masked.chars().count() <= 9);
            if value.chars().count() >= MIN_SHOWN_LEN {
                prop_assert!(!masked.contains(&value));
                prop_assert!(value.starts_with(masked.split('…').next().unwrap_or_default()));
            } else {
                prop_assert_eq!(masked, "••••");
            }
        }
    }

    #[test]
    fn the_boundary_is_sixteen_characters() {
        assert_eq!(mask("abcdefghijklmno"), "••••");
        assert_eq!(mask("abcdefghijklmnop"), "abcd…mnop");
    }
}
