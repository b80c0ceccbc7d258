//! The design system's components: how a phone number, a time, a badge, an empty state, a toast
//! and a form field look and behave, in one place, so every page reads the same. Colours,
//! spacing and type are tokens in style.css; these emit the classes it styles.
//!
//! Forms that save data are [`Form`]s: they post to `/app/save` (see `forms.rs`), so they work
//! without JavaScript, and a refused save re-renders the page with each error by its field.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use maud::{Markup, Render, html};

/// A phone number as people read it, `(512) 555-0123`, that calls it when tapped.
pub fn phone(raw: &str) -> Markup {
    html! { a class="tel" href={ "tel:" (raw) } { (nmc_domain::phone::display(raw)) } }
}

/// When something happened, as people say it ("3 min ago"), with the date and time in the
/// business's timezone on hover and in `datetime` for machines.
pub fn when(at: DateTime<Utc>, zone: Tz) -> Markup {
    let local = at.with_timezone(&zone);
    html! {
        time datetime=(at.to_rfc3339()) title=(local.format("%a %b %-d, %-I:%M %p %Z")) data-ago {
            (relative(at, Utc::now(), zone))
        }
    }
}

/// "just now", "12 min ago", "3 h ago" (today), "yesterday 4:12 PM", "Mon 4:12 PM" (this
/// week), then "Nov 21"; days are the business's days, not the server's.
pub fn relative(at: DateTime<Utc>, now: DateTime<Utc>, zone: Tz) -> String {
    let ago = now - at;
    let (day, today) = (
        at.with_timezone(&zone).date_naive(),
        now.with_timezone(&zone).date_naive(),
    );
    let clock = at.with_timezone(&zone).format("%-I:%M %p");
    if ago < chrono::Duration::minutes(1) {
        "just now".into()
    } else if ago < chrono::Duration::hours(1) {
        format!("{} min ago", ago.num_minutes())
    } else if day == today {
        format!("{} h ago", ago.num_hours())
    } else if today.pred_opt() == Some(day) {
        format!("yesterday {clock}")
    } else if ago < chrono::Duration::days(6) {
        format!("{} {clock}", at.with_timezone(&zone).format("%a"))
    } else if day.year() == today.year() {
        at.with_timezone(&zone).format("%b %-d").to_string()
    } else {
        at.with_timezone(&zone).format("%b %-d, %Y").to_string()
    }
}

/// A badge's meaning, which sets its colour.
#[derive(Clone, Copy)]
pub enum Tone {
    Info,
    Ok,
    Warn,
    Bad,
    Muted,
}

pub fn badge(text: &str, tone: Tone) -> Markup {
    let class = match tone {
        Tone::Info => "badge",
        Tone::Ok => "badge ok",
        Tone::Warn => "badge warn",
        Tone::Bad => "badge bad",
        Tone::Muted => "badge muted",
    };
    html! { span class=(class) { (text) } }
}

/// What an empty list says, and the one thing to do about it.
pub fn empty(message: &Markup, action: Option<(&str, &str)>) -> Markup {
    html! {
        div class="empty" {
            p { (message) }
            @if let Some((href, label)) = action { a class="button" href=(href) { (label) } }
        }
    }
}

/// A short message at the bottom of the screen ("Saved", or what went wrong).
pub fn toast(message: &str, bad: bool) -> Markup {
    html! {
        @if bad { div class="toast bad" role="alert" { (message) } }
        @else { div class="toast" role="status" { (message) } }
    }
}

/// A destructive action behind one more tap, without script: the summary opens the
/// consequence and the button that does it.
pub fn confirm(f: &Form, action: &str, consequence: &str) -> Markup {
    confirm_with(f, action, consequence, &html! {})
}

/// [`confirm`], with fields the action needs (what it is about, a name typed again).
pub fn confirm_with(f: &Form, action: &str, consequence: &str, fields: &Markup) -> Markup {
    html! {
        details class="confirm" open[f.sent.is_some()] {
            summary { (action) "…" }
            (f.render("confirm-form", &html! {
                p { (consequence) }
                (fields)
                button type="submit" class="danger" { (action) }
            }))
        }
    }
}

