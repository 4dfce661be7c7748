//! Redis's glob-style pattern matcher (`stringmatchlen` in util.c), used by `KEYS`, `SCAN ... MATCH` and
//! `PSUBSCRIBE`.
//!
//! Syntax: `*` matches any run of bytes, `?` one byte, `[abc]` one byte of a class, `[^abc]` one byte outside it,
//! `[a-z]` a range (reversed ranges such as `[z-a]` work too), and `\x` the byte `x` literally, inside or outside a
//! class. Every byte of the string is compared as a byte: patterns and keys are binary.
//!
//! Redis matches by recursion: each `*` tries every split of the rest of the string, which is exponential on
//! patterns such as `a*a*a*a*b`; Redis 7 bounds it with a "skip longer matches" flag and a nesting limit of 1000
//! stars. Here every pattern element other than `*` consumes exactly one byte, so the classic two-pointer walk
//! that remembers only the most recent `*` is exact and runs in O(pattern × string) time with no recursion. The
//! results are Redis's, including its corner cases, which the tests pin down:
//! - an empty string matches only the empty pattern (`*` does not match `""`; `KEYS *` special-cases that);
//! - a pattern whose 1001st group of stars is followed by more pattern never matches (Redis's nesting limit);
//! - an unterminated class `[abc` ends at the end of the pattern, so `a[^` matches `ab`;
//! - `[a-]` is the range from `a` to `]`, after which the class goes on until the next `]`;
//! - a trailing `\` matches a backslash;
//! - inside a class, `\x` compares exactly even when matching case-insensitively;
//! - range bounds compare as C `char`, which is signed: `[a-\xff]` is the range `-1..=97`.

/// Redis gives up on a pattern after recursing through this many groups of stars (`nesting > 1000`).
const MAX_STAR_NESTING: usize = 1000;

/// Does `s` match the glob `pattern`? With `nocase`, ASCII letters compare case-insensitively.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    if s.is_empty() {
        // Redis's loop runs only while both pattern and string have bytes left, so "" matches only "".
        return pattern.is_empty();
    }
    if exceeds_star_nesting(pattern) {
        return false;
    }
    let mut pi = 0;
    let mut si = 0;
    // After a `*`: where the rest of the pattern starts, and where in the string the current attempt to match it
    // started. On a mismatch the star swallows one more byte and the rest is tried again from there.
    let mut retry: Option<(usize, usize)> = None;
    while si < s.len() {
        if pattern.get(pi) == Some(&b'*') {
            while pattern.get(pi) == Some(&b'*') {
                pi += 1;
            }
            if pi == pattern.len() {
                return true; // a trailing star matches whatever is left
            }
            retry = Some((pi, si));
            continue;
        }
        if pi < pattern.len() {
            let (matched, next) = match_one(pattern, pi, s[si], nocase);
            if matched {
                pi = next;
                si += 1;
                continue;
            }
        }
        match retry {
            Some((rest, start)) => {
                pi = rest;
                si = start + 1;
                retry = Some((rest, start + 1));
            }
            None => return false,
        }
    }
    while pattern.get(pi) == Some(&b'*') {
        pi += 1;
    }
    pi == pattern.len()
}

/// Matches the one-byte pattern element (anything but `*`) at `pattern[pi]` against byte `c`. Returns whether it
/// matched and where the next element starts. Where the element ends never depends on `c`.
fn match_one(pattern: &[u8], pi: usize, c: u8, nocase: bool) -> (bool, usize) {
    match pattern[pi] {
        b'?' => (true, pi + 1),
        b'[' => match_class(pattern, pi + 1, c, nocase),
        b'\\' if pi + 1 < pattern.len() => (bytes_equal(pattern[pi + 1], c, nocase), pi + 2),
        // A lone trailing backslash is an ordinary byte.
        literal => (bytes_equal(literal, c, nocase), pi + 1),
    }
}

/// Matches a character class whose body starts at `pattern[i]` (just after the `[`).
fn match_class(pattern: &[u8], mut i: usize, c: u8, nocase: bool) -> (bool, usize) {
    let negate = pattern.get(i) == Some(&b'^');
    if negate {
        i += 1;
    }
    let mut matched = false;
    loop {
        let left = pattern.len().saturating_sub(i);
        if left >= 2 && pattern[i] == b'\\' {
            i += 1;
            // Escapes inside a class compare exactly, even with nocase (as Redis does).
            matched |= pattern[i] == c;
        } else if left >= 1 && pattern[i] == b']' {
            break;
        } else if left == 0 {
            // Unterminated class: it ends with the pattern. Step back so the `+ 1` below lands on the end.
            i -= 1;
            break;
        } else if left >= 3 && pattern[i + 1] == b'-' {
            matched |= in_range(pattern[i], pattern[i + 2], c, nocase);
            i += 2;
        } else {
            matched |= bytes_equal(pattern[i], c, nocase);
        }
        i += 1;
    }
    (matched != negate, i + 1)
}

