//! Credentials told by where they sit, for plans, diffs and reports.
//!
//! What a spec declares secret is masked by value ([`super::Secrets`]). The credentials the
//! source and the target hold on their own — which no spec names — are found by their place:
//!
//! - a field named like one (`password`, `api_key`, `X-Api-Key`, `pass/word`), at any depth;
//! - the value of a name–value pair whose name is one, whatever the case of its keys
//!   (`{"name": "Authorization", "value": …}`, `{"Key": "db_password", "Value": …}`,
//!   `{"param_name": "client_secret", "param_value": …}`), and the second element of a
//!   two-element array whose first names one (`["Authorization", "Bearer …"]`);
//! - inside any string: the password of a URL (`scheme://user:password@host`, also written
//!   `scheme:\/\/` as JSON escapes it, or a user alone, which is often a token), an
//!   assignment to a credential name (`Password=…;`, `api_key=…`, `X-Api-Key: …`), and the
//!   token after `Bearer` or `Basic`.
//!
//! Booleans and `null` are shown even under a credential name (`credentials_required: true`
//! says nothing secret); every other value there is shown as [`super::MASK`].

use serde_json::Value;

use super::MASK;

/// Words that, inside a name (letters and digits only, any case), say it holds a credential.
const WORDS: [&str; 14] = [
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "authorization",
    "cookie",
    "secret",
    "token",
    "credential",
    "privatekey",
    "apikey",
    "accesskey",
    "sourcecode",
    "signingkey",
];

/// `s` with only its letters and digits, lower-cased: `X-Api-Key` → `xapikey`.
fn folded(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn names_one(folded: &str) -> bool {
    WORDS.iter().any(|w| folded.contains(w))
}

/// Endings of names that describe a credential rather than hold one (`token_ttl`,
/// `password_policy`, `cookie_domain`, `credentials_required`, `token_url`).
const ABOUT_ENDINGS: [&str; 19] = [
    "ttl",
    "length",
    "count",
    "size",
    "domain",
    "policy",
    "required",
    "enabled",
    "expiry",
    "expires",
    "expiresin",
    "expiration",
    "timeout",
    "lifetime",
    "url",
    "uri",
    "endpoint",
    "type",
    "algorithm",
];
/// Beginnings of such names (`max_tokens`, `min_password_length`).
const ABOUT_BEGINNINGS: [&str; 3] = ["max", "min", "num"];

/// Whether a field name says it holds a credential: it names one (`password`, `api_key`,
/// `X-Api-Key`) and does not merely describe one (`token_ttl`, `max_tokens`).
pub fn is_credential_name(name: &str) -> bool {
    let f = folded(name);
    names_one(&f)
        && !ABOUT_ENDINGS.iter().any(|e| f.ends_with(e))
        && !ABOUT_BEGINNINGS.iter().any(|b| f.starts_with(b))
}

/// Whether a text names a credential anywhere, words run together (`api_key=`,
/// `BEGIN PRIVATE KEY`, `X-Api-Key:`): such a text is not shown line by line.
pub fn text_names_credential(text: &str) -> bool {
    names_one(&folded(text))
}

/// A JSON pointer's segments, unescaped (`~1` is `/`, `~0` is `~`).
pub fn segments(pointer: &str) -> impl Iterator<Item = String> + '_ {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
}

/// Whether a key names the name of a name–value pair: `key`, `name`, `param_name`, ….
fn is_pair_name(key: &str) -> bool {
    let k = folded(key);
    k == "key" || k.ends_with("name")
}

/// Whether a key names the value of a name–value pair: `value`, `val`, `param_value`, ….
fn is_pair_value(key: &str) -> bool {
    let k = folded(key);
    k == "val" || k.ends_with("value")
}

/// Whether an object is a name–value pair whose name says it holds a credential.
pub fn is_credential_pair(map: &serde_json::Map<String, Value>) -> bool {
    map.keys().any(|k| is_pair_value(k))
        && map
            .iter()
            .any(|(k, v)| is_pair_name(k) && v.as_str().is_some_and(is_credential_name))
}

