//! The flags: every error names the flag (and its environment variable) and what is wrong.

use clap::Parser;
use primehub_reconcile::webhook::resources::UndecidedPolicy;
use primehub_webhook::cli::Args;
use primehub_webhook::settings::{QuotaSettings, Settings};

fn cert_files() -> (String, String) {
    let dir = std::env::temp_dir().join(primehub_test_support::env::unique("webhook-flags"));
    std::fs::create_dir_all(&dir).expect("a folder");
    let ca = primehub_test_support::certs::TestCa::new("flags");
    let (cert, key) = ca.write_serving(&dir);
    (cert.display().to_string(), key.display().to_string())
}

fn resolve(extra: &[&str]) -> Result<Settings, String> {
    let (cert, key) = cert_files();
    let mut argv = vec!["primehub-webhook"];
    if !extra.contains(&"--tls-cert-file") {
        argv.extend(["--tls-cert-file", &cert]);
    }
    argv.extend(["--tls-key-file", &key]);
    argv.extend_from_slice(extra);
    let args = Args::try_parse_from(argv).map_err(|e| e.to_string())?;
    Settings::resolve(&args).map_err(|e| format!("{e:#}"))
}

#[test]
fn the_keycloak_source_needs_keycloak_and_the_graphql_source_its_endpoint_and_secret() {
    let err = resolve(&[]).unwrap_err();
    assert!(err.contains("--keycloak-url (KC_API_BASEURL)"), "{err}");
    let err = resolve(&["--keycloak-url", "http://kc"]).unwrap_err();
    assert!(err.contains("KC_CLIENT_SECRET"), "{err}");
    let ok = resolve(&["--keycloak-url", "http://kc", "--client-secret", "s"]).unwrap();
    assert!(matches!(ok.quotas, QuotaSettings::Keycloak(_)));
    assert_eq!(ok.undecided, UndecidedPolicy::Allow, "PrimeHub fails open");

    let err = resolve(&["--quota-source", "graphql"]).unwrap_err();
    assert!(
        err.contains("--graphql-endpoint (GRAPHQL_ENDPOINT)"),
        "{err}"
    );
    let err = resolve(&["--quota-source", "graphql", "--graphql-endpoint", "ftp://x"]).unwrap_err();
    assert!(err.contains("http:// or https://"), "{err}");
    let err = resolve(&[
        "--quota-source",
        "graphql",
        "--graphql-endpoint",
        "http://api/graphql",
    ])
    .unwrap_err();
    assert!(err.contains("GRAPHQL_SHARED_SECRET"), "{err}");
    // No Keycloak flag is needed with the GraphQL source.
    let ok = resolve(&[
        "--quota-source",
        "graphql",
        "--graphql-endpoint",
        "http://api/graphql",
        "--graphql-shared-secret",
        "s3cret",
        "--undecided",
        "deny",
    ])
    .unwrap();
    assert!(matches!(ok.quotas, QuotaSettings::Graphql { .. }));
    assert_eq!(ok.undecided, UndecidedPolicy::Deny);
    assert!(
        !format!("{ok:?}").contains("s3cret"),
        "the secret is redacted"
    );
}

#[test]
fn bad_values_name_their_flag() {
    let keycloak = ["--keycloak-url", "http://kc", "--client-secret", "s"];
    let with = |extra: &[&str]| {
        let mut all = keycloak.to_vec();
        all.extend_from_slice(extra);
        resolve(&all)
    };
    let err = with(&["--undecided", "maybe"]).unwrap_err();
    assert!(err.contains("\"maybe\" is not a policy"), "{err}");
    let err = with(&["--in-flight-seconds", "0"]).unwrap_err();
    assert!(err.contains("--in-flight-seconds"), "{err}");
    let err = with(&["--tls-cert-file", "/nonexistent/cert.pem"]).unwrap_err();
    assert!(
        err.contains(
            "--tls-cert-file (PRIMEHUB_WEBHOOK_TLS_CERT_FILE) /nonexistent/cert.pem: no such file"
        ),
        "{err}"
    );
    let err = with(&["--kubeconfig", "/nonexistent/kubeconfig"]).unwrap_err();
    assert!(err.contains("--kubeconfig"), "{err}");
}

#[test]
fn a_certificate_and_key_that_do_not_parse_are_named() {
    let dir = std::env::temp_dir().join(primehub_test_support::env::unique("webhook-tls"));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, "not a certificate").unwrap();
    std::fs::write(&key, "not a key").unwrap();
    let files = primehub_webhook::tls::TlsFiles {
        cert: cert.clone(),
        key: key.clone(),
    };
    let err = format!("{:#}", files.load().unwrap_err());
    assert!(
        err.contains(&format!("{}: no certificate", cert.display())),
        "{err}"
    );
    // A certificate with another CA's key: the pair is refused.
    let ca = primehub_test_support::certs::TestCa::new("pair");
    let (good_cert, _) = ca.serving();
    let (_, other_key) = ca.serving();
    std::fs::write(&cert, good_cert).unwrap();
    std::fs::write(&key, other_key).unwrap();
    let err = format!("{:#}", files.load().unwrap_err());
    assert!(err.contains("do not make a usable pair"), "{err}");
}
