//! What the assistant knows about the business: its FAQ, the name it goes by, the owner's
//! instructions and the service area; and, for one turn, everything the engines read.

use chrono::Utc;
use nmc_domain::BusinessHours;
use nmc_domain::faq::{self, Faq};
use nmc_domain::service_area::ServiceArea;
use nmc_domain::turn::Facts;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Result, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct FaqRow {
    pub id: Uuid,
    pub question: String,
    pub answer: String,
}

pub async fn faqs(db: &mut PgConnection, business_id: Uuid) -> Result<Vec<FaqRow>> {
    Ok(sqlx::query_as(
        "select id, question, answer from faqs where business_id = $1 order by created_at, id",
    )
    .bind(business_id)
    .fetch_all(db)
    .await?)
}

/// Adds (`id` none) or changes one FAQ; at most [`faq::MAX_FAQS`] per business.
pub async fn save_faq(
    db: &mut PgConnection,
    business_id: Uuid,
    id: Option<Uuid>,
    f: &Faq,
) -> Result<FaqRow> {
    let row: Option<FaqRow> = if let Some(id) = id {
        sqlx::query_as(
            "update faqs set question = $3, answer = $4, updated_at = now()
             where id = $1 and business_id = $2 returning id, question, answer",
        )
        .bind(id)
        .bind(business_id)
        .bind(f.question.trim())
        .bind(f.answer.trim())
        .fetch_optional(&mut *db)
        .await?
    } else {
        sqlx::query_as(
            "insert into faqs (business_id, question, answer)
             select $1, $2, $3 where (select count(*) from faqs where business_id = $1) < $4
             returning id, question, answer",
        )
        .bind(business_id)
        .bind(f.question.trim())
        .bind(f.answer.trim())
        .bind(faq::MAX_FAQS as i64)
        .fetch_optional(&mut *db)
        .await?
    };
    match (row, id) {
        (Some(r), _) => Ok(r),
        (None, Some(_)) => Err(StoreError::NotFound),
        (None, None) => Err(StoreError::Conflict { field: "faqs" }),
    }
}

pub async fn delete_faq(db: &mut PgConnection, business_id: Uuid, id: Uuid) -> Result<()> {
    let gone = sqlx::query("delete from faqs where id = $1 and business_id = $2")
        .bind(id)
        .bind(business_id)
        .execute(db)
        .await?;
    if gone.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Adds the trade's starter questions the business does not have yet; how many were added.
pub async fn adopt_starter_faqs(
    db: &mut PgConnection,
    business_id: Uuid,
    trade: &str,
) -> Result<usize> {
    let mut added = 0;
    for f in faq::starter(trade) {
        added += sqlx::query(
            "insert into faqs (business_id, question, answer)
             select $1, $2, $3 where not exists (select 1 from faqs where business_id = $1 and lower(question) = lower($2))",
        )
        .bind(business_id)
        .bind(&f.question)
        .bind(&f.answer)
        .execute(&mut *db)
        .await?
        .rows_affected() as usize;
    }
    Ok(added)
}

/// The assistant's own settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, sqlx::FromRow)]
pub struct Profile {
    pub assistant_name: Option<String>,
    pub instructions: Option<String>,
    pub service_area: Json<ServiceArea>,
}

pub async fn profile(db: &mut PgConnection, business_id: Uuid) -> Result<Profile> {
    sqlx::query_as(
        "select assistant_name, assistant_instructions as instructions, service_area from businesses where id = $1",
    )
    .bind(business_id)
    .fetch_optional(db)
    .await?
    .ok_or(StoreError::NotFound)
}

pub async fn put_profile(db: &mut PgConnection, business_id: Uuid, p: &Profile) -> Result<()> {
    sqlx::query(
        "update businesses set assistant_name = $2, assistant_instructions = $3, service_area = $4, updated_at = now()
         where id = $1",
    )
    .bind(business_id)
    .bind(&p.assistant_name)
    .bind(&p.instructions)
    .bind(&p.service_area)
    .execute(&mut *db)
    .await?;
    crate::audit(
        &mut *db,
        business_id,
        "assistant",
        Some(business_id),
        "updated",
        serde_json::json!({}),
    )
    .await
}

#[derive(sqlx::FromRow)]
struct TurnRow {
    trade: Option<String>,
    timezone: String,
    business_hours: Json<BusinessHours>,
    assistant_name: Option<String>,
    assistant_instructions: Option<String>,
    service_area: Json<ServiceArea>,
}

/// Everything the engines read about the business and this caller for one turn, and the
/// service area (judged by the caller's address after the turn).
pub async fn for_turn(
    pool: &PgPool,
    business_id: Uuid,
    conversation_id: Uuid,
) -> Result<(Facts, ServiceArea)> {
    let mut db = pool.acquire().await?;
    let b: TurnRow = sqlx::query_as(
        "select trade, timezone, business_hours, assistant_name, assistant_instructions, service_area
         from businesses where id = $1",
    )
    .bind(business_id)
    .fetch_one(&mut *db)
    .await?;
    let faqs = faqs(&mut db, business_id)
        .await?
        .into_iter()
        .map(|r| Faq {
            question: r.question,
            answer: r.answer,
        })
        .collect();
    let services: Vec<String> = sqlx::query_scalar(
        "select name || coalesce(' (' || nullif(array_to_string(keywords[1:6], ', '), '') || ')', '')
         from catalog_items where business_id = $1 and active order by name limit 30",
    )
    .bind(business_id)
    .fetch_all(&mut *db)
    .await?;
    let caller_history: Vec<String> = sqlx::query_scalar(
        "select to_char(lower(a.during) at time zone b.timezone, 'Mon DD, YYYY') || ': '
                || coalesce(ci.name, a.notes, 'a job') || coalesce(' at ' || a.address, '') || ' (' || a.status || ')'
         from conversations c
         join appointments a on a.lead_id = c.lead_id and a.business_id = c.business_id
         join businesses b on b.id = a.business_id
         left join catalog_items ci on ci.id = a.catalog_item_id
         where c.id = $2 and c.business_id = $1 and a.conversation_id is distinct from c.id
         order by lower(a.during) desc limit 5",
    )
    .bind(business_id)
    .bind(conversation_id)
    .fetch_all(&mut *db)
    .await?;
    let tz = nmc_domain::hours::parse_timezone(&b.timezone).unwrap_or(chrono_tz::UTC);
    let now = Utc::now();
    let facts = Facts {
        assistant_name: b.assistant_name,
        trade: b.trade,
        faqs,
        services,
        hours: b.business_hours.0.describe(),
        open_now: b.business_hours.0.is_open(tz, now),
        local_time: now.with_timezone(&tz).format("%a %-I:%M%P").to_string(),
        service_area: b.service_area.0.describe(),
        instructions: b.assistant_instructions,
        caller_history,
    };
    Ok((facts, b.service_area.0))
}
