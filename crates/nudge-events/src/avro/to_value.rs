//! Records to apache-avro `Value`s, field by field in schema order.

use apache_avro::types::Value;
use serde::Serialize;

use crate::error::AvroError;
use crate::input::{ClickEvent, CrmEvent, EmailEvent, Order, Page, Product, Profile, Utm};
use crate::output::{Offer, Outcome, SessionSummary, Trigger, TriggerContext};
use crate::time::Ts;

/// Builds a record value; the field order is the schema's.
fn record(fields: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Record(
        fields
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
    )
}

fn string(s: &str) -> Value {
    Value::String(s.to_owned())
}

/// A `["null", T]` union.
fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
    match v {
        None => Value::Union(0, Box::new(Value::Null)),
        Some(v) => Value::Union(1, Box::new(f(v))),
    }
}

/// A `["null", "string"]` union, from the text of an input record or an output.
fn opt_string(s: &Option<impl AsRef<str>>) -> Value {
    opt(s.as_ref().map(AsRef::as_ref), string)
}

fn opt_double(v: Option<f64>) -> Value {
    opt(v, Value::Double)
}

fn ts(t: Ts) -> Value {
    Value::TimestampMillis(t.millis())
}

fn count(n: u32) -> Value {
    Value::Long(i64::from(n))
}

/// An enumeration as the snake_case string serde gives it, so the Avro and JSON forms agree.
fn name<T: Serialize>(v: &T, field: &'static str) -> Result<Value, AvroError> {
    match apache_avro::to_value(v) {
        Ok(s @ Value::String(_)) => Ok(s),
        _ => Err(AvroError::NotAName { field }),
    }
}

fn opt_name<T: Serialize>(v: &Option<T>, field: &'static str) -> Result<Value, AvroError> {
    let name = v.as_ref().map(|v| name(v, field)).transpose()?;
    Ok(opt(name, |v| v))
}

fn page_value(p: &Page) -> Value {
    record([
        ("path", opt_string(&p.path)),
        ("title", opt_string(&p.title)),
        ("referrer", opt_string(&p.referrer)),
    ])
}

fn product_value(p: &Product) -> Value {
    record([
        ("sku", opt_string(&p.sku)),
        ("name", opt_string(&p.name)),
        ("category", opt_string(&p.category)),
        ("price", opt_double(p.price)),
        ("quantity", opt(p.quantity, count)),
    ])
}

fn order_value(o: &Order) -> Value {
    record([
        ("order_id", opt_string(&o.order_id)),
        ("revenue", opt_double(o.revenue)),
        ("currency", opt_string(&o.currency)),
        (
            "items",
            Value::Array(o.items.iter().map(product_value).collect()),
        ),
    ])
}

fn utm_value(u: &Utm) -> Value {
    record([
        ("source", opt_string(&u.source)),
        ("medium", opt_string(&u.medium)),
        ("campaign", opt_string(&u.campaign)),
        ("term", opt_string(&u.term)),
        ("content", opt_string(&u.content)),
    ])
}

/// A `ClickEvent` value.
pub(super) fn click_value(e: &ClickEvent) -> Result<Value, AvroError> {
    Ok(record([
        ("event_id", opt_string(&e.event_id)),
        ("customer_id", opt_string(&e.customer_id)),
        ("anonymous_id", opt_string(&e.anonymous_id)),
        ("type", name(&e.kind, "ClickEvent.type")?),
        ("ts", ts(e.ts)),
        ("device", opt_name(&e.device, "ClickEvent.device")?),
        ("page", opt(e.page.as_ref(), page_value)),
        ("product", opt(e.product.as_ref(), product_value)),
        (
            "checkout_step",
            opt_name(&e.checkout_step, "ClickEvent.checkout_step")?,
        ),
        ("order", opt(e.order.as_ref(), order_value)),
        ("utm", opt(e.utm.as_ref(), utm_value)),
    ]))
}

/// An `EmailEvent` value.
pub(super) fn email_value(e: &EmailEvent) -> Result<Value, AvroError> {
    Ok(record([
        ("event_id", opt_string(&e.event_id)),
        ("customer_id", opt_string(&e.customer_id)),
        ("type", name(&e.kind, "EmailEvent.type")?),
        ("ts", ts(e.ts)),
        ("campaign_id", opt_string(&e.campaign_id)),
        ("email", opt_string(&e.email)),
    ]))
}