/// What a form sent when the API refused it: the page it came from is rendered again with these
/// values in the fields and each error next to its field.
#[derive(Clone, Debug, Default)]
pub struct Submitted {
    pub form: String,
    pub values: Vec<(String, String)>,
    pub errors: BTreeMap<String, String>,
    pub message: Option<String>,
}

impl Submitted {
    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every page handler can ask for it; it is empty unless `/app/save` is re-rendering the page.
impl<S: Send + Sync> FromRequestParts<S> for Submitted {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Arc<Submitted>>()
            .map(|s| (**s).clone())
            .unwrap_or_default())
    }
}

/// A form that saves through the owner API: `method` on `api`, then on to `next` (or back to
/// the page it is on, `back`). Built per page; fields come from [`Form::field`].
pub struct Form<'a> {
    id: String,
    method: &'static str,
    api: String,
    back: String,
    next: Option<String>,
    merge: bool,
    changed_only: bool,
    sent: Option<&'a Submitted>,
    /// The fields that show their own error; the summary lists the rest.
    shown: Mutex<BTreeSet<String>>,
}

impl<'a> Form<'a> {
    pub fn new(
        sent: &'a Submitted,
        id: impl Into<String>,
        method: &'static str,
        api: impl Into<String>,
        back: impl Into<String>,
    ) -> Self {
        let id = id.into();
        Self {
            sent: (sent.form == id).then_some(sent),
            id,
            method,
            api: api.into(),
            back: back.into(),
            next: None,
            merge: false,
            changed_only: false,
            shown: Mutex::default(),
        }
    }

    /// Where the browser goes after a save (`{id}` is the new record's id).
    #[must_use]
    pub fn next(mut self, to: impl Into<String>) -> Self {
        self.next = Some(to.into());
        self
    }

    /// Start from the record as it is (a GET of `api`), so a PUT keeps what the form lacks.
    #[must_use]
    pub fn merge(mut self) -> Self {
        self.merge = true;
        self
    }

    /// Send only what the owner changed (an owner's edit of a lead locks that field).
    #[must_use]
    pub fn changed_only(mut self) -> Self {
        self.changed_only = true;
        self
    }

    /// The value to show: what was just sent, if this form was, else what is stored.
    pub fn value(&self, name: &str, stored: &str) -> String {
        match self.sent {
            Some(s) => s.get(name).unwrap_or_default().to_owned(),
            None => stored.to_owned(),
        }
    }

    pub fn checked(&self, name: &str, value: &str, stored: bool) -> bool {
        match self.sent {
            Some(s) => s.values.iter().any(|(k, v)| k == name && v == value),
            None => stored,
        }
    }

    /// The error to show by the field `name` (asking marks it shown, so the summary leaves it out).
    pub fn error(&self, name: &str) -> Option<&str> {
        self.shown_names().insert(name.to_owned());
        self.sent
            .and_then(|s| s.errors.get(name))
            .map(String::as_str)
    }

    pub fn field(&self, name: &str, label: &str, stored: &str) -> Field<'_, 'a> {
        Field {
            form: self,
            name: name.to_owned(),
            id: name.to_owned(),
            label: label.to_owned(),
            stored: stored.to_owned(),
            kind: Kind::Text,
            control: Control::Input("text"),
            hint: None,
            attrs: Vec::new(),
        }
    }

