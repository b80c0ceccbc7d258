//! The owner API's route table: every route a signed-in owner or technician calls, with the role
//! that may call it. The router built from the table checks the role, so handlers only ever see
//! a [`Tenant`] that is allowed in. The catalog, schedule, appointments and calendars live in
//! this folder; the inbox, insights, numbers and team handlers in their own modules.

mod appointments;
mod calendar;
mod catalog;
mod knowledge;
mod schedule;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, delete, get, patch, post, put};

use self::Role::{Member, MemberReadsOwnerWrites, Owner};
use crate::auth::Tenant;
use crate::{
    AppState, alerts, auth, billing, error::ApiError, forwarding, inbox, insights, messaging,
    notifications, numbers, phone_codes, privacy, push, voice, voice_agent,
};

pub(crate) use appointments::tell_workflow;
pub(crate) use calendar::{Choice, choose_google_calendars, google_calendars};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The owner only: a technician gets 403.
    Owner,
    /// Any member of the business: the owner or a technician.
    Member,
    /// Any member may read (GET); only the owner may change.
    MemberReadsOwnerWrites,
}

impl Role {
    /// Who may call `method` on a route with this role: `Owner` or `Member`.
    pub fn for_method(self, method: &str) -> Role {
        match self {
            // A `get` route answers HEAD too.
            MemberReadsOwnerWrites if method == "GET" || method == "HEAD" => Member,
            MemberReadsOwnerWrites => Owner,
            role => role,
        }
    }
}

/// One owner route: its path, the methods it answers, who may call it, and the handlers.
pub struct OwnerRoute {
    pub path: &'static str,
    pub methods: &'static [&'static str],
    pub role: Role,
    pub handlers: MethodRouter<AppState>,
}

fn r(
    path: &'static str,
    methods: &'static [&'static str],
    role: Role,
    handlers: MethodRouter<AppState>,
) -> OwnerRoute {
    OwnerRoute {
        path,
        methods,
        role,
        handlers,
    }
}

