//! What the assistant knows for a turn, and the one thing code decides after the engine has
//! answered: whether the job's address is in the business's service area.

use nmc_assistant::guardrails::{self, Policy};
use nmc_assistant::{Intent, LeadFields, TurnOutcome};
use nmc_domain::service_area::{self, Located, ServiceArea, Verdict};
use nmc_geocode::Geocoder;
use tracing::warn;

use crate::TurnRequest;

/// Where the caller's address is: the geocoder's answer when one is configured and finds it,
/// else what the typed words say (ZIP code, city).
async fn locate(geocoder: Option<&Geocoder>, address: &str, area: &ServiceArea) -> Located {
    let typed = service_area::read_address(address, &area.cities);
    let Some(g) = geocoder.filter(|_| area.radius_miles.is_some() || typed == Located::default())
    else {
        return typed;
    };
    match g.search(address).await {
        Ok(Some(found)) => Located {
            zip: found.zip.or(typed.zip),
            city: found.city.or(typed.city),
            point: Some((found.lat, found.lon)),
        },
        Ok(None) => typed,
        Err(e) => {
            // The conversation goes on: an address we cannot place is never turned away.
            warn!(error = %e, "address not geocoded; judged by its words");
            typed
        }
    }
}

/// An address learned this turn that is outside the area turns the reply into a polite no,
/// the owner told. Anything else leaves the engine's outcome as it was.
pub(crate) async fn judge_area(
    geocoder: Option<&Geocoder>,
    t: &TurnRequest,
    known: &LeadFields,
    area: &ServiceArea,
    mut outcome: TurnOutcome,
) -> (TurnOutcome, bool) {
    let new_address = outcome
        .learned
        .address
        .clone()
        .filter(|_| known.address.is_none() && !outcome.emergency && !area.is_everywhere());
    let Some(address) = new_address else {
        return (outcome, false);
    };
    let Verdict::Outside(why) = area.judge(&locate(geocoder, &address, area).await) else {
        return (outcome, false);
    };
    let reading = nmc_assistant::extract::read(&t.message, t.asked);
    let owner = t
        .owner_name
        .split_whitespace()
        .next()
        .unwrap_or("the owner");
    let policy = Policy {
        business_name: &t.business_name,
        assistant_name: None,
        disclose: t.disclose,
        first_reply: t.first_reply,
        spanish: reading.spanish,
    };
    let name = known
        .name
        .clone()
        .or(outcome.learned.name.clone())
        .unwrap_or_else(|| "A caller".into());
    outcome.reply = guardrails::enforce(&service_area::decline(owner, reading.spanish), &policy);
    outcome.intent = Intent::Declined;
    outcome.declined = true;
    outcome.qualified = false;
    outcome.asked = None;
    outcome.note = Some(format!("Declined: outside your service area ({why})"));
    outcome.for_owner = Some(format!(
        "{name} at {address} is outside your service area ({why}). The assistant told them you don't cover it; call them if you want the job."
    ));
    (outcome, true)
}
