//! Pub/Sub: the subscription registry, SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, their sharded
//! forms SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, PUBSUB, and keyspace notifications, with Redis 7.0's replies.
//!
//! ```text
//!  SUBSCRIBE ch   --> PubSub registry: channel -> [client, ...] and client -> {channel, ...}
//!                 --> ["subscribe", ch, count] to the subscriber   (Effect::PubSubMode on its first subscription)
//!  PUBLISH ch msg --> subscribers of ch, then every pattern that matches ch (glob_match)
//!                 --> one frame per RESP version, encoded once, shared by every subscriber (Bytes)
//!                 --> Effect::Send { client, bytes } for each other client; the I/O layer appends it to that
//!                     connection, where client-output-buffer-limit pubsub bounds what a slow reader can pile up
//!  Ctx::notify    --> notify-keyspace-events filter --> PUBLISH on __keyspace@<db>__:<key> / __keyevent@<db>__:<event>
//! ```
//!
//! A message for the client that is running the command (a RESP3 client publishing to itself, or a keyspace
//! event its own write caused) is written straight into its reply, before the command's own reply, as Redis 7.0
//! does; anything for another client has to go through an [`Effect`] because only the I/O layer reaches other
//! connections.
//!
//! Sharded Pub/Sub (Redis 7.0: `SSUBSCRIBE`, `SUNSUBSCRIBE`, `SPUBLISH`) uses the same registry with a second
//! channel namespace ([`Space::Shard`]). A standalone server is one shard, so the only differences are that the
//! namespaces are separate, patterns never see shard messages, and a shard confirmation counts shard channels only.
//!
//! Simplifications against Redis 7.0, marked where they happen:
//! - The order of channels in `UNSUBSCRIBE` with no arguments (and of patterns in `PUNSUBSCRIBE`) is subscription
//!   order, and pattern messages go out in the order patterns were first subscribed. Redis walks hash tables there,
//!   so its order is unspecified; subscription order is one of its possible orders and makes tests deterministic.
//! - A keyspace event caused by lazy expiry is delivered after the reply of the command that found the key
//!   expired (expiry is reaped after the command), where Redis sends it before.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};

use super::cmd::{flag::*, Command};
use super::config::KeyspaceEvents;
use super::connection::container;
use super::error::{CmdError, CmdResult};
use super::exec::{Client, Ctx, Effect, Engine, Notify};
use super::glob::glob_match;
use super::reply::{Reply, Resp};
use super::resp::Encoder;

pub static COMMANDS: &[Command] = &[
    Command::new(
        "subscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "O(N) where N is the number of channels to subscribe to.",
        "Listen for messages published to the given channels",
        "channel [channel ...]",
        subscribe,
    ),
    Command::new(
        "unsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "O(N) where N is the number of clients already subscribed to a channel.",
        "Stop listening for messages posted to the given channels",
        "[channel [channel ...]]",
        unsubscribe,
    ),
    Command::new(
        "psubscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "O(N) where N is the number of patterns the client is already subscribed to.",
        "Listen for messages published to channels matching the given patterns",
        "pattern [pattern ...]",
        psubscribe,
    ),
    Command::new(
        "punsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).",
        "Stop listening for messages posted to channels matching the given patterns",
        "[pattern [pattern ...]]",
        punsubscribe,
    ),
    Command::new(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
        "Post a message to a channel",
        "channel message",
        publish_cmd,
    ),
    // The shard channels are "keys" for cluster routing, hence (1, -1, 1); COMMAND INFO flags them `not_key`.
    Command::new(
        "ssubscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK,
        (1, -1, 1),
        "pubsub",
        "7.0.0",
        "O(N) where N is the number of shard channels to subscribe to.",
        "Listen for messages published to the given shard channels",
        "shardchannel [shardchannel ...]",
        ssubscribe,
    ),
    Command::new(
        "sunsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK,
        (1, -1, 1),
        "pubsub",
        "7.0.0",
        "O(N) where N is the number of clients already subscribed to a shard channel.",
        "Stop listening for messages posted to the given shard channels",
        "[shardchannel [shardchannel ...]]",
        sunsubscribe,
    ),
    Command::new(
        "spublish",
        3,
        PUBSUB | LOADING | STALE | FAST,
        (1, 1, 1),
        "pubsub",
        "7.0.0",
        "O(N) where N is the number of clients subscribed to the receiving shard channel.",
        "Post a message to a shard channel",
        "shardchannel message",
        spublish,
    ),
    // "Pub/Sun" is Redis 7.0's own spelling in `COMMAND DOCS`; it is kept so the summary matches byte for byte.
    Command::new(
        "pubsub",
        -2,
        0,
        (0, 0, 0),
        "pubsub",
        "2.8.0",
        "Depends on subcommand.",
        "A container for Pub/Sun commands",
        "",
        container,
    )
    .with_subcommands(PUBSUB_SUBCOMMANDS),
];

static PUBSUB_SUBCOMMANDS: &[Command] = &[
    Command::new(
        "pubsub|channels",
        -2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "2.8.0",
        "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)",
        "List active channels",
        "[pattern]",
        pubsub_channels,
    ),
    Command::new(
        "pubsub|numsub",
        -2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "2.8.0",
        "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
        "Get the count of subscribers for channels",
        "[channel [channel ...]]",
        pubsub_numsub,
    ),
    Command::new(
        "pubsub|numpat",
        2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "2.8.0",
        "O(1)",
        "Get the count of unique patterns pattern subscriptions",
        "",
        pubsub_numpat,
    ),
    Command::new(
        "pubsub|shardchannels",
        -2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "7.0.0",
        "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).",
        "List active shard channels",
        "[pattern]",
        pubsub_shardchannels,
    ),
    Command::new(
        "pubsub|shardnumsub",
        -2,
        PUBSUB | LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "7.0.0",
        "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
        "Get the count of subscribers for shard channels",
        "[shardchannel [shardchannel ...]]",
        pubsub_shardnumsub,
    ),
    Command::new(
        "pubsub|help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "pubsub",
        "6.2.0",
        "O(1)",
        "Show helpful text about the different subcommands",
        "",
        pubsub_help,
    ),
];

