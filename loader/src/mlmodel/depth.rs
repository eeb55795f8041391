//! A linear-time bound on how deeply an `MLmodel` nests, checked before the YAML parser sees it.
//!
//! libyaml's scanner (under serde_yaml_ng) keeps a stack of possible simple keys per flow level and
//! rescans it for every token, so a document nesting 100,000 levels (`[[[[...`, 0.2 MB) takes
//! tens of seconds before serde's own recursion limit refuses it. Real `MLmodel` files nest a few
//! levels (their signatures are JSON inside YAML strings), so this scan refuses anything deeper
//! than [`MAX_DEPTH`] in one pass.
//!
//! The scan over-counts rather than under-counts: it adds the block levels open on a line (the
//! indentation stack and `- ` / `? ` entries at its start) to the open flow brackets, and it
//! skips brackets only inside quoted scalars that start where a YAML scalar can start.

/// Deepest nesting accepted (serde_yaml_ng itself stops at 128).
pub const MAX_DEPTH: usize = 100;

/// The deepest nesting found, or the first position where it passes `limit` (then `Err(offset)`).
pub fn check(text: &str, limit: usize) -> Result<usize, usize> {
    let mut scan = Scan::default();
    let mut max = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let depth = scan.line(line);
        max = max.max(depth);
        if max > limit {
            return Err(offset);
        }
        offset += line.len();
    }
    Ok(max)
}

#[derive(Default)]
struct Scan {
    /// Indentations of the open block levels.
    indents: Vec<usize>,
    /// Open flow brackets.
    flow: usize,
    /// Inside a quoted scalar (`'` or `"`) that continues from an earlier line.
    quote: Option<u8>,
}

impl Scan {
    /// Scans one line and returns the deepest nesting reached on it.
    fn line(&mut self, line: &str) -> usize {
        let bytes = line.as_bytes();
        let mut i = 0;
        let mut block = self.indents.len();
        if self.quote.is_none() && self.flow == 0 {
            let indent = bytes.iter().take_while(|&&b| b == b' ').count();
            let rest = bytes.get(indent..).unwrap_or_default();
            let blank = rest.iter().all(u8::is_ascii_whitespace) || rest.first() == Some(&b'#');
            if !blank {
                while self.indents.last().is_some_and(|&top| top >= indent) {
                    self.indents.pop();
                }
                self.indents.push(indent);
                block = self.indents.len();
            }
            i = indent;
            // Compact block entries (`- - - x`, `? - x`) open one level each on the same line.
            while let (Some(&(b'-' | b'?')), Some(&b' ')) = (bytes.get(i), bytes.get(i + 1)) {
                block += 1;
                i += 2;
                while bytes.get(i) == Some(&b' ') {
                    i += 1;
                }
            }
        }
        let mut max = block + self.flow;
        // The previous significant byte, to tell where a quoted scalar may start.
        let mut prev = b' ';
        let mut at_start = true;
        while let Some(&b) = bytes.get(i) {
            i += 1;
            if let Some(q) = self.quote {
                match (q, b) {
                    (b'"', b'\\') => i += 1,
                    (b'\'', b'\'') if bytes.get(i) == Some(&b'\'') => i += 1,
                    _ if b == q => {
                        self.quote = None;
                        prev = b;
                        at_start = false;
                    }
                    _ => {}
                }
                continue;
            }
            match b {
                b'\'' | b'"'
                    if at_start || matches!(prev, b'[' | b'{' | b',' | b':' | b'-' | b'?') =>
                {
                    self.quote = Some(b);
                }
                b'#' if prev == b' ' || at_start => break,
                b'[' | b'{' => {
                    self.flow += 1;
                    max = max.max(block + self.flow);
                }
                b']' | b'}' => self.flow = self.flow.saturating_sub(1),
                _ => {}
            }
            if b != b' ' && b != b'\t' {
                prev = b;
                at_start = false;
            } else if matches!(prev, b':' | b'-' | b'?' | b',') {
                // `key: 'x'`: a quote right after an indicator and a space may start a scalar.
            } else {
                prev = b' ';
            }
        }
        max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_shapes_are_shallow_and_deep_ones_are_refused() {
        let real = "flavors:\n  sklearn:\n    code: null\nsignature:\n  inputs: '[{\"type\": \"double\",\n    \"name\": \"it''s [\"}]'\n  outputs: null\n";
        assert_eq!(check(real, MAX_DEPTH), Ok(3));
        let flow = format!("a: {}{}\n", "[".repeat(1000), "]".repeat(1000));
        assert!(check(&flow, MAX_DEPTH).is_err());
        let compact = format!("a:\n  {}x\n", "- ".repeat(1000));
        assert!(check(&compact, MAX_DEPTH).is_err());
        let indented: String = (0..200)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert!(check(&indented, MAX_DEPTH).is_err());
        // Brackets in a quoted scalar do not count, but a quote inside a plain scalar starts nothing.
        let quoted = format!("a: \"{}\"\n", "[".repeat(1000));
        assert_eq!(check(&quoted, MAX_DEPTH), Ok(1));
        let plain = format!("a: [it's, {}{}]\n", "[".repeat(1000), "]".repeat(1000));
        assert!(check(&plain, MAX_DEPTH).is_err());
    }
}
