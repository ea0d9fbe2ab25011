//! What the emulated platform remembers: tickets (single use, with an expiry), grants
//! (the refreshes spent, and which token is the grant's original), the access tokens it
//! accepts, the records uploaded with them and an armed upload stall.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::time::Instant;

use super::access::Ledger;
use super::stall::Stall;
use super::upload::Records;

/// A ticket handed to a user who clicked "我要做实验".
#[derive(Debug)]
pub(crate) struct TicketEntry {
    pub(crate) un: String,
    pub(crate) dis: String,
    pub(crate) expires_at: Instant,
    pub(crate) used: bool,
}

/// One exchanged ticket and its refreshes.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub(crate) un: String,
    pub(crate) dis: String,
    /// The `jti` of the grant's refresh tokens (constant across refreshes, as the seed).
    pub(crate) id: String,
    /// The `jti` of the access token the exchange issued: only the refresh token whose
    /// `ati` names it is the original (§1.2).
    pub(crate) original_ati: String,
    pub(crate) refreshes: u32,
    /// When the grant's refresh token expires.
    pub(crate) refresh_expires: SystemTime,
}

/// The platform's memory.
#[derive(Debug, Default)]
pub(crate) struct State {
    tickets: HashMap<String, TicketEntry>,
    grants: HashMap<String, Grant>,
    /// Grant ids in the order they were created, for the console.
    grant_order: Vec<String>,
    /// Original access token `jti` → grant id, for the `open/api/v2` refresh (§1.3).
    by_original_access: HashMap<String, String>,
    /// The access tokens issued and which of them each grant may still use.
    pub(crate) access: Ledger,
    /// What `data_upload` stored.
    pub(crate) records: Records,
    /// The uploads still to be answered late (`POST /_sandbox/ilab/stall`).
    pub(crate) stall: Stall,
}

/// Why a ticket cannot be exchanged.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TicketRefusal {
    /// Code 3.
    Expired,
    /// Code 4: unknown or already used.
    Invalid,
}

impl State {
    /// Mints a ticket for `un`. It contains `+`, `/` and `=` on purpose, so that a
    /// client that does not encode it exactly once fails here as on the real platform.
    pub(crate) fn issue_ticket(&mut self, un: &str, dis: &str, ttl: Duration) -> String {
        let mut bytes = vec![0xfb, 0xff, 0xbf]; // base64 "+/+/"
        bytes.extend_from_slice(&uuid::Uuid::new_v4().as_bytes()[..14]);
        let ticket = STANDARD.encode(bytes); // 17 bytes: ends with one "="
        self.tickets.insert(
            ticket.clone(),
            TicketEntry {
                un: un.to_owned(),
                dis: dis.to_owned(),
                expires_at: Instant::now() + ttl,
                used: false,
            },
        );
        ticket
    }

    /// Spends a ticket (single use) and returns whose it was.
    pub(crate) fn redeem(&mut self, ticket: &str) -> Result<(String, String), TicketRefusal> {
        let entry = self.tickets.get_mut(ticket).ok_or(TicketRefusal::Invalid)?;
        if entry.used {
            return Err(TicketRefusal::Invalid);
        }
        if Instant::now() >= entry.expires_at {
            return Err(TicketRefusal::Expired);
        }
        entry.used = true;
        Ok((entry.un.clone(), entry.dis.clone()))
    }

    /// Records a new grant.
    pub(crate) fn add_grant(&mut self, grant: Grant) {
        self.by_original_access
            .insert(grant.original_ati.clone(), grant.id.clone());
        self.grant_order.push(grant.id.clone());
        self.grants.insert(grant.id.clone(), grant);
    }

    /// Every grant, oldest first.
    pub(crate) fn grants_in_order(&self) -> impl Iterator<Item = &Grant> {
        self.grant_order.iter().filter_map(|id| self.grants.get(id))
    }

    /// The grant with refresh-token `jti` `id`.
    pub(crate) fn grant_mut(&mut self, id: &str) -> Option<&mut Grant> {
        self.grants.get_mut(id)
    }

    /// The grant whose *original* access token has `jti` `access_jti`.
    pub(crate) fn grant_of_original_access(&mut self, access_jti: &str) -> Option<&mut Grant> {
        let id = self.by_original_access.get(access_jti)?.clone();
        self.grants.get_mut(&id)
    }
}