/// `PUBSUB HELP` as Redis 7.0 words it: `pubsubCommand`'s lines inside `addReplyHelp`'s header and footer (7.0's
/// footer says "Prints"; 7.2 changed it to "Print").
const PUBSUB_HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// Who listens to what. Owned by the [`Engine`]; clients are the engine's slab keys, so a client must be removed
/// here when it disconnects ([`Engine::remove_client`] does) before its key can be reused.
#[derive(Debug, Default)]
pub struct PubSub {
    /// Channel -> subscribers, in subscription order (the delivery order). A channel is removed with its last
    /// subscriber, so `PUBSUB CHANNELS` and memory only ever see live channels (Redis does the same, so that
    /// subscribing to millions of channels once cannot leave millions of empty entries behind).
    /// Indexed by [`Space`]: the PUBLISH channels, then the shard channels.
    channels: [HashMap<Bytes, Vec<usize>>; 2],
    /// Pattern -> subscribers, in the order the patterns were first subscribed. A list rather than a map because
    /// every PUBLISH walks all of it anyway (each pattern must be matched against the channel); finding one
    /// pattern on PSUBSCRIBE/PUNSUBSCRIBE is then O(patterns), which Redis's documented PUNSUBSCRIBE complexity
    /// (O(N+M), M = patterns in the system) already allows.
    patterns: Vec<PatternSubscribers>,
    /// What each subscribed client listens to; absent for a client with no subscriptions, so the check every
    /// command makes in RESP2 ("is this client in subscribed mode?") is one lookup, or none while nobody is.
    clients: HashMap<usize, ClientSubscriptions>,
    /// Orders a client's subscriptions (for `UNSUBSCRIBE` with no arguments) without a second list to keep in step.
    next_seq: u64,
}

#[derive(Debug)]
struct PatternSubscribers {
    pattern: Bytes,
    /// In subscription order. Unsubscribing is O(subscribers of this pattern), as Redis 7.0's list is.
    clients: Vec<usize>,
}

/// A channel namespace. PUBLISH and SPUBLISH reach different subscribers even for the same channel name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Space {
    /// SUBSCRIBE / PUBLISH channels, which patterns also match.
    Global = 0,
    /// SSUBSCRIBE / SPUBLISH shard channels.
    Shard = 1,
}

/// One client's subscriptions, each with the sequence number of when it was made.
#[derive(Debug, Default)]
struct ClientSubscriptions {
    /// Indexed by [`Space`].
    channels: [HashMap<Bytes, u64>; 2],
    patterns: HashMap<Bytes, u64>,
}

impl ClientSubscriptions {
    fn is_empty(&self) -> bool {
        self.channels.iter().all(HashMap::is_empty) && self.patterns.is_empty()
    }
}

/// Names of a map's keys in the order of their sequence numbers.
fn in_order(map: &HashMap<Bytes, u64>) -> Vec<Bytes> {
    let mut v: Vec<(&Bytes, &u64)> = map.iter().collect();
    v.sort_unstable_by_key(|&(_, seq)| *seq);
    v.into_iter().map(|(name, _)| name.clone()).collect()
}

impl PubSub {
    pub fn new() -> Self {
        Self::default()
    }

    /// No subscription of any kind exists: publishing is a no-op and no client is in subscribed mode.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// `(channels, patterns)` the client is subscribed to.
    pub fn counts(&self, client: usize) -> (usize, usize) {
        if self.clients.is_empty() {
            return (0, 0);
        }
        self.clients.get(&client).map_or((0, 0), |c| (c.channels[Space::Global as usize].len(), c.patterns.len()))
    }

    /// Shard channels the client is subscribed to.
    pub fn shard_count(&self, client: usize) -> usize {
        self.clients.get(&client).map_or(0, |c| c.channels[Space::Shard as usize].len())
    }

    /// Whether the client has any subscription (Redis's `CLIENT_PUBSUB` flag).
    pub fn is_subscribed(&self, client: usize) -> bool {
        !self.clients.is_empty() && self.clients.contains_key(&client)
    }

    /// The count an (un)subscribe confirmation carries: channels and patterns together, or for the sharded
    /// commands shard channels alone (Redis's `clientSubscriptionsCount` and `clientShardSubscriptionsCount`).
    fn total(&self, client: usize, space: Space) -> usize {
        match space {
            Space::Global => {
                let (c, p) = self.counts(client);
                c + p
            }
            Space::Shard => self.shard_count(client),
        }
    }

    /// Channels with at least one subscriber.
    pub fn channel_count(&self) -> usize {
        self.channels[Space::Global as usize].len()
    }

    /// Distinct patterns with at least one subscriber (`PUBSUB NUMPAT`).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Subscribers of exactly this channel, pattern subscriptions excluded (`PUBSUB NUMSUB`, `SHARDNUMSUB`).
    pub fn numsub(&self, space: Space, channel: &[u8]) -> usize {
        self.channels[space as usize].get(channel).map_or(0, Vec::len)
    }

    /// Live channels matching `pattern` (all of them without one), in no particular order, as in Redis.
    pub fn active_channels(&self, space: Space, pattern: Option<&[u8]>) -> Vec<&Bytes> {
        self.channels[space as usize].keys().filter(|ch| pattern.map_or(true, |p| glob_match(p, ch, false))).collect()
    }

    /// A client's channels in subscription order.
    pub fn channels_of(&self, space: Space, client: usize) -> Vec<Bytes> {
        self.clients.get(&client).map_or_else(Vec::new, |c| in_order(&c.channels[space as usize]))
    }

    /// A client's patterns in subscription order.
    pub fn patterns_of(&self, client: usize) -> Vec<Bytes> {
        self.clients.get(&client).map_or_else(Vec::new, |c| in_order(&c.patterns))
    }

    /// Subscribes `client` to `channel`; `false` if it already was.
    pub fn subscribe(&mut self, space: Space, client: usize, channel: &[u8]) -> bool {
        let subs = self.clients.entry(client).or_default();
        if subs.channels[space as usize].contains_key(channel) {
            return false;
        }
        // Copied out of argv, which points into the connection's input buffer.
        let name = Bytes::copy_from_slice(channel);
        subs.channels[space as usize].insert(name.clone(), self.next_seq);
        self.next_seq += 1;
        self.channels[space as usize].entry(name).or_default().push(client);
        true
    }

