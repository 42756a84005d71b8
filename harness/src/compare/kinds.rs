//! What a transcript diff changes, by kind of line: the unit in which the upgrade report groups
//! a release's changes and the differential run classifies the js subject's differences.

use std::collections::BTreeSet;

/// The kinds of record lines a transcript diff changes: a line's kind is its record type and
/// name (`hook run.on_tool_end`, `span generation`, `log "message"`), ids left out; a kind
/// both removed and added is `~` (changed), else `-` (gone) or `+` (new).
pub fn change_kinds(diff: &str) -> Vec<String> {
    let mut removed = BTreeSet::new();
    let mut added = BTreeSet::new();
    for line in diff.lines() {
        let (set, rest) = match line.as_bytes().first() {
            Some(b'-') if !line.starts_with("---") => (&mut removed, &line[1..]),
            Some(b'+') if !line.starts_with("+++") => (&mut added, &line[1..]),
            _ => continue,
        };
        set.insert(line_kind(rest.trim()));
    }
    let mut kinds: Vec<String> = removed
        .union(&added)
        .map(
            |kind| match (removed.contains(kind), added.contains(kind)) {
                (true, true) => format!("~{kind}"),
                (true, false) => format!("-{kind}"),
                _ => format!("+{kind}"),
            },
        )
        .collect();
    kinds.sort_by(|a, b| a[1..].cmp(&b[1..]));
    kinds
}

/// A transcript line's kind (see [`change_kinds`]).
fn line_kind(line: &str) -> String {
    let mut words = line.split_whitespace();
    let first = words.next().unwrap_or_default();
    match first {
        "log" => {
            // `log LEVEL "message" @span#N`: the message, without its ids.
            let message = line.split_once('"').map_or("", |(_, m)| m);
            let message = message.rsplit_once('"').map_or(message, |(m, _)| m);
            format!("log \"{}\"", without_ids(message))
        }
        "hook" => format!("hook {}", words.next().unwrap_or_default()),
        "span_start" | "span_end" => format!("{first} {}", span_type(line)),
        "outcome" => "outcome".into(),
        _ if first.starts_with("span#") => format!("span {}", span_type(line)),
        _ if first.starts_with("trace#") => "trace".into(),
        _ => first.to_owned(),
    }
}

/// A span line's `"type"` (and a custom span's `sdk_span_type` or name).
fn span_type(line: &str) -> String {
    // The span's own object: its error (`error={…}`) carries a `type` of its own.
    let object = line.split(" error=").next().unwrap_or(line);
    let field = |key: &str| {
        let (_, rest) = object.rsplit_once(&format!("\"{key}\":\""))?;
        Some(rest.split('"').next()?.to_owned())
    };
    match field("type").as_deref() {
        Some("custom") => format!(
            "custom({})",
            field("sdk_span_type")
                .or_else(|| field("name"))
                .unwrap_or_default()
        ),
        Some(kind) => kind.to_owned(),
        None => "(end)".into(),
    }
}

/// `text` with trace and span placeholders (`span#3`) written as `span#N`.
fn without_ids(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('#') {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        let digits = tail[1..].chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("#N");
            rest = &tail[1 + digits..];
        } else {
            out.push('#');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_grouped_by_the_kinds_of_lines_they_touch() {
        let diff = "--- golden\n+++ 0.25.0\n@@ -1 +1 @@\n-          hook run.on_tool_end {\"result\":\"old\"} @span#5\n+          hook run.on_tool_end {\"result\":\"new\"} @span#5\n-        log DEBUG \"Creating span with id None\" @span#3\n-        span_start span#5 parent=span#3 {\"type\":\"generation\"}\n-  span#1 {\"data\":{\"sdk_span_type\":\"task\"},\"name\":\"task\",\"type\":\"custom\"}\n+  span#1 {\"data\":{\"sdk_span_type\":\"task\",\"usage\":{}},\"name\":\"task\",\"type\":\"custom\"}\n";
        assert_eq!(
            change_kinds(diff),
            [
                "~hook run.on_tool_end",
                "-log \"Creating span with id None\"",
                "~span custom(task)",
                "-span_start generation",
            ]
        );
    }
}