/// Whether an array is a `[name, value]` pair whose name says it holds a credential.
pub fn is_credential_tuple(items: &[Value]) -> bool {
    items.len() == 2 && items[0].as_str().is_some_and(is_credential_name)
}

/// Whether the member `key` of the objects `parents` (before and after; either may be
/// absent) holds a credential: by its own name, or as the value of a credential pair on
/// either side (so a pair renamed away from a credential still hides the old value).
pub fn is_secret_member(key: &str, parents: [Option<&Value>; 2]) -> bool {
    is_credential_name(key)
        || (is_pair_value(key)
            && parents
                .into_iter()
                .flatten()
                .any(|p| p.as_object().is_some_and(is_credential_pair)))
}

/// Whether element `index` of the arrays `parents` (before and after) holds a credential.
pub fn is_secret_element(index: usize, parents: [Option<&Value>; 2]) -> bool {
    index == 1
        && parents
            .into_iter()
            .flatten()
            .any(|p| p.as_array().is_some_and(|a| is_credential_tuple(a)))
}

/// Whether the place `pointer` is at or below a credential in either of `docs`
/// (before, after), judged at every level from the root.
pub fn is_secret_place(pointer: &str, docs: [Option<&Value>; 2]) -> bool {
    secret_depth(pointer, docs).is_some()
}

/// How many segments of `pointer` lead to the first credential on its way, in either of
/// `docs`: keys below it (a map of tokens keyed by the tokens) are as secret as values.
pub fn secret_depth(pointer: &str, docs: [Option<&Value>; 2]) -> Option<usize> {
    let mut parents = docs;
    for (depth, seg) in segments(pointer).enumerate() {
        let secret = match seg.parse::<usize>() {
            Ok(i) if parents.iter().flatten().any(|p| p.is_array()) => {
                is_secret_element(i, parents)
            }
            _ => is_secret_member(&seg, parents),
        };
        if secret {
            return Some(depth + 1);
        }
        parents = parents.map(|p| match p {
            Some(Value::Object(m)) => m.get(&seg),
            Some(Value::Array(a)) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        });
    }
    None
}

/// Masks `v` as a whole, unless it is a boolean or `null`, which show nothing secret.
pub fn mask_whole(v: &mut Value) {
    if !matches!(v, Value::Bool(_) | Value::Null) {
        *v = Value::String(MASK.into());
    }
}

/// Masks every credential inside `v`: members named like one, credential pairs' values,
/// and what [`mask_text`] finds in strings.
pub fn mask_inside(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let pair = is_credential_pair(map);
            for (k, x) in map.iter_mut() {
                if is_credential_name(k) || (pair && is_pair_value(k)) {
                    mask_whole(x);
                } else {
                    mask_inside(x);
                }
            }
        }
        Value::Array(items) => {
            let tuple = is_credential_tuple(items);
            for (i, x) in items.iter_mut().enumerate() {
                if tuple && i == 1 {
                    mask_whole(x);
                } else {
                    mask_inside(x);
                }
            }
        }
        Value::String(s) => {
            if let Some(m) = mask_text(s) {
                *s = m;
            }
        }
        _ => {}
    }
}

