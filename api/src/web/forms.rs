//! `/app/save`: every form that saves data posts here, with or without JavaScript. The fields
//! become the owner API's JSON (each field's kind says how: see [`Kind`]), the API is called
//! in-process with the browser's own session, so roles, validation and messages are the API's,
//! and then:
//! - a plain HTML post is sent on (303) to the next page, or gets the page it came from rendered
//!   again with what was typed and each error next to its field;
//! - the script's post (`Accept: application/json`) gets `{"next": …}` or the API's error, and
//!   shows the errors in place without a reload.
//!
//! The form names its API call in hidden fields. That grants nothing a page's own `fetch` could
//! not do: only the owner API's routes are reachable, under the same session and role checks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use super::security::safe_next;
use super::ui::{Kind, Submitted};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/app/save", post(save))
}

/// What the hidden fields ask for, and the owner's fields.
struct Posted {
    form: String,
    method: Method,
    api: String,
    back: String,
    next: Option<String>,
    merge: bool,
    fields: Vec<(String, String)>,
    kinds: BTreeMap<String, Kind>,
    was: BTreeMap<String, String>,
    keep: BTreeSet<String>,
    drop: Vec<String>,
}

async fn save(State(s): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let wants_json = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let Ok(bytes) = axum::body::to_bytes(body, s.config.max_body_bytes).await else {
        return refused(StatusCode::PAYLOAD_TOO_LARGE, "That form is too large.");
    };
    let Some(p) = parse(&bytes) else {
        return refused(StatusCode::BAD_REQUEST, "That form is not one of ours.");
    };
    let (status, answer) = match to_json(&p) {
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, invalid(errors)),
        Ok(fields) => call_api(&s, &parts, &p, fields).await,
    };
    if status.is_success() {
        let next = p.next.as_ref().map(|n| {
            let id = answer.get("id").and_then(Value::as_str).unwrap_or_default();
            safe_next(Some(&n.replace("{id}", id)))
        });
        return if wants_json {
            axum::Json(json!({ "next": next })).into_response()
        } else {
            Redirect::to(&next.unwrap_or_else(|| p.back.clone())).into_response()
        };
    }
    if wants_json {
        return (status, axum::Json(answer)).into_response();
    }
    if status == StatusCode::UNAUTHORIZED {
        let to = format!("/session/refresh?next={}", super::enc(&p.back));
        return Redirect::to(&to).into_response();
    }
    render_again(&s, &parts, &p, status, &answer).await
}

fn parse(bytes: &[u8]) -> Option<Posted> {
    let mut p = Posted {
        form: String::new(),
        method: Method::POST,
        api: String::new(),
        back: "/app".into(),
        next: None,
        merge: false,
        fields: Vec::new(),
        kinds: BTreeMap::new(),
        was: BTreeMap::new(),
        keep: BTreeSet::new(),
        drop: Vec::new(),
    };
    for (n, (k, v)) in form_urlencoded::parse(bytes).into_owned().enumerate() {
        if n >= MAX_FIELDS || !plain_name(&k) {
            return None;
        }
        match k.as_str() {
            "_form" => p.form = v,
            "_method" => p.method = v.parse().ok()?,
            "_api" => p.api = v,
            "_back" => p.back = safe_next(Some(&v)),
            "_next" => p.next = Some(v),
            "_merge" => p.merge = true,
            "_type" => {
                let (name, kind) = v.split_once(':')?;
                p.kinds.insert(name.to_owned(), kind_of(kind)?);
            }
            "_keep" => {
                p.keep.insert(v);
            }
            "_drop" => p.drop.push(v),
            _ => match k.strip_prefix("_was.") {
                Some(name) => {
                    p.was.insert(name.to_owned(), v);
                }
                None if k.starts_with('_') => return None,
                None => p.fields.push((k, v)),
            },
        }
    }
    let api_path = p.api.strip_prefix("/api/")?;
    let plain = api_path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-_".contains(&b));
    let method = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(&p.method);
    (plain && method && !p.back.starts_with("/app/save")).then_some(p)
}

