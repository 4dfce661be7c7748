//! What the load generator sends and how it reads the answers: key choice (uniform or Zipfian), request encoding,
//! and a reply scanner that finds where one complete RESP reply ends.
//!
//! ```text
//!  KeyGen::next --> key index --> encode_get / encode_set (RESP array, appended to the connection's output)
//!  input bytes --reply_len--> (length of one complete reply, was it an error) --> latency recorded
//! ```
//!
//! Keys are `key:` plus a 12-digit zero-padded index (16 bytes), as `redis-benchmark -r` names them, so results
//! can be held against `redis-benchmark` figures.

use std::str::FromStr;

use bytes::BytesMut;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The Zipfian skew YCSB uses: the most popular key gets about 1/ln(N) of all requests at this theta.
pub const ZIPF_THETA: f64 = 0.99;

/// Digits of the key index: 10^12 keys is more than any run can touch.
const KEY_DIGITS: usize = 12;

/// Which commands a run sends.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    Get,
    Set,
    /// GETs with probability `ratio`, SETs otherwise.
    Mixed {
        ratio: f64,
    },
    Ping,
}

impl Workload {
    /// Short name for tables, file names and JSON: `get`, `set`, `mixed0.9`, `ping`.
    pub fn name(&self) -> String {
        match self {
            Workload::Get => "get".into(),
            Workload::Set => "set".into(),
            Workload::Mixed { ratio } => format!("mixed{ratio}"),
            Workload::Ping => "ping".into(),
        }
    }
}

/// How keys are drawn from the keyspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyDist {
    Uniform,
    Zipfian,
}

impl FromStr for KeyDist {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "uniform" => Ok(KeyDist::Uniform),
            "zipfian" => Ok(KeyDist::Zipfian),
            _ => Err(format!("unknown key distribution '{s}' (uniform or zipfian)")),
        }
    }
}

/// Draws key indexes in `0..keyspace`.
#[derive(Debug)]
pub struct KeyGen {
    keyspace: u64,
    rng: SmallRng,
    zipf: Option<Zipf>,
}

/// Gray et al.'s rejection-free Zipfian generator ("Quickly generating billion-record synthetic databases",
/// SIGMOD 1994), as YCSB uses it. Rank 0 is the most popular key.
#[derive(Debug)]
struct Zipf {
    n: f64,
    theta: f64,
    zetan: f64,
    alpha: f64,
    eta: f64,
}

impl Zipf {
    /// O(n) once, for the normalising constant zeta(n): about 10 ms for a million keys.
    fn new(n: u64, theta: f64) -> Zipf {
        let zeta = |k: u64| (1..=k).map(|i| 1.0 / (i as f64).powf(theta)).sum::<f64>();
        let zetan = zeta(n);
        let zeta2 = zeta(2.min(n));
        let nf = n as f64;
        Zipf {
            n: nf,
            theta,
            zetan,
            alpha: 1.0 / (1.0 - theta),
            eta: (1.0 - (2.0 / nf).powf(1.0 - theta)) / (1.0 - zeta2 / zetan),
        }
    }

    fn sample(&self, u: f64) -> u64 {
        let uz = u * self.zetan;
        if uz < 1.0 {
            return 0;
        }
        if uz < 1.0 + 0.5f64.powf(self.theta) {
            return 1;
        }
        let r = (self.n * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64;
        r.min(self.n as u64 - 1)
    }
}

impl KeyGen {
    /// A generator with a fixed seed, so two runs (and two servers) see the same key sequence.
    pub fn new(keyspace: u64, dist: KeyDist, seed: u64) -> KeyGen {
        let keyspace = keyspace.max(1);
        let zipf = (dist == KeyDist::Zipfian && keyspace > 1).then(|| Zipf::new(keyspace, ZIPF_THETA));
        KeyGen { keyspace, rng: SmallRng::seed_from_u64(seed), zipf }
    }

    pub fn next_key(&mut self) -> u64 {
        match &self.zipf {
            Some(z) => z.sample(self.rng.random::<f64>()),
            None => self.rng.random_range(0..self.keyspace),
        }
    }

