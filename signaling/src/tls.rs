//! The HTTPS certificate: the configured one, or a self-signed one generated on first
//! run and kept in the data directory (room terminals on other machines need a secure
//! context for their camera).

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Errors making or finding the certificate.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// Generating the certificate failed.
    #[error("generating a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
}

/// Paths of a PEM certificate chain and its private key.
pub struct CertPaths {
    /// The certificate (chain).
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// The self-signed certificate in `data_dir`, created for `names` and `ips` if
/// missing.
pub fn self_signed(data_dir: &Path, ips: &[IpAddr]) -> Result<CertPaths, TlsError> {
    let paths = CertPaths {
        cert: data_dir.join("tls-cert.pem"),
        key: data_dir.join("tls-key.pem"),
    };
    if paths.cert.exists() && paths.key.exists() {
        return Ok(paths);
    }
    let mut names = vec!["localhost".to_string()];
    names.extend(ips.iter().map(|ip| ip.to_string()));
    let certified = rcgen::generate_simple_self_signed(names)?;
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| TlsError::Io { path, source }
    };
    fs::write(&paths.cert, certified.cert.pem()).map_err(io(&paths.cert))?;
    write_private(&paths.key, certified.signing_key.serialize_pem().as_bytes())
        .map_err(io(&paths.key))?;
    Ok(paths)
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(data)
}
