//! The JUnit report: one `<testsuite>` per subject, one `<testcase>` per scenario, so CI systems
//! show parity cells like tests. A `fail` is a `<failure>` carrying the diff, an `error` is an
//! `<error>` carrying the reason; a declared deviation passes with its message as a property.

use std::io::{self, Write};

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::result::Status;
use crate::runner::RunReport;

/// Writes `report` as JUnit XML.
pub fn write_junit(mut out: impl Write, report: &RunReport) -> io::Result<()> {
    let mut junit = Report::new("parity");
    for subject in &report.subjects {
        let mut suite = TestSuite::new(subject.as_str());
        suite.add_property(Property::new(
            "python_client",
            report.client_version_label(),
        ));
        suite.add_property(Property::new(
            "normalizer_version",
            report.normalizer_version.to_string(),
        ));
        for result in report.results.iter().filter(|r| &r.subject == subject) {
            let status = match result.status {
                Status::Pass | Status::Deviation => TestCaseStatus::success(),
                Status::Fail => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    match &result.first_difference {
                        Some(path) => status
                            .set_message(format!("{} (first difference: {path})", result.message)),
                        None => status.set_message(result.message.as_str()),
                    };
                    status.set_type("parity");
                    if let Some(diff) = &result.diff {
                        status.set_description(diff.as_str());
                    }
                    status
                }
                Status::Error => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                    status.set_message(result.message.as_str());
                    status.set_type("error");
                    status
                }
                // Nothing was compared yet: a new golden waits for review, or the subject cannot
                // run on this machine (the message says why).
                Status::New | Status::Skipped => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(result.message.as_str());
                    status
                }
            };
            let mut case = TestCase::new(result.scenario.as_str(), status);
            case.set_classname(format!("parity.{subject}"));
            if result.status == Status::Deviation {
                case.add_property(Property::new("deviation", result.message.as_str()));
            }
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit
        .serialize(&mut out)
        .map_err(|e| io::Error::other(e.to_string()))?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::{CellResult, ClientInfo};

    fn cell(scenario: &str, status: Status, message: &str, diff: Option<&str>) -> CellResult {
        CellResult {
            scenario: scenario.into(),
            subject: "rust".into(),
            status,
            golden: Some(format!("golden/{scenario}.snap")),
            message: message.into(),
            first_difference: diff.map(|_| "trace#1 > span#1 (agent) > name".to_owned()),
            fingerprint: None,
            diff: diff.map(str::to_owned),
        }
    }

    #[test]
    fn failures_and_errors_become_junit_failures_and_errors() {
        let report = RunReport {
            python_client: ClientInfo {
                package: "openai-agents".into(),
                version: Some("0.24.0".into()),
            },
            normalizer_version: 1,
            subjects: vec!["rust".into()],
            matrix: None,
            results: vec![
                cell("handoff", Status::Pass, "", None),
                cell(
                    "tool_call",
                    Status::Fail,
                    "the rust transcript differs",
                    Some("-a\n+b\n"),
                ),
                cell("model_error", Status::Error, "rust subject failed", None),
            ],
            summary: Default::default(),
        };
        let mut out = Vec::new();
        write_junit(&mut out, &report).unwrap();
        let xml = String::from_utf8(out).unwrap();
        assert!(
            xml.contains(
                r#"<testsuite name="rust" tests="3" skipped="0" errors="1" failures="1">"#
            ),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testcase name="handoff" classname="parity.rust"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<failure message="the rust transcript differs (first difference: trace#1 &gt; span#1 (agent) &gt; name)" type="parity">-a"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<error message="rust subject failed" type="error"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<property name="python_client" value="0.24.0"/>"#),
            "{xml}"
        );
    }
}
