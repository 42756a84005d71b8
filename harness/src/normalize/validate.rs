//! Pass 3: validation. Every check that the later passes rely on, or that drops information
//! (ids and timestamps are replaced or removed by rendering), runs here first and reports a
//! [`Finding`] instead of failing: validate, then drop.
//!
//! Checks, by record kind:
//! * every record: `seq` strictly increasing; `data` is an object.
//! * `trace_start`/`trace_end`: the export keys and their order (`object`, `id`, `workflow_name`,
//!   `group_id`, `metadata`); `object` is `"trace"`; `id` matches `^trace_[0-9a-f]{32}$`; field
//!   types; starts and ends pair up (a trace may start again after it ended: a resume in a new
//!   process re-emits `trace_start` with the same id).
//! * `span_start`/`span_end`: the export keys and their order (`object`, `id`, `trace_id`,
//!   `parent_id`, `started_at`, `ended_at`, `span_data`, `error`, optional `metadata`); `object`
//!   is `"trace.span"`; `id` matches `^span_[0-9a-f]{24}$`; timestamps in Python's isoformat UTC
//!   form; `ended_at` null at start, set and not before `started_at` at end; the end repeats the
//!   start's `started_at`, `trace_id` and `parent_id`; exactly one start and one end, start first;
//!   the trace has started; the parent exists, is in the same trace, starts before the child (in
//!   record order and by timestamp) and ends after it (likewise).
//! * `log`/`hook`: field presence and types, known level and scope; `trace_id` names a trace that
//!   starts somewhere; `span_id` names a known span of that trace.
//! * `outcome`: a known `status` with its fields.
//!
//! Finding texts name ids by placeholder, never by raw value, except an id that does not have
//! the expected shape (which is then a fixed, custom value). Timestamps are never quoted. All
//! checks walk records in canonical order and compare *emission* positions, so findings do not
//! depend on how concurrent traces happened to interleave.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

use super::json::quote;
use super::rename::Renamer;
use super::timestamp::{self, Instant};
use super::view::{HOOK_KEYS, IdKind, Index, LOG_KEYS, SPAN_KEYS, TRACE_KEYS, View, type_name};
use crate::record::RecordKind;
use crate::transcript::Finding;

static TRACE_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^trace_[0-9a-f]{32}$").expect("trace id regex compiles"));
static SPAN_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^span_[0-9a-f]{24}$").expect("span id regex compiles"));

const LEVELS: &[&str] = &["DEBUG", "INFO", "WARNING", "ERROR"];

/// Validates a log; findings come back in canonical record order.
pub(crate) fn validate(index: &Index<'_>, order: &[usize], renamer: &Renamer) -> Vec<Finding> {
    let mut position = vec![0; order.len()];
    for (pos, &i) in order.iter().enumerate() {
        position[i] = pos;
    }
    let mut checker = Checker {
        index,
        renamer,
        found: Vec::new(),
    };
    checker.check_seq();
    for &i in order {
        checker.check_record(index.view(i));
    }
    checker.check_trace_pairs(order);
    for (trace, span) in renamer.ambiguous() {
        checker
            .found
            .push((usize::MAX, format!("{trace} and {span} are the same id")));
    }
    let mut found = checker.found;
    // Stable: findings of one record stay in the order the checks produced them.
    found.sort_by_key(|(i, _)| position.get(*i).copied().unwrap_or(usize::MAX));
    found
        .into_iter()
        .map(|(_, message)| Finding { message })
        .collect()
}

struct Checker<'i, 'a> {
    index: &'i Index<'a>,
    renamer: &'i Renamer,
    /// (emission index, message); `usize::MAX` for findings about the whole log.
    found: Vec<(usize, String)>,
}

