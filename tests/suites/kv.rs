// The body of the `kv` suite: compiled by `tests/kv.rs` (reactor) and `tests/threads.rs` (thread per
// connection). See those files.


use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use plexus::app::ServerOptions;
use plexus::kv::connection::REDIS_VERSION;
use support::{cmd, cmdline, opts_with_password, show, spawn_plexus, start_server, vm_rss_bytes, RawConn, TestServer};

fn server() -> TestServer {
    start_server(ServerOptions::default())
}

const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
const PONG: &[u8] = b"+PONG\r\n";
const OK: &[u8] = b"+OK\r\n";
const NOAUTH: &[u8] = b"-NOAUTH Authentication required.\r\n";
const WRONGPASS: &[u8] = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";

/// A RESP2 bulk string reply.
fn bulk(value: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", value.len()).into_bytes();
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
    out
}

/// An error reply with Redis's framing.
fn error(text: &str) -> Vec<u8> {
    format!("-{text}\r\n").into_bytes()
}

/// The payload of a bulk (`$`) or verbatim (`=`, without its `txt:` prefix) reply.
fn payload(frame: &[u8]) -> Vec<u8> {
    let header_end = frame.windows(2).position(|w| w == b"\r\n").expect("reply has a header line");
    let body = &frame[header_end + 2..frame.len() - 2];
    match frame[0] {
        b'$' => body.to_vec(),
        b'=' => {
            body.strip_prefix(b"txt:").unwrap_or_else(|| panic!("verbatim reply not txt: {}", show(frame))).to_vec()
        }
        _ => panic!("not a bulk reply: {}", show(frame)),
    }
}

/// `CLIENT ID` of a connection.
fn client_id(c: &mut RawConn) -> i64 {
    c.send(&cmdline("CLIENT ID"));
    let frame = c.read_frame();
    std::str::from_utf8(&frame)
        .ok()
        .and_then(|s| s.strip_prefix(':'))
        .and_then(|s| s.trim_end().parse().ok())
        .unwrap_or_else(|| panic!("CLIENT ID replied {}", show(&frame)))
}

/// The `HELLO` reply of Redis 7.0 for a client with `id`, as a RESP3 map (`proto` 3) or a flat RESP2 array.
fn hello_reply(proto: u8, id: i64) -> Vec<u8> {
    let head = if proto == 3 { "%7" } else { "*14" };
    format!(
        "{head}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n${}\r\n{REDIS_VERSION}\r\n$5\r\nproto\r\n:{proto}\r\n\
         $2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n",
        REDIS_VERSION.len()
    )
    .into_bytes()
}

/// One `CLIENT LIST`/`CLIENT INFO` line as ordered `(field, value)` pairs.
fn client_fields(line: &str) -> Vec<(String, String)> {
    line.split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("field without '=': {kv:?} in {line:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {name}= field"))
}

// ----------------------------------------------------------------------------------------------------------------
// Connection commands: exact replies
// ----------------------------------------------------------------------------------------------------------------

#[test]
fn ping_replies_pong_or_its_argument() {
    let s = server();
    let mut c = s.raw();
    c.call(PING, PONG);
    c.call(&cmdline("PING hello"), &bulk(b"hello"));
    c.call(&cmd(&[b"PING", b""]), b"$0\r\n\r\n");
    c.call(&cmdline("PING a b"), &error("ERR wrong number of arguments for 'ping' command"));
    // Command names are case-insensitive.
    c.call(&cmdline("pInG"), PONG);
}

#[test]
fn echo_is_binary_safe_and_checks_arity() {
    let s = server();
    let mut c = s.raw();
    let binary = b"a\r\nb\0c\xff";
    c.call(&cmd(&[b"ECHO", binary]), &bulk(binary));
    c.call(&cmd(&[b"echo", b""]), b"$0\r\n\r\n");
    c.call(&cmdline("ECHO"), &error("ERR wrong number of arguments for 'echo' command"));
    c.call(&cmdline("ECHO a b"), &error("ERR wrong number of arguments for 'echo' command"));
}

#[test]
fn quit_replies_ok_then_closes() {
    let s = server();
    let mut c = s.raw();
    // The PING after QUIT must never be answered.
    c.send(&[cmdline("QUIT"), PING.to_vec()].concat());
    c.expect(OK);
    c.expect_eof();
    s.raw().call(PING, PONG);
}

