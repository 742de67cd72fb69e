//! [`Collector`]: fed a replay's records one at a time, in replay order, it keeps running
//! tallies and per-customer maps only (no list of records), then builds the [`Report`].
//!
//! Sums are accumulated in record order, never by iterating a hash map, so the same records
//! give the same report to the last bit.

use std::collections::{BTreeMap, HashMap, HashSet};

use nudge_events::{
    Arm, Channel, Event, Outcome, Output, Source, Stage, SuppressReason, Trigger, TriggerType, Ts,
    DLQ_TOPIC,
};

use crate::model::*;
use crate::stats::{newcombe, ratio, Durations, METHOD, Z_95};
use crate::tally::{funnel_rows, SessionTally};

/// An arm with fewer customers than this gives no uplift estimate: below it the interval is
/// too wide to act on.
pub const MIN_CUSTOMERS_PER_ARM: u64 = 10;

const CHANNELS: [Channel; 3] = [Channel::Email, Channel::Sms, Channel::Push];
const REASONS: [SuppressReason; 6] = [
    SuppressReason::Complaint,
    SuppressReason::Unsubscribed,
    SuppressReason::Bounced,
    SuppressReason::NoConsent,
    SuppressReason::UnknownConsent,
    SuppressReason::FrequencyCap,
];
/// Builds a [`Report`] from the records of one replay, handed over in replay order.
pub struct Collector {
    input: Option<InputTally>,
    dead: DeadTally,
    outputs: BTreeMap<&'static str, u64>,
    sessions: SessionTally,
    triggers: [[u64; 3]; 5],
    channels: [[u64; 2]; 3],
    reasons: [u64; 6],
    /// Per customer, per trigger type: the customer's arm and conversion.
    customers: HashMap<String, [Option<CustomerArm>; 5]>,
    arms: [[ArmTally; 2]; 5],
}

/// What the caller knows that the records do not say.
pub struct Context<'a> {
    /// The input directory or output file, as the user named it.
    pub source: String,
    pub config_toml: Option<String>,
    pub open_sessions_at_end: Option<u64>,
    /// A customer's journey stage at the end of the input (the engine's state knows it).
    pub stage_of: &'a dyn Fn(&str) -> Option<Stage>,
}

#[derive(Default)]
struct InputTally {
    by_source: [u64; 3],
    unknown_type: u64,
    first: Option<Ts>,
    last: Option<Ts>,
    customers: HashSet<String>,
}

#[derive(Default)]
struct DeadTally {
    total: u64,
    by_source: BTreeMap<String, u64>,
    by_reason: BTreeMap<String, u64>,
}

#[derive(Clone)]
struct CustomerArm {
    arm: Arm,
    converted: bool,
    /// The last purchase counted: one purchase gives an outcome per open trigger.
    last_purchase: Option<(Ts, Option<String>)>,
}

#[derive(Default)]
struct ArmTally {
    triggers: u64,
    customers: u64,
    converted: u64,
    purchases: u64,
    revenue: f64,
    to_conversion: Durations,
}

impl Collector {
    /// A collector for a report made `made_from` a replay of the input, or from its output.
    pub fn new(made_from: MadeFrom) -> Collector {
        Collector {
            input: (made_from == MadeFrom::Replay).then(InputTally::default),
            dead: DeadTally::default(),
            outputs: BTreeMap::new(),
            sessions: SessionTally::default(),
            triggers: [[0; 3]; 5],
            channels: [[0; 2]; 3],
            reasons: [0; 6],
            customers: HashMap::new(),
            arms: Default::default(),
        }
    }

    /// A valid input record, as the engine is about to apply it.
    pub fn input(&mut self, event: &Event) {
        let Some(t) = self.input.as_mut() else {
            return;
        };
        t.by_source[event.source() as usize] += 1;
        let ts = event.ts();
        t.first = Some(t.first.map_or(ts, |f| f.min(ts)));
        t.last = Some(t.last.map_or(ts, |l| l.max(ts)));
        if event.is_unknown_type() {
            t.unknown_type += 1;
        } else if !t.customers.contains(event.key()) {
            t.customers.insert(event.key().to_owned());
        }
    }

    /// A malformed input line: its source file's stem and the dead-letter reason.
    pub fn dead_letter(&mut self, source: &str, reason: &str) {
        *self.outputs.entry(DLQ_TOPIC).or_default() += 1;
        let d = &mut self.dead;
        d.total += 1;
        *d.by_source.entry(source.to_owned()).or_default() += 1;
        *d.by_reason.entry(reason.to_owned()).or_default() += 1;
    }

