//! codex-telemetry's default logger against the Python client's own handler: in text, the
//! `openai.agents` lines are exactly what `enable_verbose_stdout_logging()` prints.

use super::{PythonSubject, embed};
use crate::record::RecordKind;
use crate::scenario::load_scenario;
use crate::subject::rust::RustSubject;
use crate::workspace::Workspace;
use codex_telemetry::logger::{DefaultLogger, LogFormat};

#[test]
fn text_lines_are_what_the_python_clients_handler_prints() {
    let workspace = Workspace::current();
    let embedded = embed::embedded(&workspace).expect("the python subject starts");
    // The handler the client installs, formatting one of its records.
    let probe = embedded.eval_json(
        c"
import io, logging, sys, agents
logger = logging.getLogger('openai.agents')
saved_stdout, saved_handlers = sys.stdout, list(logger.handlers)
sys.stdout = io.StringIO()
try:
    agents.enable_verbose_stdout_logging()
    handler = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)][-1]
    record = logger.makeRecord('openai.agents', logging.WARNING, 'x.py', 1, 'Tool %s failed', ('lookup',), None)
    line = handler.format(record)
finally:
    for h in list(logger.handlers):
        if h not in saved_handlers:
            logger.removeHandler(h)
    sys.stdout = saved_stdout
result = json.dumps({'line': line, 'level': logging.getLevelName(logger.level)})
",
    );
    assert_eq!(
        probe["line"], "Tool lookup failed",
        "the client's layout is the message alone"
    );

    // A scenario's lines: what the client logs (its records) and what the default logger
    // prints for the rust subject.
    let scenario = load_scenario(&workspace.scenarios_dir().join("tool_call.toml")).unwrap();
    let python = PythonSubject::new(workspace.clone())
        .run(&scenario)
        .unwrap();
    let expected: Vec<String> = python
        .records
        .iter()
        .filter(|record| record.kind == RecordKind::Log)
        .map(|record| {
            record.data["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    let printed = RustSubject::new()
        .default_logger_output(
            &scenario,
            DefaultLogger::new()
                .with_format(LogFormat::Text)
                .with_codex_events(false),
        )
        .unwrap();
    let printed: Vec<&str> = printed.lines().collect();
    assert_eq!(printed, expected);
}
