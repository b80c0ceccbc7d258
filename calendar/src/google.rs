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
        calendar_ids: &[String],
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
        // freeBusy takes up to 50 calendars at once.
        let items: Vec<_> = calendar_ids
            .iter()
            .take(50)
            .map(|id| json!({ "id": id }))
            .collect();
        let body =
            json!({"timeMin": from.to_rfc3339(), "timeMax": to.to_rfc3339(), "items": items});
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
        // Every calendar read, or none: a calendar that errs (deleted, no access) fails the
        // refresh rather than hide its busy time.
        let mut busy = Vec::new();
        for (id, cal) in answer.calendars {
            if let Some(err) = cal.errors.first() {
                return Err(CalendarError::Refused {
                    provider: P,
                    status: 200,
                    message: format!("{id}: {err}"),
                });
            }
            busy.extend(cal.busy.into_iter().map(|b| (b.start, b.end)));
        }
        Ok(busy)
    }

    /// The owner's calendars for the picker (`calendarList.list`, every page).
    pub async fn calendar_list(&self, token: &str) -> Result<Vec<CalendarEntry>, CalendarError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            #[serde(default)]
            items: Vec<CalendarEntry>,
            next_page_token: Option<String>,
        }
        let mut all = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut url = format!("{}/users/me/calendarList?maxResults=250", self.api_base);
            if let Some(t) = &page_token {
                url.push_str(&format!("&pageToken={}", urlencode(t)));
            }
            let resp = self
                .http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .map_err(|x| CalendarError::network(P, x))?;
            let status = resp.status();
            if !status.is_success() {
                let body = resp.text().await.unwrap_or_default();
                return Err(CalendarError::from_status(P, status, body));
            }
            let page: Page = resp
                .json()
                .await
                .map_err(|x| CalendarError::network(P, x))?;
            all.extend(page.items.into_iter().filter(|c| !c.deleted));
            match page.next_page_token {
                Some(t) if all.len() < 2000 => page_token = Some(t),
                _ => return Ok(all),
            }
        }
    }
}

/// One calendar in the owner's list.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarEntry {
    pub id: String,
    #[serde(default)]
    pub summary: String,
    /// The owner's own name for it, shown when set.
    #[serde(default)]
    pub summary_override: Option<String>,
    #[serde(default)]
    pub primary: bool,
    /// `freeBusyReader`, `reader`, `writer` or `owner`: jobs go only where we may write.
    #[serde(default)]
    pub access_role: String,
    #[serde(default)]
    pub deleted: bool,
}

impl CalendarEntry {
    pub fn name(&self) -> &str {
        self.summary_override.as_deref().unwrap_or(&self.summary)
    }

    pub fn writable(&self) -> bool {
        matches!(self.access_role.as_str(), "writer" | "owner")
    }
}
