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
}
