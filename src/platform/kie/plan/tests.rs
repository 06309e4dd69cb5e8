use super::*;
use crate::spec::KieMode;

fn kv(key: &str, value: &str, extra: &[(&str, &str)], labels: &[(&str, &str)]) -> KvDoc {
    let labels: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut doc = serde_json::Map::new();
    doc.insert("key".into(), key.into());
    doc.insert("value".into(), value.into());
    for (k, v) in extra {
        doc.insert(k.to_string(), (*v).into());
    }
    doc.insert("labels".into(), serde_json::to_value(&labels).unwrap());
    KvDoc {
        key: key.into(),
        labels,
        doc,
    }
}

fn codes(results: &[UploadResult]) -> Vec<String> {
    results
        .iter()
        .map(|r| match r {
            UploadResult::Created(_) => "created".to_string(),
            UploadResult::Updated { .. } => "updated".to_string(),
            UploadResult::Failed(c, ..) => c.to_string(),
        })
        .collect()
}

#[test]
fn the_three_modes_against_a_target_and_inside_one_upload() {
    let target = vec![kv(
        "a",
        "old",
        &[("value_type", "json"), ("status", "enabled")],
        &[("app", "x")],
    )];
    let items = vec![
        kv("b", "1", &[], &[]),                                     // new
        kv("a", "new", &[("value_type", "yaml")], &[("app", "x")]), // duplicate of the target
        kv("a", "other labels", &[], &[("app", "y")]),              // new: another label set
        kv("b", "2", &[("status", "enabled")], &[]),                // duplicate inside the upload
        kv("c", "3", &[], &[]),                                     // after the duplicates
    ];
    let table = [
        (
            KieMode::Force,
            vec!["created", "updated", "created", "updated", "created"],
        ),
        (
            KieMode::Skip,
            vec!["created", "400004", "created", "400004", "created"],
        ),
        (
            KieMode::Abort,
            vec!["created", "400005", "400005", "400005", "400005"],
        ),
    ];
    for (mode, want) in table {
        let mut state = target.clone();
        let got = upload(&mut state, &items, mode);
        assert_eq!(codes(&got), want, "{mode:?}");
        if mode == KieMode::Force {
            let a = &state[0].doc;
            assert_eq!(a["value"], "new");
            assert_eq!(a["value_type"], "json", "value_type is not updated");
            assert_eq!(a["status"], "disabled", "a missing status means disabled");
            assert_eq!(
                state[1].doc["value_type"], "text",
                "created items default to text"
            );
            assert_eq!(state.len(), 4);
        }
        if mode == KieMode::Abort {
            assert_eq!(state.len(), 2, "what came before the duplicate stays");
        }
    }
}

#[test]
fn an_empty_value_keeps_the_old_one_under_force() {
    let mut state = vec![kv("a", "kept", &[("status", "enabled")], &[])];
    let got = upload(
        &mut state,
        &[kv("a", "", &[("status", "enabled")], &[])],
        KieMode::Force,
    );
    assert_eq!(codes(&got), vec!["updated"]);
    assert_eq!(state[0].doc["value"], "kept");
}

#[test]
fn invalid_items_fail_alone() {
    let seven: Vec<(String, String)> = (0..7).map(|i| (format!("l{i}"), "v".to_string())).collect();
    let seven: Vec<(&str, &str)> = seven
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let items = vec![
        kv("bad key!", "v", &[], &[]),
        kv(&"k".repeat(2049), "v", &[], &[]),
        kv("big", &"v".repeat(131_073), &[], &[]),
        kv("st", "v", &[("status", "on")], &[]),
        kv("vt", "v", &[("value_type", "toml")], &[]),
        kv("labels", "v", &[], &seven),
        kv("fine", "v", &[], &[]),
    ];
    let mut state = Vec::new();
    let got = upload(&mut state, &items, KieMode::Abort);
    assert_eq!(
        codes(&got),
        vec![
            "400001", "400001", "400001", "400001", "400001", "400001", "created"
        ]
    );
}

#[test]
fn the_servers_limits_are_inclusive() {
    let labels = |n: usize| -> Vec<(String, String)> {
        (0..n).map(|i| (format!("l{i}"), "v".to_string())).collect()
    };
    let (six, seven) = (labels(6), labels(7));
    fn refs(l: &[(String, String)]) -> Vec<(&str, &str)> {
        l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
    }
    let enabled = [("status", "enabled")];
    let fits = [
        kv(&"k".repeat(2048), "v", &enabled, &[]),
        kv("big", &"v".repeat(131_072), &enabled, &[]),
        kv("labels", "v", &enabled, &refs(&six)),
    ];
    for item in &fits {
        assert_eq!(validate(item), Ok(()), "{}", item.key.len());
    }
    let over = [
        kv(&"k".repeat(2049), "v", &enabled, &[]),
        kv("big", &"v".repeat(131_073), &enabled, &[]),
        kv("labels", "v", &enabled, &refs(&seven)),
    ];
    for item in &over {
        assert!(validate(item).is_err(), "{}", item.key.len());
    }
}

