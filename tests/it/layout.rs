//! The rules that keep `src/`'s layers apart (`src/lib.rs` names them),
//! checked by reading the source:
//!
//! 1. Only `src/aws/` names the SDK crates (`aws_sdk_*`, `aws_config`,
//!    `aws_smithy_*`, `aws_credential_types`), tests included.
//! 2. Only `src/serve/`, `src/commands/` and `src/main.rs` write to stdout
//!    (`stdout()`, `print!`, `println!`); anything may write to stderr.
//! 3. `src/registry/` does no IO: no `std::fs`, `std::net`, `std::env`,
//!    `std::process`, `File`, `stdin`, `stdout`, `stderr`, `tokio` (nor
//!    `eprint!`, `eprintln!`, `dbg!`) outside its `#[cfg(test)]` modules.
//!
//! The scanner reads code only: comments and the contents of string and
//! character literals are blanked first (lines keep their numbers). Each
//! rule fails naming every `file:line` that breaks it; the tests at the end
//! run each rule on small samples, so a scanner that sees nothing fails.

use std::fmt;
use std::path::{Path, PathBuf};

/// One place that breaks a rule.
#[derive(Debug, PartialEq, Eq)]
struct Violation {
    /// Relative to the package root: `src/registry/mod.rs`.
    file: String,
    /// 1-based.
    line: usize,
    /// What is there: `` `std::fs` ``.
    what: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// A rule: the violations in one file (`file` relative to the package
/// root, `text` its contents).
type Rule = fn(file: &str, text: &str) -> Vec<Violation>;

// ---------------------------------------------------------------------------
// The rules.
// ---------------------------------------------------------------------------

/// Rule 1: SDK crates are named in `src/aws/` only.
fn sdk_outside_the_adapter(file: &str, text: &str) -> Vec<Violation> {
    if file.starts_with("src/aws/") {
        return Vec::new();
    }
    let toks = tokens(&code_only(text));
    toks.iter()
        .filter_map(|(line, tok)| match tok {
            Tok::Ident(name) if is_sdk_crate(name) => Some(violation(file, *line, name)),
            _ => None,
        })
        .collect()
}

fn is_sdk_crate(name: &str) -> bool {
    name == "aws_config"
        || name == "aws_credential_types"
        || name.starts_with("aws_sdk_")
        || name.starts_with("aws_smithy_")
}

/// Rule 2: stdout is written by `src/serve/`, `src/commands/` and
/// `src/main.rs` only.
fn stdout_outside_the_front(file: &str, text: &str) -> Vec<Violation> {
    if file.starts_with("src/serve/") || file.starts_with("src/commands/") || file == "src/main.rs"
    {
        return Vec::new();
    }
    let toks = tokens(&code_only(text));
    (0..toks.len())
        .filter_map(|i| stdout_write_at(&toks, i).map(|what| violation(file, toks[i].0, &what)))
        .collect()
}

/// `print!`, `println!`, `stdout()` or a path to `stdout` (`io::stdout`,
/// handed on as a writer) at token `i`; not a method `.stdout()`.
fn stdout_write_at(toks: &[(usize, Tok)], i: usize) -> Option<String> {
    let Tok::Ident(name) = &toks[i].1 else {
        return None;
    };
    match name.as_str() {
        "print" | "println" if punct_at(toks, i + 1, '!') => Some(format!("{name}!")),
        "stdout" if path_before(toks, i) => Some("io::stdout".into()),
        "stdout" if !punct_at(toks, i.wrapping_sub(1), '.') && call_without_args(toks, i) => {
            Some("stdout()".into())
        }
        _ => None,
    }
}

/// The IO `src/registry/` must not do.
const STD_IO_MODULES: [&str; 4] = ["fs", "net", "env", "process"];
const IO_NAMES: [&str; 5] = ["File", "stdin", "stdout", "stderr", "tokio"];
const IO_MACROS: [&str; 3] = ["eprint", "eprintln", "dbg"];

/// Rule 3: `src/registry/` does no IO outside its `#[cfg(test)]` modules.
fn io_in_the_registry(file: &str, text: &str) -> Vec<Violation> {
    if !file.starts_with("src/registry/") {
        return Vec::new();
    }
    let toks = tokens(&code_only(text));
    let test_only = cfg_test_modules(&toks);
    let mut found = Vec::new();
    for i in 0..toks.len() {
        if test_only[i] {
            continue;
        }
        let Tok::Ident(name) = &toks[i].1 else {
            continue;
        };
        let line = toks[i].0;
        if name == "std" && punct_at(&toks, i + 1, ':') && punct_at(&toks, i + 2, ':') {
            for module in std_modules_named(&toks, i + 3) {
                found.push(violation(file, line, &format!("std::{module}")));
            }
        } else if IO_NAMES.contains(&name.as_str()) {
            found.push(violation(file, line, name));
        } else if IO_MACROS.contains(&name.as_str()) && punct_at(&toks, i + 1, '!') {
            found.push(violation(file, line, &format!("{name}!")));
        }
    }
    found
}

/// After `std::` at token `i`: the IO modules named, either `fs` or among
/// a group `{io, fs::File, …}`.
fn std_modules_named(toks: &[(usize, Tok)], i: usize) -> Vec<&'static str> {
    let io_module = |j: usize| match toks.get(j) {
        Some((_, Tok::Ident(n))) => STD_IO_MODULES.iter().copied().find(|m| m == n),
        _ => None,
    };
    if !punct_at(toks, i, '{') {
        return io_module(i).into_iter().collect();
    }
    let mut found = Vec::new();
    let mut depth = 0;
    for j in i..toks.len() {
        match toks[j].1 {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Tok::Ident(_)
                if depth == 1 && (punct_at(toks, j - 1, '{') || punct_at(toks, j - 1, ',')) =>
            {
                found.extend(io_module(j));
            }
            _ => {}
        }
    }
    found
}

