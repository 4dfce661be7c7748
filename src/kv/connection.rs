//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, AUTH, HELLO, CLIENT.
//!
//! These act on the client itself rather than the keyspace: its protocol version, database, name and
//! authentication. Replies and errors follow Redis 7.0 byte for byte.

use bytes::Bytes;

use super::cmd::{flag::*, Command};
use super::error::{err, CmdError, CmdResult};
use super::exec::{Ctx, Effect};
use super::num::parse_i64;
use super::reply::Resp;

/// The Redis version plexus answers as: the feature set it implements is Redis 7.0's.
pub const REDIS_VERSION: &str = "7.0.15";

pub static COMMANDS: &[Command] = &[
    Command::new(
        "ping",
        -1,
        FAST | SUBSCRIBED_OK,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "O(1)",
        "Ping the server",
        "[message]",
        ping,
    ),
    Command::new("echo", 2, FAST, (0, 0, 0), "connection", "1.0.0", "O(1)", "Echo the given string", "message", echo),
    Command::new(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SUBSCRIBED_OK,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "O(1)",
        "Close the connection",
        "",
        quit,
    ),
    Command::new(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | SUBSCRIBED_OK,
        (0, 0, 0),
        "connection",
        "6.2.0",
        "O(1)",
        "Reset the connection",
        "",
        reset,
    ),
    Command::new(
        "select",
        2,
        LOADING | STALE | FAST,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "O(1)",
        "Change the selected database for the current connection",
        "index:integer",
        select,
    ),
    Command::new(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "O(N) where N is the number of passwords defined for the user",
        "Authenticate to the server",
        "[username] password",
        auth,
    ),
    Command::new(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        (0, 0, 0),
        "connection",
        "6.0.0",
        "O(1)",
        "Handshake with Redis",
        "[protover:integer [AUTH username password] [SETNAME clientname]]",
        hello,
    ),
    Command::new(
        "client",
        -2,
        0,
        (0, 0, 0),
        "connection",
        "2.4.0",
        "Depends on subcommand.",
        "A container for client connection commands",
        "",
        container,
    )
    .with_subcommands(CLIENT),
];

static CLIENT: &[Command] = &[
    Command::new("client|id", 2, NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "5.0.0", "O(1)", "Returns the client ID for the current connection", "", client_id),
    Command::new("client|setname", 3, NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "2.6.9", "O(1)", "Set the current connection name", "connection-name", client_setname),
    Command::new("client|getname", 2, NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "2.6.9", "O(1)", "Get the current connection name", "", client_getname),
    Command::new("client|list", -2, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "2.4.0", "O(N) where N is the number of client connections", "Get the list of client connections", "[TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id:integer [client-id:integer ...]]", client_list),
    Command::new("client|info", 2, NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "6.2.0", "O(1)", "Returns information about the current client connection.", "", client_info),
    Command::new("client|kill", -3, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "2.4.0", "O(N) where N is the number of client connections", "Kill the connection of a client", "ip:port:string|([ID client-id:integer]|[TYPE NORMAL|MASTER|SLAVE|REPLICA|PUBSUB]|[USER username]|[ADDR ip:port:string]|[LADDR ip:port:string]|[SKIPME YES|NO])...", client_kill),
    Command::new("client|setinfo", 4, NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "7.2.0", "O(1)", "Set client or connection specific info", "LIB-NAME libname|LIB-VER libver", client_setinfo),
    Command::new("client|no-evict", 3, ADMIN | NOSCRIPT | LOADING | STALE, (0, 0, 0), "connection", "7.0.0", "O(1)", "Set client eviction mode for the current connection", "ON|OFF", client_no_evict),
    Command::new("client|help", 2, LOADING | STALE, (0, 0, 0), "connection", "5.0.0", "O(1)", "Show helpful text about the different subcommands", "", client_help),
];

/// Containers never run: the dispatcher always resolves a subcommand first.
pub fn container(_cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    Err(CmdError::Syntax)
}

fn ping(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    if argv.len() > 2 {
        return Err(CmdError::Arity("ping".into()));
    }
    // In RESP2 subscribed mode Redis answers with a two-element array, since a plain +PONG could be mistaken for a
    // message. RESP3 can tell pushes from replies, so it answers normally.
    if cx.reply.resp() == Resp::V2 && cx.engine.is_subscribed(cx.client) {
        cx.reply.array(2);
        cx.reply.bulk(b"pong");
        cx.reply.bulk(argv.get(1).copied().unwrap_or(b""));
        return Ok(());
    }
    match argv.get(1) {
        Some(msg) => cx.reply.bulk(msg),
        None => cx.reply.simple("PONG"),
    }
    Ok(())
}

