//! The 10-label grounded `iepile-json` grammar over the first 3,821 (or `CHARS`) characters of
//! CLUENER dev, built in Rust alone: the first build of the process and the second (each with
//! the page faults it took, from `/proc/self/stat`), then the mean of `ITERS` (default 2,000)
//! more.
//! With `PREPARE=1`, the thread's tables are prepared first, as preparing a vocabulary does.
//! With `COLD=K`, then K more builds, each after `EVICT_MB` (default 4) MiB are written, so
//! that the build finds its tables and heap out of cache, as a request arriving after other
//! work does (4 evicts this VM's 512 KiB L2; 64 its 32 MiB L3 too): their median and p90.
//! For callgrind/perf runs of the per-request setup of issue #3:
//! `ITERS=200 valgrind --tool=callgrind target/release/examples/build_prof`.

use std::time::Instant;

use nerlm_benches::{cluener_dev_text, evict_caches, labels, percentile};
use nerlm_core::grammar::{Grammar, GrammarOptions};

/// The process's minor page faults so far (`/proc/self/stat`, field 10; 0 elsewhere).
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) is parenthesised and may hold spaces: count after it.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(7))
        .and_then(|x| x.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let env = |name: &str, default: usize| -> usize {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let text = cluener_dev_text(env("CHARS", 3821));
    let labels = labels();
    let opts = GrammarOptions {
        grounded: true,
        ..Default::default()
    };
    let build = || Grammar::compile("iepile-json", &labels, &text, &opts).expect("grammar");
    if std::env::var_os("PREPARE").is_some() {
        // What preparing a vocabulary does for its thread.
        nerlm_core::ground::prepare_thread_tables();
    }
    for which in ["first", "second"] {
        let f = minor_faults();
        let t = Instant::now();
        std::hint::black_box(build());
        let e = t.elapsed();
        eprintln!(
            "{which} build: {:.1} µs, {} page faults",
            e.as_secs_f64() * 1e6,
            minor_faults() - f
        );
    }
    let cold = env("COLD", 0);
    if cold > 0 {
        let evict_mb = env("EVICT_MB", 4);
        let mut junk = vec![0u8; evict_mb << 20];
        let mut times: Vec<f64> = (0..cold)
            .map(|_| {
                evict_caches(&mut junk);
                let t = Instant::now();
                std::hint::black_box(build());
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        times.sort_by(f64::total_cmp);
        eprintln!(
            "{cold} builds after {evict_mb} MiB written: p50 {:.1} µs, p90 {:.1} µs",
            percentile(&times, 0.5),
            percentile(&times, 0.9)
        );
    }
    let n = env("ITERS", 2000);
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(build());
    }
    eprintln!(
        "mean of {n} builds: {:.1} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
