//! Tag sequences <-> spans, and the chunk counting of seqeval 1.2.2 and CoNLL `conlleval`.
//!
//! # Tags
//!
//! A tag is `O`, or a prefix letter and a type joined by `-` (`B-PER`; with `suffix`, the type
//! first: `PER-B`). The letters are `B` (begin), `I` (inside), `E` (end), `S` (single), `M`
//! (middle, BMES), `L` (last) and `U` (unit, BILOU); a letter alone (`B`) is a chunk without a
//! type, named `_` as seqeval names it (`""` for conlleval). Types may contain `-` and `.`
//! (`B-PER.NAM` has type `PER.NAM`). The tag `.` is accepted by the lenient chunking and by
//! conlleval, whose rules treat it like `O` at type changes. Anything else (`X-PER`, `BPER`,
//! `O-PER`, `""`) is an [`Error::Tag`] naming the tag. A tag vocabulary is parsed once into
//! (prefix, type id) pairs by [`TagSet::parse`]; sequences are flat arrays of tag ids with
//! sentence offsets (`offsets[s]..offsets[s + 1]` are the tags of sentence `s`).
//!
//! How a type is read from a tag follows the reference being reproduced ([`Dialect`]):
//! seqeval's default chunking drops the separator (`B-X-` has type `X-`), seqeval's strict mode
//! strips every leading and trailing `-` (`B-X-` has type `X`), conlleval takes everything after
//! the first `-` and reads the type `0` as no type (Perl truthiness).
//!
//! # Chunkings ([`Chunking`])
//!
//! * [`Chunking::Lenient`]: seqeval 1.2.2's default (`get_entities`), i.e. conlleval's
//!   `startOfChunk`/`endOfChunk` rules extended with `S`: a chunk starts at `B` or `S`, at `I`
//!   or `E` after `O`, `E` or `S`, and wherever a non-`O` tag changes type; it ends before `B`,
//!   `S` or `O` after `B`/`I`, after every `E` or `S`, and at every type change after a tag
//!   other than `O`/`.`. `I-X I-X` is one chunk, `B-X I-Y` two. Other letters (`M`, `L`, `U`)
//!   only take part through type changes, exactly as in seqeval (so `U-X U-X` is one chunk and
//!   in `B-X L-X B-X L-X` the first chunk is lost). When such a letter leaves a chunk "ended"
//!   without a new start, seqeval closes a later chunk from the last start it saw; [`decode`]
//!   reproduces this within a sentence and reports an [`Error::Tag`] when that start lies in an
//!   earlier sentence (seqeval then reports a chunk spanning a sentence break, which no span of
//!   one sentence can represent; this needs tags without a type such as `M` or `.` `E`).
//!   [`seqeval_counts`] counts such chunks exactly as seqeval does, in stream positions. Spans
//!   repeated in this way are reported once.
//! * [`Chunking::SeqevalStrict`]: seqeval's `mode="strict"` (`seqeval.scheme.Entities`) for a
//!   scheme: every tag must carry a letter of the scheme (else [`Error::Tag`]); a chunk is
//!   read only where its start, inside and end tags follow the scheme's patterns, so invalid
//!   sequences give no entity (`I-X` alone in IOB2, `B-X` without `E-X` in IOBES). BMES is
//!   IOBES with `M` in place of `I` (seqeval has no BMES).
//! * [`Chunking::Strict`]: the same, except for IOE1: seqeval 1.2.2's IOE1 patterns (marked
//!   unfinished in seqeval's source) lack the start of a one-token chunk `E-X` that follows `O`,
//!   the sentence start or `I-Y` (`E-X I-X` is two chunks in IOE1, seqeval finds only the
//!   second). `Strict` adds these two start patterns, so that [`encode`] and [`decode`]
//!   round-trip for every scheme; `SeqevalStrict` keeps seqeval's behaviour.
//!
//! # conlleval ([`conlleval_counts`])
//!
//! conlleval.pl (CoNLL-2000, version 2004-01-26) reads `token ... gold guess` lines with empty
//! lines between sentences and never builds spans: it runs `startOfChunk`/`endOfChunk` (the
//! rules above without `S`, and with `[`/`]`, which nerlm does not accept) over the gold and
//! guessed tags side by side. It counts a gold (guessed) chunk at every start, and a correct
//! chunk when both start at the same token with the same type, stay in step (same type at
//! every token, ending at the same token) and end together. Sentence breaks are steps with `O`
//! for both, not counted as tokens; a token line whose first field is `-X-` is a break too.
//! Token accuracy compares (prefix, type) pairs.
//!
//! Where conlleval and seqeval's default differ: conlleval knows no `S` (`S-X S-X` is one
//! chunk for conlleval, two for seqeval), starts a chunk at `B` only after `B`, `I` or `O` and
//! ends one after `E` only before `E`, `I` or `O` (`B-X E-X B-X E-X` is one chunk for
//! conlleval, two for seqeval), counts chunk starts rather than closed chunks, and compares
//! chunks as a running match rather than as sets of spans. On IOB1, IOB2, IOE1 and IOE2 tags
//! the two agree.

use std::collections::HashMap;
use std::ops::Range;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::score::{score_strings, Duplicates, SpanColumns, StringColumns};

/// The letter of a tag that says where a token lies in its chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Prefix {
    /// Outside any chunk (`O`).
    O = 0,
    /// Begin.
    B = 1,
    /// Inside.
    I = 2,
    /// End.
    E = 3,
    /// Single-token chunk (IOBES, BMES).
    S = 4,
    /// Middle (BMES).
    M = 5,
    /// Last (BILOU).
    L = 6,
    /// Unit, a single-token chunk (BILOU).
    U = 7,
    /// The tag `.`: like `O` for conlleval's type-change rules (lenient chunking and conlleval
    /// only).
    Dot = 8,
}

const N_PREFIX: usize = 9;

impl Prefix {
    fn from_letter(c: u8) -> Option<Self> {
        Some(match c {
            b'B' => Prefix::B,
            b'I' => Prefix::I,
            b'E' => Prefix::E,
            b'S' => Prefix::S,
            b'M' => Prefix::M,
            b'L' => Prefix::L,
            b'U' => Prefix::U,
            _ => return None,
        })
    }

    /// The letter as written in a tag (`.` for [`Prefix::Dot`]).
    pub fn letter(self) -> char {
        match self {
            Prefix::O => 'O',
            Prefix::B => 'B',
            Prefix::I => 'I',
            Prefix::E => 'E',
            Prefix::S => 'S',
            Prefix::M => 'M',
            Prefix::L => 'L',
            Prefix::U => 'U',
            Prefix::Dot => '.',
        }
    }

    const fn bit(self) -> u16 {
        1 << self as u8
    }
}

/// A tagging scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `I` everywhere; `B` on the first token of a chunk that follows a chunk of the same type.
    Iob1,
    /// `B` on the first token, `I` on the others (BIO).
    Iob2,
    /// `I` everywhere; `E` on the last token of a chunk followed by a chunk of the same type.
    Ioe1,
    /// `E` on the last token, `I` on the others.
    Ioe2,
    /// `S` for one token, else `B`, `I`..., `E` (BIOES).
    Iobes,
    /// `U` for one token, else `B`, `I`..., `L`.
    Bilou,
    /// `S` for one token, else `B`, `M`..., `E` (as in Resume NER).
    Bmes,
}

impl Scheme {
    /// Every scheme.
    pub const ALL: [Scheme; 7] = [
        Scheme::Iob1,
        Scheme::Iob2,
        Scheme::Ioe1,
        Scheme::Ioe2,
        Scheme::Iobes,
        Scheme::Bilou,
        Scheme::Bmes,
    ];