fn profile_value(p: &Profile) -> Value {
    let consent = record([
        ("email", Value::Boolean(p.consent.email)),
        ("sms", Value::Boolean(p.consent.sms)),
        ("push", Value::Boolean(p.consent.push)),
    ]);
    record([
        ("email", opt_string(&p.email)),
        ("phone", opt_string(&p.phone)),
        ("timezone", opt_string(&p.timezone)),
        ("preferred_channel", opt_string(&p.preferred_channel)),
        ("consent", consent),
        ("segment", opt_string(&p.segment)),
        ("lifetime_value", opt_double(p.lifetime_value)),
        ("orders_count", opt(p.orders_count, count)),
        ("loyalty_tier", opt_string(&p.loyalty_tier)),
    ])
}

/// A `CrmEvent` value.
pub(super) fn crm_value(e: &CrmEvent) -> Result<Value, AvroError> {
    Ok(record([
        ("event_id", opt_string(&e.event_id)),
        ("customer_id", opt_string(&e.customer_id)),
        ("type", name(&e.kind, "CrmEvent.type")?),
        ("ts", ts(e.ts)),
        ("profile", opt(e.profile.as_ref(), profile_value)),
    ]))
}

fn context_value(c: &TriggerContext) -> Result<Value, AvroError> {
    let lines = c.cart_items.iter().map(|l| {
        record([
            ("sku", string(&l.sku)),
            ("name", opt_string(&l.name)),
            ("quantity", count(l.quantity)),
            ("price", Value::Double(l.price)),
        ])
    });
    Ok(record([
        ("cart_items", Value::Array(lines.collect())),
        ("cart_value", Value::Double(c.cart_value)),
        ("session_id", opt_string(&c.session_id)),
        ("last_page", opt_string(&c.last_page)),
        (
            "checkout_step",
            opt_name(&c.checkout_step, "TriggerContext.checkout_step")?,
        ),
        ("segment", opt_string(&c.segment)),
        ("lifetime_value", opt_double(c.lifetime_value)),
        ("device", opt_name(&c.device, "TriggerContext.device")?),
    ]))
}

/// A `Trigger` value.
pub(super) fn trigger_value(t: &Trigger) -> Result<Value, AvroError> {
    let offer = |o: &Offer| record([("kind", string(&o.kind)), ("percent", count(o.percent))]);
    Ok(record([
        ("trigger_id", string(&t.trigger_id)),
        ("customer_id", string(&t.customer_id)),
        ("type", name(&t.kind, "Trigger.type")?),
        ("arm", opt_name(&t.arm, "Trigger.arm")?),
        ("due_at", ts(t.due_at)),
        ("channel", opt_name(&t.channel, "Trigger.channel")?),
        ("action", name(&t.action, "Trigger.action")?),
        ("offer", opt(t.offer.as_ref(), offer)),
        ("send_after", opt(t.send_after, ts)),
        ("obstacle", opt_name(&t.obstacle, "Trigger.obstacle")?),
        ("stage", name(&t.stage, "Trigger.stage")?),
        ("reason", opt_name(&t.reason, "Trigger.reason")?),
        ("context", context_value(&t.context)?),
    ]))
}

/// A `SessionSummary` value.
pub(super) fn session_value(s: &SessionSummary) -> Result<Value, AvroError> {
    Ok(record([
        ("session_id", string(&s.session_id)),
        ("customer_id", string(&s.customer_id)),
        ("start", ts(s.start)),
        ("end", ts(s.end)),
        ("events", count(s.events)),
        ("page_views", count(s.page_views)),
        ("product_views", count(s.product_views)),
        ("duration_s", Value::Double(s.duration_s)),
        ("bounce", Value::Boolean(s.bounce)),
        ("entry_path", opt_string(&s.entry_path)),
        ("exit_path", opt_string(&s.exit_path)),
        (
            "furthest_step",
            name(&s.furthest_step, "SessionSummary.furthest_step")?,
        ),
        ("cart_value", Value::Double(s.cart_value)),
        ("converted", Value::Boolean(s.converted)),
        ("revenue", Value::Double(s.revenue)),
        ("device", opt_name(&s.device, "SessionSummary.device")?),
        ("segment", opt_string(&s.segment)),
    ]))
}

/// An `Outcome` value.
pub(super) fn outcome_value(o: &Outcome) -> Result<Value, AvroError> {
    Ok(record([
        ("trigger_id", string(&o.trigger_id)),
        ("customer_id", string(&o.customer_id)),
        ("type", name(&o.kind, "Outcome.type")?),
        ("arm", name(&o.arm, "Outcome.arm")?),
        ("order_id", opt_string(&o.order_id)),
        ("revenue", Value::Double(o.revenue)),
        ("converted_at", ts(o.converted_at)),
        (
            "seconds_to_conversion",
            Value::Double(o.seconds_to_conversion),
        ),
    ]))
}
