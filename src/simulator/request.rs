//! Reading an API request: parameters from the query string and the body in
//! every encoding of spec §1.3, merged into one tree, and the API key from
//! wherever the client put it.

use axum::extract::{FromRequest, OriginalUri, Request};
use axum::http::{HeaderMap, header};
use serde_json::{Map, Value};

use super::Simulator;
use super::reply::Reply;
use crate::params;

/// Bodies larger than this are refused (Authy's requests are tiny).
const BODY_LIMIT: usize = 256 * 1024;

/// The merged parameters of one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Params(Map<String, Value>);

impl Params {
    /// The value at a nested path (`["user", "email"]`).
    pub(crate) fn value(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        let mut value = self.0.get(*first)?;
        for key in rest {
            value = value.as_object()?.get(*key)?;
        }
        Some(value)
    }

    /// A scalar as text; `None` when absent, null, blank or not a scalar.
    /// JSON numbers and booleans count (`"country_code": 1`).
    pub(crate) fn text(&self, path: &[&str]) -> Option<String> {
        let text = match self.value(path)? {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        (!text.is_empty()).then_some(text)
    }

    /// A boolean in any of the spellings clients send: `true`/`false`, the
    /// strings `"true"`/`"false"`, `1`/`0` (PHP), and Rails' `t`/`f`,
    /// `on`/`off`, `yes`/`no`. Absent, null, blank or anything else is false.
    pub(crate) fn flag(&self, path: &[&str]) -> bool {
        match self.value(path) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
            Some(Value::String(s)) => matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "true" | "1" | "t" | "on" | "yes"
            ),
            _ => false,
        }
    }

    /// A map of string values (`details[k]=v` or `"details":{…}`), scalars
    /// turned into text; `None` when absent, empty or not an object.
    pub(crate) fn string_map(&self, path: &[&str]) -> Option<Map<String, Value>> {
        let map = self.value(path)?.as_object()?;
        let out: Map<String, Value> = map
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => Value::String(s.clone()),
                    Value::Null => Value::String(String::new()),
                    other => Value::String(other.to_string()),
                };
                (k.clone(), text)
            })
            .collect();
        (!out.is_empty()).then_some(out)
    }
}

/// Everything a request carried besides the key: its parameters, and the
/// absolute URL of the simulator's mount point (for links it hands out).
#[derive(Debug)]
pub(crate) struct Api {
    pub params: Params,
    pub base_url: String,
}

impl FromRequest<Simulator> for Api {
    type Rejection = Reply;

    async fn from_request(req: Request, sim: &Simulator) -> Result<Self, Self::Rejection> {
        let base_url = base_url(&req);
        let headers = req.headers().clone();
        let query = req.uri().query().map(str::to_owned);
        let body = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
            .await
            .map_err(|_| Reply::invalid_request("the body is unreadable or too large"))?;
        let (params, key) = parse(&headers, query.as_deref(), &body)?;
        match key {
            Some(key) if sim.inner.api_key.matches(&key) => {}
            _ => return Err(Reply::invalid_api_key()),
        }
        sim.record_api_call();
        Ok(Self { params, base_url })
    }
}

/// `http://host/prefix`: the scheme and host of the request and the path the
/// simulator is mounted under (the part of the original path a nesting
/// router stripped).
fn base_url(req: &Request) -> String {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let full = req
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().path().to_owned(), |o| o.path().to_owned());
    let prefix = full.strip_suffix(req.uri().path()).unwrap_or("");
    format!("http://{host}{prefix}")
}

/// Parses the query string and body into one parameter tree, and finds the
/// API key: header `X-Authy-API-Key`, else query `api_key`, else body.
pub(crate) fn parse(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<(Params, Option<String>), Reply> {
    let mut from_query = match query {
        Some(q) if !q.is_empty() => as_map(params::from_urlencoded(q.as_bytes()))?,
        _ => Map::new(),
    };
    let mut from_body = body_params(headers, body)?;
    let header_key = headers
        .get("x-authy-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let query_key = key_text(from_query.remove("api_key"));
    let body_key = key_text(from_body.remove("api_key"));
    let key = header_key.or(query_key).or(body_key);

    deep_merge_missing(&mut from_query, from_body);
    // PHP writes `logos[0][res]`; other maps (details) keep numeric keys.
    if let Some(logos) = from_query.remove("logos") {
        from_query.insert("logos".into(), params::index_maps_to_arrays(logos));
    }
    Ok((Params(from_query), key))
}

fn key_text(value: Option<Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s),
        _ => None,
    }
}

fn as_map(parsed: Result<Value, params::ParamsError>) -> Result<Map<String, Value>, Reply> {
    match parsed.map_err(Reply::invalid_request)? {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(Reply::invalid_request(params::ParamsError::NotAnObject)),
    }
}

