//! Shared test helper: run one of the `examples/` servers as a child process.
//!
//! Flow: `spawn_example("02_mio_echo")` starts the already-built example binary
//! with the argument `127.0.0.1:0`, reads its first stdout line
//! (`listening on <addr>`, the convention every example follows) to learn the
//! real port, and hands back an [`Example`]. Dropping the `Example` kills the
//! child, so a failing test never leaks a server. The child's stderr is kept and
//! printed only if the test panics, so server logs show up exactly when needed.
//!
//! Locating the binary: `cargo test` builds every example into
//! `target/<profile>/examples/`, and a test binary runs from
//! `target/<profile>/deps/`, so the example is `<dir of current_exe>/../examples/<name>`.
//! Only a plain `cargo test` builds examples: `cargo test --test examples` does not, and would
//! silently run an old binary. So `spawn_example` refuses a binary older than its sources
//! (`examples/<name>.rs` or `examples/<name>/`, and `src/`) and says what to run instead.
#![allow(dead_code)] // Each test crate that includes this module uses a different part.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime};

/// How long a server may take to print its `listening on` line. Generous,
/// because the machine may be busy building; a server that never starts fails
/// the test instead of hanging it.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Keep at most this much of the child's stderr (the tail), 64 KiB, so a chatty
/// server cannot grow test memory without bound.
const STDERR_KEEP_BYTES: usize = 64 * 1024;

/// A running example server. Killed (and reaped) on drop.
pub struct Example {
    name: String,
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Joined on drop, after the child is reaped, so the kept stderr is complete.
    stderr_reader: Option<thread::JoinHandle<()>>,
}

/// Where `cargo test` put the binary of example `name`.
pub fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("test binary has a directory");
    deps.join("..").join("examples").join(name)
}

/// The newest modification time of `path`, or of any file under it if it is a
/// directory. `None` if it does not exist.
fn newest_mtime(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path).ok()?.filter_map(|entry| newest_mtime(&entry.ok()?.path())).max()
}

/// Panic unless the example binary exists and is newer than every source it is
/// built from (see the module doc for why this matters).
fn assert_fresh(name: &str, binary: &Path) {
    let hint = "run a plain `cargo test` (it builds the examples), \
                or `cargo build --examples` before `cargo test --test ...`";
    let built = newest_mtime(binary).unwrap_or_else(|| panic!("{}: example not built; {hint}", binary.display()));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources =
        [root.join("examples").join(format!("{name}.rs")), root.join("examples").join(name), root.join("src")];
    if let Some(newest) = sources.iter().filter_map(|p| newest_mtime(p)).max() {
        assert!(newest <= built, "{}: older than its sources; {hint}", binary.display());
    }
}

/// Start example `name` on `127.0.0.1:0` and wait for its `listening on` line.
/// Panics (failing the test) if the binary is missing or stale, exits, or stays
/// silent for [`STARTUP_TIMEOUT`].
pub fn spawn_example(name: &str) -> Example {
    let path = example_path(name);
    assert_fresh(name, &path);
    let mut child = Command::new(&path)
        .arg("127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));

    // Read the first line on a thread so a silent child cannot hang the test.
    // The thread then keeps draining stdout, so the child never gets EPIPE.
    let stdout = child.stdout.take().expect("stdout is piped");
    let (line_tx, line_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = line_tx.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });

    let stderr = Arc::new(Mutex::new(Vec::new()));
    let mut child_stderr = child.stderr.take().expect("stderr is piped");
    let kept = Arc::clone(&stderr);
    let stderr_reader = thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = child_stderr.read(&mut chunk) {
            let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
            kept.extend_from_slice(&chunk[..n]);
            if kept.len() > STDERR_KEEP_BYTES {
                let excess = kept.len() - STDERR_KEEP_BYTES;
                kept.drain(..excess);
            }
        }
    });

    // Build the guard before waiting, so a failed start still kills the child.
    let mut example = Example {
        name: name.to_string(),
        child,
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        stderr,
        stderr_reader: Some(stderr_reader),
    };
    let line = line_rx
        .recv_timeout(STARTUP_TIMEOUT)
        .unwrap_or_else(|_| panic!("{name}: no `listening on` line within {STARTUP_TIMEOUT:?}"));
    let addr = line
        .trim_end()
        .strip_prefix("listening on ")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{name}: first stdout line was {line:?}, want `listening on <addr>`"));
    example.addr = addr;
    example
}

impl Example {
    /// The address the server really bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Panic if the server has exited: call at the end of a test to prove the
    /// server survived whatever the test did to it.
    pub fn assert_running(&mut self) {
        match self.child.try_wait() {
            Ok(None) => {}
            Ok(Some(status)) => panic!("{} exited early: {status}", self.name),
            Err(e) => panic!("{}: cannot query child status: {e}", self.name),
        }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        if thread::panicking() {
            let kept = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
            if !kept.is_empty() {
                eprintln!("--- stderr of {} ---\n{}", self.name, String::from_utf8_lossy(&kept));
            }
        }
    }
}
