//! The parameter table: every standard parameter of Redis 7.0's `configs[]`, in the same order and with the
//! same names, aliases, flags, bounds and defaults.
//!
//! One row per parameter; the row's type ([`Kind`]) decides how values parse, validate and print. Values
//! themselves live in `Config` (one slot per row, same index), so this table is the single description and
//! the accessors in `mod.rs` find their rows with [`index_of`] at compile time.
//!
//! Left out on purpose: the `tls-*` rows (Redis compiles them only with TLS support; plexus has none, so
//! `CONFIG GET tls-port` answers nothing, exactly like a Redis built without `BUILD_TLS`) and the rows 7.0
//! only compiles into special builds.

use super::parse;

/// `IMMUTABLE_CONFIG`: settable only at startup (file or command line); `CONFIG SET` refuses it.
pub(crate) const IMMUTABLE: u8 = 1 << 0;
/// `SENSITIVE_CONFIG`: the value must be redacted from SLOWLOG and MONITOR.
pub(crate) const SENSITIVE: u8 = 1 << 1;
/// `HIDDEN_CONFIG`: only an exact name finds it in `CONFIG GET`; patterns skip it.
pub(crate) const HIDDEN: u8 = 1 << 2;
/// `PROTECTED_CONFIG`: `CONFIG SET` needs `enable-protected-configs yes` (or `local` and a local client).
pub(crate) const PROTECTED: u8 = 1 << 3;
/// `MULTI_ARG_CONFIG`: the value is a space-separated list (`save 3600 1 300 100`).
pub(crate) const MULTI_ARG: u8 = 1 << 4;
/// `DENY_LOADING_CONFIG`: refused while a dataset loads. plexus never loads one, so this is informational.
pub(crate) const DENY_LOADING: u8 = 1 << 5;
const MODIFIABLE: u8 = 0;

/// The C limits the bounds are written in.
const INT_MIN: i64 = i32::MIN as i64;
const INT_MAX: i64 = i32::MAX as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;
const LLONG_MAX: i64 = i64::MAX;
const SSIZE_MAX: i64 = i64::MAX;
/// `ULLONG_MAX` stored in a `long long` bound is -1; unsigned rows compare it back as `u64::MAX`.
const ULLONG_MAX: i64 = -1;
const MB: i64 = 1024 * 1024;

/// Redis's `CONFIG_MIN_HZ` and `CONFIG_MAX_HZ`: `hz` is accepted from 0 up, then clamped into this range.
pub(crate) const MIN_HZ: i64 = 1;
pub(crate) const MAX_HZ: i64 = 500;
/// `CONFIG_BINDADDR_MAX`: the most addresses `bind` takes.
pub(crate) const MAX_BIND_ADDRS: usize = 16;
/// `NET_HOST_STR_LEN`: announced hostnames must be shorter than this.
const MAX_HOSTNAME_BYTES: usize = 256;

pub(crate) struct Param {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub flags: u8,
    pub kind: Kind,
}

/// Validators return Redis's error text.
pub(crate) type Check<T> = fn(T) -> Result<(), &'static str>;
/// A validator for string values (a separate alias so the borrow is higher-ranked).
pub(crate) type BytesCheck = fn(&[u8]) -> Result<(), &'static str>;

