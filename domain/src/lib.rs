//! Pure domain types and rules: no IO, no clocks (callers pass the time in), so the
//! workflow can use them deterministically and tests need nothing but values.

pub mod appointment;
pub mod audio;
pub mod availability;
pub mod billing;
pub mod catalog;
pub mod conversation;
pub mod country;
pub mod crm;
pub mod decisions;
pub mod digest;
pub mod email;
pub mod faq;
pub mod forwarding;
pub mod greeting;
pub mod hours;
pub mod keywords;
pub mod lead;
pub mod line;
pub mod money;
pub mod phone;
pub mod registration;
pub mod review;
pub mod routing;
pub mod service_area;
pub mod team;
pub mod timezone;
pub mod turn;
pub mod voice_agent;

pub use conversation::*;
pub use email::{Email, EmailError};
pub use greeting::*;
pub use hours::{BusinessHours, DayHours};
pub use keywords::Keyword;
pub use money::{Cents, CentsError};
pub use phone::{E164, PhoneError};
pub use timezone::{Timezone, TimezoneError};
