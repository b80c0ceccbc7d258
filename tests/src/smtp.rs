//! A real SMTP server for the mail tests: aiosmtpd (PyPI; `scripts/test` installs it into
//! .tools/aiosmtpd and sets NMC_AIOSMTPD_PATH) with `tests/smtp/rawdrop.py`, which keeps each
//! message's bytes exactly as received. [`Mail`] parses just enough of one to assert on: headers,
//! and the text and HTML parts with their transfer encoding (quoted-printable, base64) undone.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::process::{Child, Command};
use tokio::time::Instant;
use uuid::Uuid;

pub struct SmtpServer {
    port: u16,
    /// A relay with TLS and a password (`secure.py`); plain `rawdrop` when `None`.
    secure: Option<Tls>,
    /// Where rawdrop writes N.eml (the message) and N.json (its envelope).
    dir: PathBuf,
    child: Option<Child>,
    /// Mails `wait_for` has handed out already.
    taken: Mutex<HashSet<PathBuf>>,
}

/// How a secure relay takes TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Plain text first, upgraded with STARTTLS (port 587 style).
    StartTls,
    /// TLS from the first byte (port 465 style, RFC 8314).
    Implicit,
}

/// The one account a secure relay accepts.
const SMTP_USER: &str = "alerts@acme.example";
const SMTP_PASSWORD: &str = "relay p@ss/word";

impl SmtpServer {
    /// Starts a server on a free loopback port; it stops when dropped.
    pub async fn start() -> Self {
        Self::launch(None).await
    }

    /// A relay that wants TLS (`tls`) and a password, with its own certificate authority:
    /// clients trust it through `ca_file()` (SSL_CERT_FILE).
    pub async fn start_secure(tls: Tls) -> Self {
        Self::launch(Some(tls)).await
    }

    async fn launch(secure: Option<Tls>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = Self {
            port,
            secure,
            dir: std::env::temp_dir().join(format!("nmc-smtp-{}", Uuid::new_v4().simple())),
            child: None,
            taken: Mutex::default(),
        };
        if secure.is_some() {
            server.make_certificate();
        }
        server.restart().await;
        server
    }

    /// Plain: `smtp://127.0.0.1:PORT` (no credentials, loopback: what the worker allows).
    /// Secure: `smtp://user:pass@localhost:PORT?tls=required` or `smtps://user:pass@localhost:PORT`.
    pub fn url(&self) -> String {
        let (user, pass) = (userinfo(SMTP_USER), userinfo(SMTP_PASSWORD));
        match self.secure {
            None => format!("smtp://127.0.0.1:{}", self.port),
            Some(Tls::StartTls) => {
                format!("smtp://{user}:{pass}@localhost:{}?tls=required", self.port)
            }
            Some(Tls::Implicit) => format!("smtps://{user}:{pass}@localhost:{}", self.port),
        }
    }

    /// The relay's private certificate authority, to trust (SSL_CERT_FILE).
    pub fn ca_file(&self) -> PathBuf {
        self.tls_dir().join("ca.crt")
    }

    fn tls_dir(&self) -> PathBuf {
        self.dir.with_extension("tls")
    }

    /// A private CA and, signed by it, the relay's certificate for localhost and 127.0.0.1
    /// (openssl, from Debian): what a company's own relay looks like.
    fn make_certificate(&self) {
        let dir = self.tls_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let script = r"
            set -e
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
                -subj '/CN=NeverMissCall test CA' -keyout ca.key -out ca.crt
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
                -subj '/CN=localhost' -keyout relay.key -out relay.csr
            printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' > relay.ext
            openssl x509 -req -in relay.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile relay.ext -out relay.crt
        ";
        let status = std::process::Command::new("sh")
            .args(["-c", script])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("sh and openssl");
        assert!(
            status.success(),
            "openssl could not make the relay's certificates"
        );
    }

