//! Server commands: INFO, DBSIZE, FLUSHDB, FLUSHALL, TIME, COMMAND, CONFIG, SHUTDOWN, MONITOR.
//!
//! `COMMAND` and its subcommands are generated from the command table itself (`cmd/mod.rs`), so what
//! `COMMAND DOCS` tells `redis-cli` (its interactive hints) cannot drift from what the dispatcher does.

use std::fmt::Write as _;

use super::cmd::syntax::{self, Arg};
use super::cmd::{acl_categories, flag, flag::*, Command, Table};
use super::config::CONFIG_HELP;
use super::connection::{container, help, REDIS_VERSION};
use super::error::{err, CmdError, CmdResult};
use super::exec::{Ctx, Effect};
use super::glob::glob_match;

pub static COMMANDS: &[Command] = &[
    Command::new(
        "info",
        -1,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "1.0.0",
        "O(1)",
        "Get information and statistics about the server",
        "[section [section ...]]",
        info,
    ),
    Command::new(
        "dbsize",
        1,
        READONLY | FAST,
        (0, 0, 0),
        "server",
        "1.0.0",
        "O(1)",
        "Return the number of keys in the selected database",
        "",
        dbsize,
    )
    .with_acl("@keyspace"),
    Command::new(
        "flushdb",
        -1,
        WRITE,
        (0, 0, 0),
        "server",
        "1.0.0",
        "O(N) where N is the total number of keys in all databases",
        "Remove all keys from the current database",
        "[ASYNC|SYNC]",
        flushdb,
    )
    .with_acl("@keyspace @dangerous"),
    Command::new(
        "flushall",
        -1,
        WRITE,
        (0, 0, 0),
        "server",
        "1.0.0",
        "O(N) where N is the total number of keys in all databases",
        "Remove all keys from all databases",
        "[ASYNC|SYNC]",
        flushall,
    )
    .with_acl("@keyspace @dangerous"),
    Command::new(
        "time",
        1,
        LOADING | STALE | FAST,
        (0, 0, 0),
        "server",
        "2.6.0",
        "O(1)",
        "Return the current server time",
        "",
        time,
    ),
    Command::new(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        (0, 0, 0),
        "server",
        "1.0.0",
        "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
        "Synchronously save the dataset to disk and then shut down the server",
        "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]",
        shutdown,
    ),
    Command::new(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "1.0.0",
        "",
        "Listen for all requests received by the server in real time",
        "",
        monitor,
    ),
    Command::new(
        "command",
        -1,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.8.13",
        "O(N) where N is the total number of Redis commands",
        "Get array of Redis command details",
        "",
        command_all,
    )
    .with_subcommands(COMMAND)
    .with_acl("@connection"),
    Command::new(
        "config",
        -2,
        0,
        (0, 0, 0),
        "server",
        "2.0.0",
        "Depends on subcommand.",
        "A container for server configuration commands",
        "",
        container,
    )
    .with_subcommands(CONFIG),
];

static COMMAND: &[Command] = &[
    Command::new(
        "command|count",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.8.13",
        "O(1)",
        "Get total number of Redis commands",
        "",
        command_count,
    )
    .with_acl("@connection"),
    Command::new(
        "command|info",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.8.13",
        "O(N) where N is the number of commands to look up",
        "Get array of specific Redis command details, or all when no argument is given.",
        "[command-name [command-name ...]]",
        command_info,
    )
    .with_acl("@connection"),
    Command::new(
        "command|docs",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "7.0.0",
        "O(N) where N is the number of commands to look up",
        "Get array of specific Redis command documentation",
        "[command-name [command-name ...]]",
        command_docs,
    )
    .with_acl("@connection"),
    Command::new(
        "command|list",
        -2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "7.0.0",
        "O(N) where N is the total number of Redis commands",
        "Get an array of Redis command names",
        "[FILTERBY MODULE module-name|ACLCAT category|PATTERN pattern:pattern]",
        command_list,
    )
    .with_acl("@connection"),
    Command::new(
        "command|help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "5.0.0",
        "O(1)",
        "Show helpful text about the different subcommands",
        "",
        command_help,
    )
    .with_acl("@connection"),
];

