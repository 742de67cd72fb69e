mod common;

use common::*;
use nudge_engine::EngineConfig;
use nudge_events::ClickType::{
    AddToCart, CheckoutStarted, PageView, PaymentError, ProductView, Purchase, RemoveFromCart,
    Unknown,
};
use nudge_events::*;

fn with_profile(customer: &str) -> Event {
    crm(customer, at("09:00"), base_profile())
}

fn cart_run(cfg: EngineConfig) -> Run {
    let mut run = Run::new(cfg);
    run.feed([
        with_profile("c"),
        click("c", AddToCart, at("10:00")).sku("1", 30.0, 1).ev(),
    ]);
    run
}

#[test]
fn cart_fires_after_the_delay_and_not_at_it() {
    let mut run = cart_run(plain_config());
    run.advance(at("11:00"));
    assert!(
        run.triggers().is_empty(),
        "due time equal to watermark must not fire"
    );
    run.advance(Ts(at("11:00").0 + 1));
    let t = run.triggers();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].kind, TriggerType::CartAbandoned);
    assert_eq!(t[0].due_at, at("11:00"));
    assert_eq!(t[0].arm, Some(Arm::Treatment));
    assert_eq!(t[0].channel, Some(Channel::Email));
    assert_eq!(t[0].action, Action::CartReminder);
    assert_eq!(t[0].context.cart_value, 30.0);
    assert_eq!(t[0].context.cart_items[0].sku, "1");
}

#[test]
fn purchase_at_the_due_time_closes_the_episode() {
    let mut run = cart_run(plain_config());
    run.feed([click("c", Purchase, at("11:00")).revenue(30.0).ev()]);
    run.advance(at("23:00"));
    assert!(run.triggers().is_empty());
    assert!(run.suppressed().is_empty());
}

#[test]
fn purchase_after_the_due_time_does_not_cancel_and_is_attributed() {
    let mut run = cart_run(plain_config());
    run.feed([click("c", Purchase, at("11:00:01")).revenue(30.0).ev()]);
    let t = run.triggers();
    assert_eq!(t.len(), 1);
    let o = run.outcomes();
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].trigger_id, t[0].trigger_id);
    assert_eq!(o[0].seconds_to_conversion, 1.0);
    assert_eq!(o[0].revenue, 30.0);
}

#[test]
fn a_late_record_still_fires_the_due_trigger_first_even_if_the_watermark_lags() {
    // The live pipeline's watermark trails event time; the purchase at 11:30 must not cancel
    // a cart due at 11:00 just because the watermark has not passed 11:00 yet.
    let mut engine = nudge_engine::Engine::new(plain_config());
    let mut out = Vec::new();
    engine.apply(&with_profile("c"), &mut out);
    engine.apply(
        &click("c", AddToCart, at("10:00")).sku("1", 30.0, 1).ev(),
        &mut out,
    );
    engine.apply(
        &click("c", Purchase, at("11:30")).revenue(30.0).ev(),
        &mut out,
    );
    assert!(out.iter().any(|o| matches!(o, Output::Trigger(_))));
    assert!(out.iter().any(|o| matches!(o, Output::Outcome(_))));
}

#[test]
fn emptying_the_cart_before_the_due_time_closes_the_episode() {
    let mut run = cart_run(plain_config());
    run.feed([click("c", RemoveFromCart, at("10:30"))
        .sku("1", 30.0, 5)
        .ev()]);
    run.advance(at("23:00"));
    assert!(run.triggers().is_empty());
    assert!(
        run.engine.state("c").unwrap().cart.lines.is_empty(),
        "never below zero"
    );
}

#[test]
fn each_cart_change_moves_the_due_time() {
    let mut run = Run::new(plain_config());
    run.feed([
        with_profile("c"),
        click("c", AddToCart, at("10:00")).sku("1", 10.0, 2).ev(),
        click("c", RemoveFromCart, at("10:40"))
            .sku("1", 10.0, 1)
            .ev(),
    ]);
    run.advance(Ts(at("11:00").0 + 1));
    assert!(run.triggers().is_empty());
    run.advance(Ts(at("11:40").0 + 1));
    let t = run.triggers();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].due_at, at("11:40"));
    assert_eq!(t[0].context.cart_items[0].quantity, 1);
}

