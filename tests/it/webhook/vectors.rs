//! Every OneTouch-shaped vector of the shared file is accepted.

use std::sync::Arc;

use serde_json::Value;
use tower_authy::store::{MemoryStore, SharedStore};
use tower_authy::webhook::{CallbackRequest, Outcome, Webhook};

use super::{at, seed};

/// Every OneTouch-shaped vector of the shared file is accepted: its
/// signature was made by an independent implementation, and the Java ones
/// by Authy itself.
#[tokio::test]
async fn accepts_every_shared_vector_shape() {
    let file: Value =
        serde_json::from_str(include_str!("../../data/onetouch-signature-vectors.json")).unwrap();
    let vectors = file["vectors"].as_array().unwrap().iter().chain(
        file["reference_vectors_from_public_library_tests"]
            .as_array()
            .unwrap(),
    );
    let mut checked = 0;
    for vector in vectors {
        let text = |k: &str| vector[k].as_str().unwrap().to_owned();
        let method = text("method");
        let nonce = text("nonce");
        let params: Value = if let Some(raw) = vector.get("raw_json_body") {
            serde_json::from_str(raw.as_str().unwrap()).unwrap()
        } else if let Some(query) = vector.get("raw_query_string") {
            tower_authy::webhook::signature::params_from_query(query.as_str().unwrap()).unwrap()
        } else {
            vector["params"].clone()
        };
        let query = match vector.get("raw_query_string") {
            Some(raw) => raw.as_str().unwrap().to_owned(),
            None => serde_urlencoded::to_string(flat_pairs(&params)).unwrap(),
        };
        let memory = Arc::new(MemoryStore::new());
        let expected = params.get("uuid").map(|uuid| {
            let authy_id = match &params["authy_id"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (
                uuid.as_str().unwrap().to_owned(),
                authy_id,
                params["status"].as_str().unwrap().to_owned(),
            )
        });
        let now = at(nonce.split('.').next().unwrap().parse().unwrap());
        if let Some((uuid, authy_id, _)) = &expected {
            seed(&*memory, "someone", authy_id, uuid, now).await;
        }
        let store: SharedStore = memory;
        let webhook = Webhook::builder(text("api_key"))
            .with_public_url(text("url"))
            .build(store.clone())
            .unwrap();
        let body = if method == "POST" {
            serde_json::to_vec(&params).unwrap()
        } else {
            Vec::new()
        };
        let signature = text("expected_signature");
        let verb: http::Method = method.parse().unwrap();
        let request = CallbackRequest {
            method: &verb,
            query: (method == "GET").then_some(query.as_str()),
            body: &body,
            signature: Some(&signature),
            nonce: Some(&nonce),
            request_url: None,
        };
        let outcome = webhook.handle(&request, now).await;
        match (&expected, outcome) {
            (None, Ok(Outcome::Ping)) => {}
            (Some((_, _, status)), Ok(Outcome::Recorded(record))) => {
                assert_eq!(record.status.as_str(), status)
            }
            (_, other) => panic!(
                "{}: {other:?}",
                vector.get("name").or(vector.get("source")).unwrap()
            ),
        }
        checked += 1;
    }
    assert_eq!(checked, 11);
}

/// Flattens a GET vector's nested parameters back into query pairs.
pub(super) fn flat_pairs(params: &Value) -> Vec<(String, String)> {
    fn walk(prefix: String, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    walk(
                        if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}[{k}]")
                        },
                        v,
                        out,
                    )
                }
            }
            Value::String(s) => out.push((prefix, s.clone())),
            other => out.push((prefix, other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk(String::new(), params, &mut out);
    out
}
