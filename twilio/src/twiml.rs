//! A minimal TwiML writer: every text and attribute is XML-escaped.

pub struct Response {
    body: String,
}

impl Default for Response {
    fn default() -> Self {
        Self::new()
    }
}

impl Response {
    pub fn new() -> Self {
        Self {
            body: String::new(),
        }
    }

    pub fn say(mut self, text: &str) -> Self {
        self.body.push_str(&format!("<Say>{}</Say>", escape(text)));
        self
    }

    /// `<Dial timeout=".." action="..">number</Dial>`
    pub fn dial(mut self, number: &str, timeout_secs: u32, action: &str) -> Self {
        self.body.push_str(&format!(
            r#"<Dial timeout="{timeout_secs}" action="{}" method="POST">{}</Dial>"#,
            escape(action),
            escape(number)
        ));
        self
    }

    /// `<Dial answerOnBridge><Sip>`: hands the caller to a SIP endpoint (the AI voice agent),
    /// with digest credentials when it wants them. The caller's number goes along as the SIP
    /// From, as Twilio does for every `<Dial>`; `sip_uri` may carry `?X-…=` headers.
    pub fn dial_sip(
        mut self,
        sip_uri: &str,
        credentials: Option<(&str, &str)>,
        timeout_secs: u32,
        action: &str,
    ) -> Self {
        let auth = credentials.map_or_else(String::new, |(user, password)| {
            format!(
                r#" username="{}" password="{}""#,
                escape(user),
                escape(password)
            )
        });
        self.body.push_str(&format!(
            r#"<Dial timeout="{timeout_secs}" answerOnBridge="true" action="{}" method="POST"><Sip{auth}>{}</Sip></Dial>"#,
            escape(action),
            escape(sip_uri)
        ));
        self
    }

    /// `<Say voice=".." language="..">`: Twilio's speech in the business's chosen voice.
    pub fn say_as(mut self, text: &str, voice: &str, language: &str) -> Self {
        self.body.push_str(&format!(
            r#"<Say voice="{}" language="{}">{}</Say>"#,
            escape(voice),
            escape(language),
            escape(text)
        ));
        self
    }

    /// `<Play>url</Play>`: an audio file Twilio fetches (MP3 or WAV).
    pub fn play(mut self, url: &str) -> Self {
        self.body.push_str(&format!("<Play>{}</Play>", escape(url)));
        self
    }

    /// `<Dial>` with call screening: Twilio runs `whisper_url`'s TwiML on the answering leg
    /// before it bridges the caller, so whoever answers must press a key first.
    pub fn dial_screened(
        mut self,
        number: &str,
        timeout_secs: u32,
        action: &str,
        whisper_url: &str,
    ) -> Self {
        self.body.push_str(&format!(
            r#"<Dial timeout="{timeout_secs}" action="{}" method="POST" answerOnBridge="true"><Number url="{}" method="POST">{}</Number></Dial>"#,
            escape(action),
            escape(whisper_url),
            escape(number)
        ));
        self
    }

    /// `<Gather numDigits="1">` around a prompt: one key press, posted to `action`.
    pub fn gather_digit(mut self, action: &str, timeout_secs: u32, prompt: &str) -> Self {
        self.body.push_str(&format!(
            r#"<Gather numDigits="1" timeout="{timeout_secs}" action="{}" method="POST"><Say>{}</Say></Gather>"#,
            escape(action),
            escape(prompt)
        ));
        self
    }

    /// `<Record>` a message after the beep. `action` gets the end of the recording (or the
    /// hang-up); `status_callback` gets the stored media once it is ready.
    pub fn record(mut self, action: &str, status_callback: &str, max_secs: u32) -> Self {
        self.body.push_str(&format!(
            r#"<Record action="{}" method="POST" maxLength="{max_secs}" timeout="5" playBeep="true" trim="trim-silence" recordingStatusCallback="{}" recordingStatusCallbackMethod="POST" recordingStatusCallbackEvent="completed"/>"#,
            escape(action),
            escape(status_callback)
        ));
        self
    }

    /// `<Redirect method="POST">url</Redirect>`: fetch the next TwiML from `url`.
    pub fn redirect(mut self, url: &str) -> Self {
        self.body.push_str(&format!(
            r#"<Redirect method="POST">{}</Redirect>"#,
            escape(url)
        ));
        self
    }

    /// `<Reject/>`: the caller hears busy and nothing is answered (a blocked caller).
    pub fn reject(mut self) -> Self {
        self.body.push_str(r#"<Reject reason="busy"/>"#);
        self
    }

    pub fn hangup(mut self) -> Self {
        self.body.push_str("<Hangup/>");
        self
    }

    pub fn render(&self) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Response>{}</Response>"#,
            self.body
        )
    }
}

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attributes() {
        let x = Response::new()
            .say("Smith & Sons <Heating>")
            .dial("+15125550100", 20, "https://x.example/cb?a=1&b=2")
            .render();
        assert!(x.contains("<Say>Smith &amp; Sons &lt;Heating&gt;</Say>"));
        assert!(x.contains(r#"action="https://x.example/cb?a=1&amp;b=2""#));
        assert!(x.contains(r#"timeout="20""#));
    }

    #[test]
    fn screened_dial_whispers_to_the_answering_leg() {
        let x = Response::new()
            .dial_screened(
                "+15125550100",
                20,
                "https://x.example/done",
                "https://x.example/w?b=1&c=2",
            )
            .render();
        assert!(x.contains(
            r#"<Number url="https://x.example/w?b=1&amp;c=2" method="POST">+15125550100</Number>"#
        ));
        assert!(x.contains(r#"answerOnBridge="true""#));
    }
}
