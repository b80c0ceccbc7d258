//! Account mail (invitations).

use uuid::Uuid;

use crate::error::ApiError;

/// Where invitations and other account mail go. The log mailer records it (`outbound_emails`)
/// and logs that it was sent; a real provider plugs in here.
#[derive(Clone, Default)]
pub struct Mailer;

impl Mailer {
    pub(super) async fn send(
        &self,
        db: &mut sqlx::PgConnection,
        business_id: Uuid,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), ApiError> {
        nmc_store::accounts::record_email(db, business_id, to, subject, body).await?;
        tracing::info!(%business_id, subject, "email queued (log mailer)");
        Ok(())
    }
}
