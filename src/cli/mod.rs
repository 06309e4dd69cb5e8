//! The command line: argument definitions and one module per command.

mod drift;
mod export;
pub mod help;
mod hook;
mod init;
mod inspect;
mod markdown;
mod pack;
mod plan;
mod render;
pub mod table;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::error::Error;
use crate::package::{Layout, Limits};

/// Promote exported integration assets between environments, deterministically.
#[derive(Debug, Parser)]
#[command(
    name = "hoist",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("HOIST_COMMIT"), ")"),
    about,
    max_term_width = 100
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Worker threads (default: one per core).
    #[arg(long, global = true, value_name = "N")]
    pub jobs: Option<usize>,
    /// Most entries a package may hold.
    #[arg(long, global = true, value_name = "N", default_value_t = Limits::default().max_entries)]
    pub max_entries: u64,
    /// Most bytes a package may inflate to (suffixes K, M, G accepted).
    #[arg(long, global = true, value_name = "BYTES", value_parser = parse_bytes, default_value = "32G")]
    pub max_total_size: u64,
    /// Highest inflate ratio accepted for an entry over 1 MiB.
    #[arg(long, global = true, value_name = "N", default_value_t = Limits::default().max_ratio)]
    pub max_ratio: u64,
    /// Print less: `plan` and `apply` print their errors and the summary line only, and no
    /// progress line is drawn.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: `plan` shows every change of every asset and every changed line of a
    /// payload file, `apply` every warning and hook log line.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

