//! `hoist explain`, `hoist completions` and `hoist man`: what a user looks up, generated from
//! the command-line definitions and docs/errors.md so that none of it is written twice.

use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::error::{Error, exit};

/// docs/errors.md: one entry per code, each under a `` ## `CODE` `` heading.
pub const ERRORS_MD: &str = include_str!("../../docs/errors.md");

/// Every code docs/errors.md explains, in its order.
pub fn explained_codes() -> Vec<&'static str> {
    ERRORS_MD
        .lines()
        .filter_map(|l| l.strip_prefix("## `")?.strip_suffix('`'))
        .collect()
}

/// The entry of `code` in docs/errors.md: its heading and text, up to the next entry.
pub fn entry(code: &str) -> Option<&'static str> {
    let heading = format!("## `{code}`\n");
    let start = ERRORS_MD.find(&heading)?;
    let rest = &ERRORS_MD[start..];
    let end = rest[heading.len()..]
        .find("\n## ")
        .map_or(rest.len(), |e| heading.len() + e + 1);
    Some(rest[..end].trim_end())
}

/// `hoist explain CODE`.
pub fn explain(code: &str) -> Result<ExitCode, Error> {
    // As printed: `CODE`, `[CODE]`, `error[CODE]`, `warning[CODE]`.
    let code = code.trim();
    let wanted = code
        .rsplit_once('[')
        .map_or(code, |(_, rest)| rest)
        .trim_end_matches(']');
    let Some(text) = entry(wanted) else {
        let hint = crate::yaml::de::did_you_mean(wanted, explained_codes())
            .map_or_else(String::new, |h| format!("; {h}"));
        return Err(Error::Usage(format!(
            "no code {wanted:?} is known{hint} (docs/errors.md lists them all)"
        )));
    };
    // `## `code`` → the code as a title line; the rest as written.
    let mut out = String::new();
    for line in text.lines() {
        match line.strip_prefix("## ") {
            Some(title) => out.push_str(title.trim_matches('`')),
            None => out.push_str(&line.replace("**", "")),
        }
        out.push('\n');
    }
    super::print_out(&out)?;
    Ok(ExitCode::from(exit::OK))
}

/// `hoist completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode, Error> {
    let mut cmd = super::Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "hoist", &mut buf);
    write_stdout(&buf)?;
    Ok(ExitCode::from(exit::OK))
}

/// `hoist man [-o DIR]`.
pub fn man(output: Option<&Path>) -> Result<ExitCode, Error> {
    let cmd = super::Cli::command();
    let Some(dir) = output else {
        let mut buf = Vec::new();
        render(&cmd, &mut buf)?;
        write_stdout(&buf)?;
        return Ok(ExitCode::from(exit::OK));
    };
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.into(),
        action: "cannot create the folder",
        source,
    })?;
    let mut pages = vec![("hoist.1".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands() {
        let name = format!("hoist-{}", sub.get_name());
        pages.push((format!("{name}.1"), sub.clone().name(name)));
        for inner in sub.get_subcommands() {
            let name = format!("hoist-{}-{}", sub.get_name(), inner.get_name());
            pages.push((format!("{name}.1"), inner.clone().name(name)));
        }
    }
    for (file, page) in &pages {
        let mut buf = Vec::new();
        render(page, &mut buf)?;
        let path = dir.join(file);
        crate::fsutil::write_atomic(&path, &buf).map_err(|source| Error::Io {
            path,
            action: "cannot write the man page",
            source,
        })?;
    }
    super::print_out(&format!(
        "wrote {} man pages into {}\n",
        pages.len(),
        dir.display()
    ))?;
    Ok(ExitCode::from(exit::OK))
}

fn render(cmd: &clap::Command, buf: &mut Vec<u8>) -> Result<(), Error> {
    clap_mangen::Man::new(cmd.clone())
        .render(buf)
        .map_err(|source| Error::Io {
            path: "<man page>".into(),
            action: "cannot render",
            source,
        })
}

fn write_stdout(bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    std::io::stdout()
        .lock()
        .write_all(bytes)
        .map_err(|source| Error::Io {
            path: "<stdout>".into(),
            action: "cannot write",
            source,
        })
}
