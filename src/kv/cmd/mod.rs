//! The command table: one list drives dispatch, arity checks, `COMMAND`, `COMMAND INFO`, `COMMAND DOCS`,
//! `COMMAND COUNT` and the compatibility table in `docs/commands.md`. There is no second list to keep in sync.
//!
//! Each command family lives in its own file (`strings.rs`, `keys.rs`, ...) and exports a `COMMANDS` slice of
//! [`Command`]s. A command declares its syntax once, in the notation of Redis's documentation
//! (`key value [NX|XX] [GET] [EX seconds|PX milliseconds]`); [`syntax`] parses that into the argument tree that
//! `COMMAND DOCS` returns, which is what `redis-cli` turns into its interactive hints.
//!
//! ```text
//!  argv --lookup(name)--> &Command --arity--> auth --MULTI? queue--> (handler)(ctx, argv) --> Reply
//! ```

pub mod syntax;

use std::sync::OnceLock;

use super::error::{CmdError, CmdResult};
use super::exec::Ctx;

/// A command handler. `argv[0]` is the command name as sent; for a subcommand, `argv[1]` is its name.
pub type Handler = fn(&mut Ctx<'_>, &[&[u8]]) -> CmdResult;

/// Command flags, as `COMMAND INFO` reports them and as the dispatcher obeys them.
pub mod flag {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    /// May grow memory; refused under `maxmemory` pressure.
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    /// Allowed before `AUTH` when a password is set.
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    /// Not allowed inside `MULTI`.
    pub const NO_MULTI: u32 = 1 << 14;
    pub const ALLOW_BUSY: u32 = 1 << 15;
    /// Allowed in RESP2 subscribed mode.
    pub const SUBSCRIBED_OK: u32 = 1 << 16;

    /// Names as Redis prints them, in Redis's order.
    pub const NAMES: [(u32, &str); 16] = [
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// One command (or subcommand) of the table.
#[derive(Debug)]
pub struct Command {
    /// Lower-case name; a subcommand carries its full name (`client|id`), as Redis 7 reports it.
    pub name: &'static str,
    /// Redis arity: `n` = exactly n arguments including the name, `-n` = at least n.
    pub arity: i32,
    pub flags: u32,
    /// First key, last key (negative counts from the end), step. `(0, 0, 0)`: no keys.
    pub keys: (i32, i32, i32),
    /// Documentation group: `string`, `generic`, `connection`, `server`, `list`, `hash`, `set`, `sorted-set`,
    /// `pubsub`, `transactions`.
    pub group: &'static str,
    /// The Redis version that introduced it.
    pub since: &'static str,
    pub complexity: &'static str,
    pub summary: &'static str,
    /// Arguments after the name, in Redis documentation notation; see [`syntax`].
    pub syntax: &'static str,
    /// ACL categories beyond those implied by flags, e.g. `@string` (Redis derives `@write`, `@read`, `@fast`...).
    pub acl: &'static str,
    pub run: Handler,
    pub subcommands: &'static [Command],
}

impl Command {
    /// A command with no subcommands. Used in `const` tables.
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        name: &'static str,
        arity: i32,
        flags: u32,
        keys: (i32, i32, i32),
        group: &'static str,
        since: &'static str,
        complexity: &'static str,
        summary: &'static str,
        syntax: &'static str,
        run: Handler,
    ) -> Command {
        Command { name, arity, flags, keys, group, since, complexity, summary, syntax, acl: "", run, subcommands: &[] }
    }

    /// Adds subcommands (`CLIENT`, `CONFIG`, `COMMAND`, `OBJECT`).
    pub const fn with_subcommands(mut self, subs: &'static [Command]) -> Command {
        self.subcommands = subs;
        self
    }

    /// Adds ACL categories (`@string`, `@keyspace`, ...).
    pub const fn with_acl(mut self, acl: &'static str) -> Command {
        self.acl = acl;
        self
    }

    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// Whether `argc` arguments (name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let arity = self.arity as i64;
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// The name after the container's (`id` for `client|id`); the whole name for a top-level command.
    pub fn leaf_name(&self) -> &'static str {
        self.name.rsplit('|').next().unwrap_or(self.name)
    }

    /// Finds a subcommand by name, case-insensitively.
    pub fn subcommand(&self, name: &[u8]) -> Option<&'static Command> {
        self.subcommands.iter().find(|c| c.leaf_name().as_bytes().eq_ignore_ascii_case(name))
    }
}