impl Global {
    /// The limits these options ask for.
    pub fn limits(&self) -> Limits {
        Limits {
            max_entries: self.max_entries,
            max_total_size: self.max_total_size,
            max_ratio: self.max_ratio,
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List a package's assets: kinds, names, versions, sizes, labels, references.
    Inspect {
        /// A ZIP file or a directory.
        package: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// The layout (hoist, enebular, kie or apig), when it should not be detected.
        #[arg(long, value_name = "LAYOUT")]
        layout: Option<Layout>,
    },
    /// Check packages against the sha256 digests in their manifest.
    Verify {
        /// ZIP files or directories.
        #[arg(required = true)]
        packages: Vec<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show how package B differs from package A, field by field (e.g. the merged state the
    /// last promotion wrote against a fresh export of the platform).
    Diff {
        /// The package compared against (e.g. `out/merged.zip`).
        a: PathBuf,
        /// The package compared (e.g. a fresh export).
        b: PathBuf,
        /// Read both as this layout (hoist, enebular, kie or apig; default: found from the
        /// first).
        #[arg(long, value_name = "LAYOUT")]
        layout: Option<Layout>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Exit 3 when the packages differ (0 when they do not).
        #[arg(long)]
        exit_code: bool,
    },
    /// Export apps and tasks (or all of them) from an instance package into a new package.
    Export {
        /// The instance package (hoist layout).
        package: PathBuf,
        /// The package to write: a `.zip` file, else a directory.
        #[arg(short, long, visible_alias = "out", value_name = "OUT")]
        output: PathBuf,
        /// An app to export (repeatable).
        #[arg(long = "app", value_name = "NAME")]
        apps: Vec<String>,
        /// A data-integration task to export, with its data sources, by name or id
        /// (repeatable).
        #[arg(long = "task", value_name = "NAME")]
        tasks: Vec<String>,
        /// Every asset of the package, as the platform's Export All.
        #[arg(long, conflicts_with_all = ["apps", "tasks"])]
        all: bool,
        /// With every API of the selected apps, and what those APIs use.
        #[arg(long)]
        with_apis: bool,
        /// A spec whose `kinds:` declarations the export follows too (references and
        /// owners of kinds hoist does not know).
        #[arg(long, value_name = "SPEC")]
        kinds_from: Option<PathBuf>,
        /// Replace OUT if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Pack a directory into a deterministic ZIP with a manifest.
    Pack {
        /// The directory.
        dir: PathBuf,
        /// The ZIP file to write.
        #[arg(short, long, visible_alias = "out", value_name = "ZIP")]
        output: PathBuf,
        /// The layout (hoist, enebular, kie or apig), when it should not be detected.
        #[arg(long, value_name = "LAYOUT")]
        layout: Option<Layout>,
        /// Accept edits made since the directory's hoist.json was written, and rehash.
        #[arg(long)]
        rehash: bool,
    },
    /// Show what applying a spec would do, for review.
    Plan {
        /// The spec file.
        spec: PathBuf,
        /// The environment (a key of the spec's `environments`).
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        /// Print JSON instead of text (the same as `--format json`).
        #[arg(long)]
        json: bool,
        /// How to print the plan: `text` (default), `json`, or `markdown` (for a pull-request
        /// comment: a summary table and one collapsible section per package).
        #[arg(long, value_name = "FORMAT", value_enum)]
        format: Option<PlanFormat>,
        /// Print only the counts per package and kind, the warnings by code and the summary.
        #[arg(long)]
        summary: bool,
        /// Save the plan, for `hoist apply PLAN.json`.
        #[arg(short, long, visible_alias = "out", value_name = "PLAN.json")]
        output: Option<PathBuf>,
        /// Exit 3 when the plan creates or overwrites anything (0 when it changes nothing).
        #[arg(long)]
        exit_code: bool,
    },
    /// Carry out a spec, or a plan saved with `hoist plan -o` (refused if any input changed).
    Apply {
        /// A spec file, or a saved plan (`.json`).
        input: PathBuf,
        /// The environment (a key of the spec's `environments`).
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        /// Compute and compress everything, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Write outputs here instead of the spec's output folder.
        #[arg(
            short = 'o',
            long = "output",
            visible_alias = "out",
            value_name = "DIR"
        )]
        out: Option<PathBuf>,
        /// Write only part I of N of the outputs (planning stays whole), e.g. on one runner
        /// of a CI matrix; the parts together are one apply's outputs.
        #[arg(long, value_name = "I/N", value_parser = crate::engine::Shard::parse)]
        shard: Option<crate::engine::Shard>,
    },
    /// Write a commented starter spec.
    Init {
        /// Where to write it.
        #[arg(default_value = "hoist.yaml")]
        path: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print a JSON Schema: of specs (default), plans, reports, errors or diffs.
    Schema {
        /// Which document.
        #[arg(value_enum, default_value = "spec")]
        what: SchemaOf,
    },
    /// Write and try Lua hook scripts.
    #[command(subcommand)]
    Hook(HookCommand),
    /// Explain an error or warning code: what it means, a typical cause, the fix.
    Explain {
        /// The code, as printed in `error[CODE]` or `[CODE]` (e.g. `spec.unknown_kind`).
        code: String,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one per command into a folder.
    Man {
        /// Write `hoist.1` and `hoist-COMMAND.1` for every command into this folder.
        #[arg(short, long, visible_alias = "out", value_name = "DIR")]
        output: Option<PathBuf>,
    },
    /// Extract a ZIP safely into a directory.
    Unpack {
        /// The ZIP file.
        zip: PathBuf,
        /// The directory to create.
        #[arg(short, long, visible_alias = "out", value_name = "DIR")]
        output: PathBuf,
        /// Replace the directory if it is not empty.
        #[arg(long)]
        force: bool,
    },
}

/// `hoist hook …`.
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Run a script's hooks on one asset and show what they do.
    Test {
        /// The Lua script.
        script: PathBuf,
        /// The package holding the asset.
        #[arg(long, value_name = "PKG")]
        package: PathBuf,
        /// The asset: KIND/NAME or KIND/NAME@VERSION.
        #[arg(long, value_name = "KIND/NAME[@VERSION]")]
        asset: String,
        /// A target snapshot, for ctx.target and on_conflict's `existing`.
        #[arg(long, value_name = "PKG")]
        target: Option<PathBuf>,
        /// ctx.env.
        #[arg(long, value_name = "NAME")]
        env: Option<String>,
        /// ctx.vars entries.
        #[arg(long = "var", value_name = "KEY=VALUE", value_parser = parse_var)]
        vars: Vec<(String, String)>,
        /// ctx.seed.
        #[arg(long, default_value = "hook-test")]
        seed: String,
    },
    /// Write hoist.d.lua, the LuaLS annotations of the hook API, for editors.
    Types {
        /// The folder to write it to.
        #[arg(
            short,
            long,
            visible_alias = "out",
            value_name = "DIR",
            default_value = "."
        )]
        output: PathBuf,
    },
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{text:?}: expected KEY=VALUE"))
}

fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 10),
        Some((i, 'M' | 'm')) => (&t[..i], 20),
        Some((i, 'G' | 'g')) => (&t[..i], 30),
        Some((i, 'T' | 't')) => (&t[..i], 40),
        _ => (t, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 512M or 32G"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// Writes output to stdout: with every secret met so far masked, and, unless it is JSON (which
/// escapes control characters itself), with control characters from packages, specs and
/// scripts shown as escapes rather than acted on by the terminal.
fn print_as(text: &str, json: bool) -> Result<(), Error> {
    use std::io::Write;
    let masked = crate::secrets::scrub(text);
    let shown = if json {
        masked
    } else {
        std::borrow::Cow::Owned(crate::text::for_terminal(&masked).into_owned())
    };
    std::io::stdout()
        .lock()
        .write_all(shown.as_bytes())
        .map_err(stdout_failed)
}

/// Writing to stdout failed.
fn stdout_failed(e: std::io::Error) -> Error {
    Error::Io {
        path: "<stdout>".into(),
        action: "cannot write",
        source: e,
    }
}

/// Writes `value` to stdout as pretty JSON as it is serialised, masked as [`print_as`] masks
/// JSON: a plan or a report of a large run is a hundred megabytes of text, which need not be
/// held whole. The text is masked a piece at a time, each piece ending at a line break; no
/// string of JSON text holds a raw line break, and a secret holding one makes the whole text
/// one piece, as before.
fn print_json_of<T: serde::Serialize>(value: &T) -> Result<(), Error> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = LineMasked::new(stdout.lock(), false);
    let written = serde_json::to_writer_pretty(&mut out, value)
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.finish());
    written.map_err(stdout_failed)
}

