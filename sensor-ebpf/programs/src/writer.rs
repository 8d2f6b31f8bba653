//! Builds one record in the per-CPU scratch buffer: header, then bounded items.
//!
//! Every write goes to `buf + (off & MASK)` with a constant upper size, so the
//! verifier can prove it stays inside the scratch map value. The offset is kept
//! in the map (see [`Scratch`]) so verification does not explode with the
//! number of optional items.

use aya_ebpf::helpers::generated::{
    bpf_loop, bpf_probe_read_kernel, bpf_probe_read_kernel_str, bpf_probe_read_user,
    bpf_probe_read_user_str,
};
use core::{
    ffi::c_void,
    ptr::{addr_of_mut, read_volatile, write_volatile},
};
use harrier_sensor_common::{
    HEADER_SIZE, ITEM_CUT, ITEM_HEADER_SIZE, ITEM_TRUNCATED, ItemHeader, NAME_MAX, PATH_DEPTH,
    PATH_LEAF_BYTES, PATH_STEPS, PATH_TOP, REC_TRUNCATED, RECORD_MAX, RecordHeader,
};

use crate::{
    kernel::{Offsets, offsets, read_ptr},
    maps::{SCRATCH, Scratch, Slot, Walk},
};

const MASK: usize = RECORD_MAX - 1;

/// A record under construction.
pub struct Writer {
    s: *mut Scratch,
    slot: Slot,
}

impl Writer {
    /// Start a record in this CPU's scratch space.
    #[inline(always)]
    pub fn new(s: *mut Scratch, slot: Slot) -> Writer {
        let w = Writer { s, slot };
        w.set_off(HEADER_SIZE);
        w
    }

    #[inline(always)]
    fn buf(&self) -> *mut u8 {
        self.s as *mut u8
    }

    #[inline(always)]
    fn off(&self) -> usize {
        (unsafe { read_volatile(addr_of_mut!((*self.s).off)) } as usize) & (RECORD_MAX * 2 - 1)
    }

    #[inline(always)]
    fn set_off(&self, off: usize) {
        unsafe { write_volatile(addr_of_mut!((*self.s).off), off as u64) }
    }

    /// The record header.
    #[inline(always)]
    pub fn header(&mut self) -> &mut RecordHeader {
        unsafe { &mut *(self.buf() as *mut RecordHeader) }
    }

    /// Finish the record: store its size; returns (pointer, length) to emit.
    #[inline(always)]
    pub fn finish(&mut self) -> (*const u8, usize) {
        let len = self.off();
        self.header().size = len as u32;
        (self.buf(), len)
    }

    /// Room left for an item payload, or None when not even a header fits.
    #[inline(always)]
    fn room(&mut self) -> Option<usize> {
        let used = self.off() + ITEM_HEADER_SIZE + 8;
        if used >= RECORD_MAX {
            self.header().flags |= REC_TRUNCATED;
            return None;
        }
        Some(RECORD_MAX - used)
    }

    /// Finish an item whose payload of `len` bytes is already at `start + ITEM_HEADER_SIZE`.
    #[inline(always)]
    fn close(&mut self, start: usize, tag: u8, flags: u8, len: usize) {
        let len = len & MASK;
        let item = ItemHeader {
            tag,
            flags,
            len: len as u16,
            _pad: 0,
        };
        unsafe { *(self.buf().add(start & MASK) as *mut ItemHeader) = item };
        self.set_off((start & MASK) + ITEM_HEADER_SIZE + ((len + 7) & !7));
    }

    /// Offset and pointer of the payload of an item starting at the current offset.
    #[inline(always)]
    fn payload(&self) -> (usize, *mut c_void) {
        let start = self.off() & MASK;
        (start, unsafe { self.buf().add(start + ITEM_HEADER_SIZE) }
            as *mut c_void)
    }

    /// Append a fixed struct item.
    #[inline(always)]
    pub fn put<T: Copy>(&mut self, tag: u8, value: &T) {
        let Some(room) = self.room() else { return };
        if room < core::mem::size_of::<T>() {
            return;
        }
        let (start, dst) = self.payload();
        unsafe { *(dst as *mut T) = *value };
        self.close(start, tag, 0, core::mem::size_of::<T>());
    }