#[test]
fn one_trigger_per_episode_and_a_new_change_opens_the_next() {
    let mut run = cart_run(plain_config());
    run.advance(at("20:00"));
    assert_eq!(run.triggers().len(), 1);
    run.feed([click("c", PageView, at("21:00")).ev()]);
    run.advance(at("23:00"));
    assert_eq!(run.triggers().len(), 1, "no cart change, no new episode");
    let mut run2 = cart_run(plain_config());
    run2.feed([click("c", AddToCart, at("20:00")).sku("2", 5.0, 1).ev()]);
    run2.advance(at("23:00"));
    let t = run2.triggers();
    assert_eq!(t.len(), 2);
    assert_eq!(t[1].due_at, at("21:00"));
    assert_ne!(t[0].trigger_id, t[1].trigger_id);
    assert_eq!(
        t[1].context.cart_items.len(),
        2,
        "the cart kept its first item"
    );
}

#[test]
fn disabled_detectors_fire_nothing() {
    let mut cfg = plain_config();
    cfg.detectors.cart_abandoned.enabled = false;
    let mut run = cart_run(cfg);
    run.advance(at("23:00"));
    assert!(run.triggers().is_empty());
}

fn checkout_run(extra: Vec<Event>) -> Run {
    let mut run = Run::new(plain_config());
    run.feed([
        with_profile("c"),
        click("c", AddToCart, at("10:00")).sku("1", 30.0, 1).ev(),
        click("c", CheckoutStarted, at("10:01")).ev(),
    ]);
    run.feed(extra);
    run.advance(at("10:50"));
    run
}

#[test]
fn checkout_abandoned_names_the_step_where_the_customer_stopped() {
    let run = checkout_run(vec![click("c", ClickType::CheckoutStep, at("10:02"))
        .step(CheckoutStep::Shipping)
        .ev()]);
    let t = run.triggers();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].kind, TriggerType::CheckoutAbandoned);
    assert_eq!(t[0].due_at, at("10:31"));
    assert_eq!(t[0].context.checkout_step, Some(CheckoutStep::Shipping));
    assert_eq!(t[0].action, Action::CheckoutReminder);
    assert_eq!(t[0].obstacle, None);
}

#[test]
fn payment_error_turns_the_checkout_trigger_into_a_feedback_request_without_discount() {
    let mut run = Run::new(plain_config());
    let mut p = base_profile();
    p.orders_count = Some(5); // would qualify for a discount on a checkout reminder
    run.feed([
        crm("c", at("09:00"), p),
        click("c", CheckoutStarted, at("10:01")).ev(),
        click("c", ClickType::CheckoutStep, at("10:02"))
            .step(CheckoutStep::Payment)
            .ev(),
        click("c", PaymentError, at("10:03")).ev(),
    ]);
    run.advance(at("10:50"));
    let t = run.triggers();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].kind, TriggerType::FeedbackRequest);
    assert_eq!(t[0].obstacle, Some(Obstacle::PaymentError));
    assert_eq!(t[0].action, Action::FeedbackRequest);
    assert_eq!(t[0].offer, None);
}

#[test]
fn long_dwell_on_payment_is_an_obstacle_and_short_dwell_is_not() {
    let long = checkout_run(vec![
        click("c", ClickType::CheckoutStep, at("10:02"))
            .step(CheckoutStep::Payment)
            .ev(),
        click("c", PageView, at("10:07")).ev(),
    ]);
    assert_eq!(long.triggers()[0].kind, TriggerType::FeedbackRequest);
    assert_eq!(long.triggers()[0].obstacle, Some(Obstacle::LongDwell));
    let short = checkout_run(vec![
        click("c", ClickType::CheckoutStep, at("10:02"))
            .step(CheckoutStep::Payment)
            .ev(),
        click("c", PageView, at("10:06")).ev(),
    ]);
    assert_eq!(short.triggers()[0].kind, TriggerType::CheckoutAbandoned);
    assert_eq!(
        short.triggers()[0].context.checkout_step,
        Some(CheckoutStep::Payment)
    );
}

#[test]
fn purchase_before_the_checkout_due_time_cancels() {
    let run = checkout_run(vec![click("c", Purchase, at("10:20")).revenue(30.0).ev()]);
    assert!(run.triggers().is_empty());
}

