//! Systems without a per-process probe yet: the terminal modes still count,
//! the foreground program's activity is unknown.

use super::{Activity, Foreground};
use std::os::fd::RawFd;

pub fn foreground_activity(_master: RawFd, _pgrp: i32) -> (Option<Foreground>, Activity) {
    (None, Activity::Unknown)
}