    /// Append a NUL-terminated string item read from user (`user`) or kernel memory.
    /// Returns the offset of the payload, or None if nothing was written.
    #[inline(always)]
    pub fn put_str<const MAX: usize>(&mut self, tag: u8, src: u64, user: bool) -> Option<usize> {
        if src == 0 {
            return None;
        }
        let room = self.room()?;
        let size = if room < MAX { room } else { MAX };
        let size = size & (MAX * 2 - 1);
        if size < 2 {
            return None;
        }
        let (start, dst) = self.payload();
        let n = unsafe {
            if user {
                bpf_probe_read_user_str(dst, size as u32, src as *const c_void)
            } else {
                bpf_probe_read_kernel_str(dst, size as u32, src as *const c_void)
            }
        };
        if n <= 0 {
            return None;
        }
        let n = n as usize;
        let flags = if n >= size { ITEM_TRUNCATED } else { 0 };
        self.close(start, tag, flags, n);
        Some(start + ITEM_HEADER_SIZE)
    }

    /// Append `want` bytes (bounded by `MAX` and the room left) read from user or kernel memory.
    #[inline(always)]
    pub fn put_bytes<const MAX: usize>(&mut self, tag: u8, src: u64, want: u64, user: bool) {
        if src == 0 || want == 0 {
            return;
        }
        let Some(room) = self.room() else { return };
        let mut flags = 0;
        let mut size = if want > MAX as u64 {
            flags = ITEM_TRUNCATED;
            MAX
        } else {
            want as usize
        };
        if size > room {
            flags = ITEM_TRUNCATED;
            size = room;
        }
        let size = size & (MAX * 2 - 1);
        if size == 0 || size > MAX {
            return;
        }
        let (start, dst) = self.payload();
        let r = unsafe {
            if user {
                bpf_probe_read_user(dst, size as u32, src as *const c_void)
            } else {
                bpf_probe_read_kernel(dst, size as u32, src as *const c_void)
            }
        };
        if r < 0 {
            return;
        }
        self.close(start, tag, flags, size);
    }

    /// Read one byte already written at payload offset `at`.
    #[inline(always)]
    pub fn byte_at(&self, at: usize) -> u8 {
        unsafe { *self.buf().add(at & MASK) }
    }

    /// Append the path of `dentry` on `vfsmount` as components, leaf first, each NUL-terminated.
    /// A path deeper than [`PATH_DEPTH`] components (or than the room left) keeps its
    /// leaf-first components, a lone NUL, and its [`PATH_TOP`] components nearest the
    /// root (marked [`ITEM_CUT`]). The item is marked truncated when the walk stopped
    /// before the root. The walk runs in `bpf_loop` so the verifier checks one step,
    /// not every unrolled path.
    #[inline(always)]
    pub fn put_dpath(&mut self, tag: u8, o: &Offsets, dentry: u64, vfsmount: u64) {
        if dentry == 0 || vfsmount == 0 {
            return;
        }
        let Some(room) = self.room() else { return };
        let (start, _) = self.payload();
        let walk = Walk {
            start: start as u64,
            used: 0,
            room: room as u64,
            dentry,
            vfsmnt: vfsmount,
            mnt_root: read_ptr(vfsmount + o.vfsmount_root as u64),
            done: 0,
            copied: 0,
            skipped: 0,
        };
        unsafe { write_volatile(addr_of_mut!((*self.s).walk), walk) };
        let mut slot = self.slot as u32;
        unsafe {
            bpf_loop(
                PATH_STEPS,
                walk_step as *const () as *mut c_void,
                &mut slot as *mut u32 as *mut c_void,
                0,
            )
        };
        let walk = unsafe { read_volatile(addr_of_mut!((*self.s).walk)) };
        let mut flags = if walk.done != 0 { 0 } else { ITEM_TRUNCATED };
        let mut used = walk.used as usize & MASK;
        if walk.skipped > 0 {
            let kept = if walk.skipped > PATH_TOP as u64 {
                // Components were left out between the leaf part and the top.
                flags |= ITEM_CUT;
                let at = (start + ITEM_HEADER_SIZE + used) & MASK;
                unsafe { *self.buf().add(at) = 0 };
                used += 1;
                PATH_TOP as u64
            } else {
                walk.skipped
            };
            for i in 0..PATH_TOP as u64 {
                if i >= kept {
                    break;
                }
                // Oldest first: the ring's entries in walk (leaf-first) order.
                let slot = ((walk.skipped - kept + i) as usize) & (PATH_TOP - 1);
                let at = (start + ITEM_HEADER_SIZE + used) & MASK;
                let n = unsafe {
                    bpf_probe_read_kernel_str(
                        self.buf().add(at) as *mut c_void,
                        NAME_MAX as u32,
                        addr_of_mut!((*self.s).top[slot]) as *const c_void,
                    )
                };
                if n <= 0 {
                    break;
                }
                used += (n as usize) & (NAME_MAX * 2 - 1);
            }
        }
        self.close(start, tag, flags, used & MASK);
    }
}

