//! The server's configuration: Redis 7.0's parameters, `CONFIG GET`/`CONFIG SET`, and redis.conf.
//!
//! # How data flows
//!
//! ```text
//!  redis.conf ──► Config::load_file / load_bytes ──┐   (one directive per line, split like sdssplitargs)
//!  --flags, PLEXUS_* ──► Config::set_from_cli ─────┤   (same rules as a file line; immutable allowed)
//!                                                  ▼
//!                         table::TABLE (one row per parameter: name, alias, flags, type, bounds, default)
//!                                                  │   parse + validate per row type
//!                                                  ▼
//!                         Config::values (one slot per row) ◄── CONFIG SET: Config::set (atomic, returns
//!                                                  │                         the names that changed)
//!             ┌────────────────────────────────────┼──────────────────────────────┐
//!             ▼                                    ▼                              ▼
//!   CONFIG GET: Config::get            typed accessors (port(), bind(), ...)   change list -> the server
//!   (name/value pairs as Redis prints)  read the same slots: no second copy    reacts (timeout, bind, port)
//! ```
//!
//! The table ([`table`]) is the single description of every parameter; values live in one `Vec` beside it.
//! This module depends on nothing else in plexus: glob matching for `CONFIG GET` comes in as a function, so
//! the server can plug in Redis's `stringmatchlen`.
//!
//! # Where plexus differs from Redis 7.0 on purpose
//!
//! - `bind` defaults to `127.0.0.1` (Redis without a config file: `* -::*`; its shipped redis.conf:
//!   `127.0.0.1 -::1`).
//! - `dir` is validated and stored, but the process does not `chdir`: the server sees `dir` in the change list.
//! - `activedefrag yes` is refused with the text of a Redis built without jemalloc defrag support.
//! - `tls-*` parameters do not exist (as in a Redis built without TLS).
//! - `include`, `rename-command`, `user`, `loadmodule` and module parameters in a config file are refused
//!   with an error naming the line, instead of being acted on.
//! - `oom-score-adj-values` with an out-of-range element is refused; Redis 7.0 returns an internal `-1` that
//!   its callers treat as success, so it silently keeps the old value.
//! - `DENY_LOADING` is not enforced: plexus never loads a dataset at startup.
//! - Apply steps that touch the process (rebinding, `maxclients` vs the fd limit, oom_score_adj) are the
//!   server's job; this module only reports which parameters changed.

mod file;
mod parse;
mod table;

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use file::LoadError;
use table::{Kind, NumFormat, Param, Special, HIDDEN, IMMUTABLE, MULTI_ARG, PROTECTED, SENSITIVE, TABLE};

/// The Redis version plexus's config behaviour follows; it appears in config file error banners.
pub const REDIS_COMPAT_VERSION: &str = "7.0.15";

/// `CONFIG HELP`, line by line, each to be sent as a status reply (`addReplyHelp` adds the first and last two).
pub const CONFIG_HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Print this help.",
];

/// One `save <seconds> <changes>` rule: snapshot after `seconds` if at least `changes` writes happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveParam {
    pub seconds: i64,
    pub changes: i32,
}

/// One client class's output buffer limits: close the client above `hard_limit_bytes`, or when it stays
/// above `soft_limit_bytes` for `soft_limit_seconds`. Zero disables a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputBufferLimit {
    pub hard_limit_bytes: u64,
    pub soft_limit_bytes: u64,
    pub soft_limit_seconds: u64,
}

/// `client-output-buffer-limit`: the three classes Redis lets you configure (`master` is not one of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOutputBufferLimits {
    pub normal: OutputBufferLimit,
    /// Called `slave` when printed, and accepted as `slave` or `replica`.
    pub replica: OutputBufferLimit,
    pub pubsub: OutputBufferLimit,
}

impl ClientOutputBufferLimits {
    /// Redis's `clientBufferLimitsDefaults`.
    pub const DEFAULT: Self = Self {
        normal: OutputBufferLimit { hard_limit_bytes: 0, soft_limit_bytes: 0, soft_limit_seconds: 0 },
        replica: OutputBufferLimit { hard_limit_bytes: 256 << 20, soft_limit_bytes: 64 << 20, soft_limit_seconds: 60 },
        pubsub: OutputBufferLimit { hard_limit_bytes: 32 << 20, soft_limit_bytes: 8 << 20, soft_limit_seconds: 60 },
    };

