//! Presets embedded in the binary (the files under `presets/`).

pub const FILES: &[(&str, &str)] = &[
    ("R.toml", include_str!("../../presets/R.toml")),
    ("bash.toml", include_str!("../../presets/bash.toml")),
    ("clojure.toml", include_str!("../../presets/clojure.toml")),
    ("erl.toml", include_str!("../../presets/erl.toml")),
    ("gdb.toml", include_str!("../../presets/gdb.toml")),
    ("ghci.toml", include_str!("../../presets/ghci.toml")),
    ("iex.toml", include_str!("../../presets/iex.toml")),
    ("ipython.toml", include_str!("../../presets/ipython.toml")),
    ("irb.toml", include_str!("../../presets/irb.toml")),
    ("julia.toml", include_str!("../../presets/julia.toml")),
    ("lua.toml", include_str!("../../presets/lua.toml")),
    ("mysql.toml", include_str!("../../presets/mysql.toml")),
    ("node.toml", include_str!("../../presets/node.toml")),
    ("ocaml.toml", include_str!("../../presets/ocaml.toml")),
    ("perl.toml", include_str!("../../presets/perl.toml")),
    ("pry.toml", include_str!("../../presets/pry.toml")),
    ("psql.toml", include_str!("../../presets/psql.toml")),
    ("python.toml", include_str!("../../presets/python.toml")),
    (
        "rails_console.toml",
        include_str!("../../presets/rails_console.toml"),
    ),
    (
        "rails_console_production.toml",
        include_str!("../../presets/rails_console_production.toml"),
    ),
    (
        "redis-cli.toml",
        include_str!("../../presets/redis-cli.toml"),
    ),
    ("sh.toml", include_str!("../../presets/sh.toml")),
    ("sqlite3.toml", include_str!("../../presets/sqlite3.toml")),
    ("tclsh.toml", include_str!("../../presets/tclsh.toml")),
    ("utop.toml", include_str!("../../presets/utop.toml")),
    ("zsh.toml", include_str!("../../presets/zsh.toml")),
];
