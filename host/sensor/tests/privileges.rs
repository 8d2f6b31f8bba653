//! Without privileges, `LiveSensor::start` fails with one clear line.
//!
//! The test re-runs itself as user `nobody` (needs root to do so); in that child
//! it calls `start` and prints the error for the parent to check.

use std::os::unix::process::CommandExt;

use harrier_sensor::{LiveSensor, SensorConfig};

const CHILD_ENV: &str = "HARRIER_SENSOR_PRIVILEGES_CHILD";
const NOBODY: u32 = 65534;

#[test]
fn unprivileged_start_fails_with_one_clear_line() {
    if std::env::var(CHILD_ENV).as_deref() == Ok("1") {
        // Child: running as nobody.
        match LiveSensor::start(&SensorConfig::default()) {
            Ok(_) => panic!("the sensor started without privileges"),
            Err(e) => println!("ERROR-LINE<{e}>"),
        }
        return;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        if std::env::var("HARRIER_SKIP_PRIVILEGED").as_deref() == Ok("1") {
            eprintln!(
                "SKIPPED: unprivileged_start_fails_with_one_clear_line needs root (to switch to nobody)"
            );
            return;
        }
        panic!(
            "unprivileged_start_fails_with_one_clear_line needs root (to switch to nobody); set HARRIER_SKIP_PRIVILEGED=1 to skip"
        );
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "unprivileged_start_fails_with_one_clear_line",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .uid(NOBODY)
        .gid(NOBODY)
        .output()
        .expect("re-run the test binary as nobody");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .split("ERROR-LINE<")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap_or_else(|| panic!("no error line in child output: {stdout}"));
    assert!(!line.contains('\n'), "error spans lines: {line}");
    assert!(line.contains("CAP_BPF") && line.contains("CAP_PERFMON") && line.contains("root"));
    assert!(line.contains(&format!("uid {NOBODY}")), "{line}");
    eprintln!("unprivileged start: {line}");
}
