//! The shipped unit passes `systemd-analyze verify` (Debian's systemd package, which
//! scripts/test.sh installs), with its binary path pointed at the one just built.

use std::path::Path;
use std::process::Command;

#[test]
fn the_unit_file_verifies() {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/modgate.service"),
    )
    .expect("systemd/modgate.service");
    for directive in [
        "ExecStartPre=",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
        "DynamicUser=yes",
        "TimeoutStopSec=",
    ] {
        assert!(unit.contains(directive), "the unit lacks {directive}");
    }
    let dir = std::env::temp_dir().join(format!("modgate-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("modgate.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/modgate", env!("CARGO_BIN_EXE_modgate")),
    )
    .expect("write unit");
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output()
        .expect("systemd-analyze is installed by scripts/test.sh");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Lines about other units on the machine are not ours to judge.
    let ours: Vec<&str> = stderr.lines().filter(|l| l.contains("modgate")).collect();
    assert!(output.status.success() && ours.is_empty(), "{stderr}");
}
