//! The double's HTTP: Stripe's REST routes under `/stripe/v1`, the hosted Checkout and Portal
//! pages under `/stripe/pay` and `/stripe/portal`, and the control routes.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Value, json};

use super::{StripeDouble, id, now};

impl StripeDouble {
    pub fn router(&self) -> Router {
        Router::new()
            .route("/stripe/v1/customers", post(create_customer))
            .route("/stripe/v1/checkout/sessions", post(create_session))
            .route("/stripe/v1/checkout/sessions/{id}", get(get_session))
            .route("/stripe/v1/billing_portal/sessions", post(create_portal))
            .route(
                "/stripe/v1/subscriptions/{id}",
                axum::routing::delete(cancel_subscription),
            )
            .route("/stripe/pay/{id}", get(pay_page).post(pay))
            .route("/stripe/portal/{id}", get(portal_page))
            .route("/stripe/portal/{id}/cancel", post(portal_cancel))
            .with_state(self.clone())
    }
}

/// Control routes (behind the sandbox's admin token).
pub fn control_router(stripe: &StripeDouble) -> Router {
    Router::new()
        .route("/api/stripe", get(state))
        .route("/api/stripe/subscriptions/{id}", post(move_subscription))
        .with_state(stripe.clone())
}

fn error(status: StatusCode, kind: &str, code: &str, message: &str) -> Response {
    let body = json!({"error": {"type": kind, "code": code, "message": message,
        "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-"))}});
    (status, [("request-id", id("req"))], Json(body)).into_response()
}

fn missing(what: &str, value: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "resource_missing",
        &format!("No such {what}: '{value}'"),
    )
}

/// Bearer `sk_…`, or Basic with it as the user name, as Stripe takes either.
fn authorised(d: &StripeDouble, headers: &HeaderMap) -> bool {
    let Some(key) = d.setup().map(|s| s.key) else {
        return false;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(b) = given.strip_prefix("Bearer ") {
        return b == key;
    }
    given
        .strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .is_some_and(|up| up.split_once(':').is_some_and(|(u, _)| u == key))
}

/// The form as Stripe reads it (brackets raw or percent-encoded); `None` without the key.
fn read(d: &StripeDouble, headers: &HeaderMap, body: &Bytes) -> Option<BTreeMap<String, String>> {
    authorised(d, headers).then(|| form_urlencoded::parse(body).into_owned().collect())
}

fn unauthorised() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "invalid_request_error",
        "api_key_invalid",
        "Invalid API Key provided",
    )
}

/// Replays an answer for a repeated `Idempotency-Key`; refuses the key with other parameters.
fn replay(
    d: &StripeDouble,
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
) -> Option<Response> {
    let key = headers.get("idempotency-key")?.to_str().ok()?;
    let params = format!("{form:?}");
    let inner = d.inner.lock().unwrap();
    let (seen, answer) = inner.replays.get(key)?;
    Some(if *seen == params {
        (
            StatusCode::OK,
            [("idempotent-replayed", "true")],
            Json(answer.clone()),
        )
            .into_response()
    } else {
        error(
            StatusCode::BAD_REQUEST,
            "idempotency_error",
            "idempotency_key_in_use",
            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
        )
    })
}

fn remember(
    d: &StripeDouble,
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
    answer: &Value,
) {
    if let Some(key) = headers.get("idempotency-key").and_then(|k| k.to_str().ok()) {
        d.inner
            .lock()
            .unwrap()
            .replays
            .insert(key.to_owned(), (format!("{form:?}"), answer.clone()));
    }
}

fn answer(
    d: &StripeDouble,
    headers: &HeaderMap,
    form: &BTreeMap<String, String>,
    v: Value,
) -> Response {
    remember(d, headers, form, &v);
    (StatusCode::OK, [("request-id", id("req"))], Json(v)).into_response()
}

fn metadata(form: &BTreeMap<String, String>, prefix: &str) -> Value {
    let m: serde_json::Map<String, Value> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(prefix)
                .and_then(|k| k.strip_suffix(']'))
                .map(|k| (k.to_owned(), json!(v)))
        })
        .collect();
    Value::Object(m)
}

async fn create_customer(
    State(d): State<StripeDouble>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(form) = read(&d, &headers, &body) else {
        return unauthorised();
    };
    if let Some(r) = replay(&d, &headers, &form) {
        return r;
    }
    let c = json!({"id": id("cus"), "object": "customer", "email": form.get("email"),
        "name": form.get("name"), "metadata": metadata(&form, "metadata["), "created": now(), "livemode": false});
    let cid = c["id"].as_str().unwrap_or_default().to_owned();
    d.inner.lock().unwrap().customers.insert(cid, c.clone());
    answer(&d, &headers, &form, c)
}