static CONFIG: &[Command] = &[
    Command::new(
        "config|get",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.0.0",
        "O(N) when N is the number of configuration parameters provided",
        "Get the values of configuration parameters",
        "parameter [parameter ...]",
        config_get,
    ),
    Command::new(
        "config|set",
        -4,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.0.0",
        "O(N) when N is the number of configuration parameters provided",
        "Set configuration parameters to the given values",
        "(parameter value)...",
        config_set,
    ),
    Command::new(
        "config|resetstat",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.0.0",
        "O(1)",
        "Reset the stats returned by INFO",
        "",
        config_resetstat,
    ),
    Command::new(
        "config|rewrite",
        2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        "2.8.0",
        "O(1)",
        "Rewrite the configuration file with the in memory configuration",
        "",
        config_rewrite,
    ),
    Command::new(
        "config|help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "server",
        "5.0.0",
        "O(1)",
        "Show helpful text about the different subcommands",
        "",
        config_help,
    ),
];

fn dbsize(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    let n = cx.db().len();
    cx.reply.int(n as i64);
    Ok(())
}

/// `[ASYNC|SYNC]`: both are accepted; plexus always frees synchronously (Redis can free in a background thread).
fn flush_mode(argv: &[&[u8]]) -> CmdResult {
    match argv.len() {
        1 => Ok(()),
        2 if argv[1].eq_ignore_ascii_case(b"async") || argv[1].eq_ignore_ascii_case(b"sync") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

fn flushdb(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    flush_mode(argv)?;
    let db = cx.db;
    cx.engine.flush(Some(db));
    cx.reply.ok();
    Ok(())
}

fn flushall(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    flush_mode(argv)?;
    cx.engine.flush(None);
    cx.reply.ok();
    Ok(())
}

fn time(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    cx.reply.array(2);
    cx.reply.bulk(now.as_secs().to_string().as_bytes());
    cx.reply.bulk(now.subsec_micros().to_string().as_bytes());
    Ok(())
}

fn shutdown(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    for arg in &argv[1..] {
        let a = arg.to_ascii_lowercase();
        match &a[..] {
            b"nosave" | b"save" | b"now" | b"force" => {}
            b"abort" => return Err(err("ERR No shutdown in progress.")),
            _ => return Err(CmdError::Syntax),
        }
    }
    // plexus keeps no dataset on disk, so SAVE and NOSAVE shut down alike; clients are closed after their
    // pending replies, and the reactor stops.
    cx.engine.effects.push(Effect::Shutdown);
    Ok(())
}

fn monitor(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    let client = cx.client;
    if !cx.engine.monitors.contains(&client) {
        cx.engine.monitors.push(client);
    }
    cx.reply.ok();
    Ok(())
}

/// Resident set size in bytes, from `/proc/self/statm`.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// Bytes in Redis's human form: `1.50M`.
fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / (1024.0 * 1024.0))
    } else {
        format!("{:.2}G", b / (1024.0 * 1024.0 * 1024.0))
    }
}

