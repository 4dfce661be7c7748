//! Results: one flat [`Record`] per measured phase, summaries over repetitions, and the three outputs (a table on
//! the terminal, JSON, SVG charts).
//!
//! ```text
//!  PhaseResult (histograms, /proc samples) --Record::from_phase--> Record --> table / JSON
//!  Records of several repetitions --summarize--> Summary (median, min, max per cell) --> table / JSON / SVG
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use plotters::prelude::*;

use super::client::PhaseResult;

/// Latency percentiles, microseconds.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

/// One measured phase, flattened for output.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Record {
    pub server: String,
    /// Connections asked for, and connections that were really open.
    pub connections: usize,
    pub connections_reached: usize,
    pub workload: String,
    pub pipeline: usize,
    /// Open-loop target rate (requests per second, all connections), or `None` for closed loop.
    pub rate: Option<f64>,
    pub repetition: usize,
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub throughput_rps: f64,
    pub latency_us: Latency,
    /// Open loop: 99th percentile of how late requests left against their schedule.
    pub schedule_lag_p99_us: Option<f64>,
    pub server_rss_bytes: Option<u64>,
    /// RSS above the server's reading after the prefill, with no connection open: what this level's connections
    /// and their buffers cost, without the data set every server holds alike. Set by the sweep.
    pub server_rss_over_data_bytes: Option<u64>,
    pub server_threads: Option<u64>,
    /// Server CPU time (utime + stime delta over the measured phase) divided by measured requests.
    pub server_cpu_us_per_request: Option<f64>,
    /// The generator's own CPU time per request: when it nears 1/throughput, the client is the bottleneck.
    pub client_cpu_us_per_request: f64,
    pub note: Option<String>,
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

impl Record {
    pub fn from_phase(server: &str, connections: usize, reached: usize, repetition: usize, p: &PhaseResult) -> Record {
        let h = &p.latency;
        let seconds = p.elapsed.as_secs_f64();
        let per_req = |d: f64| if p.completed > 0 { Some(d / p.completed as f64) } else { None };
        let server_cpu = match (p.server_before, p.server_after) {
            (Some(a), Some(b)) => per_req(b.cpu_ns.saturating_sub(a.cpu_ns) as f64 / 1000.0),
            _ => None,
        };
        Record {
            server: server.to_string(),
            connections,
            connections_reached: reached,
            workload: p.spec.workload.name(),
            pipeline: p.spec.pipeline,
            rate: p.spec.rate,
            repetition,
            requests: p.completed,
            errors: p.errors,
            seconds,
            throughput_rps: if seconds > 0.0 { p.completed as f64 / seconds } else { 0.0 },
            latency_us: if h.is_empty() {
                Latency::default()
            } else {
                Latency {
                    p50: us(h.value_at_quantile(0.50)),
                    p90: us(h.value_at_quantile(0.90)),
                    p99: us(h.value_at_quantile(0.99)),
                    p999: us(h.value_at_quantile(0.999)),
                    max: us(h.max()),
                    mean: h.mean() / 1000.0,
                }
            },
            schedule_lag_p99_us: (p.spec.rate.is_some() && !p.lag.is_empty())
                .then(|| us(p.lag.value_at_quantile(0.99))),
            server_rss_bytes: p.server_after.map(|s| s.rss_bytes),
            server_rss_over_data_bytes: None,
            server_threads: p.server_after.map(|s| s.threads),
            server_cpu_us_per_request: server_cpu,
            client_cpu_us_per_request: per_req(p.client_cpu.as_nanos() as f64 / 1000.0).unwrap_or(0.0),
            note: (reached < connections).then(|| format!("only {reached} of {connections} connections opened")),
        }
    }
}

/// Median, minimum and maximum of one figure over repetitions.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Option<Spread> {
        if v.is_empty() {
            return None;
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let median = if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 };
        Some(Spread { median, min: v[0], max: v[v.len() - 1] })
    }
}