    /// An output record of the engine.
    pub fn output(&mut self, output: &Output) {
        *self.outputs.entry(output.topic()).or_default() += 1;
        match output {
            Output::Trigger(t) => self.trigger(t),
            Output::Suppressed(t) => {
                self.triggers[t.kind as usize][2] += 1;
                if let Some(r) = t.reason {
                    self.reasons[r as usize] += 1;
                }
            }
            Output::Session(s) => self.sessions.add(s),
            Output::Outcome(o) => self.outcome(o),
        }
    }

    fn trigger(&mut self, t: &Trigger) {
        let Some(arm) = t.arm else {
            return;
        };
        self.triggers[t.kind as usize][arm as usize] += 1;
        if let Some(c) = t.channel {
            self.channels[c as usize][arm as usize] += 1;
        }
        self.customer_arm(&t.customer_id, t.kind, arm);
        self.arms[t.kind as usize][arm as usize].triggers += 1;
    }

    fn outcome(&mut self, o: &Outcome) {
        let purchase = (o.converted_at, o.order_id.clone());
        let c = self.customer_arm(&o.customer_id, o.kind, o.arm);
        if c.last_purchase.as_ref() == Some(&purchase) {
            return;
        }
        c.last_purchase = Some(purchase);
        let first = !std::mem::replace(&mut c.converted, true);
        let tally = &mut self.arms[o.kind as usize][c.arm as usize];
        tally.converted += u64::from(first);
        tally.purchases += 1;
        tally.revenue += o.revenue;
        tally.to_conversion.add(o.seconds_to_conversion);
    }

    /// The customer's entry for `kind`, created in `arm` (and counted) on first sight.
    fn customer_arm(&mut self, customer: &str, kind: TriggerType, arm: Arm) -> &mut CustomerArm {
        if !self.customers.contains_key(customer) {
            self.customers
                .insert(customer.to_owned(), Default::default());
        }
        let slots = self
            .customers
            .get_mut(customer)
            .expect("inserted just above");
        let arms = &mut self.arms;
        slots[kind as usize].get_or_insert_with(|| {
            arms[kind as usize][arm as usize].customers += 1;
            CustomerArm {
                arm,
                converted: false,
                last_purchase: None,
            }
        })
    }

    /// The report.
    pub fn finish(self, ctx: &Context) -> Report {
        let stages = self.input.as_ref().map(|t| stage_rows(t, ctx.stage_of));
        let mut unknown = Vec::new();
        if self.input.is_none() {
            unknown.push(
                "Input record counts, the input's time span, customers and journey stages: \
                 a replay output file holds outputs and dead letters only."
                    .to_owned(),
            );
        }
        if ctx.open_sessions_at_end.is_none() {
            unknown.push("Sessions still open when the input ended.".to_owned());
        }
        if ctx.config_toml.is_none() {
            unknown.push("The configuration that produced the outputs.".to_owned());
        }
        Report {
            format_version: FORMAT_VERSION,
            provenance: Provenance {
                made_from: if self.input.is_some() {
                    MadeFrom::Replay
                } else {
                    MadeFrom::ReplayOutput
                },
                source: ctx.source.clone(),
                config_toml: ctx.config_toml.clone(),
                input: self.input.as_ref().map(InputTally::counts),
                outputs: named(self.outputs.iter().map(|(k, v)| (*k, *v))),
                dead_letters: DeadLetters {
                    total: self.dead.total,
                    by_source: named(self.dead.by_source.iter().map(|(k, v)| (k.as_str(), *v))),
                    by_reason: named(self.dead.by_reason.iter().map(|(k, v)| (k.as_str(), *v))),
                },
                open_sessions_at_end: ctx.open_sessions_at_end,
                unknown,
            },
            funnel: Funnel {
                stages,
                steps: self.sessions.steps(),
                exit_pages: self.sessions.exit_pages(),
            },
            sessions: self.sessions.kpis(),
            triggers: self.trigger_counts(),
            effect: Effect {
                method: METHOD.to_owned(),
                confidence: 0.95,
                min_customers_per_arm: MIN_CUSTOMERS_PER_ARM,
                by_type: TriggerType::ALL
                    .iter()
                    .zip(&self.arms)
                    .map(|(kind, [t, h])| type_effect(*kind, t, h))
                    .collect(),
            },
        }
    }

