//! The fields of the scenario language, read from the JSON schema of
//! [`ScenarioFile`](parity::scenario::schema::ScenarioFile) (`schemars`), and the fields a
//! generated scenario uses, read from the file itself by walking it beside the schema.
//!
//! A field is a dotted property path (`run.resume.from`); a list's items share its path
//! (`agents.tools`), as does a map's values (`tools.parameters.*`). What schemars writes and how
//! it is read here:
//! - `$ref` to a definition: followed. A definition that contains itself (`trace.body.body`, the
//!   custom spans' actions) is listed once, where it is first entered; deeper uses count there.
//! - an enum of names (`enum`, or a `oneOf` of `const`s, as schemars writes documented
//!   variants): every variant is a field of its own, `run.resume.from=json_new_process`.
//! - an untagged enum (`NeedsApproval`: `anyOf` of a boolean and a list): every alternative is a
//!   field of its own, `tools.needs_approval:boolean`, matched on the JSON type of the value.
//! - `Option<T>` (`anyOf [T, null]`, or `type: [T, "null"]`): the `null` alternative is absence.
//! - `flatten` is not used by the file's types (only by `Scenario`, which is not a file).

use std::collections::{BTreeMap, BTreeSet};

use parity::scenario::schema::json_type;
use serde_json::Value;

/// What generated scenarios used: the distinct values of each field (absence is `∅`), the
/// variants and alternatives they took, and per case its features ([`Observed::features`]).
#[derive(Debug, Default)]
pub struct Observed {
    pub values: BTreeMap<String, BTreeSet<String>>,
    pub variants: BTreeSet<String>,
    /// Fields set to something other than their default, and variants: what a case "does".
    pub features: BTreeSet<String>,
}

const ABSENT: &str = "∅";

/// The JSON schema of the scenario file.
pub fn scenario_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(
        parity::scenario::schema::ScenarioFile
    ))
    .expect("the schema is JSON")
}

