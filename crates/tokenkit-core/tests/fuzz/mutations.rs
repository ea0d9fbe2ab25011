//! Structure-aware mutations of a valid answer: edits of its JSON, then of its text.

use std::fmt;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::Value;

use super::{KEYS, replacement};

/// One step of a path into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A field of an object.
    Key(String),
    /// An element of an array.
    Index(usize),
}

/// A path into a JSON value; empty is the whole value.
pub type Path = Vec<Step>;

/// The path of a field, e.g. `path(&["data", "accessToken"])`.
pub fn path(keys: &[&str]) -> Path {
    keys.iter().map(|k| Step::Key((*k).to_owned())).collect()
}

/// A change to the JSON of an answer.
#[derive(Debug, Clone)]
pub enum Edit {
    /// The value at the path removed (the whole body, for the empty path).
    Drop(Path),
    /// The value at the path replaced.
    Replace(Path, Value),
    /// A field added to (or overwritten in) the object at the path.
    Insert(Path, String, Value),
}

/// A change to the text of an answer, after its JSON was edited.
#[derive(Debug, Clone)]
pub enum Text {
    /// The JSON as serialized.
    AsIs,
    /// Cut at a byte offset (maybe inside a UTF-8 sequence).
    Truncate(Index),
    /// An HTML error page around the JSON.
    Html,
    /// The object at the path gets its first key twice, the first time with this value
    /// (serde's derived structs refuse duplicates; a `Value` keeps the last).
    DuplicateKey(Path, Value),
    /// Inside this many `[`: past every depth limit.
    DeepPrefix(usize),
    /// A UTF-8 byte-order mark in front.
    Bom,
    /// One byte written over another.
    Overwrite(Index, u8),
}

/// A mutated answer: the edits and text change made, and the bytes they gave.
#[derive(Clone)]
pub struct Mutated {
    /// The JSON edits, in order.
    pub edits: Vec<Edit>,
    /// The text change.
    pub text: Text,
    /// The body.
    pub bytes: Vec<u8>,
}

impl Mutated {
    /// The body as JSON, if it still is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.bytes).ok()
    }
}

/// A failing case is printed short: values as JSON text, cut at 120 characters.
impl fmt::Debug for Mutated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = |text: String| -> String {
            let mut cut: String = text.chars().take(120).collect();
            if cut.len() < text.len() {
                cut.push('…');
            }
            cut
        };
        let edits: Vec<String> = self
            .edits
            .iter()
            .map(|edit| match edit {
                Edit::Drop(at) => format!("drop {at:?}"),
                Edit::Replace(at, v) => format!("replace {at:?} by {}", short(v.to_string())),
                Edit::Insert(at, k, v) => {
                    format!("insert {k:?} = {} into {at:?}", short(v.to_string()))
                }
            })
            .collect();
        let text = match &self.text {
            Text::DuplicateKey(at, v) => format!("DuplicateKey({at:?}, {})", short(v.to_string())),
            other => format!("{other:?}"),
        };
        f.debug_struct("Mutated")
            .field("edits", &edits)
            .field("text", &text)
            .field(
                "body",
                &short(String::from_utf8_lossy(&self.bytes).into_owned()),
            )
            .finish()
    }
}

/// Every path into `value`, the empty one included.
pub fn paths_of(value: &Value) -> Vec<Path> {
    let mut out = vec![Vec::new()];
    collect_paths(value, &mut Vec::new(), &mut out, |_| true);
    out
}

/// The paths of the objects in `value`.
fn object_paths(value: &Value) -> Vec<Path> {
    let mut out = Vec::new();
    if value.is_object() {
        out.push(Vec::new());
    }
    collect_paths(value, &mut Vec::new(), &mut out, Value::is_object);
    if out.is_empty() {
        out.push(Vec::new());
    }
    out
}

fn collect_paths(value: &Value, at: &mut Path, out: &mut Vec<Path>, keep: fn(&Value) -> bool) {
    let children: Vec<(Step, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (Step::Index(i), v))
            .collect(),
        _ => return,
    };
    for (step, child) in children {
        at.push(step);
        if keep(child) {
            out.push(at.clone());
        }
        collect_paths(child, at, out, keep);
        at.pop();
    }
}

/// Mutations of `valid` (see [`Edit`] and [`Text`]).
pub fn mutations(valid: Value) -> impl Strategy<Value = Mutated> + Clone {
    mutations_with(valid, Just(None))
}

/// Mutations of `valid`, with `extra` edits that know the answer (a JWT of mutated
/// claims in its token field, say) mixed in among the generic ones.
pub fn mutations_with(
    valid: Value,
    extra: impl Strategy<Value = Option<Edit>> + 'static,
) -> impl Strategy<Value = Mutated> + Clone {
    let paths = paths_of(&valid);
    let objects = object_paths(&valid);
    let key = prop_oneof![select(KEYS).prop_map(str::to_owned), "[a-zA-Z_]{1,12}"];
    let edit = prop_oneof![
        2 => select(paths.clone()).prop_map(|p| Some(Edit::Drop(p))),
        4 => (select(paths), replacement()).prop_map(|(p, v)| Some(Edit::Replace(p, v))),
        2 => (select(objects.clone()), key, replacement())
            .prop_map(|(p, k, v)| Some(Edit::Insert(p, k, v))),
        2 => extra,
    ];
    let text = prop_oneof![
        6 => Just(Text::AsIs),
        3 => any::<Index>().prop_map(Text::Truncate),
        1 => Just(Text::Html),
        2 => (select(objects), replacement()).prop_map(|(p, v)| Text::DuplicateKey(p, v)),
        1 => (129usize..20_000).prop_map(Text::DeepPrefix),
        1 => Just(Text::Bom),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Text::Overwrite(i, b)),
    ];
    (prop::collection::vec(edit, 0..4), text).prop_map(move |(edits, text)| {
        let edits: Vec<Edit> = edits.into_iter().flatten().collect();
        apply(&valid, edits, text)
    })
}

