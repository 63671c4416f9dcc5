#![doc = include_str!("../../../docs/lints/LL404.md")]

use std::collections::HashMap;

use super::Rule;
use crate::{
    check::{context::Context, resolve::Facts, walk},
    diagnostic::{codes, Code, Diagnostic},
    syntax::ast::{Event, ExprKind, Statement, Trigger, Write, WriteKind},
};

/// Flows that trigger each other in a circle: A writes what B listens to and back.
pub struct FlowCycle;

impl Rule for FlowCycle {
    fn code(&self) -> &'static Code {
        &codes::FLOW_CYCLE
    }

    fn check(&self, cx: &Context<'_>, _facts: &Facts, out: &mut Vec<Diagnostic>) {
        // name → (file, on-span, source entity, written entities)
        let mut flows = Vec::new();
        for (file, flow) in walk::flows(cx.project) {
            let mut source = None;
            for s in &flow.node.statements {
                if let Statement::On {
                    source: on,
                    trigger,
                } = &s.node
                {
                    // A flow started by hand is never started by another flow's writes.
                    let manual = trigger.as_ref().is_some_and(|t| {
                        matches!(&t.node, Trigger::Event { event, .. } if event.node == Event::Requested)
                    });
                    if manual {
                        break;
                    }
                    source = Some((
                        format!("{}.{}", on.node.system.node, on.node.entity.node),
                        s.span,
                    ));
                    break;
                }
            }
            let mut written = Vec::new();
            // Writing back to the record that started the flow (an upsert keyed by its own id)
            // updates that record; the runtime suppresses the echo, so it starts nothing.
            let own_id = source.as_ref().and_then(|(entity, _)| {
                let (system, name) = entity.split_once('.')?;
                Some((entity.clone(), cx.entity(system, name)?.id.clone()))
            });
            walk::writes(&flow.node.statements, &mut |w| {
                if let Some((entity, id)) = &own_id {
                    if writes_back(w, entity, id) {
                        return;
                    }
                }
                written.push(format!(
                    "{}.{}",
                    w.target.node.system.node, w.target.node.entity.node
                ))
            });
            flows.push((flow.node.name.node.clone(), file, source, written));
        }
        let listeners: HashMap<&str, Vec<usize>> =
            flows
                .iter()
                .enumerate()
                .fold(HashMap::new(), |mut m, (i, f)| {
                    if let Some((entity, _)) = &f.2 {
                        m.entry(entity.as_str()).or_default().push(i);
                    }
                    m
                });
        let edges: Vec<Vec<usize>> = flows
            .iter()
            .map(|f| {
                f.3.iter()
                    .flat_map(|e| listeners.get(e.as_str()).cloned().unwrap_or_default())
                    .collect()
            })
            .collect();
        let mut reported = vec![false; flows.len()];
        for start in 0..flows.len() {
            if reported[start] {
                continue;
            }
            if let Some(cycle) = find_cycle(start, &edges) {
                for &i in &cycle {
                    reported[i] = true;
                }
                let names: Vec<&str> = cycle.iter().map(|&i| flows[i].0.as_str()).collect();
                let (_, file, source, _) = &flows[start];
                let Some((entity, on_span)) = source else {
                    continue;
                };
                let (message, label) = if names.len() == 1 {
                    (
                        format!("flow `{}` writes the records it listens to", names[0]),
                        format!("listens to {entity}, which this flow writes"),
                    )
                } else {
                    (
                        format!(
                            "flows trigger each other in a circle: {} → {}",
                            names.join(" → "),
                            names[0]
                        ),
                        format!("listens to {entity}, which another flow in the circle writes"),
                    )
                };
                out.push(
                    Diagnostic::new(&codes::FLOW_CYCLE, message)
                        .primary(*on_span, label)
                        .help("break the circle: write to an entity no flow in it listens to, or start one of the flows by hand with `on … when requested`")
                        .in_file(file),
                );
            }
        }
    }
}

/// `upsert E by Id == E.Id`: an update of the flow's own record `E`.
fn writes_back(write: &Write, entity: &str, id: &str) -> bool {
    let target = format!(
        "{}.{}",
        write.target.node.system.node, write.target.node.entity.node
    );
    matches!(write.kind.node, WriteKind::Upsert)
        && target == entity
        && write.keys.iter().any(|k| {
            k.field.node == id
                && matches!(&k.value.node, ExprKind::Path(p) if p.len() == 3 && p.last().is_some_and(|l| l.node == id))
        })
}

/// A cycle through `start`, as flow indexes in order.
fn find_cycle(start: usize, edges: &[Vec<usize>]) -> Option<Vec<usize>> {
    let mut stack = vec![(start, vec![start])];
    let mut seen = vec![false; edges.len()];
    while let Some((node, path)) = stack.pop() {
        for &next in &edges[node] {
            if next == start {
                return Some(path);
            }
            if !seen[next] {
                seen[next] = true;
                let mut longer = path.clone();
                longer.push(next);
                stack.push((next, longer));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::check::testing::lint_codes;

    #[test]
    fn two_flows_feeding_each_other() {
        let src = r#"
          flow a { on winner.Quote create acc.Sale { party = 1 reference = "a" } }
          flow b { on acc.Sale create acc.Sale { party = 1 reference = "b" } }"#;
        assert!(lint_codes(src).contains(&"LL404"), "{:?}", lint_codes(src));
        let ok = r#"flow a { on winner.Quote create acc.Sale { party = 1 reference = "a" } }"#;
        assert!(!lint_codes(ok).contains(&"LL404"));
        let manual = r#"
          flow a { on winner.Quote create acc.Sale { party = 1 reference = "a" } }
          flow b { on acc.Sale when requested create acc.Sale { party = 1 reference = "b" } }"#;
        assert!(
            !lint_codes(manual).contains(&"LL404"),
            "{:?}",
            lint_codes(manual)
        );
        let write_back = r#"flow a { on crm.Delivery upsert crm.Delivery by DeliveryId == crm.Delivery.DeliveryId { DeliveryErpId = "x" } }"#;
        assert!(
            !lint_codes(write_back).contains(&"LL404"),
            "{:?}",
            lint_codes(write_back)
        );
    }
}