/// `text` with the credentials it spells out masked (URL passwords and users, assignments to
/// credential names, `Bearer`/`Basic` tokens), when it has any.
pub fn mask_text(text: &str) -> Option<String> {
    let mut spans = Vec::new();
    url_users(text, &mut spans);
    assignments(text, &mut spans);
    auth_tokens(text, &mut spans);
    spans.retain(|(a, b)| a < b && &text[*a..*b] != MASK);
    if spans.is_empty() {
        return None;
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in spans {
        if end <= at {
            continue;
        }
        let start = start.max(at);
        out.push_str(&text[at..start]);
        out.push_str(MASK);
        at = end;
    }
    out.push_str(&text[at..]);
    (out != text).then_some(out)
}

/// Where a URL's authority starts after `://` (or `:\/\/`, as JSON escapes it).
const URL_MARKS: [&str; 2] = ["://", ":\\/\\/"];

/// Byte spans of the passwords (or lone users) of the URLs in `text`. A URL's user part
/// runs to the last `@` before the next URL, line break or quote, and before any blank
/// after its first `@`: a password may hold `/`, `?`, `#` or blanks unencoded.
fn url_users(text: &str, spans: &mut Vec<(usize, usize)>) {
    let mut starts: Vec<usize> = URL_MARKS
        .iter()
        .flat_map(|m| text.match_indices(m).map(move |(i, _)| (i, i + m.len())))
        .map(|(_, end)| end)
        .collect();
    starts.sort_unstable();
    for (n, &start) in starts.iter().enumerate() {
        let next = starts.get(n + 1).copied().unwrap_or(text.len());
        let rest = &text[start..next.max(start)];
        let mut seg_end = rest
            .find(['\n', '\r', '"', '\'', '<', '>'])
            .unwrap_or(rest.len());
        if let Some(first_at) = rest[..seg_end].find('@')
            && let Some(blank) = rest[first_at..seg_end].find(char::is_whitespace)
        {
            seg_end = first_at + blank;
        }
        let seg = &rest[..seg_end];
        let Some(at) = seg.rfind('@') else { continue };
        let userinfo = &seg[..at];
        let not_user = |c: char| matches!(c, '/' | '?' | '#' | '@') || c.is_whitespace();
        match userinfo.find(':') {
            Some(colon) if !userinfo[..colon].contains(not_user) => {
                spans.push((start + colon + 1, start + at));
            }
            None if !userinfo.is_empty() && !userinfo.contains(not_user) => {
                spans.push((start, start + at));
            }
            _ => {}
        }
    }
}

/// Byte spans of the values assigned to credential names in `text`: `Password=…`,
/// `api_key: …`, `"token": "…"`, up to `;`, `&`, `,`, a blank, a quote or a bracket.
fn assignments(text: &str, spans: &mut Vec<(usize, usize)>) {
    let bytes = text.as_bytes();
    let is_key = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    for (i, _) in text.match_indices(['=', ':']) {
        let mut key_end = i;
        if key_end > 0 && matches!(bytes[key_end - 1], b'"' | b'\'') {
            key_end -= 1;
        }
        let mut key_start = key_end;
        while key_start > 0 && is_key(bytes[key_start - 1]) {
            key_start -= 1;
        }
        if key_start == key_end || !is_credential_name(&text[key_start..key_end]) {
            continue;
        }
        let mut v = i + 1;
        while v < bytes.len() && matches!(bytes[v], b' ' | b'\t' | b'"' | b'\'') {
            v += 1;
        }
        if text[v..].starts_with("//") || text[v..].starts_with("\\/") {
            continue;
        }
        let end = text[v..]
            .find(|c: char| {
                matches!(c, ';' | '&' | ',' | '"' | '\'' | '}' | ']' | ')') || c.is_whitespace()
            })
            .map_or(text.len(), |e| v + e);
        spans.push((v, end));
    }
}

/// Byte spans of the tokens after `Bearer ` or `Basic ` (any case) in `text`.
fn auth_tokens(text: &str, spans: &mut Vec<(usize, usize)>) {
    let lower = text.to_ascii_lowercase();
    for scheme in ["bearer ", "basic "] {
        for (i, _) in lower.match_indices(scheme) {
            if i > 0 && lower.as_bytes()[i - 1].is_ascii_alphanumeric() {
                continue;
            }
            let start = i + scheme.len();
            let end = text[start..]
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';'))
                .map_or(text.len(), |e| start + e);
            if end - start >= 6 {
                spans.push((start, end));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn masked(v: serde_json::Value) -> serde_json::Value {
        let mut v = v;
        mask_inside(&mut v);
        v
    }

    #[test]
    fn names_are_judged_by_their_letters_in_any_case() {
        for name in [
            "db_password",
            "X-Api-Key",
            "api~key",
            "pass/word",
            "PRIVATE_KEY",
            "ACCESS-KEY-ID",
        ] {
            assert!(is_credential_name(name), "{name}");
        }
        for name in [
            "name",
            "keyword",
            "passage",
            "description",
            "token.ttl",
            "max_tokens",
            "password_policy",
            "cookie_domain",
            "credentials_required",
            "token_url",
        ] {
            assert!(!is_credential_name(name), "{name}");
        }
        assert!(text_names_credential("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(text_names_credential("curl -H 'X-Api-Key: k'"));
        assert!(!text_names_credential("paths:\n  /orders: {}\n"));
    }

    #[test]
    fn pairs_of_any_spelling_hide_their_value() {
        assert_eq!(
            masked(json!([
                {"Name": "Authorization", "Value": "Bearer abcdefgh"},
                {"Key": "db_password", "Value": 5},
                {"param_name": "client_secret", "param_value": "s"},
                ["Authorization", "Bearer q"],
                {"name": "Accept", "value": "json"},
                ["Accept", "json"]
            ])),
            json!([
                {"Name": "Authorization", "Value": "***"},
                {"Key": "db_password", "Value": "***"},
                {"param_name": "client_secret", "param_value": "***"},
                ["Authorization", "***"],
                {"name": "Accept", "value": "json"},
                ["Accept", "json"]
            ])
        );
        // Booleans and null say nothing secret.
        assert_eq!(
            masked(json!({"credentials_required": true, "password": null, "token": 7})),
            json!({"credentials_required": true, "password": null, "token": "***"})
        );
    }

    #[test]
    fn places_are_judged_on_each_side() {
        let old = json!({"h": [{"name": "Authorization", "value": "t"}]});
        let new = json!({"h": [{"name": "Accept", "value": "json"}]});
        assert!(is_secret_place("/h/0/value", [Some(&old), Some(&new)]));
        assert!(!is_secret_place("/h/0/name", [Some(&old), Some(&new)]));
        assert!(!is_secret_place("/h/0/value", [None, Some(&new)]));
        assert!(is_secret_place("/api~0key", [None, None]));
        assert!(is_secret_place("/a/pass~1word/x", [None, None]));
        let tuple = json!({"h": [["Authorization", "x"]]});
        assert!(is_secret_place("/h/0/1", [Some(&tuple), None]));
        assert!(!is_secret_place("/h/0/0", [Some(&tuple), None]));
    }

    #[test]
    fn strings_spell_out_credentials_in_many_ways() {
        let cases = [
            (
                "https://u:p4ss@h/p?q and ftp://v:w@k",
                "https://u:***@h/p?q and ftp://v:***@k",
            ),
            ("amqp://h1,amqp://u:pw-1@h2", "amqp://h1,amqp://u:***@h2"),
            ("https://u:a/b@h/x", "https://u:***@h/x"),
            ("https://u:a?b#c@h/x", "https://u:***@h/x"),
            ("https://u:a b@h/x", "https://u:***@h/x"),
            (
                "{\"u\":\"https:\\/\\/u:pw@h\"}",
                "{\"u\":\"https:\\/\\/u:***@h\"}",
            ),
            (
                "https://ghp_token123@github.com/x",
                "https://***@github.com/x",
            ),
            ("HTTPS://U:PW@H/x", "HTTPS://U:***@H/x"),
            (
                "Server=db;User Id=sa;Password=pw;x=1",
                "Server=db;User Id=sa;Password=***;x=1",
            ),
            (
                "api_key=k1\nprivate_key: k2",
                "api_key=***\nprivate_key: ***",
            ),
            (
                "-H 'X-Api-Key: k3' https://h",
                "-H 'X-Api-Key: ***' https://h",
            ),
            ("{\"token\": \"k4\"}", "{\"token\": \"***\"}"),
            ("Authorization: Bearer abcdefgh", "Authorization: *** ***"),
            ("use bearer abcdefgh here", "use bearer *** here"),
        ];
        for (text, want) in cases {
            assert_eq!(mask_text(text).as_deref(), Some(want), "{text}");
        }
        for text in [
            "https://h:80/x",
            "see https://example.com/docs, or mail ops@example.com",
            "no url: a@b",
            "ratio 3:4 and a=b",
            "token_url://x",
            "Basic auth",
        ] {
            assert_eq!(mask_text(text), None, "{text}");
        }
        // Masking twice changes nothing more.
        assert_eq!(mask_text("https://u:***@h"), None);
    }
}
