//! Starts the real `dhtnode` (or `dmqnode`) binary on free loopback ports in
//! a scratch directory, with a config.ini written the way operators write
//! theirs.

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod ring;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use shoal_protocol::client::legacy::LegacyClient;
use tempfile::TempDir;

/// A running node; killed when dropped.
pub struct Node {
    child: Child,
    dir: Option<TempDir>,
    path: PathBuf,
    /// The legacy port.
    pub port: u16,
    /// The neo port (the DHT's is `port` + 100).
    pub neo_port: u16,
    /// What the node printed on stdout after its readiness line.
    stdout: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// A port that was free a moment ago, together with the port 100 above it
/// (the DHT's neo port).
///
/// Ports come from below the kernel's ephemeral range (32768 and up), so an
/// outgoing connection (a client, a ring member's gossip) can never take
/// one between this call and the node's bind. Within a test binary each call
/// hands out a new port: the `n`-th is in the lower half of a 200-port block
/// and its neo port in the upper half, which is never handed out itself.
/// The start differs per process so test binaries run side by side rarely
/// meet; 10000 and 10100 (the embedded default config) are never handed out.
pub fn free_port() -> u16 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    const BLOCKS: u32 = 110; // 10_200 + 200 * 110 + 100 stays below 32768
    let start = std::process::id().wrapping_mul(7919);
    for _ in 0..BLOCKS * 100 {
        let k = start.wrapping_add(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) % (BLOCKS * 100);
        let port = u16::try_from(10_200 + 200 * (k / 100) + k % 100).expect("below 32768");
        if [port, port + 100].iter().all(|&p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return port;
        }
    }
    panic!("no free loopback port below the ephemeral range");
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

    fn ready_in(child: Child, dir: Option<TempDir>, path: PathBuf, port: u16) -> Node {
        Node::try_ready_in(child, dir, path, port).unwrap_or_else(|failure| panic!("{failure}"))
    }

