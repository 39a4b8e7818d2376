//! Alignment in Rust alone at the scale of `benches/bench_align.py`: CLUENER dev gold surfaces
//! replicated to about 1,000,000 (`REPS`, default 326), converted to code points once (as the
//! binding reads Python strings), then each policy timed as the best of `ITERS` (default 5)
//! calls on all cores. `cargo run --release -p nerlm-benches --example align_prof`;
//! `RAYON_NUM_THREADS=1` for one core.

use nerlm_benches::cluener_dev_gold;
use nerlm_core::align::{align_code_points, AlignOptions, Occurrence};
use nerlm_core::text::CodePointBuf;
use std::time::Instant;
fn main() {
    let (texts, surfaces, doc) = cluener_dev_gold();
    let nd = texts.len() as u32;
    let reps: u32 = std::env::var("REPS").map_or(326, |v| v.parse().unwrap());
    let t: Vec<&str> = (0..reps)
        .flat_map(|_| texts.iter().map(String::as_str))
        .collect();
    let s: Vec<&str> = (0..reps)
        .flat_map(|_| surfaces.iter().map(String::as_str))
        .collect();
    let d: Vec<u32> = (0..reps)
        .flat_map(|r| doc.iter().map(move |&x| x + r * nd))
        .collect();
    let tb: Vec<CodePointBuf> = t.iter().map(|x| CodePointBuf::new(x)).collect();
    let sb: Vec<CodePointBuf> = s.iter().map(|x| CodePointBuf::new(x)).collect();
    let t: Vec<_> = tb.iter().map(CodePointBuf::as_code_points).collect();
    let s: Vec<_> = sb.iter().map(CodePointBuf::as_code_points).collect();
    for (name, occurrence) in [
        ("first", Occurrence::First),
        ("all", Occurrence::All),
        ("ltr", Occurrence::LeftToRight),
        ("nearest", Occurrence::NearestAfter),
    ] {
        let opts = AlignOptions {
            occurrence,
            ..Default::default()
        };
        let mut best = f64::MAX;
        for _ in 0..std::env::var("ITERS").map_or(5, |v| v.parse().unwrap()) {
            let t0 = Instant::now();
            let r = align_code_points(&t[..], &s[..], &d, None, &opts).unwrap();
            best = best.min(t0.elapsed().as_secs_f64());
            std::hint::black_box(r);
        }
        println!(
            "{name}: {:.1} ms for {} ({:.1} ns/ent)",
            best * 1e3,
            s.len(),
            best * 1e9 / s.len() as f64
        );
    }
}