/// A class range as Redis evaluates it: bounds and byte are C `char`s (signed on the platforms Redis ships for),
/// the bounds are swapped if reversed, and only then lowered for `nocase`.
fn in_range(start: u8, end: u8, c: u8, nocase: bool) -> bool {
    let as_c_char = |b: u8| i32::from(b as i8);
    let (mut lo, mut hi) = (as_c_char(start), as_c_char(end));
    if lo > hi {
        std::mem::swap(&mut lo, &mut hi);
    }
    let mut c = as_c_char(c);
    if nocase {
        lo = c_tolower(lo);
        hi = c_tolower(hi);
        c = c_tolower(c);
    }
    lo <= c && c <= hi
}

/// C's `tolower` in the "C" locale: only `A`-`Z` change.
fn c_tolower(c: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&c) {
        c + 32
    } else {
        c
    }
}

fn bytes_equal(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// True if the pattern has a 1001st group of consecutive stars with more pattern after it. Redis's recursion
/// refuses to go deeper than 1000 stars, so such a pattern can never be matched to its end there.
fn exceeds_star_nesting(pattern: &[u8]) -> bool {
    // Cheap filter: most patterns have a handful of stars.
    if pattern.iter().filter(|&&b| b == b'*').count() <= MAX_STAR_NESTING {
        return false;
    }
    let mut groups = 0;
    let mut pi = 0;
    while pi < pattern.len() {
        if pattern[pi] == b'*' {
            while pattern.get(pi) == Some(&b'*') {
                pi += 1;
            }
            groups += 1;
            if groups > MAX_STAR_NESTING {
                return pi < pattern.len();
            }
        } else {
            // Walk element by element so that `\*` and `[*]` are not counted; the byte compared is irrelevant.
            pi = match_one(pattern, pi, 0, false).1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// (pattern, string, nocase, expected) as Redis's `stringmatchlen` answers.
    const CASES: &[(&[u8], &[u8], bool, bool)] = &[
        (b"", b"", false, true),
        (b"", b"a", false, false),
        (b"*", b"", false, false),
        (b"a", b"", false, false),
        (b"*", b"anything", false, true),
        (b"**", b"x", false, true),
        (b"a*", b"a", false, true),
        (b"a*", b"abc", false, true),
        (b"a*", b"ba", false, false),
        (b"*c", b"abc", false, true),
        (b"*b", b"abc", false, false),
        (b"a*c", b"ac", false, true),
        (b"a*c", b"abbbc", false, true),
        (b"a*c", b"abbbcd", false, false),
        (b"a*b*c", b"axxbyyc", false, true),
        (b"a*b*c", b"axxcyyb", false, false),
        (b"*a*", b"bab", false, true),
        (b"a*a", b"a", false, false),
        (b"a?c", b"abc", false, true),
        (b"a?c", b"ac", false, false),
        (b"???", b"abc", false, true),
        (b"???", b"ab", false, false),
        (b"h?llo", b"h\xffllo", false, true),
        (b"h[ae]llo", b"hello", false, true),
        (b"h[ae]llo", b"hallo", false, true),
        (b"h[ae]llo", b"hillo", false, false),
        (b"h[^e]llo", b"hallo", false, true),
        (b"h[^e]llo", b"hello", false, false),
        (b"h[a-b]llo", b"hbllo", false, true),
        (b"h[a-b]llo", b"hcllo", false, false),
        (b"h[b-a]llo", b"hallo", false, true),
        (b"[0-9][0-9]", b"42", false, true),
        (b"[0-9]", b"a", false, false),
        (b"[^0-9]", b"a", false, true),
        (b"[]", b"]", false, false),
        (b"[]]", b"]", false, false),
        (b"[\\]]", b"]", false, true),
        (b"[\\\\]", b"\\", false, true),
        (b"[a\\-z]", b"-", false, true),
        (b"[a\\-z]", b"b", false, false),
        (b"h\\*llo", b"h*llo", false, true),
        (b"h\\*llo", b"hello", false, false),
        (b"h\\?llo", b"hello", false, false),
        (b"\\[a]", b"[a]", false, true),
        (b"a\\", b"a\\", false, true),
        (b"a\\", b"a", false, false),
        (b"a[", b"ab", false, false),
        (b"a[", b"a[", false, false),
        (b"a[^", b"ab", false, true),
        (b"a[^", b"a", false, false),
        (b"[abc", b"b", false, true),
        (b"[abc", b"d", false, false),
        (b"[a-", b"a", false, true),
        (b"[a-", b"-", false, true),
        (b"[a-", b"b", false, false),
        (b"[a-]", b"_", false, true),
        (b"[a-]", b"]", false, true),
        (b"[a-]", b"b", false, false),
        (b"[a-]x]", b"x", false, true),
        (b"[a-]x]", b"y", false, false),
        (b"[\\", b"\\", false, true),
        (b"[*]", b"*", false, true),
        (b"[*]", b"a", false, false),
        (b"[?]", b"a", false, false),
        (b"HELLO", b"hello", true, true),
        (b"HELLO", b"hello", false, false),
        (b"h*O", b"HellO", true, true),
        (b"[A-Z]", b"q", true, true),
        (b"[a-z]", b"Q", true, true),
        (b"[a-z]", b"Q", false, false),
        (b"[Z-a]", b"_", false, true),
        (b"[Z-a]", b"_", true, false),
        (b"[\\A]", b"a", true, false),
        (b"[\\A]", b"A", true, true),
        (b"\\A", b"a", true, true),
        (b"[a-\xff]", b"\x00", false, true),
        (b"[a-\xff]", b"\xff", false, true),
        (b"[a-\xff]", b"a", false, true),
        (b"[a-\xff]", b"b", false, false),
        (b"[a-\xff]", b"\x80", false, false),
        (b"[\x80-\xff]", b"\x90", false, true),
        (b"[\x80-\xff]", b"\x10", false, false),
        (b"a\x00b", b"a\x00b", false, true),
        (b"*\x00", b"xyz\x00", false, true),
        (b"user:*:name", b"user:1000:name", false, true),
        (b"user:*:name", b"user:1000:email", false, false),
    ];

    #[test]
    fn matches_like_redis() {
        for &(pattern, s, nocase, want) in CASES {
            assert_eq!(
                glob_match(pattern, s, nocase),
                want,
                "pattern {:?} string {:?} nocase {nocase}",
                String::from_utf8_lossy(pattern),
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn agrees_with_a_reference_backtracker() {
        // A literal transcription of Redis's recursive semantics (exponential, fine for tiny inputs) checked
        // against the linear matcher on every pattern/string over a small alphabet.
        fn reference(p: &[u8], s: &[u8], nocase: bool, top: bool) -> bool {
            if top && s.is_empty() {
                return p.is_empty();
            }
            if p.is_empty() {
                return s.is_empty();
            }
            if p[0] == b'*' {
                let rest = &p[p.iter().take_while(|&&b| b == b'*').count()..];
                if rest.is_empty() {
                    return true;
                }
                return (0..s.len()).any(|k| reference(rest, &s[k..], nocase, false));
            }
            if s.is_empty() {
                return false;
            }
            let (ok, next) = match_one(p, 0, s[0], nocase);
            if !ok {
                return false;
            }
            if s.len() == 1 {
                return p[next..].iter().all(|&b| b == b'*');
            }
            reference(&p[next..], &s[1..], nocase, false)
        }
        let alphabet: &[u8] = b"ab*?[]^-\\";
        let strings: Vec<Vec<u8>> = (0..4)
            .flat_map(|len| {
                (0..3usize.pow(len)).map(move |mut k| {
                    (0..len)
                        .map(|_| {
                            let b = b"ab]"[k % 3];
                            k /= 3;
                            b
                        })
                        .collect::<Vec<u8>>()
                })
            })
            .collect();
        let mut checked = 0;
        for len in 0..5u32 {
            for mut k in 0..alphabet.len().pow(len) {
                let pattern: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[k % alphabet.len()];
                        k /= alphabet.len();
                        b
                    })
                    .collect();
                for s in &strings {
                    assert_eq!(
                        glob_match(&pattern, s, false),
                        reference(&pattern, s, false, true),
                        "pattern {:?} string {:?}",
                        String::from_utf8_lossy(&pattern),
                        String::from_utf8_lossy(s)
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 100_000);
    }

    #[test]
    fn hostile_patterns_finish_fast() {
        let long_a = vec![b'a'; 20_000];
        let started = Instant::now();
        assert!(!glob_match(b"a*a*a*a*a*a*a*a*a*a*b", &long_a, false));
        assert!(!glob_match(b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", &long_a, false));
        assert!(glob_match(b"a*a*a*a*a*a*a*a*a*a*a", &long_a, false));
        assert!(!glob_match(b"[a]*[a]*[a]*?*?*?*[^a]", &long_a, true));
        // A generous bound: the linear matcher needs well under a millisecond each; exponential would never end.
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn nesting_limit_matches_redis() {
        let mut string = vec![b'a'; 1001];
        string.push(b'b');
        // 1000 groups of stars: fine.
        let mut pattern = b"a*".repeat(1000);
        pattern.push(b'b');
        assert!(glob_match(&pattern, &string, false));
        // 1001 groups followed by more pattern: Redis gives up.
        let mut pattern = b"a*".repeat(1001);
        pattern.push(b'b');
        assert!(!glob_match(&pattern, &string, false));
        // 1001 groups with the last one final: Redis matches before recursing further.
        let pattern = b"a*".repeat(1001);
        assert!(glob_match(&pattern, &string, false));
        // Escaped and bracketed stars are not groups.
        let mut pattern = b"\\*".repeat(1001);
        pattern.extend(b"[*]*x");
        let mut string = b"*".repeat(1002);
        string.push(b'x');
        assert!(glob_match(&pattern, &string, false));
    }
}
