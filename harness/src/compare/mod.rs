//! Comparing transcripts: equality as insta sees it ([`diff`]), a unified diff for people, and
//! the path of the first difference ([`first_difference`]) for reports.

mod diff;
mod path;

pub use diff::diff;
pub use path::first_difference;
