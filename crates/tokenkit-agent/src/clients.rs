//! From a grant's config to the platform crate's client and provider — the same
//! objects a Rust program would build; the agent adds nothing to their lifecycle.
//! Every client gets the `[http]` settings ([`PlatformHttp`](crate::config::PlatformHttp)).

use std::path::Path;
use std::sync::Arc;

use tokenkit_ac::{AcAccount, AcClient, ClusterSelector};
use tokenkit_bo::{BoClient, BoProvider, BoSession, NodeJsMode, VerifyEncoding, VerifySigner};
use tokenkit_core::http::HttpConfig;
use tokenkit_core::{Error, TokenCache, TokenStore};
use tokenkit_ilab::{Dialect, HexCase, IlabClient, RequestMethod};

use crate::config::{AcGrant, BoGrant, IlabApp, IlabDialect};
use crate::counting::Counting;
use crate::stats::Stats;

/// A cluster by id (all digits) or by name, as `tokenkit ac token --cluster` takes it.
pub fn cluster_selector(cluster: &str) -> ClusterSelector {
    let cluster = cluster.trim();
    if !cluster.is_empty() && cluster.bytes().all(|b| b.is_ascii_digit()) {
        ClusterSelector::id(cluster)
    } else {
        ClusterSelector::name(cluster)
    }
}

/// The cache of an ac grant's cluster token, under the account's key
/// (`ac:<user>:<orgId or ak-…>:<cluster>`), so it shares logins with `tokenkit ac token`
/// and with other agents over the same store.
pub fn ac_cache(
    grant: &AcGrant,
    base_dir: &Path,
    http: HttpConfig,
    store: Arc<dyn TokenStore>,
    stats: Arc<Stats>,
) -> Result<TokenCache, Error> {
    let mut builder = AcClient::builder(grant.base_url.clone())
        .user(grant.user.clone())
        .http(http);
    if let Some(url) = &grant.auth_url {
        builder = builder.auth_url(url.clone());
    }
    builder = match (
        &grant.access_key,
        &grant.secret_key,
        &grant.org_id,
        &grant.password,
    ) {
        (Some(access_key), Some(secret_key), _, _) => {
            builder.access_key(access_key.clone(), secret_key.resolve(base_dir)?)
        }
        (None, _, Some(org_id), Some(password)) => builder
            .password(password.resolve(base_dir)?)
            .org_id(org_id.clone()),
        _ => {
            return Err(Error::config(
                "ac: give org_id and password, or access_key and secret_key",
            ));
        }
    };
    let account = AcAccount::with_store(builder.build()?, Arc::clone(&store));
    let cluster = cluster_selector(&grant.cluster);
    let key = account.key(&cluster);
    let provider = Counting::new(account.provider(cluster), stats);
    Ok(TokenCache::builder(provider).store(store).key(key).build())
}

/// The cache of a bo session, under `bo:<owner_id>:<session>`.
pub fn bo_cache(
    name: &str,
    grant: &BoGrant,
    base_dir: &Path,
    http: HttpConfig,
    store: Arc<dyn TokenStore>,
    stats: Arc<Stats>,
) -> Result<TokenCache, Error> {
    let mut signer = VerifySigner::builder(grant.des_key.resolve(base_dir)?);
    if let Some(template) = &grant.template {
        signer = signer.template(template.clone());
    }
    if let Some(iv) = &grant.des_iv {
        signer = signer.iv(iv.clone());
    }
    if grant.hex {
        signer = signer.encoding(VerifyEncoding::UpperHex);
    }
    let mut client = BoClient::builder(
        grant.base_url.clone(),
        grant.owner_id.clone(),
        signer.build()?,
    )
    .http(http);
    if let Some(id) = &grant.sys_id {
        client = client.sys_id(id.clone());
    }
    if let Some(id) = &grant.first_share_id {
        client = client.first_share_id(id.clone());
    }
    if let Some(id) = &grant.second_share_id {
        client = client.second_share_id(id.clone());
    }
    if let Some(code) = &grant.filter_area_code {
        client = client.filter_area_code(code.clone());
    }
    if grant.snake_case {
        client = client.nodejs_mode(NodeJsMode::CommonDataUnder);
    }
    let access = match &grant.access_token {
        Some(source) => source.resolve(base_dir)?,
        None => String::new(),
    };
    let session = BoSession::new(access, grant.refresh_token.resolve(base_dir)?);
    let provider = Counting::new(BoProvider::new(client.build()?, session), stats);
    let key = format!(
        "bo:{}:{}",
        grant.owner_id,
        grant.session.as_deref().unwrap_or(name)
    );
    Ok(TokenCache::builder(provider).store(store).key(key).build())
}

/// The client of an ilab experiment.
pub fn ilab_client(app: &IlabApp, base_dir: &Path, http: HttpConfig) -> Result<IlabClient, Error> {
    IlabClient::builder(
        app.base_url.clone(),
        app.appid.clone(),
        app.secret.resolve(base_dir)?,
    )
    .dialect(match app.dialect {
        IlabDialect::Oauth => Dialect::oauth(),
        IlabDialect::OpenApiV2 => Dialect::open_api_v2(),
    })
    .hex_case(if app.lowercase_hex {
        HexCase::Lower
    } else {
        HexCase::Upper
    })
    .method(if app.post {
        RequestMethod::PostForm
    } else {
        RequestMethod::Get
    })
    .http(http)
    .build()
}
