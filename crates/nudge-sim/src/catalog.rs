//! The simulated shop: products, pages, traffic sources, time zones and devices.

use nudge_events::{Device, Utm};

/// One product of the catalogue. Prices are in cents so sums stay exact.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Item {
    pub sku: &'static str,
    pub name: &'static str,
    pub category: &'static str,
    pub cents: u64,
}

const fn item(sku: &'static str, name: &'static str, category: &'static str, cents: u64) -> Item {
    Item {
        sku,
        name,
        category,
        cents,
    }
}

/// The catalogue: cheap add-ons, mid-range clothing and a few items over 100 EUR (so some
/// carts qualify for a discount by value alone).
pub(crate) const PRODUCTS: [Item; 16] = [
    item("SKU-1001", "Trail Running Shoe", "shoes", 8_990),
    item("SKU-1002", "Leather Sneaker", "shoes", 11_900),
    item("SKU-1003", "Hiking Boot", "shoes", 16_900),
    item("SKU-1004", "Wool Socks (3 pack)", "accessories", 1_499),
    item("SKU-1005", "Water Bottle", "accessories", 1_990),
    item("SKU-1006", "Baseball Cap", "accessories", 2_490),
    item("SKU-1007", "Rain Jacket", "outerwear", 14_900),
    item("SKU-1008", "Down Vest", "outerwear", 9_950),
    item("SKU-1009", "Winter Parka", "outerwear", 27_900),
    item("SKU-1010", "Merino T-Shirt", "tops", 4_900),
    item("SKU-1011", "Hoodie", "tops", 6_900),
    item("SKU-1012", "Chino Trousers", "bottoms", 7_900),
    item("SKU-1013", "Running Shorts", "bottoms", 3_490),
    item("SKU-1014", "Canvas Backpack", "bags", 7_950),
    item("SKU-1015", "Yoga Mat", "sports", 3_990),
    item("SKU-1016", "Resistance Bands", "sports", 2_290),
];

/// Categories with a listing page at `/c/<name>`.
pub(crate) const CATEGORIES: [&str; 7] = [
    "shoes",
    "accessories",
    "outerwear",
    "tops",
    "bottoms",
    "bags",
    "sports",
];

/// Search terms, as typed and as URL query.
pub(crate) const SEARCHES: [(&str, &str); 6] = [
    ("running shoes", "running+shoes"),
    ("rain jacket", "rain+jacket"),
    ("backpack", "backpack"),
    ("wool socks", "wool+socks"),
    ("winter parka", "winter+parka"),
    ("yoga", "yoga"),
];

/// Campaign tags on a landing page: (source, medium, campaign).
pub(crate) type Tags = (&'static str, &'static str, &'static str);

/// Where visits come from: referrer (`None` for direct traffic), campaign tags, weight.
pub(crate) const TRAFFIC: [(Option<&str>, Option<Tags>, u32); 8] = [
    (None, None, 30),
    (Some("https://www.google.com/"), None, 25),
    (
        Some("https://www.google.com/"),
        Some(("google", "cpc", "brand")),
        10,
    ),
    (Some("https://www.bing.com/"), None, 5),
    (
        Some("https://www.instagram.com/"),
        Some(("instagram", "social", "new_in")),
        10,
    ),
    (Some("https://www.facebook.com/"), None, 5),
    (
        Some("https://mail.example.com/"),
        Some(("newsletter", "email", "weekly")),
        10,
    ),
    (
        Some("https://deals.example.net/"),
        Some(("partner", "affiliate", "spring_promo")),
        5,
    ),
];

/// The tag of a visit that came back through a cart or checkout reminder.
pub(crate) const REMINDER: Tags = ("nudge", "email", "cart_reminder");

/// A campaign tag as a record's `utm`.
pub(crate) fn utm((source, medium, campaign): Tags) -> Utm {
    Utm {
        source: Some(source.into()),
        medium: Some(medium.into()),
        campaign: Some(campaign.into()),
        term: None,
        content: None,
    }
}

/// A time zone customers live in, with its standard offset from UTC in minutes (DST is
/// ignored: the offset only nudges session starts towards local daytime).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Zone {
    pub name: &'static str,
    pub offset_min: i64,
}

const fn zone(name: &'static str, offset_min: i64) -> Zone {
    Zone { name, offset_min }
}

/// Customers' time zones and their weights.
pub(crate) const ZONES: [(Zone, u32); 10] = [
    (zone("Europe/Berlin", 60), 25),
    (zone("Europe/London", 0), 15),
    (zone("America/New_York", -300), 15),
    (zone("America/Chicago", -360), 5),
    (zone("America/Los_Angeles", -480), 10),
    (zone("Asia/Tokyo", 540), 8),
    (zone("Australia/Sydney", 600), 6),
    (zone("Asia/Kolkata", 330), 6),
    (zone("America/Sao_Paulo", -180), 5),
    (zone("UTC", 0), 5),
];

/// Devices and how many customers mostly use each.
pub(crate) const DEVICES: [(Device, u32); 4] = [
    (Device::Mobile, 45),
    (Device::Desktop, 35),
    (Device::Tablet, 8),
    (Device::App, 12),
];

/// Cents as the decimal amount the records carry.
pub(crate) fn money(cents: u64) -> f64 {
    // Exact: cents stay far below 2^53, and one correctly rounded division gives the same
    // double that parsing the printed decimal gives back.
    cents as f64 / 100.0
}
