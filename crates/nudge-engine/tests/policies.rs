mod common;

use common::*;
use nudge_engine::config::UnknownConsent;
use nudge_engine::EngineConfig;
use nudge_events::ClickType::{AddToCart, PageView, Purchase};
use nudge_events::*;

/// Adds to cart at `when` and lets the cart trigger fire.
fn abandon(run: &mut Run, customer: &str, when: Ts, value: f64) {
    run.feed([click(customer, AddToCart, when).sku("1", value, 1).ev()]);
    run.advance(Ts(when.0 + HOUR + 1));
}

fn profile_with(f: impl FnOnce(&mut Profile)) -> Profile {
    let mut p = base_profile();
    f(&mut p);
    p
}

#[test]
fn customers_without_profile_are_suppressed_by_default_and_emailed_when_allowed() {
    let mut run = Run::new(plain_config());
    abandon(&mut run, "c", at("10:00"), 10.0);
    let s = run.suppressed();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].reason, Some(SuppressReason::UnknownConsent));
    assert_eq!(s[0].arm, None);
    assert!(run.triggers().is_empty());

    let mut cfg = plain_config();
    cfg.policy.unknown_consent = UnknownConsent::Allow;
    let mut run = Run::new(cfg);
    abandon(&mut run, "c", at("10:00"), 10.0);
    assert_eq!(run.triggers()[0].channel, Some(Channel::Email));
}

#[test]
fn unsubscribe_bounce_and_complaint_suppress() {
    let cases = [
        (EmailType::Unsubscribe, SuppressReason::Unsubscribed),
        (EmailType::Bounce, SuppressReason::Bounced),
        (EmailType::Complaint, SuppressReason::Complaint),
    ];
    for (signal, reason) in cases {
        let mut run = Run::new(plain_config());
        run.feed([
            crm("c", at("09:00"), base_profile()),
            email("c", signal, at("09:30")),
        ]);
        abandon(&mut run, "c", at("10:00"), 10.0);
        assert!(run.triggers().is_empty(), "{signal:?}");
        assert_eq!(run.suppressed()[0].reason, Some(reason), "{signal:?}");
    }
}

#[test]
fn unsubscribed_customers_are_still_reached_on_other_consented_channels() {
    let mut run = Run::new(plain_config());
    let p = profile_with(|p| p.consent.sms = true);
    run.feed([
        crm("c", at("09:00"), p),
        email("c", EmailType::Unsubscribe, at("09:30")),
    ]);
    abandon(&mut run, "c", at("10:00"), 10.0);
    assert_eq!(run.triggers()[0].channel, Some(Channel::Sms));
}

#[test]
fn complaint_blocks_every_channel() {
    let mut run = Run::new(plain_config());
    let p = profile_with(|p| {
        p.consent.sms = true;
        p.consent.push = true;
    });
    run.feed([
        crm("c", at("09:00"), p),
        email("c", EmailType::Complaint, at("09:30")),
    ]);
    abandon(&mut run, "c", at("10:00"), 10.0);
    assert_eq!(run.suppressed()[0].reason, Some(SuppressReason::Complaint));
}

#[test]
fn profile_without_any_consent_is_suppressed() {
    let mut run = Run::new(plain_config());
    run.feed([crm(
        "c",
        at("09:00"),
        profile_with(|p| p.consent.email = false),
    )]);
    abandon(&mut run, "c", at("10:00"), 10.0);
    assert_eq!(run.suppressed()[0].reason, Some(SuppressReason::NoConsent));
}

#[test]
fn a_later_profile_consenting_to_email_resubscribes() {
    let mut run = Run::new(plain_config());
    run.feed([
        crm("c", at("09:00"), base_profile()),
        email("c", EmailType::Unsubscribe, at("09:10")),
        crm("c", at("09:20"), base_profile()),
    ]);
    abandon(&mut run, "c", at("10:00"), 10.0);
    assert_eq!(run.triggers().len(), 1);
}