    /// Stops listening (connections are refused), as a relay that is down.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// Listens again on the same port, keeping what was received; returns once it accepts.
    pub async fn restart(&mut self) {
        self.stop().await;
        let Ok(aiosmtpd) = std::env::var("NMC_AIOSMTPD_PATH") else {
            panic!(
                "NMC_AIOSMTPD_PATH is not set: run the tests with scripts/test, which installs aiosmtpd into .tools/aiosmtpd and sets it"
            )
        };
        let handlers = Path::new(env!("CARGO_MANIFEST_DIR")).join("smtp");
        let pythonpath = std::env::join_paths([PathBuf::from(aiosmtpd), handlers]).unwrap();
        let log = self.dir.with_extension("log");
        let mut command = Command::new("python3");
        command.env("PYTHONPATH", pythonpath);
        match self.secure {
            None => command
                .args(["-m", "aiosmtpd", "-n", "-l"])
                .arg(format!("127.0.0.1:{}", self.port))
                .args(["-c", "rawdrop.RawDrop"])
                .arg(&self.dir),
            Some(tls) => command
                .args(["-m", "secure"])
                .arg(if tls == Tls::Implicit {
                    "smtps"
                } else {
                    "starttls"
                })
                .arg(self.port.to_string())
                .arg(&self.dir)
                .arg(self.tls_dir().join("relay.crt"))
                .arg(self.tls_dir().join("relay.key"))
                .args([SMTP_USER, SMTP_PASSWORD]),
        };
        let child = command
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).map_or_else(|_| Stdio::null(), Stdio::from))
            .kill_on_drop(true)
            .spawn()
            .expect("python3 -m aiosmtpd (scripts/test installs aiosmtpd)");
        self.child = Some(child);
        // The CLI prints nothing when ready: poll the port.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "aiosmtpd did not listen on {} ({exited:?}): {}",
                self.port,
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every mail received so far, oldest first.
    pub fn received(&self) -> Vec<Mail> {
        self.files()
            .into_iter()
            .filter_map(|eml| Mail::read(&eml))
            .collect()
    }

    /// The oldest mail to `to` that this has not returned before; fails after `timeout`.
    pub async fn wait_for(&self, to: &str, timeout: Duration) -> Mail {
        let deadline = Instant::now() + timeout;
        loop {
            for eml in self.files() {
                if self.taken.lock().unwrap().contains(&eml) {
                    continue;
                }
                if let Some(mail) = Mail::read(&eml)
                    && mail.rcpt_tos.iter().any(|r| r.eq_ignore_ascii_case(to))
                {
                    self.taken.lock().unwrap().insert(eml);
                    return mail;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no mail to {to} reached the SMTP server within {timeout:?} ({} other mails)",
                self.files().len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The .eml files, oldest first (their names start with the arrival time in ns).
    fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters, as a URL's user and password need
/// (form encoding's `+` for a space would be taken literally there).
fn userinfo(raw: &str) -> String {
    raw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(self.dir.with_extension("log"));
        let _ = std::fs::remove_dir_all(self.tls_dir());
    }
}

/// One received mail: its envelope, its top-level headers (unfolded, RFC 2047 words decoded) and
/// its leaf parts (transfer encoding undone).
#[derive(Debug, Clone)]
pub struct Mail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// The client logged in (AUTH) before sending it.
    pub authenticated: bool,
    /// The bytes as received, as text (what lettre sends is ASCII).
    pub raw: String,
    headers: Vec<(String, String)>,
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
pub struct Part {
    /// The media type alone, lowercased (`text/plain`), without parameters.
    pub content_type: String,
    pub body: String,
}

impl Mail {
    fn read(eml: &Path) -> Option<Self> {
        let envelope: serde_json::Value =
            serde_json::from_slice(&std::fs::read(eml.with_extension("json")).ok()?).ok()?;
        let raw = String::from_utf8_lossy(&std::fs::read(eml).ok()?).replace("\r\n", "\n");
        let (headers, body) = split_entity(&raw);
        let mut parts = Vec::new();
        collect_parts(&headers, body, &mut parts);
        Some(Self {
            mail_from: envelope["mail_from"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            rcpt_tos: envelope["rcpt_tos"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            authenticated: envelope["auth"].as_bool().unwrap_or(false),
            headers,
            parts,
            raw,
        })
    }

    /// A top-level header's value, by name (any case); the first if repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn subject(&self) -> &str {
        self.header("Subject").unwrap_or_default()
    }

    pub fn from(&self) -> &str {
        self.header("From").unwrap_or_default()
    }

    pub fn to(&self) -> &str {
        self.header("To").unwrap_or_default()
    }

    /// The top-level media type, lowercased, without parameters (`multipart/alternative`).
    pub fn content_type(&self) -> String {
        media_type(self.header("Content-Type").unwrap_or("text/plain"))
    }

    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The text/plain part, decoded.
    pub fn text(&self) -> Option<&str> {
        self.part("text/plain")
    }

    /// The text/html part, decoded.
    pub fn html(&self) -> Option<&str> {
        self.part("text/html")
    }

    fn part(&self, content_type: &str) -> Option<&str> {
        self.parts
            .iter()
            .find(|p| p.content_type == content_type)
            .map(|p| p.body.as_str())
    }
}

/// Headers (unfolded) and body of a message or part whose line ends are already `\n`.
fn split_entity(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    for (_, value) in &mut headers {
        *value = decode_encoded_words(value);
    }
    (headers, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The leaf parts of an entity, depth first (a multipart's parts in order).
fn collect_parts(headers: &[(String, String)], body: &str, parts: &mut Vec<Part>) {
    let content_type = header(headers, "Content-Type").unwrap_or("text/plain");
    let media = media_type(content_type);
    if media.starts_with("multipart/") {
        let Some(boundary) = parameter(content_type, "boundary") else {
            return;
        };
        for part in split_multipart(body, &boundary) {
            let (h, b) = split_entity(&part);
            collect_parts(&h, b, parts);
        }
        return;
    }
    let encoding = header(headers, "Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "quoted-printable" => quoted_printable(body),
        "base64" => BASE64
            .decode(body.split_ascii_whitespace().collect::<String>())
            .unwrap_or_else(|e| panic!("a base64 part that does not decode ({e}): {body}")),
        _ => body.as_bytes().to_vec(),
    };
    parts.push(Part {
        content_type: media,
        body: String::from_utf8_lossy(&bytes).replace("\r\n", "\n"),
    });
}

/// `boundary="abc"` (quoted or not) from a Content-Type.
fn parameter(content_type: &str, name: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// The bodies between `--boundary` lines, up to `--boundary--`.
fn split_multipart(body: &str, boundary: &str) -> Vec<String> {
    let delimiter = format!("--{boundary}");
    let close = format!("{delimiter}--");
    let mut parts = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in body.split('\n') {
        let trimmed = line.trim_end();
        if trimmed == delimiter || trimmed == close {
            if let Some(lines) = current.take() {
                parts.push(lines.join("\n"));
            }
            if trimmed == close {
                break;
            }
            current = Some(Vec::new());
        } else if let Some(lines) = current.as_mut() {
            lines.push(line);
        }
    }
    parts
}

/// Undoes quoted-printable (RFC 2045 §6.7): `=XX` bytes and `=` soft line breaks.
fn quoted_printable(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            // A soft line break (transport padding allowed before the line end), or an "=" that
            // ends the text: nothing.
            let rest = &text[i + 1..];
            let (line_rest, more) = match rest.split_once('\n') {
                Some((line, _)) => (line, true),
                None => (rest, false),
            };
            if line_rest.trim_end().is_empty() {
                i += 1 + line_rest.len() + usize::from(more);
                continue;
            }
            if let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header value; whitespace
/// between two adjacent words goes, as the RFC says.
fn decode_encoded_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        if let Some((text, used)) = encoded_word(candidate) {
            if !(after_word && before.trim().is_empty()) {
                out.push_str(before);
            }
            out.push_str(&text);
            rest = &candidate[used..];
            after_word = true;
        } else {
            out.push_str(before);
            out.push_str("=?");
            rest = &candidate[2..];
            after_word = false;
        }
    }
    out.push_str(rest);
    out
}

/// One encoded word at the start of `s`: its text and how many bytes it took.
fn encoded_word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (_charset, rest) = inner.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let end = rest.find("?=")?;
    let text = &rest[..end];
    if text.contains(' ') {
        return None;
    }
    let bytes = match encoding {
        "b" | "B" => BASE64.decode(text).ok()?,
        "q" | "Q" => quoted_printable(&text.replace('_', " ")),
        _ => return None,
    };
    let used = s.len() - rest.len() + end + 2;
    Some((String::from_utf8_lossy(&bytes).into_owned(), used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_and_encoded_words_decode() {
        assert_eq!(
            String::from_utf8(quoted_printable("caf=C3=A9 =3D a long=\nline")).unwrap(),
            "café = a longline"
        );
        assert_eq!(
            decode_encoded_words("=?utf-8?b?Y2Fmw6k=?= =?utf-8?q?_ol=C3=A9?= done"),
            "café olé done"
        );
        assert_eq!(decode_encoded_words("plain =? text"), "plain =? text");
    }

    #[test]
    fn a_multipart_alternative_mail_splits_into_its_parts() {
        let raw = "Subject: Hi\nContent-Type: multipart/alternative;\n boundary=\"XYZ\"\n\n--XYZ\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nHello =\nthere\n--XYZ\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\nPHA+SGk8L3A+\n--XYZ--\n";
        let (headers, body) = split_entity(raw);
        assert_eq!(
            header(&headers, "content-type"),
            Some("multipart/alternative; boundary=\"XYZ\"")
        );
        let mut parts = Vec::new();
        collect_parts(&headers, body, &mut parts);
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].content_type.as_str(), parts[0].body.as_str()),
            ("text/plain", "Hello there")
        );
        assert_eq!(
            (parts[1].content_type.as_str(), parts[1].body.as_str()),
            ("text/html", "<p>Hi</p>")
        );
    }
}