/// Writes human output to stdout as `make` hands it on, in pieces that each end at a line
/// break, each masked and made safe for a terminal as [`print_as`] does the whole (a secret
/// holding a line break makes the whole text one piece).
fn print_pieces(
    make: impl FnOnce(&mut dyn FnMut(&str) -> std::io::Result<()>) -> std::io::Result<()>,
) -> Result<(), Error> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = LineMasked::new(stdout.lock(), true);
    make(&mut |piece| out.write_all(piece.as_bytes()))
        .and_then(|()| out.finish())
        .map_err(stdout_failed)
}

/// Text passed on masked ([`crate::secrets::scrub`]), and made safe for a terminal when it is
/// shown to people, in pieces that end at a line break.
struct LineMasked<W: std::io::Write> {
    out: W,
    held: Vec<u8>,
    /// Where the last line break in `held` is, found in each write's own bytes (a long line
    /// arrives in many small writes: `held` is never searched again).
    last_break: Option<usize>,
    /// How much is held before the lines in it are passed on.
    piece: usize,
    /// Hold everything to the end (a secret holds a line break).
    whole: bool,
    /// Escape what a terminal would act on ([`crate::text::for_terminal`]).
    terminal: bool,
}

/// How much text is held before the lines in it are masked and passed on.
const MASK_PIECE: usize = 256 << 10;

impl<W: std::io::Write> LineMasked<W> {
    /// Text for `out`, buffered; `terminal` when it is shown to people rather than JSON.
    fn new(out: W, terminal: bool) -> LineMasked<std::io::BufWriter<W>> {
        LineMasked {
            out: std::io::BufWriter::with_capacity(64 << 10, out),
            held: Vec::new(),
            last_break: None,
            piece: MASK_PIECE,
            whole: crate::secrets::remembered_span_lines(),
            terminal,
        }
    }

    /// Masks and passes on `held[..end]`, which ends at a line break or at the end.
    fn pass(&mut self, end: usize) -> std::io::Result<()> {
        let text = std::str::from_utf8(&self.held[..end])
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let masked = crate::secrets::scrub(text);
        let shown = if self.terminal {
            crate::text::for_terminal(&masked)
        } else {
            masked
        };
        self.out.write_all(shown.as_bytes())?;
        self.held.drain(..end);
        Ok(())
    }

    /// Passes on what is left and flushes.
    fn finish(&mut self) -> std::io::Result<()> {
        self.pass(self.held.len())?;
        self.out.flush()
    }
}