/// One cell of the comparison (server x workload x pipeline x connections) over its repetitions.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub server: String,
    pub workload: String,
    pub pipeline: usize,
    pub connections: usize,
    pub repetitions: usize,
    pub throughput_rps: Spread,
    pub p50_us: Spread,
    pub p99_us: Spread,
    pub p999_us: Spread,
    pub server_rss_mib: Option<Spread>,
    /// See [`Record::server_rss_over_data_bytes`]. Absent in results saved before it existed.
    #[serde(default)]
    pub server_rss_over_data_mib: Option<Spread>,
    pub server_threads: Option<Spread>,
    pub server_cpu_us_per_request: Option<Spread>,
    pub client_cpu_us_per_request: Spread,
    pub errors: u64,
    pub notes: Vec<String>,
}

/// Groups records by cell and summarises each, in a stable order (server order as first seen).
pub fn summarize(records: &[Record]) -> Vec<Summary> {
    let mut order: Vec<String> = Vec::new();
    let mut cells: BTreeMap<(usize, String, usize, usize), Vec<&Record>> = BTreeMap::new();
    for r in records {
        if !order.contains(&r.server) {
            order.push(r.server.clone());
        }
        let s = order.iter().position(|s| *s == r.server).unwrap_or(0);
        cells.entry((s, r.workload.clone(), r.pipeline, r.connections)).or_default().push(r);
    }
    let opt =
        |v: Vec<Option<f64>>| -> Option<Spread> { v.into_iter().collect::<Option<Vec<f64>>>().and_then(Spread::of) };
    cells
        .into_iter()
        .map(|((s, workload, pipeline, connections), rs)| {
            let mut notes: Vec<String> = rs.iter().filter_map(|r| r.note.clone()).collect();
            notes.dedup();
            Summary {
                server: order[s].clone(),
                workload,
                pipeline,
                connections,
                repetitions: rs.len(),
                throughput_rps: Spread::of(rs.iter().map(|r| r.throughput_rps).collect()).unwrap_or_default(),
                p50_us: Spread::of(rs.iter().map(|r| r.latency_us.p50).collect()).unwrap_or_default(),
                p99_us: Spread::of(rs.iter().map(|r| r.latency_us.p99).collect()).unwrap_or_default(),
                p999_us: Spread::of(rs.iter().map(|r| r.latency_us.p999).collect()).unwrap_or_default(),
                server_rss_mib: opt(rs.iter().map(|r| r.server_rss_bytes.map(|b| b as f64 / 1048576.0)).collect()),
                server_rss_over_data_mib: opt(rs
                    .iter()
                    .map(|r| r.server_rss_over_data_bytes.map(|b| b as f64 / 1048576.0))
                    .collect()),
                server_threads: opt(rs.iter().map(|r| r.server_threads.map(|t| t as f64)).collect()),
                server_cpu_us_per_request: opt(rs.iter().map(|r| r.server_cpu_us_per_request).collect()),
                client_cpu_us_per_request: Spread::of(rs.iter().map(|r| r.client_cpu_us_per_request).collect())
                    .unwrap_or_default(),
                errors: rs.iter().map(|r| r.errors).sum(),
                notes,
            }
        })
        .collect()
}

/// Microseconds as a short human figure: `87us`, `1.25ms`, `3.1s`.
pub fn human_us(v: f64) -> String {
    if v < 1000.0 {
        format!("{v:.0}us")
    } else if v < 1_000_000.0 {
        format!("{:.2}ms", v / 1000.0)
    } else {
        format!("{:.1}s", v / 1_000_000.0)
    }
}

fn opt_fmt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map(f).unwrap_or_else(|| "-".into())
}

