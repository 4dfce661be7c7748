//! Behaviour of the config layer against Redis 7.0: defaults as `CONFIG GET` prints them, `CONFIG SET`
//! validation texts, atomicity, aliases, and the typed accessors.

use super::*;

/// A tiny `*`/`?` glob matcher standing in for Redis's `stringmatchlen`.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.split_first(), name.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => glob(rest, name) || (!name.is_empty() && glob(pattern, &name[1..])),
        (Some((b'?', rest)), Some((_, name_rest))) => glob(rest, name_rest),
        (Some((p, rest)), Some((n, name_rest))) => p == n && glob(rest, name_rest),
        _ => false,
    }
}

fn get(config: &Config, name: &str) -> String {
    String::from_utf8(config.get_value(name.as_bytes()).expect(name)).unwrap()
}

fn set(config: &mut Config, args: &[&str]) -> Result<Vec<&'static str>, String> {
    config.set(args, true).map_err(|e| e.to_string())
}

fn pairs(config: &Config, patterns: &[&str]) -> Vec<(String, String)> {
    config
        .get(patterns, &glob)
        .into_iter()
        .map(|(k, v)| (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap()))
        .collect()
}

#[test]
fn defaults_render_as_redis_7_0() {
    let config = Config::new();
    // Checked against config.c (static defaults) and server.c's initServerConfig for the special ones.
    let expected = [
        ("save", "3600 1 300 100 60 10000"),
        ("appendonly", "no"),
        ("appendfsync", "everysec"),
        ("appendfilename", "appendonly.aof"),
        ("appenddirname", "appendonlydir"),
        ("port", "6379"),
        ("bind", "127.0.0.1"),
        ("databases", "16"),
        ("maxclients", "10000"),
        ("timeout", "0"),
        ("tcp-keepalive", "300"),
        ("tcp-backlog", "511"),
        ("loglevel", "notice"),
        ("logfile", ""),
        ("daemonize", "no"),
        ("protected-mode", "yes"),
        ("requirepass", ""),
        ("masterauth", ""),
        ("unixsocket", ""),
        ("unixsocketperm", "0"),
        ("proto-max-bulk-len", "536870912"),
        ("client-query-buffer-limit", "1073741824"),
        ("client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
        ("notify-keyspace-events", ""),
        ("hz", "10"),
        ("dynamic-hz", "yes"),
        ("maxmemory", "0"),
        ("maxmemory-policy", "noeviction"),
        ("maxmemory-samples", "5"),
        ("maxmemory-eviction-tenacity", "10"),
        ("maxmemory-clients", "0"),
        ("busy-reply-threshold", "5000"),
        ("lua-time-limit", "5000"),
        ("slowlog-log-slower-than", "10000"),
        ("slowlog-max-len", "128"),
        ("latency-monitor-threshold", "0"),
        ("latency-tracking", "yes"),
        ("latency-tracking-info-percentiles", "50 99 99.9"),
        ("hash-max-listpack-entries", "512"),
        ("hash-max-listpack-value", "64"),
        ("list-max-listpack-size", "-2"),
        ("list-compress-depth", "0"),
        ("set-max-intset-entries", "512"),
        ("zset-max-listpack-entries", "128"),
        ("zset-max-listpack-value", "64"),
        ("hll-sparse-max-bytes", "3000"),
        ("stream-node-max-bytes", "4096"),
        ("stream-node-max-entries", "100"),
        ("activerehashing", "yes"),
        ("activedefrag", "no"),
        ("active-defrag-ignore-bytes", "104857600"),
        ("active-defrag-cycle-max", "25"),
        ("lazyfree-lazy-server-del", "no"),
        ("lazyfree-lazy-user-flush", "no"),
        ("replica-read-only", "yes"),
        ("replica-serve-stale-data", "yes"),
        ("replica-priority", "100"),
        ("repl-backlog-size", "1048576"),
        ("repl-backlog-ttl", "3600"),
        ("repl-timeout", "60"),
        ("repl-diskless-sync", "yes"),
        ("repl-diskless-sync-delay", "5"),
        ("repl-diskless-load", "disabled"),
        ("replicaof", ""),
        ("dbfilename", "dump.rdb"),
        ("rdbcompression", "yes"),
        ("rdbchecksum", "yes"),
        ("stop-writes-on-bgsave-error", "yes"),
        ("auto-aof-rewrite-percentage", "100"),
        ("auto-aof-rewrite-min-size", "67108864"),
        ("aof-use-rdb-preamble", "yes"),
        ("lfu-log-factor", "10"),
        ("lfu-decay-time", "1"),
        ("io-threads", "1"),
        ("io-threads-do-reads", "no"),
        ("oom-score-adj", "no"),
        ("oom-score-adj-values", "0 200 800"),
        ("supervised", "no"),
        ("syslog-facility", "local0"),
        ("syslog-ident", "redis"),
        ("proc-title-template", "{title} {listen-addr} {server-mode}"),
        ("enable-protected-configs", "no"),
        ("enable-debug-command", "no"),
        ("acl-pubsub-default", "resetchannels"),
        ("acllog-max-len", "128"),
        ("cluster-enabled", "no"),
        ("cluster-config-file", "nodes.conf"),
        ("cluster-node-timeout", "15000"),
        ("cluster-preferred-endpoint-type", "ip"),
        ("tracking-table-max-keys", "1000000"),
        ("shutdown-timeout", "10"),
        ("shutdown-on-sigint", "default"),
        ("shutdown-on-sigterm", "default"),
        ("propagation-error-behavior", "ignore"),
        ("sanitize-dump-payload", "no"),
        ("active-expire-effort", "1"),
        ("jemalloc-bg-thread", "yes"),
        ("disable-thp", "yes"),
        ("socket-mark-id", "0"),
    ];
    for (name, value) in expected {
        assert_eq!(get(&config, name), value, "default of {name}");
    }
    assert_eq!(config.dir(), std::env::current_dir().unwrap());
}

#[test]
fn every_row_holds_a_value_of_its_type() {
    let config = Config::new();
    for (row, param) in TABLE.iter().enumerate() {
        let ok = matches!(
            (&param.kind, &config.values[row]),
            (Kind::Bool { .. }, Value::Bool(_))
                | (Kind::Str { .. }, Value::Str(_))
                | (Kind::Enum { .. }, Value::Enum(_))
                | (Kind::Num { .. }, Value::Num(_))
                | (Kind::Special(Special::Dir), Value::Dir(_))
                | (Kind::Special(Special::Save), Value::Save(_))
                | (Kind::Special(Special::ClientOutputBufferLimit), Value::OutputLimits(_))
                | (Kind::Special(Special::OomScoreAdjValues), Value::OomValues(_))
                | (Kind::Special(Special::NotifyKeyspaceEvents), Value::Events(_))
                | (Kind::Special(Special::Bind), Value::Bind(_))
                | (Kind::Special(Special::ReplicaOf), Value::ReplicaOf(_))
                | (Kind::Special(Special::LatencyTrackingInfoPercentiles), Value::Percentiles(_))
        );
        assert!(ok, "{} holds the wrong value type", param.name);
    }
}

#[test]
fn table_size() {
    // Redis 7.0's standard parameters without the 18 tls-* ones: 46 bool, 22 string, 16 enum, 66 numeric
    // and 8 special rows; 19 of them have an alias.
    let count = |f: fn(&Kind) -> bool| TABLE.iter().filter(|p| f(&p.kind)).count();
    assert_eq!(count(|k| matches!(k, Kind::Bool { .. })), 46);
    assert_eq!(count(|k| matches!(k, Kind::Str { .. })), 22);
    assert_eq!(count(|k| matches!(k, Kind::Enum { .. })), 16);
    assert_eq!(count(|k| matches!(k, Kind::Num { .. })), 66);
    assert_eq!(count(|k| matches!(k, Kind::Special(_))), 8);
    assert_eq!(TABLE.len(), 158);
    assert_eq!(TABLE.iter().filter(|p| p.alias.is_some()).count(), 19);
}

#[test]
fn config_get_star_lists_everything_but_hidden() {
    let config = Config::new();
    let all = pairs(&config, &["*"]);
    let hidden = TABLE.iter().filter(|p| p.flags & HIDDEN != 0).count();
    let aliases = TABLE.iter().filter(|p| p.alias.is_some() && p.flags & HIDDEN == 0).count();
    assert_eq!(all.len(), TABLE.len() - hidden + aliases);
    assert!(all.iter().any(|(k, v)| k == "save" && v == "3600 1 300 100 60 10000"));
    // Patterns match aliases too, each under its own name (configGetCommand iterates the dictionary).
    assert!(all.iter().any(|(k, v)| k == "slave-read-only" && v == "yes"));
    assert!(!all.iter().any(|(k, _)| k == "watchdog-period"));
}

#[test]
fn config_get_exact_names_aliases_and_hidden() {
    let config = Config::new();
    assert_eq!(pairs(&config, &["maxmemory"]), [("maxmemory".into(), "0".into())]);
    // An exact lookup answers with the client's spelling, and finds hidden parameters and aliases.
    assert_eq!(pairs(&config, &["MaxMemory"]), [("MaxMemory".into(), "0".into())]);
    assert_eq!(pairs(&config, &["watchdog-period"]), [("watchdog-period".into(), "0".into())]);
    assert_eq!(pairs(&config, &["hash-max-ziplist-entries"]), [("hash-max-ziplist-entries".into(), "512".into())]);
    assert!(pairs(&config, &["no-such-thing"]).is_empty());
    assert!(pairs(&config, &["tls-port"]).is_empty(), "a Redis built without TLS has no tls-* parameters");
}

#[test]
fn config_get_several_patterns_without_duplicates() {
    let config = Config::new();
    let got = pairs(&config, &["save", "appendonly", "SAVE", "save*", "appendonl?"]);
    let names: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["save", "appendonly"]);
    // Patterns are case-insensitive.
    let got = pairs(&config, &["MAXMEMORY-P*"]);
    assert_eq!(got, [("maxmemory-policy".into(), "noeviction".into())]);
    let got = pairs(&config, &["hash-max-*"]);
    let names: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        ["hash-max-listpack-entries", "hash-max-ziplist-entries", "hash-max-listpack-value", "hash-max-ziplist-value"]
    );
}

