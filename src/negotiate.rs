//! One content negotiation for the layer and the routes: HTML for browsers,
//! JSON for everybody else.

use http::{HeaderMap, header};

/// The format to answer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Html,
    Json,
}

impl Format {
    /// HTML when the client asks for `text/html` (browsers always do, for
    /// pages and forms); JSON otherwise — `application/json`, `*/*`, or no
    /// `Accept` at all, as API clients and scripts send.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        let wants_html = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|accept| accept.contains("text/html"));
        if wants_html { Self::Html } else { Self::Json }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn of(accept: Option<&'static str>) -> Format {
        let mut headers = HeaderMap::new();
        if let Some(accept) = accept {
            headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
        }
        Format::of(&headers)
    }

    #[test]
    fn browsers_get_html_and_everybody_else_json() {
        assert_eq!(
            of(Some("text/html,application/xhtml+xml,*/*;q=0.8")),
            Format::Html
        );
        assert_eq!(of(Some("application/json")), Format::Json);
        assert_eq!(of(Some("*/*")), Format::Json);
        assert_eq!(of(Some("text/event-stream")), Format::Json);
        assert_eq!(of(None), Format::Json);
    }
}
