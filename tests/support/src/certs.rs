//! Test certificates (rcgen): a CA and serving certificates it signs for `127.0.0.1`, and an
//! HTTPS client that trusts only that CA — for webhooks a test serves on a loopback address
//! (`deploy/webhook/certs.sh` makes one for the in-cluster Service name, which an API server
//! calling a loopback URL would refuse).

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

/// A certificate authority for one test.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("a CA key");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, key).expect("the CA certificate"),
        }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A serving certificate for `127.0.0.1` and `localhost`: (certificate PEM, key PEM).
    pub fn serving(&self) -> (String, String) {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params
            .distinguished_name
            .push(DnType::CommonName, "primehub-admission");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("a key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        (cert.pem(), key.serialize_pem())
    }

    /// Writes a serving certificate and key into `dir` (`cert.pem`, `key.pem`, replaced in
    /// place); their paths.
    pub fn write_serving(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let (cert, key) = self.serving();
        let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
        // Key first: a reader seeing the new certificate with the old key rejects the pair and
        // keeps serving, and the next read sees both.
        std::fs::write(&key_file, key).expect("write the key");
        std::fs::write(&cert_file, cert).expect("write the certificate");
        (cert_file, key_file)
    }

    /// An HTTPS client that trusts only this CA.
    pub fn client(&self) -> reqwest::Client {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(self.issuer.der().clone())
            .expect("the CA is a certificate");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("an HTTPS client")
    }
}
