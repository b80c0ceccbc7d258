//! The voice side's activities: Lookup before the first text, and a voicemail's recording
//! moved from Twilio into our storage and transcribed. Each is safe to run again.

use std::sync::Arc;

use nmc_activity_defs::voice::{CallerDetails, LineCheckRequest, RecordingRef, Transcript};
use nmc_assistant::transcribe::{TranscribeError, Transcriber};
use nmc_domain::line::{LineVerdict, verdict};
use nmc_store::{PgPool, SecretBox, voice, voicemail};
use nmc_twilio::TwilioClient;
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use crate::{permanent, retryable};

/// Lookup answers are kept this long: numbers move between carriers and line types.
const LINE_CHECK_DAYS: i32 = 180;

pub struct VoiceActivities {
    pub pool: PgPool,
    pub secrets: SecretBox,
    pub twilio: TwilioClient,
    pub storage: nmc_storage::Storage,
    /// `None`: no engine here; voicemails are kept and alerted without words.
    pub transcriber: Option<Transcriber>,
}

#[activities]
impl VoiceActivities {
    #[activity]
    pub async fn check_line(
        self: Arc<Self>,
        _ctx: ActivityContext,
        r: LineCheckRequest,
    ) -> Result<LineVerdict, ActivityError> {
        if let Some(kept) = voice::line_check(&self.pool, r.business_id, &r.caller, LINE_CHECK_DAYS)
            .await
            .map_err(retryable)?
        {
            return Ok(verdict(kept.line_type.as_deref(), kept.sms_pumping_risk));
        }
        let (sid, token) = self.account(r.business_id).await?;
        match self
            .twilio
            .lookup_line(&sid, &token, r.caller.as_str())
            .await
        {
            Ok(info) => {
                voice::save_line_check(
                    &self.pool,
                    r.business_id,
                    &r.caller,
                    info.line_type.as_deref(),
                    info.carrier_name.as_deref(),
                    info.sms_pumping_risk,
                )
                .await
                .map_err(retryable)?;
                let v = verdict(info.line_type.as_deref(), info.sms_pumping_risk);
                tracing::info!(line_type = ?info.line_type, verdict = ?v, "caller's line checked");
                Ok(v)
            }
            // The first text must not wait on Lookup: unanswered, the caller is texted and a
            // landline is still caught by the carrier (21614).
            Err(e) => {
                tracing::warn!(error = %e, "Lookup unavailable; texting as usual");
                Ok(LineVerdict::Textable)
            }
        }
    }

    #[activity]
    pub async fn store_recording(
        self: Arc<Self>,
        _ctx: ActivityContext,
        r: RecordingRef,
    ) -> Result<(), ActivityError> {
        let Some(rec) = voicemail::to_store(&self.pool, r.recording_id)
            .await
            .map_err(retryable)?
        else {
            return Err(permanent("no such recording"));
        };
        let token = self
            .secrets
            .decrypt(&rec.twilio_auth_token_enc)
            .map_err(permanent)?;
        if rec.storage_key.is_none() {
            let media = self
                .twilio
                .fetch_recording(&rec.twilio_account_sid, &token, &rec.twilio_url)
                .await
                .map_err(twilio_error)?;
            let key = format!("recordings/{}/{}.wav", rec.business_id, r.recording_id);
            let size = media.bytes.len() as i64;
            self.storage
                .put(&key, media.bytes)
                .await
                .map_err(retryable)?;
            let kept =
                voicemail::mark_stored(&self.pool, r.recording_id, &key, &media.content_type, size)
                    .await
                    .map_err(retryable)?;
            if !kept {
                // The caller was erased meanwhile: no copy of theirs stays behind.
                self.storage.delete(&key).await.map_err(retryable)?;
                return Err(permanent("the recording was erased"));
            }
        }
        // Only once our copy is safe: Twilio's goes. A refusal is logged, never a reason to
        // hold back the caller's answer (the copy we need is ours).
        if !rec.twilio_deleted {
            match self
                .twilio
                .delete_recording(&rec.twilio_account_sid, &token, &rec.twilio_recording_sid)
                .await
            {
                Ok(()) => voicemail::mark_twilio_deleted(&self.pool, r.recording_id)
                    .await
                    .map_err(retryable)?,
                Err(e) => {
                    tracing::warn!(error = %e, "Twilio's copy of a voicemail was not deleted; delete it by hand");
                }
            }
        }
        Ok(())
    }

    #[activity]
    pub async fn note_caller(
        self: Arc<Self>,
        _ctx: ActivityContext,
        d: CallerDetails,
    ) -> Result<(), ActivityError> {
        let complete =
            d.said.name.is_some() && d.said.address.is_some() && d.said.service_needed.is_some();
        nmc_store::activity::record_learned(
            &self.pool,
            d.business_id,
            d.conversation_id,
            &d.said,
            complete,
        )
        .await
        .map_err(retryable)?;
        Ok(())
    }

    #[activity]
    pub async fn transcribe_recording(
        self: Arc<Self>,
        _ctx: ActivityContext,
        r: RecordingRef,
    ) -> Result<Transcript, ActivityError> {
        let Some(engine) = &self.transcriber else {
            return self
                .give_up(r, "no transcription engine is configured")
                .await;
        };
        let Some((key, _)) = voicemail::stored_media(&self.pool, r.recording_id)
            .await
            .map_err(retryable)?
        else {
            return self.give_up(r, "the recording is not stored").await;
        };
        let audio = self.storage.get(&key).await.map_err(retryable)?;
        let started = std::time::Instant::now();
        match engine.transcribe(audio, "voicemail.wav").await {
            Ok(heard) => {
                tracing::info!(
                    secs = started.elapsed().as_secs_f64(),
                    "voicemail transcribed"
                );
                let text = if heard.text.is_empty() {
                    "(no words could be made out)".to_owned()
                } else {
                    heard.text
                };
                let message_id = voicemail::save_transcript(
                    &self.pool,
                    r.recording_id,
                    &text,
                    heard.language.as_deref(),
                )
                .await
                .map_err(retryable)?;
                Ok(Transcript {
                    text: Some(text),
                    message_id: Some(message_id),
                    error: None,
                })
            }
            Err(TranscribeError::Retryable(e)) => Err(retryable(e)),
            Err(TranscribeError::Permanent(e)) => self.give_up(r, &e).await,
        }
    }
}

impl VoiceActivities {
    async fn account(&self, business_id: uuid::Uuid) -> Result<(String, String), ActivityError> {
        let b = nmc_store::business::for_webhook(&self.pool, business_id)
            .await
            .map_err(retryable)?
            .ok_or_else(|| permanent("no such business"))?;
        let token = self
            .secrets
            .decrypt(&b.twilio_auth_token_enc)
            .map_err(permanent)?;
        Ok((b.twilio_account_sid, token))
    }

    async fn give_up(&self, r: RecordingRef, why: &str) -> Result<Transcript, ActivityError> {
        tracing::warn!(error = why, "voicemail not transcribed");
        voicemail::mark_failed(&self.pool, r.recording_id, why)
            .await
            .map_err(retryable)?;
        Ok(Transcript {
            text: None,
            message_id: None,
            error: Some(why.to_owned()),
        })
    }
}

fn twilio_error(e: nmc_twilio::TwilioError) -> ActivityError {
    if e.is_retryable() {
        retryable(e)
    } else {
        permanent(e)
    }
}
