//! The page's frame: HTML escaping, the inline stylesheet (light on screen, and a print sheet that keeps every
//! chart and table row whole on a page), tables built from cells, and the `<!doctype html>` wrapper. Every value
//! that comes from a report passes through [`esc`]; only markup this module or its siblings build goes in raw.

use std::fmt::Write as _;

/// Text made safe for HTML element content and double- or single-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

/// One table cell.
pub enum Cell {
    /// Text, escaped when drawn.
    Text(String),
    /// A right-aligned number (already formatted).
    Num(String),
    /// Markup built by this module's siblings from escaped parts.
    Html(String),
}

/// A `<table>` with a header row; `row_attrs` gives each row's attributes (already escaped), e.g. a class.
pub fn table(headers: &[&str], rows: &[(String, Vec<Cell>)]) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in headers {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>\n");
    for (attrs, cells) in rows {
        let _ = write!(s, "<tr{attrs}>");
        for cell in cells {
            match cell {
                Cell::Text(t) => {
                    let _ = write!(s, "<td>{}</td>", esc(t));
                }
                Cell::Num(t) => {
                    let _ = write!(s, "<td class=\"n\">{}</td>", esc(t));
                }
                Cell::Html(h) => {
                    let _ = write!(s, "<td>{h}</td>");
                }
            }
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table>\n");
    s
}

/// Microseconds as milliseconds with three decimals (the `.hgrm` files' precision).
pub fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

/// A section: `<section id=…><h2>…</h2>` + body.
pub fn section(id: &str, title: &str, body: &str) -> String {
    format!(
        "<section id=\"{}\"><h2>{}</h2>\n{body}</section>\n",
        esc(id),
        esc(title)
    )
}

/// A paragraph of escaped text with a class (e.g. `note`).
pub fn para(class: &str, text: &str) -> String {
    format!("<p class=\"{}\">{}</p>\n", esc(class), esc(text))
}

/// The whole document around `body`.
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"tokenstorm\">\
         <title>{}</title>\n<style>{CSS}</style></head>\n<body>\n{body}</body></html>\n",
        esc(title)
    )
}

/// Screen: a light, 1200 px column (fits a 1280 px window); print: no backgrounds, charts and rows unbroken.
const CSS: &str = "
:root{color-scheme:light}
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328;background:#fff;
 max-width:1200px;margin:0 auto;padding:16px 24px}
h1{font-size:22px;margin:8px 0}
h2{font-size:18px;border-bottom:1px solid #d0d7de;padding-bottom:4px;margin:28px 0 8px}
h3{font-size:15px;margin:16px 0 4px}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
ul.evidence{margin:2px 0;padding-left:18px;font-family:ui-monospace,monospace;font-size:12px}
.status{display:inline-block;font-weight:700;text-transform:uppercase;font-size:12px;padding:0 6px;
 border:1.5px solid;border-radius:3px}
.pass{color:#1a7f37}.fail{color:#cf222e}.skipped,.info{color:#57606a}.inconclusive{color:#9a6700}
.overall{font-size:16px;margin:6px 0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
.note{color:#57606a;font-style:italic}
figure.chart{margin:12px 0}
figure.chart>svg{width:100%;height:auto;font-size:12px;font-family:inherit}
figure.chart text{fill:#1f2328}
figure.chart line.grid{stroke:#d0d7de;stroke-width:0.6}
ul.legend{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:4px 18px;font-size:12px}
ul.legend svg.swatch{margin-right:5px;vertical-align:middle}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:8px;font-size:12px;white-space:pre-wrap;
 overflow-wrap:anywhere}
@media print{
 body{max-width:none;padding:0;font-size:11px}
 th,pre{background:none}
 h2,h3{break-after:avoid;page-break-after:avoid}
 figure.chart,tr,dl.facts{break-inside:avoid;page-break-inside:avoid}
 pre{white-space:pre-wrap}
}
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')&\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&amp;&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn tables_escape_text_cells_but_not_markup() {
        let t = table(
            &["a<b"],
            &[(
                String::new(),
                vec![Cell::Text("<i>".into()), Cell::Html("<b>x</b>".into())],
            )],
        );
        assert!(t.contains("<th>a&lt;b</th>") && t.contains("<td>&lt;i&gt;</td>"));
        assert!(t.contains("<td><b>x</b></td>"));
    }
}
