//! The page's sections: funnel, sessions, triggers, uplift, and where the figures come from.

use crate::figure::Fig;
use crate::html::{kpi_cells, row, table, KPI_HEAD};
use crate::model::{EstimateStatus, FunnelRow, NameCount, Report};
use crate::svg::{self, Bar, IntervalRow};

pub(crate) fn funnel(out: &mut String, r: &Report) {
    out.push_str(
        "<section id=\"funnel\"><h2>Journey funnel</h2><h3>By journey stage</h3>\
         <p class=\"note\">Customers by the furthest journey stage they had reached when the \
         input ended: awareness (seen), consideration (viewed or searched products), decision \
         (a cart or a checkout), retention (bought, or a CRM profile with orders), advocacy \
         (three orders or more, or a gold or platinum tier). Stages only move forward; a stage \
         is reached by the customers at it or beyond it.</p>",
    );
    match &r.funnel.stages {
        Some(rows) => funnel_rows(out, "/funnel/stages", rows, "now at this stage"),
        None => out.push_str(&format!(
            "<p>Journey stages: {}, they need the input records.</p>",
            Fig::text("/funnel/stages".into(), None).span()
        )),
    }
    out.push_str(
        "<h3>By funnel step</h3><p class=\"note\">Closed sessions by the furthest step they \
         reached: a visit, a product view, an add to cart, a started checkout, the payment step \
         (payment or review), a purchase.</p>",
    );
    funnel_rows(out, "/funnel/steps", &r.funnel.steps, "went no further");
    let e = &r.funnel.exit_pages;
    out.push_str(&format!(
        "<h3>Top exit pages</h3><p class=\"note\">The last page of the {} closed sessions that \
         ended without a purchase, most frequent first.</p>",
        Fig::count("/funnel/exit_pages/sessions".into(), e.sessions).span()
    ));
    let rows: Vec<String> = (e.top.iter().enumerate())
        .map(|(i, p)| {
            let at = format!("/funnel/exit_pages/top/{i}");
            row(&[
                Fig::text(format!("{at}/path"), p.path.as_deref()).td(),
                Fig::count(format!("{at}/sessions"), p.sessions).td(),
                Fig::pct(format!("{at}/share"), p.share).td(),
            ])
        })
        .collect();
    table(out, &["exit page", "sessions", "share"], &rows);
    out.push_str("</section>");
}

fn funnel_rows(out: &mut String, at: &str, rows: &[FunnelRow], stopped_head: &str) {
    let p = |i: usize, field: &str| format!("{at}/{i}/{field}");
    let bars: Vec<Bar> = (rows.iter().enumerate())
        .map(|(i, f)| Bar {
            label: Fig::label(p(i, "name"), &f.name),
            segments: vec![(f.reached as f64, "main")],
            figs: vec![
                Fig::count(p(i, "reached"), f.reached),
                Fig::pct(p(i, "share_of_first"), f.share_of_first),
            ],
        })
        .collect();
    out.push_str(&svg::bars("Funnel: reached per row", &bars, &[]));
    let cells: Vec<String> = (rows.iter().enumerate())
        .map(|(i, f)| {
            row(&[
                Fig::label(p(i, "name"), &f.name).td(),
                Fig::count(p(i, "reached"), f.reached).td(),
                Fig::pct(p(i, "share_of_first"), f.share_of_first).td(),
                Fig::pct(p(i, "drop_off"), f.drop_off).td(),
                Fig::count(p(i, "stopped_here"), f.stopped_here).td(),
            ])
        })
        .collect();
    let head = [
        "",
        "reached",
        "of the first row",
        "drop-off from the row above",
        stopped_head,
    ];
    table(out, &head, &cells);
}

