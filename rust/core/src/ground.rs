//! Grounded strings: a byte automaton that accepts exactly the written (escaped) forms of the
//! non-empty substrings of an input text (or, ungrounded, of any valid UTF-8 string), under one
//! format's quoting rules.
//!
//! The text is first turned into *units*, one per character: a character that the format
//! writes as itself is a raw unit (its index among the text's distinct raw characters, sorted
//! by code point, which is also their UTF-8 byte order); a character that the format escapes
//! (`"` in JSON, `<` in XML, a non-printable character in a Python literal) is a special unit;
//! a character that may not appear inside an entity at all (a type-pairs separator) is a
//! barrier unit that nothing can produce. The substring set is a suffix automaton over these
//! units (Blumer et al. 1985; at most `2n` states for `n` characters, built in O(n) per
//! request). The output side reads bytes: the bytes of a raw character are collected until it
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

use std::collections::HashMap;

use smallvec::SmallVec;

use crate::error::{Error, Result};
use crate::text::{is_continuation, utf8_tail_len};

/// Unit that no output can produce (a character excluded from entities).
pub const BARRIER: u32 = u32::MAX;

/// A suffix automaton over `u32` units, with transitions in CSR form (sorted per state).
#[derive(Debug, Clone)]
pub struct SuffixAutomaton {
    offsets: Vec<u32>,
    edges: Vec<(u32, u32)>,
    /// The root's transitions, dense by unit (`u32::MAX`: none).
    root: Vec<u32>,
    /// Per state, the end index (inclusive) of the earliest occurrence of its strings
    /// (`u32::MAX` for the root).
    first_end: Vec<u32>,
    /// Suffix links and whether a state is a clone (for per-state minima over occurrences).
    link: Vec<u32>,
    is_clone: Vec<bool>,
    len: Vec<u32>,
}

impl SuffixAutomaton {
    /// Build the automaton of all substrings of `units`.
    pub fn new(units: &[u32]) -> SuffixAutomaton {
        // Most states have one or two transitions: keep them inline (no allocation). The
        // root has one per distinct unit: keep it dense, indexed by unit.
        type Edges = SmallVec<[(u32, u32); 2]>;
        let max_unit = units
            .iter()
            .copied()
            .filter(|&u| u != BARRIER)
            .max()
            .unwrap_or(0);
        let barrier = max_unit + 1;
        let dense = |u: u32| if u == BARRIER { barrier } else { u } as usize;
        let mut root = vec![u32::MAX; barrier as usize + 1];
        let cap = 2 * units.len() + 2;
        let mut next: Vec<Edges> = Vec::with_capacity(cap);
        let mut link: Vec<u32> = Vec::with_capacity(cap);
        let mut len: Vec<u32> = Vec::with_capacity(cap);
        let mut first_end: Vec<u32> = Vec::with_capacity(cap);
        const NONE: u32 = u32::MAX;
        next.push(Edges::new());
        link.push(NONE);
        len.push(0);
        first_end.push(u32::MAX);
        let mut last = 0usize;
        #[inline]
        fn get(next: &[Edges], root: &[u32], p: usize, c: u32, dc: usize) -> Option<u32> {
            if p == 0 {
                let t = root[dc];
                return (t != u32::MAX).then_some(t);
            }
            next[p].iter().find(|e| e.0 == c).map(|e| e.1)
        }
        #[inline]
        fn set(next: &mut [Edges], root: &mut [u32], p: usize, c: u32, dc: usize, t: u32) {
            if p == 0 {
                root[dc] = t;
                return;
            }
            match next[p].iter_mut().find(|e| e.0 == c) {
                Some(e) => e.1 = t,
                None => next[p].push((c, t)),
            }
        }
        for &c in units {
            let dc = dense(c);
            let cur = next.len();
            next.push(Edges::new());
            len.push(len[last] + 1);
            link.push(0);
            first_end.push(len[last]);
            let mut p = last as u32;
            while p != NONE && get(&next, &root, p as usize, c, dc).is_none() {
                set(&mut next, &mut root, p as usize, c, dc, cur as u32);
                p = link[p as usize];
            }
            if p != NONE {
                let q = get(&next, &root, p as usize, c, dc).expect("transition exists") as usize;
                if len[p as usize] + 1 == len[q] {
                    link[cur] = q as u32;
                } else {
                    let clone = next.len();
                    let copied = next[q].clone();
                    next.push(copied);
                    len.push(len[p as usize] + 1);
                    link.push(link[q]);
                    first_end.push(first_end[q]);
                    while p != NONE && get(&next, &root, p as usize, c, dc) == Some(q as u32) {
                        set(&mut next, &mut root, p as usize, c, dc, clone as u32);
                        p = link[p as usize];
                    }
                    link[q] = clone as u32;
                    link[cur] = clone as u32;
                }
            }
            last = cur;
        }
        // Root edges: from the dense table (the barrier column is dropped).
        root[barrier as usize] = u32::MAX;
        next[0] = (0..barrier)
            .filter(|&u| root[u as usize] != u32::MAX)
            .map(|u| (u, root[u as usize]))
            .collect();
        let mut offsets = Vec::with_capacity(next.len() + 1);
        let mut edges = Vec::with_capacity(next.iter().map(|v| v.len()).sum());
        offsets.push(0);
        for v in &mut next {
            v.sort_unstable_by_key(|e| e.0);
            edges.extend(v.iter().filter(|e| e.0 != BARRIER));
            offsets.push(edges.len() as u32);
        }
        let mut is_clone = vec![false; next.len()];
        for (i, c) in is_clone.iter_mut().enumerate() {
            // A clone's earliest end is shared with the state it was cloned from and it is
            // not the longest string of any prefix: detect clones by their length.
            *c = i > 0 && first_end[i] != len[i] - 1;
        }
        SuffixAutomaton {
            offsets,
            edges,
            root,
            first_end,
            link,
            is_clone,
            len,
        }
    }