async fn create_session(
    State(d): State<StripeDouble>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(form) = read(&d, &headers, &body) else {
        return unauthorised();
    };
    if let Some(r) = replay(&d, &headers, &form) {
        return r;
    }
    for needed in ["mode", "line_items[0][price]", "success_url"] {
        if !form.contains_key(needed) {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "parameter_missing",
                &format!("Missing required param: {needed}."),
            );
        }
    }
    let customer = form.get("customer").cloned().unwrap_or_default();
    if !d.inner.lock().unwrap().customers.contains_key(&customer) {
        return missing("customer", &customer);
    }
    let sid = id("cs_test");
    let base = d.setup().map(|s| s.base).unwrap_or_default();
    let s = json!({"id": sid, "object": "checkout.session", "mode": form["mode"], "status": "open",
        "url": format!("{base}/stripe/pay/{sid}"), "customer": customer, "subscription": null,
        "client_reference_id": form.get("client_reference_id"), "metadata": metadata(&form, "metadata["),
        "subscription_metadata": metadata(&form, "subscription_data[metadata]["),
        "trial_days": form.get("subscription_data[trial_period_days]").and_then(|d| d.parse::<i64>().ok()),
        "price": form["line_items[0][price]"], "success_url": form["success_url"],
        "cancel_url": form.get("cancel_url"), "payment_status": "unpaid", "created": now(),
        "expires_at": now() + 86_400, "livemode": false});
    d.inner.lock().unwrap().sessions.insert(sid, s.clone());
    answer(&d, &headers, &form, s)
}

async fn get_session(
    State(d): State<StripeDouble>,
    headers: HeaderMap,
    Path(sid): Path<String>,
) -> Response {
    if !authorised(&d, &headers) {
        return unauthorised();
    }
    match d.inner.lock().unwrap().sessions.get(&sid) {
        Some(s) => Json(s.clone()).into_response(),
        None => missing("checkout.session", &sid),
    }
}

async fn create_portal(State(d): State<StripeDouble>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(form) = read(&d, &headers, &body) else {
        return unauthorised();
    };
    let customer = form.get("customer").cloned().unwrap_or_default();
    if !d.inner.lock().unwrap().customers.contains_key(&customer) {
        return missing("customer", &customer);
    }
    let pid = id("bps");
    let base = d.setup().map(|s| s.base).unwrap_or_default();
    let p = json!({"id": pid, "object": "billing_portal.session", "customer": customer,
        "return_url": form.get("return_url"), "url": format!("{base}/stripe/portal/{pid}"),
        "created": now(), "livemode": false});
    d.inner.lock().unwrap().portals.insert(pid, p.clone());
    answer(&d, &headers, &form, p)
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body><main><h1>{title}</h1>{body}</main></body></html>"
    ))
}

async fn pay_page(State(d): State<StripeDouble>, Path(sid): Path<String>) -> Response {
    let Some(s) = d.inner.lock().unwrap().sessions.get(&sid).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let trial = s["trial_days"]
        .as_i64()
        .map(|n| format!("<p>{n} days free, then monthly.</p>"))
        .unwrap_or_default();
    page("Stripe test checkout", &format!("{trial}<form method=\"post\"><button type=\"submit\">Start subscription</button></form>")).into_response()
}

async fn pay(State(d): State<StripeDouble>, Path(sid): Path<String>) -> Response {
    match d.complete_checkout(&sid).await {
        Some(to) => Redirect::to(&to).into_response(),
        None => StatusCode::CONFLICT.into_response(),
    }
}

async fn portal_page(State(d): State<StripeDouble>, Path(pid): Path<String>) -> Response {
    let Some(p) = d.inner.lock().unwrap().portals.get(&pid).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let back = p["return_url"].as_str().unwrap_or("/");
    page("Stripe test billing portal", &format!(
        "<form method=\"post\" action=\"/stripe/portal/{pid}/cancel\"><button type=\"submit\">Cancel plan</button></form><p><a href=\"{back}\">Return</a></p>"
    )).into_response()
}

/// "Cancel plan" in the portal: the subscription ends at the period's end.
async fn portal_cancel(State(d): State<StripeDouble>, Path(pid): Path<String>) -> Response {
    let Some(p) = d.inner.lock().unwrap().portals.get(&pid).cloned() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let customer = p["customer"].clone();
    let subs: Vec<String> = d
        .subscriptions()
        .into_iter()
        .filter(|s| s["customer"] == customer && s["status"] != "canceled")
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect();
    for s in subs {
        d.move_subscription(&s, "cancel").await;
    }
    Redirect::to(p["return_url"].as_str().unwrap_or("/")).into_response()
}

async fn state(State(d): State<StripeDouble>) -> Json<Value> {
    let inner = d.inner.lock().unwrap();
    Json(
        json!({"customers": inner.customers.values().collect::<Vec<_>>(),
        "subscriptions": inner.subscriptions.values().collect::<Vec<_>>(), "events": inner.events}),
    )
}

async fn move_subscription(
    State(d): State<StripeDouble>,
    Path(sid): Path<String>,
    Json(b): Json<Value>,
) -> Response {
    let status = b["status"].as_str().unwrap_or_default().to_owned();
    match d.move_subscription(&sid, &status).await {
        Some(s) => Json(s).into_response(),
        None => missing("subscription", &sid),
    }
}

/// `DELETE /v1/subscriptions/{id}`: ends it now (`customer.subscription.deleted` follows).
async fn cancel_subscription(
    State(d): State<StripeDouble>,
    headers: HeaderMap,
    Path(sid): Path<String>,
) -> Response {
    if !authorised(&d, &headers) {
        return unauthorised();
    }
    match d.move_subscription(&sid, "canceled").await {
        Some(s) => Json(s).into_response(),
        None => missing("subscription", &sid),
    }
}