    /// Unsubscribes `client` from `channel`; `false` if it was not subscribed.
    pub fn unsubscribe(&mut self, space: Space, client: usize, channel: &[u8]) -> bool {
        let Some(subs) = self.clients.get_mut(&client) else { return false };
        if subs.channels[space as usize].remove(channel).is_none() {
            return false;
        }
        if subs.is_empty() {
            self.clients.remove(&client);
        }
        let channels = &mut self.channels[space as usize];
        if let Some(list) = channels.get_mut(channel) {
            list.retain(|&c| c != client);
            if list.is_empty() {
                channels.remove(channel);
            }
        }
        true
    }

    /// Subscribes `client` to `pattern`; `false` if it already was.
    pub fn psubscribe(&mut self, client: usize, pattern: &[u8]) -> bool {
        let subs = self.clients.entry(client).or_default();
        if subs.patterns.contains_key(pattern) {
            return false;
        }
        let name = Bytes::copy_from_slice(pattern);
        subs.patterns.insert(name.clone(), self.next_seq);
        self.next_seq += 1;
        match self.patterns.iter_mut().find(|p| p.pattern == pattern) {
            Some(p) => p.clients.push(client),
            None => self.patterns.push(PatternSubscribers { pattern: name, clients: vec![client] }),
        }
        true
    }

    /// Unsubscribes `client` from `pattern`; `false` if it was not subscribed.
    pub fn punsubscribe(&mut self, client: usize, pattern: &[u8]) -> bool {
        let Some(subs) = self.clients.get_mut(&client) else { return false };
        if subs.patterns.remove(pattern).is_none() {
            return false;
        }
        if subs.is_empty() {
            self.clients.remove(&client);
        }
        if let Some(i) = self.patterns.iter().position(|p| p.pattern == pattern) {
            self.patterns[i].clients.retain(|&c| c != client);
            if self.patterns[i].clients.is_empty() {
                // `remove`, not `swap_remove`: the remaining patterns keep their delivery order.
                self.patterns.remove(i);
            }
        }
        true
    }

    /// Drops every subscription of a client that is going away, without confirmations.
    pub fn remove_client(&mut self, client: usize) {
        for space in [Space::Global, Space::Shard] {
            for channel in self.channels_of(space, client) {
                self.unsubscribe(space, client, &channel);
            }
        }
        for pattern in self.patterns_of(client) {
            self.punsubscribe(client, &pattern);
        }
        self.clients.remove(&client);
    }

    /// Every client that should receive a message on `channel`: channel subscribers first, then pattern
    /// subscribers pattern by pattern (a client subscribed both ways, or to two matching patterns, receives the
    /// message once per subscription, as in Redis).
    pub fn receivers(&self, space: Space, channel: &[u8]) -> Vec<(usize, Option<&Bytes>)> {
        let mut out: Vec<(usize, Option<&Bytes>)> = Vec::new();
        if let Some(list) = self.channels[space as usize].get(channel) {
            out.extend(list.iter().map(|&c| (c, None)));
        }
        if space == Space::Shard {
            return out;
        }
        for p in &self.patterns {
            if glob_match(&p.pattern, channel, false) {
                out.extend(p.clients.iter().map(|&c| (c, Some(&p.pattern))));
            }
        }
        out
    }
}

/// One Pub/Sub frame, encoded at most once per RESP version however many subscribers receive it.
#[derive(Default)]
struct Frame {
    v2: Option<Bytes>,
    v3: Option<Bytes>,
}

impl Frame {
    fn get(&mut self, resp: Resp, parts: &[&[u8]]) -> Bytes {
        let slot = if resp == Resp::V2 { &mut self.v2 } else { &mut self.v3 };
        slot.get_or_insert_with(|| encode(resp, parts)).clone()
    }
}

/// A push frame (`>` in RESP3, `*` in RESP2) of bulk strings.
fn encode(resp: Resp, parts: &[&[u8]]) -> Bytes {
    /// Room for a header or a bulk's `$<len>\r\n...\r\n` framing.
    const FRAMING_BYTES: usize = 16;
    let len = parts.iter().map(|p| p.len() + FRAMING_BYTES).sum::<usize>() + FRAMING_BYTES;
    let mut buf = BytesMut::with_capacity(len);
    let mut enc = Encoder::new(&mut buf, resp);
    enc.push(parts.len());
    for p in parts {
        enc.bulk(p);
    }
    buf.freeze()
}

/// The client running the current command, and its reply: messages for it are written there, in order with
/// its reply, instead of going through an [`Effect`].
pub type Current<'r, 'a> = Option<(usize, &'r mut Reply<'a>)>;

/// Sends `message` on `channel` to every subscriber; returns how many received it (PUBLISH's reply).
pub fn publish(engine: &mut Engine, current: Current<'_, '_>, channel: &[u8], message: &[u8]) -> usize {
    publish_in(engine, current, Space::Global, channel, message)
}

/// [`publish`] in either namespace: shard messages are `smessage`s, and patterns do not see them.
fn publish_in(
    engine: &mut Engine,
    mut current: Current<'_, '_>,
    space: Space,
    channel: &[u8],
    message: &[u8],
) -> usize {
    if engine.pubsub.is_empty() {
        return 0;
    }
    let kind: &[u8] = match space {
        Space::Global => b"message",
        Space::Shard => b"smessage",
    };
    let Engine { pubsub, clients, effects, .. } = engine;
    let receivers = pubsub.receivers(space, channel);
    let mut plain = Frame::default();
    let mut by_pattern: Option<(&Bytes, Frame)> = None;
    for &(client, pattern) in &receivers {
        let bytes = match pattern {
            None => {
                let resp = resp_of(client, clients, &current);
                plain.get(resp, &[kind, channel, message])
            }
            Some(pat) => {
                // Receivers come grouped by pattern, so one frame per pattern at a time is enough.
                if by_pattern.as_ref().map_or(true, |(p, _)| !std::ptr::eq(*p, pat)) {
                    by_pattern = Some((pat, Frame::default()));
                }
                let resp = resp_of(client, clients, &current);
                let frame = &mut by_pattern.as_mut().expect("set just above").1;
                frame.get(resp, &[b"pmessage", pat, channel, message])
            }
        };
        match current.as_mut() {
            Some((me, reply)) if *me == client => reply.raw(&bytes),
            _ => effects.push(Effect::Send { client, bytes }),
        }
    }
    receivers.len()
}

