//! Thin, checked wrappers over `setsockopt`/`getsockopt` for the options neli does not wrap.

use std::os::fd::RawFd;

use crate::error::{Errno, SysResult as Result};

pub fn set<T: Copy>(fd: RawFd, level: i32, name: i32, value: &T) -> Result<()> {
    // SAFETY: `value` is a live, initialized `T` and we pass exactly its size; the kernel only
    // reads that many bytes during the call.
    let rc = unsafe {
        libc::setsockopt(fd, level, name, (value as *const T).cast(), std::mem::size_of::<T>() as libc::socklen_t)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::last_os_error())
    }
}

pub fn set_int(fd: RawFd, level: i32, name: i32, value: i32) -> Result<()> {
    set(fd, level, name, &value)
}

/// Reads a plain-old-data option. `T` must be valid for any bit pattern (integers, arrays of them).
pub fn get<T: Copy + Default>(fd: RawFd, level: i32, name: i32) -> Result<T> {
    let mut value = T::default();
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a writable `T` of `len` bytes; the kernel writes at most `len` bytes and
    // every bit pattern is a valid `T` for the integer types this is used with.
    let rc = unsafe { libc::getsockopt(fd, level, name, (&mut value as *mut T).cast(), &mut len) };
    if rc == 0 {
        Ok(value)
    } else {
        Err(Errno::last_os_error())
    }
}
