//! `X-Twilio-Signature`: HMAC-SHA1 over the URL Twilio called followed by the sorted form
//! parameters, keyed with the account's auth token, base64-encoded.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha1 = Hmac<Sha1>;

/// Computes the signature for a form POST (`params` are the decoded body parameters).
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // Sort by name, then value, so a repeated name contributes each value in order.
    sorted.sort_by(|a, b| {
        a.0.as_bytes()
            .cmp(b.0.as_bytes())
            .then(a.1.as_bytes().cmp(b.1.as_bytes()))
    });
    let mut mac =
        HmacSha1::new_from_slice(auth_token.as_bytes()).expect("hmac accepts any key length");
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks a form POST's signature, in constant time, accepting the URL written with or
/// without its default port (Twilio signs whichever form it was configured with).
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    url_variants(url)
        .iter()
        .any(|u| ct_eq(&sign(auth_token, u, params), signature))
}

/// Checks a JSON-body webhook: the URL carries `bodySHA256`, which must match the raw body,
/// and the signature covers the URL alone.
pub fn verify_json(auth_token: &str, url: &str, raw_body: &[u8], signature: &str) -> bool {
    let Some(claimed) = query_param(url, "bodySHA256") else {
        return false;
    };
    let actual = hex(&Sha256::digest(raw_body));
    ct_eq(&actual, &claimed) && verify(auth_token, url, &[], signature)
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The URL as given, plus the same URL with the default port added or removed.
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    for (scheme, port) in [("https://", ":443"), ("http://", ":80")] {
        let Some(rest) = url.strip_prefix(scheme) else {
            continue;
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(split);
        if let Some(host) = authority.strip_suffix(port) {
            out.push(format!("{scheme}{host}{tail}"));
        } else if !authority.contains(':') {
            out.push(format!("{scheme}{authority}{port}{tail}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn vector_1_form_with_query_string() {
        let params = p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(sign("12345", url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify(
            "12345",
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!verify(
            "12346",
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!verify(
            "12345",
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
    }

    #[test]
    fn vector_2_encoded_body_and_default_port() {
        let raw = "AccountSid=AC00000000000000000000000000000000&ApiVersion=2010-04-01&Body=Can+you+come+Tuesday%3F+caf%C3%A9+%26+more&From=%2B15558675310&MessageSid=SM11111111111111111111111111111111&NumMedia=0&NumSegments=1&SmsMessageSid=SM11111111111111111111111111111111&SmsSid=SM11111111111111111111111111111111&SmsStatus=received&To=%2B15017122661";
        let params: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let token = "0123456789abcdef0123456789abcdef";
        let plain = "https://example.ngrok.io/webhooks/twilio/sms";
        let ported = "https://example.ngrok.io:443/webhooks/twilio/sms";
        assert_eq!(sign(token, plain, &params), "4G6yRvJ2Z+YK3IQTLgw3yBGcHUA=");
        assert_eq!(sign(token, ported, &params), "V7y5yjcjtaQZMhuvFVrmMjelSDs=");
        for url in [plain, ported] {
            for sig in [
                "4G6yRvJ2Z+YK3IQTLgw3yBGcHUA=",
                "V7y5yjcjtaQZMhuvFVrmMjelSDs=",
            ] {
                assert!(verify(token, url, &params, sig), "{url} {sig}");
            }
        }
    }

    #[test]
    fn vector_3_json_body() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
        assert_eq!(sign("12345", url, &[]), "a9nBmqA0ju/hNViExpshrM61xv4=");
        assert!(verify_json(
            "12345",
            url,
            body,
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
        assert!(!verify_json(
            "12345",
            url,
            br#"{"property": "other"}"#,
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
    }

    #[test]
    fn vector_4_repeated_parameter() {
        let params = p(&[
            ("To", "+15017122661"),
            ("MediaUrl", "https://b.example/2.jpg"),
            ("MediaUrl", "https://a.example/1.jpg"),
        ]);
        assert_eq!(
            sign("12345", "https://mycompany.com/myapp", &params),
            "LXWadKJ50VObeArdR0aeC0bJI/U="
        );
    }

    #[test]
    fn missing_or_garbage_signature_fails() {
        assert!(!verify("12345", "https://x.example/a", &[], ""));
        assert!(!verify(
            "12345",
            "https://x.example/a",
            &[],
            "not base64 at all"
        ));
    }
}
