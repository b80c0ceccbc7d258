//! US carriers' texting registration (A2P 10DLC): the brand (who sends) and the campaign (what
//! and why), as the owner fills them in, checked field by field the way The Campaign Registry
//! vets them, so a submission is not bounced for something we could have said up front.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{E164, Email};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Brand {
    /// `sole_proprietor` (no EIN) or `company`.
    pub business_type: String,
    pub legal_name: String,
    /// Company only: the IRS number, `12-3456789`.
    pub ein: String,
    pub street: String,
    pub city: String,
    /// Two letters: `TX`, `ON`.
    pub state: String,
    pub postal_code: String,
    /// `US` or `CA`.
    pub country: String,
    /// Required for a company.
    pub website: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Campaign {
    /// What the texts are for, in a sentence or two.
    pub description: String,
    /// Two to five texts exactly as callers get them.
    pub sample_messages: Vec<String>,
    /// How a caller comes to get texts from us.
    pub opt_in: String,
    /// Our answer to HELP.
    pub help_message: String,
    /// Our answer to STOP.
    pub opt_out_message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Registration {
    pub brand: Brand,
    pub campaign: Campaign,
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

fn ein_ok(ein: &str) -> bool {
    let e = ein.trim();
    e.len() == 10 && e.as_bytes()[2] == b'-' && e.chars().filter(char::is_ascii_digit).count() == 9
}

fn postal_ok(country: &str, code: &str) -> bool {
    let c = code.trim();
    match country {
        "US" => {
            let d = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
            d(c) || (c.len() == 10
                && d(&c[..5])
                && &c[5..6] == "-"
                && c[6..].bytes().all(|b| b.is_ascii_digit()))
        }
        "CA" => {
            let s: Vec<char> = c.chars().filter(|ch| *ch != ' ').collect();
            s.len() == 6
                && s.iter().enumerate().all(|(i, ch)| {
                    if i % 2 == 0 {
                        ch.is_ascii_alphabetic()
                    } else {
                        ch.is_ascii_digit()
                    }
                })
        }
        _ => false,
    }
}

fn brand_errors(b: &Brand, bad: &mut BTreeMap<&'static str, String>) {
    let company = match b.business_type.as_str() {
        "company" => true,
        "sole_proprietor" => false,
        _ => {
            bad.insert(
                "brand.business_type",
                "choose sole proprietor or company".into(),
            );
            false
        }
    };
    for (field, value) in [
        ("brand.legal_name", &b.legal_name),
        ("brand.street", &b.street),
        ("brand.city", &b.city),
        ("brand.contact_name", &b.contact_name),
    ] {
        if blank(value) {
            bad.insert(field, "required".into());
        }
    }
    if company && !ein_ok(&b.ein) {
        bad.insert("brand.ein", "a company's EIN, like 12-3456789".into());
    }
    if !matches!(b.country.as_str(), "US" | "CA") {
        bad.insert("brand.country", "US or CA".into());
    }
    if !(b.state.trim().len() == 2 && b.state.trim().chars().all(|c| c.is_ascii_uppercase())) {
        bad.insert("brand.state", "two capital letters, like TX".into());
    }
    if !postal_ok(&b.country, &b.postal_code) {
        bad.insert(
            "brand.postal_code",
            "a ZIP like 78701 (or a Canadian code like K1A 0B1)".into(),
        );
    }
    let site = b.website.trim();
    if (company || !site.is_empty())
        && !(site.starts_with("https://") || site.starts_with("http://"))
    {
        bad.insert(
            "brand.website",
            "the business's website, starting with https:// (companies need one)".into(),
        );
    }
    if Email::parse(&b.contact_email).is_err() {
        bad.insert(
            "brand.contact_email",
            "an email address carriers can reach".into(),
        );
    }
    if E164::parse(&b.contact_phone).is_err() {
        bad.insert(
            "brand.contact_phone",
            "a phone number carriers can reach".into(),
        );
    }
}

fn campaign_errors(c: &Campaign, business: &str, bad: &mut BTreeMap<&'static str, String>) {
    if c.description.trim().chars().count() < 40 {
        bad.insert(
            "campaign.description",
            "at least 40 characters on what the texts are for".into(),
        );
    }
    let samples: Vec<&str> = c
        .sample_messages
        .iter()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .collect();
    let named = |m: &str| m.to_lowercase().contains(&business.to_lowercase());
    if !(2..=5).contains(&samples.len()) {
        bad.insert(
            "campaign.sample_messages",
            "two to five sample texts".into(),
        );
    } else if samples
        .iter()
        .any(|m| m.chars().count() < 20 || m.chars().count() > 1024)
    {
        bad.insert(
            "campaign.sample_messages",
            "each sample 20 to 1024 characters".into(),
        );
    } else if !samples.iter().any(|m| named(m)) {
        bad.insert(
            "campaign.sample_messages",
            format!("carriers want the business name ({business}) in the samples"),
        );
    }
    if c.opt_in.trim().chars().count() < 40 {
        bad.insert(
            "campaign.opt_in",
            "at least 40 characters on how callers come to get texts".into(),
        );
    }
    if !c.opt_out_message.to_uppercase().contains("STOP")
        && !c.opt_out_message.to_lowercase().contains("unsubscribed")
    {
        bad.insert(
            "campaign.opt_out_message",
            "the answer to STOP, saying no more texts will come".into(),
        );
    }
    if blank(&c.help_message) {
        bad.insert(
            "campaign.help_message",
            "the answer to HELP, with how to reach the business".into(),
        );
    }
}

/// Every problem, by field; empty when it can be submitted.
pub fn problems(r: &Registration, business: &str) -> BTreeMap<&'static str, String> {
    let mut bad = BTreeMap::new();
    brand_errors(&r.brand, &mut bad);
    campaign_errors(&r.campaign, business, &mut bad);
    bad
}

/// A campaign filled in from what the business already texts: its greeting, follow-ups and
/// keyword answers, so the owner reviews rather than writes.
pub fn suggested_campaign(
    business: &str,
    business_phone: &str,
    samples: Vec<String>,
    help: String,
    opt_out: String,
) -> Campaign {
    Campaign {
        description: format!(
            "{business} texts people who called the business and could not get through, to take their request, answer questions and book the job. Only callers get texts; no marketing."
        ),
        sample_messages: samples,
        opt_in: format!(
            "A caller phones {business} at {}; when the call is missed, they get one text from the business number answering their call. They can reply STOP at any time.",
            crate::phone::display(business_phone)
        ),
        help_message: help,
        opt_out_message: opt_out,
    }
}

/// The status as an owner reads it.
pub fn status_words(status: &str) -> &'static str {
    match status {
        "approved" => "Approved: texts go out to callers.",
        "rejected" => {
            "Rejected: fix what the carriers said below and submit again. Until then callers are not texted; you get alerts by email."
        }
        "submitted" => {
            "Submitted: carriers usually decide within a few days. Until then callers are not texted; you get alerts by email."
        }
        _ => {
            "Not registered: US carriers block texts from business numbers that are not registered, so callers are not texted until you register."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Registration {
        Registration {
            brand: Brand {
                business_type: "company".into(),
                legal_name: "Pipe Pros LLC".into(),
                ein: "12-3456789".into(),
                street: "1 Main St".into(),
                city: "Austin".into(),
                state: "TX".into(),
                postal_code: "78701".into(),
                country: "US".into(),
                website: "https://pipepros.example".into(),
                contact_name: "Jo Pro".into(),
                contact_email: "jo@pipepros.example".into(),
                contact_phone: "+15125550100".into(),
            },
            campaign: suggested_campaign(
                "Pipe Pros",
                "+15125550100",
                vec![
                    "Hi, this is Pipe Pros. Sorry we missed your call!".into(),
                    "Pipe Pros here: can we help?".into(),
                ],
                "Pipe Pros: call (512) 555-0100.".into(),
                "You're unsubscribed from Pipe Pros texts. Reply START to resume.".into(),
            ),
        }
    }

    #[test]
    fn a_complete_registration_passes_and_each_gap_is_named() {
        assert!(
            problems(&good(), "Pipe Pros").is_empty(),
            "{:?}",
            problems(&good(), "Pipe Pros")
        );
        let mut r = good();
        r.brand.ein = "123456789".into();
        r.brand.postal_code = "787".into();
        r.campaign.sample_messages = vec![
            "We missed your call, sorry!".into(),
            "Can we help you today?".into(),
        ];
        let bad = problems(&r, "Pipe Pros");
        assert_eq!(
            bad.keys().copied().collect::<Vec<_>>(),
            ["brand.ein", "brand.postal_code", "campaign.sample_messages"]
        );
        let mut sole = good();
        sole.brand.business_type = "sole_proprietor".into();
        sole.brand.ein.clear();
        sole.brand.website.clear();
        assert!(problems(&sole, "Pipe Pros").is_empty());
        assert!(postal_ok("CA", "K1A 0B1") && !postal_ok("CA", "12345"));
    }
}
