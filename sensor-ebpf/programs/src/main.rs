//! Harrier's eBPF programs: raw tracepoints on syscall entry/exit and on the
//! scheduler's exec/exit/fork hooks. One ring buffer carries every record.
#![no_std]
#![no_main]

mod kernel;
mod maps;
mod probes;
mod process;
mod syscalls;
mod writer;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects programs that could reach a panic; this is never executed.
    unsafe { core::hint::unreachable_unchecked() }
}