pub(crate) enum Kind {
    /// `yes`/`no`.
    Bool { default: bool, check: Option<Check<bool>> },
    /// Redis's string and sds types (the same to a client). `empty_is_null` is `EMPTY_STRING_IS_NULL`:
    /// `""` means "unset", which the typed accessors report as `None`; both print as `""`.
    Str { default: Option<&'static str>, empty_is_null: bool, check: Option<BytesCheck> },
    /// A name from `names`. With `MULTI_ARG` the names are bit flags that combine (`shutdown-on-sigint`).
    Enum { names: &'static [(&'static str, i32)], default: i32, check: Option<Check<i32>> },
    /// An integer stored as C's `long long`. `unsigned` selects the unsigned bound check that Redis applies
    /// to its `unsigned int`, `unsigned long long` and `size_t` rows (and its `%llu` in the error text).
    Num { lo: i64, hi: i64, default: i64, unsigned: bool, format: NumFormat },
    /// The hand-written parameters.
    Special(Special),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum NumFormat {
    /// `INTEGER_CONFIG`: `string2ll` syntax, printed as a signed decimal.
    Int,
    /// `MEMORY_CONFIG`: `memtoull` syntax (`1gb`), printed as plain bytes.
    Memory,
    /// `MEMORY_CONFIG | PERCENT_CONFIG`: also `N%`, stored as `-N` and printed back as `N%`.
    MemoryPercent,
    /// `OCTAL_CONFIG`: `strtoll(.., 8)` syntax, printed in octal.
    Octal,
    /// `INTEGER_CONFIG` with the `updateHZ` apply step: out-of-range values are clamped to 1..=500.
    Hz,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Special {
    Dir,
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    ReplicaOf,
    LatencyTrackingInfoPercentiles,
}

const fn boolean(name: &'static str, alias: Option<&'static str>, flags: u8, default: bool) -> Param {
    Param { name, alias, flags, kind: Kind::Bool { default, check: None } }
}

const fn string(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    empty_is_null: bool,
    default: Option<&'static str>,
) -> Param {
    Param { name, alias, flags, kind: Kind::Str { default, empty_is_null, check: None } }
}

const fn checked_string(
    name: &'static str,
    flags: u8,
    empty_is_null: bool,
    default: Option<&'static str>,
    check: BytesCheck,
) -> Param {
    Param { name, alias: None, flags, kind: Kind::Str { default, empty_is_null, check: Some(check) } }
}

const fn enumerated(name: &'static str, flags: u8, names: &'static [(&'static str, i32)], default: i32) -> Param {
    Param { name, alias: None, flags, kind: Kind::Enum { names, default, check: None } }
}

const fn int(name: &'static str, alias: Option<&'static str>, flags: u8, lo: i64, hi: i64, default: i64) -> Param {
    Param { name, alias, flags, kind: Kind::Num { lo, hi, default, unsigned: false, format: NumFormat::Int } }
}

const fn uint(name: &'static str, alias: Option<&'static str>, flags: u8, lo: i64, hi: i64, default: i64) -> Param {
    Param { name, alias, flags, kind: Kind::Num { lo, hi, default, unsigned: true, format: NumFormat::Int } }
}

const fn memory(
    name: &'static str,
    alias: Option<&'static str>,
    lo: i64,
    hi: i64,
    default: i64,
    unsigned: bool,
) -> Param {
    Param { name, alias, flags: MODIFIABLE, kind: Kind::Num { lo, hi, default, unsigned, format: NumFormat::Memory } }
}

const fn special(name: &'static str, alias: Option<&'static str>, flags: u8, which: Special) -> Param {
    Param { name, alias, flags, kind: Kind::Special(which) }
}

pub(crate) const LOGLEVEL: &[(&str, i32)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
const SUPERVISED: &[(&str, i32)] = &[("upstart", 1), ("systemd", 2), ("auto", 3), ("no", 0)];
const SYSLOG_FACILITY: &[(&str, i32)] = &[
    ("user", 8),
    ("local0", 128),
    ("local1", 136),
    ("local2", 144),
    ("local3", 152),
    ("local4", 160),
    ("local5", 168),
    ("local6", 176),
    ("local7", 184),
];
const REPL_DISKLESS_LOAD: &[(&str, i32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
pub(crate) const MAXMEMORY_POLICY: &[(&str, i32)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
const APPENDFSYNC: &[(&str, i32)] = &[("everysec", 2), ("always", 1), ("no", 0)];
/// `yes` and `relative` are the same value, so `CONFIG GET` prints `yes` after `CONFIG SET .. relative`.
const OOM_SCORE_ADJ: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
const ACL_PUBSUB_DEFAULT: &[(&str, i32)] = &[("allchannels", 1), ("resetchannels", 0)];
const SANITIZE_DUMP_PAYLOAD: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
const PROTECTED_ACTION: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("local", 2)];
pub(crate) const PROTECTED_ACTION_YES: i32 = 1;
pub(crate) const PROTECTED_ACTION_LOCAL: i32 = 2;
const CLUSTER_PREFERRED_ENDPOINT_TYPE: &[(&str, i32)] = &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
const PROPAGATION_ERROR_BEHAVIOR: &[(&str, i32)] = &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];
/// Bit flags: `shutdown-on-sigterm "nosave now"` is 2|4.
const SHUTDOWN_ON_SIG: &[(&str, i32)] = &[("default", 0), ("save", 1), ("nosave", 2), ("now", 4), ("force", 8)];
const SHUTDOWN_SAVE: i32 = 1;
const SHUTDOWN_NOSAVE: i32 = 2;

fn check_active_defrag(enabled: bool) -> Result<(), &'static str> {
    // plexus has no jemalloc to defragment with, so it answers like a Redis built without HAVE_DEFRAG.
    if enabled {
        Err("Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified \
             Jemalloc like the one shipped by default with the Redis source distribution")
    } else {
        Ok(())
    }
}

fn check_dbfilename(v: &[u8]) -> Result<(), &'static str> {
    if v.contains(&b'/') {
        return Err("dbfilename can't be a path, just a filename");
    }
    Ok(())
}

fn check_appendfilename(v: &[u8]) -> Result<(), &'static str> {
    if v.is_empty() {
        return Err("appendfilename can't be empty");
    }
    if v.contains(&b'/') {
        return Err("appendfilename can't be a path, just a filename");
    }
    Ok(())
}

fn check_appenddirname(v: &[u8]) -> Result<(), &'static str> {
    if v.is_empty() {
        return Err("appenddirname can't be empty");
    }
    if v.contains(&b'/') {
        return Err("appenddirname can't be a path, just a dirname");
    }
    Ok(())
}

fn check_announced_hostname(v: &[u8]) -> Result<(), &'static str> {
    if v.len() >= MAX_HOSTNAME_BYTES {
        return Err("Hostnames must be less than 256 characters");
    }
    if !v.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.') {
        return Err("Hostnames may only contain alphanumeric characters, hyphens or dots");
    }
    Ok(())
}

