//! `deploy/webhook`: what the manifests say (offline), and that the real kube-apiserver accepts
//! them (`apply.sh --dry-run` through kubectl's server-side dry run).

use primehub_test_support::deploy::documents;
use serde_json::json;

#[test]
fn the_role_grants_only_what_the_webhook_reads() {
    let docs = documents("webhook", "role.yaml");
    let role = docs.iter().find(|d| d["kind"] == "Role").expect("a Role");
    assert_eq!(
        role["rules"],
        json!([
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]},
            {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["list"]},
        ])
    );
}

#[test]
fn the_webhooks_are_registered_as_primehub_registers_them() {
    let docs = documents("webhook", "webhooks.yaml");
    let expected = [
        (
            "MutatingWebhookConfiguration",
            "resources-validation-webhook",
            "resources-validation-webhook.primehub.io",
            "/",
            "primehub.io/admission-webhook",
            "pods",
        ),
        (
            "MutatingWebhookConfiguration",
            "pvc-check-webhook",
            "pvc-check.primehub.io",
            "/pvc-check",
            "primehub.io/admission-webhook",
            "pods",
        ),
        (
            "MutatingWebhookConfiguration",
            "pod-image-mutating-webhook",
            "pod-image-mutating-webhook.primehub.io",
            "/image-mutation",
            "primehub.io/image-mutation-webhook",
            "pods",
        ),
        (
            "ValidatingWebhookConfiguration",
            "license-validating-webhook",
            "license-validating-webhook.primehub.io",
            "/license-check",
            "primehub.io/admission-webhook",
            "licenses",
        ),
    ];
    assert_eq!(docs.len(), expected.len());
    for (doc, (kind, name, webhook, path, label, resource)) in docs.iter().zip(expected) {
        assert_eq!(doc["kind"], kind);
        assert_eq!(doc["metadata"]["name"], name);
        let hook = &doc["webhooks"][0];
        assert_eq!(hook["name"], webhook);
        assert_eq!(
            hook["clientConfig"]["service"]["name"],
            "primehub-admission"
        );
        assert_eq!(hook["clientConfig"]["service"]["path"], path);
        assert_eq!(
            hook["clientConfig"]["caBundle"], "CA_BUNDLE",
            "apply.sh fills it"
        );
        assert_eq!(hook["namespaceSelector"]["matchLabels"][label], "enabled");
        assert_eq!(hook["failurePolicy"], "Ignore");
        assert_eq!(hook["sideEffects"], "None");
        assert_eq!(hook["rules"][0]["resources"], json!([resource]));
    }
    // The Service is PrimeHub's, so an existing install's configurations reach this webhook.
    let service = &documents("webhook", "service.yaml")[0];
    assert_eq!(service["metadata"]["name"], "primehub-admission");
    assert_eq!(service["spec"]["ports"][0]["port"], 443);
}