#[test]
fn config_set_common_tool_values() {
    let mut c = Config::new();
    set(&mut c, &["hash-max-listpack-entries", "128"]).unwrap();
    set(&mut c, &["list-max-listpack-size", "-2"]).unwrap();
    set(&mut c, &["proto-max-bulk-len", "512mb"]).unwrap();
    set(&mut c, &["client-query-buffer-limit", "1gb"]).unwrap();
    set(&mut c, &["notify-keyspace-events", "KEA"]).unwrap();
    set(&mut c, &["lazyfree-lazy-server-del", "yes"]).unwrap();
    set(&mut c, &["appendonly", "YES"]).unwrap();
    set(&mut c, &["save", ""]).unwrap();
    set(&mut c, &["maxmemory-policy", "ALLKEYS-LRU"]).unwrap();
    assert_eq!(get(&c, "hash-max-listpack-entries"), "128");
    assert_eq!(get(&c, "list-max-listpack-size"), "-2");
    assert_eq!(get(&c, "proto-max-bulk-len"), "536870912");
    assert_eq!(c.client_query_buffer_limit(), 1 << 30);
    assert_eq!(get(&c, "notify-keyspace-events"), "AKE");
    assert_eq!(get(&c, "lazyfree-lazy-server-del"), "yes");
    assert_eq!(get(&c, "appendonly"), "yes");
    assert_eq!(get(&c, "save"), "");
    assert_eq!(c.maxmemory_policy(), "allkeys-lru");
    assert_eq!(get(&c, "maxmemory-policy"), "allkeys-lru");
}

