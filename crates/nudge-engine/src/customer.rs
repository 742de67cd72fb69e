//! One customer's state machine: applying a record, and firing the timers that are due.
//!
//! Every rule here depends only on the customer's own records, in order, so the live pipeline
//! and a replay produce the same outputs for a customer whatever else is interleaved.

use nudge_events::{
    CartLine, CheckoutStep, ClickEvent, ClickType, CompactString, CrmEvent, CrmType, EmailEvent,
    EmailType, Event, FunnelStep, Obstacle, Outcome, Output, Profile, SessionSummary, Stage,
    TriggerType, Ts,
};

use crate::config::EngineConfig;
use crate::ids;
use crate::policy::{self, Candidate};
use crate::state::{Checkout, CustomerState, OpenSession};

/// What a pending timer will do when it fires. The order breaks ties between equal due times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TimerKind {
    SessionClose,
    Checkout,
    Cart,
    Lapse,
}

/// A customer's state with what it needs to change: the config, its key and the output sink.
pub(crate) struct Customer<'a> {
    pub cfg: &'a EngineConfig,
    pub key: &'a str,
    pub st: &'a mut CustomerState,
    pub out: &'a mut Vec<Output>,
}

/// The customer's earliest pending timer, derived from the state alone.
pub(crate) fn next_timer(cfg: &EngineConfig, st: &CustomerState) -> Option<(Ts, TimerKind)> {
    let d = &cfg.detectors;
    let session = st.session.as_ref().map(|s| {
        (
            s.last.plus(cfg.session.timeout.millis()),
            TimerKind::SessionClose,
        )
    });
    let checkout = st
        .checkout
        .as_ref()
        .filter(|_| d.checkout_abandoned.enabled || d.feedback_request.enabled)
        .map(|c| {
            (
                c.started.plus(d.checkout_abandoned.after.millis()),
                TimerKind::Checkout,
            )
        });
    let cart = Some(&st.cart)
        .filter(|c| d.cart_abandoned.enabled && c.episode_open())
        .map(|c| {
            (
                c.last_change.plus(d.cart_abandoned.after.millis()),
                TimerKind::Cart,
            )
        });
    let lapse = st.lapse_from.filter(|_| d.re_engagement.enabled).map(|t| {
        (
            t.plus(d.re_engagement.lapse_after.millis()),
            TimerKind::Lapse,
        )
    });
    [session, checkout, cart, lapse].into_iter().flatten().min()
}

