use std::time::Instant;
use nerlm_core::ground::SuffixAutomaton;

const NONE: u32 = u32::MAX;
struct Map { keys: Vec<u64>, vals: Vec<u32>, mask: usize }
impl Map {
    fn new(cap: usize) -> Map { let c = (cap * 2).next_power_of_two(); Map { keys: vec![u64::MAX; c], vals: vec![0; c], mask: c - 1 } }
    #[inline] fn slot(&self, k: u64) -> usize { (k.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize & self.mask }
    #[inline] fn get(&self, k: u64) -> Option<u32> { let mut i = self.slot(k); loop { let kk = self.keys[i]; if kk == k { return Some(self.vals[i]); } if kk == u64::MAX { return None; } i = (i + 1) & self.mask; } }
    #[inline] fn set(&mut self, k: u64, v: u32) -> bool { let mut i = self.slot(k); loop { let kk = self.keys[i]; if kk == k { self.vals[i] = v; return false; } if kk == u64::MAX { self.keys[i] = k; self.vals[i] = v; return true; } i = (i + 1) & self.mask; } }
}
fn sam_hash(units: &[u32]) -> (usize, usize) {
    let n = units.len();
    let cap = 2 * n + 2;
    let mut len = Vec::with_capacity(cap); let mut link = Vec::with_capacity(cap); let mut first_end = Vec::with_capacity(cap);
    // per-state edge lists (units only) as linked lists in a pool
    let mut head: Vec<u32> = Vec::with_capacity(cap); let mut pool: Vec<(u32, u32)> = Vec::with_capacity(3 * n);
    let mut map = Map::new(3 * n + 16);
    len.push(0u32); link.push(NONE); first_end.push(NONE); head.push(NONE);
    let mut last = 0u32;
    let key = |p: u32, c: u32| (p as u64) << 32 | c as u64;
    for &c in units {
        let cur = len.len() as u32;
        len.push(len[last as usize] + 1); link.push(0); first_end.push(len[last as usize]); head.push(NONE);
        let mut p = last;
        while p != NONE && map.get(key(p, c)).is_none() {
            map.set(key(p, c), cur); pool.push((c, head[p as usize])); head[p as usize] = pool.len() as u32 - 1;
            p = link[p as usize];
        }
        if p != NONE {
            let q = map.get(key(p, c)).unwrap();
            if len[p as usize] + 1 == len[q as usize] { link[cur as usize] = q; } else {
                let clone = len.len() as u32;
                len.push(len[p as usize] + 1); link.push(link[q as usize]); first_end.push(first_end[q as usize]); head.push(NONE);
                let mut e = head[q as usize];
                while e != NONE { let (u, nx) = pool[e as usize]; let t = map.get(key(q, u)).unwrap(); map.set(key(clone, u), t); pool.push((u, head[clone as usize])); head[clone as usize] = pool.len() as u32 - 1; e = nx; }
                while p != NONE && map.get(key(p, c)) == Some(q) { map.set(key(p, c), clone); p = link[p as usize]; }
                link[q as usize] = clone; link[cur as usize] = clone;
            }
        }
        last = cur;
    }
    (len.len(), pool.len())
}
fn main() {
    let traces: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("/tmp/traces.json").unwrap()).unwrap();
    let text = traces[4]["text"].as_str().unwrap().to_string();
    let mut cs: Vec<char> = text.chars().collect(); cs.sort_unstable(); cs.dedup();
    let units: Vec<u32> = text.chars().map(|c| cs.binary_search(&c).unwrap() as u32).collect();
    let best = |f: &dyn Fn()| { let mut b = u128::MAX; for _ in 0..300 { let t = Instant::now(); f(); b = b.min(t.elapsed().as_nanos()); } b };
    println!("SAM::new min {} ns", best(&|| { std::hint::black_box(SuffixAutomaton::new(&units)); }));
    let nu = cs.len(); println!("hybrid SAM min {} ns {:?}", best(&|| { std::hint::black_box(sam_hybrid(&units, nu)); }), sam_hybrid(&units, nu));
    println!("hash SAM min {} ns {:?}", best(&|| { std::hint::black_box(sam_hash(&units)); }), sam_hash(&units));
}

