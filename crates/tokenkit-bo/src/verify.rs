//! The `XverifyApi` header: a DES-encrypted proof sent with every refresh
//! (PROTOCOLS.md §3.2).
//!
//! The seed stops at ``encryptByDES(`${newGuid()}|…``; the contract completed from it is:
//! plaintext = a template (default `{guid}|{timestamp}`, a fresh lower-case UUID v4 and
//! epoch milliseconds), DES in CBC mode with PKCS#7 padding, an 8-byte key and an 8-byte
//! IV (default: the key), output in standard Base64 with padding (upper-case hex as an
//! option). An application whose deployment uses another plaintext supplies it itself.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use reqwest::header::HeaderValue;
use tokenkit_core::{Error, RefreshToken, SecretKey, Sent};

/// The template the seed's ``encryptByDES(`${newGuid()}|…`` begins (§3.2).
pub const DEFAULT_TEMPLATE: &str = "{guid}|{timestamp}";

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 4] = ["guid", "timestamp", "ownerId", "refreshToken"];

/// DES works on 8-byte keys, IVs and blocks.
const DES_BYTES: usize = 8;

/// How the ciphertext is written into the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VerifyEncoding {
    /// Standard Base64 with padding (the default, §3.2).
    #[default]
    Base64,
    /// Upper-case hexadecimal.
    UpperHex,
}

/// What a plaintext is made of, for one request.
#[derive(Debug, Clone, Copy)]
pub struct VerifyContext<'a> {
    /// A fresh lower-case hyphenated UUID v4.
    pub guid: &'a str,
    /// Now, in epoch milliseconds.
    pub timestamp_ms: i64,
    /// The `XownerId` of the request.
    pub owner_id: &'a str,
    /// The refresh token being spent.
    pub refresh_token: &'a RefreshToken,
}

