//! The tokens the emulated bo platform issues: access tokens (HS256 JWTs with the
//! claims of the seed's sample token) and opaque refresh tokens, each recorded where
//! the platform checks it (the access ledger, the `live` map), in its session's chain
//! and in the sandbox's token journal, under the book's lock.

use std::time::{Duration, SystemTime};

use serde_json::json;
use tokenkit_core::civil;

use super::{Bo, Book, Session};
use crate::journal::{Issue, Kind, Platform};

impl Bo {
    /// Mints an access token for `session` and records it (ledger, chain, journal).
    pub(super) fn mint_access(&self, book: &mut Book, session: &Session, now: i64) -> String {
        let (iat, ttl) = (now / 1000, self.config.ttl.as_secs() as i64);
        let expires = SystemTime::UNIX_EPOCH + Duration::from_secs((iat + ttl).max(0) as u64);
        // The claims of the seed's sample token, plus a jti so tokens issued within the
        // same second differ (and so the ledger can tell them apart).
        let jti = uuid::Uuid::new_v4().to_string();
        let access = crate::jwt::mint_hs256(
            &self.common.jwt_key,
            &json!({
                "iss": "RG3", "aud": "api", "id": session.user_id, "name": session.user_name,
                "client_id": session.user_id, "expires": slash_time(expires),
                "open_id": "", "telephone": "", "push_name": session.push_name,
                "dep_id": "", "sys_id": "", "merge_user_id": "", "area_code": "",
                "role_id": "development", "developer": "1",
                "jti": jti,
                "nbf": iat, "exp": iat + ttl, "iat": iat,
            }),
        );
        book.access.issue(&jti, session);
        let expires_ms = civil::unix_millis(expires);
        book.chains
            .access_issued(session.number, &jti, &access, now, expires_ms);
        self.common.journal.issued(Issue {
            platform: Platform::Bo,
            kind: Kind::Access,
            subject: subject(session),
            token: &access,
            id: &jti,
            expires,
        });
        access
    }

    /// Mints a refresh token for `session`, now its live one, and records it.
    pub(super) fn mint_refresh(&self, book: &mut Book, session: &Session, now: i64) -> String {
        let refresh = uuid::Uuid::new_v4().simple().to_string();
        let mut stored = session.clone();
        stored.refresh_expires_ms = now + self.config.refresh_ttl.as_millis() as i64;
        book.chains
            .refresh_issued(session.number, &refresh, now, stored.refresh_expires_ms);
        self.common.journal.issued(Issue {
            platform: Platform::Bo,
            kind: Kind::Refresh,
            subject: subject(session),
            token: &refresh,
            id: &refresh,
            expires: civil::from_unix_millis(stored.refresh_expires_ms),
        });
        book.live.insert(refresh.clone(), stored);
        refresh
    }
}

/// How the journal names a token of `session`: `session 3 · ptdev`.
fn subject(session: &Session) -> String {
    format!("session {} · {}", session.number, session.user_id)
}

/// `2021/2/25 18:22:37`: the seed token's `expires` claim format (Beijing time).
pub(super) fn slash_time(t: SystemTime) -> String {
    let display = civil::beijing_display(t);
    let (date, time) = display.split_once(' ').unwrap_or((&display, ""));
    let parts: Vec<&str> = date.split('-').map(|p| p.trim_start_matches('0')).collect();
    format!("{} {time}", parts.join("/"))
}
