//! What Vapi posts to an assistant's server URL: `{"message": {"type": …}}`
//! (docs.vapi.ai/server-url/events; `ServerMessage` in its webhook spec). We act on two types:
//! `tool-calls`, answered at once with `{"results": [{"toolCallId", "result"}]}` (HTTP 200
//! always, single-line strings), and `end-of-call-report`. Others are acknowledged.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

/// A parsed server message.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    ToolCalls {
        call: CallInfo,
        calls: Vec<ToolCall>,
    },
    EndOfCall(Report),
    /// Any other type (`status-update`, `hang`, …): acknowledged, nothing to do.
    Other(String),
}

/// Who is on the call, as far as the message says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CallInfo {
    pub call_id: Option<String>,
    /// The caller's number: `customer.number`, or the user of a SIP caller's `sipUri`.
    pub customer_number: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// An object; Vapi's spec types it as a JSON string and its examples as an object, so both
    /// are read into an object.
    pub arguments: Value,
}

/// `end-of-call-report`.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub call: CallInfo,
    /// An open set: read by family (`nmc_domain::voice_agent::AgentOutcome`).
    pub ended_reason: String,
    pub transcript: Option<String>,
    /// The caller's own lines, in order.
    pub caller_words: Option<String>,
    pub summary: Option<String>,
    pub structured: Option<Value>,
    pub recording_url: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Our call's sid, from the `x-nmc_call` SIP header Vapi kept as a template variable.
    pub our_call: Option<String>,
}

impl Report {
    /// Vapi's spec has no duration: it is the time between start and end.
    pub fn duration_secs(&self) -> u32 {
        match (self.started_at, self.ended_at) {
            (Some(a), Some(b)) if b > a => u32::try_from((b - a).num_seconds()).unwrap_or(0),
            _ => 0,
        }
    }
}

pub fn parse(body: &[u8]) -> Result<ServerMessage, String> {
    let root: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let m = root
        .get("message")
        .filter(|m| m.is_object())
        .ok_or("no `message` object")?;
    let kind = m["type"].as_str().ok_or("no `message.type`")?;
    let call = call_info(m);
    Ok(match kind {
        "tool-calls" => ServerMessage::ToolCalls {
            call,
            calls: tool_calls(m)?,
        },
        "end-of-call-report" => ServerMessage::EndOfCall(report(m, call)?),
        other => ServerMessage::Other(other.to_owned()),
    })
}

fn call_info(m: &Value) -> CallInfo {
    let customer = if m["customer"].is_object() {
        &m["customer"]
    } else {
        &m["call"]["customer"]
    };
    let number = customer["number"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| customer["sipUri"].as_str().and_then(sip_user));
    CallInfo {
        call_id: m["call"]["id"].as_str().map(str::to_owned),
        customer_number: number,
    }
}

/// `sip:+15125550123@x.sip.twilio.com` → `+15125550123`.
fn sip_user(uri: &str) -> Option<String> {
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))?;
    let user = rest.split('@').next()?;
    (!user.is_empty()).then(|| user.to_owned())
}

fn tool_calls(m: &Value) -> Result<Vec<ToolCall>, String> {
    let list = m["toolCallList"]
        .as_array()
        .or_else(|| m["toolCalls"].as_array())
        .ok_or("a tool-calls message without `toolCallList`")?;
    list.iter()
        .map(|c| {
            let id = c["id"].as_str().ok_or("a tool call without an id")?;
            let f = &c["function"];
            let name = f["name"]
                .as_str()
                .or_else(|| c["name"].as_str())
                .ok_or("a tool call without a name")?;
            let raw = [&f["arguments"], &c["arguments"], &c["parameters"]]
                .into_iter()
                .find(|v| !v.is_null())
                .cloned()
                .unwrap_or(Value::Null);
            let arguments = match raw {
                Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::Null),
                other => other,
            };
            Ok(ToolCall {
                id: id.to_owned(),
                name: name.to_owned(),
                arguments,
            })
        })
        .collect()
}

