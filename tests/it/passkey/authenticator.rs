//! A software authenticator, written here from the WebAuthn spec (not the
//! library's): ES256 keys, `none` attestation, a counter the test sets. It
//! answers the options the crate hands out as a browser would, and can be
//! told to lie (another origin, another site, a counter gone back).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ciborium::Value as Cbor;
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use serde_json::{Value, json};
use sha2_010::{Digest, Sha256};

/// User present, user verified, attested credential data.
const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

pub struct SoftKey {
    key: SigningKey,
    pub cred_id: Vec<u8>,
    /// The counter the next assertion reports (after adding one).
    pub counter: u32,
    /// The origin it claims the browser was on.
    pub origin: String,
    /// The relying party id it signs for.
    pub rp_id: String,
    /// Whether it verifies its user.
    pub verifies: bool,
}

fn cbor(value: &Cbor) -> Vec<u8> {
    let mut bytes = Vec::new();
    ciborium::into_writer(value, &mut bytes).unwrap();
    bytes
}

fn challenge(options: &Value) -> String {
    options["publicKey"]["challenge"]
        .as_str()
        .expect("options carry a challenge")
        .to_owned()
}

impl SoftKey {
    /// A new key for `rp_id`, used from `origin`.
    pub fn new(rp_id: &str, origin: &str) -> Self {
        let key = SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
        let cred_id: Vec<u8> = (0..16).map(|_| rand::random::<u8>()).collect();
        Self {
            key,
            cred_id,
            counter: 0,
            origin: origin.to_owned(),
            rp_id: rp_id.to_owned(),
            verifies: true,
        }
    }

    fn flags(&self) -> u8 {
        UP | if self.verifies { UV } else { 0 }
    }

    fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge(options),
            "origin": self.origin,
            "crossOrigin": false,
        }))
        .unwrap()
    }

    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        cbor(&Cbor::Map(vec![
            (Cbor::Integer(1.into()), Cbor::Integer(2.into())),
            (Cbor::Integer(3.into()), Cbor::Integer((-7).into())),
            (Cbor::Integer((-1).into()), Cbor::Integer(1.into())),
            (
                Cbor::Integer((-2).into()),
                Cbor::Bytes(point.x().unwrap().to_vec()),
            ),
            (
                Cbor::Integer((-3).into()),
                Cbor::Bytes(point.y().unwrap().to_vec()),
            ),
        ]))
    }

    /// What `navigator.credentials.create` answers to `options`, as
    /// `toJSON()` gives it.
    pub fn register(&self, options: &Value) -> Value {
        let client_data = self.client_data("webauthn.create", options);
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags() | AT);
        auth_data.extend_from_slice(&self.counter.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]);
        auth_data.extend_from_slice(&(self.cred_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&self.cred_id);
        auth_data.extend_from_slice(&self.cose_key());
        let attestation = cbor(&Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("none".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(Vec::new())),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]));
        let id = B64.encode(&self.cred_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "attestationObject": B64.encode(attestation),
                "clientDataJSON": B64.encode(client_data),
                "transports": ["usb"],
            },
            "clientExtensionResults": {},
        })
    }

    /// What `navigator.credentials.get` answers to `options`; the counter
    /// moves on by one first.
    pub fn sign(&mut self, options: &Value) -> Value {
        self.counter += 1;
        let client_data = self.client_data("webauthn.get", options);
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags());
        auth_data.extend_from_slice(&self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        let id = B64.encode(&self.cred_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(auth_data),
                "clientDataJSON": B64.encode(client_data),
                "signature": B64.encode(signature.to_der().as_bytes()),
                "userHandle": null,
            },
            "clientExtensionResults": {},
        })
    }
}