    fn classes(&self) -> [(&'static str, &OutputBufferLimit); 3] {
        [("normal", &self.normal), ("slave", &self.replica), ("pubsub", &self.pubsub)]
    }
}

/// `loglevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

/// `notify-keyspace-events` as a bit set, with Redis's bit values and class letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct KeyspaceEvents(u32);

impl KeyspaceEvents {
    pub const NONE: Self = Self(0);
    /// `K`: publish on `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: Self = Self(1 << 0);
    /// `E`: publish on `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: Self = Self(1 << 1);
    /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: Self = Self(1 << 2);
    /// `$`: string commands.
    pub const STRING: Self = Self(1 << 3);
    /// `l`: list commands.
    pub const LIST: Self = Self(1 << 4);
    /// `s`: set commands.
    pub const SET: Self = Self(1 << 5);
    /// `h`: hash commands.
    pub const HASH: Self = Self(1 << 6);
    /// `z`: sorted set commands.
    pub const ZSET: Self = Self(1 << 7);
    /// `x`: expired events.
    pub const EXPIRED: Self = Self(1 << 8);
    /// `e`: evicted events.
    pub const EVICTED: Self = Self(1 << 9);
    /// `t`: stream commands.
    pub const STREAM: Self = Self(1 << 10);
    /// `m`: key misses. Not part of `A`.
    pub const KEY_MISS: Self = Self(1 << 11);
    /// `d`: module key types.
    pub const MODULE: Self = Self(1 << 13);
    /// `n`: new keys. Not part of `A`.
    pub const NEW: Self = Self(1 << 14);
    /// `A`: alias for `g$lshzxetd`.
    pub const ALL: Self = Self(
        Self::GENERIC.0
            | Self::STRING.0
            | Self::LIST.0
            | Self::SET.0
            | Self::HASH.0
            | Self::ZSET.0
            | Self::EXPIRED.0
            | Self::EVICTED.0
            | Self::STREAM.0
            | Self::MODULE.0,
    );

    /// The letters of the classes inside `A`, in the order Redis prints them.
    const CLASS_LETTERS: [(u8, Self); 11] = [
        (b'g', Self::GENERIC),
        (b'$', Self::STRING),
        (b'l', Self::LIST),
        (b's', Self::SET),
        (b'h', Self::HASH),
        (b'z', Self::ZSET),
        (b'x', Self::EXPIRED),
        (b'e', Self::EVICTED),
        (b't', Self::STREAM),
        (b'd', Self::MODULE),
        (b'n', Self::NEW),
    ];

    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set.
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// `keyspaceEventsStringToFlags`: any combination of `Ag$lshzxeKEtmdn`; `None` on another character.
    pub fn parse(classes: &[u8]) -> Option<Self> {
        let mut flags = 0;
        for &c in classes {
            flags |= match c {
                b'A' => Self::ALL.0,
                b'K' => Self::KEYSPACE.0,
                b'E' => Self::KEYEVENT.0,
                b'm' => Self::KEY_MISS.0,
                other => Self::CLASS_LETTERS.iter().find(|(letter, _)| *letter == other)?.1 .0,
            };
        }
        Some(Self(flags))
    }

    /// `keyspaceEventsFlagsToString`: `A` when all of its classes are on (else their letters), then `n` if
    /// not covered by `A`, then `K`, `E`, `m`. So `KEA` prints as `AKE`.
    pub fn to_flag_string(self) -> String {
        let mut out = String::new();
        if self.contains(Self::ALL) {
            // Redis checks `n` inside the other branch only, so with `A` set `n` is never printed.
            out.push('A');
        } else {
            for (letter, class) in Self::CLASS_LETTERS {
                if self.intersects(class) {
                    out.push(char::from(letter));
                }
            }
        }
        for (letter, class) in [('K', Self::KEYSPACE), ('E', Self::KEYEVENT), ('m', Self::KEY_MISS)] {
            if self.intersects(class) {
                out.push(letter);
            }
        }
        out
    }
}

/// One slot per table row.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Bool(bool),
    /// `None` is the C NULL of `EMPTY_STRING_IS_NULL` rows.
    Str(Option<Vec<u8>>),
    Enum(i32),
    /// C `long long`, whatever the row's C type.
    Num(i64),
    Dir(Vec<u8>),
    Save(Vec<SaveParam>),
    OutputLimits(ClientOutputBufferLimits),
    OomValues([i32; 3]),
    Events(KeyspaceEvents),
    Bind(Vec<Vec<u8>>),
    ReplicaOf(Option<(Vec<u8>, u16)>),
    Percentiles(Vec<f64>),
}

/// A name in Redis's `configs` dictionary: a row reached by its primary name or by its alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    row: usize,
    alias: bool,
}

impl Entry {
    fn name(self) -> &'static str {
        let param = &TABLE[self.row];
        match (self.alias, param.alias) {
            (true, Some(alias)) => alias,
            _ => param.name,
        }
    }
}

/// `lookupConfig`: case-insensitive, by primary name or alias. A linear scan over 158 rows: CONFIG
/// commands are rare and this keeps the table the only index.
fn lookup(name: &[u8]) -> Option<Entry> {
    TABLE.iter().enumerate().find_map(|(row, p)| {
        if p.name.as_bytes().eq_ignore_ascii_case(name) {
            Some(Entry { row, alias: false })
        } else if p.alias.is_some_and(|a| a.as_bytes().eq_ignore_ascii_case(name)) {
            Some(Entry { row, alias: true })
        } else {
            None
        }
    })
}

/// Why `CONFIG SET` failed. `Display` gives the complete error reply text Redis sends (starting with `ERR`),
/// ready to be written as `-{error}\r\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError {
    /// No `name value` pair at all (Redis's arity check).
    WrongArity,
    /// An odd number of arguments.
    Syntax,
    /// The first unknown name, as the client spelled it.
    UnknownOption(Vec<u8>),
    /// A known parameter refused: `arg` is the client's spelling for immutable, protected and duplicate
    /// parameters, and the parameter's (or alias's) own name for a bad value, as in Redis.
    Failed { arg: Vec<u8>, reason: String },
}