    fn trigger_counts(&self) -> Triggers {
        let total = |i: usize| self.triggers.iter().map(|t| t[i]).sum::<u64>();
        Triggers {
            emitted: total(0) + total(1),
            suppressed: total(2),
            by_type: TriggerType::ALL
                .iter()
                .zip(&self.triggers)
                .map(|(kind, [t, h, s])| TypeCounts {
                    kind: kind.name().to_owned(),
                    treatment: *t,
                    holdout: *h,
                    suppressed: *s,
                })
                .collect(),
            by_channel: CHANNELS
                .iter()
                .zip(&self.channels)
                .map(|(c, [t, h])| ChannelCounts {
                    channel: c.name().to_owned(),
                    treatment: *t,
                    holdout: *h,
                })
                .collect(),
            suppressed_by_reason: named(REASONS.iter().map(|r| r.name()).zip(self.reasons)),
        }
    }
}

impl InputTally {
    fn counts(&self) -> InputCounts {
        let sources = Source::ALL.iter().map(|s| s.name());
        InputCounts {
            records: self.by_source.iter().sum(),
            unknown_type: self.unknown_type,
            customers: self.customers.len() as u64,
            by_source: named(sources.zip(self.by_source)),
            span: self.first.zip(self.last).map(|(first, last)| Span {
                first,
                last,
                duration_s: (last.millis() - first.millis()) as f64 / 1000.0,
            }),
        }
    }
}

impl ArmTally {
    fn effect(&self) -> ArmEffect {
        ArmEffect {
            triggers: self.triggers,
            customers: self.customers,
            converted: self.converted,
            conversion_rate: ratio(self.converted as f64, self.customers),
            purchases: self.purchases,
            revenue: self.revenue,
            revenue_per_customer: ratio(self.revenue, self.customers),
            mean_time_to_conversion_s: self.to_conversion.mean(),
            median_time_to_conversion_s: self.to_conversion.median(),
        }
    }
}

fn type_effect(kind: TriggerType, t: &ArmTally, h: &ArmTally) -> TypeEffect {
    let (treatment, holdout) = (t.effect(), h.effect());
    let status = if t.customers == 0 && h.customers == 0 {
        EstimateStatus::NoTriggers
    } else if h.customers < MIN_CUSTOMERS_PER_ARM {
        EstimateStatus::HoldoutTooSmall
    } else if t.customers < MIN_CUSTOMERS_PER_ARM {
        EstimateStatus::TreatmentTooSmall
    } else {
        EstimateStatus::Estimated
    };
    let estimated = status == EstimateStatus::Estimated;
    TypeEffect {
        kind: kind.name().to_owned(),
        uplift: estimated
            .then(|| newcombe(t.converted, t.customers, h.converted, h.customers, Z_95)),
        revenue_per_customer_difference: treatment
            .revenue_per_customer
            .zip(holdout.revenue_per_customer)
            .filter(|_| estimated)
            .map(|(a, b)| a - b),
        treatment,
        holdout,
        status,
    }
}

fn stage_rows(t: &InputTally, stage_of: &dyn Fn(&str) -> Option<Stage>) -> Vec<FunnelRow> {
    let mut at = [0u64; 5];
    for customer in &t.customers {
        at[stage_of(customer).unwrap_or_default() as usize] += 1;
    }
    let names = Stage::ALL.map(Stage::name);
    funnel_rows(&names, &at)
}

fn named<'a>(items: impl Iterator<Item = (&'a str, u64)>) -> Vec<NameCount> {
    items
        .map(|(name, count)| NameCount {
            name: name.to_owned(),
            count,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use nudge_events::FunnelStep;

    use super::*;
    use crate::tally::STEPS;

    /// The tallies index arrays by discriminant and name them by these lists: they must agree.
    #[test]
    fn discriminants_follow_the_name_lists() {
        for (i, k) in TriggerType::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i);
        }
        for (i, c) in CHANNELS.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
        for (i, r) in REASONS.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        for (i, s) in Source::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
        }
        for (i, s) in Stage::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
        }
        assert_eq!((Arm::Treatment as usize, Arm::Holdout as usize), (0, 1));
        let steps = [
            FunnelStep::None,
            FunnelStep::ProductView,
            FunnelStep::AddToCart,
            FunnelStep::CheckoutStarted,
            FunnelStep::Payment,
            FunnelStep::Purchase,
        ];
        for (i, s) in steps.iter().enumerate() {
            assert_eq!(*s as usize, i);
            assert_eq!(s.name(), if i == 0 { "none" } else { STEPS[i] });
        }
    }
}
