//! Grounded strings: a byte automaton that accepts exactly the written (escaped) forms of the
//! non-empty substrings of an input text (or, ungrounded, of any valid UTF-8 string), under one
//! format's quoting rules.
//!
//! The text is first turned into *units*, one per character: a character that the format
//! writes as itself is a raw unit (its index among the text's distinct raw characters, sorted
//! by code point, which is also their UTF-8 byte order); a character that the format escapes
//! (`"` in JSON, `<` in XML, a non-printable character in a Python literal) is a special unit;
//! a character that may not appear inside an entity at all (a type-pairs separator) is a
//! barrier unit that nothing can produce. The substring set is answered from the positions of
//! each unit ([`SubstringIndex`], a counting sort per request): a string's state names the
//! leftmost occurrence of what it has written so far. (An earlier version built a suffix
//! automaton, Blumer et al. 1985, per request: O(1) steps, but ten times the setup, which is
//! what a grounded grammar pays on every request.) The output side reads bytes: the bytes of a raw character are collected until it
//! is complete, each prefix checked against the range of characters sharing it; an escape
//! sequence (a small trie of the written forms) completes a special unit. A string may start
//! and end only on a character boundary, so every accepted string is valid UTF-8 and decodes
//! to a substring of the text.
//!
//! Quoting rules ([`Quoting`]):
//! * `Json`: `json.dumps(s, ensure_ascii=False)` — `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`,
//!   `\u00XX` (lowercase hex) for other control characters; closed by `"`.
//! * `PyRepr`: Python's `repr(str)` — single quotes unless the string contains `'` and no `"`;
//!   `\\`, `\n`, `\r`, `\t`, `\xNN`, `\uNNNN`, `\UNNNNNNNN` for non-printable characters (see
//!   [`py_printable`]); in a single-quoted string `'` is written `\'`.
//! * `Xml`: `&amp;`, `&lt;`, `&gt;`; the string ends where a tag starts (`<`).
//! * `Plain { stop }`: no escaping; the string may not contain `stop` (an ASCII separator),
//!   which ends it.

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::text::{is_continuation, utf8_tail_len};

/// Unit that no output can produce (a character excluded from entities).
pub const BARRIER: u32 = u32::MAX;

/// The substrings of a unit sequence, answered from where each unit occurs: no per-request
/// automaton or suffix structure, only a counting sort of the positions by unit (O(n), about
/// a tenth of the instructions a suffix automaton over the same text takes to build).
///
/// A substring is named by its *leftmost* occurrence: `(end, len)` is `units[end - len..end]`
/// with no earlier occurrence (`end` exclusive; the empty string is `(0, 0)`). Its other
/// occurrences are found by scanning the positions of its last unit from `end - 1` on and
/// comparing the `len - 1` units before each, so a query costs O(occurrences of the last unit
/// after `end` × the compared length); [`SubstringIndex::step`] anchors on the rarer of the
/// string's last unit and the unit it appends. Barrier units are never part of a substring.
#[derive(Debug, Clone)]
pub struct SubstringIndex {
    units: Vec<u32>,
    /// `pos[start[u] as usize..start[u + 1] as usize]`: the positions of unit `u`, increasing.
    start: Vec<u32>,
    pos: Vec<u32>,
}

impl SubstringIndex {
    /// Index `units` (O(n + the largest unit)); [`BARRIER`] units are left out.
    pub fn new(units: Vec<u32>) -> SubstringIndex {
        let n_units = units
            .iter()
            .filter(|&&u| u != BARRIER)
            .map(|&u| u as usize + 1)
            .max()
            .unwrap_or(0);
        let mut start = vec![0u32; n_units + 1];
        for &u in &units {
            if u != BARRIER {
                start[u as usize + 1] += 1;
            }
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut pos = vec![0u32; start[n_units] as usize];
        let mut next = start.clone();
        for (i, &u) in units.iter().enumerate() {
            if u != BARRIER {
                let slot = &mut next[u as usize];
                pos[*slot as usize] = i as u32;
                *slot += 1;
            }
        }
        SubstringIndex { units, start, pos }
    }

    /// Build over the bytes of `text` (each byte one unit).
    pub fn from_bytes(text: &[u8]) -> SubstringIndex {
        SubstringIndex::new(text.iter().map(|&b| u32::from(b)).collect())
    }

    /// True when every unit is a barrier (no non-empty substring).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pos.is_empty()
    }

    /// The indexed units.
    #[inline]
    pub fn units(&self) -> &[u32] {
        &self.units
    }

    /// The number of distinct unit values (units are `0..unit_count()`, barriers aside).
    #[inline]
    pub fn unit_count(&self) -> u32 {
        self.start.len().saturating_sub(1) as u32
    }

    /// Every position of a unit that is not a barrier, by unit (`positions(0)`, then
    /// `positions(1)`, ...).
    #[inline]
    pub fn all_positions(&self) -> &[u32] {
        &self.pos
    }

    /// The positions of unit `u`, increasing (empty for units that do not occur).
    #[inline]
    pub fn positions(&self, u: u32) -> &[u32] {
        match self.start.get(u as usize..u as usize + 2) {
            Some(r) => &self.pos[r[0] as usize..r[1] as usize],
            None => &[],
        }
    }

    /// Do `units[at - len..at]` equal `units[end - len..end]`? (`len >= 1`, both in range.)
    #[inline(always)]
    fn same(&self, end: u32, at: u32, len: u32) -> bool {
        let u = &self.units;
        (1..=len as usize).all(|k| u[at as usize - k] == u[end as usize - k])
    }

    /// The end (exclusive) of every occurrence of the substring `(end, len)`, increasing,
    /// starting with `end` itself (for `len == 0`: every position `0..=n`).
    #[inline]
    pub fn occurrences(&self, end: u32, len: u32) -> impl Iterator<Item = u32> + '_ {
        let (list, pin) = if len == 0 {
            (&[][..], 0..self.units.len() as u32 + 1)
        } else {
            let list = self.positions(self.units[end as usize - 1]);
            let from = list.partition_point(|&p| p + 1 < end);
            (&list[from..], 0..0)
        };
        pin.chain(
            list.iter()
                .map(|&p| p + 1)
                .filter(move |&at| at == end || self.same(end, at, len)),
        )
    }

    /// The substring `(end, len)` followed by unit `u`, as its leftmost occurrence's end
    /// (`None` when that is not a substring).
    #[inline]
    pub fn step(&self, end: u32, len: u32, u: u32) -> Option<u32> {
        let by_u = self.positions(u);
        if len == 0 {
            return by_u.first().map(|&p| p + 1);
        }
        let last = self.positions(self.units[end as usize - 1]);
        if by_u.len() < last.len() {
            // Anchor on `u`: a position of `u` at or after `end`, preceded by the string.
            let from = by_u.partition_point(|&p| p < end);
            by_u[from..]
                .iter()
                .find(|&&p| self.same(end, p, len))
                .map(|&p| p + 1)
        } else {
            let n = self.units.len() as u32;
            self.occurrences(end, len)
                .find(|&at| at < n && self.units[at as usize] == u)
                .map(|at| at + 1)
        }
    }

    /// Is the unit string `s` a substring?
    pub fn contains(&self, s: &[u32]) -> bool {
        let mut end = 0u32;
        for (len, &c) in (0u32..).zip(s) {
            match self.step(end, len, c) {
                Some(e) => end = e,
                None => return false,
            }
        }
        true
    }
}

