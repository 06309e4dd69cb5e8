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
const WORDS: [&str; 19] = [
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
    "jwt",
    "sessionid",
    "clientkey",
    "accountkey",
    "privkey",
];
/// Names that are a credential only as the whole name (inside others they are ordinary
/// words: `passage`, `author`, `design`).
const WHOLE_NAMES: [&str; 5] = ["pass", "pw", "auth", "sig", "pin"];

/// `s` with only its letters and digits, lower-cased: `X-Api-Key` → `xapikey`.
fn folded(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Calls `f` with `s` [`folded`], without allocating for a short ASCII name (every key of
/// every document compared goes through here).
fn with_folded<R>(s: &str, f: impl FnOnce(&str) -> R) -> R {
    const SHORT: usize = 64;
    if s.len() <= SHORT && s.is_ascii() {
        let mut buf = [0u8; SHORT];
        let mut n = 0;
        for b in s.bytes().filter(u8::is_ascii_alphanumeric) {
            buf[n] = b.to_ascii_lowercase();
            n += 1;
        }
        f(std::str::from_utf8(&buf[..n]).expect("ASCII letters and digits"))
    } else {
        f(&folded(s))
    }
}

fn names_one(folded: &str) -> bool {
    WORDS.iter().any(|w| folded.contains(w))
}

/// Last words of names that describe a credential rather than hold one (`token_ttl`,
/// `password_policy`, `cookie_domain`, `credentials_required`, `token_url`, `secretName`).
const ABOUT_LAST: [&str; 25] = [
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
    "expiration",
    "timeout",
    "lifetime",
    "url",
    "uri",
    "endpoint",
    "type",
    "algorithm",
    "path",
    "name",
    "scope",
    "scopes",
    "less",
    "in",
    "format",
];
/// First words of such names (`max_tokens`, `min_password_length`).
const ABOUT_FIRST: [&str; 3] = ["max", "min", "num"];

/// The words of a name or a text: runs of letters and digits, split where a lower-case
/// letter or digit meets an upper-case one (`apiKey` → `api`, `key`), lower-cased.
fn words(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .flat_map(|w| {
            let mut parts = Vec::new();
            let mut start = 0;
            let mut prev_lower = false;
            for (i, c) in w.char_indices() {
                if c.is_uppercase() && prev_lower {
                    parts.push(&w[start..i]);
                    start = i;
                }
                prev_lower = c.is_lowercase() || c.is_numeric();
            }
            parts.push(&w[start..]);
            parts
        })
        .map(str::to_lowercase)
}

/// Whether a field name says it holds a credential: it names one (`password`, `api_key`,
/// `X-Api-Key`, `minio_secret_key`) and does not merely describe one (`token_ttl`,
/// `max_tokens`, `cookie_path`).
pub fn is_credential_name(name: &str) -> bool {
    with_folded(name, |f| names_one(f) || WHOLE_NAMES.contains(&f)) && {
        let w: Vec<String> = words(name).collect();
        // `passwordless`, `passwordexpiry`: a long ending counts inside the last word too.
        let last = w.last().is_some_and(|w| {
            ABOUT_LAST
                .iter()
                .any(|e| w == e || (e.len() >= 4 && w.ends_with(e)))
        });
        let first = w.first().is_some_and(|w| ABOUT_FIRST.contains(&w.as_str()));
        !(last || first)
    }
}

/// Whether a text names a credential anywhere: a word holding one (`db_password`, `token`)
/// or two words that make one (`api_key`, `X-Api-Key`, `BEGIN PRIVATE KEY`), so such a
/// text is not shown line by line. Words running into each other across a blank
/// (`compass wordsmith`) are not one.
pub fn text_names_credential(text: &str) -> bool {
    let mut prev = String::new();
    for w in words(text) {
        if names_one(&w) {
            return true;
        }
        let pair = format!("{prev}{w}");
        if WORDS.contains(&pair.as_str()) {
            return true;
        }
        prev = w;
    }
    false
}

/// A JSON pointer's segments, unescaped (`~1` is `/`, `~0` is `~`).
pub fn segments(pointer: &str) -> impl Iterator<Item = String> + '_ {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
}

/// `pointer` with the credentials its keys spell out masked (a map keyed by URLs holding a
/// password), when it has any.
pub fn mask_pointer_keys(pointer: &str) -> Option<String> {
    let mut changed = false;
    let parts: Vec<String> = pointer
        .split('/')
        .enumerate()
        .map(|(i, raw)| {
            let seg = raw.replace("~1", "/").replace("~0", "~");
            match mask_text(&seg).filter(|_| i > 0) {
                Some(m) => {
                    changed = true;
                    m.replace('~', "~0").replace('/', "~1")
                }
                None => raw.to_string(),
            }
        })
        .collect();
    changed.then(|| parts.join("/"))
}

/// How a label's value is shown: masked whole when its name is a credential's, else with
/// the credentials it spells out masked.
pub fn shown_label<'a>(name: &str, value: &'a str) -> std::borrow::Cow<'a, str> {
    if is_credential_name(name) {
        MASK.into()
    } else {
        mask_text(value).map_or(value.into(), Into::into)
    }
}