impl<W: std::io::Write> std::io::Write for LineMasked<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(at) = memchr::memrchr(b'\n', buf) {
            self.last_break = Some(self.held.len() + at);
        }
        self.held.extend_from_slice(buf);
        if !self.whole
            && self.held.len() >= self.piece
            && let Some(at) = self.last_break.take()
        {
            self.pass(at + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes human output to stdout (see [`print_as`]).
fn print_out(text: &str) -> Result<(), Error> {
    print_as(text, false)
}

/// Writes JSON output to stdout (see [`print_as`]).
fn print_json(text: &str) -> Result<(), Error> {
    print_as(text, true)
}

/// What `--json` prints when a command fails.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub struct ErrorsJson {
    /// Format of this document.
    pub format: u32,
    /// The exit code of the command.
    pub exit_code: u8,
    /// Every error, in the order found.
    pub errors: Vec<crate::error::ErrorEntry>,
}

/// Format of the JSON `--json` prints when a command fails.
pub const ERRORS_FORMAT: u32 = 1;

/// A failed command as JSON, for `--json`: `{"format", "exit_code", "errors": [{code,
/// message, file, line, column, help}]}`, with every secret met masked.
pub fn error_json(e: &Error) -> String {
    let value = ErrorsJson {
        format: ERRORS_FORMAT,
        exit_code: e.exit_code(),
        errors: e.diagnostics(),
    };
    let mut text = serde_json::to_string_pretty(&value).expect("errors serialise");
    text.push('\n');
    crate::secrets::scrub(&text).into_owned()
}

/// The documents `hoist schema` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchemaOf {
    /// A spec file.
    Spec,
    /// `hoist plan --json` and saved plans.
    Plan,
    /// `report.json`.
    Report,
    /// What `--json` prints when a command fails.
    Errors,
    /// `hoist diff --json`.
    Diff,
}

/// How `hoist plan` prints a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    /// For people at a terminal.
    Text,
    /// The plan value (versioned; see docs/formats.md).
    Json,
    /// A pull-request comment.
    Markdown,
}

impl Cli {
    /// Whether the command asked for JSON output (`--json`).
    pub fn wants_json(&self) -> bool {
        matches!(
            &self.command,
            Command::Inspect { json: true, .. }
                | Command::Verify { json: true, .. }
                | Command::Diff { json: true, .. }
                | Command::Plan { json: true, .. }
                | Command::Plan {
                    format: Some(PlanFormat::Json),
                    ..
                }
                | Command::Apply { json: true, .. }
        )
    }
}

/// A line for stderr, made safe as stdout is: secrets masked, control characters escaped.
pub fn for_stderr(text: &str) -> String {
    crate::secrets::for_people(text)
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = cli.global.jobs {
        if n == 0 {
            return Err(Error::Usage("--jobs must be at least 1".into()));
        }
        pool = pool.num_threads(n);
    }
    let pool = pool
        .build()
        .map_err(|e| Error::Usage(format!("cannot start worker threads: {e}")))?;
    pool.install(|| dispatch(cli))
}