/// Per-thread table from code point to a character's number in the text being numbered:
/// `base + id`, valid when at least `base` (entries of earlier texts are smaller). Two levels,
/// 256 code points a block, blocks allocated when a text first uses them and kept: a build
/// touches only the blocks of its own characters (a flat table over all code points would
/// fault in, or with transparent huge pages zero, megabytes on a thread's first request).
struct CharIds {
    /// Block of each 256 code points (`0`: none yet; block 0 is never handed out).
    page: Vec<u32>,
    blocks: Vec<[u32; 256]>,
    base: u32,
}

impl CharIds {
    /// Empty: a block index over every code point, the never-used block 0, numbers from 1.
    fn reset(&mut self) {
        self.page = vec![0; (char::MAX as usize >> 8) + 1];
        self.blocks = vec![[0; 256]];
        self.base = 1;
    }
}

thread_local! {
    static CHAR_IDS: std::cell::RefCell<CharIds> = const {
        std::cell::RefCell::new(CharIds {
            page: Vec::new(),
            blocks: Vec::new(),
            base: 1,
        })
    };
}

/// Code points whose blocks [`prepare_thread_tables`] sets up: CJK symbols and punctuation,
/// kana, CJK Unified Ideographs with extension A, and the fullwidth forms (Chinese and
/// Japanese text, the corpora nerlm is built for, lies almost wholly in them).
const PREPARED_RANGES: [(u32, u32); 3] = [(0x3000, 0x4DBF), (0x4E00, 0x9FFF), (0xFF00, 0xFFEF)];

/// Set up this thread's code-point table (see [`CharIds`]) for the blocks of the CJK ranges,
/// ~130 KB, so that the thread's first grounded request over Chinese text does not take a
/// page fault per block it touches (~30 on 3,821 characters of CLUENER, ~2 µs each on a
/// VM). Called when a vocabulary is prepared, i.e. on the thread that prepares it; other
/// threads set their blocks up as their texts need them. Numbering is unchanged.
pub fn prepare_thread_tables() {
    CHAR_IDS.with(|cell| {
        let table = &mut *cell.borrow_mut();
        if table.page.is_empty() {
            table.reset();
        }
        for (lo, hi) in PREPARED_RANGES {
            for block in (lo >> 8)..=(hi >> 8) {
                let p = &mut table.page[block as usize];
                if *p == 0 {
                    *p = table.blocks.len() as u32;
                    table.blocks.push([0; 256]);
                }
            }
        }
    });
}

/// Number the distinct characters of `t` in order of first occurrence: pushes each
/// character's number onto `ids` and returns the distinct characters in that order.
fn number_chars(t: &str, ids: &mut Vec<u32>) -> Vec<char> {
    CHAR_IDS.with(|cell| {
        let table = &mut *cell.borrow_mut();
        if table.page.is_empty() || u64::from(table.base) + t.len() as u64 >= u64::from(u32::MAX) {
            table.reset();
        }
        let base = table.base;
        let mut seen: Vec<char> = Vec::new();
        ids.reserve(t.len());
        let (page, blocks) = (&mut table.page, &mut table.blocks);
        for c in t.chars() {
            let cp = c as usize;
            let mut b = page[cp >> 8] as usize;
            if b == 0 {
                b = blocks.len();
                blocks.push([0; 256]);
                page[cp >> 8] = b as u32;
            }
            let slot = &mut blocks[b][cp & 255];
            if *slot < base {
                *slot = base + seen.len() as u32;
                seen.push(c);
            }
            ids.push(*slot - base);
        }
        table.base = base + seen.len() as u32;
        seen
    })
}

/// Sort `code point << 32 | index` keys (code points are below 2^21): a three-pass radix
/// sort on the code point (7 bits a pass) for many keys, the standard sort for few.
fn sort_code_point_keys(keys: &mut Vec<u64>) {
    if keys.len() < 256 {
        keys.sort_unstable();
        return;
    }
    let mut other = vec![0u64; keys.len()];
    for pass in 0..3 {
        let shift = 32 + 7 * pass;
        let mut count = [0u32; 129];
        for &k in keys.iter() {
            count[((k >> shift) & 127) as usize + 1] += 1;
        }
        for i in 1..129 {
            count[i] += count[i - 1];
        }
        for &k in keys.iter() {
            let b = ((k >> shift) & 127) as usize;
            other[count[b] as usize] = k;
            count[b] += 1;
        }
        std::mem::swap(keys, &mut other);
    }
}

/// A grounding text as a format writes it: every grounded string is the written form of a
/// substring, i.e. `bytes[a..b]` for character boundaries `a < b` within one segment.
#[derive(Debug, Clone)]
pub struct WrittenText {
    /// The written bytes (barrier characters included as themselves).
    pub bytes: Vec<u8>,
    /// `boundary[k]`: does a character's written form end at byte offset `k` (0 included)?
    pub boundary: Vec<bool>,
    /// Byte ranges between barriers, in which substrings lie.
    pub segments: Vec<(u32, u32)>,
    /// `char_start[k]`: the byte offset of character `k`'s written form (`k` up to the number
    /// of characters, whose entry is `bytes.len()`).
    pub char_start: Vec<u32>,
}

/// How a format writes strings (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quoting {
    /// JSON string content, closed by `"`.
    Json,
    /// Python `repr(str)` content; mode 0 = single-quoted, mode 1 = double-quoted.
    PyRepr,
    /// XML character data, ended by `<`.
    Xml,
    /// Unescaped text that may not contain `stop` (ASCII), ended by it.
    Plain {
        /// The separator that ends the string.
        stop: u8,
    },
}

/// Is `c` printable by Python's `str.isprintable()`? Non-printable: categories Cc, Cf, Zl, Zp,
/// Zs (except the ASCII space), Co and Cs. Unassigned code points (Cn) are treated as
/// printable here, which differs from Python only for characters no text should contain.
pub fn py_printable(c: char) -> bool {
    let u = c as u32;
    !matches!(u,
        0x00..=0x1F | 0x7F..=0xA0 | 0xAD
        | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2
        | 0x1680 | 0x180E | 0x2000..=0x200F | 0x2028..=0x202F | 0x205F..=0x2064
        | 0x2066..=0x206F | 0x3000 | 0xD800..=0xF8FF | 0xFEFF | 0xFFF9..=0xFFFB
        | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0001 | 0xE0020..=0xE007F | 0xF0000..=0x10FFFF)
}

/// Written forms of a special character per mode (`None`: cannot be written in that mode).
#[derive(Debug, Clone)]
struct Special {
    forms: [Option<Vec<u8>>; 2],
}

/// The escape sequences of one mode as a trie; node 0 is the root (before the first byte).
#[derive(Debug, Clone, Default)]
struct EscTrie {
    /// Children per node: (byte, node).
    children: Vec<Vec<(u8, u16)>>,
    /// The special index a node completes, if any.
    leaf: Vec<Option<u32>>,
    /// All special indices below (and at) each node.
    below: Vec<Vec<u32>>,
    /// The bytes from the root to each node.
    prefix: Vec<Vec<u8>>,
}