/// Sections `INFO` prints by default and for `all`.
const DEFAULT_SECTIONS: [&str; 9] =
    ["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "cluster", "keyspace"];

fn info(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let mut wanted: Vec<String> = argv[1..].iter().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
    if wanted.is_empty() || wanted.iter().any(|w| matches!(w.as_str(), "default" | "all" | "everything")) {
        wanted = DEFAULT_SECTIONS.iter().map(|s| s.to_string()).collect();
    }
    let mut text = String::new();
    for section in DEFAULT_SECTIONS {
        if !wanted.iter().any(|w| w == section) {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        info_section(cx, section, &mut text);
    }
    cx.reply.verbatim(text.as_bytes());
    Ok(())
}

/// One `INFO` section with Redis's field names. Fields that describe machinery plexus does not have (RDB, AOF,
/// replication) report the idle values Redis reports when that machinery is off.
fn info_section(cx: &Ctx<'_>, section: &str, out: &mut String) {
    let e = &*cx.engine;
    let uptime = cx.now_ms.saturating_sub(e.started_ms) / 1000;
    match section {
        "server" => {
            let _ = write!(
                out,
                "# Server\r\nredis_version:{REDIS_VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n\
                 redis_build_id:0\r\nredis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\n\
                 multiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\n\
                 process_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\n\
                 uptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:\r\n\
                 io_threads_active:0\r\nplexus_version:{}\r\n",
                std::env::consts::OS,
                std::env::consts::ARCH,
                std::process::id(),
                e.run_id,
                e.config.port(),
                cx.now_ms * 1000,
                uptime / 86400,
                e.config.hz(),
                e.config.hz(),
                (cx.now_ms / 1000) & ((1 << 24) - 1),
                std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
                env!("CARGO_PKG_VERSION"),
            );
        }
        "clients" => {
            let pubsub = e.clients.iter().filter(|(k, _)| e.is_subscribed(*k)).count();
            let _ = write!(
                out,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\n\
                 client_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\n\
                 tracking_clients:0\r\nclients_in_timeout_table:0\r\npubsub_clients:{pubsub}\r\n",
                e.clients.len(),
                e.config.maxclients(),
                e.stats.blocked_clients,
            );
        }
        "memory" => {
            // No allocator statistics: plexus reports RSS as used memory (Redis asks jemalloc).
            let rss = rss_bytes();
            let maxmemory = e.config.maxmemory();
            let _ = write!(
                out,
                "# Memory\r\nused_memory:{rss}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\n\
                 used_memory_rss_human:{}\r\nused_memory_peak:{rss}\r\nused_memory_peak_human:{}\r\n\
                 maxmemory:{maxmemory}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nmem_fragmentation_ratio:1.00\r\n\
                 mem_allocator:libc\r\nlazyfree_pending_objects:0\r\n",
                human(rss),
                human(rss),
                human(rss),
                human(maxmemory),
                e.config.maxmemory_policy(),
            );
        }
        "persistence" => {
            let _ = write!(
                out,
                "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\n\
                 rdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\n\
                 rdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:-1\r\nrdb_current_bgsave_time_sec:-1\r\n\
                 aof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\n\
                 aof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_last_write_status:ok\r\n",
                e.stats.dirty,
                e.started_ms / 1000,
            );
        }
        "stats" => {
            let s = &e.stats;
            let _ = write!(
                out,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:0\r\n\
                 total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\n\
                 expired_keys:{}\r\nevicted_keys:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n\
                 pubsub_channels:{}\r\npubsub_patterns:{}\r\ntotal_error_replies:{}\r\n",
                s.connections_received,
                s.commands_processed,
                s.net_input_bytes,
                s.net_output_bytes,
                s.rejected_connections,
                s.expired_keys,
                s.keyspace_hits,
                s.keyspace_misses,
                e.pubsub_channel_count(),
                e.pubsub_pattern_count(),
                s.error_replies,
            );
        }
        "replication" => {
            let _ = write!(
                out,
                "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n\
                 master_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n\
                 master_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\n",
                e.run_id,
            );
        }
        "cpu" => {
            let (user, sys) = cpu_times();
            let _ = write!(
                out,
                "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:0.000000\r\n\
                 used_cpu_user_children:0.000000\r\n"
            );
        }
        "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "keyspace" => {
            out.push_str("# Keyspace\r\n");
            for (i, db) in e.dbs.iter().enumerate() {
                if !db.is_empty() {
                    let _ = write!(out, "db{i}:keys={},expires={},avg_ttl=0\r\n", db.len(), db.expires_len());
                }
            }
        }
        _ => {}
    }
}

/// User and system CPU seconds of this process, from `/proc/self/stat`.
fn cpu_times() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let Some(close) = stat.rfind(')') else { return (0.0, 0.0) };
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    (ticks(11), ticks(12))
}

fn command_all(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    if argv.len() > 1 {
        return Err(CmdError::msg(format!(
            "ERR unknown subcommand '{}'. Try COMMAND HELP.",
            super::cmd::sanitize(argv[1], 128)
        )));
    }
    let all = Table::get().all();
    cx.reply.array(all.len());
    for cmd in all {
        command_entry(cx, cmd);
    }
    Ok(())
}

fn command_count(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    cx.reply.int(Table::get().all().len() as i64);
    Ok(())
}

fn command_info(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    if argv.len() == 2 {
        return command_all(cx, &argv[..1]);
    }
    cx.reply.array(argv.len() - 2);
    for name in &argv[2..] {
        match lookup_full(name) {
            Some(cmd) => command_entry(cx, cmd),
            None => cx.reply.null_array(),
        }
    }
    Ok(())
}

