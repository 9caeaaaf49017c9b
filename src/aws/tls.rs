//! The trusted roots: `AWS_CA_BUNDLE` instead of the system's, as the AWS
//! CLI does, checked before the SDK sees them.

use std::path::{Path, PathBuf};

use crate::helper::fsutil::read_bounded;
use crate::helper::token::TokenError;

/// The largest CA bundle read (`AWS_CA_BUNDLE`, `SSL_CERT_FILE`): the whole
/// public web's roots are about 200 KB.
const MAX_CA_BUNDLE: u64 = 8 << 20;

/// The trusted roots as PEM, for the SDK's connector, which parses them.
#[derive(Debug)]
pub(super) struct Trust {
    pub(super) pem: Vec<u8>,
}

/// Reads and checks `AWS_CA_BUNDLE`: the SDK's TLS layer panics on a bad
/// PEM, so a bad bundle must be refused here with the file's name.
fn load_ca_bundle(path: &Path) -> Result<Trust, TokenError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let bad = |why: String| TokenError::Setup(format!("AWS_CA_BUNDLE {}: {why}", path.display()));
    // A FIFO or a device is refused, not waited on or read without end.
    let pem = read_bounded(path, MAX_CA_BUNDLE).map_err(|e| bad(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM certificate bundle ({e:?})")))?;
    if certs.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| bad(format!("unusable certificate: {e}")))?;
    }
    Ok(Trust { pem })
}

/// The system roots (honouring `SSL_CERT_FILE` and `SSL_CERT_DIR`), only
/// those that parse, as PEM: handed to the SDK's own loader, an unusable
/// file trips an assertion there instead of failing cleanly.
fn system_roots() -> Result<Trust, TokenError> {
    use base64::Engine as _;
    // The loader reads SSL_CERT_FILE with no bound and would block on a
    // FIFO: it must be a regular file of bounded size first.
    if let Some(file) = crate::config::var("SSL_CERT_FILE") {
        match read_bounded(std::path::Path::new(&file), MAX_CA_BUNDLE) {
            // Missing: the loader says so below, as before.
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(TokenError::Setup(format!("SSL_CERT_FILE {file}: {e}")));
            }
            _ => {}
        }
    }
    let loaded = rustls_native_certs::load_native_certs();
    let mut pem = Vec::new();
    let mut roots = rustls::RootCertStore::empty();
    // The bundle file and the hashed directory usually hold the same roots:
    // each is encoded (and parsed again by the SDK) once.
    let mut seen = std::collections::HashSet::new();
    for cert in loaded.certs {
        if !seen.insert(cert.as_ref().to_vec()) {
            continue;
        }
        if roots.add(cert.clone()).is_ok() {
            let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
            pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
            for line in b64.as_bytes().chunks(64) {
                pem.extend_from_slice(line);
                pem.push(b'\n');
            }
            pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
        }
    }
    if roots.is_empty() {
        let errors: Vec<String> = loaded.errors.iter().map(|e| e.to_string()).collect();
        return Err(TokenError::Setup(format!(
            "no usable root certificate in the system store (SSL_CERT_FILE, SSL_CERT_DIR){}",
            if errors.is_empty() {
                String::new()
            } else {
                format!(": {}", errors.join("; "))
            }
        )));
    }
    Ok(Trust { pem })
}

pub(super) fn load_trust(ca_bundle: Option<&PathBuf>) -> Result<Trust, TokenError> {
    match ca_bundle {
        Some(path) => load_ca_bundle(path),
        None => system_roots(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_bundle_must_hold_certificates() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("missing.pem");
        let garbage = tmp.path().join("garbage.pem");
        std::fs::write(&garbage, b"hello").unwrap();
        let broken = tmp.path().join("broken.pem");
        std::fs::write(
            &broken,
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        for path in [missing, garbage, broken] {
            let err = load_ca_bundle(&path).unwrap_err().to_string();
            assert!(
                err.contains("AWS_CA_BUNDLE") && err.contains(&*path.to_string_lossy()),
                "{err}"
            );
        }
    }
}