/// Every command family's table, in documentation order.
fn families() -> [&'static [Command]; 11] {
    [
        super::connection::COMMANDS,
        super::server_cmds::COMMANDS,
        super::strings::COMMANDS,
        super::keys::COMMANDS,
        super::tx::COMMANDS,
        super::pubsub::COMMANDS,
        super::lists::COMMANDS,
        super::hashes::COMMANDS,
        super::sets::COMMANDS,
        super::zsets::COMMANDS,
        super::blocking::COMMANDS,
    ]
}

/// The assembled table: a name index over every family's commands.
///
/// The index is a small open-addressing table probed with a case-folding hash, so a lookup neither
/// lowercases the name into a buffer nor runs SipHash, which was ~190 of the ~2,200 instructions a
/// pipelined `GET` cost. Redis looks commands up in a dict with a case-insensitive hash too
/// (`dictSdsCaseHash`). The names are ours, not a peer's, so the hash needs no key: a peer can only
/// choose what to look up, and a miss costs at most one probe run over a table kept under a quarter
/// full.
pub struct Table {
    /// `slots[h & mask]`, then linear probing; `None` ends a probe run.
    slots: Box<[Option<&'static Command>]>,
    all: Vec<&'static Command>,
}

/// Slots per command in the index: at most a quarter full keeps probe runs to one or two slots.
const SLOTS_PER_COMMAND: usize = 4;

/// FNV-1a over the ASCII-lowercased bytes (`| 0x20` folds `A-Z` onto `a-z`; it also maps some punctuation onto
/// other punctuation, which only costs an extra comparison, since a match is confirmed byte by byte).
fn name_hash(name: &[u8]) -> u64 {
    name.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b | 0x20)).wrapping_mul(0x0100_0000_01b3))
}

impl Table {
    /// The process-wide table, built on first use.
    pub fn get() -> &'static Table {
        static TABLE: OnceLock<Table> = OnceLock::new();
        TABLE.get_or_init(|| {
            let mut all: Vec<&'static Command> = families().iter().flat_map(|f| f.iter()).collect();
            all.sort_by_key(|c| c.name);
            let mut slots = vec![None; (all.len() * SLOTS_PER_COMMAND).next_power_of_two()].into_boxed_slice();
            let mask = slots.len() - 1;
            for &cmd in &all {
                let mut i = name_hash(cmd.name.as_bytes()) as usize & mask;
                while slots[i].is_some() {
                    i = (i + 1) & mask;
                }
                slots[i] = Some(cmd);
            }
            Table { slots, all }
        })
    }

    /// Case-insensitive lookup without allocating.
    pub fn lookup(&self, name: &[u8]) -> Option<&'static Command> {
        let mask = self.slots.len() - 1;
        let mut i = name_hash(name) as usize & mask;
        while let Some(cmd) = self.slots[i] {
            if cmd.name.as_bytes().eq_ignore_ascii_case(name) {
                return Some(cmd);
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// All top-level commands, sorted by name.
    pub fn all(&self) -> &[&'static Command] {
        &self.all
    }
}

/// Resolves `argv` to the command to run, checking arity, with Redis's exact error texts.
pub fn resolve(argv: &[&[u8]]) -> Result<(&'static Command, Option<&'static Command>), CmdError> {
    let name = argv[0];
    let Some(cmd) = Table::get().lookup(name) else {
        return Err(unknown_command(argv));
    };
    if !cmd.subcommands.is_empty() {
        if argv.len() < 2 {
            return Err(CmdError::Arity(cmd.name.to_string()));
        }
        let Some(sub) = cmd.subcommand(argv[1]) else {
            return Err(CmdError::msg(format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                sanitize(argv[1], 128),
                cmd.name.to_ascii_uppercase()
            )));
        };
        if !sub.arity_ok(argv.len()) {
            return Err(CmdError::Arity(sub.name.to_string()));
        }
        return Ok((cmd, Some(sub)));
    }
    if !cmd.arity_ok(argv.len()) {
        return Err(CmdError::Arity(cmd.name.to_string()));
    }
    Ok((cmd, None))
}

