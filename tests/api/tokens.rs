//! Test tokens: signed by the fixture issuers (BJ RS256 from a PEM file, TJ ES256 and
//! HE EdDSA from JWKS files) or by the development issuer, with any header and claims,
//! including deliberately broken ones.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use crate::helpers::{TEST_DEV_SECRET, fixture};

/// Who signs a test token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    Beijing,
    Tianjin,
    Hebei,
    Dev,
}

impl Signer {
    pub fn issuer(self) -> &'static str {
        match self {
            Self::Beijing => "https://id.bj.example",
            Self::Tianjin => "https://id.tj.example",
            Self::Hebei => "https://id.he.example",
            Self::Dev => "urn:jjj-registry:dev",
        }
    }

    pub fn region(self) -> &'static str {
        match self {
            Self::Beijing => "BJ",
            Self::Tianjin => "TJ",
            Self::Hebei | Self::Dev => "HE",
        }
    }

    pub fn algorithm(self) -> Algorithm {
        match self {
            Self::Beijing => Algorithm::RS256,
            Self::Tianjin => Algorithm::ES256,
            Self::Hebei => Algorithm::EdDSA,
            Self::Dev => Algorithm::HS256,
        }
    }

    pub fn kid(self) -> Option<&'static str> {
        match self {
            Self::Tianjin => Some("tj-2026"),
            Self::Hebei => Some("he-2026"),
            Self::Beijing | Self::Dev => None,
        }
    }

    pub fn key(self) -> EncodingKey {
        let pem = |file: &str| std::fs::read(fixture(file)).expect("fixture key");
        match self {
            Self::Beijing => EncodingKey::from_rsa_pem(&pem("auth/bj-rs256.key.pem")),
            Self::Tianjin => EncodingKey::from_ec_pem(&pem("auth/tj-es256.key.pem")),
            Self::Hebei => EncodingKey::from_ed_pem(&pem("auth/he-ed25519.key.pem")),
            Self::Dev => Ok(EncodingKey::from_secret(TEST_DEV_SECRET.as_bytes())),
        }
        .expect("fixture key parses")
    }

    /// The header this signer normally sends.
    pub fn header(self) -> Value {
        let mut header = json!({"alg": format!("{:?}", self.algorithm()), "typ": "JWT"});
        if let Some(kid) = self.kid() {
            header["kid"] = json!(kid);
        }
        header
    }

    /// Valid claims for this signer's region with `roles`, expiring in ten minutes.
    pub fn claims(self, roles: &[&str]) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer(),
            "aud": "jjj-registry",
            "sub": format!("tester@{}", self.region()),
            "region": self.region(),
            "roles": roles,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 600,
        })
    }

    /// A valid token of this signer with `roles`.
    pub fn token(self, roles: &[&str]) -> String {
        sign(&self.header(), &self.claims(roles), self)
    }
}

/// base64url of a JSON value.
pub fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A token with exactly this header and these claims, signed by `signer`'s key with the
/// signer's algorithm (whatever the header says).
pub fn sign(header: &Value, claims: &Value, signer: Signer) -> String {
    let message = format!("{}.{}", encode_part(header), encode_part(claims));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &signer.key(), signer.algorithm())
            .expect("signing");
    format!("{message}.{signature}")
}

/// A token for the development issuer, as `jjj-registry token` mints it.
pub fn dev_token(region: &str, roles: &[&str]) -> String {
    let mut claims = Signer::Dev.claims(roles);
    claims["region"] = json!(region);
    claims["sub"] = json!(format!("dev@{region}"));
    sign(&Signer::Dev.header(), &claims, Signer::Dev)
}
