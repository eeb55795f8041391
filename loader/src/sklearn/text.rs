//! Text vectorizers on one string column: CountVectorizer, TfidfVectorizer, HashingVectorizer
//! and TfidfTransformer, following `sklearn/feature_extraction/text.py`: lowercase, then
//! `strip_accents` (`unicode`: NFKD minus combining marks; `ascii`: NFKD kept to ASCII), then
//! the analyzer (`word`: `token_pattern` matches, stop words removed, word n-grams joined by a
//! space; `char`: n-grams over the text with runs of white space collapsed; `char_wb`: n-grams
//! of each space-padded word), counted against `vocabulary_` (unknown terms ignored) or hashed
//! with signed MurmurHash3 (`alternate_sign`), then `binary`, TF-IDF (`sublinear_tf`, `idf_`)
//! and the row norm. Callable `preprocessor` / `tokenizer` / `analyzer` are refused.
//!
//! The output is a sparse [`Csr`] `[N, n_features]` matrix, as sklearn's: memory in proportion
//! to the terms found, whatever the vocabulary's size.

use std::collections::{HashMap, HashSet};

use regex::Regex;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use crate::error::PredictError;
use crate::pyobj::{Instance, PyObj};

use super::obj::{self, Scalar};
use super::sparse::Csr;
use super::stop_words::ENGLISH_STOP_WORDS;
use super::table::{Column, Data, Matrix};
use super::{CompileError, Compiled, Ctx, Registry, Transformer};