/// For each token: whether it is inside a `#[cfg(test)] mod name { … }`.
fn cfg_test_modules(toks: &[(usize, Tok)]) -> Vec<bool> {
    let mut inside = vec![false; toks.len()];
    let mut i = 0;
    while i < toks.len() {
        let Some(after) = cfg_test_attribute(toks, i) else {
            i += 1;
            continue;
        };
        // Other attributes may follow, then `mod name {`.
        let mut j = after;
        while punct_at(toks, j, '#') && punct_at(toks, j + 1, '[') {
            j = matching(toks, j + 1, '[', ']') + 1;
        }
        if ident_at(toks, j, "mod") && punct_at(toks, j + 2, '{') {
            let end = matching(toks, j + 2, '{', '}');
            inside[i..=end.min(toks.len() - 1)].fill(true);
            i = end + 1;
        } else {
            i = after;
        }
    }
    inside
}

/// `#[cfg(test)]` at token `i`: the index after it.
fn cfg_test_attribute(toks: &[(usize, Tok)], i: usize) -> Option<usize> {
    let ok = punct_at(toks, i, '#')
        && punct_at(toks, i + 1, '[')
        && ident_at(toks, i + 2, "cfg")
        && punct_at(toks, i + 3, '(')
        && ident_at(toks, i + 4, "test")
        && punct_at(toks, i + 5, ')')
        && punct_at(toks, i + 6, ']');
    ok.then_some(i + 7)
}

/// The index of the bracket closing the one `open` at `i` (or the last
/// token, for unbalanced text).
fn matching(toks: &[(usize, Tok)], i: usize, open: char, close: char) -> usize {
    let mut depth = 0;
    for (j, (_, tok)) in toks.iter().enumerate().skip(i) {
        match tok {
            Tok::Punct(c) if *c == open => depth += 1,
            Tok::Punct(c) if *c == close => {
                depth -= 1;
                if depth == 0 {
                    return j;
                }
            }
            _ => {}
        }
    }
    toks.len().saturating_sub(1)
}

fn violation(file: &str, line: usize, what: &str) -> Violation {
    Violation {
        file: file.to_owned(),
        line,
        what: format!("`{what}`"),
    }
}

