//! The assistant we keep in a business's Vapi account (`CreateAssistantDTO` in Vapi's spec).
//! Only fields the current spec has: Vapi rejects unknown ones ("property serverUrl should not
//! exist"), and several older names (`serverUrl`, `server.secret`, top-level
//! `recordingEnabled`, `endCallFunctionEnabled`) are gone (docs/research/vapi.md, pitfalls).

use serde_json::{Value, json};

/// Our two tools, by the names the agent's instructions use.
pub const CHECK_AVAILABILITY: &str = "check_availability";
pub const BOOK_APPOINTMENT: &str = "book_appointment";

/// The header Vapi sends back on every request to our server (a `server.headers` entry), so
/// the webhook knows the request is Vapi's for this business.
pub const SECRET_HEADER: &str = "X-Vapi-Secret";

/// What the assistant says and does, from the business's settings.
#[derive(Debug, Clone)]
pub struct AssistantSpec {
    /// Shown in Vapi's dashboard (at most 40 characters).
    pub name: String,
    pub greeting: String,
    pub instructions: String,
    /// One of Vapi's own voices (`provider: vapi`).
    pub voice: String,
    /// Our server URL for tool calls and the end-of-call report.
    pub server_url: String,
    pub secret: String,
    /// The fields the report's structured data asks for (`name`, `address`, …).
    pub collect: Vec<String>,
}

impl AssistantSpec {
    pub fn to_json(&self) -> Value {
        let properties: serde_json::Map<String, Value> = self
            .collect
            .iter()
            .map(|field| (field.clone(), json!({"type": "string"})))
            .collect();
        json!({
            "name": self.name.chars().take(40).collect::<String>(),
            "firstMessage": self.greeting,
            "model": {
                "provider": "openai",
                "model": "gpt-4o",
                "temperature": 0.3,
                "messages": [{"role": "system", "content": self.instructions}],
                "tools": [{"type": "endCall"}, check_availability(), book_appointment()],
            },
            "voice": {"provider": "vapi", "voiceId": self.voice},
            "transcriber": {"provider": "deepgram", "model": "nova-3", "language": "en"},
            "server": {
                "url": self.server_url,
                "timeoutSeconds": 20,
                "headers": {SECRET_HEADER: self.secret},
            },
            "serverMessages": ["tool-calls", "end-of-call-report", "status-update"],
            "maxDurationSeconds": 600,
            "artifactPlan": {"recordingEnabled": true},
            "analysisPlan": {
                "summaryPlan": {"enabled": true},
                "structuredDataPlan": {
                    "enabled": true,
                    "schema": {"type": "object", "properties": properties},
                },
            },
        })
    }
}

fn check_availability() -> Value {
    json!({
        "type": "function",
        "async": false,
        "function": {
            "name": CHECK_AVAILABILITY,
            "description": "The next open times for the job the caller described. Call once you know what they need.",
            "parameters": {
                "type": "object",
                "properties": {
                    "need": {"type": "string", "description": "What the caller needs done, in their words."},
                },
                "required": ["need"],
            },
        },
        "messages": [{"type": "request-start", "content": "Let me check the schedule."}],
    })
}

fn book_appointment() -> Value {
    json!({
        "type": "function",
        "async": false,
        "function": {
            "name": BOOK_APPOINTMENT,
            "description": "Books one of the times check_availability returned, by its number.",
            "parameters": {
                "type": "object",
                "properties": {
                    "slot": {"type": "integer", "description": "The number of the time the caller picked."},
                    "name": {"type": "string"},
                    "address": {"type": "string", "description": "The service address."},
                    "need": {"type": "string"},
                },
                "required": ["slot"],
            },
        },
        "messages": [{"type": "request-start", "content": "One moment while I book that."}],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_assistant_uses_only_current_fields() {
        let spec = AssistantSpec {
            name: "Acme Plumbing receptionist (NeverMissCall)".into(),
            greeting: "Hi".into(),
            instructions: "Be brief".into(),
            voice: "Elliot".into(),
            server_url: "https://app.example/webhook/vapi?b=1".into(),
            secret: "s3cret".into(),
            collect: vec!["name".into(), "address".into()],
        };
        let body = spec.to_json();
        assert_eq!(body["name"].as_str().unwrap().chars().count(), 40);
        assert_eq!(body["server"]["headers"]["X-Vapi-Secret"], "s3cret");
        for gone in [
            "serverUrl",
            "serverUrlSecret",
            "recordingEnabled",
            "endCallFunctionEnabled",
        ] {
            assert!(body.get(gone).is_none(), "{gone}");
        }
        assert!(body["server"].get("secret").is_none());
        assert_eq!(
            body["analysisPlan"]["structuredDataPlan"]["schema"]["properties"]["address"]["type"],
            "string"
        );
        assert_eq!(
            body["model"]["tools"][1]["function"]["name"],
            CHECK_AVAILABILITY
        );
    }
}
