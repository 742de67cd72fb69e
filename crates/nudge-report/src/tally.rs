//! The session side of the [`Collector`](crate::Collector): KPIs per group, funnel steps
//! and exit pages, and the funnel rows both funnels share.

use std::collections::{BTreeMap, HashMap};

use nudge_events::{Device, SessionSummary};

use crate::model::{ExitPage, ExitPages, FunnelRow, GroupKpis, Kpis, Sessions};
use crate::stats::{ratio, Durations};

/// Exit pages listed.
pub(crate) const TOP_EXIT_PAGES: usize = 10;

/// The funnel's rows, indexed like [`nudge_events::FunnelStep`]'s discriminants.
pub(crate) const STEPS: [&str; 6] = [
    "visit",
    "product_view",
    "add_to_cart",
    "checkout_started",
    "payment",
    "purchase",
];

#[derive(Default)]
pub(crate) struct SessionTally {
    overall: Group,
    by_device: BTreeMap<&'static str, Group>,
    by_segment: BTreeMap<String, Group>,
    /// Sessions by furthest step, indexed like [`STEPS`].
    stopped_at: [u64; 6],
    exits: HashMap<Option<String>, u64>,
    unconverted: u64,
}

#[derive(Default)]
struct Group {
    sessions: u64,
    bounces: u64,
    durations: Durations,
    page_views: u64,
    conversions: u64,
    revenue: f64,
}

impl SessionTally {
    /// Counts one closed session.
    pub fn add(&mut self, s: &SessionSummary) {
        self.overall.add(s);
        self.by_device
            .entry(device_name(s.device))
            .or_default()
            .add(s);
        let segment = s.segment.as_deref().unwrap_or("unknown");
        match self.by_segment.get_mut(segment) {
            Some(g) => g.add(s),
            None => {
                let mut g = Group::default();
                g.add(s);
                self.by_segment.insert(segment.to_owned(), g);
            }
        }
        self.stopped_at[s.furthest_step as usize] += 1;
        if !s.converted {
            self.unconverted += 1;
            *self.exits.entry(s.exit_path.clone()).or_default() += 1;
        }
    }

    /// Closed sessions by the furthest step they reached.
    pub fn steps(&self) -> Vec<FunnelRow> {
        funnel_rows(&STEPS, &self.stopped_at)
    }

    /// The most frequent last pages of sessions without a purchase.
    pub fn exit_pages(&self) -> ExitPages {
        let mut pages: Vec<(&Option<String>, u64)> =
            self.exits.iter().map(|(p, n)| (p, *n)).collect();
        pages.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        ExitPages {
            sessions: self.unconverted,
            top: pages
                .into_iter()
                .take(TOP_EXIT_PAGES)
                .map(|(path, sessions)| ExitPage {
                    path: path.clone(),
                    sessions,
                    share: ratio(sessions as f64, self.unconverted),
                })
                .collect(),
        }
    }

    /// The KPIs overall, by device and by segment.
    pub fn kpis(&self) -> Sessions {
        let groups = |m: &mut dyn Iterator<Item = (&str, &Group)>| {
            m.map(|(name, g)| GroupKpis {
                name: name.to_owned(),
                kpis: g.kpis(),
            })
            .collect()
        };
        Sessions {
            overall: self.overall.kpis(),
            by_device: groups(&mut self.by_device.iter().map(|(k, g)| (*k, g))),
            by_segment: groups(&mut self.by_segment.iter().map(|(k, g)| (k.as_str(), g))),
        }
    }
}

impl Group {
    fn add(&mut self, s: &SessionSummary) {
        self.sessions += 1;
        self.bounces += u64::from(s.bounce);
        self.durations.add(s.duration_s);
        self.page_views += u64::from(s.page_views);
        self.conversions += u64::from(s.converted);
        self.revenue += s.revenue;
    }

    fn kpis(&self) -> Kpis {
        Kpis {
            sessions: self.sessions,
            bounces: self.bounces,
            bounce_rate: ratio(self.bounces as f64, self.sessions),
            mean_duration_s: self.durations.mean(),
            median_duration_s: self.durations.median(),
            page_views: self.page_views,
            pages_per_session: ratio(self.page_views as f64, self.sessions),
            conversions: self.conversions,
            conversion_rate: ratio(self.conversions as f64, self.sessions),
            revenue: self.revenue,
        }
    }
}

/// Rows from the count that stopped at each row: a row is reached by those that stopped
/// there or further down.
pub(crate) fn funnel_rows(names: &[&str], stopped: &[u64]) -> Vec<FunnelRow> {
    let mut reached: Vec<u64> = stopped
        .iter()
        .rev()
        .scan(0, |sum, n| {
            *sum += n;
            Some(*sum)
        })
        .collect();
    reached.reverse();
    (0..names.len())
        .map(|i| FunnelRow {
            name: names[i].to_owned(),
            reached: reached[i],
            stopped_here: stopped[i],
            share_of_first: ratio(reached[i] as f64, reached[0]),
            drop_off: i
                .checked_sub(1)
                .and_then(|p| ratio(reached[i] as f64, reached[p]))
                .map(|kept| 1.0 - kept),
        })
        .collect()
}

fn device_name(device: Option<Device>) -> &'static str {
    match device {
        None => "unknown",
        Some(Device::Mobile) => "mobile",
        Some(Device::Desktop) => "desktop",
        Some(Device::Tablet) => "tablet",
        Some(Device::App) => "app",
        Some(Device::Other) => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn funnel_rows_accumulate_from_the_bottom() {
        let rows = funnel_rows(&["a", "b", "c"], &[2, 0, 2]);
        let reached: Vec<u64> = rows.iter().map(|r| r.reached).collect();
        assert_eq!(reached, [4, 2, 2]);
        assert_eq!(rows[0].drop_off, None);
        assert_eq!(rows[1].drop_off, Some(0.5));
        assert_eq!(rows[2].drop_off, Some(0.0));
        assert_eq!(rows[2].share_of_first, Some(0.5));
        assert_eq!(funnel_rows(&["a", "b"], &[0, 0])[1].drop_off, None);
    }
}
