//! Which requests need no session at all, decided on the route axum matched
//! before anything is read: compiled once from the layer's configuration so
//! a protected request costs one map lookup here, with no allocation.

use std::collections::HashMap;

use http::Method;

/// The compiled exemptions of one layer.
#[derive(Debug, Clone, Default)]
pub(super) struct Exemptions {
    /// Routes exempt exactly, by path.
    exact: HashMap<Box<str>, Allowed>,
    /// The crate's routes with a `{parameter}` segment, with the literal
    /// text before the first parameter (a cheap first test).
    patterns: Vec<Pattern>,
    /// Paths exempt with everything under them, without a trailing `/`.
    subtrees: Vec<Box<str>>,
    /// `/` was named as an exempt path: the root page only.
    root: bool,
    /// The webhook's callback: GET and POST exactly (not HEAD, which a GET
    /// route of ours answers too).
    callback: Option<Box<str>>,
}

#[derive(Debug, Clone, Default)]
struct Allowed {
    /// Every method (the login page, an exempt route).
    any: bool,
    /// Or these (a crate route, the webhook's callback).
    methods: Vec<Method>,
}

impl Allowed {
    fn admits(&self, method: &Method) -> bool {
        self.any
            || self.methods.contains(method)
            // A GET route answers HEAD too.
            || (*method == Method::HEAD && self.methods.contains(&Method::GET))
    }
}

#[derive(Debug, Clone)]
struct Pattern {
    head: Box<str>,
    route: Box<str>,
    methods: Allowed,
}

/// What the exemptions are made of (the layer's configuration).
pub(super) struct Sources<'a> {
    pub login_path: &'a str,
    pub own_routes: &'a [(String, Vec<Method>)],
    pub callback: Option<&'a str>,
    pub exempt: &'a [String],
    pub exempt_exact: &'a [String],
}

impl Exemptions {
    pub(super) fn compile(sources: &Sources<'_>) -> Self {
        let mut exact: HashMap<Box<str>, Allowed> = HashMap::new();
        let mut patterns = Vec::new();
        exact.entry(sources.login_path.into()).or_default().any = true;
        for path in sources.exempt_exact {
            exact.entry(path.as_str().into()).or_default().any = true;
        }
        for (route, methods) in sources.own_routes {
            match route.find('{') {
                None => {
                    let allowed = exact.entry(route.as_str().into()).or_default();
                    allowed.methods.extend(methods.iter().cloned());
                }
                Some(at) => patterns.push(Pattern {
                    head: route[..at].into(),
                    route: route.as_str().into(),
                    methods: Allowed {
                        any: false,
                        methods: methods.clone(),
                    },
                }),
            }
        }
        let mut subtrees = Vec::new();
        let mut root = false;
        for prefix in sources.exempt {
            // `/` exempts the root page only, never the whole site.
            match prefix.trim_end_matches('/') {
                "" => root = true,
                prefix => subtrees.push(prefix.into()),
            }
        }
        Self {
            exact,
            patterns,
            subtrees,
            root,
            callback: sources.callback.map(Into::into),
        }
    }

    /// Whether the request needs no session: `path` is the matched route,
    /// `asked` the path the client sent, which must be free of dot segments
    /// and encoded separators, so `/2fa/../admin` cannot borrow an
    /// exemption.
    pub(super) fn admit(&self, path: &str, asked: &str, method: &Method) -> bool {
        self.matches(path, method) && !is_suspicious(asked)
    }

