pub mod wat;
