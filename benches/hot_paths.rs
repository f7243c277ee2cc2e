//! Micro-benchmarks of the hot paths: what every PTY chunk goes through,
//! and what every result goes through. `cargo bench --bench hot_paths`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use repl_mcp::preset::PromptConfig;
use repl_mcp::session::PromptMatcher;
use repl_mcp::session::clean_text;
use repl_mcp::session::hot::{MarkerScanner, OutputRing, Terminal, extract_output};

/// Median time of `f` over enough runs to fill about `budget`.
fn measure(name: &str, unit: &str, per: f64, budget: Duration, mut f: impl FnMut()) {
    let mut times = Vec::new();
    let began = Instant::now();
    while began.elapsed() < budget || times.len() < 5 {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    let rate = per / median.as_secs_f64();
    println!("{name:<52} {:>12.3?}  {rate:>10.1} {unit}/s", median);
}

fn bulk(lines: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..lines {
        out.extend_from_slice(format!("line {i} of the bulk output test\r\n").as_bytes());
    }
    out
}

fn main() {
    let budget = Duration::from_millis(700);
    let data = bulk(20_000);
    let mb = data.len() as f64 / 1e6;
    let chunks: Vec<&[u8]> = data.chunks(4096).collect();
    println!("{:<52} {:>12}  {:>12}", "hot path", "median", "throughput");

    measure(
        "terminal model: 20k plain lines, chunk by chunk",
        "MB",
        mb,
        budget,
        || {
            let mut t = Terminal::new(43, 132);
            for c in &chunks {
                t.feed(c, false);
            }
            black_box(t.screen().cursor_position());
        },
    );
    measure(
        "terminal model: 20k plain lines in one burst",
        "MB",
        mb,
        budget,
        || {
            let mut t = Terminal::new(43, 132);
            for c in &chunks {
                t.feed(c, true);
            }
            black_box(t.screen().cursor_position());
        },
    );
    let colored: Vec<u8> = String::from_utf8_lossy(&data)
        .replace("line", "\x1b[32mline\x1b[0m")
        .into_bytes();
    let cmb = colored.len() as f64 / 1e6;
    let cchunks: Vec<&[u8]> = colored.chunks(4096).collect();
    measure(
        "terminal model: 20k coloured lines in 4 KiB chunks",
        "MB",
        cmb,
        budget,
        || {
            let mut t = Terminal::new(43, 132);
            for c in &cchunks {
                t.feed(c, true);
            }
            black_box(t.screen().cursor_position());
        },
    );
    measure(
        "OSC 133 marker scan: 20k coloured lines",
        "MB",
        cmb,
        budget,
        || {
            let mut s = MarkerScanner::default();
            let mut out = Vec::new();
            let mut base = 0;
            for c in &cchunks {
                s.scan(c, base, &mut out);
                base += c.len() as u64;
            }
            black_box(out.len());
        },
    );
    measure(
        "output ring: push 20k lines into a 4 MiB ring",
        "MB",
        mb,
        budget,
        || {
            let mut r = OutputRing::new(4 << 20);
            for c in &chunks {
                r.push(c);
            }
            black_box(r.end());
        },
    );
    let matcher = PromptMatcher::new(&PromptConfig {
        ready: vec![r"^>>> $".into()],
        continuation: vec![r"^\.\.\. $".into()],
        ..Default::default()
    })
    .expect("regexes");
    measure(
        "prompt classification of a cursor line (x1000)",
        "Mcalls",
        1000.0 / 1e6,
        budget,
        || {
            for _ in 0..1000 {
                black_box(matcher.classify(black_box("line 19999 of the bulk output test")));
            }
        },
    );
    measure("clean text: render 20k lines", "MB", mb, budget, || {
        black_box(clean_text(&data).len());
    });
    let mut with_echo = b"print('\\n'.join(...))\r\n".to_vec();
    with_echo.extend_from_slice(&data);
    with_echo.extend_from_slice(b">>> ");
    measure(
        "command output: echo + 20k lines + prompt",
        "MB",
        mb,
        budget,
        || {
            black_box(extract_output(&with_echo, 0, &[], "print('\\n'.join(...))", &matcher).len());
        },
    );
}
