//! MCP servers in a scenario (`[[mcp_servers]]`): the rules of servers and their tools, and
//! which MCP tools an agent sees. The script walk (`validate.rs`) treats a visible MCP tool
//! like a function tool.

use std::collections::BTreeSet;

use super::names::parameter_name_problem;
use super::schema::{AgentSpec, FailureErrorFunction, McpServerSpec, McpToolSpec, ScenarioFile};

/// The servers `agent` lists, in its order.
pub(crate) fn servers_of<'a>(spec: &'a ScenarioFile, agent: &AgentSpec) -> Vec<&'a McpServerSpec> {
    agent
        .mcp_servers
        .iter()
        .filter_map(|name| spec.mcp_servers.iter().find(|s| &s.name == name))
        .collect()
}

/// The tools `server` lists to agents: its tools in order, after its `allowed_tools` filter.
pub(crate) fn listed_tools(server: &McpServerSpec) -> impl Iterator<Item = &McpToolSpec> {
    server.tools.iter().filter(|tool| {
        server
            .allowed_tools
            .as_ref()
            .is_none_or(|allowed| allowed.contains(&tool.name))
    })
}

/// The MCP tools `agent` sees, server by server in its `mcp_servers` order.
pub(crate) fn visible_tools<'a>(
    spec: &'a ScenarioFile,
    agent: &AgentSpec,
) -> Vec<(&'a McpServerSpec, &'a McpToolSpec)> {
    servers_of(spec, agent)
        .into_iter()
        .flat_map(|server| listed_tools(server).map(move |tool| (server, tool)))
        .collect()
}

/// The MCP tool `name` as `agent` sees it.
pub(crate) fn visible_tool<'a>(
    spec: &'a ScenarioFile,
    agent: &AgentSpec,
    name: &str,
) -> Option<(&'a McpServerSpec, &'a McpToolSpec)> {
    visible_tools(spec, agent)
        .into_iter()
        .find(|(_, tool)| tool.name == name)
}

/// Whether a call of this MCP tool ends the run: an error answer with no failure handler.
pub(crate) fn call_raises(server: &McpServerSpec, tool: &McpToolSpec) -> bool {
    tool.error.is_some() && server.failure_error_function == Some(FailureErrorFunction::None)
}

/// Every tool name of every server (what a `tool_call` may name).
pub(crate) fn all_tool_names(spec: &ScenarioFile) -> BTreeSet<&str> {
    spec.mcp_servers
        .iter()
        .flat_map(|server| server.tools.iter().map(|tool| tool.name.as_str()))
        .collect()
}