/// Finds `get` or `config|get`.
fn lookup_full(name: &[u8]) -> Option<&'static Command> {
    let name = name.to_ascii_lowercase();
    match name.iter().position(|&b| b == b'|') {
        None => Table::get().lookup(&name),
        Some(bar) => Table::get().lookup(&name[..bar])?.subcommand(&name[bar + 1..]),
    }
}

/// One `COMMAND INFO` entry, in Redis 7.0's ten-element shape.
fn command_entry(cx: &mut Ctx<'_>, cmd: &Command) {
    cx.reply.array(10);
    cx.reply.bulk(cmd.name.as_bytes());
    cx.reply.int(cmd.arity as i64);
    let flags: Vec<&str> = flag::NAMES.iter().filter(|(f, _)| cmd.has(*f)).map(|(_, n)| *n).collect();
    cx.reply.set(flags.len());
    for f in flags {
        cx.reply.simple(f);
    }
    let (first, last, step) = cmd.keys;
    cx.reply.int(first as i64);
    cx.reply.int(last as i64);
    cx.reply.int(step as i64);
    let cats = acl_categories(cmd);
    cx.reply.set(cats.len());
    for c in cats {
        cx.reply.simple(c);
    }
    cx.reply.array(0); // tips
    if first > 0 {
        // One key spec equivalent to (first, last, step).
        let lastkey = if last < 0 { last as i64 } else { (last - first) as i64 };
        cx.reply.array(1);
        cx.reply.map(3);
        cx.reply.bulk(b"flags");
        cx.reply.set(1);
        // Shard channels are routed like keys but are not keys (Redis's `not_key` key-spec flag).
        cx.reply.simple(match (cmd.has(PUBSUB), cmd.has(WRITE)) {
            (true, _) => "not_key",
            (false, true) => "RW",
            (false, false) => "RO",
        });
        cx.reply.bulk(b"begin_search");
        cx.reply.map(2);
        cx.reply.bulk(b"type");
        cx.reply.bulk(b"index");
        cx.reply.bulk(b"spec");
        cx.reply.map(1);
        cx.reply.bulk(b"index");
        cx.reply.int(first as i64);
        cx.reply.bulk(b"find_keys");
        cx.reply.map(2);
        cx.reply.bulk(b"type");
        cx.reply.bulk(b"range");
        cx.reply.bulk(b"spec");
        cx.reply.map(3);
        cx.reply.bulk(b"lastkey");
        cx.reply.int(lastkey);
        cx.reply.bulk(b"keystep");
        cx.reply.int(step as i64);
        cx.reply.bulk(b"limit");
        cx.reply.int(0);
    } else {
        cx.reply.array(0);
    }
    cx.reply.array(cmd.subcommands.len());
    for sub in cmd.subcommands {
        command_entry(cx, sub);
    }
}

fn command_docs(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let cmds: Vec<&'static Command> = if argv.len() == 2 {
        Table::get().all().to_vec()
    } else {
        argv[2..].iter().filter_map(|n| lookup_full(n)).collect()
    };
    cx.reply.map(cmds.len());
    for cmd in cmds {
        cx.reply.bulk(cmd.name.as_bytes());
        doc_entry(cx, cmd);
    }
    Ok(())
}

/// One `COMMAND DOCS` value: summary, since, group, complexity, arguments, subcommands.
fn doc_entry(cx: &mut Ctx<'_>, cmd: &Command) {
    let args = syntax::parse(cmd.syntax).unwrap_or_default();
    let fields = 4 + usize::from(!args.is_empty()) + usize::from(!cmd.subcommands.is_empty());
    cx.reply.map(fields);
    cx.reply.bulk(b"summary");
    cx.reply.bulk(cmd.summary.as_bytes());
    cx.reply.bulk(b"since");
    cx.reply.bulk(cmd.since.as_bytes());
    cx.reply.bulk(b"group");
    cx.reply.bulk(cmd.group.as_bytes());
    cx.reply.bulk(b"complexity");
    cx.reply.bulk(cmd.complexity.as_bytes());
    if !args.is_empty() {
        cx.reply.bulk(b"arguments");
        doc_args(cx, &args);
    }
    if !cmd.subcommands.is_empty() {
        cx.reply.bulk(b"subcommands");
        cx.reply.map(cmd.subcommands.len());
        for sub in cmd.subcommands {
            cx.reply.bulk(sub.name.as_bytes());
            doc_entry(cx, sub);
        }
    }
}

