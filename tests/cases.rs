//! One folder per CLI case under `tests/cases/`: the command, its inputs, and what it must
//! print and write, compared exactly. Each folder is one test (listed in `cases!` below), so
//! a failure names its case. The repository's `scripts/` are copied beside every case's
//! inputs. `HOIST_BLESS=1 cargo test --test cases` rewrites the expectations; review the diff
//! before committing it.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

fn cases_dir() -> PathBuf {
    common::repo().join("tests/cases")
}

/// Every file under `root`, ZIP files opened up as `name.zip/<entry>`.
fn outputs(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if !root.exists() {
        return out;
    }
    for (rel, bytes) in common::tree(root) {
        if rel.ends_with(".zip") {
            let mut ar = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
            for i in 0..ar.len() {
                let mut f = ar.by_index(i).unwrap();
                let mut data = Vec::new();
                f.read_to_end(&mut data).unwrap();
                out.insert(format!("{rel}/{}", f.name().unwrap()), data);
            }
        } else {
            out.insert(rel, bytes);
        }
    }
    out
}

fn read_opt(p: &Path) -> Option<String> {
    fs::read_to_string(p).ok()
}

fn run_case(case: &Path) -> Result<(), String> {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let work = common::tmp();
    // Cases run the repository's example scripts, not copies of them.
    common::copy_tree(
        &common::repo().join("scripts"),
        &work.path().join("scripts"),
    );
    for (rel, bytes) in common::tree(case) {
        if rel.starts_with("expected/") {
            continue;
        }
        let dest = work.path().join(&rel);
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::write(dest, bytes).unwrap();
    }
    let cmd = read_opt(&case.join("cmd")).unwrap_or_else(|| "apply spec.yaml".into());
    let mut command = Command::new(env!("CARGO_BIN_EXE_hoist"));
    command
        .args(cmd.split_whitespace())
        .current_dir(work.path())
        .env("NO_COLOR", "1");
    for line in read_opt(&case.join("env"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let (k, v) = line.split_once('=').expect("env lines are KEY=VALUE");
        command.env(k, v);
    }
    let result = command.output().unwrap();
    let code = result.status.code().unwrap_or(-1).to_string();
    let stdout = String::from_utf8_lossy(&result.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    let actual_out = outputs(&work.path().join("out"));
    let expected = case.join("expected");
    if std::env::var_os("HOIST_BLESS").is_some() {
        let _ = fs::remove_dir_all(&expected);
        fs::create_dir_all(&expected).unwrap();
        fs::write(expected.join("exit_code"), format!("{code}\n")).unwrap();
        fs::write(expected.join("stdout"), &stdout).unwrap();
        fs::write(expected.join("stderr"), &stderr).unwrap();
        for (rel, bytes) in &actual_out {
            let dest = expected.join("out").join(rel);
            fs::create_dir_all(dest.parent().unwrap()).unwrap();
            fs::write(dest, bytes).unwrap();
        }
        return Ok(());
    }
    let mut problems = Vec::new();
    let want_code = read_opt(&expected.join("exit_code")).ok_or(format!(
        "{name}: no expected/exit_code; run with HOIST_BLESS=1"
    ))?;
    if want_code.trim() != code {
        problems.push(format!("exit code {code}, expected {}", want_code.trim()));
    }
    for (label, got, file) in [("stdout", &stdout, "stdout"), ("stderr", &stderr, "stderr")] {
        let want = read_opt(&expected.join(file)).unwrap_or_default();
        if &want != got {
            problems.push(format!(
                "{label} differs\n--- expected\n{want}\n--- actual\n{got}"
            ));
        }
    }
    let want_out = outputs(&expected.join("out"));
    for (rel, bytes) in &want_out {
        match actual_out.get(rel) {
            None => problems.push(format!("missing output {rel}")),
            Some(b) if b != bytes => problems.push(format!(
                "output {rel} differs\n--- expected\n{}\n--- actual\n{}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(b)
            )),
            _ => {}
        }
    }
    for rel in actual_out.keys().filter(|k| !want_out.contains_key(*k)) {
        problems.push(format!("unexpected output {rel}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("case {name}:\n{}", problems.join("\n")))
    }
}

/// One test per case folder, so that a failure names its case and cases run in parallel.
macro_rules! cases {
    ($($test:ident => $folder:literal,)*) => {
        $(
            #[test]
            fn $test() {
                if let Err(e) = run_case(&cases_dir().join($folder)) {
                    panic!("{e}");
                }
            }
        )*

        /// Every case folder, as listed above.
        const LISTED: &[&str] = &[$($folder),*];
    };
}

cases! {
    enebular_privatenode_broken => "enebular-privatenode-broken",
    enebular_hook_test_files => "enebular-hook-test-files",
    enebular_hook_json_edit => "enebular-hook-json-edit",
    enebular_flow_uses_node => "enebular-flow-uses-node",
    enebular_flow_node_unselected => "enebular-flow-node-unselected",
    kie_upload_yaml => "kie-upload-yaml",
    enebular_tags => "enebular-tags",
    enebular_titles => "enebular-titles",
    enebular_spec_refused => "enebular-spec-refused",
    kie_abort_renamed => "kie-abort-renamed",
    override_add => "override-add",
    override_add_refused => "override-add-refused",
    kie_add => "kie-add",
    kie_rename_collision => "kie-rename-collision",
    plan_masks_shapes => "plan-masks-shapes",
    plan_masks_hook_outputs => "plan-masks-hook-outputs",
    hook_test_masks => "hook-test-masks",
    plan_masks_secret_place => "plan-masks-secret-place",
    plan_masks_merged_secret_place => "plan-masks-merged-secret-place",
    plan_masks_on_conflict => "plan-masks-on-conflict",
    kie_masks_labels => "kie-masks-labels",
    spec_error_masks_secret => "spec-error-masks-secret",
    hook_conflict_name => "hook-conflict-name",
    diff_secret_places => "diff-secret-places",
    plan_masks_credentials => "plan-masks-credentials",
    plan_masks_hook_edits => "plan-masks-hook-edits",
    kie_hooks_refused => "kie-hooks-refused",
    kie_plan_json => "kie-plan-json",
    kie_override_unmatched => "kie-override-unmatched",
    plan_drift => "plan-drift",
    diff_drift => "diff-drift",
    diff_same => "diff-same",
    plan_grouped_warnings => "plan-grouped-warnings",
    plan_markdown => "plan-markdown",
    plan_summary => "plan-summary",
    json_errors => "json-errors",
    json_usage_error => "json-usage-error",
    plan_diff => "plan-diff",
    plan_diff_masking => "plan-diff-masking",
    plan_duplicate_key => "plan-duplicate-key",
    apply_unchanged_mixed => "apply-unchanged-mixed",
    plan_unchanged => "plan-unchanged",
    env_default => "env-default",
    env_default_unknown => "env-default-unknown",
    env_missing => "env-missing",
    apig_duplicates => "apig-duplicates",
    apig_group_rename => "apig-group-rename",
    apig_import => "apig-import",
    apig_merge => "apig-merge",
    conflict_abort => "conflict-abort",
    conflict_policies => "conflict-policies",
    dangling_reference => "dangling-reference",
    declared_kind => "declared-kind",
    declared_kind_errors => "declared-kind-errors",
    declared_kind_export => "declared-kind-export",
    dry_run => "dry-run",
    enebular_hash_changed => "enebular-hash-changed",
    enebular_needs_master => "enebular-needs-master",
    enebular_no_files => "enebular-no-files",
    enebular_no_versions => "enebular-no-versions",
    enebular_privatenode_exists => "enebular-privatenode-exists",
    enebular_promote => "enebular-promote",
    enebular_promote_missing => "enebular-promote-missing",
    enebular_same_name => "enebular-same-name",
    enebular_sourcecode_hook_test => "enebular-sourcecode-hook-test",
    enebular_sourcecode_in_errors => "enebular-sourcecode-in-errors",
    enebular_sourcecode_masked => "enebular-sourcecode-masked",
    env_unset => "env-unset",
    hook_abuse => "hook-abuse",
    hook_authorizer_on_conflict => "hook-authorizer-on-conflict",
    hook_authorizer_prefix => "hook-authorizer-prefix",
    hook_drop_debug => "hook-drop-debug",
    hook_json_faithful => "hook-json-faithful",
    hook_noop_byte_for_byte => "hook-noop-byte-for-byte",
    hook_team_tags => "hook-team-tags",
    kie_abort => "kie-abort",
    kie_force => "kie-force",
    kie_label_and_rename => "kie-label-and-rename",
    kie_skip => "kie-skip",
    kie_diff => "kie-diff",
    kie_unchanged => "kie-unchanged",
    kie_list_snapshot => "kie-list-snapshot",
    kie_list_page => "kie-list-page",
    multi_package_glob => "multi-package-glob",
    on_error_abort => "on-error-abort",
    override_missing_path => "override-missing-path",
    edit_keeps_spelling => "edit-keeps-spelling",
    override_select => "override-select",
    override_select_unmatched => "override-select-unmatched",
    output_name_shard_report => "output-name-shard-report",
    override_unmatched => "override-unmatched",
    overrides => "overrides",
    plan_exit_code => "plan-exit-code",
    plan_human => "plan-human",
    plan_masks_secrets => "plan-masks-secrets",
    platform_spec_errors => "platform-spec-errors",
    rename_collision => "rename-collision",
    rename_rules => "rename-rules",
    roma_api_path => "roma-api-path",
    roma_api_path_renamed_group => "roma-api-path-renamed-group",
    roma_append => "roma-append",
    roma_authorizer_unique => "roma-authorizer-unique",
    roma_datasource_id => "roma-datasource-id",
    roma_export => "roma-export",
    roma_export_limit => "roma-export-limit",
    roma_export_task => "roma-export-task",
    roma_export_task_id => "roma-export-task-id",
    roma_export_all => "roma-export-all",
    roma_export_app => "roma-export-app",
    roma_export_unknown_app => "roma-export-unknown-app",
    roma_function_backend => "roma-function-backend",
    roma_mode_with_default => "roma-mode-with-default",
    roma_override_data_sources => "roma-override-data-sources",
    roma_overwrite => "roma-overwrite",
    roma_task_prefix => "roma-task-prefix",
    roma_unportable => "roma-unportable",
    roma_vpc_channel_rename => "roma-vpc-channel-rename",
    select_kinds_names_labels => "select-kinds-names-labels",
    spec_three_mistakes => "spec-three-mistakes",
    strip => "strip",
    versions => "versions",
    with_dependencies => "with-dependencies",
}

/// A case folder nobody listed would never run: every folder is listed, and every listed
/// folder exists.
#[test]
fn every_case_folder_is_listed() {
    let mut folders: Vec<String> = fs::read_dir(cases_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let listed: Vec<String> = LISTED.iter().map(|s| s.to_string()).collect();
    let missing: Vec<&String> = folders.iter().filter(|f| !listed.contains(f)).collect();
    assert!(
        missing.is_empty(),
        "add each to the cases! list in tests/cases.rs: {}",
        missing
            .iter()
            .map(|f| format!("{} => \"{f}\",", f.replace('-', "_")))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let gone: Vec<&String> = listed.iter().filter(|f| !folders.contains(f)).collect();
    assert!(gone.is_empty(), "listed but not in tests/cases: {gone:?}");
}
