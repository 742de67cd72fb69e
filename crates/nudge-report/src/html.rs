//! The page: one self-contained HTML document. No script, no font, no image file, no link
//! out; a Content-Security-Policy that refuses every network load; charts as inline SVG.
//! The fixed text holds no digit: every number comes from the [`Report`] through [`Fig`].

use crate::figure::{escape, Fig};
use crate::model::{Kpis, Report};
use crate::sections;

/// Forbids every fetch: no scripts, images, fonts, connections or frames; only the page's
/// own inline style is allowed.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

const STYLE: &str = "
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d2433;
  background: #f6f7fb; margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 24px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
section { background: #fff; border: 1px solid #dde1ea; border-radius: 8px; padding: 16px 20px;
  margin: 18px 0; }
h2 { margin: 0 0 8px; font-size: 20px; }
h3 { margin: 18px 0 6px; font-size: 16px; }
nav a { margin-right: 14px; color: #2456c9; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { flex: 1 1 130px; border: 1px solid #dde1ea; border-radius: 8px; padding: 10px 12px; }
.card .v { display: block; font-size: 22px; font-weight: 600; }
.card .k { color: #5b6478; font-size: 12px; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 13px; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e6e9f0; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f2f7; font-weight: 600; }
td.name, td[data-fmt=label], td[data-fmt=text] { text-align: left; }
td.name { white-space: nowrap; }
td[data-fmt=dur] { white-space: nowrap; }
tr.group td { background: #fafbfd; font-weight: 600; text-align: left; }
.note { color: #5b6478; }
.scroll { overflow-x: auto; }
pre { background: #f0f2f7; padding: 10px; border-radius: 6px; overflow-x: auto; }
svg.chart { display: block; margin: 8px 0; font-size: 12px; }
svg .label { fill: #1d2433; }
svg .axis { fill: #5b6478; }
.main { fill: #3a6fd8; } .treatment { fill: #3a6fd8; } .holdout { fill: #9db7ee; }
.suppressed { fill: #e0a458; }
.zero { stroke: #5b6478; stroke-dasharray: 3 3; } .ci { stroke: #1d2433; stroke-width: 2; }
.point { fill: #3a6fd8; }
";

/// Renders the report as one HTML page.
pub fn render(r: &Report) -> String {
    let mut out = String::with_capacity(64 << 10);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        escape(CONTENT_SECURITY_POLICY)
    ));
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    out.push_str("<title>Nudge journey report</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body><main>");
    header(&mut out, r);
    summary(&mut out, r);
    sections::funnel(&mut out, r);
    sections::sessions(&mut out, r);
    sections::triggers(&mut out, r);
    sections::effect(&mut out, r);
    sections::provenance(&mut out, r);
    out.push_str(&format!(
        "<footer class=\"note\">Nudge journey report, JSON format {}.</footer>",
        Fig::count("/format_version".into(), u64::from(r.format_version)).span()
    ));
    out.push_str("</main></body></html>\n");
    out
}

fn header(out: &mut String, r: &Report) {
    let p = &r.provenance;
    out.push_str("<header><h1>Nudge journey report</h1><p class=\"note\">Made from a ");
    out.push_str(&Fig::label("/provenance/made_from".into(), made_from(r)).span());
    out.push_str(" of ");
    out.push_str(&Fig::text("/provenance/source".into(), Some(&p.source)).el("code"));
    out.push_str(". Event time: ");
    match p.input.as_ref().map(|i| i.span.as_ref()) {
        Some(Some(s)) => {
            let first = s.first.to_string();
            let last = s.last.to_string();
            out.push_str(&format!(
                "{} to {} ({}).",
                Fig::text("/provenance/input/span/first".into(), Some(&first)).span(),
                Fig::text("/provenance/input/span/last".into(), Some(&last)).span(),
                Fig::dur(
                    "/provenance/input/span/duration_s".into(),
                    Some(s.duration_s)
                )
                .span(),
            ));
        }
        Some(None) => {
            out.push_str(&Fig::text("/provenance/input/span".into(), None).span());
            out.push_str(" (no input record).");
        }
        None => out.push_str("unknown (see where these figures come from)."),
    }
    out.push_str(
        "</p><nav><a href=\"#funnel\">Funnel</a><a href=\"#sessions\">Sessions</a>\
         <a href=\"#triggers\">Triggers</a><a href=\"#effect\">Uplift</a>\
         <a href=\"#provenance\">Where these figures come from</a></nav></header>",
    );
}

fn made_from(r: &Report) -> &'static str {
    match r.provenance.made_from {
        crate::model::MadeFrom::Replay => "replay",
        crate::model::MadeFrom::ReplayOutput => "replay_output",
    }
}

fn summary(out: &mut String, r: &Report) {
    let s = &r.sessions.overall;
    let customers = match &r.provenance.input {
        Some(i) => Fig::count("/provenance/input/customers".into(), i.customers),
        None => Fig::opt_count("/provenance/input".into(), None),
    };
    let cards = [
        (customers, "customers"),
        (
            Fig::count("/sessions/overall/sessions".into(), s.sessions),
            "sessions closed",
        ),
        (
            Fig::pct(
                "/sessions/overall/conversion_rate".into(),
                s.conversion_rate,
            ),
            "sessions with a purchase",
        ),
        (
            Fig::count("/triggers/emitted".into(), r.triggers.emitted),
            "triggers emitted",
        ),
        (
            Fig::count("/triggers/suppressed".into(), r.triggers.suppressed),
            "triggers suppressed",
        ),
        (
            Fig::count(
                "/provenance/dead_letters/total".into(),
                r.provenance.dead_letters.total,
            ),
            "dead letters",
        ),
    ];
    out.push_str("<section id=\"summary\"><div class=\"cards\">");
    for (fig, name) in cards {
        out.push_str(&format!(
            "<div class=\"card\"><span class=\"v\" {}>{}</span><span class=\"k\">{name}</span></div>",
            fig.attrs(),
            fig.html_text()
        ));
    }
    out.push_str("</div></section>");
}

/// A table: static headers, rows of ready cells.
pub(crate) fn table(out: &mut String, head: &[&str], rows: &[String]) {
    out.push_str("<div class=\"scroll\"><table><thead><tr>");
    for h in head {
        out.push_str(&format!("<th>{}</th>", escape(h)));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str(row);
    }
    out.push_str("</tbody></table></div>");
}

/// A table row of cells.
pub(crate) fn row(cells: &[String]) -> String {
    format!("<tr>{}</tr>", cells.concat())
}

/// The headers of a KPI row, after the group's name.
pub(crate) const KPI_HEAD: [&str; 10] = [
    "sessions",
    "bounces",
    "bounce rate",
    "mean duration",
    "median duration",
    "page views",
    "pages per session",
    "with a purchase",
    "conversion rate",
    "revenue",
];

/// The cells of a KPI row, for the KPIs at JSON pointer `at`.
pub(crate) fn kpi_cells(at: &str, k: &Kpis) -> Vec<String> {
    let p = |field: &str| format!("{at}/{field}");
    vec![
        Fig::count(p("sessions"), k.sessions).td(),
        Fig::count(p("bounces"), k.bounces).td(),
        Fig::pct(p("bounce_rate"), k.bounce_rate).td(),
        Fig::dur(p("mean_duration_s"), k.mean_duration_s).td(),
        Fig::dur(p("median_duration_s"), k.median_duration_s).td(),
        Fig::count(p("page_views"), k.page_views).td(),
        Fig::num(p("pages_per_session"), k.pages_per_session).td(),
        Fig::count(p("conversions"), k.conversions).td(),
        Fig::pct(p("conversion_rate"), k.conversion_rate).td(),
        Fig::num(p("revenue"), Some(k.revenue)).td(),
    ]
}