/// `ERR unknown command 'x', with args beginning with: 'a' 'b' ` exactly as Redis 7.0 words it, each argument
/// cut to 128 bytes and the argument list to 128 bytes in all.
pub fn unknown_command(argv: &[&[u8]]) -> CmdError {
    let mut text = format!("ERR unknown command '{}', with args beginning with: ", sanitize(argv[0], 128));
    // Redis stops once the argument list it has built (quotes and spaces included) reaches 128 bytes.
    let list_start = text.len();
    for arg in &argv[1..] {
        let used = text.len() - list_start;
        if used >= 128 {
            break;
        }
        let shown = &arg[..arg.len().min(128 - used)];
        text.push('\'');
        text.push_str(&sanitize(shown, 128));
        text.push_str("' ");
    }
    CmdError::msg(text)
}

/// Client-supplied bytes made safe for an error line: newlines would break the protocol, so Redis maps `\r` and
/// `\n` to spaces; invalid UTF-8 is shown lossily.
pub fn sanitize(bytes: &[u8], max: usize) -> String {
    let bytes = &bytes[..bytes.len().min(max)];
    String::from_utf8_lossy(bytes).replace(['\r', '\n'], " ")
}

/// ACL categories of a command, as `COMMAND INFO` lists them: derived from flags the way Redis derives them,
/// plus the command's own.
pub fn acl_categories(cmd: &Command) -> Vec<&'static str> {
    let mut cats = Vec::new();
    if cmd.has(flag::WRITE) {
        cats.push("@write");
    }
    if cmd.has(flag::READONLY) {
        cats.push("@read");
    }
    if cmd.has(flag::ADMIN) {
        cats.push("@admin");
        cats.push("@dangerous");
    }
    if cmd.has(flag::PUBSUB) {
        cats.push("@pubsub");
    }
    if cmd.has(flag::FAST) {
        cats.push("@fast");
    }
    if cmd.has(flag::BLOCKING) {
        cats.push("@blocking");
    }
    if !cmd.has(flag::FAST) {
        cats.push("@slow");
    }
    let by_group = match cmd.group {
        "connection" => Some("@connection"),
        "string" => Some("@string"),
        "generic" => Some("@keyspace"),
        "list" => Some("@list"),
        "hash" => Some("@hash"),
        "set" => Some("@set"),
        "sorted-set" => Some("@sortedset"),
        "pubsub" => Some("@pubsub"),
        "transactions" => Some("@transaction"),
        _ => None,
    };
    for cat in by_group.into_iter().chain(cmd.acl.split_whitespace()) {
        if !cats.contains(&cat) {
            cats.push(cat);
        }
    }
    cats
}

