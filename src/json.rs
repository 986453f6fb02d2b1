//! JSON as it was written. serde_json's `Value` keeps an object as a sorted map with one entry
//! per key, the last one given; a config file (whose keys must each be given once) and user
//! properties (whose order is kept and whose keys may repeat) need the entries in their order,
//! a key given twice kept twice. Scalars stay serde_json's.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

use crate::error::JsonType;

/// A JSON value; objects and arrays hold their items as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// An object's entries in their order.
    Object(Vec<(String, Json)>),
    Array(Vec<Json>),
    /// Null, a boolean, a number or a string.
    Scalar(Value),
}

impl Json {
    pub fn is_null(&self) -> bool {
        matches!(self, Json::Scalar(Value::Null))
    }

    pub fn json_type(&self) -> JsonType {
        match self {
            Json::Object(_) => JsonType::Object,
            Json::Array(_) => JsonType::Array,
            Json::Scalar(value) => JsonType::of(value),
        }
    }

    /// As serde_json's `Value` (an object's last entry for a key wins).
    pub fn into_value(self) -> Value {
        match self {
            Json::Object(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, value.into_value()))
                    .collect(),
            ),
            Json::Array(items) => Value::Array(items.into_iter().map(Json::into_value).collect()),
            Json::Scalar(value) => value,
        }
    }
}

/// Written as it was read: an object's entries in their order (the meta object shows AWS's
/// answer and a response in the order they came, not sorted).
impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Object(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Scalar(value) => value.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Json>()? {
            entries.push(entry);
        }
        Ok(Json::Object(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Json>()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_bool<E>(self, flag: bool) -> Result<Json, E> {
        Ok(Json::Scalar(Value::Bool(flag)))
    }

    fn visit_i64<E>(self, number: i64) -> Result<Json, E> {
        Ok(Json::Scalar(Value::from(number)))
    }

    fn visit_u64<E>(self, number: u64) -> Result<Json, E> {
        Ok(Json::Scalar(Value::from(number)))
    }

    fn visit_f64<E>(self, number: f64) -> Result<Json, E> {
        // JSON has no NaN or infinity, so every number it holds is one serde_json keeps.
        Ok(Json::Scalar(Value::from(number)))
    }

    fn visit_str<E>(self, text: &str) -> Result<Json, E> {
        Ok(Json::Scalar(Value::String(text.to_string())))
    }

    fn visit_string<E>(self, text: String) -> Result<Json, E> {
        Ok(Json::Scalar(Value::String(text)))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Scalar(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Scalar(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Json {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn objects_keep_their_order_and_repeated_keys() {
        let Json::Object(entries) = parse(r#"{"b": 1, "a": [true, null], "b": "x"}"#) else {
            panic!("an object");
        };
        let keys: Vec<&str> = entries.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["b", "a", "b"]);
        assert_eq!(
            entries[1].1,
            Json::Array(vec![
                Json::Scalar(Value::Bool(true)),
                Json::Scalar(Value::Null)
            ])
        );
    }

    #[test]
    fn it_is_written_in_its_order() {
        let text = r#"{"state":{"reported":{"z":1,"a":[2,{"y":null,"b":true}]}},"version":3}"#;
        assert_eq!(serde_json::to_string(&parse(text)).unwrap(), text);
    }

    #[test]
    fn as_a_value_the_last_entry_wins() {
        let value = parse(r#"{"b": 1, "c": {"d": 2.5}, "b": -2}"#).into_value();
        assert_eq!(value, serde_json::json!({"b": -2, "c": {"d": 2.5}}));
        assert_eq!(parse("[]").json_type(), JsonType::Array);
        assert!(parse("null").is_null());
        assert_eq!(parse("\"s\"").json_type(), JsonType::String);
    }
}
