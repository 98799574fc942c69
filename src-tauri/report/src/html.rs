//! The report as one self-contained HTML page: the tables, and the charts inline as SVG (no script, no
//! external file), printable from any browser.

use crate::tables::{self, Cell};
use crate::words;
use crate::words::Words as _;
use crate::Report;

pub fn render(report: &Report) -> String {
    let (title, lines) = tables::heading(report);
    let lang = report.language;
    let mut out = String::new();
    out.push_str(&format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
         <style>body{{font-family:{};margin:2em}}table{{border-collapse:collapse;margin-bottom:.5em}}\
         td,th{{border:1px solid #999;padding:2px 8px}}td.n{{text-align:right}}p.note{{color:#a00}}\
         svg{{max-width:100%;height:auto}}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape(&title),
        lang.font_family(),
        escape(&title)
    ));
    for line in lines {
        out.push_str(&format!("<p>{}</p>\n", escape(&line)));
    }
    for table in tables::tables(report) {
        out.push_str(&format!("<h2>{}</h2>\n", escape(&table.title)));
        if !table.rows.is_empty() {
            out.push_str("<table>\n<tr>");
            for h in &table.header {
                out.push_str(&format!("<th>{}</th>", escape(h)));
            }
            out.push_str("</tr>\n");
            for row in &table.rows {
                out.push_str("<tr>");
                for cell in row {
                    let class = if matches!(cell, Cell::Number(..)) {
                        " class=\"n\""
                    } else {
                        ""
                    };
                    out.push_str(&format!("<td{class}>{}</td>", escape(cell.text())));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>\n");
        }
        for note in &table.notes {
            out.push_str(&format!("<p class=\"note\">{}</p>\n", escape(note)));
        }
    }
    if !report.charts.is_empty() {
        out.push_str(&format!("<h2>{}</h2>\n", escape(lang.pick(&words::TRENDS))));
        for chart in &report.charts {
            out.push_str("<figure>\n");
            out.push_str(strip_prolog(&chart.svg));
            out.push_str("\n</figure>\n");
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The `<svg>` element without an XML declaration before it (not allowed inside HTML).
pub fn strip_prolog(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |i| &svg[i..])
}

/// Text for HTML and SVG: the five characters with a meaning escaped.
pub fn escape(text: &str) -> String {
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