/// Every field of the language, as [`Observed`] names them.
pub fn schema_fields(schema: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    list(schema, schema, "", &mut Vec::new(), &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The definition a `$ref` names (`#/$defs/RunSpec`).
fn definition<'s>(root: &'s Value, node: &Value) -> Option<(&'s Value, String)> {
    let reference = node.get("$ref")?.as_str()?;
    let name = reference.rsplit('/').next()?.to_owned();
    Some((root.get("$defs")?.get(&name)?, name))
}

/// The variants of an enum of names, if `node` is one.
fn variants(node: &Value) -> Option<Vec<String>> {
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        return Some(
            values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
        );
    }
    let alternatives = node
        .get("oneOf")
        .or_else(|| node.get("anyOf"))?
        .as_array()?;
    alternatives
        .iter()
        .map(|a| a.get("const").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// The alternatives of an `anyOf`/`oneOf` other than `null`, with the name of each.
fn alternatives<'s>(root: &'s Value, node: &'s Value) -> Vec<(&'s Value, String)> {
    let Some(list) = node
        .get("anyOf")
        .or_else(|| node.get("oneOf"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    list.iter()
        .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
        .map(|a| match definition(root, a) {
            Some((_, name)) => (a, name),
            None => (
                a,
                a.get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("any")
                    .to_owned(),
            ),
        })
        .collect()
}

fn list(
    root: &Value,
    node: &Value,
    path: &str,
    stack: &mut Vec<String>,
    out: &mut BTreeSet<String>,
) {
    if let Some((def, name)) = definition(root, node) {
        if stack.contains(&name) {
            return;
        }
        stack.push(name);
        list(root, def, path, stack, out);
        stack.pop();
        return;
    }
    if let Some(variants) = variants(node) {
        out.extend(variants.into_iter().map(|v| format!("{path}={v}")));
        return;
    }
    let alternatives = alternatives(root, node);
    for (alternative, kind) in &alternatives {
        if alternatives.len() > 1 {
            out.insert(format!("{path}:{kind}"));
        }
        list(root, alternative, path, stack, out);
    }
    if let Some(properties) = node.get("properties").and_then(Value::as_object) {
        for (key, sub) in properties {
            let p = join(path, key);
            out.insert(p.clone());
            list(root, sub, &p, stack, out);
        }
    }
    if let Some(items) = node.get("items") {
        list(root, items, path, stack, out);
    }
    if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
        list(root, values, &join(path, "*"), stack, out);
    }
}

/// Whether schema `node` (one alternative) takes `value`.
fn takes(root: &Value, node: &Value, value: &Value) -> bool {
    let node = definition(root, node).map_or(node, |(def, _)| def);
    match node.get("type") {
        Some(Value::String(t)) => t == json_type(value) || (t == "integer" && value.is_number()),
        Some(Value::Array(ts)) => ts.iter().any(|t| t == json_type(value)),
        _ => true,
    }
}

impl Observed {
    /// Records what `file` (a scenario file's content as JSON) uses.
    pub fn observe(&mut self, schema: &Value, file: &Value) {
        let mut stack = Vec::new();
        self.walk(schema, schema, "", &mut stack, file);
    }

    fn walk(
        &mut self,
        root: &Value,
        node: &Value,
        path: &str,
        stack: &mut Vec<(String, String)>,
        value: &Value,
    ) {
        if let Some((def, name)) = definition(root, node) {
            // Inside a definition that contains itself, fields count where it was entered.
            if let Some((_, first)) = stack.iter().find(|(n, _)| *n == name) {
                let first = first.clone();
                return self.walk(root, def, &first, stack, value);
            }
            stack.push((name, path.to_owned()));
            self.walk(root, def, path, stack, value);
            stack.pop();
            return;
        }
        if variants(node).is_some() {
            if let Some(v) = value.as_str() {
                self.variants.insert(format!("{path}={v}"));
                self.features.insert(format!("{path}={v}"));
            }
            return;
        }
        let alternatives = alternatives(root, node);
        if let Some((alternative, kind)) = alternatives.iter().find(|(a, _)| takes(root, a, value))
        {
            if alternatives.len() > 1 {
                self.variants.insert(format!("{path}:{kind}"));
                self.features.insert(format!("{path}:{kind}"));
            }
            self.walk(root, alternative, path, stack, value);
        }
        if let (Some(properties), Some(object)) = (
            node.get("properties").and_then(Value::as_object),
            value.as_object(),
        ) {
            for (key, sub) in properties {
                let p = join(path, key);
                match object.get(key).filter(|v| !v.is_null()) {
                    None => {
                        // An absent enum field takes its default variant.
                        if let Some(default) = sub.get("default").and_then(Value::as_str) {
                            self.variants.insert(format!("{p}={default}"));
                        }
                        self.values.entry(p).or_default().insert(ABSENT.into());
                    }
                    Some(v) => {
                        self.values
                            .entry(p.clone())
                            .or_default()
                            .insert(v.to_string());
                        if is_feature(sub, v) {
                            self.features.insert(p.clone());
                        }
                        self.walk(root, sub, &p, stack, v);
                    }
                }
            }
        }
        if let (Some(items), Some(array)) = (node.get("items"), value.as_array()) {
            for v in array {
                self.walk(root, items, path, stack, v);
            }
        }
        if let (Some(sub), Some(object)) = (
            node.get("additionalProperties").filter(|v| v.is_object()),
            value.as_object(),
        ) {
            for (key, v) in object {
                // A map of texts (`[env]`): each variable and its value is a feature.
                let of_texts = sub.get("type").and_then(Value::as_str) == Some("string");
                if let Some(text) = v.as_str().filter(|_| of_texts) {
                    self.features.insert(format!("{}={text}", join(path, key)));
                }
                self.walk(root, sub, &join(path, "*"), stack, v);
            }
        }
    }

    /// Every field of `fields` no case used: a path that never took two distinct values
    /// (absence counts as one), a variant or alternative never taken.
    pub fn unused(&self, fields: &BTreeSet<String>) -> Vec<String> {
        fields
            .iter()
            .filter(|field| {
                if field.contains('=') || field.contains(':') {
                    !self.variants.contains(*field)
                } else if field.ends_with(".*") {
                    false
                } else {
                    self.values.get(*field).is_none_or(|v| v.len() < 2)
                }
            })
            .cloned()
            .collect()
    }
}

/// A field set to something other than its default (a field without a default is required:
/// always there, so not a feature; its variants are).
fn is_feature(schema: &Value, value: &Value) -> bool {
    let Some(default) = schema.get("default") else {
        // Option fields have no default in the schema but may be absent: present is a feature.
        return !schema_required(schema);
    };
    value != default
        && !matches!(value, Value::Array(a) if a.is_empty())
        && !matches!(value, Value::Object(o) if o.is_empty())
}

/// Whether a property schema describes a value that is always there (not nullable).
fn schema_required(schema: &Value) -> bool {
    let nullable_type = match schema.get("type") {
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "null"),
        _ => false,
    };
    let nullable_alternative = schema
        .get("anyOf")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter()
                .any(|s| s.get("type").and_then(Value::as_str) == Some("null"))
        });
    !(nullable_type || nullable_alternative)
}

/// Removes from a scenario file (`file`, parsed TOML) every field whose value is its default
/// (by the schema's `default`), so that a generated file says only what it sets.
pub fn strip_defaults(root: &Value, node: &Value, file: &mut toml::Value) {
    let node = definition(root, node).map_or(node, |(def, _)| def);
    for (alternative, _) in alternatives(root, node) {
        let alternative = definition(root, alternative).map_or(alternative, |(def, _)| def);
        if alternative.get("properties").is_some() || alternative.get("items").is_some() {
            return strip_defaults(root, alternative, file);
        }
    }
    match file {
        toml::Value::Table(table) => {
            let Some(properties) = node.get("properties").and_then(Value::as_object) else {
                return;
            };
            for (key, sub) in properties {
                let Some(value) = table.get_mut(key) else {
                    continue;
                };
                strip_defaults(root, sub, value);
                let is_default = sub.get("default").is_some_and(|default| {
                    serde_json::to_value(&*value).is_ok_and(|v| &v == default)
                });
                if is_default {
                    table.remove(key);
                }
            }
        }
        toml::Value::Array(items) => {
            if let Some(item) = node.get("items") {
                for value in items {
                    strip_defaults(root, item, value);
                }
            }
        }
        _ => {}
    }
}