#[test]
fn frequency_cap_counts_triggers_in_the_window() {
    let mut run = Run::new(plain_config());
    run.feed([crm("c", at("00:00"), base_profile())]);
    abandon(&mut run, "c", at("01:00"), 1.0);
    abandon(&mut run, "c", at("04:00"), 1.0);
    abandon(&mut run, "c", at("07:00"), 1.0);
    assert_eq!(run.triggers().len(), 2);
    assert_eq!(
        run.suppressed()[0].reason,
        Some(SuppressReason::FrequencyCap)
    );
    // 24h after the first trigger (02:00) the window has room again.
    abandon(&mut run, "c", Ts(DAY0 + DAY + HOUR + 1), 1.0);
    assert_eq!(run.triggers().len(), 3);
}

#[test]
fn frequency_cap_of_zero_is_off() {
    let mut cfg = plain_config();
    cfg.policy.frequency_cap.max = 0;
    let mut run = Run::new(cfg);
    run.feed([crm("c", at("00:00"), base_profile())]);
    for h in 0..5 {
        abandon(&mut run, "c", Ts(DAY0 + h * 2 * HOUR), 1.0);
    }
    assert_eq!(run.triggers().len(), 5);
    assert!(run.suppressed().is_empty());
}

#[test]
fn preferred_channel_wins_and_mobile_customers_get_push_first() {
    let mut run = Run::new(plain_config());
    let all = |p: &mut Profile| {
        p.consent.sms = true;
        p.consent.push = true;
    };
    run.feed([
        crm(
            "pref",
            at("09:00"),
            profile_with(|p| {
                all(p);
                p.preferred_channel = Some("sms".into());
            }),
        ),
        crm("mobile", at("09:00"), profile_with(all)),
        crm("desk", at("09:00"), profile_with(all)),
        click("mobile", PageView, at("09:30"))
            .device(Device::Mobile)
            .ev(),
        click("desk", PageView, at("09:30"))
            .device(Device::Desktop)
            .ev(),
    ]);
    for c in ["pref", "mobile", "desk"] {
        run.feed([click(c, AddToCart, at("10:00")).sku("1", 1.0, 1).ev()]);
    }
    run.advance(at("12:00"));
    let channel = |c: &str| {
        run.triggers()
            .iter()
            .find(|t| t.customer_id == c)
            .unwrap()
            .channel
    };
    assert_eq!(channel("pref"), Some(Channel::Sms));
    assert_eq!(channel("mobile"), Some(Channel::Push));
    assert_eq!(channel("desk"), Some(Channel::Email));
}

#[test]
fn discount_for_repeat_customers_or_big_carts_with_cooldown() {
    let mut run = Run::new(plain_config());
    run.feed([
        crm(
            "repeat",
            at("00:00"),
            profile_with(|p| p.orders_count = Some(1)),
        ),
        crm("big", at("00:00"), base_profile()),
        crm("small", at("00:00"), base_profile()),
    ]);
    abandon(&mut run, "repeat", at("01:00"), 20.0);
    abandon(&mut run, "big", at("01:00"), 100.0);
    abandon(&mut run, "small", at("01:00"), 99.0);
    let offer = |run: &Run, c: &str| {
        let t = run
            .triggers()
            .into_iter()
            .rev()
            .find(|t| t.customer_id == c)
            .unwrap()
            .clone();
        (t.offer.map(|o| o.percent), t.action)
    };
    assert_eq!(offer(&run, "repeat"), (Some(10), Action::DiscountPrompt));
    assert_eq!(offer(&run, "big"), (Some(10), Action::DiscountPrompt));
    assert_eq!(offer(&run, "small"), (None, Action::CartReminder));
    // A second abandonment a few days later: still inside the 30-day cooldown.
    abandon(&mut run, "big", Ts(DAY0 + 5 * DAY), 150.0);
    assert_eq!(offer(&run, "big"), (None, Action::CartReminder));
    abandon(&mut run, "big", Ts(DAY0 + 32 * DAY), 150.0);
    assert_eq!(offer(&run, "big"), (Some(10), Action::DiscountPrompt));
}

fn quiet_config() -> EngineConfig {
    let mut cfg = plain_config();
    cfg.policy.quiet_hours.enabled = true;
    cfg
}

