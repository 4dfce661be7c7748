//! Redis number semantics: parsing integers and doubles from request arguments, and printing doubles the way
//! Redis 7.0 replies with them.
//!
//! Every command that takes a number (`INCRBY`, `EXPIRE`, `ZADD`, `INCRBYFLOAT`, ...) funnels its argument through
//! one of the parsers here, and every reply that carries a double goes through [`format_double`]. Keeping the rules
//! in one place is what makes `INCR` on `" 1"`, `"+1"` or `"01"` fail exactly where Redis fails.
//!
//! | Redis (util.c)                  | here                  | used by                                    |
//! |---------------------------------|-----------------------|--------------------------------------------|
//! | `string2ll`                     | [`parse_i64`]         | integers in requests, `INCR` on a value    |
//! | `string2d` / `getDoubleFromObject` | [`parse_f64`]      | `ZADD` scores, `ZINCRBY`, range bounds     |
//! | `string2ld` / `getLongDoubleFromObject` | [`parse_long_double`] | `INCRBYFLOAT`, `HINCRBYFLOAT`     |
//! | `addReplyDouble` (`%.17g`)      | [`format_double`]     | double replies                             |
//! | `ld2string(.., LD_STR_HUMAN)`   | [`format_human`]      | the value `INCRBYFLOAT` stores and returns |

use std::fmt::Write as _;

use rustc_apfloat::ieee::X87DoubleExtended;
use rustc_apfloat::{Float, FloatConvert, Round, Status};

/// Longest accepted integer text: Redis rejects `slen >= LONG_STR_SIZE` (21), and 20 characters already hold
/// `-9223372036854775808`.
const MAX_I64_CHARS: usize = 20;

/// Redis copies a long-double argument into a `MAX_LONG_DOUBLE_CHARS` (5 KiB) stack buffer and rejects anything
/// that does not fit with its NUL terminator.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// Below this, a whole-number double prints as its integer under `%.17g` (see [`format_double`]).
const INTEGER_FAST_PATH_LIMIT: f64 = 1e17;

/// Significant digits of `%.17g`: 17 is enough for every `f64` to survive a print/parse round trip.
const G_PRECISION: i32 = 17;

/// Parses a signed 64-bit integer with Redis's `string2ll` rules: optional `-`, then digits with no leading zero
/// (the string `"0"` itself is fine, `"-0"` is not), nothing else (no spaces, no `+`), at most 20 characters, and
/// no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > MAX_I64_CHARS {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    // The first digit must be 1-9: this rejects "", "-", "00", "-0" and "0x" in one test.
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        // i64::MIN has no positive counterpart, so it is matched on the unsigned magnitude.
        if v == i64::MIN.unsigned_abs() {
            Some(i64::MIN)
        } else {
            i64::try_from(v).ok().map(|v| -v)
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Parses a double with Redis's `string2d` rules (what `getDoubleFromObject` does for `ZADD` scores): the whole
/// argument must be one `strtod` number with no leading or trailing space. Accepted: decimal (`1`, `-1.5`, `.5`,
/// `5.`, `1e3`, `1E+3`), C99 hex floats (`0x1p3`, `0x10`), and infinities (`inf`, `+inf`, `-Infinity`, any case).
/// Rejected: NaN, empty, and any value `strtod` flags as out of range (`1e400` overflows; `1e-400` underflows to
/// zero; a subnormal result such as `1e-310` is kept, as with glibc).
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    parse_strtod(s)
}