/// `validateProcTitleTemplate`: `{name}` variables must be known, `{{`/`}}` are literal braces, and the
/// expansion must not be empty. Simplification: Redis expands the template for real to test emptiness; we
/// treat `{title}`, `{server-mode}`, `{config-file}` and `{unixsocket}` as possibly empty and the rest as not.
fn check_proc_title_template(v: &[u8]) -> Result<(), &'static str> {
    const INVALID: &str = "template format is invalid or contains unknown variables";
    const MAYBE_EMPTY: &[&[u8]] = &[b"title", b"server-mode", b"config-file", b"unixsocket"];
    const ALWAYS_SET: &[&[u8]] = &[b"listen-addr", b"port", b"tls-port"];
    let mut non_empty = false;
    let mut i = 0;
    while i < v.len() {
        match v[i] {
            b'{' if v.get(i + 1) == Some(&b'{') => {
                non_empty = true;
                i += 2;
            }
            b'}' if v.get(i + 1) == Some(&b'}') => {
                non_empty = true;
                i += 2;
            }
            b'{' => {
                let close = v[i + 1..].iter().position(|&c| c == b'}').ok_or(INVALID)? + i + 1;
                let var = &v[i + 1..close];
                if ALWAYS_SET.contains(&var) {
                    non_empty = true;
                } else if !MAYBE_EMPTY.contains(&var) {
                    return Err(INVALID);
                }
                i = close + 1;
            }
            b'}' => return Err(INVALID),
            b' ' => i += 1,
            _ => {
                non_empty = true;
                i += 1;
            }
        }
    }
    if non_empty {
        Ok(())
    } else {
        Err(INVALID)
    }
}

fn check_shutdown_flags(flags: i32) -> Result<(), &'static str> {
    if flags & SHUTDOWN_SAVE != 0 && flags & SHUTDOWN_NOSAVE != 0 {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously");
    }
    Ok(())
}

