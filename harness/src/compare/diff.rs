//! Equality as insta sees it, and a unified diff for people.

use similar::TextDiff;

/// `None` when `expected` and `actual` are equal (as insta compares snapshots), otherwise a unified
/// diff from `expected` to `actual` with three lines of context.
pub fn diff(
    expected: &str,
    expected_label: &str,
    actual: &str,
    actual_label: &str,
) -> Option<String> {
    let expected = normalize_for_compare(expected) + "\n";
    let actual = normalize_for_compare(actual) + "\n";
    if expected == actual {
        return None;
    }
    Some(
        TextDiff::from_lines(&expected, &actual)
            .unified_diff()
            .context_radius(3)
            .header(expected_label, actual_label)
            .to_string(),
    )
}

/// Text as insta compares snapshot contents: trailing whitespace trimmed, CRLF as LF.
pub fn normalize_for_compare(text: &str) -> String {
    text.trim_end().replace("\r\n", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_up_to_trailing_whitespace() {
        assert_eq!(diff("a\nb\n", "golden", "a\nb", "python"), None);
    }

    #[test]
    fn diff_points_at_the_changed_line() {
        let diff = diff("a\nb\nc\n", "golden/x.snap", "a\nB\nc\n", "python").unwrap();
        assert_eq!(
            diff,
            "--- golden/x.snap\n+++ python\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
        );
    }
}