/// Parses an `INCRBYFLOAT`/`HINCRBYFLOAT` operand with Redis's `string2ld` rules: `strtold`'s grammar (that of
/// [`parse_f64`]) into a `long double`, at most 5 KiB, no NaN, nothing out of range. Note that `inf` parses: Redis
/// only rejects a NaN or infinite *result* ("increment would produce NaN or Infinity"), which is the command's job.
pub fn parse_long_double(s: &[u8]) -> Option<LongDouble> {
    if s.len() >= MAX_LONG_DOUBLE_CHARS {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    if body.len() > 1 && body.as_bytes()[0] == b'0' && (body.as_bytes()[1] | 0x20) == b'x' {
        // Hex floats are exact in binary: the f64 parser's value widens to 80 bits without rounding.
        return parse_strtod(s).map(LongDouble::from_f64);
    }
    // Rust's f64 grammar is strtod's (decimals, `inf`, `infinity`, `nan`); it only checks the syntax here, the
    // value comes from the 80-bit parser, whose range is wider (1e400 is fine, 1e5000 is not).
    let syntax: f64 = text.parse().ok()?;
    if syntax.is_nan() {
        return None;
    }
    if syntax.is_infinite() && body.as_bytes()[0].is_ascii_alphabetic() {
        let inf = LongDouble(X87DoubleExtended::INFINITY);
        return Some(if text.starts_with('-') { LongDouble(-inf.0) } else { inf });
    }
    let parsed = X87DoubleExtended::from_str_r(text, Round::NearestTiesToEven).ok()?;
    let value = parsed.value;
    // strtold's ERANGE: an overflow, or an underflow all the way to zero (a subnormal result is kept).
    if parsed.status.contains(Status::OVERFLOW) || (parsed.status.contains(Status::UNDERFLOW) && value.is_zero()) {
        return None;
    }
    Some(LongDouble(value))
}

/// Redis's `long double` on x86-64: the x87 80-bit extended format (64-bit significand), in which `INCRBYFLOAT`
/// and `HINCRBYFLOAT` add. Emulated in software so the sums, and so the stored texts, are Redis's to the last
/// digit: `0.1 + 0.2` is `0.3` there, where `f64` would give `0.30000000000000004`.
#[derive(Clone, Copy, Debug)]
pub struct LongDouble(X87DoubleExtended);

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble(X87DoubleExtended::ZERO);

    fn from_f64(d: f64) -> LongDouble {
        let mut loses_info = false;
        LongDouble(rustc_apfloat::ieee::Double::from_bits(u128::from(d.to_bits())).convert(&mut loses_info).value)
    }

    pub fn is_finite(self) -> bool {
        self.0.is_finite()
    }
}

/// The common `strtod` grammar plus Redis's range and NaN checks.
fn parse_strtod(s: &[u8]) -> Option<f64> {
    // strtod would skip leading white space, Redis refuses it explicitly; trailing space fails the
    // "consumed every byte" test. Rust's parser accepts neither, so no explicit test is needed.
    let (negative, body) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    if body.len() > 1 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        let magnitude = parse_hex_float(&body[2..])?;
        return Some(if negative { -magnitude } else { magnitude });
    }
    // Rust's grammar for decimals and infinities matches strtod's, but Rust also accepts "nan", which Redis
    // rejects, and rounds out-of-range values to inf or 0 where strtod reports ERANGE.
    let text = std::str::from_utf8(s).ok()?;
    let value: f64 = text.parse().ok()?;
    if value.is_nan() {
        return None;
    }
    if value.is_infinite() && !(body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity")) {
        return None; // overflow: strtod returns HUGE_VAL with ERANGE
    }
    if value == 0.0 && mantissa_has_nonzero_digit(body, b'e') {
        return None; // underflow to zero: strtod returns 0 with ERANGE
    }
    Some(value)
}

/// True when a digit 1-9 (or, for hex, 1-f) appears before the exponent marker: a nonzero number was written.
fn mantissa_has_nonzero_digit(body: &[u8], exponent_marker: u8) -> bool {
    body.iter().take_while(|&&b| (b | 0x20) != exponent_marker).any(|&b| b.is_ascii_hexdigit() && b != b'0')
}