#[derive(Clone, Copy)]
struct Inl { n: u32, e: [(u32, u32); 2], ovf: u32 }
pub fn sam_hybrid(units: &[u32], nunits: usize) -> (usize, usize) {
    let n = units.len();
    let cap = 2 * n + 2;
    let mut len = Vec::with_capacity(cap); let mut link = Vec::with_capacity(cap); let mut first_end = Vec::with_capacity(cap);
    let mut st: Vec<Inl> = Vec::with_capacity(cap);
    let mut root = vec![NONE; nunits];
    let mut pool: Vec<(u32, u32)> = Vec::new();
    let mut map = Map::new(n / 2 + 64);
    len.push(0u32); link.push(NONE); first_end.push(NONE); st.push(Inl { n: 0, e: [(0, 0); 2], ovf: NONE });
    let key = |p: u32, c: u32| (p as u64) << 32 | c as u64;
    #[inline(always)]
    fn get(st: &[Inl], root: &[u32], map: &Map, p: u32, c: u32) -> Option<u32> {
        if p == 0 { let t = root[c as usize]; return (t != NONE).then_some(t); }
        let s = &st[p as usize];
        if s.n > 0 && s.e[0].0 == c { return Some(s.e[0].1); }
        if s.n > 1 && s.e[1].0 == c { return Some(s.e[1].1); }
        if s.n > 2 { return map.get((p as u64) << 32 | c as u64); }
        None
    }
    let mut last = 0u32;
    for &c in units {
        let cur = len.len() as u32;
        len.push(len[last as usize] + 1); link.push(0); first_end.push(len[last as usize]); st.push(Inl { n: 0, e: [(0, 0); 2], ovf: NONE });
        let mut p = last;
        while p != NONE && get(&st, &root, &map, p, c).is_none() {
            // add edge
            if p == 0 { root[c as usize] = cur; } else {
                let s = &mut st[p as usize];
                if s.n < 2 { s.e[s.n as usize] = (c, cur); } else { map.set(key(p, c), cur); pool.push((c, s.ovf)); s.ovf = pool.len() as u32 - 1; }
                s.n += 1;
            }
            p = link[p as usize];
        }
        if p != NONE {
            let q = get(&st, &root, &map, p, c).unwrap();
            if len[p as usize] + 1 == len[q as usize] { link[cur as usize] = q; } else {
                let clone = len.len() as u32;
                len.push(len[p as usize] + 1); link.push(link[q as usize]); first_end.push(first_end[q as usize]);
                let mut cs = st[q as usize]; cs.ovf = NONE;
                let mut e = st[q as usize].ovf;
                while e != NONE { let (u, nx) = pool[e as usize]; let t = map.get(key(q, u)).unwrap(); map.set(key(clone, u), t); pool.push((u, cs.ovf)); cs.ovf = pool.len() as u32 - 1; e = nx; }
                st.push(cs);
                // redirect
                while p != NONE {
                    if p == 0 { if root[c as usize] == q { root[c as usize] = clone; p = link[0]; continue; } else { break; } }
                    let s = &mut st[p as usize];
                    if s.n > 0 && s.e[0].0 == c { if s.e[0].1 != q { break; } s.e[0].1 = clone; }
                    else if s.n > 1 && s.e[1].0 == c { if s.e[1].1 != q { break; } s.e[1].1 = clone; }
                    else { let k = key(p, c); if map.get(k) != Some(q) { break; } map.set(k, clone); }
                    p = link[p as usize];
                }
                link[q as usize] = clone; link[cur as usize] = clone;
            }
        }
        last = cur;
    }
    (len.len(), pool.len())
}