impl EscTrie {
    fn build(specials: &[Special], mode: usize) -> EscTrie {
        let mut t = EscTrie {
            children: vec![Vec::new()],
            leaf: vec![None],
            below: vec![Vec::new()],
            prefix: vec![Vec::new()],
        };
        for (k, sp) in specials.iter().enumerate() {
            let Some(form) = &sp.forms[mode] else {
                continue;
            };
            let mut node = 0usize;
            t.below[0].push(k as u32);
            for &b in form {
                let next = match t.children[node].iter().find(|e| e.0 == b) {
                    Some(&(_, n)) => n as usize,
                    None => {
                        t.children.push(Vec::new());
                        t.leaf.push(None);
                        t.below.push(Vec::new());
                        let mut prefix = t.prefix[node].clone();
                        prefix.push(b);
                        t.prefix.push(prefix);
                        let n = t.children.len() - 1;
                        t.children[node].push((b, n as u16));
                        n
                    }
                };
                node = next;
                t.below[node].push(k as u32);
            }
            t.leaf[node] = Some(k as u32);
        }
        t
    }

    fn child(&self, node: u16, b: u8) -> Option<u16> {
        self.children[node as usize]
            .iter()
            .find(|e| e.0 == b)
            .map(|e| e.1)
    }
}

/// State inside one string (after its opening quote, if any). 16 bytes, `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StrState {
    /// Grounded: the end (exclusive, in characters) of the leftmost occurrence in the text of
    /// the whole characters written so far ([`SubstringIndex`]); 0 at the start and for free
    /// strings.
    pub end: u32,
    /// Characters of the decoded string so far, the incomplete one included.
    pub chars: u32,
    /// Escape-trie node + 1 while inside an escape sequence, else 0.
    pub esc: u16,
    /// Grounded strings: the bytes of the current, incomplete character, left-aligned
    /// (`b0 << 24 | b1 << 16 | ...`); 0 between characters.
    pub part: u32,
    /// Continuation bytes still owed by the current character.
    pub pending: u8,
    /// Bit 0: mode (PyRepr: double-quoted); bit 1: seen `'`; bit 2: seen `"`;
    /// bits 4..=6: free mode, allowed range of the next continuation byte.
    pub flags: u8,
}

impl StrState {
    /// Is this the state at the start of a string (nothing written yet)?
    #[inline]
    pub fn is_fresh(&self) -> bool {
        self.chars == 0 && self.esc == 0 && self.pending == 0 && self.part == 0
    }

    /// The number of whole characters written (`chars` without an incomplete one); for a
    /// grounded string, the length of the substring `(end, len)` of its [`SubstringIndex`].
    #[inline]
    pub fn whole_chars(&self) -> u32 {
        self.chars - u32::from(self.pending != 0)
    }
}

const F_MODE: u8 = 1;
const F_SQ: u8 = 2;
const F_DQ: u8 = 4;

/// Strings of one format, grounded in a text or free. Compile once per request.
#[derive(Debug, Clone)]
pub struct GroundedString {
    quoting: Quoting,
    index: Option<SubstringIndex>,
    /// The grounding text (grounded strings whose written forms are plain concatenations of
    /// per-character forms: every quoting but `PyRepr`), and its written form on first use.
    text: Option<Box<str>>,
    written: std::sync::OnceLock<WrittenText>,
    tries: [EscTrie; 2],
    /// Raw bytes that are never content by themselves (closing bytes, escape markers,
    /// bytes that must be escaped), per mode, as a 256-bit set.
    reserved: [[u64; 4]; 2],
    /// First bytes of escape forms, per mode.
    esc_first: [[u64; 4]; 2],
    max_chars: Option<u16>,
    /// Special index of `'` and `"` (PyRepr), for the quote-choice flags.
    sq: Option<u32>,
    dq: Option<u32>,
    /// PyRepr liveness: per character index `e`, the fewest further characters after
    /// which a `'` (index 0) or a `"` (index 1) can be written when the string so far ends
    /// with character `e` (`u32::MAX`: never); the same at the start of a string.
    to_quote: [Vec<u32>; 2],
    to_quote_at_start: [u32; 2],
    /// The distinct characters the text writes as themselves, sorted: unit `k` is
    /// `raw_chars[k]`; special `j` is unit `raw_chars.len() + j`. Sorting by code point is
    /// sorting by UTF-8 bytes, so the characters that share a byte prefix are a unit range.
    raw_chars: Vec<char>,
}

/// The code points a UTF-8 prefix can still become: `(lowest, highest)`.
fn prefix_range(part: u32, have: u8, len: u8) -> (u32, u32) {
    let bytes = part.to_be_bytes();
    let decode = |fill: u8| -> u32 {
        let b = |i: usize| if i < have as usize { bytes[i] } else { fill };
        match len {
            2 => (u32::from(b(0) & 0x1F) << 6) | u32::from(b(1) & 0x3F),
            3 => {
                (u32::from(b(0) & 0x0F) << 12)
                    | (u32::from(b(1) & 0x3F) << 6)
                    | u32::from(b(2) & 0x3F)
            }
            _ => {
                (u32::from(b(0) & 0x07) << 18)
                    | (u32::from(b(1) & 0x3F) << 12)
                    | (u32::from(b(2) & 0x3F) << 6)
                    | u32::from(b(3) & 0x3F)
            }
        }
    };
    // Only code points whose UTF-8 form has exactly `len` bytes (no overlong forms).
    let (min, max) = match len {
        2 => (0x80, 0x7FF),
        3 => (0x800, 0xFFFF),
        _ => (0x1_0000, 0x10_FFFF),
    };
    (decode(0x80).max(min), decode(0xBF).min(max))
}

#[inline]
fn bit(set: &[u64; 4], b: u8) -> bool {
    set[(b >> 6) as usize] >> (b & 63) & 1 == 1
}

#[inline]
fn set_bit(set: &mut [u64; 4], b: u8) {
    set[(b >> 6) as usize] |= 1 << (b & 63);
}

fn json_form(c: char) -> Option<Vec<u8>> {
    let s = match c {
        '"' => "\\\"".to_string(),
        '\\' => "\\\\".to_string(),
        '\n' => "\\n".to_string(),
        '\r' => "\\r".to_string(),
        '\t' => "\\t".to_string(),
        '\u{08}' => "\\b".to_string(),
        '\u{0C}' => "\\f".to_string(),
        c if (c as u32) < 0x20 => format!("\\u{:04x}", c as u32),
        _ => return None,
    };
    Some(s.into_bytes())
}

fn py_form(c: char) -> Option<Vec<u8>> {
    let s = match c {
        '\\' => "\\\\".to_string(),
        '\n' => "\\n".to_string(),
        '\r' => "\\r".to_string(),
        '\t' => "\\t".to_string(),
        c if py_printable(c) => return None,
        c if (c as u32) < 0x100 => format!("\\x{:02x}", c as u32),
        c if (c as u32) < 0x10000 => format!("\\u{:04x}", c as u32),
        c => format!("\\U{:08x}", c as u32),
    };
    Some(s.into_bytes())
}