pub(crate) fn sessions(out: &mut String, r: &Report) {
    let s = &r.sessions;
    out.push_str(&format!(
        "<section id=\"sessions\"><h2>Sessions</h2><p class=\"note\">Closed sessions: a session \
         closes after the session timeout without a click, or at its maximum length. Sessions \
         still open when the input ended ({}) are not counted. Bounce: a single click. \
         Duration: first to last click; medians are of whole seconds.</p>",
        Fig::opt_count(
            "/provenance/open_sessions_at_end".into(),
            r.provenance.open_sessions_at_end
        )
        .span()
    ));
    let mut rows = vec![row(&[
        vec!["<td class=\"name\">all sessions</td>".to_owned()],
        kpi_cells("/sessions/overall", &s.overall),
    ]
    .concat())];
    for (title, key, groups) in [
        ("by device", "by_device", &s.by_device),
        ("by CRM segment", "by_segment", &s.by_segment),
    ] {
        rows.push(format!(
            "<tr class=\"group\"><td colspan=\"11\">{title}</td></tr>"
        ));
        for (i, g) in groups.iter().enumerate() {
            let at = format!("/sessions/{key}/{i}");
            let name = Fig::text(format!("{at}/name"), Some(&g.name)).td();
            rows.push(row(&[
                vec![name],
                kpi_cells(&format!("{at}/kpis"), &g.kpis),
            ]
            .concat()));
        }
    }
    let head: Vec<&str> = std::iter::once("").chain(KPI_HEAD).collect();
    table(out, &head, &rows);
    out.push_str("</section>");
}

pub(crate) fn triggers(out: &mut String, r: &Report) {
    let t = &r.triggers;
    out.push_str(&format!(
        "<section id=\"triggers\"><h2>Triggers</h2><p class=\"note\">{} triggers emitted \
         (treatment: sent; holdout: recorded, not sent, to measure uplift) and {} candidates \
         suppressed by a policy.</p>",
        Fig::count("/triggers/emitted".into(), t.emitted).span(),
        Fig::count("/triggers/suppressed".into(), t.suppressed).span()
    ));
    let p = |i: usize, field: &str| format!("/triggers/by_type/{i}/{field}");
    let bars: Vec<Bar> = (t.by_type.iter().enumerate())
        .map(|(i, c)| Bar {
            label: Fig::label(p(i, "type"), &c.kind),
            segments: vec![
                (c.treatment as f64, "treatment"),
                (c.holdout as f64, "holdout"),
                (c.suppressed as f64, "suppressed"),
            ],
            figs: vec![
                Fig::count(p(i, "treatment"), c.treatment),
                Fig::count(p(i, "holdout"), c.holdout),
                Fig::count(p(i, "suppressed"), c.suppressed),
            ],
        })
        .collect();
    let legend = [
        ("treatment", "treatment"),
        ("holdout", "holdout"),
        ("suppressed", "suppressed"),
    ];
    out.push_str(&svg::bars("Triggers by type and arm", &bars, &legend));
    let rows: Vec<String> = bars
        .into_iter()
        .map(|b| row(&[vec![b.label.td()], b.figs.iter().map(Fig::td).collect()].concat()))
        .collect();
    table(out, &["type", "treatment", "holdout", "suppressed"], &rows);
    out.push_str("<h3>By channel</h3>");
    let rows: Vec<String> = (t.by_channel.iter().enumerate())
        .map(|(i, c)| {
            let at = format!("/triggers/by_channel/{i}");
            row(&[
                Fig::text(format!("{at}/channel"), Some(&c.channel)).td(),
                Fig::count(format!("{at}/treatment"), c.treatment).td(),
                Fig::count(format!("{at}/holdout"), c.holdout).td(),
            ])
        })
        .collect();
    table(out, &["channel", "treatment", "holdout"], &rows);
    out.push_str("<h3>Suppressed, by reason</h3>");
    name_counts(
        out,
        "/triggers/suppressed_by_reason",
        &t.suppressed_by_reason,
        ["reason", "candidates"],
    );
    out.push_str("</section>");
}

