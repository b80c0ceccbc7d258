//! Each activity implemented here matches its contract in `nmc-activity-defs`, which is what the
//! workflows call: the compiler checks input and output types, the test below the names (the
//! worker would otherwise run an activity the workflow never asks for, and the workflow would
//! wait for one no worker runs).

use nmc_activity_defs as defs;
use temporalio_common::ActivityDefinition;

use crate::ConversationActivities;
use crate::booking::BookingActivities;

/// Compiles only when the implementation takes and returns what the definition says.
fn same<D, A>(definition: &D, implementation: &A) -> (String, String)
where
    D: ActivityDefinition,
    A: ActivityDefinition<Input = D::Input, Output = D::Output>,
{
    (
        definition.name().to_owned(),
        implementation.name().to_owned(),
    )
}

/// (contract name, implementation name) for every activity the workflows call.
pub fn names() -> Vec<(String, String)> {
    use defs::BookingActivities as DB;
    use defs::ConversationActivities as DC;
    vec![
        same(&DC::send_sms, &ConversationActivities::send_sms),
        same(
            &DC::mark_repeat_call,
            &ConversationActivities::mark_repeat_call,
        ),
        same(&DC::attach_inbound, &ConversationActivities::attach_inbound),
        same(&DC::triage, &ConversationActivities::triage),
        same(&DC::assistant_turn, &ConversationActivities::assistant_turn),
        same(&DC::notify_owner, &ConversationActivities::notify_owner),
        same(&DC::set_flags, &ConversationActivities::set_flags),
        same(&DC::record_opt_out, &ConversationActivities::record_opt_out),
        same(
            &DC::close_conversation,
            &ConversationActivities::close_conversation,
        ),
        same(&DB::offer_slots, &BookingActivities::offer_slots),
        same(&DB::book_slot, &BookingActivities::book_slot),
        same(
            &DB::caller_appointment,
            &BookingActivities::caller_appointment,
        ),
        same(
            &DB::set_appointment_status,
            &BookingActivities::set_appointment_status,
        ),
        same(
            &DB::appointment_state,
            &BookingActivities::appointment_state,
        ),
        same(&DB::appointment_told, &BookingActivities::appointment_told),
        same(&DB::sync_calendar, &BookingActivities::sync_calendar),
        same(
            &defs::VoiceActivities::check_line,
            &crate::voice::VoiceActivities::check_line,
        ),
        same(
            &defs::VoiceActivities::store_recording,
            &crate::voice::VoiceActivities::store_recording,
        ),
        same(
            &defs::VoiceActivities::transcribe_recording,
            &crate::voice::VoiceActivities::transcribe_recording,
        ),
        same(
            &defs::DigestActivities::send_weekly_digest,
            &crate::digest::DigestActivities::send_weekly_digest,
        ),
        same(
            &defs::ReviewActivities::review_plan,
            &crate::review::ReviewActivities::review_plan,
        ),
        same(
            &defs::ReviewActivities::review_opened,
            &crate::review::ReviewActivities::review_opened,
        ),
        same(
            &defs::ReviewActivities::review_done,
            &crate::review::ReviewActivities::review_done,
        ),
        same(
            &defs::CrmActivities::crm_push,
            &crate::crm::CrmActivities::crm_push,
        ),
        same(
            &defs::CrmActivities::crm_gave_up,
            &crate::crm::CrmActivities::crm_gave_up,
        ),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_implementation_answers_to_its_contract_name() {
        for (contract, implementation) in super::names() {
            assert_eq!(contract, implementation);
        }
    }
}