impl fmt::Display for SetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::WrongArity => f.write_str("ERR wrong number of arguments for 'config|set' command"),
            SetError::Syntax => f.write_str("ERR syntax error"),
            SetError::UnknownOption(name) => write!(
                f,
                "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                String::from_utf8_lossy(name)
            ),
            SetError::Failed { arg, reason } => write!(
                f,
                "ERR CONFIG SET failed (possibly related to argument '{}') - {}",
                String::from_utf8_lossy(arg),
                reason
            ),
        }
    }
}

impl std::error::Error for SetError {}

/// The configuration: Redis 7.0 defaults, then whatever the config file, the command line and `CONFIG SET`
/// changed. Cloning is cheap enough for the startup path (a few kilobytes).
#[derive(Debug, Clone)]
pub struct Config {
    /// `values[i]` belongs to `TABLE[i]`.
    values: Vec<Value>,
    /// Set once a file or command-line `save` line replaced the defaults: later lines then append, as in
    /// Redis where `save 900 1` followed by `save 300 10` keeps both rules.
    save_loaded: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// Redis 7.0's defaults (with plexus's `bind`, see the module docs). `dir` starts as the process's
    /// working directory, which is what Redis reports before any `dir` directive.
    pub fn new() -> Self {
        Config { values: TABLE.iter().map(default_value).collect(), save_loaded: false }
    }

    /// `CONFIG SET name value [name value ...]` (the arguments after `CONFIG SET`), with Redis 7.0's rules:
    /// names are case-insensitive; unknown, immutable, protected and repeated names are refused before
    /// anything changes; values are then parsed in order and the first bad one fails the whole call, leaving
    /// every parameter as it was. `client_is_local` is for `enable-protected-configs local`.
    ///
    /// On success returns the primary names whose value actually changed (no duplicates, request order), so
    /// the server can react, e.g. rearm idle timers when `timeout` is in the list.
    pub fn set<A: AsRef<[u8]>>(&mut self, args: &[A], client_is_local: bool) -> Result<Vec<&'static str>, SetError> {
        if args.is_empty() {
            return Err(SetError::WrongArity);
        }
        if args.len() % 2 == 1 {
            return Err(SetError::Syntax);
        }
        let mut requests: Vec<(Entry, &[u8])> = Vec::with_capacity(args.len() / 2);
        let mut first_error = None;
        for pair in args.chunks_exact(2) {
            let (name, value) = (pair[0].as_ref(), pair[1].as_ref());
            // As in configSetCommand, the first problem found is the one reported.
            if first_error.is_some() {
                break;
            }
            let Some(entry) = lookup(name) else {
                first_error = Some(SetError::UnknownOption(name.to_vec()));
                continue;
            };
            let flags = TABLE[entry.row].flags;
            let refusal = if flags & IMMUTABLE != 0 {
                Some("can't set immutable config")
            } else if flags & PROTECTED != 0 && !self.protected_configs_allowed(client_is_local) {
                Some("can't set protected config")
            } else if requests.iter().any(|(seen, _)| *seen == entry) {
                // Redis compares dictionary entries, so a name and its alias are not duplicates: both apply,
                // the later one winning.
                Some("duplicate parameter")
            } else {
                None
            };
            if let Some(reason) = refusal {
                first_error = Some(SetError::Failed { arg: name.to_vec(), reason: reason.to_string() });
                continue;
            }
            requests.push((entry, value));
        }
        if let Some(error) = first_error {
            return Err(error);
        }

        // Parse everything into a staging list first: nothing is written until every value is valid, which
        // is the all-or-nothing Redis gets by restoring backups.
        let mut staged: Vec<(usize, Value)> = Vec::with_capacity(requests.len());
        for (entry, value) in requests {
            let param = &TABLE[entry.row];
            let args: Vec<&[u8]> = if param.flags & MULTI_ARG != 0 { parse::split_spaces(value) } else { vec![value] };
            let current =
                staged.iter().rev().find(|(row, _)| *row == entry.row).map_or(&self.values[entry.row], |(_, v)| v);
            let new = parse_value(param, &args, current, false)
                .map_err(|reason| SetError::Failed { arg: entry.name().as_bytes().to_vec(), reason })?;
            staged.push((entry.row, new));
        }