/// The protocol version a message for `client` must be encoded in.
fn resp_of(client: usize, clients: &slab::Slab<Client>, current: &Current<'_, '_>) -> Resp {
    match current {
        Some((me, reply)) if *me == client => reply.resp(),
        _ => clients.get(client).map_or(Resp::V2, |c| c.resp),
    }
}

/// The `notify-keyspace-events` class of a notification.
fn class_flag(class: Notify) -> KeyspaceEvents {
    match class {
        Notify::Generic => KeyspaceEvents::GENERIC,
        Notify::String => KeyspaceEvents::STRING,
        Notify::List => KeyspaceEvents::LIST,
        Notify::Set => KeyspaceEvents::SET,
        Notify::Hash => KeyspaceEvents::HASH,
        Notify::ZSet => KeyspaceEvents::ZSET,
        Notify::Expired => KeyspaceEvents::EXPIRED,
    }
}

/// Redis's `notifyKeyspaceEvent`: publishes `event` on `__keyspace@<db>__:<key>` (K) and `key` on
/// `__keyevent@<db>__:<event>` (E), when the event's class is enabled.
///
/// With notifications off (the default) this is one load and one bit test per write. It also returns early
/// when nobody is subscribed to anything, which Redis does not, but then no one could receive the event and
/// building the channel names would be wasted work.
pub fn notify_keyspace(
    engine: &mut Engine,
    mut current: Current<'_, '_>,
    class: Notify,
    event: &str,
    db: usize,
    key: &[u8],
) {
    let flags = engine.config.notify_keyspace_events();
    if !flags.intersects(class_flag(class)) || engine.pubsub.is_empty() {
        return;
    }
    let mut digits = itoa::Buffer::new();
    let db = digits.format(db).as_bytes();
    if flags.intersects(KeyspaceEvents::KEYSPACE) {
        let channel = [b"__keyspace@", db, b"__:", key].concat();
        let me = current.as_mut().map(|(c, r)| (*c, &mut **r));
        publish(engine, me, &channel, event.as_bytes());
    }
    if flags.intersects(KeyspaceEvents::KEYEVENT) {
        let channel = [b"__keyevent@", db, b"__:", event.as_bytes()].concat();
        publish(engine, current, &channel, key);
    }
}

/// The RESP2 subscribed-mode rule: while a RESP2 client has subscriptions, only commands flagged
/// `SUBSCRIBED_OK` run, because any other reply could not be told apart from a message. RESP3 has push frames,
/// so RESP3 clients may run anything. Called by the dispatcher after the auth check, as in Redis's
/// `processCommand`.
pub fn check_subscribed_mode(cx: &Ctx<'_>, cmd: &Command) -> CmdResult {
    if cmd.has(SUBSCRIBED_OK) || cx.reply.resp() != Resp::V2 || !cx.engine.pubsub.is_subscribed(cx.client) {
        return Ok(());
    }
    Err(CmdError::msg(format!(
        "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this \
         context",
        cmd.name
    )))
}

/// A subscription confirmation: `[kind, name, count]`, `name` a nil when there was nothing to unsubscribe from.
fn confirm(cx: &mut Ctx<'_>, kind: &[u8], name: Option<&[u8]>, space: Space) {
    let count = cx.engine.pubsub.total(cx.client, space);
    cx.reply.push(3);
    cx.reply.bulk(kind);
    match name {
        Some(n) => cx.reply.bulk(n),
        None => cx.reply.null(),
    }
    cx.reply.int(count as i64);
}

/// Drops every subscription of the current client without confirmations and leaves subscribed mode (`RESET`).
pub(crate) fn unsubscribe_all_quietly(cx: &mut Ctx<'_>) {
    let was = cx.engine.pubsub.is_subscribed(cx.client);
    cx.engine.pubsub.remove_client(cx.client);
    mode_changed(cx, was);
}

/// Tells the I/O layer when a client enters or leaves Pub/Sub mode, so it can switch the connection to the
/// `pubsub` output limits and exempt it from the idle timeout (or undo both).
fn mode_changed(cx: &mut Ctx<'_>, was_subscribed: bool) {
    let now = cx.engine.pubsub.is_subscribed(cx.client);
    if now != was_subscribed {
        cx.engine.effects.push(Effect::PubSubMode { client: cx.client, subscribed: now });
    }
}

/// What a (un)subscription names: channels of a namespace (SUBSCRIBE, SSUBSCRIBE) or patterns (PSUBSCRIBE). The
/// six commands differ only in this and in the reply's kind.
#[derive(Clone, Copy)]
enum Target {
    Channels(Space),
    Patterns,
}

impl Target {
    /// The confirmation's kind for subscribing and for unsubscribing.
    fn kinds(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Target::Channels(Space::Global) => (b"subscribe", b"unsubscribe"),
            Target::Channels(Space::Shard) => (b"ssubscribe", b"sunsubscribe"),
            Target::Patterns => (b"psubscribe", b"punsubscribe"),
        }
    }

    /// Whose count the confirmation carries.
    fn space(self) -> Space {
        match self {
            Target::Channels(space) => space,
            Target::Patterns => Space::Global,
        }
    }
}

/// SUBSCRIBE channel [channel ...] / SSUBSCRIBE shardchannel [...] / PSUBSCRIBE pattern [pattern ...]
fn add(cx: &mut Ctx<'_>, argv: &[&[u8]], target: Target) -> CmdResult {
    let was = cx.engine.pubsub.is_subscribed(cx.client);
    for name in &argv[1..] {
        match target {
            Target::Channels(space) => cx.engine.pubsub.subscribe(space, cx.client, name),
            Target::Patterns => cx.engine.pubsub.psubscribe(cx.client, name),
        };
        confirm(cx, target.kinds().0, Some(name), target.space());
    }
    mode_changed(cx, was);
    Ok(())
}