    /// Parse a scheme name: `IOB1`, `IOB2` (or `BIO`), `IOE1`, `IOE2`, `IOBES` (or `BIOES`),
    /// `BILOU`, `BMES`; case-insensitive.
    ///
    /// # Errors
    /// [`Error::Tag`] for any other name.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name.to_ascii_uppercase().as_str() {
            "IOB1" => Scheme::Iob1,
            "IOB2" | "BIO" => Scheme::Iob2,
            "IOE1" => Scheme::Ioe1,
            "IOE2" => Scheme::Ioe2,
            "IOBES" | "BIOES" => Scheme::Iobes,
            "BILOU" => Scheme::Bilou,
            "BMES" => Scheme::Bmes,
            _ => {
                let expected = "IOB1, IOB2, IOE1, IOE2, IOBES, BILOU or BMES";
                return Err(Error::Tag(format!(
                    "unknown scheme {name:?} (expected {expected})"
                )));
            }
        })
    }

    /// The canonical name (`"IOB2"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Iob1 => "IOB1",
            Scheme::Iob2 => "IOB2",
            Scheme::Ioe1 => "IOE1",
            Scheme::Ioe2 => "IOE2",
            Scheme::Iobes => "IOBES",
            Scheme::Bilou => "BILOU",
            Scheme::Bmes => "BMES",
        }
    }

    /// The chunk letters of the scheme, in the order [`tag_vocabulary`] lists them per type.
    pub fn letters(self) -> &'static [Prefix] {
        use Prefix::*;
        match self {
            Scheme::Iob1 | Scheme::Iob2 => &[B, I],
            Scheme::Ioe1 | Scheme::Ioe2 => &[I, E],
            Scheme::Iobes => &[B, I, E, S],
            Scheme::Bilou => &[B, I, L, U],
            Scheme::Bmes => &[B, M, E, S],
        }
    }

    fn allowed(self) -> u16 {
        self.letters()
            .iter()
            .fold(Prefix::O.bit(), |m, p| m | p.bit())
    }

    /// (begin, inside, end, single) letters of the generic encoding.
    fn roles(self) -> [Prefix; 4] {
        use Prefix::*;
        match self {
            Scheme::Iob1 | Scheme::Ioe1 => [I, I, I, I],
            Scheme::Iob2 => [B, I, I, B],
            Scheme::Ioe2 => [I, I, E, E],
            Scheme::Iobes => [B, I, E, S],
            Scheme::Bilou => [B, I, L, U],
            Scheme::Bmes => [B, M, E, S],
        }
    }
}

/// How tag strings are read (which reference's parsing is reproduced).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// seqeval's default chunking: the type is the tag without its letter and separator;
    /// no type reads `_`.
    Seqeval,
    /// seqeval's strict mode (`seqeval.scheme.Token`): the type is stripped of every leading
    /// and trailing `-`; no type reads `_`; the tag `.` is an error.
    SeqevalStrict,
    /// conlleval.pl: the type is everything after the first `-`; no type, and the type `0`,
    /// read `""`. Prefix tags only.
    Conlleval,
}

/// How chunks are read from tags (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Chunking {
    /// seqeval 1.2.2's default chunking (conlleval's rules with `S`).
    Lenient,
    /// Strict decoding of a scheme: seqeval's patterns, with IOE1 completed.
    Strict(Scheme),
    /// Exactly seqeval 1.2.2's `mode="strict"` for a scheme (BMES: as IOBES with `M` for `I`).
    SeqevalStrict(Scheme),
}

impl Chunking {
    /// The dialect tags must be parsed in for this chunking.
    pub fn dialect(self) -> Dialect {
        match self {
            Chunking::Lenient => Dialect::Seqeval,
            Chunking::Strict(_) | Chunking::SeqevalStrict(_) => Dialect::SeqevalStrict,
        }
    }
}

/// A tag vocabulary parsed once: per tag id its prefix and type id.
#[derive(Debug, Clone)]
pub struct TagSet {
    dialect: Dialect,
    tags: Vec<String>,
    prefix: Vec<Prefix>,
    ty: Vec<u32>,
    canon: Vec<u32>,
    type_names: Vec<String>,
    outside: u32,
}

fn split_tag(tag: &str, suffix: bool) -> Option<(Prefix, &str)> {
    if tag == "O" {
        return Some((Prefix::O, ""));
    }
    if tag == "." {
        return Some((Prefix::Dot, ""));
    }
    let b = tag.as_bytes();
    if suffix {
        let (&last, head) = b.split_last()?;
        let p = Prefix::from_letter(last)?;
        (head.is_empty() || head.last() == Some(&b'-')).then(|| (p, &tag[..tag.len() - 1]))
    } else {
        let (&first, tail) = b.split_first()?;
        let p = Prefix::from_letter(first)?;
        (tail.is_empty() || tail[0] == b'-').then(|| (p, &tag[1..]))
    }
}

fn type_name(rest: &str, dialect: Dialect, suffix: bool) -> &str {
    let t = match dialect {
        Dialect::Seqeval if suffix => rest.strip_suffix('-').unwrap_or(rest),
        Dialect::Seqeval | Dialect::Conlleval => rest.strip_prefix('-').unwrap_or(rest),
        Dialect::SeqevalStrict => rest.trim_matches('-'),
    };
    match dialect {
        Dialect::Conlleval if t == "0" => "",
        Dialect::Conlleval => t,
        _ if t.is_empty() => "_",
        _ => t,
    }
}

impl TagSet {
    /// Parse a tag vocabulary (`tags[id]` is the string of tag id `id`).
    ///
    /// # Errors
    /// [`Error::Tag`] naming the first tag that is not `O`, `.` or a letter and a type (see the
    /// module documentation), the tag `.` in the strict dialect, or `suffix` with conlleval.
    pub fn parse<S: AsRef<str>>(tags: &[S], dialect: Dialect, suffix: bool) -> Result<Self> {
        if suffix && dialect == Dialect::Conlleval {
            return Err(Error::Tag(
                "conlleval reads prefix tags only (B-PER), not suffix tags".into(),
            ));
        }
        let mut names: HashMap<String, u32> = HashMap::new();
        let mut type_names: Vec<String> = Vec::new();
        let mut intern = |name: &str| -> u32 {
            if let Some(&i) = names.get(name) {
                return i;
            }
            let i = type_names.len() as u32;
            type_names.push(name.to_string());
            names.insert(name.to_string(), i);
            i
        };
        let outside = intern(type_name("", dialect, suffix));
        let mut seen: HashMap<&str, u32> = HashMap::new();
        let mut out = TagSet {
            dialect,
            tags: Vec::with_capacity(tags.len()),
            prefix: Vec::with_capacity(tags.len()),
            ty: Vec::with_capacity(tags.len()),
            canon: Vec::with_capacity(tags.len()),
            type_names: Vec::new(),
            outside,
        };
        for (id, tag) in tags.iter().enumerate() {
            let tag = tag.as_ref();
            let Some((p, rest)) = split_tag(tag, suffix) else {
                let shape = if suffix { "TYPE-B" } else { "B-TYPE" };
                return Err(Error::Tag(format!(
                    "unknown tag {tag:?}: expected \"O\" or one of the letters B, I, E, S, M, L, \
                     U with a type ({shape}) or alone"
                )));
            };
            if p == Prefix::Dot && dialect == Dialect::SeqevalStrict {
                return Err(Error::Tag(
                    "the tag \".\" has no prefix letter of a scheme (strict mode)".into(),
                ));
            }
            out.prefix.push(p);
            out.ty.push(intern(type_name(rest, dialect, suffix)));
            out.canon.push(*seen.entry(tag).or_insert(id as u32));
            out.tags.push(tag.to_string());
        }
        out.type_names = type_names;
        Ok(out)
    }

    /// Number of tags.
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    /// Whether the vocabulary is empty.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The dialect the tags were read in.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Type names by type id (the type of `O` is among them: `_`, or `""` for conlleval).
    pub fn type_names(&self) -> &[String] {
        &self.type_names
    }

    /// The prefix and type id of a tag id.
    pub fn get(&self, id: usize) -> Option<(Prefix, u32)> {
        Some((*self.prefix.get(id)?, self.ty[id]))
    }

    #[inline]
    fn at(&self, ids: &[i32], s: usize, k: usize) -> Result<(Prefix, u32)> {
        let id = ids[k];
        if id < 0 || id as usize >= self.prefix.len() {
            return Err(Error::Shape(format!(
                "sentence {s}, token {k}: tag id {id} is outside 0..{}",
                self.prefix.len()
            )));
        }
        Ok((self.prefix[id as usize], self.ty[id as usize]))
    }
}

/// Spans as columns: sentence index, type id, start and end (half-open token offsets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpanTable {
    /// Sentence index per span.
    pub sentence: Vec<i64>,
    /// Type id per span (into [`TagSet::type_names`]).
    pub type_id: Vec<i64>,
    /// First token of the span.
    pub start: Vec<i64>,
    /// One past the last token of the span.
    pub end: Vec<i64>,
}

impl SpanTable {
    /// Number of spans.
    pub fn len(&self) -> usize {
        self.sentence.len()
    }

    /// Whether there is no span.
    pub fn is_empty(&self) -> bool {
        self.sentence.is_empty()
    }

    /// The columns as borrowed [`SpanColumns`].
    pub fn columns(&self) -> SpanColumns<'_> {
        SpanColumns {
            doc: &self.sentence,
            label: &self.type_id,
            start: &self.start,
            end: &self.end,
        }
    }

    fn append(&mut self, mut other: SpanTable) {
        self.sentence.append(&mut other.sentence);
        self.type_id.append(&mut other.type_id);
        self.start.append(&mut other.start);
        self.end.append(&mut other.end);
    }
}