        let mut touched: Vec<(usize, Value)> = Vec::new();
        for (row, value) in staged {
            if !touched.iter().any(|(seen, _)| *seen == row) {
                touched.push((row, self.values[row].clone()));
            }
            self.values[row] = value;
        }
        Ok(touched
            .into_iter()
            .filter(|(row, before)| self.values[*row] != *before)
            .map(|(row, _)| TABLE[row].name)
            .collect())
    }

    /// `CONFIG GET pattern [pattern ...]`: name/value pairs, no name twice.
    ///
    /// As in Redis 7.0: an argument without `*`, `?` or `[` is an exact, case-insensitive lookup that also
    /// finds aliases and hidden parameters and answers with the client's own spelling; a pattern is matched
    /// case-insensitively against every primary name *and* every alias (each answered under its own name),
    /// skipping hidden parameters. `matcher(pattern, name)` is the glob matcher (Redis's `stringmatchlen`);
    /// it receives the pattern lowercased and a lowercase name. Pairs come out in table order per pattern;
    /// Redis's order is its dictionary's, which clients must not rely on.
    pub fn get<P: AsRef<[u8]>>(
        &self,
        patterns: &[P],
        matcher: &dyn Fn(&[u8], &[u8]) -> bool,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let already =
            |out: &Vec<(Vec<u8>, Vec<u8>)>, name: &[u8]| out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        for pattern in patterns {
            let pattern = pattern.as_ref();
            if !pattern.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
                if already(&out, pattern) {
                    continue;
                }
                if let Some(entry) = lookup(pattern) {
                    out.push((pattern.to_vec(), self.render(entry.row)));
                }
                continue;
            }
            let lowered = pattern.to_ascii_lowercase();
            for (row, param) in TABLE.iter().enumerate() {
                if param.flags & HIDDEN != 0 {
                    continue;
                }
                for name in std::iter::once(param.name).chain(param.alias) {
                    if !already(&out, name.as_bytes()) && matcher(&lowered, name.as_bytes()) {
                        out.push((name.as_bytes().to_vec(), self.render(row)));
                    }
                }
            }
        }
        out
    }

    /// The value of one parameter (primary name or alias, any case) exactly as `CONFIG GET` prints it.
    pub fn get_value(&self, name: &[u8]) -> Option<Vec<u8>> {
        lookup(name).map(|entry| self.render(entry.row))
    }

    /// Whether a `CONFIG SET` of this parameter must be redacted from SLOWLOG and MONITOR
    /// (`requirepass`, `masterauth`, `masteruser`).
    pub fn is_sensitive(name: &[u8]) -> bool {
        lookup(name).is_some_and(|e| TABLE[e.row].flags & SENSITIVE != 0)
    }

    /// Every primary name with its alias, in table order: for docs and compatibility tables.
    pub fn parameter_names() -> impl Iterator<Item = (&'static str, Option<&'static str>)> {
        TABLE.iter().map(|p| (p.name, p.alias))
    }

    /// The parameter a `PLEXUS_*` environment variable stands for: `PLEXUS_MAXMEMORY_POLICY` ->
    /// `maxmemory-policy`, `PLEXUS_BIO_CPULIST` -> `bio_cpulist`. `_` matches `-` or `_`, letters match in
    /// any case. `None` for variables that are not parameters.
    pub fn name_for_env_var(var: &str) -> Option<&'static str> {
        let rest = var.strip_prefix("PLEXUS_")?;
        let normalize = |b: u8| if b == b'-' { b'_' } else { b.to_ascii_lowercase() };
        let same = |name: &str| {
            name.len() == rest.len() && name.bytes().zip(rest.bytes()).all(|(a, b)| normalize(a) == normalize(b))
        };
        TABLE.iter().find_map(|p| if same(p.name) { Some(p.name) } else { p.alias.filter(|a| same(a)) })
    }

    fn protected_configs_allowed(&self, client_is_local: bool) -> bool {
        match self.values[ROW_ENABLE_PROTECTED_CONFIGS] {
            Value::Enum(table::PROTECTED_ACTION_YES) => true,
            Value::Enum(table::PROTECTED_ACTION_LOCAL) => client_is_local,
            _ => false,
        }
    }

    /// `interface.get` of a row.
    fn render(&self, row: usize) -> Vec<u8> {
        let param = &TABLE[row];
        match (&param.kind, &self.values[row]) {
            (_, Value::Bool(b)) => {
                if *b {
                    b"yes".to_vec()
                } else {
                    b"no".to_vec()
                }
            }
            (_, Value::Str(s)) => s.clone().unwrap_or_default(),
            (Kind::Enum { names, .. }, Value::Enum(v)) => {
                enum_name(names, *v, param.flags & MULTI_ARG != 0).into_bytes()
            }
            (Kind::Num { format, .. }, Value::Num(v)) => table::format_number(*format, *v).into_bytes(),
            (_, Value::Dir(d)) => d.clone(),
            (_, Value::Save(rules)) => {
                rules.iter().map(|r| format!("{} {}", r.seconds, r.changes)).collect::<Vec<_>>().join(" ").into_bytes()
            }
            (_, Value::OutputLimits(limits)) => limits
                .classes()
                .iter()
                .map(|(class, l)| {
                    format!("{class} {} {} {}", l.hard_limit_bytes, l.soft_limit_bytes, l.soft_limit_seconds)
                })
                .collect::<Vec<_>>()
                .join(" ")
                .into_bytes(),
            (_, Value::OomValues(v)) => format!("{} {} {}", v[0], v[1], v[2]).into_bytes(),
            (_, Value::Events(e)) => e.to_flag_string().into_bytes(),
            (_, Value::Bind(addrs)) => addrs.join(&b' '),
            (_, Value::ReplicaOf(None)) => Vec::new(),
            (_, Value::ReplicaOf(Some((host, port)))) => {
                let mut out = host.clone();
                out.extend_from_slice(format!(" {port}").as_bytes());
                out
            }
            (_, Value::Percentiles(p)) => {
                p.iter().map(|v| parse::format_trimmed_double(*v)).collect::<Vec<_>>().join(" ").into_bytes()
            }
            // A row and its slot always agree in type; anything else would be a bug in `default_value` or
            // `parse_value`, which the table tests cover.
            (_, other) => format!("{other:?}").into_bytes(),
        }
    }

    fn num(&self, row: usize) -> i64 {
        match self.values[row] {
            Value::Num(v) => v,
            _ => 0,
        }
    }

    fn flag(&self, row: usize) -> bool {
        matches!(self.values[row], Value::Bool(true))
    }

    fn str_value(&self, row: usize) -> Option<&[u8]> {
        match &self.values[row] {
            Value::Str(Some(s)) => Some(s),
            _ => None,
        }
    }

    fn enum_raw(&self, row: usize) -> i32 {
        match self.values[row] {
            Value::Enum(v) => v,
            _ => 0,
        }
    }
}

