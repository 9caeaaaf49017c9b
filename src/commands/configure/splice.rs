//! Edits a JSON object's members in the text as the user wrote it: every
//! byte outside what changes is kept, so numbers (`12345678901234567890123`),
//! duplicate keys, key order, line endings and indentation survive. A
//! library's model would reparse and reprint all of them.
//!
//! The text must already be valid JSON (the caller checks it with
//! serde_json): the scanner here only finds where things are. Duplicate
//! keys are read as docker (Go's encoding/json) and serde_json read them:
//! the last one counts, so the last one is the one edited.

/// One `"key": value` of an object: byte offsets into the text.
#[derive(Debug, Clone)]
pub struct Member {
    /// The key, unescaped.
    pub key: String,
    pub key_start: usize,
    pub key_end: usize,
    pub value_start: usize,
    pub value_end: usize,
}

/// An object: the offsets of its braces, and its members in order.
#[derive(Debug, Clone)]
pub struct Object {
    pub open: usize,
    pub close: usize,
    pub members: Vec<Member>,
}

impl Object {
    /// The member that counts for `key`: the last one of that name.
    pub fn last(&self, key: &str) -> Option<(usize, &Member)> {
        self.members
            .iter()
            .enumerate()
            .rev()
            .find(|(_, m)| m.key == key)
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}

/// From an opening quote to just past the closing one.
fn skip_string(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// From a value's first byte to just past its last.
fn skip_value(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => skip_string(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            j
        }
        _ => {
            let mut j = i;
            while j < b.len() && !is_ws(b[j]) && !matches!(b[j], b',' | b'}' | b']') {
                j += 1;
            }
            j
        }
    }
}

/// The object whose `{` is at `open`.
pub fn object_at(text: &str, open: usize) -> Object {
    let b = text.as_bytes();
    debug_assert_eq!(b.get(open), Some(&b'{'));
    let mut members = Vec::new();
    let mut i = skip_ws(b, open + 1);
    while i < b.len() && b[i] != b'}' {
        if b[i] == b',' {
            i = skip_ws(b, i + 1);
            continue;
        }
        let key_start = i;
        let key_end = skip_string(b, i);
        let key = serde_json::from_str::<String>(&text[key_start..key_end]).unwrap_or_default();
        let colon = skip_ws(b, key_end);
        let value_start = skip_ws(b, colon + 1);
        let value_end = skip_value(b, value_start);
        members.push(Member {
            key,
            key_start,
            key_end,
            value_start,
            value_end,
        });
        i = skip_ws(b, value_end);
    }
    Object {
        open,
        close: i,
        members,
    }
}

/// The top-level object, when the text is one.
pub fn top(text: &str) -> Option<Object> {
    let open = skip_ws(text.as_bytes(), 0);
    (text.as_bytes().get(open) == Some(&b'{')).then(|| object_at(text, open))
}

/// The file's line ending: CRLF when it has one, else LF.
pub fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// The spaces and tabs that begin the line holding `pos`.
fn line_indent(text: &str, pos: usize) -> &str {
    let start = text[..pos].rfind('\n').map_or(0, |n| n + 1);
    let rest = &text[start..];
    let len = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    &rest[..len]
}

/// How an object lays out its members, read from the object itself or,
/// when it has none, from the top-level object around it.
#[derive(Debug, Clone)]
struct Layout {
    /// One member per line (else all on one line).
    multiline: bool,
    /// One level of indentation.
    unit: String,
    /// Between a key and its value: `": "`'s middle, e.g. `: ` or `:`.
    colon: String,
    /// Between two members on one line: `,` or `, `.
    inline_sep: String,
}

fn layout(text: &str, top: &Object) -> Layout {
    let first = top.members.first();
    let before_first = first.map_or("", |m| &text[top.open + 1..m.key_start]);
    let multiline = before_first.contains('\n');
    let unit = if multiline {
        let member = before_first.rsplit('\n').next().unwrap_or("");
        let outer = line_indent(text, top.open);
        member
            .strip_prefix(outer)
            .filter(|u| !u.is_empty())
            .unwrap_or("\t")
            .to_owned()
    } else {
        "\t".to_owned()
    };
    let colon = first.map_or(": ".to_owned(), |m| {
        text[m.key_end..m.value_start].to_owned()
    });
    let inline_sep = match top.members.get(1) {
        Some(second) if !multiline => text[top.members[0].value_end..second.key_start].to_owned(),
        _ if before_first.is_empty() && first.is_some() => ",".to_owned(),
        _ => ", ".to_owned(),
    };
    Layout {
        multiline: multiline || first.is_none(),
        unit,
        colon,
        inline_sep,
    }
}

/// `"key"` as JSON.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// Replaces the value of a member with `value` (JSON text).
pub fn replace_value(text: &str, member: &Member, value: &str) -> String {
    format!(
        "{}{value}{}",
        &text[..member.value_start],
        &text[member.value_end..]
    )
}

/// Takes member `i` out of `object`, with one separator.
pub fn remove_member(text: &str, object: &Object, i: usize) -> String {
    let m = &object.members;
    let (from, to) = match (i, m.len()) {
        (_, 1) => (object.open + 1, object.close),
        (0, _) => (m[0].key_start, m[1].key_start),
        _ => (m[i - 1].value_end, m[i].value_end),
    };
    format!("{}{}", &text[..from], &text[to..])
}

/// Adds `members` (keys, and values as JSON text) at the end of `object`,
/// laid out as its own members are (or, for an empty object, as the
/// top-level object's are, one level in).
pub fn append_members(text: &str, object: &Object, members: &[(String, String)]) -> String {
    if members.is_empty() {
        return text.to_owned();
    }
    let top_object = top(text).expect("a top-level object");
    let look = layout(text, &top_object);
    let nl = newline(text);
    let Some(last) = object.members.last() else {
        // An empty object: its members one level in from the line of its `{`.
        let outer = line_indent(text, object.open);
        let (sep, start, end) = if look.multiline {
            let inner = format!("{outer}{}", look.unit);
            (
                format!(",{nl}{inner}"),
                format!("{nl}{inner}"),
                format!("{nl}{outer}"),
            )
        } else {
            (look.inline_sep.clone(), String::new(), String::new())
        };
        let body: Vec<String> = members
            .iter()
            .map(|(k, v)| format!("{}{}{v}", quoted(k), look.colon))
            .collect();
        return format!(
            "{}{start}{}{end}{}",
            &text[..=object.open],
            body.join(&sep),
            &text[object.close..]
        );
    };
    // After the last member, with the separator and colon it was given.
    let sep = match object.members.len() {
        1 => {
            let before = &text[object.open + 1..last.key_start];
            match before.rfind('\n') {
                Some(n) => format!(",{nl}{}", &before[n + 1..]),
                None => format!(",{before}"),
            }
        }
        n => text[object.members[n - 2].value_end..last.key_start].to_owned(),
    };
    let colon = &text[last.key_end..last.value_start];
    let mut added = String::new();
    for (k, v) in members {
        added.push_str(&sep);
        added.push_str(&quoted(k));
        added.push_str(colon);
        added.push_str(v);
    }
    format!(
        "{}{added}{}",
        &text[..last.value_end],
        &text[last.value_end..]
    )
}

/// A new object holding `members`, to be the value of a member of the
/// top-level object: laid out as the top-level object is, one level in.
pub fn new_object(text: &str, members: &[(String, String)]) -> String {
    let top_object = top(text).expect("a top-level object");
    let look = layout(text, &top_object);
    let body: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}{}{v}", quoted(k), look.colon))
        .collect();
    if !look.multiline {
        return format!("{{{}}}", body.join(&look.inline_sep));
    }
    let nl = newline(text);
    let member_indent = top_object
        .members
        .first()
        .map_or(String::new(), |m| line_indent(text, m.key_start).to_owned());
    let inner = format!("{member_indent}{}", look.unit);
    format!(
        "{{{nl}{inner}{}{nl}{member_indent}}}",
        body.join(&format!(",{nl}{inner}"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(text: &str, key: &str, value: &str) -> String {
        let t = top(text).unwrap();
        append_members(text, &t, &[(key.to_owned(), value.to_owned())])
    }

    #[test]
    fn scans_members_with_escapes_nesting_and_duplicates() {
        let text = r#" { "a\"b" : [1, {"x": "}"}], "n": 12345678901234567890123, "a\"b": "s\\" } "#;
        let t = top(text).unwrap();
        let keys: Vec<&str> = t.members.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys, ["a\"b", "n", "a\"b"]);
        let values: Vec<&str> = t
            .members
            .iter()
            .map(|m| &text[m.value_start..m.value_end])
            .collect();
        assert_eq!(
            values,
            [r#"[1, {"x": "}"}]"#, "12345678901234567890123", r#""s\\""#]
        );
        assert_eq!(t.last("a\"b").unwrap().0, 2);
        assert_eq!(&text[t.close..], "} ");
        assert!(top("[]").is_none());
    }

    #[test]
    fn appends_in_the_objects_own_layout() {
        assert_eq!(add(r#"{"a":1}"#, "k", "2"), r#"{"a":1,"k":2}"#);
        assert_eq!(add(r#"{ "a": 1 }"#, "k", "2"), r#"{ "a": 1, "k": 2 }"#);
        assert_eq!(
            add("{\r\n   \"a\": 1,\r\n   \"b\": 2\r\n}\r\n", "k", "3"),
            "{\r\n   \"a\": 1,\r\n   \"b\": 2,\r\n   \"k\": 3\r\n}\r\n"
        );
        assert_eq!(
            add("{\n\t\"a\": 1\n}", "k", "2"),
            "{\n\t\"a\": 1,\n\t\"k\": 2\n}"
        );
    }

    #[test]
    fn fills_an_empty_object_one_level_in() {
        let text = "{\n  \"auths\": {},\n  \"credHelpers\": {}\n}\n";
        let t = top(text).unwrap();
        let helpers = object_at(text, t.last("credHelpers").unwrap().1.value_start);
        let out = append_members(
            text,
            &helpers,
            &[("h".into(), "\"x\"".into()), ("i".into(), "\"y\"".into())],
        );
        assert_eq!(
            out,
            "{\n  \"auths\": {},\n  \"credHelpers\": {\n    \"h\": \"x\",\n    \"i\": \"y\"\n  }\n}\n"
        );
        let compact = r#"{"credHelpers":{}}"#;
        let t = top(compact).unwrap();
        let helpers = object_at(compact, t.members[0].value_start);
        assert_eq!(
            append_members(compact, &helpers, &[("h".into(), "1".into())]),
            r#"{"credHelpers":{"h":1}}"#
        );
    }

    #[test]
    fn a_new_object_follows_the_top_level_layout() {
        let text = "{\r\n    \"auths\": {}\r\n}";
        let obj = new_object(text, &[("h".into(), "\"x\"".into())]);
        assert_eq!(obj, "{\r\n        \"h\": \"x\"\r\n    }");
        assert_eq!(
            new_object(r#"{"a":1}"#, &[("h".into(), "2".into())]),
            r#"{"h":2}"#
        );
    }

    #[test]
    fn removes_a_member_and_one_separator() {
        let text = "{\n  \"a\": 1,\n  \"b\": 2,\n  \"c\": 3\n}";
        let t = top(text).unwrap();
        assert_eq!(remove_member(text, &t, 0), "{\n  \"b\": 2,\n  \"c\": 3\n}");
        assert_eq!(remove_member(text, &t, 1), "{\n  \"a\": 1,\n  \"c\": 3\n}");
        assert_eq!(remove_member(text, &t, 2), "{\n  \"a\": 1,\n  \"b\": 2\n}");
        let one = r#"{ "a": 1 }"#;
        assert_eq!(remove_member(one, &top(one).unwrap(), 0), "{}");
    }
}
