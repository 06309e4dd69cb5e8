use super::*;

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
            UploadResult::Failed(c, _) => c.to_string(),
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
