//! tcmcli against the original's dump file: export, import, info, check.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn tcmcli(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tcmcli"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcmcli starts");
    // The tool may refuse before reading its input (a broken pipe then).
    let _ = child.stdin.take().expect("piped").write_all(stdin);
    child.wait_with_output().expect("tcmcli exits")
}

fn original_dump() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/original-dhtnode/smallvec.tcm")
}

#[test]
fn export_import_round_trips_the_originals_dump() {
    let original = original_dump();
    let exported = tcmcli(&["-r", original.to_str().unwrap()], b"");
    assert!(exported.status.success(), "{exported:?}");
    let text = String::from_utf8(exported.stdout).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 100);
    lines.sort();
    assert_eq!(lines[5], "0000000000000005://////////////////////////8=");

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.tcm");
    let imported = tcmcli(&["-w", copy.to_str().unwrap()], text.as_bytes());
    assert!(imported.status.success(), "{imported:?}");
    // Same records in the same order, same padding: the same bytes.
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&original).unwrap());
    let again = tcmcli(&["-w", copy.to_str().unwrap()], text.as_bytes());
    assert!(!again.status.success(), "an existing file is not overwritten");
}

#[test]
fn info_and_check_report_sizes_and_damage() {
    let original = original_dump();
    let info = tcmcli(&["--info", original.to_str().unwrap()], b"");
    let text = String::from_utf8(info.stdout).unwrap();
    assert!(text.contains("records: 100"), "{text}");
    assert!(text.contains("data_bytes: 5216"), "{text}");
    assert!(text.contains("file_bytes: 5632"), "{text}");
    assert!(tcmcli(&["--check", original.to_str().unwrap()], b"").status.success());

    let dir = tempfile::tempdir().unwrap();
    let truncated = dir.path().join("truncated.tcm");
    std::fs::write(&truncated, &std::fs::read(&original).unwrap()[..3000]).unwrap();
    let check = tcmcli(&["--check", truncated.to_str().unwrap()], b"");
    assert!(!check.status.success());
    let error = String::from_utf8(check.stderr).unwrap();
    assert!(error.contains("truncated"), "{error}");
    assert_eq!(error.trim().lines().count(), 1, "{error}");
}

#[test]
fn malformed_import_lines_are_refused_with_their_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bad.tcm");
    let result = tcmcli(&["-w", out.to_str().unwrap()], b"0000000000000001:YQ==\nnot a record\n");
    assert!(!result.status.success());
    assert!(String::from_utf8_lossy(&result.stderr).contains("line 2"));
    assert!(!out.exists(), "nothing half-written is left under the name");
}
