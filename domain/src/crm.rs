//! What a missed-call interaction looks like in the CRM the business already uses: the record
//! we push (the same for every vendor; each adapter maps it), the note that goes with it, the
//! custom fields an owner maps, and the phone formats the vendors search by.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The CRMs we push to, and the generic signed webhook for everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    ServiceTitan,
    HousecallPro,
    Jobber,
    GoHighLevel,
    HubSpot,
    Webhook,
}

impl Vendor {
    pub const ALL: [Vendor; 6] = [
        Vendor::ServiceTitan,
        Vendor::HousecallPro,
        Vendor::Jobber,
        Vendor::GoHighLevel,
        Vendor::HubSpot,
        Vendor::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::ServiceTitan => "servicetitan",
            Vendor::HousecallPro => "housecallpro",
            Vendor::Jobber => "jobber",
            Vendor::GoHighLevel => "gohighlevel",
            Vendor::HubSpot => "hubspot",
            Vendor::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Vendor::ServiceTitan => "ServiceTitan",
            Vendor::HousecallPro => "Housecall Pro",
            Vendor::Jobber => "Jobber",
            Vendor::GoHighLevel => "GoHighLevel",
            Vendor::HubSpot => "HubSpot",
            Vendor::Webhook => "Webhook",
        }
    }

    /// Whether the vendor's API takes custom fields we can fill (Housecall Pro's does not).
    pub fn maps_fields(self) -> bool {
        !matches!(self, Vendor::HousecallPro)
    }
}

/// The booked job, if there is one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Appointment {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub service: String,
    pub status: String,
}

/// One interaction as pushed: who called, how they reached us, what came of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub lead_id: uuid::Uuid,
    /// The conversation this push is about (none for a manual push with no conversation).
    pub conversation_id: Option<uuid::Uuid>,
    pub business_name: String,
    /// E.164.
    pub phone: String,
    pub name: Option<String>,
    pub address: Option<String>,
    /// text | voicemail | ai_voice | call
    pub channel: String,
    /// The lead's status: new, contacted, qualified, booked, unresponsive, opted_out, lost, …
    pub outcome: String,
    pub service: Option<String>,
    pub urgency: Option<String>,
    /// What the caller wanted, in a line (the AI call's summary, or the lead's need and notes).
    pub summary: String,
    /// The caller's own words: the voicemail's or AI call's transcript, or the text thread.
    pub transcript: Option<String>,
    pub appointment: Option<Appointment>,
    pub recording_url: Option<String>,
    /// The conversation in our inbox.
    pub link: String,
    pub first_contact_at: DateTime<Utc>,
    pub last_activity_at: DateTime<Utc>,
    /// ended | booked | voicemail | manual
    pub trigger: String,
}

/// The fields an owner may map onto their CRM's custom fields.
pub const MAPPABLE: [&str; 7] = [
    "outcome",
    "channel",
    "service",
    "urgency",
    "summary",
    "appointment_start",
    "recording_url",
];

impl Record {
    /// The value of one mappable field.
    pub fn field(&self, name: &str) -> Option<String> {
        match name {
            "outcome" => Some(self.outcome.clone()),
            "channel" => Some(self.channel.clone()),
            "service" => self.service.clone(),
            "urgency" => self.urgency.clone(),
            "summary" => Some(self.summary.clone()),
            "appointment_start" => self.appointment.as_ref().map(|a| a.start.to_rfc3339()),
            "recording_url" => self.recording_url.clone(),
            _ => None,
        }
    }

    /// (the vendor's field, value) for each mapped field that has a value.
    pub fn mapped(&self, map: &FieldMap) -> Vec<(String, String)> {
        map.iter()
            .filter_map(|(ours, theirs)| self.field(ours).map(|v| (theirs.clone(), v)))
            .collect()
    }

