//! Pass 2: joint, consistent renaming of trace and span ids to placeholders.
//!
//! Every string found in an id position (a trace or span `id`, a span's `trace_id` and
//! `parent_id`, a log's or hook's `trace_id` and `span_id`) is a *known id*. Known ids are numbered
//! per namespace (`trace#N`, `span#N`) in order of first appearance when the records are walked
//! in canonical order, ids within a record in the order of [`View::id_refs`]. The same placeholder
//! then replaces the id wherever it occurs: in id positions and in any JSON string (or object key)
//! anywhere in a payload that is exactly equal to a known id. Distinct ids get distinct numbers,
//! so equal transcripts mean equal correlation structure; a malformed or custom id is renamed too.
//!
//! Since v3, ids *inside* longer strings are renamed as well (older clients log `Creating trace
//! Agent workflow with id trace_…` and `Setting current trace: trace_…`): every substring with
//! the client's id shape (`trace_` + 32 hex, `span_` + 24 hex, on word boundaries) becomes its
//! placeholder, or `trace#?` / `span#?` when no record carries that id in an id position.
//!
//! Since v5, the memory address in a Python object's default repr (`<agents.tracing.span_data.
//! TaskSpanData object at 0x7f3a…>`, logged when neither `OPENAI_AGENTS_DONT_LOG_*` switch is
//! set) becomes `0x…`: an address differs on every run, the class it names does not. The
//! pydantic release in a validation error's link (`errors.pydantic.dev/2.14/`) becomes
//! `<version>`: it names the installed pydantic, which moves without the client.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde_json::{Map, Value};

use super::view::{IdKind, View};

/// Maps known ids to placeholders.
#[derive(Debug, Clone, Default)]
pub(crate) struct Renamer {
    traces: HashMap<String, usize>,
    spans: HashMap<String, usize>,
}

/// The number given to ids that are known elsewhere but not numbered in this renamer (see
/// [`Renamer::with_foreign`]); rendered as `#?`.
const FOREIGN: usize = 0;

impl Renamer {
    /// Numbers the ids of `views`, walked in the given order.
    pub(crate) fn scan<'v, 'a: 'v>(views: impl IntoIterator<Item = &'v View<'a>>) -> Renamer {
        let mut renamer = Renamer::default();
        for view in views {
            for (kind, id) in view.id_refs() {
                let table = match kind {
                    IdKind::Trace => &mut renamer.traces,
                    IdKind::Span => &mut renamer.spans,
                };
                let next = table.len() + 1;
                table.entry(id.to_owned()).or_insert(next);
            }
        }
        renamer
    }

    /// Adds every id of `all` that this renamer does not number, as `trace#?` / `span#?`, so a
    /// rendering local to part of the log never shows a raw id from another part.
    pub(crate) fn with_foreign(mut self, all: &Renamer) -> Renamer {
        for id in all.traces.keys() {
            self.traces.entry(id.clone()).or_insert(FOREIGN);
        }
        for id in all.spans.keys() {
            self.spans.entry(id.clone()).or_insert(FOREIGN);
        }
        self
    }

    /// The placeholder of a trace id, if it is known.
    pub(crate) fn trace(&self, id: &str) -> Option<String> {
        self.traces.get(id).map(|&n| placeholder("trace", n))
    }

    /// The number of a trace id's placeholder, if it is known and numbered here.
    pub(crate) fn trace_number(&self, id: &str) -> Option<usize> {
        self.traces.get(id).copied().filter(|&n| n != FOREIGN)
    }

    /// The placeholder of a span id, if it is known.
    pub(crate) fn span(&self, id: &str) -> Option<String> {
        self.spans.get(id).map(|&n| placeholder("span", n))
    }

    /// The placeholder of an id of the given kind, or the id JSON-quoted when unknown (which
    /// does not happen for ids read from id positions of the scanned records).
    pub(crate) fn name(&self, kind: IdKind, id: &str) -> String {
        let known = match kind {
            IdKind::Trace => self.trace(id),
            IdKind::Span => self.span(id),
        };
        known.unwrap_or_else(|| super::json::quote(id))
    }

    /// The placeholder of any known id, span ids first (a string used as both is a finding).
    pub(crate) fn any(&self, text: &str) -> Option<String> {
        self.span(text).or_else(|| self.trace(text))
    }

    /// Ids that are known both as a trace id and as a span id, as (trace placeholder, span
    /// placeholder) pairs sorted by trace number.
    pub(crate) fn ambiguous(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(usize, usize)> = self
            .traces
            .iter()
            .filter_map(|(id, &t)| self.spans.get(id).map(|&s| (t, s)))
            .collect();
        pairs.sort_unstable();
        pairs
            .into_iter()
            .map(|(t, s)| (placeholder("trace", t), placeholder("span", s)))
            .collect()
    }

    /// `text` with ids renamed: the placeholder when all of it is a known id, otherwise every
    /// id-shaped substring replaced (see the module docs).
    pub(crate) fn text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        static ID_SHAPED: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"\b(?:trace_[0-9a-f]{32}|span_[0-9a-f]{24})\b").expect("the regex is valid")
        });
        // An empty "id" (a finding of its own) must not turn every empty string into it.
        if !text.is_empty()
            && let Some(placeholder) = self.any(text)
        {
            return Cow::Owned(placeholder);
        }
        let text = without_release_links(without_addresses(text));
        if !ID_SHAPED.is_match(&text) {
            return text;
        }
        let renamed = ID_SHAPED.replace_all(&text, |found: &Captures<'_>| {
            let id = &found[0];
            self.any(id).unwrap_or_else(|| {
                let kind = if id.starts_with("trace_") {
                    "trace"
                } else {
                    "span"
                };
                placeholder(kind, FOREIGN)
            })
        });
        Cow::Owned(renamed.into_owned())
    }

    /// A copy of `value` with ids renamed in every string and object key ([`Renamer::text`]).
    pub(crate) fn value(&self, value: &Value) -> Value {
        match value {
            Value::String(text) => Value::String(self.text(text).into_owned()),
            Value::Array(items) => {
                Value::Array(items.iter().map(|item| self.value(item)).collect())
            }
            Value::Object(map) => {
                let mut out = Map::with_capacity(map.len());
                for (key, item) in map {
                    out.insert(self.text(key).into_owned(), self.value(item));
                }
                Value::Object(out)
            }
            scalar => scalar.clone(),
        }
    }
}

