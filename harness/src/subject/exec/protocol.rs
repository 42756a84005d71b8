//! The exec protocol's fixed terms (docs/exec-protocol.md): its version, the bounds on what a
//! command may produce, and the document a command reads.

use std::time::Duration;

use crate::errors::ReadRequestError;
use crate::scenario::Scenario;

/// The protocol version the command is given (and documented in docs/exec-protocol.md).
pub const EXEC_PROTOCOL: &str = "parity-exec/1";
/// How long one scenario may take by default (`--exec-timeout` changes it).
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(60);
/// The most stdout a scenario may produce.
pub const MAX_STDOUT_BYTES: usize = 64 * 1024 * 1024;
/// How much of stderr the report keeps (the end of it).
pub const STDERR_TAIL_BYTES: usize = 4096;

/// The scenario of a protocol document (what an adapter reads on stdin), or why it is not one.
pub fn read_request(text: &str) -> Result<Scenario, ReadRequestError> {
    let mut request: serde_json::Value =
        serde_json::from_str(text).map_err(ReadRequestError::NotJson)?;
    let protocol = request.get("protocol").and_then(serde_json::Value::as_str);
    if protocol != Some(EXEC_PROTOCOL) {
        return Err(ReadRequestError::Protocol {
            found: protocol.map(str::to_owned),
            expected: EXEC_PROTOCOL,
        });
    }
    let Some(serde_json::Value::Object(mut fields)) =
        request.get_mut("scenario").map(serde_json::Value::take)
    else {
        return Err(ReadRequestError::NoScenario);
    };
    let mut text_field = |key: &str| match fields.remove(key) {
        Some(serde_json::Value::String(text)) => Ok(text),
        _ => Err(ReadRequestError::MissingText(key.to_owned())),
    };
    let name = text_field("name")?;
    let description = text_field("description")?;
    let spec = serde_json::from_value(serde_json::Value::Object(fields)).map_err(|source| {
        ReadRequestError::Schema {
            name: name.clone(),
            source,
        }
    })?;
    Ok(Scenario {
        name,
        description,
        spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_scenario;
    use crate::workspace::Workspace;

    #[test]
    fn a_request_round_trips_the_scenario_and_checks_the_protocol() {
        // A scenario with handoffs, tools and an approval resume: much of the schema.
        let path = Workspace::current()
            .scenarios_dir()
            .join("approval_approve.toml");
        let scenario = load_scenario(&path).unwrap();
        let request =
            serde_json::json!({"protocol": EXEC_PROTOCOL, "scenario": scenario}).to_string();
        assert_eq!(read_request(&request).unwrap(), scenario);
        let other = request.replace(EXEC_PROTOCOL, "parity-exec/9");
        assert!(
            read_request(&other)
                .unwrap_err()
                .to_string()
                .contains("this adapter speaks")
        );
        let error = |text: &str| read_request(text).unwrap_err().to_string();
        assert!(error("{}").contains("protocol"));
        assert!(error("not json").contains("not JSON"));
    }
}