fn report(m: &Value, call: CallInfo) -> Result<Report, String> {
    let ended_reason = m["endedReason"]
        .as_str()
        .or_else(|| m["call"]["endedReason"].as_str())
        .ok_or("an end-of-call report without `endedReason`")?;
    let artifact = &m["artifact"];
    let text = |v: &Value| {
        v.as_str()
            .map(str::to_owned)
            .filter(|s| !s.trim().is_empty())
    };
    let time = |key: &str| {
        m[key]
            .as_str()
            .or_else(|| m["call"][key].as_str())
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let caller_lines: Vec<&str> = artifact["messages"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter(|x| matches!(x["role"].as_str(), Some("user" | "customer")))
                .filter_map(|x| x["message"].as_str())
                .collect()
        })
        .unwrap_or_default();
    let structured = m["analysis"]["structuredData"].clone();
    Ok(Report {
        call,
        ended_reason: ended_reason.to_owned(),
        transcript: text(&artifact["transcript"]).or_else(|| text(&m["transcript"])),
        caller_words: (!caller_lines.is_empty()).then(|| caller_lines.join(" ")),
        summary: text(&m["analysis"]["summary"]).or_else(|| text(&m["summary"])),
        structured: structured.is_object().then_some(structured),
        recording_url: text(&artifact["recordingUrl"])
            .or_else(|| text(&artifact["recording"]["mono"]["combinedUrl"]))
            .or_else(|| text(&m["recordingUrl"])),
        started_at: time("startedAt"),
        ended_at: time("endedAt"),
        our_call: variable(&artifact["variableValues"], "nmc_call"),
    })
}

/// A template variable by name (SIP header names are case-insensitive, `x-` optional).
fn variable(values: &Value, name: &str) -> Option<String> {
    values.as_object()?.iter().find_map(|(k, v)| {
        let k = k.to_ascii_lowercase();
        (k == name || k.strip_prefix("x-") == Some(name))
            .then(|| v.as_str().map(str::to_owned))
            .flatten()
    })
}

/// The answer to a `tool-calls` message: each result on one line (Vapi cannot read breaks).
pub fn tool_results(results: &[(String, String)]) -> Value {
    let results: Vec<Value> = results
        .iter()
        .map(|(id, result)| {
            let line = result.split_whitespace().collect::<Vec<_>>().join(" ");
            json!({"toolCallId": id, "result": line})
        })
        .collect();
    json!({"results": results})
}

/// The secret header Vapi sent matches ours (in constant time).
pub fn secret_matches(got: Option<&str>, expected: &str) -> bool {
    match got {
        Some(g) if !expected.is_empty() => bool::from(g.as_bytes().ct_eq(expected.as_bytes())),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_take_arguments_as_an_object_or_a_string() {
        let body = json!({"message": {"type": "tool-calls",
        "call": {"id": "c1", "customer": {"number": "+15125550101"}},
        "toolCallList": [
            {"id": "t1", "type": "function", "function": {"name": "check_availability", "arguments": {"need": "leak"}}},
            {"id": "t2", "type": "function", "function": {"name": "book_appointment", "arguments": "{\"slot\": 2}"}}
        ]}});
        let ServerMessage::ToolCalls { call, calls } = parse(body.to_string().as_bytes()).unwrap()
        else {
            panic!("tool calls")
        };
        assert_eq!(call.customer_number.as_deref(), Some("+15125550101"));
        assert_eq!(calls[0].arguments["need"], "leak");
        assert_eq!(calls[1].arguments["slot"], 2);
    }

    #[test]
    fn a_report_gives_the_callers_words_and_the_duration() {
        let body = json!({"message": {"type": "end-of-call-report", "endedReason": "customer-ended-call",
            "call": {"id": "c1", "customer": {"sipUri": "sip:+15125550101@acme.sip.twilio.com"}},
            "startedAt": "2026-12-05T10:00:00Z", "endedAt": "2026-12-05T10:01:05Z",
            "artifact": {"transcript": "AI: Hi\nUser: My sink is leaking", "messages": [
                {"role": "bot", "message": "Hi"}, {"role": "user", "message": "My sink is leaking"}]},
            "analysis": {"summary": "Leaking sink", "structuredData": {"need": "leaking sink"}}}});
        let mut body = body;
        body["message"]["artifact"]["variableValues"] = json!({"X-NMC_CALL": "CA123"});
        let ServerMessage::EndOfCall(r) = parse(body.to_string().as_bytes()).unwrap() else {
            panic!("a report")
        };
        assert_eq!(r.caller_words.as_deref(), Some("My sink is leaking"));
        assert_eq!(r.call.customer_number.as_deref(), Some("+15125550101"));
        assert_eq!(r.duration_secs(), 65);
        assert_eq!(r.our_call.as_deref(), Some("CA123"));
        assert_eq!(r.summary.as_deref(), Some("Leaking sink"));
    }

    #[test]
    fn results_are_single_lines_and_secrets_compare_exactly() {
        let r = tool_results(&[("t1".into(), "a\nb".into())]);
        assert_eq!(
            r,
            json!({"results": [{"toolCallId": "t1", "result": "a b"}]})
        );
        assert!(secret_matches(Some("abc"), "abc"));
        assert!(!secret_matches(Some("abd"), "abc"));
        assert!(!secret_matches(None, "abc"));
        assert!(!secret_matches(Some(""), ""));
    }
}