fn echo(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    cx.reply.bulk(argv[1]);
    Ok(())
}

/// RESET: the state of a freshly accepted connection, on the same socket. As Redis's `clearClientConnectionState`:
/// out of MONITOR, MULTI and every subscription (without confirmations), no watched keys, database 0, RESP2, no
/// name, eviction allowed, and authenticated only if no password is set. The id and library info stay.
fn reset(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    let client = cx.client;
    cx.engine.monitors.retain(|&m| m != client);
    super::tx::reset(cx.engine, client);
    super::pubsub::unsubscribe_all_quietly(cx);
    let authenticated = cx.engine.config.requirepass().is_none();
    let c = cx.client();
    c.db = 0;
    c.resp = Resp::V2;
    c.authenticated = authenticated;
    c.name = None;
    c.no_evict = false;
    cx.reply.simple("RESET");
    Ok(())
}

fn quit(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    cx.reply.ok();
    cx.client().close_after_reply = true;
    Ok(())
}

fn select(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let index = parse_i64(argv[1]).ok_or(CmdError::NotInteger)?;
    if index < 0 || index as usize >= cx.engine.dbs.len() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    cx.db = index as usize;
    cx.client().db = index as usize;
    cx.reply.ok();
    Ok(())
}

/// Checks a password for the `default` user, the only user plexus has (no ACL users: a simplification).
fn check_password(cx: &mut Ctx<'_>, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match cx.engine.config.requirepass() {
        // With no password the default user is `nopass`: any password is accepted, as in Redis.
        None => true,
        Some(expected) => constant_time_eq(expected, pass),
    }
}

/// Compares secrets without leaking the position of the first difference through timing.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn auth(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (user, pass) = match argv.len() {
        2 => {
            if cx.engine.config.requirepass().is_none() {
                return Err(err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
            }
            (&b"default"[..], argv[1])
        }
        3 => (argv[1], argv[2]),
        _ => return Err(CmdError::Syntax),
    };
    if !check_password(cx, user, pass) {
        return Err(CmdError::WrongPass);
    }
    cx.client().authenticated = true;
    cx.reply.ok();
    Ok(())
}

/// Client names and library names may not contain spaces or control characters: they appear in `CLIENT LIST`.
fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

