//! The picture of a trace: what [`crate::debug::trace_to`] writes for a `.svg`
//! path. One row per track, under a header row per scope; polls as boxes named by
//! where they stopped, an arrow from each wake to the poll it caused, and each
//! cancellation as a red mark with its cause written beside it.
//!
//! It is drawn here rather than by a browser because a picture in a README has to
//! be a file, and the machines that make one need not have a browser.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use super::Event;
use super::event::view::Kind;

const LABELS: f64 = 380.0;
const PLOT: f64 = 1100.0;
const ROW: f64 = 20.0;
const TOP: f64 = 40.0;
/// An approximate character width of the font, to fit labels in boxes.
const CHAR: f64 = 6.2;

/// Colours for polls, picked by the name of the place they stopped at.
const PALETTE: [&str; 8] = [
    "#8ecae6", "#a3d9a5", "#ffd58e", "#cdb4db", "#f4a6a6", "#b8c0ff", "#9bd6c8", "#f6c1a0",
];

/// Draws `events` (which ended early if `cut`) as an SVG document.
pub(crate) fn draw(events: &[Event], cut: bool) -> String {
    let mut scopes: BTreeMap<u64, String> = BTreeMap::new();
    let mut tracks: BTreeMap<(u64, u64), String> = BTreeMap::new();
    let (mut first, mut last) = (u64::MAX, 0);
    for event in events {
        match event.kind() {
            Kind::ScopeName => {
                scopes.insert(event.track().0, event.name().to_owned());
            }
            Kind::TrackName => {
                tracks.insert(event.track(), event.name().to_owned());
            }
            Kind::Slice { duration } => {
                first = first.min(event.at());
                last = last.max(event.at() + duration);
            }
            Kind::Instant | Kind::FlowStart(_) | Kind::FlowEnd(_) => {
                first = first.min(event.at());
                last = last.max(event.at());
            }
        }
    }
    for event in events {
        if !matches!(event.kind(), Kind::ScopeName) {
            tracks.entry(event.track()).or_default();
        }
    }
    if first > last {
        (first, last) = (0, 1);
    }
    let span = (last - first).max(1) as f64;
    let x = |at: u64| LABELS + (at.saturating_sub(first)) as f64 / span * PLOT;

    // Rows: each scope's header, then its tracks.
    let mut rows: HashMap<(u64, u64), f64> = HashMap::new();
    let mut body = String::new();
    let mut y = TOP;
    let mut pids: Vec<u64> = tracks.keys().map(|(pid, _)| *pid).collect();
    pids.dedup();
    for pid in pids {
        let title = scopes
            .get(&pid)
            .cloned()
            .unwrap_or_else(|| format!("scope {pid}"));
        let _ = writeln!(
            body,
            r##"<rect x="0" y="{y}" width="{}" height="{ROW}" fill="#eef1f5"/><text x="6" y="{}" class="scope">{}</text>"##,
            LABELS + PLOT + 60.0,
            y + 14.0,
            escape(&title)
        );
        y += ROW;
        for ((_, tid), name) in tracks.range((pid, 0)..=(pid, u64::MAX)) {
            rows.insert((pid, *tid), y);
            let name = if name.is_empty() {
                format!("track {tid}")
            } else {
                name.clone()
            };
            let _ = writeln!(
                body,
                r#"<text x="18" y="{}" class="track">{}</text>"#,
                y + 14.0,
                escape(&fit(&name, LABELS - 24.0))
            );
            y += ROW;
        }
    }
    let height = y + 30.0;

    // Time axis.
    let mut axis = String::new();
    for tick in 0..=10 {
        let at = first + (span * tick as f64 / 10.0) as u64;
        let tx = x(at);
        let _ = writeln!(
            axis,
            r##"<line x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{height}" stroke="#e3e3e3"/><text x="{tx:.1}" y="{}" class="axis">{}</text>"##,
            TOP - 6.0,
            TOP - 10.0,
            millis(at - first)
        );
    }

    let mut marks = String::new();
    let mut flows: HashMap<u64, ((u64, u64), u64)> = HashMap::new();
    let mut arrows = String::new();
    for event in events {
        let Some(&row) = rows.get(&event.track()) else {
            continue;
        };
        match event.kind() {
            Kind::Slice { duration } => {
                let left = x(event.at());
                let width = (duration as f64 / span * PLOT).max(1.5);
                let colour = PALETTE[hash(event.name()) % PALETTE.len()];
                let mut tip = event.name().to_owned();
                if let Some(sites) = event.arg("suspended at") {
                    tip = format!("suspended at\n{sites}");
                }
                let _ = write!(
                    body,
                    r##"<rect x="{left:.2}" y="{}" width="{width:.2}" height="{}" fill="{colour}" stroke="#5a6b7b" stroke-width="0.4"><title>{}</title></rect>"##,
                    row + 3.0,
                    ROW - 6.0,
                    escape(&tip)
                );
                if width > 30.0 {
                    let _ = write!(
                        body,
                        r#"<text x="{:.2}" y="{}" class="slice">{}</text>"#,
                        left + 3.0,
                        row + 14.0,
                        escape(&fit(event.name(), width - 6.0))
                    );
                }
                body.push('\n');
            }
            Kind::Instant => {
                let at = x(event.at());
                let (colour, text) = match (event.name(), event.arg("cause")) {
                    ("cancelled", Some(cause)) => ("#d62828", format!("cancelled: {cause}")),
                    ("completed", _) => ("#2a9d8f", String::new()),
                    (name, _) => ("#d62828", name.to_owned()),
                };
                let _ = write!(
                    marks,
                    r#"<path d="M{at:.2},{} l5,8 l-10,0 z" fill="{colour}"/>"#,
                    row + 5.0
                );
                if !text.is_empty() {
                    // Beside the mark, on the side with room.
                    let (tx, anchor) = if at > LABELS + PLOT / 2.0 {
                        (at - 7.0, "end")
                    } else {
                        (at + 7.0, "start")
                    };
                    let _ = write!(
                        marks,
                        r#"<text x="{tx:.2}" y="{}" class="cause" fill="{colour}" text-anchor="{anchor}">{}</text>"#,
                        row + 14.0,
                        escape(&text)
                    );
                }
                marks.push('\n');
            }
            Kind::FlowStart(id) | Kind::FlowEnd(id) => {
                let here = (event.track(), event.at());
                let is_start = matches!(event.kind(), Kind::FlowStart(_));
                if let Some(other) = flows.remove(&id) {
                    let (from, to) = if is_start {
                        (here, other)
                    } else {
                        (other, here)
                    };
                    let (Some(y1), Some(y2)) = (rows.get(&from.0), rows.get(&to.0)) else {
                        continue;
                    };
                    let _ = writeln!(
                        arrows,
                        r#"<line x1="{:.2}" y1="{}" x2="{:.2}" y2="{}" class="flow" marker-end="url(#head)"/>"#,
                        x(from.1),
                        y1 + ROW / 2.0,
                        x(to.1),
                        y2 + ROW / 2.0
                    );
                } else {
                    flows.insert(id, here);
                }
            }
            Kind::TrackName | Kind::ScopeName => {}
        }
    }
    let note = if cut {
        r##"<text x="6" y="16" class="cause" fill="#d62828">The run went on past what a picture keeps: this is its beginning.</text>"##
    } else {
        ""
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" viewBox="0 0 {w} {height}" font-family="DejaVu Sans Mono, Menlo, monospace">
<style>
.scope {{ font-size: 12px; font-weight: bold; fill: #203040; }}
.track {{ font-size: 11px; fill: #203040; }}
.slice {{ font-size: 10px; fill: #102030; }}
.axis {{ font-size: 10px; fill: #607080; }}
.cause {{ font-size: 10px; }}
.flow {{ stroke: #3a6ea5; stroke-width: 0.8; opacity: 0.7; }}
</style>
<defs><marker id="head" markerWidth="6" markerHeight="6" refX="5" refY="3" orient="auto"><path d="M0,0 L6,3 L0,6 z" fill="#3a6ea5"/></marker></defs>
<rect width="100%" height="100%" fill="white"/>
{note}
{axis}{body}{arrows}{marks}</svg>
"##,
        w = LABELS + PLOT + 60.0,
    )
}

/// `text`, cut with an ellipsis to fit `width` pixels.
fn fit(text: &str, width: f64) -> String {
    let room = (width / CHAR).max(1.0) as usize;
    if text.chars().count() <= room {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(room.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn millis(nanos: u64) -> String {
    format!("{:.2} ms", nanos as f64 / 1e6)
}

fn hash(text: &str) -> usize {
    text.bytes().fold(5381usize, |hash, byte| {
        hash.wrapping_mul(33) ^ byte as usize
    })
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