// Rows the typed accessors read, resolved at compile time.
const ROW_BIND: usize = table::index_of("bind");
const ROW_PORT: usize = table::index_of("port");
const ROW_UNIXSOCKET: usize = table::index_of("unixsocket");
const ROW_UNIXSOCKETPERM: usize = table::index_of("unixsocketperm");
const ROW_REQUIREPASS: usize = table::index_of("requirepass");
const ROW_MAXCLIENTS: usize = table::index_of("maxclients");
const ROW_DATABASES: usize = table::index_of("databases");
const ROW_TIMEOUT: usize = table::index_of("timeout");
const ROW_TCP_KEEPALIVE: usize = table::index_of("tcp-keepalive");
const ROW_TCP_BACKLOG: usize = table::index_of("tcp-backlog");
const ROW_LOGLEVEL: usize = table::index_of("loglevel");
const ROW_PROTO_MAX_BULK_LEN: usize = table::index_of("proto-max-bulk-len");
const ROW_CLIENT_QUERY_BUFFER_LIMIT: usize = table::index_of("client-query-buffer-limit");
const ROW_CLIENT_OUTPUT_BUFFER_LIMIT: usize = table::index_of("client-output-buffer-limit");
const ROW_NOTIFY_KEYSPACE_EVENTS: usize = table::index_of("notify-keyspace-events");
const ROW_HZ: usize = table::index_of("hz");
const ROW_MAXMEMORY: usize = table::index_of("maxmemory");
const ROW_MAXMEMORY_POLICY: usize = table::index_of("maxmemory-policy");
const ROW_BUSY_REPLY_THRESHOLD: usize = table::index_of("busy-reply-threshold");
const ROW_SLOWLOG_LOG_SLOWER_THAN: usize = table::index_of("slowlog-log-slower-than");
const ROW_SLOWLOG_MAX_LEN: usize = table::index_of("slowlog-max-len");
const ROW_LATENCY_MONITOR_THRESHOLD: usize = table::index_of("latency-monitor-threshold");
const ROW_PROTECTED_MODE: usize = table::index_of("protected-mode");
const ROW_SAVE: usize = table::index_of("save");
const ROW_APPENDONLY: usize = table::index_of("appendonly");
const ROW_DIR: usize = table::index_of("dir");
const ROW_DBFILENAME: usize = table::index_of("dbfilename");
const ROW_ENABLE_PROTECTED_CONFIGS: usize = table::index_of("enable-protected-configs");
const ROW_CLUSTER_ENABLED: usize = table::index_of("cluster-enabled");
const ROW_REPLICAOF: usize = table::index_of("replicaof");

/// Typed views of the parameters plexus acts on. Each reads the same slot `CONFIG GET` prints, so there is
/// nothing to keep in sync; read them at startup and again when `set` reports the name as changed.
impl Config {
    /// `bind`, one address per entry, as written: a leading `-` marks an address that may be unavailable.
    /// Empty means "listen on no TCP address".
    pub fn bind(&self) -> Vec<String> {
        match &self.values[ROW_BIND] {
            Value::Bind(addrs) => addrs.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect(),
            _ => Vec::new(),
        }
    }

    /// `port` (0 = no TCP listener).
    pub fn port(&self) -> u16 {
        u16::try_from(self.num(ROW_PORT)).unwrap_or(0)
    }

    /// `unixsocket`, if set.
    pub fn unixsocket(&self) -> Option<PathBuf> {
        self.str_value(ROW_UNIXSOCKET).map(|p| PathBuf::from(OsStr::from_bytes(p)))
    }

    /// `unixsocketperm` as mode bits (0 = leave the umask's choice).
    pub fn unixsocketperm(&self) -> u32 {
        u32::try_from(self.num(ROW_UNIXSOCKETPERM)).unwrap_or(0)
    }

    /// `requirepass`; `None` when unset or set to `""`, which both mean "no password".
    pub fn requirepass(&self) -> Option<&[u8]> {
        self.str_value(ROW_REQUIREPASS)
    }

    /// `maxclients` (default 10000).
    pub fn maxclients(&self) -> u32 {
        u32::try_from(self.num(ROW_MAXCLIENTS)).unwrap_or(u32::MAX)
    }

    /// `databases` (default 16).
    pub fn databases(&self) -> usize {
        usize::try_from(self.num(ROW_DATABASES)).unwrap_or(1)
    }

    /// `timeout` in seconds; 0 means idle clients are never closed.
    pub fn timeout_secs(&self) -> u64 {
        self.num(ROW_TIMEOUT).unsigned_abs()
    }

    /// `timeout` as the reactor's idle timeout: `None` when disabled.
    pub fn idle_timeout(&self) -> Option<Duration> {
        Some(self.timeout_secs()).filter(|s| *s > 0).map(Duration::from_secs)
    }

