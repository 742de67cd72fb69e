//! Records from apache-avro `Value`s, field by field in schema order.

use apache_avro::types::{Value, ValueKind};
use serde::de::value::{Error as StrError, StrDeserializer};
use serde::de::DeserializeOwned;

use crate::error::{DecodeError, DecodeErrorKind};
use crate::input::{ClickEvent, Consent, CrmEvent, EmailEvent, Order, Page, Product, Profile, Utm};
use crate::output::{CartLine, Offer, Outcome, SessionSummary, Trigger, TriggerContext};
use crate::time::Ts;

/// The fields of a decoded record, taken in schema order.
pub(super) struct Record {
    name: &'static str,
    fields: std::vec::IntoIter<(String, Value)>,
}

/// One field's value, with where it came from for error messages.
struct Field {
    at: (&'static str, &'static str),
    value: Value,
}

fn mismatch(at: (&'static str, &'static str), detail: impl std::fmt::Display) -> DecodeError {
    let (record, field) = at;
    DecodeError::new(
        DecodeErrorKind::SchemaMismatch,
        format!("{record}.{field}: {detail}"),
    )
}

impl Record {
    /// The record `name`, if `value` is a record.
    pub(super) fn new(name: &'static str, value: Value) -> Result<Record, DecodeError> {
        match value {
            Value::Record(fields) => Ok(Record {
                name,
                fields: fields.into_iter(),
            }),
            other => Err(mismatch(
                (name, "*"),
                format!("expected a record, found {:?}", ValueKind::from(&other)),
            )),
        }
    }

    /// The next field, which must be `field`: values come in the order of our own schema.
    fn field(&mut self, field: &'static str) -> Result<Field, DecodeError> {
        let at = (self.name, field);
        match self.fields.next() {
            Some((name, value)) if name == field => Ok(Field { at, value }),
            Some((name, _)) => Err(mismatch(at, format!("found field {name:?} instead"))),
            None => Err(mismatch(at, "missing")),
        }
    }
}

impl Field {
    fn wrong(&self, expected: &str) -> DecodeError {
        mismatch(
            self.at,
            format!(
                "expected {expected}, found {:?}",
                ValueKind::from(&self.value)
            ),
        )
    }

    /// The value of a `["null", T]` union, `None` for null.
    fn opt<T>(
        self,
        f: impl FnOnce(Field) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        match self.value {
            Value::Union(_, inner) => match *inner {
                Value::Null => Ok(None),
                value => f(Field { value, ..self }).map(Some),
            },
            _ => Err(self.wrong("a union")),
        }
    }

    fn string<S: From<String>>(self) -> Result<S, DecodeError> {
        match self.value {
            Value::String(s) => Ok(s.into()),
            _ => Err(self.wrong("a string")),
        }
    }

    fn double(self) -> Result<f64, DecodeError> {
        match self.value {
            Value::Double(v) => Ok(v),
            _ => Err(self.wrong("a double")),
        }
    }

    fn boolean(self) -> Result<bool, DecodeError> {
        match self.value {
            Value::Boolean(v) => Ok(v),
            _ => Err(self.wrong("a boolean")),
        }
    }

    fn ts(self) -> Result<Ts, DecodeError> {
        match self.value {
            Value::TimestampMillis(ms) | Value::Long(ms) => Ok(Ts(ms)),
            _ => Err(self.wrong("timestamp-millis")),
        }
    }

    /// A `long` holding a `u32` count.
    fn count(self) -> Result<u32, DecodeError> {
        match self.value {
            Value::Long(n) => u32::try_from(n)
                .map_err(|_| mismatch(self.at, format!("{n} is not a count (0 ..= 2^32-1)"))),
            _ => Err(self.wrong("a long")),
        }
    }

    /// An enumeration from its snake_case name, with the type's own fallback for unknown names.
    fn name<T: DeserializeOwned>(self) -> Result<T, DecodeError> {
        let at = self.at;
        let s = self.string::<String>()?;
        T::deserialize(StrDeserializer::<StrError>::new(&s)).map_err(|e| mismatch(at, e))
    }

    fn record(self, name: &'static str) -> Result<Record, DecodeError> {
        match self.value {
            Value::Record(_) => Record::new(name, self.value),
            _ => Err(self.wrong("a record")),
        }
    }

