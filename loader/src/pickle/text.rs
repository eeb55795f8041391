//! Decoding of pickle's textual (protocol 0) arguments and of LONG1/LONG4 integers.

/// An integer decoded from a pickle: small ones as `i64`, larger ones as little-endian
/// two's-complement bytes (the `LONG1`/`LONG4` form, minimal length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Integer {
    /// Fits in 64 bits.
    Small(i64),
    /// Does not.
    Big(Vec<u8>),
}

/// Decodes `LONG1`/`LONG4` little-endian two's-complement bytes.
pub(crate) fn long_from_le(bytes: &[u8]) -> Integer {
    if bytes.is_empty() {
        return Integer::Small(0);
    }
    if bytes.len() <= 8 {
        let negative = bytes.last().is_some_and(|b| b & 0x80 != 0);
        let mut buf = if negative { [0xffu8; 8] } else { [0u8; 8] };
        for (dst, src) in buf.iter_mut().zip(bytes) {
            *dst = *src;
        }
        return Integer::Small(i64::from_le_bytes(buf));
    }
    // Longer encodings may still fit when they carry redundant sign bytes.
    let negative = bytes.last().is_some_and(|b| b & 0x80 != 0);
    let fill = if negative { 0xff } else { 0 };
    let (low, high) = bytes.split_at(8);
    let top_sign = low.last().is_some_and(|b| (b & 0x80 != 0) == negative);
    if top_sign && high.iter().all(|&b| b == fill) {
        return long_from_le(low);
    }
    Integer::Big(bytes.to_vec())
}

/// Parses a decimal integer (optional sign, optional trailing `L`) of at most `max_digits` digits.
pub(crate) fn parse_decimal(text: &str, max_digits: usize) -> Option<Integer> {
    let text = text.trim().trim_end_matches('L');
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, text.get(1..)?),
        b'+' => (false, text.get(1..)?),
        _ => (false, text),
    };
    if digits.is_empty() || digits.len() > max_digits || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if let Ok(v) = text.parse::<i64>() {
        return Some(Integer::Small(v));
    }
    // Magnitude as little-endian base-256, built digit by digit.
    let mut mag: Vec<u8> = vec![0];
    for d in digits.bytes() {
        let mut carry = u32::from(d - b'0');
        for byte in mag.iter_mut() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            mag.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    mag.push(0); // room for the sign bit
    if negative {
        let mut carry = 1u16;
        for byte in mag.iter_mut() {
            let v = u16::from(!*byte) + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
    }
    Some(long_from_le(&mag))
}

/// Decodes the body of a protocol-0 `STRING` argument (a Python 2 `repr` with its quotes).
pub(crate) fn unquote_string(arg: &[u8]) -> Option<Vec<u8>> {
    let (&first, rest) = arg.split_first()?;
    let (&last, body) = rest.split_last()?;
    if !(first == last && (first == b'\'' || first == b'"')) {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut it = body.iter().copied();
    while let Some(b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match it.next()? {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'0' => out.push(0),
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'x' => {
                let hi = hex(it.next()?)?;
                let lo = hex(it.next()?)?;
                out.push(hi * 16 + lo);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

/// Decodes a protocol-0 `UNICODE` argument (`raw-unicode-escape`: latin-1 plus `\uXXXX`/`\UXXXXXXXX`).
pub(crate) fn raw_unicode_escape(arg: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(arg.len());
    let mut i = 0;
    while let Some(&b) = arg.get(i) {
        if b == b'\\' {
            let width = match arg.get(i + 1) {
                Some(b'u') => 4,
                Some(b'U') => 8,
                _ => 0,
            };
            if width > 0 {
                let digits = arg.get(i + 2..i + 2 + width)?;
                let mut code = 0u32;
                for &d in digits {
                    code = code * 16 + u32::from(hex(d)?);
                }
                out.push(char::from_u32(code)?);
                i += 2 + width;
                continue;
            }
        }
        out.push(char::from(b));
        i += 1;
    }
    Some(out)
}

/// Latin-1 bytes as a `String` (how Python 3 reads Python 2 `str` with `encoding='latin1'`).
pub(crate) fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn hex(d: u8) -> Option<u8> {
    char::from(d)
        .to_digit(16)
        .and_then(|v| u8::try_from(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longs_round_trip() {
        assert_eq!(long_from_le(&[]), Integer::Small(0));
        assert_eq!(long_from_le(&[0xff]), Integer::Small(-1));
        assert_eq!(long_from_le(&[0x80, 0x00]), Integer::Small(128));
        assert_eq!(
            long_from_le(&[0, 0, 0, 0, 0, 0, 0, 0x80, 0xff]),
            Integer::Small(i64::MIN)
        );
        assert_eq!(
            long_from_le(&[0, 0, 0, 0, 0, 0, 0, 0x80, 0]),
            Integer::Big(vec![0, 0, 0, 0, 0, 0, 0, 0x80, 0])
        );
        assert_eq!(parse_decimal("-5L", 100), Some(Integer::Small(-5)));
        assert_eq!(
            parse_decimal("9223372036854775808", 100),
            Some(Integer::Big(vec![0, 0, 0, 0, 0, 0, 0, 0x80, 0]))
        );
        assert_eq!(
            parse_decimal("-9223372036854775809", 100),
            Some(Integer::Big(vec![
                0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff
            ]))
        );
        assert_eq!(parse_decimal("12a", 100), None);
    }

    #[test]
    fn text_forms() {
        assert_eq!(unquote_string(b"'a\\nb\\x41'"), Some(b"a\nbA".to_vec()));
        assert_eq!(unquote_string(b"'abc"), None);
        assert_eq!(
            raw_unicode_escape(b"caf\\u00e9\xe9").as_deref(),
            Some("caféé")
        );
    }
}