#[test]
fn reset_returns_the_connection_to_its_first_state() {
    let s = start_server(opts_with_password("s3cret"));
    let mut c = s.raw();
    c.call(&cmdline("AUTH s3cret"), OK);
    c.call(&cmdline("SELECT 1"), OK);
    c.call(&cmdline("SET k v"), OK);
    c.call(&cmdline("CLIENT SETNAME worker"), OK);
    c.call(&cmdline("MULTI"), OK);
    // Inside MULTI, RESET runs at once instead of being queued, and the transaction is gone.
    c.call(&cmdline("RESET"), b"+RESET\r\n");
    c.call(&cmdline("EXEC"), NOAUTH);
    c.call(&cmdline("AUTH s3cret"), OK);
    c.call(&cmdline("EXEC"), &error("ERR EXEC without MULTI"));
    c.call(&cmdline("GET k"), b"$-1\r\n");
    c.call(&cmdline("SELECT 1"), OK);
    c.call(&cmdline("GET k"), &bulk(b"v"));
    c.call(&cmdline("CLIENT GETNAME"), b"$-1\r\n");
    // Subscribed mode and RESP3 end too, without unsubscribe confirmations.
    let id = client_id(&mut c);
    c.call(&cmdline("HELLO 3"), &hello_reply(3, id));
    c.call(&cmdline("SUBSCRIBE ch"), b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    c.call(&cmdline("RESET"), b"+RESET\r\n");
    c.call(&cmdline("AUTH s3cret"), OK);
    c.call(&cmdline("GET missing"), b"$-1\r\n");
    let mut other = s.raw();
    other.call(&cmdline("AUTH s3cret"), OK);
    other.call(&cmdline("PUBLISH ch hello"), b":0\r\n");
    c.call(&cmdline("RESET extra"), &error("ERR wrong number of arguments for 'reset' command"));
}

#[test]
fn select_checks_the_index() {
    let s = start_server(ServerOptions::default().with("databases", "4"));
    let mut c = s.raw();
    c.call(&cmdline("SELECT 3"), OK);
    c.call(&cmdline("SELECT 0"), OK);
    c.call(&cmdline("SELECT 4"), &error("ERR DB index is out of range"));
    c.call(&cmdline("SELECT -1"), &error("ERR DB index is out of range"));
    c.call(&cmdline("SELECT abc"), &error("ERR value is not an integer or out of range"));
    c.call(&cmdline("SELECT 1.5"), &error("ERR value is not an integer or out of range"));
    c.call(&cmdline("SELECT 99999999999999999999"), &error("ERR value is not an integer or out of range"));
    c.call(&cmdline("SELECT"), &error("ERR wrong number of arguments for 'select' command"));
    // The client's database shows in CLIENT INFO.
    c.call(&cmdline("SELECT 2"), OK);
    c.send(&cmdline("CLIENT INFO"));
    let info = String::from_utf8(payload(&c.read_frame())).unwrap();
    assert_eq!(field(&client_fields(info.trim_end()), "db"), "2", "{info}");
}

#[test]
fn unknown_command_names_the_command_and_its_first_arguments() {
    let s = server();
    let mut c = s.raw();
    c.call(&cmdline("FOO bar baz"), &error("ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' "));
    c.call(&cmdline("nosuch"), &error("ERR unknown command 'nosuch', with args beginning with: "));
    // Newlines in client bytes must not break the reply line: Redis shows them as spaces.
    c.call(&cmd(&[b"x\r\ny", b"a\nb"]), &error("ERR unknown command 'x  y', with args beginning with: 'a b' "));
    // An unknown command is not a protocol error: the connection stays usable.
    c.call(PING, PONG);
}

#[test]
fn unknown_command_argument_list_is_cut_like_redis() {
    let s = server();
    let mut c = s.raw();
    let a = "a".repeat(107);
    let b = "b".repeat(40);
    // Redis 7.0 (`processCommand`): `for (i=1; i < argc && sdslen(args) < 128; i++) args = sdscatprintf(args,
    // "'%.*s' ", 128-(int)sdslen(args), argv[i])`. After 'a...a' (107 + 3 bytes) 18 bytes of budget are left.
    c.call(
        &cmd(&[b"foo", a.as_bytes(), b.as_bytes(), b"ccc"]),
        &error(&format!("ERR unknown command 'foo', with args beginning with: '{a}' '{}' ", "b".repeat(18))),
    );
}

#[test]
fn arity_errors_name_the_command_or_subcommand() {
    let s = server();
    let mut c = s.raw();
    c.call(&cmdline("ECHO"), &error("ERR wrong number of arguments for 'echo' command"));
    c.call(&cmdline("CLIENT ID extra"), &error("ERR wrong number of arguments for 'client|id' command"));
    c.call(&cmdline("client getname x"), &error("ERR wrong number of arguments for 'client|getname' command"));
    c.call(&cmdline("CLIENT SETNAME"), &error("ERR wrong number of arguments for 'client|setname' command"));
    c.call(&cmdline("CLIENT"), &error("ERR wrong number of arguments for 'client' command"));
    c.call(&cmdline("CLIENT nope"), &error("ERR unknown subcommand 'nope'. Try CLIENT HELP."));
    // None of these closes the connection.
    c.call(PING, PONG);
}

#[test]
fn client_id_is_unique_and_increasing() {
    let s = server();
    let mut a = s.raw();
    let mut b = s.raw();
    let (ia, ib) = (client_id(&mut a), client_id(&mut b));
    assert!(ia > 0 && ib > ia, "ids {ia} then {ib}");
    assert_eq!(client_id(&mut a), ia, "an id is stable for the connection's life");
}

#[test]
fn client_setname_and_getname() {
    let s = server();
    let mut c = s.raw();
    c.call(&cmdline("CLIENT GETNAME"), b"$-1\r\n");
    c.call(&cmdline("CLIENT SETNAME app-1"), OK);
    c.call(&cmdline("CLIENT GETNAME"), &bulk(b"app-1"));
    let invalid = error("ERR Client names cannot contain spaces, newlines or special characters.");
    for name in [&b"a b"[..], b"a\nb", b"tab\there", b"caf\xc3\xa9", b"\x7f"] {
        c.call(&cmd(&[b"CLIENT", b"SETNAME", name]), &invalid);
    }
    c.call(&cmdline("CLIENT GETNAME"), &bulk(b"app-1"));
    // An empty name clears it.
    c.call(&cmd(&[b"CLIENT", b"SETNAME", b""]), OK);
    c.call(&cmdline("CLIENT GETNAME"), b"$-1\r\n");
    // Names are per connection.
    c.call(&cmdline("CLIENT SETNAME mine"), OK);
    s.raw().call(&cmdline("CLIENT GETNAME"), b"$-1\r\n");
}

#[test]
fn client_setinfo_sets_library_name_and_version() {
    let s = server();
    let mut c = s.raw();
    c.call(&cmdline("CLIENT SETINFO lib-name redis-py"), OK);
    c.call(&cmdline("CLIENT SETINFO LIB-VER 5.0.1"), OK);
    c.call(&cmdline("CLIENT SETINFO color blue"), &error("ERR Unrecognized option 'color'"));
    c.call(
        &cmd(&[b"CLIENT", b"SETINFO", b"lib-name", b"has space"]),
        &error("ERR lib-name cannot contain spaces, newlines or special characters."),
    );
    c.call(
        &cmd(&[b"CLIENT", b"SETINFO", b"lib-ver", b"1\n2"]),
        &error("ERR lib-ver cannot contain spaces, newlines or special characters."),
    );
    c.call(&cmdline("CLIENT SETINFO lib-name"), &error("ERR wrong number of arguments for 'client|setinfo' command"));
    c.send(&cmdline("CLIENT INFO"));
    let info = String::from_utf8(payload(&c.read_frame())).unwrap();
    let fields = client_fields(info.trim_end());
    assert_eq!(field(&fields, "lib-name"), "redis-py", "{info}");
    assert_eq!(field(&fields, "lib-ver"), "5.0.1", "{info}");
}

/// Redis 7.0's `CLIENT LIST` fields in order, then the two that 7.2 added with `CLIENT SETINFO`.
const CLIENT_FIELDS: [&str; 30] = [
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
    "lib-name",
    "lib-ver",
];

#[test]
fn client_info_and_list_have_redis_shape() {
    let s = server();
    let mut c = s.raw();
    let mut other = s.raw();
    other.call(&cmdline("CLIENT SETNAME other"), OK);
    let id = client_id(&mut c);
    c.call(&cmdline("CLIENT SETNAME me"), OK);

    c.send(&cmdline("CLIENT INFO"));
    let frame = c.read_frame();
    assert_eq!(frame[0], b'$', "RESP2 gets a bulk string: {}", show(&frame));
    let info = String::from_utf8(payload(&frame)).unwrap();
    assert!(info.ends_with('\n') && info.matches('\n').count() == 1, "one line ending in \\n: {info:?}");
    let fields = client_fields(info.trim_end());
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, CLIENT_FIELDS);
    assert_eq!(field(&fields, "id"), id.to_string());
    assert_eq!(field(&fields, "addr"), c.local_addr().unwrap().to_string());
    assert_eq!(field(&fields, "laddr"), s.addr().to_string());
    assert_eq!(field(&fields, "name"), "me");
    assert_eq!(field(&fields, "db"), "0");
    assert_eq!(field(&fields, "cmd"), "client|info");
    assert_eq!(field(&fields, "user"), "default");
    assert_eq!(field(&fields, "resp"), "2");
    assert_eq!(field(&fields, "flags"), "N");

    c.send(&cmdline("CLIENT LIST"));
    let list = String::from_utf8(payload(&c.read_frame())).unwrap();
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "two clients: {list:?}");
    let mut names: Vec<String> = lines.iter().map(|l| field(&client_fields(l), "name").to_string()).collect();
    names.sort();
    assert_eq!(names, ["me", "other"]);

    c.send(&cmdline(&format!("CLIENT LIST ID {id}")));
    let only = String::from_utf8(payload(&c.read_frame())).unwrap();
    assert_eq!(only.lines().count(), 1, "{only:?}");
    assert_eq!(field(&client_fields(only.trim_end()), "name"), "me");
    c.call(&cmdline("CLIENT LIST TYPE replica"), b"$0\r\n\r\n");
    c.call(&cmdline("CLIENT LIST ID abc"), &error("ERR Invalid client ID"));

    // The query buffer: what the client sent after the command, here the first 11 bytes of a PING.
    c.send(&[cmdline("CLIENT INFO"), b"*1\r\n$4\r\nPIN".to_vec()].concat());
    let info = String::from_utf8(payload(&c.read_frame())).unwrap();
    let fields = client_fields(info.trim_end());
    assert_eq!(field(&fields, "qbuf"), "11", "{info}");
    let tot_mem: usize = field(&fields, "tot-mem").parse().unwrap();
    assert!(tot_mem >= 11, "{info}");
    c.call(b"G\r\n", PONG);
    c.call(&cmdline("CLIENT LIST TYPE foo"), &error("ERR Unknown client type 'foo'"));

    // RESP3 gets a verbatim string.
    c.send(&cmdline("HELLO 3"));
    c.read_frame();
    c.send(&cmdline("CLIENT INFO"));
    let frame = c.read_frame();
    assert!(
        frame.starts_with(b"=") && frame[frame.iter().position(|&b| b == b'\n').unwrap() + 1..].starts_with(b"txt:")
    );
    let info = String::from_utf8(payload(&frame)).unwrap();
    assert_eq!(field(&client_fields(info.trim_end()), "resp"), "3");
}

