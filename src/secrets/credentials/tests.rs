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
        "ACCESS-KEY",
        "minio_secret_key",
        "authorization_header",
        "pass",
        "PW",
        "jwt",
        "session_id",
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
        "cookie_path",
        "secretName",
        "passwordless",
        "authorizationScopes",
        "author",
        "authorizer",
        "design",
    ] {
        assert!(!is_credential_name(name), "{name}");
    }
    assert!(text_names_credential("-----BEGIN RSA PRIVATE KEY-----"));
    assert!(text_names_credential("curl -H 'X-Api-Key: k'"));
    assert!(!text_names_credential("paths:\n  /orders: {}\n"));
    assert!(!text_names_credential("a compass wordsmith"));
    assert!(text_names_credential("passWord: x"));
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
            ["Accept", "json"],
            {"ParameterKey": "DbPassword", "ParameterValue": "p"},
            {"header": "X-Api-Key", "value": "k"},
            {"name": "X-Api-Key", "in": "header", "default": "d"},
            ["secrets:read", "admin"]
        ])),
        json!([
            {"Name": "Authorization", "Value": "***"},
            {"Key": "db_password", "Value": "***"},
            {"param_name": "client_secret", "param_value": "***"},
            ["Authorization", "***"],
            {"name": "Accept", "value": "json"},
            ["Accept", "json"],
            {"ParameterKey": "DbPassword", "ParameterValue": "***"},
            {"header": "X-Api-Key", "value": "***"},
            {"name": "X-Api-Key", "in": "header", "default": "***"},
            ["secrets:***", "admin"]
        ])
    );
    // Booleans and null say nothing secret.
    assert_eq!(
        masked(json!({"credentials_required": true, "password": null, "token": 7})),
        json!({"credentials_required": true, "password": null, "token": "***"})
    );
}

#[test]
fn credential_values_are_collected_for_masking_elsewhere() {
    let mut found = Vec::new();
    collect(
        &json!({
            "password": "p-1",
            "db": {"secret": {"a": "s-1", "n": 42}},
            "h": [{"name": "Authorization", "value": "Bearer t-1"}, ["X-Api-Key", "k-1"]],
            "required": ["api_key", "username"],
            "url": "https://u:u-123456@h",
            "scope": "secrets:read",
            "plain": "shown",
            "n": 7
        }),
        &mut found,
    );
    found.sort();
    assert_eq!(found, ["42", "Bearer t-1", "p-1", "s-1", "u-123456"]);
}

#[test]
fn keys_spelling_out_a_credential_are_masked_in_pointers() {
    assert_eq!(
        mask_pointer_keys("/upstreams/https:~1~1u:pw-1@h/weight").as_deref(),
        Some("/upstreams/https:~1~1u:***@h/weight")
    );
    assert_eq!(mask_pointer_keys("/a/b~1c"), None);
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
            "https://ghp_0123456789abcdefghij0123456789abcdef@github.com/x",
            "https://***@github.com/x",
        ),
        (
            "https://Tok3nXYZ:x-oauth-basic@github.com",
            "https://***@github.com",
        ),
        ("HTTPS://U:PW@H/x", "HTTPS://***@H/x"),
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
        ("Authorization: Bearer abcdefgh", "Authorization: ***"),
        ("Authorization: Digest u=\"a\"\nx", "Authorization: ***\nx"),
        ("use bearer abc-def.gh1 here", "use bearer *** here"),
        ("[db]\npassword = pw1\n", "[db]\npassword = ***\n"),
        ("Password='a b';x", "Password='***';x"),
        ("PWD={x;y};z", "PWD={***};z"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----",
            "-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----",
        ),
        (
            "<user>u</user><password>p w</password>",
            "<user>u</user><password>***</password>",
        ),
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
        "Basic authentication is required; Bearer tokens expire",
        "ssh://git@github.com/o/r",
    ] {
        assert_eq!(mask_text(text), None, "{text}");
    }
    // Masking twice changes nothing more.
    assert_eq!(mask_text("https://u:***@h"), None);
}