/// Registers the vectorizers.
pub fn register(reg: &mut Registry) {
    reg.insert(
        "sklearn.feature_extraction.text.CountVectorizer",
        count_vectorizer,
    );
    reg.insert(
        "sklearn.feature_extraction.text.TfidfVectorizer",
        tfidf_vectorizer,
    );
    reg.insert(
        "sklearn.feature_extraction.text.HashingVectorizer",
        hashing_vectorizer,
    );
    reg.insert(
        "sklearn.feature_extraction.text.TfidfTransformer",
        tfidf_transformer,
    );
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Accents {
    None,
    Ascii,
    Unicode,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Word,
    Char,
    CharWb,
}

/// sklearn's `build_analyzer()`.
struct Analyzer {
    lowercase: bool,
    accents: Accents,
    kind: Kind,
    token: Regex,
    stop: HashSet<String>,
    ngram: (usize, usize),
    white: Regex,
}

impl Analyzer {
    fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        for name in ["preprocessor", "tokenizer"] {
            if obj::opt_attr(inst, name).is_some() {
                return Err(ctx.invalid(format!("a custom {name} is not supported")));
            }
        }
        if obj::opt_str(inst, "input").is_some_and(|i| i != "content") {
            return Err(ctx.invalid("only input='content' is supported"));
        }
        let kind = match inst.attr("analyzer").map(|o| o.as_ref()) {
            None => Kind::Word,
            Some(PyObj::Str(s)) => match s.as_str() {
                "word" => Kind::Word,
                "char" => Kind::Char,
                "char_wb" => Kind::CharWb,
                other => return Err(ctx.invalid(format!("unknown analyzer {other:?}"))),
            },
            Some(_) => return Err(ctx.invalid("a callable analyzer is not supported")),
        };
        let accents = match inst.attr("strip_accents").map(|o| o.as_ref()) {
            None | Some(PyObj::None) => Accents::None,
            Some(PyObj::Str(s)) if s == "ascii" => Accents::Ascii,
            Some(PyObj::Str(s)) if s == "unicode" => Accents::Unicode,
            Some(_) => return Err(ctx.invalid("unsupported strip_accents")),
        };
        let pattern = obj::opt_str(inst, "token_pattern").unwrap_or(r"(?u)\b\w\w+\b");
        let token = Regex::new(pattern)
            .map_err(|e| ctx.invalid(format!("token_pattern {pattern:?}: {e}")))?;
        if token.captures_len() > 2 {
            return Err(ctx.invalid("token_pattern has more than one capturing group"));
        }
        let stop = match inst.attr("stop_words").map(|o| o.as_ref()) {
            None | Some(PyObj::None) => HashSet::new(),
            Some(PyObj::Str(s)) if s == "english" => {
                ENGLISH_STOP_WORDS.iter().map(|w| (*w).to_owned()).collect()
            }
            Some(o) => obj::scalars(o)
                .ok_or_else(|| ctx.invalid("stop_words is not a list of strings"))?
                .into_iter()
                .map(|s| match s {
                    Scalar::Str(s) => Ok(s),
                    _ => Err(ctx.invalid("stop_words is not a list of strings")),
                })
                .collect::<Result<_, _>>()?,
        };
        let ngram = match obj::opt_attr(inst, "ngram_range")
            .and_then(|o| obj::numbers(o))
            .as_deref()
        {
            Some([lo, hi]) if *lo >= 1.0 && hi >= lo && *hi <= 64.0 => (*lo as usize, *hi as usize),
            None => (1, 1),
            _ => return Err(ctx.invalid("bad ngram_range")),
        };
        Ok(Self {
            lowercase: obj::bool_or(inst, "lowercase", true),
            accents,
            kind,
            token,
            stop,
            ngram,
            white: Regex::new(r"\s\s+").map_err(|e| ctx.invalid(e.to_string()))?,
        })
    }

    fn preprocess(&self, doc: &str) -> String {
        let doc = if self.lowercase {
            doc.to_lowercase()
        } else {
            doc.to_owned()
        };
        match self.accents {
            Accents::None => doc,
            Accents::Unicode => {
                // `strip_accents_unicode`: unchanged when already NFKD-normal.
                doc.nfkd().filter(|c| !is_combining_mark(*c)).collect()
            }
            Accents::Ascii => doc.nfkd().filter(char::is_ascii).collect(),
        }
    }

    /// Calls `f` on every term of a document.
    fn terms(&self, doc: &str, f: &mut dyn FnMut(&str)) {
        let doc = self.preprocess(doc);
        let (min_n, max_n) = self.ngram;
        match self.kind {
            Kind::Word => {
                let tokens: Vec<&str> = self
                    .token
                    .captures_iter(&doc)
                    .filter_map(|c| c.get(if c.len() > 1 { 1 } else { 0 }))
                    .map(|m| m.as_str())
                    .filter(|t| !self.stop.contains(*t))
                    .collect();
                if min_n == 1 {
                    tokens.iter().for_each(|t| f(t));
                }
                let mut buf = String::new();
                for n in min_n.max(2)..=max_n.min(tokens.len()) {
                    for w in tokens.windows(n) {
                        buf.clear();
                        for (i, t) in w.iter().enumerate() {
                            if i > 0 {
                                buf.push(' ');
                            }
                            buf.push_str(t);
                        }
                        f(&buf);
                    }
                }
            }
            Kind::Char => {
                let text = self.white.replace_all(&doc, " ");
                let chars: Vec<char> = text.chars().collect();
                let mut buf = String::new();
                for n in min_n..=max_n.min(chars.len()) {
                    for w in chars.windows(n) {
                        buf.clear();
                        buf.extend(w);
                        f(&buf);
                    }
                }
            }
            Kind::CharWb => {
                let text = self.white.replace_all(&doc, " ");
                let mut buf = String::new();
                for word in text.split_whitespace() {
                    let w: Vec<char> = std::iter::once(' ')
                        .chain(word.chars())
                        .chain(std::iter::once(' '))
                        .collect();
                    for n in min_n..=max_n {
                        let mut offset = 0;
                        let slice = |o: usize, buf: &mut String| {
                            buf.clear();
                            buf.extend(&w[o.min(w.len())..(o + n).min(w.len())]);
                        };
                        slice(offset, &mut buf);
                        f(&buf);
                        while offset + n < w.len() {
                            offset += 1;
                            slice(offset, &mut buf);
                            f(&buf);
                        }
                        if offset == 0 {
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// How terms become columns.
enum Features {
    Vocabulary(HashMap<String, usize>, usize),
    Hashed { n: usize, alternate_sign: bool },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Norm {
    L1,
    L2,
    Max,
}

/// The TF-IDF step (TfidfTransformer's state).
struct Tfidf {
    sublinear: bool,
    idf: Option<Vec<f64>>,
    norm: Option<Norm>,
}

fn read_norm(inst: &Instance, ctx: &Ctx<'_>) -> Result<Option<Norm>, CompileError> {
    match inst.attr("norm").map(|o| o.as_ref()) {
        None => Ok(Some(Norm::L2)),
        Some(PyObj::None) => Ok(None),
        Some(PyObj::Str(s)) => match s.as_str() {
            "l1" => Ok(Some(Norm::L1)),
            "l2" => Ok(Some(Norm::L2)),
            "max" => Ok(Some(Norm::Max)),
            other => Err(ctx.invalid(format!("unknown norm {other:?}"))),
        },
        Some(_) => Err(ctx.invalid("unsupported norm")),
    }
}

impl Tfidf {
    fn read(inst: &Instance, ctx: &Ctx<'_>) -> Result<Self, CompileError> {
        let idf = if obj::bool_or(inst, "use_idf", true) {
            Some(obj::f64_vec(inst, "idf_", ctx)?)
        } else {
            None
        };
        Ok(Self {
            sublinear: obj::bool_or(inst, "sublinear_tf", false),
            idf,
            norm: read_norm(inst, ctx)?,
        })
    }

    /// Weighs one sparse row's stored values (columns `idx`) and normalises it.
    fn apply(&self, idx: &[usize], row: &mut [f64]) {
        for (j, v) in idx.iter().zip(row.iter_mut()) {
            if self.sublinear {
                *v = v.ln() + 1.0;
            }
            if let Some(idf) = &self.idf {
                *v *= idf.get(*j).copied().unwrap_or(1.0);
            }
        }
        normalize(row, self.norm);
    }
}

/// sklearn's `normalize` of one sparse row's stored values (sums in column order).
fn normalize(row: &mut [f64], norm: Option<Norm>) {
    let Some(norm) = norm else { return };
    let mut s = 0.0;
    match norm {
        Norm::L2 => {
            for v in row.iter() {
                s += v * v;
            }
            if s == 0.0 {
                return;
            }
            s = s.sqrt();
        }
        Norm::L1 => {
            for v in row.iter() {
                s += v.abs();
            }
            if s == 0.0 {
                return;
            }
        }
        Norm::Max => {
            s = row.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if s == 0.0 {
                return;
            }
        }
    }
    row.iter_mut().for_each(|v| *v /= s);
}

struct Vectorizer {
    analyzer: Analyzer,
    features: Features,
    binary: bool,
    tfidf: Option<Tfidf>,
    /// HashingVectorizer's own norm (after `binary`).
    norm: Option<Norm>,
}

fn vocabulary(inst: &Instance, ctx: &Ctx<'_>) -> Result<Features, CompileError> {
    let PyObj::Dict(items) = obj::attr(inst, "vocabulary_", ctx)?.as_ref() else {
        return Err(ctx.invalid("vocabulary_ is not a dict"));
    };
    let mut map = HashMap::with_capacity(items.len());
    let mut n = 0;
    for (k, v) in items {
        let (PyObj::Str(term), Some(i)) =
            (k.as_ref(), obj::numbers(v).and_then(|v| v.first().copied()))
        else {
            return Err(ctx.invalid("vocabulary_ holds a non-string term or non-int index"));
        };
        if i < 0.0 || i >= items.len() as f64 {
            return Err(ctx.invalid("vocabulary_ index out of range"));
        }
        n = n.max(i as usize + 1);
        map.insert(term.clone(), i as usize);
    }
    Ok(Features::Vocabulary(map, n))
}

fn count_vectorizer(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    Ok(Compiled::Transformer(Box::new(Vectorizer {
        analyzer: Analyzer::read(inst, ctx)?,
        features: vocabulary(inst, ctx)?,
        binary: obj::bool_or(inst, "binary", false),
        tfidf: None,
        norm: None,
    })))
}

fn tfidf_vectorizer(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let t = obj::attr(inst, "_tfidf", ctx)?;
    let t = obj::instance(t).ok_or_else(|| ctx.invalid("_tfidf is not an object"))?;
    Ok(Compiled::Transformer(Box::new(Vectorizer {
        analyzer: Analyzer::read(inst, ctx)?,
        features: vocabulary(inst, ctx)?,
        binary: obj::bool_or(inst, "binary", false),
        tfidf: Some(Tfidf::read(t, ctx)?),
        norm: None,
    })))
}

fn hashing_vectorizer(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    let n = obj::opt_f64(inst, "n_features").unwrap_or(1_048_576.0) as usize;
    if n == 0 || n > i32::MAX as usize {
        return Err(ctx.invalid("n_features is out of range"));
    }
    Ok(Compiled::Transformer(Box::new(Vectorizer {
        analyzer: Analyzer::read(inst, ctx)?,
        features: Features::Hashed {
            n,
            alternate_sign: obj::bool_or(inst, "alternate_sign", true),
        },
        binary: obj::bool_or(inst, "binary", false),
        tfidf: None,
        norm: read_norm(inst, ctx)?,
    })))
}

/// MurmurHash3 x86 32-bit of UTF-8 bytes, seed 0, as a signed int (sklearn's
/// `murmurhash3_32(key, seed=0, positive=False)`).
pub fn murmurhash3_32(key: &[u8], seed: u32) -> i32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut chunks = key.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = chunks.remainder();
    let mut k = 0u32;
    for (i, b) in tail.iter().enumerate() {
        k ^= u32::from(*b) << (8 * i);
    }
    if !tail.is_empty() {
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= key.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h as i32
}

impl Vectorizer {
    fn width(&self) -> usize {
        match &self.features {
            Features::Vocabulary(_, n) => *n,
            Features::Hashed { n, .. } => *n,
        }
    }
}

/// The single text column a vectorizer receives (ColumnTransformer with a scalar column).
fn documents(x: Data) -> Result<Vec<Option<String>>, PredictError> {
    match x {
        Data::Table(t) => {
            let mut cols = Data::Table(t).into_columns()?;
            if cols.len() != 1 {
                return Err(PredictError::Runtime(format!(
                    "a text vectorizer needs one text column, got {}",
                    cols.len()
                )));
            }
            match cols.pop() {
                Some(Column::Str(v)) => Ok(v),
                _ => Err(PredictError::Runtime(
                    "a text vectorizer needs a string column".to_owned(),
                )),
            }
        }
        Data::Matrix(_) | Data::Sparse(_) => Err(PredictError::Runtime(
            "a text vectorizer needs a string column".to_owned(),
        )),
    }
}

impl Vectorizer {
    /// Row `r`'s `(column, count)` terms of `doc` (duplicates not yet summed).
    fn counts(&self, doc: &str) -> Vec<(usize, f64)> {
        let mut entries = Vec::new();
        match &self.features {
            Features::Vocabulary(vocab, _) => self.analyzer.terms(doc, &mut |t| {
                if let Some(&j) = vocab.get(t) {
                    entries.push((j, 1.0));
                }
            }),
            Features::Hashed { n, alternate_sign } => self.analyzer.terms(doc, &mut |t| {
                let h = murmurhash3_32(t.as_bytes(), 0);
                let j = if h == i32::MIN {
                    (2_147_483_647 - (n - 1)) % n
                } else {
                    h.unsigned_abs() as usize % n
                };
                entries.push((j, if *alternate_sign && h < 0 { -1.0 } else { 1.0 }));
            }),
        }
        entries
    }
}

impl Transformer for Vectorizer {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        self.transform_data(x)?.into_matrix()
    }

    /// The sparse document-term matrix, as sklearn's: rows summed, sorted and zero-free, then
    /// `binary`, TF-IDF and the row norm applied to the stored values.
    fn transform_data(&self, x: Data) -> Result<Data, PredictError> {
        let docs = documents(x)?;
        let mut out = Csr::with_cols(self.width());
        for (r, doc) in docs.iter().enumerate() {
            let doc = doc
                .as_deref()
                .ok_or_else(|| PredictError::Runtime("np.nan is an invalid document".to_owned()))?;
            out.push_row(self.counts(doc))?;
            let (idx, row) = out.row_mut(r);
            if self.binary {
                row.iter_mut().for_each(|v| *v = 1.0);
            }
            if let Some(t) = &self.tfidf {
                t.apply(idx, row);
            }
            normalize(row, self.norm);
        }
        Ok(Data::Sparse(out))
    }
}

/// TfidfTransformer on a count matrix.
struct TfidfStep {
    tfidf: Tfidf,
}

fn tfidf_transformer(inst: &Instance, ctx: &Ctx<'_>) -> Result<Compiled, CompileError> {
    Ok(Compiled::Transformer(Box::new(TfidfStep {
        tfidf: Tfidf::read(inst, ctx)?,
    })))
}

impl Transformer for TfidfStep {
    fn transform(&self, x: Data) -> Result<Matrix, PredictError> {
        self.transform_data(x)?.into_matrix()
    }

    /// Sparse in, sparse out (a dense input is made sparse first, as sklearn does).
    fn transform_data(&self, x: Data) -> Result<Data, PredictError> {
        let mut x = match x {
            Data::Sparse(s) => s,
            other => Csr::from_dense(&other.into_matrix()?),
        };
        if let Some(idf) = &self.tfidf.idf {
            x.expect_cols(idf.len())?;
        }
        for r in 0..x.rows() {
            let (idx, row) = x.row_mut(r);
            self.tfidf.apply(idx, row);
        }
        Ok(Data::Sparse(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sklearn::table::Table;

    fn word_analyzer() -> Analyzer {
        Analyzer {
            lowercase: true,
            accents: Accents::None,
            kind: Kind::Word,
            token: Regex::new(r"(?u)\b\w\w+\b").unwrap(),
            stop: HashSet::new(),
            ngram: (1, 1),
            white: Regex::new(r"\s\s+").unwrap(),
        }
    }

    fn documents(rows: usize) -> Data {
        let mut t = Table::new(rows);
        let docs = (0..rows)
            .map(|r| Some(format!("w{r} w{} common words here w{r}", r * 7 + 1)))
            .collect();
        t.push("text", Column::Str(docs)).unwrap();
        Data::Table(t)
    }

    /// A 100,000-term vocabulary and HashingVectorizer's default 2**20 columns on 1,000
    /// documents: the output stays sparse, one stored value per distinct term of a document
    /// (dense, the hashed one would be 2**30 cells, past the densifying bound).
    #[test]
    fn large_vocabularies_stay_sparse() {
        let vocab: HashMap<String, usize> = (0..100_000).map(|i| (format!("w{i}"), i)).collect();
        let count = Vectorizer {
            analyzer: word_analyzer(),
            features: Features::Vocabulary(vocab, 100_000),
            binary: false,
            tfidf: None,
            norm: None,
        };
        let Data::Sparse(m) = count.transform_data(documents(1_000)).unwrap() else {
            panic!("dense output")
        };
        assert_eq!((m.rows(), m.cols(), m.nnz()), (1_000, 100_000, 2_000));
        assert_eq!(m.row(3), (&[3usize, 22][..], &[2.0, 1.0][..]));
        let hashed = Vectorizer {
            analyzer: word_analyzer(),
            features: Features::Hashed {
                n: 1 << 20,
                alternate_sign: true,
            },
            binary: false,
            tfidf: None,
            norm: Some(Norm::L2),
        };
        let Data::Sparse(h) = hashed.transform_data(documents(1_000)).unwrap() else {
            panic!("dense output")
        };
        assert_eq!((h.rows(), h.cols()), (1_000, 1 << 20));
        assert!(h.nnz() <= 5_000);
        assert!(hashed.transform(documents(1_000)).is_err());
    }

    #[test]
    fn murmur_matches_sklearn() {
        // sklearn.utils.murmurhash3_32("foo", seed=0) == -156908512
        assert_eq!(murmurhash3_32(b"foo", 0), -156_908_512);
        assert_eq!(murmurhash3_32(b"", 0), 0);
    }
}