/// UNSUBSCRIBE / SUNSUBSCRIBE [channel ...] / PUNSUBSCRIBE [pattern ...]: without arguments, from every one (and
/// a single `[unsubscribe, nil, count]` when there were none).
fn remove(cx: &mut Ctx<'_>, argv: &[&[u8]], target: Target) -> CmdResult {
    let was = cx.engine.pubsub.is_subscribed(cx.client);
    let kind = target.kinds().1;
    let names: Vec<Bytes> = if argv.len() == 1 {
        let all = match target {
            Target::Channels(space) => cx.engine.pubsub.channels_of(space, cx.client),
            Target::Patterns => cx.engine.pubsub.patterns_of(cx.client),
        };
        if all.is_empty() {
            confirm(cx, kind, None, target.space());
        }
        all
    } else {
        argv[1..].iter().map(|n| Bytes::copy_from_slice(n)).collect()
    };
    for name in names {
        match target {
            Target::Channels(space) => cx.engine.pubsub.unsubscribe(space, cx.client, &name),
            Target::Patterns => cx.engine.pubsub.punsubscribe(cx.client, &name),
        };
        confirm(cx, kind, Some(&name), target.space());
    }
    mode_changed(cx, was);
    Ok(())
}

fn subscribe(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    add(cx, argv, Target::Channels(Space::Global))
}

fn ssubscribe(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    add(cx, argv, Target::Channels(Space::Shard))
}

fn psubscribe(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    add(cx, argv, Target::Patterns)
}

fn unsubscribe(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    remove(cx, argv, Target::Channels(Space::Global))
}

fn sunsubscribe(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    remove(cx, argv, Target::Channels(Space::Shard))
}

fn punsubscribe(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    remove(cx, argv, Target::Patterns)
}

/// SPUBLISH shardchannel message
fn spublish(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let receivers = publish_in(cx.engine, Some((cx.client, &mut cx.reply)), Space::Shard, argv[1], argv[2]);
    cx.reply.int(receivers as i64);
    Ok(())
}

/// PUBLISH channel message
fn publish_cmd(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    let receivers = publish(cx.engine, Some((cx.client, &mut cx.reply)), argv[1], argv[2]);
    cx.reply.int(receivers as i64);
    Ok(())
}

/// PUBSUB CHANNELS [pattern]
fn pubsub_channels(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    list_channels(cx, argv, Space::Global)
}

/// PUBSUB SHARDCHANNELS [pattern]
fn pubsub_shardchannels(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    list_channels(cx, argv, Space::Shard)
}

fn list_channels(cx: &mut Ctx<'_>, argv: &[&[u8]], space: Space) -> CmdResult {
    if argv.len() > 3 {
        // Redis checks the argument count inside `pubsubCommand`, so too many arguments is a subcommand error.
        return Err(subcommand_syntax(argv));
    }
    let pattern = argv.get(2).copied();
    let names: Vec<Bytes> = cx.engine.pubsub.active_channels(space, pattern).into_iter().cloned().collect();
    cx.reply.array(names.len());
    for name in &names {
        cx.reply.bulk(name);
    }
    Ok(())
}

/// PUBSUB NUMSUB [channel ...]: a flat array of channel, count pairs (an array in RESP3 too, as in Redis 7.0).
fn pubsub_numsub(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    count_subscribers(cx, argv, Space::Global)
}

/// PUBSUB SHARDNUMSUB [shardchannel ...]
fn pubsub_shardnumsub(cx: &mut Ctx<'_>, argv: &[&[u8]]) -> CmdResult {
    count_subscribers(cx, argv, Space::Shard)
}

fn count_subscribers(cx: &mut Ctx<'_>, argv: &[&[u8]], space: Space) -> CmdResult {
    cx.reply.array((argv.len() - 2) * 2);
    for channel in &argv[2..] {
        let n = cx.engine.pubsub.numsub(space, channel);
        cx.reply.bulk(channel);
        cx.reply.int(n as i64);
    }
    Ok(())
}

/// PUBSUB NUMPAT
fn pubsub_numpat(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    let n = cx.engine.pubsub.pattern_count();
    cx.reply.int(n as i64);
    Ok(())
}

fn pubsub_help(cx: &mut Ctx<'_>, _argv: &[&[u8]]) -> CmdResult {
    cx.reply.array(PUBSUB_HELP.len());
    for line in PUBSUB_HELP {
        cx.reply.simple(line);
    }
    Ok(())
}