/// Parses the part of a C99 hex float after `0x`: hex digits with an optional point, then an optional binary
/// exponent `p[+-]digits`. Returns the magnitude.
///
/// Simplification against glibc: beyond 15 significant hex digits the extra digits only act as a sticky bit, and a
/// subnormal result may be rounded twice. Both only matter for inputs nobody types.
fn parse_hex_float(s: &[u8]) -> Option<f64> {
    /// Keep accumulating digits while the mantissa stays below 2^60, leaving 4 bits of room for the next digit.
    const MANTISSA_ROOM: u64 = 1 << 60;
    /// A larger binary exponent is infinite or zero for any mantissa; clamping avoids integer overflow.
    const EXPONENT_CLAMP: i64 = 100_000;
    let mut i = 0;
    let mut mantissa: u64 = 0;
    let mut sticky = false;
    let mut exponent: i64 = 0;
    let mut digits = 0;
    let mut seen_point = false;
    while i < s.len() {
        let b = s[i];
        if b == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = (b as char).to_digit(16) {
            digits += 1;
            if mantissa < MANTISSA_ROOM {
                mantissa = mantissa * 16 + u64::from(d);
                if seen_point {
                    exponent -= 4;
                }
            } else {
                sticky |= d != 0;
                if !seen_point {
                    exponent += 4;
                }
            }
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return None; // strtod would parse just the "0" and stop at the "x"
    }
    if i < s.len() {
        if s[i] | 0x20 != b'p' {
            return None;
        }
        i += 1;
        let (exp_negative, rest) = match s[i..].split_first() {
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            _ => (false, &s[i..]),
        };
        if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut e: i64 = 0;
        for &b in rest {
            e = (e * 10 + i64::from(b - b'0')).min(EXPONENT_CLAMP);
        }
        exponent += if exp_negative { -e } else { e };
    }
    if mantissa == 0 {
        return Some(0.0);
    }
    // The low bit is far below f64's 53 bits of precision, so OR-ing the sticky bit in makes the u64 -> f64
    // conversion round exactly as if every digit had been kept.
    let mut value = (mantissa | u64::from(sticky)) as f64;
    let mut exponent = exponent.clamp(-EXPONENT_CLAMP, EXPONENT_CLAMP);
    // Scale in steps that cannot overflow the power itself (2^1000 is finite).
    while exponent != 0 {
        let step = exponent.clamp(-1000, 1000);
        value *= 2f64.powi(step as i32);
        exponent -= step;
    }
    if value.is_infinite() || value == 0.0 {
        return None; // ERANGE, as for decimals
    }
    Some(value)
}

/// A formatted double that lives on the stack, so replies need no allocation.
#[derive(Clone, Copy)]
pub struct DoubleText {
    buf: [u8; DoubleText::CAPACITY],
    len: usize,
}

impl DoubleText {
    /// The longest `%.17g` output is `-1.2345678901234567e-308` (24 bytes); 40 leaves room for the `{:.16e}`
    /// intermediate as well.
    const CAPACITY: usize = 40;

    fn new() -> Self {
        DoubleText { buf: [0; Self::CAPACITY], len: 0 }
    }

    fn push(&mut self, b: u8) {
        // Capacity is sized for the worst case above; a full buffer would mean a bug here, not bad input.
        if self.len < Self::CAPACITY {
            self.buf[self.len] = b;
            self.len += 1;
        }
    }

    fn extend(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.push(b);
        }
    }

    /// The text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl std::fmt::Write for DoubleText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.len + s.len() > Self::CAPACITY {
            return Err(std::fmt::Error);
        }
        self.extend(s.as_bytes());
        Ok(())
    }
}