// ---------------------------------------------------------------------------
// The scanner: code without comments or literal contents, then tokens.
// ---------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Punct(char),
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Identifiers (numbers too) and single punctuation characters, each with
/// its 1-based line.
fn tokens(code: &str) -> Vec<(usize, Tok)> {
    let mut toks = Vec::new();
    let mut line = 1;
    let mut ident = String::new();
    for c in code.chars() {
        if is_ident_char(c) {
            ident.push(c);
            continue;
        }
        if !ident.is_empty() {
            toks.push((line, Tok::Ident(std::mem::take(&mut ident))));
        }
        if c == '\n' {
            line += 1;
        } else if !c.is_whitespace() {
            toks.push((line, Tok::Punct(c)));
        }
    }
    if !ident.is_empty() {
        toks.push((line, Tok::Ident(ident)));
    }
    toks
}

fn punct_at(toks: &[(usize, Tok)], i: usize, c: char) -> bool {
    matches!(toks.get(i), Some((_, Tok::Punct(p))) if *p == c)
}

fn ident_at(toks: &[(usize, Tok)], i: usize, name: &str) -> bool {
    matches!(toks.get(i), Some((_, Tok::Ident(n))) if n == name)
}

/// `::` right before token `i`.
fn path_before(toks: &[(usize, Tok)], i: usize) -> bool {
    i >= 2 && punct_at(toks, i - 1, ':') && punct_at(toks, i - 2, ':')
}

/// `()` right after token `i`.
fn call_without_args(toks: &[(usize, Tok)], i: usize) -> bool {
    punct_at(toks, i + 1, '(') && punct_at(toks, i + 2, ')')
}

/// `text` with every comment, and the contents of every string and
/// character literal, replaced by spaces; newlines stay where they were.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let at = |i: usize| chars.get(i).copied();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_token = i == 0 || !is_ident_char(chars[i - 1]);
        if c == '/' && at(i + 1) == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            // Block comments nest.
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == Some('*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == Some('/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if let Some((hashes, open)) = raw_string_start(&chars, i).filter(|_| starts_token) {
            // r"…", r#"…"#, br#"…"#: no escapes; ends at `"` and the hashes.
            out.extend(std::iter::repeat_n(' ', open - i));
            i = open;
            while i < chars.len() {
                let closes = chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == Some('#'));
                if closes {
                    out.extend(std::iter::repeat_n(' ', hashes + 1));
                    i += hashes + 1;
                    break;
                }
                out.push(blank(chars[i]));
                i += 1;
            }
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    out.push(blank(ch));
                    i += 1;
                }
            }
            if i < chars.len() {
                out.push(' ');
                i += 1;
            }
        } else if c == '\'' && at(i + 1) == Some('\\') {
            // An escaped character literal: '\n', '\'', '\u{1F600}'.
            out.push_str("  ");
            i += 2;
            if i < chars.len() {
                out.push(' ');
                i += 1;
            }
            while i < chars.len() && chars[i] != '\'' {
                out.push(blank(chars[i]));
                i += 1;
            }
            if i < chars.len() {
                out.push(' ');
                i += 1;
            }
        } else if c == '\'' && at(i + 2) == Some('\'') {
            // A character literal 'x' (not a lifetime 'a).
            out.push_str("   ");
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// At a raw string literal's `r` or `br`: its number of `#` and the index
/// just past its opening `"`.
fn raw_string_start(chars: &[char], i: usize) -> Option<(usize, usize)> {
    let r = match chars.get(i) {
        Some('r') => i,
        Some('b') if chars.get(i + 1) == Some(&'r') => i + 1,
        _ => return None,
    };
    let hashes = chars[r + 1..].iter().take_while(|&&c| c == '#').count();
    (chars.get(r + 1 + hashes) == Some(&'"')).then_some((hashes, r + 2 + hashes))
}

// ---------------------------------------------------------------------------
// The rules on src/.
// ---------------------------------------------------------------------------

fn package_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `src/`: (path relative to the package root, text).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = package_root();
    let mut paths = Vec::new();
    walk(&root.join("src"), &mut paths);
    paths.sort();
    let files: Vec<(String, String)> = paths
        .into_iter()
        .map(|p| {
            // With `/` on every OS: the rules name files as `src/aws/…`.
            let rel = p
                .strip_prefix(&root)
                .unwrap()
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{rel}: {e}"));
            (rel, text)
        })
        .collect();
    for expected in [
        "src/lib.rs",
        "src/main.rs",
        "src/aws/mod.rs",
        "src/registry/mod.rs",
    ] {
        assert!(
            files.iter().any(|(f, _)| f == expected),
            "{expected} not found under {}",
            root.display()
        );
    }
    files
}

