//! Resolves the kernel struct field offsets the programs need from the kernel's BTF.
//!
//! aya has no CO-RE field relocations for Rust programs, so the host looks the
//! offsets up once at start-up and hands them to the programs as a read-only global.

use btf_rs::{Btf, Type};
use harrier_sensor_common::Offsets;

/// Where the running kernel publishes its BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// A field the programs need could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum OffsetError {
    /// The BTF file could not be read or parsed.
    #[error("cannot read kernel BTF from {path}: {reason}")]
    Btf {
        /// The BTF file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A struct or field is missing.
    #[error("kernel BTF has no field `{0}` (needed by the eBPF sensor)")]
    Missing(String),
}

/// Resolve every offset from the BTF file at `path`.
pub fn resolve_file(path: &str) -> Result<Offsets, OffsetError> {
    let btf = Btf::from_file(path).map_err(|e| OffsetError::Btf {
        path: path.to_string(),
        reason: e.to_string(),
    })?;
    resolve(&btf)
}

/// Resolve every offset from parsed BTF.
pub fn resolve(btf: &Btf) -> Result<Offsets, OffsetError> {
    let f = |path: &str| field_offset(btf, path);
    let opt = |path: &str| field_offset(btf, path).unwrap_or(Offsets::MISSING);
    // Inode mtime moved from `__i_mtime` (timespec64) to `i_mtime_sec`/`i_mtime_nsec` in 6.7.
    let (mtime_sec, mtime_nsec) = match (
        field_offset(btf, "inode.i_mtime_sec"),
        field_offset(btf, "inode.i_mtime_nsec"),
    ) {
        (Ok(s), Ok(n)) => (s, n),
        _ => (
            opt("inode.__i_mtime.tv_sec"),
            opt("inode.__i_mtime.tv_nsec"),
        ),
    };
    Ok(Offsets {
        task_real_parent: f("task_struct.real_parent")?,
        task_tgid: f("task_struct.tgid")?,
        task_pid: f("task_struct.pid")?,
        task_cred: f("task_struct.cred")?,
        task_mm: f("task_struct.mm")?,
        task_fs: f("task_struct.fs")?,
        task_files: f("task_struct.files")?,
        task_exit_code: f("task_struct.exit_code")?,
        cred_uid: f("cred.uid")?,
        cred_euid: f("cred.euid")?,
        cred_gid: f("cred.gid")?,
        cred_egid: f("cred.egid")?,
        mm_arg_start: f("mm_struct.arg_start")?,
        mm_arg_end: f("mm_struct.arg_end")?,
        mm_env_start: f("mm_struct.env_start")?,
        mm_env_end: f("mm_struct.env_end")?,
        bprm_file: f("linux_binprm.file")?,
        bprm_filename: f("linux_binprm.filename")?,
        file_inode: f("file.f_inode")?,
        file_path: f("file.f_path")?,
        file_private_data: f("file.private_data")?,
        inode_mode: f("inode.i_mode")?,
        inode_ino: f("inode.i_ino")?,
        inode_sb: f("inode.i_sb")?,
        inode_mtime_sec: mtime_sec,
        inode_mtime_nsec: mtime_nsec,
        sb_dev: f("super_block.s_dev")?,
        fs_pwd: f("fs_struct.pwd")?,
        path_mnt: f("path.mnt")?,
        path_dentry: f("path.dentry")?,
        dentry_parent: f("dentry.d_parent")?,
        dentry_name: f("dentry.d_name.name")?,
        vfsmount_root: f("vfsmount.mnt_root")?,
        mount_mnt: f("mount.mnt")?,
        mount_parent: f("mount.mnt_parent")?,
        mount_mountpoint: f("mount.mnt_mountpoint")?,
        files_fdt: f("files_struct.fdt")?,
        fdt_max_fds: f("fdtable.max_fds")?,
        fdt_fd: f("fdtable.fd")?,
        socket_type: f("socket.type")?,
        socket_sk: f("socket.sk")?,
        sk_family: f("sock.__sk_common.skc_family")?,
        sk_daddr: f("sock.__sk_common.skc_daddr")?,
        sk_saddr: f("sock.__sk_common.skc_rcv_saddr")?,
        sk_dport: f("sock.__sk_common.skc_dport")?,
        sk_num: f("sock.__sk_common.skc_num")?,
        sk_v6_daddr: f("sock.__sk_common.skc_v6_daddr")?,
        sk_v6_saddr: f("sock.__sk_common.skc_v6_rcv_saddr")?,
        vma_file: f("vm_area_struct.vm_file")?,
        _pad: 0,
    })
}