    /// A Mutex, not a RefCell: pages hold forms across awaits, so a form must be `Sync`.
    fn shown_names(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.shown.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The `<form>`: a plain POST that works without script, which the script enhances.
    pub fn render(&self, class: &str, body: &Markup) -> Markup {
        html! {
            form method="post" action="/app/save" id=(self.id) class=(class) data-enhance {
                input type="hidden" name="_form" value=(self.id);
                input type="hidden" name="_method" value=(self.method);
                input type="hidden" name="_api" value=(self.api);
                input type="hidden" name="_back" value=(self.back);
                @if let Some(next) = &self.next { input type="hidden" name="_next" value=(next); }
                @if self.merge { input type="hidden" name="_merge" value="1"; }
                @if let Some(s) = self.sent { (summary(s, &self.shown_names())) }
                (body)
            }
        }
    }
}

/// Above the fields after a refused save: what went wrong, with what has no field of its own.
fn summary(s: &Submitted, shown: &BTreeSet<String>) -> Markup {
    let unplaced: Vec<String> = s
        .errors
        .iter()
        .filter(|(k, _)| !shown.contains(*k))
        .map(|(k, v)| format!("{}: {v}", k.replace('_', " ")))
        .collect();
    html! {
        div class="form-alert error" role="alert" tabindex="-1" {
            @if s.errors.is_empty() {
                p { (s.message.clone().unwrap_or_else(|| "That was not saved. Try again.".into())) }
            } @else {
                p { "Please fix the fields marked below." }
            }
            @for u in &unplaced { p { (u) } }
        }
    }
}

/// How a field's text becomes JSON for the API (the script used to do this; now `/app/save`
/// does, for both paths).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// Empty means `null`.
    Optional,
    Int,
    /// Dollars typed, cents sent; empty means `null`.
    Cents,
    Bool,
    List,
    /// Hours typed, seconds sent.
    HourList,
    Time,
    /// One item per line (texts that hold commas).
    Lines,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Optional => "optional",
            Kind::Int => "int",
            Kind::Cents => "cents",
            Kind::Bool => "bool",
            Kind::List => "list",
            Kind::HourList => "hourlist",
            Kind::Time => "time",
            Kind::Lines => "lines",
        }
    }
}

enum Control {
    Input(&'static str),
    Textarea(u8),
    Select(Vec<(String, String)>),
    Checkbox,
}

/// One labelled field with its hint and inline error (see [`Form::field`]).
pub struct Field<'f, 'a> {
    form: &'f Form<'a>,
    name: String,
    id: String,
    label: String,
    stored: String,
    kind: Kind,
    control: Control,
    hint: Option<String>,
    attrs: Vec<(&'static str, String)>,
}

impl Field<'_, '_> {
    #[must_use]
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }
    #[must_use]
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }
    #[must_use]
    pub fn input(mut self, input_type: &'static str) -> Self {
        self.control = Control::Input(input_type);
        self
    }
    #[must_use]
    pub fn textarea(mut self, rows: u8) -> Self {
        self.control = Control::Textarea(rows);
        self
    }
    #[must_use]
    pub fn select<V: ToString, L: ToString>(mut self, options: &[(V, L)]) -> Self {
        let options = options
            .iter()
            .map(|(v, l)| (v.to_string(), l.to_string()))
            .collect();
        self.control = Control::Select(options);
        self
    }
    #[must_use]
    pub fn checkbox(mut self) -> Self {
        self.control = Control::Checkbox;
        self.kind = Kind::Bool;
        self
    }
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Any other attribute of the control (`required`, `maxlength`, `inputmode`…).
    #[must_use]
    pub fn attr(mut self, name: &'static str, value: impl ToString) -> Self {
        self.attrs.push((name, value.to_string()));
        self
    }

