//! The 10-label grounded `iepile-json` grammar over the first 3,821 characters of CLUENER dev,
//! built in Rust alone: the first build of the process and the second (each with the page
//! faults it took, from `/proc/self/stat`), then the mean of `ITERS` (default 2,000) more.
//! With `PREPARE=1`, the thread's tables are prepared first, as preparing a vocabulary does.
//! For callgrind/perf runs of the per-request setup of issue #3:
//! `ITERS=200 valgrind --tool=callgrind target/release/examples/build_prof`.

use std::time::Instant;

use nerlm_benches::{cluener_dev_text, labels};
use nerlm_core::grammar::{Grammar, GrammarOptions};

const CHARS: usize = 3821;

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
    let text = cluener_dev_text(CHARS);
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
    let n: usize = std::env::var("ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(build());
    }
    eprintln!(
        "mean of {n} builds: {:.1} µs",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