/// Whether the ASCII byte `b` has an escape form under `quoting` (`json_form` or
/// `xml_form` is `Some`), without building the form: the written text asks this of all 128.
fn escaped(quoting: &Quoting, b: u8) -> bool {
    match quoting {
        Quoting::Json => b < 0x20 || b == b'"' || b == b'\\',
        Quoting::Xml => matches!(b, b'&' | b'<' | b'>'),
        _ => false,
    }
}

fn xml_form(c: char) -> Option<Vec<u8>> {
    match c {
        '&' => Some(b"&amp;".to_vec()),
        '<' => Some(b"&lt;".to_vec()),
        '>' => Some(b"&gt;".to_vec()),
        _ => None,
    }
}

/// Escape `s` as a JSON string's content, as `json.dumps(s, ensure_ascii=False)` writes it.
pub fn json_escape(s: &str) -> String {
    s.chars()
        .map(|c| match json_form(c) {
            Some(f) => String::from_utf8(f).expect("ASCII"),
            None => c.to_string(),
        })
        .collect()
}

/// Escape `s` as XML character data (`&`, `<`, `>` only).
pub fn xml_escape(s: &str) -> String {
    s.chars()
        .map(|c| match xml_form(c) {
            Some(f) => String::from_utf8(f).expect("ASCII"),
            None => c.to_string(),
        })
        .collect()
}

/// Python's `repr(s)`, quotes included.
pub fn py_repr(s: &str) -> String {
    let double = s.contains('\'') && !s.contains('"');
    let mut out = String::with_capacity(s.len() + 2);
    out.push(if double { '"' } else { '\'' });
    for c in s.chars() {
        match c {
            '\'' if !double => out.push_str("\\'"),
            c => match py_form(c) {
                Some(f) => out.push_str(std::str::from_utf8(&f).expect("ASCII")),
                None => out.push(c),
            },
        }
    }
    out.push(if double { '"' } else { '\'' });
    out
}

impl GroundedString {
    /// Compile strings written with `quoting`, grounded in `text` (`Some`) or free (`None`),
    /// of at most `max_chars` characters.
    ///
    /// # Errors
    /// [`Error::Grammar`] when a `Plain` stop byte is not ASCII.
    pub fn new(
        quoting: Quoting,
        text: Option<&str>,
        max_chars: Option<u16>,
    ) -> Result<GroundedString> {
        if let Quoting::Plain { stop } = quoting {
            if !stop.is_ascii() {
                return Err(Error::Grammar(
                    "a separator must start with an ASCII character".into(),
                ));
            }
        }
        // The special characters: those of the text (grounded) or a fixed set (free).
        let form = |c: char| -> [Option<Vec<u8>>; 2] {
            match &quoting {
                Quoting::Json => [json_form(c), None],
                Quoting::Xml => [xml_form(c), None],
                Quoting::Plain { .. } => [None, None],
                Quoting::PyRepr => match c {
                    '\'' => [Some(b"\\'".to_vec()), Some(b"'".to_vec())],
                    '"' => [Some(b"\"".to_vec()), None],
                    c => {
                        let f = py_form(c);
                        [f.clone(), f]
                    }
                },
            }
        };
        // The text's distinct characters, numbered in order of first occurrence (one table
        // lookup per character; only the distinct ones are sorted).
        let mut first_ids: Vec<u32> = Vec::new();
        let distinct: Vec<char> = match text {
            Some(t) => number_chars(t, &mut first_ids),
            None => (0u8..0x20)
                .map(char::from)
                .chain(['"', '\'', '\\', '&', '<', '>', '\u{7f}'])
                .collect(),
        };
        // The distinct characters in code point order (as indices into `distinct`).
        let mut keyed: Vec<u64> = distinct
            .iter()
            .zip(0u64..)
            .map(|(&c, i)| u64::from(c) << 32 | i)
            .collect();
        sort_code_point_keys(&mut keyed);
        let order: Vec<u32> = keyed.iter().map(|&k| k as u32).collect();
        let mut specials = Vec::new();
        let mut index: FxHashMap<char, u32> = FxHashMap::default();
        for &i in &order {
            let c = distinct[i as usize];
            let forms = form(c);
            if forms.iter().any(Option::is_some) {
                index.insert(c, specials.len() as u32);
                specials.push(Special { forms });
            }
        }
        let stop_char = match quoting {
            Quoting::Plain { stop } => Some(stop as char),
            _ => None,
        };
        let mut quote_at: Vec<u8> = Vec::new();
        // Unit and quote kind of each distinct character: raw characters are numbered in code
        // point order, specials follow them.
        let mut raw_chars: Vec<char> = Vec::new();
        let mut unit_of: Vec<(u32, u8)> = Vec::new();
        if text.is_some() {
            let n_raw = (distinct.len() - specials.len()) as u32
                - u32::from(stop_char.is_some_and(|c| distinct.contains(&c)));
            raw_chars.reserve(n_raw as usize);
            unit_of.resize(distinct.len(), (BARRIER, 0));
            for &i in &order {
                let c = distinct[i as usize];
                unit_of[i as usize] = if Some(c) == stop_char {
                    (BARRIER, 0)
                } else if let Some(&k) = index.get(&c) {
                    let q = match c {
                        '\'' => 1,
                        '"' => 2,
                        _ => 0,
                    };
                    (n_raw + k, q)
                } else {
                    raw_chars.push(c);
                    (raw_chars.len() as u32 - 1, 0)
                };
            }
            debug_assert_eq!(raw_chars.len() as u32, n_raw);
        }
        let substrings = text.map(|_| {
            let units: Vec<u32> = first_ids.iter().map(|&i| unit_of[i as usize].0).collect();
            if quoting == Quoting::PyRepr {
                quote_at = first_ids.iter().map(|&i| unit_of[i as usize].1).collect();
            }
            SubstringIndex::new(units)
        });
        let mut to_quote = [Vec::new(), Vec::new()];
        let mut to_quote_at_start = [u32::MAX; 2];
        if substrings.is_some() && quoting == Quoting::PyRepr {
            for (qi, q) in [(0usize, 1u8), (1, 2)] {
                // cost[e] = characters in (e, next quote q] — what a string whose latest
                // character is character e still needs to include that quote.
                let n = quote_at.len();
                let mut cost = vec![u32::MAX; n];
                let mut acc = u32::MAX;
                for e in (0..n).rev() {
                    if e + 1 < n {
                        acc = if quote_at[e + 1] == q {
                            1
                        } else {
                            acc.saturating_add(1)
                        };
                    }
                    cost[e] = acc;
                }
                to_quote[qi] = cost;
                if quote_at.contains(&q) {
                    to_quote_at_start[qi] = 1;
                }
            }
        }
        let tries = [EscTrie::build(&specials, 0), EscTrie::build(&specials, 1)];
        let mut reserved = [[0u64; 4]; 2];
        let mut esc_first = [[0u64; 4]; 2];
        for mode in 0..2 {
            for &(b, _) in &tries[mode].children[0] {
                set_bit(&mut esc_first[mode], b);
            }
            for b in 0u8..0x20 {
                // Raw control bytes are never content (JSON and Python escape them; XML and
                // plain text keep them only when the text has them, as their own bytes).
                if matches!(quoting, Quoting::Json | Quoting::PyRepr) {
                    set_bit(&mut reserved[mode], b);
                }
            }
            let close: &[u8] = match (&quoting, mode) {
                (Quoting::Json, _) => b"\"\\",
                (Quoting::PyRepr, 0) => b"'\\\x7f",
                (Quoting::PyRepr, _) => b"\"\\\x7f",
                (Quoting::Xml, _) => b"<>&",
                (Quoting::Plain { stop }, _) => std::slice::from_ref(stop),
            };
            for &b in close {
                set_bit(&mut reserved[mode], b);
            }
        }
        Ok(GroundedString {
            text: text.filter(|_| quoting != Quoting::PyRepr).map(Box::from),
            written: std::sync::OnceLock::new(),
            to_quote,
            to_quote_at_start,
            raw_chars,
            sq: index.get(&'\'').copied(),
            dq: index.get(&'"').copied(),
            quoting,
            index: substrings,
            tries,
            reserved,
            esc_first,
            max_chars,
        })
    }

