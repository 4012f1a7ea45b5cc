//! The README's integration section, followed: `examples/from_readme.rs`
//! serves, a user signs in with the password, approves the push on the
//! simulator's phone, and reaches the page behind the layer; and the
//! README's code blocks are the example's code.

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue, ORIGIN};
use serde_json::{Value, json};

#[allow(dead_code)]
#[path = "../../examples/from_readme.rs"]
mod example;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_the_readme_gives_a_working_second_factor() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (app, two_factor) = example::app(&base);
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    example::sign_up_alice(&two_factor).await.unwrap();

    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    headers.insert(ORIGIN, HeaderValue::from_str(&base).unwrap());
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap();
    let before = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(before.status(), 401, "the layer guards /");

    let login = http
        .post(format!("{base}/login"))
        .form(&[
            ("username", "alice"),
            ("password", "correct horse"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    assert_eq!(login.headers()["location"], "/2fa?next=%2F");
    let wrong = http
        .post(format!("{base}/login"))
        .form(&[("username", "alice"), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 200, "a wrong password signs nobody in");

    let pushed: Value = http
        .post(format!("{base}/2fa/onetouch"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uuid = pushed["uuid"]
        .as_str()
        .unwrap_or_else(|| panic!("{pushed}"));
    let approved = reqwest::Client::new()
        .post(format!(
            "{base}/simulator/phone/api/approval_requests/{uuid}/approve"
        ))
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);
    let status: Value = http
        .get(format!("{base}/2fa/status?wait=10"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "complete", "{status}");
    assert_eq!(status["redirect"], "/", "{status}");
    let page = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Hello alice"));
}

/// Every Rust block of the README's "Add it to your app" section is in the
/// example, so the example is what following the README gives.
#[test]
fn the_readme_section_is_the_example() {
    let readme = include_str!("../../README.md");
    let example = include_str!("../../examples/from_readme.rs");
    let start = readme
        .find("## Add it to your app")
        .expect("the README section");
    let section = &readme[start..];
    let section = &section[..section[3..]
        .find("\n## ")
        .map_or(section.len(), |end| end + 3)];
    let blocks: Vec<&str> = section
        .split("```rust")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 4, "{} blocks", blocks.len());
    // Line by line, indentation aside (a block may be a function's body).
    let lines = |text: &str| -> String {
        let kept: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        kept.join("\n")
    };
    let example = lines(example);
    for block in blocks {
        let block = lines(block.trim_start_matches(",ignore"));
        assert!(
            example.contains(&block),
            "a README block the example lacks:\n{block}"
        );
    }
}
