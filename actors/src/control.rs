//! ControlSocket: the node's unix socket (`[Server] unix_socket_path`), where
//! operators type commands, one per line, as with the original's socket.
//!
//! A line is `command arguments...`; replies are text. Commands served:
//! `reopen_files <file>...` (reopen the log files after a rotation; answers
//! `ACK`), `show_version`, and on nodes with a neo port `update-credentials`
//! (re-read `etc/credentials`) and `list-credentials` (the client names).
//! With `[Ring]`, `ring-status` shows the ring's epoch and each member's
//! health. Anything else is answered `Command not found`, as the original
//! answers. The socket file is removed when the actor stops.

use std::path::PathBuf;
use std::sync::Arc;

use actix::prelude::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::logging::ReopenHandle;
use crate::neo::CredentialsStore;

/// Longest command line accepted; a longer one closes that connection.
const MAX_LINE: usize = 64 * 1024;

/// The control socket of a node.
pub struct ControlSocket {
    path: PathBuf,
    listener: Option<UnixListener>,
    commands: Commands,
}

/// What the commands act on.
#[derive(Clone)]
pub struct Commands {
    /// Reopens the log files.
    pub reopen_logs: ReopenHandle,
    /// The program and version `show_version` prints.
    pub version: String,
    /// The neo clients' credentials, for `update-credentials` and
    /// `list-credentials` (nodes with a neo port).
    pub credentials: Option<Arc<CredentialsStore>>,
    /// The ring this node is a member of, for `ring-status`.
    pub ring: Option<Arc<crate::ring::Ring>>,
}

impl ControlSocket {
    /// Binds `path`, replacing a stale socket file left by a crashed node.
    pub fn bind(path: PathBuf, commands: Commands) -> std::io::Result<Self> {
        if std::fs::symlink_metadata(&path).is_ok_and(|m| {
            use std::os::unix::fs::FileTypeExt;
            m.file_type().is_socket()
        }) {
            std::fs::remove_file(&path)?;
        }
        let listener = UnixListener::bind(&path)?;
        Ok(ControlSocket { path, listener: Some(listener), commands })
    }
}

impl Actor for ControlSocket {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let Some(listener) = self.listener.take() else { return };
        let commands = self.commands.clone();
        ctx.spawn(
            async move {
                loop {
                    match listener.accept().await {
                        Ok((stream, _)) => {
                            // Owned by this accept loop's arbiter: it ends
                            // when the system stops.
                            actix_rt::spawn(serve(stream, commands.clone()));
                        }
                        Err(error) => {
                            tracing::error!(target: "shoal.control", "accept failed: {error}");
                            return;
                        }
                    }
                }
            }
            .into_actor(self),
        );
    }
}

impl Drop for ControlSocket {
    /// Removes the socket file, also when the system stops without stopping
    /// each actor first.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Serves one client until it disconnects.
async fn serve(stream: UnixStream, commands: Commands) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        match (&mut lines).take(MAX_LINE as u64).read_line(&mut line).await {
            Ok(0) => return,
            Ok(_) if !line.ends_with('\n') && line.len() >= MAX_LINE => {
                tracing::warn!(target: "shoal.control", "closing control connection: line too long");
                return;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(target: "shoal.control", "closing control connection: {error}");
                return;
            }
        }
        let reply = answer(line.trim(), &commands);
        if !reply.is_empty() && write.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The reply to one command line.
fn answer(line: &str, commands: &Commands) -> String {
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    match words.next() {
        None => String::new(),
        Some("reopen_files") => {
            if words.next().is_none() {
                return "ERROR: missing name of the file to rotate.\n".to_string();
            }
            commands.reopen_logs.reopen();
            tracing::info!(target: "shoal.control", "log files reopened on request");
            "ACK\n".to_string()
        }
        Some("show_version") => format!("{}\n", commands.version),
        Some("ring-status") => match &commands.ring {
            Some(ring) => ring.status(),
            None => "Error: this node is not in a ring\n".to_string(),
        },
        Some(command @ ("update-credentials" | "list-credentials")) => {
            let Some(credentials) = commands.credentials.as_deref() else {
                return "Command not found\n".to_string();
            };
            if words.next().is_some() {
                return "Error: No command arguments expected\n".to_string();
            }
            if command == "list-credentials" {
                let names: String = credentials.names().iter().map(|name| format!("{name}\n")).collect();
                return format!("Registered credentials:\n{names}");
            }
            match credentials.reload() {
                Ok(_) => "Credentials updated.\n".to_string(),
                Err(error) => {
                    tracing::error!(target: "shoal.control", "update-credentials: {error}");
                    format!("Error updating credentials: {error}\n")
                }
            }
        }
        Some(_) => "Command not found\n".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_answer_as_the_original() {
        let commands = Commands { reopen_logs: ReopenHandle::default(), version: "dhtnode 1".into(), credentials: None, ring: None };
        assert_eq!(answer("reopen_files log/root.log", &commands), "ACK\n");
        assert_eq!(answer("reopen_files", &commands), "ERROR: missing name of the file to rotate.\n");
        assert_eq!(answer("show_version", &commands), "dhtnode 1\n");
        assert_eq!(answer("update-nothing now", &commands), "Command not found\n");
        assert_eq!(answer("", &commands), "");
    }
}