/// The rules of servers, their tools, the agents that list them and the steps that call them.
pub(crate) fn check_rules(spec: &ScenarioFile, problem: &mut impl FnMut(String, String)) {
    let mut server_names = BTreeSet::new();
    for (i, server) in spec.mcp_servers.iter().enumerate() {
        let field = format!("mcp_servers[{i}]");
        if server.name.trim().is_empty() {
            problem(
                format!("{field}.name"),
                "a server needs a non-blank name".into(),
            );
        }
        if !server_names.insert(server.name.as_str()) {
            problem(
                format!("{field}.name"),
                format!(
                    "server {:?} is defined twice; names must be unique",
                    server.name
                ),
            );
        }
        let mut tool_names = BTreeSet::new();
        for (j, tool) in server.tools.iter().enumerate() {
            let field = format!("{field}.tools[{j}]");
            if !tool_names.insert(tool.name.as_str()) {
                problem(
                    format!("{field}.name"),
                    format!("tool {:?} is listed twice by this server", tool.name),
                );
            }
            if tool.error.is_some() && (!tool.content.is_empty() || tool.is_error) {
                problem(
                    field.clone(),
                    "a tool answers either with a result (`content`, `is_error`) or with an MCP `error`, not both".into(),
                );
            }
            for name in tool.parameters.keys() {
                if let Some(why) = parameter_name_problem(name) {
                    problem(format!("{field}.parameters.{name}"), why);
                }
            }
        }
        for (j, allowed) in server.allowed_tools.iter().flatten().enumerate() {
            if !tool_names.contains(allowed.as_str()) {
                problem(
                    format!("{field}.allowed_tools[{j}]"),
                    format!("the server lists no tool {allowed:?}"),
                );
            }
        }
    }
    for (i, agent) in spec.agents.iter().enumerate() {
        for (j, name) in agent.mcp_servers.iter().enumerate() {
            if !server_names.contains(name.as_str()) {
                problem(
                    format!("agents[{i}].mcp_servers[{j}]"),
                    format!("server {name:?} is not defined in [[mcp_servers]]"),
                );
            }
        }
        // The client refuses duplicate names across servers (UserError) and lets a function
        // tool shadow an MCP tool with a warning each turn: neither is scripted here.
        let mut seen = BTreeSet::new();
        for (server, tool) in visible_tools(spec, agent) {
            let clash = !seen.insert(tool.name.as_str())
                || agent.tools.contains(&tool.name)
                || agent.agent_tools.contains(&tool.name);
            if clash {
                problem(
                    format!("agents[{i}].mcp_servers"),
                    format!(
                        "MCP tool {:?} of server {:?} has the name of another tool of agent {:?}; rename it or leave it out with `allowed_tools`",
                        tool.name, server.name, agent.name
                    ),
                );
            }
        }
    }
    let mcp_names = all_tool_names(spec);
    for (i, step) in spec.model.steps.iter().enumerate() {
        let calls = step
            .output
            .iter()
            .filter(|item| item.message.is_none())
            .count();
        let mcp_calls = step
            .output
            .iter()
            .filter(|item| {
                item.tool_call
                    .as_deref()
                    .is_some_and(|t| mcp_names.contains(t))
            })
            .count();
        if mcp_calls > 0 && calls > 1 {
            problem(
                format!("model.steps[{i}]"),
                "a step that calls an MCP tool may make no other call: MCP calls do real I/O, so the client interleaves their completions with the other calls' by timing".into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::{parse_scenario, problems};

    const MCP: &str = r#"# A tool of an MCP server.
[run]
agent = "librarian"
input = "Read notes.txt."

[[mcp_servers]]
name = "files"

[[mcp_servers.tools]]
name = "read_file"
parameters = { path = "string" }
content = ["buy milk"]

[[agents]]
name = "librarian"
mcp_servers = ["files"]

[[model.steps]]
output = [{ tool_call = "read_file", arguments = { path = "notes.txt" } }]

[[model.steps]]
output = [{ message = "Buy milk." }]
"#;

    #[test]
    fn an_mcp_tool_is_callable_by_the_agents_that_list_its_server() {
        assert!(parse_scenario("t", MCP).is_ok());
        // Without the server, the call is one the agent cannot make: the run raises there.
        let text = MCP.replace("mcp_servers = [\"files\"]\n", "");
        let problems = problems(&text);
        assert!(
            problems[0].starts_with("model.steps[1]: this step can never be used"),
            "{problems:?}"
        );
    }

    #[test]
    fn undefined_servers_and_filtered_names_are_named() {
        let text = MCP
            .replace("mcp_servers = [\"files\"]", "mcp_servers = [\"filez\"]")
            .replace(
                "name = \"files\"\n",
                "name = \"files\"\nallowed_tools = [\"write_file\"]\n",
            );
        let problems = problems(&text);
        assert!(
            problems.contains(
                &r#"mcp_servers[0].allowed_tools[0]: the server lists no tool "write_file""#
                    .to_owned()
            ),
            "{problems:?}"
        );
        assert!(
            problems.contains(
                &r#"agents[0].mcp_servers[0]: server "filez" is not defined in [[mcp_servers]]"#
                    .to_owned()
            ),
            "{problems:?}"
        );
    }

    #[test]
    fn a_tool_answers_with_a_result_or_an_error() {
        let text = MCP.replace(
            "content = [\"buy milk\"]",
            "content = [\"buy milk\"]\nerror = \"disk full\"",
        );
        assert_eq!(
            problems(&text),
            [
                "mcp_servers[0].tools[0]: a tool answers either with a result (`content`, `is_error`) or with an MCP `error`, not both"
            ]
        );
    }

    #[test]
    fn an_mcp_call_shares_its_step_with_no_other_call() {
        let text = MCP.replace(
            r#"output = [{ tool_call = "read_file", arguments = { path = "notes.txt" } }]"#,
            r#"output = [{ tool_call = "read_file", arguments = { path = "a" } }, { tool_call = "read_file", arguments = { path = "b" } }]"#,
        );
        let problems = problems(&text);
        assert!(
            problems[0].starts_with(
                "model.steps[0]: a step that calls an MCP tool may make no other call"
            ),
            "{problems:?}"
        );
    }

    #[test]
    fn an_mcp_tool_named_like_a_function_tool_is_refused() {
        let text = MCP
            .replace(
                "mcp_servers = [\"files\"]",
                "mcp_servers = [\"files\"]\ntools = [\"read_file\"]",
            )
            .replace(
                "[[agents]]",
                "[[tools]]\nname = \"read_file\"\nreturns = \"local\"\n\n[[agents]]",
            );
        let problems = problems(&text);
        assert!(
            problems.iter().any(|p| p.starts_with(r#"agents[0].mcp_servers: MCP tool "read_file" of server "files" has the name of another tool"#)),
            "{problems:?}"
        );
    }

    #[test]
    fn the_agents_tool_use_behavior_applies_to_mcp_tools() {
        let text = MCP.replace(
            "mcp_servers = [\"files\"]",
            "mcp_servers = [\"files\"]\ntool_use_behavior = \"stop_on_first_tool\"",
        );
        let problems = problems(&text);
        assert!(
            problems[0].starts_with("model.steps[1]: this step can never be used"),
            "{problems:?}"
        );
    }
}