/// Check sentence offsets over `n` tags: `offsets[0] == 0`, non-decreasing, last `== n`.
fn check_offsets(offsets: &[i64], n: usize, what: &str) -> Result<()> {
    let Some(&last) = offsets.last() else {
        return Err(Error::Shape(format!(
            "{what} offsets are empty (one sentence needs [0, n])"
        )));
    };
    if offsets[0] != 0 {
        return Err(Error::Shape(format!(
            "{what} offsets start at {}, not 0",
            offsets[0]
        )));
    }
    if let Some(s) = offsets.windows(2).position(|w| w[1] < w[0]) {
        return Err(Error::Shape(format!(
            "{what} offsets decrease at sentence {s}: {} > {}",
            offsets[s],
            offsets[s + 1]
        )));
    }
    if last < 0 || last as usize != n {
        return Err(Error::Shape(format!(
            "{what} offsets end at {last} for {n} tags"
        )));
    }
    Ok(())
}

/// Contiguous blocks of sentences, a few per thread.
fn blocks(n: usize) -> Vec<Range<usize>> {
    let per = (n / (rayon::current_num_threads().max(1) * 8)).max(256);
    (0..n).step_by(per).map(|a| a..(a + per).min(n)).collect()
}

// seqeval's default rules (conlleval's, with S).
#[inline]
fn lenient_end(pp: Prefix, p: Prefix, pt: u32, t: u32) -> bool {
    use Prefix::*;
    matches!(pp, E | S)
        || (matches!(pp, B | I) && matches!(p, B | S | O))
        || (!matches!(pp, O | Dot) && pt != t)
}

#[inline]
fn lenient_start(pp: Prefix, p: Prefix, pt: u32, t: u32) -> bool {
    use Prefix::*;
    matches!(p, B | S)
        || (matches!(pp, E | S | O) && matches!(p, E | I))
        || (!matches!(p, O | Dot) && pt != t)
}

// conlleval.pl's rules (without the bracket tags).
#[inline]
fn conll_end(pp: Prefix, p: Prefix, pt: u32, t: u32) -> bool {
    use Prefix::*;
    (matches!(pp, B | I) && matches!(p, B | O))
        || (pp == E && matches!(p, E | I | O))
        || (!matches!(pp, O | Dot) && pt != t)
}

#[inline]
fn conll_start(pp: Prefix, p: Prefix, pt: u32, t: u32) -> bool {
    use Prefix::*;
    (matches!(pp, B | I | O) && p == B)
        || (matches!(pp, O | E) && matches!(p, I | E))
        || (!matches!(p, O | Dot) && pt != t)
}

const NO_TYPE: u32 = u32::MAX;

/// seqeval's `get_entities` over one sentence of the flattened stream (see the module docs).
///
/// Returns the token after which a chunk that began in an earlier sentence is closed, if one
/// is (the sentence's spans are then incomplete).
fn lenient_sentence(
    ts: &TagSet,
    ids: &[i32],
    s: usize,
    out: &mut Vec<(u32, u32, u32)>,
) -> Result<Option<usize>> {
    let n = ids.len();
    let first = out.len();
    // seqeval starts from ('O', '') and puts an 'O' (type '_') after every sentence.
    let (mut pp, mut pt) = (Prefix::O, if s == 0 { NO_TYPE } else { ts.outside });
    let mut begin: Option<usize> = (s == 0).then_some(0);
    let mut open = false;
    let mut stale = false;
    for i in 0..=n {
        let (p, t) = if i < n {
            ts.at(ids, s, i)?
        } else {
            (Prefix::O, ts.outside)
        };
        if lenient_end(pp, p, pt, t) {
            let Some(b) = begin else {
                return Ok(Some(i - 1));
            };
            stale |= !open;
            out.push((pt, b as u32, i as u32));
            open = false;
        }
        if lenient_start(pp, p, pt, t) {
            begin = Some(i);
            open = true;
        }
        pp = p;
        pt = t;
    }
    if stale {
        // seqeval keeps entities in sets: report a repeated span once.
        let mut k = first;
        while k < out.len() {
            if out[first..k].contains(&out[k]) {
                out.remove(k);
            } else {
                k += 1;
            }
        }
    }
    Ok(None)
}

/// seqeval's `get_entities` over the whole flattened stream (each sentence followed by `O`),
/// spans in stream positions (sentence `s`, token `k` is at `offsets[s] + s + k`).
fn lenient_stream(ts: &TagSet, ids: &[i32], offsets: &[i64]) -> Result<SpanTable> {
    let mut tab = SpanTable::default();
    let (mut pp, mut pt) = (Prefix::O, NO_TYPE);
    let mut begin = 0usize;
    let mut pos = 0usize;
    for s in 0..offsets.len() - 1 {
        let sent = &ids[offsets[s] as usize..offsets[s + 1] as usize];
        for i in 0..=sent.len() {
            let (p, t) = if i < sent.len() {
                ts.at(sent, s, i)?
            } else {
                (Prefix::O, ts.outside)
            };
            if lenient_end(pp, p, pt, t) {
                tab.sentence.push(0);
                tab.type_id.push(i64::from(pt));
                tab.start.push(begin as i64);
                tab.end.push(pos as i64);
            }
            if lenient_start(pp, p, pt, t) {
                begin = pos;
            }
            pp = p;
            pt = t;
            pos += 1;
        }
    }
    Ok(tab)
}

const SAME: u8 = 1;
const DIFF: u8 = 2;
const ANY: u8 = SAME | DIFF;
const ANY_PREFIX: u16 = (1 << N_PREFIX) - 1;

type Table = [[u8; N_PREFIX]; N_PREFIX];

/// seqeval.scheme's start / inside / end patterns of a scheme as lookup tables.
struct Patterns {
    allowed: u16,
    start: Table,
    inside: Table,
    end: Table,
}

fn table(rules: &[(u16, u16, u8)]) -> Table {
    let mut t = [[0u8; N_PREFIX]; N_PREFIX];
    for &(prev, cur, cond) in rules {
        for (a, row) in t.iter_mut().enumerate() {
            for (b, cell) in row.iter_mut().enumerate() {
                if prev & (1 << a) != 0 && cur & (1 << b) != 0 {
                    *cell |= cond;
                }
            }
        }
    }
    t
}

impl Patterns {
    fn new(scheme: Scheme, seqeval_exact: bool) -> Self {
        use Prefix::*;
        let (o, b, i, e, s, l, u, m) = (
            O.bit(),
            B.bit(),
            I.bit(),
            E.bit(),
            S.bit(),
            L.bit(),
            U.bit(),
            M.bit(),
        );
        let allowed = scheme.allowed();
        let (start, inside, end): (Vec<_>, Vec<_>, Vec<_>) = match scheme {
            Scheme::Iob1 => (
                vec![
                    (o, i, ANY),
                    (i, i, DIFF),
                    (b, i, ANY),
                    (i, b, SAME),
                    (b, b, SAME),
                ],
                vec![(b, i, SAME), (i, i, SAME)],
                vec![
                    (i, i, DIFF),
                    (i, o, ANY),
                    (i, b, ANY),
                    (b, o, ANY),
                    (b, i, DIFF),
                    (b, b, SAME),
                ],
            ),
            Scheme::Ioe1 => {
                let mut st = vec![(o, i, ANY), (i, i, DIFF), (e, i, ANY), (e, e, SAME)];
                if !seqeval_exact {
                    // A one-token chunk E-X that starts a run of X chunks.
                    st.extend([(o, e, ANY), (i, e, DIFF)]);
                }
                (
                    st,
                    vec![(i, i, SAME), (i, e, SAME)],
                    vec![
                        (i, i, DIFF),
                        (i, o, ANY),
                        (i, e, DIFF),
                        (e, i, SAME),
                        (e, e, SAME),
                    ],
                )
            }
            Scheme::Iob2 => (
                vec![(ANY_PREFIX, b, ANY)],
                vec![(b, i, SAME), (i, i, SAME)],
                vec![
                    (i, o, ANY),
                    (i, i, DIFF),
                    (i, b, ANY),
                    (b, o, ANY),
                    (b, i, DIFF),
                    (b, b, ANY),
                ],
            ),
            Scheme::Ioe2 => (
                vec![
                    (o, i, ANY),
                    (o, e, ANY),
                    (e, i, ANY),
                    (e, e, ANY),
                    (i, i, DIFF),
                    (i, e, DIFF),
                ],
                vec![(i, e, SAME), (i, i, SAME)],
                vec![(e, ANY_PREFIX, ANY)],
            ),
            Scheme::Iobes | Scheme::Bmes => {
                let mid = if scheme == Scheme::Bmes { m } else { i };
                (
                    vec![(ANY_PREFIX, b, ANY), (ANY_PREFIX, s, ANY)],
                    vec![
                        (b, mid, SAME),
                        (b, e, SAME),
                        (mid, mid, SAME),
                        (mid, e, SAME),
                    ],
                    vec![(s, ANY_PREFIX, ANY), (e, ANY_PREFIX, ANY)],
                )
            }
            Scheme::Bilou => (
                vec![(ANY_PREFIX, b, ANY), (ANY_PREFIX, u, ANY)],
                vec![(b, i, SAME), (b, l, SAME), (i, i, SAME), (i, l, SAME)],
                vec![(u, ANY_PREFIX, ANY), (l, ANY_PREFIX, ANY)],
            ),
        };
        Patterns {
            allowed,
            start: table(&start),
            inside: table(&inside),
            end: table(&end),
        }
    }
}

