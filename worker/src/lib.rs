//! `nmc-worker`: runs conversation workflows and their activities on one task queue.

mod deliveries;
mod digest;
pub mod mail;
mod outbox;
mod push;
mod retention;
pub mod team;

use std::time::Duration;

use std::sync::Arc;

use nmc_activities::ConversationActivities;
use nmc_activities::booking::BookingActivities;
use nmc_store::SecretBox;
use nmc_twilio::TwilioClient;
use nmc_workflows::{
    AppointmentWorkflow, ConversationWorkflow, DigestWorkflow, RetentionWorkflow, TeamTextWorkflow,
};
use secrecy::{ExposeSecret, SecretString};
use temporalio_client::{Client, ClientOptions, Connection};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

pub struct WorkerConfig {
    pub database_url: String,
    /// As the API's (`NMC_DATABASE_POOL_SIZE`).
    pub database_pool_size: u32,
    pub temporal_address: String,
    pub temporal_namespace: String,
    pub task_queue: String,
    pub public_base_url: String,
    pub twilio_api_base: String,
    /// Opens the sealed Twilio and calendar tokens (`NMC_SECRET_KEY`).
    pub secret_key: SecretString,
    /// OpenAI-compatible endpoint; rules assistant when unset.
    pub llm: Option<LlmConfig>,
    pub calendars: nmc_calendar::Calendars,
    /// The CRM adapters' base URLs (the sandbox's doubles in tests and `scripts/dev`).
    pub crms: nmc_crm::Crms,
    /// Hold texts of businesses not approved for 10DLC (on unless the carrier is the built-in sandbox).
    pub enforce_registration: bool,
    /// The VAPID key (`NMC_VAPID_PRIVATE_KEY`); the stored one, or a new one, when unset.
    pub vapid_private_key: Option<SecretString>,
    /// The contact push services see (`NMC_VAPID_SUBJECT`, `mailto:` or `https:`).
    pub vapid_subject: String,
    /// How often weekly-email schedules are brought in line (`NMC_DIGEST_RECONCILE_SECS`).
    pub digest_reconcile_secs: u64,
    /// As the API's: how long an idle conversation the outbox starts stays open.
    pub conversation_idle_secs: u64,
    /// SMTP_URL (unset: the log mailer) and NMC_MAIL_FROM.
    pub mail: mail::MailConfig,
    /// Where recordings are kept (`NMC_STORAGE_URL`; local disk by default).
    pub storage: nmc_storage::Storage,
    /// How voicemails become words.
    pub transcription: Transcription,
    /// Places addresses for service-area radii (`NMC_GEOCODER_URL`); none by default.
    pub geocoder: Option<Arc<nmc_geocode::Geocoder>>,
}

/// `NMC_TRANSCRIPTION_BASE_URL` (an OpenAI-compatible `/audio/transcriptions`), else the
/// embedded offline engine `NMC_OFFLINE_TRANSCRIBER`.
#[derive(Clone)]
pub enum Transcription {
    Api {
        base_url: String,
        api_key: SecretString,
        model: String,
    },
    Offline(String),
}

impl Transcription {
    pub fn from_env() -> Self {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        match var("NMC_TRANSCRIPTION_BASE_URL") {
            Some(base_url) => Transcription::Api {
                base_url,
                api_key: var("NMC_TRANSCRIPTION_API_KEY").unwrap_or_default().into(),
                model: var("NMC_TRANSCRIPTION_MODEL").unwrap_or_else(|| "whisper-1".into()),
            },
            None => Transcription::Offline(
                var("NMC_OFFLINE_TRANSCRIBER")
                    .unwrap_or_else(|| "python3 scripts/transcribe.py".into()),
            ),
        }
    }

    pub fn engine(&self) -> Option<nmc_assistant::transcribe::Transcriber> {
        use nmc_assistant::transcribe::Transcriber;
        match self {
            Transcription::Api {
                base_url,
                api_key,
                model,
            } => Some(Transcriber::api(base_url, api_key.expose_secret(), model)),
            Transcription::Offline(command) => Transcriber::offline(command),
        }
    }
}

