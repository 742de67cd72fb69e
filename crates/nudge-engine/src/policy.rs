//! The policies every candidate trigger passes, in order: consent and suppression, frequency
//! cap, channel, offer, quiet hours, holdout. (Exit criteria come first, in the detectors: a
//! purchase or an emptied cart closes the episode before a candidate exists.)

use chrono::{Duration, NaiveTime, TimeZone as _, Timelike};
use chrono_tz::Tz;
use nudge_events::{
    Action, Arm, Channel, Obstacle, Offer, Output, SuppressReason, Trigger, TriggerContext,
    TriggerType, Ts,
};

use crate::config::{EngineConfig, QuietHours, UnknownConsent};
use crate::ids;
use crate::state::{CustomerState, OpenAttribution};

/// A trigger a detector wants to fire, before the policies have had their say.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub kind: TriggerType,
    pub due: Ts,
    /// When the episode opened: with customer and type, it makes the trigger id.
    pub episode: Ts,
    pub obstacle: Option<Obstacle>,
}

/// Runs the policies and records the contact; returns the trigger or the suppressed candidate.
pub(crate) fn decide(
    cfg: &EngineConfig,
    key: &str,
    st: &mut CustomerState,
    c: &Candidate,
) -> Output {
    let p = &cfg.policy;
    let mut trigger = Trigger {
        trigger_id: ids::trigger_id(key, c.kind, c.episode),
        customer_id: key.to_owned(),
        kind: c.kind,
        arm: None,
        due_at: c.due,
        channel: None,
        action: base_action(c.kind),
        offer: None,
        send_after: None,
        obstacle: c.obstacle,
        stage: st.stage,
        reason: None,
        context: context(key, st),
    };
    let channels = match reachable_channels(cfg, st) {
        Ok(channels) => channels,
        Err(reason) => return suppressed(trigger, reason),
    };
    let cap = &p.frequency_cap;
    let window_start = c.due.millis() - cap.per.millis();
    st.contact.recent.retain(|t| t.millis() > window_start);
    if cap.max > 0 && st.contact.recent.len() >= cap.max as usize {
        return suppressed(trigger, SuppressReason::FrequencyCap);
    }
    trigger.channel = Some(choose_channel(st, &channels));
    if discount_allowed(cfg, st, c) {
        trigger.offer = Some(Offer {
            kind: "discount".to_owned(),
            percent: p.discount.percent,
        });
        trigger.action = Action::DiscountPrompt;
        st.contact.last_discount = Some(c.due);
    }
    trigger.send_after = Some(send_after(&p.quiet_hours, st, c.due));
    let arm = if ids::in_holdout(key, c.kind, p.holdout_percent) {
        Arm::Holdout
    } else {
        Arm::Treatment
    };
    trigger.arm = Some(arm);
    // Both arms count toward caps, cooldowns and attribution, so they see the same eligibility.
    st.contact.recent.push(c.due);
    let window = p.attribution_window.millis();
    st.attributions.retain(|a| a.due_at.plus(window) >= c.due);
    st.attributions.push(OpenAttribution {
        trigger_id: trigger.trigger_id.clone(),
        kind: c.kind,
        arm,
        due_at: c.due,
    });
    Output::Trigger(trigger)
}

fn suppressed(mut trigger: Trigger, reason: SuppressReason) -> Output {
    trigger.reason = Some(reason);
    Output::Suppressed(trigger)
}

fn base_action(kind: TriggerType) -> Action {
    match kind {
        TriggerType::CartAbandoned => Action::CartReminder,
        TriggerType::CheckoutAbandoned => Action::CheckoutReminder,
        TriggerType::FeedbackRequest => Action::FeedbackRequest,
        TriggerType::BrowseAbandoned => Action::BrowseReminder,
        TriggerType::ReEngagement => Action::ReEngagementPrompt,
    }
}

fn context(key: &str, st: &CustomerState) -> TriggerContext {
    let profile = st.profile.as_ref();
    TriggerContext {
        cart_items: st.cart.lines.clone(),
        cart_value: st.cart.value(),
        session_id: st.last_session_start.map(|t| ids::session_id(key, t)),
        last_page: (!st.last_page.is_empty()).then(|| st.last_page.to_string()),
        checkout_step: st.checkout.as_ref().and_then(|c| c.step),
        segment: profile.and_then(|p| p.segment.as_deref().map(str::to_owned)),
        lifetime_value: profile.and_then(|p| p.lifetime_value),
        device: st.last_device,
    }
}