/// A plain table of single runs, one line per record.
pub fn table(records: &[Record]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<8} {:>6} {:<8} {:>3} {:>11} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>9} {:>9}",
        "server",
        "conns",
        "workload",
        "P",
        "req/s",
        "p50",
        "p90",
        "p99",
        "p99.9",
        "max",
        "RSS MiB",
        "threads",
        "srv us/rq",
        "cli us/rq"
    );
    for r in records {
        let l = &r.latency_us;
        let _ = writeln!(
            out,
            "{:<8} {:>6} {:<8} {:>3} {:>11.0} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>9} {:>9.2}",
            r.server,
            r.connections_reached,
            r.workload,
            r.pipeline,
            r.throughput_rps,
            human_us(l.p50),
            human_us(l.p90),
            human_us(l.p99),
            human_us(l.p999),
            human_us(l.max),
            opt_fmt(r.server_rss_bytes.map(|b| b as f64 / 1048576.0), |v| format!("{v:.1}")),
            opt_fmt(r.server_threads.map(|t| t as f64), |v| format!("{v:.0}")),
            opt_fmt(r.server_cpu_us_per_request, |v| format!("{v:.2}")),
            r.client_cpu_us_per_request,
        );
        if r.errors > 0 {
            let _ = writeln!(out, "         ^ {} error replies or lost requests", r.errors);
        }
        if let Some(lag) = r.schedule_lag_p99_us {
            let _ = writeln!(
                out,
                "         ^ open loop at {:.0} req/s; schedule lag p99 {}",
                r.rate.unwrap_or(0.0),
                human_us(lag)
            );
        }
        if let Some(note) = &r.note {
            let _ = writeln!(out, "         ^ {note}");
        }
    }
    out
}

/// The comparison as a Markdown table: medians, with [min-max] over the repetitions.
pub fn summary_markdown(summaries: &[Summary]) -> String {
    let mut out = String::new();
    out.push_str(
        "| workload | P | conns | server | req/s median [min-max] | p50 | p99 median [min-max] | p99.9 | RSS MiB | RSS over data MiB | threads | server CPU us/req | client CPU us/req |\n",
    );
    out.push_str("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut sorted: Vec<&Summary> = summaries.iter().collect();
    sorted.sort_by(|a, b| (&a.workload, a.pipeline, a.connections).cmp(&(&b.workload, b.pipeline, b.connections)));
    for s in sorted {
        let k = |v: f64| format!("{:.0}k", v / 1000.0);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} [{}-{}] | {} | {} [{}-{}] | {} | {} | {} | {} | {} | {:.2} |{}",
            s.workload,
            s.pipeline,
            s.connections,
            s.server,
            k(s.throughput_rps.median),
            k(s.throughput_rps.min),
            k(s.throughput_rps.max),
            human_us(s.p50_us.median),
            human_us(s.p99_us.median),
            human_us(s.p99_us.min),
            human_us(s.p99_us.max),
            human_us(s.p999_us.median),
            opt_fmt(s.server_rss_mib.map(|v| v.median), |v| format!("{v:.1}")),
            opt_fmt(s.server_rss_over_data_mib.map(|v| v.median), |v| format!("{v:.1}")),
            opt_fmt(s.server_threads.map(|v| v.median), |v| format!("{v:.0}")),
            opt_fmt(s.server_cpu_us_per_request.map(|v| v.median), |v| format!("{v:.2}")),
            s.client_cpu_us_per_request.median,
            if s.notes.is_empty() && s.errors == 0 {
                String::new()
            } else {
                format!(" {} errors; {}", s.errors, s.notes.join("; "))
            }
        );
    }
    out
}

/// Writes `value` as pretty JSON.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    std::fs::write(path, text + "\n")
}