    /// First and last name for CRMs that want them apart; a caller we know only by number is
    /// "Caller" and their number (HubSpot, for one, refuses a contact with no name or email).
    pub fn first_last(&self) -> (String, String) {
        match self
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            Some(n) => match n.rsplit_once(' ') {
                Some((first, last)) => (first.trim().to_owned(), last.to_owned()),
                None => (n.to_owned(), String::new()),
            },
            None => ("Caller".to_owned(), self.phone.clone()),
        }
    }

    pub fn display_name(&self) -> String {
        let (first, last) = self.first_last();
        format!("{first} {last}").trim().to_owned()
    }

    /// A short title: "Missed call: leaking water heater".
    pub fn title(&self) -> String {
        let what = self.service.as_deref().unwrap_or("new enquiry");
        let title = format!("{}: {what}", channel_words(&self.channel));
        title.chars().take(120).collect()
    }

    /// The note appended to the contact on every push.
    pub fn note(&self) -> String {
        let mut lines = vec![
            format!("{} via NeverMissCall", self.title()),
            format!("Outcome: {}", self.outcome),
        ];
        if let Some(u) = self.urgency.as_deref().filter(|u| *u != "unknown") {
            lines.push(format!("Urgency: {u}"));
        }
        if !self.summary.is_empty() {
            lines.push(format!("Summary: {}", self.summary));
        }
        if let Some(a) = &self.appointment {
            lines.push(format!(
                "Appointment: {} at {} ({})",
                a.service,
                a.start.to_rfc3339(),
                a.status
            ));
        }
        if let Some(t) = &self.transcript {
            lines.push(format!("Transcript: {t}"));
        }
        if let Some(r) = &self.recording_url {
            lines.push(format!("Recording: {r}"));
        }
        lines.push(format!(
            "First contact {}, last activity {}",
            self.first_contact_at.to_rfc3339(),
            self.last_activity_at.to_rfc3339()
        ));
        lines.push(format!("Conversation: {}", self.link));
        let note = lines.join("\n");
        // Every vendor takes at least this much (HubSpot 65,536; the others more than 4,000).
        note.chars().take(4000).collect()
    }
}

fn channel_words(channel: &str) -> &'static str {
    match channel {
        "voicemail" => "Voicemail",
        "ai_voice" => "AI voice call",
        "text" => "Missed call, texted",
        _ => "Missed call",
    }
}

/// Our field -> the vendor's custom field.
pub type FieldMap = BTreeMap<String, String>;

/// Checks a field map an owner sent: only our mappable fields, onto plausible field names.
pub fn check_field_map(map: &FieldMap) -> Result<(), String> {
    if map.len() > MAPPABLE.len() {
        return Err("too many mapped fields".into());
    }
    for (ours, theirs) in map {
        if !MAPPABLE.contains(&ours.as_str()) {
            return Err(format!(
                "{ours} cannot be mapped; mappable: {}",
                MAPPABLE.join(", ")
            ));
        }
        let plausible = !theirs.is_empty()
            && theirs.len() <= 100
            && theirs
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.:{}".contains(c));
        if !plausible {
            return Err(format!(
                "{ours}: the CRM's field name must be 1-100 letters, digits or _ - . : {{ }}"
            ));
        }
    }
    Ok(())
}

/// The number without its country code for the North American plan (HubSpot searches the
/// area code and local number only; ServiceTitan and Housecall Pro match ten digits best);
/// other countries keep their code, without the `+`.
pub fn national_digits(e164: &str) -> String {
    let digits = e164.trim_start_matches('+');
    match digits.strip_prefix('1') {
        Some(rest) if rest.len() == 10 => rest.to_owned(),
        _ => digits.to_owned(),
    }
}

/// Whether a number as a CRM stored it ("(512) 555-0123", "+1 512-555-0123") is this caller.
pub fn same_phone(stored: &str, e164: &str) -> bool {
    let digits: String = stored.chars().filter(char::is_ascii_digit).collect();
    !digits.is_empty() && national_digits(&digits) == national_digits(e164)
}

/// A US address as CRMs that want it in parts take it, read from what the caller wrote:
/// "12 Main St, Austin, TX 78701" or "12 Main St, Austin TX 78701". Anything else is not
/// guessed at.
#[derive(Debug, Clone, PartialEq)]
pub struct UsAddress {
    pub street: String,
    pub city: String,
    pub state: String,
    pub zip: String,
}

