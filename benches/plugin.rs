//! Plugin host benchmarks (no framework: `harness = false`, plain timing).
//!
//!     cargo bench --bench plugin
//!
//! Targets (issue 3): detect-prompt on a 132x43 screen <= 20 us median;
//! per-session instantiation <= 1 ms.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use repl_mcp::plugin::{DetectInput, HookFacts, HostLimits, PluginHost};

#[path = "../tests/support/wat.rs"]
mod wat;

/// Grows memory a page at a time and writes every byte of each new page, so
/// that the pages count towards the resident set.
const TOUCHING_BOMB: &str = "(local $p i32)
  (loop $l
    (local.set $p (memory.grow (i32.const 1)))
    (memory.fill (i32.mul (local.get $p) (i32.const 65536)) (i32.const 1) (i32.const 65536))
    (br $l))
  (i32.const 0)";
const ENDLESS_LOOP: &str = "(loop $l (br $l)) (i32.const 0)";

/// Peak resident set of this process (VmHWM), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

const COLS: usize = 132;
const ROWS: usize = 43;

/// A full screen of Python output, the prompt on the last row.
fn screen() -> String {
    let mut rows: Vec<String> = (0..ROWS - 1)
        .map(|i| {
            let mut row = format!("[{i:02}] {}", "0123456789abcdef".repeat(COLS / 16));
            row.truncate(COLS);
            row
        })
        .collect();
    rows.push(">>> ".to_string());
    rows.join("\n")
}

/// Median and 99th percentile of `iters` runs of `f`.
fn measure(iters: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..iters / 10 {
        f();
    }
    let mut samples: Vec<Duration> = (0..iters)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    samples.sort();
    (samples[iters / 2], samples[iters * 99 / 100])
}

fn row(name: &str, (median, p99): (Duration, Duration), target: &str) {
    println!(
        "| {name:<48} | {:>10.2} | {:>10.2} | {target:<8} |",
        median.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let host = PluginHost::new(HostLimits::default())?;
    host.add_builtins()?;
    let python = BTreeMap::from([
        ("ready".to_string(), "^>>> $".to_string()),
        ("continuation".to_string(), "^\\.\\.\\. $".to_string()),
    ]);

    // The first instantiation compiles the component (Cranelift, no cache).
    let mut compile_times = Vec::new();
    for id in host.ids() {
        let t = Instant::now();
        host.instantiate(&id, &python)?;
        compile_times.push((id, t.elapsed()));
    }

    let screen = screen();
    let input = DetectInput {
        screen: &screen,
        cursor_row: (ROWS - 1) as u16,
        cursor_col: 4,
        cursor_line: ">>> ",
        recent_output: &screen[screen.len() - 2000..],
        alternate_screen: false,
        preset: "python",
        ..Default::default()
    };
    let facts = HookFacts {
        preset: "python".into(),
        state: "continuation".into(),
        elapsed_ms: 10_000,
        screen: screen.clone(),
        recent_output: String::new(),
        exit_code: None,
        restarts: 0,
        last_input: "for i in range(3):\n".into(),
        ..Default::default()
    };

    println!(
        "| {:<48} | {:>10} | {:>10} | {:<8} |",
        "benchmark", "median us", "p99 us", "target"
    );
    println!("|{:-<50}|{:-<12}|{:-<12}|{:-<10}|", "", "", "", "");

    let mut regex = host.instantiate("prompt-regex", &python)?;
    row(
        "detect-prompt, prompt-regex, 132x43 screen",
        measure(20_000, || {
            black_box(regex.detect_prompt(black_box(&input)).ok());
        }),
        "<= 20",
    );
    let mut recovery = host.instantiate("default-recovery", &BTreeMap::new())?;
    row(
        "detect-prompt, default-recovery, 132x43 screen",
        measure(20_000, || {
            black_box(recovery.detect_prompt(black_box(&input)).ok());
        }),
        "<= 20",
    );
    row(
        "on-timeout, default-recovery (decision checked)",
        measure(20_000, || {
            black_box(recovery.on_timeout(black_box(&facts)).ok());
        }),
        "-",
    );
    row(
        "instantiate + init, prompt-regex",
        measure(2_000, || {
            black_box(host.instantiate("prompt-regex", &python).ok());
        }),
        "<= 1000",
    );
    row(
        "instantiate + init, default-recovery",
        measure(2_000, || {
            black_box(host.instantiate("default-recovery", &BTreeMap::new()).ok());
        }),
        "<= 1000",
    );
    println!();
    hostile(&host, &input)?;
    println!();
    for (id, t) in compile_times {
        println!(
            "first use of {id} (compile, no disk cache): {:.1} ms",
            t.as_secs_f64() * 1e3
        );
    }
    Ok(())
}

/// How hostile plugins are contained: the time an endless loop runs before
/// its deadline stops it, and how far a memory bomb raises the peak RSS.
fn hostile(host: &PluginHost, input: &DetectInput<'_>) -> Result<(), Box<dyn std::error::Error>> {
    let load = |id: &str, body: &'static str, limits: &str| {
        let text = wat::component(&wat::Bodies {
            detect: body,
            ..wat::Bodies::default()
        });
        host.load_bytes(&wat::manifest(id, text.as_bytes(), limits), text.as_bytes())
    };
    load("bench-loop", ENDLESS_LOOP, "[limits]\ndeadline_ms = 100")?;
    load(
        "bench-bomb",
        TOUCHING_BOMB,
        "[limits]\nmemory_mib = 32\ndeadline_ms = 1000",
    )?;

    let mut spin = host.instantiate("bench-loop", &BTreeMap::new())?;
    let t = Instant::now();
    let err = spin.detect_prompt(input).err();
    println!(
        "endless loop (deadline 100 ms) stopped after {:.1} ms: {}",
        t.elapsed().as_secs_f64() * 1e3,
        err.map_or("NOT STOPPED".to_string(), |e| e.to_string())
    );

    let before = peak_rss_kib().unwrap_or(0);
    let mut bomb = host.instantiate("bench-bomb", &BTreeMap::new())?;
    let err = bomb.detect_prompt(input).err();
    let after = peak_rss_kib().unwrap_or(0);
    println!(
        "memory bomb (cap 32 MiB): peak RSS grew by {:.1} MiB: {}",
        after.saturating_sub(before) as f64 / 1024.0,
        err.map_or("NOT STOPPED".to_string(), |e| e.to_string())
    );
    Ok(())
}
