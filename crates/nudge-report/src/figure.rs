//! A figure on the page: its text and where it comes from in the report's JSON.
//!
//! Every piece of data the page shows is written through [`Fig`], which tags the element
//! with `data-f` (the JSON pointer of the value) and `data-fmt` (how it was formatted), so
//! a checker can parse each one back and compare it with the JSON, and can tell that any
//! digit outside such an element is not data. `null` always reads "n/a".

use std::fmt::Write as _;

/// A formatted value and its JSON pointer.
pub(crate) struct Fig {
    ptr: String,
    fmt: &'static str,
    text: String,
}

/// What the page shows for `null`.
pub const NOT_AVAILABLE: &str = "n/a";

impl Fig {
    fn new(ptr: String, fmt: &'static str, text: Option<String>) -> Fig {
        Fig {
            ptr,
            fmt,
            text: text.unwrap_or_else(|| NOT_AVAILABLE.to_owned()),
        }
    }

    /// A count: `1,234`.
    pub fn count(ptr: String, n: u64) -> Fig {
        Fig::new(ptr, "count", Some(thousands(&n.to_string())))
    }

    /// An optional count.
    pub fn opt_count(ptr: String, n: Option<u64>) -> Fig {
        Fig::new(ptr, "count", n.map(|n| thousands(&n.to_string())))
    }

    /// A fraction as a percentage with one decimal: `12.5%`.
    pub fn pct(ptr: String, v: Option<f64>) -> Fig {
        Fig::new(ptr, "pct", v.map(|v| format!("{:.1}%", v * 100.0)))
    }

    /// A difference of fractions in signed percentage points: `+12.5 pp`.
    pub fn pp(ptr: String, v: Option<f64>) -> Fig {
        Fig::new(ptr, "pp", v.map(|v| format!("{:+.1} pp", v * 100.0)))
    }

    /// A number with two decimals: `1,234.50`.
    pub fn num(ptr: String, v: Option<f64>) -> Fig {
        Fig::new(
            ptr,
            "num",
            v.map(|v| with_sign(v, &thousands(&format!("{:.2}", v.abs())))),
        )
    }

    /// Seconds, rounded to the second: `1h 02m 05s`, `4m 30s`, `45s`.
    pub fn dur(ptr: String, v: Option<f64>) -> Fig {
        Fig::new(ptr, "dur", v.map(duration))
    }

    /// Text shown as it is.
    pub fn text(ptr: String, v: Option<&str>) -> Fig {
        Fig::new(ptr, "text", v.map(str::to_owned))
    }

    /// A snake_case name shown with spaces: `cart abandoned`.
    pub fn label(ptr: String, v: &str) -> Fig {
        Fig::new(ptr, "label", Some(v.replace('_', " ")))
    }

    /// The tagging attributes, for an element written elsewhere.
    pub fn attrs(&self) -> String {
        format!("data-f=\"{}\" data-fmt=\"{}\"", escape(&self.ptr), self.fmt)
    }

    /// The displayed text, escaped.
    pub fn html_text(&self) -> String {
        escape(&self.text)
    }

    /// The figure as an element named `tag`.
    pub fn el(&self, tag: &str) -> String {
        format!("<{tag} {}>{}</{tag}>", self.attrs(), self.html_text())
    }

    /// The figure as a `<span>`.
    pub fn span(&self) -> String {
        self.el("span")
    }

    /// The figure as a table cell.
    pub fn td(&self) -> String {
        self.el("td")
    }
}

/// Escapes text for HTML content and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Inserts a comma every three digits of the integer part of a plain decimal number.
fn thousands(digits: &str) -> String {
    let (int, frac) = digits.split_at(digits.find('.').unwrap_or(digits.len()));
    let mut out = String::with_capacity(digits.len() + int.len() / 3);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out + frac
}

fn with_sign(v: f64, abs: &str) -> String {
    if v < 0.0 && abs.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        format!("-{abs}")
    } else {
        abs.to_owned()
    }
}

fn duration(secs: f64) -> String {
    let total = secs.max(0.0).round() as u64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = if h > 0 {
        write!(out, "{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        write!(out, "{m}m {s:02}s")
    } else {
        write!(out, "{s}s")
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: Fig) -> String {
        f.text
    }

    #[test]
    fn formats() {
        let p = String::new;
        assert_eq!(text(Fig::count(p(), 1_234_567)), "1,234,567");
        assert_eq!(text(Fig::count(p(), 12)), "12");
        assert_eq!(text(Fig::pct(p(), Some(0.125))), "12.5%");
        assert_eq!(text(Fig::pct(p(), None)), "n/a");
        assert_eq!(text(Fig::pp(p(), Some(-0.0333))), "-3.3 pp");
        assert_eq!(text(Fig::pp(p(), Some(0.25))), "+25.0 pp");
        assert_eq!(text(Fig::num(p(), Some(1234.5))), "1,234.50");
        assert_eq!(text(Fig::num(p(), Some(-0.001))), "0.00");
        assert_eq!(text(Fig::num(p(), Some(-12.5))), "-12.50");
        assert_eq!(text(Fig::dur(p(), Some(3725.4))), "1h 02m 05s");
        assert_eq!(text(Fig::dur(p(), Some(270.0))), "4m 30s");
        assert_eq!(text(Fig::dur(p(), Some(0.0))), "0s");
        assert_eq!(text(Fig::label(p(), "cart_abandoned")), "cart abandoned");
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#x27;"
        );
    }
}