/// The table, in the order of Redis 7.0's `configs[]`. Rows marked "7.0.0 GA" arrived after the 7.0 release
/// candidates (propagation errors, disk-write errors, signal shutdown flags, socket marks).
pub(crate) const TABLE: &[Param] = &[
    // Bool configs.
    boolean("rdbchecksum", None, IMMUTABLE, true),
    boolean("daemonize", None, IMMUTABLE, false),
    boolean("io-threads-do-reads", None, IMMUTABLE, false),
    boolean("always-show-logo", None, IMMUTABLE, false),
    boolean("protected-mode", None, MODIFIABLE, true),
    boolean("rdbcompression", None, MODIFIABLE, true),
    boolean("rdb-del-sync-files", None, MODIFIABLE, false),
    boolean("activerehashing", None, MODIFIABLE, true),
    boolean("stop-writes-on-bgsave-error", None, MODIFIABLE, true),
    boolean("set-proc-title", None, IMMUTABLE, true),
    boolean("dynamic-hz", None, MODIFIABLE, true),
    boolean("lazyfree-lazy-eviction", None, MODIFIABLE, false),
    boolean("lazyfree-lazy-expire", None, MODIFIABLE, false),
    boolean("lazyfree-lazy-server-del", None, MODIFIABLE, false),
    boolean("lazyfree-lazy-user-del", None, MODIFIABLE, false),
    boolean("lazyfree-lazy-user-flush", None, MODIFIABLE, false),
    boolean("repl-disable-tcp-nodelay", None, MODIFIABLE, false),
    boolean("repl-diskless-sync", None, MODIFIABLE, true),
    boolean("aof-rewrite-incremental-fsync", None, MODIFIABLE, true),
    boolean("no-appendfsync-on-rewrite", None, MODIFIABLE, false),
    boolean("cluster-require-full-coverage", None, MODIFIABLE, true),
    boolean("rdb-save-incremental-fsync", None, MODIFIABLE, true),
    boolean("aof-load-truncated", None, MODIFIABLE, true),
    boolean("aof-use-rdb-preamble", None, MODIFIABLE, true),
    boolean("aof-timestamp-enabled", None, MODIFIABLE, false),
    boolean("cluster-replica-no-failover", Some("cluster-slave-no-failover"), MODIFIABLE, false),
    boolean("replica-lazy-flush", Some("slave-lazy-flush"), MODIFIABLE, false),
    boolean("replica-serve-stale-data", Some("slave-serve-stale-data"), MODIFIABLE, true),
    boolean("replica-read-only", Some("slave-read-only"), MODIFIABLE, true),
    boolean("replica-ignore-maxmemory", Some("slave-ignore-maxmemory"), MODIFIABLE, true),
    boolean("jemalloc-bg-thread", None, MODIFIABLE, true),
    Param {
        name: "activedefrag",
        alias: None,
        flags: MODIFIABLE,
        kind: Kind::Bool { default: false, check: Some(check_active_defrag) },
    },
    boolean("syslog-enabled", None, IMMUTABLE, false),
    boolean("cluster-enabled", None, IMMUTABLE, false),
    boolean("appendonly", None, DENY_LOADING, false),
    boolean("cluster-allow-reads-when-down", None, MODIFIABLE, false),
    boolean("cluster-allow-pubsubshard-when-down", None, MODIFIABLE, true),
    boolean("crash-log-enabled", None, MODIFIABLE, true),
    boolean("crash-memcheck-enabled", None, MODIFIABLE, true),
    boolean("use-exit-on-panic", None, HIDDEN, false),
    boolean("disable-thp", None, IMMUTABLE, true),
    boolean("cluster-allow-replica-migration", None, MODIFIABLE, true),
    boolean("replica-announced", None, MODIFIABLE, true),
    boolean("latency-tracking", None, MODIFIABLE, true),
    boolean("aof-disable-auto-gc", None, MODIFIABLE, false),
    boolean("replica-ignore-disk-write-errors", None, MODIFIABLE, false), // 7.0.0 GA
    // String configs.
    string("aclfile", None, IMMUTABLE, false, Some("")),
    string("unixsocket", None, IMMUTABLE, true, None),
    string("pidfile", None, IMMUTABLE, true, None),
    string("replica-announce-ip", Some("slave-announce-ip"), MODIFIABLE, true, None),
    string("masteruser", None, SENSITIVE, true, None),
    string("cluster-announce-ip", None, MODIFIABLE, true, None),
    string("cluster-config-file", None, IMMUTABLE, false, Some("nodes.conf")),
    checked_string("cluster-announce-hostname", MODIFIABLE, true, None, check_announced_hostname),
    string("syslog-ident", None, IMMUTABLE, false, Some("redis")),
    checked_string("dbfilename", PROTECTED, false, Some("dump.rdb"), check_dbfilename),
    checked_string("appendfilename", IMMUTABLE, false, Some("appendonly.aof"), check_appendfilename),
    checked_string("appenddirname", IMMUTABLE, false, Some("appendonlydir"), check_appenddirname),
    string("server_cpulist", None, IMMUTABLE, true, None),
    string("bio_cpulist", None, IMMUTABLE, true, None),
    string("aof_rewrite_cpulist", None, IMMUTABLE, true, None),
    string("bgsave_cpulist", None, IMMUTABLE, true, None),
    string("ignore-warnings", None, MODIFIABLE, false, Some("")),
    checked_string(
        "proc-title-template",
        MODIFIABLE,
        false,
        Some("{title} {listen-addr} {server-mode}"),
        check_proc_title_template,
    ),
    string("bind-source-addr", None, MODIFIABLE, true, None),
    string("logfile", None, IMMUTABLE, false, Some("")),
    // SDS configs (binary-safe strings to Redis; the same here).
    string("masterauth", None, SENSITIVE, true, None),
    string("requirepass", None, SENSITIVE, true, None),
    // Enum configs.
    enumerated("supervised", IMMUTABLE, SUPERVISED, 0),
    enumerated("syslog-facility", IMMUTABLE, SYSLOG_FACILITY, 128),
    enumerated("repl-diskless-load", DENY_LOADING, REPL_DISKLESS_LOAD, 0),
    enumerated("loglevel", MODIFIABLE, LOGLEVEL, 2),
    enumerated("maxmemory-policy", MODIFIABLE, MAXMEMORY_POLICY, 7),
    enumerated("appendfsync", MODIFIABLE, APPENDFSYNC, 2),
    enumerated("oom-score-adj", MODIFIABLE, OOM_SCORE_ADJ, 0),
    enumerated("acl-pubsub-default", MODIFIABLE, ACL_PUBSUB_DEFAULT, 0),
    enumerated("sanitize-dump-payload", MODIFIABLE, SANITIZE_DUMP_PAYLOAD, 0),
    enumerated("enable-protected-configs", IMMUTABLE, PROTECTED_ACTION, 0),
    enumerated("enable-debug-command", IMMUTABLE, PROTECTED_ACTION, 0),
    enumerated("enable-module-command", IMMUTABLE, PROTECTED_ACTION, 0),
    enumerated("cluster-preferred-endpoint-type", MODIFIABLE, CLUSTER_PREFERRED_ENDPOINT_TYPE, 0),
    enumerated("propagation-error-behavior", MODIFIABLE, PROPAGATION_ERROR_BEHAVIOR, 0), // 7.0.0 GA
    Param {
        name: "shutdown-on-sigint",
        alias: None,
        flags: MULTI_ARG,
        kind: Kind::Enum { names: SHUTDOWN_ON_SIG, default: 0, check: Some(check_shutdown_flags) },
    }, // 7.0.0 GA
    Param {
        name: "shutdown-on-sigterm",
        alias: None,
        flags: MULTI_ARG,
        kind: Kind::Enum { names: SHUTDOWN_ON_SIG, default: 0, check: Some(check_shutdown_flags) },
    }, // 7.0.0 GA
    // Integer configs (C `int`).
    int("databases", None, IMMUTABLE, 1, INT_MAX, 16),
    int("port", None, MODIFIABLE, 0, 65535, 6379),
    int("io-threads", None, IMMUTABLE, 1, 128, 1),
    int("auto-aof-rewrite-percentage", None, MODIFIABLE, 0, INT_MAX, 100),
    int("cluster-replica-validity-factor", Some("cluster-slave-validity-factor"), MODIFIABLE, 0, INT_MAX, 10),
    int("list-max-listpack-size", Some("list-max-ziplist-size"), MODIFIABLE, INT_MIN, INT_MAX, -2),
    int("tcp-keepalive", None, MODIFIABLE, 0, INT_MAX, 300),
    int("cluster-migration-barrier", None, MODIFIABLE, 0, INT_MAX, 1),
    int("active-defrag-cycle-min", None, MODIFIABLE, 1, 99, 1),
    int("active-defrag-cycle-max", None, MODIFIABLE, 1, 99, 25),
    int("active-defrag-threshold-lower", None, MODIFIABLE, 0, 1000, 10),
    int("active-defrag-threshold-upper", None, MODIFIABLE, 0, 1000, 100),
    int("lfu-log-factor", None, MODIFIABLE, 0, INT_MAX, 10),
    int("lfu-decay-time", None, MODIFIABLE, 0, INT_MAX, 1),
    int("replica-priority", Some("slave-priority"), MODIFIABLE, 0, INT_MAX, 100),
    int("repl-diskless-sync-delay", None, MODIFIABLE, 0, INT_MAX, 5),
    int("maxmemory-samples", None, MODIFIABLE, 1, INT_MAX, 5),
    int("maxmemory-eviction-tenacity", None, MODIFIABLE, 0, 100, 10),
    int("timeout", None, MODIFIABLE, 0, INT_MAX, 0),
    int("replica-announce-port", Some("slave-announce-port"), MODIFIABLE, 0, 65535, 0),
    int("tcp-backlog", None, IMMUTABLE, 0, INT_MAX, 511),
    int("cluster-port", None, IMMUTABLE, 0, 65535, 0),
    int("cluster-announce-bus-port", None, MODIFIABLE, 0, 65535, 0),
    int("cluster-announce-port", None, MODIFIABLE, 0, 65535, 0),
    int("cluster-announce-tls-port", None, MODIFIABLE, 0, 65535, 0),
    int("repl-timeout", None, MODIFIABLE, 1, INT_MAX, 60),
    int("repl-ping-replica-period", Some("repl-ping-slave-period"), MODIFIABLE, 1, INT_MAX, 10),
    int("list-compress-depth", None, MODIFIABLE, 0, INT_MAX, 0),
    int("rdb-key-save-delay", None, HIDDEN, INT_MIN, INT_MAX, 0),
    int("key-load-delay", None, HIDDEN, INT_MIN, INT_MAX, 0),
    int("active-expire-effort", None, MODIFIABLE, 1, 10, 1),
    Param {
        name: "hz",
        alias: None,
        flags: MODIFIABLE,
        kind: Kind::Num { lo: 0, hi: INT_MAX, default: 10, unsigned: false, format: NumFormat::Hz },
    },
    int("min-replicas-to-write", Some("min-slaves-to-write"), MODIFIABLE, 0, INT_MAX, 0),
    int("min-replicas-max-lag", Some("min-slaves-max-lag"), MODIFIABLE, 0, INT_MAX, 10),
    int("watchdog-period", None, HIDDEN, 0, INT_MAX, 0),
    int("shutdown-timeout", None, MODIFIABLE, 0, INT_MAX, 10),
    int("repl-diskless-sync-max-replicas", None, MODIFIABLE, 0, INT_MAX, 0),
    // Unsigned int configs.
    uint("maxclients", None, MODIFIABLE, 1, UINT_MAX, 10000),
    Param {
        name: "unixsocketperm",
        alias: None,
        flags: IMMUTABLE,
        kind: Kind::Num { lo: 0, hi: 0o777, default: 0, unsigned: true, format: NumFormat::Octal },
    },
    uint("socket-mark-id", None, IMMUTABLE, 0, UINT_MAX, 0), // 7.0.0 GA
    // Unsigned long configs: Redis bound-checks these as signed.
    int("active-defrag-max-scan-fields", None, MODIFIABLE, 1, LONG_MAX, 1000),
    int("slowlog-max-len", None, MODIFIABLE, 0, LONG_MAX, 128),
    int("acllog-max-len", None, MODIFIABLE, 0, LONG_MAX, 128),
    // Long long configs.
    int("busy-reply-threshold", Some("lua-time-limit"), MODIFIABLE, 0, LONG_MAX, 5000),
    int("cluster-node-timeout", None, MODIFIABLE, 0, LLONG_MAX, 15000),
    int("slowlog-log-slower-than", None, MODIFIABLE, -1, LLONG_MAX, 10000),
    int("latency-monitor-threshold", None, MODIFIABLE, 0, LLONG_MAX, 0),
    memory("proto-max-bulk-len", None, MB, LONG_MAX, 512 * MB, false),
    int("stream-node-max-entries", None, MODIFIABLE, 0, LLONG_MAX, 100),
    memory("repl-backlog-size", None, 1, LLONG_MAX, MB, false),
    // Unsigned long long configs.
    memory("maxmemory", None, 0, ULLONG_MAX, 0, true),
    memory("cluster-link-sendbuf-limit", None, 0, ULLONG_MAX, 0, true),
    // size_t configs.
    uint("hash-max-listpack-entries", Some("hash-max-ziplist-entries"), MODIFIABLE, 0, LONG_MAX, 512),
    uint("set-max-intset-entries", None, MODIFIABLE, 0, LONG_MAX, 512),
    uint("zset-max-listpack-entries", Some("zset-max-ziplist-entries"), MODIFIABLE, 0, LONG_MAX, 128),
    memory("active-defrag-ignore-bytes", None, 1, LLONG_MAX, 100 * MB, true),
    memory("hash-max-listpack-value", Some("hash-max-ziplist-value"), 0, LONG_MAX, 64, true),
    memory("stream-node-max-bytes", None, 0, LONG_MAX, 4096, true),
    memory("zset-max-listpack-value", Some("zset-max-ziplist-value"), 0, LONG_MAX, 64, true),
    memory("hll-sparse-max-bytes", None, 0, LONG_MAX, 3000, true),
    uint("tracking-table-max-keys", None, MODIFIABLE, 0, LONG_MAX, 1_000_000),
    memory("client-query-buffer-limit", None, MB, LONG_MAX, 1024 * MB, true),
    Param {
        name: "maxmemory-clients",
        alias: None,
        flags: MODIFIABLE,
        kind: Kind::Num { lo: -100, hi: SSIZE_MAX, default: 0, unsigned: false, format: NumFormat::MemoryPercent },
    },
    // Other configs (time_t, off_t).
    int("repl-backlog-ttl", None, MODIFIABLE, 0, LONG_MAX, 3600),
    memory("auto-aof-rewrite-min-size", None, 0, LLONG_MAX, 64 * MB, false),
    int("loading-process-events-interval-bytes", None, HIDDEN, 1024, INT_MAX, 2 * MB),
    // Special configs.
    special("dir", None, PROTECTED | DENY_LOADING, Special::Dir),
    special("save", None, MULTI_ARG, Special::Save),
    special("client-output-buffer-limit", None, MULTI_ARG, Special::ClientOutputBufferLimit),
    special("oom-score-adj-values", None, MULTI_ARG, Special::OomScoreAdjValues),
    special("notify-keyspace-events", None, MODIFIABLE, Special::NotifyKeyspaceEvents),
    special("bind", None, MULTI_ARG, Special::Bind),
    special("replicaof", Some("slaveof"), IMMUTABLE | MULTI_ARG, Special::ReplicaOf),
    special("latency-tracking-info-percentiles", None, MULTI_ARG, Special::LatencyTrackingInfoPercentiles),
];