impl UsAddress {
    pub fn parse(text: &str) -> Option<Self> {
        let (street, rest) = text.split_once(',')?;
        let rest = rest
            .trim()
            .trim_end_matches(", USA")
            .trim_end_matches(", US");
        let (place, zip) = rest.rsplit_once(' ')?;
        let zip_ok = zip.len() == 5 && zip.chars().all(|c| c.is_ascii_digit());
        let (city, state) = place.trim_end_matches(',').rsplit_once([' ', ','])?;
        let state = state.trim();
        let state_ok = state.len() == 2 && state.chars().all(|c| c.is_ascii_uppercase());
        let city = city.trim().trim_end_matches(',').trim();
        (zip_ok && state_ok && !city.is_empty() && !street.trim().is_empty()).then(|| Self {
            street: street.trim().to_owned(),
            city: city.to_owned(),
            state: state.to_owned(),
            zip: zip.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        let at = DateTime::parse_from_rfc3339("2026-12-01T15:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        Record {
            lead_id: uuid::Uuid::nil(),
            conversation_id: None,
            business_name: "Acme Plumbing".into(),
            phone: "+15125550123".into(),
            name: Some("Jane van Doe".into()),
            address: None,
            channel: "voicemail".into(),
            outcome: "qualified".into(),
            service: Some("leaking water heater".into()),
            urgency: Some("soon".into()),
            summary: "Water heater leaking in garage".into(),
            transcript: Some("Hi, my water heater is leaking".into()),
            appointment: None,
            recording_url: Some("https://x/app/recordings/1".into()),
            link: "https://x/app/inbox/1".into(),
            first_contact_at: at,
            last_activity_at: at,
            trigger: "voicemail".into(),
        }
    }

    #[test]
    fn names_split_and_an_unknown_caller_is_named_by_number() {
        let mut r = record();
        assert_eq!(r.first_last(), ("Jane van".into(), "Doe".into()));
        r.name = None;
        assert_eq!(r.first_last(), ("Caller".into(), "+15125550123".into()));
    }

    #[test]
    fn the_note_says_what_happened() {
        let n = record().note();
        assert!(n.starts_with("Voicemail: leaking water heater via NeverMissCall"));
        assert!(n.contains("Transcript: Hi, my water heater is leaking"));
        assert!(n.contains("Recording: https://x/app/recordings/1"));
    }

    #[test]
    fn phones_compare_whatever_the_format() {
        assert_eq!(national_digits("+15125550123"), "5125550123");
        assert_eq!(national_digits("+447700900123"), "447700900123");
        assert!(same_phone("(512) 555-0123", "+15125550123"));
        assert!(same_phone("+1 512-555-0123", "+15125550123"));
        assert!(!same_phone("", "+15125550123"));
        assert!(!same_phone("512-555-0124", "+15125550123"));
    }

    #[test]
    fn us_addresses_are_split_and_others_are_not_guessed() {
        let a = UsAddress::parse("12 Main St, Austin, TX 78701").unwrap();
        assert_eq!(
            (a.city.as_str(), a.state.as_str(), a.zip.as_str()),
            ("Austin", "TX", "78701")
        );
        let b = UsAddress::parse("5 Oak Ave, San Antonio TX 78205").unwrap();
        assert_eq!(b.city, "San Antonio");
        assert!(UsAddress::parse("behind the church").is_none());
        assert!(UsAddress::parse("12 Main St, Austin").is_none());
    }

    #[test]
    fn field_maps_take_only_our_fields_onto_plausible_names() {
        let mut m = FieldMap::new();
        m.insert("outcome".into(), "nmc_outcome".into());
        assert!(check_field_map(&m).is_ok());
        assert_eq!(
            record().mapped(&m),
            vec![("nmc_outcome".into(), "qualified".into())]
        );
        m.insert("password".into(), "x".into());
        assert!(check_field_map(&m).is_err());
        let mut bad = FieldMap::new();
        bad.insert("outcome".into(), "has space".into());
        assert!(check_field_map(&bad).is_err());
    }
}