#[test]
fn client_kill_by_id_closes_that_connection_only() {
    let s = server();
    let mut killer = s.raw();
    let mut victim = s.raw();
    let mut bystander = s.raw();
    let victim_id = client_id(&mut victim);
    bystander.call(PING, PONG);
    killer.call(&cmdline(&format!("CLIENT KILL ID {victim_id}")), b":1\r\n");
    victim.expect_eof();
    bystander.call(PING, PONG);
    killer.call(PING, PONG);
    // The id is gone now; ids are never reused.
    killer.call(&cmdline(&format!("CLIENT KILL ID {victim_id}")), b":0\r\n");
    killer.call(&cmdline("CLIENT KILL ID 0"), &error("ERR client-id should be greater than 0"));
    killer.call(&cmdline("CLIENT KILL ID 1 SKIPME maybe"), &error("ERR syntax error"));
    killer.call(&cmdline("CLIENT KILL USER bob"), &error("ERR No such user 'bob'"));
}

#[test]
fn client_kill_by_addr_in_both_forms() {
    let s = server();
    let mut killer = s.raw();
    let mut first = s.raw();
    let mut second = s.raw();
    first.call(PING, PONG);
    second.call(PING, PONG);
    // New form, with a filter: replies the number killed.
    let addr = first.local_addr().unwrap().to_string();
    killer.call(&cmdline(&format!("CLIENT KILL ADDR {addr}")), b":1\r\n");
    first.expect_eof();
    // Old form, `CLIENT KILL ip:port`: replies +OK, or an error when nobody matches.
    let addr = second.local_addr().unwrap().to_string();
    killer.call(&cmdline(&format!("CLIENT KILL {addr}")), OK);
    second.expect_eof();
    killer.call(&cmdline(&format!("CLIENT KILL {addr}")), &error("ERR No such client"));
    killer.call(&cmdline("CLIENT KILL ADDR 1.2.3.4:5"), b":0\r\n");
    killer.call(PING, PONG);
}

#[test]
fn client_kill_skips_the_caller_unless_told_not_to() {
    let s = server();
    let mut c = s.raw();
    let id = client_id(&mut c);
    c.call(&cmdline(&format!("CLIENT KILL ID {id}")), b":0\r\n");
    c.call(&cmdline(&format!("CLIENT KILL ID {id} SKIPME no")), b":1\r\n");
    c.expect_eof();
}

// ----------------------------------------------------------------------------------------------------------------
// HELLO and RESP3
// ----------------------------------------------------------------------------------------------------------------

