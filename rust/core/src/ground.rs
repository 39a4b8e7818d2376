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

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::text::{is_continuation, utf8_tail_len};

/// Unit that no output can produce (a character excluded from entities).
pub const BARRIER: u32 = u32::MAX;

/// A suffix automaton over `u32` units. Each state keeps up to two transitions inline,
/// sorted (most states have one or two); the transitions of the others, the root's included,
/// are sorted runs of `edges`.
#[derive(Debug, Clone)]
pub struct SuffixAutomaton {
    states: Vec<Packed>,
    edges: Vec<(u32, u32)>,
    /// The root's transitions, dense by unit (`u32::MAX`: none).
    root: Vec<u32>,
    /// Kept only when asked for ([`SuffixAutomaton::with_links`]).
    links: Option<Links>,
}

/// Per state: the end index (inclusive) of the earliest occurrence of its strings
/// (`u32::MAX` for the root), its suffix link and its longest string's length.
#[derive(Debug, Clone)]
struct Links {
    first_end: Vec<u32>,
    link: Vec<u32>,
    len: Vec<u32>,
}

const NO_STATE: u32 = u32::MAX;

/// A state's transitions: `n <= 2` inline in `e`, sorted; else `e[0] = (offset, n)` into
/// [`SuffixAutomaton::edges`].
#[derive(Debug, Clone, Copy)]
struct Packed {
    n: u32,
    e: [(u32, u32); 2],
}

/// A state under construction: its longest string's length, suffix link and earliest end,
/// and up to two transitions inline (most states have one or two), the rest in
/// [`Scratch::more`].
#[derive(Clone, Copy)]
struct Building {
    len: u32,
    link: u32,
    first_end: u32,
    n: u32,
    e: [(u32, u32); 2],
    /// Head of this state's further units in [`Scratch::pool`] (`NO_STATE`: none).
    more: u32,
}

const EMPTY_STATE: Building = Building {
    len: 0,
    link: NO_STATE,
    first_end: u32::MAX,
    n: 0,
    e: [(0, 0); 2],
    more: NO_STATE,
};

/// Construction buffers, kept per thread between requests so that building an automaton
/// does not fault in fresh pages every time (a server builds one per request).
#[derive(Default)]
struct Scratch {
    st: Vec<Building>,
    /// Transitions beyond the inline two: `(state, unit)` -> index into `pool`.
    more: EdgeMap,
    /// Those transitions as `(unit, target, next)` lists per state (walked to copy a state
    /// when cloning it and to pack it).
    pool: Vec<(u32, u32, u32)>,
}

/// An open-addressing hash table from `state << 32 | unit` to a `u32`, for the transitions a
/// state has beyond its inline two. Slots carry the build's epoch, so a new build starts
/// empty without clearing them; linear probing, at most half full.
#[derive(Default)]
struct EdgeMap {
    slots: Vec<EdgeSlot>,
    epoch: u32,
    len: usize,
}

#[derive(Clone, Copy, Default)]
struct EdgeSlot {
    key: u64,
    value: u32,
    epoch: u32,
}

impl EdgeMap {
    /// Forget every entry (O(1) but every 2^32 - 1 calls).
    fn clear(&mut self) {
        self.len = 0;
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.slots.iter_mut().for_each(|s| s.epoch = 0);
            self.epoch = 1;
        }
    }

    #[inline(always)]
    fn home(&self, key: u64) -> usize {
        // Fibonacci hashing; the capacity is a power of two.
        let bits = self.slots.len().trailing_zeros();
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    #[inline(always)]
    fn get(&self, key: u64) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let s = &self.slots[i];
            if s.epoch != self.epoch {
                return None;
            }
            if s.key == key {
                return Some(s.value);
            }
            i = (i + 1) & mask;
        }
    }

    /// Insert a key that is not in the map.
    #[inline]
    fn insert_new(&mut self, key: u64, value: u32) {
        if 2 * (self.len + 1) > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        while self.slots[i].epoch == self.epoch {
            i = (i + 1) & mask;
        }
        self.slots[i] = EdgeSlot {
            key,
            value,
            epoch: self.epoch,
        };
        self.len += 1;
    }

    #[cold]
    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        let epoch = self.epoch;
        self.slots = vec![EdgeSlot::default(); (old.len() * 2).max(1024)];
        // Fresh slots have epoch 0, which is never current.
        self.len = 0;
        for s in old.into_iter().filter(|s| s.epoch == epoch) {
            self.insert_new(s.key, s.value);
        }
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Scratch larger than this (in states) is released after a build instead of kept.
const KEEP_SCRATCH_STATES: usize = 1 << 20;

