//! The local API's validated settings (`[api]`): where it listens and how it is secured. Built only by
//! the config parser, trusted downstream.

use std::net::SocketAddr;
use std::path::PathBuf;

/// `[api]`: serve the plant over HTTP(S) to plant apps on this machine or the plant network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// The address and port to listen on (port 0: any free port, the bound one is printed).
    pub listen: SocketAddr,
    /// How connections are secured; the parser only builds combinations that are allowed.
    pub security: ApiSecurity,
    /// Also serve the screens to a browser at `/` (read-only until a user signs in).
    pub browser: bool,
    /// Origins allowed to call the API from a browser page (CORS); empty: no CORS headers at all.
    pub cors: Vec<String>,
}

/// How the API's connections are secured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiSecurity {
    /// TLS with this certificate chain and private key (PEM files, resolved against the plant file).
    Tls { cert: PathBuf, key: PathBuf },
    /// Plain HTTP on a loopback address: only this machine can connect.
    Loopback,
    /// Plain HTTP on a network address, because the plant file says `insecure = true`; tokens travel
    /// in clear text and `collect` warns about it.
    Insecure,
}

impl ApiSettings {
    /// `https` with TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        match self.security {
            ApiSecurity::Tls { .. } => "https",
            ApiSecurity::Loopback | ApiSecurity::Insecure => "http",
        }
    }
}
