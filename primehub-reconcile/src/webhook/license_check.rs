//! `license-validating-webhook.primehub.io`: PrimeHub's validating webhook that refuses a
//! [`License`] issued for another platform.
//!
//! PrimeHub registers it (`ValidatingWebhookConfiguration` `license-validating-webhook`, path
//! [`LicenseCheck::PATH`]) for CREATE and UPDATE of `licenses` in namespaces labelled
//! `primehub.io/admission-webhook=enabled`. [`LicenseCheck`] reads `spec.signed_license`
//! (`base64(yaml) + "." + hex(signature)`), base64-decodes the part before the first `.`
//! (skipping characters outside the base64 alphabet, such as line breaks, as Python's
//! `b64decode` does) as UTF-8 text, and looks for lines starting `platform_type:` followed by
//! an optional `"` and a word:
//!
//! - when a platform is configured (PrimeHub's `PLATFORM_TYPE`; `ee` means `enterprise`) and a
//!   line names another one, the License is denied with code 400 and
//!   `The license is for "<license's>", but "<configured>" license is required.`;
//! - a License that cannot be read — no `spec.signed_license`, not base64, not UTF-8 — is denied
//!   with code 500 and a message saying why, whether or not a platform is configured (PrimeHub
//!   sends Python's exception text; ours are our own words);
//! - anything else, a License without a `platform_type` line included, is allowed (with status
//!   code 200, as PrimeHub answers).
//!
//! The signature and the dates are not checked here: PrimeHub's license controller does that.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use base64::Engine as _;
//! use primehub_reconcile::admission::{self, AdmissionReview};
//! use primehub_reconcile::webhook::license_check::LicenseCheck;
//! use serde_json::json;
//!
//! let yaml = "licensed_to: \"InfuseAI\"\nplatform_type: \"deploy\"\n";
//! let signed = format!("{}.00ff", base64::engine::general_purpose::STANDARD.encode(yaml));
//! let review: AdmissionReview<kube::core::DynamicObject> = serde_json::from_value(json!({
//!     "apiVersion": "admission.k8s.io/v1",
//!     "kind": "AdmissionReview",
//!     "request": {
//!         "uid": "5d0e8c1a",
//!         "kind": {"group": "primehub.io", "version": "v1alpha1", "kind": "License"},
//!         "resource": {"group": "primehub.io", "version": "v1alpha1", "resource": "licenses"},
//!         "name": "primehub-license",
//!         "namespace": "hub",
//!         "operation": "CREATE",
//!         "userInfo": {"username": "phadmin"},
//!         "object": {
//!             "apiVersion": "primehub.io/v1alpha1", "kind": "License",
//!             "metadata": {"name": "primehub-license", "namespace": "hub"},
//!             "spec": {"signed_license": signed},
//!         },
//!     },
//! }))?;
//!
//! let reviewed = admission::review(&LicenseCheck::new(Some("ee")), review).await;
//! let response = reviewed.response.ok_or("no response")?;
//! assert!(!response.allowed);
//! assert_eq!(response.result.code, 400);
//! assert_eq!(
//!     response.result.message,
//!     r#"The license is for "deploy", but "enterprise" license is required."#
//! );
//! # Ok(()) }
//! ```

use async_trait::async_trait;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use kube::core::{DynamicObject, GroupVersionResource};
use primehub_model::crd::License;

use crate::admission::{AdmissionHandler, AdmissionRequest, AdmissionResponse, Operation};

/// PrimeHub's `license-validating-webhook.primehub.io` webhook: denies a License whose
/// `platform_type` is not the configured platform. See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseCheck {
    platform_type: Option<String>,
}

/// Why a License is refused.
enum Refusal {
    /// The license is for another platform (PrimeHub's `RuntimeError`, code 400).
    WrongPlatform(String),
    /// The license cannot be read (any other exception in PrimeHub, code 500).
    Unreadable(String),
}

/// Python's `b64decode`: the standard alphabet with padding, trailing bits tolerated.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

impl LicenseCheck {
    /// The webhook's name in PrimeHub's `license-validating-webhook` configuration.
    pub const NAME: &str = "license-validating-webhook.primehub.io";
    /// The path PrimeHub's admission service serves the webhook on.
    pub const PATH: &str = "/license-check";
    /// The status code of a License for another platform.
    pub const WRONG_PLATFORM_CODE: u16 = 400;
    /// The status code of a License that cannot be read.
    pub const FAILURE_CODE: u16 = 500;

    /// A check requiring `platform_type` (PrimeHub's `PLATFORM_TYPE`: `enterprise`, `ee` — which
    /// means `enterprise` — or `deploy`); `None` or an empty string checks only that the
    /// License can be read.
    pub fn new(platform_type: Option<&str>) -> LicenseCheck {
        let platform_type = match platform_type {
            None | Some("") => None,
            Some("ee") => Some("enterprise".to_owned()),
            Some(other) => Some(other.to_owned()),
        };
        LicenseCheck { platform_type }
    }

    /// The platform a License must be for, if one is required (`ee` already read as
    /// `enterprise`).
    pub fn platform_type(&self) -> Option<&str> {
        self.platform_type.as_deref()
    }

    fn validate(&self, object: &DynamicObject) -> Result<(), Refusal> {
        let license: License = serde_json::to_value(object)
            .and_then(serde_json::from_value)
            .map_err(|e| Refusal::Unreadable(format!("the License cannot be read: {e}")))?;
        let signed = &license.spec.signed_license;
        let encoded: Vec<u8> = signed
            .split('.')
            .next()
            .unwrap_or_default()
            .bytes()
            .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            .collect();
        let decoded = LENIENT_BASE64
            .decode(encoded)
            .map_err(|e| Refusal::Unreadable(format!("the signed license is not base64: {e}")))?;
        let text = String::from_utf8(decoded).map_err(|e| {
            Refusal::Unreadable(format!("the decoded license is not UTF-8 text: {e}"))
        })?;
        let Some(required) = self.platform_type.as_deref() else {
            return Ok(());
        };
        for licensed in text.split('\n').filter_map(platform_of_line) {
            if licensed != required {
                return Err(Refusal::WrongPlatform(format!(
                    "The license is for \"{licensed}\", but \"{required}\" license is required."
                )));
            }
        }
        Ok(())
    }
}

/// The word of a line matching PrimeHub's `platform_type:\s*"?(\w+)"?` from its start.
fn platform_of_line(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix("platform_type:")?
        .trim_start_matches(char::is_whitespace);
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

#[async_trait]
impl AdmissionHandler for LicenseCheck {
    fn name(&self) -> &str {
        Self::NAME
    }

    /// CREATE and UPDATE of `licenses`, as PrimeHub's webhook rule.
    fn handles(&self, resource: &GroupVersionResource, operation: &Operation) -> bool {
        resource.resource == "licenses"
            && matches!(operation, Operation::Create | Operation::Update)
    }

    async fn review(&self, request: &AdmissionRequest<DynamicObject>) -> AdmissionResponse {
        let response = AdmissionResponse::from(request);
        let result = match request.object.as_ref() {
            Some(object) => self.validate(object),
            None => Err(Refusal::Unreadable(
                "the admission request has no object".to_owned(),
            )),
        };
        let (code, message) = match result {
            Ok(()) => {
                let mut allowed = response;
                allowed.result.code = 200;
                return allowed;
            }
            Err(Refusal::WrongPlatform(message)) => (Self::WRONG_PLATFORM_CODE, message),
            Err(Refusal::Unreadable(message)) => (Self::FAILURE_CODE, message),
        };
        let mut denied = response.deny(message);
        denied.result.code = code;
        denied
    }
}
