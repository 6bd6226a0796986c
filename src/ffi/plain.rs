//! The promise the extensible-struct copies (`read_extensible`, `write_extensible`) rely on: the
//! struct has no padding, so copying its bytes out never hands a caller uninitialised memory, and
//! any bytes are a valid value, so copying a caller's bytes in cannot make an invalid one. Each
//! struct states it with [`no_padding!`], which proves the first part at compile time.

use std::mem::size_of;

/// A `#[repr(C)]` struct (or integer, array, raw pointer) whose bytes may be copied in either
/// direction: no padding bytes, and every bit pattern is a valid value (all-zero included).
///
/// # Safety
/// Implement it only for integers, raw pointers, arrays of such, and `#[repr(C)]` structs of such
/// fields, and for structs only through [`no_padding!`], whose const assertion fails to compile
/// when a byte of the struct belongs to no field. (`bool`, enums, references and `Option` have
/// invalid bit patterns: they must not implement it.)
pub unsafe trait NoPadding: Copy {}

macro_rules! no_padding_scalars {
    ($($ty:ty),+) => {
        // SAFETY: integers and raw pointers have no padding and every bit pattern is valid.
        $(unsafe impl NoPadding for $ty {})+
    };
}
no_padding_scalars!(u8, u16, u32, u64, i32, usize);
// SAFETY: a raw pointer is an address: no padding, any value valid (never dereferenced here).
unsafe impl<T> NoPadding for *const T {}
// SAFETY: an array has no padding between its elements, which have none themselves.
unsafe impl<T: NoPadding, const N: usize> NoPadding for [T; N] {}

/// The size of the field `field` selects, whose type must itself be [`NoPadding`].
pub const fn field_size<S, F: NoPadding>(_field: fn(&S) -> &F) -> usize {
    size_of::<F>()
}

/// Whether `fields` (offset, size), in declaration order, cover `0..size` without a gap.
pub const fn fields_tile(size: usize, fields: &[(usize, usize)]) -> bool {
    let mut end = 0;
    let mut i = 0;
    while i < fields.len() {
        if fields[i].0 != end {
            return false;
        }
        end += fields[i].1;
        i += 1;
    }
    end == size
}

/// `no_padding!(psample_stats { size, delivered, ... })` implements [`NoPadding`] for a
/// `#[repr(C)]` struct after proving, at compile time, that its fields, listed in declaration
/// order, each [`NoPadding`], tile the struct exactly. A padded struct, a forgotten field or a
/// field out of order fails to compile.
macro_rules! no_padding {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        // SAFETY: a `#[repr(C)]` struct of `NoPadding` fields (checked by `field_size`'s bound)
        // that tile it without a gap (checked by the assertion below): no padding, and any bytes
        // make a valid value.
        unsafe impl $crate::ffi::plain::NoPadding for $ty {}
        const _: () = assert!(
            $crate::ffi::plain::fields_tile(
                ::std::mem::size_of::<$ty>(),
                &[$((
                    ::std::mem::offset_of!($ty, $field),
                    $crate::ffi::plain::field_size(|s: &$ty| &s.$field),
                )),+],
            ),
            concat!("`", stringify!($ty), "` has padding, or the list misses a field or has one out of order")
        );
    };
}
pub(crate) use no_padding;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_and_short_lists_are_found() {
        assert!(fields_tile(16, &[(0, 8), (8, 4), (12, 4)]));
        assert!(!fields_tile(16, &[(0, 8), (8, 4)]), "4 bytes of tail padding");
        assert!(!fields_tile(16, &[(0, 4), (8, 8)]), "a hole after the first field");
        assert!(!fields_tile(16, &[(8, 8), (0, 8)]), "out of order");
    }
}