/// The compatibility table in `docs/commands.md`, generated from the command table. A test fails when the file
/// is stale; `PLEXUS_BLESS=1 cargo test --lib commands_doc` rewrites it.
pub fn commands_markdown() -> String {
    use std::fmt::Write;
    let table = Table::get();
    let mut groups: Vec<&str> = table.all().iter().map(|c| c.group).collect();
    groups.sort_unstable();
    groups.dedup();
    let count: usize = table.all().iter().map(|c| c.subcommands.len().max(1)).sum();
    let mut md = String::new();
    let _ = write!(
        md,
        "# Command compatibility\n\n\
         Generated from the command table (`src/kv/cmd/`) by `PLEXUS_BLESS=1 cargo test --lib commands_doc`; a test \
         fails when this file is stale. Every command listed here is implemented with Redis 7.0's replies and \
         error texts; the syntax column is also what `COMMAND DOCS` sends to `redis-cli` for its hints.\n\n\
         {count} commands and subcommands.\n"
    );
    for group in groups {
        let _ =
            write!(md, "\n## {group}\n\n| Command | Arguments | Since | Complexity | Flags |\n|---|---|---|---|---|\n");
        for cmd in table.all().iter().filter(|c| c.group == group) {
            let rows: Vec<&Command> =
                if cmd.subcommands.is_empty() { vec![*cmd] } else { cmd.subcommands.iter().collect() };
            for c in rows {
                let flags: Vec<&str> = flag::NAMES.iter().filter(|(f, _)| c.has(*f)).map(|(_, n)| *n).collect();
                let name = c.name.replace('|', " ").to_ascii_uppercase();
                let syntax = syntax::display(c.syntax).replace('|', "\\|");
                let syntax = if syntax.is_empty() { String::new() } else { format!("`{syntax}`") };
                let _ = writeln!(
                    md,
                    "| {name} | {syntax} | {} | {} | {} |",
                    c.since,
                    c.complexity.replace('|', "\\|"),
                    flags.join(", ")
                );
            }
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_doc_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/commands.md");
        let fresh = commands_markdown();
        if std::env::var_os("PLEXUS_BLESS").is_some() {
            std::fs::write(path, &fresh).unwrap();
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(on_disk == fresh, "docs/commands.md is stale: run `PLEXUS_BLESS=1 cargo test --lib commands_doc`");
    }

    #[test]
    fn every_command_has_a_valid_syntax_and_unique_name() {
        let table = Table::get();
        let mut seen = std::collections::HashSet::new();
        for cmd in table.all() {
            assert!(seen.insert(cmd.name), "duplicate {}", cmd.name);
            assert_eq!(cmd.name, cmd.name.to_ascii_lowercase());
            syntax::parse(cmd.syntax).unwrap_or_else(|e| panic!("{}: {e}", cmd.name));
            for sub in cmd.subcommands {
                assert!(sub.name.starts_with(&format!("{}|", cmd.name)), "{}", sub.name);
                syntax::parse(sub.syntax).unwrap_or_else(|e| panic!("{}: {e}", sub.name));
            }
        }
    }

    #[test]
    fn lookup_is_case_insensitive() {
        let t = Table::get();
        assert_eq!(t.lookup(b"EcHo").unwrap().name, "echo");
        assert!(t.lookup(b"nosuchcommand").is_none());
        assert!(t.lookup(&[b'a'; 100]).is_none());
    }

    #[test]
    fn unknown_command_text_matches_redis() {
        let e = unknown_command(&[b"foo", b"bar", b"baz"]);
        assert_eq!(e.to_string(), "ERR unknown command 'foo', with args beginning with: 'bar' 'baz' ");
        let e = unknown_command(&[b"foo"]);
        assert_eq!(e.to_string(), "ERR unknown command 'foo', with args beginning with: ");
    }

    #[test]
    fn arity_errors_name_the_command() {
        let e = resolve(&[b"echo"]).unwrap_err();
        assert_eq!(e.to_string(), "ERR wrong number of arguments for 'echo' command");
        let e = resolve(&[b"client", b"id", b"extra"]).unwrap_err();
        assert_eq!(e.to_string(), "ERR wrong number of arguments for 'client|id' command");
        let e = resolve(&[b"client", b"nope"]).unwrap_err();
        assert_eq!(e.to_string(), "ERR unknown subcommand 'nope'. Try CLIENT HELP.");
    }
}