impl std::fmt::Debug for DoubleText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// Formats a double as Redis 7.0's `addReplyDouble` does: C's `%.17g`, with infinities spelled `inf`/`-inf`.
///
/// `%.17g` rounds to 17 significant digits, then prints in exponent form when the decimal exponent is below -4 or
/// at least 17, and in plain form otherwise; either way trailing zeros (and a bare trailing point) go, and the
/// exponent has a sign and at least two digits. So 1.1 prints `1.1000000000000001`, 3.0 prints `3`, 1e300 prints
/// `1.0000000000000001e+300`, and -0.0 prints `-0`. NaN prints `nan` (or `-nan` with the sign bit set), as glibc
/// does.
pub fn format_double(d: f64) -> DoubleText {
    let mut out = DoubleText::new();
    if d.is_nan() {
        out.extend(if d.is_sign_negative() { b"-nan" } else { b"nan" });
        return out;
    }
    if d.is_infinite() {
        out.extend(if d > 0.0 { b"inf" } else { b"-inf" });
        return out;
    }
    if d == 0.0 {
        out.extend(if d.is_sign_negative() { b"-0" } else { b"0" });
        return out;
    }
    if d.fract() == 0.0 && d.abs() < INTEGER_FAST_PATH_LIMIT {
        // Whole numbers below 10^17 have at most 17 digits, so %.17g prints them exactly, in plain form: the
        // integer printer gives the same text several times faster (scores are often whole numbers).
        let mut digits = itoa::Buffer::new();
        out.extend(digits.format(d as i64).as_bytes());
        return out;
    }
    // Rust's exact formatter gives the correctly rounded 17 significant digits ("d.dddddddddddddddde<exp>"); all
    // that is left is placing them the way %g does. The digits are never rounded a second time.
    let mut sci = DoubleText::new();
    if write!(sci, "{:.16e}", d.abs()).is_err() {
        return out; // cannot happen: the longest such text is 24 bytes
    }
    let text = sci.as_bytes();
    let e_at = text.iter().position(|&b| b == b'e').unwrap_or(text.len());
    let mut digits = [0u8; G_PRECISION as usize];
    let mut n = 0;
    for &b in &text[..e_at] {
        if b.is_ascii_digit() && n < digits.len() {
            digits[n] = b;
            n += 1;
        }
    }
    let exponent = parse_small_exponent(&text[(e_at + 1).min(text.len())..]);
    // %g drops trailing zeros, so only the significant prefix matters.
    let mut significant = n;
    while significant > 1 && digits[significant - 1] == b'0' {
        significant -= 1;
    }
    let digits = &digits[..significant];

    if d.is_sign_negative() {
        out.push(b'-');
    }
    if !(-4..G_PRECISION).contains(&exponent) {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend(&digits[1..]);
        }
        out.push(b'e');
        out.push(if exponent < 0 { b'-' } else { b'+' });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push(b'0');
        }
        let mut buf = itoa::Buffer::new();
        out.extend(buf.format(magnitude).as_bytes());
    } else if exponent >= 0 {
        let int_len = exponent as usize + 1;
        for i in 0..int_len {
            out.push(digits.get(i).copied().unwrap_or(b'0'));
        }
        if digits.len() > int_len {
            out.push(b'.');
            out.extend(&digits[int_len..]);
        }
    } else {
        out.extend(b"0.");
        for _ in 0..(-exponent - 1) {
            out.push(b'0');
        }
        out.extend(digits);
    }
    out
}

/// Parses the exponent of Rust's `{:e}` output ("5", "-12", "300").
fn parse_small_exponent(s: &[u8]) -> i32 {
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let magnitude = digits.iter().fold(0i32, |acc, &b| acc * 10 + i32::from(b.wrapping_sub(b'0')));
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    /// The sum, rounded to nearest-even as the x87 unit does at its default (extended) precision.
    fn add(self, other: LongDouble) -> LongDouble {
        LongDouble(self.0.add_r(other.0, Round::NearestTiesToEven).value)
    }
}

