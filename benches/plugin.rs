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
    for (id, t) in compile_times {
        println!(
            "first use of {id} (compile, no disk cache): {:.1} ms",
            t.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