fn hello(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let mut version = None;
    let mut i = 1;
    if argv.len() > 1 {
        let v = parse_i64(argv[1]).ok_or(err("ERR Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(err("NOPROTO unsupported protocol version"));
        }
        version = Some(if v == 3 { Resp::V3 } else { Resp::V2 });
        i = 2;
    }
    let mut auth = None;
    let mut setname = None;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        if argv[i].eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            auth = Some((argv[i + 1], argv[i + 2]));
            i += 3;
        } else if argv[i].eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            setname = Some(argv[i + 1]);
            i += 2;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                super::cmd::sanitize(argv[i], 128)
            )));
        }
    }
    if let Some((user, pass)) = auth {
        if !check_password(cx, user, pass) {
            return Err(CmdError::WrongPass);
        }
        cx.client().authenticated = true;
    }
    if !cx.client().authenticated {
        return Err(err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(name) = setname {
        if !valid_name(name) {
            return Err(err("ERR Client names cannot contain spaces, newlines or special characters."));
        }
        cx.client().name = if name.is_empty() { None } else { Some(Bytes::copy_from_slice(name)) };
    }
    if let Some(v) = version {
        cx.client().resp = v;
        cx.reply.set_resp(v);
    }
    let id = cx.client().id;
    let proto = if cx.reply.resp() == Resp::V3 { 3 } else { 2 };
    cx.reply.map(7);
    cx.reply.bulk(b"server");
    cx.reply.bulk(b"redis");
    cx.reply.bulk(b"version");
    cx.reply.bulk(REDIS_VERSION.as_bytes());
    cx.reply.bulk(b"proto");
    cx.reply.int(proto);
    cx.reply.bulk(b"id");
    cx.reply.int(id as i64);
    cx.reply.bulk(b"mode");
    cx.reply.bulk(b"standalone");
    cx.reply.bulk(b"role");
    cx.reply.bulk(b"master");
    cx.reply.bulk(b"modules");
    cx.reply.array(0);
    Ok(())
}

fn client_id(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    let id = cx.client().id;
    cx.reply.int(id as i64);
    Ok(())
}

fn client_setname(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let name = argv[2];
    if !valid_name(name) {
        return Err(err("ERR Client names cannot contain spaces, newlines or special characters."));
    }
    cx.client().name = if name.is_empty() { None } else { Some(Bytes::copy_from_slice(name)) };
    cx.reply.ok();
    Ok(())
}

fn client_getname(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    match cx.client().name.clone() {
        Some(name) => cx.reply.bulk(&name),
        None => cx.reply.null(),
    }
    Ok(())
}

fn client_setinfo(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let (attr, value) = (argv[2], argv[3]);
    let is_name = attr.eq_ignore_ascii_case(b"lib-name");
    if !is_name && !attr.eq_ignore_ascii_case(b"lib-ver") {
        return Err(CmdError::msg(format!("ERR Unrecognized option '{}'", super::cmd::sanitize(attr, 128))));
    }
    if !valid_name(value) {
        let which = if is_name { "lib-name" } else { "lib-ver" };
        return Err(CmdError::msg(format!("ERR {which} cannot contain spaces, newlines or special characters.")));
    }
    let value = if value.is_empty() { None } else { Some(Bytes::copy_from_slice(value)) };
    if is_name {
        cx.client().lib_name = value;
    } else {
        cx.client().lib_ver = value;
    }
    cx.reply.ok();
    Ok(())
}

fn client_no_evict(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let on = if argv[2].eq_ignore_ascii_case(b"on") {
        true
    } else if argv[2].eq_ignore_ascii_case(b"off") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    cx.client().no_evict = on;
    cx.reply.ok();
    Ok(())
}

/// One `CLIENT LIST` line, with Redis 7.0's fields in Redis's order. The buffer fields come from the I/O layer,
/// which refreshes them before every `CLIENT` command; `argv-mem`, `multi-mem`, `rbs` and `rbp` are 0 (plexus
/// keeps no separate argv copies or read-buffer peak).
fn client_line(cx: &Ctx<'_>, key: usize, out: &mut String) {
    use std::fmt::Write;
    let c = &cx.engine.clients[key];
    let now = cx.now_ms;
    let name = c.name.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
    let sub = cx.engine.subscription_counts(key);
    let ssub = cx.engine.pubsub.shard_count(key);
    let multi = c.multi.as_ref().map_or(-1, |queued| queued.len() as i64);
    let mut flags = String::new();
    if cx.engine.is_subscribed(key) {
        flags.push('P');
    }
    if c.multi.is_some() {
        flags.push('x');
    }
    if c.close_after_reply {
        flags.push('c');
    }
    if c.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let resp = if c.resp == Resp::V3 { 3 } else { 2 };
    let _ = writeln!(
        out,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl={} oll={} omem={} tot-mem={} events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        c.id,
        c.addr,
        c.laddr,
        c.io,
        name,
        now.saturating_sub(c.created_ms) / 1000,
        now.saturating_sub(c.last_interaction_ms) / 1000,
        flags,
        c.db,
        sub.0,
        sub.1,
        ssub,
        multi,
        c.buffers.qbuf,
        c.buffers.qbuf_free,
        c.buffers.obl,
        c.buffers.oll,
        c.buffers.omem,
        c.buffers.tot_mem,
        c.last_cmd,
        resp,
        c.lib_name.as_deref().map(String::from_utf8_lossy).unwrap_or_default(),
        c.lib_ver.as_deref().map(String::from_utf8_lossy).unwrap_or_default(),
    );
}

/// A client class as `CLIENT LIST TYPE` and `CLIENT KILL TYPE` name them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    PubSub,
    /// `master`, `replica`, `slave`: plexus has no replication, so no client is of this type.
    Replication,
}

fn parse_client_type(val: &[u8]) -> Result<ClientType, CmdError> {
    match &val.to_ascii_lowercase()[..] {
        b"normal" => Ok(ClientType::Normal),
        b"pubsub" => Ok(ClientType::PubSub),
        b"master" | b"replica" | b"slave" => Ok(ClientType::Replication),
        _ => Err(CmdError::msg(format!("ERR Unknown client type '{}'", super::cmd::sanitize(val, 128)))),
    }
}

