//! tcmcli: inspect, check, export and import `.tcm` dump files, with the
//! original tcmcli's `-r`/`-w` text format (one `key:base64(value)` line per
//! record) so existing scripts keep working.
//!
//! ```text
//! tcmcli -r data/ch.tcm > ch.txt        # export
//! tcmcli -w new.tcm < ch.txt            # import (the file must not exist)
//! tcmcli --info data/ch.tcm             # record count, value bytes, file size
//! tcmcli --check data/ch.tcm            # exit 1 and a reason if damaged
//! ```

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::{ArgGroup, Parser};
use shoal_storage::dht::hash::parse_hex_key;
use shoal_storage::dump::format::{DumpKey, DumpReader, DumpRecord, DumpWriter};

/// Command line (the original's `-r` and `-w`, plus `--info`, `--check`).
#[derive(Debug, Parser)]
#[command(name = "tcmcli", version, about = "Read, write, inspect and check dhtnode .tcm dump files")]
#[command(group(ArgGroup::new("mode").required(true).args(["read", "write", "info", "check"])))]
struct Args {
    /// Stream the named dump to stdout as `key:base64(value)` lines.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    read: Option<PathBuf>,
    /// Write such lines from stdin into a new dump (the file must not exist).
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    write: Option<PathBuf>,
    /// Print the dump's record count, value bytes and file size.
    #[arg(long, value_name = "FILE")]
    info: Option<PathBuf>,
    /// Read the whole dump; exit 1 with the reason if it is damaged.
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = if let Some(path) = &args.read {
        export(path)
    } else if let Some(path) = &args.write {
        import(path)
    } else if let Some(path) = args.info.as_ref().or(args.check.as_ref()) {
        inspect(path, args.info.is_some())
    } else {
        unreachable!("clap requires one mode")
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tcmcli: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Calls `f` for every record of the dump at `path`.
fn each_record(path: &Path, mut f: impl FnMut(DumpRecord) -> anyhow::Result<()>) -> anyhow::Result<u64> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = DumpReader::new(BufReader::with_capacity(1 << 20, file))
        .with_context(|| format!("{} is not a readable dump", path.display()))?;
    while let Some(record) = reader.next_record().with_context(|| format!("{} is damaged", path.display()))? {
        f(record)?;
    }
    Ok(reader.offset())
}

fn export(path: &Path) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    each_record(path, |record| {
        match record.key {
            DumpKey::Hash(key) => write!(out, "{key:016x}")?,
            DumpKey::Invalid => bail!("record with an invalid key in {}", path.display()),
        }
        writeln!(out, ":{}", STANDARD.encode(&record.value))?;
        Ok(())
    })?;
    out.flush()?;
    Ok(())
}

fn import(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        bail!("{} already exists", path.display());
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let temp = tempfile::Builder::new()
        .prefix(path.file_name().context("the output needs a file name")?)
        .suffix(".dumping")
        .tempfile_in(dir)?;
    let mut writer = DumpWriter::new(BufWriter::new(temp.reopen()?))?;
    for (number, line) in io::stdin().lock().lines().enumerate() {
        let line = line?;
        let parsed = line.split_once(':').and_then(|(key, value)| {
            let key = parse_hex_key(key.as_bytes())?;
            let value = STANDARD.decode(value).ok().filter(|v| !v.is_empty())?;
            Some((key, value))
        });
        let Some((key, value)) = parsed else {
            bail!("line {}: expected <16 hex digits>:<base64 value>", number + 1);
        };
        writer.record(key, &value)?;
    }
    let (buffered, _) = writer.finish()?;
    buffered.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()?;
    temp.persist_noclobber(path).map_err(|e| e.error).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(())
}

fn inspect(path: &Path, print: bool) -> anyhow::Result<()> {
    let (mut records, mut value_bytes, mut invalid) = (0u64, 0u64, 0u64);
    let data_end = each_record(path, |record| {
        records += 1;
        value_bytes += record.value.len() as u64;
        invalid += u64::from(record.key == DumpKey::Invalid);
        Ok(())
    })?;
    let size = std::fs::metadata(path)?.len();
    if print {
        println!("records: {records}\nvalue_bytes: {value_bytes}\ninvalid_keys: {invalid}\ndata_bytes: {data_end}\nfile_bytes: {size}");
    } else if invalid > 0 {
        bail!("{invalid} records with invalid keys in {}", path.display());
    }
    Ok(())
}