    /// The substring index of the grounding text (`None`: free strings). Its units are the
    /// text's characters, one each: equal units are equal written forms, and raw characters
    /// are numbered in code point order.
    pub fn substring_index(&self) -> Option<&SubstringIndex> {
        self.index.as_ref()
    }

    /// The grounding text as this format writes it, for enumerating the written forms of its
    /// substrings directly (`None`: free strings, or `PyRepr`, whose quote choice depends on
    /// the whole string). Built on first use.
    pub fn written_text(&self) -> Option<&WrittenText> {
        let text = self.text.as_deref()?;
        Some(self.written.get_or_init(|| {
            // Only ASCII characters are written otherwise (escaped, or a barrier), so the text
            // is read as bytes: runs between those are copied whole, with a character
            // boundary before every byte that is not a UTF-8 continuation.
            let stop = match self.quoting {
                Quoting::Plain { stop } => Some(stop),
                _ => None,
            };
            let form_of = |c: u8| match self.quoting {
                Quoting::Json => json_form(c as char),
                Quoting::Xml => xml_form(c as char),
                _ => None,
            };
            let mut special = [false; 128];
            for c in 0u8..128 {
                special[c as usize] = Some(c) == stop || escaped(&self.quoting, c);
            }
            let src = text.as_bytes();
            let mut bytes = Vec::with_capacity(src.len() + 16);
            let mut boundary = Vec::with_capacity(src.len() + 17);
            boundary.push(true);
            let mut segments = Vec::new();
            let mut seg_start = 0u32;
            let mut char_start = Vec::with_capacity(src.len() + 1);
            let mut i = 0;
            while i < src.len() {
                // A run of bytes written as themselves, copied whole.
                let end = src[i..]
                    .iter()
                    .position(|&b| b < 0x80 && special[b as usize])
                    .map_or(src.len(), |p| i + p);
                if end > i {
                    let base = bytes.len() as u32 - i as u32;
                    bytes.extend_from_slice(&src[i..end]);
                    char_start.extend(
                        (i..end)
                            .filter(|&j| !is_continuation(src[j]))
                            .map(|j| base + j as u32),
                    );
                    boundary.extend(src[i + 1..end].iter().map(|&x| !is_continuation(x)));
                    // After the run: the text's end, or a special (ASCII) byte.
                    boundary.push(true);
                    i = end;
                    continue;
                }
                let b = src[i];
                i += 1;
                char_start.push(bytes.len() as u32);
                if Some(b) == stop {
                    // A barrier: no substring spans it.
                    if (bytes.len() as u32) > seg_start {
                        segments.push((seg_start, bytes.len() as u32));
                    }
                    bytes.push(b);
                    boundary.push(true);
                    seg_start = bytes.len() as u32;
                    continue;
                }
                let form = form_of(b).expect("a special character has a written form");
                bytes.extend_from_slice(&form);
                boundary.extend(std::iter::repeat_n(false, form.len() - 1));
                boundary.push(true);
            }
            if (bytes.len() as u32) > seg_start {
                segments.push((seg_start, bytes.len() as u32));
            }
            char_start.push(bytes.len() as u32);
            WrittenText {
                bytes,
                boundary,
                segments,
                char_start,
            }
        }))
    }

    /// Where the written text goes on after each occurrence of what grounded string state `s`
    /// has written: calls `f(from, segment_end)` with the byte offset in
    /// [`GroundedString::written_text`] right after the occurrence (its incomplete character's
    /// or escape's bytes included) and the end of the segment it lies in, for every
    /// occurrence, leftmost first. Every continuation of `s` is a prefix of
    /// `bytes[from..segment_end]` for some call. Does nothing for free strings and for
    /// `PyRepr` (no written text).
    pub fn for_each_continuation(&self, s: StrState, mut f: impl FnMut(usize, usize)) {
        let (Some(index), Some(text)) = (&self.index, self.written_text()) else {
            return;
        };
        // The bytes of the incomplete character or escape, which the written text must
        // continue with.
        let part = s.part.to_be_bytes();
        let partial: &[u8] = if s.esc != 0 {
            &self.tries[(s.flags & F_MODE) as usize].prefix[s.esc as usize - 1]
        } else if s.pending != 0 {
            let width = utf8_tail_len(part[0]).expect("lead byte") + 1;
            &part[..(width - s.pending) as usize]
        } else {
            &[]
        };
        let emit = |at: u32| {
            let w = text.char_start[at as usize] as usize;
            let from = w + partial.len();
            if from <= text.bytes.len() && text.bytes[w..from] == *partial {
                let seg = text
                    .segments
                    .partition_point(|&(_, end)| (end as usize) < from);
                if let Some(&(start, end)) = text.segments.get(seg) {
                    if start as usize <= w && from <= end as usize {
                        f(from, end as usize);
                    }
                }
            }
        };
        index.occurrences(s.end, s.whole_chars()).for_each(emit);
    }

    /// The most characters a string may hold.
    pub fn max_chars(&self) -> Option<u16> {
        self.max_chars
    }

    /// The quoting rules.
    pub fn quoting(&self) -> &Quoting {
        &self.quoting
    }

    /// Is the string grounded in a text?
    pub fn is_grounded(&self) -> bool {
        self.index.is_some()
    }

    /// The state at the start of a string in `mode` (PyRepr: 0 single-quoted, 1 double).
    pub fn start(&self, mode: u8) -> StrState {
        StrState {
            end: 0,
            chars: 0,
            esc: 0,
            part: 0,
            pending: 0,
            flags: if mode == 1 { F_MODE } else { 0 },
        }
    }

    /// Can any string be written at all? Not when grounded in a text without a character an
    /// entity may hold (the empty text), nor with a limit of 0 characters.
    #[inline]
    pub fn can_open(&self) -> bool {
        self.max_chars != Some(0) && self.index.as_ref().is_none_or(|i| !i.is_empty())
    }

