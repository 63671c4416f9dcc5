//! `ledgerlink fmt [--check] [PATH…]`

use std::path::{Path, PathBuf};

use super::{output, Exit, Format};
use crate::{format::format_source, source::SourceFile};

/// Arguments of `fmt`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rule files or folders to search for `*.rules` (default: the current folder).
    pub paths: Vec<PathBuf>,
    /// Change nothing; exit 1 when a file is not formatted.
    #[arg(long)]
    pub check: bool,
}

/// Formats rule files in place, or checks them.
pub fn run(args: Args) -> Exit {
    let roots = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    let mut files = Vec::new();
    for root in &roots {
        if let Err(err) = collect(root, &mut files) {
            output::error(format!("cannot read {}: {err}", root.display()));
            return Exit::Usage;
        }
    }
    let mut exit = Exit::Clean;
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(err) => {
                output::error(format!("cannot read {}: {err}", path.display()));
                return Exit::Usage;
            }
        };
        let source = SourceFile::new(path.display().to_string(), text);
        match format_source(&source) {
            Ok(formatted) if formatted == source.text => {}
            Ok(_) if args.check => {
                println!("would reformat {}", path.display());
                exit = Exit::Findings;
            }
            Ok(formatted) => {
                if let Err(err) = std::fs::write(&path, formatted) {
                    output::error(format!("cannot write {}: {err}", path.display()));
                    return Exit::Usage;
                }
                println!("formatted {}", path.display());
            }
            Err(diagnostics) => {
                output::print_diagnostics(&diagnostics, Format::Human);
                exit = Exit::Findings;
            }
        }
    }
    exit
}

/// Every `*.rules` file under `path`, in name order, skipping `target` and hidden folders.
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for entry in entries {
        let name = entry
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if entry.is_dir() {
            if !name.starts_with('.') && name != "target" {
                collect(&entry, out)?;
            }
        } else if name.ends_with(".rules") {
            out.push(entry);
        }
    }
    Ok(())
}
