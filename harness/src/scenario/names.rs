//! Names the Python client must be able to build: tool parameters and structured-output fields.
//!
//! The python driver turns a tool's parameters into a Python signature (`inspect.Parameter`)
//! that the client reads into a pydantic model, and an output type's fields into a pydantic
//! model (`pydantic.create_model`). What either refuses, or silently turns into something else,
//! is refused here with the reason, so the python subject never fails on a scenario the loader
//! accepted. The test `python_subject::name_rules_match_the_client` runs each rule through the
//! real client.

/// Python 3.11's keywords (`keyword.kwlist`): never a parameter name.
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// `BaseModel` members that a pydantic field may not be named after (`create_model` fails).
/// Other `model_*` members only warn that the field shadows them, and work.
const PYDANTIC_RESERVED: &[&str] = &[
    "model_config",
    "model_dump",
    "model_dump_json",
    "model_validate",
    "model_validate_json",
    "model_validate_strings",
];

/// Why `name` cannot be a tool parameter, if it cannot.
pub(crate) fn parameter_name_problem(name: &str) -> Option<String> {
    if !is_python_identifier(name) {
        return Some(format!(
            "{} is not a Python identifier (letters, digits and `_`, not starting with a digit); the client builds a Python signature from parameter names",
            super::quoted(name)
        ));
    }
    if PYTHON_KEYWORDS.contains(&name) {
        return Some(format!(
            "{} is a Python keyword and cannot name a parameter; rename it (e.g. `{name}_`)",
            super::quoted(name)
        ));
    }
    field_name_problem(name)
}

/// Why `name` cannot be a pydantic field (a tool parameter or a structured-output field).
pub(crate) fn field_name_problem(name: &str) -> Option<String> {
    if name.starts_with('_') {
        return Some(format!(
            "{} starts with `_`: pydantic makes such a name a private attribute, not a field; rename it (e.g. `{}`)",
            super::quoted(name),
            name.trim_start_matches('_')
        ));
    }
    if PYDANTIC_RESERVED.contains(&name) {
        return Some(format!(
            "{} is reserved by pydantic (a BaseModel member); rename it",
            super::quoted(name)
        ));
    }
    None
}

/// Python's `str.isidentifier()`: an XID_Start character or `_`, then XID_Continue characters.
fn is_python_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || unicode_ident::is_xid_start(c))
        && chars.all(unicode_ident::is_xid_continue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_python_identifiers_that_are_not_keywords() {
        for bad in ["class", "None", "my-param", "1x", "x y", "", "a.b"] {
            assert!(parameter_name_problem(bad).is_some(), "{bad:?}");
        }
        for good in ["city", "é", "self", "match", "model_x", "json"] {
            assert_eq!(parameter_name_problem(good), None, "{good:?}");
        }
    }

    #[test]
    fn fields_may_be_any_text_except_private_and_reserved_names() {
        assert_eq!(field_name_problem("class"), None);
        assert_eq!(field_name_problem("my-field"), None);
        assert!(
            field_name_problem("_x")
                .unwrap()
                .contains("private attribute")
        );
        assert!(
            field_name_problem("model_config")
                .unwrap()
                .contains("reserved")
        );
    }
}