impl SuffixAutomaton {
    /// Build the automaton of all substrings of `units` (O(n) expected).
    pub fn new(units: &[u32]) -> SuffixAutomaton {
        Self::build(units, false)
    }

    /// [`SuffixAutomaton::new`], keeping the suffix links and occurrence ends that
    /// [`SuffixAutomaton::min_over_occurrences`] needs.
    pub fn with_links(units: &[u32]) -> SuffixAutomaton {
        Self::build(units, true)
    }

    fn build(units: &[u32], keep_links: bool) -> SuffixAutomaton {
        SCRATCH.with(|cell| {
            let mut guard = cell.borrow_mut();
            let sc = &mut *guard;
            let out = Self::build_in(units, keep_links, sc);
            if sc.st.capacity() > KEEP_SCRATCH_STATES {
                *sc = Scratch::default();
            }
            out
        })
    }

    fn build_in(units: &[u32], keep_links: bool, sc: &mut Scratch) -> SuffixAutomaton {
        let max_unit = units
            .iter()
            .copied()
            .filter(|&u| u != BARRIER)
            .max()
            .unwrap_or(0);
        let barrier = max_unit + 1;
        let dense = |u: u32| if u == BARRIER { barrier } else { u };
        let mut root = vec![NO_STATE; barrier as usize + 1];
        let Scratch { st, more, pool } = sc;
        st.clear();
        more.clear();
        pool.clear();
        st.reserve(units.len() * 2 + 2);
        let key = |p: u32, c: u32| u64::from(p) << 32 | u64::from(c);
        st.push(EMPTY_STATE);

        #[inline(always)]
        fn get(
            st: &[Building],
            root: &[u32],
            more: &EdgeMap,
            pool: &[(u32, u32, u32)],
            p: u32,
            c: u32,
        ) -> u32 {
            if p == 0 {
                return root[c as usize];
            }
            let s = &st[p as usize];
            if s.n > 0 && s.e[0].0 == c {
                return s.e[0].1;
            }
            if s.n > 1 && s.e[1].0 == c {
                return s.e[1].1;
            }
            if s.n > 2 {
                if let Some(i) = more.get(u64::from(p) << 32 | u64::from(c)) {
                    return pool[i as usize].1;
                }
            }
            NO_STATE
        }

        let mut last = 0u32;
        for &unit in units {
            let c = dense(unit);
            let cur = st.len() as u32;
            let last_len = st[last as usize].len;
            st.push(Building {
                len: last_len + 1,
                link: 0,
                first_end: last_len,
                ..EMPTY_STATE
            });
            let mut p = last;
            while p != NO_STATE && get(st, &root, more, pool, p, c) == NO_STATE {
                if p == 0 {
                    root[c as usize] = cur;
                    break;
                }
                let s = &mut st[p as usize];
                if s.n < 2 {
                    s.e[s.n as usize] = (c, cur);
                } else {
                    more.insert_new(key(p, c), pool.len() as u32);
                    pool.push((c, cur, s.more));
                    s.more = pool.len() as u32 - 1;
                }
                s.n += 1;
                p = s.link;
            }
            // The root has no suffix link: a walk that added a root edge ends there.
            if p != NO_STATE && !(p == 0 && root[c as usize] == cur) {
                let q = get(st, &root, more, pool, p, c);
                let (p_len, q_state) = (st[p as usize].len, st[q as usize]);
                if p_len + 1 == q_state.len {
                    st[cur as usize].link = q;
                } else {
                    let clone = st.len() as u32;
                    let mut copy = Building {
                        len: p_len + 1,
                        more: NO_STATE,
                        ..q_state
                    };
                    let mut e = q_state.more;
                    while e != NO_STATE {
                        let (u, t, next) = pool[e as usize];
                        more.insert_new(key(clone, u), pool.len() as u32);
                        pool.push((u, t, copy.more));
                        copy.more = pool.len() as u32 - 1;
                        e = next;
                    }
                    st.push(copy);
                    // Redirect p and its suffix-link ancestors from q to the clone.
                    while p != NO_STATE {
                        if p == 0 {
                            if root[c as usize] == q {
                                root[c as usize] = clone;
                            }
                            break;
                        }
                        let s = &mut st[p as usize];
                        if s.n > 0 && s.e[0].0 == c {
                            if s.e[0].1 != q {
                                break;
                            }
                            s.e[0].1 = clone;
                        } else if s.n > 1 && s.e[1].0 == c {
                            if s.e[1].1 != q {
                                break;
                            }
                            s.e[1].1 = clone;
                        } else {
                            match more.get(key(p, c)) {
                                Some(i) if pool[i as usize].1 == q => pool[i as usize].1 = clone,
                                _ => break,
                            }
                        }
                        p = s.link;
                    }
                    st[q as usize].link = clone;
                    st[cur as usize].link = clone;
                }
            }
            last = cur;
        }
        // Pack: inline transitions sorted, the rest into sorted runs; barrier transitions
        // dropped (the barrier is the largest unit, so it sorts last).
        root[barrier as usize] = NO_STATE;
        let mut edges: Vec<(u32, u32)> = Vec::with_capacity(barrier as usize + 2 * pool.len());
        edges.extend(
            (0..barrier)
                .filter(|&u| root[u as usize] != NO_STATE)
                .map(|u| (u, root[u as usize])),
        );
        let mut states: Vec<Packed> = Vec::with_capacity(st.len());
        states.push(Packed {
            n: edges.len() as u32,
            e: [(0, edges.len() as u32), (0, 0)],
        });
        for s in st.iter().skip(1) {
            if s.n <= 2 {
                let mut e = s.e;
                let mut n = s.n;
                if n == 2 && e[0].0 > e[1].0 {
                    e.swap(0, 1);
                }
                if n > 0 && e[n as usize - 1].0 == barrier {
                    n -= 1;
                }
                states.push(Packed { n, e });
                continue;
            }
            let from = edges.len();
            edges.extend_from_slice(&s.e);
            let mut e = s.more;
            while e != NO_STATE {
                let (u, t, next) = pool[e as usize];
                edges.push((u, t));
                e = next;
            }
            edges[from..].sort_unstable_by_key(|e| e.0);
            if edges.last().is_some_and(|e| e.0 == barrier) {
                edges.pop();
            }
            let n = (edges.len() - from) as u32;
            if n <= 2 {
                // Three transitions, one of them on the barrier: inline after all.
                let mut e = [(0, 0); 2];
                e[..n as usize].copy_from_slice(&edges[from..]);
                edges.truncate(from);
                states.push(Packed { n, e });
                continue;
            }
            states.push(Packed {
                n,
                e: [(from as u32, n), (0, 0)],
            });
        }
        let links = keep_links.then(|| Links {
            first_end: st.iter().map(|s| s.first_end).collect(),
            link: st.iter().map(|s| s.link).collect(),
            len: st.iter().map(|s| s.len).collect(),
        });
        SuffixAutomaton {
            states,
            edges,
            root,
            links,
        }
    }