/// One line of a chart: a server's points (connections, value).
pub struct Line {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// One chart panel.
pub struct Panel {
    pub title: String,
    pub y_label: String,
    pub lines: Vec<Line>,
    /// Logarithmic y axis (latency spans decades).
    pub log_y: bool,
}

/// Colours per line, in order: distinguishable in print and for the common colour-vision deficiencies.
const PALETTE: [RGBColor; 4] =
    [RGBColor(0, 114, 178), RGBColor(213, 94, 0), RGBColor(0, 158, 115), RGBColor(204, 121, 167)];

/// Draws panels side by side against connection count (log x axis) into an SVG file.
pub fn write_svg(path: &Path, title: &str, panels: &[Panel]) -> io::Result<()> {
    let err = |e: Box<dyn std::error::Error + 'static>| io::Error::other(e.to_string());
    let width = 420 * panels.len().max(1) as u32;
    let root = SVGBackend::new(path, (width, 380)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(Box::new(e)))?;
    let root = root.titled(title, ("sans-serif", 18)).map_err(|e| err(Box::new(e)))?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (panel, area) in panels.iter().zip(areas.iter()) {
        let xs = panel.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
        let ys = panel.lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
        let x_max = xs.fold(1.0f64, f64::max) * 1.5;
        let y_max = ys.clone().fold(0.0f64, f64::max).max(1e-3) * 1.15;
        let y_min = ys.fold(f64::INFINITY, f64::min);
        let mut builder = ChartBuilder::on(area);
        builder.caption(&panel.title, ("sans-serif", 15)).margin(12).x_label_area_size(36).y_label_area_size(56);
        if panel.log_y {
            let lo = if y_min.is_finite() && y_min > 0.0 { y_min / 1.5 } else { 1e-3 };
            let mut chart = builder
                .build_cartesian_2d((0.7f64..x_max).log_scale(), (lo..y_max * 1.5).log_scale())
                .map_err(|e| err(Box::new(e)))?;
            draw_lines(&mut chart, panel).map_err(err)?;
        } else {
            let mut chart =
                builder.build_cartesian_2d((0.7f64..x_max).log_scale(), 0.0..y_max).map_err(|e| err(Box::new(e)))?;
            draw_lines(&mut chart, panel).map_err(err)?;
        }
    }
    root.present().map_err(|e| err(Box::new(e)))?;
    Ok(())
}

/// Mesh, lines with markers, and legend of one panel, whatever the y axis type.
fn draw_lines<'a, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<LogCoord<f64>, Y>>,
    panel: &Panel,
) -> Result<(), Box<dyn std::error::Error>>
where
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc("connections")
        .y_desc(&panel.y_label)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| {
            if *v == 0.0 || *v >= 10.0 {
                format!("{v:.0}")
            } else if *v >= 1.0 {
                format!("{v:.1}")
            } else {
                format!("{v:.2}")
            }
        })
        .draw()?;
    for (i, line) in panel.lines.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(line.points.iter().copied(), c.stroke_width(2)))?
            .label(line.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
        chart.draw_series(line.points.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// The standard three panels (throughput, p99, server RSS) of one workload from summaries, one line per server.
pub fn panels_for(summaries: &[&Summary]) -> Vec<Panel> {
    let mut servers: Vec<String> = Vec::new();
    for s in summaries {
        if !servers.contains(&s.server) {
            servers.push(s.server.clone());
        }
    }
    let line = |f: &dyn Fn(&Summary) -> Option<f64>| -> Vec<Line> {
        servers
            .iter()
            .map(|name| {
                let mut points: Vec<(f64, f64)> = summaries
                    .iter()
                    .filter(|s| &s.server == name)
                    .filter_map(|s| f(s).map(|v| (s.connections as f64, v)))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Line { label: name.clone(), points }
            })
            .collect()
    };
    vec![
        Panel {
            title: "throughput (median)".into(),
            y_label: "k requests/s".into(),
            lines: line(&|s| Some(s.throughput_rps.median / 1000.0)),
            log_y: false,
        },
        Panel {
            title: "p99 latency (median)".into(),
            y_label: "ms".into(),
            lines: line(&|s| Some(s.p99_us.median / 1000.0)),
            log_y: true,
        },
        Panel {
            title: "server RSS (median)".into(),
            y_label: "MiB".into(),
            lines: line(&|s| s.server_rss_mib.map(|v| v.median)),
            log_y: false,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_takes_the_median_of_odd_and_even_counts() {
        let s = Spread::of(vec![3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(Spread::of(vec![4.0, 1.0]).unwrap().median, 2.5);
        assert!(Spread::of(vec![]).is_none());
    }

    #[test]
    fn svg_has_one_line_per_server() {
        let dir = std::env::temp_dir().join(format!("plexus-svg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("chart.svg");
        let lines = |k: f64| {
            vec![
                Line { label: "reactor".into(), points: vec![(1.0, 10.0 * k), (50.0, 40.0 * k)] },
                Line { label: "threads".into(), points: vec![(1.0, 9.0 * k), (50.0, 20.0 * k)] },
            ]
        };
        let panels = vec![
            Panel { title: "t".into(), y_label: "y".into(), lines: lines(1.0), log_y: false },
            Panel { title: "p".into(), y_label: "ms".into(), lines: lines(0.01), log_y: true },
        ];
        write_svg(&path, "get P=1", &panels).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("reactor") && svg.contains("threads"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