    fn array(self) -> Result<Vec<Value>, DecodeError> {
        match self.value {
            Value::Array(items) => Ok(items),
            _ => Err(self.wrong("an array")),
        }
    }
}

fn page(mut r: Record) -> Result<Page, DecodeError> {
    Ok(Page {
        path: r.field("path")?.opt(Field::string)?,
        title: r.field("title")?.opt(Field::string)?,
        referrer: r.field("referrer")?.opt(Field::string)?,
    })
}

fn product(mut r: Record) -> Result<Product, DecodeError> {
    Ok(Product {
        sku: r.field("sku")?.opt(Field::string)?,
        name: r.field("name")?.opt(Field::string)?,
        category: r.field("category")?.opt(Field::string)?,
        price: r.field("price")?.opt(Field::double)?,
        quantity: r.field("quantity")?.opt(Field::count)?,
    })
}

fn order(mut r: Record) -> Result<Order, DecodeError> {
    Ok(Order {
        order_id: r.field("order_id")?.opt(Field::string)?,
        revenue: r.field("revenue")?.opt(Field::double)?,
        currency: r.field("currency")?.opt(Field::string)?,
        items: r
            .field("items")?
            .array()?
            .into_iter()
            .map(|v| Record::new("Product", v).and_then(product))
            .collect::<Result<_, _>>()?,
    })
}

fn utm(mut r: Record) -> Result<Utm, DecodeError> {
    Ok(Utm {
        source: r.field("source")?.opt(Field::string)?,
        medium: r.field("medium")?.opt(Field::string)?,
        campaign: r.field("campaign")?.opt(Field::string)?,
        term: r.field("term")?.opt(Field::string)?,
        content: r.field("content")?.opt(Field::string)?,
    })
}

/// A `ClickEvent` from its record value.
pub(super) fn click(mut r: Record) -> Result<ClickEvent, DecodeError> {
    Ok(ClickEvent {
        event_id: r.field("event_id")?.opt(Field::string)?,
        customer_id: r.field("customer_id")?.opt(Field::string)?,
        anonymous_id: r.field("anonymous_id")?.opt(Field::string)?,
        kind: r.field("type")?.name()?,
        ts: r.field("ts")?.ts()?,
        device: r.field("device")?.opt(Field::name)?,
        page: r.field("page")?.opt(|f| f.record("Page").and_then(page))?,
        product: r
            .field("product")?
            .opt(|f| f.record("Product").and_then(product))?,
        checkout_step: r.field("checkout_step")?.opt(Field::name)?,
        order: r
            .field("order")?
            .opt(|f| f.record("Order").and_then(order))?,
        utm: r.field("utm")?.opt(|f| f.record("Utm").and_then(utm))?,
    })
}

/// An `EmailEvent` from its record value.
pub(super) fn email(mut r: Record) -> Result<EmailEvent, DecodeError> {
    Ok(EmailEvent {
        event_id: r.field("event_id")?.opt(Field::string)?,
        customer_id: r.field("customer_id")?.opt(Field::string)?,
        kind: r.field("type")?.name()?,
        ts: r.field("ts")?.ts()?,
        campaign_id: r.field("campaign_id")?.opt(Field::string)?,
        email: r.field("email")?.opt(Field::string)?,
    })
}

fn consent(mut r: Record) -> Result<Consent, DecodeError> {
    Ok(Consent {
        email: r.field("email")?.boolean()?,
        sms: r.field("sms")?.boolean()?,
        push: r.field("push")?.boolean()?,
    })
}

fn profile(mut r: Record) -> Result<Profile, DecodeError> {
    Ok(Profile {
        email: r.field("email")?.opt(Field::string)?,
        phone: r.field("phone")?.opt(Field::string)?,
        timezone: r.field("timezone")?.opt(Field::string)?,
        preferred_channel: r.field("preferred_channel")?.opt(Field::string)?,
        consent: consent(r.field("consent")?.record("Consent")?)?,
        segment: r.field("segment")?.opt(Field::string)?,
        lifetime_value: r.field("lifetime_value")?.opt(Field::double)?,
        orders_count: r.field("orders_count")?.opt(Field::count)?,
        loyalty_tier: r.field("loyalty_tier")?.opt(Field::string)?,
    })
}