fn body_params(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.contains("xml") {
        return Err(Reply::invalid_request(
            "the simulator reads form-encoded and JSON bodies, not XML",
        ));
    }
    let looks_like_json = body.trim_ascii_start().starts_with(b"{");
    let is_json = content_type.contains("json")
        || (looks_like_json && !content_type.contains("x-www-form-urlencoded"));
    if is_json {
        let value = serde_json::from_slice::<Value>(body)
            .map_err(|e| Reply::invalid_request(format!("the JSON body is malformed: {e}")))?;
        as_map(Ok(value))
    } else {
        as_map(params::from_urlencoded(body))
    }
}

/// Adds `extra` into `base` without overwriting: nested objects are merged
/// member by member, so `user[email]` in the query and `user[cellphone]` in
/// the body both survive.
fn deep_merge_missing(base: &mut Map<String, Value>, extra: Map<String, Value>) {
    let mut rest = Map::new();
    for (key, value) in extra {
        match (base.get_mut(&key), value) {
            (Some(Value::Object(into)), Value::Object(from)) => deep_merge_missing(into, from),
            (_, value) => {
                rest.insert(key, value);
            }
        }
    }
    params::merge_missing(base, rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    fn headers(content_type: Option<&str>, key: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(ct) = content_type {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        }
        if let Some(k) = key {
            h.insert("X-Authy-API-Key", HeaderValue::from_str(k).unwrap());
        }
        h
    }

    #[test]
    fn every_encoding_gives_the_same_tree() {
        let want = json!({"user": {"email": "a@b.c", "cellphone": "555", "country_code": "1"}});
        let form = b"user%5Bemail%5D=a%40b.c&user[cellphone]=555&user[country_code]=1";
        let json_body = br#"{"user":{"email":"a@b.c","cellphone":"555","country_code":"1"}}"#;
        let form_type = Some("application/x-www-form-urlencoded");
        let cases: [(Option<&str>, Option<&str>, &[u8]); 5] = [
            (form_type, None, form),
            (Some("application/json"), None, json_body),
            (None, Some(std::str::from_utf8(form).unwrap()), b""),
            (None, None, json_body),
            (
                form_type,
                Some("user[email]=a%40b.c"),
                b"user[cellphone]=555&user[country_code]=1",
            ),
        ];
        for (ct, query, body) in cases {
            let (params, _) = parse(&headers(ct, None), query, body).unwrap();
            assert_eq!(Value::Object(params.0), want, "{ct:?} {query:?}");
        }
    }

    #[test]
    fn the_key_is_searched_header_then_query_then_body() {
        let form = Some("application/x-www-form-urlencoded");
        let key = |h, q, b: &[u8]| parse(&headers(form, h), q, b).unwrap().1;
        assert_eq!(
            key(Some("H"), Some("api_key=Q"), b"api_key=B").as_deref(),
            Some("H")
        );
        assert_eq!(
            key(None, Some("api_key=Q"), b"api_key=B").as_deref(),
            Some("Q")
        );
        assert_eq!(key(None, None, b"api_key=B").as_deref(), Some("B"));
        let json_key = parse(&headers(None, None), None, br#"{"api_key":"J","a":1}"#).unwrap();
        assert_eq!(json_key.1.as_deref(), Some("J"));
        // The key never leaks into the parameters.
        assert_eq!(Value::Object(json_key.0.0), json!({"a": 1}));
        assert_eq!(key(None, None, b""), None);
    }

    #[test]
    fn booleans_in_every_spelling() {
        let (p, _) = parse(
            &headers(Some("application/json"), None),
            Some("a=true&b=1&c=false&d=0&e=TRUE"),
            br#"{"f":true,"g":1,"h":false,"i":0,"j":null,"k":"maybe"}"#,
        )
        .unwrap();
        for (name, want) in [
            ("a", true),
            ("b", true),
            ("c", false),
            ("d", false),
            ("e", true),
            ("f", true),
            ("g", true),
            ("h", false),
            ("i", false),
            ("j", false),
            ("k", false),
            ("missing", false),
        ] {
            assert_eq!(p.flag(&[name]), want, "{name}");
        }
    }

    #[test]
    fn php_logo_indices_and_text_of_numbers() {
        let (p, _) = parse(
            &headers(None, None),
            Some("logos[1][res]=low&logos[0][res]=default&details[0]=x&seconds_to_expire=5"),
            b"",
        )
        .unwrap();
        assert_eq!(
            p.value(&["logos"]),
            Some(&json!([{"res": "default"}, {"res": "low"}]))
        );
        assert_eq!(p.value(&["details"]), Some(&json!({"0": "x"})));
        let (p, _) = parse(&headers(None, None), None, br#"{"cc":57,"blank":"  "}"#).unwrap();
        assert_eq!(p.text(&["cc"]).as_deref(), Some("57"));
        assert_eq!(p.text(&["blank"]), None);
    }

    #[test]
    fn unreadable_bodies_are_refused() {
        for (ct, body) in [
            (Some("application/json"), &b"{nope"[..]),
            (Some("application/json"), b"[1,2]"),
            (Some("application/xml"), b"<user/>"),
            (None, b"a[b=1"),
        ] {
            let err = parse(&headers(ct, None), None, body).unwrap_err();
            assert_eq!(err.body["error_code"], "60002", "{ct:?}");
        }
    }
}