/// Whether a key names the name of a name–value pair: `key`, `name`, `param_name`,
/// `ParameterKey`, `header`, `k`, ….
fn is_pair_name(key: &str) -> bool {
    with_folded(key, |k| {
        matches!(k, "k" | "header" | "field") || k.ends_with("name") || k.ends_with("key")
    })
}

/// Whether a key names the value of a name–value pair: `value`, `val`, `v`, `values`,
/// `param_value`, `ParameterValue`, and an OpenAPI parameter's `default` and `example`.
fn is_pair_value(key: &str) -> bool {
    with_folded(key, |k| {
        matches!(k, "v" | "val" | "default" | "example")
            || k.ends_with("value")
            || k.ends_with("values")
    })
}

/// Whether an object is a name–value pair whose name says it holds a credential.
pub fn is_credential_pair(map: &serde_json::Map<String, Value>) -> bool {
    map.keys().any(|k| is_pair_value(k))
        && map
            .iter()
            .any(|(k, v)| is_pair_name(k) && v.as_str().is_some_and(is_credential_name))
}

/// Whether an array is a `[name, value]` pair whose name (a field or header name, no
/// blanks or other signs) says it holds a credential.
pub fn is_credential_tuple(items: &[Value]) -> bool {
    let field_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && is_credential_name(s)
    };
    items.len() == 2 && items[0].as_str().is_some_and(field_name)
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
    let spans = spelled_out(text);
    if spans.is_empty() {
        return None;
    }
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

/// The byte spans of the credentials `text` spells out, sorted (they may overlap).
fn spelled_out(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    url_users(text, &mut spans);
    assignments(text, &mut spans);
    auth_tokens(text, &mut spans);
    private_keys(text, &mut spans);
    xml_elements(text, &mut spans);
    // What is masked already (`***`, `*** (changed)`) is left as it is.
    spans.retain(|(a, b)| a < b && !text[*a..*b].starts_with(MASK));
    spans.sort_unstable();
    spans
}

/// Collects, as text, every credential value inside `v` found by its place (all the scalars
/// below a credential-named member or a credential pair's value) or spelled out in a string (what [`mask_text`] masks): the values to mask
/// wherever else the same asset's texts may carry them — a hook's log or error, a field a
/// hook copied one into.
pub fn collect(v: &Value, out: &mut Vec<String>) {
    let all = collect_all;
    match v {
        Value::Object(map) => {
            let pair = is_credential_pair(map);
            for (k, x) in map {
                if is_credential_name(k) || (pair && is_pair_value(k)) {
                    all(x, out);
                } else {
                    collect(x, out);
                }
            }
        }
        // A `[name, value]` pair's value is masked at its place only: such a pair is too
        // easily a list of field names (`["api_key", "username"]`) to mask its words
        // everywhere else.
        Value::Array(items) => items.iter().for_each(|x| collect(x, out)),
        // What a string spells out is masked by value elsewhere only when it is long enough
        // not to be a word (`secrets:read` is a scope, not a password `read`).
        Value::String(s) => out.extend(
            spelled_out(s)
                .into_iter()
                .map(|(a, b)| &s[a..b])
                .filter(|t| t.chars().count() >= 8)
                .map(str::to_string),
        ),
        _ => {}
    }
}

/// Collects, as text, every string and number inside `v` (a value at a credential's place).
pub fn collect_all(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|x| collect_all(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect_all(x, out)),
        Value::Bool(_) | Value::Null => {}
    }
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
                // A user that is not a plain login is often a token (`TOKEN:x-oauth-basic`).
                let from = if plain_login(&userinfo[..colon]) {
                    colon + 1
                } else {
                    0
                };
                spans.push((start + from, start + at));
            }
            None if !userinfo.is_empty()
                && !userinfo.contains(not_user)
                && !plain_login(userinfo) =>
            {
                spans.push((start, start + at));
            }
            _ => {}
        }
    }
}

