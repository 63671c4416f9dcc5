//! parse + check + compile of every example project and of a generated 10 000-line rule
//! file. Figures go into docs/benchmarks.md (targets: each example well under 50 ms,
//! 10 000 lines under 200 ms).

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};
use ledgerlink::{
    check, plan,
    project::{Project, RuleFile},
    source::SourceFile,
};

fn examples() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"))
            .expect("examples/")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("ledgerlink.yaml").is_file())
            .collect();
    dirs.sort();
    dirs
}

/// Re-parses the project's rule texts, checks and compiles: the whole pipeline from text.
fn pipeline(project: &Project, texts: &[(String, String)]) -> usize {
    let mut diagnostics = Vec::new();
    let mut project = project.clone();
    project.rules = texts
        .iter()
        .map(|(name, text)| {
            RuleFile::parse(
                SourceFile::new(name.clone(), text.clone()),
                &mut diagnostics,
            )
        })
        .collect();
    diagnostics.extend(check::check(&project));
    let plan = plan::compile(&project);
    diagnostics.len() + plan.flows.len() + plan.syncs.len()
}

/// A flow of 10 lines against the kitchen-quotes systems, repeated.
pub fn generated_rules(lines: usize) -> String {
    let mut out = String::new();
    let mut i = 0;
    while out.lines().count() < lines {
        out.push_str(&format!(
            "flow generated_{i} {{\n  on winner.Quote when Status becomes \"Accepted\" and ConvertedToOrder\n  since settings.from_date\n  let customer = upsert acc.Party by code == winner.Quote.Customer.Number {{\n    name = trim(winner.Quote.Customer.Name)\n  }}\n  require winner.Quote.Total > 0 else \"quote {{winner.Quote.Number}} has no total\"\n  # generated flow {i}\n}}\n\n"
        ));
        i += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse+check+compile");
    for dir in examples() {
        let mut diagnostics = Vec::new();
        let project = Project::load(&dir, &mut diagnostics).expect("example loads");
        let texts: Vec<(String, String)> = project
            .rules
            .iter()
            .map(|r| (r.source.name.clone(), r.source.text.clone()))
            .collect();
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        group.bench_function(&name, |b| b.iter(|| pipeline(&project, &texts)));
    }
    let kitchen = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kitchen-quotes");
    let mut diagnostics = Vec::new();
    let project = Project::load(&kitchen, &mut diagnostics).expect("kitchen-quotes loads");
    let big = generated_rules(10_000);
    let texts = vec![("generated.rules".to_string(), big)];
    group.sample_size(20);
    group.bench_function("generated-10000-lines", |b| {
        b.iter(|| pipeline(&project, &texts))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