    /// Can a string in state `s` still be closed? Only Python literals can get stuck: a
    /// double-quoted one must contain `'`, a single-quoted one holding `\'` must contain `"`
    /// (otherwise `repr` would have chosen the other quotes). Grounded strings check that a
    /// later quote of the needed kind exists after the earliest occurrence of the prefix.
    #[inline]
    pub fn is_live(&self, s: StrState) -> bool {
        if s.is_fresh() && !self.can_open() {
            return false;
        }
        if self.quoting != Quoting::PyRepr {
            return true;
        }
        let need = if s.flags & F_MODE != 0 {
            (s.flags & F_SQ == 0).then_some(0)
        } else {
            (s.flags & F_SQ != 0 && s.flags & F_DQ == 0).then_some(1)
        };
        let Some(q) = need else { return true };
        let further = match &self.index {
            Some(index) => match s.whole_chars() {
                0 => self.to_quote_at_start[q],
                len => index
                    .occurrences(s.end, len)
                    .map(|at| self.to_quote[q][at as usize - 1])
                    .min()
                    .unwrap_or(u32::MAX),
            },
            None => 1,
        };
        further != u32::MAX
            && self
                .max_chars
                .is_none_or(|m| s.chars.saturating_add(further) <= u32::from(m))
    }

    /// Is `s` inside an escape sequence?
    #[inline]
    pub fn in_escape(&self, s: StrState) -> bool {
        s.esc != 0
    }

    /// May the string end in `s` (its closing byte written or the outer grammar go on)?
    #[inline]
    pub fn can_close(&self, s: StrState) -> bool {
        if s.chars == 0 || s.pending != 0 || s.esc != 0 {
            return false;
        }
        if self.quoting == Quoting::PyRepr {
            let (sq, dq) = (s.flags & F_SQ != 0, s.flags & F_DQ != 0);
            return if s.flags & F_MODE == 0 { !sq || dq } else { sq };
        }
        true
    }

    #[inline]
    fn room(&self, s: StrState) -> bool {
        self.max_chars.is_none_or(|m| s.chars < u32::from(m))
    }

    /// Consume special `k` (a whole character).
    #[inline]
    fn feed_special(&self, mut s: StrState, k: u32) -> Option<StrState> {
        if let Some(index) = &self.index {
            s.end = index.step(s.end, s.chars, self.raw_chars.len() as u32 + k)?;
        }
        s.chars = s.chars.saturating_add(1);
        if Some(k) == self.sq {
            s.flags |= F_SQ;
        }
        if Some(k) == self.dq {
            s.flags |= F_DQ;
        }
        self.is_live(s).then_some(s)
    }

    /// Consume raw byte `r`.
    #[inline]
    fn feed_raw(&self, mut s: StrState, r: u8) -> Option<StrState> {
        if let Some(index) = &self.index {
            return self.feed_grounded(index, s, r);
        }
        if s.pending == 0 {
            if !self.room(s) {
                return None;
            }
            let tail = utf8_tail_len(r)?;
            s.pending = tail;
            s.chars = s.chars.saturating_add(1);
            let code = match r {
                0xE0 => 1,
                0xED => 2,
                0xF0 => 3,
                0xF4 => 4,
                _ => 0,
            };
            s.flags = (s.flags & 0x0F) | (code << 4);
        } else {
            if !is_continuation(r) {
                return None;
            }
            if self.index.is_none() {
                let ok = match s.flags >> 4 {
                    1 => r >= 0xA0,
                    2 => r <= 0x9F,
                    3 => r >= 0x90,
                    4 => r <= 0x8F,
                    _ => true,
                };
                if !ok {
                    return None;
                }
            }
            s.flags &= 0x0F;
            s.pending -= 1;
        }
        self.is_live(s).then_some(s)
    }

    /// Can a raw character in code points `lo..=hi` follow the whole characters of `s`, leaving
    /// the string live?
    #[inline]
    fn has_raw_edge(&self, index: &SubstringIndex, s: StrState, lo: u32, hi: u32) -> bool {
        if lo > hi {
            return false;
        }
        let a = self.raw_chars.partition_point(|&c| (c as u32) < lo) as u32;
        let b = self.raw_chars.partition_point(|&c| (c as u32) <= hi) as u32;
        if a >= b {
            return false;
        }
        let len = s.whole_chars();
        let live = |u: u32| {
            self.quoting != Quoting::PyRepr
                || index.step(s.end, len, u).is_some_and(|end| {
                    // As if the character were complete (`s.chars` already counts it).
                    self.is_live(StrState {
                        end,
                        pending: 0,
                        part: 0,
                        ..s
                    })
                })
        };
        if len == 0 {
            // Every raw character occurs in the text.
            return (a..b).any(live);
        }
        let units = index.units();
        index.occurrences(s.end, len).any(|at| {
            units
                .get(at as usize)
                .is_some_and(|&u| (a..b).contains(&u) && live(u))
        })
    }

    /// Consume raw byte `r` of a grounded string: characters are units of the index, so the
    /// bytes of a character are collected in `part` and checked against the characters that
    /// can still follow.
    #[inline]
    fn feed_grounded(&self, index: &SubstringIndex, mut s: StrState, r: u8) -> Option<StrState> {
        if s.pending == 0 {
            if !self.room(s) {
                return None;
            }
            let tail = utf8_tail_len(r)?;
            if tail == 0 {
                let u = self.raw_chars.binary_search(&char::from(r)).ok()? as u32;
                s.end = index.step(s.end, s.chars, u)?;
                s.chars += 1;
            } else {
                s.chars += 1;
                s.part = u32::from(r) << 24;
                s.pending = tail;
                let (lo, hi) = prefix_range(s.part, 1, tail + 1);
                if !self.has_raw_edge(index, s, lo, hi) {
                    return None;
                }
            }
        } else {
            if !is_continuation(r) {
                return None;
            }
            let len = utf8_tail_len((s.part >> 24) as u8).expect("lead byte") + 1;
            let have = len - s.pending;
            s.part |= u32::from(r) << (24 - 8 * u32::from(have));
            s.pending -= 1;
            if s.pending == 0 {
                let (cp, _) = prefix_range(s.part, len, len);
                let c = char::from_u32(cp)?;
                let u = self.raw_chars.binary_search(&c).ok()? as u32;
                s.end = index.step(s.end, s.chars - 1, u)?;
                s.part = 0;
            } else {
                let (lo, hi) = prefix_range(s.part, have + 1, len);
                if !self.has_raw_edge(index, s, lo, hi) {
                    return None;
                }
            }
        }
        self.is_live(s).then_some(s)
    }

    /// Consume output byte `b` as string content. The caller handles the closing byte (the
    /// quote, `<`, or the separator) with [`GroundedString::can_close`] and
    /// [`GroundedString::in_escape`] before calling this.
    #[inline]
    pub fn step(&self, s: StrState, b: u8) -> Option<StrState> {
        let mode = (s.flags & F_MODE) as usize;
        let trie = &self.tries[mode];
        if s.esc != 0 {
            let node = trie.child(s.esc - 1, b)?;
            return self.enter_node(s, node);
        }
        if s.pending == 0 && bit(&self.esc_first[mode], b) {
            if !self.room(s) {
                return None;
            }
            let node = trie.child(0, b)?;
            return self.enter_node(s, node);
        }
        if bit(&self.reserved[mode], b) {
            return None;
        }
        self.feed_raw(s, b)
    }