    /// A uniform number in [0, 1), for the GET/SET choice of a mixed workload.
    pub fn unit(&mut self) -> f64 {
        self.rng.random::<f64>()
    }
}

/// Appends `key:NNNNNNNNNNNN` as a RESP bulk string.
fn push_key(out: &mut BytesMut, index: u64) {
    let mut digits = [b'0'; KEY_DIGITS];
    let mut n = index;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(b"$16\r\nkey:");
    out.extend_from_slice(&digits);
    out.extend_from_slice(b"\r\n");
}

/// `GET key`.
pub fn encode_get(out: &mut BytesMut, key: u64) {
    out.extend_from_slice(b"*2\r\n$3\r\nGET\r\n");
    push_key(out, key);
}

/// `SET key value`. `value_header` is the precomputed `$<len>\r\n`.
pub fn encode_set(out: &mut BytesMut, key: u64, value_header: &[u8], value: &[u8]) {
    out.extend_from_slice(b"*3\r\n$3\r\nSET\r\n");
    push_key(out, key);
    out.extend_from_slice(value_header);
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// `PING`.
pub fn encode_ping(out: &mut BytesMut) {
    out.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
}

/// The server sent something that is not RESP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadReply;

/// Finds the end of the first complete reply in `buf`: `Ok(Some((len, is_error)))`, `Ok(None)` if more bytes are
/// needed. Rescans a partial reply from its start on the next call; replies here are a few bytes, so that costs
/// nothing (unlike the server's decoder, which must stay linear on a 512 MB bulk).
pub fn reply_len(buf: &[u8]) -> Result<Option<(usize, bool)>, BadReply> {
    let Some(&first) = buf.first() else { return Ok(None) };
    let is_error = first == b'-' || first == b'!';
    let mut pos = 0;
    // Elements still to read: aggregates add their children.
    let mut pending: u64 = 1;
    while pending > 0 {
        let Some(nl) = buf[pos..].iter().position(|&b| b == b'\n') else { return Ok(None) };
        let line_end = pos + nl + 1;
        if nl == 0 || buf[pos + nl - 1] != b'\r' {
            return Err(BadReply);
        }
        let kind = buf[pos];
        let body = &buf[pos + 1..pos + nl - 1];
        let number = || -> Result<i64, BadReply> {
            std::str::from_utf8(body).ok().and_then(|s| s.parse::<i64>().ok()).ok_or(BadReply)
        };
        pending -= 1;
        pos = line_end;
        match kind {
            b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {}
            b'$' | b'=' | b'!' => {
                let n = number()?;
                if n >= 0 {
                    let end = pos + n as usize + 2;
                    if buf.len() < end {
                        return Ok(None);
                    }
                    pos = end;
                }
            }
            b'*' | b'~' | b'>' => pending += number()?.max(0) as u64,
            b'%' => pending += 2 * number()?.max(0) as u64,
            // An attribute map precedes the reply it annotates: read its pairs, then the reply itself.
            b'|' => pending += 2 * number()?.max(0) as u64 + 1,
            _ => return Err(BadReply),
        }
    }
    Ok(Some((pos, is_error)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_well_formed_resp() {
        let mut out = BytesMut::new();
        encode_get(&mut out, 42);
        assert_eq!(&out[..], b"*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000042\r\n");
        out.clear();
        encode_set(&mut out, 7, b"$3\r\n", b"abc");
        assert_eq!(&out[..], b"*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000007\r\n$3\r\nabc\r\n");
    }

    #[test]
    fn reply_len_finds_each_kind_and_waits_for_partial_ones() {
        assert_eq!(reply_len(b"+OK\r\n+PONG"), Ok(Some((5, false))));
        assert_eq!(reply_len(b"-ERR x\r\n"), Ok(Some((8, true))));
        assert_eq!(reply_len(b"$-1\r\n"), Ok(Some((5, false))));
        assert_eq!(reply_len(b"$3\r\nabc\r\n:1\r\n"), Ok(Some((9, false))));
        assert_eq!(reply_len(b"*2\r\n$1\r\na\r\n:5\r\n"), Ok(Some((15, false))));
        assert_eq!(reply_len(b"%1\r\n+a\r\n+b\r\n"), Ok(Some((12, false))));
        let whole = b"*2\r\n$3\r\nabc\r\n$-1\r\n";
        for cut in 0..whole.len() {
            assert_eq!(reply_len(&whole[..cut]), Ok(None), "cut at {cut}");
        }
        assert_eq!(reply_len(b"?what\r\n"), Err(BadReply));
        assert_eq!(reply_len(b"$x\r\n"), Err(BadReply));
    }

    #[test]
    fn zipfian_keys_are_skewed_and_in_range() {
        let mut g = KeyGen::new(1000, KeyDist::Zipfian, 1);
        let mut hits = vec![0u32; 1000];
        for _ in 0..100_000 {
            hits[g.next_key() as usize] += 1;
        }
        // Rank 0 gets about 1/zeta(1000) ~ 13% at theta 0.99; the median key far less than 1%.
        assert!(hits[0] > 10_000, "rank 0 got {}", hits[0]);
        assert!(hits[500] < 200, "rank 500 got {}", hits[500]);
        let mut u = KeyGen::new(1000, KeyDist::Uniform, 1);
        assert!((0..10_000).all(|_| u.next_key() < 1000));
    }
}
