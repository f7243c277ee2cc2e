pub mod plugins;
pub mod wat;
