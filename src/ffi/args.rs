//! Checks and copies of the caller's arguments, shared by every entry point. Each check answers
//! `EINVAL`, the C API's error for a bad pointer, array or struct size, so an entry point reads as
//! a few `?` lines and has one error path (`to_c_int`).

use std::ffi::c_int;
use std::mem::size_of;

use super::plain::NoPadding;
use super::types::PSAMPLE_MAX_STRUCT_SIZE;
use crate::error::Errno;

type Result<T> = std::result::Result<T, Errno>;

fn invalid<T>() -> Result<T> {
    Err(Errno(libc::EINVAL))
}

/// Runs an entry point's body: `Ok(n)` returns `n`; an error is stored in errno and returned negated.
pub fn to_c_int(body: impl FnOnce() -> Result<c_int>) -> c_int {
    body().unwrap_or_else(|err| {
        // SAFETY: __errno_location returns the calling thread's errno slot, always valid to write.
        unsafe { *libc::__errno_location() = err.0 };
        -err.0
    })
}

/// `ptr`, unless it is NULL.
pub fn non_null<T>(ptr: *const T) -> Result<*const T> {
    if ptr.is_null() {
        invalid()
    } else {
        Ok(ptr)
    }
}

/// `ptr`, unless it is NULL.
pub fn non_null_mut<T>(ptr: *mut T) -> Result<*mut T> {
    if ptr.is_null() {
        invalid()
    } else {
        Ok(ptr)
    }
}

/// A struct size the caller declares: at least the first published version `v1` (so every field
/// of that version is there), at most `PSAMPLE_MAX_STRUCT_SIZE` (so a garbage size is refused
/// rather than read or written).
pub fn struct_size(size: usize, v1: usize) -> Result<usize> {
    if (v1..=PSAMPLE_MAX_STRUCT_SIZE).contains(&size) {
        Ok(size)
    } else {
        invalid()
    }
}

/// The caller's output array of `n` elements of `elem_size` bytes, as bytes: NULL only when `n`
/// is 0, and small enough to index (`n * elem_size <= isize::MAX`).
pub fn out_array<T>(ptr: *mut T, n: usize, elem_size: usize) -> Result<*mut u8> {
    if (n > 0 && ptr.is_null()) || n.checked_mul(elem_size).map_or(true, |bytes| bytes > isize::MAX as usize) {
        return invalid();
    }
    Ok(ptr.cast())
}

/// Copies the caller's input array of `n` elements (NULL only when `n` is 0), refusing more than
/// `max` so a garbage count is not read.
///
/// # Safety
/// When `n > 0` and `ptr` is not NULL, `ptr` must point to `n` readable `T`s.
pub unsafe fn in_array<T: Copy>(ptr: *const T, n: usize, max: usize) -> Result<Vec<T>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() || n > max {
        return invalid();
    }
    // SAFETY: non-null, and the caller promises `n` readable elements (bounded by `max`).
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) }.to_vec())
}

