//! Certificates made with the openssl CLI, in a directory of the caller's: a CA, certificates it
//! signs (server or client), and self-signed end-entity certificates. P-256 keys, valid for a day.

use std::path::Path;
use std::process::Command;

const KEY: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

/// Runs `openssl` in `dir`.
pub fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("the openssl CLI does not run ({e}); apt-get install openssl"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// A CA: `<stem>.pem` and `<stem>.key`.
pub fn ca(dir: &Path, stem: &str, common_name: &str) -> Result<(), String> {
    let (cert, key, subject) = (
        format!("{stem}.pem"),
        format!("{stem}.key"),
        format!("/CN={common_name}"),
    );
    let mut args = vec!["req", "-x509"];
    args.extend(KEY);
    args.extend(["-nodes", "-days", "1", "-subj", &subject]);
    args.extend(["-keyout", &key, "-out", &cert]);
    openssl(dir, &args)
}

/// A certificate the CA `<ca>.pem` signs, with the given X.509 v3 extensions (one per line, as
/// in an openssl extension file): `<stem>.pem` and `<stem>.key`.
pub fn signed(dir: &Path, ca: &str, stem: &str, extensions: &str) -> Result<(), String> {
    let (cert, key, csr, ext) = (
        format!("{stem}.pem"),
        format!("{stem}.key"),
        format!("{stem}.csr"),
        format!("{stem}.ext"),
    );
    let mut req = vec!["req", "-new"];
    req.extend(KEY);
    req.extend([
        "-nodes",
        "-subj",
        "/CN=berth-test",
        "-keyout",
        &key,
        "-out",
        &csr,
    ]);
    openssl(dir, &req)?;
    std::fs::write(dir.join(&ext), extensions).map_err(|e| e.to_string())?;
    let (ca_cert, ca_key) = (format!("{ca}.pem"), format!("{ca}.key"));
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_cert,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ],
    )
}

/// The extensions of a server certificate for these names (`DNS:...`) and addresses (`IP:...`).
pub fn server_extensions(names: &[&str], ips: &[std::net::IpAddr]) -> String {
    let san: Vec<String> = names
        .iter()
        .map(|n| format!("DNS:{n}"))
        .chain(ips.iter().map(|ip| format!("IP:{ip}")))
        .collect();
    format!(
        "subjectAltName={}\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
        san.join(",")
    )
}

/// The extensions of a client certificate.
pub const CLIENT_EXTENSIONS: &str =
    "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n";

/// A self-signed end-entity certificate (not a CA) for `names`: `<stem>.pem` and `<stem>.key`.
pub fn self_signed(dir: &Path, stem: &str, names: &[&str]) -> Result<(), String> {
    let san = names
        .iter()
        .map(|n| format!("DNS:{n}"))
        .collect::<Vec<_>>()
        .join(",");
    let (cert, key, subject, san) = (
        format!("{stem}.pem"),
        format!("{stem}.key"),
        format!("/CN={}", names.first().copied().unwrap_or("berth-test")),
        format!("subjectAltName={san}"),
    );
    let mut args = vec!["req", "-x509"];
    args.extend(KEY);
    args.extend(["-nodes", "-days", "1", "-subj", &subject, "-addext", &san]);
    args.extend(["-addext", "basicConstraints=critical,CA:FALSE"]);
    args.extend(["-keyout", &key, "-out", &cert]);
    openssl(dir, &args)
}
