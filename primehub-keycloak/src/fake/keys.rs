//! The fake's signing keys: one RSA-2048 key for access and ID tokens (RS256, published in the
//! JWKS) and one HMAC secret for refresh tokens (HS512, as Keycloak signs them).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
    RSAKeyParameters, RSAKeyType, ThumbprintHash,
};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::traits::PublicKeyParts;
use serde_json::Value;

use crate::error::{KeycloakError, Result};

/// A signing key for a [`FakeKeycloak`](super::FakeKeycloak): an RSA-2048 key pair with a stable
/// `kid` (its RFC 7638 thumbprint) plus the HMAC secret refresh tokens are signed with.
///
/// Generating an RSA key takes a moment; tests that build many fakes can generate one key and
/// hand clones of it to each (`FakeKeycloak::builder().signing_key(key.clone())`). Cloning is
/// cheap.
#[derive(Clone)]
pub struct FakeSigningKey {
    inner: Arc<KeyMaterial>,
}

struct KeyMaterial {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Jwk,
    public_key_b64: String,
    hmac_kid: String,
    hmac_encoding: EncodingKey,
    hmac_decoding: DecodingKey,
}

impl std::fmt::Debug for FakeSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSigningKey")
            .field("kid", &self.inner.kid)
            .finish_non_exhaustive()
    }
}

impl FakeSigningKey {
    /// Generates a fresh RSA-2048 key pair and HMAC secret from the operating system's RNG.
    pub fn generate() -> Result<FakeSigningKey> {
        let mut rng = getrandom::SysRng;
        let private = rsa::PrivateKey::new(&mut rng, 2048)
            .map_err(|e| KeycloakError::invalid("signing key", format!("RSA keygen: {e}")))?;
        let der = private
            .to_pkcs1_der()
            .map_err(|e| KeycloakError::invalid("signing key", format!("PKCS#1 encoding: {e}")))?;
        let public = private.to_public_key();
        let n = trim_leading_zeros(&public.n().to_be_bytes());
        let e = trim_leading_zeros(&public.e().to_be_bytes());
        let n_b64 = URL_SAFE_NO_PAD.encode(&n);
        let e_b64 = URL_SAFE_NO_PAD.encode(&e);
        let spki = public
            .to_public_key_der()
            .map_err(|e| KeycloakError::invalid("signing key", format!("SPKI encoding: {e}")))?;
        let mut jwk = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::RS256),
                ..CommonParameters::default()
            },
            algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
                key_type: RSAKeyType::RSA,
                n: n_b64,
                e: e_b64,
            }),
        };
        // The kid is the key's RFC 7638 thumbprint (SHA-256, base64url).
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|e| KeycloakError::invalid("signing key", format!("JWK thumbprint: {e}")))?;
        jwk.common.key_id = Some(kid.clone());
        let decoding = DecodingKey::from_rsa_raw_components(&n, &e);

        let mut secret = [0u8; 64];
        rand::Rng::fill(&mut rand::rng(), &mut secret[..]);
        let hmac_kid = uuid::Uuid::new_v4().to_string();
        let hmac_err = |e: jsonwebtoken::errors::Error| {
            KeycloakError::invalid("signing key", format!("HMAC key: {e}"))
        };
        let hmac_encoding = EncodingKey::from_secret(&secret).map_err(hmac_err)?;
        let hmac_decoding = DecodingKey::from_secret(&secret).map_err(hmac_err)?;
        Ok(FakeSigningKey {
            inner: Arc::new(KeyMaterial {
                kid,
                encoding: EncodingKey::from_rsa_der(der.as_bytes()),
                decoding,
                jwk,
                public_key_b64: STANDARD.encode(spki.as_bytes()),
                hmac_kid,
                hmac_encoding,
                hmac_decoding,
            }),
        })
    }

    /// The key id (`kid`) access tokens carry in their header and the JWKS lists.
    pub fn kid(&self) -> &str {
        &self.inner.kid
    }

    /// The public key as Keycloak publishes it on `GET /realms/{realm}`: base64 (standard
    /// alphabet) of the DER `SubjectPublicKeyInfo`, without PEM armour.
    pub fn public_key_base64(&self) -> &str {
        &self.inner.public_key_b64
    }

    /// The public key as a PEM `PUBLIC KEY` document.
    pub fn public_key_pem(&self) -> String {
        let body = self.public_key_base64();
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in body.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(chunk));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// The public key as a JSON Web Key (`kid`, `kty` RSA, `alg` RS256, `use` sig, `n`, `e`).
    pub fn jwk(&self) -> &Jwk {
        &self.inner.jwk
    }

    /// The JSON Web Key Set every realm publishes: this key alone.
    pub fn jwk_set(&self) -> JwkSet {
        JwkSet {
            keys: vec![self.inner.jwk.clone()],
        }
    }

    /// [`jwk_set`](Self::jwk_set) as the JSON document served at
    /// `/realms/{realm}/protocol/openid-connect/certs`.
    pub fn jwks(&self) -> Value {
        serde_json::to_value(self.jwk_set()).unwrap_or(Value::Null)
    }

    pub(crate) fn encoding(&self) -> &EncodingKey {
        &self.inner.encoding
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.inner.decoding
    }

    pub(crate) fn hmac_kid(&self) -> &str {
        &self.inner.hmac_kid
    }

    pub(crate) fn hmac_encoding(&self) -> &EncodingKey {
        &self.inner.hmac_encoding
    }

    pub(crate) fn hmac_decoding(&self) -> &DecodingKey {
        &self.inner.hmac_decoding
    }
}

fn trim_leading_zeros(bytes: &[u8]) -> Vec<u8> {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    bytes[start..].to_vec()
}
