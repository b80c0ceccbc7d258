//! Google Calendar v3: events insert / patch / delete and freeBusy. Events carry our appointment
//! id as their own id (base32hex allows 0-9a-v), so a retried insert finds the event it made.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::{CalendarError, CalendarEvent, urlencode};

const P: &str = "google";

#[derive(Debug, Clone)]
pub struct GoogleCalendar {
    pub http: reqwest::Client,
    /// `https://www.googleapis.com/calendar/v3` in production.
    pub api_base: String,
}

/// The event id Google stores for an appointment.
pub fn event_id(appointment_id: uuid::Uuid) -> String {
    format!("nmc{}", appointment_id.simple())
}

impl GoogleCalendar {
    fn events_url(&self, calendar_id: &str) -> String {
        format!(
            "{}/calendars/{}/events",
            self.api_base,
            urlencode(calendar_id)
        )
    }

    fn body(e: &CalendarEvent) -> serde_json::Value {
        json!({
            "id": event_id(e.appointment_id),
            "summary": e.title,
            "description": e.description,
            "location": e.location,
            "start": {"dateTime": e.start.to_rfc3339(), "timeZone": e.timezone},
            "end": {"dateTime": e.end.to_rfc3339(), "timeZone": e.timezone},
            "extendedProperties": {"private": {"nmcAppointmentId": e.appointment_id.to_string(), "nmcVersion": e.version.to_string()}},
        })
    }

    /// Creates or updates the event for this appointment; deletes it when cancelled.
    /// Returns the event id.
    pub async fn push(
        &self,
        token: &str,
        calendar_id: &str,
        e: &CalendarEvent,
        known: Option<&str>,
    ) -> Result<String, CalendarError> {
        let id = known.map_or_else(|| event_id(e.appointment_id), str::to_owned);
        if e.cancelled {
            let url = format!("{}/{}", self.events_url(calendar_id), id);
            let resp = self
                .http
                .delete(url)
                .bearer_auth(token)
                .send()
                .await
                .map_err(|x| CalendarError::network(P, x))?;
            // 404/410: already gone, which is what we wanted.
            if resp.status().is_success()
                || resp.status().as_u16() == 404
                || resp.status().as_u16() == 410
            {
                return Ok(id);
            }
            let status = resp.status();
            return Err(CalendarError::from_status(
                P,
                status,
                resp.text().await.unwrap_or_default(),
            ));
        }
        if known.is_none() {
            let resp = self
                .http
                .post(self.events_url(calendar_id))
                .bearer_auth(token)
                .json(&Self::body(e))
                .send()
                .await
                .map_err(|x| CalendarError::network(P, x))?;
            let status = resp.status();
            if status.is_success() {
                return Ok(id);
            }
            // 409: an earlier attempt created it; fall through to patch it to the latest.
            if status.as_u16() != 409 {
                return Err(CalendarError::from_status(
                    P,
                    status,
                    resp.text().await.unwrap_or_default(),
                ));
            }
        }
        let url = format!("{}/{}", self.events_url(calendar_id), id);
        let resp = self
            .http
            .patch(url)
            .bearer_auth(token)
            .json(&Self::body(e))
            .send()
            .await
            .map_err(|x| CalendarError::network(P, x))?;
        let status = resp.status();
        if status.is_success() {
            Ok(id)
        } else {
            Err(CalendarError::from_status(
                P,
                status,
                resp.text().await.unwrap_or_default(),
            ))
        }
    }

    /// Busy blocks in the calendar between `from` and `to`.
    pub async fn free_busy(
        &self,
        token: &str,
        calendar_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>, CalendarError> {
        #[derive(Deserialize)]
        struct Busy {
            start: DateTime<Utc>,
            end: DateTime<Utc>,
        }
        #[derive(Deserialize)]
        struct Cal {
            #[serde(default)]
            busy: Vec<Busy>,
            #[serde(default)]
            errors: Vec<serde_json::Value>,
        }
        #[derive(Deserialize)]
        struct Answer {
            calendars: std::collections::HashMap<String, Cal>,
        }
        let body = json!({"timeMin": from.to_rfc3339(), "timeMax": to.to_rfc3339(), "items": [{"id": calendar_id}]});
        let resp = self
            .http
            .post(format!("{}/freeBusy", self.api_base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .map_err(|x| CalendarError::network(P, x))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(CalendarError::from_status(
                P,
                status,
                resp.text().await.unwrap_or_default(),
            ));
        }
        let answer: Answer = resp
            .json()
            .await
            .map_err(|x| CalendarError::network(P, x))?;
        let cal = answer
            .calendars
            .into_values()
            .next()
            .ok_or(CalendarError::Refused {
                provider: P,
                status: 200,
                message: "calendar missing from freeBusy answer".into(),
            })?;
        if let Some(err) = cal.errors.first() {
            return Err(CalendarError::Refused {
                provider: P,
                status: 200,
                message: err.to_string(),
            });
        }
        Ok(cal.busy.into_iter().map(|b| (b.start, b.end)).collect())
    }
}