impl Customer<'_> {
    /// Fires, in due order, every timer due strictly before `limit`.
    pub fn fire_before(&mut self, limit: Ts) {
        while let Some((due, kind)) = next_timer(self.cfg, self.st).filter(|(due, _)| *due < limit)
        {
            self.fire(due, kind);
        }
    }

    fn fire(&mut self, due: Ts, kind: TimerKind) {
        match kind {
            TimerKind::SessionClose => self.close_session(due),
            TimerKind::Checkout => {
                // The episode stays open while the policies run, so the trigger's context
                // names the step the customer stopped at.
                if let Some(c) = self.st.checkout.clone() {
                    self.checkout_abandoned(due, &c);
                }
                self.st.checkout = None;
            }
            TimerKind::Cart => {
                self.st.cart.fired = true;
                let episode = self.st.cart.episode_start;
                self.candidate(TriggerType::CartAbandoned, due, episode, None);
            }
            TimerKind::Lapse => {
                if let Some(from) = self.st.lapse_from.take() {
                    let obstacle = Some(Obstacle::Lapsed);
                    self.candidate(TriggerType::ReEngagement, due, from, obstacle);
                }
            }
        }
    }

    /// Applies one record. Timers due before the record's time fire first, so a record later
    /// than a due time never cancels that trigger, however far the watermark lags.
    pub fn apply(&mut self, event: &Event) {
        let ts = event.ts();
        self.fire_before(ts);
        self.st.last_seen = self.st.last_seen.max(ts);
        match event {
            Event::Click(e) => self.click(e),
            Event::Email(e) => self.email(e),
            Event::Crm(e) => self.crm(e),
        }
    }

    fn click(&mut self, e: &ClickEvent) {
        if e.kind == ClickType::Unknown {
            return;
        }
        let ts = e.ts;
        self.track_session(e);
        self.st.lapse_from = Some(self.st.lapse_from.map_or(ts, |t| t.max(ts)));
        if let Some(c) = self.st.checkout.as_mut() {
            c.last_activity = c.last_activity.max(ts);
        }
        match e.kind {
            ClickType::ProductView | ClickType::Search => self.advance_stage(Stage::Consideration),
            ClickType::AddToCart => {
                self.advance_stage(Stage::Decision);
                self.add_to_cart(e);
            }
            ClickType::RemoveFromCart => self.remove_from_cart(e),
            ClickType::CheckoutStarted => {
                self.advance_stage(Stage::Decision);
                self.open_checkout(ts);
            }
            ClickType::CheckoutStep => {
                self.advance_stage(Stage::Decision);
                let c = self.open_checkout(ts);
                c.step = e.checkout_step.or(c.step);
                if matches!(e.checkout_step, Some(CheckoutStep::Payment)) {
                    c.payment_at.get_or_insert(ts);
                }
            }
            ClickType::PaymentError => {
                self.advance_stage(Stage::Decision);
                let c = self.open_checkout(ts);
                c.step = Some(CheckoutStep::Payment);
                c.payment_at.get_or_insert(ts);
                c.payment_error = true;
            }
            ClickType::Purchase => self.purchase(e),
            ClickType::PageView | ClickType::Login | ClickType::Identify | ClickType::Unknown => {}
        }
    }

    fn track_session(&mut self, e: &ClickEvent) {
        let ts = e.ts;
        let split = self.st.session.as_ref().is_some_and(|s| {
            ts.millis() - s.start.millis() > self.cfg.session.max_duration.millis()
        });
        if split {
            let timeout_close = self
                .st
                .session
                .as_ref()
                .map_or(ts, |s| s.last.plus(self.cfg.session.timeout.millis()));
            self.close_session(timeout_close.min(ts));
        }
        let st = &mut *self.st;
        let s = st.session.get_or_insert_with(|| {
            st.sessions += 1;
            st.mobile_sessions += u32::from(e.device.is_some_and(|d| d.is_mobile()));
            st.last_session_start = Some(ts);
            OpenSession {
                start: ts,
                last: ts,
                ..OpenSession::default()
            }
        });
        s.last = s.last.max(ts);
        s.events += 1;
        match e.kind {
            ClickType::PageView => s.page_views += 1,
            ClickType::ProductView => {
                s.page_views += 1;
                s.product_views += 1;
            }
            ClickType::AddToCart => s.added_to_cart = true,
            _ => {}
        }
        s.furthest = s.furthest.max(funnel_step(e));
        if s.device.is_none() {
            s.device = e.device;
        }
        if let Some(path) = e.page.as_ref().and_then(|p| p.path.as_deref()) {
            if s.entry_path.is_empty() {
                s.entry_path.push_str(path);
            }
            s.exit_path.clear();
            s.exit_path.push_str(path);
            st.last_page.clear();
            st.last_page.push_str(path);
        }
        if e.device.is_some() {
            st.last_device = e.device;
        }
    }

    fn close_session(&mut self, closed_at: Ts) {
        let Some(s) = self.st.session.take() else {
            return;
        };
        // The session is over: its paths move into the summary.
        let non_empty = |p: CompactString| (!p.is_empty()).then(|| p.into_string());
        let summary = SessionSummary {
            session_id: ids::session_id(self.key, s.start),
            customer_id: self.key.to_owned(),
            start: s.start,
            end: s.last,
            events: s.events,
            page_views: s.page_views,
            product_views: s.product_views,
            duration_s: (s.last.millis() - s.start.millis()) as f64 / 1000.0,
            bounce: s.events == 1,
            entry_path: non_empty(s.entry_path),
            exit_path: non_empty(s.exit_path),
            furthest_step: s.furthest,
            cart_value: self.st.cart.value(),
            converted: s.converted,
            revenue: s.revenue,
            device: s.device,
            segment: self
                .st
                .profile
                .as_ref()
                .and_then(|p| p.segment.as_deref().map(str::to_owned)),
        };
        self.out.push(Output::Session(summary));
        let browse = &self.cfg.detectors.browse_abandoned;
        if browse.enabled
            && s.product_views >= browse.min_product_views
            && !s.added_to_cart
            && !s.converted
        {
            self.candidate(TriggerType::BrowseAbandoned, closed_at, s.start, None);
        }
    }

    fn add_to_cart(&mut self, e: &ClickEvent) {
        let Some(p) = e.product.as_ref() else {
            return;
        };
        let qty = p.quantity.unwrap_or(1);
        if qty == 0 {
            return;
        }
        let sku = p.sku.as_deref().or(p.name.as_deref()).unwrap_or("unknown");
        let cart = &mut self.st.cart;
        if !cart.episode_open() {
            cart.fired = false;
            cart.episode_start = e.ts;
        }
        match cart.lines.iter_mut().find(|l| l.sku == sku) {
            Some(line) => {
                line.quantity = line.quantity.saturating_add(qty);
                line.price = p.price.unwrap_or(line.price);
            }
            None => cart.lines.push(CartLine {
                sku: sku.into(),
                name: p.name.clone(),
                quantity: qty,
                price: p.price.unwrap_or(0.0),
            }),
        }
        cart.last_change = e.ts;
    }

    fn remove_from_cart(&mut self, e: &ClickEvent) {
        let Some(p) = e.product.as_ref() else {
            return;
        };
        let sku = p.sku.as_deref().or(p.name.as_deref()).unwrap_or("unknown");
        let cart = &mut self.st.cart;
        let Some(i) = cart.lines.iter().position(|l| l.sku == sku) else {
            return;
        };
        let line = &mut cart.lines[i];
        line.quantity = line.quantity.saturating_sub(p.quantity.unwrap_or(1));
        if line.quantity == 0 {
            cart.lines.remove(i);
        }
        if cart.fired {
            cart.fired = false;
            cart.episode_start = e.ts;
        }
        cart.last_change = e.ts;
    }

    fn open_checkout(&mut self, ts: Ts) -> &mut Checkout {
        self.st.checkout.get_or_insert(Checkout {
            started: ts,
            last_activity: ts,
            ..Checkout::default()
        })
    }

    fn checkout_abandoned(&mut self, due: Ts, c: &Checkout) {
        let d = &self.cfg.detectors;
        let at_payment = c.step == Some(CheckoutStep::Payment);
        let dwell = c.payment_at.map(|p| c.last_activity.millis() - p.millis());
        let obstacle = if !at_payment {
            None
        } else if c.payment_error {
            Some(Obstacle::PaymentError)
        } else if dwell.is_some_and(|ms| ms >= d.feedback_request.long_dwell.millis()) {
            Some(Obstacle::LongDwell)
        } else {
            None
        };
        if obstacle.is_some() && d.feedback_request.enabled {
            self.candidate(TriggerType::FeedbackRequest, due, c.started, obstacle);
        } else if d.checkout_abandoned.enabled {
            self.candidate(TriggerType::CheckoutAbandoned, due, c.started, obstacle);
        }
    }

    fn purchase(&mut self, e: &ClickEvent) {
        let ts = e.ts;
        let order = e.order.as_ref();
        let revenue = order
            .and_then(|o| o.revenue)
            .or_else(|| {
                order.filter(|o| !o.items.is_empty()).map(|o| {
                    let line = |p: &nudge_events::Product| {
                        p.price.unwrap_or(0.0) * f64::from(p.quantity.unwrap_or(1))
                    };
                    o.items.iter().fold(0.0, |sum, p| sum + line(p))
                })
            })
            .unwrap_or_else(|| self.st.cart.value());
        if let Some(s) = self.st.session.as_mut() {
            s.converted = true;
            s.revenue += revenue;
        }
        self.st.purchases = self.st.purchases.saturating_add(1);
        self.st.cart.lines.clear();
        self.st.cart.fired = false;
        self.st.checkout = None;
        self.attribute(ts, revenue, order.and_then(|o| o.order_id.as_deref()));
        self.advance_stage(Stage::Retention);
        self.update_loyalty_stage();
    }

    fn attribute(&mut self, ts: Ts, revenue: f64, order_id: Option<&str>) {
        let window = self.cfg.policy.attribution_window.millis();
        let key = self.key;
        let out = &mut *self.out;
        self.st.attributions.retain(|a| {
            if ts > a.due_at.plus(window) {
                return false;
            }
            if ts < a.due_at {
                return true;
            }
            out.push(Output::Outcome(Outcome {
                trigger_id: a.trigger_id.clone(),
                customer_id: key.to_owned(),
                kind: a.kind,
                arm: a.arm,
                order_id: order_id.map(str::to_owned),
                revenue,
                converted_at: ts,
                seconds_to_conversion: (ts.millis() - a.due_at.millis()) as f64 / 1000.0,
            }));
            false
        });
    }

    fn email(&mut self, e: &EmailEvent) {
        let eng = &mut self.st.email;
        match e.kind {
            EmailType::Sent => {
                eng.unopened = eng.unopened.saturating_add(1);
                let re = &self.cfg.detectors.re_engagement;
                if re.enabled && re.unopened_emails > 0 && eng.unopened == re.unopened_emails {
                    let obstacle = Some(Obstacle::UnopenedEmails);
                    self.candidate(TriggerType::ReEngagement, e.ts, e.ts, obstacle);
                }
            }
            EmailType::Open | EmailType::Click => eng.unopened = 0,
            EmailType::Bounce => eng.bounced = true,
            EmailType::Unsubscribe => eng.unsubscribed = true,
            EmailType::Complaint => eng.complained = true,
            EmailType::Delivered | EmailType::Unknown => {}
        }
    }

    fn crm(&mut self, e: &CrmEvent) {
        let (CrmType::Profile, Some(profile)) = (e.kind, e.profile.as_ref()) else {
            return;
        };
        let old_email = self.st.profile.as_ref().and_then(|p| p.email.as_deref());
        if old_email != profile.email.as_deref() {
            self.st.email.bounced = false;
        }
        // A later profile that consents to email again is a re-subscription recorded in the CRM.
        if profile.consent.email {
            self.st.email.unsubscribed = false;
        }
        match self.st.profile.as_mut() {
            Some(old) => assign_profile(old, profile),
            None => self.st.profile = Some(profile.clone()),
        }
        if profile.orders_count.unwrap_or(0) > 0 {
            self.advance_stage(Stage::Retention);
        }
        self.update_loyalty_stage();
    }

    fn advance_stage(&mut self, stage: Stage) {
        self.st.stage = self.st.stage.max(stage);
    }

    fn update_loyalty_stage(&mut self) {
        let profile = self.st.profile.as_ref();
        let orders = profile
            .and_then(|p| p.orders_count)
            .unwrap_or(0)
            .max(self.st.purchases);
        let loyal_tier = profile
            .and_then(|p| p.loyalty_tier.as_deref())
            .is_some_and(|t| t.eq_ignore_ascii_case("gold") || t.eq_ignore_ascii_case("platinum"));
        if orders >= 3 || loyal_tier {
            self.advance_stage(Stage::Advocacy);
        }
    }

    fn candidate(&mut self, kind: TriggerType, due: Ts, episode: Ts, obstacle: Option<Obstacle>) {
        let candidate = Candidate {
            kind,
            due,
            episode,
            obstacle,
        };
        let output = policy::decide(self.cfg, self.key, self.st, &candidate);
        self.out.push(output);
    }
}