/// Whether a URL's user looks like a login (`git`, `deploy-bot`, `orders_app`) rather than a
/// token: lower-case letters, digits and `._-`, starting with a letter, at most 32 long.
fn plain_login(user: &str) -> bool {
    user.len() <= 32
        && user.starts_with(|c: char| c.is_ascii_lowercase())
        && user
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

/// Byte spans of the values assigned to credential names in `text`: `Password=…`,
/// `password = …`, `api_key: …`, `"token": "…"`. A value runs to `;`, `&`, `,`, a blank, a
/// quote or a bracket; a quoted one to its closing quote, one in braces (`PWD={…}`) to the
/// closing brace, and an `Authorization` value (a scheme and its parameters) to the end of
/// the line.
fn assignments(text: &str, spans: &mut Vec<(usize, usize)>) {
    let bytes = text.as_bytes();
    let is_key = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    for (i, _) in text.match_indices(['=', ':']) {
        let mut key_end = i;
        while key_end > 0 && matches!(bytes[key_end - 1], b' ' | b'\t') {
            key_end -= 1;
        }
        let quoted_key = key_end > 0 && matches!(bytes[key_end - 1], b'"' | b'\'');
        if quoted_key {
            key_end -= 1;
        }
        let mut key_start = key_end;
        while key_start > 0 && is_key(bytes[key_start - 1]) {
            key_start -= 1;
        }
        let key = &text[key_start..key_end];
        if key.is_empty() || !is_credential_name(key) {
            continue;
        }
        let mut v = i + 1;
        while v < bytes.len() && matches!(bytes[v], b' ' | b'\t') {
            v += 1;
        }
        let rest = &text[v..];
        if rest.starts_with("//") || rest.starts_with("\\/") {
            continue;
        }
        // A quoted key (`"token": …`) is JSON's or YAML's: its value is quoted or a number;
        // prose that quotes a word (`require "secrets": no module`) assigns nothing.
        if quoted_key && !rest.starts_with(|c: char| matches!(c, '"' | '\'') || c.is_ascii_digit())
        {
            continue;
        }
        let (from, len) = if let Some(q) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) {
            (1, rest[1..].find(q).unwrap_or(rest.len() - 1))
        } else if let Some(inside) = rest.strip_prefix('{') {
            (1, inside.find('}').unwrap_or(inside.len()))
        } else if with_folded(key, |k| k.contains("authorization")) {
            (0, rest.find(['\n', '\r']).unwrap_or(rest.len()))
        } else {
            let end = rest.find(|c: char| {
                matches!(c, ';' | '&' | ',' | '"' | '\'' | '}' | ']' | ')') || c.is_whitespace()
            });
            (0, end.unwrap_or(rest.len()))
        };
        spans.push((v + from, v + from + len));
    }
}

/// Byte spans of the bodies of PEM private keys (`-----BEGIN … PRIVATE KEY-----` to
/// `-----END`), in a certificate field or anywhere else.
fn private_keys(text: &str, spans: &mut Vec<(usize, usize)>) {
    for (i, m) in text.match_indices("PRIVATE KEY-----") {
        let start = i + m.len();
        let end = text[start..]
            .find("-----END")
            .map_or(text.len(), |e| start + e);
        spans.push((start, end));
    }
}

/// Byte spans of the text of XML elements named like a credential (`<password>…</`).
fn xml_elements(text: &str, spans: &mut Vec<(usize, usize)>) {
    for (i, _) in text.match_indices('<') {
        let rest = &text[i + 1..];
        let Some(close) = rest.find('>') else { break };
        let tag = &rest[..close];
        if tag.is_empty()
            || tag.len() > 64
            || !tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.'))
            || !is_credential_name(tag)
        {
            continue;
        }
        let start = i + 1 + close + 1;
        if let Some(end) = text[start..].find("</") {
            spans.push((start, start + end));
        }
    }
}

/// Byte spans of the tokens after `Bearer ` or `Basic ` (any case) in `text`: a word with
/// a digit or one of `-._~+/=`, or of 20 characters or more (prose after the word is left).
fn auth_tokens(text: &str, spans: &mut Vec<(usize, usize)>) {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices(['b', 'B']) {
        let Some(scheme) = ["bearer ", "basic "].into_iter().find(|s| {
            bytes
                .get(i..i + s.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(s.as_bytes()))
        }) else {
            continue;
        };
        if i > 0 && bytes[i - 1].is_ascii_alphanumeric() {
            continue;
        }
        let start = i + scheme.len();
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';'))
            .map_or(text.len(), |e| start + e);
        let token = &text[start..end];
        let looks_like_one = token.chars().count() >= 20
            || token.chars().any(|c| {
                c.is_ascii_digit() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/' | '=')
            });
        if !token.is_empty() && looks_like_one {
            spans.push((start, end));
        }
    }
}

/// How an override's value is shown in the plan's list of steps: the mask when the spec marks
/// it secret or it lands on a credential's place in `doc` (a `password` field, a credential
/// pair's value), else the value with the credentials inside it masked. A value shown as the
/// mask also masks the diffs at its place.
pub fn override_shown(value: &Value, secret: bool, pointer: &str, doc: &Value) -> Value {
    if secret || is_secret_place(pointer, [Some(doc), None]) {
        return Value::String(super::MASK.into());
    }
    let mut shown = value.clone();
    mask_inside(&mut shown);
    shown
}

#[cfg(test)]
mod tests;
