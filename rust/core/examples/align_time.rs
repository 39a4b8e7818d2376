use nerlm_core::align::*;
use std::time::Instant;
fn main() {
    let data = std::fs::read_to_string("../shared/data/cluener/dev.json").unwrap();
    let mut texts = Vec::new();
    let mut surf = Vec::new();
    let mut doc = Vec::new();
    for (i, line) in data.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        texts.push(v["text"].as_str().unwrap().to_string());
        for (_, m) in v["label"].as_object().unwrap() {
            for (s, spans) in m.as_object().unwrap() {
                for _ in spans.as_array().unwrap() {
                    surf.push(s.clone());
                    doc.push(i as u32);
                }
            }
        }
    }
    let reps = 326;
    let t: Vec<&str> = (0..reps)
        .flat_map(|_| texts.iter().map(|s| s.as_str()))
        .collect();
    let s: Vec<&str> = (0..reps)
        .flat_map(|_| surf.iter().map(|s| s.as_str()))
        .collect();
    let nt = texts.len() as u32;
    let d: Vec<u32> = (0..reps as u32)
        .flat_map(|r| doc.iter().map(move |&x| x + r * nt))
        .collect();
    let opts = AlignOptions::default();
    for _ in 0..3 {
        let st = Instant::now();
        let r = align_columns(&t, &s, &d, None, &opts).unwrap();
        let el = st.elapsed();
        println!(
            "{} items {:?} {:.1} ns/item",
            r.len(),
            el,
            el.as_nanos() as f64 / r.len() as f64
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        let st = Instant::now();
        let r = align_columns(&t, &s, &d, None, &opts).unwrap();
        let el = st.elapsed();
        println!(
            "1 thread: {:?} {:.1} ns/item",
            el,
            el.as_nanos() as f64 / r.len() as f64
        );
    });
}