/// `*dst = src.clone()`, reusing `dst`'s strings (profiles are upserted again and again). The
/// exhaustive pattern makes a new `Profile` field a compile error here, not a field left stale.
fn assign_profile(dst: &mut Profile, src: &Profile) {
    let Profile {
        email,
        phone,
        timezone,
        preferred_channel,
        consent,
        segment,
        lifetime_value,
        orders_count,
        loyalty_tier,
    } = src;
    dst.email.clone_from(email);
    dst.phone.clone_from(phone);
    dst.timezone.clone_from(timezone);
    dst.preferred_channel.clone_from(preferred_channel);
    dst.consent = *consent;
    dst.segment.clone_from(segment);
    dst.lifetime_value = *lifetime_value;
    dst.orders_count = *orders_count;
    dst.loyalty_tier.clone_from(loyalty_tier);
}

fn funnel_step(e: &ClickEvent) -> FunnelStep {
    match e.kind {
        ClickType::ProductView => FunnelStep::ProductView,
        ClickType::AddToCart => FunnelStep::AddToCart,
        ClickType::CheckoutStarted => FunnelStep::CheckoutStarted,
        ClickType::CheckoutStep => match e.checkout_step {
            Some(CheckoutStep::Payment | CheckoutStep::Review) => FunnelStep::Payment,
            _ => FunnelStep::CheckoutStarted,
        },
        ClickType::PaymentError => FunnelStep::Payment,
        ClickType::Purchase => FunnelStep::Purchase,
        _ => FunnelStep::None,
    }
}