pub struct LlmConfig {
    pub base_url: String,
    pub api_key: SecretString,
    pub model: String,
    pub timeout_secs: u64,
    pub attempts: u32,
    pub max_tokens: u32,
    /// The system prompt's budget (`NMC_LLM_CONTEXT_TOKENS`).
    pub context_tokens: usize,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

impl WorkerConfig {
    pub fn from_env() -> anyhow::Result<Self> {
        let req = |n: &str| {
            std::env::var(n)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| anyhow::anyhow!("{n} must be set"))
        };
        let public_base_url = env_or("PUBLIC_BASE_URL", "http://127.0.0.1:8080")
            .trim_end_matches('/')
            .to_owned();
        // As the API: the built-in sandbox only with NMC_SANDBOX=1, never by accident.
        let sandbox = matches!(
            std::env::var("NMC_SANDBOX").ok().as_deref(),
            Some("1" | "true")
        );
        let twilio_api_base = env_or(
            "TWILIO_API_BASE",
            &if sandbox {
                format!("{public_base_url}/sandbox")
            } else {
                "https://api.twilio.com".to_owned()
            },
        );
        let subject_base = public_base_url.clone();
        let enforce_by_default = !twilio_api_base.trim_end_matches('/').ends_with("/sandbox");
        Ok(Self {
            database_url: req("DATABASE_URL")?,
            database_pool_size: env_or("NMC_DATABASE_POOL_SIZE", "16").parse()?,
            temporal_address: env_or("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
            temporal_namespace: env_or("TEMPORAL_NAMESPACE", "default"),
            task_queue: env_or("TEMPORAL_TASK_QUEUE", "nmc-conversations"),
            twilio_api_base,
            public_base_url: public_base_url.clone(),
            secret_key: req("NMC_SECRET_KEY")?.into(),
            vapid_private_key: std::env::var("NMC_VAPID_PRIVATE_KEY")
                .ok()
                .filter(|v| !v.is_empty())
                .map(SecretString::from),
            vapid_subject: vapid_subject(&subject_base),
            digest_reconcile_secs: env_or("NMC_DIGEST_RECONCILE_SECS", "10").parse()?,
            conversation_idle_secs: env_or("NMC_CONVERSATION_IDLE_SECS", "172800").parse()?,
            mail: mail::MailConfig::from_env()?,
            storage: nmc_storage::Storage::from_vars(
                |n| std::env::var(n).ok().filter(|v| !v.is_empty()),
                std::path::Path::new("data/objects"),
            )?,
            transcription: Transcription::from_env(),
            geocoder: nmc_geocode::Settings::from_env(&public_base_url)
                .map(|g| Arc::new(nmc_geocode::Geocoder::new(&g))),
            calendars: nmc_calendar::Calendars::from_env(),
            // A plain-http deployment (development, tests) may send webhooks to local receivers.
            crms: nmc_crm::Crms::from_env(public_base_url.starts_with("http://")),
            enforce_registration: match std::env::var("NMC_ENFORCE_MESSAGING_REGISTRATION")
                .ok()
                .as_deref()
            {
                Some("1" | "true") => true,
                Some("0" | "false") => false,
                _ => enforce_by_default,
            },
            llm: match (
                std::env::var("OPENAI_BASE_URL")
                    .ok()
                    .filter(|v| !v.is_empty()),
                std::env::var("OPENAI_API_KEY")
                    .ok()
                    .filter(|v| !v.is_empty()),
            ) {
                (None, None) => None,
                (base, key) => Some(LlmConfig {
                    base_url: base.unwrap_or_else(|| "https://api.openai.com/v1".into()),
                    api_key: key.unwrap_or_default().into(),
                    model: env_or("NMC_LLM_MODEL", "gpt-4o-mini"),
                    timeout_secs: env_or("NMC_LLM_TIMEOUT_SECS", "8").parse()?,
                    attempts: env_or("NMC_LLM_ATTEMPTS", "2").parse()?,
                    max_tokens: env_or("NMC_LLM_MAX_TOKENS", "256").parse()?,
                    context_tokens: env_or("NMC_LLM_CONTEXT_TOKENS", "1200").parse()?,
                }),
            },
        })
    }
}

/// Registers the search attributes the workflows set, retrying while Temporal does not answer;
/// refuses to start, naming the commands, when they are missing and may not be added here.
pub async fn ensure_search_attributes(client: &Client, namespace: &str) -> anyhow::Result<()> {
    use nmc_temporal::connect::SearchAttributesError;
    loop {
        match nmc_temporal::connect::ensure_search_attributes(client, namespace).await {
            Ok(()) => return Ok(()),
            Err(SearchAttributesError::Missing(m)) => anyhow::bail!(m),
            Err(e) => {
                tracing::warn!(error = %e, "retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Connects to Temporal, retrying until it answers.
pub async fn connect(address: &str, namespace: &str) -> anyhow::Result<Client> {
    loop {
        let opts = nmc_temporal::connect::connection_options(
            address,
            format!("nmc-worker@{}", std::process::id()),
        )?;
        match Connection::connect(opts).await {
            Ok(conn) => {
                return Ok(Client::new(
                    conn,
                    ClientOptions::new(namespace.to_owned()).build(),
                )?);
            }
            Err(e) => {
                tracing::warn!(error = %e, "Temporal not reachable yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// The assistant engine: the LLM (with its rules fallback) when one is configured, else rules.
fn engine(config: &WorkerConfig) -> nmc_activities::Engine {
    match &config.llm {
        None => nmc_activities::Engine::Rules(nmc_assistant::RulesAssistant),
        Some(l) => {
            tracing::info!(model = %l.model, "assistant: LLM with rules fallback");
            let mut llm =
                nmc_assistant::LlmAssistant::new(&l.base_url, l.api_key.expose_secret(), &l.model);
            llm.max_tokens = l.max_tokens;
            llm.context_tokens = l.context_tokens;
            llm.attempts = l.attempts.max(1);
            // The engine's whole bound (its attempts, each with its backoff) must end before
            // Temporal cuts the turn off, or the rules fallback never gets to answer.
            let budget = nmc_workflows::TURN_LIMIT.as_secs() - 5 - u64::from(llm.attempts);
            let per_attempt = budget / u64::from(llm.attempts);
            if l.timeout_secs > per_attempt {
                tracing::warn!(
                    timeout_secs = l.timeout_secs,
                    attempts = llm.attempts,
                    used = per_attempt,
                    "NMC_LLM_TIMEOUT_SECS × NMC_LLM_ATTEMPTS exceeds the turn's limit; shortened"
                );
            }
            llm.timeout = Duration::from_secs(l.timeout_secs.min(per_attempt));
            nmc_activities::Engine::Llm(Box::new(llm))
        }
    }
}

/// Runs the worker until the process is stopped.
pub async fn run(config: WorkerConfig) -> anyhow::Result<()> {
    let pool = nmc_store::connect(&config.database_url, config.database_pool_size).await?;
    tokio::spawn(mail::deliver_mail(pool.clone(), config.mail.clone()));
    let booking = Arc::new(BookingActivities {
        pool: pool.clone(),
        secrets: SecretBox::from_base64(config.secret_key.expose_secret())?,
        calendars: config.calendars.clone(),
    });
    let activities = ConversationActivities {
        pool,
        engine: engine(&config),
        secrets: SecretBox::from_base64(config.secret_key.expose_secret())?,
        twilio: TwilioClient::new(config.twilio_api_base.clone()),
        status_callback_url: format!("{}/webhook/sms/status", config.public_base_url),
        enforce_registration: config.enforce_registration,
        links: nmc_store::AlertLinks::new(config.secret_key.expose_secret()),
        public_base_url: config.public_base_url.clone(),
        geocoder: config.geocoder.clone(),
    };
    let client = connect(&config.temporal_address, &config.temporal_namespace).await?;
    ensure_search_attributes(&client, &config.temporal_namespace).await?;
    let runtime = Runtime::from_current_tokio(Default::default())?;
    // Tuning knobs for bigger boxes (docs/PERFORMANCE.md); unset, the SDK's defaults apply. On
    // the 2-core test box more pollers only loaded the Temporal dev server further.
    let number = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
    };
    let poll =
        |name: &str| number(name).map(temporalio_sdk::runtime::PollerBehavior::SimpleMaximum);
    let options = WorkerOptions::new(config.task_queue.clone())
        .maybe_max_cached_workflows(number("NMC_WORKFLOW_CACHE"))
        .maybe_workflow_task_poller_behavior(poll("NMC_WORKFLOW_POLLERS"))
        .maybe_activity_task_poller_behavior(poll("NMC_ACTIVITY_POLLERS"))
        .register_workflow::<ConversationWorkflow>()?
        .register_workflow::<AppointmentWorkflow>()?
        .register_workflow::<TeamTextWorkflow>()?
        .register_workflow::<DigestWorkflow>()?
        .register_workflow::<nmc_workflows::ReviewWorkflow>()?
        .register_workflow::<nmc_workflows::CrmPushWorkflow>()?
        .register_workflow::<RetentionWorkflow>()?
        .register_activities(nmc_activities::retention::RetentionActivities {
            pool: activities.pool.clone(),
            storage: config.storage.clone(),
        })
        .register_activities(nmc_activities::digest::DigestActivities {
            pool: activities.pool.clone(),
            links: activities.links.clone(),
            public_base_url: config.public_base_url.clone(),
        })
        .register_activities(nmc_activities::crm::CrmActivities {
            booking: booking.clone(),
            crms: config.crms.clone(),
            public_base_url: config.public_base_url.clone(),
            slots: tokio::sync::Semaphore::new(nmc_activities::crm::PUSHES_AT_ONCE),
        })
        .register_activities(nmc_activities::review::ReviewActivities {
            pool: activities.pool.clone(),
            public_base_url: config.public_base_url.clone(),
        })
        .register_activities(team::TeamActivities {
            pool: activities.pool.clone(),
            client: client.clone(),
            twilio: TwilioClient::new(config.twilio_api_base.clone()),
            secrets: activities.secrets.clone(),
            status_callback_url: activities.status_callback_url.clone(),
        })
        .register_activities(voice_activities(&config, &activities))
        .register_activities(activities)
        .register_activities(BookingActivities {
            pool: booking.pool.clone(),
            secrets: booking.secrets.clone(),
            calendars: config.calendars.clone(),
        })
        .build();
    spawn_outboxes(&config, &booking, &client).await?;
    tokio::spawn(prune_events_hourly(booking.pool.clone()));
    tokio::spawn(refresh_busy_every_minute(booking));
    let mut worker = Worker::new(&runtime, client, options)?;
    // On SIGTERM/Ctrl-C stop polling and let in-flight tasks finish; a kill -9 is covered by
    // Temporal's timeouts and the activities' idempotency instead.
    let shutdown = worker.shutdown_handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight tasks");
        shutdown();
    });
    tracing::info!(task_queue = %config.task_queue, "worker started");
    worker.run().await?;
    Ok(())
}

fn voice_activities(
    config: &WorkerConfig,
    conversation: &ConversationActivities,
) -> nmc_activities::voice::VoiceActivities {
    let transcriber = config.transcription.engine();
    if let Some(t) = &transcriber {
        tracing::info!(engine = %t.describe(), storage = %config.storage.describe, "voicemail transcription");
    }
    nmc_activities::voice::VoiceActivities {
        pool: conversation.pool.clone(),
        secrets: conversation.secrets.clone(),
        twilio: TwilioClient::new(config.twilio_api_base.clone()),
        storage: config.storage.clone(),
        transcriber,
    }
}

/// The loops that act on what the API recorded: appointment catch-up, unsignalled webhooks,
/// unstarted team texts, and the alert outbox (Slack, push).
async fn spawn_outboxes(
    config: &WorkerConfig,
    booking: &BookingActivities,
    client: &Client,
) -> anyhow::Result<()> {
    tokio::spawn(signal_untold_appointments(
        booking.pool.clone(),
        client.clone(),
        config.task_queue.clone(),
    ));
    let queue = nmc_temporal::signal::ConversationQueue {
        task_queue: config.task_queue.clone(),
        idle_timeout_secs: config.conversation_idle_secs,
    };
    tokio::spawn(outbox::signal_unsignalled_webhooks(
        booking.pool.clone(),
        client.clone(),
        queue,
    ));
    let vapid = nmc_store::push::vapid_key(
        &booking.pool,
        &booking.secrets,
        config
            .vapid_private_key
            .as_ref()
            .map(ExposeSecret::expose_secret),
    )
    .await?;
    tokio::spawn(deliveries::deliver_alerts(
        booking.pool.clone(),
        booking.secrets.clone(),
        push::Pusher {
            vapid,
            subject: config.vapid_subject.clone(),
        },
    ));
    tokio::spawn(digest::keep_schedules(
        booking.pool.clone(),
        client.clone(),
        config.task_queue.clone(),
        Duration::from_secs(config.digest_reconcile_secs),
    ));
    tokio::spawn(retention::ensure_schedule(
        client.clone(),
        config.task_queue.clone(),
    ));
    tokio::spawn(outbox::release_held_greetings(
        booking.pool.clone(),
        client.clone(),
        config.enforce_registration,
    ));
    tokio::spawn(outbox::start_unstarted_team_texts(
        booking.pool.clone(),
        client.clone(),
        config.task_queue.clone(),
    ));
    tokio::spawn(outbox::start_unstarted_crm_pushes(
        booking.pool.clone(),
        client.clone(),
        config.task_queue.clone(),
    ));
    Ok(())
}

/// Keeps the Google busy-time projection fresh (offering slots also refreshes it first).
async fn refresh_busy_every_minute(booking: Arc<BookingActivities>) {
    let mut tick = tokio::time::interval(Duration::from_mins(1));
    loop {
        tick.tick().await;
        let Ok(mut db) = nmc_store::conn(&booking.pool).await else {
            continue;
        };
        let Ok(businesses) = nmc_store::calendar::businesses_with_google(&mut db).await else {
            continue;
        };
        drop(db);
        for business_id in businesses {
            if let Err(e) = booking.refresh_busy(business_id).await {
                tracing::warn!(%business_id, error = %e, "busy time refresh failed");
            }
        }
    }
}

/// Catch-up for appointment changes whose signal was lost (Temporal down when the owner changed
/// it): every few seconds, signal-with-start the workflows that are behind.
async fn signal_untold_appointments(pool: nmc_store::PgPool, client: Client, task_queue: String) {
    use nmc_workflows::{
        AppointmentChanged, AppointmentStart, BUSINESS_ID, appointment_workflow_id,
    };
    use temporalio_client::{
        WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions,
    };
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let Ok(mut db) = nmc_store::conn(&pool).await else {
            continue;
        };
        let Ok(untold) = nmc_store::booking::untold(&mut db, 10, 100).await else {
            continue;
        };
        for a in untold {
            let options =
                WorkflowStartOptions::new(task_queue.clone(), appointment_workflow_id(a.id))
                    .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
                    .id_reuse_policy(WorkflowIdReusePolicy::AllowDuplicate)
                    .search_attributes(temporalio_common::search_attributes::SearchAttributes::new(
                        [BUSINESS_ID.value_set(a.business_id.to_string())],
                    ))
                    .build();
            let start = AppointmentStart {
                business_id: a.business_id,
                appointment_id: a.id,
            };
            let changed = AppointmentChanged {
                notify_caller: a.caller_notice_pending,
            };
            match client
                .signal_with_start_workflow(
                    AppointmentWorkflow::run,
                    start,
                    AppointmentWorkflow::changed,
                    changed,
                    options,
                )
                .await
            {
                Ok(_) => {
                    tracing::info!(business_id = %a.business_id, appointment_id = %a.id, "appointment workflow caught up");
                    let _ = nmc_store::booking::mark_workflow_told(
                        &mut db,
                        a.business_id,
                        a.id,
                        a.version,
                        a.caller_notice_pending,
                    )
                    .await;
                }
                Err(e) => {
                    tracing::warn!(appointment_id = %a.id, error = %e, "appointment catch-up failed; retrying");
                }
            }
        }
    }
}

/// The live feed's event log keeps 30 days; expired sessions, refresh tokens and log-in
/// failure counters go too.
async fn prune_events_hourly(pool: nmc_store::PgPool) {
    let mut tick = tokio::time::interval(Duration::from_hours(1));
    loop {
        tick.tick().await;
        let Ok(mut db) = nmc_store::conn(&pool).await else {
            continue;
        };
        if let Ok(n) = nmc_store::insights::prune_events(&mut db, 30).await
            && n > 0
        {
            tracing::info!(events = n, "old feed events pruned");
        }
        match nmc_store::retention::prune_accounts(&mut db).await {
            Ok(p) => tracing::info!(
                refresh_tokens = p.refresh_tokens,
                sessions = p.sessions,
                login_failures = p.login_failures,
                "expired sign-in records pruned"
            ),
            Err(e) => tracing::warn!(error = %e, "pruning sign-in records failed"),
        }
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// `NMC_VAPID_SUBJECT`, else a `mailto:` at the public host (RFC 8292 asks for a contact).
fn vapid_subject(public_base_url: &str) -> String {
    let host = url::Url::parse(public_base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".into());
    env_or("NMC_VAPID_SUBJECT", &format!("mailto:alerts@{host}"))
}