fn doc_args(cx: &mut Ctx<'_>, args: &[Arg]) {
    cx.reply.array(args.len());
    for arg in args {
        let flags: Vec<&str> =
            [("optional", arg.optional), ("multiple", arg.multiple)].iter().filter(|f| f.1).map(|f| f.0).collect();
        let is_key = arg.ty == syntax::ArgType::Key;
        let fields = 2
            + usize::from(is_key)
            + usize::from(arg.token.is_some())
            + usize::from(!flags.is_empty())
            + usize::from(!arg.children.is_empty());
        cx.reply.map(fields);
        cx.reply.bulk(b"name");
        cx.reply.bulk(arg.name.as_bytes());
        cx.reply.bulk(b"type");
        cx.reply.bulk(arg.ty.as_str().as_bytes());
        if is_key {
            cx.reply.bulk(b"key_spec_index");
            cx.reply.int(0);
        }
        if let Some(token) = &arg.token {
            cx.reply.bulk(b"token");
            cx.reply.bulk(token.as_bytes());
        }
        if !flags.is_empty() {
            cx.reply.bulk(b"flags");
            cx.reply.array(flags.len());
            for f in flags {
                cx.reply.simple(f);
            }
        }
        if !arg.children.is_empty() {
            cx.reply.bulk(b"arguments");
            doc_args(cx, &arg.children);
        }
    }
}

fn command_list(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let mut filter: Option<(Vec<u8>, &[u8])> = None;
    if argv.len() > 2 {
        if argv.len() != 5 || !argv[2].eq_ignore_ascii_case(b"filterby") {
            return Err(CmdError::Syntax);
        }
        filter = Some((argv[3].to_ascii_lowercase(), argv[4]));
    }
    let mut names: Vec<&'static str> = Vec::new();
    for cmd in Table::get().all() {
        for c in std::iter::once(*cmd).chain(cmd.subcommands.iter()) {
            let keep = match &filter {
                None => true,
                Some((kind, value)) => match &kind[..] {
                    b"module" => false,
                    b"aclcat" => {
                        let value = String::from_utf8_lossy(value).to_ascii_lowercase();
                        acl_categories(c).iter().any(|cat| cat.trim_start_matches('@') == value)
                    }
                    b"pattern" => glob_match(value, c.name.as_bytes(), true),
                    _ => return Err(CmdError::Syntax),
                },
            };
            if keep {
                names.push(c.name);
            }
        }
    }
    cx.reply.array(names.len());
    for n in names {
        cx.reply.bulk(n.as_bytes());
    }
    Ok(())
}

fn command_help(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    help(cx, "COMMAND", COMMAND);
    Ok(())
}

fn config_get(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let pairs = cx.engine.config.get(&argv[2..], &|pattern, name| glob_match(pattern, name, true));
    cx.reply.map(pairs.len());
    for (name, value) in pairs {
        cx.reply.bulk(&name);
        cx.reply.bulk(&value);
    }
    Ok(())
}

fn config_set(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let local = {
        let addr = &cx.engine.clients[cx.client].addr;
        addr.starts_with("127.") || addr.starts_with("[::1]") || addr.starts_with('/')
    };
    let changed = cx.engine.config.set(&argv[2..], local).map_err(|e| CmdError::msg(e.to_string()))?;
    cx.engine.config_changed.extend(changed);
    cx.reply.ok();
    Ok(())
}

fn config_resetstat(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    let stats = &mut cx.engine.stats;
    // Gauges (not counters) survive a reset: they describe the present, not the history.
    let (dirty, blocked) = (stats.dirty, stats.blocked_clients);
    *stats = Default::default();
    stats.dirty = dirty;
    stats.blocked_clients = blocked;
    cx.reply.ok();
    Ok(())
}

fn config_rewrite(_cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    // plexus never rewrites its configuration file (a simplification); Redis gives this error when started
    // without one.
    Err(err("ERR The server is running without a config file"))
}

fn config_help(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    cx.reply.array(CONFIG_HELP.len());
    for line in CONFIG_HELP {
        cx.reply.simple(line);
    }
    Ok(())
}
