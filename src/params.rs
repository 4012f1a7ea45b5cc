//! Nested request parameters in the bracket notation Authy and its clients use
//! (`user[email]=…`, `logos[][res]=…`), kept as a `serde_json::Value` tree so
//! that form bodies, query strings and JSON bodies normalise to one shape.
//!
//! The parser follows Rack's rules (Authy is a Rails application): `a[b]=1`
//! nests an object, `a[]=1` appends to an array, and `a[][k]=1` starts a new
//! array element whenever the last one already has `k`.

use serde_json::{Map, Value};

/// How deep brackets may nest before a key is refused (Rack allows 100; Authy's
/// payloads never go past four).
const MAX_DEPTH: usize = 16;

/// Why a set of parameters could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    /// A key is not well-formed bracket notation (`a[b`, `[x]`, …).
    #[error("malformed parameter name `{0}`")]
    MalformedKey(String),
    /// A key nests deeper than the parser allows.
    #[error("parameter name `{0}` nests too deeply")]
    TooDeep(String),
    /// Two keys disagree on the shape of one parameter (`a=1&a[b]=2`).
    #[error("parameter `{0}` is used both as a value and as a nested object or list")]
    ShapeConflict(String),
    /// The body is not an object of parameters (a JSON array or scalar, say).
    #[error("parameters must be an object of named values")]
    NotAnObject,
    /// A query string or form body is not valid `application/x-www-form-urlencoded`.
    #[error("parameters are not valid form encoding")]
    BadEncoding,
}

/// One step of a parsed key: `name`, `[name]` or `[]`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Append,
}

fn split_key(key: &str) -> Result<Vec<Segment>, ParamsError> {
    let malformed = || ParamsError::MalformedKey(key.to_owned());
    let (head, mut rest) = match key.find('[') {
        Some(0) => return Err(malformed()),
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return Err(malformed());
    }
    let mut segments = vec![Segment::Key(head.to_owned())];
    while !rest.is_empty() {
        let inner_end = rest.find(']').ok_or_else(malformed)?;
        if !rest.starts_with('[') {
            return Err(malformed());
        }
        let inner = &rest[1..inner_end];
        if inner.contains('[') {
            return Err(malformed());
        }
        segments.push(if inner.is_empty() {
            Segment::Append
        } else {
            Segment::Key(inner.to_owned())
        });
        rest = &rest[inner_end + 1..];
        if segments.len() > MAX_DEPTH {
            return Err(ParamsError::TooDeep(key.to_owned()));
        }
    }
    Ok(segments)
}

/// Parses decoded `(key, value)` pairs into a tree. Later scalars win over
/// earlier ones with the same key, as in Rack.
pub(crate) fn from_pairs<K, V>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> Result<Value, ParamsError>
where
    K: AsRef<str>,
    V: Into<String>,
{
    let mut root = Map::new();
    for (key, value) in pairs {
        let key = key.as_ref();
        let segments = split_key(key)?;
        insert(&mut root, key, &segments, value.into())?;
    }
    Ok(Value::Object(root))
}

/// Parses an `application/x-www-form-urlencoded` string (a query string or a
/// form body) into a tree.
pub(crate) fn from_urlencoded(input: &[u8]) -> Result<Value, ParamsError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(input).map_err(|_| ParamsError::BadEncoding)?;
    from_pairs(pairs)
}