/// `text` with the address of each Python default repr (`<module.Class object at 0x…>`)
/// replaced by `0x…`.
fn without_addresses(text: &str) -> Cow<'_, str> {
    static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(<[\w.]+ object at )0x[0-9a-fA-F]+>").expect("the regex is valid")
    });
    ADDRESS.replace_all(text, "${1}0x…>")
}

/// `text` with the pydantic release in each validation error's documentation link
/// (`https://errors.pydantic.dev/2.14/v/missing`) replaced by `<version>`: the link names the
/// installed pydantic, which moves without the client.
fn without_release_links(text: Cow<'_, str>) -> Cow<'_, str> {
    static LINK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(https://errors\.pydantic\.dev/)[0-9][0-9A-Za-z.+-]*/")
            .expect("the regex is valid")
    });
    match LINK.replace_all(&text, "${1}<version>/") {
        Cow::Borrowed(_) => text,
        Cow::Owned(replaced) => Cow::Owned(replaced),
    }
}

fn placeholder(prefix: &str, n: usize) -> String {
    if n == FOREIGN {
        format!("{prefix}#?")
    } else {
        format!("{prefix}#{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::testing::{LogBuilder, sid, tid};
    use crate::normalize::view::Index;
    use serde_json::json;

    fn renamer_of(log: &crate::record::RawLog) -> Renamer {
        let index = Index::new(log);
        Renamer::scan(&index.views)
    }

    #[test]
    fn distinct_ids_get_distinct_placeholders_in_first_appearance_order() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(9));
        b.span_start(&sid(7), &tid(9), None, json!({"type": "custom"}));
        b.span_start(&sid(3), &tid(9), Some(&sid(7)), json!({"type": "custom"}));
        let renamer = renamer_of(&b.build());
        assert_eq!(renamer.trace(&tid(9)).as_deref(), Some("trace#1"));
        assert_eq!(renamer.span(&sid(7)).as_deref(), Some("span#1"));
        assert_eq!(renamer.span(&sid(3)).as_deref(), Some("span#2"));
        assert_eq!(renamer.span(&sid(4)), None);
    }

    #[test]
    fn same_id_gets_same_placeholder_everywhere_in_a_value() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.span_start(&sid(1), &tid(1), None, json!({"type": "custom"}));
        let renamer = renamer_of(&b.build());
        let value = json!({"links": [sid(1), tid(1), "other"], sid(1): {"nested": sid(1)}, "n": 1});
        assert_eq!(
            renamer.value(&value),
            json!({"links": ["span#1", "trace#1", "other"], "span#1": {"nested": "span#1"}, "n": 1})
        );
    }

    #[test]
    fn an_empty_id_leaves_empty_strings_alone() {
        let mut renamer = Renamer::default();
        renamer.traces.insert(String::new(), 1);
        assert_eq!(renamer.text(""), "");
        assert_eq!(
            renamer.value(&serde_json::json!({"group_id": "", "metadata": {"tenant": ""}})),
            serde_json::json!({"group_id": "", "metadata": {"tenant": ""}})
        );
    }

    #[test]
    fn ids_inside_longer_strings_are_renamed() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.span_start(&sid(1), &tid(1), None, json!({"type": "custom"}));
        let renamer = renamer_of(&b.build());
        let message = format!("Creating trace Agent workflow with id {}", tid(1));
        assert_eq!(
            renamer.text(&message),
            "Creating trace Agent workflow with id trace#1"
        );
        let message = format!("Setting current trace: {}, span {}.", tid(1), sid(1));
        assert_eq!(
            renamer.text(&message),
            "Setting current trace: trace#1, span span#1."
        );
        // An id no record carries in an id position is still not shown raw.
        let unknown = format!("id {}", tid(7));
        assert_eq!(renamer.text(&unknown), "id trace#?");
        // Not an id: a longer hex run, or a prefix of a word.
        let not_ids = format!("{}0 x{}", tid(1), tid(1));
        assert_eq!(renamer.text(&not_ids), not_ids);
    }

    #[test]
    fn pydantic_releases_in_error_links_are_masked() {
        let renamer = renamer_of(&LogBuilder::new().build());
        let message = "Field required [type=missing]\n    For further information visit https://errors.pydantic.dev/2.14/v/missing";
        assert_eq!(
            renamer.text(message),
            "Field required [type=missing]\n    For further information visit https://errors.pydantic.dev/<version>/v/missing"
        );
        assert_eq!(
            renamer.text("see https://docs.pydantic.dev/2.14/"),
            "see https://docs.pydantic.dev/2.14/"
        );
    }

    #[test]
    fn addresses_in_python_reprs_are_dropped_and_the_class_kept() {
        let renamer = renamer_of(&LogBuilder::new().build());
        let message = "Creating span <agents.tracing.span_data.TaskSpanData object at 0x7fd331a2db30> with id None";
        assert_eq!(
            renamer.text(message),
            "Creating span <agents.tracing.span_data.TaskSpanData object at 0x…> with id None"
        );
        // Only an object repr's address: other hex stays.
        assert_eq!(renamer.text("value 0x7fd331a2db30"), "value 0x7fd331a2db30");
    }

    #[test]
    fn unknown_parent_ids_are_numbered_too() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.span_start(&sid(1), &tid(1), Some(&sid(99)), json!({"type": "custom"}));
        let renamer = renamer_of(&b.build());
        assert_eq!(renamer.span(&sid(99)).as_deref(), Some("span#2"));
    }

    #[test]
    fn foreign_ids_render_as_question_marks() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.trace_start(&tid(2));
        let log = b.build();
        let index = Index::new(&log);
        let all = Renamer::scan(&index.views);
        let local = Renamer::scan([index.view(1)]).with_foreign(&all);
        assert_eq!(local.trace(&tid(2)).as_deref(), Some("trace#1"));
        assert_eq!(local.trace(&tid(1)).as_deref(), Some("trace#?"));
    }

    #[test]
    fn ids_used_in_both_namespaces_are_reported() {
        let mut b = LogBuilder::new();
        b.trace_start("x");
        b.span_start("x", "x", None, json!({"type": "custom"}));
        let renamer = renamer_of(&b.build());
        assert_eq!(
            renamer.ambiguous(),
            vec![("trace#1".to_owned(), "span#1".to_owned())]
        );
    }
}