/// Formats the value `INCRBYFLOAT`/`HINCRBYFLOAT` store and return, as Redis's `ld2string(.., LD_STR_HUMAN)`:
/// `printf("%.17Lf")` (plain decimal, 17 places, never an exponent), trailing zeros and a bare point trimmed, `-0`
/// printed as `0`. The decimal expansion is exact, as glibc's is: an 80-bit value is `m * 2^e` with a 64-bit `m`.
pub fn format_human(d: LongDouble) -> Vec<u8> {
    /// `%.17Lf`: decimal places Redis keeps.
    const HUMAN_DECIMALS: u32 = 17;
    /// x87 exponent bias, and the significand's 63 bits after the (explicit) integer bit.
    const EXPONENT_BIAS: i32 = 16383;
    const FRACTION_BITS: i32 = 63;
    let bits = d.0.to_bits();
    let negative = bits >> 79 & 1 == 1;
    if d.0.is_infinite() {
        return if negative { b"-inf".to_vec() } else { b"inf".to_vec() };
    }
    let biased = (bits >> 64 & 0x7fff) as i32;
    let significand = bits as u64;
    // Subnormals (biased exponent 0) share the smallest normal exponent.
    let exponent = biased.max(1) - EXPONENT_BIAS - FRACTION_BITS;
    let mut text = Vec::new();
    if negative {
        text.push(b'-');
    }
    if exponent >= 0 {
        // A whole number: "%.17Lf" prints its digits and 17 zeros, which are then trimmed.
        text.extend(decimal_of_shifted(significand, exponent as u32));
    } else {
        // value * 10^17 = significand * 10^17 / 2^-exponent, rounded half to even. The product is below 2^121.
        let scaled = u128::from(significand) * 10u128.pow(HUMAN_DECIMALS);
        let shift = exponent.unsigned_abs();
        let units = if shift >= 128 {
            0 // below 2^121 / 2^128: less than half a unit in the 17th place
        } else {
            let (quotient, remainder) = (scaled >> shift, scaled & ((1u128 << shift) - 1));
            let half = 1u128 << (shift - 1);
            quotient + u128::from(remainder > half || (remainder == half && quotient & 1 == 1))
        };
        let unit = 10u128.pow(HUMAN_DECIMALS);
        text.extend_from_slice(itoa::Buffer::new().format(units / unit).as_bytes());
        let fraction = format!("{:017}", units % unit);
        let fraction = fraction.trim_end_matches('0');
        if !fraction.is_empty() {
            text.push(b'.');
            text.extend_from_slice(fraction.as_bytes());
        }
    }
    if text == b"-0" {
        text = b"0".to_vec();
    }
    text
}

