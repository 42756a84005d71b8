//! Metrics of the Codex events through the `opentelemetry` metrics API, read back with the
//! SDK's in-memory exporter.

use std::time::Duration;

use codex_telemetry::config::EnvConfig;
use codex_telemetry::events::{EventFields, Events, ThrottlePolicy};
use codex_telemetry::lifecycle::{
    AgentInfo, Item, ModelCallOptions, ModelResponse, RunOptions, Runner, ToolInfo,
};
use codex_telemetry::testing::Capture;
use opentelemetry::metrics::MeterProvider;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use serde_json::json;

/// `(name, attributes as "k=v" sorted, count or sum)` of every data point.
fn points(metrics: &[ResourceMetrics]) -> Vec<(String, Vec<String>, f64)> {
    let mut points = Vec::new();
    for resource in metrics {
        for scope in resource.scope_metrics() {
            for metric in scope.metrics() {
                let name = metric.name().to_owned();
                let attrs = |kvs: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
                    let mut a: Vec<String> =
                        kvs.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
                    a.sort();
                    a
                };
                match metric.data() {
                    AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                        for point in sum.data_points() {
                            points.push((
                                name.clone(),
                                attrs(&mut point.attributes()),
                                point.value() as f64,
                            ));
                        }
                    }
                    AggregatedMetrics::F64(MetricData::Histogram(histogram)) => {
                        for point in histogram.data_points() {
                            points.push((
                                format!("{name}.sum"),
                                attrs(&mut point.attributes()),
                                point.sum(),
                            ));
                            points.push((
                                format!("{name}.count"),
                                attrs(&mut point.attributes()),
                                point.count() as f64,
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    points.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    points
}

#[test]
fn tool_calls_turns_and_runs_are_counted_and_timed() {
    let exporter = InMemoryMetricExporter::default();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let meter = meter_provider.meter("codex-telemetry");
    // No tracing subscriber at all: metrics are recorded on their own.
    let capture = Capture::new();
    let provider = capture.provider();
    let runner = Runner::new(provider.clone(), EnvConfig::default())
        .with_events(Events::new(provider).with_meter(&meter));
    let agent = AgentInfo::new("weather").with_tool(ToolInfo::new("get_weather"));
    let mut run = runner.start_run(RunOptions::new());
    run.start_agent(&agent);
    let mut turn = run.start_turn().unwrap();
    let call = turn.start_model_call(ModelCallOptions::new());
    let processed = call
        .finish(ModelResponse::new(vec![Item::function_call(
            "get_weather",
            "call_1",
            "{}",
        )]))
        .unwrap();
    let mut tools = turn.start_tools(processed.tool_calls());
    tools
        .invoke(0, |_| {
            capture.advance(Duration::from_millis(40));
            Ok(json!("sunny"))
        })
        .unwrap();
    tools.finish();
    turn.end();
    run.finish(Ok(json!("done"))).unwrap();
    meter_provider.force_flush().unwrap();
    let points = points(&exporter.get_finished_metrics().unwrap());
    let find = |name: &str| {
        points
            .iter()
            .filter(|p| p.0 == name)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        find("codex.tool.call"),
        [(
            "codex.tool.call".to_owned(),
            vec![
                "originator=sdk".to_owned(),
                "outcome=success".to_owned(),
                "tool=get_weather".to_owned()
            ],
            1.0
        )]
    );
    assert_eq!(find("codex.tool.call.duration_ms.sum")[0].2, 40.0);
    assert_eq!(
        find("codex.turn")[0].1,
        ["agent=weather", "originator=sdk", "outcome=run_again"]
    );
    assert_eq!(
        find("codex.thread.run")[0].1,
        ["originator=sdk", "outcome=completed"]
    );
    assert_eq!(find("codex.thread.duration_ms.sum")[0].2, 40.0);
    // Nothing went to tracing, and no ids were spent on tokens: span ids are those of a run
    // without events.
    assert!(capture.events().is_empty());
}

#[test]
fn throttled_drops_are_counted() {
    let exporter = InMemoryMetricExporter::default();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let meter = meter_provider.meter("codex-telemetry");
    let events = Events::new(codex_telemetry::TraceProvider::new())
        .with_throttle("codex.stream.delta", ThrottlePolicy::Sample { n: 4 })
        .with_meter(&meter);
    for _ in 0..10 {
        events.stream_delta(EventFields::new());
    }
    meter_provider.force_flush().unwrap();
    let points = points(&exporter.get_finished_metrics().unwrap());
    let dropped: Vec<_> = points
        .iter()
        .filter(|p| p.0 == "codex.telemetry.dropped")
        .collect();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].1, ["kind=codex.stream.delta", "originator=sdk"]);
    assert_eq!(dropped[0].2, 7.0);
}