const fn same_str(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The row of a primary name, found at compile time: a typo in an accessor fails the build, not a request.
pub(crate) const fn index_of(name: &str) -> usize {
    let mut i = 0;
    while i < TABLE.len() {
        if same_str(TABLE[i].name, name) {
            return i;
        }
        i += 1;
    }
    panic!("no such parameter in the config table")
}

/// Parse the number syntax of a numeric row (`numericParseString`), returning Redis's error text.
pub(crate) fn parse_number(format: NumFormat, value: &[u8]) -> Result<i64, &'static str> {
    match format {
        NumFormat::Memory | NumFormat::MemoryPercent => {
            if let Some(bytes) = parse::memtoull(value) {
                // Stored in a C `long long`, wrapping like the original.
                return Ok(bytes as i64);
            }
            if format == NumFormat::MemoryPercent {
                if let Some((b'%', digits)) = value.split_last() {
                    if let Some(percent) = parse::string2ll(digits).filter(|p| *p >= 0 && !digits.is_empty()) {
                        // Percentages are stored negated.
                        return Ok(-percent);
                    }
                }
                return Err("argument must be a memory or percent value");
            }
            Err("argument must be a memory value")
        }
        NumFormat::Octal => {
            let parsed = parse::strtoll(value, 8);
            if parsed.consumed_all && !parsed.overflow {
                Ok(parsed.value)
            } else {
                Err("argument couldn't be parsed as an octal number")
            }
        }
        NumFormat::Int | NumFormat::Hz => parse::string2ll(value).ok_or("argument couldn't be parsed into an integer"),
    }
}

