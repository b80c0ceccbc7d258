//! A caller on the line with the agent: when the carrier's `<Dial><Sip>` reaches one of the
//! double's SIP numbers, its assistant "talks" to a scripted caller. Each scripted tool call is
//! posted to the assistant's server URL as Vapi posts it (`tool-calls`, with the assistant's
//! `server.headers`), and the call ends with an `end-of-call-report`, as a SIP caller's:
//! `customer.sipUri`, no `customer.number`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::VapiDouble;

/// How the next call the agent takes goes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AgentScript {
    /// What the caller says, in order.
    pub caller_lines: Vec<String>,
    /// The tools the agent calls, in order, after the caller's lines.
    #[serde(default)]
    pub tools: Vec<ScriptedTool>,
    /// Vapi's `endedReason` (`assistant-ended-call` when empty).
    #[serde(default)]
    pub ended_reason: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub structured: Option<Value>,
    /// Deliver the report this many times (Vapi retries a server that did not answer).
    #[serde(default)]
    pub report_deliveries: u32,
    #[serde(default)]
    pub secs: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScriptedTool {
    pub name: String,
    pub arguments: Value,
}

/// What our server answered to one tool call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolAnswer {
    pub name: String,
    pub status: u16,
    pub result: String,
}

impl VapiDouble {
    /// The carrier dialled `sip_uri` for the caller `from`: Twilio's `DialCallStatus`
    /// (`failed` when Vapi is down or the number is not one of its).
    pub async fn take_call(
        &self,
        dialled: &str,
        credentials: Option<(String, String)>,
        from: &str,
    ) -> Result<&'static str, String> {
        // `sip:user@host?X-Header=value`: the number, and the headers Vapi keeps as variables.
        let (sip_uri, headers) = dialled.split_once('?').unwrap_or((dialled, ""));
        let variables: serde_json::Map<String, Value> = form_urlencoded::parse(headers.as_bytes())
            .map(|(k, v)| {
                let name = k.to_ascii_lowercase();
                let name = name.strip_prefix("x-").unwrap_or(&name).to_owned();
                (name, json!(v))
            })
            .collect();
        let (assistant, script) = {
            let mut inner = self.inner.lock().unwrap();
            if inner.down {
                return Ok("failed");
            }
            let Some(number) = inner
                .numbers
                .values()
                .find(|(_, n)| n["sipUri"] == sip_uri)
                .map(|(_, n)| n.clone())
            else {
                return Ok("failed");
            };
            // Digest authentication, when the number asks for it: a 401 the dialler cannot
            // answer ends the call as Twilio's `failed`.
            let auth = &number["authentication"];
            let wanted = auth["username"].as_str().zip(auth["password"].as_str());
            if let Some((user, password)) = wanted
                && credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
                    != Some((user, password))
            {
                return Ok("failed");
            }
            let Some(assistant_id) = number["assistantId"].as_str().map(str::to_owned) else {
                return Ok("failed");
            };
            let Some((_, assistant)) = inner.assistants.get(&assistant_id).cloned() else {
                return Ok("failed");
            };
            (assistant, inner.script.take().unwrap_or_default())
        };
        let call = json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "orgId": "org-sandbox",
            "type": "inboundPhoneCall",
            "phoneCallProvider": "vapi",
            "phoneCallTransport": "sip",
            "assistantId": assistant["id"],
            "customer": {"sipUri": format!("sip:{from}@sandbox.pstn.twilio.com")},
            "status": "in-progress",
        });
        let mut lines = vec![json!({"role": "bot", "message": assistant["firstMessage"]})];
        lines.extend(
            script
                .caller_lines
                .iter()
                .map(|l| json!({"role": "user", "message": l})),
        );
        for tool in &script.tools {
            let answer = self.call_tool(&assistant, &call, tool).await?;
            lines.push(json!({"role": "bot", "message": answer.result}));
            self.inner.lock().unwrap().answers.push(answer);
        }
        let mut report = report(&call, &script, &lines);
        report["message"]["artifact"]["variableValues"] = Value::Object(variables);
        for _ in 0..script.report_deliveries.max(1) {
            post(self, &assistant, &report).await?;
        }
        self.inner.lock().unwrap().reports_sent += 1;
        Ok("completed")
    }

    async fn call_tool(
        &self,
        assistant: &Value,
        call: &Value,
        tool: &ScriptedTool,
    ) -> Result<ToolAnswer, String> {
        let id = format!("call_{}", uuid::Uuid::new_v4().simple());
        let item = json!({"id": id, "type": "function",
                          "function": {"name": tool.name, "arguments": tool.arguments}});
        let message = json!({"message": {
            "type": "tool-calls",
            "timestamp": chrono::Utc::now().timestamp_millis(),
            "call": call,
            "customer": call["customer"],
            "toolCallList": [item],
            "toolWithToolCallList": [{"type": "function", "function": {"name": tool.name}, "toolCall": item}],
        }});
        let (status, body) = post(self, assistant, &message).await?;
        let result = body["results"][0]["result"]
            .as_str()
            .or_else(|| body["results"][0]["error"].as_str())
            .unwrap_or_default()
            .to_owned();
        Ok(ToolAnswer {
            name: tool.name.clone(),
            status,
            result,
        })
    }
}

fn report(call: &Value, script: &AgentScript, lines: &[Value]) -> Value {
    let ended = chrono::Utc::now();
    let started = ended - chrono::Duration::seconds(i64::from(script.secs.max(1)));
    let transcript: Vec<String> = lines
        .iter()
        .map(|l| {
            let who = if l["role"] == "user" { "User" } else { "AI" };
            format!("{who}: {}", l["message"].as_str().unwrap_or_default())
        })
        .collect();
    let reason = if script.ended_reason.is_empty() {
        "assistant-ended-call"
    } else {
        &script.ended_reason
    };
    let call_id = call["id"].as_str().unwrap_or_default();
    json!({"message": {
        "type": "end-of-call-report",
        "endedReason": reason,
        "call": call,
        "customer": call["customer"],
        "startedAt": started.to_rfc3339(),
        "endedAt": ended.to_rfc3339(),
        "cost": 0.12,
        "artifact": {
            "messages": lines,
            "transcript": transcript.join("\n"),
            "recordingUrl": format!("https://storage.vapi.ai/{call_id}-mono.wav"),
        },
        "analysis": {
            "summary": script.summary,
            "structuredData": script.structured.clone().unwrap_or_else(|| json!({})),
            "successEvaluation": "true",
        },
    }})
}

/// Posts to the assistant's server URL with its headers, as Vapi does; (status, JSON answer).
async fn post(d: &VapiDouble, assistant: &Value, message: &Value) -> Result<(u16, Value), String> {
    let url = assistant["server"]["url"]
        .as_str()
        .ok_or("the assistant has no server URL")?;
    if !d.may_post(url) {
        return Err(format!("{url} is not under the sandbox's base URL"));
    }
    let mut req = d.http.post(url).json(message);
    if let Some(headers) = assistant["server"]["headers"].as_object() {
        for (k, v) in headers {
            req = req.header(k, v.as_str().unwrap_or_default());
        }
    }
    let resp = req.send().await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body))
}