/// More than any of our forms has; a post with more is not one of ours.
const MAX_FIELDS: usize = 300;

/// A field name as our forms write them: at most four dot-separated parts, none empty (names
/// nest JSON, so an unbounded one would nest it without bound).
fn plain_name(name: &str) -> bool {
    let parts = name.split('.');
    name.len() <= 100 && parts.clone().count() <= 4 && parts.into_iter().all(|p| !p.is_empty())
}

fn kind_of(name: &str) -> Option<Kind> {
    Some(match name {
        "text" => Kind::Text,
        "optional" => Kind::Optional,
        "int" => Kind::Int,
        "cents" => Kind::Cents,
        "bool" => Kind::Bool,
        "list" => Kind::List,
        "hourlist" => Kind::HourList,
        "time" => Kind::Time,
        "lines" => Kind::Lines,
        _ => return None,
    })
}

/// The form as the API's JSON, or the fields whose text cannot be what they say they are.
fn to_json(p: &Posted) -> Result<Map<String, Value>, BTreeMap<String, String>> {
    let mut body = Map::new();
    let mut errors = BTreeMap::new();
    for (name, raw) in &p.fields {
        if p.was.get(name) == Some(raw) {
            continue;
        }
        match value_of(p.kinds.get(name).copied().unwrap_or(Kind::Text), raw) {
            Ok(v) => set_path(&mut body, name, v),
            Err(e) => {
                errors.insert(name.clone(), e.to_owned());
            }
        }
    }
    // An unticked box sends nothing: it means false.
    for (name, kind) in &p.kinds {
        if *kind == Kind::Bool && !p.fields.iter().any(|(k, _)| k == name) {
            set_path(&mut body, name, Value::Bool(false));
        }
    }
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(errors)
    }
}

/// A group the form left out (a closed weekday) is removed, from the merged record too.
fn drop_unkept(p: &Posted, body: &mut Map<String, Value>) {
    for path in p.drop.iter().filter(|d| !p.keep.contains(*d)) {
        remove_path(body, path);
    }
}

fn value_of(kind: Kind, raw: &str) -> Result<Value, &'static str> {
    let v = raw.trim();
    let number = |s: &str| s.replace(['$', ','], "").parse::<f64>();
    Ok(match kind {
        Kind::Optional | Kind::Int | Kind::Cents if v.is_empty() => Value::Null,
        // A time input sends `08:30`; the API reads seconds too.
        Kind::Time if v.len() == 5 => json!(format!("{v}:00")),
        Kind::Text | Kind::Optional | Kind::Time => json!(v),
        Kind::Int => json!(v.parse::<i64>().map_err(|_| "a whole number, like 45")?),
        Kind::Cents => {
            let dollars = number(v).map_err(|_| "an amount in dollars, like 175 or 89.50")?;
            json!(whole(dollars * 100.0).ok_or("an amount in dollars, like 175 or 89.50")?)
        }
        Kind::Bool => json!(matches!(v, "true" | "on" | "1")),
        Kind::List => json!(items(v).collect::<Vec<_>>()),
        Kind::Lines => json!(
            v.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
        ),
        Kind::HourList => {
            let hours: Result<Vec<f64>, _> = items(v).map(number).collect();
            let seconds: Option<Vec<i64>> = hours
                .map_err(|_| "hours separated by commas, like 1, 24")?
                .iter()
                .map(|h| whole(h * 3600.0))
                .collect();
            json!(seconds.ok_or("hours separated by commas, like 1, 24")?)
        }
    })
}

/// The nearest whole number, for amounts a person could type (no NaN, nothing near overflow).
#[allow(
    clippy::cast_possible_truncation,
    reason = "checked to be well inside i64 first"
)]
fn whole(x: f64) -> Option<i64> {
    (x.is_finite() && x.abs() < 1e15).then(|| x.round() as i64)
}

