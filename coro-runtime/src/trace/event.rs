//! The events of a trace, and where they go: a Chrome trace-event JSON file,
//! written through a bounded buffer as they come, or a picture drawn from them
//! when the run ends.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};

/// At most this many events are kept for a picture; a timeline past that is cut.
const PICTURE_EVENTS: usize = 200_000;

/// A row of the timeline: a process (a scope) and a thread (a task) in trace-event
/// terms.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(super) struct Track {
    pub(super) pid: u64,
    pub(super) tid: u64,
}

/// One trace event, as the trace-event format has it.
#[derive(Clone, Debug)]
pub(crate) struct Event {
    pub(super) phase: Phase,
    pub(super) name: String,
    /// Nanoseconds since the trace started.
    pub(super) at: u64,
    pub(super) track: Track,
    pub(super) args: Vec<(&'static str, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// A slice, lasting this many nanoseconds.
    Slice(u64),
    /// A moment: spawn, completion, cancellation.
    Instant,
    /// Where an arrow starts, and where it ends (bound to the enclosing slices).
    FlowStart(u64),
    FlowEnd(u64),
    /// A track's (or a process's) name and place in the list.
    ThreadName,
    ProcessName,
}

/// Where an event stream goes.
pub(super) enum Output {
    Json {
        file: BufWriter<File>,
        first: bool,
    },
    Picture {
        path: PathBuf,
        events: Vec<Event>,
        cut: bool,
    },
}

impl Output {
    pub(super) fn open(path: &Path) -> io::Result<Output> {
        let file = File::create(path)?;
        if path.extension().is_some_and(|extension| extension == "svg") {
            drop(file);
            return Ok(Output::Picture {
                path: path.to_owned(),
                events: Vec::new(),
                cut: false,
            });
        }
        let mut file = BufWriter::with_capacity(256 * 1024, file);
        file.write_all(b"[\n")?;
        Ok(Output::Json { file, first: true })
    }

    pub(super) fn write(&mut self, event: &Event) -> io::Result<()> {
        match self {
            Output::Json { file, first } => {
                if !std::mem::take(first) {
                    file.write_all(b",\n")?;
                }
                file.write_all(event.to_json().as_bytes())
            }
            Output::Picture { events, cut, .. } => {
                if events.len() < PICTURE_EVENTS {
                    events.push(event.clone());
                } else {
                    *cut = true;
                }
                Ok(())
            }
        }
    }

    pub(super) fn finish(self) -> io::Result<()> {
        match self {
            Output::Json { mut file, .. } => {
                file.write_all(b"\n]\n")?;
                file.flush()
            }
            Output::Picture { path, events, cut } => {
                std::fs::write(path, super::picture::draw(&events, cut))
            }
        }
    }
}

impl Event {
    fn to_json(&self) -> String {
        let mut json = String::with_capacity(128);
        let (phase, extra) = match self.phase {
            Phase::Slice(duration) => ("X", format!(",\"dur\":{}", micros(duration))),
            Phase::Instant => ("i", ",\"s\":\"t\"".to_owned()),
            Phase::FlowStart(id) => ("s", format!(",\"id\":{id},\"cat\":\"wake\"")),
            Phase::FlowEnd(id) => ("f", format!(",\"id\":{id},\"cat\":\"wake\",\"bp\":\"e\"")),
            Phase::ThreadName => ("M", String::new()),
            Phase::ProcessName => ("M", String::new()),
        };
        let name = match self.phase {
            Phase::ThreadName => "thread_name",
            Phase::ProcessName => "process_name",
            _ => &self.name,
        };
        let _ = write!(
            json,
            "{{\"ph\":\"{phase}\",\"name\":{},\"ts\":{},\"pid\":{},\"tid\":{}{extra}",
            quoted(name),
            micros(self.at),
            self.track.pid,
            self.track.tid,
        );
        let mut args: Vec<(&str, &str)> = self
            .args
            .iter()
            .map(|(key, value)| (*key, value.as_str()))
            .collect();
        if matches!(self.phase, Phase::ThreadName | Phase::ProcessName) {
            args.push(("name", &self.name));
        }
        if !args.is_empty() {
            json.push_str(",\"args\":{");
            for (i, (key, value)) in args.iter().enumerate() {
                if i > 0 {
                    json.push(',');
                }
                let _ = write!(json, "{}:{}", quoted(key), quoted(value));
            }
            json.push('}');
        }
        json.push('}');
        json
    }
}

/// Nanoseconds as the format's microseconds.
fn micros(nanos: u64) -> String {
    format!("{}.{:03}", nanos / 1_000, nanos % 1_000)
}

/// `text` as a JSON string.
fn quoted(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(quoted, "\\u{:04x}", c as u32);
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// What the picture needs of an event.
pub(crate) mod view {
    use super::{Event, Phase};

    /// An event's kind, as the picture draws it.
    pub(crate) enum Kind {
        Slice { duration: u64 },
        Instant,
        FlowStart(u64),
        FlowEnd(u64),
        TrackName,
        ScopeName,
    }

    impl Event {
        pub(crate) fn kind(&self) -> Kind {
            match self.phase {
                Phase::Slice(duration) => Kind::Slice { duration },
                Phase::Instant => Kind::Instant,
                Phase::FlowStart(id) => Kind::FlowStart(id),
                Phase::FlowEnd(id) => Kind::FlowEnd(id),
                Phase::ThreadName => Kind::TrackName,
                Phase::ProcessName => Kind::ScopeName,
            }
        }

        pub(crate) fn name(&self) -> &str {
            &self.name
        }

        pub(crate) fn at(&self) -> u64 {
            self.at
        }

        /// The scope's number and the track's.
        pub(crate) fn track(&self) -> (u64, u64) {
            (self.track.pid, self.track.tid)
        }

        pub(crate) fn arg(&self, key: &str) -> Option<&str> {
            self.args
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, value)| value.as_str())
        }
    }
}