    /// Move into escape-trie node `node`: complete a special character at a leaf, or stay
    /// inside the escape if some special below is still possible.
    #[inline]
    fn enter_node(&self, s: StrState, node: u16) -> Option<StrState> {
        let trie = &self.tries[(s.flags & F_MODE) as usize];
        if let Some(k) = trie.leaf[node as usize] {
            let n = self.feed_special(s, k)?;
            return Some(StrState { esc: 0, ..n });
        }
        if trie.below[node as usize]
            .iter()
            .any(|&k| self.feed_special(s, k).is_some())
        {
            Some(StrState { esc: node + 1, ..s })
        } else {
            None
        }
    }

    /// A superset of the bytes allowed as content in `s` (not counting the closing byte), or
    /// `None` when nearly every byte may be (free strings). Written into `out` as a bitset.
    pub fn candidate_bytes(&self, s: StrState, out: &mut [u64; 4]) -> bool {
        let mode = (s.flags & F_MODE) as usize;
        let trie = &self.tries[mode];
        if s.esc != 0 {
            for &(b, _) in &trie.children[(s.esc - 1) as usize] {
                set_bit(out, b);
            }
            return true;
        }
        let Some(index) = &self.index else {
            return false;
        };
        let n_raw = self.raw_chars.len() as u32;
        let units = index.units();
        let len = s.whole_chars();
        let mut buf = [0u8; 4];
        if s.pending == 0 {
            // The first byte of every raw character that can follow.
            if len == 0 {
                for c in &self.raw_chars {
                    set_bit(out, c.encode_utf8(&mut buf).as_bytes()[0]);
                }
            } else {
                for at in index.occurrences(s.end, len) {
                    match units.get(at as usize) {
                        Some(&u) if u < n_raw => set_bit(
                            out,
                            self.raw_chars[u as usize].encode_utf8(&mut buf).as_bytes()[0],
                        ),
                        _ => {}
                    }
                }
            }
            for (o, e) in out.iter_mut().zip(&self.esc_first[mode]) {
                *o |= e;
            }
        } else {
            // The next byte of the characters that extend the partial one.
            let width = utf8_tail_len((s.part >> 24) as u8).expect("lead byte") + 1;
            let have = (width - s.pending) as usize;
            let (lo, hi) = prefix_range(s.part, have as u8, width);
            let a = self.raw_chars.partition_point(|&c| (c as u32) < lo) as u32;
            let b = self.raw_chars.partition_point(|&c| (c as u32) <= hi) as u32;
            let mut add = |u: u32| {
                set_bit(
                    out,
                    self.raw_chars[u as usize].encode_utf8(&mut buf).as_bytes()[have],
                )
            };
            if len == 0 {
                (a..b).for_each(add);
            } else {
                for at in index.occurrences(s.end, len) {
                    match units.get(at as usize) {
                        Some(&u) if (a..b).contains(&u) => add(u),
                        _ => {}
                    }
                }
            }
        }
        true
    }

    /// Is the "inner" mask of `s` (tokens wholly inside the string) worth caching? It is for
    /// the start of a grounded string (every entity starts there) and for every state of a
    /// free string (their masks repeat).
    pub fn cacheable(&self, s: StrState) -> bool {
        s.esc == 0 && s.pending == 0 && (self.index.is_none() || s.chars == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(g: &GroundedString, mode: u8, out: &str) -> bool {
        let mut s = g.start(mode);
        for &b in out.as_bytes() {
            match g.step(s, b) {
                Some(n) => s = n,
                None => return false,
            }
        }
        g.can_close(s)
    }

    #[test]
    fn index_substrings() {
        let index = SubstringIndex::from_bytes(b"abcbc");
        for s in ["", "a", "bcb", "cbc", "abcbc", "bc"] {
            let u: Vec<u32> = s.bytes().map(u32::from).collect();
            assert!(index.contains(&u), "{s}");
        }
        for s in ["ac", "cc", "abcbcb", "ba"] {
            let u: Vec<u32> = s.bytes().map(u32::from).collect();
            assert!(!index.contains(&u), "{s}");
        }
        // "bc" ends at 3 and 5 (leftmost first); "b" at 2 and 4.
        let bc = index
            .step(index.step(0, 0, 98).expect("b"), 1, 99)
            .expect("bc");
        assert_eq!(bc, 3);
        assert_eq!(index.occurrences(bc, 2).collect::<Vec<_>>(), [3, 5]);
        assert_eq!(index.occurrences(0, 0).count(), 6);
    }

    /// Long texts over small and large alphabets: membership equals brute force, whichever
    /// unit a step anchors on.
    #[test]
    fn index_matches_brute_force_on_long_texts() {
        let mut x = 12345u64;
        let mut rand = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % m) as u32
        };
        for (n, alphabet) in [(6000usize, 9u64), (40, 3), (3000, 30), (7, 2), (6000, 900)] {
            let units: Vec<u32> = (0..n).map(|_| rand(alphabet)).collect();
            let index = SubstringIndex::new(units.clone());
            for _ in 0..300 {
                let len = 1 + rand(7) as usize;
                let probe: Vec<u32> = if rand(2) == 0 && n > len {
                    let at = rand((n - len) as u64) as usize;
                    units[at..at + len].to_vec()
                } else {
                    (0..len).map(|_| rand(alphabet)).collect()
                };
                let found = units.windows(len).any(|w| w == probe.as_slice());
                assert_eq!(index.contains(&probe), found, "{probe:?} (n = {n})");
            }
        }
    }

    /// Character numbering in order of first occurrence, text after text on one thread,
    /// with the thread's tables prepared between texts (which changes no number).
    #[test]
    fn number_chars_matches_a_map() {
        for (k, t) in [
            "",
            "abcab",
            "王赟王𠮷a\u{10FFFF}赟",
            "xyz",
            "abcab",
            "龘龘龘",
        ]
        .into_iter()
        .enumerate()
        {
            if k % 2 == 1 {
                prepare_thread_tables();
            }
            let mut ids = Vec::new();
            let distinct = number_chars(t, &mut ids);
            let mut reference: Vec<char> = Vec::new();
            let expected: Vec<u32> = t
                .chars()
                .map(|c| match reference.iter().position(|&d| d == c) {
                    Some(i) => i as u32,
                    None => {
                        reference.push(c);
                        reference.len() as u32 - 1
                    }
                })
                .collect();
            assert_eq!(distinct, reference, "{t}");
            assert_eq!(ids, expected, "{t}");
        }
        let mut keys: Vec<u64> = (0..1000u64)
            .map(|i| (i * 7919 % 0x10FFFF) << 32 | i)
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sort_code_point_keys(&mut keys);
        assert_eq!(keys, sorted);
    }

    /// After the thread's tables are prepared, numbering Chinese text (CJK ideographs, an
    /// ideographic comma, a fullwidth comma) sets up no further block, which is what spares
    /// the page faults.
    #[test]
    fn prepared_tables_hold_the_cjk_blocks() {
        prepare_thread_tables();
        let blocks = || CHAR_IDS.with(|cell| cell.borrow().blocks.len());
        let before = blocks();
        let mut ids = Vec::new();
        number_chars("张三在北京大学读书、龘，𠀀", &mut ids);
        // 𠀀 (U+20000, extension B) lies outside the prepared ranges: one block more.
        assert_eq!(blocks(), before + 1);
    }