#[test]
fn memory_units() {
    let mut c = Config::new();
    for (input, bytes) in [
        ("1gb", 1u64 << 30),
        ("1GB", 1 << 30),
        ("100mb", 100 << 20),
        ("100k", 100_000),
        ("2g", 2_000_000_000),
        ("4096", 4096),
    ] {
        set(&mut c, &["maxmemory", input]).unwrap();
        assert_eq!(c.maxmemory(), bytes, "{input}");
        assert_eq!(get(&c, "maxmemory"), bytes.to_string());
    }
    // Memory parameters never take a negative value; plain integer ones may, where their bounds allow.
    assert_eq!(
        set(&mut c, &["maxmemory", "-1"]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
    );
    set(&mut c, &["slowlog-log-slower-than", "-1"]).unwrap();
    assert_eq!(c.slowlog_log_slower_than_us(), -1);
    // maxmemory-clients takes a percentage too, printed back as one.
    set(&mut c, &["maxmemory-clients", "10%"]).unwrap();
    assert_eq!(get(&c, "maxmemory-clients"), "10%");
    set(&mut c, &["maxmemory-clients", "1mb"]).unwrap();
    assert_eq!(get(&c, "maxmemory-clients"), "1048576");
}

#[test]
fn config_set_error_texts() {
    let mut c = Config::new();
    let cases: &[(&[&str], &str)] = &[
        (&["foo", "bar"], "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
        (&["maxmemory", "lots"], "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"),
        (&["maxmemory-clients", "x"], "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument must be a memory or percent value"),
        (&["maxmemory-clients", "101%"], "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100"),
        (&["hz", "1.5"], "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"),
        (&["maxmemory-eviction-tenacity", "101"], "ERR CONFIG SET failed (possibly related to argument 'maxmemory-eviction-tenacity') - argument must be between 0 and 100 inclusive"),
        (&["port", "65536"], "ERR CONFIG SET failed (possibly related to argument 'port') - argument must be between 0 and 65535 inclusive"),
        (&["maxclients", "0"], "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"),
        (&["hash-max-listpack-entries", "-1"], "ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - argument must be between 0 and 9223372036854775807 inclusive"),
        (&["proto-max-bulk-len", "1000"], "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive"),
        (&["appendonly", "maybe"], "ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"),
        (&["loglevel", "loud"], "ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning"),
        (&["maxmemory-policy", "lru"], "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"),
        (&["shutdown-on-sigterm", "save nosave"], "ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigterm') - shutdown options SAVE and NOSAVE can't be used simultaneously"),
        (&["databases", "8"], "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"),
        (&["DAEMONIZE", "yes"], "ERR CONFIG SET failed (possibly related to argument 'DAEMONIZE') - can't set immutable config"),
        (&["slaveof", "no one"], "ERR CONFIG SET failed (possibly related to argument 'slaveof') - can't set immutable config"),
        (&["dbfilename", "x.rdb"], "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config"),
        (&["maxmemory", "1", "MAXMEMORY", "2"], "ERR CONFIG SET failed (possibly related to argument 'MAXMEMORY') - duplicate parameter"),
        (&["notify-keyspace-events", "KEq"], "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
        (&["save", "100"], "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
        (&["save", "0 1"], "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
        (&["client-output-buffer-limit", "master 0 0 0"], "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration."),
        (&["client-output-buffer-limit", "normal 1x 0 0"], "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration."),
        (&["client-output-buffer-limit", "normal 0 0"], "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration."),
        (&["oom-score-adj-values", "0 200"], "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - wrong number of arguments"),
        (&["oom-score-adj-values", "0 200 3000"], "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - Invalid oom-score-adj-values, elements must be between -2000 and 2000."),
        (&["latency-tracking-info-percentiles", "50 abc"], "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles parameters"),
        (&["latency-tracking-info-percentiles", "101"], "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"),
        (&["bind", "a b c d e f g h i j k l m n o p q"], "ERR CONFIG SET failed (possibly related to argument 'bind') - Too many bind addresses specified."),
        (&["cluster-announce-hostname", "bad_host"], "ERR CONFIG SET failed (possibly related to argument 'cluster-announce-hostname') - Hostnames may only contain alphanumeric characters, hyphens or dots"),
        (&["proc-title-template", "{nope}"], "ERR CONFIG SET failed (possibly related to argument 'proc-title-template') - template format is invalid or contains unknown variables"),
        (&["maxmemory"], "ERR syntax error"),
    ];
    for (args, expected) in cases {
        assert_eq!(set(&mut c, args).unwrap_err(), *expected, "{args:?}");
    }
    assert_eq!(
        c.set::<&str>(&[], true).unwrap_err().to_string(),
        "ERR wrong number of arguments for 'config|set' command"
    );
}

#[test]
fn first_problem_wins() {
    let mut c = Config::new();
    // An immutable name before an unknown one is what gets reported, and vice versa.
    assert_eq!(
        set(&mut c, &["databases", "1", "foo", "1"]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
    );
    assert_eq!(
        set(&mut c, &["foo", "1", "databases", "1"]).unwrap_err(),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
}

#[test]
fn multi_set_is_atomic() {
    let mut c = Config::new();
    let err = set(&mut c, &["maxmemory", "1gb", "timeout", "30", "port", "70000"]).unwrap_err();
    assert_eq!(
        err,
        "ERR CONFIG SET failed (possibly related to argument 'port') - argument must be between 0 and 65535 inclusive"
    );
    assert_eq!(get(&c, "maxmemory"), "0");
    assert_eq!(get(&c, "timeout"), "0");
    assert_eq!(c.port(), 6379);

    let changed = set(&mut c, &["maxmemory", "1gb", "TIMEOUT", "30", "port", "6379"]).unwrap();
    assert_eq!(changed, ["maxmemory", "timeout"], "port did not change value");
    assert_eq!(c.idle_timeout(), Some(Duration::from_secs(30)));
    assert_eq!(c.maxmemory(), 1 << 30);
}

#[test]
fn aliases_set_the_primary() {
    let mut c = Config::new();
    assert_eq!(set(&mut c, &["hash-max-ziplist-entries", "64"]).unwrap(), ["hash-max-listpack-entries"]);
    assert_eq!(get(&c, "hash-max-listpack-entries"), "64");
    assert_eq!(get(&c, "hash-max-ziplist-entries"), "64");
    set(&mut c, &["lua-time-limit", "100"]).unwrap();
    assert_eq!(c.busy_reply_threshold(), Duration::from_millis(100));
    // A bad value is blamed on the name the client used (Redis's entry for the alias).
    assert_eq!(
        set(&mut c, &["slave-read-only", "perhaps"]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'slave-read-only') - argument must be 'yes' or 'no'"
    );
    // A name and its alias are distinct entries to Redis: no duplicate error, the later one wins.
    set(&mut c, &["zset-max-listpack-entries", "1", "zset-max-ziplist-entries", "2"]).unwrap();
    assert_eq!(get(&c, "zset-max-listpack-entries"), "2");
}

#[test]
fn protected_configs_follow_enable_protected_configs() {
    let mut c = Config::new();
    c.set_from_cli("enable-protected-configs", "local").unwrap();
    assert!(c.set(&["dbfilename", "other.rdb"], false).is_err());
    c.set(&["dbfilename", "other.rdb"], true).unwrap();
    assert_eq!(c.dbfilename(), b"other.rdb");
    assert_eq!(
        set(&mut c, &["dbfilename", "dir/x.rdb"]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename"
    );
}

#[test]
fn dir_must_exist_and_prints_absolute() {
    let mut c = Config::new();
    c.set_from_cli("enable-protected-configs", "yes").unwrap();
    let tmp = std::env::temp_dir().canonicalize().unwrap();
    assert_eq!(set(&mut c, &["dir", tmp.to_str().unwrap()]).unwrap(), ["dir"]);
    assert_eq!(c.dir(), tmp);
    assert_eq!(
        set(&mut c, &["dir", "/nonexistent/plexus"]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory"
    );
    assert_eq!(c.dir(), tmp);
}

#[test]
fn notify_keyspace_events_round_trips() {
    let mut c = Config::new();
    for (input, printed) in [
        ("KEA", "AKE"),
        ("AKE", "AKE"),
        ("Kx", "xK"),
        ("Ex$l", "$lxE"),
        ("g$lshzxetd", "A"),
        ("Km", "Km"),
        ("KEn", "nKE"),
        ("AKn", "AK"),
        ("", ""),
    ] {
        set(&mut c, &["notify-keyspace-events", input]).unwrap();
        assert_eq!(get(&c, "notify-keyspace-events"), printed, "{input}");
    }
    set(&mut c, &["notify-keyspace-events", "Kgx"]).unwrap();
    let events = c.notify_keyspace_events();
    assert!(events.contains(KeyspaceEvents::KEYSPACE) && events.contains(KeyspaceEvents::EXPIRED));
    assert!(!events.intersects(KeyspaceEvents::KEYEVENT));
    assert_eq!(KeyspaceEvents::parse(b"A").unwrap(), KeyspaceEvents::ALL);
    assert!(!KeyspaceEvents::ALL.intersects(KeyspaceEvents::KEY_MISS), "m is not part of A");
}

#[test]
fn special_parameters_render_like_redis() {
    let mut c = Config::new();
    set(&mut c, &["save", "900 1 300 10"]).unwrap();
    assert_eq!(get(&c, "save"), "900 1 300 10");
    assert_eq!(c.save_params(), [SaveParam { seconds: 900, changes: 1 }, SaveParam { seconds: 300, changes: 10 }]);
    // Only the named classes change; `replica` is printed as `slave`.
    set(&mut c, &["client-output-buffer-limit", "replica 512mb 128mb 120 normal 1mb 0 0"]).unwrap();
    assert_eq!(
        get(&c, "client-output-buffer-limit"),
        "normal 1048576 0 0 slave 536870912 134217728 120 pubsub 33554432 8388608 60"
    );
    assert_eq!(c.client_output_buffer_limits().replica.soft_limit_seconds, 120);
    set(&mut c, &["bind", "0.0.0.0 ::"]).unwrap();
    assert_eq!(c.bind(), ["0.0.0.0", "::"]);
    set(&mut c, &["latency-tracking-info-percentiles", "50 99.99 100"]).unwrap();
    assert_eq!(get(&c, "latency-tracking-info-percentiles"), "50 99.99 100");
    set(&mut c, &["oom-score-adj-values", "-100 0 1000"]).unwrap();
    assert_eq!(get(&c, "oom-score-adj-values"), "-100 0 1000");
    // Enums print the first name with the value, bit-flag enums their flags.
    set(&mut c, &["oom-score-adj", "relative"]).unwrap();
    assert_eq!(get(&c, "oom-score-adj"), "yes");
    set(&mut c, &["shutdown-on-sigterm", "NOW nosave"]).unwrap();
    assert_eq!(get(&c, "shutdown-on-sigterm"), "nosave now");
    set(&mut c, &["hz", "100000"]).unwrap();
    assert_eq!((get(&c, "hz").as_str(), c.hz()), ("500", 500));
}

#[test]
fn typed_accessors_read_the_table() {
    let mut c = Config::new();
    assert_eq!(c.requirepass(), None);
    set(&mut c, &["requirepass", "s3cret"]).unwrap();
    assert_eq!(c.requirepass(), Some(&b"s3cret"[..]));
    set(&mut c, &["requirepass", ""]).unwrap();
    assert_eq!(c.requirepass(), None, "an empty requirepass means no password");
    assert_eq!(c.idle_timeout(), None);
    assert_eq!(c.loglevel(), LogLevel::Notice);
    set(&mut c, &["loglevel", "warning"]).unwrap();
    assert_eq!(c.loglevel(), LogLevel::Warning);
    assert_eq!((c.maxclients(), c.databases(), c.hz(), c.tcp_backlog()), (10000, 16, 10, 511));
    assert_eq!(c.proto_max_bulk_len(), 512 << 20);
    assert_eq!(c.client_output_buffer_limits(), ClientOutputBufferLimits::DEFAULT);
    assert!(c.protected_mode() && !c.appendonly() && !c.cluster_enabled());
    assert_eq!(c.get_bool(b"slave-read-only"), Some(true));
    assert_eq!(c.get_i64(b"list-max-ziplist-size"), Some(-2));
    assert_eq!(c.unixsocket(), None);
    assert_eq!(c.replicaof(), None);
    assert_eq!((c.slowlog_max_len(), c.latency_monitor_threshold_ms(), c.tcp_keepalive_secs()), (128, 0, 300));
}

#[test]
fn sensitive_and_env_names() {
    assert!(Config::is_sensitive(b"REQUIREPASS"));
    assert!(Config::is_sensitive(b"masterauth"));
    assert!(!Config::is_sensitive(b"port"));
    assert_eq!(Config::name_for_env_var("PLEXUS_MAXMEMORY_POLICY"), Some("maxmemory-policy"));
    assert_eq!(Config::name_for_env_var("PLEXUS_BIO_CPULIST"), Some("bio_cpulist"));
    assert_eq!(Config::name_for_env_var("PLEXUS_SLAVEOF"), Some("slaveof"));
    assert_eq!(Config::name_for_env_var("PLEXUS_NOPE"), None);
    assert_eq!(Config::name_for_env_var("MAXMEMORY"), None);
}

#[test]
fn set_values_are_binary_safe() {
    let mut c = Config::new();
    c.set(&[&b"requirepass"[..], &b"a\x00b\xff"[..]], true).unwrap();
    assert_eq!(c.requirepass(), Some(&b"a\x00b\xff"[..]));
    assert_eq!(c.get_value(b"requirepass").unwrap(), b"a\x00b\xff");
}