/// The caller's `len` input bytes at `ptr`: not NULL, and small enough to index.
///
/// # Safety
/// When not NULL, `ptr` must point to `len` readable bytes that stay unchanged for `'a`.
pub unsafe fn in_bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8]> {
    if ptr.is_null() || len > isize::MAX as usize {
        return invalid();
    }
    // SAFETY: non-null, at most isize::MAX bytes, readable and unchanged for 'a (caller contract).
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Reads a caller struct of `size` bytes into a zeroed `T` (fields the caller does not know stay
/// zero). `size` must pass [`struct_size`] with `v1`; bytes past `T` must be zero (the caller was
/// built against a newer header and set a field this library does not know).
///
/// `T` is [`NoPadding`]: any bytes the caller wrote, and all-zero, make a valid `T`.
///
/// # Safety
/// `ptr` must be valid for reads of `size` bytes.
pub unsafe fn read_extensible<T: NoPadding>(ptr: *const u8, size: usize, v1: usize) -> Result<T> {
    let size = struct_size(size, v1)?;
    // SAFETY: all-zero is a valid `T` (`NoPadding`'s promise).
    let mut value: T = unsafe { std::mem::zeroed() };
    let known = size.min(size_of::<T>());
    // SAFETY: `ptr` is readable for `size >= known` bytes (caller contract); `value` is a local of
    // `size_of::<T>() >= known` bytes; the two cannot overlap.
    unsafe { std::ptr::copy_nonoverlapping(ptr, (&mut value as *mut T).cast::<u8>(), known) };
    // SAFETY: the bytes from `known` to `size` are inside the caller's `size`-byte struct.
    let tail = unsafe { std::slice::from_raw_parts(ptr.add(known), size - known) };
    if tail.iter().any(|b| *b != 0) {
        return invalid();
    }
    Ok(value)
}

/// Writes a struct to a caller's `size`-byte buffer: the first `min(size, sizeof T)` bytes of
/// `value`, then zeroes up to `size`, so a caller built against a newer header reads zero (its
/// "absent") in the fields this library does not know. `T` is [`NoPadding`], so every byte copied
/// is initialised.
///
/// # Safety
/// `dst` must be valid for writes of `size` bytes.
pub unsafe fn write_extensible<T: NoPadding>(value: &T, dst: *mut u8, size: usize) {
    let n = size.min(size_of::<T>());
    // SAFETY: `value` is readable for size_of::<T>() >= n bytes, all of them initialised (no
    // padding: `NoPadding`), and `dst` writable for size >= n bytes (caller contract); a Rust
    // value and the caller's buffer do not overlap.
    unsafe { std::ptr::copy_nonoverlapping((value as *const T).cast::<u8>(), dst, n) };
    // SAFETY: bytes n..size are inside the caller's `size` writable bytes.
    unsafe { std::ptr::write_bytes(dst.add(n), 0, size - n) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_below_v1_or_above_the_cap_are_einval() {
        assert_eq!(struct_size(16, 16), Ok(16));
        assert_eq!(struct_size(PSAMPLE_MAX_STRUCT_SIZE, 16), Ok(PSAMPLE_MAX_STRUCT_SIZE));
        assert_eq!(struct_size(15, 16), Err(Errno(libc::EINVAL)));
        assert_eq!(struct_size(PSAMPLE_MAX_STRUCT_SIZE + 1, 16), Err(Errno(libc::EINVAL)));
    }

    #[test]
    fn arrays_may_be_null_only_when_empty() {
        assert!(out_array(std::ptr::null_mut::<u8>(), 0, 8).is_ok());
        assert!(out_array(std::ptr::null_mut::<u8>(), 1, 8).is_err());
        let mut buf = [0u8; 8];
        assert!(out_array(buf.as_mut_ptr(), usize::MAX / 4, 8).is_err());
        // SAFETY: a NULL pointer with n == 0 is never read; `buf` holds 8 readable bytes.
        unsafe {
            assert_eq!(in_array(std::ptr::null::<u8>(), 0, 4), Ok(vec![]));
            assert!(in_array(std::ptr::null::<u8>(), 1, 4).is_err());
            assert!(in_array(buf.as_ptr(), 5, 4).is_err());
            assert_eq!(in_array(buf.as_ptr(), 4, 4), Ok(vec![0; 4]));
        }
    }

    #[test]
    fn writes_cut_to_the_callers_size_and_zero_past_ours() {
        let value: [u32; 2] = [0x1111_1111, 0x2222_2222];
        let mut bigger = [0xaau8; 16];
        // SAFETY: `bigger` holds 16 writable bytes.
        unsafe { write_extensible(&value, bigger.as_mut_ptr(), 16) };
        assert_eq!(&bigger[..8], &[0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22]);
        assert_eq!(&bigger[8..], &[0; 8], "the caller's bytes past ours read zero");
        let mut smaller = [0xaau8; 6];
        // SAFETY: `smaller` holds 6 writable bytes.
        unsafe { write_extensible(&value, smaller.as_mut_ptr(), 4) };
        assert_eq!(smaller, [0x11, 0x11, 0x11, 0x11, 0xaa, 0xaa], "nothing past the caller's size");
    }

    #[test]
    fn errors_go_to_errno_and_return_negated() {
        assert_eq!(to_c_int(|| Ok(3)), 3);
        assert_eq!(to_c_int(|| Err(Errno(libc::EBADF))), -libc::EBADF);
        // SAFETY: reading this thread's errno slot.
        assert_eq!(unsafe { *libc::__errno_location() }, libc::EBADF);
    }
}
