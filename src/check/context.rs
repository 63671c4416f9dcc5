//! What the checker knows about a project before it reads the rules: its systems and their
//! profiles, the types of its settings, and its tables.

use std::{cell::RefCell, collections::BTreeSet, sync::Arc};

use indexmap::IndexMap;
use serde_yaml_ng::Value as Yaml;

use super::types::Type;
use crate::{
    connector::{Entity, Profile},
    project::{Project, RuleFile},
    source::{SourceFile, Span},
    syntax::ast::{Item, Literal, TableSource},
};

/// A system of the project with its profile.
#[derive(Debug, Clone)]
pub struct System {
    /// The alias used in rules (`crm`).
    pub alias: String,
    /// The connector name (`webcrm`).
    pub connector: String,
    /// The profile, when the connector exists.
    pub profile: Option<Arc<Profile>>,
}

/// A table defined in a rule file.
#[derive(Debug, Clone)]
pub struct Table {
    /// The file that defines it.
    pub file: Arc<SourceFile>,
    /// Span of its name.
    pub name_span: Span,
    /// Type of its values.
    pub value_type: Type,
}

/// Everything the rules are checked against.
#[derive(Debug)]
pub struct Context<'p> {
    /// The project.
    pub project: &'p Project,
    /// Systems by alias.
    pub systems: IndexMap<String, System>,
    /// Settings by key, with their types.
    pub settings: IndexMap<String, Type>,
    /// Tables by name.
    pub tables: IndexMap<String, Table>,
    /// Settings and tables referenced by any rule (for the unused-… lints).
    pub used: RefCell<BTreeSet<String>>,
}

impl<'p> Context<'p> {
    /// Builds the context of a project.
    pub fn new(project: &'p Project) -> Self {
        let mut systems = IndexMap::new();
        let mut settings = IndexMap::new();
        if let Some(config) = &project.config {
            for (alias, system) in &config.systems {
                systems.insert(
                    alias.clone(),
                    System {
                        alias: alias.clone(),
                        connector: system.connector.clone(),
                        profile: project.profiles.get(&system.connector).cloned(),
                    },
                );
            }
            for (key, value) in &config.settings {
                settings.insert(key.clone(), setting_type(value));
            }
        }
        let mut tables = IndexMap::new();
        for rule_file in &project.rules {
            collect_tables(rule_file, &mut tables);
        }
        Context {
            project,
            systems,
            settings,
            tables,
            used: RefCell::new(BTreeSet::new()),
        }
    }

    /// The profile entity `alias.entity`, if both exist.
    pub fn entity(&self, alias: &str, entity: &str) -> Option<&Entity> {
        self.systems
            .get(alias)?
            .profile
            .as_ref()?
            .entities
            .get(entity)
    }

    /// Marks a setting (`settings.x`) or table (`table:x`) as used.
    pub fn mark_used(&self, key: String) {
        self.used.borrow_mut().insert(key);
    }

    /// A setting's YAML value.
    pub fn setting_value(&self, key: &str) -> Option<&Yaml> {
        self.project.config.as_ref()?.settings.get(key)
    }
}

/// The type of a setting, read from its YAML value: `20%` is a percentage, `2026-01-01` a
/// date, `24h` a duration.
pub fn setting_type(value: &Yaml) -> Type {
    match value {
        Yaml::Null => Type::Null,
        Yaml::Bool(_) => Type::Bool,
        Yaml::Number(n) if n.is_i64() || n.is_u64() => Type::Integer,
        Yaml::Number(_) => Type::Decimal,
        Yaml::String(s) => text_type(s),
        Yaml::Sequence(items) => {
            Type::List(Box::new(items.first().map_or(Type::Unknown, setting_type)))
        }
        Yaml::Mapping(map) => Type::Record(Arc::new(
            map.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), setting_type(v))))
                .collect(),
        )),
        Yaml::Tagged(tagged) => setting_type(&tagged.value),
    }
}

/// The type a YAML or CSV text stands for.
pub fn text_type(s: &str) -> Type {
    let t = s.trim();
    if let Some(number) = t.strip_suffix('%') {
        if number.trim().parse::<rust_decimal::Decimal>().is_ok() {
            return Type::Percent;
        }
    }
    if t.len() == 10 && crate::syntax::is_valid_date(t) {
        return Type::Date;
    }
    let unit_start = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    if unit_start > 0 && matches!(&t[unit_start..], "ms" | "s" | "m" | "h" | "d") {
        return Type::Duration;
    }
    Type::Text
}

fn collect_tables(rule_file: &RuleFile, tables: &mut IndexMap<String, Table>) {
    for item in &rule_file.ast.items {
        let Item::Table(table) = item else { continue };
        let value_type = match &table.node.source {
            TableSource::Inline { entries } => {
                let mut value_type = Type::Unknown;
                for entry in entries {
                    if let crate::syntax::ast::ExprKind::Literal(literal) = &entry.node.value.node {
                        let t = literal_type(literal);
                        if value_type.is_unknown() {
                            value_type = t;
                        } else if value_type != t {
                            value_type = Type::Unknown;
                            break;
                        }
                    }
                }
                value_type
            }
            TableSource::Csv { .. } => Type::Text,
        };
        tables.entry(table.node.name.node.clone()).or_insert(Table {
            file: rule_file.source.clone(),
            name_span: table.node.name.span,
            value_type,
        });
    }
}

/// The type of a literal.
pub fn literal_type(literal: &Literal) -> Type {
    match literal {
        Literal::Text(_) => Type::Text,
        Literal::Number(n) if n.fract().is_zero() && n.scale() == 0 => Type::Integer,
        Literal::Number(_) => Type::Decimal,
        Literal::Percent(_) => Type::Percent,
        Literal::Duration(_) => Type::Duration,
        Literal::Date(_) => Type::Date,
        Literal::Bool(_) => Type::Bool,
        Literal::Null => Type::Null,
    }
}