/// One step of a dentry walk (state in the scratch map): cross a mount or emit one
/// component. Returns 1 to stop.
#[inline(never)]
extern "C" fn walk_step(_index: u32, ctx: *mut c_void) -> i64 {
    let o = offsets();
    let slot = unsafe { *(ctx as *const u32) } & 1;
    let Some(s) = SCRATCH.get_ptr_mut(slot) else {
        return 1;
    };
    let walk = unsafe { &mut (*s).walk };
    let buf = s as *mut u8;
    let dentry = walk.dentry;
    let parent = read_ptr(dentry + o.dentry_parent as u64);
    if dentry == walk.mnt_root || dentry == parent {
        if dentry != walk.mnt_root {
            walk.done = 1;
            return 1;
        }
        let mount = walk.vfsmnt - o.mount_mnt as u64;
        let mparent = read_ptr(mount + o.mount_parent as u64);
        if mparent == mount || mparent == 0 {
            walk.done = 1;
            return 1;
        }
        walk.dentry = read_ptr(mount + o.mount_mountpoint as u64);
        walk.vfsmnt = mparent + o.mount_mnt as u64;
        walk.mnt_root = read_ptr(walk.vfsmnt + o.vfsmount_root as u64);
        return 0;
    }
    let name = read_ptr(dentry + o.dentry_name as u64);
    // Copy leaf first while there is depth and room (kept for the top
    // components and the gap marker); past that, keep the last PATH_TOP in the ring.
    let reserve = (NAME_MAX * (PATH_TOP + 1)) as u64;
    if walk.room < reserve {
        // Too little room for the top components: copy what fits, as before.
        if walk.used + NAME_MAX as u64 > walk.room {
            return 1;
        }
    } else if walk.skipped > 0
        || walk.copied >= PATH_DEPTH as u64
        || walk.used + NAME_MAX as u64 > PATH_LEAF_BYTES as u64
        || walk.used + reserve > walk.room
    {
        let slot = (walk.skipped as usize) & (PATH_TOP - 1);
        let top = unsafe { addr_of_mut!((*s).top[slot]) } as *mut c_void;
        if unsafe { bpf_probe_read_kernel_str(top, NAME_MAX as u32, name as *const c_void) } <= 0 {
            return 1;
        }
        walk.skipped += 1;
        walk.dentry = parent;
        return 0;
    }
    let at = ((walk.start + ITEM_HEADER_SIZE as u64 + walk.used) as usize) & MASK;
    let n = unsafe {
        bpf_probe_read_kernel_str(
            buf.add(at) as *mut c_void,
            NAME_MAX as u32,
            name as *const c_void,
        )
    };
    if n <= 0 {
        return 1;
    }
    walk.used += (n as u64) & (NAME_MAX as u64 * 2 - 1);
    walk.copied += 1;
    walk.dentry = parent;
    0
}