type PlaintextFn = Arc<dyn Fn(&VerifyContext<'_>) -> String + Send + Sync>;

#[derive(Clone)]
enum Plaintext {
    Template(String),
    Custom(PlaintextFn),
}

/// Produces `XverifyApi` header values. Build it with [`VerifySigner::builder`].
///
/// ```
/// use tokenkit_bo::VerifySigner;
/// let signer = VerifySigner::builder("12345678").build()?;
/// let header = signer.encrypt("00000000-0000-4000-8000-000000000000|1614246960367")?;
/// assert!(header.starts_with("up/vqMd1Eq464xYi"));
/// # Ok::<(), tokenkit_core::Error>(())
/// ```
#[derive(Clone)]
pub struct VerifySigner {
    key: SecretKey,
    iv: SecretKey,
    plaintext: Plaintext,
    encoding: VerifyEncoding,
}

/// Builds a [`VerifySigner`]; every setting is checked by [`VerifySignerBuilder::build`],
/// so a bad key fails at start-up rather than at the first refresh.
#[derive(Clone)]
pub struct VerifySignerBuilder {
    key: SecretKey,
    iv: Option<SecretKey>,
    plaintext: Plaintext,
    encoding: VerifyEncoding,
}

impl VerifySigner {
    /// Starts a signer with the platform's DES key (8 bytes).
    pub fn builder(key: impl Into<SecretKey>) -> VerifySignerBuilder {
        VerifySignerBuilder {
            key: key.into(),
            iv: None,
            plaintext: Plaintext::Template(DEFAULT_TEMPLATE.to_owned()),
            encoding: VerifyEncoding::default(),
        }
    }

    /// The plaintext for one request.
    pub fn plaintext(&self, context: &VerifyContext<'_>) -> String {
        match &self.plaintext {
            Plaintext::Custom(f) => f(context),
            Plaintext::Template(template) => template
                .replace("{guid}", context.guid)
                .replace("{timestamp}", &context.timestamp_ms.to_string())
                .replace("{ownerId}", context.owner_id)
                .replace("{refreshToken}", context.refresh_token.expose_secret()),
        }
    }

    /// Encrypts `plaintext` with DES-CBC/PKCS#7 and encodes it (§3.2).
    pub fn encrypt(&self, plaintext: &str) -> Result<String, Error> {
        let key = self.key.expose_secret().as_bytes();
        let iv = self.iv.expose_secret().as_bytes();
        let cipher = cbc::Encryptor::<des::Des>::new_from_slices(key, iv)
            .map_err(|_| Error::config("bo: the DES key and IV must be 8 bytes each"))?;
        let message = plaintext.as_bytes();
        // PKCS#7 always adds 1..=8 bytes.
        let mut buffer = vec![0_u8; message.len() + DES_BYTES];
        let ciphertext = cipher
            .encrypt_padded_b2b::<Pkcs7>(message, &mut buffer)
            .map_err(|_| Error::config("bo: DES padding failed"))?;
        Ok(match self.encoding {
            VerifyEncoding::Base64 => STANDARD.encode(ciphertext),
            VerifyEncoding::UpperHex => ciphertext.iter().map(|b| format!("{b:02X}")).collect(),
        })
    }

    /// A fresh header value for a refresh: new guid, current time, marked sensitive.
    pub fn header_value(
        &self,
        owner_id: &str,
        refresh_token: &RefreshToken,
    ) -> Result<HeaderValue, Error> {
        let mut sent = Sent::new();
        self.proof(owner_id, refresh_token, &mut sent)
    }

    /// Like [`VerifySigner::header_value`], adding to `sent` what a platform could
    /// echo of it (the value, its plaintext) and what it is made with (the key, the
    /// IV).
    pub(crate) fn proof(
        &self,
        owner_id: &str,
        refresh_token: &RefreshToken,
        sent: &mut Sent,
    ) -> Result<HeaderValue, Error> {
        sent.push(self.key.as_secret().clone());
        sent.push(self.iv.as_secret().clone());
        let guid = uuid::Uuid::new_v4().hyphenated().to_string();
        let context = VerifyContext {
            guid: &guid,
            timestamp_ms: tokenkit_core::civil::unix_millis(std::time::SystemTime::now()),
            owner_id,
            refresh_token,
        };
        let plaintext = self.plaintext(&context);
        let encrypted = self.encrypt(&plaintext)?;
        sent.push(plaintext);
        sent.push(encrypted.as_str());
        let mut value = HeaderValue::from_str(&encrypted)
            .map_err(|_| Error::config("bo: the XverifyApi value is not a valid header"))?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl VerifySignerBuilder {
    /// The IV (8 bytes); default: the key, as the platform's JavaScript helper does.
    pub fn iv(mut self, iv: impl Into<SecretKey>) -> Self {
        self.iv = Some(iv.into());
        self
    }

    /// The plaintext template; placeholders: `{guid}`, `{timestamp}`, `{ownerId}`,
    /// `{refreshToken}`. Default [`DEFAULT_TEMPLATE`].
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.plaintext = Plaintext::Template(template.into());
        self
    }

    /// Lets the application make the plaintext itself (replaces the template).
    pub fn plaintext_fn(
        mut self,
        f: impl Fn(&VerifyContext<'_>) -> String + Send + Sync + 'static,
    ) -> Self {
        self.plaintext = Plaintext::Custom(Arc::new(f));
        self
    }

    /// The output encoding (default Base64).
    pub fn encoding(mut self, encoding: VerifyEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Checks the key, the IV and the template.
    pub fn build(self) -> Result<VerifySigner, Error> {
        let key_len = self.key.expose_secret().len();
        if key_len != DES_BYTES {
            return Err(Error::config(format!(
                "bo: the DES key must be exactly 8 bytes, got {key_len}"
            )));
        }
        let iv = self.iv.unwrap_or_else(|| self.key.clone());
        let iv_len = iv.expose_secret().len();
        if iv_len != DES_BYTES {
            return Err(Error::config(format!(
                "bo: the DES IV must be exactly 8 bytes, got {iv_len}"
            )));
        }
        if let Plaintext::Template(template) = &self.plaintext {
            check_template(template)?;
        }
        Ok(VerifySigner {
            key: self.key,
            iv,
            plaintext: self.plaintext,
            encoding: self.encoding,
        })
    }
}

/// A template may only name the known placeholders, so a typo fails at start-up.
fn check_template(template: &str) -> Result<(), Error> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| Error::config("bo: the XverifyApi template has an unclosed `{`"))?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(Error::config(format!(
                "bo: unknown placeholder {{{name}}} in the XverifyApi template (known: {{guid}}, {{timestamp}}, {{ownerId}}, {{refreshToken}})"
            )));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

impl fmt::Debug for VerifySigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifySigner")
            .field("key", &self.key)
            .field("iv", &self.iv)
            .field("plaintext", &self.plaintext)
            .field("encoding", &self.encoding)
            .finish()
    }
}

impl fmt::Debug for VerifySignerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifySignerBuilder")
            .field("key", &self.key)
            .field("plaintext", &self.plaintext)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Template(t) => f.debug_tuple("Template").field(t).finish(),
            Self::Custom(_) => f.write_str("Custom(<fn>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KAT_PLAINTEXT: &str = "00000000-0000-4000-8000-000000000000|1614246960367";
    const KAT_BASE64: &str =
        "up/vqMd1Eq464xYiDqiyn9dsxYbWK5AHp5yXXWgWpSpr/Fz43RtCL6DxcfyE5rshMCGVT7gtJI0=";
    const KAT_HEX: &str = "BA9FEFA8C77512AE3AE316220EA8B29FD76CC586D62B9007A79C975D6816A52A6BFC5CF8DD1B422FA0F171FC84E6BB213021954FB82D248D";

    #[test]
    fn known_answer_vector_base64_and_hex() {
        let signer = VerifySigner::builder("12345678").build().expect("valid");
        assert_eq!(signer.encrypt(KAT_PLAINTEXT).expect("encrypts"), KAT_BASE64);
        let explicit_iv = VerifySigner::builder("12345678")
            .iv("12345678")
            .encoding(VerifyEncoding::UpperHex)
            .build()
            .expect("valid");
        assert_eq!(
            explicit_iv.encrypt(KAT_PLAINTEXT).expect("encrypts"),
            KAT_HEX
        );
    }

    #[test]
    fn the_iv_matters_and_defaults_to_the_key() {
        let other_iv = VerifySigner::builder("12345678")
            .iv("87654321")
            .build()
            .expect("valid");
        assert_ne!(
            other_iv.encrypt(KAT_PLAINTEXT).expect("encrypts"),
            KAT_BASE64
        );
    }

    #[test]
    fn pkcs7_pads_a_whole_block_when_aligned() {
        let signer = VerifySigner::builder("12345678")
            .encoding(VerifyEncoding::UpperHex)
            .build()
            .expect("valid");
        // 8 bytes of plaintext -> 16 bytes of ciphertext (a full padding block).
        assert_eq!(signer.encrypt("abcdefgh").expect("encrypts").len(), 32);
        assert_eq!(signer.encrypt("").expect("encrypts").len(), 16);
    }

    #[test]
    fn keys_and_ivs_of_the_wrong_length_fail_at_build_time() {
        for key in ["", "1234567", "123456789", "１２３４５６７８"] {
            let err = VerifySigner::builder(key).build().unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{err}");
            assert!(err.to_string().contains("8 bytes"), "{err}");
        }
        let err = VerifySigner::builder("12345678")
            .iv("short")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("IV"), "{err}");
    }

    #[test]
    fn templates_are_checked_and_filled() {
        assert!(
            VerifySigner::builder("12345678")
                .template("{guid}|{time}")
                .build()
                .unwrap_err()
                .to_string()
                .contains("{time}")
        );
        assert!(
            VerifySigner::builder("12345678")
                .template("{guid")
                .build()
                .is_err()
        );
        let signer = VerifySigner::builder("12345678")
            .template("{ownerId}:{guid}|{timestamp}|{refreshToken}")
            .build()
            .expect("valid");
        let refresh = RefreshToken::new("r-1");
        let context = VerifyContext {
            guid: "g",
            timestamp_ms: 42,
            owner_id: "o",
            refresh_token: &refresh,
        };
        assert_eq!(signer.plaintext(&context), "o:g|42|r-1");
        let default = VerifySigner::builder("12345678").build().expect("valid");
        assert_eq!(default.plaintext(&context), "g|42");
        let custom = VerifySigner::builder("12345678")
            .plaintext_fn(|c| format!("custom-{}", c.timestamp_ms))
            .build()
            .expect("valid");
        assert_eq!(custom.plaintext(&context), "custom-42");
    }

    #[test]
    fn header_values_are_fresh_and_sensitive() {
        let signer = VerifySigner::builder("12345678").build().expect("valid");
        let refresh = RefreshToken::new("r-1");
        let a = signer.header_value("o", &refresh).expect("header");
        let b = signer.header_value("o", &refresh).expect("header");
        assert!(a.is_sensitive());
        assert_ne!(a, b, "a new guid per request");
    }

    #[test]
    fn debug_hides_the_key() {
        let signer = VerifySigner::builder("SENTINEL").build().expect("valid");
        let text = format!("{signer:?} {:?}", VerifySigner::builder("SENTINEL"));
        assert!(!text.contains("SENTINEL"), "{text}");
    }
}
