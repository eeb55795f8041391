//! A parser for the small Python-literal subset a `.npy` header uses: dicts, lists, tuples,
//! strings, integers, `True`/`False`/`None`
//! (e.g. `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`).

/// Deepest nesting accepted; real headers nest at most a few levels (structured dtypes).
const MAX_DEPTH: usize = 32;

/// A parsed Python literal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A string (`'...'` or `"..."`).
    Str(String),
    /// `[...]`.
    List(Vec<Lit>),
    /// `(...)`.
    Tuple(Vec<Lit>),
    /// `{...}`, in source order.
    Dict(Vec<(Lit, Lit)>),
}

impl Lit {
    /// Parses a whole literal; trailing whitespace is allowed, anything else is an error.
    pub(crate) fn parse(text: &str) -> Result<Lit, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            pos: 0,
        };
        let v = p.value(0)?;
        p.skip_ws();
        if p.pos != p.s.len() {
            return Err(format!(
                "unexpected text after the literal at byte {}",
                p.pos
            ));
        }
        Ok(v)
    }

    /// A dict entry by string key.
    pub(crate) fn get(&self, key: &str) -> Option<&Lit> {
        match self {
            Lit::Dict(items) => items
                .iter()
                .find(|(k, _)| matches!(k, Lit::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Lit, String> {
        if depth > MAX_DEPTH {
            return Err("literal nests too deeply".into());
        }
        self.skip_ws();
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        return Ok(Lit::Dict(items));
                    }
                    let k = self.value(depth + 1)?;
                    self.skip_ws();
                    self.expect(b':')?;
                    let v = self.value(depth + 1)?;
                    items.push((k, v));
                    if !self.comma_or(b'}')? {
                        return Ok(Lit::Dict(items));
                    }
                }
            }
            Some(open @ (b'[' | b'(')) => {
                self.pos += 1;
                let close = if open == b'[' { b']' } else { b')' };
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        break;
                    }
                    items.push(self.value(depth + 1)?);
                    if !self.comma_or(close)? {
                        break;
                    }
                }
                Ok(if open == b'[' {
                    Lit::List(items)
                } else {
                    Lit::Tuple(items)
                })
            }
            Some(q @ (b'\'' | b'"')) => self.string(q),
            Some(c) if c == b'-' || c == b'+' || c.is_ascii_digit() => self.int(),
            Some(c) if c.is_ascii_alphabetic() => {
                let start = self.pos;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    self.pos += 1;
                }
                match self.s.get(start..self.pos) {
                    Some(b"True") => Ok(Lit::Bool(true)),
                    Some(b"False") => Ok(Lit::Bool(false)),
                    Some(b"None") => Ok(Lit::None),
                    _ => Err(format!("unexpected name at byte {start}")),
                }
            }
            Some(c) => Err(format!(
                "unexpected character {:?} at byte {}",
                c as char, self.pos
            )),
            None => Err("unexpected end of the literal".into()),
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at byte {}", c as char, self.pos))
        }
    }

    /// After an item: a comma (true: more may follow) or the closing bracket (false: done).
    fn comma_or(&mut self, close: u8) -> Result<bool, String> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(format!(
                "expected ',' or {:?} at byte {}",
                close as char, self.pos
            )),
        }
    }

    fn int(&mut self) -> Result<Lit, String> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text = std::str::from_utf8(self.s.get(start..self.pos).unwrap_or_default())
            .map_err(|_| "bad integer".to_string())?;
        // Python 2 headers write longs as `3L`.
        if self.peek() == Some(b'L') {
            self.pos += 1;
        }
        text.parse::<i64>()
            .map(Lit::Int)
            .map_err(|_| format!("bad integer {text:?}"))
    }

    fn string(&mut self, quote: u8) -> Result<Lit, String> {
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.peek().ok_or("unterminated string")?;
            self.pos += 1;
            match c {
                c if c == quote => break,
                b'\\' => {
                    let e = self.peek().ok_or("unterminated string")?;
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'0' => out.push(0),
                        b'\\' | b'\'' | b'"' => out.push(e),
                        _ => return Err(format!("unsupported string escape '\\{}'", e as char)),
                    }
                }
                c => out.push(c),
            }
        }
        String::from_utf8(out)
            .map(Lit::Str)
            .map_err(|_| "string is not UTF-8".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_structured_header() {
        let h =
            "{'descr': [('a', '<i8'), ('', '|V7')], 'fortran_order': False, 'shape': (15,), }  ";
        let v = Lit::parse(h).unwrap();
        assert_eq!(v.get("fortran_order"), Some(&Lit::Bool(false)));
        assert_eq!(v.get("shape"), Some(&Lit::Tuple(vec![Lit::Int(15)])));
        let Some(Lit::List(descr)) = v.get("descr") else {
            panic!("descr")
        };
        assert_eq!(descr.len(), 2);
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            "{", "{'a' 1}", "((((", "'abc", "[1,,2]", "1e5", "{'a': x}", "(1, 2",
        ] {
            assert!(Lit::parse(bad).is_err(), "{bad}");
        }
        assert!(Lit::parse(&"(".repeat(1000)).is_err());
        assert_eq!(Lit::parse("()").unwrap(), Lit::Tuple(vec![]));
    }
}