#[test]
fn quiet_hours_delay_in_the_customers_time_zone() {
    let mut run = Run::new(quiet_config());
    let berlin = profile_with(|p| p.timezone = Some("Europe/Berlin".into()));
    run.feed([
        crm("b", at("09:00"), berlin),
        crm("u", at("09:00"), base_profile()),
    ]);
    // Due 20:30 UTC: 21:30 in Berlin (quiet until 08:00 Berlin = 07:00 UTC), 20:30 in UTC.
    abandon(&mut run, "b", at("19:30"), 1.0);
    abandon(&mut run, "u", at("19:30"), 1.0);
    let t = run.triggers();
    let b = t.iter().find(|t| t.customer_id == "b").unwrap();
    let u = t.iter().find(|t| t.customer_id == "u").unwrap();
    assert_eq!(b.due_at, at("20:30"));
    assert_eq!(b.send_after, Some(Ts(at("07:00").0 + DAY)));
    assert_eq!(u.send_after, Some(at("20:30")));
}

#[test]
fn quiet_hours_after_midnight_end_the_same_morning() {
    let mut run = Run::new(quiet_config());
    run.feed([crm("u", at("00:00"), base_profile())]);
    abandon(&mut run, "u", at("01:00"), 1.0); // due 02:00 UTC
    assert_eq!(run.triggers()[0].send_after, Some(at("08:00")));
}

#[test]
fn holdout_triggers_are_recorded_and_count_toward_caps() {
    let mut cfg = plain_config();
    cfg.policy.holdout_percent = 100;
    cfg.policy.frequency_cap.max = 1;
    let mut run = Run::new(cfg);
    run.feed([crm("c", at("00:00"), base_profile())]);
    abandon(&mut run, "c", at("01:00"), 1.0);
    abandon(&mut run, "c", at("04:00"), 1.0);
    assert_eq!(run.triggers()[0].arm, Some(Arm::Holdout));
    assert_eq!(
        run.suppressed()[0].reason,
        Some(SuppressReason::FrequencyCap)
    );
}

#[test]
fn holdout_assignment_is_stable_per_customer_and_type() {
    let mut cfg = plain_config();
    cfg.policy.holdout_percent = 50;
    cfg.policy.frequency_cap.max = 0;
    let mut run = Run::new(cfg);
    let customers: Vec<String> = (0..200).map(|i| format!("c{i}")).collect();
    for c in &customers {
        run.feed([crm(c, at("00:00"), base_profile())]);
    }
    for day in 0..3 {
        for c in &customers {
            run.feed([click(c, AddToCart, Ts(DAY0 + day * DAY + HOUR))
                .sku("1", 1.0, 1)
                .ev()]);
        }
        run.advance(Ts(DAY0 + day * DAY + 3 * HOUR));
    }
    for c in &customers {
        let arms: Vec<_> = run
            .triggers()
            .iter()
            .filter(|t| &t.customer_id == c)
            .map(|t| t.arm)
            .collect();
        assert_eq!(arms.len(), 3);
        assert!(arms.iter().all(|a| *a == arms[0]), "{c}: {arms:?}");
    }
    let held = run
        .triggers()
        .iter()
        .filter(|t| t.arm == Some(Arm::Holdout))
        .count()
        / 3;
    assert!((60..140).contains(&held), "{held} of 200 in a 50% holdout");
}

#[test]
fn purchases_inside_the_attribution_window_are_attributed_once() {
    let mut run = Run::new(plain_config());
    run.feed([crm("c", at("00:00"), base_profile())]);
    abandon(&mut run, "c", at("01:00"), 10.0); // due 02:00
    run.feed([click("c", Purchase, Ts(at("02:00").0 + 72 * HOUR))
        .revenue(12.5)
        .ev()]);
    run.feed([click("c", Purchase, Ts(at("02:00").0 + 73 * HOUR))
        .revenue(7.0)
        .ev()]);
    let o = run.outcomes();
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].revenue, 12.5);
    assert_eq!(o[0].seconds_to_conversion, 72.0 * 3600.0);
    assert_eq!(o[0].arm, Arm::Treatment);
    assert_eq!(o[0].kind, TriggerType::CartAbandoned);
}

#[test]
fn purchases_after_the_window_are_not_attributed() {
    let mut run = Run::new(plain_config());
    run.feed([crm("c", at("00:00"), base_profile())]);
    abandon(&mut run, "c", at("01:00"), 10.0);
    run.feed([click("c", Purchase, Ts(at("02:00").0 + 72 * HOUR + 1))
        .revenue(12.5)
        .ev()]);
    assert!(run.outcomes().is_empty());
    assert!(
        run.engine.state("c").unwrap().attributions.is_empty(),
        "expired windows are dropped"
    );
}
