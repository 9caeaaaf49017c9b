//! How the executable is linked. A cache hit lasts about a millisecond and
//! most of it is the dynamic loader's work, so on Linux with glibc the
//! loader must find only libc (build.rs links the unwinder in, main.rs
//! defines `pow`) and apply no relocations to the executable (`-no-pie`).

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn the_executable_loads_only_libc_and_is_not_position_independent() {
    use std::process::Command;
    let bin = env!("CARGO_BIN_EXE_docker-credential-ecr-login");
    // glibc's loader lists what it loads and stops before `main` (as ldd does).
    let out = Command::new(bin)
        .env("LD_TRACE_LOADED_OBJECTS", "1")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let libs: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| !name.starts_with("linux-vdso") && !name.contains("/ld-linux"))
        .collect();
    assert_eq!(libs, ["libc.so.6"], "{text}");

    let elf = std::fs::read(bin).unwrap();
    let e_type = u16::from_le_bytes([elf[16], elf[17]]);
    if option_env!("ECR_LOGIN_PIE") == Some("1") {
        assert_eq!(e_type, 3, "ECR_LOGIN_PIE=1 builds a PIE (ET_DYN)");
    } else {
        assert_eq!(e_type, 2, "linked -no-pie (ET_EXEC)");
    }
}
