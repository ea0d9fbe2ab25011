//! Further paths for the two data routes ([`IlabConfig::upload_path_aliases`],
//! [`IlabConfig::data_get_path_aliases`]), for deployments whose data routes live
//! elsewhere than `/open/api/v2/` (`/oauth/api/data_upload` beside the seed dialect's
//! token routes).
//!
//! An alias is served by the same handler as its route and counted under the route's
//! name (`ilab.data_upload`, `ilab.data_get`), whatever its last segment.
//!
//! A bad alias is refused when the sandbox starts ([`Sandbox::start`] fails with
//! [`std::io::ErrorKind::InvalidInput`] naming it), never silently dropped and never a
//! panic: axum panics on a malformed route or one registered twice, so every alias is
//! checked before it reaches a router. Accepted: `/` and one or more segments of ASCII
//! letters, digits and `-._~` (no `.` or `..` segment, no empty segment, no `{capture}`,
//! no query), not under another namespace of the sandbox (`/_sandbox/`, `/ac/`, `/bo/`,
//! the ac access-key login), not an ilab route and not listed twice (in either list).
//! The aliases are also served only where no route of the sandbox matches (they are
//! the app's fallback), so an alias can never displace another platform's route.
//!
//! [`Sandbox::start`]: crate::Sandbox::start

use std::collections::HashSet;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

use super::{Ilab, IlabConfig, ROUTES, data_get, upload};
use crate::Common;

/// The first segments that belong to someone else: the admin routes and the other two
/// platforms.
const RESERVED_FIRST_SEGMENTS: [&str; 3] = ["_sandbox", "ac", "bo"];

/// `Ok` when every alias of `config` may be mounted, else why one may not.
pub(crate) fn check(config: &IlabConfig) -> Result<(), String> {
    let mut taken: HashSet<&str> = ROUTES.iter().copied().collect();
    let lists = [
        ("upload_path_aliases", &config.upload_path_aliases),
        ("data_get_path_aliases", &config.data_get_path_aliases),
    ];
    for (list, aliases) in lists {
        for alias in aliases {
            let refuse = |why: &str| format!("ilab {list}: {alias:?} {why}");
            shape(alias).map_err(refuse)?;
            if !taken.insert(alias) {
                return Err(refuse(
                    "is already a route of the ilab sandbox or listed twice",
                ));
            }
        }
    }
    Ok(())
}

/// Whether `path` is a plain absolute path that is no one else's.
fn shape(path: &str) -> Result<(), &'static str> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err("must start with `/`");
    };
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err("must not be empty or have an empty segment (`//`, a trailing `/`)");
    }
    let plain = |s: &&str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
    };
    if !segments.iter().all(plain) {
        return Err("may hold only ASCII letters, digits and `-._~` between its slashes");
    }
    if segments.iter().any(|s| *s == "." || *s == "..") {
        return Err("must not have a `.` or `..` segment");
    }
    let first = segments.first().copied().unwrap_or_default();
    if RESERVED_FIRST_SEGMENTS.contains(&first) || path == crate::ac::AK_TOKENS_PATH {
        return Err("lies in another namespace of the sandbox (`/_sandbox/`, `/ac/`, `/bo/`)");
    }
    Ok(())
}

/// The alias routes of `ilab`, counted like their routes. Aliases that fail [`check`]
/// are left out (`Sandbox::start` has refused them already; this keeps the router
/// panic-free whatever it is handed).
pub(crate) fn routes(common: &Common, ilab: &Ilab) -> Router {
    let config = &ilab.config;
    let none = config.upload_path_aliases.is_empty() && config.data_get_path_aliases.is_empty();
    if none || check(config).is_err() {
        return Router::new();
    }
    let mut uploads = Router::new();
    for alias in &config.upload_path_aliases {
        uploads = uploads.route(alias, post(upload::data_upload));
    }
    let mut gets = Router::new();
    for alias in &config.data_get_path_aliases {
        gets = gets.route(alias, get(data_get::data_get));
    }
    // The names `platform_routes` gives the routes themselves (their last segments).
    common
        .named_platform_routes("ilab.data_upload", uploads.with_state(ilab.clone()))
        .merge(common.named_platform_routes("ilab.data_get", gets.with_state(ilab.clone())))
        // `Router::layer` wraps the fallback too: without a fallback of its own, set after
        // the counting layers, every unknown path of the app (whose fallback this router
        // is) would be counted as `ilab.data_get` and fault-injected.
        .fallback(|| async { StatusCode::NOT_FOUND })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(uploads: &[&str], gets: &[&str]) -> IlabConfig {
        IlabConfig {
            upload_path_aliases: uploads.iter().map(|s| (*s).to_owned()).collect(),
            data_get_path_aliases: gets.iter().map(|s| (*s).to_owned()).collect(),
            ..IlabConfig::default()
        }
    }

    #[test]
    fn plain_paths_of_no_one_else_are_accepted() {
        assert_eq!(check(&config(&[], &[])), Ok(()));
        assert_eq!(
            check(&config(
                &["/oauth/api/data_upload", "/x"],
                &["/oauth/api/data_get", "/a-b/c_d/e.f~g"]
            )),
            Ok(())
        );
    }

    #[test]
    fn bad_aliases_are_refused_by_name() {
        for bad in [
            "",
            "oauth/api/data_upload",
            "/",
            "//x",
            "/x/",
            "/x//y",
            "/x/{id}",
            "/x/:id",
            "/x/*rest",
            "/x?y=1",
            "/x#y",
            "/数据",
            "/x/../y",
            "/./x",
            "/x y",
            "/_sandbox/ilab/upload",
            "/ac/openapi/v2/data_upload",
            "/bo/x",
            "/api/user/v3/tokens",
            "/open/api/v2/data_upload",
            "/oauth/token/accesstoken",
            "/_sandbox/ilab/records",
        ] {
            let err = check(&config(&[bad], &[])).expect_err(bad);
            assert!(err.contains("upload_path_aliases"), "{err}");
            assert!(err.contains(&format!("{bad:?}")), "{err}");
            let err = check(&config(&[], &[bad])).expect_err(bad);
            assert!(err.contains("data_get_path_aliases"), "{err}");
        }
        assert!(check(&config(&["/x", "/x"], &[])).is_err(), "twice");
        assert!(check(&config(&["/x"], &["/x"])).is_err(), "in both lists");
    }

    #[test]
    fn a_refused_alias_never_reaches_a_router() {
        let common = Common::new(std::sync::Arc::default(), crate::Faults::default(), b"k");
        let ilab = Ilab::new(&common, config(&["/x/{id}", "/x/{id}"], &["no-slash"]));
        // Building must not panic; the router serves nothing.
        let _ = routes(&common, &ilab);
    }
}