    /// For every state, the minimum of `cost[e]` over the end indices `e` of all occurrences
    /// of its strings (the root gets the minimum over all `e`). O(states).
    pub fn min_over_occurrences(&self, cost: &[u32]) -> Vec<u32> {
        let n = self.first_end.len();
        let mut best = vec![u32::MAX; n];
        for i in 1..n {
            if !self.is_clone[i] {
                best[i] = cost[self.first_end[i] as usize];
            }
        }
        // Children (by suffix link) before parents: decreasing length.
        let mut order: Vec<usize> = (1..n).collect();
        order.sort_unstable_by_key(|&i| std::cmp::Reverse(self.len[i]));
        for i in order {
            let p = self.link[i] as usize;
            best[p] = best[p].min(best[i]);
        }
        best
    }

    /// Build over the bytes of `text` (each byte one unit).
    pub fn from_bytes(text: &[u8]) -> SuffixAutomaton {
        SuffixAutomaton::new(&text.iter().map(|&b| b as u32).collect::<Vec<_>>())
    }

    /// The transitions of `state`, sorted by unit.
    #[inline]
    pub fn edges(&self, state: u32) -> &[(u32, u32)] {
        &self.edges
            [self.offsets[state as usize] as usize..self.offsets[state as usize + 1] as usize]
    }

    /// Follow unit `c` from `state`.
    #[inline]
    pub fn step(&self, state: u32, c: u32) -> Option<u32> {
        if state == 0 {
            let t = *self.root.get(c as usize)?;
            return (t != u32::MAX).then_some(t);
        }
        let e = self.edges(state);
        if e.len() <= 8 {
            e.iter().find(|x| x.0 == c).map(|x| x.1)
        } else {
            e.binary_search_by_key(&c, |x| x.0).ok().map(|i| e[i].1)
        }
    }

    /// Number of states.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Always false: the automaton has at least its root.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Is the unit string `s` a substring of the units the automaton was built on?
    pub fn contains(&self, s: &[u32]) -> bool {
        let mut st = 0u32;
        for &c in s {
            match self.step(st, c) {
                Some(n) => st = n,
                None => return false,
            }
        }
        true
    }
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
}