/// The channels the customer consented to and can be reached on, in no particular order.
fn reachable_channels(
    cfg: &EngineConfig,
    st: &CustomerState,
) -> Result<Vec<Channel>, SuppressReason> {
    let eng = &st.email;
    if eng.complained {
        return Err(SuppressReason::Complaint);
    }
    let email_ok = !eng.unsubscribed && !eng.bounced;
    let channels: Vec<Channel> = match &st.profile {
        None if cfg.policy.unknown_consent == UnknownConsent::Suppress => {
            return Err(SuppressReason::UnknownConsent)
        }
        None => [(Channel::Email, email_ok)]
            .into_iter()
            .filter_map(|(c, ok)| ok.then_some(c))
            .collect(),
        Some(p) => [
            (Channel::Email, p.consent.email && email_ok),
            (Channel::Sms, p.consent.sms),
            (Channel::Push, p.consent.push),
        ]
        .into_iter()
        .filter_map(|(c, ok)| ok.then_some(c))
        .collect(),
    };
    if !channels.is_empty() {
        return Ok(channels);
    }
    Err(if eng.unsubscribed {
        SuppressReason::Unsubscribed
    } else if eng.bounced {
        SuppressReason::Bounced
    } else {
        SuppressReason::NoConsent
    })
}

/// Preferred channel first; customers mostly seen on phones get push or sms before email.
fn choose_channel(st: &CustomerState, channels: &[Channel]) -> Channel {
    let preferred = st
        .profile
        .as_ref()
        .and_then(|p| p.preferred_channel.as_deref())
        .and_then(Channel::parse);
    let mobile_heavy = st.sessions > 0 && st.mobile_sessions * 2 > st.sessions;
    let order = if mobile_heavy {
        [Channel::Push, Channel::Sms, Channel::Email]
    } else {
        [Channel::Email, Channel::Push, Channel::Sms]
    };
    preferred
        .into_iter()
        .chain(order)
        .find(|c| channels.contains(c))
        .unwrap_or(channels[0])
}

/// Discounts go with cart and checkout reminders only, to repeat customers or large carts,
/// and not again within the cooldown. Feedback requests never carry one.
fn discount_allowed(cfg: &EngineConfig, st: &CustomerState, c: &Candidate) -> bool {
    let d = &cfg.policy.discount;
    let eligible_type = matches!(
        c.kind,
        TriggerType::CartAbandoned | TriggerType::CheckoutAbandoned
    );
    let orders = st
        .profile
        .as_ref()
        .and_then(|p| p.orders_count)
        .unwrap_or(0)
        .max(st.purchases);
    let cooled_down = st
        .contact
        .last_discount
        .is_none_or(|t| c.due.millis() - t.millis() >= d.cooldown.millis());
    eligible_type
        && d.percent > 0
        && (orders >= d.min_orders || st.cart.value() >= d.min_cart_value)
        && cooled_down
}

/// The due time, or the end of quiet hours in the customer's time zone if it falls inside them.
fn send_after(q: &QuietHours, st: &CustomerState, due: Ts) -> Ts {
    if !q.enabled || q.start == q.end {
        return due;
    }
    let tz: Tz = st
        .profile
        .as_ref()
        .and_then(|p| p.timezone.as_deref())
        .and_then(|name| name.parse().ok())
        .unwrap_or(q.default_timezone.0);
    let Some(utc) = due.to_datetime() else {
        return due;
    };
    let local = utc.with_timezone(&tz);
    let minute = (local.hour() * 60 + local.minute()) as u16;
    let (start, end) = (q.start.0, q.end.0);
    let quiet = if start < end {
        (start..end).contains(&minute)
    } else {
        minute >= start || minute < end
    };
    if !quiet {
        return due;
    }
    let end_time = NaiveTime::from_hms_opt(u32::from(end / 60), u32::from(end % 60), 0)
        .unwrap_or(NaiveTime::MIN);
    let mut date = local.date_naive();
    if minute >= end {
        date += Duration::days(1);
    }
    // A quiet-hours end inside a DST gap moves to the first valid instant after it.
    let naive = date.and_time(end_time);
    let resolved = tz.from_local_datetime(&naive).earliest().or_else(|| {
        tz.from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()
    });
    resolved.map_or(due, |t| Ts(t.timestamp_millis()))
}
