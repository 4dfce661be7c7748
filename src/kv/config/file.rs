//! redis.conf: the file parser (`loadServerConfigFromString`) and the command-line path that shares it.
//!
//! A file is split into lines; each line is trimmed, skipped if empty or a `#` comment, split into
//! arguments like `sdssplitargs` (quotes and escapes), and its first argument (case-insensitive) names a
//! parameter or one of the file-only directives. Parameters go through the same per-type parsing as
//! `CONFIG SET`, except that immutable and protected parameters are allowed and a multi-argument value may
//! come as separate arguments (`save 900 1 300 10`) or as one quoted string (`save "900 1 300 10"`).
//!
//! Loading is all or nothing: the directives apply to a copy, which replaces the live config only when the
//! whole file is valid. Redis exits on the first error instead; the error text is the same.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::table::{Special, MULTI_ARG, TABLE};
use super::{lookup, parse, parse_value, Config, Kind, REDIS_COMPAT_VERSION};

/// Directives Redis 7.0 still accepts (with exactly one argument) and ignores.
const DEPRECATED_DIRECTIVES: &[&str] =
    &["list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands"];

/// Why a config file, or a command-line option, was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// A directive was refused. `Display` gives Redis's report:
    ///
    /// ```text
    /// *** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***
    /// Reading the configuration file, at line 3
    /// >>> 'maxmemory lots'
    /// argument must be a memory value
    /// ```
    ///
    /// `line_number` is 1-based and `None` for checks made after the last line (and for command-line
    /// options, which have no line); `line` is the trimmed directive as written.
    Directive { line_number: Option<usize>, line: Option<String>, reason: String },
    /// The file could not be read.
    Open { path: PathBuf, reason: String },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Directive { line_number, line, reason } => {
                writeln!(f, "*** FATAL CONFIG FILE ERROR (Redis {REDIS_COMPAT_VERSION}) ***")?;
                if let Some(n) = line_number {
                    writeln!(f, "Reading the configuration file, at line {n}")?;
                }
                if let Some(line) = line {
                    writeln!(f, ">>> '{line}'")?;
                }
                f.write_str(reason)
            }
            LoadError::Open { path, reason } => {
                write!(f, "Fatal error, can't open config file '{}': {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for LoadError {}

/// `strerror(errno)` for an I/O error: the OS message without Rust's " (os error N)" suffix.
pub(crate) fn os_error_text(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

impl Config {
    /// Read and apply a redis.conf file. `include` is refused (see [`Config::load_bytes`]).
    pub fn load_file(&mut self, path: &Path) -> Result<(), LoadError> {
        let text =
            std::fs::read(path).map_err(|e| LoadError::Open { path: path.to_path_buf(), reason: os_error_text(&e) })?;
        self.load_bytes(&text)
    }

    /// Apply the directives of a redis.conf text. Later lines override earlier ones, except `save`, whose
    /// lines accumulate (the first one replaces the defaults).
    ///
    /// Refused with an error naming the line: unknown directives, wrong argument counts, invalid values,
    /// unbalanced quotes, and the directives plexus does not implement: `include` (merge the files instead),
    /// `rename-command`, `user`, `loadmodule`, module parameters (`name.param`) and `sentinel`.
    pub fn load_bytes(&mut self, text: &[u8]) -> Result<(), LoadError> {
        let mut staged = self.clone();
        for (i, raw) in text.split(|&c| c == b'\n').enumerate() {
            let line = trim(raw);
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let error = |reason: String| LoadError::Directive {
                line_number: Some(i + 1),
                line: Some(String::from_utf8_lossy(line).into_owned()),
                reason,
            };
            let argv =
                parse::split_args(line).ok_or_else(|| error("Unbalanced quotes in configuration line".into()))?;
            if argv.is_empty() {
                continue;
            }
            staged.apply_directive(&argv).map_err(error)?;
        }
        if staged.cluster_enabled() && staged.replicaof().is_some() {
            return Err(LoadError::Directive {
                line_number: None,
                line: None,
                reason: "replicaof directive not allowed in cluster mode".into(),
            });
        }
        *self = staged;
        Ok(())
    }

    /// Apply one startup option, from a `--name value` flag or a `PLEXUS_*` variable: the same as the
    /// config file line `name value` (so immutable parameters are allowed, and a multi-argument value may be
    /// one space-separated string, e.g. `("save", "900 1 300 10")`; `("save", "")` disables snapshots).
    pub fn set_from_cli(&mut self, name: &str, value: &str) -> Result<(), LoadError> {
        let argv = [name.as_bytes().to_vec(), value.as_bytes().to_vec()];
        self.apply_directive(&argv).map_err(|reason| LoadError::Directive {
            line_number: None,
            line: Some(format!("{name} {value}")),
            reason,
        })?;
        if self.cluster_enabled() && self.replicaof().is_some() {
            return Err(LoadError::Directive {
                line_number: None,
                line: None,
                reason: "replicaof directive not allowed in cluster mode".into(),
            });
        }
        Ok(())
    }

    /// One split directive, `argv[0]` being its name.
    fn apply_directive(&mut self, argv: &[Vec<u8>]) -> Result<(), String> {
        let name = argv[0].to_ascii_lowercase();
        if let Some(entry) = lookup(&name) {
            let param = &TABLE[entry.row];
            let multi = param.flags & MULTI_ARG != 0;
            if !multi && argv.len() != 2 {
                return Err("wrong number of arguments".into());
            }
            // A multi-argument value given as one non-empty string is split again (Redis 7.0.1+), so
            // `save "900 1 300 10"` and `--save "900 1"` work; `save ""` stays a single empty argument.
            let resplit;
            let args: Vec<&[u8]> = if multi && argv.len() == 2 && !argv[1].is_empty() {
                resplit = parse::split_args(&argv[1]).ok_or("Unbalanced quotes in configuration line")?;
                resplit.iter().map(Vec::as_slice).collect()
            } else {
                argv[1..].iter().map(Vec::as_slice).collect()
            };
            let is_save = matches!(param.kind, Kind::Special(Special::Save));
            let new = parse_value(param, &args, &self.values[entry.row], is_save && self.save_loaded)?;
            self.values[entry.row] = new;
            if is_save {
                self.save_loaded = true;
            }
            return Ok(());
        }
        let argc = argv.len();
        let is = |directive: &str| name == directive.as_bytes();
        if argc == 2 && DEPRECATED_DIRECTIVES.iter().any(|d| is(d)) {
            return Ok(());
        }
        if is("include") && argc == 2 {
            Err("include is not supported by plexus: merge the included file into this one".into())
        } else if is("rename-command") && argc == 3 {
            Err("rename-command is not supported by plexus".into())
        } else if is("user") && argc >= 2 {
            Err("user directives (ACL users) are not supported by plexus: use requirepass".into())
        } else if is("loadmodule") && argc >= 2 {
            Err("loadmodule is not supported by plexus: it has no module API".into())
        } else if name.contains(&b'.') {
            if argc != 2 {
                Err("Module config specified without value".into())
            } else {
                Err("module configs are not supported by plexus: it has no module API".into())
            }
        } else if is("sentinel") {
            // A bare `sentinel` line is how redis-server learns it is a Sentinel; plexus never is one.
            Err("sentinel directive while not in sentinel mode".into())
        } else {
            Err("Bad directive or wrong number of arguments".into())
        }
    }
}

/// `sdstrim(line, " \t\r\n")`.
fn trim(line: &[u8]) -> &[u8] {
    let is_trimmed = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = line.iter().position(|c| !is_trimmed(c)).unwrap_or(line.len());
    let end = line.iter().rposition(|c| !is_trimmed(c)).map_or(start, |i| i + 1);
    &line[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, LoadError> {
        let mut config = Config::new();
        config.load_bytes(text.as_bytes()).map(|()| config)
    }

    fn get(config: &Config, name: &str) -> String {
        String::from_utf8(config.get_value(name.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn comments_blank_lines_quotes_and_case() {
        let config = load(
            "# a comment\n\
             \n\
             \t  # indented comment\n\
             PORT 7000\r\n\
             requirepass \"p@ss word\\x21\"\n\
             logfile ''\n\
             MaxMemory 100mb\n\
             bind 127.0.0.1 -::1\n\
             notify-keyspace-events \"KEA\"\n",
        )
        .unwrap();
        assert_eq!(config.port(), 7000);
        assert_eq!(config.requirepass(), Some(&b"p@ss word!"[..]));
        assert_eq!(get(&config, "logfile"), "");
        assert_eq!(config.maxmemory(), 100 << 20);
        assert_eq!(config.bind(), ["127.0.0.1", "-::1"]);
        assert_eq!(get(&config, "notify-keyspace-events"), "AKE");
    }

    #[test]
    fn unknown_directive_names_the_line() {
        let err = load("port 7000\n# ok\nfoo bar\n").unwrap_err();
        assert_eq!(
            err,
            LoadError::Directive {
                line_number: Some(3),
                line: Some("foo bar".into()),
                reason: "Bad directive or wrong number of arguments".into()
            }
        );
        assert_eq!(
            err.to_string(),
            format!(
                "*** FATAL CONFIG FILE ERROR (Redis {REDIS_COMPAT_VERSION}) ***\n\
                 Reading the configuration file, at line 3\n\
                 >>> 'foo bar'\n\
                 Bad directive or wrong number of arguments"
            )
        );
    }

    #[test]
    fn wrong_argument_counts() {
        let err = load("port 1 2").unwrap_err();
        assert!(
            matches!(&err, LoadError::Directive { reason, line_number: Some(1), .. } if reason == "wrong number of arguments")
        );
        let err = load("maxmemory").unwrap_err();
        assert!(matches!(&err, LoadError::Directive { reason, .. } if reason == "wrong number of arguments"));
        let err = load("oom-score-adj-values 1 2").unwrap_err();
        assert!(matches!(&err, LoadError::Directive { reason, .. } if reason == "wrong number of arguments"));
        let err = load("replicaof localhost").unwrap_err();
        assert!(matches!(&err, LoadError::Directive { reason, .. } if reason == "wrong number of arguments"));
        let err = load("client-output-buffer-limit normal 0 0").unwrap_err();
        assert!(
            matches!(&err, LoadError::Directive { reason, .. } if reason == "Wrong number of arguments in buffer limit configuration.")
        );
        // Deprecated directives are accepted only with exactly one argument.
        assert!(load("list-max-ziplist-entries 512\nlua-replicate-commands yes").is_ok());
        assert!(load("list-max-ziplist-entries 512 1").is_err());
    }

    #[test]
    fn bad_values_use_the_config_set_reasons() {
        let err = load("databases 16\nmaxmemory lots").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "*** FATAL CONFIG FILE ERROR (Redis {REDIS_COMPAT_VERSION}) ***\n\
                 Reading the configuration file, at line 2\n\
                 >>> 'maxmemory lots'\n\
                 argument must be a memory value"
            )
        );
        let err = load("appendfsync sometimes").unwrap_err();
        assert!(err.to_string().ends_with("argument(s) must be one of the following: everysec, always, no"));
        let err = load("requirepass \"unterminated").unwrap_err();
        assert!(err.to_string().ends_with(">>> 'requirepass \"unterminated'\nUnbalanced quotes in configuration line"));
    }

    #[test]
    fn immutable_parameters_are_allowed_at_startup() {
        let config =
            load("databases 4\ndaemonize no\nunixsocket /tmp/plexus.sock\nunixsocketperm 700\nslaveof 10.0.0.1 6380")
                .unwrap();
        assert_eq!(config.databases(), 4);
        assert_eq!(config.unixsocket(), Some(PathBuf::from("/tmp/plexus.sock")));
        assert_eq!(config.unixsocketperm(), 0o700);
        assert_eq!(get(&config, "unixsocketperm"), "700");
        assert_eq!(config.replicaof(), Some((&b"10.0.0.1"[..], 6380)));
        assert_eq!(get(&config, "replicaof"), "10.0.0.1 6380");
    }

    #[test]
    fn save_lines_accumulate_and_empty_disables() {
        let config = load("save 900 1\nsave 300 10").unwrap();
        assert_eq!(get(&config, "save"), "900 1 300 10");
        let config = load("save \"\"").unwrap();
        assert_eq!(get(&config, "save"), "");
        assert!(config.save_params().is_empty());
        let config = load("save \"3600 1 300 100\"").unwrap();
        assert_eq!(get(&config, "save"), "3600 1 300 100");
        assert_eq!(load("save 0 1").unwrap_err().to_string().lines().last(), Some("Invalid save parameters"));
    }

    #[test]
    fn failed_load_changes_nothing() {
        let mut config = Config::new();
        let err = config.load_bytes(b"port 7000\nhz nope\n").unwrap_err();
        assert!(matches!(err, LoadError::Directive { line_number: Some(2), .. }));
        assert_eq!(config.port(), 6379);
    }

    #[test]
    fn unsupported_directives_are_refused_clearly() {
        for (text, reason) in [
            (
                "include /etc/redis/other.conf",
                "include is not supported by plexus: merge the included file into this one",
            ),
            ("rename-command FLUSHALL \"\"", "rename-command is not supported by plexus"),
            ("user alice on >pw ~* +@all", "user directives (ACL users) are not supported by plexus: use requirepass"),
            ("loadmodule /x.so", "loadmodule is not supported by plexus: it has no module API"),
            ("mymod.param 1", "module configs are not supported by plexus: it has no module API"),
            ("sentinel monitor m 127.0.0.1 6379 2", "sentinel directive while not in sentinel mode"),
        ] {
            let err = load(text).unwrap_err();
            assert!(
                matches!(&err, LoadError::Directive { reason: r, line_number: Some(1), .. } if r == reason),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn cluster_and_replicaof_conflict() {
        let err = load("cluster-enabled yes\nreplicaof 10.0.0.1 6379").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("*** FATAL CONFIG FILE ERROR (Redis {REDIS_COMPAT_VERSION}) ***\nreplicaof directive not allowed in cluster mode")
        );
    }

    #[test]
    fn hz_is_clamped_like_redis() {
        assert_eq!(get(&load("hz 1000").unwrap(), "hz"), "500");
        assert_eq!(get(&load("hz 0").unwrap(), "hz"), "1");
    }

    #[test]
    fn cli_options_follow_file_rules() {
        let mut config = Config::new();
        config.set_from_cli("databases", "32").unwrap();
        config.set_from_cli("save", "60 1000").unwrap();
        config.set_from_cli("client-output-buffer-limit", "pubsub 64mb 16mb 90").unwrap();
        assert_eq!(config.databases(), 32);
        assert_eq!(get(&config, "save"), "60 1000");
        assert_eq!(config.client_output_buffer_limits().pubsub.hard_limit_bytes, 64 << 20);
        let err = config.set_from_cli("port", "high").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("*** FATAL CONFIG FILE ERROR (Redis {REDIS_COMPAT_VERSION}) ***\n>>> 'port high'\nargument couldn't be parsed into an integer")
        );
    }

    #[test]
    fn missing_file_is_reported() {
        let err = Config::new().load_file(Path::new("/nonexistent/plexus.conf")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Fatal error, can't open config file '/nonexistent/plexus.conf': No such file or directory"
        );
    }
}
