//! How the executable is built: a position-independent executable, as any
//! Rust binary and as distributions' hardening policies ask (its code at a
//! random address too, not only its libraries, stack and heap).

#[cfg(target_os = "linux")]
#[test]
fn the_executable_is_position_independent() {
    let elf = std::fs::read(crate::support::binary()).unwrap();
    assert_eq!(&elf[..4], b"\x7fELF");
    let e_type = u16::from_le_bytes([elf[16], elf[17]]);
    assert_eq!(e_type, 3, "ET_DYN (a PIE) expected, found e_type {e_type}");
}