fn dispatch(cli: Cli) -> Result<ExitCode, Error> {
    let limits = cli.global.limits();
    render::set_detail(if cli.global.quiet {
        render::Detail::Quiet
    } else if cli.global.verbose {
        render::Detail::Verbose
    } else {
        render::Detail::Normal
    });
    if cli.global.quiet {
        crate::progress::silence();
    }
    match cli.command {
        Command::Inspect {
            package,
            json,
            layout,
        } => inspect::run(&package, json, layout, &limits),
        Command::Verify { packages, json } => verify::run(&packages, json, &limits),
        Command::Diff {
            a,
            b,
            layout,
            json,
            exit_code,
        } => drift::run(&a, &b, layout, json, exit_code, &limits),
        Command::Export {
            package,
            output,
            apps,
            tasks,
            all,
            with_apis,
            kinds_from,
            force,
        } => export::run(
            &package,
            &output,
            &export::Choice {
                apps,
                tasks,
                all,
                with_apis,
                kinds_from,
            },
            force,
            &limits,
        ),
        Command::Pack {
            dir,
            output,
            layout,
            rehash,
        } => pack::pack(&dir, &output, layout, rehash, &limits),
        Command::Unpack { zip, output, force } => pack::unpack(&zip, &output, force, &limits),
        Command::Plan {
            spec,
            env,
            json,
            format,
            summary,
            output,
            exit_code,
        } => {
            let format = match (json, format) {
                (true, Some(f)) if f != PlanFormat::Json => {
                    return Err(Error::Usage(
                        "--json and --format are two ways of choosing; give one".into(),
                    ));
                }
                (true, _) => PlanFormat::Json,
                (false, f) => f.unwrap_or(PlanFormat::Text),
            };
            let shown = plan::Shown { format, summary };
            plan::plan(&spec, env, shown, output.as_deref(), exit_code, &limits)
        }
        Command::Apply {
            input,
            env,
            dry_run,
            json,
            out,
            shard,
        } => plan::apply(&input, env, dry_run, json, out, shard, &limits),
        Command::Init { path, force } => init::init(&path, force),
        Command::Explain { code } => help::explain(&code),
        Command::Completions { shell } => help::completions(shell),
        Command::Man { output } => help::man(output.as_deref()),
        Command::Schema { what } => init::schema(what),
        Command::Hook(HookCommand::Test {
            script,
            package,
            asset,
            target,
            env,
            vars,
            seed,
        }) => hook::test(
            hook::TestArgs {
                script: &script,
                package: &package,
                asset: &asset,
                target: target.as_deref(),
                env,
                vars,
                seed,
            },
            &limits,
        ),
        Command::Hook(HookCommand::Types { output }) => hook::types(&output),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_bytes("512"), Ok(512));
        assert_eq!(parse_bytes("2K"), Ok(2048));
        assert_eq!(parse_bytes("32G"), Ok(32 << 30));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("99999999999T").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    /// Text masked a piece at a time reads as the whole masked at once, whatever the pieces:
    /// secrets at the ends of pieces, on lines of their own, inside longer values and after a
    /// line longer than a piece; and a secret holding a line break (which pieces could cut)
    /// makes the text one piece.
    #[test]
    fn text_masked_line_by_line_is_the_whole_text_masked() {
        use std::io::Write;
        let mut secrets = crate::secrets::Secrets::new();
        secrets.add("piece-secret-7Qz");
        crate::secrets::remember(&secrets);
        let text: String = (0..400)
            .map(|i| match i % 3 {
                0 => "  \"v\": \"piece-secret-7Qz\",\n".to_string(),
                1 => format!("  \"w{i}\": \"xpiece-secret-7Qzx piece-secret-7Qz\"\n"),
                _ => format!("{i}\n"),
            })
            .collect();
        let whole = crate::secrets::scrub(&text).into_owned();
        assert!(!whole.contains("piece-secret-7Qz"));
        for piece in [1, 7, 16, 100, 4096] {
            for chunk in [1, 3, 64] {
                let mut m = LineMasked {
                    out: Vec::new(),
                    held: Vec::new(),
                    last_break: None,
                    piece,
                    whole: false,
                    terminal: false,
                };
                for part in text.as_bytes().chunks(chunk) {
                    m.write_all(part).unwrap();
                }
                m.finish().unwrap();
                assert_eq!(String::from_utf8(m.out).unwrap(), whole, "{piece} {chunk}");
            }
        }
        // A line far longer than a piece, arriving two bytes at a time (as the serialiser
        // writes an escaped string), then a secret: held until its line ends.
        let long = format!(
            "{}piece-secret-7Qz\"\nend piece-secret-7Qz\n",
            "\\\"".repeat(200_000)
        );
        let mut m = LineMasked {
            out: Vec::new(),
            held: Vec::new(),
            last_break: None,
            piece: 1024,
            whole: false,
            terminal: false,
        };
        for part in long.as_bytes().chunks(2) {
            m.write_all(part).unwrap();
        }
        m.finish().unwrap();
        assert_eq!(
            String::from_utf8(m.out).unwrap(),
            crate::secrets::scrub(&long)
        );
        let mut lines = crate::secrets::Secrets::new();
        lines.add("two-line\nsecret-Kq9");
        crate::secrets::remember(&lines);
        assert!(crate::secrets::remembered_span_lines());
    }
}
