//! Exit codes, in one place (documented in docs/cli.md).

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: nothing to report.
    Clean,
    /// 1: findings (lint errors or warnings, files `fmt --check` would change).
    Findings,
    /// 2: usage or I/O error: bad arguments, unreadable files, not a project.
    Usage,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(match exit {
            Exit::Clean => 0,
            Exit::Findings => 1,
            Exit::Usage => 2,
        })
    }
}
