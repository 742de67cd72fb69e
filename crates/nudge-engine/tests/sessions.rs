mod common;

use common::*;
use nudge_events::{ClickType::*, *};

#[test]
fn gap_equal_to_timeout_keeps_the_session_and_longer_gap_splits() {
    let mut run = Run::new(plain_config());
    run.feed([
        click("c", PageView, at("10:00")).ev(),
        click("c", PageView, at("10:30")).ev(), // gap == 30m: same session
        click("c", PageView, Ts(at("11:00").0 + 1)).ev(), // gap 30m + 1ms: new session
    ]);
    let sessions = run.sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].start, at("10:00"));
    assert_eq!(sessions[0].end, at("10:30"));
    assert_eq!(sessions[0].events, 2);
    assert_eq!(run.engine.open_sessions(), 1);
}

#[test]
fn session_closes_only_when_watermark_passes_last_record_plus_timeout() {
    let mut run = Run::new(plain_config());
    run.feed([click("c", PageView, at("10:00")).ev()]);
    run.advance(at("10:30"));
    assert!(
        run.sessions().is_empty(),
        "watermark equal to due must not close"
    );
    run.advance(Ts(at("10:30").0 + 1));
    assert_eq!(run.sessions().len(), 1);
    assert_eq!(run.engine.open_sessions(), 0);
}

#[test]
fn max_duration_starts_a_new_session() {
    let mut run = Run::new(plain_config());
    // A record every 20 minutes for 25 hours: never idle, but 24h is the limit.
    let events: Vec<Event> = (0..=75)
        .map(|i| click("c", PageView, Ts(DAY0 + i * 20 * MIN)).ev())
        .collect();
    run.feed(events);
    let sessions = run.sessions();
    assert_eq!(sessions.len(), 1);
    // 00:00 .. 24:00 is exactly 24h (not more), so the 24:00 record still belongs to it.
    assert_eq!(sessions[0].start, Ts(DAY0));
    assert_eq!(sessions[0].end, Ts(DAY0 + DAY));
    assert_eq!(sessions[0].events, 73);
    assert_eq!(sessions[0].duration_s, 86_400.0);
}

#[test]
fn summary_counts_pages_paths_funnel_and_conversion() {
    let mut run = Run::new(plain_config());
    run.feed([
        click("c", PageView, at("10:00"))
            .path("/")
            .device(Device::Tablet)
            .ev(),
        click("c", ProductView, at("10:01"))
            .path("/p/1")
            .sku("1", 20.0, 1)
            .ev(),
        click("c", Search, at("10:02")).ev(),
        click("c", AddToCart, at("10:03"))
            .path("/p/1")
            .sku("1", 20.0, 2)
            .ev(),
        click("c", CheckoutStarted, at("10:04"))
            .path("/checkout")
            .ev(),
        click("c", Purchase, at("10:05"))
            .path("/thanks")
            .revenue(40.0)
            .ev(),
    ]);
    run.advance(at("12:00"));
    let s = run.sessions()[0];
    assert_eq!(s.events, 6);
    assert_eq!(s.page_views, 2);
    assert_eq!(s.product_views, 1);
    assert!(!s.bounce);
    assert_eq!(s.entry_path.as_deref(), Some("/"));
    assert_eq!(s.exit_path.as_deref(), Some("/thanks"));
    assert_eq!(s.furthest_step, FunnelStep::Purchase);
    assert!(s.converted);
    assert_eq!(s.revenue, 40.0);
    assert_eq!(s.cart_value, 0.0, "the purchase emptied the cart");
    assert_eq!(s.device, Some(Device::Tablet));
    assert_eq!(s.duration_s, 300.0);
    assert_eq!(run.engine.state("c").unwrap().stage, Stage::Retention);
}

#[test]
fn single_record_session_is_a_bounce() {
    let mut run = Run::new(plain_config());
    run.feed([click("c", PageView, at("10:00")).path("/landing").ev()]);
    run.advance(at("11:00"));
    let s = run.sessions()[0];
    assert!(s.bounce);
    assert_eq!(s.entry_path, s.exit_path);
    assert_eq!(s.furthest_step, FunnelStep::None);
}

#[test]
fn email_and_crm_records_do_not_touch_sessions() {
    let mut run = Run::new(plain_config());
    run.feed([
        click("c", PageView, at("10:00")).ev(),
        email("c", EmailType::Open, at("10:20")),
        crm("c", at("10:25"), base_profile()),
    ]);
    run.advance(Ts(at("10:30").0 + 1));
    assert_eq!(run.sessions().len(), 1, "closed 30m after the only click");
    assert_eq!(run.sessions()[0].events, 1);
}

#[test]
fn stage_moves_forward_only() {
    let mut run = Run::new(plain_config());
    let stage = |run: &Run| run.engine.state("c").unwrap().stage;
    run.feed([click("c", PageView, at("10:00")).ev()]);
    assert_eq!(stage(&run), Stage::Awareness);
    run.feed([click("c", ProductView, at("10:01")).ev()]);
    assert_eq!(stage(&run), Stage::Consideration);
    run.feed([click("c", AddToCart, at("10:02")).sku("1", 5.0, 1).ev()]);
    assert_eq!(stage(&run), Stage::Decision);
    run.feed([click("c", PageView, at("10:03")).ev()]);
    assert_eq!(stage(&run), Stage::Decision);
    for m in 4..7 {
        run.feed([click("c", Purchase, at(&format!("10:0{m}")))
            .revenue(5.0)
            .ev()]);
    }
    assert_eq!(stage(&run), Stage::Advocacy, "three purchases");
}
