//! The neo clients' names and keys, read from `etc/credentials` at start and
//! again on the control socket's `update-credentials` command, as in the
//! original. A file that does not parse leaves the loaded keys in place;
//! connections already authenticated are not affected by a reload.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use shoal_protocol::neo::{Credentials, CredentialsError};

/// Where the originals read their neo credentials from, relative to the
/// node's working directory.
pub const CREDENTIALS_FILE: &str = "etc/credentials";

/// The credentials in force, shared by the neo listener and the control
/// socket.
pub struct CredentialsStore {
    path: PathBuf,
    current: RwLock<Arc<Credentials>>,
}

impl CredentialsStore {
    /// Loads `path`. Without a readable file no client can authenticate (the
    /// original refuses to start; shoal starts, serves legacy clients and
    /// says why every neo client is refused).
    pub fn load(path: PathBuf) -> Self {
        let credentials = match Credentials::load(&path) {
            Ok(credentials) => {
                tracing::info!(target: "shoal.neo", "{} neo clients in {}", credentials.len(), path.display());
                credentials
            }
            Err(error) => {
                tracing::warn!(target: "shoal.neo", "no neo clients can authenticate: {}: {error}", path.display());
                Credentials::default()
            }
        };
        CredentialsStore { path, current: RwLock::new(Arc::new(credentials)) }
    }

    /// The credentials a new connection authenticates against.
    pub fn current(&self) -> Arc<Credentials> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Re-reads the file; on an error the old credentials stay.
    pub fn reload(&self) -> Result<usize, CredentialsError> {
        let credentials = Credentials::load(&self.path)?;
        let count = credentials.len();
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(credentials);
        tracing::info!(target: "shoal.neo", "credentials updated: {count} neo clients");
        Ok(count)
    }

    /// The registered client names, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.current().names().map(|name| String::from_utf8_lossy(name).into_owned()).collect();
        names.sort_unstable();
        names
    }
}