fn items(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// `business_hours.monday.open` nests.
fn set_path(body: &mut Map<String, Value>, path: &str, value: Value) {
    let mut keys = path.split('.').peekable();
    let mut o = body;
    while let Some(k) = keys.next() {
        if keys.peek().is_none() {
            o.insert(k.to_owned(), value);
            return;
        }
        let slot = o.entry(k).or_insert_with(|| json!({}));
        if !slot.is_object() {
            *slot = json!({});
        }
        let Some(inner) = slot.as_object_mut() else {
            return;
        };
        o = inner;
    }
}

fn remove_path(body: &mut Map<String, Value>, path: &str) {
    match path.split_once('.') {
        None => {
            body.remove(path);
        }
        Some((head, rest)) => {
            if let Some(inner) = body.get_mut(head).and_then(Value::as_object_mut) {
                remove_path(inner, rest);
            }
        }
    }
}

/// The owner API, in-process, as this browser: its cookies and connection, nothing else.
async fn call_api(
    s: &AppState,
    parts: &Parts,
    p: &Posted,
    fields: Map<String, Value>,
) -> (StatusCode, Value) {
    let mut body = Map::new();
    if p.merge {
        let (status, current) = dispatch(s, parts, Method::GET, &p.api, None).await;
        match current {
            Value::Object(current) if status.is_success() => body = current,
            // Without the record as it is, a PUT would blank what the form does not show.
            _ if status.is_success() => return (StatusCode::BAD_GATEWAY, json!({})),
            _ => return (status, current),
        }
    }
    merge(&mut body, fields);
    drop_unkept(p, &mut body);
    let body = (p.method != Method::DELETE).then_some(Value::Object(body));
    dispatch(s, parts, p.method.clone(), &p.api, body).await
}

fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

async fn dispatch(
    s: &AppState,
    parts: &Parts,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::new(body.as_ref().map_or_else(Body::empty, |b| {
        Body::from(serde_json::to_vec(b).unwrap_or_default())
    }));
    *request.method_mut() = method;
    let Ok(uri) = path.parse() else {
        return (StatusCode::BAD_REQUEST, json!({}));
    };
    *request.uri_mut() = uri;
    as_browser(parts, &mut request);
    if body.is_some() {
        request.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let api = crate::owner::router(s).with_state(s.clone());
    let Ok(response) = api.oneshot(request).await;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The browser's session cookie, bearer token and connection go with the inner request (its
/// address and request id only: nothing else an outer layer might have put there).
fn as_browser<B>(parts: &Parts, request: &mut axum::http::Request<B>) {
    let extensions = request.extensions_mut();
    if let Some(addr) = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>() {
        extensions.insert(*addr);
    }
    if let Some(id) = parts.extensions.get::<tower_http::request_id::RequestId>() {
        extensions.insert(id.clone());
    }
    for name in [header::COOKIE, header::AUTHORIZATION, header::USER_AGENT] {
        if let Some(v) = parts.headers.get(&name) {
            request.headers_mut().insert(name, v.clone());
        }
    }
    request
        .headers_mut()
        .insert(header::ACCEPT, HeaderValue::from_static("application/json"));
}

fn invalid(errors: BTreeMap<String, String>) -> Value {
    json!({"error": {"code": "invalid", "message": "Please fix the fields marked below.", "fields": errors}})
}

fn refused(status: StatusCode, message: &str) -> Response {
    (
        status,
        super::page("Not saved", maud::html! { h1 { (message) } }),
    )
        .into_response()
}

/// The page the form is on, rendered again (by its own handler) with what was sent and why it
/// was refused; the answer keeps the API's status.
async fn render_again(
    s: &AppState,
    parts: &Parts,
    p: &Posted,
    status: StatusCode,
    answer: &Value,
) -> Response {
    let error = &answer["error"];
    let errors = error["fields"]
        .as_object()
        .map(|f| {
            f.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("not right").to_owned()))
                .collect()
        })
        .unwrap_or_default();
    // The ticked groups go back too, so the page shows them ticked.
    let keep = p.keep.iter().map(|k| ("_keep".to_owned(), k.clone()));
    let sent = Submitted {
        form: p.form.clone(),
        values: p.fields.iter().cloned().chain(keep).collect(),
        errors,
        message: error["message"].as_str().map(str::to_owned),
    };
    let mut request = Request::new(Body::empty());
    let Ok(uri) = p.back.parse() else {
        return refused(status, "That was not saved.");
    };
    *request.uri_mut() = uri;
    as_browser(parts, &mut request);
    request.headers_mut().remove(header::ACCEPT);
    request.extensions_mut().insert(Arc::new(sent));
    let pages = super::router().with_state(s.clone());
    let Ok(page) = pages.oneshot(request).await;
    if page.status() != StatusCode::OK {
        return page;
    }
    (status, page).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(form: &str) -> Posted {
        parse(form.as_bytes()).expect("a form of ours")
    }

    #[test]
    fn fields_become_the_api_json_by_their_kind() {
        let p = posted(
            "_form=f&_method=PUT&_api=/api/catalog/1&_back=/app/catalog\
             &name=Sink+Clog&price_cents=%24175.50&_type=price_cents:cents\
             &price_min_cents=&_type=price_min_cents:cents&keywords=sink,+drain+&_type=keywords:list\
             &_type=active:bool&follow=1,+24&_type=follow:hourlist&q=08:30&_type=q:time\
             &business_hours.monday.open=08:00&business_hours.sunday.open=09:00\
             &_drop=business_hours.monday&_drop=business_hours.sunday&_keep=business_hours.monday",
        );
        let mut body = to_json(&p).unwrap();
        body.insert(
            "business_hours".into(),
            json!({"sunday": {"open": "10:00"}, "monday": {}}),
        );
        merge(&mut body, to_json(&p).unwrap());
        drop_unkept(&p, &mut body);
        assert_eq!(
            Value::Object(body),
            json!({"name": "Sink Clog", "price_cents": 17550, "price_min_cents": null,
                   "keywords": ["sink", "drain"], "active": false, "follow": [3600, 86400],
                   "q": "08:30:00", "business_hours": {"monday": {"open": "08:00"}}})
        );
    }

    #[test]
    fn only_changed_fields_are_sent_when_the_form_says_so() {
        let p = posted(
            "_api=/api/leads/1&_method=PATCH&name=Sam&_was.name=Sam&address=14+Oak&_was.address=12+Oak",
        );
        assert_eq!(
            Value::Object(to_json(&p).unwrap()),
            json!({"address": "14 Oak"})
        );
    }

    #[test]
    fn text_that_is_not_its_kind_is_an_error_by_its_field() {
        let p = posted("_api=/api/x&minutes=soon&_type=minutes:int&price=abc&_type=price:cents");
        let errors = to_json(&p).unwrap_err();
        assert_eq!(errors.keys().collect::<Vec<_>>(), vec!["minutes", "price"]);
    }

    #[test]
    fn only_owner_api_paths_and_this_site_are_reachable() {
        for bad in [
            "_api=/auth/login",
            "_api=/api/../admin",
            "_api=https://evil.example/api/x",
            "_api=/api/x?y=1",
            "_api=/api/x&_method=GET",
            "_api=/api/x&_unknown=1",
            "_api=/api/x&_type=a:weird",
            "_api=/api/x&a..b=1",
            "_api=/api/x&a.b.c.d.e=1",
        ] {
            assert!(parse(bad.as_bytes()).is_none(), "{bad}");
        }
        let deep = format!("_api=/api/x&{}=1", "a.".repeat(30_000));
        assert!(
            parse(deep.as_bytes()).is_none(),
            "a name nesting without bound"
        );
        let many = format!("_api=/api/x{}", "&a=1".repeat(MAX_FIELDS));
        assert!(
            parse(many.as_bytes()).is_none(),
            "more fields than any form of ours"
        );
        let p = posted("_api=/api/x&_back=https://evil.example/&_next=//evil.example");
        assert_eq!(p.back, "/app");
    }
}
