//! The real `tessera` binary: one-off commands, a running server process,
//! and a Redis server of the test's own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tessera"))
}

/// Runs `tessera --database-url URL ARGS…` and returns what it did.
pub fn tessera(database_url: &str, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env("TESSERA_DATABASE_URL", database_url)
        .env("TESSERA_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .env_remove("TESSERA_PASSWORD")
        .output()
        .expect("run the tessera binary")
}

/// Like [`tessera`], with extra environment variables and `input` written
/// to its standard input (a pipe, not a terminal).
pub fn tessera_fed(database_url: &str, args: &[&str], env: &[(&str, &str)], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(binary())
        .args(args)
        .env("TESSERA_DATABASE_URL", database_url)
        .env("TESSERA_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .env_remove("TESSERA_PASSWORD")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the tessera binary");
    let mut stdin = child.stdin.take().expect("the child's stdin is piped");
    // A command that does not read its input may exit first: a broken pipe is fine.
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    child
        .wait_with_output()
        .expect("wait for the tessera binary")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the command failed with exactly one `error: …` line containing
/// `expected`, and no panic or backtrace.
pub fn assert_fails_with(output: &Output, expected: &str) {
    let err = stderr(output);
    assert!(
        !output.status.success(),
        "expected failure, got success; stdout: {}",
        stdout(output)
    );
    assert!(err.contains(expected), "stderr {err:?} lacks {expected:?}");
    assert!(
        err.starts_with("error: "),
        "stderr {err:?} is not one error line"
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "stderr {err:?} has more than one line"
    );
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "stderr {err:?}"
    );
}

pub fn assert_succeeds(output: &Output) -> String {
    assert!(
        output.status.success(),
        "command failed: stdout {:?} stderr {:?}",
        stdout(output),
        stderr(output)
    );
    stdout(output)
}

/// A real `tessera serve` (or `demo`) process, with its log lines.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub address: SocketAddr,
    pub stdout: String,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl ServerProcess {
    /// Starts `tessera SUBCOMMAND --listen 127.0.0.1:0 …` and waits until it
    /// logs the address it listens on. It stops on SIGTERM without a drain
    /// delay (no load balancer watches it) unless `extra` asks for one.
    pub fn start(database_url: &str, subcommand: &str, extra: &[&str]) -> ServerProcess {
        use std::io::{BufRead, BufReader, Read};
        use std::process::Stdio;
        let mut child = Command::new(binary())
            .arg(subcommand)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("TESSERA_DATABASE_URL", database_url)
            .env("TESSERA_LOG", "info")
            .env("TESSERA_DRAIN_SECONDS", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tessera");
        let (tx, lines) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = ServerProcess {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            stdout: String::new(),
            lines,
            seen: Vec::new(),
        };
        let line = process.wait_for_log("tessera listening on http://");
        let address: String = line
            .split("tessera listening on http://")
            .nth(1)
            .expect("address")
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || ".:[]".contains(*c))
            .collect();
        process.address = address.parse().expect("listen address");
        if subcommand == "demo" {
            let mut stdout = process.child.stdout.take().expect("stdout");
            let mut text = String::new();
            let mut byte = [0u8; 1];
            while !text.contains("Press Ctrl-C to stop.")
                && stdout.read(&mut byte).map(|n| n > 0).unwrap_or(false)
            {
                text.push(byte[0] as char);
            }
            process.stdout = text;
        }
        process
    }

    /// Every log line the process has written so far.
    pub fn drain_log(&mut self) -> Vec<String> {
        self.seen.extend(self.lines.try_iter());
        self.seen.clone()
    }

    /// Blocks until a log line containing `needle` appears (30 s at most).
    pub fn wait_for_log(&mut self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "tessera never logged {needle:?}; exit status {:?}",
                    self.child.try_wait()
                ),
            }
        }
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit (30 s at most) and returns its status.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "tessera did not exit");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Redis server of the test's own on a free port, so a test can stop and
/// restart it without touching anyone else's.
pub struct RedisProcess {
    child: std::process::Child,
    pub port: u16,
}

impl RedisProcess {
    pub fn start() -> RedisProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port)
    }

    pub fn start_on(port: u16) -> RedisProcess {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed (Debian package redis-server)");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        RedisProcess { child, port }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