#[inline]
fn hit(t: &Table, prev: (Prefix, u32), cur: (Prefix, u32)) -> bool {
    let cond = if prev.1 == cur.1 { SAME } else { DIFF };
    t[prev.0 as usize][cur.0 as usize] & cond != 0
}

/// seqeval.scheme's `Tokens.entities` over one sentence.
fn strict_sentence(
    ts: &TagSet,
    pat: &Patterns,
    scheme: Scheme,
    ids: &[i32],
    s: usize,
    out: &mut Vec<(u32, u32, u32)>,
) -> Result<()> {
    let n = ids.len();
    for k in 0..n {
        let (p, _) = ts.at(ids, s, k)?;
        if pat.allowed & p.bit() == 0 {
            let letters: String = scheme.letters().iter().map(|p| p.letter()).collect();
            return Err(Error::Tag(format!(
                "sentence {s}, token {k}: tag {:?} is not a tag of {} (letters {letters} and O)",
                ts.tags[ids[k] as usize],
                scheme.name()
            )));
        }
    }
    // Ids are valid from here on; the sentence is followed by an `O`.
    let tok = |k: usize| -> (Prefix, u32) {
        if k < n {
            let id = ids[k] as usize;
            (ts.prefix[id], ts.ty[id])
        } else {
            (Prefix::O, ts.outside)
        }
    };
    let mut i = 0;
    let mut prev = (Prefix::O, ts.outside);
    while i <= n {
        let cur = tok(i);
        if hit(&pat.start, prev, cur) {
            // No pattern accepts `O` as a start or inside tag, so `end <= n`.
            let mut end = i + 1;
            let mut p = cur;
            while end <= n && hit(&pat.inside, p, tok(end)) {
                p = tok(end);
                end += 1;
            }
            if hit(&pat.end, tok(end - 1), tok(end)) {
                out.push((cur.1, i as u32, end as u32));
            }
            i = end;
        } else {
            i += 1;
        }
        prev = tok(i - 1);
    }
    Ok(())
}

/// Decode tag sequences into spans, in parallel over sentences.
///
/// `ids` are tag ids into `tags`, `offsets` (length sentences + 1) delimit the sentences.
/// Spans come sorted by sentence, then in the order the chunking closes them.
///
/// # Errors
/// [`Error::Shape`] for bad offsets or tag ids outside the vocabulary, [`Error::Tag`] for a
/// tag set parsed in another dialect than `chunking` needs, a tag outside a strict scheme, or
/// a lenient chunk that would span a sentence break.
pub fn decode(
    tags: &TagSet,
    ids: &[i32],
    offsets: &[i64],
    chunking: Chunking,
) -> Result<SpanTable> {
    decode_sentences(tags, ids, offsets, chunking)?.map_err(|(s, k)| {
        let tag = &tags.tags[ids[offsets[s] as usize + k] as usize];
        Error::Tag(format!(
            "sentence {s}, token {k}: seqeval's default chunking closes here a chunk that \
             began in an earlier sentence (tag {tag:?} follows a tag that neither starts nor \
             continues a chunk); no span of one sentence can represent it"
        ))
    })
}

/// [`decode`], with the (sentence, token) of a lenient chunk crossing a sentence break as a
/// separate outcome.
fn decode_sentences(
    tags: &TagSet,
    ids: &[i32],
    offsets: &[i64],
    chunking: Chunking,
) -> Result<std::result::Result<SpanTable, (usize, usize)>> {
    if tags.dialect != chunking.dialect() {
        return Err(Error::Tag(format!(
            "tags were read as {:?} but {chunking:?} needs {:?}",
            tags.dialect,
            chunking.dialect()
        )));
    }
    check_offsets(offsets, ids.len(), "tag")?;
    let pat = match chunking {
        Chunking::Lenient => None,
        Chunking::Strict(sc) => Some((Patterns::new(sc, false), sc)),
        Chunking::SeqevalStrict(sc) => Some((Patterns::new(sc, true), sc)),
    };
    type Part = Result<std::result::Result<SpanTable, (usize, usize)>>;
    let parts: Vec<Part> = blocks(offsets.len() - 1)
        .into_par_iter()
        .map(|range| {
            let mut tab = SpanTable::default();
            let mut buf = Vec::new();
            for s in range {
                buf.clear();
                let sent = &ids[offsets[s] as usize..offsets[s + 1] as usize];
                match &pat {
                    None => {
                        if let Some(k) = lenient_sentence(tags, sent, s, &mut buf)? {
                            return Ok(Err((s, k)));
                        }
                    }
                    Some((p, sc)) => strict_sentence(tags, p, *sc, sent, s, &mut buf)?,
                }
                for &(t, a, b) in &buf {
                    tab.sentence.push(s as i64);
                    tab.type_id.push(i64::from(t));
                    tab.start.push(i64::from(a));
                    tab.end.push(i64::from(b));
                }
            }
            Ok(Ok(tab))
        })
        .collect();
    let mut out = SpanTable::default();
    for p in parts {
        match p? {
            Ok(tab) => out.append(tab),
            Err(at) => return Ok(Err(at)),
        }
    }
    Ok(Ok(out))
}

/// Per-type chunk counts of a gold / predicted comparison, as seqeval counts them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChunkCounts {
    /// Chunks found in both (same sentence, type, start and end), per type id.
    pub tp: Vec<u64>,
    /// Predicted chunks per type id.
    pub pred: Vec<u64>,
    /// Gold chunks per type id.
    pub gold: Vec<u64>,
    /// Tokens whose predicted tag string equals the gold one.
    pub correct_tokens: u64,
    /// Tokens.
    pub tokens: u64,
}

fn check_pair(gold_offsets: &[i64], pred_offsets: &[i64]) -> Result<()> {
    if gold_offsets.len() != pred_offsets.len() {
        return Err(Error::Shape(format!(
            "gold has {} sentences, prediction {}",
            gold_offsets.len().saturating_sub(1),
            pred_offsets.len().saturating_sub(1)
        )));
    }
    for s in 0..gold_offsets.len().saturating_sub(1) {
        let g = gold_offsets[s + 1] - gold_offsets[s];
        let p = pred_offsets[s + 1] - pred_offsets[s];
        if g != p {
            return Err(Error::Shape(format!(
                "sentence {s}: gold has {g} tags, prediction {p}"
            )));
        }
    }
    Ok(())
}

