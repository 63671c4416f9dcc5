//! Embeds the shipped connector profiles (`rules/connectors/*.yaml`) into the binary, so
//! `ledgerlink` works from any directory without the repository beside it.

use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("rules/connectors");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    entries.sort();
    let mut out = String::from(
        "/// Shipped profiles: (file stem, YAML text).\npub static SHIPPED: &[(&str, &str)] = &[\n",
    );
    for path in entries {
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        out.push_str(&format!(
            "    ({stem:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
    let target =
        Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("shipped_profiles.rs");
    fs::write(target, out).expect("OUT_DIR is writable");
}