pub(crate) fn effect(out: &mut String, r: &Report) {
    let e = &r.effect;
    out.push_str(&format!(
        "<section id=\"effect\"><h2>Do the triggers earn their keep?</h2><p class=\"note\">Per \
         trigger type, the customers who got at least one trigger of the type, by arm: treatment \
         (sent) against holdout (recorded, not sent). A customer converted when a purchase was \
         attributed to such a trigger within the attribution window after its due time. Uplift \
         is the treatment conversion rate minus the holdout one, with a {} confidence interval: \
         {}. An arm with fewer than {} customers gives no estimate. Time to conversion runs from \
         the earliest trigger of the type still in its window to the purchase.</p>",
        Fig::pct("/effect/confidence".into(), Some(e.confidence)).span(),
        Fig::text("/effect/method".into(), Some(&e.method)).span(),
        Fig::count(
            "/effect/min_customers_per_arm".into(),
            e.min_customers_per_arm
        )
        .span()
    ));
    let p = |i: usize, field: &str| format!("/effect/by_type/{i}/{field}");
    let rows: Vec<IntervalRow> = (e.by_type.iter().enumerate())
        .map(|(i, t)| IntervalRow {
            label: Fig::label(p(i, "type"), &t.kind),
            interval: t.uplift.as_ref().map(|u| (u.difference, u.low, u.high)),
            figs: match &t.uplift {
                Some(u) => vec![
                    Fig::pp(p(i, "uplift/difference"), Some(u.difference)),
                    Fig::pp(p(i, "uplift/low"), Some(u.low)),
                    Fig::pp(p(i, "uplift/high"), Some(u.high)),
                ],
                None => vec![Fig::label(p(i, "status"), status_name(t.status))],
            },
        })
        .collect();
    out.push_str(&svg::intervals("Uplift per trigger type", &rows));
    let rows: Vec<String> = (e.by_type.iter().enumerate())
        .map(|(i, t)| {
            let uplift = match &t.uplift {
                Some(u) => format!(
                    "<td>{}</td><td>{} to {}</td>",
                    Fig::pp(p(i, "uplift/difference"), Some(u.difference)).span(),
                    Fig::pp(p(i, "uplift/low"), Some(u.low)).span(),
                    Fig::pp(p(i, "uplift/high"), Some(u.high)).span()
                ),
                None => Fig::text(p(i, "uplift"), None).td() + "<td></td>",
            };
            let rpc = t.revenue_per_customer_difference;
            row(&[
                Fig::label(p(i, "type"), &t.kind).td(),
                Fig::label(p(i, "status"), status_name(t.status)).td(),
                uplift,
                Fig::num(p(i, "revenue_per_customer_difference"), rpc).td(),
            ])
        })
        .collect();
    let head = [
        "type",
        "estimate",
        "uplift",
        "interval",
        "revenue per customer, difference",
    ];
    table(out, &head, &rows);
    out.push_str("<h3>By arm</h3>");
    let mut rows = Vec::new();
    for (i, t) in e.by_type.iter().enumerate() {
        for (arm, a) in [("treatment", &t.treatment), ("holdout", &t.holdout)] {
            let q = |field: &str| p(i, &format!("{arm}/{field}"));
            let mut c = Vec::new();
            if arm == "treatment" {
                let kind = Fig::label(p(i, "type"), &t.kind);
                c.push(format!(
                    "<td rowspan=\"2\" {}>{}</td>",
                    kind.attrs(),
                    kind.html_text()
                ));
            }
            c.extend([
                format!("<td class=\"name\">{arm}</td>"),
                Fig::count(q("triggers"), a.triggers).td(),
                Fig::count(q("customers"), a.customers).td(),
                Fig::count(q("converted"), a.converted).td(),
                Fig::pct(q("conversion_rate"), a.conversion_rate).td(),
                Fig::count(q("purchases"), a.purchases).td(),
                Fig::num(q("revenue"), Some(a.revenue)).td(),
                Fig::num(q("revenue_per_customer"), a.revenue_per_customer).td(),
                Fig::dur(q("mean_time_to_conversion_s"), a.mean_time_to_conversion_s).td(),
                Fig::dur(
                    q("median_time_to_conversion_s"),
                    a.median_time_to_conversion_s,
                )
                .td(),
            ]);
            rows.push(row(&c));
        }
    }
    let head = [
        "type",
        "arm",
        "triggers",
        "customers",
        "converted",
        "conversion rate",
        "purchases",
        "revenue",
        "revenue per customer",
        "mean time to conversion",
        "median time to conversion",
    ];
    table(out, &head, &rows);
    out.push_str("</section>");
}

