//! The `plexus server` protocol: the KV server and the RPC server on one reactor thread.
//!
//! ```text
//!  KV port  --accept--> Sniffing --first byte 0x89 ("\x89PLX" preface)--> Rpc --> RpcServer::on_*
//!                               \--anything else (RESP `*`, inline text)--> Kv(client) --> KvServer::on_*
//!  RPC port --accept--> Rpc (no sniffing needed)
//! ```
//!
//! One connection speaks one protocol for its whole life. Without RPC there is nothing to sniff, and a connection
//! is a RESP client from `accept` on (so `maxclients` refuses it at once, as Redis does); with RPC on, a sniffed
//! connection is counted against `maxclients` when its first byte arrives. Telling them apart costs one byte: a RESP request starts
//! with `*` or a printable inline command, while an RPC connection starts with the preface byte `0x89`, which is
//! not ASCII (`docs/rpc-protocol.md`, section 2). So the KV port also accepts RPC clients, and `--rpc-port` gives
//! RPC a port of its own.

use bytes::BytesMut;

use crate::kv::server::{KvHost, KvServer, KvTimer};
use crate::reactor::{CloseReason, ConnId, Core, ListenerId, Protocol};
use crate::rpc::frame::PREFACE;
use crate::rpc::{RpcServer, ServerEvent, ServerHost, ServerTimer};

/// What a connection turned out to speak.
#[derive(Debug)]
pub enum Session {
    /// Accepted on the KV port; its first byte will decide.
    Sniffing,
    /// A RESP client: the KV engine's client key.
    Kv(usize),
    /// An RPC connection: its state lives in the [`RpcServer`], keyed by connection id.
    Rpc,
}

/// Timers of both servers.
#[derive(Debug)]
pub enum Timer {
    Kv(KvTimer),
    Rpc(ServerTimer),
}

/// The KV server, optionally with the RPC server beside it.
pub struct PlexusServer {
    pub kv: KvServer,
    pub rpc: Option<RpcServer>,
    /// The listener dedicated to RPC (`--rpc-port`), if any.
    pub rpc_listener: Option<ListenerId>,
}

impl PlexusServer {
    pub fn new(kv: KvServer, rpc: Option<RpcServer>) -> Self {
        PlexusServer { kv, rpc, rpc_listener: None }
    }

    fn session(cx: &Core<Self>, id: ConnId) -> Option<&Session> {
        cx.conn(id).map(|c| &c.session)
    }

    /// Decides a sniffing connection's protocol from its first byte.
    fn identify(&mut self, cx: &mut Core<Self>, id: ConnId, first: u8) {
        let session =
            if first == PREFACE[0] && self.rpc.is_some() { Session::Rpc } else { Session::Kv(self.kv.on_accept()) };
        let is_kv = matches!(session, Session::Kv(_));
        if let Some(conn) = cx.conn_mut(id) {
            conn.session = session;
        }
        if is_kv {
            self.kv.on_opened(cx, id);
        } else if let Some(rpc) = self.rpc.as_mut() {
            rpc.on_opened(cx, id);
        }
    }
}

impl KvHost for PlexusServer {
    fn kv_timer(timer: KvTimer) -> Timer {
        Timer::Kv(timer)
    }

    fn kv_client(session: &Session) -> Option<usize> {
        match session {
            Session::Kv(key) => Some(*key),
            _ => None,
        }
    }
}

impl ServerHost for PlexusServer {
    fn rpc_timer(timer: ServerTimer) -> Timer {
        Timer::Rpc(timer)
    }

    fn rpc_event(event: ServerEvent) -> ServerEvent {
        event
    }
}

impl Protocol for PlexusServer {
    type Session = Session;
    type Timer = Timer;
    type Message = ServerEvent;

    fn started(&mut self, cx: &mut Core<Self>) {
        self.kv.on_started(cx);
    }

    fn accept(&mut self, listener: ListenerId) -> Session {
        if Some(listener) == self.rpc_listener {
            Session::Rpc
        } else if self.rpc.is_none() {
            // Nothing to tell apart: a RESP client from the start, so `maxclients` applies at accept as in Redis.
            Session::Kv(self.kv.on_accept())
        } else {
            Session::Sniffing
        }
    }

    fn opened(&mut self, cx: &mut Core<Self>, id: ConnId) {
        match Self::session(cx, id) {
            Some(Session::Rpc) => {
                if let Some(rpc) = self.rpc.as_mut() {
                    rpc.on_opened(cx, id);
                }
            }
            Some(Session::Kv(_)) => self.kv.on_opened(cx, id),
            _ => {}
        }
    }

    fn data(&mut self, cx: &mut Core<Self>, id: ConnId, input: &mut BytesMut) {
        if matches!(Self::session(cx, id), Some(Session::Sniffing)) {
            let Some(&first) = input.first() else {
                return;
            };
            self.identify(cx, id, first);
        }
        match Self::session(cx, id) {
            Some(Session::Kv(_)) => self.kv.on_data(cx, id, input),
            Some(Session::Rpc) => {
                if let Some(rpc) = self.rpc.as_mut() {
                    rpc.on_data(cx, id, input);
                }
            }
            _ => {}
        }
    }

    fn timer(&mut self, cx: &mut Core<Self>, timer: Timer) {
        match timer {
            Timer::Kv(t) => self.kv.on_timer(cx, t),
            Timer::Rpc(t) => {
                if let Some(rpc) = self.rpc.as_mut() {
                    rpc.on_timer(cx, t);
                }
            }
        }
    }

    fn message(&mut self, cx: &mut Core<Self>, event: ServerEvent) {
        if let Some(rpc) = self.rpc.as_mut() {
            rpc.on_event(cx, event);
        }
    }

    fn closed(&mut self, cx: &mut Core<Self>, id: ConnId, session: Session, _reason: CloseReason) {
        match session {
            Session::Kv(key) => self.kv.on_closed(cx, key),
            Session::Rpc => {
                if let Some(rpc) = self.rpc.as_mut() {
                    rpc.on_closed(cx, id);
                }
            }
            Session::Sniffing => {}
        }
    }

    fn shutdown(&mut self, cx: &mut Core<Self>) {
        // RPC connections drain (GOAWAY, in-flight calls finish); everything else closes once flushed.
        if let Some(rpc) = self.rpc.as_mut() {
            rpc.on_shutdown(cx);
        }
        let others: Vec<ConnId> =
            cx.iter().filter(|(_, c)| !matches!(c.session, Session::Rpc)).map(|(id, _)| id).collect();
        for id in others {
            cx.close_after_flush(id);
        }
    }
}