/// `numericBoundaryCheck`, with its exact error texts.
pub(crate) fn check_bounds(lo: i64, hi: i64, unsigned: bool, format: NumFormat, value: i64) -> Result<(), String> {
    if unsigned {
        let (v, lo_u, hi_u) = (value as u64, lo as u64, hi as u64);
        if v > hi_u || v < lo_u {
            return Err(if format == NumFormat::Octal {
                format!("argument must be between {lo_u:o} and {hi_u:o} inclusive")
            } else {
                format!("argument must be between {lo_u} and {hi_u} inclusive")
            });
        }
    } else if format == NumFormat::MemoryPercent && value < 0 {
        if value < lo {
            return Err(format!("percentage argument must be less or equal to {}", -lo));
        }
    } else if value > hi || value < lo {
        return Err(format!("argument must be between {lo} and {hi} inclusive"));
    }
    Ok(())
}

/// `CONFIG GET`'s rendering of a numeric row (`numericConfigGet`).
pub(crate) fn format_number(format: NumFormat, value: i64) -> String {
    match format {
        NumFormat::MemoryPercent if value < 0 => format!("{}%", value.unsigned_abs()),
        NumFormat::Memory | NumFormat::MemoryPercent => (value as u64).to_string(),
        NumFormat::Octal => format!("{value:o}"),
        NumFormat::Int | NumFormat::Hz => value.to_string(),
    }
}