pub(crate) fn provenance(out: &mut String, r: &Report) {
    let p = &r.provenance;
    out.push_str("<section id=\"provenance\"><h2>Where these figures come from</h2>");
    out.push_str("<h3>Input records</h3>");
    match &p.input {
        Some(i) => {
            out.push_str(&format!(
                "<p>{} valid records, {} of them of a type this version does not know (counted, \
                 skipped), from {} customers or anonymous visitors.</p>",
                Fig::count("/provenance/input/records".into(), i.records).span(),
                Fig::count("/provenance/input/unknown_type".into(), i.unknown_type).span(),
                Fig::count("/provenance/input/customers".into(), i.customers).span()
            ));
            let at = "/provenance/input/by_source";
            name_counts(out, at, &i.by_source, ["input topic", "valid records"]);
        }
        None => out.push_str(&format!(
            "<p>Input records: {}.</p>",
            Fig::text("/provenance/input".into(), None).span()
        )),
    }
    out.push_str("<h3>Outputs</h3>");
    name_counts(out, "/provenance/outputs", &p.outputs, ["topic", "records"]);
    let d = &p.dead_letters;
    out.push_str(&format!(
        "<h3>Dead letters</h3><p>{} malformed input lines went to the dead-letter topic.</p>",
        Fig::count("/provenance/dead_letters/total".into(), d.total).span()
    ));
    let at = "/provenance/dead_letters";
    name_counts(
        out,
        &format!("{at}/by_source"),
        &d.by_source,
        ["input", "lines"],
    );
    name_counts(
        out,
        &format!("{at}/by_reason"),
        &d.by_reason,
        ["reason", "lines"],
    );
    out.push_str(&format!(
        "<p>Sessions still open when the input ended: {}.</p>",
        Fig::opt_count(
            "/provenance/open_sessions_at_end".into(),
            p.open_sessions_at_end
        )
        .span()
    ));
    if !p.unknown.is_empty() {
        out.push_str("<h3>Not known</h3><ul>");
        for (i, u) in p.unknown.iter().enumerate() {
            out.push_str(&Fig::text(format!("/provenance/unknown/{i}"), Some(u)).el("li"));
        }
        out.push_str("</ul>");
    }
    out.push_str(
        "<h3>Configuration</h3><p class=\"note\">The engine configuration of the run, \
         defaults written out.</p>",
    );
    let config = Fig::text("/provenance/config_toml".into(), p.config_toml.as_deref());
    out.push_str(&config.el("pre"));
    out.push_str("</section>");
}

fn name_counts(out: &mut String, at: &str, items: &[NameCount], head: [&str; 2]) {
    let rows: Vec<String> = (items.iter().enumerate())
        .map(|(i, n)| {
            row(&[
                Fig::text(format!("{at}/{i}/name"), Some(&n.name)).td(),
                Fig::count(format!("{at}/{i}/count"), n.count).td(),
            ])
        })
        .collect();
    table(out, &head, &rows);
}

fn status_name(s: EstimateStatus) -> &'static str {
    match s {
        EstimateStatus::Estimated => "estimated",
        EstimateStatus::NoTriggers => "no_triggers",
        EstimateStatus::HoldoutTooSmall => "holdout_too_small",
        EstimateStatus::TreatmentTooSmall => "treatment_too_small",
    }
}