fn insert(
    map: &mut Map<String, Value>,
    full_key: &str,
    segments: &[Segment],
    value: String,
) -> Result<(), ParamsError> {
    let conflict = || ParamsError::ShapeConflict(full_key.to_owned());
    let (Segment::Key(name), rest) = (&segments[0], &segments[1..]) else {
        return Err(ParamsError::MalformedKey(full_key.to_owned()));
    };
    match rest.first() {
        None => {
            if matches!(map.get(name), Some(Value::Object(_) | Value::Array(_))) {
                return Err(conflict());
            }
            map.insert(name.clone(), Value::String(value));
        }
        Some(Segment::Key(_)) => {
            let child = map
                .entry(name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(child) = child else {
                return Err(conflict());
            };
            insert(child, full_key, rest, value)?;
        }
        Some(Segment::Append) => {
            let child = map
                .entry(name.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(list) = child else {
                return Err(conflict());
            };
            append(list, full_key, &rest[1..], value)?;
        }
    }
    Ok(())
}

fn append(
    list: &mut Vec<Value>,
    full_key: &str,
    rest: &[Segment],
    value: String,
) -> Result<(), ParamsError> {
    match rest.first() {
        None => list.push(Value::String(value)),
        Some(Segment::Key(field)) => {
            // Rack's rule: fill the last element unless it already has this field.
            let reuse_last =
                matches!(list.last(), Some(Value::Object(last)) if !last.contains_key(field));
            if !reuse_last {
                list.push(Value::Object(Map::new()));
            }
            let Some(Value::Object(element)) = list.last_mut() else {
                return Err(ParamsError::ShapeConflict(full_key.to_owned()));
            };
            insert(element, full_key, rest, value)?;
        }
        // `a[][]=x` is ambiguous in every parser; refuse it.
        Some(Segment::Append) => return Err(ParamsError::MalformedKey(full_key.to_owned())),
    }
    Ok(())
}

/// Turns objects whose keys are all decimal indices (`logos[0][res]`, as PHP's
/// `http_build_query` writes) into arrays ordered by index.
#[cfg(feature = "simulator")]
pub(crate) fn index_maps_to_arrays(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let all_indices =
                !map.is_empty() && map.keys().all(|k| k.bytes().all(|b| b.is_ascii_digit()));
            if all_indices {
                let mut items: Vec<(u64, Value)> = map
                    .into_iter()
                    .map(|(k, v)| (k.parse().unwrap_or(u64::MAX), index_maps_to_arrays(v)))
                    .collect();
                items.sort_by_key(|(index, _)| *index);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(
                    map.into_iter()
                        .map(|(k, v)| (k, index_maps_to_arrays(v)))
                        .collect(),
                )
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(index_maps_to_arrays).collect()),
        other => other,
    }
}

/// Merges `extra` into `base`: keys already in `base` are kept. Used to merge
/// query-string and body parameters, where both may carry parts of a request.
#[cfg(feature = "simulator")]
pub(crate) fn merge_missing(base: &mut Map<String, Value>, extra: Map<String, Value>) {
    for (key, value) in extra {
        base.entry(key).or_insert(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nests_objects_and_arrays_like_rack() {
        let tree = from_urlencoded(
            b"user%5Bemail%5D=a%40b.c&user[cellphone]=555&logos[][res]=default&logos[][url]=u1&logos[][res]=low&tags[]=x&tags[]=y",
        )
        .unwrap();
        assert_eq!(
            tree,
            json!({
                "user": {"email": "a@b.c", "cellphone": "555"},
                "logos": [{"res": "default", "url": "u1"}, {"res": "low"}],
                "tags": ["x", "y"],
            })
        );
    }

    #[test]
    fn plus_is_a_space_and_empty_values_stay() {
        let tree = from_urlencoded(b"message=Approve+transfer%3F&logos=").unwrap();
        assert_eq!(tree, json!({"message": "Approve transfer?", "logos": ""}));
    }

    #[test]
    fn php_indices_become_arrays_only_when_asked() {
        let tree = from_urlencoded(b"logos[1][res]=low&logos[0][res]=default").unwrap();
        assert_eq!(
            tree,
            json!({"logos": {"1": {"res": "low"}, "0": {"res": "default"}}})
        );
        assert_eq!(
            index_maps_to_arrays(tree),
            json!({"logos": [{"res": "default"}, {"res": "low"}]})
        );
    }

    #[test]
    fn refuses_malformed_and_conflicting_keys() {
        assert!(matches!(
            from_urlencoded(b"a[b=1"),
            Err(ParamsError::MalformedKey(_))
        ));
        assert!(matches!(
            from_urlencoded(b"[a]=1"),
            Err(ParamsError::MalformedKey(_))
        ));
        assert!(matches!(
            from_urlencoded(b"a[][]=1"),
            Err(ParamsError::MalformedKey(_))
        ));
        assert!(matches!(
            from_urlencoded(b"a=1&a[b]=2"),
            Err(ParamsError::ShapeConflict(_))
        ));
        assert!(matches!(
            from_urlencoded(b"a[b]=2&a=1"),
            Err(ParamsError::ShapeConflict(_))
        ));
        assert!(matches!(
            from_urlencoded(b"a[]=1&a[b]=2"),
            Err(ParamsError::ShapeConflict(_))
        ));
        let deep = format!("a{}=1", "[b]".repeat(MAX_DEPTH));
        assert!(matches!(
            from_urlencoded(deep.as_bytes()),
            Err(ParamsError::TooDeep(_))
        ));
    }

    #[test]
    fn merge_keeps_the_first_source() {
        let mut base = json!({"a": "query"}).as_object().unwrap().clone();
        merge_missing(
            &mut base,
            json!({"a": "body", "b": "body"})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(Value::Object(base), json!({"a": "query", "b": "body"}));
    }
}