/// Every route that needs a signed-in owner or technician. The router is built from this table
/// and the tenant-isolation test walks it, so a route added here is covered by that test at once.
/// Path parameters are named after what they point to (`{appointment_id}`), so the test knows
/// which of the other tenant's ids to try.
pub fn routes() -> Vec<OwnerRoute> {
    [
        schedule_routes(),
        appointment_routes(),
        inbox_routes(),
        going_live_routes(),
        business_routes(),
        voice_routes(),
        crate::crm::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The catalog, schedule rules, technicians and the open slots they make.
fn schedule_routes() -> Vec<OwnerRoute> {
    vec![
        r(
            "/api/catalog",
            &["GET", "POST"],
            Owner,
            get(catalog::list_catalog).post(catalog::create_catalog_item),
        ),
        r(
            "/api/catalog/adopt",
            &["POST"],
            Owner,
            post(catalog::adopt_catalog),
        ),
        r(
            "/api/catalog/{item_id}",
            &["PUT", "DELETE"],
            Owner,
            put(catalog::update_catalog_item).delete(catalog::delete_catalog_item),
        ),
        r(
            "/api/reviews",
            &["GET", "PUT"],
            Owner,
            get(crate::reviews::get_settings).put(crate::reviews::put_settings),
        ),
        r(
            "/api/reviews/places",
            &["GET"],
            Owner,
            get(crate::reviews::find_places),
        ),
        r(
            "/api/assistant",
            &["GET", "PUT"],
            Owner,
            get(knowledge::get_profile).put(knowledge::put_profile),
        ),
        r(
            "/api/faqs",
            &["GET", "POST"],
            Owner,
            get(knowledge::list_faqs).post(knowledge::create_faq),
        ),
        r(
            "/api/faqs/adopt",
            &["POST"],
            Owner,
            post(knowledge::adopt_faqs),
        ),
        r(
            "/api/faqs/{faq_id}",
            &["PUT", "DELETE"],
            Owner,
            put(knowledge::update_faq).delete(knowledge::delete_faq),
        ),
        r(
            "/api/schedule",
            &["GET", "PUT"],
            Owner,
            get(schedule::get_schedule).put(schedule::put_schedule),
        ),
        r(
            "/api/technicians",
            &["GET", "POST"],
            MemberReadsOwnerWrites,
            get(schedule::list_technicians).post(schedule::add_technician),
        ),
        r(
            "/api/technicians/{technician_id}",
            &["PATCH"],
            Owner,
            patch(schedule::update_technician),
        ),
        r(
            "/api/availability",
            &["GET"],
            Member,
            get(schedule::availability),
        ),
    ]
}

/// Appointments, and the calendars they sync to.
fn appointment_routes() -> Vec<OwnerRoute> {
    vec![
        r(
            "/api/appointments",
            &["GET", "POST"],
            Member,
            get(appointments::list_appointments).post(appointments::create_appointment),
        ),
        r(
            "/api/appointments/{appointment_id}",
            &["GET", "PATCH"],
            Member,
            get(appointments::get_appointment).patch(appointments::update_appointment),
        ),
        r(
            "/api/calendar",
            &["GET"],
            Owner,
            get(calendar::calendar_status),
        ),
        r(
            "/api/calendar/{provider}/connect",
            &["POST"],
            Owner,
            post(calendar::connect_calendar),
        ),
        r(
            "/api/calendar/google/calendars",
            &["GET", "PUT"],
            Owner,
            get(calendar::list_google_calendars).put(choose_google_calendars),
        ),
        r(
            "/api/calendar/{provider}",
            &["DELETE"],
            Owner,
            delete(calendar::disconnect_calendar),
        ),
        r(
            "/api/calendar/ics/rotate",
            &["POST"],
            Owner,
            post(calendar::rotate_ics),
        ),
        r(
            "/api/calendar/ics/revoke",
            &["POST"],
            Owner,
            post(calendar::revoke_ics),
        ),
    ]
}

/// Going live: the number, texting registration, the forwarding test, proving phones, and
/// the plan.
fn going_live_routes() -> Vec<OwnerRoute> {
    vec![
        r("/api/billing", &["GET"], Owner, get(billing::get_billing)),
        r(
            "/api/billing/checkout",
            &["POST"],
            Owner,
            post(billing::checkout),
        ),
        r(
            "/api/billing/portal",
            &["POST"],
            Owner,
            post(billing::portal),
        ),
        r(
            "/api/numbers/available",
            &["GET"],
            Owner,
            get(numbers::available),
        ),
        r("/api/numbers", &["POST"], Owner, post(numbers::buy)),
        r(
            "/api/numbers/existing",
            &["POST"],
            Owner,
            post(numbers::register_existing),
        ),
        r(
            "/api/messaging",
            &["GET", "PUT"],
            Owner,
            get(messaging::get_messaging).put(messaging::submit_messaging),
        ),
        r(
            "/api/forwarding/test",
            &["GET", "POST"],
            Owner,
            get(forwarding::latest).post(forwarding::start),
        ),
        r(
            "/api/me/phone/code",
            &["POST"],
            Member,
            post(phone_codes::send_code),
        ),
        r(
            "/api/me/phone/verify",
            &["POST"],
            Member,
            post(phone_codes::verify),
        ),
    ]
}

/// Alerts, leads, calls, conversations, opt-outs and the audit log.
fn inbox_routes() -> Vec<OwnerRoute> {
    vec![
        r(
            "/api/notifications",
            &["GET"],
            Member,
            get(notifications::list_notifications),
        ),
        r(
            "/api/me/alerts",
            &["GET", "PUT"],
            Member,
            get(alerts::get_alerts).put(alerts::put_alerts),
        ),
        r(
            "/api/push/vapid-public-key",
            &["GET"],
            Member,
            get(push::vapid_public_key),
        ),
        r(
            "/api/push/subscriptions",
            &["POST", "DELETE"],
            Member,
            post(push::subscribe).delete(push::unsubscribe),
        ),
        r(
            "/api/settings/slack",
            &["GET", "PUT", "DELETE"],
            Owner,
            get(alerts::get_slack)
                .put(alerts::put_slack)
                .delete(alerts::delete_slack),
        ),
        r(
            "/api/notifications/read-all",
            &["POST"],
            Member,
            post(notifications::read_all_notifications),
        ),
        r(
            "/api/notifications/{notification_id}/read",
            &["POST"],
            Member,
            post(notifications::read_notification),
        ),
        r("/api/leads", &["GET"], Member, get(inbox::list_leads)),
        r(
            "/api/leads/{lead_id}",
            &["GET", "PATCH"],
            Member,
            get(inbox::get_lead).patch(inbox::edit_lead),
        ),
        r("/api/calls", &["GET"], Member, get(inbox::list_calls)),
        r(
            "/api/conversations",
            &["GET"],
            Member,
            get(inbox::list_conversations),
        ),
        r(
            "/api/conversations/{conversation_id}",
            &["GET"],
            Member,
            get(inbox::get_conversation),
        ),
        r(
            "/api/conversations/{conversation_id}/takeover",
            &["POST"],
            Member,
            post(inbox::take_over),
        ),
        r(
            "/api/conversations/{conversation_id}/return-ai",
            &["POST"],
            Member,
            post(inbox::return_to_assistant),
        ),
        r(
            "/api/conversations/{conversation_id}/message",
            &["POST"],
            Member,
            post(inbox::send_message),
        ),
        r(
            "/api/opt-outs",
            &["GET", "POST"],
            Member,
            get(inbox::list_opt_outs).post(inbox::add_opt_out),
        ),
        r("/api/audit-log", &["GET"], Owner, get(inbox::audit_log)),
    ]
}

/// Settings, the dashboard and reports, the phone number, messaging registration and the team.
fn business_routes() -> Vec<OwnerRoute> {
    vec![
        r(
            "/api/settings",
            &["GET", "PUT"],
            Owner,
            get(insights::get_settings).put(insights::put_settings),
        ),
        r(
            "/api/dashboard/stats",
            &["GET"],
            Member,
            get(insights::dashboard_stats),
        ),
        r(
            "/api/dashboard/recent",
            &["GET"],
            Member,
            get(insights::dashboard_recent),
        ),
        r(
            "/api/reports/weekly",
            &["GET"],
            Owner,
            get(insights::weekly),
        ),
        r(
            "/api/reports/monthly",
            &["GET"],
            Owner,
            get(insights::monthly),
        ),
        r(
            "/api/privacy/caller",
            &["GET"],
            Owner,
            get(privacy::export_caller),
        ),
        r(
            "/api/privacy/erase",
            &["POST"],
            Owner,
            post(privacy::erase_caller),
        ),
        r(
            "/api/privacy/business",
            &["GET"],
            Owner,
            get(privacy::export_business),
        ),
        r(
            "/api/business",
            &["DELETE"],
            Owner,
            delete(privacy::delete_business),
        ),
        r("/api/team", &["GET"], Owner, get(auth::list_team)),
        r("/api/team/invites", &["POST"], Owner, post(auth::invite)),
        r(
            "/api/team/{user_id}",
            &["DELETE"],
            Owner,
            delete(auth::remove_member),
        ),
    ]
}

/// Calls: screening, voicemail, routing by time, the block list, recordings.
fn voice_routes() -> Vec<OwnerRoute> {
    // A greeting upload is bigger than any JSON body.
    let upload = DefaultBodyLimit::max(nmc_domain::audio::MAX_GREETING_BYTES + 1024);
    vec![
        r(
            "/api/voice",
            &["GET", "PUT"],
            Owner,
            get(voice::get_voice).put(voice::put_voice),
        ),
        r(
            "/api/voice/greeting-audio",
            &["GET", "PUT", "DELETE"],
            Owner,
            get(voice::get_greeting_audio)
                .put(voice::put_greeting_audio)
                .delete(voice::delete_greeting_audio)
                .layer(upload),
        ),
        r(
            "/api/voice/preview-call",
            &["POST"],
            Owner,
            post(voice::preview_call),
        ),
        r(
            "/api/voice-agent",
            &["GET", "PUT", "DELETE"],
            Owner,
            get(voice_agent::get_agent)
                .put(voice_agent::put_agent)
                .delete(voice_agent::delete_agent),
        ),
        r(
            "/api/voice-agent/voices",
            &["GET"],
            Owner,
            get(voice_agent::get_voices),
        ),
        r(
            "/api/routing",
            &["GET", "PUT"],
            MemberReadsOwnerWrites,
            get(voice::get_routing).put(voice::put_routing),
        ),
        r(
            "/api/routing/holidays",
            &["POST"],
            Owner,
            post(voice::put_holiday),
        ),
        r(
            "/api/routing/holidays/{day}",
            &["DELETE"],
            Owner,
            delete(voice::delete_holiday),
        ),
        r(
            "/api/blocked-callers",
            &["GET", "POST"],
            Member,
            get(voice::list_blocked).post(voice::block),
        ),
        r(
            "/api/blocked-callers/{phone}",
            &["DELETE"],
            Member,
            delete(voice::unblock),
        ),
        r(
            "/api/recordings/{recording_id}/audio",
            &["GET"],
            Member,
            get(voice::recording_audio),
        ),
    ]
}

/// The table's routes, each behind its role, and the public iCalendar feed.
pub fn router(state: &AppState) -> Router<AppState> {
    routes()
        .into_iter()
        .fold(Router::new(), |router, route| {
            let role = route.role;
            let guarded = route.handlers.route_layer(middleware::from_fn_with_state(
                state.clone(),
                move |caller: Tenant, request: Request, next: Next| {
                    allow(role, caller, request, next)
                },
            ));
            router.route(route.path, guarded)
        })
        // Public: the secret in the URL is the credential.
        .route("/calendar/{file}", get(calendar::ics_feed))
}

/// Lets the caller through when their role may use this method here: a technician on an
/// owner-only route gets 403 before the handler runs (and before the request is read).
async fn allow(
    role: Role,
    caller: Tenant,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if role.for_method(request.method().as_str()) == Owner && !caller.owner_role {
        return Err(ApiError::Forbidden);
    }
    // The handler's `Tenant` is this one, so the session is not looked up twice.
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

/// Ends the request's row-level-security transaction, keeping what it wrote.
pub async fn commit(tx: sqlx::Transaction<'_, sqlx::Postgres>) -> Result<(), ApiError> {
    tx.commit()
        .await
        .map_err(|e| ApiError::from(nmc_store::StoreError::from(e)))
}