/// Redis's `addReplySubcommandSyntaxError`.
fn subcommand_syntax(argv: &[&[u8]]) -> CmdError {
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        super::cmd::sanitize(argv[1], 128),
        super::cmd::sanitize(argv[0], 128).to_ascii_uppercase()
    ))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::kv::clock::ManualClock;
    use crate::kv::config::Config;
    use Space::Global as G;

    /// 2023-11-14T22:13:20Z in Unix ms: any fixed "now" works.
    const T0: u64 = 1_700_000_000_000;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    // ---- the registry ----

    #[test]
    fn shard_channels_live_apart_from_channels_and_patterns() {
        let mut ps = PubSub::new();
        assert!(ps.subscribe(Space::Shard, 1, b"a"));
        assert!(ps.subscribe(G, 1, b"a"), "the same name in the other namespace is another subscription");
        assert!(ps.psubscribe(2, b"*"));
        assert_eq!((ps.counts(1), ps.shard_count(1)), ((1, 0), 1));
        assert_eq!((ps.total(1, G), ps.total(1, Space::Shard)), (1, 1));
        assert_eq!(ps.receivers(Space::Shard, b"a"), vec![(1, None)], "patterns never see shard messages");
        assert_eq!(ps.receivers(G, b"a").len(), 2);
        assert!(ps.unsubscribe(G, 1, b"a"));
        assert!(ps.is_subscribed(1), "still subscribed to a shard channel");
        assert_eq!(ps.active_channels(Space::Shard, None), vec![&b("a")]);
        ps.remove_client(1);
        assert!(!ps.is_subscribed(1));
        assert_eq!(ps.numsub(Space::Shard, b"a"), 0);
    }

    #[test]
    fn subscribe_and_unsubscribe_keep_both_sides_in_step() {
        let mut ps = PubSub::new();
        assert!(ps.is_empty());
        assert!(ps.subscribe(G, 1, b"a"));
        assert!(!ps.subscribe(G, 1, b"a"), "a second subscription to the same channel is a no-op");
        assert!(ps.subscribe(G, 2, b"a"));
        assert!(ps.subscribe(G, 1, b"b"));
        assert_eq!(ps.counts(1), (2, 0));
        assert_eq!(ps.numsub(G, b"a"), 2);
        assert_eq!(ps.channel_count(), 2);
        assert!(ps.is_subscribed(1) && ps.is_subscribed(2) && !ps.is_subscribed(3));

        assert!(ps.unsubscribe(G, 1, b"a"));
        assert!(!ps.unsubscribe(G, 1, b"a"));
        assert!(!ps.unsubscribe(G, 3, b"a"), "a client that never subscribed");
        assert_eq!(ps.numsub(G, b"a"), 1);
        assert!(ps.unsubscribe(G, 2, b"a"));
        assert_eq!(ps.numsub(G, b"a"), 0);
        assert_eq!(ps.channel_count(), 1, "a channel leaves with its last subscriber");
        assert!(!ps.is_subscribed(2), "a client leaves subscribed mode with its last subscription");
        assert!(ps.unsubscribe(G, 1, b"b"));
        assert!(ps.is_empty());
    }

    #[test]
    fn patterns_are_counted_once_however_many_subscribers() {
        let mut ps = PubSub::new();
        assert!(ps.psubscribe(1, b"news.*"));
        assert!(!ps.psubscribe(1, b"news.*"));
        assert!(ps.psubscribe(2, b"news.*"));
        assert!(ps.psubscribe(2, b"h?llo"));
        assert_eq!(ps.pattern_count(), 2);
        assert_eq!(ps.counts(2), (0, 2));
        assert!(ps.punsubscribe(1, b"news.*"));
        assert!(!ps.punsubscribe(1, b"news.*"));
        assert_eq!(ps.pattern_count(), 2);
        assert!(ps.punsubscribe(2, b"news.*"));
        assert_eq!(ps.pattern_count(), 1);
        assert_eq!(ps.patterns_of(2), vec![b("h?llo")]);
    }

    #[test]
    fn subscriptions_list_in_subscription_order() {
        let mut ps = PubSub::new();
        for ch in ["zeta", "alpha", "mid", "b"] {
            ps.subscribe(G, 7, ch.as_bytes());
        }
        ps.psubscribe(7, b"p2");
        ps.psubscribe(7, b"p1");
        assert_eq!(ps.channels_of(G, 7), vec![b("zeta"), b("alpha"), b("mid"), b("b")]);
        assert_eq!(ps.patterns_of(7), vec![b("p2"), b("p1")]);
        assert!(ps.channels_of(G, 8).is_empty());
    }

    #[test]
    fn receivers_are_channel_subscribers_then_patterns_in_order() {
        let mut ps = PubSub::new();
        ps.subscribe(G, 3, b"news.tech");
        ps.subscribe(G, 1, b"news.tech");
        ps.psubscribe(1, b"news.*");
        ps.psubscribe(2, b"*.tech");
        ps.psubscribe(2, b"sport.*");
        ps.psubscribe(4, b"news.*");
        let got: Vec<(usize, Option<&[u8]>)> =
            ps.receivers(G, b"news.tech").into_iter().map(|(c, p)| (c, p.map(|p| &p[..]))).collect();
        assert_eq!(
            got,
            vec![(3, None), (1, None), (1, Some(&b"news.*"[..])), (4, Some(&b"news.*"[..])), (2, Some(&b"*.tech"[..]))]
        );
        assert!(ps.receivers(G, b"weather").is_empty());
    }

    #[test]
    fn remove_client_forgets_everything_it_held() {
        let mut ps = PubSub::new();
        ps.subscribe(G, 1, b"a");
        ps.subscribe(G, 1, b"b");
        ps.subscribe(G, 2, b"b");
        ps.psubscribe(1, b"*");
        ps.remove_client(1);
        assert_eq!(ps.counts(1), (0, 0));
        assert_eq!(ps.channel_count(), 1);
        assert_eq!(ps.numsub(G, b"b"), 1);
        assert_eq!(ps.pattern_count(), 0);
        assert_eq!(ps.receivers(G, b"a").len(), 0);
        ps.remove_client(2);
        assert!(ps.is_empty());
        ps.remove_client(99);
    }

    #[test]
    fn active_channels_filter_by_glob() {
        let mut ps = PubSub::new();
        for ch in ["foo", "bar", "baz", ""] {
            ps.subscribe(G, 1, ch.as_bytes());
        }
        let mut all: Vec<&[u8]> = ps.active_channels(G, None).into_iter().map(|c| &c[..]).collect();
        all.sort();
        assert_eq!(all, vec![&b""[..], b"bar", b"baz", b"foo"]);
        let mut some: Vec<&[u8]> = ps.active_channels(G, Some(b"b*")).into_iter().map(|c| &c[..]).collect();
        some.sort();
        assert_eq!(some, vec![&b"bar"[..], b"baz"]);
        // Redis's matcher never matches the empty string with `*`.
        assert_eq!(ps.active_channels(G, Some(b"*")).len(), 3);
    }

    #[test]
    fn channels_are_binary_safe() {
        let mut ps = PubSub::new();
        ps.subscribe(G, 1, b"a\x00b\xff");
        assert_eq!(ps.numsub(G, b"a\x00b\xff"), 1);
        assert_eq!(ps.numsub(G, b"a"), 0);
    }

    // ---- the commands, through the engine ----

    struct T {
        e: Engine,
        clock: ManualClock,
    }

    impl T {
        fn new() -> T {
            let clock = ManualClock::new(T0);
            let e = Engine::new(Config::new(), Arc::new(clock.clone()));
            T { e, clock }
        }

        fn client(&mut self) -> usize {
            self.e.add_client(0)
        }

        fn call(&mut self, c: usize, args: &[&str]) -> String {
            let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            String::from_utf8(self.e.call(c, &argv)).expect("utf-8 reply")
        }

        /// What other clients were sent, as (client, text), draining the effects.
        fn sent(&mut self) -> Vec<(usize, String)> {
            std::mem::take(&mut self.e.effects)
                .into_iter()
                .filter_map(|e| match e {
                    Effect::Send { client, bytes } => Some((client, String::from_utf8(bytes.to_vec()).unwrap())),
                    _ => None,
                })
                .collect()
        }
    }

    #[test]
    fn subscribe_confirms_each_channel_with_the_running_count() {
        let mut t = T::new();
        let c = t.client();
        assert_eq!(
            t.call(c, &["SUBSCRIBE", "a", "b", "a"]),
            "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n\
             *3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n\
             *3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n"
        );
        // Patterns count towards the same total.
        assert_eq!(t.call(c, &["PSUBSCRIBE", "x*"]), "*3\r\n$10\r\npsubscribe\r\n$2\r\nx*\r\n:3\r\n");
        assert_eq!(t.call(c, &["SUBSCRIBE"]), "-ERR wrong number of arguments for 'subscribe' command\r\n");
        assert_eq!(t.call(c, &["PSUBSCRIBE"]), "-ERR wrong number of arguments for 'psubscribe' command\r\n");
    }

    #[test]
    fn the_first_subscription_and_the_last_unsubscription_signal_the_io_layer() {
        let mut t = T::new();
        let c = t.client();
        t.call(c, &["SUBSCRIBE", "a"]);
        assert!(matches!(t.e.effects[..], [Effect::PubSubMode { client, subscribed: true }] if client == c));
        t.e.effects.clear();
        t.call(c, &["PSUBSCRIBE", "p"]);
        t.call(c, &["UNSUBSCRIBE"]);
        assert!(t.e.effects.is_empty(), "still subscribed to a pattern");
        t.call(c, &["PUNSUBSCRIBE"]);
        assert!(matches!(t.e.effects[..], [Effect::PubSubMode { client, subscribed: false }] if client == c));
    }

    #[test]
    fn unsubscribe_without_arguments_leaves_every_channel_in_order() {
        let mut t = T::new();
        let c = t.client();
        t.call(c, &["SUBSCRIBE", "b", "a"]);
        t.call(c, &["PSUBSCRIBE", "p"]);
        assert_eq!(
            t.call(c, &["UNSUBSCRIBE"]),
            "*3\r\n$11\r\nunsubscribe\r\n$1\r\nb\r\n:2\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n"
        );
        assert_eq!(t.call(c, &["UNSUBSCRIBE"]), "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:1\r\n");
        assert_eq!(t.call(c, &["PUNSUBSCRIBE"]), "*3\r\n$12\r\npunsubscribe\r\n$1\r\np\r\n:0\r\n");
        assert_eq!(t.call(c, &["PUNSUBSCRIBE"]), "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
        // Naming a channel never subscribed to still confirms it.
        assert_eq!(t.call(c, &["UNSUBSCRIBE", "zz"]), "*3\r\n$11\r\nunsubscribe\r\n$2\r\nzz\r\n:0\r\n");
        assert_eq!(
            t.call(c, &["PUNSUBSCRIBE", "q", "r"]),
            "*3\r\n$12\r\npunsubscribe\r\n$1\r\nq\r\n:0\r\n*3\r\n$12\r\npunsubscribe\r\n$1\r\nr\r\n:0\r\n"
        );
    }

    #[test]
    fn resp3_confirmations_are_push_frames_and_nil_is_null() {
        let mut t = T::new();
        let c = t.client();
        t.e.clients[c].resp = Resp::V3;
        assert_eq!(t.call(c, &["SUBSCRIBE", "a"]), ">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(t.call(c, &["UNSUBSCRIBE", "a"]), ">3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n");
        assert_eq!(t.call(c, &["UNSUBSCRIBE"]), ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
    }

    #[test]
    fn publish_reaches_channel_and_pattern_subscribers_in_their_protocol() {
        let mut t = T::new();
        let (s2, s3, p, publisher) = (t.client(), t.client(), t.client(), t.client());
        t.e.clients[s3].resp = Resp::V3;
        t.call(s2, &["SUBSCRIBE", "news"]);
        t.call(s3, &["SUBSCRIBE", "news"]);
        t.call(p, &["PSUBSCRIBE", "n*", "*s"]);
        t.e.effects.clear();
        assert_eq!(t.call(publisher, &["PUBLISH", "news", "hi"]), ":4\r\n");
        assert_eq!(
            t.sent(),
            vec![
                (s2, "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n".to_string()),
                (s3, ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n".to_string()),
                (p, "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n".to_string()),
                (p, "*4\r\n$8\r\npmessage\r\n$2\r\n*s\r\n$4\r\nnews\r\n$2\r\nhi\r\n".to_string()),
            ]
        );
        assert_eq!(t.call(publisher, &["PUBLISH", "other", "x"]), ":0\r\n");
        assert!(t.sent().is_empty());
        assert_eq!(t.call(publisher, &["PUBLISH", "news"]), "-ERR wrong number of arguments for 'publish' command\r\n");
    }

    #[test]
    fn publishing_to_yourself_puts_the_message_before_the_reply() {
        let mut t = T::new();
        let c = t.client();
        t.e.clients[c].resp = Resp::V3;
        t.call(c, &["SUBSCRIBE", "me"]);
        t.e.effects.clear();
        assert_eq!(t.call(c, &["PUBLISH", "me", "x"]), ">3\r\n$7\r\nmessage\r\n$2\r\nme\r\n$1\r\nx\r\n:1\r\n");
        assert!(t.sent().is_empty());
    }

    #[test]
    fn resp2_subscribed_mode_allows_only_the_subscription_commands() {
        let mut t = T::new();
        let c = t.client();
        t.call(c, &["SUBSCRIBE", "a"]);
        assert_eq!(
            t.call(c, &["GET", "k"]),
            "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
        );
        assert_eq!(
            t.call(c, &["CLIENT", "ID"]),
            "-ERR Can't execute 'client|id': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
        );
        assert_eq!(
            t.call(c, &["PUBLISH", "a", "b"]),
            "-ERR Can't execute 'publish': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
        );
        // Unknown commands and arity errors are reported first, as in Redis.
        assert_eq!(t.call(c, &["NOPE"]), "-ERR unknown command 'NOPE', with args beginning with: \r\n");
        assert_eq!(t.call(c, &["GET"]), "-ERR wrong number of arguments for 'get' command\r\n");
        assert_eq!(t.call(c, &["PING"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        assert_eq!(t.call(c, &["PSUBSCRIBE", "x"]), "*3\r\n$10\r\npsubscribe\r\n$1\r\nx\r\n:2\r\n");
        t.call(c, &["UNSUBSCRIBE"]);
        t.call(c, &["PUNSUBSCRIBE"]);
        assert_eq!(t.call(c, &["GET", "k"]), "$-1\r\n", "out of subscribed mode again");
    }

    #[test]
    fn resp3_clients_may_run_anything_while_subscribed() {
        let mut t = T::new();
        let c = t.client();
        t.e.clients[c].resp = Resp::V3;
        t.call(c, &["SUBSCRIBE", "a"]);
        assert_eq!(t.call(c, &["SET", "k", "v"]), "+OK\r\n");
        assert_eq!(t.call(c, &["PING"]), "+PONG\r\n");
    }

    #[test]
    fn pubsub_introspection() {
        let mut t = T::new();
        let (a, b2, q) = (t.client(), t.client(), t.client());
        t.call(a, &["SUBSCRIBE", "news", "sport"]);
        t.call(b2, &["SUBSCRIBE", "news"]);
        t.call(b2, &["PSUBSCRIBE", "n*", "n*"]);
        t.call(a, &["PSUBSCRIBE", "n*"]);
        assert_eq!(
            t.call(q, &["PUBSUB", "NUMSUB", "news", "sport", "none"]),
            "*6\r\n$4\r\nnews\r\n:2\r\n$5\r\nsport\r\n:1\r\n$4\r\nnone\r\n:0\r\n"
        );
        assert_eq!(t.call(q, &["PUBSUB", "NUMSUB"]), "*0\r\n");
        assert_eq!(t.call(q, &["PUBSUB", "NUMPAT"]), ":1\r\n");
        assert_eq!(t.call(q, &["PUBSUB", "CHANNELS", "s*"]), "*1\r\n$5\r\nsport\r\n");
        let all = t.call(q, &["PUBSUB", "CHANNELS"]);
        assert!(all.starts_with("*2\r\n") && all.contains("$4\r\nnews\r\n") && all.contains("$5\r\nsport\r\n"));
        assert_eq!(
            t.call(q, &["PUBSUB", "CHANNELS", "a", "b"]),
            "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n"
        );
        assert_eq!(
            t.call(q, &["PUBSUB", "NUMPAT", "x"]),
            "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n"
        );
        assert_eq!(t.call(q, &["PUBSUB", "NOPE"]), "-ERR unknown subcommand 'NOPE'. Try PUBSUB HELP.\r\n");
        assert_eq!(t.call(q, &["PUBSUB"]), "-ERR wrong number of arguments for 'pubsub' command\r\n");
        assert_eq!(t.call(q, &["PUBSUB", "SHARDCHANNELS"]), "*0\r\n");
        assert_eq!(t.call(q, &["PUBSUB", "SHARDNUMSUB", "x"]), "*2\r\n$1\r\nx\r\n:0\r\n");
        // The INFO counters and CLIENT LIST read the same registry.
        assert_eq!((t.e.pubsub_channel_count(), t.e.pubsub_pattern_count()), (2, 1));
        assert_eq!(t.e.subscription_counts(a), (2, 1));
        t.e.remove_client(a);
        t.e.remove_client(b2);
        assert_eq!(t.call(q, &["PUBSUB", "NUMSUB", "news"]), "*2\r\n$4\r\nnews\r\n:0\r\n");
        assert_eq!(t.call(q, &["PUBSUB", "NUMPAT"]), ":0\r\n");
    }

    #[test]
    fn pubsub_help_matches_redis_7_0() {
        let mut t = T::new();
        let c = t.client();
        let help = t.call(c, &["PUBSUB", "HELP"]);
        assert!(help.starts_with("*14\r\n+PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"));
        assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"));
    }

    fn set_events(t: &mut T, c: usize, flags: &str) {
        assert_eq!(t.call(c, &["CONFIG", "SET", "notify-keyspace-events", flags]), "+OK\r\n");
    }

    #[test]
    fn keyspace_events_follow_the_k_e_and_class_flags() {
        let mut t = T::new();
        let (sub, w) = (t.client(), t.client());
        t.call(sub, &["PSUBSCRIBE", "__key*__:*"]);
        t.e.effects.clear();
        // Off by default: nothing is published.
        t.call(w, &["SET", "k", "v"]);
        assert!(t.sent().is_empty());

        set_events(&mut t, w, "KEA");
        t.call(w, &["SET", "k", "v"]);
        assert_eq!(
            t.sent(),
            vec![
                (sub, "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$16\r\n__keyspace@0__:k\r\n$3\r\nset\r\n".into()),
                (sub, "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyevent@0__:set\r\n$1\r\nk\r\n".into()),
            ]
        );

        // Only K, only generic: a string command is filtered out, DEL is not.
        set_events(&mut t, w, "Kg");
        t.call(w, &["SET", "k", "v"]);
        assert!(t.sent().is_empty());
        t.call(w, &["SELECT", "3"]);
        t.call(w, &["SET", "k3", "v"]);
        t.call(w, &["DEL", "k3"]);
        assert_eq!(
            t.sent(),
            vec![(
                sub,
                "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$17\r\n__keyspace@3__:k3\r\n$3\r\ndel\r\n".into()
            )]
        );

        // A class without K or E publishes nothing.
        set_events(&mut t, w, "A");
        t.call(w, &["DEL", "k"]);
        t.call(w, &["SET", "k", "v"]);
        assert!(t.sent().is_empty());
    }

    #[test]
    fn expired_events_come_from_expiry() {
        let mut t = T::new();
        let (sub, w) = (t.client(), t.client());
        set_events(&mut t, w, "Ex");
        t.call(sub, &["SUBSCRIBE", "__keyevent@0__:expired"]);
        t.e.effects.clear();
        t.call(w, &["SET", "k", "v", "PX", "100"]);
        assert!(t.sent().is_empty());
        t.clock.advance_ms(200);
        assert_eq!(t.call(w, &["GET", "k"]), "$-1\r\n");
        assert_eq!(t.sent(), vec![(sub, "*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:expired\r\n$1\r\nk\r\n".into())]);
    }

    #[test]
    fn a_resp3_writer_sees_its_own_events_before_its_reply() {
        let mut t = T::new();
        let c = t.client();
        t.e.clients[c].resp = Resp::V3;
        set_events(&mut t, c, "K$");
        t.call(c, &["SUBSCRIBE", "__keyspace@0__:k"]);
        assert_eq!(
            t.call(c, &["SET", "k", "v"]),
            ">3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:k\r\n$3\r\nset\r\n+OK\r\n"
        );
    }
}
