//! The CRM push: one attempt per activity run, every attempt in the delivery log. An outage
//! (429, 5xx, network) fails the activity so Temporal retries it with backoff, after the
//! vendor's Retry-After when it gave one; a refusal (bad key, invalid data) is final and shown
//! to the owner. Pushes about one caller to one CRM take turns (an advisory lock), so two
//! interactions resolving at once cannot both create the contact.

use std::sync::Arc;
use std::time::Instant;

use nmc_crm::{Connection, CrmError, Crms, Progress};
use nmc_domain::crm::Vendor;
use nmc_store::crm::{self as store, Attempt, Job};
use secrecy::SecretString;
use temporalio_common::error::ApplicationFailure;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use tracing::{info, warn};
use uuid::Uuid;

use crate::booking::BookingActivities;
use crate::retryable;

/// Pushes one worker runs at once (each holds a database connection while a CRM answers).
pub const PUSHES_AT_ONCE: usize = 4;

pub struct CrmActivities {
    /// For the pool, the sealing key, and Jobber's grant (the calendar's, refreshed there).
    pub booking: Arc<BookingActivities>,
    pub crms: Crms,
    /// `PUBLIC_BASE_URL`, for the links in the record.
    pub public_base_url: String,
    /// [`PUSHES_AT_ONCE`] permits.
    pub slots: tokio::sync::Semaphore,
}

#[activities]
impl CrmActivities {
    #[activity]
    pub async fn crm_push(
        self: Arc<Self>,
        _ctx: ActivityContext,
        push_id: Uuid,
    ) -> Result<String, ActivityError> {
        let pool = &self.booking.pool;
        let Some(job) = store::job(pool, push_id).await.map_err(retryable)? else {
            return Ok("gone".into());
        };
        if job.status == "synced" || job.status == "failed" {
            return Ok(job.status);
        }
        if !job.enabled {
            let paused = Err(refused("the connection is paused"));
            return self
                .finish(push_id, &job, paused, &Progress::default(), 0)
                .await;
        }
        // A few pushes at a time per worker: each holds a database connection for its lock
        // while the CRM answers, and a slow CRM must not take the pool the texts need.
        let _slot = self.slots.acquire().await.map_err(retryable)?;
        let connection = match self.open(&job).await {
            Ok(c) => c,
            Err(e) => {
                return self
                    .finish(push_id, &job, Err(e), &Progress::default(), 0)
                    .await;
            }
        };
        let record = store::record(pool, &job, &self.public_base_url)
            .await
            .map_err(retryable)?;
        // A transaction's lock, held for the push: however this ends, it is released.
        let mut turn = pool.begin().await.map_err(retryable)?;
        let key = format!("crm:{}:{}", job.connection_id, job.phone);
        nmc_store::take_turn(&mut turn, &key)
            .await
            .map_err(retryable)?;
        // Read again under the lock: the push before may have just made the contact, or an
        // attempt Temporal gave up on may have finished this push meanwhile.
        let job = store::job(pool, push_id)
            .await
            .map_err(retryable)?
            .unwrap_or(job);
        if job.status == "synced" || job.status == "failed" {
            return Ok(job.status);
        }
        let mut progress = Progress::known(job.known_id.clone(), job.known_extra.clone());
        let started = Instant::now();
        let pushed = self
            .crms
            .push(&connection, &record, &mut progress, push_id)
            .await;
        let ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        let outcome = self.finish(push_id, &job, pushed, &progress, ms).await;
        drop(turn);
        outcome
    }

    #[activity]
    pub async fn crm_gave_up(
        self: Arc<Self>,
        _ctx: ActivityContext,
        push_id: Uuid,
    ) -> Result<(), ActivityError> {
        warn!(%push_id, "crm push: retries spent; failed");
        store::give_up(&self.booking.pool, push_id)
            .await
            .map_err(retryable)
    }
}

impl CrmActivities {
    /// The connection with its secret unsealed (Jobber's: the calendar grant's live token).
    async fn open(&self, job: &Job) -> Result<Connection, CrmError> {
        let vendor = Vendor::parse(&job.vendor).ok_or_else(|| refused("unknown CRM"))?;
        let secret = if vendor == Vendor::Jobber {
            self.jobber_token(job.business_id).await?
        } else if let Some(fresh) = self.refreshed(vendor, job).await? {
            fresh
        } else {
            let sealed = job
                .secret_enc
                .as_deref()
                .ok_or_else(|| refused("no credential"))?;
            self.booking
                .secrets
                .decrypt(sealed)
                .map_err(|_| refused("the credential could not be unsealed"))?
        };
        Ok(Connection {
            vendor,
            secret: SecretString::from(secret),
            settings: job.settings.clone(),
            field_map: job.field_map.0.clone(),
        })
    }

