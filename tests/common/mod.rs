//! Starts the real `dhtnode` binary on a free loopback port in a scratch
//! directory, with a config.ini written the way operators write theirs.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use shoal_protocol::client::legacy::LegacyClient;
use tempfile::TempDir;

/// A running dhtnode; killed when dropped.
pub struct Node {
    child: Child,
    dir: Option<TempDir>,
    path: PathBuf,
    /// The legacy port.
    pub port: u16,
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("loopback has free ports")
}

/// The config.ini the tests use; `extra` is appended (more sections) and
/// `memory` replaces the `[Options_Memory]` keys.
pub fn config_ini(port: u16, memory: &str, extra: &str) -> String {
    config_ini_with_range(port, (0, u64::MAX), memory, extra)
}

/// [`config_ini`] with a hash range other than the whole space.
pub fn config_ini_with_range(port: u16, (min, max): (u64, u64), memory: &str, extra: &str) -> String {
    format!(
        "[Server]\naddress = 127.0.0.1\nport = {port}\ndata_dir = data\n\
         minval = 0x{min:016x}\nmaxval = 0x{max:016x}\n\
         connection_limit = 5000\nunix_socket_path = dhtnode.socket\n\n\
         [Performance]\nwrite_flush_ms = 250\n\n\
         [Options_Memory]\n{memory}\n\n\
         [STATS]\nfile_name = log/stats.log\n\n\
         [LOG.Root]\nconsole = false\nfile = log/root.log\nlevel = info\n{extra}"
    )
}

/// Default `[Options_Memory]` keys of the tests.
pub const MEMORY: &str = "size_limit = 0\nlock_memory = false\nallow_out_of_range = load\nbatch_size = 65535";

impl Node {
    /// A node with the default test config.
    pub fn start() -> Node {
        Self::start_with(MEMORY, "")
    }

    /// A node with custom `[Options_Memory]` keys and extra sections.
    pub fn start_with(memory: &str, extra: &str) -> Node {
        Self::start_with_config(|port| config_ini(port, memory, extra))
    }

    /// A node responsible for the bit-reversed range `min..=max`.
    pub fn start_with_range(memory: &str, min: u64, max: u64) -> Node {
        Self::start_with_config(|port| config_ini_with_range(port, (min, max), memory, ""))
    }

    /// A node with the config.ini that `config` writes for a port.
    pub fn start_with_config(config: impl FnOnce(u16) -> String) -> Node {
        let dir = TempDir::new().expect("scratch directory");
        let port = free_port();
        std::fs::create_dir_all(dir.path().join("etc")).expect("etc dir");
        std::fs::write(dir.path().join("etc/config.ini"), config(port)).expect("config written");
        let child = spawn(dir.path(), &["--config", "etc/config.ini"]);
        Node::ready(child, Some(dir), port)
    }

    /// A node with the default config whose directory first gets `files`
    /// (relative path, content), e.g. dumps in `data/`.
    pub fn start_with_files(files: &[(&str, Vec<u8>)]) -> Node {
        Self::start_with_files_and_config(files, |port| config_ini(port, MEMORY, ""))
    }

    /// [`Node::start_with_files`] with the config.ini `config` writes.
    pub fn start_with_files_and_config(files: &[(&str, Vec<u8>)], config: impl FnOnce(u16) -> String) -> Node {
        let dir = TempDir::new().expect("scratch directory");
        for (path, content) in files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("relative file path")).expect("dirs");
            std::fs::write(path, content).expect("file written");
        }
        let port = free_port();
        std::fs::create_dir_all(dir.path().join("etc")).expect("etc dir");
        std::fs::write(dir.path().join("etc/config.ini"), config(port)).expect("config");
        let child = spawn(dir.path(), &["--config", "etc/config.ini"]);
        Node::ready(child, Some(dir), port)
    }

    /// A node in an existing directory (with its etc/config.ini), e.g. to
    /// restart one that exited; the caller keeps the directory.
    pub fn start_in(dir: &Path, port: u16) -> Node {
        let child = spawn(dir, &["--config", "etc/config.ini"]);
        Node::ready_in(child, None, dir.to_path_buf(), port)
    }

    /// Takes the scratch directory out of the node so it outlives it.
    pub fn keep_dir(&mut self) -> TempDir {
        self.dir.take().expect("the node owns its directory")
    }

    /// Sends SIGKILL and waits for the process to be gone.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits (at most 60 s) until root.log contains `needle` `count` times.
    pub fn wait_for_log_count(&self, needle: &str, count: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let log = self.root_log();
            if log.matches(needle).count() >= count {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "root.log never said {needle:?} {count} times:\n{log}");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Waits for the node's readiness line on stdout.
    fn ready(child: Child, dir: Option<TempDir>, port: u16) -> Node {
        let path = dir.as_ref().expect("a new node has its directory").path().to_path_buf();
        Node::ready_in(child, dir, path, port)
    }

    fn ready_in(mut child: Child, dir: Option<TempDir>, path: PathBuf, port: u16) -> Node {
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("listening on") => break,
                Some(Ok(_)) => continue,
                _ => {
                    let status = child.wait().expect("node exited");
                    let log = std::fs::read_to_string(path.join("log/root.log")).unwrap_or_default();
                    panic!("dhtnode did not start ({status}); root.log:\n{log}");
                }
            }
        }
        // Keep draining stdout so the node never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Node { child, dir, path, port }
    }

    /// The node's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The node's working directory.
    pub fn dir(&self) -> &Path {
        &self.path
    }

    /// A new client connection.
    pub async fn client(&self) -> LegacyClient {
        LegacyClient::connect(("127.0.0.1", self.port)).await.expect("node accepts connections")
    }

    /// The node's root.log so far.
    pub fn root_log(&self) -> String {
        std::fs::read_to_string(self.path.join("log/root.log")).unwrap_or_default()
    }

    /// Waits (at most 10 s) until root.log contains `needle`: the node
    /// writes its log from a background thread, so a line lags its cause.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let log = self.root_log();
            if log.contains(needle) {
                return log;
            }
            assert!(std::time::Instant::now() < deadline, "root.log never said {needle:?}:\n{log}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        send_signal(self.child.id(), nix::sys::signal::Signal::SIGTERM);
        self.child.wait().expect("node exits")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `signal` to process `pid` (no `kill` binary needed).
pub fn send_signal(pid: u32, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pids fit in i32"));
    nix::sys::signal::kill(pid, signal).expect("signal sent");
}

/// Path of the dhtnode binary cargo built for the tests.
pub fn dhtnode_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_dhtnode"))
}

/// Starts dhtnode in `dir` with `args`, stdout piped.
pub fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(dhtnode_binary())
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dhtnode starts")
}