impl EscTrie {
    fn build(specials: &[Special], mode: usize) -> EscTrie {
        let mut t = EscTrie {
            children: vec![Vec::new()],
            leaf: vec![None],
            below: vec![Vec::new()],
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

/// State inside one string (after its opening quote, if any). 12 bytes, `Copy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StrState {
    /// Suffix-automaton state (grounded) or 0 (free).
    pub sam: u32,
    /// Characters of the decoded string so far.
    pub chars: u16,
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

const F_MODE: u8 = 1;
const F_SQ: u8 = 2;
const F_DQ: u8 = 4;

/// Strings of one format, grounded in a text or free. Compile once per request.
#[derive(Debug, Clone)]
pub struct GroundedString {
    quoting: Quoting,
    sam: Option<SuffixAutomaton>,
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
    /// PyRepr liveness, per SAM state: the fewest further characters after which a `'`
    /// (index 0) or a `"` (index 1) can be written (`u32::MAX`: never).
    to_quote: [Vec<u32>; 2],
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
        let candidates: Vec<char> = match text {
            Some(t) => {
                let mut cs: Vec<char> = t.chars().collect();
                cs.sort_unstable();
                cs.dedup();
                cs
            }
            None => (0u8..0x20)
                .map(char::from)
                .chain(['"', '\'', '\\', '&', '<', '>', '\u{7f}'])
                .collect(),
        };
        let mut specials = Vec::new();
        let mut index: HashMap<char, u32> = HashMap::new();
        for c in candidates {
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
        let mut raw_chars: Vec<char> = match text {
            Some(t) => t
                .chars()
                .filter(|c| Some(*c) != stop_char && !index.contains_key(c))
                .collect(),
            None => Vec::new(),
        };
        raw_chars.sort_unstable();
        raw_chars.dedup();
        let n_raw = raw_chars.len() as u32;
        let sam = text.map(|t| {
            let mut units = Vec::with_capacity(t.len() / 2);
            for c in t.chars() {
                if Some(c) == stop_char {
                    units.push(BARRIER);
                } else if let Some(&k) = index.get(&c) {
                    quote_at.resize(units.len(), 0);
                    quote_at.push(match c {
                        '\'' => 1,
                        '"' => 2,
                        _ => 0,
                    });
                    units.push(n_raw + k);
                } else {
                    units.push(raw_chars.binary_search(&c).expect("listed") as u32);
                }
            }
            quote_at.resize(units.len(), 0);
            (SuffixAutomaton::new(&units), units)
        });
        let mut to_quote = [Vec::new(), Vec::new()];
        let sam = match sam {
            Some((sam, units)) if quoting == Quoting::PyRepr => {
                for (qi, q) in [(0usize, 1u8), (1, 2)] {
                    // cost[e] = characters in (e, next quote q] — what a string whose latest
                    // character ends at unit e still needs to include that quote.
                    let n = units.len();
                    let mut cost = vec![u32::MAX; n];
                    let mut acc = u32::MAX;
                    for e in (0..n).rev() {
                        if e + 1 < n {
                            // Units are whole characters.
                            acc = if quote_at[e + 1] == q {
                                1
                            } else {
                                acc.saturating_add(1)
                            };
                        }
                        cost[e] = acc;
                    }
                    let mut best = sam.min_over_occurrences(&cost);
                    best[0] = if quote_at.contains(&q) { 1 } else { u32::MAX };
                    to_quote[qi] = best;
                }
                Some(sam)
            }
            other => other.map(|(sam, _)| sam),
        };
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
            to_quote,
            raw_chars,
            sq: index.get(&'\'').copied(),
            dq: index.get(&'"').copied(),
            quoting,
            sam,
            tries,
            reserved,
            esc_first,
            max_chars,
        })
    }

    /// The quoting rules.
    pub fn quoting(&self) -> &Quoting {
        &self.quoting
    }

    /// Is the string grounded in a text?
    pub fn is_grounded(&self) -> bool {
        self.sam.is_some()
    }

    /// The state at the start of a string in `mode` (PyRepr: 0 single-quoted, 1 double).
    pub fn start(&self, mode: u8) -> StrState {
        StrState {
            sam: 0,
            chars: 0,
            esc: 0,
            part: 0,
            pending: 0,
            flags: if mode == 1 { F_MODE } else { 0 },
        }
    }

    /// Can a string in state `s` still be closed? Only Python literals can get stuck: a
    /// double-quoted one must contain `'`, a single-quoted one holding `\'` must contain `"`
    /// (otherwise `repr` would have chosen the other quotes). Grounded strings check that a
    /// later quote of the needed kind exists after the earliest occurrence of the prefix.
    #[inline]
    pub fn is_live(&self, s: StrState) -> bool {
        if self.quoting != Quoting::PyRepr {
            return true;
        }
        let need = if s.flags & F_MODE != 0 {
            (s.flags & F_SQ == 0).then_some(0)
        } else {
            (s.flags & F_SQ != 0 && s.flags & F_DQ == 0).then_some(1)
        };
        let Some(q) = need else { return true };
        let further = match &self.sam {
            Some(_) => self.to_quote[q][s.sam as usize],
            None => 1,
        };
        further != u32::MAX
            && self
                .max_chars
                .is_none_or(|m| s.chars as u32 + further <= m as u32)
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
        self.max_chars.is_none_or(|m| s.chars < m)
    }

    /// Consume special `k` (a whole character).
    #[inline]
    fn feed_special(&self, mut s: StrState, k: u32) -> Option<StrState> {
        if let Some(sam) = &self.sam {
            s.sam = sam.step(s.sam, self.raw_chars.len() as u32 + k)?;
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
        if let Some(sam) = &self.sam {
            return self.feed_grounded(sam, s, r);
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
            if self.sam.is_none() {
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

    /// Is there a transition from `s` on a raw character in code points `lo..=hi` that leaves
    /// the string live?
    #[inline]
    fn has_raw_edge(&self, sam: &SuffixAutomaton, s: StrState, lo: u32, hi: u32) -> bool {
        if lo > hi {
            return false;
        }
        let a = self.raw_chars.partition_point(|&c| (c as u32) < lo) as u32;
        let b = self.raw_chars.partition_point(|&c| (c as u32) <= hi) as u32;
        if a >= b {
            return false;
        }
        let e = sam.edges(s.sam);
        let i = e.partition_point(|x| x.0 < a);
        if self.quoting != Quoting::PyRepr {
            return i < e.len() && e[i].0 < b;
        }
        e[i..]
            .iter()
            .take_while(|x| x.0 < b)
            .any(|&(_, t)| self.is_live(StrState { sam: t, ..s }))
    }

    /// Consume raw byte `r` of a grounded string: characters are units of the automaton, so
    /// the bytes of a character are collected in `part` and checked against the characters
    /// that can still follow.
    #[inline]
    fn feed_grounded(&self, sam: &SuffixAutomaton, mut s: StrState, r: u8) -> Option<StrState> {
        if s.pending == 0 {
            if !self.room(s) {
                return None;
            }
            let tail = utf8_tail_len(r)?;
            s.chars = s.chars.saturating_add(1);
            if tail == 0 {
                let u = self.raw_chars.binary_search(&char::from(r)).ok()? as u32;
                s.sam = sam.step(s.sam, u)?;
            } else {
                s.part = u32::from(r) << 24;
                s.pending = tail;
                let (lo, hi) = prefix_range(s.part, 1, tail + 1);
                if !self.has_raw_edge(sam, s, lo, hi) {
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
                s.sam = sam.step(s.sam, u)?;
                s.part = 0;
            } else {
                let (lo, hi) = prefix_range(s.part, have + 1, len);
                if !self.has_raw_edge(sam, s, lo, hi) {
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
        let Some(sam) = &self.sam else {
            return false;
        };
        let n_raw = self.raw_chars.len() as u32;
        let mut buf = [0u8; 4];
        if s.pending == 0 {
            // The first byte of every raw character that can follow.
            for &(u, _) in sam.edges(s.sam) {
                if u < n_raw {
                    set_bit(
                        out,
                        self.raw_chars[u as usize].encode_utf8(&mut buf).as_bytes()[0],
                    );
                }
            }
            for (o, e) in out.iter_mut().zip(&self.esc_first[mode]) {
                *o |= e;
            }
        } else {
            // The next byte of the characters that extend the partial one.
            let len = utf8_tail_len((s.part >> 24) as u8).expect("lead byte") + 1;
            let have = (len - s.pending) as usize;
            let (lo, hi) = prefix_range(s.part, have as u8, len);
            let a = self.raw_chars.partition_point(|&c| (c as u32) < lo) as u32;
            let b = self.raw_chars.partition_point(|&c| (c as u32) <= hi) as u32;
            let e = sam.edges(s.sam);
            let from = e.partition_point(|x| x.0 < a);
            for &(u, _) in e[from..].iter().take_while(|x| x.0 < b) {
                set_bit(
                    out,
                    self.raw_chars[u as usize].encode_utf8(&mut buf).as_bytes()[have],
                );
            }
        }
        true
    }

    /// Is the "inner" mask of `s` (tokens wholly inside the string) worth caching? It is for
    /// the start of a grounded string (every entity starts there) and for every state of a
    /// free string (their masks repeat).
    pub fn cacheable(&self, s: StrState) -> bool {
        s.esc == 0 && s.pending == 0 && (self.sam.is_none() || s.chars == 0)
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
    fn sam_substrings() {
        let sam = SuffixAutomaton::from_bytes(b"abcbc");
        for s in ["", "a", "bcb", "cbc", "abcbc", "bc"] {
            let u: Vec<u32> = s.bytes().map(u32::from).collect();
            assert!(sam.contains(&u), "{s}");
        }
        for s in ["ac", "cc", "abcbcb", "ba"] {
            let u: Vec<u32> = s.bytes().map(u32::from).collect();
            assert!(!sam.contains(&u), "{s}");
        }
        assert!(sam.len() <= 2 * 5);
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
}