/// Runs `rule` on every file of `src/`, failing with every violation.
fn assert_rule(rule: Rule, statement: &str) {
    let violations: Vec<String> = sources()
        .iter()
        .flat_map(|(file, text)| rule(file, text))
        .map(|v| format!("  {v}"))
        .collect();
    assert!(
        violations.is_empty(),
        "{statement}; broken at:\n{}",
        violations.join("\n")
    );
}

#[test]
fn only_the_aws_adapter_names_the_sdk() {
    assert_rule(
        sdk_outside_the_adapter,
        "only src/aws/ names aws_sdk_*, aws_config, aws_smithy_* or aws_credential_types",
    );
    // The scanner does see SDK names: the adapter's own (allowed) ones.
    let seen = sources()
        .iter()
        .filter(|(f, _)| f.starts_with("src/aws/"))
        .any(|(f, text)| {
            !sdk_outside_the_adapter(&f.replace("src/aws/", "src/x/"), text).is_empty()
        });
    assert!(seen, "no SDK name found in src/aws/: the scanner is broken");
}

#[test]
fn only_serve_commands_and_main_write_stdout() {
    assert_rule(
        stdout_outside_the_front,
        "only src/serve/, src/commands/ and src/main.rs write to stdout",
    );
    // The scanner does see stdout writes: main's own (allowed) ones.
    let seen = sources()
        .iter()
        .filter(|(f, _)| f == "src/main.rs")
        .any(|(_, text)| !stdout_outside_the_front("src/x.rs", text).is_empty());
    assert!(
        seen,
        "no stdout write found in src/main.rs: the scanner is broken"
    );
}

#[test]
fn the_registry_does_no_io() {
    assert_rule(
        io_in_the_registry,
        "src/registry/ does no IO outside its #[cfg(test)] modules",
    );
}

// ---------------------------------------------------------------------------
// The scanner and the rules on samples: each rule can fail.
// ---------------------------------------------------------------------------

/// `(line, what)` of each violation of `rule` in `text` as `file`.
fn found(rule: Rule, file: &str, text: &str) -> Vec<(usize, String)> {
    rule(file, text)
        .into_iter()
        .map(|v| {
            assert_eq!(v.file, file);
            (v.line, v.what)
        })
        .collect()
}

fn at(line: usize, what: &str) -> (usize, String) {
    (line, format!("`{what}`"))
}

#[test]
fn code_only_blanks_comments_and_literals_and_keeps_lines() {
    let text = "let a = \"std::fs \\\" File\"; // File\n\
                /* File /* nested */ File\n*/ let b = r#\"File \" still\"#;\n\
                let c = '\"'; let d = '\\''; fn e<'a>(x: &'a str) {}\n\
                let f = b\"File\"; let g = br\"File\";";
    let code = code_only(text);
    assert_eq!(code.lines().count(), text.lines().count());
    assert!(!code.contains("File"), "{code}");
    assert!(!code.contains("std"), "{code}");
    assert_eq!(
        tokens(&code)
            .iter()
            .filter_map(|(line, t)| match t {
                Tok::Ident(n) => Some((*line, n.as_str())),
                _ => None,
            })
            .collect::<Vec<_>>(),
        [
            (1, "let"),
            (1, "a"),
            (3, "let"),
            (3, "b"),
            (4, "let"),
            (4, "c"),
            (4, "let"),
            (4, "d"),
            (4, "fn"),
            (4, "e"),
            (4, "a"),
            (4, "x"),
            (4, "a"),
            (4, "str"),
            (5, "let"),
            (5, "f"),
            (5, "b"),
            (5, "let"),
            (5, "g"),
        ]
    );
}