/// Byte offset of a dotted field path such as `sock.__sk_common.skc_dport`
/// (first element is the struct name; anonymous unions/structs are searched through).
pub fn field_offset(btf: &Btf, path: &str) -> Result<u32, OffsetError> {
    let missing = || OffsetError::Missing(path.to_string());
    let mut parts = path.split('.');
    let root = parts.next().ok_or_else(missing)?;
    let mut ty = btf
        .resolve_types_by_name(root)
        .map_err(|_| missing())?
        .into_iter()
        .find(|t| matches!(t, Type::Struct(s) if !s.members.is_empty()))
        .ok_or_else(missing)?;
    let mut offset_bits = 0u32;
    for name in parts {
        let (bits, member_ty) = find_member(btf, &ty, name).ok_or_else(missing)?;
        offset_bits += bits;
        ty = member_ty;
    }
    if !offset_bits.is_multiple_of(8) {
        return Err(missing());
    }
    Ok(offset_bits / 8)
}

/// Find `name` in a struct/union (through anonymous members); returns bit offset and type.
fn find_member(btf: &Btf, ty: &Type, name: &str) -> Option<(u32, Type)> {
    let members = match strip(btf, ty.clone())? {
        Type::Struct(s) | Type::Union(s) => s.members,
        _ => return None,
    };
    for member in &members {
        let member_name = btf.resolve_name(member).unwrap_or_default();
        let member_ty = btf.resolve_chained_type(member).ok()?;
        if member_name == name {
            return Some((member.bit_offset(), strip(btf, member_ty)?));
        }
        if member_name.is_empty()
            && let Some((bits, found)) = find_member(btf, &member_ty, name)
        {
            return Some((member.bit_offset() + bits, found));
        }
    }
    None
}

/// Skip typedefs and qualifiers.
fn strip(btf: &Btf, mut ty: Type) -> Option<Type> {
    for _ in 0..16 {
        match &ty {
            Type::Typedef(t) => ty = btf.resolve_chained_type(t).ok()?,
            Type::Const(t) => ty = btf.resolve_chained_type(t).ok()?,
            Type::Volatile(t) => ty = btf.resolve_chained_type(t).ok()?,
            Type::Restrict(t) => ty = btf.resolve_chained_type(t).ok()?,
            Type::TypeTag(t) => ty = btf.resolve_chained_type(t).ok()?,
            _ => return Some(ty),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_this_kernels_offsets() {
        let offsets = resolve_file(VMLINUX_BTF).expect("kernel BTF resolves");
        // Fields at the very start of their structs.
        assert_eq!(offsets.path_mnt, 0);
        // d_name.name follows the 8-byte hash_len in struct qstr.
        let d_name = field_offset(&Btf::from_file(VMLINUX_BTF).unwrap(), "dentry.d_name").unwrap();
        assert_eq!(offsets.dentry_name, d_name + 8);
        assert!(offsets.task_tgid > 0 && offsets.task_pid + 4 == offsets.task_tgid);
        assert!(offsets.cred_euid > offsets.cred_uid);
        assert_ne!(offsets.inode_mtime_sec, Offsets::MISSING);
    }

    #[test]
    fn missing_field_is_named() {
        let btf = Btf::from_file(VMLINUX_BTF).unwrap();
        let err = field_offset(&btf, "task_struct.no_such_field").unwrap_err();
        assert!(err.to_string().contains("task_struct.no_such_field"));
    }
}