#[test]
fn hello_3_replies_a_map_and_switches_to_resp3() {
    let s = server();
    let mut c = s.raw();
    let id = client_id(&mut c);
    c.call(&cmdline("HELLO 3"), &hello_reply(3, id));
    // Later replies use RESP3 types: the null is `_`.
    c.call(&cmdline("CLIENT GETNAME"), b"_\r\n");
    c.call(PING, PONG);
    // Back to RESP2: the map is flattened into an array of 14, the null is `$-1` again.
    c.call(&cmdline("HELLO 2"), &hello_reply(2, id));
    c.call(&cmdline("CLIENT GETNAME"), b"$-1\r\n");
}

#[test]
fn hello_without_a_version_keeps_the_protocol() {
    let s = server();
    let mut c = s.raw();
    let id = client_id(&mut c);
    c.call(&cmdline("HELLO"), &hello_reply(2, id));
    c.call(&cmdline("HELLO 3"), &hello_reply(3, id));
    c.call(&cmdline("HELLO"), &hello_reply(3, id));
}

#[test]
fn hello_rejects_bad_versions_and_options() {
    let s = server();
    let mut c = s.raw();
    let noproto = error("NOPROTO unsupported protocol version");
    c.call(&cmdline("HELLO 4"), &noproto);
    c.call(&cmdline("HELLO 1"), &noproto);
    c.call(&cmdline("HELLO -1"), &noproto);
    c.call(&cmdline("HELLO abc"), &error("ERR Protocol version is not an integer or out of range"));
    c.call(&cmdline("HELLO 3 FOO"), &error("ERR Syntax error in HELLO option 'FOO'"));
    // AUTH needs two arguments and SETNAME one; short forms are syntax errors on the option itself.
    c.call(&cmdline("HELLO 3 AUTH default"), &error("ERR Syntax error in HELLO option 'AUTH'"));
    c.call(&cmdline("HELLO 3 SETNAME"), &error("ERR Syntax error in HELLO option 'SETNAME'"));
    c.call(
        &cmd(&[b"HELLO", b"3", b"SETNAME", b"a b"]),
        &error("ERR Client names cannot contain spaces, newlines or special characters."),
    );
    // None of the failures switched the protocol.
    c.call(&cmdline("CLIENT GETNAME"), b"$-1\r\n");
}

#[test]
fn hello_with_auth_and_setname() {
    let s = start_server(opts_with_password("s3cret"));
    let mut c = s.raw();
    c.call(&cmdline("HELLO 3 AUTH default wrong"), WRONGPASS);
    c.call(PING, NOAUTH);
    c.send(&cmdline("HELLO 3 AUTH default s3cret SETNAME app"));
    let reply = c.read_frame();
    assert!(reply.starts_with(b"%7\r\n$6\r\nserver\r\n"), "{}", show(&reply));
    c.call(&cmdline("CLIENT GETNAME"), &bulk(b"app"));
    c.call(PING, PONG);
    // A bare HELLO before authenticating is refused with a hint about the combined form.
    let mut fresh = s.raw();
    fresh.send(&cmdline("HELLO 3"));
    let reply = fresh.read_frame();
    assert!(
        reply.starts_with(b"-NOAUTH HELLO must be called with the client already authenticated"),
        "{}",
        show(&reply)
    );
    fresh.call(&cmdline("CLIENT GETNAME"), NOAUTH);
}

#[test]
fn hello_noauth_text_is_redis_7_0() {
    let s = start_server(opts_with_password("s3cret"));
    s.raw().call(
        &cmdline("HELLO 3"),
        &error(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> \
             <pass> option can be used to authenticate the client and select the RESP protocol version at the same \
             time",
        ),
    );
}

#[test]
fn redis_crate_speaks_resp2_and_resp3() {
    let s = server();
    let mut resp2 = s.redis();
    let pong: String = redis::cmd("PING").query(&mut resp2).unwrap();
    assert_eq!(pong, "PONG");
    let echoed: Vec<u8> = redis::cmd("ECHO").arg(&b"bin\0ary"[..]).query(&mut resp2).unwrap();
    assert_eq!(echoed, b"bin\0ary");
    // RESP2 flattens HELLO's map into 14 elements.
    let hello: redis::Value = redis::cmd("HELLO").query(&mut resp2).unwrap();
    let redis::Value::Array(items) = hello else { panic!("RESP2 HELLO: {hello:?}") };
    assert_eq!(items.len(), 14);
    assert_eq!(items[4], redis::Value::BulkString(b"proto".to_vec()));
    assert_eq!(items[5], redis::Value::Int(2));

    let mut resp3 = s.redis_with(None, true);
    let hello: redis::Value = redis::cmd("HELLO").query(&mut resp3).unwrap();
    let redis::Value::Map(pairs) = hello else { panic!("RESP3 HELLO: {hello:?}") };
    assert_eq!(pairs.len(), 7);
    assert!(pairs.contains(&(redis::Value::BulkString(b"proto".to_vec()), redis::Value::Int(3))), "{pairs:?}");
    let name: redis::Value = redis::cmd("CLIENT").arg("GETNAME").query(&mut resp3).unwrap();
    assert_eq!(name, redis::Value::Nil);
    // The crate announces itself with CLIENT SETINFO while connecting.
    let info: String = redis::cmd("CLIENT").arg("INFO").query(&mut resp3).unwrap();
    let fields = client_fields(info.trim_end());
    assert_eq!(field(&fields, "lib-name"), "redis-rs", "{info}");
    assert_eq!(field(&fields, "resp"), "3", "{info}");
    // Errors come back as errors with Redis's code and text.
    let err = redis::cmd("SELECT").arg(99).query::<()>(&mut resp3).unwrap_err();
    assert_eq!(err.code(), Some("ERR"), "{err}");
    assert!(err.to_string().contains("DB index is out of range"), "{err}");
}

// ----------------------------------------------------------------------------------------------------------------
// Protocol errors: the hostile inputs of Redis's tests/unit/protocol.tcl
// ----------------------------------------------------------------------------------------------------------------