    proptest::proptest! {
        /// Membership, leftmost ends and every occurrence equal brute force (barriers
        /// excluded from every substring).
        #[test]
        fn index_matches_brute_force(
            units in proptest::collection::vec(0u32..4, 0..60),
            probes in proptest::collection::vec(proptest::collection::vec(0u32..4, 1..6), 1..30),
            barrier_at in proptest::option::of(0usize..60),
        ) {
            let mut units = units;
            if let Some(i) = barrier_at.filter(|&i| i < units.len()) {
                units[i] = BARRIER;
            }
            let index = SubstringIndex::new(units.clone());
            let n = units.len();
            for probe in &probes {
                let ends: Vec<u32> = (0..n)
                    .filter(|&i| units[i..].starts_with(probe))
                    .map(|i| (i + probe.len()) as u32)
                    .collect();
                proptest::prop_assert_eq!(index.contains(probe), !ends.is_empty(), "{:?} in {:?}", probe, units);
                let mut end = 0u32;
                let walked = (0u32..).zip(probe).all(|(len, &c)| {
                    index.step(end, len, c).map(|e| end = e).is_some()
                });
                if walked {
                    proptest::prop_assert_eq!(end, ends[0]);
                    let all: Vec<u32> = index.occurrences(end, probe.len() as u32).collect();
                    proptest::prop_assert_eq!(all, ends);
                }
            }
        }
    }

    #[test]
    fn grounded_json_strings() {
        let text = "他说\"你好\"\n\u{1}再见\\龘";
        let g = GroundedString::new(Quoting::Json, Some(text), None).unwrap();
        assert!(accepts(&g, 0, "你好"));
        assert!(accepts(&g, 0, "\\\"你好\\\"\\n"));
        assert!(accepts(&g, 0, "\\n\\u0001再见\\\\龘"));
        assert!(!accepts(&g, 0, "你好\\\"\\\""));
        assert!(!accepts(&g, 0, ""));
        assert!(!accepts(&g, 0, "\\u0002"));
        assert!(!accepts(&g, 0, "\\/"));
        let half = &"龘".as_bytes()[..2];
        let mut s = g.start(0);
        for &b in half {
            s = g.step(s, b).unwrap();
        }
        assert!(!g.can_close(s));
        assert!(g.step(g.start(0), "龘".as_bytes()[1]).is_none());
    }

    #[test]
    fn py_repr_quote_choice() {
        let text = "it's a \"test\"\u{3000}end";
        let g = GroundedString::new(Quoting::PyRepr, Some(text), None).unwrap();
        for s in [
            "it's",
            "a \"test\"",
            "it's a \"test\"",
            "end",
            "\"\u{3000}e",
        ] {
            let r = py_repr(s);
            let mode = u8::from(r.starts_with('"'));
            assert!(accepts(&g, mode, &r[1..r.len() - 1]), "{s} as {r}");
            // The other quoting is refused.
            assert!(!accepts(&g, 1 - mode, &r[1..r.len() - 1]), "{s}");
        }
        assert_eq!(py_repr("\"\u{3000}e"), "'\"\\u3000e'");
        assert!(!accepts(&g, 0, "\"\u{3000}e")); // raw U+3000 must be escaped
    }

    #[test]
    fn xml_and_plain() {
        let g = GroundedString::new(Quoting::Xml, Some("a<b>&c"), None).unwrap();
        assert!(accepts(&g, 0, "a&lt;b&gt;&amp;c"));
        assert!(!accepts(&g, 0, "a<b"));
        let p = GroundedString::new(Quoting::Plain { stop: b'&' }, Some("x&y_z"), None).unwrap();
        assert!(accepts(&p, 0, "y_z"));
        assert!(!accepts(&p, 0, "x&y"));
    }

    #[test]
    fn max_chars() {
        let g = GroundedString::new(Quoting::Json, Some("abcdef"), Some(3)).unwrap();
        assert!(accepts(&g, 0, "abc"));
        assert!(!accepts(&g, 0, "abcd"));
    }

    #[test]
    fn free_strings_are_valid_utf8() {
        let g = GroundedString::new(Quoting::Json, None, None).unwrap();
        assert!(accepts(&g, 0, "any 文本 \\\" ok"));
        let s = g.step(g.start(0), 0xED).unwrap();
        assert!(g.step(s, 0xA0).is_none());
        assert!(g.step(g.start(0), 0xC0).is_none());
    }

    #[test]
    fn escapes_match_python() {
        assert_eq!(json_escape("a\"b\\c\nd\u{1}é"), "a\\\"b\\\\c\\nd\\u0001é");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a'\"b"), "'a\\'\"b'");
        assert_eq!(py_repr("\u{a0}\u{7f}\n"), "'\\xa0\\x7f\\n'");
        assert_eq!(xml_escape("a<&>"), "a&lt;&amp;&gt;");
    }

    #[test]
    fn escaped_bytes_are_those_with_escape_forms() {
        for b in 0u8..128 {
            let c = b as char;
            assert_eq!(escaped(&Quoting::Json, b), json_form(c).is_some(), "{b:#x}");
            assert_eq!(escaped(&Quoting::Xml, b), xml_form(c).is_some(), "{b:#x}");
        }
    }

    /// The written text, read as bytes, equals the per-character written forms: bytes,
    /// character starts, boundaries and the segments between barriers.
    #[test]
    fn written_text_matches_per_character_forms() {
        let texts = [
            "",
            "张三, \"李四\" a\\b\n\t\u{1}<x>&y;龘𠮷😀,",
            ",,a,",
            "plain ascii",
        ];
        for quoting in [Quoting::Json, Quoting::Xml, Quoting::Plain { stop: b',' }] {
            for text in texts {
                let g = GroundedString::new(quoting.clone(), Some(text), None).expect("strings");
                let w = g.written_text().expect("written");
                let (mut bytes, mut starts, mut segments) = (Vec::new(), Vec::new(), Vec::new());
                let mut seg = 0u32;
                for c in text.chars() {
                    starts.push(bytes.len() as u32);
                    let form = match quoting {
                        Quoting::Json => json_form(c),
                        Quoting::Xml => xml_form(c),
                        _ => None,
                    };
                    if quoting == (Quoting::Plain { stop: b',' }) && c == ',' {
                        if bytes.len() as u32 > seg {
                            segments.push((seg, bytes.len() as u32));
                        }
                        seg = bytes.len() as u32 + 1;
                    }
                    bytes.extend(form.unwrap_or_else(|| c.to_string().into_bytes()));
                }
                if bytes.len() as u32 > seg {
                    segments.push((seg, bytes.len() as u32));
                }
                starts.push(bytes.len() as u32);
                let boundary: Vec<bool> = (0..=bytes.len() as u32)
                    .map(|k| starts.contains(&k))
                    .collect();
                assert_eq!(w.bytes, bytes, "{quoting:?} {text:?}");
                assert_eq!(w.char_start, starts, "{quoting:?} {text:?}");
                assert_eq!(w.boundary, boundary, "{quoting:?} {text:?}");
                assert_eq!(w.segments, segments, "{quoting:?} {text:?}");
            }
        }
    }
}