    fn described_by(&self, error: bool) -> Option<String> {
        let ids: Vec<String> = [
            self.hint.as_ref().map(|_| format!("{}-hint", self.id)),
            error.then(|| format!("{}-error", self.id)),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    fn control(&self, value: &str, error: bool) -> Markup {
        let invalid = error.then_some("true");
        let described = self.described_by(error);
        let (id, name) = (&self.id, &self.name);
        match &self.control {
            Control::Input(t) => html! {
                input id=(id) name=(name) type=(t) value=(value) aria-invalid=[invalid] aria-describedby=[described]
                    required[self.has("required")] maxlength=[self.get("maxlength")] inputmode=[self.get("inputmode")]
                    autocomplete=[self.get("autocomplete")] pattern=[self.get("pattern")] placeholder=[self.get("placeholder")];
            },
            Control::Textarea(rows) => html! {
                textarea id=(id) name=(name) rows=(rows) aria-invalid=[invalid] aria-describedby=[described]
                    required[self.has("required")] maxlength=[self.get("maxlength")]
                    data-preview=[self.get("data-preview")] data-target=[self.get("data-target")] { (value) }
            },
            Control::Select(options) => html! {
                select id=(id) name=(name) aria-invalid=[invalid] aria-describedby=[described] {
                    @for (v, l) in options { option value=(v) selected[*v == value] { (l) } }
                }
            },
            Control::Checkbox => html! {
                input id=(id) name=(name) type="checkbox" value="true" checked[self.form.checked(name, "true", self.stored == "true")]
                    aria-invalid=[invalid] aria-describedby=[described];
            },
        }
    }

    fn has(&self, name: &str) -> bool {
        self.attrs.iter().any(|(k, _)| *k == name)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Render for Field<'_, '_> {
    fn render(&self) -> Markup {
        let value = self.form.value(&self.name, &self.stored);
        let error = self.form.error(&self.name);
        let checkbox = matches!(self.control, Control::Checkbox);
        html! {
            div class="field" {
                @if checkbox {
                    label class="check" for=(self.id) { (self.control(&value, error.is_some())) " " (self.label) }
                } @else {
                    label for=(self.id) { (self.label) }
                }
                @if let Some(h) = &self.hint { small id={ (self.id) "-hint" } class="hint" { (h) } }
                @if !checkbox { (self.control(&value, error.is_some())) }
                @if self.kind != Kind::Text { input type="hidden" name="_type" value={ (self.name) ":" (self.kind.as_str()) }; }
                @if self.form.changed_only { input type="hidden" name={ "_was." (self.name) } value=(self.stored); }
                @if let Some(e) = error { p id={ (self.id) "-error" } class="field-error error" { (e) } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_read_as_people_say_them_in_the_business_day() {
        let zone: Tz = "America/Chicago".parse().unwrap();
        // 2026-12-05 18:00 UTC is noon in Chicago.
        let now = Utc.with_ymd_and_hms(2026, 12, 5, 18, 0, 0).unwrap();
        let m = |mins: i64| now - chrono::Duration::minutes(mins);
        assert_eq!(relative(m(0), now, zone), "just now");
        assert_eq!(relative(m(12), now, zone), "12 min ago");
        assert_eq!(relative(m(180), now, zone), "3 h ago");
        // 11:30 pm the day before, Chicago time (05:30 UTC the same UTC day).
        assert_eq!(relative(m(750), now, zone), "yesterday 11:30 PM");
        assert_eq!(
            relative(now - chrono::Duration::days(3), now, zone),
            "Wed 12:00 PM"
        );
        assert_eq!(
            relative(now - chrono::Duration::days(14), now, zone),
            "Nov 21"
        );
        assert_eq!(
            relative(now - chrono::Duration::days(400), now, zone),
            "Oct 31, 2025"
        );
    }

    #[test]
    fn a_refused_form_shows_what_was_sent_and_the_error_by_its_field() {
        let sent = Submitted {
            form: "price".into(),
            values: vec![("name".into(), "Sink".into())],
            errors: BTreeMap::from([
                ("name".into(), "too short".into()),
                ("trade".into(), "unknown".into()),
            ]),
            message: None,
        };
        let f = Form::new(&sent, "price", "PUT", "/api/x", "/app/x");
        let html = f
            .render("card", &html! { (f.field("name", "Job", "Stored")) })
            .into_string();
        assert!(html.contains(r#"value="Sink""#), "{html}");
        assert!(html.contains("too short") && html.contains("trade: unknown"));
        assert!(html.contains(r#"aria-invalid="true""#));
        let other = Form::new(&sent, "other", "PUT", "/api/x", "/app/x");
        let html = other
            .render("card", &html! { (other.field("name", "Job", "Stored")) })
            .into_string();
        assert!(html.contains(r#"value="Stored""#) && !html.contains("too short"));
    }
}