    /// `tcp-keepalive` in seconds (0 = no SO_KEEPALIVE).
    pub fn tcp_keepalive_secs(&self) -> u64 {
        self.num(ROW_TCP_KEEPALIVE).unsigned_abs()
    }

    /// `tcp-backlog`, the listen(2) backlog.
    pub fn tcp_backlog(&self) -> u32 {
        u32::try_from(self.num(ROW_TCP_BACKLOG)).unwrap_or(u32::MAX)
    }

    /// `loglevel`.
    pub fn loglevel(&self) -> LogLevel {
        match self.enum_raw(ROW_LOGLEVEL) {
            0 => LogLevel::Debug,
            1 => LogLevel::Verbose,
            3 => LogLevel::Warning,
            _ => LogLevel::Notice,
        }
    }

    /// `proto-max-bulk-len` in bytes: the largest bulk string a request may carry.
    pub fn proto_max_bulk_len(&self) -> u64 {
        self.num(ROW_PROTO_MAX_BULK_LEN).unsigned_abs()
    }

    /// `client-query-buffer-limit` in bytes: the most unparsed input one client may buffer.
    pub fn client_query_buffer_limit(&self) -> u64 {
        self.num(ROW_CLIENT_QUERY_BUFFER_LIMIT).unsigned_abs()
    }

    /// `client-output-buffer-limit` for the three classes.
    pub fn client_output_buffer_limits(&self) -> ClientOutputBufferLimits {
        match &self.values[ROW_CLIENT_OUTPUT_BUFFER_LIMIT] {
            Value::OutputLimits(l) => *l,
            _ => ClientOutputBufferLimits::DEFAULT,
        }
    }

    /// `notify-keyspace-events`.
    pub fn notify_keyspace_events(&self) -> KeyspaceEvents {
        match self.values[ROW_NOTIFY_KEYSPACE_EVENTS] {
            Value::Events(e) => e,
            _ => KeyspaceEvents::NONE,
        }
    }

    /// `hz`, already clamped to 1..=500 as Redis runs it.
    pub fn hz(&self) -> u32 {
        u32::try_from(table::clamp_hz(self.num(ROW_HZ))).unwrap_or(10)
    }

    /// `maxmemory` in bytes (0 = no limit).
    pub fn maxmemory(&self) -> u64 {
        self.num(ROW_MAXMEMORY) as u64
    }

