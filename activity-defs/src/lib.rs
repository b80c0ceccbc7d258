//! The activities the workflows call, as contracts: each activity's name, input and output, and
//! nothing else. `nmc-workflows` calls them; `nmc-activities` implements them (and checks at
//! compile time that its implementations match these). Keeping them here means the workflow
//! crate depends on no IO crate, so determinism is structural, and a workflow change does not
//! rebuild sqlx, reqwest or the Twilio client.

pub mod booking;
pub mod conversation;
pub mod crm;
pub mod digest;
pub mod retention;
pub mod review;
pub mod team;
pub mod voice;

pub use booking::BookingActivities;
pub use conversation::ConversationActivities;
pub use crm::CrmActivities;
pub use digest::DigestActivities;
pub use retention::RetentionActivities;
pub use review::ReviewActivities;
pub use team::TeamActivities;
pub use voice::VoiceActivities;
