//! `hoist verify`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::archive::Limits;
use crate::error::{Error, exit};
use crate::package::verify::{VerifyReport, verify};

pub fn run(packages: &[PathBuf], json: bool, limits: &Limits) -> Result<ExitCode, Error> {
    let mut worst = exit::OK;
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for path in packages {
        match verify(path, limits, crate::platform::LAYOUTS) {
            Ok(r) => {
                if !r.is_clean() {
                    worst = worst.max(exit::FAILED);
                }
                reports.push(r);
            }
            Err(e) => {
                note!("error[{}]: {e}", e.code());
                errors.push(serde_json::json!({"package": path.display().to_string(), "code": e.code(), "message": e.to_string()}));
                worst = exit::BAD_INPUT;
            }
        }
    }
    let text = if json {
        let mut s = serde_json::to_string_pretty(
            &serde_json::json!({"packages": reports, "errors": errors}),
        )
        .expect("serialisable");
        s.push('\n');
        s
    } else {
        reports.iter().map(human).collect()
    };
    if json {
        super::print_json(&text)?;
    } else {
        super::print_out(&text)?;
    }
    Ok(ExitCode::from(worst))
}

fn human(r: &VerifyReport) -> String {
    if r.is_clean() {
        return format!(
            "{}: ok ({} entries match the {} manifest)\n",
            r.package, r.checked, r.manifest
        );
    }
    let mut s = format!(
        "{}: {} problem{} in {} asset{}\n",
        r.package,
        r.problem_count(),
        if r.problem_count() == 1 { "" } else { "s" },
        r.assets.len(),
        if r.assets.len() == 1 { "" } else { "s" }
    );
    for (asset, problems) in &r.assets {
        s.push_str(&format!("  {asset}\n"));
        for p in problems {
            s.push_str(&format!("    {:<10} {}", p.problem.word(), p.entry));
            if !p.detail.is_empty() {
                s.push_str(&format!("  ({})", p.detail));
            }
            s.push('\n');
        }
    }
    s
}