/// The server's patterns, case by case (`Ok` or the fields its message names).
#[test]
fn items_are_checked_by_the_servers_rules() {
    let enabled: &[(&str, &str)] = &[("status", "enabled")];
    let check = |item: KvDoc| -> Result<(), String> { validate(&item) };
    // Keys: letters and digits, `_ - .` inside only; no colon, no space.
    for ok in ["a", "A9", "orders.db.url", "a_b-c.d", "ab", "123"] {
        assert_eq!(check(kv(ok, "v", enabled, &[])), Ok(()), "{ok}");
    }
    for bad in ["a:b", ".a", "a.", "-", "a b", "é", "a#"] {
        assert_eq!(
            check(kv(bad, "v", enabled, &[])),
            Err(format!(
                "validate failed, field: KVDoc.Key, rule: {}",
                server::KEY_RULE
            )),
            "{bad}"
        );
    }
    assert_eq!(
        check(kv("", "v", enabled, &[])),
        Err("validate failed, field: KVDoc.Key, rule: min = 1".into())
    );
    // Label keys 1..32, values 0..160, framed by letters or digits.
    let k32 = "k".repeat(32);
    let v160 = "v".repeat(160);
    for (k, v) in [
        ("a", ""),
        (k32.as_str(), "x"),
        ("a.b", v160.as_str()),
        ("a-1", "x_y"),
    ] {
        assert_eq!(check(kv("key", "v", enabled, &[(k, v)])), Ok(()), "{k}={v}");
    }
    let k33 = "k".repeat(33);
    let v161 = "v".repeat(161);
    let key_rule = format!("rule: {}", server::LABEL_KEY_RULE);
    let value_rule = format!("rule: {}", server::LABEL_VALUE_RULE);
    for (k, v, rule) in [
        ("", "x", &key_rule),
        (k33.as_str(), "x", &key_rule),
        ("a-", "x", &key_rule),
        ("app", v161.as_str(), &value_rule),
        ("app", "a b", &value_rule),
        ("app", "-x", &value_rule),
    ] {
        let e = check(kv("key", "v", enabled, &[(k, v)])).unwrap_err();
        assert_eq!(
            e,
            format!("validate failed, field: KVDoc.Labels[{k}], {rule}")
        );
    }
    // Several broken fields: one message, in the order of the server's fields.
    let e = check(kv(
        "a:b",
        "v",
        &[("status", "on"), ("value_type", "csv")],
        &[],
    ))
    .unwrap_err();
    assert_eq!(
        e,
        format!(
            "validate failed, field: KVDoc.Key, rule: {} | field: KVDoc.ValueType, rule: {} | field: KVDoc.Status, rule: {}",
            server::KEY_RULE,
            server::VALUE_TYPE_RULE,
            server::STATUS_RULE
        )
    );
    assert_eq!(
        check(kv("k", "v", &[("status", "enabled"), ("check", "é")], &[])),
        Err(format!(
            "validate failed, field: KVDoc.Checker, rule: {}",
            server::CHECK_RULE
        ))
    );
}

#[test]
fn a_duplicate_earlier_in_the_file_is_told_from_one_in_the_target() {
    let enabled: &[(&str, &str)] = &[("status", "enabled")];
    let held = vec![kv("old", "1", enabled, &[])];
    for mode in [KieMode::Skip, KieMode::Abort] {
        let mut state = held.clone();
        let items = [
            kv("new", "1", enabled, &[]),
            kv("new", "2", enabled, &[]),
            kv("old", "2", enabled, &[]),
        ];
        let results = upload(&mut state, &items, mode);
        let hints: Vec<&str> = results
            .iter()
            .map(|r| match r {
                UploadResult::Failed(_, _, hint) => *hint,
                _ => "",
            })
            .collect();
        assert_eq!(hints[0], "");
        assert!(
            hints[1].contains("earlier in this file"),
            "{mode:?}: {}",
            hints[1]
        );
        if mode == KieMode::Skip {
            assert!(hints[2].contains("the target holds"), "{}", hints[2]);
        }
    }
}

/// Boundaries the table above does not reach: `check` up to its maximum, a label key with
/// `-` or `.` inside at 32 characters (33 is over), and `add_label` on an item that already
/// carries the label changes nothing.
#[test]
fn check_and_framed_label_boundaries() {
    let enabled = [("status", "enabled")];
    let at = "c".repeat(server::CHECK_MAX);
    let over = "c".repeat(server::CHECK_MAX + 1);
    assert_eq!(
        validate(&kv("k", "v", &[("status", "enabled"), ("check", &at)], &[])),
        Ok(())
    );
    assert!(
        validate(&kv(
            "k",
            "v",
            &[("status", "enabled"), ("check", &over)],
            &[]
        ))
        .is_err()
    );
    let key32 = format!("a-{}", "b".repeat(30));
    let key33 = format!("a-{}", "b".repeat(31));
    assert_eq!(validate(&kv("k", "v", &enabled, &[(&key32, "x")])), Ok(()));
    assert!(validate(&kv("k", "v", &enabled, &[(&key33, "x")])).is_err());
    let mut item = kv("k", "v", &enabled, &[("env", "prod")]);
    assert!(!server::add_label(&mut item.doc, "env", "prod"));
    assert!(server::add_label(&mut item.doc, "env", "test"));
}