/// The `hz` apply step (`updateHZ`): accept any non-negative value, run at 1..=500.
pub(crate) fn clamp_hz(value: i64) -> i64 {
    value.clamp(MIN_HZ, MAX_HZ)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_aliases_are_unique_lowercase() {
        let mut seen = HashSet::new();
        for p in TABLE {
            for name in std::iter::once(p.name).chain(p.alias) {
                assert_eq!(name, name.to_ascii_lowercase());
                assert!(seen.insert(name), "duplicate {name}");
            }
        }
    }

    #[test]
    fn defaults_respect_their_own_bounds() {
        for p in TABLE {
            if let Kind::Num { lo, hi, default, unsigned, format } = p.kind {
                assert!(check_bounds(lo, hi, unsigned, format, default).is_ok(), "{}", p.name);
            }
            if let Kind::Enum { names, default, .. } = p.kind {
                assert!(names.iter().any(|(_, v)| *v == default), "{}", p.name);
            }
        }
    }

    #[test]
    fn proc_title_templates() {
        assert!(check_proc_title_template(b"{title} {listen-addr} {server-mode}").is_ok());
        assert!(check_proc_title_template(b"redis {{literal}}").is_ok());
        assert!(check_proc_title_template(b"{title} {nope}").is_err());
        assert!(check_proc_title_template(b"{title").is_err());
        assert!(check_proc_title_template(b"{title} {server-mode}").is_err(), "expands to nothing");
        assert!(check_proc_title_template(b"").is_err());
    }
}
