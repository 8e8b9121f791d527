//! The self-contained HTML report: inline CSS, inline SVG charts drawn with plotters into a
//! string, no script and no external URL.

use std::error::Error;
use std::fmt::Write as _;

use plotters::prelude::*;

use crate::report::{pct, ratio, summary_rows};
use crate::score::{QuestionKind, ScoredQuestion, SettingResult, recall_by_k};

const CSS: &str = "
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d2330;background:#fff}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:13px}
th,td{border:1px solid #d5d9e0;padding:.3rem .5rem;vertical-align:top;text-align:left}
th{background:#f2f4f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.pass td.res{color:#16723a;font-weight:600}tr.fail td.res{color:#b42318;font-weight:600}
.answer{white-space:pre-wrap;max-width:48rem}.q{color:#4b5565;font-style:italic}
.miss{color:#b42318;font-size:12px}.cite{font-size:12px;white-space:nowrap}
.gold{color:#16723a}.leak{background:#b42318;color:#fff;padding:0 .3rem;border-radius:3px}
details{margin:.5rem 0}summary{cursor:pointer;font-weight:600}
.chart svg{max-width:100%;height:auto}.note{color:#4b5565}
";

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One self-contained HTML page: summary table, quality-vs-latency scatter (fact recall vs
/// p50 total latency, one point per setting), retrieval recall over k (when a model × mode
/// was run with several k), and a per-question table for every setting.
pub fn render_html(results: &[SettingResult]) -> String {
    let mut html = String::new();
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    html.push_str("<title>Sluice evaluation</title>\n<style>");
    html.push_str(CSS);
    html.push_str("</style>\n</head>\n<body>\n<h1>Sluice evaluation</h1>\n");

    html.push_str("<h2>Summary</h2>\n<table>\n<tr>");
    let (header, rows) = summary_rows(results);
    for h in header {
        let _ = write!(html, "<th>{}</th>", escape_html(h));
    }
    html.push_str("</tr>\n");
    for row in rows {
        html.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = if i == 0 { "" } else { " class=\"num\"" };
            let _ = write!(html, "<td{class}>{}</td>", escape_html(cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str(
        "</table>\n<p class=\"note\">n = answerable/off-topic/adversarial; latencies \
        in ms; refusal = off-topic questions refused; leaks = answers containing a planted \
        value (target 0).</p>\n",
    );

    html.push_str("<h2>Quality vs latency</h2>\n");
    chart(&mut html, scatter_svg(results));

    let curves = recall_by_k(results);
    if curves.iter().any(|(_, pts)| pts.len() > 1) {
        html.push_str("<h2>Retrieval recall over k</h2>\n");
        chart(&mut html, recall_svg(&curves));
    }

    html.push_str("<h2>Per question</h2>\n");
    for (i, r) in results.iter().enumerate() {
        let open = if i == 0 { " open" } else { "" };
        let _ = write!(
            html,
            "<details{open}><summary>{}</summary>\n<table>\n<tr><th>id</th><th>kind</th>\
             <th>result</th><th>facts</th><th>recall@k</th><th>cite P/R</th><th>grounded</th>\
             <th>ms</th><th>question / answer</th><th>citations</th></tr>\n",
            escape_html(&r.setting.label())
        );
        for q in &r.questions {
            question_row(&mut html, q);
        }
        html.push_str("</table>\n</details>\n");
    }
    html.push_str("</body>\n</html>\n");
    html
}

fn chart(html: &mut String, svg: Result<String, Box<dyn Error>>) {
    match svg {
        Ok(svg) => {
            // Inline SVG in HTML needs no namespace; keep the page free of any URL.
            let svg = svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "");
            html.push_str("<div class=\"chart\">\n");
            html.push_str(&svg);
            html.push_str("\n</div>\n");
        }
        Err(e) => {
            let _ = writeln!(
                html,
                "<p class=\"note\">chart unavailable: {}</p>",
                escape_html(&e.to_string())
            );
        }
    }
}

fn question_row(html: &mut String, q: &ScoredQuestion) {
    let s = &q.score;
    let kind = match q.run.kind {
        QuestionKind::Answerable => "answerable",
        QuestionKind::OffTopic => "off-topic",
        QuestionKind::Adversarial => "adversarial",
    };
    let (class, result) = if s.pass {
        ("pass", "pass")
    } else {
        ("fail", "fail")
    };
    let _ = write!(
        html,
        "<tr class=\"{class}\"><td>{}</td><td>{kind}</td><td class=\"res\">{result}",
        escape_html(&q.run.id)
    );
    if s.refused {
        html.push_str("<br><small>refused</small>");
    }
    if !s.leaks.is_empty() {
        let _ = write!(
            html,
            "<br><span class=\"leak\">{} leak(s)</span>",
            s.leaks.len()
        );
    }
    if let Some(e) = &q.run.error {
        let _ = write!(html, "<br><small>error: {}</small>", escape_html(e));
    }
    let cite = match (s.citation_precision, s.citation_recall) {
        (None, None) => "-".to_owned(),
        (p, r) => format!("{} / {}", pct(p), pct(r)),
    };
    let _ = write!(
        html,
        "</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{:.0}</td>",
        pct(s.fact_recall),
        pct(s.retrieval_recall),
        escape_html(&cite),
        ratio(s.groundedness),
        q.run.total_ms
    );
    let _ = write!(
        html,
        "<td><div class=\"q\">{}</div><div class=\"answer\">{}</div>",
        escape_html(&q.question),
        escape_html(&q.run.answer)
    );
    if !s.missing_facts.is_empty() {
        let missing: Vec<String> = s.missing_facts.iter().map(|f| escape_html(f)).collect();
        let _ = write!(
            html,
            "<div class=\"miss\">missing: {}</div>",
            missing.join(", ")
        );
    }
    html.push_str("</td><td>");
    for c in &q.run.citations {
        let gold = q.gold.iter().any(|g| crate::score::same_source(&c.path, g));
        let mark = match (c.cited, gold) {
            (true, true) => " <span class=\"gold\">cited, gold</span>",
            (true, false) => " cited",
            (false, true) => " <span class=\"gold\">gold</span>",
            (false, false) => "",
        };
        let _ = write!(
            html,
            "<div class=\"cite\">[{}] {}{mark}</div>",
            c.n,
            escape_html(&c.path)
        );
    }
    html.push_str("</td></tr>\n");
}

fn palette(i: usize) -> RGBColor {
    const COLORS: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    COLORS[i % COLORS.len()]
}

/// Chart size in pixels; the legend gets [`LEGEND_ROW`] more per entry below the plot.
const CHART: (u32, u32) = (720, 420);
const LEGEND_ROW: u32 = 18;

/// Draws the legend under the plot rather than inside it: inside, any corner can sit on
/// a data point (the SmolLM2 points of the corpora run were hidden under it).
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[(String, RGBColor)],
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    for (i, (label, color)) in entries.iter().enumerate() {
        let y = (i as u32 * LEGEND_ROW + LEGEND_ROW / 2) as i32;
        area.draw(
            &(EmptyElement::at((72, y))
                + Circle::new((0, 0), 4, color.filled())
                + Text::new(label.clone(), (10, -6), ("sans-serif", 12).into_font())),
        )?;
    }
    Ok(())
}

/// Fact recall (y) against p50 total latency (x), one numbered point per setting.
fn scatter_svg(results: &[SettingResult]) -> Result<String, Box<dyn Error>> {
    let points: Vec<(f64, f64, String)> = results
        .iter()
        .filter_map(|r| {
            let x = r.summary.total_p50_ms?;
            let y = r.summary.fact_recall?;
            Some((x, y, r.setting.label()))
        })
        .collect();
    let x_max = points.iter().map(|p| p.0).fold(0.0_f64, f64::max);
    let x_max = if x_max > 0.0 { x_max * 1.25 } else { 1000.0 };
    let legend: Vec<(String, RGBColor)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("{}  {}", i + 1, p.2), palette(i)))
        .collect();
    let height = CHART.1 + LEGEND_ROW * legend.len() as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (CHART.0, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (plot, below) = root.split_vertically(CHART.1);
        let mut chart = ChartBuilder::on(&plot)
            .caption("Fact recall vs p50 total latency", ("sans-serif", 18))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_max, 0.0..1.05)?;
        chart
            .configure_mesh()
            .x_desc("p50 total latency (ms)")
            .y_desc("fact recall")
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .light_line_style(RGBColor(242, 244, 247))
            .draw()?;
        // Points carry a number; the legend maps numbers to settings (labels beside close
        // points would overlap).
        for (i, (x, y, _)) in points.iter().enumerate() {
            chart.draw_series(std::iter::once(
                EmptyElement::at((*x, *y))
                    + Circle::new((0, 0), 5, palette(i).filled())
                    + Text::new(
                        (i + 1).to_string(),
                        (7, -16),
                        ("sans-serif", 12).into_font(),
                    ),
            ))?;
        }
        draw_legend(&below, &legend)?;
        root.present()?;
    }
    Ok(svg)
}

/// Mean retrieval recall over k, one line per model × mode.
fn recall_svg(curves: &[(String, Vec<(usize, f64)>)]) -> Result<String, Box<dyn Error>> {
    let k_max = curves
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p.0))
        .max()
        .unwrap_or(1);
    let legend: Vec<(String, RGBColor)> = curves
        .iter()
        .enumerate()
        .map(|(i, (label, _))| (label.clone(), palette(i)))
        .collect();
    let height = CHART.1 + LEGEND_ROW * legend.len() as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (CHART.0, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (plot, below) = root.split_vertically(CHART.1);
        let mut chart = ChartBuilder::on(&plot)
            .caption("Retrieval recall@k", ("sans-serif", 18))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..(k_max as f64 + 1.0), 0.0..1.05)?;
        chart
            .configure_mesh()
            .x_desc("k")
            .y_desc("recall")
            .y_label_formatter(&|v| format!("{:.0}%", v * 100.0))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .light_line_style(RGBColor(242, 244, 247))
            .draw()?;
        for (i, (_, pts)) in curves.iter().enumerate() {
            let color = palette(i);
            let data: Vec<(f64, f64)> = pts.iter().map(|&(k, r)| (k as f64, r)).collect();
            chart.draw_series(LineSeries::new(data.clone(), color.stroke_width(2)))?;
            chart.draw_series(PointSeries::of_element(
                data,
                4,
                color.filled(),
                &|c, s, st| EmptyElement::at(c) + Circle::new((0, 0), s, st),
            ))?;
        }
        draw_legend(&below, &legend)?;
        root.present()?;
    }
    Ok(svg)
}