/// A `CrmEvent` from its record value.
pub(super) fn crm(mut r: Record) -> Result<CrmEvent, DecodeError> {
    Ok(CrmEvent {
        event_id: r.field("event_id")?.opt(Field::string)?,
        customer_id: r.field("customer_id")?.opt(Field::string)?,
        kind: r.field("type")?.name()?,
        ts: r.field("ts")?.ts()?,
        profile: r
            .field("profile")?
            .opt(|f| f.record("Profile").and_then(profile))?,
    })
}

fn cart_line(mut r: Record) -> Result<CartLine, DecodeError> {
    Ok(CartLine {
        sku: r.field("sku")?.string()?,
        name: r.field("name")?.opt(Field::string)?,
        quantity: r.field("quantity")?.count()?,
        price: r.field("price")?.double()?,
    })
}

fn context(mut r: Record) -> Result<TriggerContext, DecodeError> {
    Ok(TriggerContext {
        cart_items: r
            .field("cart_items")?
            .array()?
            .into_iter()
            .map(|v| Record::new("CartLine", v).and_then(cart_line))
            .collect::<Result<_, _>>()?,
        cart_value: r.field("cart_value")?.double()?,
        session_id: r.field("session_id")?.opt(Field::string)?,
        last_page: r.field("last_page")?.opt(Field::string)?,
        checkout_step: r.field("checkout_step")?.opt(Field::name)?,
        segment: r.field("segment")?.opt(Field::string)?,
        lifetime_value: r.field("lifetime_value")?.opt(Field::double)?,
        device: r.field("device")?.opt(Field::name)?,
    })
}

fn offer(mut r: Record) -> Result<Offer, DecodeError> {
    Ok(Offer {
        kind: r.field("kind")?.string()?,
        percent: r.field("percent")?.count()?,
    })
}

/// A `Trigger` from its record value.
pub(super) fn trigger(mut r: Record) -> Result<Trigger, DecodeError> {
    Ok(Trigger {
        trigger_id: r.field("trigger_id")?.string()?,
        customer_id: r.field("customer_id")?.string()?,
        kind: r.field("type")?.name()?,
        arm: r.field("arm")?.opt(Field::name)?,
        due_at: r.field("due_at")?.ts()?,
        channel: r.field("channel")?.opt(Field::name)?,
        action: r.field("action")?.name()?,
        offer: r
            .field("offer")?
            .opt(|f| f.record("Offer").and_then(offer))?,
        send_after: r.field("send_after")?.opt(Field::ts)?,
        obstacle: r.field("obstacle")?.opt(Field::name)?,
        stage: r.field("stage")?.name()?,
        reason: r.field("reason")?.opt(Field::name)?,
        context: context(r.field("context")?.record("TriggerContext")?)?,
    })
}

/// A `SessionSummary` from its record value.
pub(super) fn session(mut r: Record) -> Result<SessionSummary, DecodeError> {
    Ok(SessionSummary {
        session_id: r.field("session_id")?.string()?,
        customer_id: r.field("customer_id")?.string()?,
        start: r.field("start")?.ts()?,
        end: r.field("end")?.ts()?,
        events: r.field("events")?.count()?,
        page_views: r.field("page_views")?.count()?,
        product_views: r.field("product_views")?.count()?,
        duration_s: r.field("duration_s")?.double()?,
        bounce: r.field("bounce")?.boolean()?,
        entry_path: r.field("entry_path")?.opt(Field::string)?,
        exit_path: r.field("exit_path")?.opt(Field::string)?,
        furthest_step: r.field("furthest_step")?.name()?,
        cart_value: r.field("cart_value")?.double()?,
        converted: r.field("converted")?.boolean()?,
        revenue: r.field("revenue")?.double()?,
        device: r.field("device")?.opt(Field::name)?,
        segment: r.field("segment")?.opt(Field::string)?,
    })
}

/// An `Outcome` from its record value.
pub(super) fn outcome(mut r: Record) -> Result<Outcome, DecodeError> {
    Ok(Outcome {
        trigger_id: r.field("trigger_id")?.string()?,
        customer_id: r.field("customer_id")?.string()?,
        kind: r.field("type")?.name()?,
        arm: r.field("arm")?.name()?,
        order_id: r.field("order_id")?.opt(Field::string)?,
        revenue: r.field("revenue")?.double()?,
        converted_at: r.field("converted_at")?.ts()?,
        seconds_to_conversion: r.field("seconds_to_conversion")?.double()?,
    })
}
