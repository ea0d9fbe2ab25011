//! Reading records back (PROTOCOLS.md §1.4):
//! `GET /open/api/v2/data_get?access_token&appid&signature`, with
//! `signature = HEX(MD5(access_token + appid + secret))` (upper case, or lower case
//! when so configured).
//!
//! The answer is `{"code": 0, "msg": "…", "data": [<records>]}`: the token's user's
//! records for this appid, in upload order. Refusals: code 1 (a parameter missing),
//! code 2 (the token refused, exactly as `data_upload` refuses it), code 3 (wrong appid
//! or signature). A bad signature is deliberately not code 2: clients read code 2 as
//! "the token is no longer valid" and would spend one of the grant's two refreshes on
//! a mistake of their own.

use axum::Json;
use axum::extract::{RawQuery, State};
use serde_json::{Value, json};

use super::Ilab;
use super::access::authenticate;
use super::mint::error;
use crate::params::Params;

/// `GET /open/api/v2/data_get` (and its configured aliases).
pub(crate) async fn data_get(State(ilab): State<Ilab>, RawQuery(query): RawQuery) -> Json<Value> {
    // Decoded once as a servlet container would: an unencoded `+` of the token is a
    // space and the token is refused, as on the platform.
    Json(answer(&ilab, &Params::parse(query.as_deref(), b"")))
}

fn answer(ilab: &Ilab, params: &Params) -> Value {
    for name in ["access_token", "appid", "signature"] {
        if params.get(name).is_none() {
            return error(1, &format!("参数错误：缺少参数{name}"));
        }
    }
    let (token, appid, signature) = (
        params.get("access_token").unwrap_or_default(),
        params.get("appid").unwrap_or_default(),
        params.get("signature").unwrap_or_default(),
    );
    // The token first, as data_upload checks it: what it answers must not depend on the
    // route that asked.
    let holder = match authenticate(ilab, Some(token)) {
        Ok(holder) => holder,
        Err(refusal) => return refusal,
    };
    if appid != holder.appid || appid != ilab.config.appid {
        return error(3, "参数错误：appid与access_token的appid不一致");
    }
    if !ilab.signature_matches(token, appid, signature) {
        return error(
            3,
            "参数错误：signature不匹配。请注意签名时如有encode参数，均需要decode解码处理",
        );
    }
    let records = ilab.lock().records.of(appid, &holder.un);
    json!({"code": 0, "msg": "查询成功", "data": records})
}