    fn matches(&self, path: &str, method: &Method) -> bool {
        // Exactly: `/2fa/token/` is no route of ours, and without a matched
        // route it would fall through to the application's fallback.
        if self
            .exact
            .get(path)
            .is_some_and(|allowed| allowed.admits(method))
        {
            return true;
        }
        if self.patterns.iter().any(|pattern| {
            path.starts_with(&*pattern.head)
                && fits(&pattern.route, path)
                && pattern.methods.admits(method)
        }) {
            return true;
        }
        if self.root && path == "/" {
            return true;
        }
        let webhook = *method == Method::GET || *method == Method::POST;
        if webhook && self.callback.as_deref() == Some(path) {
            return true;
        }
        self.subtrees.iter().any(|prefix| {
            path.strip_prefix(&**prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}

/// Dot segments, a backslash, or an encoded dot, slash or backslash: a path
/// that may mean another than it looks to some server behind.
fn is_suspicious(asked: &str) -> bool {
    let bytes = asked.as_bytes();
    let encoded = bytes.windows(3).any(|w| {
        w[0] == b'%'
            && matches!(
                (w[1], w[2].to_ascii_lowercase()),
                (b'2', b'e' | b'f') | (b'5', b'c')
            )
    });
    encoded
        || bytes.contains(&b'\\')
        || asked
            .split('/')
            .any(|segment| segment == "." || segment == "..")
}

/// Whether `path` is an instance of the route pattern `route`: the same
/// segments, where a `{name}` segment stands for any one non-empty segment
/// (a matched route compares its own pattern, `{id}` to `{id}`).
fn fits(route: &str, path: &str) -> bool {
    let (mut route, mut path) = (route.split('/'), path.split('/'));
    loop {
        match (route.next(), path.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) => {
                let any = want.starts_with('{') && want.ends_with('}');
                if !(want == got || (any && !got.is_empty())) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_pattern_fits_one_segment_per_parameter() {
        let route = "/2fa/factors/{id}/remove";
        assert!(fits(route, "/2fa/factors/abc-_1/remove"));
        assert!(fits(route, route), "a matched route is its pattern");
        for path in [
            "/2fa/factors//remove",
            "/2fa/factors/a/b/remove",
            "/2fa/factors/a/remove/",
            "/2fa/factors/a",
            "/2fa/factors/a/removex",
        ] {
            assert!(!fits(route, path), "{path}");
        }
        assert!(fits("/2fa", "/2fa") && !fits("/2fa", "/2fa/"));
    }

    fn layer_exemptions(exempt: &[&str]) -> Exemptions {
        let own = [
            ("/2fa".to_owned(), vec![Method::GET]),
            ("/2fa/token".to_owned(), vec![Method::POST]),
            ("/2fa/factors/{id}/remove".to_owned(), vec![Method::POST]),
        ];
        let exempt: Vec<String> = exempt.iter().map(|p| (*p).to_owned()).collect();
        Exemptions::compile(&Sources {
            login_path: "/login",
            own_routes: &own,
            callback: Some("/hooks/authy"),
            exempt: &exempt,
            exempt_exact: &["/health".to_owned()],
        })
    }

    #[test]
    fn exemptions_follow_path_segments_and_refuse_tricks() {
        let exemptions = layer_exemptions(&["/logout"]);
        let get = |path: &str| exemptions.admit(path, path, &Method::GET);
        let post = |path: &str| exemptions.admit(path, path, &Method::POST);
        assert!(post("/2fa/token"));
        assert!(post("/2fa/factors/{id}/remove"));
        assert!(post("/2fa/factors/f1/remove"));
        assert!(
            !get("/2fa/token"),
            "a crate route is exempt for its own methods"
        );
        assert!(
            !get("/2fa/factors/f1/remove"),
            "a crate route is exempt for its own methods"
        );
        assert!(
            exemptions.admit("/2fa", "/2fa", &Method::HEAD),
            "GET implies HEAD"
        );
        for path in [
            "/2fa",
            "/login",
            "/logout",
            "/logout/x",
            "/hooks/authy",
            "/health",
        ] {
            assert!(get(path), "{path}");
        }
        for path in [
            "/2fa/",
            "/login/",
            "/2fab",
            "/2fa/account",
            "/2fa/{lang}",
            "/admin",
            "/",
            "/loginx",
            "/login/admin",
            "/logoutx",
            "/hooks/authy/x",
            "/hooks",
            "/health/x",
            "/2fa/../admin",
            "/2fa/%2e%2e/admin",
            "/2fa/%2E%2E/admin",
            "/2fa/..%2Fadmin",
            "/2fa%2F..%2Fadmin",
            "/2fa%5cadmin",
            "/2fa/.\\admin",
            "/2fa/./x",
        ] {
            assert!(!get(path), "{path}");
        }
        assert!(exemptions.admit("/hooks/authy", "/hooks/authy", &Method::POST));
        for method in [Method::DELETE, Method::HEAD, Method::PUT] {
            assert!(
                !exemptions.admit("/hooks/authy", "/hooks/authy", &method),
                "the callback is exempt for the webhook's methods only: {method}"
            );
        }
        for asked in ["/2fa/../token", "/2fa/%2e/token", "/x/..%2f2fa/token"] {
            assert!(
                !exemptions.admit("/2fa/token", asked, &Method::POST),
                "the path asked for must be clean too: {asked}"
            );
        }
        let root = layer_exemptions(&["/"]);
        assert!(root.admit("/", "/", &Method::GET));
        for path in ["/admin", "/x/y"] {
            assert!(!root.admit(path, path, &Method::GET), "{path}");
        }
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn segment() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("2fa"),
                Just("login"),
                Just("logout"),
                Just("hooks"),
                Just("authy"),
                Just("health"),
                Just("token"),
                Just("factors"),
                Just("remove"),
                Just("{id}"),
                Just(""),
                Just("."),
                Just(".."),
                Just("%2e%2e"),
                Just("%2F"),
                Just("a\\b"),
                Just("2FA"),
                Just("login%00"),
                Just("f1"),
                Just("admin"),
            ]
            .prop_map(str::to_owned)
        }

        fn path() -> impl Strategy<Value = String> {
            prop::collection::vec(segment(), 0..5).prop_map(|s| format!("/{}", s.join("/")))
        }

        fn method() -> impl Strategy<Value = Method> {
            prop_oneof![
                Just(Method::GET),
                Just(Method::HEAD),
                Just(Method::POST),
                Just(Method::DELETE),
                Just(Method::PUT),
            ]
        }

        /// What is exempt, said plainly and apart from the matcher: the
        /// listed routes exactly (each for its methods), the pattern with
        /// one non-empty segment for `{id}`, the subtree of `/logout`.
        fn oracle(path: &str, method: &Method) -> bool {
            let get = *method == Method::GET || *method == Method::HEAD;
            let post = *method == Method::POST;
            let segments: Vec<&str> = path.split('/').collect();
            let pattern = segments.len() == 5
                && segments[..3] == ["", "2fa", "factors"]
                && !segments[3].is_empty()
                && segments[4] == "remove";
            let clean = !path.contains(['\\'])
                && !path.to_ascii_lowercase().contains("%2e")
                && !path.to_ascii_lowercase().contains("%2f")
                && !path.to_ascii_lowercase().contains("%5c")
                && !segments.iter().any(|s| *s == "." || *s == "..");
            clean
                && (path == "/login"
                    || path == "/health"
                    || (path == "/2fa" && get)
                    || (path == "/2fa/token" && post)
                    || (path == "/hooks/authy" && (*method == Method::GET || post))
                    || (pattern && post)
                    || path == "/logout"
                    || path.starts_with("/logout/"))
        }

        proptest! {
            /// No path is let through without a session unless it is
            /// exempt, for its method, and asked for without tricks.
            #[test]
            fn only_exempt_paths_are_admitted(path in path(), method in method()) {
                let exemptions = layer_exemptions(&["/logout"]);
                prop_assert_eq!(
                    exemptions.admit(&path, &path, &method),
                    oracle(&path, &method),
                    "{} {}", method, path
                );
            }

            /// The matched route may be exempt, but a path asked for with a
            /// dot segment or an encoded separator never borrows it.
            #[test]
            fn a_tricky_asked_path_never_borrows_an_exemption(
                asked in path().prop_filter("tricky", |p| !oracle(p, &Method::POST) && (p.contains("..") || p.contains("%2") || p.contains('\\') || p.contains("/./") || p.ends_with("/."))),
            ) {
                let exemptions = layer_exemptions(&["/logout"]);
                prop_assert!(!exemptions.admit("/2fa/token", &asked, &Method::POST), "{}", asked);
            }
        }
    }
}
