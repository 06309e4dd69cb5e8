//! The `hoist` command: parses arguments and hands them to the library.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

// Many small documents are parsed, edited and written from several threads at once; mimalloc
// keeps per-thread heaps and costs a fraction of the system allocator here. It is built
// without transparent huge pages (Cargo.toml, feature `no_thp`): with them, pages it frees and
// takes again are cleared 2 MiB at a time, which cost the 100,000-asset apply about 1.5 s of
// system time for no gain in user time (BENCHMARKS.md). It is mimalloc's version 2 (feature
// `v2`): version 3 returns pages it freed to the system only after a second, and a run's
// stages free and take many in that time; on the 100,000-asset apply version 2 peaks about
// 20 MiB lower (plan: 35 MiB) for the same CPU time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match hoist::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let json = cli.wants_json();
    match hoist::run(cli) {
        Ok(code) => code,
        Err(e) => {
            if json {
                // With --json a failure is JSON on stdout too, so a CI job reads one format.
                print!("{}", hoist::cli::error_json(&e));
            } else {
                eprintln!("{}", hoist::cli::for_stderr(&e.render()));
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// A command line clap refuses: a usage error with its code, like every other error
/// (`error[usage]: …`, exit 2; JSON on stdout when `--json` was asked for). Help and the
/// version are printed as clap prints them.
fn usage_error(e: clap::Error) -> ExitCode {
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
    }
    let text = e.render().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text).trim_end();
    let err = hoist::Error::Usage(text.to_string());
    // Read raw: an argument need not be UTF-8 (a file name), and this must not fail.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let json = args.iter().enumerate().any(|(i, a)| {
        a == "--json"
            || a == "--format=json"
            || (a == "--format" && args.get(i + 1).is_some_and(|n| n == "json"))
    });
    if json {
        print!("{}", hoist::cli::error_json(&err));
    } else {
        eprintln!("{}", hoist::cli::for_stderr(&err.render()));
    }
    ExitCode::from(err.exit_code())
}
