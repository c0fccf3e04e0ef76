//! PrimeHub's admission webhooks, as [`AdmissionHandler`](crate::admission::AdmissionHandler)s.
//!
//! PrimeHub's `primehub-admission` service registers its webhooks (chart
//! `templates/admission/webhook.yaml`, all with `failurePolicy: Ignore`); each submodule is one
//! of them, called through [`admission::review`](crate::admission::review) by a real API server
//! or in process by the fake cluster:
//!
//! | module | webhook | path | what it does |
//! |---|---|---|---|
//! | [`pvc_check`] | `pvc-check.primehub.io` (mutating, CREATE pods) | `/pvc-check` | drops the volumes of PrimeHub pods whose claim does not exist |
//! | [`image_mutation`] | `pod-image-mutating-webhook.primehub.io` (mutating, CREATE pods) | `/image-mutation` | prefixes every image with the air-gap registry |
//! | [`license_check`] | `license-validating-webhook.primehub.io` (validating, CREATE/UPDATE licenses) | `/license-check` | refuses a License for another platform |

pub mod image_mutation;
pub mod license_check;
pub mod pvc_check;