    /// Waits for the readiness line; the error says why the node exited
    /// instead (its stderr and root.log).
    fn try_ready_in(mut child: Child, dir: Option<TempDir>, path: PathBuf, port: u16) -> Result<Node, String> {
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("listening on") => break,
                Some(Ok(_)) => continue,
                _ => {
                    let output = child.wait_with_output().expect("node exited");
                    let log = std::fs::read_to_string(path.join("log/root.log")).unwrap_or_default();
                    let stderr = String::from_utf8_lossy(&output.stderr);
                    return Err(format!("the node did not start ({}): {stderr}\nroot.log:\n{log}", output.status));
                }
            }
        }
        // Keep draining stdout so the node never blocks on a full pipe.
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = std::sync::Arc::clone(&stdout);
        std::thread::spawn(move || lines.map_while(Result::ok).for_each(|line| kept.lock().unwrap().push(line)));
        Ok(Node { child, dir, path, port, neo_port: port + 100, stdout })
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

    /// A neo client authenticated as `admin` (see [`admin_credentials`]).
    pub async fn neo(&self) -> shoal_protocol::client::neo::NeoClient {
        shoal_protocol::client::neo::NeoClient::connect(("127.0.0.1", self.neo_port), "admin", shoal_protocol::neo::Key([0; 128]))
            .await
            .expect("neo port accepts admin")
    }

    /// Waits (at most 20 s) for a stdout line containing `needle`.
    pub fn wait_for_stdout(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            if let Some(line) = self.stdout.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            assert!(std::time::Instant::now() < deadline, "stdout never said {needle:?}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
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
    spawn_binary(&dhtnode_binary(), dir, args)
}

/// Starts `binary` in `dir` with `args`, stdout piped.
pub fn spawn_binary(binary: &Path, dir: &Path, args: &[&str]) -> Child {
    Command::new(binary)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts")
}

/// `len` bytes that LZO cannot shrink, different for every `seed`
/// (xorshift).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The original integration tests' credentials file: `admin` with a key of
/// 128 zero bytes, as a file for [`Node::start_with_files`].
pub fn admin_credentials() -> (&'static str, Vec<u8>) {
    ("etc/credentials", format!("admin:{}\n", "0".repeat(256)).into_bytes())
}

/// The dmqnode's config.ini of the tests (the original's test config, with
/// our ports and ring size).
pub fn dmq_config_ini(port: u16, neo_port: u16, channel_size_limit: u64, extra: &str) -> String {
    format!(
        "[Server]\naddress = 127.0.0.1\nport = {port}\nneoport = {neo_port}\ndata_dir = data\n\
         channel_size_limit = {channel_size_limit}\nunix_socket_path = dmqnode.socket\n\n\
         [Performance]\nwrite_flush_ms = 1\nno_delay = true\n\n\
         [LOG.Root]\nconsole = false\nfile = log/root.log\nlevel = info\n{extra}"
    )
}

impl Node {
    /// A dmqnode in a new scratch directory holding `files` and the admin
    /// credentials, with ring size `channel_size_limit`.
    pub fn start_dmq(channel_size_limit: u64, files: &[(&str, Vec<u8>)]) -> Node {
        Node::start_dmq_with(channel_size_limit, files, "")
    }

    /// [`Node::start_dmq`] with `extra` config sections.
    pub fn start_dmq_with(channel_size_limit: u64, files: &[(&str, Vec<u8>)], extra: &str) -> Node {
        let dir = scratch_with_credentials(files);
        let (port, neo_port) = (free_port(), free_port());
        let config = dmq_config_ini(port, neo_port, channel_size_limit, extra);
        std::fs::write(dir.path().join("etc/config.ini"), config).expect("config");
        let mut node = Node::start_dmq_in_dir(dir.path(), port, neo_port);
        node.dir = Some(dir);
        node
    }

    /// A dmqnode in `dir` (with its etc/config.ini) on these ports, e.g. a
    /// restart; the caller keeps the directory.
    pub fn start_dmq_in_dir(dir: &Path, port: u16, neo_port: u16) -> Node {
        Node::restart_in(&PathBuf::from(env!("CARGO_BIN_EXE_dmqnode")), dir, &["-c", "etc/config.ini"], port, neo_port)
    }

    /// A legacy DMQ client.
    pub async fn dmq(&self) -> shoal_protocol::client::dmq::DmqLegacyClient {
        shoal_protocol::client::dmq::DmqLegacyClient::connect(("127.0.0.1", self.port)).await.expect("legacy port")
    }

    /// A neo DMQ client authenticated as `admin`.
    pub async fn dmq_neo(&self) -> shoal_protocol::client::dmq::DmqNeoClient {
        shoal_protocol::client::dmq::DmqNeoClient::connect(("127.0.0.1", self.neo_port), "admin", shoal_protocol::neo::Key([0; 128]))
            .await
            .expect("neo port accepts admin")
    }
}

/// The dlsnode's config.ini of the tests (the original's test config, with
/// our ports and a short checkpoint period).
pub fn dls_config_ini(port: u16, neo_port: u16, extra: &str) -> String {
    format!(
        "[Server]\naddress = 127.0.0.1\nport = {port}\nneoport = {neo_port}\ndata_dir = data\n\
         unix_socket_path = dlsnode.socket\n\n\
         [Performance]\nwrite_flush_ms = 250\nfile_buffer_size = 65536\ncheckpoint_commit_seconds = 1\n\
         number_of_thread_workers = 4\n\n\
         [LOG.Root]\nconsole = false\nfile = log/root.log\nlevel = info\n{extra}"
    )
}

impl Node {
    /// A dlsnode in a new scratch directory holding `files` and the admin
    /// credentials.
    pub fn start_dls(files: &[(&str, Vec<u8>)]) -> Node {
        Node::start_dls_with(files, "")
    }

    /// [`Node::start_dls`] with `extra` config sections.
    pub fn start_dls_with(files: &[(&str, Vec<u8>)], extra: &str) -> Node {
        let dir = scratch_with_credentials(files);
        let (port, neo_port) = (free_port(), free_port());
        std::fs::write(dir.path().join("etc/config.ini"), dls_config_ini(port, neo_port, extra)).expect("config");
        let mut node = Node::start_dls_in_dir(dir.path(), port, neo_port);
        node.dir = Some(dir);
        node
    }

    /// A dlsnode in `dir` (with its etc/config.ini) on these ports; the
    /// caller keeps the directory. See [`Node::restart_in`] for the ports.
    pub fn start_dls_in_dir(dir: &Path, port: u16, neo_port: u16) -> Node {
        Node::restart_in(&PathBuf::from(env!("CARGO_BIN_EXE_dlsnode")), dir, &[], port, neo_port)
    }

    /// Starts `binary` in `dir` on the ports its config names. A restarted
    /// node's ports were free while it was down, and a test running in
    /// parallel may have taken one meanwhile: then the config gets fresh
    /// ports and the node is started again.
    fn restart_in(binary: &Path, dir: &Path, args: &[&str], mut port: u16, mut neo_port: u16) -> Node {
        for _ in 0..5 {
            let child = spawn_binary(binary, dir, args);
            match Node::try_ready_in(child, None, dir.to_path_buf(), port) {
                Ok(mut node) => {
                    node.neo_port = neo_port;
                    return node;
                }
                Err(failure) if failure.contains("cannot listen") => {
                    let config_path = dir.join("etc/config.ini");
                    let config = std::fs::read_to_string(&config_path).expect("config");
                    let (new_port, new_neo) = (free_port(), free_port());
                    let config = config
                        .replace(&format!("port = {port}\n"), &format!("port = {new_port}\n"))
                        .replace(&format!("neoport = {neo_port}\n"), &format!("neoport = {new_neo}\n"));
                    std::fs::write(&config_path, config).expect("config");
                    (port, neo_port) = (new_port, new_neo);
                }
                Err(failure) => panic!("{failure}"),
            }
        }
        panic!("no free ports for the restart");
    }

    /// A legacy DLS client.
    pub async fn dls(&self) -> shoal_protocol::client::dls::DlsLegacyClient {
        shoal_protocol::client::dls::DlsLegacyClient::connect(("127.0.0.1", self.port)).await.expect("legacy port")
    }

    /// A neo DLS client authenticated as `admin`.
    pub async fn dls_neo(&self) -> shoal_protocol::client::dls::DlsNeoClient {
        shoal_protocol::client::dls::DlsNeoClient::connect(("127.0.0.1", self.neo_port), "admin", shoal_protocol::neo::Key([0; 128]))
            .await
            .expect("neo port accepts admin")
    }
}

/// A scratch directory holding `files` (relative path, content) and the
/// admin credentials.
fn scratch_with_credentials(files: &[(&str, Vec<u8>)]) -> TempDir {
    let dir = TempDir::new().expect("scratch directory");
    let (name, credentials) = admin_credentials();
    for (path, content) in files.iter().chain([&(name, credentials)]) {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("relative file path")).expect("dirs");
        std::fs::write(path, content).expect("file written");
    }
    dir
}