/// Chunk gold and predicted sequences with `chunking` and count them per type, with spans
/// compared as sets per sentence (seqeval's `extract_tp_actual_correct`), and count the tokens
/// whose tag strings are equal (seqeval's `accuracy_score`).
///
/// # Errors
/// As [`decode`]; [`Error::Shape`] when the sentence counts or lengths differ.
pub fn seqeval_counts(
    tags: &TagSet,
    gold_ids: &[i32],
    gold_offsets: &[i64],
    pred_ids: &[i32],
    pred_offsets: &[i64],
    chunking: Chunking,
) -> Result<ChunkCounts> {
    check_offsets(gold_offsets, gold_ids.len(), "gold")?;
    check_offsets(pred_offsets, pred_ids.len(), "prediction")?;
    check_pair(gold_offsets, pred_offsets)?;
    let (g, p) = rayon::join(
        || decode_sentences(tags, gold_ids, gold_offsets, chunking),
        || decode_sentences(tags, pred_ids, pred_offsets, chunking),
    );
    let (g, p) = match (g?, p?) {
        (Ok(g), Ok(p)) => (g, p),
        // A lenient chunk crosses a sentence break: compare chunks in stream positions, as
        // seqeval does (gold and prediction have the same sentence lengths).
        _ => {
            let (g, p) = rayon::join(
                || lenient_stream(tags, gold_ids, gold_offsets),
                || lenient_stream(tags, pred_ids, pred_offsets),
            );
            (g?, p?)
        }
    };
    let n_types = tags.type_names.len();
    let (gc, pc) = (g.columns(), p.columns());
    let n_docs = gc
        .doc
        .iter()
        .chain(pc.doc)
        .max()
        .map_or(0, |&d| d as usize + 1);
    // Chunks are compared as sets per sentence and type: the string-level comparison with the
    // (start, end) pair as the key (offsets are below 2^31).
    let key = |c: &SpanColumns<'_>| -> Vec<i64> {
        c.start
            .iter()
            .zip(c.end)
            .map(|(&s, &e)| (s << 32) | e)
            .collect()
    };
    let (gk, pk) = (key(&gc), key(&pc));
    let gs = StringColumns {
        doc: gc.doc,
        label: gc.label,
        key: &gk,
    };
    let ps = StringColumns {
        doc: pc.doc,
        label: pc.label,
        key: &pk,
    };
    let r = score_strings(&gs, &ps, n_docs, n_types, Duplicates::Set, None, false)?;
    let tp: Vec<u64> = r.per_label.iter().map(|c| c[0]).collect();
    let pred: Vec<u64> = r.per_label.iter().map(|c| c[0] + c[1]).collect();
    let gold: Vec<u64> = r.per_label.iter().map(|c| c[0] + c[2]).collect();
    let canon = &tags.canon;
    let correct_tokens = gold_ids
        .par_chunks(1 << 16)
        .zip(pred_ids.par_chunks(1 << 16))
        .map(|(a, b)| {
            a.iter()
                .zip(b)
                .filter(|(x, y)| canon[**x as usize] == canon[**y as usize])
                .count() as u64
        })
        .sum();
    Ok(ChunkCounts {
        pred,
        gold,
        tp,
        correct_tokens,
        tokens: gold_ids.len() as u64,
    })
}

/// conlleval.pl's counts, per type id and overall.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConllCounts {
    /// Correctly identified chunks per type id (`%correctChunk`).
    pub correct_chunk: Vec<u64>,
    /// Guessed chunks per type id (`%foundGuessed`).
    pub found_guessed: Vec<u64>,
    /// Gold chunks per type id (`%foundCorrect`).
    pub found_correct: Vec<u64>,
    /// Tokens with the same (prefix, type) in gold and guess (`$correctTags`).
    pub correct_tags: u64,
    /// Tokens, sentence breaks excluded (`$tokenCounter`).
    pub tokens: u64,
}

/// Run conlleval.pl's counting over gold and guessed tags (one `offsets` for both), as if
/// each sentence were written as `token gold guess` lines followed by an empty line.
///
/// `boundary[k]` marks tokens whose line starts with conlleval's boundary field `-X-`: such a
/// token is a sentence break (both tags read as `O`, not counted).
///
/// # Errors
/// [`Error::Tag`] for a tag set not read in the conlleval dialect; [`Error::Shape`] for bad
/// offsets, arrays of different lengths or tag ids outside the vocabulary.
pub fn conlleval_counts(
    tags: &TagSet,
    gold_ids: &[i32],
    pred_ids: &[i32],
    offsets: &[i64],
    boundary: Option<&[bool]>,
) -> Result<ConllCounts> {
    if tags.dialect != Dialect::Conlleval {
        return Err(Error::Tag(format!(
            "tags were read as {:?}, conlleval needs Conlleval",
            tags.dialect
        )));
    }
    check_offsets(offsets, gold_ids.len(), "tag")?;
    if pred_ids.len() != gold_ids.len() {
        return Err(Error::Shape(format!(
            "{} gold tags but {} guessed tags",
            gold_ids.len(),
            pred_ids.len()
        )));
    }
    if let Some(b) = boundary {
        if b.len() != gold_ids.len() {
            return Err(Error::Shape(format!(
                "boundary mask of {} values for {} tags",
                b.len(),
                gold_ids.len()
            )));
        }
    }
    let n_types = tags.type_names.len();
    let mut c = ConllCounts {
        correct_chunk: vec![0; n_types],
        found_guessed: vec![0; n_types],
        found_correct: vec![0; n_types],
        correct_tags: 0,
        tokens: 0,
    };
    let outside = (Prefix::O, tags.outside);
    let mut last_c = outside;
    let mut last_g = outside;
    let mut in_correct = false;
    let mut step = |cur_c: (Prefix, u32), cur_g: (Prefix, u32), counted: bool| {
        if in_correct {
            let ec = conll_end(last_c.0, cur_c.0, last_c.1, cur_c.1);
            let eg = conll_end(last_g.0, cur_g.0, last_g.1, cur_g.1);
            if ec && eg && last_g.1 == last_c.1 {
                in_correct = false;
                c.correct_chunk[last_c.1 as usize] += 1;
            } else if ec != eg || cur_g.1 != cur_c.1 {
                in_correct = false;
            }
        }
        let sc = conll_start(last_c.0, cur_c.0, last_c.1, cur_c.1);
        let sg = conll_start(last_g.0, cur_g.0, last_g.1, cur_g.1);
        if sc && sg && cur_g.1 == cur_c.1 {
            in_correct = true;
        }
        if sc {
            c.found_correct[cur_c.1 as usize] += 1;
        }
        if sg {
            c.found_guessed[cur_g.1 as usize] += 1;
        }
        if counted {
            if cur_c == cur_g {
                c.correct_tags += 1;
            }
            c.tokens += 1;
        }
        last_c = cur_c;
        last_g = cur_g;
    };
    for s in 0..offsets.len() - 1 {
        let (a, b) = (offsets[s] as usize, offsets[s + 1] as usize);
        let (gs, ps) = (&gold_ids[a..b], &pred_ids[a..b]);
        for k in 0..b - a {
            let g = tags.at(gs, s, k)?;
            let p = tags.at(ps, s, k)?;
            if boundary.is_some_and(|m| m[a + k]) {
                step(outside, outside, false);
            } else {
                step(g, p, true);
            }
        }
        step(outside, outside, false);
    }
    if in_correct {
        c.correct_chunk[last_c.1 as usize] += 1;
    }
    Ok(c)
}

/// The tag strings of `scheme` for `type_names`: id 0 is `O`, then for type `t` the ids
/// `1 + t * k + j` are the scheme's [`Scheme::letters`] `j` (`k` letters per type), written
/// `B-PER` (or `PER-B` with `suffix`).
///
/// # Errors
/// [`Error::Tag`] for an empty type name, one that starts or ends with `-` (it would not read
/// back the same), or a repeated name.
pub fn tag_vocabulary<S: AsRef<str>>(
    scheme: Scheme,
    type_names: &[S],
    suffix: bool,
) -> Result<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(1 + type_names.len() * scheme.letters().len());
    out.push("O".to_string());
    for name in type_names {
        let name = name.as_ref();
        if name.is_empty() || name.starts_with('-') || name.ends_with('-') {
            return Err(Error::Tag(format!(
                "type name {name:?} cannot be written in a tag (empty, or starts or ends with '-')"
            )));
        }
        if !seen.insert(name) {
            return Err(Error::Tag(format!("type name {name:?} repeats")));
        }
        for p in scheme.letters() {
            out.push(if suffix {
                format!("{name}-{}", p.letter())
            } else {
                format!("{}-{name}", p.letter())
            });
        }
    }
    Ok(out)
}