    /// `maxmemory-policy` by name (`noeviction`, `allkeys-lru`, ...).
    pub fn maxmemory_policy(&self) -> &'static str {
        let v = self.enum_raw(ROW_MAXMEMORY_POLICY);
        table::MAXMEMORY_POLICY.iter().find(|(_, x)| *x == v).map_or("noeviction", |(n, _)| n)
    }

    /// `busy-reply-threshold` (alias `lua-time-limit`) in milliseconds.
    pub fn busy_reply_threshold(&self) -> Duration {
        Duration::from_millis(self.num(ROW_BUSY_REPLY_THRESHOLD).unsigned_abs())
    }

    /// `slowlog-log-slower-than` in microseconds: negative disables the slow log, 0 logs everything.
    pub fn slowlog_log_slower_than_us(&self) -> i64 {
        self.num(ROW_SLOWLOG_LOG_SLOWER_THAN)
    }

    /// `slowlog-max-len`.
    pub fn slowlog_max_len(&self) -> u64 {
        self.num(ROW_SLOWLOG_MAX_LEN).unsigned_abs()
    }

    /// `latency-monitor-threshold` in milliseconds (0 = off).
    pub fn latency_monitor_threshold_ms(&self) -> u64 {
        self.num(ROW_LATENCY_MONITOR_THRESHOLD).unsigned_abs()
    }

    /// `protected-mode`.
    pub fn protected_mode(&self) -> bool {
        self.flag(ROW_PROTECTED_MODE)
    }

    /// `save` rules; empty when snapshots are disabled (`save ""`).
    pub fn save_params(&self) -> &[SaveParam] {
        match &self.values[ROW_SAVE] {
            Value::Save(rules) => rules,
            _ => &[],
        }
    }

    /// `appendonly`.
    pub fn appendonly(&self) -> bool {
        self.flag(ROW_APPENDONLY)
    }

    /// `dir`, absolute.
    pub fn dir(&self) -> PathBuf {
        match &self.values[ROW_DIR] {
            Value::Dir(d) => PathBuf::from(OsStr::from_bytes(d)),
            _ => PathBuf::new(),
        }
    }

    /// `dbfilename`.
    pub fn dbfilename(&self) -> &[u8] {
        self.str_value(ROW_DBFILENAME).unwrap_or_default()
    }

    /// `cluster-enabled`.
    pub fn cluster_enabled(&self) -> bool {
        self.flag(ROW_CLUSTER_ENABLED)
    }

    /// `replicaof` (alias `slaveof`): the master's host and port, if this server is a replica.
    pub fn replicaof(&self) -> Option<(&[u8], u16)> {
        match &self.values[ROW_REPLICAOF] {
            Value::ReplicaOf(Some((host, port))) => Some((host, *port)),
            _ => None,
        }
    }

    /// Any boolean parameter by name or alias; `None` if unknown or not a boolean.
    pub fn get_bool(&self, name: &[u8]) -> Option<bool> {
        match self.values[lookup(name)?.row] {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// Any numeric parameter by name or alias, as Redis stores it (a C `long long`; percentages negative).
    pub fn get_i64(&self, name: &[u8]) -> Option<i64> {
        match self.values[lookup(name)?.row] {
            Value::Num(v) => Some(v),
            _ => None,
        }
    }
}

fn default_value(param: &Param) -> Value {
    match &param.kind {
        Kind::Bool { default, .. } => Value::Bool(*default),
        Kind::Str { default, .. } => Value::Str(default.map(|s| s.as_bytes().to_vec())),
        Kind::Enum { default, .. } => Value::Enum(*default),
        Kind::Num { default, .. } => Value::Num(*default),
        Kind::Special(which) => match which {
            Special::Dir => {
                Value::Dir(std::env::current_dir().map(|d| d.into_os_string().into_vec()).unwrap_or_default())
            }
            // Redis 7.0's initServerConfig: save after 1h/1 change, 5min/100 changes, 1min/10000 changes.
            Special::Save => Value::Save(vec![
                SaveParam { seconds: 3600, changes: 1 },
                SaveParam { seconds: 300, changes: 100 },
                SaveParam { seconds: 60, changes: 10000 },
            ]),
            Special::ClientOutputBufferLimit => Value::OutputLimits(ClientOutputBufferLimits::DEFAULT),
            Special::OomScoreAdjValues => Value::OomValues([0, 200, 800]),
            Special::NotifyKeyspaceEvents => Value::Events(KeyspaceEvents::NONE),
            Special::Bind => Value::Bind(vec![b"127.0.0.1".to_vec()]),
            Special::ReplicaOf => Value::ReplicaOf(None),
            Special::LatencyTrackingInfoPercentiles => Value::Percentiles(vec![50.0, 99.0, 99.9]),
        },
    }
}

/// `configEnumGetName`: the first name with exactly this value; for bit-flag enums, otherwise the names of
/// the flags it is made of; `unknown` if nothing fits.
fn enum_name(names: &[(&'static str, i32)], value: i32, bitflags: bool) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let mut unmatched = value;
    for &(name, v) in names {
        if v == value {
            return name.to_string();
        }
        if bitflags && v != 0 && v & unmatched == v {
            parts.push(name);
            unmatched &= !v;
        }
    }
    if parts.is_empty() || unmatched != 0 {
        "unknown".to_string()
    } else {
        parts.join(" ")
    }
}

/// `configEnumGetValue`: each argument must be a name (case-insensitive); bit-flag enums OR them together.
fn enum_value(names: &[(&'static str, i32)], args: &[&[u8]], bitflags: bool) -> Option<i32> {
    if args.is_empty() || (!bitflags && args.len() != 1) {
        return None;
    }
    let mut value = 0;
    for arg in args {
        let mut matched = false;
        for &(name, v) in names {
            if name.as_bytes().eq_ignore_ascii_case(arg) {
                value |= v;
                matched = true;
            }
        }
        if !matched {
            return None;
        }
    }
    Some(value)
}

/// Parse and validate new arguments for a row (the per-type `set` functions of config.c). `args` are the
/// already-split arguments; `append_save` is true for a config-file `save` line after the first.
fn parse_value(param: &Param, args: &[&[u8]], current: &Value, append_save: bool) -> Result<Value, String> {
    let single = args.first().copied().unwrap_or_default();
    match &param.kind {
        Kind::Bool { check, .. } => {
            let value = if single.eq_ignore_ascii_case(b"yes") {
                true
            } else if single.eq_ignore_ascii_case(b"no") {
                false
            } else {
                return Err("argument must be 'yes' or 'no'".into());
            };
            if let Some(check) = check {
                check(value)?;
            }
            Ok(Value::Bool(value))
        }
        Kind::Str { empty_is_null, check, .. } => {
            if let Some(check) = check {
                check(single)?;
            }
            Ok(Value::Str(if *empty_is_null && single.is_empty() { None } else { Some(single.to_vec()) }))
        }
        Kind::Enum { names, check, .. } => {
            let value = enum_value(names, args, param.flags & MULTI_ARG != 0).ok_or_else(|| {
                let list: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
                format!("argument(s) must be one of the following: {}", list.join(", "))
            })?;
            if let Some(check) = check {
                check(value)?;
            }
            Ok(Value::Enum(value))
        }
        Kind::Num { lo, hi, unsigned, format, .. } => {
            let value = table::parse_number(*format, single)?;
            table::check_bounds(*lo, *hi, *unsigned, *format, value)?;
            Ok(Value::Num(if *format == NumFormat::Hz { table::clamp_hz(value) } else { value }))
        }
        Kind::Special(which) => parse_special(*which, args, current, append_save),
    }
}

fn parse_special(which: Special, args: &[&[u8]], current: &Value, append_save: bool) -> Result<Value, String> {
    const WRONG_ARGS: &str = "wrong number of arguments";
    match which {
        Special::Dir => {
            let [path] = args else { return Err(WRONG_ARGS.into()) };
            let base = match current {
                Value::Dir(d) => d.as_slice(),
                _ => &[],
            };
            resolve_dir(base, path).map(Value::Dir)
        }
        Special::Save => {
            const INVALID: &str = "Invalid save parameters";
            // A single "" means "no rules".
            let args = if args.len() == 1 && args[0].is_empty() { &[][..] } else { args };
            if args.len() % 2 == 1 {
                return Err(INVALID.into());
            }
            let mut numbers = Vec::with_capacity(args.len());
            for (j, arg) in args.iter().enumerate() {
                let parsed = parse::strtoll(arg, 10);
                let minimum = if j % 2 == 0 { 1 } else { 0 };
                if !parsed.consumed_all || parsed.value < minimum {
                    return Err(INVALID.into());
                }
                numbers.push(parsed.value);
            }
            let mut rules = match (append_save, current) {
                (true, Value::Save(existing)) => existing.clone(),
                _ => Vec::new(),
            };
            // `changes` is a C int in Redis; the cast keeps its truncation.
            rules.extend(numbers.chunks_exact(2).map(|p| SaveParam { seconds: p[0], changes: p[1] as i32 }));
            Ok(Value::Save(rules))
        }
        Special::ClientOutputBufferLimit => {
            if args.len() % 4 != 0 {
                return Err("Wrong number of arguments in buffer limit configuration.".into());
            }
            let mut limits = match current {
                Value::OutputLimits(l) => *l,
                _ => ClientOutputBufferLimits::DEFAULT,
            };
            // Validate every class before changing any (updateClientOutputBufferLimit does the same).
            let mut updates = Vec::with_capacity(args.len() / 4);
            for group in args.chunks_exact(4) {
                let class = group[0].to_ascii_lowercase();
                if !matches!(class.as_slice(), b"normal" | b"slave" | b"replica" | b"pubsub") {
                    return Err("Invalid client class specified in buffer limit configuration.".into());
                }
                let hard = parse::memtoull(group[1]);
                let soft = parse::memtoull(group[2]);
                let seconds = parse::strtoll(group[3], 10);
                let (Some(hard), Some(soft), true) = (hard, soft, seconds.consumed_all && seconds.value >= 0) else {
                    return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".into());
                };
                let limit = OutputBufferLimit {
                    hard_limit_bytes: hard,
                    soft_limit_bytes: soft,
                    soft_limit_seconds: seconds.value.unsigned_abs(),
                };
                updates.push((class, limit));
            }
            for (class, limit) in updates {
                match class.as_slice() {
                    b"normal" => limits.normal = limit,
                    b"pubsub" => limits.pubsub = limit,
                    _ => limits.replica = limit,
                }
            }
            Ok(Value::OutputLimits(limits))
        }
        Special::OomScoreAdjValues => {
            let [a, b, c] = args else { return Err(WRONG_ARGS.into()) };
            let mut values = [0i32; 3];
            for (slot, arg) in values.iter_mut().zip([a, b, c]) {
                let parsed = parse::strtoll(arg, 10);
                if !parsed.consumed_all || !(-2000..=2000).contains(&parsed.value) {
                    return Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into());
                }
                *slot = i32::try_from(parsed.value).unwrap_or_default();
            }
            Ok(Value::OomValues(values))
        }
        Special::NotifyKeyspaceEvents => {
            let [classes] = args else { return Err(WRONG_ARGS.into()) };
            KeyspaceEvents::parse(classes)
                .map(Value::Events)
                .ok_or_else(|| "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
        }
        Special::Bind => {
            if args.len() > table::MAX_BIND_ADDRS {
                return Err("Too many bind addresses specified.".into());
            }
            let args = if args.len() == 1 && args[0].is_empty() { &[][..] } else { args };
            Ok(Value::Bind(args.iter().map(|a| a.to_vec()).collect()))
        }
        Special::ReplicaOf => {
            let [host, port] = args else { return Err(WRONG_ARGS.into()) };
            if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
                return Ok(Value::ReplicaOf(None));
            }
            let parsed = parse::strtoll(port, 10);
            match u16::try_from(parsed.value) {
                Ok(port) if parsed.consumed_all => Ok(Value::ReplicaOf(Some((host.to_vec(), port)))),
                _ => Err("Invalid master port".into()),
            }
        }
        Special::LatencyTrackingInfoPercentiles => {
            let args = if args.len() == 1 && args[0].is_empty() { &[][..] } else { args };
            let mut percentiles = Vec::with_capacity(args.len());
            for arg in args {
                let p = parse::string2d(arg).ok_or("Invalid latency-tracking-info-percentiles parameters")?;
                if !(0.0..=100.0).contains(&p) {
                    return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into());
                }
                percentiles.push(p);
            }
            Ok(Value::Percentiles(percentiles))
        }
    }
}

/// Redis's `dir` is `chdir` + `getcwd`: the directory must exist, and `CONFIG GET dir` then prints it
/// absolute. We resolve a relative path against the current `dir` and canonicalize, without `chdir`.
fn resolve_dir(base: &[u8], path: &[u8]) -> Result<Vec<u8>, String> {
    let requested = Path::new(OsStr::from_bytes(path));
    let full = if requested.is_absolute() || base.is_empty() || path.is_empty() {
        requested.to_path_buf()
    } else {
        Path::new(OsStr::from_bytes(base)).join(requested)
    };
    let metadata = std::fs::metadata(&full).map_err(|e| file::os_error_text(&e))?;
    if !metadata.is_dir() {
        return Err("Not a directory".into());
    }
    let absolute = std::fs::canonicalize(&full).map_err(|e| file::os_error_text(&e))?;
    Ok(absolute.into_os_string().into_vec())
}

#[cfg(test)]
mod tests;
