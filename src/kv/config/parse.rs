//! The value syntax Redis 7.0 accepts in `CONFIG SET` and redis.conf, as small pure functions.
//!
//! Each function here mirrors one C helper whose quirks clients can observe: `string2ll` (strict integers),
//! `memtoull` (memory units), `strtoll` as config.c uses it (lenient integers for `save` and
//! `client-output-buffer-limit`), `sdssplitargs` (the quote-aware line splitter of redis.conf) and
//! `sdssplitlen(" ")` (how `CONFIG SET` splits the value of a multi-argument parameter). Everything works on
//! bytes: a config value is whatever the client sent.

/// Redis's `memtoull` copies the digits into a 128-byte buffer and gives up on longer numbers.
const MAX_MEMORY_DIGITS: usize = 127;

/// `isspace()` in the C locale: what `sdssplitargs` skips between arguments and `strtoll` before a number.
pub(crate) fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `string2ll`: the strict integer syntax of `CONFIG SET maxclients 10` (no spaces, no `+`, no leading zeros, no
/// `-0`, no overflow) is the one the command layer uses, so it is the same function.
pub(crate) use crate::kv::num::parse_i64 as string2ll;

/// `memtoull`: a memory amount such as `100`, `100b`, `1k` (1000), `1kb` (1024), `5m`, `5mb`, `1g`, `1GB`.
/// Units are case-insensitive; a leading `-` is refused.
///
/// Two details match 7.0 on purpose: an empty digit string counts as 0 (`"kb"` parses as 0, because
/// `strtoull("")` does not fail), and only ASCII digits are allowed before the unit. One differs: 7.0 silently
/// wraps on overflow (`20000000000gb`); we refuse it, as Redis 7.2 does.
pub(crate) fn memtoull(s: &[u8]) -> Option<u64> {
    if s.first() == Some(&b'-') {
        return None;
    }
    let digits_end = s.iter().position(|c| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(digits_end);
    let multiplier: u64 = match unit.to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits.len() > MAX_MEMORY_DIGITS {
        return None;
    }
    let mut value: u64 = 0;
    for &c in digits {
        value = value.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    value.checked_mul(multiplier)
}

/// What C's `strtoll(s, &end, radix)` reports, for the callers that check `*end == '\0'` themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Strtoll {
    /// The value, clamped to `i64::MIN..=i64::MAX` on overflow as `strtoll` does.
    pub value: i64,
    /// Whether the whole input was consumed (`*end == '\0'`).
    pub consumed_all: bool,
    /// Whether `errno` would be `ERANGE`.
    pub overflow: bool,
}

/// C's `strtoll`: optional leading whitespace, an optional sign, then digits of `radix`. With no digits at
/// all nothing is consumed, so only the empty string counts as fully consumed (value 0), which is how
/// `CONFIG SET client-output-buffer-limit "normal 0 0 "`-style inputs get through in Redis too.
pub(crate) fn strtoll(s: &[u8], radix: u32) -> Strtoll {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits_start = i;
    let mut magnitude: u128 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).and_then(|&c| char::from(c).to_digit(radix)) {
        magnitude = magnitude * u128::from(radix) + u128::from(d);
        if magnitude > u128::from(u64::MAX) {
            // Keep scanning digits, but stop growing: the result is clamped anyway.
            magnitude = u128::from(u64::MAX);
            overflow = true;
        }
        i += 1;
    }
    if i == digits_start {
        // No conversion: `end` points at the start of the input.
        return Strtoll { value: 0, consumed_all: s.is_empty(), overflow: false };
    }
    let value = if negative {
        let limit = u128::from(i64::MAX.unsigned_abs()) + 1;
        if magnitude > limit {
            overflow = true;
            i64::MIN
        } else {
            i64::try_from(-(magnitude as i128)).unwrap_or(i64::MIN)
        }
    } else {
        match i64::try_from(magnitude) {
            Ok(v) => v,
            Err(_) => {
                overflow = true;
                i64::MAX
            }
        }
    };
    Strtoll { value, consumed_all: i == s.len(), overflow }
}

/// `string2d`: a floating-point number as `strtod` reads it, refusing empty input, leading whitespace, NaN
/// and out-of-range values. Simplification: C's hexadecimal floats (`0x1p3`) are not accepted.
pub(crate) fn string2d(s: &[u8]) -> Option<f64> {
    if s.is_empty() || is_c_space(s[0]) {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let value: f64 = text.parse().ok()?;
    if value.is_nan() {
        return None;
    }
    // strtod reports ERANGE for finite text that overflows; "inf" itself is a legal spelling.
    if value.is_infinite() && !text.trim_start_matches(['+', '-']).to_ascii_lowercase().starts_with("inf") {
        return None;
    }
    Some(value)
}

/// How Redis prints a percentile: `%f` (six decimals), then trailing zeros and a trailing dot removed
/// (`trimDoubleString`), so 99.9 prints as `99.9` and 50 as `50`.
pub(crate) fn format_trimmed_double(value: f64) -> String {
    let mut text = format!("{value:.6}");
    if text.contains('.') {
        while text.ends_with('0') {
            text.pop();
        }
        if text.ends_with('.') {
            text.pop();
        }
    }
    text
}

/// `sdssplitlen(value, " ")`: how `CONFIG SET` splits the value of a multi-argument parameter. Every single
/// space separates, so `"a  b"` gives `a`, ``, `b`; the empty string gives no arguments at all.
pub(crate) fn split_spaces(value: &[u8]) -> Vec<&[u8]> {
    if value.is_empty() {
        return Vec::new();
    }
    value.split(|&c| c == b' ').collect()
}

/// `sdssplitargs`: split one redis.conf line into arguments. Returns `None` on unbalanced quotes, or when a
/// closing quote is followed by something other than a space.
///
/// Inside double quotes `\n \r \t \b \a \\ \"` and `\xHH` are escapes (any other `\c` is `c`); inside single
/// quotes only `\'` is. A quote can start in the middle of a token (`foo"bar baz"` is one argument), as in C.
/// The line is read as a C string: anything after a NUL byte is ignored.
pub(crate) fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let line = match line.iter().position(|&c| c == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    crate::kv::resp::split_args(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_is_strict() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-2"), Some(-2));
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b""[..], b"9223372036854775808", b"+1", b" 1", b"01", b"-0", b"1k", b"-", b"1.5"] {
            assert_eq!(string2ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn memtoull_units() {
        assert_eq!(memtoull(b"100"), Some(100));
        assert_eq!(memtoull(b"100b"), Some(100));
        assert_eq!(memtoull(b"1k"), Some(1000));
        assert_eq!(memtoull(b"1kb"), Some(1024));
        assert_eq!(memtoull(b"100mb"), Some(100 << 20));
        assert_eq!(memtoull(b"512MB"), Some(512 << 20));
        assert_eq!(memtoull(b"1gb"), Some(1 << 30));
        assert_eq!(memtoull(b"1GB"), Some(1 << 30));
        assert_eq!(memtoull(b"1Gb"), Some(1 << 30));
        assert_eq!(memtoull(b"2g"), Some(2_000_000_000));
        assert_eq!(memtoull(b"kb"), Some(0), "7.0 reads missing digits as 0");
        assert_eq!(memtoull(b"-1"), None);
        assert_eq!(memtoull(b"1tb"), None);
        assert_eq!(memtoull(b"1 gb"), None);
        assert_eq!(memtoull(b"20000000000gb"), None);
    }

    #[test]
    fn strtoll_like_c() {
        assert_eq!(strtoll(b"60", 10), Strtoll { value: 60, consumed_all: true, overflow: false });
        assert_eq!(strtoll(b" -5", 10), Strtoll { value: -5, consumed_all: true, overflow: false });
        assert_eq!(strtoll(b"", 10), Strtoll { value: 0, consumed_all: true, overflow: false });
        assert!(!strtoll(b"+", 10).consumed_all);
        assert!(!strtoll(b"5x", 10).consumed_all);
        assert_eq!(strtoll(b"777", 8).value, 0o777);
        assert!(!strtoll(b"8", 8).consumed_all);
        let big = strtoll(b"99999999999999999999", 10);
        assert_eq!((big.value, big.overflow), (i64::MAX, true));
    }

    #[test]
    fn doubles_print_like_redis() {
        assert_eq!(format_trimmed_double(50.0), "50");
        assert_eq!(format_trimmed_double(99.9), "99.9");
        assert_eq!(format_trimmed_double(0.0001), "0.0001");
        assert_eq!(string2d(b"99.9"), Some(99.9));
        assert_eq!(string2d(b" 1"), None);
        assert_eq!(string2d(b"nan"), None);
        assert_eq!(string2d(b"abc"), None);
    }

    #[test]
    fn split_args_quotes_and_escapes() {
        let args = |s: &str| {
            split_args(s.as_bytes()).map(|v| v.into_iter().map(|a| String::from_utf8(a).unwrap()).collect::<Vec<_>>())
        };
        assert_eq!(args("save 900 1").unwrap(), ["save", "900", "1"]);
        assert_eq!(args("  logfile \"\"  ").unwrap(), ["logfile", ""]);
        assert_eq!(args(r#"requirepass "a b\n\t\x41\"\\""#).unwrap(), ["requirepass", "a b\n\tA\"\\"]);
        assert_eq!(args(r"x 'it\'s here'").unwrap(), ["x", "it's here"]);
        assert_eq!(args(r#"x foo"bar baz""#).unwrap(), ["x", "foobar baz"]);
        assert_eq!(args(r#"x "\q""#).unwrap(), ["x", "q"]);
        assert_eq!(args("").unwrap(), Vec::<String>::new());
        assert_eq!(args("x \"open"), None);
        assert_eq!(args("x 'open"), None);
        assert_eq!(args("x \"a\"b"), None, "closing quote must be followed by a space");
        assert_eq!(split_args(b"a\0b c").unwrap(), vec![b"a".to_vec()]);
    }

    #[test]
    fn split_spaces_like_sdssplitlen() {
        assert!(split_spaces(b"").is_empty());
        assert_eq!(split_spaces(b"a  b"), vec![&b"a"[..], b"", b"b"]);
    }
}