/// The decimal digits of `m * 2^shift`, exactly (up to ~4,950 digits for the largest 80-bit value).
fn decimal_of_shifted(m: u64, mut shift: u32) -> Vec<u8> {
    /// Limbs hold nine decimal digits each; doubling by at most 2^29 per pass keeps limb * factor + carry in u64.
    const LIMB: u64 = 1_000_000_000;
    const MAX_STEP: u32 = 29;
    let mut limbs: Vec<u64> = vec![m % LIMB, m / LIMB % LIMB, m / LIMB / LIMB]; // little-endian
    while shift > 0 {
        let step = shift.min(MAX_STEP);
        shift -= step;
        let mut carry = 0u64;
        for limb in &mut limbs {
            let v = (*limb << step) + carry;
            *limb = v % LIMB;
            carry = v / LIMB;
        }
        while carry > 0 {
            limbs.push(carry % LIMB);
            carry /= LIMB;
        }
    }
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut out = limbs.last().map(|l| l.to_string()).unwrap_or_default();
    for limb in limbs.iter().rev().skip(1) {
        let _ = write!(out, "{limb:09}");
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_i64_accepts_canonical_integers() {
        let cases: &[(&[u8], i64)] = &[
            (b"0", 0),
            (b"1", 1),
            (b"-1", -1),
            (b"42", 42),
            (b"1000", 1000),
            (b"9223372036854775807", i64::MAX),
            (b"-9223372036854775808", i64::MIN),
            (b"-9223372036854775807", i64::MIN + 1),
        ];
        for &(s, v) in cases {
            assert_eq!(parse_i64(s), Some(v), "{:?}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn parse_i64_rejects_what_string2ll_rejects() {
        let cases: &[&[u8]] = &[
            b"",
            b"-",
            b"+1",
            b" 1",
            b"1 ",
            b"01",
            b"00",
            b"-0",
            b"-01",
            b"1a",
            b"a1",
            b"1.0",
            b"1e3",
            b"0x10",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551615",
            b"18446744073709551616",
            b"99999999999999999999",
            b"000000000000000000001",
            b"\x001",
            b"1\x00",
        ];
        for &s in cases {
            assert_eq!(parse_i64(s), None, "{:?}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn parse_f64_accepts_strtod_numbers() {
        let cases: &[(&[u8], f64)] = &[
            (b"0", 0.0),
            (b"1", 1.0),
            (b"-1.5", -1.5),
            (b"+2.5", 2.5),
            (b".5", 0.5),
            (b"5.", 5.0),
            (b"1e3", 1000.0),
            (b"1E+3", 1000.0),
            (b"1e-3", 0.001),
            (b"00012", 12.0),
            (b"1.7976931348623157e308", f64::MAX),
            (b"0x10", 16.0),
            (b"0X1p3", 8.0),
            (b"-0x1.8p1", -3.0),
            (b"0x.8", 0.5),
            (b"0x1P-2", 0.25),
            (b"0x0", 0.0),
            (b"0e5", 0.0),
            (b"-0.0", -0.0),
            (b"1e-310", 1e-310),
            // Rounding edges, checked against glibc's strtod.
            (b"2.4703282292062328e-324", 5e-324),
            (b"0x1.8p-1075", 5e-324),
            (b"0x1.00000000000008p0", 1.0),
            (b"0x1.000000000000080000000001p0", f64::from_bits(0x3ff0_0000_0000_0001)),
            (b"0x1.00000000000018p0", f64::from_bits(0x3ff0_0000_0000_0002)),
            (b"0x123456789abcdef123p0", f64::from_bits(0x4432_3456_789a_bcdf)),
            (b"0x0p99999999", 0.0),
        ];
        for &(s, v) in cases {
            assert_eq!(parse_f64(s), Some(v), "{:?}", String::from_utf8_lossy(s));
        }
        for s in [&b"inf"[..], b"+inf", b"INF", b"infinity", b"Infinity"] {
            assert_eq!(parse_f64(s), Some(f64::INFINITY));
        }
        for s in [&b"-inf"[..], b"-Infinity"] {
            assert_eq!(parse_f64(s), Some(f64::NEG_INFINITY));
        }
    }

    #[test]
    fn parse_f64_rejects_what_string2d_rejects() {
        let cases: &[&[u8]] = &[
            b"",
            b" 1",
            b"1 ",
            b"\t1",
            b"nan",
            b"NaN",
            b"-nan",
            b"nan(1)",
            b"1e400",
            b"-1e400",
            b"1e-400",
            b"0x1p99999",
            b"0x1p-99999",
            b"0x1p-1075",
            b"0x1P1024",
            b"0x1.fffffffffffff8p1023",
            b"2.4703282292062327e-324",
            b"1.8e308",
            b"0x-1",
            b"+-1",
            b"abc",
            b".",
            b"-",
            b"+",
            b"1e",
            b"1e+",
            b"0x",
            b"0xg",
            b"0x1p",
            b"1.2.3",
            b"inff",
            b"infinit",
            b"1_000",
            b"1\x00",
            b"\xff",
        ];
        for &s in cases {
            assert_eq!(parse_f64(s), None, "{:?}", String::from_utf8_lossy(s));
        }
    }

    /// What `INCRBYFLOAT` would store for `text`: parse, then print (`None` when Redis rejects it).
    fn ld(text: &[u8]) -> Option<String> {
        parse_long_double(text).map(|v| String::from_utf8(format_human(v)).unwrap())
    }

    #[test]
    fn parse_long_double_has_80_bit_range_and_caps_length_at_5k() {
        let mut long = b"1".to_vec();
        long.extend(std::iter::repeat(b'0').take(5118));
        assert_eq!(long.len(), 5119);
        assert!(parse_long_double(&long).is_none(), "1e5118 overflows even a long double");
        let mut long = b"0.".to_vec();
        long.extend(std::iter::repeat(b'0').take(5116));
        long.push(b'1');
        assert!(parse_long_double(&long).is_none(), "underflows to zero");
        let mut ok = b"1.".to_vec();
        ok.extend(std::iter::repeat(b'0').take(5117));
        assert_eq!(ld(&ok).as_deref(), Some("1"));
        ok.push(b'0');
        assert_eq!(ok.len(), 5120);
        assert!(parse_long_double(&ok).is_none(), "5120 bytes do not fit Redis's buffer");
        assert_eq!(parse_f64(&ok), Some(1.0), "string2d has no such cap");
        assert!(ld(b"1e400").is_some_and(|t| t.len() == 401), "beyond f64, within long double");
        assert_eq!(ld(b"-inf").as_deref(), Some("-inf"));
        assert_eq!(ld(b"Infinity").as_deref(), Some("inf"));
        for bad in [&b"nan"[..], b"", b" 1", b"1 ", b"1e", b"0x", b"--1", b"1,5", b"\xff"] {
            assert!(parse_long_double(bad).is_none(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(ld(b"0x1p-2").as_deref(), Some("0.25"));
        assert_eq!(ld(b"+.5").as_deref(), Some("0.5"));
        assert_eq!(ld(b"5.").as_deref(), Some("5"));
    }

    fn g(d: f64) -> String {
        String::from_utf8(format_double(d).as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn format_double_matches_printf_g17() {
        // Expected texts are what glibc's printf("%.17g") prints.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (3.0, "3"),
            (-3.0, "-3"),
            (1.1, "1.1000000000000001"),
            (0.1, "0.10000000000000001"),
            (1.5, "1.5"),
            (-2.5, "-2.5"),
            (100.0, "100"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (1.5e17, "1.5e+17"),
            (12345678901234567.0, "12345678901234568"),
            (1e300, "1.0000000000000001e+300"),
            (1e-300, "1e-300"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (0.00001, "1.0000000000000001e-05"),
            (1e-5, "1.0000000000000001e-05"),
            (1e21, "1e+21"),
            (123.456, "123.456"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "4.9406564584124654e-324"),
            (2f64.powi(53), "9007199254740992"),
            (0.5, "0.5"),
            (1.0 / 3.0, "0.33333333333333331"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for &(d, want) in cases {
            assert_eq!(g(d), want, "{d:e}");
        }
    }

    #[test]
    fn format_double_whole_numbers() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (42.0, "42"),
            (-7.0, "-7"),
            (1e15, "1000000000000000"),
            (9007199254740993.0, "9007199254740992"),
            (99999999999999984.0, "99999999999999984"),
            (-99999999999999984.0, "-99999999999999984"),
        ];
        for &(v, want) in cases {
            assert_eq!(g(v), want, "{v:e}");
        }
        assert_eq!(g(1e17), "1e+17");
        assert_eq!(g(-1e17), "-1e+17");
        assert_eq!(g(123456789012345680.0), "1.2345678901234568e+17");
    }

    #[test]
    fn format_double_round_trips() {
        let mut x: f64 = 1.0;
        for i in 0..2000 {
            x = x * 1.37 + (i as f64) * 1e-7;
            if !x.is_finite() {
                x = 0.123;
            }
            for v in [x, -x, 1.0 / x] {
                let text = format_double(v);
                assert_eq!(parse_f64(text.as_bytes()), Some(v), "{:?}", text);
            }
        }
    }

    fn sum(a: &str, b: &str) -> String {
        let (a, b) = (parse_long_double(a.as_bytes()).unwrap(), parse_long_double(b.as_bytes()).unwrap());
        String::from_utf8(format_human(a + b)).unwrap()
    }

    #[test]
    fn format_human_prints_what_redis_prints() {
        // Each expected text is what redis-server 7.0 on x86-64 answers to SET k <a>, INCRBYFLOAT k <b>.
        let cases: &[(&str, &str, &str)] = &[
            ("10.5", "0.1", "10.6"),
            ("0.1", "0.2", "0.3"),
            ("3.0e3", "1.0e-15", "3000.00000000000000111"),
            ("0", "0", "0"),
            ("-0", "0", "0"),
            ("3", "-6", "-3"),
            ("5.0e3", "0", "5000"),
            ("1e20", "0", "100000000000000000000"),
            ("1.5e-5", "0", "0.000015"),
            ("1e-17", "0", "0.00000000000000001"),
            ("1e-20", "0", "0"),
            ("-1e-20", "0", "0"),
            ("1.1", "2.2", "3.3"),
            ("5.0e3", "2.0e2", "5200"),
            ("1.23456789e-10", "0", "0.00000000012345679"),
        ];
        for &(a, b, want) in cases {
            assert_eq!(sum(a, b), want, "{a} + {b}");
        }
        let big = sum("1e300", "0");
        assert!(big.starts_with("1000000000000000000008997") && big.len() == 301, "{big}");
    }
}
