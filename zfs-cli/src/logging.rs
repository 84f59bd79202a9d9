//! zsync's log: `tracing` events on stderr, as human lines (`zsync: warning: ...`, the default) or
//! one JSON object per line (`--log-format json`, for journald and log shippers).
//!
//! What is logged: warnings and `--debug` details of `zsync` commands, `zsync run`'s structured
//! events (target [`EVENT_TARGET`]: one per dataset, job and run, with their facts as fields; on
//! by default in JSON, off in human form where the run prints its own lines), and the timing
//! trace of a replication run (target [`TRACE_TARGET`], off unless asked for). Results stay on
//! stdout and the progress line on a terminal; sanoid's and syncoid's own wording is printed by
//! their personalities, not logged.
//!
//! `ZSYNC_LOG` adds `tracing-subscriber` filter directives: `ZSYNC_LOG=zsync::trace=trace` turns on
//! the timing trace, `ZSYNC_LOG=zsync::event=info` the run's events in human form; a bare level
//! (`ZSYNC_LOG=trace`) replaces the defaults altogether.

use clap::ValueEnum;
use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// The target of `zsync run`'s structured events.
pub const EVENT_TARGET: &str = "zsync::event";
/// The target of the timing trace (one event per span of a replication run).
pub const TRACE_TARGET: &str = "zsync::trace";
/// The environment variable with extra filter directives.
pub const FILTER_ENV: &str = "ZSYNC_LOG";

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// `zsync: warning: ...` lines.
    #[default]
    Human,
    /// One JSON object per line: timestamp, level, target, message and the event's fields.
    Json,
}

/// The filter directives for `format` with the user's `extra` (from [`FILTER_ENV`]).
pub fn directives(format: LogFormat, extra: Option<&str>) -> String {
    let events = match format {
        LogFormat::Human => "off",
        LogFormat::Json => "info",
    };
    let defaults = [
        ("", "warn".to_string()),
        ("zsync", "zsync=debug".to_string()),
        (EVENT_TARGET, format!("{EVENT_TARGET}={events}")),
        (TRACE_TARGET, format!("{TRACE_TARGET}=off")),
    ];
    let extra: Vec<&str> = extra
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    if extra.iter().any(|d| !d.contains('=')) {
        return extra.join(",");
    }
    let target_of = |d: &str| d.split('=').next().unwrap_or("").to_string();
    let mut out: Vec<String> = defaults
        .iter()
        .filter(|(t, _)| t.is_empty() || !extra.iter().any(|d| target_of(d) == *t))
        .map(|(_, d)| d.clone())
        .collect();
    out.extend(extra.iter().map(|d| d.to_string()));
    out.join(",")
}

/// Installs the log for this process (the first call wins; later calls, as in tests that run the
/// program several times, change nothing). A bad `ZSYNC_LOG` is said once and ignored.
pub fn init(format: LogFormat) {
    let extra = std::env::var(FILTER_ENV).ok();
    let filter = match EnvFilter::try_new(directives(format, extra.as_deref())) {
        Ok(f) => f,
        Err(e) => {
            errln!("zsync: warning: {FILTER_ENV}: {e}; ignored");
            EnvFilter::new(directives(format, None))
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.event_format(Human).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
}

/// A warning: `zsync: warning: TEXT` (or a JSON line).
pub fn warn(text: &str) {
    tracing::warn!(target: "zsync", "{text}");
}

/// A `--debug` detail: `zsync: debug: TEXT`.
pub fn debug(text: &str) {
    tracing::debug!(target: "zsync", "{text}");
}

/// The human form: `zsync: LEVEL: message`, the message only (fields are for JSON).
struct Human;

impl<S, N> FormatEvent<S, N> for Human
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        let mut message = Message(String::new());
        event.record(&mut message);
        writeln!(writer, "zsync: {level}: {}", message.0)
    }
}

/// Collects an event's `message` field.
struct Message(String);

impl tracing::field::Visit for Message {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_add_to_the_defaults_or_replace_them() {
        assert_eq!(
            directives(LogFormat::Human, None),
            "warn,zsync=debug,zsync::event=off,zsync::trace=off"
        );
        assert_eq!(
            directives(LogFormat::Json, Some("")),
            "warn,zsync=debug,zsync::event=info,zsync::trace=off"
        );
        assert_eq!(
            directives(LogFormat::Human, Some("zsync::trace=trace")),
            "warn,zsync=debug,zsync::event=off,zsync::trace=trace"
        );
        assert_eq!(directives(LogFormat::Json, Some("trace")), "trace");
        for f in [LogFormat::Human, LogFormat::Json] {
            for extra in [
                None,
                Some("zsync::trace=trace,zsync::event=info"),
                Some("warn"),
            ] {
                assert!(EnvFilter::try_new(directives(f, extra)).is_ok());
            }
        }
    }
}