/// Write spans as tag ids of `scheme` (ids into [`tag_vocabulary`] for `n_types` types).
///
/// `offsets` (length sentences + 1, from 0, non-decreasing) give the sentence lengths; spans
/// may come in any order; tokens outside every span get `O` (id 0).
///
/// # Errors
/// [`Error::Shape`] for columns of unequal length, bad offsets, a sentence index or type id
/// out of range; [`Error::Offset`] for an empty or reversed span, one that ends past its
/// sentence, or two spans that overlap (naming the sentence and both spans).
pub fn encode(
    scheme: Scheme,
    n_types: usize,
    spans: &SpanColumns<'_>,
    offsets: &[i64],
) -> Result<Vec<i32>> {
    let m = spans.doc.len();
    if spans.label.len() != m || spans.start.len() != m || spans.end.len() != m {
        return Err(Error::Shape(format!(
            "span columns differ in length: sentence {m}, type {}, start {}, end {}",
            spans.label.len(),
            spans.start.len(),
            spans.end.len()
        )));
    }
    let total = offsets.last().copied().unwrap_or(0).max(0) as usize;
    check_offsets(offsets, total, "sentence")?;
    let n_sent = offsets.len() - 1;
    let k = scheme.letters().len();
    let id_count = 1 + n_types * k;
    if id_count > i32::MAX as usize {
        return Err(Error::Shape(format!("{n_types} types are too many")));
    }
    for j in 0..m {
        let (s, t) = (spans.doc[j], spans.label[j]);
        if s < 0 || s as usize >= n_sent {
            return Err(Error::Shape(format!(
                "span {j}: sentence {s} is outside 0..{n_sent}"
            )));
        }
        if t < 0 || t as usize >= n_types {
            return Err(Error::Shape(format!(
                "span {j}: type id {t} is outside 0..{n_types}"
            )));
        }
        let len = offsets[s as usize + 1] - offsets[s as usize];
        let (a, b) = (spans.start[j], spans.end[j]);
        if a < 0 || b <= a || b > len {
            return Err(Error::Offset(format!(
                "sentence {s}: span [{a}, {b}) is empty, reversed or outside the sentence \
                 ({len} tokens)"
            )));
        }
    }
    let mut order: Vec<usize> = (0..m).collect();
    order.par_sort_unstable_by_key(|&j| (spans.doc[j], spans.start[j], spans.end[j]));
    let slot = |t: i64, p: Prefix| -> i32 {
        let j = scheme.letters().iter().position(|&q| q == p).unwrap_or(0);
        (1 + t as usize * k + j) as i32
    };
    let [begin, inside, end, single] = scheme.roles();
    let mut out = vec![0i32; total];
    for (x, &j) in order.iter().enumerate() {
        let (s, t, a, b) = (spans.doc[j], spans.label[j], spans.start[j], spans.end[j]);
        let prev = (x > 0).then(|| order[x - 1]).filter(|&q| spans.doc[q] == s);
        let next = order.get(x + 1).copied().filter(|&q| spans.doc[q] == s);
        if let Some(q) = prev {
            if spans.end[q] > a {
                return Err(Error::Offset(format!(
                    "sentence {s}: spans [{}, {}) and [{a}, {b}) overlap",
                    spans.start[q], spans.end[q]
                )));
            }
        }
        let base = offsets[s as usize] as usize;
        let (a, b) = (base + a as usize, base + b as usize);
        if b - a == 1 {
            out[a] = slot(t, single);
        } else {
            out[a] = slot(t, begin);
            for o in &mut out[a + 1..b - 1] {
                *o = slot(t, inside);
            }
            out[b - 1] = slot(t, end);
        }
        match scheme {
            Scheme::Iob1
                if prev
                    .is_some_and(|q| spans.label[q] == t && base + spans.end[q] as usize == a) =>
            {
                out[a] = slot(t, Prefix::B);
            }
            Scheme::Ioe1
                if next.is_some_and(|q| {
                    spans.label[q] == t && base + spans.start[q] as usize == b
                }) =>
            {
                out[b - 1] = slot(t, Prefix::E);
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Span = (usize, String, i64, i64);

    /// Decode sentences of tag strings; spans as (sentence, type name, start, end).
    fn spans_of(sents: &[&[&str]], chunking: Chunking, suffix: bool) -> Result<Vec<Span>> {
        let mut vocab: Vec<String> = Vec::new();
        let mut ids = Vec::new();
        let mut offsets = vec![0i64];
        for s in sents {
            for t in *s {
                let id = match vocab.iter().position(|v| v == t) {
                    Some(i) => i,
                    None => {
                        vocab.push(t.to_string());
                        vocab.len() - 1
                    }
                };
                ids.push(id as i32);
            }
            offsets.push(ids.len() as i64);
        }
        let ts = TagSet::parse(&vocab, chunking.dialect(), suffix)?;
        let tab = decode(&ts, &ids, &offsets, chunking)?;
        Ok((0..tab.len())
            .map(|k| {
                (
                    tab.sentence[k] as usize,
                    ts.type_names()[tab.type_id[k] as usize].clone(),
                    tab.start[k],
                    tab.end[k],
                )
            })
            .collect())
    }

    fn one(tags: &[&str], chunking: Chunking) -> Vec<(String, i64, i64)> {
        spans_of(&[tags], chunking, false)
            .unwrap()
            .into_iter()
            .map(|(_, t, a, b)| (t, a, b))
            .collect()
    }

    fn sp(t: &str, a: i64, b: i64) -> (String, i64, i64) {
        (t.to_string(), a, b)
    }

    #[test]
    fn lenient_matches_seqeval_examples() {
        let l = Chunking::Lenient;
        assert_eq!(
            one(&["B-PER", "I-PER", "O", "B-LOC"], l),
            vec![sp("PER", 0, 2), sp("LOC", 3, 4)]
        );
        assert_eq!(one(&["I-X", "I-X"], l), vec![sp("X", 0, 2)]);
        assert_eq!(one(&["B-X", "I-Y"], l), vec![sp("X", 0, 1), sp("Y", 1, 2)]);
        assert_eq!(
            one(&["O", "I-X", "E-X", "S-X"], l),
            vec![sp("X", 1, 3), sp("X", 3, 4)]
        );
        // U and L are not letters of seqeval's default rules.
        assert_eq!(one(&["U-X", "U-X"], l), vec![sp("X", 0, 2)]);
        assert_eq!(one(&["B-X", "L-X", "B-X", "L-X"], l), vec![sp("X", 2, 4)]);
        // Types keep '.' and inner '-'.
        assert_eq!(
            one(&["B-PER.NAM", "I-PER.NAM"], l),
            vec![sp("PER.NAM", 0, 2)]
        );
        assert_eq!(one(&["B-A-B", "I-A-B"], l), vec![sp("A-B", 0, 2)]);
        // A letter alone is a chunk of type '_'.
        assert_eq!(one(&["B", "I", "O"], l), vec![sp("_", 0, 2)]);
    }

    #[test]
    fn lenient_stale_start() {
        // E-X ends, M-X neither starts nor continues: seqeval closes [0, 3) from the last start.
        assert_eq!(
            one(&["B-X", "E-X", "M-X", "O"], Chunking::Lenient),
            vec![sp("X", 0, 2), sp("X", 0, 3)]
        );
        // The same in a later sentence whose chunk began in the previous one is an error.
        let e = spans_of(&[&["B-X"], &["M"], &["B-X"]], Chunking::Lenient, false);
        assert!(e.is_ok());
        let e = spans_of(&[&["B-X"], &["O", "M", "B-X"]], Chunking::Lenient, false).unwrap_err();
        assert!(e.to_string().contains("earlier sentence"), "{e}");
        // seqeval starts from type '' (not '_'): a bare M starts a chunk in sentence 0 only.
        assert_eq!(
            one(&["M", "B-X"], Chunking::Lenient),
            vec![sp("_", 0, 1), sp("X", 1, 2)]
        );
        // In sentence 0 a chunk closed without a start begins at 0, seqeval's initial value.
        assert_eq!(
            one(&[".", "E", "O"], Chunking::Lenient),
            vec![sp("_", 0, 2)]
        );
    }

    #[test]
    fn seqeval_counts_cross_sentence_chunks_in_stream_positions() {
        let vocab = ["B-X", "O", "M", "I-X"];
        let ts = TagSet::parse(&vocab, Dialect::Seqeval, false).unwrap();
        // [O B-X] [O M B-X]: seqeval's get_entities gives X (1, 1), _ (1, 4), X (5, 5).
        let gold = [1, 0, 1, 2, 0];
        let offs = [0, 2, 5];
        let c = seqeval_counts(&ts, &gold, &offs, &gold, &offs, Chunking::Lenient).unwrap();
        let x = ts.type_names().iter().position(|n| n == "X").unwrap();
        let u = ts.type_names().iter().position(|n| n == "_").unwrap();
        assert_eq!((c.gold[x], c.gold[u], c.tp[x], c.tp[u]), (2, 1, 2, 1));
        // [B-X O] [O M B-X]: X (0, 0), _ (0, 4), X (5, 5): the '_' chunks differ.
        let pred = [0, 1, 1, 2, 0];
        let c = seqeval_counts(&ts, &gold, &offs, &pred, &offs, Chunking::Lenient).unwrap();
        assert_eq!((c.pred[x], c.pred[u], c.tp[x], c.tp[u]), (2, 1, 1, 0));
        assert_eq!((c.correct_tokens, c.tokens), (3, 5));
        assert!(decode(&ts, &gold, &offs, Chunking::Lenient).is_err());
    }

    #[test]
    fn suffix_tags() {
        let got = spans_of(
            &[&["PER-B", "PER-I", "O", "LOC-S"]],
            Chunking::Lenient,
            true,
        )
        .unwrap();
        assert_eq!(got, vec![(0, "PER".into(), 0, 2), (0, "LOC".into(), 3, 4)]);
        let got = spans_of(
            &[&["PER-B", "PER-E", "LOC-S"]],
            Chunking::SeqevalStrict(Scheme::Iobes),
            true,
        )
        .unwrap();
        assert_eq!(got, vec![(0, "PER".into(), 0, 2), (0, "LOC".into(), 2, 3)]);
    }

    #[test]
    fn strict_invalid_sequences_give_nothing() {
        let iob2 = Chunking::SeqevalStrict(Scheme::Iob2);
        assert_eq!(one(&["I-X", "I-X"], iob2), vec![]);
        assert_eq!(one(&["B-X", "I-Y"], iob2), vec![sp("X", 0, 1)]);
        assert_eq!(
            one(&["B-X", "I-X", "O", "B-Y"], iob2),
            vec![sp("X", 0, 2), sp("Y", 3, 4)]
        );
        let iobes = Chunking::SeqevalStrict(Scheme::Iobes);
        assert_eq!(one(&["B-X", "I-X"], iobes), vec![]);
        assert_eq!(
            one(&["B-X", "I-X", "E-X", "S-Y"], iobes),
            vec![sp("X", 0, 3), sp("Y", 3, 4)]
        );
        let bilou = Chunking::SeqevalStrict(Scheme::Bilou);
        assert_eq!(
            one(&["B-X", "L-X", "U-X"], bilou),
            vec![sp("X", 0, 2), sp("X", 2, 3)]
        );
        let ioe2 = Chunking::SeqevalStrict(Scheme::Ioe2);
        assert_eq!(
            one(&["I-X", "E-X", "E-X"], ioe2),
            vec![sp("X", 0, 2), sp("X", 2, 3)]
        );
        assert_eq!(one(&["I-X", "I-X"], ioe2), vec![]);
        let bmes = Chunking::Strict(Scheme::Bmes);
        assert_eq!(
            one(&["B-N", "M-N", "E-N", "S-N"], bmes),
            vec![sp("N", 0, 3), sp("N", 3, 4)]
        );
    }

    #[test]
    fn strict_rejects_letters_outside_the_scheme() {
        let e = spans_of(
            &[&["O"], &["B-X", "E-X"]],
            Chunking::SeqevalStrict(Scheme::Iob2),
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "tag: sentence 1, token 1: tag \"E-X\" is not a tag of IOB2 (letters BI and O)"
        );
        let e = spans_of(&[&["M-X"]], Chunking::Strict(Scheme::Iobes), false).unwrap_err();
        assert!(e.to_string().contains("\"M-X\""), "{e}");
        assert!(spans_of(&[&["."]], Chunking::Strict(Scheme::Iob2), false).is_err());
    }

    #[test]
    fn unknown_tags_are_errors() {
        for bad in ["X-PER", "BPER", "O-PER", "", "b-PER", "PER"] {
            let e = TagSet::parse(&[bad], Dialect::Seqeval, false).unwrap_err();
            assert!(matches!(e, Error::Tag(_)));
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
        assert!(TagSet::parse(&["B-PER"], Dialect::Seqeval, true).is_err());
        assert!(TagSet::parse(&["PER-B"], Dialect::Conlleval, true).is_err());
    }

    #[test]
    fn type_reading_per_dialect() {
        let tags = ["B-X-", "B--X", "B", "B-0", "O"];
        let names = |d| {
            let ts = TagSet::parse(&tags, d, false).unwrap();
            (0..tags.len())
                .map(|i| ts.type_names()[ts.get(i).unwrap().1 as usize].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(Dialect::Seqeval), ["X-", "-X", "_", "0", "_"]);
        assert_eq!(names(Dialect::SeqevalStrict), ["X", "X", "_", "0", "_"]);
        assert_eq!(names(Dialect::Conlleval), ["X-", "-X", "", "", ""]);
    }

    #[test]
    fn ioe1_seqeval_quirk() {
        let tags = ["E-X", "I-X"];
        assert_eq!(
            one(&tags, Chunking::SeqevalStrict(Scheme::Ioe1)),
            vec![sp("X", 1, 2)]
        );
        assert_eq!(
            one(&tags, Chunking::Strict(Scheme::Ioe1)),
            vec![sp("X", 0, 1), sp("X", 1, 2)]
        );
        let tags = ["I-Y", "E-X", "I-X"];
        assert_eq!(
            one(&tags, Chunking::SeqevalStrict(Scheme::Ioe1)),
            vec![sp("Y", 0, 1), sp("X", 2, 3)]
        );
        assert_eq!(
            one(&tags, Chunking::Strict(Scheme::Ioe1)),
            vec![sp("Y", 0, 1), sp("X", 1, 2), sp("X", 2, 3)]
        );
    }

    #[test]
    fn no_pattern_starts_or_continues_at_o() {
        for sc in Scheme::ALL {
            for exact in [false, true] {
                let p = Patterns::new(sc, exact);
                for row in 0..N_PREFIX {
                    assert_eq!(p.start[row][Prefix::O as usize], 0, "{sc:?}");
                    assert_eq!(p.inside[row][Prefix::O as usize], 0, "{sc:?}");
                }
            }
        }
    }

    #[test]
    fn bad_ids_and_offsets() {
        let ts = TagSet::parse(&["O", "B-X"], Dialect::Seqeval, false).unwrap();
        let e = decode(&ts, &[0, 2], &[0, 2], Chunking::Lenient).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shape: sentence 0, token 1: tag id 2 is outside 0..2"
        );
        assert!(decode(&ts, &[0, 1], &[0, 1], Chunking::Lenient).is_err());
        assert!(decode(&ts, &[0, 1], &[1, 2], Chunking::Lenient).is_err());
        assert!(decode(&ts, &[0, 1], &[0, 2, 1, 2], Chunking::Lenient).is_err());
        assert!(decode(&ts, &[0, 1], &[0, 2], Chunking::Strict(Scheme::Iob2)).is_err());
        let empty = decode(&ts, &[], &[0], Chunking::Lenient).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn encode_errors() {
        let cols = |s: &'static [i64], t: &'static [i64], a: &'static [i64], b: &'static [i64]| {
            SpanColumns {
                doc: s,
                label: t,
                start: a,
                end: b,
            }
        };
        let e = encode(
            Scheme::Iob2,
            2,
            &cols(&[0, 0], &[0, 1], &[0, 2], &[3, 4]),
            &[0, 5],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "offset: sentence 0: spans [0, 3) and [2, 4) overlap"
        );
        assert!(matches!(
            encode(Scheme::Iob2, 2, &cols(&[0], &[0], &[3], &[6]), &[0, 5]),
            Err(Error::Offset(_))
        ));
        assert!(matches!(
            encode(Scheme::Iob2, 2, &cols(&[0], &[0], &[2], &[2]), &[0, 5]),
            Err(Error::Offset(_))
        ));
        assert!(matches!(
            encode(Scheme::Iob2, 2, &cols(&[1], &[0], &[0], &[1]), &[0, 5]),
            Err(Error::Shape(_))
        ));
        assert!(matches!(
            encode(Scheme::Iob2, 2, &cols(&[0], &[2], &[0], &[1]), &[0, 5]),
            Err(Error::Shape(_))
        ));
        assert!(tag_vocabulary(Scheme::Iob2, &["A", "A"], false).is_err());
        assert!(tag_vocabulary(Scheme::Iob2, &["-A"], false).is_err());
        assert!(tag_vocabulary(Scheme::Iob2, &[""], false).is_err());
    }

    #[test]
    fn encode_each_scheme() {
        // X [0,1), X [1,3), Y [3,4) in a sentence of 5.
        let cols = SpanColumns {
            doc: &[0, 0, 0],
            label: &[0, 0, 1],
            start: &[1, 0, 3],
            end: &[3, 1, 4],
        };
        let want = [
            (Scheme::Iob1, "I-X B-X I-X I-Y O"),
            (Scheme::Iob2, "B-X B-X I-X B-Y O"),
            (Scheme::Ioe1, "E-X I-X I-X I-Y O"),
            (Scheme::Ioe2, "E-X I-X E-X E-Y O"),
            (Scheme::Iobes, "S-X B-X E-X S-Y O"),
            (Scheme::Bilou, "U-X B-X L-X U-Y O"),
            (Scheme::Bmes, "S-X B-X E-X S-Y O"),
        ];
        for (sc, w) in want {
            let vocab = tag_vocabulary(sc, &["X", "Y"], false).unwrap();
            let ids = encode(sc, 2, &cols, &[0, 5]).unwrap();
            let got: Vec<&str> = ids.iter().map(|&i| vocab[i as usize].as_str()).collect();
            assert_eq!(got.join(" "), w, "{sc:?}");
        }
    }

    /// conlleval on gold/guess strings of one sentence.
    fn conll(gold: &[&str], pred: &[&str]) -> (ConllCounts, Vec<String>) {
        let mut vocab: Vec<String> = Vec::new();
        let mut ids = |tags: &[&str]| -> Vec<i32> {
            tags.iter()
                .map(|t| match vocab.iter().position(|v| v == t) {
                    Some(i) => i as i32,
                    None => {
                        vocab.push(t.to_string());
                        (vocab.len() - 1) as i32
                    }
                })
                .collect()
        };
        let g = ids(gold);
        let p = ids(pred);
        let ts = TagSet::parse(&vocab, Dialect::Conlleval, false).unwrap();
        let c = conlleval_counts(&ts, &g, &p, &[0, g.len() as i64], None).unwrap();
        (c, ts.type_names().to_vec())
    }

    fn total(v: &[u64]) -> u64 {
        v.iter().sum()
    }

    #[test]
    fn conlleval_differs_from_seqeval_on_iobes() {
        // conlleval: S is unknown, E-X B-X continues a chunk.
        let (c, _) = conll(&["S-X", "S-X"], &["S-X", "S-X"]);
        assert_eq!((total(&c.found_correct), total(&c.correct_chunk)), (1, 1));
        let (c, _) = conll(&["B-X", "E-X", "B-X", "E-X"], &["B-X", "E-X", "B-X", "E-X"]);
        assert_eq!((total(&c.found_correct), total(&c.correct_chunk)), (1, 1));
        let lenient = one(&["B-X", "E-X", "B-X", "E-X"], Chunking::Lenient);
        assert_eq!(lenient.len(), 2);
    }

    #[test]
    fn conlleval_counts_example() {
        let gold = ["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "O", "B-ORG"];
        let pred = ["B-PER", "I-PER", "O", "B-LOC", "O", "O", "I-ORG"];
        let (c, names) = conll(&gold, &pred);
        let by = |v: &[u64], n: &str| v[names.iter().position(|x| x == n).unwrap()];
        assert_eq!(total(&c.found_correct), 3);
        assert_eq!(total(&c.found_guessed), 3);
        assert_eq!(total(&c.correct_chunk), 2);
        assert_eq!(by(&c.correct_chunk, "LOC"), 0);
        assert_eq!(by(&c.correct_chunk, "ORG"), 1);
        assert_eq!((c.correct_tags, c.tokens), (5, 7));
    }

    #[test]
    fn conlleval_boundary_tokens() {
        let ts = TagSet::parse(&["O", "B-X", "I-X"], Dialect::Conlleval, false).unwrap();
        let ids = [1, 2, 2];
        // The middle token is a "-X-" line: a sentence break, so two chunks.
        let c = conlleval_counts(&ts, &ids, &ids, &[0, 3], Some(&[false, true, false])).unwrap();
        assert_eq!(
            (total(&c.found_correct), total(&c.correct_chunk), c.tokens),
            (2, 2, 2)
        );
    }

    // ---- properties ----

    /// Sentences as lists of (gap, length, type) segments.
    fn sentences() -> impl Strategy<Value = Vec<Vec<(usize, usize, usize)>>> {
        proptest::collection::vec(
            proptest::collection::vec((0usize..3, 1usize..5, 0usize..3), 0..6),
            0..6,
        )
    }

    fn layout(sents: &[Vec<(usize, usize, usize)>]) -> (Vec<i64>, SpanTable) {
        let mut offsets = vec![0i64];
        let mut tab = SpanTable::default();
        for (s, segs) in sents.iter().enumerate() {
            let mut pos = 0usize;
            for &(gap, len, t) in segs {
                pos += gap;
                tab.sentence.push(s as i64);
                tab.type_id.push(t as i64);
                tab.start.push(pos as i64);
                tab.end.push((pos + len) as i64);
                pos += len;
            }
            let tail = segs.len() % 2;
            offsets.push(offsets[s] + (pos + tail) as i64);
        }
        (offsets, tab)
    }

    const TYPES: [&str; 3] = ["PER", "LOC.NAM", "A-B"];

    /// Spans decoded from `ids`, mapped to type names, sorted.
    fn decoded(
        vocab: &[String],
        ids: &[i32],
        offsets: &[i64],
        chunking: Chunking,
        suffix: bool,
    ) -> Vec<(i64, String, i64, i64)> {
        let ts = TagSet::parse(vocab, chunking.dialect(), suffix).unwrap();
        let tab = decode(&ts, ids, offsets, chunking).unwrap();
        let mut v: Vec<_> = (0..tab.len())
            .map(|k| {
                (
                    tab.sentence[k],
                    ts.type_names()[tab.type_id[k] as usize].clone(),
                    tab.start[k],
                    tab.end[k],
                )
            })
            .collect();
        v.sort();
        v
    }

    fn named(tab: &SpanTable) -> Vec<(i64, String, i64, i64)> {
        let mut v: Vec<_> = (0..tab.len())
            .map(|k| {
                (
                    tab.sentence[k],
                    TYPES[tab.type_id[k] as usize].to_string(),
                    tab.start[k],
                    tab.end[k],
                )
            })
            .collect();
        v.sort();
        v
    }

    proptest! {
        #[test]
        fn round_trip_every_scheme(sents in sentences(), suffix in any::<bool>()) {
            let (offsets, tab) = layout(&sents);
            let want = named(&tab);
            for sc in Scheme::ALL {
                let vocab = tag_vocabulary(sc, &TYPES, suffix).unwrap();
                let ids = encode(sc, TYPES.len(), &tab.columns(), &offsets).unwrap();
                prop_assert_eq!(&decoded(&vocab, &ids, &offsets, Chunking::Strict(sc), suffix), &want, "{:?}", sc);
                if sc != Scheme::Ioe1 {
                    prop_assert_eq!(&decoded(&vocab, &ids, &offsets, Chunking::SeqevalStrict(sc), suffix), &want, "{:?}", sc);
                }
                // Strict decoding of a valid sequence equals lenient decoding, except for
                // BILOU, whose L and U seqeval's default rules do not know.
                if sc != Scheme::Bilou {
                    prop_assert_eq!(&decoded(&vocab, &ids, &offsets, Chunking::Lenient, suffix), &want, "{:?}", sc);
                }
            }
        }

        #[test]
        fn seqeval_ioe1_drops_exactly_the_run_starting_singletons(sents in sentences()) {
            let (offsets, tab) = layout(&sents);
            let vocab = tag_vocabulary(Scheme::Ioe1, &TYPES, false).unwrap();
            let ids = encode(Scheme::Ioe1, TYPES.len(), &tab.columns(), &offsets).unwrap();
            let got = decoded(&vocab, &ids, &offsets, Chunking::SeqevalStrict(Scheme::Ioe1), false);
            let all = named(&tab);
            let adjacent = |x: &(i64, String, i64, i64), y: &(i64, String, i64, i64)| {
                x.0 == y.0 && x.1 == y.1 && x.3 == y.2
            };
            let want: Vec<_> = all
                .iter()
                .enumerate()
                .filter(|(k, x)| {
                    let single = x.3 - x.2 == 1;
                    let after = all.get(k + 1).is_some_and(|y| adjacent(x, y));
                    let before = *k > 0 && adjacent(&all[k - 1], x);
                    !(single && after && !before)
                })
                .map(|(_, x)| x.clone())
                .collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn any_tags_decode_within_bounds(
            sents in proptest::collection::vec(proptest::collection::vec(0usize..64, 0..10), 0..5),
            which in 0usize..9,
        ) {
            let (chunking, vocab): (Chunking, Vec<String>) = match which {
                0 | 1 => (
                    Chunking::Lenient,
                    ["O", ".", "B-X", "I-X", "E-X", "S-X", "M-X", "L-X", "U-X", "B-Y", "I-Y",
                     "E-Y", "S-Y", "B", "I", "M"].iter().map(|s| s.to_string()).collect(),
                ),
                k => {
                    let sc = Scheme::ALL[k - 2];
                    (Chunking::SeqevalStrict(sc), tag_vocabulary(sc, &["X", "Y"], false).unwrap())
                }
            };
            let mut offsets = vec![0i64];
            let mut ids = Vec::new();
            for s in &sents {
                ids.extend(s.iter().map(|&i| (i % vocab.len()) as i32));
                offsets.push(ids.len() as i64);
            }
            let ts = TagSet::parse(&vocab, chunking.dialect(), false).unwrap();
            match decode(&ts, &ids, &offsets, chunking) {
                Ok(tab) => {
                    for k in 0..tab.len() {
                        let s = tab.sentence[k] as usize;
                        let len = offsets[s + 1] - offsets[s];
                        prop_assert!(0 <= tab.start[k] && tab.start[k] < tab.end[k] && tab.end[k] <= len);
                        if chunking != Chunking::Lenient && k > 0 && tab.sentence[k - 1] as usize == s {
                            prop_assert!(tab.end[k - 1] <= tab.start[k]);
                        }
                    }
                }
                Err(e) => prop_assert!(chunking == Chunking::Lenient && matches!(e, Error::Tag(_)), "{}", e),
            }
        }
    }
}
