//! The `hoist` command: parses arguments and hands them to the library.

use std::process::ExitCode;

use clap::Parser;

// Many small documents are parsed, edited and written from several threads at once; mimalloc
// keeps per-thread heaps and costs a fraction of the system allocator here.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = hoist::Cli::parse();
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
