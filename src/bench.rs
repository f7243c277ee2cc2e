//! End-to-end benchmark (filled in below).

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {}

pub fn run(_args: &BenchArgs) -> anyhow::Result<()> {
    Ok(())
}