    /// An OAuth grant's access token, refreshed (and stored sealed) when it expires within five
    /// minutes; none for a pasted token or one still good.
    async fn refreshed(&self, vendor: Vendor, job: &Job) -> Result<Option<String>, CrmError> {
        let expiring = job
            .token_expires_at
            .is_some_and(|t| t < chrono::Utc::now() + chrono::Duration::minutes(5));
        let (Some(sealed), Some(oauth), true) =
            (&job.refresh_token_enc, self.crms.oauth(vendor), expiring)
        else {
            return Ok(None);
        };
        let secrets = &self.booking.secrets;
        // One refresh at a time per grant: GoHighLevel rotates the refresh token, so a second
        // refresh with the old one would fail for good. Whoever waited finds it fresh.
        let pool = &self.booking.pool;
        let mut turn = pool.begin().await.map_err(|e| unavailable(&e))?;
        nmc_store::take_turn(&mut turn, &format!("crm-token:{}", job.connection_id))
            .await
            .map_err(|e| unavailable(&e))?;
        let grant = store::grant(pool, job.connection_id)
            .await
            .map_err(|e| unavailable(&e))?;
        let unseal = |s: &str| {
            secrets
                .decrypt(s)
                .map_err(|_| refused("the grant could not be unsealed"))
        };
        if grant
            .expires_at
            .is_some_and(|t| t > chrono::Utc::now() + chrono::Duration::minutes(5))
        {
            return grant.access_enc.as_deref().map(unseal).transpose();
        }
        let refresh = unseal(grant.refresh_enc.as_deref().unwrap_or(sealed))?;
        let fresh = oauth
            .refresh(&self.crms.http, &refresh)
            .await
            .map_err(|e| match e {
                // Its own words may carry the token URL: none of that in the log shown to owners.
                nmc_calendar::CalendarError::Unavailable { .. } => CrmError::Retry {
                    status: None,
                    message: "the CRM's token endpoint did not answer".into(),
                    after: None,
                },
                nmc_calendar::CalendarError::Refused { .. } => {
                    refused("the CRM refused to renew our access; connect it again")
                }
            })?;
        let now = chrono::Utc::now();
        let tokens = store::SealedTokens {
            access_enc: secrets.encrypt(&fresh.access_token),
            refresh_enc: fresh.refresh_token.as_deref().map(|r| secrets.encrypt(r)),
            expires_at: Some(now + chrono::Duration::seconds(fresh.lifetime_secs(now.timestamp()))),
        };
        store::store_tokens(&self.booking.pool, job.connection_id, &tokens)
            .await
            .map_err(|e| unavailable(&e))?;
        drop(turn);
        info!(business_id = %job.business_id, vendor = vendor.as_str(), "crm token refreshed");
        Ok(Some(fresh.access_token))
    }

    async fn jobber_token(&self, business_id: Uuid) -> Result<String, CrmError> {
        let mut db = nmc_store::conn(&self.booking.pool)
            .await
            .map_err(|e| unavailable(&e))?;
        let conns = nmc_store::calendar::connections(&mut db, business_id)
            .await
            .map_err(|e| unavailable(&e))?;
        let conn = conns
            .into_iter()
            .find(|c| c.provider == "jobber")
            .ok_or_else(|| refused("Jobber is not connected (Settings → Calendars)"))?;
        self.booking
            .access_token(business_id, &conn)
            .await
            .map_err(|e| match e {
                nmc_calendar::CalendarError::Unavailable { message, .. } => CrmError::Retry {
                    status: None,
                    message,
                    after: None,
                },
                other @ nmc_calendar::CalendarError::Refused { .. } => refused(&other.to_string()),
            })
    }

    /// Logs the attempt and says what the workflow does next.
    async fn finish(
        &self,
        push_id: Uuid,
        job: &Job,
        pushed: Result<(), CrmError>,
        progress: &Progress,
        duration_ms: i32,
    ) -> Result<String, ActivityError> {
        let pool = &self.booking.pool;
        // Kept whatever happened after: the retry must update what this attempt made.
        if let Some(id) = progress.remote_id.as_deref() {
            store::keep_contact(pool, push_id, id, &progress.extra)
                .await
                .map_err(retryable)?;
        }
        store::note_remote(
            pool,
            push_id,
            progress.remote_id.as_deref(),
            progress.created,
        )
        .await
        .map_err(retryable)?;
        let (status, error) = match &pushed {
            Ok(()) => ("synced", None),
            Err(e) if e.is_retryable() => ("retrying", Some(e.to_string())),
            Err(e) => ("failed", Some(e.to_string())),
        };
        let attempt = Attempt {
            push_id,
            business_id: job.business_id,
            ok: pushed.is_ok(),
            http_status: pushed
                .as_ref()
                .err()
                .and_then(CrmError::status)
                .map(i32::from),
            error: error.as_deref(),
            duration_ms,
            status,
        };
        store::record_attempt(pool, &attempt)
            .await
            .map_err(retryable)?;
        match pushed {
            Ok(()) => {
                info!(business_id = %job.business_id, %push_id, vendor = %job.vendor, created = progress.created, "crm push synced");
                Ok("synced".into())
            }
            Err(e) if e.is_retryable() => {
                warn!(business_id = %job.business_id, %push_id, vendor = %job.vendor, error = %e, "crm push: will retry");
                let builder = ApplicationFailure::builder(anyhow::anyhow!("{e}"));
                let failure = match e.retry_after() {
                    Some(after) => builder.next_retry_delay(after).build(),
                    None => builder.build(),
                };
                Err(ActivityError::application(failure))
            }
            Err(e) => {
                warn!(business_id = %job.business_id, %push_id, vendor = %job.vendor, error = %e, "crm push refused");
                Ok("failed".into())
            }
        }
    }
}

fn refused(message: &str) -> CrmError {
    CrmError::Refused {
        status: None,
        message: message.to_owned(),
    }
}

fn unavailable(e: &impl std::fmt::Display) -> CrmError {
    CrmError::Retry {
        status: None,
        message: e.to_string(),
        after: None,
    }
}