#[test]
fn rule_1_finds_sdk_names_outside_src_aws() {
    let text = "use std::fmt;\n\
                use aws_sdk_ecr::Client;\n\
                // aws_config is only named in a comment here\n\
                fn f(c: &aws_smithy_types::Blob) -> aws_config::SdkConfig { todo!() }\n\
                #[cfg(test)]\nmod tests { use aws_credential_types::Credentials; }\n\
                const NAME: &str = \"aws_sdk_sts\"; fn aws_config_file() {}\n";
    let expected = vec![
        at(2, "aws_sdk_ecr"),
        at(4, "aws_smithy_types"),
        at(4, "aws_config"),
        at(6, "aws_credential_types"),
    ];
    assert_eq!(
        found(sdk_outside_the_adapter, "src/commands/doctor.rs", text),
        expected
    );
    assert_eq!(
        found(sdk_outside_the_adapter, "src/helper/token.rs", text),
        expected
    );
    assert_eq!(found(sdk_outside_the_adapter, "src/aws/mod.rs", text), []);
    assert_eq!(
        found(sdk_outside_the_adapter, "src/aws/credentials.rs", text),
        []
    );
}

#[test]
fn rule_2_finds_stdout_writes_outside_serve_commands_and_main() {
    let text = "fn f() {\n\
                    println!(\"x\");\n\
                    eprintln!(\"to stderr: fine\"); eprint!(\"also\");\n\
                    let out = std::io::stdout();\n\
                    let w = io::stdout;\n\
                    print!(\"{}\", 1); // println!(\"in a comment\")\n\
                    let s = \"println!(stdout())\"; cmd.stdout(Stdio::null()); run.stdout();\n\
                    std::io::stderr().write_all(b\"fine\");\n\
                }\n";
    let expected = vec![
        at(2, "println!"),
        at(4, "io::stdout"),
        at(5, "io::stdout"),
        at(6, "print!"),
    ];
    for file in [
        "src/logging.rs",
        "src/helper/mod.rs",
        "src/registry/mod.rs",
        "src/lib.rs",
    ] {
        assert_eq!(
            found(stdout_outside_the_front, file, text),
            expected,
            "{file}"
        );
    }
    assert_eq!(
        found(stdout_outside_the_front, "src/x.rs", "let o = stdout();\n"),
        [at(1, "stdout()")]
    );
    for file in ["src/serve/docker.rs", "src/commands/cli.rs", "src/main.rs"] {
        assert_eq!(found(stdout_outside_the_front, file, text), [], "{file}");
    }
}

#[test]
fn rule_3_finds_io_in_src_registry_outside_its_test_modules() {
    let text = "use std::fmt;\n\
                use std::fs;\n\
                use std::{io, net::TcpStream, env};\n\
                fn f() -> std::process::ExitCode { let f: File; std::io::stdin(); todo!() }\n\
                async fn g() { tokio::spawn(async {}); eprintln!(\"x\"); }\n\
                // std::fs::read in a comment, File\n\
                const S: &str = \"std::env::var\";\n\
                struct RawFile; fn processed() {} use std::io::Read;\n\
                #[cfg(test)]\n\
                #[allow(unused)]\n\
                mod tests {\n\
                    use std::fs::File;\n\
                    fn t() { let _ = std::env::var(\"X\"); { stdout(); } }\n\
                }\n\
                fn after() { let _ = std::env::args(); }\n";
    let expected = vec![
        at(2, "std::fs"),
        at(3, "std::net"),
        at(3, "std::env"),
        at(4, "std::process"),
        at(4, "File"),
        at(4, "stdin"),
        at(5, "tokio"),
        at(5, "eprintln!"),
        at(15, "std::env"),
    ];
    assert_eq!(
        found(io_in_the_registry, "src/registry/mod.rs", text),
        expected
    );
    assert_eq!(
        found(io_in_the_registry, "src/registry/rules.rs", text),
        expected
    );
    assert_eq!(found(io_in_the_registry, "src/helper/cache.rs", text), []);
}