#[test]
fn browse_abandoned_after_repeated_views_without_cart() {
    let mut run = Run::new(plain_config());
    run.feed([
        with_profile("c"),
        click("c", ProductView, at("10:00")).sku("1", 1.0, 1).ev(),
        click("c", ProductView, at("10:01")).sku("2", 1.0, 1).ev(),
        click("c", ProductView, at("10:02")).sku("3", 1.0, 1).ev(),
    ]);
    run.advance(at("11:00"));
    let t = run.triggers();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].kind, TriggerType::BrowseAbandoned);
    assert_eq!(t[0].due_at, at("10:32"));
    assert_eq!(
        t[0].context.session_id.as_deref(),
        Some(run.sessions()[0].session_id.as_str())
    );
}

#[test]
fn no_browse_trigger_with_a_cart_or_too_few_views() {
    let mut run = Run::new(plain_config());
    run.feed([
        with_profile("a"),
        with_profile("b"),
        click("a", ProductView, at("10:00")).ev(),
        click("a", ProductView, at("10:01")).ev(),
        click("b", ProductView, at("10:00")).ev(),
        click("b", ProductView, at("10:01")).ev(),
        click("b", ProductView, at("10:02")).ev(),
        click("b", AddToCart, at("10:03")).sku("1", 1.0, 1).ev(),
        click("b", RemoveFromCart, at("10:04"))
            .sku("1", 1.0, 1)
            .ev(),
    ]);
    run.advance(at("12:00"));
    assert!(run.triggers().is_empty());
    assert_eq!(run.sessions().len(), 2);
}

#[test]
fn lapse_fires_once_after_thirty_days_without_activity() {
    let mut run = Run::new(plain_config());
    run.feed([with_profile("c"), click("c", PageView, at("10:00")).ev()]);
    run.advance(Ts(at("10:00").0 + 30 * DAY));
    assert!(run.triggers().is_empty());
    run.advance(Ts(at("10:00").0 + 30 * DAY + 1));
    let t = run.triggers();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].kind, TriggerType::ReEngagement);
    assert_eq!(t[0].obstacle, Some(Obstacle::Lapsed));
    run.advance(Ts(at("10:00").0 + 90 * DAY));
    assert_eq!(run.triggers().len(), 1);
}

#[test]
fn activity_rearms_the_lapse_timer() {
    let mut run = Run::new(plain_config());
    run.feed([
        with_profile("c"),
        click("c", PageView, at("10:00")).ev(),
        click("c", PageView, Ts(at("10:00").0 + 20 * DAY)).ev(),
    ]);
    run.advance(Ts(at("10:00").0 + 31 * DAY));
    assert!(run.triggers().is_empty());
    run.advance(Ts(at("10:00").0 + 50 * DAY + 1));
    assert_eq!(run.triggers()[0].due_at, Ts(at("10:00").0 + 50 * DAY));
}

#[test]
fn customers_never_seen_on_the_clickstream_do_not_lapse() {
    let mut run = Run::new(plain_config());
    run.feed([with_profile("c"), email("c", EmailType::Open, at("10:00"))]);
    run.advance(Ts(DAY0 + 100 * DAY));
    assert!(run.triggers().is_empty());
}

#[test]
fn fifth_unopened_email_triggers_re_engagement_once() {
    let mut run = Run::new(plain_config());
    run.feed([with_profile("c")]);
    for h in 10..14 {
        run.feed([email("c", EmailType::Sent, at(&format!("{h}:00")))]);
    }
    run.feed([email("c", EmailType::Open, at("14:30"))]);
    for h in 15..22 {
        run.feed([email("c", EmailType::Sent, at(&format!("{h}:00")))]);
    }
    let t = run.triggers();
    assert_eq!(
        t.len(),
        1,
        "the open reset the streak; the 5th after it fires once"
    );
    assert_eq!(t[0].due_at, at("19:00"));
    assert_eq!(t[0].obstacle, Some(Obstacle::UnopenedEmails));
}

#[test]
fn unknown_record_types_change_nothing() {
    let mut run = Run::new(plain_config());
    run.feed([click("c", Unknown, at("10:00")).ev()]);
    assert_eq!(run.engine.customers(), 0);
    assert!(run.out.is_empty());
}
