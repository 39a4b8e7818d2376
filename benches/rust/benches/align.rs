//! Alignment in Rust alone (no Python binding): CLUENER dev gold surfaces placed back in their
//! sentences, so the binding overhead in benches/bench_align.py is visible. Per policy, one
//! iteration aligns every dev entity (3,072) against its sentence: one task (tasks hold at
//! least 4,096 items), so one core; `examples/align_prof.rs` runs the 1,000,000-entity case.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nerlm_benches::cluener_dev_gold as dev;
use nerlm_core::align::{align_code_points, AlignOptions, Occurrence};
use nerlm_core::text::{CodePointBuf, CodePoints, Normalization, Whitespace};

fn bench(c: &mut Criterion) {
    let (texts, surfaces, doc) = dev();
    // Code points, as the binding reads Python strings.
    let tb: Vec<CodePointBuf> = texts.iter().map(|t| CodePointBuf::new(t)).collect();
    let sb: Vec<CodePointBuf> = surfaces.iter().map(|s| CodePointBuf::new(s)).collect();
    let t: Vec<CodePoints<'_>> = tb.iter().map(CodePointBuf::as_code_points).collect();
    let s: Vec<CodePoints<'_>> = sb.iter().map(CodePointBuf::as_code_points).collect();
    let mut g = c.benchmark_group("align_cluener_dev");
    g.throughput(Throughput::Elements(s.len() as u64));
    for (name, occurrence) in [
        ("first", Occurrence::First),
        ("all", Occurrence::All),
        ("left-to-right", Occurrence::LeftToRight),
        ("nearest-after", Occurrence::NearestAfter),
    ] {
        let opts = AlignOptions {
            occurrence,
            ..Default::default()
        };
        g.bench_function(name, |b| {
            b.iter(|| align_code_points(&t[..], &s[..], &doc, None, &opts).expect("aligned"))
        });
    }
    // Lenient: every surface perturbed (upper-cased Latin, spaces) so the later stages run.
    let noisy: Vec<String> = surfaces
        .iter()
        .map(|x| format!("{} ", x.to_uppercase()))
        .collect();
    let nb: Vec<CodePointBuf> = noisy.iter().map(|s| CodePointBuf::new(s)).collect();
    let n: Vec<CodePoints<'_>> = nb.iter().map(CodePointBuf::as_code_points).collect();
    let lenient = AlignOptions {
        normalization: Normalization {
            nfkc: true,
            case: true,
            whitespace: Whitespace::Remove,
            ..Default::default()
        },
        fuzzy: Some(0.8),
        ..Default::default()
    };
    g.bench_function("lenient, perturbed surfaces", |b| {
        b.iter(|| align_code_points(&t[..], &n[..], &doc, None, &lenient).expect("aligned"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