fn client_type(cx: &Ctx<'_>, key: usize) -> ClientType {
    if cx.engine.is_subscribed(key) {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

fn client_list(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let mut only = None;
    let mut ids: Option<Vec<u64>> = None;
    let mut i = 2;
    while i < argv.len() {
        if argv[i].eq_ignore_ascii_case(b"type") && i + 1 < argv.len() {
            only = Some(parse_client_type(argv[i + 1])?);
            i += 2;
        } else if argv[i].eq_ignore_ascii_case(b"id") && i + 1 < argv.len() {
            let mut list = Vec::new();
            for a in &argv[i + 1..] {
                let id = parse_i64(a).filter(|&n| n > 0).ok_or(err("ERR Invalid client ID"))?;
                list.push(id as u64);
            }
            ids = Some(list);
            i = argv.len();
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut text = String::new();
    let keys: Vec<usize> = cx.engine.clients.iter().filter(|(_, c)| !c.killed).map(|(k, _)| k).collect();
    for key in keys {
        let id = cx.engine.clients[key].id;
        if ids.as_ref().is_some_and(|ids| !ids.contains(&id)) || only.is_some_and(|t| t != client_type(cx, key)) {
            continue;
        }
        client_line(cx, key, &mut text);
    }
    cx.reply.verbatim(text.as_bytes());
    Ok(())
}

fn client_info(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    let mut text = String::new();
    client_line(cx, cx.client, &mut text);
    cx.reply.verbatim(text.as_bytes());
    Ok(())
}

fn client_kill(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    // Old form: CLIENT KILL ip:port, replying +OK or an error.
    if argv.len() == 3 {
        let addr = argv[2];
        let found = cx.engine.clients.iter().find(|(_, c)| !c.killed && c.addr.as_bytes() == addr).map(|(k, _)| k);
        let Some(key) = found else { return Err(err("ERR No such client")) };
        kill(cx, key);
        cx.reply.ok();
        return Ok(());
    }
    if argv.len() % 2 != 0 {
        return Err(CmdError::Syntax);
    }
    let mut id = None;
    let mut addr = None;
    let mut laddr = None;
    let mut only = None;
    let mut user = None;
    let mut skipme = true;
    for pair in argv[2..].chunks(2) {
        let (opt, val) = (pair[0].to_ascii_lowercase(), pair[1]);
        match &opt[..] {
            b"id" => {
                id =
                    Some(parse_i64(val).filter(|&n| n > 0).ok_or(err("ERR client-id should be greater than 0"))? as u64)
            }
            b"addr" => addr = Some(val),
            b"laddr" => laddr = Some(val),
            b"user" => user = Some(val),
            b"type" => only = Some(parse_client_type(val)?),
            b"skipme" => {
                skipme = if val.eq_ignore_ascii_case(b"yes") {
                    true
                } else if val.eq_ignore_ascii_case(b"no") {
                    false
                } else {
                    return Err(CmdError::Syntax);
                }
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    if let Some(u) = user {
        if u != b"default" {
            return Err(CmdError::msg(format!("ERR No such user '{}'", super::cmd::sanitize(u, 128))));
        }
    }
    let mut victims = Vec::new();
    for (key, c) in cx.engine.clients.iter() {
        if c.killed || (skipme && key == cx.client) {
            continue;
        }
        if id.is_some_and(|id| id != c.id)
            || addr.is_some_and(|a| a != c.addr.as_bytes())
            || laddr.is_some_and(|a| a != c.laddr.as_bytes())
        {
            continue;
        }
        if only.is_some_and(|t| t != client_type(cx, key)) {
            continue;
        }
        victims.push(key);
    }
    for &key in &victims {
        kill(cx, key);
    }
    cx.reply.int(victims.len() as i64);
    Ok(())
}

/// Asks the I/O layer to close a client, which is gone for every later command from now on.
fn kill(cx: &mut Ctx<'_>, key: usize) {
    cx.engine.clients[key].killed = true;
    cx.engine.effects.push(Effect::Kill { client: key });
}

fn client_help(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    help(cx, "CLIENT", CLIENT);
    Ok(())
}

/// A `HELP` reply listing a container's subcommands, in the shape Redis uses.
pub fn help(cx: &mut Ctx<'_>, container: &str, subs: &[Command]) {
    let mut lines = vec![format!("{container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")];
    for sub in subs {
        lines.push(format!("{} {}", sub.leaf_name().to_ascii_uppercase(), super::cmd::syntax::display(sub.syntax)));
        lines.push(format!("    {}", sub.summary));
    }
    cx.reply.array(lines.len());
    for line in lines {
        cx.reply.simple(line.trim_end());
    }
}