/// Applies the edits, then the text change.
pub fn apply(valid: &Value, edits: Vec<Edit>, text: Text) -> Mutated {
    let mut value = Some(valid.clone());
    for edit in &edits {
        value = edited(value, edit);
    }
    let body = match (&value, &text) {
        (None, _) => Vec::new(),
        (Some(v), Text::DuplicateKey(at, first)) => {
            render_with_duplicate(v, at, first).into_bytes()
        }
        (Some(v), _) => v.to_string().into_bytes(),
    };
    let bytes = match &text {
        Text::AsIs | Text::DuplicateKey(..) => body,
        Text::Truncate(at) => {
            let cut = at.index(body.len() + 1);
            body[..cut].to_vec()
        }
        Text::Html => {
            let mut page = b"<html><head><title>502 Bad Gateway</title></head><body><pre>".to_vec();
            page.extend_from_slice(&body);
            page.extend_from_slice(b"</pre></body></html>");
            page
        }
        Text::DeepPrefix(depth) => {
            let mut deep = vec![b'['; *depth];
            deep.extend_from_slice(&body);
            deep.extend(std::iter::repeat_n(b']', *depth));
            deep
        }
        Text::Bom => {
            let mut with_bom = "\u{feff}".as_bytes().to_vec();
            with_bom.extend_from_slice(&body);
            with_bom
        }
        Text::Overwrite(at, byte) => {
            let mut body = body;
            if !body.is_empty() {
                let i = at.index(body.len());
                body[i] = *byte;
            }
            body
        }
    };
    Mutated { edits, text, bytes }
}

fn edited(value: Option<Value>, edit: &Edit) -> Option<Value> {
    let mut value = value?;
    match edit {
        Edit::Drop(at) if at.is_empty() => return None,
        Edit::Drop(at) => {
            let (last, parent) = at.split_last().expect("not empty");
            if let Some(parent) = lookup_mut(&mut value, parent) {
                match (parent, last) {
                    (Value::Object(map), Step::Key(k)) => {
                        map.remove(k);
                    }
                    (Value::Array(items), Step::Index(i)) if *i < items.len() => {
                        items.remove(*i);
                    }
                    _ => {}
                }
            }
        }
        Edit::Replace(at, new) => {
            if let Some(target) = lookup_mut(&mut value, at) {
                *target = new.clone();
            }
        }
        Edit::Insert(at, key, new) => {
            if let Some(Value::Object(map)) = lookup_mut(&mut value, at) {
                map.insert(key.clone(), new.clone());
            }
        }
    }
    Some(value)
}

fn lookup_mut<'a>(value: &'a mut Value, at: &[Step]) -> Option<&'a mut Value> {
    let mut here = value;
    for step in at {
        here = match (here, step) {
            (Value::Object(map), Step::Key(k)) => map.get_mut(k)?,
            (Value::Array(items), Step::Index(i)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(here)
}

/// The JSON text of `value`, where the object at `at` starts with its first key set to
/// `first`, before the key's own entry.
fn render_with_duplicate(value: &Value, at: &[Step], first: &Value) -> String {
    match (value, at.split_first()) {
        (Value::Object(map), None) => match map.keys().next() {
            Some(key) => {
                let rest = value.to_string();
                format!("{{{}:{first},{}", Value::from(key.as_str()), &rest[1..])
            }
            None => value.to_string(),
        },
        (Value::Object(map), Some((Step::Key(k), rest))) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(name, v)| {
                    let text = if name == k {
                        render_with_duplicate(v, rest, first)
                    } else {
                        v.to_string()
                    };
                    format!("{}:{text}", Value::from(name.as_str()))
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        (Value::Array(items), Some((Step::Index(i), rest))) => {
            let items: Vec<String> = items
                .iter()
                .enumerate()
                .map(|(j, v)| {
                    if j == *i {
                        render_with_duplicate(v, rest, first)
                    } else {
                        v.to_string()
                    }
                })
                .collect();
            format!("[{}]", items.join(","))
        }
        _ => value.to_string(),
    }
}

#[test]
fn edits_and_text_changes_do_what_they_say() {
    use serde_json::json;

    let valid = json!({"code": 0, "data": {"token": "t", "list": [1, 2]}});
    let dropped = apply(
        &valid,
        vec![Edit::Drop(path(&["data", "token"]))],
        Text::AsIs,
    );
    assert_eq!(
        dropped.json(),
        Some(json!({"code": 0, "data": {"list": [1, 2]}}))
    );
    let replaced = apply(
        &valid,
        vec![Edit::Replace(
            vec![
                Step::Key("data".into()),
                Step::Key("list".into()),
                Step::Index(1),
            ],
            json!(true),
        )],
        Text::AsIs,
    );
    assert_eq!(
        replaced.json().expect("json")["data"]["list"][1],
        json!(true)
    );
    let duplicated = apply(
        &valid,
        Vec::new(),
        Text::DuplicateKey(path(&["data"]), json!(5)),
    );
    let text = String::from_utf8(duplicated.bytes).expect("utf-8");
    assert!(text.contains(r#""data":{"list":5,"list":[1,2]"#), "{text}");
    assert!(
        apply(&valid, vec![Edit::Drop(Vec::new())], Text::AsIs)
            .bytes
            .is_empty()
    );
    let deep = apply(&valid, Vec::new(), Text::DeepPrefix(200));
    assert!(
        serde_json::from_slice::<Value>(&deep.bytes).is_err(),
        "past the depth limit"
    );
}
