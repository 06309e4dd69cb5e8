//! `hoist pack` and `hoist unpack`.

use std::path::Path;
use std::process::ExitCode;

use crate::archive::manifest::{MANIFEST_NAME, sidecar_path};
use crate::archive::write::{Format, ManifestMode, OutEntry, write_package};
use crate::error::{Error, exit};
use crate::package::{Layout, Limits, LoadOptions, Package, PackageError, Source, read_manifest};

pub fn pack(
    dir: &Path,
    output: &Path,
    layout: Option<Layout>,
    rehash: bool,
    limits: &Limits,
) -> Result<ExitCode, Error> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!(
            "{}: pack takes a directory; to repack a ZIP, unpack it first",
            dir.display()
        )));
    }
    crate::fsutil::keep_apart(&[crate::fsutil::Protected::new(dir, "input")], &[output])
        .map_err(Error::Usage)?;
    let opts = LoadOptions {
        layouts: crate::platform::LAYOUTS,
        limits: *limits,
        layout,
        hashing: crate::package::Hashing::Content,
    };
    let pkg = Package::load(dir, &opts)?;
    let failures: Vec<_> = pkg
        .failures
        .iter()
        .filter(|f| !(rehash && f.code.starts_with("integrity.")))
        .collect();
    if !failures.is_empty() {
        note!(
            "error: refusing to pack {}: {} asset(s) failed to load",
            dir.display(),
            failures.len()
        );
        for f in &failures {
            note!("  {}  [{}] {}", f.asset, f.code, f.message);
        }
        if failures.iter().any(|f| f.code.starts_with("integrity.")) {
            note!(
                "hint: the directory changed since its manifest was written; pass --rehash to accept the edits"
            );
        }
        return Ok(ExitCode::from(exit::FAILED));
    }
    // Every entry goes in as it is; only the manifest is written anew.
    let entries: Vec<OutEntry> = pkg
        .source
        .entries()
        .iter()
        .filter(|e| e.name != MANIFEST_NAME)
        .map(|e| OutEntry::copy(e.name.clone(), &pkg.source, e.name.clone()))
        .collect();
    let mode = if pkg.io.embeds_manifest() {
        ManifestMode::Embedded
    } else {
        ManifestMode::Sidecar
    };
    let written = write_package(
        output,
        Format::Zip,
        pkg.layout.name(),
        Some(mode),
        entries,
        false,
    )?;
    super::print_out(&format!(
        "packed {} ({} layout, {} assets, {} entries) into {}\n",
        dir.display(),
        pkg.layout,
        pkg.assets.len(),
        written.entries + usize::from(mode == ManifestMode::Embedded),
        output.display()
    ))?;
    Ok(ExitCode::from(exit::OK))
}

pub fn unpack(zip: &Path, output: &Path, force: bool, limits: &Limits) -> Result<ExitCode, Error> {
    let source = std::sync::Arc::new(Source::open(zip, limits)?);
    if !source.is_zip() {
        return Err(Error::Usage(format!(
            "{}: unpack takes a ZIP file",
            zip.display()
        )));
    }
    crate::fsutil::keep_apart(&[crate::fsutil::Protected::new(zip, "input")], &[output])
        .map_err(Error::Usage)?;
    let empty = crate::fsutil::is_missing_or_empty(output).map_err(|e| Error::Io {
        path: output.into(),
        action: "cannot inspect",
        source: e,
    })?;
    if !empty && !force {
        return Err(Error::Package(PackageError::Destination {
            path: output.into(),
            detail: "is not empty; pass --force to replace it".into(),
        }));
    }
    let manifest = read_manifest(&source)?;
    let entries: Vec<OutEntry> = source
        .entries()
        .iter()
        .map(|e| OutEntry::copy(e.name.clone(), &source, e.name.clone()))
        .collect();
    if let Some(m) = &manifest {
        let report = crate::package::verify::verify(zip, limits, crate::platform::LAYOUTS)?;
        if !report.is_clean() {
            note!(
                "error: refusing to unpack {}: it does not match its manifest",
                zip.display()
            );
            for (asset, problems) in &report.assets {
                for p in problems {
                    note!("  {asset}: {} {}", p.problem.word(), p.entry);
                }
            }
            return Ok(ExitCode::from(exit::FAILED));
        }
        let _ = m;
    }
    write_package(output, Format::Dir, "", None, entries, false)?;
    let side = sidecar_path(zip);
    if manifest.is_some() && source.find(MANIFEST_NAME).is_none() {
        let dest = sidecar_path(output);
        std::fs::read(&side)
            .and_then(|b| crate::fsutil::write_atomic(&dest, &b))
            .map_err(|e| Error::Io {
                path: dest,
                action: "cannot copy the manifest",
                source: e,
            })?;
    }
    super::print_out(&format!(
        "unpacked {} entries of {} into {}\n",
        source.entries().len(),
        zip.display(),
        output.display()
    ))?;
    Ok(ExitCode::from(exit::OK))
}