/// Sends `input` on a fresh connection, expects exactly `-ERR Protocol error: <reason>` and then the close, and
/// proves that a connection opened before and one opened after are both served.
fn assert_protocol_error(s: &TestServer, input: &[u8], reason: &str) {
    let mut before = s.raw();
    before.call(PING, PONG);
    let mut c = s.raw();
    c.send(input);
    c.expect(&error(&format!("ERR Protocol error: {reason}")));
    c.expect_eof();
    before.call(PING, PONG);
    s.raw().call(PING, PONG);
}

#[test]
fn protocol_error_invalid_multibulk_length() {
    let s = server();
    assert_protocol_error(&s, b"*3000000000\r\n", "invalid multibulk length");
    assert_protocol_error(&s, b"*abc\r\n", "invalid multibulk length");
    // Past plexus's 1,048,576-argument cap (Redis 7.0 only caps at 2^31-1; see resp::Limits).
    assert_protocol_error(&s, b"*20000000\r\n", "invalid multibulk length");
}

#[test]
fn protocol_error_invalid_bulk_length() {
    let s = server();
    assert_protocol_error(&s, b"*1\r\n$2000000000\r\n", "invalid bulk length");
    // protocol.tcl: negative, out of range and non-numeric payload lengths.
    assert_protocol_error(&s, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", "invalid bulk length");
    assert_protocol_error(&s, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n", "invalid bulk length");
    assert_protocol_error(&s, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n", "invalid bulk length");
    // One byte past proto-max-bulk-len (512 MiB).
    assert_protocol_error(&s, b"*2\r\n$4\r\nECHO\r\n$536870913\r\n", "invalid bulk length");
}

#[test]
fn protocol_error_expected_dollar() {
    let s = server();
    // protocol.tcl: "Wrong multibulk payload header" and "Multi bulk request not followed by bulk arguments".
    assert_protocol_error(&s, b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "expected '$', got 'f'");
    assert_protocol_error(&s, b"*1\r\nfoo\r\n", "expected '$', got 'f'");
    // A CR in the reply would break the line: Redis shows it as a space.
    assert_protocol_error(&s, b"*1\r\n\r\n", "expected '$', got ' '");
}

#[test]
fn protocol_error_unbalanced_quotes_inline() {
    let s = server();
    assert_protocol_error(&s, b"ECHO \"a b\r\n", "unbalanced quotes in request");
    assert_protocol_error(&s, b"ECHO 'a b\r\n", "unbalanced quotes in request");
    // A closing quote must be followed by a space or the end of the line.
    assert_protocol_error(&s, b"ECHO \"a\"b\r\n", "unbalanced quotes in request");
}

#[test]
fn protocol_error_too_big_inline_request() {
    let s = server();
    // 70 KB without a newline: past the 64 KiB inline limit.
    assert_protocol_error(&s, &vec![b'a'; 70 * 1024], "too big inline request");
}

#[test]
fn protocol_error_desync_regressions() {
    // protocol.tcl "Protocol desync regression test #1..3": a NUL where a request should start, then a flood of
    // bytes without the line end the parser waits for. The server must give up with an error, not buffer forever.
    let s = server();
    let flood = "payload".repeat(70 * 1024 / 7);
    assert_protocol_error(&s, &[b"\0", flood.as_bytes()].concat(), "too big inline request");
    assert_protocol_error(&s, &[b"*\0", flood.as_bytes()].concat(), "too big mbulk count string");
    assert_protocol_error(&s, &[b"$\0", flood.as_bytes()].concat(), "too big inline request");
    // Inside a multibulk, a `$` line that never ends.
    assert_protocol_error(&s, &[b"*1\r\n$", flood.as_bytes()].concat(), "too big bulk count string");
}

#[test]
fn protocol_error_after_pipelined_commands_answers_them_first() {
    let s = server();
    let mut c = s.raw();
    c.send(&[PING, PING, b"*1\r\n+foo\r\n", PING].concat());
    c.expect(PONG);
    c.expect(PONG);
    c.expect(&error("ERR Protocol error: expected '$', got '+'"));
    c.expect_eof();
}

#[test]
fn protocol_error_unauthenticated_limits() {
    // Before AUTH, Redis accepts at most 10 arguments and 16 KiB bulks.
    let s = start_server(opts_with_password("s3cret"));
    assert_protocol_error_unauthenticated(&s, b"*11\r\n", "unauthenticated multibulk length");
    assert_protocol_error_unauthenticated(&s, b"*2\r\n$4\r\nECHO\r\n$20000\r\n", "unauthenticated bulk length");
    // After AUTH the same requests are fine.
    let mut c = s.raw();
    c.call(&cmdline("AUTH s3cret"), OK);
    let big = vec![b'x'; 20_000];
    c.call(&cmd(&[b"ECHO", &big]), &bulk(&big));
}

/// [`assert_protocol_error`] for a server with a password: the bystanders authenticate first.
fn assert_protocol_error_unauthenticated(s: &TestServer, input: &[u8], reason: &str) {
    let mut c = s.raw();
    c.send(input);
    c.expect(&error(&format!("ERR Protocol error: {reason}")));
    c.expect_eof();
    s.raw().call(&cmdline("AUTH s3cret"), OK);
}

#[test]
fn protocol_errors_close_only_the_offending_connection() {
    // The part of the protocol-error contract that holds today whatever the reply text: the offender is closed
    // and nobody else notices.
    let s = server();
    let mut bystander = s.raw();
    bystander.call(PING, PONG);
    for input in [&b"*3000000000\r\n"[..], b"*1\r\n$2000000000\r\n", b"*1\r\nfoo\r\n", b"ECHO \"a b\r\n"] {
        let mut c = s.raw();
        c.send(input);
        let mut rest = Vec::new();
        match c.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("{}: expected the server to close, read failed: {e}", show(input)),
        }
        assert!(String::from_utf8_lossy(&rest).contains("Protocol error: "), "{}: got {}", show(input), show(&rest));
        bystander.call(PING, PONG);
    }
}

#[test]
fn empty_requests_are_skipped() {
    let s = server();
    let mut c = s.raw();
    // protocol.tcl: "Handle an empty query" and "Negative multibulk length"; also `*0` and `*-1`.
    c.call(b"\r\n\r\n\n", b"");
    c.call(b"*-10\r\n*0\r\n*-1\r\n", b"");
    c.call(b" \t \r\n", b"");
    c.call(PING, PONG);
    c.call(&[&b"\r\n*0\r\n"[..], PING, b"*-1\r\n", PING].concat(), &[PONG, PONG].concat());
}

// ----------------------------------------------------------------------------------------------------------------
// Inline commands
// ----------------------------------------------------------------------------------------------------------------

#[test]
fn inline_commands() {
    let s = server();
    let mut c = s.raw();
    c.call(b"PING\r\n", PONG);
    // A bare LF ends a line too (telnet, `nc`).
    c.call(b"PING\n", PONG);
    c.call(b"ping hi\r\n", &bulk(b"hi"));
    c.call(b"  ECHO \t  spaced   \r\n", &bulk(b"spaced"));
    c.call(b"ECHO \"a b\"\r\n", &bulk(b"a b"));
    c.call(b"ECHO 'a b'\r\n", &bulk(b"a b"));
    c.call(b"ECHO \"\"\r\n", b"$0\r\n\r\n");
    // Double quotes understand C escapes and \xHH; single quotes only \'.
    c.call(b"ECHO \"\\x41\\n\\t\\\\\"\r\n", &bulk(b"A\n\t\\"));
    c.call(b"ECHO 'it\\'s \\n'\r\n", &bulk(b"it's \\n"));
    c.call(b"ECHO \"\\x4g\"\r\n", &bulk(b"x4g"));
    // Inline and multibulk requests mix freely in one stream.
    c.call(
        &[&b"ECHO one\r\n"[..], &cmdline("ECHO two"), b"ECHO three\n"].concat(),
        &[bulk(b"one"), bulk(b"two"), bulk(b"three")].concat(),
    );
    // Inline arity and unknown-command errors are ordinary errors.
    c.call(b"ECHO\r\n", &error("ERR wrong number of arguments for 'echo' command"));
    c.call(b"GO away now\r\n", &error("ERR unknown command 'GO', with args beginning with: 'away' 'now' "));
    c.call(PING, PONG);
}

// ----------------------------------------------------------------------------------------------------------------
// Pipelining
// ----------------------------------------------------------------------------------------------------------------

/// Commands in the one-write pipeline.
const PIPELINE_COMMANDS: usize = 10_000;

#[test]
fn ten_thousand_pipelined_commands_in_one_write() {
    let s = server();
    let mut c = s.raw();
    let mut request = Vec::new();
    let mut expected = Vec::new();
    for i in 0..PIPELINE_COMMANDS {
        if i % 2 == 0 {
            let value = i.to_string();
            request.extend(cmd(&[b"ECHO", value.as_bytes()]));
            expected.extend(bulk(value.as_bytes()));
        } else {
            request.extend_from_slice(PING);
            expected.extend_from_slice(PONG);
        }
    }
    // Written from another thread, in one call, while this one reads: the test never relies on socket buffers
    // being big enough to hold the whole pipeline.
    let mut writer = c.try_clone().unwrap();
    let w = thread::spawn(move || writer.write_all(&request));
    c.expect(&expected);
    w.join().unwrap().unwrap();
    c.call(PING, PONG);
}

#[test]
fn pipeline_fed_one_byte_at_a_time() {
    let s = server();
    let mut c = s.raw();
    let mut request = Vec::new();
    let mut expected = Vec::new();
    for i in 0..20 {
        let value = format!("v{i}");
        request.extend(cmd(&[b"ECHO", value.as_bytes()]));
        expected.extend(bulk(value.as_bytes()));
        request.extend_from_slice(b"PING x\r\n");
        expected.extend(bulk(b"x"));
    }
    request.extend(cmdline("CLIENT SETNAME byte-by-byte"));
    expected.extend_from_slice(OK);
    request.extend(cmdline("CLIENT GETNAME"));
    expected.extend(bulk(b"byte-by-byte"));
    for byte in &request {
        c.send(std::slice::from_ref(byte));
    }
    c.expect(&expected);
}

// ----------------------------------------------------------------------------------------------------------------
// Authentication
// ----------------------------------------------------------------------------------------------------------------

#[test]
fn requirepass_refuses_everything_but_auth_hello_and_quit() {
    let s = start_server(opts_with_password("s3cret"));
    let mut c = s.raw();
    for line in ["PING", "ECHO x", "CLIENT ID", "SELECT 1", "CLIENT SETNAME x", "CLIENT LIST"] {
        c.call(&cmdline(line), NOAUTH);
    }
    // Unknown commands and arity errors are reported as such, before the authentication check (as in Redis).
    c.call(&cmdline("foo"), &error("ERR unknown command 'foo', with args beginning with: "));
    c.call(&cmdline("ECHO"), &error("ERR wrong number of arguments for 'echo' command"));
    c.call(&cmdline("AUTH wrong"), WRONGPASS);
    c.call(&cmdline("AUTH default wrong"), WRONGPASS);
    c.call(&cmdline("AUTH nobody s3cret"), WRONGPASS);
    c.call(&cmdline("AUTH a b c"), &error("ERR syntax error"));
    c.call(PING, NOAUTH);
    c.call(&cmdline("AUTH s3cret"), OK);
    c.call(PING, PONG);
    c.call(&cmdline("ECHO x"), &bulk(b"x"));
    // AUTH with the user name works too, and a later wrong AUTH leaves the client authenticated (as in Redis).
    let mut d = s.raw();
    d.call(&cmdline("AUTH default s3cret"), OK);
    d.call(&cmdline("AUTH wrong"), WRONGPASS);
    d.call(PING, PONG);
    // QUIT works without authenticating.
    let mut q = s.raw();
    q.call(&cmdline("QUIT"), OK);
    q.expect_eof();
}

#[test]
fn auth_without_a_configured_password() {
    let s = server();
    let mut c = s.raw();
    c.call(
        &cmdline("AUTH x"),
        &error(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your \
             configuration is correct?",
        ),
    );
    // The default user is `nopass`: any password is accepted for it, no other user exists.
    c.call(&cmdline("AUTH default anything"), OK);
    c.call(&cmdline("AUTH nobody x"), WRONGPASS);
    c.call(&cmdline("AUTH"), &error("ERR wrong number of arguments for 'auth' command"));
}

#[test]
fn redis_crate_authenticates_with_a_password() {
    let s = start_server(opts_with_password("s3cret"));
    let mut good = s.redis_with(Some("s3cret"), false);
    let pong: String = redis::cmd("PING").query(&mut good).unwrap();
    assert_eq!(pong, "PONG");
    let mut good3 = s.redis_with(Some("s3cret"), true);
    let pong: String = redis::cmd("PING").query(&mut good3).unwrap();
    assert_eq!(pong, "PONG");
    let mut anonymous = s.redis();
    let err = redis::cmd("PING").query::<String>(&mut anonymous).unwrap_err();
    assert_eq!(err.code(), Some("NOAUTH"), "{err}");
    let wrong = support::redis_connect(&support::redis_url(s.addr(), Some("nope"), false));
    assert!(wrong.is_err(), "connecting with a wrong password must fail");
}

// ----------------------------------------------------------------------------------------------------------------
// Limits: maxclients, backpressure
// ----------------------------------------------------------------------------------------------------------------

#[test]
fn maxclients_rejects_the_extra_client_and_keeps_the_others() {
    let s = start_server(ServerOptions::default().with("maxclients", "2"));
    let mut a = s.raw();
    a.call(PING, PONG);
    let mut b = s.raw();
    b.call(PING, PONG);
    let mut extra = s.raw();
    // Whatever the extra client sends is not executed.
    extra.send(PING);
    extra.expect(b"-ERR max number of clients reached\r\n");
    extra.expect_eof();
    a.call(PING, PONG);
    b.call(PING, PONG);
    a.send(&cmdline("CLIENT LIST"));
    let list = String::from_utf8(payload(&a.read_frame())).unwrap();
    assert_eq!(list.lines().count(), 2, "the rejected client is gone: {list:?}");
}

/// The slow reader's request value: big enough that one reply passes the server's output high watermark.
const BIG_VALUE_BYTES: usize = 1024 * 1024;

/// Commands the slow reader tries to send: far more bytes (128 MiB) than socket buffers and the server's
/// watermarks add up to, so a server without backpressure would visibly grow by about that much.
const SLOW_READER_COMMANDS: usize = 128;

/// How much the process may grow while the slow reader is held back: the server's share is about 2 MiB (one reply
/// over the 1 MiB high watermark, plus a partly read request); the rest is slack for the test harness.
const RSS_GROWTH_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// A writer that makes no progress for this long is taken to be blocked by the server's backpressure.
const STALL_QUIET: Duration = Duration::from_millis(300);

/// Latency allowed for another client's PING while the slow reader is held back (2-core machine, debug build).
const PING_LATENCY_LIMIT: Duration = Duration::from_secs(2);

/// Sends PING on `c` and returns how long the reply took.
fn timed_ping(c: &mut RawConn) -> Duration {
    let start = Instant::now();
    c.call(PING, PONG);
    start.elapsed()
}

#[test]
fn slow_reader_is_held_back_without_growing_the_server() {
    let s = server();
    let value = vec![b'v'; BIG_VALUE_BYTES];
    let request = cmd(&[b"ECHO", &value]);
    let reply = bulk(&value);
    let mut other = s.raw();
    other.call(PING, PONG);
    let mut slow = s.raw();
    let mut writer_stream = slow.try_clone().unwrap();
    let baseline = vm_rss_bytes();

    let (progress_tx, progress) = mpsc::channel();
    let writer = thread::spawn(move || -> std::io::Result<()> {
        for sent in 1..=SLOW_READER_COMMANDS {
            writer_stream.write_all(&request)?;
            let _ = progress_tx.send(sent);
        }
        Ok(())
    });

    // Phase 1: the slow client writes and never reads. Another client must be served quickly throughout.
    let mut sent = 0;
    let mut peak = baseline;
    let mut worst_ping = Duration::ZERO;
    loop {
        match progress.recv_timeout(STALL_QUIET) {
            Ok(n) => sent = n,
            Err(mpsc::RecvTimeoutError::Timeout) => break,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        peak = peak.max(vm_rss_bytes());
        worst_ping = worst_ping.max(timed_ping(&mut other));
    }
    peak = peak.max(vm_rss_bytes());
    worst_ping = worst_ping.max(timed_ping(&mut other));
    assert!(
        sent < SLOW_READER_COMMANDS,
        "the server read all {SLOW_READER_COMMANDS} MiB of requests from a client that reads nothing: no backpressure"
    );
    let growth = peak.saturating_sub(baseline);
    assert!(
        growth < RSS_GROWTH_LIMIT_BYTES,
        "RSS grew by {} MiB while a slow reader had {sent} MiB of requests accepted",
        growth / (1024 * 1024)
    );
    assert!(worst_ping < PING_LATENCY_LIMIT, "another client waited {worst_ping:?} for PONG");

    // Phase 2: the slow client reads; every reply arrives, in order, and the writer finishes.
    for i in 0..SLOW_READER_COMMANDS {
        let got = slow.read_n(reply.len());
        assert!(got == reply, "reply {i} of {SLOW_READER_COMMANDS} is wrong: {}", show(&got[..64.min(got.len())]));
    }
    writer.join().unwrap().unwrap();
    slow.call(PING, PONG);
    other.call(PING, PONG);
}

/// The shortest idle timeout the server accepts (`timeout` is in whole seconds, as in Redis).
const IDLE_TIMEOUT_SECS: u64 = 1;

#[test]
fn idle_clients_are_closed_after_the_timeout() {
    // Real time, not an injected clock: the reactor's idle check runs on its own monotonic timers. The test costs
    // about one second, and waits in a blocking read, not a sleep.
    let s = start_server(ServerOptions::default().with("timeout", &IDLE_TIMEOUT_SECS.to_string()));
    let mut idle = s.raw();
    idle.call(PING, PONG);
    let start = Instant::now();
    idle.expect_eof();
    let waited = start.elapsed();
    assert!(waited >= Duration::from_secs(IDLE_TIMEOUT_SECS), "closed after {waited:?}, before the timeout");
    assert!(waited < Duration::from_secs(IDLE_TIMEOUT_SECS + 3), "closed only after {waited:?}");
    s.raw().call(PING, PONG);
}

// ----------------------------------------------------------------------------------------------------------------
// Half-close
// ----------------------------------------------------------------------------------------------------------------

#[test]
fn half_close_gets_every_reply_then_eof() {
    let s = server();
    let mut c = s.raw();
    let mut request = Vec::new();
    let mut expected = Vec::new();
    for i in 0..100 {
        let v = i.to_string();
        request.extend(cmd(&[b"ECHO", v.as_bytes()]));
        expected.extend(bulk(v.as_bytes()));
    }
    c.send(&request);
    c.shutdown(Shutdown::Write).unwrap();
    c.expect(&expected);
    c.expect_eof();
}

#[test]
fn half_close_with_replies_held_back_by_backpressure() {
    // Eight 1 MiB replies cannot be buffered at once (the high watermark is 1 MiB): the server must keep the rest
    // of the input after the peer's FIN and resume it as the replies drain.
    const COMMANDS: usize = 8;
    let s = server();
    let mut c = s.raw();
    let value = vec![b'h'; BIG_VALUE_BYTES];
    let request = cmd(&[b"ECHO", &value]).repeat(COMMANDS);
    let reply = bulk(&value);
    let mut writer_stream = c.try_clone().unwrap();
    let writer = thread::spawn(move || {
        writer_stream.write_all(&request)?;
        writer_stream.shutdown(Shutdown::Write)
    });
    for i in 0..COMMANDS {
        assert!(c.read_n(reply.len()) == reply, "reply {i} differs");
    }
    c.expect_eof();
    writer.join().unwrap().unwrap();
}

// ----------------------------------------------------------------------------------------------------------------
// The plexus binary
// ----------------------------------------------------------------------------------------------------------------

/// How long the binary may take to exit after SIGTERM: it closes idle clients at once; the grace period for
/// clients with pending output is 5 s.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn binary_serves_and_exits_cleanly_on_sigterm() {
    let mut p = spawn_plexus(&[], &[]);
    let mut c = p.raw();
    c.call(PING, PONG);
    c.call(&cmdline("ECHO from-the-binary"), &bulk(b"from-the-binary"));
    p.signal(libc::SIGTERM);
    // The connected client is closed, then the process exits with success.
    c.expect_eof();
    let status = p.wait_exit(SHUTDOWN_TIMEOUT);
    assert!(status.success(), "exit status {status}; stderr:\n{}", p.stderr_text());
}

#[test]
fn binary_exits_cleanly_on_sigint() {
    let mut p = spawn_plexus(&[], &[]);
    let mut c = p.raw();
    c.call(PING, PONG);
    p.signal(libc::SIGINT);
    c.expect_eof();
    let status = p.wait_exit(SHUTDOWN_TIMEOUT);
    assert!(status.success(), "exit status {status}; stderr:\n{}", p.stderr_text());
}

#[test]
fn binary_requirepass_flag() {
    let p = spawn_plexus(&["--requirepass", "flagpass"], &[]);
    let mut c = p.raw();
    c.call(PING, NOAUTH);
    c.call(&cmdline("AUTH wrong"), WRONGPASS);
    c.call(&cmdline("AUTH flagpass"), OK);
    c.call(PING, PONG);
}

#[test]
fn binary_requirepass_from_environment() {
    let p = spawn_plexus(&[], &[("PLEXUS_REQUIREPASS", "envpass")]);
    let mut c = p.raw();
    c.call(PING, NOAUTH);
    c.call(&cmdline("AUTH envpass"), OK);
    c.call(PING, PONG);
    // The password must not leak into the logs.
    assert!(!p.stderr_text().contains("envpass"), "stderr shows the password:\n{}", p.stderr_text());
}

#[test]
fn binary_databases_and_maxclients_from_flags_and_environment() {
    let p = spawn_plexus(&["--maxclients", "1"], &[("PLEXUS_DATABASES", "2")]);
    let mut c = p.raw();
    c.call(&cmdline("SELECT 1"), OK);
    c.call(&cmdline("SELECT 2"), &error("ERR DB index is out of range"));
    let mut extra = p.raw();
    extra.expect(b"-ERR max number of clients reached\r\n");
    extra.expect_eof();
}

#[test]
fn binary_listens_on_a_unix_socket() {
    use std::os::unix::net::UnixStream;
    let path =
        std::env::temp_dir().join(format!("plexus-kv-test-{}-{}.sock", std::process::id(), support::free_low_port()));
    let p = spawn_plexus(&["--unixsocket", path.to_str().unwrap()], &[]);
    let mut u = UnixStream::connect(&path).unwrap_or_else(|e| panic!("connect {}: {e}", path.display()));
    u.set_read_timeout(Some(support::KV_IO_TIMEOUT)).unwrap();
    u.write_all(PING).unwrap();
    let mut reply = [0u8; PONG.len()];
    u.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, PONG);
    // TCP still works alongside.
    p.raw().call(PING, PONG);
    drop(p);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn binary_reads_a_redis_conf_file_and_flags_override_it() {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("plexus-test-{}-{}.conf", std::process::id(), support::free_low_port()));
    std::fs::write(&path, "# a comment\nrequirepass \"file pass\"\ndatabases 3\ntimeout 0\n").unwrap();
    let p = spawn_plexus(&[path.to_str().unwrap(), "--databases", "4"], &[]);
    let mut c = p.raw();
    c.call(PING, NOAUTH);
    c.call(&cmd(&[b"AUTH", b"file pass"]), OK);
    c.call(&cmdline("SELECT 3"), OK); // the flag (4 databases) beats the file (3)
    c.call(&cmdline("CONFIG GET databases"), b"*2\r\n$9\r\ndatabases\r\n$1\r\n4\r\n");
    let _ = std::fs::remove_file(&path);
}

#[test]
fn binary_refuses_a_bad_config_file_naming_the_line() {
    let path =
        std::env::temp_dir().join(format!("plexus-bad-{}-{}.conf", std::process::id(), support::free_low_port()));
    std::fs::write(&path, "port 7000\nnot-a-directive yes\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plexus"))
        .args(["server", path.to_str().unwrap()])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at line 2") && stderr.contains("not-a-directive"), "{stderr}");
    assert!(stderr.contains("Bad directive or wrong number of arguments"), "{stderr}");
}