    /// For every state, the minimum of `cost[e]` over the end indices `e` of all occurrences
    /// of its strings (the root gets the minimum over all `e`). O(states).
    ///
    /// # Panics
    /// When the automaton was built without links ([`SuffixAutomaton::new`]).
    pub fn min_over_occurrences(&self, cost: &[u32]) -> Vec<u32> {
        let lk = self
            .links
            .as_ref()
            .expect("built with SuffixAutomaton::with_links");
        let n = lk.first_end.len();
        let mut best = vec![u32::MAX; n];
        for i in 1..n {
            // A clone shares its earliest end with the state it was cloned from and is not
            // the longest string of any prefix: it adds no occurrence of its own.
            if lk.first_end[i] == lk.len[i] - 1 {
                best[i] = cost[lk.first_end[i] as usize];
            }
        }
        // Children (by suffix link) before parents: decreasing length (a counting sort).
        let max_len = lk.len.iter().copied().max().unwrap_or(0) as usize;
        let mut count = vec![0u32; max_len + 2];
        for &l in &lk.len[1..] {
            count[l as usize + 1] += 1;
        }
        for i in 1..count.len() {
            count[i] += count[i - 1];
        }
        let mut order = vec![0u32; n - 1];
        for i in 1..n {
            let l = lk.len[i] as usize;
            order[count[l] as usize] = i as u32;
            count[l] += 1;
        }
        for &i in order.iter().rev() {
            let p = lk.link[i as usize] as usize;
            best[p] = best[p].min(best[i as usize]);
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
        let p = &self.states[state as usize];
        if state != 0 && p.n <= 2 {
            &p.e[..p.n as usize]
        } else {
            let (from, n) = p.e[0];
            &self.edges[from as usize..(from + n) as usize]
        }
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
        self.states.len()
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

thread_local! {
    static CHAR_IDS: std::cell::RefCell<CharIds> = const {
        std::cell::RefCell::new(CharIds {
            page: Vec::new(),
            blocks: Vec::new(),
            base: 1,
        })
    };
}

/// Number the distinct characters of `t` in order of first occurrence: pushes each
/// character's number onto `ids` and returns the distinct characters in that order.
fn number_chars(t: &str, ids: &mut Vec<u32>) -> Vec<char> {
    CHAR_IDS.with(|cell| {
        let table = &mut *cell.borrow_mut();
        if table.page.is_empty() || u64::from(table.base) + t.len() as u64 >= u64::from(u32::MAX) {
            table.page = vec![0; (char::MAX as usize >> 8) + 1];
            table.blocks = vec![[0; 256]];
            table.base = 1;
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

impl StrState {
    /// Is this the state at the start of a string (nothing written yet)?
    #[inline]
    pub fn is_fresh(&self) -> bool {
        self.chars == 0 && self.esc == 0 && self.pending == 0 && self.part == 0
    }
}

const F_MODE: u8 = 1;
const F_SQ: u8 = 2;
const F_DQ: u8 = 4;

/// Strings of one format, grounded in a text or free. Compile once per request.
#[derive(Debug, Clone)]
pub struct GroundedString {
    quoting: Quoting,
    sam: Option<SuffixAutomaton>,
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
        let sam = text.map(|_| {
            let units: Vec<u32> = first_ids.iter().map(|&i| unit_of[i as usize].0).collect();
            if quoting == Quoting::PyRepr {
                quote_at = first_ids.iter().map(|&i| unit_of[i as usize].1).collect();
            }
            (
                if quoting == Quoting::PyRepr {
                    SuffixAutomaton::with_links(&units)
                } else {
                    SuffixAutomaton::new(&units)
                },
                units,
            )
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
            text: text.filter(|_| quoting != Quoting::PyRepr).map(Box::from),
            written: std::sync::OnceLock::new(),
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

    /// The grounding text as this format writes it, for enumerating the written forms of its
    /// substrings directly (`None`: free strings, or `PyRepr`, whose quote choice depends on
    /// the whole string). Built on first use.
    pub fn written_text(&self) -> Option<&WrittenText> {
        let text = self.text.as_deref()?;
        Some(self.written.get_or_init(|| {
            let mut bytes = Vec::with_capacity(text.len() + 16);
            let mut boundary = vec![true];
            let mut segments = Vec::new();
            let mut seg_start = 0u32;
            let stop = match self.quoting {
                Quoting::Plain { stop } => Some(stop as char),
                _ => None,
            };
            let mut buf = [0u8; 4];
            for c in text.chars() {
                if Some(c) == stop {
                    // A barrier: no substring spans it.
                    if (bytes.len() as u32) > seg_start {
                        segments.push((seg_start, bytes.len() as u32));
                    }
                    bytes.push(c as u8);
                    boundary.push(true);
                    seg_start = bytes.len() as u32;
                    continue;
                }
                let form = match self.quoting {
                    Quoting::Json => json_form(c),
                    Quoting::Xml => xml_form(c),
                    _ => None,
                };
                let w: &[u8] = match &form {
                    Some(f) => f,
                    None => c.encode_utf8(&mut buf).as_bytes(),
                };
                bytes.extend_from_slice(w);
                boundary.extend(std::iter::repeat_n(false, w.len() - 1));
                boundary.push(true);
            }
            if (bytes.len() as u32) > seg_start {
                segments.push((seg_start, bytes.len() as u32));
            }
            WrittenText {
                bytes,
                boundary,
                segments,
            }
        }))
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

    /// Builds of different sizes in turn on one thread reuse the scratch (edge map grown past
    /// its first capacity, then emptied by the epoch): each accepts exactly its substrings.
    #[test]
    fn sam_scratch_reuse_across_builds() {
        let mut x = 12345u64;
        let mut rand = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % m) as u32
        };
        for (n, alphabet) in [(6000usize, 9u64), (40, 3), (3000, 30), (7, 2), (6000, 9)] {
            let units: Vec<u32> = (0..n).map(|_| rand(alphabet)).collect();
            let sam = SuffixAutomaton::new(&units);
            for _ in 0..300 {
                let len = 1 + rand(7) as usize;
                let probe: Vec<u32> = if rand(2) == 0 && n > len {
                    let at = rand((n - len) as u64) as usize;
                    units[at..at + len].to_vec()
                } else {
                    (0..len).map(|_| rand(alphabet)).collect()
                };
                let found = units.windows(len).any(|w| w == probe.as_slice());
                assert_eq!(sam.contains(&probe), found, "{probe:?} (n = {n})");
            }
        }
    }

    /// Character numbering in order of first occurrence, text after text on one thread.
    #[test]
    fn number_chars_matches_a_map() {
        for t in [
            "",
            "abcab",
            "王赟王𠮷a\u{10FFFF}赟",
            "xyz",
            "abcab",
            "龘龘龘",
        ] {
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

    proptest::proptest! {
        /// The automaton accepts exactly the substrings (barriers excluded), its edges are
        /// sorted, it has at most 2n states, and the occurrence minima equal brute force.
        #[test]
        fn sam_matches_brute_force(
            units in proptest::collection::vec(0u32..4, 0..60),
            probes in proptest::collection::vec(proptest::collection::vec(0u32..4, 1..6), 1..30),
            barrier_at in proptest::option::of(0usize..60),
        ) {
            let mut units = units;
            if let Some(i) = barrier_at.filter(|&i| i < units.len()) {
                units[i] = BARRIER;
            }
            let sam = SuffixAutomaton::with_links(&units);
            proptest::prop_assert!(sam.len() <= 2 * units.len().max(1) + 1);
            for st in 0..sam.len() as u32 {
                let e = sam.edges(st);
                proptest::prop_assert!(e.windows(2).all(|w| w[0].0 < w[1].0));
                proptest::prop_assert!(e.iter().all(|x| x.0 != BARRIER));
            }
            let n = units.len();
            for probe in &probes {
                let found = (0..n).any(|i| units[i..].starts_with(probe));
                proptest::prop_assert_eq!(sam.contains(probe), found, "{:?} in {:?}", probe, units);
            }
            // min over occurrences: cost[e] = e * 7 % 11, state of each probe found.
            let cost: Vec<u32> = (0..n as u32).map(|e| e * 7 % 11).collect();
            let best = sam.min_over_occurrences(&cost);
            for probe in &probes {
                let mut st = 0u32;
                if !probe.iter().all(|&c| sam.step(st, c).map(|t| st = t).is_some()) {
                    continue;
                }
                // Strings of the same state share their end set: the minimum over the ends
                // of every occurrence of `probe`.
                let want = (0..n)
                    .filter(|&i| units[i..].starts_with(probe))
                    .map(|i| cost[i + probe.len() - 1])
                    .min()
                    .expect("found");
                proptest::prop_assert_eq!(best[st as usize], want);
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
}