impl<'a> Checker<'_, 'a> {
    fn push(&mut self, view: &View<'_>, problem: impl AsRef<str>) {
        let message = format!("{}: {}", self.label(view), problem.as_ref());
        self.found.push((view.index, message));
    }

    /// How a finding names its record: `span_end span#3`, `log "Creating trace"`, `outcome`.
    fn label(&self, view: &View<'_>) -> String {
        let kind = view.kind.as_str();
        match view.kind {
            RecordKind::TraceStart | RecordKind::TraceEnd => {
                format!("{kind} {}", self.id_name(view, IdKind::Trace))
            }
            RecordKind::SpanStart | RecordKind::SpanEnd => {
                format!("{kind} {}", self.id_name(view, IdKind::Span))
            }
            RecordKind::Log => match view.str("message") {
                // As the transcript shows it: ids and addresses renamed.
                Some(message) => format!("log {}", quote(&self.renamer.text(message))),
                None => "log".to_owned(),
            },
            RecordKind::Hook => match (view.str("scope"), view.str("hook")) {
                (Some(scope), Some(hook)) => format!("hook {scope}.{hook}"),
                _ => "hook".to_owned(),
            },
            RecordKind::Outcome => "outcome".to_owned(),
        }
    }

    fn id_name(&self, view: &View<'_>, kind: IdKind) -> String {
        match view.str("id") {
            Some(id) => self.renamer.name(kind, id),
            None => "<no id>".to_owned(),
        }
    }

    fn trace_name(&self, id: &str) -> String {
        self.renamer.name(IdKind::Trace, id)
    }

    fn span_name(&self, id: &str) -> String {
        self.renamer.name(IdKind::Span, id)
    }

    // === all records ===

    fn check_seq(&mut self) {
        let index = self.index;
        for pair in index.views.windows(2) {
            if pair[1].seq <= pair[0].seq {
                let problem = format!(
                    "seq {} is not greater than the previous seq {}",
                    pair[1].seq, pair[0].seq
                );
                self.push(&pair[1], problem);
            }
        }
    }

    fn check_record(&mut self, view: &View<'a>) {
        let Some(obj) = view.obj() else {
            self.push(
                view,
                format!("data is {}, expected an object", type_name(view.data)),
            );
            return;
        };
        match view.kind {
            RecordKind::TraceStart | RecordKind::TraceEnd => self.check_trace(view, obj),
            RecordKind::SpanStart | RecordKind::SpanEnd => self.check_span(view, obj),
            RecordKind::Log => self.check_log(view, obj),
            RecordKind::Hook => self.check_hook(view, obj),
            RecordKind::Outcome => self.check_outcome(view, obj),
        }
    }

    /// Reports the keys of `expected` that are missing, except `optional` ones.
    fn check_required(
        &mut self,
        view: &View<'_>,
        obj: &Map<String, Value>,
        expected: &[&str],
        optional: &[&str],
    ) {
        for key in expected {
            if !optional.contains(key) && !obj.contains_key(*key) {
                self.push(view, format!("missing field {}", quote(key)));
            }
        }
    }

    /// Reports keys outside `allowed`: nothing a subject emits is dropped silently.
    fn check_no_extra(&mut self, view: &View<'_>, obj: &Map<String, Value>, allowed: &[&str]) {
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                self.push(view, format!("unexpected field {}", quote(key)));
            }
        }
    }

    /// Reports keys that are not in `expected`'s order (Python's export order).
    fn check_order(&mut self, view: &View<'_>, obj: &Map<String, Value>, expected: &[&str]) {
        let actual: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|key| expected.contains(key))
            .collect();
        let wanted: Vec<&str> = expected
            .iter()
            .copied()
            .filter(|key| obj.contains_key(*key))
            .collect();
        if actual != wanted {
            self.push(
                view,
                format!(
                    "key order [{}] differs from Python's [{}]",
                    actual.join(", "),
                    wanted.join(", ")
                ),
            );
        }
    }

    /// An export envelope: every key present (but `optional`), no other key, Python's order.
    fn check_export_keys(
        &mut self,
        view: &View<'_>,
        obj: &Map<String, Value>,
        expected: &[&str],
        optional: &[&str],
    ) {
        self.check_required(view, obj, expected, optional);
        self.check_no_extra(view, obj, expected);
        self.check_order(view, obj, expected);
    }

    /// Checks that a present field is a string; returns it.
    fn expect_str<'v>(&mut self, view: &View<'v>, key: &str) -> Option<&'v str> {
        let value = view.field(key)?;
        if value.is_string() {
            return value.as_str();
        }
        self.push(
            view,
            format!(
                "field {} is {}, expected a string",
                quote(key),
                type_name(value)
            ),
        );
        None
    }

    /// Checks that a present field is null or a string; returns the string.
    fn expect_opt_str<'v>(&mut self, view: &View<'v>, key: &str) -> Option<&'v str> {
        let value = view.field(key)?;
        if value.is_null() || value.is_string() {
            return value.as_str();
        }
        self.push(
            view,
            format!(
                "field {} is {}, expected a string or null",
                quote(key),
                type_name(value)
            ),
        );
        None
    }

    /// Checks that a present field is null or an object.
    fn expect_opt_obj(&mut self, view: &View<'_>, key: &str) {
        if let Some(value) = view.field(key)
            && !(value.is_null() || value.is_object())
        {
            self.push(
                view,
                format!(
                    "field {} is {}, expected an object or null",
                    quote(key),
                    type_name(value)
                ),
            );
        }
    }

    /// Checks the `object` marker of an export.
    fn expect_object_marker(&mut self, view: &View<'_>, wanted: &str) {
        if let Some(object) = self.expect_str(view, "object")
            && object != wanted
        {
            self.push(
                view,
                format!("object is {}, expected {}", quote(object), quote(wanted)),
            );
        }
    }

    /// Checks an id's shape; a malformed id is quoted (it is then a fixed, custom value).
    fn expect_id_shape(&mut self, view: &View<'_>, key: &str, id: &str, kind: IdKind) {
        let (regex, pattern) = match kind {
            IdKind::Trace => (&*TRACE_ID, "^trace_[0-9a-f]{32}$"),
            IdKind::Span => (&*SPAN_ID, "^span_[0-9a-f]{24}$"),
        };
        if !regex.is_match(id) {
            self.push(
                view,
                format!("{key} {} does not match {pattern}", quote(id)),
            );
        }
    }

    // === traces ===

    fn check_trace(&mut self, view: &View<'a>, obj: &Map<String, Value>) {
        self.check_export_keys(view, obj, TRACE_KEYS, &[]);
        self.expect_object_marker(view, "trace");
        if let Some(id) = self.expect_str(view, "id") {
            self.expect_id_shape(view, "id", id, IdKind::Trace);
        }
        self.expect_str(view, "workflow_name");
        self.expect_opt_str(view, "group_id");
        self.expect_opt_obj(view, "metadata");
    }

    /// Starts and ends of each trace alternate, starting with a start and ending with an end.
    /// Walks canonical order, which keeps each trace's own records in emission order.
    fn check_trace_pairs(&mut self, order: &[usize]) {
        let index = self.index;
        let mut open: Vec<(&str, usize)> = Vec::new();
        for &i in order {
            let view = index.view(i);
            let Some(id) = view.own_id().filter(|_| view.is_trace_event()) else {
                continue;
            };
            let at = open.iter().position(|(trace, _)| *trace == id);
            match (view.kind, at) {
                (RecordKind::TraceStart, None) => open.push((id, i)),
                (RecordKind::TraceStart, Some(_)) => {
                    self.push(view, "trace started again before it ended");
                }
                (RecordKind::TraceEnd, Some(at)) => {
                    open.remove(at);
                }
                _ => self.push(view, "no open trace_start"),
            }
        }
        for (_, start) in open {
            self.push(index.view(start), "trace never ends");
        }
    }

    // === spans ===

    fn check_span(&mut self, view: &View<'a>, obj: &Map<String, Value>) {
        self.check_export_keys(view, obj, SPAN_KEYS, &["metadata"]);
        self.expect_object_marker(view, "trace.span");
        let id = self.expect_str(view, "id");
        if let Some(id) = id {
            self.expect_id_shape(view, "id", id, IdKind::Span);
        }
        self.expect_str(view, "trace_id");
        self.expect_opt_str(view, "parent_id");
        self.check_span_data(view);
        self.check_error(view);
        if let Some(metadata) = view.field("metadata")
            && !metadata.is_object()
        {
            self.push(
                view,
                format!(
                    "field \"metadata\" is {}, expected an object",
                    type_name(metadata)
                ),
            );
        }

        let started = self.timestamp(view, "started_at", true);
        let ended = self.timestamp(view, "ended_at", view.kind == RecordKind::SpanEnd);
        if view.kind == RecordKind::SpanStart
            && view.field("ended_at").is_some_and(|v| !v.is_null())
        {
            self.push(view, "ended_at is set at span_start");
        }
        if let (Some(started), Some(ended)) = (started, ended)
            && ended < started
        {
            self.push(view, "ended_at is earlier than started_at");
        }

        let Some(id) = id else { return };
        if view.kind == RecordKind::SpanStart {
            self.check_span_start(view, id, started);
        } else {
            self.check_span_end(view, id, ended);
        }
    }

    fn check_span_data(&mut self, view: &View<'_>) {
        let Some(span_data) = view.field("span_data") else {
            return;
        };
        match span_data.as_object() {
            None => self.push(
                view,
                format!(
                    "field \"span_data\" is {}, expected an object",
                    type_name(span_data)
                ),
            ),
            Some(data) => match data.get("type") {
                None => self.push(view, "span_data has no \"type\""),
                Some(Value::String(_)) => {}
                Some(other) => {
                    self.push(
                        view,
                        format!("span_data.type is {}, expected a string", type_name(other)),
                    );
                }
            },
        }
    }

    fn check_error(&mut self, view: &View<'_>) {
        let Some(error) = view.field("error") else {
            return;
        };
        match error {
            Value::Null => {}
            Value::Object(error) => {
                match error.get("message") {
                    Some(Value::String(_)) => {}
                    Some(other) => {
                        self.push(
                            view,
                            format!("error.message is {}, expected a string", type_name(other)),
                        );
                    }
                    None => self.push(view, "error has no \"message\""),
                }
                match error.get("data") {
                    Some(Value::Null | Value::Object(_)) => {}
                    Some(other) => self.push(
                        view,
                        format!(
                            "error.data is {}, expected an object or null",
                            type_name(other)
                        ),
                    ),
                    None => self.push(view, "error has no \"data\""),
                }
            }
            other => {
                self.push(
                    view,
                    format!(
                        "field \"error\" is {}, expected an object or null",
                        type_name(other)
                    ),
                );
            }
        }
    }

    /// Parses a timestamp field and reports its problems; `required` means null is a finding.
    fn timestamp(&mut self, view: &View<'_>, key: &str, required: bool) -> Option<Instant> {
        match view.field(key)? {
            Value::String(text) => {
                let parsed = timestamp::parse(text);
                for problem in &parsed.problems {
                    self.push(view, format!("{key} {problem}"));
                }
                parsed.instant
            }
            Value::Null if !required => None,
            Value::Null => {
                self.push(view, format!("{key} is null"));
                None
            }
            other => {
                self.push(
                    view,
                    format!(
                        "field {} is {}, expected a string",
                        quote(key),
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    /// The instant of a timestamp field, without reporting (the field's own record reports).
    fn instant_of(view: &View<'_>, key: &str) -> Option<Instant> {
        view.str(key)
            .and_then(|text| timestamp::parse(text).instant)
    }

    fn check_span_start(&mut self, view: &View<'a>, id: &str, started: Option<Instant>) {
        let index = self.index;
        let starts = index.span_starts(id);
        if starts.first().is_some_and(|&first| first < view.index) {
            self.push(view, "span started again");
        }
        if index.span_ends(id).is_empty() {
            self.push(view, "span never ends");
        }

        if let Some(trace) = view.str("trace_id") {
            let trace_starts = index.trace_starts(trace);
            if trace_starts.is_empty() {
                self.push(
                    view,
                    format!("trace {} never starts", self.trace_name(trace)),
                );
            } else if trace_starts[0] > view.index {
                self.push(
                    view,
                    format!("starts before its trace {} starts", self.trace_name(trace)),
                );
            }
        }

        let Some(parent) = view.parent_ref() else {
            return;
        };
        let parent_name = self.span_name(parent);
        if parent == id {
            self.push(view, "is its own parent");
            return;
        }
        let Some(&parent_start) = index.span_starts(parent).first() else {
            self.push(view, format!("parent {parent_name} never starts"));
            return;
        };
        let parent_start = index.view(parent_start);
        if let (Some(mine), Some(theirs)) = (view.str("trace_id"), parent_start.str("trace_id"))
            && mine != theirs
        {
            let problem = format!(
                "parent {parent_name} is in {}, not {}",
                self.trace_name(theirs),
                self.trace_name(mine)
            );
            self.push(view, problem);
        }
        if parent_start.index > view.index {
            self.push(
                view,
                format!("starts before its parent {parent_name} starts"),
            );
        } else if index
            .span_ends(parent)
            .first()
            .is_some_and(|&end| end < view.index)
        {
            self.push(view, format!("starts after its parent {parent_name} ended"));
        }
        if let (Some(mine), Some(theirs)) = (started, Self::instant_of(parent_start, "started_at"))
            && mine < theirs
        {
            self.push(
                view,
                format!("started_at is earlier than parent {parent_name}'s started_at"),
            );
        }
    }

    fn check_span_end(&mut self, view: &View<'a>, id: &str, ended: Option<Instant>) {
        let index = self.index;
        let starts = index.span_starts(id);
        let ends = index.span_ends(id);
        if ends.first().is_some_and(|&first| first < view.index) {
            self.push(view, "span ended again");
        }
        match starts.first() {
            None => self.push(view, "no span_start"),
            Some(&start) => {
                if start > view.index {
                    self.push(view, "comes before its span_start");
                }
                let start = index.view(start);
                for key in ["started_at", "trace_id", "parent_id"] {
                    if let (Some(at_start), Some(at_end)) = (start.field(key), view.field(key))
                        && at_start != at_end
                    {
                        self.push(view, format!("{key} differs from its span_start"));
                    }
                }
            }
        }

        let Some(parent) = view.parent_ref().filter(|parent| *parent != id) else {
            return;
        };
        let Some(&parent_end) = index.span_ends(parent).first() else {
            return;
        };
        let parent_name = self.span_name(parent);
        if parent_end < view.index {
            self.push(view, format!("ends after its parent {parent_name} ends"));
        }
        if let (Some(mine), Some(theirs)) =
            (ended, Self::instant_of(index.view(parent_end), "ended_at"))
            && mine > theirs
        {
            self.push(
                view,
                format!("ended_at is later than parent {parent_name}'s ended_at"),
            );
        }
    }

    // === logs, hooks, outcomes ===

    fn check_log(&mut self, view: &View<'a>, obj: &Map<String, Value>) {
        self.check_required(view, obj, LOG_KEYS, &[]);
        self.check_no_extra(view, obj, LOG_KEYS);
        self.expect_str(view, "logger");
        self.expect_str(view, "message");
        if let Some(level) = self.expect_str(view, "level")
            && !LEVELS.contains(&level)
        {
            self.push(
                view,
                format!("level {} is not one of {}", quote(level), LEVELS.join(", ")),
            );
        }
        self.check_context(view);
    }

    fn check_hook(&mut self, view: &View<'a>, obj: &Map<String, Value>) {
        // Besides these, a hook carries its callback's arguments, whatever they are.
        self.check_required(view, obj, HOOK_KEYS, &[]);
        self.expect_str(view, "hook");
        if let Some(scope) = self.expect_str(view, "scope")
            && scope != "run"
            && scope != "agent"
        {
            self.push(
                view,
                format!("scope {} is not \"run\" or \"agent\"", quote(scope)),
            );
        }
        self.check_context(view);
    }

    /// The `trace_id`/`span_id` correlation fields of a log or hook.
    fn check_context(&mut self, view: &View<'a>) {
        let trace = self.expect_opt_str(view, "trace_id");
        let span = self.expect_opt_str(view, "span_id");
        let index = self.index;
        if let Some(trace) = trace
            && index.trace_starts(trace).is_empty()
        {
            self.push(
                view,
                format!("trace {} never starts", self.trace_name(trace)),
            );
        }
        let Some(span) = span else { return };
        let span_name = self.span_name(span);
        if !index.is_span(span) {
            self.push(view, format!("span {span_name} is not a known span"));
            return;
        }
        match (trace, index.span_trace(span)) {
            (None, _) if view.field("trace_id").is_some_and(Value::is_null) => {
                self.push(
                    view,
                    format!("span_id {span_name} is set but trace_id is null"),
                );
            }
            (Some(trace), Some(span_trace)) if trace != span_trace => {
                let problem = format!(
                    "span {span_name} is in {}, not {}",
                    self.trace_name(span_trace),
                    self.trace_name(trace)
                );
                self.push(view, problem);
            }
            _ => {}
        }
    }

    fn check_outcome(&mut self, view: &View<'a>, obj: &Map<String, Value>) {
        self.check_required(view, obj, &["status"], &[]);
        let required: &[&str] = match self.expect_str(view, "status") {
            None => return,
            Some("completed") => &["status", "final_output"],
            Some("raised") => &["status", "error", "message"],
            // The pending approvals' fields are not specified yet.
            Some("interrupted") => return,
            Some(other) => {
                let problem = format!(
                    "status {} is not one of completed, raised, interrupted",
                    quote(other)
                );
                self.push(view, problem);
                return;
            }
        };
        self.check_required(view, obj, required, &[]);
        self.check_no_extra(view, obj, required);
        if required.contains(&"error") {
            self.expect_str(view, "error");
            self.expect_str(view, "message");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::order::canonical_order;
    use crate::normalize::testing::{LogBuilder, sid, tid};
    use crate::record::RawLog;
    use serde_json::json;

    fn findings(log: &RawLog) -> Vec<String> {
        let index = Index::new(log);
        let order = canonical_order(&index);
        let renamer = Renamer::scan(order.iter().map(|&i| index.view(i)));
        validate(&index, &order, &renamer)
            .into_iter()
            .map(|f| f.message)
            .collect()
    }

    #[test]
    fn fields_outside_the_outcome_schema_are_findings() {
        let mut b = LogBuilder::new();
        b.outcome(json!({"status": "completed", "final_output": "ok", "duration_ms": 12}));
        b.outcome(json!({"status": "raised", "error": "E", "message": "m", "trace": "x"}));
        let found = findings(&b.build());
        assert_eq!(
            found,
            vec![
                "outcome: unexpected field \"duration_ms\"".to_owned(),
                "outcome: unexpected field \"trace\"".to_owned(),
            ]
        );
    }

    /// trace#1 > span#1 (task) > span#2 (agent), all well formed.
    fn well_formed() -> LogBuilder {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.span_start(&sid(1), &tid(1), None, json!({"type": "custom"}));
        b.span_start(&sid(2), &tid(1), Some(&sid(1)), json!({"type": "agent"}));
        b.log("DEBUG", "inside", Some(&tid(1)), Some(&sid(2)));
        b.hook(
            "run",
            "on_agent_start",
            json!({"agent": "a"}),
            Some(&tid(1)),
            Some(&sid(2)),
        );
        b
    }

    fn close(b: &mut LogBuilder) -> &mut LogBuilder {
        b.span_end(&sid(2), None);
        b.span_end(&sid(1), None);
        b.trace_end(&tid(1));
        b.outcome(json!({"status": "completed", "final_output": "ok"}))
    }

    #[test]
    fn a_well_formed_log_has_no_findings() {
        let mut b = well_formed();
        close(&mut b);
        assert_eq!(findings(&b.build()), Vec::<String>::new());
    }

    #[test]
    fn child_ending_after_parent_is_reported() {
        let mut b = well_formed();
        b.span_end(&sid(1), None);
        b.span_end(&sid(2), None);
        b.trace_end(&tid(1));
        assert_eq!(
            findings(&b.build()),
            vec![
                "span_end span#2: ends after its parent span#1 ends",
                "span_end span#2: ended_at is later than parent span#1's ended_at",
            ]
        );
    }

    #[test]
    fn missing_ends_are_reported_on_the_start() {
        let b = well_formed();
        assert_eq!(
            findings(&b.build()),
            vec![
                "trace_start trace#1: trace never ends",
                "span_start span#1: span never ends",
                "span_start span#2: span never ends",
            ]
        );
    }

    #[test]
    fn end_without_start_and_double_end_are_reported() {
        let mut b = well_formed();
        close(&mut b);
        b.span_end(&sid(2), None);
        b.trace_end(&tid(1));
        b.push(
            RecordKind::SpanEnd,
            json!({"object": "trace.span", "id": sid(3), "trace_id": tid(1), "parent_id": null,
                   "started_at": "2026-11-21T07:42:10+00:00", "ended_at": "2026-11-21T07:42:11+00:00",
                   "span_data": {"type": "custom"}, "error": null}),
        );
        assert_eq!(
            findings(&b.build()),
            vec![
                "span_end span#2: span ended again",
                "span_end span#2: ends after its parent span#1 ends",
                "span_end span#2: ended_at is later than parent span#1's ended_at",
                "trace_end trace#1: no open trace_start",
                "span_end span#3: no span_start",
            ]
        );
    }

    #[test]
    fn malformed_ids_are_quoted_and_still_renamed() {
        let mut b = LogBuilder::new();
        b.trace_start("trace_custom");
        b.span_start("span_X", "trace_custom", None, json!({"type": "custom"}));
        b.span_end("span_X", None);
        b.trace_end("trace_custom");
        assert_eq!(
            findings(&b.build()),
            vec![
                r#"trace_start trace#1: id "trace_custom" does not match ^trace_[0-9a-f]{32}$"#,
                r#"span_start span#1: id "span_X" does not match ^span_[0-9a-f]{24}$"#,
                r#"span_end span#1: id "span_X" does not match ^span_[0-9a-f]{24}$"#,
                r#"trace_end trace#1: id "trace_custom" does not match ^trace_[0-9a-f]{32}$"#,
            ]
        );
    }

    #[test]
    fn timestamp_forms_are_checked() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.span_start(&sid(1), &tid(1), None, json!({"type": "custom"}));
        b.span_end_with(&sid(1), |d| {
            d["ended_at"] = json!("2026-11-21T07:42:11.000000+00:00")
        });
        b.span_start(&sid(2), &tid(1), None, json!({"type": "custom"}));
        b.span_end_with(&sid(2), |d| d["ended_at"] = json!("2026-11-21T07:42:11Z"));
        b.span_start(&sid(3), &tid(1), None, json!({"type": "custom"}));
        b.span_end_with(&sid(3), |d| {
            d["ended_at"] = json!("2026-11-21T09:42:11+02:00")
        });
        b.span_start(&sid(4), &tid(1), None, json!({"type": "custom"}));
        b.span_end_with(&sid(4), |d| {
            d["ended_at"] = json!("2026-11-21T07:42:09+00:00")
        });
        b.span_start(&sid(5), &tid(1), None, json!({"type": "custom"}));
        b.span_end_with(&sid(5), |d| d["ended_at"] = json!(1.5));
        b.trace_end(&tid(1));
        assert_eq!(
            findings(&b.build()),
            vec![
                "span_end span#1: ended_at has a .000000 fraction (Python omits zero microseconds)",
                "span_end span#2: ended_at ends in Z (Python writes +00:00)",
                "span_end span#3: ended_at has offset +02:00 (Python writes +00:00)",
                "span_end span#4: ended_at is earlier than started_at",
                "span_end span#5: field \"ended_at\" is a number, expected a string",
            ]
        );
    }

    #[test]
    fn ended_at_at_start_and_changed_started_at_are_reported() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.push(
            RecordKind::SpanStart,
            json!({"object": "trace.span", "id": sid(1), "trace_id": tid(1), "parent_id": null,
                   "started_at": "2026-11-21T07:42:10.000001+00:00", "ended_at": "2026-11-21T07:42:10.000002+00:00",
                   "span_data": {"type": "custom"}, "error": null}),
        );
        b.push(
            RecordKind::SpanEnd,
            json!({"object": "trace.span", "id": sid(1), "trace_id": tid(1), "parent_id": null,
                   "started_at": "2026-11-21T07:42:10.000002+00:00", "ended_at": null,
                   "span_data": {"type": "custom"}, "error": null}),
        );
        b.trace_end(&tid(1));
        assert_eq!(
            findings(&b.build()),
            vec![
                "span_start span#1: ended_at is set at span_start",
                "span_end span#1: ended_at is null",
                "span_end span#1: started_at differs from its span_start",
            ]
        );
    }

    #[test]
    fn wrong_key_order_and_object_are_reported() {
        let mut b = LogBuilder::new();
        b.push(
            RecordKind::TraceStart,
            json!({"id": tid(1), "object": "span", "workflow_name": "w", "group_id": null, "metadata": null, "extra": 1}),
        );
        b.trace_end(&tid(1));
        assert_eq!(
            findings(&b.build()),
            vec![
                "trace_start trace#1: unexpected field \"extra\"",
                "trace_start trace#1: key order [id, object, workflow_name, group_id, metadata] differs from Python's [object, id, workflow_name, group_id, metadata]",
                "trace_start trace#1: object is \"span\", expected \"trace\"",
            ]
        );
    }

    #[test]
    fn span_metadata_is_optional_but_last() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.span_start(&sid(1), &tid(1), None, json!({"type": "custom"}));
        b.span_end_with(&sid(1), |d| {
            let obj = d.as_object_mut().unwrap();
            obj.shift_insert(0, "metadata".into(), json!({"agent_harness_id": "h"}));
        });
        b.trace_end(&tid(1));
        assert_eq!(
            findings(&b.build()),
            vec![
                "span_end span#1: key order [metadata, object, id, trace_id, parent_id, started_at, ended_at, span_data, error] differs from Python's [object, id, trace_id, parent_id, started_at, ended_at, span_data, error, metadata]"
            ]
        );
    }

    #[test]
    fn parents_must_exist_in_the_same_trace_and_start_first() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.trace_start(&tid(2));
        b.span_start(&sid(1), &tid(1), None, json!({"type": "custom"}));
        b.span_start(&sid(2), &tid(2), Some(&sid(1)), json!({"type": "custom"}));
        b.span_start(&sid(3), &tid(1), Some(&sid(4)), json!({"type": "custom"}));
        b.span_start(&sid(4), &tid(1), Some(&sid(9)), json!({"type": "custom"}));
        b.span_start(&sid(5), &tid(1), Some(&sid(5)), json!({"type": "custom"}));
        for n in [5, 4, 3, 2, 1] {
            b.span_end(&sid(n), None);
        }
        b.trace_end(&tid(2));
        b.trace_end(&tid(1));
        // The traces overlap, so canonical order puts trace#2 (whose span's parent is foreign)
        // first: its span is span#1 and the foreign parent span#2.
        assert_eq!(
            findings(&b.build()),
            vec![
                "span_start span#1: parent span#2 is in trace#2, not trace#1",
                "span_start span#3: starts before its parent span#4 starts",
                "span_start span#3: started_at is earlier than parent span#4's started_at",
                "span_start span#4: parent span#5 never starts",
                "span_start span#6: is its own parent",
                "span_end span#3: ends after its parent span#4 ends",
                "span_end span#3: ended_at is later than parent span#4's ended_at",
            ]
        );
    }

    #[test]
    fn log_and_hook_context_must_name_known_ids() {
        let mut b = well_formed();
        b.log("DEBUG", "bad span", Some(&tid(1)), Some(&sid(42)));
        b.log("DEBUG", "no trace", None, Some(&sid(2)));
        close(&mut b);
        b.log("DEBUG", "unknown trace", Some(&tid(7)), None);
        b.hook("agent", "on_start", json!({}), Some(&tid(7)), Some(&sid(1)));
        assert_eq!(
            findings(&b.build()),
            vec![
                "log \"bad span\": span span#3 is not a known span",
                "log \"no trace\": span_id span#2 is set but trace_id is null",
                "log \"unknown trace\": trace trace#2 never starts",
                "hook agent.on_start: trace trace#2 never starts",
                "hook agent.on_start: span span#1 is in trace#1, not trace#2",
            ]
        );
    }

    #[test]
    fn malformed_data_yields_findings_not_panics() {
        let mut b = LogBuilder::new();
        b.push(RecordKind::TraceStart, json!([1, 2]));
        b.push(
            RecordKind::SpanStart,
            json!({"id": 5, "span_data": "x", "error": {"message": 1}}),
        );
        b.push(RecordKind::SpanEnd, json!({}));
        b.push(
            RecordKind::Log,
            json!({"level": "TRACE", "message": null, "extra": true}),
        );
        b.push(RecordKind::Hook, json!({"scope": "global"}));
        b.push(RecordKind::Outcome, json!({"status": "raised", "error": 3}));
        b.push(RecordKind::Outcome, json!("done"));
        let found = findings(&b.build());
        for expected in [
            "trace_start <no id>: data is an array, expected an object",
            "span_start <no id>: missing field \"trace_id\"",
            "span_start <no id>: field \"id\" is a number, expected a string",
            "span_start <no id>: field \"span_data\" is a string, expected an object",
            "span_start <no id>: error.message is a number, expected a string",
            "span_start <no id>: error has no \"data\"",
            "span_end <no id>: missing field \"object\"",
            "log: missing field \"logger\"",
            "log: unexpected field \"extra\"",
            "log: field \"message\" is null, expected a string",
            "log: level \"TRACE\" is not one of DEBUG, INFO, WARNING, ERROR",
            "hook: missing field \"hook\"",
            "hook: scope \"global\" is not \"run\" or \"agent\"",
            "outcome: missing field \"message\"",
            "outcome: field \"error\" is a number, expected a string",
            "outcome: data is a string, expected an object",
        ] {
            assert!(
                found.contains(&expected.to_owned()),
                "missing {expected:?} in {found:#?}"
            );
        }
    }

    #[test]
    fn seq_must_increase() {
        let mut b = well_formed();
        close(&mut b);
        let mut log = b.build();
        log.records[3].seq = 1;
        assert_eq!(
            findings(&log),
            vec!["log \"inside\": seq 1 is not greater than the previous seq 2"]
        );
    }

    #[test]
    fn resume_in_a_new_process_may_restart_a_trace() {
        let mut b = LogBuilder::new();
        b.trace_start(&tid(1));
        b.trace_end(&tid(1));
        b.trace_start(&tid(1));
        b.trace_end(&tid(1));
        assert_eq!(findings(&b.build()), Vec::<String>::new());
    }
}
