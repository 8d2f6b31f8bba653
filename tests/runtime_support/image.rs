//! A container image made from Debian's `busybox-static` without a
//! registry: an OCI image layout (plus Docker's `manifest.json`, so both
//! `ctr images import` and `docker load` take the same tarball).

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// Applets linked in the image's `/bin`.
const APPLETS: &[&str] = &[
    "sh", "sleep", "cat", "cp", "ln", "rm", "ls", "echo", "true", "mkdir", "chmod",
];

/// The image tarball and what it is called.
pub struct Image {
    /// The tarball.
    pub tarball: PathBuf,
    /// Its name, e.g. `harrier.test/busybox:1`.
    pub name: String,
    /// `sha256:` of its config (the image id).
    pub id: String,
}

/// Builds the image in `dir` (deterministic: the same bytes every time).
pub fn busybox(dir: &Path, name: &str) -> Image {
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "/bin/busybox is missing: install Debian's busybox-static (scripts/bootstrap.sh does)"
    );
    let rootfs = dir.join("rootfs");
    for sub in ["bin", "tmp", "dev", "proc", "sys", "etc", "var/run"] {
        std::fs::create_dir_all(rootfs.join(sub)).unwrap();
    }
    std::fs::copy(busybox, rootfs.join("bin/busybox")).unwrap();
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
    std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n").unwrap();
    let layout = dir.join("layout");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let layer_tar = dir.join("layer.tar");
    run(Command::new("tar").args([
        "--sort=name",
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        "--mtime=@0",
        "-cf",
        layer_tar.to_str().unwrap(),
        "-C",
        rootfs.to_str().unwrap(),
        ".",
    ]));
    let layer = std::fs::read(&layer_tar).unwrap();
    let layer_digest = blob(&blobs, &layer);
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/bin"],
            "Cmd": ["/bin/sleep", "2147483647"],
            "WorkingDir": "/",
        },
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{layer_digest}")] },
    })
    .to_string();
    let config_digest = blob(&blobs, config.as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": format!("sha256:{config_digest}"),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": format!("sha256:{layer_digest}"),
            "size": layer.len(),
        }],
    })
    .to_string();
    let manifest_digest = blob(&blobs, manifest.as_bytes());
    let tag = name.rsplit(':').next().unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_digest}"),
            "size": manifest.len(),
            "annotations": {
                "io.containerd.image.name": name,
                "org.opencontainers.image.ref.name": tag,
            },
        }],
    });
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    // docker load reads this one.
    let docker = serde_json::json!([{
        "Config": format!("blobs/sha256/{config_digest}"),
        "RepoTags": [name],
        "Layers": [format!("blobs/sha256/{layer_digest}")],
    }]);
    std::fs::write(layout.join("manifest.json"), docker.to_string()).unwrap();
    let tarball = dir.join("image.tar");
    run(Command::new("tar").args([
        "--sort=name",
        "--owner=0",
        "--group=0",
        "--numeric-owner",
        "--mtime=@0",
        "-cf",
        tarball.to_str().unwrap(),
        "-C",
        layout.to_str().unwrap(),
        ".",
    ]));
    Image {
        tarball,
        name: name.to_string(),
        id: format!("sha256:{config_digest}"),
    }
}

/// Writes `bytes` as a blob; returns its hex digest.
fn blob(blobs: &Path, bytes: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(bytes));
    std::fs::write(blobs.join(&digest), bytes).unwrap();
    digest
}

/// Runs a command to success.
pub fn run(command: &mut Command) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
